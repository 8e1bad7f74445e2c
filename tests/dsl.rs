//! The DSL end to end: a macro chat behaves like the hand-written one over real sockets,
//! the same app serves `nc`-style clients with `protocol = "line"`, the generated `main`
//! serves the page and the socket and exits cleanly, the HTTP keys build the decorators
//! they name, and a macro app is testable without sockets.

#[allow(dead_code)]
#[path = "../examples/chat/main.rs"]
mod chat;
#[allow(dead_code)]
#[path = "../examples/chat_trait.rs"]
mod chat_trait;

use ratchet::app::App;
use ratchet::protocol::Protocol;
use ratchet::testing::Tester;
use ratchet::{Line, Payload, Request, WebSocket};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;
use suite::RawClient;

/// Ratchet's README chat, with the macro: every message to every other client.
mod relay {
    use ratchet::prelude::*;

    #[ratchet::app(protocol = "websocket", main = false)]
    #[derive(Default)]
    pub struct Chat {
        clients: ConnSet,
    }

    #[ratchet::handlers]
    impl Chat {
        fn on_open(&mut self, conn: &Conn) {
            self.clients.insert(conn);
        }

        fn on_message(&mut self, from: &Conn, msg: Message) -> Command {
            self.clients.except(from).send(msg)
        }

        fn on_close(&mut self, conn: &Conn) {
            self.clients.remove(conn);
        }
    }
}

/// The same app as `relay`, with one word changed: served line by line.
mod line_chat {
    use ratchet::prelude::*;

    #[ratchet::app(protocol = "line", main = false)]
    #[derive(Default)]
    pub struct Chat {
        clients: ConnSet,
    }

    #[ratchet::handlers]
    impl Chat {
        fn on_open(&mut self, conn: &Conn) {
            self.clients.insert(conn);
        }

        fn on_message(&mut self, from: &Conn, msg: Message) -> Command {
            self.clients.except(from).send(msg)
        }

        fn on_close(&mut self, conn: &Conn) {
            self.clients.remove(conn);
        }
    }
}

/// Runs one script against a chat server: three clients join, talk in turn, one leaves,
/// the others talk on. Returns what each client received, in order.
fn run_script(addr: SocketAddr) -> Vec<Vec<String>> {
    // Each on_open ran before its client read the 101.
    let mut clients: Vec<RawClient> = (0..3).map(|_| RawClient::open(addr, "/chat")).collect();
    let mut received = vec![Vec::new(); 3];
    let say = |clients: &mut Vec<RawClient>,
               received: &mut Vec<Vec<String>>,
               who: usize,
               text: &str,
               listeners: &[usize]| {
        clients[who].send_text(text);
        for &l in listeners {
            let frame = clients[l].read_frame();
            received[l].push(format!(
                "{}:{}",
                frame.opcode,
                String::from_utf8_lossy(&frame.payload)
            ));
        }
    };
    say(&mut clients, &mut received, 0, "hello from 0", &[1, 2]);
    say(&mut clients, &mut received, 1, "hi from 1 ✓", &[0, 2]);
    say(&mut clients, &mut received, 2, "", &[0, 1]);
    clients[2].send_frame(true, 8, &[0x03, 0xE8]);
    assert_eq!(clients[2].read_frame().close_code(), Some(1000));
    // Its on_close ran before it saw the end of the stream.
    assert!(clients[2].closed_within(Duration::from_secs(3)));
    say(&mut clients, &mut received, 0, "2 has left", &[1]);
    clients[1].send_frame(true, 2, &[0, 159, 255]);
    let frame = clients[0].read_frame();
    received[0].push(format!("{}:{:?}", frame.opcode, frame.payload));
    for c in &mut clients[..2] {
        c.stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut buf = [0; 1];
        assert!(
            std::io::Read::read(&mut c.stream, &mut buf).is_err(),
            "nothing else arrives"
        );
    }
    received
}

#[test]
fn macro_chat_and_hand_written_chat_behave_the_same() {
    let by_macro = run_script(suite::serve(relay::Chat::default().into_protocol()));
    let by_hand = run_script(suite::serve(WebSocket::new(chat_trait::Chat::new())));
    assert_eq!(by_macro, by_hand);
    assert_eq!(by_macro[1], ["1:hello from 0", "1:", "1:2 has left"]);
}

fn line_client(addr: SocketAddr) -> (TcpStream, BufReader<TcpStream>) {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let reader = BufReader::new(stream.try_clone().unwrap());
    (stream, reader)
}

fn check_line_chat<P>(protocol: P)
where
    P: ratchet::workers::Split + Send + 'static,
    <P::Worker as Protocol>::ConnState: Send,
    P::ConnState: Send,
{
    let (addr, handle) = suite::serve_handle(protocol);
    let (mut alice, _) = line_client(addr);
    let (mut bob, mut bob_reads) = line_client(addr);
    // A line client opens when accepted: wait until both are.
    suite::wait_until("both clients open", || handle.stats().connections == 2);
    // On workers, the application hears of bob on the app thread, maybe after what
    // alice says first: she says she is ready until bob hears it (bounded), then where
    // the readiness ends.
    let mut line = String::new();
    bob.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    for attempt in 0.. {
        assert!(attempt < 200, "bob never heard alice");
        alice.write_all(b"ready\n").unwrap();
        line.clear();
        if bob_reads.read_line(&mut line).is_ok() && line == "ready\n" {
            break;
        }
    }
    bob.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    alice.write_all(b"synced\n").unwrap();
    while line != "synced\n" {
        line.clear();
        bob_reads.read_line(&mut line).unwrap();
    }
    alice.write_all(b"hello bob\r\nsecond line\n").unwrap();
    line.clear();
    bob_reads.read_line(&mut line).unwrap();
    assert_eq!(line, "hello bob\n");
    line.clear();
    bob_reads.read_line(&mut line).unwrap();
    assert_eq!(line, "second line\n");
    // A line split across writes is one message.
    alice.write_all(b"spl").unwrap();
    std::thread::sleep(Duration::from_millis(50));
    alice.write_all(b"it\n").unwrap();
    line.clear();
    bob_reads.read_line(&mut line).unwrap();
    assert_eq!(line, "split\n");
    bob.write_all(b"bye\n").unwrap();
}

#[test]
fn the_same_app_serves_line_clients_with_protocol_line() {
    assert_eq!(<line_chat::Chat as App>::SCHEME, "tcp");
    check_line_chat(line_chat::Chat::default().into_protocol());
    // And the WebSocket app itself, wrapped differently by hand: nothing else changes.
    check_line_chat(Line::new(relay::Chat::default()));
}

#[test]
fn a_macro_app_is_testable_without_sockets() {
    let mut t = Tester::new(chat::Chat::default());
    let request = |name: &str| Request::new("GET", format!("/chat?name={name}"), vec![]);
    let (ann, welcome) = t.open_with(request("ann"));
    assert_eq!(
        welcome.sent_to(&ann),
        [r#"{"here":[],"name":"ann","type":"welcome"}"#]
    );
    let (bob, cmds) = t.open_with(request("bob"));
    assert_eq!(cmds.sent_to(&ann), [r#"{"name":"bob","type":"joined"}"#]);
    assert_eq!(
        cmds.sent_to(&bob),
        [r#"{"here":["ann"],"name":"bob","type":"welcome"}"#]
    );
    let cmds = t.message(&ann, "hi \"bob\"");
    assert_eq!(
        cmds.sent_to(&bob),
        [r#"{"name":"ann","text":"hi \"bob\"","type":"message"}"#]
    );
    assert!(cmds.sent_to(&ann).is_empty(), "not echoed to the sender");
    assert_eq!(
        t.close(&bob).sent_to(&ann),
        [r#"{"name":"bob","type":"left"}"#]
    );
    let (guest, cmds) = t.open();
    let expected = format!(
        r#"{{"here":["ann"],"name":"guest-{}","type":"welcome"}}"#,
        guest.id()
    );
    assert_eq!(cmds.sent_to(&guest), [Payload::from(expected)]);
}

/// The chat's who-is-here list, under a random schedule: a newcomer's welcome names
/// exactly the others who are open, and everyone open hears of each join and leave.
#[test]
fn the_chat_knows_who_is_here_under_a_random_schedule() {
    use ratchet::testing::{Schedule, Step};

    let mut t = Tester::new(chat::Chat::default());
    let schedule = Schedule::new(5)
        .steps(400)
        .max_open(7)
        .targets(["/chat?name=ann", "/chat?name=bob", "/chat"])
        .messages(["hi", "how are you?"]);
    schedule.run(&mut t, |t, step, out| {
        let json = |p: &Payload| serde_json::from_slice::<serde_json::Value>(p.as_bytes()).unwrap();
        let open = t.open_conns().count();
        match step {
            Step::Open(id, _) => {
                let welcome = json(&out.sent_to(*id)[0]);
                assert_eq!(
                    welcome["here"].as_array().unwrap().len(),
                    open - 1,
                    "{welcome}"
                );
                for other in t.open_conns().filter(|c| c.id() != *id) {
                    assert_eq!(json(&out.sent_to(other)[0])["type"], "joined");
                }
            }
            Step::Close(_) => {
                for other in t.open_conns() {
                    assert_eq!(json(&out.sent_to(other)[0])["type"], "left");
                }
            }
            Step::Message(from, _) => {
                assert_eq!(out.deliveries().len(), open - 1, "to all but {from}");
            }
            Step::Refused(_) | Step::Advance(_) => assert!(out.deliveries().is_empty()),
        }
    });
}

#[test]
fn the_generated_main_serves_and_exits_cleanly_on_sigterm() {
    // `--bind 127.0.0.1:0` (from `Example`) wins over the environment.
    let mut chat = suite::Example::start_with("chat", &[("RATCHET_BIND", "127.0.0.1:1")]);
    let addr = chat.addr();
    assert_eq!(
        chat.banner.trim(),
        format!("Chat listening on ws://{addr}/chat, page at http://{addr}/")
    );

    // The page (static_dir) and the socket (path) on the one port.
    let mut browser = RawClient::connect(addr);
    browser.write(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    let (head, body) = browser.read_response();
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert!(body.contains("<title>Ratchet chat</title>"), "{body}");
    let mut a = RawClient::open(addr, "/chat?name=a");
    a.expect_text(r#"{"here":[],"name":"a","type":"welcome"}"#);
    let mut b = RawClient::open(addr, "/chat?name=b");
    b.expect_text(r#"{"here":["a"],"name":"b","type":"welcome"}"#);
    a.expect_text(r#"{"name":"b","type":"joined"}"#);
    a.send_text("through the generated main");
    b.expect_text(r#"{"name":"a","text":"through the generated main","type":"message"}"#);

    let status = Command::new("kill")
        .args(["-TERM", &chat.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // Every client is told the server is going away (1001), then the process exits 0.
    assert_eq!(a.read_frame().close_code(), Some(1001));
    assert_eq!(b.read_frame().close_code(), Some(1001));
    a.send_frame(true, 8, &[0x03, 0xE9]);
    b.send_frame(true, 8, &[0x03, 0xE9]);
    let status = chat.child.wait().unwrap();
    assert!(status.success(), "exit status {status}");
}

#[test]
fn the_generated_main_reads_ratchet_bind() {
    let mut child = Command::new(suite::example("chat"))
        .env("RATCHET_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        line.starts_with("Chat listening on ws://127.0.0.1:"),
        "{line:?}"
    );
    assert!(
        !line.contains(":8080/"),
        "the environment overrides the default: {line:?}"
    );
}

/// A macro app that gets its handle at start and pushes from its own thread.
mod clock {
    use ratchet::prelude::*;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    #[ratchet::app(main = false)]
    #[derive(Default)]
    pub struct Clock {
        clients: Arc<Mutex<ConnSet>>,
    }

    #[ratchet::handlers]
    impl Clock {
        fn on_start(&mut self, handle: Handle) {
            let clients = self.clients.clone();
            std::thread::spawn(move || loop {
                std::thread::sleep(Duration::from_millis(50));
                let tick = clients.lock().unwrap().send("tick");
                if handle.send(tick) == Err(ratchet::SendError::Stopped) {
                    return;
                }
            });
        }

        fn on_open(&mut self, conn: &Conn) {
            self.clients.lock().unwrap().insert(conn);
        }

        fn on_close(&mut self, conn: &Conn) {
            self.clients.lock().unwrap().remove(conn);
        }
    }
}

#[test]
fn a_macro_app_gets_its_handle_at_start() {
    let addr = suite::serve(clock::Clock::default().into_protocol());
    let mut c = RawClient::open(addr, "/");
    c.expect_text("tick");
    c.expect_text("tick");
}

/// Every HTTP key at once: behind a router at `/ws`, an origin allow-list, subprotocols
/// and a blacklist.
mod guarded {
    use ratchet::prelude::*;

    #[ratchet::app(
        protocol = "websocket",
        main = false,
        path = "/ws",
        origins = ["http://good.example", "localhost"],
        subprotocols = ["v2", "v1"],
        blacklist = ["127.0.0.3"]
    )]
    #[derive(Default)]
    pub struct Guarded;

    #[ratchet::handlers]
    impl Guarded {
        fn on_open(&mut self, conn: &Conn) -> Command {
            conn.send(format!(
                "speaking {}",
                conn.subprotocol().unwrap_or("nothing")
            ))
        }
    }
}

#[test]
fn the_http_keys_build_the_decorators_they_name() {
    let addr = suite::serve(guarded::Guarded.into_protocol());
    let (mut ok, head) = RawClient::open_with(
        addr,
        "/ws",
        "Origin: http://good.example\r\nSec-WebSocket-Protocol: v1, v3\r\n",
    );
    assert!(head.contains("Sec-WebSocket-Protocol: v1\r\n"), "{head}");
    ok.expect_text("speaking v1");

    let mut evil = RawClient::connect(addr);
    evil.write(suite::upgrade_request("/ws", "Origin: http://evil.example\r\n").as_bytes());
    assert!(evil.read_response().0.starts_with("HTTP/1.1 403 "));

    let mut elsewhere = RawClient::connect(addr);
    elsewhere
        .write(suite::upgrade_request("/other", "Origin: http://localhost:8080\r\n").as_bytes());
    assert!(elsewhere.read_response().0.starts_with("HTTP/1.1 404 "));

    let mut blocked = RawClient::connect_from(addr, "127.0.0.3".parse().unwrap());
    let _ = blocked
        .stream
        .write_all(suite::upgrade_request("/ws", "Origin: http://localhost\r\n").as_bytes());
    assert!(blocked.closed_within(Duration::from_secs(5)));
}
