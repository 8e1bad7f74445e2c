use ratchet::app::App;
use ratchet::prelude::*;

#[ratchet::app(protocol = "websocket", deflate = true, main = false)]
#[derive(Default)]
pub struct Chat {
    clients: ConnSet,
}

#[ratchet::handlers]
impl Chat {
    fn on_message(&mut self, from: &Conn, msg: &str) -> Command {
        self.clients.except(from).send(msg)
    }
}

fn main() {
    let _protocol: WebSocket<Chat> = Chat::default().into_protocol();
}
