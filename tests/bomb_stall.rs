//! No client stalls the loop with messages cheap to send and dear to inflate: while
//! bombers send compressed frames that inflate past the 64 MiB limit, one after another
//! as fast as they are closed (each with 1009), a bystander's echo round trip stays under
//! 10 ms at p99, because every connection inflates at most a slice per loop turn and
//! large messages are inflated one connection at a time.

use flate2::{Compress, Compression, FlushCompress};
use ratchet::websocket::{Config, Deflate};
use ratchet::{Component, Conn, IntoCommands, Message, WebSocket};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use suite::{client_frame, RawClient, ServerFrame};

struct Echo;

impl Component for Echo {
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        from.send(msg)
    }
}

const OFFER: &str = "Sec-WebSocket-Extensions: permessage-deflate\r\n";
const LIMIT: usize = 64 << 20;

/// 128 MiB of zeros, deflated raw and sync-flushed, without the final tail.
fn bomb() -> Vec<u8> {
    let zeros = vec![0u8; 1 << 20];
    let mut c = Compress::new(Compression::best(), false);
    let mut out = Vec::with_capacity(128 << 10);
    for _ in 0..128 {
        let before = c.total_in();
        while ((c.total_in() - before) as usize) < zeros.len() {
            let at = (c.total_in() - before) as usize;
            out.reserve(64 << 10);
            c.compress_vec(&zeros[at..], &mut out, FlushCompress::None)
                .unwrap();
        }
    }
    out.reserve(64 << 10);
    c.compress_vec(&[], &mut out, FlushCompress::Sync).unwrap();
    out.truncate(out.len() - 4);
    out
}

/// Round trips of a small message, in microseconds, until `stop` (at most 20,000).
fn probe(addr: std::net::SocketAddr, stop: &AtomicBool) -> Vec<u64> {
    let mut prober = RawClient::open(addr, "/");
    let mut rtts = Vec::new();
    while !stop.load(Ordering::Acquire) && rtts.len() < 20_000 {
        let sent = Instant::now();
        prober.send_text("ping?");
        prober.expect_text("ping?");
        rtts.push(sent.elapsed().as_micros() as u64);
        std::thread::sleep(Duration::from_millis(1));
    }
    rtts
}

/// The bystander's p99 while two bombers each send `bombs` bombs, and the close codes
/// the bombers got.
fn bombard(config: Config, bombs: usize) -> (u64, Vec<Option<u16>>) {
    // Room for both bombers' messages in progress: each is refused for its own size
    // (1009), not for the server's budget (1013).
    let server = ratchet::server::Config::default().max_inbound(4 * LIMIT);
    let addr = suite::serve_with(WebSocket::with_config(Echo, config), server);
    let bomb = Arc::new(client_frame(true, 0x40 | 2, &bomb()));
    let stop = Arc::new(AtomicBool::new(false));
    let prober = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || probe(addr, &stop))
    };
    std::thread::sleep(Duration::from_millis(200));
    let bombers: Vec<_> = (0..2)
        .map(|_| {
            let bomb = Arc::clone(&bomb);
            std::thread::spawn(move || {
                (0..bombs)
                    .map(|_| {
                        let (c, _) = RawClient::open_with(addr, "/", OFFER);
                        let mut stream = c.stream;
                        // The server may close before it has read it all.
                        let _ = stream.write_all(&bomb);
                        let mut answer = Vec::new();
                        let _ = stream.read_to_end(&mut answer);
                        let (frames, _) = suite::server_frames(&answer);
                        frames.iter().find_map(ServerFrame::close_code)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let codes: Vec<Option<u16>> = bombers
        .into_iter()
        .flat_map(|b| b.join().unwrap())
        .collect();
    stop.store(true, Ordering::Release);
    let mut rtts = prober.join().unwrap();
    rtts.sort_unstable();
    let p99 = rtts[rtts.len() * 99 / 100];
    println!(
        "{} round trips while {} bombs went off: p50 {} µs, p99 {p99} µs, max {} µs",
        rtts.len(),
        codes.len(),
        rtts[rtts.len() / 2],
        rtts[rtts.len() - 1]
    );
    (p99, codes)
}

#[test]
fn bombs_do_not_stall_a_bystander_and_are_closed_with_1009() {
    let config = Config::default()
        .max_message_size(LIMIT)
        .deflate(Deflate::default());
    let (p99, codes) = bombard(config, 20);
    assert!(codes.iter().all(|&c| c == Some(1009)), "{codes:?}");
    assert!(p99 < 10_000, "the bystander's p99 was {p99} µs");
}
