//! A server process of the bridge tests: topics joined and published to by text commands,
//! bridged to a Redis (a server or a cluster).

use crate::RawClient;
use ratchet::cluster::{BridgeStatus, RedisBridge};
use ratchet::{Command, Commands, Component, Conn, IntoCommands, Message, Server, WebSocket};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// `join T` subscribes the sender to topic `T`; `T text` publishes `text` to `T`.
pub struct Storm;

impl Component for Storm {
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        let text = msg.as_text().unwrap_or_default();
        if let Some(topic) = text.strip_prefix("join ") {
            return from.subscribe(topic).into();
        }
        match text.split_once(' ') {
            Some((topic, said)) => Command::publish(topic, said).into(),
            None => Commands::none(),
        }
    }
}

/// A server of [`Storm`] bridged to the Redis at `url`, running on its own thread, once
/// its bridge is subscribed.
pub fn bridged(url: &str) -> (SocketAddr, BridgeStatus) {
    let bridge = RedisBridge::new(url);
    let status = bridge.status();
    let server = Server::new(WebSocket::new(Storm))
        .bridge(bridge)
        .workers(crate::test_workers());
    let (addr, _) = crate::run(server);
    crate::wait_until("the bridge to connect", || status.is_subscribed());
    (addr, status)
}

/// The seam between a local join and the Redis subscription: `n` clients of the process
/// at `here` each join their own topic `t<i>` and say at once that they are there; a
/// responder on the process at `there` (in every topic beforehand, once `responder_in`
/// says its subscriptions are in place) answers each in its topic. Asserts that every
/// client hears its answer.
pub fn join_storm(
    here: SocketAddr,
    there: SocketAddr,
    n: usize,
    mut responder_in: impl FnMut() -> bool,
) {
    let mut responder = RawClient::open(there, "/");
    let joins: Vec<u8> = (0..n)
        .flat_map(|i| crate::client_frame(true, 1, format!("join t{i}").as_bytes()))
        .collect();
    responder.write(&joins);
    crate::wait_until("the responder's subscriptions", &mut responder_in);
    let answering = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut answered = 0;
        while answered < n && Instant::now() < deadline {
            let Some(frame) = responder.read_frame_within(Duration::from_secs(5)) else {
                break;
            };
            let text = String::from_utf8(frame.payload).unwrap();
            if let Some(i) = text.strip_prefix("here:") {
                responder.send_text(&format!("t{i} reply:{i}"));
                answered += 1;
            }
        }
        answered
    });
    let mut clients: Vec<RawClient> = (0..n).map(|_| RawClient::open(here, "/")).collect();
    // The storm: every client joins and speaks in the same breath.
    for (i, c) in clients.iter_mut().enumerate() {
        let mut burst = crate::client_frame(true, 1, format!("join t{i}").as_bytes());
        burst.extend(crate::client_frame(
            true,
            1,
            format!("t{i} here:{i}").as_bytes(),
        ));
        c.write(&burst);
    }
    let mut missed = Vec::new();
    for (i, c) in clients.iter_mut().enumerate() {
        c.expect_text(&format!("here:{i}"));
        match c.read_frame_within(Duration::from_secs(10)) {
            Some(frame) if frame.payload == format!("reply:{i}").as_bytes() => {}
            other => missed.push((
                i,
                other.map(|f| String::from_utf8_lossy(&f.payload).into_owned()),
            )),
        }
    }
    assert_eq!(answering.join().unwrap(), n, "the responder heard everyone");
    assert!(
        missed.is_empty(),
        "{} of {n} missed their reply, the first: {:?}",
        missed.len(),
        &missed[..missed.len().min(5)]
    );
}
