//! The envelope a publish travels in between processes: binary-safe, carrying the
//! publishing process, the topic and the message.

use crate::message::{Kind, Payload};

const MAGIC: &[u8; 4] = b"RBR1";
const HEADER: usize = 4 + 16 + 1 + 4;

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

/// A decoded envelope: origin, topic and message.
#[derive(Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The publishing process.
    pub origin: [u8; 16],
    /// The topic.
    pub topic: String,
    /// The message.
    pub msg: Payload,
}

/// Reads an envelope, or says why it is not one.
pub fn open_envelope(bytes: &[u8]) -> Result<Envelope, &'static str> {
    if bytes.len() < HEADER || &bytes[..4] != MAGIC {
        return Err("not a ratchet envelope");
    }
    let mut origin = [0; 16];
    origin.copy_from_slice(&bytes[4..20]);
    let kind = bytes[20];
    let topic_len = u32::from_be_bytes([bytes[21], bytes[22], bytes[23], bytes[24]]) as usize;
    let rest = &bytes[HEADER..];
    if topic_len > rest.len() {
        return Err("topic longer than the envelope");
    }
    let topic = std::str::from_utf8(&rest[..topic_len]).map_err(|_| "topic is not UTF-8")?;
    let body = &rest[topic_len..];
    let msg = match kind {
        0 => Payload::text(std::str::from_utf8(body).map_err(|_| "text is not UTF-8")?),
        1 => Payload::binary(body.to_vec()),
        _ => return Err("unknown message kind"),
    };
    Ok(Envelope {
        origin,
        topic: topic.to_owned(),
        msg,
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
                    msg
                }
            );
        }
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
