//! The server: a `mio` event loop that owns the sockets and is the only place commands
//! are carried out.
//!
//! One file per concept: the loop (here), [`Config`] and its checks, the connection and
//! its lifecycle (`connection.rs`), the core that calls into the protocol (`core.rs`),
//! reading and writing under the output budget (`flow.rs`), carrying out commands
//! (`execute.rs`), what falls due at each turn (`due.rs`), output buffers (`output.rs`),
//! topics, timers, and the [`Bridge`] to other processes. The cross-thread [`Handle`] is a core type of its own
//! ([`crate::handle`]), as decorators and applications hold it too.

mod bridge;
mod config;
mod connection;
mod core;
mod dials;
mod due;
mod execute;
mod flow;
#[cfg(feature = "main")]
mod handoff;
mod history;
mod metrics;
mod outbound;
mod output;
mod presence;
#[cfg(feature = "main")]
mod signals;
mod timers;
mod transport;

pub use self::bridge::Bridge;
pub use self::config::{raise_open_files_limit, Config};
#[cfg(feature = "main")]
pub use self::handoff::announce_ready;
pub use crate::handle::{Handle, SendError, Stats};
pub use crate::protocol::Overflow;

pub(crate) use self::core::Core;
pub(crate) use self::transport::Transport;
use crate::handle::{Request, Wake};
use crate::protocol::Protocol;
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use std::collections::VecDeque;
use std::io::{self, ErrorKind};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WAKER: Token = Token(usize::MAX - 1);
#[cfg(feature = "main")]
const SIGNALS: Token = Token(usize::MAX - 2);
/// Listener `i` is `Token(FIRST_LISTENER - i)`, below every other fixed token and far
/// above every connection's slot (at most 2^20 of them).
const FIRST_LISTENER: usize = usize::MAX - 3;
/// The most listening sockets one server binds.
const MAX_LISTENERS: usize = 64;

/// A server for a protocol decorator: `Server::new(WebSocket::new(app))`.
#[derive(Debug)]
pub struct Server<P> {
    protocol: P,
    config: Config,
    bridge: Option<Box<dyn Bridge>>,
    history: Option<crate::history::History>,
    /// The addresses of listeners after the first, in order.
    more: Vec<Vec<SocketAddr>>,
}

impl<P: Protocol> Server<P> {
    /// A server with default limits.
    pub fn new(protocol: P) -> Self {
        Server {
            protocol,
            config: Config::default(),
            bridge: None,
            history: None,
            more: Vec::new(),
        }
    }

    /// Serves `protocol` too, on its own listening socket at `addr`: one server, one event
    /// loop, the connections of both in it (so commands, topics and timers reach all of
    /// them, each framed by its own protocol). With a [`Shared`](crate::Shared) app, one
    /// application serves both; see there for an example.
    ///
    /// The address is resolved now and bound by [`bind`](Server::bind), after the first.
    pub fn listen<Q: Protocol>(
        self,
        addr: impl ToSocketAddrs,
        protocol: Q,
    ) -> io::Result<Server<crate::Listeners<P, Q>>> {
        let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
        if addrs.is_empty() {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                "no address to listen on",
            ));
        }
        let mut more = self.more;
        more.push(addrs);
        Ok(Server {
            protocol: crate::Listeners::new(self.protocol, protocol),
            config: self.config,
            bridge: self.bridge,
            history: self.history,
            more,
        })
    }

    /// Passes every publish on to other processes, and theirs to this one's subscribers.
    #[must_use]
    pub fn bridge(mut self, bridge: impl Bridge + 'static) -> Self {
        self.bridge = Some(Box::new(bridge));
        self
    }

    /// Keeps the history of the topics `history` names, for clients that come back to
    /// recover what they missed: see [`history`](crate::history).
    #[must_use]
    pub fn history(mut self, history: crate::history::History) -> Self {
        self.history = Some(history);
        self
    }

    /// Serves every listener over TLS with `certs`: the protocol becomes
    /// [`Tls`](crate::tls::Tls) around it.
    #[cfg(feature = "tls")]
    pub fn tls(self, certs: crate::tls::TlsCertificates) -> Server<crate::tls::Tls<P>> {
        Server {
            protocol: crate::tls::Tls::new(self.protocol, certs),
            config: self.config,
            bridge: self.bridge,
            history: self.history,
            more: self.more,
        }
    }

    /// Serves every listener in plain text, and makes the outbound `wss://` connections
    /// the application asks for: the protocol becomes
    /// [`Tls::outbound`](crate::tls::Tls::outbound) around it.
    #[cfg(feature = "tls")]
    pub fn outbound_tls(self) -> Server<crate::tls::Tls<P>> {
        Server {
            protocol: crate::tls::Tls::outbound(self.protocol),
            config: self.config,
            bridge: self.bridge,
            history: self.history,
            more: self.more,
        }
    }

    /// Replaces the limits.
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Checks the configuration (the server's limits against each other and against the
    /// protocol's: an error of kind `InvalidInput` says what contradicts what), then binds
    /// the listening socket (port 0 picks a free port; see [`Listening::local_addr`]).
    ///
    /// With [`listen`](Server::listen), `addr` is the first listener's, and the others are
    /// bound after it.
    pub fn bind(self, addr: impl ToSocketAddrs) -> io::Result<Listening<P>> {
        let config = self.checked()?;
        let first: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
        let first = bind_first(&first)?;
        self.bind_rest(config, vec![first])
    }

    /// Serves on `listener`, a socket someone else bound: one inherited from systemd's
    /// socket activation (so that a program that never runs as root serves port 80 or
    /// 443), or from the process this one replaces. With [`listen`](Server::listen), it is
    /// the first listener, and the others are bound after it.
    pub fn from_listener(self, listener: std::net::TcpListener) -> io::Result<Listening<P>> {
        self.from_listeners(vec![listener])
    }

    /// Serves on `listeners`, sockets someone else bound, in the order of the server's
    /// listeners (the first, then those of [`listen`](Server::listen)); the listeners they
    /// do not cover are bound by address. Errors if there are more of them than listeners,
    /// or none.
    pub fn from_listeners(
        mut self,
        listeners: Vec<std::net::TcpListener>,
    ) -> io::Result<Listening<P>> {
        let config = self.checked()?;
        if listeners.is_empty() || listeners.len() > 1 + self.more.len() {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "{} socket(s) given for {} listener(s)",
                    listeners.len(),
                    1 + self.more.len()
                ),
            ));
        }
        let mut inherited = Vec::with_capacity(listeners.len());
        for listener in listeners {
            listener.set_nonblocking(true)?;
            inherited.push(TcpListener::from_std(listener));
        }
        // The addresses of the listeners given are not bound.
        self.more.drain(..inherited.len() - 1);
        self.bind_rest(config, inherited)
    }

    /// The configuration, checked against the protocol's limits, and the number of
    /// addresses against the listeners the protocol serves.
    fn checked(&self) -> io::Result<config::Valid> {
        let config = self.config.clone().validate(self.protocol.limits()?)?;
        let wanted = self.protocol.listeners();
        if wanted != 1 + self.more.len() || wanted > MAX_LISTENERS {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "the protocol serves {wanted} listener(s) (at most {MAX_LISTENERS}), but {} address(es) were given",
                    1 + self.more.len()
                ),
            ));
        }
        Ok(config)
    }

    /// Binds the listeners after those `bound` already, and makes the server.
    fn bind_rest(
        mut self,
        config: config::Valid,
        bound: Vec<TcpListener>,
    ) -> io::Result<Listening<P>> {
        let mut listeners = bound;
        for addrs in std::mem::take(&mut self.more) {
            listeners.push(bind_first(&addrs)?);
        }
        Listening::new(self, config, listeners)
    }
}

/// A listener on the first of `addrs` that can be bound.
fn bind_first(addrs: &[SocketAddr]) -> io::Result<TcpListener> {
    let mut last = io::Error::new(ErrorKind::InvalidInput, "no address to bind");
    for &addr in addrs {
        match TcpListener::bind(addr) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = io::Error::new(e.kind(), format!("{addr}: {e}")),
        }
    }
    Err(last)
}

/// A bound server, ready to [`run`](Listening::run).
pub struct Listening<P: Protocol> {
    poll: Poll,
    listeners: Vec<TcpListener>,
    local_addrs: Vec<SocketAddr>,
    handle: Handle,
    #[cfg(feature = "main")]
    signals: Option<signals::Signals>,
    #[cfg(feature = "main")]
    handoff: handoff::Handoff,
    /// Set once shutting down: the instant the grace period ends.
    stopping: Option<Instant>,
    /// When accepting failed for want of descriptors: when to try again.
    accept_retry: Option<Instant>,
    /// Outbound attempts whose host is being resolved, by key and attempt.
    resolving: std::collections::HashMap<(crate::command::DialKey, u64), dials::Attempt>,
    /// Outbound attempts whose host waits to be resolved.
    to_resolve: VecDeque<dials::Attempt>,
    core: Core<P, mio::net::TcpStream>,
}

impl<P: Protocol> std::fmt::Debug for Listening<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listening")
            .field("local_addrs", &self.local_addrs)
            .finish_non_exhaustive()
    }
}

impl<P: Protocol> Listening<P> {
    fn new(
        server: Server<P>,
        config: config::Valid,
        mut listeners: Vec<TcpListener>,
    ) -> io::Result<Self> {
        let poll = Poll::new()?;
        let mut local_addrs = Vec::with_capacity(listeners.len());
        for (i, listener) in listeners.iter_mut().enumerate() {
            poll.registry()
                .register(listener, Token(FIRST_LISTENER - i), Interest::READABLE)?;
            local_addrs.push(listener.local_addr()?);
        }
        let waker = Arc::new(mio::Waker::new(poll.registry(), WAKER)?);
        let wake: Wake = Box::new(move || waker.wake());
        let (requests, bytes) = config.handle_queue();
        let handle = Handle::new(wake, requests, bytes);
        Ok(Listening {
            poll,
            listeners,
            local_addrs,
            handle: handle.clone(),
            #[cfg(feature = "main")]
            signals: None,
            #[cfg(feature = "main")]
            handoff: handoff::Handoff::default(),
            stopping: None,
            accept_retry: None,
            resolving: std::collections::HashMap::new(),
            to_resolve: VecDeque::new(),
            core: Core::new(server.protocol, config, server.bridge, handle)
                .with_history(server.history),
        })
    }

    /// The address the server listens on (with the real port when bound to port 0); the
    /// first listener's, with [`Server::listen`].
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addrs[0]
    }

    /// The addresses of every listener, in the order they were given.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// A handle for other threads.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Shuts down gracefully on SIGINT or SIGTERM (a second signal stops at once),
    /// reloads what the protocols load from files (TLS certificates) on SIGHUP, and on
    /// SIGUSR2 starts its successor on the same sockets, then shuts down once the successor
    /// serves (see the crate's "Deploying" section). (The `main` feature, on by default.)
    #[cfg(feature = "main")]
    pub fn shutdown_on_signals(mut self) -> io::Result<Self> {
        self.signals = Some(signals::Signals::register(self.poll.registry(), SIGNALS)?);
        Ok(self)
    }

    /// Serves until shut down (through a [`Handle`] or a signal), or until the event loop
    /// fails.
    pub fn run(mut self) -> io::Result<()> {
        let result = self.serve();
        self.handle.stop();
        result
    }

    fn serve(&mut self) -> io::Result<()> {
        self.core.start();
        self.dial_due();
        let mut events = Events::with_capacity(1024);
        let mut requests = VecDeque::new();
        loop {
            if let Some(grace_end) = self.stopping {
                if self.core.len() == 0 || Instant::now() >= grace_end {
                    log::info!("server stopped");
                    return Ok(());
                }
            }
            let now = Instant::now();
            let mut timeout = self.core.next_timeout(now);
            for until in [self.stopping, self.accept_retry].into_iter().flatten() {
                let left = until.saturating_duration_since(now);
                timeout = Some(timeout.map_or(left, |t| t.min(left)));
            }
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let woke = Instant::now();
            self.core.set_now(woke);
            for event in events.iter() {
                match event.token() {
                    WAKER => {
                        self.handle.take(&mut requests);
                        for request in requests.drain(..) {
                            match request {
                                Request::Shutdown => self.begin_shutdown(),
                                Request::Resolved(key, generation, addrs) => {
                                    self.resolved(key, generation, addrs);
                                }
                                request => self.core.request(request),
                            }
                        }
                    }
                    #[cfg(feature = "main")]
                    SIGNALS => {
                        let what = self.signals.as_mut().map(signals::Signals::pending);
                        match what.unwrap_or(signals::Signalled::Nothing) {
                            signals::Signalled::Reload => self.core.protocol_mut().reload(),
                            signals::Signalled::Handoff if self.stopping.is_none() => {
                                self.handoff.start(&self.listeners);
                            }
                            signals::Signalled::Stop if self.stopping.is_some() => {
                                log::warn!("second signal: stopping now");
                                return Ok(());
                            }
                            signals::Signalled::Stop => self.begin_shutdown(),
                            signals::Signalled::Handoff | signals::Signalled::Nothing => {}
                        }
                    }
                    Token(t) if t > FIRST_LISTENER - MAX_LISTENERS => {
                        self.accept(FIRST_LISTENER - t);
                    }
                    Token(slot) => {
                        if event.is_writable() {
                            self.core.writable(slot);
                        }
                        if event.is_readable() || event.is_read_closed() || event.is_error() {
                            self.core.readable(slot);
                        }
                    }
                }
            }
            if self.accept_retry.is_some_and(|at| at <= Instant::now()) {
                self.accept_retry = None;
                for index in 0..self.listeners.len() {
                    self.accept(index);
                }
            }
            self.core.turn();
            self.dial_due();
            self.core.metrics.turn(woke.elapsed());
        }
    }

    /// Stops accepting and asks the protocol to close every connection.
    fn begin_shutdown(&mut self) {
        if self.stopping.is_some() {
            return;
        }
        log::info!("shutting down: closing {} connection(s)", self.core.len());
        self.stopping = Some(Instant::now() + self.core.shutdown_grace());
        // Closed, not only left alone: a connection attempt from now on is refused at
        // once, or, when the socket is shared with a successor, queued for it.
        for mut listener in self.listeners.drain(..) {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        self.accept_retry = None;
        self.core.close_all();
    }

    /// Accepts what waits on listener `index`.
    fn accept(&mut self, index: usize) {
        if self.stopping.is_some() || index >= self.listeners.len() {
            return;
        }
        loop {
            let (mut stream, peer) = match self.listeners[index].accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Out of descriptors or memory: try again shortly rather than spin.
                    log::warn!("accept failed: {e}");
                    self.accept_retry = Some(Instant::now() + Duration::from_millis(50));
                    return;
                }
            };
            self.core.protocol_mut().enter(index);
            if !self.core.protocol_mut().accept(peer) {
                log::debug!("connection from {peer} refused at accept");
                continue;
            }
            let slot = self.core.vacant_slot();
            if let Err(e) = stream.set_nodelay(true).and_then(|()| {
                self.poll.registry().register(
                    &mut stream,
                    Token(slot),
                    Interest::READABLE | Interest::WRITABLE,
                )
            }) {
                log::warn!("could not register a connection from {peer}: {e}");
                continue;
            }
            if self.core.at_capacity() {
                self.core.refuse(stream, peer);
            } else {
                self.core.open(stream, peer);
            }
        }
    }
}

/// What every connection costs in the server's table, kept from growing unnoticed.
#[cfg(all(test, target_pointer_width = "64"))]
mod sizes;
