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

#[test]
fn an_application_behind_a_router_or_a_second_listener_connects_out_too() {
    let upstream = suite::serve(echo::protocol());
    let hello = Payload::text("through the router");
    let (probe, rx) = Probe::new(
        vec![(9, Connect::new(format!("ws://{upstream}/")))],
        vec![hello.clone()],
    );
    // The probe is the second route: its connection is routed to it, not by a path.
    let router = ratchet::Router::new()
        .route("/other", WebSocket::new(echo::Echo))
        .route("/probe", WebSocket::new(probe));
    let _ = suite::serve_handle(router);
    assert_eq!(next(&rx), Heard::Open(9, None));
    assert_eq!(next(&rx), Heard::Message(9, hello.clone()));

    let (probe, rx) = Probe::new(
        vec![(10, Connect::new(format!("ws://{upstream}/")))],
        vec![hello.clone()],
    );
    let server = ratchet::Server::new(WebSocket::new(echo::Echo))
        .listen("127.0.0.1:0", ratchet::Line::new(probe))
        .and_then(|s| s.workers(suite::test_workers()).bind("127.0.0.1:0"))
        .expect("two listeners");
    std::thread::spawn(move || server.run());
    // Line has no client role: the attempt is refused, and said so, to the right app.
    match next(&rx) {
        Heard::Failed(10, ConnectFailure::Unsupported(_), 1, None) => {}
        other => panic!("{other:?}"),
    }
    let (probe, rx) = Probe::new(
        vec![(11, Connect::new(format!("ws://{upstream}/")))],
        vec![hello.clone()],
    );
    let server = ratchet::Server::new(ratchet::Line::new(echo::Echo))
        .listen("127.0.0.1:0", WebSocket::new(probe))
        .and_then(|s| s.workers(suite::test_workers()).bind("127.0.0.1:0"))
        .expect("two listeners");
    std::thread::spawn(move || server.run());
    assert_eq!(next(&rx), Heard::Open(11, None));
    assert_eq!(next(&rx), Heard::Message(11, hello));
}

/// Serves the echo at `addr` (port 0 for a free one) with pings every `ping`.
fn echo_at(addr: &str, ping: Option<Duration>) -> (std::net::SocketAddr, Handle) {
    let config = Config::default().ping_interval(ping);
    let server = ratchet::Server::new(WebSocket::with_config(echo::Echo, config))
        .bind(addr)
        .expect("bind the echo");
    let (addr, handle) = (server.local_addr(), server.handle());
    std::thread::spawn(move || server.run());
    (addr, handle)
}

#[test]
fn a_connection_the_application_closes_is_not_made_again() {
    let upstream = suite::serve(echo::protocol());
    let backoff = Backoff::default().initial(Duration::from_millis(10));
    let connect = Connect::new(format!("ws://{upstream}/")).reconnect(backoff);
    let (rx, handle) = probe(vec![(1, connect)], vec![Payload::text("close me")]);
    assert_eq!(next(&rx), Heard::Open(1, None));
    assert_eq!(next(&rx), Heard::Message(1, Payload::text("close me")));
    assert_eq!(next(&rx), Heard::Close(1));
    assert!(
        rx.recv_timeout(Duration::from_millis(500)).is_err(),
        "closed by the application: not reconnected"
    );
    assert_eq!(handle.stats().connections, 0);
}

#[test]
fn a_connection_the_server_closes_is_made_again_once_the_server_is_back() {
    let (upstream, upstream_handle) = echo_at("127.0.0.1:0", None);
    let backoff = Backoff::default()
        .initial(Duration::from_millis(20))
        .max(Duration::from_millis(200));
    let connect = Connect::new(format!("ws://{upstream}/")).reconnect(backoff);
    let (rx, _handle) = probe(vec![(1, connect)], vec![Payload::text("hi")]);
    assert_eq!(next(&rx), Heard::Open(1, None));
    assert_eq!(next(&rx), Heard::Message(1, Payload::text("hi")));
    // The server shuts down (1001 to everyone): the client answers the close, and waits
    // for the server to close the TCP connection.
    upstream_handle.shutdown();
    assert_eq!(next(&rx), Heard::Close(1));
    match next(&rx) {
        Heard::Failed(1, ConnectFailure::Refused, 1, Some(_)) => {}
        other => panic!("{other:?}"),
    }
    let _back = echo_at(&upstream.to_string(), None);
    loop {
        match next(&rx) {
            Heard::Failed(1, ConnectFailure::Refused, _, Some(_)) => continue,
            Heard::Open(1, None) => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(next(&rx), Heard::Message(1, Payload::text("hi")));
}

/// A connection between a server pinging every `server_ping` and a client pinging every
/// `client_ping` (each closes a connection that stays silent over two of its pings) is
/// still open, and silent, after 600 ms.
fn stays_open(server_ping: Option<Duration>, client_ping: Option<Duration>) {
    let (upstream, _) = echo_at("127.0.0.1:0", server_ping);
    let connect = Connect::new(format!("ws://{upstream}/"));
    let (probe, rx) = Probe::new(vec![(1, connect)], vec![]);
    let config = Config::default().ping_interval(client_ping);
    let _ = suite::serve_handle(WebSocket::with_config(probe, config));
    assert_eq!(next(&rx), Heard::Open(1, None));
    let later = rx.recv_timeout(Duration::from_millis(600));
    assert!(later.is_err(), "{server_ping:?}/{client_ping:?}: {later:?}");
}

#[test]
fn the_client_answers_the_servers_pings() {
    stays_open(Some(Duration::from_millis(50)), None);
}

#[test]
fn the_server_answers_the_clients_pings() {
    stays_open(None, Some(Duration::from_millis(50)));
}

#[test]
fn a_message_to_a_connection_that_is_gone_is_dropped_and_counted() {
    let (_, handle) = echo_at("127.0.0.1:0", None);
    let before = handle.stats().undelivered;
    handle
        .send(Command::send(ConnId::from_raw(12_345 << 20 | 7), "nobody"))
        .unwrap();
    suite::wait_until("the drop counted", || {
        handle.stats().undelivered == before + 1
    });
}

#[test]
fn redirects_are_refused_unless_followed() {
    let upstream = suite::serve(echo::protocol());
    // A server that redirects every request to the echo.
    let redirector = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let from = redirector.local_addr().unwrap();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut stream in redirector.incoming().flatten() {
            let mut head = [0u8; 4096];
            let _ = stream.read(&mut head);
            let answer = format!(
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: ws://{upstream}/moved\r\nContent-Length: 0\r\n\r\n"
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    let refused = Connect::new(format!("ws://{from}/"));
    let followed = Connect::new(format!("ws://{from}/")).follow_redirects(2);
    let (rx, _handle) = probe(vec![(1, refused), (2, followed)], vec![Payload::text("x")]);
    let mut heard: Vec<Heard> = (0..3).map(|_| next(&rx)).collect();
    heard.sort_by_key(|h| format!("{h:?}"));
    let to = format!("ws://{upstream}/moved");
    assert!(
        heard.contains(&Heard::Failed(1, ConnectFailure::Redirect(to), 1, None)),
        "{heard:?}"
    );
    assert!(heard.contains(&Heard::Open(2, None)), "{heard:?}");
    assert!(
        heard.contains(&Heard::Message(2, Payload::text("x"))),
        "{heard:?}"
    );
}

#[test]
fn many_names_are_resolved_a_few_at_a_time_and_all_connect() {
    let upstream = suite::serve(echo::protocol());
    // More names than are resolved at once: the rest wait their turn.
    let connects = (0..40)
        .map(|key| {
            (
                key,
                Connect::new(format!("ws://localhost:{}/", upstream.port())),
            )
        })
        .collect();
    let (rx, _handle) = probe(connects, vec![]);
    let mut opened: Vec<u64> = (0..40)
        .map(|_| match next(&rx) {
            Heard::Open(key, None) => key,
            other => panic!("{other:?}"),
        })
        .collect();
    opened.sort_unstable();
    assert_eq!(opened, (0..40).collect::<Vec<u64>>());
}

#[test]
fn a_message_over_the_clients_limit_is_refused_not_buffered() {
    let upstream = suite::serve(echo::protocol());
    let big = Payload::binary(vec![1u8; 4096]);
    let (probe, rx) = Probe::new(
        vec![(1, Connect::new(format!("ws://{upstream}/")))],
        vec![Payload::text("small"), big],
    );
    // The client's limits are its decorator's: 1 KiB messages here.
    let config = Config::default().max_message_size(1024);
    let _ = suite::serve_handle(WebSocket::with_config(probe, config));
    assert_eq!(next(&rx), Heard::Open(1, None));
    assert_eq!(next(&rx), Heard::Message(1, Payload::text("small")));
    // The 4 KiB echo is refused from its header (1009), and the connection ends.
    assert_eq!(
        next(&rx),
        Heard::Error(1, "protocol error: message exceeds the maximum size".into())
    );
    assert_eq!(next(&rx), Heard::Close(1));
}
