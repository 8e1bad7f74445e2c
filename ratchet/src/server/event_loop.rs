//! The event loop: polls the listeners and connections of one server (or of one of its
//! workers), and hands what is ready to the core.

use super::core::{Core, Place};
use super::{config, dials, Parts, FIRST_LISTENER, MAX_LISTENERS, WAKER};
#[cfg(feature = "main")]
use super::{handoff, signals, SIGNALS};
use crate::handle::{Handle, Request, Wake};
use crate::protocol::Protocol;
use crate::workers::{Event, Uplink};
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use std::collections::VecDeque;
use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One event loop: the listeners, the connections, and the core that serves them.
pub(crate) struct Loop<P: Protocol> {
    pub(super) poll: Poll,
    pub(super) listeners: Vec<TcpListener>,
    local_addrs: Vec<SocketAddr>,
    pub(super) handle: Handle,
    #[cfg(feature = "main")]
    signals: Option<signals::Signals>,
    #[cfg(feature = "main")]
    handoff: handoff::Handoff,
    /// Set once shutting down: the instant the grace period ends.
    pub(super) stopping: Option<Instant>,
    /// When accepting failed for want of descriptors: when to try again.
    accept_retry: Option<Instant>,
    /// Outbound attempts whose host is being resolved, by key and attempt.
    pub(super) resolving: std::collections::HashMap<(crate::command::DialKey, u64), dials::Attempt>,
    /// Outbound attempts whose host waits to be resolved.
    pub(super) to_resolve: VecDeque<dials::Attempt>,
    pub(super) core: Core<P, mio::net::TcpStream>,
    /// As a worker: the way up to the app thread.
    up: Option<Up>,
}

/// A worker's way up to the app thread: its applications' stand-ins write events to
/// `uplink`, and they go up in one batch per loop turn.
pub(crate) struct Up {
    pub uplink: Uplink,
    pub hub: Handle,
    events: Vec<Event>,
}

impl Up {
    pub fn new(uplink: Uplink, hub: Handle) -> Self {
        Up {
            uplink,
            hub,
            events: Vec::new(),
        }
    }
}

impl<P: Protocol> std::fmt::Debug for Loop<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loop")
            .field("local_addrs", &self.local_addrs)
            .finish_non_exhaustive()
    }
}

impl<P: Protocol> Loop<P> {
    /// A loop for `protocol` on `listeners`; `worker` places it among several.
    pub fn new(
        parts: Parts<P>,
        config: config::Valid,
        mut listeners: Vec<TcpListener>,
        worker: Option<(Place, Up)>,
    ) -> io::Result<Self> {
        let poll = Poll::new()?;
        let mut local_addrs = Vec::with_capacity(listeners.len());
        for (i, listener) in listeners.iter_mut().enumerate() {
            poll.registry()
                .register(listener, Token(FIRST_LISTENER - i), Interest::READABLE)?;
            local_addrs.push(listener.local_addr()?);
        }
        let (place, up) = match worker {
            Some((place, up)) => (place, Some(up)),
            None => (Place::default(), None),
        };
        let waker = Arc::new(mio::Waker::new(poll.registry(), WAKER)?);
        let wake: Wake = Box::new(move || waker.wake());
        let (requests, bytes) = config.handle_queue();
        let handle = Handle::new(wake, requests, bytes);
        Ok(Loop {
            poll,
            listeners,
            local_addrs,
            handle: handle.clone(),
            #[cfg(feature = "main")]
            signals: None,
            #[cfg(feature = "main")]
            handoff: handoff::Handoff::default(),
            stopping: None,
            accept_retry: None,
            resolving: std::collections::HashMap::new(),
            to_resolve: VecDeque::new(),
            core: Core::new(parts.protocol, config, parts.bridge, handle)
                .with_history(parts.history)
                .with_place(place),
            up,
        })
    }

    /// The addresses of every listener, in the order they were given.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// A handle for other threads.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Hears the signals [`Listening::shutdown_on_signals`](super::Listening::shutdown_on_signals)
    /// lists.
    #[cfg(feature = "main")]
    pub fn shutdown_on_signals(mut self) -> io::Result<Self> {
        self.signals = Some(signals::Signals::register(self.poll.registry(), SIGNALS)?);
        Ok(self)
    }

    /// Serves until shut down; as a worker, tells the app thread it stopped.
    pub fn run(mut self) -> io::Result<()> {
        let result = self.serve();
        self.handle.stop();
        if let Some(up) = &self.up {
            up.hub.pass_down(Request::Stopped);
        }
        result
    }

    /// Sends this turn's events up to the app thread.
    fn pass_up(&mut self) {
        let Some(up) = &mut self.up else {
            return;
        };
        up.uplink.take(&mut up.events);
        up.events.append(&mut self.core.scrapes.up);
        if !up.events.is_empty() {
            up.hub.pass_up(std::mem::take(&mut up.events));
        }
    }

    /// Shuts the server down: this loop, or, as a worker, every one.
    #[cfg(feature = "main")]
    fn stop_all(&mut self) {
        match &self.up {
            Some(up) => {
                up.hub.shutdown();
            }
            None => self.begin_shutdown(),
        }
    }

    fn serve(&mut self) -> io::Result<()> {
        self.core.start();
        self.dial_due();
        let mut events = Events::with_capacity(1024);
        let mut requests = VecDeque::new();
        loop {
            if let Some(grace_end) = self.stopping {
                if self.core.len() == 0 || Instant::now() >= grace_end {
                    log::info!("server stopped");
                    return Ok(());
                }
            }
            let now = Instant::now();
            let mut timeout = self.core.next_timeout(now);
            for until in [self.stopping, self.accept_retry].into_iter().flatten() {
                let left = until.saturating_duration_since(now);
                timeout = Some(timeout.map_or(left, |t| t.min(left)));
            }
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let woke = Instant::now();
            self.core.set_now(woke);
            for event in events.iter() {
                match event.token() {
                    WAKER => {
                        self.handle.take(&mut requests);
                        for request in requests.drain(..) {
                            match request {
                                Request::Shutdown => self.begin_shutdown(),
                                Request::Resolved(key, generation, addrs) => {
                                    self.resolved(key, generation, addrs);
                                }
                                request => self.core.request(request),
                            }
                        }
                    }
                    #[cfg(feature = "main")]
                    SIGNALS => {
                        let what = self.signals.as_mut().map(signals::Signals::pending);
                        match what.unwrap_or(signals::Signalled::Nothing) {
                            signals::Signalled::Reload => self.core.protocol_mut().reload(),
                            signals::Signalled::Handoff if self.stopping.is_none() => {
                                self.handoff.start(&self.listeners);
                            }
                            signals::Signalled::Stop if self.stopping.is_some() => {
                                log::warn!("second signal: stopping now");
                                return Ok(());
                            }
                            signals::Signalled::Stop => self.stop_all(),
                            signals::Signalled::Handoff | signals::Signalled::Nothing => {}
                        }
                    }
                    Token(t) if t > FIRST_LISTENER - MAX_LISTENERS => {
                        self.accept(FIRST_LISTENER - t);
                    }
                    Token(slot) => {
                        if event.is_writable() {
                            self.core.writable(slot);
                        }
                        if event.is_readable() || event.is_read_closed() || event.is_error() {
                            self.core.readable(slot);
                        }
                    }
                }
            }
            if self.accept_retry.is_some_and(|at| at <= Instant::now()) {
                self.accept_retry = None;
                for index in 0..self.listeners.len() {
                    self.accept(index);
                }
            }
            self.core.turn();
            self.dial_due();
            self.pass_up();
            self.core.metrics.turn(woke.elapsed());
        }
    }

    /// Stops accepting and asks the protocol to close every connection.
    fn begin_shutdown(&mut self) {
        if self.stopping.is_some() {
            return;
        }
        log::info!("shutting down: closing {} connection(s)", self.core.len());
        self.stopping = Some(Instant::now() + self.core.shutdown_grace());
        // Closed, not only left alone: a connection attempt from now on is refused at
        // once, or, when the socket is shared with a successor, queued for it.
        for mut listener in self.listeners.drain(..) {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        self.accept_retry = None;
        self.core.close_all();
    }

    /// Accepts what waits on listener `index`.
    fn accept(&mut self, index: usize) {
        if self.stopping.is_some() || index >= self.listeners.len() {
            return;
        }
        loop {
            let (mut stream, peer) = match self.listeners[index].accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Out of descriptors or memory: try again shortly rather than spin.
                    log::warn!("accept failed: {e}");
                    self.accept_retry = Some(Instant::now() + Duration::from_millis(50));
                    return;
                }
            };
            self.core.protocol_mut().enter(index);
            if !self.core.protocol_mut().accept(peer) {
                log::debug!("connection from {peer} refused at accept");
                continue;
            }
            let slot = self.core.vacant_slot();
            if let Err(e) = stream.set_nodelay(true).and_then(|()| {
                self.poll.registry().register(
                    &mut stream,
                    Token(slot),
                    Interest::READABLE | Interest::WRITABLE,
                )
            }) {
                log::warn!("could not register a connection from {peer}: {e}");
                continue;
            }
            if self.core.at_capacity() {
                self.core.refuse(stream, peer);
            } else {
                self.core.open(stream, peer);
            }
        }
    }
}
