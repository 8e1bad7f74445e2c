//! Large compressed messages, one connection at a time.
//!
//! Every connection inflates at most a slice per loop turn
//! ([`Config::inflate_per_turn`](super::Config::inflate_per_turn)), so no client holds the
//! loop. Past its first slice a message is *large*, and large messages are inflated by one
//! connection at a time, in the order they asked: the one at the front of the queue goes on
//! a slice per turn until its message is done or its input runs dry, then the next. A crowd
//! of bombs is thus worked through one after another (each refused with 1009 at the size
//! limit), not all at once: the loop stays responsive, and the buffers they grow do not
//! interleave in the heap and leave it riddled when they are dropped.

use super::rfc6455::Session;
use crate::conn::ConnId;
use std::collections::VecDeque;

/// Who may inflate large messages: the front; the rest wait their turn.
#[derive(Debug, Default)]
pub(super) struct LargeInflations {
    queue: VecDeque<ConnId>,
}

impl LargeInflations {
    /// Whether `id` may inflate past a message's first slice now.
    pub fn may(&self, id: ConnId) -> bool {
        self.queue.front().is_none_or(|&front| front == id)
    }

    /// What `id`'s decoder did this turn: it keeps the turn while working through a
    /// large message, gives it up once the message is done or it waits for input, and
    /// queues when it needs the turn.
    pub fn after(&mut self, id: ConnId, session: Session) {
        let front = self.queue.front() == Some(&id);
        if front && (session.finished_large || !session.yielded) {
            self.queue.pop_front();
        } else if !front && session.used_large && self.queue.is_empty() {
            self.queue.push_back(id); // it took the turn no one had
        }
        if session.wants_large && !self.queue.contains(&id) {
            self.queue.push_back(id);
        }
    }

    /// `id` is gone (or no longer decodes frames).
    pub fn forget(&mut self, id: ConnId) {
        self.queue.retain(|&queued| queued != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(yielded: bool, wants: bool, used: bool, finished: bool) -> Session {
        Session {
            yielded,
            wants_large: wants,
            used_large: used,
            finished_large: finished,
            compressed: 0,
        }
    }

    #[test]
    fn one_at_a_time_in_the_order_they_asked() {
        let (a, b, c) = (
            ConnId::from_raw(1),
            ConnId::from_raw(2),
            ConnId::from_raw(3),
        );
        let mut large = LargeInflations::default();
        assert!(large.may(a) && large.may(b));
        // a takes the free turn and yields with more to do; b and c must wait.
        large.after(a, session(true, false, true, false));
        assert!(large.may(a) && !large.may(b));
        large.after(b, session(true, true, false, false));
        large.after(c, session(true, true, false, false));
        // a finishes: b is next, then c.
        large.after(a, session(false, false, true, true));
        assert!(large.may(b) && !large.may(c) && !large.may(a));
        // b's input runs dry mid-message: it lets c go, and queues again when it needs to.
        large.after(b, session(false, false, true, false));
        assert!(large.may(c));
        large.after(b, session(true, true, false, false));
        large.forget(c);
        assert!(large.may(b));
    }
}
