//! Topics: who is subscribed to what, in this process. The server changes it as it
//! carries out `Subscribe`, `Unsubscribe` and closes; the application reads it through
//! [`Handle::topics`](crate::Handle::topics).

use crate::command::Topic;
use crate::conn::ConnId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Read access to this process's topics: how many subscribe to a room, who, and which
/// rooms a connection is in. Membership changes only through commands
/// ([`Conn::subscribe`](crate::Conn::subscribe), closes); what a handler reads is the
/// membership before the commands it returns are carried out.
///
/// Cheap to clone; any thread may read it.
///
/// ```
/// use ratchet::testing::Tester;
/// use ratchet::{Commands, Component, Conn, Handle, IntoCommands, Message, Topics};
///
/// #[derive(Default)]
/// struct Rooms {
///     topics: Option<Topics>,
/// }
///
/// impl Component for Rooms {
///     fn on_start(&mut self, handle: &Handle) -> impl IntoCommands {
///         self.topics = Some(handle.topics());
///         Commands::none()
///     }
///     fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
///         let room = msg.as_text().unwrap_or("lobby");
///         let here = self.topics.as_ref().map_or(0, |t| t.count(room));
///         Commands::from(from.subscribe(room)).and(from.send(format!("{here} already in {room}")))
///     }
/// }
///
/// let mut t = Tester::new(Rooms::default());
/// let (ann, _) = t.open();
/// let (bob, _) = t.open();
/// assert_eq!(t.message(&ann, "kitchen").sent_to(&ann), ["0 already in kitchen"]);
/// assert_eq!(t.message(&bob, "kitchen").sent_to(&bob), ["1 already in kitchen"]);
/// assert_eq!(t.handle().topics().members("kitchen"), [ann.id(), bob.id()]);
/// ```
#[derive(Clone, Default)]
pub struct Topics {
    subscribers: Arc<RwLock<HashMap<Topic, Vec<ConnId>>>>,
    subscriptions: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Topics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Topics({} with subscribers)", self.read().len())
    }
}

impl Topics {
    /// How many connections of this process subscribe to `topic`.
    pub fn count(&self, topic: &str) -> usize {
        self.read().get(topic).map_or(0, Vec::len)
    }

    /// The connections of this process that subscribe to `topic`, in order.
    pub fn members(&self, topic: &str) -> Vec<ConnId> {
        let mut ids = self.read().get(topic).cloned().unwrap_or_default();
        ids.sort_unstable();
        ids
    }

    /// Whether `conn` subscribes to `topic`.
    pub fn contains(&self, topic: &str, conn: impl Into<ConnId>) -> bool {
        let conn = conn.into();
        self.read()
            .get(topic)
            .is_some_and(|ids| ids.contains(&conn))
    }

    /// The topics `conn` subscribes to, in order (this looks through every
    /// subscription).
    pub fn of(&self, conn: impl Into<ConnId>) -> Vec<Topic> {
        let conn = conn.into();
        let mut topics: Vec<Topic> = self
            .read()
            .iter()
            .filter(|(_, ids)| ids.contains(&conn))
            .map(|(topic, _)| topic.clone())
            .collect();
        topics.sort_unstable();
        topics
    }

    /// How many topics have a subscriber here.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether no topic has a subscriber here.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// How many subscriptions there are here, over every topic.
    pub fn subscriptions(&self) -> usize {
        self.subscriptions.load(Ordering::Relaxed)
    }

    /// Every topic with a subscriber here, in order.
    pub fn names(&self) -> Vec<Topic> {
        let mut names: Vec<Topic> = self.read().keys().cloned().collect();
        names.sort_unstable();
        names
    }

    fn read(&self) -> RwLockReadGuard<'_, HashMap<Topic, Vec<ConnId>>> {
        self.subscribers.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<Topic, Vec<ConnId>>> {
        self.subscribers.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `conn` to `topic`'s subscribers (the caller checked it was not there);
    /// whether it is the first.
    pub(crate) fn join(&self, conn: ConnId, topic: Topic) -> bool {
        let mut all = self.write();
        let subscribers = all.entry(topic).or_default();
        subscribers.push(conn);
        self.subscriptions.fetch_add(1, Ordering::Relaxed);
        subscribers.len() == 1
    }

    /// Takes `conn` out of `topic`'s subscribers; whether it was the last.
    pub(crate) fn leave(&self, conn: ConnId, topic: &str) -> bool {
        let mut all = self.write();
        let Some(subscribers) = all.get_mut(topic) else {
            return false;
        };
        if let Some(at) = subscribers.iter().position(|id| *id == conn) {
            subscribers.swap_remove(at);
            self.subscriptions.fetch_sub(1, Ordering::Relaxed);
        }
        let emptied = subscribers.is_empty();
        if emptied {
            all.remove(topic);
        }
        emptied
    }

    /// `topic`'s subscribers but `except`, into `into` (cleared first).
    pub(crate) fn recipients(&self, topic: &str, except: Option<ConnId>, into: &mut Vec<ConnId>) {
        into.clear();
        if let Some(subscribers) = self.read().get(topic) {
            into.extend(subscribers.iter().filter(|id| Some(**id) != except));
        }
    }
}
