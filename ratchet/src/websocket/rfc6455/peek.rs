//! Looking at the next frame without decoding it: while a connection's messages are on
//! the app thread (several workers), only the data frames already read are decoded, so
//! that a control frame, and what the protocol answers to it, waits behind their replies.

use super::decode::Decoder;
use super::OP_CLOSE;

impl Decoder {
    /// How many bytes of `data` (the input from where decoding stopped) belong to the
    /// data frame there: the rest of the frame begun, or the next one's header and
    /// payload, cut to what `data` holds. `None` for a control frame, or a header not yet
    /// whole. Nothing is checked here: decoding what is counted still does that.
    pub fn data_frame_len(&self, data: &[u8]) -> Option<usize> {
        if let Some((opcode, rest)) = self.frame_rest() {
            return (opcode < OP_CLOSE).then(|| cut(rest, data.len()));
        }
        let [b0, b1, ..] = *data else { return None };
        // Opcodes from 8 up are control frames (or reserved for them).
        if b0 & 0x08 != 0 {
            return None;
        }
        let ext = match b1 & 0x7F {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let header = 2 + ext + if b1 & 0x80 != 0 { 4 } else { 0 };
        let len = match *data.get(2..2 + ext)? {
            [a, b] => u64::from(u16::from_be_bytes([a, b])),
            [a, b, c, d, e, f, g, h] => u64::from_be_bytes([a, b, c, d, e, f, g, h]),
            _ => u64::from(b1 & 0x7F),
        };
        if data.len() < header {
            return None;
        }
        Some(cut(len.saturating_add(header as u64), data.len()))
    }
}

/// `len`, or `available` if less.
fn cut(len: u64, available: usize) -> usize {
    usize::try_from(len).map_or(available, |len| len.min(available))
}

#[cfg(test)]
mod tests {
    use super::super::{Decoder, Frame};
    use crate::Message;

    /// A masked client frame (mask 0: the payload reads as sent).
    fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![b0];
        match payload.len() {
            n @ 0..=125 => f.push(0x80 | n as u8),
            n => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
        }
        f.extend_from_slice(&[0; 4]);
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn data_frames_are_counted_to_their_end_and_control_frames_not_at_all() {
        let decoder = Decoder::new(1 << 20);
        let text = frame(0x81, b"hello");
        let long = frame(0x82, &[7; 300]);
        let ping = frame(0x89, b"p");
        let mut data = [text.clone(), long.clone(), ping.clone()].concat();
        assert_eq!(decoder.data_frame_len(&data), Some(text.len()));
        assert_eq!(
            decoder.data_frame_len(&data[text.len()..]),
            Some(long.len())
        );
        assert_eq!(
            decoder.data_frame_len(&long[..100]),
            Some(100),
            "cut to what is here"
        );
        assert_eq!(
            decoder.data_frame_len(&long[..3]),
            None,
            "the length is not here"
        );
        assert_eq!(decoder.data_frame_len(&ping), None);
        assert_eq!(decoder.data_frame_len(&frame(0x88, b"")), None, "close");
        assert_eq!(decoder.data_frame_len(&[]), None);

        // A frame begun in one read is counted to its end in the next.
        let mut decoder = Decoder::new(1 << 20);
        let split = text.len() + 50;
        let mut pos = 0;
        let first = decoder.data_frame_len(&data).unwrap();
        let got = decoder.decode(&mut data[..first], &mut pos, usize::MAX);
        assert!(matches!(
            got,
            Ok(Some(Frame::Message(Message::Text("hello"))))
        ));
        assert!(decoder
            .decode(&mut data[pos..split], &mut 0, usize::MAX)
            .unwrap()
            .is_none());
        let rest = decoder.data_frame_len(&data[split..]).unwrap();
        assert_eq!(split + rest, text.len() + long.len());
    }
}
