use ratchet::app::App;
use ratchet::prelude::*;

#[ratchet::app(protocol = "websocket", history = [("chat*", 100, "5m"), ("news", 10, "1h")], main = false)]
#[derive(Default)]
pub struct Chat;

#[ratchet::handlers]
impl Chat {
    fn on_open(&mut self, conn: &Conn) -> Command {
        let since = conn.request().and_then(|r| r.query_param("since"));
        conn.recover("chat", since.as_deref())
    }
}

fn main() {
    assert_eq!(Chat::HISTORY, [("chat*", 100, 300_000), ("news", 10, 3_600_000)]);
    let history = ratchet::app::history(Chat::HISTORY);
    assert_eq!(history.retention("chat:1").map(|r| r.len), Some(100));
    assert_eq!(history.retention("news").map(|r| r.ttl.as_secs()), Some(3600));
    assert!(history.retention("sports").is_none());
}
