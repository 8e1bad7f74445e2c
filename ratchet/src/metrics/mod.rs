//! Numbers an operator can scrape: the server's counters in the Prometheus text format,
//! served on a route ([`Metrics`]).
//!
//! Each layer keeps its own counts as plain integers on the event loop's thread (no lock
//! and no atomic read-modify-write on the message path) and adds them to an
//! [`Exposition`] when a scrape arrives ([`Protocol::metrics`](crate::Protocol::metrics)):
//!
//! | metric | from |
//! |---|---|
//! | `ratchet_connections{protocol}`: open, by `rfc6455`, `hybi-10`, `hybi-07`, `hixie-76`, `hixie-75`, `line`, `http` (not upgraded) | server, WebSocket, Line |
//! | `ratchet_connections_accepted_total`, `ratchet_connections_refused_total` (at `max_connections`) | server |
//! | `ratchet_handshakes_total{version}`, `ratchet_handshakes_refused_total{status}` | WebSocket |
//! | `ratchet_messages_received_total{compressed}`, `ratchet_message_bytes_received_total` | WebSocket, Line |
//! | `ratchet_messages_sent_total` (per recipient), `ratchet_messages_compressed_total` (per compression) | server, WebSocket |
//! | `ratchet_bytes_read_total`, `ratchet_bytes_written_total` (sockets) | server |
//! | `ratchet_overflow_closed_total`, `ratchet_overflow_dropped_total`, `ratchet_undelivered_total` | server |
//! | `ratchet_handle_queue_depth`, `ratchet_handle_refused_total` | server |
//! | `ratchet_timers`, `ratchet_topics`, `ratchet_subscriptions`, `ratchet_inbound_bytes` | server |
//! | `ratchet_loop_turn_seconds` (histogram: one loop turn's work) | server |
//! | `ratchet_session_lookups_total{result}` (`found`, `missing`, `unavailable`), `ratchet_session_lookup_seconds` (histogram) | [`Session`](crate::session::Session) |
//! | `ratchet_bridge_up`, `ratchet_bridge_published_total`, `ratchet_bridge_received_total`, `ratchet_bridge_dropped_total`, `ratchet_bridge_subscriptions_lost_total`, `ratchet_bridge_queued_bytes` | [`RedisBridge`](crate::cluster::RedisBridge) |
//!
//! With [several workers](crate::Server::workers), the worker a scrape reaches asks the
//! app thread, which asks every worker for its numbers and adds them to its own (topics,
//! application timers, the bridge): one page, summed; `ratchet_loop_turn_seconds` has a
//! `worker` label, one histogram per worker.
//!
//! A decorator of one's own adds its numbers the same way, by implementing
//! [`Protocol::metrics`](crate::Protocol::metrics); a [`Bridge`](crate::server::Bridge) by
//! its own `metrics`.

mod route;

pub use crate::exposition::{Exposition, Histogram};
pub use route::{Metrics, MetricsState};
