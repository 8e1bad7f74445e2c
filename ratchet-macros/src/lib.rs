//! The attributes behind ratchet's DSL. Use them through the `ratchet` crate:
//! `#[ratchet::app(...)]` on a struct, `#[ratchet::handlers]` on its `impl` block.
//!
//! Each attribute goes parse → validate → expand, one module each. Errors never panic:
//! they are `syn::Error`s spanned on the user's token, emitted beside the user's item
//! unchanged so that editors keep working.

mod expand;
mod parse;
mod validate;

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::ToTokens;

/// Serves the annotated struct: `#[ratchet::app(protocol = "websocket", bind = "127.0.0.1:8080")]`.
///
/// Generates the decorator stack around the struct (`ratchet::app::App`) and, unless
/// `main = false`, a `fn main` that builds it with `Default` and serves it. The handlers
/// come from `#[ratchet::handlers]` on its `impl` block.
///
/// Keys, all optional:
///
/// | key | takes | example | what it does |
/// |---|---|---|---|
/// | `protocol` | a protocol's name, or a list | `protocol = ["websocket", "line"]` | `"websocket"` (default: every WebSocket version), `"line"` (newline-delimited TCP), or both: one app, each protocol on its own listener |
/// | `bind` | an address, or one per protocol | `bind = "127.0.0.1:8080"` | the default address (`127.0.0.1:8080`; a second protocol's: `127.0.0.1:2323`); `--bind ADDR` / `RATCHET_BIND` override the first, `--line-bind ADDR` / `RATCHET_LINE_BIND` the line one |
/// | `main` | a bool | `main = false` | whether to generate `fn main` (default `true`) |
/// | `tls_cert` | a PEM file | `tls_cert = "/etc/chat/cert.pem"` | serves every listener over TLS (`wss://`, `https://`) with this certificate chain (read at start, relative to the working folder; `RATCHET_TLS_CERT` overrides it); needs `tls_key` |
/// | `tls_key` | a PEM file | `tls_key = "/etc/chat/key.pem"` | the private key of `tls_cert` (`RATCHET_TLS_KEY` overrides it). Any generated `main` serves TLS when both variables are set, whether or not the app names files |
/// | `outbound_tls` | a bool | `outbound_tls = true` | TLS for the `wss://` connections the app makes with `Command::connect` while it serves plain text (`tls::Tls::outbound`; an app that serves TLS has it anyway; default `false`) |
/// | `rate` | a rate per connection | `rate = "10/s"` | at most 10 messages a second from each connection (`"30/min"` too); one over it is dropped and `on_error` hears `Error::RateLimited`, or with `"10/s, close"` the connection is closed with 1008 |
/// | `conn_state` | a type | `conn_state = Player` | the state each connection carries; handlers take it as `me: &mut Player` (checked to agree) |
/// | `deflate` | a bool | `deflate = true` | permessage-deflate (WebSocket only; default `false`) |
/// | `path` | a path | `path = "/chat"` | the socket's path, behind a router that answers `404` elsewhere |
/// | `static_dir` | a folder | `static_dir = "public"` | serves the folder at `/` beside the socket (needs `path`); `RATCHET_STATIC_DIR` overrides it |
/// | `metrics` | a path | `metrics = "/metrics"` | serves the server's metrics there in the Prometheus text format, to loopback peers only (`ratchet::metrics::Metrics`; needs `path`) |
/// | `origins` | a list of origins | `origins = ["https://chat.example"]` | refuses handshakes from other origins with `403` |
/// | `subprotocols` | a list of names | `subprotocols = ["v2", "v1"]` | the subprotocols spoken, the client's first offer among them chosen |
/// | `blacklist` | a list of IP addresses | `blacklist = ["192.0.2.7"]` | drops connections from these addresses |
/// | `redis` | a Redis URL (a cluster: any of its nodes, or several, comma-separated) | `redis = "redis://127.0.0.1:6379/"` | bridges topics across processes; `RATCHET_REDIS_URL` overrides it |
/// | `history` | topic patterns with the messages kept and for how long | `history = [("chat*", 100, "5m")]` | keeps those topics' last messages (in Redis with `redis`, else in memory) for clients that come back to recover what they missed (`ratchet::history`) |
/// | `workers` | a number of worker threads, or "auto" (one per core) | `workers = 4` | serves the connections from that many threads, the app staying one instance (`Server::workers`); `RATCHET_WORKERS` overrides it; default 1 |
/// | `reuse_port` | a bool | `reuse_port = true` | a listening socket per worker rather than one they share: cheaper under connection storms, at a cost on restarts (`Server::reuse_port`); `RATCHET_REUSE_PORT` (`1` or `0`) overrides it; default `false` |
/// | `session` | a session format | `session = "php"` | loads the web application's session by cookie from `redis` (`"php"`, `"php_serialize"`, `"json"`) |
///
/// A served struct implements `Default`. Mistakes are compile errors on the offending
/// token.
///
/// ```text
/// #[ratchet::app(protocol = "websocket", path = "/chat", static_dir = "public")]
/// #[derive(Default)]
/// struct Chat {
///     clients: ratchet::ConnSet,
/// }
/// ```
#[proc_macro_attribute]
pub fn app(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut item2 = TokenStream2::from(item.clone());
    let args = syn::parse::<parse::AppArgs>(args);
    if args.as_ref().map_or(true, parse::AppArgs::wants_main) {
        // Emitted only beside errors, so they are not followed by "`main` not found".
        item2.extend(quote::quote!(
            fn main() {}
        ));
    }
    let result = args
        .and_then(|args| Ok((args, syn::parse::<syn::Item>(item)?)))
        .and_then(|(args, item)| validate::app(args, item))
        .map(|model| expand::app(&model));
    finish("app", item2, result)
}

/// Implements `ratchet::Component` from the handler methods of an `impl` block, each
/// optional:
///
/// | handler | runs |
/// |---|---|
/// | `fn on_start(&mut self, handle: &Handle)` | once, before serving; start timers here (return `Command::every(..)`), keep a `Handle` clone |
/// | `fn on_request(&mut self, conn: &Conn) -> Result<(), Refuse>` | the door: before a connection opens, with its request and peer; `Err` refuses it with a status |
/// | `fn on_open(&mut self, conn: &Conn)` | a connection opened |
/// | `fn on_message(&mut self, from: &Conn, msg: &str)` | a message arrived |
/// | `fn on_close(&mut self, conn: &Conn)` | a connection ended |
/// | `fn on_error(&mut self, conn: &Conn, err: Error)` | something went wrong on a connection |
/// | `fn on_timer(&mut self, key: u64)` | a timer fired |
///
/// Messages may be taken as `&str`, `String`, `&[u8]`, `Vec<u8>`, `Message`, `Payload`
/// or `Json<T>` (any `serde::Deserialize`; a message that does not parse goes to
/// `on_error` as `Error::BadMessage`). Handlers may return nothing, a `Command`,
/// `Commands`, `Option<_>`, `Vec<_>`, or `Result<_, E>` whose `Err` goes to `on_error`;
/// the door returns nothing, `Result<(), Refuse>` or a `Door`.
///
/// **Per-connection state**: a handler about a connection may take its state right after
/// it, `me: &mut Player` (in `on_close`, `me: Player` keeps it). The server keeps one
/// `Player` per connection, made with `Default` (the door may fill it in) and dropped
/// with it; the block then implements `ratchet::StatefulComponent` with `State = Player`.
///
/// ```text
/// #[ratchet::handlers]
/// impl Poll {
///     fn on_request(&mut self, conn: &Conn, me: &mut Voter) -> Result<(), Refuse> { .. }
///     fn on_message(&mut self, from: &Conn, me: &mut Voter, vote: Json<Vote>) -> Commands { .. }
/// }
/// ```
#[proc_macro_attribute]
pub fn handlers(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut item2 = TokenStream2::from(item.clone());
    let args = TokenStream2::from(args);
    let parsed = syn::parse::<syn::ItemImpl>(item);
    if let Ok(item) = &parsed {
        // Emitted only beside errors, so they are not followed by "not a component" ones.
        item2.extend(expand::fallback_component(item));
    }
    let result = parsed
        .and_then(|item| validate::handlers(args, item))
        .map(|model| expand::handlers(&model));
    finish("handlers", item2, result)
}

/// The expansion, or the user's item untouched plus the errors.
fn finish(which: &str, item: TokenStream2, result: syn::Result<TokenStream2>) -> TokenStream {
    let tokens = match result {
        Ok(tokens) => tokens,
        Err(errors) => {
            let mut tokens = item;
            errors.to_compile_error().to_tokens(&mut tokens);
            tokens
        }
    };
    if std::env::var("RATCHET_MACRO_DEBUG").is_ok_and(|v| !v.is_empty() && v != "0") {
        #[cfg(feature = "pretty")]
        let pretty = syn::parse2::<syn::File>(tokens.clone())
            .map(|file| prettyplease::unparse(&file))
            .unwrap_or_else(|_| tokens.to_string());
        #[cfg(not(feature = "pretty"))]
        let pretty = tokens.to_string();
        eprintln!("// ---- #[ratchet::{which}] expands to:\n{pretty}");
    }
    tokens.into()
}

#[cfg(test)]
mod tests {
    /// The attribute's docs list every key the validator takes, as the table has it.
    #[test]
    fn the_docs_list_every_key() {
        let docs = include_str!("lib.rs");
        for key in crate::validate::KEYS {
            let row = format!("/// | `{}` | {} | `{}` |", key.name, key.takes, key.example);
            assert!(
                docs.contains(&row),
                "the docs of #[ratchet::app] lack: {row}"
            );
        }
        let rows = docs.lines().filter(|l| l.starts_with("/// | `")).count();
        assert_eq!(
            rows,
            crate::validate::KEYS.len() + 7,
            "a row per key and per handler"
        );
    }

    /// The handlers' docs list every handler.
    #[test]
    fn the_docs_list_every_handler() {
        let docs = include_str!("lib.rs");
        for kind in crate::validate::HandlerKind::ALL {
            let row = format!("/// | `fn {}(", kind.name());
            assert!(
                docs.contains(&row),
                "the docs of #[ratchet::handlers] lack {}",
                kind.name()
            );
        }
    }
}
