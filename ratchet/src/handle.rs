//! A thread-safe way into a running server: a bounded queue of requests the event loop
//! drains, and the counters it keeps.

use crate::command::{Command, Commands, IntoCommands, Topic};
use crate::conn::ConnId;
use crate::message::Payload;
use crate::offset::Offset;
use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A thread-safe way into a running server: send it commands or stop it from anywhere.
///
/// The queue into the server is bounded by count and by bytes (see
/// [`Config::handle_queue`](crate::server::Config::handle_queue)): when it is full,
/// [`send`](Handle::send) refuses with [`SendError::Full`] instead of growing, and the
/// refusal is counted ([`Stats::refused_sends`]). The event loop is woken once per batch
/// of requests, not once per request.
///
/// ```no_run
/// use ratchet::{Command, ConnId, Server, WebSocket};
/// # struct Echo;
/// # impl ratchet::Component for Echo {
/// #     fn on_message(&mut self, _: &ratchet::Conn, _: ratchet::Message<'_>) -> impl ratchet::IntoCommands {
/// #         ratchet::Commands::none()
/// #     }
/// # }
///
/// let server = Server::new(WebSocket::new(Echo)).bind("127.0.0.1:0")?;
/// let handle = server.handle();
/// std::thread::spawn(move || server.run());
/// handle.send(Command::send(ConnId::from_raw(1), "from another thread")).ok();
/// handle.shutdown();
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

/// Why a [`Handle`] did not take a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The queue into the server holds as many requests or bytes as it may: the server is
    /// behind. Try again later, or drop the request.
    Full,
    /// The server has stopped.
    Stopped,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendError::Full => "the server's queue is full",
            SendError::Stopped => "the server has stopped",
        })
    }
}

impl std::error::Error for SendError {}

/// What a server holds and has done, as counted by [`Handle::stats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Connections the server holds (open, closing, or lingering).
    pub connections: usize,
    /// Topics with at least one subscriber.
    pub topics: usize,
    /// Subscriptions, over all topics.
    pub subscriptions: usize,
    /// Bytes held by messages in progress, over all connections (the inbound budget).
    pub inbound_bytes: usize,
    /// Connections refused because the server held `max_connections`.
    pub refused_connections: u64,
    /// Connections closed because they did not read (the [`Overflow`](crate::Overflow)
    /// policy `Close`).
    pub slow_closed: u64,
    /// Messages dropped because their connection did not read (policy `Drop`).
    pub dropped_messages: u64,
    /// Requests a [`Handle`] refused because the server's queue was full.
    pub refused_sends: u64,
    /// Messages addressed to a connection that was gone (closed, or an outbound one
    /// between two attempts): dropped, never kept for later.
    pub undelivered: u64,
}

/// What the event loop is asked through a handle.
#[derive(Debug)]
pub(crate) enum Request {
    Commands(Commands),
    Deliver(Topic, Payload),
    /// A message of a history topic, numbered (or not, its store unreachable): topic,
    /// offset, message, who to leave out.
    Numbered(Topic, Option<Offset>, Payload, Option<ConnId>),
    /// A recovery's history read: connection, topic, the messages, whether complete.
    Recovered(ConnId, Topic, Vec<(Offset, Payload)>, bool),
    Wake(ConnId),
    Answer(ConnId, crate::door::Door),
    Reload,
    Shutdown,
    /// What happened on a worker's connections in one loop turn (for the app thread).
    Events(Vec<crate::uplink::Event>),
    /// What the app thread sends a worker in one of its turns, in order.
    Down(Vec<Down>),
    /// A worker's loop ended (for the app thread).
    Stopped,
    /// A host name of an outbound connection's attempt resolved (or not), off the loop.
    Resolved(
        crate::command::DialKey,
        u64,
        std::io::Result<Vec<std::net::SocketAddr>>,
    ),
}

/// One thing the app thread sends a worker (see [`workers`](crate::workers)).
#[derive(Debug)]
pub(crate) enum Down {
    /// A command for the worker's connections.
    Command(Command),
    /// The door's answer for a connection that knocked.
    Answer(ConnId, crate::door::Door),
    Wake(ConnId),
    /// The app thread handled the connection's last message (its commands are before
    /// this): its input goes on.
    Acked(ConnId),
    /// The app thread gathers the server's metrics (gathering `id`): the worker's own.
    Render(u64),
    /// The server's metrics, gathered, for the connection that asked.
    Scraped(ConnId, String),
}

impl Request {
    /// The bytes it holds, for the queue's byte bound.
    fn size(&self) -> usize {
        const OVERHEAD: usize = 64;
        match self {
            Request::Commands(cmds) => cmds
                .as_slice()
                .iter()
                .map(|cmd| match cmd {
                    Command::Send { to, msg } => OVERHEAD + msg.len() + 8 * to.ids().len(),
                    Command::Publish { topic, msg, .. } => OVERHEAD + topic.len() + msg.len(),
                    Command::Close { reason, .. } => OVERHEAD + reason.len(),
                    _ => OVERHEAD,
                })
                .sum(),
            Request::Deliver(topic, msg) | Request::Numbered(topic, _, msg, _) => {
                OVERHEAD + topic.len() + msg.len()
            }
            Request::Recovered(_, topic, found, _) => {
                OVERHEAD + topic.len() + found.iter().map(|(_, m)| 32 + m.len()).sum::<usize>()
            }
            Request::Answer(_, crate::door::Door::Refuse(refuse)) => {
                OVERHEAD + refuse.reason().len()
            }
            Request::Events(events) => events.iter().map(crate::uplink::Event::size).sum(),
            Request::Down(batch) => batch
                .iter()
                .map(|down| match down {
                    Down::Command(Command::Send { to, msg }) => 64 + msg.len() + 8 * to.ids().len(),
                    Down::Scraped(_, text) => 64 + text.len(),
                    _ => 64,
                })
                .sum(),
            Request::Wake(_)
            | Request::Answer(..)
            | Request::Reload
            | Request::Shutdown
            | Request::Stopped
            | Request::Resolved(..) => OVERHEAD,
        }
    }
}

/// Counters the event loop updates and any thread reads.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub connections: AtomicUsize,
    pub inbound_bytes: AtomicUsize,
    pub refused_connections: AtomicU64,
    pub slow_closed: AtomicU64,
    pub dropped_messages: AtomicU64,
    pub refused_sends: AtomicU64,
    pub undelivered: AtomicU64,
}

/// How the loop is woken: by a `mio::Waker`, or (in tests) by nothing.
pub(crate) type Wake = Box<dyn Fn() -> std::io::Result<()> + Send + Sync>;

struct Shared {
    queue: Mutex<Queue>,
    /// Signalled when the loop takes a batch (there is room again).
    room: Condvar,
    /// A wake is on its way to the loop (cleared when it takes the batch).
    woken: AtomicBool,
    wake: Wake,
    max_requests: usize,
    max_bytes: usize,
    counters: Counters,
    topics: crate::topics::Topics,
    /// With several workers, this is the app thread's handle, and these are the workers':
    /// their counters are summed into its [`Stats`].
    workers: std::sync::OnceLock<Vec<Handle>>,
}

#[derive(Default)]
struct Queue {
    requests: VecDeque<Request>,
    bytes: usize,
    stopped: bool,
    /// Senders waiting for room (signalled only when there are some).
    waiting: usize,
}

impl Handle {
    /// A handle whose queue takes up to `max_requests` requests and `max_bytes` bytes;
    /// `wake` wakes the loop.
    pub(crate) fn new(wake: Wake, max_requests: usize, max_bytes: usize) -> Self {
        Handle {
            shared: Arc::new(Shared {
                queue: Mutex::new(Queue::default()),
                room: Condvar::new(),
                woken: AtomicBool::new(false),
                wake,
                max_requests,
                max_bytes,
                counters: Counters::default(),
                topics: crate::topics::Topics::default(),
                workers: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Read access to this server's topics: member counts and lists, a connection's
    /// rooms.
    pub fn topics(&self) -> crate::topics::Topics {
        self.shared.topics.clone()
    }

    /// Queues commands for the server to carry out, in order (per thread).
    pub fn send(&self, cmds: impl IntoCommands) -> Result<(), SendError> {
        self.push(Request::Commands(cmds.into_commands()), None)
    }

    /// Delivers `msg` to this server's subscribers of `topic` only: unlike
    /// [`Command::publish`], it is not handed to the [`Bridge`](crate::server::Bridge).
    /// Bridges use it for messages from other processes.
    pub fn publish_local(
        &self,
        topic: impl Into<Topic>,
        msg: impl Into<Payload>,
    ) -> Result<(), SendError> {
        self.push(Request::Deliver(topic.into(), msg.into()), None)
    }

    /// [`publish_local`](Handle::publish_local), waiting up to `timeout` for room when the
    /// queue is full: a bridge that reads from elsewhere calls this, so it reads no faster
    /// than the server delivers.
    pub fn publish_local_wait(
        &self,
        topic: impl Into<Topic>,
        msg: impl Into<Payload>,
        timeout: Duration,
    ) -> Result<(), SendError> {
        self.push(Request::Deliver(topic.into(), msg.into()), Some(timeout))
    }

    /// Delivers a message of a history topic, numbered `offset` by the store its
    /// [`Bridge`](crate::server::Bridge) keeps (`None`: the store could not be reached,
    /// and the message is in no history), to this server's subscribers of `topic` but
    /// `except`, waiting up to `timeout` for room when the queue is full.
    pub fn deliver_numbered_wait(
        &self,
        topic: impl Into<Topic>,
        offset: Option<Offset>,
        msg: impl Into<Payload>,
        except: Option<ConnId>,
        timeout: Duration,
    ) -> Result<(), SendError> {
        let request = Request::Numbered(topic.into(), offset, msg.into(), except);
        self.push(request, Some(timeout))
    }

    /// The answer to a [`Bridge::recover`](crate::server::Bridge::recover): `conn`'s
    /// history of `topic`, oldest first, and whether nothing it missed was lost. Waits up
    /// to `timeout` for room when the queue is full.
    pub fn recovered(
        &self,
        conn: ConnId,
        topic: impl Into<Topic>,
        found: Vec<(Offset, Payload)>,
        complete: bool,
        timeout: Duration,
    ) -> Result<(), SendError> {
        let request = Request::Recovered(conn, topic.into(), found, complete);
        self.push(request, Some(timeout))
    }

    /// Asks the server to hand `conn`'s unconsumed input to its protocol again: for a
    /// protocol that returned early from [`Protocol::data`](crate::Protocol::data) to
    /// wait for something outside the event loop (a session lookup), once that something
    /// is ready. Never refused for a full queue.
    pub fn wake(&self, conn: ConnId) -> Result<(), SendError> {
        self.push(Request::Wake(conn), None)
    }

    /// The addresses of an outbound attempt's host, resolved on another thread (never
    /// refused: one per attempt).
    pub(crate) fn resolved(
        &self,
        key: crate::command::DialKey,
        generation: u64,
        addrs: std::io::Result<Vec<std::net::SocketAddr>>,
    ) {
        let _ = self.push(Request::Resolved(key, generation, addrs), None);
    }

    /// The door's answer for `conn`, which knocked and was told [`Door::Later`]
    /// (`crate::Door`): `Door::Open` lets it in (`on_open` runs), a refusal answers its
    /// request with the status and reason. An answer for a connection that is gone, or that
    /// did not wait, is ignored. Counted against the queue like commands.
    ///
    /// [`Door::Later`]: crate::Door::Later
    pub fn answer(
        &self,
        conn: ConnId,
        door: impl Into<crate::door::Door>,
    ) -> Result<(), SendError> {
        self.push(Request::Answer(conn, door.into()), None)
    }

    /// Asks the server to load again what its protocols loaded from files (TLS
    /// certificates): new handshakes use the new ones, open connections keep theirs, and a
    /// bad file is refused with a logged reason, the old one staying in use. SIGHUP does
    /// the same under [`shutdown_on_signals`](crate::Listening::shutdown_on_signals).
    pub fn reload(&self) -> Result<(), SendError> {
        self.push(Request::Reload, None)
    }

    /// Asks the server to shut down gracefully: stop accepting, close every connection
    /// (1001 for WebSocket), wait up to the grace period, and return from `run`. Never
    /// refused for a full queue.
    pub fn shutdown(&self) -> bool {
        self.push(Request::Shutdown, None).is_ok()
    }

    /// What the server holds right now (updated by the event loop as it goes), over
    /// every worker.
    pub fn stats(&self) -> Stats {
        let mut stats = Stats {
            topics: self.shared.topics.len(),
            subscriptions: self.shared.topics.subscriptions(),
            ..Stats::default()
        };
        let workers = self.shared.workers.get().map_or(&[][..], Vec::as_slice);
        for c in std::iter::once(&self.shared.counters).chain(workers.iter().map(Handle::counters))
        {
            stats.connections += c.connections.load(Ordering::Relaxed);
            stats.inbound_bytes += c.inbound_bytes.load(Ordering::Relaxed);
            stats.refused_connections += c.refused_connections.load(Ordering::Relaxed);
            stats.slow_closed += c.slow_closed.load(Ordering::Relaxed);
            stats.dropped_messages += c.dropped_messages.load(Ordering::Relaxed);
            stats.refused_sends += c.refused_sends.load(Ordering::Relaxed);
            stats.undelivered += c.undelivered.load(Ordering::Relaxed);
        }
        stats
    }

    /// Makes this the app thread's handle for `workers`.
    pub(crate) fn set_workers(&self, workers: Vec<Handle>) {
        let _ = self.shared.workers.set(workers);
    }

    /// Requests waiting in the queue for the event loop.
    pub(crate) fn queued(&self) -> usize {
        self.shared.queue.lock().map_or(0, |q| q.requests.len())
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    fn push(&self, request: Request, wait: Option<Duration>) -> Result<(), SendError> {
        self.enqueue(request, wait).map_err(|(e, _)| {
            if e == SendError::Full {
                let counters = &self.shared.counters;
                counters.refused_sends.fetch_add(1, Ordering::Relaxed);
            }
            e
        })
    }

    /// Queues `request`, waiting up to `wait` for room; on refusal, gives it back.
    fn enqueue(
        &self,
        request: Request,
        wait: Option<Duration>,
    ) -> Result<(), (SendError, Request)> {
        let shared = &*self.shared;
        let size = request.size();
        // Wakes and shutdowns are never refused: they are small, and bounded by the
        // connections (a wake each) or idempotent; nor is what the app thread passes down.
        let bounded = !matches!(
            request,
            Request::Wake(_)
                | Request::Reload
                | Request::Shutdown
                | Request::Stopped
                | Request::Down(_)
                | Request::Resolved(..)
        );
        let deadline = wait.map(|w| Instant::now() + w);
        let mut queue = shared.queue.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if queue.stopped {
                return Err((SendError::Stopped, request));
            }
            let fits = queue.requests.len() < shared.max_requests
                && queue.bytes.saturating_add(size) <= shared.max_bytes;
            // One request always fits an empty queue, however large.
            if fits || !bounded || queue.requests.is_empty() {
                break;
            }
            let left = deadline.and_then(|d| d.checked_duration_since(Instant::now()));
            match left {
                Some(left) if !left.is_zero() => {
                    queue.waiting += 1;
                    queue = shared
                        .room
                        .wait_timeout(queue, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                    queue.waiting -= 1;
                }
                _ => return Err((SendError::Full, request)),
            }
        }
        queue.requests.push_back(request);
        queue.bytes += size;
        drop(queue);
        if !shared.woken.swap(true, Ordering::AcqRel) && (shared.wake)().is_err() {
            return Err((SendError::Stopped, Request::Stopped));
        }
        Ok(())
    }

    /// Passes on a request from the app thread to a worker, never refused for a full queue:
    /// what the app thread sends a worker is bounded by what the workers sent it, which
    /// its own queue bounds (see [`Server::workers`](crate::Server::workers)).
    pub(crate) fn pass_down(&self, request: Request) {
        let _ = self.enqueue(request, None);
    }

    /// Sends a worker's events of one turn up to the app thread, waiting for room as long
    /// as it takes (the worker reads nothing meanwhile: backpressure to its clients), or
    /// until the app thread has stopped (the events go nowhere then).
    pub(crate) fn pass_up(&self, events: Vec<crate::uplink::Event>) {
        let mut request = Request::Events(events);
        while let Err((SendError::Full, back)) =
            self.enqueue(request, Some(Duration::from_millis(100)))
        {
            request = back;
        }
    }

    /// Whether nothing waits for the loop.
    pub(crate) fn is_idle(&self) -> bool {
        let queue = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.requests.is_empty()
    }

    /// The loop takes every queued request, in order.
    pub(crate) fn take(&self, into: &mut VecDeque<Request>) {
        let shared = &*self.shared;
        let mut queue = shared.queue.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::swap(&mut queue.requests, into);
        queue.bytes = 0;
        shared.woken.store(false, Ordering::Release);
        let waiting = queue.waiting > 0;
        drop(queue);
        if waiting {
            shared.room.notify_all();
        }
    }

    /// The loop is gone: later requests are refused, waiting senders released.
    pub(crate) fn stop(&self) {
        let mut queue = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.stopped = true;
        queue.requests.clear();
        queue.bytes = 0;
        drop(queue);
        self.shared.room.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Command;
    use std::sync::atomic::AtomicUsize;

    fn counting(max_requests: usize, max_bytes: usize) -> (Handle, Arc<AtomicUsize>) {
        let wakes = Arc::new(AtomicUsize::new(0));
        let w = wakes.clone();
        let wake: Wake = Box::new(move || {
            w.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        (Handle::new(wake, max_requests, max_bytes), wakes)
    }

    #[test]
    fn full_by_count_or_bytes_refuses_and_counts() {
        let (handle, _) = counting(3, 1 << 20);
        let id = ConnId::from_raw(1);
        for _ in 0..3 {
            handle.send(Command::send(id, "x")).unwrap();
        }
        assert_eq!(handle.send(Command::send(id, "x")), Err(SendError::Full));
        assert_eq!(handle.stats().refused_sends, 1);
        // Wakes and shutdowns still get through.
        assert!(handle.wake(id).is_ok());
        assert!(handle.shutdown());

        let (handle, _) = counting(1000, 10_000);
        handle.send(Command::send(id, vec![0u8; 6000])).unwrap();
        assert_eq!(
            handle.send(Command::send(id, vec![0u8; 6000])),
            Err(SendError::Full)
        );
        let mut batch = VecDeque::new();
        handle.take(&mut batch);
        assert_eq!(batch.len(), 1);
        handle.send(Command::send(id, vec![0u8; 6000])).unwrap();
    }

    #[test]
    fn one_wake_per_batch() {
        let (handle, wakes) = counting(1000, 1 << 20);
        let id = ConnId::from_raw(1);
        for _ in 0..100 {
            handle.send(Command::send(id, "x")).unwrap();
        }
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        let mut batch = VecDeque::new();
        handle.take(&mut batch);
        assert_eq!(batch.len(), 100);
        handle.send(Command::send(id, "x")).unwrap();
        assert_eq!(wakes.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_waiting_publish_gets_in_when_the_loop_takes_the_batch() {
        let (handle, _) = counting(1, 1 << 20);
        handle.publish_local("t", "first").unwrap();
        let waiter = {
            let handle = handle.clone();
            std::thread::spawn(move || {
                handle.publish_local_wait("t", "second", Duration::from_secs(10))
            })
        };
        let mut batch = VecDeque::new();
        while batch.is_empty() {
            handle.take(&mut batch);
        }
        assert_eq!(waiter.join().unwrap(), Ok(()));
        assert_eq!(
            handle.publish_local_wait("t", "third", Duration::from_millis(10)),
            Err(SendError::Full)
        );
        handle.stop();
        assert_eq!(handle.send(()), Err(SendError::Stopped));
    }
}
