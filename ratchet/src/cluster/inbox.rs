//! What the subscription threads do with a message Redis sends: open it (another
//! process's envelope, or a plain push) and hand it to the event loop, waiting while the
//! loop's queue is full so that the backlog stays in Redis.

use super::envelope::open_envelope;
use super::BridgeStatus;
use crate::message::Payload;
use crate::server::Handle;
use crate::Topic;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// After the prefix, the channels of plain pushes: `<prefix>push:<topic>`.
pub(super) const PUSH: &str = "push:";

/// How long a delivery waits for room in the loop's queue before looking whether the
/// bridge is stopping.
const WAIT: Duration = Duration::from_millis(10);

/// The loop was gone, or the bridge stopping, before a message could be delivered.
pub(super) struct Stopped;

#[derive(Clone)]
pub(super) struct Inbox {
    pub prefix: String,
    pub origin: [u8; 16],
    pub status: BridgeStatus,
    pub handle: Handle,
}

impl Inbox {
    /// Delivers what a message on `channel` carries for this process's subscribers, if
    /// anything.
    pub fn take(&self, channel: &str, bytes: &[u8]) -> Result<(), Stopped> {
        let counters = &self.status.0;
        counters.read.fetch_add(1, Ordering::Relaxed);
        let Some((topic, payload)) = self.open(channel, bytes) else {
            return Ok(());
        };
        counters.received.fetch_add(1, Ordering::Relaxed);
        loop {
            match self
                .handle
                .publish_local_wait(topic.clone(), payload.clone(), WAIT)
            {
                Ok(()) => return Ok(()),
                Err(crate::SendError::Full) if !self.stopping() => {}
                Err(_) => return Err(Stopped), // stopping, or the server is gone
            }
        }
    }

    pub fn stopping(&self) -> bool {
        self.status.0.stop.load(Ordering::Relaxed)
    }

    /// Another process's envelope on its topic's channel (ours were delivered when
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

    /// The channels of `topic`: its own and its pushes'.
    pub fn channels(&self, topic: &str) -> [String; 2] {
        let prefix = &self.prefix;
        [format!("{prefix}{topic}"), format!("{prefix}{PUSH}{topic}")]
    }
}
