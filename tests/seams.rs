//! Where decorators meet: one regression test per seam found in review, each driven
//! through the server's own core without sockets (`testing::Simulation`), so timing is
//! the test's to set.

use ratchet::http::{OriginCheck, Router, Static};
use ratchet::server::Config as ServerConfig;
use ratchet::testing::{Client, Simulation};
use ratchet::websocket::{Config, Deflate};
use ratchet::IntoCommands;
use ratchet::{
    delegate_protocol, Command, Commands, Component, Conn, ConnSet, Error, Line, Message, Outbox,
    Overflow, Protocol, Server, WebSocket,
};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use suite::{client_frame, responses, server_frames, upgrade_request, Response};

/// What an application heard, shared with the test.
type Heard = Rc<RefCell<Vec<String>>>;

/// Records every event; "bye" closes the sender; "timer K" starts timer K.
#[derive(Default, Clone)]
struct Recorder {
    name: &'static str,
    heard: Heard,
    clients: Rc<RefCell<ConnSet>>,
}

impl Recorder {
    fn named(name: &'static str, heard: &Heard) -> Self {
        Recorder {
            name,
            heard: heard.clone(),
            clients: Rc::default(),
        }
    }
    fn note(&self, event: String) {
        self.heard
            .borrow_mut()
            .push(format!("{} {event}", self.name));
    }
}

impl Component for Recorder {
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        self.clients.borrow_mut().insert(conn);
        self.note(format!("open {}", conn.id()));
        Commands::none()
    }
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        let text = msg.as_text().unwrap_or("(binary)").to_owned();
        self.note(format!("message {} {text}", from.id()));
        if text == "bye" {
            return from.close().into();
        }
        if let Some(key) = text.strip_prefix("timer ") {
            return Command::after(Duration::from_millis(10), key.parse().unwrap()).into();
        }
        Commands::none()
    }
    fn on_close(&mut self, conn: &Conn) -> impl IntoCommands {
        self.clients.borrow_mut().remove(conn);
        self.note(format!("close {}", conn.id()));
        Commands::none()
    }
    fn on_error(&mut self, conn: &Conn, err: Error) -> impl IntoCommands {
        self.note(format!("error {} {err}", conn.id()));
        Commands::none()
    }
    fn on_timer(&mut self, key: u64) -> impl IntoCommands {
        self.note(format!("timer {key}"));
        self.clients
            .borrow()
            .send(format!("{} timer {key}", self.name))
    }
}

fn texts(bytes: &[u8]) -> Vec<String> {
    server_frames(bytes)
        .0
        .into_iter()
        .filter(|f| f.opcode == 1)
        .map(|f| String::from_utf8(f.payload).unwrap())
        .collect()
}

fn upgrade<P: Protocol>(sim: &mut Simulation<P>, path: &str, extra: &str) -> Client {
    let c = sim.connect();
    sim.send(&c, upgrade_request(path, extra).as_bytes());
    let (got, _) = responses(&sim.take(&c), false);
    assert_eq!(got[0].status(), 101, "{}", got[0].head);
    c
}

fn site() -> suite::Folder {
    suite::folder(
        "seams",
        &[
            ("index.html", "<!doctype html>"),
            ("app.js", "console.log(1)"),
            ("sub/index.html", "sub"),
            (".well-known/security.txt", "Contact: x"),
            (".env", "SECRET"),
        ],
    )
}

fn get<P: Protocol>(sim: &mut Simulation<P>, c: &Client, requests: &str) -> Vec<Response> {
    sim.send(c, requests.as_bytes());
    responses(&sim.take(c), false).0
}

/// Seam 1: One request cannot hide another: conflicting or malformed `Content-Length`,
/// `Transfer-Encoding` beside it, and a missing or doubled `Host` are refused, and nothing
/// after them is answered.
#[test]
fn requests_that_could_smuggle_another_are_refused() {
    let site = site();
    let heard = Heard::default();
    let router = Router::new()
        .route("/chat", WebSocket::new(Recorder::named("chat", &heard)))
        .route("/*", Static::new(&*site));
    let mut sim = Simulation::new(router, ServerConfig::default()).unwrap();
    let hidden = upgrade_request("/chat", "");
    for framing in [
        "Content-Length: 0\r\nContent-Length: 33\r\n",
        "Content-Length: 0, 33\r\n",
        "Content-Length: 3x\r\n",
        "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n",
    ] {
        let c = sim.connect();
        let got = get(
            &mut sim,
            &c,
            &format!("GET /app.js HTTP/1.1\r\nHost: h\r\n{framing}\r\n{hidden}"),
        );
        assert_eq!(got.len(), 1, "{framing:?}: one answer");
        assert_eq!(got[0].status(), 400, "{framing:?}");
        assert!(sim.is_closed(&c), "{framing:?}");
    }
    for hosts in ["", "Host: a\r\nHost: b\r\n"] {
        let c = sim.connect();
        let got = get(
            &mut sim,
            &c,
            &format!("GET /app.js HTTP/1.1\r\n{hosts}\r\n"),
        );
        assert_eq!(got[0].status(), 400, "{hosts:?}");
    }
    assert!(
        heard.borrow().is_empty(),
        "no hidden upgrade got through: {heard:?}"
    );
}

/// Seam 2: Every request of a keep-alive connection passes the origin check, not only the
/// first.
#[test]
fn the_origin_check_checks_every_request_of_a_connection() {
    let site = site();
    let files = OriginCheck::new(Static::new(&*site), ["https://good.example"]);
    let mut sim = Simulation::new(files, ServerConfig::default()).unwrap();
    let c = sim.connect();
    let good = "GET /app.js HTTP/1.1\r\nHost: h\r\nOrigin: https://good.example\r\n\r\n";
    let bad = "GET /app.js HTTP/1.1\r\nHost: h\r\nOrigin: https://evil.example\r\n\r\n";
    let got = get(&mut sim, &c, good);
    assert_eq!(got[0].status(), 200);
    let got = get(&mut sim, &c, bad);
    assert_eq!(got[0].status(), 403, "the second request is checked too");
    // Pipelined in one read, too.
    let c = sim.connect();
    let got = get(&mut sim, &c, &format!("{good}{bad}"));
    assert_eq!(
        got.iter().map(Response::status).collect::<Vec<_>>(),
        [200, 403]
    );
}

/// Seam 3: Timers behind nested routers come back to their own application, with the whole key.
#[test]
fn timers_behind_nested_routers_reach_their_own_app_with_their_whole_key() {
    let site = site();
    let heard = Heard::default();
    let inner = Router::new()
        .route("/x/a", WebSocket::new(Recorder::named("A", &heard)))
        .route("/x/b", WebSocket::new(Recorder::named("B", &heard)));
    let outer = Router::new()
        .route("/*", Static::new(&*site))
        .route("/x/*", inner);
    let mut sim = Simulation::new(outer, ServerConfig::default()).unwrap();
    let a = upgrade(&mut sim, "/x/a", "");
    let b = upgrade(&mut sim, "/x/b", "");
    let key = u64::MAX - 6; // every bit is the application's
    sim.send(
        &b,
        &client_frame(true, 1, format!("timer {key}").as_bytes()),
    );
    sim.send(&a, &client_frame(true, 1, b"timer 7"));
    sim.advance(Duration::from_millis(20));
    assert_eq!(texts(&sim.take(&a)), ["A timer 7"]);
    assert_eq!(texts(&sim.take(&b)), [format!("B timer {key}")]);
    let fired: Vec<String> = heard
        .borrow()
        .iter()
        .filter(|e| e.contains("timer") && !e.contains("message"))
        .cloned()
        .collect();
    assert_eq!(
        fired,
        [&format!("B timer {key}"), "A timer 7"],
        "in the order set"
    );
}

/// Seam 4: Behind a router, keepalive runs on its own clock: ping after one interval of
/// silence, close after the next.
#[test]
fn keepalive_behind_a_router_pings_at_the_interval() {
    let site = site();
    let heard = Heard::default();
    let chat = WebSocket::with_config(
        Recorder::named("chat", &heard),
        Config::default().ping_interval(Some(Duration::from_secs(30))),
    );
    let router = Router::new()
        .route("/chat", chat)
        .route("/*", Static::new(&*site));
    let mut sim = Simulation::new(router, ServerConfig::default()).unwrap();
    let c = upgrade(&mut sim, "/chat", "");
    sim.advance(Duration::from_secs(29));
    assert!(sim.take(&c).is_empty(), "nothing before the interval");
    sim.advance(Duration::from_secs(1));
    let (frames, _) = server_frames(&sim.take(&c));
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].opcode, 9, "a ping at 30 s");
    sim.advance(Duration::from_secs(30));
    let (frames, _) = server_frames(&sim.take(&c));
    assert_eq!(frames[0].close_code(), Some(1001), "closed at 60 s");
    assert!(heard.borrow().iter().any(|e| e.starts_with("chat close")));
}

/// Seam 5: A compressed message whose DEFLATE stream ends with a final block leaves the next
/// messages whole.
#[test]
fn a_final_deflate_block_does_not_empty_later_messages() {
    let heard = Heard::default();
    let chat = WebSocket::with_config(
        Recorder::named("chat", &heard),
        Config::default().deflate(Deflate::default()),
    );
    let mut sim = Simulation::new(chat, ServerConfig::default()).unwrap();
    let c = upgrade(
        &mut sim,
        "/",
        "Sec-WebSocket-Extensions: permessage-deflate\r\n",
    );
    let compressed = |text: &[u8], finish: bool| {
        use flate2::{Compress, Compression, FlushCompress};
        let mut z = Compress::new(Compression::default(), false);
        let mut out = Vec::with_capacity(text.len() + 64);
        let flush = if finish {
            FlushCompress::Finish
        } else {
            FlushCompress::Sync
        };
        z.compress_vec(text, &mut out, flush).unwrap();
        if !finish {
            out.truncate(out.len() - 4);
        }
        let mut frame = client_frame(true, 1, &out);
        frame[0] |= 0x40; // RSV1: compressed
        frame
    };
    sim.send(&c, &compressed(b"first, final", true));
    sim.send(&c, &compressed(b"second", false));
    sim.send(&c, &compressed(b"third", false));
    let messages: Vec<String> = heard
        .borrow()
        .iter()
        .filter_map(|e| e.split_once(" message ").map(|(_, m)| m.to_owned()))
        .map(|m| m.split_once(' ').unwrap().1.to_owned())
        .collect();
    assert_eq!(messages, ["first, final", "second", "third"]);
}

/// Seam 7: `Line` honours `Overflow::Drop`: the application hears of each dropped message, the
/// connection stays; under `Overflow::Close` it is told once and closed.
#[test]
fn line_follows_the_overflow_policy() {
    for policy in [Overflow::Drop, Overflow::Close] {
        let heard = Heard::default();
        #[derive(Clone)]
        struct Shout(Recorder);
        impl Component for Shout {
            fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
                self.0.on_open(conn)
            }
            fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
                let all = self.0.clients.borrow().except(from);
                all.send(msg.to_payload())
            }
            fn on_error(&mut self, conn: &Conn, err: Error) -> impl IntoCommands {
                self.0.on_error(conn, err)
            }
            fn on_close(&mut self, conn: &Conn) -> impl IntoCommands {
                self.0.on_close(conn)
            }
        }
        let config = ServerConfig::default().output_budget(4096).overflow(policy);
        let app = Shout(Recorder::named("line", &heard));
        let mut sim = Simulation::new(Line::new(app), config).unwrap();
        let stalled = sim.connect();
        sim.set_window(&stalled, 0);
        let talker = sim.connect();
        let line = format!("{}\n", "w".repeat(1000));
        for _ in 0..10 {
            sim.send(&talker, line.as_bytes());
        }
        let errors = heard
            .borrow()
            .iter()
            .filter(|e| e.contains("error"))
            .count();
        match policy {
            Overflow::Drop => {
                assert_eq!(errors, 1, "told once while it is behind: {heard:?}");
                assert_eq!(sim.stats().dropped_messages, 5);
                assert!(!sim.is_closed(&stalled));
            }
            _ => {
                sim.advance(Duration::from_secs(20));
                assert_eq!(errors, 0, "under the ceiling, judged over time: {heard:?}");
                let errors = heard
                    .borrow()
                    .iter()
                    .filter(|e| e.contains("error"))
                    .count();
                assert_eq!(errors, 1, "told once: {heard:?}");
                assert!(sim.is_closed(&stalled));
            }
        }
    }
}

/// Seam 9: What the application answers to an overflow caused by a bridged delivery goes out
/// at once, not with some later event.
#[test]
fn commands_from_an_overflow_in_a_bridged_delivery_go_out_at_once() {
    #[derive(Default)]
    struct Watch {
        clients: ConnSet,
    }
    impl Component for Watch {
        fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
            self.clients.insert(conn);
            conn.subscribe("news")
        }
        fn on_message(&mut self, _: &Conn, _: Message<'_>) -> impl IntoCommands {
            Commands::none()
        }
        fn on_error(&mut self, conn: &Conn, _: Error) -> impl IntoCommands {
            self.clients.except(conn).send("someone is behind")
        }
    }
    let config = ServerConfig::default()
        .output_budget(4096)
        .overflow(Overflow::Drop);
    let mut sim = Simulation::new(WebSocket::new(Watch::default()), config).unwrap();
    let stalled = upgrade(&mut sim, "/", "");
    sim.set_window(&stalled, 0);
    let watcher = upgrade(&mut sim, "/", "");
    let handle = sim.handle();
    let mut told = None;
    for i in 0..8 {
        handle.publish_local("news", "n".repeat(1000)).unwrap();
        sim.step(); // the delivery, and nothing else
        let got = texts(&sim.take(&watcher));
        if got.iter().any(|t| t == "someone is behind") {
            told = Some(i);
            break;
        }
    }
    assert_eq!(
        told,
        Some(5),
        "the answer went out with the delivery that overflowed"
    );
}

/// Seam 10: A configuration that contradicts itself is refused when the server is assembled,
/// with the reason.
#[test]
fn contradicting_limits_are_refused_at_start() {
    let big_handshakes = WebSocket::with_config(
        Recorder::default(),
        Config::default().max_handshake_size(64 << 10),
    );
    let err = Server::new(big_handshakes)
        .config(ServerConfig::default().read_buffer_size(16 << 10))
        .bind("127.0.0.1:0")
        .expect_err("a handshake larger than the read buffer");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("read_buffer_size"), "{err}");
    let err = Server::new(WebSocket::new(Recorder::default()))
        .config(ServerConfig::default().read_buffer_size(0))
        .bind("127.0.0.1:0")
        .expect_err("no read buffer");
    assert!(err.to_string().contains("read_buffer_size"), "{err}");
    let frames = WebSocket::with_config(
        Recorder::default(),
        Config::default()
            .max_message_size(1000)
            .max_frame_size(2000),
    );
    assert!(Simulation::new(frames, ServerConfig::default()).is_err());
}

/// Seam 11: Once the application closes a connection, no later message of the same read
/// reaches it.
#[test]
fn no_message_after_the_app_closes_in_the_same_read() {
    let heard = Heard::default();
    let mut sim = Simulation::new(
        WebSocket::new(Recorder::named("app", &heard)),
        ServerConfig::default(),
    )
    .unwrap();
    let c = upgrade(&mut sim, "/", "");
    let mut burst = client_frame(true, 1, b"before");
    burst.extend(client_frame(true, 1, b"bye"));
    burst.extend(client_frame(true, 1, b"after"));
    sim.send(&c, &burst);
    let messages: Vec<String> = heard
        .borrow()
        .iter()
        .filter(|e| e.contains("message"))
        .cloned()
        .collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(messages[1].ends_with("bye"));
    let (frames, _) = server_frames(&sim.take(&c));
    assert_eq!(frames.last().and_then(|f| f.close_code()), Some(1000));
}

/// Seam 12: Static files: a file is not a folder, redirects stay on the site, `.well-known`
/// is served, HTTP/1.0 keep-alive is said, refusals are not sniffed.
#[test]
fn static_files_answer_like_a_careful_server() {
    let site = site();
    let mut sim = Simulation::new(Static::new(&*site), ServerConfig::default()).unwrap();
    let c = sim.connect();
    let got = get(&mut sim, &c, "GET /app.js/ HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(got[0].status(), 404, "a file is not a folder");
    let got = get(&mut sim, &c, "GET //sub HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(got[0].status(), 301);
    assert_eq!(got[0].header("Location"), Some("/sub/"), "never //sub/");
    let got = get(
        &mut sim,
        &c,
        "GET /.well-known/security.txt HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    assert_eq!(got[0].status(), 200);
    assert_eq!(got[0].body, b"Contact: x");
    let got = get(&mut sim, &c, "GET /.env HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(got[0].status(), 404);
    assert_eq!(got[0].header("X-Content-Type-Options"), Some("nosniff"));
    let old = sim.connect();
    let got = get(
        &mut sim,
        &old,
        "GET /app.js HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    );
    assert_eq!(got[0].header("Connection"), Some("keep-alive"));
    assert!(!sim.is_closed(&old), "kept alive as it asked");
}

/// The request head is parsed once: layers inside a router find it already parsed.
#[test]
fn the_request_head_is_parsed_once_and_shared() {
    /// Fails the test if the head reached it unparsed.
    struct ExpectShared<P> {
        inner: P,
        saw: Rc<RefCell<usize>>,
    }
    impl<P: Protocol> Protocol for ExpectShared<P> {
        type ConnState = P::ConnState;
        fn data(
            &mut self,
            state: &mut P::ConnState,
            data: &mut [u8],
            out: &mut Outbox<'_>,
        ) -> usize {
            if self.inner.awaits_request(state) {
                assert!(out.request_at(data).is_some(), "parsed again");
                *self.saw.borrow_mut() += 1;
            }
            self.inner.data(state, data, out)
        }
        delegate_protocol!(inner; except data);
    }
    let site = site();
    let saw = Rc::new(RefCell::new(0));
    let chat = ExpectShared {
        inner: WebSocket::new(Recorder::default()),
        saw: saw.clone(),
    };
    let files = ExpectShared {
        inner: Static::new(&*site),
        saw: saw.clone(),
    };
    let router = Router::new()
        .route("/chat", OriginCheck::new(chat, ["localhost"]))
        .route("/*", files);
    let mut sim = Simulation::new(router, ServerConfig::default()).unwrap();
    upgrade(&mut sim, "/chat", "Origin: http://localhost\r\n");
    let c = sim.connect();
    let two = "GET /app.js HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_eq!(get(&mut sim, &c, two).len(), 2);
    assert_eq!(*saw.borrow(), 3);
}
