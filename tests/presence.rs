//! Presence: who is in a topic, told to its subscribers as members come and go, and a
//! snapshot on request; in one process, and across two processes sharing a real
//! `redis-server` (a process killed outright: see tests/cluster.rs).

use ratchet::cluster::RedisBridge;
use ratchet::{Commands, Component, Conn, IntoCommands, Message, Server, WebSocket};
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;
use suite::{RawClient, RedisCluster, RedisServer};

/// Present in `lobby` as its `?name=`, asking who is there; `who` asks again.
struct Lobby;

impl Component for Lobby {
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        let name = conn.request().and_then(|r| r.query_param("name"));
        Commands::from(conn.present("lobby", name.unwrap_or_default())).and(conn.presence("lobby"))
    }

    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        match msg.as_text() {
            Some("who") => Commands::from(from.presence("lobby")),
            Some("leave") => Commands::from(from.unsubscribe("lobby")),
            _ => Commands::none(),
        }
    }
}

fn serve(redis: Option<&str>) -> SocketAddr {
    let mut server = Server::new(WebSocket::new(Lobby));
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

fn next(c: &mut RawClient) -> Value {
    let frame = c
        .read_frame_within(Duration::from_secs(10))
        .expect("a message");
    let v: Value = serde_json::from_slice(&frame.payload).expect("JSON");
    assert_eq!(v["topic"], "lobby", "{v}");
    v
}

/// The names in the next snapshot `c` receives (events before it are skipped).
fn snapshot(c: &mut RawClient) -> BTreeSet<String> {
    loop {
        let v = next(c);
        if let Some(members) = v.get("presence") {
            return members
                .as_array()
                .expect("members")
                .iter()
                .map(|m| m["info"].as_str().expect("info").to_owned())
                .collect();
        }
    }
}

/// The next event `c` receives: `("joined" | "left", name, client)`.
fn event(c: &mut RawClient) -> (String, String, String) {
    let v = next(c);
    for kind in ["joined", "left"] {
        if let Some(member) = v.get(kind) {
            let info = member["info"].as_str().expect("info").to_owned();
            let client = member["client"].as_str().expect("client").to_owned();
            return (kind.to_owned(), info, client);
        }
    }
    panic!("an event, not {v}");
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Ann on `here`, Bob on `there`: each hears the other come, the snapshots say who is
/// there, a leave and a close are heard, and two connections of one name are two. Ann,
/// still there, is returned.
fn comings_and_goings(here: SocketAddr, there: SocketAddr) -> RawClient {
    let mut ann = RawClient::open(here, "/?name=ann");
    assert_eq!(event(&mut ann).1, "ann", "her own arrival");
    assert_eq!(snapshot(&mut ann), names(&["ann"]));
    let mut bob = RawClient::open(there, "/?name=bob");
    let (kind, name, bob_client) = event(&mut ann);
    assert_eq!((kind.as_str(), name.as_str()), ("joined", "bob"));
    assert_eq!(snapshot(&mut bob), names(&["ann", "bob"]));

    // A second tab of Bob's: a member of its own.
    let mut bob2 = RawClient::open(here, "/?name=bob");
    let (_, name, client) = event(&mut ann);
    assert_eq!(name, "bob");
    assert_ne!(client, bob_client, "two connections, two clients");
    ann.send_text("who");
    let v = loop {
        let v = next(&mut ann);
        if v.get("presence").is_some() {
            break v;
        }
    };
    assert_eq!(v["presence"].as_array().unwrap().len(), 3);

    bob2.send_text("leave");
    assert_eq!(event(&mut ann), ("left".into(), "bob".into(), client));
    drop(bob);
    assert_eq!(event(&mut ann), ("left".into(), "bob".into(), bob_client));
    ann.send_text("who");
    assert_eq!(snapshot(&mut ann), names(&["ann"]));
    assert!(ann.read_frame_within(Duration::from_millis(300)).is_none());
    ann
}

#[test]
fn in_one_process_presence_follows_comings_and_goings() {
    let addr = serve(None);
    comings_and_goings(addr, addr);
}

#[test]
fn across_processes_presence_follows_comings_and_goings() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let url = redis.url();
    let (here, there) = (serve(Some(&url)), serve(Some(&url)));
    let _ann = comings_and_goings(here, there);
    // Kept in Redis, by process and connection.
    let fields = redis.command("HLEN ratchet:presence:lobby");
    assert_eq!(fields.as_deref(), Some(":1"), "only ann is left");
}

#[test]
fn across_a_redis_cluster_presence_follows_comings_and_goings() {
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    let url = cluster.url();
    let (here, there) = (serve(Some(&url)), serve(Some(&url)));
    comings_and_goings(here, there);
}
