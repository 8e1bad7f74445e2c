//! The door and per-connection state over real sockets: a refusal is an HTTP status with
//! its reason before anything opens, a panic at the door is a `500` for that client alone,
//! and each connection's state lives and dies with it.

use ratchet::prelude::*;
use ratchet::Line;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use suite::{serve, wait_until, RawClient};

#[derive(Default)]
struct Member {
    name: String,
    said: u32,
}

/// Lets in `?token=letmein` under the name given, counts what each member said.
struct Club {
    /// Line connections (which carry no request) are refused.
    lines_refused: bool,
    opened: Arc<AtomicUsize>,
    closed: Arc<AtomicUsize>,
}

impl StatefulComponent for Club {
    type State = Member;

    fn on_request(&mut self, conn: &Conn, me: &mut Member) -> Door {
        let req = conn.request();
        if req.and_then(|r| r.query_param("panic")).is_some() {
            panic!("the doorman fainted");
        }
        if req.is_none() && self.lines_refused {
            return Refuse::forbidden("no line users tonight").into();
        }
        if req.is_some() && req.and_then(|r| r.query_param("token")).as_deref() != Some("letmein") {
            return Refuse::forbidden("members only: bring your token").into();
        }
        me.name = req
            .and_then(|r| r.query_param("name"))
            .unwrap_or_else(|| format!("member-{}", conn.id()));
        Door::Open
    }

    fn on_open(&mut self, _conn: &Conn, _me: &mut Member) -> impl IntoCommands {
        self.opened.fetch_add(1, Ordering::SeqCst);
        Commands::none()
    }

    fn on_message(&mut self, from: &Conn, me: &mut Member, msg: Message<'_>) -> impl IntoCommands {
        me.said += 1;
        let text = msg.as_text().unwrap_or("?");
        from.send(format!("{} #{}: {text}", me.name, me.said))
    }

    fn on_close(&mut self, _conn: &Conn, _me: Member) -> impl IntoCommands {
        self.closed.fetch_add(1, Ordering::SeqCst);
        Commands::none()
    }
}

fn club(lines_refused: bool) -> (Club, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let (opened, closed) = (Arc::default(), Arc::default());
    let club = Club {
        lines_refused,
        opened: Arc::clone(&opened),
        closed: Arc::clone(&closed),
    };
    (club, opened, closed)
}

#[test]
fn the_door_refuses_with_a_status_and_keeps_state_per_connection() {
    let (app, opened, closed) = club(false);
    let addr = serve(WebSocket::new(app));

    // No token: 403 with the reason, and the connection is closed; nothing opened.
    let mut stranger = RawClient::connect(addr);
    stranger.write(suite::upgrade_request("/club", "").as_bytes());
    let (head, body) = stranger.read_response();
    assert!(head.starts_with("HTTP/1.1 403 "), "{head}");
    assert!(body.contains("members only: bring your token"), "{body}");
    assert!(stranger.closed_within(Duration::from_secs(5)));

    // A panicking door: 500 for that client, the server goes on.
    let mut unlucky = RawClient::connect(addr);
    unlucky.write(suite::upgrade_request("/club?panic=1", "").as_bytes());
    let (head, _) = unlucky.read_response();
    assert!(head.starts_with("HTTP/1.1 500 "), "{head}");

    // Members keep their own count.
    let mut ann = RawClient::open(addr, "/club?token=letmein&name=ann");
    let mut bob = RawClient::open(addr, "/club?token=letmein&name=bob");
    ann.send_text("hi");
    ann.expect_text("ann #1: hi");
    bob.send_text("yo");
    bob.expect_text("bob #1: yo");
    ann.send_text("again");
    ann.expect_text("ann #2: again");
    assert_eq!(
        opened.load(Ordering::SeqCst),
        2,
        "refused connections never open"
    );

    drop(ann);
    drop(bob);
    wait_until("both members closed", || closed.load(Ordering::SeqCst) == 2);
}

#[test]
fn a_line_connection_passes_the_same_door() {
    let (app, opened, closed) = club(true);
    let refusing = serve(Line::new(app));
    let stream = TcpStream::connect(refusing).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut said = String::new();
    BufReader::new(&stream).read_to_string(&mut said).unwrap();
    assert_eq!(said, "refused: no line users tonight\n", "then closed");
    assert_eq!(opened.load(Ordering::SeqCst), 0);
    assert_eq!(
        closed.load(Ordering::SeqCst),
        0,
        "on_close only follows on_open"
    );

    let (app, opened, _) = club(false);
    let addr = serve(Line::new(app));
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    (&stream).write_all(b"one\ntwo\n").unwrap();
    let mut lines = Vec::new();
    for _ in 0..2 {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        lines.push(line);
    }
    assert!(
        lines[0].starts_with("member-") && lines[0].ends_with(" #1: one\n"),
        "{lines:?}"
    );
    assert!(lines[1].ends_with(" #2: two\n"), "{lines:?}");
    assert_eq!(opened.load(Ordering::SeqCst), 1);
}

/// Answers the door from another thread, as a token service would: `?token=good` after a
/// moment, `?token=bad` refused, `?token=lost` never answered.
struct Checkpoint {
    handle: Option<Handle>,
}

impl Component for Checkpoint {
    fn on_start(&mut self, handle: &Handle) -> impl IntoCommands {
        self.handle = Some(handle.clone());
    }

    fn on_request(&mut self, conn: &Conn) -> Door {
        let token = conn.request().and_then(|r| r.query_param("token"));
        let (handle, id) = (self.handle.clone().unwrap(), conn.id());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            match token.as_deref() {
                Some("good") => handle.answer(id, Door::Open).unwrap(),
                Some("bad") => handle
                    .answer(id, Refuse::forbidden("the service said no"))
                    .unwrap(),
                _ => {}
            }
        });
        Door::Later
    }

    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        from.send(msg)
    }
}

#[test]
fn the_door_may_answer_later_through_the_handle() {
    let config =
        ratchet::websocket::Config::default().handshake_timeout(Duration::from_millis(600));
    let addr = serve(WebSocket::with_config(Checkpoint { handle: None }, config));

    // Let in after the answer; a frame sent before it waits, unread, and is answered after.
    let mut good = RawClient::connect(addr);
    let mut early = suite::upgrade_request("/?token=good", "").into_bytes();
    early.extend(suite::client_frame(true, 1, b"sent early"));
    good.write(&early);
    let head = good.read_head();
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    good.expect_text("sent early");

    let mut bad = RawClient::connect(addr);
    bad.write(suite::upgrade_request("/?token=bad", "").as_bytes());
    let (head, body) = bad.read_response();
    assert!(head.starts_with("HTTP/1.1 403 "), "{head}");
    assert!(body.contains("the service said no"), "{body}");

    // Never answered: closed when the handshake's time is up.
    let mut lost = RawClient::connect(addr);
    lost.write(suite::upgrade_request("/?token=lost", "").as_bytes());
    assert!(lost.closed_within(Duration::from_secs(5)));

    good.send_text("still here");
    good.expect_text("still here");
}

#[test]
fn the_tester_knocks_and_answers() {
    use ratchet::testing::{Knock, Tester};

    let mut t = Tester::new(Checkpoint { handle: None });
    let Knock::Waiting(ann) = t.knock(ratchet::Request::new("GET", "/?token=x", vec![])) else {
        panic!("the door answers later");
    };
    assert!(t.is_waiting(&ann) && !t.is_open(&ann));
    t.answer(&ann, Door::Open).unwrap();
    assert!(t.is_open(&ann));
    assert_eq!(t.message(&ann, "hi").sent_to(&ann), ["hi"]);
    let Knock::Waiting(bob) = t.knock(ratchet::Request::new("GET", "/", vec![])) else {
        panic!("the door answers later");
    };
    assert_eq!(
        t.answer(&bob, Refuse::forbidden("no"))
            .unwrap_err()
            .status(),
        403
    );
    assert!(!t.is_waiting(&bob) && !t.is_open(&bob));
}

/// A line protocol's door may answer later too: `#1` (odd) is let in after a moment, `#2`
/// (even) refused.
struct LineCheckpoint {
    handle: Option<Handle>,
}

impl Component for LineCheckpoint {
    fn on_start(&mut self, handle: &Handle) -> impl IntoCommands {
        self.handle = Some(handle.clone());
    }

    fn on_request(&mut self, conn: &Conn) -> Door {
        let (handle, id) = (self.handle.clone().unwrap(), conn.id());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            let door = match id.number() % 2 {
                1 => Door::Open,
                _ => Door::Refuse(Refuse::forbidden("even numbers wait outside")),
            };
            handle.answer(id, door).unwrap();
        });
        Door::Later
    }

    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        from.send(format!("echo {}\n", msg.as_text().unwrap_or("")))
    }
}

#[test]
fn a_line_door_may_answer_later_too() {
    let addr = serve(Line::new(LineCheckpoint { handle: None }));
    // A line sent before the answer waits for it, and is answered after.
    let mut first = TcpStream::connect(addr).unwrap();
    first
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    first.write_all(b"sent early\n").unwrap();
    let mut reader = BufReader::new(first.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert_eq!(line, "echo sent early\n");

    let mut second = TcpStream::connect(addr).unwrap();
    second
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut said = String::new();
    second.read_to_string(&mut said).unwrap();
    assert_eq!(said, "refused: even numbers wait outside\n");
}
