//! The core driven without sockets: scripted protocol, in-memory pipes, a clock the test
//! moves. Lifecycle, budget, slow readers, deadlines, timers, the connection cap.

use super::config::Config;
use super::core::Core;
use super::transport::Transport;
use crate::command::{Command, Commands, TimerScope};
use crate::conn::ConnId;
use crate::handle::{Handle, Wake};
use crate::message::Payload;
use crate::protocol::{Limits, Outbox, Overflow, Protocol};
use crate::CloseCode;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// One side of an in-memory connection, as the server sees it.
#[derive(Clone, Default)]
struct Pipe(Rc<RefCell<PipeState>>);

#[derive(Default)]
struct PipeState {
    /// Sent by the client, not read by the server yet.
    inbound: VecDeque<u8>,
    /// Written by the server, taken by the client.
    taken: Vec<u8>,
    /// How many more bytes the client's side takes now.
    window: usize,
    client_closed: bool,
    server_shut: bool,
}

impl Pipe {
    fn new(window: usize) -> Self {
        let pipe = Pipe::default();
        pipe.0.borrow_mut().window = window;
        pipe
    }
    fn send(&self, bytes: &[u8]) {
        self.0.borrow_mut().inbound.extend(bytes);
    }
    fn taken(&self) -> String {
        String::from_utf8_lossy(&self.0.borrow().taken).into_owned()
    }
    fn open_window(&self, bytes: usize) {
        self.0.borrow_mut().window = bytes;
    }
    fn close(&self) {
        self.0.borrow_mut().client_closed = true;
    }
    fn shut(&self) -> bool {
        self.0.borrow().server_shut
    }
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut p = self.0.borrow_mut();
        if p.inbound.is_empty() {
            return if p.client_closed {
                Ok(0)
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            };
        }
        let n = buf.len().min(p.inbound.len());
        for (i, b) in p.inbound.drain(..n).enumerate() {
            buf[i] = b;
        }
        Ok(n)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut p = self.0.borrow_mut();
        if p.window == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(p.window);
        p.window -= n;
        p.taken.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Pipe {
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.0.borrow_mut().server_shut = true;
        Ok(())
    }
}

type Log = Rc<RefCell<Vec<String>>>;

/// A line protocol whose lines are orders: `echo X`, `big N` (N bytes), `close`,
/// `quit` (the application asks to close itself), `deadline MS`, `timer K MS`,
/// `every K MS`, `cancel K`, `hold N` (N bytes of a message in progress), `all X` (to
/// everyone, through a command).
struct Script {
    log: Log,
    conns: Rc<RefCell<Vec<ConnId>>>,
}

impl Script {
    fn note(&self, event: String) {
        self.log.borrow_mut().push(event);
    }
}

impl Protocol for Script {
    type ConnState = ConnId;

    fn limits(&self) -> Result<Limits, crate::ConfigError> {
        Ok(Limits::default().with_unconsumed(1000).with_message(1000))
    }

    fn busy(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"busy\n");
    }

    fn connect(&mut self, id: ConnId, _peer: SocketAddr, _out: &mut Outbox<'_>) -> ConnId {
        self.note(format!("connect {}", id.sequence()));
        self.conns.borrow_mut().push(id);
        id
    }

    fn data(&mut self, id: &mut ConnId, data: &mut [u8], out: &mut Outbox<'_>) -> usize {
        let Some(end) = data.iter().position(|&b| b == b'\n') else {
            return 0;
        };
        let line = String::from_utf8_lossy(&data[..end]).into_owned();
        self.note(format!("data {} {line}", id.sequence()));
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
            Some("quit") => out.commands(Command::close(*id, CloseCode::Normal, "")),
            Some("deadline") => out.set_deadline(Some(out.after(ms(arg)))),
            Some("timer") => out.commands(Command::after(ms(arg2), arg.unwrap().parse().unwrap())),
            Some("every") => out.commands(Command::every(ms(arg2), arg.unwrap().parse().unwrap())),
            Some("cancel") => out.commands(Command::cancel_timer(arg.unwrap().parse().unwrap())),
            Some("hold") => {
                let n: usize = arg.unwrap().parse().unwrap();
                if n > out.inbound_allowance() {
                    self.note(format!("busy {}", id.sequence()));
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

    fn timeout(&mut self, id: &mut ConnId, _out: &mut Outbox<'_>) {
        self.note(format!("timeout {}", id.sequence()));
    }

    fn disconnect(&mut self, id: ConnId, _out: &mut Outbox<'_>) {
        self.note(format!("disconnect {}", id.sequence()));
        self.conns.borrow_mut().retain(|c| *c != id);
    }

    fn encoding(&self, _id: &ConnId) -> Option<u8> {
        Some(0)
    }

    fn encode(&mut self, _id: &mut ConnId, msg: &Payload, buf: &mut Vec<u8>) {
        buf.extend_from_slice(msg.as_bytes());
        buf.push(b'\n');
    }

    fn overflow(&mut self, id: &mut ConnId, policy: Overflow, out: &mut Outbox<'_>) {
        self.note(format!("overflow {} {policy:?}", id.sequence()));
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

    fn close(&mut self, id: &mut ConnId, _: CloseCode, _: &str, out: &mut Outbox<'_>) {
        self.note(format!("close {}", id.sequence()));
        out.shutdown();
    }
}

/// A core around a [`Script`], with a clock the test moves.
struct Harness {
    core: Core<Script, Pipe>,
    log: Log,
    now: Instant,
}

const PEER: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 4000);

impl Harness {
    fn new(config: Config) -> Self {
        let log = Log::default();
        let script = Script {
            log: log.clone(),
            conns: Rc::default(),
        };
        let limits = script.limits().unwrap();
        let valid = config.validate(limits).expect("a valid configuration");
        let wake: Wake = Box::new(|| Ok(()));
        let handle = Handle::new(wake, 1000, 1 << 20);
        let mut core = Core::new(script, valid, None, handle);
        let now = Instant::now();
        core.now = now;
        core.start();
        Harness { core, log, now }
    }

    /// A new connection whose client takes `window` bytes.
    fn connect(&mut self, window: usize) -> (usize, Pipe) {
        let pipe = Pipe::new(window);
        let slot = self.core.vacant_slot();
        if self.core.at_capacity() {
            self.core.refuse(pipe.clone(), PEER);
        } else {
            self.core.open(pipe.clone(), PEER);
        }
        self.core.turn();
        (slot, pipe)
    }

    /// The client sends `bytes`; the server reads them and finishes its turn.
    fn send(&mut self, slot: usize, pipe: &Pipe, bytes: &str) {
        pipe.send(bytes.as_bytes());
        self.core.readable(slot);
        self.core.turn();
    }

    /// The client's socket has room again: the server writes.
    fn drain(&mut self, slot: usize, pipe: &Pipe, window: usize) {
        pipe.open_window(window);
        self.core.writable(slot);
        self.core.turn();
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.core.now = self.now;
        self.core.turn();
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
}

#[test]
fn a_connection_opens_answers_closes_lingers_and_ends_once() {
    let mut h = Harness::new(Config::default());
    let (slot, pipe) = h.connect(usize::MAX);
    h.send(slot, &pipe, "echo hi\nclose\n");
    assert_eq!(pipe.taken(), "hi\n");
    assert!(pipe.shut(), "the write side is shut once written");
    assert_eq!(
        h.count("disconnect"),
        1,
        "the protocol is told as it starts lingering"
    );
    assert_eq!(h.core.len(), 1, "the socket lingers");
    pipe.close();
    h.core.readable(slot);
    assert_eq!(h.core.len(), 0, "gone at the peer's end");
    assert_eq!(h.count("disconnect"), 1, "told once");
}

#[test]
fn a_half_closed_peer_still_gets_its_answer() {
    let mut h = Harness::new(Config::default());
    let (slot, pipe) = h.connect(0);
    pipe.send(b"echo late\n");
    pipe.close();
    h.core.readable(slot);
    h.core.turn();
    assert_eq!(h.core.len(), 1, "kept while its answer waits");
    h.drain(slot, &pipe, usize::MAX);
    assert_eq!(pipe.taken(), "late\n");
    assert_eq!(h.core.len(), 0);
    assert_eq!(h.count("disconnect"), 1);
}

#[test]
fn over_the_budget_input_waits_unparsed_until_the_client_reads() {
    let mut h = Harness::new(Config::default().output_budget(4096));
    let (slot, pipe) = h.connect(0);
    // One order past the budget, then ten pipelined behind it.
    let pipelined: String = (0..10).map(|i| format!("echo {i}\n")).collect();
    h.send(slot, &pipe, &format!("big 5000\n{pipelined}"));
    assert_eq!(
        h.count("data"),
        1,
        "nothing more is parsed while over the budget"
    );
    h.drain(slot, &pipe, 1000);
    assert_eq!(h.count("data"), 1, "still over the budget");
    h.drain(slot, &pipe, usize::MAX);
    assert_eq!(h.count("data"), 11, "the rest is fed once it drained");
    let taken = pipe.taken();
    assert!(taken.ends_with("8\n9\n"), "{}", &taken[taken.len() - 20..]);
}

#[test]
fn a_reader_that_stays_over_the_budget_is_closed_and_a_fast_one_never() {
    let config = Config::default()
        .output_budget(4096)
        .max_output(1 << 20)
        .slow_reader_timeout(Duration::from_secs(10));
    let mut h = Harness::new(config);
    let (slow, slow_pipe) = h.connect(0);
    let (fast, fast_pipe) = h.connect(usize::MAX);
    let (sender, sender_pipe) = h.connect(usize::MAX);
    let message = "y".repeat(900);
    for _ in 0..20 {
        h.send(sender, &sender_pipe, &format!("all {message}\n"));
        h.drain(fast, &fast_pipe, usize::MAX);
    }
    h.advance(Duration::from_secs(9));
    assert_eq!(h.count("overflow"), 0, "not yet: judged over time");
    slow_pipe.open_window(100); // a trickle does not count as keeping up
    h.core.writable(slow);
    h.advance(Duration::from_secs(2));
    assert_eq!(
        h.log()
            .iter()
            .filter(|e| e.starts_with("overflow"))
            .collect::<Vec<_>>(),
        ["overflow 1 Close"]
    );
    assert_eq!(h.core.handle.stats().slow_closed, 1);
    assert!(
        fast_pipe.taken().len() >= 20 * 901,
        "the fast reader got everything"
    );
}

#[test]
fn past_the_hard_ceiling_a_message_is_refused_at_once() {
    let config = Config::default()
        .output_budget(2048)
        .max_output(2048 + 1000 + 100);
    let mut h = Harness::new(config);
    let (_, _stalled) = h.connect(0);
    let (sender, sender_pipe) = h.connect(usize::MAX);
    for _ in 0..4 {
        h.send(sender, &sender_pipe, &format!("all {}\n", "z".repeat(999)));
    }
    assert_eq!(h.count("overflow 1 Close"), 1, "{:?}", h.log());
}

#[test]
fn the_drop_policy_drops_past_the_budget_and_never_closes() {
    let config = Config::default()
        .output_budget(2048)
        .overflow(Overflow::Drop);
    let mut h = Harness::new(config);
    let (stalled, stalled_pipe) = h.connect(0);
    let (sender, sender_pipe) = h.connect(usize::MAX);
    for _ in 0..10 {
        h.send(sender, &sender_pipe, &format!("all {}\n", "d".repeat(999)));
    }
    h.advance(Duration::from_secs(3600));
    assert!(h.count("overflow 1 Drop") >= 7, "{:?}", h.log());
    assert_eq!(h.count("disconnect"), 0);
    h.drain(stalled, &stalled_pipe, usize::MAX);
    assert!(stalled_pipe.taken().len() <= 3 * 1000 + 100);
}

#[test]
fn a_close_asked_for_mid_read_stops_the_rest_of_that_read() {
    let mut h = Harness::new(Config::default());
    let (slot, pipe) = h.connect(usize::MAX);
    h.send(slot, &pipe, "echo a\nquit\necho b\necho c\n");
    assert_eq!(pipe.taken(), "a\n");
    assert!(
        !h.log().iter().any(|e| e.contains("echo b")),
        "{:?}",
        h.log()
    );
}

#[test]
fn deadlines_fire_once_and_moves_replace_them() {
    let mut h = Harness::new(Config::default());
    let (slot, pipe) = h.connect(usize::MAX);
    h.send(slot, &pipe, "deadline 1000\n");
    h.send(slot, &pipe, "deadline 5000\n");
    h.advance(Duration::from_secs(2));
    assert_eq!(h.count("timeout"), 0, "the first deadline was replaced");
    h.advance(Duration::from_secs(4));
    assert_eq!(h.count("timeout"), 1);
    h.advance(Duration::from_secs(10));
    assert_eq!(h.count("timeout"), 1);
}

#[test]
fn a_timer_rearmed_at_once_cannot_starve_the_loop() {
    let mut h = Harness::new(Config::default());
    let (slot, pipe) = h.connect(usize::MAX);
    h.send(slot, &pipe, "timer 99 0\n");
    h.advance(Duration::from_millis(1));
    assert_eq!(h.count("timer 99"), 1, "one tick per floor period");
    h.advance(Duration::from_secs(10));
    let ticks = h.count("timer 99");
    assert!(
        (2..=super::timers::TIMERS_PER_TURN + 1).contains(&ticks),
        "{ticks}"
    );
    // The loop still serves its connections.
    h.send(slot, &pipe, "echo alive\n");
    assert!(pipe.taken().ends_with("alive\n"));
    // A century, and beyond, without a panic.
    h.send(slot, &pipe, &format!("timer 5 {}\n", u64::MAX));
}

#[test]
fn at_the_cap_a_new_connection_is_answered_and_closed_and_the_others_served() {
    let mut h = Harness::new(Config::default().max_connections(2));
    let (a, a_pipe) = h.connect(usize::MAX);
    let (_, _b) = h.connect(usize::MAX);
    let (_, refused) = h.connect(usize::MAX);
    assert_eq!(refused.taken(), "busy\n");
    assert!(refused.shut());
    assert_eq!(h.core.handle.stats().refused_connections, 1);
    h.send(a, &a_pipe, "echo still\n");
    assert_eq!(a_pipe.taken(), "still\n");
    h.advance(Duration::from_secs(3));
    assert_eq!(h.core.len(), 2, "the refusal is gone after its linger");
    // Once one leaves, a new connection is served.
    h.send(a, &a_pipe, "close\n");
    a_pipe.close();
    h.core.readable(a);
    let (c, c_pipe) = h.connect(usize::MAX);
    h.send(c, &c_pipe, "echo served\n");
    assert_eq!(c_pipe.taken(), "served\n");
}

#[test]
fn ids_are_never_reused_and_stale_ids_address_nobody() {
    let mut h = Harness::new(Config::default());
    let (slot, pipe) = h.connect(usize::MAX);
    let first = h.core.conns[slot].id;
    h.send(slot, &pipe, "close\n");
    pipe.close();
    h.core.readable(slot);
    let (again, pipe2) = h.connect(usize::MAX);
    assert_eq!(again, slot, "the slot is reused");
    assert_ne!(h.core.conns[again].id, first, "the id is not");
    h.core.request(crate::handle::Request::Commands(
        Command::send(first, "for the old one").into(),
    ));
    h.core.turn();
    assert_eq!(pipe2.taken(), "");
}

#[test]
fn messages_in_progress_share_one_server_wide_budget() {
    let config = Config::default().max_inbound(3000);
    let mut h = Harness::new(config);
    let (a, a_pipe) = h.connect(usize::MAX);
    let (b, b_pipe) = h.connect(usize::MAX);
    h.send(a, &a_pipe, "hold 2000\n");
    h.send(b, &b_pipe, "hold 2000\n");
    assert_eq!(h.count("busy 2"), 1, "the second does not fit");
    assert_eq!(h.core.handle.stats().inbound_bytes, 2000);
    h.send(a, &a_pipe, "close\n");
    a_pipe.close();
    h.core.readable(a);
    assert_eq!(
        h.core.handle.stats().inbound_bytes,
        0,
        "given back when it ends"
    );
    h.send(b, &b_pipe, "hold 2000\n");
    assert_eq!(h.count("busy"), 1);
}
