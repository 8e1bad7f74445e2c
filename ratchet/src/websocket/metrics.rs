//! What the WebSocket decorator counts for a scrape: handshakes, open connections by
//! version, messages in, compressions out. Plain integers on the loop's thread.

use super::handshake::Version;
use crate::exposition::{Exposition, CONNECTIONS};

const VERSIONS: [Version; 5] = [
    Version::Rfc6455,
    Version::Hybi10,
    Version::Hybi07,
    Version::Hixie76,
    Version::Hixie75,
];

/// The label of a version.
fn label(version: Version) -> &'static str {
    match version {
        Version::Rfc6455 => "rfc6455",
        Version::Hybi10 => "hybi-10",
        Version::Hybi07 => "hybi-07",
        Version::Hixie76 => "hixie-76",
        Version::Hixie75 => "hixie-75",
    }
}

#[derive(Debug, Default)]
pub(super) struct Counts {
    /// Connections open now, by version.
    open: [u64; 5],
    /// Handshakes completed, by version (the server's and the client's).
    handshakes: [u64; 5],
    /// Handshakes refused, by the status answered.
    refused: Vec<(u16, u64)>,
    /// Messages received, and how many of them were compressed.
    received: u64,
    received_compressed: u64,
    received_bytes: u64,
    /// Messages compressed to be sent (a broadcast is compressed once for many).
    compressed: u64,
}

impl Counts {
    pub fn opened(&mut self, version: Version) {
        self.open[version as usize] += 1;
        self.handshakes[version as usize] += 1;
    }

    pub fn closed(&mut self, version: Version) {
        self.open[version as usize] -= 1;
    }

    pub fn refused(&mut self, status: u16) {
        match self.refused.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => self.refused.push((status, 1)),
        }
    }

    pub fn received(&mut self, bytes: usize) {
        self.received += 1;
        self.received_bytes += bytes as u64;
    }

    pub fn received_compressed(&mut self, messages: u32) {
        self.received_compressed += u64::from(messages);
    }

    pub fn compressed(&mut self) {
        self.compressed += 1;
    }

    pub fn write(&self, e: &mut Exposition) {
        for v in VERSIONS {
            let labels = [("protocol", label(v))];
            e.gauge(
                "ratchet_connections",
                CONNECTIONS,
                &labels,
                self.open[v as usize] as f64,
            );
            let labels = [("version", label(v))];
            let help = "WebSocket handshakes completed, by protocol version.";
            e.counter(
                "ratchet_handshakes_total",
                help,
                &labels,
                self.handshakes[v as usize],
            );
        }
        for (status, n) in &self.refused {
            let help = "WebSocket handshakes refused, by the HTTP status answered.";
            let status = status.to_string();
            e.counter(
                "ratchet_handshakes_refused_total",
                help,
                &[("status", &status)],
                *n,
            );
        }
        crate::exposition::received(e, self.received, self.received_bytes);
        let help = "Messages received compressed (permessage-deflate).";
        let n = self.received_compressed;
        e.counter("ratchet_messages_received_compressed_total", help, &[], n);
        let help = "Messages compressed to be sent (once for all recipients of a broadcast).";
        e.counter(
            "ratchet_messages_compressed_total",
            help,
            &[],
            self.compressed,
        );
    }
}
