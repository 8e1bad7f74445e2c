//! Drives the Autobahn TestSuite's fuzzing server as a client: asks it how many cases it
//! has, runs them, a few at a time (echoing every message back, compressed when
//! permessage-deflate was agreed), then asks it to write its reports. Every connection is an outbound one made
//! by `Command::connect`, in the same event loop that would serve clients.
//!
//! `kosoku -m fuzzingserver 127.0.0.1:9001` in one terminal, then
//! `cargo run --release --example autobahn_client -- ws://127.0.0.1:9001 [PARALLEL]` in
//! another.

use ratchet::client::Connect;
use ratchet::prelude::*;
use ratchet::websocket::{Config, Deflate};

/// The key of the connection asking for the number of cases; cases are keys 1 to N.
const COUNT: u64 = 0;
/// The key of the connection asking for the reports.
const REPORTS: u64 = u64::MAX;

/// The Autobahn client driver.
pub struct Driver {
    base: String,
    agent: String,
    /// How many cases run at once.
    parallel: u64,
    /// The compression offered.
    deflate: Deflate,
    cases: u64,
    /// The next case to start.
    next: u64,
    running: u64,
    handle: Option<Handle>,
}

impl Driver {
    /// Drives the fuzzing server at `base` (`ws://host:port`), reporting as `agent`,
    /// `parallel` cases at once, offering `deflate` on each.
    pub fn new(base: &str, agent: &str, parallel: u64, deflate: Deflate) -> Self {
        Driver {
            base: base.trim_end_matches('/').to_owned(),
            agent: agent.to_owned(),
            parallel: parallel.max(1),
            deflate,
            cases: 0,
            next: 1,
            running: 0,
            handle: None,
        }
    }

    fn connect(&self, path: &str, key: u64) -> Command {
        // Compression offered on every case, so the 12.* and 13.* cases run with it.
        let connect = Connect::new(format!("{}{path}", self.base)).deflate(self.deflate.clone());
        Command::connect_with(connect, key)
    }

    /// After case `key` (or the count): the next cases, or the reports once every case
    /// is done, or the end once they are written.
    fn after(&mut self, key: u64) -> Commands {
        match key {
            REPORTS => {
                if let Some(handle) = &self.handle {
                    handle.shutdown();
                }
                return Commands::none();
            }
            COUNT => {}
            _ => self.running -= 1,
        }
        let mut cmds = Vec::new();
        while self.running < self.parallel && self.next <= self.cases {
            let case = self.next;
            let path = format!("/runCase?case={case}&agent={}", self.agent);
            cmds.push(self.connect(&path, case));
            self.next += 1;
            self.running += 1;
        }
        if self.running == 0 {
            let path = format!("/updateReports?agent={}", self.agent);
            cmds.push(self.connect(&path, REPORTS));
        }
        cmds.into_iter().collect()
    }
}

impl Component for Driver {
    fn on_start(&mut self, handle: &Handle) -> impl IntoCommands {
        self.handle = Some(handle.clone());
        self.connect("/getCaseCount", COUNT)
    }

    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        match from.outbound() {
            Some(COUNT) => {
                self.cases = msg.as_text().and_then(|t| t.parse().ok()).unwrap_or(0);
                None
            }
            Some(_) => Some(from.send(msg)),
            None => None,
        }
    }

    fn on_close(&mut self, conn: &Conn) -> impl IntoCommands {
        conn.outbound().map(|key| self.after(key))
    }

    fn on_error(&mut self, conn: &Conn, err: Error) -> impl IntoCommands {
        match (conn.outbound(), err) {
            (Some(key), Error::Connect(e)) => {
                eprintln!("case {key}: {e}");
                Some(self.after(key))
            }
            _ => None,
        }
    }
}

/// The driver's decorator stack: messages up to 16 MiB, the largest the suite sends.
pub fn protocol(base: &str, agent: &str, parallel: u64, deflate: Deflate) -> WebSocket<Driver> {
    let config = Config::default().max_message_size(16 << 20);
    WebSocket::with_config(Driver::new(base, agent, parallel, deflate), config)
}

fn main() -> std::io::Result<()> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001".to_owned());
    // It serves nothing: the listener is on a port of the system's choosing.
    let parallel = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let driver = protocol(&base, "ratchet", parallel, Deflate::default());
    let server = Server::new(driver).bind("127.0.0.1:0")?;
    server.run()
}
