//! The Redis bridge carries only the topics a process has subscribers for, and a client
//! that joins a topic and then speaks in it hears every reply from another process, even
//! in a storm of joins. With a real `redis-server` (started by the tests).

use ratchet::cluster::envelope;
use ratchet::Payload;
use std::net::SocketAddr;
use std::time::Duration;
use suite::{RawClient, RedisServer};

/// A server bridged to `redis`, on its own thread.
fn process(redis: &RedisServer) -> (SocketAddr, ratchet::cluster::BridgeStatus) {
    suite::bridged(&redis.url())
}

/// Another process's publish of `text` to `topic`, as its bridge writes it; how many
/// subscriptions Redis delivered it to.
fn publish_elsewhere(redis: &RedisServer, topic: &str, text: &str) -> String {
    let envelope = envelope(&[9; 16], topic, &Payload::text(text));
    let channel = format!("ratchet:{topic}");
    redis
        .run(&[b"PUBLISH", channel.as_bytes(), &envelope])
        .expect("redis answers")
}

/// A client of the process at `addr` in `topic`, once Redis has the process's subscription.
fn joined(redis: &RedisServer, addr: SocketAddr, topic: &str) -> RawClient {
    let mut c = RawClient::open(addr, "/");
    c.send_text(&format!("join {topic}"));
    suite::wait_until("the subscription", || {
        redis.subscribers(&format!("ratchet:{topic}")) == Some(1)
    });
    c
}

#[test]
fn a_process_listens_only_to_the_topics_it_has_subscribers_for() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (addr, status) = process(&redis);
    let mut a = joined(&redis, addr, "a");
    assert_eq!(redis.subscribers("ratchet:b"), Some(0));
    for i in 0..100 {
        assert_eq!(publish_elsewhere(&redis, "a", &format!("a{i}")), ":1");
        // Nobody here listens to b: Redis sends it to no one.
        assert_eq!(publish_elsewhere(&redis, "b", &format!("b{i}")), ":0");
    }
    for i in 0..100 {
        a.expect_text(&format!("a{i}"));
    }
    assert_eq!(status.received(), 100);
    // The last subscriber leaves: so does the process.
    drop(a);
    suite::wait_until("the unsubscription from a", || {
        redis.subscribers("ratchet:a") == Some(0)
    });
    // A topic joined, left and joined again is listened to once.
    let mut b = RawClient::open(addr, "/");
    let mut c = RawClient::open(addr, "/");
    b.send_text("join b");
    c.send_text("join b");
    drop(b);
    suite::wait_until("the subscription to b", || {
        redis.subscribers("ratchet:b") == Some(1)
    });
    assert_eq!(publish_elsewhere(&redis, "b", "once"), ":1");
    c.expect_text("once");
}

/// A Redis slow to answer a subscription (asleep for 300 ms) is waited for, as for any
/// command: the subscription is not given up as lost, and the topic is listened to.
#[test]
fn a_slow_answer_to_a_subscription_is_waited_for() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (addr, status) = process(&redis);
    let a = joined(&redis, addr, "a");
    let sleeper = redis.sleep(0.3);
    let mut b = RawClient::open(addr, "/");
    b.send_text("join b");
    sleeper.join().unwrap();
    suite::wait_until("the subscription to b", || {
        redis.subscribers("ratchet:b") == Some(1)
    });
    assert_eq!(status.subscriptions_lost(), 0);
    assert_eq!(publish_elsewhere(&redis, "b", "late but there"), ":1");
    b.expect_text("late but there");
    drop(a);
}

/// The seam between a local join and the Redis subscription: N clients on one process
/// each join their own topic and say at once that they are there; a responder on another
/// process answers each in its topic. Every client hears its answer: a publish leaves a
/// process only after the subscriptions asked for before it are in place.
#[test]
fn in_a_storm_of_joins_every_client_hears_the_reply_to_what_it_said() {
    const N: usize = 300;
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (here, _) = process(&redis);
    let (there, _) = process(&redis);
    suite::join_storm(here, there, N, || {
        redis.subscribers(&format!("ratchet:t{}", N - 1)) == Some(1)
    });
}

/// `php tests/php/push.php`: pushes `message` to `topic` through Redis with php-redis;
/// how many subscriptions Redis delivered it to.
fn php_push(redis: &RedisServer, topic: &str, message: &str, hex: bool) -> Option<usize> {
    let port = redis.port.to_string();
    let mut args = vec![port.as_str(), topic, message];
    args.extend(hex.then_some("hex"));
    let said = suite::php("push.php", &args)?;
    Some(said.parse().expect("a count"))
}

/// One line of PHP (`$redis->publish('ratchet:push:news', ...)`) reaches the topic's
/// subscribers on every process, each exactly once: as text when it is UTF-8, as binary
/// otherwise. A process without subscribers for the topic is not sent it.
#[test]
fn a_push_from_php_reaches_the_topics_subscribers_on_every_process_once() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (one, _) = process(&redis);
    let (two, _) = process(&redis);
    let (three, _) = process(&redis);
    let mut readers = Vec::new();
    for addr in [one, one, two] {
        let mut c = RawClient::open(addr, "/");
        c.send_text("join news");
        readers.push(c);
    }
    let mut elsewhere = RawClient::open(three, "/");
    elsewhere.send_text("join sports");
    suite::wait_until("the push subscriptions", || {
        redis.subscribers("ratchet:push:news") == Some(2)
            && redis.subscribers("ratchet:push:sports") == Some(1)
    });
    // Two processes listen: Redis sends each push to those two, and each delivers it to
    // its own subscribers.
    let Some(receivers) = php_push(&redis, "news", "héllo from PHP", false) else {
        return;
    };
    assert_eq!(receivers, 2);
    assert_eq!(php_push(&redis, "news", "fffe00", true), Some(2));
    for c in &mut readers {
        c.expect_text("héllo from PHP");
        let frame = c.read_frame();
        assert_eq!((frame.opcode, frame.payload), (2, vec![0xff, 0xfe, 0x00]));
        assert!(
            c.read_frame_within(Duration::from_millis(300)).is_none(),
            "a push arrived twice"
        );
    }
    assert!(elsewhere
        .read_frame_within(Duration::from_millis(300))
        .is_none());
}
