//! Which topics this process wants from Redis: set by the event loop as a topic gets its
//! first local subscriber and loses its last, applied by the subscriber thread, which
//! says how far it has caught up.
//!
//! The ordering it gives: a publish leaves this process only after every subscription
//! asked for before it is in place in Redis. Whatever another process publishes in
//! answer to it (or to anything later) therefore finds this process subscribed: a client
//! that joins a topic and then speaks in it cannot miss the replies.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The topics wanted, and the subscriber's progress through the changes.
#[derive(Debug, Default)]
pub(super) struct Interest {
    wanted: Mutex<HashSet<String>>,
    /// Changes made to `wanted` so far.
    requested: AtomicU64,
    /// Changes the subscription has caught up with.
    confirmed: Mutex<u64>,
    caught_up: Condvar,
}

impl Interest {
    fn wanted(&self) -> MutexGuard<'_, HashSet<String>> {
        self.wanted.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `topic` got its first local subscriber.
    pub fn join(&self, topic: &str) {
        let mut wanted = self.wanted();
        wanted.insert(topic.to_owned());
        self.requested.fetch_add(1, Ordering::Release);
    }

    /// `topic` lost its last local subscriber.
    pub fn leave(&self, topic: &str) {
        let mut wanted = self.wanted();
        wanted.remove(topic);
        self.requested.fetch_add(1, Ordering::Release);
    }

    /// Changes asked for so far: what a publish queued now must wait for.
    pub fn requested(&self) -> u64 {
        self.requested.load(Ordering::Acquire)
    }

    /// The topics wanted, with the change count they reflect, if it is not `seen`.
    pub fn changed_since(&self, seen: Option<u64>) -> Option<(u64, HashSet<String>)> {
        let wanted = self.wanted();
        let now = self.requested.load(Ordering::Acquire);
        (seen != Some(now)).then(|| (now, wanted.clone()))
    }

    /// The subscription reflects the first `changes` changes.
    pub fn confirm(&self, changes: u64) {
        let mut confirmed = self.confirmed.lock().unwrap_or_else(|e| e.into_inner());
        *confirmed = (*confirmed).max(changes);
        self.caught_up.notify_all();
    }

    /// Changes the subscription has caught up with.
    pub fn confirmed(&self) -> u64 {
        *self.confirmed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until the subscription reflects the first `changes` changes, at most
    /// `bound`; whether it does.
    pub fn wait_for(&self, changes: u64, bound: Duration) -> bool {
        let until = Instant::now() + bound;
        let mut confirmed = self.confirmed.lock().unwrap_or_else(|e| e.into_inner());
        while *confirmed < changes {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            confirmed = self
                .caught_up
                .wait_timeout(confirmed, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn changes_are_seen_once_and_waits_end_on_confirmation_or_bound() {
        let interest = Arc::new(Interest::default());
        assert_eq!(interest.changed_since(None).unwrap().0, 0);
        interest.join("a");
        interest.join("b");
        interest.leave("a");
        let (seen, topics) = interest.changed_since(Some(0)).unwrap();
        assert_eq!(seen, 3);
        assert_eq!(topics, HashSet::from(["b".to_owned()]));
        assert!(interest.changed_since(Some(3)).is_none());
        assert!(!interest.wait_for(3, Duration::from_millis(20)));
        let confirmer = Arc::clone(&interest);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            confirmer.confirm(3);
        });
        assert!(interest.wait_for(3, Duration::from_secs(10)));
        t.join().unwrap();
        assert!(interest.wait_for(2, Duration::ZERO));
    }
}
