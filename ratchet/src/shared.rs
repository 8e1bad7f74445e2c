//! One application behind several protocols at once.

use crate::command::{Commands, IntoCommands};
use crate::conn::Conn;
use crate::door::Door;
use crate::error::Error;
use crate::handle::Handle;
use crate::message::Message;
use crate::stateful::StatefulComponent;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// One application instance served through several protocols: clones share the same
/// application, so a browser on [`WebSocket`](crate::WebSocket) and an `nc` user on
/// [`Line`](crate::Line) see the same state and the same topics. Serve the clones on
/// [`Listeners`](crate::Listeners) (see [`Server::listen`](crate::Server::listen)).
///
/// Handlers still run one at a time, on the event loop; `on_start` runs once.
///
/// ```no_run
/// use ratchet::{Commands, Component, Conn, ConnSet, Line, Message, Server, Shared, WebSocket};
///
/// #[derive(Default)]
/// struct Chat {
///     clients: ConnSet,
/// }
///
/// impl Component for Chat {
///     fn on_open(&mut self, conn: &Conn) -> Commands {
///         self.clients.insert(conn);
///         Commands::none()
///     }
///     fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> Commands {
///         self.clients.except(from).send(msg).into()
///     }
///     fn on_close(&mut self, conn: &Conn) -> Commands {
///         self.clients.remove(conn);
///         Commands::none()
///     }
/// }
///
/// let chat = Shared::new(Chat::default());
/// Server::new(WebSocket::new(chat.clone()))
///     .listen("127.0.0.1:2323", Line::new(chat))?
///     .bind("127.0.0.1:8080")?
///     .run()
/// # ; Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Shared<C> {
    app: Arc<Mutex<C>>,
    started: Arc<AtomicBool>,
}

impl<C> Clone for Shared<C> {
    fn clone(&self) -> Self {
        Shared {
            app: Arc::clone(&self.app),
            started: Arc::clone(&self.started),
        }
    }
}

impl<C> Shared<C> {
    /// Shares `app`.
    pub fn new(app: C) -> Self {
        Shared {
            app: Arc::new(Mutex::new(app)),
            started: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The application (a handler that panicked does not poison it: the connection it
    /// ran for is closed, and the others go on).
    pub fn lock(&self) -> MutexGuard<'_, C> {
        self.app.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<C: StatefulComponent> StatefulComponent for Shared<C> {
    type State = C::State;

    fn on_start(&mut self, handle: &Handle) -> impl IntoCommands {
        if self.started.swap(true, Ordering::AcqRel) {
            return Commands::none();
        }
        self.lock().on_start(handle).into_commands()
    }
    fn on_request(&mut self, conn: &Conn, state: &mut C::State) -> Door {
        self.lock().on_request(conn, state)
    }
    fn on_open(&mut self, conn: &Conn, state: &mut C::State) -> impl IntoCommands {
        self.lock().on_open(conn, state).into_commands()
    }
    fn on_message(
        &mut self,
        from: &Conn,
        state: &mut C::State,
        msg: Message<'_>,
    ) -> impl IntoCommands {
        self.lock().on_message(from, state, msg).into_commands()
    }
    fn on_close(&mut self, conn: &Conn, state: C::State) -> impl IntoCommands {
        self.lock().on_close(conn, state).into_commands()
    }
    fn on_timer(&mut self, key: u64) -> impl IntoCommands {
        self.lock().on_timer(key).into_commands()
    }
    fn on_error(&mut self, conn: &Conn, state: &mut C::State, err: Error) -> impl IntoCommands {
        self.lock().on_error(conn, state, err).into_commands()
    }
}
