//! A server without sockets: the server's own core, in-memory connections, and a clock
//! the test moves.

use super::pipe::Pipe;
use crate::conn::ConnId;
use crate::error::ConfigError;
use crate::handle::{Handle, Request, Stats, Wake};
use crate::protocol::Protocol;
use crate::server::{Config, Core};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A [`Protocol`] stack served by the server's core over in-memory connections, with a
/// clock that only moves when the test says: what a test needs to drive handshakes,
/// pipelined requests, slow readers, deadlines and timers deterministically, and to write
/// a decorator test-first.
///
/// ```
/// use ratchet::testing::Simulation;
/// use ratchet::{Commands, Component, Conn, IntoCommands, Line, Message};
/// use std::time::Duration;
///
/// struct Shout;
/// impl Component for Shout {
///     fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
///         from.send(msg.as_text().unwrap_or("").to_uppercase())
///     }
/// }
///
/// let mut sim = Simulation::new(Line::new(Shout), Default::default())?;
/// let alice = sim.connect();
/// sim.send(&alice, b"hello\n");
/// assert_eq!(sim.take(&alice), b"HELLO\n");
/// sim.advance(Duration::from_secs(60));
/// assert!(!sim.is_closed(&alice));
/// # Ok::<(), ratchet::ConfigError>(())
/// ```
pub struct Simulation<P: Protocol> {
    core: Core<P, Pipe>,
    handle: Handle,
    now: Instant,
    requests: VecDeque<Request>,
    next_port: u16,
}

impl<P: Protocol> std::fmt::Debug for Simulation<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("connections", &self.core.len())
            .finish_non_exhaustive()
    }
}

/// The client end of a simulated connection.
#[derive(Debug, Clone)]
pub struct Client {
    slot: usize,
    id: Option<ConnId>,
    pipe: Pipe,
}

impl<P: Protocol> Simulation<P> {
    /// Serves `protocol` with the server limits `config`, checked as
    /// [`Server::bind`](crate::Server::bind) checks them, and starts it.
    pub fn new(protocol: P, config: Config) -> Result<Self, ConfigError> {
        let valid = config.validate(protocol.limits()?)?;
        let (requests, bytes) = valid.handle_queue();
        let wake: Wake = Box::new(|| Ok(()));
        let handle = Handle::new(wake, requests, bytes);
        let mut core = Core::new(protocol, valid, None, handle.clone());
        let now = Instant::now();
        core.set_now(now);
        let mut sim = Simulation {
            core,
            handle,
            now,
            requests: VecDeque::new(),
            next_port: 40000,
        };
        sim.core.start();
        sim.step();
        Ok(sim)
    }

    /// A client connects from 127.0.0.1 and reads whatever it is sent.
    pub fn connect(&mut self) -> Client {
        self.next_port = self.next_port.wrapping_add(1).max(1024);
        let peer = SocketAddr::from(([127, 0, 0, 1], self.next_port));
        self.connect_from(peer)
            .expect("the protocol accepts 127.0.0.1")
    }

    /// A client connects from `peer`; `None` if the protocol refuses it at accept.
    pub fn connect_from(&mut self, peer: SocketAddr) -> Option<Client> {
        if !self.core.protocol_mut().accept(peer) {
            return None;
        }
        let pipe = Pipe::new(usize::MAX);
        let slot = self.core.vacant_slot();
        let id = if self.core.at_capacity() {
            self.core.refuse(pipe.clone(), peer);
            None
        } else {
            Some(self.core.open(pipe.clone(), peer))
        };
        self.step();
        Some(Client { slot, id, pipe })
    }

    /// The client sends `bytes` (they arrive in one read).
    pub fn send(&mut self, client: &Client, bytes: &[u8]) {
        client.pipe.send(bytes);
        if !client.pipe.is_dropped() {
            self.core.readable(client.slot);
        }
        self.step();
    }

    /// What the server wrote to the client since the last call.
    pub fn take(&mut self, client: &Client) -> Vec<u8> {
        client.pipe.take()
    }

    /// From now on the client takes at most `bytes` more (0: it stops reading;
    /// `usize::MAX`: it reads everything), and the server writes what fits.
    pub fn set_window(&mut self, client: &Client, bytes: usize) {
        client.pipe.set_window(bytes);
        if !client.pipe.is_dropped() {
            self.core.writable(client.slot);
        }
        self.step();
    }

    /// The client shuts its write side (the server reads its end).
    pub fn close(&mut self, client: &Client) {
        client.pipe.close();
        if !client.pipe.is_dropped() {
            self.core.readable(client.slot);
        }
        self.step();
    }

    /// Whether the server closed the connection (shut its write side, or let it go).
    pub fn is_closed(&self, client: &Client) -> bool {
        client.pipe.is_shut() || client.pipe.is_dropped()
    }

    /// Whether the server let go of the connection entirely.
    pub fn is_gone(&self, client: &Client) -> bool {
        client.pipe.is_dropped()
    }

    /// The connection's id (`None` for one refused at the connection cap).
    pub fn id(&self, client: &Client) -> Option<ConnId> {
        client.id
    }

    /// Moves the clock on, firing what falls due.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        self.step();
    }

    /// The simulated time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// A handle into the simulated server; what is sent through it is carried out at the
    /// next step (any call that moves the simulation).
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// What the server holds.
    pub fn stats(&self) -> Stats {
        self.handle.stats()
    }

    /// The protocol stack served.
    pub fn protocol(&self) -> &P {
        self.core.protocol()
    }

    /// Asks the protocol to close every connection, as a server shutting down does.
    pub fn close_all(&mut self) {
        self.core.close_all();
        self.step();
    }

    /// Carries out what the handle was asked, then one loop turn, until nothing is left
    /// to do at this instant.
    pub fn step(&mut self) {
        self.core.set_now(self.now);
        loop {
            self.handle.take(&mut self.requests);
            for request in self.requests.drain(..) {
                match request {
                    Request::Shutdown => self.core.close_all(),
                    request => self.core.request(request),
                }
            }
            self.core.turn();
            let idle = self
                .core
                .next_timeout(self.now)
                .is_none_or(|t| !t.is_zero());
            if idle && self.handle.is_idle() {
                return;
            }
        }
    }
}
