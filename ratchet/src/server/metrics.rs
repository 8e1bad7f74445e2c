//! The server's own numbers for a scrape, rendered with every layer's for the protocol
//! that asked ([`Outbox::request_scrape`](crate::Outbox::request_scrape)).

use super::bridge::Bridge;
use super::core::Core;
use super::transport::Transport;
use crate::conn::ConnId;
use crate::exposition::{Exposition, Histogram, CONNECTIONS};
use crate::handle::Stats;
use crate::protocol::Protocol;
use crate::workers::Event;
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

/// Scrapes on a worker of several: the numbers of every worker and of the app thread
/// are gathered by the app thread, which sends the text back to the worker that asked.
#[derive(Debug, Default)]
pub(crate) struct Scrapes {
    /// Connections waiting for the gathered text (each asked once).
    waiting: Vec<ConnId>,
    /// The text for a connection, until its protocol's next call takes it.
    ready: Vec<(ConnId, String)>,
    /// What goes up to the app thread at the end of the loop turn.
    pub up: Vec<Event>,
}

impl<P: Protocol, T: Transport> Core<P, T> {
    /// The text a connection that asked for a scrape gets now: rendered here with one
    /// loop, or, on a worker, the app thread's once it has come.
    pub(super) fn scrape_for(&mut self, conn: ConnId) -> Option<String> {
        if self.place.count == 1 {
            return Some(self.render_metrics());
        }
        let at = self.scrapes.ready.iter().position(|(c, _)| *c == conn)?;
        Some(self.scrapes.ready.swap_remove(at).1)
    }

    /// A worker's connection asked for a scrape: the app thread is asked (once) to gather
    /// every worker's numbers, and the connection is offered its input again when the
    /// text comes.
    pub(super) fn gather(&mut self, conn: ConnId) {
        if !self.scrapes.waiting.contains(&conn) {
            self.scrapes.waiting.push(conn);
            self.scrapes.up.push(Event::Scrape(conn));
        }
    }

    /// The app thread asks for this worker's numbers, for gather `id`.
    pub(super) fn render_for(&mut self, id: u64) {
        let mut e = Exposition::default();
        self.loop_metrics(&mut e);
        self.scrapes.up.push(Event::Rendered(id, Box::new(e)));
    }

    /// The gathered text for `conn`: its protocol is called again to take it.
    pub(super) fn scraped(&mut self, conn: ConnId, text: String) {
        self.scrapes.waiting.retain(|c| *c != conn);
        if self.get_mut(conn).is_some() {
            self.scrapes.ready.push((conn, text));
            self.wake_conn(conn);
            // Not taken (the connection could not be offered its input): not kept.
            self.scrapes.ready.retain(|(c, _)| *c != conn);
        }
    }

    /// The scrape's text with one loop: every layer's numbers, then the server's.
    pub(super) fn render_metrics(&self) -> String {
        let mut e = Exposition::default();
        self.loop_metrics(&mut e);
        server_metrics(&mut e, &self.handle.stats(), self.bridge.as_deref());
        e.render()
    }

    /// What this loop counts: its layers' numbers, its connections, sockets and turns.
    fn loop_metrics(&self, e: &mut Exposition) {
        self.protocol.metrics(e);
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
        let counters: [(&'static str, &'static str, u64); 4] = [
            (
                "ratchet_connections_accepted_total",
                "Connections accepted.",
                m.accepted,
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
        ];
        for (name, help, value) in counters {
            e.counter(name, help, &[], value);
        }
        queue_and_timers(e, self.handle.queued(), self.timers.len());
        // Per worker: how busy each loop is differs.
        let index = self.place.index.to_string();
        let labels: &[(&str, &str)] = match self.place.count {
            1 => &[],
            _ => &[("worker", &index)],
        };
        e.histogram(
            "ratchet_loop_turn_seconds",
            "How long one turn of the event loop worked (its wait for events not counted).",
            labels,
            &m.turns,
        );
    }
}

/// The requests waiting in a handle's queue, and the application timers armed: each
/// loop's, and with several workers the app thread's too.
pub(super) fn queue_and_timers(e: &mut Exposition, queued: usize, timers: usize) {
    e.gauge(
        "ratchet_handle_queue_depth",
        "Requests from Handles waiting for the event loop (or the app thread).",
        &[],
        queued as f64,
    );
    e.gauge(
        "ratchet_timers",
        "Application timers armed.",
        &[],
        timers as f64,
    );
}

/// What the server counts as a whole: its handle's stats (over every worker), its topics,
/// and its bridge's numbers.
pub(super) fn server_metrics(e: &mut Exposition, stats: &Stats, bridge: Option<&dyn Bridge>) {
    if let Some(bridge) = bridge {
        bridge.metrics(e);
    }
    let counters: [(&'static str, &'static str, u64); 5] = [
        (
            "ratchet_connections_refused_total",
            "Connections refused because the server held max_connections.",
            stats.refused_connections,
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
    let gauges: [(&'static str, &'static str, usize); 3] = [
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
}
