use ratchet::prelude::*;
use ratchet::testing::Tester;
use serde::Deserialize;

#[derive(Default, Debug, PartialEq)]
pub struct Voter {
    name: String,
    votes: u32,
}

#[derive(Deserialize)]
pub struct Vote {
    choice: usize,
}

#[ratchet::app(main = false, conn_state = Voter)]
#[derive(Default)]
pub struct Poll {
    tally: Vec<u32>,
    left: Vec<String>,
}

#[ratchet::handlers]
impl Poll {
    fn on_request(&mut self, conn: &Conn, me: &mut Voter) -> Result<(), Refuse> {
        let name = conn.request().and_then(|r| r.query_param("name"));
        me.name = name.ok_or_else(|| Refuse::unauthorized("who are you? add ?name="))?;
        Ok(())
    }

    fn on_message(&mut self, from: &Conn, me: &mut Voter, vote: Json<Vote>) -> Result<Command, String> {
        let slot = self.tally.get_mut(vote.0.choice).ok_or("no such choice")?;
        *slot += 1;
        me.votes += 1;
        from.send_json(&self.tally).map_err(|e| e.to_string())
    }

    fn on_error(&mut self, conn: &Conn, me: &mut Voter, err: Error) -> Command {
        conn.send(format!("{}: {err}", me.name))
    }

    fn on_close(&mut self, _conn: &Conn, me: Voter) {
        self.left.push(me.name);
    }
}

fn main() {
    let mut t = Tester::new(Poll {
        tally: vec![0, 0],
        left: Vec::new(),
    });
    assert_eq!(t.connect("/").unwrap_err().status(), 401);
    let ann = t.connect("/?name=ann").unwrap();
    assert_eq!(t.message(&ann, r#"{"choice":1}"#).sent_to(&ann), ["[0,1]"]);
    assert_eq!(t.state(&ann), Some(&Voter { name: "ann".into(), votes: 1 }));
    let bad = t.message(&ann, "not json");
    assert!(bad.sent_to(&ann)[0].as_text().unwrap().starts_with("ann: bad message"));
    assert_eq!(t.message(&ann, r#"{"choice":5}"#).sent_to(&ann), ["ann: application error: no such choice"]);
    t.close(&ann);
    assert_eq!(t.app().left, ["ann"]);
}
