//! Routing connections by the path of their first request.

use super::{keep_alive, parse_head, refuse, target_path, write_error, Head};
use crate::command::{Command, Commands};
use crate::conn::ConnId;
use crate::message::Payload;
use crate::protocol::{Outbox, Protocol};
use crate::server::Overflow;
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
/// timers are told apart by route: the top 8 bits of a timer key are the router's (keys
/// below 2^56 are the application's own).
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

/// Timer keys carry their route in the top 8 bits.
const ROUTE_SHIFT: u32 = 56;
const KEY_MASK: u64 = (1 << ROUTE_SHIFT) - 1;

fn tag_timers(cmds: &mut [Command], index: usize) {
    for cmd in cmds {
        if let Command::Timer { key, .. } | Command::CancelTimer { key } = cmd {
            if *key > KEY_MASK {
                log::warn!("timer key {key:#x} uses the router's top 8 bits; they are replaced");
            }
            *key = (*key & KEY_MASK) | ((index as u64) << ROUTE_SHIFT);
        }
    }
}

/// Runs `f` and tags the application timers it queued with route `index`.
fn tagged<T>(out: &mut Outbox<'_>, index: usize, f: impl FnOnce(&mut Outbox<'_>) -> T) -> T {
    let mark = out.command_mark();
    let result = f(out);
    tag_timers(out.commands_since(mark), index);
    result
}

fn tag_commands(cmds: Commands, index: usize) -> Commands {
    let timers = |c: &Command| matches!(c, Command::Timer { .. } | Command::CancelTimer { .. });
    if !cmds.as_slice().iter().any(timers) {
        return cmds;
    }
    let mut cmds: Vec<Command> = cmds.into_iter().collect();
    tag_timers(&mut cmds, index);
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
    /// [`Protocol::start`] of every route.
    fn start(&mut self, handle: &Handle) -> Commands;
    /// [`Protocol::timer`] of the route the key names.
    fn timer(&mut self, index: usize, key: u64) -> Commands;
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
    fn start(&mut self, _handle: &Handle) -> Commands {
        Commands::none()
    }
    fn timer(&mut self, index: usize, key: u64) -> Commands {
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
            RouteState::Here(tagged(out, index, |out| protocol.connect(id, peer, out)))
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
                tagged(out, R::LEN, |out| protocol.data(s, data, out))
            }
            RouteState::Rest(s) => self.rest.data(s, data, out),
        }
    }

    fn timeout(&mut self, state: &mut Self::ConnState, out: &mut Outbox<'_>) {
        match state {
            RouteState::Here(s) => {
                let protocol = &mut self.protocol;
                tagged(out, R::LEN, |out| protocol.timeout(s, out));
            }
            RouteState::Rest(s) => self.rest.timeout(s, out),
        }
    }

    fn disconnect(&mut self, state: Self::ConnState, out: &mut Outbox<'_>) {
        match state {
            RouteState::Here(s) => {
                let protocol = &mut self.protocol;
                tagged(out, R::LEN, |out| protocol.disconnect(s, out));
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
                tagged(out, R::LEN, |out| protocol.overflow(s, policy, out));
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
                tagged(out, R::LEN, |out| protocol.close(s, code, reason, out));
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

    fn start(&mut self, handle: &Handle) -> Commands {
        let rest = self.rest.start(handle);
        rest.and(tag_commands(self.protocol.start(handle), R::LEN))
    }

    fn timer(&mut self, index: usize, key: u64) -> Commands {
        if index == R::LEN {
            tag_commands(self.protocol.timer(key), index)
        } else {
            self.rest.timer(index, key)
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
    /// end of a prefix (`"/assets/*"`).
    pub fn route<P: Protocol>(self, pattern: &str, mut protocol: P) -> Router<Route<P, R>> {
        let pattern = Pattern::parse(pattern).unwrap_or_else(|e| panic!("{e}"));
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

    fn connect(&mut self, _id: ConnId, peer: SocketAddr, out: &mut Outbox<'_>) -> Self::ConnState {
        out.set_deadline(Some(out.now() + self.idle_timeout));
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
            let rest = &mut data[pos..];
            if let Some(route) = state.route.as_mut().filter(|r| !self.routes.reusable(r)) {
                return pos + self.routes.data(route, rest, out);
            }
            if rest.is_empty() {
                return pos;
            }
            let routes = &self.routes;
            let looked = parse_head(rest, self.max_head_size, |req, _| {
                let path = target_path(req.path.unwrap_or("/"));
                (routes.find(path).map(|(index, _)| index), keep_alive(req))
            });
            let index = match looked {
                Head::Partial => return pos,
                Head::Bad(status, reason) => return refuse(out, status, &reason, data),
                Head::Complete((None, keep), len) => {
                    write_error(
                        out.output(),
                        404,
                        "nothing is served at this path",
                        "",
                        keep,
                    );
                    if !keep {
                        out.shutdown();
                        return data.len();
                    }
                    pos += len;
                    if state.route.is_none() {
                        out.set_deadline(Some(out.now() + self.idle_timeout));
                    }
                    continue;
                }
                Head::Complete((Some(index), _), _) => index,
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

    fn start(&mut self, handle: &Handle) -> Commands {
        self.routes.start(handle)
    }

    fn timer(&mut self, key: u64) -> Commands {
        self.routes
            .timer((key >> ROUTE_SHIFT) as usize, key & KEY_MASK)
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
    fn timer_keys_carry_their_route() {
        let mut cmds = vec![
            Command::after(Duration::from_secs(1), 7),
            Command::cancel_timer(7),
        ];
        tag_timers(&mut cmds, 3);
        assert_eq!(cmds[0], Command::after(Duration::from_secs(1), 3 << 56 | 7));
        assert_eq!(cmds[1], Command::cancel_timer(3 << 56 | 7));
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
