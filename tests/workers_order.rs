//! On two workers, the data messages of one read go up to the app thread together, and
//! nothing the worker does by itself overtakes their replies: a pong, the answer to the
//! peer's close, a protocol error's close all come after them, as on one loop; and what
//! follows a message the application closed its connection on is not handled.

use ratchet::{Component, Conn, IntoCommands, Message, Server, WebSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use suite::{client_frame, RawClient};

/// Echoes each message after a pause (so that anything the worker might answer first
/// would); on "bye" closes the connection; counts what it handles.
struct SlowEcho {
    handled: Arc<AtomicUsize>,
}

impl Component for SlowEcho {
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        self.handled.fetch_add(1, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(10));
        match msg.as_text() {
            Some("bye") => from.close(),
            _ => from.send(msg),
        }
    }
}

/// A server of [`SlowEcho`] on two workers, and its count of messages handled.
fn serve() -> (std::net::SocketAddr, ratchet::Handle, Arc<AtomicUsize>) {
    let handled = Arc::new(AtomicUsize::new(0));
    let app = SlowEcho {
        handled: Arc::clone(&handled),
    };
    let (addr, handle) = suite::run(Server::new(WebSocket::new(app)).workers(2));
    (addr, handle, handled)
}

/// `texts` as client frames, in one buffer (one write: one read on the server).
fn texts(texts: &[&str]) -> Vec<u8> {
    texts
        .iter()
        .flat_map(|t| client_frame(true, 1, t.as_bytes()))
        .collect()
}

#[test]
fn a_pong_and_the_close_come_after_the_replies_to_what_was_sent_before() {
    let (addr, handle, handled) = serve();
    let mut c = RawClient::open(addr, "/");
    let mut burst = texts(&["a", "b", "c", "d", "e"]);
    burst.extend(client_frame(true, 9, b"ping"));
    burst.extend(texts(&["f", "g"]));
    burst.extend(client_frame(true, 8, &1000u16.to_be_bytes()));
    c.write(&burst);
    for text in ["a", "b", "c", "d", "e"] {
        c.expect_text(text);
    }
    let pong = c.read_frame();
    assert_eq!((pong.opcode, pong.payload.as_slice()), (10, &b"ping"[..]));
    c.expect_text("f");
    c.expect_text("g");
    assert_eq!(c.read_frame().close_code(), Some(1000));
    assert_eq!(handled.load(Ordering::Relaxed), 7);
    handle.shutdown();
}

#[test]
fn a_protocol_error_closes_after_the_replies_to_what_came_before_it() {
    let (addr, handle, handled) = serve();
    // A reserved opcode (found in the frame's header) and a text that is not UTF-8
    // (found decoding its payload), each after messages of the same read; a message
    // sent after it, read once the first reply has gone, is not decoded either.
    for (bad, code) in [
        (client_frame(true, 3, b"x"), 1002),
        (client_frame(true, 1, &[0xC3, 0x28]), 1007),
    ] {
        let mut c = RawClient::open(addr, "/");
        let mut burst = texts(&["one", "two", "three"]);
        burst.extend(bad);
        burst.extend(texts(&["never"]));
        c.write(&burst);
        std::thread::sleep(Duration::from_millis(15));
        c.write(&texts(&["late"]));
        for text in ["one", "two", "three"] {
            c.expect_text(text);
        }
        assert_eq!(c.read_frame().close_code(), Some(code));
    }
    assert_eq!(
        handled.load(Ordering::Relaxed),
        6,
        "three of each connection"
    );
    handle.shutdown();
}

#[test]
fn what_follows_the_message_a_connection_was_closed_on_is_not_handled() {
    let (addr, handle, handled) = serve();
    let mut c = RawClient::open(addr, "/");
    c.write(&texts(&["a", "bye", "b", "c"]));
    c.expect_text("a");
    assert_eq!(c.read_frame().close_code(), Some(1000));
    // "b" and "c" went up with the others and were dropped there (the close is sent
    // once the app thread's whole batch is done): two handled.
    assert_eq!(handled.load(Ordering::Relaxed), 2);
    handle.shutdown();
}
