//! Clients of every WebSocket generation in one chat, each a real third-party client:
//! Perl's Protocol::WebSocket speaking Hixie-75, Hixie-76 (draft-ietf-hybi-00) and
//! HyBi-10 (version 8), and Python's `websockets` speaking RFC 6455.

#[allow(dead_code)]
#[path = "../examples/chat_trait.rs"]
mod chat_trait;

use ratchet::WebSocket;
use suite::LineClient;

fn perl(addr: std::net::SocketAddr, version: &str) -> LineClient {
    let script = suite::root().join("tests/clients/ws_client.pl");
    let url = format!("ws://{addr}/chat");
    LineClient::start(version, "perl", &[script.to_str().unwrap(), &url, version])
}

fn python(addr: std::net::SocketAddr) -> LineClient {
    let script = suite::root().join("tests/clients/ws_client.py");
    let url = format!("ws://{addr}/chat");
    LineClient::start("websockets", "python3", &[script.to_str().unwrap(), &url])
}

#[test]
fn hixie76_and_rfc6455_clients_hear_each_other() {
    if !(suite::have_perl_client() && suite::have_python_client()) {
        return;
    }
    let addr = suite::serve(WebSocket::new(chat_trait::Chat::new()));
    let mut hixie76 = perl(addr, "draft-ietf-hybi-00");
    let mut rfc6455 = python(addr);

    hixie76.send("hello from Hixie-76 ✓");
    rfc6455.expect("recv hello from Hixie-76 ✓");
    rfc6455.send("hello from RFC 6455 ✓");
    hixie76.expect("recv hello from RFC 6455 ✓");
    // Nobody hears their own message.
    hixie76.expect_silence(std::time::Duration::from_millis(300));
    rfc6455.expect_silence(std::time::Duration::from_millis(10));
}

#[test]
fn every_generation_in_one_chat() {
    if !(suite::have_perl_client() && suite::have_python_client()) {
        return;
    }
    let addr = suite::serve(WebSocket::new(chat_trait::Chat::new()));
    let mut clients = vec![
        perl(addr, "draft-hixie-75"),
        perl(addr, "draft-ietf-hybi-00"),
        perl(addr, "draft-ietf-hybi-10"),
        perl(addr, "draft-ietf-hybi-17"),
        python(addr),
    ];
    for sender in 0..clients.len() {
        let text = format!("message {sender} from client {sender}");
        clients[sender].send(&text);
        for (i, client) in clients.iter_mut().enumerate() {
            if i != sender {
                client.expect(&format!("recv {text}"));
            }
        }
    }
    for client in &mut clients {
        client.expect_silence(std::time::Duration::from_millis(100));
    }
}
