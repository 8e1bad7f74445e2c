//! Helpers shared by the integration tests: servers on port 0, a raw WebSocket client
//! written against the RFC (for tests that need nothing outside Rust), line-driven
//! third-party client processes, a Redis server of the tests' own, and HTTP responses
//! read back from bytes.

mod folder;
pub mod fuzz;
mod http;
mod nginx;
mod outbound;
mod peer_server;
mod processes;
mod raw_client;
mod redis;
mod redis_cluster;
mod storm;
mod tls;

pub use folder::{folder, Folder};
pub use http::{responses, Response};
pub use nginx::Nginx;
pub use outbound::{next_heard, Heard, Probe};
pub use peer_server::PeerServer;
pub use processes::{
    example, have_chromium, have_perl_client, have_python_client, have_tool, node, php, python,
    tools_required, Example, LineClient,
};
pub use raw_client::{client_frame, server_frames, upgrade_request, RawClient, ServerFrame};
pub use redis::{resp, RedisServer};
pub use redis_cluster::RedisCluster;
pub use storm::{bridged, join_storm, Storm};
pub use tls::{Leaf, TestCa};

use ratchet::message::Payload;
use ratchet::protocol::Protocol;
use ratchet::server::Config;
use ratchet::workers::Split;
use ratchet::Server;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many workers the servers of the tests have: `RATCHET_TEST_WORKERS` (default 1),
/// so that a test binary can be run again with its servers on several workers.
pub fn test_workers() -> usize {
    std::env::var("RATCHET_TEST_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(1)
}

/// Serves `protocol` on 127.0.0.1 port 0 from a background thread, on
/// [`test_workers`] workers; returns the address.
pub fn serve<P>(protocol: P) -> SocketAddr
where
    P: Split + Send + 'static,
    <P::Worker as Protocol>::ConnState: Send,
    P::ConnState: Send,
{
    serve_with(protocol, Config::default())
}

/// [`serve`], and a handle into the server (to wait on what it holds, or stop it).
pub fn serve_handle<P>(protocol: P) -> (SocketAddr, ratchet::Handle)
where
    P: Split + Send + 'static,
    <P::Worker as Protocol>::ConnState: Send,
    P::ConnState: Send,
{
    run(Server::new(protocol).workers(test_workers()))
}

/// Binds `server` to 127.0.0.1 port 0 and runs it on a thread of its own; its address
/// and a handle into it.
pub fn run<P>(server: Server<P>) -> (SocketAddr, ratchet::Handle)
where
    P: Protocol + Send + 'static,
    P::ConnState: Send,
{
    let server = server.bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let (addr, handle) = (server.local_addr(), server.handle());
    std::thread::spawn(move || server.run());
    (addr, handle)
}

/// [`serve`] with server limits.
pub fn serve_with<P>(protocol: P, config: Config) -> SocketAddr
where
    P: Split + Send + 'static,
    <P::Worker as Protocol>::ConnState: Send,
    P::ConnState: Send,
{
    run(Server::new(protocol).config(config).workers(test_workers())).0
}

/// Serves a protocol that only one loop can serve (a decorator of the test's own) on
/// 127.0.0.1 port 0 from a background thread, with server limits; returns the address.
pub fn serve_one_with<P>(protocol: P, config: Config) -> SocketAddr
where
    P: Protocol + Send + 'static,
    P::ConnState: Send,
{
    run(Server::new(protocol).config(config)).0
}

/// Waits (at most 10 s) until `done` says so; panics saying what it waited for.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "waited 10 s for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Wraps a protocol and counts how often it frames an outgoing message.
pub struct CountEncodes<P> {
    /// The protocol wrapped.
    pub inner: P,
    /// How many times `encode` ran.
    pub encodes: Arc<AtomicUsize>,
}

impl<P: Protocol> Protocol for CountEncodes<P> {
    type ConnState = P::ConnState;
    fn encode(&mut self, state: &mut Self::ConnState, msg: &Payload, buf: &mut Vec<u8>) {
        self.encodes.fetch_add(1, Ordering::SeqCst);
        self.inner.encode(state, msg, buf);
    }
    ratchet::delegate_protocol!(inner; except encode);
}

/// A loopback port free a moment ago (for a process that binds it itself).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// This process's resident memory, in KiB.
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// The README's Rust snippets, compiled (and run, unless marked `no_run`) by `cargo test`.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeSnippets;
