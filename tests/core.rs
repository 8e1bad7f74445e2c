//! The server's core driven without sockets, through `testing::Simulation`: a scripted
//! protocol, in-memory connections, a clock the test moves. Lifecycle, budget, slow
//! readers, deadlines, timers, the connection cap.

use ratchet::command::TimerScope;
use ratchet::server::Config;
use ratchet::testing::{Client, Simulation};
use ratchet::{
    CloseCode, Command, Commands, ConfigError, ConnId, Limits, Outbox, Overflow, Payload, Protocol,
};
use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

type Log = Rc<RefCell<Vec<String>>>;

/// A line protocol whose lines are orders: `echo X`, `big N` (N bytes), `close`,
/// `quit` (the application asks to close itself), `deadline MS`, `timer K MS`,
/// `every K MS`, `cancel K`, `hold N` (N bytes of a message in progress), `all X` (to
/// everyone, through a command).
struct Script {
    log: Log,
    conns: Rc<RefCell<Vec<ConnId>>>,
    /// Connections are named 1, 2, ... in the order they came.
    opened: u32,
}

impl Script {
    fn note(&self, event: String) {
        self.log.borrow_mut().push(event);
    }
}

/// A connection's id, and its name in the log.
type State = (ConnId, u32);

impl Protocol for Script {
    type ConnState = State;

    fn limits(&self) -> Result<Limits, ConfigError> {
        Ok(Limits::default().with_unconsumed(1000).with_message(1000))
    }

    fn busy(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"busy\n");
    }

    fn connect(&mut self, id: ConnId, _peer: SocketAddr, _out: &mut Outbox<'_>) -> State {
        self.opened += 1;
        self.note(format!("connect {}", self.opened));
        self.conns.borrow_mut().push(id);
        (id, self.opened)
    }

    fn data(&mut self, state: &mut State, data: &mut [u8], out: &mut Outbox<'_>) -> usize {
        let (id, name) = *state;
        let Some(end) = data.iter().position(|&b| b == b'\n') else {
            return 0;
        };
        let line = String::from_utf8_lossy(&data[..end]).into_owned();
        self.note(format!("data {name} {line}"));
        let mut words = line.split(' ');
        let (order, arg, arg2) = (words.next(), words.next(), words.next());
        let ms = |a: Option<&str>| Duration::from_millis(a.unwrap().parse().unwrap());
        match order {
            Some("echo") => out
                .output()
                .extend_from_slice(format!("{}\n", arg.unwrap()).as_bytes()),
            Some("big") => {
                let n: usize = arg.unwrap().parse().unwrap();
                out.output().extend(std::iter::repeat_n(b'x', n));
            }
            Some("close") => out.shutdown(),
            Some("quit") => out.commands(Command::close(id, CloseCode::Normal, "")),
            Some("deadline") => out.set_deadline(Some(out.after(ms(arg)))),
            Some("timer") => out.commands(Command::after(ms(arg2), arg.unwrap().parse().unwrap())),
            Some("every") => out.commands(Command::every(ms(arg2), arg.unwrap().parse().unwrap())),
            Some("cancel") => out.commands(Command::cancel_timer(arg.unwrap().parse().unwrap())),
            Some("hold") => {
                let n: usize = arg.unwrap().parse().unwrap();
                if n > out.inbound_allowance() {
                    self.note(format!("busy {name}"));
                } else {
                    out.hold_inbound(n);
                }
            }
            Some("all") => {
                let all: Vec<ConnId> = self.conns.borrow().clone();
                out.commands(Command::send_to(all, arg.unwrap().to_owned()));
            }
            _ => {}
        }
        end + 1
    }

    fn timeout(&mut self, state: &mut State, _out: &mut Outbox<'_>) {
        self.note(format!("timeout {}", state.1));
    }

    fn disconnect(&mut self, (id, name): State, _out: &mut Outbox<'_>) {
        self.note(format!("disconnect {name}"));
        self.conns.borrow_mut().retain(|c| *c != id);
    }

    fn encoding(&self, _state: &State) -> Option<u8> {
        Some(0)
    }

    fn encode(&mut self, _state: &mut State, msg: &Payload, buf: &mut Vec<u8>) {
        buf.extend_from_slice(msg.as_bytes());
        buf.push(b'\n');
    }

    fn overflow(&mut self, state: &mut State, policy: Overflow, out: &mut Outbox<'_>) {
        self.note(format!("overflow {} {policy:?}", state.1));
        if policy == Overflow::Close {
            out.shutdown();
        }
    }

    fn timer(&mut self, scope: TimerScope, key: u64) -> Commands {
        assert_eq!(scope, TimerScope::default());
        self.note(format!("timer {key}"));
        // Key 99 re-arms itself at once, forever.
        if key == 99 {
            return Command::after(Duration::ZERO, 99).into();
        }
        Commands::none()
    }

    fn close(&mut self, state: &mut State, _: CloseCode, _: &str, out: &mut Outbox<'_>) {
        self.note(format!("close {}", state.1));
        out.shutdown();
    }
}

/// A simulated server around a [`Script`], and its log.
struct Harness {
    sim: Simulation<Script>,
    log: Log,
}

impl Harness {
    fn new(config: Config) -> Self {
        let log = Log::default();
        let script = Script {
            log: log.clone(),
            conns: Rc::default(),
            opened: 0,
        };
        let sim = Simulation::new(script, config).expect("a valid configuration");
        Harness { sim, log }
    }

    /// A new connection whose client takes `window` bytes.
    fn connect(&mut self, window: usize) -> Client {
        let client = self.sim.connect();
        self.sim.set_window(&client, window);
        client
    }

    fn send(&mut self, client: &Client, bytes: &str) {
        self.sim.send(client, bytes.as_bytes());
    }

    fn taken(&mut self, client: &Client) -> String {
        String::from_utf8_lossy(&self.sim.take(client)).into_owned()
    }

    fn log(&self) -> Vec<String> {
        self.log.borrow().clone()
    }

    fn count(&self, prefix: &str) -> usize {
        self.log
            .borrow()
            .iter()
            .filter(|e| e.starts_with(prefix))
            .count()
    }

    fn connections(&self) -> usize {
        self.sim.stats().connections
    }
}

#[test]
fn a_connection_opens_answers_closes_lingers_and_ends_once() {
    let mut h = Harness::new(Config::default());
    let c = h.connect(usize::MAX);
    h.send(&c, "echo hi\nclose\n");
    assert_eq!(h.taken(&c), "hi\n");
    assert!(h.sim.is_closed(&c), "the write side is shut once written");
    assert_eq!(
        h.count("disconnect"),
        1,
        "the protocol is told as it starts lingering"
    );
    assert_eq!(h.connections(), 1, "the socket lingers");
    h.sim.close(&c);
    assert!(h.sim.is_gone(&c), "gone at the peer's end");
    assert_eq!(h.connections(), 0);
    assert_eq!(h.count("disconnect"), 1, "told once");
}

#[test]
fn a_half_closed_peer_still_gets_its_answer() {
    let mut h = Harness::new(Config::default());
    let c = h.connect(0);
    h.send(&c, "echo late\n");
    h.sim.close(&c);
    assert_eq!(h.connections(), 1, "kept while its answer waits");
    h.sim.set_window(&c, usize::MAX);
    assert_eq!(h.taken(&c), "late\n");
    assert!(h.sim.is_gone(&c));
    assert_eq!(h.count("disconnect"), 1);
}

#[test]
fn over_the_budget_input_waits_unparsed_until_the_client_reads() {
    let mut h = Harness::new(Config::default().output_budget(4096));
    let c = h.connect(0);
    // One order past the budget, then ten pipelined behind it.
    let pipelined: String = (0..10).map(|i| format!("echo {i}\n")).collect();
    h.send(&c, &format!("big 5000\n{pipelined}"));
    assert_eq!(
        h.count("data"),
        1,
        "nothing more is parsed while over the budget"
    );
    h.sim.set_window(&c, 500);
    assert_eq!(h.count("data"), 1, "still over the budget");
    h.sim.set_window(&c, usize::MAX);
    assert_eq!(h.count("data"), 11, "the rest is fed once it drained");
    let taken = h.taken(&c);
    assert!(taken.ends_with("8\n9\n"), "{}", &taken[taken.len() - 20..]);
}

#[test]
fn a_reader_that_stays_over_the_budget_is_closed_and_a_fast_one_never() {
    let config = Config::default()
        .output_budget(4096)
        .max_output(1 << 20)
        .slow_reader_timeout(Duration::from_secs(10));
    let mut h = Harness::new(config);
    let slow = h.connect(0);
    let fast = h.connect(usize::MAX);
    let sender = h.connect(usize::MAX);
    let message = "y".repeat(900);
    let mut fast_got = 0;
    for _ in 0..20 {
        h.send(&sender, &format!("all {message}\n"));
        fast_got += h.taken(&fast).len();
    }
    h.sim.advance(Duration::from_secs(9));
    assert_eq!(h.count("overflow"), 0, "not yet: judged over time");
    h.sim.set_window(&slow, 100); // a trickle does not count as keeping up
    h.sim.advance(Duration::from_secs(2));
    let overflows: Vec<String> = h
        .log()
        .into_iter()
        .filter(|e| e.starts_with("overflow"))
        .collect();
    assert_eq!(overflows, ["overflow 1 Close"]);
    assert_eq!(h.sim.stats().slow_closed, 1);
    assert_eq!(fast_got, 20 * 901, "the fast reader got everything");
}

#[test]
fn past_the_hard_ceiling_a_message_is_refused_at_once() {
    let config = Config::default()
        .output_budget(2048)
        .max_output(2048 + 1000 + 100);
    let mut h = Harness::new(config);
    let _stalled = h.connect(0);
    let sender = h.connect(usize::MAX);
    for _ in 0..4 {
        h.send(&sender, &format!("all {}\n", "z".repeat(999)));
    }
    assert_eq!(h.count("overflow 1 Close"), 1, "{:?}", h.log());
}

#[test]
fn the_drop_policy_drops_past_the_budget_and_never_closes() {
    let config = Config::default()
        .output_budget(2048)
        .overflow(Overflow::Drop);
    let mut h = Harness::new(config);
    let stalled = h.connect(0);
    let sender = h.connect(usize::MAX);
    for _ in 0..10 {
        h.send(&sender, &format!("all {}\n", "d".repeat(999)));
    }
    h.sim.advance(Duration::from_secs(3600));
    assert_eq!(
        h.count("overflow 1 Drop"),
        1,
        "told once while it is behind"
    );
    assert_eq!(h.sim.stats().dropped_messages, 7, "every drop counted");
    assert_eq!(h.count("disconnect"), 0);
    h.sim.set_window(&stalled, usize::MAX);
    assert_eq!(h.taken(&stalled).len(), 3 * 1000);
    // Back within its budget, it is told again the next time it falls behind.
    h.sim.set_window(&stalled, 0);
    for _ in 0..4 {
        h.send(&sender, &format!("all {}\n", "d".repeat(999)));
    }
    assert_eq!(h.count("overflow 1 Drop"), 2);
}

#[test]
fn a_close_asked_for_mid_read_stops_the_rest_of_that_read() {
    let mut h = Harness::new(Config::default());
    let c = h.connect(usize::MAX);
    h.send(&c, "echo a\nquit\necho b\necho c\n");
    assert_eq!(h.taken(&c), "a\n");
    assert!(
        !h.log().iter().any(|e| e.contains("echo b")),
        "{:?}",
        h.log()
    );
}

#[test]
fn deadlines_fire_once_and_moves_replace_them() {
    let mut h = Harness::new(Config::default());
    let c = h.connect(usize::MAX);
    h.send(&c, "deadline 1000\n");
    h.send(&c, "deadline 5000\n");
    h.sim.advance(Duration::from_secs(2));
    assert_eq!(h.count("timeout"), 0, "the first deadline was replaced");
    h.sim.advance(Duration::from_secs(4));
    assert_eq!(h.count("timeout"), 1);
    h.sim.advance(Duration::from_secs(10));
    assert_eq!(h.count("timeout"), 1);
}

#[test]
fn a_timer_rearmed_at_once_cannot_starve_the_loop() {
    let mut h = Harness::new(Config::default());
    let c = h.connect(usize::MAX);
    h.send(&c, "timer 99 0\n");
    h.sim.advance(Duration::from_millis(1));
    assert_eq!(h.count("timer 99"), 1, "one tick per floor period");
    h.sim.advance(Duration::from_secs(10));
    assert_eq!(h.count("timer 99"), 2, "a late loop does not burst");
    // The loop still serves its connections.
    h.send(&c, "echo alive\n");
    assert_eq!(h.taken(&c), "alive\n");
    // A century, and beyond, without a panic; cancelled, it never fires.
    h.send(&c, &format!("timer 5 {}\n", u64::MAX));
    h.send(&c, "every 6 0\n");
    h.send(&c, "cancel 6\n");
    h.sim.advance(Duration::from_secs(1));
    assert_eq!(h.count("timer 6"), 0);
}

#[test]
fn at_the_cap_a_new_connection_is_answered_and_closed_and_the_others_served() {
    let mut h = Harness::new(Config::default().max_connections(2));
    let a = h.connect(usize::MAX);
    let _b = h.connect(usize::MAX);
    let refused = h.connect(usize::MAX);
    assert_eq!(h.sim.id(&refused), None);
    assert_eq!(h.taken(&refused), "busy\n");
    assert!(h.sim.is_closed(&refused));
    assert_eq!(h.sim.stats().refused_connections, 1);
    h.send(&a, "echo still\n");
    assert_eq!(h.taken(&a), "still\n");
    h.sim.advance(Duration::from_secs(3));
    assert_eq!(h.connections(), 2, "the refusal is gone after its linger");
    // Once one leaves, a new connection is served.
    h.send(&a, "close\n");
    h.sim.close(&a);
    let c = h.connect(usize::MAX);
    h.send(&c, "echo served\n");
    assert_eq!(h.taken(&c), "served\n");
}

#[test]
fn ids_are_never_reused_and_stale_ids_address_nobody() {
    let mut h = Harness::new(Config::default());
    let first = h.connect(usize::MAX);
    let first_id = h.sim.id(&first).unwrap();
    h.send(&first, "close\n");
    h.sim.close(&first);
    let again = h.connect(usize::MAX);
    assert_ne!(h.sim.id(&again), Some(first_id), "the id is not reused");
    h.sim
        .handle()
        .send(Command::send(first_id, "for the old one"))
        .unwrap();
    h.sim.step();
    assert_eq!(h.taken(&again), "");
}

#[test]
fn messages_in_progress_share_one_server_wide_budget() {
    let config = Config::default().max_inbound(3000);
    let mut h = Harness::new(config);
    let a = h.connect(usize::MAX);
    let b = h.connect(usize::MAX);
    h.send(&a, "hold 2000\n");
    h.send(&b, "hold 2000\n");
    assert_eq!(h.count("busy 2"), 1, "the second does not fit");
    assert_eq!(h.sim.stats().inbound_bytes, 2000);
    h.send(&a, "close\n");
    h.sim.close(&a);
    assert_eq!(h.sim.stats().inbound_bytes, 0, "given back when it ends");
    h.send(&b, "hold 2000\n");
    assert_eq!(h.count("busy"), 1);
}
