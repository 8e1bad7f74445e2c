//! Single values of `#[ratchet::app(...)]` keys: what a valid path, origin,
//! subprotocol, folder and address are.

/// Why `path` cannot be the socket's path, if it cannot.
pub(super) fn path_problem(path: &str) -> Option<&'static str> {
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
pub(super) fn origin_problem(origin: &str) -> Option<&'static str> {
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
pub(super) fn valid_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

/// `dir` as an absolute path, if it is a folder: relative paths start at the crate's
/// folder (where Cargo.toml is), so that `cargo run` finds it from anywhere.
pub(super) fn resolve_dir(dir: &str) -> Option<String> {
    let path = std::path::Path::new(dir);
    let full = match std::env::var_os("CARGO_MANIFEST_DIR") {
        Some(base) if path.is_relative() => std::path::Path::new(&base).join(path),
        _ => path.to_path_buf(),
    };
    full.is_dir().then(|| full.to_string_lossy().into_owned())
}

/// Whether `addr` can be bound: `ip:port`, `[v6]:port` or `host:port`.
pub(super) fn valid_bind(addr: &str) -> bool {
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
