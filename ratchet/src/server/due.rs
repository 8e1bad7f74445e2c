//! What falls due at a loop turn: connections' deadlines, slow readers, the
//! application's timers, and how long the loop may sleep until the next.

use super::core::Core;
use super::timers::TIMERS_PER_TURN;
use super::transport::Transport;
use crate::command::TimerScope;
use crate::outbound::ConnectFailure;
use crate::protocol::{Overflow, Protocol};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

impl<P: Protocol, T: Transport> Core<P, T> {
    /// How long the loop may sleep.
    pub fn next_timeout(&self, now: Instant) -> Option<Duration> {
        if !self.ready.is_empty() || !self.resume.is_empty() || !self.flush_list.is_empty() {
            return Some(Duration::ZERO);
        }
        let dials = if self.dials.is_empty() {
            None
        } else {
            self.dials.next()
        };
        [
            self.deadlines.next(),
            self.slow.next(),
            self.timers.next(),
            dials,
        ]
        .into_iter()
        .flatten()
        .min()
        .map(|at| at.saturating_duration_since(now))
    }

    /// One loop turn's work after the sockets' events: held-back input, leftover reads,
    /// deadlines, slow readers, timers, and every pending write.
    pub fn turn(&mut self) {
        let mut resume = std::mem::take(&mut self.resume);
        resume.sort_unstable();
        resume.dedup();
        for slot in resume {
            if let Some(c) = self.conns.get_mut(slot) {
                c.control.resume = false;
            }
            self.wake_slot(slot);
        }
        for slot in std::mem::take(&mut self.ready) {
            self.readable(slot);
        }
        self.expire_deadlines();
        self.expire_slow_readers();
        self.expire_timers();
        self.flush_all();
    }

    fn expire_deadlines(&mut self) {
        while let Some((slot, _, ())) = self.deadlines.pop_due(self.now) {
            let Some(c) = self.conns.get_mut(slot) else {
                continue;
            };
            c.armed = None;
            c.control.deadline = None;
            if c.phase.is_open() {
                self.call(slot, |protocol, state, out| protocol.timeout(state, out));
                self.execute();
            } else {
                // Closing, half-closed, refused, lingering, or waiting for a tunnel: its
                // time is up.
                self.drop_conn_because(slot, || ConnectFailure::Proxy("no answer in time".into()));
            }
        }
    }

    /// Connections over their budget for the slow-reader time: the `Close` policy.
    fn expire_slow_readers(&mut self) {
        while let Some((slot, _, ())) = self.slow.pop_due(self.now) {
            let Some(c) = self.conns.get_mut(slot) else {
                continue;
            };
            if !c.backlog.is_over() || !c.phase.takes_messages() {
                continue;
            }
            log::debug!("connection {} does not read; closing it", c.id);
            self.handle
                .counters()
                .slow_closed
                .fetch_add(1, Ordering::Relaxed);
            c.output.drop_unsent(&mut self.pool);
            self.call(slot, |protocol, state, out| {
                protocol.overflow(state, Overflow::Close, out);
            });
            self.execute();
        }
    }

    /// Fires the application's timers that are due, at most [`TIMERS_PER_TURN`].
    fn expire_timers(&mut self) {
        for _ in 0..TIMERS_PER_TURN {
            let Some((scope, key)) = self.timers.pop_due(self.now) else {
                return;
            };
            let cmds = self.protocol.timer(scope, key);
            self.commands.extend(cmds);
            self.execute();
        }
    }

    /// Starts or stops an application timer.
    pub(super) fn set_timer(
        &mut self,
        scope: TimerScope,
        key: u64,
        timing: Option<(Duration, Option<Duration>)>,
    ) {
        match timing {
            Some((after, every)) => self.timers.start(self.now, scope, key, after, every),
            None => self.timers.cancel(scope, key),
        }
    }
}
