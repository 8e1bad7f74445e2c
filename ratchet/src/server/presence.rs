//! Presence in the event loop: who of this process is present where, told to each
//! topic's subscribers as they come and go, and kept by the bridge for every process when
//! it can (see [`crate::presence`]).

use super::core::Core;
use super::transport::Transport;
use crate::command::{Command, Topic};
use crate::conn::ConnId;
use crate::message::Payload;
use crate::presence::{self, Member};
use crate::protocol::Protocol;

impl<P: Protocol, T: Transport> Core<P, T> {
    /// `conn` is present in `topic`, introduced by `info`.
    pub(super) fn present(&mut self, conn: ConnId, topic: Topic, info: String) {
        if !self.subscribe(conn, topic.clone()) {
            return;
        }
        let new = self.members.join(conn, &topic, info.clone());
        if let Some(bridge) = self.bridge.as_mut().filter(|b| b.presence_id().is_some()) {
            bridge.present(conn, &topic, &info);
        }
        if new {
            let member = Member {
                client: self.client(conn),
                info,
            };
            self.tell(&topic, presence::event(&topic, true, &member));
        }
    }

    /// `conn` left `topic`: if it was present, the others hear it.
    pub(super) fn absent(&mut self, conn: ConnId, topic: &str) {
        let Some(info) = self.members.leave(conn, topic) else {
            return;
        };
        if let Some(bridge) = self.bridge.as_mut().filter(|b| b.presence_id().is_some()) {
            bridge.absent(conn, topic);
        }
        let member = Member {
            client: self.client(conn),
            info,
        };
        self.tell(topic, presence::event(topic, false, &member));
    }

    /// Sends `conn` who is present in `topic`: from the bridge, or from here.
    pub(super) fn presence(&mut self, conn: ConnId, topic: &str) {
        if let Some(bridge) = self.bridge.as_mut().filter(|b| b.presence_id().is_some()) {
            if !bridge.presence(conn, topic) {
                // Refused (the bridge's queue full): who is present cannot be known now.
                let unknown = Payload::text(presence::unknown(topic));
                self.commands.push(Command::send(conn, unknown));
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
        self.commands.push(Command::send(conn, snapshot));
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
        if let Some(bridge) = &mut self.bridge {
            bridge.publish(topic, &event);
        }
        let mut ids = Vec::new();
        self.topics.recipients(topic, None, &mut ids);
        if !ids.is_empty() {
            self.commands.push(Command::send_to(ids, event));
        }
    }
}
