//! The load generator's engine: many WebSocket clients on one `mio` event loop, each
//! running the closed-loop echo the field uses (send one masked frame, wait for the whole
//! echo, send the next), plus the other measurements of `BENCHMARKS.md`.

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

mod deflate;
mod tls;

pub use deflate::{deflate_echo, deflate_idle, deflate_paced};
use tls::Wire;
pub use tls::{client_config, test_certificates, tls_idle};

const REQUEST: &str = "GET / HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// A masked binary client frame of `size` bytes.
pub fn client_frame(size: usize) -> Vec<u8> {
    let mask = [0x11, 0x22, 0x33, 0x44];
    let mut out = vec![0x82];
    match size {
        0..=125 => out.push(0x80 | size as u8),
        126..=0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(size as u16).to_be_bytes());
        }
        _ => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(size as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend((0..size).map(|i| (i as u8) ^ mask[i % 4]));
    out
}

/// Bytes of the server's (unmasked) frame carrying `size` payload bytes.
pub fn server_frame_len(size: usize) -> usize {
    size + match size {
        0..=125 => 2,
        126..=0xFFFF => 4,
        _ => 10,
    }
}

struct Client {
    stream: Wire,
    open: bool,
    head: Vec<u8>,
    /// Echo bytes still to come for the message in flight.
    awaiting: usize,
    /// Unwritten part of what this client is sending.
    out: Vec<u8>,
    sent_at: Instant,
}

impl Client {
    fn connect(
        poll: &Poll,
        addr: SocketAddr,
        token: usize,
        tls: Option<&std::sync::Arc<rustls::ClientConfig>>,
    ) -> std::io::Result<Self> {
        let mut stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        poll.registry().register(
            &mut stream,
            Token(token),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        Ok(Client {
            stream: Wire::new(stream, tls)?,
            open: false,
            head: Vec::new(),
            awaiting: 0,
            out: REQUEST.as_bytes().to_vec(),
            sent_at: Instant::now(),
        })
    }

    /// Reads all that is available: finishes the handshake (then calls `opened`), then
    /// counts whole echoes of `echo_len` bytes, calling `echoed` after each.
    fn read_echoes(
        &mut self,
        buf: &mut [u8],
        echo_len: usize,
        mut opened: impl FnMut(&mut Self),
        mut echoed: impl FnMut(&mut Self),
    ) -> std::io::Result<()> {
        loop {
            let n = match self.stream.read(buf) {
                Ok(0) => return Err(std::io::Error::other("the server closed a connection")),
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let mut got = n;
            if !self.open {
                self.head.extend_from_slice(&buf[..n]);
                let Some(end) = self.head.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                if !self.head.starts_with(b"HTTP/1.1 101") {
                    return Err(std::io::Error::other("handshake refused"));
                }
                self.open = true;
                self.awaiting = echo_len;
                got = self.head.len() - end - 4;
                opened(self);
            }
            while got > 0 {
                let take = got.min(self.awaiting);
                self.awaiting -= take;
                got -= take;
                if self.awaiting == 0 {
                    self.awaiting = echo_len;
                    echoed(self);
                }
            }
        }
    }

    /// Writes what is pending; false if the connection failed.
    fn flush(&mut self) -> bool {
        while !self.out.is_empty() {
            match self.stream.write(&self.out) {
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        self.stream.flush().is_ok()
    }
}

/// What an echo run measured.
#[derive(Debug, Clone)]
pub struct EchoResult {
    /// Messages per second in each measured interval.
    pub per_second: Vec<f64>,
    /// Round-trip times in microseconds, of messages completed while measuring.
    pub rtts_us: Vec<u32>,
}

impl EchoResult {
    /// The median of the per-interval rates.
    pub fn median(&self) -> f64 {
        median(&self.per_second)
    }
}

/// The median of `values`.
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        0.0
    } else {
        v[v.len() / 2]
    }
}

/// Closed-loop echo: `conns` clients each send one `size`-byte frame and wait for the
/// whole echo before the next. Measures messages per second over `intervals` intervals of
/// `interval` after `warmup`. With `rate` set, it is open loop instead: each client sends
/// at `rate / conns` per second whatever the echoes do (for latency).
///
/// With `tls`, over TLS (a rustls client with that configuration).
pub fn echo(
    addr: SocketAddr,
    tls: Option<&std::sync::Arc<rustls::ClientConfig>>,
    conns: usize,
    size: usize,
    warmup: Duration,
    interval: Duration,
    intervals: usize,
) -> std::io::Result<EchoResult> {
    let mut poll = Poll::new()?;
    let mut clients = Vec::with_capacity(conns);
    for token in 0..conns {
        clients.push(Client::connect(&poll, addr, token, tls)?);
    }
    let frame = client_frame(size);
    let echo_len = server_frame_len(size);
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 256 << 10];
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + interval * intervals as u32;
    let mut counts = vec![0u64; intervals];
    let mut rtts = Vec::new();
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        poll.poll(&mut events, Some(Duration::from_millis(50)))?;
        for event in events.iter() {
            let c = &mut clients[event.token().0];
            if !c.flush() {
                return Err(std::io::Error::other("a connection failed"));
            }
            c.read_echoes(
                &mut buf,
                echo_len,
                |c| {
                    c.out.extend_from_slice(&frame);
                    c.sent_at = Instant::now();
                },
                |c| {
                    let done = Instant::now();
                    if done >= measure_from && done < end {
                        let slot =
                            ((done - measure_from).as_nanos() / interval.as_nanos()) as usize;
                        counts[slot.min(intervals - 1)] += 1;
                        if rtts.len() < 1_000_000 {
                            rtts.push((done - c.sent_at).as_micros().min(u32::MAX as u128) as u32);
                        }
                    }
                    c.out.extend_from_slice(&frame);
                    c.sent_at = done;
                },
            )?;
            if !c.flush() {
                return Err(std::io::Error::other("a connection failed"));
            }
        }
    }
    let secs = interval.as_secs_f64();
    Ok(EchoResult {
        per_second: counts.iter().map(|&c| c as f64 / secs).collect(),
        rtts_us: rtts,
    })
}

/// Open-loop latency: `conns` clients send `size`-byte frames at `rate` messages per
/// second in all, on schedule whatever the echoes do; returns the round-trip times (µs) of
/// the messages sent after `warmup`, for `duration`.
pub fn latency(
    addr: SocketAddr,
    tls: Option<&std::sync::Arc<rustls::ClientConfig>>,
    conns: usize,
    size: usize,
    rate: u64,
    warmup: Duration,
    duration: Duration,
) -> std::io::Result<Vec<u32>> {
    let mut poll = Poll::new()?;
    let mut clients = Vec::with_capacity(conns);
    for token in 0..conns {
        clients.push(Client::connect(&poll, addr, token, tls)?);
    }
    let frame = client_frame(size);
    let echo_len = server_frame_len(size);
    let mut in_flight: Vec<std::collections::VecDeque<Instant>> = vec![Default::default(); conns];
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 256 << 10];
    let gap = Duration::from_nanos(1_000_000_000 / rate.max(1));
    let start = Instant::now();
    let (measure_from, end) = (start + warmup, start + warmup + duration);
    let mut next_send = start;
    let mut sent = 0usize;
    let mut rtts = Vec::new();
    while Instant::now() < end + Duration::from_millis(200) {
        let now = Instant::now();
        while now >= next_send && next_send < end {
            let i = sent % conns;
            let c = &mut clients[i];
            if c.open {
                c.out.extend_from_slice(&frame);
                in_flight[i].push_back(next_send);
                if !c.flush() {
                    return Err(std::io::Error::other("a connection failed"));
                }
            }
            sent += 1;
            next_send += gap;
        }
        // epoll sleeps in whole milliseconds: spin through the last one, so that sends
        // leave on time (the load generator has its own core).
        let wait = next_send
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(10));
        let wait = wait.saturating_sub(Duration::from_millis(1));
        poll.poll(&mut events, Some(wait))?;
        for event in events.iter() {
            let i = event.token().0;
            let c = &mut clients[i];
            if !c.flush() {
                return Err(std::io::Error::other("a connection failed"));
            }
            let sent = &mut in_flight[i];
            c.read_echoes(
                &mut buf,
                echo_len,
                |_| {},
                |_| {
                    if let Some(sent_at) = sent.pop_front() {
                        if sent_at >= measure_from && sent_at < end {
                            rtts.push(sent_at.elapsed().as_micros().min(u32::MAX as u128) as u32);
                        }
                    }
                },
            )?;
        }
    }
    Ok(rtts)
}

/// The CPU time a process has used so far, user and system, in seconds (from
/// `/proc/PID/stat`, every thread counted).
pub fn cpu_seconds(pid: u32) -> f64 {
    stat_cpu_seconds(&std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default())
}

/// The CPU time each thread of a process has used so far, in seconds, by thread name
/// (threads of one name summed).
pub fn thread_cpu_seconds(pid: u32) -> std::collections::BTreeMap<String, f64> {
    let mut by_name = std::collections::BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return by_name;
    };
    for task in tasks.flatten() {
        let path = task.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
        *by_name.entry(name.trim().to_owned()).or_insert(0.0) += stat_cpu_seconds(&stat);
    }
    by_name
}

/// User and system time in a `/proc/.../stat` line, in seconds.
fn stat_cpu_seconds(stat: &str) -> f64 {
    // After the command's name in parentheses: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields counted from the state (field 3) at index 0; the kernel's tick is 1/100 s.
    (ticks(14 - 3) + ticks(15 - 3)) / 100.0
}

/// Handshakes per second: keeps `concurrency` handshakes in flight for `duration`,
/// closing each connection once upgraded.
pub fn handshakes(
    addr: SocketAddr,
    concurrency: usize,
    duration: Duration,
) -> std::io::Result<f64> {
    let mut poll = Poll::new()?;
    let mut slots: Vec<Option<Client>> = Vec::new();
    for token in 0..concurrency {
        slots.push(Some(Client::connect(&poll, addr, token, None)?));
    }
    let mut events = Events::with_capacity(1024);
    let mut buf = [0u8; 4096];
    let start = Instant::now();
    let mut done = 0u64;
    while start.elapsed() < duration {
        poll.poll(&mut events, Some(Duration::from_millis(50)))?;
        for event in events.iter() {
            let token = event.token().0;
            let Some(c) = slots[token].as_mut() else {
                continue;
            };
            if !c.flush() {
                return Err(std::io::Error::other("a connection failed"));
            }
            let mut upgraded = false;
            loop {
                match c.stream.read(&mut buf) {
                    Ok(0) => return Err(std::io::Error::other("closed during the handshake")),
                    Ok(n) => {
                        c.head.extend_from_slice(&buf[..n]);
                        if c.head.windows(4).any(|w| w == b"\r\n\r\n") {
                            upgraded = c.head.starts_with(b"HTTP/1.1 101");
                            if !upgraded {
                                return Err(std::io::Error::other("handshake refused"));
                            }
                            break;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            if upgraded {
                done += 1;
                if let Some(mut old) = slots[token].take() {
                    let _ = poll.registry().deregister(old.stream.socket());
                }
                slots[token] = Some(Client::connect(&poll, addr, token, None)?);
            }
        }
    }
    Ok(done as f64 / start.elapsed().as_secs_f64())
}

/// Opens `conns` upgraded connections and keeps them until the returned value is
/// dropped (one source address gives about 28,000 ephemeral ports: enough here).
pub fn idle(addr: SocketAddr, conns: usize) -> std::io::Result<Vec<std::net::TcpStream>> {
    let mut open = Vec::with_capacity(conns);
    for _ in 0..conns {
        let mut s = std::net::TcpStream::connect(addr)?;
        upgrade(&mut s)?;
        open.push(s);
    }
    Ok(open)
}

/// Sends the upgrade request on `s` and reads the response head.
pub(crate) fn upgrade(s: &mut (impl Read + Write)) -> std::io::Result<()> {
    let mut buf = [0u8; 1024];
    s.write_all(REQUEST.as_bytes())?;
    let mut head = Vec::new();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::Error::other("closed during the handshake"));
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok(())
}

/// Fan-out through a chat: one publisher, `receivers` readers; the publisher keeps up to
/// `window` messages ahead of the first reader. Returns deliveries (messages received,
/// over all readers) per second.
pub fn fanout(
    addr: SocketAddr,
    receivers: usize,
    size: usize,
    duration: Duration,
    window: u64,
) -> std::io::Result<f64> {
    let readers = idle(addr, receivers)?;
    for r in &readers {
        r.set_nonblocking(true)?;
    }
    let mut poll = Poll::new()?;
    let mut readers: Vec<TcpStream> = readers.into_iter().map(TcpStream::from_std).collect();
    for (i, r) in readers.iter_mut().enumerate() {
        poll.registry()
            .register(r, Token(i + 1), Interest::READABLE)?;
    }
    let mut publisher = idle(addr, 1)?.remove(0);
    std::thread::sleep(Duration::from_millis(200)); // every on_open has run
    let frame = client_frame(size);
    let frame_len = server_frame_len(size) as u64;
    let mut received = vec![0u64; receivers]; // bytes
    let mut sent = 0u64;
    let mut events = Events::with_capacity(4096);
    let mut buf = vec![0u8; 256 << 10];
    let start = Instant::now();
    while start.elapsed() < duration {
        while sent < received[0] / frame_len + window {
            publisher.write_all(&frame)?;
            sent += 1;
        }
        poll.poll(&mut events, Some(Duration::from_millis(20)))?;
        for event in events.iter() {
            let i = event.token().0 - 1;
            loop {
                match readers[i].read(&mut buf) {
                    Ok(0) => return Err(std::io::Error::other("the server closed a reader")),
                    Ok(n) => received[i] += n as u64,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    let delivered: u64 = received.iter().map(|b| b / frame_len).sum();
    Ok(delivered as f64 / start.elapsed().as_secs_f64())
}

/// Resident memory of process `pid`, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    kib_field(&format!("/proc/{pid}/status"), "VmRSS:")
}

/// The kernel's slab memory in KiB (`Slab:` in `/proc/meminfo`): where it keeps sockets,
/// their files and their epoll entries. Machine-wide.
pub fn slab_kib() -> u64 {
    kib_field("/proc/meminfo", "Slab:")
}

/// The `field` line of a `/proc` file, in KiB (0 if unreadable).
fn kib_field(path: &str, field: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .map(str::to_owned)
        })
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Percentile `p` (0–100) of `values`.
pub fn percentile(values: &mut [u32], p: f64) -> u32 {
    if values.is_empty() {
        return 0;
    }
    values.sort_unstable();
    let at = ((values.len() - 1) as f64 * p / 100.0).round() as usize;
    values[at]
}

/// Samples how fast `count` grows: after one second of warm-up, `seconds` one-second
/// intervals. Prints `median` (of the rates in each, per second) and `cpu_us_per_msg`
/// (this process's CPU time over the whole measured span, divided by the count's growth).
pub fn report_rates(count: &std::sync::atomic::AtomicU64, seconds: usize) {
    use std::sync::atomic::Ordering;
    std::thread::sleep(Duration::from_secs(1));
    let mut rates = Vec::with_capacity(seconds);
    let first = (count.load(Ordering::Relaxed), own_cpu_seconds());
    let mut last = (Instant::now(), first.0);
    for _ in 0..seconds {
        std::thread::sleep(Duration::from_secs(1));
        let now = (Instant::now(), count.load(Ordering::Relaxed));
        let elapsed = now.0.duration_since(last.0).as_secs_f64();
        rates.push((now.1 - last.1) as f64 / elapsed);
        last = now;
    }
    let (msgs, cpu) = (last.1 - first.0, own_cpu_seconds() - first.1);
    println!("median {:.0}", median(&rates));
    println!("cpu_us_per_msg {:.3}", cpu * 1e6 / msgs.max(1) as f64);
}

/// CPU time (user and system) this process used so far, in seconds (`/proc/self/stat`,
/// in clock ticks of 10 ms).
fn own_cpu_seconds() -> f64 {
    stat_cpu_seconds(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default())
}
