//! Reading and writing: input goes to the protocol while the output is within its budget;
//! output goes out as the socket takes it; closing connections drain, then linger.

use super::connection::Phase;
use super::core::Core;
use super::transport::Transport;
use crate::outbound::ConnectFailure;
use crate::protocol::{deadline_after, Hold, Protocol};
use std::io::ErrorKind;

/// Reads per connection per loop turn before others get theirs.
const READS_PER_TURN: usize = 16;

impl<P: Protocol, T: Transport> Core<P, T> {
    /// The socket in `slot` has bytes (or its end) to read.
    pub fn readable(&mut self, slot: usize) {
        for _ in 0..READS_PER_TURN {
            let Some(c) = self.conns.get_mut(slot) else {
                return;
            };
            // Held input waits; with backpressure, reading stops at half the read buffer.
            let hold = c.control.hold;
            let full = hold.has(Hold::BACKPRESSURE) && c.input.len() >= self.read_buf.len() / 2;
            if hold.has(Hold::PAUSED) && (hold.has(Hold::EOF) || full) {
                c.control.hold.set(Hold::MISSED, true); // read when woken
                return;
            }
            if c.control.resume {
                return; // it yielded: its input is offered again next turn
            }
            let discard = matches!(
                c.phase,
                Phase::Closing(_) | Phase::Refused | Phase::Lingering
            );
            let tunnel = c.phase.is_tunnel();
            if !discard && !tunnel && (!c.phase.is_open() || c.backlog.is_over()) {
                return; // half-closed, or paused until the client takes its output
            }
            let keep = if discard { 0 } else { c.input.len() };
            if keep >= self.read_buf.len() {
                log::warn!(
                    "connection {} left more than the read buffer unconsumed; dropping it",
                    c.id
                );
                self.drop_conn(slot);
                return;
            }
            self.read_buf[..keep].copy_from_slice(&c.input[..keep]);
            let read = c.stream.read(&mut self.read_buf[keep..]);
            if let Ok(n) = read {
                self.metrics.bytes_read += n as u64;
            }
            match read {
                Ok(0) if tunnel => {
                    self.drop_conn_because(slot, || {
                        ConnectFailure::Proxy("closed without answering".into())
                    });
                    return;
                }
                Ok(0) if c.control.hold.has(Hold::PAUSED) => {
                    c.control.hold.set(Hold::EOF, true); // after what is held
                    return;
                }
                Ok(0) => {
                    self.peer_closed(slot);
                    return;
                }
                Ok(n) if tunnel => self.tunnel_answer(slot, keep + n),
                Ok(n) if !discard => self.feed(slot, keep + n),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    log::debug!("read from connection {} failed: {e}", c.id);
                    self.socket_failed(slot, &e);
                    return;
                }
            }
        }
        // More may be waiting: come back next turn (readiness is edge-triggered).
        self.ready.push(slot);
    }

    /// The peer shut its write side: what it asked for is still written, then the
    /// connection is gone; with nothing to write, it is gone now.
    fn peer_closed(&mut self, slot: usize) {
        let Some(c) = self.conns.get_mut(slot) else {
            return;
        };
        if c.output.is_empty() || !matches!(c.phase, Phase::Open(_) | Phase::Closing(_)) {
            self.drop_conn(slot);
            return;
        }
        c.phase.peer_closed();
        if let Phase::Closing(_) = c.phase {
            // Written, then gone: no lingering is needed for a peer that has left.
            if let Some(state) = c.phase.end() {
                c.phase = Phase::PeerClosed(state);
            }
        }
        c.control.deadline = Some(deadline_after(self.now, self.config.slow_reader_timeout()));
        self.settle(slot);
    }

    /// Hands `read_buf[..total]` (the connection's unconsumed input, then what was just
    /// read) to the protocol, offering what is left again until it takes nothing, the
    /// output passes its budget or the connection is closing; keeps the rest.
    pub(super) fn feed(&mut self, slot: usize, total: usize) {
        let mut data = std::mem::take(&mut self.read_buf);
        if let Some(c) = self.conns.get_mut(slot) {
            c.input.clear();
        }
        let budget = self.config.output_budget();
        let mut consumed = 0;
        while consumed < total {
            let Some(c) = self.conns.get(slot) else {
                break;
            };
            if !c.phase.is_open() || c.output.len() > budget {
                break; // the rest waits, unparsed
            }
            let rest = &mut data[consumed..total];
            let offered = self.call(slot, |protocol, state, out| {
                let taken = protocol.data(state, rest, out);
                (taken, out.close_requested() || out.has_yielded())
            });
            let Some((taken, stop)) = offered else {
                break;
            };
            consumed = (consumed + taken).min(total);
            if taken == 0 || stop {
                break;
            }
        }
        if let Some(c) = self.conns.get_mut(slot) {
            if c.phase.is_open() {
                c.input.extend_from_slice(&data[consumed..total]);
            } else {
                c.input = Vec::new();
            }
        }
        self.read_buf = data;
        self.execute();
    }

    /// Offers a connection's unconsumed input to its protocol again (after a
    /// [`Handle::wake`](crate::Handle::wake), or once it is back under its budget), then
    /// reads on.
    pub(super) fn wake_slot(&mut self, slot: usize) {
        let Some(c) = self.conns.get_mut(slot) else {
            return;
        };
        c.control
            .hold
            .set(Hold::PAUSED | Hold::BACKPRESSURE | Hold::MISSED, false);
        let total = c.input.len();
        if c.phase.is_open() && !c.backlog.is_over() {
            if total == 0 {
                // A decorator that holds the input itself (TLS) offers it.
                self.call(slot, |protocol, state, out| protocol.wake(state, out));
                self.execute();
            } else if total <= self.read_buf.len() {
                self.read_buf[..total].copy_from_slice(&c.input);
                self.feed(slot, total);
            }
        }
        if !self.held_end(slot) {
            self.readable(slot);
        }
    }

    /// The peer's end, kept while its input was held, once the input is taken: whether
    /// it came (and the connection is now ending).
    pub(super) fn held_end(&mut self, slot: usize) -> bool {
        match self.conns.get_mut(slot) {
            Some(c) if c.control.hold.has(Hold::EOF) && !c.control.hold.has(Hold::PAUSED) => {
                c.control.hold.set(Hold::EOF, false);
                self.peer_closed(slot);
                true
            }
            _ => false,
        }
    }

    /// A failing connection's held input is taken now, nothing waiting any more: the
    /// messages in it are handled (their answers go nowhere).
    pub(super) fn drain(&mut self, slot: usize) {
        let Some(c) = self.conns.get_mut(slot) else {
            return;
        };
        let total = c.input.len();
        let held = c.control.hold.has(Hold::PAUSED);
        if !held || total == 0 || total > self.read_buf.len() || !c.phase.is_open() {
            return;
        }
        c.control.hold.set(Hold::DRAINING, true);
        self.read_buf[..total].copy_from_slice(&c.input);
        self.feed(slot, total);
        if let Some(c) = self.conns.get_mut(slot) {
            c.control.hold.set(Hold::DRAINING, false);
        }
    }

    /// The socket in `slot` can take more.
    pub fn writable(&mut self, slot: usize) {
        if let Some(c) = self.conns.get_mut(slot) {
            c.writable = true;
            if !c.scheduled {
                c.scheduled = true;
                self.flush_list.push(slot);
            }
        }
    }

    /// Writes every connection that has output, carrying out what that produces.
    pub fn flush_all(&mut self) {
        while let Some(slot) = self.flush_list.pop() {
            self.flush(slot);
            if self.flush_list.is_empty() {
                self.execute();
            }
        }
    }

    fn flush(&mut self, slot: usize) {
        let Some(c) = self.conns.get_mut(slot) else {
            return;
        };
        c.scheduled = false;
        while !c.output.is_empty() {
            match c.output.write_to(&mut c.stream) {
                Ok(0) => {
                    self.drop_conn(slot);
                    return;
                }
                Ok(n) => self.metrics.bytes_written += n as u64,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    c.writable = false; // until the poller says otherwise
                    break;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    log::debug!("write to connection {} failed: {e}", c.id);
                    self.socket_failed(slot, &e);
                    return;
                }
            }
        }
        if c.output.is_empty() {
            c.output.release(&mut self.pool);
            match c.phase {
                Phase::PeerClosed(_) => {
                    self.drop_conn(slot);
                    return;
                }
                Phase::Closing(_) | Phase::Refused => {
                    self.linger(slot);
                    return;
                }
                Phase::Open(_) | Phase::Lingering | Phase::Tunnel(_) => {}
            }
        }
        let half = self.config.output_budget() / 2;
        if c.control.notify_drained && c.output.len() <= half && c.phase.is_open() {
            c.control.notify_drained = false;
            let held_back = !c.input.is_empty();
            self.call(slot, |protocol, state, out| protocol.drained(state, out));
            // What it would not take while it waited may be taken now.
            if held_back {
                self.resume.push(slot);
            }
        } else {
            self.settle(slot);
        }
    }

    /// Everything is written: the connection ends for the protocol and the application,
    /// then the write side is shut and the socket reads until the peer's end (or the
    /// linger deadline), so that the peer sees our last bytes rather than a reset. When the
    /// peer sees the end of the stream, `on_close` has run and its commands were carried
    /// out.
    fn linger(&mut self, slot: usize) {
        self.end(slot);
        let Some(c) = self.conns.get_mut(slot) else {
            return;
        };
        c.input = Vec::new();
        c.phase = Phase::Lingering;
        c.output.release(&mut self.pool);
        if c.stream.shutdown_write().is_err() {
            self.drop_conn(slot);
            return;
        }
        c.control.deadline = Some(deadline_after(self.now, self.config.linger()));
        self.settle(slot);
        self.ready.push(slot);
    }
}
