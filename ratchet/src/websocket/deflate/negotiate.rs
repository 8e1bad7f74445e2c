//! Negotiation, both ends: a server picks the first acceptable offer among a client's
//! and answers it; a client makes its offer and checks the server's answer.

use super::{Deflate, Params};

/// Picks the first acceptable `permessage-deflate` offer among the values of
/// `Sec-WebSocket-Extensions`; returns the parameters and the response header value.
/// Offers with unknown, duplicate or invalid parameters are declined (RFC 7692 §7.1).
pub fn negotiate<'a>(
    values: impl IntoIterator<Item = &'a str>,
    config: &Deflate,
) -> Option<(Params, String)> {
    values
        .into_iter()
        .flat_map(|v| v.split(','))
        .filter_map(|offer| {
            let mut parts = offer.split(';').map(str::trim);
            (parts.next() == Some("permessage-deflate")).then_some(parts)
        })
        .find_map(|params| accept(params, config))
}

/// A window-bits value: 8–15, digits only, no leading zero.
fn window_bits(value: &str) -> Option<u8> {
    match value.as_bytes() {
        [d @ b'8'..=b'9'] => Some(d - b'0'),
        [b'1', d @ b'0'..=b'5'] => Some(10 + d - b'0'),
        _ => None,
    }
}

fn accept<'a>(params: impl Iterator<Item = &'a str>, config: &Deflate) -> Option<(Params, String)> {
    let mut server_nct = false;
    let mut client_nct = false;
    let mut server_bits: Option<u8> = None;
    let mut client_bits: Option<Option<u8>> = None;
    let mut seen: Vec<&str> = Vec::new();
    for param in params {
        let (name, value) = match param.split_once('=') {
            Some((n, v)) => {
                let v = v.trim();
                let v = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(v);
                (n.trim(), Some(v))
            }
            None => (param, None),
        };
        if seen.contains(&name) {
            return None;
        }
        seen.push(name);
        match (name, value) {
            ("server_no_context_takeover", None) => server_nct = true,
            ("client_no_context_takeover", None) => client_nct = true,
            ("server_max_window_bits", Some(v)) => server_bits = Some(window_bits(v)?),
            ("client_max_window_bits", None) => client_bits = Some(None),
            ("client_max_window_bits", Some(v)) => client_bits = Some(Some(window_bits(v)?)),
            _ => return None,
        }
    }
    // zlib cannot compress with an 8-bit window: decline rather than exceed the limit.
    let server_window = match server_bits {
        Some(8) => return None,
        Some(bits) => bits.min(config.server_max_window_bits),
        None => config.server_max_window_bits,
    };
    let client_window = match client_bits {
        None => 15,
        Some(None) => config.client_max_window_bits,
        Some(Some(bits)) => bits.min(config.client_max_window_bits),
    };
    let params = Params {
        server_no_context_takeover: server_nct || config.server_no_context_takeover,
        client_no_context_takeover: client_nct || config.client_no_context_takeover,
        server_max_window_bits: server_window,
        client_max_window_bits: client_window,
    };
    let mut response = String::from("permessage-deflate");
    if params.server_no_context_takeover {
        response.push_str("; server_no_context_takeover");
    }
    if params.client_no_context_takeover {
        response.push_str("; client_no_context_takeover");
    }
    if server_bits.is_some() || server_window < 15 {
        response.push_str(&format!("; server_max_window_bits={server_window}"));
    }
    if client_bits.is_some() && client_window < 15 {
        response.push_str(&format!("; client_max_window_bits={client_window}"));
    }
    Some((params, response))
}

/// A client's offer, from its settings: it always accepts a `client_max_window_bits` the
/// server chooses, asks for the server's window only if smaller than 15, and asks for no
/// context takeover where the settings say so.
pub fn offer(config: &Deflate) -> String {
    let mut offer = String::from("permessage-deflate; client_max_window_bits");
    if config.server_no_context_takeover {
        offer.push_str("; server_no_context_takeover");
    }
    if config.client_no_context_takeover {
        offer.push_str("; client_no_context_takeover");
    }
    if config.server_max_window_bits < 15 {
        offer.push_str(&format!(
            "; server_max_window_bits={}",
            config.server_max_window_bits
        ));
    }
    offer
}

/// Checks a server's answer to [`offer`] (the one `permessage-deflate` value of its
/// `Sec-WebSocket-Extensions`) and returns what was agreed, or why the answer is not one
/// the client can accept (RFC 7692 §7.1: it then fails the connection).
pub fn accept_answer(answer: &str, config: &Deflate) -> Result<Params, String> {
    let mut parts = answer.split(';').map(str::trim);
    if parts.next() != Some("permessage-deflate") {
        return Err(format!("extension not offered: {answer}"));
    }
    let mut params = Params {
        server_no_context_takeover: false,
        client_no_context_takeover: config.client_no_context_takeover,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
    };
    let mut seen: Vec<&str> = Vec::new();
    for param in parts {
        let (name, value) = match param.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (param, None),
        };
        if seen.contains(&name) {
            return Err(format!("{name} given twice"));
        }
        seen.push(name);
        let bits = |v: Option<&str>| v.and_then(window_bits);
        match (name, value) {
            ("server_no_context_takeover", None) => params.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => params.client_no_context_takeover = true,
            ("server_max_window_bits", v) => {
                let bits = bits(v).ok_or(format!("bad server_max_window_bits: {answer}"))?;
                if bits > config.server_max_window_bits {
                    return Err(format!("server_max_window_bits={bits} over the offer's"));
                }
                params.server_max_window_bits = bits;
            }
            ("client_max_window_bits", v) => {
                // zlib cannot compress with an 8-bit window: a server that asks for one
                // cannot be answered within it (§7.1.2.2 lets the client fail then).
                match bits(v) {
                    Some(8) | None => {
                        return Err(format!("client_max_window_bits not usable: {answer}"))
                    }
                    Some(bits) => {
                        params.client_max_window_bits = bits.min(config.client_max_window_bits);
                    }
                }
            }
            _ => return Err(format!("unknown permessage-deflate parameter {name}")),
        }
    }
    if config.server_no_context_takeover && !params.server_no_context_takeover {
        // Asked for and not granted: RFC 7692 §7.1.1.1 says the server must not omit it.
        return Err("server_no_context_takeover asked for and not granted".to_owned());
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a server with context takeover answers (it adds nothing the client did not
    /// ask for).
    fn offer(header: &str) -> Option<(Params, String)> {
        negotiate([header], &Deflate::default().context_takeover(true))
    }

    #[test]
    fn by_default_neither_side_keeps_its_context() {
        let (params, response) = negotiate(
            ["permessage-deflate; client_max_window_bits"],
            &Deflate::default(),
        )
        .unwrap();
        assert_eq!(
            response,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        );
        assert!(params.server_no_context_takeover && params.client_no_context_takeover);
    }

    #[test]
    fn negotiates_the_first_acceptable_offer() {
        let (params, response) = offer("permessage-deflate; client_max_window_bits").unwrap();
        assert_eq!(response, "permessage-deflate");
        assert_eq!(params.client_max_window_bits, 15);

        let (params, response) =
            offer("permessage-deflate; server_max_window_bits=8, permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_no_context_takeover")
                .unwrap();
        assert_eq!(
            response,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10"
        );
        assert_eq!(params.server_max_window_bits, 10);
        assert!(params.server_no_context_takeover && params.client_no_context_takeover);

        let (_, response) =
            offer("x-webkit-deflate-frame, permessage-deflate; client_max_window_bits=\"12\"")
                .unwrap();
        assert_eq!(response, "permessage-deflate; client_max_window_bits=12");
    }

    #[test]
    fn declines_malformed_offers() {
        for bad in [
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=08",
            "permessage-deflate; client_max_window_bits=7",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; unknown_param",
            "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
        ] {
            assert_eq!(offer(bad), None, "{bad}");
        }
        // A declined offer does not stop a later, valid one.
        assert!(offer("permessage-deflate; bogus, permessage-deflate").is_some());
    }

    #[test]
    fn a_client_offers_what_its_settings_say_and_checks_the_answer() {
        let lean = Deflate::default();
        assert_eq!(
            super::offer(&lean),
            "permessage-deflate; client_max_window_bits; server_no_context_takeover; client_no_context_takeover"
        );
        let (params, answer) = negotiate([super::offer(&lean).as_str()], &lean).unwrap();
        assert_eq!(accept_answer(&answer, &lean), Ok(params));

        let sliding = Deflate::default().context_takeover(true);
        assert_eq!(
            super::offer(&sliding),
            "permessage-deflate; client_max_window_bits"
        );
        let params =
            accept_answer("permessage-deflate; client_max_window_bits=10", &sliding).unwrap();
        assert_eq!(params.client_max_window_bits, 10);
        assert_eq!(params.server_max_window_bits, 15);
        assert!(!params.server_no_context_takeover);

        for bad in [
            "x-webkit-deflate-frame",
            "permessage-deflate; client_max_window_bits=8",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; bogus",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        ] {
            assert!(accept_answer(bad, &sliding).is_err(), "{bad}");
        }
        // Asked for no server context takeover, and not granted.
        assert!(accept_answer("permessage-deflate", &lean).is_err());
    }
}
