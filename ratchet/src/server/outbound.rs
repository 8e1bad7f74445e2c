//! Connecting out: the loop resolves an attempt's host (off the loop, unless it is an
//! address), connects a non-blocking socket, and the core makes it a connection whose
//! protocol speaks in its client role; through an HTTP proxy, once the proxy has made the
//! tunnel. What the protocol writes waits until the socket is connected; a socket that
//! fails to connect is reported like any failed socket.

use super::connection::{Connection, Phase};
use super::core::Core;
use super::dials::Attempt;
use super::event_loop::Loop;
use super::transport::Transport;
use crate::command::DialKey;
use crate::outbound::{tunnel, ConnectFailure, DialOutcome};
use crate::protocol::{deadline_after, Protocol};
use mio::{Interest, Token};
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// Host names resolved at once, each on a thread of its own; later attempts wait their
/// turn, in order.
const MAX_RESOLVING: usize = 16;

/// How long a proxy has to answer `CONNECT`.
const TUNNEL_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest answer head a proxy may send.
const MAX_TUNNEL_HEAD: usize = 8 << 10;

impl<P: Protocol, T: Transport> Core<P, T> {
    /// The attempts due now.
    pub fn take_dials(&mut self) -> Vec<Attempt> {
        if self.dials.is_empty() {
            return Vec::new();
        }
        self.dials.take_due(self.now)
    }

    /// Whether an answer for `key`'s attempt `generation` is still wanted.
    pub fn dial_wanted(&self, key: DialKey, generation: u64) -> bool {
        self.dials.is_current(key, generation)
    }

    /// An attempt's socket is connecting to `peer` (the URL's host, or its proxy), in the
    /// slot [`vacant_slot`](Core::vacant_slot) named. Through a proxy, the tunnel is asked
    /// for first; then the protocol makes its client state.
    pub fn open_outbound(&mut self, stream: T, peer: SocketAddr, attempt: Attempt) {
        let id = self.next_id();
        let slot = self.place.local(id);
        let mut c = Connection::new(id, stream, Phase::Lingering);
        c.writable = false; // until the poller says it is connected
        self.dials.attach(attempt.key, id);
        let proxied = attempt.dial.connect.proxied().is_some();
        match attempt.dial.connect.target() {
            Ok(target) if proxied => {
                tunnel::write_connect(target, c.output.tail(&mut self.pool));
                c.control.deadline = Some(deadline_after(self.now, TUNNEL_TIMEOUT));
                c.phase = Phase::Tunnel(Box::new((attempt, peer)));
                self.conns.insert(c);
                self.count_connections();
                self.settle(slot);
            }
            _ => {
                self.conns.insert(c);
                self.dial_in(slot, peer, attempt);
            }
        }
    }

    /// The protocol makes the state of outbound connection `slot`, whose socket is
    /// connected (or connecting) to `peer`, with nothing in between.
    fn dial_in(&mut self, slot: usize, peer: SocketAddr, attempt: Attempt) {
        let Some(id) = self.conns.get(slot).map(|c| c.id) else {
            return;
        };
        let made = self.with_outbox(slot, |protocol, phase, out| {
            match protocol.dial(id, &attempt.dial, peer, out) {
                Some(state) => {
                    *phase = Phase::Open(state);
                    true
                }
                None => false,
            }
        });
        if made == Some(true) {
            self.count_connections();
            self.execute();
            return;
        }
        // No client role: the connection never was.
        self.remove(slot);
        self.dials.ended(id, DialOutcome::Failed, self.now);
        let failure = ConnectFailure::Unsupported("no protocol here connects out".into());
        self.report_dial(attempt, failure);
    }

    /// The proxy sent `read_buf[..total]` (with what was kept of its answer before): once
    /// it says the tunnel is up, the protocol has the connection, and what followed the
    /// answer.
    pub(super) fn tunnel_answer(&mut self, slot: usize, total: usize) {
        let len = match tunnel::read_answer(&self.read_buf[..total], MAX_TUNNEL_HEAD) {
            Ok(Some(len)) => len,
            Ok(None) => {
                if let Some(c) = self.conns.get_mut(slot) {
                    c.input.clear();
                    c.input.extend_from_slice(&self.read_buf[..total]);
                }
                return;
            }
            Err(failure) => return self.drop_conn_because(slot, || failure),
        };
        let Some(c) = self.conns.get_mut(slot) else {
            return;
        };
        let Phase::Tunnel(tunnel) = std::mem::replace(&mut c.phase, Phase::Lingering) else {
            return;
        };
        c.input.clear();
        c.control.deadline = None;
        let (attempt, peer) = *tunnel;
        self.dial_in(slot, peer, attempt);
        if total > len {
            // The server's first bytes, if it spoke at once.
            self.read_buf.copy_within(len..total, 0);
            self.feed(slot, total - len);
        }
    }

    /// An attempt failed before it had a socket: the application hears why.
    pub fn dial_failed(&mut self, attempt: Attempt, failure: ConnectFailure) {
        self.dials.failed_early(attempt.key, self.now);
        self.report_dial(attempt, failure);
    }

    pub(super) fn report_dial(&mut self, attempt: Attempt, failure: ConnectFailure) {
        let id = self.next_id();
        let error = attempt.dial.error(failure);
        let cmds = self.protocol.dial_failed(id, &attempt.dial, error);
        self.commands.extend(cmds);
        self.execute();
    }
}

impl<P: Protocol> Loop<P> {
    /// Starts the attempts that are due: an address is connected at once; a name is
    /// resolved on a thread of its own (at most [`MAX_RESOLVING`] at a time), and
    /// connected when its answer comes back.
    pub(super) fn dial_due(&mut self) {
        for attempt in self.core.take_dials() {
            let connect = &attempt.dial.connect;
            let target = match connect.target().and_then(|_| connect.socket_target()) {
                Ok(target) => target.clone(),
                Err(failure) => {
                    self.core.dial_failed(attempt, failure);
                    continue;
                }
            };
            match target.host.parse::<IpAddr>() {
                Ok(ip) => self.connect_to(attempt, &[SocketAddr::new(ip, target.port)]),
                Err(_) => self.to_resolve.push_back(attempt),
            }
        }
        while self.resolving.len() < MAX_RESOLVING {
            let Some(attempt) = self.to_resolve.pop_front() else {
                break;
            };
            if !self.core.dial_wanted(attempt.key, attempt.generation) {
                continue;
            }
            self.resolve(attempt);
        }
    }

    /// Resolves `attempt`'s host on a thread of its own.
    fn resolve(&mut self, attempt: Attempt) {
        let Ok(target) = attempt.dial.connect.socket_target().cloned() else {
            return;
        };
        let handle = self.handle.clone();
        let (key, generation) = (attempt.key, attempt.generation);
        let spawned = std::thread::Builder::new()
            .name("ratchet-resolve".into())
            .spawn(move || {
                let addrs = (target.host.as_str(), target.port)
                    .to_socket_addrs()
                    .map(Iterator::collect);
                handle.resolved(key, generation, addrs);
            });
        match spawned {
            Ok(_) => {
                self.resolving.insert((key, generation), attempt);
            }
            Err(e) => self
                .core
                .dial_failed(attempt, ConnectFailure::Dns(e.to_string())),
        }
    }

    /// A name resolved (or did not).
    pub(super) fn resolved(
        &mut self,
        key: DialKey,
        generation: u64,
        addrs: io::Result<Vec<SocketAddr>>,
    ) {
        let Some(attempt) = self.resolving.remove(&(key, generation)) else {
            return;
        };
        self.dial_due(); // the next name waiting, if any
        if !self.core.dial_wanted(key, generation) {
            return;
        }
        match addrs {
            Ok(addrs) if !addrs.is_empty() => self.connect_to(attempt, &addrs),
            Ok(_) => self
                .core
                .dial_failed(attempt, ConnectFailure::Dns("no address".into())),
            Err(e) => self
                .core
                .dial_failed(attempt, ConnectFailure::Dns(e.to_string())),
        }
    }

    /// Connects to one of `addrs`: the first IPv4 address, else the first (a name that
    /// resolves to both families is most often served on both, and on IPv4 at least).
    fn connect_to(&mut self, attempt: Attempt, addrs: &[SocketAddr]) {
        if self.stopping.is_some() {
            return;
        }
        let addr = addrs
            .iter()
            .find(|a| a.is_ipv4())
            .unwrap_or(&addrs[0])
            .to_owned();
        if self.core.at_capacity() {
            let failure = ConnectFailure::Io("at the server's connection cap".into());
            self.core.dial_failed(attempt, failure);
            return;
        }
        let slot = self.core.vacant_slot();
        let stream = mio::net::TcpStream::connect(addr).and_then(|mut stream| {
            stream.set_nodelay(true)?;
            self.poll.registry().register(
                &mut stream,
                Token(slot),
                Interest::READABLE | Interest::WRITABLE,
            )?;
            Ok(stream)
        });
        match stream {
            Ok(stream) => self.core.open_outbound(stream, addr, attempt),
            Err(e) => self.core.dial_failed(attempt, ConnectFailure::from_io(&e)),
        }
    }
}
