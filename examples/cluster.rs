//! The chat across processes: start it twice on two ports, sharing one Redis, and every
//! client hears every other, whichever process it is connected to. Redis is the only
//! thing the processes share.
//!
//! ```sh
//! redis-server --port 6379 &
//! cargo run --example cluster -- --bind 127.0.0.1:8081 &
//! cargo run --example cluster -- --bind 127.0.0.1:8082 &
//! ```
//!
//! Connect to ws://127.0.0.1:8081/?name=ann and ws://127.0.0.1:8082/?name=bob
//! (`RATCHET_REDIS_URL` points both elsewhere). A client whose `PHPSESSID` cookie names a
//! PHP session in that Redis is called by its session's `user`: the site signed it in.
//! A name a client picks for itself with `?name=` is anyone's to claim, so it is shown
//! marked, `~ann`, and cut to 24 characters: `alice` (from a session) and `~alice`
//! (self-named) are told apart.
//!
//! Lines sent: `welcome <name>` to a newcomer, `<name> joined`, `<name>: <text>` and
//! `<name> left` to the others.

use ratchet::prelude::*;
use std::collections::HashMap;

#[ratchet::app(
    protocol = "websocket",
    bind = "127.0.0.1:8080",
    redis = "redis://127.0.0.1:6379/",
    session = "php"
)]
#[derive(Default)]
pub struct Cluster {
    names: HashMap<ConnId, String>,
}

const ROOM: &str = "chat";

#[ratchet::handlers]
impl Cluster {
    fn on_open(&mut self, conn: &Conn) -> Commands {
        let name = name_of(conn);
        let cmds = Commands::none()
            .and(conn.subscribe(ROOM))
            .and(conn.send(format!("welcome {name}")))
            .and(Command::publish_except(
                ROOM,
                format!("{name} joined"),
                conn,
            ));
        self.names.insert(conn.id(), name);
        cmds
    }

    fn on_message(&mut self, from: &Conn, text: &str) -> Command {
        let name = &self.names[&from.id()];
        Command::publish_except(ROOM, format!("{name}: {text}"), from)
    }

    fn on_close(&mut self, conn: &Conn) -> Option<Command> {
        let name = self.names.remove(&conn.id())?;
        Some(Command::publish(ROOM, format!("{name} left")))
    }
}

/// The longest name a client may pick for itself.
const MAX_NAME: usize = 24;

/// The session's `user` (signed in on the site), else the `?name=` the client picked,
/// marked `~` and cut to [`MAX_NAME`] characters (letters, digits, `-`, `_`, `.`), else
/// `guest-<id>`.
fn name_of(conn: &Conn) -> String {
    if let Some(user) = conn.session().and_then(|s| s.get::<String>("user")) {
        return user;
    }
    let picked: String = conn
        .request()
        .and_then(|r| r.query_param("name"))
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_alphanumeric() || "-_.".contains(*c))
        .take(MAX_NAME)
        .collect();
    if picked.is_empty() {
        format!("guest-{}", conn.id())
    } else {
        format!("~{picked}")
    }
}
