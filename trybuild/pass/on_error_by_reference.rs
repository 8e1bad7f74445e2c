use ratchet::prelude::*;

#[ratchet::app(main = false)]
#[derive(Default)]
pub struct Chat {
    clients: ConnSet,
}

#[ratchet::handlers]
impl Chat {
    fn on_error(&mut self, conn: &Conn, err: &Error) -> Result<(), String> {
        Err(format!("{err} on {}", conn.id()))
    }
}

fn main() {}
