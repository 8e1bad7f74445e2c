//! Deadlines: an indexed binary heap, so that moving or cancelling a deadline removes its
//! entry at once (nothing outlives its timer), and the application's timers on top of it.

use crate::command::{TimerScope, MIN_TIMER_DELAY};
use crate::protocol::deadline_after;
use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Deadlines by key, earliest first; each key has at most one.
#[derive(Debug)]
pub(crate) struct Deadlines<K, V = (), I = HashMap<K, usize>> {
    heap: Vec<Entry<K, V>>,
    /// Where each key's entry is in `heap`.
    index: I,
}

/// Where each key's entry is in a deadline heap.
pub(crate) trait Positions<K>: Default {
    fn get(&self, key: &K) -> Option<usize>;
    fn set(&mut self, key: K, at: usize);
    fn remove(&mut self, key: &K) -> Option<usize>;
}

impl<K: Copy + Eq + Hash> Positions<K> for HashMap<K, usize> {
    fn get(&self, key: &K) -> Option<usize> {
        HashMap::get(self, key).copied()
    }
    fn set(&mut self, key: K, at: usize) {
        self.insert(key, at);
    }
    fn remove(&mut self, key: &K) -> Option<usize> {
        HashMap::remove(self, key)
    }
}

/// Positions of keys that are the server's connection slots: one `u32` per slot, no
/// hashing (4 bytes per connection where a hash map entry took about 28).
#[derive(Debug, Default)]
pub(crate) struct BySlot(Vec<u32>);

const NO_ENTRY: u32 = u32::MAX;

impl Positions<usize> for BySlot {
    fn get(&self, slot: &usize) -> Option<usize> {
        self.0
            .get(*slot)
            .filter(|&&at| at != NO_ENTRY)
            .map(|&at| at as usize)
    }
    fn set(&mut self, slot: usize, at: usize) {
        if slot >= self.0.len() {
            self.0.resize(slot + 1, NO_ENTRY);
        }
        self.0[slot] = u32::try_from(at).expect("fewer than 4 billion deadlines");
    }
    fn remove(&mut self, slot: &usize) -> Option<usize> {
        let at = self.get(slot)?;
        self.0[*slot] = NO_ENTRY;
        Some(at)
    }
}

/// The deadlines of connections, by slot.
pub(crate) type SlotDeadlines = Deadlines<usize, (), BySlot>;

#[derive(Debug)]
struct Entry<K, V> {
    at: Instant,
    key: K,
    value: V,
}

impl<K, V, I: Default> Default for Deadlines<K, V, I> {
    fn default() -> Self {
        Deadlines {
            heap: Vec::new(),
            index: I::default(),
        }
    }
}

impl<K: Copy, V, I: Positions<K>> Deadlines<K, V, I> {
    /// Sets `key`'s deadline (replacing the one it had).
    pub fn set(&mut self, key: K, at: Instant, value: V) {
        match self.index.get(&key) {
            Some(i) => {
                let earlier = at < self.heap[i].at;
                self.heap[i].at = at;
                self.heap[i].value = value;
                if earlier {
                    self.up(i);
                } else {
                    self.down(i);
                }
            }
            None => {
                self.heap.push(Entry { at, key, value });
                let i = self.heap.len() - 1;
                self.index.set(key, i);
                self.up(i);
            }
        }
    }

    /// Removes `key`'s deadline, if it has one.
    pub fn remove(&mut self, key: K) -> Option<(Instant, V)> {
        let i = self.index.remove(&key)?;
        let last = self.heap.len() - 1;
        self.heap.swap(i, last);
        let entry = self.heap.pop().expect("an entry");
        if i < self.heap.len() {
            self.index.set(self.heap[i].key, i);
            self.down(i);
            self.up(i);
        }
        Some((entry.at, entry.value))
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Instant> {
        self.heap.first().map(|e| e.at)
    }

    /// Removes and returns the earliest deadline if it is at or before `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<(K, Instant, V)> {
        let first = self.heap.first()?;
        if first.at > now {
            return None;
        }
        let key = first.key;
        let (at, value) = self.remove(key)?;
        Some((key, at, value))
    }

    /// How many deadlines are set.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    fn up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if self.heap[parent].at <= self.heap[i].at {
                break;
            }
            self.swap(i, parent);
            i = parent;
        }
    }

    fn down(&mut self, mut i: usize) {
        loop {
            let (left, right) = (2 * i + 1, 2 * i + 2);
            let mut smallest = i;
            if left < self.heap.len() && self.heap[left].at < self.heap[smallest].at {
                smallest = left;
            }
            if right < self.heap.len() && self.heap[right].at < self.heap[smallest].at {
                smallest = right;
            }
            if smallest == i {
                return;
            }
            self.swap(i, smallest);
            i = smallest;
        }
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.heap.swap(a, b);
        self.index.set(self.heap[a].key, a);
        self.index.set(self.heap[b].key, b);
    }
}

/// The most application timers fired in one loop turn; the rest wait for the next turn,
/// after the sockets had theirs.
pub(crate) const TIMERS_PER_TURN: usize = 1024;

/// The application's timers, by scope and key, with their periods.
#[derive(Debug, Default)]
pub(crate) struct AppTimers {
    due: Deadlines<(TimerScope, u64), Option<Duration>>,
}

impl AppTimers {
    /// Starts (or restarts) a timer; delays and periods below [`MIN_TIMER_DELAY`] count as
    /// it, and deadlines past a century saturate.
    pub fn start(
        &mut self,
        now: Instant,
        scope: TimerScope,
        key: u64,
        after: Duration,
        every: Option<Duration>,
    ) {
        let at = deadline_after(now, after.max(MIN_TIMER_DELAY));
        self.due
            .set((scope, key), at, every.map(|e| e.max(MIN_TIMER_DELAY)));
    }

    /// Stops a timer.
    pub fn cancel(&mut self, scope: TimerScope, key: u64) {
        self.due.remove((scope, key));
    }

    /// The next timer due at or before `now`: re-armed if periodic (keeping its period; a
    /// late loop skips ticks rather than bursting), forgotten otherwise.
    pub fn pop_due(&mut self, now: Instant) -> Option<(TimerScope, u64)> {
        let ((scope, key), at, every) = self.due.pop_due(now)?;
        if let Some(every) = every {
            let next = deadline_after(at, every).max(deadline_after(now, MIN_TIMER_DELAY));
            self.due.set((scope, key), next, Some(every));
        }
        Some((scope, key))
    }

    /// When the next timer is due.
    pub fn next(&self) -> Option<Instant> {
        self.due.next()
    }

    /// How many timers run.
    pub fn len(&self) -> usize {
        self.due.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pseudo-random order, with every key moved twice and a third removed; then every
    /// deadline comes out in order, and no position is left behind.
    fn come_out_in_order<I: Positions<usize> + std::fmt::Debug>() -> Deadlines<usize, (), I> {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut d: Deadlines<usize, (), I> = Deadlines::default();
        let mut x = 12345u64;
        for key in 0..500 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            d.set(key, at(x >> 54), ());
        }
        for key in 0..500 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            d.set(key, at(x >> 54), ());
            if key % 3 == 0 {
                d.remove(key);
            }
        }
        assert_eq!(d.len(), 500 - 167);
        let mut last = t0;
        let mut seen = 0;
        while let Some((_, when, ())) = d.pop_due(at(u64::MAX >> 54)) {
            assert!(when >= last);
            last = when;
            seen += 1;
        }
        assert_eq!(seen, 333);
        assert_eq!(d.len(), 0);
        assert!((0..500).all(|key| d.index.get(&key).is_none()));
        d
    }

    #[test]
    fn deadlines_come_out_in_order_and_moves_leave_nothing_behind() {
        assert!(come_out_in_order::<HashMap<usize, usize>>()
            .index
            .is_empty());
        come_out_in_order::<BySlot>();
    }

    #[test]
    fn app_timers_have_a_floor_saturate_and_restart_in_place() {
        let now = Instant::now();
        let mut t = AppTimers::default();
        let scope = TimerScope::default();
        t.start(now, scope, 1, Duration::ZERO, Some(Duration::ZERO));
        t.start(now, scope, 2, Duration::MAX, None);
        assert_eq!(t.next(), Some(now + MIN_TIMER_DELAY));
        assert_eq!(t.pop_due(now), None, "a zero delay is not due at once");
        let later = now + MIN_TIMER_DELAY;
        assert_eq!(t.pop_due(later), Some((scope, 1)));
        assert_eq!(t.pop_due(later), None, "re-armed one floor later");
        // Restarting or cancelling replaces the entry: nothing stale stays behind.
        for _ in 0..1000 {
            t.start(now, scope, 3, Duration::from_secs(5), None);
        }
        assert_eq!(t.len(), 3);
        t.cancel(scope, 3);
        t.cancel(scope, 2);
        assert_eq!(t.len(), 1);
        // The same key in two scopes is two timers.
        t.start(now, scope.push(1), 1, Duration::from_secs(1), None);
        assert_eq!(t.len(), 2);
    }
}
