//! The rooms example: one app behind WebSocket and line at once. A browser-protocol client
//! and an `nc`-style line client share a room over real sockets; the app's own invariant
//! (each guest's room is the topic it subscribes to) holds under a random schedule.

#[allow(dead_code)]
#[path = "../examples/rooms.rs"]
mod rooms;

use ratchet::testing::{Schedule, Tester};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;
use suite::{Example, RawClient};

#[test]
fn a_browser_and_a_line_user_share_a_room() {
    let example = Example::start_listening(
        "rooms",
        &["--bind", "127.0.0.1:0", "--line-bind", "127.0.0.1:0"],
        &[],
        2,
    );
    let addrs = example.addrs();
    assert_eq!(
        addrs.len(),
        2,
        "both listeners are printed: {}",
        example.banner
    );
    assert!(example.banner.contains("ws://") && example.banner.contains("tcp://"));

    let mut ann = RawClient::open(addrs[0], "/?name=ann");
    ann.expect_text("welcome, ann: /join ROOM to enter one");

    let line = TcpStream::connect(addrs[1]).unwrap();
    line.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut lines = BufReader::new(line.try_clone().unwrap());
    let mut read = || {
        let mut l = String::new();
        lines.read_line(&mut l).unwrap();
        l.trim_end().to_owned()
    };
    let welcome = read();
    let nc = welcome
        .strip_prefix("welcome, ")
        .and_then(|w| w.split(':').next())
        .expect("a welcome with a name")
        .to_owned();
    assert!(nc.starts_with("guest-"), "{welcome}");

    ann.send_text("/join kitchen");
    ann.expect_text("ann joined kitchen");
    ann.expect_text("0 other(s) in kitchen");
    (&line).write_all(b"/join kitchen\n").unwrap();
    assert_eq!(read(), format!("{nc} joined kitchen"));
    assert_eq!(read(), "1 other(s) in kitchen");
    ann.expect_text(&format!("{nc} joined kitchen"));

    // Each hears the other, framed for its own protocol.
    ann.send_text("hello from the browser");
    assert_eq!(read(), "ann: hello from the browser");
    (&line).write_all(b"hello from nc\n").unwrap();
    ann.expect_text(&format!("{nc}: hello from nc"));
    (&line).write_all(b"/who\n").unwrap();
    assert_eq!(read(), "2 here");

    // A line user who leaves is announced to the browser.
    drop(lines);
    drop(line);
    ann.expect_text(&format!("{nc} left kitchen"));
}

#[test]
fn each_guest_is_in_the_room_it_subscribes_to() {
    let mut t = Tester::new(rooms::Rooms::default());
    let schedule = Schedule::new(11)
        .steps(400)
        .max_open(6)
        .targets(["/?name=ann", "/?name=bob", "/"])
        .messages(["/join a", "/join b", "hi", "/who"]);
    schedule.run(&mut t, |t, _step, out| {
        let topics = t.handle().topics();
        for conn in t.open_conns() {
            let room = t.state(conn).unwrap().room.clone();
            assert_eq!(topics.of(conn), room.into_iter().collect::<Vec<_>>());
        }
        // Whoever is told something is open.
        for (to, _) in out.deliveries() {
            assert!(t.is_open(*to), "{to} is closed");
        }
    });
}

#[test]
fn a_join_is_announced_to_the_room_and_counted() {
    let mut t = Tester::new(rooms::Rooms::default());
    let ann = t.connect("/?name=ann").unwrap();
    let bob = t.connect("/?name=bob").unwrap();
    assert_eq!(
        t.message(&ann, "hi").sent_to(&ann),
        ["join a room first: /join ROOM"]
    );
    t.message(&ann, "/join a");
    let joined = t.message(&bob, "/join a");
    assert_eq!(joined.sent_to(&ann), ["bob joined a"]);
    assert_eq!(joined.sent_to(&bob), ["bob joined a", "1 other(s) in a"]);
    assert_eq!(t.message(&bob, "yo").sent_to(&ann), ["bob: yo"]);
    assert_eq!(t.close(&bob).sent_to(&ann), ["bob left a"]);
    assert_eq!(t.subscribers("a"), [ann.id()]);
}
