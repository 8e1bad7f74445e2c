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
//! PHP session in that Redis is called by its session's `user`.
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

/// The session's `user`, else `?name=`, else `guest-<id>`.
fn name_of(conn: &Conn) -> String {
    conn.session()
        .and_then(|s| s.get::<String>("user"))
        .or_else(|| conn.request().and_then(|r| r.query_param("name")))
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| format!("guest-{}", conn.id()))
}
