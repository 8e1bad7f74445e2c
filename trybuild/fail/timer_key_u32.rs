#[ratchet::app(protocol = "websocket")]
#[derive(Default)]
pub struct Clock;

#[ratchet::handlers]
impl Clock {
    fn on_timer(&mut self, key: u32) {
        let _ = key;
    }
}
