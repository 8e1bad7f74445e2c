use ratchet::prelude::*;

#[ratchet::app(protocol = "websocket")]
#[derive(Default)]
pub struct Chat;

#[ratchet::handlers]
impl Chat {
    unsafe fn on_message(&mut self, from: &Conn, msg: &str) -> Command {
        from.send(msg)
    }
}
