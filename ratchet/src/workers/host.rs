//! An application on the app thread: its handlers, called with the state of each of its
//! connections, a panic closing only the connection it ran for.

use crate::command::{Commands, IntoCommands};
use crate::component::{guard, guard_logged};
use crate::conn::{Conn, ConnId};
use crate::door::{Door, Refuse};
use crate::error::Error;
use crate::handle::Handle;
use crate::message::Payload;
use crate::stateful::StatefulComponent;
use crate::{CloseCode, Command};
use std::collections::HashMap;

/// An application on the app thread, with the state of each of its connections.
pub(crate) trait Hosted: Send {
    fn start(&mut self, handle: &Handle) -> Commands;
    /// The door for a new connection (a panic refuses it with a 500); its state begins
    /// here.
    fn request(&mut self, conn: Conn) -> Door;
    fn open(&mut self, conn: Conn) -> Commands;
    fn message(&mut self, id: ConnId, msg: &Payload) -> Commands;
    fn close(&mut self, id: ConnId) -> Commands;
    /// Drops a connection's state without a handler: it never opened.
    fn forget(&mut self, id: ConnId);
    fn error(&mut self, conn: Conn, err: Error) -> Commands;
    fn timer(&mut self, key: u64) -> Commands;
}

pub(super) struct Host<C: StatefulComponent> {
    app: C,
    conns: HashMap<ConnId, (Conn, C::State)>,
}

impl<C: StatefulComponent> Host<C> {
    pub fn new(app: C) -> Self {
        Host {
            app,
            conns: HashMap::new(),
        }
    }

    /// Runs a handler for `id`: a panic closes its connection with 1011, after
    /// `on_error` heard it, as on one loop.
    fn handle(
        &mut self,
        id: ConnId,
        f: impl FnOnce(&mut C, &Conn, &mut C::State) -> Commands,
    ) -> Commands {
        let Some((conn, state)) = self.conns.get_mut(&id) else {
            return Commands::none();
        };
        let app = &mut self.app;
        match guard(|| f(app, conn, state)) {
            Ok(cmds) => cmds,
            Err(panic) => {
                log::error!("handler panicked on connection {id}: {panic}");
                let told = guard(|| app.on_error(conn, state, Error::Panic(panic)));
                told.unwrap_or_else(|_| Commands::none())
                    .and(Command::close(id, CloseCode::Error, "internal error"))
            }
        }
    }
}

impl<C> Hosted for Host<C>
where
    C: StatefulComponent + Send,
    C::State: Send,
{
    fn start(&mut self, handle: &Handle) -> Commands {
        let app = &mut self.app;
        guard_logged("on_start", || app.on_start(handle))
    }

    fn request(&mut self, conn: Conn) -> Door {
        let id = conn.id();
        let (conn, state) = self.conns.entry(id).or_insert((conn, C::State::default()));
        let app = &mut self.app;
        let mut door = Door::Open;
        match guard(|| door = app.on_request(conn, state)) {
            Ok(_) => door,
            Err(panic) => {
                log::error!("on_request panicked for {}: {panic}", conn.peer());
                Door::Refuse(Refuse::new(500, "internal error"))
            }
        }
    }

    fn open(&mut self, conn: Conn) -> Commands {
        let id = conn.id();
        match self.conns.get_mut(&id) {
            Some(held) => held.0 = conn,
            None => {
                self.conns.insert(id, (conn, C::State::default()));
            }
        }
        self.handle(id, |app, conn, state| {
            app.on_open(conn, state).into_commands()
        })
    }

    fn message(&mut self, id: ConnId, msg: &Payload) -> Commands {
        self.handle(id, |app, conn, state| {
            app.on_message(conn, state, msg.as_message())
                .into_commands()
        })
    }

    fn close(&mut self, id: ConnId) -> Commands {
        let Some((conn, state)) = self.conns.remove(&id) else {
            return Commands::none();
        };
        let app = &mut self.app;
        guard_logged("on_close", || app.on_close(&conn, state))
    }

    fn forget(&mut self, id: ConnId) {
        self.conns.remove(&id);
    }

    fn error(&mut self, conn: Conn, err: Error) -> Commands {
        let id = conn.id();
        if !self.conns.contains_key(&id) {
            // An outbound connection that never opened: a state of its own, for the call.
            let app = &mut self.app;
            let mut state = C::State::default();
            return guard_logged("on_error", || app.on_error(&conn, &mut state, err));
        }
        self.handle(id, |app, conn, state| {
            app.on_error(conn, state, err).into_commands()
        })
    }

    fn timer(&mut self, key: u64) -> Commands {
        let app = &mut self.app;
        guard_logged("on_timer", || app.on_timer(key))
    }
}
