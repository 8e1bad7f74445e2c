//! The subscription in a Redis Cluster. A sharded channel (`SSUBSCRIBE`) lives on the
//! master serving its hash slot, so a process holds one connection per master, each
//! subscribed to the channels of the wanted topics whose slots that master serves. Each
//! connection has a thread that reads and delivers (a topic's messages all come through
//! one connection, in order); the subscriber thread writes the subscription changes and
//! watches for trouble.
//!
//! When the cluster changes under it (a master unreachable or failed over, a slot moved,
//! which Redis signals by dropping the channel's subscribers with a `sunsubscribe` of its
//! own, or a subscription refused with `MOVED`), it drops every connection, reads the
//! slots again and subscribes anew: what was published in between is missed, as
//! everywhere in the bridge (at most once).

use super::inbox::Inbox;
use super::slots::{slot, Node, SlotMap};
use super::subscriber::{Subscriber, POLL};
use super::threads::{Backoff, COMMAND_TIMEOUT, CONNECT_TIMEOUT};
use redis::Value;
use std::collections::{HashMap, HashSet};
use std::io::{BufReader, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::time::Instant;

/// What the readers may have told the subscriber thread and it has not yet taken in.
const EVENTS: usize = 1024;

/// Subscribes to the wanted channels on the masters of `map`, then delivers until
/// something fails (what, for the log) or the bridge stops.
pub(super) fn listen(
    sub: &Subscriber,
    map: &SlotMap,
    down: &mut bool,
    backoff: &mut Backoff,
) -> Option<String> {
    // Readers wait while it is full: they then read no faster than this thread takes in
    // their acknowledgements, and the rest waits in Redis.
    let (tx, rx) = mpsc::sync_channel(EVENTS);
    let mut shards = Shards {
        map,
        links: Vec::new(),
        pending: HashMap::new(),
        since: None,
        seen: None,
    };
    for node in map.masters() {
        match open(sub, node, tx.clone()) {
            Ok(link) => shards.links.push(link),
            Err(e) => return Some(e),
        }
    }
    drop(tx);
    // Up once every wanted channel is confirmed.
    if let Err(e) = shards.catch_up(sub).and_then(|()| shards.settle(sub, &rx)) {
        return Some(e);
    }
    sub.up(down, backoff);
    let failure = shards.run(sub, &rx);
    sub.inbox
        .status
        .0
        .subscribed
        .store(false, Ordering::Relaxed);
    failure
}

/// What a connection's reader tells the subscriber thread.
enum Event {
    /// Redis confirmed a subscription (`true`) or an unsubscription, asked for or not.
    Ack { subscribed: bool, channel: String },
    /// The connection failed, or Redis refused a command.
    Failed(String),
}

/// A connection to one master: written here, read by its own thread.
struct Link {
    node: Node,
    stream: TcpStream,
    /// The channels subscribed there (or asked for).
    channels: HashSet<String>,
}

impl Drop for Link {
    fn drop(&mut self) {
        // Ends the reader.
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

struct Shards<'a> {
    map: &'a SlotMap,
    links: Vec<Link>,
    /// Confirmations awaited, by kind (subscribe or not) and channel.
    pending: HashMap<(bool, String), usize>,
    /// Since when confirmations are awaited without one coming.
    since: Option<Instant>,
    /// The interest changes the subscriptions reflect once confirmed.
    seen: Option<u64>,
}

impl Shards<'_> {
    fn run(&mut self, sub: &Subscriber, events: &Receiver<Event>) -> Option<String> {
        loop {
            if sub.inbox.stopping() {
                return None;
            }
            if let Err(e) = self.catch_up(sub).and_then(|()| self.next(sub, events)) {
                return Some(e);
            }
        }
    }

    /// Waits until every change asked for is confirmed.
    fn settle(&mut self, sub: &Subscriber, events: &Receiver<Event>) -> Result<(), String> {
        while !self.pending.is_empty() {
            self.next(sub, events)?;
        }
        Ok(())
    }

    /// Takes in what the readers say, waiting at most one poll.
    fn next(&mut self, sub: &Subscriber, events: &Receiver<Event>) -> Result<(), String> {
        match events.recv_timeout(POLL) {
            Ok(event) => self.on(sub, event),
            Err(RecvTimeoutError::Timeout) => match self.since {
                Some(since) if since.elapsed() > COMMAND_TIMEOUT => {
                    Err("the cluster did not confirm the subscriptions".into())
                }
                _ => Ok(()),
            },
            Err(RecvTimeoutError::Disconnected) => Err("every connection closed".into()),
        }
    }

    /// Subscribes each master to the newly wanted channels it serves and unsubscribes it
    /// from the others (one write per master), confirming the change once Redis has.
    fn catch_up(&mut self, sub: &Subscriber) -> Result<(), String> {
        let Some((seen, topics)) = sub.interest.changed_since(self.seen) else {
            return Ok(());
        };
        let mut wanted = vec![HashSet::new(); self.links.len()];
        for channel in topics.iter().flat_map(|topic| sub.inbox.channels(topic)) {
            let slot = slot(&channel);
            let link = self
                .map
                .owner(slot)
                .and_then(|node| self.links.iter().position(|l| &l.node == node))
                .ok_or_else(|| format!("no master serves slot {slot}"))?;
            wanted[link].insert(channel);
        }
        for (link, wanted) in self.links.iter_mut().zip(wanted) {
            let mut commands = Vec::new();
            let changes = [
                (true, wanted.difference(&link.channels)),
                (false, link.channels.difference(&wanted)),
            ];
            for (subscribe, channels) in changes {
                let verb = if subscribe {
                    "SSUBSCRIBE"
                } else {
                    "SUNSUBSCRIBE"
                };
                for channel in channels {
                    commands.extend(redis::cmd(verb).arg(channel).get_packed_command());
                    *self
                        .pending
                        .entry((subscribe, channel.clone()))
                        .or_default() += 1;
                }
            }
            if !commands.is_empty() {
                let (host, port) = &link.node;
                link.stream
                    .write_all(&commands)
                    .map_err(|e| format!("{host}:{port}: {e}"))?;
            }
            link.channels = wanted;
        }
        self.seen = Some(seen);
        if self.pending.is_empty() {
            sub.interest.confirm(seen);
        } else {
            self.since.get_or_insert_with(Instant::now);
        }
        Ok(())
    }

    fn on(&mut self, sub: &Subscriber, event: Event) -> Result<(), String> {
        let (subscribed, channel) = match event {
            Event::Failed(e) => return Err(e),
            Event::Ack {
                subscribed,
                channel,
            } => (subscribed, channel),
        };
        let key = (subscribed, channel);
        match self.pending.get_mut(&key) {
            Some(1) => {
                self.pending.remove(&key);
                self.since = Some(Instant::now());
            }
            Some(n) => {
                *n -= 1;
                self.since = Some(Instant::now());
            }
            // Redis drops the subscribers of a channel whose slot moves elsewhere.
            None if !subscribed => {
                return Err(format!("{} left its master (slot moved)", key.1));
            }
            None => {}
        }
        if self.pending.is_empty() {
            self.since = None;
            if let Some(seen) = self.seen {
                sub.interest.confirm(seen);
            }
        }
        Ok(())
    }
}

/// Connects to `node` (with the seeds' credentials) and starts its reader.
fn open(sub: &Subscriber, node: Node, events: SyncSender<Event>) -> Result<Link, String> {
    let name = format!("{}:{}", node.0, node.1);
    let failed = |e: &dyn std::fmt::Display| format!("{name}: {e}");
    let addr = (node.0.as_str(), node.1)
        .to_socket_addrs()
        .map_err(|e| failed(&e))?
        .next()
        .ok_or_else(|| failed(&"no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).map_err(|e| failed(&e))?;
    let mut reader = stream
        .set_nodelay(true)
        .and_then(|()| stream.set_write_timeout(Some(COMMAND_TIMEOUT)))
        .and_then(|()| stream.set_read_timeout(Some(COMMAND_TIMEOUT)))
        .and_then(|()| stream.try_clone())
        .map(BufReader::new)
        .map_err(|e| failed(&e))?;
    let mut parser = redis::Parser::new();
    if let (user, Some(password)) = sub.seeds.credentials() {
        let mut auth = redis::cmd("AUTH");
        auth.arg(user).arg(password);
        stream
            .write_all(&auth.get_packed_command())
            .map_err(|e| failed(&e))?;
        match parser.parse_value(&mut reader) {
            Ok(Value::Okay) => {}
            Ok(other) => return Err(failed(&format!("AUTH answered {other:?}"))),
            Err(e) => return Err(failed(&e)),
        }
    }
    // The reader waits as long as it takes; dropping the link ends it.
    stream.set_read_timeout(None).map_err(|e| failed(&e))?;
    let inbox = sub.inbox.clone();
    std::thread::Builder::new()
        .name("ratchet-redis-shard".into())
        .spawn(move || read(&name, parser, reader, &inbox, &events))
        .map_err(|e| format!("cannot start a reader: {e}"))?;
    Ok(Link {
        node,
        stream,
        channels: HashSet::new(),
    })
}

/// Delivers the messages of one master's connection, and tells the subscriber thread of
/// the rest, until the connection ends.
fn read(
    name: &str,
    mut parser: redis::Parser,
    mut reader: BufReader<TcpStream>,
    inbox: &Inbox,
    events: &SyncSender<Event>,
) {
    loop {
        let items = match parser.parse_value(&mut reader) {
            Ok(Value::Array(items)) => items,
            Ok(Value::ServerError(e)) => {
                let _ = events.send(Event::Failed(format!("{name}: {e}")));
                continue;
            }
            Ok(_) => continue,
            Err(e) => {
                let _ = events.send(Event::Failed(format!("{name}: {e}")));
                return;
            }
        };
        let [Value::BulkString(kind), Value::BulkString(channel), rest] = items.as_slice() else {
            continue;
        };
        let Ok(channel) = std::str::from_utf8(channel) else {
            continue;
        };
        let event = match (kind.as_slice(), rest) {
            (b"smessage", Value::BulkString(bytes)) => {
                if inbox.take(channel, bytes).is_err() {
                    return; // the bridge stops
                }
                continue;
            }
            (b"ssubscribe", _) => Event::Ack {
                subscribed: true,
                channel: channel.to_owned(),
            },
            (b"sunsubscribe", _) => Event::Ack {
                subscribed: false,
                channel: channel.to_owned(),
            },
            _ => continue,
        };
        if events.send(event).is_err() {
            return; // the links are gone
        }
    }
}
