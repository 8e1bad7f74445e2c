//! Rooms, one app behind two doors: browsers over WebSocket and `nc` users over lines
//! share the same rooms.
//!
//! `cargo run --example rooms`, then `nc 127.0.0.1 2323` in one terminal and any WebSocket
//! client at `ws://127.0.0.1:8080/?name=ann` in another. `/join NAME` enters a room (and
//! leaves the last), `/who` lists it, anything else is said to it. `--bind ADDR` moves the
//! WebSocket listener, `--line-bind ADDR` the line one.

use ratchet::prelude::*;

/// What each connection carries: kept by the server, dropped with the connection.
#[derive(Default)]
pub struct Guest {
    pub name: String,
    pub room: Option<Topic>,
}

#[ratchet::app(protocol = ["websocket", "line"], bind = ["127.0.0.1:8080", "127.0.0.1:2323"], conn_state = Guest)]
#[derive(Default)]
pub struct Rooms {
    topics: Topics,
}

#[ratchet::handlers]
impl Rooms {
    fn on_start(&mut self, handle: &Handle) {
        self.topics = handle.topics();
    }

    fn on_open(&mut self, conn: &Conn, me: &mut Guest) -> Command {
        me.name = (conn.request().and_then(|r| r.query_param("name")))
            .unwrap_or_else(|| format!("guest-{}", conn.id()));
        conn.send(format!("welcome, {}: /join ROOM to enter one", me.name))
    }

    fn on_message(&mut self, from: &Conn, me: &mut Guest, text: &str) -> Commands {
        if let Some(room) = text.strip_prefix("/join ").map(str::trim) {
            let mut cmds = self.leave(from, me);
            let here = self.topics.count(room);
            me.room = Some(room.into());
            cmds.push(from.subscribe(room));
            cmds.push(Command::publish(room, format!("{} joined {room}", me.name)));
            return cmds.and(from.send(format!("{here} other(s) in {room}")));
        }
        match &me.room {
            Some(room) if text == "/who" => from.send(format!("{} here", self.topics.count(room))),
            Some(room) => {
                Command::publish_except(room.clone(), format!("{}: {text}", me.name), from)
            }
            None => from.send("join a room first: /join ROOM"),
        }
        .into()
    }

    fn on_close(&mut self, conn: &Conn, mut me: Guest) -> Commands {
        self.leave(conn, &mut me)
    }
}

impl Rooms {
    /// Leaves the room `me` is in, if any, telling those who stay.
    fn leave(&mut self, conn: &Conn, me: &mut Guest) -> Commands {
        let Some(room) = me.room.take() else {
            return Commands::none();
        };
        let left = format!("{} left {room}", me.name);
        Commands::none()
            .and(conn.unsubscribe(room.clone()))
            .and(Command::publish_except(room, left, conn))
    }
}
