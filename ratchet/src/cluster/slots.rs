//! Where a channel lives in a Redis Cluster: its hash slot, and the master serving it.

use redis::Value;

/// The slots a cluster divides its keys (and sharded channels) into.
const SLOTS: u16 = 16384;

/// The hash slot of `channel`, as the cluster computes it: CRC16 (XMODEM) of the channel,
/// or of its hash tag (what lies between the first `{` and the next `}`, when not empty).
pub(super) fn slot(channel: &str) -> u16 {
    let bytes = channel.as_bytes();
    let hashed = bytes
        .iter()
        .position(|&b| b == b'{')
        .and_then(|open| {
            let rest = &bytes[open + 1..];
            let close = rest.iter().position(|&b| b == b'}')?;
            (close > 0).then(|| &rest[..close])
        })
        .unwrap_or(bytes);
    crc16::State::<crc16::XMODEM>::calculate(hashed) % SLOTS
}

/// A master's address, as the cluster announces it.
pub(super) type Node = (String, u16);

/// Which master serves which slots (`CLUSTER SLOTS`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct SlotMap {
    /// Inclusive ranges, sorted by their first slot.
    ranges: Vec<(u16, u16, Node)>,
}

impl SlotMap {
    /// Reads the map from a node of the cluster.
    pub fn read(con: &mut redis::Connection) -> redis::RedisResult<SlotMap> {
        let reply: Value = redis::cmd("CLUSTER").arg("SLOTS").query(con)?;
        SlotMap::parse(&reply).ok_or_else(|| {
            redis::RedisError::from((
                redis::ErrorKind::Parse,
                "unexpected CLUSTER SLOTS reply",
                format!("{reply:?}"),
            ))
        })
    }

    /// `[[start, end, [ip, port, ...], replicas...], ...]`.
    fn parse(reply: &Value) -> Option<SlotMap> {
        let Value::Array(entries) = reply else {
            return None;
        };
        let mut ranges = Vec::with_capacity(entries.len());
        for entry in entries {
            let Value::Array(entry) = entry else {
                return None;
            };
            let [Value::Int(start), Value::Int(end), Value::Array(master), ..] = entry.as_slice()
            else {
                return None;
            };
            let [host, Value::Int(port), ..] = master.as_slice() else {
                return None;
            };
            let host = match host {
                Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok()?,
                Value::SimpleString(s) => s.clone(),
                _ => return None,
            };
            let range = (u16::try_from(*start).ok()?, u16::try_from(*end).ok()?);
            ranges.push((range.0, range.1, (host, u16::try_from(*port).ok()?)));
        }
        ranges.sort_by_key(|r| r.0);
        Some(SlotMap { ranges })
    }

    /// The master serving `slot`, if the cluster has one for it.
    pub fn owner(&self, slot: u16) -> Option<&Node> {
        let i = self
            .ranges
            .partition_point(|r| r.0 <= slot)
            .checked_sub(1)?;
        let (_, end, node) = &self.ranges[i];
        (slot <= *end).then_some(node)
    }

    /// Every master, once each.
    pub fn masters(&self) -> Vec<Node> {
        let mut nodes: Vec<Node> = self.ranges.iter().map(|r| r.2.clone()).collect();
        nodes.sort();
        nodes.dedup();
        nodes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_the_cluster_specification() {
        // The examples of the Redis Cluster specification and `CLUSTER KEYSLOT`.
        assert_eq!(slot("123456789"), 0x31C3 % SLOTS);
        assert_eq!(slot("foo"), 12182);
        assert_eq!(slot("{user1000}.following"), slot("user1000"));
        assert_eq!(slot("foo{}{bar}"), slot("foo{}{bar}"));
        assert_ne!(slot("foo{}{bar}"), slot("bar"));
        assert_eq!(slot("foo{{bar}}zap"), slot("{bar"));
        assert_eq!(slot("foo{bar}{zap}"), slot("bar"));
    }

    #[test]
    fn a_map_is_read_from_cluster_slots_and_answers_owners() {
        let node = |port: i64| {
            Value::Array(vec![
                Value::BulkString(b"127.0.0.1".to_vec()),
                Value::Int(port),
                Value::BulkString(b"id".to_vec()),
            ])
        };
        let range = |start, end, port| {
            Value::Array(vec![
                Value::Int(start),
                Value::Int(end),
                node(port),
                node(port + 3),
            ])
        };
        let reply = Value::Array(vec![
            range(5461, 10922, 7001),
            range(0, 5460, 7000),
            range(10923, 16383, 7002),
        ]);
        let map = SlotMap::parse(&reply).unwrap();
        let port = |slot| map.owner(slot).map(|n| n.1);
        assert_eq!(port(0), Some(7000));
        assert_eq!(port(5460), Some(7000));
        assert_eq!(port(5461), Some(7001));
        assert_eq!(port(16383), Some(7002));
        assert_eq!(map.masters().len(), 3);
        let partial = SlotMap::parse(&Value::Array(vec![range(100, 200, 7000)])).unwrap();
        assert_eq!(partial.owner(99), None);
        assert_eq!(partial.owner(201), None);
        assert!(SlotMap::parse(&Value::Int(1)).is_none());
    }
}
