use ratchet::prelude::*;

#[ratchet::app(protocol = "websocket")]
#[derive(Default)]
pub struct Chat;

#[ratchet::handlers]
impl Chat {
    fn on_error(&mut self, conn: &Conn, err: String) -> Command {
        conn.send(err)
    }
}
