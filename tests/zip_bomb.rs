//! A "zip bomb": a small compressed frame that would inflate to 512 MiB. The server must
//! refuse it with 1009 while inflating, without ever holding it: this test watches its
//! own process's memory (the server runs in it) and is alone in its binary so nothing
//! else moves that number.

use flate2::{Compress, Compression, FlushCompress};
use ratchet::websocket::{Config, Deflate};
use ratchet::IntoCommands;
use ratchet::{Component, Conn, Message, WebSocket};
use suite::{client_frame, RawClient};

struct Echo;

impl Component for Echo {
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        from.send(msg)
    }
}

/// `total` zero bytes, deflated raw and sync-flushed, without the final tail.
fn bomb(total: usize) -> Vec<u8> {
    let zeros = vec![0u8; 1 << 20];
    let mut c = Compress::new_with_window_bits(Compression::best(), false, 15);
    let mut out = Vec::new();
    for _ in 0..total / zeros.len() {
        out.reserve(64 << 10);
        let before = c.total_in();
        let mut input = &zeros[..];
        while !input.is_empty() {
            c.compress_vec(input, &mut out, FlushCompress::None)
                .unwrap();
            input = &zeros[(c.total_in() - before) as usize..];
            out.reserve(64 << 10);
        }
    }
    out.reserve(64 << 10);
    c.compress_vec(&[], &mut out, FlushCompress::Sync).unwrap();
    out.truncate(out.len() - 4);
    out
}

#[test]
fn a_zip_bomb_is_refused_with_1009_without_inflating_it() {
    let bomb = bomb(512 << 20);
    assert!(
        bomb.len() < 1 << 20,
        "512 MiB of zeros deflate to {} bytes",
        bomb.len()
    );
    let max = 1 << 20;
    let config = Config::default()
        .max_message_size(max)
        .deflate(Deflate::default());
    let addr = suite::serve(WebSocket::with_config(Echo, config));

    // A small compressed message first, so every allocation of the normal path is made.
    let offer = "Sec-WebSocket-Extensions: permessage-deflate\r\n";
    let (mut warm, _) = RawClient::open_with(addr, "/", offer);
    warm.send_text("warm up");
    warm.expect_text("warm up");

    let before = suite::rss_kib();
    let (mut c, head) = RawClient::open_with(addr, "/", offer);
    assert!(head.contains("permessage-deflate"), "{head}");
    c.write(&client_frame(true, 0x40 | 2, &bomb));
    let close = c.read_frame();
    let after = suite::rss_kib();
    assert_eq!(close.close_code(), Some(1009));
    let grown = after.saturating_sub(before);
    println!("RSS before {before} KiB, after {after} KiB: grew {grown} KiB for a 512 MiB bomb");
    assert!(
        grown < 16 << 10,
        "RSS grew by {grown} KiB; the limit is {} KiB",
        max >> 10
    );

    // The server is fine and still serving.
    warm.send_text("still here");
    warm.expect_text("still here");
}
