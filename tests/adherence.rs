//! Roster and schedule adherence (SPEC §9): the worked example of §9.4 through `replay`
//! with the roster in `[roster] file` as a user runs it, the same roster as JSON, and the
//! alert's timing at shift, break and DST edges.

mod common;

use floorwatch::alert::AlertKind;
use floorwatch::config::FileConfig;
use serde_json::{Value, json};

const ROSTER_CSV: &str = "agent,start,end,activity
A1,2026-11-23 09:00,2026-11-23 11:00,shift
A1,2026-11-23 10:00,2026-11-23 10:15,break
A2,2026-11-23T09:00:00Z,2026-11-23T11:00:00Z,shift
A2,2026-11-23T10:00:00Z,2026-11-23T10:15:00Z,break
";

const ROSTER_JSON: &str = r#"{"agents": [
  {"agent": "A1", "shifts": [{"start": "2026-11-23 09:00", "end": "2026-11-23 11:00",
     "activities": [{"activity": "break", "start": "2026-11-23 10:00", "end": "2026-11-23 10:15"}]}]},
  {"agent": "A2", "shifts": [{"start": "2026-11-23T09:00:00Z", "end": "2026-11-23T11:00:00Z",
     "activities": [{"activity": "break", "start": "2026-11-23T10:00:00Z", "end": "2026-11-23T10:15:00Z"}]}]}
]}"#;

/// The events of §9.4 (team T1), one per line.
fn events() -> String {
    let ev = |t: &str, a: &str, state: &str, reason: Option<&str>| {
        let r = reason.map(|r| format!(r#","reason":"{r}""#)).unwrap_or_default();
        format!(r#"{{"ts":"2026-11-23T{t}:00Z","agent":"{a}","state":"{state}","team":"T1"{r}}}"#)
    };
    [
        ev("09:00", "A1", "idle", None),
        ev("09:02", "A2", "idle", None),
        ev("09:10", "A1", "talking", None),
        ev("09:20", "A1", "acw", None),
        ev("09:22", "A1", "idle", None),
        ev("09:30", "A2", "talking", None),
        ev("09:45", "A2", "idle", None),
        ev("10:00", "A1", "aux", Some("break")),
        ev("10:01", "A2", "aux", Some("break")),
        ev("10:15", "A1", "idle", None),
        ev("10:24", "A2", "idle", None),
        ev("10:30", "A1", "talking", None),
        ev("10:40", "A2", "talking", None),
        ev("10:50", "A1", "idle", None),
    ]
    .join("\n")
}

/// Replays `events` with `roster` written to a file named by `[roster] file`, as of `now`.
fn replay(roster: &str, ext: &str, extra: &str, events: &str, now: Option<&str>, tz: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("roster.{ext}"));
    std::fs::write(&path, roster).unwrap();
    let toml = format!(
        "[floor]\nwindows = [\"15m\", \"60m\", \"today\"]\ntimezone = \"{tz}\"\nmin_team = 3\n[roster]\nfile = {:?}\n{extra}",
        path.display().to_string()
    );
    let file = FileConfig::parse(&toml, "test").unwrap();
    let mut settings = file.settings().unwrap();
    settings.roster = file.roster_upload(dir.path(), &settings.tz).unwrap().map(std::sync::Arc::new);
    let now = now.map(|n| floorwatch::time::parse_instant(n).unwrap());
    let mut out = Vec::new();
    floorwatch::replay::run(settings, events.as_bytes(), now, 65536, &mut out).unwrap();
    serde_json::from_slice(&out).unwrap()
}

fn agent<'a>(s: &'a Value, id: &str) -> &'a Value {
    s["agents"].as_array().unwrap().iter().find(|a| a["agent"] == id).unwrap_or_else(|| panic!("no agent {id}"))
}

fn team<'a>(s: &'a Value, id: &str) -> &'a Value {
    s["teams"].as_array().unwrap().iter().find(|t| t["team"] == id).unwrap_or_else(|| panic!("no team {id}"))
}

fn close(v: &Value, want: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("{v} is not a number"));
    assert!((got - want).abs() < 5e-5, "{got} != {want}");
}

/// An engine with the configuration `toml` and the roster `csv` uploaded.
fn engine_with(toml: &str, csv: &str) -> floorwatch::engine::Engine {
    let settings = FileConfig::parse(toml, "test").unwrap().settings().unwrap();
    let up = floorwatch::roster::parse::parse(csv, &settings.tz).unwrap();
    let mut engine = floorwatch::engine::Engine::new(settings);
    engine.upload_roster(&up).unwrap();
    engine
}

/// An instant of 2026-11-23 (UTC) at `hm` (`HH:MM`).
fn at(hm: &str) -> floorwatch::time::Ms {
    floorwatch::time::parse_instant(&format!("2026-11-23T{hm}:00Z")).unwrap()
}

/// Feeds native event lines to `engine` as `floorwatch replay` does.
fn feed(engine: &mut floorwatch::engine::Engine, text: &str) {
    floorwatch::replay::feed(engine, text.as_bytes(), 65536, false).unwrap();
}

/// The snapshot of `engine` at `now`, as JSON.
fn snapshot(
    engine: &mut floorwatch::engine::Engine,
    now: floorwatch::time::Ms,
    opts: &floorwatch::engine::ViewOpts,
) -> Value {
    serde_json::to_value(floorwatch::snapshot::Snapshot(&engine.view(now, opts))).unwrap()
}

fn alerts(s: &Value) -> Vec<(String, String, String, Value)> {
    s["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_string(),
                a["started_at"].as_str().unwrap().to_string(),
                a["fired_at"].as_str().unwrap().to_string(),
                a["resolved_at"].clone(),
            )
        })
        .collect()
}

fn check_worked_example(s: &Value) {
    let a1 = &agent(s, "A1")["windows"]["today"];
    assert_eq!(a1["scheduled_s"], 6300.0);
    assert_eq!(a1["in_adherence_s"], 6300.0);
    assert_eq!(a1["adherence"], 1.0);
    assert_eq!(a1["conformance"], 1.0);
    assert_eq!(a1["talking_s"], 1500.0);
    assert_eq!(a1["staffed_s"], 6300.0);
    close(&a1["talk_utilization"], 0.2381);
    assert_eq!(a1["aux_s"], 900.0);
    assert_eq!(a1["planned_aux_s"], 900.0);
    assert_eq!(a1["aux_ratio"], 0.0);
    let a2 = &agent(s, "A2")["windows"]["today"];
    assert_eq!(a2["scheduled_s"], 6300.0);
    assert_eq!(a2["in_adherence_s"], 5580.0);
    close(&a2["adherence"], 0.8857);
    close(&a2["conformance"], 4740.0 / 5400.0);
    close(&a2["talk_utilization"], 0.1905);
    assert_eq!(a2["aux_s"], 1380.0);
    assert_eq!(a2["planned_aux_s"], 840.0);
    close(&a2["aux_ratio"], 540.0 / 6180.0);
    let t1 = &team(s, "T1")["windows"]["today"];
    close(&t1["adherence"], 0.9429);
    close(&t1["conformance"], 0.9389);
    close(&t1["talk_utilization"], 0.2143);
    let a2h = &agent(s, "A2")["windows"]["60m"];
    close(&a2h["adherence"], 0.8333);
    close(&a2h["conformance"], 0.8);
    assert_eq!(
        alerts(s),
        vec![(
            "out_of_adherence:T1:A2:1795428900000".to_string(),
            "2026-11-23T10:15:00.000Z".to_string(),
            "2026-11-23T10:20:00.000Z".to_string(),
            Value::from("2026-11-23T10:24:00.000Z"),
        )]
    );
    assert_eq!(agent(s, "A1")["scheduled"], "work");
    assert_eq!(agent(s, "A2")["scheduled"], "work");
}

#[test]
fn worked_example_of_spec_9_4_csv() {
    let s = replay(ROSTER_CSV, "csv", "", &events(), Some("2026-11-23T10:45:00Z"), "UTC");
    check_worked_example(&s);
}

#[test]
fn worked_example_of_spec_9_4_json() {
    let s = replay(ROSTER_JSON, "json", "", &events(), Some("2026-11-23T10:45:00Z"), "UTC");
    check_worked_example(&s);
}

/// The same floor in Shanghai: the local rows move by 8 hours, the RFC 3339 rows do not.
#[test]
fn local_times_are_in_the_floors_zone() {
    let s = replay(ROSTER_CSV, "csv", "", &events(), Some("2026-11-23T10:45:00Z"), "Asia/Shanghai");
    // A1's shift is 01:00-03:00 UTC (09:00-11:00 in Shanghai, today there): over by
    // 09:45 UTC, so nothing in the last hour.
    assert_eq!(agent(&s, "A1")["windows"]["today"]["scheduled_s"], 7200.0);
    assert_eq!(agent(&s, "A1")["windows"]["60m"]["scheduled_s"], 0.0);
    assert_eq!(agent(&s, "A1")["scheduled"], "off");
    assert_eq!(agent(&s, "A2")["windows"]["60m"]["scheduled_s"], 3600.0);
}

/// A no-show is listed offline in `unassigned`, out of adherence from the shift's start.
#[test]
fn a_no_show_is_listed_and_alerted() {
    let roster = format!("{ROSTER_CSV}A3,2026-11-23 09:00,2026-11-23 11:00,shift\n");
    let s = replay(&roster, "csv", "", &events(), Some("2026-11-23T10:45:00Z"), "UTC");
    let a3 = agent(&s, "A3");
    assert_eq!(a3["state"], "offline");
    assert_eq!(a3["team"], "unassigned");
    assert_eq!(a3["since"], Value::Null);
    assert_eq!(a3["name"], Value::Null);
    assert_eq!(a3["out_of_adherence_since"], "2026-11-23T09:00:00.000Z");
    assert_eq!(a3["windows"]["today"]["scheduled_s"], 6300.0);
    assert_eq!(a3["windows"]["today"]["in_adherence_s"], 0.0);
    assert_eq!(a3["windows"]["today"]["offline_s"], 0.0);
    let un = team(&s, "unassigned");
    assert_eq!(un["current"]["offline"], 1);
    assert_eq!(un["windows"]["today"]["adherence"], 0.0);
    assert!(alerts(&s).contains(&(
        "out_of_adherence:unassigned:A3:1795424400000".to_string(),
        "2026-11-23T09:00:00.000Z".to_string(),
        "2026-11-23T09:05:00.000Z".to_string(),
        Value::Null,
    )));
    let a = s["alerts"].as_array().unwrap().iter().find(|a| a["agent"] == "A3").unwrap();
    assert_eq!(a["message"], "A3 is scheduled but has not logged in for 5 min");
}

/// An alert's team is the agent's team at its fire (SPEC §9.3): an agent who logs in after
/// its no-show alert fired was in `unassigned` then, and the alert stays there (resolved when
/// the agent is in adherence); one whose events stamped before the fire arrive late was on
/// the floor after all, and the alert moves to its team. Fed line by line, as a live feed.
#[test]
fn a_no_show_alert_keeps_the_team_it_fired_in() {
    let roster = "agent,start,end,activity\n\
                  A1,2026-11-23 09:00,2026-11-23 11:00,shift\n\
                  L1,2026-11-23 09:00,2026-11-23 11:00,shift\n\
                  L2,2026-11-23 09:00,2026-11-23 11:00,shift\n\
                  L3,2026-11-23 09:00,2026-11-23 11:00,shift\n";
    let mut engine = engine_with("[server]\nclock = \"event\"\n", roster);
    let ev = |t: &str, a: &str, rest: &str| format!(r#"{{"ts":"2026-11-23T{t}:00Z","agent":"{a}",{rest}}}"#);
    let opts = floorwatch::engine::ViewOpts { team: None, agents: true, alerts: true, scrape: false };
    let id = |team: &str, agent: &str| format!("out_of_adherence:{team}:{agent}:1795424400000");
    let find = |s: &Value, id: &str| s["alerts"].as_array().unwrap().iter().find(|a| a["id"] == id).cloned();
    feed(&mut engine, &ev("09:00", "A1", r#""state":"idle","team":"T1""#));
    feed(&mut engine, &ev("09:06", "A1", r#""state":"talking""#));
    let s = snapshot(&mut engine, at("09:06"), &opts);
    for l in ["L1", "L2", "L3"] {
        let a = find(&s, &id("unassigned", l)).unwrap_or_else(|| panic!("{l}'s no-show alert: {s}"));
        assert_eq!((a["state"].as_str(), a["fired_at"].as_str()), (Some("firing"), Some("2026-11-23T09:05:00.000Z")));
        assert_eq!(a["message"], format!("{l} is scheduled but has not logged in for 5 min"));
    }
    // L1 logs in at 09:07, idle: in adherence from then on.
    feed(&mut engine, &ev("09:07", "L1", r#""state":"idle","team":"T1","name":"Li Wei""#));
    // L2 logs in at 09:08 on a break nobody scheduled, back at 09:20.
    feed(&mut engine, &ev("09:08", "L2", r#""state":"aux","reason":"personal","team":"T1""#));
    // L3's log-in at 09:04 arrives late, after the fire: it was out of adherence in T1.
    feed(&mut engine, &ev("09:04", "L3", r#""state":"aux","reason":"personal","team":"T1""#));
    let s = snapshot(&mut engine, at("09:10"), &opts);
    let l1 = find(&s, &id("unassigned", "L1")).expect("L1's alert stays in unassigned");
    assert_eq!(
        (l1["state"].as_str(), l1["resolved_at"].as_str()),
        (Some("resolved"), Some("2026-11-23T09:07:00.000Z"))
    );
    assert_eq!(l1["message"], "L1 (Li Wei) had not logged in 5 min into its scheduled work");
    assert_eq!(find(&s, &id("T1", "L1")), None, "{s}");
    let l2 = find(&s, &id("unassigned", "L2")).expect("L2's alert stays in unassigned");
    assert_eq!(l2["state"], "firing");
    assert_eq!(l2["message"], "L2 had not logged in 5 min into its scheduled work");
    assert_eq!(find(&s, &id("unassigned", "L3")), None, "L3's alert moved: {s}");
    let l3 = find(&s, &id("T1", "L3")).expect("L3's alert in its team");
    assert_eq!(
        (l3["state"].as_str(), l3["message"].as_str()),
        (Some("firing"), Some("L3 has been out of adherence with the schedule for 5 min"))
    );
    assert_eq!(agent(&s, "L2")["team"], "T1");
    feed(&mut engine, &ev("09:20", "L2", r#""state":"idle""#));
    let s = snapshot(&mut engine, at("09:21"), &opts);
    let l2 = find(&s, &id("unassigned", "L2")).unwrap();
    assert_eq!(
        (l2["state"].as_str(), l2["resolved_at"].as_str()),
        (Some("resolved"), Some("2026-11-23T09:20:00.000Z"))
    );
    let firing: Vec<&Value> = s["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["state"] == "firing" && a["kind"] == "out_of_adherence")
        .map(|a| &a["id"])
        .collect();
    assert_eq!(firing, vec![&Value::from(id("T1", "L3"))], "{s}");
}

/// A no-show's team `unassigned` is at peak in the configured windows like any team (SPEC
/// §4.1: a configured window needs no logged-in member), so its `peak_today` holds the
/// shift's peak time, whether or not agents without a team are on the floor too.
#[test]
fn a_no_shows_peak_today_is_its_shift_in_the_peak_windows() {
    use floorwatch::engine::ViewOpts;
    let csv = "agent,start,end,activity\nA1,2026-11-23 09:00,2026-11-23 12:00,shift\nN1,2026-11-23 09:00,2026-11-23 12:00,shift\n";
    let toml = "[server]\nclock = \"event\"\n[floor]\ntimezone = \"UTC\"\nwindows = [\"today\", \"peak_today\"]\n[peak]\nwindows = [\"09:30-11:30\"]\n";
    let opts = ViewOpts { team: None, agents: true, alerts: false, scrape: false };
    // A1 in team T1, or without a team (then it is in the engine's team `unassigned` too).
    for with_team in [r#","team":"T1""#, ""] {
        let mut engine = engine_with(toml, csv);
        let ev = |t: &str| format!(r#"{{"ts":"2026-11-23T{t}:00Z","agent":"A1","state":"idle"{with_team}}}"#);
        feed(&mut engine, &[ev("09:00"), ev("11:00")].join("\n"));
        let s = snapshot(&mut engine, at("11:00"), &opts);
        let n1 = agent(&s, "N1");
        assert_eq!(n1["team"], "unassigned");
        // 09:30-11:00: 90 minutes scheduled in peak time, none of it in adherence.
        assert_eq!(n1["windows"]["peak_today"]["scheduled_s"], 5400.0, "team {with_team:?}");
        assert_eq!(n1["windows"]["peak_today"]["in_adherence_s"], 0.0);
        assert_eq!(agent(&s, "A1")["windows"]["peak_today"]["scheduled_s"], 5400.0);
        let un = team(&s, "unassigned");
        assert_eq!(un["peak"], true, "team {with_team:?}");
        let want = if with_team.is_empty() { 10800.0 } else { 5400.0 };
        assert_eq!(un["windows"]["peak_today"]["scheduled_s"], want, "team {with_team:?}");
        // After the window: not at peak, the peak time of the morning kept.
        let s = snapshot(&mut engine, at("11:45"), &opts);
        assert_eq!(team(&s, "unassigned")["peak"], false);
        assert_eq!(agent(&s, "N1")["windows"]["peak_today"]["scheduled_s"], 7200.0);
    }
}

/// Two events of an agent at one instant: the state at that instant is the last one's
/// (docs/alerts.md), so offline at 09:30, idle and offline again at 09:33 is one stretch
/// out of adherence from 09:30, whose alert fires at 09:35.
#[test]
fn two_events_at_one_instant_do_not_split_a_stretch() {
    let roster = "agent,start,end,activity\nA1,2026-11-23 09:00,2026-11-23 12:00,shift\n";
    let ev =
        |t: &str, state: &str| format!(r#"{{"ts":"2026-11-23T{t}:00Z","agent":"A1","state":"{state}","team":"T1"}}"#);
    let events =
        [ev("08:00", "idle"), ev("09:30", "offline"), ev("09:33", "idle"), ev("09:33", "offline"), ev("10:40", "idle")]
            .join("\n");
    let s = replay(roster, "csv", "", &events, Some("2026-11-23T09:36:00Z"), "UTC");
    assert_eq!(agent(&s, "A1")["out_of_adherence_since"], "2026-11-23T09:30:00.000Z");
    let fired = |s: &Value| {
        alerts(s).into_iter().map(|(_, start, fired, resolved)| (start, fired, resolved)).collect::<Vec<_>>()
    };
    let z = |hm: &str| format!("2026-11-23T{hm}:00.000Z");
    assert_eq!(fired(&s), [(z("09:30"), z("09:35"), Value::Null)]);
    let s = replay(roster, "csv", "", &events, Some("2026-11-23T11:00:00Z"), "UTC");
    assert_eq!(fired(&s), [(z("09:30"), z("09:35"), Value::String(z("10:40")))]);
    // Its figures agree: in adherence 09:00-09:30 and 10:40-11:00 only.
    assert_eq!(agent(&s, "A1")["windows"]["today"]["in_adherence_s"], 3000.0);
}

/// The alert's timing at the edges: a stretch of exactly the threshold fires and resolves
/// at once; one a millisecond shorter never fires; the shift's end resolves it; a stretch
/// across a DST change is measured in real time.
#[test]
fn alert_timing_table() {
    // (tz, roster rows for A1, A1's events as (local-or-utc time, state, reason), now,
    //  expected alerts (started, fired, resolved or ""))
    type Case = (
        &'static str,
        &'static str,
        Vec<(&'static str, &'static str, Option<&'static str>)>,
        &'static str,
        Vec<(&'static str, &'static str, &'static str)>,
    );
    let cases: Vec<Case> = vec![
        // Late from break by exactly 5 min: fires and resolves at 10:20.
        (
            "UTC",
            "A1,2026-11-23 09:00,2026-11-23 11:00,shift\nA1,2026-11-23 10:00,2026-11-23 10:15,break\n",
            vec![
                ("2026-11-23T09:00:00Z", "idle", None),
                ("2026-11-23T10:00:00Z", "aux", Some("break")),
                ("2026-11-23T10:20:00Z", "idle", None),
            ],
            "2026-11-23T10:30:00Z",
            vec![("2026-11-23T10:15:00.000Z", "2026-11-23T10:20:00.000Z", "2026-11-23T10:20:00.000Z")],
        ),
        // Back a millisecond before the threshold: nothing.
        (
            "UTC",
            "A1,2026-11-23 09:00,2026-11-23 11:00,shift\nA1,2026-11-23 10:00,2026-11-23 10:15,break\n",
            vec![
                ("2026-11-23T09:00:00Z", "idle", None),
                ("2026-11-23T10:00:00Z", "aux", Some("break")),
                ("2026-11-23T10:19:59.999Z", "idle", None),
            ],
            "2026-11-23T10:30:00Z",
            vec![],
        ),
        // Logs off 3 minutes before the end of the shift, then the shift ends: 3 min, nothing;
        // logs off 10 minutes early: fires 5 min later, resolved by the shift's end.
        (
            "UTC",
            "A1,2026-11-23 09:00,2026-11-23 11:00,shift\n",
            vec![("2026-11-23T09:00:00Z", "idle", None), ("2026-11-23T10:50:00Z", "offline", None)],
            "2026-11-23T12:00:00Z",
            vec![("2026-11-23T10:50:00.000Z", "2026-11-23T10:55:00.000Z", "2026-11-23T11:00:00.000Z")],
        ),
        // Still in break aux after the break, at now: fired, firing.
        (
            "UTC",
            "A1,2026-11-23 09:00,2026-11-23 11:00,shift\nA1,2026-11-23 10:00,2026-11-23 10:15,break\n",
            vec![("2026-11-23T09:00:00Z", "idle", None), ("2026-11-23T10:00:00Z", "aux", Some("break"))],
            "2026-11-23T10:20:00Z",
            vec![("2026-11-23T10:15:00.000Z", "2026-11-23T10:20:00.000Z", "")],
        ),
        // New York, the night clocks fall back (2026-11-01): a shift 00:30-03:00 local lasts
        // 3.5 h; the agent is offline from 01:30 EDT (05:30Z) on: the alert fires at 05:35Z
        // and the shift ends at 03:00 EST = 08:00Z.
        (
            "America/New_York",
            "A1,2026-11-01 00:30,2026-11-01 03:00,shift\n",
            vec![("2026-11-01T04:30:00Z", "idle", None), ("2026-11-01T05:30:00Z", "offline", None)],
            "2026-11-01T09:00:00Z",
            vec![("2026-11-01T05:30:00.000Z", "2026-11-01T05:35:00.000Z", "2026-11-01T08:00:00.000Z")],
        ),
        // Spring forward (2026-03-08): a break 01:55-03:05 local is 10 min long in real time;
        // back at 03:06 EDT (07:06Z): 1 minute late, nothing; at 03:12 EDT: fires 03:10.
        (
            "America/New_York",
            "A1,2026-03-08 01:00,2026-03-08 05:00,shift\nA1,2026-03-08 01:55,2026-03-08 03:05,break\n",
            vec![
                ("2026-03-08T06:00:00Z", "idle", None),
                ("2026-03-08T06:55:00Z", "aux", Some("break")),
                ("2026-03-08T07:12:00Z", "idle", None),
            ],
            "2026-03-08T08:00:00Z",
            vec![("2026-03-08T07:05:00.000Z", "2026-03-08T07:10:00.000Z", "2026-03-08T07:12:00.000Z")],
        ),
    ];
    for (i, (tz, rows, evs, now, want)) in cases.into_iter().enumerate() {
        let roster = format!("agent,start,end,activity\n{rows}");
        let events: Vec<String> = evs
            .iter()
            .map(|(t, st, r)| {
                let r = r.map(|r| format!(r#","reason":"{r}""#)).unwrap_or_default();
                format!(r#"{{"ts":"{t}","agent":"A1","state":"{st}","team":"T1"{r}}}"#)
            })
            .collect();
        let s = replay(&roster, "csv", "[alerts.long_aux]\nmax_aux_secs = 86400\n", &events.join("\n"), Some(now), tz);
        let got: Vec<(String, String, String)> = s["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["kind"] == "out_of_adherence")
            .map(|a| {
                (
                    a["started_at"].as_str().unwrap().to_string(),
                    a["fired_at"].as_str().unwrap().to_string(),
                    a["resolved_at"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        let want: Vec<(String, String, String)> =
            want.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect();
        assert_eq!(got, want, "case {i}");
    }
}

/// The same events delivered as late batches (another agent's events first, A2's after)
/// give the same figures and alerts as on time (SPEC §2.5).
#[test]
fn late_delivery_gives_the_same_result() {
    let ev = events();
    let mut lines: Vec<&str> = ev.lines().collect();
    // A1's events first, then A2's: each agent's own order kept.
    lines.sort_by_key(|l| !l.contains(r#""agent":"A1""#));
    let late = lines.join("\n");
    // Within the default `floor.max_backfill_secs` (2 h): A2's come up to 1 h 48 min late.
    let config = "";
    let a = replay(ROSTER_CSV, "csv", config, &ev, Some("2026-11-23T10:45:00Z"), "UTC");
    let b = replay(ROSTER_CSV, "csv", config, &late, Some("2026-11-23T10:45:00Z"), "UTC");
    assert_eq!(a["agents"], b["agents"]);
    assert_eq!(a["teams"], b["teams"]);
    assert_eq!(alerts(&a), alerts(&b));
}

/// A change of reason inside unplanned aux does not break a `long_aux` stretch (SPEC §4.2),
/// also when the first reason's stretch was found ahead, where a scheduled break would allow
/// it. A1 goes on break at 10:19:06 (unplanned: its break is scheduled at 10:25), switches to
/// `personal` at 10:23:16 (which the break does not allow) and is back at 10:34:58: one
/// stretch from 10:19:06, firing at 10:29:06 with the entry's limit. It was restarted at
/// 10:23:16 (found by `adherence_oracle.rs`'s random floors, seed 1).
#[test]
fn a_reason_change_before_a_scheduled_break_keeps_the_stretch() {
    let roster = "agent,start,end,activity\nA1,2026-11-23 09:00,2026-11-23 12:00,shift\n\
                  A1,2026-11-23 10:25,2026-11-23 10:40,break\n";
    let events = [
        r#"{"ts":"2026-11-23T09:00:00Z","agent":"A1","state":"idle","team":"T1"}"#,
        r#"{"ts":"2026-11-23T10:19:06.767Z","agent":"A1","state":"aux","reason":"break"}"#,
        r#"{"ts":"2026-11-23T10:23:16.417Z","agent":"A1","state":"aux","reason":"personal"}"#,
        r#"{"ts":"2026-11-23T10:34:58.119Z","agent":"A1","state":"talking"}"#,
        r#"{"ts":"2026-11-23T10:50:00Z","agent":"A1","state":"idle"}"#,
    ]
    .join("\n");
    let s = replay(roster, "csv", "", &events, None, "UTC");
    let long: Vec<_> = alerts(&s).into_iter().filter(|a| a.0.starts_with("long_aux:")).collect();
    assert_eq!(
        long,
        [(
            "long_aux:T1:A1:1795429146767".to_string(),
            "2026-11-23T10:19:06.767Z".to_string(),
            "2026-11-23T10:29:06.767Z".to_string(),
            Value::from("2026-11-23T10:34:58.119Z"),
        )]
    );
    // Kept to its reason: the break allows it from 10:25, so the stretch of 5:53 before
    // that never fires, and none starts after (back at 10:34:58, inside the break).
    let kept = events.replace("personal", "break");
    let s = replay(roster, "csv", "", &kept, None, "UTC");
    assert!(alerts(&s).iter().all(|a| !a.0.starts_with("long_aux:")), "{:?}", alerts(&s));
}

/// More changes of reason inside one run of unplanned aux whose first stretch was found
/// ahead. A1's break is scheduled 10:25-10:40; it goes on `break` at 10:19:06 (unplanned
/// until 10:25), `personal` at 10:23 (the stretch goes on from 10:19:06 with the entry's
/// reason and limit), then either `break` at 10:27 (allowed from there: the stretch ends
/// unfired; the next starts when the break ends at 10:40) or `restroom` at 10:26 and
/// `break` at 10:38. The expected alerts were checked against
/// `tests/oracle/adherence_oracle.py`; session 27 left this path (`continue_aux_stretch`)
/// with only the random floors' word.
#[test]
fn three_reasons_in_one_unplanned_run_keep_the_entrys_stretch() {
    let roster = "agent,start,end,activity\nA1,2026-11-23 09:00,2026-11-23 12:00,shift\n\
                  A1,2026-11-23 10:25,2026-11-23 10:40,break\n";
    let ev = |t: &str, state: &str, reason: &str| {
        let r = if reason.is_empty() { String::new() } else { format!(r#","reason":"{reason}""#) };
        format!(r#"{{"ts":"2026-11-23T{t}Z","agent":"A1","state":"{state}","team":"T1"{r}}}"#)
    };
    let start = [ev("09:00:00", "idle", ""), ev("10:19:06.767", "aux", "break"), ev("10:23:00", "aux", "personal")];
    let back = [ev("10:27:00", "aux", "break"), ev("10:45:00", "aux", "personal")];
    let on = [ev("10:26:00", "aux", "restroom"), ev("10:38:00", "aux", "break")];
    let end = [ev("10:55:00", "idle", ""), ev("11:30:00", "idle", "")];
    let floor = |middle: &[String]| [&start[..], middle, &end[..]].concat().join("\n");
    let short_break = "[alerts.long_aux]\nper_reason = { break = 420, personal = 1200 }\n";
    let (entry, entry_ms) = ("2026-11-23T10:19:06.767Z", 1795429146767u64);
    // (events, config, now, expected long_aux alerts: started, fired, resolved)
    type Want = Vec<(&'static str, &'static str, Option<&'static str>)>;
    let cases: Vec<(String, &str, Option<&str>, Want)> = vec![
        // Back on break at 10:27 inside the scheduled break: 7:53 unplanned, no alert; the
        // stretch after the break (10:40, `break`, then `personal`) fires at 10:50.
        (
            floor(&back),
            "",
            None,
            vec![("2026-11-23T10:40:00.000Z", "2026-11-23T10:50:00.000Z", Some("2026-11-23T10:55:00.000Z"))],
        ),
        // Unplanned on from 10:19:06 through `restroom` until `break` at 10:38: fires at
        // 10:29:06 and resolves at 10:38.
        (
            floor(&on),
            "",
            None,
            vec![
                (entry, "2026-11-23T10:29:06.767Z", Some("2026-11-23T10:38:00.000Z")),
                ("2026-11-23T10:40:00.000Z", "2026-11-23T10:50:00.000Z", Some("2026-11-23T10:55:00.000Z")),
            ],
        ),
        // The limit is the entry's reason's (`break`, 7 min), not `personal`'s (20 min).
        (
            floor(&on),
            short_break,
            None,
            vec![
                (entry, "2026-11-23T10:26:06.767Z", Some("2026-11-23T10:38:00.000Z")),
                ("2026-11-23T10:40:00.000Z", "2026-11-23T10:47:00.000Z", Some("2026-11-23T10:55:00.000Z")),
            ],
        ),
        // The same, as of 10:30: firing.
        (floor(&on), short_break, Some("2026-11-23T10:30:00Z"), vec![(entry, "2026-11-23T10:26:06.767Z", None)]),
        // With `break` back at 10:27, one minute after that fire time: resolved there.
        (
            floor(&back),
            short_break,
            None,
            vec![
                (entry, "2026-11-23T10:26:06.767Z", Some("2026-11-23T10:27:00.000Z")),
                ("2026-11-23T10:40:00.000Z", "2026-11-23T10:47:00.000Z", Some("2026-11-23T10:55:00.000Z")),
            ],
        ),
    ];
    for (i, (events, config, now, want)) in cases.into_iter().enumerate() {
        let s = replay(roster, "csv", config, &events, now, "UTC");
        let got: Vec<(String, String, Value)> = alerts(&s)
            .into_iter()
            .filter(|a| a.0.starts_with("long_aux:"))
            .map(|(_, started, fired, resolved)| (started, fired, resolved))
            .collect();
        let want: Vec<(String, String, Value)> =
            want.iter().map(|&(a, b, c)| (a.to_string(), b.to_string(), c.map_or(Value::Null, Value::from))).collect();
        assert_eq!(got, want, "case {i}");
        let ids: Vec<String> = alerts(&s).into_iter().map(|a| a.0).filter(|id| id.starts_with("long_aux:")).collect();
        assert_eq!(ids.contains(&format!("long_aux:T1:A1:{entry_ms}")), got[0].0 == entry, "case {i}");
    }
}

/// An `out_of_adherence` alert's team is the agent's team at its fire time (SPEC §9.3),
/// however late after it the derivation comes. A1 (T1) is out of adherence from 10:00
/// (personal aux in `work`), so the alert fires at 10:05; at 10:05:30 A1 moves to T2. Read
/// in one batch (`replay`), the derivation came after the move and named the alert T2.
/// Then A1, in T2, is out of adherence again from 10:30 and moves back to T1 at 10:34,
/// still in aux: that alert fires at 10:35 in T1. When A1's site lags from 10:32 (its
/// events 8 minutes late, the others' on time), the alert first fires at 10:35 as of what
/// was known then, in T2; the late move corrects it to T1. The team as first told was kept.
#[test]
fn the_team_of_an_out_of_adherence_alert_is_the_one_at_its_fire_time() {
    let roster = "agent,start,end,activity\nA1,2026-11-23 09:00,2026-11-23 12:00,shift\n\
                  A9,2026-11-23 09:00,2026-11-23 12:00,shift\n";
    let line = |hms: &str, agent: &str, state: &str, extra: &str| {
        format!(r#"{{"ts":"2026-11-23T{hms}Z","agent":"{agent}","state":"{state}"{extra}}}"#)
    };
    let a1 = [
        line("09:00:00", "A1", "idle", r#","team":"T1""#),
        line("10:00:00", "A1", "aux", r#","reason":"personal""#),
        line("10:05:30", "A1", "idle", r#","team":"T2""#),
        line("10:30:00", "A1", "aux", r#","reason":"personal""#),
        line("10:34:00", "A1", "aux", r#","reason":"personal","team":"T1""#),
        line("10:40:00", "A1", "idle", ""),
    ];
    // A9 keeps the clock going, minute by minute (and is in adherence throughout).
    let a9: Vec<(String, String)> = (0..=100)
        .map(|m| {
            let hms = format!("{:02}:{:02}:00", 9 + m / 60, m % 60);
            (hms.clone(), line(&hms, "A9", if m % 2 == 0 { "idle" } else { "talking" }, r#","team":"T9""#))
        })
        .collect();
    let mut on_time: Vec<(String, String)> = a9.clone();
    for l in &a1 {
        on_time.push((l[18..26].to_string(), l.clone()));
    }
    on_time.sort();
    let on_time: Vec<String> = on_time.into_iter().map(|(_, l)| l).collect();
    // A1's events from 10:32 on arrive at 10:40, at once.
    let mut lagging: Vec<String> = Vec::new();
    let mut held: Vec<String> = Vec::new();
    for l in &on_time {
        let t = &l[18..26];
        if l.contains(r#""A1""#) && t >= "10:32:00" {
            held.push(l.clone());
            continue;
        }
        if t >= "10:40:00" && !held.is_empty() {
            lagging.append(&mut held);
        }
        lagging.push(l.clone());
    }
    let want = [
        ("out_of_adherence:T1:A1:1795428000000", "2026-11-23T10:05:00.000Z", "2026-11-23T10:05:30.000Z"),
        ("out_of_adherence:T1:A1:1795429800000", "2026-11-23T10:35:00.000Z", "2026-11-23T10:40:00.000Z"),
    ];
    for (how, lines) in [("one batch", on_time.join("\n")), ("the lagging site", lagging.join("\n"))] {
        let s = replay(roster, "csv", "", &lines, Some("2026-11-23T10:45:00Z"), "UTC");
        let got: Vec<(String, String, String)> = alerts(&s)
            .into_iter()
            .filter(|a| a.0.starts_with("out_of_adherence:") && a.0.contains(":A1:"))
            .map(|a| (a.0, a.2, a.3.as_str().unwrap_or("").to_string()))
            .collect();
        let want: Vec<(String, String, String)> =
            want.iter().map(|w| (w.0.to_string(), w.1.to_string(), w.2.to_string())).collect();
        assert_eq!(got, want, "{how}");
        // And line by line, each line its own batch.
        let mut engine = engine_with("[server]\nclock = \"event\"\n[floor]\nmin_team = 3\n", roster);
        for l in lines.lines() {
            feed(&mut engine, l);
        }
        let opts = floorwatch::engine::ViewOpts { team: None, agents: false, alerts: true, scrape: false };
        let s = snapshot(&mut engine, at("10:45"), &opts);
        let got: Vec<String> = alerts(&s)
            .into_iter()
            .filter(|a| a.0.starts_with("out_of_adherence:") && a.0.contains(":A1:"))
            .map(|a| a.0)
            .collect();
        assert_eq!(got, want.iter().map(|w| w.0.clone()).collect::<Vec<_>>(), "{how}, line by line");
    }
}

/// A roster over `roster.max_bytes` is refused whole (413) naming that key, not the events'
/// body limit an operator would otherwise raise in vain.
#[tokio::test]
async fn a_roster_over_its_limit_is_refused_naming_roster_max_bytes() {
    let d = common::Daemon::start(
        "[server]\nclock = \"event\"\n[roster]\nmax_bytes = 100\n[limits]\nmax_body_bytes = 100000\n",
    )
    .await;
    assert!(ROSTER_CSV.len() > 100, "{}", ROSTER_CSV.len());
    let r = reqwest::Client::new()
        .put(d.url("/api/v1/roster"))
        .header("content-type", "text/csv")
        .body(ROSTER_CSV)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let body: Value = r.json().await.unwrap();
    let msg = body["error"].as_str().unwrap_or_default();
    assert!(
        msg.contains("roster.max_bytes (100 bytes)") && msg.contains("nothing of this upload was applied"),
        "{body}"
    );
    let s = d.get_json("/api/v1/snapshot").await;
    assert!(s["agents"].as_array().unwrap().is_empty(), "nothing applied: {s}");
    d.stop().await;
}

/// A roster saved by Excel as plain "CSV" (the machine's code page: GBK here, an agent's
/// Chinese name) is refused with its line and how to save it; so is the same file as
/// `[roster] file` at start (it said only "stream did not contain valid UTF-8").
#[tokio::test]
async fn a_roster_not_in_utf8_is_refused_saying_how_to_save_it() {
    let d = common::Daemon::start("[server]\nclock = \"event\"\n").await;
    let gbk: &[u8] = b"agent,start,end,activity\nA1,2026-11-23 09:00,2026-11-23 17:00,shift\n\xd5\xc5\xc8\xfd,2026-11-23 09:00,2026-11-23 17:00,shift\n";
    let r = reqwest::Client::new().put(d.url("/api/v1/roster")).body(gbk.to_vec()).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body: Value = r.json().await.unwrap();
    let msg = body["error"].as_str().unwrap_or_default();
    assert!(msg.starts_with("line 3: the roster is not UTF-8") && msg.contains("CSV UTF-8"), "{body}");
    assert!(msg.ends_with("nothing of this upload was applied"), "{body}");
    d.stop().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roster.csv");
    std::fs::write(&path, gbk).unwrap();
    let e = floorwatch::roster::read_file(&path, 1 << 20, &jiff::tz::TimeZone::UTC).unwrap_err();
    assert!(e.contains("line 3: the roster is not UTF-8") && e.contains("CSV UTF-8"), "{e}");
}

/// `PUT /api/v1/roster` applies CSV, refuses a bad row by its line with nothing applied.
#[tokio::test]
async fn put_roster_over_http() {
    let d = common::Daemon::start("[server]\nclock = \"event\"\n").await;
    let client = reqwest::Client::new();
    let put = |body: String| {
        let c = client.clone();
        let url = d.url("/api/v1/roster");
        async move {
            let r = c.put(url).header("content-type", "text/csv").body(body).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let bad = format!("{ROSTER_CSV}A3,2026-11-23 12:00,2026-11-23 11:00,shift\n");
    let (st, body) = put(bad).await;
    assert_eq!(st, 400);
    assert!(body["error"].as_str().unwrap().contains("line 6"), "{body}");
    let s = d.get_json("/api/v1/snapshot").await;
    assert!(s["agents"].as_array().unwrap().is_empty(), "nothing applied: {s}");
    // With a no-show, A3.
    let (st, body) = put(format!("{ROSTER_CSV}A3,2026-11-23 09:00,2026-11-23 11:00,shift\n")).await;
    assert_eq!((st, body["agents"].as_u64(), body["rows"].as_u64()), (200, Some(3), Some(5)));
    assert!(body.get("warning").is_none(), "every activity inside a shift: {body}");
    // A meeting put after A3's shift ends counts for nothing: applied, and the uploader
    // told which (it was silent).
    let late = format!(
        "{ROSTER_CSV}A3,2026-11-23 09:00,2026-11-23 11:00,shift\nA3,2026-11-23 11:00,2026-11-23 11:30,meeting\n"
    );
    let (st, body) = put(late).await;
    assert_eq!((st, body["outside_shifts"].as_u64()), (200, Some(1)), "{body}");
    let w = body["warning"].as_str().unwrap();
    assert!(w.contains("agent \"A3\" at 2026-11-23T11:00:00.000Z") && w.contains("count for nothing"), "{w}");
    let (st, _) = d.post("/api/v1/events", format!("[{}]", events().lines().collect::<Vec<_>>().join(","))).await;
    assert_eq!(st, 200);
    let s = d.get_json("/api/v1/snapshot").await;
    assert_eq!(agent(&s, "A2")["windows"]["today"]["in_adherence_s"], 5880.0);
    let m = d.metrics().await;
    assert!(m.contains("floorwatch_adherence_ratio{team=\"T1\",window=\"today\"}"), "{m}");
    assert_eq!(common::metric(&m, "floorwatch_agents_out_of_adherence{team=\"unassigned\"}"), Some(1.0), "{m}");
    assert_eq!(common::metric(&m, "floorwatch_agents_out_of_adherence{team=\"T1\"}"), Some(0.0), "{m}");
    // The no-show's alert is counted under `unassigned`, though no team of the engine's
    // has that id (the rules' `OutOfAdherenceActive` reads these).
    let un = |name: &str| common::metric(&m, &format!("{name}{{kind=\"out_of_adherence\",team=\"unassigned\"}}"));
    assert_eq!(un("floorwatch_alerts_active"), Some(1.0), "{m}");
    assert_eq!(un("floorwatch_alerts_fired_total"), Some(1.0), "{m}");
    // The board: the no-show has no time in state, and its time out of adherence.
    let b = d.get_json("/api/v1/board").await;
    let a3 = b["agents"].as_array().unwrap().iter().find(|a| a["agent"] == "A3").expect("A3 on the board");
    assert_eq!((a3["since"].clone(), a3["team"].as_str()), (Value::Null, Some("unassigned")), "{a3}");
    assert_eq!(a3["scheduled"], "work");
    assert_eq!(a3["out_since"].as_i64(), floorwatch::time::parse_instant("2026-11-23T09:00:00Z"));
    d.stop().await;
}

/// The roster, the state logs and the alerts survive a restart from a state snapshot
/// (journal FORMAT 7), with no roster file configured at the restart.
#[test]
fn the_roster_survives_a_restart() {
    use floorwatch::engine::{Engine, ViewOpts};
    let toml = "[floor]\nwindows = [\"15m\", \"60m\", \"today\"]\n[server]\nclock = \"event\"\n";
    let settings = FileConfig::parse(toml, "test").unwrap().settings().unwrap();
    let mut e = Engine::new(settings.clone());
    let up = floorwatch::roster::parse::parse(ROSTER_CSV, &settings.tz).unwrap();
    e.upload_roster(&up).unwrap();
    feed(&mut e, &events());
    let now = e.max_ts().unwrap();
    let opts = ViewOpts { team: None, agents: true, alerts: true, scrape: false };
    let snap = |e: &mut Engine| snapshot(e, now, &opts);
    let before = snap(&mut e);
    assert_eq!(agent(&before, "A2")["windows"]["today"]["scheduled_s"], 6600.0);
    let mut restored = Engine::restore(settings, &e.save()).unwrap();
    let after = snap(&mut restored);
    assert_eq!(before["agents"], after["agents"]);
    assert_eq!(before["teams"], after["teams"]);
    assert_eq!(alerts(&before), alerts(&after));
    assert_eq!(alerts(&after).len(), 1);
}

/// In a zone a quarter hour off UTC (Kathmandu, +05:45) the simulated roster's shifts start
/// at the local nominal times (08:00, 08:30 ...), as the agents log in: they were written on
/// UTC's half-hour grid, 15 minutes early (07:45), and the floor's adherence fell.
#[test]
fn a_simulated_roster_keeps_local_shift_times_in_a_quarter_hour_zone() {
    use floorwatch::sim::{SimConfig, Simulator};
    let tz = jiff::tz::TimeZone::get("Asia/Kathmandu").unwrap();
    let start = floorwatch::time::parse_instant("2026-11-23T02:00:00Z").unwrap();
    let cfg = SimConfig {
        start,
        agents: 24,
        teams: 4,
        queues: 0,
        timezone: "Asia/Kathmandu".into(),
        duration: Some(4 * 3_600_000),
        ..SimConfig::default()
    };
    let mut sim = Simulator::new(cfg).unwrap();
    sim.record_roster();
    sim.by_ref().for_each(drop);
    let shifts: Vec<_> = sim.take_roster().into_iter().filter(|r| r.activity.is_none()).collect();
    assert!(shifts.len() >= 24, "{} shifts", shifts.len());
    for r in &shifts {
        let local = jiff::Timestamp::from_millisecond(r.start).unwrap().to_zoned(tz.clone()).time();
        assert!(local.minute() % 30 == 0 && local.second() == 0, "{}: a shift from {local} local", r.agent);
    }
}

/// `simulate --roster`: the simulated floor's roster, replayed with its events, shows the
/// deviations it was built with: the no-show (one agent more than the floor), an agent back
/// from lunch 8 minutes late (every 17th, from the 9th), one logging off about 20 minutes
/// early (every 23rd, from the 12th); everyone else is mostly in adherence.
#[test]
fn the_simulated_floor_has_a_roster_with_its_deviations() {
    use floorwatch::sim::{SimConfig, Simulator, roster_csv};
    let start = floorwatch::time::parse_instant("2026-11-23T08:00:00Z").unwrap();
    let cfg = SimConfig { start, agents: 46, teams: 2, queues: 0, ..SimConfig::default() };
    let mut sim = Simulator::new(cfg).unwrap();
    sim.record_roster();
    let lines: Vec<String> = sim.by_ref().map(|l| l.line).collect();
    let rows = sim.take_roster();
    assert!(rows.iter().any(|r| r.agent == "A0047"), "the no-show is on the roster");
    // Two short breaks a shift are scheduled, and every `break` is taken in one: after it
    // is due, at the first free moment (the end of a call), never on its own.
    let breaks = |who: &str| -> Vec<(i64, i64)> {
        rows.iter()
            .filter(|r| r.agent == who && r.activity.as_deref() == Some("break"))
            .map(|r| (r.start, r.end))
            .collect()
    };
    for k in 1..=46 {
        assert_eq!(breaks(&format!("A{k:04}")).len(), 2, "A{k:04}: {:?}", breaks(&format!("A{k:04}")));
    }
    // Each ends when scheduled, or five minutes after it began if a call ran long into it.
    let events: Vec<(String, i64, Value)> = lines
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let t = floorwatch::time::parse_instant(v["ts"].as_str().unwrap()).unwrap();
            (v["agent"].as_str().unwrap().to_string(), t, v)
        })
        .collect();
    let mut taken = 0;
    for (i, (who, t, v)) in events.iter().enumerate() {
        if v["reason"] == "break" {
            let due = breaks(who).into_iter().find(|&(st, _)| st <= *t && *t < st + 30 * 60_000);
            let (_, end) = due.unwrap_or_else(|| panic!("a break taken when none was due: {v}"));
            let next = events[i + 1..].iter().find(|e| e.0 == *who).map(|e| e.1).expect("the break ends");
            assert_eq!(next, end.max(t + 5 * 60_000), "{who}'s break from {t}, scheduled to end at {end}");
            taken += 1;
        }
    }
    assert_eq!(taken, 2 * 46, "every scheduled break taken once");
    let csv = roster_csv(&rows);
    // The CSV reads back as the rows.
    let up = floorwatch::roster::parse::parse(&csv, &jiff::tz::TimeZone::UTC).unwrap();
    assert_eq!(up.rows(), rows.len());
    // As of 18:00, past every roster end (the last event comes before).
    let now = Some("2026-11-23T18:00:00Z");
    let s = replay(&csv, "csv", "[alerts.long_aux]\nmax_aux_secs = 86400\n", &lines.join("\n"), now, "UTC");
    let ooa = |who: &str| -> Vec<(String, Value)> {
        s["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["kind"] == "out_of_adherence" && a["agent"] == who)
            .map(|a| (a["started_at"].as_str().unwrap().to_string(), a["resolved_at"].clone()))
            .collect()
    };
    let fmt = floorwatch::time::fmt_ms;
    // The no-show: out from its shift's start to its end.
    let ns = agent(&s, "A0047");
    assert_eq!((ns["state"].as_str(), ns["team"].as_str()), (Some("offline"), Some("unassigned")));
    assert_eq!(ooa("A0047"), vec![("2026-11-23T08:00:00.000Z".to_string(), Value::from("2026-11-23T17:00:00.000Z"))]);
    // Late from lunch: a stretch starting where the roster's lunch ends.
    for who in ["A0009", "A0026"] {
        let lunch = rows.iter().find(|r| r.agent == who && r.activity.as_deref() == Some("lunch")).expect("a lunch");
        assert!(
            ooa(who).iter().any(|(st, _)| *st == fmt(lunch.end)),
            "{who}: {:?}, lunch ends {}",
            ooa(who),
            fmt(lunch.end)
        );
    }
    // Early logoff: a stretch resolved by the roster's end of the shift.
    for who in ["A0012", "A0035"] {
        let shift = rows.iter().find(|r| r.agent == who && r.activity.is_none()).unwrap();
        assert!(
            ooa(who).iter().any(|(_, r)| *r == fmt(shift.end)),
            "{who}: {:?}, shift ends {}",
            ooa(who),
            fmt(shift.end)
        );
    }
    let floor = s["floor"]["windows"]["today"]["adherence"].as_f64().unwrap();
    assert!((0.6..0.99).contains(&floor), "floor adherence {floor}");
}

/// utilization_high judges talking over scheduled time with a roster: three agents talking
/// all hour of a team of five scheduled is 60%, not the 100% of the logged-in time.
#[test]
fn utilization_high_uses_scheduled_time() {
    let mut roster = String::from("agent,start,end,activity\n");
    let mut events = Vec::new();
    for i in 1..=5 {
        roster.push_str(&format!("B{i},2026-11-23 09:00,2026-11-23 17:00,shift\n"));
        let state = if i <= 3 { "talking" } else { "offline" };
        events.push(format!(r#"{{"ts":"2026-11-23T09:00:00Z","agent":"B{i}","state":"{state}","team":"T2"}}"#));
    }
    events.push(r#"{"ts":"2026-11-23T10:30:00Z","agent":"B4","state":"offline"}"#.to_string());
    let config = "[floor]\nmin_team = 3\n[peak]\nwindows = []\n";
    let util = |s: &Value| s["alerts"].as_array().unwrap().iter().filter(|a| a["kind"] == "utilization_high").count();
    let without = common::replay(&events.join("\n"), config);
    assert!(util(&without) > 0, "100% of logged-in time fires without a roster");
    let with = replay(&roster, "csv", "[peak]\nwindows = []\n", &events.join("\n"), None, "UTC");
    assert_eq!(util(&with), 0, "{}", with["alerts"]);
    close(&team(&with, "T2")["windows"]["60m"]["talk_utilization"], 0.6);
}

/// Until its first event a scheduled agent is a no-show, a member of team `unassigned`
/// (SPEC §9.2), and that team's `utilization_high` counts its scheduled time as its
/// snapshot does: U1-U6 (no team) from 09:00, five talking, all scheduled 09:00-17:00 with
/// L1, who turns up at 09:30 in team T9. Unassigned's utilization is 5/7 (71.4%) until
/// then and 5/6 (83%) from 09:30: it fires at 09:32, started 09:30 (at 09:03 when no-shows
/// were left out). The same when L1's event comes late, after the others' up to 10:00,
/// and after a restart at 09:00.
#[test]
fn utilization_high_of_unassigned_counts_its_no_shows() {
    let mut roster = String::from("agent,start,end,activity\n");
    for a in ["U1", "U2", "U3", "U4", "U5", "U6", "L1"] {
        roster.push_str(&format!("{a},2026-11-23 09:00,2026-11-23 17:00,shift\n"));
    }
    let ev =
        |t: &str, a: &str, state: &str| format!(r#"{{"ts":"2026-11-23T{t}:00Z","agent":"{a}","state":"{state}"}}"#);
    let mut floor: Vec<String> =
        (1..=6).map(|i| ev("09:00", &format!("U{i}"), if i <= 5 { "talking" } else { "idle" })).collect();
    floor.push(ev("10:00", "U6", "acw"));
    let l1 = r#"{"ts":"2026-11-23T09:30:00Z","agent":"L1","state":"idle","team":"T9"}"#;
    let config = "[peak]\nwindows = []\n";
    let util = |s: &Value| -> Vec<(String, String, String, Value)> {
        alerts(s).into_iter().filter(|a| a.0.starts_with("utilization_high:unassigned:")).collect()
    };
    let fired = |s: &Value| {
        let got = util(s);
        assert_eq!(got.len(), 1, "{}", s["alerts"]);
        (got[0].1.clone(), got[0].2.clone())
    };
    let want = ("2026-11-23T09:30:00.000Z".to_string(), "2026-11-23T09:32:00.000Z".to_string());

    let mut on_time = floor.clone();
    on_time.insert(6, l1.to_string());
    let s = replay(&roster, "csv", config, &on_time.join("\n"), Some("2026-11-23T10:00:00Z"), "UTC");
    assert_eq!(fired(&s), want);
    close(&team(&s, "unassigned")["windows"]["60m"]["talk_utilization"], 5.0 / 6.0);

    // L1's event after the others: the team's detectors had evaluated to 10:00 without it.
    let toml = format!("[server]\nclock = \"event\"\n[floor]\nmin_team = 3\n{config}");
    let mut engine = engine_with(&toml, &roster);
    feed(&mut engine, &floor.join("\n"));
    let opts = floorwatch::engine::ViewOpts { team: None, agents: true, alerts: true, scrape: false };
    let before = snapshot(&mut engine, at("10:00"), &opts);
    assert!(util(&before).is_empty(), "{}", before["alerts"]);
    assert_eq!(before["alerts"].as_array().unwrap().len(), 1, "L1's no-show: {}", before["alerts"]);
    feed(&mut engine, l1);
    let s = snapshot(&mut engine, at("10:00"), &opts);
    assert_eq!(fired(&s), want);

    // The same after a restart at 09:00 (the restored roster finds its no-shows again).
    let settings = FileConfig::parse(&toml, "test").unwrap().settings().unwrap();
    let mut engine = engine_with(&toml, &roster);
    feed(&mut engine, &floor[..6].join("\n"));
    let mut restored = floorwatch::engine::Engine::restore(settings, &engine.save()).unwrap();
    feed(&mut restored, &floor[6]);
    let before = snapshot(&mut restored, at("10:00"), &opts);
    assert!(util(&before).is_empty(), "{}", before["alerts"]);
    feed(&mut restored, l1);
    assert_eq!(fired(&snapshot(&mut restored, at("10:00"), &opts)), want);
}

/// utilization_high's scheduled time follows the members as they join and leave the team
/// between its minutes (the team's summed schedule is kept up to date, not made again
/// from every member): B1-B3 talk from 09:00, all four scheduled 09:00-17:00 with
/// B4 and B5; B4 and B5 join idle at 09:20 (3 of 5 scheduled: 60%), B5 moves to another
/// team at 09:40 (3 of 4: 75%, above 74%), unscheduled B6 joins at 09:50 (its logged-in
/// time counts: 3x / (5x - 50) minutes, at or below 74% from x = 53).
#[test]
fn utilization_high_follows_members_joining_and_leaving() {
    let mut roster = String::from("agent,start,end,activity\n");
    for i in 1..=5 {
        roster.push_str(&format!("B{i},2026-11-23 09:00,2026-11-23 17:00,shift\n"));
    }
    let ev = |t: &str, a: &str, state: &str, team: &str| {
        format!(r#"{{"ts":"2026-11-23T{t}:00Z","agent":"{a}","state":"{state}","team":"{team}"}}"#)
    };
    let events = [
        ev("09:00", "B1", "talking", "T3"),
        ev("09:00", "B2", "talking", "T3"),
        ev("09:00", "B3", "talking", "T3"),
        ev("09:20", "B4", "idle", "T3"),
        ev("09:20", "B5", "idle", "T3"),
        ev("09:40", "B5", "idle", "T4"),
        ev("09:50", "B6", "idle", "T3"),
    ]
    .join("\n");
    let s = replay(&roster, "csv", "[peak]\nwindows = []\n", &events, Some("2026-11-23T10:10:00Z"), "UTC");
    let got: Vec<(String, String, Value)> = alerts(&s)
        .into_iter()
        .filter(|a| a.0.starts_with("utilization_high:T3:"))
        .map(|(_, started, fired, resolved)| (started, fired, resolved))
        .collect();
    let want = |started: &str, fired: &str, resolved: &str| {
        (
            format!("2026-11-23T{started}:00.000Z"),
            format!("2026-11-23T{fired}:00.000Z"),
            json!(format!("2026-11-23T{resolved}:00.000Z")),
        )
    };
    assert_eq!(
        got,
        vec![
            // 100% of the scheduled time from 09:01; 60% from 09:20.
            want("09:01", "09:03", "09:22"),
            // 75% from 09:40; 3x / (5x - 50) <= 74% from 09:53.
            want("09:40", "09:42", "09:55"),
        ],
        "{}",
        s["alerts"]
    );
}

/// Views made while the day goes on (which reuse each agent's `today` and `peak_today`
/// schedule sums up to its last change) give the figures of one view at the end.
#[test]
fn views_along_the_way_change_nothing() {
    use floorwatch::engine::{Engine, ViewOpts};
    use floorwatch::sim::{SimConfig, Simulator, roster_csv};
    let start = floorwatch::time::parse_instant("2026-11-23T08:00:00Z").unwrap();
    let cfg = SimConfig { start, agents: 40, teams: 2, queues: 0, ..SimConfig::default() };
    let mut sim = Simulator::new(cfg).unwrap();
    sim.record_roster();
    let lines: Vec<String> = sim.by_ref().map(|l| l.line).collect();
    let csv = roster_csv(&sim.take_roster());
    let toml = "[server]\nclock = \"event\"\n[peak]\nwindows = [\"09:30-11:30\", \"14:00-16:30\"]\nbusy_share = 0.8\n";
    let settings = FileConfig::parse(toml, "test").unwrap().settings().unwrap();
    let up = floorwatch::roster::parse::parse(&csv, &settings.tz).unwrap();
    let opts = ViewOpts { team: None, agents: true, alerts: true, scrape: false };
    let mut viewed = Engine::new(settings.clone());
    viewed.upload_roster(&up).unwrap();
    for chunk in lines.chunks(997) {
        feed(&mut viewed, &chunk.join("\n"));
        let now = viewed.max_ts().unwrap();
        let _ = viewed.view(now, &opts);
        let _ = viewed.view(now + 30_000, &ViewOpts { team: Some("T01".into()), ..opts.clone() });
    }
    let mut once = Engine::new(settings);
    once.upload_roster(&up).unwrap();
    feed(&mut once, &lines.join("\n"));
    let now = once.max_ts().unwrap();
    let snap = |e: &mut Engine| snapshot(e, now, &opts);
    let (a, b) = (snap(&mut viewed), snap(&mut once));
    assert!(a["teams"][0]["windows"]["peak_today"]["scheduled_s"].as_f64().unwrap() > 0.0);
    assert_eq!(a["agents"], b["agents"]);
    assert_eq!(a["teams"], b["teams"]);
    assert_eq!(alerts(&a), alerts(&b));
}

/// A roster floor's views (one walk per agent for its schedule's windows, roster slots
/// remembered per agent slot, the never-seen found by the floor's pass) give the figures
/// of the reference that sums each window alone and looks every agent up
/// (`no_view_cache`), at instants along the day, for the floor, a team and `unassigned`
/// (the simulated roster has a no-show), with agents listed.
#[test]
fn roster_views_equal_the_reference_along_the_day() {
    use floorwatch::engine::{Engine, ViewOpts};
    use floorwatch::sim::{SimConfig, Simulator, roster_csv};
    let start = floorwatch::time::parse_instant("2026-11-23T08:00:00Z").unwrap();
    let cfg = SimConfig { start, agents: 60, teams: 3, queues: 0, ..SimConfig::default() };
    let mut sim = Simulator::new(cfg).unwrap();
    sim.record_roster();
    let lines: Vec<String> = sim.by_ref().map(|l| l.line).collect();
    let csv = roster_csv(&sim.take_roster());
    let toml = "[server]\nclock = \"event\"\n[peak]\nwindows = [\"09:30-11:30\", \"14:00-16:30\"]\nbusy_share = 0.8\n";
    let settings = FileConfig::parse(toml, "test").unwrap().settings().unwrap();
    let up = floorwatch::roster::parse::parse(&csv, &settings.tz).unwrap();
    let mut fast = Engine::new(settings.clone());
    let mut reference = Engine::new(settings);
    reference.no_view_cache();
    for e in [&mut fast, &mut reference] {
        e.upload_roster(&up).unwrap();
    }
    let (mut checked, mut out) = (0, 0);
    for (i, chunk) in lines.chunks(997).enumerate() {
        for e in [&mut fast, &mut reference] {
            feed(e, &chunk.join("\n"));
        }
        let now = fast.max_ts().unwrap() + (i as i64 % 3) * 45_000;
        for team in [None, Some("T01"), Some("unassigned")] {
            let opts = ViewOpts { team: team.map(Into::into), agents: true, alerts: true, scrape: false };
            let snap = |e: &mut Engine| snapshot(e, now, &opts);
            let (a, b) = (snap(&mut fast), snap(&mut reference));
            assert_eq!(a["agents"], b["agents"], "agents at {now} ({team:?})");
            assert_eq!(a["teams"], b["teams"], "teams at {now} ({team:?})");
            assert_eq!(a["floor"], b["floor"], "floor at {now} ({team:?})");
            assert_eq!(alerts(&a), alerts(&b), "alerts at {now} ({team:?})");
            checked += a["agents"].as_array().unwrap().iter().filter(|g| !g["scheduled"].is_null()).count();
            out += a["agents"].as_array().unwrap().iter().filter(|g| !g["out_of_adherence_since"].is_null()).count();
        }
    }
    let end = fast.max_ts().unwrap();
    let v = fast.view(end, &ViewOpts { team: None, agents: true, alerts: false, scrape: false });
    assert!(v.agents.iter().any(|a| !a.seen), "the simulated roster has a no-show");
    assert!(checked > 700 && out > 0, "scheduled agents compared: {checked}, out of adherence: {out}");
}

/// An agent slot freed (an agent offline past `forget_offline_after_secs`) and given to a
/// scheduled agent: the view finds the new agent's schedule, though the slot's last view
/// found none for the unscheduled agent before it (the views remember roster slots per
/// agent slot). Compared with the reference that looks every agent up.
#[test]
fn a_reused_agent_slot_finds_its_new_agents_schedule() {
    use floorwatch::engine::{Engine, ViewOpts};
    let toml = "[server]\nclock = \"event\"\n[floor]\nmax_backfill_secs = 60\nforget_offline_after_secs = 60\n";
    let csv = "agent,start,end,activity\nA1,2026-11-23 08:00,2026-11-23 17:00,shift\n";
    let ev = |hm: &str, agent: &str, state: &str| {
        format!(r#"{{"ts":{},"agent":"{agent}","state":"{state}","team":"T1"}}"#, at(hm))
    };
    let opts = ViewOpts { team: None, agents: true, alerts: false, scrape: false };
    let mut fast = engine_with(toml, csv);
    let mut reference = engine_with(toml, csv);
    reference.no_view_cache();
    let steps: [(&[String], &str); 3] = [
        (&[ev("09:00", "B", "idle"), ev("09:00", "X", "idle")], "09:01"),
        (&[ev("09:02", "X", "offline"), ev("09:10", "B", "talking")], "09:10"),
        (&[ev("09:11", "A1", "idle")], "09:12"),
    ];
    let mut last = None;
    for (lines, view_at) in steps {
        for e in [&mut fast, &mut reference] {
            feed(e, &lines.join("\n"));
            e.housekeeping();
        }
        let snap = |e: &mut Engine| snapshot(e, at(view_at), &opts);
        let (a, b) = (snap(&mut fast), snap(&mut reference));
        assert_eq!(a["agents"], b["agents"], "at {view_at}");
        assert_eq!(a["teams"], b["teams"], "at {view_at}");
        last = Some(a);
    }
    let last = last.unwrap();
    let ids: Vec<&str> = last["agents"].as_array().unwrap().iter().map(|a| a["agent"].as_str().unwrap()).collect();
    assert_eq!(ids, ["A1", "B"], "X was forgotten");
    assert_eq!(agent(&last, "A1")["scheduled"], "work", "A1 in X's old slot has its schedule");
}

/// `[roster] file` is re-read when it changes; a bad version is refused (logged) and
/// changes nothing.
#[tokio::test]
async fn the_roster_file_is_re_read_when_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roster.csv");
    std::fs::write(&path, ROSTER_CSV).unwrap();
    let toml = format!(
        "[server]\nclock = \"event\"\n[roster]\nfile = {:?}\ncheck_interval_secs = 1\n",
        path.display().to_string()
    );
    let d = common::Daemon::start(&toml).await;
    let (st, _) = d.post("/api/v1/events", format!("[{}]", events().lines().collect::<Vec<_>>().join(","))).await;
    assert_eq!(st, 200);
    let scheduled = |s: &Value, who: &str| agent(s, who)["windows"]["today"]["scheduled_s"].as_f64().unwrap();
    let s = d.get_json("/api/v1/snapshot").await;
    assert_eq!(scheduled(&s, "A2"), 6600.0);
    // A bad version: nothing changes.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    std::fs::write(&path, "agent,start,end,activity\nA2,2026-11-23 09:00,2026-11-23 08:00,shift\n").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(scheduled(&d.get_json("/api/v1/snapshot").await, "A2"), 6600.0);
    // A2's day now starts at 10:00: re-read within the check interval.
    std::fs::write(&path, "agent,start,end,activity\nA2,2026-11-23 10:00,2026-11-23 11:00,shift\n").unwrap();
    let mut got = 0.0;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        got = scheduled(&d.get_json("/api/v1/snapshot").await, "A2");
        if got == 3000.0 {
            break;
        }
    }
    assert_eq!(got, 3000.0, "10:00-10:50 scheduled after the re-read");
    // A1 was taken out of a day the file still covers: unscheduled that day.
    assert_eq!(scheduled(&d.get_json("/api/v1/snapshot").await, "A1"), 0.0);
    d.stop().await;
}

/// Scheduled aux is planned for the detectors too (SPEC §9.2), through the daemon: the
/// roster by `PUT /api/v1/roster`, events by `POST /api/v1/events`, alerts from the
/// snapshot. Teams T1 and T2 take the same breaks, 10:00 to 10:15 (T1 also one to 10:20);
/// only T1's are on the roster. T2 gets its aux_cluster; T1 none for the scheduled break,
/// and one from 10:15 for the agents still out then. A late batch changes nothing.
#[tokio::test]
async fn aux_cluster_judges_the_breaks_nobody_scheduled() {
    let d = common::Daemon::start(
        "[server]\nclock = \"event\"\n[floor]\nmin_team = 5\n[peak]\nwindows = [\"09:00-12:00\"]\n\
         [alerts.long_aux]\nmax_aux_secs = 86400\n[alerts.out_of_adherence]\nthreshold_secs = 86400\n",
    )
    .await;
    let mut csv = String::from("agent,start,end,activity\n");
    for team in ["T1", "T2"] {
        for i in 0..12 {
            csv += &format!("{team}A{i:02},2026-11-23 09:00,2026-11-23 12:00,shift\n");
            if team == "T1" && i < 8 {
                csv += &format!("{team}A{i:02},2026-11-23 10:00,2026-11-23 10:15,break\n");
            }
        }
    }
    let r = reqwest::Client::new()
        .put(d.url("/api/v1/roster"))
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let ev = |t: &str, team: &str, i: usize, state: &str| {
        let (state, reason) =
            state.split_once(':').map_or((state, String::new()), |(s, r)| (s, format!(r#","reason":"{r}""#)));
        format!(r#"{{"ts":"2026-11-23T{t}:00Z","agent":"{team}A{i:02}","state":"{state}","team":"{team}"{reason}}}"#)
    };
    let mut first = Vec::new();
    for team in ["T1", "T2"] {
        first.extend((0..12).map(|i| ev("09:00", team, i, "idle")));
    }
    // Four of T1 on their break and four of T2 on theirs, back at 10:15.
    for team in ["T1", "T2"] {
        first.extend((0..4).map(|i| ev("10:00", team, i, "aux:break")));
    }
    first.push(ev("10:10", "T1", 11, "talking"));
    let (st, _) = d.post("/api/v1/events", format!("[{}]", first.join(","))).await;
    assert_eq!(st, 200);
    let s = d.get_json("/api/v1/snapshot").await;
    let t1 = &team(&s, "T1")["current"];
    assert_eq!((t1["aux"].as_u64(), t1["aux_unplanned"].as_u64()), (Some(4), Some(0)), "{t1}");
    // Late: four more of T1 on their break since 10:00 until 10:20; everyone's return.
    let mut late: Vec<String> = (4..8).map(|i| ev("10:00", "T1", i, "aux:break")).collect();
    for team in ["T1", "T2"] {
        late.extend((0..4).map(|i| ev("10:15", team, i, "idle")));
    }
    late.extend((4..8).map(|i| ev("10:20", "T1", i, "idle")));
    late.push(ev("10:30", "T1", 11, "idle"));
    let (st, _) = d.post("/api/v1/events", format!("[{}]", late.join(","))).await;
    assert_eq!(st, 200);
    let s = d.get_json("/api/v1/snapshot").await;
    let clusters: Vec<_> =
        alerts(&s).into_iter().filter(|a| a.0.starts_with("aux_cluster:")).map(|a| (a.0, a.2, a.3)).collect();
    assert_eq!(
        clusters,
        [
            (
                "aux_cluster:T2:1795428000000".to_string(),
                "2026-11-23T10:01:00.000Z".to_string(),
                Value::from("2026-11-23T10:16:00.000Z")
            ),
            (
                "aux_cluster:T1:1795428900000".to_string(),
                "2026-11-23T10:16:00.000Z".to_string(),
                Value::from("2026-11-23T10:21:00.000Z")
            ),
        ],
        "the clusters, oldest first"
    );
    d.stop().await;
}

/// An agent whose changes all leave its adherence as it was (idle and talking all night
/// under its shift) is not derived again at each of them; its log before the trim's
/// cutoff is dropped all the same. The agent is derived before that trim: a walk from its
/// last derivation (just after it logged in, before the shift) through a log that begins
/// hours later would take it for offline in between, out of adherence from 22:00.
#[test]
fn a_night_of_unchanged_adherence_outlasts_the_trim() {
    use floorwatch::engine::ViewOpts;
    let toml = "[server]\nclock = \"event\"\n[floor]\nmax_backfill_secs = 600\nwindows = [\"15m\", \"60m\"]\n";
    let csv = "agent,start,end,activity\nA1,2026-11-23 22:00,2026-11-24 06:00,shift\n";
    let t0 = floorwatch::time::parse_instant("2026-11-23T21:50:00Z").unwrap();
    let ev = |t: i64, state: &str| format!(r#"{{"ts":{t},"agent":"A1","state":"{state}","team":"T1"}}"#);
    let mut engine = engine_with(toml, csv);
    // Idle at 21:50, then talking and idle by turns every 10 minutes until 05:50; offline
    // at 06:00. Fed an hour at a time, each hour followed by housekeeping.
    let mut lines = vec![(t0, ev(t0, "idle"))];
    for k in 1..49 {
        let t = t0 + k * 600_000;
        lines.push((t, ev(t, if k % 2 == 1 { "talking" } else { "idle" })));
    }
    let end = t0 + 49 * 600_000;
    lines.push((end, ev(end, "offline")));
    for hour in lines.chunk_by(|a, b| (a.0 - t0) / 3_600_000 == (b.0 - t0) / 3_600_000) {
        let text: Vec<&str> = hour.iter().map(|l| l.1.as_str()).collect();
        feed(&mut engine, &text.join("\n"));
        engine.housekeeping();
    }
    let opts = ViewOpts { team: None, agents: true, alerts: true, scrape: false };
    let snap = snapshot(&mut engine, end + 1_800_000, &opts);
    let out: Vec<&Value> =
        snap["alerts"].as_array().unwrap().iter().filter(|a| a["kind"] == "out_of_adherence").collect();
    assert!(out.is_empty(), "in adherence all night, yet {out:?}");
    // It was derived at all: its logoff at 06:00 is the end of its shift, not out of adherence.
    assert_eq!(agent(&snap, "A1")["state"], "offline");
}

/// An `out_of_adherence` alert names its agent (`A1 (Li Wei)` once the name is known): a
/// name that arrives while the alert fires, on an event that changes nothing else, is in
/// the alert's text at once, not at the agent's next derivation (the end of its shift).
#[test]
fn a_name_arriving_while_out_of_adherence_is_in_the_alert_at_once() {
    use floorwatch::engine::{Engine, ViewOpts};
    let toml = "[server]\nclock = \"event\"\n";
    let csv = "agent,start,end,activity\nA1,2026-11-23 09:00,2026-11-23 11:00,shift\n";
    let ev = |hm: &str, state: &str, extra: &str| {
        format!(r#"{{"ts":{},"agent":"A1","state":"{state}","team":"T1"{extra}}}"#, at(hm))
    };
    let mut engine = engine_with(toml, csv);
    engine.enable_notifications();
    let opts = ViewOpts { team: None, agents: false, alerts: true, scrape: false };
    let alert_at = |engine: &mut Engine, lines: &[String], hm: &str| {
        feed(engine, &lines.join("\n"));
        let snap = snapshot(engine, at(hm), &opts);
        let out: Vec<Value> =
            snap["alerts"].as_array().unwrap().iter().filter(|a| a["kind"] == "out_of_adherence").cloned().collect();
        assert_eq!(out.len(), 1, "at {hm}: {out:?}");
        assert_eq!((&out[0]["state"], &out[0]["fired_at"]), (&json!("firing"), &json!("2026-11-23T09:15:00.000Z")));
        out[0]["message"].as_str().unwrap().to_string()
    };
    // Fired at 09:15 without a name; the name comes at 09:20 with the same state.
    let fired =
        alert_at(&mut engine, &[ev("09:00", "idle", ""), ev("09:10", "aux", r#","reason":"personal""#)], "09:16");
    assert_eq!(fired, "A1 has been out of adherence with the schedule for 5 min");
    let named = alert_at(&mut engine, &[ev("09:20", "aux", r#","reason":"personal","name":"Li Wei""#)], "09:21");
    assert_eq!(named, "A1 (Li Wei) has been out of adherence with the schedule for 5 min");
    // Told once, then pushed again with the name: firing both times, never retracted (a
    // hook sends each alert's state once), and counted as one fire.
    let told: Vec<(String, bool, String)> = engine
        .take_notifications()
        .iter()
        .filter(|a| a.kind == AlertKind::OutOfAdherence)
        .map(|a| (format!("{:?}", a.state), a.retracted, a.message.clone()))
        .collect();
    assert_eq!(
        told,
        vec![
            ("Firing".into(), false, "A1 has been out of adherence with the schedule for 5 min".into()),
            ("Firing".into(), false, "A1 (Li Wei) has been out of adherence with the schedule for 5 min".into()),
        ]
    );
    let t1 = engine.teams().find(|t| t.id == "T1").unwrap();
    let k = AlertKind::TEAM.iter().position(|k| *k == AlertKind::OutOfAdherence).unwrap();
    assert_eq!((t1.alerts.firing[k], t1.alerts.fired[k], t1.alerts.retracted[k]), (1, 1, 0));
}

/// A firing `out_of_adherence` alert is resolved in the batch of the event that ends its
/// stretch, at that event's instant: not at the agent's next due instant (here the shift's
/// end), which is all a time-driven re-derivation would give. A stretch that ends within the
/// threshold tells nothing.
#[test]
fn a_firing_alert_resolves_in_the_batch_that_ends_its_stretch() {
    let csv = "agent,start,end,activity\nA1,2026-11-23 09:00,2026-11-23 11:00,shift\n";
    let mut engine = engine_with("[server]\nclock = \"event\"\n", csv);
    engine.enable_notifications();
    let ev = |hm: &str, state: &str, reason: &str| {
        format!(r#"{{"ts":{},"agent":"A1","state":"{state}","team":"T1"{reason}}}"#, at(hm))
    };
    let personal = r#","reason":"personal""#;
    let told = |engine: &mut floorwatch::engine::Engine| -> Vec<(String, Value)> {
        engine
            .take_notifications()
            .iter()
            .filter(|a| a.kind == AlertKind::OutOfAdherence)
            .map(|a| (format!("{:?}", a.state), json!(a.resolved_at)))
            .collect()
    };
    feed(&mut engine, &ev("09:00", "idle", ""));
    // Out 09:10–09:12 (aux nobody scheduled): two minutes, nothing told.
    feed(&mut engine, &ev("09:10", "aux", personal));
    feed(&mut engine, &ev("09:12", "idle", ""));
    engine.advance(at("09:20"));
    assert_eq!(told(&mut engine), vec![]);
    // Out at 09:30, fired at 09:35.
    feed(&mut engine, &ev("09:30", "aux", personal));
    engine.advance(at("09:36"));
    assert_eq!(told(&mut engine), vec![("Firing".to_string(), Value::Null)]);
    // Back at 09:40: resolved in that batch, at 09:40.
    feed(&mut engine, &ev("09:40", "idle", ""));
    assert_eq!(told(&mut engine), vec![("Resolved".to_string(), json!(at("09:40")))]);
}

/// Changes that move no figure are not logged (talking, ACW and idle under the default
/// rules); a change between states every activity treats alike but `work` conformance
/// does not (idle and offline when `work` allows both) still is: the figures are the
/// events', whatever the rules.
#[test]
fn conformance_tells_idle_from_offline_when_work_allows_both() {
    use floorwatch::engine::ViewOpts;
    let toml =
        "[server]\nclock = \"event\"\n[adherence.allowed]\nwork = [\"talking\", \"acw\", \"idle\", \"offline\"]\n";
    let csv = "agent,start,end,activity\nA1,2026-11-23 09:00,2026-11-23 11:00,shift\n";
    let ev = |hm: &str, state: &str| format!(r#"{{"ts":{},"agent":"A1","state":"{state}","team":"T1"}}"#, at(hm));
    let mut engine = engine_with(toml, csv);
    let lines = [ev("09:00", "idle"), ev("09:30", "offline"), ev("10:00", "idle"), ev("10:30", "talking")];
    feed(&mut engine, &lines.join("\n"));
    let opts = ViewOpts { team: None, agents: true, alerts: true, scrape: false };
    let snap = snapshot(&mut engine, at("11:00"), &opts);
    let today = &agent(&snap, "A1")["windows"]["today"];
    assert_eq!(today["scheduled_s"], 7200.0);
    assert_eq!(today["in_adherence_s"], 7200.0, "work allows every state the agent was in");
    // Idle 09:00–09:30 and 10:00–10:30, talking 10:30–11:00: 90 of 120 minutes.
    close(&today["conformance"], 0.75);
}

/// The roster's list of an agent's final `out_of_adherence` alerts (which an upload that
/// reaches back makes live again) drops an alert when the store does, two days after its
/// resolve: not at 256 an agent, weeks of alerts on a floor that runs for months.
#[test]
fn final_alerts_are_forgotten_with_the_store() {
    let csv = "agent,start,end,activity\nC1,2026-11-23 09:00,2026-11-23 17:00,shift\n";
    let mut engine = engine_with("[server]\nclock = \"event\"\n[floor]\ntimezone = \"UTC\"\n", csv);
    let ev = |t: &str, state: &str, reason: &str| {
        format!(r#"{{"ts":"{t}:00Z","agent":"C1","state":"{state}","team":"T1"{reason}}}"#) + "\n"
    };
    let brk = r#","reason":"personal""#;
    feed(
        &mut engine,
        &[ev("2026-11-23T09:00", "idle", ""), ev("2026-11-23T10:00", "aux", brk), ev("2026-11-23T10:20", "idle", "")]
            .concat(),
    );
    engine.advance(at("12:00"));
    let slot = engine.roster().slot("C1").unwrap();
    let ids = |e: &floorwatch::engine::Engine| {
        e.alerts().into_iter().filter(|a| a.kind == AlertKind::OutOfAdherence).map(|a| a.id).collect::<Vec<_>>()
    };
    assert_eq!(ids(&engine).len(), 1, "one break past the threshold");
    // Not final yet: an event stamped 10:20, the stretch's end, may still come and
    // replace the idle (it is within the backfill of now).
    assert_eq!(engine.roster().done_len(slot), 0, "its alert is not final yet");
    // A day later, still kept; three days later, gone from the store and the roster.
    for (day, kept) in [("2026-11-24", 1), ("2026-11-26", 0)] {
        feed(&mut engine, &ev(&format!("{day}T09:00"), "idle", ""));
        engine.housekeeping();
        assert_eq!((ids(&engine).len(), engine.roster().done_len(slot)), (kept, kept), "{day}");
    }
}

/// A roster uploaded late that reaches back (a weekly export at 15:00): what it finds out
/// of adherence before what may still be backfilled (2 h) counts in the figures but pages
/// nobody; a stretch still open, or one that ended within the 2 h, is told as a late
/// event's would be.
#[test]
fn an_upload_reaching_back_tells_only_what_may_still_be_backfilled() {
    let toml = "[server]\nclock = \"event\"\n";
    let mut engine = engine_with(toml, "agent,start,end,activity\nX,2026-11-30 09:00,2026-11-30 10:00,shift\n");
    feed(&mut engine, &format!(r#"{{"ts":{},"agent":"S1","state":"idle","team":"T1"}}"#, at("15:00")));
    // P1: last week and today (a no-show since 09:00, still out); P2 out 12:00–14:00 (ended
    // within the 2 h); P3 out 09:00–11:00 (ended before them). None of them ever seen.
    let csv = "agent,start,end,activity
P1,2026-11-16 09:00,2026-11-16 17:00,shift
P1,2026-11-23 09:00,2026-11-23 17:00,shift
P2,2026-11-23 12:00,2026-11-23 14:00,shift
P3,2026-11-23 09:00,2026-11-23 11:00,shift
";
    let up = floorwatch::roster::parse::parse(csv, &engine.settings.tz).unwrap();
    engine.upload_roster(&up).unwrap();
    let opts = floorwatch::engine::ViewOpts { team: None, agents: true, alerts: true, scrape: false };
    let s = snapshot(&mut engine, at("15:00"), &opts);
    let told: Vec<_> = alerts(&s).into_iter().filter(|a| a.0.starts_with("out_of_adherence:")).collect();
    assert_eq!(
        told,
        vec![
            (
                "out_of_adherence:unassigned:P1:1795424400000".to_string(),
                "2026-11-23T09:00:00.000Z".to_string(),
                "2026-11-23T09:05:00.000Z".to_string(),
                Value::Null
            ),
            (
                "out_of_adherence:unassigned:P2:1795435200000".to_string(),
                "2026-11-23T12:00:00.000Z".to_string(),
                "2026-11-23T12:05:00.000Z".to_string(),
                json!("2026-11-23T14:00:00.000Z")
            ),
        ],
        "{s}"
    );
    // The figures are the schedule's all the same.
    assert_eq!(agent(&s, "P3")["windows"]["today"]["scheduled_s"], 7200.0);
    assert_eq!(agent(&s, "P3")["windows"]["today"]["in_adherence_s"], 0.0);
    // The next upload that reaches back finds P3's stretch already past: still untold.
    engine.upload_roster(&up).unwrap();
    let s = snapshot(&mut engine, at("15:01"), &opts);
    assert_eq!(alerts(&s).iter().filter(|a| a.0.starts_with("out_of_adherence:")).count(), 2, "{s}");
}

/// Two events of an agent at the same instant may reach the daemon in one batch or in two
/// (a TCP read can end between them). Back in adherence and out again at 09:20 is no
/// change at all: the alert fired at 09:15 fires on. Split across two batches, the first
/// resolves it at 09:20 and the second takes the resolve back; the team's counters
/// (`floorwatch_alerts_fired_total`, `..._retracted_total`, `..._active`) must come out as
/// in one batch, the same events giving the same numbers however they were read.
#[test]
fn a_resolve_taken_back_at_the_same_instant_counts_as_one_batch() {
    let toml = "[server]\nclock = \"event\"\n";
    let csv = "agent,start,end,activity\nA1,2026-11-23 09:00,2026-11-23 11:00,shift\n";
    let ev = |hm: &str, state: &str| {
        let reason = if state == "aux" { r#","reason":"personal""# } else { "" };
        format!(r#"{{"ts":{},"agent":"A1","state":"{state}","team":"T1"{reason}}}"#, at(hm))
    };
    let k = AlertKind::TEAM.iter().position(|k| *k == AlertKind::OutOfAdherence).unwrap();
    let opts = floorwatch::engine::ViewOpts { team: None, agents: false, alerts: true, scrape: false };
    let run = |batches: &[&[(&str, &str)]]| {
        let mut engine = engine_with(toml, csv);
        for b in batches {
            let lines: Vec<String> = b.iter().map(|(hm, s)| ev(hm, s)).collect();
            feed(&mut engine, &lines.join("\n"));
        }
        let snap = snapshot(&mut engine, at("09:30"), &opts);
        let t1 = engine.teams().find(|t| t.id == "T1").unwrap();
        let counts = (t1.alerts.firing[k], t1.alerts.fired[k], t1.alerts.retracted[k]);
        (counts, alerts(&snap))
    };
    let start: &[(&str, &str)] = &[("09:00", "idle"), ("09:10", "aux")];
    let one = run(&[start, &[("09:20", "idle"), ("09:20", "aux")]]);
    let two = run(&[start, &[("09:20", "idle")], &[("09:20", "aux")]]);
    assert_eq!(one.0, (1, 1, 0), "one batch");
    assert_eq!(two, one, "the same events in two batches");
}

/// Housekeeping changes no figure: an agent whose every scheduled shift has ended before
/// the trim's cutoff (yesterday's) stays an agent with a roster (`staffed_s` =
/// `scheduled_s`, 0 today, and `scheduled` "off", SPEC §9.2), and one scheduled yesterday
/// and never seen stays listed as a no-show. Until this test the trim dropped their last
/// rows and with them their roster: the snapshot depended on whether the engine's
/// housekeeping (every 65,536 applied events, and the daemon's timer) had run since
/// midnight — so a replay and the daemon could disagree.
#[test]
fn housekeeping_keeps_yesterdays_scheduled_agents_scheduled() {
    use floorwatch::engine::ViewOpts;
    let toml = "[server]\nclock = \"event\"\n[floor]\nwindows = [\"15m\", \"60m\", \"today\"]\n";
    let csv = "agent,start,end,activity\n\
               A1,2026-11-23 08:00,2026-11-23 16:00,shift\nA1,2026-11-24 08:00,2026-11-24 16:00,shift\n\
               A2,2026-11-23 09:00,2026-11-23 12:00,shift\nA2,2026-11-23 10:00,2026-11-23 10:15,break\n\
               Z9,2026-11-23 09:00,2026-11-23 12:00,shift\n";
    let t0 = at("08:00");
    let ev = |t: i64, a: &str, state: &str| format!(r#"{{"ts":{t},"agent":"{a}","state":"{state}","team":"T1"}}"#);
    // A1 and A2 idle and talking by turns every 10 minutes, 08:00 to 16:00 on both days.
    let mut hours: Vec<String> = Vec::new();
    for day in 0..2 {
        for h in 0..8 {
            let mut lines = Vec::new();
            for k in 0..6 {
                let t = t0 + day * 86_400_000 + h * 3_600_000 + k * 600_000;
                for a in ["A1", "A2"] {
                    lines.push(ev(t + 1000 * (a == "A2") as i64, a, if k % 2 == 0 { "idle" } else { "talking" }));
                }
            }
            hours.push(lines.join("\n"));
        }
    }
    let (mut kept, mut trimmed) = (engine_with(toml, csv), engine_with(toml, csv));
    for hour in &hours {
        feed(&mut kept, hour);
        feed(&mut trimmed, hour);
        trimmed.housekeeping();
    }
    let opts = ViewOpts { team: None, agents: true, alerts: true, scrape: false };
    let now = t0 + 86_400_000 + 8 * 3_600_000;
    let (a, b) = (snapshot(&mut kept, now, &opts), snapshot(&mut trimmed, now, &opts));
    // The day's figures of the agent scheduled only yesterday: none of its time today is
    // scheduled, so its talk utilization has no denominator.
    let w = &agent(&b, "A2")["windows"]["today"];
    assert_eq!(
        (&agent(&b, "A2")["scheduled"], &w["staffed_s"], &w["talk_utilization"]),
        (&json!("off"), &json!(0.0), &Value::Null)
    );
    assert_eq!(agent(&b, "Z9")["team"], "unassigned", "yesterday's no-show is still listed");
    assert_eq!(a, b, "housekeeping changed the snapshot");
    // And after a restart from the journal's state snapshot.
    let settings = FileConfig::parse(toml, "test").unwrap().settings().unwrap();
    let mut restored = floorwatch::engine::Engine::restore(settings, &trimmed.save()).unwrap();
    assert_eq!(snapshot(&mut restored, now, &opts), a, "restored");
}

/// The same roster read again (the daemon restarting with its `[roster] file`, `SIGHUP`, the
/// file touched, a weekly export repeating past days) changes no alert: yesterday's
/// `out_of_adherence` stays as told. Reading it re-derived every agent from the start of
/// its schedule, over a state log housekeeping had trimmed to what may still be backfilled,
/// and took the alerts of past days back (found by tests/daemon_batches.rs). A change the
/// roster still knows is re-derived as before: a break moved over today's stretch takes
/// its alert back.
#[test]
fn the_same_roster_read_again_keeps_yesterdays_alerts() {
    use floorwatch::engine::ViewOpts;
    // `personal` configured (as its default would be): a rule the roster's re-reads keep.
    let toml = "[server]\nclock = \"event\"\n[floor]\nwindows = [\"15m\", \"60m\", \"today\"]\n\
                [adherence.allowed]\npersonal = [\"offline\", \"aux:personal\"]\n";
    let csv = "agent,start,end,activity\n\
               A1,2026-11-23 08:00,2026-11-23 16:00,shift\nA1,2026-11-24 08:00,2026-11-24 16:00,shift\n";
    let day = 86_400_000;
    let ev = |t: i64, state: &str| format!(r#"{{"ts":{t},"agent":"A1","state":"{state}","team":"T1"}}"#);
    // Each day: idle from 08:00, on a break nobody scheduled 10:00-10:30 (an alert at 10:05),
    // talking and idle by turns every 10 minutes from 10:30, offline at 16:00.
    let mut hours: Vec<String> = Vec::new();
    for d in 0..2 {
        for h in 8..16 {
            let base = at("00:00") + d * day + h * 3_600_000;
            let lines: Vec<String> = (0..6)
                .map(|k| {
                    let t = base + k * 600_000;
                    let state = match (h, k) {
                        (8, 0) => "idle",
                        (10, 0..=2) => r#"aux","reason":"personal"#,
                        _ if k % 2 == 0 => "idle",
                        _ => "talking",
                    };
                    ev(t, state)
                })
                .collect();
            hours.push(lines.join("\n"));
        }
        hours.push(ev(at("16:00") + d * day, "offline"));
    }
    let up = floorwatch::roster::parse::parse(csv, &FileConfig::parse(toml, "test").unwrap().settings().unwrap().tz)
        .unwrap();
    let mut e = engine_with(toml, csv);
    // To 11:50 of the second day, housekeeping after each hour (as the daemon's timer).
    for hour in &hours[..hours.len() - 5] {
        feed(&mut e, hour);
        e.housekeeping();
    }
    let now = at("12:00") + day;
    let opts = ViewOpts { team: None, agents: true, alerts: true, scrape: false };
    let before = snapshot(&mut e, now, &opts);
    let ooa: Vec<_> = alerts(&before).into_iter().filter(|a| a.0.starts_with("out_of_adherence:")).collect();
    assert_eq!(ooa.len(), 2, "yesterday's alert and today's: {ooa:?}");
    // Read again, and a restart whose file is the same.
    e.upload_roster(&up).unwrap();
    assert_eq!(snapshot(&mut e, now, &opts), before, "the same roster read again");
    let mut settings = FileConfig::parse(toml, "test").unwrap().settings().unwrap();
    settings.roster = Some(std::sync::Arc::new(up));
    let mut restored = floorwatch::engine::Engine::restore(settings.clone(), &e.save()).unwrap();
    assert_eq!(snapshot(&mut restored, now, &opts), before, "restarted with the same file");
    // Today's break scheduled after all: today's stretch was in adherence, its alert goes.
    let moved = format!("{csv}A1,2026-11-24 10:00,2026-11-24 10:30,personal\n");
    e.upload_roster(&floorwatch::roster::parse::parse(&moved, &settings.tz).unwrap()).unwrap();
    let after = snapshot(&mut e, now, &opts);
    let left: Vec<_> = alerts(&after).into_iter().filter(|a| a.0.starts_with("out_of_adherence:")).collect();
    assert_eq!(left.len(), 1, "only yesterday's alert is left: {left:?}");
    assert_eq!(left[0].0, format!("out_of_adherence:T1:A1:{}", at("10:00")));
}

/// The `[roster] file` applies what of it changed: a correction entered by `PUT` (the huddle
/// the planner added) outlives the file read again unchanged (`SIGHUP`, touched) and a
/// restart from the journal's state with the same file; the file edited for another agent
/// leaves it too; the file edited for that agent-day replaces it (the later edit wins).
/// Before, each of the first three put the file's day back: the huddle gone, and an
/// `out_of_adherence` and a `long_aux` told for the agent at the huddle (found by an audit).
#[test]
fn a_correction_by_put_outlives_the_file_read_again_and_a_restart() {
    use floorwatch::engine::ViewOpts;
    let toml = "[server]\nclock = \"event\"\n[floor]\nwindows = [\"15m\", \"60m\", \"today\"]\n";
    let file = "agent,start,end,activity\nA1,2026-11-23 09:00,2026-11-23 17:00,shift\n\
                A2,2026-11-23 09:00,2026-11-23 17:00,shift\n";
    let settings = {
        let mut s = FileConfig::parse(toml, "test").unwrap().settings().unwrap();
        s.roster = Some(std::sync::Arc::new(floorwatch::roster::parse::parse(file, &s.tz).unwrap()));
        s
    };
    let parse = |csv: &str| floorwatch::roster::parse::parse(csv, &settings.tz).unwrap();
    // Started with the file (applied whole: nothing of it was applied before).
    let mut e = floorwatch::engine::Engine::new(settings.clone());
    let ev = |t: &str, who: &str, state: &str| {
        format!(r#"{{"ts":{},"agent":"{who}","state":"{state}","team":"T1"}}"#, at(t))
    };
    feed(&mut e, &[ev("09:00", "A1", "idle"), ev("09:00", "A2", "idle")].join("\n"));
    // The huddle at 11:00, entered by PUT once it had begun.
    feed(&mut e, &ev("11:00", "A1", r#"aux","reason":"huddle"#));
    let huddle = format!("{file}A1,2026-11-23 11:00,2026-11-23 11:30,huddle\n");
    e.upload_roster(&parse(&huddle)).unwrap();
    feed(&mut e, &[ev("11:30", "A1", "idle"), ev("11:40", "A2", "talking")].join("\n"));
    let now = at("11:45");
    let opts = ViewOpts { team: None, agents: true, alerts: true, scrape: false };
    let corrected = snapshot(&mut e, now, &opts);
    assert_eq!(alerts(&corrected), vec![], "the huddle was scheduled: nothing to tell");
    let a1_scheduled = |s: &Value| agent(s, "A1")["windows"]["today"]["scheduled_s"].as_f64().unwrap();
    // The file read again as it was: nothing of it applies.
    let again = e.upload_roster_file(&parse(file)).unwrap();
    assert_eq!((again.changed, again.cleared, again.unchanged), (0, 0, 2));
    assert_eq!(snapshot(&mut e, now, &opts), corrected, "SIGHUP, or the file touched");
    // A restart from the state snapshot, with the same file.
    let mut restored = floorwatch::engine::Engine::restore(settings.clone(), &e.save()).unwrap();
    assert_eq!(snapshot(&mut restored, now, &opts), corrected, "restarted with the same file");
    // The file edited for A2 only: A1's correction stays.
    let a2_later = file.replace("A2,2026-11-23 09:00", "A2,2026-11-23 10:00");
    let edited = restored.upload_roster_file(&parse(&a2_later)).unwrap();
    assert_eq!((edited.changed, edited.cleared, edited.unchanged), (1, 0, 1));
    let s = snapshot(&mut restored, now, &opts);
    assert_eq!(alerts(&s), vec![]);
    assert_eq!(agent(&s, "A2")["windows"]["today"]["scheduled_s"].as_f64(), Some(6300.0));
    // The file edited for A1's day: the file's is the later edit, the huddle goes, and
    // A1's half hour of aux at 11:00 is out of adherence (told, resolved at 11:30).
    let a1_longer = a2_later.replace("A1,2026-11-23 09:00,2026-11-23 17:00", "A1,2026-11-23 09:00,2026-11-23 18:00");
    restored.upload_roster_file(&parse(&a1_longer)).unwrap();
    let s = snapshot(&mut restored, now, &opts);
    let told: Vec<String> = alerts(&s).into_iter().map(|a| a.0).collect();
    assert!(told.contains(&format!("out_of_adherence:T1:A1:{}", at("11:00"))), "{told:?}");
    assert_eq!(a1_scheduled(&s), a1_scheduled(&corrected));
    // A daily export that moved on to the next day: the day it no longer covers stays as it
    // was (nobody is taken out of it), the next day is applied.
    let next_day = "agent,start,end,activity\nA1,2026-11-24 09:00,2026-11-24 17:00,shift\n";
    let moved = restored.upload_roster_file(&parse(next_day)).unwrap();
    assert_eq!((moved.changed, moved.cleared, moved.unchanged), (1, 0, 0));
    assert_eq!(snapshot(&mut restored, now, &opts), s, "the 23rd as it was");
    // A state saved by a build from before the file's digests were kept (its bytes end
    // where they begin: an empty list is one byte) restores, the file then applied whole.
    let mut old = engine_with(toml, &huddle);
    feed(&mut old, &[ev("09:00", "A1", "idle"), ev("11:00", "A1", r#"aux","reason":"huddle"#)].join("\n"));
    let mut bytes = old.save();
    assert_eq!(bytes.pop(), Some(0), "the roster's file digests are the state's last bytes");
    let mut restored = floorwatch::engine::Engine::restore(settings.clone(), &bytes).unwrap();
    let s = snapshot(&mut restored, now, &opts);
    let told: Vec<String> = alerts(&s).into_iter().map(|a| a.0).collect();
    assert!(told.contains(&format!("out_of_adherence:T1:A1:{}", at("11:00"))), "the huddle is gone: {told:?}");
    assert_eq!(restored.upload_roster_file(&parse(file)).unwrap().unchanged, 2, "the file's digests are kept now");
}

/// A correction entered after the fact (WFM "exceptions"): six of the team were called to a
/// huddle at 14:00 and went on aux `huddle`, and the planner added the huddle to their
/// schedules at 14:20. No roster or rule had named `huddle` before, so only the feed's reason
/// tells the aux was the huddle: their `out_of_adherence` alerts of 14:05, `long_aux` alerts
/// of 14:10 and the team's `aux_cluster` are taken back, and the figures and alerts are those
/// of the corrected roster loaded before the day; the same when the correction comes after
/// the huddle. A7, on a break of its own (`personal`) inside the huddle, stays out.
#[test]
fn a_correction_naming_a_reason_no_schedule_named_before_takes_the_alerts_back() {
    use floorwatch::engine::ViewOpts;
    let toml = "[server]\nclock = \"event\"\n[floor]\nwindows = [\"15m\", \"60m\", \"today\"]\n";
    let agents: Vec<String> = (1..=8).map(|i| format!("A{i}")).collect();
    let mut csv = String::from("agent,start,end,activity\n");
    let mut corrected = csv.clone();
    for (i, a) in agents.iter().enumerate() {
        csv += &format!("{a},2026-11-23 08:00,2026-11-23 16:00,shift\n");
        if i < 7 {
            corrected += &format!("{a},2026-11-23 14:00,2026-11-23 14:30,huddle\n");
        }
    }
    let corrected = format!("{csv}{}", corrected.trim_start_matches("agent,start,end,activity\n"));
    let ev = |hm: &str, a: &str, state: &str| {
        format!(r#"{{"ts":"2026-11-23T{hm}:00Z","agent":"{a}","state":"{state}","team":"T1"}}"#)
    };
    let mut before: Vec<String> = agents.iter().map(|a| ev("08:00", a, "idle")).collect();
    before.push(ev("13:30", "A1", "talking"));
    before.push(ev("13:50", "A1", "idle"));
    for a in &agents[..6] {
        before.push(ev("14:00", a, r#"aux","reason":"huddle"#));
    }
    before.push(ev("14:00", "A7", r#"aux","reason":"personal"#));
    let mut after: Vec<String> = agents[..7].iter().map(|a| ev("14:30", a, "idle")).collect();
    after.push(ev("14:40", "A1", "talking"));
    let (before, after) = (before.join("\n"), after.join("\n"));
    let opts = ViewOpts { team: None, agents: true, alerts: true, scrape: false };
    let of_kind = |s: &Value, kind: &str| -> Vec<String> {
        alerts(s).into_iter().map(|a| a.0).filter(|id| id.starts_with(&format!("{kind}:"))).collect()
    };
    let t14 = at("14:00");

    let mut e = engine_with(toml, &csv);
    e.enable_notifications();
    feed(&mut e, &before);
    let told = snapshot(&mut e, at("14:20"), &opts);
    assert_eq!(of_kind(&told, "out_of_adherence").len(), 7, "all seven in aux nobody scheduled");
    assert_eq!(of_kind(&told, "long_aux").len(), 7);
    assert_eq!(of_kind(&told, "aux_cluster").len(), 1, "{:?}", alerts(&told));
    let settings = FileConfig::parse(toml, "test").unwrap().settings().unwrap();
    e.take_notifications();
    e.upload_roster(&floorwatch::roster::parse::parse(&corrected, &settings.tz).unwrap()).unwrap();
    let fixed = snapshot(&mut e, at("14:20"), &opts);
    // The chats are told each of the six agents' two alerts is withdrawn, and the team's
    // cluster; nothing of A7's.
    e.advance(at("14:20"));
    let notes = e.take_notifications();
    let mut withdrawn: Vec<String> = notes.iter().filter(|a| a.retracted).map(|a| a.id.clone()).collect();
    withdrawn.sort();
    let mut want: Vec<String> = (1..=6)
        .flat_map(|i| [format!("long_aux:T1:A{i}:{t14}"), format!("out_of_adherence:T1:A{i}:{t14}")])
        .chain(of_kind(&told, "aux_cluster"))
        .collect();
    want.sort();
    assert_eq!(withdrawn, want);
    // The team's aux rates stand apart all the same (A7's personal aux, now the only
    // unplanned aux): the same fire, its CV counted over the corrected schedule, updated in
    // place and not withdrawn.
    let dispersion = of_kind(&told, "aux_dispersion");
    assert_eq!(dispersion.len(), 1, "{:?}", alerts(&told));
    assert_eq!(of_kind(&fixed, "aux_dispersion"), dispersion);
    let value =
        |s: &Value| s["alerts"].as_array().unwrap().iter().find(|a| a["id"] == dispersion[0]).unwrap()["value"].clone();
    assert_ne!(value(&fixed), value(&told), "the CV over the corrected schedule");
    assert!(notes.iter().any(|a| a.id == dispersion[0] && !a.retracted && json!(a.value) == value(&fixed)));
    assert_eq!(of_kind(&fixed, "out_of_adherence"), vec![format!("out_of_adherence:T1:A7:{t14}")]);
    assert_eq!(of_kind(&fixed, "long_aux"), vec![format!("long_aux:T1:A7:{t14}")]);
    assert_eq!(of_kind(&fixed, "aux_cluster"), Vec::<String>::new());
    let today = &agent(&fixed, "A1")["windows"]["today"];
    assert_eq!(today["in_adherence_s"], today["scheduled_s"], "A1 was where the schedule says: {today}");

    // The same as the corrected roster loaded before the day, then and later.
    let mut reference = engine_with(toml, &corrected);
    feed(&mut reference, &before);
    assert_eq!(fixed, snapshot(&mut reference, at("14:20"), &opts));
    feed(&mut e, &after);
    feed(&mut reference, &after);
    assert_eq!(snapshot(&mut e, at("15:00"), &opts), snapshot(&mut reference, at("15:00"), &opts));

    // Entered once the huddle is over, at 15:00: the same.
    let mut late = engine_with(toml, &csv);
    feed(&mut late, &before);
    feed(&mut late, &after);
    let told = snapshot(&mut late, at("15:00"), &opts);
    assert_eq!(of_kind(&told, "long_aux").len(), 7, "resolved at 14:30 as told");
    late.upload_roster(&floorwatch::roster::parse::parse(&corrected, &settings.tz).unwrap()).unwrap();
    let fixed = snapshot(&mut late, at("15:00"), &opts);
    assert_eq!(of_kind(&fixed, "long_aux"), vec![format!("long_aux:T1:A7:{t14}")]);
    assert_eq!(fixed, snapshot(&mut reference, at("15:00"), &opts));
}

/// Corrections entered after the fact, at random: six agents on a day of random states and
/// aux reasons (`huddle`, `personal`, `break`, `lunch`, changing inside a stay in aux too),
/// moving between two teams now and then; a roster of shifts and one break each;
/// a correction of some of their days (an activity added, the break taken out, the shift
/// starting or ending at another time) uploaded at a random instant of the day. Every
/// figure and alert, at the upload and at the end, equals those of the corrected roster
/// loaded before the day (the backfill limit a day, so nothing is out of its reach).
/// `FLOORWATCH_CORRECTION_SEEDS=1,2,...` runs other seeds (the default 1-60; 1-1500 were
/// clean).
#[test]
fn random_corrections_read_as_if_loaded_before_the_day() {
    use floorwatch::engine::ViewOpts;
    let default: Vec<String> = (1..=60).map(|s| s.to_string()).collect();
    let seeds = common::env_list("FLOORWATCH_CORRECTION_SEEDS", &default.join(","));
    let toml = "[server]\nclock = \"event\"\n[floor]\nwindows = [\"15m\", \"60m\", \"today\"]\n\
                max_backfill_secs = 86400\nforget_offline_after_secs = 86400\n";
    let settings = FileConfig::parse(toml, "test").unwrap().settings().unwrap();
    let min = 60_000;
    for seed in seeds {
        let mut rnd = common::xorshift(seed);
        let reasons = ["huddle", "personal", "break", "lunch"];
        let hm = |t: i64| {
            let m = (t - at("00:00")) / min;
            format!("2026-11-23 {:02}:{:02}", m / 60, m % 60)
        };
        let mut csv = String::from("agent,start,end,activity\n");
        let mut corrected = csv.clone();
        let mut events: Vec<(i64, String)> = Vec::new();
        for i in 1..=6 {
            let a = format!("A{i}");
            let (shift, brk) = (
                format!("{a},2026-11-23 08:00,2026-11-23 16:00,shift\n"),
                format!("{a},2026-11-23 10:00,2026-11-23 10:15,break\n"),
            );
            csv += &format!("{shift}{brk}");
            // The correction: the same day, an activity added, the break taken out, the
            // shift starting or ending at another time.
            let activity = |rnd: &mut dyn FnMut(u64) -> u64| {
                let s = at("08:30") + rnd(450) as i64 * min;
                let e = s + (5 + rnd(40) as i64) * min;
                format!("{a},{},{},{}\n", hm(s), hm(e), reasons[rnd(4) as usize])
            };
            corrected += &match rnd(6) {
                0 => format!("{shift}{brk}"),
                1 | 2 => format!("{shift}{brk}{}", activity(&mut rnd)),
                3 => shift.clone(),
                4 => {
                    let start = at("07:00") + rnd(180) as i64 * min;
                    format!("{a},{},2026-11-23 16:00,shift\n{brk}{}", hm(start), activity(&mut rnd))
                }
                _ => {
                    let end = at("12:00") + rnd(300) as i64 * min;
                    format!("{a},2026-11-23 08:00,{},shift\n{brk}", hm(end))
                }
            };
            let mut t = at("07:50") + rnd(20) as i64 * min;
            let mut team = "T1";
            while t < at("16:20") {
                if rnd(10) == 0 {
                    team = if team == "T1" { "T2" } else { "T1" };
                }
                let state = match rnd(5) {
                    0 => "idle".to_string(),
                    1 => "talking".to_string(),
                    2 => "acw".to_string(),
                    _ => format!(r#"aux","reason":"{}"#, reasons[rnd(4) as usize]),
                };
                events.push((t, format!(r#"{{"ts":{t},"agent":"{a}","state":"{state}","team":"{team}"}}"#)));
                t += (1 + rnd(25) as i64) * min + rnd(60) as i64 * 1000;
            }
            events.push((t, format!(r#"{{"ts":{t},"agent":"{a}","state":"offline","team":"{team}"}}"#)));
        }
        events.sort_by_key(|e| e.0);
        let upload_at = at("08:30") + rnd(480) as i64 * min;
        let (early, late): (Vec<_>, Vec<_>) = events.iter().partition(|e| e.0 <= upload_at);
        let text = |v: &[&(i64, String)]| v.iter().map(|e| e.1.as_str()).collect::<Vec<_>>().join("\n");
        let opts = ViewOpts { team: None, agents: true, alerts: true, scrape: false };

        let mut e = engine_with(toml, &csv);
        e.enable_notifications();
        feed(&mut e, &text(&early));
        let told = alerts(&snapshot(&mut e, upload_at, &opts));
        e.take_notifications();
        e.upload_roster(&floorwatch::roster::parse::parse(&corrected, &settings.tz).unwrap()).unwrap();
        let mut reference = engine_with(toml, &corrected);
        feed(&mut reference, &text(&early));
        let (got, want) = (snapshot(&mut e, upload_at, &opts), snapshot(&mut reference, upload_at, &opts));
        // The chats are told an alert is withdrawn only when it did change, and one that
        // fired as it did (only the figures at its fire moved: a team's aux rate CV, the
        // agents listed) only when its resolve moved: a withdrawal says "it never was".
        let now = alerts(&got);
        for r in e.take_notifications().iter().filter(|a| a.retracted) {
            let same = told.iter().find(|a| a.0 == r.id).is_some_and(|a| now.contains(a));
            assert!(!same, "seed {seed}: {} withdrawn and told again as it was", r.id);
            let r = serde_json::to_value(r.alert()).unwrap();
            let stored = got["alerts"].as_array().unwrap().iter().find(|a| a["id"] == r["id"]);
            let same_fire = |a: &&Value| ["fired_at", "severity"].iter().all(|k| a[k] == r[k]);
            if let Some(a) = stored.filter(same_fire) {
                assert!(
                    r["state"] == "resolved" && a["resolved_at"] != r["resolved_at"],
                    "seed {seed}: {} withdrawn and told again with the same fire and resolve: {a}",
                    r["id"]
                );
            }
        }
        let differ = common::json_differences(&got, &want, 10);
        assert!(
            differ.is_empty(),
            "seed {seed}: at the upload ({}), correction\n{corrected}{differ:#?}",
            hm(upload_at)
        );
        feed(&mut e, &text(&late));
        feed(&mut reference, &text(&late));
        let end = at("17:00");
        let (got, want) = (snapshot(&mut e, end, &opts), snapshot(&mut reference, end, &opts));
        let differ = common::json_differences(&got, &want, 10);
        assert!(
            differ.is_empty(),
            "seed {seed}: at the end, upload at {}, correction\n{corrected}{differ:#?}",
            hm(upload_at)
        );
    }
}

/// An agent whose first roster came during a stay in unplanned aux that had already
/// changed reason (break at 09:00, personal at 09:05, the roster at 09:12): its log starts
/// at 09:05, so a correction later walks nothing of that stay; its `long_aux` alert of
/// 09:10 (started 09:00, the stay's start) stays the one alert of the stay.
#[test]
fn a_stay_begun_before_the_first_roster_keeps_its_long_aux() {
    use floorwatch::engine::ViewOpts;
    let toml = "[server]\nclock = \"event\"\n[floor]\nwindows = [\"15m\", \"60m\", \"today\"]\n";
    let settings = FileConfig::parse(toml, "test").unwrap().settings().unwrap();
    let ev =
        |hm: &str, state: &str| format!(r#"{{"ts":"2026-11-23T{hm}:00Z","agent":"A1","state":"{state}","team":"T1"}}"#);
    let mut e = floorwatch::engine::Engine::new(settings.clone());
    feed(
        &mut e,
        &[ev("08:00", "idle"), ev("09:00", r#"aux","reason":"break"#), ev("09:05", r#"aux","reason":"personal"#)]
            .join("\n"),
    );
    let roster = "agent,start,end,activity\nA1,2026-11-23 08:00,2026-11-23 17:00,shift\n";
    let opts = ViewOpts { team: None, agents: true, alerts: true, scrape: false };
    snapshot(&mut e, at("09:12"), &opts);
    e.upload_roster(&floorwatch::roster::parse::parse(roster, &settings.tz).unwrap()).unwrap();
    feed(&mut e, &ev("09:30", "idle"));
    let long_aux = |s: &Value| -> Vec<(String, String, String, Value)> {
        alerts(s).into_iter().filter(|a| a.0.starts_with("long_aux:")).collect()
    };
    let told = long_aux(&snapshot(&mut e, at("10:00"), &opts));
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].0, format!("long_aux:T1:A1:{}", at("09:00")));
    let corrected = format!("{roster}A1,2026-11-23 09:20,2026-11-23 09:25,personal\n");
    e.upload_roster(&floorwatch::roster::parse::parse(&corrected, &settings.tz).unwrap()).unwrap();
    assert_eq!(long_aux(&snapshot(&mut e, at("10:00"), &opts)), told);
}
