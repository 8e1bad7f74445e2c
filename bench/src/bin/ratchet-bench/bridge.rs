//! What Redis sends each process of a cluster: N processes bridged through one Redis,
//! each topic's subscribers on one process, publishes to every topic from every process.
//! Per process, the messages its subscription read (`ratchet_bridge_messages_read_total`
//! from its `/metrics`) against what a `PSUBSCRIBE ratchet:*` reads, which is what every
//! process received when each held one.

use crate::runner::Running;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` on a free loopback port, stopped when dropped.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start() -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (apt install redis-server)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis { child, port }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A masked client text frame (a zero key: the payload as is).
fn text_frame(text: &str) -> Vec<u8> {
    let mut frame = vec![0x81];
    match text.len() {
        n @ 0..=125 => frame.push(0x80 | n as u8),
        n => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    frame.extend_from_slice(&[0; 4]);
    frame.extend_from_slice(text.as_bytes());
    frame
}

/// A WebSocket connection to `path`, upgraded.
fn open(addr: &str, path: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .expect("send the upgrade");
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).expect("the upgrade's answer");
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}

/// The value of `name` (no labels) in `addr`'s metrics.
fn metric(addr: &str, name: &str) -> u64 {
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(s, "GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n").expect("ask");
    let mut body = String::new();
    s.read_to_string(&mut body).expect("the metrics");
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} in the metrics of {addr}"))
}

/// Runs the measurement; returns the table.
pub(crate) fn bridge_traffic(processes: usize, topics: usize, messages: usize) -> String {
    let redis = Redis::start();
    let url = format!("redis://127.0.0.1:{}/", redis.port);
    let servers: Vec<Running> = (0..processes)
        .map(|_| Running::start("topics", &["--redis", &url]))
        .collect();
    // What every process read when each held `PSUBSCRIBE ratchet:*`.
    let mut observer = TcpStream::connect(("127.0.0.1", redis.port)).expect("redis");
    observer
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout");
    observer
        .write_all(b"PSUBSCRIBE ratchet:*\r\n")
        .expect("psubscribe");
    let counting = std::thread::spawn(move || {
        // Line by line as bytes: the envelopes are binary.
        let mut reader = BufReader::new(observer);
        let (mut heard, mut line) = (0, Vec::new());
        while heard < messages {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) if line == b"pmessage\r\n" => heard += 1,
                Ok(_) => {}
            }
        }
        heard
    });
    // Topic k's subscriber is on process k % N.
    let subscribers: Vec<TcpStream> = (0..topics)
        .map(|k| open(&servers[k % processes].addr, &format!("/t/t{k}")))
        .collect();
    let mut probe = TcpStream::connect(("127.0.0.1", redis.port)).expect("redis");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        probe
            .write_all(b"PUBSUB CHANNELS ratchet:t*\r\n")
            .expect("pubsub channels");
        let mut reader = BufReader::new(&probe);
        let mut head = String::new();
        reader.read_line(&mut head).expect("an answer");
        let count: usize = head.trim().trim_start_matches('*').parse().unwrap_or(0);
        for _ in 0..2 * count {
            reader.read_line(&mut String::new()).expect("a channel");
        }
        if count == topics {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {count} of {topics} topics subscribed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Every process publishes its share, to every topic in turn.
    let per_process = messages / processes;
    let publishers: Vec<std::thread::JoinHandle<()>> = servers
        .iter()
        .enumerate()
        .map(|(p, server)| {
            let mut s = open(&server.addr, "/t/");
            std::thread::spawn(move || {
                let burst: Vec<u8> = (0..per_process)
                    .flat_map(|i| {
                        text_frame(&format!("t{} m{p}.{i}", (i * processes + p) % topics))
                    })
                    .collect();
                s.write_all(&burst).expect("publish");
                std::thread::sleep(Duration::from_secs(1)); // kept open while they go out
            })
        })
        .collect();
    for p in publishers {
        p.join().expect("publisher");
    }
    let everything = counting.join().expect("observer");
    // Each process has read all its topics' messages once the counts stop moving.
    let mut read: Vec<u64> = vec![0; processes];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now: Vec<u64> = servers
            .iter()
            .map(|s| metric(&s.addr, "ratchet_bridge_messages_read_total"))
            .collect();
        if now == read && now.iter().sum::<u64>() > 0 || Instant::now() > deadline {
            break;
        }
        read = now;
        std::thread::sleep(Duration::from_millis(500));
    }
    drop(subscribers);
    let mut table = format!(
        "| {processes} processes, {topics} topics, {messages} publishes | messages Redis sent the process |\n|---|---|\n\
         | each process with `PSUBSCRIBE ratchet:*` (before) | {everything} |\n"
    );
    for (p, n) in read.iter().enumerate() {
        table.push_str(&format!(
            "| process {} with a subscription per topic (after) | {n} ({:.1}% of before) |\n",
            p + 1,
            100.0 * *n as f64 / everything.max(1) as f64
        ));
    }
    table
}
