//! Rate limits per connection, through the whole stack on the Simulation's clock: a message
//! over the rate is dropped and reported, or closes the connection with 1008; bytes count
//! beside messages; line connections are held to the same rate; one connection's rate is
//! its own.

use ratchet::line;
use ratchet::server::Config as ServerConfig;
use ratchet::testing::{Client, Simulation};
use ratchet::websocket::Config;
use ratchet::IntoCommands;
use ratchet::{
    Commands, Component, Conn, Error, Line, Message, OverRate, Protocol, Rate, WebSocket,
};
use std::time::Duration;
use suite::{client_frame, server_frames, upgrade_request};

/// Echoes, and says so when it hears of a rate limit.
struct Echo;

impl Component for Echo {
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        from.send(msg)
    }
    fn on_error(&mut self, conn: &Conn, err: Error) -> impl IntoCommands {
        match err {
            Error::RateLimited => conn.send("slow down").into(),
            _ => Commands::none(),
        }
    }
}

fn open<P: Protocol>(sim: &mut Simulation<P>) -> Client {
    let c = sim.connect();
    sim.send(&c, upgrade_request("/", "").as_bytes());
    assert!(sim.take(&c).starts_with(b"HTTP/1.1 101"));
    c
}

/// Sends `text` and returns what came back: texts, and a close code if one came.
fn say<P: Protocol>(sim: &mut Simulation<P>, c: &Client, text: &str) -> (Vec<String>, Option<u16>) {
    sim.send(c, &client_frame(true, 1, text.as_bytes()));
    let frames = server_frames(&sim.take(c)).0;
    let close = frames.iter().find_map(|f| f.close_code());
    let texts = frames
        .iter()
        .filter(|f| f.opcode == 1)
        .map(|f| String::from_utf8(f.payload.clone()).unwrap())
        .collect();
    (texts, close)
}

#[test]
fn over_the_rate_a_message_is_dropped_and_reported() {
    let ws = WebSocket::with_config(Echo, Config::default().rate(Rate::per_second(2)));
    let mut sim = Simulation::new(ws, ServerConfig::default()).unwrap();
    let (a, b) = (open(&mut sim), open(&mut sim));
    assert_eq!(say(&mut sim, &a, "1").0, ["1"]);
    assert_eq!(say(&mut sim, &a, "2").0, ["2"]);
    assert_eq!(say(&mut sim, &a, "3").0, ["slow down"], "the burst is two");
    assert_eq!(say(&mut sim, &b, "x").0, ["x"], "b has its own allowance");
    sim.advance(Duration::from_millis(500));
    assert_eq!(say(&mut sim, &a, "4").0, ["4"], "half a second refills one");
    assert_eq!(say(&mut sim, &a, "5").0, ["slow down"]);
    assert!(!sim.is_closed(&a));
}

#[test]
fn with_close_a_connection_over_the_rate_gets_1008() {
    let rate = Rate::per_minute(60).burst(1).over(OverRate::Close);
    let ws = WebSocket::with_config(Echo, Config::default().rate(rate));
    let mut sim = Simulation::new(ws, ServerConfig::default()).unwrap();
    let a = open(&mut sim);
    assert_eq!(say(&mut sim, &a, "1"), (vec!["1".to_owned()], None));
    assert_eq!(say(&mut sim, &a, "2"), (vec![], Some(1008)));
}

#[test]
fn bytes_count_beside_messages() {
    let rate = Rate::per_second(100).bytes_per_second(1 << 20);
    let config = Config::default().max_message_size(1 << 20).rate(rate);
    let mut sim = Simulation::new(
        WebSocket::with_config(Echo, config),
        ServerConfig::default(),
    )
    .unwrap();
    let a = open(&mut sim);
    let big = "x".repeat(700 << 10);
    assert_eq!(say(&mut sim, &a, &big).0.len(), 1);
    assert_eq!(
        say(&mut sim, &a, &big).0,
        ["slow down"],
        "1.4 MiB in a second is over"
    );
    sim.advance(Duration::from_secs(1));
    assert_eq!(say(&mut sim, &a, &big).0.len(), 1);
}

#[test]
fn a_byte_burst_below_the_largest_message_is_refused_at_assembly() {
    let rate = Rate::per_second(10).bytes_per_second(1000);
    let ws = WebSocket::with_config(Echo, Config::default().rate(rate));
    let err = Simulation::new(ws, ServerConfig::default()).unwrap_err();
    assert!(err.to_string().contains("byte burst"), "{err}");
}

#[test]
fn line_connections_are_held_to_the_rate_too() {
    let rate = Rate::per_second(1);
    let mut sim = Simulation::new(
        Line::with_config(Echo, line::Config::default().rate(rate)),
        ServerConfig::default(),
    )
    .unwrap();
    let c = sim.connect();
    sim.send(&c, b"a\nb\n");
    assert_eq!(sim.take(&c), b"a\nslow down\n");
    sim.advance(Duration::from_secs(1));
    sim.send(&c, b"c\n");
    assert_eq!(sim.take(&c), b"c\n");
}
