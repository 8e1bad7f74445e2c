#[ratchet::app(protocol = "websocket")]
enum Chat {
    Lobby,
}
