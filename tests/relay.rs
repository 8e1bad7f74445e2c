//! `examples/relay`: consumes a feed (Python's `websockets`, publishing numbered messages)
//! and relays it to browsers (headless Chromium). The feed is killed and started again:
//! the relay reconnects with backoff, and the browsers see the feed from before and after
//! in order, never a number twice.

use std::time::{Duration, Instant};
use suite::{LineClient, PeerServer};

fn feed(port: u16, first: u64) -> PeerServer {
    let args = [
        "tests/servers/feed.py",
        &port.to_string(),
        &first.to_string(),
    ];
    PeerServer::start("the feed", "python3", &args)
}

/// Waits (at most 10 s) for the relay to print a line starting with `prefix`.
fn expect_line(relay: &mut PeerServer, prefix: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match relay.next_line(left) {
            Some(line) if line.starts_with(prefix) => return line,
            Some(_) => continue,
            None => break,
        }
    }
    panic!("the relay did not print {prefix:?} within 10 s");
}

#[test]
fn relay_reconnects_with_backoff_and_browsers_see_no_duplicate_nor_reordering() {
    if !suite::have_python_client() || !suite::have_chromium() {
        return;
    }
    let first_feed = feed(0, 1);
    let port = first_feed.port;
    let upstream = format!("ws://127.0.0.1:{port}/");
    let relay_bin = suite::example("relay");
    let mut relay = PeerServer::start(
        "the relay",
        &relay_bin,
        &["--upstream", &upstream, "--bind", "127.0.0.1:0"],
    );
    expect_line(&mut relay, "upstream open");
    let url = format!("ws://127.0.0.1:{}/", relay.port);
    let script = suite::root().join("tests/browser/relay.mjs");
    let mut browsers =
        LineClient::start("Chromium", "node", &[script.to_str().unwrap(), &url, "3"]);
    std::thread::sleep(Duration::from_millis(500));

    // The feed goes away: the relay tries again, each wait longer than the last.
    drop(first_feed);
    expect_line(&mut relay, "upstream closed");
    let mut waits = Vec::new();
    for attempt in 1..=3 {
        let line = expect_line(&mut relay, "upstream failed");
        assert!(
            line.starts_with(&format!("upstream failed: attempt {attempt} ")),
            "{line}"
        );
        let retry: i64 = line
            .split(' ')
            .nth(5)
            .unwrap()
            .trim_end_matches(':')
            .parse()
            .unwrap();
        waits.push(retry);
    }
    assert!(
        waits.iter().all(|&w| w > 0) && waits[2] > waits[0],
        "backoff grows: {waits:?}"
    );

    // It comes back, further along: the relay reconnects on its own.
    let _second_feed = feed(port, 100_000);
    expect_line(&mut relay, "upstream open");
    std::thread::sleep(Duration::from_millis(500));

    browsers.send("report");
    for page in 0..3 {
        let line = browsers
            .next_line(Duration::from_secs(10))
            .expect("a report per page");
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields[..2], ["page", &page.to_string()], "{line}");
        let (count, first, last): (u64, u64, u64) = (
            fields[2].parse().unwrap(),
            fields[3].parse().unwrap(),
            fields[4].parse().unwrap(),
        );
        assert_eq!(fields[5], "ordered", "{line}");
        assert!(count > 20, "messages before and after: {line}");
        assert!(first < 100_000 && last >= 100_000, "both feeds: {line}");
    }
}
