use ratchet::prelude::*;

#[derive(Default)]
pub struct Player;
#[derive(Default)]
pub struct Other;

#[ratchet::app(conn_state = Player)]
#[derive(Default)]
pub struct Game;

#[ratchet::handlers]
impl Game {
    fn on_message(&mut self, from: &Conn, _me: &mut Other, msg: &str) -> Command {
        from.send(msg)
    }
}
