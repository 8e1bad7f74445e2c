use ratchet::prelude::*;

#[derive(Default)]
pub struct Player;

#[ratchet::app]
#[derive(Default)]
pub struct Game;

#[ratchet::handlers]
impl Game {
    fn on_close(&mut self, _conn: &Conn, _me: &Player) {}
}
