//! The line decorator: a newline-delimited TCP protocol, for `nc` and telnet users.
//!
//! Each line (without its `\n` or `\r\n`) is a message: text if it is valid UTF-8, binary
//! otherwise. Each message sent goes out followed by `\n`.

use crate::command::{Commands, IntoCommands, TimerScope};
use crate::component::{guard, guard_logged};
use crate::conn::{Conn, ConnId, Extensions};
use crate::door::{Answer, Door};
use crate::error::{ConfigError, Error, ProtocolError};
use crate::message::{Message, Payload};
use crate::protocol::{Limits, Outbox, Overflow, Protocol};
use crate::rate::{OverRate, Verdict};
use crate::stateful::StatefulComponent;
use crate::CloseCode;
use std::net::SocketAddr;

/// Limits of the line decorator.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    max_line_length: usize,
    rate: Option<crate::rate::Rate>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_line_length: 32 << 10,
            rate: None,
        }
    }
}

impl Config {
    /// Longest line accepted, in bytes; a longer one is an error (`on_error`) and closes
    /// the connection. A line waits whole in the server's read buffer, which must be
    /// larger. Default: 32 KiB.
    #[must_use]
    pub fn max_line_length(mut self, bytes: usize) -> Self {
        self.max_line_length = bytes;
        self
    }

    /// How fast each connection may send lines (see [`Rate`](crate::Rate)); over it, a
    /// line is dropped (`on_error` hears `RateLimited`) or the connection closed. Default:
    /// no limit.
    #[must_use]
    pub fn rate(mut self, rate: crate::rate::Rate) -> Self {
        self.rate = Some(rate);
        self
    }
}

/// Wraps a [`Component`](crate::Component) (or a [`StatefulComponent`]) and serves it line by line over plain TCP.
///
/// ```no_run
/// use ratchet::{Commands, Component, Conn, IntoCommands, Line, Message, Server};
///
/// struct Echo;
///
/// impl Component for Echo {
///     fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
///         from.send(msg)
///     }
/// }
///
/// Server::new(Line::new(Echo)).bind("127.0.0.1:2323")?.run()
/// # ; Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Line<C> {
    app: C,
    config: Config,
    /// Connections open now, and messages (lines) received, for a scrape.
    open: u64,
    received: u64,
    received_bytes: u64,
}

impl<C> Line<C> {
    /// The decorator with default limits.
    pub fn new(app: C) -> Self {
        Self::with_config(app, Config::default())
    }

    /// The decorator with the given limits.
    pub fn with_config(app: C, config: Config) -> Self {
        Line {
            app,
            config,
            open: 0,
            received: 0,
            received_bytes: 0,
        }
    }

    /// The wrapped application.
    pub fn app(&self) -> &C {
        &self.app
    }
}

impl<C: StatefulComponent> Line<C> {
    /// Runs a handler; a panic closes the connection.
    fn call(
        &mut self,
        state: &mut ConnState<C::State>,
        out: &mut Outbox<'_>,
        f: impl FnOnce(&mut C, &Conn, &mut C::State) -> Commands,
    ) {
        let app = &mut self.app;
        match guard(|| f(app, &state.conn, &mut state.app)) {
            Ok(cmds) => out.commands(cmds),
            Err(_) => {
                log::error!("handler panicked on connection {}", state.conn.id());
                state.closed = true;
                out.shutdown();
            }
        }
    }

    /// Lets the connection in (`on_open`), or refuses it: the reason goes out as a line
    /// (there is no HTTP here), and the connection closes; or waits for the door's answer.
    fn enter(&mut self, state: &mut ConnState<C::State>, door: Door, out: &mut Outbox<'_>) {
        let reason = match door {
            Door::Open => {
                state.opened = true;
                self.open += 1;
                self.call(state, out, |app, conn, me| {
                    app.on_open(conn, me).into_commands()
                });
                return;
            }
            Door::Later => {
                state.knocking = true;
                return;
            }
            Door::Refuse(refuse) => refuse.reason().to_owned(),
        };
        log::debug!("{} refused at the door: {reason}", state.conn.peer());
        out.output()
            .extend_from_slice(format!("refused: {reason}\n").as_bytes());
        state.closed = true;
        out.shutdown();
    }

    /// Whether the door of a connection that waits for it has answered (and the
    /// connection is let in or refused by now).
    fn answered(&mut self, state: &mut ConnState<C::State>, out: &mut Outbox<'_>) -> bool {
        let Some(Answer(door)) = state.conn.extensions_mut().take::<Answer>() else {
            return false;
        };
        state.knocking = false;
        self.enter(state, door, out);
        !state.knocking
    }

    /// A line longer than the limit: the application hears of it, the connection closes.
    fn too_long(&mut self, state: &mut ConnState<C::State>, out: &mut Outbox<'_>) {
        let err = ProtocolError::MessageTooBig;
        self.call(state, out, |app, conn, me| {
            app.on_error(conn, me, Error::Protocol(err)).into_commands()
        });
        state.closed = true;
        out.shutdown();
    }
}

/// One line connection's state, and the application's (`S`).
#[derive(Debug)]
pub struct ConnState<S = ()> {
    conn: Conn,
    app: S,
    /// The application saw `on_open` (and will see `on_close`).
    opened: bool,
    closed: bool,
    /// The door said it would answer later: nothing is read until it does.
    knocking: bool,
    /// What the connection may still send under the configured rate.
    allowance: Option<Box<crate::rate::Allowance>>,
}

impl<C: StatefulComponent> Protocol for Line<C> {
    type ConnState = ConnState<C::State>;

    fn limits(&self) -> Result<Limits, ConfigError> {
        if self.config.max_line_length == 0 {
            return Err(ConfigError::new("line: max_line_length must be at least 1"));
        }
        if let Some(rate) = &self.config.rate {
            rate.check(self.config.max_line_length)?;
        }
        // A line waits whole, with its `\r\n`.
        Ok(Limits::default()
            .with_unconsumed(self.config.max_line_length + 2)
            .with_message(self.config.max_line_length))
    }

    fn connect(
        &mut self,
        id: ConnId,
        peer: SocketAddr,
        out: &mut Outbox<'_>,
    ) -> ConnState<C::State> {
        let mut state = ConnState {
            conn: Conn::new(id, peer, None),
            app: C::State::default(),
            opened: false,
            closed: false,
            knocking: false,
            allowance: None,
        };
        let mut door = Door::Open;
        self.call(&mut state, out, |app, conn, me| {
            door = app.on_request(conn, me);
            Commands::none()
        });
        self.enter(&mut state, door, out);
        state
    }

    fn data(
        &mut self,
        state: &mut ConnState<C::State>,
        data: &mut [u8],
        out: &mut Outbox<'_>,
    ) -> usize {
        if state.knocking && !self.answered(state, out) {
            out.await_input();
            return 0;
        }
        let mut pos = 0;
        // Nothing more is delivered once the application asked to close.
        while !state.closed && !out.close_requested() {
            if !out.draining() && self.app.holds(&mut state.conn, &mut state.app) {
                out.pause_input();
                break;
            }
            let Some(end) = data[pos..].iter().position(|&b| b == b'\n') else {
                if data.len() - pos > self.config.max_line_length + 1 {
                    self.too_long(state, out);
                }
                break;
            };
            let line = &data[pos..pos + end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            pos += end + 1;
            if line.len() > self.config.max_line_length {
                self.too_long(state, out);
                break;
            }
            let rate = self.config.rate.as_ref();
            match crate::rate::judge(rate, &mut state.allowance, out.now(), line.len()) {
                Verdict::Pass => {}
                Verdict::Refuse(OverRate::Close) => {
                    log::debug!("connection {} sends too fast; closing it", state.conn.id());
                    state.closed = true;
                    out.shutdown();
                    break;
                }
                Verdict::Refuse(_) => {
                    self.call(state, out, |app, conn, me| {
                        app.on_error(conn, me, Error::RateLimited).into_commands()
                    });
                    continue;
                }
            }
            self.received += 1;
            self.received_bytes += line.len() as u64;
            let msg = match std::str::from_utf8(line) {
                Ok(text) => Message::Text(text),
                Err(_) => Message::Binary(line),
            };
            self.call(state, out, |app, conn, me| {
                app.on_message(conn, me, msg).into_commands()
            });
        }
        if state.closed {
            data.len()
        } else {
            pos
        }
    }

    fn wake(&mut self, state: &mut ConnState<C::State>, out: &mut Outbox<'_>) {
        if state.knocking {
            self.answered(state, out);
        }
    }

    fn timeout(&mut self, _state: &mut ConnState<C::State>, _out: &mut Outbox<'_>) {}

    fn overflow(
        &mut self,
        state: &mut ConnState<C::State>,
        policy: Overflow,
        out: &mut Outbox<'_>,
    ) {
        self.call(state, out, |app, conn, me| {
            app.on_error(conn, me, Error::Overflow).into_commands()
        });
        if policy == Overflow::Close && !state.closed {
            log::debug!("connection {} does not read; closing it", state.conn.id());
            state.closed = true;
            out.shutdown();
        }
    }

    fn start(&mut self, handle: &crate::Handle) -> Commands {
        let app = &mut self.app;
        guard_logged("on_start", || app.on_start(handle))
    }

    // No client role (`dial` is left to its default); an application served over lines
    // that connects out hears why it cannot.
    fn dial_failed(
        &mut self,
        id: ConnId,
        dial: &crate::protocol::Dial,
        error: crate::outbound::ConnectError,
    ) -> Commands {
        crate::stateful::tell_unreachable(&mut self.app, id, dial.key, error)
    }

    fn timer(&mut self, _scope: TimerScope, key: u64) -> Commands {
        let app = &mut self.app;
        guard_logged("on_timer", || app.on_timer(key))
    }

    fn disconnect(&mut self, state: ConnState<C::State>, out: &mut Outbox<'_>) {
        if !state.opened {
            return;
        }
        self.open -= 1;
        let ConnState {
            conn, app: mine, ..
        } = state;
        let app = &mut self.app;
        match guard(|| app.on_close(&conn, mine)) {
            Ok(cmds) => out.commands(cmds),
            Err(panic) => log::error!("on_close panicked on connection {}: {panic}", conn.id()),
        }
    }

    fn metrics(&self, e: &mut crate::exposition::Exposition) {
        let connections = crate::exposition::CONNECTIONS;
        e.gauge(
            "ratchet_connections",
            connections,
            &[("protocol", "line")],
            self.open as f64,
        );
        crate::exposition::received(e, self.received, self.received_bytes);
    }

    fn extensions<'a>(&self, state: &'a mut ConnState<C::State>) -> Option<&'a mut Extensions> {
        Some(state.conn.extensions_mut())
    }

    fn encoding(&self, state: &ConnState<C::State>) -> Option<u8> {
        (!state.closed).then_some(0)
    }

    fn encode(&mut self, state: &mut ConnState<C::State>, msg: &Payload, buf: &mut Vec<u8>) {
        if !state.closed {
            buf.extend_from_slice(msg.as_bytes());
            buf.push(b'\n');
        }
    }

    fn close(
        &mut self,
        state: &mut ConnState<C::State>,
        _code: CloseCode,
        _reason: &str,
        out: &mut Outbox<'_>,
    ) {
        state.closed = true;
        out.shutdown();
    }
}

/// Several workers: the application goes to the app thread, each worker gets the
/// decorator with the same configuration around a [`Remote`](crate::workers::Remote).
impl<C> crate::workers::Split for Line<C>
where
    C: StatefulComponent + Send + 'static,
    C::State: Send,
{
    type Worker = Line<crate::workers::Remote>;

    fn split(self, apps: &mut crate::workers::Apps) -> crate::workers::Replica<Self::Worker> {
        let app = apps.add(self.app);
        let config = self.config;
        Box::new(move |uplink| {
            let remote = crate::workers::Remote::new(app, uplink);
            Line::with_config(remote, config.clone())
        })
    }
}
