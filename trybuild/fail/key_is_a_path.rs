#[ratchet::app(ratchet::protocol = "websocket")]
#[derive(Default)]
pub struct Chat;
