//! What the handshake decides before the application hears of a connection:
//! subprotocols (`Sec-WebSocket-Protocol`) and allowed origins.

use ratchet::websocket::Config;
use ratchet::{Commands, Component, Conn, Message, WebSocket};
use std::sync::{Arc, Mutex};
use suite::{LineClient, RawClient};

/// Says which subprotocol each connection speaks, and counts openings.
#[derive(Default, Clone)]
struct Tell {
    opened: Arc<Mutex<usize>>,
}

impl Component for Tell {
    fn on_open(&mut self, conn: &Conn) -> Commands {
        *self.opened.lock().unwrap() += 1;
        conn.send(format!(
            "speaking {}",
            conn.subprotocol().unwrap_or("nothing")
        ))
        .into()
    }
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> Commands {
        from.send(msg).into()
    }
}

fn head_with(addr: std::net::SocketAddr, extra: &str) -> (String, String) {
    let mut c = RawClient::connect(addr);
    c.write(
        format!(
            "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
        )
        .as_bytes(),
    );
    c.read_response()
}

#[test]
fn a_real_client_offering_v2_then_v1_gets_the_one_the_app_speaks() {
    if !suite::have_python_client() {
        return;
    }
    let addr = suite::serve(WebSocket::with_config(
        Tell::default(),
        Config::default().subprotocols(["v1"]),
    ));
    let script = suite::root().join("tests/clients/ws_client.py");
    let url = format!("ws://{addr}/");
    let mut client = LineClient::start(
        "websockets",
        "python3",
        &[script.to_str().unwrap(), &url, "--subprotocols", "v2,v1"],
    );
    client.expect("proto v1");
    client.expect("recv speaking v1");
}

#[test]
fn the_clients_first_supported_offer_wins_and_none_in_common_is_allowed_unless_required() {
    let addr = suite::serve(WebSocket::with_config(
        Tell::default(),
        Config::default().subprotocols(["v1", "v2"]),
    ));
    let (head, _) = head_with(
        addr,
        "Sec-WebSocket-Protocol: v3, v2\r\nSec-WebSocket-Protocol: v1\r\n",
    );
    assert!(head.contains("Sec-WebSocket-Protocol: v2\r\n"), "{head}");
    let (head, _) = head_with(addr, "Sec-WebSocket-Protocol: chat.example\r\n");
    assert!(
        head.starts_with("HTTP/1.1 101 ") && !head.contains("Sec-WebSocket-Protocol"),
        "{head}"
    );

    let strict = Config::default()
        .subprotocols(["v1"])
        .require_subprotocol(true);
    let addr = suite::serve(WebSocket::with_config(Tell::default(), strict));
    let (head, body) = head_with(addr, "Sec-WebSocket-Protocol: v2\r\n");
    assert!(head.starts_with("HTTP/1.1 400 "), "{head}");
    assert!(body.contains("v1"), "says what it speaks: {body}");
    let (head, _) = head_with(addr, "Sec-WebSocket-Protocol: v1\r\n");
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
}

#[test]
fn a_disallowed_origin_gets_403_and_no_on_open() {
    let app = Tell::default();
    let config = Config::default().allowed_origins(["https://chat.example"]);
    let addr = suite::serve(WebSocket::with_config(app.clone(), config));
    let (head, body) = head_with(addr, "Origin: https://evil.example\r\n");
    assert!(head.starts_with("HTTP/1.1 403 "), "{head}");
    assert!(body.contains("evil.example"), "{body}");
    let (head, _) = head_with(addr, "");
    assert!(
        head.starts_with("HTTP/1.1 403 "),
        "no Origin at all: {head}"
    );
    // HyBi-07/08 clients send Sec-WebSocket-Origin.
    let (head, _) = head_with(addr, "Sec-WebSocket-Origin: https://evil.example\r\n");
    assert!(head.starts_with("HTTP/1.1 403 "), "{head}");
    assert_eq!(
        *app.opened.lock().unwrap(),
        0,
        "the application never heard of them"
    );

    let (head, _) = head_with(addr, "Origin: https://chat.example\r\n");
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
}
