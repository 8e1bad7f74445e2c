//! The decorator's client role: the outbound connections the application asks for
//! ([`crate::client`]). Once the handshake is done they are served by the same code as
//! every other connection; what differs is here and in [`ConnState::mask`]: the request
//! and the check of its answer, who masks, and who closes the TCP connection.

pub(crate) mod handshake;

use super::deflate::Params;
use super::{rfc6455, ConnState, Phase, Version, WebSocket};
use crate::command::Command;
use crate::component::guard;
use crate::conn::{Conn, ConnId};
use crate::error::Error;
use crate::outbound::{ConnectFailure, DialOutcome};
use crate::protocol::{Dial, Outbox};
use crate::stateful::StatefulComponent;
use handshake::{Answer, Offer};
use std::net::SocketAddr;
use std::sync::Arc;

/// What an outbound connection carries: its dial, the handshake it waits for (and why it
/// failed, to report if it never opens), and whether the application closed it.
#[derive(Debug)]
pub(super) struct Outbound {
    dial: Dial,
    offer: Option<Offer>,
    /// Why it did not open, once known.
    failure: Option<ConnectFailure>,
    /// It ended for a redirect that is followed: nothing to report.
    redirected: bool,
    /// The application closed it.
    closed_by_app: bool,
}

impl<S> ConnState<S> {
    /// The masking key for the next frame: a fresh random one for every frame of an
    /// outbound connection (RFC 6455 §5.3), none for a connection this server accepted.
    pub(super) fn mask(&self) -> rfc6455::Mask {
        masks(self.outbound.is_some())
    }

    /// Whether the peer is a server, which closes the TCP connection after the closing
    /// handshake (RFC 6455 §7.1.1): a client waits for it.
    pub(super) fn waits_for_server_close(&self) -> bool {
        self.outbound.is_some()
    }
}

/// The masking key for the next frame of a connection that is a client (`client`), or
/// none: see [`ConnState::mask`].
pub(super) fn masks(client: bool) -> rfc6455::Mask {
    client.then(rand::random)
}

impl<C: StatefulComponent> WebSocket<C> {
    /// The state of an outbound connection, its request written.
    pub(super) fn dial_state(
        &mut self,
        id: ConnId,
        dial: &Dial,
        peer: SocketAddr,
        out: &mut Outbox<'_>,
    ) -> ConnState<C::State> {
        let conn = Conn::new(id, peer, None).with_outbound(dial.key);
        let until = out.after(self.config.handshake_timeout);
        let mut state = ConnState::new(conn, until);
        let mut outbound = Outbound {
            dial: dial.clone(),
            offer: None,
            failure: None,
            redirected: false,
            closed_by_app: false,
        };
        match dial.connect.target() {
            Ok(target) if target.secure && !dial.secured => {
                outbound.failure = Some(ConnectFailure::Unsupported(
                    "wss:// needs a Tls layer outside the WebSocket one (tls::Tls::outbound)"
                        .into(),
                ));
            }
            Ok(target) => {
                outbound.offer = Some(handshake::write_request(
                    &dial.connect,
                    target,
                    out.output(),
                ));
            }
            Err(failure) => outbound.failure = Some(failure),
        }
        if outbound.failure.is_some() {
            state.phase = Phase::Done;
            out.shutdown();
        }
        state.outbound = Some(Box::new(outbound));
        self.arm(&state, out);
        state
    }

    /// Reads the server's answer; once upgraded, the connection is open and `on_open`
    /// runs. Returns the bytes of the answer's head consumed.
    pub(super) fn client_handshake(
        &mut self,
        state: &mut ConnState<C::State>,
        data: &[u8],
        out: &mut Outbox<'_>,
    ) -> usize {
        let Some(outbound) = state.outbound.as_deref_mut() else {
            return 0;
        };
        let Some(offer) = &outbound.offer else {
            return data.len(); // it failed before sending its request
        };
        let connect = &outbound.dial.connect;
        let failure = match offer.answer(data, connect, self.config.max_handshake_size) {
            Answer::Partial => return 0,
            Answer::Upgraded(agreed, len) => {
                outbound.offer = None; // answered
                let subprotocol = agreed.subprotocol;
                state.conn = state.conn.clone().with_subprotocol(subprotocol);
                // The codec is the server's, with the parameters seen from this end.
                let deflate = agreed.deflate.map(Params::mirrored);
                self.open(state, Version::Rfc6455, deflate, out);
                return len;
            }
            Answer::Redirect(location) if connect.redirects() > 0 => {
                log::debug!("{} redirects to {location}", connect.url());
                outbound.redirected = true;
                out.commands(Command::Connect {
                    key: outbound.dial.key,
                    connect: Arc::new(connect.redirected(&location)),
                    scope: outbound.dial.scope,
                });
                None
            }
            Answer::Redirect(location) => Some(ConnectFailure::Redirect(location)),
            Answer::Failed(failure) => Some(failure),
        };
        outbound.failure = failure;
        state.phase = Phase::Done;
        out.shutdown();
        data.len()
    }

    /// How the connection went, for its reconnect policy.
    pub(super) fn outcome(state: &ConnState<C::State>) -> DialOutcome {
        match &state.outbound {
            Some(o) if o.closed_by_app => DialOutcome::Closed,
            _ if state.opened => DialOutcome::Dropped,
            _ => DialOutcome::Failed,
        }
    }

    /// A close is starting: while the connection still reads, it comes from the
    /// application (the decorator's own closes stop the reading first).
    pub(super) fn closing(state: &mut ConnState<C::State>) {
        let reading = !matches!(state.phase, Phase::Done);
        if let Some(outbound) = state.outbound.as_deref_mut() {
            outbound.closed_by_app |= reading;
        }
    }

    /// The handshake did not finish in time.
    pub(super) fn client_timed_out(state: &mut ConnState<C::State>) {
        if let Some(outbound) = state.outbound.as_deref_mut() {
            outbound.failure.get_or_insert(ConnectFailure::TimedOut);
        }
    }

    /// The socket failed: the reason, if the connection had not opened yet.
    pub(super) fn client_failed(state: &mut ConnState<C::State>, error: &std::io::Error) {
        if let Some(outbound) = state.outbound.as_deref_mut() {
            outbound
                .failure
                .get_or_insert(ConnectFailure::from_io(error));
        }
    }

    /// An outbound connection that never opened ends: the application hears why.
    pub(super) fn report_unopened(
        &mut self,
        state: &mut ConnState<C::State>,
        out: &mut Outbox<'_>,
    ) {
        let Some(outbound) = state.outbound.as_deref_mut() else {
            return;
        };
        if state.opened || outbound.redirected {
            return;
        }
        let failure = outbound
            .failure
            .take()
            .unwrap_or_else(|| ConnectFailure::Io("closed before the handshake completed".into()));
        let error = outbound.dial.error(failure);
        log::debug!("outbound connection {}: {error}", state.conn.id());
        let app = &mut self.app;
        match guard(|| app.on_error(&state.conn, &mut state.app, Error::Connect(error))) {
            Ok(cmds) => out.commands(cmds),
            Err(panic) => log::error!("on_error panicked: {panic}"),
        }
    }
}
