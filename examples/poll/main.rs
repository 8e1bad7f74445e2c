//! A live poll: votes are broadcast as they come, a heartbeat tells who is here, and each
//! client may vote once a second.
//!
//! `cargo run --example poll`, then open http://127.0.0.1:8080/ in a few windows. Clients
//! send `{"choice": 1}`; everyone gets `{"type":"tally","choices":[..],"votes":[..]}` after
//! each vote, and `{"type":"beat","voters":N}` every five seconds. A client's vote counts
//! while it is connected (it may change it); a vote sooner than a second after its last
//! is refused with `{"type":"error",..}`.

use ratchet::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;

pub const CHOICES: [&str; 3] = ["tabs", "spaces", "both"];

#[derive(Deserialize)]
pub struct Vote {
    pub choice: usize,
}

/// What each connection carries: its vote.
#[derive(Default)]
pub struct Voter {
    pub choice: Option<usize>,
}

#[ratchet::app(path = "/poll", static_dir = "examples/poll/public", rate = "1/s", conn_state = Voter)]
#[derive(Default)]
pub struct Poll {
    pub votes: [u32; CHOICES.len()],
    pub voters: ConnSet,
}

#[ratchet::handlers]
impl Poll {
    fn on_start(&mut self, _handle: &Handle) -> Command {
        Command::every(Duration::from_secs(5), 0)
    }

    fn on_open(&mut self, conn: &Conn) -> serde_json::Result<Command> {
        self.voters.insert(conn);
        conn.send_json(&self.tally())
    }

    fn on_message(
        &mut self,
        _: &Conn,
        me: &mut Voter,
        vote: Json<Vote>,
    ) -> Result<Command, String> {
        let choice = vote.0.choice;
        *self
            .votes
            .get_mut(choice)
            .ok_or(format!("no choice {choice}"))? += 1;
        if let Some(old) = me.choice.replace(choice) {
            self.votes[old] -= 1;
        }
        self.voters
            .send_json(&self.tally())
            .map_err(|e| e.to_string())
    }

    fn on_error(&mut self, conn: &Conn, err: Error) -> serde_json::Result<Command> {
        conn.send_json(&json!({"type": "error", "error": err.to_string()}))
    }

    fn on_timer(&mut self, _key: u64) -> serde_json::Result<Command> {
        self.voters
            .send_json(&json!({"type": "beat", "voters": self.voters.len()}))
    }

    fn on_close(&mut self, conn: &Conn, me: Voter) -> serde_json::Result<Command> {
        self.voters.remove(conn);
        if let Some(old) = me.choice {
            self.votes[old] -= 1;
        }
        self.voters.send_json(&self.tally())
    }
}

impl Poll {
    pub fn tally(&self) -> impl Serialize + '_ {
        json!({"type": "tally", "choices": CHOICES, "votes": self.votes})
    }
}
