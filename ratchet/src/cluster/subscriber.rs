//! The subscribing thread: it holds a subscription to the channels of the topics this
//! process has subscribers for, following the event loop's joins and leaves, and hands
//! what comes to the loop: envelopes from other processes, and plain pushes
//! (`PUBLISH <prefix>push:<topic> <message>` from any Redis client).

use super::envelope::open_envelope;
use super::interest::Interest;
use super::threads::{connect, Backoff, COMMAND_TIMEOUT};
use super::BridgeStatus;
use crate::message::Payload;
use crate::server::Handle;
use crate::Topic;
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// How often a waiting subscriber looks up, to take in new topics (and to see whether it
/// should stop).
const POLL: Duration = Duration::from_millis(10);

/// After the prefix, the channels of plain pushes: `<prefix>push:<topic>`.
pub(super) const PUSH: &str = "push:";

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
            self.status.0.read.fetch_add(1, Ordering::Relaxed);
            let Some((topic, payload)) = self.open(msg.get_channel_name(), msg.get_payload_bytes())
            else {
                continue;
            };
            self.status.0.received.fetch_add(1, Ordering::Relaxed);
            // Waits while the server's queue is full: this thread then reads no faster
            // than the server delivers, and the backlog stays in Redis.
            loop {
                match self
                    .handle
                    .publish_local_wait(topic.clone(), payload.clone(), POLL)
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

impl Subscriber {
    /// What a message on `channel` carries for this process's subscribers, if anything:
    /// another process's envelope on its topic's channel (ours were delivered when
    /// published), or a push, delivered as text when it is UTF-8 and as binary else.
    fn open(&self, channel: &str, bytes: &[u8]) -> Option<(Topic, Payload)> {
        let rest = channel.strip_prefix(self.prefix.as_str())?;
        if let Ok(envelope) = open_envelope(bytes) {
            if envelope.topic == rest {
                return (envelope.origin != self.origin)
                    .then(|| (envelope.topic.into(), envelope.msg));
            }
        }
        let Some(topic) = rest.strip_prefix(PUSH) else {
            log::debug!("redis bridge: ignoring a message on {channel}: not an envelope for it");
            return None;
        };
        let payload = match std::str::from_utf8(bytes) {
            Ok(text) => Payload::text(text),
            Err(_) => Payload::binary(bytes.to_vec()),
        };
        Some((topic.into(), payload))
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
        let prefix = &sub.prefix;
        let wanted: HashSet<String> = topics
            .iter()
            .flat_map(|topic| [format!("{prefix}{topic}"), format!("{prefix}{PUSH}{topic}")])
            .collect();
        let join: Vec<&String> = wanted.difference(&self.channels).collect();
        let leave: Vec<&String> = self.channels.difference(&wanted).collect();
        if !join.is_empty() || !leave.is_empty() {
            // Redis has as long to answer as for any command, not the poll's 10 ms.
            pubsub.set_read_timeout(Some(COMMAND_TIMEOUT))?;
            if !join.is_empty() {
                pubsub.subscribe(&join)?;
            }
            if !leave.is_empty() {
                pubsub.unsubscribe(&leave)?;
            }
            pubsub.set_read_timeout(Some(POLL))?;
        }
        self.channels = wanted;
        self.seen = Some(seen);
        sub.interest.confirm(seen);
        Ok(())
    }
}
