use ratchet::prelude::*;

#[ratchet::app(workers = 2, reuse_port = "yes")]
#[derive(Default)]
pub struct Chat;

#[ratchet::handlers]
impl Chat {
    fn on_message(&mut self, from: &Conn, msg: &str) -> Command {
        from.send(msg)
    }
}
