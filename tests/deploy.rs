//! Deploying without root: a generated `main` serves the socket systemd passes it
//! (`systemd-socket-activate` from the systemd package plays systemd here), ignoring the
//! address it would otherwise bind; and `Server::from_listener` serves a socket bound by
//! someone else.

use ratchet::{Component, Conn, IntoCommands, Message, Server, WebSocket};
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use suite::{have_tool, RawClient};

#[test]
fn a_generated_main_serves_the_socket_systemd_passes() {
    if !have_tool(
        "systemd-socket-activate",
        Command::new("systemd-socket-activate").arg("--help"),
    ) {
        return;
    }
    let port = suite::free_port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    // 192.0.2.1 is no address of this machine: binding it would fail, so serving at all
    // shows the inherited socket was used.
    let mut activator = Command::new("systemd-socket-activate")
        .args(["-l", &addr.to_string()])
        .arg(suite::example("chat"))
        .args(["--bind", "192.0.2.1:80"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    suite::wait_until("the socket bound by the activator", || {
        std::net::TcpStream::connect(addr).is_ok()
    });
    // The first connection starts the program, which takes the socket over.
    let mut client = RawClient::open(addr, "/chat?name=ann");
    client.expect_text(r#"{"here":[],"name":"ann","type":"welcome"}"#);
    let mut banner = String::new();
    BufReader::new(activator.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    assert!(
        banner.contains(&format!("ws://127.0.0.1:{port}/chat")),
        "{banner}"
    );
    drop(client);
    let _ = Command::new("kill")
        .arg(activator.id().to_string())
        .status();
    let _ = activator.wait();
}

struct Echo;

impl Component for Echo {
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        from.send(msg)
    }
}

#[test]
fn a_server_serves_a_listener_bound_elsewhere() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::new(WebSocket::new(Echo))
        .from_listener(listener)
        .unwrap();
    assert_eq!(server.local_addr(), addr);
    std::thread::spawn(move || server.run());
    let mut client = RawClient::open(addr, "/");
    client.send_text("inherited");
    client.expect_text("inherited");
}
