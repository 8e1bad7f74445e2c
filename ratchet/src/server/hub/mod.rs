//! The app thread of a server with several workers: the applications, the topics (with
//! their presence and history), the application's timers and the bridge live here; the
//! workers send up what happened on their connections, and get down the commands for the
//! connections they own ([`route`]).

mod route;

use super::bridge::Bridge;
use super::gather::Gathers;
use super::history::Timeline;
use super::metrics::{queue_and_timers, server_metrics};
use super::timers::AppTimers;
use crate::command::{Commands, TimerScope, Topic};
use crate::conn::ConnId;
use crate::handle::{Down, Handle, Request};
use crate::topics::Topics;
use crate::workers::{Apps, Event};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

/// How the app thread is woken: a flag and a condition variable, signalled only while
/// the app thread sleeps on it (a ring while it works costs no system call).
#[derive(Default)]
pub(crate) struct Bell {
    state: Mutex<Rung>,
    ring: Condvar,
}

#[derive(Default)]
struct Rung {
    rung: bool,
    sleeping: bool,
}

impl Bell {
    pub fn ring(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.rung = true;
        let sleeping = state.sleeping;
        drop(state);
        if sleeping {
            self.ring.notify_one();
        }
    }

    /// Waits until rung, or until `until`.
    fn wait(&self, until: Option<Instant>) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.sleeping = true;
        while !state.rung {
            let Some(left) = until.map(|u| u.saturating_duration_since(Instant::now())) else {
                state = self.ring.wait(state).unwrap_or_else(|e| e.into_inner());
                continue;
            };
            if left.is_zero() {
                break;
            }
            state = self
                .ring
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        state.rung = false;
        state.sleeping = false;
    }
}

/// The app thread's state: the applications and what they share across workers.
pub(crate) struct Hub {
    apps: Apps,
    /// The application's handle: what workers and other threads send the app thread.
    inbox: Handle,
    bell: Arc<Bell>,
    /// Each worker's handle, by index; what goes down to each this turn.
    workers: Vec<Handle>,
    lanes: Vec<Vec<Down>>,
    topics: Topics,
    /// The connections that knocked and are not gone, with their topics.
    conns: HashMap<ConnId, Vec<Topic>>,
    /// Those of them an application asked to close.
    closing: HashSet<ConnId>,
    timers: AppTimers,
    bridge: Option<Box<dyn Bridge>>,
    /// Workers whose loop still runs.
    running: usize,
    stopping: bool,
    /// Scratch: a message's recipients, then split by worker.
    recipients: Vec<ConnId>,
    by_worker: Vec<Vec<ConnId>>,
    /// Scrapes waiting for the workers' numbers.
    gathers: Gathers,
    /// Who of this process is present in which topic.
    members: crate::presence::Members,
    /// The topics that keep a history, and the recoveries under way.
    timeline: Option<Timeline>,
}

/// The worker that owns `id`, of `workers` (see [`Place`](super::core::Place)).
fn owner(id: ConnId, workers: usize) -> usize {
    id.slot() % workers
}

impl Hub {
    pub fn new(
        apps: Apps,
        inbox: Handle,
        bell: Arc<Bell>,
        workers: Vec<Handle>,
        bridge: Option<Box<dyn Bridge>>,
        history: Option<crate::history::History>,
    ) -> Self {
        inbox.set_workers(workers.clone());
        let timeline = history.map(|rules| Timeline::new(rules, bridge.as_deref()));
        Hub {
            apps,
            topics: inbox.topics(),
            inbox,
            bell,
            lanes: workers.iter().map(|_| Vec::new()).collect(),
            by_worker: workers.iter().map(|_| Vec::new()).collect(),
            running: workers.len(),
            workers,
            conns: HashMap::new(),
            closing: HashSet::new(),
            timers: AppTimers::default(),
            bridge,
            stopping: false,
            recipients: Vec::new(),
            gathers: Gathers::default(),
            members: crate::presence::Members::default(),
            timeline,
        }
    }

    /// Runs the app thread until every worker has stopped.
    pub fn run(mut self) {
        if let Some(bridge) = &mut self.bridge {
            bridge.start(&self.inbox);
        }
        for app in 0..self.apps.len() {
            let started = self.apps.get(app).map(|hosted| hosted.start(&self.inbox));
            self.route(app, started.unwrap_or_default());
        }
        let mut requests = VecDeque::new();
        while self.running > 0 {
            self.inbox.take(&mut requests);
            for request in requests.drain(..) {
                self.request(request);
            }
            self.fire_timers();
            self.flush();
            if self.running > 0 && self.inbox.is_idle() {
                self.bell.wait(self.timers.next());
            }
        }
        self.inbox.stop();
    }

    fn request(&mut self, request: Request) {
        match request {
            Request::Events(events) => {
                for event in events {
                    self.event(event);
                }
            }
            Request::Commands(cmds) => self.route(0, cmds),
            Request::Deliver(topic, msg) => self.deliver(&topic, &msg, None),
            Request::Numbered(topic, offset, msg, except) => {
                self.keeping(|k| k.deliver(&topic, offset, &msg, except));
            }
            Request::Recovered(conn, topic, found, complete) => {
                self.keeping(|k| k.recovered(conn, &topic, found, complete));
            }
            Request::Answer(conn, door) => self.down(conn, Down::Answer(conn, door)),
            Request::Wake(conn) => self.down(conn, Down::Wake(conn)),
            Request::Reload => {
                for worker in &self.workers {
                    worker.pass_down(Request::Reload);
                }
            }
            Request::Shutdown => self.shutdown(),
            Request::Stopped => {
                self.running -= 1;
                // One worker gone (its loop failed, or a second signal): the rest follow.
                self.shutdown();
            }
            // A worker's, never sent here.
            Request::Down(_) => {}
            // Names are resolved by the worker that connects.
            Request::Resolved(..) => {}
        }
    }

    fn shutdown(&mut self) {
        if std::mem::replace(&mut self.stopping, true) {
            return;
        }
        for worker in &self.workers {
            worker.pass_down(Request::Shutdown);
        }
    }

    fn event(&mut self, event: Event) {
        let (app, cmds) = match event {
            Event::Request(app, conn) => {
                let id = conn.id();
                self.conns.insert(id, Vec::new());
                if let Some(hosted) = self.apps.get(app) {
                    let door = hosted.request(conn);
                    self.down(id, Down::Answer(id, door));
                }
                return;
            }
            Event::Open(app, conn) => {
                self.conns.entry(conn.id()).or_default();
                (app, self.hosted(app, |h| h.open(conn)))
            }
            Event::Message(app, id, msg) => {
                if !self.closing.contains(&id) {
                    let cmds = self.hosted(app, |h| h.message(id, &msg));
                    self.route(app, cmds);
                }
                // After its commands: the worker reads on.
                self.down(id, Down::Acked(id));
                return;
            }
            Event::Close(app, id) => {
                self.forget(id);
                (app, self.hosted(app, |h| h.close(id)))
            }
            Event::Error(app, conn, err) => (app, self.hosted(app, |h| h.error(conn, err))),
            Event::Gone(app, id) => {
                self.forget(id);
                if let Some(hosted) = self.apps.get(app) {
                    hosted.forget(id);
                }
                return;
            }
            Event::Scrape(conn) => return self.scrape(conn),
            Event::Rendered(id, numbers) => {
                if let Some((conn, page)) = self.gathers.add(id, *numbers) {
                    self.down(conn, Down::Scraped(conn, page));
                }
                return;
            }
        };
        self.route(app, cmds);
    }

    /// `conn` asked for the server's metrics: the app thread's numbers (topics, timers,
    /// the bridge, and the counts every worker shares), then every worker's own.
    fn scrape(&mut self, conn: ConnId) {
        let mut own = crate::exposition::Exposition::default();
        server_metrics(&mut own, &self.inbox.stats(), self.bridge.as_deref());
        queue_and_timers(&mut own, self.inbox.queued(), self.timers.len());
        let id = self.gathers.start(conn, self.workers.len(), own);
        for lane in &mut self.lanes {
            lane.push(Down::Render(id));
        }
    }

    /// `id` is gone: it leaves its topics.
    fn forget(&mut self, id: ConnId) {
        self.closing.remove(&id);
        if let Some(topics) = self.conns.remove(&id) {
            for topic in topics {
                self.leave(id, &topic);
            }
        }
    }

    fn hosted(
        &mut self,
        app: usize,
        f: impl FnOnce(&mut (dyn crate::workers::Hosted + 'static)) -> Commands,
    ) -> Commands {
        self.apps.get(app).map_or_else(Commands::none, f)
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        // A bounded number per turn, so that a storm of timers cannot starve the events.
        for _ in 0..1024 {
            let Some((scope, key)) = self.timers.pop_due(now) else {
                return;
            };
            let app = scope.pop().map_or(0, |(index, _)| index);
            let cmds = self.hosted(app, |h| h.timer(key));
            self.route(app, cmds);
        }
    }

    /// Sends each worker what it got this turn, in one request.
    fn flush(&mut self) {
        for (worker, lane) in self.lanes.iter_mut().enumerate() {
            if !lane.is_empty() {
                let batch = std::mem::take(lane);
                self.workers[worker].pass_down(Request::Down(batch));
            }
        }
    }
}

/// The timer scope of application `app`.
fn scope(app: usize) -> TimerScope {
    TimerScope::default().push(app)
}
