//! History topics in the event loop: publishes numbered (by the bridge's store, or by the
//! rings of this process), delivered with their offsets, and recoveries sewn to the live
//! messages (see [`crate::history`]).

use super::core::Core;
use super::transport::Transport;
use crate::command::Topic;
use crate::conn::ConnId;
use crate::history::{wire, History, Live, Offset, Retention, Rings, Seams};
use crate::message::Payload;
use crate::protocol::Protocol;

/// The loop's history: which topics keep one, where, and the recoveries under way.
pub(crate) struct Timeline {
    rules: History,
    /// The history of this process, when no bridge keeps it.
    rings: Option<Rings>,
    seams: Seams,
}

impl<P: Protocol, T: Transport> Core<P, T> {
    /// Keeps the history of the topics `history` names.
    pub fn with_history(mut self, history: Option<History>) -> Self {
        self.timeline = history.map(|rules| {
            let bridged = self.bridge.as_ref().is_some_and(|b| b.keeps_history());
            Timeline {
                rings: (!bridged).then(|| Rings::new(rules.memory_limit())),
                rules,
                seams: Seams::default(),
            }
        });
        self
    }

    /// How much of `topic`'s history is kept, if it has one.
    pub(super) fn retention(&self, topic: &str) -> Option<Retention> {
        self.timeline.as_ref()?.rules.retention(topic)
    }

    /// A publish on a history topic: numbered here and delivered, or handed to the
    /// bridge, which delivers it once numbered.
    pub(super) fn publish_numbered(
        &mut self,
        topic: Topic,
        msg: Payload,
        except: Option<ConnId>,
        keep: Retention,
    ) {
        let now = self.now;
        let Some(timeline) = &mut self.timeline else {
            return;
        };
        match (&mut timeline.rings, &mut self.bridge) {
            (Some(rings), bridge) => {
                let offset = rings.append(&topic, &msg, keep, now);
                if let Some(bridge) = bridge {
                    bridge.publish(&topic, &msg);
                }
                self.deliver_numbered(&topic, Some(offset), &msg, except);
            }
            (None, Some(bridge)) => {
                // Refused (the bridge's queue full): heard here, unnumbered.
                if !bridge.publish_numbered(&topic, &msg, except, keep) {
                    self.deliver_numbered(&topic, None, &msg, except);
                }
            }
            (None, None) => {}
        }
    }

    /// Sends a numbered message to `topic`'s subscribers here but `except`, each once:
    /// a subscriber recovering gets it after its history. A message that could not be
    /// numbered (no offset: the store was unreachable) is in no history, and goes out
    /// at once.
    pub(super) fn deliver_numbered(
        &mut self,
        topic: &Topic,
        offset: Option<Offset>,
        msg: &Payload,
        except: Option<ConnId>,
    ) {
        // Unnumbered on a topic without history (a push): as it is.
        if offset.is_none() && self.retention(topic).is_none() {
            self.deliver(topic, msg, except);
            return;
        }
        let mut ids = std::mem::take(&mut self.recipients);
        self.topics.recipients(topic, except, &mut ids);
        if let (Some(timeline), Some(offset)) = (&mut self.timeline, offset) {
            if !timeline.seams.is_empty() {
                ids.retain(|&id| timeline.seams.live(id, topic, offset, msg) == Live::Send);
            }
        }
        if !ids.is_empty() {
            self.send_many(&ids, &wire::numbered(topic, offset, msg));
        }
        self.recipients = ids;
    }

    /// `conn` joins `topic` and recovers what it missed since `since`.
    pub(super) fn recover(&mut self, conn: ConnId, topic: Topic, since: Option<Offset>) {
        let joined = self.subscribe(conn, topic.clone());
        let Some(keep) = self.retention(&topic).filter(|_| joined) else {
            return;
        };
        let now = self.now;
        let Some(timeline) = &mut self.timeline else {
            return;
        };
        timeline.seams.reading(conn, topic.clone(), since, keep.len);
        match (&mut timeline.rings, &mut self.bridge) {
            (Some(rings), _) => {
                let (found, complete) = rings.after(&topic, since, keep, now);
                self.recovered(conn, &topic, found, complete);
            }
            (None, Some(bridge)) => {
                // Refused: nothing recovered, and the connection goes live.
                if !bridge.recover(conn, &topic, since, keep) {
                    self.recovered(conn, &topic, Vec::new(), false);
                }
            }
            (None, None) => {}
        }
    }

    /// The history `conn` asked for was read: it goes out, then the seam, then the live
    /// messages that waited.
    pub(super) fn recovered(
        &mut self,
        conn: ConnId,
        topic: &Topic,
        found: Vec<(Offset, Payload)>,
        complete: bool,
    ) {
        let Some(timeline) = &mut self.timeline else {
            return;
        };
        for msg in timeline.seams.read(conn, topic, found, complete) {
            self.send_one(conn, &msg);
        }
    }

    /// `conn` is no longer in `topic`: its recovery, if any, is over.
    pub(super) fn forget_seam(&mut self, conn: ConnId, topic: &str) {
        if let Some(timeline) = &mut self.timeline {
            timeline.seams.forget(conn, topic);
        }
    }
}
