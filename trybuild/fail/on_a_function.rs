#[ratchet::app(protocol = "websocket")]
fn chat() {}
