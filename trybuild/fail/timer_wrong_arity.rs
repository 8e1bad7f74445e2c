use ratchet::prelude::*;

#[ratchet::app(protocol = "websocket")]
#[derive(Default)]
pub struct Clock;

#[ratchet::handlers]
impl Clock {
    fn on_timer(&mut self, conn: &Conn, key: u64) {
        let _ = (conn, key);
    }
}
