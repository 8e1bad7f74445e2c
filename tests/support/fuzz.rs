//! The fuzz harnesses, shared by the AFL targets in `fuzz/` and by the test that replays
//! their corpora (`tests/fuzz_corpus.rs`). Each takes arbitrary bytes and must neither
//! panic nor allocate past the limits it sets.

use ratchet::websocket::deflate::{self, Deflate, Params};
use ratchet::websocket::handshake::{self, Limits, Outcome};
use ratchet::websocket::{hixie, rfc6455};
use ratchet::Message;

const MAX_MESSAGE: usize = 1 << 20;

/// The handshake parser, with compression offered.
pub fn handshake(data: &[u8]) {
    let config = Deflate::default();
    let protocols = ["chat".to_owned(), "v1".to_owned()];
    let limits = Limits {
        max_size: 8192,
        deflate: Some(&config),
        subprotocols: &protocols,
        require_subprotocol: data.first().is_some_and(|b| b & 1 == 1),
    };
    if let Outcome::Reject(rejection) = handshake::parse(data, limits) {
        assert!((400..500).contains(&rejection.status));
        assert!(!rejection.reason.contains('\n'), "one-line reason");
    }
}

/// What a decoder produced, owned, for comparing two runs.
#[derive(Debug, PartialEq, Eq)]
enum Out {
    Text(String),
    Binary(Vec<u8>),
    Control(u8, Vec<u8>),
    Error,
}

fn rfc6455_run(data: &[u8], cut: usize, deflate: Option<Params>, slice: usize) -> Vec<Out> {
    let mut decoder = rfc6455::Decoder::with_deflate(MAX_MESSAGE, deflate);
    let mut out = Vec::new();
    let mut pending = Vec::new();
    for piece in [&data[..cut], &data[cut..]] {
        pending.extend_from_slice(piece);
        let mut pos = 0;
        decoder.start_slice(slice, true);
        loop {
            match decoder.decode(&mut pending, &mut pos, usize::MAX) {
                Ok(Some(frame)) => out.push(match frame {
                    rfc6455::Frame::Message(Message::Text(t)) => Out::Text(t.to_owned()),
                    rfc6455::Frame::Message(Message::Binary(b)) => Out::Binary(b.to_vec()),
                    rfc6455::Frame::Ping(p) => Out::Control(9, p.to_vec()),
                    rfc6455::Frame::Pong(p) => Out::Control(10, p.to_vec()),
                    rfc6455::Frame::Close(c) => Out::Control(
                        8,
                        c.map(|(code, r)| format!("{code} {r}").into_bytes())
                            .unwrap_or_default(),
                    ),
                }),
                Ok(None) => {
                    if !decoder.session().yielded {
                        break;
                    }
                    // A yield: the next turn offers the rest again, with a new slice.
                    decoder.start_slice(slice, true);
                }
                Err(_) => {
                    out.push(Out::Error);
                    return out;
                }
            }
        }
        assert!(pos <= pending.len());
        pending.drain(..pos);
    }
    out
}

/// The RFC 6455 decoder: the input in one read and split in two (where its first byte
/// says) must decode the same, or fail at the same message.
pub fn rfc6455(data: &[u8]) {
    let cut = data.first().map_or(0, |&b| b as usize % (data.len() + 1));
    let whole = rfc6455_run(data, data.len(), None, usize::MAX);
    let split = rfc6455_run(data, cut, None, usize::MAX);
    assert_eq!(whole, split);
}

/// The decoder with permessage-deflate: inflation limits, RSV1 rules, split invariance.
pub fn deflate(data: &[u8]) {
    let params = Params {
        server_no_context_takeover: false,
        client_no_context_takeover: data.len().is_multiple_of(2),
        server_max_window_bits: 15,
        client_max_window_bits: 15,
    };
    let cut = data.first().map_or(0, |&b| b as usize % (data.len() + 1));
    // Whole and unsliced, against split and inflated a few bytes per turn (resuming
    // where each slice stopped).
    assert_eq!(
        rfc6455_run(data, data.len(), Some(params), usize::MAX),
        rfc6455_run(data, cut, Some(params), 1 + cut % 97)
    );
    // And the raw inflater on the bytes as they are.
    let mut out = Vec::new();
    let mut d = deflate::decompressor(15);
    if deflate::inflate(&mut d, data, &mut out, 64 << 10, usize::MAX).is_ok() {
        let _ = deflate::inflate_end(&mut d, &mut out, 64 << 10);
    }
    assert!(out.capacity() <= (64 << 10) + 1);
}

/// The Hixie decoder, fed in one piece and in two.
pub fn hixie(data: &[u8]) {
    let cut = data.first().map_or(0, |&b| b as usize % (data.len() + 1));
    let run = |pieces: &[&[u8]]| {
        let mut decoder = hixie::Decoder::new(MAX_MESSAGE);
        let mut out = Vec::new();
        for piece in pieces {
            let mut pos = 0;
            loop {
                match decoder.decode(piece, &mut pos, usize::MAX) {
                    Ok(Some(hixie::Frame::Text(t))) => out.push(Some(t.to_owned())),
                    Ok(Some(hixie::Frame::Close)) => out.push(None),
                    Ok(None) => break,
                    Err(_) => return (out, true),
                }
            }
        }
        (out, false)
    };
    assert_eq!(run(&[data]), run(&[&data[..cut], &data[cut..]]));
}
