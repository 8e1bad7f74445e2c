//! Where a message stands in its topic's history.

use std::fmt;
use std::str::FromStr;

/// A message's place in its topic's history: `<ms>-<seq>`, the form of a Redis stream id
/// (the time it was numbered, in milliseconds, and a sequence within that time). Offsets
/// of one topic grow with every message; a client keeps the last one it saw, as a
/// string, and gives it back to recover what it missed.
///
/// ```
/// use ratchet::history::Offset;
///
/// let a: Offset = "1733000000000-0".parse().unwrap();
/// let b: Offset = "1733000000000-1".parse().unwrap();
/// assert!(a < b);
/// assert_eq!(b.to_string(), "1733000000000-1");
/// assert!("yesterday".parse::<Offset>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Offset {
    /// Milliseconds since the Unix epoch when the message was numbered.
    pub ms: u64,
    /// Its sequence within that millisecond (or within the process, in memory).
    pub seq: u64,
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// Not an offset: the text is not `<ms>-<seq>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadOffset;

impl fmt::Display for BadOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an offset is <milliseconds>-<sequence>")
    }
}

impl std::error::Error for BadOffset {}

impl FromStr for Offset {
    type Err = BadOffset;

    fn from_str(s: &str) -> Result<Self, BadOffset> {
        let (ms, seq) = s.split_once('-').ok_or(BadOffset)?;
        let number = |n: &str| {
            (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                .then(|| n.parse().ok())
                .flatten()
                .ok_or(BadOffset)
        };
        Ok(Offset {
            ms: number(ms)?,
            seq: number(seq)?,
        })
    }
}
