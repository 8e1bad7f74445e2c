//! Hixie-75 and Hixie-76 (draft-ietf-hybi-thewebsocketprotocol-00) framing:
//! `0x00 <UTF-8 text> 0xFF` messages, length-prefixed frames (skipped), and, for
//! Hixie-76, the `0xFF 0x00` closing frame.

use super::utf8::Utf8Validator;
use crate::error::ProtocolError;

/// Keep at most this much message-buffer capacity between messages.
const KEEP_CAPACITY: usize = 4 * 1024;

/// What the decoder found.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A complete text message.
    Text(&'a str),
    /// The closing frame `0xFF 0x00`.
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting a frame-type byte.
    Idle,
    /// Inside a `0x00`-started text frame (or, if `keep` is false, a sentinel frame of
    /// another type, read and discarded).
    Text { keep: bool },
    /// Reading the length of a length-prefixed frame of type `frame_type`.
    Length { frame_type: u8, len: u64 },
    /// Skipping a length-prefixed frame's data.
    Skip(u64),
}

/// The state of one Hixie connection's inbound stream.
#[derive(Debug)]
pub struct Decoder {
    max_message: usize,
    state: State,
    buf: Vec<u8>,
    delivered: bool,
    utf8: Utf8Validator,
}

impl Decoder {
    /// A decoder refusing messages over `max_message` bytes.
    pub fn new(max_message: usize) -> Self {
        Decoder {
            max_message,
            state: State::Idle,
            buf: Vec::new(),
            delivered: false,
            utf8: Utf8Validator::default(),
        }
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

    /// Whether a text message is begun and not finished.
    pub fn in_progress(&self) -> bool {
        matches!(self.state, State::Text { keep: true })
    }

    /// Bytes held for the message in progress.
    pub fn held(&self) -> usize {
        if self.in_progress() {
            self.buf.len()
        } else {
            0
        }
    }

    /// Decodes from `data[*pos..]`, advancing `pos`; `None` when `data` is used up. A
    /// message split across reads may hold at most `allowance` bytes (the connection's
    /// share of the server-wide inbound budget): past it, [`ProtocolError::Busy`].
    pub fn decode<'a>(
        &'a mut self,
        data: &'a [u8],
        pos: &mut usize,
        allowance: usize,
    ) -> Result<Option<Frame<'a>>, ProtocolError> {
        self.release();
        while *pos < data.len() {
            match self.state {
                State::Idle => {
                    let frame_type = data[*pos];
                    *pos += 1;
                    self.state = if frame_type & 0x80 == 0 {
                        self.utf8.reset();
                        State::Text {
                            keep: frame_type == 0x00,
                        }
                    } else {
                        State::Length { frame_type, len: 0 }
                    };
                }
                State::Text { keep } => {
                    let rest = &data[*pos..];
                    let end = rest.iter().position(|&b| b == 0xFF);
                    let chunk = &rest[..end.unwrap_or(rest.len())];
                    *pos += chunk.len();
                    if end.is_some() {
                        *pos += 1; // the 0xFF
                        self.state = State::Idle;
                    }
                    if !keep {
                        continue;
                    }
                    if chunk.len() > self.max_message - self.buf.len() {
                        return Err(ProtocolError::MessageTooBig);
                    }
                    if end.is_some() && self.buf.is_empty() {
                        // The whole message is in this read: validate once, deliver in place.
                        return std::str::from_utf8(chunk)
                            .map(|t| Some(Frame::Text(t)))
                            .map_err(|_| ProtocolError::InvalidUtf8);
                    }
                    if self.utf8.feed(chunk).is_err() {
                        return Err(ProtocolError::InvalidUtf8);
                    }
                    if self.buf.len() + chunk.len() > allowance {
                        return Err(ProtocolError::Busy);
                    }
                    self.buf.extend_from_slice(chunk);
                    if end.is_none() {
                        continue;
                    }
                    if !self.utf8.is_complete() {
                        return Err(ProtocolError::InvalidUtf8);
                    }
                    self.delivered = true;
                    return std::str::from_utf8(&self.buf)
                        .map(|t| Some(Frame::Text(t)))
                        .map_err(|_| ProtocolError::InvalidUtf8);
                }
                State::Length { frame_type, len } => {
                    let b = data[*pos];
                    *pos += 1;
                    let len = len
                        .checked_mul(128)
                        .and_then(|l| l.checked_add(u64::from(b & 0x7F)));
                    let Some(len) = len.filter(|&l| l <= self.max_message as u64) else {
                        return Err(ProtocolError::MessageTooBig);
                    };
                    if b & 0x80 != 0 {
                        self.state = State::Length { frame_type, len };
                    } else if frame_type == 0xFF && len == 0 {
                        self.state = State::Idle;
                        return Ok(Some(Frame::Close));
                    } else {
                        self.state = State::Skip(len);
                    }
                }
                State::Skip(left) => {
                    let take = (data.len() - *pos).min(usize::try_from(left).unwrap_or(usize::MAX));
                    *pos += take;
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::Idle
                    } else {
                        State::Skip(left)
                    };
                }
            }
        }
        Ok(None)
    }
}

/// Appends a text frame.
pub fn write_text(buf: &mut Vec<u8>, text: &[u8]) {
    buf.reserve(text.len() + 2);
    buf.push(0x00);
    buf.extend_from_slice(text);
    buf.push(0xFF);
}

/// The Hixie-76 closing frame.
pub const CLOSE_FRAME: [u8; 2] = [0xFF, 0x00];

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Eq)]
    enum Owned {
        Text(String),
        Close,
        Error(ProtocolError),
    }

    fn decode_split(stream: &[u8], cut_every: usize, max: usize) -> Vec<Owned> {
        let mut dec = Decoder::new(max);
        let mut out = Vec::new();
        for piece in stream.chunks(cut_every.max(1)) {
            let mut pos = 0;
            loop {
                match dec.decode(piece, &mut pos, usize::MAX) {
                    Ok(Some(Frame::Text(t))) => out.push(Owned::Text(t.to_owned())),
                    Ok(Some(Frame::Close)) => out.push(Owned::Close),
                    Ok(None) => break,
                    Err(e) => {
                        out.push(Owned::Error(e));
                        return out;
                    }
                }
            }
            assert_eq!(
                pos,
                piece.len(),
                "the Hixie decoder consumes everything it is given"
            );
        }
        out
    }

    #[test]
    fn decodes_any_split_the_same() {
        let mut s = Vec::new();
        write_text(&mut s, "hello κόσμε".as_bytes());
        write_text(&mut s, b"");
        s.extend_from_slice(&[0x80, 0x03, 1, 2, 3]); // a length-prefixed frame, skipped
        s.extend_from_slice(&[0x81, 0x81, 0x00]); // one of 128 bytes...
        s.extend(vec![0xFF; 128]); // ...skipped whatever they are
        s.extend_from_slice(&[0x05, b'x', 0xFF]); // a sentinel frame of unknown type, skipped
        write_text(&mut s, "€".repeat(50).as_bytes());
        s.extend_from_slice(&CLOSE_FRAME);
        let want = vec![
            Owned::Text("hello κόσμε".into()),
            Owned::Text(String::new()),
            Owned::Text("€".repeat(50)),
            Owned::Close,
        ];
        for every in 1..=s.len() {
            assert_eq!(decode_split(&s, every, 1 << 20), want, "pieces of {every}");
        }
    }

    #[test]
    fn refuses_invalid_utf8_and_oversize() {
        assert_eq!(
            decode_split(&[0x00, b'a', 0xC0, 0xAF, 0xFF], 100, 100),
            [Owned::Error(ProtocolError::InvalidUtf8)]
        );
        let mut big = vec![0x00];
        big.extend(vec![b'a'; 101]);
        assert_eq!(
            decode_split(&big, 10, 100),
            [Owned::Error(ProtocolError::MessageTooBig)]
        );
        assert_eq!(
            decode_split(&[0x80, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], 100, 1000),
            [Owned::Error(ProtocolError::MessageTooBig)]
        );
    }
}
