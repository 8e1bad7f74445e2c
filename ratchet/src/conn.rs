//! Connections as the application sees them: an id to address, a peer, and the request
//! that opened it.

use crate::command::{Command, To};
pub use crate::id::ConnId;
use crate::message::Payload;
pub use crate::request::Request;
use crate::CloseCode;
use std::any::Any;
use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

/// A connection, as handed to the application's handlers.
///
/// Cheap to clone. Handlers do no I/O: `conn.send(..)` and `conn.close()` *return*
/// commands for the server to carry out.
#[derive(Debug, Clone)]
pub struct Conn {
    id: ConnId,
    peer: SocketAddr,
    request: Option<Arc<Request>>,
    subprotocol: Option<Arc<str>>,
    buffered: usize,
    extensions: Extensions,
}

/// Typed values that decorators attach to a connection for the application (the session
/// decorator attaches the session), one per type. A connection without any holds one
/// pointer's worth.
#[derive(Clone, Default)]
// Boxed: one word in every connection's state, the vector only for those that have values.
#[allow(clippy::box_collection)]
pub struct Extensions(Option<Box<Vec<Arc<dyn Any + Send + Sync>>>>);

impl Extensions {
    /// Attaches `value`, replacing any earlier value of its type.
    pub fn insert<T: Any + Send + Sync>(&mut self, value: T) {
        self.insert_shared(Arc::new(value));
    }

    /// Attaches a value shared with other connections (one copy for all of them),
    /// replacing any earlier value of its type.
    pub fn insert_shared<T: Any + Send + Sync>(&mut self, value: Arc<T>) {
        let values = self.0.get_or_insert_default();
        values.retain(|v| !v.is::<T>());
        values.push(value);
    }

    /// The value of type `T`, if one is attached.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.values().iter().find_map(|v| v.downcast_ref::<T>())
    }

    /// Detaches the value of type `T`, if one is attached; a clone if others share it.
    pub fn take<T: Any + Send + Sync + Clone>(&mut self) -> Option<T> {
        let values = self.0.as_mut()?;
        let at = values.iter().position(|v| v.is::<T>())?;
        let value = values.swap_remove(at);
        if values.is_empty() {
            self.0 = None;
        }
        value.downcast_ref::<T>().cloned()
    }

    fn values(&self) -> &[Arc<dyn Any + Send + Sync>] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }
}

/// The key of an outbound connection, attached to it (extensions cost nothing to the
/// connections without them).
#[derive(Debug, Clone, Copy)]
struct Outbound(u64);

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Extensions({} attached)", self.values().len())
    }
}

impl Conn {
    /// A connection handle (the server makes these; tests may too).
    pub fn new(id: ConnId, peer: SocketAddr, request: Option<Request>) -> Self {
        Conn {
            id,
            peer,
            request: request.map(Arc::new),
            subprotocol: None,
            buffered: 0,
            extensions: Extensions::default(),
        }
    }

    /// A connection opened by a request shared with the decorators that read it.
    pub(crate) fn with_shared_request(id: ConnId, peer: SocketAddr, request: Arc<Request>) -> Self {
        Conn {
            request: Some(request),
            ..Conn::new(id, peer, None)
        }
    }

    /// The same connection, with `value` attached (see [`Conn::extension`]).
    #[must_use]
    pub fn with_extension<T: Any + Send + Sync>(mut self, value: T) -> Self {
        self.extensions.insert(value);
        self
    }

    /// A value a decorator attached to this connection, by type.
    pub fn extension<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.extensions.get()
    }

    /// The values attached to this connection, for decorators to add to.
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.extensions
    }

    /// The stable id.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// The peer's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The request that opened the connection, once the protocol has one.
    pub fn request(&self) -> Option<&Request> {
        self.request.as_deref()
    }

    /// The same connection, speaking `subprotocol`.
    #[must_use]
    pub fn with_subprotocol(mut self, subprotocol: Option<String>) -> Self {
        self.subprotocol = subprotocol.map(Into::into);
        self
    }

    /// The subprotocol chosen at the handshake (`Sec-WebSocket-Protocol`), if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// For a connection this server made ([`Command::connect`]), the key the application
    /// gave it; `None` for one it accepted.
    pub fn outbound(&self) -> Option<u64> {
        self.extensions.get::<Outbound>().map(|o| o.0)
    }

    /// Whether this server made the connection ([`Conn::outbound`]).
    pub fn is_outbound(&self) -> bool {
        self.outbound().is_some()
    }

    /// The same connection, made by this server for the application's `key`.
    #[must_use]
    pub fn with_outbound(self, key: u64) -> Self {
        self.with_extension(Outbound(key))
    }

    /// The request path, or `""` if there was no request.
    pub fn path(&self) -> &str {
        self.request().map_or("", Request::path)
    }

    /// A cookie from the opening request.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.request()?.cookie(name)
    }

    /// Bytes sent to this connection that it had not taken yet when the current event
    /// began (the counterpart of a browser's `bufferedAmount`): a client that falls
    /// behind shows here before the server's `max_pending_output` policy acts.
    pub fn buffered_amount(&self) -> usize {
        self.buffered
    }

    pub(crate) fn set_buffered_amount(&mut self, bytes: usize) {
        self.buffered = bytes;
    }

    /// A command sending `msg` to this connection.
    pub fn send(&self, msg: impl Into<Payload>) -> Command {
        Command::send(self.id, msg)
    }

    /// A command subscribing this connection to `topic`.
    pub fn subscribe(&self, topic: impl Into<crate::Topic>) -> Command {
        Command::subscribe(self.id, topic)
    }

    /// A command subscribing this connection to `topic` and first sending it what it
    /// missed of the topic's history since `since`, an offset its client kept (see
    /// [`history`](crate::history)); an offset that does not parse counts as none.
    ///
    /// ```
    /// use ratchet::{Command, Conn};
    ///
    /// fn on_open(conn: &Conn) -> Command {
    ///     // ws://host/chat?since=1733000000000-4
    ///     let since = conn.request().and_then(|r| r.query_param("since"));
    ///     conn.recover("chat", since.as_deref())
    /// }
    /// # let _ = on_open;
    /// ```
    pub fn recover(&self, topic: impl Into<crate::Topic>, since: Option<&str>) -> Command {
        Command::recover(self.id, topic, since.and_then(|s| s.parse().ok()))
    }

    /// A command making this connection a member of `topic`'s
    /// [presence](crate::presence) (and a subscriber), introduced by `info`.
    pub fn present(&self, topic: impl Into<crate::Topic>, info: impl Into<String>) -> Command {
        Command::Present {
            conn: self.id,
            topic: topic.into(),
            info: info.into(),
        }
    }

    /// A command sending this connection who is present in `topic`, in every process
    /// (see [`presence`](crate::presence)).
    pub fn presence(&self, topic: impl Into<crate::Topic>) -> Command {
        Command::Presence {
            conn: self.id,
            topic: topic.into(),
        }
    }

    /// A command unsubscribing this connection from `topic`.
    pub fn unsubscribe(&self, topic: impl Into<crate::Topic>) -> Command {
        Command::unsubscribe(self.id, topic)
    }

    /// A command closing this connection normally (1000).
    pub fn close(&self) -> Command {
        Command::close(self.id, CloseCode::Normal, "")
    }

    /// A command closing this connection with a code and a reason.
    pub fn close_with(&self, code: CloseCode, reason: impl Into<String>) -> Command {
        Command::close(self.id, code, reason)
    }
}

impl PartialEq for Conn {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Conn {}

impl From<&Conn> for ConnId {
    fn from(conn: &Conn) -> Self {
        conn.id
    }
}

/// A set of connections, the Rust counterpart of Ratchet's `SplObjectStorage` of clients.
///
/// Iterates in a stable order (by id), so commands built from it are deterministic.
///
/// ```
/// use ratchet::{Command, ConnId, ConnSet};
///
/// let mut clients = ConnSet::new();
/// let (a, b, c) = (ConnId::from_raw(1), ConnId::from_raw(2), ConnId::from_raw(3));
/// for id in [a, b, c] {
///     clients.insert(id);
/// }
/// let cmd = clients.except(a).send("hello");
/// assert_eq!(cmd, Command::send_to([b, c], "hello"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnSet {
    ids: BTreeSet<ConnId>,
}

impl ConnSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a connection; returns whether it was new.
    pub fn insert(&mut self, conn: impl Into<ConnId>) -> bool {
        self.ids.insert(conn.into())
    }

    /// Removes a connection; returns whether it was there.
    pub fn remove(&mut self, conn: impl Into<ConnId>) -> bool {
        self.ids.remove(&conn.into())
    }

    /// Whether the connection is in the set.
    pub fn contains(&self, conn: impl Into<ConnId>) -> bool {
        self.ids.contains(&conn.into())
    }

    /// How many connections.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The ids, in order.
    pub fn iter(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.ids.iter().copied()
    }

    /// Everyone in the set but `conn`, ready to `send` to.
    pub fn except(&self, conn: impl Into<ConnId>) -> Recipients {
        let skip = conn.into();
        Recipients(self.ids.iter().copied().filter(|&id| id != skip).collect())
    }

    /// Everyone in the set, ready to `send` to.
    pub fn all(&self) -> Recipients {
        Recipients(self.ids.iter().copied().collect())
    }

    /// A command sending `msg` to everyone in the set.
    pub fn send(&self, msg: impl Into<Payload>) -> Command {
        self.all().send(msg)
    }
}

impl<'a> IntoIterator for &'a ConnSet {
    type Item = ConnId;
    type IntoIter = std::iter::Copied<std::collections::btree_set::Iter<'a, ConnId>>;
    fn into_iter(self) -> Self::IntoIter {
        self.ids.iter().copied()
    }
}

/// A chosen group of connections (see [`ConnSet::except`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipients(Vec<ConnId>);

impl Recipients {
    /// A command sending one shared payload to every recipient.
    pub fn send(self, msg: impl Into<Payload>) -> Command {
        Command::Send {
            to: To::many(self.0),
            msg: msg.into(),
        }
    }

    /// A command closing every recipient with `code` and `reason`.
    pub fn close(self, code: CloseCode, reason: &str) -> crate::Commands {
        self.0
            .into_iter()
            .map(|id| Command::close(id, code, reason))
            .collect()
    }

    /// The ids.
    pub fn ids(&self) -> &[ConnId] {
        &self.0
    }
}
