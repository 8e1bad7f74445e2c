//! The seam of each recovery under way: the live messages that arrive while the history
//! is read wait, and after it only the messages past the last one sent go out.

use super::{wire, Offset};
use crate::command::Topic;
use crate::conn::ConnId;
use crate::message::Payload;
use std::collections::HashMap;

/// Recoveries under way, and those just done, by connection and topic.
#[derive(Default)]
pub(crate) struct Seams {
    seams: HashMap<(ConnId, Topic), Seam>,
}

enum Seam {
    /// The history is being read: live messages wait here, at most `max` of them.
    Reading {
        since: Option<Offset>,
        held: Vec<(Offset, Payload)>,
        max: usize,
        overflowed: bool,
    },
    /// Sent up to this offset: live messages up to it were in the history already.
    Sent(Offset),
}

/// What to do with a live message for one subscriber.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Live {
    Send,
    /// Held for after the history, or already sent with it.
    Not,
}

impl Seams {
    pub fn is_empty(&self) -> bool {
        self.seams.is_empty()
    }

    /// `conn` recovers `topic` from `since`: its live messages wait, at most `max`.
    pub fn reading(&mut self, conn: ConnId, topic: Topic, since: Option<Offset>, max: usize) {
        let seam = Seam::Reading {
            since,
            held: Vec::new(),
            max,
            overflowed: false,
        };
        self.seams.insert((conn, topic), seam);
    }

    /// Whether the live message `msg` at `offset` goes to `conn` now.
    pub fn live(&mut self, conn: ConnId, topic: &Topic, offset: Offset, msg: &Payload) -> Live {
        let key = (conn, topic.clone());
        match self.seams.get_mut(&key) {
            None => Live::Send,
            Some(Seam::Reading {
                held,
                max,
                overflowed,
                ..
            }) => {
                if held.len() < *max {
                    held.push((offset, msg.clone()));
                } else {
                    *overflowed = true;
                }
                Live::Not
            }
            Some(Seam::Sent(last)) if offset <= *last => Live::Not,
            Some(Seam::Sent(_)) => {
                // Live messages come in order: the seam is behind.
                self.seams.remove(&key);
                Live::Send
            }
        }
    }

    /// The history of `topic` for `conn` was read: what to send it, in order (the
    /// history, the seam, then what waited), or nothing if it no longer recovers.
    pub fn read(
        &mut self,
        conn: ConnId,
        topic: &Topic,
        found: Vec<(Offset, Payload)>,
        complete: bool,
    ) -> Vec<Payload> {
        let key = (conn, topic.clone());
        let Some(Seam::Reading {
            since,
            held,
            overflowed,
            ..
        }) = self.seams.remove(&key)
        else {
            return Vec::new();
        };
        let mut last = since;
        let mut numbered = |out: &mut Vec<Payload>, list: &[(Offset, Payload)]| {
            for (offset, msg) in list {
                if last.is_none_or(|last| *offset > last) {
                    out.push(wire::numbered(topic, Some(*offset), msg));
                    last = Some(*offset);
                }
            }
        };
        let mut out = Vec::with_capacity(found.len() + held.len() + 1);
        numbered(&mut out, &found);
        let mut waited = Vec::new();
        numbered(&mut waited, &held);
        // The seam goes between the history and what waited: what follows it is live.
        let history_end = out.len();
        out.extend(waited);
        let end = if history_end > 0 {
            found_last(&found, since)
        } else {
            since
        };
        out.insert(history_end, wire::seam(topic, complete && !overflowed, end));
        if let Some(last) = last {
            self.seams.insert(key, Seam::Sent(last));
        }
        out
    }

    /// `conn` left `topic` (or closed).
    pub fn forget(&mut self, conn: ConnId, topic: &str) {
        if !self.seams.is_empty() {
            self.seams.remove(&(conn, Topic::from(topic)));
        }
    }
}

/// The last offset of the history sent: its newest past `since`.
fn found_last(found: &[(Offset, Payload)], since: Option<Offset>) -> Option<Offset> {
    found.iter().map(|(o, _)| *o).max().max(since)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seq: u64) -> Offset {
        Offset { ms: 1, seq }
    }

    fn texts(out: &[Payload]) -> Vec<&str> {
        out.iter().map(|p| p.as_text().unwrap()).collect()
    }

    #[test]
    fn the_seam_sends_each_message_once_in_order() {
        let mut seams = Seams::default();
        let (conn, topic) = (ConnId::from_raw(1), Topic::from("t"));
        seams.reading(conn, topic.clone(), Some(at(1)), 10);
        // Live messages during the read: 3 (also in the history) and 4 (not yet).
        assert_eq!(
            seams.live(conn, &topic, at(3), &Payload::text("c")),
            Live::Not
        );
        assert_eq!(
            seams.live(conn, &topic, at(4), &Payload::text("d")),
            Live::Not
        );
        let found = vec![(at(2), Payload::text("b")), (at(3), Payload::text("c"))];
        let out = seams.read(conn, &topic, found, true);
        assert_eq!(
            texts(&out),
            [
                r#"{"topic":"t","offset":"1-2","text":"b"}"#,
                r#"{"topic":"t","offset":"1-3","text":"c"}"#,
                r#"{"topic":"t","recovered":true,"offset":"1-3"}"#,
                r#"{"topic":"t","offset":"1-4","text":"d"}"#,
            ]
        );
        // Still in flight: 4 again is not sent twice; 5 is, and ends the seam.
        assert_eq!(
            seams.live(conn, &topic, at(4), &Payload::text("d")),
            Live::Not
        );
        assert_eq!(
            seams.live(conn, &topic, at(5), &Payload::text("e")),
            Live::Send
        );
        assert!(seams.is_empty());
    }

    #[test]
    fn too_many_waiting_makes_the_recovery_incomplete() {
        let mut seams = Seams::default();
        let (conn, topic) = (ConnId::from_raw(1), Topic::from("t"));
        seams.reading(conn, topic.clone(), None, 1);
        seams.live(conn, &topic, at(1), &Payload::text("a"));
        seams.live(conn, &topic, at(2), &Payload::text("b"));
        let out = seams.read(conn, &topic, Vec::new(), true);
        assert_eq!(
            texts(&out),
            [
                r#"{"topic":"t","recovered":false,"offset":null}"#,
                r#"{"topic":"t","offset":"1-1","text":"a"}"#,
            ]
        );
        // A connection that left is not answered.
        seams.reading(conn, topic.clone(), None, 1);
        seams.forget(conn, "t");
        assert!(seams.read(conn, &topic, Vec::new(), true).is_empty());
    }
}
