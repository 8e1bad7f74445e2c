use ratchet::prelude::*;

#[ratchet::app(protocol = ["websocket", "line"], bind = ["127.0.0.1:8080", "127.0.0.1:2323", "127.0.0.1:9"])]
#[derive(Default)]
pub struct Chat;

#[ratchet::handlers]
impl Chat {
    fn on_message(&mut self, from: &Conn, msg: &str) -> Command {
        from.send(msg)
    }
}
