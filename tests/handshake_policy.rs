//! What the handshake decides before the application hears of a connection:
//! subprotocols (`Sec-WebSocket-Protocol`), allowed origins ([`OriginCheck`]) and
//! blacklisted addresses ([`IpBlacklist`]).

use ratchet::websocket::Config;
use ratchet::IntoCommands;
use ratchet::{Component, Conn, IpBlacklist, Message, OriginCheck, WebSocket};
use std::io::{ErrorKind, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use suite::{LineClient, RawClient};

/// Says which subprotocol each connection speaks, and counts openings.
#[derive(Default, Clone)]
struct Tell {
    opened: Arc<Mutex<usize>>,
}

impl Component for Tell {
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        *self.opened.lock().unwrap() += 1;
        conn.send(format!(
            "speaking {}",
            conn.subprotocol().unwrap_or("nothing")
        ))
    }
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        from.send(msg)
    }
}

fn head_with(addr: std::net::SocketAddr, extra: &str) -> (String, String) {
    let mut c = RawClient::connect(addr);
    c.write(suite::upgrade_request("/", extra).as_bytes());
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
    let addr = suite::serve(OriginCheck::new(
        WebSocket::new(app.clone()),
        ["https://chat.example", "localhost"],
    ));
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
    // A bare host on the list allows it on any scheme and port.
    let (head, _) = head_with(addr, "Origin: http://localhost:8080\r\n");
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    let (head, _) = head_with(addr, "Origin: http://localhost.evil.example\r\n");
    assert!(head.starts_with("HTTP/1.1 403 "), "{head}");
    assert_eq!(*app.opened.lock().unwrap(), 2);
}

#[test]
fn a_blacklisted_peer_is_dropped_at_accept_and_others_are_served() {
    let app = Tell::default();
    let blocked = "127.0.0.3".parse().unwrap();
    let addr = suite::serve(IpBlacklist::with(WebSocket::new(app.clone()), [blocked]));

    let mut refused = RawClient::connect_from(addr, blocked);
    // The socket is gone before this arrives: no answer, nothing read.
    let _ = refused
        .stream
        .write_all(suite::upgrade_request("/", "").as_bytes());
    refused
        .stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut answer = Vec::new();
    match refused.stream.read_to_end(&mut answer) {
        Ok(_) => {}
        Err(e) => assert_eq!(
            e.kind(),
            ErrorKind::ConnectionReset,
            "dropped, not left open"
        ),
    }
    assert!(answer.is_empty(), "no answer: {answer:?}");

    let mut welcome = RawClient::connect_from(addr, "127.0.0.2".parse().unwrap());
    welcome.write(suite::upgrade_request("/", "").as_bytes());
    assert!(welcome.read_head().starts_with("HTTP/1.1 101 "));
    welcome.expect_text("speaking nothing");
    assert_eq!(
        *app.opened.lock().unwrap(),
        1,
        "only the welcome peer opened"
    );
}
