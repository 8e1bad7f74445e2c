//! Topics across server processes, through Redis pub/sub.
//!
//! ```no_run
//! use ratchet::cluster::RedisBridge;
//! use ratchet::{Component, Server, WebSocket};
//! # struct Chat;
//! # impl Component for Chat {
//! #     fn on_message(&mut self, _: &ratchet::Conn, _: ratchet::Message<'_>) -> impl ratchet::IntoCommands {
//! #         ratchet::Commands::none()
//! #     }
//! # }
//!
//! Server::new(WebSocket::new(Chat))
//!     .bridge(RedisBridge::new("redis://127.0.0.1:6379/"))
//!     .bind("127.0.0.1:8080")?
//!     .run()
//! # ; Ok::<(), std::io::Error>(())
//! ```
//!
//! Every [`Command::publish`](crate::Command::publish) then reaches the subscribers of its
//! topic in every process bridged to the same Redis, each exactly once: a process ignores
//! the envelopes it published itself, having delivered them locally already.
//!
//! # Only the topics a process needs
//!
//! A process subscribes to a topic's channel exactly while it has a subscriber for the
//! topic: `SUBSCRIBE` as the first one joins, `UNSUBSCRIBE` as the last one leaves (the
//! changes of a moment go out together, one command each way). Redis then sends a process
//! only the messages of its own topics, not every message of every topic.
//!
//! The seam between a local join and the Redis subscription is ordered: a publish leaves
//! a process only after every subscription asked for before it is in place in Redis (it
//! waits for the subscriber thread to say so, at most a second). So when a client joins
//! a topic and then says something there, whatever another process publishes in answer
//! reaches it. What another process publishes *before* the subscription is in place, with
//! no causal link to the join, is not delivered here: at most once, as below.
//!
//! # Push from anywhere
//!
//! `PUBLISH <prefix>push:<topic> <message>` from any Redis client (a PHP page:
//! `$redis->publish('ratchet:push:news', $json)`) delivers `<message>` to the topic's
//! subscribers in every process, each exactly once: as text when it is UTF-8, as binary
//! otherwise. Processes subscribe to a topic's push channel beside its own, under the same
//! rule (only while they have subscribers for it). A topic whose name begins with `push:`
//! shares its channel with the pushes to the rest of its name: there, a valid envelope for
//! the topic is taken as one, anything else as a push.
//!
//! # Delivery: at most once
//!
//! Redis pub/sub keeps nothing: a message published while a process is disconnected from
//! Redis never reaches that process's subscribers, and is not replayed later (as with
//! Socket.IO's Redis adapter). Local subscribers are never affected: they hear a publish
//! from their own process whatever state Redis is in. Concretely:
//!
//! - **Redis down or unreachable**: local delivery goes on; publishes meant for other
//!   processes are dropped (counted in [`BridgeStatus::dropped`], logged once per outage);
//!   the bridge reconnects and resubscribes with backoff (100 ms doubling to 2 s), and
//!   cross-process delivery resumes by itself.
//! - **Redis slow**: the event loop never waits for Redis. Publishes queue for a publisher
//!   thread, up to [`queue_capacity`](RedisBridge::queue_capacity) (default 65,536
//!   messages) and [`queue_bytes`](RedisBridge::queue_bytes) (default 16 MiB); past that
//!   they are dropped and counted.
//! - **A process reading too slowly**: the subscriber hands messages to the event loop
//!   through the server's bounded [`Handle`] queue and waits while it is full, so it reads
//!   from Redis no faster than this process delivers; the backlog stays in Redis, which
//!   disconnects a subscriber whose output buffer passes `client-output-buffer-limit
//!   pubsub` (by default 32 MB at once, or 8 MB for 60 s). Everything in that buffer is
//!   lost; the bridge reconnects as above.
//!
//! # Redis Cluster
//!
//! Give the bridge a node of a Redis Cluster, or several, comma-separated
//! (`redis://10.0.0.1:7000,redis://10.0.0.2:7000`: any one answering will do, the others
//! are learnt from it), and it finds out by itself (`cluster_enabled:1`) and uses Redis 7's
//! sharded pub/sub: a publish goes with `SPUBLISH` to the master serving its channel's
//! hash slot, and the subscriptions are `SSUBSCRIBE`s on those masters, one connection per
//! master, each read by its own thread. A message then stays within its shard instead of
//! being broadcast over the whole cluster bus, as a plain `PUBLISH` in a cluster is. The
//! channels keep their names, and the rules above hold: only the topics a process needs,
//! the seam ordered the same way (a publish waits until every master confirmed the
//! subscriptions asked for before it), the same envelope. A push to a cluster is an
//! `SPUBLISH` (`redis-cli -c SPUBLISH ratchet:push:news hello`; a plain `PUBLISH` reaches
//! no sharded subscriber).
//!
//! When the cluster changes (a master killed and failed over, a slot migrated, which Redis
//! tells its subscribers by dropping their subscriptions to the slot's channels), the
//! bridge reads the slots again, from the seeds or else from the masters it knew, and
//! subscribes anew; publishes follow the cluster's redirections. What was published in
//! between is missed, as in any outage above: delivery comes back once the cluster has
//! failed over, plus at most the reconnection backoff.
//!
//! # The envelope
//!
//! A publish goes to the Redis channel `<prefix><topic>` (prefix `ratchet:` by default)
//! as a binary-safe envelope:
//! `RBR1`, the 16-byte id of the publishing process, a kind byte (0 text, 1 binary), the
//! topic's length (4 bytes, big-endian), the topic, then the message bytes.

mod envelope;
mod inbox;
mod interest;
mod presence;
mod sharded;
mod sink;
mod slots;
mod status;
mod subscriber;
mod threads;

use envelope::numbered_head;
pub use envelope::{envelope, open_envelope, Envelope};
pub use status::BridgeStatus;
pub(crate) use threads::connect;

use crate::conn::ConnId;
use crate::history::{Offset, Retention};
use crate::message::Payload;
use crate::server::{Bridge, Handle};
use inbox::Inbox;
use interest::Interest;
use sink::Numbered;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::Arc;
use subscriber::Subscriber;
use threads::{Job, Outgoing, Publisher, Seeds};

/// A [`Bridge`] through Redis pub/sub: one connection publishing and one subscription per
/// process (per master in a Redis Cluster), on threads of their own. See the
/// [module](self) for the guarantees.
#[derive(Debug)]
pub struct RedisBridge {
    url: String,
    prefix: String,
    capacity: usize,
    max_bytes: usize,
    origin: [u8; 16],
    outgoing: Option<SyncSender<Outgoing>>,
    status: BridgeStatus,
    /// The topics this process has subscribers for: the Redis channels it listens to.
    interest: Arc<Interest>,
    /// The names of the presence keys, and this process's among them.
    keys: presence::Keys,
}

impl RedisBridge {
    /// A bridge to the Redis at `url` (`redis://host:port/db`), connected when the server
    /// starts; or to a Redis Cluster, with the URL of any of its nodes, or several,
    /// comma-separated (see the [module](self)).
    pub fn new(url: impl Into<String>) -> Self {
        let origin = process_id();
        let process: String = origin[..8].iter().map(|b| format!("{b:02x}")).collect();
        RedisBridge {
            url: url.into(),
            prefix: "ratchet:".into(),
            capacity: 1 << 16,
            max_bytes: 16 << 20,
            origin,
            outgoing: None,
            status: BridgeStatus::default(),
            interest: Arc::default(),
            keys: presence::Keys {
                prefix: "ratchet:".into(),
                process,
            },
        }
    }

    /// The prefix of the Redis channels used (`<prefix><topic>`). Default: `ratchet:`.
    #[must_use]
    pub fn channel_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self.keys.prefix.clone_from(&self.prefix);
        self
    }

    /// How many publishes may wait for Redis before new ones are dropped. Default: 65,536.
    #[must_use]
    pub fn queue_capacity(mut self, messages: usize) -> Self {
        self.capacity = messages.max(1);
        self
    }

    /// How many bytes of publishes may wait for Redis before new ones are dropped.
    /// Default: 16 MiB.
    #[must_use]
    pub fn queue_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes.max(1);
        self
    }

    /// The bridge's counters, to watch from any thread.
    pub fn status(&self) -> BridgeStatus {
        self.status.clone()
    }

    /// The id this process puts in its envelopes.
    pub fn origin(&self) -> [u8; 16] {
        self.origin
    }
}

impl Bridge for RedisBridge {
    fn start(&mut self, handle: &Handle) {
        let seeds: Result<Vec<redis::Client>, _> = self
            .url
            .split(',')
            .map(|url| redis::Client::open(url.trim()))
            .collect();
        let seeds = match seeds {
            Ok(clients) => Seeds(clients),
            Err(e) => {
                log::error!("redis bridge: bad URL {}: {e}; topics stay local", self.url);
                return;
            }
        };
        let (tx, rx) = mpsc::sync_channel(self.capacity);
        self.outgoing = Some(tx);
        let heartbeat = presence::Heartbeat {
            seeds: seeds.clone(),
            keys: self.keys.clone(),
            origin: self.origin,
            status: self.status.clone(),
            handle: handle.clone(),
        };
        let publisher = Publisher {
            keys: self.keys.clone(),
            seeds: seeds.clone(),
            status: self.status.clone(),
            interest: Arc::clone(&self.interest),
            handle: handle.clone(),
        };
        let subscriber = Subscriber {
            seeds,
            interest: Arc::clone(&self.interest),
            inbox: Inbox {
                prefix: self.prefix.clone(),
                origin: self.origin,
                status: self.status.clone(),
                handle: handle.clone(),
            },
        };
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            if let Err(e) = std::thread::Builder::new().name(name.into()).spawn(f) {
                log::error!("redis bridge: cannot start {name}: {e}");
            }
        };
        spawn("ratchet-redis-pub", Box::new(move || publisher.run(rx)));
        spawn("ratchet-redis-sub", Box::new(move || subscriber.run()));
        spawn("ratchet-redis-presence", Box::new(move || heartbeat.run()));
    }

    fn metrics(&self, e: &mut crate::exposition::Exposition) {
        let s = &self.status;
        let up = f64::from(u8::from(s.is_subscribed()));
        let help = "1 while the Redis subscription is up (messages from other processes arrive).";
        e.gauge("ratchet_bridge_up", help, &[], up);
        let counters: [(&'static str, &'static str, u64); 5] = [
            (
                "ratchet_bridge_published_total",
                "Publishes handed to Redis.",
                s.published(),
            ),
            (
                "ratchet_bridge_messages_read_total",
                "Messages Redis sent this process (its own publishes coming back included).",
                s.read(),
            ),
            (
                "ratchet_bridge_received_total",
                "Messages from Redis delivered here: other processes', pushes, and history topics' (this process's included).",
                s.received(),
            ),
            (
                "ratchet_bridge_dropped_total",
                "Publishes that did not reach Redis (down, slow, or the queue full).",
                s.dropped(),
            ),
            (
                "ratchet_bridge_subscriptions_lost_total",
                "Times the Redis subscription was lost (each followed by a reconnection).",
                s.subscriptions_lost(),
            ),
        ];
        for (name, help, value) in counters {
            e.counter(name, help, &[], value);
        }
        let queued = s.0.queued_bytes.load(Ordering::Relaxed) as f64;
        e.gauge(
            "ratchet_bridge_queued_bytes",
            "Bytes of publishes waiting for Redis.",
            &[],
            queued,
        );
    }

    fn joined(&mut self, topic: &str) {
        self.interest.join(topic);
    }

    fn left(&mut self, topic: &str) {
        self.interest.leave(topic);
    }

    fn publish(&mut self, topic: &str, msg: &Payload) {
        let channel = format!("{}{topic}", self.prefix);
        let envelope = envelope(&self.origin, topic, msg);
        self.queue(Job::Publish { channel, envelope });
    }

    fn keeps_history(&self) -> bool {
        true
    }

    fn presence_id(&self) -> Option<&str> {
        Some(&self.keys.process)
    }

    fn present(&mut self, conn: ConnId, topic: &str, info: &str) {
        let (topic, info) = (topic.to_owned(), info.to_owned());
        self.queue(Job::Present { conn, topic, info });
    }

    fn absent(&mut self, conn: ConnId, topic: &str) {
        let topic = topic.to_owned();
        self.queue(Job::Absent { conn, topic });
    }

    fn presence(&mut self, conn: ConnId, topic: &str) -> bool {
        let topic = topic.to_owned();
        self.try_queue(Job::Presence { conn, topic }).is_ok()
    }

    fn publish_numbered(
        &mut self,
        topic: &str,
        msg: &Payload,
        except: Option<ConnId>,
        keep: Retention,
    ) -> bool {
        let head = numbered_head(&self.origin, topic, msg.kind(), except);
        let job = Job::Numbered(Box::new(Numbered {
            topic: topic.to_owned(),
            except,
            key: format!("{}{topic}", self.prefix),
            head,
            msg: msg.clone(),
            keep,
        }));
        let taken = self.try_queue(job).is_ok();
        if !taken {
            self.status.0.dropped.fetch_add(1, Ordering::Relaxed);
        }
        taken
    }

    fn recover(
        &mut self,
        conn: ConnId,
        topic: &str,
        since: Option<Offset>,
        keep: Retention,
    ) -> bool {
        let key = format!("{}{topic}", self.prefix);
        let topic = topic.to_owned();
        let job = Job::Recover {
            conn,
            topic,
            key,
            since,
            keep,
        };
        self.try_queue(job).is_ok()
    }
}

impl RedisBridge {
    /// Queues `job` for the publisher thread, or drops it and counts it.
    fn queue(&mut self, job: Job) {
        if self.try_queue(job).is_err() {
            let dropped = self.status.0.dropped.fetch_add(1, Ordering::Relaxed);
            if dropped.is_power_of_two() {
                log::warn!(
                    "redis bridge: publish queue full; {} dropped so far",
                    dropped + 1
                );
            }
        }
    }

    /// Queues `job` within the bounds, or gives it back.
    fn try_queue(&mut self, job: Job) -> Result<(), Job> {
        let Some(tx) = &self.outgoing else {
            return Err(job);
        };
        let size = job.size();
        let counters = &self.status.0;
        let queued = counters.queued_bytes.fetch_add(size, Ordering::AcqRel);
        if queued + size > self.max_bytes && queued > 0 {
            counters.queued_bytes.fetch_sub(size, Ordering::AcqRel);
            return Err(job);
        }
        let after = self.interest.requested();
        tx.try_send(Outgoing { job, after }).map_err(|e| {
            counters.queued_bytes.fetch_sub(size, Ordering::AcqRel);
            match e {
                TrySendError::Full(out) | TrySendError::Disconnected(out) => out.job,
            }
        })
    }
}

impl Drop for RedisBridge {
    fn drop(&mut self) {
        self.status.0.stop.store(true, Ordering::Relaxed);
    }
}

/// A random id for this process's envelopes (the process id alone repeats across hosts).
fn process_id() -> [u8; 16] {
    let mut id = [0; 16];
    for (i, half) in id.chunks_mut(8).enumerate() {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        hasher.write_usize(i);
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        half.copy_from_slice(&hasher.finish().to_be_bytes());
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_differ() {
        assert_ne!(process_id(), process_id());
    }
}
