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
mod event_loop;
mod execute;
mod flow;
mod gather;
#[cfg(feature = "main")]
mod handoff;
mod history;
mod hub;
mod metrics;
mod outbound;
mod output;
mod place;
mod presence;
mod requests;
#[cfg(feature = "main")]
mod signals;
mod sockets;
mod threads;
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
use crate::protocol::Protocol;
use crate::workers::Split;
use event_loop::Loop;
use mio::net::TcpListener;
use mio::Token;
use std::io::{self, ErrorKind};
use std::net::{SocketAddr, ToSocketAddrs};

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
    /// How many workers serve the connections.
    workers: usize,
    /// Whether each worker gets a listening socket of its own (with more than one).
    reuse_port: bool,
    /// How the stack is split for them (set by [`workers`](Server::workers)).
    split: Option<SplitFn<P>>,
}

/// Makes a split server's threads (see [`Server::workers`]).
type SplitFn<P> = fn(Server<P>, config::Valid, Vec<TcpListener>) -> io::Result<threads::Threads>;

/// What one loop takes of the server.
pub(crate) struct Parts<P> {
    pub protocol: P,
    pub bridge: Option<Box<dyn Bridge>>,
    pub history: Option<crate::history::History>,
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
            workers: 1,
            reuse_port: false,
            split: None,
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
            workers: self.workers,
            reuse_port: self.reuse_port,
            split: None,
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
            workers: self.workers,
            reuse_port: self.reuse_port,
            split: None,
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
            workers: self.workers,
            reuse_port: self.reuse_port,
            split: None,
        }
    }

    /// Replaces the limits.
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Whether the sockets bound are shared by the workers' siblings.
    fn shares_port(&self) -> bool {
        self.reuse_port && self.workers > 1
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
        let first = sockets::bind_first(&first, self.shares_port())?;
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
        if self.workers > 1 && self.split.is_none() {
            return Err(io::Error::new(
                ErrorKind::InvalidInput,
                "`workers` must come after `listen`, `tls` and `outbound_tls`",
            ));
        }
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
            listeners.push(sockets::bind_first(&addrs, self.shares_port())?);
        }
        match self.split {
            Some(split) if self.workers > 1 => Ok(Listening {
                inner: Inner::Many(split(self, config, listeners)?),
            }),
            _ => {
                let parts = Parts {
                    protocol: self.protocol,
                    bridge: self.bridge,
                    history: self.history,
                };
                let one = Loop::new(parts, config, listeners, None)?;
                Ok(Listening {
                    inner: Inner::One(one),
                })
            }
        }
    }
}

impl<P: Split> Server<P>
where
    <P::Worker as Protocol>::ConnState: Send,
{
    /// Serves the connections from `n` worker threads (at least 1; 1, the default, is one
    /// event loop that does everything). Call it last, after [`listen`](Server::listen)
    /// and [`tls`](Server::tls).
    ///
    /// The application stays one instance whose handlers run one at a time, as with one
    /// loop: a chat whose [`ConnSet`](crate::ConnSet) holds every client still sees every
    /// client, and every client sees the messages in the same order. What runs on the
    /// workers is the rest: accepting, reading, writing, TLS, handshakes, framing, UTF-8
    /// checks, inflating and compressing.
    ///
    /// - **Who owns a connection**: the worker that accepted it (every worker accepts on a
    ///   copy of each listening socket, or on one of its own: see
    ///   [`reuse_port`](Server::reuse_port)), for its whole life. Its [`ConnId`](crate::ConnId)
    ///   names that worker, so anything addressed to it goes straight there.
    /// - **Where a command executes**: the applications run on an *app thread* of their
    ///   own (see [`workers`](crate::workers)). A worker sends up what happened on its
    ///   connections (opened, a message, closed) in one batch per loop turn; the app thread
    ///   calls the handlers in the order the batches came, keeps the topics, the
    ///   application's timers and the [`Bridge`], and sends each worker the commands for
    ///   its connections in one batch per turn of its own. A message to many is split by
    ///   worker, each worker framing (and compressing) it once for its recipients.
    /// - **Backpressure across threads**: the app thread's queue is the
    ///   [`handle_queue`](Config::handle_queue) bound; a worker whose batch does not fit
    ///   waits for room and reads nothing meanwhile, so its clients are slowed by TCP, not
    ///   buffered. What goes down to a worker is bounded by what came up; each connection's
    ///   output is bounded by its budget and [`Overflow`] policy on its worker, as with one
    ///   loop.
    /// - **Order**: the data messages of one read go up together; what comes after them
    ///   (the next read, a control frame, a protocol error, the peer's end) is decoded
    ///   only once the app thread has handled them (an acknowledgement follows each
    ///   message's commands down), so what the worker answers by itself (a pong, a close,
    ///   a protocol error's close) never overtakes a reply, as on one loop; messages that
    ///   come up after the application asked to close their connection are not handled,
    ///   as on one loop. (With a rate limit, or Hixie-76 framing, or lines, one message at
    ///   a time.) What arrives meanwhile waits, within half the read buffer, and the
    ///   peer's end waits behind it; a connection that fails still has its waiting
    ///   messages handled. Every knock goes to the app thread's door too.
    /// - **When the app thread is the bottleneck**: handlers run on one core, so a server
    ///   whose handlers cost more than the workers' I/O saturates that core first; more
    ///   workers then add nothing.
    /// - **Limits**: the connection cap is the server's (the workers count together); the
    ///   inbound budget is split between them; timers, topics and the [`Bridge`] are the app
    ///   thread's; outbound connections are made by the first worker (for an application
    ///   behind routes or a second listener too: the app thread knows where it sits).
    /// - **Metrics**: a scrape is one page whichever worker takes it: that worker asks the
    ///   app thread, which gathers every worker's numbers (asked for, not shared: nothing
    ///   on the message path is synchronised) and its own, and adds them up; each worker's
    ///   loop turns keep a `worker` label.
    /// - **Presence and history** are kept on the app thread with the topics, as one loop
    ///   keeps them (and through the bridge for every process): a publish on a
    ///   [`history`](Server::history) topic is numbered there, and a recovery is sewn to
    ///   the live messages there.
    ///
    /// ```no_run
    /// use ratchet::{Commands, Component, Conn, ConnSet, Message, Server, WebSocket};
    ///
    /// #[derive(Default)]
    /// struct Chat {
    ///     clients: ConnSet,
    /// }
    ///
    /// impl Component for Chat {
    ///     fn on_open(&mut self, conn: &Conn) -> Commands {
    ///         self.clients.insert(conn);
    ///         Commands::none()
    ///     }
    ///     fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> Commands {
    ///         self.clients.send(msg).into()
    ///     }
    ///     fn on_close(&mut self, conn: &Conn) -> Commands {
    ///         self.clients.remove(conn);
    ///         Commands::none()
    ///     }
    /// }
    ///
    /// Server::new(WebSocket::new(Chat::default()))
    ///     .workers(2)
    ///     .bind("127.0.0.1:8080")?
    ///     .run()
    /// # ; Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self.split = Some(threads::Threads::split);
        self
    }

    /// Gives each worker a listening socket of its own on every address (`SO_REUSEPORT`:
    /// the kernel hands each new connection to one of them), rather than one socket that
    /// all the workers poll, which is the default. It matters only with more than one
    /// [worker](Server::workers).
    ///
    /// Measured with two workers (BENCHMARKS.md, "One listener or one per worker"), a
    /// socket each took 10–19% less CPU per handshake and served 11–15% more handshakes
    /// a second: one shared socket wakes every worker for each connection, when only one
    /// can take it, and that waste grows with the workers. Both spread the connections
    /// evenly, and once a connection is open the two cost the same. It is not the
    /// default because of restarts: the sockets of the old process's other workers close
    /// with it, and a connection the kernel had queued on one of them at that moment is
    /// reset, where a shared socket passes to the successor whole (see
    /// [`Server::from_listener`]). With `net.ipv4.tcp_migrate_req = 1` (Linux 5.14) the
    /// kernel moves such connections to a socket still open, and nothing is lost.
    ///
    /// Either way the address stays the server's own: binding fails if anyone holds it
    /// already, and only a process of the same user that asks to share can join the
    /// workers' sockets. A socket [inherited](Server::from_listener) is shared unless it
    /// was bound with `SO_REUSEPORT`. A connection waits for the worker whose socket took
    /// it, even while another is idle.
    #[must_use]
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.reuse_port = on;
        self
    }
}

/// A bound server, ready to [`run`](Listening::run).
pub struct Listening<P: Protocol> {
    inner: Inner<P>,
}

// One per server, made once: the size of the loop inline costs nothing.
#[allow(clippy::large_enum_variant)]
enum Inner<P: Protocol> {
    One(Loop<P>),
    Many(threads::Threads),
}

impl<P: Protocol> std::fmt::Debug for Listening<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listening")
            .field("local_addrs", &self.local_addrs())
            .finish_non_exhaustive()
    }
}

impl<P: Protocol> Listening<P> {
    /// The address the server listens on (with the real port when bound to port 0); the
    /// first listener's, with [`Server::listen`].
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addrs()[0]
    }

    /// The addresses of every listener, in the order they were given.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        match &self.inner {
            Inner::One(one) => one.local_addrs(),
            Inner::Many(many) => many.local_addrs(),
        }
    }

    /// A handle for other threads.
    pub fn handle(&self) -> Handle {
        match &self.inner {
            Inner::One(one) => one.handle(),
            Inner::Many(many) => many.handle(),
        }
    }

    /// Shuts down gracefully on SIGINT or SIGTERM (a second signal stops at once),
    /// reloads what the protocols load from files (TLS certificates) on SIGHUP, and on
    /// SIGUSR2 starts its successor on the same sockets, then shuts down once the successor
    /// serves (see the crate's "Deploying" section). (The `main` feature, on by default.)
    #[cfg(feature = "main")]
    pub fn shutdown_on_signals(self) -> io::Result<Self> {
        let inner = match self.inner {
            Inner::One(one) => Inner::One(one.shutdown_on_signals()?),
            Inner::Many(many) => Inner::Many(many.shutdown_on_signals()?),
        };
        Ok(Listening { inner })
    }

    /// Serves until shut down (through a [`Handle`] or a signal), or until the event loop
    /// fails.
    pub fn run(self) -> io::Result<()> {
        match self.inner {
            Inner::One(one) => one.run(),
            Inner::Many(many) => many.run(),
        }
    }
}

/// What every connection costs in the server's table, kept from growing unnoticed.
#[cfg(all(test, target_pointer_width = "64"))]
mod sizes;
