use ratchet::prelude::*;

#[ratchet::app(protocol = "websocket")]
#[derive(Default)]
pub struct Chat;

#[ratchet::handlers]
impl Chat {
    fn on_message(&mut self, from: &mut Conn, msg: &str) -> Command {
        from.send(msg)
    }
}
