//! Real browsers of all three engines this machine runs, in one chat: Chromium
//! (playwright-core), Firefox ESR (puppeteer-core over WebDriver BiDi) and WebKitGTK's
//! MiniBrowser (selenium-webdriver through WebKitWebDriver, under xvfb-run) open the chat
//! example's page, each says something and the other two hear it, then one leaves. Over
//! `http://`, over `https://` with the page's socket at `wss://` (each engine trusting the
//! test certificate the way it allows), and through nginx. Each engine negotiates
//! permessage-deflate with the chat.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use suite::{have_tool, Example, Leaf, TestCa};

fn have_browsers() -> bool {
    let node_module = |name: &str| {
        let mut check = Command::new("node");
        check
            .args(["-e", &format!("require.resolve('{name}')")])
            .current_dir(suite::root().join("tests/browser"));
        have_tool(&format!("{name} (npm, in tests/browser)"), &mut check)
    };
    have_tool(
        "Chromium",
        Command::new("/usr/bin/chromium").arg("--version"),
    ) && have_tool(
        "Firefox ESR",
        Command::new("/usr/bin/firefox-esr").arg("--version"),
    ) && have_tool(
        "WebKitWebDriver (webkit2gtk-driver)",
        Command::new("WebKitWebDriver").arg("--help"),
    ) && have_tool("xvfb-run", Command::new("which").arg("xvfb-run"))
        && have_tool(
            "certutil (libnss3-tools)",
            Command::new("which").arg("certutil"),
        )
        && node_module("playwright-core")
        && node_module("puppeteer-core")
        && node_module("selenium-webdriver")
}

/// Runs tests/browser/chat.mjs against the page at `url` (trusting `tls`'s CA and leaf
/// over https://), asserts every step, and returns the folder of its screenshots.
fn chat_in_three_engines(url: &str, shots: &str, tls: Option<(&TestCa, &Leaf)>) -> PathBuf {
    let shots = suite::root().join("target/artifacts").join(shots);
    std::fs::create_dir_all(&shots).unwrap();
    let mut command = Command::new("xvfb-run");
    command
        .args(["-a", "node"])
        .arg(suite::root().join("tests/browser/chat.mjs"))
        .arg(url)
        .arg(&shots);
    if let Some((ca, leaf)) = tls {
        command.arg(&ca.cert).arg(&leaf.chain);
    }
    // A group of its own: on a timeout, node and the browsers go with xvfb-run (they
    // hold the output pipes, so reading them would otherwise wait for ever).
    let mut node = command
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xvfb-run node");
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = node.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let group = format!("-{}", node.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = node.wait();
            let (mut out, mut err) = (String::new(), String::new());
            let _ = node.stdout.take().unwrap().read_to_string(&mut out);
            let _ = node.stderr.take().unwrap().read_to_string(&mut err);
            panic!("the browser run took over three minutes; so far:\n{out}{err}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (mut out, mut err) = (String::new(), String::new());
    let _ = node.stdout.take().unwrap().read_to_string(&mut out);
    let _ = node.stderr.take().unwrap().read_to_string(&mut err);
    println!("{out}");
    assert!(status.success(), "{out}{err}");
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    let mut steps = vec![];
    for (name, engine) in [("ann", "Chromium"), ("bob", "Firefox"), ("cy", "WebKit")] {
        // The chat's default, no context takeover either way, is accepted by every engine
        // (Firefox shows the extension's name alone).
        steps.push(format!(
            "ok {name} joined in {engine} over {scheme}://, extensions \"permessage-deflate"
        ));
        for (other, other_engine) in [("ann", "Chromium"), ("bob", "Firefox"), ("cy", "WebKit")] {
            if other != name {
                steps.push(format!(
                    "ok {other} in {other_engine} hears \"hello from {name} in {engine}\""
                ));
            }
        }
    }
    steps.push("ok ann in Chromium sees \"cy left\"".into());
    steps.push("ok bob in Firefox sees \"cy left\"".into());
    for step in steps {
        assert!(out.contains(&step), "missing {step:?} in:\n{out}");
    }
    for engine in ["chromium", "firefox", "webkit"] {
        let png = std::fs::read(shots.join(format!("chat-{engine}.png"))).expect("a screenshot");
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    }
    shots
}

#[test]
fn three_engines_chat_over_http() {
    if !have_browsers() {
        return;
    }
    let chat = Example::start("chat");
    assert!(chat.banner.contains(", page at http://"), "{}", chat.banner);
    let shots = chat_in_three_engines(&format!("http://{}/", chat.addr()), "http", None);
    println!("screenshots: {}", shots.display());
}

#[test]
fn three_engines_chat_over_https_and_wss() {
    if !have_browsers() {
        return;
    }
    let ca = TestCa::new("browsers");
    let leaf = ca.leaf("localhost", &["localhost", "127.0.0.1"]);
    let chat = Example::start_with(
        "chat",
        &[
            ("RATCHET_TLS_CERT", leaf.chain.to_str().unwrap()),
            ("RATCHET_TLS_KEY", leaf.key.to_str().unwrap()),
        ],
    );
    assert!(
        chat.banner.contains(", page at https://"),
        "{}",
        chat.banner
    );
    let shots = chat_in_three_engines(
        &format!("https://{}/", chat.addr()),
        "https",
        Some((&ca, &leaf)),
    );
    println!("screenshots: {}", shots.display());
}

#[test]
fn three_engines_chat_through_nginx() {
    if !have_browsers() || !have_tool("nginx", Command::new("nginx").arg("-v")) {
        return;
    }
    let chat = Example::start("chat");
    let nginx = suite::Nginx::start(chat.addr());
    let shots = chat_in_three_engines(&format!("http://{}/", nginx.addr), "nginx", None);
    println!("screenshots: {}", shots.display());
}
