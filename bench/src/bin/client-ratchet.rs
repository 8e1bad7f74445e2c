//! A closed-loop echo load made of ratchet's outbound connections: one event loop (one
//! thread) makes CONNS connections to URL with `Command::connect`, each sending a SIZE-byte
//! binary message and the next as soon as the echo comes back.
//!
//! ```text
//! client-ratchet URL CONNS SIZE SECONDS     prints `median MSGS_PER_SECOND`
//!                                           and `cpu_us_per_msg`
//! ```

use ratchet::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

struct Load {
    url: String,
    conns: u64,
    payload: Payload,
    echoes: Arc<AtomicU64>,
}

impl Component for Load {
    fn on_start(&mut self, _: &Handle) -> impl IntoCommands {
        (0..self.conns)
            .map(|key| Command::connect(self.url.clone(), key))
            .collect::<Commands>()
    }

    fn on_open(&mut self, conn: &Conn) -> impl IntoCommands {
        conn.send(self.payload.clone())
    }

    fn on_message(&mut self, from: &Conn, _: Message<'_>) -> impl IntoCommands {
        self.echoes.fetch_add(1, Ordering::Relaxed);
        from.send(self.payload.clone())
    }

    fn on_error(&mut self, _: &Conn, err: Error) -> impl IntoCommands {
        eprintln!("{err}");
    }
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, conns, size, seconds] = args.as_slice() else {
        eprintln!("usage: client-ratchet URL CONNS SIZE SECONDS");
        std::process::exit(2);
    };
    let echoes = Arc::new(AtomicU64::new(0));
    let load = Load {
        url: url.clone(),
        conns: conns.parse().expect("CONNS"),
        payload: Payload::binary(vec![b'x'; size.parse().expect("SIZE")]),
        echoes: echoes.clone(),
    };
    let server = Server::new(WebSocket::new(load)).bind("127.0.0.1:0")?;
    let handle = server.handle();
    let running = std::thread::spawn(move || server.run());
    ratchet_bench::report_rates(&echoes, seconds.parse().expect("SECONDS"));
    handle.shutdown();
    running.join().expect("the loop")?;
    Ok(())
}
