//! A server of topics bridged through Redis, for the bridge's traffic measurement:
//! a connection to `/t/NAME` joins topic `NAME`; a message `NAME text` publishes `text`
//! to topic `NAME`; `/metrics` serves the server's metrics (the bridge's among them).
//!
//! ```text
//! server-topics --redis redis://127.0.0.1:6379/ [--bind ADDR]
//! ```

use ratchet::cluster::RedisBridge;
use ratchet::metrics::Metrics;
use ratchet::prelude::*;
use ratchet::Router;

struct Topics;

impl Component for Topics {
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        let topic = conn
            .path()
            .strip_prefix("/t/")
            .unwrap_or_default()
            .to_owned();
        (!topic.is_empty()).then(|| conn.subscribe(topic))
    }
    fn on_message(&mut self, _: &Conn, msg: Message<'_>) -> impl IntoCommands {
        let (topic, text) = msg.as_text()?.split_once(' ')?;
        Some(Command::publish(topic.to_owned(), text.to_owned()))
    }
}

fn main() -> std::io::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let redis = match args.iter().position(|a| a == "--redis") {
        Some(at) if at + 1 < args.len() => args.drain(at..at + 2).nth(1).unwrap_or_default(),
        _ => return Err(std::io::Error::other("--redis URL")),
    };
    let addr =
        ratchet::cli::parse_bind(args, None, "127.0.0.1:9003").map_err(std::io::Error::other)?;
    let router = Router::new()
        .route("/t/*", WebSocket::new(Topics))
        .route("/metrics", Metrics::new());
    let server = Server::new(router)
        .bridge(RedisBridge::new(redis))
        .bind(addr)?
        .shutdown_on_signals()?;
    println!("listening on {}", server.local_addr());
    server.run()
}
