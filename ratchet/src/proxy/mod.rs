//! Behind a load balancer or a reverse proxy: the client's address from what the proxies
//! the server trusts say. [`Behind`] waits for a trusted proxy's first bytes and serves
//! the protocol inside as the client; a [`Source`] reads the client from them: the PROXY
//! protocol header ([`ProxyProtocol`]) or the `Forwarded` headers ([`ForwardedFor`]).

mod forwarded;
mod header;

pub use forwarded::{Forwarded, ForwardedFor};

use crate::blacklist::canonical;
use crate::command::{Commands, TimerScope};
use crate::conn::{ConnId, Extensions};
use crate::error::ConfigError;
use crate::handle::Handle;
use crate::message::Payload;
use crate::protocol::{Limits, Outbox, Overflow, Protocol};
use crate::CloseCode;
use header::Header;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// A protocol behind trusted proxies, the client's address read by `S` from what they send
/// first. Use it as [`ProxyProtocol`] or [`ForwardedFor`].
#[derive(Debug)]
pub struct Behind<P, S> {
    inner: P,
    trusted: Vec<IpAddr>,
    timeout: Duration,
    source: S,
}

/// Where a [`Behind`] finds the client in what a trusted proxy sends first.
pub trait Source: Default {
    /// The most bytes it may wait for.
    const MAX: usize;
    /// How long a trusted proxy has to send them.
    const TIMEOUT: Duration;
    /// Whether those bytes are the head of a request (so that request checkers outside
    /// see one coming).
    const AWAITS_REQUEST: bool = false;

    /// Looks at the start of a trusted connection's bytes; `trusted` tells the proxies.
    fn find(&self, data: &[u8], out: &mut Outbox<'_>, trusted: &dyn Fn(IpAddr) -> bool) -> Found;
}

/// What a [`Source`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// Not enough yet.
    Partial,
    /// The client (`None`: the proxy's own address stands), after `skip` bytes that are the
    /// proxy's and not the protocol's.
    Client {
        /// Bytes that belong to the proxy.
        skip: usize,
        /// The client's address.
        client: Option<SocketAddr>,
    },
    /// Something a trusted proxy would not send: the connection is closed.
    Bad(&'static str),
}

/// Reads the PROXY protocol header (version 1 or 2: HAProxy's `send-proxy` and
/// `send-proxy-v2`, nginx's `proxy_protocol on`) that a trusted proxy sends before the
/// client's bytes, and serves the protocol inside as if the client had connected itself:
/// [`Conn::peer`](crate::Conn::peer) is the client, and an [`IpBlacklist`](crate::IpBlacklist)
/// inside checks the client.
///
/// Only connections from the trusted addresses must and may carry a header; anyone else is
/// served by its own address, and a header from it is not believed (the protocol inside
/// sees it as the garbage it is). A trusted connection whose header is malformed, or does
/// not come within [`timeout`](Behind::timeout) (5 s), is closed.
///
/// ```no_run
/// use ratchet::{Component, Conn, IntoCommands, Message, ProxyProtocol, Server, WebSocket};
///
/// struct Echo;
///
/// impl Component for Echo {
///     fn on_message(&mut self, from: &Conn, _: Message<'_>) -> impl IntoCommands {
///         from.send(format!("you are {}", from.peer()))
///     }
/// }
///
/// let behind = ProxyProtocol::new(WebSocket::new(Echo), ["127.0.0.1".parse()?]);
/// Server::new(behind).bind("127.0.0.1:8080")?.run()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type ProxyProtocol<P> = Behind<P, ProxyHeader>;

/// Where [`ProxyProtocol`] finds the client: the PROXY protocol header.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProxyHeader;

impl Source for ProxyHeader {
    const MAX: usize = header::MAX_HEADER;
    const TIMEOUT: Duration = Duration::from_secs(5);

    fn find(&self, data: &[u8], _: &mut Outbox<'_>, _: &dyn Fn(IpAddr) -> bool) -> Found {
        match header::parse(data) {
            Header::Partial => Found::Partial,
            Header::Bad(why) => Found::Bad(why),
            Header::Complete { len, source } => Found::Client {
                skip: len,
                client: source,
            },
        }
    }
}

/// A connection's state: waiting for a trusted proxy's header, or served.
#[derive(Debug)]
pub enum ProxyState<S> {
    /// A trusted proxy connected; its header has not come yet.
    Waiting {
        /// The connection.
        id: ConnId,
        /// The proxy's address.
        proxy: SocketAddr,
    },
    /// Served by the protocol inside.
    Open(S),
    /// Refused (a bad header, or the protocol inside refused the client).
    Refused,
}

impl<P, S: Source> Behind<P, S> {
    /// Serves `inner` with the client addresses that the proxies at `trusted` announce.
    pub fn new(inner: P, trusted: impl IntoIterator<Item = IpAddr>) -> Self {
        Behind {
            inner,
            trusted: trusted.into_iter().map(canonical).collect(),
            timeout: S::TIMEOUT,
            source: S::default(),
        }
    }

    /// How long a trusted proxy has to say who the client is. Default: 5 s for the PROXY
    /// protocol, 10 s for a request head.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.trusted.contains(&canonical(ip))
    }
}

impl<P: Protocol, S: Source> Protocol for Behind<P, S> {
    type ConnState = ProxyState<P::ConnState>;

    fn limits(&self) -> Result<Limits, ConfigError> {
        if self.trusted.is_empty() {
            return Err(ConfigError::new("proxy: no trusted proxy address"));
        }
        Ok(self.inner.limits()?.with_unconsumed(S::MAX))
    }

    fn accept(&mut self, peer: SocketAddr) -> bool {
        // A trusted proxy's client is judged once its header says who it is.
        self.trusts(peer.ip()) || self.inner.accept(peer)
    }

    fn busy(&self, out: &mut Vec<u8>) {
        self.inner.busy(out);
    }

    fn listeners(&self) -> usize {
        self.inner.listeners()
    }

    fn enter(&mut self, index: usize) {
        self.inner.enter(index);
    }

    fn connect(&mut self, id: ConnId, peer: SocketAddr, out: &mut Outbox<'_>) -> Self::ConnState {
        if self.trusts(peer.ip()) {
            out.set_deadline(Some(out.after(self.timeout)));
            ProxyState::Waiting { id, proxy: peer }
        } else {
            ProxyState::Open(self.inner.connect(id, peer, out))
        }
    }

    fn dial(
        &mut self,
        id: ConnId,
        dial: &crate::protocol::Dial,
        peer: SocketAddr,
        out: &mut Outbox<'_>,
    ) -> Option<Self::ConnState> {
        // A connection this server makes has no proxy in front of it.
        self.inner.dial(id, dial, peer, out).map(ProxyState::Open)
    }

    fn dial_failed(
        &mut self,
        id: ConnId,
        dial: &crate::protocol::Dial,
        error: crate::outbound::ConnectError,
    ) -> crate::Commands {
        self.inner.dial_failed(id, dial, error)
    }

    fn failed(&mut self, state: &mut Self::ConnState, error: &std::io::Error) {
        if let ProxyState::Open(s) = state {
            self.inner.failed(s, error);
        }
    }

    fn dial_outcome(&self, state: &Self::ConnState) -> crate::outbound::DialOutcome {
        match state {
            ProxyState::Open(s) => self.inner.dial_outcome(s),
            _ => crate::outbound::DialOutcome::Failed,
        }
    }

    fn data(
        &mut self,
        state: &mut Self::ConnState,
        data: &mut [u8],
        out: &mut Outbox<'_>,
    ) -> usize {
        let (id, proxy) = match state {
            ProxyState::Open(s) => return self.inner.data(s, data, out),
            ProxyState::Refused => return data.len(),
            ProxyState::Waiting { id, proxy } => (*id, *proxy),
        };
        let trusted = |ip: IpAddr| self.trusts(ip);
        let (skip, client) = match self.source.find(data, out, &trusted) {
            Found::Partial => return 0,
            Found::Bad(why) => {
                log::debug!("connection {id} from proxy {proxy}: {why}");
                *state = ProxyState::Refused;
                out.set_deadline(None);
                out.shutdown();
                return data.len();
            }
            Found::Client { skip, client } => (skip, client.unwrap_or(proxy)),
        };
        out.set_deadline(None);
        if !self.inner.accept(client) {
            log::debug!("connection {id}: {client} (through {proxy}) refused at accept");
            *state = ProxyState::Refused;
            out.shutdown();
            return data.len();
        }
        let mut inner = self.inner.connect(id, client, out);
        let consumed = if data.len() > skip {
            self.inner.data(&mut inner, &mut data[skip..], out)
        } else {
            0
        };
        *state = ProxyState::Open(inner);
        skip + consumed
    }

    fn drained(&mut self, state: &mut Self::ConnState, out: &mut Outbox<'_>) {
        if let ProxyState::Open(s) = state {
            self.inner.drained(s, out);
        }
    }

    fn wake(&mut self, state: &mut Self::ConnState, out: &mut Outbox<'_>) {
        if let ProxyState::Open(s) = state {
            self.inner.wake(s, out);
        }
    }

    fn timeout(&mut self, state: &mut Self::ConnState, out: &mut Outbox<'_>) {
        match state {
            ProxyState::Open(s) => self.inner.timeout(s, out),
            _ => {
                log::debug!("connection {}: the proxy said nothing in time", out.conn());
                *state = ProxyState::Refused;
                out.shutdown();
            }
        }
    }

    fn disconnect(&mut self, state: Self::ConnState, out: &mut Outbox<'_>) {
        if let ProxyState::Open(s) = state {
            self.inner.disconnect(s, out);
        }
    }

    fn encoding(&self, state: &Self::ConnState) -> Option<u8> {
        match state {
            ProxyState::Open(s) => self.inner.encoding(s),
            _ => None,
        }
    }

    fn encode(&mut self, state: &mut Self::ConnState, msg: &Payload, buf: &mut Vec<u8>) {
        if let ProxyState::Open(s) = state {
            self.inner.encode(s, msg, buf);
        }
    }

    fn overflow(&mut self, state: &mut Self::ConnState, policy: Overflow, out: &mut Outbox<'_>) {
        match state {
            ProxyState::Open(s) => self.inner.overflow(s, policy, out),
            _ => out.shutdown(),
        }
    }

    fn reusable(&self, state: &Self::ConnState) -> bool {
        matches!(state, ProxyState::Open(s) if self.inner.reusable(s))
    }

    fn awaits_request(&self, state: &Self::ConnState) -> bool {
        match state {
            ProxyState::Open(s) => self.inner.awaits_request(s),
            ProxyState::Waiting { .. } => S::AWAITS_REQUEST,
            ProxyState::Refused => false,
        }
    }

    fn mount(&mut self, prefix: &str) {
        self.inner.mount(prefix);
    }

    fn extensions<'a>(&self, state: &'a mut Self::ConnState) -> Option<&'a mut Extensions> {
        match state {
            ProxyState::Open(s) => self.inner.extensions(s),
            _ => None,
        }
    }

    fn start(&mut self, handle: &Handle) -> Commands {
        self.inner.start(handle)
    }

    fn timer(&mut self, scope: TimerScope, key: u64) -> Commands {
        self.inner.timer(scope, key)
    }

    fn reload(&mut self) {
        self.inner.reload();
    }

    fn metrics(&self, metrics: &mut crate::exposition::Exposition) {
        self.inner.metrics(metrics);
    }

    fn close(
        &mut self,
        state: &mut Self::ConnState,
        code: CloseCode,
        reason: &str,
        out: &mut Outbox<'_>,
    ) {
        match state {
            ProxyState::Open(s) => self.inner.close(s, code, reason, out),
            _ => {
                *state = ProxyState::Refused;
                out.shutdown();
            }
        }
    }
}

/// Several workers: each trusts the same proxies, around its copy of the stack.
impl<P: crate::workers::Split, S: Source + Send + 'static> crate::workers::Split for Behind<P, S>
where
    Behind<P, S>: Protocol,
    Behind<P::Worker, S>: Protocol,
{
    type Worker = Behind<P::Worker, S>;

    fn split(self, apps: &mut crate::workers::Apps) -> crate::workers::Replica<Self::Worker> {
        let inner = self.inner.split(apps);
        let (trusted, timeout) = (self.trusted, self.timeout);
        Box::new(move |uplink| Behind {
            inner: inner(uplink),
            trusted: trusted.clone(),
            timeout,
            source: S::default(),
        })
    }
}
