//! Sessions of the web application beside the socket, read from Redis by cookie
//! (Ratchet's `SessionProvider`).
//!
//! ```no_run
//! use ratchet::session::{Format, Missing, Session};
//! use ratchet::prelude::*;
//!
//! struct Chat;
//! impl Component for Chat {
//!     fn on_open(&mut self, conn: &Conn) -> Commands {
//!         let user: Option<String> = conn.session().and_then(|s| s.get("user"));
//!         conn.send(format!("hello {}", user.as_deref().unwrap_or("stranger"))).into()
//!     }
//!     fn on_message(&mut self, _: &Conn, _: Message<'_>) -> Commands {
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
//! The session is read once, at the handshake, and is read-only: the application sees it
//! on [`Conn::session`](crate::Conn::session).
//!
//! `Session` wraps the protocol that hands the application its `Conn` (the
//! [`WebSocket`](crate::WebSocket) decorator): behind a [`Router`](crate::Router), wrap
//! the route's protocol, `.route("/chat", Session::new(WebSocket::new(chat), url))`.

use crate::conn::{find_cookie, ConnId};
use crate::http::{parse_head, refuse, Head};
use crate::protocol::{Outbox, Protocol};
use crate::server::Handle;
use phpserz::{PhpParser, PhpToken};
use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};
use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a session is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// PHP's default `session.serialize_handler = php`: `key|value` pairs, each value in
    /// PHP's `serialize()` format.
    Php,
    /// `session.serialize_handler = php_serialize`: one `serialize()`d array.
    PhpSerialize,
    /// A JSON object.
    Json,
}

/// What happens to a connection without a usable session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// It opens without a session ([`Conn::session`](crate::Conn::session) is `None`).
    Anonymous,
    /// Its handshake is refused with this status (401 or 403) and the reason. If the
    /// session store cannot be reached, the status is 503.
    Reject(u16),
}

/// A session, decoded: read-only, typed access by key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionData {
    values: Map<String, Value>,
}

impl SessionData {
    /// The value under `key` as a `T` (a `String`, a number, a struct with
    /// `Deserialize`...), or `None` if it is missing or of another shape.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        T::deserialize(self.values.get(key)?).ok()
    }

    /// The value under `key`, as decoded.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    /// The keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Decodes a stored session.
    ///
    /// ```
    /// use ratchet::session::{Format, SessionData};
    ///
    /// let s = SessionData::decode(Format::Php, br#"user|s:5:"alice";visits|i:3;"#).unwrap();
    /// assert_eq!(s.get::<String>("user").as_deref(), Some("alice"));
    /// assert_eq!(s.get::<u32>("visits"), Some(3));
    /// ```
    pub fn decode(format: Format, bytes: &[u8]) -> Result<Self, DecodeError> {
        let values = match format {
            Format::Php => decode_php(bytes)?,
            Format::PhpSerialize => match decode_serialized(bytes)? {
                Value::Object(map) => map,
                Value::Array(list) if list.is_empty() => Map::new(),
                _ => return Err(DecodeError::new("a php_serialize session is an array")),
            },
            Format::Json => match serde_json::from_slice(bytes) {
                Ok(Value::Object(map)) => map,
                Ok(_) => return Err(DecodeError::new("a JSON session is an object")),
                Err(e) => return Err(DecodeError(format!("bad JSON: {e}"))),
            },
        };
        Ok(SessionData { values })
    }
}

/// Why a stored session could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(String);

impl DecodeError {
    fn new(why: &str) -> Self {
        DecodeError(why.to_owned())
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

impl From<phpserz::Error> for DecodeError {
    fn from(e: phpserz::Error) -> Self {
        DecodeError(format!("bad PHP serialization: {e}"))
    }
}

/// Deepest nesting of arrays and objects decoded; deeper is refused.
const MAX_DEPTH: usize = 32;

/// `key|value key2|value2 ...` (values back to back, keys up to `|`).
fn decode_php(bytes: &[u8]) -> Result<Map<String, Value>, DecodeError> {
    let mut values = Map::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let bar = rest
            .iter()
            .position(|&b| b == b'|')
            .ok_or_else(|| DecodeError::new("a key without `|` and a value"))?;
        let key = String::from_utf8_lossy(&rest[..bar]).into_owned();
        let mut parser = PhpParser::new(&rest[bar + 1..]);
        let value = read_value(&mut parser, 0)?;
        rest = &rest[bar + 1 + parser.position()..];
        values.insert(key, value);
    }
    Ok(values)
}

/// One `serialize()`d value, and nothing after it.
fn decode_serialized(bytes: &[u8]) -> Result<Value, DecodeError> {
    let mut parser = PhpParser::new(bytes);
    let value = read_value(&mut parser, 0)?;
    if parser.position() != bytes.len() {
        return Err(DecodeError::new("bytes after the serialized value"));
    }
    Ok(value)
}

fn read_value(parser: &mut PhpParser<'_>, depth: usize) -> Result<Value, DecodeError> {
    let token = parser.read_token()?;
    value_of(token, parser, depth)
}

fn value_of(
    token: PhpToken<'_>,
    parser: &mut PhpParser<'_>,
    depth: usize,
) -> Result<Value, DecodeError> {
    Ok(match token {
        PhpToken::Null => Value::Null,
        PhpToken::Boolean(b) => Value::Bool(b),
        PhpToken::Integer(i) => Value::from(i),
        PhpToken::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        PhpToken::String(s) => Value::String(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        PhpToken::Array { elements } => read_entries(parser, elements, depth, false)?,
        PhpToken::Object { properties, .. } => read_entries(parser, properties, depth, true)?,
        PhpToken::CustomObject { .. } => {
            return Err(DecodeError::new(
                "custom-serialized objects are not supported",
            ))
        }
        PhpToken::Reference { .. } => return Err(DecodeError::new("references are not supported")),
        PhpToken::End => return Err(DecodeError::new("`}` where a value was expected")),
    })
}

/// The `count` key/value pairs of an array or object, then its `}`. Nothing is reserved
/// from `count`: a huge declared count fails when the input runs out, not in an
/// allocation.
fn read_entries(
    parser: &mut PhpParser<'_>,
    count: u32,
    depth: usize,
    object: bool,
) -> Result<Value, DecodeError> {
    if depth >= MAX_DEPTH {
        return Err(DecodeError(format!("nested deeper than {MAX_DEPTH}")));
    }
    let mut entries = Map::new();
    let mut sequential = !object;
    for index in 0..count {
        let key = match parser.read_token()? {
            PhpToken::Integer(i) => {
                sequential &= i == i64::from(index);
                i.to_string()
            }
            PhpToken::String(s) if object => s.to_property().to_str()?.to_owned(),
            PhpToken::String(s) => {
                sequential = false;
                String::from_utf8_lossy(s.as_bytes()).into_owned()
            }
            _ => return Err(DecodeError::new("an array key is an integer or a string")),
        };
        let value = read_value(parser, depth + 1)?;
        entries.insert(key, value);
    }
    if parser.read_token()? != PhpToken::End {
        return Err(DecodeError::new("more entries than declared"));
    }
    Ok(if sequential {
        Value::Array(entries.into_iter().map(|(_, v)| v).collect())
    } else {
        Value::Object(entries)
    })
}

/// What a lookup found.
#[derive(Debug)]
enum Found {
    Session(SessionData),
    /// No such key, or a value that is not a session.
    Missing(String),
    /// The store could not be asked.
    Unavailable(String),
}

/// A decorator that loads the session named by a cookie from Redis before the
/// connection opens, and attaches it to the application's [`Conn`](crate::Conn).
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
    lookups: Option<Sender<(ConnId, String)>>,
    found: Arc<Mutex<HashMap<ConnId, (Instant, Found)>>>,
}

/// A connection's state under [`Session`].
#[derive(Debug)]
pub struct SessionState<S> {
    inner: S,
    phase: Phase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the request head.
    Start,
    /// Asked the store; waiting for the worker to wake the connection.
    Waiting,
    /// Decided: the inner protocol has the connection.
    Open,
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
            max_size: 1 << 20,
            max_head_size: 8 << 10,
            lookups: None,
            found: Arc::default(),
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

    /// What happens without a usable session. Default: [`Missing::Anonymous`].
    #[must_use]
    pub fn on_missing(mut self, missing: Missing) -> Self {
        self.missing = missing;
        self
    }

    /// Largest stored session read, in bytes; larger counts as undecodable. Default: 1 MiB.
    #[must_use]
    pub fn max_size(mut self, bytes: usize) -> Self {
        self.max_size = bytes;
        self
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
                state.phase = Phase::Open;
                self.inner.data(&mut state.inner, data, out)
            }
            Missing::Reject(status) => {
                let status = if unavailable { 503 } else { status };
                refuse(out, status, reason, data)
            }
        }
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

    fn connect(&mut self, id: ConnId, peer: SocketAddr, out: &mut Outbox<'_>) -> Self::ConnState {
        SessionState {
            inner: self.inner.connect(id, peer, out),
            phase: Phase::Start,
        }
    }

    fn data(
        &mut self,
        state: &mut Self::ConnState,
        data: &mut [u8],
        out: &mut Outbox<'_>,
    ) -> usize {
        match state.phase {
            Phase::Open => return self.inner.data(&mut state.inner, data, out),
            Phase::Waiting => {
                let found = self
                    .found
                    .lock()
                    .expect("session results")
                    .remove(&out.conn())
                    .map(|(_, found)| found);
                return match found {
                    None => 0, // still waiting
                    Some(Found::Session(session)) => {
                        if let Some(extensions) = self.inner.extensions(&mut state.inner) {
                            extensions.insert(session);
                        }
                        state.phase = Phase::Open;
                        self.inner.data(&mut state.inner, data, out)
                    }
                    Some(Found::Missing(why)) => self.without(state, data, false, &why, out),
                    Some(Found::Unavailable(why)) => self.without(state, data, true, &why, out),
                };
            }
            Phase::Start => {}
        }
        let cookie = self.cookie.as_str();
        let looked = parse_head(data, self.max_head_size, |req, _| {
            let cookies = req
                .headers
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case("Cookie"))
                .filter_map(|h| std::str::from_utf8(h.value).ok());
            find_cookie(cookies, cookie)
        });
        let id = match looked {
            Head::Partial => return 0,
            // The inner protocol refuses malformed heads with its own reasons.
            Head::Bad(..) => {
                state.phase = Phase::Open;
                return self.inner.data(&mut state.inner, data, out);
            }
            Head::Complete(id, _) => id,
        };
        let Some(id) = id else {
            return self.without(state, data, false, "no session cookie", out);
        };
        if !valid_id(&id) {
            return self.without(state, data, false, "malformed session id", out);
        }
        let Some(lookups) = &self.lookups else {
            return self.without(state, data, true, "session store not started", out);
        };
        if lookups
            .send((out.conn(), format!("{}{id}", self.prefix)))
            .is_err()
        {
            return self.without(state, data, true, "session store stopped", out);
        }
        state.phase = Phase::Waiting;
        0
    }

    fn disconnect(&mut self, state: Self::ConnState, out: &mut Outbox<'_>) {
        if state.phase == Phase::Waiting {
            self.found
                .lock()
                .expect("session results")
                .remove(&out.conn());
        }
        self.inner.disconnect(state.inner, out);
    }

    fn start(&mut self, handle: &Handle) -> crate::Commands {
        match redis::Client::open(self.url.as_str()) {
            Ok(client) => {
                let (tx, rx) = mpsc::channel();
                let worker = Worker {
                    client,
                    format: self.format,
                    max_size: self.max_size,
                    found: self.found.clone(),
                    handle: handle.clone(),
                };
                match std::thread::Builder::new()
                    .name("ratchet-sessions".into())
                    .spawn(move || worker.run(rx))
                {
                    Ok(_) => self.lookups = Some(tx),
                    Err(e) => log::error!("sessions: cannot start the lookup thread: {e}"),
                }
            }
            Err(e) => log::error!("sessions: bad Redis URL {}: {e}", self.url),
        }
        self.inner.start(handle)
    }

    delegate_protocol!(inner; accept);
}

/// Reads sessions from Redis off the event loop, one at a time.
struct Worker {
    client: redis::Client,
    format: Format,
    max_size: usize,
    found: Arc<Mutex<HashMap<ConnId, (Instant, Found)>>>,
    handle: Handle,
}

/// How long a lookup may take before the store counts as unavailable.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a lookup's result waits for its connection, which may have ended (its
/// handshake timed out) before the result came.
const UNCLAIMED: Duration = Duration::from_secs(60);

impl Worker {
    fn run(self, lookups: Receiver<(ConnId, String)>) {
        let mut con: Option<redis::Connection> = None;
        while let Ok((conn, key)) = lookups.recv() {
            let found = self.lookup(&mut con, &key);
            if let Found::Unavailable(why) = &found {
                log::warn!("sessions: {why}");
            }
            let mut results = self.found.lock().expect("session results");
            results.retain(|_, (at, _)| at.elapsed() < UNCLAIMED);
            results.insert(conn, (Instant::now(), found));
            drop(results);
            if !self.handle.wake(conn) {
                return; // the server is gone
            }
        }
    }

    fn lookup(&self, con: &mut Option<redis::Connection>, key: &str) -> Found {
        let connected = match con {
            Some(c) => Ok(c),
            None => crate::cluster::connect(&self.client, LOOKUP_TIMEOUT).map(|c| con.insert(c)),
        };
        let stored: redis::RedisResult<Option<Vec<u8>>> =
            connected.and_then(|c| redis::cmd("GET").arg(key).query(c));
        match stored {
            Err(e) => {
                *con = None;
                Found::Unavailable(format!("session store unavailable: {e}"))
            }
            Ok(None) => Found::Missing("no such session".into()),
            Ok(Some(bytes)) if bytes.len() > self.max_size => {
                Found::Missing(format!("session larger than {} bytes", self.max_size))
            }
            Ok(Some(bytes)) => match SessionData::decode(self.format, &bytes) {
                Ok(session) => Found::Session(session),
                Err(e) => Found::Missing(format!("undecodable session: {e}")),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn php(bytes: &[u8]) -> Result<SessionData, DecodeError> {
        SessionData::decode(Format::Php, bytes)
    }

    #[test]
    fn php_sessions_as_php_writes_them() {
        let s = php(br#"user|s:5:"alice";n|i:-7;ok|b:1;pi|d:3.5;none|N;tags|a:2:{i:0;s:1:"a";i:1;s:1:"b";}prefs|a:1:{s:5:"theme";s:4:"dark";}"#).unwrap();
        assert_eq!(s.get::<String>("user").as_deref(), Some("alice"));
        assert_eq!(s.get::<i64>("n"), Some(-7));
        assert_eq!(s.get::<bool>("ok"), Some(true));
        assert_eq!(s.get::<f64>("pi"), Some(3.5));
        assert_eq!(s.value("none"), Some(&Value::Null));
        assert_eq!(
            s.get::<Vec<String>>("tags"),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(s.value("prefs").unwrap()["theme"], "dark");
        assert_eq!(s.get::<u32>("user"), None, "wrong type");
        assert_eq!(
            s.keys().collect::<Vec<_>>(),
            ["n", "none", "ok", "pi", "prefs", "tags", "user"]
        );
        assert_eq!(php(b"").unwrap(), SessionData::default());
    }

    #[test]
    fn php_serialize_and_json_sessions() {
        let s = SessionData::decode(
            Format::PhpSerialize,
            br#"a:2:{s:4:"user";s:5:"alice";s:5:"roles";a:1:{i:0;s:5:"admin";}}"#,
        )
        .unwrap();
        assert_eq!(s.get::<String>("user").as_deref(), Some("alice"));
        assert_eq!(s.get::<Vec<String>>("roles"), Some(vec!["admin".into()]));
        let s = SessionData::decode(Format::Json, br#"{"user":"alice","id":7}"#).unwrap();
        assert_eq!(s.get::<String>("user").as_deref(), Some("alice"));
        assert_eq!(s.get::<u8>("id"), Some(7));
        assert!(SessionData::decode(Format::Json, b"[1,2]").is_err());
        assert!(SessionData::decode(Format::PhpSerialize, br#"s:1:"x";"#).is_err());
    }

    #[test]
    fn hostile_sessions_fail_clearly_without_panics_or_huge_allocations() {
        let deep_php = format!("x|{}N;{}", "a:1:{i:0;".repeat(100_000), "}".repeat(100_000));
        let deep_json = format!("{{\"x\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
        let hostile: Vec<(Format, Vec<u8>)> = vec![
            (Format::Php, br#"user|s:5:"ali"#.to_vec()), // truncated
            (Format::Php, br#"user|s:10:"alice";"#.to_vec()), // wrong length
            (Format::Php, br#"user|s:2:"alice";"#.to_vec()), // wrong length
            (Format::Php, br#"user|s:99999999999:"x";"#.to_vec()), // huge length
            (Format::Php, br#"user|s:18446744073709551616:"x";"#.to_vec()), // overflow
            (Format::Php, b"user|a:4294967295:{}".to_vec()), // huge count
            (Format::Php, b"user|a:4294967295:{i:0;N;".to_vec()), // huge count, truncated
            (Format::Php, b"user|a:1:{i:0;N;i:1;N;}".to_vec()), // more than declared
            (Format::Php, b"user|i:12".to_vec()),        // no terminator
            (Format::Php, b"user".to_vec()),             // no bar
            (Format::Php, b"user|x:1;".to_vec()),        // unknown type
            (Format::Php, b"user|}".to_vec()),           // stray end
            (Format::Php, b"user|a:1:{d:1.5;N;}".to_vec()), // float key
            (Format::Php, br#"o|C:3:"Foo":1:{x}"#.to_vec()), // custom object
            (Format::Php, b"r|r:1;".to_vec()),           // reference
            (Format::Php, deep_php.into_bytes()),        // deep nesting
            (Format::PhpSerialize, br#"a:1:{s:1:"a";N;}junk"#.to_vec()),
            (Format::Json, deep_json.into_bytes()),
            (Format::Json, b"{\"user\":".to_vec()),
        ];
        for (format, bytes) in hostile {
            let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).into_owned();
            let err = SessionData::decode(format, &bytes).expect_err(&shown);
            assert!(!err.to_string().is_empty(), "{shown}: a reason");
        }
    }

    #[test]
    fn session_ids_are_checked() {
        assert!(valid_id("ab12-CD,x"));
        for bad in ["", "a b", "a;b", "../x", &"a".repeat(257)] {
            assert!(!valid_id(bad), "{bad:?}");
        }
    }
}
