//! The budgets over real sockets: large broadcasts reach readers that keep up, the
//! connection cap answers the one too many and serves the rest, and a timer that never
//! rests does not keep anyone waiting.

use ratchet::server::Config as ServerConfig;
use ratchet::websocket::{Config, Deflate};
use ratchet::IntoCommands;
use ratchet::{Command, Commands, Component, Conn, ConnSet, Handle, Message, Server, WebSocket};
use std::time::{Duration, Instant};
use suite::{client_frame, RawClient};

/// Relays every message to everyone else.
#[derive(Default)]
struct Relay {
    clients: ConnSet,
}

impl Component for Relay {
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        self.clients.insert(conn);
        Commands::none()
    }
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        if msg.as_text() == Some("ping") {
            return from.send("pong");
        }
        self.clients.except(from).send(msg)
    }
    fn on_close(&mut self, conn: &Conn) -> impl IntoCommands {
        self.clients.remove(conn);
        Commands::none()
    }
}

/// A text message of `size` bytes, compressed (RSV1), in one frame.
fn compressed(size: usize) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let mut z = Compress::new(Compression::best(), false);
    let mut out = Vec::with_capacity(size / 100 + 1024);
    z.compress_vec(&vec![b'm'; size], &mut out, FlushCompress::Sync)
        .unwrap();
    out.truncate(out.len() - 4);
    let mut frame = client_frame(true, 1, &out);
    frame[0] |= 0x40;
    frame
}

#[test]
fn readers_that_keep_up_get_large_broadcasts_whole_and_stay() {
    const SIZE: usize = 16 << 20;
    let config = Config::default()
        .max_message_size(SIZE)
        .deflate(Deflate::default());
    let addr = suite::serve(WebSocket::with_config(Relay::default(), config));
    let readers: Vec<_> = (0..5)
        .map(|_| {
            let mut c = RawClient::open(addr, "/");
            c.send_text("ping");
            c.expect_text("pong");
            std::thread::spawn(move || {
                let mut got = Vec::new();
                while got.len() < 3 {
                    let frame = c.read_frame();
                    assert_ne!(frame.opcode, 8, "closed with {:?}", frame.close_code());
                    got.push(frame.payload.len());
                }
                c.send_text("ping");
                c.expect_text("pong");
                got
            })
        })
        .collect();
    let (mut sender, _) = RawClient::open_with(
        addr,
        "/",
        "Sec-WebSocket-Extensions: permessage-deflate\r\n",
    );
    let frame = compressed(SIZE);
    assert!(frame.len() < 64 << 10, "{} bytes on the wire", frame.len());
    let mut three = frame.clone();
    three.extend_from_slice(&frame);
    three.extend_from_slice(&frame);
    sender.write(&three); // three 16 MiB messages in one read
    for reader in readers {
        assert_eq!(reader.join().expect("the reader got all three"), [SIZE; 3]);
    }
}

#[test]
fn at_the_cap_the_next_connection_gets_503_and_the_others_are_served() {
    let addr = suite::serve_with(
        WebSocket::new(Relay::default()),
        ServerConfig::default().max_connections(100),
    );
    let mut served: Vec<RawClient> = (0..100).map(|_| RawClient::open(addr, "/")).collect();
    let mut refused = RawClient::connect(addr);
    let (head, body) = refused.read_response();
    assert!(head.starts_with("HTTP/1.1 503 "), "{head}");
    assert!(head.contains("Retry-After:"), "{head}");
    assert!(body.contains("too many connections"), "{body}");
    assert!(refused.closed_within(Duration::from_secs(5)));
    served[0].send_text("ping");
    served[0].expect_text("pong");
    // As soon as one leaves, a new one is served.
    let leaving = served.pop().unwrap();
    drop(leaving);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut again = loop {
        let mut c = RawClient::connect(addr);
        c.write(suite::upgrade_request("/", "").as_bytes());
        let head = c.read_head();
        if head.starts_with("HTTP/1.1 101 ") {
            break c;
        }
        assert!(Instant::now() < deadline, "still refused: {head}");
        std::thread::sleep(Duration::from_millis(20));
    };
    again.send_text("ping");
    again.expect_text("pong");
}

/// Starts a timer that never rests (a zero period) and one that never fires.
struct Restless;

impl Component for Restless {
    fn on_start(&mut self, _: &Handle) -> impl IntoCommands {
        Commands::none()
            .and(Command::every(Duration::ZERO, 1))
            .and(Command::after(Duration::MAX, 2))
    }
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        from.send(msg)
    }
    fn on_timer(&mut self, key: u64) -> impl IntoCommands {
        if key == 1 {
            // Re-armed at once from inside, too.
            return Command::after(Duration::ZERO, 3).into();
        }
        Commands::none()
    }
}

#[test]
fn a_timer_that_never_rests_keeps_nobody_waiting() {
    let server = Server::new(WebSocket::new(Restless))
        .bind("127.0.0.1:0")
        .unwrap();
    let addr = server.local_addr();
    std::thread::spawn(move || server.run());
    std::thread::sleep(Duration::from_millis(50));
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let asked = Instant::now();
        let mut c = RawClient::open(addr, "/");
        c.send_text("echo");
        c.expect_text("echo");
        slowest = slowest.max(asked.elapsed());
    }
    assert!(
        slowest < Duration::from_millis(100),
        "a handshake and an echo took {slowest:?}"
    );
}
