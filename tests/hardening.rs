//! Production behaviour over real sockets: keepalive, idle Hixie clients, slowloris,
//! pushing from other threads, the overflow policies and graceful shutdown.

use ratchet::server::{Config as ServerConfig, Overflow};
use ratchet::websocket::Config;
use ratchet::IntoCommands;
use ratchet::{Command, Commands, Component, Conn, ConnSet, Error, Message, Server, WebSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use suite::{client_frame, RawClient};

/// Echoes, and records what happened to whom.
#[derive(Default, Clone)]
struct Recorder {
    events: Arc<Mutex<Vec<String>>>,
    clients: Arc<Mutex<ConnSet>>,
}

impl Component for Recorder {
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        self.clients.lock().unwrap().insert(conn);
        self.events
            .lock()
            .unwrap()
            .push(format!("open {}", conn.id()));
        Commands::none()
    }
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        if msg.as_text() == Some("broadcast") {
            return self
                .clients
                .lock()
                .unwrap()
                .except(from)
                .send(vec![7u8; 16 << 10]);
        }
        from.send(msg)
    }
    fn on_close(&mut self, conn: &Conn) -> impl IntoCommands {
        self.clients.lock().unwrap().remove(conn);
        self.events
            .lock()
            .unwrap()
            .push(format!("close {}", conn.id()));
        Commands::none()
    }
    fn on_error(&mut self, conn: &Conn, err: Error) -> impl IntoCommands {
        self.events
            .lock()
            .unwrap()
            .push(format!("error {} {err}", conn.id()));
        Commands::none()
    }
}

impl Recorder {
    fn has(&self, event: &str) -> bool {
        self.events
            .lock()
            .unwrap()
            .iter()
            .any(|e| e.starts_with(event))
    }
}

#[test]
fn a_client_that_stops_answering_pings_is_closed_within_two_intervals() {
    let app = Recorder::default();
    let interval = Duration::from_millis(300);
    let addr = suite::serve(WebSocket::with_config(
        app.clone(),
        Config::default().ping_interval(Some(interval)),
    ));
    let mut silent = RawClient::open(addr, "/");
    let start = Instant::now();
    let ping = silent.read_frame();
    assert_eq!(ping.opcode, 9, "the server pings");
    assert!(silent.closed_within(Duration::from_secs(3)));
    let elapsed = start.elapsed();
    // One interval of silence, a ping, one more interval without an answer: closed.
    // (The exact schedule is tested without sockets in tests/seams.rs; here, loosely.)
    assert!(
        elapsed >= interval && elapsed <= interval * 2 + Duration::from_secs(1),
        "closed after {elapsed:?}"
    );
    // on_close ran before the client saw the end of the stream; with several workers,
    // the app thread hears of it just after.
    if suite::test_workers() > 1 {
        suite::wait_until("on_close", || app.has("close"));
    }
    assert!(
        app.has("close"),
        "on_close ran: {:?}",
        app.events.lock().unwrap()
    );
}

#[test]
fn a_client_that_answers_pings_stays() {
    let interval = Duration::from_millis(200);
    let addr = suite::serve(WebSocket::with_config(
        Recorder::default(),
        Config::default().ping_interval(Some(interval)),
    ));
    let mut c = RawClient::open(addr, "/");
    let until = Instant::now() + interval * 6;
    let mut pings = 0;
    while Instant::now() < until {
        let frame = c.read_frame();
        assert_eq!(frame.opcode, 9);
        c.send_frame(true, 10, &frame.payload);
        pings += 1;
    }
    // Pinged whenever it had been quiet for an interval: every other interval here.
    assert!(pings >= 2, "{pings} pings");
    c.send_text("still open");
    c.expect_text("still open");
}

#[test]
fn a_silent_hixie_client_is_closed_at_the_idle_timeout() {
    let config = Config::default().hixie_idle_timeout(Some(Duration::from_millis(300)));
    let addr = suite::serve(WebSocket::with_config(Recorder::default(), config));
    let mut c = RawClient::connect(addr);
    c.write(b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\r\n");
    c.read_head();
    let start = Instant::now();
    assert!(c.closed_within(Duration::from_secs(3)));
    assert!(
        start.elapsed() < Duration::from_millis(1000),
        "closed after {:?}",
        start.elapsed()
    );
}

#[test]
fn slowloris_dribblers_do_not_delay_others_and_are_closed_at_the_handshake_timeout() {
    let timeout = Duration::from_secs(2);
    let addr = suite::serve(WebSocket::with_config(
        Recorder::default(),
        Config::default().handshake_timeout(timeout),
    ));
    let request = b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
    let mut dribblers: Vec<RawClient> = (0..500).map(|_| RawClient::connect(addr)).collect();
    let start = Instant::now();
    for second in 0..2 {
        for d in &mut dribblers {
            d.write(&request[second..second + 1]);
        }
        // Meanwhile, a normal client gets its echo promptly.
        let asked = Instant::now();
        let mut c = RawClient::open(addr, "/");
        c.send_text("not delayed");
        c.expect_text("not delayed");
        assert!(
            asked.elapsed() < Duration::from_secs(1),
            "echo took {:?}",
            asked.elapsed()
        );
        std::thread::sleep(Duration::from_secs(1).saturating_sub(asked.elapsed()));
    }
    for d in &mut dribblers {
        assert!(
            d.closed_within(Duration::from_secs(3)),
            "dribbler still open after {:?}",
            start.elapsed()
        );
    }
    assert!(start.elapsed() < timeout + Duration::from_secs(3));
}

#[test]
fn ten_threads_push_through_the_handle_without_loss_and_in_order() {
    let app = Recorder::default();
    let server = Server::new(WebSocket::new(app.clone()))
        .bind("127.0.0.1:0")
        .unwrap();
    let addr = server.local_addr();
    let handle = server.handle();
    std::thread::spawn(move || server.run());
    let mut c = RawClient::open(addr, "/");
    c.send_text("ready?");
    c.expect_text("ready?");
    let id = app
        .clients
        .lock()
        .unwrap()
        .iter()
        .next()
        .expect("the client's id");
    let per_thread = 500;
    let threads: Vec<_> = (0..10)
        .map(|t| {
            let handle = handle.clone();
            std::thread::spawn(move || {
                for i in 0..per_thread {
                    handle
                        .send(Command::send(id, format!("{t}:{i}")))
                        .expect("queued");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut next = [0usize; 10];
    for _ in 0..10 * per_thread {
        let frame = c.read_frame();
        let text = String::from_utf8(frame.payload).unwrap();
        let (t, i) = text.split_once(':').unwrap();
        let (t, i): (usize, usize) = (t.parse().unwrap(), i.parse().unwrap());
        assert_eq!(i, next[t], "thread {t} out of order");
        next[t] += 1;
    }
    assert_eq!(next, [per_thread; 10]);
    assert!(handle.shutdown());
}

#[test]
fn the_drop_policy_tells_the_app_and_keeps_the_connection() {
    let app = Recorder::default();
    let server_config = ServerConfig::default()
        .output_budget(64 << 10)
        .overflow(Overflow::Drop);
    let addr = suite::serve_with(WebSocket::new(app.clone()), server_config);
    let mut sender = RawClient::open(addr, "/");
    let mut slow = RawClient::open(addr, "/");
    // 16 KiB a message: the slow client's socket buffers fill, then the server's limit.
    for _ in 0..2000 {
        sender.send_text("broadcast");
    }
    sender.send_text("sync");
    sender.expect_text("sync");
    suite::wait_until("on_error to hear of the overflow", || app.has("error"));
    assert!(app
        .events
        .lock()
        .unwrap()
        .iter()
        .any(|e| e.contains("not reading fast enough")));
    // The slow client is still connected: it can read what was kept, and talk.
    let first = slow.read_frame();
    assert_eq!(first.payload.len(), 16 << 10);
    assert!(!app.has("close"), "nobody was closed");
}

#[test]
fn shutdown_through_the_handle_closes_everyone_with_1001_and_returns() {
    let server = Server::new(WebSocket::new(Recorder::default()))
        .bind("127.0.0.1:0")
        .unwrap();
    let addr = server.local_addr();
    let handle = server.handle();
    let running = std::thread::spawn(move || server.run());
    let mut clients: Vec<RawClient> = (0..3).map(|_| RawClient::open(addr, "/")).collect();
    let start = Instant::now();
    handle.shutdown();
    for c in &mut clients {
        assert_eq!(c.read_frame().close_code(), Some(1001));
        c.write(&client_frame(true, 8, &[0x03, 0xE9]));
    }
    running.join().unwrap().unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "returned within the grace period"
    );
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "no longer accepting"
    );
}

#[allow(dead_code)]
#[path = "../examples/push.rs"]
mod push;

#[test]
fn the_push_example_sends_the_time_to_everyone() {
    let chat = push::Chat::default();
    let server = Server::new(WebSocket::new(chat.clone()))
        .bind("127.0.0.1:0")
        .unwrap();
    let addr = server.local_addr();
    push::start_clock(&chat, server.handle(), Duration::from_millis(100));
    std::thread::spawn(move || server.run());
    let mut a = RawClient::open(addr, "/");
    let mut b = RawClient::open(addr, "/");
    for c in [&mut a, &mut b] {
        let frame = c.read_frame();
        assert!(
            String::from_utf8_lossy(&frame.payload).starts_with("time "),
            "{frame:?}"
        );
    }
}

/// Starts a periodic timer when the first client joins; each tick goes to everyone; the
/// third tick cancels it and starts a one-shot that says goodbye.
#[derive(Default)]
struct Ticker {
    clients: ConnSet,
    ticks: u32,
}

impl Component for Ticker {
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        self.clients.insert(conn);
        if self.clients.len() == 1 {
            return Command::every(Duration::from_millis(100), 1).into();
        }
        Commands::none()
    }
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        from.send(msg)
    }
    fn on_timer(&mut self, key: u64) -> impl IntoCommands {
        if key == 2 {
            return self.clients.send("one-shot").into();
        }
        self.ticks += 1;
        let tick = self.clients.send(format!("tick {}", self.ticks));
        if self.ticks == 3 {
            return Commands::none()
                .and(tick)
                .and(Command::cancel_timer(1))
                .and(Command::after(Duration::from_millis(50), 2));
        }
        tick.into()
    }
}

#[test]
fn timers_tick_cancel_and_fire_once() {
    let addr = suite::serve(WebSocket::new(Ticker::default()));
    let mut c = RawClient::open(addr, "/");
    let start = Instant::now();
    for n in 1..=3 {
        c.expect_text(&format!("tick {n}"));
    }
    assert!(
        start.elapsed() >= Duration::from_millis(280),
        "ticks every 100 ms"
    );
    c.expect_text("one-shot");
    // Cancelled: nothing more comes; the connection still works.
    c.stream
        .set_read_timeout(Some(Duration::from_millis(400)))
        .unwrap();
    let mut byte = [0u8; 1];
    assert!(
        std::io::Read::read(&mut c.stream, &mut byte).is_err(),
        "no tick after cancel"
    );
    c.stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    c.send_text("echo");
    c.expect_text("echo");
}

#[test]
fn ten_thousand_idle_timers_do_not_slow_the_server() {
    let server = Server::new(WebSocket::new(Recorder::default()))
        .bind("127.0.0.1:0")
        .unwrap();
    let handle = server.handle();
    let addr2 = server.local_addr();
    std::thread::spawn(move || server.run());
    let timers: Commands = (100..10_100)
        .map(|key| Command::after(Duration::from_secs(3600), key))
        .collect();
    handle.send(timers).expect("queued");
    let mut c = RawClient::open(addr2, "/");
    let asked = Instant::now();
    for i in 0..100 {
        c.send_text(&format!("m{i}"));
        c.expect_text(&format!("m{i}"));
    }
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "100 echoes took {:?}",
        asked.elapsed()
    );
}

#[test]
fn timers_through_the_testing_module() {
    let mut t = ratchet::testing::Tester::new(Ticker::default());
    let (a, started) = t.open();
    assert_eq!(
        started.as_slice(),
        [Command::every(Duration::from_millis(100), 1)]
    );
    assert_eq!(t.timer(1).sent_to(&a), ["tick 1"]);
}
