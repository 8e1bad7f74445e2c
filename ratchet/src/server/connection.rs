//! One connection in the server's slab: its socket, its protocol state, its buffers, and
//! where it is in its life.

use super::dials::Attempt;
use super::output::Output;
use crate::command::Topic;
use crate::conn::ConnId;
use crate::protocol::Control;
use std::time::Instant;

/// Where a connection is in its life. Each step only goes forward:
///
/// ```text
/// Open ──(protocol shuts down)──> Closing ──(output written, write side shut)──> Lingering
///   └───(peer shuts its write side)──> PeerClosed ──(output written)──> gone
/// Refused ──(503 written, write side shut)──> Lingering ──(peer's end, or the linger deadline)──> gone
/// Tunnel ──(the proxy's 2xx)──> Open;  Tunnel ──(anything else)──> gone
/// ```
#[derive(Debug)]
pub(crate) enum Phase<S> {
    /// The protocol serves it: input is read and fed, output written.
    Open(S),
    /// The peer shut its write side: what it asked for is still written, then it is gone.
    PeerClosed(S),
    /// The protocol asked to close: the output is written, then the write side shut.
    /// Input is read and discarded; messages to it are dropped.
    Closing(S),
    /// Refused at the connection cap: the refusal is written, then the write side shut.
    Refused,
    /// The write side is shut and the protocol and the application are done with it;
    /// input is read and discarded until the peer's end or the linger deadline, so that
    /// the peer reads our last bytes rather than a reset.
    Lingering,
    /// An outbound connection to an HTTP proxy (at the address held), waiting for its
    /// answer to `CONNECT`: the protocol makes its state once the tunnel is up.
    Tunnel(Box<(Attempt, std::net::SocketAddr)>),
}

impl<S> Phase<S> {
    /// The protocol's state, while the protocol has the connection.
    pub fn state_mut(&mut self) -> Option<&mut S> {
        match self {
            Phase::Open(s) | Phase::PeerClosed(s) | Phase::Closing(s) => Some(s),
            Phase::Refused | Phase::Lingering | Phase::Tunnel(_) => None,
        }
    }

    /// Whether it waits for its proxy's tunnel.
    pub fn is_tunnel(&self) -> bool {
        matches!(self, Phase::Tunnel(_))
    }

    /// Whether the protocol still has the connection.
    pub fn has_state(&self) -> bool {
        matches!(
            self,
            Phase::Open(_) | Phase::PeerClosed(_) | Phase::Closing(_)
        )
    }

    /// Takes the protocol's state: the connection ends for the protocol.
    pub fn end(&mut self) -> Option<S> {
        match std::mem::replace(self, Phase::Lingering) {
            Phase::Open(s) | Phase::PeerClosed(s) | Phase::Closing(s) => Some(s),
            Phase::Refused | Phase::Lingering | Phase::Tunnel(_) => None,
        }
    }

    /// The protocol's state, if messages may still be queued for the connection.
    pub fn messages_state_mut(&mut self) -> Option<&mut S> {
        match self {
            Phase::Open(s) | Phase::PeerClosed(s) => Some(s),
            _ => None,
        }
    }

    /// Whether messages may still be queued for it.
    pub fn takes_messages(&self) -> bool {
        matches!(self, Phase::Open(_) | Phase::PeerClosed(_))
    }

    /// Whether its input is handed to the protocol.
    pub fn is_open(&self) -> bool {
        matches!(self, Phase::Open(_))
    }

    /// The protocol asked to shut down: Open becomes Closing (a half-closed connection
    /// closes once written anyway).
    pub fn close(&mut self) {
        if matches!(self, Phase::Open(_)) {
            if let Phase::Open(s) = std::mem::replace(self, Phase::Lingering) {
                *self = Phase::Closing(s);
            }
        }
    }

    /// The peer shut its write side: Open becomes PeerClosed.
    pub fn peer_closed(&mut self) {
        if matches!(self, Phase::Open(_)) {
            if let Phase::Open(s) = std::mem::replace(self, Phase::Lingering) {
                *self = Phase::PeerClosed(s);
            }
        }
    }
}

/// A connection's waiting output against its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backlog {
    /// Within the budget.
    Within,
    /// Over it: reading is paused, and the slow-reader clock runs (`Overflow::Close`).
    Over,
    /// Over it, and the protocol was told a message was dropped (`Overflow::Drop`): it
    /// is not told again until the connection gets back within its budget, so a reaction
    /// to the drop cannot feed on itself.
    Dropping,
}

impl Backlog {
    pub fn is_over(self) -> bool {
        self != Backlog::Within
    }
}

/// A connection as the server holds it.
#[derive(Debug)]
pub(crate) struct Connection<S, T> {
    pub id: ConnId,
    pub stream: T,
    pub phase: Phase<S>,
    /// Bytes read but not consumed by the protocol yet.
    pub input: Vec<u8>,
    /// Bytes waiting to be written.
    pub output: Output,
    /// What the protocol asked for.
    pub control: Control,
    /// The deadline in the server's heap.
    pub armed: Option<Instant>,
    /// Bytes its messages in progress hold (its share of the inbound budget).
    pub inbound_held: usize,
    /// Where its output stands against its budget.
    pub backlog: Backlog,
    /// It is in the list of connections to write to.
    pub scheduled: bool,
    /// The socket may take more (false from a write that would block until the poller
    /// says it is writable again).
    pub writable: bool,
    /// The topics it is subscribed to.
    pub topics: Vec<Topic>,
}

impl<S, T> Connection<S, T> {
    pub fn new(id: ConnId, stream: T, phase: Phase<S>) -> Self {
        Connection {
            id,
            stream,
            phase,
            input: Vec::new(),
            output: Output::default(),
            control: Control::default(),
            armed: None,
            inbound_held: 0,
            backlog: Backlog::Within,
            scheduled: false,
            writable: true,
            topics: Vec::new(),
        }
    }
}
