//! Helpers shared by the integration tests: servers on port 0, a raw WebSocket client
//! written against the RFC (for tests that need nothing outside Rust), and line-driven
//! third-party client processes.

use ratchet::message::Payload;
use ratchet::protocol::Protocol;
use ratchet::server::Config;
use ratchet::Server;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Serves `protocol` on 127.0.0.1 port 0 from a background thread; returns the address.
pub fn serve<P>(protocol: P) -> SocketAddr
where
    P: Protocol + Send + 'static,
    P::ConnState: Send,
{
    serve_with(protocol, Config::default())
}

/// [`serve`], and a handle into the server (to wait on what it holds, or stop it).
pub fn serve_handle<P>(protocol: P) -> (SocketAddr, ratchet::Handle)
where
    P: Protocol + Send + 'static,
    P::ConnState: Send,
{
    let server = Server::new(protocol)
        .bind("127.0.0.1:0")
        .expect("bind 127.0.0.1:0");
    let (addr, handle) = (server.local_addr(), server.handle());
    std::thread::spawn(move || server.run());
    (addr, handle)
}

/// Waits (at most 10 s) until `done` says so; panics saying what it waited for.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "waited 10 s for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// [`serve`] with server limits.
pub fn serve_with<P>(protocol: P, config: Config) -> SocketAddr
where
    P: Protocol + Send + 'static,
    P::ConnState: Send,
{
    let server = Server::new(protocol)
        .config(config)
        .bind("127.0.0.1:0")
        .expect("bind 127.0.0.1:0");
    let addr = server.local_addr();
    std::thread::spawn(move || server.run());
    addr
}

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

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
        let mut child = Command::new(example(name))
            .args(["--bind", "127.0.0.1:0"])
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("examples/{name} is built by cargo test: {e}"));
        let mut banner = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut banner)
            .expect("the example's first line");
        Example { child, banner }
    }

    /// The address in the banner (`... on ws://127.0.0.1:PORT/...`).
    pub fn addr(&self) -> SocketAddr {
        let after = self
            .banner
            .split("://")
            .nth(1)
            .expect("a URL in the banner");
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

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An RFC 6455 upgrade request for `path` (with the RFC's sample key, whose accept value is
/// `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`), plus `extra_headers` lines (each ending in `\r\n`).
pub fn upgrade_request(path: &str, extra_headers: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra_headers}\r\n"
    )
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

/// A client process that speaks lines: it prints `open`, `recv TEXT`, `closed`; it reads
/// `send TEXT` and `quit`.
pub struct LineClient {
    name: String,
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
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
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
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

/// A minimal RFC 6455 client over a blocking socket, written from the RFC, for tests that
/// need to send exactly the bytes they mean.
pub struct RawClient {
    /// The socket.
    pub stream: TcpStream,
    buf: Vec<u8>,
}

/// A frame as the server sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFrame {
    /// FIN bit.
    pub fin: bool,
    /// RSV1 bit (compressed, with permessage-deflate).
    pub rsv1: bool,
    /// Opcode.
    pub opcode: u8,
    /// Payload.
    pub payload: Vec<u8>,
}

impl ServerFrame {
    /// The close code of a close frame.
    pub fn close_code(&self) -> Option<u16> {
        (self.opcode == 8 && self.payload.len() >= 2)
            .then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

impl RawClient {
    /// Connects without a handshake.
    pub fn connect(addr: SocketAddr) -> Self {
        Self::from_stream(TcpStream::connect(addr).expect("connect"))
    }

    /// Connects from the local address `source` (any of 127.0.0.0/8 is this machine).
    pub fn connect_from(addr: SocketAddr, source: std::net::IpAddr) -> Self {
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            None,
        )
        .expect("socket");
        socket
            .bind(&SocketAddr::new(source, 0).into())
            .expect("bind the source address");
        socket.connect(&addr.into()).expect("connect");
        Self::from_stream(socket.into())
    }

    fn from_stream(stream: TcpStream) -> Self {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        RawClient {
            stream,
            buf: Vec::new(),
        }
    }

    /// Connects and completes an RFC 6455 handshake for `path`.
    pub fn open(addr: SocketAddr, path: &str) -> Self {
        Self::open_with(addr, path, "").0
    }

    /// Connects and completes an RFC 6455 handshake for `path` with extra header lines
    /// (each ending in `\r\n`); returns the client and the response head.
    pub fn open_with(addr: SocketAddr, path: &str, extra_headers: &str) -> (Self, String) {
        let mut client = Self::connect(addr);
        client.write(upgrade_request(path, extra_headers).as_bytes());
        let head = client.read_head();
        assert!(
            head.starts_with("HTTP/1.1 101 "),
            "handshake refused: {head}"
        );
        assert!(
            head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
            "{head}"
        );
        (client, head)
    }

    /// Writes raw bytes.
    pub fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Reads an HTTP response head (through the blank line).
    pub fn read_head(&mut self) -> String {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head: Vec<u8> = self.buf.drain(..end + 4).collect();
                return String::from_utf8_lossy(&head).into_owned();
            }
            self.fill();
        }
    }

    /// Reads an HTTP response: head and `Content-Length` body.
    pub fn read_response(&mut self) -> (String, String) {
        let head = self.read_head();
        let len = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>())
            })
            .and_then(Result::ok)
            .unwrap_or(0);
        while self.buf.len() < len {
            self.fill();
        }
        let body: Vec<u8> = self.buf.drain(..len).collect();
        (head, String::from_utf8_lossy(&body).into_owned())
    }

    /// Reads what the next read brings (at least a byte), raw.
    pub fn read_some(&mut self) -> Vec<u8> {
        if self.buf.is_empty() {
            self.fill();
        }
        std::mem::take(&mut self.buf)
    }

    /// Reads exactly `n` raw bytes.
    pub fn read_exact(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            self.fill();
        }
        self.buf.drain(..n).collect()
    }

    fn fill(&mut self) {
        let mut chunk = [0; 65536];
        let n = self.stream.read(&mut chunk).expect("read");
        assert!(n > 0, "connection closed by the server");
        self.buf.extend_from_slice(&chunk[..n]);
    }

    /// Whether the server closed the connection within `wait` (reading and discarding).
    pub fn closed_within(&mut self, wait: Duration) -> bool {
        self.stream.set_read_timeout(Some(wait)).expect("timeout");
        let deadline = Instant::now() + wait;
        let mut chunk = [0; 65536];
        while Instant::now() < deadline {
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
        false
    }

    /// Sends one masked frame.
    pub fn send_frame(&mut self, fin: bool, opcode: u8, payload: &[u8]) {
        self.write(&client_frame(fin, opcode, payload));
    }

    /// Sends a text message.
    pub fn send_text(&mut self, text: &str) {
        self.send_frame(true, 1, text.as_bytes());
    }

    /// Reads the next frame.
    pub fn read_frame(&mut self) -> ServerFrame {
        loop {
            if let Some((frame, used)) = parse_server_frame(&self.buf) {
                self.buf.drain(..used);
                return frame;
            }
            self.fill();
        }
    }

    /// The next frame, or `None` if none is complete within `wait`.
    pub fn read_frame_within(&mut self, wait: Duration) -> Option<ServerFrame> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some((frame, used)) = parse_server_frame(&self.buf) {
                self.buf.drain(..used);
                return Some(frame);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            self.stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .expect("timeout");
            let mut chunk = [0; 65536];
            let read = self.stream.read(&mut chunk);
            self.stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            match read {
                Ok(0) => panic!("connection closed by the server"),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return None
                }
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    /// Reads the next frame and asserts it is this text.
    pub fn expect_text(&mut self, text: &str) {
        let frame = self.read_frame();
        assert_eq!(
            (
                frame.opcode,
                String::from_utf8_lossy(&frame.payload).as_ref()
            ),
            (1, text)
        );
    }
}

/// A masked client frame.
pub fn client_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x12, 0x34, 0x56, 0x78];
    let mut out = vec![if fin { 0x80 | opcode } else { opcode }];
    match payload.len() {
        n @ 0..=125 => out.push(0x80 | n as u8),
        n @ 126..=0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

fn parse_server_frame(buf: &[u8]) -> Option<(ServerFrame, usize)> {
    let [b0, b1, ..] = *buf else { return None };
    assert_eq!(b1 & 0x80, 0, "server frames are not masked");
    let (len, header) = match b1 & 0x7F {
        126 => (
            u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?) as usize,
            4,
        ),
        127 => (
            u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?) as usize,
            10,
        ),
        n => (n as usize, 2),
    };
    let payload = buf.get(header..header + len)?.to_vec();
    Some((
        ServerFrame {
            fin: b0 & 0x80 != 0,
            rsv1: b0 & 0x40 != 0,
            opcode: b0 & 0x0F,
            payload,
        },
        header + len,
    ))
}

/// Wraps a protocol and counts how often it frames an outgoing message.
pub struct CountEncodes<P> {
    /// The protocol wrapped.
    pub inner: P,
    /// How many times `encode` ran.
    pub encodes: Arc<AtomicUsize>,
}

impl<P: Protocol> Protocol for CountEncodes<P> {
    type ConnState = P::ConnState;
    fn encode(&mut self, state: &mut Self::ConnState, msg: &Payload, buf: &mut Vec<u8>) {
        self.encodes.fetch_add(1, Ordering::SeqCst);
        self.inner.encode(state, msg, buf);
    }
    ratchet::delegate_protocol!(inner; except encode);
}

/// The frames in `bytes` (what a server wrote), and what is left after the last whole one.
pub fn server_frames(mut bytes: &[u8]) -> (Vec<ServerFrame>, Vec<u8>) {
    let mut frames = Vec::new();
    while let Some((frame, used)) = parse_server_frame(bytes) {
        frames.push(frame);
        bytes = &bytes[used..];
    }
    (frames, bytes.to_vec())
}

/// An HTTP response: its head (through the blank line) and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status line and headers.
    pub head: String,
    /// The body (by `Content-Length`).
    pub body: Vec<u8>,
}

impl Response {
    /// The status code.
    pub fn status(&self) -> u16 {
        self.head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status line")
    }

    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// The whole HTTP responses in `bytes`, in order (bodies by `Content-Length`; a `304`
/// or a response to `HEAD` has none), and what is left after the last whole one.
pub fn responses(mut bytes: &[u8], head_requests: bool) -> (Vec<Response>, Vec<u8>) {
    let mut all = Vec::new();
    while let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&bytes[..end + 4]).into_owned();
        let mut response = Response {
            head,
            body: Vec::new(),
        };
        let len = if head_requests || response.status() == 304 || response.status() == 101 {
            0
        } else {
            response
                .header("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0)
        };
        if bytes.len() < end + 4 + len {
            break;
        }
        response.body = bytes[end + 4..end + 4 + len].to_vec();
        bytes = &bytes[end + 4 + len..];
        all.push(response);
    }
    (all, bytes.to_vec())
}

/// A fresh folder named after `name` (in the system's temporary folder, a new one each
/// call), holding `files` (relative paths and contents).
pub fn folder(name: &str, files: &[(&str, &str)]) -> PathBuf {
    static MADE: AtomicUsize = AtomicUsize::new(0);
    let n = MADE.fetch_add(1, Ordering::Relaxed);
    let base = std::env::temp_dir().join(format!("ratchet-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    for (path, contents) in files {
        let path = base.join(path);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("create the folder");
        std::fs::write(path, contents).expect("write the file");
    }
    std::fs::create_dir_all(&base).expect("create the folder");
    base
}

/// This process's resident memory, in KiB.
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

pub mod fuzz;
