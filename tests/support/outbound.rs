//! An application that connects out and reports what it hears, for the tests of outbound
//! connections.

use ratchet::client::{Connect, ConnectFailure};
use ratchet::prelude::*;
use ratchet::websocket::Config;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::Duration;

/// What a [`Probe`] heard.
#[derive(Debug, Clone, PartialEq)]
pub enum Heard {
    /// An outbound connection opened: its key and subprotocol.
    Open(u64, Option<String>),
    /// A message on one.
    Message(u64, Payload),
    /// One closed.
    Close(u64),
    /// An attempt failed: the key, why, the attempt, and when the next one is made.
    Failed(u64, ConnectFailure, u32, Option<Duration>),
    /// Another error on an open connection (a protocol error, ...), as it displays.
    Error(u64, String),
}

/// Connects out on start, sends its script on each connection that opens, reports what
/// it hears; closes a connection that brings it the text `close me`.
pub struct Probe {
    connects: Vec<(u64, Connect)>,
    script: Vec<Payload>,
    heard: Sender<Heard>,
}

impl Component for Probe {
    fn on_start(&mut self, _: &Handle) -> impl IntoCommands {
        let connects = std::mem::take(&mut self.connects);
        connects
            .into_iter()
            .map(|(key, c)| Command::connect_with(c, key))
            .collect::<Commands>()
    }

    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        let key = conn.outbound().expect("only outbound connections here");
        let _ = self
            .heard
            .send(Heard::Open(key, conn.subprotocol().map(Into::into)));
        self.script
            .iter()
            .map(|m| conn.send(m.clone()))
            .collect::<Commands>()
    }

    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        let key = from.outbound().expect("outbound");
        let _ = self.heard.send(Heard::Message(key, msg.to_payload()));
        (msg.as_text() == Some("close me")).then(|| from.close())
    }

    fn on_close(&mut self, conn: &Conn) -> impl IntoCommands {
        let _ = self
            .heard
            .send(Heard::Close(conn.outbound().expect("outbound")));
    }

    fn on_error(&mut self, conn: &Conn, err: Error) -> impl IntoCommands {
        let key = conn
            .outbound()
            .expect("outbound connections carry their key");
        let heard = match err {
            Error::Connect(e) => Heard::Failed(key, e.failure, e.attempt, e.retry_in),
            other => Heard::Error(key, other.to_string()),
        };
        let _ = self.heard.send(heard);
    }
}

impl Probe {
    /// A probe making `connects`, sending `script` on each, and the end that hears it.
    pub fn new(connects: Vec<(u64, Connect)>, script: Vec<Payload>) -> (Probe, Receiver<Heard>) {
        let (heard, rx) = channel();
        let probe = Probe {
            connects,
            script,
            heard,
        };
        (probe, rx)
    }

    /// Served (messages up to 16 MiB), with TLS for its `wss://` connections; what it
    /// hears and the server's handle.
    pub fn serve(connects: Vec<(u64, Connect)>, script: Vec<Payload>) -> (Receiver<Heard>, Handle) {
        let (probe, rx) = Probe::new(connects, script);
        let config = Config::default().max_message_size(16 << 20);
        let stack = ratchet::tls::Tls::outbound(WebSocket::with_config(probe, config));
        let (_, handle) = crate::serve_handle(stack);
        (rx, handle)
    }
}

/// The next thing `rx` heard, within 30 s.
pub fn next_heard(rx: &Receiver<Heard>) -> Heard {
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the probe heard something within 30 s")
}
