//! Connecting out (`Command::connect`): outbound connections made by the same loop that
//! serves, against this project's own server, with the failures an application hears.

#[allow(dead_code)]
#[path = "../examples/echo.rs"]
mod echo;

use ratchet::client::{Backoff, Connect, ConnectFailure};
use ratchet::prelude::*;
use ratchet::websocket::{Config, Deflate};
use std::sync::mpsc::Receiver;
use std::time::Duration;
use suite::{Heard, Probe};

fn probe(connects: Vec<(u64, Connect)>, script: Vec<Payload>) -> (Receiver<Heard>, Handle) {
    Probe::serve(connects, script)
}

fn next(rx: &Receiver<Heard>) -> Heard {
    suite::next_heard(rx)
}

#[test]
fn an_outbound_connection_opens_sends_receives_and_is_told_apart() {
    let upstream = suite::serve(echo::protocol());
    let small = Payload::text("hello");
    let big = Payload::binary(vec![7u8; 3 << 20]);
    let (rx, handle) = probe(
        vec![(7, Connect::new(format!("ws://{upstream}/feed")))],
        vec![small.clone(), big.clone(), Payload::text("")],
    );
    assert_eq!(next(&rx), Heard::Open(7, None));
    assert_eq!(next(&rx), Heard::Message(7, small));
    assert_eq!(next(&rx), Heard::Message(7, big));
    assert_eq!(next(&rx), Heard::Message(7, Payload::text("")));
    handle.shutdown();
    assert_eq!(next(&rx), Heard::Close(7));
}

#[test]
fn compression_and_subprotocols_are_offered_and_agreed() {
    let deflate = Deflate::default().threshold(0);
    let config = Config::default()
        .max_message_size(16 << 20)
        .deflate(deflate)
        .subprotocols(["v2", "v1"]);
    let upstream = suite::serve(WebSocket::with_config(echo::Echo, config));
    let text = Payload::text("compressible ".repeat(10_000));
    let connect = Connect::new(format!("ws://{upstream}/"))
        .subprotocol("v1")
        .deflate(Deflate::default().threshold(0));
    let (rx, _handle) = probe(vec![(1, connect)], vec![text.clone()]);
    assert_eq!(next(&rx), Heard::Open(1, Some("v1".into())));
    assert_eq!(next(&rx), Heard::Message(1, text));
}

#[test]
fn a_refused_connection_is_retried_with_backoff_then_given_up() {
    let closed = suite::free_port();
    let backoff = Backoff::default()
        .initial(Duration::from_millis(20))
        .max_attempts(Some(3));
    let connect = Connect::new(format!("ws://127.0.0.1:{closed}/")).reconnect(backoff);
    let (rx, _handle) = probe(vec![(3, connect)], vec![]);
    for attempt in 1..=3 {
        match next(&rx) {
            Heard::Failed(3, ConnectFailure::Refused, n, retry_in) => {
                assert_eq!(n, attempt);
                assert_eq!(retry_in.is_some(), attempt < 3, "attempt {attempt}");
            }
            other => panic!("attempt {attempt}: {other:?}"),
        }
    }
    assert!(
        rx.recv_timeout(Duration::from_millis(500)).is_err(),
        "no fourth attempt"
    );
}

#[test]
fn a_refused_upgrade_a_bad_url_and_an_unknown_host_are_reported_with_why() {
    struct Closed;
    impl Component for Closed {
        fn on_request(&mut self, _: &Conn) -> Door {
            Refuse::forbidden("no").into()
        }
        fn on_message(&mut self, _: &Conn, _: Message<'_>) -> impl IntoCommands {}
    }
    let upstream = suite::serve(WebSocket::new(Closed));
    let connects = vec![
        (1, Connect::new(format!("ws://{upstream}/"))),
        (2, Connect::new("ftp://example.com/")),
        (3, Connect::new(format!("wss://{upstream}/"))),
        (4, Connect::new("ws://no-such-host.invalid/")),
    ];
    // Without a TLS layer.
    let (probe, rx) = Probe::new(connects, vec![]);
    let _ = suite::serve_handle(WebSocket::new(probe));
    let mut heard: Vec<Heard> = (0..4).map(|_| next(&rx)).collect();
    heard.sort_by_key(|h| match h {
        Heard::Failed(k, ..) => *k,
        _ => 0,
    });
    assert!(
        matches!(
            &heard[0],
            Heard::Failed(1, ConnectFailure::Status(403), 1, None)
        ),
        "{heard:?}"
    );
    assert!(
        matches!(
            &heard[1],
            Heard::Failed(2, ConnectFailure::InvalidUrl(_), 1, None)
        ),
        "{heard:?}"
    );
    // wss:// without a TLS layer: said so, not attempted in plain text.
    assert!(
        matches!(
            &heard[2],
            Heard::Failed(3, ConnectFailure::Unsupported(_), 1, None)
        ),
        "{heard:?}"
    );
    // Resolved off the loop, and reported.
    assert!(
        matches!(&heard[3], Heard::Failed(4, ConnectFailure::Dns(_), 1, None)),
        "{heard:?}"
    );
}

#[test]
fn a_tls_failure_is_reported_as_one() {
    // wss:// to a server that speaks plain text: the TLS handshake fails.
    let upstream = suite::serve(echo::protocol());
    let (rx, _handle) = probe(
        vec![(5, Connect::new(format!("wss://{upstream}/")))],
        vec![],
    );
    match next(&rx) {
        Heard::Failed(5, ConnectFailure::Tls(why), 1, None) => assert!(!why.is_empty()),
        other => panic!("{other:?}"),
    }
}
