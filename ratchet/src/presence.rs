//! Presence: who is in a topic, in every process. A connection declares itself present
//! in a topic with some information about it (a name, a JSON object: the application's
//! choice), with [`Conn::present`](crate::Conn::present); it is a member until it
//! unsubscribes or closes.
//!
//! ```
//! use ratchet::{Command, Commands, Conn};
//!
//! fn on_open(conn: &Conn, name: &str) -> Commands {
//!     Commands::from(conn.present("lobby", name)) // subscribes too
//!         .and(conn.presence("lobby")) // who is there already
//! }
//! # let _ = on_open;
//! ```
//!
//! The topic's subscribers hear each change as JSON text,
//! `{"topic":"lobby","joined":{"client":"…","info":"ann"}}` and
//! `{"topic":"lobby","left":{"client":"…","info":"ann"}}`, and a connection asking with
//! [`Conn::presence`](crate::Conn::presence) receives
//! `{"topic":"lobby","presence":[{"client":"…","info":"ann"},…]}`. `client` tells apart
//! connections with the same information (two tabs of one user). `"presence":null`
//! says who is present cannot be known now (Redis unreachable).
//!
//! Without a bridge, presence is this process's. With a
//! [`RedisBridge`](crate::cluster::RedisBridge) it is every process's: the members are
//! kept in Redis (a hash per topic, `<prefix>presence:<topic>`), and each process says it
//! is alive every [`HEARTBEAT`] with a key that expires after [`ALIVE`]. The members of a
//! process that dies without a word (SIGKILL, a lost machine) drop out of every snapshot
//! as soon as its key expires, and within one more heartbeat another process removes
//! them and tells their topics' subscribers that they left: so within
//! `ALIVE + HEARTBEAT` (13 s) at most.

use crate::command::Topic;
use crate::conn::ConnId;
use std::collections::HashMap;
use std::time::Duration;

/// How often a process bridged to Redis says it is alive, and looks for dead ones.
pub const HEARTBEAT: Duration = Duration::from_secs(3);
/// How long a process counts as alive after it last said so.
pub const ALIVE: Duration = Duration::from_secs(10);

/// A member of a topic: which connection (`client`) and what it said about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The connection, unique over every process: `<process>:<connection>` with a
    /// bridge, `<connection>` without.
    pub client: String,
    /// What the application gave [`Conn::present`](crate::Conn::present).
    pub info: String,
}

/// The connections of this process present in each topic, and what they said.
#[derive(Debug, Default)]
pub(crate) struct Members {
    topics: HashMap<Topic, Vec<(ConnId, String)>>,
}

impl Members {
    /// `conn` is present in `topic` with `info`; whether it is new there (if not, its
    /// information is replaced).
    pub fn join(&mut self, conn: ConnId, topic: &Topic, info: String) -> bool {
        let members = self.topics.entry(topic.clone()).or_default();
        match members.iter_mut().find(|(id, _)| *id == conn) {
            Some(member) => {
                member.1 = info;
                false
            }
            None => {
                members.push((conn, info));
                true
            }
        }
    }

    /// `conn` left `topic`: what it had said, if it was present.
    pub fn leave(&mut self, conn: ConnId, topic: &str) -> Option<String> {
        let members = self.topics.get_mut(topic)?;
        let at = members.iter().position(|(id, _)| *id == conn)?;
        let (_, info) = members.swap_remove(at);
        if members.is_empty() {
            self.topics.remove(topic);
        }
        Some(info)
    }

    /// The members of `topic` here, oldest first.
    pub fn of(&self, topic: &str) -> Vec<(ConnId, String)> {
        let mut members = self.topics.get(topic).cloned().unwrap_or_default();
        members.sort_by_key(|(id, _)| *id);
        members
    }
}

/// `{"topic":…,"joined":{"client":…,"info":…}}` (or `"left"`).
pub(crate) fn event(topic: &str, joined: bool, member: &Member) -> String {
    let mut out = String::from("{\"topic\":");
    crate::history::wire::push_string(&mut out, topic);
    out.push_str(if joined { ",\"joined\":" } else { ",\"left\":" });
    push_member(&mut out, member);
    out.push('}');
    out
}

/// `{"topic":…,"presence":[{"client":…,"info":…},…]}`.
pub(crate) fn snapshot(topic: &str, members: &[Member]) -> String {
    let mut out = String::from("{\"topic\":");
    crate::history::wire::push_string(&mut out, topic);
    out.push_str(",\"presence\":[");
    for (i, member) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_member(&mut out, member);
    }
    out.push_str("]}");
    out
}

/// `{"topic":…,"presence":null}`: who is present cannot be known now (the store is
/// unreachable).
pub(crate) fn unknown(topic: &str) -> String {
    let mut out = String::from("{\"topic\":");
    crate::history::wire::push_string(&mut out, topic);
    out.push_str(",\"presence\":null}");
    out
}

fn push_member(out: &mut String, member: &Member) {
    out.push_str("{\"client\":");
    crate::history::wire::push_string(out, &member.client);
    out.push_str(",\"info\":");
    crate::history::wire::push_string(out, &member.info);
    out.push('}');
}

/// A connection's client name without a bridge.
pub(crate) fn local_client(conn: ConnId) -> String {
    conn.to_raw().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_join_once_and_leave_with_what_they_said() {
        let mut members = Members::default();
        let (a, b) = (ConnId::from_raw(1), ConnId::from_raw(2));
        let lobby = Topic::from("lobby");
        assert!(members.join(b, &lobby, "bob".into()));
        assert!(members.join(a, &lobby, "ann".into()));
        assert!(!members.join(a, &lobby, "ann2".into()), "an update");
        assert_eq!(
            members.of("lobby"),
            [(a, "ann2".to_owned()), (b, "bob".to_owned())]
        );
        assert_eq!(members.leave(a, "lobby").as_deref(), Some("ann2"));
        assert_eq!(members.leave(a, "lobby"), None);
        assert_eq!(members.leave(b, "lobby").as_deref(), Some("bob"));
        assert!(members.of("lobby").is_empty());
    }

    #[test]
    fn events_and_snapshots_are_json() {
        let ann = Member {
            client: "7".into(),
            info: "a\"n".into(),
        };
        assert_eq!(
            event("t", true, &ann),
            r#"{"topic":"t","joined":{"client":"7","info":"a\"n"}}"#
        );
        assert_eq!(
            event("t", false, &ann),
            r#"{"topic":"t","left":{"client":"7","info":"a\"n"}}"#
        );
        assert_eq!(
            snapshot("t", &[ann.clone(), ann]),
            r#"{"topic":"t","presence":[{"client":"7","info":"a\"n"},{"client":"7","info":"a\"n"}]}"#
        );
        assert_eq!(snapshot("t", &[]), r#"{"topic":"t","presence":[]}"#);
    }
}
