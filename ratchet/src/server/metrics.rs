//! The server's own numbers for a scrape, rendered with every layer's for the protocol
//! that asked ([`Outbox::request_scrape`](crate::Outbox::request_scrape)).

use super::core::Core;
use super::transport::Transport;
use crate::exposition::{Exposition, Histogram, CONNECTIONS};
use crate::protocol::Protocol;
use std::time::Duration;

/// Upper bounds of the loop-turn histogram, in seconds.
const TURN_BOUNDS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// What the event loop counts as it goes: plain integers, on its own thread.
#[derive(Debug)]
pub(crate) struct LoopCounts {
    pub accepted: u64,
    pub bytes_read: u64,
    pub bytes_written: u64,
    /// Messages queued for a recipient.
    pub messages_sent: u64,
    /// How long each loop turn's work took.
    pub turns: Histogram,
}

impl Default for LoopCounts {
    fn default() -> Self {
        LoopCounts {
            accepted: 0,
            bytes_read: 0,
            bytes_written: 0,
            messages_sent: 0,
            turns: Histogram::new(TURN_BOUNDS),
        }
    }
}

impl LoopCounts {
    /// One loop turn's work took `took`.
    pub fn turn(&mut self, took: Duration) {
        self.turns.observe(took);
    }
}

impl<P: Protocol, T: Transport> Core<P, T> {
    /// The scrape's text: every layer's numbers, then the server's.
    pub(super) fn render_metrics(&self) -> String {
        let mut e = Exposition::default();
        self.protocol.metrics(&mut e);
        if let Some(bridge) = &self.bridge {
            bridge.metrics(&mut e);
        }
        // The connections a protocol has: not those refused at the cap, waiting for a
        // proxy's tunnel, or only lingering for the peer's end.
        let held = self
            .conns
            .iter()
            .filter(|(_, c)| c.phase.has_state())
            .count();
        let upgraded = e.total("ratchet_connections") as usize;
        e.gauge(
            "ratchet_connections",
            CONNECTIONS,
            &[("protocol", "http")],
            held.saturating_sub(upgraded) as f64,
        );
        let m = &self.metrics;
        let stats = self.handle.stats();
        let counters: [(&'static str, &'static str, u64); 9] = [
            (
                "ratchet_connections_accepted_total",
                "Connections accepted.",
                m.accepted,
            ),
            (
                "ratchet_connections_refused_total",
                "Connections refused because the server held max_connections.",
                stats.refused_connections,
            ),
            (
                "ratchet_bytes_read_total",
                "Bytes read from sockets.",
                m.bytes_read,
            ),
            (
                "ratchet_bytes_written_total",
                "Bytes written to sockets.",
                m.bytes_written,
            ),
            (
                "ratchet_messages_sent_total",
                "Messages queued for a recipient (a broadcast counts once per recipient).",
                m.messages_sent,
            ),
            (
                "ratchet_overflow_closed_total",
                "Connections closed for not reading their output (Overflow::Close).",
                stats.slow_closed,
            ),
            (
                "ratchet_overflow_dropped_total",
                "Messages dropped for a connection that did not read (Overflow::Drop).",
                stats.dropped_messages,
            ),
            (
                "ratchet_undelivered_total",
                "Messages addressed to a connection that was gone.",
                stats.undelivered,
            ),
            (
                "ratchet_handle_refused_total",
                "Requests a Handle refused because the server's queue was full.",
                stats.refused_sends,
            ),
        ];
        for (name, help, value) in counters {
            e.counter(name, help, &[], value);
        }
        let gauges: [(&'static str, &'static str, usize); 5] = [
            (
                "ratchet_handle_queue_depth",
                "Requests from Handles waiting for the event loop.",
                self.handle.queued(),
            ),
            (
                "ratchet_timers",
                "Application timers armed.",
                self.timers.len(),
            ),
            (
                "ratchet_topics",
                "Topics with at least one subscriber.",
                stats.topics,
            ),
            (
                "ratchet_subscriptions",
                "Subscriptions, over all topics.",
                stats.subscriptions,
            ),
            (
                "ratchet_inbound_bytes",
                "Bytes held by messages in progress, over all connections.",
                stats.inbound_bytes,
            ),
        ];
        for (name, help, value) in gauges {
            e.gauge(name, help, &[], value as f64);
        }
        e.histogram(
            "ratchet_loop_turn_seconds",
            "How long one turn of the event loop worked (its wait for events not counted).",
            &[],
            &m.turns,
        );
        e.render()
    }
}
