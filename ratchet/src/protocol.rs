//! The byte-level interface between the server and the protocol decorator it serves.

use crate::command::{Command, Commands, IntoCommands};
use crate::conn::ConnId;
use crate::message::Payload;
use crate::CloseCode;
use std::net::SocketAddr;
use std::time::Instant;

/// A protocol decorator as the server sees it: bytes in, bytes and commands out.
///
/// [`WebSocket`](crate::WebSocket) and [`Line`](crate::Line) implement it around a
/// [`Component`](crate::Component). Implementations know nothing about sockets: the
/// server reads, calls [`data`](Protocol::data) with what it read, and writes what the
/// protocol put in the [`Outbox`].
pub trait Protocol {
    /// Per-connection state, kept in the server's slab beside the socket.
    type ConnState;

    /// A peer is knocking: `false` drops its connection at once, before anything is read
    /// from it or [`connect`](Protocol::connect) runs. Default: everyone is welcome.
    fn accept(&mut self, peer: SocketAddr) -> bool {
        let _ = peer;
        true
    }

    /// A connection was accepted.
    fn connect(&mut self, id: ConnId, peer: SocketAddr, out: &mut Outbox<'_>) -> Self::ConnState;

    /// Bytes arrived. Returns how many were consumed; the server offers the rest again at
    /// once, until the protocol consumes nothing, then keeps it and hands it back followed
    /// by the next read. The protocol may modify `data` in place
    /// (e.g. to unmask it).
    fn data(&mut self, state: &mut Self::ConnState, data: &mut [u8], out: &mut Outbox<'_>)
        -> usize;

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

    /// A message to this connection did not fit under the server's limit on pending
    /// output and was dropped. With [`Overflow::Close`](crate::server::Overflow::Close)
    /// the protocol should close the connection; with `Drop`, tell the application.
    fn overflow(
        &mut self,
        state: &mut Self::ConnState,
        policy: crate::server::Overflow,
        out: &mut Outbox<'_>,
    ) {
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
    fn extensions<'a>(
        &self,
        state: &'a mut Self::ConnState,
    ) -> Option<&'a mut crate::conn::Extensions> {
        let _ = state;
        None
    }

    /// The server is about to serve: hand the application its handle.
    fn start(&mut self, handle: &crate::Handle) -> Commands {
        let _ = handle;
        Commands::none()
    }

    /// The application's timer `key` fired: hand it to the application.
    fn timer(&mut self, key: u64) -> Commands {
        let _ = key;
        Commands::none()
    }

    /// The application asked to close this connection.
    fn close(
        &mut self,
        state: &mut Self::ConnState,
        code: CloseCode,
        reason: &str,
        out: &mut Outbox<'_>,
    );
}

/// What a protocol hands back to the server while handling one connection's event:
/// bytes for that connection, commands for any, and the connection's fate.
#[derive(Debug)]
pub struct Outbox<'a> {
    conn: ConnId,
    now: Instant,
    output: &'a mut Vec<u8>,
    commands: &'a mut Vec<Command>,
    control: &'a mut Control,
    /// Bytes waiting to be written to the connection when the event began.
    pending: usize,
}

/// The per-connection requests a protocol makes of the server.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Control {
    /// Close the socket once the output is written.
    pub shutdown: bool,
    /// Call [`Protocol::timeout`] at this instant.
    pub deadline: Option<Instant>,
}

impl<'a> Outbox<'a> {
    pub(crate) fn new(
        conn: ConnId,
        now: Instant,
        output: &'a mut Vec<u8>,
        commands: &'a mut Vec<Command>,
        control: &'a mut Control,
    ) -> Self {
        Outbox {
            conn,
            now,
            output,
            commands,
            control,
            pending: 0,
        }
    }

    /// Notes how many bytes were waiting to be written when the event began.
    pub(crate) fn with_pending(mut self, pending: usize) -> Self {
        self.pending = pending;
        self
    }

    /// How many bytes were waiting to be written to this connection when the event began
    /// (what the client has not taken yet).
    pub fn pending_output(&self) -> usize {
        self.pending
    }

    /// The connection this event is about.
    pub fn conn(&self) -> ConnId {
        self.conn
    }

    /// The time the event loop woke up.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The connection's pending output, to append bytes to (they go out in order, before
    /// anything the commands of this event add).
    pub fn output(&mut self) -> &mut Vec<u8> {
        self.output
    }

    /// Queues commands for the server; they run in order after this event.
    pub fn commands(&mut self, cmds: impl IntoCommands) {
        let cmds: Commands = cmds.into_commands();
        self.commands.extend(cmds);
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
}
