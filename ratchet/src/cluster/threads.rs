//! The publishing thread, off the event loop: it hands what the loop queues to Redis (a
//! server, or a cluster's masters), after the subscriptions asked for before it,
//! reconnecting with backoff (the subscribing thread, `subscriber.rs`, shares the backoff
//! and the connecting).

use super::interest::Interest;
use super::presence;
use super::sink::{Numbered, Sink};
use super::slots::Node;
use super::BridgeStatus;
use crate::conn::ConnId;
use crate::history::{Offset, Retention};
use crate::message::Payload;
use crate::server::Handle;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(2);
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a publish may take before the connection is given up as broken.
pub(super) const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a publish waits for the subscriptions asked for before it (see
/// `interest.rs`); past it, it goes anyway.
const SUBSCRIBED_WAIT: Duration = Duration::from_secs(1);

/// Work for the publisher thread.
pub(super) struct Outgoing {
    pub job: Job,
    /// The subscription changes it goes after.
    pub after: u64,
}

pub(super) enum Job {
    /// A publish: its channel and envelope.
    Publish { channel: String, envelope: Vec<u8> },
    /// A publish on a history topic, numbered and published by Redis.
    Numbered(Box<Numbered>),
    /// `conn` is present in `topic`, introduced by `info`.
    Present {
        conn: ConnId,
        topic: String,
        info: String,
    },
    /// `conn` is no longer present in `topic`.
    Absent { conn: ConnId, topic: String },
    /// Who is present in `topic`, for `conn`.
    Presence { conn: ConnId, topic: String },
    /// A recovery's history to read and hand back.
    Recover {
        conn: ConnId,
        topic: String,
        key: String,
        since: Option<Offset>,
        keep: Retention,
    },
}

impl Job {
    /// The bytes it holds, for the queue's byte bound.
    pub fn size(&self) -> usize {
        match self {
            Job::Publish { channel, envelope } => channel.len() + envelope.len(),
            Job::Numbered(n) => n.topic.len() + n.key.len() + n.head.len() + n.msg.len(),
            Job::Recover { topic, key, .. } => topic.len() + key.len(),
            Job::Present { topic, info, .. } => topic.len() + info.len(),
            Job::Absent { topic, .. } | Job::Presence { topic, .. } => topic.len(),
        }
    }
}

/// Doubling waits between reconnection attempts.
pub(super) struct Backoff {
    next: Duration,
    until: Option<Instant>,
}

impl Backoff {
    pub fn new() -> Self {
        Backoff {
            next: BACKOFF_START,
            until: None,
        }
    }

    pub fn failed(&mut self) {
        self.until = Some(Instant::now() + self.next);
        self.next = (self.next * 2).min(BACKOFF_MAX);
    }

    pub fn succeeded(&mut self) {
        *self = Backoff::new();
    }

    pub fn waiting(&self) -> bool {
        self.until.is_some_and(|until| Instant::now() < until)
    }
}

/// The Redis to reach: one server, or the seed nodes of a cluster (any one answering
/// will do; a cluster's other nodes are learnt from it).
#[derive(Debug, Clone)]
pub(super) struct Seeds(pub Vec<redis::Client>);

impl Seeds {
    /// A connection to the first seed that answers, whose commands give up after
    /// `command_timeout` (a Redis that stopped answering counts as down).
    pub fn connect(&self, command_timeout: Duration) -> redis::RedisResult<redis::Connection> {
        let mut failure = None;
        for client in &self.0 {
            match connect(client, command_timeout) {
                Ok(con) => return Ok(con),
                Err(e) => failure = Some(e),
            }
        }
        Err(failure.unwrap_or_else(|| std::io::Error::other("no Redis URL").into()))
    }

    /// A client for a cluster's `node`, with the seeds' credentials.
    pub fn at(&self, node: &Node) -> Option<redis::Client> {
        let info = self.0.first()?.get_connection_info().clone();
        let addr = redis::ConnectionAddr::Tcp(node.0.clone(), node.1);
        redis::Client::open(info.set_addr(addr)).ok()
    }

    /// The seeds' user name and password, if they have them.
    pub fn credentials(&self) -> (Option<String>, Option<String>) {
        let Some(client) = self.0.first() else {
            return (None, None);
        };
        let settings = client.get_connection_info().redis_settings();
        (
            settings.username().map(str::to_owned),
            settings.password().map(str::to_owned),
        )
    }
}

/// A connection whose commands give up after `command_timeout` (a Redis that stopped
/// answering counts as down).
pub(crate) fn connect(
    client: &redis::Client,
    command_timeout: Duration,
) -> redis::RedisResult<redis::Connection> {
    let con = client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
    con.set_write_timeout(Some(command_timeout))?;
    con.set_read_timeout(Some(command_timeout))?;
    Ok(con)
}

/// Whether `con` is to a node of a Redis Cluster (`cluster_enabled:1`).
pub(super) fn is_cluster(con: &mut redis::Connection) -> redis::RedisResult<bool> {
    let info: String = redis::cmd("INFO").arg("cluster").query(con)?;
    Ok(info.lines().any(|l| l.trim() == "cluster_enabled:1"))
}

pub(super) struct Publisher {
    pub keys: super::presence::Keys,
    pub seeds: Seeds,
    pub status: BridgeStatus,
    pub interest: Arc<Interest>,
    pub handle: Handle,
}

impl Publisher {
    pub(super) fn run(self, queue: Receiver<Outgoing>) {
        let mut con: Option<Sink> = None;
        let mut backoff = Backoff::new();
        let mut down = false;
        // Where the subscription stood when a wait ran out: no more waiting until it moves
        // (a stuck subscription delays one publish by the bound, not every one).
        let mut stuck_at: Option<u64> = None;
        // Ends when the server (and its bridge, the sender) is gone.
        while let Ok(Outgoing { job, after }) = queue.recv() {
            self.status
                .0
                .queued_bytes
                .fetch_sub(job.size(), Ordering::AcqRel);
            // After the subscriptions asked for before it: what answers it finds them.
            let confirmed = self.interest.confirmed();
            if stuck_at.is_some_and(|at| at != confirmed) {
                stuck_at = None;
            }
            // Also while the subscription is not up yet (a process starting): the history
            // topics' messages reach this process's subscribers through it.
            if stuck_at.is_none() && !self.interest.wait_for(after, SUBSCRIBED_WAIT) {
                log::warn!(
                    "redis bridge: the subscriptions lag; publishing without waiting for them"
                );
                stuck_at = Some(self.interest.confirmed());
            }
            if con.is_none() && !backoff.waiting() {
                match Sink::open(&self.seeds) {
                    Ok(c) => {
                        if down {
                            log::info!("redis bridge: publishing again");
                        }
                        con = Some(c);
                        backoff.succeeded();
                        down = false;
                    }
                    Err(e) => {
                        if !down {
                            log::warn!("redis bridge: cannot publish ({e}); local delivery goes on, retrying");
                        }
                        down = true;
                        backoff.failed();
                    }
                }
            }
            let Some(c) = con.as_mut() else {
                self.failed(job);
                continue;
            };
            let done = match &job {
                Job::Publish { channel, envelope } => c.publish(channel, envelope),
                Job::Numbered(numbered) => c.publish_numbered(numbered),
                Job::Recover {
                    conn,
                    topic,
                    key,
                    since,
                    keep,
                } => c.read_history(key, *since, *keep).map(|(found, complete)| {
                    self.answer(*conn, topic, found, complete);
                }),
                Job::Present { conn, topic, info } => {
                    presence::present(c, &self.keys, *conn, topic, info)
                }
                Job::Absent { conn, topic } => presence::absent(c, &self.keys, *conn, topic),
                Job::Presence { conn, topic } => {
                    presence::members(c, &self.keys, topic).map(|members| {
                        let _ = self.handle.send(crate::Command::send(*conn, members));
                    })
                }
            };
            match done {
                Ok(()) if !matches!(job, Job::Publish { .. } | Job::Numbered(_)) => {}
                Ok(()) => {
                    self.status.0.published.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    log::warn!("redis bridge: publish failed ({e}); reconnecting");
                    self.failed(job);
                    con = None;
                    down = true;
                    backoff.failed();
                }
            }
        }
    }
}

impl Publisher {
    /// `job` could not be done: a publish is dropped for the other processes (and
    /// counted), a history topic's delivered here unnumbered (this process's subscribers
    /// hear it whatever state Redis is in, as any publish's); a recovery is answered with
    /// nothing, incomplete, so that its connection goes live.
    fn failed(&self, job: Job) {
        match job {
            Job::Recover { conn, topic, .. } => self.answer(conn, &topic, Vec::new(), false),
            Job::Publish { .. } => {
                self.status.0.dropped.fetch_add(1, Ordering::Relaxed);
            }
            // Redis unreachable: a member stays unknown to the others; a dead process's
            // members are cleared by whoever sees it dead.
            Job::Present { .. } | Job::Absent { .. } => {}
            Job::Presence { conn, topic } => {
                let members = crate::presence::unknown(&topic);
                let _ = self.handle.send(crate::Command::send(conn, members));
            }
            Job::Numbered(n) => {
                self.status.0.dropped.fetch_add(1, Ordering::Relaxed);
                let delivered = self.handle.deliver_numbered_wait(
                    n.topic,
                    None,
                    n.msg,
                    n.except,
                    COMMAND_TIMEOUT,
                );
                if delivered.is_err() {
                    log::warn!("redis bridge: the server took no unnumbered message");
                }
            }
        }
    }

    fn answer(&self, conn: ConnId, topic: &str, found: Vec<(Offset, Payload)>, complete: bool) {
        let sent = self
            .handle
            .recovered(conn, topic, found, complete, COMMAND_TIMEOUT);
        if sent.is_err() {
            log::warn!("redis bridge: the server took no recovery for {topic}");
        }
    }
}
