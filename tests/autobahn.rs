//! The Autobahn TestSuite, run by `kosoku`, against `examples/echo`: all 517 cases, every
//! one OK or INFORMATIONAL (none FAILED, NON-STRICT or UNIMPLEMENTED), and every
//! compression case (12.*, 13.*) strictly OK.

#[allow(dead_code)]
#[path = "../examples/echo.rs"]
mod echo;

use std::collections::BTreeMap;
use std::process::Command;

/// Runs kosoku over the cases selected by `args`; returns each case's (behavior, close
/// behavior), after checking the number of cases run.
fn run_kosoku(
    name: &str,
    args: &[&str],
    expected_cases: usize,
) -> Option<BTreeMap<String, (String, String)>> {
    if !suite::have_tool(
        "kosoku (pip install kosoku==0.1.0)",
        Command::new("kosoku").arg("--help"),
    ) {
        return None;
    }
    let addr = suite::serve(echo::protocol());
    let reports =
        std::env::temp_dir().join(format!("ratchet-autobahn-{name}-{}", std::process::id()));
    let status = Command::new("kosoku")
        .args(args)
        .args(["-p", "2", "-o"])
        .arg(&reports)
        .arg(addr.to_string())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run kosoku");
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
    let _ = status; // kosoku's own exit code also counts INFORMATIONAL as failure; judged below
    Some(results)
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
