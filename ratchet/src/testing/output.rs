//! What one event produced in a [`Tester`](super::Tester).

use crate::command::Commands;
use crate::conn::ConnId;
use crate::message::Payload;
use std::ops::Deref;

/// The commands the application returned for one event (and for what followed from them:
/// `on_close` after a close it asked for), and the messages they delivered: a `Send`
/// to its open recipients, a `Publish` to the topic's subscribers at that moment.
///
/// Reads as the [`Commands`] it holds (`output.len()`, `output.as_slice()`);
/// [`sent_to`](Output::sent_to) sees deliveries, topics included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    commands: Commands,
    deliveries: Vec<(ConnId, Payload)>,
    closed: Vec<ConnId>,
}

impl Output {
    /// The payloads delivered to `conn`, in order: sent to it, or published to a topic it
    /// was subscribed to.
    pub fn sent_to(&self, conn: impl Into<ConnId>) -> Vec<Payload> {
        let conn = conn.into();
        self.deliveries
            .iter()
            .filter(|(to, _)| *to == conn)
            .map(|(_, msg)| msg.clone())
            .collect()
    }

    /// Every delivery, in order.
    pub fn deliveries(&self) -> &[(ConnId, Payload)] {
        &self.deliveries
    }

    /// The connections this event closed (the application asked; `on_close` ran).
    pub fn closed(&self) -> &[ConnId] {
        &self.closed
    }

    /// The commands, in the order the handlers returned them.
    pub fn commands(&self) -> &Commands {
        &self.commands
    }

    /// The commands, owned.
    pub fn into_commands(self) -> Commands {
        self.commands
    }

    pub(super) fn record(&mut self, cmds: Commands) {
        self.commands.push(cmds);
    }

    pub(super) fn deliver(&mut self, to: ConnId, msg: Payload) {
        self.deliveries.push((to, msg));
    }

    pub(super) fn close(&mut self, conn: ConnId) {
        self.closed.push(conn);
    }

    pub(super) fn extend(&mut self, other: Output) {
        self.commands.push(other.commands);
        self.deliveries.extend(other.deliveries);
        self.closed.extend(other.closed);
    }
}

impl Deref for Output {
    type Target = Commands;
    fn deref(&self) -> &Commands {
        &self.commands
    }
}

impl PartialEq<Commands> for Output {
    fn eq(&self, other: &Commands) -> bool {
        self.commands == *other
    }
}
