//! The publisher's connection: a server's channels (`PUBLISH`) or a cluster's sharded
//! channels (`SPUBLISH`, sent to the master of the channel's slot, following its moves),
//! and the history of the topics that keep one, in streams.

use super::threads::{is_cluster, Seeds, COMMAND_TIMEOUT, CONNECT_TIMEOUT};
use crate::history::{Offset, Retention};
use crate::message::{Kind, Payload};
use redis::Value;

/// Numbers a history topic's message and publishes it, in one step so that the live
/// order is the history's: the stream has the channel's name (in a cluster, the same
/// slot), keeps at least `ARGV[1]` messages and expires `ARGV[5]` ms after the last; the
/// envelope is the head, the id's length and the id, then the message.
const NUMBER_AND_PUBLISH: &str = r"
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'k', ARGV[2], 'm', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call(ARGV[6], KEYS[1], ARGV[3] .. string.char(#id) .. id .. ARGV[4])
return id
";

/// The most messages one recovery reads (the stream is bounded by its `MAXLEN ~` too).
const MAX_RECOVERED: usize = 100_000;
/// Messages read per round trip while recovering.
const PAGE: usize = 1000;

/// A history topic's publish, as the publisher thread gets it.
pub(super) struct Numbered {
    pub topic: String,
    /// Who the publisher left out.
    pub except: Option<crate::conn::ConnId>,
    /// The stream, and the channel: `<prefix><topic>`.
    pub key: String,
    /// The envelope up to the offset.
    pub head: Vec<u8>,
    pub msg: Payload,
    pub keep: Retention,
}

pub(super) enum Sink {
    Server(redis::Connection),
    Cluster(Box<redis::cluster::ClusterConnection>),
}

impl Sink {
    pub fn open(seeds: &Seeds) -> redis::RedisResult<Sink> {
        let mut con = seeds.connect(COMMAND_TIMEOUT)?;
        if !is_cluster(&mut con)? {
            return Ok(Sink::Server(con));
        }
        let infos = seeds.0.iter().map(|c| c.get_connection_info().clone());
        let cluster = redis::cluster::ClusterClient::builder(infos)
            .connection_timeout(CONNECT_TIMEOUT)
            .response_timeout(COMMAND_TIMEOUT)
            .build()?;
        Ok(Sink::Cluster(Box::new(cluster.get_connection()?)))
    }

    pub fn con(&mut self) -> &mut dyn redis::ConnectionLike {
        match self {
            Sink::Server(con) => con,
            Sink::Cluster(con) => &mut **con,
        }
    }

    fn publish_command(&self) -> &'static str {
        match self {
            Sink::Server(_) => "PUBLISH",
            Sink::Cluster(_) => "SPUBLISH",
        }
    }

    pub fn publish(&mut self, channel: &str, envelope: &[u8]) -> redis::RedisResult<()> {
        let verb = self.publish_command();
        redis::cmd(verb)
            .arg(channel)
            .arg(envelope)
            .query::<i64>(self.con())
            .map(drop)
    }

    pub fn publish_numbered(&mut self, n: &Numbered) -> redis::RedisResult<()> {
        let verb = self.publish_command();
        let ttl_ms = u64::try_from(n.keep.ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        redis::Script::new(NUMBER_AND_PUBLISH)
            .key(&n.key)
            .arg(n.keep.len)
            .arg(u8::from(n.msg.kind() == Kind::Binary))
            .arg(&n.head)
            .arg(n.msg.as_bytes())
            .arg(ttl_ms)
            .arg(verb)
            .invoke::<String>(self.con())
            .map(drop)
    }

    /// The history of the stream `key` after `since` (the last `keep.len` without it),
    /// oldest first, and whether nothing after `since` was lost: its own entry is still
    /// there (the oldest go first, so everything after it is too).
    pub fn read_history(
        &mut self,
        key: &str,
        since: Option<Offset>,
        keep: Retention,
    ) -> redis::RedisResult<(Vec<(Offset, Payload)>, bool)> {
        let Some(since) = since else {
            let mut last: Vec<(Offset, Payload)> = entries(
                redis::cmd("XREVRANGE")
                    .arg(key)
                    .arg("+")
                    .arg("-")
                    .arg("COUNT")
                    .arg(keep.len)
                    .query(self.con())?,
            );
            last.reverse();
            return Ok((last, true));
        };
        let mut found = Vec::new();
        let mut start = since.to_string();
        let mut complete = None;
        loop {
            let page = entries(
                redis::cmd("XRANGE")
                    .arg(key)
                    .arg(&start)
                    .arg("+")
                    .arg("COUNT")
                    .arg(PAGE)
                    .query(self.con())?,
            );
            complete.get_or_insert(page.first().is_some_and(|(o, _)| *o == since));
            let full = page.len() == PAGE;
            let Some(&(last, _)) = page.last() else { break };
            found.extend(page.into_iter().filter(|(o, _)| *o > since));
            if !full || found.len() >= MAX_RECOVERED {
                complete = complete.map(|c| c && found.len() < MAX_RECOVERED);
                break;
            }
            start = format!("({last}");
        }
        Ok((found, complete.unwrap_or(false)))
    }
}

/// The entries of an `XRANGE` reply: `[[id, [field, value, ...]], ...]`, with fields `k`
/// (0 text, 1 binary) and `m` (the message); anything else is skipped.
fn entries(reply: Value) -> Vec<(Offset, Payload)> {
    let Value::Array(items) = reply else {
        return Vec::new();
    };
    items.into_iter().filter_map(entry).collect()
}

fn entry(item: Value) -> Option<(Offset, Payload)> {
    let Value::Array(parts) = item else {
        return None;
    };
    let [id, Value::Array(fields)] = parts.as_slice() else {
        return None;
    };
    let offset: Offset = text(id)?.parse().ok()?;
    let (mut kind, mut msg) = (None, None);
    for pair in fields.chunks(2) {
        match (pair.first().and_then(text), pair.get(1)) {
            (Some("k"), Some(value)) => kind = text(value),
            (Some("m"), Some(Value::BulkString(bytes))) => msg = Some(bytes),
            _ => {}
        }
    }
    let msg = match kind? {
        "0" => Payload::text(std::str::from_utf8(msg?).ok()?),
        _ => Payload::binary(msg?.clone()),
    };
    Some((offset, msg))
}

fn text(value: &Value) -> Option<&str> {
    match value {
        Value::BulkString(bytes) => std::str::from_utf8(bytes).ok(),
        Value::SimpleString(s) => Some(s),
        _ => None,
    }
}
