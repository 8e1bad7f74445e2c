//! Runs the benchmark matrix side by side: each server pinned to core 0, the load
//! generator to core 1 (`taskset`), servers alternating round by round; writes the table
//! and a plot of the ratios.
//!
//! ```text
//! cargo run --release -p ratchet-bench -- all     # the full matrix -> BENCHMARKS.md, bench/ratios.svg
//! cargo run --release -p ratchet-bench -- smoke   # seconds; prints, asserts nothing about speed
//! cargo run --release -p ratchet-bench -- tls       # TLS echo beside tokio-tungstenite + tokio-rustls
//! cargo run --release -p ratchet-bench -- deflate   # compressed echo beside Node's ws (needs
//!                                   # node and `npm ci --prefix bench/node`)
//! cargo run --release -p ratchet-bench -- tls-idle [CONNS]  # bytes per idle connection, TLS and plain
//! cargo run --release -p ratchet-bench -- client    # outbound connections beside tokio-tungstenite's
//!                                   # client, against ratchet and Node's ws (needs node and
//!                                   # `npm ci --prefix bench/node`)
//! cargo run --release -p ratchet-bench -- bridge    # what Redis sends each of 4 processes
//!                                   # (needs redis-server)
//! cargo run --release -p ratchet-bench -- workers [--baseline PATH]
//!                                   # server CPU per message, 1 worker beside 2 (beside
//!                                   # another server-ratchet), and fan-out to 10,000
//! cargo run --release -p ratchet-bench -- listeners
//!                                   # two workers' handshakes on one listener / one each
//! cargo run --release -p ratchet-bench -- rate [--baseline PATH]
//!                                   # echo with the rate limit off / on (/ another server-ratchet)
//! ```

mod bridge;
mod client;
mod runner;
mod side;
mod workers;

use runner::{bin_dir, build_the_others, load, median, number, Running};
use std::collections::BTreeMap;
use std::path::PathBuf;

const SERVERS: [&str; 3] = ["ratchet", "tokio-tungstenite", "fastwebsockets"];

struct Plan {
    rounds: usize,
    seconds: &'static str,
    idle_conns: &'static str,
    /// Connections for the deflate memory rows: with the defaults, and with context
    /// takeover (which costs hundreds of KiB each).
    deflate_conns: (&'static str, &'static str),
    /// Connections of the compressed echo (1 KiB JSON-like text).
    deflate_echo: &'static str,
    fanout_receivers: &'static str,
    latency_rate: &'static str,
    echo: Vec<(&'static str, &'static str, &'static str)>,
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    if mode == "bridge" {
        build_the_others();
        println!("{}", bridge::bridge_traffic(4, 1000, 20_000));
        return;
    }
    if mode == "deflate" {
        build_the_others();
        println!("{}", side::deflate_echo(3, "5", "100", "1024"));
        return;
    }
    if mode == "tls" {
        build_the_others();
        let table = side::tls_echo(
            3,
            "5",
            &[
                ("tls echo 100 x 20 B", "100", "20"),
                ("tls echo 200 x 16 KiB", "200", "16384"),
            ],
        );
        println!("{table}");
        return;
    }
    if mode == "client" {
        build_the_others();
        println!("{}", client::client_echo(3, "5", "100", "20", true));
        return;
    }
    if mode == "tls-idle" {
        build_the_others();
        let conns = std::env::args().nth(2).unwrap_or_else(|| "10000".into());
        return side::tls_idle(&conns);
    }
    if mode == "workers" {
        build_the_others();
        let args: Vec<String> = std::env::args().skip(2).collect();
        let baseline = match args.as_slice() {
            [flag, path] if flag == "--baseline" => Some(PathBuf::from(path)),
            _ => None,
        };
        workers::cpu_per_message(3, "5", baseline);
        workers::fanout("10000", "5");
        return;
    }
    if mode == "listeners" {
        build_the_others();
        return workers::listeners(7, "5");
    }
    if mode == "all" || mode == "rate" {
        build_the_others(); // (`cargo test` builds them for the smoke run)
    }
    if mode == "rate" {
        let args: Vec<String> = std::env::args().skip(2).collect();
        let baseline = match args.as_slice() {
            [flag, path] if flag == "--baseline" => Some(PathBuf::from(path)),
            _ => None,
        };
        return side::rate(baseline);
    }
    let plan = match mode.as_str() {
        "all" => Plan {
            rounds: 3,
            seconds: "5",
            idle_conns: "10000",
            deflate_conns: ("10000", "1000"),
            deflate_echo: "100",
            fanout_receivers: "1000",
            latency_rate: "50000",
            echo: vec![
                ("echo 100 x 20 B", "100", "20"),
                ("echo 200 x 16 KiB", "200", "16384"),
            ],
        },
        "smoke" => Plan {
            rounds: 1,
            seconds: "1",
            idle_conns: "100",
            deflate_conns: ("100", "20"),
            deflate_echo: "10",
            fanout_receivers: "20",
            latency_rate: "2000",
            echo: vec![("echo 10 x 20 B", "10", "20")],
        },
        _ => {
            eprintln!("usage: ratchet-bench all|smoke|tls|deflate|client|tls-idle [CONNS]|workers [--baseline PATH]|listeners|rate [--baseline PATH]");
            std::process::exit(2);
        }
    };
    // rows[name][server] = measurements across rounds
    let mut rows: BTreeMap<String, BTreeMap<&str, Vec<f64>>> = BTreeMap::new();
    let mut latency: BTreeMap<&str, String> = BTreeMap::new();
    let latency_row = plan.echo[0].0;
    let mut open_loop: BTreeMap<&str, String> = BTreeMap::new();
    for round in 0..plan.rounds {
        // Alternate the order each round so no server always runs first.
        let mut order = SERVERS.to_vec();
        order.rotate_left(round % SERVERS.len());
        for server in order {
            for (name, conns, size) in &plan.echo {
                let s = Running::start(server, &[]);
                let r = load(&["echo", &s.addr, conns, size, plan.seconds]);
                rows.entry(name.to_string())
                    .or_default()
                    .entry(server)
                    .or_default()
                    .push(number(&r, "median"));
                if *name == latency_row {
                    latency.insert(
                        server,
                        format!(
                            "{} / {} / {}",
                            r["rtt_p50_us"], r["rtt_p99_us"], r["rtt_p999_us"]
                        ),
                    );
                }
            }
            let s = Running::start(server, &[]);
            let r = load(&[
                "latency",
                &s.addr,
                "100",
                "20",
                plan.latency_rate,
                plan.seconds,
            ]);
            open_loop.insert(
                server,
                format!("{} / {} / {}", r["p50_us"], r["p99_us"], r["p999_us"]),
            );
            drop(s);
            let s = Running::start(server, &[]);
            let r = load(&["handshakes", &s.addr, "50", plan.seconds]);
            rows.entry("handshakes/s".into())
                .or_default()
                .entry(server)
                .or_default()
                .push(number(&r, "handshakes_per_second"));
            let s = Running::start(server, &[]);
            let r = load(&["idle", &s.addr, plan.idle_conns, &s.pid()]);
            let name = format!("bytes per idle connection ({})", plan.idle_conns);
            rows.entry(name)
                .or_default()
                .entry(server)
                .or_default()
                .push(number(&r, "bytes_per_connection"));
        }
        for (flag, conns, setting) in [
            ("--deflate", plan.deflate_conns.0, "defaults"),
            (
                "--deflate-takeover",
                plan.deflate_conns.1,
                "context takeover",
            ),
        ] {
            let s = Running::start("ratchet", &[flag]);
            let r = load(&["deflate-idle", &s.addr, conns, &s.pid()]);
            let name = format!("bytes per deflate connection, {setting} ({conns})");
            rows.entry(name)
                .or_default()
                .entry("ratchet")
                .or_default()
                .push(number(&r, "bytes_per_connection"));
        }
        let s = Running::start("ratchet", &["--deflate"]);
        let r = load(&[
            "deflate-echo",
            &s.addr,
            plan.deflate_echo,
            "1024",
            plan.seconds,
        ]);
        let name = format!("deflate echo {} x 1 KiB JSON-like text", plan.deflate_echo);
        rows.entry(name)
            .or_default()
            .entry("ratchet")
            .or_default()
            .push(number(&r, "median"));
        drop(s);
        let s = Running::start("ratchet", &["--chat"]);
        let r = load(&["fanout", &s.addr, plan.fanout_receivers, "20", plan.seconds]);
        let name = format!("fan-out deliveries/s ({} receivers)", plan.fanout_receivers);
        rows.entry(name)
            .or_default()
            .entry("ratchet")
            .or_default()
            .push(number(&r, "deliveries_per_second"));
    }
    let mask = load(&["mask", "64"]);
    let tls_table = match mode.as_str() {
        "smoke" => side::tls_echo(1, "1", &[("tls echo 10 x 20 B", "10", "20")]),
        _ => String::new(), // `tls` runs it in full: 4 servers x 2 sizes x 3 rounds
    };
    let client_table = match mode.as_str() {
        "smoke" => client::client_echo(1, "1", "10", "20", false),
        _ => String::new(), // `client` runs it in full, against Node's ws too
    };

    let mut table = String::from("| measurement | ratchet | tokio-tungstenite | fastwebsockets | ratchet / tokio-tungstenite | ratchet / fastwebsockets |\n|---|---|---|---|---|---|\n");
    let mut ratios = Vec::new();
    for (name, by_server) in &rows {
        let value = |s: &str| by_server.get(s).map(|v| median(v.clone()));
        let ours = value("ratchet").unwrap_or(0.0);
        let cell = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.0}"));
        let lower_is_better = name.starts_with("bytes");
        let ratio = |peer: Option<f64>| match peer {
            Some(p) if p > 0.0 && ours > 0.0 => {
                let r = if lower_is_better { p / ours } else { ours / p };
                format!("{r:.2}×")
            }
            _ => "–".to_owned(),
        };
        let (tt, fw) = (value("tokio-tungstenite"), value("fastwebsockets"));
        table.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} |\n",
            cell(Some(ours)),
            cell(tt),
            cell(fw),
            ratio(tt),
            ratio(fw)
        ));
        for (peer, v) in [("tokio-tungstenite", tt), ("fastwebsockets", fw)] {
            if let Some(p) = v.filter(|p| *p > 0.0 && ours > 0.0) {
                let r = if lower_is_better { p / ours } else { ours / p };
                ratios.push((format!("{name} vs {peer}"), r));
            }
        }
    }
    table.push_str(&format!(
        "\nunmasking: {} GB/s\n",
        mask.get("unmask_gb_per_second").map_or("?", String::as_str)
    ));
    table.push_str(&format!(
        "\nround trips in {latency_row}, p50 / p99 / p99.9 in µs (closed loop):\n\n"
    ));
    for (server, l) in &latency {
        table.push_str(&format!("- {server}: {l}\n"));
    }
    table.push_str(&format!(
        "\nopen loop, 100 connections x 20 B at {} msgs/s in all, p50 / p99 / p99.9 in µs:\n\n",
        plan.latency_rate
    ));
    for (server, l) in &open_loop {
        table.push_str(&format!("- {server}: {l}\n"));
    }
    table.push_str(&tls_table);
    table.push_str(&client_table);
    println!("{table}");
    if mode == "all" {
        let root = bin_dir().join("../..");
        std::fs::write(root.join("bench/results.md"), &table).expect("write bench/results.md");
        std::fs::write(root.join("bench/ratios.svg"), svg(&ratios))
            .expect("write bench/ratios.svg");
        println!("wrote bench/results.md and bench/ratios.svg");
    }
}

/// A horizontal bar chart of ratios, with a line at 1×.
fn svg(ratios: &[(String, f64)]) -> String {
    let (width, bar, left) = (900.0, 28.0, 430.0);
    let max = ratios.iter().map(|(_, r)| *r).fold(2.0f64, f64::max);
    let scale = (width - left - 60.0) / max;
    let height = 40.0 + bar * ratios.len() as f64;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"13\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"10\" y=\"20\" font-weight=\"bold\">ratchet relative to each peer (higher is better for ratchet)</text>\n"
    );
    for (i, (name, r)) in ratios.iter().enumerate() {
        let y = 32.0 + bar * i as f64;
        let color = if *r >= 1.0 { "#2a9d8f" } else { "#e76f51" };
        out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><rect x=\"{left}\" y=\"{}\" width=\"{:.1}\" height=\"{}\" fill=\"{color}\"/><text x=\"{:.1}\" y=\"{}\">{r:.2}×</text>\n",
            left - 8.0, y + 17.0, name, y + 4.0, r * scale, bar - 8.0, left + r * scale + 6.0, y + 17.0
        ));
    }
    let one = left + scale;
    out.push_str(&format!("<line x1=\"{one:.1}\" y1=\"28\" x2=\"{one:.1}\" y2=\"{height}\" stroke=\"black\" stroke-dasharray=\"4 3\"/>\n</svg>\n"));
    out
}
