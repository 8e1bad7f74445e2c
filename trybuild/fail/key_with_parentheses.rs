#[ratchet::app(protocol("websocket"))]
#[derive(Default)]
pub struct Chat;
