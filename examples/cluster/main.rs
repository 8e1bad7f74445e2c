//! The chat across processes: start it twice on two ports, sharing one Redis, and every
//! client hears every other, whichever process it is connected to. Redis is the only
//! thing the processes share; it keeps the room's last 200 lines for an hour, so a page
//! opened (or reloaded) shows them, and a page whose socket dropped gets back exactly
//! what it missed, on either process.
//!
//! ```sh
//! redis-server --port 6379 &
//! cargo run --example cluster -- --bind 127.0.0.1:8081 &
//! cargo run --example cluster -- --bind 127.0.0.1:8082 &
//! ```
//!
//! Open http://127.0.0.1:8081/?name=ann and http://127.0.0.1:8082/?name=bob
//! (`RATCHET_REDIS_URL` points both elsewhere; a Redis Cluster works too). A client whose
//! `PHPSESSID` cookie names a PHP session in that Redis is called by its session's
//! `user`: the site signed it in. A name a client picks for itself with `?name=` is
//! anyone's to claim, so it is shown marked, `~ann`, and cut to 24 characters: `alice`
//! (from a session) and `~alice` (self-named) are told apart.
//!
//! The socket is `/chat` (`?since=<offset>` to recover from an offset). Sent: `{"welcome":
//! "<name>"}` to a newcomer; the room's lines as the history topics' JSON (see
//! `ratchet::history`), `{"topic":"chat","offset":"…","text":"<name>: <text>"}`, the
//! room's history first, then its seam; who is in the room, in every process, as
//! presence JSON (see `ratchet::presence`): a snapshot on arrival (and on `/who`), then
//! `{"topic":"chat","joined":{"client":"…","info":"<name>"}}` and `"left"` as people come
//! and go, a process that dies included. Every line goes to everyone in the room, its
//! author too: a page shows its own lines as they come back numbered, so that its last
//! offset covers them.

use ratchet::prelude::*;
use std::collections::HashMap;

#[ratchet::app(
    protocol = "websocket",
    bind = "127.0.0.1:8080",
    path = "/chat",
    static_dir = "examples/cluster/public",
    redis = "redis://127.0.0.1:6379/",
    session = "php",
    history = [("chat", 200, "1h")]
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
        let since = conn.request().and_then(|r| r.query_param("since"));
        let cmds = Commands::none()
            .and(conn.send(serde_json::json!({ "welcome": name }).to_string()))
            .and(conn.recover(ROOM, since.as_deref()))
            .and(conn.present(ROOM, name.clone()))
            .and(conn.presence(ROOM));
        self.names.insert(conn.id(), name);
        cmds
    }

    fn on_message(&mut self, from: &Conn, text: &str) -> Command {
        if text == "/who" {
            return from.presence(ROOM);
        }
        let name = &self.names[&from.id()];
        Command::publish(ROOM, format!("{name}: {text}"))
    }

    // Presence tells the room who left (even if it was a process that died).
    fn on_close(&mut self, conn: &Conn) {
        self.names.remove(&conn.id());
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
