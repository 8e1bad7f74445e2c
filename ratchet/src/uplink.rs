//! What a worker sends up to the app thread of a server with several workers (see
//! [`workers`](crate::workers)): the events of its applications' connections, in one
//! batch per loop turn.

use crate::conn::{Conn, ConnId};
use crate::error::Error;
use crate::message::Payload;
use std::sync::{Arc, Mutex};

/// What a worker tells the app thread.
#[derive(Debug)]
pub(crate) enum Event {
    /// A connection knocks: the application's door answers.
    Request(usize, Conn),
    Open(usize, Conn),
    Message(usize, ConnId, Payload),
    Close(usize, ConnId),
    Error(usize, Conn, Error),
    /// A connection that knocked is gone without having opened (refused, or it left
    /// before the door answered): its state is dropped, no handler runs.
    Gone(usize, ConnId),
    /// A connection asks for the server's metrics: the app thread gathers every worker's.
    Scrape(ConnId),
    /// A worker's numbers for the app thread's gathering `id`.
    Rendered(u64, Box<crate::exposition::Exposition>),
}

impl Event {
    /// The bytes it holds, for the app thread's queue bound.
    pub(crate) fn size(&self) -> usize {
        match self {
            Event::Message(_, _, msg) => 32 + msg.len(),
            Event::Rendered(..) => 4096,
            _ => 64,
        }
    }
}

/// A worker's way up to the app thread: the events of its current loop turn, sent as
/// one batch at the turn's end.
#[derive(Clone, Default, Debug)]
pub struct Uplink(Arc<Mutex<Vec<Event>>>);

impl Uplink {
    pub(crate) fn push(&self, event: Event) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(event);
    }

    /// The events of this turn, in order.
    pub(crate) fn take(&self, into: &mut Vec<Event>) {
        let mut events = self.0.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::swap(&mut *events, into);
    }
}
