//! The command line every served application shares: `--bind ADDR`, or `RATCHET_BIND`.

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
    let mut args = args.into_iter();
    let mut bind = None;
    while let Some(arg) = args.next() {
        if arg == "--bind" {
            bind = Some(
                args.next()
                    .ok_or("--bind needs an address, e.g. --bind 127.0.0.1:8080")?,
            );
        } else if let Some(addr) = arg.strip_prefix("--bind=") {
            bind = Some(addr.to_owned());
        } else {
            return Err(format!(
                "unknown argument {arg:?}; usage: [--bind ADDR] (or RATCHET_BIND=ADDR)"
            ));
        }
    }
    Ok(bind
        .or(env.filter(|e| !e.is_empty()))
        .unwrap_or_else(|| default.to_owned()))
}

/// [`parse_bind`] over this process's arguments and environment; prints the problem and
/// exits with status 2 on a bad command line.
pub fn bind_address(default: &str) -> String {
    match parse_bind(
        std::env::args().skip(1),
        std::env::var("RATCHET_BIND").ok(),
        default,
    ) {
        Ok(addr) => addr,
        Err(problem) => {
            eprintln!("{problem}");
            std::process::exit(2);
        }
    }
}
