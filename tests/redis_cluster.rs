//! Topics across processes through a real Redis Cluster (three masters, a replica each,
//! started by the tests): sharded pub/sub on the master of each topic's slot, each
//! message delivered once, and delivery coming back by itself when a master is killed
//! and failed over, or when a slot moves to another master.

use ratchet::cluster::BridgeStatus;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use suite::{RawClient, RedisCluster};

/// Topics enough to land on every master.
const TOPICS: usize = 24;

fn topics() -> Vec<String> {
    (0..TOPICS).map(|i| format!("room{i}")).collect()
}

fn channel(topic: &str) -> String {
    format!("ratchet:{topic}")
}

/// A client of the process at `addr` in every topic of `topics`, once each topic's
/// sharded subscription is in place on the master serving it.
fn listener(cluster: &RedisCluster, addr: SocketAddr, topics: &[String]) -> RawClient {
    let mut c = RawClient::open(addr, "/");
    for topic in topics {
        c.send_text(&format!("join {topic}"));
    }
    let masters: Vec<(String, u16)> = topics
        .iter()
        .map(|t| (channel(t), cluster.master_of(&channel(t))))
        .collect();
    suite::wait_until("the sharded subscriptions", || {
        masters
            .iter()
            .all(|(ch, port)| cluster.shard_subscribers(*port, ch) == 1)
    });
    c
}

/// The text frames `c` receives until it has been silent for `quiet`.
fn drain(c: &mut RawClient, quiet: Duration) -> Vec<String> {
    let mut got = Vec::new();
    while let Some(frame) = c.read_frame_within(quiet) {
        got.push(String::from_utf8(frame.payload).expect("text"));
    }
    got
}

/// Says `count` numbered messages in every topic through `sender`, and asserts that
/// `listener` hears each exactly once, in order within its topic, and nothing else.
fn each_heard_once(sender: &mut RawClient, listener: &mut RawClient, topics: &[String], tag: &str) {
    const COUNT: usize = 10;
    for i in 0..COUNT {
        for topic in topics {
            sender.send_text(&format!("{topic} {tag}:{topic}:{i}"));
        }
    }
    let mut heard: HashMap<String, Vec<usize>> = HashMap::new();
    for _ in 0..COUNT * topics.len() {
        let frame = listener
            .read_frame_within(Duration::from_secs(10))
            .expect("every message arrives");
        let text = String::from_utf8(frame.payload).expect("text");
        let mut parts = text.split(':');
        assert_eq!(parts.next(), Some(tag), "unexpected {text}");
        let topic = parts.next().expect("a topic").to_owned();
        let i = parts.next().and_then(|i| i.parse().ok()).expect("a number");
        heard.entry(topic).or_default().push(i);
    }
    assert_eq!(
        drain(listener, Duration::from_millis(300)),
        Vec::<String>::new()
    );
    for topic in topics {
        assert_eq!(heard[topic], (0..COUNT).collect::<Vec<_>>(), "{topic}");
    }
}

/// Says probes in `topic` until one reaches `listener` (the subscription is back), at
/// most 30 s.
fn probe(sender: &mut RawClient, listener: &mut RawClient, topic: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    for k in 0.. {
        assert!(
            Instant::now() < deadline,
            "{topic}: delivery never came back"
        );
        sender.send_text(&format!("{topic} probe:{topic}:{k}"));
        if let Some(frame) = listener.read_frame_within(Duration::from_millis(200)) {
            let text = String::from_utf8(frame.payload).expect("text");
            if text.starts_with(&format!("probe:{topic}:")) {
                return;
            }
        }
    }
}

/// A cluster, two processes bridged to it, a listener of the first in every topic and a
/// client of the second to speak.
struct Scene {
    cluster: RedisCluster,
    topics: Vec<String>,
    /// The first process's bridge.
    status: BridgeStatus,
    a: RawClient,
    b: RawClient,
}

fn scene() -> Option<Scene> {
    let cluster = RedisCluster::start()?;
    let topics = topics();
    let (here, status) = suite::bridged(&cluster.url());
    let (there, _) = suite::bridged(&cluster.url());
    let a = listener(&cluster, here, &topics);
    let b = RawClient::open(there, "/");
    Some(Scene {
        cluster,
        topics,
        status,
        a,
        b,
    })
}

#[test]
fn topics_cross_processes_through_a_cluster_each_message_once() {
    let Some(Scene {
        cluster,
        topics,
        status,
        mut a,
        mut b,
    }) = scene()
    else {
        return;
    };
    let mut masters: Vec<u16> = topics
        .iter()
        .map(|t| cluster.master_of(&channel(t)))
        .collect();
    masters.sort_unstable();
    masters.dedup();
    assert_eq!(masters.len(), 3, "the topics spread over every master");
    // Nothing through the classic pub/sub: the channels are sharded.
    let plain = cluster.cli(masters[0], &["PUBSUB", "NUMSUB", &channel(&topics[0])]);
    assert_eq!(
        plain.as_deref(),
        Some(format!("{}\n0", channel(&topics[0])).as_str())
    );

    each_heard_once(&mut b, &mut a, &topics, "m");
    assert_eq!(status.received(), (10 * TOPICS) as u64);

    // A push from any Redis client (redis-cli following the cluster's redirection).
    let pushed = cluster.cli(
        cluster.ports()[0],
        &["-c", "SPUBLISH", "ratchet:push:room3", "pushed to room3"],
    );
    assert_eq!(pushed.as_deref(), Some("1"));
    a.expect_text("pushed to room3");
    assert_eq!(
        drain(&mut a, Duration::from_millis(300)),
        Vec::<String>::new()
    );
}

#[test]
fn a_master_killed_is_failed_over_and_delivery_comes_back() {
    let Some(Scene {
        mut cluster,
        topics,
        status,
        mut a,
        mut b,
    }) = scene()
    else {
        return;
    };
    each_heard_once(&mut b, &mut a, &topics, "before");

    let victim = cluster.master_of(&channel(&topics[0]));
    cluster.kill(victim);
    cluster.wait_healthy();
    let promoted = cluster.master_of(&channel(&topics[0]));
    assert_ne!(promoted, victim, "a replica took over");
    for topic in &topics {
        probe(&mut b, &mut a, topic);
    }
    // Late probes are not the point; what is said from now on is heard exactly once.
    drain(&mut a, Duration::from_millis(500));
    each_heard_once(&mut b, &mut a, &topics, "after");
    assert!(status.subscriptions_lost() >= 1);
    assert_eq!(cluster.shard_subscribers(promoted, &channel(&topics[0])), 1);
}

#[test]
fn a_slot_moved_to_another_master_takes_its_subscribers_along() {
    let Some(Scene {
        cluster,
        topics,
        status,
        mut a,
        mut b,
    }) = scene()
    else {
        return;
    };

    let moved = channel(&topics[0]);
    let source = cluster.master_of(&moved);
    let target = topics
        .iter()
        .map(|t| cluster.master_of(&channel(t)))
        .find(|&m| m != source)
        .expect("another master");
    let slot = cluster
        .cli(source, &["CLUSTER", "KEYSLOT", &moved])
        .expect("a slot");
    let (source_id, target_id) = (cluster.id(source), cluster.id(target));
    // The resharding steps of the Redis documentation (the slot holds no keys).
    let set = |port: u16, how: &[&str]| {
        let mut args = vec!["CLUSTER", "SETSLOT", slot.as_str()];
        args.extend_from_slice(how);
        assert_eq!(cluster.cli(port, &args).as_deref(), Some("OK"), "{args:?}");
    };
    set(target, &["IMPORTING", &source_id]);
    set(source, &["MIGRATING", &target_id]);
    set(target, &["NODE", &target_id]);
    set(source, &["NODE", &target_id]);
    suite::wait_until("the slot to move", || cluster.master_of(&moved) == target);
    suite::wait_until("the subscription to follow it", || {
        cluster.shard_subscribers(target, &moved) == 1
    });
    assert_eq!(cluster.shard_subscribers(source, &moved), 0);
    probe(&mut b, &mut a, &topics[0]);
    drain(&mut a, Duration::from_millis(500));
    each_heard_once(&mut b, &mut a, &topics, "after");
    assert!(status.is_subscribed());
}

/// The seam between a local join and the sharded subscription, as with one Redis: a
/// client that joins and speaks in the same breath hears the reply from another process.
#[test]
fn in_a_storm_of_joins_on_a_cluster_every_client_hears_the_reply() {
    const N: usize = 300;
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    let (here, _) = suite::bridged(&cluster.url());
    let (there, _) = suite::bridged(&cluster.url());
    let last = channel(&format!("t{}", N - 1));
    let master = cluster.master_of(&last);
    suite::join_storm(here, there, N, || {
        cluster.shard_subscribers(master, &last) == 1
    });
}
