//! The WebSocket decorator over real sockets on loopback, with a raw client that sends
//! exactly the bytes each test means.

#[allow(dead_code)]
#[path = "../examples/chat_trait.rs"]
mod chat_trait;

use ratchet::websocket::Config;
use ratchet::IntoCommands;
use ratchet::{Component, Conn, Message, WebSocket};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use suite::{client_frame, RawClient};

struct Echo;

impl Component for Echo {
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        if msg.as_text() == Some("panic") {
            panic!("asked to");
        }
        from.send(msg)
    }
}

fn echo_server(config: Config) -> SocketAddr {
    suite::serve(WebSocket::with_config(Echo, config))
}

const UPGRADE: &str = "GET /echo HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

#[test]
fn handshake_and_frames_split_into_single_bytes() {
    let addr = echo_server(Config::default());
    let mut c = RawClient::connect(addr);
    let mut bytes = UPGRADE.as_bytes().to_vec();
    bytes.extend(client_frame(true, 1, "split €".as_bytes()));
    for b in bytes {
        c.write(&[b]);
        std::thread::sleep(Duration::from_micros(200));
    }
    assert!(c
        .read_head()
        .starts_with("HTTP/1.1 101 Switching Protocols"));
    c.expect_text("split €");
}

#[test]
fn handshake_and_several_frames_in_one_write() {
    let addr = echo_server(Config::default());
    let mut c = RawClient::connect(addr);
    let mut bytes = UPGRADE.as_bytes().to_vec();
    for i in 0..5 {
        bytes.extend(client_frame(true, 1, format!("m{i}").as_bytes()));
    }
    bytes.extend(client_frame(true, 9, b"ping"));
    c.write(&bytes);
    c.read_head();
    let mut texts = Vec::new();
    let mut pong = None;
    while texts.len() < 5 || pong.is_none() {
        let f = c.read_frame();
        match f.opcode {
            1 => texts.push(String::from_utf8(f.payload).unwrap()),
            10 => pong = Some(f.payload),
            other => panic!("unexpected opcode {other}"),
        }
    }
    assert_eq!(texts, ["m0", "m1", "m2", "m3", "m4"]);
    assert_eq!(pong.as_deref(), Some(&b"ping"[..]));
}

#[test]
fn hixie76_handshake_with_key3_split_and_a_message_behind_it() {
    let addr = echo_server(Config::default());
    let mut c = RawClient::connect(addr);
    c.write(b"GET /demo HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nSec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\nUpgrade: WebSocket\r\nSec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\nOrigin: http://example.com\r\n\r\n^n:");
    std::thread::sleep(Duration::from_millis(50));
    c.write(b"ds[4");
    std::thread::sleep(Duration::from_millis(50));
    c.write(b"U\x00hixie\xff");
    let head = c.read_head();
    assert!(
        head.starts_with("HTTP/1.1 101 WebSocket Protocol Handshake\r\n"),
        "{head}"
    );
    assert_eq!(c.read_exact(16), b"8jKS'y:G*Co,Wxa-");
    assert_eq!(c.read_exact(7), b"\x00hixie\xff");
    c.write(&[0xFF, 0x00]);
    assert_eq!(c.read_exact(2), [0xFF, 0x00]);
    assert!(c.closed_within(Duration::from_secs(3)));
}

#[test]
fn refusals_carry_a_status_and_a_reason() {
    let addr = echo_server(Config::default().max_handshake_size(1024));
    let cases: [(&[u8], &str); 5] = [
        (b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", "HTTP/1.1 400 "),
        (b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 99\r\n\r\n", "HTTP/1.1 426 "),
        (b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\nSec-WebSocket-Key1: 123\r\nSec-WebSocket-Key2: 1 2\r\n\r\nabcdefgh", "HTTP/1.1 400 "),
        (b"NOT HTTP AT ALL\r\n\r\n", "HTTP/1.1 400 "),
        (&[b'a'; 2000], "HTTP/1.1 431 "),
    ];
    for (request, status) in cases {
        let mut c = RawClient::connect(addr);
        c.write(request);
        let (head, body) = c.read_response();
        assert!(head.starts_with(status), "{head}");
        assert!(
            !body.trim().is_empty() && body.trim().lines().count() == 1,
            "one-line reason: {body:?}"
        );
        if status.contains("426") {
            assert!(
                head.contains("Sec-WebSocket-Version: 13, 8, 7\r\n"),
                "{head}"
            );
        }
        assert!(
            c.closed_within(Duration::from_secs(3)),
            "closed after {status}"
        );
    }
}

#[test]
fn oversize_message_is_refused_from_its_header() {
    let addr = echo_server(Config::default().max_message_size(1024));
    let mut c = RawClient::open(addr, "/");
    // Announce a 1 GiB frame and send none of it: the answer must not wait for the payload.
    let mut header = vec![0x82, 0x80 | 127];
    header.extend_from_slice(&(1u64 << 30).to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]);
    c.write(&header);
    let close = c.read_frame();
    assert_eq!(close.close_code(), Some(1009));
    assert!(c.closed_within(Duration::from_secs(3)));
}

#[test]
fn invalid_utf8_fails_fast_inside_a_frame() {
    let addr = echo_server(Config::default());
    let mut c = RawClient::open(addr, "/");
    let mut payload = vec![b'a'; 1000];
    payload[10] = 0xC0;
    let frame = client_frame(true, 1, &payload);
    c.write(&frame[..40]); // header and 32 payload bytes; the bad byte is among them
    assert_eq!(c.read_frame().close_code(), Some(1007));
}

#[test]
fn close_handshake_echoes_the_code_and_the_server_closes_tcp() {
    let addr = echo_server(Config::default());
    let mut c = RawClient::open(addr, "/");
    c.send_frame(true, 8, &[0x0F, 0xA0, b'b', b'y', b'e']); // 4000
    let close = c.read_frame();
    assert_eq!(close.close_code(), Some(4000));
    assert!(c.closed_within(Duration::from_secs(3)));
}

#[test]
fn a_panicking_handler_closes_only_its_connection_with_1011() {
    let addr = echo_server(Config::default());
    let mut victim = RawClient::open(addr, "/");
    let mut bystander = RawClient::open(addr, "/");
    victim.send_text("panic");
    assert_eq!(victim.read_frame().close_code(), Some(1011));
    bystander.send_text("still here");
    bystander.expect_text("still here");
    let mut newcomer = RawClient::open(addr, "/");
    newcomer.send_text("and me");
    newcomer.expect_text("and me");
}

#[test]
fn unfinished_handshakes_time_out() {
    let addr = echo_server(Config::default().handshake_timeout(Duration::from_millis(300)));
    let mut c = RawClient::connect(addr);
    c.write(b"GET / HTTP/1.1\r\nHost: h\r\n");
    let start = Instant::now();
    assert!(c.closed_within(Duration::from_secs(5)));
    assert!(
        start.elapsed() >= Duration::from_millis(250),
        "not before the timeout"
    );
}

#[test]
fn a_half_closed_client_still_gets_its_answers() {
    let addr = echo_server(Config::default());
    let mut c = RawClient::connect(addr);
    let mut bytes = UPGRADE.as_bytes().to_vec();
    bytes.extend(client_frame(true, 1, b"then I stop sending"));
    c.write(&bytes);
    c.stream.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(c.read_head().starts_with("HTTP/1.1 101 "));
    c.expect_text("then I stop sending");
    assert!(c.closed_within(Duration::from_secs(3)));

    let mut bad = RawClient::connect(addr);
    bad.write(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    bad.stream.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(bad.read_response().0.starts_with("HTTP/1.1 400 "));
}

#[test]
fn binding_port_zero_reports_the_real_port() {
    let server = ratchet::Server::new(WebSocket::new(Echo))
        .bind("127.0.0.1:0")
        .unwrap();
    assert_ne!(server.local_addr().port(), 0);
}

#[test]
fn a_broadcast_is_framed_once_per_protocol_version() {
    let encodes = Arc::new(AtomicUsize::new(0));
    let chat = suite::CountEncodes {
        inner: WebSocket::new(chat_trait::Chat::new()),
        encodes: encodes.clone(),
    };
    // Counted in one loop: with several workers, each frames once.
    let addr = suite::serve_one_with(chat, ratchet::server::Config::default());
    let mut sender = RawClient::open(addr, "/");
    let mut rfc: Vec<RawClient> = (0..5).map(|_| RawClient::open(addr, "/")).collect();
    let mut hixie = RawClient::connect(addr);
    hixie.write(b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\r\n");
    assert!(hixie
        .read_head()
        .starts_with("HTTP/1.1 101 Web Socket Protocol Handshake"));
    // Every on_open ran before its client read the 101.

    sender.send_text("to everyone");
    for c in &mut rfc {
        c.expect_text("to everyone");
    }
    assert_eq!(hixie.read_exact(13), b"\x00to everyone\xff");
    assert_eq!(
        encodes.load(Ordering::SeqCst),
        2,
        "once for RFC 6455, once for Hixie"
    );
}
