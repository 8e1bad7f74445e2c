//! A core's place among several workers, and what its connections' ids say of it.

use crate::conn::ConnId;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::Arc;

/// Which worker a core is, of how many: worker `index` of `count` numbers its
/// connections' slots `local * count + index`, so that a [`ConnId`] names its worker
/// (`slot % count`). Their sequence is shared, so ids stay unique and in order, and so is
/// the count of connections they hold, which the connection cap is for.
#[derive(Debug, Clone)]
pub(crate) struct Place {
    pub index: usize,
    pub count: usize,
    pub sequence: Option<Arc<AtomicU64>>,
    /// Connections every worker holds, refusals left out.
    pub held: Option<Arc<AtomicUsize>>,
    /// This core's part of `held`.
    pub counted: usize,
}

impl Default for Place {
    fn default() -> Self {
        Place {
            index: 0,
            count: 1,
            sequence: None,
            held: None,
            counted: 0,
        }
    }
}

impl Place {
    /// The id of connection `sequence` in this core's slot `local`.
    pub fn id(&self, local: usize, sequence: u64) -> ConnId {
        ConnId::new(local * self.count + self.index, sequence)
    }

    /// This core's slot for `id` (one of its own).
    pub fn local(&self, id: ConnId) -> usize {
        Self::local_of(id, self.count)
    }

    pub fn local_of(id: ConnId, count: usize) -> usize {
        if count == 1 {
            id.slot()
        } else {
            id.slot() / count
        }
    }
}
