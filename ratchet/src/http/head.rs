//! Request heads: parsed once per request, checked for the framing mistakes that let one
//! request hide another (RFC 9112 §6.3), and shared by every layer that reads them.

use crate::protocol::Outbox;
use crate::request::Request;
use std::sync::Arc;

/// Most header fields accepted in a request head.
pub(crate) const MAX_HEADERS: usize = 64;

/// A request head, looked at before anything is consumed.
#[derive(Debug)]
pub(crate) enum Head<T> {
    /// Not all here yet.
    Partial,
    /// Complete: the request, and the length of its head.
    Complete(T, usize),
    /// Refused: status and reason.
    Bad(u16, String),
}

/// The request head at the start of `data`: taken from `out` if a layer outside this one
/// parsed it already, else parsed and shared with the layers inside.
pub(crate) fn request(out: &mut Outbox<'_>, data: &[u8], max_size: usize) -> Head<Arc<Request>> {
    if let Some((req, len)) = out.request_at(data) {
        if len > max_size {
            return too_large();
        }
        return Head::Complete(req, len);
    }
    let head = parse(data, max_size);
    if let Head::Complete(req, len) = &head {
        out.share_request(data, req.clone(), *len);
    }
    head
}

fn too_large() -> Head<Arc<Request>> {
    Head::Bad(431, "request head is too large".into())
}

/// Parses and checks the request head at the start of `data`.
pub(crate) fn parse(data: &[u8], max_size: usize) -> Head<Arc<Request>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(data) {
        Ok(httparse::Status::Complete(n)) if n <= max_size => n,
        Ok(httparse::Status::Partial) if data.len() <= max_size => return Head::Partial,
        Ok(_) => return too_large(),
        Err(httparse::Error::TooManyHeaders) => {
            return Head::Bad(431, format!("more than {MAX_HEADERS} header fields"))
        }
        Err(e) => return Head::Bad(400, format!("malformed HTTP request: {e}")),
    };
    let headers = req
        .headers
        .iter()
        .map(|h| (h.name, String::from_utf8_lossy(h.value)));
    let request = Request::from_parts(
        req.method.unwrap_or("GET"),
        req.path.unwrap_or("/"),
        headers,
        len,
    )
    .with_minor_version(req.version.unwrap_or(1));
    match check(&request) {
        Ok(()) => Head::Complete(Arc::new(request), len),
        Err(reason) => Head::Bad(400, reason.into()),
    }
}

/// The framing rules a request must keep for this server to know where it ends.
fn check(req: &Request) -> Result<(), &'static str> {
    let hosts = req.header_values("Host").count();
    if req.minor_version() >= 1 && hosts == 0 {
        return Err("missing Host header (HTTP/1.1 requires one)");
    }
    if hosts > 1 {
        return Err("more than one Host header");
    }
    let mut length: Option<&str> = None;
    for value in req
        .header_values("Content-Length")
        .flat_map(|v| v.split(','))
    {
        let value = value.trim();
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err("Content-Length is not a number");
        }
        if length.is_some_and(|l| l != value) {
            return Err("Content-Length given twice with different values");
        }
        length = Some(value);
    }
    let chunked = req.header_values("Transfer-Encoding").next().is_some();
    if chunked && length.is_some() {
        return Err("both Transfer-Encoding and Content-Length");
    }
    if chunked && req.minor_version() == 0 {
        return Err("Transfer-Encoding in an HTTP/1.0 request");
    }
    Ok(())
}

/// Whether a request has a body (which this server does not read).
pub(crate) fn has_body(req: &Request) -> bool {
    req.header_values("Transfer-Encoding").next().is_some()
        || req
            .header("Content-Length")
            .is_some_and(|n| !n.trim_start_matches('0').is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(raw: &str) -> String {
        match parse(raw.as_bytes(), 8192) {
            Head::Bad(400, reason) => reason,
            other => panic!("{raw:?} not refused: {other:?}"),
        }
    }

    #[test]
    fn requests_that_could_hide_another_are_refused() {
        bad("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nContent-Length: 33\r\n\r\n");
        bad("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0, 33\r\n\r\n");
        bad("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\n");
        bad("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3x\r\n\r\n");
        bad("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n");
        bad("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert!(bad("GET / HTTP/1.1\r\n\r\n").contains("Host"));
        assert!(bad("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").contains("Host"));
        for fine in [
            "GET / HTTP/1.0\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
        ] {
            assert!(
                matches!(parse(fine.as_bytes(), 8192), Head::Complete(..)),
                "{fine}"
            );
        }
    }

    #[test]
    fn bodies_are_seen() {
        let req = |raw: &str| match parse(raw.as_bytes(), 8192) {
            Head::Complete(req, _) => req,
            other => panic!("{other:?}"),
        };
        assert!(has_body(&req(
            "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n"
        )));
        assert!(!has_body(&req(
            "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 00\r\n\r\n"
        )));
        assert!(has_body(&req(
            "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        )));
    }
}
