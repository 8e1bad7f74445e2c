//! The Autobahn TestSuite (run by `kosoku`) against `examples/echo`, every case outside
//! 12.* and 13.* (compression): each must be OK or INFORMATIONAL.

#[allow(dead_code)]
#[path = "../examples/echo.rs"]
mod echo;

use ratchet::WebSocket;
use std::collections::BTreeMap;
use std::process::Command;

/// Cases outside 12.* and 13.* in the suite; fewer means cases went missing.
const EXPECTED_CASES: usize = 301;

#[test]
fn autobahn_every_case_outside_compression_is_ok() {
    if !suite::have_tool(
        "kosoku (pip install kosoku==0.1.0)",
        Command::new("kosoku").arg("--help"),
    ) {
        return;
    }
    let addr = suite::serve(WebSocket::new(echo::Echo));
    let reports = std::env::temp_dir().join(format!("ratchet-autobahn-{}", std::process::id()));
    let status = Command::new("kosoku")
        .args(["-x", "12.*", "-x", "13.*", "-p", "2", "-o"])
        .arg(&reports)
        .arg(addr.to_string())
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

    let mut summary: BTreeMap<String, usize> = BTreeMap::new();
    let mut bad = Vec::new();
    for (id, result) in cases {
        let behavior = result["behavior"].as_str().unwrap_or("MISSING");
        let close = result["behaviorClose"].as_str().unwrap_or("MISSING");
        *summary.entry(behavior.to_owned()).or_default() += 1;
        let fine = |b: &str| b == "OK" || b == "INFORMATIONAL";
        if !fine(behavior) || !fine(close) {
            bad.push(format!("{id}: {behavior} / close {close}"));
        }
    }
    println!("Autobahn summary over {} cases: {summary:?}", cases.len());
    println!("reports: {}", reports.display());
    assert!(bad.is_empty(), "cases not OK:\n{}", bad.join("\n"));
    assert_eq!(
        cases.len(),
        EXPECTED_CASES,
        "the number of cases run changed"
    );
    assert!(status.success(), "kosoku exited with {status}");
}
