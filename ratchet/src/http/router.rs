//! Routing connections by the path of their first request.

use super::{persist, refuse, request, target_path, write_busy, write_error, Head};
use crate::command::{Command, Commands, TimerScope};
use crate::conn::{ConnId, Extensions};
use crate::error::ConfigError;
use crate::message::Payload;
use crate::protocol::{Limits, Outbox, Overflow, Protocol};
use crate::{CloseCode, Handle};
use std::convert::Infallible;
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

/// The end of a router's list of routes.
#[derive(Debug, Default)]
pub struct NoRoute;

/// A route in a router's list: a pattern, the protocol serving it, and the routes added
/// before it.
#[derive(Debug)]
pub struct Route<P, R> {
    pattern: Pattern,
    protocol: P,
    rest: R,
}

/// The state of a connection on a [`Route`]: on this route, or on one of the others.
#[derive(Debug)]
pub enum RouteState<S, R> {
    /// Served by this route's protocol.
    Here(S),
    /// Served by a route added earlier.
    Rest(R),
}

/// A connection's state in a [`Router`].
#[derive(Debug)]
pub struct RouterState<S> {
    peer: SocketAddr,
    route: Option<S>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Exact(String),
    Prefix(String),
}

impl Pattern {
    fn parse(pattern: &str) -> Result<Self, String> {
        if !pattern.starts_with('/') {
            return Err(format!("route pattern {pattern:?} must start with '/'"));
        }
        if pattern.contains(['?', '#', ' ']) {
            return Err(format!("route pattern {pattern:?} must be a bare path"));
        }
        match pattern.strip_suffix('*') {
            Some(prefix) if prefix.ends_with('/') => Ok(Pattern::Prefix(prefix.to_owned())),
            Some(_) => Err(format!(
                "route pattern {pattern:?}: '*' only ends a prefix ('/x/*')"
            )),
            None if pattern.contains('*') => Err(format!(
                "route pattern {pattern:?}: '*' only ends a prefix ('/x/*')"
            )),
            None => Ok(Pattern::Exact(pattern.to_owned())),
        }
    }

    /// How well `path` matches: higher is more specific.
    fn score(&self, path: &str) -> Option<usize> {
        match self {
            Pattern::Exact(p) => (p == path).then_some(usize::MAX),
            Pattern::Prefix(p) => {
                // "/assets/*" also takes "/assets", which the route can redirect.
                let matches = path.starts_with(p.as_str()) || path == &p[..p.len() - 1];
                matches.then_some(p.len())
            }
        }
    }
}

/// Scopes the application timers among `cmds` to route `index`.
fn scope_timers(cmds: &mut [Command], index: usize) {
    for cmd in cmds {
        if let Command::Timer { scope, .. } | Command::CancelTimer { scope, .. } = cmd {
            *scope = scope.push(index);
        }
    }
}

/// Runs `f` and scopes the application timers it queued to route `index`.
fn scoped<T>(out: &mut Outbox<'_>, index: usize, f: impl FnOnce(&mut Outbox<'_>) -> T) -> T {
    let mark = out.command_mark();
    let result = f(out);
    scope_timers(out.commands_since(mark), index);
    result
}

fn scope_commands(cmds: Commands, index: usize) -> Commands {
    let timers = |c: &Command| matches!(c, Command::Timer { .. } | Command::CancelTimer { .. });
    if !cmds.as_slice().iter().any(timers) {
        return cmds;
    }
    let mut cmds: Vec<Command> = cmds.into_iter().collect();
    scope_timers(&mut cmds, index);
    cmds.into_iter().collect()
}

/// The list of routes of a [`Router`], built by [`Router::route`]: [`NoRoute`] ends it,
/// each [`Route`] adds one. Its methods mirror [`Protocol`]'s, addressed to the route
/// that owns the connection.
pub trait Routes {
    /// A connection's state on whichever route serves it.
    type ConnState;

    /// How many routes the list holds.
    const LEN: usize;

    /// The index of the most specific route matching `path`, and how specific it is.
    fn find(&self, path: &str) -> Option<(usize, usize)>;

    /// The index of the route serving a connection.
    fn index(state: &Self::ConnState) -> usize;

    /// [`Protocol::limits`] of every route, merged.
    fn limits(&self) -> Result<Limits, ConfigError>;

    /// [`Protocol::accept`] of route `index`.
    fn accept(&mut self, index: usize, peer: SocketAddr) -> bool;
    /// [`Protocol::connect`] of route `index`.
    fn connect(
        &mut self,
        index: usize,
        id: ConnId,
        peer: SocketAddr,
        out: &mut Outbox<'_>,
    ) -> Self::ConnState;
    /// [`Protocol::data`].
    fn data(&mut self, state: &mut Self::ConnState, data: &mut [u8], out: &mut Outbox<'_>)
        -> usize;
    /// [`Protocol::drained`].
    fn drained(&mut self, state: &mut Self::ConnState, out: &mut Outbox<'_>);
    /// [`Protocol::timeout`].
    fn timeout(&mut self, state: &mut Self::ConnState, out: &mut Outbox<'_>);
    /// [`Protocol::disconnect`].
    fn disconnect(&mut self, state: Self::ConnState, out: &mut Outbox<'_>);
    /// [`Protocol::encoding`], made distinct across routes.
    fn encoding(&self, state: &Self::ConnState) -> Option<u8>;
    /// [`Protocol::encode`].
    fn encode(&mut self, state: &mut Self::ConnState, msg: &Payload, buf: &mut Vec<u8>);
    /// [`Protocol::overflow`].
    fn overflow(&mut self, state: &mut Self::ConnState, policy: Overflow, out: &mut Outbox<'_>);
    /// [`Protocol::close`].
    fn close(
        &mut self,
        state: &mut Self::ConnState,
        code: CloseCode,
        reason: &str,
        out: &mut Outbox<'_>,
    );
    /// [`Protocol::reusable`].
    fn reusable(&self, state: &Self::ConnState) -> bool;
    /// [`Protocol::awaits_request`].
    fn awaits_request(&self, state: &Self::ConnState) -> bool;
    /// [`Protocol::extensions`].
    fn extensions<'a>(&self, state: &'a mut Self::ConnState) -> Option<&'a mut Extensions>;
    /// [`Protocol::start`] of every route.
    fn start(&mut self, handle: &Handle) -> Commands;
    /// [`Protocol::timer`] of route `index`.
    fn timer(&mut self, index: usize, scope: TimerScope, key: u64) -> Commands;
}

impl Routes for NoRoute {
    type ConnState = Infallible;
    const LEN: usize = 0;

    fn find(&self, _path: &str) -> Option<(usize, usize)> {
        None
    }
    fn index(state: &Infallible) -> usize {
        match *state {}
    }
    fn limits(&self) -> Result<Limits, ConfigError> {
        Ok(Limits::default())
    }
    fn accept(&mut self, _index: usize, _peer: SocketAddr) -> bool {
        false
    }
    fn connect(
        &mut self,
        index: usize,
        _: ConnId,
        _: SocketAddr,
        _: &mut Outbox<'_>,
    ) -> Infallible {
        unreachable!("no route {index}")
    }
    fn data(&mut self, state: &mut Infallible, _: &mut [u8], _: &mut Outbox<'_>) -> usize {
        match *state {}
    }
    fn drained(&mut self, state: &mut Infallible, _: &mut Outbox<'_>) {
        match *state {}
    }
    fn timeout(&mut self, state: &mut Infallible, _: &mut Outbox<'_>) {
        match *state {}
    }
    fn disconnect(&mut self, state: Infallible, _: &mut Outbox<'_>) {
        match state {}
    }
    fn encoding(&self, state: &Infallible) -> Option<u8> {
        match *state {}
    }
    fn encode(&mut self, state: &mut Infallible, _: &Payload, _: &mut Vec<u8>) {
        match *state {}
    }
    fn overflow(&mut self, state: &mut Infallible, _: Overflow, _: &mut Outbox<'_>) {
        match *state {}
    }
    fn close(&mut self, state: &mut Infallible, _: CloseCode, _: &str, _: &mut Outbox<'_>) {
        match *state {}
    }
    fn reusable(&self, state: &Infallible) -> bool {
        match *state {}
    }
    fn awaits_request(&self, state: &Infallible) -> bool {
        match *state {}
    }
    fn extensions<'a>(&self, state: &'a mut Infallible) -> Option<&'a mut Extensions> {
        match *state {}
    }
    fn start(&mut self, _handle: &Handle) -> Commands {
        Commands::none()
    }
    fn timer(&mut self, index: usize, _scope: TimerScope, key: u64) -> Commands {
        log::debug!("timer {key} for no route ({index})");
        Commands::none()
    }
}

impl<P: Protocol, R: Routes> Routes for Route<P, R> {
    type ConnState = RouteState<P::ConnState, R::ConnState>;
    const LEN: usize = R::LEN + 1;

    fn find(&self, path: &str) -> Option<(usize, usize)> {
        let here = self.pattern.score(path).map(|score| (R::LEN, score));
        match (here, self.rest.find(path)) {
            // Equally specific: the route added first wins.
            (Some(here), Some(rest)) => Some(if rest.1 >= here.1 { rest } else { here }),
            (here, rest) => here.or(rest),
        }
    }

    fn index(state: &Self::ConnState) -> usize {
        match state {
            RouteState::Here(_) => R::LEN,
            RouteState::Rest(s) => R::index(s),
        }
    }

    fn limits(&self) -> Result<Limits, ConfigError> {
        Ok(self.protocol.limits()?.max(self.rest.limits()?))
    }

    fn accept(&mut self, index: usize, peer: SocketAddr) -> bool {
        if index == R::LEN {
            self.protocol.accept(peer)
        } else {
            self.rest.accept(index, peer)
        }
    }

    fn connect(
        &mut self,
        index: usize,
        id: ConnId,
        peer: SocketAddr,
        out: &mut Outbox<'_>,
    ) -> Self::ConnState {
        if index == R::LEN {
            let protocol = &mut self.protocol;
            RouteState::Here(scoped(out, index, |out| protocol.connect(id, peer, out)))
        } else {
            RouteState::Rest(self.rest.connect(index, id, peer, out))
        }
    }

    fn data(
        &mut self,
        state: &mut Self::ConnState,
        data: &mut [u8],
        out: &mut Outbox<'_>,
    ) -> usize {
        match state {
            RouteState::Here(s) => {
                let protocol = &mut self.protocol;
                scoped(out, R::LEN, |out| protocol.data(s, data, out))
            }
            RouteState::Rest(s) => self.rest.data(s, data, out),
        }
    }

    fn drained(&mut self, state: &mut Self::ConnState, out: &mut Outbox<'_>) {
        match state {
            RouteState::Here(s) => {
                let protocol = &mut self.protocol;
                scoped(out, R::LEN, |out| protocol.drained(s, out));
            }
            RouteState::Rest(s) => self.rest.drained(s, out),
        }
    }

    fn timeout(&mut self, state: &mut Self::ConnState, out: &mut Outbox<'_>) {
        match state {
            RouteState::Here(s) => {
                let protocol = &mut self.protocol;
                scoped(out, R::LEN, |out| protocol.timeout(s, out));
            }
            RouteState::Rest(s) => self.rest.timeout(s, out),
        }
    }

    fn disconnect(&mut self, state: Self::ConnState, out: &mut Outbox<'_>) {
        match state {
            RouteState::Here(s) => {
                let protocol = &mut self.protocol;
                scoped(out, R::LEN, |out| protocol.disconnect(s, out));
            }
            RouteState::Rest(s) => self.rest.disconnect(s, out),
        }
    }

    fn encoding(&self, state: &Self::ConnState) -> Option<u8> {
        match state {
            // Encodings of one protocol are small numbers (under 32); routes share the
            // frame-once cache, so each gets its own range of 32 (the first eight routes;
            // connections of later ones are framed one by one).
            RouteState::Here(s) => match self.protocol.encoding(s)? {
                e if e < 32 && R::LEN < 8 => Some(R::LEN as u8 * 32 + e),
                _ => None,
            },
            RouteState::Rest(s) => self.rest.encoding(s),
        }
    }

    fn encode(&mut self, state: &mut Self::ConnState, msg: &Payload, buf: &mut Vec<u8>) {
        match state {
            RouteState::Here(s) => self.protocol.encode(s, msg, buf),
            RouteState::Rest(s) => self.rest.encode(s, msg, buf),
        }
    }

    fn overflow(&mut self, state: &mut Self::ConnState, policy: Overflow, out: &mut Outbox<'_>) {
        match state {
            RouteState::Here(s) => {
                let protocol = &mut self.protocol;
                scoped(out, R::LEN, |out| protocol.overflow(s, policy, out));
            }
            RouteState::Rest(s) => self.rest.overflow(s, policy, out),
        }
    }

    fn close(
        &mut self,
        state: &mut Self::ConnState,
        code: CloseCode,
        reason: &str,
        out: &mut Outbox<'_>,
    ) {
        match state {
            RouteState::Here(s) => {
                let protocol = &mut self.protocol;
                scoped(out, R::LEN, |out| protocol.close(s, code, reason, out));
            }
            RouteState::Rest(s) => self.rest.close(s, code, reason, out),
        }
    }

    fn reusable(&self, state: &Self::ConnState) -> bool {
        match state {
            RouteState::Here(s) => self.protocol.reusable(s),
            RouteState::Rest(s) => self.rest.reusable(s),
        }
    }

    fn awaits_request(&self, state: &Self::ConnState) -> bool {
        match state {
            RouteState::Here(s) => self.protocol.awaits_request(s),
            RouteState::Rest(s) => self.rest.awaits_request(s),
        }
    }

    fn extensions<'a>(&self, state: &'a mut Self::ConnState) -> Option<&'a mut Extensions> {
        match state {
            RouteState::Here(s) => self.protocol.extensions(s),
            RouteState::Rest(s) => self.rest.extensions(s),
        }
    }

    fn start(&mut self, handle: &Handle) -> Commands {
        let rest = self.rest.start(handle);
        rest.and(scope_commands(self.protocol.start(handle), R::LEN))
    }

    fn timer(&mut self, index: usize, scope: TimerScope, key: u64) -> Commands {
        if index == R::LEN {
            scope_commands(self.protocol.timer(scope, key), index)
        } else {
            self.rest.timer(index, scope, key)
        }
    }
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
            if consumed == 0 || out.is_shutting_down() {
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
            None => out.shutdown(),
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

    fn timer(&mut self, scope: TimerScope, key: u64) -> Commands {
        match scope.pop() {
            Some((index, inner)) => self.routes.timer(index, inner, key),
            None => {
                log::debug!("timer {key} with no route");
                Commands::none()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert_eq!(Pattern::parse("/chat"), Ok(Pattern::Exact("/chat".into())));
        assert_eq!(Pattern::parse("/*"), Ok(Pattern::Prefix("/".into())));
        assert_eq!(Pattern::parse("/a/*"), Ok(Pattern::Prefix("/a/".into())));
        for bad in ["chat", "", "/a*", "/a/*/b", "/a?x=1", "*"] {
            assert!(Pattern::parse(bad).is_err(), "{bad}");
        }
    }

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

    #[test]
    fn timers_carry_their_route_and_keep_their_whole_key() {
        let key = u64::MAX;
        let mut cmds = vec![
            Command::after(Duration::from_secs(1), key),
            Command::cancel_timer(key),
        ];
        scope_timers(&mut cmds, 3);
        let scope = TimerScope::default().push(3);
        assert!(
            matches!(cmds[0], Command::Timer { key: k, scope: s, .. } if k == key && s == scope)
        );
        assert!(
            matches!(cmds[1], Command::CancelTimer { key: k, scope: s } if k == key && s == scope)
        );
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
