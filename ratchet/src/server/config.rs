//! The server's limits: one table, documented defaults, checked once against each other
//! and against the protocol's when the server is assembled.

use crate::command::TimerScope;
use crate::error::ConfigError;
use crate::id::SLOT_BITS;
use crate::protocol::{Limits, Overflow};
use std::time::Duration;

/// Connections refused at the cap that may still be finishing their `503` at once; past
/// this, refused connections are closed without a word.
pub(crate) const BUSY_RESERVE: usize = 64;

/// Server limits. Every limit has a documented default; [`Server::bind`] checks them
/// against each other and against the protocol's ([`Protocol::limits`]) and refuses a
/// contradiction with a clear error.
///
/// | limit | default |
/// |---|---|
/// | [`read_buffer_size`](Config::read_buffer_size) | 64 KiB |
/// | [`output_budget`](Config::output_budget) | 1 MiB |
/// | [`max_output`](Config::max_output) | the budget plus 4 of the largest messages |
/// | [`slow_reader_timeout`](Config::slow_reader_timeout) | 15 s |
/// | [`overflow`](Config::overflow) | [`Overflow::Close`] |
/// | [`max_inbound`](Config::max_inbound) | 64 MiB |
/// | [`max_connections`](Config::max_connections) | open-files limit minus a reserve |
/// | [`handle_queue`](Config::handle_queue) | 65,536 requests, 64 MiB |
/// | [`linger`](Config::linger) | 2 s |
/// | [`shutdown_grace`](Config::shutdown_grace) | 5 s |
///
/// [`Server::bind`]: crate::Server::bind
/// [`Protocol::limits`]: crate::Protocol::limits
#[derive(Debug, Clone)]
pub struct Config {
    read_buffer_size: usize,
    output_budget: usize,
    /// `None`: the output budget plus four of the largest messages.
    max_output: Option<usize>,
    slow_reader_timeout: Duration,
    overflow: Overflow,
    max_inbound: usize,
    max_connections: Option<usize>,
    handle_requests: usize,
    handle_bytes: usize,
    linger: Duration,
    shutdown_grace: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            read_buffer_size: 64 << 10,
            output_budget: 1 << 20,
            max_output: None,
            slow_reader_timeout: Duration::from_secs(15),
            overflow: Overflow::Close,
            max_inbound: 64 << 20,
            max_connections: None,
            handle_requests: 1 << 16,
            handle_bytes: 64 << 20,
            linger: Duration::from_secs(2),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

impl Config {
    /// Size of the one read buffer shared by all connections, and so the most input a
    /// connection may leave unconsumed (a request head waiting for its end). It must be
    /// larger than every such limit of the protocol (the WebSocket handshake size, the
    /// line length, ...). Default: 64 KiB.
    #[must_use]
    pub fn read_buffer_size(mut self, bytes: usize) -> Self {
        self.read_buffer_size = bytes;
        self
    }

    /// The output budget of each connection: the bytes waiting to be written to it, its
    /// own and its share of broadcasts, whoever produced them (application commands,
    /// broadcasts, what decorators write, a file being sent). Past it the server stops
    /// reading from the connection and feeding its protocol (its requests wait, unparsed)
    /// until the client takes some, and the [`overflow`](Config::overflow) policy applies.
    /// Default: 1 MiB.
    #[must_use]
    pub fn output_budget(mut self, bytes: usize) -> Self {
        self.output_budget = bytes;
        self
    }

    /// The hard ceiling on one connection's waiting output (counting a shared broadcast
    /// frame whole for each of its recipients, though it is held once): a message that
    /// would pass it is refused as the [`overflow`](Config::overflow) policy says. Must
    /// be at least the output budget plus the largest message. Default: the output budget
    /// plus four of the largest messages the protocol accepts (5 MiB with the WebSocket
    /// defaults), so a burst of large messages reaches a client that reads.
    #[must_use]
    pub fn max_output(mut self, bytes: usize) -> Self {
        self.max_output = Some(bytes);
        self
    }

    /// How long a connection may stay over its output budget, without once getting back
    /// under it, before it counts as a reader that does not keep up ([`Overflow::Close`]
    /// closes it). A client that reads at full speed is never closed, however large the
    /// messages. Default: 15 s.
    #[must_use]
    pub fn slow_reader_timeout(mut self, timeout: Duration) -> Self {
        self.slow_reader_timeout = timeout;
        self
    }

    /// What happens to a connection whose client reads slower than it is sent to.
    /// Default: [`Overflow::Close`].
    #[must_use]
    pub fn overflow(mut self, policy: Overflow) -> Self {
        self.overflow = policy;
        self
    }

    /// The server-wide budget for messages in progress: the bytes held by every message
    /// begun and not finished (reassembled fragments, inflated bytes), over all
    /// connections. A message that would pass it is refused (WebSocket: close 1013, "try
    /// again later"). Must be at least the largest message. Default: 64 MiB.
    #[must_use]
    pub fn max_inbound(mut self, bytes: usize) -> Self {
        self.max_inbound = bytes;
        self
    }

    /// The most connections served at once (below 2^20). At the cap, a new connection is
    /// answered at once (HTTP protocols: `503` with `Retry-After`) and closed; refusals
    /// are counted ([`Stats::refused_connections`](crate::Stats::refused_connections))
    /// and logged once per burst. Default: the process's open-files limit, less a reserve
    /// for files, Redis connections and the listener (a sixteenth of the limit, between
    /// 64 and 1,024); the generated `main` raises the soft limit to the hard one first.
    #[must_use]
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = Some(connections);
        self
    }

    /// The queue of requests from [`Handle`](crate::Handle)s into the server: at most
    /// `requests` requests and `bytes` bytes of messages; a full queue refuses
    /// ([`SendError::Full`](crate::handle::SendError)). Default: 65,536 and 64 MiB.
    #[must_use]
    pub fn handle_queue(mut self, requests: usize, bytes: usize) -> Self {
        self.handle_requests = requests;
        self.handle_bytes = bytes;
        self
    }

    /// After closing the write side, how long to keep draining the peer's bytes before
    /// dropping the socket (a "lingering close", so the peer sees our last bytes rather
    /// than a reset); also how long a closing connection may take to flush. Default: 2 s.
    #[must_use]
    pub fn linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }

    /// On shutdown, how long connections get to finish their closing handshakes before
    /// the server returns anyway. Default: 5 s.
    #[must_use]
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Checks the limits against each other and against `limits`, the protocol's; fills
    /// in what is derived (the connection cap, the hard ceiling).
    pub(crate) fn validate(mut self, limits: Limits) -> Result<Valid, ConfigError> {
        let fail = |why: String| Err(ConfigError::new(why));
        if self.read_buffer_size < 1024 {
            return fail(format!(
                "read_buffer_size ({}) must be at least 1024 bytes",
                self.read_buffer_size
            ));
        }
        if self.read_buffer_size <= limits.max_unconsumed {
            return fail(format!(
                "read_buffer_size ({}) must be larger than the largest input the protocol waits on whole ({}: a handshake, request head or line size)",
                self.read_buffer_size, limits.max_unconsumed
            ));
        }
        if self.output_budget < 1024 {
            return fail(format!(
                "output_budget ({}) must be at least 1024 bytes",
                self.output_budget
            ));
        }
        let needed = self.output_budget.saturating_add(limits.max_message);
        let max_output = self.max_output.unwrap_or_else(|| {
            self.output_budget
                .saturating_add(limits.max_message.saturating_mul(4))
        });
        if max_output < needed {
            return fail(format!(
                "max_output ({max_output}) must be at least output_budget ({}) plus the largest message ({})",
                self.output_budget, limits.max_message
            ));
        }
        self.max_output = Some(max_output);
        if self.max_inbound < limits.max_message {
            return fail(format!(
                "max_inbound ({}) must hold at least one message of the largest size ({})",
                self.max_inbound, limits.max_message
            ));
        }
        if limits.route_depth > TimerScope::MAX_DEPTH {
            return fail(format!(
                "routers are nested {} deep; at most {} are",
                limits.route_depth,
                TimerScope::MAX_DEPTH
            ));
        }
        if self.handle_requests == 0 || self.handle_bytes == 0 {
            return fail("handle_queue must take at least one request and one byte".into());
        }
        let slots = (1usize << SLOT_BITS) - 1 - BUSY_RESERVE;
        let max_connections = match self.max_connections {
            Some(0) => return fail("max_connections must be at least 1".into()),
            Some(n) if n > slots => {
                return fail(format!("max_connections ({n}) must be at most {slots}"))
            }
            Some(n) => n,
            None => default_max_connections().min(slots),
        };
        self.max_connections = Some(max_connections);
        Ok(Valid {
            config: self,
            max_connections,
            max_message: limits.max_message,
        })
    }
}

/// A checked configuration, with its derived values.
#[derive(Debug, Clone)]
pub(crate) struct Valid {
    config: Config,
    max_connections: usize,
    max_message: usize,
}

impl Valid {
    /// One worker's share of the server's limits, of `workers`: the connection cap stays
    /// the server's (the workers count their connections together) within the slots a
    /// worker's ids can name, and the inbound budget is split (each part at least the
    /// largest message).
    pub fn share(&self, workers: usize) -> Valid {
        let mut share = self.clone();
        let slots = ((1usize << SLOT_BITS) / workers).saturating_sub(BUSY_RESERVE + 1);
        share.max_connections = self.max_connections.min(slots).max(1);
        share.config.max_connections = Some(share.max_connections);
        share.config.max_inbound = (self.config.max_inbound / workers).max(self.max_message);
        share
    }

    pub fn read_buffer_size(&self) -> usize {
        self.config.read_buffer_size
    }
    pub fn output_budget(&self) -> usize {
        self.config.output_budget
    }
    pub fn max_output(&self) -> usize {
        self.config.max_output.unwrap_or(usize::MAX)
    }
    pub fn slow_reader_timeout(&self) -> Duration {
        self.config.slow_reader_timeout
    }
    pub fn overflow(&self) -> Overflow {
        self.config.overflow
    }
    pub fn max_inbound(&self) -> usize {
        self.config.max_inbound
    }
    pub fn max_connections(&self) -> usize {
        self.max_connections
    }
    pub fn handle_queue(&self) -> (usize, usize) {
        (self.config.handle_requests, self.config.handle_bytes)
    }
    pub fn linger(&self) -> Duration {
        self.config.linger
    }
    pub fn shutdown_grace(&self) -> Duration {
        self.config.shutdown_grace
    }
}

/// The open-files limit less a reserve for files, Redis connections and the listener.
fn default_max_connections() -> usize {
    let limit = rlimit::getrlimit(rlimit::Resource::NOFILE)
        .map_or(1024, |(soft, _)| soft)
        .min(1 << 30) as usize;
    let reserve = (limit / 16).clamp(64, 1024);
    limit.saturating_sub(reserve).max(1)
}

/// Raises the soft open-files limit to the hard one (what a server taking many
/// connections wants); returns the new soft limit. The generated `main` calls it.
pub fn raise_open_files_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contradictions_are_refused_with_the_reason() {
        let limits = Limits::default()
            .with_unconsumed(8 << 10)
            .with_message(1 << 20);
        assert!(Config::default().validate(limits).is_ok());
        let cases = [
            (Config::default().read_buffer_size(0), "read_buffer_size"),
            (Config::default().read_buffer_size(8 << 10), "larger than"),
            (Config::default().max_output(1 << 20), "max_output"),
            (Config::default().max_inbound(1000), "max_inbound"),
            (Config::default().max_connections(0), "max_connections"),
            (Config::default().max_connections(1 << 21), "at most"),
            (Config::default().output_budget(10), "output_budget"),
            (Config::default().handle_queue(0, 10), "handle_queue"),
        ];
        for (config, says) in cases {
            let err = config.validate(limits).expect_err(says).to_string();
            assert!(err.contains(says), "{err}");
        }
        let deep = Limits {
            route_depth: 9,
            ..limits
        };
        assert!(Config::default().validate(deep).is_err());
    }

    #[test]
    fn the_connection_cap_leaves_a_reserve_of_descriptors() {
        let valid = Config::default().validate(Limits::default()).unwrap();
        let (soft, _) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
        assert!((valid.max_connections() as u64) < soft);
        assert!(valid.max_connections() >= 1);
    }
}
