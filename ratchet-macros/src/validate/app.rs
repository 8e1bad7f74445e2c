//! `#[ratchet::app(...)]`: the protocols and keys it takes, and the model it yields.

use super::keys::{ProtocolChoice, DEFAULT_BIND, KEYS, MAX_WORKERS, PROTOCOLS, SESSION_FORMATS};
use super::values::{origin_problem, path_problem, resolve_dir, valid_bind, valid_token};
use super::{list, string_list, string_value, suggest, Errors};
use crate::parse::{AppArgs, Entry};
use proc_macro2::Span;
use syn::{Expr, ExprLit, Item, ItemStruct, Lit, Type};

/// `#[ratchet::app]`, validated.
pub struct AppModel {
    pub item: ItemStruct,
    /// The protocols served, the first on `bind`, each on a listener of its own.
    pub protocols: Vec<&'static ProtocolChoice>,
    /// The address of each protocol's listener.
    pub binds: Vec<String>,
    pub main: bool,
    /// permessage-deflate on.
    pub deflate: bool,
    /// TLS for the `wss://` connections the app makes.
    pub outbound_tls: bool,
    /// A listening socket per worker (`reuse_port`).
    pub reuse_port: bool,
    /// The socket's path, behind a router.
    pub path: Option<String>,
    /// The static folder, resolved to an absolute path, served at `/*`.
    pub static_dir: Option<String>,
    /// The route of the Prometheus metrics.
    pub metrics: Option<String>,
    /// Allowed origins (an `OriginCheck` around the socket).
    pub origins: Vec<String>,
    /// Subprotocols the app speaks.
    pub subprotocols: Vec<String>,
    /// Blacklisted addresses (an `IpBlacklist` around everything).
    pub blacklist: Vec<String>,
    /// The Redis URL: topics bridged across processes.
    pub redis: Option<String>,
    /// Worker threads; 0 for one per core.
    pub workers: Option<usize>,
    /// The topics that keep a history.
    pub history: Vec<super::HistoryRule>,
    /// The session format's variant name in `ratchet::session::Format`.
    pub session: Option<&'static str>,
    /// The connection state the handlers must agree on.
    pub conn_state: Option<Type>,
    /// Each connection's rate limit.
    pub rate: Option<RateModel>,
    /// The certificate chain and key files served over TLS.
    pub tls: Option<(String, String)>,
}

/// `rate = "10/s"` (or `"30/min"`, with `", close"` to close rather than drop).
pub struct RateModel {
    pub count: u32,
    pub per_minute: bool,
    pub close: bool,
}

fn parse_rate(text: &str) -> Option<RateModel> {
    let (rate, close) = match text.split_once(',') {
        Some((rate, "close")) | Some((rate, " close")) => (rate, true),
        Some(_) => return None,
        None => (text, false),
    };
    let (count, unit) = rate.trim().split_once('/')?;
    let count = count.trim().parse().ok()?;
    let per_minute = match unit.trim() {
        "s" => false,
        "min" => true,
        _ => return None,
    };
    Some(RateModel {
        count,
        per_minute,
        close,
    })
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

    let mut protocols: Vec<&'static ProtocolChoice> = vec![&PROTOCOLS[0]];
    let mut binds: Option<(Vec<String>, &Expr)> = None;
    let mut main = true;
    let mut deflate: Option<(bool, Span)> = None;
    let mut outbound_tls = false;
    let mut reuse_port = false;
    let mut path: Option<(String, Span)> = None;
    let mut static_dir: Option<(String, Span)> = None;
    let mut metrics: Option<(String, Span)> = None;
    let (mut origins, mut subprotocols, mut blacklist) = (Vec::new(), Vec::new(), Vec::new());
    let mut redis: Option<String> = None;
    let mut workers: Option<usize> = None;
    let mut history = Vec::new();
    let mut session: Option<(&'static str, Span)> = None;
    let mut conn_state: Option<Type> = None;
    let mut rate: Option<RateModel> = None;
    let mut tls_cert: Option<(String, Span)> = None;
    let mut tls_key: Option<(String, Span)> = None;
    let mut http_keys: Vec<&syn::Ident> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for Entry { key, value } in &args.entries {
        let name = key.to_string();
        if seen.contains(&name) {
            errors.at(key, format!("duplicate key `{name}`"));
            continue;
        }
        seen.push(name.clone());
        if KEYS.iter().any(|k| k.http && k.name == name) && name != "deflate" {
            http_keys.push(key);
        }
        match name.as_str() {
            "protocol" => match string_value(value).map(|one| vec![one]).or_else(|| string_list(value)) {
                Some(names) if names.is_empty() || names.len() > PROTOCOLS.len() => errors.at(
                    value,
                    format!("`protocol` takes one protocol or a list of up to {}, e.g. `protocol = [\"websocket\", \"line\"]`", PROTOCOLS.len()),
                ),
                Some(names) => {
                    let mut chosen = Vec::new();
                    for (text, span) in names {
                        match PROTOCOLS.iter().find(|p| p.name == text) {
                            Some(found) if chosen.iter().any(|c: &&ProtocolChoice| c.name == found.name) => {
                                errors.at(span, format!("protocol \"{text}\" is listed twice"));
                            }
                            Some(found) => chosen.push(found),
                            None => {
                                let names: Vec<&str> = PROTOCOLS.iter().map(|p| p.name).collect();
                                let hint = suggest(&text, &names).map(|s| format!("did you mean \"{s}\"? ")).unwrap_or_default();
                                let valid = names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ");
                                errors.at(span, format!("unknown protocol \"{text}\"; {hint}valid protocols: {valid}"));
                            }
                        }
                    }
                    if !chosen.is_empty() {
                        protocols = chosen;
                    }
                }
                None => errors.at(value, "`protocol` takes a string, e.g. `protocol = \"websocket\"`, or a list of them"),
            },
            "bind" => match string_value(value).map(|one| vec![one]).or_else(|| string_list(value)) {
                Some(list) if list.is_empty() => errors.at(value, "`bind` takes an address, e.g. `bind = \"127.0.0.1:8080\"`"),
                Some(list) => {
                    let mut all = Vec::new();
                    for (text, span) in list {
                        if valid_bind(&text) {
                            all.push(text);
                        } else {
                            errors.at(
                                span,
                                format!("cannot bind to \"{text}\": expected `host:port`, e.g. \"127.0.0.1:8080\" or \"[::1]:8080\""),
                            );
                        }
                    }
                    binds = Some((all, value));
                }
                None => errors.at(value, "`bind` takes a string, e.g. `bind = \"127.0.0.1:8080\"`, or one per protocol"),
            },
            "main" => match value {
                Expr::Lit(ExprLit {
                    lit: Lit::Bool(b), ..
                }) => main = b.value,
                _ => errors.at(value, "`main` takes `true` or `false`"),
            },
            "outbound_tls" => match value {
                Expr::Lit(ExprLit {
                    lit: Lit::Bool(b), ..
                }) => outbound_tls = b.value,
                _ => errors.at(value, "`outbound_tls` takes `true` or `false`"),
            },
            "reuse_port" => match value {
                Expr::Lit(ExprLit {
                    lit: Lit::Bool(b), ..
                }) => reuse_port = b.value,
                _ => errors.at(value, "`reuse_port` takes `true` or `false`"),
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
            "metrics" => match string_value(value) {
                Some((text, span)) => match path_problem(&text) {
                    Some(problem) => errors.at(span, format!("{problem}: \"{text}\"")),
                    None if text.contains('*') => errors.at(
                        span,
                        format!("the metrics route is one path, not a prefix: \"{text}\""),
                    ),
                    None => metrics = Some((text, span)),
                },
                None => errors.at(value, "`metrics` takes a path, e.g. `metrics = \"/metrics\"`"),
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
            "workers" => match value {
                Expr::Lit(ExprLit {
                    lit: Lit::Int(n), ..
                }) => match n.base10_parse::<usize>() {
                    Ok(n @ 1..=MAX_WORKERS) => workers = Some(n),
                    _ => errors.at(n, format!("`workers` takes 1 to {MAX_WORKERS}, or \"auto\" for one per core")),
                },
                _ => match string_value(value) {
                    Some((text, _)) if text == "auto" => workers = Some(0),
                    Some((text, span)) => errors.at(span, format!("\"{text}\" is not a number of workers: a number, or \"auto\" for one per core")),
                    None => errors.at(value, "`workers` takes a number, e.g. `workers = 4`, or \"auto\" for one per core"),
                },
            },
            "redis" => match string_value(value) {
                Some((url, _)) if ["redis://", "rediss://", "redis+unix://", "unix://"].iter().any(|s| url.starts_with(s)) => redis = Some(url),
                Some((url, span)) => errors.at(span, format!("\"{url}\" is not a Redis URL, e.g. \"redis://127.0.0.1:6379/\"")),
                None => errors.at(value, "`redis` takes a URL string, e.g. `redis = \"redis://127.0.0.1:6379/\"`"),
            },
            "history" => history = super::history::history(value, &mut errors),
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
            "tls_cert" | "tls_key" => match string_value(value) {
                Some((text, span)) if text.trim().is_empty() => errors.at(span, format!("`{name}` names a file; this is empty")),
                Some(file) if name == "tls_cert" => tls_cert = Some(file),
                Some(file) => tls_key = Some(file),
                None => errors.at(value, format!("`{name}` takes a file's path, e.g. `{name} = \"/etc/chat/{}.pem\"`", if name == "tls_cert" { "cert" } else { "key" })),
            },
            "rate" => match string_value(value) {
                Some((text, span)) => match parse_rate(&text) {
                    Some(parsed) => rate = Some(parsed),
                    None => errors.at(span, format!("\"{text}\" is not a rate: write \"10/s\" or \"30/min\", and \", close\" to close a connection that goes over it (it is dropped otherwise)")),
                },
                None => errors.at(value, "`rate` takes a string, e.g. `rate = \"10/s\"`"),
            },
            "conn_state" => match value {
                Expr::Path(p) if p.qself.is_none() && p.attrs.is_empty() => {
                    conn_state = Some(Type::Path(syn::TypePath { qself: None, path: p.path.clone() }));
                }
                _ => errors.at(value, "`conn_state` takes a type's name, e.g. `conn_state = Player` (a generic type through a `type` alias)"),
            },
            _ => {
                let names: Vec<&str> = KEYS.iter().map(|k| k.name).collect();
                let hint = suggest(&name, &names)
                    .and_then(|s| KEYS.iter().find(|k| k.name == s))
                    .map(|k| format!("did you mean `{}` ({}, e.g. `{}`)? ", k.name, k.takes, k.example))
                    .unwrap_or_default();
                errors.at(key, format!("unknown key `{name}`; {hint}valid keys: {}", list(&names)));
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
    let http = protocols.iter().any(|p| p.http);
    let protocol = protocols[0];
    if !http {
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
    match (&path, &metrics) {
        (None, Some((_, span))) => errors.at(
            *span,
            "`metrics` needs the socket's own `path`, e.g. `path = \"/chat\"`: they share a router",
        ),
        (Some((p, _)), Some((m, span))) if p == m => errors.at(
            *span,
            format!("\"{m}\" is the socket's path: give the metrics their own, e.g. \"/metrics\""),
        ),
        _ => {}
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
        if !http {
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
    let given = |key: &str| seen.iter().any(|k| k == key);
    let tls = match (tls_cert, tls_key) {
        (Some((cert, _)), Some((key, _))) => Some((cert, key)),
        // A key given but refused was reported already.
        (Some(_), None) | (None, Some(_)) if given("tls_cert") && given("tls_key") => None,
        (Some((_, span)), None) => {
            errors.at(
                span,
                "`tls_cert` needs its key beside it: add `tls_key = \"...\"`",
            );
            None
        }
        (None, Some((_, span))) => {
            errors.at(
                span,
                "`tls_key` needs its certificate beside it: add `tls_cert = \"...\"`",
            );
            None
        }
        (None, None) => None,
    };
    let binds = match binds {
        Some((given, value))
            if given.len() > protocols.len()
                || (given.len() > 1 && given.len() != protocols.len()) =>
        {
            errors.at(value, format!("`bind` has {} addresses for {} protocol(s): give one, or one per protocol in order", given.len(), protocols.len()));
            Vec::new()
        }
        given => {
            let given = given.map(|(all, _)| all).unwrap_or_default();
            protocols
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    given.get(i).cloned().unwrap_or_else(|| {
                        if i == 0 {
                            DEFAULT_BIND.to_owned()
                        } else {
                            p.default_bind.to_owned()
                        }
                    })
                })
                .collect()
        }
    };
    match item {
        Some(item) => errors.finish(AppModel {
            item,
            protocols,
            binds,
            main,
            deflate,
            outbound_tls,
            reuse_port,
            path: path.map(|(p, _)| p),
            static_dir: static_dir.map(|(d, _)| d),
            metrics: metrics.map(|(m, _)| m),
            origins,
            subprotocols,
            blacklist,
            redis,
            workers,
            history,
            session: session.map(|(s, _)| s),
            conn_state,
            rate,
            tls,
        }),
        None => Err(errors
            .0
            .unwrap_or_else(|| syn::Error::new(Span::call_site(), "expected a struct"))),
    }
}
