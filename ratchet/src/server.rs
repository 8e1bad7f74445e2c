//! The server: a `mio` event loop that owns the sockets and is the only place commands
//! are carried out.

use crate::command::{Command, To, Topic};
use crate::conn::ConnId;
use crate::message::Payload;
use crate::protocol::{Control, Outbox, Protocol};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LISTENER: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX - 2);
const SIGNALS: Token = Token(usize::MAX - 3);

/// Keep at most this much capacity in the shared frame scratch between sends.
const KEEP_CAPACITY: usize = 64 * 1024;

/// Output buffers kept for reuse, and the largest one kept: a connection holds an output
/// buffer only while it has bytes waiting, so idle connections cost none, and busy ones
/// reuse buffers instead of allocating one per message.
const SPARE_BUFFERS: usize = 1024;
const SPARE_BUFFER_MAX: usize = 1 << 20;

/// Reads per connection per loop turn before others get theirs.
const READS_PER_TURN: usize = 16;

/// Server limits. Every field has a documented default.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Size of the one read buffer shared by all connections. Default: 64 KiB.
    pub read_buffer_size: usize,
    /// Stop reading from a connection while this many bytes wait to be written to it,
    /// so a client that sends without reading cannot grow the server. Default: 1 MiB.
    pub read_pause_threshold: usize,
    /// After closing the write side, how long to keep draining the peer's bytes before
    /// dropping the socket (a "lingering close", so the peer sees our last bytes rather
    /// than a reset). Default: 2 s.
    pub linger: Duration,
    /// On shutdown, how long connections get to finish their closing handshakes before
    /// the server returns anyway. Default: 5 s.
    pub shutdown_grace: Duration,
    /// Most bytes that may wait to be written to one connection: a message sent while
    /// more than this waits is handled by [`overflow`](Config::overflow), so a
    /// connection's output never exceeds this plus one message. Default: 4 MiB.
    pub max_pending_output: usize,
    /// What happens to a connection whose client reads slower than it is sent to.
    /// Default: [`Overflow::Close`].
    pub overflow: Overflow,
}

/// The policy for a client that does not read fast enough (see
/// [`Config::max_pending_output`]). Either way, one slow client never grows the server
/// past the limit nor slows the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Overflow {
    /// Close the connection (1008 for WebSocket) and drop what it has not taken.
    #[default]
    Close,
    /// Drop the message that does not fit, and tell the application (`on_error` with
    /// [`Error::Overflow`](crate::Error::Overflow)); later messages go out once it drains.
    Drop,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            read_buffer_size: 64 << 10,
            read_pause_threshold: 1 << 20,
            linger: Duration::from_secs(2),
            shutdown_grace: Duration::from_secs(5),
            max_pending_output: 4 << 20,
            overflow: Overflow::Close,
        }
    }
}

impl Config {
    /// Sets [`read_buffer_size`](Config::read_buffer_size) (at least 1 KiB).
    #[must_use]
    pub fn read_buffer_size(mut self, bytes: usize) -> Self {
        self.read_buffer_size = bytes.max(1024);
        self
    }

    /// Sets [`read_pause_threshold`](Config::read_pause_threshold).
    #[must_use]
    pub fn read_pause_threshold(mut self, bytes: usize) -> Self {
        self.read_pause_threshold = bytes;
        self
    }

    /// Sets [`linger`](Config::linger).
    #[must_use]
    pub fn linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }

    /// Sets [`max_pending_output`](Config::max_pending_output).
    #[must_use]
    pub fn max_pending_output(mut self, bytes: usize) -> Self {
        self.max_pending_output = bytes;
        self
    }

    /// Sets [`overflow`](Config::overflow).
    #[must_use]
    pub fn overflow(mut self, policy: Overflow) -> Self {
        self.overflow = policy;
        self
    }

    /// Sets [`shutdown_grace`](Config::shutdown_grace).
    #[must_use]
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }
}

/// A thread-safe way into a running server: send it commands or stop it from anywhere.
///
/// ```no_run
/// use ratchet::{Command, ConnId, Server, WebSocket};
/// # struct Echo;
/// # impl ratchet::Component for Echo {
/// #     fn on_message(&mut self, _: &ratchet::Conn, _: ratchet::Message<'_>) -> ratchet::Commands {
/// #         ratchet::Commands::none()
/// #     }
/// # }
///
/// let server = Server::new(WebSocket::new(Echo)).bind("127.0.0.1:0")?;
/// let handle = server.handle();
/// std::thread::spawn(move || server.run());
/// handle.send(Command::send(ConnId::from_raw(1), "from another thread"));
/// handle.shutdown();
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Handle {
    tx: Sender<Request>,
    waker: Arc<mio::Waker>,
    stats: Arc<Counters>,
}

/// What a server holds, as counted by [`Handle::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Connections the server holds (open, closing, or lingering).
    pub connections: usize,
    /// Topics with at least one subscriber.
    pub topics: usize,
    /// Subscriptions, over all topics.
    pub subscriptions: usize,
}

#[derive(Debug, Default)]
struct Counters {
    connections: AtomicUsize,
    topics: AtomicUsize,
    subscriptions: AtomicUsize,
}

#[derive(Debug)]
enum Request {
    Commands(crate::Commands),
    Deliver(Topic, Payload),
    Wake(ConnId),
    Shutdown,
}

impl Handle {
    /// Queues commands for the server to carry out, in order. Returns false if the server
    /// has stopped.
    pub fn send(&self, cmds: impl crate::IntoCommands) -> bool {
        self.request(Request::Commands(cmds.into_commands()))
    }

    /// Delivers `msg` to this server's subscribers of `topic` only: unlike
    /// [`Command::publish`], it is not handed to the [`Bridge`]. Bridges use it for
    /// messages from other processes.
    pub fn publish_local(&self, topic: impl Into<Topic>, msg: impl Into<Payload>) -> bool {
        self.request(Request::Deliver(topic.into(), msg.into()))
    }

    /// Asks the server to hand `conn`'s unconsumed input to its protocol again: for a
    /// protocol that returned early from [`Protocol::data`] to wait for something outside
    /// the event loop (a session lookup), once that something is ready.
    pub fn wake(&self, conn: ConnId) -> bool {
        self.request(Request::Wake(conn))
    }

    /// What the server holds right now (updated by the event loop as it goes).
    pub fn stats(&self) -> Stats {
        Stats {
            connections: self.stats.connections.load(Ordering::Relaxed),
            topics: self.stats.topics.load(Ordering::Relaxed),
            subscriptions: self.stats.subscriptions.load(Ordering::Relaxed),
        }
    }

    /// Asks the server to shut down gracefully: stop accepting, close every connection
    /// (1001 for WebSocket), wait up to the grace period, and return from `run`.
    pub fn shutdown(&self) -> bool {
        self.request(Request::Shutdown)
    }

    fn request(&self, request: Request) -> bool {
        self.tx.send(request).is_ok() && self.waker.wake().is_ok()
    }
}

/// A server for a protocol decorator: `Server::new(WebSocket::new(app))`.
#[derive(Debug)]
pub struct Server<P> {
    protocol: P,
    config: Config,
    bridge: Option<Box<dyn Bridge>>,
}

/// Carries [publishes](Command::Publish) between server processes, so that a topic's
/// subscribers in every process hear them: `cluster::RedisBridge` does it through Redis.
pub trait Bridge: Send {
    /// The server starts: deliver messages from other processes with
    /// [`Handle::publish_local`].
    fn start(&mut self, handle: &Handle);

    /// A publish from this process, to pass on. Called on the event loop: it must not
    /// block (queue it, or drop it and say so).
    fn publish(&mut self, topic: &str, msg: &Payload);
}

impl std::fmt::Debug for dyn Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bridge")
    }
}

impl<P: Protocol> Server<P> {
    /// A server with default limits.
    pub fn new(protocol: P) -> Self {
        Server {
            protocol,
            config: Config::default(),
            bridge: None,
        }
    }

    /// Passes every publish on to other processes, and theirs to this one's subscribers.
    #[must_use]
    pub fn bridge(mut self, bridge: impl Bridge + 'static) -> Self {
        self.bridge = Some(Box::new(bridge));
        self
    }

    /// Replaces the limits.
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Binds the listening socket (port 0 picks a free port; see
    /// [`Listening::local_addr`]).
    pub fn bind(self, addr: impl ToSocketAddrs) -> io::Result<Listening<P>> {
        let mut last = io::Error::new(ErrorKind::InvalidInput, "no address to bind");
        for addr in addr.to_socket_addrs()? {
            match TcpListener::bind(addr) {
                Ok(listener) => return Listening::new(self, listener),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

/// A bound server, ready to [`run`](Listening::run).
pub struct Listening<P: Protocol> {
    poll: Poll,
    listener: TcpListener,
    local_addr: SocketAddr,
    handle: Handle,
    requests: Receiver<Request>,
    signals: Option<signal_hook_mio::v1_0::Signals>,
    /// Set once shutting down: the instant the grace period ends.
    stopping: Option<Instant>,
    core: Core<P>,
}

impl<P: Protocol> std::fmt::Debug for Listening<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listening")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

struct Connection<S> {
    id: ConnId,
    stream: TcpStream,
    /// The protocol's state; taken (and the protocol told) once the connection is done,
    /// while the socket may still linger.
    state: Option<S>,
    /// Bytes read but not consumed by the protocol yet.
    input: Vec<u8>,
    /// Bytes to write; `output[written..]` is still pending.
    output: Vec<u8>,
    written: usize,
    control: Control,
    /// The deadline last put in the timer heap.
    armed: Option<Instant>,
    dirty: bool,
    read_paused: bool,
    /// Write side shut; reads are drained and discarded until EOF or the deadline.
    lingering: bool,
    /// Closed for not reading: further messages to it are dropped.
    overflowed: bool,
    /// The peer shut its write side (half-close): deliver what is pending, then close.
    peer_closed: bool,
    /// The topics it is subscribed to.
    topics: Vec<Topic>,
}

struct Core<P: Protocol> {
    protocol: P,
    config: Config,
    conns: Slab<Connection<P::ConnState>>,
    generation: u32,
    read_buf: Vec<u8>,
    commands: Vec<Command>,
    spare_commands: Vec<Command>,
    dirty: Vec<usize>,
    /// Connections with more to read than their last turn allowed.
    ready: Vec<usize>,
    timers: BinaryHeap<Reverse<(Instant, ConnId)>>,
    /// The application's timers: (when, key, generation); an entry counts only while
    /// `app_timer_runs` holds its generation for its key.
    app_timers: BinaryHeap<Reverse<(Instant, u64, u64)>>,
    app_timer_runs: HashMap<u64, (u64, Option<Duration>)>,
    app_timer_generation: u64,
    /// Frames encoded once for a many-recipient send: (encoding, range in `frames`).
    frame_cache: Vec<(u8, Range<usize>)>,
    frames: Vec<u8>,
    /// Output buffers to lend to connections (see [`SPARE_BUFFERS`]).
    spare_buffers: Vec<Vec<u8>>,
    now: Instant,
    accept_retry: Option<Instant>,
    /// Subscribers by topic.
    topics: HashMap<Topic, Vec<ConnId>>,
    /// Scratch list of a publish's recipients.
    recipients: Vec<ConnId>,
    /// Carries publishes to and from other processes.
    bridge: Option<Box<dyn Bridge>>,
    /// What [`Handle::stats`] reads.
    stats: Arc<Counters>,
}

impl<P: Protocol> Listening<P> {
    fn new(server: Server<P>, mut listener: TcpListener) -> io::Result<Self> {
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let local_addr = listener.local_addr()?;
        let read_buf = vec![0; server.config.read_buffer_size];
        let waker = Arc::new(mio::Waker::new(poll.registry(), WAKER)?);
        let (tx, requests) = mpsc::channel();
        let stats = Arc::new(Counters::default());
        Ok(Listening {
            poll,
            listener,
            local_addr,
            handle: Handle {
                tx,
                waker,
                stats: stats.clone(),
            },
            requests,
            signals: None,
            stopping: None,
            core: Core {
                protocol: server.protocol,
                config: server.config,
                conns: Slab::new(),
                generation: 0,
                read_buf,
                commands: Vec::new(),
                spare_commands: Vec::new(),
                dirty: Vec::new(),
                ready: Vec::new(),
                timers: BinaryHeap::new(),
                app_timers: BinaryHeap::new(),
                app_timer_runs: HashMap::new(),
                app_timer_generation: 0,
                frame_cache: Vec::new(),
                frames: Vec::new(),
                spare_buffers: Vec::new(),
                now: Instant::now(),
                accept_retry: None,
                topics: HashMap::new(),
                recipients: Vec::new(),
                bridge: server.bridge,
                stats,
            },
        })
    }

    /// The address the server listens on (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle for other threads.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Shuts down gracefully on SIGINT or SIGTERM (a second signal stops at once).
    pub fn shutdown_on_signals(mut self) -> io::Result<Self> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let mut signals = signal_hook_mio::v1_0::Signals::new([SIGINT, SIGTERM])?;
        self.poll
            .registry()
            .register(&mut signals, SIGNALS, Interest::READABLE)?;
        self.signals = Some(signals);
        Ok(self)
    }

    /// Serves until shut down (through a [`Handle`] or a signal), or until the event loop
    /// fails.
    pub fn run(mut self) -> io::Result<()> {
        if let Some(bridge) = &mut self.core.bridge {
            bridge.start(&self.handle);
        }
        let started = self.core.protocol.start(&self.handle);
        self.core.commands.extend(started);
        self.core.execute();
        let mut events = Events::with_capacity(1024);
        loop {
            if let Some(grace_end) = self.stopping {
                if self.core.conns.is_empty() || Instant::now() >= grace_end {
                    log::info!("server stopped");
                    return Ok(());
                }
            }
            let mut timeout = self.core.next_timeout();
            if let Some(grace_end) = self.stopping {
                let left = grace_end.saturating_duration_since(Instant::now());
                timeout = Some(timeout.map_or(left, |t| t.min(left)));
            }
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            self.core.now = Instant::now();
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept(),
                    WAKER => self.take_requests(),
                    SIGNALS => {
                        let received = self.signals.as_mut().map_or(0, |s| s.pending().count());
                        if received > 0 && self.stopping.is_some() {
                            log::warn!("second signal: stopping now");
                            return Ok(());
                        }
                        if received > 0 {
                            self.begin_shutdown();
                        }
                    }
                    Token(slot) => {
                        if event.is_writable() {
                            self.core.mark_dirty(slot);
                        }
                        if event.is_readable() || event.is_read_closed() || event.is_error() {
                            self.core.read(self.poll.registry(), slot);
                        }
                    }
                }
            }
            if self.core.accept_retry.is_some_and(|at| at <= self.core.now) {
                self.core.accept_retry = None;
                self.accept();
            }
            for slot in std::mem::take(&mut self.core.ready) {
                self.core.read(self.poll.registry(), slot);
            }
            self.core.expire_timers(self.poll.registry());
            self.core.expire_app_timers();
            self.core.flush_dirty(self.poll.registry());
        }
    }

    fn take_requests(&mut self) {
        while let Ok(request) = self.requests.try_recv() {
            match request {
                Request::Commands(cmds) => {
                    self.core.commands.extend(cmds);
                    self.core.execute();
                }
                Request::Deliver(topic, msg) => {
                    self.core.deliver(&topic, &msg, None);
                }
                Request::Wake(conn) => self.core.wake(conn),
                Request::Shutdown => self.begin_shutdown(),
            }
        }
    }

    /// Stops accepting and asks the protocol to close every connection.
    fn begin_shutdown(&mut self) {
        if self.stopping.is_some() {
            return;
        }
        log::info!(
            "shutting down: closing {} connection(s)",
            self.core.conns.len()
        );
        self.stopping = Some(Instant::now() + self.core.config.shutdown_grace);
        let _ = self.poll.registry().deregister(&mut self.listener);
        self.core.accept_retry = None;
        let ids: Vec<ConnId> = self.core.conns.iter().map(|(_, c)| c.id).collect();
        for id in ids {
            self.core.commands.push(Command::close(
                id,
                crate::CloseCode::Away,
                "server shutting down",
            ));
        }
        self.core.execute();
    }

    fn accept(&mut self) {
        if self.stopping.is_some() {
            return;
        }
        loop {
            let (stream, peer) = match self.listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Out of descriptors or memory: try again shortly rather than spin.
                    log::warn!("accept failed: {e}");
                    self.core.accept_retry = Some(self.core.now + Duration::from_millis(50));
                    return;
                }
            };
            if !self.core.protocol.accept(peer) {
                log::debug!("connection from {peer} refused at accept");
                drop(stream);
                continue;
            }
            if let Err(e) = self.core.open(self.poll.registry(), stream, peer) {
                log::warn!("could not register a connection from {peer}: {e}");
            }
        }
    }
}

impl<P: Protocol> Core<P> {
    fn next_timeout(&self) -> Option<Duration> {
        if !self.ready.is_empty() {
            return Some(Duration::ZERO);
        }
        let now = Instant::now();
        let timer = self.timers.peek().map(|Reverse((at, _))| *at);
        let app_timer = self.app_timers.peek().map(|Reverse((at, _, _))| *at);
        [timer, app_timer, self.accept_retry]
            .into_iter()
            .flatten()
            .min()
            .map(|at| at.saturating_duration_since(now))
    }

    fn get_mut(
        conns: &mut Slab<Connection<P::ConnState>>,
        id: ConnId,
    ) -> Option<&mut Connection<P::ConnState>> {
        conns.get_mut(id.slot()).filter(|c| c.id == id)
    }

    fn open(
        &mut self,
        registry: &mio::Registry,
        mut stream: TcpStream,
        peer: SocketAddr,
    ) -> io::Result<()> {
        stream.set_nodelay(true)?;
        let entry = self.conns.vacant_entry();
        let slot = entry.key();
        registry.register(
            &mut stream,
            Token(slot),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        self.generation = self.generation.wrapping_add(1);
        let id = ConnId::new(slot, self.generation);
        let mut output = Vec::new();
        let mut control = Control::default();
        let mut out = Outbox::new(id, self.now, &mut output, &mut self.commands, &mut control);
        let state = self.protocol.connect(id, peer, &mut out);
        self.stats.connections.fetch_add(1, Ordering::Relaxed);
        entry.insert(Connection {
            id,
            stream,
            state: Some(state),
            input: Vec::new(),
            output,
            written: 0,
            control,
            armed: None,
            dirty: false,
            read_paused: false,
            lingering: false,
            peer_closed: false,
            overflowed: false,
            topics: Vec::new(),
        });
        self.settle(slot);
        self.execute();
        Ok(())
    }

    /// After the protocol handled an event of `slot`: arm its deadline, schedule output.
    fn settle(&mut self, slot: usize) {
        let Some(c) = self.conns.get_mut(slot) else {
            return;
        };
        if c.written == c.output.len() && c.output.capacity() > 0 {
            c.written = 0;
            give_back(&mut self.spare_buffers, &mut c.output);
        }
        // A shutdown that cannot complete (the peer does not read) ends at a deadline.
        if c.control.shutdown && c.control.deadline.is_none() && !c.lingering {
            c.control.deadline = Some(self.now + self.config.linger);
        }
        if c.control.deadline != c.armed {
            c.armed = c.control.deadline;
            if let Some(at) = c.armed {
                self.timers.push(Reverse((at, c.id)));
            }
        }
        if (c.output.len() > c.written || c.control.shutdown) && !c.dirty {
            c.dirty = true;
            self.dirty.push(slot);
        }
    }

    fn mark_dirty(&mut self, slot: usize) {
        if let Some(c) = self.conns.get_mut(slot) {
            if !c.dirty {
                c.dirty = true;
                self.dirty.push(slot);
            }
        }
    }

    fn read(&mut self, registry: &mio::Registry, slot: usize) {
        for _ in 0..READS_PER_TURN {
            let Some(c) = self.conns.get_mut(slot) else {
                return;
            };
            if c.read_paused || c.peer_closed {
                return;
            }
            let keep = c.input.len();
            if keep >= self.read_buf.len() {
                log::warn!(
                    "connection {} buffered more than the read buffer unparsed; dropping it",
                    c.id
                );
                self.drop_conn(registry, slot);
                return;
            }
            self.read_buf[..keep].copy_from_slice(&c.input);
            let n = match c.stream.read(&mut self.read_buf[keep..]) {
                Ok(0) if c.lingering || c.output.len() == c.written => {
                    self.drop_conn(registry, slot);
                    return;
                }
                Ok(0) => {
                    // Half-closed: the peer may still read what it asked for.
                    c.peer_closed = true;
                    c.control.deadline = Some(self.now + self.config.linger);
                    self.settle(slot);
                    return;
                }
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::debug!("read from connection {} failed: {e}", c.id);
                    self.drop_conn(registry, slot);
                    return;
                }
            };
            if c.lingering {
                continue;
            }
            self.feed(slot, keep + n);
        }
        // More may be waiting: come back next turn (readiness is edge-triggered).
        self.ready.push(slot);
    }

    /// Hands `read_buf[..total]` (the connection's unconsumed input, then what was just
    /// read) to the protocol, keeps what it does not consume, and carries out the rest.
    fn feed(&mut self, slot: usize, total: usize) {
        let Some(c) = self.conns.get_mut(slot) else {
            return;
        };
        c.input.clear();
        let data = &mut self.read_buf[..total];
        let pending = c.output.len() - c.written;
        lend(&mut self.spare_buffers, &mut c.output);
        let mut out = Outbox::new(
            c.id,
            self.now,
            &mut c.output,
            &mut self.commands,
            &mut c.control,
        )
        .with_pending(pending);
        let Some(state) = c.state.as_mut() else {
            return;
        };
        // What is left is offered again until the protocol takes nothing more: a
        // request/response protocol may answer one request per call.
        let mut consumed = 0;
        loop {
            let taken = self.protocol.data(state, &mut data[consumed..], &mut out);
            consumed = (consumed + taken).min(total);
            if taken == 0 || consumed == total || out.is_shutting_down() {
                break;
            }
        }
        c.input.extend_from_slice(&data[consumed..]);
        if c.output.len() - c.written > self.config.read_pause_threshold {
            c.read_paused = true;
        }
        self.settle(slot);
        self.execute();
    }

    /// Hands a connection's unconsumed input to its protocol again ([`Handle::wake`]).
    fn wake(&mut self, id: ConnId) {
        let Some(c) = Self::get_mut(&mut self.conns, id) else {
            return;
        };
        let total = c.input.len();
        if c.lingering || c.state.is_none() || total == 0 || total > self.read_buf.len() {
            return;
        }
        self.read_buf[..total].copy_from_slice(&c.input);
        self.feed(id.slot(), total);
    }

    /// Adds `conn` to `topic`'s subscribers.
    fn subscribe(&mut self, conn: ConnId, topic: Topic) {
        let Some(c) = Self::get_mut(&mut self.conns, conn) else {
            return;
        };
        if c.state.is_none() || c.topics.contains(&topic) {
            return;
        }
        c.topics.push(topic.clone());
        let subscribers = self.topics.entry(topic).or_default();
        if subscribers.is_empty() {
            self.stats.topics.fetch_add(1, Ordering::Relaxed);
        }
        subscribers.push(conn);
        self.stats.subscriptions.fetch_add(1, Ordering::Relaxed);
    }

    /// Removes `conn` from `topic`'s subscribers.
    fn unsubscribe(&mut self, conn: ConnId, topic: &Topic) {
        let Some(c) = Self::get_mut(&mut self.conns, conn) else {
            return;
        };
        let Some(at) = c.topics.iter().position(|t| t == topic) else {
            return;
        };
        c.topics.swap_remove(at);
        self.leave(conn, topic);
    }

    /// Takes `conn` out of `topic`'s subscriber list.
    fn leave(&mut self, conn: ConnId, topic: &Topic) {
        if let Some(subscribers) = self.topics.get_mut(topic) {
            if let Some(at) = subscribers.iter().position(|id| *id == conn) {
                subscribers.swap_remove(at);
                self.stats.subscriptions.fetch_sub(1, Ordering::Relaxed);
            }
            if subscribers.is_empty() {
                self.topics.remove(topic);
                self.stats.topics.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// Sends `msg` to `topic`'s subscribers here, but `except`.
    fn deliver(&mut self, topic: &str, msg: &Payload, except: Option<ConnId>) {
        let Some(subscribers) = self.topics.get(topic) else {
            return;
        };
        let mut ids = std::mem::take(&mut self.recipients);
        ids.clear();
        ids.extend(subscribers.iter().filter(|id| Some(**id) != except));
        self.send_many(&ids, msg);
        self.recipients = ids;
    }

    /// Carries out queued commands, including those that carrying them out produces.
    fn execute(&mut self) {
        while !self.commands.is_empty() {
            let mut batch =
                std::mem::replace(&mut self.commands, std::mem::take(&mut self.spare_commands));
            for cmd in batch.drain(..) {
                match cmd {
                    Command::Send { to, msg } => self.send(&to, &msg),
                    Command::Timer { key, after, every } => {
                        self.app_timer_generation += 1;
                        let generation = self.app_timer_generation;
                        self.app_timer_runs.insert(key, (generation, every));
                        self.app_timers
                            .push(Reverse((self.now + after, key, generation)));
                    }
                    Command::CancelTimer { key } => {
                        self.app_timer_runs.remove(&key);
                    }
                    Command::Subscribe { conn, topic } => self.subscribe(conn, topic),
                    Command::Unsubscribe { conn, topic } => self.unsubscribe(conn, &topic),
                    Command::Publish { topic, msg, except } => {
                        if let Some(bridge) = &mut self.bridge {
                            bridge.publish(&topic, &msg);
                        }
                        self.deliver(&topic, &msg, except);
                    }
                    Command::Close { conn, code, reason } => {
                        let Some(c) = Self::get_mut(&mut self.conns, conn) else {
                            continue;
                        };
                        lend(&mut self.spare_buffers, &mut c.output);
                        let mut out = Outbox::new(
                            conn,
                            self.now,
                            &mut c.output,
                            &mut self.commands,
                            &mut c.control,
                        );
                        if let Some(state) = c.state.as_mut() {
                            self.protocol.close(state, code, &reason, &mut out);
                        }
                        self.settle(conn.slot());
                    }
                }
            }
            self.spare_commands = batch;
        }
    }

    fn send(&mut self, to: &To, msg: &Payload) {
        if let To::One(id) = to {
            if let Some(c) = Self::get_mut(&mut self.conns, *id) {
                lend(&mut self.spare_buffers, &mut c.output);
                let before = c.output.len();
                if let Some(state) = c.state.as_mut() {
                    self.protocol.encode(state, msg, &mut c.output);
                    self.admit(id.slot(), before);
                }
            }
            return;
        }
        self.send_many(to.ids(), msg);
    }

    /// Frames `msg` once per encoding, then copies the same bytes to every recipient.
    fn send_many(&mut self, ids: &[ConnId], msg: &Payload) {
        self.frame_cache.clear();
        self.frames.clear();
        for &id in ids {
            let Some(c) = Self::get_mut(&mut self.conns, id) else {
                continue;
            };
            let Some(state) = c.state.as_mut() else {
                continue;
            };
            lend(&mut self.spare_buffers, &mut c.output);
            let before = c.output.len();
            match self.protocol.encoding(state) {
                Some(encoding) => {
                    let range = match self.frame_cache.iter().find(|(e, _)| *e == encoding) {
                        Some((_, range)) => range.clone(),
                        None => {
                            let start = self.frames.len();
                            self.protocol.encode(state, msg, &mut self.frames);
                            let range = start..self.frames.len();
                            self.frame_cache.push((encoding, range.clone()));
                            range
                        }
                    };
                    c.output.extend_from_slice(&self.frames[range]);
                }
                None => self.protocol.encode(state, msg, &mut c.output),
            }
            self.admit(id.slot(), before);
        }
        if self.frames.capacity() > KEEP_CAPACITY {
            self.frames = Vec::new();
        }
    }

    /// Keeps the bytes just queued for `slot` (past `before`) if its pending output was
    /// within the limit before them (so one message larger than the limit still goes out
    /// to a client that keeps up); otherwise applies the overflow policy.
    fn admit(&mut self, slot: usize, before: usize) {
        let Some(c) = self.conns.get_mut(slot) else {
            return;
        };
        if c.overflowed || before - c.written > self.config.max_pending_output {
            c.output.truncate(before);
            if !c.overflowed {
                let mut out = Outbox::new(
                    c.id,
                    self.now,
                    &mut c.output,
                    &mut self.commands,
                    &mut c.control,
                );
                if let Some(state) = c.state.as_mut() {
                    self.protocol
                        .overflow(state, self.config.overflow, &mut out);
                }
                c.overflowed = self.config.overflow == Overflow::Close;
            }
        }
        self.settle(slot);
    }

    fn flush_dirty(&mut self, registry: &mio::Registry) {
        while let Some(slot) = self.dirty.pop() {
            self.flush(registry, slot);
        }
    }

    fn flush(&mut self, registry: &mio::Registry, slot: usize) {
        let Some(c) = self.conns.get_mut(slot) else {
            return;
        };
        c.dirty = false;
        while c.written < c.output.len() {
            match c.stream.write(&c.output[c.written..]) {
                Ok(0) => {
                    self.drop_conn(registry, slot);
                    return;
                }
                Ok(n) => c.written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    log::debug!("write to connection {} failed: {e}", c.id);
                    self.drop_conn(registry, slot);
                    return;
                }
            }
        }
        c.written = 0;
        give_back(&mut self.spare_buffers, &mut c.output);
        if c.peer_closed {
            self.drop_conn(registry, slot);
            return;
        }
        if c.read_paused {
            c.read_paused = false;
            self.ready.push(slot);
        }
        if c.control.shutdown && !c.lingering {
            c.lingering = true;
            c.input = Vec::new();
            if c.stream.shutdown(Shutdown::Write).is_err() {
                self.drop_conn(registry, slot);
                return;
            }
            c.control.deadline = Some(self.now + self.config.linger);
            // For the protocol and the application the connection ends here; the socket
            // only lingers to let the peer read the last bytes.
            let state = c.state.take();
            let id = c.id;
            let topics = std::mem::take(&mut c.topics);
            self.settle(slot);
            self.ready.push(slot);
            self.end(id, state, &topics);
        }
    }

    /// The connection ended for the protocol and the application: it leaves its topics,
    /// and the protocol is told (writes to it are discarded; its commands run).
    fn end(&mut self, id: ConnId, state: Option<P::ConnState>, topics: &[Topic]) {
        for topic in topics {
            self.leave(id, topic);
        }
        if let Some(state) = state {
            let (mut output, mut control) = (Vec::new(), Control::default());
            let mut out = Outbox::new(id, self.now, &mut output, &mut self.commands, &mut control);
            self.protocol.disconnect(state, &mut out);
            self.execute();
        }
    }

    /// Runs the application's timers that are due.
    fn expire_app_timers(&mut self) {
        while let Some(&Reverse((at, key, generation))) = self.app_timers.peek() {
            if at > self.now {
                return;
            }
            self.app_timers.pop();
            let Some(&(current, every)) = self.app_timer_runs.get(&key) else {
                continue; // cancelled
            };
            if current != generation {
                continue; // restarted since
            }
            match every {
                // The next tick keeps the period; a late loop skips ticks rather than burst.
                Some(every) => {
                    let next = (at + every).max(self.now);
                    self.app_timers.push(Reverse((next, key, generation)));
                }
                None => {
                    self.app_timer_runs.remove(&key);
                }
            }
            let cmds = self.protocol.timer(key);
            self.commands.extend(cmds);
            self.execute();
        }
    }

    fn expire_timers(&mut self, registry: &mio::Registry) {
        while let Some(&Reverse((at, id))) = self.timers.peek() {
            if at > self.now {
                return;
            }
            self.timers.pop();
            let Some(c) = Self::get_mut(&mut self.conns, id) else {
                continue;
            };
            if c.armed != Some(at) {
                continue; // replaced by a later deadline
            }
            c.armed = None;
            c.control.deadline = None;
            if c.lingering || c.peer_closed || c.control.shutdown {
                self.drop_conn(registry, id.slot());
                continue;
            }
            lend(&mut self.spare_buffers, &mut c.output);
            let mut out = Outbox::new(
                id,
                self.now,
                &mut c.output,
                &mut self.commands,
                &mut c.control,
            );
            if let Some(state) = c.state.as_mut() {
                self.protocol.timeout(state, &mut out);
            }
            self.settle(id.slot());
            self.execute();
        }
    }

    /// Closes the socket and tells the protocol, whose commands then run.
    fn drop_conn(&mut self, registry: &mio::Registry, slot: usize) {
        let Some(mut c) = self.conns.try_remove(slot) else {
            return;
        };
        self.stats.connections.fetch_sub(1, Ordering::Relaxed);
        let _ = registry.deregister(&mut c.stream);
        self.end(c.id, c.state, &c.topics);
    }
}

/// Gives `output` a spare buffer if it has none.
fn lend(spare: &mut Vec<Vec<u8>>, output: &mut Vec<u8>) {
    if output.capacity() == 0 {
        if let Some(buf) = spare.pop() {
            *output = buf;
        }
    }
}

/// Takes `output`'s buffer back (it must hold nothing still to write).
fn give_back(spare: &mut Vec<Vec<u8>>, output: &mut Vec<u8>) {
    let mut buf = std::mem::take(output);
    if spare.len() < SPARE_BUFFERS && buf.capacity() <= SPARE_BUFFER_MAX {
        buf.clear();
        spare.push(buf);
    }
}
