//! The byte-level interface between the server and the protocol decorator it serves.

use crate::command::{Command, Commands, IntoCommands, TimerScope};
use crate::conn::{ConnId, Extensions};
use crate::error::ConfigError;
use crate::handle::Handle;
use crate::message::Payload;
use crate::outbound::{Connect, ConnectError, ConnectFailure, DialOutcome};
use crate::request::Request;
use crate::CloseCode;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

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

    /// The application asked to connect out ([`Command::connect`]): the state of an
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

/// What a protocol hands back to the server while handling one connection's event:
/// bytes for that connection, commands for any, and the connection's fate.
#[derive(Debug)]
pub struct Outbox<'a> {
    conn: ConnId,
    now: Instant,
    output: &'a mut Vec<u8>,
    /// `output.len()` when the event began.
    output_start: usize,
    commands: &'a mut Vec<Command>,
    control: &'a mut Control,
    /// Bytes waiting to be written to the connection when the event began.
    pending: usize,
    /// The connection's output budget.
    budget: usize,
    inbound: &'a mut Inbound,
    /// A command closing this connection was queued during this event.
    close_requested: bool,
    /// The request head at the start of the bytes this call was handed, parsed by the
    /// first layer that read it: (where those bytes start, the request, its length).
    request: Option<(usize, Arc<Request>, usize)>,
}

/// The per-connection requests a protocol makes of the server.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Control {
    /// Close the socket once the output is written.
    pub shutdown: bool,
    /// Call [`Protocol::timeout`] at this instant.
    pub deadline: Option<Instant>,
    /// Call [`Protocol::drained`] when the output goes below half the budget.
    pub notify_drained: bool,
    /// The protocol stopped short to let others have the loop: offer its input again
    /// next turn, not now.
    pub resume: bool,
}

/// One connection's share of the server-wide budget for messages in progress.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Inbound {
    /// What its messages in progress hold, as last reported.
    pub held: usize,
    /// The most they may hold: `held` plus what is left of the server's budget.
    pub allowance: usize,
}

impl Inbound {
    /// No budget (for tests that drive a protocol by hand).
    #[cfg(test)]
    pub fn unlimited() -> Self {
        Inbound {
            held: 0,
            allowance: usize::MAX,
        }
    }
}

/// A far future for deadlines that would not fit in an `Instant`.
const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `now + after`, saturating at a century from now instead of panicking.
pub(crate) fn deadline_after(now: Instant, after: Duration) -> Instant {
    now.checked_add(after.min(FAR)).unwrap_or(now)
}

impl<'a> Outbox<'a> {
    pub(crate) fn new(
        conn: ConnId,
        now: Instant,
        output: &'a mut Vec<u8>,
        commands: &'a mut Vec<Command>,
        control: &'a mut Control,
        inbound: &'a mut Inbound,
    ) -> Self {
        let output_start = output.len();
        Outbox {
            conn,
            now,
            output,
            output_start,
            commands,
            control,
            pending: 0,
            budget: usize::MAX,
            inbound,
            close_requested: false,
            request: None,
        }
    }

    /// Notes how many bytes were waiting to be written when the event began, and the
    /// budget they count against.
    pub(crate) fn with_pending(mut self, pending: usize, budget: usize) -> Self {
        self.pending = pending;
        self.budget = budget;
        self
    }

    /// How many bytes were waiting to be written to this connection when the event began
    /// (what the client has not taken yet).
    pub fn pending_output(&self) -> usize {
        self.pending
    }

    /// How many more bytes fit in the connection's output budget now. A protocol that
    /// writes much (a file) writes this much, asks for [`notify_drained`] and writes the
    /// rest as the client takes it.
    ///
    /// [`notify_drained`]: Outbox::notify_drained
    pub fn room(&self) -> usize {
        let queued = self.pending + (self.output.len() - self.output_start);
        self.budget.saturating_sub(queued)
    }

    /// The connection this event is about.
    pub fn conn(&self) -> ConnId {
        self.conn
    }

    /// The time the event loop woke up.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// `now() + after`, saturating (a `Duration::MAX` timeout is "never", not a panic).
    pub fn after(&self, after: Duration) -> Instant {
        deadline_after(self.now, after)
    }

    /// The connection's pending output, to append bytes to (they go out in order, before
    /// anything the commands of this event add).
    pub fn output(&mut self) -> &mut Vec<u8> {
        self.output
    }

    /// Queues commands for the server; they run in order after this event.
    pub fn commands(&mut self, cmds: impl IntoCommands) {
        let conn = self.conn;
        for cmd in cmds.into_commands() {
            if matches!(&cmd, Command::Close { conn: c, .. } if *c == conn) {
                self.close_requested = true;
            }
            self.commands.push(cmd);
        }
    }

    /// Whether a command closing this connection was queued during this event: a
    /// protocol stops handing the application messages from the same read.
    pub fn close_requested(&self) -> bool {
        self.close_requested
    }

    /// Where the next command queued will go, for [`commands_since`](Outbox::commands_since).
    pub(crate) fn command_mark(&self) -> usize {
        self.commands.len()
    }

    /// The commands queued since `mark`.
    pub(crate) fn commands_since(&mut self, mark: usize) -> &mut [Command] {
        &mut self.commands[mark..]
    }

    /// Asks the server to close the socket once its output is written.
    pub fn shutdown(&mut self) {
        self.control.shutdown = true;
    }

    /// Whether a shutdown was asked for.
    pub fn is_shutting_down(&self) -> bool {
        self.control.shutdown
    }

    /// Asks for [`Protocol::timeout`] at `at` (replacing any earlier deadline), or for none.
    pub fn set_deadline(&mut self, at: Option<Instant>) {
        self.control.deadline = at;
    }

    /// The deadline asked for so far, if any: a decorator with a deadline of its own sets
    /// the earlier of the two and remembers the inner one.
    pub fn deadline(&self) -> Option<Instant> {
        self.control.deadline
    }

    /// Asks for [`Protocol::drained`] once the output goes below half the budget.
    pub fn notify_drained(&mut self) {
        self.control.notify_drained = true;
    }

    /// Says the protocol stopped before taking all it was offered because it did its
    /// share of work for this loop turn (inflating a large message, say): the server
    /// offers the rest again next turn, after the other connections had theirs, and reads
    /// no more from this connection meanwhile. A decorator that holds input itself offers
    /// it from [`Protocol::wake`].
    pub fn yield_turn(&mut self) {
        self.control.resume = true;
    }

    /// Whether the protocol inside yielded this turn ([`yield_turn`](Outbox::yield_turn)):
    /// a decorator that offers its input again in a loop stops offering.
    pub fn has_yielded(&self) -> bool {
        self.control.resume
    }

    /// The most bytes this connection's messages in progress may hold in all (what it
    /// holds plus what is left of the server-wide inbound budget). A decoder that would
    /// need more refuses the message ([`ProtocolError::Busy`](crate::ProtocolError::Busy)).
    pub fn inbound_allowance(&self) -> usize {
        self.inbound.allowance
    }

    /// Reports how many bytes this connection's messages in progress hold now (message
    /// buffers, inflated bytes): they count against the server-wide inbound budget.
    pub fn hold_inbound(&mut self, bytes: usize) {
        self.inbound.held = bytes;
    }

    /// The request head at the start of `data`, if a layer of this event parsed it
    /// already (layers parse a head once and share it this way), with its length.
    pub fn request_at(&self, data: &[u8]) -> Option<(Arc<Request>, usize)> {
        match &self.request {
            Some((at, req, len)) if *at == data.as_ptr() as usize => Some((req.clone(), *len)),
            _ => None,
        }
    }

    /// Runs `f` with an outbox whose bytes go to `output` instead of the connection
    /// (commands, deadlines and the rest still reach the server): for a decorator that
    /// transforms what the protocol inside it writes (TLS encrypts it). The budget counts
    /// what this outbox already holds.
    pub fn redirect<T>(&mut self, output: &mut Vec<u8>, f: impl FnOnce(&mut Outbox<'_>) -> T) -> T {
        let mut inner = Outbox {
            conn: self.conn,
            now: self.now,
            output_start: output.len(),
            output,
            commands: &mut *self.commands,
            control: &mut *self.control,
            pending: self.pending + (self.output.len() - self.output_start),
            budget: self.budget,
            inbound: &mut *self.inbound,
            close_requested: self.close_requested,
            request: self.request.take(),
        };
        let result = f(&mut inner);
        self.close_requested = inner.close_requested;
        self.request = inner.request;
        result
    }

    /// Shares the parsed head of the request at the start of `data` with the layers
    /// inside this one (see [`request_at`](Outbox::request_at)).
    pub fn share_request(&mut self, data: &[u8], request: Arc<Request>, head_len: usize) {
        self.request = Some((data.as_ptr() as usize, request, head_len));
    }
}
