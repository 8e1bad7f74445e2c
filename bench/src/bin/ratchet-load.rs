//! The load generator. Prints one `key value` line per result.
//!
//! ```text
//! ratchet-load echo ADDR CONNS SIZE SECONDS       closed-loop echo: msgs/s per second, median
//! ratchet-load tls-echo ADDR CONNS SIZE SECONDS CA  the same over TLS (CA: the PEM to trust)
//! ratchet-load latency ADDR CONNS SIZE RATE SECONDS  open loop at RATE msgs/s: p50/p99/p99.9 µs
//! ratchet-load paced ADDR CONNS SIZE RATE SECONDS plain|tls|deflate [CA]
//!                                                  open loop at RATE msgs/s: messages echoed
//! ratchet-load handshakes ADDR CONCURRENCY SECONDS
//! ratchet-load idle ADDR CONNS SERVER_PID         server RSS per idle connection (and the
//!                                                  kernel's slab growth, both ends)
//! ratchet-load tls-idle ADDR CONNS SERVER_PID CA  the same over TLS (CA: the PEM to trust)
//! ratchet-load deflate-echo ADDR CONNS SIZE SECONDS  closed-loop echo of compressed JSON-like
//!                                                  text (permessage-deflate offered)
//! ratchet-load deflate-idle ADDR CONNS SERVER_PID  the same with permessage-deflate, after
//!                                                  one compressed 1 KiB message each way
//! ratchet-load fanout ADDR RECEIVERS SIZE SECONDS deliveries per second through a chat
//! ratchet-load mask MIB                            unmasking throughput, GB/s
//! ```

use ratchet_bench as bench;
use std::time::{Duration, Instant};

fn arg<T: std::str::FromStr>(args: &[String], i: usize, what: &str) -> T {
    args.get(i).and_then(|a| a.parse().ok()).unwrap_or_else(|| {
        eprintln!("missing or bad {what}");
        std::process::exit(2)
    })
}

/// Prints the server's RSS growth per connection while `open` holds `conns` of them.
fn per_connection<T>(
    pid: u32,
    conns: usize,
    open: impl FnOnce() -> std::io::Result<Vec<T>>,
) -> std::io::Result<()> {
    let (before, slab_before) = (bench::rss_kib(pid), bench::slab_kib());
    let held = open()?;
    std::thread::sleep(Duration::from_millis(500));
    let (after, slab_after) = (bench::rss_kib(pid), bench::slab_kib());
    let per = |kib: u64| (kib * 1024) as f64 / conns as f64;
    println!("rss_before_kib {before}");
    println!("rss_after_kib {after}");
    println!(
        "bytes_per_connection {:.0}",
        per(after.saturating_sub(before))
    );
    // Both ends are on this machine: the client's sockets are in it too.
    println!(
        "kernel_slab_bytes_per_connection_both_ends {:.0}",
        per(slab_after.saturating_sub(slab_before))
    );
    drop(held);
    Ok(())
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map(String::as_str).unwrap_or("");
    match mode {
        "echo" | "tls-echo" => {
            let addr = arg(&args, 1, "ADDR");
            let (conns, size, secs): (usize, usize, usize) = (
                arg(&args, 2, "CONNS"),
                arg(&args, 3, "SIZE"),
                arg(&args, 4, "SECONDS"),
            );
            let tls = match mode {
                "tls-echo" => Some(bench::client_config(std::path::Path::new(&arg::<String>(
                    &args, 5, "CA",
                )))?),
                _ => None,
            };
            let r = bench::echo(
                addr,
                tls.as_ref(),
                conns,
                size,
                Duration::from_secs(1),
                Duration::from_secs(1),
                secs,
            )?;
            let mut rtts = r.rtts_us.clone();
            println!(
                "per_second {:?}",
                r.per_second
                    .iter()
                    .map(|v| v.round() as u64)
                    .collect::<Vec<_>>()
            );
            println!("median {:.0}", r.median());
            println!("rtt_p50_us {}", bench::percentile(&mut rtts, 50.0));
            println!("rtt_p99_us {}", bench::percentile(&mut rtts, 99.0));
            println!("rtt_p999_us {}", bench::percentile(&mut rtts, 99.9));
        }
        "latency" | "paced" => {
            let addr = arg(&args, 1, "ADDR");
            let (conns, size, rate, secs): (usize, usize, u64, u64) = (
                arg(&args, 2, "CONNS"),
                arg(&args, 3, "SIZE"),
                arg(&args, 4, "RATE"),
                arg(&args, 5, "SECONDS"),
            );
            let secs = Duration::from_secs(secs);
            if mode == "latency" {
                let mut rtts =
                    bench::latency(addr, None, conns, size, rate, Duration::from_secs(1), secs)?;
                println!("samples {}", rtts.len());
                println!("p50_us {}", bench::percentile(&mut rtts, 50.0));
                println!("p99_us {}", bench::percentile(&mut rtts, 99.0));
                println!("p999_us {}", bench::percentile(&mut rtts, 99.9));
                return Ok(());
            }
            let kind: String = arg(&args, 6, "plain|tls|deflate");
            let tls = match kind.as_str() {
                "tls" => Some(bench::client_config(std::path::Path::new(&arg::<String>(
                    &args, 7, "CA",
                )))?),
                _ => None,
            };
            let echoed = match kind.as_str() {
                "deflate" => bench::deflate_paced(addr, conns, size, rate, secs.as_secs())?,
                _ => bench::latency(addr, tls.as_ref(), conns, size, rate, Duration::ZERO, secs)?
                    .len() as u64,
            };
            println!("echoed {echoed}");
        }
        "handshakes" => {
            let addr = arg(&args, 1, "ADDR");
            let rate = bench::handshakes(
                addr,
                arg(&args, 2, "CONCURRENCY"),
                Duration::from_secs(arg(&args, 3, "SECONDS")),
            )?;
            println!("handshakes_per_second {rate:.0}");
        }
        "idle" => {
            let addr = arg(&args, 1, "ADDR");
            let conns: usize = arg(&args, 2, "CONNS");
            let pid: u32 = arg(&args, 3, "SERVER_PID");
            per_connection(pid, conns, || bench::idle(addr, conns))?;
        }
        "deflate-echo" => {
            let addr = arg(&args, 1, "ADDR");
            let (conns, size, secs): (usize, usize, usize) = (
                arg(&args, 2, "CONNS"),
                arg(&args, 3, "SIZE"),
                arg(&args, 4, "SECONDS"),
            );
            let per_second = bench::deflate_echo(addr, conns, size, secs)?;
            println!("per_second {per_second:?}");
            println!("median {:.0}", bench::median(&per_second));
        }
        "deflate-idle" => {
            let addr = arg(&args, 1, "ADDR");
            let conns: usize = arg(&args, 2, "CONNS");
            let pid: u32 = arg(&args, 3, "SERVER_PID");
            per_connection(pid, conns, || bench::deflate_idle(addr, conns))?;
        }
        "tls-idle" => {
            let addr = arg(&args, 1, "ADDR");
            let conns: usize = arg(&args, 2, "CONNS");
            let pid: u32 = arg(&args, 3, "SERVER_PID");
            let ca: String = arg(&args, 4, "CA");
            per_connection(pid, conns, || {
                bench::tls_idle(addr, conns, std::path::Path::new(&ca))
            })?;
        }
        "fanout" => {
            let addr = arg(&args, 1, "ADDR");
            let rate = bench::fanout(
                addr,
                arg(&args, 2, "RECEIVERS"),
                arg(&args, 3, "SIZE"),
                Duration::from_secs(arg(&args, 4, "SECONDS")),
                32,
            )?;
            println!("deliveries_per_second {rate:.0}");
        }
        "mask" => {
            let mib: usize = arg(&args, 1, "MIB");
            let mut data = vec![0xA5u8; mib << 20];
            let rounds = 20;
            let start = Instant::now();
            for round in 0..rounds {
                ratchet::websocket::mask::apply_mask(&mut data, [1, 2, 3, 4], round);
            }
            let secs = start.elapsed().as_secs_f64();
            println!(
                "unmask_gb_per_second {:.2}",
                (data.len() * rounds) as f64 / secs / 1e9
            );
            std::hint::black_box(&data);
        }
        _ => {
            eprintln!("usage: ratchet-load echo|handshakes|idle|fanout|mask ...");
            std::process::exit(2);
        }
    }
    Ok(())
}
