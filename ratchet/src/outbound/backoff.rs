//! When to try again: exponential backoff with jitter and a ceiling.

use std::time::Duration;

/// How an outbound connection is made again after it fails to open or drops: the
/// `n`th retry in a row waits `initial × factor^(n−1)`, at most `max`, less a random part
/// of up to `jitter` of it (so that many clients cut off at once do not come back at
/// once). After `max_attempts` failed attempts in a row (if set), it stops.
///
/// A connection that opened and then dropped starts again from `initial`. Nothing sent to
/// the connection while it is down is kept: messages to a closed connection are dropped,
/// and counted in [`Stats::undelivered`](crate::Stats::undelivered).
///
/// ```
/// use ratchet::client::Backoff;
/// use std::time::Duration;
///
/// let backoff = Backoff::default()
///     .initial(Duration::from_millis(100))
///     .max(Duration::from_secs(10))
///     .max_attempts(Some(20));
/// assert!(backoff.delay(1) <= Duration::from_millis(100));
/// assert!(backoff.delay(30) <= Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    factor: f64,
    jitter: f64,
    max_attempts: Option<u32>,
}

impl Default for Backoff {
    /// 250 ms, doubling, at most 30 s, jitter 0.5, trying for ever.
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(30),
            factor: 2.0,
            jitter: 0.5,
            max_attempts: None,
        }
    }
}

/// Equal when every setting is (the factor and jitter bit for bit).
impl PartialEq for Backoff {
    fn eq(&self, other: &Self) -> bool {
        let bits = |b: &Backoff| (b.factor.to_bits(), b.jitter.to_bits());
        self.initial == other.initial
            && self.max == other.max
            && self.max_attempts == other.max_attempts
            && bits(self) == bits(other)
    }
}

impl Eq for Backoff {}

impl Backoff {
    /// The wait before the first retry. Default: 250 ms.
    #[must_use]
    pub fn initial(mut self, delay: Duration) -> Self {
        self.initial = delay;
        self
    }

    /// The longest wait. Default: 30 s.
    #[must_use]
    pub fn max(mut self, delay: Duration) -> Self {
        self.max = delay;
        self
    }

    /// What each wait is multiplied by, at least 1. Default: 2.
    #[must_use]
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = if factor.is_nan() {
            1.0
        } else {
            factor.max(1.0)
        };
        self
    }

    /// The part of each wait, 0 to 1, that is random (taken off it). Default: 0.5.
    #[must_use]
    pub fn jitter(mut self, jitter: f64) -> Self {
        self.jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        self
    }

    /// Gives up after this many failed attempts in a row; `None`, the default, never does.
    #[must_use]
    pub fn max_attempts(mut self, attempts: Option<u32>) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// The wait before retry number `retry` (1 for the first), with its jitter drawn.
    pub fn delay(&self, retry: u32) -> Duration {
        let exp = i32::try_from(retry.saturating_sub(1)).unwrap_or(i32::MAX);
        let full = self
            .initial
            .as_secs_f64()
            .mul_add(self.factor.powi(exp), 0.0)
            .min(self.max.as_secs_f64());
        let cut = full * self.jitter * rand::random::<f64>();
        Duration::from_secs_f64((full - cut).max(0.0))
    }

    /// Whether another attempt follows `failed` failed ones in a row.
    pub(crate) fn retries_after(&self, failed: u32) -> bool {
        self.max_attempts.is_none_or(|max| failed < max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_to_the_ceiling_within_their_jitter() {
        let b = Backoff::default()
            .initial(Duration::from_millis(100))
            .max(Duration::from_secs(1))
            .jitter(0.5);
        for _ in 0..100 {
            let first = b.delay(1);
            assert!(first <= Duration::from_millis(100) && first >= Duration::from_millis(50));
            let third = b.delay(3);
            assert!(third <= Duration::from_millis(400) && third >= Duration::from_millis(200));
            let late = b.delay(1000);
            assert!(late <= Duration::from_secs(1) && late >= Duration::from_millis(500));
        }
        let exact = b.jitter(0.0);
        assert_eq!(exact.delay(2), Duration::from_millis(200));
        assert!(exact.retries_after(1_000_000));
        let limited = exact.max_attempts(Some(3));
        assert!(limited.retries_after(2) && !limited.retries_after(3));
    }
}
