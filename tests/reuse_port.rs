//! A listening socket per worker (`Server::reuse_port`): the kernel spreads the
//! connections over the workers' sockets, the application still sees them all as one,
//! and the address stays the server's own. Without it, one socket for all.

use ratchet::{Commands, Component, Conn, ConnSet, IntoCommands, Message, Server, WebSocket};
use std::collections::HashSet;
use std::io::ErrorKind;
use std::net::SocketAddr;
use suite::RawClient;

/// Tells each client its connection's raw id; a message goes to everyone.
#[derive(Default)]
struct Chat {
    clients: ConnSet,
}

impl Component for Chat {
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        self.clients.insert(conn);
        conn.send(format!("{}", conn.id().to_raw()))
    }
    fn on_message(&mut self, _from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        Commands::from(self.clients.send(msg))
    }
    fn on_close(&mut self, conn: &Conn) -> impl IntoCommands {
        self.clients.remove(conn);
    }
}

fn chat() -> WebSocket<Chat> {
    WebSocket::new(Chat::default())
}

/// How many sockets listen on `addr`'s port, by the kernel's table (`/proc/net/tcp`:
/// the local address's port in hex after a colon, state 0A for listening).
fn listening_on(addr: SocketAddr) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let port = format!(":{:04X}", addr.port());
    table
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() > 3 && f[1].ends_with(&port) && f[3] == "0A")
        .count()
}

#[test]
fn each_worker_accepts_on_a_socket_of_its_own_and_the_app_sees_every_client() {
    let (addr, handle) = suite::run(Server::new(chat()).workers(2).reuse_port(true));
    assert_eq!(listening_on(addr), 2);
    // The kernel picks a socket by the connection's addresses: open until both hold some.
    let mut clients = Vec::new();
    let mut workers = HashSet::new();
    while clients.len() < 10 || workers.len() < 2 {
        assert!(clients.len() < 200, "one socket took every connection");
        let mut c = RawClient::open(addr, "/");
        let id: u64 = String::from_utf8(c.read_frame().payload)
            .unwrap()
            .parse()
            .unwrap();
        workers.insert((id & ((1 << 20) - 1)) % 2);
        clients.push(c);
    }
    clients[0].send_text("all of you");
    for c in &mut clients {
        c.expect_text("all of you");
    }
    // Another server cannot take the address, whether it asks to share it or not.
    for reuse_port in [false, true] {
        let another = Server::new(chat()).workers(2).reuse_port(reuse_port);
        let refused = another.bind(addr).unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::AddrInUse, "{refused}");
    }
    handle.shutdown();
}

#[test]
fn by_default_the_workers_share_one_socket_that_no_one_else_joins() {
    let (addr, handle) = suite::run(Server::new(chat()).workers(2));
    assert_eq!(listening_on(addr), 1);
    let refused = Server::new(chat())
        .workers(2)
        .reuse_port(true)
        .bind(addr)
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::AddrInUse, "{refused}");
    let mut c = RawClient::open(addr, "/");
    c.read_frame();
    c.send_text("still mine");
    c.expect_text("still mine");
    handle.shutdown();
}

/// A generated `main` takes `RATCHET_REUSE_PORT` (over the attribute's `reuse_port`):
/// `examples/chat` on two workers listens on a socket each with `1`, one with `0`, and
/// refuses to start with anything else.
#[test]
fn the_chat_example_listens_as_it_is_told() {
    for (value, sockets) in [("1", 2), ("0", 1)] {
        let env = [("RATCHET_WORKERS", "2"), ("RATCHET_REUSE_PORT", value)];
        let chat = suite::Example::start_with("chat", &env);
        assert_eq!(
            listening_on(chat.addr()),
            sockets,
            "RATCHET_REUSE_PORT={value}"
        );
        let mut c = RawClient::open(chat.addr(), "/chat?name=one");
        let welcome = String::from_utf8(c.read_frame().payload).unwrap();
        assert!(welcome.contains(r#""type":"welcome""#), "{welcome}");
    }
    let refused = std::process::Command::new(suite::example("chat"))
        .args(["--bind", "127.0.0.1:0"])
        .env("RATCHET_REUSE_PORT", "yes")
        .output()
        .expect("examples/chat is built by cargo test");
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("RATCHET_REUSE_PORT=\"yes\": 1 or 0"),
        "{said}"
    );
}
