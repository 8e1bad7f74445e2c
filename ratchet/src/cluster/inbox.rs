//! What the subscription threads do with a message Redis sends: open it (another
//! process's envelope, or a plain push) and hand it to the event loop, waiting while the
//! loop's queue is full so that the backlog stays in Redis.

use super::envelope::open_envelope;
use super::BridgeStatus;
use crate::conn::ConnId;
use crate::history::Offset;
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

/// A message for this process's subscribers.
struct Delivery {
    topic: Topic,
    msg: Payload,
    /// For a history topic's message (or a push): its offset, and who to leave out here.
    numbered: Option<(Option<Offset>, Option<ConnId>)>,
}

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
        let Some(Delivery {
            topic,
            msg,
            numbered,
        }) = self.open(channel, bytes)
        else {
            return Ok(());
        };
        counters.received.fetch_add(1, Ordering::Relaxed);
        loop {
            let sent = match numbered {
                Some((offset, except)) => self.handle.deliver_numbered_wait(
                    topic.clone(),
                    offset,
                    msg.clone(),
                    except,
                    WAIT,
                ),
                None => self
                    .handle
                    .publish_local_wait(topic.clone(), msg.clone(), WAIT),
            };
            match sent {
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
    /// published), a numbered envelope of a history topic (from any process: ours are
    /// delivered as they come back numbered, leaving out who our publisher left out), or
    /// a push, delivered as text when it is UTF-8 and as binary else.
    fn open(&self, channel: &str, bytes: &[u8]) -> Option<Delivery> {
        let rest = channel.strip_prefix(self.prefix.as_str())?;
        if let Ok(envelope) = open_envelope(bytes) {
            if envelope.topic == rest {
                let ours = envelope.origin == self.origin;
                let numbered = envelope
                    .offset
                    .map(|offset| (Some(offset), envelope.except.filter(|_| ours)));
                return (numbered.is_some() || !ours).then(|| Delivery {
                    topic: envelope.topic.into(),
                    msg: envelope.msg,
                    numbered,
                });
            }
        }
        let Some(topic) = rest.strip_prefix(PUSH) else {
            log::debug!("redis bridge: ignoring a message on {channel}: not an envelope for it");
            return None;
        };
        let msg = match std::str::from_utf8(bytes) {
            Ok(text) => Payload::text(text),
            Err(_) => Payload::binary(bytes.to_vec()),
        };
        // Numbered by no one: as it is, or in the JSON of a history topic's messages.
        Some(Delivery {
            topic: topic.into(),
            msg,
            numbered: Some((None, None)),
        })
    }

    /// The channels of `topic`: its own and its pushes'.
    pub fn channels(&self, topic: &str) -> [String; 2] {
        let prefix = &self.prefix;
        [format!("{prefix}{topic}"), format!("{prefix}{PUSH}{topic}")]
    }
}
