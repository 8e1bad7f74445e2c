//! permessage-deflate's settings (RFC 7692), and what one connection negotiated: plain
//! data, shared by the WebSocket decorator that serves and the outbound connections that
//! offer them ([`crate::client`]). The negotiation and the compression itself are
//! [`websocket::deflate`](crate::websocket::deflate)'s.

/// permessage-deflate settings. Off unless set on [`Config`](crate::websocket::Config): like Node's
/// `ws` and uWebSockets, compression costs CPU and memory, so it is opt-in.
///
/// By default neither side keeps its compression context between messages
/// (`server_no_context_takeover` and `client_no_context_takeover` in every answer, which RFC
/// 7692 lets a server require). That is what keeps compression cheap:
///
/// - the server's compressors are shared by every connection with the same window, and a
///   broadcast is compressed once for all its recipients, not once each;
/// - a connection holds a decompressor only while it is receiving a message: a few
///   spares are lent in turn, and reset between messages rather than made anew.
///
/// The price is ratio: each message is compressed without the ones before it as a
/// dictionary. [`context_takeover`](Deflate::context_takeover) keeps per-connection
/// sliding windows instead, for traffic where that pays (long streams of similar
/// messages), at the memory cost below.
///
/// Memory per connection and ratio, measured by `cargo run --release --example
/// deflate_memory`: memory with 400 connections, one 32 KiB message each way (RSS of the
/// whole process divided by the connections, on the zlib-rs backend); ratio on a chat's
/// traffic, 1,000 JSON messages of 40 to 400 bytes through the echo (bytes the server's
/// frames carried, against the messages' own):
///
/// | setting | KiB per connection | a chat's traffic, compressed to |
/// |---|---|---|
/// | compression off | 1.3 | 100% |
/// | no context takeover either way (default) | 2.4 | 60% |
/// | `server_no_context_takeover` only | 49.1 | 60% |
/// | context takeover both ways | 368.8 | 25% |
/// | context takeover, 9-bit windows | 244.4 | 46% |
///
/// ```
/// use ratchet::websocket::{Config, Deflate};
///
/// let lean = Config::default().deflate(Deflate::default());
/// let sliding = Config::default().deflate(Deflate::default().context_takeover(true));
/// # let _ = (lean, sliding);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deflate {
    pub(crate) server_no_context_takeover: bool,
    pub(crate) client_no_context_takeover: bool,
    pub(crate) server_max_window_bits: u8,
    pub(crate) client_max_window_bits: u8,
    level: u32,
    threshold: usize,
}

impl Default for Deflate {
    fn default() -> Self {
        Deflate {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            level: 6,
            threshold: 64,
        }
    }
}

impl Deflate {
    /// Keep each side's compression context between messages (`true`), or reset both
    /// after every message (`false`, the default): sets both settings below.
    #[must_use]
    pub fn context_takeover(self, on: bool) -> Self {
        self.server_no_context_takeover(!on)
            .client_no_context_takeover(!on)
    }

    /// Reset the compressor after every message (smaller memory, lower ratio; lets one
    /// compression serve every recipient of a broadcast). Default: true. With `false`, a
    /// client that offers `server_no_context_takeover` still gets it.
    #[must_use]
    pub fn server_no_context_takeover(mut self, on: bool) -> Self {
        self.server_no_context_takeover = on;
        self
    }

    /// Require clients to reset theirs (lets the server free the decompressor between
    /// messages). Default: true. With `false`, a client that offers
    /// `client_no_context_takeover` still gets it.
    #[must_use]
    pub fn client_no_context_takeover(mut self, on: bool) -> Self {
        self.client_no_context_takeover = on;
        self
    }

    /// Largest LZ77 window the server compresses with, 9–15, clamped (a client may ask
    /// for less). Default: 15.
    #[must_use]
    pub fn server_max_window_bits(mut self, bits: u8) -> Self {
        self.server_max_window_bits = bits.clamp(9, 15);
        self
    }

    /// Largest window asked of clients that allow choosing, 9–15, clamped. Default: 15.
    #[must_use]
    pub fn client_max_window_bits(mut self, bits: u8) -> Self {
        self.client_max_window_bits = bits.clamp(9, 15);
        self
    }

    /// zlib compression level, 0–9, clamped. Default: 6.
    #[must_use]
    pub fn level(mut self, level: u32) -> Self {
        self.level = level.min(9);
        self
    }

    /// Messages shorter than this many bytes are sent uncompressed. Default: 64.
    #[must_use]
    pub fn threshold(mut self, bytes: usize) -> Self {
        self.threshold = bytes;
        self
    }

    /// The compression level.
    pub(crate) fn compression_level(&self) -> u32 {
        self.level
    }

    /// Messages shorter than this are sent uncompressed.
    pub(crate) fn min_size(&self) -> usize {
        self.threshold
    }
}

/// What one connection negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// The server resets its compressor after every message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after every message.
    pub client_no_context_takeover: bool,
    /// The server's compression window.
    pub server_max_window_bits: u8,
    /// The client's compression window (the server's decompression window).
    pub client_max_window_bits: u8,
}

impl Params {
    /// The same parameters seen from the other end: a client compresses with the
    /// `client_*` ones and inflates with the `server_*` ones, so its codec, written for a
    /// server's side, takes these swapped.
    #[must_use]
    pub fn mirrored(self) -> Params {
        Params {
            server_no_context_takeover: self.client_no_context_takeover,
            client_no_context_takeover: self.server_no_context_takeover,
            server_max_window_bits: self.client_max_window_bits,
            client_max_window_bits: self.server_max_window_bits,
        }
    }
}
