//! Consumes an upstream WebSocket feed and relays it to every browser connected, in one
//! process: `cargo run --example relay -- --upstream wss://feed.example/prices --bind
//! 127.0.0.1:8080`.
//!
//! The upstream connection is made by the same event loop that serves the browsers
//! (`Command::connect`), reconnected with backoff when it drops; what it carries is
//! published to the topic `feed`, to which every browser is subscribed. Messages sent
//! upstream while it is down are not kept, and none is delivered twice: a browser sees
//! the feed in order, with a gap while the upstream was down.

use ratchet::client::{Backoff, Connect};
use ratchet::prelude::*;
use std::time::Duration;

/// The upstream connection's key.
const UPSTREAM: u64 = 1;
/// The browsers' topic.
const FEED: &str = "feed";

/// The relay.
pub struct Relay {
    upstream: Connect,
}

impl Relay {
    /// Relays the feed at `url`, reconnecting from 100 ms to at most 5 s apart.
    pub fn new(url: &str) -> Self {
        let backoff = Backoff::default()
            .initial(Duration::from_millis(100))
            .max(Duration::from_secs(5));
        Relay {
            upstream: Connect::new(url).reconnect(backoff),
        }
    }
}

/// Says what happened to the upstream, one line on stdout each.
fn say(what: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{what}").and_then(|()| out.flush());
}

impl Component for Relay {
    fn on_start(&mut self, _: &Handle) -> impl IntoCommands {
        Command::connect_with(self.upstream.clone(), UPSTREAM)
    }

    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        match conn.outbound() {
            Some(_) => {
                say(format_args!("upstream open"));
                Commands::none()
            }
            None => conn.subscribe(FEED).into(),
        }
    }

    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        // Browsers listen; only the upstream speaks.
        from.outbound().map(|_| Command::publish(FEED, msg))
    }

    fn on_close(&mut self, conn: &Conn) -> impl IntoCommands {
        if conn.outbound().is_some() {
            say(format_args!("upstream closed"));
        }
    }

    fn on_error(&mut self, conn: &Conn, err: Error) -> impl IntoCommands {
        if let (Some(_), Error::Connect(e)) = (conn.outbound(), err) {
            say(format_args!(
                "upstream failed: attempt {} retry_ms {}: {}",
                e.attempt,
                e.retry_in.map_or(-1, |d| d.as_millis() as i64),
                e.failure
            ));
        }
    }
}

/// `--upstream URL` (or `--upstream=URL`) from the arguments, and the rest.
fn upstream_arg() -> (String, Vec<String>) {
    let mut url = "ws://127.0.0.1:9001/".to_owned();
    let mut rest = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.strip_prefix("--upstream") {
            Some("") => url = args.next().unwrap_or_default(),
            Some(value) if value.starts_with('=') => url = value[1..].to_owned(),
            _ => rest.push(arg),
        }
    }
    (url, rest)
}

fn main() -> std::io::Result<()> {
    let (url, rest) = upstream_arg();
    let env = std::env::var("RATCHET_BIND").ok();
    let bind = ratchet::cli::parse_bind(rest, env, "127.0.0.1:8080").unwrap_or_else(|problem| {
        eprintln!("{problem} [--upstream URL]");
        std::process::exit(2);
    });
    // TLS for a wss:// upstream; the browsers connect in plain text here.
    let relay = ratchet::tls::Tls::outbound(WebSocket::new(Relay::new(&url)));
    let server = Server::new(relay).bind(bind)?.shutdown_on_signals()?;
    say(format_args!(
        "relay of {url} listening on ws://{}",
        server.local_addr()
    ));
    server.run()
}
