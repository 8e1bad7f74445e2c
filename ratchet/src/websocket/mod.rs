//! The WebSocket decorator: every version at once, chosen per connection by the handshake.
//!
//! | request carries | version | framing |
//! |---|---|---|
//! | `Sec-WebSocket-Version: 13` | RFC 6455 | opcodes, masking, close codes, fragmentation |
//! | `Sec-WebSocket-Version: 8` or `7` | HyBi-10 / HyBi-07 | as RFC 6455 |
//! | `Sec-WebSocket-Key1` + `Key2` + 8-byte body | Hixie-76 | `0x00 text 0xFF`; close `0xFF 0x00` |
//! | `Upgrade: WebSocket` and none of the above | Hixie-75 | as Hixie-76, no challenge |
//!
//! Anything else is refused with `400` and a one-line reason; an unsupported
//! `Sec-WebSocket-Version` with `426` and `Sec-WebSocket-Version: 13, 8, 7`.
//!
//! Hixie connections carry text only: a binary message sent to one is dropped (and logged).

pub mod deflate;
pub mod handshake;
pub mod hixie;
pub mod mask;
pub mod rfc6455;
pub mod utf8;

pub use deflate::Deflate;
pub use handshake::Version;

use crate::command::{Command, Commands};
use crate::component::{guard, guard_logged, Component};
use crate::conn::{Conn, ConnId};
use crate::error::{Error, ProtocolError};
use crate::message::{Kind, Message, Payload};
use crate::protocol::{Outbox, Protocol};
use crate::server::Overflow;
use crate::CloseCode;
use flate2::Compress;
use std::net::SocketAddr;
use std::time::Duration;

/// Limits of the WebSocket decorator. Every field has a documented default.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Largest message accepted, in bytes, after reassembly of fragments. A frame whose
    /// header announces more is refused with 1009 before its payload is buffered.
    /// Default: 16 MiB.
    pub max_message_size: usize,
    /// Largest handshake request head, in bytes; larger gets `431`. Default: 8 KiB.
    pub max_handshake_size: usize,
    /// Time allowed for the opening handshake to arrive. Default: 10 s.
    pub handshake_timeout: Duration,
    /// Time to wait for the peer's close frame after sending ours. Default: 5 s.
    pub close_timeout: Duration,
    /// Ping RFC 6455/HyBi clients this often; one that has sent nothing (not even the
    /// pong) by the next ping is closed and `on_close` runs. `None`: no pings. Default:
    /// 30 s.
    pub ping_interval: Option<Duration>,
    /// Close a Hixie connection (which has no ping) that sends nothing for this long.
    /// `None`: never. Default: 5 min.
    pub hixie_idle_timeout: Option<Duration>,
    /// Subprotocols (`Sec-WebSocket-Protocol`) the application speaks; the client's first
    /// offer among them is chosen ([`Conn::subprotocol`]). Default: none.
    pub subprotocols: Vec<String>,
    /// Refuse (400) clients that offer none of [`subprotocols`](Config::subprotocols);
    /// by default they are accepted without a subprotocol, as RFC 6455 allows.
    pub require_subprotocol: bool,
    /// permessage-deflate (RFC 7692) for RFC 6455/HyBi clients that offer it. Default:
    /// off (`None`), as in Node's `ws` and uWebSockets: see [`Deflate`] for the costs.
    pub deflate: Option<Deflate>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_message_size: 16 << 20,
            max_handshake_size: 8 << 10,
            handshake_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(5),
            ping_interval: Some(Duration::from_secs(30)),
            hixie_idle_timeout: Some(Duration::from_secs(300)),
            deflate: None,
            subprotocols: Vec::new(),
            require_subprotocol: false,
        }
    }
}

impl Config {
    /// Sets [`max_message_size`](Config::max_message_size).
    #[must_use]
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Sets [`max_handshake_size`](Config::max_handshake_size).
    #[must_use]
    pub fn max_handshake_size(mut self, bytes: usize) -> Self {
        self.max_handshake_size = bytes;
        self
    }

    /// Sets [`handshake_timeout`](Config::handshake_timeout).
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets [`ping_interval`](Config::ping_interval).
    #[must_use]
    pub fn ping_interval(mut self, interval: Option<Duration>) -> Self {
        self.ping_interval = interval;
        self
    }

    /// Sets [`hixie_idle_timeout`](Config::hixie_idle_timeout).
    #[must_use]
    pub fn hixie_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.hixie_idle_timeout = timeout;
        self
    }

    /// Sets the [`subprotocols`](Config::subprotocols) the application speaks.
    #[must_use]
    pub fn subprotocols<S: Into<String>>(mut self, protocols: impl IntoIterator<Item = S>) -> Self {
        self.subprotocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Sets [`require_subprotocol`](Config::require_subprotocol).
    #[must_use]
    pub fn require_subprotocol(mut self, required: bool) -> Self {
        self.require_subprotocol = required;
        self
    }

    /// Turns on permessage-deflate with these settings.
    #[must_use]
    pub fn deflate(mut self, deflate: Deflate) -> Self {
        self.deflate = Some(deflate);
        self
    }

    /// Sets [`close_timeout`](Config::close_timeout).
    #[must_use]
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }
}

/// Wraps a [`Component`] and serves it to WebSocket clients of every version.
///
/// ```no_run
/// use ratchet::{Commands, Component, Conn, Message, Server, WebSocket};
///
/// struct Echo;
///
/// impl Component for Echo {
///     fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> Commands {
///         from.send(msg).into()
///     }
/// }
///
/// Server::new(WebSocket::new(Echo)).bind("127.0.0.1:8080")?.run()
/// # ; Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct WebSocket<C> {
    app: C,
    config: Config,
    /// Compressors shared by connections without server context takeover, by window
    /// bits: their state is reset after every message, so one serves them all.
    shared_compressors: Vec<(u8, Box<Compress>)>,
    /// Where a message is compressed before it is framed.
    scratch: Vec<u8>,
}

impl<C> WebSocket<C> {
    /// The decorator with default limits.
    pub fn new(app: C) -> Self {
        Self::with_config(app, Config::default())
    }

    /// The decorator with the given limits.
    pub fn with_config(app: C, config: Config) -> Self {
        WebSocket {
            app,
            config,
            shared_compressors: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// The wrapped application.
    pub fn app(&self) -> &C {
        &self.app
    }

    /// The wrapped application, mutably.
    pub fn app_mut(&mut self) -> &mut C {
        &mut self.app
    }
}

/// One connection's WebSocket state.
#[derive(Debug)]
pub struct ConnState {
    conn: Conn,
    version: Option<Version>,
    phase: Phase,
    /// The application saw `on_open` (and will see `on_close`).
    opened: bool,
    close_sent: bool,
    /// Bytes arrived since the last keepalive check.
    heard_from: bool,
    /// A ping went out at the last keepalive check.
    pinged: bool,
    /// permessage-deflate, if negotiated.
    deflate: Option<ConnDeflate>,
}

/// A connection's compression side of permessage-deflate.
struct ConnDeflate {
    params: deflate::Params,
    /// With context takeover: this connection's own compressor, made at first use.
    compress: Option<Box<Compress>>,
}

impl std::fmt::Debug for ConnDeflate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnDeflate")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
enum Phase {
    Handshake,
    Hybi(Box<rfc6455::Decoder>),
    Hixie(hixie::Decoder),
    /// Nothing more is read: the handshake was refused, or the connection failed.
    Done,
}

impl ConnState {
    /// The protocol version, once the handshake chose one.
    pub fn version(&self) -> Option<Version> {
        self.version
    }
}

/// Encodings for [`Protocol::encoding`].
const ENCODING_HYBI: u8 = 0;
const ENCODING_HIXIE: u8 = 1;
/// Plus the window bits, for permessage-deflate without server context takeover.
const ENCODING_DEFLATE_BASE: u8 = 16;

impl<C: Component> WebSocket<C> {
    /// A handler panicked: tell the application, close with 1011.
    fn panicked(&mut self, state: &mut ConnState, panic: String, out: &mut Outbox<'_>) {
        log::error!(
            "handler panicked on connection {}: {panic}",
            state.conn.id()
        );
        let app = &mut self.app;
        if let Ok(cmds) = guard(|| app.on_error(&state.conn, Error::Panic(panic))) {
            out.commands(cmds);
        }
        state.phase = Phase::Done;
        out.commands(Command::close(
            state.conn.id(),
            CloseCode::Error,
            "internal error",
        ));
    }

    /// The peer broke a rule: tell the application, close with the rule's code.
    fn fail(&mut self, state: &mut ConnState, err: ProtocolError, out: &mut Outbox<'_>) {
        log::debug!("connection {} failed: {err}", state.conn.id());
        if state.close_sent {
            // Already closing; the peer's close frame is not coming in a readable form.
            state.phase = Phase::Done;
            out.shutdown();
            return;
        }
        let app = &mut self.app;
        match guard(|| app.on_error(&state.conn, Error::Protocol(err))) {
            Ok(cmds) => out.commands(cmds),
            Err(panic) => log::error!(
                "on_error panicked on connection {}: {panic}",
                state.conn.id()
            ),
        }
        state.phase = Phase::Done;
        out.commands(Command::close(
            state.conn.id(),
            err.close_code(),
            err.to_string(),
        ));
    }

    fn handshake(&mut self, state: &mut ConnState, data: &mut [u8], out: &mut Outbox<'_>) -> usize {
        let limits = handshake::Limits {
            max_size: self.config.max_handshake_size,
            deflate: self.config.deflate.as_ref(),
            subprotocols: &self.config.subprotocols,
            require_subprotocol: self.config.require_subprotocol,
        };
        match handshake::parse(data, limits) {
            handshake::Outcome::Partial => 0,
            handshake::Outcome::Reject(rejection) => {
                log::debug!(
                    "handshake from {} refused: {} {}",
                    state.conn.peer(),
                    rejection.status,
                    rejection.reason
                );
                out.output().extend_from_slice(&rejection.response());
                out.shutdown();
                state.phase = Phase::Done;
                data.len()
            }
            handshake::Outcome::Accept {
                consumed,
                version,
                request,
                deflate,
                subprotocol,
                response,
            } => {
                out.output().extend_from_slice(&response);
                let keepalive = if version.is_hybi() {
                    self.config.ping_interval
                } else {
                    self.config.hixie_idle_timeout
                };
                out.set_deadline(keepalive.map(|every| out.now() + every));
                state.heard_from = false; // silence is counted from the handshake on
                let max = self.config.max_message_size;
                state.phase = if version.is_hybi() {
                    Phase::Hybi(Box::new(rfc6455::Decoder::with_deflate(max, deflate)))
                } else {
                    Phase::Hixie(hixie::Decoder::new(max))
                };
                state.version = Some(version);
                state.deflate = deflate.map(|params| ConnDeflate {
                    params,
                    compress: None,
                });
                let extensions = std::mem::take(state.conn.extensions_mut());
                state.conn = Conn::new(state.conn.id(), state.conn.peer(), Some(request))
                    .with_subprotocol(subprotocol);
                *state.conn.extensions_mut() = extensions;
                state.opened = true;
                let app = &mut self.app;
                match guard(|| app.on_open(&state.conn)) {
                    Ok(cmds) => out.commands(cmds),
                    Err(panic) => self.panicked(state, panic, out),
                }
                consumed
            }
        }
    }

    fn hybi_frames(
        &mut self,
        state: &mut ConnState,
        data: &mut [u8],
        mut pos: usize,
        out: &mut Outbox<'_>,
    ) -> usize {
        loop {
            let Phase::Hybi(decoder) = &mut state.phase else {
                return data.len();
            };
            let frame = match decoder.decode(data, &mut pos) {
                Ok(Some(frame)) => frame,
                Ok(None) => {
                    decoder.release();
                    return pos;
                }
                Err(err) => {
                    self.fail(state, err, out);
                    return data.len();
                }
            };
            match frame {
                rfc6455::Frame::Message(msg) => {
                    if state.close_sent {
                        continue;
                    }
                    let app = &mut self.app;
                    match guard(|| app.on_message(&state.conn, msg)) {
                        Ok(cmds) => out.commands(cmds),
                        Err(panic) => {
                            self.panicked(state, panic, out);
                            return data.len();
                        }
                    }
                }
                rfc6455::Frame::Ping(payload) => {
                    if !state.close_sent {
                        rfc6455::write_pong(out.output(), payload);
                    }
                }
                rfc6455::Frame::Pong(_) => {}
                rfc6455::Frame::Close(code) => {
                    let code = code.map_or(CloseCode::NoStatus, |(code, _)| CloseCode::from(code));
                    state.phase = Phase::Done;
                    if state.close_sent {
                        out.shutdown();
                    } else {
                        out.commands(Command::close(state.conn.id(), code, ""));
                    }
                    return data.len();
                }
            }
        }
    }

    fn hixie_frames(
        &mut self,
        state: &mut ConnState,
        data: &[u8],
        mut pos: usize,
        out: &mut Outbox<'_>,
    ) -> usize {
        loop {
            let Phase::Hixie(decoder) = &mut state.phase else {
                return data.len();
            };
            match decoder.decode(data, &mut pos) {
                Ok(Some(hixie::Frame::Text(text))) => {
                    let app = &mut self.app;
                    match guard(|| app.on_message(&state.conn, Message::Text(text))) {
                        Ok(cmds) => out.commands(cmds),
                        Err(panic) => {
                            self.panicked(state, panic, out);
                            return data.len();
                        }
                    }
                }
                Ok(Some(hixie::Frame::Close)) => {
                    out.commands(Command::close(state.conn.id(), CloseCode::Normal, ""));
                    return data.len();
                }
                Ok(None) => {
                    decoder.release();
                    return pos;
                }
                Err(err) => {
                    self.fail(state, err, out);
                    return data.len();
                }
            }
        }
    }
}

impl<C: Component> Protocol for WebSocket<C> {
    type ConnState = ConnState;

    fn connect(&mut self, id: ConnId, peer: SocketAddr, out: &mut Outbox<'_>) -> ConnState {
        out.set_deadline(Some(out.now() + self.config.handshake_timeout));
        ConnState {
            conn: Conn::new(id, peer, None),
            version: None,
            phase: Phase::Handshake,
            opened: false,
            close_sent: false,
            heard_from: false,
            pinged: false,
            deflate: None,
        }
    }

    fn data(&mut self, state: &mut ConnState, data: &mut [u8], out: &mut Outbox<'_>) -> usize {
        state.heard_from = true;
        let pos = match state.phase {
            Phase::Handshake => self.handshake(state, data, out),
            Phase::Done => return data.len(),
            _ => 0,
        };
        state.conn.set_buffered_amount(out.pending_output());
        match state.phase {
            Phase::Handshake => pos,
            Phase::Hybi(_) => self.hybi_frames(state, data, pos, out),
            Phase::Hixie(_) => self.hixie_frames(state, data, pos, out),
            Phase::Done => data.len(),
        }
    }

    fn timeout(&mut self, state: &mut ConnState, out: &mut Outbox<'_>) {
        let open = !state.close_sent && matches!(state.phase, Phase::Hybi(_) | Phase::Hixie(_));
        if !open {
            // The handshake or the closing handshake took too long.
            if matches!(state.phase, Phase::Handshake) {
                log::debug!("handshake from {} timed out", state.conn.peer());
            }
            state.phase = Phase::Done;
            out.shutdown();
            return;
        }
        let hybi = matches!(state.phase, Phase::Hybi(_));
        let heard = std::mem::take(&mut state.heard_from);
        if !heard && (state.pinged || !hybi) {
            log::debug!("connection {} went silent; closing it", state.conn.id());
            state.phase = Phase::Done; // closes at once, without waiting for a reply
            self.close(state, CloseCode::Away, "no response", out);
            return;
        }
        let every = if hybi {
            self.config.ping_interval
        } else {
            self.config.hixie_idle_timeout
        };
        state.pinged = hybi && !heard;
        if state.pinged {
            rfc6455::write_ping(out.output(), b"");
        }
        out.set_deadline(every.map(|every| out.now() + every));
    }

    fn start(&mut self, handle: &crate::Handle) -> Commands {
        let app = &mut self.app;
        guard_logged("on_start", || app.on_start(handle))
    }

    fn timer(&mut self, key: u64) -> Commands {
        let app = &mut self.app;
        guard_logged("on_timer", || app.on_timer(key))
    }

    fn overflow(&mut self, state: &mut ConnState, policy: Overflow, out: &mut Outbox<'_>) {
        let app = &mut self.app;
        match guard(|| app.on_error(&state.conn, Error::Overflow)) {
            Ok(cmds) => out.commands(cmds),
            Err(panic) => log::error!(
                "on_error panicked on connection {}: {panic}",
                state.conn.id()
            ),
        }
        if policy == Overflow::Close {
            log::debug!("connection {} does not read; closing it", state.conn.id());
            state.phase = Phase::Done; // closes at once, without waiting for a reply
            self.close(state, CloseCode::Policy, "not reading fast enough", out);
        }
    }

    fn disconnect(&mut self, state: ConnState, out: &mut Outbox<'_>) {
        if state.opened {
            let app = &mut self.app;
            match guard(|| app.on_close(&state.conn)) {
                Ok(cmds) => out.commands(cmds),
                Err(panic) => log::error!(
                    "on_close panicked on connection {}: {panic}",
                    state.conn.id()
                ),
            }
        }
    }

    fn extensions<'a>(&self, state: &'a mut ConnState) -> Option<&'a mut crate::conn::Extensions> {
        Some(state.conn.extensions_mut())
    }

    fn encoding(&self, state: &ConnState) -> Option<u8> {
        if state.close_sent || !state.opened {
            return None;
        }
        match (state.version?, &state.deflate) {
            (v, None) if v.is_hybi() => Some(ENCODING_HYBI),
            (_, None) => Some(ENCODING_HIXIE),
            // Without context takeover, a message compresses the same for every
            // connection with the same window: compress it once for all of them.
            (_, Some(d)) if d.params.server_no_context_takeover => {
                Some(ENCODING_DEFLATE_BASE + d.params.server_max_window_bits)
            }
            (_, Some(_)) => None,
        }
    }

    fn encode(&mut self, state: &mut ConnState, msg: &Payload, buf: &mut Vec<u8>) {
        if state.close_sent || !state.opened {
            return;
        }
        let threshold = self.config.deflate.as_ref().map_or(0, |c| c.threshold);
        match (state.version, &mut state.deflate) {
            (Some(_), Some(d)) if msg.len() >= threshold => {
                let level = self.config.deflate.as_ref().map_or(6, |c| c.level);
                let window = d.params.server_max_window_bits;
                let reset = d.params.server_no_context_takeover;
                let compress = if reset {
                    let at = match self
                        .shared_compressors
                        .iter()
                        .position(|(w, _)| *w == window)
                    {
                        Some(at) => at,
                        None => {
                            self.shared_compressors
                                .push((window, deflate::compressor(level, window)));
                            self.shared_compressors.len() - 1
                        }
                    };
                    &mut self.shared_compressors[at].1
                } else {
                    d.compress
                        .get_or_insert_with(|| deflate::compressor(level, window))
                };
                self.scratch.clear();
                deflate::compress(compress, msg.as_bytes(), &mut self.scratch, reset);
                rfc6455::write_compressed_message(buf, msg.kind(), &self.scratch);
                if self.scratch.capacity() > 1 << 20 {
                    self.scratch = Vec::new();
                }
            }
            (Some(v), _) if v.is_hybi() => rfc6455::write_message(buf, msg.kind(), msg.as_bytes()),
            (Some(_), _) if msg.kind() == Kind::Text => hixie::write_text(buf, msg.as_bytes()),
            (Some(_), _) => log::debug!(
                "binary message to Hixie connection {} dropped",
                state.conn.id()
            ),
            (None, _) => {}
        }
    }

    fn close(
        &mut self,
        state: &mut ConnState,
        code: CloseCode,
        reason: &str,
        out: &mut Outbox<'_>,
    ) {
        if state.close_sent {
            return;
        }
        state.close_sent = true;
        let Some(version) = state.version else {
            state.phase = Phase::Done;
            out.shutdown();
            return;
        };
        if version.is_hybi() {
            let code = match code {
                CloseCode::NoStatus => None,
                code if code.is_allowed_on_wire() => Some(u16::from(code)),
                _ => Some(1000),
            };
            rfc6455::write_close(out.output(), code, reason);
            if matches!(state.phase, Phase::Done) {
                // The peer closed first, or failed: nothing more to read.
                out.shutdown();
            } else {
                out.set_deadline(Some(out.now() + self.config.close_timeout));
            }
        } else {
            if version == Version::Hixie76 {
                out.output().extend_from_slice(&hixie::CLOSE_FRAME);
            }
            state.phase = Phase::Done;
            out.shutdown();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Control;
    use std::time::Instant;

    /// Answers every message with the sender's buffered amount.
    struct Buffered;

    impl Component for Buffered {
        fn on_message(&mut self, from: &Conn, _msg: Message<'_>) -> Commands {
            from.send(from.buffered_amount().to_string()).into()
        }
    }

    #[test]
    fn handlers_see_the_bytes_a_client_has_not_taken() {
        let mut ws = WebSocket::new(Buffered);
        let id = ConnId::from_raw(1);
        let peer = SocketAddr::from(([127, 0, 0, 1], 9));
        let (mut output, mut commands, mut control) = (Vec::new(), Vec::new(), Control::default());
        let mut state = {
            let mut out = Outbox::new(id, Instant::now(), &mut output, &mut commands, &mut control);
            ws.connect(id, peer, &mut out)
        };
        let mut bytes = b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".to_vec();
        bytes.extend(rfc6455::tests::client_frame(true, 1, b"how much?"));
        let mut out = Outbox::new(id, Instant::now(), &mut output, &mut commands, &mut control)
            .with_pending(70_000);
        let consumed = ws.data(&mut state, &mut bytes, &mut out);
        assert_eq!(consumed, bytes.len());
        assert_eq!(commands, [Command::send(id, "70000")]);
    }
}
