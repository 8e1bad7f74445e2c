//! The PROXY protocol header (HAProxy's specification, versions 1 and 2): the client's
//! address, as the proxy in front saw it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Version 2's signature, the first 12 bytes of its header.
const SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";

/// The longest version 1 header, `\r\n` included (the specification's 107 bytes).
const MAX_V1: usize = 107;

/// The longest header accepted: version 2's 16 bytes and up to 1008 of addresses and TLVs.
pub const MAX_HEADER: usize = 1024;

/// What the start of a connection's bytes holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// Not all of it yet.
    Partial,
    /// A header `len` bytes long, from the client at `source` (`None`: the proxy speaks
    /// for itself, `LOCAL` or `UNKNOWN`, and the socket's address stands).
    Complete {
        len: usize,
        source: Option<SocketAddr>,
    },
    /// Not a PROXY header, or a malformed one.
    Bad(&'static str),
}

/// Reads the header at the start of `data`.
pub fn parse(data: &[u8]) -> Header {
    if data.first() == Some(&b'\r') {
        v2(data)
    } else if data.first() == Some(&b'P') {
        v1(data)
    } else {
        Header::Bad("not a PROXY protocol header")
    }
}

fn v1(data: &[u8]) -> Header {
    let prefix = &data[..data.len().min(6)];
    if !b"PROXY ".starts_with(prefix) {
        return Header::Bad("not a PROXY protocol header");
    }
    let Some(end) = data.windows(2).take(MAX_V1 - 1).position(|w| w == b"\r\n") else {
        return if data.len() >= MAX_V1 {
            Header::Bad("PROXY v1 header longer than 107 bytes")
        } else {
            Header::Partial
        };
    };
    let Ok(line) = std::str::from_utf8(&data[..end]) else {
        return Header::Bad("PROXY v1 header is not text");
    };
    let fields: Vec<&str> = line.split(' ').collect();
    let source = match fields.as_slice() {
        ["PROXY", "UNKNOWN", ..] => None,
        ["PROXY", family @ ("TCP4" | "TCP6"), src, _dst, sport, _dport] => {
            let ip: Option<IpAddr> = match *family {
                "TCP4" => src.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
                _ => src.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
            };
            match (ip, sport.parse::<u16>()) {
                (Some(ip), Ok(port)) => Some(SocketAddr::new(ip, port)),
                _ => return Header::Bad("PROXY v1 header with a bad address"),
            }
        }
        _ => return Header::Bad("malformed PROXY v1 header"),
    };
    Header::Complete {
        len: end + 2,
        source,
    }
}

fn v2(data: &[u8]) -> Header {
    let known = data.len().min(SIGNATURE.len());
    if data[..known] != SIGNATURE[..known] {
        return Header::Bad("not a PROXY protocol header");
    }
    if data.len() < 16 {
        return Header::Partial;
    }
    let (version, command, family) = (data[12] >> 4, data[12] & 0x0f, data[13]);
    if version != 2 || command > 1 {
        return Header::Bad("PROXY v2 header of an unknown version or command");
    }
    let len = 16 + usize::from(u16::from_be_bytes([data[14], data[15]]));
    if len > MAX_HEADER {
        return Header::Bad("PROXY v2 header longer than 1024 bytes");
    }
    if data.len() < len {
        return Header::Partial;
    }
    let body = &data[16..len];
    let source = match (command, family >> 4, body) {
        // LOCAL: the proxy's own connection (a health check).
        (0, _, _) => None,
        (_, 1, [a, b, c, d, _, _, _, _, p0, p1, ..]) => Some(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(*a, *b, *c, *d)),
            u16::from_be_bytes([*p0, *p1]),
        )),
        (_, 2, body) if body.len() >= 36 => {
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&body[..16]);
            Some(SocketAddr::new(
                IpAddr::V6(Ipv6Addr::from(ip)),
                u16::from_be_bytes([body[32], body[33]]),
            ))
        }
        (_, 1 | 2, _) => return Header::Bad("PROXY v2 addresses shorter than their family"),
        // UNSPEC or UNIX: nothing an IP peer can be.
        _ => None,
    };
    Header::Complete { len, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_1_in_its_forms() {
        let h = b"PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\nGET /";
        let want = "192.0.2.7:56324".parse().ok();
        assert_eq!(
            parse(h),
            Header::Complete {
                len: 45,
                source: want
            }
        );
        let h = b"PROXY TCP6 2001:db8::7 2001:db8::1 4000 443\r\n";
        let want = "[2001:db8::7]:4000".parse().ok();
        assert_eq!(
            parse(h),
            Header::Complete {
                len: h.len(),
                source: want
            }
        );
        assert_eq!(
            parse(b"PROXY UNKNOWN\r\n"),
            Header::Complete {
                len: 15,
                source: None
            }
        );
        assert_eq!(parse(b"PROXY TCP4 192.0.2.7"), Header::Partial);
        assert_eq!(parse(b"PRO"), Header::Partial);
        assert!(matches!(
            parse(b"PROXY TCP4 nope 1.2.3.4 1 2\r\n"),
            Header::Bad(_)
        ));
        assert!(matches!(parse(b"GET / HTTP/1.1\r\n"), Header::Bad(_)));
        assert!(matches!(parse(&[b'P'; 200]), Header::Bad(_)));
    }

    #[test]
    fn version_2_in_its_forms() {
        let mut h = SIGNATURE.to_vec();
        h.extend([
            0x21, 0x11, 0, 12, 192, 0, 2, 7, 198, 51, 100, 1, 0xdc, 0x04, 1, 187,
        ]);
        let want = "192.0.2.7:56324".parse().ok();
        assert_eq!(
            parse(&h),
            Header::Complete {
                len: 28,
                source: want
            }
        );
        assert_eq!(parse(&h[..20]), Header::Partial);
        let mut local = SIGNATURE.to_vec();
        local.extend([0x20, 0x00, 0, 0]);
        assert_eq!(
            parse(&local),
            Header::Complete {
                len: 16,
                source: None
            }
        );
        let mut long = SIGNATURE.to_vec();
        long.extend([0x21, 0x11, 0xff, 0xff]);
        assert!(matches!(parse(&long), Header::Bad(_)));
        let mut short = SIGNATURE.to_vec();
        short.extend([0x21, 0x11, 0, 4, 1, 2, 3, 4]);
        assert!(matches!(parse(&short), Header::Bad(_)));
    }
}
