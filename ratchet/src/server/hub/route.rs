//! Carrying out the applications' commands on the app thread: topics, presence,
//! history, timers and the bridge here; what is for a connection goes down to the worker
//! that owns it, in this turn's batch.

use super::{owner, scope, Hub};
use crate::command::{Command, Commands, To, Topic};
use crate::conn::ConnId;
use crate::handle::Down;
use crate::message::Payload;
use crate::server::history::Keeping;
use crate::server::presence::Presence;
use std::time::Instant;

impl Hub {
    /// Carries out what application `app` asked for: here (topics, timers, the bridge),
    /// or on the workers that own the connections.
    pub(super) fn route(&mut self, app: usize, cmds: Commands) {
        for cmd in cmds {
            match cmd {
                Command::Send {
                    to: To::Many(ids),
                    msg,
                } => self.send_many(&ids, &msg),
                Command::Send {
                    to: To::One(id), ..
                } => self.down(id, Down::Command(cmd)),
                Command::Close { conn: id, .. } => {
                    // Its messages still coming up are not handled (as on one loop).
                    if self.conns.contains_key(&id) {
                        self.closing.insert(id);
                    }
                    self.down(id, Down::Command(cmd));
                }
                Command::Subscribe { conn, topic } => {
                    self.subscribe(conn, topic);
                }
                Command::Recover { conn, topic, since } => {
                    if self.subscribe(conn, topic.clone()) {
                        self.keeping(|k| k.recover(conn, topic, since));
                    }
                }
                Command::Present { conn, topic, info } => {
                    if self.subscribe(conn, topic.clone()) {
                        self.presence(|p| p.present(conn, &topic, info));
                    }
                }
                Command::Presence { conn, topic } => self.presence(|p| p.snapshot(conn, &topic)),
                Command::Unsubscribe { conn, topic } => {
                    let Some(topics) = self.conns.get_mut(&conn) else {
                        continue;
                    };
                    let Some(at) = topics.iter().position(|t| *t == topic) else {
                        continue;
                    };
                    topics.swap_remove(at);
                    self.leave(conn, &topic);
                }
                Command::Publish { topic, msg, except } => {
                    let keep = self.timeline.as_ref().and_then(|t| t.retention(&topic));
                    if let Some(keep) = keep {
                        self.keeping(|k| k.publish(topic, msg, except, keep));
                        continue;
                    }
                    if let Some(bridge) = &mut self.bridge {
                        bridge.publish(&topic, &msg);
                    }
                    self.deliver(&topic, &msg, except);
                }
                Command::Timer {
                    key, after, every, ..
                } => self
                    .timers
                    .start(Instant::now(), scope(app), key, after, every),
                Command::CancelTimer { key, .. } => self.timers.cancel(scope(app), key),
                // Outbound connections are made by the first worker, scoped to the
                // application's place in the worker's stack (behind its routes).
                Command::Connect {
                    key,
                    connect,
                    scope,
                } => {
                    let scope = self.apps.scope(app, scope);
                    let cmd = Command::Connect {
                        key,
                        connect,
                        scope,
                    };
                    self.lanes[0].push(Down::Command(cmd));
                }
                Command::CancelConnect { key, scope } => {
                    let scope = self.apps.scope(app, scope);
                    let cmd = Command::CancelConnect { key, scope };
                    self.lanes[0].push(Down::Command(cmd));
                }
            }
        }
    }

    pub(super) fn down(&mut self, id: ConnId, what: Down) {
        let worker = owner(id, self.workers.len());
        self.lanes[worker].push(what);
    }

    /// One command per worker that owns some of `ids`.
    pub(super) fn send_many(&mut self, ids: &[ConnId], msg: &Payload) {
        let n = self.workers.len();
        for &id in ids {
            self.by_worker[owner(id, n)].push(id);
        }
        for (lane, ids) in self.lanes.iter_mut().zip(&mut self.by_worker) {
            let to = match ids.as_slice() {
                [] => continue,
                &[one] => To::One(one),
                many => To::Many(many.into()),
            };
            ids.clear();
            let msg = msg.clone();
            lane.push(Down::Command(Command::Send { to, msg }));
        }
    }

    pub(super) fn deliver(&mut self, topic: &str, msg: &Payload, except: Option<ConnId>) {
        let mut ids = std::mem::take(&mut self.recipients);
        ids.clear();
        self.topics.recipients(topic, except, &mut ids);
        self.send_many(&ids, msg);
        self.recipients = ids;
    }

    /// Subscribes `conn` to `topic`; whether `conn` is there to be.
    pub(super) fn subscribe(&mut self, conn: ConnId, topic: Topic) -> bool {
        let Some(topics) = self.conns.get_mut(&conn) else {
            return false;
        };
        if topics.contains(&topic) {
            return true;
        }
        topics.push(topic.clone());
        if self.topics.join(conn, topic.clone()) {
            if let Some(bridge) = &mut self.bridge {
                bridge.joined(&topic);
            }
        }
        true
    }

    /// `conn` leaves `topic`: if it was present there, the others hear it; the bridge
    /// hears of it if it was the last subscriber.
    pub(super) fn leave(&mut self, conn: ConnId, topic: &str) {
        self.keeping(|k| k.forget(conn, topic));
        let emptied = self.topics.leave(conn, topic);
        self.presence(|p| p.absent(conn, topic));
        if emptied {
            if let Some(bridge) = &mut self.bridge {
                bridge.left(topic);
            }
        }
    }

    /// History, kept here as one loop keeps it; what it sends goes down at once.
    pub(super) fn keeping(&mut self, f: impl FnOnce(&mut Keeping<'_>)) {
        let mut out = Vec::new();
        f(&mut Keeping {
            timeline: self.timeline.as_mut(),
            topics: &self.topics,
            bridge: self.bridge.as_deref_mut(),
            now: Instant::now(),
            out: &mut out,
        });
        if !out.is_empty() {
            self.route(0, out.into_iter().collect());
        }
    }

    /// Presence, kept here as one loop keeps it; what it sends goes down at once.
    pub(super) fn presence(&mut self, f: impl FnOnce(&mut Presence<'_>)) {
        let mut out = Vec::new();
        f(&mut Presence {
            members: &mut self.members,
            bridge: self.bridge.as_deref_mut(),
            topics: &self.topics,
            out: &mut out,
        });
        if !out.is_empty() {
            self.route(0, out.into_iter().collect());
        }
    }
}
