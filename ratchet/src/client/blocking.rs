//! A blocking client on the same codec, for scripts and tests: connect, send, receive.

use crate::message::Payload;
use crate::outbound::{tunnel, Connect, ConnectFailure};
use crate::websocket::client::handshake::{self, Answer};
use crate::websocket::deflate::{self, Params};
use crate::websocket::rfc6455::{self, Decoder, Frame};
use crate::CloseCode;
use flate2::Compress;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};

/// The largest message a [`Socket`] receives: 64 MiB.
const MAX_MESSAGE: usize = 64 << 20;
/// The largest answer head it reads.
const MAX_HEAD: usize = 16 << 10;

/// Connects to `url` (`ws://`, or `wss://` with the public roots) and completes the
/// opening handshake. See [`Socket`].
pub fn connect(url: &str) -> io::Result<Socket> {
    Socket::connect(&Connect::new(url))
}

/// A blocking WebSocket client connection: one message at a time each way.
///
/// ```no_run
/// let mut socket = ratchet::client::connect("ws://127.0.0.1:8080/")?;
/// socket.send("hello")?;
/// if let Some(reply) = socket.recv()? {
///     println!("{}", reply.as_text().unwrap_or("(binary)"));
/// }
/// socket.close(ratchet::CloseCode::Normal, "bye")?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Socket {
    stream: Stream,
    decoder: Decoder,
    /// Read but not decoded yet: `buf[start..end]`.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// permessage-deflate's compressing side, if negotiated (and whether it resets).
    compress: Option<(Box<Compress>, bool)>,
    subprotocol: Option<String>,
    closed: bool,
}

enum Stream {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.flush(),
        }
    }
}

fn failed(failure: ConnectFailure) -> io::Error {
    let kind = match failure {
        ConnectFailure::Refused => io::ErrorKind::ConnectionRefused,
        ConnectFailure::InvalidUrl(_) => io::ErrorKind::InvalidInput,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, failure.to_string())
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("subprotocol", &self.subprotocol)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl Socket {
    /// Connects with `connect`'s settings (subprotocols, headers, compression, TLS
    /// trust, proxy); redirects are followed as it says. Reconnecting is not done here.
    pub fn connect(connect: &Connect) -> io::Result<Socket> {
        let mut connect = connect.clone();
        loop {
            match Socket::attempt(&connect)? {
                Ok(socket) => return Ok(socket),
                Err(location) if connect.redirects() > 0 => {
                    connect = connect.redirected(&location);
                }
                Err(location) => return Err(failed(ConnectFailure::Redirect(location))),
            }
        }
    }

    /// One attempt: the socket, or where the server redirected to.
    fn attempt(connect: &Connect) -> io::Result<Result<Socket, String>> {
        let target = connect.target().map_err(failed)?.clone();
        let to = connect.socket_target().map_err(failed)?;
        let addrs: Vec<_> = (to.host.as_str(), to.port).to_socket_addrs()?.collect();
        let mut tcp = TcpStream::connect(&addrs[..])?;
        tcp.set_nodelay(true)?;
        let mut buf = vec![0u8; 64 << 10];
        let mut end = 0;
        if connect.proxied().is_some() {
            let mut request = Vec::new();
            tunnel::write_connect(&target, &mut request);
            tcp.write_all(&request)?;
            loop {
                if let Some(len) = tunnel::read_answer(&buf[..end], MAX_HEAD).map_err(failed)? {
                    buf.copy_within(len..end, 0);
                    end -= len;
                    break;
                }
                end += read_some(&mut tcp, &mut buf[end..])?;
            }
        }
        let mut stream = match target.secure {
            false => Stream::Plain(tcp),
            #[cfg(feature = "tls")]
            true => {
                let name = rustls_pki_types::ServerName::try_from(target.host.clone())
                    .map_err(|e| failed(ConnectFailure::InvalidUrl(e.to_string())))?;
                let tls = rustls::ClientConnection::new(connect.tls(), name)
                    .map_err(|e| failed(ConnectFailure::Tls(e.to_string())))?;
                Stream::Tls(Box::new(rustls::StreamOwned::new(tls, tcp)))
            }
            #[cfg(not(feature = "tls"))]
            true => {
                return Err(failed(ConnectFailure::Unsupported(
                    "wss:// needs the `tls` feature".into(),
                )))
            }
        };
        let mut request = Vec::new();
        let offer = handshake::write_request(connect, &target, &mut request);
        stream.write_all(&request)?;
        let (agreed, len) = loop {
            match offer.answer(&buf[..end], connect, MAX_HEAD) {
                Answer::Partial => end += read_some(&mut stream, &mut buf[end..])?,
                Answer::Upgraded(agreed, len) => break (agreed, len),
                Answer::Redirect(location) => return Ok(Err(location)),
                Answer::Failed(failure) => return Err(failed(failure)),
            }
        };
        let deflate = agreed.deflate.map(Params::mirrored);
        let decoder = Decoder::with_deflate(MAX_MESSAGE, deflate).for_client();
        let compress = deflate.map(|p| {
            let level = connect.deflate_offer().map_or(6, |d| d.compression_level());
            (
                deflate::compressor(level, p.server_max_window_bits),
                p.server_no_context_takeover,
            )
        });
        Ok(Ok(Socket {
            stream,
            decoder,
            buf,
            start: len,
            end,
            compress,
            subprotocol: agreed.subprotocol,
            closed: false,
        }))
    }

    /// The subprotocol the server chose.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// Sends a message (text for a `&str` or `String`, binary for bytes), compressed if
    /// permessage-deflate was agreed.
    pub fn send(&mut self, msg: impl Into<Payload>) -> io::Result<()> {
        let msg = msg.into();
        let mut frame = Vec::with_capacity(msg.len() + 14);
        match &mut self.compress {
            Some((c, reset)) => {
                let mut packed = Vec::new();
                deflate::compress(c, msg.as_bytes(), &mut packed, *reset);
                rfc6455::write_compressed_message(&mut frame, msg.kind(), &packed, mask());
            }
            None => rfc6455::write_message(&mut frame, msg.kind(), msg.as_bytes(), mask()),
        }
        self.stream.write_all(&frame)?;
        self.stream.flush()
    }

    /// Receives the next message, answering pings on the way; `None` once the server
    /// closed (the close is answered).
    pub fn recv(&mut self) -> io::Result<Option<Payload>> {
        loop {
            if self.closed {
                return Ok(None);
            }
            let mut pos = self.start;
            let data = &mut self.buf[..self.end];
            let decoded = self.decoder.decode(data, &mut pos, usize::MAX);
            let mut reply = Vec::new();
            let result = match decoded {
                Ok(Some(Frame::Message(msg))) => Some(Ok(Some(Payload::from(msg)))),
                Ok(Some(Frame::Ping(payload))) => {
                    rfc6455::write_pong(&mut reply, payload, mask());
                    None
                }
                Ok(Some(Frame::Pong(_))) => None,
                Ok(Some(Frame::Close(code))) => {
                    let code = code.map(|(code, _)| code);
                    rfc6455::write_close(&mut reply, code, "", mask());
                    self.closed = true;
                    Some(Ok(None))
                }
                Ok(None) => None,
                Err(e) => {
                    let code = u16::from(e.close_code());
                    rfc6455::write_close(&mut reply, Some(code), &e.to_string(), mask());
                    self.closed = true;
                    Some(Err(io::Error::new(io::ErrorKind::InvalidData, e)))
                }
            };
            let progressed = pos > self.start;
            self.start = pos;
            if !reply.is_empty() {
                self.stream.write_all(&reply)?;
                self.stream.flush()?;
            }
            if let Some(result) = result {
                return result;
            }
            if !progressed || self.start == self.end {
                self.fill()?;
            }
        }
    }

    /// Reads more into the buffer, moving what is left to its front.
    fn fill(&mut self) -> io::Result<()> {
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        if self.end == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let n = self.stream.read(&mut self.buf[self.end..])?;
        if n == 0 {
            self.closed = true;
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection without a close frame",
            ));
        }
        self.end += n;
        Ok(())
    }

    /// Starts the closing handshake and waits for the server's close (messages that
    /// arrive meanwhile are dropped).
    pub fn close(&mut self, code: CloseCode, reason: &str) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let mut frame = Vec::new();
        rfc6455::write_close(&mut frame, Some(u16::from(code)), reason, mask());
        self.stream.write_all(&frame)?;
        self.stream.flush()?;
        while self.recv()?.is_some() {}
        Ok(())
    }
}

/// A fresh masking key, from a cryptographically secure generator.
fn mask() -> rfc6455::Mask {
    Some(rand::random())
}

fn read_some(stream: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    if buf.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "answer head too large",
        ));
    }
    match stream.read(buf)? {
        0 => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "closed during the handshake",
        )),
        n => Ok(n),
    }
}
