//! Recovery side by side with Socket.IO's connection state recovery (Socket.IO 4 and its
//! Redis Streams adapter, from npm), on the same Redis and the same scenarios, run by one
//! script (tests/servers/recovery.mjs): a gap of fifty messages said on two processes,
//! recovered on the other one; a listener coming back mid-stream while a thousand are
//! said, one a millisecond; and the same in a burst. Ratchet's side must be exact, and in
//! the burst exact or honest (a gap longer than the history kept is reported, nothing is
//! duplicated or reordered); Socket.IO's is measured and printed beside it (BENCHMARKS.md
//! has runs).

use serde_json::Value;
use std::process::Command;
use suite::{have_tool, Example, RedisServer};

#[test]
fn recovery_beside_socket_io_on_the_same_scenarios() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let servers = suite::root().join("tests/servers");
    let have_socket_io = have_tool(
        "Socket.IO and its Redis Streams adapter (npm ci --prefix tests/servers)",
        Command::new("node")
            .args([
                "-e",
                "require('socket.io'); require('socket.io-client'); require('@socket.io/redis-streams-adapter')",
            ])
            .current_dir(&servers),
    );
    if !have_socket_io {
        return;
    }
    let url = redis.url();
    let [a, b] = [0, 1].map(|_| Example::start_with("cluster", &[("RATCHET_REDIS_URL", &url)]));
    let args = [
        url.clone(),
        format!("ws://{}/chat", a.addr()),
        format!("ws://{}/chat", b.addr()),
    ];
    let stdout = suite::node(&servers.join("recovery.mjs"), &args, &servers);
    let results: Vec<Value> = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    for r in &results {
        eprintln!("{r}");
    }
    let find = |peer: &str, scenario: &str| {
        results
            .iter()
            .find(|r| r["peer"] == peer && r["scenario"] == scenario)
            .unwrap_or_else(|| panic!("no {peer} {scenario} result in {stdout}"))
    };
    for scenario in ["gap", "traffic"] {
        let ours = find("ratchet", scenario);
        assert_eq!(ours["missing"], 0, "{ours}");
        assert_eq!(ours["duplicates"], 0, "{ours}");
        assert_eq!(ours["ordered"], true, "{ours}");
        assert_eq!(ours["recovered"], true, "{ours}");
        assert_eq!(ours["heard"], ours["expected"], "{ours}");
        let theirs = find("socket.io", scenario);
        assert_eq!(theirs["expected"], ours["expected"], "the same scenario");
    }
    let burst = find("ratchet", "burst");
    assert_eq!(burst["duplicates"], 0, "{burst}");
    assert_eq!(burst["ordered"], true, "{burst}");
    if burst["recovered"] == true {
        assert_eq!(
            burst["missing"], 0,
            "a complete recovery misses nothing: {burst}"
        );
    }
    assert_eq!(find("socket.io", "burst")["expected"], burst["expected"]);
}
