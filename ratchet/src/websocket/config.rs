//! The WebSocket decorator's limits and handshake policy.

use super::deflate::Deflate;
use crate::error::ConfigError;
use crate::protocol::Limits;
use std::time::Duration;

/// Limits of the WebSocket decorator. Every field has a documented default; the server
/// checks them when it is assembled ([`Server::bind`](crate::Server::bind)).
///
/// | limit | default |
/// |---|---|
/// | [`max_message_size`](Config::max_message_size) | 1 MiB |
/// | [`max_frame_size`](Config::max_frame_size) | the message size |
/// | [`max_handshake_size`](Config::max_handshake_size) | 8 KiB |
/// | [`handshake_timeout`](Config::handshake_timeout) | 10 s |
/// | [`message_timeout`](Config::message_timeout) | 30 s |
/// | [`close_timeout`](Config::close_timeout) | 5 s |
/// | [`ping_interval`](Config::ping_interval) | 30 s |
/// | [`hixie_idle_timeout`](Config::hixie_idle_timeout) | 5 min |
/// | [`rate`](Config::rate) | none |
/// | [`inflate_per_turn`](Config::inflate_per_turn) | 256 KiB |
#[derive(Debug, Clone)]
pub struct Config {
    pub(super) max_message_size: usize,
    /// `None`: the message size.
    pub(super) max_frame_size: Option<usize>,
    pub(super) max_handshake_size: usize,
    pub(super) handshake_timeout: Duration,
    pub(super) message_timeout: Duration,
    pub(super) close_timeout: Duration,
    pub(super) ping_interval: Option<Duration>,
    pub(super) hixie_idle_timeout: Option<Duration>,
    pub(super) subprotocols: Vec<String>,
    pub(super) require_subprotocol: bool,
    pub(super) deflate: Option<Deflate>,
    pub(super) rate: Option<crate::rate::Rate>,
    pub(super) inflate_per_turn: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_message_size: 1 << 20,
            max_frame_size: None,
            max_handshake_size: 8 << 10,
            handshake_timeout: Duration::from_secs(10),
            message_timeout: Duration::from_secs(30),
            close_timeout: Duration::from_secs(5),
            ping_interval: Some(Duration::from_secs(30)),
            hixie_idle_timeout: Some(Duration::from_secs(300)),
            deflate: None,
            rate: None,
            inflate_per_turn: 256 << 10,
            subprotocols: Vec::new(),
            require_subprotocol: false,
        }
    }
}

impl Config {
    /// With permessage-deflate, the most bytes one connection inflates per loop turn: a
    /// compressed message that inflates to more is inflated over several turns, the other
    /// connections served in between, so that no client stalls the loop with messages
    /// that are cheap to send and dear to inflate (the maximum message size still closes
    /// it with 1009 once passed). Default: 256 KiB (about a quarter of a millisecond).
    #[must_use]
    pub fn inflate_per_turn(mut self, bytes: usize) -> Self {
        self.inflate_per_turn = bytes.max(1);
        self
    }

    /// Largest message accepted, in bytes, after reassembly of fragments (and after
    /// inflating, with permessage-deflate). A frame whose header announces more is refused
    /// with 1009 before its payload is buffered. Default: 1 MiB.
    #[must_use]
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Largest frame accepted (1009 past it); at most the message size. A compressed frame
    /// may exceed it by DEFLATE's worst-case overhead (about 4%), so that a message of the
    /// largest size that does not compress is still taken. Default: the message size.
    #[must_use]
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = Some(bytes);
        self
    }

    /// How fast each connection may send messages (see [`Rate`](crate::Rate)). Default:
    /// no limit.
    #[must_use]
    pub fn rate(mut self, rate: crate::rate::Rate) -> Self {
        self.rate = Some(rate);
        self
    }

    /// The largest frame accepted.
    pub fn frame_size(&self) -> usize {
        self.max_frame_size.unwrap_or(self.max_message_size)
    }

    /// Largest handshake request head, in bytes; larger gets `431`. Default: 8 KiB.
    #[must_use]
    pub fn max_handshake_size(mut self, bytes: usize) -> Self {
        self.max_handshake_size = bytes;
        self
    }

    /// Time allowed for the opening handshake to arrive. Default: 10 s.
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Time allowed for a message, from its first byte to its last; one that takes longer
    /// closes the connection with 1008 (pings in between do not extend it). Default: 30 s.
    #[must_use]
    pub fn message_timeout(mut self, timeout: Duration) -> Self {
        self.message_timeout = timeout;
        self
    }

    /// Ping RFC 6455/HyBi clients after this long without hearing from them; one that
    /// sends nothing (not even the pong) for another interval is closed and `on_close`
    /// runs. `None`: no pings. Default: 30 s.
    #[must_use]
    pub fn ping_interval(mut self, interval: Option<Duration>) -> Self {
        self.ping_interval = interval;
        self
    }

    /// Close a Hixie connection (which has no ping) that sends nothing for this long.
    /// `None`: never. Default: 5 min.
    #[must_use]
    pub fn hixie_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.hixie_idle_timeout = timeout;
        self
    }

    /// Subprotocols (`Sec-WebSocket-Protocol`) the application speaks; the client's first
    /// offer among them is chosen ([`Conn::subprotocol`](crate::Conn::subprotocol)).
    /// Default: none.
    #[must_use]
    pub fn subprotocols<S: Into<String>>(mut self, protocols: impl IntoIterator<Item = S>) -> Self {
        self.subprotocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Refuse (400) clients that offer none of the subprotocols; by default they are
    /// accepted without one, as RFC 6455 allows.
    #[must_use]
    pub fn require_subprotocol(mut self, required: bool) -> Self {
        self.require_subprotocol = required;
        self
    }

    /// Turns on permessage-deflate (RFC 7692) for RFC 6455/HyBi clients that offer it.
    /// Default: off, as in Node's `ws` and uWebSockets: see [`Deflate`] for the costs.
    #[must_use]
    pub fn deflate(mut self, deflate: Deflate) -> Self {
        self.deflate = Some(deflate);
        self
    }

    /// Time to wait for the peer's close frame after sending ours. Default: 5 s.
    #[must_use]
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// The largest message accepted.
    pub fn message_size(&self) -> usize {
        self.max_message_size
    }

    /// Checks the limits against each other; says what the server must provide.
    pub(super) fn limits(&self) -> Result<Limits, ConfigError> {
        let fail = |why: String| Err(ConfigError::new(format!("websocket: {why}")));
        if self.frame_size() > self.max_message_size {
            return fail(format!(
                "max_frame_size ({}) must be at most max_message_size ({})",
                self.frame_size(),
                self.max_message_size
            ));
        }
        if self.max_handshake_size < 256 {
            return fail(format!(
                "max_handshake_size ({}) must be at least 256 bytes",
                self.max_handshake_size
            ));
        }
        let timeouts = [
            ("handshake_timeout", Some(self.handshake_timeout)),
            ("message_timeout", Some(self.message_timeout)),
            ("close_timeout", Some(self.close_timeout)),
            ("ping_interval", self.ping_interval),
            ("hixie_idle_timeout", self.hixie_idle_timeout),
        ];
        for (name, timeout) in timeouts {
            if timeout.is_some_and(|t| t < Duration::from_millis(1)) {
                return fail(format!("{name} must be at least 1 ms"));
            }
        }
        if self.require_subprotocol && self.subprotocols.is_empty() {
            return fail("require_subprotocol needs at least one subprotocol".into());
        }
        if let Some(rate) = &self.rate {
            rate.check(self.max_message_size)?;
        }
        Ok(Limits::default()
            // A handshake waits whole (Hixie-76: plus its 8-byte body).
            .with_unconsumed(self.max_handshake_size + 8)
            .with_message(self.max_message_size))
    }
}
