//! Connections' identities: what commands address.

use std::fmt;

/// A connection's stable identity: a stale id addresses nothing rather than somebody
/// else. A server numbers its connections in order; an id is unique among the first
/// 2^44 (1.7 × 10^13) connections it accepts, more than five years at 100,000 a second.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(u64);

/// Bits of a [`ConnId`] that hold the server's slot: a server holds at most
/// 2^20 connections at once.
pub(crate) const SLOT_BITS: u32 = 20;

impl ConnId {
    /// An id from its raw value (for tests and for the `testing` module).
    pub const fn from_raw(raw: u64) -> Self {
        ConnId(raw)
    }

    /// The raw value.
    pub const fn to_raw(self) -> u64 {
        self.0
    }

    /// The server's slot for this id.
    pub(crate) fn slot(self) -> usize {
        (self.0 & ((1 << SLOT_BITS) - 1)) as usize
    }

    /// The order in which the server accepted it (0 for none).
    pub(crate) fn sequence(self) -> u64 {
        self.0 >> SLOT_BITS
    }

    /// The id of the `sequence`th connection, held in `slot` (below 2^20).
    pub(crate) fn new(slot: usize, sequence: u64) -> Self {
        debug_assert!(slot < 1 << SLOT_BITS);
        ConnId(sequence << SLOT_BITS | slot as u64)
    }
}

impl ConnId {
    /// The number a person reads: the order in which the server accepted the connection
    /// (1, 2, 3, ...), unique among a server's connections; for an id made with
    /// [`from_raw`](ConnId::from_raw) and no sequence, the raw value.
    ///
    /// ```
    /// use ratchet::ConnId;
    ///
    /// assert_eq!(ConnId::from_raw(7).number(), 7);
    /// assert_eq!(format!("guest-{}", ConnId::from_raw(7)), "guest-7");
    /// ```
    pub const fn number(self) -> u64 {
        match self.0 >> SLOT_BITS {
            0 => self.0,
            sequence => sequence,
        }
    }
}

impl fmt::Debug for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.number())
    }
}

/// The connection's [`number`](ConnId::number): `format!("guest-{id}")` reads `guest-4`.
impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conn_id_slot_and_sequence() {
        let id = ConnId::new(7, 3);
        assert_eq!(id.slot(), 7);
        assert_ne!(id, ConnId::new(7, 4));
        // Sequences far past 2^32 stay distinct in the same slot.
        let late = ConnId::new(7, (1 << 32) + 3);
        assert_eq!(late.slot(), 7);
        assert_ne!(late, id);
        assert_eq!(
            ConnId::new((1 << SLOT_BITS) - 1, 1).slot(),
            (1 << SLOT_BITS) - 1
        );
    }

    #[test]
    fn conn_id_reads_as_its_sequence() {
        assert_eq!(ConnId::new(5, 4).to_string(), "4");
        assert_eq!(format!("{:?}", ConnId::new(5, 4)), "#4");
        assert_eq!(
            ConnId::new(5, 1 << 40).to_string(),
            (1u64 << 40).to_string()
        );
        assert_eq!(ConnId::from_raw(3).to_string(), "3");
    }
}
