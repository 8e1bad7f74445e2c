use ratchet::prelude::*;

#[ratchet::app]
#[derive(Default)]
pub struct Members;

#[ratchet::handlers]
impl Members {
    fn on_request(&mut self, conn: &Conn) -> bool {
        conn.cookie("token").is_some()
    }

    fn on_message(&mut self, from: &Conn, msg: &str) -> Command {
        from.send(msg)
    }
}
