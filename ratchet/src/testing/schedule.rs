//! [`Schedule`]: a [`Tester`] driven through random events from a seed, so an
//! application can be checked for its own invariants after every step.

use super::{Output, Tester};
use crate::conn::{Conn, ConnId, Request};
use crate::message::Payload;
use crate::stateful::StatefulComponent;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::Duration;

/// A seeded random schedule: connections knock (at one of the targets), send one of the
/// messages, close, and the clock moves (firing timers), in an order drawn from the seed.
/// The same seed gives the same schedule; a failing step reports the seed and the steps
/// that led to it.
///
/// ```
/// use ratchet::testing::{Schedule, Tester};
/// use ratchet::{Commands, Component, Conn, ConnSet, IntoCommands, Message};
///
/// #[derive(Default)]
/// struct Room {
///     here: ConnSet,
/// }
///
/// impl Component for Room {
///     fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
///         self.here.insert(conn);
///         Commands::none()
///     }
///     fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
///         self.here.except(from).send(msg)
///     }
///     fn on_close(&mut self, conn: &Conn) -> impl IntoCommands {
///         self.here.remove(conn);
///         Commands::none()
///     }
/// }
///
/// let mut t = Tester::new(Room::default());
/// Schedule::new(7).steps(300).run(&mut t, |t, _step, _out| {
///     let open: Vec<_> = t.open_conns().map(Conn::id).collect();
///     assert_eq!(t.app().here.iter().collect::<Vec<_>>(), open);
/// });
/// ```
#[derive(Debug, Clone)]
pub struct Schedule {
    seed: u64,
    steps: usize,
    max_open: usize,
    messages: Vec<Payload>,
    targets: Vec<String>,
    tick: Duration,
}

/// One step of a [`Schedule`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A connection knocked at `target` and came in.
    Open(ConnId, String),
    /// A connection knocked at `target` and the door refused it.
    Refused(String),
    /// An open connection sent a message.
    Message(ConnId, Payload),
    /// An open connection closed.
    Close(ConnId),
    /// The clock moved.
    Advance(Duration),
}

impl Schedule {
    /// A schedule drawn from `seed`: 200 steps, at most 8 connections open, each sending
    /// `"hello"`, knocking at `/`, the clock moving up to a second at a time.
    pub fn new(seed: u64) -> Self {
        Schedule {
            seed,
            steps: 200,
            max_open: 8,
            messages: vec![Payload::from("hello")],
            targets: vec!["/".to_owned()],
            tick: Duration::from_secs(1),
        }
    }

    /// How many steps.
    #[must_use]
    pub fn steps(mut self, steps: usize) -> Self {
        self.steps = steps;
        self
    }

    /// The most connections open at once.
    #[must_use]
    pub fn max_open(mut self, max: usize) -> Self {
        self.max_open = max.max(1);
        self
    }

    /// The messages connections choose from.
    #[must_use]
    pub fn messages<I: IntoIterator<Item = M>, M: Into<Payload>>(mut self, messages: I) -> Self {
        self.messages = messages.into_iter().map(Into::into).collect();
        self
    }

    /// The request targets connections knock at (`"/room?name=ann"`).
    #[must_use]
    pub fn targets<I: IntoIterator<Item = T>, T: Into<String>>(mut self, targets: I) -> Self {
        self.targets = targets.into_iter().map(Into::into).collect();
        if self.targets.is_empty() {
            self.targets.push("/".to_owned());
        }
        self
    }

    /// The longest single move of the clock.
    #[must_use]
    pub fn tick(mut self, tick: Duration) -> Self {
        self.tick = tick;
        self
    }

    /// Runs the schedule on `t`, calling `check` after every step with what it produced.
    ///
    /// # Panics
    ///
    /// If `check` or a handler panics: the panic goes on, after the seed and the steps so
    /// far are printed.
    pub fn run<C: StatefulComponent>(
        &self,
        t: &mut Tester<C>,
        mut check: impl FnMut(&Tester<C>, &Step, &Output),
    ) {
        let mut random = SplitMix(self.seed);
        let mut trace: Vec<Step> = Vec::new();
        for _ in 0..self.steps {
            let result = catch_unwind(AssertUnwindSafe(|| {
                let (step, out) = self.step(t, &mut random);
                check(t, &step, &out);
                step
            }));
            match result {
                Ok(step) => trace.push(step),
                Err(panic) => {
                    eprintln!(
                        "schedule with seed {} failed at step {}; the steps before it:",
                        self.seed,
                        trace.len() + 1
                    );
                    for (i, step) in trace.iter().enumerate() {
                        eprintln!("  {}: {step:?}", i + 1);
                    }
                    resume_unwind(panic)
                }
            }
        }
    }

    fn step<C: StatefulComponent>(
        &self,
        t: &mut Tester<C>,
        random: &mut SplitMix,
    ) -> (Step, Output) {
        let open: Vec<Conn> = t.open_conns().cloned().collect();
        let pick = |random: &mut SplitMix, n: usize| (random.next() % n as u64) as usize;
        let roll = pick(random, 100);
        if open.is_empty() || (roll < 25 && open.len() < self.max_open) {
            let target = self.targets[pick(random, self.targets.len())].clone();
            let request = Request::new("GET", &*target, vec![("Host".into(), "localhost".into())]);
            return match t.request(request) {
                Ok((conn, out)) => (Step::Open(conn.id(), target), out),
                Err(_) => (Step::Refused(target), Output::default()),
            };
        }
        let conn = &open[pick(random, open.len())];
        match roll {
            0..=59 if !self.messages.is_empty() => {
                let msg = self.messages[pick(random, self.messages.len())].clone();
                let out = t.message(conn, msg.clone());
                (Step::Message(conn.id(), msg), out)
            }
            0..=79 => (Step::Close(conn.id()), t.close(conn)),
            _ => {
                let nanos = self.tick.as_nanos().max(1) as u64;
                let by = Duration::from_nanos(random.next() % nanos + 1);
                (Step::Advance(by), t.advance(by))
            }
        }
    }
}

/// SplitMix64: a few lines of well-known arithmetic, enough to draw a schedule.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
