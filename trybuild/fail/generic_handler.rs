use ratchet::prelude::*;

#[ratchet::app(protocol = "websocket")]
#[derive(Default)]
pub struct Chat {
    clients: ConnSet,
}

#[ratchet::handlers]
impl Chat {
    fn on_message<M>(&mut self, from: &Conn, msg: M) {
        let _ = (from, msg);
    }
}
