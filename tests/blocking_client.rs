//! `ratchet::client::connect`: the blocking client, on the same codec as the server,
//! against this project's server over `ws://` (with and without compression) and
//! `wss://`.

#[allow(dead_code)]
#[path = "../examples/echo.rs"]
mod echo;

use ratchet::client::{Connect, Socket};
use ratchet::message::Payload;
use ratchet::tls::{Tls, TlsCertificates};
use ratchet::websocket::Deflate;
use ratchet::CloseCode;

fn exchange(socket: &mut Socket) {
    let script = [
        Payload::text("hello"),
        Payload::text(""),
        Payload::binary(vec![1u8, 2, 3]),
        Payload::binary(
            (0..3u32 << 20)
                .map(|i| (i % 251) as u8)
                .collect::<Vec<u8>>(),
        ),
    ];
    for msg in script {
        socket.send(msg.clone()).expect("send");
        let back = socket
            .recv()
            .expect("recv")
            .expect("a message, not the end");
        assert!(back == msg, "{} B came back as {} B", msg.len(), back.len());
    }
    socket.close(CloseCode::Normal, "done").expect("close");
    assert_eq!(socket.recv().expect("after the close"), None);
}

#[test]
fn plain_and_compressed() {
    let addr = suite::serve(echo::protocol());
    let mut plain = ratchet::client::connect(&format!("ws://{addr}/")).expect("connect");
    exchange(&mut plain);
    let offer = Connect::new(format!("ws://{addr}/")).deflate(Deflate::default());
    let mut compressed = Socket::connect(&offer).expect("connect with compression");
    exchange(&mut compressed);
}

#[test]
fn over_tls_with_a_trusted_ca() {
    let ca = suite::TestCa::new("blocking-client");
    let leaf = ca.leaf("localhost", &["localhost"]);
    let certs = TlsCertificates::from_pem_files(&leaf.chain, &leaf.key).expect("certificates");
    let addr = suite::serve(Tls::new(echo::protocol(), certs));
    let url = format!("wss://localhost:{}/", addr.port());
    let untrusted = ratchet::client::connect(&url).expect_err("the public roots do not trust it");
    assert!(untrusted.to_string().contains("certificate"), "{untrusted}");
    let trusting = Connect::new(&url).trust_pem_file(&ca.cert).expect("the CA");
    let mut socket = Socket::connect(&trusting).expect("connect");
    exchange(&mut socket);
}

#[test]
fn a_refused_upgrade_says_its_status() {
    let addr = suite::serve(ratchet::Router::new().route("/chat", echo::protocol()));
    let err = ratchet::client::connect(&format!("ws://{addr}/nothing")).expect_err("404");
    assert!(err.to_string().contains("404"), "{err}");
}
