use ratchet::prelude::*;
use std::time::Duration;

#[ratchet::app(main = false)]
#[derive(Default)]
pub struct Clock {
    clients: ConnSet,
}

#[ratchet::handlers]
impl Clock {
    fn on_open(&mut self, conn: &Conn) -> Option<Command> {
        self.clients.insert(conn);
        (self.clients.len() == 1).then(|| Command::every(Duration::from_secs(1), 0))
    }

    fn on_timer(&mut self, key: u64) -> Result<Command, String> {
        if key != 0 {
            return Err(format!("unknown timer {key}"));
        }
        Ok(self.clients.send("tick"))
    }
}

fn main() {
    let mut t = ratchet::testing::Tester::new(Clock::default());
    let (conn, started) = t.open();
    assert_eq!(started.len(), 1);
    assert_eq!(t.timer(0).sent_to(&conn), ["tick"]);
    assert!(t.timer(9).is_empty());
}
