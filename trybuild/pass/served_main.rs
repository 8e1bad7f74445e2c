//! The generated `main`: it serves (on a free port), and stops when the app asks.

use ratchet::prelude::*;

#[ratchet::app(protocol = "websocket", bind = "127.0.0.1:0", main = true)]
#[derive(Default)]
pub struct Brief;

#[ratchet::handlers]
impl Brief {
    fn on_start(&mut self, handle: &Handle) {
        handle.shutdown();
    }

    fn on_message(&mut self, from: &Conn, msg: &str) -> Command {
        from.send(msg)
    }
}
