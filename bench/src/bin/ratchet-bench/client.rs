//! Clients side by side: ratchet's outbound connections (`client-ratchet`) and
//! tokio-tungstenite's client on a current-thread runtime (`client-tokio-tungstenite`),
//! each a closed-loop echo load against the same server: ratchet's own echo, and Node's
//! `ws` (which needs node and `npm ci --prefix bench/node`).

use crate::runner::{median, number, run_on_core_1, Running};
use std::collections::BTreeMap;

const CLIENTS: [&str; 2] = ["ratchet", "tokio-tungstenite"];

/// A client's measurements across rounds: messages per second, CPU µs per message.
#[derive(Default)]
struct Measured {
    rates: Vec<f64>,
    cpu: Vec<f64>,
}

/// The table: for each server (`with_node`: Node's `ws` too), each client's messages per
/// second and CPU per message, medians of `rounds`, the clients alternating.
pub(crate) fn client_echo(
    rounds: usize,
    seconds: &str,
    conns: &str,
    size: &str,
    with_node: bool,
) -> String {
    let node_peer = concat!(env!("CARGO_MANIFEST_DIR"), "/node/echo.mjs");
    let servers: &[&str] = if with_node {
        &["ratchet", "ws (Node.js)"]
    } else {
        &["ratchet"]
    };
    let mut results: BTreeMap<(&str, &str), Measured> = BTreeMap::new();
    for round in 0..rounds {
        for &server in servers {
            let mut order = CLIENTS.to_vec();
            order.rotate_left(round % CLIENTS.len());
            for client in order {
                let s = match server {
                    "ratchet" => Running::start("ratchet", &[]),
                    _ => Running::start_script(std::path::Path::new("node"), &[node_peer], &[]),
                };
                let url = format!("ws://{}/", s.addr);
                let r = run_on_core_1(&format!("client-{client}"), &[&url, conns, size, seconds]);
                let entry = results.entry((server, client)).or_default();
                entry.rates.push(number(&r, "median"));
                entry.cpu.push(number(&r, "cpu_us_per_msg"));
            }
        }
    }
    let mut table = format!(
        "| client echo {conns} x {size} B, against | ratchet client, msg/s | tokio-tungstenite client, msg/s | ratio | ratchet client, CPU µs/msg | tokio-tungstenite client, CPU µs/msg | ratio |\n|---|---|---|---|---|---|---|\n"
    );
    for &server in servers {
        let ours = &results[&(server, "ratchet")];
        let theirs = &results[&(server, "tokio-tungstenite")];
        let (our_cpu, their_cpu) = (median(ours.cpu.clone()), median(theirs.cpu.clone()));
        let (ours, theirs) = (median(ours.rates.clone()), median(theirs.rates.clone()));
        table.push_str(&format!(
            "| {server} server (medians of {rounds}) | {ours:.0} | {theirs:.0} | {:.2}× | {our_cpu:.2} | {their_cpu:.2} | {:.2}× |\n",
            ours / theirs.max(1.0),
            their_cpu / our_cpu.max(0.001)
        ));
    }
    table
}
