//! Carrying out commands: the only place anything the application asked for happens.
//! A message to many is framed once per wire encoding; a large frame is shared by its
//! recipients rather than copied; every byte queued counts against its connection's
//! output budget.

use super::config::Valid;
use super::connection::{Backlog, Connection};
use super::core::{lookup, Core, Place};
use super::output::SHARE_MIN;
use super::transport::Transport;
use crate::command::{Command, To, Topic};
use crate::conn::ConnId;
use crate::message::Payload;
use crate::protocol::{Overflow, Protocol};
use bytes::Bytes;
use std::ops::Range;
use std::sync::atomic::Ordering;

/// Keep at most this much capacity in the frame scratch between sends.
const KEEP_CAPACITY: usize = 64 << 10;

/// Frames of one message, by encoding.
#[derive(Debug, Default)]
pub(crate) struct Frames {
    cache: Vec<(u8, Frame)>,
    scratch: Vec<u8>,
}

#[derive(Debug, Clone)]
enum Frame {
    /// Small: copied into each recipient's output from the scratch.
    Small(Range<usize>),
    /// Large: one copy, shared.
    Shared(Bytes),
}

/// Whether a message of `len` bytes may join `pending` waiting ones. Under
/// `Overflow::Drop` nothing is queued past the budget; under `Overflow::Close` anything
/// is, up to the hard ceiling (the slow-reader clock judges the rest), so a client that
/// reads at full speed is never refused a message however large.
fn admission(config: &Valid, pending: usize, len: usize) -> Admit {
    match config.overflow() {
        Overflow::Drop if pending > config.output_budget() => Admit::Drop,
        Overflow::Close if pending.saturating_add(len) > config.max_output() => Admit::Close,
        _ => Admit::Yes,
    }
}

/// Bytes were queued for `c`. Framing touches neither its deadline nor its life: only
/// its budget and its place in the write list may change. Schedules its write; returns
/// whether it just went over its budget (then it must be settled).
fn queued<S, T>(
    c: &mut Connection<S, T>,
    slot: usize,
    budget: usize,
    flush_list: &mut Vec<usize>,
) -> bool {
    if c.output.len() > budget && !c.backlog.is_over() {
        return true;
    }
    if !c.scheduled && c.writable {
        c.scheduled = true;
        flush_list.push(slot);
    }
    false
}

/// What happens to a message for a connection, given its waiting output.
enum Admit {
    Yes,
    /// `Overflow::Drop`: the connection is over its budget; this message is dropped.
    Drop,
    /// `Overflow::Close`: the message would pass the hard ceiling.
    Close,
}

impl<P: Protocol, T: Transport> Core<P, T> {
    /// Carries out queued commands, including those that carrying them out produces.
    pub(super) fn execute(&mut self) {
        while !self.commands.is_empty() {
            let spare = std::mem::take(&mut self.spare_commands);
            let mut batch = std::mem::replace(&mut self.commands, spare);
            for cmd in batch.drain(..) {
                self.run(cmd);
            }
            self.spare_commands = batch;
        }
    }

    pub(super) fn run(&mut self, cmd: Command) {
        match cmd {
            Command::Send { to, msg } => match to {
                To::One(id) => self.send_one(id, &msg),
                To::Many(ids) => self.send_many(&ids, &msg),
            },
            Command::Timer {
                key,
                after,
                every,
                scope,
            } => self.set_timer(scope, key, Some((after, every))),
            Command::CancelTimer { key, scope } => self.set_timer(scope, key, None),
            Command::Subscribe { conn, topic } => {
                self.subscribe(conn, topic);
            }
            Command::Recover { conn, topic, since } => self.recover(conn, topic, since),
            Command::Present { conn, topic, info } => self.present(conn, topic, info),
            Command::Presence { conn, topic } => self.presence(conn, &topic),
            Command::Unsubscribe { conn, topic } => self.unsubscribe(conn, &topic),
            Command::Publish { topic, msg, except } => match self.retention(&topic) {
                Some(keep) => self.keeping(|k| k.publish(topic, msg, except, keep)),
                None => {
                    if let Some(bridge) = &mut self.bridge {
                        bridge.publish(&topic, &msg);
                    }
                    self.deliver(&topic, &msg, except);
                }
            },
            Command::Connect {
                key,
                connect,
                scope,
            } => self.dials.start((scope, key), connect),
            Command::CancelConnect { key, scope } => self.dials.cancel((scope, key)),
            Command::Close { conn, code, reason } => {
                if self.get_mut(conn).is_some() {
                    self.call(self.place.local(conn), |protocol, state, out| {
                        protocol.close(state, code, &reason, out);
                    });
                }
            }
        }
    }

    /// Frames `msg` for one connection, straight into its output.
    pub(super) fn send_one(&mut self, id: ConnId, msg: &Payload) {
        let Some(c) =
            lookup(&mut self.conns, self.place.count, id).filter(|c| c.phase.takes_messages())
        else {
            self.undelivered();
            return;
        };
        let pending = c.output.len();
        let Some(state) = c.phase.messages_state_mut() else {
            return;
        };
        let tail = c.output.tail(&mut self.pool);
        let before = tail.len();
        self.protocol.encode(state, msg, tail);
        let len = tail.len() - before;
        match admission(&self.config, pending, len) {
            Admit::Yes => {
                self.metrics.messages_sent += 1;
                let slot = self.place.local(id);
                if queued(c, slot, self.config.output_budget(), &mut self.flush_list) {
                    self.settle(slot);
                }
            }
            refused => {
                c.output.truncate_tail(before);
                self.refuse_message(id, refused);
            }
        }
    }

    /// A message was addressed to a connection that is gone: dropped, and counted.
    fn undelivered(&self) {
        let counters = self.handle.counters();
        counters.undelivered.fetch_add(1, Ordering::Relaxed);
    }

    /// Frames `msg` once per encoding, then queues the same bytes for every recipient.
    pub(super) fn send_many(&mut self, ids: &[ConnId], msg: &Payload) {
        let mut frames = std::mem::take(&mut self.frames);
        frames.cache.clear();
        frames.scratch.clear();
        for &id in ids {
            let Some(c) = lookup(&mut self.conns, self.place.count, id) else {
                self.undelivered();
                continue;
            };
            let Some(state) = c.phase.messages_state_mut() else {
                self.undelivered();
                continue;
            };
            let Some(encoding) = self.protocol.encoding(state) else {
                self.send_one(id, msg);
                continue;
            };
            let frame = match frames.cache.iter().find(|(e, _)| *e == encoding) {
                Some((_, frame)) => frame.clone(),
                None => {
                    let start = frames.scratch.len();
                    self.protocol.encode(state, msg, &mut frames.scratch);
                    let frame = if frames.scratch.len() - start >= SHARE_MIN {
                        let bytes = Bytes::copy_from_slice(&frames.scratch[start..]);
                        frames.scratch.truncate(start);
                        Frame::Shared(bytes)
                    } else {
                        Frame::Small(start..frames.scratch.len())
                    };
                    frames.cache.push((encoding, frame.clone()));
                    frame
                }
            };
            let len = match &frame {
                Frame::Small(range) => range.len(),
                Frame::Shared(bytes) => bytes.len(),
            };
            match admission(&self.config, c.output.len(), len) {
                Admit::Yes => {
                    match frame {
                        Frame::Small(range) => c
                            .output
                            .tail(&mut self.pool)
                            .extend_from_slice(&frames.scratch[range]),
                        Frame::Shared(bytes) => c.output.push_shared(bytes, &mut self.pool),
                    }
                    self.metrics.messages_sent += 1;
                    let slot = Place::local_of(id, self.place.count);
                    if queued(c, slot, self.config.output_budget(), &mut self.flush_list) {
                        self.settle(slot);
                    }
                }
                refused => self.refuse_message(id, refused),
            }
        }
        if frames.scratch.capacity() > KEEP_CAPACITY {
            frames.scratch = Vec::new();
        }
        frames.cache.clear();
        self.frames = frames;
    }

    /// A message did not fit: the overflow policy acts.
    fn refuse_message(&mut self, id: ConnId, how: Admit) {
        let counters = self.handle.counters();
        let policy = match how {
            Admit::Drop => {
                counters.dropped_messages.fetch_add(1, Ordering::Relaxed);
                let Some(c) = lookup(&mut self.conns, self.place.count, id) else {
                    return;
                };
                if c.backlog == Backlog::Dropping {
                    return; // told already, this time it fell behind
                }
                c.backlog = Backlog::Dropping;
                Overflow::Drop
            }
            _ => {
                counters.slow_closed.fetch_add(1, Ordering::Relaxed);
                log::debug!("connection {id} is too far behind; closing it");
                if let Some(c) = lookup(&mut self.conns, self.place.count, id) {
                    c.output.drop_unsent(&mut self.pool);
                }
                Overflow::Close
            }
        };
        self.call(self.place.local(id), |protocol, state, out| {
            protocol.overflow(state, policy, out);
        });
    }

    /// Sends `msg` to `topic`'s subscribers here, but `except`.
    pub(super) fn deliver(&mut self, topic: &str, msg: &Payload, except: Option<ConnId>) {
        let mut ids = std::mem::take(&mut self.recipients);
        self.topics.recipients(topic, except, &mut ids);
        self.send_many(&ids, msg);
        self.recipients = ids;
    }

    /// Adds `conn` to `topic`'s subscribers; whether it is one (it was already, or is now).
    pub(super) fn subscribe(&mut self, conn: ConnId, topic: Topic) -> bool {
        let Some(c) = self.get_mut(conn) else {
            return false;
        };
        if !c.phase.takes_messages() {
            return false;
        }
        if c.topics.contains(&topic) {
            return true;
        }
        c.topics.push(topic.clone());
        if self.topics.join(conn, topic.clone()) {
            if let Some(bridge) = &mut self.bridge {
                bridge.joined(&topic);
            }
        }
        true
    }

    /// Removes `conn` from `topic`'s subscribers.
    fn unsubscribe(&mut self, conn: ConnId, topic: &Topic) {
        let Some(c) = self.get_mut(conn) else {
            return;
        };
        let Some(at) = c.topics.iter().position(|t| t == topic) else {
            return;
        };
        c.topics.swap_remove(at);
        self.left(conn, topic);
    }

    /// `conn` leaves `topic`; the bridge hears of it if it was the last one here.
    pub(super) fn left(&mut self, conn: ConnId, topic: &str) {
        self.keeping(|k| k.forget(conn, topic));
        let emptied = self.topics.leave(conn, topic);
        self.absent(conn, topic);
        if emptied {
            if let Some(bridge) = &mut self.bridge {
                bridge.left(topic);
            }
        }
    }
}
