//! Compression's memory: connections that negotiated permessage-deflate and each sent
//! and got back one compressed message, so that whatever the server keeps per connection
//! between messages (compressor, decompressor) exists.

use std::io::{Read, Write};
use std::net::SocketAddr;

const OFFER: &str = "GET / HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

/// Opens `conns` connections offering permessage-deflate; each sends one compressed 1 KiB
/// message and reads its echo (compressed or not, whole). Kept until dropped.
pub fn deflate_idle(addr: SocketAddr, conns: usize) -> std::io::Result<Vec<std::net::TcpStream>> {
    let (frame, _) = compressed_json_frame(1024);
    let mut open = Vec::with_capacity(conns);
    let mut buf = [0u8; 4096];
    for _ in 0..conns {
        let mut s = std::net::TcpStream::connect(addr)?;
        s.write_all(OFFER.as_bytes())?;
        let mut got = Vec::new();
        let end = loop {
            let n = s.read(&mut buf)?;
            if n == 0 {
                return Err(std::io::Error::other("closed during the handshake"));
            }
            got.extend_from_slice(&buf[..n]);
            if let Some(at) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
        };
        if !got.starts_with(b"HTTP/1.1 101")
            || !got[..end].windows(18).any(|w| w == b"permessage-deflate")
        {
            return Err(std::io::Error::other(
                "permessage-deflate was not negotiated",
            ));
        }
        s.write_all(&frame)?;
        got.drain(..end);
        // The echo, whole.
        while whole_frame(&got).is_none() {
            let n = s.read(&mut buf)?;
            if n == 0 {
                return Err(std::io::Error::other("closed before the echo"));
            }
            got.extend_from_slice(&buf[..n]);
        }
        open.push(s);
    }
    Ok(open)
}

/// A JSON-like text of about `size` bytes, compressed as one message, in a masked text
/// frame with RSV1 set; and the text's length.
fn compressed_json_frame(size: usize) -> (Vec<u8>, usize) {
    let mut text = String::from("[");
    let mut i = 0u32;
    while text.len() < size {
        text.push_str(&format!(
            r#"{{"type":"quote","seq":{i},"symbol":"RCHT","bid":{}.{:02},"ask":{}.{:02}}},"#,
            100 + i % 7,
            i % 100,
            101 + i % 5,
            (i * 7) % 100
        ));
        i += 1;
    }
    text.truncate(size.max(2) - 1);
    text.push(']');
    let mut c = flate2::Compress::new(flate2::Compression::default(), false);
    let mut payload = Vec::with_capacity(text.len() + 64);
    c.compress_vec(text.as_bytes(), &mut payload, flate2::FlushCompress::Sync)
        .expect("compress");
    payload.truncate(payload.len() - 4);
    let mut frame = vec![0xC1];
    match payload.len() {
        n @ 0..=125 => frame.push(0x80 | n as u8),
        n => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(&payload);
    (frame, text.len())
}

/// The length of the first whole server frame in `buf`, if it is all there.
fn whole_frame(buf: &[u8]) -> Option<usize> {
    let (&b1, rest) = buf.get(1).zip(buf.get(2..))?;
    let (len, header) = match b1 & 0x7F {
        126 => (
            usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?])),
            4,
        ),
        127 => (
            usize::try_from(u64::from_be_bytes(rest.get(..8)?.try_into().ok()?)).ok()?,
            10,
        ),
        n => (usize::from(n), 2),
    };
    (buf.len() >= header + len).then_some(header + len)
}

/// Closed-loop echo with permessage-deflate: `conns` clients each send one compressed
/// JSON-like text of `size` bytes and wait for the whole echo (compressed or not) before
/// the next. Messages per second over `intervals` seconds after a second's warm-up.
pub fn deflate_echo(
    addr: SocketAddr,
    conns: usize,
    size: usize,
    intervals: usize,
) -> std::io::Result<Vec<f64>> {
    use mio::{Events, Poll};
    use std::time::{Duration, Instant};
    let (frame, _) = compressed_json_frame(size);
    let mut poll = Poll::new()?;
    let mut clients = deflate_clients(addr, conns, &poll)?;
    for (s, _) in &mut clients {
        s.write_all(&frame)?;
    }
    let mut events = Events::with_capacity(1024);
    let mut chunk = vec![0u8; 64 << 10];
    let measure_from = Instant::now() + Duration::from_secs(1);
    let end = measure_from + Duration::from_secs(intervals as u64);
    let mut counts = vec![0u64; intervals];
    while Instant::now() < end {
        poll.poll(&mut events, Some(Duration::from_millis(50)))?;
        for event in events.iter() {
            let (s, buf) = &mut clients[event.token().0];
            read_available(s, buf, &mut chunk)?;
            while let Some(len) = whole_frame(buf) {
                buf.drain(..len);
                let now = Instant::now();
                if now >= measure_from && now < end {
                    let slot = (now - measure_from).as_secs() as usize;
                    counts[slot.min(intervals - 1)] += 1;
                }
                // One frame of this size fits the socket's buffer: no partial writes.
                s.write_all(&frame)?;
            }
        }
    }
    Ok(counts.into_iter().map(|c| c as f64).collect())
}

/// `conns` connections that negotiated permessage-deflate, registered with `poll` (token:
/// their index), each with its read buffer.
fn deflate_clients(
    addr: SocketAddr,
    conns: usize,
    poll: &mio::Poll,
) -> std::io::Result<Vec<(mio::net::TcpStream, Vec<u8>)>> {
    use mio::net::TcpStream;
    use mio::{Interest, Token};
    let mut clients = Vec::with_capacity(conns);
    for token in 0..conns {
        // Upgraded blocking, then served by the poller.
        let mut s = std::net::TcpStream::connect(addr)?;
        s.write_all(OFFER.as_bytes())?;
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if s.read(&mut byte)? == 0 {
                return Err(std::io::Error::other("closed during the handshake"));
            }
            head.push(byte[0]);
        }
        if !head.windows(18).any(|w| w == b"permessage-deflate") {
            return Err(std::io::Error::other(
                "permessage-deflate was not negotiated",
            ));
        }
        s.set_nodelay(true)?;
        s.set_nonblocking(true)?;
        let mut s = TcpStream::from_std(s);
        poll.registry()
            .register(&mut s, Token(token), Interest::READABLE)?;
        clients.push((s, Vec::new()));
    }
    Ok(clients)
}

/// Open loop with permessage-deflate: `conns` clients send a compressed JSON-like text of
/// `size` bytes at `rate` messages per second in all, on schedule, for `secs` seconds;
/// returns how many echoes came back (waiting a little after the last send).
pub fn deflate_paced(
    addr: SocketAddr,
    conns: usize,
    size: usize,
    rate: u64,
    secs: u64,
) -> std::io::Result<u64> {
    use mio::{Events, Poll};
    use std::time::{Duration, Instant};
    let (frame, _) = compressed_json_frame(size);
    let mut poll = Poll::new()?;
    let mut clients = deflate_clients(addr, conns, &poll)?;
    let mut events = Events::with_capacity(1024);
    let mut chunk = vec![0u8; 64 << 10];
    let gap = Duration::from_nanos(1_000_000_000 / rate.max(1));
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let (mut next_send, mut sent, mut echoed) = (start, 0usize, 0u64);
    while Instant::now() < end + Duration::from_millis(200) {
        let now = Instant::now();
        while now >= next_send && next_send < end {
            // A frame this size fits the socket's buffer at this rate: no partial writes.
            clients[sent % conns].0.write_all(&frame)?;
            sent += 1;
            next_send += gap;
        }
        let wait = next_send
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(10))
            .saturating_sub(Duration::from_millis(1));
        poll.poll(&mut events, Some(wait))?;
        for event in events.iter() {
            let (s, buf) = &mut clients[event.token().0];
            read_available(s, buf, &mut chunk)?;
            while let Some(len) = whole_frame(buf) {
                buf.drain(..len);
                echoed += 1;
            }
        }
    }
    Ok(echoed)
}

/// Reads what `s` has now into `buf`, through `chunk`; an error if the server closed it.
fn read_available(
    s: &mut mio::net::TcpStream,
    buf: &mut Vec<u8>,
    chunk: &mut [u8],
) -> std::io::Result<()> {
    loop {
        match s.read(chunk) {
            Ok(0) => return Err(std::io::Error::other("the server closed a connection")),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}
