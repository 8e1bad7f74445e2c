//! A raw RFC 6455 client over a blocking socket, and the frames it reads and writes.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// An RFC 6455 upgrade request for `path` (with the RFC's sample key, whose accept value is
/// `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`), plus `extra_headers` lines (each ending in `\r\n`).
pub fn upgrade_request(path: &str, extra_headers: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra_headers}\r\n"
    )
}

/// A minimal RFC 6455 client over a blocking socket, written from the RFC, for tests that
/// need to send exactly the bytes they mean.
pub struct RawClient {
    /// The socket.
    pub stream: TcpStream,
    buf: Vec<u8>,
}

/// A frame as the server sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFrame {
    /// FIN bit.
    pub fin: bool,
    /// RSV1 bit (compressed, with permessage-deflate).
    pub rsv1: bool,
    /// Opcode.
    pub opcode: u8,
    /// Payload.
    pub payload: Vec<u8>,
}

impl ServerFrame {
    /// The close code of a close frame.
    pub fn close_code(&self) -> Option<u16> {
        (self.opcode == 8 && self.payload.len() >= 2)
            .then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

impl RawClient {
    /// Connects without a handshake.
    pub fn connect(addr: SocketAddr) -> Self {
        Self::from_stream(TcpStream::connect(addr).expect("connect"))
    }

    /// Connects from the local address `source` (any of 127.0.0.0/8 is this machine).
    pub fn connect_from(addr: SocketAddr, source: std::net::IpAddr) -> Self {
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            None,
        )
        .expect("socket");
        socket
            .bind(&SocketAddr::new(source, 0).into())
            .expect("bind the source address");
        socket.connect(&addr.into()).expect("connect");
        Self::from_stream(socket.into())
    }

    fn from_stream(stream: TcpStream) -> Self {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        RawClient {
            stream,
            buf: Vec::new(),
        }
    }

    /// Connects and completes an RFC 6455 handshake for `path`.
    pub fn open(addr: SocketAddr, path: &str) -> Self {
        Self::open_with(addr, path, "").0
    }

    /// Connects and completes an RFC 6455 handshake for `path` with extra header lines
    /// (each ending in `\r\n`); returns the client and the response head.
    pub fn open_with(addr: SocketAddr, path: &str, extra_headers: &str) -> (Self, String) {
        let mut client = Self::connect(addr);
        client.write(upgrade_request(path, extra_headers).as_bytes());
        let head = client.read_head();
        assert!(
            head.starts_with("HTTP/1.1 101 "),
            "handshake refused: {head}"
        );
        assert!(
            head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
            "{head}"
        );
        (client, head)
    }

    /// Writes raw bytes.
    pub fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Reads an HTTP response head (through the blank line).
    pub fn read_head(&mut self) -> String {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head: Vec<u8> = self.buf.drain(..end + 4).collect();
                return String::from_utf8_lossy(&head).into_owned();
            }
            self.fill();
        }
    }

    /// Reads an HTTP response: head and `Content-Length` body.
    pub fn read_response(&mut self) -> (String, String) {
        let head = self.read_head();
        let len = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>())
            })
            .and_then(Result::ok)
            .unwrap_or(0);
        while self.buf.len() < len {
            self.fill();
        }
        let body: Vec<u8> = self.buf.drain(..len).collect();
        (head, String::from_utf8_lossy(&body).into_owned())
    }

    /// Reads what the next read brings (at least a byte), raw.
    pub fn read_some(&mut self) -> Vec<u8> {
        if self.buf.is_empty() {
            self.fill();
        }
        std::mem::take(&mut self.buf)
    }

    /// Reads exactly `n` raw bytes.
    pub fn read_exact(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            self.fill();
        }
        self.buf.drain(..n).collect()
    }

    fn fill(&mut self) {
        let mut chunk = [0; 65536];
        let n = self.stream.read(&mut chunk).expect("read");
        assert!(n > 0, "connection closed by the server");
        self.buf.extend_from_slice(&chunk[..n]);
    }

    /// Whether the server closed the connection within `wait` (reading and discarding).
    pub fn closed_within(&mut self, wait: Duration) -> bool {
        self.stream.set_read_timeout(Some(wait)).expect("timeout");
        let deadline = Instant::now() + wait;
        let mut chunk = [0; 65536];
        while Instant::now() < deadline {
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
        false
    }

    /// Sends one masked frame.
    pub fn send_frame(&mut self, fin: bool, opcode: u8, payload: &[u8]) {
        self.write(&client_frame(fin, opcode, payload));
    }

    /// Sends a text message.
    pub fn send_text(&mut self, text: &str) {
        self.send_frame(true, 1, text.as_bytes());
    }

    /// Reads the next frame.
    pub fn read_frame(&mut self) -> ServerFrame {
        loop {
            if let Some((frame, used)) = parse_server_frame(&self.buf) {
                self.buf.drain(..used);
                return frame;
            }
            self.fill();
        }
    }

    /// The next frame, or `None` if none is complete within `wait`.
    pub fn read_frame_within(&mut self, wait: Duration) -> Option<ServerFrame> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some((frame, used)) = parse_server_frame(&self.buf) {
                self.buf.drain(..used);
                return Some(frame);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            self.stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .expect("timeout");
            let mut chunk = [0; 65536];
            let read = self.stream.read(&mut chunk);
            self.stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            match read {
                Ok(0) => panic!("connection closed by the server"),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return None
                }
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    /// Reads the next frame and asserts it is this text.
    pub fn expect_text(&mut self, text: &str) {
        let frame = self.read_frame();
        assert_eq!(
            (
                frame.opcode,
                String::from_utf8_lossy(&frame.payload).as_ref()
            ),
            (1, text)
        );
    }
}

/// A masked client frame.
pub fn client_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x12, 0x34, 0x56, 0x78];
    let mut out = vec![if fin { 0x80 | opcode } else { opcode }];
    match payload.len() {
        n @ 0..=125 => out.push(0x80 | n as u8),
        n @ 126..=0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

fn parse_server_frame(buf: &[u8]) -> Option<(ServerFrame, usize)> {
    let [b0, b1, ..] = *buf else { return None };
    assert_eq!(b1 & 0x80, 0, "server frames are not masked");
    let (len, header) = match b1 & 0x7F {
        126 => (
            u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?) as usize,
            4,
        ),
        127 => (
            u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?) as usize,
            10,
        ),
        n => (n as usize, 2),
    };
    let payload = buf.get(header..header + len)?.to_vec();
    Some((
        ServerFrame {
            fin: b0 & 0x80 != 0,
            rsv1: b0 & 0x40 != 0,
            opcode: b0 & 0x0F,
            payload,
        },
        header + len,
    ))
}

/// The frames in `bytes` (what a server wrote), and what is left after the last whole one.
pub fn server_frames(mut bytes: &[u8]) -> (Vec<ServerFrame>, Vec<u8>) {
    let mut frames = Vec::new();
    while let Some((frame, used)) = parse_server_frame(bytes) {
        frames.push(frame);
        bytes = &bytes[used..];
    }
    (frames, bytes.to_vec())
}
