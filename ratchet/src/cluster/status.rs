//! What a bridge has been doing, counted by its threads and read from any thread.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// What a [`RedisBridge`](super::RedisBridge) has been doing, readable from any thread.
#[derive(Debug, Clone, Default)]
pub struct BridgeStatus(pub(super) Arc<Counters>);

#[derive(Debug, Default)]
pub(super) struct Counters {
    pub subscribed: AtomicBool,
    pub published: AtomicU64,
    /// Messages read from the subscription, for this process or not.
    pub read: AtomicU64,
    pub received: AtomicU64,
    pub dropped: AtomicU64,
    /// Bytes of envelopes waiting for the publisher.
    pub queued_bytes: AtomicUsize,
    /// Times the subscription was lost.
    pub lost: AtomicU64,
    pub stop: AtomicBool,
}

impl BridgeStatus {
    /// Whether the subscription is up (messages from other processes arrive).
    pub fn is_subscribed(&self) -> bool {
        self.0.subscribed.load(Ordering::Relaxed)
    }

    /// Publishes handed to Redis.
    pub fn published(&self) -> u64 {
        self.0.published.load(Ordering::Relaxed)
    }

    /// Messages Redis sent this process: every one read from the subscription, including
    /// this process's own publishes coming back (which are not delivered again). With
    /// subscriptions per topic, only the traffic of the topics it has subscribers for.
    pub fn read(&self) -> u64 {
        self.0.read.load(Ordering::Relaxed)
    }

    /// Messages from Redis delivered here: other processes' publishes, pushes, and the
    /// history topics' messages (this process's included, as they come back numbered).
    pub fn received(&self) -> u64 {
        self.0.received.load(Ordering::Relaxed)
    }

    /// Publishes that did not reach Redis (down, slow, or the queue full).
    pub fn dropped(&self) -> u64 {
        self.0.dropped.load(Ordering::Relaxed)
    }

    /// Times the subscription was lost (Redis down, or Redis disconnecting a subscriber
    /// that fell behind); each is followed by a reconnection.
    pub fn subscriptions_lost(&self) -> u64 {
        self.0.lost.load(Ordering::Relaxed)
    }
}
