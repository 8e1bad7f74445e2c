//! What comes in: the opening handshake, then frames of the version it chose, turned into
//! the application's events.

use super::deflate::Params;
use super::handshake::{self, Outcome, Rejection};
use super::send::ConnDeflate;
use super::{client, hixie, rfc6455, ConnState, Phase, Version, WebSocket};
use crate::command::Command;
use crate::component::guard;
use crate::conn::Conn;
use crate::door::{Answer, Door};
use crate::error::{Error, ProtocolError};
use crate::http::{self, Head};
use crate::message::Message;
use crate::protocol::Outbox;
use crate::rate::{judge, OverRate, Verdict};
use crate::stateful::StatefulComponent;
use crate::CloseCode;

/// A protocol error met while messages of the connection were on the app thread: it is
/// acted on once they are handled, so that the close never overtakes their replies.
#[derive(Debug, Clone, Copy)]
struct FailedBehind(ProtocolError);

/// What the door said, as the handshake acts on it.
enum Admission {
    Open,
    /// No answer yet: the request waits.
    Wait,
    Refuse(Rejection),
}

impl<C: StatefulComponent> WebSocket<C> {
    /// A handler panicked: tell the application, close with 1011.
    pub(super) fn panicked(
        &mut self,
        state: &mut ConnState<C::State>,
        panic: String,
        out: &mut Outbox<'_>,
    ) {
        log::error!(
            "handler panicked on connection {}: {panic}",
            state.conn.id()
        );
        let app = &mut self.app;
        if let Ok(cmds) = guard(|| app.on_error(&state.conn, &mut state.app, Error::Panic(panic))) {
            out.commands(cmds);
        }
        state.phase = Phase::Done;
        out.commands(Command::close(
            state.conn.id(),
            CloseCode::Error,
            "internal error",
        ));
    }

    /// Whether a [`FailedBehind`] waits on the connection (then nothing after it is
    /// decoded): it is acted on once nothing of the connection is on the app thread,
    /// and until then the input stays paused.
    pub(super) fn failed_behind(
        &mut self,
        state: &mut ConnState<C::State>,
        out: &mut Outbox<'_>,
    ) -> bool {
        if state.conn.extensions_mut().get::<FailedBehind>().is_none() {
            return false;
        }
        if out.draining() || !self.app.holds(&mut state.conn, &mut state.app) {
            if let Some(FailedBehind(err)) = state.conn.extensions_mut().take() {
                self.fail(state, err, out);
            }
        } else {
            out.pause_input();
        }
        true
    }

    /// The peer broke a rule (or a limit): tell the application, close with the rule's
    /// code.
    pub(super) fn fail(
        &mut self,
        state: &mut ConnState<C::State>,
        err: ProtocolError,
        out: &mut Outbox<'_>,
    ) {
        log::debug!("connection {} failed: {err}", state.conn.id());
        if state.close_sent {
            // Already closing; the peer's close frame is not coming in a readable form.
            state.phase = Phase::Done;
            out.shutdown();
            return;
        }
        let app = &mut self.app;
        match guard(|| app.on_error(&state.conn, &mut state.app, Error::Protocol(err))) {
            Ok(cmds) => out.commands(cmds),
            Err(panic) => log::error!(
                "on_error panicked on connection {}: {panic}",
                state.conn.id()
            ),
        }
        state.phase = Phase::Done;
        out.commands(Command::close(
            state.conn.id(),
            err.close_code(),
            err.to_string(),
        ));
    }

    /// The opening handshake, parsed once (or taken from an outer layer that parsed it).
    pub(super) fn handshake(
        &mut self,
        state: &mut ConnState<C::State>,
        data: &mut [u8],
        out: &mut Outbox<'_>,
    ) -> usize {
        let limits = handshake::Limits {
            max_size: self.config.max_handshake_size,
            deflate: self.config.deflate.as_ref(),
            subprotocols: &self.config.subprotocols,
            require_subprotocol: self.config.require_subprotocol,
        };
        let outcome = match http::request(out, data, limits.max_size) {
            Head::Partial => return 0,
            Head::Bad(status, reason) => Outcome::Reject(Rejection::new(status, reason)),
            Head::Complete(request, head_len) => {
                handshake::accept(request, &data[head_len..], head_len, limits)
            }
        };
        match outcome {
            Outcome::Partial => 0,
            Outcome::Reject(rejection) => {
                log::debug!(
                    "handshake from {} refused: {} {}",
                    state.conn.peer(),
                    rejection.status,
                    rejection.reason
                );
                self.counts.refused(rejection.status);
                out.output().extend_from_slice(&rejection.response());
                out.shutdown();
                state.phase = Phase::Done;
                data.len()
            }
            Outcome::Accept {
                consumed,
                version,
                request,
                deflate,
                subprotocol,
                response,
            } => {
                let extensions = std::mem::take(state.conn.extensions_mut());
                state.conn = Conn::with_shared_request(state.conn.id(), state.conn.peer(), request)
                    .with_subprotocol(subprotocol);
                *state.conn.extensions_mut() = extensions;
                match self.door(state) {
                    Admission::Open => {}
                    // The request stays unconsumed, held by the server, until the answer;
                    // nothing more is read meanwhile (not even the client's end).
                    Admission::Wait => {
                        out.await_input();
                        return 0;
                    }
                    Admission::Refuse(refusal) => {
                        self.counts.refused(refusal.status);
                        out.output().extend_from_slice(&refusal.response());
                        out.shutdown();
                        state.phase = Phase::Done;
                        return data.len();
                    }
                }
                out.output().extend_from_slice(&response);
                self.open(state, version, deflate, out);
                consumed
            }
        }
    }

    /// The handshake is done, either way round: the connection speaks `version`, with
    /// permessage-deflate's `deflate` (seen from this end: what it inflates is the
    /// `client_*` side), a client's decoder refusing masked frames; the application hears
    /// `on_open`.
    pub(super) fn open(
        &mut self,
        state: &mut ConnState<C::State>,
        version: Version,
        deflate: Option<Params>,
        out: &mut Outbox<'_>,
    ) {
        state.heard_from = false; // silence is counted from the handshake on
        state.version = Some(version);
        state.keepalive_at = self.keepalive(state).map(|every| out.after(every));
        state.phase = if version.is_hybi() {
            Phase::Hybi(None) // lent at its first read
        } else {
            Phase::Hixie(Box::new(hixie::Decoder::new(self.config.max_message_size)))
        };
        state.deflate = deflate.map(ConnDeflate::new);
        state.opened = true;
        self.counts.opened(version);
        let app = &mut self.app;
        match guard(|| app.on_open(&state.conn, &mut state.app)) {
            Ok(cmds) => out.commands(cmds),
            Err(panic) => self.panicked(state, panic, out),
        }
    }

    /// Asks the application's door, or, if it said it would answer later, looks for the
    /// answer that came through the handle.
    fn door(&mut self, state: &mut ConnState<C::State>) -> Admission {
        let answer = if state.door_pending {
            match state.conn.extensions_mut().take::<Answer>() {
                Some(Answer(door)) => Ok(door),
                None => return Admission::Wait,
            }
        } else {
            let app = &mut self.app;
            let mut answer = Door::Open;
            guard(|| {
                answer = app.on_request(&state.conn, &mut state.app);
                crate::Commands::none()
            })
            .map(|_| answer)
        };
        let (status, reason) = match answer {
            Ok(Door::Open) => return Admission::Open,
            Ok(Door::Later) => {
                state.door_pending = true;
                return Admission::Wait;
            }
            Ok(Door::Refuse(refuse)) => (refuse.status(), refuse.reason().to_owned()),
            Err(panic) => {
                log::error!("on_request panicked for {}: {panic}", state.conn.peer());
                (500, "internal error".to_owned())
            }
        };
        log::debug!(
            "{} refused at the door: {status} {reason}",
            state.conn.peer()
        );
        Admission::Refuse(Rejection::new(status, reason))
    }

    /// A message came over the connection's rate and was dropped: the application hears
    /// `RateLimited`, or the connection fails with 1008. Whether reading goes on.
    fn over_rate(
        &mut self,
        state: &mut ConnState<C::State>,
        over: OverRate,
        out: &mut Outbox<'_>,
    ) -> bool {
        if over == OverRate::Close {
            self.fail(state, ProtocolError::RateLimit, out);
            return false;
        }
        let app = &mut self.app;
        match guard(|| app.on_error(&state.conn, &mut state.app, Error::RateLimited)) {
            Ok(cmds) => out.commands(cmds),
            Err(panic) => self.panicked(state, panic, out),
        }
        !matches!(state.phase, Phase::Done)
    }

    pub(super) fn hybi_frames(
        &mut self,
        state: &mut ConnState<C::State>,
        data: &mut [u8],
        mut pos: usize,
        out: &mut Outbox<'_>,
    ) -> usize {
        let client = state.outbound.is_some();
        // Nothing is decoded after an error that waits for the replies before it.
        if self.failed_behind(state, out) {
            return data.len();
        }
        let len = data.len();
        loop {
            // With messages of it on the app thread, the data frames already read go on;
            // a control frame, an error and the next read wait for their replies.
            let behind = !out.draining() && self.app.holds(&mut state.conn, &mut state.app);
            let Phase::Hybi(Some(decoder)) = &mut state.phase else {
                return data.len();
            };
            // (A rate limit's close could not wait: with one, nothing goes on.)
            let end = match behind {
                false => data.len(),
                true if self.config.rate.is_some() => {
                    out.pause_input();
                    return pos;
                }
                true => match decoder.data_frame_len(&data[pos..]) {
                    Some(len) => pos + len,
                    None => {
                        decoder.release_all();
                        out.pause_input();
                        return pos;
                    }
                },
            };
            let frame = match decoder.decode(&mut data[..end], &mut pos, out.inbound_allowance()) {
                Ok(Some(frame)) => frame,
                // A fragment whole: the next frame is looked at first.
                Ok(None) if behind && pos == end && end < len => continue,
                Ok(None) => {
                    decoder.release_all();
                    if behind {
                        out.pause_input();
                    }
                    return pos;
                }
                Err(err) if behind => {
                    state.conn.extensions_mut().insert(FailedBehind(err));
                    out.pause_input();
                    return data.len();
                }
                Err(err) => {
                    self.fail(state, err, out);
                    return data.len();
                }
            };
            match frame {
                rfc6455::Frame::Message(msg) => {
                    self.counts.received(msg.as_bytes().len());
                    // Nothing more is delivered once the application asked to close.
                    if state.close_sent || out.close_requested() {
                        continue;
                    }
                    let rate = self.config.rate.as_ref();
                    let verdict =
                        judge(rate, &mut state.allowance, out.now(), msg.as_bytes().len());
                    if let Verdict::Refuse(over) = verdict {
                        if self.over_rate(state, over, out) {
                            continue;
                        }
                        return data.len();
                    }
                    let app = &mut self.app;
                    match guard(|| app.on_message(&state.conn, &mut state.app, msg)) {
                        Ok(cmds) => out.commands(cmds),
                        Err(panic) => {
                            self.panicked(state, panic, out);
                            return data.len();
                        }
                    }
                }
                rfc6455::Frame::Ping(payload) => {
                    if !state.close_sent {
                        rfc6455::write_pong(out.output(), payload, client::masks(client));
                    }
                }
                rfc6455::Frame::Pong(_) => {}
                rfc6455::Frame::Close(code) => {
                    let code = code.map_or(CloseCode::NoStatus, |(code, _)| CloseCode::from(code));
                    state.phase = Phase::Done;
                    if state.close_sent {
                        if !state.waits_for_server_close() {
                            out.shutdown();
                        }
                    } else {
                        out.commands(Command::close(state.conn.id(), code, ""));
                    }
                    return data.len();
                }
            }
        }
    }

    pub(super) fn hixie_frames(
        &mut self,
        state: &mut ConnState<C::State>,
        data: &[u8],
        mut pos: usize,
        out: &mut Outbox<'_>,
    ) -> usize {
        loop {
            if !out.draining() && self.app.holds(&mut state.conn, &mut state.app) {
                out.pause_input();
                return pos;
            }
            let Phase::Hixie(decoder) = &mut state.phase else {
                return data.len();
            };
            match decoder.decode(data, &mut pos, out.inbound_allowance()) {
                Ok(Some(hixie::Frame::Text(text))) => {
                    self.counts.received(text.len());
                    if state.close_sent || out.close_requested() {
                        continue;
                    }
                    let rate = self.config.rate.as_ref();
                    let verdict = judge(rate, &mut state.allowance, out.now(), text.len());
                    if let Verdict::Refuse(over) = verdict {
                        if self.over_rate(state, over, out) {
                            continue;
                        }
                        return data.len();
                    }
                    let app = &mut self.app;
                    match guard(|| app.on_message(&state.conn, &mut state.app, Message::Text(text)))
                    {
                        Ok(cmds) => out.commands(cmds),
                        Err(panic) => {
                            self.panicked(state, panic, out);
                            return data.len();
                        }
                    }
                }
                Ok(Some(hixie::Frame::Close)) => {
                    out.commands(Command::close(state.conn.id(), CloseCode::Normal, ""));
                    return data.len();
                }
                Ok(None) => {
                    decoder.release();
                    return pos;
                }
                Err(err) => {
                    self.fail(state, err, out);
                    return data.len();
                }
            }
        }
    }
}
