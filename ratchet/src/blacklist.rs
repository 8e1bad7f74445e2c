//! Refusing peers by address.

use crate::protocol::Protocol;
use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};

/// Drops connections from blacklisted addresses the moment they are accepted: nothing is
/// read from them and nothing is answered. Ratchet's `IpBlacklist`.
///
/// IPv4 peers that arrive on an IPv6 socket as `::ffff:a.b.c.d` are matched by their IPv4
/// address.
///
/// ```no_run
/// use ratchet::{Component, IntoCommands, IpBlacklist, Server, WebSocket};
///
/// struct Chat;
/// impl Component for Chat {
///     fn on_message(&mut self, _: &ratchet::Conn, _: ratchet::Message<'_>) -> impl IntoCommands {
///         ratchet::Commands::none()
///     }
/// }
///
/// let mut guarded = IpBlacklist::new(WebSocket::new(Chat));
/// guarded.block("192.0.2.7".parse().unwrap());
/// Server::new(guarded).bind("127.0.0.1:8080")?.run()
/// # ; Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct IpBlacklist<P> {
    inner: P,
    blocked: HashSet<IpAddr>,
}

impl<P: Protocol> IpBlacklist<P> {
    /// Wraps `inner`, blocking nobody yet.
    pub fn new(inner: P) -> Self {
        IpBlacklist {
            inner,
            blocked: HashSet::new(),
        }
    }

    /// Wraps `inner`, blocking `addresses`.
    pub fn with(inner: P, addresses: impl IntoIterator<Item = IpAddr>) -> Self {
        let mut list = IpBlacklist::new(inner);
        list.blocked.extend(addresses.into_iter().map(canonical));
        list
    }

    /// Blocks `address` from now on (connections already open stay).
    pub fn block(&mut self, address: IpAddr) -> &mut Self {
        self.blocked.insert(canonical(address));
        self
    }

    /// Lets `address` in again.
    pub fn unblock(&mut self, address: IpAddr) -> &mut Self {
        self.blocked.remove(&canonical(address));
        self
    }

    /// Whether `address` is blocked.
    pub fn is_blocked(&self, address: IpAddr) -> bool {
        self.blocked.contains(&canonical(address))
    }
}

/// IPv4-mapped IPv6 addresses as IPv4 (the same peer, whichever socket it came on).
pub(crate) fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

impl<P: Protocol> Protocol for IpBlacklist<P> {
    type ConnState = P::ConnState;

    fn accept(&mut self, peer: SocketAddr) -> bool {
        !self.is_blocked(peer.ip()) && self.inner.accept(peer)
    }

    crate::delegate_protocol!(inner; except accept);
}

/// Several workers: each gets the same list around its copy of the stack.
impl<P: crate::workers::Split> crate::workers::Split for IpBlacklist<P> {
    type Worker = IpBlacklist<P::Worker>;

    fn split(self, apps: &mut crate::workers::Apps) -> crate::workers::Replica<Self::Worker> {
        let inner = self.inner.split(apps);
        let blocked = self.blocked;
        Box::new(move |uplink| IpBlacklist {
            inner: inner(uplink),
            blocked: blocked.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Static;

    #[test]
    fn blocks_v4_also_when_mapped_into_v6() {
        let mut list = IpBlacklist::with(Static::new("."), ["192.0.2.7".parse().unwrap()]);
        assert!(!list.accept("192.0.2.7:4000".parse().unwrap()));
        assert!(!list.accept("[::ffff:192.0.2.7]:4000".parse().unwrap()));
        assert!(list.accept("192.0.2.8:4000".parse().unwrap()));
        list.unblock("192.0.2.7".parse().unwrap());
        assert!(list.accept("192.0.2.7:4000".parse().unwrap()));
    }
}
