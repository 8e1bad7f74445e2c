//! [`Tester`]: an application's handlers, driven as a server would, without sockets.

use super::Output;
use crate::command::{Command, Commands, IntoCommands, MIN_TIMER_DELAY};
use crate::conn::{Conn, ConnId, Request};
use crate::door::{Door, Refuse};
use crate::error::Error;
use crate::handle::{self, Handle, Wake};
use crate::message::Payload;
use crate::stateful::StatefulComponent;
use crate::topics::Topics;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Holds an application and hands it events as a server would: `on_start` when it is
/// made, the door and `on_open` for each connection, messages, closes, errors and timer
/// ticks. The commands it returns are carried out here too: sends and publishes are
/// delivered to the open connections (see [`Output::sent_to`]), subscriptions kept,
/// timers run on a virtual clock that only [`advance`](Tester::advance) moves, and a
/// close the application asks for closes the connection (`on_close` runs).
///
/// ```
/// use ratchet::testing::Tester;
/// use ratchet::{Command, Commands, Component, Conn, IntoCommands, Message};
/// use std::time::Duration;
///
/// struct Beat;
///
/// impl Component for Beat {
///     fn on_start(&mut self, _: &ratchet::Handle) -> impl IntoCommands {
///         Command::every(Duration::from_secs(1), 0)
///     }
///     fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
///         conn.subscribe("beat")
///     }
///     fn on_message(&mut self, _: &Conn, _: Message<'_>) -> impl IntoCommands {
///         Commands::none()
///     }
///     fn on_timer(&mut self, _: u64) -> impl IntoCommands {
///         Command::publish("beat", "tick")
///     }
/// }
///
/// let mut t = Tester::new(Beat);
/// let (ann, _) = t.open();
/// assert!(t.advance(Duration::from_millis(999)).sent_to(&ann).is_empty());
/// assert_eq!(t.advance(Duration::from_secs(2)).sent_to(&ann), ["tick", "tick"]);
/// ```
pub struct Tester<C: StatefulComponent> {
    app: C,
    next_id: u64,
    conns: BTreeMap<ConnId, Open<C::State>>,
    /// Connections the door said it would answer later.
    waiting: BTreeMap<ConnId, Open<C::State>>,
    topics: Topics,
    /// Running timers by key: when they are due, their period, and the order in which
    /// they were set (ties fire in that order).
    timers: BTreeMap<u64, Timer>,
    timers_set: u64,
    now: Duration,
    handle: Handle,
    started: Output,
}

struct Open<S> {
    conn: Conn,
    state: S,
}

#[derive(Clone, Copy)]
struct Timer {
    due: Duration,
    every: Option<Duration>,
    order: u64,
}

impl<C: StatefulComponent> fmt::Debug for Tester<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tester")
            .field("open", &self.conns.keys().collect::<Vec<_>>())
            .field("topics", &self.topics.names())
            .field("timers", &self.timers.keys().collect::<Vec<_>>())
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl<C: StatefulComponent> Tester<C> {
    /// A tester around `app`; runs its `on_start` (see [`started`](Tester::started)).
    pub fn new(app: C) -> Self {
        let wake: Wake = Box::new(|| Ok(()));
        let handle = Handle::new(wake, 1 << 16, 64 << 20);
        let mut t = Tester {
            app,
            next_id: 1,
            conns: BTreeMap::new(),
            waiting: BTreeMap::new(),
            topics: handle.topics(),
            timers: BTreeMap::new(),
            timers_set: 0,
            now: Duration::ZERO,
            handle,
            started: Output::default(),
        };
        let handle = t.handle.clone();
        let cmds = t.app.on_start(&handle).into_commands();
        t.started = t.run(cmds);
        t
    }

    /// What `on_start` produced.
    pub fn started(&self) -> &Output {
        &self.started
    }

    /// Opens a connection with a plain `GET /` request; returns it and what `on_open`
    /// produced.
    ///
    /// # Panics
    ///
    /// If the application's door refuses it (use [`request`](Tester::request) to test
    /// the door).
    pub fn open(&mut self) -> (Conn, Output) {
        self.open_with(Request::new(
            "GET",
            "/",
            vec![("Host".into(), "localhost".into())],
        ))
    }

    /// Opens a connection that arrived with `request`.
    ///
    /// # Panics
    ///
    /// If the application's door refuses it.
    pub fn open_with(&mut self, request: Request) -> (Conn, Output) {
        self.request(request)
            .unwrap_or_else(|refuse| panic!("the door refused the connection: {refuse}"))
    }

    /// Knocks with `request`: the door (`on_request`) answers, and if it lets the
    /// connection in, `on_open` runs.
    ///
    /// # Panics
    ///
    /// If the door answers [`Door::Later`]: use [`knock`](Tester::knock) and
    /// [`answer`](Tester::answer) for that.
    pub fn request(&mut self, request: Request) -> Result<(Conn, Output), Refuse> {
        match self.knock(request) {
            Knock::Open(conn, out) => Ok((conn, out)),
            Knock::Refused(refuse) => Err(refuse),
            Knock::Waiting(conn) => panic!(
                "the door answers {} later: use Tester::knock and Tester::answer",
                conn.id()
            ),
        }
    }

    /// Knocks with `request`: the door lets the connection in (`on_open` runs), refuses
    /// it, or says it will answer later ([`answer`](Tester::answer) or
    /// [`Handle::answer`] then decides).
    pub fn knock(&mut self, request: Request) -> Knock {
        let id = ConnId::from_raw(self.next_id);
        let peer = SocketAddr::from((Ipv4Addr::LOCALHOST, 40000 + (self.next_id % 20000) as u16));
        self.next_id += 1;
        let conn = Conn::new(id, peer, Some(request));
        let mut state = C::State::default();
        let door = self.app.on_request(&conn, &mut state);
        let knocking = Open { conn, state };
        match door {
            Door::Refuse(refuse) => Knock::Refused(refuse),
            Door::Later => {
                let conn = knocking.conn.clone();
                self.waiting.insert(id, knocking);
                Knock::Waiting(conn)
            }
            Door::Open => {
                let conn = knocking.conn.clone();
                Knock::Open(conn, self.enter(knocking))
            }
        }
    }

    /// The door's later answer for `conn`, which is waiting: `Ok` with what `on_open`
    /// produced if it comes in.
    ///
    /// # Panics
    ///
    /// If `conn` is not waiting for an answer, or the answer is `Later` again.
    pub fn answer(&mut self, conn: &Conn, door: impl Into<Door>) -> Result<Output, Refuse> {
        let id = conn.id();
        let knocking = self
            .waiting
            .remove(&id)
            .unwrap_or_else(|| panic!("connection {id} is not waiting at the door"));
        match door.into() {
            Door::Open => Ok(self.enter(knocking)),
            Door::Refuse(refuse) => Err(refuse),
            Door::Later => panic!("the door's answer for {id} is `Later` again"),
        }
    }

    /// Whether `conn` waits for the door's answer.
    pub fn is_waiting(&self, conn: impl Into<ConnId>) -> bool {
        self.waiting.contains_key(&conn.into())
    }

    /// A connection the door let in: `on_open` runs.
    fn enter(&mut self, mut knocking: Open<C::State>) -> Output {
        let cmds = (self.app)
            .on_open(&knocking.conn, &mut knocking.state)
            .into_commands();
        self.conns.insert(knocking.conn.id(), knocking);
        self.run(cmds)
    }

    /// Knocks with `GET target` (`"/chat?token=x"`); the connection, if the door lets
    /// it in.
    pub fn connect(&mut self, target: &str) -> Result<Conn, Refuse> {
        let request = Request::new("GET", target, vec![("Host".into(), "localhost".into())]);
        self.request(request).map(|(conn, _)| conn)
    }

    /// Delivers a message from `from`.
    ///
    /// # Panics
    ///
    /// If `from` is not open.
    pub fn message(&mut self, from: &Conn, msg: impl Into<Payload>) -> Output {
        let msg = msg.into();
        let open = open_mut(&mut self.conns, from);
        let cmds = (self.app)
            .on_message(&open.conn, &mut open.state, msg.as_message())
            .into_commands();
        self.run(cmds)
    }

    /// The client closes `conn`: `on_close` runs. Nothing happens if it is not open.
    pub fn close(&mut self, conn: &Conn) -> Output {
        let mut out = Output::default();
        self.closed(conn.id(), &mut out);
        out
    }

    /// Fires the application's timer `key` now, whether or not it is set.
    pub fn timer(&mut self, key: u64) -> Output {
        let cmds = self.app.on_timer(key).into_commands();
        self.run(cmds)
    }

    /// Moves the clock forward by `by`, firing each timer that falls due on the way, in
    /// order of due time (then of setting), as often as it falls due.
    pub fn advance(&mut self, by: Duration) -> Output {
        let until = self.now + by;
        let mut out = Output::default();
        while let Some((key, timer)) = self
            .timers
            .iter()
            .map(|(&key, &timer)| (key, timer))
            .filter(|(_, timer)| timer.due <= until)
            .min_by_key(|(_, timer)| (timer.due, timer.order))
        {
            self.now = timer.due;
            match timer.every {
                Some(every) => self.set_timer(key, every, Some(every)),
                None => {
                    self.timers.remove(&key);
                }
            }
            let cmds = self.app.on_timer(key).into_commands();
            out.extend(self.run(cmds));
        }
        self.now = until;
        out
    }

    /// How far the clock moved since the tester was made.
    pub fn now(&self) -> Duration {
        self.now
    }

    /// The keys of the timers that are set, in order.
    pub fn timers(&self) -> Vec<u64> {
        self.timers.keys().copied().collect()
    }

    /// Reports an error on a connection, as a protocol would.
    ///
    /// # Panics
    ///
    /// If `conn` is not open.
    pub fn error(&mut self, conn: &Conn, err: Error) -> Output {
        let open = open_mut(&mut self.conns, conn);
        let cmds = self
            .app
            .on_error(&open.conn, &mut open.state, err)
            .into_commands();
        self.run(cmds)
    }

    /// Whether `conn` is open.
    pub fn is_open(&self, conn: impl Into<ConnId>) -> bool {
        self.conns.contains_key(&conn.into())
    }

    /// The open connections, in order.
    pub fn open_conns(&self) -> impl Iterator<Item = &Conn> + '_ {
        self.conns.values().map(|open| &open.conn)
    }

    /// The state `conn` carries, if it is open.
    pub fn state(&self, conn: impl Into<ConnId>) -> Option<&C::State> {
        self.conns.get(&conn.into()).map(|open| &open.state)
    }

    /// The subscribers of `topic`, in order (as [`Topics::members`] of the handle's
    /// [`topics`](Handle::topics)).
    pub fn subscribers(&self, topic: &str) -> Vec<ConnId> {
        self.topics.members(topic)
    }

    /// The handle the application got in `on_start`: commands sent through it are
    /// carried out at the end of the next event.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// The application.
    pub fn app(&self) -> &C {
        &self.app
    }

    /// The application, mutably.
    pub fn app_mut(&mut self) -> &mut C {
        &mut self.app
    }

    fn set_timer(&mut self, key: u64, after: Duration, every: Option<Duration>) {
        self.timers_set += 1;
        let timer = Timer {
            due: self.now + after.max(MIN_TIMER_DELAY),
            every: every.map(|every| every.max(MIN_TIMER_DELAY)),
            order: self.timers_set,
        };
        self.timers.insert(key, timer);
    }

    /// Records `cmds` and carries them out, then whatever came through the handle.
    fn run(&mut self, cmds: Commands) -> Output {
        let mut out = Output::default();
        self.execute(cmds, &mut out);
        let mut queued = VecDeque::new();
        self.handle.take(&mut queued);
        for request in queued {
            match request {
                handle::Request::Commands(cmds) => self.execute(cmds, &mut out),
                handle::Request::Deliver(topic, msg) => self.publish(&topic, &msg, None, &mut out),
                handle::Request::Answer(id, door) => {
                    if let Some(knocking) = self.waiting.remove(&id) {
                        match door {
                            Door::Open => out.extend(self.enter(knocking)),
                            Door::Later => {
                                self.waiting.insert(id, knocking);
                            }
                            Door::Refuse(_) => {}
                        }
                    }
                }
                // The tester keeps no history: a bridge's numbered traffic is not its own.
                handle::Request::Numbered(..)
                | handle::Request::Recovered(..)
                | handle::Request::Wake(_)
                | handle::Request::Reload
                | handle::Request::Shutdown
                | handle::Request::Events(_)
                | handle::Request::Down(_)
                | handle::Request::Stopped
                | handle::Request::Resolved(..) => {}
            }
        }
        out
    }

    fn execute(&mut self, cmds: Commands, out: &mut Output) {
        out.record(cmds.clone());
        for cmd in cmds {
            match cmd {
                Command::Send { to, msg } => {
                    for &id in to.ids() {
                        if self.conns.contains_key(&id) {
                            out.deliver(id, msg.clone());
                        }
                    }
                }
                Command::Publish { topic, msg, except } => {
                    self.publish(&topic, &msg, except, out);
                }
                Command::Subscribe { conn, topic }
                | Command::Recover { conn, topic, .. }
                | Command::Present { conn, topic, .. } => {
                    if self.conns.contains_key(&conn) && !self.topics.contains(&topic, conn) {
                        self.topics.join(conn, topic);
                    }
                }
                Command::Unsubscribe { conn, topic } => {
                    self.topics.leave(conn, &topic);
                }
                Command::Timer {
                    key, after, every, ..
                } => self.set_timer(key, after, every),
                Command::CancelTimer { key, .. } => {
                    self.timers.remove(&key);
                }
                Command::Close { conn, .. } => self.closed(conn, out),
                // Recorded, as every command; the tester makes no connection, and keeps
                // no presence.
                Command::Connect { .. }
                | Command::CancelConnect { .. }
                | Command::Presence { .. } => {}
            }
        }
    }

    fn publish(&mut self, topic: &str, msg: &Payload, except: Option<ConnId>, out: &mut Output) {
        let mut ids = Vec::new();
        self.topics.recipients(topic, except, &mut ids);
        ids.sort_unstable();
        for id in ids {
            out.deliver(id, msg.clone());
        }
    }

    /// `conn` closed: it leaves its topics, then `on_close` runs.
    fn closed(&mut self, id: ConnId, out: &mut Output) {
        let Some(open) = self.conns.remove(&id) else {
            return;
        };
        for topic in self.topics.of(id) {
            self.topics.leave(id, &topic);
        }
        out.close(id);
        let cmds = self.app.on_close(&open.conn, open.state).into_commands();
        out.extend(self.run(cmds));
    }
}

fn open_mut<'a, S>(conns: &'a mut BTreeMap<ConnId, Open<S>>, conn: &Conn) -> &'a mut Open<S> {
    let id = conn.id();
    conns
        .get_mut(&id)
        .unwrap_or_else(|| panic!("connection {id} is not open"))
}

/// What became of a knock at an application's door ([`Tester::knock`]).
#[derive(Debug)]
pub enum Knock {
    /// It came in; what `on_open` produced.
    Open(Conn, Output),
    /// It was refused.
    Refused(Refuse),
    /// The door will answer later ([`Tester::answer`], or through the handle).
    Waiting(Conn),
}
