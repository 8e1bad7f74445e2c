//! The decoder and encoder against the RFC: every split of a stream decodes the same,
//! every rule is refused with its error.

use super::super::mask::apply_mask;
use super::*;
use crate::error::ProtocolError;
use crate::message::{Kind, Message};

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
        write_message(&mut buf, Kind::Binary, &vec![7; len], None);
        let header = match len {
            0..=125 => 2,
            126..=65535 => 4,
            _ => 10,
        };
        assert_eq!(buf.len(), header + len);
        assert_eq!(buf[0], 0x82);
    }
    let mut buf = Vec::new();
    write_close(&mut buf, Some(1000), &"é".repeat(100), None);
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

#[test]
fn a_compressed_frame_may_exceed_the_frame_limit_by_deflates_overhead() {
    let params = super::super::deflate::Params {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
    };
    let limit = 1 << 20;
    let header = |first: u8, len: u64| {
        let mut h = vec![first, 0x80 | 127];
        h.extend_from_slice(&len.to_be_bytes());
        h.extend_from_slice(&[0, 0, 0, 0]);
        h
    };
    // Compressed: the limit plus its overhead allowance is announced without complaint;
    // uncompressed, one byte over the limit is refused from the header.
    let mut dec = Decoder::with_deflate(limit, Some(params));
    let mut pos = 0;
    let mut data = header(0xC2, limit as u64 + (limit as u64 >> 5));
    assert_eq!(dec.decode(&mut data, &mut pos, usize::MAX), Ok(None));
    let mut dec = Decoder::with_deflate(limit, Some(params));
    let mut pos = 0;
    let mut data = header(0xC2, limit as u64 * 2);
    assert_eq!(
        dec.decode(&mut data, &mut pos, usize::MAX),
        Err(ProtocolError::FrameTooBig)
    );
    let mut dec = Decoder::with_deflate(limit, Some(params));
    let mut pos = 0;
    let mut data = header(0x82, limit as u64 + 1);
    assert!(dec.decode(&mut data, &mut pos, usize::MAX).is_err());
}

#[test]
fn a_client_reads_unmasked_frames_and_refuses_masked_ones() {
    let mut server_frames = Vec::new();
    write_message(&mut server_frames, Kind::Text, b"from the server", None);
    write_ping(&mut server_frames, b"p", None);
    let mut client = Decoder::new(1 << 20).for_client();
    let mut pos = 0;
    assert_eq!(
        client.decode(&mut server_frames, &mut pos, usize::MAX),
        Ok(Some(Frame::Message(Message::Text("from the server"))))
    );
    assert_eq!(
        client.decode(&mut server_frames, &mut pos, usize::MAX),
        Ok(Some(Frame::Ping(b"p")))
    );
    // A masked frame from a server fails the connection (RFC 6455 §5.1), with 1002.
    let mut masked = client_frame(true, OP_TEXT, b"masked");
    let mut client = Decoder::new(1 << 20).for_client();
    let err = client.decode(&mut masked, &mut 0, usize::MAX).unwrap_err();
    assert_eq!(err, ProtocolError::MaskedFrame);
    assert_eq!(u16::from(err.close_code()), 1002);
}

#[test]
fn what_a_client_writes_is_masked_and_reads_back_on_a_server() {
    let mut frames = Vec::new();
    let key = [1, 2, 3, 4];
    write_message(&mut frames, Kind::Binary, &[9; 300], Some(key));
    write_close(&mut frames, Some(1000), "bye", Some([5, 6, 7, 8]));
    assert_eq!(frames[1], 0x80 | 126, "the mask bit is set");
    assert_eq!(frames[4..8], key);
    assert_ne!(
        frames[8..308],
        [9; 300],
        "the payload is masked on the wire"
    );
    let mut server = Decoder::new(1 << 20);
    let mut pos = 0;
    assert_eq!(
        server.decode(&mut frames, &mut pos, usize::MAX),
        Ok(Some(Frame::Message(Message::Binary(&[9; 300]))))
    );
    assert_eq!(
        server.decode(&mut frames, &mut pos, usize::MAX),
        Ok(Some(Frame::Close(Some((1000, "bye")))))
    );
}

/// A client frame of `text` compressed (RSV1), its context reset after the message.
fn compressed_text(text: &str) -> Vec<u8> {
    use super::super::deflate;
    let mut wire = Vec::new();
    deflate::compress(
        &mut deflate::compressor(6, 15),
        text.as_bytes(),
        &mut wire,
        true,
    );
    let mut frame = client_frame(true, OP_TEXT, &wire);
    frame[0] |= 0x40;
    frame
}

#[test]
fn an_idle_decoder_is_reused_with_its_decompressor_and_decodes_alike() {
    let params = |client_no_context_takeover| super::super::deflate::Params {
        server_no_context_takeover: true,
        client_no_context_takeover,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
    };
    let mut dec = Decoder::with_deflate(1 << 20, Some(params(true)));
    let text = "{\"type\":\"chat\",\"text\":\"hello\"} ".repeat(20);
    let mut frame = compressed_text(&text);
    // Half a message: busy, not to be given back.
    let half = frame.len() / 2;
    let mut pos = 0;
    assert_eq!(
        dec.decode(&mut frame[..half], &mut pos, usize::MAX),
        Ok(None)
    );
    assert!(!dec.is_idle());
    let mut rest = frame[pos..].to_vec();
    let mut pos = 0;
    assert_eq!(
        dec.decode(&mut rest, &mut pos, usize::MAX),
        Ok(Some(Frame::Message(Message::Text(&text))))
    );
    dec.release_all();
    assert!(dec.is_idle(), "a whole message decoded, nothing held");
    assert!(
        dec.holds_decompressor(),
        "reset for the next message, not dropped"
    );
    // Reused for another connection like it: the decompressor stays and decodes alike.
    dec.reuse(1 << 20, 1 << 20, Some(params(true)), false);
    assert!(dec.holds_decompressor());
    for _ in 0..2 {
        let mut frame = compressed_text(&text);
        assert_eq!(
            dec.decode(&mut frame, &mut 0, usize::MAX),
            Ok(Some(Frame::Message(Message::Text(&text))))
        );
        dec.release_all();
    }
    // For a connection whose client keeps its context, it starts without one; and after
    // a message it is not idle (its context is the connection's).
    dec.reuse(1 << 20, 1 << 20, Some(params(false)), false);
    assert!(!dec.holds_decompressor());
    let mut frame = compressed_text(&text);
    assert!(matches!(
        dec.decode(&mut frame, &mut 0, usize::MAX),
        Ok(Some(Frame::Message(_)))
    ));
    dec.release_all();
    assert!(!dec.is_idle());
    // Reused as a client's decoder, it refuses masked frames.
    dec.reuse(1 << 20, 1 << 20, None, true);
    let mut masked = client_frame(true, OP_TEXT, b"masked");
    assert_eq!(
        dec.decode(&mut masked, &mut 0, usize::MAX),
        Err(ProtocolError::MaskedFrame)
    );
}
