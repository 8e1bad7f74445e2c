//! The server's core: connections in a slab, and the one place the protocol is called for
//! one of them. It does no polling: the event loop (or a test) tells it what the sockets
//! are ready for, and it reads, feeds, writes and carries out commands.

use super::bridge::Bridge;
use super::config::{Valid, BUSY_RESERVE};
use super::connection::{Backlog, Connection, Phase};
use super::dials::Dials;
use super::execute::Frames;
use super::metrics::{LoopCounts, Scrapes};
use super::output::Pool;
pub(crate) use super::place::Place;
use super::timers::{AppTimers, SlotDeadlines};
use super::transport::Transport;
use crate::command::Command;
use crate::conn::ConnId;
use crate::handle::Handle;
use crate::outbound::{ConnectFailure, DialOutcome};
use crate::protocol::{deadline_after, Inbound, Outbox, Overflow, Protocol};
use crate::topics::Topics;
use crate::CloseCode;
use slab::Slab;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The server's state, without the poller.
pub(crate) struct Core<P: Protocol, T> {
    pub(super) protocol: P,
    pub(super) config: Valid,
    pub(super) conns: Slab<Connection<P::ConnState, T>>,
    /// How many connections were ever opened: the next id's sequence.
    sequence: u64,
    /// Which worker this core is, of how many.
    pub(super) place: Place,
    /// The one read buffer shared by every connection.
    pub(super) read_buf: Vec<u8>,
    /// Commands waiting to be carried out, and a spare queue to swap in.
    pub(super) commands: Vec<Command>,
    pub(super) spare_commands: Vec<Command>,
    /// Connections with output to write.
    pub(super) flush_list: Vec<usize>,
    /// Connections with more to read than their last turn allowed.
    pub(super) ready: Vec<usize>,
    /// Connections back under their output budget: their held-back input is fed again.
    pub(super) resume: Vec<usize>,
    /// Each connection's deadline (the protocol's, or the server's while it closes).
    pub(super) deadlines: SlotDeadlines,
    /// When each connection over its output budget counts as a slow reader.
    pub(super) slow: SlotDeadlines,
    pub(super) timers: AppTimers,
    /// Outbound connections the application asked for.
    pub(super) dials: Dials,
    pub(super) pool: Pool,
    pub(super) topics: Topics,
    /// Scratch list of a publish's recipients.
    pub(super) recipients: Vec<ConnId>,
    /// Frames of the message being sent to many.
    pub(super) frames: Frames,
    /// Bytes held by messages in progress, over all connections.
    inbound_total: usize,
    /// The time the loop woke up.
    pub(super) now: Instant,
    pub(super) bridge: Option<Box<dyn Bridge>>,
    /// The topics that keep a history, and the recoveries under way.
    pub(super) timeline: Option<super::history::Timeline>,
    /// Who of this process is present in which topic.
    pub(super) members: crate::presence::Members,
    pub(super) handle: Handle,
    /// Connections refused at the cap, still writing their refusal.
    refusing: usize,
    /// Refusals since the last connection accepted (logged once per burst).
    refused_in_burst: u64,
    /// What the loop counts for a scrape.
    pub(super) metrics: LoopCounts,
    /// Scrapes being gathered by the app thread (on a worker of several).
    pub(super) scrapes: Scrapes,
}

impl<P: Protocol, T: Transport> Core<P, T> {
    pub fn new(
        protocol: P,
        config: Valid,
        bridge: Option<Box<dyn Bridge>>,
        handle: Handle,
    ) -> Self {
        Core {
            read_buf: vec![0; config.read_buffer_size()],
            protocol,
            config,
            conns: Slab::new(),
            sequence: 0,
            place: Place::default(),
            commands: Vec::new(),
            spare_commands: Vec::new(),
            flush_list: Vec::new(),
            ready: Vec::new(),
            resume: Vec::new(),
            deadlines: SlotDeadlines::default(),
            slow: SlotDeadlines::default(),
            timers: AppTimers::default(),
            dials: Dials::default(),
            pool: Pool::default(),
            topics: handle.topics(),
            recipients: Vec::new(),
            frames: Frames::default(),
            inbound_total: 0,
            now: Instant::now(),
            bridge,
            timeline: None,
            members: crate::presence::Members::default(),
            handle,
            refusing: 0,
            refused_in_burst: 0,
            metrics: LoopCounts::default(),
            scrapes: Scrapes::default(),
        }
    }

    /// The server starts: the bridge and the application get the handle.
    pub fn start(&mut self) {
        if let Some(bridge) = &mut self.bridge {
            bridge.start(&self.handle);
        }
        let started = self.protocol.start(&self.handle);
        self.commands.extend(started);
        self.execute();
    }

    /// The protocol served.
    pub fn protocol(&self) -> &P {
        &self.protocol
    }

    /// The protocol served, mutably (to ask it whether to accept a peer).
    pub fn protocol_mut(&mut self) -> &mut P {
        &mut self.protocol
    }

    /// The loop woke up at `now`.
    pub fn set_now(&mut self, now: Instant) {
        self.now = now;
    }

    /// How long connections get to close when the server shuts down.
    pub fn shutdown_grace(&self) -> Duration {
        self.config.shutdown_grace()
    }

    /// Connections held, refusals included.
    pub fn len(&self) -> usize {
        self.conns.len()
    }

    /// Whether a new connection would pass the cap.
    pub fn at_capacity(&self) -> bool {
        let held = match &self.place.held {
            Some(every) => every.load(Ordering::Relaxed),
            None => self.conns.len() - self.refusing,
        };
        held >= self.config.max_connections()
    }

    /// The slot the next connection takes (its poll token).
    pub fn vacant_slot(&self) -> usize {
        self.conns.vacant_key()
    }

    /// Takes a new connection, in the slot [`vacant_slot`](Core::vacant_slot) named.
    pub fn open(&mut self, stream: T, peer: SocketAddr) -> ConnId {
        if self.refused_in_burst > 0 {
            log::info!(
                "accepting connections again ({} refused at the cap)",
                self.refused_in_burst
            );
            self.refused_in_burst = 0;
        }
        let id = self.next_id();
        let slot = self.place.local(id);
        self.metrics.accepted += 1;
        self.conns
            .insert(Connection::new(id, stream, Phase::Lingering));
        self.count_connections();
        self.with_outbox(slot, |protocol, phase, out| {
            *phase = Phase::Open(protocol.connect(id, peer, out));
        });
        self.execute();
        id
    }

    /// The id of the next connection, in the vacant slot.
    pub(super) fn next_id(&mut self) -> ConnId {
        let sequence = match &self.place.sequence {
            Some(shared) => shared.fetch_add(1, Ordering::Relaxed) + 1,
            None => {
                self.sequence += 1;
                self.sequence
            }
        };
        self.place.id(self.conns.vacant_key(), sequence)
    }

    /// Serves as worker `place.index` of `place.count`.
    pub fn with_place(mut self, place: Place) -> Self {
        self.place = place;
        self
    }

    /// Refuses a new connection at the cap: the protocol's answer (`503`) is written, then
    /// the connection closed, unless too many refusals are already finishing.
    pub fn refuse(&mut self, stream: T, peer: SocketAddr) {
        let counters = self.handle.counters();
        counters.refused_connections.fetch_add(1, Ordering::Relaxed);
        if self.refused_in_burst == 0 {
            log::warn!(
                "at the connection cap ({}): refusing new connections (from {peer} first)",
                self.config.max_connections()
            );
        }
        self.refused_in_burst += 1;
        if self.refusing >= BUSY_RESERVE {
            return; // closed without a word
        }
        self.refusing += 1;
        let slot = self.conns.vacant_key();
        // Sequence 0, which no accepted connection has, marks a refusal.
        let mut c = Connection::new(self.place.id(slot, 0), stream, Phase::Refused);
        self.protocol.busy(c.output.tail(&mut self.pool));
        c.control.deadline = Some(deadline_after(self.now, self.config.linger()));
        self.conns.insert(c);
        self.count_connections();
        self.settle(slot);
    }

    /// The connection in `id`'s slot, if it is still `id`.
    pub(super) fn get_mut(&mut self, id: ConnId) -> Option<&mut Connection<P::ConnState, T>> {
        lookup(&mut self.conns, self.place.count, id)
    }

    /// The one place the protocol is called for a connection: builds the connection's
    /// [`Outbox`] (its output, its budget, its share of the inbound budget), runs `f` with
    /// the connection's phase, then settles what the protocol asked for.
    pub(super) fn with_outbox<R>(
        &mut self,
        slot: usize,
        f: impl FnOnce(&mut P, &mut Phase<P::ConnState>, &mut Outbox<'_>) -> R,
    ) -> Option<R> {
        // Metrics the protocol asked for are rendered before its call: every layer counts.
        let scrape = match self.conns.get(slot) {
            Some(c) if c.control.scrape => self.scrape_for(c.id),
            _ => None,
        };
        let c = self.conns.get_mut(slot)?;
        c.control.scrape = false;
        let pending = c.output.len();
        let free = self.config.max_inbound().saturating_sub(self.inbound_total);
        let mut inbound = Inbound {
            held: c.inbound_held,
            allowance: c.inbound_held.saturating_add(free),
        };
        let mut out = Outbox::new(
            c.id,
            self.now,
            c.output.tail(&mut self.pool),
            &mut self.commands,
            &mut c.control,
            &mut inbound,
        )
        .with_pending(pending, self.config.output_budget())
        .with_scrape(scrape.as_deref());
        let result = f(&mut self.protocol, &mut c.phase, &mut out);
        drop(out);
        self.inbound_total = self.inbound_total - c.inbound_held + inbound.held;
        c.inbound_held = inbound.held;
        // On a worker, a scrape waits for the app thread's numbers, not for the next turn.
        let gather = (c.control.scrape && self.place.count > 1).then_some(c.id);
        if gather.is_some() {
            c.control.resume = false;
        }
        self.handle
            .counters()
            .inbound_bytes
            .store(self.inbound_total, Ordering::Relaxed);
        self.settle(slot);
        if let Some(conn) = gather {
            self.gather(conn);
        }
        Some(result)
    }

    /// What `conn` waited for is ready: the input the server holds for it is offered
    /// again, or, holding none, the protocol is told ([`Protocol::wake`]: a decorator that
    /// holds the input itself offers it).
    pub(super) fn wake_conn(&mut self, conn: ConnId) {
        if self.get_mut(conn).is_some() {
            self.wake_slot(self.place.local(conn));
        }
    }

    /// [`with_outbox`](Core::with_outbox) for a connection the protocol still has.
    pub(super) fn call<R>(
        &mut self,
        slot: usize,
        f: impl FnOnce(&mut P, &mut P::ConnState, &mut Outbox<'_>) -> R,
    ) -> Option<R> {
        self.with_outbox(slot, |protocol, phase, out| {
            phase.state_mut().map(|state| f(protocol, state, out))
        })
        .flatten()
    }

    /// After an event of `slot`: moves it along its life as the protocol asked, arms its
    /// deadline, watches its budget, and schedules its output.
    pub(super) fn settle(&mut self, slot: usize) {
        let Some(c) = self.conns.get_mut(slot) else {
            return;
        };
        if c.control.shutdown && c.phase.is_open() {
            c.phase.close();
            c.input = Vec::new(); // nothing more is fed
                                  // Time to write what is left: as long as a slow reader gets, or, for one closed
                                  // for not keeping up, a linger.
            let flush = if c.backlog.is_over() {
                self.config.linger()
            } else {
                self.config.slow_reader_timeout()
            };
            c.control.deadline = Some(deadline_after(self.now, flush));
        }
        if c.control.deadline != c.armed {
            c.armed = c.control.deadline;
            match c.armed {
                Some(at) => self.deadlines.set(slot, at, ()),
                None => {
                    self.deadlines.remove(slot);
                }
            }
        }
        if c.control.resume {
            self.resume.push(slot); // it yielded: its input again next turn
        }
        let waiting = c.output.len();
        let over = waiting > self.config.output_budget();
        if over != c.backlog.is_over() {
            c.backlog = if over { Backlog::Over } else { Backlog::Within };
            if over {
                if self.config.overflow() == Overflow::Close && c.phase.takes_messages() {
                    let at = deadline_after(self.now, self.config.slow_reader_timeout());
                    self.slow.set(slot, at, ());
                }
            } else {
                self.slow.remove(slot);
                if c.phase.is_open() {
                    self.resume.push(slot);
                }
            }
        }
        if c.scheduled {
            return;
        }
        // Output waits for a socket that takes it; a closing connection with nothing left
        // to write goes on to linger at once.
        let due = if waiting == 0 {
            matches!(c.phase, Phase::Closing(_) | Phase::Refused)
        } else {
            c.writable
        };
        if due {
            c.scheduled = true;
            self.flush_list.push(slot);
        }
    }

    /// The connection ends for the protocol and the application (its socket may linger):
    /// it leaves its topics, gives back its inbound share, and the protocol is told.
    pub(super) fn end(&mut self, slot: usize) {
        let Some(c) = self.conns.get_mut(slot) else {
            return;
        };
        let id = c.id;
        for topic in std::mem::take(&mut c.topics) {
            self.left(id, &topic);
        }
        let outcome = self.with_outbox(slot, |protocol, phase, out| {
            let state = phase.end()?;
            out.hold_inbound(0);
            let outcome = protocol.dial_outcome(&state);
            protocol.disconnect(state, out);
            Some(outcome)
        });
        if let Some(Some(outcome)) = outcome {
            if !self.dials.is_empty() {
                self.dials.ended(id, outcome, self.now);
            }
        }
        if let Some(c) = self.conns.get_mut(slot) {
            // What the protocol wrote on its way out goes nowhere.
            c.output.truncate_tail(0);
            c.control.notify_drained = false;
        }
        self.execute();
    }

    /// The socket failed: the protocol hears why, then it is closed.
    pub(super) fn socket_failed(&mut self, slot: usize, error: &std::io::Error) {
        self.drain(slot);
        self.call(slot, |protocol, state, _| protocol.failed(state, error));
        self.drop_conn_because(slot, || ConnectFailure::from_io(error));
    }

    /// Closes the socket; the protocol is told if it had not been.
    pub(super) fn drop_conn(&mut self, slot: usize) {
        self.drop_conn_because(slot, || {
            ConnectFailure::Proxy("the tunnel was not made".into())
        });
    }

    /// [`drop_conn`](Core::drop_conn); a connection that still waited for its proxy's
    /// tunnel is reported as failing with `failure`.
    pub(super) fn drop_conn_because(
        &mut self,
        slot: usize,
        failure: impl FnOnce() -> ConnectFailure,
    ) {
        if self.conns.get(slot).is_some_and(|c| c.phase.has_state()) {
            self.end(slot);
        }
        let Some(c) = self.remove(slot) else {
            return;
        };
        if let Phase::Tunnel(tunnel) = c.phase {
            self.dials.ended(c.id, DialOutcome::Failed, self.now);
            self.report_dial(tunnel.0, failure());
        }
    }

    /// Takes the connection in `slot` out of the slab, giving back its output buffers,
    /// its deadlines and its count.
    pub(super) fn remove(&mut self, slot: usize) -> Option<Connection<P::ConnState, T>> {
        let mut c = self.conns.try_remove(slot)?;
        if c.id.sequence() == 0 {
            self.refusing -= 1;
        }
        c.output.release(&mut self.pool);
        self.deadlines.remove(slot);
        self.slow.remove(slot);
        self.count_connections();
        Some(c)
    }

    pub(super) fn count_connections(&mut self) {
        self.handle
            .counters()
            .connections
            .store(self.conns.len(), Ordering::Relaxed);
        if let Some(every) = &self.place.held {
            let held = self.conns.len() - self.refusing;
            if held > self.place.counted {
                every.fetch_add(held - self.place.counted, Ordering::Relaxed);
            } else {
                every.fetch_sub(self.place.counted - held, Ordering::Relaxed);
            }
            self.place.counted = held;
        }
    }

    /// Asks the protocol to close every connection it has (1001 for WebSocket).
    pub fn close_all(&mut self) {
        self.dials.clear();
        let tunnels: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| c.phase.is_tunnel())
            .map(|(slot, _)| slot)
            .collect();
        for slot in tunnels {
            self.drop_conn_because(slot, || ConnectFailure::Proxy("shutting down".into()));
        }
        let ids: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.phase.takes_messages())
            .map(|(_, c)| c.id)
            .collect();
        for id in ids {
            self.commands
                .push(Command::close(id, CloseCode::Away, "server shutting down"));
        }
        self.execute();
    }
}

/// The connection in `id`'s slot, if it is still `id` (a function of the slab alone, so
/// the caller may borrow the core's other fields meanwhile); `workers` as in [`Place`].
pub(super) fn lookup<S, T>(
    conns: &mut Slab<Connection<S, T>>,
    workers: usize,
    id: ConnId,
) -> Option<&mut Connection<S, T>> {
    conns
        .get_mut(Place::local_of(id, workers))
        .filter(|c| c.id == id)
}
