//! Outbound connections through a real HTTP proxy (tinyproxy, with `CONNECT`): `ws://` and
//! `wss://` (TLS inside the tunnel), the blocking client too, and a refused tunnel
//! reported as one.

#[allow(dead_code)]
#[path = "../examples/echo.rs"]
mod echo;

use ratchet::client::{Connect, ConnectFailure, Socket};
use ratchet::message::Payload;
use ratchet::tls::{Tls, TlsCertificates};
use std::process::{Child, Command, Stdio};
use suite::{Heard, Probe};

/// tinyproxy on a free loopback port, stopped when dropped.
struct Tinyproxy {
    child: Child,
    /// Its configuration; removed after it stops.
    _dir: suite::Folder,
    url: String,
}

impl Tinyproxy {
    fn start() -> Option<Self> {
        if !suite::have_tool(
            "tinyproxy (apt install tinyproxy)",
            Command::new("tinyproxy").arg("-v"),
        ) {
            return None;
        }
        let port = suite::free_port();
        let template =
            std::fs::read_to_string(suite::root().join("tests/servers/tinyproxy.conf.in"))
                .expect("the configuration template");
        let dir = suite::folder(
            "tinyproxy",
            &[(
                "tinyproxy.conf",
                &template.replace("@PORT@", &port.to_string()),
            )],
        );
        let child = Command::new("tinyproxy")
            .arg("-d")
            .arg("-c")
            .arg(dir.join("tinyproxy.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tinyproxy");
        suite::wait_until("tinyproxy listening", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Some(Tinyproxy {
            child,
            _dir: dir,
            url: format!("http://127.0.0.1:{port}"),
        })
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn ws_and_wss_through_a_proxy() {
    let Some(proxy) = Tinyproxy::start() else {
        return;
    };
    let plain = suite::serve(echo::protocol());
    let ca = suite::TestCa::new("outbound-proxy");
    let leaf = ca.leaf("localhost", &["localhost"]);
    let certs = TlsCertificates::from_pem_files(&leaf.chain, &leaf.key).unwrap();
    let secure = suite::serve(Tls::new(echo::protocol(), certs));
    let hello = Payload::text("through the tunnel");
    let connects = vec![
        (1, Connect::new(format!("ws://{plain}/")).proxy(&proxy.url)),
        (
            2,
            Connect::new(format!("wss://localhost:{}/", secure.port()))
                .proxy(&proxy.url)
                .trust_pem_file(&ca.cert)
                .unwrap(),
        ),
    ];
    let (rx, _handle) = Probe::serve(connects, vec![hello.clone()]);
    let mut heard: Vec<Heard> = (0..4).map(|_| suite::next_heard(&rx)).collect();
    heard.sort_by_key(|h| format!("{h:?}"));
    for key in [1, 2] {
        assert!(heard.contains(&Heard::Open(key, None)), "{heard:?}");
        assert!(
            heard.contains(&Heard::Message(key, hello.clone())),
            "{heard:?}"
        );
    }

    // The blocking client, too.
    let connect = Connect::new(format!("ws://{plain}/")).proxy(&proxy.url);
    let mut socket = Socket::connect(&connect).expect("through the proxy");
    socket.send("blocking").unwrap();
    assert_eq!(socket.recv().unwrap(), Some(Payload::text("blocking")));
}

#[test]
fn a_tunnel_the_proxy_cannot_make_is_reported() {
    let Some(proxy) = Tinyproxy::start() else {
        return;
    };
    let closed = suite::free_port();
    let connect = Connect::new(format!("ws://127.0.0.1:{closed}/")).proxy(&proxy.url);
    let (rx, _handle) = Probe::serve(vec![(1, connect)], vec![]);
    match suite::next_heard(&rx) {
        Heard::Failed(1, ConnectFailure::Proxy(why), 1, None) => {
            assert!(why.contains("CONNECT answered"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    let bad = Connect::new("ws://127.0.0.1:1/").proxy("https://127.0.0.1:1");
    let (rx, _handle) = Probe::serve(vec![(2, bad)], vec![]);
    assert!(matches!(
        suite::next_heard(&rx),
        Heard::Failed(2, ConnectFailure::InvalidUrl(_), 1, None)
    ));
}
