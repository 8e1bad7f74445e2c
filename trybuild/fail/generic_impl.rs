use ratchet::prelude::*;

#[ratchet::app(main = false)]
#[derive(Default)]
pub struct Chat<T> {
    clients: ConnSet,
    extra: T,
}

#[ratchet::handlers]
impl<T> Chat<T> {
    fn on_open(&mut self, conn: &Conn) {
        self.clients.insert(conn);
    }
}

fn main() {}
