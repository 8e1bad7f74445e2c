//! The same closed-loop echo load as `client-ratchet`, made by tokio-tungstenite's client
//! on a current-thread tokio runtime (one thread, as ratchet's loop).
//!
//! ```text
//! client-tokio-tungstenite URL CONNS SIZE SECONDS     prints `median MSGS_PER_SECOND`
//!                                           and `cpu_us_per_msg`
//! ```

use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio_tungstenite::tungstenite::Message;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, conns, size, seconds] = args.as_slice() else {
        eprintln!("usage: client-tokio-tungstenite URL CONNS SIZE SECONDS");
        std::process::exit(2);
    };
    let conns: usize = conns.parse().expect("CONNS");
    let payload = vec![b'x'; size.parse().expect("SIZE")];
    let echoes = Arc::new(AtomicU64::new(0));
    let counter = echoes.clone();
    let url = url.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let mut tasks = Vec::new();
            for _ in 0..conns {
                let (url, payload, counter) = (url.clone(), payload.clone(), counter.clone());
                tasks.push(tokio::spawn(async move {
                    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
                        .await
                        .expect("connect");
                    loop {
                        if ws.send(Message::binary(payload.clone())).await.is_err() {
                            return;
                        }
                        match ws.next().await {
                            Some(Ok(_)) => counter.fetch_add(1, Ordering::Relaxed),
                            _ => return,
                        };
                    }
                }));
            }
            for task in tasks {
                let _ = task.await;
            }
        });
    });
    ratchet_bench::report_rates(&echoes, seconds.parse().expect("SECONDS"));
    // The runtime's thread ends with the process.
}
