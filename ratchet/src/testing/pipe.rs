//! One in-memory connection: what the client sent, what the server wrote, how much the
//! client takes, and who closed what.

use crate::server::Transport;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::rc::Rc;

/// Both ends of an in-memory connection (the server's end is a clone).
#[derive(Debug, Clone, Default)]
pub(crate) struct Pipe(Rc<RefCell<PipeState>>);

#[derive(Debug, Default)]
struct PipeState {
    /// Sent by the client, not read by the server yet.
    inbound: VecDeque<u8>,
    /// Written by the server, not taken by the test yet.
    outbound: Vec<u8>,
    /// How many more bytes the client's side takes.
    window: usize,
    client_closed: bool,
    server_shut: bool,
}

impl Pipe {
    pub fn new(window: usize) -> Self {
        let pipe = Pipe::default();
        pipe.0.borrow_mut().window = window;
        pipe
    }

    pub fn send(&self, bytes: &[u8]) {
        self.0.borrow_mut().inbound.extend(bytes);
    }

    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut self.0.borrow_mut().outbound)
    }

    pub fn set_window(&self, bytes: usize) {
        self.0.borrow_mut().window = bytes;
    }

    pub fn close(&self) {
        self.0.borrow_mut().client_closed = true;
    }

    pub fn is_shut(&self) -> bool {
        self.0.borrow().server_shut
    }

    /// Whether the server let go of its end.
    pub fn is_dropped(&self) -> bool {
        Rc::strong_count(&self.0) == 1
    }
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut p = self.0.borrow_mut();
        if p.inbound.is_empty() {
            return if p.client_closed {
                Ok(0)
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            };
        }
        let n = buf.len().min(p.inbound.len());
        for (slot, byte) in buf.iter_mut().zip(p.inbound.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut p = self.0.borrow_mut();
        if p.window == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(p.window);
        p.window -= n;
        p.outbound.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Pipe {
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.0.borrow_mut().server_shut = true;
        Ok(())
    }
}
