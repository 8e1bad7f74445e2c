//! What the server core needs of a socket, so that it can be driven without one in tests.

use std::io::{self, Read, Write};
use std::net::Shutdown;

/// A connected byte stream: non-blocking reads and writes, and a half-close.
pub(crate) trait Transport: Read + Write {
    /// Shuts the write side (the peer reads end-of-stream after what was written).
    fn shutdown_write(&mut self) -> io::Result<()>;
}

impl Transport for mio::net::TcpStream {
    fn shutdown_write(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}
