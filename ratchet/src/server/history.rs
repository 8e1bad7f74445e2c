//! History topics where the topics are kept (the event loop, or the app thread of
//! several workers): publishes numbered (by the bridge's store, or by the rings of this
//! process), delivered with their offsets, and recoveries sewn to the live messages (see
//! [`crate::history`]).

use super::bridge::Bridge;
use super::core::Core;
use super::transport::Transport;
use crate::command::{Command, Topic};
use crate::conn::ConnId;
use crate::history::{wire, History, Live, Offset, Retention, Rings, Seams};
use crate::message::Payload;
use crate::protocol::Protocol;
use crate::topics::Topics;
use std::time::Instant;

/// The history: which topics keep one, where, and the recoveries under way.
pub(crate) struct Timeline {
    rules: History,
    /// The history of this process, when no bridge keeps it.
    rings: Option<Rings>,
    seams: Seams,
}

impl Timeline {
    /// The history `rules` name, kept in this process unless the bridge keeps it.
    pub fn new(rules: History, bridge: Option<&dyn Bridge>) -> Self {
        let bridged = bridge.is_some_and(|b| b.keeps_history());
        Timeline {
            rings: (!bridged).then(|| Rings::new(rules.memory_limit())),
            rules,
            seams: Seams::default(),
        }
    }

    /// How much of `topic`'s history is kept, if it has one.
    pub fn retention(&self, topic: &str) -> Option<Retention> {
        self.rules.retention(topic)
    }
}

/// What history works with: the timeline (if topics keep one), the topics' subscribers,
/// the bridge, and where the messages it sends go (carried out at once by the caller).
pub(super) struct Keeping<'a> {
    pub timeline: Option<&'a mut Timeline>,
    pub topics: &'a Topics,
    pub bridge: Option<&'a mut (dyn Bridge + 'static)>,
    pub now: Instant,
    pub out: &'a mut Vec<Command>,
}

impl Keeping<'_> {
    /// How much of `topic`'s history is kept, if it has one.
    pub fn retention(&self, topic: &str) -> Option<Retention> {
        self.timeline.as_ref()?.retention(topic)
    }

    /// A publish on a history topic: numbered here and delivered, or handed to the
    /// bridge, which delivers it once numbered.
    pub fn publish(&mut self, topic: Topic, msg: Payload, except: Option<ConnId>, keep: Retention) {
        let Some(timeline) = self.timeline.as_deref_mut() else {
            return;
        };
        match (&mut timeline.rings, self.bridge.as_deref_mut()) {
            (Some(rings), bridge) => {
                let offset = rings.append(&topic, &msg, keep, self.now);
                if let Some(bridge) = bridge {
                    bridge.publish(&topic, &msg);
                }
                self.deliver(&topic, Some(offset), &msg, except);
            }
            (None, Some(bridge)) => {
                // Refused (the bridge's queue full): heard here, unnumbered.
                if !bridge.publish_numbered(&topic, &msg, except, keep) {
                    self.deliver(&topic, None, &msg, except);
                }
            }
            (None, None) => {}
        }
    }

    /// Sends a numbered message to `topic`'s subscribers here but `except`, each once:
    /// a subscriber recovering gets it after its history. A message that could not be
    /// numbered (no offset: the store was unreachable) is in no history, and goes out
    /// at once; one unnumbered on a topic without history (a push) goes out as it is.
    pub fn deliver(
        &mut self,
        topic: &Topic,
        offset: Option<Offset>,
        msg: &Payload,
        except: Option<ConnId>,
    ) {
        let mut ids = Vec::new();
        self.topics.recipients(topic, except, &mut ids);
        if offset.is_none() && self.retention(topic).is_none() {
            if !ids.is_empty() {
                self.out.push(Command::send_to(ids, msg.clone()));
            }
            return;
        }
        if let (Some(timeline), Some(offset)) = (self.timeline.as_deref_mut(), offset) {
            if !timeline.seams.is_empty() {
                ids.retain(|&id| timeline.seams.live(id, topic, offset, msg) == Live::Send);
            }
        }
        if !ids.is_empty() {
            let numbered = wire::numbered(topic, offset, msg);
            self.out.push(Command::send_to(ids, numbered));
        }
    }

    /// `conn`, just subscribed to `topic`, recovers what it missed since `since`.
    pub fn recover(&mut self, conn: ConnId, topic: Topic, since: Option<Offset>) {
        let Some(keep) = self.retention(&topic) else {
            return;
        };
        let Some(timeline) = self.timeline.as_deref_mut() else {
            return;
        };
        timeline.seams.reading(conn, topic.clone(), since, keep.len);
        match (&mut timeline.rings, self.bridge.as_deref_mut()) {
            (Some(rings), _) => {
                let (found, complete) = rings.after(&topic, since, keep, self.now);
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
    pub fn recovered(
        &mut self,
        conn: ConnId,
        topic: &Topic,
        found: Vec<(Offset, Payload)>,
        complete: bool,
    ) {
        let Some(timeline) = self.timeline.as_deref_mut() else {
            return;
        };
        for msg in timeline.seams.read(conn, topic, found, complete) {
            self.out.push(Command::send(conn, msg));
        }
    }

    /// `conn` is no longer in `topic`: its recovery, if any, is over.
    pub fn forget(&mut self, conn: ConnId, topic: &str) {
        if let Some(timeline) = self.timeline.as_deref_mut() {
            timeline.seams.forget(conn, topic);
        }
    }
}

impl<P: Protocol, T: Transport> Core<P, T> {
    /// Keeps the history of the topics `history` names.
    pub fn with_history(mut self, history: Option<History>) -> Self {
        self.timeline = history.map(|rules| Timeline::new(rules, self.bridge.as_deref()));
        self
    }

    /// Runs `f` on this loop's history; what it sends is carried out at once.
    pub(super) fn keeping<R>(&mut self, f: impl FnOnce(&mut Keeping<'_>) -> R) -> R {
        let mut out = Vec::new();
        let result = f(&mut Keeping {
            timeline: self.timeline.as_mut(),
            topics: &self.topics,
            bridge: self.bridge.as_deref_mut(),
            now: self.now,
            out: &mut out,
        });
        for cmd in out {
            self.run(cmd);
        }
        result
    }

    /// How much of `topic`'s history is kept, if it has one.
    pub(super) fn retention(&self, topic: &str) -> Option<Retention> {
        self.timeline.as_ref()?.retention(topic)
    }

    /// `conn` joins `topic` and recovers what it missed since `since`.
    pub(super) fn recover(&mut self, conn: ConnId, topic: Topic, since: Option<Offset>) {
        if self.subscribe(conn, topic.clone()) {
            self.keeping(|k| k.recover(conn, topic, since));
        }
    }
}
