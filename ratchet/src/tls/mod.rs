//! TLS as one more decorator: `Server(Tls(Router(...)))` serves `https://` and `wss://`,
//! and, in its client role, makes the `wss://` connections the application asks for
//! ([`crate::client`]).
//!
//! [`Tls`] owns no socket: the server hands it ciphertext, it hands the protocol inside
//! the plaintext, and it encrypts what that protocol writes (rustls works on buffers), so
//! the event loop stays the only place that does I/O.

mod certs;

pub use certs::{CertificateError, TlsCertificates};

use crate::conn::ConnId;
use crate::error::ConfigError;
use crate::message::Payload;
use crate::outbound::ConnectFailure;
use crate::protocol::Dial;
use crate::protocol::{Limits, Outbox, Overflow, Protocol};
use crate::CloseCode;
use rustls::{ClientConnection, Connection, ServerConnection};
use std::io::{Read, Write};
use std::net::SocketAddr;

/// Plaintext decrypted and held for the protocol inside, at most (plus one TLS record):
/// past it, ciphertext is left unread in the server's read buffer.
const MAX_PLAIN_HELD: usize = 64 << 10;
use std::time::{Duration, Instant};

/// Serves the protocol it wraps over TLS 1.3 and 1.2 (ALPN `http/1.1`), with the
/// certificates of a [`TlsCertificates`].
///
/// A handshake that does not finish within [`handshake_timeout`](Tls::handshake_timeout)
/// (10 s by default) is closed; a client that sends something that is not TLS gets an
/// alert and is closed. Every other connection carries on.
///
/// ```no_run
/// use ratchet::tls::{Tls, TlsCertificates};
/// use ratchet::{Component, Conn, IntoCommands, Message, Server, WebSocket};
///
/// struct Echo;
///
/// impl Component for Echo {
///     fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
///         from.send(msg)
///     }
/// }
///
/// let certs = TlsCertificates::from_pem_files("cert.pem", "key.pem")?;
/// Server::new(Tls::new(WebSocket::new(Echo), certs)).bind("127.0.0.1:8443")?.run()
/// # ; Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Tls<P> {
    inner: P,
    /// `None` for a layer that only makes outbound `wss://` connections.
    certs: Option<TlsCertificates>,
    handshake_timeout: Duration,
    /// What the protocol inside writes, before it is encrypted.
    scratch: Vec<u8>,
}

/// One connection's TLS state, and the state of the protocol inside.
#[derive(Debug)]
pub struct TlsState<S> {
    /// `None` for an outbound `ws://` connection, or an accepted one of a layer without
    /// certificates: the bytes pass through.
    tls: Option<Box<Connection>>,
    inner: S,
    /// Plaintext the protocol inside has not consumed yet.
    plain: Vec<u8>,
    /// The end of the TLS handshake, while it lasts.
    handshake_until: Option<Instant>,
    /// The deadline the protocol inside asked for.
    inner_deadline: Option<Instant>,
    close_notified: bool,
}

impl<P> Tls<P> {
    /// Serves `inner` over TLS with `certs`.
    pub fn new(inner: P, certs: TlsCertificates) -> Self {
        Self::with_certs(inner, Some(certs))
    }

    /// Serves `inner` in plain text, and makes the outbound `wss://` connections its
    /// application asks for: TLS for connecting out only.
    pub fn outbound(inner: P) -> Self {
        Self::with_certs(inner, None)
    }

    fn with_certs(inner: P, certs: Option<TlsCertificates>) -> Self {
        Tls {
            inner,
            certs,
            handshake_timeout: Duration::from_secs(10),
            scratch: Vec::new(),
        }
    }

    /// The longest a TLS handshake may take; past it the connection is closed. Default:
    /// 10 s.
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// The certificates served (reload them through it, or with
    /// [`Handle::reload`](crate::Handle::reload), or SIGHUP); `None` for
    /// [`Tls::outbound`].
    pub fn certificates(&self) -> Option<&TlsCertificates> {
        self.certs.as_ref()
    }
}

/// The earlier of two deadlines.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl<P: Protocol> Tls<P> {
    /// Runs `f` on the protocol inside with its own deadline, then encrypts what it
    /// wrote, sends a `close_notify` if it asked to close, and arms the earlier deadline.
    fn inside<T>(
        &mut self,
        state: &mut TlsState<P::ConnState>,
        out: &mut Outbox<'_>,
        f: impl FnOnce(&mut P, &mut P::ConnState, &mut Outbox<'_>) -> T,
    ) -> T {
        if state.tls.is_none() {
            return f(&mut self.inner, &mut state.inner, out);
        }
        out.set_deadline(state.inner_deadline);
        self.scratch.clear();
        let (inner, scratch) = (&mut self.inner, &mut self.scratch);
        let result = out.redirect(scratch, |o| f(inner, &mut state.inner, o));
        state.inner_deadline = out.deadline();
        self.seal(state, out);
        result
    }

    /// Encrypts the scratch buffer into the connection's output, with whatever TLS
    /// records are due.
    fn seal(&mut self, state: &mut TlsState<P::ConnState>, out: &mut Outbox<'_>) {
        let Some(tls) = state.tls.as_deref_mut() else {
            return;
        };
        if !self.scratch.is_empty() {
            // The buffer limit is lifted at connect: this writes everything.
            let _ = tls.writer().write_all(&self.scratch);
            self.scratch.clear();
        }
        if out.is_shutting_down() && !state.close_notified {
            state.close_notified = true;
            tls.send_close_notify();
        }
        flush(tls, out.output());
        let handshake = state.handshake_until.filter(|_| tls.is_handshaking());
        out.set_deadline(earliest(handshake, state.inner_deadline));
    }

    /// A new connection's state around the inner protocol's, made by `make` with the
    /// outbox the inner protocol writes to; its TLS session, if any, writes first.
    fn wrap(
        &mut self,
        tls: Option<Connection>,
        out: &mut Outbox<'_>,
        make: impl FnOnce(&mut P, &mut Outbox<'_>) -> Option<P::ConnState>,
    ) -> Option<TlsState<P::ConnState>> {
        let Some(mut tls) = tls.map(Box::new) else {
            let inner = make(&mut self.inner, out)?;
            return Some(TlsState::plain(inner));
        };
        tls.set_buffer_limit(None);
        let inner = {
            let mut scratch = std::mem::take(&mut self.scratch);
            let inner = &mut self.inner;
            let s = out.redirect(&mut scratch, |o| make(inner, o));
            self.scratch = scratch;
            s?
        };
        let mut state = TlsState {
            tls: Some(tls),
            inner,
            plain: Vec::new(),
            handshake_until: Some(out.after(self.handshake_timeout)),
            inner_deadline: out.deadline(),
            close_notified: false,
        };
        self.seal(&mut state, out);
        Some(state)
    }
}

impl<S> TlsState<S> {
    /// A connection without TLS: the bytes pass through.
    fn plain(inner: S) -> Self {
        TlsState {
            tls: None,
            inner,
            plain: Vec::new(),
            handshake_until: None,
            inner_deadline: None,
            close_notified: false,
        }
    }
}

/// A TLS failure as the socket error the protocol inside hears
/// ([`Protocol::failed`]): an outbound connection reports it as
/// [`ConnectFailure::Tls`].
fn tls_failure(why: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(ConnectFailure::Tls(why.to_string()))
}

impl<P: Protocol> Tls<P> {
    /// Offers the plaintext held to the protocol inside until it takes no more, as the
    /// server offers input.
    fn offer(&mut self, state: &mut TlsState<P::ConnState>, out: &mut Outbox<'_>) {
        if state.plain.is_empty() {
            self.seal(state, out);
            return;
        }
        let mut plain = std::mem::take(&mut state.plain);
        let mut at = 0;
        while at < plain.len() && !out.is_shutting_down() && !out.has_yielded() {
            let consumed = self.inside(state, out, |p, s, o| p.data(s, &mut plain[at..], o));
            if consumed == 0 {
                break;
            }
            at += consumed.min(plain.len() - at);
        }
        plain.drain(..at);
        // An idle connection keeps no buffer: what is left waits, the rest is given back.
        state.plain = if plain.is_empty() { Vec::new() } else { plain };
    }
}

/// Moves every TLS record rustls has ready into `output`.
fn flush(tls: &mut Connection, output: &mut Vec<u8>) {
    while tls.wants_write() {
        match tls.write_tls(output) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

impl<P: Protocol> Protocol for Tls<P> {
    type ConnState = TlsState<P::ConnState>;

    fn limits(&self) -> Result<Limits, ConfigError> {
        if self.handshake_timeout < Duration::from_millis(1) {
            return Err(ConfigError::new(
                "tls: handshake_timeout must be at least 1 ms",
            ));
        }
        self.inner.limits()
    }

    fn connect(&mut self, id: ConnId, peer: SocketAddr, out: &mut Outbox<'_>) -> Self::ConnState {
        // The configuration was built by `TlsCertificates`, which checked it.
        let tls = self.certs.as_ref().map(|certs| {
            ServerConnection::new(certs.current())
                .map(Connection::Server)
                .unwrap_or_else(|e| unreachable!("a checked TLS configuration: {e}"))
        });
        let state = self.wrap(tls, out, |inner, o| Some(inner.connect(id, peer, o)));
        state.unwrap_or_else(|| unreachable!("connect always makes a state"))
    }

    fn dial(
        &mut self,
        id: ConnId,
        dial: &Dial,
        peer: SocketAddr,
        out: &mut Outbox<'_>,
    ) -> Option<Self::ConnState> {
        let Some(target) = dial.connect.target().ok().filter(|t| t.secure) else {
            return self.wrap(None, out, |inner, o| inner.dial(id, dial, peer, o));
        };
        let secured = Dial {
            secured: true,
            ..dial.clone()
        };
        let session = rustls_pki_types::ServerName::try_from(target.host.clone())
            .map_err(tls_failure)
            .and_then(|name| ClientConnection::new(dial.connect.tls(), name).map_err(tls_failure));
        match session {
            Ok(session) => {
                let tls = Some(Connection::Client(session));
                self.wrap(tls, out, |inner, o| inner.dial(id, &secured, peer, o))
            }
            Err(e) => {
                // No session to speak in: the protocol inside hears why, and it ends.
                // What it wrote (its request) is dropped, never sent in plain text.
                let (inner, mut unsent) = (&mut self.inner, Vec::new());
                let mut state = out.redirect(&mut unsent, |o| inner.dial(id, &secured, peer, o))?;
                self.inner.failed(&mut state, &e);
                out.shutdown();
                Some(TlsState::plain(state))
            }
        }
    }

    fn data(
        &mut self,
        state: &mut Self::ConnState,
        data: &mut [u8],
        out: &mut Outbox<'_>,
    ) -> usize {
        let Some(tls) = state.tls.as_deref_mut() else {
            return self.inner.data(&mut state.inner, data, out);
        };
        let mut rd: &[u8] = data;
        let mut chunk = [0u8; 16 << 10];
        // Past what it holds for the protocol inside, the ciphertext waits, unread, in the
        // server's read buffer (bounded there) until the protocol takes what it holds.
        while !rd.is_empty() && state.plain.len() < MAX_PLAIN_HELD {
            match tls.read_tls(&mut rd) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    log::debug!("connection {}: TLS read: {e}", out.conn());
                    break;
                }
            }
            if let Err(e) = tls.process_new_packets() {
                // The alert rustls queued goes out, then the connection closes.
                log::debug!("connection {}: TLS failed: {e}", out.conn());
                flush(tls, out.output());
                self.inner.failed(&mut state.inner, &tls_failure(e));
                out.shutdown();
                return data.len();
            }
            loop {
                match tls.reader().read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => state.plain.extend_from_slice(&chunk[..n]),
                    Err(_) => break, // nothing more decrypted yet
                }
            }
        }
        if !tls.is_handshaking() {
            state.handshake_until = None;
        }
        self.offer(state, out);
        data.len() - rd.len()
    }

    fn wake(&mut self, state: &mut Self::ConnState, out: &mut Outbox<'_>) {
        if state.plain.is_empty() || state.tls.is_none() {
            self.inside(state, out, |p, s, o| p.wake(s, o));
        } else {
            // What waited (a session lookup, the door's answer) may take the held input now.
            self.offer(state, out);
        }
    }

    fn drained(&mut self, state: &mut Self::ConnState, out: &mut Outbox<'_>) {
        self.inside(state, out, |p, s, o| p.drained(s, o));
    }

    fn timeout(&mut self, state: &mut Self::ConnState, out: &mut Outbox<'_>) {
        let now = out.now();
        let handshaking = state.tls.as_ref().is_some_and(|tls| tls.is_handshaking());
        if handshaking && state.handshake_until.is_some_and(|at| at <= now) {
            log::debug!("connection {}: TLS handshake timed out", out.conn());
            self.inner
                .failed(&mut state.inner, &tls_failure("handshake timed out"));
            out.shutdown();
            return;
        }
        if state.inner_deadline.is_some_and(|at| at <= now) {
            self.inside(state, out, |p, s, o| p.timeout(s, o));
        } else {
            self.seal(state, out);
        }
    }

    fn disconnect(&mut self, state: Self::ConnState, out: &mut Outbox<'_>) {
        let (inner, mut scratch) = (&mut self.inner, Vec::new());
        out.redirect(&mut scratch, |o| inner.disconnect(state.inner, o));
    }

    fn encoding(&self, state: &Self::ConnState) -> Option<u8> {
        match state.tls {
            Some(_) => None, // every connection has its own keys
            None => self.inner.encoding(&state.inner),
        }
    }

    fn encode(&mut self, state: &mut Self::ConnState, msg: &Payload, buf: &mut Vec<u8>) {
        let Some(tls) = state.tls.as_deref_mut() else {
            return self.inner.encode(&mut state.inner, msg, buf);
        };
        self.scratch.clear();
        self.inner.encode(&mut state.inner, msg, &mut self.scratch);
        if !self.scratch.is_empty() {
            let _ = tls.writer().write_all(&self.scratch);
            self.scratch.clear();
        }
        flush(tls, buf);
    }

    fn overflow(&mut self, state: &mut Self::ConnState, policy: Overflow, out: &mut Outbox<'_>) {
        self.inside(state, out, |p, s, o| p.overflow(s, policy, o));
    }

    fn reload(&mut self) {
        match self.certs.as_ref().map(TlsCertificates::reload) {
            Some(Ok(())) => log::info!("TLS certificates reloaded"),
            Some(Err(e)) => log::error!("TLS certificates not reloaded, the old ones stay: {e}"),
            None => {}
        }
        self.inner.reload();
    }

    fn close(
        &mut self,
        state: &mut Self::ConnState,
        code: CloseCode,
        reason: &str,
        out: &mut Outbox<'_>,
    ) {
        self.inside(state, out, |p, s, o| p.close(s, code, reason, o));
    }

    // `busy` is not forwarded: there is no TLS session yet to say it in.
    crate::delegate_protocol!(inner, state.inner; except limits, busy, connect, dial, data,
        wake, drained, timeout, disconnect, encoding, encode, overflow, reload, close);
}

/// Several workers: each serves the same certificates (reloaded for all of them at
/// once) around its copy of the stack.
impl<P: crate::workers::Split> crate::workers::Split for Tls<P>
where
    P::Worker: Protocol,
{
    type Worker = Tls<P::Worker>;

    fn split(self, apps: &mut crate::workers::Apps) -> crate::workers::Replica<Self::Worker> {
        let inner = self.inner.split(apps);
        let (certs, handshake_timeout) = (self.certs, self.handshake_timeout);
        Box::new(move |uplink| Tls {
            inner: inner(uplink),
            certs: certs.clone(),
            handshake_timeout,
            scratch: Vec::new(),
        })
    }
}
