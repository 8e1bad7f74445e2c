//! Decoding frames: a resumable state machine over whatever bytes arrived. A server's
//! decoder takes masked frames only, a client's unmasked ones only (RFC 6455 §5.1).

use super::super::deflate::{self, Params};
use super::super::mask::apply_mask;
use super::super::utf8::Utf8Validator;
use super::{OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT};
use crate::error::ProtocolError;
use crate::message::{Kind, Message};
use flate2::Decompress;

/// Keep at most this much message-buffer capacity between messages.
const KEEP_CAPACITY: usize = 4 * 1024;

/// A compressed message inflated past this many bytes is large: one connection at a time
/// inflates those (see [`start_slice`](Decoder::start_slice)).
const LARGE_MESSAGE: usize = 64 << 10;

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
    /// The masking key, `None` for a server's frame.
    mask: Option<[u8; 4]>,
    len: u64,
}

/// The state of one connection's inbound stream, resumable at any byte.
#[derive(Debug)]
pub struct Decoder {
    /// It reads a server's frames (it belongs to a client).
    client: bool,
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
    /// Inflated bytes this decoder may still produce before it yields the loop turn.
    slice_left: usize,
    /// A message inflated past this many bytes is large: it goes on only with the
    /// turn to inflate large messages ([`start_slice`](Decoder::start_slice)).
    large_from: usize,
    /// This decoder has that turn.
    large_ok: bool,
    /// What happened since [`start_slice`](Decoder::start_slice).
    session: Session,
}

/// What a decoder did since [`Decoder::start_slice`]: whether it yielded the loop turn,
/// and what it did with large messages (those inflated past the slice's size).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Session {
    /// It stopped with input left: offer the rest next turn.
    pub yielded: bool,
    /// It stopped because its message is large and it does not have the turn for those.
    pub wants_large: bool,
    /// It inflated past the large mark.
    pub used_large: bool,
    /// It finished a large message.
    pub finished_large: bool,
    /// Compressed messages it delivered.
    pub compressed: u32,
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
            client: false,
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
            slice_left: usize::MAX,
            large_from: usize::MAX,
            large_ok: true,
            session: Session::default(),
        }
    }

    /// Starts a loop turn's share of work: at most `bytes` inflated before [`decode`]
    /// yields (returns `None`, with [`Session::yielded`]); past 64 KiB of one message (or
    /// `bytes`, if less), inflating goes on only if `large_ok` (the caller lets one
    /// connection at a time inflate large messages).
    ///
    /// [`decode`]: Decoder::decode
    pub fn start_slice(&mut self, bytes: usize, large_ok: bool) {
        self.slice_left = bytes;
        self.large_from = bytes.min(LARGE_MESSAGE);
        self.large_ok = large_ok;
        self.session = Session::default();
    }

    /// What it did since [`start_slice`](Decoder::start_slice).
    pub fn session(&self) -> Session {
        self.session
    }

    /// A client's decoder: it reads a server's frames, which are not masked, and fails
    /// the connection on a masked one ([`ProtocolError::MaskedFrame`]). A client gives
    /// [`with_deflate`](Decoder::with_deflate) the negotiated parameters
    /// [`mirrored`](Params::mirrored), as it inflates what the server compressed.
    #[must_use]
    pub fn for_client(mut self) -> Self {
        self.client = true;
        self
    }

    /// Refuses frames over `max_frame` bytes (on the wire).
    #[must_use]
    pub fn max_frame(mut self, max_frame: usize) -> Self {
        self.max_frame = max_frame;
        self
    }

    /// Whether it holds nothing its connection needs between reads: no frame or message
    /// in progress, no message buffer, and no inflate context that outlives a message.
    /// Such a decoder can go back to a pool, and the connection be lent one at its next
    /// read ([`reuse`](Decoder::reuse)).
    pub fn is_idle(&self) -> bool {
        self.frame.is_none()
            && self.message.is_none()
            && !self.delivered
            && self.buf.capacity() == 0
            && self
                .inflate
                .as_ref()
                .is_none_or(|i| i.reset || i.decompress.is_none())
    }

    /// Makes this idle decoder as good as
    /// `Decoder::with_deflate(max_message, deflate).max_frame(max_frame)` (and
    /// [`for_client`](Decoder::for_client) if `client`), keeping its decompressor when
    /// the new one also resets its context per message with the same window: a pool of
    /// decoders is then a pool of decompressors.
    pub fn reuse(
        &mut self,
        max_message: usize,
        max_frame: usize,
        deflate: Option<Params>,
        client: bool,
    ) {
        let kept = self.inflate.take().filter(|i| i.reset);
        *self = Decoder::with_deflate(max_message, deflate).max_frame(max_frame);
        self.client = client;
        if let (Some(new), Some(old)) = (&mut self.inflate, kept) {
            if new.reset && new.window_bits == old.window_bits {
                new.decompress = old.decompress;
            }
        }
    }

    /// Whether it holds a decompressor now.
    #[cfg(test)]
    pub(crate) fn holds_decompressor(&self) -> bool {
        self.inflate
            .as_ref()
            .is_some_and(|i| i.decompress.is_some())
    }

    /// The opcode of the frame begun and not finished, and the bytes still to come of it.
    pub(super) fn frame_rest(&self) -> Option<(u8, u64)> {
        self.frame
            .map(|(header, read)| (header.opcode, header.len - read))
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
    /// decoding on within a read (a small buffer is kept for the next message).
    pub fn release(&mut self) {
        if self.delivered {
            self.delivered = false;
            self.buf.clear();
            if self.buf.capacity() > KEEP_CAPACITY {
                self.buf = Vec::new();
            }
        }
    }

    /// [`release`](Decoder::release), and gives the buffer back whatever its size unless
    /// a message is in progress: called when a read is used up, so that an idle
    /// connection holds no message memory.
    pub fn release_all(&mut self) {
        self.release();
        if self.message.is_none() && self.buf.capacity() > 0 {
            self.buf = Vec::new();
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
            if let Some(key) = header.mask {
                apply_mask(chunk, key, (read % 4) as usize);
            }
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
                let small_left = self.large_from.saturating_sub(before);
                let limit = match self.large_ok {
                    true => self.slice_left,
                    false => self.slice_left.min(small_left),
                };
                let took = match limit {
                    0 => 0,
                    _ => deflate::inflate(d, chunk, &mut self.buf, max, limit).map_err(busy)?,
                };
                let produced = self.buf.len() - before;
                self.slice_left = self.slice_left.saturating_sub(produced);
                self.session.used_large |= produced > small_left;
                if took < available {
                    if produced < limit {
                        // Input left, room left, and no progress: not a stream zlib can go on
                        // with (yielding would offer it again every turn, for nothing).
                        return Err(ProtocolError::InvalidCompressedData);
                    }
                    // Its share for this turn is spent: what it did not take goes back to
                    // the wire's form (masked) and stays for the next turn.
                    if let Some(key) = header.mask {
                        apply_mask(&mut chunk[took..], key, ((read + took as u64) % 4) as usize);
                    }
                    *pos = start + took;
                    self.frame = Some((header, read + took as u64));
                    if kind == Kind::Text && self.utf8.feed(&self.buf[before..]).is_err() {
                        return Err(ProtocolError::InvalidUtf8);
                    }
                    self.session.yielded = true;
                    self.session.wants_large = !self.large_ok && self.buf.len() >= self.large_from;
                    return Ok(None);
                }
                if done && header.fin {
                    deflate::inflate_end(d, &mut self.buf, max).map_err(busy)?;
                    if inflate.reset {
                        d.reset(false); // kept for the next message, not reallocated
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
            self.session.finished_large |= compressed && self.buf.len() > self.large_from;
            self.session.compressed += u32::from(compressed);
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
        let masked = b1 & 0x80 != 0;
        match (self.client, masked) {
            (false, false) => return Err(ProtocolError::UnmaskedFrame),
            (true, true) => return Err(ProtocolError::MaskedFrame),
            _ => {}
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
        let header_len = 2 + ext + if masked { 4 } else { 0 };
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
        let mask = masked.then(|| {
            let mut key = [0; 4];
            key.copy_from_slice(&data[2 + ext..header_len]);
            key
        });
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
            // A compressed frame may carry what does not compress, plus DEFLATE's own
            // overhead: zlib's bound for stored blocks with its smallest buffers (about 4%;
            // Python's `websockets` adds 0.24% to random data), so that a message at the
            // size limit that does not compress still fits.
            let max_frame = match compressed {
                true => {
                    let m = self.max_frame;
                    m.saturating_add((m >> 5) + (m >> 7) + (m >> 11) + 64)
                }
                false => self.max_frame,
            };
            if len > max_frame as u64 {
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
