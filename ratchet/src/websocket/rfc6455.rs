//! RFC 6455 framing (also HyBi-07/-10, which frame the same way): a streaming decoder for
//! client frames and the encoder for server frames.

use super::deflate::{self, Params};
use super::mask::apply_mask;
use super::utf8::Utf8Validator;
use crate::error::ProtocolError;
use crate::message::{Kind, Message};
use flate2::Decompress;

const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// Keep at most this much message-buffer capacity between messages.
const KEEP_CAPACITY: usize = 4 * 1024;

/// What the decoder found.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A complete data message.
    Message(Message<'a>),
    /// A ping with its payload.
    Ping(&'a [u8]),
    /// A pong with its payload.
    Pong(&'a [u8]),
    /// A close frame: `None` if it carried no code, else the code and the reason.
    Close(Option<(u16, &'a str)>),
}

#[derive(Debug, Clone, Copy)]
struct Header {
    fin: bool,
    /// RSV1: the message is compressed (permessage-deflate).
    rsv1: bool,
    opcode: u8,
    mask: [u8; 4],
    len: u64,
}

/// The state of one connection's inbound stream, resumable at any byte.
#[derive(Debug)]
pub struct Decoder {
    max_message: usize,
    max_frame: usize,
    /// The frame whose payload is being read, and how much of it has been read.
    frame: Option<(Header, u64)>,
    /// The kind of the data message in progress (set from its first frame to its last).
    message: Option<Kind>,
    /// Whether the message in progress is compressed.
    compressed: bool,
    /// permessage-deflate, if negotiated.
    inflate: Option<Inflate>,
    /// The payload of a message that is fragmented or split across reads.
    buf: Vec<u8>,
    /// `buf` holds a message delivered last call; clear it before going on.
    delivered: bool,
    utf8: Utf8Validator,
    control: [u8; 125],
}

/// The inflating side of permessage-deflate.
struct Inflate {
    window_bits: u8,
    /// The client resets its context per message: drop ours between messages.
    reset: bool,
    /// Created at the first compressed message (and again after each, if `reset`).
    decompress: Option<Box<Decompress>>,
}

impl std::fmt::Debug for Inflate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflate")
            .field("window_bits", &self.window_bits)
            .field("reset", &self.reset)
            .finish()
    }
}

impl Decoder {
    /// A decoder refusing messages over `max_message` bytes.
    pub fn new(max_message: usize) -> Self {
        Self::with_deflate(max_message, None)
    }

    /// A decoder that also inflates messages compressed with the negotiated `deflate`.
    pub fn with_deflate(max_message: usize, deflate: Option<Params>) -> Self {
        Decoder {
            max_message,
            max_frame: max_message,
            frame: None,
            message: None,
            compressed: false,
            inflate: deflate.map(|p| Inflate {
                window_bits: p.client_max_window_bits,
                reset: p.client_no_context_takeover,
                decompress: None,
            }),
            buf: Vec::new(),
            delivered: false,
            utf8: Utf8Validator::default(),
            control: [0; 125],
        }
    }

    /// Refuses frames over `max_frame` bytes (on the wire).
    #[must_use]
    pub fn max_frame(mut self, max_frame: usize) -> Self {
        self.max_frame = max_frame;
        self
    }

    /// Whether a data message is begun and not finished.
    pub fn in_progress(&self) -> bool {
        self.message.is_some() || self.frame.is_some_and(|(h, _)| h.opcode < OP_CLOSE)
    }

    /// Bytes held for the message in progress: reassembled or inflated so far, plus the
    /// rest of an uncompressed frame being buffered (reserved from its header on, so a
    /// frame admitted under the inbound budget cannot outgrow it).
    pub fn held(&self) -> usize {
        if self.message.is_none() {
            return 0;
        }
        let reserved = match self.frame {
            Some((header, read)) if header.opcode < OP_CLOSE && !self.compressed => {
                usize::try_from(header.len - read).unwrap_or(usize::MAX)
            }
            _ => 0,
        };
        self.buf.len().saturating_add(reserved)
    }

    /// Forgets the message delivered last, and gives back a large buffer: called before
    /// decoding on, and when the read that delivered it is used up, so that an idle
    /// connection holds no message memory.
    pub fn release(&mut self) {
        if self.delivered {
            self.delivered = false;
            self.buf.clear();
            if self.buf.capacity() > KEEP_CAPACITY {
                self.buf = Vec::new();
            }
        }
    }

    /// Decodes from `data[*pos..]`, advancing `pos` past what it consumed. Returns the
    /// next complete frame, or `None` when `data` is exhausted (the unconsumed rest is
    /// shorter than a frame header). Unmasks `data` in place.
    ///
    /// A message that must be held (fragmented, split across reads, or compressed) may
    /// hold at most `allowance` bytes: the connection's share of the server-wide inbound
    /// budget. Past it the message is refused with [`ProtocolError::Busy`].
    pub fn decode<'a>(
        &'a mut self,
        data: &'a mut [u8],
        pos: &mut usize,
        allowance: usize,
    ) -> Result<Option<Frame<'a>>, ProtocolError> {
        self.release();
        loop {
            let (header, read) = match self.frame {
                Some(frame) => frame,
                None => match self.parse_header(&data[*pos..], allowance)? {
                    Some((header, header_len)) => {
                        *pos += header_len;
                        (header, 0)
                    }
                    None => return Ok(None),
                },
            };
            let remaining = header.len - read;
            let available =
                (data.len() - *pos).min(usize::try_from(remaining).unwrap_or(usize::MAX));
            let start = *pos;
            let chunk = &mut data[start..start + available];
            apply_mask(chunk, header.mask, (read % 4) as usize);
            *pos += available;
            let done = available as u64 == remaining;
            self.frame = if done {
                None
            } else {
                Some((header, read + available as u64))
            };

            if header.opcode >= OP_CLOSE {
                let at = read as usize;
                self.control[at..at + available].copy_from_slice(chunk);
                if !done {
                    return Ok(None);
                }
                let payload = &self.control[..header.len as usize];
                return control_frame(header.opcode, payload).map(Some);
            }

            let kind = self.message.unwrap_or(if header.opcode == OP_TEXT {
                Kind::Text
            } else {
                Kind::Binary
            });
            let compressed = if self.message.is_some() {
                self.compressed
            } else {
                header.rsv1
            };
            let whole_message_here =
                !compressed && done && read == 0 && header.fin && self.message.is_none();
            if whole_message_here {
                // Fast path: the complete message is in this read; deliver it in place.
                let chunk = &data[start..start + available];
                return match kind {
                    Kind::Text => match std::str::from_utf8(chunk) {
                        Ok(text) => Ok(Some(Frame::Message(Message::Text(text)))),
                        Err(_) => Err(ProtocolError::InvalidUtf8),
                    },
                    Kind::Binary => Ok(Some(Frame::Message(Message::Binary(chunk)))),
                };
            }

            if self.message.is_none() {
                self.message = Some(kind);
                self.compressed = compressed;
                self.utf8.reset();
            }
            let before = self.buf.len();
            if compressed {
                let Some(inflate) = &mut self.inflate else {
                    return Err(ProtocolError::ReservedBits);
                };
                let window = inflate.window_bits;
                let d = inflate
                    .decompress
                    .get_or_insert_with(|| deflate::decompressor(window));
                let max_message = self.max_message;
                let max = max_message.min(allowance);
                let busy = |e| match e {
                    ProtocolError::MessageTooBig if max < max_message => ProtocolError::Busy,
                    e => e,
                };
                deflate::inflate(d, chunk, &mut self.buf, max).map_err(busy)?;
                if done && header.fin {
                    deflate::inflate_end(d, &mut self.buf, max).map_err(busy)?;
                    if inflate.reset {
                        inflate.decompress = None;
                    }
                }
            } else {
                self.buf.extend_from_slice(chunk);
            }
            if kind == Kind::Text && self.utf8.feed(&self.buf[before..]).is_err() {
                return Err(ProtocolError::InvalidUtf8);
            }
            if !(done && header.fin) {
                if *pos == data.len() {
                    return Ok(None);
                }
                continue;
            }
            self.message = None;
            self.delivered = true;
            return match kind {
                Kind::Text => {
                    if !self.utf8.is_complete() {
                        return Err(ProtocolError::InvalidUtf8);
                    }
                    std::str::from_utf8(&self.buf)
                        .map(|text| Some(Frame::Message(Message::Text(text))))
                        .map_err(|_| ProtocolError::InvalidUtf8)
                }
                Kind::Binary => Ok(Some(Frame::Message(Message::Binary(&self.buf)))),
            };
        }
    }

    /// Parses and validates a frame header, or returns `None` if it is not all here.
    fn parse_header(
        &mut self,
        data: &[u8],
        allowance: usize,
    ) -> Result<Option<(Header, usize)>, ProtocolError> {
        let [b0, b1, ..] = *data else { return Ok(None) };
        let fin = b0 & 0x80 != 0;
        let rsv1 = b0 & 0x40 != 0;
        let opcode = b0 & 0x0F;
        if b0 & 0x30 != 0 {
            return Err(ProtocolError::ReservedBits);
        }
        match opcode {
            OP_CONTINUATION | OP_TEXT | OP_BINARY | OP_CLOSE | OP_PING | OP_PONG => {}
            _ => return Err(ProtocolError::ReservedOpcode),
        }
        if b1 & 0x80 == 0 {
            return Err(ProtocolError::UnmaskedFrame);
        }
        let short = b1 & 0x7F;
        let is_control = opcode >= OP_CLOSE;
        // RSV1 marks the first frame of a compressed message, and nothing else (RFC 7692 §6).
        if rsv1 && (self.inflate.is_none() || is_control || opcode == OP_CONTINUATION) {
            return Err(ProtocolError::ReservedBits);
        }
        if is_control && !fin {
            return Err(ProtocolError::FragmentedControlFrame);
        }
        if is_control && short > 125 {
            return Err(ProtocolError::ControlFrameTooLong);
        }
        let ext = match short {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let header_len = 2 + ext + 4;
        if data.len() < header_len {
            return Ok(None);
        }
        let len = match ext {
            2 => u64::from(u16::from_be_bytes([data[2], data[3]])),
            8 => {
                let mut be = [0; 8];
                be.copy_from_slice(&data[2..10]);
                let len = u64::from_be_bytes(be);
                if len >> 63 != 0 {
                    return Err(ProtocolError::InvalidLength);
                }
                len
            }
            _ => u64::from(short),
        };
        let mut mask = [0; 4];
        mask.copy_from_slice(&data[2 + ext..header_len]);
        if !is_control {
            match (opcode, self.message) {
                (OP_CONTINUATION, None) => return Err(ProtocolError::UnexpectedContinuation),
                (OP_TEXT | OP_BINARY, Some(_)) => return Err(ProtocolError::ExpectedContinuation),
                _ => {}
            }
            // Checked against the limits before a byte of the payload is buffered
            // (compressed payloads are checked as they inflate).
            let have = self.buf.len() as u64;
            let compressed = rsv1 || (opcode == OP_CONTINUATION && self.compressed);
            if !compressed && len > (self.max_message as u64).saturating_sub(have) {
                return Err(ProtocolError::MessageTooBig);
            }
            if len > self.max_frame as u64 {
                return Err(ProtocolError::FrameTooBig);
            }
            // A whole message in this read is delivered in place; anything else is held.
            let in_place =
                fin && self.message.is_none() && data.len() as u64 >= header_len as u64 + len;
            if !compressed && !in_place && have + len > allowance as u64 {
                return Err(ProtocolError::Busy);
            }
        }
        Ok(Some((
            Header {
                fin,
                rsv1,
                opcode,
                mask,
                len,
            },
            header_len,
        )))
    }
}

fn control_frame(opcode: u8, payload: &[u8]) -> Result<Frame<'_>, ProtocolError> {
    match opcode {
        OP_PING => Ok(Frame::Ping(payload)),
        OP_PONG => Ok(Frame::Pong(payload)),
        _ => match payload {
            [] => Ok(Frame::Close(None)),
            [_] => Err(ProtocolError::InvalidClosePayload),
            [hi, lo, reason @ ..] => {
                let code = u16::from_be_bytes([*hi, *lo]);
                if !crate::CloseCode::from(code).is_allowed_on_wire() {
                    return Err(ProtocolError::InvalidCloseCode);
                }
                let reason = std::str::from_utf8(reason).map_err(|_| ProtocolError::InvalidUtf8)?;
                Ok(Frame::Close(Some((code, reason))))
            }
        },
    }
}

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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A masked client frame.
    pub fn client_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let mut out = vec![(if fin { 0x80 } else { 0 }) | opcode];
        match payload.len() {
            n @ 0..=125 => out.push(0x80 | n as u8),
            n @ 126..=0xFFFF => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&mask);
        let start = out.len();
        out.extend_from_slice(payload);
        apply_mask(&mut out[start..], mask, 0);
        out
    }

    #[derive(Debug, PartialEq, Eq)]
    pub enum Owned {
        Text(String),
        Binary(Vec<u8>),
        Ping(Vec<u8>),
        Pong(Vec<u8>),
        Close(Option<(u16, String)>),
        Error(ProtocolError),
    }

    /// Feeds `stream` in pieces cut at `cuts`, the way the server does (keeping the
    /// unconsumed rest), and collects what comes out.
    pub fn decode_split(stream: &[u8], cuts: &[usize], max: usize) -> Vec<Owned> {
        let mut dec = Decoder::new(max);
        let mut out = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        let mut bounds: Vec<usize> = cuts.to_vec();
        bounds.push(stream.len());
        let mut last = 0;
        for &b in &bounds {
            pending.extend_from_slice(&stream[last..b]);
            last = b;
            let mut pos = 0;
            loop {
                match dec.decode(&mut pending, &mut pos, usize::MAX) {
                    Ok(Some(frame)) => out.push(match frame {
                        Frame::Message(Message::Text(t)) => Owned::Text(t.to_owned()),
                        Frame::Message(Message::Binary(b)) => Owned::Binary(b.to_vec()),
                        Frame::Ping(p) => Owned::Ping(p.to_vec()),
                        Frame::Pong(p) => Owned::Pong(p.to_vec()),
                        Frame::Close(c) => Owned::Close(c.map(|(code, r)| (code, r.to_owned()))),
                    }),
                    Ok(None) => break,
                    Err(e) => {
                        out.push(Owned::Error(e));
                        return out;
                    }
                }
            }
            pending.drain(..pos);
        }
        out
    }

    fn stream() -> Vec<u8> {
        let mut s = client_frame(true, OP_TEXT, "Hello, κόσμε".as_bytes());
        s.extend(client_frame(false, OP_BINARY, &[1, 2, 3]));
        s.extend(client_frame(true, OP_PING, b"ping!"));
        s.extend(client_frame(false, OP_CONTINUATION, &[4; 300]));
        s.extend(client_frame(true, OP_CONTINUATION, &[]));
        s.extend(client_frame(false, OP_TEXT, "€".as_bytes()));
        s.extend(client_frame(true, OP_CONTINUATION, "𝄞".as_bytes()));
        s.extend(client_frame(true, OP_BINARY, &vec![9; 70_000]));
        s.extend(client_frame(true, OP_CLOSE, &[0x03, 0xe8, b'o', b'k']));
        s
    }

    fn expected() -> Vec<Owned> {
        let mut bin = vec![1, 2, 3];
        bin.extend([4; 300]);
        vec![
            Owned::Text("Hello, κόσμε".into()),
            Owned::Ping(b"ping!".to_vec()),
            Owned::Binary(bin),
            Owned::Text("€𝄞".into()),
            Owned::Binary(vec![9; 70_000]),
            Owned::Close(Some((1000, "ok".into()))),
        ]
    }

    #[test]
    fn decodes_a_stream_in_one_read() {
        assert_eq!(decode_split(&stream(), &[], 1 << 20), expected());
    }

    #[test]
    fn decodes_every_two_way_split_the_same() {
        let s = stream();
        for cut in (0..s.len()).step_by(7).chain(0..40) {
            assert_eq!(
                decode_split(&s, &[cut], 1 << 20),
                expected(),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn decodes_byte_by_byte() {
        let s = stream();
        let cuts: Vec<usize> = (1..s.len()).collect();
        assert_eq!(decode_split(&s, &cuts, 1 << 20), expected());
    }

    #[test]
    fn refuses_rule_breakers() {
        let err = |bytes: Vec<u8>| decode_split(&bytes, &[], 1024).pop();
        let mut unmasked = client_frame(true, OP_TEXT, b"x");
        unmasked[1] &= 0x7F;
        assert_eq!(
            err(unmasked),
            Some(Owned::Error(ProtocolError::UnmaskedFrame))
        );
        assert_eq!(
            err(client_frame(true, 0x40 | OP_TEXT, b"x")),
            Some(Owned::Error(ProtocolError::ReservedBits))
        );
        assert_eq!(
            err(client_frame(true, 0x3, b"x")),
            Some(Owned::Error(ProtocolError::ReservedOpcode))
        );
        assert_eq!(
            err(client_frame(true, 0xB, b"x")),
            Some(Owned::Error(ProtocolError::ReservedOpcode))
        );
        assert_eq!(
            err(client_frame(false, OP_PING, b"x")),
            Some(Owned::Error(ProtocolError::FragmentedControlFrame))
        );
        assert_eq!(
            err(client_frame(true, OP_PING, &[0; 126])),
            Some(Owned::Error(ProtocolError::ControlFrameTooLong))
        );
        assert_eq!(
            err(client_frame(true, OP_CONTINUATION, b"x")),
            Some(Owned::Error(ProtocolError::UnexpectedContinuation))
        );
        let mut two_starts = client_frame(false, OP_TEXT, b"a");
        two_starts.extend(client_frame(true, OP_TEXT, b"b"));
        assert_eq!(
            err(two_starts),
            Some(Owned::Error(ProtocolError::ExpectedContinuation))
        );
        assert_eq!(
            err(client_frame(true, OP_CLOSE, &[3])),
            Some(Owned::Error(ProtocolError::InvalidClosePayload))
        );
        assert_eq!(
            err(client_frame(true, OP_CLOSE, &[0x03, 0xed])),
            Some(Owned::Error(ProtocolError::InvalidCloseCode))
        );
        assert_eq!(
            err(client_frame(true, OP_CLOSE, &[0x03, 0xe8, 0xff])),
            Some(Owned::Error(ProtocolError::InvalidUtf8))
        );
        assert_eq!(
            err(client_frame(true, OP_TEXT, &[0xff])),
            Some(Owned::Error(ProtocolError::InvalidUtf8))
        );
    }

    #[test]
    fn refuses_oversize_from_the_header_alone() {
        // Only the header of a 2 GiB frame: refused before any payload arrives.
        let mut header = vec![0x82, 0x80 | 127];
        header.extend_from_slice(&(2u64 << 30).to_be_bytes());
        header.extend_from_slice(&[1, 2, 3, 4]);
        assert_eq!(
            decode_split(&header, &[], 16 << 20),
            [Owned::Error(ProtocolError::MessageTooBig)]
        );
        // Fragments that add up past the limit are refused at the frame that crosses it.
        let mut s = client_frame(false, OP_BINARY, &[0; 600]);
        s.extend(client_frame(true, OP_CONTINUATION, &[0; 600]));
        assert_eq!(
            decode_split(&s, &[], 1000),
            [Owned::Error(ProtocolError::MessageTooBig)]
        );
        let mut huge_len = vec![0x82, 0x80 | 127];
        huge_len.extend_from_slice(&u64::MAX.to_be_bytes());
        huge_len.extend_from_slice(&[1, 2, 3, 4]);
        assert_eq!(
            decode_split(&huge_len, &[], 1000),
            [Owned::Error(ProtocolError::InvalidLength)]
        );
    }

    #[test]
    fn fails_fast_on_invalid_utf8_inside_a_frame() {
        // A 1000-byte text frame whose 3rd byte is invalid: refused with only 10 bytes in.
        let mut payload = vec![b'a'; 1000];
        payload[2] = 0xff;
        let frame = client_frame(true, OP_TEXT, &payload);
        assert_eq!(
            decode_split(&frame[..16], &[], 1 << 20),
            [Owned::Error(ProtocolError::InvalidUtf8)]
        );
    }

    #[test]
    fn encodes_lengths_at_each_boundary() {
        for len in [0, 125, 126, 65535, 65536] {
            let mut buf = Vec::new();
            write_message(&mut buf, Kind::Binary, &vec![7; len]);
            let header = match len {
                0..=125 => 2,
                126..=65535 => 4,
                _ => 10,
            };
            assert_eq!(buf.len(), header + len);
            assert_eq!(buf[0], 0x82);
        }
        let mut buf = Vec::new();
        write_close(&mut buf, Some(1000), &"é".repeat(100));
        assert_eq!(buf[1] as usize, buf.len() - 2);
        assert!(buf.len() - 4 <= 123);
        assert!(std::str::from_utf8(&buf[4..]).is_ok());
    }

    #[test]
    fn a_held_message_counts_against_the_allowance_from_its_header() {
        // A frame of 1000 bytes, 100 of them here: 1000 are reserved at once.
        let frame = client_frame(false, OP_BINARY, &[7; 1000]);
        let mut dec = Decoder::new(1 << 20);
        let mut part = frame[..108].to_vec();
        let mut pos = 0;
        assert_eq!(dec.decode(&mut part, &mut pos, 1000), Ok(None));
        assert!(dec.in_progress());
        assert_eq!(dec.held(), 1000);
        // With less allowance than the frame announces, it is refused at the header.
        let mut dec = Decoder::new(1 << 20);
        let mut part = frame[..108].to_vec();
        let mut pos = 0;
        assert_eq!(
            dec.decode(&mut part, &mut pos, 999),
            Err(ProtocolError::Busy)
        );
        // A whole message in one read is delivered in place and holds nothing.
        let mut whole = client_frame(true, OP_BINARY, &[7; 1000]);
        let mut dec = Decoder::new(1 << 20);
        let mut pos = 0;
        assert!(matches!(
            dec.decode(&mut whole, &mut pos, 0),
            Ok(Some(Frame::Message(_)))
        ));
        assert_eq!(dec.held(), 0);
    }

    #[test]
    fn frames_over_the_frame_limit_are_refused() {
        let mut two = client_frame(false, OP_TEXT, &[b'a'; 600]);
        two.extend(client_frame(true, OP_CONTINUATION, &[b'a'; 600]));
        let mut dec = Decoder::new(10_000).max_frame(500);
        let mut pos = 0;
        assert_eq!(
            dec.decode(&mut two, &mut pos, usize::MAX),
            Err(ProtocolError::FrameTooBig)
        );
    }
}
