//! Close codes (RFC 6455 §7.4).

use std::fmt;

/// A WebSocket close code, losslessly convertible from and to `u16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseCode {
    /// 1000: the purpose of the connection has been fulfilled.
    Normal,
    /// 1001: the endpoint is going away (server shutting down, page navigated away).
    Away,
    /// 1002: a protocol error.
    Protocol,
    /// 1003: a data type the endpoint cannot accept.
    Unsupported,
    /// 1005: no code was present (never sent on the wire).
    NoStatus,
    /// 1006: closed without a close frame (never sent on the wire).
    Abnormal,
    /// 1007: data inconsistent with the message type (e.g. invalid UTF-8 in text).
    Invalid,
    /// 1008: a message violates the endpoint's policy.
    Policy,
    /// 1009: a message too big to process.
    Size,
    /// 1010: the client expected an extension the server did not negotiate.
    Extension,
    /// 1011: the server met an unexpected condition (e.g. a handler panicked).
    Error,
    /// 1012: the service is restarting.
    Restart,
    /// 1013: try again later.
    Again,
    /// 1014: a gateway or proxy received an invalid response.
    BadGateway,
    /// 1015: TLS handshake failure (never sent on the wire).
    Tls,
    /// 3000–4999: codes registered by libraries or private to applications.
    Application(u16),
    /// Any other value: reserved or unassigned; refused on the wire.
    Reserved(u16),
}

impl CloseCode {
    /// Whether an endpoint may send this code in a close frame (RFC 6455 §7.4.1, §7.4.2
    /// and the IANA registry).
    pub fn is_allowed_on_wire(self) -> bool {
        !matches!(
            self,
            CloseCode::NoStatus | CloseCode::Abnormal | CloseCode::Tls | CloseCode::Reserved(_)
        )
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        match code {
            1000 => CloseCode::Normal,
            1001 => CloseCode::Away,
            1002 => CloseCode::Protocol,
            1003 => CloseCode::Unsupported,
            1005 => CloseCode::NoStatus,
            1006 => CloseCode::Abnormal,
            1007 => CloseCode::Invalid,
            1008 => CloseCode::Policy,
            1009 => CloseCode::Size,
            1010 => CloseCode::Extension,
            1011 => CloseCode::Error,
            1012 => CloseCode::Restart,
            1013 => CloseCode::Again,
            1014 => CloseCode::BadGateway,
            1015 => CloseCode::Tls,
            3000..=4999 => CloseCode::Application(code),
            _ => CloseCode::Reserved(code),
        }
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> u16 {
        match code {
            CloseCode::Normal => 1000,
            CloseCode::Away => 1001,
            CloseCode::Protocol => 1002,
            CloseCode::Unsupported => 1003,
            CloseCode::NoStatus => 1005,
            CloseCode::Abnormal => 1006,
            CloseCode::Invalid => 1007,
            CloseCode::Policy => 1008,
            CloseCode::Size => 1009,
            CloseCode::Extension => 1010,
            CloseCode::Error => 1011,
            CloseCode::Restart => 1012,
            CloseCode::Again => 1013,
            CloseCode::BadGateway => 1014,
            CloseCode::Tls => 1015,
            CloseCode::Application(code) | CloseCode::Reserved(code) => code,
        }
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", u16::from(*self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_u16() {
        for raw in 0..=u16::MAX {
            assert_eq!(u16::from(CloseCode::from(raw)), raw);
        }
    }

    #[test]
    fn wire_rules_match_autobahn_lists() {
        for ok in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
            4000, 4999,
        ] {
            assert!(CloseCode::from(ok).is_allowed_on_wire(), "{ok}");
        }
        for bad in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert!(!CloseCode::from(bad).is_allowed_on_wire(), "{bad}");
        }
    }
}
