//! A client that never reads while others chat: the server's memory stays bounded, the
//! others' messages keep flowing, and the slow client is closed (the default policy).
//! Alone in its binary, so that the process's memory is the server's.

use ratchet::server::Config as ServerConfig;
use ratchet::IntoCommands;
use ratchet::{Commands, Component, Conn, ConnSet, Message, WebSocket};
use std::time::{Duration, Instant};
use suite::RawClient;

#[derive(Default)]
struct Broadcast {
    clients: ConnSet,
}

impl Component for Broadcast {
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        self.clients.insert(conn);
        Commands::none()
    }
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        match msg.as_text() {
            Some("sync") => from.send("sync"),
            _ => self.clients.except(from).send(msg),
        }
    }
    fn on_close(&mut self, conn: &Conn) -> impl IntoCommands {
        self.clients.remove(conn);
        Commands::none()
    }
}

#[test]
fn a_client_that_never_reads_cannot_grow_the_server_or_slow_the_others() {
    let limit = 1 << 20;
    let addr = suite::serve_with(
        WebSocket::new(Broadcast::default()),
        ServerConfig::default().output_budget(limit),
    );
    let mut sender = RawClient::open(addr, "/");
    let mut slow = RawClient::open(addr, "/");
    let mut fast = RawClient::open(addr, "/");
    std::thread::sleep(Duration::from_millis(100));
    let before = suite::rss_kib();

    const MESSAGES: usize = 4000; // 64 MiB to each reader: far more than socket buffers hold
    let payload = vec![b'x'; 16 << 10];
    let reader = std::thread::spawn(move || {
        for i in 0..MESSAGES {
            let frame = fast.read_frame();
            assert_eq!(frame.payload.len(), 16 << 10, "message {i}");
        }
        fast
    });
    let start = Instant::now();
    for _ in 0..MESSAGES {
        sender.send_frame(true, 2, &payload);
    }
    let fast = reader.join().expect("the fast reader got every message");
    let took = start.elapsed();
    sender.send_text("sync");
    sender.expect_text("sync");
    let after = suite::rss_kib();
    println!("{MESSAGES} x 16 KiB to a fast and a stalled reader in {took:?}; RSS {before} -> {after} KiB");
    assert!(
        after.saturating_sub(before) < 32 << 10,
        "RSS grew from {before} KiB to {after} KiB"
    );
    assert!(took < Duration::from_secs(30));

    // The stalled client was closed with 1008: draining its socket now ends in that close.
    slow.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut code = None;
    for _ in 0..MESSAGES {
        let frame = slow.read_frame();
        if frame.opcode == 8 {
            code = frame.close_code();
            break;
        }
    }
    assert_eq!(code, Some(1008));
    drop(fast);
}
