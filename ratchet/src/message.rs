//! Messages: what arrives (borrowed, [`Message`]) and what is sent (shared, [`Payload`]).

use bytes::Bytes;
use std::fmt;

/// A complete message as it arrived, borrowed from the server's buffers.
///
/// Text is guaranteed to be valid UTF-8: the protocol layer validated it before the
/// application sees it. Turn it into a [`Payload`] (one copy) to keep or send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// A text message.
    Text(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
}

impl<'a> Message<'a> {
    /// The message's bytes, whatever its kind.
    pub fn as_bytes(&self) -> &'a [u8] {
        match *self {
            Message::Text(s) => s.as_bytes(),
            Message::Binary(b) => b,
        }
    }

    /// The text, if this is a text message.
    pub fn as_text(&self) -> Option<&'a str> {
        match *self {
            Message::Text(s) => Some(s),
            Message::Binary(_) => None,
        }
    }

    /// Whether this is a text message.
    pub fn is_text(&self) -> bool {
        matches!(self, Message::Text(_))
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the message has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An owned, shareable copy of this message.
    pub fn to_payload(&self) -> Payload {
        Payload::from(*self)
    }
}

impl<'a> From<&'a str> for Message<'a> {
    fn from(s: &'a str) -> Self {
        Message::Text(s)
    }
}

impl<'a> From<&'a [u8]> for Message<'a> {
    fn from(b: &'a [u8]) -> Self {
        Message::Binary(b)
    }
}

/// Whether a payload is text or binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// UTF-8 text.
    Text,
    /// Arbitrary bytes.
    Binary,
}

/// An owned message to send: immutable and cheap to clone (reference counted), so one
/// payload sent to many connections is one allocation.
#[derive(Clone, PartialEq, Eq)]
pub struct Payload {
    kind: Kind,
    // Invariant: valid UTF-8 when `kind == Kind::Text`.
    data: Bytes,
}

impl Payload {
    /// A text payload.
    pub fn text(s: impl Into<String>) -> Self {
        Payload {
            kind: Kind::Text,
            data: Bytes::from(s.into()),
        }
    }

    /// A binary payload.
    pub fn binary(b: impl Into<Bytes>) -> Self {
        Payload {
            kind: Kind::Binary,
            data: b.into(),
        }
    }

    /// Text or binary.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The bytes (UTF-8 for text).
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// The text, if this is a text payload.
    pub fn as_text(&self) -> Option<&str> {
        match self.kind {
            // The invariant on `data` makes this infallible; checked anyway, it is cheap
            // next to the I/O that follows and keeps this module free of `unsafe`.
            Kind::Text => std::str::from_utf8(&self.data).ok(),
            Kind::Binary => None,
        }
    }

    /// Borrow as a [`Message`].
    pub fn as_message(&self) -> Message<'_> {
        match self.as_text() {
            Some(s) => Message::Text(s),
            None => Message::Binary(&self.data),
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the payload has no bytes.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_text() {
            Some(s) => write!(f, "Text({s:?})"),
            None => write!(f, "Binary({} bytes)", self.data.len()),
        }
    }
}

impl PartialEq<str> for Payload {
    fn eq(&self, other: &str) -> bool {
        self.as_text() == Some(other)
    }
}

impl PartialEq<&str> for Payload {
    fn eq(&self, other: &&str) -> bool {
        self.as_text() == Some(*other)
    }
}

impl From<Message<'_>> for Payload {
    fn from(m: Message<'_>) -> Self {
        match m {
            Message::Text(s) => Payload {
                kind: Kind::Text,
                data: Bytes::copy_from_slice(s.as_bytes()),
            },
            Message::Binary(b) => Payload {
                kind: Kind::Binary,
                data: Bytes::copy_from_slice(b),
            },
        }
    }
}

impl From<&str> for Payload {
    fn from(s: &str) -> Self {
        Payload::from(Message::Text(s))
    }
}

impl From<String> for Payload {
    fn from(s: String) -> Self {
        Payload::text(s)
    }
}

impl From<&String> for Payload {
    fn from(s: &String) -> Self {
        Payload::from(s.as_str())
    }
}

impl From<&[u8]> for Payload {
    fn from(b: &[u8]) -> Self {
        Payload::from(Message::Binary(b))
    }
}

impl From<Vec<u8>> for Payload {
    fn from(b: Vec<u8>) -> Self {
        Payload::binary(b)
    }
}

impl From<&Payload> for Payload {
    fn from(p: &Payload) -> Self {
        p.clone()
    }
}
