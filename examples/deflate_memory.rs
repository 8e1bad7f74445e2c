//! Measures what permessage-deflate costs in server memory per connection, for each
//! setting: `cargo run --release --example deflate_memory`.
//!
//! First, the ratio: a chat's traffic (JSON messages) sent through the echo under each
//! setting, and the bytes the server's frames carry back.
//!
//! Then the memory: opens N connections per setting; each sends one compressed message and
//! reads the compressed echo, so that every compressor and decompressor the setting keeps
//! exists. Reports the process's RSS growth per connection, clients included (their share
//! is what the "compression off" row shows at most).

use flate2::{Compress, Compression, FlushCompress};
use ratchet::message::Kind;
use ratchet::prelude::*;
use ratchet::websocket::{rfc6455, Config, Deflate};
use std::io::{Read, Write};
use std::net::TcpStream;

const CONNECTIONS: usize = 400;

struct Echo;

impl Component for Echo {
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        from.send(msg)
    }
}

fn rss_kib() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A client's frame of `payload` (already compressed if `compressed`), masked with a zero
/// key (which leaves the payload as it is), by the library's own encoder.
fn masked_frame(compressed: bool, kind: Kind, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::new();
    match compressed {
        true => rfc6455::write_compressed_message(&mut frame, kind, payload, Some([0; 4])),
        false => rfc6455::write_message(&mut frame, kind, payload, Some([0; 4])),
    }
    frame
}

/// The echo served with `deflate` on a free port, in a thread of its own.
fn serve(
    deflate: Option<Deflate>,
) -> (
    std::net::SocketAddr,
    ratchet::Handle,
    std::thread::JoinHandle<std::io::Result<()>>,
) {
    let config = match deflate {
        Some(d) => Config::default().deflate(d),
        None => Config::default(),
    };
    let server = Server::new(WebSocket::with_config(Echo, config))
        .bind("127.0.0.1:0")
        .expect("bind");
    let (addr, handle) = (server.local_addr(), server.handle());
    (addr, handle, std::thread::spawn(move || server.run()))
}

/// Opens the connections and returns the RSS growth per connection, in KiB.
fn measure(deflate: Option<Deflate>, offer: &str, message: &[u8]) -> f64 {
    let (addr, handle, thread) = serve(deflate);
    let before = rss_kib();
    let mut clients = Vec::with_capacity(CONNECTIONS);
    let mut buf = vec![0u8; 64 << 10];
    for _ in 0..CONNECTIONS {
        let mut s = TcpStream::connect(addr).expect("connect");
        let head = format!(
            "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n"
        );
        s.write_all(head.as_bytes()).expect("handshake");
        s.write_all(&masked_frame(!offer.is_empty(), Kind::Binary, message))
            .expect("send");
        let mut got = 0;
        // The 101 response, then the echo: wait until some bytes of the echo are here.
        while got < 1000 {
            got += s.read(&mut buf).expect("read");
        }
        clients.push(s);
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    let per_conn = (rss_kib() - before) as f64 / CONNECTIONS as f64;
    handle.shutdown();
    drop(clients);
    let _ = thread.join();
    per_conn
}

/// Reads one server frame's payload length.
fn read_frame_len(s: &mut TcpStream) -> usize {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).expect("a frame");
    let len = match head[1] & 0x7F {
        126 => {
            let mut n = [0u8; 2];
            s.read_exact(&mut n).expect("length");
            usize::from(u16::from_be_bytes(n))
        }
        127 => {
            let mut n = [0u8; 8];
            s.read_exact(&mut n).expect("length");
            u64::from_be_bytes(n) as usize
        }
        n => usize::from(n),
    };
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload).expect("payload");
    len
}

/// A chat's traffic: 1,000 JSON messages like the chat example's, 40 to 400 bytes, from
/// a few people using a small vocabulary.
fn chat_corpus() -> Vec<String> {
    let names = ["ann", "bob", "cy", "dora", "emil"];
    let words = [
        "the",
        "socket",
        "is",
        "open",
        "again",
        "did",
        "you",
        "see",
        "my",
        "last",
        "message",
        "about",
        "deploying",
        "on",
        "friday",
        "yes",
        "it",
        "works",
        "now",
        "thanks",
        "for",
        "fixing",
        "that",
        "server",
        "restart",
        "tomorrow",
        "morning",
        "lunch",
        "?",
        "!",
    ];
    let mut seed = 7u32;
    let mut next = move |n: usize| {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        (seed >> 16) as usize % n
    };
    (0..1000)
        .map(|_| {
            let length = 3 + next(60);
            let text: Vec<&str> = (0..length).map(|_| words[next(words.len())]).collect();
            format!(
                r#"{{"type":"message","name":"{}","text":"{}"}}"#,
                names[next(names.len())],
                text.join(" ")
            )
        })
        .collect()
}

/// The chat corpus sent through the echo, one message at a time: bytes of payload it
/// holds, and bytes the server's frames carried back.
fn ratio(deflate: Option<Deflate>, offer: &str) -> (usize, usize) {
    let (addr, handle, thread) = serve(deflate);
    let mut s = TcpStream::connect(addr).expect("connect");
    let head = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n"
    );
    s.write_all(head.as_bytes()).expect("handshake");
    let mut response = Vec::new();
    let mut byte = [0u8; 1];
    while !response.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).expect("the 101");
        response.push(byte[0]);
    }
    let (mut raw, mut wire) = (0, 0);
    for message in chat_corpus() {
        s.write_all(&masked_frame(false, Kind::Text, message.as_bytes()))
            .expect("send");
        raw += message.len();
        wire += read_frame_len(&mut s);
    }
    handle.shutdown();
    let _ = thread.join();
    (raw, wire)
}

fn main() {
    // 32 KiB of varied words, enough to fill a 15-bit window on both sides.
    let words = [
        "socket", "frame", "deflate", "window", "server", "client", "message", "ratchet",
    ];
    let mut seed = 12345u32;
    let mut text = String::new();
    while text.len() < 32 << 10 {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        text.push_str(words[(seed >> 16) as usize % words.len()]);
        text.push_str(&format!(" {} ", seed % 1000));
    }
    let mut compressed = Vec::with_capacity(text.len() + 1024);
    let mut c = Compress::new_with_window_bits(Compression::default(), false, 15);
    c.compress_vec(text.as_bytes(), &mut compressed, FlushCompress::Sync)
        .expect("compress");
    compressed.truncate(compressed.len() - 4);

    let offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
    let settings: [(&str, Option<Deflate>, &str); 5] = [
        ("compression off", None, ""),
        (
            "no context takeover either way (default)",
            Some(Deflate::default()),
            offer,
        ),
        (
            "`server_no_context_takeover` only",
            Some(Deflate::default().client_no_context_takeover(false)),
            offer,
        ),
        (
            "context takeover both ways",
            Some(Deflate::default().context_takeover(true)),
            offer,
        ),
        (
            "context takeover, 9-bit windows",
            Some(
                Deflate::default()
                    .context_takeover(true)
                    .server_max_window_bits(9)
                    .client_max_window_bits(9),
            ),
            offer,
        ),
    ];
    // Each setting runs in a fresh process, so that no memory freed by one is reused by
    // the next and hidden from the measurement.
    if let Some(index) = std::env::args()
        .nth(1)
        .and_then(|a| a.parse::<usize>().ok())
    {
        let (_, deflate, offer) = settings[index].clone();
        let message = if deflate.is_some() {
            &compressed[..]
        } else {
            text.as_bytes()
        };
        println!("{:.1}", measure(deflate, offer, message));
        return;
    }
    println!("Compression of a chat's traffic (1,000 JSON messages, 40 to 400 bytes; those under 64 bytes go uncompressed):");
    println!("| setting | bytes sent | of the raw size |");
    println!("|---|---|---|");
    for (name, deflate, offer) in &settings {
        let (raw, wire) = ratio(deflate.clone(), offer);
        println!(
            "| {name} | {wire} | {:.0}% |",
            100.0 * wire as f64 / raw as f64
        );
    }
    println!();
    println!("{CONNECTIONS} connections, one 32 KiB message each way; server RSS per connection:");
    println!("| setting | KiB per connection |");
    println!("|---|---|");
    let exe = std::env::current_exe().expect("own path");
    for (index, (name, _, _)) in settings.iter().enumerate() {
        let out = std::process::Command::new(&exe)
            .arg(index.to_string())
            .output()
            .expect("run a setting");
        println!(
            "| {name} | {} |",
            String::from_utf8_lossy(&out.stdout).trim()
        );
    }
}
