//! Outbound connections to servers the project did not write: Python's `websockets` and
//! Node's `ws`, over `ws://` and `wss://`, with and without permessage-deflate, messages
//! from 0 B to 16 MiB each way.

use ratchet::client::Connect;
use ratchet::message::Payload;
use ratchet::websocket::Deflate;
use std::process::Command;
use std::time::Duration;
use suite::{Heard, PeerServer, Probe, TestCa};

/// Message sizes sent, each way.
const SIZES: [usize; 9] = [0, 1, 125, 126, 65_535, 65_536, 1 << 20, 4 << 20, 16 << 20];

/// Bytes that compress about as well as real traffic: runs of text and noise.
fn payload(size: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..size)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if (i / 256) % 2 == 0 {
                b"lorem ipsum dolor sit amet "[i % 27]
            } else {
                x as u8
            }
        })
        .collect()
}

/// Connects to `peer` (`wss` or not, compression offered or not), sends every size as
/// binary and a text, and checks every echo and what the peer agreed to.
fn round_trip(mut peer: PeerServer, secure: bool, compressed: bool, ca: Option<&TestCa>) {
    let scheme = if secure { "wss" } else { "ws" };
    let mut connect = Connect::new(format!("{scheme}://localhost:{}/echo", peer.port));
    if compressed {
        connect = connect.deflate(Deflate::default());
    }
    if let Some(ca) = ca {
        connect = connect.trust_pem_file(&ca.cert).expect("the test CA");
    }
    let mut script: Vec<Payload> = SIZES
        .iter()
        .enumerate()
        .map(|(i, &size)| Payload::binary(payload(size, i as u64 + 1)))
        .collect();
    script.push(Payload::text("κόσμε ".repeat(1000)));
    let (rx, handle) = Probe::serve(vec![(1, connect)], script.clone());
    let what = format!("{} {scheme} compression={compressed}", peer.name());
    assert_eq!(suite::next_heard(&rx), Heard::Open(1, None), "{what}");
    for sent in &script {
        match suite::next_heard(&rx) {
            Heard::Message(1, got) => assert!(
                got == *sent,
                "{what}: a {} B message came back as {} B",
                sent.len(),
                got.len()
            ),
            other => panic!("{what}: {other:?}"),
        }
    }
    let agreed = peer
        .next_line(Duration::from_secs(10))
        .expect("the peer says what it agreed to");
    assert_eq!(
        agreed.contains("permessage-deflate"),
        compressed,
        "{what}: {agreed}"
    );
    handle.shutdown();
    assert_eq!(suite::next_heard(&rx), Heard::Close(1), "{what}");
}

/// Runs `round_trip` against the peer `start` makes, in all four combinations.
fn every_way(start: impl Fn(&[&str]) -> PeerServer) {
    let ca = TestCa::new("outbound-peers");
    let leaf = ca.leaf("localhost", &["localhost", "127.0.0.1"]);
    let (cert, key) = (leaf.chain.to_str().unwrap(), leaf.key.to_str().unwrap());
    for compressed in [false, true] {
        let mut args = vec![];
        if !compressed {
            args.push("--no-compression");
        }
        round_trip(start(&args), false, compressed, None);
        args.extend(["--tls", cert, key]);
        round_trip(start(&args), true, compressed, Some(&ca));
    }
}

#[test]
fn python_websockets_server_every_way() {
    if !suite::have_python_client() {
        return;
    }
    every_way(|args| {
        let mut all = vec!["tests/servers/websockets_echo.py"];
        all.extend_from_slice(args);
        PeerServer::start("Python websockets", "python3", &all)
    });
}

#[test]
fn node_ws_server_every_way() {
    if !suite::have_tool(
        "Node's ws (npm ci --prefix tests/servers)",
        Command::new("node")
            .args(["-e", "require('ws')"])
            .current_dir(suite::root().join("tests/servers")),
    ) {
        return;
    }
    every_way(|args| {
        let mut all = vec!["tests/servers/ws_echo.mjs"];
        all.extend_from_slice(args);
        PeerServer::start("Node ws", "node", &all)
    });
}
