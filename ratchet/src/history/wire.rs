//! What the subscribers of a history topic receive: each message with its offset, and
//! after a recovery the seam, as JSON text (see the [module](super) for the shapes).

use super::Offset;
use crate::message::{Kind, Payload};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use std::fmt::Write;

/// `{"topic":…,"offset":…,"text":…}`, or `"binary":<base64>` for a binary message; the
/// offset is `null` for a message that could not be numbered (its store unreachable).
pub(crate) fn numbered(topic: &str, offset: Option<Offset>, msg: &Payload) -> Payload {
    let mut out = String::with_capacity(msg.len() + topic.len() + 48);
    out.push_str("{\"topic\":");
    push_string(&mut out, topic);
    match offset {
        Some(offset) => {
            let _ = write!(out, ",\"offset\":\"{offset}\",");
        }
        None => out.push_str(",\"offset\":null,"),
    }
    match (msg.kind(), msg.as_text()) {
        (Kind::Text, Some(text)) => {
            out.push_str("\"text\":");
            push_string(&mut out, text);
        }
        _ => {
            out.push_str("\"binary\":\"");
            BASE64.encode_string(msg.as_bytes(), &mut out);
            out.push('"');
        }
    }
    out.push('}');
    Payload::text(out)
}

/// `{"topic":…,"recovered":true|false,"offset":…|null}`: what came before it was the
/// history, what follows is live; `offset` is the last one delivered.
pub(crate) fn seam(topic: &str, recovered: bool, last: Option<Offset>) -> Payload {
    let mut out = String::from("{\"topic\":");
    push_string(&mut out, topic);
    let _ = write!(out, ",\"recovered\":{recovered},\"offset\":");
    match last {
        Some(offset) => {
            let _ = write!(out, "\"{offset}\"");
        }
        None => out.push_str("null"),
    }
    out.push('}');
    Payload::text(out)
}

/// `s` as a JSON string (RFC 8259: quotes, backslashes and control characters escaped).
pub(crate) fn push_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_seams_are_json() {
        let at = Offset { ms: 17, seq: 2 };
        let text = numbered("ro\"om", Some(at), &Payload::text("a\nb\u{1}é"));
        assert_eq!(
            text.as_text().unwrap(),
            r#"{"topic":"ro\"om","offset":"17-2","text":"a\nb\u0001é"}"#
        );
        let binary = numbered("r", Some(at), &Payload::binary(vec![0, 255]));
        assert_eq!(
            binary.as_text().unwrap(),
            r#"{"topic":"r","offset":"17-2","binary":"AP8="}"#
        );
        let unnumbered = numbered("r", None, &Payload::text("x"));
        assert_eq!(
            unnumbered.as_text().unwrap(),
            r#"{"topic":"r","offset":null,"text":"x"}"#
        );
        assert_eq!(
            seam("r", false, None).as_text().unwrap(),
            r#"{"topic":"r","recovered":false,"offset":null}"#
        );
        assert_eq!(
            seam("r", true, Some(at)).as_text().unwrap(),
            r#"{"topic":"r","recovered":true,"offset":"17-2"}"#
        );
    }
}
