//! Presence where the topics are kept (the event loop, or the app thread of several
//! workers): who of this process is present where, told to each topic's subscribers as
//! they come and go, and kept by the bridge for every process when it can (see
//! [`crate::presence`]).

use super::bridge::Bridge;
use super::core::Core;
use super::transport::Transport;
use crate::command::{Command, Topic};
use crate::conn::ConnId;
use crate::message::Payload;
use crate::presence::{self, Member, Members};
use crate::protocol::Protocol;
use crate::topics::Topics;

/// What presence works with: the members here, the bridge, the topics' subscribers, and
/// where the commands it makes go.
pub(super) struct Presence<'a> {
    pub members: &'a mut Members,
    pub bridge: Option<&'a mut (dyn Bridge + 'static)>,
    pub topics: &'a Topics,
    pub out: &'a mut Vec<Command>,
}

impl Presence<'_> {
    /// The bridge, if it keeps presence for every process.
    fn keeper(&mut self) -> Option<&mut (dyn Bridge + 'static)> {
        self.bridge
            .as_deref_mut()
            .filter(|b| b.presence_id().is_some())
    }

    /// `conn`, subscribed to `topic`, is present there, introduced by `info`.
    pub fn present(&mut self, conn: ConnId, topic: &Topic, info: String) {
        let new = self.members.join(conn, topic, info.clone());
        if let Some(bridge) = self.keeper() {
            bridge.present(conn, topic, &info);
        }
        if new {
            let member = Member {
                client: self.client(conn),
                info,
            };
            self.tell(topic, presence::event(topic, true, &member));
        }
    }

    /// `conn` left `topic`: if it was present, the others hear it.
    pub fn absent(&mut self, conn: ConnId, topic: &str) {
        let Some(info) = self.members.leave(conn, topic) else {
            return;
        };
        if let Some(bridge) = self.keeper() {
            bridge.absent(conn, topic);
        }
        let member = Member {
            client: self.client(conn),
            info,
        };
        self.tell(topic, presence::event(topic, false, &member));
    }

    /// Sends `conn` who is present in `topic`: from the bridge, or from here.
    pub fn snapshot(&mut self, conn: ConnId, topic: &str) {
        if let Some(bridge) = self.keeper() {
            if !bridge.presence(conn, topic) {
                // Refused (the bridge's queue full): who is present cannot be known now.
                let unknown = Payload::text(presence::unknown(topic));
                self.out.push(Command::send(conn, unknown));
            }
            return;
        }
        let members: Vec<Member> = self
            .members
            .of(topic)
            .into_iter()
            .map(|(id, info)| Member {
                client: presence::local_client(id),
                info,
            })
            .collect();
        let snapshot = Payload::text(presence::snapshot(topic, &members));
        self.out.push(Command::send(conn, snapshot));
    }

    /// `conn`'s name in presence: `<process>:<connection>` when the bridge keeps it.
    fn client(&self, conn: ConnId) -> String {
        match self.bridge.as_ref().and_then(|b| b.presence_id()) {
            Some(process) => format!("{process}:{}", conn.to_raw()),
            None => presence::local_client(conn),
        }
    }

    /// A presence event for `topic`'s subscribers in every process (theirs through the
    /// bridge; here after the commands under way, as the event may come while a
    /// connection ends).
    fn tell(&mut self, topic: &str, event: String) {
        let event = Payload::text(event);
        if let Some(bridge) = self.bridge.as_deref_mut() {
            bridge.publish(topic, &event);
        }
        let mut ids = Vec::new();
        self.topics.recipients(topic, None, &mut ids);
        if !ids.is_empty() {
            self.out.push(Command::send_to(ids, event));
        }
    }
}

impl<P: Protocol, T: Transport> Core<P, T> {
    /// Presence in this loop; what it makes goes to the commands under way.
    fn presence_here(&mut self) -> Presence<'_> {
        Presence {
            members: &mut self.members,
            bridge: self.bridge.as_deref_mut(),
            topics: &self.topics,
            out: &mut self.commands,
        }
    }

    /// `conn` is present in `topic`, introduced by `info`.
    pub(super) fn present(&mut self, conn: ConnId, topic: Topic, info: String) {
        if self.subscribe(conn, topic.clone()) {
            self.presence_here().present(conn, &topic, info);
        }
    }

    /// `conn` left `topic`: if it was present, the others hear it.
    pub(super) fn absent(&mut self, conn: ConnId, topic: &str) {
        self.presence_here().absent(conn, topic);
    }

    /// Sends `conn` who is present in `topic`.
    pub(super) fn presence(&mut self, conn: ConnId, topic: &str) {
        self.presence_here().snapshot(conn, topic);
    }
}
