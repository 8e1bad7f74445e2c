//! The README chat, unit-tested through the `testing` module: no sockets.

#[allow(dead_code)]
#[path = "../examples/chat_trait.rs"]
mod chat_trait;

use ratchet::testing::Tester;
use ratchet::{Command, ProtocolError};

#[test]
fn relays_to_everyone_but_the_sender() {
    let mut t = Tester::new(chat_trait::Chat::new());
    let (alice, opened) = t.open();
    assert!(opened.is_empty());
    let (bob, _) = t.open();
    let (carol, _) = t.open();

    let cmds = t.message(&alice, "hi all");
    assert_eq!(cmds.sent_to(&bob), ["hi all"]);
    assert_eq!(cmds.sent_to(&carol), ["hi all"]);
    assert!(cmds.sent_to(&alice).is_empty());
    assert_eq!(
        cmds.len(),
        1,
        "one shared payload, not one command per recipient"
    );
}

#[test]
fn closed_connections_hear_nothing_more() {
    let mut t = Tester::new(chat_trait::Chat::new());
    let (alice, _) = t.open();
    let (bob, _) = t.open();
    t.close(&bob);
    assert!(t.message(&alice, "anyone?").sent_to(&bob).is_empty());
}

#[test]
fn errors_close_the_connection() {
    let mut t = Tester::new(chat_trait::Chat::new());
    let (alice, _) = t.open();
    let cmds = t.error(&alice, ProtocolError::InvalidUtf8.into());
    assert_eq!(cmds.as_slice(), [alice.close()]);
    assert!(matches!(cmds.as_slice()[0], Command::Close { .. }));
}
