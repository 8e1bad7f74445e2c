//! Clients that pipeline requests for a large file and never read cannot grow the server:
//! bodies are streamed as the socket takes them, and requests past the output budget wait
//! unparsed. Alone in its binary, so that the process's memory is the server's.

use ratchet::http::{Router, Static};
use ratchet::server::Config;
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;
use suite::{responses, RawClient};

const BUDGET: usize = 1 << 20;

#[test]
fn pipelining_clients_that_never_read_stay_within_the_output_budget() {
    let big = "b".repeat(1 << 20);
    let dir = suite::folder("pipelining", &[("big.bin", &big), ("small.txt", "small")]);
    let addr = suite::serve_with(
        Router::new().route("/*", Static::new(&*dir)),
        Config::default().output_budget(BUDGET),
    );
    let request = b"GET /big.bin HTTP/1.1\r\nHost: h\r\n\r\n";
    let pipelined: Vec<u8> = request
        .iter()
        .copied()
        .cycle()
        .take(request.len() * (7_500 / request.len()))
        .collect();
    let asked = pipelined.len() / request.len();
    std::thread::sleep(Duration::from_millis(100));
    let before = suite::rss_kib();
    let mut stalled: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(&pipelined).unwrap();
            s
        })
        .collect();
    // A client that reads is served meanwhile.
    let mut other = RawClient::connect(addr);
    other.write(b"GET /small.txt HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(other.read_response().1, "small");
    std::thread::sleep(Duration::from_millis(500));
    let after = suite::rss_kib();
    let grown = after.saturating_sub(before);
    println!(
        "4 clients x {asked} pipelined requests for 1 MiB, never read: RSS {before} -> {after} KiB"
    );
    assert!(
        grown < 4 * 2 * (BUDGET as u64 / 1024),
        "RSS grew {grown} KiB for 4 clients, more than twice their output budgets"
    );
    // One of them starts reading: every response comes, whole, in order.
    let mut reader = stalled.pop().unwrap();
    reader
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut got = Vec::new();
    let mut whole = 0;
    let mut chunk = vec![0; 1 << 20];
    while whole < asked {
        let n = std::io::Read::read(&mut reader, &mut chunk).unwrap();
        assert!(n > 0, "closed after {whole} of {asked} responses");
        got.extend_from_slice(&chunk[..n]);
        let (done, rest) = responses(&got, false);
        for r in &done {
            assert_eq!(r.status(), 200);
            assert_eq!(r.body.len(), 1 << 20);
        }
        whole += done.len();
        got = rest;
    }
    assert_eq!(whole, asked);
}
