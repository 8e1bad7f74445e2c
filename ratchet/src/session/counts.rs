//! What [`Session`](super::Session) counts for a scrape.

use super::store::Found;
use crate::exposition::{Exposition, Histogram};
use std::time::Duration;

/// What [`Session`](super::Session) counts: lookups answered with a session, without one (missing or
/// refused), unavailable (the store down or late), and how long each took.
#[derive(Debug)]
pub(super) struct Counts {
    found: u64,
    missing: u64,
    unavailable: u64,
    latency: Histogram,
}

/// Upper bounds of the lookup-latency histogram, in seconds.
const LOOKUP_BOUNDS: &[f64] = &[
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

impl Default for Counts {
    fn default() -> Self {
        Counts {
            found: 0,
            missing: 0,
            unavailable: 0,
            latency: Histogram::new(LOOKUP_BOUNDS),
        }
    }
}

impl Counts {
    /// A lookup was answered with `found`, `took` after it was asked.
    pub fn answered(&mut self, found: &Found, took: Duration) {
        self.latency.observe(took);
        match found {
            Found::Session(_) => self.found += 1,
            Found::Missing(_) => self.missing += 1,
            Found::Unavailable(_) => self.unavailable += 1,
        }
    }

    pub fn write(&self, e: &mut Exposition) {
        let help = "Session lookups answered, by result (found, missing, unavailable).";
        for (result, n) in [
            ("found", self.found),
            ("missing", self.missing),
            ("unavailable", self.unavailable),
        ] {
            e.counter(
                "ratchet_session_lookups_total",
                help,
                &[("result", result)],
                n,
            );
        }
        let help = "How long session lookups took, from the request head to the answer.";
        e.histogram("ratchet_session_lookup_seconds", help, &[], &self.latency);
    }
}
