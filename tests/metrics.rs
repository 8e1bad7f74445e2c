//! The metrics route: what a scrape reads after real traffic, its refusals, the text
//! checked by Prometheus's own `promtool`, and a real Prometheus server scraping the chat
//! example.

use ratchet::metrics::Metrics;
use ratchet::server::Config as ServerConfig;
use ratchet::testing::Simulation;
use ratchet::{Component, Conn, IntoCommands, Message, Router, WebSocket};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use suite::{responses, RawClient};

struct Echo;

impl Component for Echo {
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        from.send(msg)
    }
}

/// `GET path` on a new connection; the whole response (the server closes it).
fn get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    response
}

/// The samples of a scrape: `name{labels}` to value.
fn samples(body: &str) -> BTreeMap<String, f64> {
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("a sample line");
            (series.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

/// The sum of every series of `name`, whatever its labels (a worker's, say).
fn sum(m: &BTreeMap<String, f64>, name: &str) -> f64 {
    m.iter()
        .filter(|(series, _)| series.split('{').next() == Some(name))
        .map(|(_, v)| v)
        .sum()
}

fn scrape(addr: SocketAddr) -> (String, BTreeMap<String, f64>) {
    let response = get(addr, "/metrics");
    let (head, body) = response.split_once("\r\n\r\n").expect("a response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.contains("Content-Type: text/plain; version=0.0.4"),
        "{head}"
    );
    (body.to_owned(), samples(body))
}

fn have_promtool() -> bool {
    suite::have_tool(
        "promtool (apt install prometheus)",
        Command::new("promtool").arg("--version"),
    )
}

/// Prometheus's own linter agrees with the text (nothing to remark), when present.
fn promtool_check(body: &str) {
    if !have_promtool() {
        return;
    }
    let mut check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool");
    check
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "promtool: {said}\n{body}");
    assert!(said.trim().is_empty(), "promtool has remarks: {said}");
}

#[test]
fn a_scrape_counts_connections_handshakes_and_messages_and_passes_promtool() {
    let router = Router::new()
        .route("/chat", WebSocket::new(Echo))
        .route("/metrics", Metrics::new());
    let addr = suite::serve(router);
    let mut a = RawClient::open(addr, "/chat");
    let mut b = RawClient::open(addr, "/chat");
    a.send_text("hello");
    a.expect_text("hello");
    b.send_text("hi!");
    b.expect_text("hi!");
    let refused = get(addr, "/chat"); // no upgrade headers
    assert!(refused.starts_with("HTTP/1.1 400"), "{refused}");

    let (body, m) = scrape(addr);
    let at = |series: &str| {
        *m.get(series)
            .unwrap_or_else(|| panic!("{series} in\n{body}"))
    };
    assert_eq!(at(r#"ratchet_connections{protocol="rfc6455"}"#), 2.0);
    assert_eq!(at(r#"ratchet_connections{protocol="hixie-76"}"#), 0.0);
    assert_eq!(
        at(r#"ratchet_connections{protocol="http"}"#),
        1.0,
        "the scrape"
    );
    assert_eq!(at(r#"ratchet_handshakes_total{version="rfc6455"}"#), 2.0);
    assert_eq!(at(r#"ratchet_handshakes_refused_total{status="400"}"#), 1.0);
    assert_eq!(at("ratchet_messages_received_total"), 2.0);
    assert_eq!(at("ratchet_message_bytes_received_total"), 8.0);
    assert_eq!(at("ratchet_messages_sent_total"), 2.0);
    assert_eq!(at("ratchet_connections_accepted_total"), 4.0);
    assert!(at("ratchet_bytes_read_total") > 0.0);
    assert!(at("ratchet_bytes_written_total") > 0.0);
    let turns = sum(&m, "ratchet_loop_turn_seconds_count");
    assert!(turns > 0.0);
    // The +Inf buckets (one per worker) count every turn.
    let inf: f64 = m
        .iter()
        .filter(|(k, _)| k.starts_with("ratchet_loop_turn_seconds_bucket{") && k.contains("+Inf"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(inf, turns);

    // A client leaves: the gauge follows, and its socket is not counted as http while
    // it is let go.
    drop(a);
    suite::wait_until("the gauge to drop", || {
        let m = scrape(addr).1;
        m[r#"ratchet_connections{protocol="rfc6455"}"#] == 1.0
            && m[r#"ratchet_connections{protocol="http"}"#] == 1.0
    });
    // One closes: once the closing handshake is over, no protocol counts it any more.
    b.send_frame(true, 8, &1000u16.to_be_bytes());
    assert_eq!(b.read_frame().opcode, 8);
    let deadline = Instant::now() + Duration::from_secs(10);
    let m = loop {
        let m = scrape(addr).1;
        if m[r#"ratchet_connections{protocol="rfc6455"}"#] == 0.0 {
            break m;
        }
        assert!(
            Instant::now() < deadline,
            "the closed connection is still counted"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(
        m[r#"ratchet_connections{protocol="http"}"#], 1.0,
        "the scrape only"
    );
    drop(b);

    promtool_check(&body);
}

/// Only loopback peers are answered by default, and only `GET`.
#[test]
fn the_route_refuses_other_peers_and_methods() {
    let router = Router::new().route("/metrics", Metrics::new());
    let mut sim = Simulation::new(router, ServerConfig::default()).unwrap();
    let request = b"GET /metrics HTTP/1.1\r\nHost: h\r\n\r\n";
    let far = sim.connect_from("192.0.2.7:4000".parse().unwrap()).unwrap();
    sim.send(&far, request);
    let (got, _) = responses(&sim.take(&far), false);
    assert_eq!(got[0].status(), 403, "{}", got[0].head);
    let near = sim.connect();
    sim.send(&near, b"POST /metrics HTTP/1.1\r\nHost: h\r\n\r\n");
    let (got, _) = responses(&sim.take(&near), false);
    assert_eq!(got[0].status(), 405, "{}", got[0].head);
    let near = sim.connect();
    sim.send(&near, request);
    let (got, _) = responses(&sim.take(&near), false);
    assert_eq!(got[0].status(), 200, "{}", got[0].head);
    let body = String::from_utf8_lossy(&got[0].body);
    assert!(body.contains("ratchet_connections"), "{body}");

    let router = Router::new().route(
        "/metrics",
        Metrics::new().allow("192.0.2.7".parse().unwrap()),
    );
    let mut sim = Simulation::new(router, ServerConfig::default()).unwrap();
    let allowed = sim.connect_from("192.0.2.7:4000".parse().unwrap()).unwrap();
    sim.send(&allowed, request);
    let (got, _) = responses(&sim.take(&allowed), false);
    assert_eq!(got[0].status(), 200, "{}", got[0].head);
}

fn have_prometheus() -> bool {
    suite::have_tool(
        "prometheus (apt install prometheus)",
        Command::new("prometheus").arg("--version"),
    )
}

/// `GET path` on Prometheus's HTTP API; the body.
fn api(addr: SocketAddr, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    s.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}

/// A real Prometheus scrapes the chat example's `/metrics` and answers a query for
/// `ratchet_connections` with the one client connected (on the test's workers: its
/// `RATCHET_WORKERS`).
#[test]
fn prometheus_scrapes_the_chat_example() {
    if !have_prometheus() {
        return;
    }
    let workers = suite::test_workers().to_string();
    let chat = suite::Example::start_with("chat", &[("RATCHET_WORKERS", &workers)]);
    let addr = chat.addr();
    let mut client = RawClient::open(addr, "/chat?name=ann");
    let welcome = client.read_frame();
    assert!(String::from_utf8_lossy(&welcome.payload).contains("welcome"));

    let port = suite::free_port();
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: chat\n    \
         metrics_path: /metrics\n    static_configs:\n      - targets: ['{addr}']\n"
    );
    let dir = suite::folder("prometheus", &[("prometheus.yml", &config)]);
    let mut prometheus = Command::new("prometheus")
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start prometheus");
    let api_addr = SocketAddr::from(([127, 0, 0, 1], port));
    let query = "/api/v1/query?query=ratchet_connections%7Bprotocol%3D%22rfc6455%22%7D";
    let deadline = Instant::now() + Duration::from_secs(60);
    let value = loop {
        let answer = api(api_addr, query);
        let value = answer.as_deref().and_then(|body| {
            let json: serde_json::Value = serde_json::from_str(body).ok()?;
            let result = json["data"]["result"].as_array()?.first()?.clone();
            result["value"][1].as_str().map(str::to_owned)
        });
        if let Some(value) = value {
            break value;
        }
        if Instant::now() > deadline {
            let _ = prometheus.kill();
            panic!("Prometheus never had ratchet_connections; last answer: {answer:?}");
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    let targets = api(api_addr, "/api/v1/targets").unwrap_or_default();
    let _ = prometheus.kill();
    let _ = prometheus.wait();
    assert_eq!(value, "1", "one client on the chat");
    assert!(targets.contains("\"health\":\"up\""), "{targets}");
    drop(client);
}

/// Publishes what it hears to the topic `room`, which every connection joins.
struct Room;

impl Component for Room {
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        conn.subscribe("room")
    }
    fn on_message(&mut self, _: &Conn, msg: Message<'_>) -> impl IntoCommands {
        ratchet::Command::publish("room", msg)
    }
}

/// With a real `redis-server`: the Redis bridge's counts (up, published, received from
/// another process) and the session layer's lookups, by result, with their latency.
#[test]
fn a_scrape_reads_the_redis_bridge_and_the_session_lookups() {
    let Some(redis) = suite::RedisServer::start() else {
        return;
    };
    let session = b"user|s:3:\"ann\";";
    assert_eq!(
        redis
            .run(&[b"SET", b"PHPREDIS_SESSION:s1", session])
            .as_deref(),
        Some("+OK")
    );
    let sessions = ratchet::session::Session::new(WebSocket::new(Room), redis.url());
    let router = Router::new()
        .route("/chat", sessions)
        .route("/metrics", Metrics::new());
    let server = ratchet::Server::new(router)
        .bridge(ratchet::cluster::RedisBridge::new(redis.url()))
        .workers(suite::test_workers());
    let (addr, _handle) = suite::run(server);
    let at = |series: &str| -> f64 {
        let (body, m) = scrape(addr);
        *m.get(series)
            .unwrap_or_else(|| panic!("{series} in\n{body}"))
    };
    suite::wait_until("the bridge's subscription", || {
        at("ratchet_bridge_up") == 1.0
    });

    let (mut ann, head) = RawClient::open_with(addr, "/chat", "Cookie: PHPSESSID=s1\r\n");
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let (mut nobody, head) = RawClient::open_with(addr, "/chat", "Cookie: PHPSESSID=gone\r\n");
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    ann.send_text("hello room");
    ann.expect_text("hello room");
    nobody.expect_text("hello room");
    // Another process's publish, as its bridge would write it.
    let envelope = ratchet::cluster::envelope(&[7; 16], "room", &"from afar".into());
    suite::wait_until("the publish to reach Redis", || {
        at("ratchet_bridge_published_total") == 1.0
    });
    assert_eq!(
        redis
            .run(&[b"PUBLISH", b"ratchet:room", &envelope])
            .as_deref(),
        Some(":1")
    );
    ann.expect_text("from afar");

    let (body, m) = scrape(addr);
    let at = |series: &str| {
        *m.get(series)
            .unwrap_or_else(|| panic!("{series} in\n{body}"))
    };
    assert_eq!(at("ratchet_bridge_received_total"), 1.0);
    assert_eq!(at("ratchet_bridge_dropped_total"), 0.0);
    assert_eq!(at(r#"ratchet_session_lookups_total{result="found"}"#), 1.0);
    assert_eq!(
        at(r#"ratchet_session_lookups_total{result="missing"}"#),
        1.0
    );
    assert_eq!(at("ratchet_session_lookup_seconds_count"), 2.0);
    assert_eq!(at("ratchet_topics"), 1.0);
    assert_eq!(at("ratchet_subscriptions"), 2.0);
    assert_eq!(at(r#"ratchet_connections{protocol="rfc6455"}"#), 2.0);
    promtool_check(&body);
}

/// Joins every connection to `room` and tells it its id; keeps one timer armed.
struct Joiner;

impl Component for Joiner {
    fn on_start(&mut self, _: &ratchet::Handle) -> impl IntoCommands {
        ratchet::Command::after(Duration::from_secs(3600), 1)
    }
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        ratchet::Commands::from(conn.subscribe("room"))
            .and(conn.send(format!("{}", conn.id().to_raw())))
    }
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        from.send(msg)
    }
}

/// With two workers, a scrape is one page whichever worker the scraper reaches: every
/// worker's connections, messages and loop turns (each worker's turns labelled), and the
/// app thread's topics and timers.
#[test]
fn with_two_workers_a_scrape_adds_up_every_worker_and_the_app_thread() {
    let router = Router::new()
        .route("/chat", WebSocket::new(Joiner))
        .route("/metrics", Metrics::new());
    let (addr, handle) = suite::run(ratchet::Server::new(router).workers(2));
    let mut clients = Vec::new();
    let mut workers = std::collections::HashSet::new();
    while workers.len() < 2 || clients.len() < 4 {
        assert!(clients.len() < 400, "one worker took every connection");
        let mut c = RawClient::open(addr, "/chat");
        let id: u64 = String::from_utf8(c.read_frame().payload)
            .unwrap()
            .parse()
            .unwrap();
        workers.insert((id & ((1 << 20) - 1)) % 2);
        c.send_text("ping");
        c.expect_text("ping");
        clients.push(c);
    }
    let n = clients.len() as f64;
    // Several scrapes, each on a connection of its own: whichever worker takes it, the
    // page is the same sum.
    let mut bodies = Vec::new();
    for _ in 0..6 {
        let (body, m) = scrape(addr);
        let at = |series: &str| {
            *m.get(series)
                .unwrap_or_else(|| panic!("{series} in\n{body}"))
        };
        assert_eq!(at(r#"ratchet_connections{protocol="rfc6455"}"#), n);
        assert_eq!(at(r#"ratchet_handshakes_total{version="rfc6455"}"#), n);
        assert_eq!(at("ratchet_messages_received_total"), n);
        assert_eq!(at("ratchet_topics"), 1.0, "the app thread's topics");
        assert_eq!(at("ratchet_subscriptions"), n);
        assert_eq!(at("ratchet_timers"), 1.0, "the app thread's timer");
        for worker in ["0", "1"] {
            let series = format!("ratchet_loop_turn_seconds_count{{worker=\"{worker}\"}}");
            assert!(at(&series) > 0.0, "{series}");
        }
        bodies.push(body);
    }
    assert!(
        sum(&samples(&bodies[5]), "ratchet_connections_accepted_total") >= n + 6.0,
        "every worker's accepts"
    );
    promtool_check(&bodies[0]);
    handle.shutdown();
}
