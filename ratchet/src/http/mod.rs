//! HTTP/1.1 beside the WebSocket: one port for the page and the socket.
//!
//! - [`Router`] hands each connection to a route by the path of its first request
//!   (`"/chat"` → `WebSocket(Chat)`, `"/*"` → [`Static`]) and answers `404` itself.
//! - [`Static`] serves a folder with HTTP/1.1 keep-alive, content types, `ETag` and
//!   `Last-Modified`, and refuses every path that leaves the folder.
//! - [`OriginCheck`] refuses, with `403`, requests from origins not on its list.
//!
//! ```no_run
//! use ratchet::http::{Router, Static};
//! use ratchet::{Component, Server, WebSocket};
//!
//! struct Chat;
//! impl Component for Chat {
//!     fn on_message(&mut self, _: &ratchet::Conn, _: ratchet::Message<'_>) -> ratchet::Commands {
//!         ratchet::Commands::none()
//!     }
//! }
//!
//! let router = Router::new()
//!     .route("/chat", WebSocket::new(Chat))
//!     .route("/*", Static::new("public"));
//! Server::new(router).bind("127.0.0.1:8080")?.run()
//! # ; Ok::<(), std::io::Error>(())
//! ```

mod files;
mod origin;
mod router;

pub use files::Static;
pub use origin::OriginCheck;
pub use origin::OriginState;
pub use router::{NoRoute, Route, RouteState, Router, RouterState, Routes};

use crate::protocol::Outbox;
use std::fmt::Write as _;

/// Most header fields accepted in a request head.
pub(crate) const MAX_HEADERS: usize = 64;

/// A request head, looked at before anything is consumed.
pub(crate) enum Head<T> {
    /// Not all here yet.
    Partial,
    /// Complete: what the caller made of it, and the length of the head.
    Complete(T, usize),
    /// Refused: status and reason.
    Bad(u16, String),
}

/// Parses the request head at the start of `data` and hands it, with its length, to `f`.
pub(crate) fn parse_head<T>(
    data: &[u8],
    max_size: usize,
    f: impl FnOnce(&httparse::Request<'_, '_>, usize) -> T,
) -> Head<T> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(data) {
        Ok(httparse::Status::Complete(n)) if n <= max_size => Head::Complete(f(&req, n), n),
        Ok(httparse::Status::Partial) if data.len() <= max_size => Head::Partial,
        Ok(_) => Head::Bad(431, "request head is too large".into()),
        Err(httparse::Error::TooManyHeaders) => {
            Head::Bad(431, format!("more than {MAX_HEADERS} header fields"))
        }
        Err(e) => Head::Bad(400, format!("malformed HTTP request: {e}")),
    }
}

/// The value of header `name` (case-insensitive), trimmed, if it is UTF-8.
pub(crate) fn header<'a>(req: &httparse::Request<'_, 'a>, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .and_then(|h| std::str::from_utf8(h.value).ok())
        .map(str::trim)
}

/// Whether a comma-separated header value holds `token` (case-insensitive).
pub(crate) fn has_token(value: Option<&str>, token: &str) -> bool {
    value.is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

/// The path of a request target: no query, no fragment, no scheme and authority.
pub(crate) fn target_path(target: &str) -> &str {
    let target = target.split(['?', '#']).next().unwrap_or("");
    match target.split_once("://") {
        // absolute-form (RFC 9112 §3.2.2): http://host/path
        Some((scheme, rest)) if !scheme.contains('/') => rest.find('/').map_or("/", |i| &rest[i..]),
        _ => target,
    }
}

/// Whether the connection stays open after answering `req`: HTTP/1.1 unless it says
/// `Connection: close`, HTTP/1.0 only if it says `keep-alive`, and never when the request
/// has a body (we do not read request bodies).
pub(crate) fn keep_alive(req: &httparse::Request<'_, '_>) -> bool {
    let connection = header(req, "Connection");
    let has_body = header(req, "Transfer-Encoding").is_some()
        || header(req, "Content-Length").is_some_and(|n| n != "0");
    let wanted = match req.version {
        Some(1) => !has_token(connection, "close"),
        _ => has_token(connection, "keep-alive"),
    };
    wanted && !has_body
}

/// The reason phrase of a status code.
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        301 => "Moved Permanently",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        _ => "Error",
    }
}

/// Writes a status line and headers, ending the head. `headers` are complete lines, each
/// ending in `\r\n`; `content_length` is left out where the status has no body (304).
pub(crate) fn write_head(
    out: &mut Vec<u8>,
    status: u16,
    headers: &str,
    content_length: Option<usize>,
    keep_alive: bool,
) {
    let mut head = String::with_capacity(128 + headers.len());
    let _ = write!(
        head,
        "HTTP/1.1 {status} {}\r\n{headers}",
        reason_phrase(status)
    );
    if let Some(length) = content_length {
        let _ = write!(head, "Content-Length: {length}\r\n");
    }
    if !keep_alive {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    out.extend_from_slice(head.as_bytes());
}

/// Answers with `status` and `reason`, then closes: for requests the connection cannot
/// go on from. Returns how much of the input that takes (all of it).
pub(crate) fn refuse(out: &mut Outbox<'_>, status: u16, reason: &str, input: &[u8]) -> usize {
    write_error(out.output(), status, reason, "", false);
    out.shutdown();
    input.len()
}

/// Writes a plain-text error response whose body is `reason`.
pub(crate) fn write_error(
    out: &mut Vec<u8>,
    status: u16,
    reason: &str,
    headers: &str,
    keep_alive: bool,
) {
    let headers = format!("Content-Type: text/plain; charset=utf-8\r\n{headers}");
    write_head(out, status, &headers, Some(reason.len() + 1), keep_alive);
    out.extend_from_slice(reason.as_bytes());
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_paths() {
        assert_eq!(target_path("/a/b?x=1#f"), "/a/b");
        assert_eq!(target_path("http://host:80/chat?x"), "/chat");
        assert_eq!(target_path("http://host"), "/");
        assert_eq!(target_path("/a?next=http://x/y"), "/a");
    }

    #[test]
    fn keep_alive_follows_version_connection_and_body() {
        let check = |raw: &str| match parse_head(raw.as_bytes(), 8192, |req, _| keep_alive(req)) {
            Head::Complete(keep, _) => keep,
            _ => panic!("not parsed: {raw}"),
        };
        assert!(check("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
        assert!(!check("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
        assert!(!check("GET / HTTP/1.0\r\n\r\n"));
        assert!(check("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
        assert!(!check("GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\n"));
        assert!(check("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"));
    }
}
