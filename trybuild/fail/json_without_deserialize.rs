use ratchet::prelude::*;

pub struct Vote;

#[ratchet::app]
#[derive(Default)]
pub struct Poll;

#[ratchet::handlers]
impl Poll {
    fn on_message(&mut self, _from: &Conn, _vote: Json<Vote>) {}
}
