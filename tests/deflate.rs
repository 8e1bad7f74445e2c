//! permessage-deflate over real sockets: a real compressing client in the chat beside a
//! Hixie-76 one, compressed frames both ways, RSV1 rules, and one compression per
//! broadcast for 2,000 recipients with the default settings (no context takeover).

#[allow(dead_code)]
#[path = "../examples/chat/main.rs"]
mod chat;
#[allow(dead_code)]
#[path = "../examples/chat_trait.rs"]
mod chat_trait;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use ratchet::app::App;
use ratchet::websocket::{Config, Deflate};
use ratchet::IntoCommands;
use ratchet::{Component, Conn, Message, WebSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use suite::{client_frame, LineClient, RawClient};

const OFFER: &str = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";

fn compress(data: &[u8]) -> Vec<u8> {
    let mut c = Compress::new_with_window_bits(Compression::default(), false, 15);
    let mut out = Vec::with_capacity(data.len() + 64);
    c.compress_vec(data, &mut out, FlushCompress::Sync).unwrap();
    assert!(out.ends_with(&[0, 0, 0xFF, 0xFF]));
    out.truncate(out.len() - 4);
    out
}

fn inflate(d: &mut Decompress, data: &[u8]) -> Vec<u8> {
    let mut input = data.to_vec();
    input.extend_from_slice(&[0, 0, 0xFF, 0xFF]);
    let mut out = Vec::with_capacity(1 << 20);
    d.decompress_vec(&input, &mut out, FlushDecompress::Sync)
        .unwrap();
    out
}

struct Echo;

impl Component for Echo {
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        from.send(msg)
    }
}

#[test]
fn compressing_python_client_and_hixie76_client_share_the_chat() {
    if !(suite::have_perl_client() && suite::have_python_client()) {
        return;
    }
    // The example chat, as its attribute builds it (`deflate = true`).
    let addr = suite::serve(chat::Chat::default().into_protocol());
    let url = |name: &str| format!("ws://{addr}/chat?name={name}");
    let py = suite::root().join("tests/clients/ws_client.py");
    let pl = suite::root().join("tests/clients/ws_client.pl");
    let mut compressing = LineClient::start(
        "websockets",
        "python3",
        &[py.to_str().unwrap(), &url("py"), "--compress"],
    );
    let ext = compressing
        .next_line(std::time::Duration::from_secs(5))
        .unwrap_or_default();
    assert!(
        ext.starts_with("ext permessage-deflate"),
        "negotiated: {ext:?}"
    );
    let mut hixie = LineClient::start(
        "hixie-76",
        "perl",
        &[pl.to_str().unwrap(), &url("hixie"), "draft-ietf-hybi-00"],
    );
    let said = |name: &str, text: &str| {
        let msg = serde_json::json!({"type": "message", "name": name, "text": text});
        format!("recv {msg}")
    };
    compressing.expect(r#"recv {"here":[],"name":"py","type":"welcome"}"#);
    hixie.expect(r#"recv {"here":["py"],"name":"hixie","type":"welcome"}"#);
    compressing.expect(r#"recv {"name":"hixie","type":"joined"}"#);

    let long = "compressible ".repeat(200);
    compressing.send(&long);
    hixie.expect(&said("py", &long));
    for i in 0..50 {
        let text = format!("hixie says {i} {long}");
        hixie.send(&text);
        compressing.expect(&said("hixie", &text));
    }
}

#[test]
fn compressed_frames_both_ways_with_context_takeover() {
    let addr = suite::serve(WebSocket::with_config(
        Echo,
        Config::default().deflate(Deflate::default().context_takeover(true)),
    ));
    let (mut c, head) = RawClient::open_with(addr, "/", OFFER);
    assert!(
        head.contains("Sec-WebSocket-Extensions: permessage-deflate\r\n"),
        "{head}"
    );
    let mut d = Decompress::new_with_window_bits(false, 15);
    for i in 0..5 {
        let text = format!("message {i}: {}", "la ".repeat(300));
        c.write(&client_frame(true, 0x40 | 1, &compress(text.as_bytes())));
        let frame = c.read_frame();
        assert!(frame.rsv1 && frame.opcode == 1, "compressed text frame");
        assert!(frame.payload.len() < text.len() / 4);
        assert_eq!(inflate(&mut d, &frame.payload), text.as_bytes());
    }
    // Uncompressed messages are fine with the extension negotiated, both ways: below the
    // threshold (64 bytes by default) the server does not compress either.
    c.send_text("plain");
    let frame = c.read_frame();
    assert!(!frame.rsv1);
    assert_eq!(frame.payload, b"plain");
    // And the contexts carried across messages are still in step afterwards.
    let text = "after the plain one ".repeat(10);
    c.write(&client_frame(true, 0x40 | 1, &compress(text.as_bytes())));
    assert_eq!(inflate(&mut d, &c.read_frame().payload), text.as_bytes());
}

#[test]
fn rsv1_without_the_extension_is_a_protocol_error() {
    let addr = suite::serve(WebSocket::new(Echo));
    let (mut c, head) = RawClient::open_with(addr, "/", OFFER);
    assert!(
        !head.contains("Sec-WebSocket-Extensions"),
        "compression is off by default: {head}"
    );
    c.write(&client_frame(true, 0x40 | 1, &compress(b"hello")));
    assert_eq!(c.read_frame().close_code(), Some(1002));
}

#[test]
fn corrupt_compressed_data_gets_1007() {
    let addr = suite::serve(WebSocket::with_config(
        Echo,
        Config::default().deflate(Deflate::default()),
    ));
    let (mut c, _) = RawClient::open_with(addr, "/", OFFER);
    c.write(&client_frame(
        true,
        0x40 | 1,
        &[0xFF, 0xFF, 0xFF, 0xFF, 0x00],
    ));
    assert_eq!(c.read_frame().close_code(), Some(1007));
}

/// The default: no context takeover either way, so the 2,000 compressing recipients of a
/// broadcast share one compression (the encode count is per encoding, and the shared
/// compressor serves them all), and each inflates it with a fresh decompressor.
#[test]
fn a_broadcast_to_2000_compressing_clients_is_compressed_once_by_default() {
    let encodes = Arc::new(AtomicUsize::new(0));
    let config = Config::default().deflate(Deflate::default());
    let chat = chat_trait::Chat::new();
    let protocol = suite::CountEncodes {
        inner: WebSocket::with_config(chat, config),
        encodes: encodes.clone(),
    };
    // Counted in one loop: with several workers, each frames once.
    let addr = suite::serve_one_with(protocol, ratchet::server::Config::default());
    let mut sender = RawClient::open(addr, "/");
    let mut compressed: Vec<RawClient> = (0..2000)
        .map(|_| {
            let (c, head) = RawClient::open_with(addr, "/", OFFER);
            assert!(
                head.contains(
                    "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n"
                ),
                "{head}"
            );
            c
        })
        .collect();
    let mut plain = RawClient::open(addr, "/");
    // (Each on_open ran before its client read the 101.)

    let text = "to everyone, compressed once ".repeat(20);
    sender.send_text(&text);
    for c in &mut compressed {
        let frame = c.read_frame();
        assert!(frame.rsv1);
        assert_eq!(
            inflate(
                &mut Decompress::new_with_window_bits(false, 15),
                &frame.payload
            ),
            text.as_bytes()
        );
    }
    plain.expect_text(&text);
    assert_eq!(
        encodes.load(Ordering::SeqCst),
        2,
        "once compressed, once plain"
    );
}
