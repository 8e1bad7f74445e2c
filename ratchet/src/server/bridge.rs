//! Carrying publishes to the server's peers in other processes.

use crate::conn::ConnId;
use crate::exposition::Exposition;
use crate::handle::Handle;
use crate::history::{Offset, Retention};
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

    /// Whether the bridge keeps the [history](crate::history) of the topics that have one,
    /// in a store every process shares. If not, the server keeps it in this process and
    /// hands history topics' publishes to [`publish`](Bridge::publish) like the others.
    fn keeps_history(&self) -> bool {
        false
    }

    /// A publish on a history topic, to number and keep, then deliver in every process,
    /// this one included: each delivers it with [`Handle::deliver_numbered_wait`], leaving
    /// out `except` in this one. Called on the event loop (only if
    /// [`keeps_history`](Bridge::keeps_history)). Whether it was taken: if not (the
    /// bridge's queue is full), the server delivers it here at once, unnumbered.
    fn publish_numbered(
        &mut self,
        topic: &str,
        msg: &Payload,
        except: Option<ConnId>,
        keep: Retention,
    ) -> bool {
        let _ = (topic, msg, except, keep);
        false
    }

    /// `conn` recovers `topic` from `since`: read the history after it (all of it kept
    /// without it) once the subscriptions asked for before are in place, and answer with
    /// [`Handle::recovered`]. Called on the event loop (only if
    /// [`keeps_history`](Bridge::keeps_history)). Whether it was taken: if not, the
    /// server answers at once (nothing recovered, incomplete), so the connection goes live.
    fn recover(
        &mut self,
        conn: ConnId,
        topic: &str,
        since: Option<Offset>,
        keep: Retention,
    ) -> bool {
        let _ = (conn, topic, since, keep);
        false
    }

    /// The id this process has in the [presence](crate::presence) the bridge keeps for
    /// every process (members are `<id>:<connection>`), or `None` if it keeps none (the
    /// server keeps this process's).
    fn presence_id(&self) -> Option<&str> {
        None
    }

    /// `conn` is present in `topic`, introduced by `info` (or says something new about
    /// itself). Called on the event loop, only if the bridge keeps presence.
    fn present(&mut self, conn: ConnId, topic: &str, info: &str) {
        let _ = (conn, topic, info);
    }

    /// `conn` is no longer present in `topic`.
    fn absent(&mut self, conn: ConnId, topic: &str) {
        let _ = (conn, topic);
    }

    /// Send `conn` who is present in `topic` in every process, as
    /// [`presence`](crate::presence) snapshot JSON, with [`Handle::send`]. Called on the
    /// event loop, only if the bridge keeps presence. Whether it was taken: if not, the
    /// server answers at once that who is present cannot be known now.
    fn presence(&mut self, conn: ConnId, topic: &str) -> bool {
        let _ = (conn, topic);
        false
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
