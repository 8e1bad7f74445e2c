use ratchet::prelude::*;

use ratchet::app::App;

#[ratchet::app(protocol = "line", main = false)]
#[derive(Default)]
pub struct Chat {
    clients: ConnSet,
}

#[ratchet::handlers]
impl Chat {
    fn on_message(&mut self, from: &Conn, msg: Vec<u8>) -> Command {
        from.send(msg)
    }
}

fn main() {
    let server = Server::new(Chat::default().into_protocol()).bind("127.0.0.1:0");
    let _ = server.map(|s| s.local_addr());
}
