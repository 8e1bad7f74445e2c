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

pub(crate) mod client;
mod config;
mod decoders;
pub mod deflate;
pub mod handshake;
pub mod hixie;
mod inflation;
pub mod mask;
mod metrics;
mod receive;
pub mod rfc6455;
mod send;
pub mod utf8;

pub use config::Config;
pub use deflate::Deflate;
pub use handshake::Version;

use crate::command::{Commands, TimerScope};
use crate::component::{guard, guard_logged};
use crate::conn::{Conn, ConnId, Extensions};
use crate::error::{ConfigError, Error};
use crate::message::Payload;
use crate::outbound::{ConnectError, DialOutcome};
use crate::protocol::Dial;
use crate::protocol::{Limits, Outbox, Overflow, Protocol};
use crate::stateful::StatefulComponent;
use crate::CloseCode;
use flate2::Compress;
use std::net::SocketAddr;
use std::time::Instant;

/// Wraps a [`Component`](crate::Component) (or a [`StatefulComponent`]) and serves it to WebSocket clients of every version.
///
/// ```no_run
/// use ratchet::{Commands, Component, Conn, IntoCommands, Message, Server, WebSocket};
///
/// struct Echo;
///
/// impl Component for Echo {
///     fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
///         from.send(msg)
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
    /// Which connection may inflate a large message now.
    large: inflation::LargeInflations,
    /// Decoders lent to connections while they read.
    decoders: decoders::Decoders,
    /// What it counts for a scrape.
    counts: metrics::Counts,
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
            large: inflation::LargeInflations::default(),
            decoders: decoders::Decoders::default(),
            counts: metrics::Counts::default(),
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

/// One connection's WebSocket state, and the application's (`S`).
#[derive(Debug)]
pub struct ConnState<S = ()> {
    conn: Conn,
    /// The application's state for this connection.
    app: S,
    version: Option<Version>,
    phase: Phase,
    /// The application saw `on_open` (and will see `on_close`).
    opened: bool,
    /// The door said it would answer later ([`Door::Later`](crate::Door::Later)).
    door_pending: bool,
    close_sent: bool,
    /// Bytes arrived since the last keepalive check.
    heard_from: bool,
    /// A ping went out at the last keepalive check.
    pinged: bool,
    /// The end of the opening or the closing handshake.
    until: Option<Instant>,
    /// The next keepalive check.
    keepalive_at: Option<Instant>,
    /// When the message in progress began.
    message_since: Option<Instant>,
    /// permessage-deflate, if negotiated.
    deflate: Option<send::ConnDeflate>,
    /// What the connection may still send under the configured rate (from its first
    /// message on).
    allowance: Option<Box<crate::rate::Allowance>>,
    /// For a connection this server made: its dial, until it opens.
    outbound: Option<Box<client::Outbound>>,
}

#[derive(Debug)]
enum Phase {
    Handshake,
    /// RFC 6455 and HyBi framing. The decoder is lent while the connection reads and
    /// given back when it holds nothing (an idle connection has none).
    Hybi(Option<Box<rfc6455::Decoder>>),
    /// Hixie-76 and Hixie-75 framing (boxed: rare, and kept out of every connection's
    /// size).
    Hixie(Box<hixie::Decoder>),
    /// Nothing more is read: the handshake was refused, or the connection failed.
    Done,
}

impl<S: Default> ConnState<S> {
    /// A connection before its handshake, which must end by `until`.
    fn new(conn: Conn, until: Instant) -> Self {
        ConnState {
            conn,
            app: S::default(),
            version: None,
            phase: Phase::Handshake,
            opened: false,
            door_pending: false,
            close_sent: false,
            heard_from: false,
            pinged: false,
            until: Some(until),
            keepalive_at: None,
            message_since: None,
            deflate: None,
            allowance: None,
            outbound: None,
        }
    }
}

impl<S> ConnState<S> {
    /// The protocol version, once the handshake chose one.
    pub fn version(&self) -> Option<Version> {
        self.version
    }
}

impl<C: StatefulComponent> WebSocket<C> {
    /// Asks for the earliest deadline this connection has: the end of a handshake, or of
    /// the message in progress, or the next keepalive check.
    fn arm(&self, state: &ConnState<C::State>, out: &mut Outbox<'_>) {
        let at = if matches!(state.phase, Phase::Handshake) || state.close_sent {
            state.until
        } else {
            let message = state
                .message_since
                .map(|since| crate::protocol::deadline_after(since, self.config.message_timeout));
            [state.keepalive_at, message].into_iter().flatten().min()
        };
        out.set_deadline(at);
    }

    /// After frames were read: the message in progress counts against the inbound budget
    /// and its clock runs.
    fn account(&self, state: &mut ConnState<C::State>, out: &mut Outbox<'_>) {
        let (held, busy) = match &state.phase {
            Phase::Hybi(Some(d)) => (d.held(), d.in_progress()),
            Phase::Hybi(None) => (0, false),
            Phase::Hixie(d) => (d.held(), d.in_progress()),
            Phase::Handshake | Phase::Done => (0, false),
        };
        out.hold_inbound(held);
        state.message_since = match (busy, state.message_since) {
            (true, since) => since.or(Some(out.now())),
            (false, _) => None,
        };
    }

    fn keepalive(&self, state: &ConnState<C::State>) -> Option<std::time::Duration> {
        match state.version {
            Some(v) if v.is_hybi() => self.config.ping_interval,
            _ => self.config.hixie_idle_timeout,
        }
    }
}

impl<C: StatefulComponent> Protocol for WebSocket<C> {
    type ConnState = ConnState<C::State>;

    fn limits(&self) -> Result<Limits, ConfigError> {
        self.config.limits()
    }

    fn busy(&self, out: &mut Vec<u8>) {
        crate::http::write_busy(out);
    }

    fn connect(
        &mut self,
        id: ConnId,
        peer: SocketAddr,
        out: &mut Outbox<'_>,
    ) -> ConnState<C::State> {
        let until = out.after(self.config.handshake_timeout);
        let state = ConnState::new(Conn::new(id, peer, None), until);
        self.arm(&state, out);
        state
    }

    fn dial(
        &mut self,
        id: ConnId,
        dial: &Dial,
        peer: SocketAddr,
        out: &mut Outbox<'_>,
    ) -> Option<ConnState<C::State>> {
        Some(self.dial_state(id, dial, peer, out))
    }

    fn dial_failed(&mut self, id: ConnId, dial: &Dial, error: ConnectError) -> Commands {
        crate::stateful::tell_unreachable(&mut self.app, id, dial.key, error)
    }

    fn failed(&mut self, state: &mut ConnState<C::State>, error: &std::io::Error) {
        Self::client_failed(state, error);
    }

    fn dial_outcome(&self, state: &ConnState<C::State>) -> DialOutcome {
        Self::outcome(state)
    }

    fn data(
        &mut self,
        state: &mut ConnState<C::State>,
        data: &mut [u8],
        out: &mut Outbox<'_>,
    ) -> usize {
        if data.is_empty() {
            return 0;
        }
        state.heard_from = true;
        let pos = match state.phase {
            Phase::Handshake if state.outbound.is_some() => self.client_handshake(state, data, out),
            Phase::Handshake => self.handshake(state, data, out),
            Phase::Done => return data.len(),
            _ => 0,
        };
        state.conn.set_buffered_amount(out.pending_output());
        let id = state.conn.id();
        let consumed = match &mut state.phase {
            Phase::Handshake => pos,
            Phase::Hybi(slot) => {
                let decoder = slot.get_or_insert_with(|| {
                    self.decoders.lend(decoders::Settings {
                        max_message: self.config.max_message_size,
                        max_frame: self.config.frame_size(),
                        deflate: state.deflate.as_ref().map(|d| d.params()),
                        client: state.outbound.is_some(),
                    })
                });
                decoder.start_slice(self.config.inflate_per_turn, self.large.may(id));
                self.hybi_frames(state, data, pos, out)
            }
            Phase::Hixie(_) => self.hixie_frames(state, data, pos, out),
            Phase::Done => data.len(),
        };
        match &state.phase {
            Phase::Hybi(None) => {}
            Phase::Hybi(Some(decoder)) => {
                let session = decoder.session();
                self.counts.received_compressed(session.compressed);
                self.large.after(id, session);
                if session.yielded {
                    out.yield_turn();
                }
            }
            Phase::Done => self.large.forget(id),
            Phase::Handshake | Phase::Hixie(_) => {}
        }
        self.account(state, out);
        if let Phase::Hybi(slot) = &mut state.phase {
            self.decoders.take_back(slot);
        }
        self.arm(state, out);
        consumed
    }

    /// The app thread handled the connection's messages: a protocol error that waited
    /// for them closes it now.
    fn wake(&mut self, state: &mut ConnState<C::State>, out: &mut Outbox<'_>) {
        self.failed_behind(state, out);
    }

    fn timeout(&mut self, state: &mut ConnState<C::State>, out: &mut Outbox<'_>) {
        let open = !state.close_sent && matches!(state.phase, Phase::Hybi(_) | Phase::Hixie(_));
        if !open {
            // The handshake or the closing handshake took too long.
            if matches!(state.phase, Phase::Handshake) {
                log::debug!("handshake with {} timed out", state.conn.peer());
                Self::client_timed_out(state);
            }
            state.phase = Phase::Done;
            out.shutdown();
            return;
        }
        let now = out.now();
        let message_due = state.message_since.is_some_and(|since| {
            crate::protocol::deadline_after(since, self.config.message_timeout) <= now
        });
        if message_due {
            self.fail(state, crate::ProtocolError::MessageTimeout, out);
            self.account(state, out);
            return;
        }
        if state.keepalive_at.is_some_and(|at| at <= now) {
            let hybi = matches!(state.phase, Phase::Hybi(_));
            let heard = std::mem::take(&mut state.heard_from);
            if !heard && (state.pinged || !hybi) {
                log::debug!("connection {} went silent; closing it", state.conn.id());
                state.phase = Phase::Done; // closes at once, without waiting for a reply
                self.close(state, CloseCode::Away, "no response", out);
                return;
            }
            state.pinged = hybi && !heard;
            if state.pinged {
                rfc6455::write_ping(out.output(), b"", state.mask());
            }
            state.keepalive_at = self.keepalive(state).map(|every| out.after(every));
        }
        self.arm(state, out);
    }

    fn start(&mut self, handle: &crate::Handle) -> Commands {
        let app = &mut self.app;
        guard_logged("on_start", || app.on_start(handle))
    }

    fn timer(&mut self, _scope: TimerScope, key: u64) -> Commands {
        let app = &mut self.app;
        guard_logged("on_timer", || app.on_timer(key))
    }

    fn overflow(
        &mut self,
        state: &mut ConnState<C::State>,
        policy: Overflow,
        out: &mut Outbox<'_>,
    ) {
        let app = &mut self.app;
        match guard(|| app.on_error(&state.conn, &mut state.app, Error::Overflow)) {
            Ok(cmds) => out.commands(cmds),
            Err(panic) => log::error!(
                "on_error panicked on connection {}: {panic}",
                state.conn.id()
            ),
        }
        if policy == Overflow::Close {
            state.phase = Phase::Done; // closes at once, without waiting for a reply
            self.close(state, CloseCode::Policy, "not reading fast enough", out);
        }
    }

    fn disconnect(&mut self, mut state: ConnState<C::State>, out: &mut Outbox<'_>) {
        self.large.forget(state.conn.id());
        self.report_unopened(&mut state, out);
        if let (true, Some(version)) = (state.opened, state.version) {
            self.counts.closed(version);
        }
        if state.opened {
            let app = &mut self.app;
            let ConnState {
                conn, app: mine, ..
            } = state;
            match guard(|| app.on_close(&conn, mine)) {
                Ok(cmds) => out.commands(cmds),
                Err(panic) => log::error!("on_close panicked on connection {}: {panic}", conn.id()),
            }
        }
    }

    fn awaits_request(&self, state: &ConnState<C::State>) -> bool {
        matches!(state.phase, Phase::Handshake)
    }

    fn metrics(&self, metrics: &mut crate::exposition::Exposition) {
        self.counts.write(metrics);
    }

    fn extensions<'a>(&self, state: &'a mut ConnState<C::State>) -> Option<&'a mut Extensions> {
        Some(state.conn.extensions_mut())
    }

    fn encoding(&self, state: &ConnState<C::State>) -> Option<u8> {
        self.encoding_of(state)
    }

    fn encode(&mut self, state: &mut ConnState<C::State>, msg: &Payload, buf: &mut Vec<u8>) {
        self.frame(state, msg, buf);
    }

    fn close(
        &mut self,
        state: &mut ConnState<C::State>,
        code: CloseCode,
        reason: &str,
        out: &mut Outbox<'_>,
    ) {
        if state.close_sent {
            return;
        }
        Self::closing(state);
        state.close_sent = true;
        let Some(version) = state.version else {
            if code == CloseCode::Away && matches!(state.phase, Phase::Handshake) {
                // Going away before the upgrade (a server shutting down or handing over to
                // its successor): an answer the client can act on, not a silent close.
                crate::http::write_going_away(out.output(), reason);
            }
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
            rfc6455::write_close(out.output(), code, reason, state.mask());
            if matches!(state.phase, Phase::Done) && !state.waits_for_server_close() {
                // The peer closed first, or failed: nothing more to read.
                out.shutdown();
            } else {
                state.until = Some(out.after(self.config.close_timeout));
                self.arm(state, out);
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

/// Several workers: the application goes to the app thread, each worker gets the
/// decorator with the same configuration around a [`Remote`](crate::workers::Remote).
impl<C> crate::workers::Split for WebSocket<C>
where
    C: StatefulComponent + Send + 'static,
    C::State: Send,
{
    type Worker = WebSocket<crate::workers::Remote>;

    fn split(self, apps: &mut crate::workers::Apps) -> crate::workers::Replica<Self::Worker> {
        let app = apps.add(self.app);
        let config = self.config;
        Box::new(move |uplink| {
            let remote = crate::workers::Remote::new(app, uplink);
            WebSocket::with_config(remote, config.clone())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{Command, IntoCommands};
    use crate::component::Component;
    use crate::message::Message;
    use crate::protocol::{Control, Inbound};
    use std::time::Instant;

    /// Answers every message with the sender's buffered amount.
    struct Buffered;

    impl Component for Buffered {
        fn on_message(&mut self, from: &Conn, _msg: Message<'_>) -> impl IntoCommands {
            from.send(from.buffered_amount().to_string())
        }
    }

    #[test]
    fn handlers_see_the_bytes_a_client_has_not_taken() {
        let mut ws = WebSocket::new(Buffered);
        let id = ConnId::from_raw(1);
        let peer = SocketAddr::from(([127, 0, 0, 1], 9));
        let (mut output, mut commands, mut control) = (Vec::new(), Vec::new(), Control::default());
        let mut inbound = Inbound::unlimited();
        let mut state = {
            let mut out = Outbox::new(
                id,
                Instant::now(),
                &mut output,
                &mut commands,
                &mut control,
                &mut inbound,
            );
            ws.connect(id, peer, &mut out)
        };
        let mut bytes = b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".to_vec();
        bytes.extend(rfc6455::tests::client_frame(true, 1, b"how much?"));
        let mut out = Outbox::new(
            id,
            Instant::now(),
            &mut output,
            &mut commands,
            &mut control,
            &mut inbound,
        )
        .with_pending(70_000, 1 << 20);
        let consumed = ws.data(&mut state, &mut bytes, &mut out);
        assert_eq!(consumed, bytes.len());
        assert_eq!(commands, [Command::send(id, "70000")]);
    }
}
