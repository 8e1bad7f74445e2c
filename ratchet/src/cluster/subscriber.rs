//! The subscribing thread: it holds a subscription to the channels of the topics this
//! process has subscribers for, following the event loop's joins and leaves, and hands
//! what comes to the loop: envelopes from other processes, and plain pushes
//! (`PUBLISH <prefix>push:<topic> <message>` from any Redis client).

use super::inbox::Inbox;
use super::interest::Interest;
use super::slots::{Node, SlotMap};
use super::threads::{is_cluster, Backoff, Seeds, COMMAND_TIMEOUT};
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// How often a waiting subscriber looks up, to take in new topics (and to see whether it
/// should stop).
pub(super) const POLL: Duration = Duration::from_millis(10);

pub(super) struct Subscriber {
    pub seeds: Seeds,
    pub interest: Arc<Interest>,
    pub inbox: Inbox,
}

impl Subscriber {
    pub(super) fn run(self) {
        let mut backoff = Backoff::new();
        let mut down = false;
        // A cluster's masters, as last seen: where to ask for the slots when the seeds
        // are down.
        let mut known: Vec<Node> = Vec::new();
        while !self.inbox.stopping() {
            if backoff.waiting() {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            let failure = match self.connect(&known) {
                Ok(mut con) => match is_cluster(&mut con) {
                    Ok(false) => {
                        // One PubSub for the connection's life: dropping it unsubscribes.
                        let mut pubsub = con.as_pubsub();
                        match self.listen(&mut pubsub, &mut down, &mut backoff) {
                            Some(e) => e.to_string(),
                            None => return, // stopped
                        }
                    }
                    Ok(true) => match SlotMap::read(&mut con) {
                        Ok(map) => {
                            drop(con);
                            known = map.masters();
                            match super::sharded::listen(&self, &map, &mut down, &mut backoff) {
                                Some(e) => e,
                                None => return,
                            }
                        }
                        Err(e) => e.to_string(),
                    },
                    Err(e) => e.to_string(),
                },
                Err(e) => e.to_string(),
            };
            if !down {
                log::warn!("redis bridge: subscription lost ({failure}); messages from other processes are missed until it is back");
                self.inbox.status.0.lost.fetch_add(1, Ordering::Relaxed);
            }
            down = true;
            backoff.failed();
        }
    }

    /// A connection to a seed, or else to a master seen before.
    fn connect(&self, known: &[Node]) -> redis::RedisResult<redis::Connection> {
        self.seeds.connect(COMMAND_TIMEOUT).or_else(|e| {
            let clients = known.iter().filter_map(|node| self.seeds.at(node));
            Seeds(clients.collect())
                .connect(COMMAND_TIMEOUT)
                .map_err(|_| e)
        })
    }

    /// The subscription is up (after a failure, says so once).
    pub(super) fn up(&self, down: &mut bool, backoff: &mut Backoff) {
        if *down {
            log::info!("redis bridge: subscribed again");
        }
        *down = false;
        backoff.succeeded();
        self.inbox
            .status
            .0
            .subscribed
            .store(true, Ordering::Relaxed);
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
        self.up(down, backoff);
        let failure = self.deliver(pubsub, &mut subscribed);
        self.inbox
            .status
            .0
            .subscribed
            .store(false, Ordering::Relaxed);
        failure
    }

    fn deliver(
        &self,
        pubsub: &mut redis::PubSub<'_>,
        subscribed: &mut Subscribed,
    ) -> Option<redis::RedisError> {
        loop {
            if self.inbox.stopping() {
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
            // Waits while the server's queue is full: this thread then reads no faster
            // than the server delivers, and the backlog stays in Redis.
            if self
                .inbox
                .take(msg.get_channel_name(), msg.get_payload_bytes())
                .is_err()
            {
                return None;
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
            .flat_map(|topic| sub.inbox.channels(topic))
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
