//! The two threads that talk to Redis, off the event loop: one publishes what the loop
//! queues, one subscribes to the topics this process has subscribers for and hands what
//! comes to the loop, each reconnecting with backoff.

use super::envelope::open_envelope;
use super::interest::Interest;
use super::BridgeStatus;
use crate::server::Handle;
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(2);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a publish may take before the connection is given up as broken.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a waiting subscriber looks up, to take in new topics (and to see whether it
/// should stop).
const POLL: Duration = Duration::from_millis(10);
/// The longest a publish waits for the subscriptions asked for before it (see
/// `interest.rs`); past it, it goes anyway.
const SUBSCRIBED_WAIT: Duration = Duration::from_secs(1);

/// A publish on its way to Redis.
pub(super) struct Outgoing {
    pub channel: String,
    pub envelope: Vec<u8>,
    /// The subscription changes it goes after.
    pub after: u64,
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

pub(super) struct Publisher {
    pub client: redis::Client,
    pub status: BridgeStatus,
    pub interest: Arc<Interest>,
}

impl Publisher {
    pub(super) fn run(self, queue: Receiver<Outgoing>) {
        let mut con: Option<redis::Connection> = None;
        let mut backoff = Backoff::new();
        let mut down = false;
        // Where the subscription stood when a wait ran out: no more waiting until it moves
        // (a stuck subscription delays one publish by the bound, not every one).
        let mut stuck_at: Option<u64> = None;
        // Ends when the server (and its bridge, the sender) is gone.
        while let Ok(Outgoing {
            channel,
            envelope,
            after,
        }) = queue.recv()
        {
            let size = channel.len() + envelope.len();
            self.status.0.queued_bytes.fetch_sub(size, Ordering::AcqRel);
            // After the subscriptions asked for before it: what answers it finds them.
            let confirmed = self.interest.confirmed();
            if stuck_at.is_some_and(|at| at != confirmed) {
                stuck_at = None;
            }
            if self.status.is_subscribed()
                && stuck_at.is_none()
                && !self.interest.wait_for(after, SUBSCRIBED_WAIT)
            {
                log::warn!(
                    "redis bridge: the subscriptions lag; publishing without waiting for them"
                );
                stuck_at = Some(self.interest.confirmed());
            }
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

pub(super) struct Subscriber {
    pub client: redis::Client,
    pub interest: Arc<Interest>,
    pub prefix: String,
    pub origin: [u8; 16],
    pub status: BridgeStatus,
    pub handle: Handle,
}

impl Subscriber {
    pub(super) fn run(self) {
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
        // A new connection has no subscriptions: every wanted topic is subscribed again.
        let mut subscribed = Subscribed::default();
        if let Err(e) = pubsub
            .set_read_timeout(Some(POLL))
            .and_then(|()| subscribed.catch_up(self, pubsub))
        {
            return Some(e);
        }
        if *down {
            log::info!("redis bridge: subscribed again");
        }
        *down = false;
        backoff.succeeded();
        self.status.0.subscribed.store(true, Ordering::Relaxed);
        let failure = self.deliver(pubsub, &mut subscribed);
        self.status.0.subscribed.store(false, Ordering::Relaxed);
        failure
    }

    fn deliver(
        &self,
        pubsub: &mut redis::PubSub<'_>,
        subscribed: &mut Subscribed,
    ) -> Option<redis::RedisError> {
        loop {
            if self.status.0.stop.load(Ordering::Relaxed) {
                return None;
            }
            if let Err(e) = subscribed.catch_up(self, pubsub) {
                return Some(e);
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

/// The channels a subscription connection holds, and the interest changes they reflect.
#[derive(Default)]
struct Subscribed {
    channels: HashSet<String>,
    seen: Option<u64>,
}

impl Subscribed {
    /// Subscribes to the channels of newly wanted topics and unsubscribes from the others,
    /// one command each way, then confirms: every change asked for so far is in place.
    fn catch_up(
        &mut self,
        sub: &Subscriber,
        pubsub: &mut redis::PubSub<'_>,
    ) -> redis::RedisResult<()> {
        let Some((seen, topics)) = sub.interest.changed_since(self.seen) else {
            return Ok(());
        };
        let wanted: HashSet<String> = topics
            .iter()
            .map(|topic| format!("{}{topic}", sub.prefix))
            .collect();
        let join: Vec<&String> = wanted.difference(&self.channels).collect();
        if !join.is_empty() {
            pubsub.subscribe(&join)?;
        }
        let leave: Vec<&String> = self.channels.difference(&wanted).collect();
        if !leave.is_empty() {
            pubsub.unsubscribe(&leave)?;
        }
        self.channels = wanted;
        self.seen = Some(seen);
        sub.interest.confirm(seen);
        Ok(())
    }
}
