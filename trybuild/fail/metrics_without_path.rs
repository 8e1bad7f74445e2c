use ratchet::prelude::*;

#[ratchet::app(metrics = "/metrics")]
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
