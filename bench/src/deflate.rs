//! Compression's memory: connections that negotiated permessage-deflate and each sent
//! and got back one compressed message, so that whatever the server keeps per connection
//! between messages (compressor, decompressor) exists.

use std::io::{Read, Write};
use std::net::SocketAddr;

const OFFER: &str = "GET / HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

/// A 1 KiB JSON-like text, compressed as one message (RFC 7692: sync flush, tail removed),
/// in a masked text frame with RSV1 set.
fn compressed_frame() -> Vec<u8> {
    let mut text = String::new();
    let mut i = 0u32;
    while text.len() < 1024 {
        text.push_str(&format!(r#"{{"type":"tick","seq":{i},"name":"feed"}},"#));
        i += 1;
    }
    let mut c = flate2::Compress::new(flate2::Compression::default(), false);
    let mut payload = Vec::with_capacity(text.len() + 64);
    c.compress_vec(text.as_bytes(), &mut payload, flate2::FlushCompress::Sync)
        .expect("compress");
    payload.truncate(payload.len() - 4);
    let mut frame = vec![0xC1, 0x80 | payload.len() as u8];
    assert!(payload.len() < 126, "one short frame");
    frame.extend_from_slice(&[0, 0, 0, 0]); // a zero mask leaves the payload as it is
    frame.extend_from_slice(&payload);
    frame
}

/// Opens `conns` connections offering permessage-deflate; each sends one compressed 1 KiB
/// message and reads its echo (compressed or not, whole). Kept until dropped.
pub fn deflate_idle(addr: SocketAddr, conns: usize) -> std::io::Result<Vec<std::net::TcpStream>> {
    let frame = compressed_frame();
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
        // The echo: a header, then its payload.
        while got.len() < 2 || got.len() < 2 + usize::from(got[1] & 0x7F) {
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
