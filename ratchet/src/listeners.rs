//! Two protocols on two listening sockets of one server (see
//! [`Server::listen`](crate::Server::listen)).

use crate::command::{Commands, TimerScope};
use crate::conn::{ConnId, Extensions};
use crate::error::ConfigError;
use crate::handle::Handle;
use crate::message::Payload;
use crate::outbound::{ConnectError, DialOutcome};
use crate::protocol::Dial;
use crate::protocol::{Limits, Outbox, Overflow, Protocol};
use crate::scope::{scope_commands, scoped};
use crate::CloseCode;
use std::net::SocketAddr;

/// Protocol `A` on the server's first listeners, `B` on the next: what
/// [`Server::listen`](crate::Server::listen) builds. Connections of both live in one
/// server, so commands, topics and timers reach all of them, each framed by its own
/// protocol; with a [`Shared`](crate::Shared) application both serve one app.
///
/// Timers are scoped to the side that set them, as a router scopes them to its routes.
#[derive(Debug)]
pub struct Listeners<A, B> {
    first: A,
    second: B,
    /// The side the next accepted connection belongs to.
    entering: Side,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    First,
    Second,
}

/// A connection's state on one side of [`Listeners`].
#[derive(Debug)]
pub enum Either<S, T> {
    /// Accepted on the first protocol's listener.
    First(S),
    /// Accepted on the second's.
    Second(T),
}

impl<A, B> Listeners<A, B> {
    /// `first` on the first listeners, `second` on the next.
    pub fn new(first: A, second: B) -> Self {
        Listeners {
            first,
            second,
            entering: Side::First,
        }
    }

    /// The first protocol.
    pub fn first(&self) -> &A {
        &self.first
    }

    /// The second protocol.
    pub fn second(&self) -> &B {
        &self.second
    }
}

/// An encoding of one side, distinct from the other side's: the first keeps 0–127, the
/// second gets 128–255 (a larger one is framed per connection).
fn encoding(side: Side, encoding: Option<u8>) -> Option<u8> {
    match (side, encoding?) {
        (Side::First, e) if e < 128 => Some(e),
        (Side::Second, e) if e < 128 => Some(128 + e),
        _ => None,
    }
}

impl<A: Protocol, B: Protocol> Protocol for Listeners<A, B> {
    type ConnState = Either<A::ConnState, B::ConnState>;

    fn limits(&self) -> Result<Limits, ConfigError> {
        let mut limits = self.first.limits()?.max(self.second.limits()?);
        limits.route_depth += 1;
        Ok(limits)
    }

    fn listeners(&self) -> usize {
        self.first.listeners() + self.second.listeners()
    }

    fn enter(&mut self, index: usize) {
        let first = self.first.listeners();
        if index < first {
            self.entering = Side::First;
            self.first.enter(index);
        } else {
            self.entering = Side::Second;
            self.second.enter(index - first);
        }
    }

    fn accept(&mut self, peer: SocketAddr) -> bool {
        match self.entering {
            Side::First => self.first.accept(peer),
            Side::Second => self.second.accept(peer),
        }
    }

    fn busy(&self, out: &mut Vec<u8>) {
        match self.entering {
            Side::First => self.first.busy(out),
            Side::Second => self.second.busy(out),
        }
    }

    fn connect(&mut self, id: ConnId, peer: SocketAddr, out: &mut Outbox<'_>) -> Self::ConnState {
        match self.entering {
            Side::First => {
                let first = &mut self.first;
                Either::First(scoped(out, 0, |out| first.connect(id, peer, out)))
            }
            Side::Second => {
                let second = &mut self.second;
                Either::Second(scoped(out, 1, |out| second.connect(id, peer, out)))
            }
        }
    }

    fn data(
        &mut self,
        state: &mut Self::ConnState,
        data: &mut [u8],
        out: &mut Outbox<'_>,
    ) -> usize {
        match state {
            Either::First(s) => scoped(out, 0, |out| self.first.data(s, data, out)),
            Either::Second(s) => scoped(out, 1, |out| self.second.data(s, data, out)),
        }
    }

    fn drained(&mut self, state: &mut Self::ConnState, out: &mut Outbox<'_>) {
        match state {
            Either::First(s) => scoped(out, 0, |out| self.first.drained(s, out)),
            Either::Second(s) => scoped(out, 1, |out| self.second.drained(s, out)),
        }
    }

    fn wake(&mut self, state: &mut Self::ConnState, out: &mut Outbox<'_>) {
        match state {
            Either::First(s) => scoped(out, 0, |out| self.first.wake(s, out)),
            Either::Second(s) => scoped(out, 1, |out| self.second.wake(s, out)),
        }
    }

    fn timeout(&mut self, state: &mut Self::ConnState, out: &mut Outbox<'_>) {
        match state {
            Either::First(s) => scoped(out, 0, |out| self.first.timeout(s, out)),
            Either::Second(s) => scoped(out, 1, |out| self.second.timeout(s, out)),
        }
    }

    fn disconnect(&mut self, state: Self::ConnState, out: &mut Outbox<'_>) {
        match state {
            Either::First(s) => scoped(out, 0, |out| self.first.disconnect(s, out)),
            Either::Second(s) => scoped(out, 1, |out| self.second.disconnect(s, out)),
        }
    }

    fn encoding(&self, state: &Self::ConnState) -> Option<u8> {
        match state {
            Either::First(s) => encoding(Side::First, self.first.encoding(s)),
            Either::Second(s) => encoding(Side::Second, self.second.encoding(s)),
        }
    }

    fn encode(&mut self, state: &mut Self::ConnState, msg: &Payload, buf: &mut Vec<u8>) {
        match state {
            Either::First(s) => self.first.encode(s, msg, buf),
            Either::Second(s) => self.second.encode(s, msg, buf),
        }
    }

    fn overflow(&mut self, state: &mut Self::ConnState, policy: Overflow, out: &mut Outbox<'_>) {
        match state {
            Either::First(s) => scoped(out, 0, |out| self.first.overflow(s, policy, out)),
            Either::Second(s) => scoped(out, 1, |out| self.second.overflow(s, policy, out)),
        }
    }

    fn reusable(&self, state: &Self::ConnState) -> bool {
        match state {
            Either::First(s) => self.first.reusable(s),
            Either::Second(s) => self.second.reusable(s),
        }
    }

    fn awaits_request(&self, state: &Self::ConnState) -> bool {
        match state {
            Either::First(s) => self.first.awaits_request(s),
            Either::Second(s) => self.second.awaits_request(s),
        }
    }

    fn extensions<'a>(&self, state: &'a mut Self::ConnState) -> Option<&'a mut Extensions> {
        match state {
            Either::First(s) => self.first.extensions(s),
            Either::Second(s) => self.second.extensions(s),
        }
    }

    fn start(&mut self, handle: &Handle) -> Commands {
        let first = scope_commands(self.first.start(handle), 0);
        first.and(scope_commands(self.second.start(handle), 1))
    }

    fn timer(&mut self, scope: TimerScope, key: u64) -> Commands {
        match scope.pop() {
            Some((0, inner)) => scope_commands(self.first.timer(inner, key), 0),
            Some((1, inner)) => scope_commands(self.second.timer(inner, key), 1),
            other => {
                log::debug!("timer {key} for no listener ({other:?})");
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
        let (side, inner) = dial.pop()?;
        match side {
            0 => {
                let first = &mut self.first;
                scoped(out, 0, |out| first.dial(id, &inner, peer, out)).map(Either::First)
            }
            1 => {
                let second = &mut self.second;
                scoped(out, 1, |out| second.dial(id, &inner, peer, out)).map(Either::Second)
            }
            _ => None,
        }
    }

    fn dial_failed(&mut self, id: ConnId, dial: &Dial, error: ConnectError) -> Commands {
        let Some((side, inner)) = dial.pop() else {
            return Commands::none();
        };
        match side {
            0 => scope_commands(self.first.dial_failed(id, &inner, error), 0),
            1 => scope_commands(self.second.dial_failed(id, &inner, error), 1),
            _ => Commands::none(),
        }
    }

    fn failed(&mut self, state: &mut Self::ConnState, error: &std::io::Error) {
        match state {
            Either::First(s) => self.first.failed(s, error),
            Either::Second(s) => self.second.failed(s, error),
        }
    }

    fn dial_outcome(&self, state: &Self::ConnState) -> DialOutcome {
        match state {
            Either::First(s) => self.first.dial_outcome(s),
            Either::Second(s) => self.second.dial_outcome(s),
        }
    }

    fn reload(&mut self) {
        self.first.reload();
        self.second.reload();
    }

    fn metrics(&self, metrics: &mut crate::exposition::Exposition) {
        self.first.metrics(metrics);
        self.second.metrics(metrics);
    }

    fn close(
        &mut self,
        state: &mut Self::ConnState,
        code: CloseCode,
        reason: &str,
        out: &mut Outbox<'_>,
    ) {
        match state {
            Either::First(s) => scoped(out, 0, |out| self.first.close(s, code, reason, out)),
            Either::Second(s) => scoped(out, 1, |out| self.second.close(s, code, reason, out)),
        }
    }
}

/// Several workers: each gets a copy of both stacks (their applications go to the app
/// thread; a [`Shared`](crate::Shared) one stays one application).
impl<A: crate::workers::Split, B: crate::workers::Split> crate::workers::Split for Listeners<A, B> {
    type Worker = Listeners<A::Worker, B::Worker>;

    fn split(self, apps: &mut crate::workers::Apps) -> crate::workers::Replica<Self::Worker> {
        let first = apps.within(0, |apps| self.first.split(apps));
        let second = apps.within(1, |apps| self.second.split(apps));
        Box::new(move |uplink| Listeners::new(first(uplink), second(uplink)))
    }
}
