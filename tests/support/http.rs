//! HTTP responses read back from the bytes a server wrote.

/// An HTTP response: its head (through the blank line) and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status line and headers.
    pub head: String,
    /// The body (by `Content-Length`).
    pub body: Vec<u8>,
}

impl Response {
    /// The status code.
    pub fn status(&self) -> u16 {
        self.head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status line")
    }

    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// The whole HTTP responses in `bytes`, in order (bodies by `Content-Length`; a `304`
/// or a response to `HEAD` has none), and what is left after the last whole one.
pub fn responses(mut bytes: &[u8], head_requests: bool) -> (Vec<Response>, Vec<u8>) {
    let mut all = Vec::new();
    while let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&bytes[..end + 4]).into_owned();
        let mut response = Response {
            head,
            body: Vec::new(),
        };
        let len = if head_requests || response.status() == 304 || response.status() == 101 {
            0
        } else {
            response
                .header("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0)
        };
        if bytes.len() < end + 4 + len {
            break;
        }
        response.body = bytes[end + 4..end + 4 + len].to_vec();
        bytes = &bytes[end + 4 + len..];
        all.push(response);
    }
    (all, bytes.to_vec())
}
