//! What `#[ratchet::app]` and `#[ratchet::handlers]` expand to call: the served `main`,
//! and the conversions that let handlers take natural argument types and return natural
//! values. Usable by hand too.

use crate::command::{Commands, IntoCommands};
use crate::component::Component;
use crate::conn::Conn;
use crate::error::Error;
use crate::message::{Message, Payload};
use crate::protocol::Protocol;
use crate::server::Server;
use crate::workers::Split;
use crate::CloseCode;
#[cfg(feature = "main")]
use std::net::SocketAddr;
use std::path::PathBuf;
#[cfg(feature = "main")]
use std::process::ExitCode;

/// An application with its decorator stack chosen: what `#[ratchet::app]` implements.
///
/// ```no_run
/// use ratchet::app::App;
/// use ratchet::prelude::*;
///
/// #[ratchet::app(protocol = "line", main = false)]
/// #[derive(Default)]
/// struct Shout;
///
/// #[ratchet::handlers]
/// impl Shout {
///     fn on_message(&mut self, from: &Conn, msg: &str) -> Command {
///         from.send(msg.to_uppercase())
///     }
/// }
///
/// // Served by hand, e.g. from a test or a larger program:
/// let server = Server::new(Shout.into_protocol()).bind("127.0.0.1:0")?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait App: Sized {
    /// The decorator stack around the app, e.g. `WebSocket<Self>`; several workers can
    /// serve it.
    type Protocol: Split<Worker: Protocol<ConnState: Send>>;
    /// The name printed at start-up.
    const NAME: &'static str;
    /// The address served unless `--bind` or `RATCHET_BIND` says otherwise.
    const DEFAULT_BIND: &'static str;
    /// The URL scheme printed at start-up (`ws`, `tcp`).
    const SCHEME: &'static str;
    /// The socket's path (`"/chat"`), printed at start-up.
    const PATH: &'static str = "/";
    /// Whether a page (a static folder) is served at `/` beside the socket.
    const PAGE: bool = false;
    /// The Redis that bridges topics across processes (`RATCHET_REDIS_URL` overrides it).
    const REDIS: Option<&'static str> = None;
    /// The topics that keep a [history](crate::history), as `(pattern, messages kept,
    /// milliseconds kept)`.
    const HISTORY: &'static [(&'static str, usize, u64)] = &[];
    /// The protocols served after the first, each on a listener of its own, as `(name,
    /// default address, URL scheme)`: `("line", "127.0.0.1:2323", "tcp")` is bound at
    /// `--line-bind ADDR` or `RATCHET_LINE_BIND`.
    const MORE: &'static [(&'static str, &'static str, &'static str)] = &[];
    /// The certificate chain and key served over TLS (`tls_cert`, `tls_key`), PEM files
    /// read at start; `RATCHET_TLS_CERT` and `RATCHET_TLS_KEY` override them, and turn
    /// TLS on for an app that names none.
    const TLS: Option<(&'static str, &'static str)> = None;
    /// Whether the app, served in plain text, makes `wss://` connections
    /// (`outbound_tls`): it is served through [`Tls::outbound`](crate::tls::Tls::outbound).
    const OUTBOUND_TLS: bool = false;
    /// How many workers serve the connections (`workers`; 0 for one per core);
    /// `RATCHET_WORKERS` overrides it. See [`Server::workers`].
    const WORKERS: usize = 1;
    /// Whether each worker gets a listening socket of its own (`reuse_port`);
    /// `RATCHET_REUSE_PORT` overrides it. See [`Server::reuse_port`].
    const REUSE_PORT: bool = false;

    /// Wraps the app in its decorators.
    fn into_protocol(self) -> Self::Protocol;

    /// The server for the app, with a listener at each of `more` (one per entry of
    /// [`MORE`](App::MORE)) for the protocols after the first. Default: the server of
    /// [`into_protocol`](App::into_protocol), which serves one.
    fn into_server(self, more: &[String]) -> std::io::Result<Server<Self::Protocol>> {
        let _ = more;
        Ok(Server::new(self.into_protocol()))
    }
}

/// The generated `main`: raises the open-files limit (a server wants many connections),
/// builds the app with `Default` and [`serve`]s it.
#[cfg(feature = "main")]
pub fn main<A: App + Default>() -> ExitCode {
    if let Err(e) = crate::server::raise_open_files_limit() {
        eprintln!("{}: cannot raise the open-files limit: {e}", A::NAME);
    }
    let mut listeners = vec![("", A::DEFAULT_BIND)];
    listeners.extend(A::MORE.iter().map(|&(name, bind, _)| (name, bind)));
    let binds = crate::cli::bind_addresses(&listeners);
    let server = match A::default().into_server(&binds[1..]) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("cannot listen on {}: {e}", binds[1..].join(", "));
            return ExitCode::FAILURE;
        }
    };
    let server = match A::HISTORY {
        [] => server,
        rules => server.history(history(rules)),
    };
    #[cfg(feature = "redis")]
    let server = match A::REDIS {
        Some(url) => server.bridge(crate::cluster::RedisBridge::new(redis_url(url))),
        None => server,
    };
    #[cfg(not(feature = "redis"))]
    if let Some(url) = A::REDIS {
        eprintln!(
            "{}: `redis = {url:?}` needs ratchet's `redis` feature",
            A::NAME
        );
        return ExitCode::FAILURE;
    }
    let tls = match tls_files(A::TLS) {
        Ok(tls) => tls,
        Err(problem) => {
            eprintln!("{}: {problem}", A::NAME);
            return ExitCode::FAILURE;
        }
    };
    let workers = match workers(A::WORKERS) {
        Ok(workers) => workers,
        Err(problem) => {
            eprintln!("{}: {problem}", A::NAME);
            return ExitCode::FAILURE;
        }
    };
    let server = match reuse_port(A::REUSE_PORT) {
        Ok(on) => server.reuse_port(on),
        Err(problem) => {
            eprintln!("{}: {problem}", A::NAME);
            return ExitCode::FAILURE;
        }
    };
    match tls {
        #[cfg(feature = "tls")]
        None if A::OUTBOUND_TLS => {
            serve_at(server.outbound_tls().workers(workers), &binds[0], |addrs| {
                banner::<A>(addrs, false)
            })
        }
        #[cfg(not(feature = "tls"))]
        None if A::OUTBOUND_TLS => {
            eprintln!("{}: `outbound_tls` needs ratchet's `tls` feature", A::NAME);
            ExitCode::FAILURE
        }
        None => serve_at(server.workers(workers), &binds[0], |addrs| {
            banner::<A>(addrs, false)
        }),
        #[cfg(feature = "tls")]
        Some((cert, key)) => match crate::tls::TlsCertificates::from_pem_files(&cert, &key) {
            Ok(certs) => serve_at(server.tls(certs).workers(workers), &binds[0], |addrs| {
                banner::<A>(addrs, true)
            }),
            Err(e) => {
                eprintln!("{}: cannot serve TLS: {e}", A::NAME);
                ExitCode::FAILURE
            }
        },
        #[cfg(not(feature = "tls"))]
        Some(_) => {
            eprintln!("{}: TLS needs ratchet's `tls` feature", A::NAME);
            ExitCode::FAILURE
        }
    }
}

/// The workers of a generated `main`: `RATCHET_WORKERS` if set (a number, or `auto`),
/// else `named` (the `workers` of the attribute); 0 and `auto` are one per core.
pub fn workers(named: usize) -> Result<usize, String> {
    let wanted = match std::env::var("RATCHET_WORKERS")
        .ok()
        .filter(|v| !v.is_empty())
    {
        None => named,
        Some(v) if v == "auto" => 0,
        Some(v) => match v.parse() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(format!(
                    "RATCHET_WORKERS={v:?}: a number of workers, or \"auto\""
                ))
            }
        },
    };
    Ok(match wanted {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    })
}

/// Whether a generated `main`'s workers each get a listening socket:
/// `RATCHET_REUSE_PORT` if set (`1`/`true` or `0`/`false`), else `named` (the
/// `reuse_port` of the attribute).
pub fn reuse_port(named: bool) -> Result<bool, String> {
    match std::env::var("RATCHET_REUSE_PORT")
        .ok()
        .filter(|v| !v.is_empty())
    {
        None => Ok(named),
        Some(v) => match v.as_str() {
            "1" | "true" => Ok(true),
            "0" | "false" => Ok(false),
            _ => Err(format!("RATCHET_REUSE_PORT={v:?}: 1 or 0")),
        },
    }
}

/// The TLS files of a generated `main`: `RATCHET_TLS_CERT` and `RATCHET_TLS_KEY` if set,
/// else `named` (the `tls_cert` and `tls_key` of the attribute); an error if only one of
/// the two is set.
pub fn tls_files(named: Option<(&str, &str)>) -> Result<Option<(String, String)>, String> {
    let env = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
    match (env("RATCHET_TLS_CERT"), env("RATCHET_TLS_KEY")) {
        (Some(cert), Some(key)) => Ok(Some((cert, key))),
        (Some(_), None) => Err("RATCHET_TLS_CERT is set without RATCHET_TLS_KEY".into()),
        (None, Some(_)) => Err("RATCHET_TLS_KEY is set without RATCHET_TLS_CERT".into()),
        (None, None) => Ok(named.map(|(cert, key)| (cert.to_owned(), key.to_owned()))),
    }
}

/// What a generated `main` prints at start: every listener, with its scheme (`wss`,
/// `https`, `tls` over TLS).
#[cfg(feature = "main")]
fn banner<A: App>(addrs: &[SocketAddr], secure: bool) -> String {
    let scheme = |plain: &'static str| match (secure, plain) {
        (false, s) => s,
        (true, "ws") => "wss",
        (true, "http") => "https",
        (true, _) => "tls",
    };
    let addr = addrs[0];
    let page = if A::PAGE {
        format!(", page at {}://{addr}/", scheme("http"))
    } else {
        String::new()
    };
    let mut banner = format!(
        "{} listening on {}://{addr}{}{page}",
        A::NAME,
        scheme(A::SCHEME),
        A::PATH
    );
    for (&(name, _, plain), addr) in A::MORE.iter().zip(&addrs[1..]) {
        banner.push_str(&format!(
            "\n{} {name} on {}://{addr}",
            A::NAME,
            scheme(plain)
        ));
    }
    banner
}

/// Serves `server` the way a generated `main` does: installs a logger (`RUST_LOG`, default
/// `warn`), reads `--bind ADDR` / `RATCHET_BIND` (else `default_bind`), prints
/// `banner(address)`, and returns success once shut down by Ctrl-C or SIGTERM.
#[cfg(feature = "main")]
pub fn serve<P: Protocol>(
    server: Server<P>,
    default_bind: &str,
    banner: impl FnOnce(SocketAddr) -> String,
) -> ExitCode {
    let addr = crate::cli::bind_address(default_bind);
    serve_at(server, &addr, |addrs| banner(addrs[0]))
}

/// Serves `server` with its first listener at `addr`, as [`serve`] does; `banner` gets
/// the address of every listener.
#[cfg(feature = "main")]
///
/// Sockets passed by systemd's socket activation (`LISTEN_FDS`, `LISTEN_PID`) are served
/// instead of binding addresses: a unit's `.socket` binds port 80 or 443, and the program
/// never runs as root. They are the first listeners, in order; listeners beyond them are
/// bound by address. On SIGUSR2 the server starts its successor on the same sockets and
/// shuts down once the successor serves.
pub fn serve_at<P: Protocol>(
    server: Server<P>,
    addr: &str,
    banner: impl FnOnce(&[SocketAddr]) -> String,
) -> ExitCode {
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .try_init();
    let inherited = match inherited_listeners() {
        Ok(inherited) => inherited,
        Err(e) => {
            eprintln!("cannot use the sockets passed to this process: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listening = if inherited.is_empty() {
        server.bind(addr)
    } else {
        server.from_listeners(inherited)
    };
    let server = match listening.and_then(|s| s.shutdown_on_signals()) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", banner(server.local_addrs()));
    crate::server::announce_ready();
    match server.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// The TCP sockets passed by systemd's socket activation, or by the process this one
/// replaces: the first listeners, in order.
#[cfg(feature = "main")]
fn inherited_listeners() -> std::io::Result<Vec<std::net::TcpListener>> {
    let mut fds = listenfd::ListenFd::from_env();
    (0..fds.len())
        .map_while(|i| fds.take_tcp_listener(i).transpose())
        .collect()
}

/// The [`History`](crate::history::History) of a generated `main`'s `history` rules.
pub fn history(rules: &[(&str, usize, u64)]) -> crate::history::History {
    rules
        .iter()
        .fold(crate::history::History::new(), |h, &(pattern, len, ms)| {
            h.keep(pattern, len, std::time::Duration::from_millis(ms))
        })
}

/// The Redis of a generated `main`: `RATCHET_REDIS_URL` if set, else `url` (the `redis`
/// key of the attribute).
pub fn redis_url(url: &str) -> String {
    std::env::var("RATCHET_REDIS_URL").unwrap_or_else(|_| url.to_owned())
}

/// The static folder of a generated `main`: `RATCHET_STATIC_DIR` if set, else `dir` (the
/// `static_dir` of the attribute, resolved at compile time).
pub fn static_dir(dir: &str) -> PathBuf {
    std::env::var_os("RATCHET_STATIC_DIR").map_or_else(|| PathBuf::from(dir), PathBuf::from)
}

/// A type a handler may take its message as: `&str`, `String`, `&[u8]`, `Vec<u8>`,
/// [`Message`], [`Payload`] or (with the `json` feature) [`Json<T>`](crate::Json).
///
/// Text types refuse binary messages that are not UTF-8 (the connection is closed with
/// 1003, "unsupported data"); a message a type cannot parse goes to `on_error` as
/// [`Error::BadMessage`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a message type a handler can take",
    label = "unsupported message type",
    note = "take the message as `&str`, `String`, `&[u8]`, `Vec<u8>`, `Message`, `Payload` or `Json<T>`"
)]
pub trait FromMessage<'a>: Sized {
    /// The message as this type, or why it cannot be.
    fn from_message(msg: Message<'a>) -> Result<Self, Unfit>;
}

/// Why a message does not fit the type a handler takes it as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unfit {
    /// Binary that is not UTF-8, for a text type: the connection is closed with 1003.
    NotText,
    /// The message does not parse as the type: `on_error` hears
    /// [`Error::BadMessage`] with this reason; the connection stays open.
    Bad(String),
}

/// What happens to a message that does not fit: 1003 for binary sent to text, else the
/// error `on_error` gets.
pub fn unfit(conn: &Conn, unfit: Unfit) -> Result<Commands, Error> {
    match unfit {
        Unfit::NotText => Ok(unsupported(conn)),
        Unfit::Bad(reason) => Err(Error::BadMessage(reason)),
    }
}

impl<'a> FromMessage<'a> for &'a str {
    fn from_message(msg: Message<'a>) -> Result<Self, Unfit> {
        match msg {
            Message::Text(text) => Ok(text),
            Message::Binary(bytes) => std::str::from_utf8(bytes).map_err(|_| Unfit::NotText),
        }
    }
}

impl<'a> FromMessage<'a> for String {
    fn from_message(msg: Message<'a>) -> Result<Self, Unfit> {
        <&str>::from_message(msg).map(str::to_owned)
    }
}

impl<'a> FromMessage<'a> for &'a [u8] {
    fn from_message(msg: Message<'a>) -> Result<Self, Unfit> {
        Ok(msg.as_bytes())
    }
}

impl<'a> FromMessage<'a> for Vec<u8> {
    fn from_message(msg: Message<'a>) -> Result<Self, Unfit> {
        Ok(msg.as_bytes().to_vec())
    }
}

impl<'a> FromMessage<'a> for Message<'a> {
    fn from_message(msg: Message<'a>) -> Result<Self, Unfit> {
        Ok(msg)
    }
}

impl<'a> FromMessage<'a> for Payload {
    fn from_message(msg: Message<'a>) -> Result<Self, Unfit> {
        Ok(msg.to_payload())
    }
}

/// What a handler may return: `()`, a [`Command`](crate::Command), [`Commands`],
/// `Option<_>` or `Vec<_>` of these, or `Result<_, E>` whose `Err` goes to `on_error`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a type a handler can return",
    label = "unsupported return type",
    note = "return nothing, a `Command`, `Commands`, an `Option` or `Vec` of them, a pair or triple of them, or a `Result<_, E>` of them"
)]
pub trait HandlerOutput {
    /// The commands, or the error for `on_error`.
    fn into_outcome(self) -> Result<Commands, Error>;
}

impl<T: IntoCommands> HandlerOutput for T {
    fn into_outcome(self) -> Result<Commands, Error> {
        Ok(self.into_commands())
    }
}

impl<T, E> HandlerOutput for Result<T, E>
where
    T: IntoCommands,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn into_outcome(self) -> Result<Commands, Error> {
        self.map(IntoCommands::into_commands)
            .map_err(|e| Error::App(e.into()))
    }
}

/// What the door (`on_request`) may return: `()` (come in), `Result<(), Refuse>`,
/// [`Refuse`](crate::Refuse) or [`Door`](crate::Door).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an answer the door can give",
    label = "unsupported return type",
    note = "return nothing (everyone comes in), `Result<(), Refuse>`, a `Refuse` or a `Door`"
)]
pub trait IntoDoor {
    /// The answer.
    fn into_door(self) -> crate::Door;
}

impl IntoDoor for () {
    fn into_door(self) -> crate::Door {
        crate::Door::Open
    }
}

impl IntoDoor for crate::Door {
    fn into_door(self) -> crate::Door {
        self
    }
}

impl IntoDoor for crate::Refuse {
    fn into_door(self) -> crate::Door {
        self.into()
    }
}

impl IntoDoor for Result<(), crate::Refuse> {
    fn into_door(self) -> crate::Door {
        self.into()
    }
}

/// A handler's output as commands; an `Err` is handed to the component's `on_error`.
pub fn finish<C: Component + ?Sized>(
    app: &mut C,
    conn: &Conn,
    out: impl HandlerOutput,
) -> Commands {
    match out.into_outcome() {
        Ok(cmds) => cmds,
        Err(err) => app.on_error(conn, err).into_commands(),
    }
}

/// The output of a handler whose errors have nowhere further to go (`on_error`,
/// `on_timer`, `on_start`) as commands; an `Err` from it is logged.
pub fn finish_logged(handler: &str, out: impl HandlerOutput) -> Commands {
    out.into_outcome().unwrap_or_else(|err| {
        log::error!("{handler} failed: {err}");
        Commands::none()
    })
}

/// What happens to an error when the application has no `on_error`: it is logged.
pub fn unhandled_error(conn: &Conn, err: Error) -> Commands {
    log::warn!("connection {}: {err}", conn.id());
    Commands::none()
}

/// The answer to a message the handler's type cannot take (binary that is not UTF-8, for
/// a text handler): close with 1003.
pub fn unsupported(conn: &Conn) -> Commands {
    conn.close_with(CloseCode::Unsupported, "binary messages are not accepted")
        .into()
}
