//! TLS as a decorator, over real sockets: Python's `ssl` and `websockets` exchange every
//! message size from 0 B to 16 MiB over wss://, compressed; certificates are chosen by SNI and
//! reloaded without dropping open connections (a bad file keeps the old one); a client
//! that sends garbage gets an alert and is closed, one that stops halfway is closed at
//! the handshake timeout, and neither disturbs the others.

use ratchet::tls::{Tls, TlsCertificates};
use ratchet::websocket::Config;
use ratchet::{Component, Conn, IntoCommands, Message, WebSocket};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};
use suite::{have_python_client, root, serve_handle, TestCa};

struct Echo;

impl Component for Echo {
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        from.send(msg)
    }
}

fn client() -> String {
    root()
        .join("tests/clients/wss_echo.py")
        .display()
        .to_string()
}

/// What the certificate-only mode of the client prints for `servername`.
fn served_cert(addr: SocketAddr, servername: &str, ca: &TestCa) -> String {
    let out = Command::new("python3")
        .args([
            &client(),
            "--cert",
            "127.0.0.1",
            &addr.port().to_string(),
            servername,
        ])
        .arg(&ca.cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn wss_echoes_every_size_from_0_bytes_to_16_mib() {
    if !have_python_client() {
        return;
    }
    let ca = TestCa::new("sizes");
    let leaf = ca.leaf("localhost", &["localhost", "127.0.0.1"]);
    let certs = TlsCertificates::from_pem_files(&leaf.chain, &leaf.key).unwrap();
    // Compressed (the client offers permessage-deflate): the large messages are inflated
    // a slice per loop turn, through the TLS decorator's held plaintext.
    let config = Config::default()
        .max_message_size(16 << 20)
        .deflate(ratchet::websocket::Deflate::default());
    let ws = WebSocket::with_config(Echo, config);
    let (addr, _handle) = serve_handle(Tls::new(ws, certs));
    let mut sizes: Vec<String> = vec!["0".into(), "1".into(), "125".into(), "126".into()];
    sizes.extend((7..=24).map(|bits| (1usize << bits).to_string()));
    sizes.push("65535".into());
    sizes.push("65536".into());
    let out = Command::new("python3")
        .arg(client())
        .arg(format!("wss://localhost:{}/", addr.port()))
        .arg(&ca.cert)
        .args(&sizes)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for size in &sizes {
        assert!(said.contains(&format!("ok {size}\n")), "{size} B: {said}");
    }
    assert!(said.contains("extensions permessage-deflate"), "{said}");
    assert!(
        said.contains(&format!("cert {}", leaf.fingerprint)),
        "{said}"
    );
}

#[test]
fn certificates_follow_sni_and_reload_without_dropping_connections() {
    if !have_python_client() {
        return;
    }
    let ca = TestCa::new("reload");
    let first = ca.leaf("default", &["localhost", "127.0.0.1"]);
    let other = ca.leaf("other", &["other.test"]);
    let certs = TlsCertificates::from_pem_files(&first.chain, &first.key)
        .unwrap()
        .with_name("other.test", &other.chain, &other.key)
        .unwrap();
    let (addr, handle) = serve_handle(Tls::new(WebSocket::new(Echo), certs));

    let said = served_cert(addr, "localhost", &ca);
    assert!(
        said.contains(&format!("cert {}", first.fingerprint)),
        "{said}"
    );
    assert!(
        said.contains("version TLSv1.3") && said.contains("alpn http/1.1"),
        "{said}"
    );
    let said = served_cert(addr, "other.test", &ca);
    assert!(
        said.contains(&format!("cert {}", other.fingerprint)),
        "{said}"
    );

    // A connection open across the reload keeps working.
    let mut open = Session::open(addr, &ca);
    assert_eq!(open.say("before"), "ok before\n");
    // New files in place of the old: new handshakes get the new certificate.
    let second = ca.leaf("default", &["localhost", "127.0.0.1"]);
    handle.reload().unwrap();
    suite::wait_until("the new certificate", || {
        served_cert(addr, "localhost", &ca).contains(&second.fingerprint)
    });
    // A bad file is refused, and the certificate in use stays.
    std::fs::write(&second.key, "not a key").unwrap();
    handle.reload().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(served_cert(addr, "localhost", &ca).contains(&second.fingerprint));
    assert_eq!(open.say("still here"), "ok still here\n");
}

/// A Python websockets session over wss:// that sends each line it is given through the
/// echo server and prints `ok ECHO`.
struct Session {
    child: std::process::Child,
    stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl Session {
    fn open(addr: SocketAddr, ca: &TestCa) -> Self {
        Self::open_at(addr, "/", ca)
    }

    /// A session at `path` that first prints the message the server greets it with, if
    /// any, and then echoes lines.
    fn open_at(addr: SocketAddr, path: &str, ca: &TestCa) -> Self {
        let script = format!(
            r#"
import ssl, sys
from websockets.sync.client import connect
ctx = ssl.create_default_context(cafile={ca:?})
with connect("wss://localhost:{port}{path}", ssl=ctx, open_timeout=10) as ws:
    print("open", flush=True)
    for line in sys.stdin:
        ws.send(line.strip())
        print("ok", ws.recv(timeout=10), flush=True)
"#,
            ca = ca.cert.display().to_string(),
            port = addr.port()
        );
        let mut child = Command::new("python3")
            .args(["-c", &script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut session = Session { child, stdout };
        assert_eq!(session.line(), "open\n");
        session
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut self.stdout, &mut line).unwrap();
        line
    }

    fn say(&mut self, text: &str) -> String {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(format!("{text}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
        self.line()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn garbage_gets_an_alert_and_a_half_handshake_the_timeout_and_others_carry_on() {
    let ca = TestCa::new("garbage");
    let leaf = ca.leaf("localhost", &["localhost", "127.0.0.1"]);
    let certs = TlsCertificates::from_pem_files(&leaf.chain, &leaf.key).unwrap();
    let tls = Tls::new(WebSocket::new(Echo), certs).handshake_timeout(Duration::from_millis(500));
    let (addr, _handle) = serve_handle(tls);

    // Not TLS at all: an alert record (content type 21), then the end.
    let mut garbage = TcpStream::connect(addr).unwrap();
    garbage
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    garbage
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = garbage.read_to_end(&mut answer);
    assert_eq!(answer.first(), Some(&21), "an alert: {answer:?}");

    // A record header promising a ClientHello that never comes: closed at the timeout.
    let started = Instant::now();
    let mut half = TcpStream::connect(addr).unwrap();
    half.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    half.write_all(&[22, 3, 1, 2, 0, 1, 0, 1, 252, 3, 3])
        .unwrap();
    let mut rest = Vec::new();
    let _ = half.read_to_end(&mut rest);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(4),
        "{took:?}"
    );

    // Meanwhile the server serves others as usual.
    if have_python_client() {
        let said = served_cert(addr, "localhost", &ca);
        assert!(said.contains(&leaf.fingerprint), "{said}");
    }
}

/// The chat example, served over TLS through the environment with a new certificate for
/// localhost signed by `ca`.
fn chat_over_tls(ca: &TestCa) -> (suite::Example, suite::Leaf) {
    let leaf = ca.leaf("localhost", &["localhost", "127.0.0.1"]);
    let (cert, key) = (
        leaf.chain.display().to_string(),
        leaf.key.display().to_string(),
    );
    let chat = suite::Example::start_with(
        "chat",
        &[("RATCHET_TLS_CERT", &cert), ("RATCHET_TLS_KEY", &key)],
    );
    (chat, leaf)
}

#[test]
fn any_generated_main_serves_tls_when_the_variables_are_set() {
    if !have_python_client() {
        return;
    }
    let ca = TestCa::new("chat");
    let (chat, _) = chat_over_tls(&ca);
    assert!(
        chat.banner.contains("wss://") && chat.banner.contains("page at https://"),
        "{}",
        chat.banner
    );
    let port = chat.addr().port();
    // The page over https://, and the chat socket over wss:// on the same port.
    let script = format!(
        r#"
import ssl, urllib.request
from websockets.sync.client import connect
ctx = ssl.create_default_context(cafile={ca:?})
page = urllib.request.urlopen("https://localhost:{port}/", context=ctx, timeout=10).read().decode()
print("page", "<!doctype html>" in page.lower())
with connect("wss://localhost:{port}/chat?name=ann", ssl=ctx, open_timeout=10) as ws:
    print("recv", ws.recv(timeout=10))
    # Its metrics, over TLS like the rest: written inside the TLS layer, not around it.
    metrics = urllib.request.urlopen("https://localhost:{port}/metrics", context=ctx, timeout=10).read().decode()
    print("metrics", 'ratchet_connections{{protocol="rfc6455"}} 1' in metrics)
"#,
        ca = ca.cert.display().to_string()
    );
    let said = suite::python(&script);
    assert!(said.contains("page True"), "{said}");
    assert!(
        said.contains(r#"recv {"here":[],"name":"ann","type":"welcome"}"#),
        "{said}"
    );
    assert!(said.contains("metrics True"), "{said}");
}

#[test]
fn a_generated_main_refuses_to_start_with_a_bad_certificate() {
    let out = Command::new(suite::example("chat"))
        .args(["--bind", "127.0.0.1:0"])
        .env("RATCHET_TLS_CERT", "/nonexistent/cert.pem")
        .env("RATCHET_TLS_KEY", "/nonexistent/key.pem")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("cannot serve TLS") && said.contains("/nonexistent/cert.pem"),
        "{said}"
    );
    let out = Command::new(suite::example("chat"))
        .args(["--bind", "127.0.0.1:0"])
        .env("RATCHET_TLS_CERT", "/nonexistent/cert.pem")
        .env_remove("RATCHET_TLS_KEY")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("without RATCHET_TLS_KEY"));
}

#[test]
fn sighup_reloads_the_certificates_of_a_generated_main() {
    if !have_python_client() {
        return;
    }
    let ca = TestCa::new("sighup");
    let (chat, first) = chat_over_tls(&ca);
    let addr = chat.addr();
    assert!(served_cert(addr, "localhost", &ca).contains(&first.fingerprint));
    let mut open = Session::open_at(addr, "/chat?name=ann", &ca);
    let second = ca.leaf("localhost", &["localhost", "127.0.0.1"]);
    let hup = Command::new("kill")
        .args(["-HUP", &chat.child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    suite::wait_until("the certificate after SIGHUP", || {
        served_cert(addr, "localhost", &ca).contains(&second.fingerprint)
    });
    // The connection opened before the reload still works: it hears of one opened after.
    assert!(open.say("hello").contains(r#""type":"welcome""#));
    let _bob = Session::open_at(addr, "/chat?name=bob", &ca);
    let heard = open.say("hi bob");
    assert!(
        heard.contains(r#"{"name":"bob","type":"joined"}"#),
        "{heard}"
    );
}
