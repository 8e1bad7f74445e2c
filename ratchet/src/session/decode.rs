//! Stored sessions, decoded: PHP's `php` and `php_serialize` formats (read with
//! `phpserz`) and JSON, into read-only values the application reads by key.

use phpserz::{PhpParser, PhpToken};
use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};
use std::fmt;

/// How a session is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// PHP's default `session.serialize_handler = php`: `key|value` pairs, each value in
    /// PHP's `serialize()` format.
    Php,
    /// `session.serialize_handler = php_serialize`: one `serialize()`d array.
    PhpSerialize,
    /// A JSON object.
    Json,
}

/// A session, decoded: read-only, typed access by key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionData {
    values: Map<String, Value>,
}

impl SessionData {
    /// The value under `key` as a `T` (a `String`, a number, a struct with
    /// `Deserialize`...), or `None` if it is missing or of another shape.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        T::deserialize(self.values.get(key)?).ok()
    }

    /// The value under `key`, as decoded.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    /// The keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Decodes a stored session.
    ///
    /// ```
    /// use ratchet::session::{Format, SessionData};
    ///
    /// let s = SessionData::decode(Format::Php, br#"user|s:5:"alice";visits|i:3;"#).unwrap();
    /// assert_eq!(s.get::<String>("user").as_deref(), Some("alice"));
    /// assert_eq!(s.get::<u32>("visits"), Some(3));
    /// ```
    pub fn decode(format: Format, bytes: &[u8]) -> Result<Self, DecodeError> {
        let values = match format {
            Format::Php => decode_php(bytes)?,
            Format::PhpSerialize => match decode_serialized(bytes)? {
                Value::Object(map) => map,
                Value::Array(list) if list.is_empty() => Map::new(),
                _ => return Err(DecodeError::new("a php_serialize session is an array")),
            },
            Format::Json => match serde_json::from_slice(bytes) {
                Ok(Value::Object(map)) => map,
                Ok(_) => return Err(DecodeError::new("a JSON session is an object")),
                Err(e) => return Err(DecodeError(format!("bad JSON: {e}"))),
            },
        };
        Ok(SessionData { values })
    }
}

/// Why a stored session could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(String);

impl DecodeError {
    fn new(why: &str) -> Self {
        DecodeError(why.to_owned())
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

impl From<phpserz::Error> for DecodeError {
    fn from(e: phpserz::Error) -> Self {
        DecodeError(format!("bad PHP serialization: {e}"))
    }
}

/// Deepest nesting of arrays and objects decoded; deeper is refused.
const MAX_DEPTH: usize = 32;

/// `key|value key2|value2 ...` (values back to back, keys up to `|`).
fn decode_php(bytes: &[u8]) -> Result<Map<String, Value>, DecodeError> {
    let mut values = Map::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let bar = rest
            .iter()
            .position(|&b| b == b'|')
            .ok_or_else(|| DecodeError::new("a key without `|` and a value"))?;
        let key = String::from_utf8_lossy(&rest[..bar]).into_owned();
        let mut parser = PhpParser::new(&rest[bar + 1..]);
        let value = read_value(&mut parser, 0)?;
        rest = &rest[bar + 1 + parser.position()..];
        values.insert(key, value);
    }
    Ok(values)
}

/// One `serialize()`d value, and nothing after it.
fn decode_serialized(bytes: &[u8]) -> Result<Value, DecodeError> {
    let mut parser = PhpParser::new(bytes);
    let value = read_value(&mut parser, 0)?;
    if parser.position() != bytes.len() {
        return Err(DecodeError::new("bytes after the serialized value"));
    }
    Ok(value)
}

fn read_value(parser: &mut PhpParser<'_>, depth: usize) -> Result<Value, DecodeError> {
    let token = parser.read_token()?;
    value_of(token, parser, depth)
}

fn value_of(
    token: PhpToken<'_>,
    parser: &mut PhpParser<'_>,
    depth: usize,
) -> Result<Value, DecodeError> {
    Ok(match token {
        PhpToken::Null => Value::Null,
        PhpToken::Boolean(b) => Value::Bool(b),
        PhpToken::Integer(i) => Value::from(i),
        PhpToken::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        PhpToken::String(s) => Value::String(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        PhpToken::Array { elements } => read_entries(parser, elements, depth, false)?,
        PhpToken::Object { properties, .. } => read_entries(parser, properties, depth, true)?,
        PhpToken::CustomObject { .. } => {
            return Err(DecodeError::new(
                "custom-serialized objects are not supported",
            ))
        }
        PhpToken::Reference { .. } => return Err(DecodeError::new("references are not supported")),
        PhpToken::End => return Err(DecodeError::new("`}` where a value was expected")),
    })
}

/// The `count` key/value pairs of an array or object, then its `}`. Nothing is reserved
/// from `count`: a huge declared count fails when the input runs out, not in an
/// allocation.
fn read_entries(
    parser: &mut PhpParser<'_>,
    count: u32,
    depth: usize,
    object: bool,
) -> Result<Value, DecodeError> {
    if depth >= MAX_DEPTH {
        return Err(DecodeError(format!("nested deeper than {MAX_DEPTH}")));
    }
    // In order as written: a list is a list in its order, whatever its length (a map
    // sorts its keys, and "10" sorts before "2").
    let mut entries: Vec<(String, Value)> = Vec::new();
    let mut sequential = !object;
    for index in 0..count {
        let key = match parser.read_token()? {
            PhpToken::Integer(i) => {
                sequential &= i == i64::from(index);
                i.to_string()
            }
            PhpToken::String(s) if object => s.to_property().to_str()?.to_owned(),
            PhpToken::String(s) => {
                sequential = false;
                String::from_utf8_lossy(s.as_bytes()).into_owned()
            }
            _ => return Err(DecodeError::new("an array key is an integer or a string")),
        };
        let value = read_value(parser, depth + 1)?;
        entries.push((key, value));
    }
    if parser.read_token()? != PhpToken::End {
        return Err(DecodeError::new("more entries than declared"));
    }
    Ok(if sequential {
        Value::Array(entries.into_iter().map(|(_, v)| v).collect())
    } else {
        Value::Object(entries.into_iter().collect())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn php(bytes: &[u8]) -> Result<SessionData, DecodeError> {
        SessionData::decode(Format::Php, bytes)
    }

    #[test]
    fn php_sessions_as_php_writes_them() {
        let s = php(br#"user|s:5:"alice";n|i:-7;ok|b:1;pi|d:3.5;none|N;tags|a:2:{i:0;s:1:"a";i:1;s:1:"b";}prefs|a:1:{s:5:"theme";s:4:"dark";}"#).unwrap();
        assert_eq!(s.get::<String>("user").as_deref(), Some("alice"));
        assert_eq!(s.get::<i64>("n"), Some(-7));
        assert_eq!(s.get::<bool>("ok"), Some(true));
        assert_eq!(s.get::<f64>("pi"), Some(3.5));
        assert_eq!(s.value("none"), Some(&Value::Null));
        assert_eq!(
            s.get::<Vec<String>>("tags"),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(s.value("prefs").unwrap()["theme"], "dark");
        assert_eq!(s.get::<u32>("user"), None, "wrong type");
        assert_eq!(
            s.keys().collect::<Vec<_>>(),
            ["n", "none", "ok", "pi", "prefs", "tags", "user"]
        );
        assert_eq!(php(b"").unwrap(), SessionData::default());
    }

    #[test]
    fn php_serialize_and_json_sessions() {
        let s = SessionData::decode(
            Format::PhpSerialize,
            br#"a:2:{s:4:"user";s:5:"alice";s:5:"roles";a:1:{i:0;s:5:"admin";}}"#,
        )
        .unwrap();
        assert_eq!(s.get::<String>("user").as_deref(), Some("alice"));
        assert_eq!(s.get::<Vec<String>>("roles"), Some(vec!["admin".into()]));
        let s = SessionData::decode(Format::Json, br#"{"user":"alice","id":7}"#).unwrap();
        assert_eq!(s.get::<String>("user").as_deref(), Some("alice"));
        assert_eq!(s.get::<u8>("id"), Some(7));
        assert!(SessionData::decode(Format::Json, b"[1,2]").is_err());
        assert!(SessionData::decode(Format::PhpSerialize, br#"s:1:"x";"#).is_err());
    }

    #[test]
    fn hostile_sessions_fail_clearly_without_panics_or_huge_allocations() {
        let deep_php = format!("x|{}N;{}", "a:1:{i:0;".repeat(100_000), "}".repeat(100_000));
        let deep_json = format!("{{\"x\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
        let hostile: Vec<(Format, Vec<u8>)> = vec![
            (Format::Php, br#"user|s:5:"ali"#.to_vec()), // truncated
            (Format::Php, br#"user|s:10:"alice";"#.to_vec()), // wrong length
            (Format::Php, br#"user|s:2:"alice";"#.to_vec()), // wrong length
            (Format::Php, br#"user|s:99999999999:"x";"#.to_vec()), // huge length
            (Format::Php, br#"user|s:18446744073709551616:"x";"#.to_vec()), // overflow
            (Format::Php, b"user|a:4294967295:{}".to_vec()), // huge count
            (Format::Php, b"user|a:4294967295:{i:0;N;".to_vec()), // huge count, truncated
            (Format::Php, b"user|a:1:{i:0;N;i:1;N;}".to_vec()), // more than declared
            (Format::Php, b"user|i:12".to_vec()),        // no terminator
            (Format::Php, b"user".to_vec()),             // no bar
            (Format::Php, b"user|x:1;".to_vec()),        // unknown type
            (Format::Php, b"user|}".to_vec()),           // stray end
            (Format::Php, b"user|a:1:{d:1.5;N;}".to_vec()), // float key
            (Format::Php, br#"o|C:3:"Foo":1:{x}"#.to_vec()), // custom object
            (Format::Php, b"r|r:1;".to_vec()),           // reference
            (Format::Php, deep_php.into_bytes()),        // deep nesting
            (Format::PhpSerialize, br#"a:1:{s:1:"a";N;}junk"#.to_vec()),
            (Format::Json, deep_json.into_bytes()),
            (Format::Json, b"{\"user\":".to_vec()),
        ];
        for (format, bytes) in hostile {
            let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).into_owned();
            let err = SessionData::decode(format, &bytes).expect_err(&shown);
            assert!(!err.to_string().is_empty(), "{shown}: a reason");
        }
    }

    #[test]
    fn long_lists_keep_their_order() {
        let items: String = (0..12).map(|i| format!("i:{i};s:2:\"{i:02}\";")).collect();
        let s = php(format!("tags|a:12:{{{items}}}").as_bytes()).unwrap();
        let want: Vec<String> = (0..12).map(|i| format!("{i:02}")).collect();
        assert_eq!(s.get::<Vec<String>>("tags"), Some(want));
        // A map with numeric keys out of order stays a map, in the order written.
        let s = php(br#"m|a:2:{i:1;s:1:"b";i:0;s:1:"a";}"#).unwrap();
        assert_eq!(s.value("m").unwrap()["0"], "a");
    }
}
