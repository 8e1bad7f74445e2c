//! The Autobahn TestSuite, run by `kosoku`, both ways: against `examples/echo` as a
//! server, and serving `examples/autobahn_client`'s outbound connections as a client. All
//! 517 cases each way, every one OK or INFORMATIONAL (none FAILED, NON-STRICT or
//! UNIMPLEMENTED), and every compression case (12.*, 13.*) strictly OK.

#[allow(dead_code)]
#[path = "../examples/echo.rs"]
mod echo;

#[allow(dead_code)]
#[path = "../examples/autobahn_client.rs"]
mod autobahn_client;

use ratchet::websocket::Deflate;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Whether kosoku is installed (the test fails without it under `scripts/test`).
fn have_kosoku() -> bool {
    suite::have_tool(
        "kosoku (pip install kosoku==0.1.0)",
        Command::new("kosoku").arg("--help"),
    )
}

/// Where the run `name` writes its reports: one folder per run name under the build's
/// scratch folder, replaced by the next run (kept for reading after a failure).
fn reports_dir(name: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("autobahn-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs kosoku over the cases selected by `args`; returns each case's (behavior, close
/// behavior), after checking the number of cases run.
fn run_kosoku(
    name: &str,
    args: &[&str],
    expected_cases: usize,
) -> Option<BTreeMap<String, (String, String)>> {
    if !have_kosoku() {
        return None;
    }
    let addr = suite::serve(echo::protocol());
    let reports = reports_dir(name);
    let status = Command::new("kosoku")
        .args(args)
        .args(["-p", "2", "-o"])
        .arg(&reports)
        .arg(addr.to_string())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run kosoku");
    let _ = status; // kosoku's own exit code also counts INFORMATIONAL as failure; judged below
    Some(read_results(name, &reports, expected_cases))
}

/// kosoku as a fuzzing server, on a port it chose: what it says on stderr is kept, for
/// a failure's message; it is killed if still running when dropped.
struct Fuzzer {
    child: std::process::Child,
    port: u16,
    said: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Fuzzer {
    /// Starts kosoku's fuzzing server for the cases selected by `args`, writing its
    /// reports to `reports`, and waits for the port it listens on.
    fn start(args: &[&str], reports: &Path) -> Self {
        use std::io::BufRead;
        let mut child = Command::new("kosoku")
            .args(["-m", "fuzzingserver"])
            .args(args)
            .arg("-o")
            .arg(reports)
            .arg("127.0.0.1:0")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start kosoku's fuzzing server");
        let stderr = child.stderr.take().expect("kosoku's stderr");
        let said = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let keep = std::sync::Arc::clone(&said);
        // Read to the end, so kosoku never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let port = line
                    .strip_prefix("fuzzingserver listening on ws://")
                    .and_then(|at| at.rsplit_once(':'))
                    .and_then(|(_, port)| port.trim().parse::<u16>().ok());
                if let Some(port) = port {
                    let _ = port_tx.send(port);
                }
                keep.lock().unwrap().push(line);
            }
        });
        let port = port_rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("kosoku did not say where it listens: {:?}", said));
        Fuzzer { child, port, said }
    }

    /// Waits up to `within` for kosoku to end (it does once the reports are written).
    fn wait(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.child.try_wait().expect("kosoku's status").is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "kosoku did not end {within:?} after the reports were asked for; it said: {:?}",
            self.said.lock().unwrap()
        );
    }
}

impl Drop for Fuzzer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs kosoku as the fuzzing server for the cases selected by `args`, and
/// `examples/autobahn_client` against it, two cases at a time, offering `deflate`; returns
/// each case's (behavior, close behavior), after checking the number of cases run.
fn run_as_client(
    name: &str,
    args: &[&str],
    expected_cases: usize,
    deflate: Deflate,
) -> Option<BTreeMap<String, (String, String)>> {
    if !have_kosoku() {
        return None;
    }
    let reports = reports_dir(name);
    let mut fuzzer = Fuzzer::start(args, &reports);
    let base = format!("ws://127.0.0.1:{}", fuzzer.port);
    let driver = ratchet::Server::new(autobahn_client::protocol(&base, name, 2, deflate))
        .bind("127.0.0.1:0")
        .expect("bind");
    let handle = driver.handle();
    let run = std::thread::spawn(move || driver.run());
    // Bounded: the whole suite takes a few minutes on two cores.
    let deadline = Instant::now() + Duration::from_secs(20 * 60);
    while !run.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    if !run.is_finished() {
        handle.shutdown();
        panic!(
            "the client run did not finish in 20 minutes; kosoku said: {:?}",
            fuzzer.said.lock().unwrap()
        );
    }
    run.join().expect("driver thread").expect("driver ran");
    fuzzer.wait(Duration::from_secs(120));
    Some(read_results(name, &reports, expected_cases))
}

/// Reads kosoku's `index.json` in `reports`: each case's (behavior, close behavior).
fn read_results(
    name: &str,
    reports: &Path,
    expected_cases: usize,
) -> BTreeMap<String, (String, String)> {
    let index =
        std::fs::read_to_string(reports.join("index.json")).expect("kosoku wrote index.json");
    let index: serde_json::Value = serde_json::from_str(&index).expect("index.json is JSON");
    let cases = index
        .as_object()
        .and_then(|agents| agents.values().next())
        .and_then(|c| c.as_object())
        .expect("cases");
    let results: BTreeMap<String, (String, String)> = cases
        .iter()
        .map(|(id, r)| {
            let get = |key: &str| r[key].as_str().unwrap_or("MISSING").to_owned();
            (id.clone(), (get("behavior"), get("behaviorClose")))
        })
        .collect();
    let mut summary: BTreeMap<&str, usize> = BTreeMap::new();
    for (behavior, _) in results.values() {
        *summary.entry(behavior).or_default() += 1;
    }
    println!(
        "Autobahn {name}: {} cases: {summary:?} (reports in {})",
        results.len(),
        reports.display()
    );
    assert_eq!(
        results.len(),
        expected_cases,
        "the number of cases run changed"
    );
    results
}

fn assert_all(results: &BTreeMap<String, (String, String)>, fine: &[&str]) {
    let bad: Vec<String> = results
        .iter()
        .filter(|(_, (b, c))| !fine.contains(&b.as_str()) || !fine.contains(&c.as_str()))
        .map(|(id, (b, c))| format!("{id}: {b} / close {c}"))
        .collect();
    assert!(
        bad.is_empty(),
        "{} cases not {fine:?}:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn autobahn_every_case_outside_compression_is_ok() {
    if let Some(results) = run_kosoku("core", &["-x", "12.*", "-x", "13.*"], 301) {
        assert_all(&results, &["OK", "INFORMATIONAL"]);
    }
}

#[test]
fn autobahn_every_compression_case_is_ok() {
    if let Some(results) = run_kosoku("deflate", &["-i", "12.*", "-i", "13.*"], 216) {
        assert_all(&results, &["OK"]);
    }
}

#[test]
fn autobahn_as_a_client_every_case_is_ok() {
    if let Some(results) = run_as_client("client", &[], 517, Deflate::default()) {
        let compression: BTreeMap<_, _> = results
            .iter()
            .filter(|(id, _)| id.starts_with("12.") || id.starts_with("13."))
            .map(|(id, r)| (id.clone(), r.clone()))
            .collect();
        assert_eq!(compression.len(), 216);
        assert_all(&results, &["OK", "INFORMATIONAL"]);
        assert_all(&compression, &["OK"]);
    }
}

/// The server may keep its compression context between messages: the client's
/// decompressor keeps its own across them. (The client still resets its compressor: it
/// offers `client_no_context_takeover`, which 54 of the compression cases need offered.)
#[test]
fn autobahn_as_a_client_inflating_with_the_servers_context_every_compression_case_is_ok() {
    let takeover = Deflate::default().server_no_context_takeover(false);
    let args = ["-i", "12.*", "-i", "13.*"];
    if let Some(results) = run_as_client("client-server-takeover", &args, 216, takeover) {
        assert_all(&results, &["OK"]);
    }
}
