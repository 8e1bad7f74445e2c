use ratchet::prelude::*;

#[ratchet::app(tls_cert = "certs/chain.pem")]
#[derive(Default)]
pub struct Secure;

#[ratchet::handlers]
impl Secure {
    fn on_message(&mut self, from: &Conn, msg: &str) -> Command {
        from.send(msg)
    }
}
