use ratchet::app::App;
use ratchet::prelude::*;

#[ratchet::app(bind = "[::1]:9000", main = false)]
#[derive(Default)]
pub struct Greeter;

#[ratchet::handlers]
impl Greeter {
    fn on_open(&mut self, conn: &Conn) -> Command {
        conn.send("hi")
    }
}

fn main() {
    assert_eq!(<Greeter as App>::NAME, "Greeter");
    let _protocol: WebSocket<Greeter> = Greeter::default().into_protocol();
}
