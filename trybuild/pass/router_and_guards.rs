use ratchet::prelude::*;

#[ratchet::app(
    protocol = "websocket",
    path = "/chat",
    static_dir = "/",
    origins = ["https://chat.example", "localhost", "http://[::1]:8080"],
    subprotocols = ["chat.v2", "chat.v1"],
    blacklist = ["192.0.2.7", "2001:db8::7"],
    deflate = true,
    main = false
)]
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
    use ratchet::app::App;
    // The attribute built the decorators it names, in their order.
    let _: ratchet::IpBlacklist<
        ratchet::Router<
            ratchet::http::Route<
                ratchet::Static,
                ratchet::http::Route<
                    ratchet::OriginCheck<ratchet::WebSocket<Chat>>,
                    ratchet::http::NoRoute,
                >,
            >,
        >,
    > = Chat::default().into_protocol();
}
