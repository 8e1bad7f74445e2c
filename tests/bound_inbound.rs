//! Messages begun and never finished cannot grow the server: they share one server-wide
//! inbound budget (a message that would pass it is refused with 1013), and each must end
//! within the message timeout, pings or not. Alone in its binary, so that the process's
//! memory is the server's.

use ratchet::server::Config as ServerConfig;
use ratchet::websocket::{Config, Deflate};
use ratchet::IntoCommands;
use ratchet::{Commands, Component, Conn, Message, Server, WebSocket};
use std::time::{Duration, Instant};
use suite::{client_frame, RawClient};

struct Sink;

impl Component for Sink {
    fn on_message(&mut self, _: &Conn, _: Message<'_>) -> impl IntoCommands {
        Commands::none()
    }
}

const INBOUND: usize = 32 << 20;
const MESSAGE: usize = 10 << 20;

/// The first fragment of a text message whose DEFLATE stream inflates to `size` bytes.
fn compressed_fragment(size: usize) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let text = vec![b'a'; size];
    let mut z = Compress::new(Compression::best(), false);
    let mut out = Vec::with_capacity(size / 100 + 1024);
    z.compress_vec(&text, &mut out, FlushCompress::Sync)
        .unwrap();
    let mut frame = client_frame(false, 1, &out);
    frame[0] |= 0x40; // RSV1: compressed
    frame
}

fn serve(message_timeout: Duration) -> (std::net::SocketAddr, ratchet::Handle) {
    let config = Config::default()
        .max_message_size(16 << 20)
        .message_timeout(message_timeout)
        .deflate(Deflate::default());
    let server = Server::new(WebSocket::with_config(Sink, config))
        .config(ServerConfig::default().max_inbound(INBOUND))
        .bind("127.0.0.1:0")
        .unwrap();
    let (addr, handle) = (server.local_addr(), server.handle());
    std::thread::spawn(move || server.run());
    (addr, handle)
}

/// Reads frames until a close; returns its code and how many pongs came before it.
fn close_code(c: &mut RawClient) -> (Option<u16>, usize) {
    let mut pongs = 0;
    loop {
        let frame = c.read_frame();
        match frame.opcode {
            8 => return (frame.close_code(), pongs),
            10 => pongs += 1,
            _ => {}
        }
    }
}

#[test]
fn unfinished_messages_share_one_budget_and_end_in_time() {
    let timeout = Duration::from_secs(5);
    let (addr, handle) = serve(timeout);
    std::thread::sleep(Duration::from_millis(100));
    let before = suite::rss_kib();
    let fragment = compressed_fragment(MESSAGE);
    assert!(
        fragment.len() < 64 << 10,
        "{} bytes on the wire",
        fragment.len()
    );
    let offer = "Sec-WebSocket-Extensions: permessage-deflate\r\n";
    let start = Instant::now();
    let mut parked = Vec::new();
    let mut refused = 0;
    for _ in 0..40 {
        let (mut c, _) = RawClient::open_with(addr, "/", offer);
        c.write(&fragment);
        parked.push(c);
    }
    // Uncompressed too: frame headers announcing 10 MiB, and a little of the payload.
    let mut frame = client_frame(false, 2, &vec![0; MESSAGE]);
    frame.truncate(64 << 10);
    for _ in 0..20 {
        let (mut c, _) = RawClient::open_with(addr, "/", "");
        c.write(&frame);
        parked.push(c);
    }
    // Those past the budget are refused with 1013 at once.
    std::thread::sleep(Duration::from_millis(300));
    assert!(start.elapsed() < timeout, "parked in {:?}", start.elapsed());
    let mut kept = Vec::new();
    for mut c in parked {
        match c.read_frame_within(Duration::from_millis(50)) {
            Some(frame) => {
                assert_eq!(frame.close_code(), Some(1013));
                refused += 1;
            }
            None => kept.push(c),
        }
    }
    let held = handle.stats().inbound_bytes;
    let after = suite::rss_kib();
    println!(
        "60 unfinished messages: {} held, {refused} refused, {held} bytes in progress; RSS {before} -> {after} KiB",
        kept.len()
    );
    assert!(held <= INBOUND, "{held} bytes in progress");
    assert_eq!(kept.len(), INBOUND / MESSAGE, "as many as the budget holds");
    assert_eq!(refused, 60 - INBOUND / MESSAGE);
    assert!(
        after.saturating_sub(before) < (INBOUND as u64 / 1024) * 2,
        "RSS grew past the inbound budget: {before} -> {after} KiB"
    );
    // The ones kept must finish in time: pinging does not buy more.
    for c in &mut kept {
        c.send_frame(true, 9, b"still here");
    }
    for mut c in kept {
        let (code, pongs) = close_code(&mut c);
        assert_eq!(code, Some(1008), "closed for not finishing its message");
        assert_eq!(pongs, 1, "its ping was answered meanwhile");
    }
    let took = start.elapsed();
    assert!(took >= timeout, "not before the timeout: {took:?}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while handle.stats().inbound_bytes > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        handle.stats().inbound_bytes,
        0,
        "given back when they ended"
    );
}
