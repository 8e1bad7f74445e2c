//! Why an outbound connection did not open.

use std::fmt;
use std::time::Duration;

/// An outbound connection that did not open, as the application hears it
/// (`on_error` with [`Error::Connect`](crate::Error::Connect), on the connection the
/// attempt made, whose [`Conn::outbound`](crate::Conn::outbound) is the key given to
/// [`Command::connect`](crate::Command::connect)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectError {
    /// What went wrong.
    pub failure: ConnectFailure,
    /// The URL it tried.
    pub url: String,
    /// How many attempts in a row have failed, this one included (1 for the first).
    pub attempt: u32,
    /// When the next attempt is made, if one is ([`Connect::reconnect`](super::Connect::reconnect)).
    pub retry_in: Option<Duration>,
}

/// What went wrong opening an outbound connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectFailure {
    /// The URL is not a `ws://` or `wss://` URL with a host.
    InvalidUrl(String),
    /// The host name did not resolve.
    Dns(String),
    /// Nobody listens there (the connection was refused).
    Refused,
    /// The connection failed (reset, unreachable, ...) before the handshake completed.
    Io(String),
    /// The TLS handshake failed (a certificate not trusted, a protocol mismatch...).
    Tls(String),
    /// The proxy refused the `CONNECT`, did not answer it as HTTP, or not in time.
    Proxy(String),
    /// The opening handshake did not complete in time.
    TimedOut,
    /// The server answered the upgrade with this status instead of `101`.
    Status(u16),
    /// The server redirected to this location, and following redirects is off (or their
    /// number was spent).
    Redirect(String),
    /// The server's answer broke the handshake's rules (a wrong `Sec-WebSocket-Accept`, a
    /// subprotocol or an extension not offered...).
    Handshake(String),
    /// This server cannot make the connection (no protocol with a client role, or
    /// `wss://` without TLS).
    Unsupported(String),
}

impl fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectFailure::InvalidUrl(why) => write!(f, "invalid URL: {why}"),
            ConnectFailure::Dns(why) => write!(f, "name not resolved: {why}"),
            ConnectFailure::Refused => f.write_str("connection refused"),
            ConnectFailure::Io(why) => write!(f, "connection failed: {why}"),
            ConnectFailure::Tls(why) => write!(f, "TLS handshake failed: {why}"),
            ConnectFailure::Proxy(why) => write!(f, "proxy: {why}"),
            ConnectFailure::TimedOut => f.write_str("handshake timed out"),
            ConnectFailure::Status(status) => write!(f, "server answered {status}, not 101"),
            ConnectFailure::Redirect(to) => write!(f, "redirected to {to} (not followed)"),
            ConnectFailure::Handshake(why) => write!(f, "bad handshake: {why}"),
            ConnectFailure::Unsupported(why) => write!(f, "cannot connect: {why}"),
        }
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} (attempt {}",
            self.url, self.failure, self.attempt
        )?;
        match self.retry_in {
            Some(after) => write!(f, ", retrying in {} ms)", after.as_millis()),
            None => f.write_str(", not retrying)"),
        }
    }
}

impl std::error::Error for ConnectError {}

impl std::error::Error for ConnectFailure {}

impl ConnectFailure {
    /// The failure an I/O error on the socket means.
    pub(crate) fn from_io(e: &std::io::Error) -> Self {
        // A layer that failed for a reason of its own (TLS) says so in the error.
        if let Some(failure) = e.get_ref().and_then(|e| e.downcast_ref::<ConnectFailure>()) {
            return failure.clone();
        }
        match e.kind() {
            std::io::ErrorKind::ConnectionRefused => ConnectFailure::Refused,
            _ => ConnectFailure::Io(e.to_string()),
        }
    }
}
