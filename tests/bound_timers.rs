//! A deadline moved at every request leaves nothing behind: many keep-alive requests on
//! one connection (each resetting its idle deadline) do not grow the server. Alone in its
//! binary, so that the process's memory is the server's.

use ratchet::http::Router;
use ratchet::IntoCommands;
use ratchet::{Commands, Component, Conn, Message, WebSocket};
use std::time::Duration;
use suite::{responses, RawClient};

struct Nothing;

impl Component for Nothing {
    fn on_message(&mut self, _: &Conn, _: Message<'_>) -> impl IntoCommands {
        Commands::none()
    }
}

#[test]
fn keep_alive_requests_leave_no_deadlines_behind() {
    let addr = suite::serve(Router::new().route("/chat", WebSocket::new(Nothing)));
    let mut c = RawClient::connect(addr);
    let request = b"GET /nowhere HTTP/1.1\r\nHost: h\r\n\r\n";
    // One request a loop turn: each moves the connection's idle deadline to a new instant.
    let round = |c: &mut RawClient| {
        c.write(request);
        let mut got = Vec::new();
        while responses(&got, false).0.is_empty() {
            got.extend(c.read_some());
        }
    };
    // Warm up (buffers, pools), then measure.
    for _ in 0..1000 {
        round(&mut c);
    }
    std::thread::sleep(Duration::from_millis(100));
    let before = suite::rss_kib();
    for _ in 0..50_000 {
        round(&mut c);
    }
    let after = suite::rss_kib();
    println!("50,000 keep-alive requests: RSS {before} -> {after} KiB");
    assert!(
        after.saturating_sub(before) < 512,
        "RSS grew {} KiB",
        after - before
    );
}
