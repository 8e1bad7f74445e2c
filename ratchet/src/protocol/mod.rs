//! The byte-level interface between the server and the protocol decorator it serves:
//! the [`Protocol`] trait, what a protocol says of itself ([`Limits`]), and what it is
//! handed for an event ([`Outbox`], in `outbox.rs`) or to connect out ([`Dial`]).

mod outbox;

pub use outbox::Outbox;
pub(crate) use outbox::{deadline_after, Control, Hold, Inbound};

use crate::command::{Commands, TimerScope};
use crate::conn::{ConnId, Extensions};
use crate::error::ConfigError;
use crate::exposition::Exposition;
use crate::handle::Handle;
use crate::message::Payload;
use crate::outbound::{Connect, ConnectError, ConnectFailure, DialOutcome};
use crate::CloseCode;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// A protocol decorator as the server sees it: bytes in, bytes and commands out.
///
/// [`WebSocket`](crate::WebSocket) and [`Line`](crate::Line) implement it around a
/// [`Component`](crate::Component); [`Router`](crate::Router),
/// [`OriginCheck`](crate::OriginCheck) and the others wrap another `Protocol`.
/// Implementations know nothing about sockets: the server reads, calls
/// [`data`](Protocol::data) with what it read, and writes what the protocol put in the
/// [`Outbox`].
///
/// A decorator that changes one or two things forwards the rest with
/// [`delegate_protocol!`](crate::delegate_protocol), which documents a complete example.
pub trait Protocol {
    /// Per-connection state, kept in the server's slab beside the socket.
    type ConnState;

    /// Checks this protocol's configuration (and that of the protocols it wraps) and says
    /// what it needs of the server. Called once, when the server is assembled; an error
    /// stops the server from starting.
    fn limits(&self) -> Result<Limits, ConfigError> {
        Ok(Limits::default())
    }

    /// A peer is knocking: `false` drops its connection at once, before anything is read
    /// from it or [`connect`](Protocol::connect) runs. Default: everyone is welcome.
    fn accept(&mut self, peer: SocketAddr) -> bool {
        let _ = peer;
        true
    }

    /// The server holds as many connections as it may: write what a peer refused for it
    /// should read (HTTP protocols: a `503`); the connection is closed after it.
    /// Default: nothing, the connection is just closed.
    fn busy(&self, out: &mut Vec<u8>) {
        let _ = out;
    }

    /// How many listening sockets this protocol serves: one, unless it combines several
    /// ([`Listeners`](crate::Listeners)). The server binds exactly this many.
    fn listeners(&self) -> usize {
        1
    }

    /// A connection is about to be accepted on listener `index` (0 for the first the
    /// server bound): [`accept`](Protocol::accept) and [`connect`](Protocol::connect) for
    /// it follow at once. Default: nothing (one listener).
    fn enter(&mut self, index: usize) {
        let _ = index;
    }

    /// A connection was accepted.
    fn connect(&mut self, id: ConnId, peer: SocketAddr, out: &mut Outbox<'_>) -> Self::ConnState;

    /// The application asked to connect out ([`Command::connect`](crate::Command::connect)): the state of an
    /// outbound connection whose socket is connecting to `peer` (what the protocol writes
    /// now goes out once it is connected), in the protocol's client role. `None` if this
    /// protocol has none: the attempt then fails with
    /// [`ConnectFailure::Unsupported`].
    /// A layer that serves several protocols pops its index from `dial.scope`, as for
    /// [`timer`](Protocol::timer). Default: `None`.
    fn dial(
        &mut self,
        id: ConnId,
        dial: &Dial,
        peer: SocketAddr,
        out: &mut Outbox<'_>,
    ) -> Option<Self::ConnState> {
        let _ = (id, dial, peer, out);
        None
    }

    /// An outbound connection failed before it had a socket (a URL that does not parse, a
    /// name that does not resolve, no client role): tell the application. `id` is the one
    /// the attempt had, which addresses nothing. Default: nothing.
    fn dial_failed(&mut self, id: ConnId, dial: &Dial, error: ConnectError) -> Commands {
        let _ = (id, dial, error);
        Commands::none()
    }

    /// The socket failed (connecting, reading or writing): the connection is dropped
    /// next, and [`disconnect`](Protocol::disconnect) follows. Default: nothing.
    fn failed(&mut self, state: &mut Self::ConnState, error: &std::io::Error) {
        let _ = (state, error);
    }

    /// How an outbound connection that is ending went, for its reconnect policy: it
    /// never opened, it dropped, or the application closed it. Default:
    /// [`DialOutcome::Dropped`].
    fn dial_outcome(&self, state: &Self::ConnState) -> DialOutcome {
        let _ = state;
        DialOutcome::Dropped
    }

    /// Bytes arrived (never none). Returns how many were consumed; the server offers the
    /// rest again at once, until the protocol consumes nothing, then keeps it and hands it
    /// back followed by the next read. The protocol may modify `data` in place (e.g. to
    /// unmask it).
    ///
    /// While the connection's output is over the server's output budget the server offers
    /// nothing (the input waits, unparsed), so a peer that sends without reading cannot
    /// make the protocol produce more.
    fn data(&mut self, state: &mut Self::ConnState, data: &mut [u8], out: &mut Outbox<'_>)
        -> usize;

    /// The output went below half the budget after the protocol asked for it
    /// ([`Outbox::notify_drained`]): there is room to write more (e.g. the next chunk of
    /// a file). Default: nothing.
    fn drained(&mut self, state: &mut Self::ConnState, out: &mut Outbox<'_>) {
        let _ = (state, out);
    }

    /// Something this connection waited for outside the event loop is ready (a
    /// [`Handle::wake`](crate::Handle::wake) or [`Handle::answer`](crate::Handle::answer)
    /// for it), and the server holds none of its input: a decorator that holds input
    /// itself (TLS holds the plaintext) offers it to the protocol inside again. Default:
    /// nothing.
    fn wake(&mut self, state: &mut Self::ConnState, out: &mut Outbox<'_>) {
        let _ = (state, out);
    }

    /// The deadline set through [`Outbox::set_deadline`] passed.
    fn timeout(&mut self, state: &mut Self::ConnState, out: &mut Outbox<'_>);

    /// The connection is gone (closed by either side, or failed). Commands still go out;
    /// writes to this connection are discarded.
    fn disconnect(&mut self, state: Self::ConnState, out: &mut Outbox<'_>);

    /// Which wire encoding this connection uses for outgoing messages: connections with
    /// the same value receive the same bytes for the same payload, so the server frames a
    /// message once per value. `None` means "encode for this connection alone".
    fn encoding(&self, state: &Self::ConnState) -> Option<u8>;

    /// Appends `msg`, framed for this connection, to `buf` (or nothing, if the connection
    /// cannot take messages now).
    fn encode(&mut self, state: &mut Self::ConnState, msg: &Payload, buf: &mut Vec<u8>);

    /// This connection's client reads slower than it is sent to (see the server's
    /// output budget). With [`Overflow::Close`] the protocol should close the connection
    /// (WebSocket: 1008); with `Drop` a message that did not fit was dropped (the first
    /// since the connection fell behind): tell the application. Default: close at once.
    fn overflow(&mut self, state: &mut Self::ConnState, policy: Overflow, out: &mut Outbox<'_>) {
        let _ = (state, policy);
        out.shutdown();
    }

    /// Whether this connection sits between two HTTP requests, so that a
    /// [`Router`](crate::http::Router) may hand its next request to another route.
    /// Protocols that keep the connection for good (WebSocket, Line) say `false`, the
    /// default; request/response protocols ([`Static`](crate::http::Static)) say `true`
    /// when they consumed every request they were given.
    fn reusable(&self, state: &Self::ConnState) -> bool {
        let _ = state;
        false
    }

    /// Whether the next bytes of this connection are the head of a request: true for a
    /// WebSocket before its handshake, and for a request/response protocol between
    /// requests. Decorators that check requests ([`OriginCheck`](crate::OriginCheck))
    /// check whenever it is true, so every request of a keep-alive connection is checked.
    /// Default: [`reusable`](Protocol::reusable).
    fn awaits_request(&self, state: &Self::ConnState) -> bool {
        self.reusable(state)
    }

    /// A [`Router`](crate::http::Router) serves this protocol under `prefix` (from a route
    /// pattern such as `"/assets/*"`, the prefix is `"/assets/"`); request paths it sees
    /// start with it. Default: ignored.
    fn mount(&mut self, prefix: &str) {
        let _ = prefix;
    }

    /// Where decorators outside this one attach values for the application to find on
    /// its [`Conn`](crate::Conn) ([`Conn::extension`](crate::Conn::extension)); `None` if
    /// this protocol hands the application no `Conn`. Attach before the connection opens:
    /// the application sees what was attached when `on_open` runs.
    fn extensions<'a>(&self, state: &'a mut Self::ConnState) -> Option<&'a mut Extensions> {
        let _ = state;
        None
    }

    /// The server is about to serve: hand the application its handle.
    fn start(&mut self, handle: &Handle) -> Commands {
        let _ = handle;
        Commands::none()
    }

    /// The application's timer `key` fired; `scope` leads to the application it belongs
    /// to (routers pop their route from it).
    fn timer(&mut self, scope: TimerScope, key: u64) -> Commands {
        let _ = (scope, key);
        Commands::none()
    }

    /// Load again what was loaded from files (TLS certificates), keeping what was
    /// loaded if that fails: on SIGHUP with
    /// [`shutdown_on_signals`](crate::Listening::shutdown_on_signals), or
    /// [`Handle::reload`](crate::Handle::reload). Default: nothing.
    fn reload(&mut self) {}

    /// The application asked to close this connection.
    fn close(
        &mut self,
        state: &mut Self::ConnState,
        code: CloseCode,
        reason: &str,
        out: &mut Outbox<'_>,
    );

    /// Adds this layer's counts to a scrape (and those of the protocols it wraps). Called
    /// only when metrics are asked for ([`Outbox::request_scrape`]).
    fn metrics(&self, metrics: &mut Exposition) {
        let _ = metrics;
    }
}

/// One attempt at an outbound connection, as the protocols making it see it
/// ([`Protocol::dial`]).
#[derive(Debug, Clone)]
pub struct Dial {
    /// The key the application chose.
    pub key: u64,
    /// The layer (route, listener) the application that asked is in; each layer pops its
    /// index, as for timers.
    pub scope: TimerScope,
    /// The settings.
    pub connect: Arc<Connect>,
    /// Attempts in a row so far, this one included.
    pub attempt: u32,
    /// When the next attempt is made if this one fails.
    pub retry_in: Option<Duration>,
    /// A TLS layer outside took the connection's `wss://` (set by that layer).
    pub secured: bool,
}

impl Dial {
    /// For a layer that serves several protocols (a router, listeners): the index it
    /// pushed on the way out, and the dial as the protocol at that index sees it; `None`
    /// if nothing was pushed.
    pub fn pop(&self) -> Option<(usize, Dial)> {
        let (index, scope) = self.scope.pop()?;
        Some((
            index,
            Dial {
                scope,
                ..self.clone()
            },
        ))
    }

    /// The error the application hears when this attempt fails with `failure`.
    pub fn error(&self, failure: ConnectFailure) -> ConnectError {
        ConnectError {
            failure,
            url: self.connect.url().to_owned(),
            attempt: self.attempt,
            retry_in: self.retry_in,
        }
    }
}

/// What a protocol needs of the server, for the server to check against its own limits
/// when it is assembled ([`Protocol::limits`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The most input the protocol may leave unconsumed while it waits for the rest (a
    /// request head, a line): the server's read buffer must hold more than this.
    pub max_unconsumed: usize,
    /// The largest message the protocol accepts, and so may be asked to send on.
    pub max_message: usize,
    /// How many routers deep its timers are scoped ([`TimerScope::MAX_DEPTH`] at most).
    pub route_depth: usize,
}

impl Limits {
    /// The larger of each.
    #[must_use]
    pub fn max(self, other: Limits) -> Limits {
        Limits {
            max_unconsumed: self.max_unconsumed.max(other.max_unconsumed),
            max_message: self.max_message.max(other.max_message),
            route_depth: self.route_depth.max(other.route_depth),
        }
    }

    /// Limits with this much unconsumed input.
    #[must_use]
    pub fn with_unconsumed(mut self, bytes: usize) -> Limits {
        self.max_unconsumed = self.max_unconsumed.max(bytes);
        self
    }

    /// Limits with messages this large.
    #[must_use]
    pub fn with_message(mut self, bytes: usize) -> Limits {
        self.max_message = self.max_message.max(bytes);
        self
    }
}

/// The policy for a client that does not read fast enough: one that stays over the
/// server's output budget. Either way, one slow client never grows the server past its
/// limits nor slows the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Overflow {
    /// Close it (1008 for WebSocket), dropping what it has not taken: a client that stays
    /// over the output budget for the server's slow-reader time, or whose output would
    /// pass the hard ceiling. A client that reads, however large the messages, is never
    /// closed.
    #[default]
    Close,
    /// Drop every message that comes while it is over the output budget, and tell the
    /// application (`on_error` with [`Error::Overflow`](crate::Error::Overflow)) once
    /// each time it falls behind (every drop is counted in
    /// [`Stats::dropped_messages`](crate::Stats::dropped_messages)); later messages go
    /// out once it drains. It is never closed for it.
    Drop,
}
