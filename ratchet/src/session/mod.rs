//! Sessions of the web application beside the socket, read from Redis by cookie
//! (Ratchet's `SessionProvider`).
//!
//! ```no_run
//! use ratchet::session::{Format, Missing, Session};
//! use ratchet::prelude::*;
//!
//! struct Chat;
//! impl Component for Chat {
//!     fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
//!         let user: Option<String> = conn.session().and_then(|s| s.get("user"));
//!         conn.send(format!("hello {}", user.as_deref().unwrap_or("stranger")))
//!     }
//!     fn on_message(&mut self, _: &Conn, _: Message<'_>) -> impl IntoCommands {
//!         Commands::none()
//!     }
//! }
//!
//! // PHP with session.save_handler=redis writes PHPREDIS_SESSION:<id>; the browser sends
//! // the id in its PHPSESSID cookie.
//! let chat = Session::new(WebSocket::new(Chat), "redis://127.0.0.1:6379/")
//!     .format(Format::Php)
//!     .on_missing(Missing::Reject(401));
//! Server::new(chat).bind("127.0.0.1:8080")?.run()
//! # ; Ok::<(), std::io::Error>(())
//! ```
//!
//! The lookup never blocks the event loop: a connection with a session cookie waits in
//! its handshake while a worker thread asks Redis, and every other connection carries on.
//! Lookups run concurrently: a few workers, each asking for every waiting session in one
//! pipelined round trip; connections presenting the same id at once share one lookup and
//! one decoded copy (as do later ones while a copy is alive and the stored bytes are the
//! same). Each lookup has a deadline ([`Session::lookup_timeout`]); one whose connection
//! ends or gives up is forgotten. Stored sessions over [`Session::max_size`] are refused
//! without being read whole.
//!
//! The session is read once, at the handshake, and is read-only: the application sees it
//! on `conn.session()` ([`SessionExt`], in the prelude).
//!
//! `Session` wraps the protocol that hands the application its `Conn` (the
//! [`WebSocket`](crate::WebSocket) decorator); behind a [`Router`](crate::Router), wrap
//! the route's protocol, `.route("/chat", Session::new(WebSocket::new(chat), url))`.

mod counts;
mod decode;
mod store;

pub use decode::{DecodeError, Format, SessionData};

use crate::conn::{Conn, ConnId};
use crate::error::ConfigError;
use crate::handle::Handle;
use crate::http::{refuse, request, Head};
use crate::protocol::{Limits, Outbox, Protocol};
use crate::request::Request;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{Found, Settings, Store};

/// What happens to a connection without a usable session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// It opens without a session (`conn.session()` is `None`).
    Anonymous,
    /// Its handshake is refused with this status (a 4xx: 401 or 403) and the reason. If
    /// the session store cannot be reached in time, the status is 503.
    Reject(u16),
}

/// The session a [`Session`] decorator attached to a connection: `conn.session()`.
pub trait SessionExt {
    /// The session loaded for this connection, if any.
    fn session(&self) -> Option<&SessionData>;
}

impl SessionExt for Conn {
    fn session(&self) -> Option<&SessionData> {
        self.extension()
    }
}

/// A decorator that loads the session named by a cookie from Redis before the
/// connection opens, and attaches it to the application's [`Conn`].
/// See the [module](self).
#[derive(Debug)]
pub struct Session<P> {
    inner: P,
    url: String,
    cookie: String,
    prefix: String,
    format: Format,
    missing: Missing,
    max_size: usize,
    max_head_size: usize,
    lookup_timeout: Duration,
    workers: usize,
    store: Option<Store>,
    handle: Option<Handle>,
    /// Lookups by outcome, and how long they took, for a scrape.
    counts: counts::Counts,
}

/// A connection's state under [`Session`].
#[derive(Debug)]
pub struct SessionState<S> {
    inner: S,
    phase: Phase,
}

#[derive(Debug)]
enum Phase {
    /// Before the request head.
    Start,
    /// Asked the store; waiting for the answer (or the deadline).
    Waiting(Waiting),
    /// Decided: the inner protocol has the connection.
    Open,
}

#[derive(Debug)]
struct Waiting {
    key: String,
    /// The request head, parsed once, handed on when the answer comes.
    request: Arc<Request>,
    head_len: usize,
    /// When the lookup was asked for, and when it is given up.
    asked: Instant,
    until: Instant,
    /// The inner protocol's own deadline, restored once decided.
    inner_deadline: Option<Instant>,
}

impl<P: Protocol> Session<P> {
    /// Wraps `inner`, reading sessions from the Redis at `url` with PHP's defaults:
    /// cookie `PHPSESSID`, keys `PHPREDIS_SESSION:<id>`, format [`Format::Php`], and
    /// [`Missing::Anonymous`].
    pub fn new(inner: P, url: impl Into<String>) -> Self {
        Session {
            inner,
            url: url.into(),
            cookie: "PHPSESSID".into(),
            prefix: "PHPREDIS_SESSION:".into(),
            format: Format::Php,
            missing: Missing::Anonymous,
            max_size: 64 << 10,
            max_head_size: 8 << 10,
            lookup_timeout: Duration::from_secs(2),
            workers: 2,
            store: None,
            handle: None,
            counts: counts::Counts::default(),
        }
    }

    /// The cookie holding the session id. Default: `PHPSESSID`.
    #[must_use]
    pub fn cookie(mut self, name: impl Into<String>) -> Self {
        self.cookie = name.into();
        self
    }

    /// The prefix of the Redis keys. Default: `PHPREDIS_SESSION:` (phpredis's).
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How sessions are stored. Default: [`Format::Php`].
    #[must_use]
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// What happens without a usable session. Default: [`Missing::Anonymous`]. A
    /// [`Missing::Reject`] status that is not a 4xx is refused when the server starts.
    #[must_use]
    pub fn on_missing(mut self, missing: Missing) -> Self {
        self.missing = missing;
        self
    }

    /// Largest stored session read, in bytes: a larger one is refused (as missing, with
    /// the reason logged) without being read whole. Its decoded copy is shared by every
    /// connection presenting it. Default: 64 KiB.
    #[must_use]
    pub fn max_size(mut self, bytes: usize) -> Self {
        self.max_size = bytes;
        self
    }

    /// How long a lookup may take, connecting to Redis included, before the store counts
    /// as unavailable for that connection. Default: 2 s.
    #[must_use]
    pub fn lookup_timeout(mut self, timeout: Duration) -> Self {
        self.lookup_timeout = timeout;
        self
    }

    /// How many threads ask Redis (each with its own connection, each asking for every
    /// waiting lookup in one round trip). Default: 2.
    #[must_use]
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }

    /// Decided: the inner protocol takes the connection (and its request, parsed once).
    fn open(
        &mut self,
        state: &mut SessionState<P::ConnState>,
        data: &mut [u8],
        out: &mut Outbox<'_>,
    ) -> usize {
        state.phase = Phase::Open;
        self.inner.data(&mut state.inner, data, out)
    }

    /// Without a usable session: open anonymous, or refuse with the reason.
    fn without(
        &mut self,
        state: &mut SessionState<P::ConnState>,
        data: &mut [u8],
        unavailable: bool,
        reason: &str,
        out: &mut Outbox<'_>,
    ) -> usize {
        match self.missing {
            Missing::Anonymous => {
                log::debug!(
                    "connection {} opens without a session: {reason}",
                    out.conn()
                );
                self.open(state, data, out)
            }
            Missing::Reject(status) => {
                let status = if unavailable { 503 } else { status };
                refuse(out, status, reason, data)
            }
        }
    }

    /// The request head is here: ask for its session, if it names one.
    fn ask(
        &mut self,
        state: &mut SessionState<P::ConnState>,
        data: &mut [u8],
        out: &mut Outbox<'_>,
    ) -> usize {
        let (req, head_len) = match request(out, data, self.max_head_size) {
            Head::Partial => return 0,
            // The inner protocol refuses malformed heads with its own reasons.
            Head::Bad(..) => return self.open(state, data, out),
            Head::Complete(req, len) => (req, len),
        };
        let Some(id) = req.cookie(&self.cookie).map(str::to_owned) else {
            return self.without(state, data, false, "no session cookie", out);
        };
        if !valid_id(&id) {
            return self.without(state, data, false, "malformed session id", out);
        }
        let Some(store) = &self.store else {
            return self.without(state, data, true, "session store not started", out);
        };
        let key = format!("{}{id}", self.prefix);
        store.ask(out.conn(), key.clone());
        let until = out.after(self.lookup_timeout);
        let inner_deadline = out.deadline();
        out.set_deadline(Some(inner_deadline.map_or(until, |d| d.min(until))));
        state.phase = Phase::Waiting(Waiting {
            key,
            request: req,
            head_len,
            asked: out.now(),
            until,
            inner_deadline,
        });
        0
    }
}

/// Whether `id` looks like a PHP session id (`[A-Za-z0-9,-]`, at most 256).
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 256
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b',' || b == b'-')
}

impl<P: Protocol> Protocol for Session<P> {
    type ConnState = SessionState<P::ConnState>;

    fn limits(&self) -> Result<Limits, ConfigError> {
        if let Missing::Reject(status) = self.missing {
            if !(400..500).contains(&status) {
                return Err(ConfigError::new(format!(
                    "session: Missing::Reject({status}) must be a 4xx status, such as 401 or 403"
                )));
            }
        }
        redis::Client::open(self.url.as_str())
            .map_err(|e| ConfigError::new(format!("session: bad Redis URL {}: {e}", self.url)))?;
        if self.workers == 0 {
            return Err(ConfigError::new("session: workers must be at least 1"));
        }
        Ok(self
            .inner
            .limits()?
            .max(Limits::default().with_unconsumed(self.max_head_size)))
    }

    fn connect(&mut self, id: ConnId, peer: SocketAddr, out: &mut Outbox<'_>) -> Self::ConnState {
        SessionState {
            inner: self.inner.connect(id, peer, out),
            phase: Phase::Start,
        }
    }

    fn dial(
        &mut self,
        id: ConnId,
        dial: &crate::protocol::Dial,
        peer: SocketAddr,
        out: &mut Outbox<'_>,
    ) -> Option<Self::ConnState> {
        // A connection this server makes carries no visitor's session.
        Some(SessionState {
            inner: self.inner.dial(id, dial, peer, out)?,
            phase: Phase::Open,
        })
    }

    fn data(
        &mut self,
        state: &mut Self::ConnState,
        data: &mut [u8],
        out: &mut Outbox<'_>,
    ) -> usize {
        let waiting = match &state.phase {
            Phase::Open => return self.inner.data(&mut state.inner, data, out),
            Phase::Start => return self.ask(state, data, out),
            Phase::Waiting(waiting) => waiting,
        };
        let found = self.store.as_ref().and_then(|s| s.take(out.conn()));
        let Some(found) = found else {
            return 0; // still waiting
        };
        out.set_deadline(waiting.inner_deadline);
        out.share_request(data, waiting.request.clone(), waiting.head_len);
        let took = out.now().saturating_duration_since(waiting.asked);
        self.counts.answered(&found, took);
        match found {
            Found::Session(session) => {
                if let Some(extensions) = self.inner.extensions(&mut state.inner) {
                    extensions.insert_shared(session);
                }
                self.open(state, data, out)
            }
            Found::Missing(why) => self.without(state, data, false, &why, out),
            Found::Unavailable(why) => self.without(state, data, true, &why, out),
        }
    }

    fn timeout(&mut self, state: &mut Self::ConnState, out: &mut Outbox<'_>) {
        if let Phase::Waiting(waiting) = &state.phase {
            if out.now() >= waiting.until {
                // Given up: answered as unavailable, through the same path as an answer.
                log::warn!(
                    "sessions: no answer for connection {} in {:?}",
                    out.conn(),
                    self.lookup_timeout
                );
                if let Some(store) = &self.store {
                    store.cancel(out.conn(), &waiting.key);
                    store.answer(
                        out.conn(),
                        Found::Unavailable("session store did not answer in time".into()),
                    );
                }
                out.set_deadline(waiting.inner_deadline);
                if let Some(handle) = &self.handle {
                    let _ = handle.wake(out.conn());
                }
                return;
            }
        }
        self.inner.timeout(&mut state.inner, out);
    }

    fn disconnect(&mut self, state: Self::ConnState, out: &mut Outbox<'_>) {
        if let (Phase::Waiting(waiting), Some(store)) = (&state.phase, &self.store) {
            store.cancel(out.conn(), &waiting.key);
        }
        self.inner.disconnect(state.inner, out);
    }

    fn awaits_request(&self, state: &Self::ConnState) -> bool {
        match state.phase {
            Phase::Start | Phase::Waiting(_) => true,
            Phase::Open => self.inner.awaits_request(&state.inner),
        }
    }

    fn start(&mut self, handle: &Handle) -> crate::Commands {
        self.handle = Some(handle.clone());
        match redis::Client::open(self.url.as_str()) {
            Ok(client) => {
                let settings = Settings {
                    format: self.format,
                    max_size: self.max_size,
                    timeout: self.lookup_timeout,
                };
                match Store::start(client, settings, self.workers, handle) {
                    Ok(store) => self.store = Some(store),
                    Err(e) => log::error!("sessions: cannot start the lookup threads: {e}"),
                }
            }
            Err(e) => log::error!("sessions: bad Redis URL {}: {e}", self.url),
        }
        self.inner.start(handle)
    }

    fn metrics(&self, e: &mut crate::exposition::Exposition) {
        self.inner.metrics(e);
        self.counts.write(e);
    }

    crate::delegate_protocol!(inner, state.inner;
        except limits, connect, dial, data, timeout, disconnect, awaits_request, start,
            metrics);
}

/// Several workers: each gets the same settings around its copy of the stack, and looks
/// sessions up with its own store (started with the worker).
impl<P: crate::workers::Split> crate::workers::Split for Session<P> {
    type Worker = Session<P::Worker>;

    fn split(self, apps: &mut crate::workers::Apps) -> crate::workers::Replica<Self::Worker> {
        let inner = self.inner.split(apps);
        let Session {
            url,
            cookie,
            prefix,
            format,
            missing,
            max_size,
            max_head_size,
            lookup_timeout,
            workers,
            ..
        } = self;
        Box::new(move |uplink| Session {
            inner: inner(uplink),
            url: url.clone(),
            cookie: cookie.clone(),
            prefix: prefix.clone(),
            format,
            missing,
            max_size,
            max_head_size,
            lookup_timeout,
            workers,
            store: None,
            handle: None,
            counts: counts::Counts::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_checked() {
        assert!(valid_id("ab12-CD,x"));
        for bad in ["", "a b", "a;b", "../x", &"a".repeat(257)] {
            assert!(!valid_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_rejection_must_be_a_client_error() {
        let line = crate::Line::new(Nothing);
        let session = Session::new(line, "redis://127.0.0.1:1/").on_missing(Missing::Reject(200));
        let err = session.limits().unwrap_err().to_string();
        assert!(err.contains("4xx"), "{err}");
        let session = Session::new(crate::Line::new(Nothing), "not a url");
        assert!(session.limits().is_err());
    }

    struct Nothing;
    impl crate::Component for Nothing {
        fn on_message(&mut self, _: &Conn, _: crate::Message<'_>) -> impl crate::IntoCommands {}
    }
}
