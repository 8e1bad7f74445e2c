//! One application served by several worker threads.
//!
//! With [`Server::workers`](crate::Server::workers), the protocol stack is split in two
//! ([`Split`]): the applications move to one thread of their own, the *app thread*, and
//! each worker gets a copy of the rest of the stack, with a [`Remote`] where an
//! application was. A worker owns the connections it accepted: it reads, writes, does the
//! handshakes, framing, UTF-8 checks, inflation and compression, and tells the app thread
//! what happened (a knock, an opening, a message, a close; one batch per loop turn). The
//! app thread runs the handlers, one at a time as with one loop, and sends the commands
//! they return down to the workers that own their connections (one batch per worker per
//! turn of its own). The design, and what it costs, is told in
//! [`Server::workers`](crate::Server::workers).
//!
//! A decorator of one's own serves several workers by implementing [`Split`]: split the
//! stack inside it, and return a [`Replica`] that wraps each worker's copy of it in a copy
//! of the decorator's settings.

mod host;

pub(crate) use crate::uplink::Event;
pub use crate::uplink::Uplink;
pub(crate) use host::Hosted;

use crate::command::{IntoCommands, TimerScope};
use crate::conn::{Conn, ConnId};
use crate::door::Door;
use crate::error::Error;
use crate::message::Message;
use crate::protocol::Protocol;
use crate::stateful::StatefulComponent;
use host::Host;

/// A protocol stack that several workers can serve: its applications go to the app
/// thread (into [`Apps`]), and what is left is copied for each worker.
///
/// Implemented by [`WebSocket`](crate::WebSocket) and [`Line`](crate::Line) around any
/// [`StatefulComponent`] that can move to another thread, and by the decorators around
/// stacks that implement it.
pub trait Split: Protocol + Sized {
    /// The stack a worker runs: this one, with a [`Remote`] for each application.
    type Worker: Protocol + Send + 'static;

    /// Moves the applications into `apps`, and returns what makes a worker's copy of the
    /// rest, given the worker's way up to the app thread.
    fn split(self, apps: &mut Apps) -> Replica<Self::Worker>;
}

/// What makes a worker's copy of a split stack.
pub type Replica<W> = Box<dyn Fn(&Uplink) -> W + Send>;

/// The applications of a split stack, as the app thread runs them, by index.
#[derive(Default)]
pub struct Apps {
    hosted: Vec<Box<dyn Hosted>>,
    /// Where each application sits behind routers and listeners: route indices,
    /// outermost first (what a command of it is scoped to on a worker).
    paths: Vec<Vec<usize>>,
    /// The route being split.
    path: Vec<usize>,
}

impl std::fmt::Debug for Apps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Apps({})", self.hosted.len())
    }
}

impl Apps {
    /// Takes `app`; the index its [`Remote`]s name it by.
    pub fn add<C>(&mut self, app: C) -> usize
    where
        C: StatefulComponent + Send + 'static,
        C::State: Send,
    {
        self.hosted.push(Box::new(Host::new(app)));
        self.paths.push(self.path.clone());
        self.hosted.len() - 1
    }

    /// Runs `split` for the stack behind route `index` of a router (or side `index` of
    /// two listeners): the applications it adds are scoped to that route, as the router
    /// scopes their commands on one loop (see [`TimerScope`]).
    pub fn within<T>(&mut self, index: usize, split: impl FnOnce(&mut Apps) -> T) -> T {
        self.path.push(index);
        let split = split(self);
        self.path.pop();
        split
    }

    /// `scope`, of application `app`, as seen from the top of a worker's stack.
    pub(crate) fn scope(&self, app: usize, scope: TimerScope) -> TimerScope {
        let path = self.paths.get(app).map_or(&[][..], Vec::as_slice);
        path.iter()
            .rev()
            .fold(scope, |scope, &index| scope.push(index))
    }

    /// How many applications there are.
    pub(crate) fn len(&self) -> usize {
        self.hosted.len()
    }

    /// Application `index`.
    pub(crate) fn get(&mut self, index: usize) -> Option<&mut (dyn Hosted + 'static)> {
        self.hosted.get_mut(index).map(|h| &mut **h)
    }
}

/// Where an application was, in a worker's copy of the stack: it tells the app thread
/// what happens, and returns nothing itself (the commands come back from the app thread;
/// the door's answer too, so a connection knocks with [`Door::Later`]).
#[derive(Debug)]
pub struct Remote {
    app: usize,
    uplink: Uplink,
}

impl Remote {
    /// A stand-in for application `app`, telling the app thread through `uplink`.
    pub fn new(app: usize, uplink: &Uplink) -> Self {
        Remote {
            app,
            uplink: uplink.clone(),
        }
    }
}

/// A connection's state on a worker, under a [`Remote`]: how many of its messages are on
/// the app thread (only the data messages already read go on meanwhile), and, once it
/// knocked, its way up: dropping it without a close tells the app thread the connection
/// is gone, so that nothing of it stays there whatever way it ends.
#[derive(Debug, Default)]
pub struct Knocked {
    up: Option<(Uplink, usize, ConnId)>,
    unhandled: u32,
}

impl Drop for Knocked {
    fn drop(&mut self) {
        if let Some((uplink, app, id)) = self.up.take() {
            uplink.push(Event::Gone(app, id));
        }
    }
}

/// Attached to a connection when the app thread has handled messages of it: how many
/// (acknowledgements arriving before the connection's protocol looks add up).
#[derive(Debug, Clone)]
pub(crate) struct Acked(pub u32);

impl StatefulComponent for Remote {
    type State = Knocked;

    fn on_request(&mut self, conn: &Conn, knocked: &mut Knocked) -> Door {
        knocked.up = Some((self.uplink.clone(), self.app, conn.id()));
        self.uplink.push(Event::Request(self.app, conn.clone()));
        Door::Later
    }
    fn on_open(&mut self, conn: &Conn, _: &mut Knocked) -> impl IntoCommands {
        self.uplink.push(Event::Open(self.app, conn.clone()));
    }
    fn on_message(
        &mut self,
        from: &Conn,
        knocked: &mut Knocked,
        msg: Message<'_>,
    ) -> impl IntoCommands {
        knocked.unhandled += 1;
        self.uplink
            .push(Event::Message(self.app, from.id(), msg.to_payload()));
    }
    fn on_close(&mut self, conn: &Conn, mut knocked: Knocked) -> impl IntoCommands {
        knocked.up = None;
        self.uplink.push(Event::Close(self.app, conn.id()));
    }
    fn on_error(&mut self, conn: &Conn, _: &mut Knocked, err: Error) -> impl IntoCommands {
        self.uplink.push(Event::Error(self.app, conn.clone(), err));
    }
    fn holds(&mut self, conn: &mut Conn, knocked: &mut Knocked) -> bool {
        if knocked.unhandled > 0 {
            if let Some(Acked(handled)) = conn.extensions_mut().take::<Acked>() {
                knocked.unhandled = knocked.unhandled.saturating_sub(handled);
            }
        }
        knocked.unhandled > 0
    }
}
