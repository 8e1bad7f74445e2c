use ratchet::prelude::*;

#[ratchet::app(protocol = "websocket")]
pub struct Chat {
    clients: ConnSet,
}

#[ratchet::handlers]
impl Default for Chat {
    fn default() -> Self {
        Chat { clients: ConnSet::new() }
    }
}
