//! What a roster upload accepts and refuses (docs/adherence.md, "Loading a roster"), as
//! users' WFM exports and scripts send it: unknown JSON fields refused at every level by
//! their path, a JSON array told it is not a roster, the header names and separators WFM
//! tools export, activity names in any case, and days off that cancel a shift. Through
//! `PUT /api/v1/roster` of a real daemon, `[roster] file` and the engine's public API.

mod common;

use floorwatch::config::FileConfig;
use floorwatch::engine::{Engine, ViewOpts};
use floorwatch::roster::parse::{RosterError, Upload, parse};
use serde_json::Value;

const CSV: &str = "agent,start,end,activity
A1,2026-11-23 09:00,2026-11-23 11:00,shift
A1,2026-11-23 10:00,2026-11-23 10:15,break
A2,2026-11-23T09:00:00Z,2026-11-23T11:00:00Z,shift
";

fn utc() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::UTC
}

fn agent<'a>(s: &'a Value, id: &str) -> &'a Value {
    s["agents"].as_array().unwrap().iter().find(|a| a["agent"] == id).unwrap_or_else(|| panic!("no agent {id}: {s}"))
}

fn listed(s: &Value, id: &str) -> bool {
    s["agents"].as_array().unwrap().iter().any(|a| a["agent"] == id)
}

/// `PUT /api/v1/roster` with `body`: the status and the answer.
async fn put(d: &common::Daemon, body: &str) -> (u16, Value) {
    let r = reqwest::Client::new().put(d.url("/api/v1/roster")).body(body.to_string()).send().await.unwrap();
    (r.status().as_u16(), r.json::<Value>().await.unwrap())
}

/// The message of a refused `PUT`, which must be a 400.
fn refusal(st: u16, body: &Value) -> String {
    assert_eq!(st, 400, "{body}");
    body["error"].as_str().unwrap_or_else(|| panic!("no error: {body}")).to_string()
}

fn refused(body: &str) -> RosterError {
    parse(body, &utc()).expect_err(body)
}

/// An event of 2026-11-23 at `hm` (UTC), team T1.
fn ev(hm: &str, agent: &str, state: &str) -> String {
    let (state, reason) =
        state.split_once(':').map_or((state, String::new()), |(s, r)| (s, format!(r#","reason":"{r}""#)));
    format!(r#"{{"ts":"2026-11-23T{hm}:00Z","agent":"{agent}","state":"{state}","team":"T1"{reason}}}"#)
}

fn at(hm: &str) -> floorwatch::time::Ms {
    floorwatch::time::parse_instant(&format!("2026-11-23T{hm}:00Z")).unwrap()
}

/// An engine with configuration `toml`, roster `roster` uploaded and the `events` fed,
/// and its snapshot at `now` as JSON.
fn engine_snapshot(toml: &str, roster: &str, events: &[String], now: &str) -> Value {
    let settings = FileConfig::parse(toml, "test").unwrap().settings().unwrap();
    let up = parse(roster, &settings.tz).unwrap();
    let mut e = Engine::new(settings);
    e.upload_roster(&up).unwrap();
    floorwatch::replay::feed(&mut e, events.join("\n").as_bytes(), 65536, false).unwrap();
    let opts = ViewOpts { team: None, agents: true, alerts: true, scrape: false };
    serde_json::to_value(floorwatch::snapshot::Snapshot(&e.view(at(now), &opts))).unwrap()
}

/// A misspelt field anywhere in a JSON roster refuses the upload by its path and line, as
/// an unknown top-level field always did; nothing of it is applied. `activites` in a
/// shift used to be accepted, its break dropped.
#[tokio::test]
async fn unknown_json_fields_are_refused_at_every_level() {
    let d = common::Daemon::start("[server]\nclock = \"event\"\n").await;
    let typo = r#"{"agents": [
  {"agent": "A1", "shifts": [{"start": "2026-11-23 09:00", "end": "2026-11-23 11:00",
    "activites": [{"activity": "break", "start": "2026-11-23 10:00", "end": "2026-11-23 10:15"}]}]}
]}"#;
    let (st, body) = put(&d, typo).await;
    let m = refusal(st, &body);
    assert!(m.starts_with("agents[0].shifts[0].activites: "), "{m}");
    assert!(m.contains("unknown field `activites`") && m.contains("line 3"), "{m}");
    let s = d.get_json("/api/v1/snapshot").await;
    assert!(s["agents"].as_array().unwrap().is_empty(), "nothing applied: {s}");
    // Spelt right, the break is there.
    let (st, body) = put(&d, &typo.replace("activites", "activities")).await;
    assert_eq!((st, body["agents"].as_u64(), body["rows"].as_u64()), (200, Some(1), Some(2)), "{body}");
    d.stop().await;

    for (body, at) in [
        (r#"{"agents": [], "agent": "A1"}"#, "agent"),
        (r#"{"agents": [{"agent": "A1", "shift": []}]}"#, "agents[0].shift"),
        (r#"{"agents": [{"agent": "A1", "daysoff": ["2026-11-23"]}]}"#, "agents[0].daysoff"),
        (
            r#"{"agents": [{"agent": "A1", "shifts": [{"start": "2026-11-23 09:00", "end": "2026-11-23 11:00",
                "activities": [{"activity": "break", "start": "2026-11-23 10:00", "end": "2026-11-23 10:15",
                "note": "x"}]}]}]}"#,
            "agents[0].shifts[0].activities[0].note",
        ),
        (r#"{"agents": [{"agent": "A1"}, {"agent": "A2", "team": "T1"}]}"#, "agents[1].team"),
    ] {
        let e = refused(body);
        assert_eq!(e.at, at, "{body}: {e}");
        assert!(e.message.contains("unknown field") && e.message.contains("line "), "{e}");
    }
}

/// A JSON array is answered as JSON, not with a CSV header error.
#[tokio::test]
async fn a_top_level_json_array_is_told_what_a_roster_is() {
    let d = common::Daemon::start("[server]\nclock = \"event\"\n").await;
    let (st, body) = put(&d, r#"[{"agent": "A1", "shifts": []}]"#).await;
    let m = refusal(st, &body);
    assert!(m.contains("object with `agents`") && !m.contains("header"), "{m}");
    d.stop().await;
    for body in ["\u{feff}[]", "\n\n  [\n]"] {
        let e = refused(body);
        assert!(e.message.contains("object with `agents`"), "{body:?}: {e}");
    }
    assert_eq!(refused("\n\n  [\n]").at, "line 3");
    // A body starting with `{` is JSON as before; anything else is CSV.
    assert!(refused("{").message.contains("not a roster"));
    assert!(refused("agent\n").message.contains("header has no `start` column"));
}

/// The header names WFM tools export, any case, with `;` or tab between fields, give the
/// same upload as `agent,start,end,activity`; a header naming a column twice is refused
/// with both names.
#[test]
fn wfm_headers_and_separators() {
    let canonical = parse(CSV, &utc()).unwrap();
    let with = |header: &str, sep: &str| -> Result<Upload, RosterError> {
        let mut body = format!("{header}\n");
        for line in CSV.lines().skip(1) {
            body += &format!("{}\n", line.split(',').collect::<Vec<_>>().join(sep));
        }
        parse(&body, &utc())
    };
    for (header, sep) in [
        ("Agent ID,Start Time,End Time,Activity", ","),
        ("Agent;Start;Stop;Activity Name", ";"),
        ("EMPLOYEE\tstart_time\tend-time\tActivity Type", "\t"),
        ("Employee ID;StartTime;Stop Time;Segment", ";"),
        ("agent;start;end;activity", ";"),
    ] {
        assert_eq!(with(header, sep).as_ref(), Ok(&canonical), "{header:?}");
    }
    // Other columns are ignored, in any place; a quoted `;` does not split.
    let body = "\"Name; full\";Employee;Start Time;End Time;Activity;Comment\n\
                Li Na;A1;2026-11-23 09:00;2026-11-23 11:00;Shift;\"a; b\"\n\
                Li Na;A1;2026-11-23 10:00;2026-11-23 10:15;Break;\n\
                Omar;A2;2026-11-23T09:00:00Z;2026-11-23T11:00:00Z;shift;\n";
    assert_eq!(parse(body, &utc()), Ok(canonical));
    // Ambiguous: two columns for one field.
    let e = with("Agent ID,Employee,Start,End", ",").unwrap_err();
    assert_eq!(e.at, "line 1");
    assert!(e.message.contains("\"Agent ID\" and \"Employee\"") && e.message.contains("`agent`"), "{e}");
    let e = with("agent;start;end;Activity Name;Activity Type", ";").unwrap_err();
    assert!(e.message.contains("\"Activity Name\" and \"Activity Type\""), "{e}");
    // A name that is not one of them is still refused, naming the column.
    let e = with("agent,begin,end,activity", ",").unwrap_err();
    assert!(e.message.contains("no `start` column") && e.message.contains("\"Start Time\""), "{e}");
    // A bad row of a `;` file names its line.
    let e = refused("agent;start;end;activity\nA1;2026-11-23 09:00;2026-11-23 08:00;shift\n");
    assert_eq!(e.at, "line 2", "{e}");
}

/// A `;`-separated export as `[roster] file`, replayed: the schedule it gives.
#[test]
fn a_semicolon_roster_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roster.csv");
    std::fs::write(
        &path,
        "\u{feff}Agent ID;Start Time;End Time;Activity Name\r\n\
         A1;2026-11-23 09:00;2026-11-23 11:00;Shift\r\n\
         A1;2026-11-23 10:00;2026-11-23 10:15;Break\r\n",
    )
    .unwrap();
    let toml = format!("[roster]\nfile = {:?}\n", path.display().to_string());
    let file = FileConfig::parse(&toml, "test").unwrap();
    let mut settings = file.settings().unwrap();
    settings.roster = file.roster_upload(dir.path(), &settings.tz).unwrap().map(std::sync::Arc::new);
    let events = [ev("09:00", "A1", "idle"), ev("10:00", "A1", "aux:break"), ev("10:15", "A1", "idle")].join("\n");
    let mut out = Vec::new();
    let now = floorwatch::time::parse_instant("2026-11-23T10:30:00Z");
    floorwatch::replay::run(settings, events.as_bytes(), now, 65536, &mut out).unwrap();
    let s: Value = serde_json::from_slice(&out).unwrap();
    let today = &agent(&s, "A1")["windows"]["today"];
    assert_eq!((today["scheduled_s"].as_f64(), today["in_adherence_s"].as_f64()), (Some(5400.0), Some(5400.0)));
    assert_eq!(today["planned_aux_s"], 900.0);
}

/// `Break` in a roster is the `break` the defaults and `[adherence.allowed]` speak of, and
/// matches aux reason `break`: the agent on its scheduled break is in adherence, its aux
/// planned. Aux reasons stay exact, as everywhere in floorwatch: reason `Break` does not
/// match, unless `[adherence.allowed]` says so.
#[test]
fn activity_names_are_case_insensitive() {
    let toml = "[server]\nclock = \"event\"\n";
    let roster = "agent,start,end,activity
B1,2026-11-23 09:00,2026-11-23 11:00,shift
B1,2026-11-23 10:00,2026-11-23 10:15,Break
B2,2026-11-23 09:00,2026-11-23 11:00,shift
B2,2026-11-23 10:00,2026-11-23 10:15,BREAK
B3,2026-11-23 09:00,2026-11-23 11:00,shift
B3,2026-11-23 10:00,2026-11-23 10:15,break
";
    let events: Vec<String> = ["B1", "B2", "B3"]
        .into_iter()
        .flat_map(|a| {
            let reason = if a == "B3" { "aux:Break" } else { "aux:break" };
            [ev("09:00", a, "idle"), ev("10:00", a, reason), ev("10:15", a, "idle")]
        })
        .collect();
    let s = engine_snapshot(toml, roster, &events, "10:10");
    for a in ["B1", "B2"] {
        let g = agent(&s, a);
        assert_eq!(g["scheduled"], "break", "{g}");
        assert_eq!(g["out_of_adherence_since"], Value::Null, "{g}");
        assert_eq!(g["windows"]["15m"]["planned_aux_s"], 600.0, "{g}");
    }
    assert_eq!(agent(&s, "B3")["out_of_adherence_since"], "2026-11-23T10:00:00.000Z");
    // The same roster as JSON.
    let json = r#"{"agents": [{"agent": "B1", "shifts": [{"start": "2026-11-23 09:00", "end": "2026-11-23 11:00",
        "activities": [{"activity": "Break", "start": "2026-11-23 10:00", "end": "2026-11-23 10:15"}]}]}]}"#;
    let s = engine_snapshot(toml, json, &events[..3], "10:10");
    assert_eq!(agent(&s, "B1")["scheduled"], "break");
    assert_eq!(agent(&s, "B1")["out_of_adherence_since"], Value::Null);
    // A configured key in any case: `Huddle` is the roster's `HUDDLE`; a floor whose
    // platform sends `Break` lists it for `break`.
    let toml = "[server]\nclock = \"event\"\n[adherence.allowed]\nHuddle = [\"idle\"]\nbreak = [\"aux:Break\"]\n";
    let roster = "agent,start,end,activity
H1,2026-11-23 09:00,2026-11-23 11:00,shift
H1,2026-11-23 10:00,2026-11-23 10:30,HUDDLE
B3,2026-11-23 09:00,2026-11-23 11:00,shift
B3,2026-11-23 10:00,2026-11-23 10:15,Break
";
    let mut events = vec![ev("09:00", "H1", "idle")];
    events.extend(events_of("B3"));
    let s = engine_snapshot(toml, roster, &events, "10:10");
    assert_eq!(agent(&s, "H1")["scheduled"], "Huddle");
    assert_eq!(agent(&s, "H1")["out_of_adherence_since"], Value::Null, "idle allowed in the huddle");
    assert_eq!(agent(&s, "B3")["scheduled"], "break");
    assert_eq!(agent(&s, "B3")["out_of_adherence_since"], Value::Null, "aux:Break allowed in the break");
}

fn events_of(a: &str) -> [String; 3] {
    [ev("09:00", a, "idle"), ev("10:00", a, "aux:Break"), ev("10:15", a, "idle")]
}

/// A day off cancels the agent's schedule on that day: the no-show is no longer out of
/// adherence, its alert is taken back, and it is off all day; other days and other agents
/// stay. As a CSV `off` row (`Day Off` too) and as JSON `days_off`.
#[tokio::test]
async fn a_day_off_cancels_a_shift() {
    // A short backfill: the no-shows' stretches are final well before the cancellation.
    let d = common::Daemon::start("[server]\nclock = \"event\"\n[floor]\nmax_backfill_secs = 60\n").await;
    let roster = "agent,start,end,activity
R1,2026-11-23 09:00,2026-11-23 17:00,shift
R2,2026-11-23 09:00,2026-11-23 17:00,shift
R2,2026-11-23 12:00,2026-11-23 12:30,lunch
R2,2026-11-24 09:00,2026-11-24 17:00,shift
R3,2026-11-23 09:00,2026-11-23 17:00,shift
";
    let (st, body) = put(&d, roster).await;
    assert_eq!(st, 200, "{body}");
    let events = [ev("09:00", "R1", "idle"), ev("09:20", "R1", "talking")];
    let (st, _) = d.post("/api/v1/events", format!("[{}]", events.join(","))).await;
    assert_eq!(st, 200);
    let ooa = |s: &Value| -> Vec<String> {
        s["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["kind"] == "out_of_adherence")
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect()
    };
    let s = d.get_json("/api/v1/snapshot").await;
    assert_eq!(agent(&s, "R2")["out_of_adherence_since"], "2026-11-23T09:00:00.000Z", "a no-show");
    assert_eq!(ooa(&s).len(), 2, "R2 and R3 alerted: {:?}", ooa(&s));

    // Refused, nothing applied: a day off with a shift starting on it.
    let (st, body) =
        put(&d, "agent,start,end,activity\nR2,2026-11-23,,off\nR2,2026-11-23 13:00,2026-11-23 14:00,shift\n").await;
    assert!(refusal(st, &body).starts_with("line 3: "), "{body}");
    let s = d.get_json("/api/v1/snapshot").await;
    assert_eq!(agent(&s, "R2")["scheduled"], "work");

    // R2's Monday cancelled by an `off` row; R3's by a JSON day off.
    let (st, body) = put(&d, "Agent ID;Start;End;Activity\nR2;2026-11-23;2026-11-23;Day Off\n").await;
    assert_eq!((st, body["agents"].as_u64(), body["rows"].as_u64()), (200, Some(1), Some(1)), "{body}");
    let (st, body) = put(&d, r#"{"agents": [{"agent": "R3", "days_off": ["2026-11-23"]}]}"#).await;
    assert_eq!((st, body["agents"].as_u64(), body["rows"].as_u64()), (200, Some(1), Some(1)), "{body}");
    let s = d.get_json("/api/v1/snapshot").await;
    let r2 = agent(&s, "R2");
    assert_eq!(r2["scheduled"], "off", "{r2}");
    assert_eq!(r2["out_of_adherence_since"], Value::Null, "{r2}");
    assert_eq!(r2["windows"]["today"]["scheduled_s"], 0.0, "{r2}");
    assert!(!listed(&s, "R3"), "R3 has no schedule left: not a no-show");
    assert_eq!(ooa(&s), Vec::<String>::new(), "the no-shows' alerts are taken back");
    let m = d.metrics().await;
    assert_eq!(common::metric(&m, "floorwatch_agents_out_of_adherence{team=\"unassigned\"}"), Some(0.0), "{m}");
    // R1's day and R2's Tuesday stay.
    assert_eq!(agent(&s, "R1")["scheduled"], "work");
    let (st, _) = d.post("/api/v1/events", format!("[{}]", ev("23:59", "R1", "idle"))).await;
    assert_eq!(st, 200);
    let (st, _) = d.post("/api/v1/events", r#"[{"ts":"2026-11-24T09:10:00Z","agent":"R1","state":"idle"}]"#).await;
    assert_eq!(st, 200);
    let s = d.get_json("/api/v1/snapshot").await;
    assert_eq!(agent(&s, "R2")["scheduled"], "work", "R2 is due on Tuesday");
    assert_eq!(agent(&s, "R2")["out_of_adherence_since"], "2026-11-24T09:00:00.000Z");
    d.stop().await;
}

/// Days off in every shape a user writes them, the days they name (in the floor's zone),
/// and the refusals kept: an `off` activity inside a JSON shift, a span that ends first.
#[test]
fn days_off_through_the_engine() {
    let toml = "[server]\nclock = \"event\"\n[floor]\ntimezone = \"Asia/Shanghai\"\n";
    let week = "agent,start,end,activity
W1,2026-11-23 09:00,2026-11-23 17:00,shift
W1,2026-11-24 09:00,2026-11-24 17:00,shift
W1,2026-11-25 09:00,2026-11-25 17:00,shift
";
    let settings = FileConfig::parse(toml, "test").unwrap().settings().unwrap();
    let tz = settings.tz.clone();
    let scheduled_days = |off: &str| -> Vec<String> {
        let mut e = Engine::new(settings.clone());
        e.upload_roster(&parse(week, &tz).unwrap()).unwrap();
        e.upload_roster(&parse(off, &tz).unwrap()).unwrap();
        let opts = ViewOpts { team: None, agents: true, alerts: false, scrape: false };
        // 10:00 in Shanghai is 02:00 UTC.
        ["2026-11-23", "2026-11-24", "2026-11-25"]
            .into_iter()
            .filter(|d| {
                let now = floorwatch::time::parse_instant(&format!("{d}T02:00:00Z")).unwrap();
                let s = serde_json::to_value(floorwatch::snapshot::Snapshot(&e.view(now, &opts))).unwrap();
                listed(&s, "W1") && agent(&s, "W1")["scheduled"] == "work"
            })
            .map(String::from)
            .collect()
    };
    let h = "agent,start,end,activity\n";
    for (off, left) in [
        (format!("{h}W1,2026-11-24,,off"), ["2026-11-23", "2026-11-25"].as_slice()),
        (format!("{h}W1,2026-11-24,2026-11-25,DAYOFF"), &["2026-11-23"]),
        (format!("{h}W1,2026-11-24 00:00,2026-11-25 00:00,day_off"), &["2026-11-23", "2026-11-25"]),
        // 2026-11-23T16:00Z is midnight of the 24th in Shanghai.
        (format!("{h}W1,2026-11-23T16:00:00Z,2026-11-23T17:00:00Z,Off"), &["2026-11-23", "2026-11-25"]),
        (r#"{"agents": [{"agent": "W1", "days_off": ["2026-11-23", "2026-11-25"]}]}"#.into(), &["2026-11-24"]),
        // A day off and a shift of other days in one upload.
        (format!("{h}W1,2026-11-23,,off\nW1,2026-11-25 10:00,2026-11-25 12:00,shift"), &["2026-11-24", "2026-11-25"]),
        // A day off of another agent changes nothing of W1's.
        (format!("{h}W2,2026-11-24,,off"), &["2026-11-23", "2026-11-24", "2026-11-25"]),
    ] {
        assert_eq!(scheduled_days(&off), left, "{off}");
    }
    // An agent never scheduled given only a day off is not put on the roster.
    let mut e = Engine::new(settings.clone());
    e.upload_roster(&parse(&format!("{h}W2,2026-11-24,,off"), &tz).unwrap()).unwrap();
    assert!(e.roster().is_empty());
    // Refusals kept.
    let e = parse(
        r#"{"agents": [{"agent": "W1", "shifts": [{"start": "2026-11-24 09:00", "end": "2026-11-24 17:00",
            "activities": [{"activity": "off", "start": "2026-11-24 10:00", "end": "2026-11-24 11:00"}]}]}]}"#,
        &tz,
    )
    .unwrap_err();
    assert_eq!(e.at, "agents[0].shifts[0].activities[0]", "{e}");
    let e = parse(&format!("{h}W1,2026-11-25,2026-11-24,off"), &tz).unwrap_err();
    assert_eq!(e.at, "line 2", "{e}");
    let e = parse(r#"{"agents": [{"agent": "W1", "days_off": ["24.11.2026"]}]}"#, &tz).unwrap_err();
    assert_eq!(e.at, "agents[0].days_off[0]", "{e}");
}

/// The rows held at once are bounded (`roster.max_rows`): uploads of days ahead add up (a
/// day is replaced only by an upload naming it), and one that would hold more is refused
/// whole, naming the key; one that replaces days it names holds no more and is taken.
#[tokio::test]
async fn the_rows_held_are_bounded_by_roster_max_rows() {
    let d = common::Daemon::start("[server]\nclock = \"event\"\n[roster]\nmax_rows = 8\n").await;
    let day = |date: &str| {
        ["R1", "R2", "R3"]
            .iter()
            .map(|a| format!("{a},{date} 09:00,{date} 17:00,shift\n{a},{date} 12:00,{date} 12:30,lunch\n"))
            .collect::<String>()
    };
    let csv = |days: &[&str]| format!("agent,start,end,activity\n{}", days.iter().map(|d| day(d)).collect::<String>());
    let (st, body) = put(&d, &csv(&["2026-11-23"])).await;
    assert_eq!((st, body["rows"].as_u64()), (200, Some(6)), "{body}");
    // The next day's 6 more would hold 12.
    let (st, body) = put(&d, &csv(&["2026-11-24"])).await;
    let msg = refusal(st, &body);
    assert!(msg.contains("12 schedule rows") && msg.contains("roster.max_rows (8)"), "{msg}");
    // The same day again, changed: it replaces the 6, and is taken.
    let changed = csv(&["2026-11-23"]).replace("12:30,lunch", "13:00,lunch");
    let (st, body) = put(&d, &changed).await;
    assert_eq!(st, 200, "{body}");
    // Two agents' next day (4 rows) would hold 10; one agent's (2 rows) 8.
    let two = format!(
        "agent,start,end,activity\n{}",
        day("2026-11-24").lines().take(4).map(|l| format!("{l}\n")).collect::<String>()
    );
    let (st, body) = put(&d, &two).await;
    assert!(refusal(st, &body).contains("10 schedule rows"), "{body}");
    let one = format!(
        "agent,start,end,activity\n{}",
        day("2026-11-24").lines().take(2).map(|l| format!("{l}\n")).collect::<String>()
    );
    let (st, body) = put(&d, &one).await;
    assert_eq!(st, 200, "{body}: nothing of the refused uploads is held");
    let (st, body) = put(&d, &one.replace("R1", "R4")).await;
    assert!(refusal(st, &body).contains("10 schedule rows"), "{body}");
    // /metrics: the rows held against the bound, and the uploads by outcome.
    let m = d.metrics().await;
    let metric = |name: &str| common::metric(&m, name);
    assert_eq!(metric("floorwatch_roster_rows"), Some(8.0), "{m}");
    assert_eq!(metric("floorwatch_roster_rows_limit"), Some(8.0));
    assert_eq!(metric("floorwatch_roster_agents"), Some(3.0));
    assert_eq!(metric("floorwatch_roster_uploads_total{outcome=\"applied\",source=\"put\"}"), Some(3.0));
    assert_eq!(metric("floorwatch_roster_uploads_total{outcome=\"refused\",source=\"put\"}"), Some(3.0));
    assert_eq!(metric("floorwatch_roster_uploads_total{outcome=\"applied\",source=\"file\"}"), Some(0.0));
    d.stop().await;
}
