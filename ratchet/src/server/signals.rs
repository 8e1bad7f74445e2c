//! The signals a server under [`shutdown_on_signals`](super::Listening::shutdown_on_signals)
//! answers (the `main` feature): SIGINT and SIGTERM stop it gracefully, SIGHUP reloads what
//! the protocols load from files, SIGUSR2 hands the listening sockets over to a successor.

use mio::{Interest, Registry, Token};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR2};
use std::io;

/// What the signals that came since the last look ask for, the strongest first-class:
/// a stop outranks a handoff, which outranks a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Signalled {
    Nothing,
    Reload,
    Handoff,
    Stop,
}

/// The signals, registered with the event loop.
pub(super) struct Signals(signal_hook_mio::v1_0::Signals);

impl Signals {
    /// Catches the signals from now on; their arrival wakes `registry`'s poll with `token`.
    pub fn register(registry: &Registry, token: Token) -> io::Result<Self> {
        let mut signals = signal_hook_mio::v1_0::Signals::new([SIGINT, SIGTERM, SIGHUP, SIGUSR2])?;
        registry.register(&mut signals, token, Interest::READABLE)?;
        Ok(Signals(signals))
    }

    /// What came since the last look.
    pub fn pending(&mut self) -> Signalled {
        self.0
            .pending()
            .map(|signal| match signal {
                SIGHUP => Signalled::Reload,
                SIGUSR2 => Signalled::Handoff,
                _ => Signalled::Stop,
            })
            .max()
            .unwrap_or(Signalled::Nothing)
    }
}
