//! Outbound connections the application asked for ([`Command::Connect`]): each key's
//! settings, its attempts in a row, its connection, and when its next attempt is due.
//!
//! [`Command::Connect`]: crate::Command::Connect

use super::timers::Deadlines;
use crate::command::DialKey;
use crate::conn::ConnId;
use crate::outbound::{Connect, DialOutcome};
use crate::protocol::deadline_after;
use crate::protocol::Dial;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// One attempt to make: which key, which of its attempts, and what the protocols see.
#[derive(Debug)]
pub(crate) struct Attempt {
    pub key: DialKey,
    pub generation: u64,
    pub dial: Dial,
}

#[derive(Debug)]
struct Entry {
    connect: Arc<Connect>,
    /// Failed attempts in a row.
    failures: u32,
    /// The connection of the attempt in progress, or open.
    conn: Option<ConnId>,
    /// Counts attempts, so that a late answer for an old one is recognised.
    generation: u64,
    /// The wait planned if the attempt in progress fails (told to the application).
    retry_in: Option<std::time::Duration>,
}

/// Every outbound connection being made, open, or waiting to be made again.
#[derive(Debug, Default)]
pub(crate) struct Dials {
    entries: HashMap<DialKey, Entry>,
    by_conn: HashMap<ConnId, DialKey>,
    retries: Deadlines<DialKey>,
    /// Attempts due now, for the loop to resolve and connect.
    due: Vec<DialKey>,
}

impl Dials {
    /// Whether nothing is being dialled or kept (the common case, checked first).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The application asked for `key`: a first attempt is due now. A connection of an
    /// earlier request for the same key is left alone, and no longer reconnected.
    pub fn start(&mut self, key: DialKey, connect: Arc<Connect>) {
        if let Some(old) = self.entries.remove(&key) {
            if let Some(conn) = old.conn {
                self.by_conn.remove(&conn);
            }
        }
        self.retries.remove(key);
        self.entries.insert(
            key,
            Entry {
                connect,
                failures: 0,
                conn: None,
                generation: 0,
                retry_in: None,
            },
        );
        self.due.push(key);
    }

    /// The application cancelled `key`: no more attempts.
    pub fn cancel(&mut self, key: DialKey) {
        if let Some(old) = self.entries.remove(&key) {
            if let Some(conn) = old.conn {
                self.by_conn.remove(&conn);
            }
        }
        self.retries.remove(key);
    }

    /// The next attempt's time, for the loop's sleep.
    pub fn next(&self) -> Option<Instant> {
        if self.due.is_empty() {
            self.retries.next()
        } else {
            Some(Instant::now())
        }
    }

    /// The attempts due at `now`, each with its number and the wait planned if it fails.
    pub fn take_due(&mut self, now: Instant) -> Vec<Attempt> {
        while let Some((key, _, ())) = self.retries.pop_due(now) {
            self.due.push(key);
        }
        let mut attempts = Vec::with_capacity(self.due.len());
        for key in std::mem::take(&mut self.due) {
            let Some(entry) = self.entries.get_mut(&key) else {
                continue;
            };
            entry.generation += 1;
            let attempt = entry.failures + 1;
            entry.retry_in = entry
                .connect
                .backoff()
                .filter(|b| b.retries_after(attempt))
                .map(|b| b.delay(attempt));
            attempts.push(Attempt {
                key,
                generation: entry.generation,
                dial: Dial {
                    key: key.1,
                    scope: key.0,
                    connect: Arc::clone(&entry.connect),
                    attempt,
                    retry_in: entry.retry_in,
                    secured: false,
                },
            });
        }
        attempts
    }

    /// Whether `generation` is still `key`'s attempt in progress.
    pub fn is_current(&self, key: DialKey, generation: u64) -> bool {
        self.entries
            .get(&key)
            .is_some_and(|e| e.generation == generation && e.conn.is_none())
    }

    /// The attempt's connection is `conn`.
    pub fn attach(&mut self, key: DialKey, conn: ConnId) {
        if let Some(entry) = self.entries.get_mut(&key) {
            entry.conn = Some(conn);
            self.by_conn.insert(conn, key);
        }
    }

    /// The attempt for `key` failed before it had a connection.
    pub fn failed_early(&mut self, key: DialKey, now: Instant) {
        self.after(key, DialOutcome::Failed, now);
    }

    /// Outbound connection `conn` ended so.
    pub fn ended(&mut self, conn: ConnId, outcome: DialOutcome, now: Instant) {
        if let Some(key) = self.by_conn.remove(&conn) {
            if let Some(entry) = self.entries.get_mut(&key) {
                entry.conn = None;
            }
            self.after(key, outcome, now);
        }
    }

    /// Plans `key`'s next attempt, if its policy says there is one.
    fn after(&mut self, key: DialKey, outcome: DialOutcome, now: Instant) {
        let Some(entry) = self.entries.get_mut(&key) else {
            return;
        };
        let wait = match outcome {
            DialOutcome::Closed => None,
            DialOutcome::Dropped => {
                entry.failures = 0;
                entry.connect.backoff().map(|b| b.delay(1))
            }
            DialOutcome::Failed => {
                entry.failures += 1;
                entry.retry_in
            }
        };
        match wait {
            Some(wait) => self.retries.set(key, deadline_after(now, wait), ()),
            None => {
                self.entries.remove(&key);
            }
        }
    }

    /// The server shuts down: nothing more is dialled.
    pub fn clear(&mut self) {
        *self = Dials::default();
    }
}
