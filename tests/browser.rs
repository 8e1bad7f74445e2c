//! A real browser: headless Chromium (Debian's), driven by playwright-core, opens the
//! chat example's page twice; what one page types, the other shows.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use suite::Example;

fn have_browser() -> bool {
    suite::have_tool(
        "Chromium",
        Command::new("/usr/bin/chromium").arg("--version"),
    ) && suite::have_tool(
        "playwright-core (npm, in tests/browser)",
        Command::new("node")
            .args(["-e", "require.resolve('playwright-core')"])
            .current_dir(suite::root().join("tests/browser")),
    )
}

#[test]
fn two_chat_pages_in_chromium_hear_each_other() {
    if !have_browser() {
        return;
    }
    let chat = Example::start("chat");
    assert!(chat.banner.contains(", page at http://"), "{}", chat.banner);
    let url = format!("http://{}/", chat.addr());
    let artifacts = suite::root().join("target/artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let screenshot = artifacts.join("chat.png");
    let _ = std::fs::remove_file(&screenshot);

    let mut node = Command::new("node")
        .arg(suite::root().join("tests/browser/chat.mjs"))
        .args([url.as_str(), screenshot.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node");
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = node.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = node.kill();
            panic!("the browser run took over two minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (mut out, mut err) = (String::new(), String::new());
    node.stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    node.stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{out}{err}");
    for step in [
        "ok bob sees \"hello from ann\"",
        "ok ann sees \"hi ann, bob here\"",
        "ok ann sees \"bob left\"",
    ] {
        assert!(out.contains(step), "missing {step:?} in:\n{out}");
    }
    let png = std::fs::read(&screenshot).expect("the screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    println!("screenshot: {}", screenshot.display());
}
