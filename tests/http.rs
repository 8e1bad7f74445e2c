//! One port for the page and the socket: the router, static files and their refusals,
//! over real sockets.

use ratchet::http::{Router, Static};
use ratchet::IntoCommands;
use ratchet::{Commands, Component, Conn, ConnSet, Message, WebSocket};
use std::fs;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use suite::RawClient;

#[derive(Default)]
struct Chat {
    clients: ConnSet,
}

impl Component for Chat {
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        self.clients.insert(conn);
        Commands::none()
    }
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        self.clients.except(from).send(msg)
    }
    fn on_close(&mut self, conn: &Conn) -> impl IntoCommands {
        self.clients.remove(conn);
        Commands::none()
    }
}

/// A fresh folder `name` under the target's scratch space:
/// `<name>/public` (the root: a page, a stylesheet, a script, a sub-folder, a hidden file,
/// symlinks out of the root) and `<name>/secret.txt` beside it.
fn site(name: &str) -> PathBuf {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = fs::remove_dir_all(&base);
    let public = base.join("public");
    fs::create_dir_all(public.join("docs")).unwrap();
    fs::write(
        public.join("index.html"),
        "<!doctype html><title>chat</title>",
    )
    .unwrap();
    fs::write(public.join("style.css"), "body { margin: 0 }").unwrap();
    fs::write(public.join("app.js"), "console.log('hi')").unwrap();
    fs::write(public.join("docs/index.html"), "docs").unwrap();
    fs::write(public.join(".env"), "TOP-SECRET").unwrap();
    fs::write(base.join("secret.txt"), "TOP-SECRET").unwrap();
    std::os::unix::fs::symlink(base.join("secret.txt"), public.join("leak.txt")).unwrap();
    std::os::unix::fs::symlink(&base, public.join("up")).unwrap();
    std::os::unix::fs::symlink(public.join("style.css"), public.join("inside.css")).unwrap();
    public
}

fn serve_site(name: &str) -> SocketAddr {
    let router = Router::new()
        .route("/chat", WebSocket::new(Chat::default()))
        .route("/*", Static::new(site(name)));
    suite::serve(router)
}

fn get(client: &mut RawClient, target: &str, extra: &str) -> (String, String) {
    client.write(format!("GET {target} HTTP/1.1\r\nHost: h\r\n{extra}\r\n").as_bytes());
    client.read_response()
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn the_page_and_the_socket_share_a_port() {
    let addr = serve_site("http-share");
    let mut page = RawClient::connect(addr);
    let (head, body) = get(&mut page, "/", "");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert_eq!(
        header(&head, "Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(body, "<!doctype html><title>chat</title>");

    // Keep-alive: the same connection asks for the assets.
    let (head, body) = get(&mut page, "/style.css", "");
    assert_eq!(
        header(&head, "Content-Type"),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(body, "body { margin: 0 }");
    let (head, _) = get(&mut page, "/app.js?v=3", "");
    assert_eq!(
        header(&head, "Content-Type"),
        Some("text/javascript; charset=utf-8")
    );
    let (head, body) = get(&mut page, "/docs/", "");
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(body, "docs");
    let (head, _) = get(&mut page, "/docs", "");
    assert!(head.starts_with("HTTP/1.1 301 "), "{head}");
    assert_eq!(header(&head, "Location"), Some("/docs/"));
    let (head, body) = get(&mut page, "/inside.css", "");
    assert!(
        head.starts_with("HTTP/1.1 200 "),
        "a symlink inside the root: {head}"
    );
    assert_eq!(body, "body { margin: 0 }");

    // Two pipelined requests in one write, answered in order.
    page.write(
        b"GET /style.css HTTP/1.1\r\nHost: h\r\n\r\nGET /app.js HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    assert_eq!(page.read_response().1, "body { margin: 0 }");
    assert_eq!(page.read_response().1, "console.log('hi')");

    // The socket, beside it.
    let mut alice = RawClient::open(addr, "/chat");
    let mut bob = RawClient::open(addr, "/chat");
    // Every version goes through the router: a Hixie-76 client too (key3 after the head).
    let mut old = RawClient::connect(addr);
    old.write(b"GET /chat HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nSec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\nUpgrade: WebSocket\r\nSec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\nOrigin: http://example.com\r\n\r\n^n:ds[4U");
    assert!(old.read_head().starts_with("HTTP/1.1 101 "));
    assert_eq!(old.read_exact(16), b"8jKS'y:G*Co,Wxa-");
    alice.send_text("hello from the page's port");
    bob.expect_text("hello from the page's port");
    assert_eq!(old.read_exact(28), b"\x00hello from the page's port\xff");

    // A keep-alive connection asking to close is closed after the answer.
    let (head, _) = get(&mut page, "/", "Connection: close\r\n");
    assert!(head.contains("Connection: close\r\n"), "{head}");
    assert!(page.closed_within(Duration::from_secs(5)));
}

#[test]
fn etags_and_dates_answer_304_and_head_has_no_body() {
    let addr = serve_site("http-cache");
    let mut c = RawClient::connect(addr);
    let (head, _) = get(&mut c, "/style.css", "");
    let etag = header(&head, "ETag").expect("an ETag").to_owned();
    let modified = header(&head, "Last-Modified")
        .expect("a Last-Modified")
        .to_owned();

    let (head, body) = get(&mut c, "/style.css", &format!("If-None-Match: {etag}\r\n"));
    assert!(head.starts_with("HTTP/1.1 304 Not Modified\r\n"), "{head}");
    assert_eq!(header(&head, "ETag"), Some(etag.as_str()));
    assert!(body.is_empty());
    let (head, _) = get(
        &mut c,
        "/style.css",
        &format!("If-None-Match: \"x\", W/{etag}\r\n"),
    );
    assert!(head.starts_with("HTTP/1.1 304 "), "weak comparison: {head}");
    let (head, body) = get(&mut c, "/style.css", "If-None-Match: \"other\"\r\n");
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(body, "body { margin: 0 }");
    let (head, _) = get(
        &mut c,
        "/style.css",
        &format!("If-Modified-Since: {modified}\r\n"),
    );
    assert!(head.starts_with("HTTP/1.1 304 "), "{head}");

    c.write(b"HEAD /app.js HTTP/1.1\r\nHost: h\r\n\r\n");
    let head = c.read_head();
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(header(&head, "Content-Length"), Some("17"));
    // No body came: the next answer starts right away.
    let (head, body) = get(&mut c, "/style.css", "");
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(body, "body { margin: 0 }");
}

#[test]
fn wrong_methods_get_405_and_unknown_paths_404() {
    let addr = serve_site("http-methods");
    let mut c = RawClient::connect(addr);
    c.write(b"DELETE /style.css HTTP/1.1\r\nHost: h\r\n\r\n");
    let (head, _) = c.read_response();
    assert!(head.starts_with("HTTP/1.1 405 "), "{head}");
    assert_eq!(header(&head, "Allow"), Some("GET, HEAD"));
    let (head, _) = get(&mut c, "/missing.html", "");
    assert!(head.starts_with("HTTP/1.1 404 "), "{head}");

    let mut c = RawClient::connect(addr);
    c.write(b"POST /chat HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
    let (head, _) = c.read_response();
    assert!(head.starts_with("HTTP/1.1 405 "), "{head}");
    assert_eq!(header(&head, "Allow"), Some("GET"));

    // Without a catch-all route, the router answers 404 itself and keeps the connection.
    let addr = suite::serve(Router::new().route("/chat", WebSocket::new(Chat::default())));
    let mut c = RawClient::connect(addr);
    let (head, _) = get(&mut c, "/nothing-here", "");
    assert!(head.starts_with("HTTP/1.1 404 "), "{head}");
    let (head, _) = get(&mut c, "/elsewhere", "");
    assert!(head.starts_with("HTTP/1.1 404 "), "still open: {head}");
    drop(c);
    let mut ws = RawClient::open(addr, "/chat");
    ws.send_text("alone");
}

#[test]
fn no_hostile_path_reaches_outside_the_root() {
    let addr = serve_site("http-traversal");
    let hostile = [
        "/../secret.txt",
        "/../../../../etc/passwd",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret.txt",
        "/.%2e/secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/..%2fsecret.txt",
        "/docs/../../secret.txt",
        "/docs/%2e%2e/%2e%2e/secret.txt",
        "/%5c..%5csecret.txt",
        "/..%5csecret.txt",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "http://h/../secret.txt",
        "/leak.txt",
        "/up/secret.txt",
        "/up/public/../secret.txt",
        "/secret.txt%00.html",
        "/%252e%252e/secret.txt",
        "/.env",
        "/%2eenv",
        "/%c0%ae%c0%ae/secret.txt",
    ];
    for target in hostile {
        // A fresh connection each time: some refusals end it.
        let mut c = RawClient::connect(addr);
        let (head, body) = get(&mut c, target, "");
        let status: u16 = head[9..12].parse().unwrap();
        assert!(
            matches!(status, 400 | 403 | 404),
            "{target}: refused, not {head}"
        );
        assert!(
            !body.contains("TOP-SECRET") && !body.contains("root:"),
            "{target} leaked: {body}"
        );
    }
}

#[test]
fn oversize_and_malformed_heads_are_refused() {
    let addr = serve_site("http-limits");
    let mut c = RawClient::connect(addr);
    c.write(
        format!(
            "GET / HTTP/1.1\r\nHost: h\r\nX-Big: {}\r\n\r\n",
            "a".repeat(9000)
        )
        .as_bytes(),
    );
    let (head, _) = c.read_response();
    assert!(head.starts_with("HTTP/1.1 431 "), "{head}");

    let mut c = RawClient::connect(addr);
    c.write(b"GET / HTTP/1.1\r\nHost h\r\n\r\n");
    let (head, body) = c.read_response();
    assert!(head.starts_with("HTTP/1.1 400 "), "{head}");
    assert!(body.contains("malformed"), "{body}");
}

#[test]
fn pipelined_requests_each_go_to_their_own_route() {
    let public = site("http-pipelined");
    let manual = public.parent().unwrap().join("manual");
    fs::create_dir_all(&manual).unwrap();
    fs::write(manual.join("index.html"), "the manual").unwrap();
    let addr = suite::serve(
        Router::new()
            .route("/*", Static::new(&public))
            .route("/manual/*", Static::new(&manual)),
    );
    let mut c = RawClient::connect(addr);
    c.write(b"GET /style.css HTTP/1.1\r\nHost: h\r\n\r\nGET /manual/ HTTP/1.1\r\nHost: h\r\n\r\nGET /app.js HTTP/1.1\r\nHost: h\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(c.read_response().1, "body { margin: 0 }");
    assert_eq!(c.read_response().1, "the manual");
    assert_eq!(c.read_response().1, "console.log('hi')");
    assert!(c.read_response().0.starts_with("HTTP/1.1 404 "));
}

/// Starts timer 7 when a connection opens and tells everyone the key that fired.
#[derive(Default)]
struct Ticker {
    clients: ConnSet,
}

impl Component for Ticker {
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        self.clients.insert(conn);
        ratchet::Command::after(Duration::from_millis(20), 7)
    }
    fn on_message(&mut self, _: &Conn, _: Message<'_>) -> impl IntoCommands {
        Commands::none()
    }
    fn on_timer(&mut self, key: u64) -> impl IntoCommands {
        self.clients.send(format!("timer {key}"))
    }
}

#[test]
fn application_timers_behind_a_router_come_back_with_their_own_keys() {
    let public = site("http-timers");
    let addr = suite::serve(
        Router::new()
            .route("/*", Static::new(&public))
            .route("/a", WebSocket::new(Ticker::default()))
            .route("/b", WebSocket::new(Ticker::default())),
    );
    let mut a = RawClient::open(addr, "/a");
    a.expect_text("timer 7");
    let mut b = RawClient::open(addr, "/b");
    b.expect_text("timer 7");
    // Each app heard only its own timer.
    a.stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    assert!(std::io::Read::read(&mut a.stream, &mut [0; 1]).is_err());
}
