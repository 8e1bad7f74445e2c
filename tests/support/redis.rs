//! A `redis-server` of the tests' own, and Redis commands written by hand.

use crate::{have_tool, wait_until};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` of our own on a free loopback port, stopped when dropped.
pub struct RedisServer {
    /// Its port.
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one, or returns `None` (after [`have_tool`]'s verdict) if Redis is not
    /// installed.
    pub fn start() -> Option<Self> {
        if !have_tool(
            "redis-server",
            Command::new("redis-server").arg("--version"),
        ) {
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut server = RedisServer { port, child: None };
        server.restart();
        Some(server)
    }

    /// The URL clients use.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Starts it again on the same port (after [`stop`](RedisServer::stop)), and waits
    /// until it answers.
    pub fn restart(&mut self) {
        let port = self.port.to_string();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--enable-debug-command", "yes", "--loglevel", "warning"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.command("PING").as_deref() != Some("+PONG") {
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer PING"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops it (kills the process) and waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends one inline command; returns the first line of the answer.
    pub fn command(&self, command: &str) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .ok()?;
        stream.write_all(format!("{command}\r\n").as_bytes()).ok()?;
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).ok()?;
        Some(line.trim_end().to_owned())
    }
}

/// One Redis command in RESP (binary-safe, any size).
pub fn resp(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

impl RedisServer {
    /// Makes the server sleep for `seconds` (`DEBUG SLEEP`) and returns once it is seen
    /// asleep (it stops answering); join the thread to wait for it to wake.
    pub fn sleep(&self, seconds: f64) -> std::thread::JoinHandle<()> {
        let port = self.port;
        let sleeper = std::thread::spawn(move || {
            let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to redis");
            s.write_all(format!("DEBUG SLEEP {seconds}\r\n").as_bytes())
                .expect("ask redis to sleep");
            let mut answer = [0; 5];
            s.read_exact(&mut answer).expect("redis wakes up");
        });
        wait_until("redis to fall asleep", || {
            let Ok(mut ping) = TcpStream::connect(("127.0.0.1", port)) else {
                return false;
            };
            let _ = ping.set_read_timeout(Some(Duration::from_millis(100)));
            let _ = ping.write_all(b"PING\r\n");
            ping.read(&mut [0; 7]).is_err()
        });
        sleeper
    }

    /// Runs one command given as binary-safe arguments; returns the first line of the
    /// answer.
    pub fn run(&self, args: &[&[u8]]) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .ok()?;
        stream.write_all(&resp(args)).ok()?;
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).ok()?;
        Some(line.trim_end().to_owned())
    }
}

impl RedisServer {
    /// How many connections are subscribed to `channel` (`PUBSUB NUMSUB`).
    pub fn subscribers(&self, channel: &str) -> Option<usize> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .ok()?;
        stream
            .write_all(&resp(&[b"PUBSUB", b"NUMSUB", channel.as_bytes()]))
            .ok()?;
        // *2, $len, the channel, :count
        let mut lines = BufReader::new(stream).lines();
        let count = lines.nth(3)?.ok()?;
        count.strip_prefix(':')?.trim().parse().ok()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
