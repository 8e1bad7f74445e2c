//! History and recovery: a client that comes back with the offset it last saw receives
//! exactly what it missed, in order, then the live messages, with no duplicate at the
//! seam, or is told that the history was too short. In one process (the history in
//! memory) and across two processes sharing a real `redis-server` (the history in a
//! stream), the client coming back to the other process.

use ratchet::cluster::RedisBridge;
use ratchet::history::History;
use ratchet::{Component, Conn, IntoCommands, Message, Server, WebSocket};
use std::net::SocketAddr;
use std::time::Duration;
use suite::{RawClient, RedisCluster, RedisServer};

/// Joins `chat` on open, recovering from `?since=`; what a client says goes to the others.
struct Historian;

impl Component for Historian {
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        let since = conn.request().and_then(|r| r.query_param("since"));
        conn.recover("chat", since.as_deref())
    }

    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        ratchet::Command::publish_except("chat", msg.as_text().unwrap_or_default(), from)
    }
}

/// Serves the historian on the test's workers, bridged to `redis` if given.
fn serve(history: History, redis: Option<&str>) -> SocketAddr {
    let mut server = Server::new(WebSocket::new(Historian)).history(history);
    let mut status = None;
    if let Some(url) = redis {
        let bridge = RedisBridge::new(url);
        status = Some(bridge.status());
        server = server.bridge(bridge);
    }
    let (addr, _handle) = suite::run(server.workers(suite::test_workers()));
    if let Some(status) = status {
        suite::wait_until("the bridge", || status.is_subscribed());
    }
    addr
}

fn keep(len: usize) -> History {
    History::new().keep("chat*", len, Duration::from_secs(60))
}

/// What a subscriber of a history topic receives.
#[derive(Debug, PartialEq)]
enum Got {
    Said(String, String),
    Seam(bool, Option<String>),
}

fn next(c: &mut RawClient) -> Got {
    let frame = c
        .read_frame_within(Duration::from_secs(10))
        .expect("a message");
    let v: serde_json::Value = serde_json::from_slice(&frame.payload).expect("JSON");
    assert_eq!(v["topic"], "chat", "{v}");
    let offset = v["offset"].as_str().map(str::to_owned);
    match v.get("recovered") {
        Some(recovered) => Got::Seam(recovered.as_bool().expect("a flag"), offset),
        None => Got::Said(
            offset.expect("an offset"),
            v["text"].as_str().expect("text").to_owned(),
        ),
    }
}

fn said(c: &mut RawClient) -> (String, String) {
    match next(c) {
        Got::Said(offset, text) => (offset, text),
        other => panic!("a message, not {other:?}"),
    }
}

fn seam(c: &mut RawClient) -> (bool, Option<String>) {
    match next(c) {
        Got::Seam(recovered, offset) => (recovered, offset),
        other => panic!("the seam, not {other:?}"),
    }
}

/// A client joining with `since`; its seam.
fn join(addr: SocketAddr, since: Option<&str>) -> (RawClient, (bool, Option<String>)) {
    let path = since.map_or("/".to_owned(), |s| format!("/?since={s}"));
    let mut c = RawClient::open(addr, &path);
    let seam = seam(&mut c);
    (c, seam)
}

/// Says `m<i>` for each `i` of `range`.
fn say(speaker: &mut RawClient, range: std::ops::Range<usize>) {
    for i in range {
        speaker.send_text(&format!("m{i}"));
    }
}

/// Asserts that `c` hears `m<i>` for each `i` of `range`, in order; the last offset.
fn hears(c: &mut RawClient, range: std::ops::Range<usize>) -> String {
    let mut last = String::new();
    for i in range {
        let (offset, text) = said(c);
        assert_eq!(text, format!("m{i}"));
        last = offset;
    }
    last
}

/// Reads until `c` hears `text` (history, seam or live).
fn until_heard(c: &mut RawClient, text: &str) {
    while !matches!(next(c), Got::Said(_, t) if t == text) {}
}

/// The scenario of both settings: a listener hears five, leaves, misses fifty said on
/// both processes, comes back to `back` with its offset, hears exactly the fifty, the
/// seam, then the live ones; and a latecomer without an offset gets the history kept.
fn missed_fifty_recovered(here: SocketAddr, there: SocketAddr) {
    let (mut listener, fresh) = join(here, None);
    assert_eq!(fresh, (true, None), "nothing to recover yet");
    let (mut one, mut other) = (join(here, None).0, join(there, None).0);
    say(&mut one, 0..5);
    let last = hears(&mut listener, 0..5);
    drop(listener);
    // Half said on each process, one after the other.
    say(&mut one, 5..30);
    until_heard(&mut other, "m29");
    say(&mut other, 30..55);
    until_heard(&mut one, "m54");

    let (mut back, _) = {
        let mut c = RawClient::open(there, &format!("/?since={last}"));
        let recovered = hears(&mut c, 5..55);
        assert_eq!(seam(&mut c), (true, Some(recovered)));
        (c, ())
    };
    say(&mut one, 55..60);
    hears(&mut back, 55..60);
    assert!(back.read_frame_within(Duration::from_millis(300)).is_none());
}

#[test]
fn in_one_process_a_client_recovers_exactly_what_it_missed() {
    let addr = serve(keep(100), None);
    missed_fifty_recovered(addr, addr);
}

#[test]
fn in_one_process_a_gap_longer_than_the_history_is_told() {
    let addr = serve(keep(10), None);
    let (mut listener, _) = join(addr, None);
    let mut watcher = join(addr, None).0;
    let mut speaker = join(addr, None).0;
    say(&mut speaker, 0..1);
    let (first, _) = said(&mut listener);
    drop(listener);
    say(&mut speaker, 1..51);
    until_heard(&mut watcher, "m50"); // every one is in the history now
    let mut witness = RawClient::open(addr, "/");
    // A latecomer gets the ten kept.
    let kept = hears(&mut witness, 41..51);
    assert_eq!(seam(&mut witness), (true, Some(kept.clone())));
    let mut back = RawClient::open(addr, &format!("/?since={first}"));
    hears(&mut back, 41..51);
    assert_eq!(seam(&mut back), (false, Some(kept)));
}

#[test]
fn across_processes_a_client_recovers_on_the_other_one() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let url = redis.url();
    let (here, there) = (serve(keep(100), Some(&url)), serve(keep(100), Some(&url)));
    missed_fifty_recovered(here, there);
}

#[test]
fn across_a_redis_cluster_a_client_recovers_on_the_other_process() {
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    let url = cluster.url();
    let (here, there) = (serve(keep(100), Some(&url)), serve(keep(100), Some(&url)));
    missed_fifty_recovered(here, there);
}

#[test]
fn across_processes_a_gap_longer_than_the_history_is_told() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let url = redis.url();
    // Redis trims a stream by whole nodes of 100 entries (`MAXLEN ~`): 300 are enough to
    // lose the first of them with ten kept.
    let (here, there) = (serve(keep(10), Some(&url)), serve(keep(10), Some(&url)));
    let (mut listener, _) = join(here, None);
    let mut speaker = join(here, None).0;
    say(&mut speaker, 0..1);
    let (first, _) = said(&mut listener);
    drop(listener);
    say(&mut speaker, 1..300);
    let mut witness = RawClient::open(there, "/");
    until_heard(&mut witness, "m299");
    let mut back = RawClient::open(there, &format!("/?since={first}"));
    let mut heard = Vec::new();
    let recovered = loop {
        match next(&mut back) {
            Got::Said(_, text) => heard.push(text),
            Got::Seam(recovered, _) => break recovered,
        }
    };
    assert!(!recovered, "m1.. were trimmed");
    assert!(heard.len() >= 10, "at least the ten kept: {}", heard.len());
    let expected: Vec<String> = (300 - heard.len()..300).map(|i| format!("m{i}")).collect();
    assert_eq!(heard, expected, "the newest, in order");
}

/// While one client says a thousand things, another comes back mid-stream with the
/// offset of one of them: it hears each later one exactly once, in order, whatever was
/// history and whatever was live when it came.
fn the_seam_under_traffic(here: SocketAddr, there: SocketAddr) {
    const N: usize = 1000;
    let (mut early, _) = join(here, None);
    let mut speaker = join(here, None).0;
    let talking = std::thread::spawn(move || {
        for i in 0..N {
            speaker.send_text(&format!("m{i}"));
            if i % 50 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        speaker
    });
    let mut offset = String::new();
    for i in 0..=100 {
        let (o, text) = said(&mut early);
        assert_eq!(text, format!("m{i}"));
        offset = o;
    }
    let mut back = RawClient::open(there, &format!("/?since={offset}"));
    let mut seams = 0;
    let mut next_i = 101;
    while next_i < N {
        match next(&mut back) {
            Got::Said(_, text) => {
                assert_eq!(text, format!("m{next_i}"), "once each, in order");
                next_i += 1;
            }
            Got::Seam(recovered, _) => {
                assert!(recovered);
                seams += 1;
            }
        }
    }
    assert_eq!(seams, 1);
    let _speaker = talking.join().unwrap();
    assert!(back.read_frame_within(Duration::from_millis(300)).is_none());
}

#[test]
fn in_one_process_the_seam_holds_under_traffic() {
    let addr = serve(keep(2000), None);
    the_seam_under_traffic(addr, addr);
}

#[test]
fn across_processes_the_seam_holds_under_traffic() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let url = redis.url();
    let (here, there) = (serve(keep(2000), Some(&url)), serve(keep(2000), Some(&url)));
    the_seam_under_traffic(here, there);
}

/// A push from outside (any Redis client) to a history topic reaches its subscribers in
/// the same JSON, unnumbered: it is in no history.
#[test]
fn a_push_to_a_history_topic_is_delivered_unnumbered() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let addr = serve(keep(100), Some(&redis.url()));
    let (mut listener, _) = join(addr, None);
    suite::wait_until("the push channel", || {
        redis.subscribers("ratchet:push:chat") == Some(1)
    });
    let pushed = redis.run(&[b"PUBLISH", b"ratchet:push:chat", b"from the site"]);
    assert_eq!(pushed.as_deref(), Some(":1"));
    let frame = listener
        .read_frame_within(Duration::from_secs(10))
        .expect("the push");
    let v: serde_json::Value = serde_json::from_slice(&frame.payload).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"topic": "chat", "offset": null, "text": "from the site"})
    );
    // Not kept: a newcomer's history is empty.
    let (_, seam) = join(addr, None);
    assert_eq!(seam, (true, None));
}
