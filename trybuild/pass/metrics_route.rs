use ratchet::app::App;
use ratchet::http::{NoRoute, Route, Router};
use ratchet::metrics::Metrics;
use ratchet::prelude::*;

#[ratchet::app(protocol = "websocket", path = "/chat", metrics = "/metrics", main = false)]
#[derive(Default)]
pub struct Chat {
    clients: ConnSet,
}

#[ratchet::handlers]
impl Chat {
    fn on_message(&mut self, from: &Conn, msg: &str) -> Command {
        self.clients.except(from).send(msg)
    }
}

fn main() {
    // The metrics sit on the socket's router, beside it.
    let _protocol: Router<Route<Metrics, Route<WebSocket<Chat>, NoRoute>>> =
        Chat::default().into_protocol();
}
