//! Forwarding for decorators that wrap a protocol and change only how a connection
//! starts.

/// Inside `impl Protocol for X<P>` where `self.inner: P`, forwards to `self.inner`, with
/// the connection's state (or the named field of it) as the inner state, every method but
/// `accept`, `connect`, `data`, `disconnect` and `start`, and those of these five named
/// after a `;`: `delegate_protocol!(inner; accept, disconnect, start)`.
macro_rules! delegate_protocol {
    ($($field:ident)? $(; $($also:ident),+)?) => {
        delegate_protocol!(@with [$($field)?] $($($also)+)?);
    };
    (@with $field:tt $($also:ident)*) => {
        $(delegate_protocol!(@$also $field);)*
        delegate_protocol!(@rest $field);
    };
    (@accept [$($field:ident)?]) => {
        fn accept(&mut self, peer: std::net::SocketAddr) -> bool {
            self.inner.accept(peer)
        }
    };
    (@disconnect [$($field:ident)?]) => {
        fn disconnect(&mut self, state: Self::ConnState, out: &mut $crate::Outbox<'_>) {
            self.inner.disconnect(state$(.$field)?, out)
        }
    };
    (@start [$($field:ident)?]) => {
        fn start(&mut self, handle: &$crate::Handle) -> $crate::Commands {
            self.inner.start(handle)
        }
    };
    (@rest [$($field:ident)?]) => {
        fn timeout(&mut self, state: &mut Self::ConnState, out: &mut $crate::Outbox<'_>) {
            self.inner.timeout(&mut (*state)$(.$field)?, out)
        }

        fn encoding(&self, state: &Self::ConnState) -> Option<u8> {
            self.inner.encoding(&(*state)$(.$field)?)
        }

        fn encode(
            &mut self,
            state: &mut Self::ConnState,
            msg: &$crate::Payload,
            buf: &mut Vec<u8>,
        ) {
            self.inner.encode(&mut (*state)$(.$field)?, msg, buf)
        }

        fn overflow(
            &mut self,
            state: &mut Self::ConnState,
            policy: $crate::server::Overflow,
            out: &mut $crate::Outbox<'_>,
        ) {
            self.inner.overflow(&mut (*state)$(.$field)?, policy, out)
        }

        fn close(
            &mut self,
            state: &mut Self::ConnState,
            code: $crate::CloseCode,
            reason: &str,
            out: &mut $crate::Outbox<'_>,
        ) {
            self.inner.close(&mut (*state)$(.$field)?, code, reason, out)
        }

        fn reusable(&self, state: &Self::ConnState) -> bool {
            self.inner.reusable(&(*state)$(.$field)?)
        }

        fn extensions<'a>(
            &self,
            state: &'a mut Self::ConnState,
        ) -> Option<&'a mut $crate::conn::Extensions> {
            self.inner.extensions(&mut (*state)$(.$field)?)
        }

        fn mount(&mut self, prefix: &str) {
            self.inner.mount(prefix)
        }

        fn timer(&mut self, key: u64) -> $crate::Commands {
            self.inner.timer(key)
        }
    };
}
