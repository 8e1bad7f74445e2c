use ratchet::app::App;
use ratchet::prelude::*;

#[derive(Default)]
pub struct Nick(String);

#[ratchet::app(protocol = ["websocket", "line"], bind = ["127.0.0.1:8080", "127.0.0.1:2323"], rate = "5/s, close", main = false)]
#[derive(Default)]
pub struct Lobby {
    here: ConnSet,
}

#[ratchet::handlers]
impl Lobby {
    fn on_open(&mut self, conn: &Conn, me: &mut Nick) {
        me.0 = format!("guest-{}", conn.id());
        self.here.insert(conn);
    }

    fn on_message(&mut self, from: &Conn, me: &mut Nick, msg: &str) -> Command {
        self.here.except(from).send(format!("{}: {msg}", me.0))
    }

    fn on_close(&mut self, conn: &Conn) {
        self.here.remove(conn);
    }
}

fn main() {
    assert_eq!(Lobby::MORE, [("line", "127.0.0.1:2323", "tcp")]);
    let server = Lobby::default()
        .into_server(&["127.0.0.1:0".to_owned()])
        .unwrap()
        .bind("127.0.0.1:0")
        .unwrap();
    assert_eq!(server.local_addrs().len(), 2);
}
