//! The poll example: its heartbeat on the Tester's virtual clock, its tally under a random
//! schedule, and its one-vote-a-second rule through the whole stack on the Simulation's
//! clock.

#[allow(dead_code)]
#[path = "../examples/poll/main.rs"]
mod poll;

use poll::{Poll, CHOICES};
use ratchet::app::App;
use ratchet::server::Config;
use ratchet::testing::{Schedule, Simulation, Tester};
use serde_json::Value;
use std::time::Duration;
use suite::{client_frame, server_frames, upgrade_request};

fn json(payload: &ratchet::Payload) -> Value {
    serde_json::from_slice(payload.as_bytes()).expect("JSON")
}

#[test]
fn the_heartbeat_beats_every_five_seconds_on_the_virtual_clock() {
    let mut t = Tester::new(Poll::default());
    assert_eq!(t.timers(), [0], "on_start set the heartbeat");
    let (ann, opened) = t.open();
    assert_eq!(json(&opened.sent_to(&ann)[0])["type"], "tally");
    assert!(t
        .advance(Duration::from_millis(4999))
        .sent_to(&ann)
        .is_empty());
    let beats = t.advance(Duration::from_secs(10)).sent_to(&ann);
    assert_eq!(beats.len(), 2, "at 5 s and 10 s");
    assert_eq!(
        json(&beats[0]),
        serde_json::json!({"type": "beat", "voters": 1})
    );
    assert_eq!(t.now(), Duration::from_millis(14_999));
    assert_eq!(
        t.advance(Duration::from_millis(1)).sent_to(&ann).len(),
        1,
        "at 15 s"
    );
}

#[test]
fn the_tally_counts_the_open_voters_choices_under_a_random_schedule() {
    let mut t = Tester::new(Poll::default());
    let schedule = Schedule::new(2026)
        .steps(500)
        .messages([
            r#"{"choice":0}"#,
            r#"{"choice":1}"#,
            r#"{"choice":2}"#,
            r#"{"choice":7}"#,
            "not json",
        ])
        .tick(Duration::from_secs(3));
    schedule.run(&mut t, |t, _step, out| {
        let mut expected = [0u32; CHOICES.len()];
        for conn in t.open_conns() {
            if let Some(choice) = t.state(conn).unwrap().choice {
                expected[choice] += 1;
            }
        }
        assert_eq!(t.app().votes, expected);
        assert_eq!(t.app().voters.len(), t.open_conns().count());
        // Every tally and beat sent says what the poll holds now.
        for (_, msg) in out.deliveries() {
            let msg = json(msg);
            match msg["type"].as_str().unwrap() {
                "tally" => assert_eq!(msg["votes"], serde_json::json!(t.app().votes)),
                "beat" => assert_eq!(msg["voters"], t.open_conns().count()),
                _ => assert_eq!(msg["type"], "error"),
            }
        }
    });
}

#[test]
fn a_bad_vote_is_answered_and_the_voter_stays() {
    let mut t = Tester::new(Poll::default());
    let (ann, _) = t.open();
    let out = t.message(&ann, "{\"choice\":\"tabs\"}");
    let error = json(&out.sent_to(&ann)[0]);
    assert_eq!(error["type"], "error");
    assert!(
        error["error"].as_str().unwrap().starts_with("bad message"),
        "{error}"
    );
    let out = t.message(&ann, r#"{"choice":9}"#);
    assert!(json(&out.sent_to(&ann)[0])["error"]
        .as_str()
        .unwrap()
        .contains("no choice 9"));
    assert!(t.is_open(&ann));
}

/// The texts the server framed for a client.
fn texts(bytes: &[u8]) -> Vec<Value> {
    server_frames(bytes)
        .0
        .into_iter()
        .map(|f| serde_json::from_slice(&f.payload).expect("JSON"))
        .collect()
}

#[test]
fn a_second_vote_within_a_second_is_refused_by_the_rate_limit() {
    let mut sim = Simulation::new(Poll::default().into_protocol(), Config::default()).unwrap();
    let c = sim.connect();
    sim.send(&c, upgrade_request("/poll", "").as_bytes());
    let head = sim.take(&c);
    let at = head.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(head.starts_with(b"HTTP/1.1 101"));
    assert_eq!(texts(&head[at..])[0]["type"], "tally");

    sim.send(&c, &client_frame(true, 1, br#"{"choice":1}"#));
    assert_eq!(
        texts(&sim.take(&c))[0]["votes"],
        serde_json::json!([0, 1, 0])
    );
    sim.advance(Duration::from_millis(500));
    sim.send(&c, &client_frame(true, 1, br#"{"choice":2}"#));
    let refused = texts(&sim.take(&c));
    assert_eq!(refused[0]["type"], "error");
    assert!(
        refused[0]["error"].as_str().unwrap().contains("rate limit"),
        "{refused:?}"
    );
    sim.advance(Duration::from_millis(500));
    sim.send(&c, &client_frame(true, 1, br#"{"choice":2}"#));
    assert_eq!(
        texts(&sim.take(&c))[0]["votes"],
        serde_json::json!([0, 0, 1])
    );
    assert!(!sim.is_closed(&c), "dropped, not closed");
}
