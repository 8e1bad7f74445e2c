use ratchet::prelude::*;

#[ratchet::app(conn_state = "Player")]
#[derive(Default)]
pub struct Game;

#[ratchet::handlers]
impl Game {
    fn on_message(&mut self, from: &Conn, msg: &str) -> Command {
        from.send(msg)
    }
}
