//! Rate limits per connection: messages and bytes per second, with a burst.

use crate::error::ConfigError;
use std::time::Instant;

/// How fast one connection may send: messages and bytes per second, each with a burst
/// (a token bucket: it holds up to the burst, refills at the rate, and each message takes
/// one message token and its size in byte tokens). Given to
/// [`websocket::Config::rate`](crate::websocket::Config::rate) or
/// [`line::Config::rate`](crate::line::Config::rate); off unless given, and then it costs
/// nothing.
///
/// A message over the rate is dropped and `on_error` hears
/// [`Error::RateLimited`](crate::Error::RateLimited) ([`OverRate::Drop`], the default), or
/// the connection is closed with 1008 ([`OverRate::Close`]).
///
/// ```
/// use ratchet::{OverRate, Rate};
///
/// let rate = Rate::per_second(10).burst(20).bytes_per_second(64 << 10).over(OverRate::Close);
/// assert_eq!("10/s".parse::<Rate>().unwrap(), Rate::per_second(10));
/// assert_eq!("30/min".parse::<Rate>().unwrap(), Rate::per_minute(30));
/// # let _ = rate;
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    messages: Option<Bucketed>,
    bytes: Option<Bucketed>,
    over: OverRate,
}

/// What happens to a message over a connection's [`Rate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OverRate {
    /// The message is dropped; `on_error` hears `Error::RateLimited`.
    #[default]
    Drop,
    /// The connection is closed with 1008 (policy violation).
    Close,
}

/// One bucket's refill per second and its size.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bucketed {
    per_second: f64,
    burst: f64,
}

impl Rate {
    /// `n` messages a second, a burst of `n`.
    pub fn per_second(n: u32) -> Self {
        Rate {
            messages: Some(Bucketed {
                per_second: f64::from(n),
                burst: f64::from(n.max(1)),
            }),
            bytes: None,
            over: OverRate::Drop,
        }
    }

    /// `n` messages a minute, a burst of `n`.
    pub fn per_minute(n: u32) -> Self {
        let mut rate = Self::per_second(0);
        rate.messages = Some(Bucketed {
            per_second: f64::from(n) / 60.0,
            burst: f64::from(n.max(1)),
        });
        rate
    }

    /// A burst of `n` messages (default: the rate's count).
    #[must_use]
    pub fn burst(mut self, n: u32) -> Self {
        if let Some(m) = &mut self.messages {
            m.burst = f64::from(n.max(1));
        }
        self
    }

    /// At most `bytes` a second too, with a burst of a second's worth.
    #[must_use]
    pub fn bytes_per_second(mut self, bytes: u64) -> Self {
        self.bytes = Some(Bucketed {
            per_second: bytes as f64,
            burst: bytes.max(1) as f64,
        });
        self
    }

    /// What happens to a message over the rate (default: [`OverRate::Drop`]).
    #[must_use]
    pub fn over(mut self, over: OverRate) -> Self {
        self.over = over;
        self
    }

    /// The policy.
    pub fn policy(&self) -> OverRate {
        self.over
    }

    /// Checks the rate makes sense next to the largest message: a byte burst smaller than
    /// it would refuse such a message forever.
    pub(crate) fn check(&self, max_message: usize) -> Result<(), ConfigError> {
        match self.bytes {
            Some(b) if b.burst < max_message as f64 => Err(ConfigError::new(format!(
                "rate: a byte burst of {} is less than the largest message ({max_message} bytes), which could never pass",
                b.burst
            ))),
            _ => Ok(()),
        }
    }
}

impl std::str::FromStr for Rate {
    type Err = String;

    /// `"10/s"` or `"30/min"`.
    fn from_str(s: &str) -> Result<Self, String> {
        let problem = || format!("{s:?} is not a rate: write \"10/s\" or \"30/min\"");
        let (n, unit) = s.trim().split_once('/').ok_or_else(problem)?;
        let n: u32 = n.trim().parse().map_err(|_| problem())?;
        match unit.trim() {
            "s" | "sec" | "second" => Ok(Rate::per_second(n)),
            "m" | "min" | "minute" => Ok(Rate::per_minute(n)),
            _ => Err(problem()),
        }
    }
}

/// What a protocol does with a message under a rate: deliver it, or refuse it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Pass,
    Refuse(OverRate),
}

/// Judges a message of `len` bytes arriving `now` on a connection whose buckets are
/// `allowance` (made full on its first message).
pub(crate) fn judge(
    rate: Option<&Rate>,
    allowance: &mut Option<Box<Allowance>>,
    now: Instant,
    len: usize,
) -> Verdict {
    let Some(rate) = rate else {
        return Verdict::Pass;
    };
    let allowance = allowance.get_or_insert_with(|| Box::new(Allowance::new(rate, now)));
    if allowance.admit(rate, now, len) {
        Verdict::Pass
    } else {
        Verdict::Refuse(rate.over)
    }
}

/// A connection's buckets: what it may still send.
#[derive(Debug, Clone)]
pub(crate) struct Allowance {
    messages: f64,
    bytes: f64,
    at: Instant,
}

impl Allowance {
    /// Full buckets.
    pub fn new(rate: &Rate, now: Instant) -> Self {
        Allowance {
            messages: rate.messages.map_or(0.0, |m| m.burst),
            bytes: rate.bytes.map_or(0.0, |b| b.burst),
            at: now,
        }
    }

    /// Whether a message of `len` bytes may pass now; takes its tokens if so.
    pub fn admit(&mut self, rate: &Rate, now: Instant, len: usize) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = now;
        let refill = |tokens: &mut f64, bucket: Option<Bucketed>| {
            if let Some(b) = bucket {
                *tokens = (*tokens + elapsed * b.per_second).min(b.burst);
            }
        };
        refill(&mut self.messages, rate.messages);
        refill(&mut self.bytes, rate.bytes);
        let messages_ok = rate.messages.is_none() || self.messages >= 1.0;
        let bytes_ok = rate.bytes.is_none() || self.bytes >= len as f64;
        if !(messages_ok && bytes_ok) {
            return false;
        }
        if rate.messages.is_some() {
            self.messages -= 1.0;
        }
        if rate.bytes.is_some() {
            self.bytes -= len as f64;
        }
        true
    }
}

/// How long a full bucket of `rate` takes to refill one message (for tests and docs).
#[cfg(test)]
fn one_message(rate: &Rate) -> std::time::Duration {
    std::time::Duration::from_secs_f64(1.0 / rate.messages.map_or(f64::INFINITY, |m| m.per_second))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_holds_its_burst_and_refills_at_its_rate() {
        let rate = Rate::per_second(2);
        let t0 = Instant::now();
        let mut a = Allowance::new(&rate, t0);
        assert!(a.admit(&rate, t0, 1));
        assert!(a.admit(&rate, t0, 1));
        assert!(!a.admit(&rate, t0, 1), "the burst is two");
        assert!(a.admit(&rate, t0 + one_message(&rate), 1));
        assert!(!a.admit(&rate, t0 + one_message(&rate), 1));
        // A long silence refills to the burst, no more.
        let later = t0 + Duration::from_secs(60);
        assert!(a.admit(&rate, later, 1) && a.admit(&rate, later, 1));
        assert!(!a.admit(&rate, later, 1));
    }

    #[test]
    fn bytes_are_counted_beside_messages() {
        let rate = Rate::per_second(100).bytes_per_second(10);
        let t0 = Instant::now();
        let mut a = Allowance::new(&rate, t0);
        assert!(a.admit(&rate, t0, 6));
        assert!(!a.admit(&rate, t0, 6), "4 bytes left");
        assert!(a.admit(&rate, t0 + Duration::from_millis(200), 6));
        assert!(rate.check(11).is_err() && rate.check(10).is_ok());
    }

    #[test]
    fn rates_parse_from_their_short_form() {
        assert_eq!("1/s".parse::<Rate>(), Ok(Rate::per_second(1)));
        assert_eq!(" 30 / min ".parse::<Rate>(), Ok(Rate::per_minute(30)));
        assert!("ten/s".parse::<Rate>().is_err());
        assert!("10/h".parse::<Rate>().is_err());
    }
}
