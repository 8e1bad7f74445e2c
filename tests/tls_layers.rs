//! TLS under the other layers, and audited: Hixie-76 and sessions by cookie through the
//! TLS decorator, testssl.sh's verdict on the TLS echo, and `openssl s_client`'s garbage
//! and half handshakes.

use ratchet::tls::{Tls, TlsCertificates};
use ratchet::{Component, Conn, IntoCommands, Message, WebSocket};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use suite::{have_python_client, have_tool, serve_handle, TestCa};

struct Echo;

impl Component for Echo {
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        from.send(msg)
    }
}

/// testssl.sh (Debian's) against the TLS echo: TLS 1.2 and 1.3 only, none of the
/// vulnerabilities it checks, no weak cipher, the server's cipher order; only findings about
/// the test certificate itself (a CA made here, no revocation URLs) are left, and they are
/// printed with the verdict.
#[test]
fn testssl_finds_no_weakness() {
    if !have_tool("testssl.sh", Command::new("testssl").arg("--version")) {
        return;
    }
    let ca = TestCa::new("testssl");
    let leaf = ca.leaf("localhost", &["localhost", "127.0.0.1"]);
    let certs = TlsCertificates::from_pem_files(&leaf.chain, &leaf.key).unwrap();
    let (addr, _handle) = serve_handle(Tls::new(WebSocket::new(Echo), certs));
    let json = ca.dir().join("testssl.json");
    let out = Command::new("testssl")
        .args(["--quiet", "--color", "0", "--warnings", "off", "--add-ca"])
        .arg(&ca.cert)
        .arg("--jsonfile")
        .arg(&json)
        .arg(format!("localhost:{}", addr.port()))
        .output()
        .unwrap();
    assert!(json.exists(), "{}", String::from_utf8_lossy(&out.stdout));
    let findings: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let get = |id: &str| {
        findings
            .iter()
            .find(|f| f["id"] == id)
            .map(|f| f["finding"].as_str().unwrap_or("").to_owned())
            .unwrap_or_else(|| panic!("testssl says nothing of {id}"))
    };
    for old in ["SSLv2", "SSLv3", "TLS1", "TLS1_1"] {
        assert!(get(old).contains("not offered"), "{old}: {}", get(old));
    }
    for current in ["TLS1_2", "TLS1_3"] {
        assert!(
            get(current).starts_with("offered"),
            "{current}: {}",
            get(current)
        );
    }
    let about_the_test_certificate =
        |id: &str| id.starts_with("cert_") || id.starts_with("DNS_CAA");
    let serious: Vec<String> = findings
        .iter()
        .filter(|f| matches!(f["severity"].as_str(), Some("MEDIUM" | "HIGH" | "CRITICAL")))
        .filter(|f| !about_the_test_certificate(f["id"].as_str().unwrap_or("")))
        .map(|f| format!("{} {}: {}", f["severity"], f["id"], f["finding"]))
        .collect();
    let mut severities = std::collections::BTreeMap::new();
    for f in &findings {
        *severities
            .entry(f["severity"].as_str().unwrap_or("?").to_owned())
            .or_insert(0) += 1;
    }
    println!(
        "testssl.sh verdict: {} findings by severity {severities:?}",
        findings.len()
    );
    for f in findings
        .iter()
        .filter(|f| f["id"].as_str().is_some_and(about_the_test_certificate))
    {
        if f["severity"] != "OK" && f["severity"] != "INFO" {
            println!(
                "  about the test certificate: {} {}: {}",
                f["severity"], f["id"], f["finding"]
            );
        }
    }
    assert!(serious.is_empty(), "testssl.sh found: {serious:#?}");
}

/// Hixie-76, the oldest version the decorator inside speaks, over TLS too: its handshake
/// (with the 8 bytes after the head and the 16-byte answer) and its `0x00 text 0xFF`
/// frames pass through the TLS layer unchanged. Python's `ssl` is the client.
#[test]
fn hixie_76_works_over_tls() {
    if !have_python_client() {
        return;
    }
    let ca = TestCa::new("hixie");
    let leaf = ca.leaf("localhost", &["localhost", "127.0.0.1"]);
    let certs = TlsCertificates::from_pem_files(&leaf.chain, &leaf.key).unwrap();
    let (addr, _handle) = serve_handle(Tls::new(WebSocket::new(Echo), certs));
    let script = format!(
        r#"
import socket, ssl
ctx = ssl.create_default_context(cafile={ca:?})
with ctx.wrap_socket(socket.create_connection(("127.0.0.1", {port}), timeout=10), server_hostname="localhost") as s:
    s.sendall(b"GET /demo HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nSec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\nUpgrade: WebSocket\r\nSec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\nOrigin: http://example.com\r\n\r\n^n:ds[4U")
    got = b""
    while not got.endswith(b"8jKS'y:G*Co,Wxa-"):
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
    print("handshake", got.split(b"\r\n")[0].decode(), got.endswith(b"8jKS'y:G*Co,Wxa-"))
    s.sendall(b"\x00hello over tls\xff")
    frame = b""
    while not frame.endswith(b"\xff"):
        frame += s.recv(4096)
    print("echo", frame[1:-1].decode())
"#,
        ca = ca.cert.display().to_string(),
        port = addr.port()
    );
    let said = suite::python(&script);
    assert!(
        said.contains("handshake HTTP/1.1 101 WebSocket Protocol Handshake True"),
        "{said}"
    );
    assert!(said.contains("echo hello over tls"), "{said}");
}

/// Says who the session by cookie says the client is.
struct WhoIsIt;

impl Component for WhoIsIt {
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        use ratchet::session::SessionExt;
        let user: Option<String> = conn.session().and_then(|s| s.get("user"));
        conn.send(format!("user {}", user.as_deref().unwrap_or("none")))
    }
    fn on_message(&mut self, _: &Conn, _: Message<'_>) -> impl IntoCommands {}
}

/// A session by cookie over TLS, as a site on `https://` sets it (a `Secure` cookie is one
/// the browser sends only over TLS): read from a real Redis at the handshake, through the
/// TLS layer.
#[test]
fn sessions_by_cookie_work_over_tls() {
    if !have_python_client() {
        return;
    }
    let Some(redis) = suite::RedisServer::start() else {
        return;
    };
    let session = br#"user|s:5:"alice";"#;
    assert_eq!(
        redis
            .run(&[b"SET", b"PHPREDIS_SESSION:s3cure", session])
            .as_deref(),
        Some("+OK")
    );
    let ca = TestCa::new("session");
    let leaf = ca.leaf("localhost", &["localhost", "127.0.0.1"]);
    let certs = TlsCertificates::from_pem_files(&leaf.chain, &leaf.key).unwrap();
    let app = ratchet::session::Session::new(WebSocket::new(WhoIsIt), redis.url());
    let (addr, _handle) = serve_handle(Tls::new(app, certs));
    let script = format!(
        r#"
import ssl
from websockets.sync.client import connect
ctx = ssl.create_default_context(cafile={ca:?})
with connect("wss://localhost:{port}/", ssl=ctx, open_timeout=10,
             additional_headers={{"Cookie": "PHPSESSID=s3cure"}}) as ws:
    print(ws.recv(timeout=10))
"#,
        ca = ca.cert.display().to_string(),
        port = addr.port()
    );
    let said = suite::python(&script);
    assert_eq!(said.trim(), "user alice");
}

/// The ClientHello `openssl s_client` sends (captured by a listener of the test's own):
/// one whole TLS record.
fn openssl_client_hello() -> Vec<u8> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut client = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-servername", "localhost"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (mut stream, _) = listener.accept().unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut header = [0u8; 5];
    stream.read_exact(&mut header).unwrap();
    assert_eq!(header[0], 22, "a handshake record");
    let mut body = vec![0u8; usize::from(u16::from_be_bytes([header[3], header[4]]))];
    stream.read_exact(&mut body).unwrap();
    let _ = client.kill();
    let _ = client.wait();
    assert_eq!(body[0], 1, "a ClientHello");
    [&header[..], &body].concat()
}

/// Sends `bytes`, then reads until the server closes: what it answered, and how long it
/// took to close.
fn answer_to(addr: SocketAddr, bytes: &[u8]) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    (answer, started.elapsed())
}

/// `openssl s_client` against the TLS echo: its own ClientHello with the cipher suites
/// overwritten by garbage gets an alert at once; the same ClientHello whole, with nothing
/// after the server's reply (a half handshake), is closed at the handshake timeout; while
/// both run, a complete `openssl s_client` verifies the certificate and upgrades.
#[test]
fn openssl_s_client_garbage_and_half_handshakes_are_closed_and_others_served() {
    if !have_tool("openssl", Command::new("openssl").arg("version")) {
        return;
    }
    let ca = TestCa::new("s_client");
    let leaf = ca.leaf("localhost", &["localhost", "127.0.0.1"]);
    let certs = TlsCertificates::from_pem_files(&leaf.chain, &leaf.key).unwrap();
    let timeout = Duration::from_millis(1500);
    let tls = Tls::new(WebSocket::new(Echo), certs).handshake_timeout(timeout);
    let (addr, _handle) = serve_handle(tls);

    let hello = openssl_client_hello();
    // Record header (5), handshake header (4), version (2), random (32), session id.
    let suites_at = 5 + 4 + 2 + 32 + 1 + usize::from(hello[5 + 4 + 2 + 32]);
    let mut garbage = hello.clone();
    for byte in &mut garbage[suites_at..suites_at + 40] {
        *byte = 0xff;
    }
    let garbled = std::thread::spawn(move || answer_to(addr, &garbage));
    let half = std::thread::spawn(move || answer_to(addr, &hello));

    // Meanwhile, a whole handshake and an upgrade.
    let mut full = Command::new("openssl")
        .args(["s_client", "-connect", &addr.to_string()])
        .args(["-servername", "localhost", "-brief", "-verify_return_error"])
        .arg("-CAfile")
        .arg(&ca.cert)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let request = suite::upgrade_request("/", "");
    full.stdin
        .as_mut()
        .unwrap()
        .write_all(request.as_bytes())
        .unwrap();
    let mut status = String::new();
    BufReader::new(full.stdout.take().unwrap())
        .read_line(&mut status)
        .unwrap();
    let _ = full.kill();
    let out = full.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status, "HTTP/1.1 101 Switching Protocols\r\n", "{said}");
    assert!(said.contains("Verification: OK"), "{said}");

    let (alert, took) = garbled.join().unwrap();
    assert_eq!(alert.first(), Some(&21), "an alert record: {alert:?}");
    assert!(took < timeout, "garbage is refused at once: {took:?}");
    let (reply, took) = half.join().unwrap();
    assert_eq!(reply.first(), Some(&22), "the server's hello: {reply:?}");
    assert!(
        took >= timeout - Duration::from_millis(100) && took < timeout * 3,
        "a half handshake is closed at the timeout: {took:?}"
    );
}

/// Never answers its door.
struct Undecided;

impl Component for Undecided {
    fn on_request(&mut self, _: &Conn) -> ratchet::Door {
        ratchet::Door::Later
    }

    fn on_message(&mut self, _: &Conn, _: Message<'_>) -> impl IntoCommands {}
}

/// A client that keeps sending while its request waits at the door is held to the read
/// buffer over TLS as over plain TCP: TLS decrypts no more than it may hold for the
/// protocol inside, the rest stays ciphertext in the server's bounded buffer, and past it
/// the connection is dropped instead of buffered without end.
#[test]
fn tls_holds_no_more_plaintext_than_its_bound_for_a_protocol_that_waits() {
    if !have_python_client() {
        return;
    }
    let ca = TestCa::new("tls-held");
    let leaf = ca.leaf("localhost", &["localhost", "127.0.0.1"]);
    let certs = TlsCertificates::from_pem_files(&leaf.chain, &leaf.key).unwrap();
    let (addr, _handle) = serve_handle(Tls::new(WebSocket::new(Undecided), certs));
    let said = suite::python(&format!(
        r#"
import socket, ssl
ctx = ssl.create_default_context(cafile={ca:?})
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", {port})), server_hostname="localhost")
s.settimeout(5)
sent = 0
try:
    s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    while sent < 8 << 20:
        s.sendall(b"x" * 16384)
        sent += 16384
    s.recv(1)
    print("open", sent)
except TimeoutError:
    print("open", sent)
except (OSError, ssl.SSLError) as e:
    print("closed", sent, type(e).__name__)
"#,
        ca = ca.cert.display().to_string(),
        port = addr.port()
    ));
    assert!(said.starts_with("closed "), "{said}");
}
