use ratchet::prelude::*;

#[ratchet::app(main = false)]
#[derive(Default)]
pub struct Chat {
    clients: ConnSet,
}

#[ratchet::handlers]
impl Chat {
    fn on_message(&mut self, from: &Conn, msg: &str) -> Result<Command, std::num::ParseIntError> {
        let n: i64 = msg.parse()?;
        Ok(from.send((n * 2).to_string()))
    }

    fn on_error(&mut self, conn: &Conn, err: Error) -> Command {
        conn.send(format!("error: {err}"))
    }
}

fn main() {}
