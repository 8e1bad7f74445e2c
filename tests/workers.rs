//! Two workers, one application: a chat whose `ConnSet` holds every client sees every
//! client, every client hears the same messages in the same order, and the rest of the
//! server (topics, the handle, timers, shutdown, overflow) works across the workers.

use ratchet::server::Config;
use ratchet::{
    Command, Commands, Component, Conn, ConnId, ConnSet, Door, IntoCommands, Message, Overflow,
    Refuse, Server, WebSocket,
};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;
use suite::{wait_until, RawClient};

/// Which worker owns `id`, of two: the low bits of its slot.
fn worker_of(id: u64) -> u64 {
    (id & ((1 << 20) - 1)) % 2
}

#[derive(Default)]
struct Chat {
    clients: ConnSet,
}

impl Component for Chat {
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        self.clients.insert(conn);
        conn.send(format!("you are {}", conn.id().to_raw()))
    }
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        let text = msg.as_text().unwrap_or("");
        if text == "who" {
            return from.send(format!("{} here", self.clients.len())).into();
        }
        Commands::from(self.clients.send(format!("{}: {text}", from.id())))
    }
    fn on_close(&mut self, conn: &Conn) -> impl IntoCommands {
        self.clients.remove(conn);
    }
}

/// Opens a client and reads its welcome: its connection's raw id.
fn join(addr: SocketAddr) -> (RawClient, u64) {
    let mut c = RawClient::open(addr, "/");
    let welcome = c.read_frame();
    let text = String::from_utf8(welcome.payload).unwrap();
    let id = text.strip_prefix("you are ").unwrap().parse().unwrap();
    (c, id)
}

#[test]
fn a_chat_on_two_workers_sees_everyone_in_one_order() {
    let (addr, handle) = suite::run(Server::new(WebSocket::new(Chat::default())).workers(2));
    let mut clients: Clients = Vec::new();
    // Connections are spread by whichever worker accepts first; open until both hold some.
    while clients.len() < 20
        || clients
            .iter()
            .map(|(_, id)| worker_of(*id))
            .collect::<HashSet<_>>()
            .len()
            < 2
    {
        assert!(clients.len() < 400, "one worker took every connection");
        clients.push(join(addr));
    }
    let n = clients.len();
    wait_until("every client counted", || handle.stats().connections == n);
    clients[0].0.send_text("who");
    clients[0].0.expect_text(&format!("{n} here"));
    // Everyone talks at once; everyone hears all of it, in one order.
    for round in 0..5 {
        for (c, _) in clients.iter_mut() {
            c.send_text(&format!("m{round}"));
        }
    }
    let heard: Vec<Vec<Vec<u8>>> = clients
        .iter_mut()
        .map(|(c, _)| (0..5 * n).map(|_| c.read_frame().payload).collect())
        .collect();
    for other in &heard[1..] {
        assert_eq!(
            other, &heard[0],
            "two clients heard the chat in different orders"
        );
    }
    let ids: HashSet<ConnId> = clients
        .iter()
        .map(|(_, id)| ConnId::from_raw(*id))
        .collect();
    assert_eq!(ids.len(), n, "ids are unique across workers");
    handle.shutdown();
}

/// Clients with their connections' raw ids.
type Clients = Vec<(RawClient, u64)>;

/// Opens clients until both workers hold at least `each`; `each` of each.
fn on_both(addr: SocketAddr, each: usize) -> (Clients, Clients) {
    let (mut zero, mut one) = (Vec::new(), Vec::new());
    while zero.len() < each || one.len() < each {
        assert!(
            zero.len() + one.len() < 400,
            "one worker took every connection"
        );
        let (c, id) = join(addr);
        match worker_of(id) {
            0 => zero.push((c, id)),
            _ => one.push((c, id)),
        }
    }
    zero.truncate(each);
    one.truncate(each);
    (zero, one)
}

/// Rooms: `join X` subscribes, `say X text` publishes, `leave X` unsubscribes; a timer
/// armed by `remind N` tells the one who asked N ms later, `forget` cancels it; `boom`
/// panics.
#[derive(Default)]
struct Rooms {
    asked: Option<ConnId>,
}

impl Component for Rooms {
    fn on_request(&mut self, conn: &Conn) -> Door {
        match conn.request().and_then(|r| r.path().strip_prefix("/")) {
            Some("nobody") => Door::Refuse(Refuse::forbidden("not you")),
            _ => Door::Open,
        }
    }
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        conn.send(format!("you are {}", conn.id().to_raw()))
    }
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        let text = msg.as_text().unwrap_or("");
        let (verb, rest) = text.split_once(' ').unwrap_or((text, ""));
        match verb {
            "join" => Commands::from(from.subscribe(rest)).and(from.send(format!("in {rest}"))),
            "leave" => Commands::from(from.unsubscribe(rest)).and(from.send(format!("out {rest}"))),
            "say" => {
                let (room, said) = rest.split_once(' ').unwrap_or((rest, ""));
                Command::publish(room, said.to_owned()).into()
            }
            "remind" => {
                self.asked = Some(from.id());
                let ms = rest.parse().unwrap_or(10);
                Command::after(Duration::from_millis(ms), 1).into()
            }
            "forget" => Commands::from(Command::cancel_timer(1)).and(from.send("forgotten")),
            "boom" => panic!("boom"),
            _ => Commands::none(),
        }
    }
    fn on_timer(&mut self, key: u64) -> impl IntoCommands {
        self.asked
            .map(|id| Command::send(id, format!("timer {key}")))
    }
}

#[test]
fn topics_timers_the_handle_and_the_door_reach_across_workers() {
    let (addr, handle) = suite::run(Server::new(WebSocket::new(Rooms::default())).workers(2));
    let (mut zero, mut one) = on_both(addr, 2);
    // A room with members on both workers.
    for (c, _) in zero.iter_mut().chain(one.iter_mut()) {
        c.send_text("join kitchen");
        c.expect_text("in kitchen");
    }
    assert_eq!(handle.topics().count("kitchen"), 4);
    one[0].0.send_text("say kitchen hot soup");
    for (c, _) in zero.iter_mut().chain(one.iter_mut()) {
        c.expect_text("hot soup");
    }
    // Leaving one worker's member out.
    zero[1].0.send_text("leave kitchen");
    zero[1].0.expect_text("out kitchen");
    handle
        .send(Command::publish("kitchen", "from the handle"))
        .unwrap();
    for (c, _) in zero[..1].iter_mut().chain(one.iter_mut()) {
        c.expect_text("from the handle");
    }
    // The handle reaches a connection on either worker by id.
    for (c, id) in [&mut zero[1], &mut one[1]] {
        handle
            .send(Command::send(ConnId::from_raw(*id), "direct"))
            .unwrap();
        c.expect_text("direct");
    }
    // A timer armed on one worker's message fires on the app thread; cancelled from the
    // other worker's, it does not fire.
    one[0].0.send_text("remind 20");
    one[0].0.expect_text("timer 1");
    zero[0].0.send_text("remind 300");
    zero[0].0.send_text("join sync"); // handled in order: the timer is armed after this
    zero[0].0.expect_text("in sync");
    one[0].0.send_text("forget");
    one[0].0.expect_text("forgotten");
    assert!(zero[0]
        .0
        .read_frame_within(Duration::from_millis(600))
        .is_none());
    // The door answers through the app thread.
    let mut refused = RawClient::connect(addr);
    refused.write(suite::upgrade_request("/nobody", "").as_bytes());
    let head = refused.read_head();
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    assert!(refused.closed_within(Duration::from_secs(5)));
    // A closed connection leaves its rooms.
    drop(one.remove(1));
    wait_until("the closed client left the room", || {
        handle.topics().count("kitchen") == 2
    });
    handle.shutdown();
}

#[test]
fn a_panic_closes_its_connection_only() {
    let (addr, handle) = suite::run(Server::new(WebSocket::new(Rooms::default())).workers(2));
    let (mut zero, mut one) = on_both(addr, 1);
    one[0].0.send_text("boom");
    let frame = one[0].0.read_frame();
    assert_eq!(frame.close_code(), Some(1011));
    zero[0].0.send_text("join hall");
    zero[0].0.expect_text("in hall");
    handle.shutdown();
}

#[test]
fn shutdown_closes_every_connection_of_every_worker_with_1001() {
    let listening = Server::new(WebSocket::new(Chat::default()))
        .workers(2)
        .bind("127.0.0.1:0")
        .unwrap();
    let (addr, handle) = (listening.local_addr(), listening.handle());
    let server = std::thread::spawn(move || listening.run());
    let (zero, one) = on_both(addr, 3);
    handle.shutdown();
    for (mut c, _) in zero.into_iter().chain(one) {
        let frame = c.read_frame();
        assert_eq!(frame.close_code(), Some(1001));
    }
    server
        .join()
        .unwrap()
        .expect("run returns once every worker stopped");
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "no longer listening"
    );
}

/// Relays every message to everyone but its sender.
#[derive(Default)]
struct Relay {
    clients: ConnSet,
}

impl Component for Relay {
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        self.clients.insert(conn);
        conn.send(format!("you are {}", conn.id().to_raw()))
    }
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        self.clients.except(from).send(msg)
    }
    fn on_close(&mut self, conn: &Conn) -> impl IntoCommands {
        self.clients.remove(conn);
    }
}

/// A reader that never reads, on each worker in turn, under each policy: it is closed
/// (1008) or its messages are dropped, and a reader on the other worker gets everything.
#[test]
fn overflow_policies_hold_on_each_worker() {
    for policy in [Overflow::Close, Overflow::Drop] {
        for stalled_on in 0..2 {
            let config = Config::default()
                .output_budget(256 << 10)
                .slow_reader_timeout(Duration::from_millis(500))
                .overflow(policy);
            let server = Server::new(WebSocket::new(Relay::default()))
                .config(config)
                .workers(2);
            let (addr, handle) = suite::run(server);
            let (zero, one) = on_both(addr, 2);
            let (mut mine, mut other) = if stalled_on == 0 {
                (zero, one)
            } else {
                (one, zero)
            };
            let (mut stalled, _) = mine.remove(0);
            let (mut reader, _) = other.remove(0);
            let (mut sender, _) = other.remove(0);
            drop(mine);
            const MESSAGES: usize = 1500; // 24 MiB to each reader
            let payload = vec![b'x'; 16 << 10];
            // The reader keeps up (within 8 messages, half its budget): under `Drop` a
            // reader behind by more than its budget loses messages too.
            let (got, progress) = std::sync::mpsc::channel();
            let reading = std::thread::spawn(move || {
                for i in 0..MESSAGES {
                    assert_eq!(reader.read_frame().payload.len(), 16 << 10, "message {i}");
                    let _ = got.send(i + 1);
                }
            });
            let mut read = 0;
            for i in 0..MESSAGES {
                while read + 8 < i {
                    read = progress
                        .recv_timeout(Duration::from_secs(10))
                        .expect("the reader reads");
                }
                sender.send_frame(true, 2, &payload);
            }
            reading
                .join()
                .expect("the reading client got every message");
            let stats = handle.stats();
            match policy {
                Overflow::Close => {
                    stalled
                        .stream
                        .set_read_timeout(Some(Duration::from_secs(10)))
                        .unwrap();
                    let code = (0..MESSAGES)
                        .map(|_| stalled.read_frame())
                        .find(|f| f.opcode == 8)
                        .and_then(|f| f.close_code());
                    assert_eq!(code, Some(1008), "worker {stalled_on}");
                    wait_until("the close counted", || handle.stats().slow_closed == 1);
                }
                _ => assert!(stats.dropped_messages > 0, "worker {stalled_on}: {stats:?}"),
            }
            handle.shutdown();
        }
    }
}

/// `examples/chat` honours `RATCHET_WORKERS`: on two workers, its clients (spread over
/// both) see each other join and talk, and its threads are there.
#[test]
fn the_chat_example_runs_on_the_workers_it_is_told() {
    let chat = suite::Example::start_with("chat", &[("RATCHET_WORKERS", "2")]);
    let addr = chat.addr();
    let mut clients: Vec<RawClient> = Vec::new();
    for i in 0..6 {
        let mut c = RawClient::open(addr, &format!("/chat?name=u{i}"));
        let welcome = String::from_utf8(c.read_frame().payload).unwrap();
        assert!(welcome.contains(r#""type":"welcome""#), "{welcome}");
        for (j, earlier) in clients.iter_mut().enumerate() {
            let joined = String::from_utf8(earlier.read_frame().payload).unwrap();
            assert!(
                joined.contains(&format!(r#""name":"u{i}""#)),
                "u{j} heard {joined}"
            );
        }
        clients.push(c);
    }
    clients[5].send_text("hello from the last");
    for c in &mut clients[..5] {
        let said = String::from_utf8(c.read_frame().payload).unwrap();
        assert!(said.contains("hello from the last"), "{said}");
    }
    let pid = chat.child.id();
    let threads = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
        .map(|t| std::fs::read_to_string(t.path().join("comm")).unwrap_or_default())
        .collect::<Vec<_>>();
    assert!(
        threads.iter().any(|t| t.trim() == "ratchet-app")
            && threads.iter().any(|t| t.trim() == "ratchet-w1"),
        "{threads:?}"
    );
}

/// The Redis bridge lives on the app thread: a push from Redis reaches the topic's
/// subscribers on both workers, and what they publish reaches Redis.
#[test]
fn the_redis_bridge_reaches_both_workers() {
    let Some(redis) = suite::RedisServer::start() else {
        return;
    };
    let bridge = ratchet::cluster::RedisBridge::new(redis.url());
    let status = bridge.status();
    let (addr, _handle) = suite::run(
        Server::new(WebSocket::new(Rooms::default()))
            .bridge(bridge)
            .workers(2),
    );
    wait_until("the bridge", || status.is_subscribed());
    let (mut zero, mut one) = on_both(addr, 1);
    for (c, _) in zero.iter_mut().chain(one.iter_mut()) {
        c.send_text("join news");
        c.expect_text("in news");
    }
    wait_until("the push subscription", || {
        redis.subscribers("ratchet:push:news") == Some(1)
    });
    let told = redis.run(&[b"PUBLISH", b"ratchet:push:news", b"from redis"]);
    assert_eq!(told.as_deref(), Some(":1"), "one process subscribed");
    for (c, _) in zero.iter_mut().chain(one.iter_mut()) {
        c.expect_text("from redis");
    }
}

/// One connection pipelines a burst of messages: each is handled on the app thread in
/// order, its input waiting meanwhile, and every reply comes back in order.
#[test]
fn a_pipelined_burst_on_one_connection_is_answered_in_order() {
    struct Echo;
    impl Component for Echo {
        fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
            from.send(msg)
        }
    }
    let (addr, handle) = suite::run(Server::new(WebSocket::new(Echo)).workers(2));
    let mut clients: Vec<RawClient> = (0..4).map(|_| RawClient::open(addr, "/")).collect();
    const N: usize = 3000;
    for c in &mut clients {
        let burst: Vec<u8> = (0..N)
            .flat_map(|i| suite::client_frame(true, 1, format!("m{i}").as_bytes()))
            .collect();
        c.write(&burst);
    }
    for c in &mut clients {
        for i in 0..N {
            c.expect_text(&format!("m{i}"));
        }
    }
    handle.shutdown();
}

/// A client in many rooms answers, one message at a time, what it hears in each, while
/// the answers come back to it too: every answer is carried out.
#[test]
fn a_busy_responder_loses_nothing() {
    let (addr, handle) = suite::run(Server::new(WebSocket::new(Rooms::default())).workers(2));
    const N: usize = 300;
    let (mut zero, mut one) = on_both(addr, 1);
    let (mut asker, _) = zero.remove(0);
    let (mut responder, _) = one.remove(0);
    for i in 0..N {
        responder.send_text(&format!("join t{i}"));
        responder.expect_text(&format!("in t{i}"));
    }
    asker.send_text("join answers");
    asker.expect_text("in answers");
    let answering = std::thread::spawn(move || {
        let mut answered = 0;
        while answered < N {
            let frame = responder
                .read_frame_within(Duration::from_secs(10))
                .expect("asked");
            let text = String::from_utf8(frame.payload).unwrap();
            if let Some(i) = text.strip_prefix("ask:") {
                responder.send_text(&format!("say answers reply:{i}"));
                answered += 1;
            }
        }
        responder
    });
    for i in 0..N {
        asker.send_text(&format!("say t{i} ask:{i}"));
    }
    for i in 0..N {
        asker.expect_text(&format!("reply:{i}"));
    }
    let _responder = answering.join().unwrap();
    handle.shutdown();
}

/// A client that pipelines messages and resets its connection at once (it leaves its
/// own echoes unread): every message it sent before the reset is still handled.
#[test]
fn what_a_client_sent_before_resetting_is_handled() {
    let (addr, handle) = suite::run(Server::new(WebSocket::new(Rooms::default())).workers(2));
    let (mut zero, mut one) = on_both(addr, 1);
    let (mut listener, _) = zero.remove(0);
    let (mut talker, _) = one.remove(0);
    for c in [&mut listener, &mut talker] {
        c.send_text("join room");
        c.expect_text("in room");
    }
    const N: usize = 500;
    let burst: Vec<u8> = (0..N)
        .flat_map(|i| suite::client_frame(true, 1, format!("say room m{i}").as_bytes()))
        .collect();
    talker.write(&burst);
    std::thread::sleep(Duration::from_millis(20)); // its echoes start coming back unread
    drop(talker); // unread data: the kernel resets the connection
    for i in 0..N {
        listener.expect_text(&format!("m{i}"));
    }
    handle.shutdown();
}
