use ratchet::prelude::*;

#[ratchet::app(protocol = "websocket")]
#[derive(Default)]
pub struct Chat {
    clients: ConnSet,
}

