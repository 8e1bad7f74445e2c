//! Server processes started for a test (servers the project did not write, or its
//! examples): a process whose first line says `listening on PORT` (or `... listening on
//! ws://HOST:PORT`) once it listens, then lines of its own.

use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

/// A server process, killed when dropped.
pub struct PeerServer {
    name: String,
    child: Child,
    lines: Receiver<String>,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
}

impl PeerServer {
    /// Starts `program args...` and waits (up to 20 s) for its `listening on` line.
    pub fn start(name: &str, program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Self {
        let mut child = Command::new(program)
            .args(args)
            .current_dir(crate::root())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        let lines = crate::processes::lines_of(&mut child);
        let mut server = PeerServer {
            name: name.to_owned(),
            child,
            lines,
            port: 0,
        };
        let first = server
            .next_line(Duration::from_secs(20))
            .unwrap_or_else(|| panic!("{name} did not say where it listens"));
        server.port = first
            .split_once("listening on ")
            .map(|(_, at)| at.trim().trim_end_matches('/'))
            .and_then(|at| at.rsplit(':').next())
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("{name} said {first:?}"));
        server
    }

    /// The next line it printed, if one comes within `timeout`.
    pub fn next_line(&mut self, timeout: Duration) -> Option<String> {
        self.lines.recv_timeout(timeout).ok()
    }

    /// Its name, for messages.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for PeerServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
