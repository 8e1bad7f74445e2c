use ratchet::prelude::*;

#[derive(Default)]
pub struct Player;
#[derive(Default)]
pub struct Other;

#[ratchet::app]
#[derive(Default)]
pub struct Game;

#[ratchet::handlers]
impl Game {
    fn on_open(&mut self, _conn: &Conn, _me: &mut Player) {}

    fn on_message(&mut self, from: &Conn, _me: &mut Other, msg: &str) -> Command {
        from.send(msg)
    }
}
