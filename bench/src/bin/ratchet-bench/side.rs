//! The measurements beside the matrix: what a rate limit costs, memory per TLS connection,
//! and echo over TLS and with compression beside the peers that do the same.

use crate::runner::{bin_dir, load, median, number, Running};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What a rate limit costs: echo 100 x 20 B with it off and on (a limit so high it never
/// refuses), and optionally against another build of `server-ratchet` (an earlier
/// commit), alternating round by round; medians of 5 rounds.
pub(crate) fn rate(baseline: Option<PathBuf>) {
    let own = bin_dir().join("server-ratchet");
    let mut runs: Vec<(&str, PathBuf, Vec<&str>)> = vec![
        ("rate off", own.clone(), vec![]),
        ("rate on", own, vec!["--rate"]),
    ];
    if let Some(path) = baseline {
        runs.push(("baseline", path, vec![]));
    }
    let mut results: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for round in 0..5 {
        let mut order: Vec<usize> = (0..runs.len()).collect();
        order.rotate_left(round % runs.len());
        for i in order {
            let (name, program, extra) = &runs[i];
            let s = Running::start_at(program, extra);
            let r = load(&["echo", &s.addr, "100", "20", "5"]);
            results.entry(name).or_default().push(number(&r, "median"));
        }
    }
    let off = median(results["rate off"].clone());
    for (name, values) in &results {
        let m = median(values.clone());
        println!("{name}: {m:.0} msg/s ({:.3}x rate off) {values:?}", m / off);
    }
}

/// The server's memory per idle connection over TLS (a WebSocket upgraded through a
/// rustls client, left open), beside the same without TLS, in one run.
pub(crate) fn tls_idle(conns: &str) {
    let dir = std::env::temp_dir().join(format!("ratchet-bench-tls-{}", std::process::id()));
    let (ca, chain, key) = ratchet_bench::test_certificates(&dir).expect("certificates");
    let (chain, key, ca) = (
        chain.display().to_string(),
        key.display().to_string(),
        ca.display().to_string(),
    );
    let tls = Running::start("ratchet", &["--tls", &chain, &key]);
    let r = load(&["tls-idle", &tls.addr, conns, &tls.pid(), &ca]);
    println!(
        "tls: {} bytes per idle connection ({conns})",
        r["bytes_per_connection"]
    );
    drop(tls);
    let _ = std::fs::remove_dir_all(&dir);
    let plain = Running::start("ratchet", &[]);
    let r = load(&["idle", &plain.addr, conns, &plain.pid()]);
    println!(
        "plain: {} bytes per idle connection ({conns})",
        r["bytes_per_connection"]
    );
}

/// TLS echo side by side: ratchet's `Tls` and tokio-tungstenite over tokio-rustls (both
/// ring, TLS 1.3), each beside itself without TLS, servers alternating round by round;
/// medians of `rounds`. Returns the table.
pub(crate) fn tls_echo(rounds: usize, seconds: &str, cases: &[(&str, &str, &str)]) -> String {
    let dir = std::env::temp_dir().join(format!("ratchet-bench-tls-{}", std::process::id()));
    let (ca, chain, key) = ratchet_bench::test_certificates(&dir).expect("certificates");
    let (ca, chain, key) = (
        ca.display().to_string(),
        chain.display().to_string(),
        key.display().to_string(),
    );
    let servers = ["ratchet", "tokio-tungstenite"];
    // results[(case, server, tls)] = messages per second, one per round
    let mut results: BTreeMap<(&str, &str, bool), Vec<f64>> = BTreeMap::new();
    for round in 0..rounds {
        let mut order = servers.to_vec();
        order.rotate_left(round % servers.len());
        for server in order {
            for &(name, conns, size) in cases {
                for tls in [true, false] {
                    let (mode, extra, trust) = match tls {
                        true => ("tls-echo", vec!["--tls", &chain, &key], vec![ca.as_str()]),
                        false => ("echo", vec![], vec![]),
                    };
                    let s = Running::start(server, &extra);
                    let mut args = vec![mode, &s.addr, conns, size, seconds];
                    args.extend(trust);
                    let r = load(&args);
                    results
                        .entry((name, server, tls))
                        .or_default()
                        .push(number(&r, "median"));
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let m = |case, server, tls| median(results[&(case, server, tls)].clone());
    let mut table = String::from(
        "| echo over TLS, msg/s | ratchet | tokio-tungstenite | ratchet / tokio-tungstenite | ratchet TLS / plain | tokio-tungstenite TLS / plain |\n|---|---|---|---|---|---|\n",
    );
    for &(name, _, _) in cases {
        let (ours, peer) = (m(name, "ratchet", true), m(name, "tokio-tungstenite", true));
        let (ours_plain, peer_plain) = (
            m(name, "ratchet", false),
            m(name, "tokio-tungstenite", false),
        );
        table.push_str(&format!(
            "| {name} | {ours:.0} | {peer:.0} | {:.2}× | {:.2} (plain {ours_plain:.0}) | {:.2} (plain {peer_plain:.0}) |\n",
            ours / peer,
            ours / ours_plain,
            peer / peer_plain,
        ));
    }
    table
}

/// Compressed echo side by side: ratchet with permessage-deflate (its defaults) and Node's
/// `ws` 8 with `perMessageDeflate` (its defaults), `conns` clients each echoing a compressed
/// JSON-like text of `size` bytes, and ratchet's plain echo of the same payload; servers
/// alternating round by round, medians of `rounds`. Returns the table.
pub(crate) fn deflate_echo(rounds: usize, seconds: &str, conns: &str, size: &str) -> String {
    let node_peer = concat!(env!("CARGO_MANIFEST_DIR"), "/node/echo.mjs");
    let runs: [(&str, &str); 3] = [
        ("ratchet, permessage-deflate", "deflate-echo"),
        ("ws (Node.js), perMessageDeflate", "deflate-echo"),
        ("ratchet, plain", "echo"),
    ];
    let mut results: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for round in 0..rounds {
        let mut order: Vec<usize> = (0..runs.len()).collect();
        order.rotate_left(round % runs.len());
        for i in order {
            let (name, mode) = runs[i];
            let s = match i {
                0 => Running::start("ratchet", &["--deflate"]),
                1 => Running::start_script(std::path::Path::new("node"), &[node_peer], &[]),
                _ => Running::start("ratchet", &[]),
            };
            let r = load(&[mode, &s.addr, conns, size, seconds]);
            results.entry(name).or_default().push(number(&r, "median"));
        }
    }
    let m = |name: &str| median(results[name].clone());
    let (ours, node, plain) = (m(runs[0].0), m(runs[1].0), m(runs[2].0));
    format!(
        "| echo {conns} x {size} B JSON-like text, msg/s | ratchet, permessage-deflate | ws (Node.js), perMessageDeflate | ratchet / ws | ratchet, plain | compressed / plain |\n|---|---|---|---|---|---|\n| medians of {rounds} rounds | {ours:.0} | {node:.0} | {:.2}× | {plain:.0} | {:.2} |\n",
        ours / node,
        ours / plain
    )
}
