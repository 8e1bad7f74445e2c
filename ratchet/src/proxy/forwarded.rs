//! The client's address from the headers an HTTP proxy adds (`Forwarded`,
//! `X-Forwarded-For`): what nginx's `proxy_pass` sends.

use super::{Behind, Found, Source};
use crate::http::head::{self, Head};
use crate::protocol::Outbox;
use crate::request::Request;
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
/// does not come within [`timeout`](Behind::timeout) (10 s) is closed.
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
pub type ForwardedFor<P> = Behind<P, Forwarded>;

/// Where [`ForwardedFor`] finds the client: the first request's `Forwarded` or
/// `X-Forwarded-For` header.
#[derive(Debug, Default, Clone, Copy)]
pub struct Forwarded;

impl Source for Forwarded {
    const MAX: usize = 8 << 10;
    const TIMEOUT: Duration = Duration::from_secs(10);
    const AWAITS_REQUEST: bool = true;

    fn find(&self, data: &[u8], out: &mut Outbox<'_>, trusted: &dyn Fn(IpAddr) -> bool) -> Found {
        match head::request(out, data, Self::MAX) {
            Head::Partial => Found::Partial,
            // The protocol inside answers a bad head as it would anyone's.
            Head::Bad(..) => Found::Client {
                skip: 0,
                client: None,
            },
            Head::Complete(request, _) => Found::Client {
                skip: 0,
                client: client(&request, trusted),
            },
        }
    }
}

/// The client a request came from, as the proxies in front of the server say: the nearest
/// address in the `Forwarded` chain (else `X-Forwarded-For`) that is not itself a trusted
/// proxy. `None` if the headers name none.
fn client(request: &Request, trusted: &dyn Fn(IpAddr) -> bool) -> Option<SocketAddr> {
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
        assert_eq!(client(&r, &proxy), "192.0.2.7:0".parse().ok());
        let r = request(&[(
            "Forwarded",
            r#"for=192.0.2.60;proto=http, for="[2001:db8::1]:4711""#,
        )]);
        assert_eq!(client(&r, &proxy), "[2001:db8::1]:4711".parse().ok());
        let r = request(&[
            ("Forwarded", "for=unknown"),
            ("X-Forwarded-For", "192.0.2.7"),
        ]);
        assert_eq!(
            client(&r, &proxy),
            None,
            "Forwarded wins, and names nobody usable"
        );
        assert_eq!(client(&request(&[]), &proxy), None);
    }
}
