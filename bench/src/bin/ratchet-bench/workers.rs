//! What workers cost: the server's CPU time per message at a fixed offered load, one
//! worker beside two (and beside another build of the server, if given), for plain echo,
//! echo with permessage-deflate, and TLS echo; and fan-out through a chat.

use crate::runner::{bin_dir, load, median, number, Running};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One case: its name, the load's kind, connections, message size, offered rate, and
/// the server's flags.
struct Case {
    name: &'static str,
    kind: &'static str,
    conns: &'static str,
    size: &'static str,
    rate: &'static str,
}

const CASES: [Case; 3] = [
    Case {
        name: "echo 100 x 20 B",
        kind: "plain",
        conns: "100",
        size: "20",
        rate: "20000",
    },
    Case {
        name: "deflate echo 100 x 1 KiB",
        kind: "deflate",
        conns: "100",
        size: "1024",
        rate: "5000",
    },
    Case {
        name: "tls echo 100 x 20 B",
        kind: "tls",
        conns: "100",
        size: "20",
        rate: "20000",
    },
];

/// Runs every case `rounds` times, the servers alternating; prints a Markdown table of
/// the medians: CPU µs per message for each server, and the ratios to one worker.
pub(crate) fn cpu_per_message(rounds: usize, seconds: &str, baseline: Option<PathBuf>) {
    let dir = std::env::temp_dir().join(format!("ratchet-bench-workers-{}", std::process::id()));
    let (ca, chain, key) = ratchet_bench::test_certificates(&dir).expect("certificates");
    let (ca, chain, key) = (
        ca.display().to_string(),
        chain.display().to_string(),
        key.display().to_string(),
    );
    let own = bin_dir().join("server-ratchet");
    let mut servers: Vec<(&str, PathBuf, Vec<&str>)> = vec![
        ("workers = 1", own.clone(), vec!["--workers", "1"]),
        ("workers = 2", own, vec!["--workers", "2"]),
    ];
    if let Some(path) = baseline {
        servers.push(("baseline", path, vec![]));
    }
    let mut us: BTreeMap<(&str, &str), Vec<f64>> = BTreeMap::new();
    // With two workers: the app thread's µs per message, and the rest's.
    let mut split: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for case in &CASES {
        for round in 0..rounds {
            let mut order: Vec<usize> = (0..servers.len()).collect();
            order.rotate_left(round % servers.len());
            for i in order {
                let (name, program, flags) = &servers[i];
                let mut args = flags.clone();
                match case.kind {
                    "deflate" => args.push("--deflate"),
                    "tls" => args.extend(["--tls", chain.as_str(), key.as_str()]),
                    _ => {}
                }
                let s = Running::start_on("0,1", program, &args);
                let pid = s.pid().parse().expect("pid");
                let before = ratchet_bench::cpu_seconds(pid);
                let app_before = app_thread(pid);
                let mut load_args = vec![
                    "paced", &s.addr, case.conns, case.size, case.rate, seconds, case.kind,
                ];
                if case.kind == "tls" {
                    load_args.push(&ca);
                }
                let r = load(&load_args);
                let cpu = ratchet_bench::cpu_seconds(pid) - before;
                let app = app_thread(pid) - app_before;
                let echoed = number(&r, "echoed").max(1.0);
                us.entry((case.name, *name))
                    .or_default()
                    .push(cpu * 1e6 / echoed);
                if *name == "workers = 2" {
                    split
                        .entry(case.name)
                        .or_default()
                        .push((app * 1e6 / echoed, (cpu - app) * 1e6 / echoed));
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let names: Vec<&str> = servers.iter().map(|(n, _, _)| *n).collect();
    let mut table = format!(
        "| server CPU µs per message | {} | workers = 2 / workers = 1 |{}\n|---|{}---|{}\n",
        names.join(" | "),
        if names.len() > 2 {
            " workers = 1 / baseline |"
        } else {
            ""
        },
        "---|".repeat(names.len()),
        if names.len() > 2 { "---|" } else { "" },
    );
    for case in &CASES {
        let m: Vec<f64> = names
            .iter()
            .map(|n| median(us[&(case.name, *n)].clone()))
            .collect();
        let cells: Vec<String> = m.iter().map(|v| format!("{v:.2}")).collect();
        table.push_str(&format!(
            "| {} at {} msg/s | {} | {:.2}× |",
            case.name,
            case.rate,
            cells.join(" | "),
            m[1] / m[0]
        ));
        if m.len() > 2 {
            table.push_str(&format!(" {:.2}× |", m[0] / m[2]));
        }
        table.push('\n');
    }
    println!("{table}");
    for (key, values) in &us {
        println!("{key:?}: {values:.2?}");
    }
    println!(
        "\nwith two workers, CPU µs per message on the app thread / on the workers (medians):"
    );
    for (case, values) in &split {
        let app = median(values.iter().map(|v| v.0).collect());
        let rest = median(values.iter().map(|v| v.1).collect());
        println!("- {case}: {app:.2} / {rest:.2}");
    }
}

/// The app thread's CPU seconds so far (0 with one worker: there is none).
fn app_thread(pid: u32) -> f64 {
    ratchet_bench::thread_cpu_seconds(pid)
        .get("ratchet-app")
        .copied()
        .unwrap_or(0.0)
}

/// Fan-out through a chat on two workers: deliveries per second and the server's CPU µs
/// per delivery, for `receivers` subscribers.
pub(crate) fn fanout(receivers: &str, seconds: &str) {
    for workers in ["1", "2"] {
        let s = Running::start_on(
            "0,1",
            &bin_dir().join("server-ratchet"),
            &["--chat", "--workers", workers],
        );
        let pid = s.pid().parse().expect("pid");
        let before = ratchet_bench::cpu_seconds(pid);
        let r = load(&["fanout", &s.addr, receivers, "20", seconds]);
        let cpu = ratchet_bench::cpu_seconds(pid) - before;
        let rate = number(&r, "deliveries_per_second");
        let secs: f64 = seconds.parse().unwrap_or(1.0);
        println!(
            "fan-out to {receivers}, workers = {workers}: {rate:.0} deliveries/s, {:.3} CPU µs per delivery",
            cpu * 1e6 / (rate * secs).max(1.0)
        );
    }
}

/// One listener polled by both workers, or one per worker (`--reuse-port`): handshakes per
/// second in closed loop at `concurrency`, the server's CPU µs per handshake, and how the
/// workers' CPU time divides (the busier worker's share), for each; medians of `rounds`,
/// the two alternating.
pub(crate) fn listeners(rounds: usize, seconds: &str) {
    let program = bin_dir().join("server-ratchet");
    let servers: [(&str, Vec<&str>); 2] = [
        ("one shared", vec!["--workers", "2"]),
        ("one per worker", vec!["--workers", "2", "--reuse-port"]),
    ];
    println!(
        "| listener | concurrency | handshakes/s | CPU µs per handshake | busier worker's share |"
    );
    println!("|---|---|---|---|---|");
    for concurrency in ["1", "50"] {
        let mut results: BTreeMap<&str, Vec<(f64, f64, f64)>> = BTreeMap::new();
        for round in 0..rounds {
            for i in [round % 2, (round + 1) % 2] {
                let (name, flags) = &servers[i];
                let s = Running::start_on("0,1", &program, flags);
                let pid = s.pid().parse().expect("pid");
                let before = ratchet_bench::cpu_seconds(pid);
                let threads_before = workers_cpu(pid);
                let r = load(&["handshakes", &s.addr, concurrency, seconds]);
                let cpu = ratchet_bench::cpu_seconds(pid) - before;
                // By name: a worker spawned after the banner counts from zero.
                let threads: Vec<f64> = workers_cpu(pid)
                    .iter()
                    .map(|(name, after)| after - threads_before.get(name).unwrap_or(&0.0))
                    .collect();
                let rate = number(&r, "handshakes_per_second");
                let done = rate * seconds.parse::<f64>().unwrap_or(1.0);
                let busier = threads.iter().copied().fold(0.0, f64::max)
                    / threads.iter().sum::<f64>().max(1e-9);
                results
                    .entry(name)
                    .or_default()
                    .push((rate, cpu * 1e6 / done.max(1.0), busier));
            }
        }
        for (name, _) in &servers {
            let v = &results[name];
            let pick = |f: fn(&(f64, f64, f64)) -> f64| median(v.iter().map(f).collect());
            println!(
                "| {name} | {concurrency} | {:.0} | {:.1} | {:.0}% |",
                pick(|r| r.0),
                pick(|r| r.1),
                pick(|r| r.2) * 100.0
            );
            eprintln!("{name} at {concurrency}: {v:.2?}");
        }
    }
}

/// The CPU seconds of each worker thread so far, by name: every thread but the app
/// thread's.
fn workers_cpu(pid: u32) -> BTreeMap<String, f64> {
    let mut threads = ratchet_bench::thread_cpu_seconds(pid);
    threads.remove("ratchet-app");
    threads
}
