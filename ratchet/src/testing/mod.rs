//! Drive applications and protocols without sockets.
//!
//! - [`Tester`] drives a [`Component`]: open connections, feed messages, and assert on
//!   the commands it returns.
//! - [`Simulation`] drives a whole [`Protocol`](crate::Protocol) stack in the server's own
//!   core, over in-memory connections, with a clock the test moves: handshakes, bytes on
//!   the wire, budgets, deadlines and timers, deterministically.
//!
//! ```
//! use ratchet::testing::Tester;
//! use ratchet::{Commands, Component, Conn, Message};
//!
//! struct Echo;
//!
//! impl Component for Echo {
//!     fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> Commands {
//!         from.send(msg).into()
//!     }
//! }
//!
//! let mut t = Tester::new(Echo);
//! let (alice, _) = t.open();
//! assert_eq!(t.message(&alice, "hi").sent_to(&alice), ["hi"]);
//! ```

mod pipe;
mod simulation;

pub use simulation::{Client, Simulation};

use crate::command::Commands;
use crate::component::Component;
use crate::conn::{Conn, ConnId, Request};
use crate::error::Error;
use crate::message::Payload;
use std::net::{Ipv4Addr, SocketAddr};

/// Holds a component and hands it events as a server would.
#[derive(Debug)]
pub struct Tester<C> {
    app: C,
    next_id: u64,
}

impl<C: Component> Tester<C> {
    /// A tester around `app`.
    pub fn new(app: C) -> Self {
        Tester { app, next_id: 1 }
    }

    /// Opens a connection with a plain `GET /` request; returns it and `on_open`'s commands.
    pub fn open(&mut self) -> (Conn, Commands) {
        self.open_with(Request::new(
            "GET",
            "/",
            vec![("Host".into(), "localhost".into())],
        ))
    }

    /// Opens a connection that arrived with `request`.
    pub fn open_with(&mut self, request: Request) -> (Conn, Commands) {
        let id = ConnId::from_raw(self.next_id);
        let peer = SocketAddr::from((Ipv4Addr::LOCALHOST, 40000 + (self.next_id % 20000) as u16));
        self.next_id += 1;
        let conn = Conn::new(id, peer, Some(request));
        let cmds = self.app.on_open(&conn);
        (conn, cmds)
    }

    /// Delivers a message from `from`.
    pub fn message(&mut self, from: &Conn, msg: impl Into<Payload>) -> Commands {
        let msg = msg.into();
        self.app.on_message(from, msg.as_message())
    }

    /// Closes a connection.
    pub fn close(&mut self, conn: &Conn) -> Commands {
        self.app.on_close(conn)
    }

    /// Fires the application's timer `key`.
    pub fn timer(&mut self, key: u64) -> Commands {
        self.app.on_timer(key)
    }

    /// Reports an error on a connection.
    pub fn error(&mut self, conn: &Conn, err: Error) -> Commands {
        self.app.on_error(conn, err)
    }

    /// The component.
    pub fn app(&self) -> &C {
        &self.app
    }

    /// The component, mutably.
    pub fn app_mut(&mut self) -> &mut C {
        &mut self.app
    }
}
