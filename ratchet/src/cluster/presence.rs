//! Presence in Redis, for every process (see [`crate::presence`]): a hash of members per
//! topic, `<prefix>presence:<topic>` (`<process>:<connection>` → what it said), the
//! topics each process has members in, `<prefix>presence:of:<process>`, the processes,
//! `<prefix>presence:processes`, and a key per live process,
//! `<prefix>presence:alive:<process>`, set again every heartbeat and expiring after
//! [`ALIVE`]. A process whose key expired is dead: the first process to take it out of
//! the set removes its members and tells their topics' subscribers.

use super::envelope::envelope;
use super::sink::Sink;
use super::threads::{Backoff, Seeds};
use super::BridgeStatus;
use crate::conn::ConnId;
use crate::message::Payload;
use crate::presence::{event, snapshot, Member, ALIVE, HEARTBEAT};
use crate::server::Handle;
use redis::RedisResult;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The names of the presence keys.
#[derive(Debug, Clone)]
pub(super) struct Keys {
    pub prefix: String,
    /// This process, in the members' names.
    pub process: String,
}

impl Keys {
    fn members(&self, topic: &str) -> String {
        format!("{}presence:{topic}", self.prefix)
    }

    fn topics_of(&self, process: &str) -> String {
        format!("{}presence:of:{process}", self.prefix)
    }

    fn processes(&self) -> String {
        format!("{}presence:processes", self.prefix)
    }

    fn alive(&self, process: &str) -> String {
        format!("{}presence:alive:{process}", self.prefix)
    }

    /// `conn`'s name among the members.
    pub fn client(&self, conn: ConnId) -> String {
        format!("{}:{}", self.process, conn.to_raw())
    }
}

/// `conn` is present in `topic`, introduced by `info`.
pub(super) fn present(
    sink: &mut Sink,
    keys: &Keys,
    conn: ConnId,
    topic: &str,
    info: &str,
) -> RedisResult<()> {
    let con = sink.con();
    redis::cmd("HSET")
        .arg(keys.members(topic))
        .arg(keys.client(conn))
        .arg(info)
        .query::<()>(con)?;
    redis::cmd("SADD")
        .arg(keys.topics_of(&keys.process))
        .arg(topic)
        .query(con)
}

/// `conn` is no longer present in `topic`.
pub(super) fn absent(sink: &mut Sink, keys: &Keys, conn: ConnId, topic: &str) -> RedisResult<()> {
    redis::cmd("HDEL")
        .arg(keys.members(topic))
        .arg(keys.client(conn))
        .query(sink.con())
}

/// The members of `topic` in every live process, as snapshot JSON.
pub(super) fn members(sink: &mut Sink, keys: &Keys, topic: &str) -> RedisResult<String> {
    let con = sink.con();
    let all: BTreeMap<String, String> =
        redis::cmd("HGETALL").arg(keys.members(topic)).query(con)?;
    let mut alive = HashSet::from([keys.process.clone()]);
    let mut dead = HashSet::new();
    let mut members = Vec::with_capacity(all.len());
    for (client, info) in all {
        let process = client.split_once(':').map_or("", |(p, _)| p).to_owned();
        if !alive.contains(&process) && !dead.contains(&process) {
            let up: bool = redis::cmd("EXISTS").arg(keys.alive(&process)).query(con)?;
            if up {
                alive.insert(process.clone());
            } else {
                dead.insert(process.clone());
            }
        }
        if alive.contains(&process) {
            members.push(Member { client, info });
        }
    }
    Ok(snapshot(topic, &members))
}

/// The heartbeat thread: says this process is alive, and clears the dead ones' members.
pub(super) struct Heartbeat {
    pub seeds: Seeds,
    pub keys: Keys,
    pub origin: [u8; 16],
    pub status: BridgeStatus,
    pub handle: Handle,
}

impl Heartbeat {
    pub(super) fn run(self) {
        let mut sink: Option<Sink> = None;
        let mut backoff = Backoff::new();
        let mut next = Instant::now();
        while !self.status.0.stop.load(Ordering::Relaxed) {
            if Instant::now() < next {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            next = Instant::now() + HEARTBEAT;
            if sink.is_none() && !backoff.waiting() {
                match Sink::open(&self.seeds) {
                    Ok(s) => {
                        sink = Some(s);
                        backoff.succeeded();
                    }
                    Err(_) => backoff.failed(), // the publisher says it
                }
            }
            let Some(s) = sink.as_mut() else {
                continue;
            };
            if let Err(e) = self.beat(s).and_then(|()| self.sweep(s)) {
                log::warn!("redis bridge: presence heartbeat failed ({e})");
                sink = None;
                backoff.failed();
            }
        }
        // Stopping: the others clear what is left of this process at once.
        if let Some(s) = sink.as_mut() {
            let _: RedisResult<()> = redis::cmd("DEL")
                .arg(self.keys.alive(&self.keys.process))
                .query(s.con());
        }
    }

    fn beat(&self, sink: &mut Sink) -> RedisResult<()> {
        let con = sink.con();
        let keys = &self.keys;
        redis::cmd("SET")
            .arg(keys.alive(&keys.process))
            .arg(1)
            .arg("PX")
            .arg(ALIVE.as_millis() as u64)
            .query::<()>(con)?;
        redis::cmd("SADD")
            .arg(keys.processes())
            .arg(&keys.process)
            .query(con)
    }

    /// Clears the members of every dead process this one is the first to see.
    fn sweep(&self, sink: &mut Sink) -> RedisResult<()> {
        let keys = &self.keys;
        let processes: Vec<String> = redis::cmd("SMEMBERS")
            .arg(keys.processes())
            .query(sink.con())?;
        for process in processes.into_iter().filter(|p| *p != keys.process) {
            let up: bool = redis::cmd("EXISTS")
                .arg(keys.alive(&process))
                .query(sink.con())?;
            // Taking it out of the set is the claim: only one process gets a 1.
            if up
                || redis::cmd("SREM")
                    .arg(keys.processes())
                    .arg(&process)
                    .query::<i64>(sink.con())?
                    != 1
            {
                continue;
            }
            self.clear(sink, &process)?;
        }
        Ok(())
    }

    /// Removes `process`'s members and tells their topics they left.
    fn clear(&self, sink: &mut Sink, process: &str) -> RedisResult<()> {
        let keys = &self.keys;
        let topics: Vec<String> = redis::cmd("SMEMBERS")
            .arg(keys.topics_of(process))
            .query(sink.con())?;
        let mine = format!("{process}:");
        for topic in topics {
            let all: BTreeMap<String, String> = redis::cmd("HGETALL")
                .arg(keys.members(&topic))
                .query(sink.con())?;
            for (client, info) in all.into_iter().filter(|(c, _)| c.starts_with(&mine)) {
                let removed: i64 = redis::cmd("HDEL")
                    .arg(keys.members(&topic))
                    .arg(&client)
                    .query(sink.con())?;
                if removed == 1 {
                    let left = Payload::text(event(&topic, false, &Member { client, info }));
                    let channel = format!("{}{topic}", keys.prefix);
                    sink.publish(&channel, &envelope(&self.origin, &topic, &left))?;
                    // Ours ignore our own envelopes: they hear it from here.
                    let _ = self.handle.publish_local(topic.clone(), left);
                }
            }
        }
        redis::cmd("DEL")
            .arg(keys.topics_of(process))
            .query(sink.con())
    }
}
