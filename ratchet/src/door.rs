//! The door: what an application says to a connection before it opens.

use std::fmt;

/// The application's answer to a connection knocking ([`Component::on_request`]): come
/// in, or a refusal with an HTTP status and a reason.
///
/// Handlers may return `()` (come in), `Result<(), Refuse>` or a `Door`; all convert.
///
/// [`Component::on_request`]: crate::Component::on_request
///
/// ```
/// use ratchet::{Door, Refuse};
///
/// let door: Door = Err(Refuse::forbidden("no token")).into();
/// assert_eq!(door, Door::Refuse(Refuse::new(403, "no token")));
/// assert_eq!(Door::from(()), Door::Open);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Door {
    /// The connection opens: `on_open` follows.
    #[default]
    Open,
    /// The connection is refused: an HTTP protocol answers with the status and reason
    /// and closes; `on_open` and `on_close` never run.
    Refuse(Refuse),
    /// The answer comes later, from any thread, through
    /// [`Handle::answer`](crate::Handle::answer) (for a check that calls out: a token
    /// service, a database). The connection waits, unanswered: a WebSocket handshake's
    /// deadline still runs, and one that passes closes it; a line connection's input waits
    /// for the answer (it has no deadline of its own). Behind several workers, every
    /// knock is answered this way, by the app thread.
    Later,
}

/// A door's answer on its way to the connection it is for (attached to it as an
/// extension, where the protocol that waits finds it).
#[derive(Debug, Clone)]
pub(crate) struct Answer(pub Door);

/// A refusal: an HTTP status (400–599) and a one-line reason sent to the client.
#[derive(Clone, PartialEq, Eq)]
pub struct Refuse {
    status: u16,
    reason: String,
}

impl Refuse {
    /// A refusal with `status`; one outside 400–599 is sent as `403`. Line breaks in the
    /// reason are sent as spaces.
    pub fn new(status: u16, reason: impl Into<String>) -> Self {
        let status = if (400..600).contains(&status) {
            status
        } else {
            403
        };
        let reason = reason.into().replace(['\r', '\n'], " ");
        Refuse { status, reason }
    }

    /// `401 Unauthorized`: the client did not say who it is.
    pub fn unauthorized(reason: impl Into<String>) -> Self {
        Self::new(401, reason)
    }

    /// `403 Forbidden`: the client may not come in.
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::new(403, reason)
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Debug for Refuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Refuse({} {:?})", self.status, self.reason)
    }
}

impl fmt::Display for Refuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.reason)
    }
}

impl std::error::Error for Refuse {}

impl From<()> for Door {
    fn from((): ()) -> Self {
        Door::Open
    }
}

impl From<Refuse> for Door {
    fn from(refuse: Refuse) -> Self {
        Door::Refuse(refuse)
    }
}

impl From<Result<(), Refuse>> for Door {
    fn from(answer: Result<(), Refuse>) -> Self {
        answer.map_or_else(Door::Refuse, |()| Door::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_stay_errors_and_reasons_stay_one_line() {
        assert_eq!(Refuse::new(200, "x").status(), 403);
        assert_eq!(Refuse::new(429, "x").status(), 429);
        assert_eq!(Refuse::new(401, "a\r\nb").reason(), "a  b");
    }
}
