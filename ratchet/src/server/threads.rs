//! A server with several workers: its threads, how they are made from a split stack, and
//! how they run and stop together.

use super::config::Valid;
use super::core::Place;
use super::event_loop::{Loop, Up};
use super::hub::{Bell, Hub};
use super::{Parts, Server};
use crate::handle::Handle;
use crate::protocol::Protocol;
use crate::workers::{Apps, Split, Uplink};
use mio::net::TcpListener;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::Arc;

/// A worker's loop, whatever its protocol.
pub(crate) trait Worker: Send {
    fn run(self: Box<Self>) -> io::Result<()>;
    #[cfg(feature = "main")]
    fn on_signals(self: Box<Self>) -> io::Result<Box<dyn Worker>>;
}

impl<P: Protocol + Send + 'static> Worker for Loop<P>
where
    P::ConnState: Send,
{
    fn run(self: Box<Self>) -> io::Result<()> {
        Loop::run(*self)
    }
    #[cfg(feature = "main")]
    fn on_signals(self: Box<Self>) -> io::Result<Box<dyn Worker>> {
        Ok(Box::new(self.shutdown_on_signals()?))
    }
}

/// The threads of a server with several workers, before they run: the first worker runs
/// on the thread that calls [`run`](Threads::run), the others and the app thread on
/// threads of their own.
pub(crate) struct Threads {
    workers: Vec<Box<dyn Worker>>,
    hub: Hub,
    handle: Handle,
    local_addrs: Vec<SocketAddr>,
}

impl Threads {
    /// Splits `server`'s stack: its applications go to the app thread, and each of its
    /// `server.workers` workers gets a copy of the rest, and a copy of every listener.
    pub fn split<P: Split>(
        server: Server<P>,
        config: Valid,
        listeners: Vec<TcpListener>,
    ) -> io::Result<Self>
    where
        <P::Worker as Protocol>::ConnState: Send,
    {
        let count = server.workers;
        let mut apps = Apps::default();
        let replica = server.protocol.split(&mut apps);
        let listeners: Vec<std::net::TcpListener> = listeners.into_iter().map(Into::into).collect();
        let local_addrs = listeners
            .iter()
            .map(std::net::TcpListener::local_addr)
            .collect::<io::Result<Vec<_>>>()?;
        // The first worker polls the sockets bound; the others, copies (made first).
        let mut copies = Vec::with_capacity(count);
        for _ in 1..count {
            let copy = listeners.iter().map(super::sockets::copy_for_worker);
            copies.push(copy.collect::<io::Result<Vec<_>>>()?);
        }
        copies.insert(
            0,
            listeners.into_iter().map(TcpListener::from_std).collect(),
        );
        let bell = Arc::new(Bell::default());
        let (requests, bytes) = config.handle_queue();
        let ring = Arc::clone(&bell);
        let inbox = Handle::new(
            Box::new(move || {
                ring.ring();
                Ok(())
            }),
            requests,
            bytes,
        );
        let sequence = Arc::new(AtomicU64::new(0));
        let held = Arc::new(AtomicUsize::new(0));
        let mut workers: Vec<Box<dyn Worker>> = Vec::with_capacity(count);
        let mut handles = Vec::with_capacity(count);
        for (index, copies) in copies.into_iter().enumerate() {
            let uplink = Uplink::default();
            let parts = Parts {
                protocol: replica(&uplink),
                bridge: None,
                history: None,
            };
            let place = Place {
                index,
                count,
                sequence: Some(Arc::clone(&sequence)),
                held: Some(Arc::clone(&held)),
                counted: 0,
            };
            let up = Up::new(uplink, inbox.clone());
            let worker = Loop::new(parts, config.share(count), copies, Some((place, up)))?;
            handles.push(worker.handle());
            workers.push(Box::new(worker));
        }
        let hub = Hub::new(
            apps,
            inbox.clone(),
            bell,
            handles,
            server.bridge,
            server.history,
        );
        Ok(Threads {
            workers,
            hub,
            handle: inbox,
            local_addrs,
        })
    }

    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// The application's handle (the app thread's).
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Signals go to the first worker, which passes a shutdown to every one.
    #[cfg(feature = "main")]
    pub fn shutdown_on_signals(mut self) -> io::Result<Self> {
        let first = self.workers.remove(0);
        self.workers.insert(0, first.on_signals()?);
        Ok(self)
    }

    /// Runs every worker and the app thread until they have all stopped; the first error
    /// of a worker, if any.
    pub fn run(self) -> io::Result<()> {
        let Threads {
            mut workers,
            hub,
            handle,
            ..
        } = self;
        let app = std::thread::Builder::new()
            .name("ratchet-app".into())
            .spawn(move || hub.run())?;
        let first = workers.remove(0);
        let mut others = Vec::with_capacity(workers.len());
        for (i, worker) in workers.into_iter().enumerate() {
            let spawned = std::thread::Builder::new()
                .name(format!("ratchet-w{}", i + 1))
                .spawn(move || worker.run());
            match spawned {
                Ok(thread) => others.push(thread),
                Err(e) => {
                    handle.shutdown();
                    return Err(e);
                }
            }
        }
        let mut result = first.run();
        for thread in others {
            let ended = thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("a worker panicked")));
            result = result.and(ended);
        }
        let _ = app.join();
        result
    }
}
