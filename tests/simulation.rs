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
//! - every response is whole HTTP, and everything is let go at the end.

use proptest::prelude::*;
use ratchet::http::{OriginCheck, Router, Static};
use ratchet::server::Config as ServerConfig;
use ratchet::testing::{Client, Simulation};
use ratchet::{Command, Commands, Component, Conn, ConnId, Error, Message, WebSocket};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::time::Duration;
use suite::{client_frame, responses};

/// What the applications did, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    /// An application opened a connection; whether its handshake's origin was allowed.
    Open(&'static str, ConnId, bool),
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
    fn on_open(&mut self, conn: &Conn) -> Commands {
        let origin = conn.request().and_then(|r| r.header("Origin"));
        let good = origin == Some("https://good.example");
        self.log
            .borrow_mut()
            .push(Event::Open(self.name, conn.id(), good));
        Commands::none()
    }
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> Commands {
        self.log
            .borrow_mut()
            .push(Event::Message(self.name, from.id()));
        let text = msg.as_text().unwrap_or("");
        if text == "bye" {
            self.log.borrow_mut().push(Event::Bye(self.name, from.id()));
            return from.close().into();
        }
        if let Some(key) = text.strip_prefix("t ").and_then(|k| k.parse().ok()) {
            self.log.borrow_mut().push(Event::TimerSet(self.name, key));
            return Command::after(Duration::from_millis(5), key).into();
        }
        from.send(msg).into()
    }
    fn on_close(&mut self, conn: &Conn) -> Commands {
        self.log
            .borrow_mut()
            .push(Event::Close(self.name, conn.id()));
        Commands::none()
    }
    fn on_error(&mut self, _: &Conn, _: Error) -> Commands {
        Commands::none()
    }
    fn on_timer(&mut self, key: u64) -> Commands {
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
    /// Upgrade on /chat or /room, with an allowed origin or not.
    Upgrade {
        client: usize,
        room: bool,
        good: bool,
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
        3 => (client.clone(), any::<bool>(), prop::bool::weighted(0.8), split.clone())
            .prop_map(|(client, room, good, split)| Op::Upgrade { client, room, good, split }),
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

struct World {
    sim: Simulation<Router<StackRoutes>>,
    clients: Vec<(Client, Vec<u8>)>,
}

type Chat = OriginCheck<WebSocket<App>>;
type StackRoutes = ratchet::http::Route<
    Chat,
    ratchet::http::Route<Chat, ratchet::http::Route<Static, ratchet::http::NoRoute>>,
>;

fn site() -> std::path::PathBuf {
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

impl World {
    fn new(log: &Log) -> Self {
        let chat = |name| {
            let app = App {
                name,
                log: log.clone(),
            };
            OriginCheck::new(WebSocket::new(app), ["https://good.example"])
        };
        let router = Router::new()
            .route("/*", Static::new(site()))
            .route("/chat", chat("chat"))
            .route("/room", chat("room"));
        let config = ServerConfig::default().output_budget(4096);
        World {
            sim: Simulation::new(router, config).expect("valid"),
            clients: Vec::new(),
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
                split,
            } => {
                let origin = if good {
                    "https://good.example"
                } else {
                    "https://evil.example"
                };
                let path = if room { "/room" } else { "/chat" };
                let request = suite::upgrade_request(path, &format!("Origin: {origin}\r\n"));
                self.send(client, request.as_bytes(), split);
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

fn check(log: &[Event], world: &World) -> Result<(), TestCaseError> {
    let mut state: BTreeMap<ConnId, &str> = BTreeMap::new();
    let mut set: HashMap<(&str, u64), usize> = HashMap::new();
    let mut fired: HashMap<(&str, u64), usize> = HashMap::new();
    for event in log {
        match *event {
            Event::Open(app, id, good) => {
                prop_assert!(!state.contains_key(&id), "{id} opened twice");
                state.insert(id, "open");
                prop_assert!(good, "{app} opened {id} from a forbidden origin");
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
        let mut world = World::new(&log);
        world.run(&Op::Connect);
        for op in &ops {
            world.run(op);
        }
        world.finish();
        check(&log.borrow(), &world)?;
    }
}
