//! The benchmark matrix in miniature, so that CI keeps it working (it asserts nothing about
//! speed: CI machines are noisy; ratios belong in BENCHMARKS.md).

#[test]
fn the_benchmark_runs() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ratchet-bench"))
        .arg("smoke")
        .output()
        .expect("run ratchet-bench smoke");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for row in [
        "echo 10 x 20 B",
        "handshakes/s",
        "bytes per idle connection",
        "fan-out deliveries/s",
        "unmasking",
        "tls echo 10 x 20 B",
        "bytes per deflate connection, defaults",
        "bytes per deflate connection, context takeover",
        "deflate echo 10 x 1 KiB JSON-like text",
        "client echo 10 x 20 B",
    ] {
        assert!(stdout.contains(row), "missing {row}");
    }
}
