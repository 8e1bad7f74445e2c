use ratchet::app::App;
use ratchet::prelude::*;

#[ratchet::app(protocol = "websocket", workers = 2, reuse_port = true, main = false)]
#[derive(Default)]
pub struct Chat {
    clients: ConnSet,
}

#[ratchet::handlers]
impl Chat {
    fn on_open(&mut self, conn: &Conn) -> Commands {
        self.clients.insert(conn);
        Commands::none()
    }
    fn on_message(&mut self, _from: &Conn, msg: &str) -> Command {
        self.clients.send(msg)
    }
}

#[ratchet::app(protocol = "line", workers = "auto", main = false)]
#[derive(Default)]
pub struct Everywhere;

#[ratchet::handlers]
impl Everywhere {
    fn on_message(&mut self, from: &Conn, msg: &str) -> Command {
        from.send(msg)
    }
}

fn main() {
    assert_eq!(Chat::WORKERS, 2);
    assert_eq!(Everywhere::WORKERS, 0, "one per core");
    assert!(Chat::REUSE_PORT);
    assert!(!Everywhere::REUSE_PORT, "one socket they share by default");
    // The stack a generated main serves can be served by workers by hand too.
    let server = Server::new(Chat::default().into_protocol())
        .workers(Chat::WORKERS)
        .reuse_port(Chat::REUSE_PORT)
        .bind("127.0.0.1:0")
        .unwrap();
    assert_eq!(server.handle().stats().connections, 0);
}
