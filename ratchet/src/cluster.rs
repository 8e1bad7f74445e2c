//! Topics across server processes, through Redis pub/sub.
//!
//! ```no_run
//! use ratchet::cluster::RedisBridge;
//! use ratchet::{Component, Server, WebSocket};
//! # struct Chat;
//! # impl Component for Chat {
//! #     fn on_message(&mut self, _: &ratchet::Conn, _: ratchet::Message<'_>) -> ratchet::Commands {
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
//! # The envelope
//!
//! A publish goes to the Redis channel `<prefix><topic>` (prefix `ratchet:` by default;
//! one `PSUBSCRIBE <prefix>*` per process) as a binary-safe envelope:
//! `RBR1`, the 16-byte id of the publishing process, a kind byte (0 text, 1 binary), the
//! topic's length (4 bytes, big-endian), the topic, then the message bytes.

use crate::message::{Kind, Payload};
use crate::server::{Bridge, Handle};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MAGIC: &[u8; 4] = b"RBR1";
const HEADER: usize = 4 + 16 + 1 + 4;
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(2);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a publish may take before the connection is given up as broken.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a waiting subscriber looks up to see whether it should stop.
const POLL: Duration = Duration::from_millis(500);

/// A [`Bridge`] through Redis pub/sub: one connection publishing and one subscription per
/// process, each on its own thread. See the [module](self) for the guarantees.
#[derive(Debug)]
pub struct RedisBridge {
    url: String,
    prefix: String,
    capacity: usize,
    max_bytes: usize,
    origin: [u8; 16],
    outgoing: Option<SyncSender<(String, Vec<u8>)>>,
    status: BridgeStatus,
}

/// What a [`RedisBridge`] has been doing, readable from any thread.
#[derive(Debug, Clone, Default)]
pub struct BridgeStatus(Arc<Counters>);

#[derive(Debug, Default)]
struct Counters {
    subscribed: AtomicBool,
    published: AtomicU64,
    received: AtomicU64,
    dropped: AtomicU64,
    /// Bytes of envelopes waiting for the publisher.
    queued_bytes: AtomicUsize,
    /// Times the subscription was lost.
    lost: AtomicU64,
    stop: AtomicBool,
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

    /// Messages from other processes delivered here.
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

impl RedisBridge {
    /// A bridge to the Redis at `url` (`redis://host:port/db`), connected when the server
    /// starts.
    pub fn new(url: impl Into<String>) -> Self {
        RedisBridge {
            url: url.into(),
            prefix: "ratchet:".into(),
            capacity: 1 << 16,
            max_bytes: 16 << 20,
            origin: process_id(),
            outgoing: None,
            status: BridgeStatus::default(),
        }
    }

    /// The prefix of the Redis channels used (`<prefix><topic>`). Default: `ratchet:`.
    #[must_use]
    pub fn channel_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
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
        let client = match redis::Client::open(self.url.as_str()) {
            Ok(client) => client,
            Err(e) => {
                log::error!("redis bridge: bad URL {}: {e}; topics stay local", self.url);
                return;
            }
        };
        let (tx, rx) = mpsc::sync_channel(self.capacity);
        self.outgoing = Some(tx);
        let publisher = Publisher {
            client: client.clone(),
            status: self.status.clone(),
        };
        let subscriber = Subscriber {
            client,
            pattern: format!("{}*", escape_glob(&self.prefix)),
            prefix: self.prefix.clone(),
            origin: self.origin,
            status: self.status.clone(),
            handle: handle.clone(),
        };
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            if let Err(e) = std::thread::Builder::new().name(name.into()).spawn(f) {
                log::error!("redis bridge: cannot start {name}: {e}");
            }
        };
        spawn("ratchet-redis-pub", Box::new(move || publisher.run(rx)));
        spawn("ratchet-redis-sub", Box::new(move || subscriber.run()));
    }

    fn publish(&mut self, topic: &str, msg: &Payload) {
        let Some(tx) = &self.outgoing else {
            return;
        };
        let channel = format!("{}{topic}", self.prefix);
        let envelope = envelope(&self.origin, topic, msg);
        let size = channel.len() + envelope.len();
        let counters = &self.status.0;
        let queued = counters.queued_bytes.fetch_add(size, Ordering::AcqRel);
        let sent = if queued + size > self.max_bytes && queued > 0 {
            Err(TrySendError::Full(()))
        } else {
            tx.try_send((channel, envelope)).map_err(|e| match e {
                TrySendError::Full(_) => TrySendError::Full(()),
                TrySendError::Disconnected(_) => TrySendError::Disconnected(()),
            })
        };
        match sent {
            Ok(()) => {}
            Err(full_or_gone) => {
                counters.queued_bytes.fetch_sub(size, Ordering::AcqRel);
                let dropped = counters.dropped.fetch_add(1, Ordering::Relaxed);
                if matches!(full_or_gone, TrySendError::Full(())) && dropped.is_power_of_two() {
                    log::warn!(
                        "redis bridge: publish queue full; {} dropped so far",
                        dropped + 1
                    );
                }
            }
        }
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

/// `*`, `?`, `[`, `]` and `\` taken literally in a Redis glob pattern.
fn escape_glob(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len());
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The envelope of a publish (see the module documentation).
pub fn envelope(origin: &[u8; 16], topic: &str, msg: &Payload) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + topic.len() + msg.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(origin);
    out.push(u8::from(msg.kind() == Kind::Binary));
    out.extend_from_slice(&(topic.len() as u32).to_be_bytes());
    out.extend_from_slice(topic.as_bytes());
    out.extend_from_slice(msg.as_bytes());
    out
}

/// A decoded envelope: origin, topic and message.
#[derive(Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The publishing process.
    pub origin: [u8; 16],
    /// The topic.
    pub topic: String,
    /// The message.
    pub msg: Payload,
}

/// Reads an envelope, or says why it is not one.
pub fn open_envelope(bytes: &[u8]) -> Result<Envelope, &'static str> {
    if bytes.len() < HEADER || &bytes[..4] != MAGIC {
        return Err("not a ratchet envelope");
    }
    let mut origin = [0; 16];
    origin.copy_from_slice(&bytes[4..20]);
    let kind = bytes[20];
    let topic_len = u32::from_be_bytes([bytes[21], bytes[22], bytes[23], bytes[24]]) as usize;
    let rest = &bytes[HEADER..];
    if topic_len > rest.len() {
        return Err("topic longer than the envelope");
    }
    let topic = std::str::from_utf8(&rest[..topic_len]).map_err(|_| "topic is not UTF-8")?;
    let body = &rest[topic_len..];
    let msg = match kind {
        0 => Payload::text(std::str::from_utf8(body).map_err(|_| "text is not UTF-8")?),
        1 => Payload::binary(body.to_vec()),
        _ => return Err("unknown message kind"),
    };
    Ok(Envelope {
        origin,
        topic: topic.to_owned(),
        msg,
    })
}

/// Doubling waits between reconnection attempts.
struct Backoff {
    next: Duration,
    until: Option<Instant>,
}

impl Backoff {
    fn new() -> Self {
        Backoff {
            next: BACKOFF_START,
            until: None,
        }
    }

    fn failed(&mut self) {
        self.until = Some(Instant::now() + self.next);
        self.next = (self.next * 2).min(BACKOFF_MAX);
    }

    fn succeeded(&mut self) {
        *self = Backoff::new();
    }

    fn waiting(&self) -> bool {
        self.until.is_some_and(|until| Instant::now() < until)
    }
}

/// A connection whose commands give up after `command_timeout` (a Redis that stopped
/// answering counts as down).
pub(crate) fn connect(
    client: &redis::Client,
    command_timeout: Duration,
) -> redis::RedisResult<redis::Connection> {
    let con = client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
    con.set_write_timeout(Some(command_timeout))?;
    con.set_read_timeout(Some(command_timeout))?;
    Ok(con)
}

struct Publisher {
    client: redis::Client,
    status: BridgeStatus,
}

impl Publisher {
    fn run(self, queue: Receiver<(String, Vec<u8>)>) {
        let mut con: Option<redis::Connection> = None;
        let mut backoff = Backoff::new();
        let mut down = false;
        // Ends when the server (and its bridge, the sender) is gone.
        while let Ok((channel, envelope)) = queue.recv() {
            let size = channel.len() + envelope.len();
            self.status.0.queued_bytes.fetch_sub(size, Ordering::AcqRel);
            if con.is_none() && !backoff.waiting() {
                match connect(&self.client, COMMAND_TIMEOUT) {
                    Ok(c) => {
                        if down {
                            log::info!("redis bridge: publishing again");
                        }
                        con = Some(c);
                        backoff.succeeded();
                        down = false;
                    }
                    Err(e) => {
                        if !down {
                            log::warn!("redis bridge: cannot publish ({e}); local delivery goes on, retrying");
                        }
                        down = true;
                        backoff.failed();
                    }
                }
            }
            let Some(c) = con.as_mut() else {
                self.status.0.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            let sent: redis::RedisResult<i64> =
                redis::cmd("PUBLISH").arg(&channel).arg(&envelope).query(c);
            match sent {
                Ok(_) => {
                    self.status.0.published.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    log::warn!("redis bridge: publish failed ({e}); reconnecting");
                    self.status.0.dropped.fetch_add(1, Ordering::Relaxed);
                    con = None;
                    down = true;
                    backoff.failed();
                }
            }
        }
    }
}

struct Subscriber {
    client: redis::Client,
    pattern: String,
    prefix: String,
    origin: [u8; 16],
    status: BridgeStatus,
    handle: Handle,
}

impl Subscriber {
    fn run(self) {
        let mut backoff = Backoff::new();
        let mut down = false;
        while !self.status.0.stop.load(Ordering::Relaxed) {
            if backoff.waiting() {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            let failure = match connect(&self.client, COMMAND_TIMEOUT) {
                Ok(mut con) => {
                    // One PubSub for the connection's life: dropping it unsubscribes.
                    let mut pubsub = con.as_pubsub();
                    match self.listen(&mut pubsub, &mut down, &mut backoff) {
                        Some(e) => e,
                        None => return, // stopped
                    }
                }
                Err(e) => e,
            };
            if !down {
                log::warn!("redis bridge: subscription lost ({failure}); messages from other processes are missed until it is back");
                self.status.0.lost.fetch_add(1, Ordering::Relaxed);
            }
            down = true;
            backoff.failed();
        }
    }

    /// Subscribes, then delivers messages until the connection fails (the error) or the
    /// bridge stops.
    fn listen(
        &self,
        pubsub: &mut redis::PubSub<'_>,
        down: &mut bool,
        backoff: &mut Backoff,
    ) -> Option<redis::RedisError> {
        if let Err(e) = pubsub
            .psubscribe(&self.pattern)
            .and_then(|()| pubsub.set_read_timeout(Some(POLL)))
        {
            return Some(e);
        }
        if *down {
            log::info!("redis bridge: subscribed again to {}", self.pattern);
        }
        *down = false;
        backoff.succeeded();
        self.status.0.subscribed.store(true, Ordering::Relaxed);
        let failure = self.deliver(pubsub);
        self.status.0.subscribed.store(false, Ordering::Relaxed);
        failure
    }

    fn deliver(&self, pubsub: &mut redis::PubSub<'_>) -> Option<redis::RedisError> {
        loop {
            if self.status.0.stop.load(Ordering::Relaxed) {
                return None;
            }
            let msg = match pubsub.get_message() {
                Ok(msg) => msg,
                Err(e) if e.is_timeout() => continue,
                Err(e) => return Some(e),
            };
            let envelope = match open_envelope(msg.get_payload_bytes()) {
                Ok(envelope) => envelope,
                Err(why) => {
                    log::debug!(
                        "redis bridge: ignoring a message on {}: {why}",
                        msg.get_channel_name()
                    );
                    continue;
                }
            };
            if envelope.origin == self.origin {
                continue; // ours: delivered here when published
            }
            if msg.get_channel_name().strip_prefix(self.prefix.as_str())
                != Some(envelope.topic.as_str())
            {
                log::debug!(
                    "redis bridge: envelope for {} on channel {}",
                    envelope.topic,
                    msg.get_channel_name()
                );
                continue;
            }
            self.status.0.received.fetch_add(1, Ordering::Relaxed);
            // Waits while the server's queue is full: this thread then reads no faster
            // than the server delivers, and the backlog stays in Redis.
            let topic: crate::Topic = envelope.topic.into();
            loop {
                match self
                    .handle
                    .publish_local_wait(topic.clone(), envelope.msg.clone(), POLL)
                {
                    Ok(()) => break,
                    Err(crate::SendError::Full) => {
                        if self.status.0.stop.load(Ordering::Relaxed) {
                            return None;
                        }
                    }
                    Err(crate::SendError::Stopped) => return None, // the server is gone
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip_text_and_binary() {
        let origin = process_id();
        for msg in [
            Payload::text("héllo"),
            Payload::binary(vec![0, 255, 10, 13]),
        ] {
            let bytes = envelope(&origin, "room:1", &msg);
            let opened = open_envelope(&bytes).unwrap();
            assert_eq!(
                opened,
                Envelope {
                    origin,
                    topic: "room:1".into(),
                    msg
                }
            );
        }
    }

    #[test]
    fn hostile_envelopes_are_refused() {
        let good = envelope(&[7; 16], "t", &Payload::text("x"));
        assert!(open_envelope(b"RBR1").is_err());
        assert!(open_envelope(b"nope and more bytes than a header holds").is_err());
        let mut long_topic = good.clone();
        long_topic[21..25].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            open_envelope(&long_topic),
            Err("topic longer than the envelope")
        );
        let mut bad_kind = good.clone();
        bad_kind[20] = 9;
        assert!(open_envelope(&bad_kind).is_err());
        let mut bad_text = good;
        *bad_text.last_mut().unwrap() = 0xFF;
        assert!(open_envelope(&bad_text).is_err());
    }

    #[test]
    fn ids_differ_and_globs_are_escaped() {
        assert_ne!(process_id(), process_id());
        assert_eq!(escape_glob("app*[1]:"), "app\\*\\[1\\]:");
    }
}
