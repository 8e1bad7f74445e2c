//! Forwarding for decorators: a decorator writes the methods it changes and forwards the
//! rest of [`Protocol`](crate::Protocol) to the protocol it wraps.

/// Inside `impl Protocol for MyDecorator<P>`, forwards every method of
/// [`Protocol`](crate::Protocol) you do not write to the wrapped protocol in field
/// `inner`: `delegate_protocol!(inner; except data)`.
///
/// - `delegate_protocol!(inner)`: `Self::ConnState` is the inner protocol's; every method
///   is forwarded.
/// - `delegate_protocol!(inner, state.field)`: the inner protocol's state is the field
///   `field` of `Self::ConnState` (which holds your own per-connection state beside it);
///   write `connect` yourself (only you know how to build the state) and list it after
///   `except`; likewise `dial`, for outbound connections, which is otherwise left to its
///   default (no client role).
/// - `; except a, b`: the methods you write by hand.
///
/// A decorator that counts the messages each connection sends and refuses the hundred
/// and first, in about twenty lines:
///
/// ```
/// use ratchet::{delegate_protocol, CloseCode, ConnId, Outbox, Protocol};
/// use std::net::SocketAddr;
///
/// struct Quota<P> {
///     inner: P,
/// }
///
/// struct QuotaState<S> {
///     inner: S,
///     reads: u32,
/// }
///
/// impl<P: Protocol> Protocol for Quota<P> {
///     type ConnState = QuotaState<P::ConnState>;
///
///     fn connect(&mut self, id: ConnId, peer: SocketAddr, out: &mut Outbox<'_>) -> Self::ConnState {
///         QuotaState { inner: self.inner.connect(id, peer, out), reads: 0 }
///     }
///
///     fn data(&mut self, state: &mut Self::ConnState, data: &mut [u8], out: &mut Outbox<'_>) -> usize {
///         state.reads += 1;
///         if state.reads > 100 {
///             self.inner.close(&mut state.inner, CloseCode::Policy, "quota", out);
///             return data.len();
///         }
///         self.inner.data(&mut state.inner, data, out)
///     }
///
///     delegate_protocol!(inner, state.inner; except connect, data);
/// }
///
/// let guarded = ratchet::Server::new(Quota { inner: ratchet::Line::new(Echo) });
/// # struct Echo;
/// # impl ratchet::Component for Echo {
/// #     fn on_message(&mut self, c: &ratchet::Conn, m: ratchet::Message<'_>) -> impl ratchet::IntoCommands {
/// #         c.send(m)
/// #     }
/// # }
/// # let _ = guarded;
/// ```
#[macro_export]
macro_rules! delegate_protocol {
    // Every method, each unless listed after `except`.
    (@each $inner:tt $field:tt $skip:tt) => {};
    (@each $inner:tt $field:tt $skip:tt $m:ident $($rest:ident)*) => {
        $crate::delegate_protocol!(@unless $m $skip $inner $field);
        $crate::delegate_protocol!(@each $inner $field $skip $($rest)*);
    };
    (@unless $m:ident [] $inner:tt $field:tt) => {
        $crate::delegate_protocol!(@emit $m $inner $field);
    };
    (@unless limits [limits $($r:ident)*] $($x:tt)*) => {};
    (@unless accept [accept $($r:ident)*] $($x:tt)*) => {};
    (@unless busy [busy $($r:ident)*] $($x:tt)*) => {};
    (@unless listeners [listeners $($r:ident)*] $($x:tt)*) => {};
    (@unless enter [enter $($r:ident)*] $($x:tt)*) => {};
    (@unless connect [connect $($r:ident)*] $($x:tt)*) => {};
    (@unless dial [dial $($r:ident)*] $($x:tt)*) => {};
    (@unless dial_failed [dial_failed $($r:ident)*] $($x:tt)*) => {};
    (@unless failed [failed $($r:ident)*] $($x:tt)*) => {};
    (@unless dial_outcome [dial_outcome $($r:ident)*] $($x:tt)*) => {};
    (@unless data [data $($r:ident)*] $($x:tt)*) => {};
    (@unless drained [drained $($r:ident)*] $($x:tt)*) => {};
    (@unless timeout [timeout $($r:ident)*] $($x:tt)*) => {};
    (@unless wake [wake $($r:ident)*] $($x:tt)*) => {};
    (@unless disconnect [disconnect $($r:ident)*] $($x:tt)*) => {};
    (@unless encoding [encoding $($r:ident)*] $($x:tt)*) => {};
    (@unless encode [encode $($r:ident)*] $($x:tt)*) => {};
    (@unless overflow [overflow $($r:ident)*] $($x:tt)*) => {};
    (@unless reusable [reusable $($r:ident)*] $($x:tt)*) => {};
    (@unless awaits_request [awaits_request $($r:ident)*] $($x:tt)*) => {};
    (@unless mount [mount $($r:ident)*] $($x:tt)*) => {};
    (@unless extensions [extensions $($r:ident)*] $($x:tt)*) => {};
    (@unless start [start $($r:ident)*] $($x:tt)*) => {};
    (@unless timer [timer $($r:ident)*] $($x:tt)*) => {};
    (@unless reload [reload $($r:ident)*] $($x:tt)*) => {};
    (@unless close [close $($r:ident)*] $($x:tt)*) => {};
    (@unless metrics [metrics $($r:ident)*] $($x:tt)*) => {};
    (@unless $m:ident [$other:ident $($r:ident)*] $inner:tt $field:tt) => {
        $crate::delegate_protocol!(@unless $m [$($r)*] $inner $field);
    };

    (@emit limits [$inner:ident] $field:tt) => {
        fn limits(&self) -> ::core::result::Result<$crate::Limits, $crate::ConfigError> {
            self.$inner.limits()
        }
    };
    (@emit accept [$inner:ident] $field:tt) => {
        fn accept(&mut self, peer: ::std::net::SocketAddr) -> bool {
            self.$inner.accept(peer)
        }
    };
    (@emit busy [$inner:ident] $field:tt) => {
        fn busy(&self, out: &mut ::std::vec::Vec<u8>) {
            self.$inner.busy(out)
        }
    };
    (@emit listeners [$inner:ident] $field:tt) => {
        fn listeners(&self) -> usize {
            self.$inner.listeners()
        }
    };
    (@emit enter [$inner:ident] $field:tt) => {
        fn enter(&mut self, index: usize) {
            self.$inner.enter(index)
        }
    };
    (@emit connect [$inner:ident] $field:tt) => {
        fn connect(
            &mut self,
            id: $crate::ConnId,
            peer: ::std::net::SocketAddr,
            out: &mut $crate::Outbox<'_>,
        ) -> Self::ConnState {
            self.$inner.connect(id, peer, out)
        }
    };
    // With a state of its own, a decorator builds an outbound connection's state itself,
    // as in `connect`: without `dial`, it has no client role.
    (@emit dial [$inner:ident] []) => {
        fn dial(
            &mut self,
            id: $crate::ConnId,
            dial: &$crate::client::Dial,
            peer: ::std::net::SocketAddr,
            out: &mut $crate::Outbox<'_>,
        ) -> ::core::option::Option<Self::ConnState> {
            self.$inner.dial(id, dial, peer, out)
        }
    };
    (@emit dial [$inner:ident] [$field:ident]) => {};
    (@emit dial_failed [$inner:ident] $field:tt) => {
        fn dial_failed(
            &mut self,
            id: $crate::ConnId,
            dial: &$crate::client::Dial,
            error: $crate::client::ConnectError,
        ) -> $crate::Commands {
            self.$inner.dial_failed(id, dial, error)
        }
    };
    (@emit failed [$inner:ident] [$($field:ident)?]) => {
        fn failed(&mut self, state: &mut Self::ConnState, error: &::std::io::Error) {
            self.$inner.failed(&mut (*state)$(.$field)?, error)
        }
    };
    (@emit dial_outcome [$inner:ident] [$($field:ident)?]) => {
        fn dial_outcome(&self, state: &Self::ConnState) -> $crate::client::DialOutcome {
            self.$inner.dial_outcome(&(*state)$(.$field)?)
        }
    };
    (@emit data [$inner:ident] [$($field:ident)?]) => {
        fn data(
            &mut self,
            state: &mut Self::ConnState,
            data: &mut [u8],
            out: &mut $crate::Outbox<'_>,
        ) -> usize {
            self.$inner.data(&mut (*state)$(.$field)?, data, out)
        }
    };
    (@emit drained [$inner:ident] [$($field:ident)?]) => {
        fn drained(&mut self, state: &mut Self::ConnState, out: &mut $crate::Outbox<'_>) {
            self.$inner.drained(&mut (*state)$(.$field)?, out)
        }
    };
    (@emit wake [$inner:ident] [$($field:ident)?]) => {
        fn wake(&mut self, state: &mut Self::ConnState, out: &mut $crate::Outbox<'_>) {
            self.$inner.wake(&mut (*state)$(.$field)?, out)
        }
    };
    (@emit timeout [$inner:ident] [$($field:ident)?]) => {
        fn timeout(&mut self, state: &mut Self::ConnState, out: &mut $crate::Outbox<'_>) {
            self.$inner.timeout(&mut (*state)$(.$field)?, out)
        }
    };
    (@emit disconnect [$inner:ident] [$($field:ident)?]) => {
        fn disconnect(&mut self, state: Self::ConnState, out: &mut $crate::Outbox<'_>) {
            self.$inner.disconnect(state$(.$field)?, out)
        }
    };
    (@emit encoding [$inner:ident] [$($field:ident)?]) => {
        fn encoding(&self, state: &Self::ConnState) -> ::core::option::Option<u8> {
            self.$inner.encoding(&(*state)$(.$field)?)
        }
    };
    (@emit encode [$inner:ident] [$($field:ident)?]) => {
        fn encode(
            &mut self,
            state: &mut Self::ConnState,
            msg: &$crate::Payload,
            buf: &mut ::std::vec::Vec<u8>,
        ) {
            self.$inner.encode(&mut (*state)$(.$field)?, msg, buf)
        }
    };
    (@emit overflow [$inner:ident] [$($field:ident)?]) => {
        fn overflow(
            &mut self,
            state: &mut Self::ConnState,
            policy: $crate::Overflow,
            out: &mut $crate::Outbox<'_>,
        ) {
            self.$inner.overflow(&mut (*state)$(.$field)?, policy, out)
        }
    };
    (@emit reusable [$inner:ident] [$($field:ident)?]) => {
        fn reusable(&self, state: &Self::ConnState) -> bool {
            self.$inner.reusable(&(*state)$(.$field)?)
        }
    };
    (@emit awaits_request [$inner:ident] [$($field:ident)?]) => {
        fn awaits_request(&self, state: &Self::ConnState) -> bool {
            self.$inner.awaits_request(&(*state)$(.$field)?)
        }
    };
    (@emit mount [$inner:ident] $field:tt) => {
        fn mount(&mut self, prefix: &str) {
            self.$inner.mount(prefix)
        }
    };
    (@emit extensions [$inner:ident] [$($field:ident)?]) => {
        fn extensions<'a>(
            &self,
            state: &'a mut Self::ConnState,
        ) -> ::core::option::Option<&'a mut $crate::conn::Extensions> {
            self.$inner.extensions(&mut (*state)$(.$field)?)
        }
    };
    (@emit start [$inner:ident] $field:tt) => {
        fn start(&mut self, handle: &$crate::Handle) -> $crate::Commands {
            self.$inner.start(handle)
        }
    };
    (@emit timer [$inner:ident] $field:tt) => {
        fn timer(&mut self, scope: $crate::command::TimerScope, key: u64) -> $crate::Commands {
            self.$inner.timer(scope, key)
        }
    };
    (@emit reload [$inner:ident] $field:tt) => {
        fn reload(&mut self) {
            self.$inner.reload()
        }
    };
    (@emit close [$inner:ident] [$($field:ident)?]) => {
        fn close(
            &mut self,
            state: &mut Self::ConnState,
            code: $crate::CloseCode,
            reason: &str,
            out: &mut $crate::Outbox<'_>,
        ) {
            self.$inner.close(&mut (*state)$(.$field)?, code, reason, out)
        }
    };
    (@emit metrics [$inner:ident] $field:tt) => {
        fn metrics(&self, metrics: &mut $crate::Exposition) {
            self.$inner.metrics(metrics)
        }
    };

    ($inner:ident $(, state . $field:ident)? $(; except $($skip:ident),* $(,)?)?) => {
        $crate::delegate_protocol!(@each [$inner] [$($field)?] [$($($skip)*)?]
            limits accept busy listeners enter connect dial dial_failed failed dial_outcome data
            drained wake timeout disconnect encoding encode
            overflow reusable awaits_request mount extensions start timer reload close metrics);
    };
}
