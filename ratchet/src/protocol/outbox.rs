//! What a protocol is handed for one connection's event: the connection's output, the
//! command queue, its budgets, and the requests it makes of the server.

use crate::command::{Command, IntoCommands};
use crate::conn::ConnId;
use crate::request::Request;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// The server's metrics, rendered for this call because the protocol asked for them.
    scrape: Option<&'a str>,
}

/// The per-connection requests a protocol makes of the server.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Control {
    /// Close the socket once the output is written.
    pub shutdown: bool,
    /// Call [`Protocol::timeout`](super::Protocol::timeout) at this instant.
    pub deadline: Option<Instant>,
    /// Call [`Protocol::drained`](super::Protocol::drained) when the output goes below half the budget.
    pub notify_drained: bool,
    /// The protocol stopped short to let others have the loop: offer its input again
    /// next turn, not now.
    pub resume: bool,
    /// Render the server's metrics for the protocol's next call on this connection.
    pub scrape: bool,
    /// Whether the protocol holds its input, and what follows from it (see [`Hold`]).
    pub hold: Hold,
}

/// How a connection's input is held, in one byte of flags.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hold(u8);

impl Hold {
    /// The protocol holds its input until something outside the loop is done (the
    /// door's answer, the app thread's handling of a message): what is read meanwhile
    /// waits, and the peer's end waits behind it.
    pub const PAUSED: u8 = 1;
    /// While paused, reading stops at half the read buffer (the peer is slowed by TCP)
    /// rather than going on until the connection is dropped for flooding.
    pub const BACKPRESSURE: u8 = 2;
    /// The socket was readable while reading was held back: read it when woken.
    pub const MISSED: u8 = 4;
    /// The peer's end came while the input was held: acted on once it is taken.
    pub const EOF: u8 = 8;
    /// The connection is failing: the protocol takes every held message now (its
    /// answers go nowhere, but what it asks of others is done).
    pub const DRAINING: u8 = 16;

    pub fn has(self, flag: u8) -> bool {
        self.0 & flag != 0
    }

    pub fn set(&mut self, flag: u8, on: bool) {
        if on {
            self.0 |= flag;
        } else {
            self.0 &= !flag;
        }
    }

    /// Takes `flag`: whether it was set.
    pub fn take(&mut self, flag: u8) -> bool {
        let was = self.has(flag);
        self.set(flag, false);
        was
    }
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
            scrape: None,
        }
    }

    /// Hands this call the server's metrics, rendered at the protocol's request.
    pub(crate) fn with_scrape(mut self, scrape: Option<&'a str>) -> Self {
        self.scrape = scrape;
        self
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

    /// Asks for the server's metrics: the input this call leaves is offered again next
    /// loop turn, and that call finds every layer's metrics, rendered in the Prometheus
    /// text format, in [`scrape`](Outbox::scrape). (They cannot be rendered now: this
    /// call is inside the layers that count.) What [`Metrics`] does for a scrape.
    ///
    /// [`Metrics`]: crate::metrics::Metrics
    pub fn request_scrape(&mut self) {
        self.control.scrape = true;
        self.control.resume = true;
    }

    /// The server's metrics in the Prometheus text format, in the call that follows
    /// [`request_scrape`](Outbox::request_scrape).
    pub fn scrape(&self) -> Option<&'a str> {
        self.scrape
    }

    /// Asks the server to close the socket once its output is written.
    pub fn shutdown(&mut self) {
        self.control.shutdown = true;
    }

    /// Whether a shutdown was asked for.
    pub fn is_shutting_down(&self) -> bool {
        self.control.shutdown
    }

    /// Asks for [`Protocol::timeout`](super::Protocol::timeout) at `at` (replacing any earlier deadline), or for none.
    pub fn set_deadline(&mut self, at: Option<Instant>) {
        self.control.deadline = at;
    }

    /// The deadline asked for so far, if any: a decorator with a deadline of its own sets
    /// the earlier of the two and remembers the inner one.
    pub fn deadline(&self) -> Option<Instant> {
        self.control.deadline
    }

    /// Asks for [`Protocol::drained`](super::Protocol::drained) once the output goes below half the budget.
    pub fn notify_drained(&mut self) {
        self.control.notify_drained = true;
    }

    /// Says the protocol stopped before taking all it was offered because it did its
    /// share of work for this loop turn (inflating a large message, say): the server
    /// offers the rest again next turn, after the other connections had theirs, and reads
    /// no more from this connection meanwhile. A decorator that holds input itself offers
    /// it from [`Protocol::wake`](super::Protocol::wake).
    pub fn yield_turn(&mut self) {
        self.control.resume = true;
    }

    /// The protocol holds the rest of its input until it is woken (its input offered
    /// again): it waits for something outside the loop before it takes more. The server
    /// keeps reading, within bounds, and keeps the peer's end until the input is taken.
    pub(crate) fn pause_input(&mut self) {
        self.control
            .hold
            .set(Hold::PAUSED | Hold::BACKPRESSURE, true);
    }

    /// The protocol waits for something outside the loop (a door's answer) before it
    /// takes its input: the peer's end waits behind it, but what the peer sends meanwhile
    /// is still read, up to the read buffer, past which the connection is dropped (a
    /// client that may not send yet does not slow the server, it is cut off).
    pub(crate) fn await_input(&mut self) {
        self.control.hold.set(Hold::PAUSED, true);
    }

    /// Whether the connection is failing and its held input must be taken now, nothing
    /// waiting any more.
    pub(crate) fn draining(&self) -> bool {
        self.control.hold.has(Hold::DRAINING)
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
            scrape: self.scrape,
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
