use ratchet::prelude::*;

#[ratchet::app(main = false)]
#[derive(Default)]
pub struct Chat;

#[ratchet::handlers]
impl Chat {
    fn on_open(&self, conn: &Conn) -> Command {
        conn.send("hello")
    }

    fn on_message(&self, from: &Conn, msg: Payload) -> Command {
        from.send(msg)
    }
}

fn main() {}
