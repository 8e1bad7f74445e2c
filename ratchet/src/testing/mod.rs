//! Drive applications and protocols without sockets.
//!
//! - [`Tester`] drives a [`Component`] (or a [`StatefulComponent`]): knock at its door,
//!   open connections, feed messages, move a virtual clock that fires its timers, and
//!   assert on the commands it returns and what they deliver, topics included.
//!   [`Schedule`] drives it through random opens, messages, closes and ticks from a seed,
//!   for an app's own invariants.
//! - [`Simulation`] drives a whole [`Protocol`](crate::Protocol) stack in the server's own
//!   core, over in-memory connections, with a clock the test moves: handshakes, bytes on
//!   the wire, budgets, deadlines and timers, deterministically.
//!
//! ```
//! use ratchet::testing::Tester;
//! use ratchet::{Commands, Component, Conn, IntoCommands, Message};
//!
//! struct Echo;
//!
//! impl Component for Echo {
//!     fn on_message(&mut self, from: &Conn, msg: Message<'_>) -> impl IntoCommands {
//!         from.send(msg)
//!     }
//! }
//!
//! let mut t = Tester::new(Echo);
//! let (alice, _) = t.open();
//! assert_eq!(t.message(&alice, "hi").sent_to(&alice), ["hi"]);
//! ```

mod output;
mod pipe;
mod schedule;
mod simulation;
mod tester;

pub use output::Output;
pub use schedule::{Schedule, Step};
pub use simulation::{Client, Simulation};
pub use tester::{Knock, Tester};

#[cfg(doc)]
use crate::{Component, StatefulComponent};
