//! The wallboard's board document (docs/ws-protocol.md) beyond the snapshot's figures:
//! `last_event` (how old the feed is), `team_ids` (whatever the filter) and
//! `emptied_team_ids`, every configured window, and each team's `aux_drivers`.

mod common;

use common::Daemon;
use serde_json::{Value, json};

const CONFIG: &str = r#"
[server]
clock = "event"
[floor]
timezone = "UTC"
windows = ["30m", "today", "peak_today"]
dispersion_min_logged_secs = 60
[peak]
windows = ["00:00-24:00"]
"#;

fn ev(agent: &str, team: &str, state: &str, reason: Option<&str>, min: i64) -> Value {
    // Minutes after 2026-11-23T09:00:00Z.
    let ts = 1_795_424_400_000_i64 + min * 60_000;
    json!({"agent": agent, "team": team, "state": state, "reason": reason, "ts": ts})
}

#[tokio::test]
async fn the_board_says_when_the_last_event_was_which_teams_exist_and_who_drives_the_aux_cv() {
    let d = Daemon::start(CONFIG).await;
    // T07: A1 on break for all 20 minutes, A4 on break for 5 of them, A2 and A3 talking.
    // Aux rates 1.0, 0.25, 0, 0: mean 0.3125, so only A1 is above it.
    let events = json!([
        ev("A1", "T07", "aux", Some("break"), 0),
        ev("A2", "T07", "talking", None, 0),
        ev("A3", "T07", "talking", None, 0),
        ev("A4", "T07", "aux", Some("break"), 0),
        ev("B1", "T08", "idle", None, 0),
        ev("A4", "T07", "talking", None, 5),
        ev("B1", "T08", "talking", None, 20),
    ]);
    let (status, _) = d.post("/api/v1/events", events.to_string()).await;
    assert_eq!(status, 200);
    d.wait_outcomes(7).await;

    let board = d.get_json("/api/v1/board").await;
    assert_eq!(board["type"], "full");
    assert_eq!(board["last_event"], json!(1_795_424_400_000_i64 + 20 * 60_000), "the latest event time");
    assert_eq!(board["team_ids"], json!(["T07", "T08"]));

    let t07 = board["teams"].as_array().unwrap().iter().find(|t| t["team"] == "T07").unwrap().clone();
    let names: Vec<&str> = t07["windows"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(names.len(), 3, "every configured window, not a fixed 15m/60m: {names:?}");
    for w in ["30m", "today", "peak_today"] {
        assert!(t07["windows"][w]["talk_utilization"].is_number(), "{w} figures");
    }
    let drivers = &t07["windows"]["30m"]["aux_drivers"];
    assert_eq!(drivers.as_array().map(Vec::len), Some(1), "only members above the mean: {drivers}");
    assert_eq!(drivers[0]["agent"], "A1");
    assert!((drivers[0]["aux_ratio"].as_f64().unwrap() - 1.0).abs() < 1e-9);
    assert!(board["floor"]["windows"]["30m"].get("aux_drivers").is_none(), "drivers are per team");

    // A filter naming no team: nothing of a team, but the list of those there are.
    let unknown = d.get_json("/api/v1/board?team=T7").await;
    assert_eq!(unknown["teams"], json!([]));
    assert_eq!(unknown["agents"], json!([]));
    assert_eq!(unknown["team_ids"], json!(["T07", "T08"]));
    assert_eq!(unknown["last_event"], board["last_event"]);
    assert_eq!(unknown["emptied_team_ids"], json!([]));

    // T08's only agent moves to T07: T08 is kept, empty, and said so; back, it is listed.
    d.post("/api/v1/events", json!([ev("B1", "T07", "idle", None, 21)]).to_string()).await;
    d.wait_outcomes(8).await;
    let emptied = d.get_json("/api/v1/board?team=T08").await;
    assert_eq!(emptied["team_ids"], json!(["T07"]));
    assert_eq!(emptied["emptied_team_ids"], json!(["T08"]));
    assert_eq!(emptied["teams"], json!([]));
    d.post("/api/v1/events", json!([ev("B1", "T08", "idle", None, 22)]).to_string()).await;
    d.wait_outcomes(9).await;
    let back = d.get_json("/api/v1/board?team=T08").await;
    assert_eq!((back["team_ids"].clone(), back["emptied_team_ids"].clone()), (json!(["T07", "T08"]), json!([])));
    d.stop().await;
}

#[tokio::test]
async fn a_board_before_any_event_has_no_last_event() {
    let d = Daemon::start(CONFIG).await;
    let board = d.get_json("/api/v1/board").await;
    assert_eq!(board["last_event"], Value::Null);
    assert_eq!(board["team_ids"], json!([]));
    d.stop().await;
}

/// With a roster, a scheduled agent not seen yet is listed in the floor's view under
/// `unassigned`: every board lists that team too, filtered or not, as the floor's pushes do
/// (the push's list is the view's teams). A page given a team that does not exist showed
/// the one list after a full frame and the other after each push.
#[tokio::test]
async fn every_board_lists_the_unassigned_team_of_a_no_show() {
    let d = Daemon::start(CONFIG).await;
    let roster = "agent,start,end,activity\n\
                  A1,2026-11-23 09:00,2026-11-23 11:00,shift\n\
                  Z9,2026-11-23 09:00,2026-11-23 11:00,shift\n";
    let r = reqwest::Client::new()
        .put(d.url("/api/v1/roster"))
        .header("content-type", "text/csv")
        .body(roster)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (status, _) = d.post("/api/v1/events", json!([ev("A1", "T07", "talking", None, 0)]).to_string()).await;
    assert_eq!(status, 200);
    d.wait_outcomes(1).await;

    let snap = d.get_json("/api/v1/snapshot?agents=false").await;
    let view_ids: Vec<Value> = snap["teams"].as_array().unwrap().iter().map(|t| t["team"].clone()).collect();
    assert_eq!(view_ids, vec![json!("T07"), json!("unassigned")], "the no-show's stand-in team: {snap}");
    for path in ["/api/v1/board", "/api/v1/board?team=T7", "/api/v1/board?team=T07"] {
        let board = d.get_json(path).await;
        assert_eq!(board["team_ids"], json!(view_ids), "{path}");
    }

    // Once the no-show's events arrive it is a member of its team, and `unassigned` goes.
    let (status, _) = d.post("/api/v1/events", json!([ev("Z9", "T08", "idle", None, 1)]).to_string()).await;
    assert_eq!(status, 200);
    d.wait_outcomes(2).await;
    for path in ["/api/v1/board", "/api/v1/board?team=T7"] {
        assert_eq!(d.get_json(path).await["team_ids"], json!(["T07", "T08"]), "{path}");
    }
    d.stop().await;
}
