//! Encoding frames, whole: unmasked from a server, masked from a client (RFC 6455 §5.3).
//! Every writer takes the masking key, `None` for a server's frames.

use super::super::mask::apply_mask;
use super::{OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT};
use crate::message::Kind;

/// The masking key of a frame: `None` from a server, a fresh random key for every frame a
/// client sends.
pub type Mask = Option<[u8; 4]>;

/// Appends a final frame's header (unmasked if `mask` is `None`).
pub fn write_header(buf: &mut Vec<u8>, opcode: u8, len: usize, mask: Mask) {
    write_header_with(buf, 0x80 | opcode, len, mask);
}

/// Appends a frame header whose first byte (FIN, RSV, opcode) is `first`.
fn write_header_with(buf: &mut Vec<u8>, first: u8, len: usize, mask: Mask) {
    let masked = if mask.is_some() { 0x80 } else { 0 };
    buf.push(first);
    match len {
        0..=125 => buf.push(masked | len as u8),
        126..=0xFFFF => {
            buf.push(masked | 126);
            buf.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            buf.push(masked | 127);
            buf.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    if let Some(key) = mask {
        buf.extend_from_slice(&key);
    }
}

/// Appends a whole frame: header, then the payload, masked with `mask` if any.
fn write_frame(buf: &mut Vec<u8>, first: u8, payload: &[u8], mask: Mask) {
    buf.reserve(payload.len() + 14);
    write_header_with(buf, first, payload.len(), mask);
    let start = buf.len();
    buf.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut buf[start..], key, 0);
    }
}

fn data_opcode(kind: Kind) -> u8 {
    match kind {
        Kind::Text => OP_TEXT,
        Kind::Binary => OP_BINARY,
    }
}

/// Appends a complete data frame.
pub fn write_message(buf: &mut Vec<u8>, kind: Kind, payload: &[u8], mask: Mask) {
    write_frame(buf, 0x80 | data_opcode(kind), payload, mask);
}

/// Appends a complete data frame whose payload is compressed (RSV1 set).
pub fn write_compressed_message(buf: &mut Vec<u8>, kind: Kind, compressed: &[u8], mask: Mask) {
    write_frame(buf, 0x80 | 0x40 | data_opcode(kind), compressed, mask);
}

/// Appends a ping.
pub fn write_ping(buf: &mut Vec<u8>, payload: &[u8], mask: Mask) {
    write_frame(buf, 0x80 | OP_PING, payload, mask);
}

/// Appends a pong answering a ping's payload.
pub fn write_pong(buf: &mut Vec<u8>, payload: &[u8], mask: Mask) {
    write_frame(buf, 0x80 | OP_PONG, payload, mask);
}

/// Appends a close frame; the reason is cut to fit 123 bytes on a character boundary.
pub fn write_close(buf: &mut Vec<u8>, code: Option<u16>, reason: &str, mask: Mask) {
    let Some(code) = code else {
        write_frame(buf, 0x80 | OP_CLOSE, &[], mask);
        return;
    };
    let mut cut = reason.len().min(123);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut payload = [0u8; 125];
    payload[..2].copy_from_slice(&code.to_be_bytes());
    payload[2..2 + cut].copy_from_slice(&reason.as_bytes()[..cut]);
    write_frame(buf, 0x80 | OP_CLOSE, &payload[..2 + cut], mask);
}
