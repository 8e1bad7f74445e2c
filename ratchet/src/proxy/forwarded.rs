//! The client's address from the headers an HTTP proxy adds (`Forwarded`,
//! `X-Forwarded-For`): what nginx's `proxy_pass` sends.

use super::{canonical, ProxyState};
use crate::command::{Commands, TimerScope};
use crate::conn::{ConnId, Extensions};
use crate::error::ConfigError;
use crate::handle::Handle;
use crate::http::head::{self, Head};
use crate::message::Payload;
use crate::protocol::{Limits, Outbox, Overflow, Protocol};
use crate::request::Request;
use crate::CloseCode;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Takes the client's address from the `Forwarded` (or `X-Forwarded-For`) header that a
/// trusted HTTP proxy adds, nginx's `proxy_pass` with `proxy_set_header X-Forwarded-For
/// $remote_addr` for one: [`Conn::peer`](crate::Conn::peer) is the client (with port 0 when
/// the header gives none), and an [`IpBlacklist`](crate::IpBlacklist) inside judges the
/// client.
///
/// Only connections from the trusted addresses are believed; anyone else is served by its
/// own address whatever its headers say. The address is taken from a connection's first
/// request (a proxy that reuses one connection for several clients is not supported: give
/// nginx no `keepalive` in its upstream for the socket). A trusted connection whose head
/// does not come within [`head_timeout`](ForwardedFor::head_timeout) (10 s) is closed.
///
/// ```no_run
/// use ratchet::{Component, Conn, ForwardedFor, IntoCommands, Message, Server, WebSocket};
///
/// struct Echo;
///
/// impl Component for Echo {
///     fn on_message(&mut self, from: &Conn, _: Message<'_>) -> impl IntoCommands {
///         from.send(format!("you are {}", from.peer().ip()))
///     }
/// }
///
/// let behind = ForwardedFor::new(WebSocket::new(Echo), ["127.0.0.1".parse()?]);
/// Server::new(behind).bind("127.0.0.1:8080")?.run()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ForwardedFor<P> {
    inner: P,
    trusted: Vec<IpAddr>,
    head_timeout: Duration,
}

impl<P> ForwardedFor<P> {
    /// Serves `inner` with the client addresses the proxies at `trusted` forward.
    pub fn new(inner: P, trusted: impl IntoIterator<Item = IpAddr>) -> Self {
        ForwardedFor {
            inner,
            trusted: trusted.into_iter().map(canonical).collect(),
            head_timeout: Duration::from_secs(10),
        }
    }

    /// How long a trusted proxy has to send the first request's head. Default: 10 s.
    #[must_use]
    pub fn head_timeout(mut self, timeout: Duration) -> Self {
        self.head_timeout = timeout;
        self
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.trusted.contains(&canonical(ip))
    }
}

/// The most a first request's head may be while the client's address is read from it.
const MAX_HEAD: usize = 8 << 10;

/// The client a request came from, as the proxies in front of the server say: the nearest
/// address in the `Forwarded` chain (else `X-Forwarded-For`) that is not itself a trusted
/// proxy. `None` if the headers name none.
fn client(request: &Request, trusted: impl Fn(IpAddr) -> bool) -> Option<SocketAddr> {
    let forwarded: Vec<SocketAddr> = request
        .header_values("forwarded")
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                key.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| node(value))?
            })
        })
        .collect();
    let chain = if request.header("forwarded").is_none() {
        request
            .header_values("x-forwarded-for")
            .flat_map(|v| v.split(','))
            .filter_map(node)
            .collect()
    } else {
        forwarded
    };
    chain.into_iter().rev().find(|addr| !trusted(addr.ip()))
}

/// One hop: `192.0.2.60`, `"192.0.2.60:4711"`, `"[2001:db8::1]:4711"`, `2001:db8::1`
/// (port 0 when none is given).
fn node(value: &str) -> Option<SocketAddr> {
    let value = value.trim().trim_matches('"');
    if let Ok(addr) = value.parse::<SocketAddr>() {
        return Some(addr);
    }
    let ip = value.trim_start_matches('[').trim_end_matches(']');
    ip.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 0))
}

impl<P: Protocol> Protocol for ForwardedFor<P> {
    type ConnState = ProxyState<P::ConnState>;

    fn limits(&self) -> Result<Limits, ConfigError> {
        if self.trusted.is_empty() {
            return Err(ConfigError::new("forwarded: no trusted proxy address"));
        }
        Ok(self.inner.limits()?.with_unconsumed(MAX_HEAD))
    }

    fn accept(&mut self, peer: SocketAddr) -> bool {
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
            out.set_deadline(Some(out.after(self.head_timeout)));
            ProxyState::Waiting { id, proxy: peer }
        } else {
            ProxyState::Open(self.inner.connect(id, peer, out))
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
        let client = match head::request(out, data, MAX_HEAD) {
            Head::Partial => return 0,
            // The protocol inside answers a bad head as it would anyone's.
            Head::Bad(..) => proxy,
            Head::Complete(request, _) => client(&request, |ip| self.trusts(ip)).unwrap_or(proxy),
        };
        out.set_deadline(None);
        if !self.inner.accept(client) {
            log::debug!("connection {id}: {client} (through {proxy}) refused at accept");
            *state = ProxyState::Refused;
            out.shutdown();
            return data.len();
        }
        let mut inner = self.inner.connect(id, client, out);
        let consumed = self.inner.data(&mut inner, data, out);
        *state = ProxyState::Open(inner);
        consumed
    }

    fn drained(&mut self, state: &mut Self::ConnState, out: &mut Outbox<'_>) {
        if let ProxyState::Open(s) = state {
            self.inner.drained(s, out);
        }
    }

    fn timeout(&mut self, state: &mut Self::ConnState, out: &mut Outbox<'_>) {
        match state {
            ProxyState::Open(s) => self.inner.timeout(s, out),
            _ => {
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
            ProxyState::Waiting { .. } => true,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> Request {
        let headers = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        Request::new("GET", "/", headers)
    }

    #[test]
    fn the_nearest_untrusted_hop_is_the_client() {
        let proxy = |ip: IpAddr| ip == "127.0.0.2".parse::<IpAddr>().unwrap();
        let r = request(&[("X-Forwarded-For", "203.0.113.9, 192.0.2.7, 127.0.0.2")]);
        assert_eq!(client(&r, proxy), "192.0.2.7:0".parse().ok());
        let r = request(&[(
            "Forwarded",
            r#"for=192.0.2.60;proto=http, for="[2001:db8::1]:4711""#,
        )]);
        assert_eq!(client(&r, proxy), "[2001:db8::1]:4711".parse().ok());
        let r = request(&[
            ("Forwarded", "for=unknown"),
            ("X-Forwarded-For", "192.0.2.7"),
        ]);
        assert_eq!(
            client(&r, proxy),
            None,
            "Forwarded wins, and names nobody usable"
        );
        assert_eq!(client(&request(&[]), proxy), None);
    }
}
