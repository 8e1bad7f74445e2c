//! Random interleavings of what clients do to a routed stack — pipelined requests, reads
//! split anywhere, messages, timers, closes on either side, peers that stop reading, time
//! passing — driven through the server's own core (`testing::Simulation`), checking what
//! must always hold:
//!
//! - every `on_open` has exactly one `on_close`, and no message comes after the
//!   application asked to close (or after the close);
//! - timers reach the application that set them, with the key it set;
//! - every handshake that opened passed the origin check, whatever came before it on
//!   its keep-alive connection;
//! - every response is whole HTTP, and everything is let go at the end;
//! - with sessions read from a real Redis (when one is installed; `scripts/test` installs
//!   it), every connection opens with the session its cookie names, or none.

use proptest::prelude::*;
use ratchet::http::{NoRoute, OriginCheck, Route, Router, Static};
use ratchet::server::Config as ServerConfig;
use ratchet::session::{Session, SessionExt};
use ratchet::testing::{Client, Simulation};
use ratchet::IntoCommands;
use ratchet::{Command, Commands, Component, Conn, ConnId, Error, Message, Protocol, WebSocket};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::time::{Duration, Instant};
use suite::{client_frame, responses, RedisServer};

/// What the applications did, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    /// An application opened a connection: whether its handshake's origin was allowed,
    /// the session id its cookie named, and the session's user.
    Open(&'static str, ConnId, bool, Option<String>, Option<String>),
    Message(&'static str, ConnId),
    /// The application asked to close the connection.
    Bye(&'static str, ConnId),
    Close(&'static str, ConnId),
    TimerSet(&'static str, u64),
    TimerFired(&'static str, u64),
}

type Log = Rc<RefCell<Vec<Event>>>;

struct App {
    name: &'static str,
    log: Log,
}

impl Component for App {
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        let origin = conn.request().and_then(|r| r.header("Origin"));
        let good = origin == Some("https://good.example");
        let cookie = conn.cookie("PHPSESSID").map(str::to_owned);
        let user = conn.session().and_then(|s| s.get::<String>("user"));
        self.log
            .borrow_mut()
            .push(Event::Open(self.name, conn.id(), good, cookie, user));
        Commands::none()
    }
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        self.log
            .borrow_mut()
            .push(Event::Message(self.name, from.id()));
        let text = msg.as_text().unwrap_or("");
        if text == "bye" {
            self.log.borrow_mut().push(Event::Bye(self.name, from.id()));
            return from.close();
        }
        if let Some(key) = text.strip_prefix("t ").and_then(|k| k.parse().ok()) {
            self.log.borrow_mut().push(Event::TimerSet(self.name, key));
            return Command::after(Duration::from_millis(5), key);
        }
        from.send(msg)
    }
    fn on_close(&mut self, conn: &Conn) -> impl IntoCommands {
        self.log
            .borrow_mut()
            .push(Event::Close(self.name, conn.id()));
        Commands::none()
    }
    fn on_error(&mut self, _: &Conn, _: Error) -> impl IntoCommands {
        Commands::none()
    }
    fn on_timer(&mut self, key: u64) -> impl IntoCommands {
        self.log
            .borrow_mut()
            .push(Event::TimerFired(self.name, key));
        Commands::none()
    }
}

/// What a client does next.
#[derive(Debug, Clone)]
enum Op {
    Connect,
    /// Upgrade on /chat or /room, with an allowed origin or not, and a session cookie
    /// (none, one of two users, an unknown id, a session over the size cap).
    Upgrade {
        client: usize,
        room: bool,
        good: bool,
        cookie: usize,
        split: usize,
    },
    /// Pipelined static requests (some for files that are not there), the last one maybe
    /// asking to close.
    Get {
        client: usize,
        count: usize,
        close: bool,
        split: usize,
    },
    /// WebSocket messages in one write: text, "bye", or a timer order each.
    Frames {
        client: usize,
        kinds: Vec<u8>,
        key: u64,
        split: usize,
    },
    /// How much the client reads from now on.
    Window {
        client: usize,
        bytes: usize,
    },
    /// The client shuts its write side.
    Close {
        client: usize,
    },
    Advance {
        ms: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let client = 0usize..6;
    let split = 0usize..400;
    prop_oneof![
        2 => Just(Op::Connect),
        3 => (client.clone(), any::<bool>(), prop::bool::weighted(0.8), 0usize..5, split.clone())
            .prop_map(|(client, room, good, cookie, split)| Op::Upgrade { client, room, good, cookie, split }),
        3 => (client.clone(), 1usize..5, prop::bool::weighted(0.2), split.clone())
            .prop_map(|(client, count, close, split)| Op::Get { client, count, close, split }),
        4 => (client.clone(), prop::collection::vec(0u8..3, 1..4), 0u64..4, split)
            .prop_map(|(client, kinds, key, split)| Op::Frames { client, kinds, key, split }),
        2 => (client.clone(), prop_oneof![Just(0usize), Just(64), Just(usize::MAX)])
            .prop_map(|(client, bytes)| Op::Window { client, bytes }),
        1 => client.prop_map(|client| Op::Close { client }),
        2 => (0u64..40_000).prop_map(|ms| Op::Advance { ms }),
    ]
}

/// The session ids a client may present, and whose they are.
const COOKIES: [Option<&str>; 5] = [None, Some("s1"), Some("s2"), Some("nobody"), Some("big")];

fn user_of(cookie: Option<&str>) -> Option<&'static str> {
    match cookie {
        Some("s1") => Some("alice"),
        Some("s2") => Some("bob"),
        _ => None,
    }
}

/// A router whose two socket routes are `C`, beside static files.
type Stack<C> = Router<Route<C, Route<C, Route<Static, NoRoute>>>>;

struct World<C: Protocol> {
    sim: Simulation<Stack<C>>,
    clients: Vec<(Client, Vec<u8>)>,
    /// Session lookups answer from other threads: wait for them in real time.
    sessions: bool,
    /// The static files' folder, removed with the world.
    _site: suite::Folder,
}

fn site() -> suite::Folder {
    let big = "b".repeat(20_000); // streamed: five times the output budget
    suite::folder(
        "simulation",
        &[
            ("index.html", "<!doctype html>"),
            ("a.txt", "aaaa"),
            ("big.bin", &big),
        ],
    )
}

fn app(name: &'static str, log: &Log) -> WebSocket<App> {
    WebSocket::new(App {
        name,
        log: log.clone(),
    })
}

impl<C: Protocol> World<C> {
    fn new(chat: impl Fn(&'static str) -> C, sessions: bool) -> Self {
        let site = site();
        let router = Router::new()
            .route("/*", Static::new(&*site))
            .route("/chat", chat("chat"))
            .route("/room", chat("room"));
        let config = ServerConfig::default().output_budget(4096);
        World {
            sim: Simulation::new(router, config).expect("valid"),
            clients: Vec::new(),
            sessions,
            _site: site,
        }
    }

    /// With sessions: gives a handshake's lookup a moment (real time, at most 200 ms) to
    /// be answered, so that most connections open with a session. Correctness does not
    /// depend on it: lookups cannot time out in these runs (see the test).
    fn await_answer(&mut self, client: usize, answers_before: usize) {
        if !self.sessions || client >= self.clients.len() {
            return;
        }
        let deadline = Instant::now() + Duration::from_millis(200);
        while Instant::now() < deadline {
            self.sim.step();
            self.collect();
            let (c, got) = &self.clients[client];
            if answers(got) > answers_before || self.sim.is_closed(c) {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn send(&mut self, client: usize, bytes: &[u8], split: usize) {
        let Some((c, _)) = self.clients.get(client) else {
            return;
        };
        let c = c.clone();
        let cut = split.min(bytes.len());
        if cut > 0 && cut < bytes.len() {
            self.sim.send(&c, &bytes[..cut]);
            self.sim.send(&c, &bytes[cut..]);
        } else {
            self.sim.send(&c, bytes);
        }
        self.collect();
    }

    /// Keeps what each client was sent.
    fn collect(&mut self) {
        for (c, got) in &mut self.clients {
            got.extend(self.sim.take(c));
        }
    }

    fn run(&mut self, op: &Op) {
        match *op {
            Op::Connect => {
                let c = self.sim.connect();
                self.clients.push((c, Vec::new()));
            }
            Op::Upgrade {
                client,
                room,
                good,
                cookie,
                split,
            } => {
                let origin = if good {
                    "https://good.example"
                } else {
                    "https://evil.example"
                };
                let path = if room { "/room" } else { "/chat" };
                let mut headers = format!("Origin: {origin}\r\n");
                if let Some(id) = COOKIES[cookie] {
                    headers.push_str(&format!("Cookie: PHPSESSID={id}\r\n"));
                }
                let request = suite::upgrade_request(path, &headers);
                let before = self.clients.get(client).map_or(0, |(_, got)| answers(got));
                self.send(client, request.as_bytes(), split);
                self.await_answer(client, before);
            }
            Op::Get {
                client,
                count,
                close,
                split,
            } => {
                let mut requests = String::new();
                for i in 0..count {
                    let file = ["/a.txt", "/missing", "/big.bin"][i % 3];
                    let last = if close && i == count - 1 {
                        "Connection: close\r\n"
                    } else {
                        ""
                    };
                    requests.push_str(&format!("GET {file} HTTP/1.1\r\nHost: h\r\n{last}\r\n"));
                }
                self.send(client, requests.as_bytes(), split);
            }
            Op::Frames {
                client,
                ref kinds,
                key,
                split,
            } => {
                let mut frames = Vec::new();
                for kind in kinds {
                    let text = match kind {
                        0 => "hello".to_owned(),
                        1 => "bye".to_owned(),
                        _ => format!("t {key}"),
                    };
                    frames.extend(client_frame(true, 1, text.as_bytes()));
                }
                self.send(client, &frames, split);
            }
            Op::Window { client, bytes } => {
                if let Some((c, _)) = self.clients.get(client) {
                    let c = c.clone();
                    self.sim.set_window(&c, bytes);
                    self.collect();
                }
            }
            Op::Close { client } => {
                if let Some((c, _)) = self.clients.get(client) {
                    let c = c.clone();
                    self.sim.close(&c);
                    self.collect();
                }
            }
            Op::Advance { ms } => {
                self.sim.advance(Duration::from_millis(ms));
                self.collect();
            }
        }
    }

    /// Everyone reads everything and leaves; time passes until every deadline is over.
    fn finish(&mut self) {
        for (c, _) in self.clients.clone() {
            self.sim.set_window(&c, usize::MAX);
            self.sim.close(&c);
        }
        self.sim.close_all();
        for _ in 0..10 {
            self.sim.advance(Duration::from_secs(60));
        }
        self.collect();
    }
}

/// How many answers to handshakes (a `101` or a refusal) `got` holds.
fn answers(got: &[u8]) -> usize {
    got.windows(11)
        .filter(|w| w.starts_with(b"HTTP/1.1 101") || w.starts_with(b"HTTP/1.1 4"))
        .count()
}

fn check<C: Protocol>(log: &[Event], world: &World<C>) -> Result<(), TestCaseError> {
    let mut state: BTreeMap<ConnId, &str> = BTreeMap::new();
    let mut set: HashMap<(&str, u64), usize> = HashMap::new();
    let mut fired: HashMap<(&str, u64), usize> = HashMap::new();
    for event in log {
        match *event {
            Event::Open(app, id, good, ref cookie, ref user) => {
                prop_assert!(!state.contains_key(&id), "{id} opened twice");
                state.insert(id, "open");
                prop_assert!(good, "{app} opened {id} from a forbidden origin");
                if world.sessions {
                    prop_assert_eq!(
                        user.as_deref(),
                        user_of(cookie.as_deref()),
                        "{} opened with another session than its cookie's ({:?})",
                        id,
                        cookie
                    );
                } else {
                    prop_assert_eq!(user, &None);
                }
            }
            Event::Message(app, id) => {
                prop_assert_eq!(
                    state.get(&id),
                    Some(&"open"),
                    "{} heard {} when not open",
                    app,
                    id
                );
            }
            Event::Bye(_, id) => {
                state.insert(id, "closing");
            }
            Event::Close(app, id) => {
                prop_assert!(
                    matches!(state.get(&id), Some(&"open" | &"closing")),
                    "{app} closed {id} twice or unopened"
                );
                state.insert(id, "closed");
            }
            Event::TimerSet(app, key) => *set.entry((app, key)).or_default() += 1,
            Event::TimerFired(app, key) => {
                prop_assert!(
                    set.contains_key(&(app, key)),
                    "{app} got timer {key} it never set"
                );
                *fired.entry((app, key)).or_default() += 1;
            }
        }
    }
    for (id, s) in &state {
        prop_assert_eq!(*s, "closed", "{} was never closed", id);
    }
    for (timer, times) in &set {
        let got = fired.get(timer).copied().unwrap_or(0);
        prop_assert!(
            got >= 1 && got <= *times,
            "{timer:?} set {times} times, fired {got}"
        );
    }
    for (c, got) in &world.clients {
        prop_assert!(world.sim.is_gone(c), "a connection was kept after the end");
        // The responses a client got are HTTP with the statuses this stack gives (after a
        // 101 come frames, checked through the events above; a response may be cut short
        // only where the server closed a client that stopped reading).
        let (all, _) = responses(got, false);
        for r in all {
            prop_assert!(
                [101, 200, 400, 403, 404].contains(&r.status()),
                "{}",
                r.head
            );
        }
    }
    let stats = world.sim.stats();
    prop_assert_eq!(stats.connections, 0);
    prop_assert_eq!(stats.inbound_bytes, 0);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn whatever_clients_do_the_invariants_hold(ops in prop::collection::vec(op(), 1..60)) {
        let log = Log::default();
        let chat = |name| OriginCheck::new(app(name, &log), ["https://good.example"]);
        let mut world = World::new(chat, false);
        world.run(&Op::Connect);
        for op in &ops {
            world.run(op);
        }
        world.finish();
        check(&log.borrow(), &world)?;
    }
}

#[test]
fn with_sessions_from_redis_every_connection_opens_with_its_own() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    for (id, session) in [
        ("s1", "user|s:5:\"alice\";".to_owned()),
        ("s2", "user|s:3:\"bob\";".to_owned()),
        (
            "big",
            format!("user|s:4:\"huge\";pad|s:2000:\"{}\";", "p".repeat(2000)),
        ),
    ] {
        let key = format!("PHPREDIS_SESSION:{id}");
        let set = redis.run(&[b"SET", key.as_bytes(), session.as_bytes()]);
        assert_eq!(set.as_deref(), Some("+OK"));
    }
    let config = ProptestConfig {
        cases: 32,
        ..ProptestConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let ops = prop::collection::vec(op(), 1..30);
    let result = runner.run(&ops, |ops| {
        let log = Log::default();
        let chat = |name| {
            // A lookup never times out here (a day, against minutes of simulated time):
            // one that opens has its cookie's session, however slowly Redis answered.
            let session = Session::new(app(name, &log), redis.url())
                .max_size(1024)
                .lookup_timeout(Duration::from_secs(24 * 3600));
            OriginCheck::new(session, ["https://good.example"])
        };
        let mut world = World::new(chat, true);
        world.run(&Op::Connect);
        for op in &ops {
            world.run(op);
        }
        world.finish();
        let events = log.borrow().clone();
        check(&events, &world)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
