//! Property tests: any split of a valid byte stream into reads decodes to the same
//! messages, for the RFC 6455 decoder (with and without compression), the Hixie decoder
//! and the handshake parser.

use flate2::{Compress, Compression, FlushCompress};
use proptest::prelude::*;
use ratchet::websocket::deflate::Params;
use ratchet::websocket::handshake::{self, Limits, Outcome};
use ratchet::websocket::{hixie, rfc6455};
use ratchet::Message;
use suite::client_frame;

#[derive(Debug, Clone, PartialEq)]
enum Got {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
}

/// A message as the client sends it: fragmented into `pieces`, a ping after `ping_after`.
#[derive(Debug, Clone)]
struct Sent {
    text: bool,
    body: Vec<u8>,
    pieces: usize,
    ping_after: Option<usize>,
}

fn sent() -> impl Strategy<Value = Sent> {
    (
        any::<bool>(),
        "\\PC{0,300}",
        prop::collection::vec(any::<u8>(), 0..300),
        1usize..5,
        prop::option::of(0usize..4),
    )
        .prop_map(|(text, s, b, pieces, ping_after)| Sent {
            text,
            body: if text { s.into_bytes() } else { b },
            pieces,
            ping_after,
        })
}

/// The client's bytes and what the server must see.
fn encode(messages: &[Sent], compress: bool) -> (Vec<u8>, Vec<Got>) {
    let mut stream = Vec::new();
    let mut want = Vec::new();
    let mut deflate = Compress::new_with_window_bits(Compression::fast(), false, 15);
    for m in messages {
        let mut body = m.body.clone();
        if compress {
            let mut out = Vec::with_capacity(body.len() + 64);
            deflate
                .compress_vec(&body, &mut out, FlushCompress::Sync)
                .unwrap();
            // A sync flush of nothing new may emit nothing: an empty message is then sent
            // as one empty stored block without its tail, a single 0x00 (RFC 7692 §7.2.3.6).
            if out.ends_with(&[0, 0, 0xFF, 0xFF]) {
                out.truncate(out.len() - 4);
            }
            if out.is_empty() {
                out.push(0x00);
            }
            body = out;
        }
        let size = body.len().div_ceil(m.pieces).max(1);
        let chunks: Vec<&[u8]> = if body.is_empty() {
            vec![&[][..]]
        } else {
            body.chunks(size).collect()
        };
        for (i, chunk) in chunks.iter().enumerate() {
            let first = i == 0;
            let last = i + 1 == chunks.len();
            let mut opcode = if !first {
                0
            } else if m.text {
                1
            } else {
                2
            };
            if first && compress {
                opcode |= 0x40;
            }
            stream.extend(client_frame(last, opcode, chunk));
            if last {
                want.push(if m.text {
                    Got::Text(String::from_utf8(m.body.clone()).unwrap())
                } else {
                    Got::Binary(m.body.clone())
                });
            }
            // A ping between fragments (or after the message) arrives in stream order.
            if m.ping_after == Some(i) {
                stream.extend(client_frame(true, 9, b"ping"));
                want.push(Got::Ping(b"ping".to_vec()));
            }
        }
    }
    (stream, want)
}

/// Feeds `stream` cut at `cuts` the way the server does, keeping unconsumed bytes.
fn decode(stream: &[u8], cuts: &[usize], deflate: Option<Params>) -> Vec<Got> {
    let mut decoder = rfc6455::Decoder::with_deflate(1 << 24, deflate);
    let mut got = Vec::new();
    let mut pending = Vec::new();
    let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    bounds.sort_unstable();
    bounds.push(stream.len());
    let mut last = 0;
    for b in bounds {
        pending.extend_from_slice(&stream[last..b]);
        last = b;
        let mut pos = 0;
        while let Some(frame) = decoder
            .decode(&mut pending, &mut pos, usize::MAX)
            .expect("valid stream")
        {
            got.push(match frame {
                rfc6455::Frame::Message(Message::Text(t)) => Got::Text(t.to_owned()),
                rfc6455::Frame::Message(Message::Binary(b)) => Got::Binary(b.to_vec()),
                rfc6455::Frame::Ping(p) => Got::Ping(p.to_vec()),
                other => panic!("unexpected {other:?}"),
            });
        }
        pending.drain(..pos);
    }
    got
}

const DEFLATE: Params = Params {
    server_no_context_takeover: false,
    client_no_context_takeover: false,
    server_max_window_bits: 15,
    client_max_window_bits: 15,
};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn rfc6455_any_split_decodes_the_same(
        messages in prop::collection::vec(sent(), 1..6),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let (stream, want) = encode(&messages, false);
        prop_assert_eq!(decode(&stream, &cuts, None), want);
    }

    #[test]
    fn compressed_any_split_decodes_the_same(
        messages in prop::collection::vec(sent(), 1..6),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let (stream, want) = encode(&messages, true);
        prop_assert_eq!(decode(&stream, &cuts, Some(DEFLATE)), want);
    }

    #[test]
    fn hixie_any_split_decodes_the_same(
        texts in prop::collection::vec("[^\u{FF}]{0,200}", 1..6),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let mut stream = Vec::new();
        for t in &texts {
            hixie::write_text(&mut stream, t.as_bytes());
        }
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
        bounds.sort_unstable();
        bounds.push(stream.len());
        let mut decoder = hixie::Decoder::new(1 << 20);
        let mut got = Vec::new();
        let mut last = 0;
        for b in bounds {
            let piece = &stream[last..b];
            last = b;
            let mut pos = 0;
            while let Some(hixie::Frame::Text(t)) = decoder.decode(piece, &mut pos, usize::MAX).expect("valid stream") {
                got.push(t.to_owned());
            }
        }
        prop_assert_eq!(got, texts);
    }

    #[test]
    fn handshakes_split_anywhere_give_the_same_answer(cut in 0usize..400, hixie in any::<bool>()) {
        let request: &[u8] = if hixie {
            b"GET /demo HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nSec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\nUpgrade: WebSocket\r\nSec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\nOrigin: http://example.com\r\n\r\n^n:ds[4U"
        } else {
            b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        };
        let limits = Limits {
            max_size: 8192,
            deflate: None,
            subprotocols: &[],
            require_subprotocol: false,
        };
        let cut = cut % request.len();
        prop_assert!(matches!(handshake::parse(&request[..cut], limits), Outcome::Partial));
        let whole = handshake::parse(request, limits);
        let Outcome::Accept { consumed, .. } = whole else { panic!("refused: {whole:?}") };
        prop_assert_eq!(consumed, request.len());
    }
}
