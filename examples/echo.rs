//! Echoes every message back to its sender, in its own protocol version.
//!
//! The conformance target: `cargo run --release --example echo -- --bind 127.0.0.1:9001`.

use ratchet::prelude::*;

pub struct Echo;

impl Component for Echo {
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> Commands {
        from.send(msg).into()
    }
}

fn main() -> std::io::Result<()> {
    let server = Server::new(WebSocket::new(Echo))
        .bind(ratchet::cli::bind_address("127.0.0.1:8080"))?
        .shutdown_on_signals()?;
    println!("echo listening on ws://{}", server.local_addr());
    server.run()
}
