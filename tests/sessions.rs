//! Sessions read from a real `redis-server` (started by the tests; `scripts/test`
//! installs it): stored sessions are size-capped, decoded once for every connection
//! presenting them, looked up together with a deadline each, and nobody waits behind a
//! crowd.

use ratchet::session::{Format, Missing, Session, SessionData, SessionExt};
use ratchet::IntoCommands;
use ratchet::{Commands, Component, Conn, Message, WebSocket};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use suite::{RawClient, RedisServer};

/// Says whether the connection has a session, and records where its decoded copy lives.
#[derive(Clone, Default)]
struct Where {
    copies: Arc<Mutex<Vec<usize>>>,
}

impl Component for Where {
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        let at = conn.session().map(|s| s as *const SessionData as usize);
        if let Some(at) = at {
            self.copies.lock().unwrap().push(at);
        }
        let user: Option<String> = conn.session().and_then(|s| s.get("user"));
        conn.send(format!("user {}", user.as_deref().unwrap_or("none")))
    }
    fn on_message(&mut self, _: &Conn, _: Message<'_>) -> impl IntoCommands {
        Commands::none()
    }
}

/// A session in PHP's format whose `user` is `name`, padded to about `size` bytes.
fn php_session(name: &str, size: usize) -> Vec<u8> {
    let pad = "p".repeat(size.saturating_sub(64));
    format!(
        "user|s:{}:\"{name}\";pad|s:{}:\"{pad}\";",
        name.len(),
        pad.len()
    )
    .into_bytes()
}

fn store(redis: &RedisServer, id: &str, session: &[u8]) {
    let key = format!("PHPREDIS_SESSION:{id}");
    assert_eq!(
        redis.run(&[b"SET", key.as_bytes(), session]).as_deref(),
        Some("+OK")
    );
}

fn handshake(addr: SocketAddr, id: &str) -> RawClient {
    let mut c = RawClient::connect(addr);
    let cookie = format!("Cookie: PHPSESSID={id}\r\n");
    c.write(suite::upgrade_request("/", &cookie).as_bytes());
    c
}

#[test]
fn a_session_over_the_size_cap_is_refused_with_the_reason() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    store(&redis, "big", &php_session("alice", 100_000));
    store(&redis, "small", &php_session("bob", 1_000));
    let strict = Session::new(WebSocket::new(Where::default()), redis.url())
        .format(Format::Php)
        .on_missing(Missing::Reject(401));
    let addr = suite::serve(strict);
    let (head, body) = handshake(addr, "big").read_response();
    assert!(head.starts_with("HTTP/1.1 401 "), "{head}");
    assert!(body.contains("larger than 65536 bytes"), "{body}");
    let mut bob = handshake(addr, "small");
    assert!(bob.read_head().starts_with("HTTP/1.1 101 "));
    bob.expect_text("user bob");
}

#[test]
fn connections_presenting_one_session_share_one_decoded_copy_and_nobody_waits_behind_them() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    // A 1 MiB session (decoded, several times that) presented by 150 connections at once.
    store(&redis, "crowd", &php_session("crowd", 1 << 20));
    store(&redis, "alone", &php_session("alone", 100));
    let app = Where::default();
    let sessions = Session::new(WebSocket::new(app.clone()), redis.url()).max_size(2 << 20);
    let addr = suite::serve(sessions);
    let mut crowd: Vec<RawClient> = (0..150).map(|_| handshake(addr, "crowd")).collect();
    let asked = Instant::now();
    let mut alone = handshake(addr, "alone");
    assert!(alone.read_head().starts_with("HTTP/1.1 101 "));
    alone.expect_text("user alone");
    let waited = asked.elapsed();
    // Every crowd connection stays open until the copies are counted: a copy nobody
    // holds any more may be decoded again, and that is right.
    for c in &mut crowd {
        assert!(c.read_head().starts_with("HTTP/1.1 101 "));
        c.expect_text("user crowd");
    }
    let copies = app.copies.lock().unwrap();
    assert_eq!(copies.len(), 151);
    let crowd_copies: std::collections::BTreeSet<usize> = copies.iter().copied().collect();
    // One copy for the crowd (one per worker: each looks sessions up itself), one for
    // alone.
    let workers = suite::test_workers();
    assert!(
        (2..=workers + 1).contains(&crowd_copies.len()),
        "one copy for the crowd ({workers} worker(s)), one for alone: {}",
        crowd_copies.len()
    );
    assert!(
        waited < Duration::from_millis(800),
        "a user behind 150 lookups waited {waited:?}"
    );
}

#[test]
fn lookups_run_together_each_with_its_deadline() {
    // A Redis that accepts connections and never answers.
    let hole = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://{}/", hole.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in hole.incoming().flatten() {
            held.push(s);
        }
    });
    let sessions = Session::new(WebSocket::new(Where::default()), url)
        .lookup_timeout(Duration::from_secs(1))
        .on_missing(Missing::Reject(401));
    let addr = suite::serve(sessions);
    let started = Instant::now();
    let waits: Vec<_> = (0..20)
        .map(|i| {
            std::thread::spawn(move || {
                let asked = Instant::now();
                let (head, body) = handshake(addr, &format!("id{i}")).read_response();
                (head, body, asked.elapsed())
            })
        })
        .collect();
    for wait in waits {
        let (head, body, took) = wait.join().unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "), "{head}");
        assert!(body.contains("session store"), "{body}");
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(3),
            "answered after {took:?}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "20 lookups took {:?}: they ran one after another",
        started.elapsed()
    );
}
