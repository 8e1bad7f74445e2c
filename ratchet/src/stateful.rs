//! Applications whose connections carry state: the interface the decorators call.

use crate::command::IntoCommands;
use crate::component::Component;
use crate::conn::Conn;
use crate::door::Door;
use crate::error::Error;
use crate::handle::Handle;
use crate::message::Message;

/// A [`Component`] whose connections each carry a `State`, kept by the server next to
/// the connection and handed to every handler by `&mut`: no `HashMap<ConnId, _>` to keep
/// in step, and the state is dropped with the connection.
///
/// Every [`Component`] is one, with `State = ()`; [`WebSocket`](crate::WebSocket),
/// [`Line`](crate::Line) and [`Tester`](crate::testing::Tester) serve either. The state
/// starts as `State::default()`; the door ([`on_request`](Self::on_request)) may fill it
/// in from the request before `on_open`.
///
/// ```
/// use ratchet::testing::Tester;
/// use ratchet::{Commands, Conn, Door, Message, Refuse, StatefulComponent};
///
/// #[derive(Default)]
/// struct Player {
///     name: String,
///     moves: u32,
/// }
///
/// struct Game;
///
/// impl StatefulComponent for Game {
///     type State = Player;
///
///     fn on_request(&mut self, conn: &Conn, me: &mut Player) -> Door {
///         match conn.request().and_then(|r| r.query_param("name")) {
///             Some(name) => me.name = name,
///             None => return Refuse::unauthorized("say ?name=").into(),
///         }
///         Door::Open
///     }
///
///     fn on_message(&mut self, from: &Conn, me: &mut Player, msg: Message<'_>) -> Commands {
///         me.moves += 1;
///         from.send(format!("{} move {}: {}", me.name, me.moves, msg.as_text().unwrap_or("?"))).into()
///     }
/// }
///
/// let mut t = Tester::new(Game);
/// let ann = t.connect("/?name=ann").unwrap();
/// t.message(&ann, "e4");
/// assert_eq!(t.message(&ann, "d4").sent_to(&ann), ["ann move 2: d4"]);
/// assert_eq!(t.connect("/").unwrap_err().status(), 401);
/// ```
pub trait StatefulComponent {
    /// What each connection carries.
    type State: Default;

    /// As [`Component::on_start`].
    fn on_start(&mut self, handle: &Handle) -> impl IntoCommands {
        let _ = handle;
    }

    /// As [`Component::on_request`]; may fill in the connection's state.
    fn on_request(&mut self, conn: &Conn, state: &mut Self::State) -> Door {
        let _ = (conn, state);
        Door::Open
    }

    /// As [`Component::on_open`].
    fn on_open(&mut self, conn: &Conn, state: &mut Self::State) -> impl IntoCommands {
        let _ = (conn, state);
    }

    /// As [`Component::on_message`].
    fn on_message(
        &mut self,
        from: &Conn,
        state: &mut Self::State,
        msg: Message<'_>,
    ) -> impl IntoCommands;

    /// As [`Component::on_close`]; the state is the application's to keep or drop.
    fn on_close(&mut self, conn: &Conn, state: Self::State) -> impl IntoCommands {
        let _ = (conn, state);
    }

    /// As [`Component::on_timer`].
    fn on_timer(&mut self, key: u64) -> impl IntoCommands {
        let _ = key;
    }

    /// As [`Component::on_error`].
    fn on_error(&mut self, conn: &Conn, state: &mut Self::State, err: Error) -> impl IntoCommands {
        let _ = (conn, state, err);
    }

    /// Whether messages of the connection are still being handled elsewhere: the
    /// stand-in of an application served by several workers
    /// ([`Remote`](crate::workers::Remote)) says so while the app thread has some. The
    /// protocols ask before each frame they decode, and meanwhile decode only the data
    /// messages already read (RFC 6455 framing; the others none), holding the rest —
    /// control frames, errors, the peer's end, the next read — so that what the
    /// protocol answers by itself (a pong, a close) never overtakes a reply. Default:
    /// never.
    #[doc(hidden)]
    fn holds(&mut self, conn: &mut Conn, state: &mut Self::State) -> bool {
        let _ = (conn, state);
        false
    }
}

impl<C: Component> StatefulComponent for C {
    type State = ();

    fn on_start(&mut self, handle: &Handle) -> impl IntoCommands {
        Component::on_start(self, handle)
    }
    fn on_request(&mut self, conn: &Conn, (): &mut ()) -> Door {
        Component::on_request(self, conn)
    }
    fn on_open(&mut self, conn: &Conn, (): &mut ()) -> impl IntoCommands {
        Component::on_open(self, conn)
    }
    fn on_message(&mut self, from: &Conn, (): &mut (), msg: Message<'_>) -> impl IntoCommands {
        Component::on_message(self, from, msg)
    }
    fn on_close(&mut self, conn: &Conn, (): ()) -> impl IntoCommands {
        Component::on_close(self, conn)
    }
    fn on_timer(&mut self, key: u64) -> impl IntoCommands {
        Component::on_timer(self, key)
    }
    fn on_error(&mut self, conn: &Conn, (): &mut (), err: Error) -> impl IntoCommands {
        Component::on_error(self, conn, err)
    }
}

/// Tells `app` that its outbound connection `key` failed before it had a socket, on a
/// connection that addresses nothing (its id `id`): what a protocol that serves an
/// application does in [`Protocol::dial_failed`](crate::Protocol::dial_failed).
pub(crate) fn tell_unreachable<C: StatefulComponent>(
    app: &mut C,
    id: crate::conn::ConnId,
    key: u64,
    error: crate::outbound::ConnectError,
) -> crate::command::Commands {
    log::debug!("outbound connection {id}: {error}");
    let unspecified = std::net::SocketAddr::from(([0, 0, 0, 0], 0));
    let conn = Conn::new(id, unspecified, None).with_outbound(key);
    let mut state = C::State::default();
    crate::component::guard_logged("on_error", || {
        app.on_error(&conn, &mut state, Error::Connect(error))
    })
}
