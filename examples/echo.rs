//! Echoes every message back to its sender, in its own protocol version, compressed with
//! permessage-deflate for clients that offer it.
//!
//! The conformance target: `cargo run --release --example echo -- --bind 127.0.0.1:9001`.

use ratchet::prelude::*;
use ratchet::websocket::{Config, Deflate};

pub struct Echo;

impl Component for Echo {
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        from.send(msg)
    }
}

/// The echo server's decorator stack: WebSocket with compression on for every message,
/// even those under the default threshold, so that conformance runs exercise it at every
/// size; and messages up to 16 MiB (the default is 1 MiB), the largest the conformance
/// suite sends.
pub fn protocol() -> WebSocket<Echo> {
    let deflate = Deflate::default().threshold(0);
    let config = Config::default()
        .max_message_size(16 << 20)
        .deflate(deflate);
    WebSocket::with_config(Echo, config)
}

fn main() -> std::io::Result<()> {
    let server = Server::new(protocol())
        .bind(ratchet::cli::bind_address("127.0.0.1:8080"))?
        .shutdown_on_signals()?;
    println!("echo listening on ws://{}", server.local_addr());
    server.run()
}
