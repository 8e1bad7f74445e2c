//! Carrying publishes to the server's peers in other processes.

use crate::exposition::Exposition;
use crate::handle::Handle;
use crate::message::Payload;

/// Carries [publishes](crate::Command::Publish) between server processes, so that a
/// topic's subscribers in every process hear them: `cluster::RedisBridge` does it through
/// Redis.
pub trait Bridge: Send {
    /// The server starts: deliver messages from other processes with
    /// [`Handle::publish_local_wait`] (or [`Handle::publish_local`]).
    fn start(&mut self, handle: &Handle);

    /// A publish from this process, to pass on. Called on the event loop: it must not
    /// block (queue it within a bound, or drop it and count it).
    fn publish(&mut self, topic: &str, msg: &Payload);

    /// `topic` got its first subscriber in this process: a bridge that carries only the
    /// topics a process needs starts listening for it. Called on the event loop.
    fn joined(&mut self, topic: &str) {
        let _ = topic;
    }

    /// `topic` lost its last subscriber in this process.
    fn left(&mut self, topic: &str) {
        let _ = topic;
    }

    /// Adds the bridge's counts to a scrape ([`crate::metrics`]).
    fn metrics(&self, metrics: &mut Exposition) {
        let _ = metrics;
    }
}

impl std::fmt::Debug for dyn Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bridge")
    }
}
