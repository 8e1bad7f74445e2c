//! What the core is asked through its [`Handle`](crate::Handle): commands, deliveries from the bridge,
//! doors' answers, wakes, and what the app thread sends a worker.

use super::core::{lookup, Core};
use super::transport::Transport;
use crate::conn::ConnId;
use crate::handle::{Down, Request};
use crate::protocol::{Hold, Protocol};
use crate::workers::Acked;

impl<P: Protocol, T: Transport> Core<P, T> {
    /// A request from a [`Handle`](crate::Handle).
    pub fn request(&mut self, request: Request) {
        match request {
            Request::Commands(cmds) => self.commands.extend(cmds),
            Request::Deliver(topic, msg) => self.deliver(&topic, &msg, None),
            Request::Numbered(topic, offset, msg, except) => {
                self.keeping(|k| k.deliver(&topic, offset, &msg, except));
            }
            Request::Recovered(conn, topic, found, complete) => {
                self.keeping(|k| k.recovered(conn, &topic, found, complete));
            }
            Request::Answer(conn, door) => self.answer(conn, door),
            Request::Down(batch) => {
                for down in batch {
                    match down {
                        Down::Command(cmd) => self.commands.push(cmd),
                        // In order: the commands before it are carried out first.
                        Down::Answer(conn, door) => {
                            self.execute();
                            self.answer(conn, door);
                        }
                        Down::Wake(conn) => {
                            self.execute();
                            self.wake_conn(conn);
                        }
                        Down::Acked(conn) => {
                            self.execute();
                            self.acked(conn);
                        }
                        Down::Render(id) => self.render_for(id),
                        Down::Scraped(conn, text) => self.scraped(conn, text),
                    }
                }
            }
            Request::Wake(conn) => self.wake_conn(conn),
            Request::Reload => self.protocol.reload(),
            // The loop's own: it resolves and connects.
            Request::Shutdown | Request::Resolved(..) => {}
            // The app thread's.
            Request::Events(_) | Request::Stopped => {}
        }
        self.execute();
    }

    /// The door's answer for `conn`: its protocol finds it among the connection's
    /// extensions, and the connection's input is offered again.
    fn answer(&mut self, conn: ConnId, door: crate::door::Door) {
        if self.attach(conn, crate::door::Answer(door)) {
            self.wake_conn(conn);
        }
    }

    /// The app thread handled a message of `conn`: its input goes on (what the server
    /// holds of it is offered again, a decorator holding input itself is woken, and the
    /// socket is read if it was readable meanwhile). The protocol asks its application
    /// whether others are still on the app thread.
    fn acked(&mut self, conn: ConnId) {
        let Some(extensions) = self.extensions_of(conn) else {
            return;
        };
        let earlier = extensions.take::<Acked>().map_or(0, |Acked(n)| n);
        extensions.insert(Acked(earlier + 1));
        let slot = self.place.local(conn);
        let Some(c) = self.conns.get_mut(slot) else {
            return;
        };
        if !c.input.is_empty() || c.control.hold.has(Hold::EOF) {
            self.wake_slot(slot);
            return;
        }
        let missed = c.control.hold.take(Hold::MISSED);
        c.control.hold.set(Hold::PAUSED | Hold::BACKPRESSURE, false);
        self.call(slot, |protocol, state, out| protocol.wake(state, out));
        if missed {
            self.readable(slot);
        }
    }

    /// Attaches `value` to `conn`'s extensions; whether it is there to take it.
    fn attach<V: std::any::Any + Send + Sync>(&mut self, conn: ConnId, value: V) -> bool {
        self.extensions_of(conn).map(|e| e.insert(value)).is_some()
    }

    /// `conn`'s extensions, while its protocol has it.
    fn extensions_of(&mut self, conn: ConnId) -> Option<&mut crate::conn::Extensions> {
        let c = lookup(&mut self.conns, self.place.count, conn)?;
        let state = c.phase.state_mut()?;
        self.protocol.extensions(state)
    }
}
