//! Processes the tests run: the workspace's examples, and third-party clients that
//! speak lines.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

/// The path of example `name`'s binary: `cargo test` builds the examples beside the
/// integration tests (tests run from target/<profile>/deps, examples are in
/// target/<profile>/examples).
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    profile.join("examples").join(name)
}

/// A running example, killed when dropped.
pub struct Example {
    /// The process.
    pub child: Child,
    /// The first line it printed (where it listens).
    pub banner: String,
}

impl Example {
    /// Starts example `name` on a free loopback port and reads its first line.
    pub fn start(name: &str) -> Self {
        Self::start_with(name, &[])
    }

    /// [`Example::start`] with environment variables.
    pub fn start_with(name: &str, env: &[(&str, &str)]) -> Self {
        Self::start_listening(name, &["--bind", "127.0.0.1:0"], env, 1)
    }

    /// Starts example `name` with `args` and `env`, and reads the first `lines` lines it
    /// prints (the banner: where it listens, a line per listener).
    pub fn start_listening(name: &str, args: &[&str], env: &[(&str, &str)], lines: usize) -> Self {
        let mut child = Command::new(example(name))
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("examples/{name} is built by cargo test: {e}"));
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut banner = String::new();
        for _ in 0..lines {
            stdout.read_line(&mut banner).expect("the example's banner");
        }
        Example { child, banner }
    }

    /// Every address in the banner, in order.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.banner
            .split("://")
            .skip(1)
            .map(|after| {
                let end = after.find(['/', ',', ' ', '\n']).unwrap_or(after.len());
                after[..end].parse().expect("an address in the banner")
            })
            .collect()
    }

    /// The address in the banner (`... on ws://127.0.0.1:PORT/...`).
    pub fn addr(&self) -> SocketAddr {
        Self::addr_in(&self.banner)
    }

    /// The address in a banner line (`... on ws://127.0.0.1:PORT/...`).
    pub fn addr_in(banner: &str) -> SocketAddr {
        let after = banner.split("://").nth(1).expect("a URL in the banner");
        let end = after.find(['/', ',', ' ', '\n']).unwrap_or(after.len());
        after[..end].parse().expect("an address in the banner")
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether the tests must not skip for a missing third-party tool: under CI, and when
/// run by `scripts/test`, which installs them all.
pub fn tools_required() -> bool {
    ["CI", "RATCHET_REQUIRE_TOOLS"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|v| !v.is_empty() && v != "0"))
}

/// Checks that a third-party tool is present by running `check`. If it is missing, the
/// test fails when tools are required, and otherwise says it skips and returns false.
pub fn have_tool(what: &str, check: &mut Command) -> bool {
    let ok = check
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            !tools_required(),
            "{what} is not installed; `bash scripts/test` installs it"
        );
        eprintln!("SKIPPED: {what} is not installed (`bash scripts/test` installs it)");
    }
    ok
}

/// Whether Perl's Protocol::WebSocket is installed.
/// Whether Node's `playwright-core` (in tests/browser) and Debian's Chromium are there.
pub fn have_chromium() -> bool {
    have_tool(
        "playwright-core and Chromium (npm ci --prefix tests/browser; apt install chromium)",
        Command::new("node")
            .args([
                "-e",
                "require('playwright-core'); require('fs').accessSync('/usr/bin/chromium')",
            ])
            .current_dir(crate::root().join("tests/browser")),
    )
}

pub fn have_perl_client() -> bool {
    have_tool(
        "Perl Protocol::WebSocket",
        Command::new("perl").args(["-MProtocol::WebSocket", "-e1"]),
    )
}

/// Whether Python's `websockets` package is installed.
pub fn have_python_client() -> bool {
    have_tool(
        "Python websockets",
        Command::new("python3").args(["-c", "import websockets.sync.client"]),
    )
}

/// Runs `tests/php/<script>` with `args` under php-cli (with php-redis); its output,
/// trimmed, or `None` if PHP is missing (a failure when tools are required).
pub fn php(script: &str, args: &[&str]) -> Option<String> {
    if !have_tool(
        "php-cli with php-redis",
        Command::new("php").args(["-r", "exit(extension_loaded('redis') ? 0 : 1);"]),
    ) {
        return None;
    }
    let out = Command::new("php")
        .arg(crate::root().join("tests/php").join(script))
        .args(args)
        .output()
        .expect("php runs");
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(
        String::from_utf8(out.stdout)
            .expect("UTF-8")
            .trim()
            .to_owned(),
    )
}

/// A client process that speaks lines: it prints `open`, `recv TEXT`, `closed`; it reads
/// `send TEXT` and `quit`.
pub struct LineClient {
    name: String,
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

/// The lines `child` prints on its (piped) stdout, read on a thread of their own.
pub(crate) fn lines_of(child: &mut Child) -> Receiver<String> {
    let stdout = child.stdout.take().expect("a piped stdout");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

impl LineClient {
    /// Starts `program args...` and waits for it to print `open`.
    pub fn start(name: &str, program: impl AsRef<Path>, args: &[&str]) -> Self {
        let mut child = Command::new(program.as_ref())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        let stdin = child.stdin.take().expect("stdin");
        let lines = lines_of(&mut child);
        let mut client = LineClient {
            name: name.to_owned(),
            child,
            stdin,
            lines,
        };
        client.expect("open");
        client
    }

    /// Sends a text message.
    pub fn send(&mut self, text: &str) {
        writeln!(self.stdin, "send {text}")
            .and_then(|()| self.stdin.flush())
            .expect("write to client");
    }

    /// Waits (up to 10 s) for the client to print exactly `line`; panics on anything else.
    pub fn expect(&mut self, line: &str) {
        let got = self.next_line(Duration::from_secs(10));
        assert_eq!(
            got.as_deref(),
            Some(line),
            "{} printed something else",
            self.name
        );
    }

    /// The next line printed, if one comes within `timeout`.
    pub fn next_line(&mut self, timeout: Duration) -> Option<String> {
        self.lines.recv_timeout(timeout).ok()
    }

    /// Asserts nothing more arrives within `wait`.
    pub fn expect_silence(&mut self, wait: Duration) {
        if let Some(line) = self.next_line(wait) {
            panic!("{} unexpectedly printed {line:?}", self.name);
        }
    }
}

impl Drop for LineClient {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a Python script (`python3 -c`) and returns what it printed; panics with its output
/// and errors if it fails.
/// Runs `node <script> <args>` in `dir` (where its npm packages are); asserts it
/// succeeded and returns what it printed.
pub fn node(script: &Path, args: &[String], dir: &Path) -> String {
    let out = Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("node runs");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{said}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    said
}

pub fn python(script: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", script])
        .output()
        .expect("python3");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    said
}
