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
//! use ratchet::{Component, IntoCommands, Server, WebSocket};
//!
//! struct Chat;
//! impl Component for Chat {
//!     fn on_message(&mut self, _: &ratchet::Conn, _: ratchet::Message<'_>) -> impl IntoCommands {
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
pub(crate) mod head;
mod origin;
mod router;

pub use files::{Static, StaticState};
pub use origin::OriginCheck;
pub use router::{NoRoute, Route, RouteState, Router, RouterState, Routes};

pub(crate) use head::{has_body, request, Head};

use crate::protocol::Outbox;
use crate::request::Request;
use std::fmt::Write as _;

/// The path of a request target: no query, no fragment, no scheme and authority.
pub(crate) fn target_path(target: &str) -> &str {
    let target = target.split(['?', '#']).next().unwrap_or("");
    match target.split_once("://") {
        // absolute-form (RFC 9112 §3.2.2): http://host/path
        Some((scheme, rest)) if !scheme.contains('/') => rest.find('/').map_or("/", |i| &rest[i..]),
        _ => target,
    }
}

/// Whether the connection stays open after a response, and whether to say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Persist {
    /// `Connection: close`: the connection ends after the response.
    Close,
    /// HTTP/1.1's default: kept, nothing to say.
    Keep,
    /// HTTP/1.0 asked for `keep-alive`: kept, and the response says so.
    KeepAnnounced,
}

impl Persist {
    /// Whether the connection stays open.
    pub fn kept(self) -> bool {
        self != Persist::Close
    }
}

/// Whether the connection stays open after answering `req`: HTTP/1.1 unless it says
/// `Connection: close`, HTTP/1.0 only if it says `keep-alive`, and never when the request
/// has a body (we do not read request bodies).
pub(crate) fn persist(req: &Request) -> Persist {
    if has_body(req) {
        return Persist::Close;
    }
    match req.minor_version() {
        1.. if !req.has_token("Connection", "close") => Persist::Keep,
        0 if req.has_token("Connection", "keep-alive") => Persist::KeepAnnounced,
        _ => Persist::Close,
    }
}

/// The reason phrase of a status code.
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        301 => "Moved Permanently",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// Writes a status line and headers, ending the head. `headers` are complete lines, each
/// ending in `\r\n`; `content_length` is left out where the status has no body (304).
pub(crate) fn write_head(
    out: &mut Vec<u8>,
    status: u16,
    headers: &str,
    content_length: Option<u64>,
    persist: Persist,
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
    match persist {
        Persist::Close => head.push_str("Connection: close\r\n"),
        Persist::KeepAnnounced => head.push_str("Connection: keep-alive\r\n"),
        Persist::Keep => {}
    }
    head.push_str("\r\n");
    out.extend_from_slice(head.as_bytes());
}

/// Answers with `status` and `reason`, then closes: for requests the connection cannot
/// go on from. Returns how much of the input that takes (all of it).
pub(crate) fn refuse(out: &mut Outbox<'_>, status: u16, reason: &str, input: &[u8]) -> usize {
    write_error(out.output(), status, reason, "", Persist::Close);
    out.shutdown();
    input.len()
}

/// Writes a plain-text error response whose body is `reason` (which may quote the
/// request: `nosniff` keeps browsers from reading it as anything but text).
pub(crate) fn write_error(
    out: &mut Vec<u8>,
    status: u16,
    reason: &str,
    headers: &str,
    persist: Persist,
) {
    let headers = format!(
        "Content-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n{headers}"
    );
    write_head(
        out,
        status,
        &headers,
        Some(reason.len() as u64 + 1),
        persist,
    );
    out.extend_from_slice(reason.as_bytes());
    out.push(b'\n');
}

/// The answer to a request the server will not serve because it is going away (shutting
/// down, or handing its sockets to a successor): the client may retry at once.
pub(crate) fn write_going_away(out: &mut Vec<u8>, reason: &str) {
    write_error(out, 503, reason, "Retry-After: 0\r\n", Persist::Close);
}

/// The answer to a connection refused at the server's connection cap.
pub(crate) fn write_busy(out: &mut Vec<u8>) {
    write_error(
        out,
        503,
        "server busy: too many connections",
        "Retry-After: 1\r\n",
        Persist::Close,
    );
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
    fn persistence_follows_version_connection_and_body() {
        let check = |raw: &str| match head::parse(raw.as_bytes(), 8192) {
            Head::Complete(req, _) => persist(&req),
            other => panic!("not parsed: {raw}: {other:?}"),
        };
        assert_eq!(check("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), Persist::Keep);
        assert_eq!(
            check("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
            Persist::Close
        );
        assert_eq!(check("GET / HTTP/1.0\r\n\r\n"), Persist::Close);
        assert_eq!(
            check("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"),
            Persist::KeepAnnounced
        );
        assert_eq!(
            check("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n"),
            Persist::Close
        );
        assert_eq!(
            check("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"),
            Persist::Keep
        );
        let mut out = Vec::new();
        write_head(&mut out, 200, "", Some(0), Persist::KeepAnnounced);
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("\r\nConnection: keep-alive\r\n"));
    }
}
