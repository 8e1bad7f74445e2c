use ratchet::prelude::*;

#[ratchet::app(protocol = "websocket")]
#[derive(Default)]
pub struct Chat;

#[ratchet::handlers]
impl Chat {
    fn on_message(self: &mut Self, from: &Conn, msg: &str) -> Command {
        from.send(msg)
    }
}
