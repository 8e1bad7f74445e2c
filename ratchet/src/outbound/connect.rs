//! Where to connect out and how: the URL, the handshake's offers, reconnecting, TLS
//! trust, a proxy.

use super::{Backoff, ConnectFailure};
use crate::compression::Deflate;
#[cfg(feature = "tls")]
use std::sync::Arc;

/// An outbound WebSocket connection's settings, for
/// [`Command::connect_with`](crate::Command::connect_with). Limits on what it receives
/// (message and frame sizes, timeouts) are those of the [`WebSocket`](crate::WebSocket)
/// decorator that makes it, as for every connection it serves.
///
/// ```
/// use ratchet::client::{Backoff, Connect};
/// use ratchet::websocket::Deflate;
///
/// let upstream = Connect::new("wss://feed.example/prices?v=2")
///     .subprotocol("prices.v2")
///     .header("Authorization", "Bearer 123")
///     .deflate(Deflate::default())
///     .reconnect(Backoff::default());
/// assert_eq!(upstream.url(), "wss://feed.example/prices?v=2");
/// ```
#[derive(Debug, Clone)]
pub struct Connect {
    url: String,
    target: Result<Target, String>,
    subprotocols: Vec<String>,
    headers: Vec<(String, String)>,
    deflate: Option<Deflate>,
    reconnect: Option<Backoff>,
    redirects: u8,
    proxy: Option<Result<Target, String>>,
    #[cfg(feature = "tls")]
    trust: Option<Arc<rustls::ClientConfig>>,
}

/// A parsed `ws://` or `wss://` URL (or a proxy's `http://host:port`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `wss://`.
    pub secure: bool,
    /// The host, as the URL names it (an IPv6 address without brackets).
    pub host: String,
    /// The port (the scheme's default if the URL names none).
    pub port: u16,
    /// The path and query, for the request line.
    pub resource: String,
    /// The `Host` header's value.
    pub host_header: String,
}

impl Target {
    /// Parses a `ws://` or `wss://` URL; `http://` and `https://` are taken too, and mean
    /// the same.
    pub fn parse(url: &str) -> Result<Target, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
        let secure = match parsed.scheme() {
            "ws" | "http" => false,
            "wss" | "https" => true,
            other => return Err(format!("{url}: scheme {other} is not ws or wss")),
        };
        let host = match parsed.host() {
            Some(url::Host::Domain(name)) => name.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(format!("{url}: no host")),
        };
        if parsed.fragment().is_some() {
            return Err(format!("{url}: a WebSocket URL has no fragment"));
        }
        let default = if secure { 443 } else { 80 };
        let port = parsed.port().unwrap_or(default);
        let mut resource = parsed.path().to_owned();
        if let Some(query) = parsed.query() {
            resource.push('?');
            resource.push_str(query);
        }
        let host_str = parsed.host_str().unwrap_or(&host);
        let host_header = match parsed.port() {
            Some(port) if port != default => format!("{host_str}:{port}"),
            _ => host_str.to_owned(),
        };
        Ok(Target {
            secure,
            host,
            port,
            resource,
            host_header,
        })
    }
}

/// Equal when every setting is (a TLS configuration given by hand: the same one).
impl PartialEq for Connect {
    fn eq(&self, other: &Self) -> bool {
        #[cfg(feature = "tls")]
        let same_trust = match (&self.trust, &other.trust) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        };
        #[cfg(not(feature = "tls"))]
        let same_trust = true;
        self.url == other.url
            && self.subprotocols == other.subprotocols
            && self.headers == other.headers
            && self.deflate == other.deflate
            && self.reconnect == other.reconnect
            && self.redirects == other.redirects
            && self.proxy == other.proxy
            && same_trust
    }
}

impl Eq for Connect {}

impl Connect {
    /// Connects to `url` (`ws://` or `wss://`), offering no subprotocol and no
    /// compression, without reconnecting, following no redirect. A URL that does not
    /// parse fails the connection when it is made
    /// ([`ConnectFailure::InvalidUrl`]).
    pub fn new(url: impl Into<String>) -> Self {
        let url = url.into();
        Connect {
            target: Target::parse(&url),
            url,
            subprotocols: Vec::new(),
            headers: Vec::new(),
            deflate: None,
            reconnect: None,
            redirects: 0,
            proxy: None,
            #[cfg(feature = "tls")]
            trust: None,
        }
    }

    /// Offers this subprotocol (in the order given); the server's choice is
    /// [`Conn::subprotocol`](crate::Conn::subprotocol).
    #[must_use]
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.subprotocols.push(protocol.into());
        self
    }

    /// Adds a header to the upgrade request (`Authorization`, `Origin`, a cookie...).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Offers permessage-deflate with these settings (read from the client's side:
    /// `client_*` is this end).
    #[must_use]
    pub fn deflate(mut self, deflate: Deflate) -> Self {
        self.deflate = Some(deflate);
        self
    }

    /// Connects again with this backoff when the connection fails to open or drops,
    /// until the application closes it ([`Conn::close`](crate::Conn::close)) or cancels
    /// ([`Command::cancel_connect`](crate::Command::cancel_connect)).
    #[must_use]
    pub fn reconnect(mut self, backoff: Backoff) -> Self {
        self.reconnect = Some(backoff);
        self
    }

    /// Follows up to this many redirects (`301`, `302`, `303`, `307`, `308` with a
    /// `Location`). Default: 0, a redirect fails the connection
    /// ([`ConnectFailure::Redirect`]).
    #[must_use]
    pub fn follow_redirects(mut self, max: u8) -> Self {
        self.redirects = max;
        self
    }

    /// Trusts the certificates of this PEM file (a test's own CA) for `wss://`, instead
    /// of the public roots (those of `webpki-roots`).
    #[cfg(feature = "tls")]
    pub fn trust_pem_file(mut self, path: impl AsRef<std::path::Path>) -> std::io::Result<Self> {
        self.trust = Some(super::trust::from_pem_file(path.as_ref())?);
        Ok(self)
    }

    /// Uses this rustls configuration for `wss://` (its roots, client certificates,
    /// protocols).
    #[cfg(feature = "tls")]
    #[must_use]
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.trust = Some(config);
        self
    }

    /// Connects through the HTTP proxy at `url` (`http://host:port`): the socket goes to
    /// the proxy, which is asked with `CONNECT` for a tunnel to the URL's host; TLS and
    /// the WebSocket handshake then go through the tunnel.
    #[must_use]
    pub fn proxy(mut self, url: &str) -> Self {
        self.proxy = Some(Target::parse(url).and_then(|t| match t.secure {
            true => Err(format!("{url}: a proxy is reached over http://")),
            false => Ok(t),
        }));
        self
    }

    /// The proxy, if there is one (or why its URL does not parse).
    pub fn proxied(&self) -> Option<Result<&Target, ConnectFailure>> {
        self.proxy.as_ref().map(|p| {
            p.as_ref()
                .map_err(|why| ConnectFailure::InvalidUrl(why.clone()))
        })
    }

    /// Where the socket goes: the proxy if there is one, else the URL's host.
    pub(crate) fn socket_target(&self) -> Result<&Target, ConnectFailure> {
        self.proxied().unwrap_or_else(|| self.target())
    }

    /// The URL, as given.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The parsed URL, or why it does not parse.
    pub fn target(&self) -> Result<&Target, ConnectFailure> {
        self.target
            .as_ref()
            .map_err(|why| ConnectFailure::InvalidUrl(why.clone()))
    }

    /// The subprotocols offered.
    pub fn subprotocols(&self) -> &[String] {
        &self.subprotocols
    }

    /// The extra request headers.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The compression offered.
    pub fn deflate_offer(&self) -> Option<&Deflate> {
        self.deflate.as_ref()
    }

    /// The reconnect policy.
    pub fn backoff(&self) -> Option<&Backoff> {
        self.reconnect.as_ref()
    }

    /// How many redirects are followed.
    pub fn redirects(&self) -> u8 {
        self.redirects
    }

    /// The same settings, for the URL a redirect names (resolved against this one), with
    /// one redirect fewer to follow.
    pub(crate) fn redirected(&self, location: &str) -> Connect {
        let url = url::Url::parse(&self.url)
            .and_then(|base| base.join(location))
            .map_or_else(|_| location.to_owned(), |u| u.to_string());
        Connect {
            target: Target::parse(&url),
            url,
            redirects: self.redirects.saturating_sub(1),
            ..self.clone()
        }
    }

    /// The TLS client configuration for `wss://`.
    #[cfg(feature = "tls")]
    pub(crate) fn tls(&self) -> Arc<rustls::ClientConfig> {
        self.trust
            .clone()
            .unwrap_or_else(super::trust::public_roots)
    }
}

/// How an outbound connection ended, for its reconnect policy
/// ([`Protocol::dial_outcome`](crate::Protocol::dial_outcome)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialOutcome {
    /// It never opened: the next attempt waits longer.
    Failed,
    /// It opened, then ended without the application asking: it is made again, the
    /// backoff started afresh.
    Dropped,
    /// The application closed it: it is not made again.
    Closed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_into_what_the_request_needs() {
        let t = Target::parse("ws://example.com/chat?room=1").unwrap();
        assert_eq!(
            (t.secure, t.host.as_str(), t.port, t.resource.as_str()),
            (false, "example.com", 80, "/chat?room=1")
        );
        assert_eq!(t.host_header, "example.com");
        let t = Target::parse("wss://[::1]:9443").unwrap();
        assert_eq!((t.secure, t.host.as_str(), t.port), (true, "::1", 9443));
        assert_eq!(
            (t.resource.as_str(), t.host_header.as_str()),
            ("/", "[::1]:9443")
        );
        assert_eq!(Target::parse("wss://h:443/").unwrap().host_header, "h");
        for bad in ["ftp://h/", "ws://", "not a url", "ws://h/#frag"] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
        let redirected = Connect::new("ws://a.example/x").redirected("/y?z");
        assert_eq!(redirected.url(), "ws://a.example/y?z");
    }
}
