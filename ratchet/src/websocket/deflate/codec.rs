//! Compressing and inflating whole messages, the inflating bounded in size and sliced.

use crate::error::ProtocolError;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The most an inflating step writes (into memory it zeroes first).
const STEP: usize = 64 << 10;

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
        let len = out.len();
        let allowed = stop_at.saturating_sub(len).max(1);
        let spare = out.capacity() - len;
        let (in_before, out_before) = (d.total_in(), d.total_out());
        // The spare capacity when it is within the slice (the usual case, every message
        // under a slice): written in place, memory touched only as it is written. Else a
        // step of the slice, zeroed first.
        let (status, window) = if spare <= allowed {
            (d.decompress_vec(rest, out, FlushDecompress::Sync), spare)
        } else {
            let window = allowed.min(STEP);
            out.resize(len + window, 0);
            let status = d.decompress(rest, &mut out[len..], FlushDecompress::Sync);
            out.truncate(len + (d.total_out() - out_before) as usize);
            (status, window)
        };
        let status = status.map_err(|_| ProtocolError::InvalidCompressedData)?;
        let consumed = (d.total_in() - in_before) as usize;
        let produced = d.total_out() - out_before;
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
        let room_left = out.len() < len + window;
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
