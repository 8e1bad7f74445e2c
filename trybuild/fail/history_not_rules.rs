use ratchet::prelude::*;

#[ratchet::app(history = "chat*")]
#[derive(Default)]
pub struct Chat;

#[ratchet::handlers]
impl Chat {
    fn on_message(&mut self, from: &Conn, msg: &str) -> Command {
        from.send(msg)
    }
}
