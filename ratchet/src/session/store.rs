//! Looking sessions up in Redis off the event loop: a few worker threads, each with its
//! own connection, take every waiting lookup at once and ask for them in one pipelined
//! round trip. Connections presenting the same session id at the same time share one
//! lookup and one decoded copy; a lookup whose connection gave up is forgotten.

use super::decode::{Format, SessionData};
use crate::conn::ConnId;
use crate::handle::Handle;
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

/// Most lookups asked in one pipelined round trip.
const BATCH: usize = 64;

/// What a lookup found.
#[derive(Debug, Clone)]
pub(crate) enum Found {
    Session(Arc<SessionData>),
    /// No such key, or a value that is not a usable session (the reason says which).
    Missing(String),
    /// The store could not be asked (in time).
    Unavailable(String),
}

/// The lookups shared between the event loop and the workers.
#[derive(Debug)]
pub(crate) struct Store {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<Lookups>,
    work: Condvar,
}

#[derive(Debug, Default)]
struct Lookups {
    /// Keys to ask for, in order.
    queue: VecDeque<String>,
    /// Connections waiting, by key (queued or being asked).
    waiting: HashMap<String, Vec<ConnId>>,
    /// Answers waiting for their connection to pick them up.
    results: HashMap<ConnId, Found>,
    /// Sessions decoded and still held by some connection, by key and the hash of their
    /// stored bytes: the same bytes are not decoded twice while a copy lives.
    decoded: HashMap<String, (u64, Weak<SessionData>)>,
    stopped: bool,
}

/// What the workers need to know.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub format: Format,
    pub max_size: usize,
    pub timeout: Duration,
}

impl Store {
    /// Starts `workers` threads asking the Redis behind `client`; answers wake their
    /// connection through `handle`.
    pub fn start(
        client: redis::Client,
        settings: Settings,
        workers: usize,
        handle: &Handle,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            state: Mutex::new(Lookups::default()),
            work: Condvar::new(),
        });
        for i in 0..workers.max(1) {
            let worker = Worker {
                client: client.clone(),
                settings: settings.clone(),
                shared: shared.clone(),
                handle: handle.clone(),
            };
            std::thread::Builder::new()
                .name(format!("ratchet-sessions-{i}"))
                .spawn(move || worker.run())?;
        }
        Ok(Store { shared })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lookups> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `conn` waits for the session under `key`: joins a lookup of the same key already
    /// waiting or under way, or queues one.
    pub fn ask(&self, conn: ConnId, key: String) {
        let mut lookups = self.lock();
        match lookups.waiting.get_mut(&key) {
            Some(conns) => conns.push(conn),
            None => {
                lookups.waiting.insert(key.clone(), vec![conn]);
                lookups.queue.push_back(key);
                self.shared.work.notify_one();
            }
        }
    }

    /// Answers `conn` from the event loop (it gave up waiting).
    pub fn answer(&self, conn: ConnId, found: Found) {
        self.lock().results.insert(conn, found);
    }

    /// The answer for `conn`, if it came.
    pub fn take(&self, conn: ConnId) -> Option<Found> {
        self.lock().results.remove(&conn)
    }

    /// `conn` no longer waits (it ended, or gave up): its answer, if one comes, is
    /// dropped, and a lookup nobody waits for any more is not asked.
    pub fn cancel(&self, conn: ConnId, key: &str) {
        let mut lookups = self.lock();
        lookups.results.remove(&conn);
        if let Some(conns) = lookups.waiting.get_mut(key) {
            conns.retain(|c| *c != conn);
            if conns.is_empty() {
                lookups.waiting.remove(key);
                lookups.queue.retain(|k| k != key);
            }
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.lock().stopped = true;
        self.shared.work.notify_all();
    }
}

/// A lookup's answer before it is delivered: a session decoded now (with the hash of its
/// bytes, to be shared), or an answer as it is.
enum Decoded {
    Fresh(u64, Arc<SessionData>),
    Done(Found),
}

struct Worker {
    client: redis::Client,
    settings: Settings,
    shared: Arc<Shared>,
    handle: Handle,
}

impl Worker {
    fn run(self) {
        let mut con: Option<redis::Connection> = None;
        loop {
            let keys = {
                let mut lookups = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
                while lookups.queue.is_empty() && !lookups.stopped {
                    lookups = self
                        .shared
                        .work
                        .wait(lookups)
                        .unwrap_or_else(|e| e.into_inner());
                }
                if lookups.stopped {
                    return;
                }
                let n = lookups.queue.len().min(BATCH);
                lookups.queue.drain(..n).collect::<Vec<String>>()
            };
            let answers = self.ask(&mut con, &keys);
            let found = self.decode(&keys, answers);
            let mut woken = Vec::new();
            {
                let mut lookups = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
                for (key, found) in keys.into_iter().zip(found) {
                    let found = match found {
                        Decoded::Fresh(hash, session) => {
                            let kept = lookups
                                .decoded
                                .get(&key)
                                .and_then(|(h, live)| live.upgrade().filter(|_| *h == hash));
                            // A copy decoded meanwhile from the same bytes is shared instead.
                            let session = kept.unwrap_or(session);
                            lookups
                                .decoded
                                .insert(key.clone(), (hash, Arc::downgrade(&session)));
                            Found::Session(session)
                        }
                        Decoded::Done(found) => found,
                    };
                    let Some(conns) = lookups.waiting.remove(&key) else {
                        continue; // every connection gave up
                    };
                    if let Found::Unavailable(why) = &found {
                        log::warn!("sessions: {why}");
                    }
                    for conn in conns {
                        lookups.results.insert(conn, found.clone());
                        woken.push(conn);
                    }
                }
                lookups
                    .decoded
                    .retain(|_, (_, session)| session.strong_count() > 0);
            }
            for conn in woken {
                if self.handle.wake(conn).is_err() {
                    return; // the server is gone
                }
            }
        }
    }

    /// Asks Redis for each key's length and (up to the size cap) its bytes, in one round
    /// trip: `Ok((length, bytes))` per key, or the error that stopped the round trip.
    fn ask(
        &self,
        con: &mut Option<redis::Connection>,
        keys: &[String],
    ) -> Vec<Result<(usize, Vec<u8>), String>> {
        let connected = match con {
            Some(c) => Ok(c),
            None => {
                crate::cluster::connect(&self.client, self.settings.timeout).map(|c| con.insert(c))
            }
        };
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.cmd("STRLEN").arg(key);
            pipe.cmd("GETRANGE")
                .arg(key)
                .arg(0)
                .arg(self.settings.max_size);
        }
        let replies: redis::RedisResult<Vec<(usize, Vec<u8>)>> = connected.and_then(|c| {
            let flat: Vec<redis::Value> = pipe.query(c)?;
            flat.chunks(2)
                .map(|pair| {
                    let len: usize = redis::from_redis_value_ref(&pair[0])?;
                    let bytes: Vec<u8> = redis::from_redis_value_ref(&pair[1])?;
                    Ok((len, bytes))
                })
                .collect()
        });
        match replies {
            Ok(replies) => replies.into_iter().map(Ok).collect(),
            Err(e) => {
                *con = None;
                let why = format!("session store unavailable: {e}");
                keys.iter().map(|_| Err(why.clone())).collect()
            }
        }
    }

    /// Turns what Redis said into answers, decoding each stored session that no live
    /// connection holds a copy of already (outside the lock: decoding takes a while).
    fn decode(
        &self,
        keys: &[String],
        answers: Vec<Result<(usize, Vec<u8>), String>>,
    ) -> Vec<Decoded> {
        let hashed: Vec<Result<(u64, Vec<u8>), Found>> = answers
            .into_iter()
            .map(|stored| {
                let (len, bytes) = stored.map_err(Found::Unavailable)?;
                if len == 0 {
                    return Err(Found::Missing("no such session".into()));
                }
                if len > self.settings.max_size {
                    log::warn!(
                        "sessions: a session of {len} bytes is over the limit of {} and is refused",
                        self.settings.max_size
                    );
                    return Err(Found::Missing(format!(
                        "session larger than {} bytes",
                        self.settings.max_size
                    )));
                }
                let mut hasher = DefaultHasher::new();
                bytes.hash(&mut hasher);
                Ok((hasher.finish(), bytes))
            })
            .collect();
        let live: Vec<Option<Arc<SessionData>>> = {
            let lookups = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
            keys.iter()
                .zip(&hashed)
                .map(|(key, h)| {
                    let (hash, _) = h.as_ref().ok()?;
                    let (h, live) = lookups.decoded.get(key)?;
                    live.upgrade().filter(|_| h == hash)
                })
                .collect()
        };
        hashed
            .into_iter()
            .zip(live)
            .map(|(h, live)| match (h, live) {
                (Err(found), _) => Decoded::Done(found),
                (Ok(_), Some(session)) => Decoded::Done(Found::Session(session)),
                (Ok((hash, bytes)), None) => {
                    match SessionData::decode(self.settings.format, &bytes) {
                        Ok(session) => Decoded::Fresh(hash, Arc::new(session)),
                        Err(e) => {
                            Decoded::Done(Found::Missing(format!("undecodable session: {e}")))
                        }
                    }
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store nobody works for: what waits stays waiting.
    fn idle() -> Store {
        Store {
            shared: Arc::new(Shared {
                state: Mutex::new(Lookups::default()),
                work: Condvar::new(),
            }),
        }
    }

    #[test]
    fn one_lookup_per_key_and_a_cancelled_one_is_forgotten() {
        let store = idle();
        let (a, b, c) = (
            ConnId::from_raw(1),
            ConnId::from_raw(2),
            ConnId::from_raw(3),
        );
        store.ask(a, "k".into());
        store.ask(b, "k".into());
        store.ask(c, "other".into());
        {
            let lookups = store.lock();
            assert_eq!(lookups.queue, ["k", "other"], "one lookup for k");
            assert_eq!(lookups.waiting["k"], [a, b]);
        }
        store.cancel(a, "k");
        assert_eq!(store.lock().queue, ["k", "other"], "b still waits for k");
        store.cancel(b, "k");
        store.cancel(c, "other");
        let lookups = store.lock();
        assert!(lookups.queue.is_empty(), "nobody waits: nothing is asked");
        assert!(lookups.waiting.is_empty());
        drop(lookups);
        store.answer(a, Found::Missing("late".into()));
        assert!(store.take(a).is_some());
        assert!(store.take(a).is_none());
    }
}
