//! The chat, with the macro: a page and its socket on one port.
//!
//! `cargo run --example chat`, then open http://127.0.0.1:8080/ in two browser windows.
//! The page (`examples/chat/public`: HTML, CSS and JavaScript, no build step) connects to
//! `/chat?name=...`; any WebSocket client can too, in any protocol version.
//!
//! Clients send the text they say. The server sends one JSON object per message:
//! `{"type":"welcome","name":"ann","here":["bob"]}` to a newcomer,
//! `{"type":"joined","name":"ann"}` and `{"type":"left","name":"ann"}` to the others, and
//! `{"type":"message","name":"ann","text":"hi"}` to everyone but the sender.

use ratchet::prelude::*;
use serde_json::json;
use std::collections::HashMap;

#[ratchet::app(
    protocol = "websocket",
    bind = "127.0.0.1:8080",
    path = "/chat",
    static_dir = "examples/chat/public",
    metrics = "/metrics",
    deflate = true
)]
#[derive(Default)]
pub struct Chat {
    clients: ConnSet,
    names: HashMap<ConnId, String>,
}

#[ratchet::handlers]
impl Chat {
    fn on_open(&mut self, conn: &Conn) -> Commands {
        let name = name_of(conn);
        let here: Vec<&String> = self.names.values().collect();
        let welcome = json!({"type": "welcome", "name": name, "here": here});
        let joined = json!({"type": "joined", "name": name});
        let cmds = Commands::none()
            .and(conn.send(welcome.to_string()))
            .and(self.clients.send(joined.to_string()));
        self.clients.insert(conn);
        self.names.insert(conn.id(), name);
        cmds
    }

    fn on_message(&mut self, from: &Conn, text: &str) -> Command {
        let said = json!({"type": "message", "name": self.names[&from.id()], "text": text});
        self.clients.except(from).send(said.to_string())
    }

    fn on_close(&mut self, conn: &Conn) -> Command {
        self.clients.remove(conn);
        let name = self.names.remove(&conn.id());
        self.clients
            .send(json!({"type": "left", "name": name}).to_string())
    }
}

/// The name asked for in `?name=`, trimmed to 32 characters, or `guest-<id>`.
fn name_of(conn: &Conn) -> String {
    let asked = conn.request().and_then(|r| r.query_param("name"));
    let name: String = asked
        .as_deref()
        .unwrap_or("")
        .trim()
        .chars()
        .take(32)
        .collect();
    if name.is_empty() {
        format!("guest-{}", conn.id())
    } else {
        name
    }
}
