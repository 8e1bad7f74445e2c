//! The tunnel through an HTTP proxy (RFC 9110 §9.3.6): the `CONNECT` request, and the
//! proxy's answer.

use super::{ConnectFailure, Target};

/// Appends the `CONNECT` request that asks a proxy for a tunnel to `target`.
pub(crate) fn write_connect(target: &Target, out: &mut Vec<u8>) {
    let authority = match target.host.contains(':') {
        true => format!("[{}]:{}", target.host, target.port),
        false => format!("{}:{}", target.host, target.port),
    };
    let request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n");
    out.extend_from_slice(request.as_bytes());
}

/// Reads a proxy's answer to `CONNECT` from `data` (at most `max_head` bytes of head):
/// `Ok(Some(len))` once a `2xx` head of `len` bytes is here, `Ok(None)` while it is not
/// all here.
pub(crate) fn read_answer(data: &[u8], max_head: usize) -> Result<Option<usize>, ConnectFailure> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(data) {
        Ok(httparse::Status::Complete(len)) => match response.code {
            Some(200..=299) => Ok(Some(len)),
            Some(code) => Err(ConnectFailure::Proxy(format!("CONNECT answered {code}"))),
            None => Err(ConnectFailure::Proxy("an answer without a status".into())),
        },
        Ok(httparse::Status::Partial) if data.len() > max_head => Err(ConnectFailure::Proxy(
            "the answer's head is too large".into(),
        )),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(e) => Err(ConnectFailure::Proxy(format!("not an HTTP answer: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_and_the_answer() {
        let target = Target::parse("wss://[::1]:9443/x").unwrap();
        let mut out = Vec::new();
        write_connect(&target, &mut out);
        assert_eq!(
            out,
            b"CONNECT [::1]:9443 HTTP/1.1\r\nHost: [::1]:9443\r\n\r\n"
        );
        let ok = b"HTTP/1.1 200 Connection established\r\n\r\nrest";
        assert_eq!(read_answer(ok, 1024), Ok(Some(ok.len() - 4)));
        assert_eq!(read_answer(b"HTTP/1.1 200 OK\r\n", 1024), Ok(None));
        assert!(matches!(
            read_answer(b"HTTP/1.1 403 Forbidden\r\n\r\n", 1024),
            Err(ConnectFailure::Proxy(_))
        ));
        assert!(read_answer(&[b'x'; 100], 10).is_err());
    }
}
