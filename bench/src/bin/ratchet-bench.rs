//! Runs the benchmark matrix side by side: each server pinned to core 0, the load
//! generator to core 1 (`taskset`), servers alternating round by round; writes the table
//! and a plot of the ratios.
//!
//! ```text
//! cargo run --release -p ratchet-bench -- all     # the full matrix -> BENCHMARKS.md, bench/ratios.svg
//! cargo run --release -p ratchet-bench -- smoke   # seconds; prints, asserts nothing about speed
//! cargo run --release -p ratchet-bench -- tls       # TLS echo beside tokio-tungstenite + tokio-rustls
//! cargo run --release -p ratchet-bench -- tls-idle [CONNS]  # bytes per idle connection, TLS and plain
//! cargo run --release -p ratchet-bench -- rate [--baseline PATH]
//!                                   # echo with the rate limit off / on (/ another server-ratchet)
//! ```

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const SERVERS: [&str; 3] = ["ratchet", "tokio-tungstenite", "fastwebsockets"];

fn bin_dir() -> PathBuf {
    std::env::current_exe()
        .expect("own path")
        .parent()
        .expect("bin dir")
        .to_path_buf()
}

fn pinned(core: &str, program: &Path) -> Command {
    if Path::new("/usr/bin/taskset").exists() {
        let mut c = Command::new("taskset");
        c.arg("-c").arg(core).arg(program);
        c
    } else {
        Command::new(program)
    }
}

struct Running {
    child: Child,
    addr: String,
}

impl Running {
    fn start(server: &str, extra: &[&str]) -> Running {
        Self::start_at(&bin_dir().join(format!("server-{server}")), extra)
    }

    fn start_at(program: &Path, extra: &[&str]) -> Running {
        let server = program.display();
        let mut child = pinned("0", program)
            .args(["--bind", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start server-{server}: {e}"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the address");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("{server} said {line:?}"))
            .to_owned();
        Running { child, addr }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the load generator on core 1; returns its `key value` lines.
fn load(args: &[&str]) -> BTreeMap<String, String> {
    let out = pinned("1", &bin_dir().join("ratchet-load"))
        .args(args)
        .output()
        .expect("run ratchet-load");
    assert!(
        out.status.success(),
        "ratchet-load {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect()
}

fn number(results: &BTreeMap<String, String>, key: &str) -> f64 {
    results.get(key).and_then(|v| v.parse().ok()).unwrap_or(0.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

struct Plan {
    rounds: usize,
    seconds: &'static str,
    idle_conns: &'static str,
    /// Connections for the deflate memory rows: with the defaults, and with context
    /// takeover (which costs hundreds of KiB each).
    deflate_conns: (&'static str, &'static str),
    fanout_receivers: &'static str,
    latency_rate: &'static str,
    echo: Vec<(&'static str, &'static str, &'static str)>,
}

/// Under `cargo run`, builds the servers and the load generator beside this binary (with
/// the same profile), so that `cargo run --release -p ratchet-bench -- all` works from a
/// fresh checkout.
fn build_the_others() {
    let Ok(cargo) = std::env::var("CARGO") else {
        return; // run directly: the binaries are wherever they were built
    };
    let release = bin_dir().ends_with("release");
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "-p", "ratchet-bench", "--bins"]);
    if release {
        build.arg("--release");
    }
    let status = build.status().expect("run cargo build");
    assert!(status.success(), "building the benchmark binaries failed");
}

/// What a rate limit costs: echo 100 x 20 B with it off and on (a limit so high it never
/// refuses), and optionally against another build of `server-ratchet` (an earlier
/// commit), alternating round by round; medians of 5 rounds.
fn rate(baseline: Option<PathBuf>) {
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
fn tls_idle(conns: &str) {
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
fn tls_echo(rounds: usize, seconds: &str, cases: &[(&str, &str, &str)]) -> String {
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

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    if mode == "tls" {
        build_the_others();
        let table = tls_echo(
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
    if mode == "tls-idle" {
        build_the_others();
        let conns = std::env::args().nth(2).unwrap_or_else(|| "10000".into());
        return tls_idle(&conns);
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
        return rate(baseline);
    }
    let plan = match mode.as_str() {
        "all" => Plan {
            rounds: 3,
            seconds: "5",
            idle_conns: "10000",
            deflate_conns: ("10000", "1000"),
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
            fanout_receivers: "20",
            latency_rate: "2000",
            echo: vec![("echo 10 x 20 B", "10", "20")],
        },
        _ => {
            eprintln!("usage: ratchet-bench all|smoke|tls|tls-idle [CONNS]|rate [--baseline PATH]");
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
        "smoke" => tls_echo(1, "1", &[("tls echo 10 x 20 B", "10", "20")]),
        _ => String::new(), // `tls` runs it in full: 4 servers x 2 sizes x 3 rounds
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
