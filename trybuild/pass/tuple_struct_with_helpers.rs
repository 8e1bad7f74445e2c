use ratchet::app::App;
use ratchet::prelude::*;

#[ratchet::app(bind = "localhost:8080", main = false)]
#[derive(Default)]
pub struct Counter(u64);

#[ratchet::handlers]
impl Counter {
    fn count(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }

    fn on_message(&mut self, from: &Conn, _msg: Message) -> Command {
        let n = self.count();
        from.send(n.to_string())
    }
}

fn main() {
    assert_eq!(<Counter as App>::NAME, "Counter");
    let _protocol: WebSocket<Counter> = Counter::default().into_protocol();
}
