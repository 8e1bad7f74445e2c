//! Scrapes with several workers: the app thread gathers every worker's numbers and its
//! own into one page for the connection that asked.

use crate::conn::ConnId;
use crate::exposition::Exposition;

/// The scrapes the app thread is gathering.
#[derive(Debug, Default)]
pub(crate) struct Gathers {
    next: u64,
    open: Vec<Gather>,
}

#[derive(Debug)]
struct Gather {
    id: u64,
    /// The connection that asked.
    conn: ConnId,
    /// Workers yet to answer.
    left: usize,
    numbers: Exposition,
}

impl Gathers {
    /// `conn` asked: a gathering of `workers` workers' numbers, starting with `own` (the
    /// app thread's); its id, for the workers to answer to.
    pub fn start(&mut self, conn: ConnId, workers: usize, own: Exposition) -> u64 {
        let id = self.next;
        self.next += 1;
        self.open.push(Gather {
            id,
            conn,
            left: workers,
            numbers: own,
        });
        id
    }

    /// A worker's numbers for gathering `id`: once every worker's are in, the
    /// connection and its page.
    pub fn add(&mut self, id: u64, numbers: Exposition) -> Option<(ConnId, String)> {
        let at = self.open.iter().position(|g| g.id == id)?;
        let gather = &mut self.open[at];
        gather.numbers.merge(numbers);
        gather.left -= 1;
        if gather.left > 0 {
            return None;
        }
        let done = self.open.swap_remove(at);
        Some((done.conn, done.numbers.render()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_ready_once_every_worker_answered() {
        let mut gathers = Gathers::default();
        let conn = ConnId::new(3, 7);
        let mut own = Exposition::default();
        own.gauge("ratchet_topics", "Topics.", &[], 2.0);
        let id = gathers.start(conn, 2, own);
        let mut first = Exposition::default();
        first.counter("ratchet_bytes_read_total", "Bytes.", &[], 10);
        assert_eq!(gathers.add(id, first), None);
        assert_eq!(gathers.add(id + 1, Exposition::default()), None);
        let mut second = Exposition::default();
        second.counter("ratchet_bytes_read_total", "Bytes.", &[], 5);
        let (to, page) = gathers.add(id, second).expect("both answered");
        assert_eq!(to, conn);
        assert!(page.contains("ratchet_bytes_read_total 15\n"), "{page}");
        assert!(page.contains("ratchet_topics 2\n"), "{page}");
        assert!(gathers.open.is_empty());
    }
}
