//! The ratchet echo server benchmarked (no compression, like the peers); with `--chat`,
//! a chat that relays every message to every other client (for fan-out); with `--rate`,
//! a per-connection rate limit so high it never refuses (what a rate limit costs when on);
//! with `--deflate` or `--deflate-takeover`, permessage-deflate for clients that offer it;
//! with `--workers N`, served by N workers (the app on a thread of its own), with
//! `--reuse-port` each on a listening socket of its own.

use ratchet::prelude::*;

#[derive(Default)]
struct Echo {
    chat: bool,
    clients: ConnSet,
}

impl Component for Echo {
    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        if self.chat {
            self.clients.insert(conn);
        }
    }
    fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
        if self.chat {
            self.clients.except(from).send(msg)
        } else {
            from.send(msg)
        }
    }
    fn on_close(&mut self, conn: &Conn) -> impl IntoCommands {
        self.clients.remove(conn);
    }
}

fn main() -> std::io::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let chat = args.iter().any(|a| a == "--chat");
    let rate = args.iter().any(|a| a == "--rate");
    let reuse_port = args.iter().any(|a| a == "--reuse-port");
    // `--deflate`: permessage-deflate with the defaults; `--deflate-takeover`: with
    // per-connection sliding windows.
    let deflate = if args.iter().any(|a| a == "--deflate-takeover") {
        Some(ratchet::websocket::Deflate::default().context_takeover(true))
    } else if args.iter().any(|a| a == "--deflate") {
        Some(ratchet::websocket::Deflate::default())
    } else {
        None
    };
    let flags = [
        "--chat",
        "--rate",
        "--deflate",
        "--deflate-takeover",
        "--reuse-port",
    ];
    args.retain(|a| !flags.contains(&a.as_str()));
    let workers = match args.iter().position(|a| a == "--workers") {
        Some(at) => {
            let n = args.get(at + 1).and_then(|n| n.parse().ok());
            args.drain(at..(at + 2).min(args.len()));
            n.ok_or_else(|| std::io::Error::other("--workers N"))?
        }
        None => 1,
    };
    // `--tls CHAIN KEY`: over TLS.
    let tls = args.iter().position(|a| a == "--tls").map(|at| {
        let files: Vec<String> = args.drain(at..(at + 3).min(args.len())).skip(1).collect();
        files
    });
    let addr =
        ratchet::cli::parse_bind(args, None, "127.0.0.1:9002").map_err(std::io::Error::other)?;
    let app = Echo {
        chat,
        clients: ConnSet::new(),
    };
    let mut config = ratchet::websocket::Config::default();
    if rate {
        config = config.rate(ratchet::Rate::per_second(u32::MAX));
    }
    if let Some(deflate) = deflate {
        config = config.deflate(deflate);
    }
    let server = Server::new(WebSocket::with_config(app, config));
    let server = match tls {
        Some(files) if files.len() == 2 => {
            let certs = ratchet::tls::TlsCertificates::from_pem_files(&files[0], &files[1])?;
            let server = server.tls(certs).workers(workers);
            return serve(server.reuse_port(reuse_port), addr);
        }
        Some(_) => return Err(std::io::Error::other("--tls CHAIN KEY")),
        None => server,
    };
    serve(server.workers(workers).reuse_port(reuse_port), addr)
}

fn serve<P: ratchet::Protocol>(server: Server<P>, addr: String) -> std::io::Result<()> {
    let server = server.bind(addr)?.shutdown_on_signals()?;
    println!("listening on {}", server.local_addr());
    server.run()
}
