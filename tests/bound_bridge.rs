//! The Redis bridge holds at most its byte budget of publishes waiting for Redis, and
//! reads from Redis no faster than the server delivers, so that a backlog stays in Redis
//! (whose output-buffer limit then disconnects us) rather than in our heap. With a real
//! `redis-server` (started by the tests). Alone in its binary, so that the process's
//! memory is the server's.

use ratchet::cluster::{envelope, RedisBridge};
use ratchet::server::Config as ServerConfig;
use ratchet::IntoCommands;
use ratchet::{Command, Commands, Component, Conn, Handle, Message, Payload, Server, WebSocket};
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use suite::{resp, RawClient, RedisServer};

/// One test at a time: each measures the process's memory.
static ALONE: Mutex<()> = Mutex::new(());

/// Publishes every message to topic "t"; with `slow`, sleeps 50 ms every millisecond
/// (a loop that cannot keep up with Redis).
struct Publisher {
    slow: bool,
}

impl Component for Publisher {
    fn on_start(&mut self, _: &Handle) -> impl IntoCommands {
        if self.slow {
            return Command::every(Duration::from_millis(1), 1).into();
        }
        Commands::none()
    }
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        match conn.path() {
            "/listen" => conn.subscribe("t").into(),
            _ => Commands::none(),
        }
    }
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        if msg.as_text() == Some("sync") {
            return from.send("sync");
        }
        Command::publish("t", msg)
    }
    fn on_timer(&mut self, _: u64) -> impl IntoCommands {
        std::thread::sleep(Duration::from_millis(50));
        Commands::none()
    }
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(Instant::now() < deadline, "waited too long for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn publishes_waiting_for_a_stalled_redis_are_bounded_by_bytes() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let bridge = RedisBridge::new(redis.url()).queue_bytes(8 << 20);
    let status = bridge.status();
    let server = Server::new(WebSocket::new(Publisher { slow: false }))
        .bridge(bridge)
        .bind("127.0.0.1:0")
        .unwrap();
    let addr = server.local_addr();
    std::thread::spawn(move || server.run());
    let mut c = RawClient::open(addr, "/");
    c.send_text("warm up");
    wait_for("the first publish", || status.published() == 1);
    let sleeper = redis.sleep(3.0);
    let before = suite::rss_kib();
    let message = vec![7u8; 1_000_000];
    for _ in 0..40 {
        c.send_frame(true, 2, &message);
    }
    c.send_text("sync");
    c.expect_text("sync"); // every publish was handed to the bridge
    let after = suite::rss_kib();
    let dropped = status.dropped();
    println!(
        "40 x 1 MB published while Redis slept: {dropped} dropped; RSS {before} -> {after} KiB"
    );
    assert!(
        dropped >= 30,
        "only {dropped} dropped: the queue held more than 8 MiB"
    );
    assert!(
        after.saturating_sub(before) < 24 << 10,
        "RSS grew from {before} to {after} KiB"
    );
    sleeper.join().unwrap();
}

#[test]
fn a_server_that_cannot_keep_up_leaves_the_backlog_in_redis() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    let Some(redis) = RedisServer::start() else {
        return;
    };
    assert_eq!(
        redis
            .run(&[
                b"CONFIG",
                b"SET",
                b"client-output-buffer-limit",
                b"pubsub 1mb 512kb 1"
            ])
            .as_deref(),
        Some("+OK")
    );
    let bridge = RedisBridge::new(redis.url());
    let status = bridge.status();
    let server = Server::new(WebSocket::new(Publisher { slow: true }))
        .bridge(bridge)
        .config(ServerConfig::default().handle_queue(64, 512 << 10))
        .bind("127.0.0.1:0")
        .unwrap();
    let addr = server.local_addr();
    std::thread::spawn(move || server.run());
    // A subscriber here, reading all it gets: the process listens to the topic.
    let mut listener = RawClient::open(addr, "/listen");
    std::thread::spawn(move || {
        while listener
            .read_frame_within(Duration::from_secs(60))
            .is_some()
        {}
    });
    wait_for("the subscription", || {
        status.is_subscribed() && redis.subscribers("ratchet:t") == Some(1)
    });
    std::thread::sleep(Duration::from_millis(100));
    let before = suite::rss_kib();
    // Another process floods the topic: 32 MB, far faster than this server delivers.
    let elsewhere = [9u8; 16];
    let env = envelope(&elsewhere, "t", &Payload::binary(vec![1u8; 4000]));
    let mut flood = std::net::TcpStream::connect(("127.0.0.1", redis.port)).unwrap();
    let command = resp(&[b"PUBLISH", b"ratchet:t", &env]);
    for _ in 0..8000 {
        flood.write_all(&command).unwrap();
    }
    wait_for("Redis to drop the subscriber that fell behind", || {
        status.subscriptions_lost() >= 1
    });
    let after = suite::rss_kib();
    println!(
        "32 MB flood to a slow server: {} delivered; RSS {before} -> {after} KiB",
        status.received()
    );
    assert!(
        after.saturating_sub(before) < 16 << 10,
        "RSS grew from {before} to {after} KiB: the backlog came into our heap"
    );
    wait_for("the bridge to subscribe again", || status.is_subscribed());
}
