//! Topics in one process: subscribe, unsubscribe, publish and publish_except, carried out
//! by the server, framed once per protocol version, forgotten when a connection ends.

use ratchet::app::App;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use suite::RawClient;

/// Rooms with the macro: `join R`, `leave R`, `say R text` (to the room but the sender).
mod rooms {
    use ratchet::prelude::*;

    #[ratchet::app(protocol = "websocket", main = false)]
    #[derive(Default)]
    pub struct Rooms;

    #[ratchet::handlers]
    impl Rooms {
        fn on_message(&mut self, from: &Conn, msg: &str) -> Option<Command> {
            let (verb, rest) = msg.split_once(' ')?;
            Some(match verb {
                "join" => from.subscribe(rest),
                "leave" => from.unsubscribe(rest),
                "say" => {
                    let (room, text) = rest.split_once(' ')?;
                    Command::publish_except(room, text, from)
                }
                "all" => {
                    let (room, text) = rest.split_once(' ')?;
                    Command::publish(room, text)
                }
                _ => return None,
            })
        }
    }
}

/// Nothing arrives on `c` for a little while.
fn silent(c: &mut RawClient) {
    c.stream
        .set_read_timeout(Some(Duration::from_millis(150)))
        .unwrap();
    let mut buf = [0; 1];
    assert!(
        std::io::Read::read(&mut c.stream, &mut buf).is_err(),
        "nothing arrives"
    );
    c.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
}

/// Sends a command and waits until the server has carried it out (an `all` round trip on
/// a private room).
fn settle(c: &mut RawClient, room: &str) {
    c.send_text(&format!("join {room}"));
    c.send_text(&format!("all {room} settled"));
    c.expect_text("settled");
}

#[test]
fn subscribers_hear_a_topic_and_others_do_not() {
    let addr = suite::serve(rooms::Rooms.into_protocol());
    let mut ann = RawClient::open(addr, "/");
    let mut bob = RawClient::open(addr, "/");
    let mut cid = RawClient::open(addr, "/");
    ann.send_text("join red");
    bob.send_text("join red");
    cid.send_text("join blue");
    for (c, room) in [(&mut ann, "ann"), (&mut bob, "bob"), (&mut cid, "cid")] {
        settle(c, room);
    }

    ann.send_text("say red hello red");
    bob.expect_text("hello red");
    silent(&mut ann); // publish_except: not the sender
    silent(&mut cid); // another topic

    ann.send_text("all red to all of red");
    ann.expect_text("to all of red");
    bob.expect_text("to all of red");

    bob.send_text("leave red");
    settle(&mut bob, "bob");
    cid.send_text("say red cid is not in red but may publish to it");
    ann.expect_text("cid is not in red but may publish to it");
    silent(&mut bob);
}

#[test]
fn a_closed_subscribers_slot_does_not_inherit_its_topics() {
    let addr = suite::serve(rooms::Rooms.into_protocol());
    let mut ann = RawClient::open(addr, "/");
    let mut bob = RawClient::open(addr, "/");
    bob.send_text("join red");
    settle(&mut bob, "bob");
    bob.send_frame(true, 8, &[0x03, 0xE8]);
    // bob's subscriptions ended before it saw the end of the stream.
    assert!(bob.closed_within(Duration::from_secs(3)));

    // A newcomer may take bob's slot in the server; it must not inherit bob's topics.
    let mut newcomer = RawClient::open(addr, "/");
    settle(&mut newcomer, "newcomer");
    ann.send_text("join red");
    settle(&mut ann, "ann");
    ann.send_text("all red anyone?");
    ann.expect_text("anyone?");
    silent(&mut newcomer);
}

#[test]
fn a_publish_is_framed_once_per_protocol_version() {
    let encodes = Arc::new(AtomicUsize::new(0));
    // Counted in one loop: with several workers, each frames once.
    let counted = suite::CountEncodes {
        inner: rooms::Rooms.into_protocol(),
        encodes: encodes.clone(),
    };
    let addr = suite::serve_one_with(counted, ratchet::server::Config::default());
    let mut rfc: Vec<RawClient> = (0..5).map(|_| RawClient::open(addr, "/")).collect();
    for (i, c) in rfc.iter_mut().enumerate() {
        c.send_text("join news");
        settle(c, &format!("private-{i}"));
    }
    let mut hixie = RawClient::connect(addr);
    hixie.write(b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\r\n");
    assert!(hixie.read_head().starts_with("HTTP/1.1 101 "));
    hixie.write(b"\x00join news\xff\x00join hixie-ready\xff\x00all hixie-ready ok\xff");
    assert_eq!(hixie.read_exact(4), b"\x00ok\xff");

    let before = encodes.load(Ordering::SeqCst);
    rfc[0].send_text("all news extra, extra");
    for c in &mut rfc {
        c.expect_text("extra, extra");
    }
    assert_eq!(hixie.read_exact(14), b"\x00extra, extra\xff");
    assert_eq!(
        encodes.load(Ordering::SeqCst) - before,
        2,
        "once for RFC 6455, once for Hixie"
    );
}

#[test]
fn subscriptions_end_with_their_connections() {
    let server = ratchet::Server::new(rooms::Rooms.into_protocol())
        .bind("127.0.0.1:0")
        .unwrap();
    let (addr, handle) = (server.local_addr(), server.handle());
    std::thread::spawn(move || server.run());
    let mut clients: Vec<RawClient> = (0..50).map(|_| RawClient::open(addr, "/")).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        c.send_text(&format!("join room-{}", i % 5));
        c.send_text("join everyone");
        c.send_text("join everyone"); // twice is once
        settle(c, &format!("own-{i}"));
    }
    let stats = handle.stats();
    assert_eq!(
        (stats.connections, stats.topics, stats.subscriptions),
        (50, 56, 150)
    );

    clients[0].send_text("leave everyone");
    settle(&mut clients[0], "own-0");
    assert_eq!(handle.stats().subscriptions, 149);

    // Some leave politely, some just vanish.
    for (i, mut c) in clients.into_iter().enumerate() {
        if i % 2 == 0 {
            c.send_frame(true, 8, &[0x03, 0xE8]);
            assert!(c.closed_within(Duration::from_secs(3)));
        }
    }
    suite::wait_until("nothing left behind", || {
        let stats = handle.stats();
        stats.connections == 0 && stats.topics == 0 && stats.subscriptions == 0
    });
}
