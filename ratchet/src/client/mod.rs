//! Consuming sockets: outbound WebSocket connections, made by the same event loop that
//! serves, through the same decorators in their client role.
//!
//! Connecting out is a command like the others. A handler returns
//! [`Command::connect(url, key)`](crate::Command::connect) (or
//! [`connect_with`](crate::Command::connect_with) and a [`Connect`] for subprotocols,
//! headers, compression, reconnecting, TLS trust, an HTTP proxy); the key is the application's
//! own, as for timers. The connection is then a connection like any other: the
//! application hears `on_open`, `on_message`, `on_close` for it, sends to it, puts it in a
//! [`ConnSet`](crate::ConnSet) or a topic, and tells it from the others by
//! [`Conn::outbound`](crate::Conn::outbound), which is the key. A connection that does not
//! open is reported to `on_error` as [`Error::Connect`](crate::Error::Connect) with a
//! [`ConnectError`]: why (DNS, refused, TLS, the server's status...), the attempt, and
//! when the next one is made.
//!
//! ```no_run
//! use ratchet::prelude::*;
//! use ratchet::client::{Backoff, Connect};
//!
//! /// Relays an upstream feed to every browser connected.
//! #[derive(Default)]
//! struct Relay { browsers: ConnSet }
//!
//! impl Component for Relay {
//!     fn on_start(&mut self, _: &Handle) -> impl IntoCommands {
//!         let upstream = Connect::new("wss://feed.example/prices").reconnect(Backoff::default());
//!         Command::connect_with(upstream, 1)
//!     }
//!     fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
//!         if conn.outbound().is_none() {
//!             self.browsers.insert(conn);
//!         }
//!     }
//!     fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
//!         from.outbound().map(|_| self.browsers.send(msg))
//!     }
//!     fn on_close(&mut self, conn: &Conn) -> impl IntoCommands {
//!         self.browsers.remove(conn);
//!     }
//! }
//! ```
//!
//! The client side follows RFC 6455 where it differs from the server's side: every frame
//! it sends is masked with a fresh key from a cryptographically secure generator
//! (ChaCha, seeded by the operating system), the server's `Sec-WebSocket-Accept` is
//! checked against the key sent, frames from the server must not be masked, and the
//! client waits for the server to close the TCP connection after the closing handshake.
//! Framing, UTF-8 checks, size limits, compression and ping/pong are the same code as the
//! server's.
//!
//! `wss://` needs a [`Tls`](crate::tls::Tls) layer outside the WebSocket one (a server
//! that serves only plain `ws://` uses [`Tls::outbound`](crate::tls::Tls::outbound)).
//!
//! For scripts and tests, [`connect`] is a blocking client on the same codec.

mod blocking;

pub use crate::outbound::{Backoff, Connect, ConnectError, ConnectFailure, DialOutcome, Target};
pub use crate::protocol::Dial;
pub use blocking::{connect, Socket};
