//! Refusing requests from other sites' pages.

use super::{refuse, request, Head};
use crate::error::ConfigError;
use crate::protocol::{Limits, Outbox, Protocol};
use crate::request::Request;

/// Lets through only requests whose `Origin` is on a list; any other origin, or none,
/// gets `403 Forbidden` with the reason, before the wrapped protocol sees a byte (so a
/// refused WebSocket handshake never reaches `on_open`). Ratchet's `OriginCheck`.
///
/// Every request is checked: the first, and each later one of a keep-alive connection
/// (whenever the wrapped protocol [awaits a request](Protocol::awaits_request)).
///
/// An entry with a scheme (`"https://chat.example"`, `"http://localhost:8080"`) must
/// equal the origin; a bare host (`"chat.example"`, `"localhost"`) matches that host on
/// any scheme and port. Comparison ignores ASCII case. HyBi-07/08 clients send the origin
/// as `Sec-WebSocket-Origin`, which counts too.
///
/// Browsers send `Origin` with every WebSocket handshake, so this is the defence against
/// cross-site WebSocket hijacking; they do not send it when loading a page, so wrap the
/// socket's route, not the static files:
///
/// ```no_run
/// use ratchet::http::{OriginCheck, Router, Static};
/// use ratchet::{Component, IntoCommands, Server, WebSocket};
///
/// struct Chat;
/// impl Component for Chat {
///     fn on_message(&mut self, _: &ratchet::Conn, _: ratchet::Message<'_>) -> impl IntoCommands {
///         ratchet::Commands::none()
///     }
/// }
///
/// let chat = OriginCheck::new(WebSocket::new(Chat), ["http://localhost:8080"]);
/// let router = Router::new().route("/chat", chat).route("/*", Static::new("public"));
/// Server::new(router).bind("127.0.0.1:8080")?.run()
/// # ; Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct OriginCheck<P> {
    inner: P,
    allowed: Vec<String>,
    max_head_size: usize,
}

impl<P: Protocol> OriginCheck<P> {
    /// Wraps `inner`, allowing the origins (or bare hosts) in `allowed`.
    pub fn new<S: Into<String>>(inner: P, allowed: impl IntoIterator<Item = S>) -> Self {
        OriginCheck {
            inner,
            allowed: allowed.into_iter().map(Into::into).collect(),
            max_head_size: 8 << 10,
        }
    }

    /// Largest request head read to find the origin; larger gets `431`. Default: 8 KiB.
    #[must_use]
    pub fn max_head_size(mut self, bytes: usize) -> Self {
        self.max_head_size = bytes;
        self
    }

    /// Why `req` is refused, if it is.
    fn check(&self, req: &Request) -> Result<(), String> {
        let origin = req
            .header("Origin")
            .or_else(|| req.header("Sec-WebSocket-Origin"));
        match origin {
            Some(o) if self.allows(o) => Ok(()),
            Some(o) => Err(format!("origin not allowed: {o}")),
            None => Err("origin not allowed: the request has no Origin".to_owned()),
        }
    }

    /// Whether `origin` is allowed.
    pub fn allows(&self, origin: &str) -> bool {
        let host = origin
            .split_once("://")
            .map_or(origin, |(_, rest)| rest)
            .split([':', '/'])
            .next()
            .unwrap_or("");
        self.allowed.iter().any(|a| {
            if a.contains("://") {
                a.trim_end_matches('/').eq_ignore_ascii_case(origin)
            } else {
                a.eq_ignore_ascii_case(host)
            }
        })
    }
}

impl<P: Protocol> Protocol for OriginCheck<P> {
    type ConnState = P::ConnState;

    fn limits(&self) -> Result<Limits, ConfigError> {
        Ok(self
            .inner
            .limits()?
            .max(Limits::default().with_unconsumed(self.max_head_size)))
    }

    fn data(&mut self, state: &mut P::ConnState, data: &mut [u8], out: &mut Outbox<'_>) -> usize {
        if self.inner.awaits_request(state) {
            let refusal = match request(out, data, self.max_head_size) {
                Head::Partial => return 0,
                Head::Complete(req, _) => self.check(&req).err().map(|reason| (403, reason)),
                Head::Bad(status, reason) => Some((status, reason)),
            };
            if let Some((status, reason)) = refusal {
                log::debug!("refused: {reason}");
                return refuse(out, status, &reason, data);
            }
        }
        self.inner.data(state, data, out)
    }

    crate::delegate_protocol!(inner; except limits, data);
}

/// Several workers: each gets the same check around its copy of the stack.
impl<P: crate::workers::Split> crate::workers::Split for OriginCheck<P> {
    type Worker = OriginCheck<P::Worker>;

    fn split(self, apps: &mut crate::workers::Apps) -> crate::workers::Replica<Self::Worker> {
        let inner = self.inner.split(apps);
        let (allowed, max_head_size) = (self.allowed, self.max_head_size);
        Box::new(move |uplink| OriginCheck {
            inner: inner(uplink),
            allowed: allowed.clone(),
            max_head_size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Static;

    #[test]
    fn origins_and_bare_hosts() {
        let check = OriginCheck::new(Static::new("."), ["https://chat.example", "localhost"]);
        assert!(check.allows("https://chat.example"));
        assert!(check.allows("HTTPS://Chat.Example"));
        assert!(!check.allows("http://chat.example"));
        assert!(!check.allows("https://chat.example.evil"));
        assert!(check.allows("http://localhost:8080"));
        assert!(check.allows("https://localhost"));
        assert!(!check.allows("http://localhost.evil:8080"));
        assert!(!check.allows("null"));
    }
}
