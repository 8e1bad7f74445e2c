use ratchet::app::App;
use ratchet::prelude::*;

#[ratchet::app(protocol = "websocket", outbound_tls = true, main = false)]
#[derive(Default)]
pub struct Relay;

#[ratchet::handlers]
impl Relay {
    fn on_start(&mut self, _handle: &Handle) -> Command {
        Command::connect("wss://feed.example/", 1)
    }

    fn on_message(&mut self, from: &Conn, msg: &str) -> Command {
        from.send(msg)
    }
}

fn main() {
    const { assert!(Relay::OUTBOUND_TLS) };
    let _protocol: WebSocket<Relay> = Relay::default().into_protocol();
}
