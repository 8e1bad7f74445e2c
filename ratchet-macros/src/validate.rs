//! Validation: turns parsed input into a typed model, or into errors spanned on the
//! offending token that say what would be valid.

use crate::parse::{AppArgs, Entry};
use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned;
use syn::{
    Expr, ExprLit, FnArg, ImplItem, ImplItemFn, Item, ItemImpl, ItemStruct, Lit, ReturnType, Type,
};

/// A protocol the struct attribute can serve.
pub struct ProtocolChoice {
    /// The name users write: `protocol = "websocket"`.
    pub name: &'static str,
    /// The decorator type in `ratchet` that wraps the app.
    pub decorator: &'static str,
    /// The URL scheme printed at start-up.
    pub scheme: &'static str,
    /// Whether it is served over HTTP, so that the keys `deflate`, `path`, `static_dir`,
    /// `origins` and `subprotocols` apply.
    pub http: bool,
}

/// Every protocol the DSL knows; a new one is a line here and a decorator in `ratchet`.
pub const PROTOCOLS: &[ProtocolChoice] = &[
    ProtocolChoice {
        name: "websocket",
        decorator: "WebSocket",
        scheme: "ws",
        http: true,
    },
    ProtocolChoice {
        name: "line",
        decorator: "Line",
        scheme: "tcp",
        http: false,
    },
];

const KEYS: &[&str] = &[
    "protocol",
    "bind",
    "main",
    "deflate",
    "path",
    "static_dir",
    "origins",
    "subprotocols",
    "blacklist",
    "redis",
    "session",
];
/// The keys that only an HTTP-based protocol takes.
const HTTP_KEYS: &[&str] = &[
    "deflate",
    "path",
    "static_dir",
    "origins",
    "subprotocols",
    "session",
];
/// The values `session` takes.
const SESSION_FORMATS: &[(&str, &str)] = &[
    ("php", "Php"),
    ("php_serialize", "PhpSerialize"),
    ("json", "Json"),
];
const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// `#[ratchet::app]`, validated.
pub struct AppModel {
    pub item: ItemStruct,
    pub protocol: &'static ProtocolChoice,
    pub bind: String,
    pub main: bool,
    /// permessage-deflate on.
    pub deflate: bool,
    /// The socket's path, behind a router.
    pub path: Option<String>,
    /// The static folder, resolved to an absolute path, served at `/*`.
    pub static_dir: Option<String>,
    /// Allowed origins (an `OriginCheck` around the socket).
    pub origins: Vec<String>,
    /// Subprotocols the app speaks.
    pub subprotocols: Vec<String>,
    /// Blacklisted addresses (an `IpBlacklist` around everything).
    pub blacklist: Vec<String>,
    /// The Redis URL: topics bridged across processes.
    pub redis: Option<String>,
    /// The session format's variant name in `ratchet::session::Format`.
    pub session: Option<&'static str>,
}

/// Gathers errors so that one expansion reports all of them.
#[derive(Default)]
struct Errors(Option<syn::Error>, usize);

impl Errors {
    fn push(&mut self, err: syn::Error) {
        self.1 += 1;
        match &mut self.0 {
            Some(all) => all.combine(err),
            None => self.0 = Some(err),
        }
    }

    fn at(&mut self, span: impl Spanned, msg: impl std::fmt::Display) {
        self.push(syn::Error::new(span.span(), msg));
    }

    /// An error covering all of `tokens` (a type, a receiver), not only their first.
    fn on(&mut self, tokens: impl quote::ToTokens, msg: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, msg));
    }

    fn finish<T>(self, ok: T) -> syn::Result<T> {
        self.0.map_or(Ok(ok), Err)
    }
}

/// The closest of `options` to `word`, if close enough to be a likely typo.
fn suggest<'a>(word: &str, options: &[&'a str]) -> Option<&'a str> {
    options
        .iter()
        .map(|o| (strsim::levenshtein(word, o), *o))
        .filter(|(d, o)| *d <= 2 || o.starts_with(word) || word.starts_with(o))
        .min_by_key(|(d, _)| *d)
        .map(|(_, o)| o)
}

fn list(options: &[&str]) -> String {
    options
        .iter()
        .map(|o| format!("`{o}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn string_value(value: &Expr) -> Option<(String, Span)> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some((s.value(), s.span())),
        _ => None,
    }
}

/// `["a", "b"]`: each string with its span, or `None` if the value is not a list of
/// string literals.
fn string_list(value: &Expr) -> Option<Vec<(String, Span)>> {
    match value {
        Expr::Array(array) => array.elems.iter().map(string_value).collect(),
        _ => None,
    }
}

/// Why `path` cannot be the socket's path, if it cannot.
fn path_problem(path: &str) -> Option<&'static str> {
    if !path.starts_with('/') {
        Some("a path must start with `/`")
    } else if path.contains(['*', '?', '#']) || path.contains(char::is_whitespace) {
        Some("a path is a plain path, without `*`, `?`, `#` or spaces")
    } else {
        None
    }
}

/// Why `origin` cannot be on the allow-list, if it cannot: an origin is
/// `scheme://host[:port]`, or a bare host.
fn origin_problem(origin: &str) -> Option<&'static str> {
    let host_port = match origin.split_once("://") {
        Some((scheme, rest))
            if !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            rest
        }
        Some(_) => {
            return Some("an origin is `scheme://host[:port]`, e.g. \"https://chat.example\"")
        }
        None => origin,
    };
    let host = match host_port.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || host.starts_with('[') => {
            if port.parse::<u16>().is_err() {
                return Some("the port of an origin is a number");
            }
            host
        }
        _ => host_port,
    };
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.[]:".contains(c));
    (!valid)
        .then_some("an origin has no path, query or spaces: `scheme://host[:port]` or a bare host")
}

/// Whether `name` is a valid subprotocol: an HTTP token (RFC 9110 §5.6.2).
fn valid_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

/// `dir` as an absolute path, if it is a folder: relative paths start at the crate's
/// folder (where Cargo.toml is), so that `cargo run` finds it from anywhere.
fn resolve_dir(dir: &str) -> Option<String> {
    let path = std::path::Path::new(dir);
    let full = match std::env::var_os("CARGO_MANIFEST_DIR") {
        Some(base) if path.is_relative() => std::path::Path::new(&base).join(path),
        _ => path.to_path_buf(),
    };
    full.is_dir().then(|| full.to_string_lossy().into_owned())
}

/// Whether `addr` can be bound: `ip:port`, `[v6]:port` or `host:port`.
fn valid_bind(addr: &str) -> bool {
    if addr.parse::<std::net::SocketAddr>().is_ok() {
        return true;
    }
    match addr.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty()
                && port.parse::<u16>().is_ok()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        }
        None => false,
    }
}

pub fn app(args: AppArgs, item: Item) -> syn::Result<AppModel> {
    let mut errors = Errors::default();
    let item = match item {
        Item::Struct(item) => Some(item),
        Item::Enum(e) => {
            errors.at(
                e.enum_token,
                "#[ratchet::app] goes on a struct, not an enum",
            );
            None
        }
        Item::Union(u) => {
            errors.at(
                u.union_token,
                "#[ratchet::app] goes on a struct, not a union",
            );
            None
        }
        other => {
            errors.at(other, "#[ratchet::app] goes on a struct");
            None
        }
    };

    let mut protocol = &PROTOCOLS[0];
    let mut bind = DEFAULT_BIND.to_owned();
    let mut main = true;
    let mut deflate: Option<(bool, Span)> = None;
    let mut path: Option<(String, Span)> = None;
    let mut static_dir: Option<(String, Span)> = None;
    let (mut origins, mut subprotocols, mut blacklist) = (Vec::new(), Vec::new(), Vec::new());
    let mut redis: Option<String> = None;
    let mut session: Option<(&'static str, Span)> = None;
    let mut http_keys: Vec<&syn::Ident> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for Entry { key, value } in &args.entries {
        let name = key.to_string();
        if seen.contains(&name) {
            errors.at(key, format!("duplicate key `{name}`"));
            continue;
        }
        seen.push(name.clone());
        if HTTP_KEYS.contains(&name.as_str()) && name != "deflate" {
            http_keys.push(key);
        }
        match name.as_str() {
            "protocol" => match string_value(value) {
                Some((text, span)) => match PROTOCOLS.iter().find(|p| p.name == text) {
                    Some(found) => protocol = found,
                    None => {
                        let names: Vec<&str> = PROTOCOLS.iter().map(|p| p.name).collect();
                        let hint = suggest(&text, &names).map(|s| format!("did you mean \"{s}\"? ")).unwrap_or_default();
                        let valid = names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ");
                        errors.at(span, format!("unknown protocol \"{text}\"; {hint}valid protocols: {valid}"));
                    }
                },
                None => errors.at(value, "`protocol` takes a string, e.g. `protocol = \"websocket\"`"),
            },
            "bind" => match string_value(value) {
                Some((text, _)) if valid_bind(&text) => bind = text,
                Some((text, span)) => errors.at(
                    span,
                    format!("cannot bind to \"{text}\": expected `host:port`, e.g. \"127.0.0.1:8080\" or \"[::1]:8080\""),
                ),
                None => errors.at(value, "`bind` takes a string, e.g. `bind = \"127.0.0.1:8080\"`"),
            },
            "main" => match value {
                Expr::Lit(ExprLit {
                    lit: Lit::Bool(b), ..
                }) => main = b.value,
                _ => errors.at(value, "`main` takes `true` or `false`"),
            },
            "deflate" => match value {
                Expr::Lit(ExprLit {
                    lit: Lit::Bool(b), ..
                }) => deflate = Some((b.value, b.span())),
                _ => errors.at(value, "`deflate` takes `true` or `false`"),
            },
            "path" => match string_value(value) {
                Some((text, span)) => match path_problem(&text) {
                    Some(problem) => errors.at(span, format!("{problem}: \"{text}\"")),
                    None => path = Some((text, span)),
                },
                None => errors.at(value, "`path` takes a string, e.g. `path = \"/chat\"`"),
            },
            "static_dir" => match string_value(value) {
                Some((text, span)) => match resolve_dir(&text) {
                    Some(full) => static_dir = Some((full, span)),
                    None => errors.at(
                        span,
                        format!("static folder \"{text}\" not found (a relative path starts at the folder of Cargo.toml)"),
                    ),
                },
                None => errors.at(value, "`static_dir` takes a string, e.g. `static_dir = \"public\"`"),
            },
            "origins" => match string_list(value) {
                Some(list) if list.is_empty() => errors.at(value, "an empty `origins` list would refuse every handshake; leave the key out to allow any origin"),
                Some(list) => {
                    for (origin, span) in list {
                        match origin_problem(&origin) {
                            Some(problem) => errors.at(span, format!("{problem}: \"{origin}\"")),
                            None => origins.push(origin),
                        }
                    }
                }
                None => errors.at(value, "`origins` takes a list of strings, e.g. `origins = [\"https://chat.example\", \"localhost\"]`"),
            },
            "subprotocols" => match string_list(value) {
                Some(list) => {
                    for (name, span) in list {
                        if valid_token(&name) {
                            subprotocols.push(name);
                        } else {
                            errors.at(span, format!("\"{name}\" is not a subprotocol name: letters, digits and `!#$%&'*+-.^_`|~` only"));
                        }
                    }
                }
                None => errors.at(value, "`subprotocols` takes a list of strings, e.g. `subprotocols = [\"v2\", \"v1\"]`"),
            },
            "blacklist" => match string_list(value) {
                Some(list) => {
                    for (address, span) in list {
                        match address.parse::<std::net::IpAddr>() {
                            Ok(_) => blacklist.push(address),
                            Err(_) => errors.at(span, format!("\"{address}\" is not an IP address, e.g. \"192.0.2.7\" or \"2001:db8::7\"")),
                        }
                    }
                }
                None => errors.at(value, "`blacklist` takes a list of IP addresses, e.g. `blacklist = [\"192.0.2.7\"]`"),
            },
            "redis" => match string_value(value) {
                Some((url, _)) if ["redis://", "rediss://", "redis+unix://", "unix://"].iter().any(|s| url.starts_with(s)) => redis = Some(url),
                Some((url, span)) => errors.at(span, format!("\"{url}\" is not a Redis URL, e.g. \"redis://127.0.0.1:6379/\"")),
                None => errors.at(value, "`redis` takes a URL string, e.g. `redis = \"redis://127.0.0.1:6379/\"`"),
            },
            "session" => match string_value(value) {
                Some((text, span)) => match SESSION_FORMATS.iter().find(|(name, _)| *name == text) {
                    Some((_, variant)) => session = Some((variant, span)),
                    None => {
                        let names: Vec<&str> = SESSION_FORMATS.iter().map(|(n, _)| *n).collect();
                        let hint = suggest(&text, &names).map(|s| format!("did you mean \"{s}\"? ")).unwrap_or_default();
                        errors.at(span, format!("unknown session format \"{text}\"; {hint}formats: \"php\", \"php_serialize\", \"json\""));
                    }
                },
                None => errors.at(value, "`session` takes a format, e.g. `session = \"php\"`"),
            },
            _ => {
                let hint = suggest(&name, KEYS).map(|s| format!("did you mean `{s}`? ")).unwrap_or_default();
                errors.at(key, format!("unknown key `{name}`; {hint}valid keys: {}", list(KEYS)));
            }
        }
    }

    if let Some(item) = &item {
        if main && !item.generics.params.is_empty() {
            errors.at(
                &item.generics,
                "a served app cannot be generic: `main` would not know which type to serve; use `main = false` and serve it yourself",
            );
        }
    }
    if !protocol.http {
        for key in http_keys {
            errors.at(
                key,
                format!(
                    "`{key}` is for protocol = \"websocket\"; protocol \"{}\" is not served over HTTP",
                    protocol.name
                ),
            );
        }
    }
    if let (Some((_, span)), None) = (&session, &redis) {
        errors.at(
            *span,
            "`session` reads sessions from Redis: add `redis = \"redis://...\"`",
        );
    }
    match (&path, &static_dir) {
        (None, Some((_, span))) => errors.at(
            *span,
            "`static_dir` needs the socket's own `path`, e.g. `path = \"/chat\"`: the folder is served at `/`",
        ),
        (Some((p, span)), Some(_)) if p == "/" => errors.at(
            *span,
            "with `static_dir`, `/` is the folder's: give the socket its own path, e.g. \"/chat\"",
        ),
        _ => {}
    }
    if let Some((true, span)) = deflate {
        if !protocol.http {
            errors.at(
                span,
                format!(
                    "`deflate` is for protocol = \"websocket\"; protocol \"{}\" has no compression",
                    protocol.name
                ),
            );
        }
    }
    let deflate = deflate.is_some_and(|(on, _)| on);
    match item {
        Some(item) => errors.finish(AppModel {
            item,
            protocol,
            bind,
            main,
            deflate,
            path: path.map(|(p, _)| p),
            static_dir: static_dir.map(|(d, _)| d),
            origins,
            subprotocols,
            blacklist,
            redis,
            session: session.map(|(s, _)| s),
        }),
        None => Err(errors
            .0
            .unwrap_or_else(|| syn::Error::new(Span::call_site(), "expected a struct"))),
    }
}

/// The handlers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum HandlerKind {
    Open,
    Message,
    Close,
    Error,
    Timer,
    Start,
}

impl HandlerKind {
    pub const ALL: [HandlerKind; 6] = [
        HandlerKind::Open,
        HandlerKind::Message,
        HandlerKind::Close,
        HandlerKind::Error,
        HandlerKind::Timer,
        HandlerKind::Start,
    ];

    pub fn name(self) -> &'static str {
        match self {
            HandlerKind::Open => "on_open",
            HandlerKind::Message => "on_message",
            HandlerKind::Close => "on_close",
            HandlerKind::Error => "on_error",
            HandlerKind::Timer => "on_timer",
            HandlerKind::Start => "on_start",
        }
    }

    fn signature(self) -> &'static str {
        match self {
            HandlerKind::Open => "fn on_open(&mut self, conn: &Conn)",
            HandlerKind::Message => "fn on_message(&mut self, from: &Conn, msg: &str)",
            HandlerKind::Close => "fn on_close(&mut self, conn: &Conn)",
            HandlerKind::Error => "fn on_error(&mut self, conn: &Conn, err: Error)",
            HandlerKind::Timer => "fn on_timer(&mut self, key: u64)",
            HandlerKind::Start => "fn on_start(&mut self, handle: &Handle)",
        }
    }
}

/// A type written as a path, seen through one `&` or `&mut`: whether it is behind a
/// reference (and a mutable one), and the last segment of its path.
struct Shape {
    reference: Option<Option<syn::token::Mut>>,
    name: Option<String>,
}

/// A type as the user wrote it, for messages: `&String`, `std::string::String`.
fn shown(ty: &Type) -> String {
    quote::quote!(#ty)
        .to_string()
        .replace("& ", "&")
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
}

fn shape(ty: &Type) -> Shape {
    let (reference, inner) = match ty {
        Type::Reference(r) => (Some(r.mutability), &*r.elem),
        other => (None, other),
    };
    let name = match inner {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    };
    Shape { reference, name }
}

/// The handlers' fixed argument types, checked where they are written, so that a wrong
/// one is reported on the user's type with what it should be (and not as a type mismatch
/// on the attribute). Type names are checked as written: `Conn`, `u64`, `Error`, `Handle`,
/// with or without their path.
fn check_argument_types(kind: HandlerKind, args: &[&syn::PatType], errors: &mut Errors) {
    let conn = |ty: &Type, errors: &mut Errors| {
        let shape = shape(ty);
        match (shape.reference, shape.name.as_deref()) {
            (None, _) => errors.on(ty, "take the connection by reference: `&Conn`"),
            (Some(Some(token)), _) => errors.at(
                token,
                "take the connection as `&Conn`: a handler returns commands rather than change it",
            ),
            (Some(None), Some("Conn")) => {}
            (Some(None), _) => errors.on(
                ty,
                format!("the connection is a `&Conn`, not `{}`", shown(ty)),
            ),
        }
    };
    match kind {
        HandlerKind::Open | HandlerKind::Close | HandlerKind::Message => conn(&args[0].ty, errors),
        HandlerKind::Error => {
            conn(&args[0].ty, errors);
            let shape = shape(&args[1].ty);
            if shape.name.as_deref() != Some("Error") || matches!(shape.reference, Some(Some(_))) {
                let ty = &args[1].ty;
                errors.on(
                    ty,
                    format!(
                        "the error is a `ratchet::Error` (or `&Error`), not `{}`",
                        shown(ty)
                    ),
                );
            }
        }
        HandlerKind::Timer => {
            let ty = &args[0].ty;
            let shape = shape(ty);
            if shape.reference.is_some() || shape.name.as_deref() != Some("u64") {
                errors.on(ty, format!("a timer's key is a `u64`, not `{}`", shown(ty)));
            }
        }
        HandlerKind::Start => {
            let ty = &args[0].ty;
            let shape = shape(ty);
            if shape.name.as_deref() != Some("Handle") || matches!(shape.reference, Some(Some(_))) {
                errors.on(
                    ty,
                    format!(
                        "the handle is a `&Handle` (or `Handle`, to keep), not `{}`",
                        shown(ty)
                    ),
                );
            }
        }
    }
}

/// One handler method, validated.
pub struct Handler {
    pub kind: HandlerKind,
    pub ident: syn::Ident,
    /// The message type (`on_message`), error type (`on_error`) or handle type
    /// (`on_start`).
    pub arg: Option<Type>,
    /// The declared return type; `None` for `()`.
    pub output: Option<Type>,
}

/// `#[ratchet::handlers]`, validated.
pub struct HandlersModel {
    pub item: ItemImpl,
    pub handlers: Vec<Handler>,
}

pub fn handlers(args: TokenStream, item: ItemImpl) -> syn::Result<HandlersModel> {
    let mut errors = Errors::default();
    if !args.is_empty() {
        errors.at(&args, "#[ratchet::handlers] takes no arguments; protocol and address go on #[ratchet::app(...)]");
    }
    if let Some((_, path, _)) = &item.trait_ {
        errors.at(
            path,
            "#[ratchet::handlers] goes on an inherent impl (`impl Chat { ... }`), not a trait impl",
        );
    }
    if !item.generics.params.is_empty() {
        errors.at(
            &item.generics,
            "#[ratchet::handlers] does not support generic impls; implement `ratchet::Component` by hand",
        );
    }
    let names: Vec<&str> = HandlerKind::ALL.iter().map(|k| k.name()).collect();
    let mut handlers: Vec<Handler> = Vec::new();
    for impl_item in &item.items {
        let ImplItem::Fn(f) = impl_item else { continue };
        let name = f.sig.ident.to_string();
        let Some(kind) = HandlerKind::ALL.into_iter().find(|k| k.name() == name) else {
            let close = suggest(&name, &names);
            if name.starts_with("on_") || close.is_some() {
                let hint = close
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                errors.at(
                    &f.sig.ident,
                    format!(
                        "unknown handler `{name}`; {hint}handlers are {}",
                        list(&names)
                    ),
                );
            }
            continue;
        };
        if let Some(handler) = handler(kind, f, &mut errors) {
            handlers.push(handler);
        }
    }
    errors.finish(HandlersModel { item, handlers })
}

fn handler(kind: HandlerKind, f: &ImplItemFn, errors: &mut Errors) -> Option<Handler> {
    let sig = &f.sig;
    let name = kind.name();
    let errors_before = errors.1;
    if let Some(token) = &sig.asyncness {
        errors.at(
            token,
            format!("`{name}` cannot be async: handlers run on the event loop and return commands; remove `async`"),
        );
    }
    if let Some(token) = &sig.unsafety {
        errors.at(token, format!("`{name}` cannot be `unsafe`"));
    }
    if !sig.generics.params.is_empty() {
        errors.at(
            &sig.generics,
            format!("`{name}` cannot have generic parameters"),
        );
    }
    let mut inputs = sig.inputs.iter().peekable();
    match inputs.next_if(|arg| matches!(arg, FnArg::Receiver(_))) {
        // `self: Box<Self>`, `self: &mut Self`: a receiver written with its type.
        Some(FnArg::Receiver(r)) if r.colon_token.is_some() => {
            errors.on(r, format!("`{name}` must take `&mut self` or `&self`"))
        }
        Some(FnArg::Receiver(r)) if r.reference.is_none() => errors.at(
            r,
            format!(
                "`{name}` takes `self` by value, which would consume the app; take `&mut self`"
            ),
        ),
        Some(FnArg::Receiver(_)) => {}
        _ => errors.at(
            &sig.ident,
            format!(
                "`{name}` is a handler and must take `&mut self` first: `{}`",
                kind.signature()
            ),
        ),
    }
    let rest: Vec<&syn::PatType> = inputs
        .filter_map(|arg| match arg {
            FnArg::Typed(t) => Some(t),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let wanted = match kind {
        HandlerKind::Open | HandlerKind::Close | HandlerKind::Timer | HandlerKind::Start => 1,
        HandlerKind::Message | HandlerKind::Error => 2,
    };
    if rest.len() != wanted {
        let span = sig.paren_token.span.join();
        let s = if wanted == 1 { "" } else { "s" };
        errors.at(
            span,
            format!(
                "`{name}` takes {wanted} argument{s} after `self`, found {}: `{}`",
                rest.len(),
                kind.signature()
            ),
        );
    } else {
        check_argument_types(kind, &rest, errors);
    }
    if errors.1 > errors_before {
        return None;
    }
    let output = match &sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some((**ty).clone()),
    };
    let arg = match kind {
        HandlerKind::Start => rest.first(),
        _ => rest.get(1),
    };
    Some(Handler {
        kind,
        ident: sig.ident.clone(),
        arg: arg.map(|t| (*t.ty).clone()),
        output,
    })
}
