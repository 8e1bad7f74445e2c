//! Topics: who is subscribed to what. Each connection also remembers its own topics (in
//! the server's slab), so that its subscriptions end with it.

use crate::command::Topic;
use crate::conn::ConnId;
use crate::handle::Counters;
use std::collections::HashMap;
use std::sync::atomic::Ordering;

/// Subscribers by topic.
#[derive(Debug, Default)]
pub(crate) struct Topics {
    subscribers: HashMap<Topic, Vec<ConnId>>,
}

impl Topics {
    /// Adds `conn` to `topic`'s subscribers (the caller checked it was not there).
    pub fn join(&mut self, conn: ConnId, topic: Topic, counters: &Counters) {
        let subscribers = self.subscribers.entry(topic).or_default();
        if subscribers.is_empty() {
            counters.topics.fetch_add(1, Ordering::Relaxed);
        }
        subscribers.push(conn);
        counters.subscriptions.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes `conn` out of `topic`'s subscribers.
    pub fn leave(&mut self, conn: ConnId, topic: &Topic, counters: &Counters) {
        let Some(subscribers) = self.subscribers.get_mut(topic) else {
            return;
        };
        if let Some(at) = subscribers.iter().position(|id| *id == conn) {
            subscribers.swap_remove(at);
            counters.subscriptions.fetch_sub(1, Ordering::Relaxed);
        }
        if subscribers.is_empty() {
            self.subscribers.remove(topic);
            counters.topics.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// `topic`'s subscribers but `except`, into `into` (cleared first).
    pub fn recipients(&self, topic: &str, except: Option<ConnId>, into: &mut Vec<ConnId>) {
        into.clear();
        if let Some(subscribers) = self.subscribers.get(topic) {
            into.extend(subscribers.iter().filter(|id| Some(**id) != except));
        }
    }
}
