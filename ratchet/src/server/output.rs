//! A connection's output: the bytes waiting to be written to it, its own or shared with
//! other connections (a large broadcast is one copy however many receive it), and the pool
//! that lends output buffers to busy connections.

use bytes::Bytes;
use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};

/// Output buffers kept for reuse, and the largest one kept: a connection holds an output
/// buffer only while it has bytes waiting, so idle connections cost none, and busy ones
/// reuse buffers instead of allocating one per message.
const SPARE_BUFFERS: usize = 1024;
const SPARE_BUFFER_MAX: usize = 1 << 20;

/// Frames at least this large are shared between their recipients rather than copied.
pub(crate) const SHARE_MIN: usize = 16 << 10;

/// Most slices handed to one vectored write.
const MAX_SLICES: usize = 64;

/// Output buffers for lending.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    spare: Vec<Vec<u8>>,
}

impl Pool {
    fn lend(&mut self) -> Vec<u8> {
        self.spare.pop().unwrap_or_default()
    }

    fn give_back(&mut self, mut buf: Vec<u8>) {
        if self.spare.len() < SPARE_BUFFERS && buf.capacity() <= SPARE_BUFFER_MAX {
            buf.clear();
            self.spare.push(buf);
        }
    }
}

#[derive(Debug)]
enum Chunk {
    Own(Vec<u8>),
    Shared(Bytes),
}

impl Chunk {
    fn bytes(&self) -> &[u8] {
        match self {
            Chunk::Own(v) => v,
            Chunk::Shared(b) => b,
        }
    }
}

/// The bytes waiting to be written to one connection, in order: `chunks`, then `tail`.
#[derive(Debug, Default)]
pub(crate) struct Output {
    chunks: VecDeque<Chunk>,
    /// The connection's own bytes after every chunk: what protocols append to.
    tail: Vec<u8>,
    /// Bytes of the front (the first chunk, or the tail if there is none) already written.
    written: usize,
    /// Bytes in `chunks`.
    queued: usize,
}

impl Output {
    /// Bytes waiting.
    pub fn len(&self) -> usize {
        self.queued + self.tail.len() - self.written
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer protocols append to, lent from the pool if the connection had none.
    pub fn tail(&mut self, pool: &mut Pool) -> &mut Vec<u8> {
        if self.tail.capacity() == 0 {
            self.tail = pool.lend();
        }
        &mut self.tail
    }

    /// Forgets bytes appended to the tail past `len` (a message refused after framing).
    pub fn truncate_tail(&mut self, len: usize) {
        self.tail.truncate(len.max(if self.chunks.is_empty() {
            self.written
        } else {
            0
        }));
    }

    /// Queues a frame shared with other connections.
    pub fn push_shared(&mut self, frame: Bytes, pool: &mut Pool) {
        if self.chunks.is_empty() && self.written == self.tail.len() {
            // The tail is the front and all written: `written` must not pass to the frame.
            self.tail.clear();
            self.written = 0;
        }
        if !self.tail.is_empty() {
            // (If it is the front, `written` now counts in it as the first chunk.)
            let tail = std::mem::replace(&mut self.tail, pool.lend());
            self.queued += tail.len();
            self.chunks.push_back(Chunk::Own(tail));
        }
        self.queued += frame.len();
        self.chunks.push_back(Chunk::Shared(frame));
    }

    /// Writes as much as `w` takes; returns how many bytes that was (`Ok(0)` when nothing
    /// waits or the peer is gone).
    pub fn write_to(&mut self, w: &mut impl Write) -> io::Result<usize> {
        let n = if self.chunks.is_empty() {
            w.write(&self.tail[self.written..])?
        } else {
            let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(MAX_SLICES);
            let mut first = true;
            for chunk in self.chunks.iter().take(MAX_SLICES - 1) {
                let bytes = chunk.bytes();
                slices.push(IoSlice::new(if first {
                    &bytes[self.written..]
                } else {
                    bytes
                }));
                first = false;
            }
            if slices.len() < MAX_SLICES - 1 && !self.tail.is_empty() {
                slices.push(IoSlice::new(&self.tail));
            }
            w.write_vectored(&slices)?
        };
        self.advance(n);
        Ok(n)
    }

    /// Marks `n` more bytes written.
    fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.chunks.front() else {
                self.written += n;
                return;
            };
            let left = front.bytes().len() - self.written;
            if n < left {
                self.written += n;
                return;
            }
            n -= left;
            self.queued -= front.bytes().len();
            self.written = 0;
            self.chunks.pop_front();
        }
    }

    /// Once everything is written: gives the buffers back, so an idle connection holds none.
    pub fn release(&mut self, pool: &mut Pool) {
        if self.is_empty() {
            self.written = 0;
            self.chunks.clear();
            self.queued = 0;
            if self.tail.capacity() > 0 {
                pool.give_back(std::mem::take(&mut self.tail));
            }
        }
    }

    /// Drops every byte not yet begun (keeping a frame half written, so the peer never
    /// sees a broken one): for a connection closed for not reading.
    pub fn drop_unsent(&mut self, pool: &mut Pool) {
        if self.chunks.is_empty() {
            if self.written == 0 {
                self.tail.clear();
            }
            // A tail partly written may hold several frames: it stays whole.
            return;
        }
        let keep = usize::from(self.written > 0);
        while self.chunks.len() > keep {
            if let Some(Chunk::Own(buf)) = self.chunks.pop_back() {
                pool.give_back(buf);
            }
        }
        self.queued = self.chunks.front().map_or(0, |c| c.bytes().len());
        self.tail.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that takes at most `step` bytes a call.
    struct Trickle {
        got: Vec<u8>,
        step: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(self.step);
            self.got.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn own_and_shared_bytes_go_out_in_order_whatever_the_write_sizes() {
        for step in [1, 3, 7, 1000, 1 << 20] {
            let mut pool = Pool::default();
            let mut out = Output::default();
            let mut want = Vec::new();
            for i in 0..20u8 {
                if i % 3 == 0 {
                    let frame = Bytes::from(vec![i; 50 + i as usize]);
                    want.extend_from_slice(&frame);
                    out.push_shared(frame, &mut pool);
                } else {
                    let bytes = vec![i; i as usize];
                    want.extend_from_slice(&bytes);
                    out.tail(&mut pool).extend_from_slice(&bytes);
                }
            }
            assert_eq!(out.len(), want.len());
            let mut w = Trickle {
                got: Vec::new(),
                step,
            };
            while !out.is_empty() {
                let before = out.len();
                let n = out.write_to(&mut w).unwrap();
                assert_eq!(out.len(), before - n);
            }
            assert_eq!(w.got, want, "step {step}");
            out.release(&mut pool);
            assert_eq!(out.tail.capacity(), 0, "an idle connection holds no buffer");
        }
    }

    #[test]
    fn dropping_unsent_bytes_keeps_a_half_written_frame() {
        let mut pool = Pool::default();
        let mut out = Output::default();
        out.push_shared(Bytes::from(vec![1; 100]), &mut pool);
        out.push_shared(Bytes::from(vec![2; 100]), &mut pool);
        out.tail(&mut pool).extend_from_slice(&[3; 10]);
        let mut w = Trickle {
            got: Vec::new(),
            step: 30,
        };
        out.write_to(&mut w).unwrap();
        out.drop_unsent(&mut pool);
        assert_eq!(out.len(), 70, "the rest of the first frame only");
        out.tail(&mut pool).extend_from_slice(&[9; 4]); // a close frame
        while !out.is_empty() {
            out.write_to(&mut w).unwrap();
        }
        assert_eq!(&w.got[..100], &[1; 100][..]);
        assert_eq!(&w.got[100..], &[9; 4][..]);
    }
}
