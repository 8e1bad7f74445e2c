//! The history kept in this process when there is no bridge: a ring of the last messages
//! of each topic, within a byte budget over all topics.

use super::{Offset, Retention};
use crate::command::Topic;
use crate::message::Payload;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Bytes counted for a message beside its own (its offset, time and place in the ring).
const ENTRY: usize = 48;

pub(crate) struct Rings {
    rings: HashMap<Topic, Ring>,
    /// Bytes held over all rings, and the most allowed.
    bytes: usize,
    max_bytes: usize,
    /// The offsets of this process: its start, and the next sequence.
    epoch: u64,
    next: u64,
}

#[derive(Default)]
struct Ring {
    entries: VecDeque<(Offset, Instant, Payload)>,
    /// The last offset given in this topic, kept or not.
    last: Option<Offset>,
    /// When it was last published to (the least recent gives way first).
    touched: Option<Instant>,
}

/// What a recovery finds: the messages after the offset, and whether nothing between
/// was lost.
pub(crate) type Found = (Vec<(Offset, Payload)>, bool);

impl Rings {
    pub fn new(max_bytes: usize) -> Self {
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Rings {
            rings: HashMap::new(),
            bytes: 0,
            max_bytes,
            epoch,
            next: 0,
        }
    }

    /// Numbers `msg` and keeps it in `topic`'s ring.
    pub fn append(
        &mut self,
        topic: &Topic,
        msg: &Payload,
        keep: Retention,
        now: Instant,
    ) -> Offset {
        let offset = Offset {
            ms: self.epoch,
            seq: self.next,
        };
        self.next += 1;
        let ring = self.rings.entry(topic.clone()).or_default();
        ring.entries.push_back((offset, now, msg.clone()));
        ring.last = Some(offset);
        ring.touched = Some(now);
        self.bytes += ENTRY + msg.len();
        self.trim(topic, keep, now);
        while self.bytes > self.max_bytes && self.evict_one(topic) {}
        offset
    }

    /// The messages of `topic` after `since` (all those kept without it), oldest first,
    /// and whether nothing after `since` was lost.
    pub fn after(
        &mut self,
        topic: &str,
        since: Option<Offset>,
        keep: Retention,
        now: Instant,
    ) -> Found {
        self.trim(topic, keep, now);
        let Some(ring) = self.rings.get(topic) else {
            return (Vec::new(), since.is_none());
        };
        let all = |from: usize| -> Vec<(Offset, Payload)> {
            ring.entries
                .iter()
                .skip(from)
                .map(|(o, _, m)| (*o, m.clone()))
                .collect()
        };
        let Some(since) = since else {
            return (all(0), true);
        };
        if ring.last == Some(since) {
            return (Vec::new(), true);
        }
        match ring.entries.iter().position(|(o, _, _)| *o == since) {
            Some(at) => (all(at + 1), true),
            None => {
                let from = ring.entries.partition_point(|(o, _, _)| *o <= since);
                (all(from), false)
            }
        }
    }

    /// Drops what `topic` keeps past its length and age.
    fn trim(&mut self, topic: &str, keep: Retention, now: Instant) {
        let Some(ring) = self.rings.get_mut(topic) else {
            return;
        };
        let expired = |at: Instant| now.saturating_duration_since(at) > keep.ttl;
        while let Some((_, at, msg)) = ring.entries.front() {
            if ring.entries.len() <= keep.len && !expired(*at) {
                break;
            }
            self.bytes -= ENTRY + msg.len();
            ring.entries.pop_front();
        }
        let stale = ring.touched.is_none_or(|t| {
            now.saturating_duration_since(t) > keep.ttl.max(Duration::from_secs(1))
        });
        if ring.entries.is_empty() && stale {
            self.rings.remove(topic);
        }
    }

    /// Frees the oldest message of the topic published to least recently (`current`'s
    /// last); whether anything was freed.
    fn evict_one(&mut self, current: &str) -> bool {
        let victim = self
            .rings
            .iter()
            .filter(|(_, ring)| !ring.entries.is_empty())
            .min_by_key(|(topic, ring)| (topic.as_ref() == current, ring.touched))
            .map(|(topic, _)| topic.clone());
        let Some(victim) = victim else {
            return false;
        };
        let ring = self.rings.get_mut(&victim).expect("a ring");
        if let Some((_, _, msg)) = ring.entries.pop_front() {
            self.bytes -= ENTRY + msg.len();
        }
        true
    }

    /// Bytes held, for the tests.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep(len: usize) -> Retention {
        Retention {
            len,
            ttl: Duration::from_secs(60),
        }
    }

    #[test]
    fn recovery_is_complete_while_the_offset_is_kept() {
        let mut rings = Rings::new(1 << 20);
        let now = Instant::now();
        let topic = Topic::from("chat");
        let offsets: Vec<Offset> = (0..5)
            .map(|i| rings.append(&topic, &Payload::text(format!("m{i}")), keep(3), now))
            .collect();
        // Kept: m2, m3, m4.
        let (found, complete) = rings.after("chat", Some(offsets[2]), keep(3), now);
        assert!(complete);
        assert_eq!(found.iter().map(|f| f.0).collect::<Vec<_>>(), offsets[3..]);
        let (found, complete) = rings.after("chat", Some(offsets[0]), keep(3), now);
        assert!(!complete, "m1 is gone");
        assert_eq!(found.len(), 3);
        assert_eq!(
            rings.after("chat", Some(offsets[4]), keep(3), now),
            (vec![], true)
        );
        assert_eq!(rings.after("chat", None, keep(3), now).0.len(), 3);
        // Another process's offsets, or an older run's.
        let foreign = Offset { ms: 1, seq: 0 };
        assert!(!rings.after("chat", Some(foreign), keep(3), now).1);
        // Expired.
        let later = now + Duration::from_secs(61);
        assert_eq!(
            rings.after("chat", Some(offsets[2]), keep(3), later),
            (vec![], false)
        );
    }

    #[test]
    fn the_budget_holds_over_all_topics_least_recent_first() {
        let budget = 10 * (ENTRY + 100);
        let mut rings = Rings::new(budget);
        let now = Instant::now();
        let msg = Payload::text("x".repeat(100));
        for i in 0..1000 {
            let topic = Topic::from(format!("t{}", i % 7));
            rings.append(&topic, &msg, keep(1000), now + Duration::from_millis(i));
            assert!(rings.held() <= budget);
        }
        // The topic just published to kept its message.
        let (found, _) = rings.after("t5", None, keep(1000), now + Duration::from_secs(1));
        assert!(!found.is_empty());
    }
}
