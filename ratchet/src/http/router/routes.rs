//! The typed list of a router's routes: each route's protocol keeps its own typed state,
//! and each call reaches the route that owns the connection. Timers are scoped to their
//! route on the way out.

use super::pattern::Pattern;
use crate::command::{Commands, TimerScope};
use crate::conn::{ConnId, Extensions};
use crate::error::ConfigError;
use crate::message::Payload;
use crate::outbound::{ConnectError, DialOutcome};
use crate::protocol::Dial;
use crate::protocol::{Limits, Outbox, Overflow, Protocol};
use crate::scope::{scope_commands, scoped};
use crate::{CloseCode, Handle};
use std::convert::Infallible;
use std::net::SocketAddr;

/// The end of a router's list of routes.
#[derive(Debug, Default)]
pub struct NoRoute;

/// A route in a router's list: a pattern, the protocol serving it, and the routes added
/// before it.
#[derive(Debug)]
pub struct Route<P, R> {
    pub(super) pattern: Pattern,
    pub(super) protocol: P,
    pub(super) rest: R,
}

/// The state of a connection on a [`Route`]: on this route, or on one of the others.
#[derive(Debug)]
pub enum RouteState<S, R> {
    /// Served by this route's protocol.
    Here(S),
    /// Served by a route added earlier.
    Rest(R),
}

/// The list of routes of a [`Router`](crate::Router), built by [`Router::route`](crate::Router::route): [`NoRoute`] ends it,
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
    /// [`Protocol::wake`].
    fn wake(&mut self, state: &mut Self::ConnState, out: &mut Outbox<'_>);
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
    /// [`Protocol::metrics`] of every route.
    fn metrics(&self, metrics: &mut crate::exposition::Exposition);
    /// [`Protocol::timer`] of route `index`.
    fn timer(&mut self, index: usize, scope: TimerScope, key: u64) -> Commands;
    /// [`Protocol::dial`] of route `index`.
    fn dial(
        &mut self,
        index: usize,
        id: ConnId,
        dial: &Dial,
        peer: SocketAddr,
        out: &mut Outbox<'_>,
    ) -> Option<Self::ConnState>;
    /// [`Protocol::dial_failed`] of route `index`.
    fn dial_failed(
        &mut self,
        index: usize,
        id: ConnId,
        dial: &Dial,
        error: ConnectError,
    ) -> Commands;
    /// [`Protocol::failed`] of the route's protocol.
    fn failed(&mut self, state: &mut Self::ConnState, error: &std::io::Error);
    /// [`Protocol::dial_outcome`] of the route's protocol.
    fn dial_outcome(&self, state: &Self::ConnState) -> DialOutcome;
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
    fn wake(&mut self, state: &mut Infallible, _: &mut Outbox<'_>) {
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
    fn metrics(&self, _metrics: &mut crate::exposition::Exposition) {}
    fn timer(&mut self, index: usize, _scope: TimerScope, key: u64) -> Commands {
        log::debug!("timer {key} for no route ({index})");
        Commands::none()
    }
    fn dial(
        &mut self,
        _: usize,
        _: ConnId,
        _: &Dial,
        _: SocketAddr,
        _: &mut Outbox<'_>,
    ) -> Option<Infallible> {
        None
    }
    fn dial_failed(&mut self, _: usize, _: ConnId, _: &Dial, _: ConnectError) -> Commands {
        Commands::none()
    }
    fn failed(&mut self, state: &mut Infallible, _: &std::io::Error) {
        match *state {}
    }
    fn dial_outcome(&self, state: &Infallible) -> DialOutcome {
        match *state {}
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

    fn wake(&mut self, state: &mut Self::ConnState, out: &mut Outbox<'_>) {
        match state {
            RouteState::Here(s) => {
                let protocol = &mut self.protocol;
                scoped(out, R::LEN, |out| protocol.wake(s, out));
            }
            RouteState::Rest(s) => self.rest.wake(s, out),
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

    fn metrics(&self, metrics: &mut crate::exposition::Exposition) {
        self.rest.metrics(metrics);
        self.protocol.metrics(metrics);
    }

    fn timer(&mut self, index: usize, scope: TimerScope, key: u64) -> Commands {
        if index == R::LEN {
            scope_commands(self.protocol.timer(scope, key), index)
        } else {
            self.rest.timer(index, scope, key)
        }
    }

    fn dial(
        &mut self,
        index: usize,
        id: ConnId,
        dial: &Dial,
        peer: SocketAddr,
        out: &mut Outbox<'_>,
    ) -> Option<Self::ConnState> {
        if index == R::LEN {
            let protocol = &mut self.protocol;
            scoped(out, index, |out| protocol.dial(id, dial, peer, out)).map(RouteState::Here)
        } else {
            self.rest
                .dial(index, id, dial, peer, out)
                .map(RouteState::Rest)
        }
    }

    fn dial_failed(
        &mut self,
        index: usize,
        id: ConnId,
        dial: &Dial,
        error: ConnectError,
    ) -> Commands {
        if index == R::LEN {
            scope_commands(self.protocol.dial_failed(id, dial, error), index)
        } else {
            self.rest.dial_failed(index, id, dial, error)
        }
    }

    fn failed(&mut self, state: &mut Self::ConnState, error: &std::io::Error) {
        match state {
            RouteState::Here(s) => self.protocol.failed(s, error),
            RouteState::Rest(s) => self.rest.failed(s, error),
        }
    }

    fn dial_outcome(&self, state: &Self::ConnState) -> DialOutcome {
        match state {
            RouteState::Here(s) => self.protocol.dial_outcome(s),
            RouteState::Rest(s) => self.rest.dial_outcome(s),
        }
    }
}
/// A list of routes that several workers can serve (see [`Split`](crate::workers::Split)).
pub trait SplitRoutes: Routes + Sized {
    /// The list a worker's router holds.
    type Worker: Routes + Send + 'static;

    /// Moves the routes' applications into `apps`; what makes a worker's list.
    fn split(self, apps: &mut crate::workers::Apps) -> crate::workers::Replica<Self::Worker>;
}

impl SplitRoutes for NoRoute {
    type Worker = NoRoute;

    fn split(self, _: &mut crate::workers::Apps) -> crate::workers::Replica<NoRoute> {
        Box::new(|_| NoRoute)
    }
}

impl<P: crate::workers::Split, R: SplitRoutes> SplitRoutes for Route<P, R> {
    type Worker = Route<P::Worker, R::Worker>;

    fn split(self, apps: &mut crate::workers::Apps) -> crate::workers::Replica<Self::Worker> {
        let rest = self.rest.split(apps);
        let protocol = apps.within(R::LEN, |apps| self.protocol.split(apps));
        let pattern = self.pattern;
        Box::new(move |uplink| {
            let mut protocol = protocol(uplink);
            if let Pattern::Prefix(prefix) = &pattern {
                protocol.mount(prefix);
            }
            Route {
                pattern: pattern.clone(),
                protocol,
                rest: rest(uplink),
            }
        })
    }
}
