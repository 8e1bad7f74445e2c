#[ratchet::app(protocol = "websocket")]
union Chat {
    a: u32,
    b: f32,
}
