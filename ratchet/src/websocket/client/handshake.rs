//! The client's side of the opening handshake (RFC 6455 §4.1): the request it sends and
//! the checks on the server's answer. The server's side is
//! [`websocket::handshake`](crate::websocket::handshake); they share the accept key and
//! the permessage-deflate negotiation.

use super::super::deflate::{self, Params};
use super::super::handshake::accept_key;
use crate::outbound::{Connect, ConnectFailure, Target};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

/// A request sent, and what its answer must carry.
#[derive(Debug)]
pub struct Offer {
    /// The `Sec-WebSocket-Accept` the server must answer.
    accept: String,
}

/// What the server agreed to.
#[derive(Debug, PartialEq, Eq)]
pub struct Agreed {
    /// The subprotocol it chose, among those offered.
    pub subprotocol: Option<String>,
    /// permessage-deflate, as negotiated (from the server's point of view: a client
    /// compresses with the `client_*` parameters).
    pub deflate: Option<Params>,
}

/// What the server's answer says.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// Not all of the head is here yet.
    Partial,
    /// Upgraded: the head was this long.
    Upgraded(Agreed, usize),
    /// Redirected to this location.
    Redirect(String),
    /// Refused, or not a valid answer.
    Failed(ConnectFailure),
}

/// Appends the upgrade request for `connect` to `out`, with a fresh random key.
pub fn write_request(connect: &Connect, target: &Target, out: &mut Vec<u8>) -> Offer {
    let key = BASE64.encode(rand::random::<[u8; 16]>());
    let mut request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n",
        target.resource, target.host_header
    );
    if !connect.subprotocols().is_empty() {
        request.push_str("Sec-WebSocket-Protocol: ");
        request.push_str(&connect.subprotocols().join(", "));
        request.push_str("\r\n");
    }
    if let Some(d) = connect.deflate_offer() {
        request.push_str("Sec-WebSocket-Extensions: ");
        request.push_str(&deflate::offer(d));
        request.push_str("\r\n");
    }
    for (name, value) in connect.headers() {
        // A header that would split the request is left out rather than sent.
        if [name, value].iter().any(|s| s.contains(['\r', '\n'])) {
            log::warn!("header {name:?} left out of the request: it holds a line break");
            continue;
        }
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    out.extend_from_slice(request.as_bytes());
    Offer {
        accept: accept_key(&key),
    }
}

impl Offer {
    /// Reads the server's answer from `data` (at most `max_head` bytes of head).
    pub fn answer(&self, data: &[u8], connect: &Connect, max_head: usize) -> Answer {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        let len = match response.parse(data) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) if data.len() > max_head => {
                return fail("the answer's head is too large")
            }
            Ok(httparse::Status::Partial) => return Answer::Partial,
            Err(e) => return fail(&format!("not an HTTP answer: {e}")),
        };
        let header = |name: &str| {
            let mut values = response
                .headers
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case(name))
                .filter_map(|h| std::str::from_utf8(h.value).ok());
            let first = values.next();
            (first, values.next().is_some())
        };
        let status = response.code.unwrap_or(0);
        if status != 101 {
            return match (status, header("location").0) {
                (301 | 302 | 303 | 307 | 308, Some(to)) => Answer::Redirect(to.trim().to_owned()),
                _ => Answer::Failed(ConnectFailure::Status(status)),
            };
        }
        let has_token = |name: &str, token: &str| {
            response
                .headers
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case(name))
                .filter_map(|h| std::str::from_utf8(h.value).ok())
                .flat_map(|v| v.split(','))
                .any(|t| t.trim().eq_ignore_ascii_case(token))
        };
        if !has_token("upgrade", "websocket") {
            return fail("no Upgrade: websocket");
        }
        if !has_token("connection", "upgrade") {
            return fail("no Connection: Upgrade");
        }
        match header("sec-websocket-accept") {
            (Some(accept), false) if accept.trim() == self.accept => {}
            (Some(_), false) => return fail("Sec-WebSocket-Accept does not match the key"),
            _ => return fail("no single Sec-WebSocket-Accept"),
        }
        let subprotocol = match header("sec-websocket-protocol") {
            (None, _) => None,
            (Some(p), false) if connect.subprotocols().iter().any(|o| o == p.trim()) => {
                Some(p.trim().to_owned())
            }
            (Some(p), _) => return fail(&format!("subprotocol {p:?} was not offered")),
        };
        let extensions: Vec<&str> = response
            .headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("sec-websocket-extensions"))
            .filter_map(|h| std::str::from_utf8(h.value).ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect();
        let deflate = match (extensions.as_slice(), connect.deflate_offer()) {
            ([], _) => None,
            ([one], Some(offer)) => match deflate::accept_answer(one, offer) {
                Ok(params) => Some(params),
                Err(why) => return fail(&why),
            },
            _ => return fail(&format!("extensions not offered: {extensions:?}")),
        };
        Answer::Upgraded(
            Agreed {
                subprotocol,
                deflate,
            },
            len,
        )
    }
}

fn fail(why: &str) -> Answer {
    Answer::Failed(ConnectFailure::Handshake(why.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compression::Deflate;

    fn request(connect: &Connect) -> (Offer, String) {
        let mut out = Vec::new();
        let offer = write_request(connect, connect.target().unwrap(), &mut out);
        (offer, String::from_utf8(out).unwrap())
    }

    fn answer(offer: &Offer, connect: &Connect, extra: &str) -> Answer {
        let head = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n{extra}\r\n",
            offer.accept
        );
        offer.answer(head.as_bytes(), connect, 8192)
    }

    #[test]
    fn the_request_carries_a_fresh_key_and_the_offers() {
        let connect = Connect::new("ws://h:8080/feed?x=1")
            .subprotocol("a")
            .subprotocol("b")
            .deflate(Deflate::default())
            .header("Origin", "http://h");
        let (first, text) = request(&connect);
        assert!(
            text.starts_with("GET /feed?x=1 HTTP/1.1\r\nHost: h:8080\r\n"),
            "{text}"
        );
        assert!(text.contains("Sec-WebSocket-Protocol: a, b\r\n"));
        assert!(
            text.contains("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
        );
        assert!(text.contains("Origin: http://h\r\n") && text.ends_with("\r\n\r\n"));
        let (second, _) = request(&connect);
        assert_ne!(first.accept, second.accept, "each request has its own key");
    }

    #[test]
    fn the_answer_is_checked() {
        let connect = Connect::new("ws://h/").subprotocol("chat");
        let (offer, _) = request(&connect);
        let ok = answer(&offer, &connect, "Sec-WebSocket-Protocol: chat\r\n");
        assert!(
            matches!(ok, Answer::Upgraded(Agreed { subprotocol: Some(ref p), deflate: None }, _) if p == "chat")
        );
        for bad in [
            "Sec-WebSocket-Protocol: other\r\n",
            "Sec-WebSocket-Extensions: permessage-deflate\r\n",
            "Sec-WebSocket-Accept: x\r\n",
        ] {
            assert!(
                matches!(answer(&offer, &connect, bad), Answer::Failed(_)),
                "{bad}"
            );
        }
        let wrong_key = "HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: AAAA\r\n\r\n";
        assert!(matches!(
            offer.answer(wrong_key.as_bytes(), &connect, 8192),
            Answer::Failed(ConnectFailure::Handshake(_))
        ));
        let moved = "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\n\r\n";
        assert_eq!(
            offer.answer(moved.as_bytes(), &connect, 8192),
            Answer::Redirect("/elsewhere".into())
        );
        let refused = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(
            offer.answer(refused.as_bytes(), &connect, 8192),
            Answer::Failed(ConnectFailure::Status(403))
        );
        assert_eq!(
            offer.answer(b"HTTP/1.1 101", &connect, 8192),
            Answer::Partial
        );
    }
}
