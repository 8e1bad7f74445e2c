//! permessage-deflate (RFC 7692): negotiation, and compression of whole messages with
//! `flate2` (zlib-rs backend: no system library).

use crate::error::ProtocolError;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// permessage-deflate settings. Off unless set on [`Config`](super::Config): like Node's
/// `ws` and uWebSockets, compression costs CPU and memory, so it is opt-in.
///
/// By default neither side keeps its compression context between messages
/// (`server_no_context_takeover` and `client_no_context_takeover` in every answer, which RFC
/// 7692 lets a server require). That is what keeps compression cheap:
///
/// - the server's compressors are shared by every connection with the same window, and a
///   broadcast is compressed once for all its recipients, not once each;
/// - a connection's decompressor exists only while a message is being received.
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
/// | compression off | 1.9 | 100% |
/// | no context takeover either way (default) | 9.9 | 60% |
/// | `server_no_context_takeover` only | 49.6 | 60% |
/// | context takeover both ways | 368.9 | 25% |
/// | context takeover, 9-bit windows | 245.0 | 46% |
///
/// ```
/// use ratchet::websocket::{Config, Deflate};
///
/// let lean = Config::default().deflate(Deflate::default());
/// let sliding = Config::default().deflate(Deflate::default().context_takeover(true));
/// # let _ = (lean, sliding);
/// ```
#[derive(Debug, Clone)]
pub struct Deflate {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: u8,
    client_max_window_bits: u8,
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

/// Picks the first acceptable `permessage-deflate` offer among the values of
/// `Sec-WebSocket-Extensions`; returns the parameters and the response header value.
/// Offers with unknown, duplicate or invalid parameters are declined (RFC 7692 §7.1).
pub fn negotiate<'a>(
    values: impl IntoIterator<Item = &'a str>,
    config: &Deflate,
) -> Option<(Params, String)> {
    values
        .into_iter()
        .flat_map(|v| v.split(','))
        .filter_map(|offer| {
            let mut parts = offer.split(';').map(str::trim);
            (parts.next() == Some("permessage-deflate")).then_some(parts)
        })
        .find_map(|params| accept(params, config))
}

/// A window-bits value: 8–15, digits only, no leading zero.
fn window_bits(value: &str) -> Option<u8> {
    match value.as_bytes() {
        [d @ b'8'..=b'9'] => Some(d - b'0'),
        [b'1', d @ b'0'..=b'5'] => Some(10 + d - b'0'),
        _ => None,
    }
}

fn accept<'a>(params: impl Iterator<Item = &'a str>, config: &Deflate) -> Option<(Params, String)> {
    let mut server_nct = false;
    let mut client_nct = false;
    let mut server_bits: Option<u8> = None;
    let mut client_bits: Option<Option<u8>> = None;
    let mut seen: Vec<&str> = Vec::new();
    for param in params {
        let (name, value) = match param.split_once('=') {
            Some((n, v)) => {
                let v = v.trim();
                let v = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(v);
                (n.trim(), Some(v))
            }
            None => (param, None),
        };
        if seen.contains(&name) {
            return None;
        }
        seen.push(name);
        match (name, value) {
            ("server_no_context_takeover", None) => server_nct = true,
            ("client_no_context_takeover", None) => client_nct = true,
            ("server_max_window_bits", Some(v)) => server_bits = Some(window_bits(v)?),
            ("client_max_window_bits", None) => client_bits = Some(None),
            ("client_max_window_bits", Some(v)) => client_bits = Some(Some(window_bits(v)?)),
            _ => return None,
        }
    }
    // zlib cannot compress with an 8-bit window: decline rather than exceed the limit.
    let server_window = match server_bits {
        Some(8) => return None,
        Some(bits) => bits.min(config.server_max_window_bits),
        None => config.server_max_window_bits,
    };
    let client_window = match client_bits {
        None => 15,
        Some(None) => config.client_max_window_bits,
        Some(Some(bits)) => bits.min(config.client_max_window_bits),
    };
    let params = Params {
        server_no_context_takeover: server_nct || config.server_no_context_takeover,
        client_no_context_takeover: client_nct || config.client_no_context_takeover,
        server_max_window_bits: server_window,
        client_max_window_bits: client_window,
    };
    let mut response = String::from("permessage-deflate");
    if params.server_no_context_takeover {
        response.push_str("; server_no_context_takeover");
    }
    if params.client_no_context_takeover {
        response.push_str("; client_no_context_takeover");
    }
    if server_bits.is_some() || server_window < 15 {
        response.push_str(&format!("; server_max_window_bits={server_window}"));
    }
    if client_bits.is_some() && client_window < 15 {
        response.push_str(&format!("; client_max_window_bits={client_window}"));
    }
    Some((params, response))
}

/// The tail every sync-flushed deflate block ends with, removed on the wire (§7.2.1).
const TAIL: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

/// A compressor for messages to clients.
pub fn compressor(level: u32, window_bits: u8) -> Box<Compress> {
    Box::new(Compress::new_with_window_bits(
        Compression::new(level),
        false,
        window_bits.clamp(9, 15),
    ))
}

/// A decompressor for messages from clients.
pub fn decompressor(window_bits: u8) -> Box<Decompress> {
    Box::new(Decompress::new_with_window_bits(
        false,
        window_bits.clamp(9, 15),
    ))
}

/// Compresses one whole message into `out` (appending), without the final tail; resets
/// the compressor afterwards if `reset`.
pub fn compress(c: &mut Compress, payload: &[u8], out: &mut Vec<u8>, reset: bool) {
    let start = out.len();
    let mut input = payload;
    loop {
        out.reserve(input.len() / 2 + 64);
        let before = c.total_in();
        // Only fails on a corrupted stream state, which this code never creates.
        if c.compress_vec(input, out, FlushCompress::Sync).is_err() {
            break;
        }
        input = &input[(c.total_in() - before) as usize..];
        if input.is_empty() && out.len() < out.capacity() {
            break;
        }
    }
    if out[start..].ends_with(&TAIL) {
        out.truncate(out.len() - TAIL.len());
    }
    if out.len() == start {
        out.push(0x00); // an empty message is one empty stored block, minus its tail
    }
    if reset {
        c.reset();
    }
}

/// Inflates `input` onto `out`, never letting `out` grow past `max` bytes: a message that
/// would is refused with [`ProtocolError::MessageTooBig`] before it is allocated. Stops
/// early, once `slice` bytes were produced with input left, so that one message cannot
/// hold the loop: returns how much of `input` it took.
///
/// A sender may end a message's DEFLATE stream with a final block (BFINAL, RFC 7692
/// §7.2.3.4): the stream then starts afresh, with what follows (usually one byte that
/// begins an empty stored block) and with the next message.
pub fn inflate(
    d: &mut Decompress,
    input: &[u8],
    out: &mut Vec<u8>,
    max: usize,
    slice: usize,
) -> Result<usize, ProtocolError> {
    let stop_at = out.len().saturating_add(slice.max(1));
    let mut rest = input;
    loop {
        if out.len() >= stop_at && !rest.is_empty() {
            return Ok(input.len() - rest.len());
        }
        if out.len() == out.capacity() {
            if out.len() > max {
                return Err(ProtocolError::MessageTooBig);
            }
            let target = (out.capacity() * 2)
                .max(rest.len() * 2)
                .max(4096)
                .min(max + 1);
            out.reserve_exact(target - out.len());
        }
        // Written into the spare capacity, but no further than the slice allows.
        let len = out.len();
        let room = (out.capacity() - len).min(stop_at.saturating_sub(len).max(1));
        out.resize(len + room, 0);
        let (in_before, out_before) = (d.total_in(), d.total_out());
        let status = d
            .decompress(rest, &mut out[len..], FlushDecompress::Sync)
            .map_err(|_| ProtocolError::InvalidCompressedData)?;
        let consumed = (d.total_in() - in_before) as usize;
        let produced = d.total_out() - out_before;
        out.truncate(len + produced as usize);
        rest = &rest[consumed..];
        if out.len() > max {
            return Err(ProtocolError::MessageTooBig);
        }
        if status == Status::StreamEnd {
            d.reset(false);
            if rest.is_empty() {
                return Ok(input.len());
            }
            continue;
        }
        let room_left = out.len() < len + room;
        if (rest.is_empty() && room_left) || (consumed == 0 && produced == 0 && room_left) {
            return Ok(input.len() - rest.len());
        }
    }
}

/// Inflates the end of a message (the tail the sender removed), unless its stream ended
/// with a final block and nothing followed: a fresh stream has nothing to end.
pub fn inflate_end(d: &mut Decompress, out: &mut Vec<u8>, max: usize) -> Result<(), ProtocolError> {
    if d.total_in() == 0 {
        return Ok(());
    }
    inflate(d, &TAIL, out, max, usize::MAX).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a server with context takeover answers (it adds nothing the client did not
    /// ask for).
    fn offer(header: &str) -> Option<(Params, String)> {
        negotiate([header], &Deflate::default().context_takeover(true))
    }

    #[test]
    fn by_default_neither_side_keeps_its_context() {
        let (params, response) = negotiate(
            ["permessage-deflate; client_max_window_bits"],
            &Deflate::default(),
        )
        .unwrap();
        assert_eq!(
            response,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        );
        assert!(params.server_no_context_takeover && params.client_no_context_takeover);
    }

    #[test]
    fn negotiates_the_first_acceptable_offer() {
        let (params, response) = offer("permessage-deflate; client_max_window_bits").unwrap();
        assert_eq!(response, "permessage-deflate");
        assert_eq!(params.client_max_window_bits, 15);

        let (params, response) =
            offer("permessage-deflate; server_max_window_bits=8, permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_no_context_takeover")
                .unwrap();
        assert_eq!(
            response,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10"
        );
        assert_eq!(params.server_max_window_bits, 10);
        assert!(params.server_no_context_takeover && params.client_no_context_takeover);

        let (_, response) =
            offer("x-webkit-deflate-frame, permessage-deflate; client_max_window_bits=\"12\"")
                .unwrap();
        assert_eq!(response, "permessage-deflate; client_max_window_bits=12");
    }

    #[test]
    fn declines_malformed_offers() {
        for bad in [
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=08",
            "permessage-deflate; client_max_window_bits=7",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; unknown_param",
            "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
        ] {
            assert_eq!(offer(bad), None, "{bad}");
        }
        // A declined offer does not stop a later, valid one.
        assert!(offer("permessage-deflate; bogus, permessage-deflate").is_some());
    }

    #[test]
    fn round_trips_with_and_without_context_takeover() {
        let text = "Ratchet ".repeat(500);
        for reset in [false, true] {
            let mut c = compressor(6, 15);
            let mut d = decompressor(15);
            for _ in 0..3 {
                let mut wire = Vec::new();
                compress(&mut c, text.as_bytes(), &mut wire, reset);
                assert!(wire.len() < text.len() / 10);
                let mut out = Vec::new();
                inflate(&mut d, &wire, &mut out, 1 << 20, usize::MAX).unwrap();
                inflate_end(&mut d, &mut out, 1 << 20).unwrap();
                assert_eq!(out, text.as_bytes());
                if reset {
                    d.reset(false);
                }
            }
        }
        let mut wire = Vec::new();
        compress(&mut compressor(6, 9), b"", &mut wire, true);
        let mut out = Vec::new();
        let mut d = decompressor(9);
        inflate(&mut d, &wire, &mut out, 10, usize::MAX).unwrap();
        inflate_end(&mut d, &mut out, 10).unwrap();
        assert!(out.is_empty());
    }

    /// Raw DEFLATE of `text` ending in a final block (what `Z_FINISH` makes), as some
    /// senders compress messages (RFC 7692 §7.2.3.4).
    fn final_block(text: &[u8]) -> Vec<u8> {
        let mut c = Compress::new(Compression::default(), false);
        let mut out = Vec::with_capacity(text.len() + 64);
        c.compress_vec(text, &mut out, FlushCompress::Finish)
            .unwrap();
        out
    }

    #[test]
    fn a_final_block_does_not_empty_the_messages_after_it() {
        let mut d = decompressor(15);
        // With and without the RFC's trailing 0x00, then an ordinary sync-flushed message
        // from a fresh compressor (the sender's stream ended too).
        for payload in [final_block(b"Hello"), {
            let mut p = final_block(b"Hello");
            p.push(0x00);
            p
        }] {
            let mut out = Vec::new();
            inflate(&mut d, &payload, &mut out, 1 << 20, usize::MAX).unwrap();
            inflate_end(&mut d, &mut out, 1 << 20).unwrap();
            assert_eq!(out, b"Hello");
            let mut wire = Vec::new();
            compress(&mut compressor(6, 15), b"and after", &mut wire, false);
            let mut out = Vec::new();
            inflate(&mut d, &wire, &mut out, 1 << 20, usize::MAX).unwrap();
            inflate_end(&mut d, &mut out, 1 << 20).unwrap();
            assert_eq!(out, b"and after");
            d.reset(false);
        }
        // The RFC's own example: "Hello" in a final block, then 0x00.
        let mut out = Vec::new();
        let rfc = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
        inflate(&mut d, &rfc, &mut out, 100, usize::MAX).unwrap();
        inflate_end(&mut d, &mut out, 100).unwrap();
        assert_eq!(out, b"Hello");
    }

    #[test]
    fn a_bomb_is_refused_without_allocating_it() {
        let zeros = vec![0u8; 10 << 20];
        let mut wire = Vec::new();
        compress(&mut compressor(9, 15), &zeros, &mut wire, true);
        assert!(
            wire.len() < 20_000,
            "10 MiB of zeros compress to {} bytes",
            wire.len()
        );
        let mut out = Vec::new();
        let err = inflate(&mut decompressor(15), &wire, &mut out, 64 << 10, usize::MAX);
        assert_eq!(err, Err(ProtocolError::MessageTooBig));
        assert!(
            out.capacity() <= (64 << 10) + 1,
            "grew to {}",
            out.capacity()
        );
    }

    #[test]
    fn inflates_in_slices_and_resumes_where_it_stopped() {
        let text: Vec<u8> = (0..4u32 << 20).map(|i| (i % 251) as u8).collect();
        let mut wire = Vec::new();
        compress(&mut compressor(6, 15), &text, &mut wire, true);
        let (mut d, mut out, mut taken, mut calls) = (decompressor(15), Vec::new(), 0, 0);
        while taken < wire.len() {
            let before = out.len();
            taken += inflate(&mut d, &wire[taken..], &mut out, 8 << 20, 256 << 10).unwrap();
            calls += 1;
            // A slice, plus at most what one step of the decompressor writes past it.
            assert!(out.len() - before <= 512 << 10, "{}", out.len() - before);
        }
        inflate_end(&mut d, &mut out, 8 << 20).unwrap();
        assert_eq!(out, text);
        assert!(calls >= 16, "4 MiB in slices of 256 KiB: {calls} calls");
    }
}
