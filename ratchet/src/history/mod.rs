//! History and recovery: the topics that keep their last messages, so that a client that
//! comes back after a blip receives what it missed, in order, and then the live messages,
//! with no duplicate and no gap at the seam (or is told that the history was too short).
//!
//! ```no_run
//! use ratchet::history::History;
//! use ratchet::{Component, Conn, IntoCommands, Message, Server, WebSocket};
//! use std::time::Duration;
//! # struct Chat;
//! # impl Component for Chat {
//! #     fn on_message(&mut self, _: &Conn, _: Message<'_>) -> impl IntoCommands {
//! #         ratchet::Commands::none()
//! #     }
//! # }
//!
//! Server::new(WebSocket::new(Chat))
//!     // The last 100 messages of every topic whose name starts with "chat", for 5 minutes.
//!     .history(History::new().keep("chat*", 100, Duration::from_secs(300)))
//!     .bind("127.0.0.1:8080")?
//!     .run()
//! # ; Ok::<(), std::io::Error>(())
//! ```
//!
//! # Where the history lives
//!
//! With a [`RedisBridge`](crate::cluster::RedisBridge), in Redis: a publish on a history
//! topic is numbered by Redis as it is added to a stream (`XADD` with `MAXLEN ~`, so at
//! least the last `len` are kept, and the stream expires `ttl` after its last message) and
//! published to every process in the same script, so the order of the live messages is
//! the order of the history. Every process, the publishing one included, delivers it as
//! it comes back from Redis; a client may recover on any process. So a history topic's
//! messages wait for Redis: while it cannot be reached they are delivered in this
//! process unnumbered (`"offset":null`, in no history), and dropped (and counted) for
//! the others. A push from outside (`PUBLISH <prefix>push:<topic>`, see
//! [`cluster`](crate::cluster)) is not numbered either: it reaches a history topic's
//! subscribers with `"offset":null`, and is in no history.
//!
//! Without a bridge, in this process: a ring of the last `len` messages of each topic, for
//! `ttl`, within [`History::memory`] over all topics (the topics published to least
//! recently give way first). Offsets then begin anew with the process.
//!
//! # What a subscriber receives
//!
//! Every message of a history topic reaches its subscribers as JSON text carrying its
//! offset: `{"topic":"chat","offset":"1733000000000-0","text":"hello"}` (a binary message
//! as `"binary":"<base64>"`). A connection joins with
//! [`Conn::recover`](crate::Conn::recover) (or [`Command::recover`](crate::Command::recover))
//! and the offset its client last saw, taken from wherever the application likes (a query
//! parameter, a header, a first message): it receives the messages after that offset,
//! then `{"topic":"chat","recovered":true,"offset":"…"}`, then the live messages. Without
//! an offset it receives the history kept. `"recovered":false` says that some of what it
//! missed is no longer kept (the history is shorter than the gap, or expired): what it
//! received is the part that was. The client side, in a browser:
//!
//! ```js
//! const since = localStorage.getItem("chat-offset");
//! const ws = new WebSocket("wss://example.com/chat" + (since ? "?since=" + since : ""));
//! ws.onmessage = (e) => {
//!   const m = JSON.parse(e.data);
//!   if (m.offset) localStorage.setItem("chat-offset", m.offset);
//!   if ("recovered" in m) { if (!m.recovered) showGapNotice(); return; }
//!   show(m.text);
//! };
//! ```
//!
//! # Guarantees
//!
//! Live delivery stays at most once (see [`cluster`](crate::cluster)). Recovery makes it
//! at least once across a reconnection, and exactly once at the seam: the connection
//! joins the topic before the history is read, the live messages that arrive meanwhile
//! wait (at most `len` of them; past that the recovery says `false`), and a message is
//! sent only if its offset is past the last one sent.

mod ring;
mod seams;
pub(crate) mod wire;

pub use crate::offset::{BadOffset, Offset};
pub(crate) use ring::Rings;
pub(crate) use seams::{Live, Seams};

use std::time::Duration;

/// How much of a topic's history is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// The messages kept (at least this many, with Redis).
    pub len: usize,
    /// How long a message is kept (with Redis: the stream, after its last message).
    pub ttl: Duration,
}

/// Which topics keep a history, and how much: see the [module](self).
#[derive(Debug, Clone)]
pub struct History {
    rules: Vec<(String, Retention)>,
    memory: usize,
}

impl Default for History {
    fn default() -> Self {
        History::new()
    }
}

impl History {
    /// No topic keeps a history yet.
    pub fn new() -> Self {
        History {
            rules: Vec::new(),
            memory: 64 << 20,
        }
    }

    /// The topics matching `pattern` (`*` stands for any run of characters: `"chat*"`,
    /// `"*"`, `"room:*:log"`) keep their last `len` messages for `ttl`. The first
    /// pattern a topic matches decides.
    #[must_use]
    pub fn keep(mut self, pattern: impl Into<String>, len: usize, ttl: Duration) -> Self {
        let len = len.max(1);
        self.rules.push((pattern.into(), Retention { len, ttl }));
        self
    }

    /// The most bytes of messages kept in this process when there is no bridge, over all
    /// topics. Default: 64 MiB.
    #[must_use]
    pub fn memory(mut self, bytes: usize) -> Self {
        self.memory = bytes;
        self
    }

    /// How much of `topic`'s history is kept, if any.
    pub fn retention(&self, topic: &str) -> Option<Retention> {
        self.rules
            .iter()
            .find(|(pattern, _)| matches(pattern, topic))
            .map(|(_, keep)| *keep)
    }

    pub(crate) fn memory_limit(&self) -> usize {
        self.memory
    }
}

/// Whether `topic` matches `pattern`, where `*` matches any run of characters.
fn matches(pattern: &str, topic: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), topic.as_bytes());
    let (mut i, mut j) = (0, 0);
    // Where the last `*` was, and where the topic stood then.
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && p[i] == b'*' {
            star = Some((i, j));
            i += 1;
        } else if i < p.len() && p[i] == t[j] {
            i += 1;
            j += 1;
        } else if let Some((si, sj)) = star {
            // The star takes one more character.
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_with_stars() {
        assert!(matches("chat*", "chat"));
        assert!(matches("chat*", "chat:room"));
        assert!(!matches("chat*", "news"));
        assert!(matches("*", ""));
        assert!(matches("room:*:log", "room:12:log"));
        assert!(!matches("room:*:log", "room:12:logs"));
        assert!(matches("*a*b", "xxaxxb"));
        assert!(!matches("*a*b", "xxbxxa"));
        assert!(matches("exact", "exact"));
        assert!(!matches("exact", "exactly"));
    }

    #[test]
    fn the_first_matching_rule_decides() {
        let h = History::new()
            .keep("chat:vip", 5, Duration::from_secs(1))
            .keep("chat*", 100, Duration::from_secs(60));
        assert_eq!(h.retention("chat:vip").map(|r| r.len), Some(5));
        assert_eq!(h.retention("chat:all").map(|r| r.len), Some(100));
        assert_eq!(h.retention("news"), None);
    }
}
