//! The HTTP request head a connection opened with, as every decorator sees it.

/// An HTTP request head: the request that opened a connection (the WebSocket upgrade
/// request), parsed once and shared by every decorator that reads it.
///
/// A connection keeps its request for as long as it is open, so the head is held in one
/// string (method, target, then each header's name and value) with where each part ends:
/// two allocations, whatever the number of headers. Cookies are read from the `Cookie`
/// headers when asked for.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    /// The method, the target, then each header's name and value, one after another.
    text: Box<str>,
    /// Where each part of `text` ends, in that order.
    ends: Box<[u32]>,
    /// The minor HTTP version: 1 for HTTP/1.1, 0 for HTTP/1.0.
    minor_version: u8,
}

impl Default for Request {
    fn default() -> Self {
        Request::new("GET", "/", Vec::new())
    }
}

impl Request {
    /// A request from its parts.
    pub fn new(
        method: impl Into<String>,
        target: impl Into<String>,
        headers: Vec<(String, String)>,
    ) -> Self {
        let (method, target) = (method.into(), target.into());
        let size = method.len() + target.len();
        let size = size
            + headers
                .iter()
                .map(|(n, v)| n.len() + v.len())
                .sum::<usize>();
        Request::from_parts(&method, &target, headers, size)
    }

    /// A request from borrowed parts, copied into one string; `capacity` is at least the
    /// length of all the parts (it is shrunk to fit).
    pub(crate) fn from_parts<N: AsRef<str>, V: AsRef<str>>(
        method: &str,
        target: &str,
        headers: impl IntoIterator<Item = (N, V)>,
        capacity: usize,
    ) -> Self {
        let headers = headers.into_iter();
        let mut text = String::with_capacity(capacity);
        let mut ends = Vec::with_capacity(2 + 2 * headers.size_hint().0);
        let mut push = |part: &str| {
            text.push_str(part);
            ends.push(u32::try_from(text.len()).expect("a request head under 4 GiB"));
        };
        push(method);
        push(target);
        for (name, value) in headers {
            push(name.as_ref());
            push(value.as_ref());
        }
        Request {
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
            minor_version: 1,
        }
    }

    /// Part `i` of `text`.
    fn part(&self, i: usize) -> &str {
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1] as usize,
        };
        &self.text[start..self.ends[i] as usize]
    }

    /// The same request, as HTTP/1.`minor` (HTTP/1.1 unless said otherwise).
    #[must_use]
    pub fn with_minor_version(mut self, minor: u8) -> Self {
        self.minor_version = minor;
        self
    }

    /// The minor HTTP version: 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub fn minor_version(&self) -> u8 {
        self.minor_version
    }

    /// The method, e.g. `GET`.
    pub fn method(&self) -> &str {
        self.part(0)
    }

    /// The request target as sent: path and query.
    pub fn target(&self) -> &str {
        self.part(1)
    }

    /// The path, without the query.
    pub fn path(&self) -> &str {
        let target = self.target();
        target.split_once('?').map_or(target, |(path, _)| path)
    }

    /// The query string without the `?`, if there is one.
    pub fn query(&self) -> Option<&str> {
        self.target().split_once('?').map(|(_, query)| query)
    }

    /// The first value of query parameter `name`, percent-decoded (`+` is a space), as
    /// a browser's `URLSearchParams` or `encodeURIComponent` writes it.
    ///
    /// ```
    /// use ratchet::Request;
    ///
    /// let req = Request::new("GET", "/chat?room=1&name=Zo%C3%A9+B", vec![]);
    /// assert_eq!(req.query_param("name").as_deref(), Some("Zoé B"));
    /// assert_eq!(req.query_param("nope"), None);
    /// ```
    pub fn query_param(&self, name: &str) -> Option<String> {
        let decode = |s: &str| {
            let s = s.replace('+', " ");
            percent_encoding::percent_decode_str(&s)
                .decode_utf8_lossy()
                .into_owned()
        };
        self.query()?
            .split('&')
            .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
            .find(|(key, _)| decode(key) == name)
            .map(|(_, value)| decode(value))
    }

    /// The first value of a header, by case-insensitive name, without surrounding spaces.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }

    /// Every value of a header, in order, by case-insensitive name.
    pub fn header_values<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = &'a str> + Clone + 'a {
        self.headers()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }

    /// Whether a comma-separated header holds `token` (case-insensitive), in any of its
    /// values: `Connection: keep-alive, Upgrade` holds `upgrade`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.header_values(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// All headers in the order received.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> + Clone {
        (1..self.ends.len() / 2).map(|h| (self.part(2 * h), self.part(2 * h + 1)))
    }

    /// The value of a cookie, by exact name.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// All cookies in the order received (from every `Cookie` header).
    pub fn cookies(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers()
            .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, v)| parse_cookies(v))
    }
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method())
            .field("target", &self.target())
            .field("minor_version", &self.minor_version)
            .field("headers", &self.headers().collect::<Vec<_>>())
            .finish()
    }
}

/// `name=value; name2=value2` (RFC 6265 §4.2.1), lenient about spaces and quotes.
fn parse_cookies(header: &str) -> impl Iterator<Item = (&str, &str)> + '_ {
    header.split(';').filter_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        let name = name.trim();
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        (!name.is_empty()).then_some((name, value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_parts_and_cookies() {
        let req = Request::new(
            "GET",
            "/chat?room=1",
            vec![
                ("Host".into(), "example.com".into()),
                (
                    "Cookie".into(),
                    "PHPSESSID=abc123; theme=\"dark\"; =bad; lang=en".into(),
                ),
                ("Connection".into(), "keep-alive, Upgrade".into()),
            ],
        );
        assert_eq!(req.path(), "/chat");
        assert_eq!(req.query(), Some("room=1"));
        assert_eq!(req.header("host"), Some("example.com"));
        assert_eq!(req.cookie("PHPSESSID"), Some("abc123"));
        assert_eq!(req.cookie("theme"), Some("dark"));
        assert_eq!(req.cookie("lang"), Some("en"));
        assert_eq!(req.cookies().count(), 3);
        assert!(req.has_token("connection", "upgrade"));
        assert!(!req.has_token("connection", "close"));
        assert_eq!(req.minor_version(), 1);
        assert_eq!(req.headers().count(), 3);
        assert_eq!(req.method(), "GET");
        assert_eq!(req.target(), "/chat?room=1");
    }

    #[test]
    fn a_request_without_headers_or_with_empty_parts() {
        let req = Request::new("GET", "", vec![("X-Empty".into(), String::new())]);
        assert_eq!(req.target(), "");
        assert_eq!(req.header("x-empty"), Some(""));
        assert_eq!(Request::default().headers().count(), 0);
        assert_eq!(Request::default().path(), "/");
    }
}
