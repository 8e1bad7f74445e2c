//! Behind a real HAProxy (`send-proxy-v2` and `send-proxy`: PROXY protocol v2 and v1) and a
//! real nginx (`proxy_pass` with the upgrade headers and `X-Forwarded-For`), the app sees
//! the 127.0.0.x address each client connected from, not the proxy's, and an `IpBlacklist`
//! inside judges the client; connections not from the trusted proxy are served by their
//! own address, and what they claim is not believed.

use ratchet::{
    Component, Conn, ForwardedFor, IntoCommands, IpBlacklist, Message, ProxyProtocol, WebSocket,
};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use suite::{have_tool, serve, upgrade_request, wait_until, Nginx, RawClient};

/// Answers every message with the peer's address.
struct WhoAmI;

impl Component for WhoAmI {
    fn on_message(&mut self, from: &Conn, _: Message<'_>) -> impl IntoCommands {
        from.send(from.peer().ip().to_string())
    }
}

/// HAProxy in front of `server`: a frontend per PROXY version, each forwarding from
/// 127.0.0.2. Killed when dropped.
struct Haproxy {
    child: Child,
    /// Its configuration; removed after it stops.
    _dir: suite::Folder,
    v2: SocketAddr,
    v1: SocketAddr,
}

impl Haproxy {
    fn start(server: SocketAddr) -> Self {
        let (v2, v1) = (suite::free_port(), suite::free_port());
        let config = format!(
            "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n\
             frontend v2\n  bind 127.0.0.1:{v2}\n  default_backend v2\n\
             backend v2\n  server app {server} send-proxy-v2 source 127.0.0.2\n\
             frontend v1\n  bind 127.0.0.1:{v1}\n  default_backend v1\n\
             backend v1\n  server app {server} send-proxy source 127.0.0.2\n"
        );
        let dir = suite::folder("haproxy", &[("haproxy.cfg", &config)]);
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(dir.join("haproxy.cfg"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("haproxy");
        let (v2, v1) = (
            SocketAddr::from(([127, 0, 0, 1], v2)),
            SocketAddr::from(([127, 0, 0, 1], v1)),
        );
        wait_until("HAProxy listening", || {
            TcpStream::connect(v2).is_ok() && TcpStream::connect(v1).is_ok()
        });
        Haproxy {
            child,
            _dir: dir,
            v2,
            v1,
        }
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Connects to `addr` from `source`, upgrades, and asks who it is.
fn who_am_i(addr: SocketAddr, source: &str) -> String {
    let mut c = RawClient::connect_from(addr, ip(source));
    c.write(upgrade_request("/", "").as_bytes());
    let head = c.read_head();
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    c.send_text("who am I?");
    String::from_utf8(c.read_frame().payload).unwrap()
}

#[test]
fn behind_haproxy_the_app_sees_the_client_not_the_proxy() {
    if !have_tool("HAProxy", Command::new("haproxy").arg("-v")) {
        return;
    }
    let app = IpBlacklist::with(WebSocket::new(WhoAmI), [ip("127.0.0.6")]);
    let server =
        serve(ProxyProtocol::new(app, [ip("127.0.0.2")]).timeout(Duration::from_millis(300)));
    let haproxy = Haproxy::start(server);

    assert_eq!(
        who_am_i(haproxy.v2, "127.0.0.5"),
        "127.0.0.5",
        "through PROXY v2"
    );
    assert_eq!(
        who_am_i(haproxy.v1, "127.0.0.7"),
        "127.0.0.7",
        "through PROXY v1"
    );

    // The blacklist inside judges the client, not the proxy: closed without an answer.
    let mut blocked = RawClient::connect_from(haproxy.v2, ip("127.0.0.6"));
    blocked.write(upgrade_request("/", "").as_bytes());
    assert!(blocked.closed_within(Duration::from_secs(5)));
    assert_eq!(
        who_am_i(haproxy.v2, "127.0.0.8"),
        "127.0.0.8",
        "others carry on"
    );

    // Not from the proxy: served by its own address, and its header is not believed.
    assert_eq!(who_am_i(server, "127.0.0.9"), "127.0.0.9");
    let mut liar = RawClient::connect_from(server, ip("127.0.0.9"));
    let mut forged = b"PROXY TCP4 10.0.0.1 127.0.0.1 1234 80\r\n".to_vec();
    forged.extend(upgrade_request("/", "").as_bytes());
    liar.write(&forged);
    let (head, _) = liar.read_response();
    assert!(head.starts_with("HTTP/1.1 400 "), "{head}");

    // From the proxy's address but with no header: closed when the header's time is up.
    let mut silent = RawClient::connect_from(server, ip("127.0.0.2"));
    assert!(silent.closed_within(Duration::from_secs(3)));
}

#[test]
fn behind_nginx_the_app_sees_the_client_not_the_proxy() {
    if !have_tool("nginx", Command::new("nginx").arg("-v")) {
        return;
    }
    let app = IpBlacklist::with(WebSocket::new(WhoAmI), [ip("127.0.0.6")]);
    let server = serve(ForwardedFor::new(app, [ip("127.0.0.3")]));
    let nginx = Nginx::start(server);

    assert_eq!(
        who_am_i(nginx.addr, "127.0.0.5"),
        "127.0.0.5",
        "through nginx"
    );
    assert_eq!(who_am_i(nginx.addr, "127.0.0.7"), "127.0.0.7");

    // The blacklist inside judges the client: nginx gets no upgrade, and says so.
    let mut blocked = RawClient::connect_from(nginx.addr, ip("127.0.0.6"));
    blocked.write(upgrade_request("/", "").as_bytes());
    let (head, _) = blocked.read_response();
    assert!(head.starts_with("HTTP/1.1 502 "), "{head}");

    // Not from nginx: served by its own address, whatever it claims.
    let mut liar = RawClient::connect_from(server, ip("127.0.0.9"));
    liar.write(upgrade_request("/", "X-Forwarded-For: 10.0.0.1\r\n").as_bytes());
    assert!(liar.read_head().starts_with("HTTP/1.1 101 "));
    liar.send_text("who am I?");
    assert_eq!(
        String::from_utf8(liar.read_frame().payload).unwrap(),
        "127.0.0.9"
    );
}
