use ratchet::app::App;
use ratchet::prelude::*;

#[ratchet::app(protocol = "websocket", main = false)]
#[derive(Default)]
pub struct Chat {
    clients: ConnSet,
}

#[ratchet::handlers]
impl Chat {
    fn on_open(&mut self, conn: &Conn) -> Commands {
        self.clients.insert(conn);
        Commands::none().and(conn.send("welcome"))
    }

    fn on_message(&mut self, from: &Conn, msg: &str) -> Commands {
        self.clients.except(from).send(msg).into()
    }

    fn on_close(&mut self, conn: &Conn) {
        self.clients.remove(conn);
    }
}

fn main() {
    assert_eq!(<Chat as App>::NAME, "Chat");
    let _protocol: WebSocket<Chat> = Chat::default().into_protocol();
}
