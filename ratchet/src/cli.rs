//! The command line every served application shares: `--bind ADDR` (or `RATCHET_BIND`),
//! and for an app served over a second protocol, `--line-bind ADDR` (or
//! `RATCHET_LINE_BIND`) and so on, one per protocol after the first.

/// The address to listen on: `--bind ADDR` (or `--bind=ADDR`) from the arguments, else the
/// `RATCHET_BIND` environment variable, else `default`.
///
/// ```
/// use ratchet::cli::parse_bind;
///
/// let args = ["--bind", "127.0.0.1:9000"].map(String::from);
/// assert_eq!(parse_bind(args, None, "127.0.0.1:8080"), Ok("127.0.0.1:9000".to_owned()));
/// assert_eq!(parse_bind([], Some("[::1]:80".into()), "127.0.0.1:8080"), Ok("[::1]:80".to_owned()));
/// assert_eq!(parse_bind([], None, "127.0.0.1:8080"), Ok("127.0.0.1:8080".to_owned()));
/// ```
pub fn parse_bind(
    args: impl IntoIterator<Item = String>,
    env: Option<String>,
    default: &str,
) -> Result<String, String> {
    let mut binds = parse_binds(
        args,
        &[Listener {
            name: "",
            env,
            default,
        }],
    )?;
    Ok(binds.remove(0))
}

/// One listener of a served app, as the command line sees it.
#[derive(Debug, Clone)]
pub struct Listener<'a> {
    /// The protocol's name for its flag: `""` for the first (`--bind`), `"line"` for
    /// `--line-bind`.
    pub name: &'a str,
    /// The value of its environment variable, if set.
    pub env: Option<String>,
    /// Its address when neither says otherwise.
    pub default: &'a str,
}

impl Listener<'_> {
    fn flag(&self) -> String {
        match self.name {
            "" => "--bind".to_owned(),
            name => format!("--{name}-bind"),
        }
    }
}

/// The address of each listener, in order: its flag (`--bind`, `--line-bind`, with a
/// space or `=`), else its environment value, else its default.
///
/// ```
/// use ratchet::cli::{parse_binds, Listener};
///
/// let listeners = [
///     Listener { name: "", env: None, default: "127.0.0.1:8080" },
///     Listener { name: "line", env: None, default: "127.0.0.1:2323" },
/// ];
/// let args = ["--line-bind=127.0.0.1:7000".to_owned()];
/// assert_eq!(parse_binds(args, &listeners).unwrap(), ["127.0.0.1:8080", "127.0.0.1:7000"]);
/// ```
pub fn parse_binds(
    args: impl IntoIterator<Item = String>,
    listeners: &[Listener<'_>],
) -> Result<Vec<String>, String> {
    let flags: Vec<String> = listeners.iter().map(Listener::flag).collect();
    let mut given: Vec<Option<String>> = vec![None; listeners.len()];
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg.clone(), None),
        };
        let Some(i) = flags.iter().position(|f| *f == flag) else {
            let usage: Vec<String> = flags.iter().map(|f| format!("[{f} ADDR]")).collect();
            return Err(format!(
                "unknown argument {arg:?}; usage: {}",
                usage.join(" ")
            ));
        };
        let value = match inline {
            Some(value) => value,
            None => args
                .next()
                .ok_or_else(|| format!("{flag} needs an address, e.g. {flag} 127.0.0.1:8080"))?,
        };
        given[i] = Some(value);
    }
    Ok(listeners
        .iter()
        .zip(given)
        .map(|(l, given)| {
            given
                .or(l.env.clone().filter(|e| !e.is_empty()))
                .unwrap_or_else(|| l.default.to_owned())
        })
        .collect())
}

/// The environment variable of a listener: `RATCHET_BIND`, `RATCHET_LINE_BIND`.
pub fn env_var(name: &str) -> String {
    match name {
        "" => "RATCHET_BIND".to_owned(),
        name => format!("RATCHET_{}_BIND", name.to_ascii_uppercase()),
    }
}

/// [`parse_binds`] over this process's arguments and environment, for listeners named
/// `names` (`""` first) with their defaults; prints the problem and exits with status 2 on
/// a bad command line.
pub fn bind_addresses(names_and_defaults: &[(&str, &str)]) -> Vec<String> {
    let listeners: Vec<Listener<'_>> = names_and_defaults
        .iter()
        .map(|&(name, default)| Listener {
            name,
            env: std::env::var(env_var(name)).ok(),
            default,
        })
        .collect();
    match parse_binds(std::env::args().skip(1), &listeners) {
        Ok(addrs) => addrs,
        Err(problem) => {
            eprintln!("{problem}");
            std::process::exit(2);
        }
    }
}

/// [`parse_bind`] over this process's arguments and environment; prints the problem and
/// exits with status 2 on a bad command line.
pub fn bind_address(default: &str) -> String {
    bind_addresses(&[("", default)]).remove(0)
}
