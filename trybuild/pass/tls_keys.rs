use ratchet::app::App;
use ratchet::prelude::*;

#[ratchet::app(tls_cert = "certs/chain.pem", tls_key = "certs/key.pem", main = false)]
#[derive(Default)]
pub struct Secure;

#[ratchet::handlers]
impl Secure {
    fn on_message(&mut self, from: &Conn, msg: &str) -> Command {
        from.send(msg)
    }
}

fn main() {
    assert_eq!(Secure::TLS, Some(("certs/chain.pem", "certs/key.pem")));
}
