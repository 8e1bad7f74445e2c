//! Ratchet: WebSocket servers built like Lego.
//!
//! An application is a [`Component`]: handlers (`on_open`, `on_message`, `on_close`,
//! `on_error`, and `on_timer`, `on_start`) that *return* [`Commands`] instead of doing
//! I/O. Protocols are decorators wrapped around it, and a [`Server`] serves the
//! result:
//!
//! ```no_run
//! use ratchet::{Component, Conn, ConnSet, IntoCommands, Message, Server, WebSocket};
//!
//! #[derive(Default)]
//! struct Chat {
//!     clients: ConnSet,
//! }
//!
//! impl Component for Chat {
//!     fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
//!         self.clients.insert(conn);
//!     }
//!
//!     fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
//!         self.clients.except(from).send(msg)
//!     }
//!
//!     fn on_close(&mut self, conn: &Conn) -> impl IntoCommands {
//!         self.clients.remove(conn);
//!     }
//! }
//!
//! Server::new(WebSocket::new(Chat::default())).bind("127.0.0.1:8080")?.run()
//! # ; Ok::<(), std::io::Error>(())
//! ```
//!
//! The WebSocket decorator speaks RFC 6455, HyBi-10/07, Hixie-76 and Hixie-75 on the
//! same port, chosen per connection by the handshake; each client receives the others'
//! messages framed in its own version.
//!
//! With the `tls` feature (on by default), [`tls::Tls`] serves any of them over TLS.
//!
//! More decorators, each a [`Protocol`] around another: [`http::Router`] and
//! [`http::Static`] serve the page beside the socket, [`OriginCheck`] and [`IpBlacklist`]
//! keep strangers out, [`session::Session`] loads the web application's session by
//! cookie. Topics ([`Command::publish`]) reach other processes through
//! [`cluster::RedisBridge`]. A decorator of your own forwards what it does not change with
//! [`delegate_protocol!`], and [`testing::Simulation`] serves it without sockets.
//!
//! The same loop consumes sockets too: [`Command::connect`] opens an outbound WebSocket
//! connection that the application then serves like any other (see [`client`], which
//! also has a blocking client).
//!
//! # Limits
//!
//! Every byte a connection makes the server hold is bounded; the server checks the limits
//! against each other and against the protocol's ([`Protocol::limits`]) when it is
//! assembled, and refuses a contradiction with the reason.
//!
//! | limit | default | past it |
//! |---|---|---|
//! | connections ([`server::Config::max_connections`]) | open-files limit less a reserve | `503`, closed |
//! | output per connection ([`server::Config::output_budget`]) | 1 MiB | input waits unparsed; slow-reader clock |
//! | time over the budget ([`server::Config::slow_reader_timeout`]) | 15 s | 1008 ([`Overflow::Close`]) |
//! | hard output ceiling ([`server::Config::max_output`]) | budget + 4 largest messages | 1008 at once |
//! | messages in progress, server-wide ([`server::Config::max_inbound`]) | 64 MiB | 1013 |
//! | read buffer, shared ([`server::Config::read_buffer_size`]) | 64 KiB | larger than any head or line |
//! | [`Handle`] queue ([`server::Config::handle_queue`]) | 65,536 / 64 MiB | [`SendError::Full`] |
//! | message / frame ([`websocket::Config`]) | 1 MiB / the message size | 1009 |
//! | handshake size / time, message time | 8 KiB / 10 s, 30 s | `431` / closed, 1008 |
//!
//! The tables of [`server::Config`] and [`websocket::Config`] have the rest.
//!
//! # Layers
//!
//! Core types at the bottom (ids, messages, requests, commands, connections, the
//! [`Handle`], [`Component`], [`Protocol`] and its [`Outbox`]); the decorators above them;
//! the [`server`] on top, the only place that does I/O. No module reaches back up.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod delegate;

pub mod app;
mod blacklist;
pub mod cli;
pub mod client;
mod close;
#[cfg(feature = "redis")]
pub mod cluster;
pub mod command;
mod component;
mod compression;
pub mod conn;
mod door;
mod error;
mod exposition;
pub mod handle;
pub mod history;
pub mod http;
mod id;
#[cfg(feature = "json")]
mod json;
pub mod line;
mod listeners;
pub mod message;
pub mod metrics;
mod offset;
mod outbound;
pub mod presence;
pub mod protocol;
pub mod proxy;
mod rate;
mod request;
mod scope;
pub mod server;
#[cfg(feature = "redis")]
pub mod session;
mod shared;
mod stateful;
pub mod testing;
#[cfg(feature = "tls")]
pub mod tls;
mod topics;
mod uplink;
pub mod websocket;
pub mod workers;

pub use blacklist::IpBlacklist;
pub use close::CloseCode;
pub use command::{Command, Commands, IntoCommands, To, Topic};
pub use component::Component;
pub use conn::{Conn, ConnId, ConnSet, Recipients};
pub use door::{Door, Refuse};
pub use error::{ConfigError, Error, ProtocolError};
pub use exposition::Exposition;
pub use handle::{Handle, SendError, Stats};
pub use http::{OriginCheck, Router, Static};
#[cfg(feature = "json")]
pub use json::Json;
pub use line::Line;
pub use listeners::{Either, Listeners};
pub use message::{Kind, Message, Payload};
pub use protocol::{Limits, Outbox, Overflow, Protocol};
pub use proxy::{ForwardedFor, ProxyProtocol};
pub use rate::{OverRate, Rate};
pub use request::Request;
pub use server::{Listening, Server};
pub use shared::Shared;
pub use stateful::StatefulComponent;
pub use topics::Topics;
pub use websocket::WebSocket;

/// Turns an annotated struct into a served application: the keys it takes, and an
/// example, are in `ratchet_macros::app`'s documentation, re-exported here.
pub use ratchet_macros::app;
/// Generates the [`Component`] impl from an `impl` block's handler methods.
pub use ratchet_macros::handlers;

/// Everything an application usually needs, in one `use`.
pub mod prelude {
    #[cfg(feature = "redis")]
    pub use crate::session::SessionExt;
    #[cfg(feature = "json")]
    pub use crate::Json;
    pub use crate::{
        CloseCode, Command, Commands, Component, Conn, ConnId, ConnSet, Door, Error, Handle,
        IntoCommands, IpBlacklist, Line, Message, Payload, Refuse, Server, StatefulComponent,
        Topic, Topics, WebSocket,
    };
}

/// The crate's README, whose snippets are compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeSnippets;
