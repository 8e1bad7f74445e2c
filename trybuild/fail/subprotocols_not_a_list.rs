#[ratchet::app(subprotocols = "v1")]
#[derive(Default)]
pub struct Chat;
