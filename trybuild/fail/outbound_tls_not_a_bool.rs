use ratchet::prelude::*;

#[ratchet::app(outbound_tls = "yes")]
#[derive(Default)]
pub struct Relay;

#[ratchet::handlers]
impl Relay {
    fn on_message(&mut self, from: &Conn, msg: &str) -> Command {
        from.send(msg)
    }
}
