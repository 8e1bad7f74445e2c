#[ratchet::app(protocol = "websocket")]
#[derive(Default)]
pub struct Chat;

#[ratchet::handlers]
impl Chat {
    fn on_start(&mut self, handle: &str) {
        let _ = handle;
    }
}
