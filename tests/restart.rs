//! Restarting without dropping the port: a successor takes the listening socket over while
//! the old process closes its clients with 1001 and exits, and no connection attempt made
//! meanwhile is refused. Both ways are tested on the chat example: SIGUSR2 to a generated
//! `main` (it starts its own successor), and two processes given one socket by whoever
//! holds it (systemd's socket unit with two service instances; this test here).

use command_fds::{CommandFdExt, FdMapping};
use ratchet::http::Router;
use ratchet::{Component, Conn, IntoCommands, Message, WebSocket};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use suite::{upgrade_request, RawClient};

/// What the connection attempts made during a swap came to.
#[derive(Debug, Default)]
struct Attempts {
    /// Upgraded (101).
    served: u32,
    /// Answered 503 with `Retry-After` by a process going away (a connection it had
    /// accepted just before it stopped accepting).
    told_to_retry: u32,
    /// Refused, reset, or closed without an answer: what a swap must never cause.
    failed: Vec<String>,
}

/// Opens WebSocket connections to `addr` one after another until `stop`, and says how
/// each went. Bounded: at most 20,000 attempts or 60 s.
fn keep_connecting(addr: SocketAddr, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Attempts> {
    std::thread::spawn(move || {
        let mut attempts = Attempts::default();
        let deadline = Instant::now() + Duration::from_secs(60);
        for i in 0..20_000 {
            if stop.load(Ordering::Acquire) || Instant::now() > deadline {
                break;
            }
            match attempt(addr, i) {
                Ok(status) if status.starts_with("HTTP/1.1 101") => attempts.served += 1,
                Ok(status) if status.starts_with("HTTP/1.1 503") => attempts.told_to_retry += 1,
                Ok(status) => attempts.failed.push(format!("attempt {i}: {status}")),
                Err(e) => attempts.failed.push(format!("attempt {i}: {e}")),
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        attempts
    })
}

/// One upgrade: the status line of the answer.
fn attempt(addr: SocketAddr, i: u32) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(upgrade_request(&format!("/chat?name=probe{i}"), "").as_bytes())?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&head).trim_end().to_owned())
}

/// Reads frames until a close frame, and returns its code.
fn close_code(client: &mut RawClient) -> Option<u16> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(frame) = client.read_frame_within(Duration::from_millis(200)) {
            if frame.opcode == 8 {
                return frame.close_code();
            }
        }
    }
    None
}

/// Waits up to 10 s for `child` to exit, and says whether it exited successfully.
fn exits_cleanly(child: &mut Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return status.success();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the old process is still running 10 s after it was replaced");
}

/// A process the test started, by pid (and its `Child`, if it is the test's own child),
/// killed when the test ends (even failing).
struct Killed(u32, Option<Child>);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-9", &self.0.to_string()])
            .status();
        if let Some(child) = &mut self.1 {
            let _ = child.wait();
        }
    }
}

/// The chat example with `fd` (if any) passed as systemd passes a socket; its stdout is
/// piped, and so is its log (at `info`) when `log` is set.
fn chat(fd: Option<OwnedFd>, log: bool) -> Child {
    let mut command = Command::new(suite::example("chat"));
    command
        .args(["--bind", "127.0.0.1:0"])
        .env("RUST_LOG", "ratchet=info")
        .stdout(Stdio::piped())
        .stderr(if log { Stdio::piped() } else { Stdio::null() });
    if let Some(fd) = fd {
        command.env("LISTEN_FDS", "1").env_remove("LISTEN_PID");
        command
            .fd_mappings(vec![FdMapping {
                parent_fd: fd,
                child_fd: 3,
            }])
            .unwrap();
    }
    command.spawn().unwrap()
}

/// The next line `out` prints.
fn line(out: &mut BufReader<ChildStdout>) -> String {
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    line
}

/// Runs the swap `swap` does while a client is connected and connection attempts are made
/// without pause, and checks the result: the client got 1001, `old` exited cleanly,
/// nothing was refused, and the new process serves.
fn check_swap(addr: SocketAddr, old: &mut Child, swap: impl FnOnce()) {
    let mut ann = RawClient::open(addr, "/chat?name=ann");
    ann.read_frame(); // the welcome
    let stop = Arc::new(AtomicBool::new(false));
    let connector = keep_connecting(addr, Arc::clone(&stop));
    std::thread::sleep(Duration::from_millis(200));
    swap();
    assert_eq!(
        close_code(&mut ann),
        Some(1001),
        "ann is told the server goes away"
    );
    assert!(exits_cleanly(old), "the old process exits with success");
    // Attempts go on after the old process is gone: the successor takes them all.
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Release);
    let attempts = connector.join().unwrap();
    println!("attempts during the swap: {attempts:?}");
    assert!(
        attempts.failed.is_empty(),
        "refused during the swap: {:?}",
        attempts.failed
    );
    assert!(attempts.served > 50, "{attempts:?}");
    let mut bob = RawClient::open(addr, "/chat?name=bob");
    let welcome = String::from_utf8(bob.read_frame().payload).unwrap();
    assert!(welcome.contains(r#""here":[]"#), "{welcome}");
}

#[test]
fn sigusr2_hands_the_port_to_a_successor_without_refusing_a_connection() {
    let mut old = chat(None, true);
    let mut out = BufReader::new(old.stdout.take().unwrap());
    let banner = line(&mut out);
    let addr = suite::Example::addr_in(&banner);
    // The old process names its successor in its log.
    let (pids, successor_pid) = std::sync::mpsc::channel();
    let log = BufReader::new(old.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in log.lines().map_while(Result::ok) {
            if let Some(pid) = line
                .split("started successor (pid ")
                .nth(1)
                .and_then(|rest| rest.split(')').next())
            {
                let _ = pids.send(pid.parse::<u32>().unwrap());
            }
        }
    });
    let old_pid = old.id().to_string();
    let mut successor = None;
    check_swap(addr, &mut old, || {
        let sent = Command::new("kill").args(["-USR2", &old_pid]).status();
        assert!(sent.unwrap().success());
        let pid = successor_pid
            .recv_timeout(Duration::from_secs(10))
            .expect("the old process starts a successor");
        successor = Some(Killed(pid, None));
    });
    // The successor prints its banner on the stdout it inherited: the same address.
    assert_eq!(line(&mut out), banner);
}

#[test]
fn two_processes_given_one_socket_swap_without_refusing_a_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut old = chat(Some(OwnedFd::from(listener.try_clone().unwrap())), false);
    let mut old_out = BufReader::new(old.stdout.take().unwrap());
    assert!(line(&mut old_out).contains(&addr.to_string()));
    let old_pid = old.id().to_string();
    let mut new = None;
    check_swap(addr, &mut old, || {
        // As with two instances of a systemd service on one socket unit: start the new,
        // then stop the old.
        let mut started = chat(Some(OwnedFd::from(listener.try_clone().unwrap())), false);
        let mut new_out = BufReader::new(started.stdout.take().unwrap());
        assert!(line(&mut new_out).contains(&addr.to_string()));
        new = Some((Killed(started.id(), Some(started)), new_out));
        let sent = Command::new("kill").args(["-TERM", &old_pid]).status();
        assert!(sent.unwrap().success());
    });
}

struct Echo;

impl Component for Echo {
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        from.send(msg)
    }
}

/// A client whose request is not complete when the server goes away (the race a swap
/// leaves: accepted by the old process just before it stopped accepting) is answered 503
/// with `Retry-After: 0`, by the WebSocket alone and behind a router, rather than closed
/// without a word.
#[test]
fn a_request_caught_by_a_shutdown_is_told_to_retry() {
    let (plain, plain_handle) = suite::serve_handle(WebSocket::new(Echo));
    let (routed, routed_handle) =
        suite::serve_handle(Router::new().route("/chat", WebSocket::new(Echo)));
    for (addr, handle, partial) in [
        (
            plain,
            plain_handle,
            "GET /chat HTTP/1.1\r\nHost: localhost\r\n",
        ),
        (routed, routed_handle, "GET /ch"),
    ] {
        let mut client = RawClient::connect(addr);
        let mut open = RawClient::open(addr, "/chat");
        client.write(partial.as_bytes());
        std::thread::sleep(Duration::from_millis(50));
        assert!(handle.shutdown());
        let (head, body) = client.read_response();
        assert!(head.starts_with("HTTP/1.1 503"), "{head}");
        assert!(head.contains("Retry-After: 0\r\n"), "{head}");
        assert_eq!(body, "server shutting down\n");
        assert_eq!(close_code(&mut open), Some(1001));
    }
}

/// The usual upgrade: a new binary renamed over the running one, then SIGUSR2. A successor
/// that fails (here a first "new binary" that exits at once) leaves the old process
/// serving; the next SIGUSR2, with a good binary in place, swaps.
#[test]
fn a_binary_renamed_over_the_running_one_takes_over_and_a_broken_one_does_not() {
    let dir = suite::folder("restart-upgrade", &[]);
    let installed = dir.join("chat");
    let staged = dir.join("chat.new");
    std::fs::copy(suite::example("chat"), &installed).unwrap();
    let mut old = Command::new(&installed)
        .args(["--bind", "127.0.0.1:0"])
        .env("RUST_LOG", "ratchet=info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _old_guard = Killed(old.id(), None);
    let mut out = BufReader::new(old.stdout.take().unwrap());
    let addr = suite::Example::addr_in(&line(&mut out));
    let (logs, log) = std::sync::mpsc::channel();
    let stderr = BufReader::new(old.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = logs.send(line);
        }
    });
    let wait_for = |what: &str| -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match log.recv_timeout(left) {
                Ok(line) if line.contains(what) => return line,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("no log line with {what:?}");
    };
    let old_pid = old.id().to_string();
    let usr2 = || {
        let sent = Command::new("kill")
            .args(["-USR2", old_pid.as_str()])
            .status();
        assert!(sent.unwrap().success());
    };

    // A broken new binary: the successor exits 3, the old one goes on.
    std::fs::write(&staged, "#!/bin/sh\nexit 3\n").unwrap();
    std::fs::set_permissions(&staged, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::rename(&staged, &installed).unwrap();
    usr2();
    assert!(wait_for("the successor ended").contains("exit status: 3"));
    let mut ann = RawClient::open(addr, "/chat?name=ann");
    ann.read_frame(); // the welcome: still served by the old process
    assert!(old.try_wait().unwrap().is_none());

    // A good one: it takes over.
    std::fs::copy(suite::example("chat"), &staged).unwrap();
    std::fs::rename(&staged, &installed).unwrap();
    usr2();
    let started = wait_for("started successor (pid ");
    let pid: u32 = started
        .split("started successor (pid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap()
        .parse()
        .unwrap();
    let _successor = Killed(pid, None);
    assert_eq!(close_code(&mut ann), Some(1001));
    assert!(exits_cleanly(&mut old));
    let mut bob = RawClient::open(addr, "/chat?name=bob");
    bob.read_frame();
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    assert_eq!(
        exe, installed,
        "the successor runs the binary now installed"
    );
}
