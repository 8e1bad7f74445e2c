use ratchet::prelude::*;

#[ratchet::app(redis = "redis://127.0.0.1/", session = "php_serialise")]
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
