//! The application interface: four handlers that return commands.

use crate::command::{Commands, IntoCommands};
use crate::conn::Conn;
use crate::error::Error;
use crate::message::Message;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// An application: Ratchet's `MessageComponentInterface`.
///
/// Handlers do no I/O; they return [`Commands`] for the server to carry out. Protocol
/// decorators such as [`WebSocket`](crate::WebSocket) wrap a component and turn bytes
/// into the messages it sees.
///
/// ```
/// use ratchet::{Component, Conn, ConnSet, IntoCommands, Message};
///
/// #[derive(Default)]
/// struct Chat {
///     clients: ConnSet,
/// }
///
/// impl Component for Chat {
///     fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
///         self.clients.insert(conn);
///     }
///
///     fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
///         self.clients.except(from).send(msg)
///     }
///
///     fn on_close(&mut self, conn: &Conn) -> impl IntoCommands {
///         self.clients.remove(conn);
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a ratchet component",
    label = "has no handlers",
    note = "add `#[ratchet::handlers]` to an `impl {Self}` block with `on_message` (and optionally `on_open`, `on_close`, `on_error`), or implement `ratchet::Component` by hand"
)]
pub trait Component {
    /// The server is about to serve; `handle` reaches it from any thread (keep a clone to
    /// push commands later).
    fn on_start(&mut self, handle: &crate::Handle) -> impl IntoCommands {
        let _ = handle;
    }

    /// The door: a connection is knocking, with its request (for WebSocket, the upgrade
    /// request: path, query, headers, cookies) and peer, and the values decorators
    /// attached (a session). Refuse it here ([`Refuse`](crate::Refuse): an HTTP status and
    /// a reason) and it never opens; a line connection has no request and is refused by
    /// closing. Runs before [`on_open`](Self::on_open). Default: everyone comes in.
    ///
    /// ```
    /// use ratchet::{Commands, Component, Conn, Door, IntoCommands, Message, Refuse};
    ///
    /// struct Members;
    ///
    /// impl Component for Members {
    ///     fn on_request(&mut self, conn: &Conn) -> Door {
    ///         match conn.cookie("token") {
    ///             Some("s3cret") => Door::Open,
    ///             _ => Refuse::forbidden("members only").into(),
    ///         }
    ///     }
    ///
    ///     fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
    ///         from.send(msg)
    ///     }
    /// }
    /// ```
    fn on_request(&mut self, conn: &Conn) -> crate::Door {
        let _ = conn;
        crate::Door::Open
    }

    /// A connection opened (for WebSocket: the handshake completed).
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        let _ = conn;
    }

    /// A complete message arrived.
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands;

    /// The connection ended, whoever ended it. Commands addressed to it are dropped.
    fn on_close(&mut self, conn: &Conn) -> impl IntoCommands {
        let _ = conn;
    }

    /// The application's timer `key` fired (see [`Command::after`](crate::Command::after)
    /// and [`Command::every`](crate::Command::every)).
    fn on_timer(&mut self, key: u64) -> impl IntoCommands {
        let _ = key;
    }

    /// Something went wrong on the connection; the protocol closes it as the error
    /// requires, after running the commands returned here.
    fn on_error(&mut self, conn: &Conn, err: Error) -> impl IntoCommands {
        let _ = (conn, err);
    }
}

impl<C: Component + ?Sized> Component for Box<C> {
    fn on_start(&mut self, handle: &crate::Handle) -> impl IntoCommands {
        (**self).on_start(handle)
    }
    fn on_request(&mut self, conn: &Conn) -> crate::Door {
        (**self).on_request(conn)
    }
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        (**self).on_open(conn)
    }
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        (**self).on_message(from, msg)
    }
    fn on_close(&mut self, conn: &Conn) -> impl IntoCommands {
        (**self).on_close(conn)
    }
    fn on_error(&mut self, conn: &Conn, err: Error) -> impl IntoCommands {
        (**self).on_error(conn, err)
    }
    fn on_timer(&mut self, key: u64) -> impl IntoCommands {
        (**self).on_timer(key)
    }
}

/// Runs a handler, turning a panic into an error message.
pub(crate) fn guard<T: IntoCommands>(f: impl FnOnce() -> T) -> Result<Commands, String> {
    catch_unwind(AssertUnwindSafe(|| f().into_commands())).map_err(|panic| {
        panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a non-string panic payload".to_owned())
    })
}

/// Runs a handler that has no connection to close if it panics: a panic is logged and
/// yields no commands.
pub(crate) fn guard_logged<T: IntoCommands>(handler: &str, f: impl FnOnce() -> T) -> Commands {
    guard(f).unwrap_or_else(|panic| {
        log::error!("{handler} panicked: {panic}");
        Commands::none()
    })
}
