use ratchet::prelude::*;

#[ratchet::app(protocol = "websocket")]
#[derive(Default)]
pub struct Chat {
    clients: ConnSet,
}

#[ratchet::handlers]
impl Chat {
    fn on_message(&mut self, from: &Conn, msg: &str) -> usize {
        let _ = from;
        msg.len()
    }
}
