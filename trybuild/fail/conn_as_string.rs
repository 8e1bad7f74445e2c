#[ratchet::app(protocol = "websocket")]
#[derive(Default)]
pub struct Chat;

#[ratchet::handlers]
impl Chat {
    fn on_open(&mut self, conn: &String) {
        let _ = conn;
    }
}
