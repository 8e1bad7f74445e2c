//! Commands: what handlers return instead of doing I/O.

mod list;

pub use list::{Commands, CommandsIter, IntoCommands};

use crate::id::ConnId;
use crate::message::Payload;
use crate::CloseCode;
use std::sync::Arc;
use std::time::Duration;

/// Who a [`Command::Send`] goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum To {
    /// One connection.
    One(ConnId),
    /// Several connections, sharing one payload.
    Many(Arc<[ConnId]>),
}

impl To {
    /// Several recipients (one stays `One`).
    pub fn many(ids: Vec<ConnId>) -> Self {
        match ids.as_slice() {
            [one] => To::One(*one),
            _ => To::Many(ids.into()),
        }
    }

    /// The recipients.
    pub fn ids(&self) -> &[ConnId] {
        match self {
            To::One(id) => std::slice::from_ref(id),
            To::Many(ids) => ids,
        }
    }
}

/// One thing for the server to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// Send a message. The protocol layer frames it once per protocol version; every
    /// recipient gets the same bytes.
    Send {
        /// Recipients.
        to: To,
        /// The message.
        msg: Payload,
    },
    /// Close a connection with a code and a reason (the protocol carries them if it can).
    Close {
        /// The connection.
        conn: ConnId,
        /// The close code.
        code: CloseCode,
        /// A short reason, at most 123 bytes of it are sent.
        reason: String,
    },
    /// Start (or restart) the application's timer `key`: `on_timer(key)` runs after
    /// `after`, then every `every` if set. Delays and periods shorter than
    /// [`MIN_TIMER_DELAY`] count as that.
    Timer {
        /// The application's name for the timer.
        key: u64,
        /// Delay before the first tick.
        after: Duration,
        /// Period of the following ticks, if any.
        every: Option<Duration>,
        /// Which application behind routers the timer belongs to; applications leave it
        /// empty, routers fill it in on the way out.
        scope: TimerScope,
    },
    /// Stop the application's timer `key` (nothing happens if it is not running).
    CancelTimer {
        /// The timer.
        key: u64,
        /// As in [`Command::Timer`].
        scope: TimerScope,
    },
    /// Add a connection to a topic's subscribers (until it unsubscribes or closes).
    Subscribe {
        /// The connection.
        conn: ConnId,
        /// The topic.
        topic: Topic,
    },
    /// Add a connection to a topic's subscribers, first sending it what it missed of the
    /// topic's history since `since` (all that is kept without it): see
    /// [`history`](crate::history). On a topic without history, a plain subscribe.
    Recover {
        /// The connection.
        conn: ConnId,
        /// The topic.
        topic: Topic,
        /// The offset its client last saw.
        since: Option<crate::offset::Offset>,
    },
    /// Add a connection to a topic's subscribers and to its [presence](crate::presence),
    /// with what it says about itself (replacing what it said before, if present).
    Present {
        /// The connection.
        conn: ConnId,
        /// The topic.
        topic: Topic,
        /// What the topic's members learn about it.
        info: String,
    },
    /// Send a connection who is present in a topic, in every process.
    Presence {
        /// The connection asking.
        conn: ConnId,
        /// The topic.
        topic: Topic,
    },
    /// Remove a connection from a topic's subscribers.
    Unsubscribe {
        /// The connection.
        conn: ConnId,
        /// The topic.
        topic: Topic,
    },
    /// Send a message to a topic's subscribers, framed once per protocol version; with a
    /// [bridge](crate::server::Bridge), to the subscribers in the other processes too.
    Publish {
        /// The topic.
        topic: Topic,
        /// The message.
        msg: Payload,
        /// A subscriber left out (usually the sender).
        except: Option<ConnId>,
    },
    /// Open an outbound connection, known to the application by `key` (see
    /// [`client`](crate::client)). A connection already made or being made for the same
    /// key is left as it is, but no longer reconnected.
    Connect {
        /// The application's key for it, as [`Conn::outbound`](crate::Conn::outbound).
        key: u64,
        /// Where and how.
        connect: Arc<crate::outbound::Connect>,
        /// As in [`Command::Timer`].
        scope: TimerScope,
    },
    /// Stop reconnecting `key`: a retry waiting is dropped; a connection that is open
    /// stays open (close it to end it).
    CancelConnect {
        /// The key given to [`Command::connect`].
        key: u64,
        /// As in [`Command::Timer`].
        scope: TimerScope,
    },
}

/// An outbound connection's key in the layer that asked for it: the key the application
/// chose, and its [`TimerScope`].
pub(crate) type DialKey = (TimerScope, u64);

/// A topic's name: cheap to clone, shared by every subscription to it.
pub type Topic = Arc<str>;

/// The shortest delay or period a timer has: shorter ones (zero included) count as this,
/// so that a timer re-armed from `on_timer` cannot spin the event loop.
pub const MIN_TIMER_DELAY: Duration = Duration::from_millis(1);

/// The path of route indices that leads from the server to the application a timer
/// belongs to: each [`Router`](crate::Router) a timer command passes on its way out
/// pushes the index of its route, and pops it when the timer fires on its way back in.
/// The application's key is never touched, so every `u64` is the application's.
///
/// Up to [`TimerScope::MAX_DEPTH`] routers deep, with up to [`TimerScope::MAX_ROUTES`]
/// routes each.
///
/// ```
/// use ratchet::command::TimerScope;
///
/// let scope = TimerScope::default().push(3).push(0); // route 3 of an inner router, in route 0
/// assert_eq!(scope.pop(), Some((0, TimerScope::default().push(3))));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerScope(u64);

impl TimerScope {
    /// How many routers deep a scope reaches.
    pub const MAX_DEPTH: usize = 8;
    /// How many routes a router may have for its timers to be told apart.
    pub const MAX_ROUTES: usize = 255;

    /// The scope inside route `index` of one more router.
    ///
    /// # Panics
    ///
    /// If `index` is [`MAX_ROUTES`](TimerScope::MAX_ROUTES) or more, or the scope is
    /// already [`MAX_DEPTH`](TimerScope::MAX_DEPTH) deep: a [`Router`](crate::Router)
    /// refuses such configurations when the server is assembled.
    #[must_use]
    pub fn push(self, index: usize) -> Self {
        assert!(index < Self::MAX_ROUTES, "route index {index} too large");
        assert!(self.depth() < Self::MAX_DEPTH, "routers nested too deep");
        TimerScope(self.0 << 8 | (index as u64 + 1))
    }

    /// The outermost route index and the scope inside it, or `None` at the application.
    pub fn pop(self) -> Option<(usize, Self)> {
        (self.0 != 0).then(|| ((self.0 & 0xFF) as usize - 1, TimerScope(self.0 >> 8)))
    }

    /// How many routers deep.
    pub fn depth(self) -> usize {
        (64 - self.0.leading_zeros() as usize).div_ceil(8)
    }
}

impl Command {
    /// Send `msg` to one connection.
    pub fn send(to: impl Into<ConnId>, msg: impl Into<Payload>) -> Self {
        Command::Send {
            to: To::One(to.into()),
            msg: msg.into(),
        }
    }

    /// Send one shared `msg` to many connections.
    pub fn send_to<I>(to: I, msg: impl Into<Payload>) -> Self
    where
        I: IntoIterator,
        I::Item: Into<ConnId>,
    {
        Command::Send {
            to: To::many(to.into_iter().map(Into::into).collect()),
            msg: msg.into(),
        }
    }

    /// Call `on_timer(key)` once, after `delay`.
    ///
    /// ```
    /// use ratchet::Command;
    /// use std::time::Duration;
    ///
    /// let tick = Command::every(Duration::from_secs(1), 1);
    /// assert!(matches!(tick, Command::Timer { key: 1, every: Some(_), .. }));
    /// ```
    pub fn after(delay: Duration, key: u64) -> Self {
        Command::Timer {
            key,
            after: delay,
            every: None,
            scope: TimerScope::default(),
        }
    }

    /// Call `on_timer(key)` every `period`, starting one period from now.
    pub fn every(period: Duration, key: u64) -> Self {
        Command::Timer {
            key,
            after: period,
            every: Some(period),
            scope: TimerScope::default(),
        }
    }

    /// Subscribe `conn` to `topic`.
    ///
    /// ```
    /// use ratchet::{Command, ConnId};
    ///
    /// let alice = ConnId::from_raw(1);
    /// let cmds = [
    ///     Command::subscribe(alice, "lobby"),
    ///     Command::publish_except("lobby", "alice joined", alice),
    /// ];
    /// # let _ = cmds;
    /// ```
    pub fn subscribe(conn: impl Into<ConnId>, topic: impl Into<Topic>) -> Self {
        Command::Subscribe {
            conn: conn.into(),
            topic: topic.into(),
        }
    }

    /// Subscribe `conn` to `topic`, first sending it what it missed since `since`: see
    /// [`history`](crate::history).
    pub fn recover(
        conn: impl Into<ConnId>,
        topic: impl Into<Topic>,
        since: Option<crate::offset::Offset>,
    ) -> Self {
        Command::Recover {
            conn: conn.into(),
            topic: topic.into(),
            since,
        }
    }

    /// Unsubscribe `conn` from `topic`.
    pub fn unsubscribe(conn: impl Into<ConnId>, topic: impl Into<Topic>) -> Self {
        Command::Unsubscribe {
            conn: conn.into(),
            topic: topic.into(),
        }
    }

    /// Send `msg` to every subscriber of `topic`.
    pub fn publish(topic: impl Into<Topic>, msg: impl Into<Payload>) -> Self {
        Command::Publish {
            topic: topic.into(),
            msg: msg.into(),
            except: None,
        }
    }

    /// Send `msg` to every subscriber of `topic` but `except`.
    pub fn publish_except(
        topic: impl Into<Topic>,
        msg: impl Into<Payload>,
        except: impl Into<ConnId>,
    ) -> Self {
        Command::Publish {
            topic: topic.into(),
            msg: msg.into(),
            except: Some(except.into()),
        }
    }

    /// Opens an outbound WebSocket connection to `url` (`ws://` or `wss://`), known to the
    /// application by `key` ([`Conn::outbound`](crate::Conn::outbound)); see
    /// [`client`](crate::client).
    ///
    /// ```
    /// use ratchet::Command;
    ///
    /// let cmd = Command::connect("ws://127.0.0.1:9001/feed", 7);
    /// assert!(matches!(cmd, Command::Connect { key: 7, .. }));
    /// ```
    pub fn connect(url: impl Into<String>, key: u64) -> Self {
        Self::connect_with(crate::outbound::Connect::new(url), key)
    }

    /// Opens an outbound connection with these settings (subprotocols, headers,
    /// compression, reconnecting...).
    pub fn connect_with(connect: crate::outbound::Connect, key: u64) -> Self {
        Command::Connect {
            key,
            connect: Arc::new(connect),
            scope: TimerScope::default(),
        }
    }

    /// Stops reconnecting the outbound connection `key`.
    pub fn cancel_connect(key: u64) -> Self {
        Command::CancelConnect {
            key,
            scope: TimerScope::default(),
        }
    }

    /// Stop timer `key`.
    pub fn cancel_timer(key: u64) -> Self {
        Command::CancelTimer {
            key,
            scope: TimerScope::default(),
        }
    }

    /// Close a connection.
    pub fn close(conn: impl Into<ConnId>, code: CloseCode, reason: impl Into<String>) -> Self {
        Command::Close {
            conn: conn.into(),
            code,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_stack_route_indices() {
        let root = TimerScope::default();
        assert_eq!(root.pop(), None);
        assert_eq!(root.depth(), 0);
        let inner = root.push(254).push(0);
        assert_eq!(inner.depth(), 2);
        let (outer, rest) = inner.pop().unwrap();
        assert_eq!((outer, rest.pop()), (0, Some((254, root))));
        let mut deep = root;
        for i in 0..TimerScope::MAX_DEPTH {
            deep = deep.push(i);
        }
        assert_eq!(deep.depth(), TimerScope::MAX_DEPTH);
        assert!(std::panic::catch_unwind(|| deep.push(1)).is_err());
    }

    #[test]
    fn single_recipient_is_one() {
        let a = ConnId::from_raw(1);
        assert_eq!(Command::send_to([a], "x"), Command::send(a, "x"));
    }
}
