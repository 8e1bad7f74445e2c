//! The opening handshake: one parser for every version, chosen by the request's headers.

use super::deflate::{self, Deflate, Params};
use crate::http::{self, Head, Persist};
use crate::request::Request;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use md5::{Digest as _, Md5};
use sha1::Sha1;
use std::sync::Arc;

/// The protocol versions spoken, chosen per connection by the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// RFC 6455, `Sec-WebSocket-Version: 13`.
    Rfc6455,
    /// HyBi-10 draft, `Sec-WebSocket-Version: 8`.
    Hybi10,
    /// HyBi-07 draft, `Sec-WebSocket-Version: 7`.
    Hybi07,
    /// Hixie-76 (HyBi-00): `Sec-WebSocket-Key1`/`Key2` and an 8-byte body.
    Hixie76,
    /// Hixie-75: `Upgrade: WebSocket` and no keys.
    Hixie75,
}

impl Version {
    /// Whether this version frames like RFC 6455 (opcodes, masking, close codes).
    pub fn is_hybi(self) -> bool {
        matches!(self, Version::Rfc6455 | Version::Hybi10 | Version::Hybi07)
    }
}

/// The GUID of RFC 6455 §1.3.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The result of looking at the bytes received so far.
#[derive(Debug)]
pub enum Outcome {
    /// The request is not complete yet.
    Partial,
    /// A valid upgrade: send `response`, then speak `version`.
    Accept {
        /// Bytes of the request (including Hixie-76's 8-byte body).
        consumed: usize,
        /// The version chosen.
        version: Version,
        /// The parsed request.
        request: Arc<Request>,
        /// permessage-deflate, if negotiated.
        deflate: Option<Params>,
        /// The subprotocol chosen, if any.
        subprotocol: Option<String>,
        /// The response to send.
        response: Vec<u8>,
    },
    /// Refuse with this HTTP response, then close.
    Reject(Rejection),
}

/// A refused handshake: status, a one-line reason, and the response bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The HTTP status code.
    pub status: u16,
    /// Why, in one line.
    pub reason: String,
    extra_headers: &'static str,
}

impl Rejection {
    pub(crate) fn new(status: u16, reason: impl Into<String>) -> Self {
        Rejection {
            status,
            reason: reason.into(),
            extra_headers: "",
        }
    }

    /// The full HTTP response.
    pub fn response(&self) -> Vec<u8> {
        let mut out = Vec::new();
        http::write_error(
            &mut out,
            self.status,
            &self.reason,
            self.extra_headers,
            Persist::Close,
        );
        out
    }
}

/// What the server accepts.
#[derive(Debug, Clone, Copy)]
pub struct Limits<'a> {
    /// Largest request head accepted, in bytes.
    pub max_size: usize,
    /// permessage-deflate settings, if the server offers compression.
    pub deflate: Option<&'a Deflate>,
    /// Subprotocols the application speaks, in no particular order; the client's first
    /// offer among them is chosen.
    pub subprotocols: &'a [String],
    /// Refuse clients that offer none of `subprotocols` (otherwise they are accepted
    /// without one, as RFC 6455 §4.2.2 allows).
    pub require_subprotocol: bool,
}

/// A valid upgrade, before it is turned into an [`Outcome`].
struct Upgraded {
    version: Version,
    body_len: usize,
    response: Vec<u8>,
    deflate: Option<Params>,
    subprotocol: Option<String>,
}

/// Looks at `data`, the bytes received so far on a new connection.
pub fn parse(data: &[u8], limits: Limits<'_>) -> Outcome {
    match http::head::parse(data, limits.max_size) {
        Head::Partial => Outcome::Partial,
        Head::Bad(status, reason) => Outcome::Reject(Rejection::new(status, reason)),
        Head::Complete(request, head_len) => accept(request, &data[head_len..], head_len, limits),
    }
}

/// Answers the upgrade `request` (whose head was `head_len` bytes; `body` is what
/// follows it so far).
pub(crate) fn accept(
    request: Arc<Request>,
    body: &[u8],
    head_len: usize,
    limits: Limits<'_>,
) -> Outcome {
    match upgrade(&request, body, limits) {
        Ok(None) => Outcome::Partial,
        Ok(Some(up)) => Outcome::Accept {
            consumed: head_len + up.body_len,
            version: up.version,
            request,
            deflate: up.deflate,
            subprotocol: up.subprotocol,
            response: up.response,
        },
        Err(rejection) => Outcome::Reject(rejection),
    }
}

/// Chooses the version and builds the response; `Ok(None)` if Hixie-76's body is not all
/// here yet.
fn upgrade(req: &Request, body: &[u8], limits: Limits<'_>) -> Result<Option<Upgraded>, Rejection> {
    if req.method() != "GET" {
        return Err(Rejection {
            extra_headers: "Allow: GET\r\n",
            ..Rejection::new(405, "a WebSocket handshake must use GET")
        });
    }
    if req.minor_version() != 1 {
        return Err(Rejection::new(400, "a WebSocket handshake needs HTTP/1.1"));
    }
    if !req.has_token("Upgrade", "websocket") {
        return Err(Rejection::new(
            400,
            "not a WebSocket request: missing 'Upgrade: websocket'",
        ));
    }
    if !req.has_token("Connection", "upgrade") {
        return Err(Rejection::new(
            400,
            "not a WebSocket request: missing 'Connection: Upgrade'",
        ));
    }
    let Some(host) = req.header("Host").filter(|h| !h.is_empty()) else {
        return Err(Rejection::new(400, "missing Host header"));
    };
    let target = req.target();
    // HyBi-07/08 clients send the origin as Sec-WebSocket-Origin.
    let origin = req
        .header("Origin")
        .or_else(|| req.header("Sec-WebSocket-Origin"));
    let offered = req
        .header_values("Sec-WebSocket-Protocol")
        .chain(req.header_values("WebSocket-Protocol"))
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let subprotocol = offered
        .clone()
        .find(|p| limits.subprotocols.iter().any(|s| s == p))
        .map(str::to_owned);
    if subprotocol.is_none() && limits.require_subprotocol && !limits.subprotocols.is_empty() {
        return Err(Rejection::new(
            400,
            format!(
                "no common subprotocol; this server speaks: {}",
                limits.subprotocols.join(", ")
            ),
        ));
    }

    if let Some(version) = req.header("Sec-WebSocket-Version") {
        let version = match version {
            "13" => Version::Rfc6455,
            "8" => Version::Hybi10,
            "7" => Version::Hybi07,
            _ => {
                return Err(unsupported_version(format!(
                    "unsupported Sec-WebSocket-Version: {version}"
                )))
            }
        };
        let key = req.header("Sec-WebSocket-Key").unwrap_or("");
        if BASE64.decode(key).map(|k| k.len()) != Ok(16) {
            return Err(Rejection::new(
                400,
                "Sec-WebSocket-Key must be 16 bytes in base64",
            ));
        }
        let mut response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
            accept_key(key)
        );
        let offers = req.header_values("Sec-WebSocket-Extensions");
        let negotiated = limits
            .deflate
            .and_then(|config| deflate::negotiate(offers, config));
        if let Some((_, extension)) = &negotiated {
            response.push_str(&format!("Sec-WebSocket-Extensions: {extension}\r\n"));
        }
        if let Some(protocol) = &subprotocol {
            response.push_str(&format!("Sec-WebSocket-Protocol: {protocol}\r\n"));
        }
        response.push_str("\r\n");
        return Ok(Some(Upgraded {
            version,
            body_len: 0,
            response: response.into_bytes(),
            deflate: negotiated.map(|(p, _)| p),
            subprotocol,
        }));
    }
    if req.header("Sec-WebSocket-Key").is_some() {
        return Err(unsupported_version("missing Sec-WebSocket-Version".into()));
    }

    // Hixie clients offer one protocol and fail unless it is echoed: echo it when the
    // application declares none, otherwise only if it is one the application speaks.
    let protocol = if limits.subprotocols.is_empty() {
        offered.clone().next().map(str::to_owned)
    } else {
        subprotocol.clone()
    };
    match (
        req.header("Sec-WebSocket-Key1"),
        req.header("Sec-WebSocket-Key2"),
    ) {
        (Some(key1), Some(key2)) => {
            let (Some(n1), Some(n2)) = (hixie76_key_number(key1), hixie76_key_number(key2)) else {
                return Err(Rejection::new(
                    400,
                    "invalid Sec-WebSocket-Key1/Key2: need spaces, and a number divisible by their count",
                ));
            };
            let Some(key3) = body.get(..8) else {
                return Ok(None);
            };
            let mut key3_arr = [0u8; 8];
            key3_arr.copy_from_slice(key3);
            let mut response = String::from("HTTP/1.1 101 WebSocket Protocol Handshake\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n");
            if let Some(origin) = origin {
                response.push_str(&format!("Sec-WebSocket-Origin: {origin}\r\n"));
            }
            response.push_str(&format!("Sec-WebSocket-Location: ws://{host}{target}\r\n"));
            if let Some(protocol) = &protocol {
                response.push_str(&format!("Sec-WebSocket-Protocol: {protocol}\r\n"));
            }
            response.push_str("\r\n");
            let mut response = response.into_bytes();
            response.extend_from_slice(&hixie76_challenge(n1, n2, key3_arr));
            Ok(Some(Upgraded {
                version: Version::Hixie76,
                body_len: 8,
                response,
                deflate: None,
                subprotocol: protocol,
            }))
        }
        (None, None) => {
            let mut response = String::from("HTTP/1.1 101 Web Socket Protocol Handshake\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n");
            if let Some(origin) = origin {
                response.push_str(&format!("WebSocket-Origin: {origin}\r\n"));
            }
            response.push_str(&format!("WebSocket-Location: ws://{host}{target}\r\n"));
            if let Some(protocol) = &protocol {
                response.push_str(&format!("WebSocket-Protocol: {protocol}\r\n"));
            }
            response.push_str("\r\n");
            Ok(Some(Upgraded {
                version: Version::Hixie75,
                body_len: 0,
                response: response.into_bytes(),
                deflate: None,
                subprotocol: protocol,
            }))
        }
        _ => Err(Rejection::new(
            400,
            "Sec-WebSocket-Key1 and Sec-WebSocket-Key2 must come together",
        )),
    }
}

fn unsupported_version(reason: String) -> Rejection {
    Rejection {
        status: 426,
        reason,
        extra_headers: "Sec-WebSocket-Version: 13, 8, 7\r\n",
    }
}

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2).
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(GUID.as_bytes());
    BASE64.encode(sha.finalize())
}

/// A Hixie-76 key's number: its digits read as one number, divided by its count of spaces
/// (draft-76 §5.2 steps 4–6). `None` if there are no spaces, the number is not a multiple
/// of their count, or it does not fit in 32 bits.
pub fn hixie76_key_number(key: &str) -> Option<u32> {
    let mut number: u64 = 0;
    let mut spaces: u64 = 0;
    for c in key.chars() {
        if let Some(d) = c.to_digit(10) {
            number = number.checked_mul(10)?.checked_add(u64::from(d))?;
        } else if c == ' ' {
            spaces += 1;
        }
    }
    if spaces == 0 || !number.is_multiple_of(spaces) {
        return None;
    }
    u32::try_from(number / spaces).ok()
}

/// The 16-byte Hixie-76 response: MD5 of both key numbers (big-endian) and key3.
pub fn hixie76_challenge(n1: u32, n2: u32, key3: [u8; 8]) -> [u8; 16] {
    let mut md5 = Md5::new();
    md5.update(n1.to_be_bytes());
    md5.update(n2.to_be_bytes());
    md5.update(key3);
    md5.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits<'static> = Limits {
        max_size: 8192,
        deflate: None,
        subprotocols: &[],
        require_subprotocol: false,
    };

    fn accept(data: &[u8]) -> (usize, Version, Arc<Request>, Vec<u8>) {
        match parse(data, LIMITS) {
            Outcome::Accept {
                consumed,
                version,
                request,
                response,
                ..
            } => (consumed, version, request, response),
            other => panic!("expected Accept, got {other:?}"),
        }
    }

    fn reject(data: &[u8]) -> Rejection {
        match parse(data, LIMITS) {
            Outcome::Reject(r) => r,
            other => panic!("expected Reject, got {other:?}"),
        }
    }

    #[test]
    fn rfc6455_sample_key() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn rfc6455_request_is_accepted_for_13_8_and_7() {
        for (v, want) in [
            ("13", Version::Rfc6455),
            ("8", Version::Hybi10),
            ("7", Version::Hybi07),
        ] {
            let req = format!(
                "GET /chat?x=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: {v}\r\nCookie: a=b\r\n\r\n"
            );
            let (consumed, version, request, response) = accept(req.as_bytes());
            assert_eq!(consumed, req.len());
            assert_eq!(version, want);
            assert_eq!(request.path(), "/chat");
            assert_eq!(request.cookie("a"), Some("b"));
            let response = String::from_utf8(response).unwrap();
            assert!(response.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
            assert!(response.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        }
    }

    #[test]
    fn hixie76_worked_examples() {
        let cases = [
            (
                "18x 6]8vM;54 *(5:  {   U1]8  z [  8",
                "1_ tx7X d  <  nw  334J702) 7]o}` 0",
                *b"Tm[K T2u",
                *b"fQJ,fN/4F4!~K~MH",
            ),
            (
                "4 @1  46546xW%0l 1 5",
                "12998 5 Y3 1  .P00",
                *b"^n:ds[4U",
                *b"8jKS'y:G*Co,Wxa-",
            ),
        ];
        for (key1, key2, key3, want) in cases {
            let n1 = hixie76_key_number(key1).unwrap();
            let n2 = hixie76_key_number(key2).unwrap();
            assert_eq!(hixie76_challenge(n1, n2, key3), want);
            let head = format!(
                "GET /demo HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nSec-WebSocket-Key2: {key2}\r\nSec-WebSocket-Protocol: sample\r\nUpgrade: WebSocket\r\nSec-WebSocket-Key1: {key1}\r\nOrigin: http://example.com\r\n\r\n"
            );
            let mut data = head.clone().into_bytes();
            data.extend_from_slice(&key3);
            // The body may be missing or split: no answer until all 8 bytes are here.
            for cut in head.len()..data.len() {
                assert!(matches!(parse(&data[..cut], LIMITS), Outcome::Partial));
            }
            let (consumed, version, _, response) = accept(&data);
            assert_eq!((consumed, version), (data.len(), Version::Hixie76));
            assert!(response.ends_with(&want));
            let text = String::from_utf8_lossy(&response);
            assert!(text.starts_with("HTTP/1.1 101 WebSocket Protocol Handshake\r\n"));
            assert!(text.contains("Sec-WebSocket-Location: ws://example.com/demo\r\n"));
            assert!(text.contains("Sec-WebSocket-Origin: http://example.com\r\n"));
        }
    }

    #[test]
    fn hixie76_bad_keys_get_400() {
        for (key1, key2) in [("123456", "1 2"), ("1 2", "12345  "), ("3 3", "3  3")] {
            let head = format!(
                "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\nSec-WebSocket-Key1: {key1}\r\nSec-WebSocket-Key2: {key2}\r\n\r\n12345678"
            );
            assert_eq!(reject(head.as_bytes()).status, 400, "{key1:?} {key2:?}");
        }
        // 33 with three spaces is 11; 33 with two spaces is not a whole number.
        assert_eq!(hixie76_key_number("3 3  "), Some(11));
        assert_eq!(hixie76_key_number("3 3 "), None);
    }

    #[test]
    fn hixie75_is_the_fallback() {
        let req = b"GET /demo HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nHost: example.com\r\nOrigin: http://example.com\r\n\r\n";
        let (_, version, _, response) = accept(req);
        assert_eq!(version, Version::Hixie75);
        let text = String::from_utf8(response).unwrap();
        assert!(text.contains("WebSocket-Location: ws://example.com/demo\r\n"));
        assert!(text.contains("WebSocket-Origin: http://example.com\r\n"));
    }

    #[test]
    fn refusals_say_why() {
        let r = reject(b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 6\r\n\r\n");
        assert_eq!(r.status, 426);
        let response = String::from_utf8(r.response()).unwrap();
        assert!(response.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
        assert!(response.contains("Sec-WebSocket-Version: 13, 8, 7\r\n"));

        assert_eq!(reject(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n").status, 400);
        let post = reject(
            b"POST / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        );
        assert_eq!(post.status, 405);
        assert!(String::from_utf8(post.response())
            .unwrap()
            .contains("\r\nAllow: GET\r\n"));
        assert_eq!(
            reject(b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n").status,
            400
        );
        assert_eq!(reject(b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n").status, 400);
        assert_eq!(reject(b"\x16\x03\x01 hello\r\n\r\n").status, 400);
        let r = reject(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        assert!(!r.reason.contains('\n'));
    }

    #[test]
    fn oversize_heads_get_431_even_before_they_end() {
        let mut head = b"GET / HTTP/1.1\r\nHost: h\r\nX-Big: ".to_vec();
        head.extend(vec![b'a'; 9000]);
        assert_eq!(reject(&head).status, 431);
        assert!(matches!(parse(&head[..100], LIMITS), Outcome::Partial));
    }
}
