use ratchet::prelude::*;

#[ratchet::app(protocol = "websocket")]
#[derive(Default)]
pub struct Chat {
    clients: ConnSet,
}

#[ratchet::handlers]
impl Chat {
    fn on_open(conn: &Conn) {
        let _ = conn;
    }
}
