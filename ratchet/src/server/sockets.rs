//! Listening sockets: binding them, and each worker's copy of them.
//!
//! A worker's copy is the same socket (a duplicated descriptor: every worker's poll is
//! woken by a connection, the first to accept takes it), unless the socket was bound for
//! one socket per worker ([`Server::reuse_port`](super::Server::reuse_port)): then each
//! worker binds a sibling of its own on the same address (`SO_REUSEPORT`), and the kernel
//! hands each new connection to one of them.

use mio::net::TcpListener;
use socket2::{Domain, SockRef, Socket, Type};
use std::io::{self, ErrorKind};
use std::net::SocketAddr;

/// Connections the kernel queues for `accept`, as `mio` binds.
const BACKLOG: i32 = 1024;

/// A listener on the first of `addrs` that can be bound; with `reuse_port`, the workers'
/// siblings may bind the same address with it.
pub(super) fn bind_first(addrs: &[SocketAddr], reuse_port: bool) -> io::Result<TcpListener> {
    let mut last = io::Error::new(ErrorKind::InvalidInput, "no address to bind");
    for &addr in addrs {
        let bound = if reuse_port {
            bind_unshared(addr).and_then(|()| bind_shared(addr, None))
        } else {
            TcpListener::bind(addr)
        };
        match bound {
            Ok(listener) => return Ok(listener),
            Err(e) => last = io::Error::new(e.kind(), format!("{addr}: {e}")),
        }
    }
    Err(last)
}

/// Fails as a plain bind would if anyone holds `addr`: a socket asking to share it could
/// otherwise join another process's sockets there (of the same user) without an error.
fn bind_unshared(addr: SocketAddr) -> io::Result<()> {
    if addr.port() != 0 {
        drop(TcpListener::bind(addr)?);
    }
    Ok(())
}

/// A worker's copy of `listener`: a sibling on its address if it was bound with
/// `SO_REUSEPORT`, the same socket otherwise.
pub(super) fn copy_for_worker(listener: &std::net::TcpListener) -> io::Result<TcpListener> {
    let socket = SockRef::from(listener);
    if !socket.reuse_port()? {
        return listener.try_clone().map(TcpListener::from_std);
    }
    let addr = listener.local_addr()?;
    let only_v6 = addr.is_ipv6().then(|| socket.only_v6()).transpose()?;
    bind_shared(addr, only_v6)
}

/// A non-blocking listener on `addr` that siblings may bind too (`SO_REUSEPORT`), address
/// reuse on (as `mio` and std bind).
fn bind_shared(addr: SocketAddr, only_v6: Option<bool>) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    if let Some(only) = only_v6 {
        socket.set_only_v6(only)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(TcpListener::from_std(socket.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream;

    #[test]
    fn a_shared_listener_is_copied_and_a_reuse_port_one_gets_a_sibling() {
        let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let shared: std::net::TcpListener = bind_first(&[local], false).unwrap().into();
        let copy: std::net::TcpListener = copy_for_worker(&shared).unwrap().into();
        assert_eq!(copy.local_addr().unwrap(), shared.local_addr().unwrap());
        assert!(!SockRef::from(&copy).reuse_port().unwrap());

        let own: std::net::TcpListener = bind_first(&[local], true).unwrap().into();
        let addr = own.local_addr().unwrap();
        let sibling: std::net::TcpListener = copy_for_worker(&own).unwrap().into();
        assert_eq!(sibling.local_addr().unwrap(), addr);
        // Two sockets: the kernel spreads connections over both, each its own queue.
        let mut taken = [0, 0];
        let streams: Vec<TcpStream> = (0..64).map(|_| TcpStream::connect(addr).unwrap()).collect();
        std::thread::sleep(std::time::Duration::from_millis(100));
        for (i, l) in [&own, &sibling].into_iter().enumerate() {
            while l.accept().is_ok() {
                taken[i] += 1;
            }
        }
        assert_eq!(taken[0] + taken[1], streams.len());
        assert!(taken[0] > 0 && taken[1] > 0, "{taken:?}");
        // Anyone else is refused the address, whether asking to share it or not.
        assert!(bind_first(&[addr], false).is_err());
        assert!(bind_first(&[addr], true).is_err());
    }
}
