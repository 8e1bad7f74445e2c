//! The envelope a publish travels in between processes: binary-safe, carrying the
//! publishing process, the topic and the message; for a history topic also its offset,
//! and the connection the publishing process leaves out.

use crate::conn::ConnId;
use crate::history::Offset;
use crate::message::{Kind, Payload};

const MAGIC: &[u8; 4] = b"RBR1";
const HEADER: usize = 4 + 16 + 1 + 4;
/// A numbered envelope: `RBR2`, the origin, the kind, the connection left out (8 bytes,
/// all ones for none), the topic's length and the topic, then the offset's length (one
/// byte) and the offset as Redis wrote it, then the message.
const NUMBERED: &[u8; 4] = b"RBR2";
const NUMBERED_HEADER: usize = 4 + 16 + 1 + 8 + 4;
const NOBODY: u64 = u64::MAX;

/// The envelope of a publish (see the module documentation).
pub fn envelope(origin: &[u8; 16], topic: &str, msg: &Payload) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + topic.len() + msg.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(origin);
    out.push(u8::from(msg.kind() == Kind::Binary));
    out.extend_from_slice(&(topic.len() as u32).to_be_bytes());
    out.extend_from_slice(topic.as_bytes());
    out.extend_from_slice(msg.as_bytes());
    out
}

/// The start of a history topic's envelope, up to the offset, which Redis numbers and
/// appends (then the message follows).
pub(super) fn numbered_head(
    origin: &[u8; 16],
    topic: &str,
    kind: Kind,
    except: Option<ConnId>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(NUMBERED_HEADER + topic.len());
    out.extend_from_slice(NUMBERED);
    out.extend_from_slice(origin);
    out.push(u8::from(kind == Kind::Binary));
    let except = except.map_or(NOBODY, ConnId::to_raw);
    out.extend_from_slice(&except.to_be_bytes());
    out.extend_from_slice(&(topic.len() as u32).to_be_bytes());
    out.extend_from_slice(topic.as_bytes());
    out
}

/// A decoded envelope: origin, topic and message.
#[derive(Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The publishing process.
    pub origin: [u8; 16],
    /// The topic.
    pub topic: String,
    /// The message.
    pub msg: Payload,
    /// Its offset in the topic's history, for a history topic.
    pub offset: Option<Offset>,
    /// The connection the publishing process leaves out.
    pub except: Option<ConnId>,
}

/// Reads an envelope, or says why it is not one.
pub fn open_envelope(bytes: &[u8]) -> Result<Envelope, &'static str> {
    let numbered = bytes.starts_with(NUMBERED);
    let header = if numbered { NUMBERED_HEADER } else { HEADER };
    if bytes.len() < header || !(numbered || bytes.starts_with(MAGIC)) {
        return Err("not a ratchet envelope");
    }
    let mut origin = [0; 16];
    origin.copy_from_slice(&bytes[4..20]);
    let kind = bytes[20];
    let mut except = None;
    if numbered {
        let mut raw = [0; 8];
        raw.copy_from_slice(&bytes[21..29]);
        let raw = u64::from_be_bytes(raw);
        except = (raw != NOBODY).then(|| ConnId::from_raw(raw));
    }
    let at = header - 4;
    let topic_len =
        u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
    let rest = &bytes[header..];
    if topic_len > rest.len() {
        return Err("topic longer than the envelope");
    }
    let topic = std::str::from_utf8(&rest[..topic_len]).map_err(|_| "topic is not UTF-8")?;
    let mut body = &rest[topic_len..];
    let mut offset = None;
    if numbered {
        let (&len, after) = body.split_first().ok_or("no offset")?;
        let len = usize::from(len);
        if len > after.len() {
            return Err("offset longer than the envelope");
        }
        let text = std::str::from_utf8(&after[..len]).map_err(|_| "offset is not text")?;
        offset = Some(text.parse().map_err(|_| "not an offset")?);
        body = &after[len..];
    }
    let msg = match kind {
        0 => Payload::text(std::str::from_utf8(body).map_err(|_| "text is not UTF-8")?),
        1 => Payload::binary(body.to_vec()),
        _ => return Err("unknown message kind"),
    };
    Ok(Envelope {
        origin,
        topic: topic.to_owned(),
        msg,
        offset,
        except,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip_text_and_binary() {
        let origin = [3u8; 16];
        for msg in [
            Payload::text("héllo"),
            Payload::binary(vec![0, 255, 10, 13]),
        ] {
            let bytes = envelope(&origin, "room:1", &msg);
            let opened = open_envelope(&bytes).unwrap();
            assert_eq!(
                opened,
                Envelope {
                    origin,
                    topic: "room:1".into(),
                    msg,
                    offset: None,
                    except: None,
                }
            );
        }
    }

    #[test]
    fn numbered_envelopes_carry_their_offset_and_who_is_left_out() {
        let origin = [5u8; 16];
        let except = Some(ConnId::from_raw(42));
        // What the script appends: the offset's length, the offset, the message.
        let mut bytes = numbered_head(&origin, "chat", Kind::Text, except);
        bytes.push(15);
        bytes.extend_from_slice(b"1733000000000-7");
        bytes.extend_from_slice("héllo".as_bytes());
        let opened = open_envelope(&bytes).unwrap();
        assert_eq!(opened.offset, Some("1733000000000-7".parse().unwrap()));
        assert_eq!(opened.except, except);
        assert_eq!(opened.msg, Payload::text("héllo"));
        assert_eq!(opened.topic, "chat");
        let mut bytes = numbered_head(&origin, "chat", Kind::Binary, None);
        bytes.extend_from_slice(&[3, b'1', b'-', b'2', 0xFF]);
        let opened = open_envelope(&bytes).unwrap();
        assert_eq!(
            (opened.except, opened.msg),
            (None, Payload::binary(vec![0xFF]))
        );
        let mut short = numbered_head(&origin, "chat", Kind::Text, None);
        short.extend_from_slice(&[40, b'1']);
        assert_eq!(
            open_envelope(&short),
            Err("offset longer than the envelope")
        );
    }

    #[test]
    fn hostile_envelopes_are_refused() {
        let good = envelope(&[7; 16], "t", &Payload::text("x"));
        assert!(open_envelope(b"RBR1").is_err());
        assert!(open_envelope(b"nope and more bytes than a header holds").is_err());
        let mut long_topic = good.clone();
        long_topic[21..25].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            open_envelope(&long_topic),
            Err("topic longer than the envelope")
        );
        let mut bad_kind = good.clone();
        bad_kind[20] = 9;
        assert!(open_envelope(&bad_kind).is_err());
        let mut bad_text = good;
        *bad_text.last_mut().unwrap() = 0xFF;
        assert!(open_envelope(&bad_text).is_err());
    }
}
