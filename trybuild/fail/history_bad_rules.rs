use ratchet::prelude::*;

#[ratchet::app(history = [("chat*", 0, "5m"), ("news", 10, "5 minutes"), ("x", 1)])]
#[derive(Default)]
pub struct Chat;

#[ratchet::handlers]
impl Chat {
    fn on_message(&mut self, from: &Conn, msg: &str) -> Command {
        from.send(msg)
    }
}
