//! What every connection costs in the server's table, kept from growing unnoticed: the
//! table "Where an idle connection's bytes go" in BENCHMARKS.md adds these up.

use std::mem::size_of;

#[test]
fn a_websocket_connection_stays_within_its_size() {
    type State = crate::websocket::ConnState<()>;
    type Entry = super::connection::Connection<State, mio::net::TcpStream>;
    assert!(size_of::<Entry>() <= 392, "{}", size_of::<Entry>());
    assert!(size_of::<State>() <= 184, "{}", size_of::<State>());
    assert!(
        size_of::<crate::Conn>() <= 80,
        "{}",
        size_of::<crate::Conn>()
    );
    assert!(
        size_of::<crate::Request>() <= 40,
        "{}",
        size_of::<crate::Request>()
    );
}
