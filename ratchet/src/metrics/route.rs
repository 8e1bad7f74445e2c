//! The route that answers a scrape: `GET` gets the server's metrics, from allowed peers.

use crate::conn::ConnId;
use crate::error::ConfigError;
use crate::exposition::Exposition;
use crate::http::{self, Head};
use crate::message::Payload;
use crate::protocol::{Limits, Outbox, Protocol};
use crate::CloseCode;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Request heads larger than this are refused (431): a scrape's is a few hundred bytes.
const MAX_HEAD: usize = 8 * 1024;

/// A scraper has this long to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves the server's metrics in the Prometheus text format, one response per
/// connection: mount it on a [`Router`](crate::Router) route.
///
/// Only loopback peers are answered unless more are [allowed](Metrics::allow) (`403`
/// otherwise): the numbers say how busy the server is and how it is configured. Behind
/// [`Behind`](crate::proxy::Behind), the peer is the client the proxy vouches for.
///
/// ```no_run
/// use ratchet::metrics::Metrics;
/// use ratchet::{Component, IntoCommands, Router, Server, WebSocket};
///
/// struct Chat;
/// impl Component for Chat {
///     fn on_message(&mut self, _: &ratchet::Conn, _: ratchet::Message<'_>) -> impl IntoCommands {}
/// }
///
/// let router = Router::new()
///     .route("/chat", WebSocket::new(Chat))
///     .route("/metrics", Metrics::new().allow("10.0.0.7".parse().unwrap()));
/// Server::new(router).bind("127.0.0.1:8080")?.run()
/// # ; Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    allowed: Vec<IpAddr>,
    anyone: bool,
}

impl Metrics {
    /// The route, answering loopback peers only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also answers `peer` (e.g. the Prometheus server's address).
    #[must_use]
    pub fn allow(mut self, peer: IpAddr) -> Self {
        self.allowed.push(peer);
        self
    }

    /// Answers every peer (for a port only the scraper can reach).
    #[must_use]
    pub fn allow_anyone(mut self) -> Self {
        self.anyone = true;
        self
    }

    fn allows(&self, peer: IpAddr) -> bool {
        let peer = match peer {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
            v4 => v4,
        };
        self.anyone || peer.is_loopback() || self.allowed.contains(&peer)
    }
}

/// A scrape's connection: who asked.
#[derive(Debug)]
pub struct MetricsState {
    peer: SocketAddr,
}

impl Protocol for Metrics {
    type ConnState = MetricsState;

    fn limits(&self) -> Result<Limits, ConfigError> {
        Ok(Limits::default().with_unconsumed(MAX_HEAD))
    }

    fn connect(&mut self, _id: ConnId, peer: SocketAddr, out: &mut Outbox<'_>) -> MetricsState {
        out.set_deadline(Some(out.after(REQUEST_TIMEOUT)));
        MetricsState { peer }
    }

    fn data(&mut self, state: &mut MetricsState, data: &mut [u8], out: &mut Outbox<'_>) -> usize {
        match http::request(out, data, MAX_HEAD) {
            Head::Partial => 0,
            Head::Bad(status, reason) => http::refuse(out, status, &reason, data),
            Head::Complete(_, _) if !self.allows(state.peer.ip()) => {
                let reason = "metrics are served to allowed peers only";
                http::refuse(out, 403, reason, data)
            }
            Head::Complete(req, _) if req.method() != "GET" => {
                http::refuse(out, 405, "metrics are read with GET", data)
            }
            Head::Complete(_, _) => match out.scrape() {
                Some(body) => {
                    let headers = "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
                                   Cache-Control: no-store\r\n";
                    let len = Some(body.len() as u64);
                    http::write_head(out.output(), 200, headers, len, http::Persist::Close);
                    out.output().extend_from_slice(body.as_bytes());
                    out.shutdown();
                    data.len()
                }
                // Rendered for the next call, with the request offered again.
                None => {
                    out.request_scrape();
                    0
                }
            },
        }
    }

    fn timeout(&mut self, _state: &mut MetricsState, out: &mut Outbox<'_>) {
        out.shutdown();
    }

    fn disconnect(&mut self, _state: MetricsState, _out: &mut Outbox<'_>) {}

    fn encoding(&self, _state: &MetricsState) -> Option<u8> {
        None
    }

    /// A scrape takes no messages.
    fn encode(&mut self, _state: &mut MetricsState, _msg: &Payload, _buf: &mut Vec<u8>) {}

    fn close(&mut self, _: &mut MetricsState, _: CloseCode, _: &str, out: &mut Outbox<'_>) {
        out.shutdown();
    }

    fn metrics(&self, _metrics: &mut Exposition) {}
}

/// Several workers: each serves the route; the page it answers with is every worker's
/// numbers and the app thread's, added up (see [`Server::workers`](crate::Server::workers)).
impl crate::workers::Split for Metrics {
    type Worker = Metrics;

    fn split(self, _: &mut crate::workers::Apps) -> crate::workers::Replica<Self::Worker> {
        Box::new(move |_| self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_allowed_by_default_and_others_when_listed() {
        let m = Metrics::new();
        assert!(m.allows("127.0.0.1".parse().unwrap()));
        assert!(m.allows("::1".parse().unwrap()));
        assert!(m.allows("::ffff:127.0.0.5".parse().unwrap()));
        assert!(!m.allows("10.0.0.7".parse().unwrap()));
        let m = m.allow("10.0.0.7".parse().unwrap());
        assert!(m.allows("10.0.0.7".parse().unwrap()));
        assert!(!m.allows("10.0.0.8".parse().unwrap()));
        assert!(Metrics::new()
            .allow_anyone()
            .allows("192.0.2.1".parse().unwrap()));
    }
}
