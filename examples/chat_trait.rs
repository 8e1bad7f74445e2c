//! The chat from Ratchet's README, written by hand against the `Component` trait: every
//! message goes to every other connected client, whatever WebSocket version each speaks.
//!
//! `cargo run --example chat_trait`, then connect two clients to ws://127.0.0.1:8080/.

use ratchet::prelude::*;

#[derive(Default)]
pub struct Chat {
    clients: ConnSet,
}

impl Chat {
    pub fn new() -> Self {
        Chat {
            clients: ConnSet::new(),
        }
    }
}

impl Component for Chat {
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        // Store the new connection to send messages to later.
        self.clients.insert(conn);
        println!("New connection! ({})", conn.id());
    }

    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        let others = self.clients.len() - 1;
        println!(
            "Connection {} sending message {:?} to {others} other connection(s)",
            from.id(),
            msg
        );
        // Send to every client but the sender.
        self.clients.except(from).send(msg)
    }

    fn on_close(&mut self, conn: &Conn) -> impl IntoCommands {
        // The connection is closed, remove it, as we can no longer send it messages.
        self.clients.remove(conn);
        println!("Connection {} has disconnected", conn.id());
    }

    fn on_error(&mut self, conn: &Conn, err: Error) -> impl IntoCommands {
        println!("An error has occurred: {err}");
        conn.close()
    }
}

fn main() -> std::io::Result<()> {
    let server = Server::new(WebSocket::new(Chat::new()))
        .bind(ratchet::cli::bind_address("127.0.0.1:8080"))?
        .shutdown_on_signals()?;
    println!("chat listening on ws://{}", server.local_addr());
    server.run()
}
