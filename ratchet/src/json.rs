//! JSON messages: handlers that take a typed message, and commands that send one
//! (the `json` feature, on by default).

use crate::app::{FromMessage, Unfit};
use crate::command::{Command, Topic};
use crate::conn::{Conn, ConnSet, Recipients};
use crate::message::{Message, Payload};
use serde::{Deserialize, Serialize};

/// A message parsed from JSON: take `msg: Json<Vote>` in a handler and it gets a `Vote`.
/// A message that is not valid JSON for the type goes to `on_error` as
/// [`Error::BadMessage`](crate::Error::BadMessage) and the connection stays open.
///
/// ```
/// use ratchet::{Json, app::FromMessage, Message};
///
/// #[derive(serde::Deserialize, Debug, PartialEq)]
/// struct Vote {
///     choice: u8,
/// }
///
/// let Json(vote) = Json::<Vote>::from_message(Message::Text(r#"{"choice":2}"#)).unwrap();
/// assert_eq!(vote, Vote { choice: 2 });
/// assert!(Json::<Vote>::from_message(Message::Text("{}")).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Json<T>(pub T);

impl<'a, T: Deserialize<'a>> FromMessage<'a> for Json<T> {
    fn from_message(msg: Message<'a>) -> Result<Self, Unfit> {
        serde_json::from_slice(msg.as_bytes())
            .map(Json)
            .map_err(|e| Unfit::Bad(format!("not the JSON expected: {e}")))
    }
}

/// `value` as a JSON text payload, serialised once however many it goes to.
pub fn payload<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<Payload> {
    serde_json::to_string(value).map(Payload::from)
}

impl Conn {
    /// A command sending `value`, as JSON text, to this connection.
    pub fn send_json<T: Serialize + ?Sized>(&self, value: &T) -> serde_json::Result<Command> {
        Ok(self.send(payload(value)?))
    }
}

impl ConnSet {
    /// A command sending `value`, serialised once, to everyone in the set.
    pub fn send_json<T: Serialize + ?Sized>(&self, value: &T) -> serde_json::Result<Command> {
        Ok(self.send(payload(value)?))
    }
}

impl Recipients {
    /// A command sending `value`, serialised once, to every recipient.
    pub fn send_json<T: Serialize + ?Sized>(self, value: &T) -> serde_json::Result<Command> {
        Ok(self.send(payload(value)?))
    }
}

impl Command {
    /// A command publishing `value`, serialised once, to `topic`'s subscribers.
    pub fn publish_json<T: Serialize + ?Sized>(
        topic: impl Into<Topic>,
        value: &T,
    ) -> serde_json::Result<Command> {
        Ok(Command::publish(topic, payload(value)?))
    }
}
