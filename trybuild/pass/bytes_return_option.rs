use ratchet::prelude::*;

#[ratchet::app(main = false)]
#[derive(Default)]
pub struct Chat {
    clients: ConnSet,
}

#[ratchet::handlers]
impl Chat {
    fn on_message(&mut self, from: &Conn, msg: &[u8]) -> Option<Command> {
        (!msg.is_empty()).then(|| from.send(msg))
    }
}

fn main() {}
