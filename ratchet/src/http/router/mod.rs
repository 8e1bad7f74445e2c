//! Routing connections by the path of their first request.

mod pattern;
mod routes;

pub use routes::{NoRoute, Route, RouteState, Routes, SplitRoutes};

use super::{persist, refuse, request, target_path, write_busy, write_error, Head};
use crate::command::{Commands, TimerScope};
use crate::conn::{ConnId, Extensions};
use crate::error::ConfigError;
use crate::message::Payload;
use crate::outbound::{ConnectError, DialOutcome};
use crate::protocol::Dial;
use crate::protocol::{Limits, Outbox, Overflow, Protocol};
use crate::{CloseCode, Handle};
use pattern::Pattern;
use std::net::SocketAddr;
use std::time::Duration;

/// A protocol that hands each connection to a route, chosen by the path of its first
/// request: `Server(Router { "/chat" => WebSocket(Chat), "/*" => Static("public") })`.
///
/// A pattern is an exact path (`"/chat"`) or a prefix ending in `/*` (`"/assets/*"`, or
/// `"/*"` for everything); an exact match beats a prefix, a longer prefix a shorter one.
/// A request no route matches gets `404`, and the connection stays open for the next
/// one (HTTP/1.1 keep-alive). Once routed, a connection stays with its route, except
/// that after each request a request/response route ([`Protocol::reusable`]) lets the
/// next request (pipelined or not) go wherever its path leads.
///
/// Every route is a [`Protocol`], so each keeps its own typed per-connection state in the
/// server's slab; a router costs one comparison per event to find the route. Application
/// timers are told apart by route through their [`TimerScope`], however deeply routers
/// nest (up to [`TimerScope::MAX_DEPTH`]): every key is the application's own. A router
/// takes up to [`TimerScope::MAX_ROUTES`] routes.
///
/// The request head is parsed once and shared with the route's protocol (and the
/// decorators around it); while the connection's output is over its budget, pipelined
/// requests wait unparsed.
#[derive(Debug)]
pub struct Router<R = NoRoute> {
    routes: R,
    max_head_size: usize,
    idle_timeout: Duration,
}

/// A connection's state in a [`Router`].
#[derive(Debug)]
pub struct RouterState<S> {
    peer: SocketAddr,
    route: Option<S>,
}

impl Router {
    /// A router with no routes: every request gets `404`.
    pub fn new() -> Self {
        Router {
            routes: NoRoute,
            max_head_size: 8 << 10,
            idle_timeout: Duration::from_secs(10),
        }
    }
}

impl Default for Router {
    fn default() -> Self {
        Router::new()
    }
}

impl<R: Routes> Router<R> {
    /// Serves requests whose path matches `pattern` with `protocol`.
    ///
    /// # Panics
    ///
    /// If `pattern` does not start with `/`, has a query, or has a `*` anywhere but at the
    /// end of a prefix (`"/assets/*"`), or the router has [`TimerScope::MAX_ROUTES`]
    /// routes already.
    pub fn route<P: Protocol>(self, pattern: &str, mut protocol: P) -> Router<Route<P, R>> {
        let pattern = Pattern::parse(pattern).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            R::LEN < TimerScope::MAX_ROUTES,
            "a router takes at most {} routes",
            TimerScope::MAX_ROUTES
        );
        if let Pattern::Prefix(prefix) = &pattern {
            protocol.mount(prefix);
        }
        Router {
            routes: Route {
                pattern,
                protocol,
                rest: self.routes,
            },
            max_head_size: self.max_head_size,
            idle_timeout: self.idle_timeout,
        }
    }

    /// Largest request head the router reads to choose a route; larger gets `431`.
    /// Default: 8 KiB.
    #[must_use]
    pub fn max_head_size(mut self, bytes: usize) -> Self {
        self.max_head_size = bytes;
        self
    }

    /// How long a connection may wait, before its first request or after a `404`, before
    /// it is closed. Default: 10 s.
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }
}

impl<R: Routes> Protocol for Router<R> {
    type ConnState = RouterState<R::ConnState>;

    fn limits(&self) -> Result<Limits, ConfigError> {
        let mut limits = self
            .routes
            .limits()?
            .max(Limits::default().with_unconsumed(self.max_head_size));
        limits.route_depth += 1;
        Ok(limits)
    }

    fn busy(&self, out: &mut Vec<u8>) {
        write_busy(out);
    }

    fn connect(&mut self, _id: ConnId, peer: SocketAddr, out: &mut Outbox<'_>) -> Self::ConnState {
        out.set_deadline(Some(out.after(self.idle_timeout)));
        RouterState { peer, route: None }
    }

    fn data(
        &mut self,
        state: &mut Self::ConnState,
        data: &mut [u8],
        out: &mut Outbox<'_>,
    ) -> usize {
        let mut pos = 0;
        loop {
            if pos == data.len() {
                return pos;
            }
            if let Some(route) = state.route.as_mut().filter(|r| !self.routes.reusable(r)) {
                return pos + self.routes.data(route, &mut data[pos..], out);
            }
            if pos > 0 && out.room() == 0 {
                return pos; // the next pipelined request waits for the client to read
            }
            let rest = &data[pos..];
            let index = match request(out, rest, self.max_head_size) {
                Head::Partial => return pos,
                Head::Bad(status, reason) => return refuse(out, status, &reason, data),
                Head::Complete(req, len) => match self.routes.find(target_path(req.target())) {
                    Some((index, _)) => index,
                    None => {
                        let persist = persist(&req);
                        write_error(
                            out.output(),
                            404,
                            "nothing is served at this path",
                            "",
                            persist,
                        );
                        if !persist.kept() {
                            out.shutdown();
                            return data.len();
                        }
                        pos += len;
                        if state.route.is_none() {
                            out.set_deadline(Some(out.after(self.idle_timeout)));
                        }
                        continue;
                    }
                },
            };
            if state.route.as_ref().map(R::index) != Some(index) {
                if let Some(old) = state.route.take() {
                    self.routes.disconnect(old, out);
                }
                if !self.routes.accept(index, state.peer) {
                    log::debug!("route {index} refused {}", state.peer);
                    out.shutdown();
                    return data.len();
                }
                out.set_deadline(None);
                state.route = Some(self.routes.connect(index, out.conn(), state.peer, out));
            }
            let route = state.route.as_mut().expect("routed above");
            let consumed = self.routes.data(route, &mut data[pos..], out);
            if consumed == 0 || out.is_shutting_down() || out.has_yielded() {
                return pos + consumed;
            }
            pos += consumed;
        }
    }

    fn drained(&mut self, state: &mut Self::ConnState, out: &mut Outbox<'_>) {
        if let Some(route) = &mut state.route {
            self.routes.drained(route, out);
        }
    }

    fn wake(&mut self, state: &mut Self::ConnState, out: &mut Outbox<'_>) {
        if let Some(route) = &mut state.route {
            self.routes.wake(route, out);
        }
    }

    fn timeout(&mut self, state: &mut Self::ConnState, out: &mut Outbox<'_>) {
        match &mut state.route {
            Some(route) => self.routes.timeout(route, out),
            None => {
                log::debug!("connection from {} sent no request in time", state.peer);
                out.shutdown();
            }
        }
    }

    fn disconnect(&mut self, state: Self::ConnState, out: &mut Outbox<'_>) {
        if let Some(route) = state.route {
            self.routes.disconnect(route, out);
        }
    }

    fn encoding(&self, state: &Self::ConnState) -> Option<u8> {
        self.routes.encoding(state.route.as_ref()?)
    }

    fn encode(&mut self, state: &mut Self::ConnState, msg: &Payload, buf: &mut Vec<u8>) {
        if let Some(route) = &mut state.route {
            self.routes.encode(route, msg, buf);
        }
    }

    fn overflow(&mut self, state: &mut Self::ConnState, policy: Overflow, out: &mut Outbox<'_>) {
        match &mut state.route {
            Some(route) => self.routes.overflow(route, policy, out),
            None => out.shutdown(),
        }
    }

    fn close(
        &mut self,
        state: &mut Self::ConnState,
        code: CloseCode,
        reason: &str,
        out: &mut Outbox<'_>,
    ) {
        match &mut state.route {
            Some(route) => self.routes.close(route, code, reason, out),
            None => {
                if code == CloseCode::Away {
                    // Going away before the request was routed: an answer the client can
                    // act on, not a silent close.
                    crate::http::write_going_away(out.output(), reason);
                }
                out.shutdown();
            }
        }
    }

    fn reusable(&self, state: &Self::ConnState) -> bool {
        state.route.as_ref().is_none_or(|r| self.routes.reusable(r))
    }

    fn awaits_request(&self, state: &Self::ConnState) -> bool {
        state
            .route
            .as_ref()
            .is_none_or(|r| self.routes.awaits_request(r))
    }

    fn extensions<'a>(&self, state: &'a mut Self::ConnState) -> Option<&'a mut Extensions> {
        self.routes.extensions(state.route.as_mut()?)
    }

    fn start(&mut self, handle: &Handle) -> Commands {
        self.routes.start(handle)
    }

    fn metrics(&self, metrics: &mut crate::exposition::Exposition) {
        self.routes.metrics(metrics);
    }

    fn timer(&mut self, scope: TimerScope, key: u64) -> Commands {
        match scope.pop() {
            Some((index, inner)) => self.routes.timer(index, inner, key),
            None => {
                log::debug!("timer {key} with no route");
                Commands::none()
            }
        }
    }

    fn dial(
        &mut self,
        id: ConnId,
        dial: &Dial,
        peer: SocketAddr,
        out: &mut Outbox<'_>,
    ) -> Option<Self::ConnState> {
        // The route of the application that asked: its requests are not routed by path.
        let (index, inner) = dial.pop()?;
        let route = self.routes.dial(index, id, &inner, peer, out)?;
        Some(RouterState {
            peer,
            route: Some(route),
        })
    }

    fn dial_failed(&mut self, id: ConnId, dial: &Dial, error: ConnectError) -> Commands {
        match dial.pop() {
            Some((index, inner)) => self.routes.dial_failed(index, id, &inner, error),
            None => Commands::none(),
        }
    }

    fn failed(&mut self, state: &mut Self::ConnState, error: &std::io::Error) {
        if let Some(route) = &mut state.route {
            self.routes.failed(route, error);
        }
    }

    fn dial_outcome(&self, state: &Self::ConnState) -> DialOutcome {
        state
            .route
            .as_ref()
            .map_or(DialOutcome::Failed, |r| self.routes.dial_outcome(r))
    }
}

/// Several workers: each gets a router with the same routes, each around its copy of its
/// stack.
impl<R: SplitRoutes> crate::workers::Split for Router<R> {
    type Worker = Router<R::Worker>;

    fn split(self, apps: &mut crate::workers::Apps) -> crate::workers::Replica<Self::Worker> {
        let routes = self.routes.split(apps);
        let (max_head_size, idle_timeout) = (self.max_head_size, self.idle_timeout);
        Box::new(move |uplink| Router {
            routes: routes(uplink),
            max_head_size,
            idle_timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_route_wins_and_ties_go_to_the_first() {
        let router = Router::new()
            .route("/*", NoopProtocol)
            .route("/chat", NoopProtocol)
            .route("/assets/*", NoopProtocol)
            .route("/*", NoopProtocol);
        let find = |path| router.routes.find(path).map(|(index, _)| index);
        assert_eq!(find("/chat"), Some(1));
        assert_eq!(find("/chat/x"), Some(0));
        assert_eq!(find("/assets/app.js"), Some(2));
        assert_eq!(find("/assets"), Some(2));
        assert_eq!(find("/"), Some(0));
    }

    /// A protocol that does nothing, to test route choice.
    struct NoopProtocol;

    impl Protocol for NoopProtocol {
        type ConnState = ();
        fn connect(&mut self, _: ConnId, _: SocketAddr, _: &mut Outbox<'_>) {}
        fn data(&mut self, _: &mut (), data: &mut [u8], _: &mut Outbox<'_>) -> usize {
            data.len()
        }
        fn timeout(&mut self, _: &mut (), _: &mut Outbox<'_>) {}
        fn disconnect(&mut self, _: (), _: &mut Outbox<'_>) {}
        fn encoding(&self, _: &()) -> Option<u8> {
            None
        }
        fn encode(&mut self, _: &mut (), _: &Payload, _: &mut Vec<u8>) {}
        fn close(&mut self, _: &mut (), _: CloseCode, _: &str, _: &mut Outbox<'_>) {}
    }
}
