//! Encoding server frames: unmasked, whole.

use super::{OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT};
use crate::message::Kind;

/// Appends an unmasked server frame header for a final frame.
pub fn write_header(buf: &mut Vec<u8>, opcode: u8, len: usize) {
    write_header_with(buf, 0x80 | opcode, len);
}

/// Appends an unmasked frame header whose first byte (FIN, RSV, opcode) is `first`.
fn write_header_with(buf: &mut Vec<u8>, first: u8, len: usize) {
    buf.push(first);
    match len {
        0..=125 => buf.push(len as u8),
        126..=0xFFFF => {
            buf.push(126);
            buf.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            buf.push(127);
            buf.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
}

/// Appends a complete data frame.
pub fn write_message(buf: &mut Vec<u8>, kind: Kind, payload: &[u8]) {
    let opcode = match kind {
        Kind::Text => OP_TEXT,
        Kind::Binary => OP_BINARY,
    };
    buf.reserve(payload.len() + 10);
    write_header(buf, opcode, payload.len());
    buf.extend_from_slice(payload);
}

/// Appends a complete data frame whose payload is compressed (RSV1 set).
pub fn write_compressed_message(buf: &mut Vec<u8>, kind: Kind, compressed: &[u8]) {
    let opcode = match kind {
        Kind::Text => OP_TEXT,
        Kind::Binary => OP_BINARY,
    };
    buf.reserve(compressed.len() + 10);
    write_header_with(buf, 0x80 | 0x40 | opcode, compressed.len());
    buf.extend_from_slice(compressed);
}

/// Appends a ping.
pub fn write_ping(buf: &mut Vec<u8>, payload: &[u8]) {
    write_header(buf, OP_PING, payload.len());
    buf.extend_from_slice(payload);
}

/// Appends a pong answering a ping's payload.
pub fn write_pong(buf: &mut Vec<u8>, payload: &[u8]) {
    write_header(buf, OP_PONG, payload.len());
    buf.extend_from_slice(payload);
}

/// Appends a close frame; the reason is cut to fit 123 bytes on a character boundary.
pub fn write_close(buf: &mut Vec<u8>, code: Option<u16>, reason: &str) {
    let Some(code) = code else {
        write_header(buf, OP_CLOSE, 0);
        return;
    };
    let mut cut = reason.len().min(123);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    write_header(buf, OP_CLOSE, 2 + cut);
    buf.extend_from_slice(&code.to_be_bytes());
    buf.extend_from_slice(&reason.as_bytes()[..cut]);
}
