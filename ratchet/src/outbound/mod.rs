//! Outbound connections as plain data: where to connect and how ([`Connect`], [`Backoff`]),
//! whom a `wss://` connection trusts, and why an attempt failed ([`ConnectError`]). Below
//! the commands, errors and protocols that carry them; public as [`crate::client`].

mod backoff;
mod connect;
mod error;
#[cfg(feature = "tls")]
pub(crate) mod trust;
pub(crate) mod tunnel;

pub use backoff::Backoff;
pub use connect::{Connect, DialOutcome, Target};
pub use error::{ConnectError, ConnectFailure};
