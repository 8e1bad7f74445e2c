//! Errors handed to `on_error`, and the protocol rules they stand for.

use crate::CloseCode;
use std::fmt;

/// Something went wrong on a connection. The connection is still addressable when the
/// application hears of it; the protocol layer closes it as the error requires.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The peer broke a protocol rule.
    Protocol(ProtocolError),
    /// A handler panicked; the connection is closed with 1011.
    Panic(String),
    /// A handler returned an error (the DSL routes `Err` here).
    App(Box<dyn std::error::Error + Send + Sync>),
    /// A message did not parse as the type its handler takes (a [`Json`](crate::Json)
    /// that is not the JSON expected); the connection stays open.
    BadMessage(String),
    /// A message from this connection was dropped: it sends faster than its
    /// [`Rate`](crate::Rate) allows.
    RateLimited,
    /// A message to this connection was dropped: the client reads slower than it is sent
    /// to, and its pending output reached the server's limit.
    Overflow,
    /// An outbound connection did not open (see [`client`](crate::client)).
    Connect(crate::outbound::ConnectError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Protocol(e) => write!(f, "protocol error: {e}"),
            Error::Panic(msg) => write!(f, "handler panicked: {msg}"),
            Error::App(e) => write!(f, "application error: {e}"),
            Error::BadMessage(reason) => write!(f, "bad message: {reason}"),
            Error::RateLimited => f.write_str("message dropped: sent faster than the rate limit"),
            Error::Overflow => {
                f.write_str("message dropped: the client is not reading fast enough")
            }
            Error::Connect(e) => write!(f, "connecting out: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Protocol(e) => Some(e),
            Error::App(e) => Some(e.as_ref()),
            Error::Connect(e) => Some(e),
            Error::Panic(_) | Error::BadMessage(_) | Error::RateLimited | Error::Overflow => None,
        }
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Error::Protocol(e)
    }
}

/// One variant per rule a peer can break once the connection is open. Each maps to the
/// close code that answers it in one place, [`ProtocolError::close_code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// "The server MUST close the connection upon receiving a frame that is not masked"
    /// (RFC 6455 §5.1).
    UnmaskedFrame,
    /// "A client MUST close a connection if it detects a masked frame" (RFC 6455 §5.1).
    MaskedFrame,
    /// "RSV1, RSV2, RSV3: MUST be 0 unless an extension is negotiated" (§5.2).
    ReservedBits,
    /// "If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket
    /// Connection_" (§5.2).
    ReservedOpcode,
    /// "Control frames MUST NOT be fragmented" (§5.5).
    FragmentedControlFrame,
    /// "All control frames MUST have a payload length of 125 bytes or less" (§5.5).
    ControlFrameTooLong,
    /// "the most significant bit MUST be 0" of a 64-bit payload length (§5.2).
    InvalidLength,
    /// A continuation frame with no message in progress (§5.4).
    UnexpectedContinuation,
    /// A new data frame while a fragmented message is in progress (§5.4).
    ExpectedContinuation,
    /// A close frame whose payload is one byte long (§5.5.1).
    InvalidClosePayload,
    /// A close code that may not be sent on the wire (§7.4).
    InvalidCloseCode,
    /// Text (or a close reason) that is not valid UTF-8 (§8.1).
    InvalidUtf8,
    /// A message larger than the configured maximum.
    MessageTooBig,
    /// A Hixie frame type this server does not understand.
    InvalidHixieFrame,
    /// A compressed message that does not inflate (RFC 7692 §7.2.2).
    InvalidCompressedData,
    /// A frame larger than the configured maximum frame size.
    FrameTooBig,
    /// The server's budget for messages in progress, shared by every connection, is spent:
    /// the message would take more than is left. Answered with 1013, "try again later".
    Busy,
    /// A message was begun and not finished within the configured time.
    MessageTimeout,
    /// Messages came faster than the connection's [`Rate`](crate::Rate) allows, with
    /// [`OverRate::Close`](crate::OverRate::Close). Answered with 1008.
    RateLimit,
}

impl ProtocolError {
    /// The close code that answers this violation.
    pub fn close_code(self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8 | ProtocolError::InvalidCompressedData => CloseCode::Invalid,
            ProtocolError::MessageTooBig | ProtocolError::FrameTooBig => CloseCode::Size,
            ProtocolError::Busy => CloseCode::Again,
            ProtocolError::MessageTimeout | ProtocolError::RateLimit => CloseCode::Policy,
            _ => CloseCode::Protocol,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProtocolError::UnmaskedFrame => "frame from client is not masked",
            ProtocolError::MaskedFrame => "frame from server is masked",
            ProtocolError::ReservedBits => "reserved bits set without a negotiated extension",
            ProtocolError::ReservedOpcode => "reserved opcode",
            ProtocolError::FragmentedControlFrame => "fragmented control frame",
            ProtocolError::ControlFrameTooLong => "control frame payload longer than 125 bytes",
            ProtocolError::InvalidLength => "payload length has its most significant bit set",
            ProtocolError::UnexpectedContinuation => {
                "continuation frame without a message in progress"
            }
            ProtocolError::ExpectedContinuation => "new message before the previous one ended",
            ProtocolError::InvalidClosePayload => "close frame payload of one byte",
            ProtocolError::InvalidCloseCode => "close code not allowed on the wire",
            ProtocolError::InvalidUtf8 => "invalid UTF-8 in text",
            ProtocolError::MessageTooBig => "message exceeds the maximum size",
            ProtocolError::InvalidHixieFrame => "invalid Hixie frame",
            ProtocolError::InvalidCompressedData => "compressed message does not inflate",
            ProtocolError::FrameTooBig => "frame exceeds the maximum size",
            ProtocolError::Busy => "server busy: too many messages in progress",
            ProtocolError::MessageTimeout => "message not finished in time",
            ProtocolError::RateLimit => "messages sent faster than the rate limit",
        })
    }
}

impl std::error::Error for ProtocolError {}

/// A configuration that contradicts itself or the layers around it, found once, when the
/// server is assembled ([`Server::bind`](crate::Server::bind)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(String);

impl ConfigError {
    /// An error saying `why`.
    pub fn new(why: impl Into<String>) -> Self {
        ConfigError(why.into())
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

impl From<ConfigError> for std::io::Error {
    fn from(e: ConfigError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, e)
    }
}
