//! The ratchet echo server benchmarked (no compression, like the peers); with `--chat`,
//! a chat that relays every message to every other client (for fan-out).

use ratchet::prelude::*;

#[derive(Default)]
struct Echo {
    chat: bool,
    clients: ConnSet,
}

impl Component for Echo {
    fn on_open(&mut self, conn: &Conn) -> Commands {
        if self.chat {
            self.clients.insert(conn);
        }
        Commands::none()
    }
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> Commands {
        if self.chat {
            self.clients.except(from).send(msg).into()
        } else {
            from.send(msg).into()
        }
    }
    fn on_close(&mut self, conn: &Conn) -> Commands {
        self.clients.remove(conn);
        Commands::none()
    }
}

fn main() -> std::io::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let chat = args.iter().any(|a| a == "--chat");
    args.retain(|a| a != "--chat");
    let addr =
        ratchet::cli::parse_bind(args, None, "127.0.0.1:9002").map_err(std::io::Error::other)?;
    let app = Echo {
        chat,
        clients: ConnSet::new(),
    };
    let server = Server::new(WebSocket::new(app))
        .bind(addr)?
        .shutdown_on_signals()?;
    println!("listening on {}", server.local_addr());
    server.run()
}
