//! The chat, with the macro. `cargo run --example chat`, then connect any WebSocket
//! clients (every version at once; compressed for those that offer permessage-deflate)
//! to ws://127.0.0.1:8080/.

use ratchet::prelude::*;

#[ratchet::app(protocol = "websocket", bind = "127.0.0.1:8080", deflate = true)]
#[derive(Default)]
pub struct Chat {
    clients: ConnSet,
}

#[ratchet::handlers]
impl Chat {
    fn on_open(&mut self, conn: &Conn) {
        self.clients.insert(conn);
    }

    fn on_message(&mut self, from: &Conn, msg: Message) -> Command {
        self.clients.except(from).send(msg)
    }

    fn on_close(&mut self, conn: &Conn) {
        self.clients.remove(conn);
    }
}
