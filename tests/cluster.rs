//! Beyond one process: two `examples/cluster` servers sharing a real `redis-server`, and
//! sessions written by a real PHP (php-cli with php-redis) read by cookie.

use ratchet::session::{Format, Missing, Session, SessionExt};
use ratchet::IntoCommands;
use ratchet::{Commands, Component, Conn, Message, WebSocket};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use suite::{Example, RawClient, RedisServer};

fn cluster_on(redis: &RedisServer) -> Example {
    let url = redis.url();
    Example::start_with("cluster", &[("RATCHET_REDIS_URL", url.as_str())])
}

/// A client that picked `name` for itself (shown as `~name`), once it has the room's
/// history and is live.
fn join(server: &Example, name: &str) -> RawClient {
    let mut c = RawClient::open(server.addr(), &format!("/chat?name={name}"));
    expect_welcome(&mut c, &format!("~{name}"));
    c
}

/// Reads the welcome, then up to both the room's seam (after its history) and who is
/// in the room (after the client's own arrival); returns who is.
fn expect_welcome(c: &mut RawClient, name: &str) -> Vec<String> {
    let welcome = json(&c.read_frame().payload);
    assert_eq!(welcome["welcome"], name, "{welcome}");
    let (mut seam, mut here) = (false, None);
    while !seam || here.is_none() {
        let v = json(&c.read_frame().payload);
        seam |= v.get("recovered").is_some();
        if let Some(members) = v["presence"].as_array() {
            here = Some(infos(members));
        }
    }
    let here = here.unwrap_or_default();
    assert!(here.iter().any(|n| n == name), "{name} among {here:?}");
    here
}

/// The names of presence members, in order.
fn infos(members: &[serde_json::Value]) -> Vec<String> {
    let mut names: Vec<String> = members
        .iter()
        .map(|m| m["info"].as_str().expect("a name").to_owned())
        .collect();
    names.sort();
    names
}

/// The next presence event, `("joined" | "left", name)`, waiting at most `wait`.
fn next_event(c: &mut RawClient, wait: Duration) -> Option<(&'static str, String)> {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        let v = json(&c.read_frame_within(left)?.payload);
        for kind in ["joined", "left"] {
            if let Some(name) = v[kind]["info"].as_str() {
                return Some((kind, name.to_owned()));
            }
        }
    }
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("JSON")
}

/// The next line of the room (not a seam), waiting at most `wait`.
fn next_line(c: &mut RawClient, wait: Duration) -> Option<String> {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        let frame = c.read_frame_within(left)?;
        if let Some(text) = json(&frame.payload)["text"].as_str() {
            return Some(text.to_owned());
        }
    }
}

/// The next line someone said (not a join or leave notice), waiting at most `wait`.
fn next_said(c: &mut RawClient, wait: Duration) -> Option<String> {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        let text = next_line(c, left)?;
        if text.contains(": ") {
            return Some(text);
        }
    }
}

/// Sends probes from `from` until `to` hears one (the bridges are subscribed), at most 20 s.
fn until_bridged(from: &mut RawClient, to: &mut RawClient) {
    let deadline = Instant::now() + Duration::from_secs(20);
    for i in 0.. {
        assert!(
            Instant::now() < deadline,
            "the processes never heard each other"
        );
        from.send_text(&format!("probe {i}"));
        if next_said(to, Duration::from_millis(200)).is_some() {
            break;
        }
    }
    // Drain the probes still in flight.
    while next_said(to, Duration::from_millis(300)).is_some() {}
}

#[test]
fn every_client_hears_every_other_exactly_once_in_order_across_processes() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (a, b) = (cluster_on(&redis), cluster_on(&redis));
    let mut probe_a = join(&a, "probe-a");
    let mut probe_b = join(&b, "probe-b");
    until_bridged(&mut probe_a, &mut probe_b);
    until_bridged(&mut probe_b, &mut probe_a);
    drop((probe_a, probe_b));

    let names = ["a0", "a1", "a2", "b0", "b1", "b2"];
    let mut clients: Vec<RawClient> = names
        .iter()
        .map(|name| join(if name.starts_with('a') { &a } else { &b }, name))
        .collect();
    // The probes' leaving emptied the room, and each process left its channel: both are
    // back in it before anyone speaks (what is said before that is missed: at most once).
    suite::wait_until("both processes in the room's channel", || {
        redis.subscribers("ratchet:chat") == Some(2)
    });
    const EACH: usize = 500; // 3,000 messages, 15,000 deliveries
    for i in 0..EACH {
        for (c, name) in clients.iter_mut().zip(names) {
            c.send_text(&format!("{name} says {i}"));
        }
    }
    // Everyone hears every line, its own too (a page shows its own as they come back).
    for (c, me) in clients.iter_mut().zip(names) {
        let mut next: HashMap<&str, usize> = HashMap::new();
        let expected = EACH * names.len();
        for got in 0..expected {
            let said = next_said(c, Duration::from_secs(20))
                .unwrap_or_else(|| panic!("{me} got only {got} of {expected} messages"));
            let (from, text) = said.split_once(": ").unwrap();
            let from = from.strip_prefix('~').expect("a self-named sender");
            let from = names.iter().find(|n| **n == from).expect("a known sender");
            let i = next.entry(from).or_default();
            assert_eq!(text, format!("{from} says {i}"), "{me}: {from}'s order");
            *i += 1;
        }
        assert!(
            next_said(c, Duration::from_millis(300)).is_none(),
            "{me} heard something twice"
        );
    }
}

/// The example's page in a real Chromium (tests/browser/cluster.mjs): heard across
/// processes, the history shown again after a reload, a dropped socket's gap recovered
/// exactly once.
#[test]
fn the_page_shows_the_history_and_recovers_a_gap_in_a_browser() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    if !suite::have_chromium() {
        return;
    }
    let (a, b) = (cluster_on(&redis), cluster_on(&redis));
    let browser = suite::root().join("tests/browser");
    let urls = [a.addr(), b.addr()].map(|addr| format!("http://{addr}/"));
    let stdout = suite::node(&browser.join("cluster.mjs"), &urls, &browser);
    let steps: Vec<&str> = stdout.lines().filter(|l| l.starts_with("ok ")).collect();
    assert_eq!(
        steps,
        [
            "ok heard across processes",
            "ok reloaded page shows the history",
            "ok recovered exactly what it missed"
        ]
    );
}

/// Presence across processes: who is in the room, and a process killed outright (its
/// users never say goodbye): within the documented bound another process tells the room
/// they left, and they are no longer in it.
#[test]
fn the_users_of_a_killed_process_leave_the_room_in_bounded_time() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (a, mut b) = (cluster_on(&redis), cluster_on(&redis));
    let mut ann = join(&a, "ann");
    let bob = join(&b, "bob");
    assert_eq!(
        next_event(&mut ann, Duration::from_secs(5)),
        Some(("joined", "~bob".to_owned()))
    );
    ann.send_text("/who");
    let who = loop {
        let v = json(&ann.read_frame().payload);
        if let Some(members) = v["presence"].as_array() {
            break infos(members);
        }
    };
    assert_eq!(who, ["~ann", "~bob"]);

    b.child.kill().expect("SIGKILL");
    let killed = Instant::now();
    let bound = ratchet::presence::ALIVE + ratchet::presence::HEARTBEAT;
    let left = next_event(&mut ann, bound + Duration::from_secs(2));
    assert_eq!(left, Some(("left", "~bob".to_owned())), "within {bound:?}");
    assert!(
        killed.elapsed() <= bound + Duration::from_secs(1),
        "{:?}",
        killed.elapsed()
    );
    ann.send_text("/who");
    let who = loop {
        let v = json(&ann.read_frame().payload);
        if let Some(members) = v["presence"].as_array() {
            break infos(members);
        }
    };
    assert_eq!(who, ["~ann"]);
    drop(bob);
}

#[test]
fn local_chat_survives_redis_going_away_and_the_bridge_comes_back() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let (a, b) = (cluster_on(&redis), cluster_on(&redis));
    let mut ann = join(&a, "ann");
    let mut amy = join(&a, "amy");
    let mut bob = join(&b, "bob");
    until_bridged(&mut ann, &mut bob);
    while next_said(&mut amy, Duration::from_millis(200)).is_some() {}

    redis.stop();
    for i in 0..20 {
        ann.send_text(&format!("while redis is down {i}"));
        let heard = next_said(&mut amy, Duration::from_secs(2));
        assert_eq!(heard, Some(format!("~ann: while redis is down {i}")));
    }
    assert_eq!(
        next_said(&mut bob, Duration::from_millis(300)),
        None,
        "at most once: nothing is replayed"
    );

    redis.restart();
    until_bridged(&mut ann, &mut bob);
    until_bridged(&mut bob, &mut ann);
    while next_said(&mut amy, Duration::from_millis(200)).is_some() {}
    bob.send_text("and back");
    assert_eq!(
        next_said(&mut ann, Duration::from_secs(5)).as_deref(),
        Some("~bob: and back")
    );
}

/// On a topic without history (a history topic's lines are numbered by Redis, so they
/// wait for it; `ratchet::history`).
#[test]
fn a_slow_redis_delays_nobodys_local_messages() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (a, _) = suite::bridged(&redis.url());
    let mut ann = RawClient::open(a, "/");
    let mut amy = RawClient::open(a, "/");
    for c in [&mut ann, &mut amy] {
        c.send_text("join room");
    }
    suite::wait_until("the subscription", || {
        redis.subscribers("ratchet:room") == Some(1)
    });
    ann.send_text("room warm up");
    amy.expect_text("warm up");

    let sleeper = redis.sleep(2.0);
    for i in 0..10 {
        let sent = Instant::now();
        ann.send_text(&format!("room while redis sleeps {i}"));
        amy.expect_text(&format!("while redis sleeps {i}"));
        assert!(
            sent.elapsed() < Duration::from_millis(1000),
            "a local message waited {:?} for a sleeping Redis",
            sent.elapsed()
        );
    }
    assert!(!sleeper.is_finished(), "Redis was asleep meanwhile");
    sleeper.join().unwrap();
}

/// A PHP session for `user` in `redis`, written by php-cli with php-redis.
fn php_session(redis: &RedisServer, serializer: &str, user: &str) -> Option<String> {
    let save_path = format!("tcp://127.0.0.1:{}", redis.port);
    suite::php("session.php", &[&save_path, serializer, user])
}

fn open_with_cookie(addr: std::net::SocketAddr, cookie: &str) -> (RawClient, String) {
    let mut c = RawClient::connect(addr);
    let cookie = format!("Cookie: theme=dark; PHPSESSID={cookie}\r\n");
    c.write(suite::upgrade_request("/chat", &cookie).as_bytes());
    let head = c.read_head();
    (c, head)
}

#[test]
fn the_chat_greets_a_php_sites_user_by_name() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let Some(id) = php_session(&redis, "php", "alice") else {
        return;
    };
    let stored = redis.command(&format!("EXISTS PHPREDIS_SESSION:{id}"));
    assert_eq!(stored.as_deref(), Some(":1"), "php-redis wrote the session");

    let chat = cluster_on(&redis);
    let mut bob = join(&chat, "bob");
    let (mut alice, head) = open_with_cookie(chat.addr(), &id);
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    expect_welcome(&mut alice, "alice");
    let joined = next_event(&mut bob, Duration::from_secs(5));
    assert_eq!(joined, Some(("joined", "alice".to_owned())));

    // Anyone can pick "alice" for themselves: that one is told apart, and kept short.
    let claimed = format!("~alice{}", "x".repeat(19));
    let path = format!("/chat?name=alice{}", "x".repeat(100));
    let mut impostor = RawClient::open(chat.addr(), &path);
    expect_welcome(&mut impostor, &claimed);
    let joined = next_event(&mut bob, Duration::from_secs(5));
    assert_eq!(joined, Some(("joined", claimed)));

    // A bogus cookie: the chat opens anonymous (its configured behaviour).
    let (mut stranger, head) = open_with_cookie(chat.addr(), "no-such-session");
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    let welcome = json(&stranger.read_frame().payload);
    let name = welcome["welcome"].as_str().expect("a welcome");
    assert!(name.starts_with("guest-"), "{name}");
}

/// Says who the session says the user is.
struct Who;

impl Component for Who {
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        let session = conn.session();
        let user: Option<String> = session.and_then(|s| s.get("user"));
        let visits: Option<u32> = session.and_then(|s| s.get("visits"));
        conn.send(format!("{user:?} {visits:?}"))
    }
    fn on_message(&mut self, _: &Conn, _: Message<'_>) -> impl IntoCommands {
        Commands::none()
    }
}

#[test]
fn both_php_serializers_and_a_refusal_for_a_bad_cookie() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    for (serializer, format) in [
        ("php", Format::Php),
        ("php_serialize", Format::PhpSerialize),
    ] {
        let Some(id) = php_session(&redis, serializer, "alice") else {
            return;
        };
        let strict = Session::new(WebSocket::new(Who), redis.url())
            .format(format)
            .on_missing(Missing::Reject(401));
        let addr = suite::serve(strict);
        let (mut alice, head) = open_with_cookie(addr, &id);
        assert!(head.starts_with("HTTP/1.1 101 "), "{serializer}: {head}");
        alice.expect_text("Some(\"alice\") Some(3)");

        for bogus in ["unknown-id", "bad id;", ""] {
            let (mut c, head) = open_with_cookie(addr, bogus);
            assert!(head.starts_with("HTTP/1.1 401 "), "{bogus:?}: {head}");
            assert!(
                c.closed_within(Duration::from_secs(3)),
                "refused, then closed"
            );
        }
        let mut none = RawClient::connect(addr);
        none.write(suite::upgrade_request("/", "").as_bytes());
        let (head, body) = none.read_response();
        assert!(head.starts_with("HTTP/1.1 401 "), "{head}");
        assert!(body.contains("no session cookie"), "{body}");
    }
}

#[test]
fn a_session_lookup_holds_only_its_own_connection() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let Some(id) = php_session(&redis, "php", "alice") else {
        return;
    };
    let chat = cluster_on(&redis);
    let sleeper = redis.sleep(1.5);
    // alice's handshake waits for the sleeping Redis...
    let started = Instant::now();
    let mut alice = RawClient::connect(chat.addr());
    let cookie = format!("Cookie: PHPSESSID={id}\r\n");
    alice.write(suite::upgrade_request("/chat", &cookie).as_bytes());
    let alice = std::thread::spawn(move || {
        let head = alice.read_head();
        let welcome = json(&alice.read_frame().payload);
        assert_eq!(welcome["welcome"], "alice");
        (head, started.elapsed())
    });
    // ...while others come in and are welcomed without waiting (the room's lines go
    // through Redis to be numbered: they wait for it, as documented).
    let sent = Instant::now();
    let mut carl = RawClient::open(chat.addr(), "/chat?name=carl");
    let welcome = json(&carl.read_frame().payload);
    assert_eq!(welcome["welcome"], "~carl");
    // Had the loop waited for Redis, this would have taken over 1.2 s.
    assert!(
        sent.elapsed() < Duration::from_millis(1000),
        "{:?}",
        sent.elapsed()
    );
    let (head, waited) = alice.join().unwrap();
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(
        waited > Duration::from_millis(700),
        "alice did wait for Redis: {waited:?}"
    );
    sleeper.join().unwrap();
}
