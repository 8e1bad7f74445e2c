//! The publishing thread, off the event loop: it hands what the loop queues to Redis,
//! after the subscriptions asked for before it, reconnecting with backoff (the
//! subscribing thread, `subscriber.rs`, shares the backoff and the connecting).

use super::interest::Interest;
use super::BridgeStatus;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(2);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a publish may take before the connection is given up as broken.
pub(super) const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
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
pub(super) struct Backoff {
    next: Duration,
    until: Option<Instant>,
}

impl Backoff {
    pub fn new() -> Self {
        Backoff {
            next: BACKOFF_START,
            until: None,
        }
    }

    pub fn failed(&mut self) {
        self.until = Some(Instant::now() + self.next);
        self.next = (self.next * 2).min(BACKOFF_MAX);
    }

    pub fn succeeded(&mut self) {
        *self = Backoff::new();
    }

    pub fn waiting(&self) -> bool {
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
