//! A chat whose clock pushes the time to everyone every second, from its own thread,
//! through the server's `Handle`: `cargo run --example push`.

use ratchet::prelude::*;
use ratchet::SendError;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The chat; its set of clients is shared with the clock thread.
#[derive(Default, Clone)]
pub struct Chat {
    clients: Arc<Mutex<ConnSet>>,
}

impl Component for Chat {
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        self.clients.lock().expect("clients").insert(conn);
        Commands::none()
    }

    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        self.clients.lock().expect("clients").except(from).send(msg)
    }

    fn on_close(&mut self, conn: &Conn) -> impl IntoCommands {
        self.clients.lock().expect("clients").remove(conn);
        Commands::none()
    }
}

/// Every `every`, sends the time to everyone in the chat until the server stops.
pub fn start_clock(chat: &Chat, handle: ratchet::Handle, every: Duration) {
    let clients = chat.clients.clone();
    std::thread::spawn(move || loop {
        std::thread::sleep(every);
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let tick = clients
            .lock()
            .expect("clients")
            .send(format!("time {secs}"));
        match handle.send(tick) {
            Ok(()) | Err(SendError::Full) => {} // behind: this tick is skipped
            Err(SendError::Stopped) => return,
        }
    });
}

fn main() -> std::io::Result<()> {
    let chat = Chat::default();
    let server = Server::new(WebSocket::new(chat.clone()))
        .bind(ratchet::cli::bind_address("127.0.0.1:8080"))?
        .shutdown_on_signals()?;
    start_clock(&chat, server.handle(), Duration::from_secs(1));
    println!("push chat listening on ws://{}", server.local_addr());
    server.run()
}
