use ratchet::prelude::*;

#[ratchet::app(main = false)]
#[derive(Default)]
pub struct Chat {
    clients: ConnSet,
}

#[ratchet::handlers]
impl Chat {
    fn on_message(&mut self, from: &Conn, msg: Message) -> Vec<Command> {
        vec![from.send(msg), self.clients.except(from).send(msg)]
    }
}

fn main() {}
