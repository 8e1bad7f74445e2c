//! The HTTP request head a connection opened with, as every decorator sees it.

/// An HTTP request head: the request that opened a connection (the WebSocket upgrade
/// request), parsed once and shared by every decorator that reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    method: String,
    target: String,
    /// The minor HTTP version: 1 for HTTP/1.1, 0 for HTTP/1.0.
    minor_version: u8,
    headers: Vec<(String, String)>,
    cookies: Vec<(String, String)>,
}

impl Default for Request {
    fn default() -> Self {
        Request::new("GET", "/", Vec::new())
    }
}

impl Request {
    /// A request from its parts; cookies are parsed from the `Cookie` headers.
    pub fn new(
        method: impl Into<String>,
        target: impl Into<String>,
        headers: Vec<(String, String)>,
    ) -> Self {
        let cookies = headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, value)| parse_cookies(value))
            .collect();
        Request {
            method: method.into(),
            target: target.into(),
            minor_version: 1,
            headers,
            cookies,
        }
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
        &self.method
    }

    /// The request target as sent: path and query.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map_or(&self.target, |(path, _)| path)
    }

    /// The query string without the `?`, if there is one.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, query)| query)
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
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }

    /// Every value of a header, in order, by case-insensitive name.
    pub fn header_values<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = &'a str> + Clone + 'a {
        self.headers
            .iter()
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
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The value of a cookie, by exact name.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// All cookies in the order received.
    pub fn cookies(&self) -> impl Iterator<Item = (&str, &str)> {
        self.cookies.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// `name=value; name2=value2` (RFC 6265 §4.2.1), lenient about spaces and quotes.
fn parse_cookies(header: &str) -> impl Iterator<Item = (String, String)> + '_ {
    header.split(';').filter_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        let name = name.trim();
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        (!name.is_empty()).then(|| (name.to_owned(), value.to_owned()))
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
    }
}
