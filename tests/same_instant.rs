//! Events of one agent stamped at the same millisecond: the state at an instant is the
//! state after every event stamped then (docs/alerts.md#timing), so a state that lasts no
//! time (idle at 09:05:00.000, aux again at 09:05:00.000) interrupts nothing. `long_aux`
//! goes on across it, with the limit of the reason in force at the stretch's entry, however
//! the events are batched and whatever views are made between them (SPEC §2.5).

use floorwatch::config::FileConfig;
use floorwatch::engine::{Engine, Source, ViewOpts};
use floorwatch::event::{Aliases, decode_bytes};
use floorwatch::time::{Ms, parse_instant};
use serde_json::Value;

/// Peak 09:30-11:00 UTC (clusters are judged then); long_aux 600 s, restroom 900 s.
const CFG: &str = "[floor]\ntimezone = \"UTC\"\n[peak]\nwindows = [\"09:30-11:00\"]\n\
                   [alerts.long_aux]\nmax_aux_secs = 600\nper_reason = { restroom = 900 }\n";

/// 2026-11-23 at `hms` (`HH:MM:SS` or `HH:MM:SS.mmm`), as the snapshot writes it.
fn z(hms: &str) -> String {
    let ms = if hms.len() == 8 { ".000" } else { "" };
    format!("2026-11-23T{hms}{ms}Z")
}

fn at(hms: &str) -> Ms {
    parse_instant(&z(hms)).unwrap()
}

/// One event line of `agent` (team T1) at `hms`; `state` is `aux:<reason>` for aux.
fn ev(hms: &str, agent: &str, state: &str) -> String {
    let (state, reason) = match state.split_once(':') {
        Some((s, r)) => (s, format!(",\"reason\":\"{r}\"")),
        None => (state, String::new()),
    };
    format!("{{\"ts\":\"{}\",\"agent\":\"{agent}\",\"state\":\"{state}\"{reason},\"team\":\"T1\"}}", z(hms))
}

/// A1's events (`(time, state)`), then an agent of another team that moves the event
/// clock to `now`.
fn a1(events: &[(&str, &str)], now: &str) -> String {
    let mut lines: Vec<String> = events.iter().map(|(t, s)| ev(t, "A1", s)).collect();
    lines.push(format!("{{\"ts\":\"{}\",\"agent\":\"CLOCK\",\"state\":\"offline\",\"team\":\"ZZ\"}}", z(now)));
    lines.join("\n") + "\n"
}

fn replay(ndjson: &str) -> Value {
    let settings = FileConfig::parse(CFG, "test").unwrap().settings().unwrap();
    let mut out = Vec::new();
    floorwatch::replay::run(settings, ndjson.as_bytes(), None, 65536, &mut out).unwrap();
    serde_json::from_slice(&out).unwrap()
}

/// The alerts of `kind` as (started_at, fired_at, resolved_at or "").
fn alerts(s: &Value, kind: &str) -> Vec<(String, String, String)> {
    s["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == kind)
        .map(|a| {
            let t = |k: &str| a[k].as_str().unwrap_or_default().to_string();
            (t("started_at"), t("fired_at"), t("resolved_at"))
        })
        .collect()
}

/// (started, fired, resolved or "") as the snapshot writes them.
fn want(expected: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    expected.iter().map(|&(s, f, r)| (z(s), z(f), if r.is_empty() { String::new() } else { z(r) })).collect()
}

/// A stretch of unplanned aux goes on across states that last no time, whatever they are;
/// a millisecond out of it is a new stretch.
#[test]
fn long_aux_goes_on_across_a_state_that_lasts_no_time() {
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [(&'a str, &'a str, &'a str)]);
    let cases: &[Case] = &[
        (
            "idle for no time, back on the same break",
            &[("08:00:00", "idle"), ("09:00:00", "aux:break"), ("09:05:00", "idle"), ("09:05:00", "aux:break")],
            &[("09:00:00", "09:10:00", "")],
        ),
        (
            "idle for no time, back on another unplanned reason",
            &[("08:00:00", "idle"), ("09:00:00", "aux:break"), ("09:05:00", "idle"), ("09:05:00", "aux:personal")],
            &[("09:00:00", "09:10:00", "")],
        ),
        (
            "planned aux for no time",
            &[("08:00:00", "idle"), ("09:00:00", "aux:break"), ("09:05:00", "aux:lunch"), ("09:05:00", "aux:break")],
            &[("09:00:00", "09:10:00", "")],
        ),
        (
            "two states for no time",
            &[
                ("08:00:00", "idle"),
                ("09:00:00", "aux:break"),
                ("09:05:00", "idle"),
                ("09:05:00", "talking"),
                ("09:05:00", "aux:break"),
            ],
            &[("09:00:00", "09:10:00", "")],
        ),
        (
            "after the alert fired: it stays firing",
            &[("08:00:00", "idle"), ("09:00:00", "aux:break"), ("09:15:00", "idle"), ("09:15:00", "aux:break")],
            &[("09:00:00", "09:10:00", "")],
        ),
        (
            "at the very instant it fires",
            &[("08:00:00", "idle"), ("09:00:00", "aux:break"), ("09:10:00", "idle"), ("09:10:00", "aux:break")],
            &[("09:00:00", "09:10:00", "")],
        ),
        (
            "then out for good: resolved there",
            &[
                ("08:00:00", "idle"),
                ("09:00:00", "aux:break"),
                ("09:15:00", "idle"),
                ("09:15:00", "aux:break"),
                ("09:20:00", "idle"),
            ],
            &[("09:00:00", "09:10:00", "09:20:00")],
        ),
        (
            "out for a millisecond: a new stretch",
            &[("08:00:00", "idle"), ("09:00:00", "aux:break"), ("09:05:00", "idle"), ("09:05:00.001", "aux:break")],
            &[("09:05:00.001", "09:15:00.001", "")],
        ),
        (
            "in unplanned aux for no time: nothing",
            &[("08:00:00", "idle"), ("09:00:00", "aux:break"), ("09:00:00", "idle")],
            &[],
        ),
    ];
    for (name, events, expected) in cases {
        let s = replay(&a1(events, "09:30:00"));
        assert_eq!(alerts(&s, "long_aux"), want(expected), "{name}");
    }
}

/// The limit is the one of the reason in force at the stretch's entry, after every event
/// at that instant: an interruption that lasts no time does not choose it again, and a
/// reason replaced at the very instant of the entry was never the reason at entry.
#[test]
fn long_aux_limit_is_chosen_by_the_reason_at_entry() {
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], (&'a str, &'a str, f64, &'a str));
    let cases: &[Case] = &[
        (
            "restroom (900 s) first: not restarted as a break (600 s)",
            &[("08:00:00", "idle"), ("09:00:00", "aux:restroom"), ("09:08:00", "idle"), ("09:08:00", "aux:break")],
            ("09:00:00", "09:15:00", 900.0, "restroom"),
        ),
        (
            "break (600 s) first: not restarted as restroom (900 s)",
            &[("08:00:00", "idle"), ("09:00:00", "aux:break"), ("09:08:00", "idle"), ("09:08:00", "aux:restroom")],
            ("09:00:00", "09:10:00", 600.0, "break"),
        ),
        (
            "a reason replaced at the instant of the entry",
            &[("08:00:00", "idle"), ("09:00:00", "aux:break"), ("09:00:00", "aux:restroom")],
            ("09:00:00", "09:15:00", 900.0, "restroom"),
        ),
        (
            "a reason replaced at the instant of the entry, through idle",
            &[("08:00:00", "idle"), ("09:00:00", "aux:break"), ("09:00:00", "idle"), ("09:00:00", "aux:restroom")],
            ("09:00:00", "09:15:00", 900.0, "restroom"),
        ),
        (
            "a reason changed a millisecond after the entry: the entry's limit",
            &[("08:00:00", "idle"), ("09:00:00", "aux:break"), ("09:00:00.001", "aux:restroom")],
            ("09:00:00", "09:10:00", 600.0, "break"),
        ),
    ];
    for (name, events, (started, fired, limit, reason)) in cases {
        let s = replay(&a1(events, "09:30:00"));
        let got: Vec<&Value> = s["alerts"].as_array().unwrap().iter().filter(|a| a["kind"] == "long_aux").collect();
        assert_eq!(got.len(), 1, "{name}: {got:#?}");
        let a = got[0];
        assert_eq!(
            (a["started_at"].as_str(), a["fired_at"].as_str()),
            (Some(&*z(started)), Some(&*z(fired))),
            "{name}"
        );
        assert_eq!(a["id"], format!("long_aux:T1:A1:{}", at(started)), "{name}");
        assert_eq!((a["value"].as_f64(), a["threshold"].as_f64()), (Some(*limit), Some(*limit)), "{name}");
        let message = a["message"].as_str().unwrap();
        assert!(message.contains(&format!("({reason})")), "{name}: {message}");
    }
}

/// With a roster, a scheduled break is planned aux: it ends a stretch (resolving its alert)
/// and one starts where it ends, if the agent is still out (SPEC §9.2). A state that lasts
/// no time changes none of this; and a reason given at the very instant a stretch starts
/// is the reason at its start, which chooses the limit.
#[test]
fn with_a_roster_too() {
    let toml = format!("[server]\nclock = \"event\"\n{CFG}");
    let settings = FileConfig::parse(&toml, "test").unwrap().settings().unwrap();
    let csv = "agent,start,end,activity\nA1,2026-11-23 08:00,2026-11-23 12:00,shift\n\
               A1,2026-11-23 09:30,2026-11-23 09:45,break\n";
    let up = floorwatch::roster::parse::parse(csv, &settings.tz).unwrap();
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [(&'a str, &'a str, &'a str)]);
    let cases: &[Case] = &[
        (
            "idle for no time before the scheduled break",
            &[("08:00:00", "idle"), ("09:00:00", "aux:break"), ("09:05:00", "idle"), ("09:05:00", "aux:break")],
            &[("09:00:00", "09:10:00", "09:30:00"), ("09:45:00", "09:55:00", "10:30:00")],
        ),
        (
            "restroom where the scheduled break ends",
            &[("08:00:00", "idle"), ("09:40:00", "aux:break"), ("09:45:00", "aux:restroom")],
            &[("09:45:00", "10:00:00", "10:30:00")],
        ),
        (
            "restroom where the scheduled break ends, through idle",
            &[("08:00:00", "idle"), ("09:40:00", "aux:break"), ("09:45:00", "idle"), ("09:45:00", "aux:restroom")],
            &[("09:45:00", "10:00:00", "10:30:00")],
        ),
    ];
    let opts = ViewOpts { team: None, agents: false, alerts: true, scrape: false };
    for (name, events, expected) in cases {
        let mut engine = Engine::new(settings.clone());
        engine.upload_roster(&up).unwrap();
        let mut events = events.to_vec();
        events.push(("10:30:00", "idle"));
        floorwatch::replay::feed(&mut engine, a1(&events, "10:30:00").as_bytes(), 65536, false).unwrap();
        let s = serde_json::to_value(floorwatch::snapshot::Snapshot(&engine.view(at("10:30:00"), &opts))).unwrap();
        assert_eq!(alerts(&s, "long_aux"), want(expected), "{name}");
    }
}

/// A floor of twelve agents at peak where four go on a break together at 09:40 (a cluster,
/// firing at 09:41) and A00's break is interrupted for no time before its long_aux fires,
/// at the instant the cluster fires, and after its long_aux fired; A05's break becomes a
/// restroom break at the instant it starts (restroom's limit), and is interrupted for no
/// time after its long_aux fired.
fn floor() -> Vec<String> {
    let mut lines: Vec<String> = (0..12).map(|i| ev("09:00:00", &format!("A{i:02}"), "idle")).collect();
    for i in 0..4 {
        lines.push(ev("09:40:00", &format!("A{i:02}"), "aux:break"));
    }
    lines.extend([
        ev("09:40:30", "A00", "idle"),
        ev("09:40:30", "A00", "aux:break"),
        ev("09:41:00", "A00", "idle"),
        ev("09:41:00", "A00", "aux:personal"),
        ev("09:45:00", "A05", "aux:break"),
        ev("09:45:00", "A05", "aux:restroom"),
        ev("09:52:00", "A00", "aux:lunch"),
        ev("09:52:00", "A00", "aux:break"),
        ev("09:55:00", "A01", "idle"),
        ev("09:55:00", "A02", "idle"),
        ev("09:55:00", "A03", "idle"),
        ev("10:05:00", "A00", "idle"),
        ev("10:05:00", "A05", "idle"),
        ev("10:05:00", "A05", "aux:break"),
        ev("10:20:00", "A05", "idle"),
    ]);
    lines
}

/// `got` equals `want` (snapshots as JSON), or the first difference is named by its path.
fn assert_same(got: &Value, want: &Value, path: &str) {
    match (got, want) {
        (Value::Object(a), Value::Object(b)) => {
            assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "{path}: keys");
            for (k, v) in a {
                assert_same(v, &b[k], &format!("{path}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert_same(x, y, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(got, want, "{path}"),
    }
}

/// The floor in one batch (`replay`) and event by event, with a view after each event (so
/// after the first of two events at one instant, alone on the floor at that instant): the
/// same alerts and figures, which are those of the docs' rule. With the event clock; with
/// the wall clock, each event received when it happened, and also each second event of an
/// instant received 5 s late (after the team detectors committed that instant, and after
/// a `long_aux` due at it was told).
#[test]
fn batching_and_views_between_events_at_one_instant_change_nothing() {
    let lines = floor();
    let once = replay(&(lines.join("\n") + "\n"));
    let long_aux = |s: &Value| {
        let mut v: Vec<(String, String, String, String)> = s["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["kind"] == "long_aux")
            .map(|a| {
                let t = |k: &str| a[k].as_str().unwrap_or_default().to_string();
                (t("agent"), t("started_at"), t("fired_at"), t("resolved_at"))
            })
            .collect();
        v.sort();
        v
    };
    let want_long: Vec<(String, String, String, String)> = [
        ("A00", "09:40:00", "09:50:00", "10:05:00"),
        ("A01", "09:40:00", "09:50:00", "09:55:00"),
        ("A02", "09:40:00", "09:50:00", "09:55:00"),
        ("A03", "09:40:00", "09:50:00", "09:55:00"),
        ("A05", "09:45:00", "10:00:00", "10:20:00"),
    ]
    .iter()
    .map(|&(a, s, f, e)| (a.to_string(), z(s), z(f), z(e)))
    .collect();
    assert_eq!(long_aux(&once), want_long);
    assert_eq!(alerts(&once, "aux_cluster"), want(&[("09:40:00", "09:41:00", "09:56:00")]));
    let cluster = once["alerts"].as_array().unwrap().iter().find(|a| a["kind"] == "aux_cluster").unwrap();
    assert_eq!(cluster["agents"], serde_json::json!(["A00", "A01", "A02", "A03"]));

    let end = at("10:20:00");
    let opts = ViewOpts { team: None, agents: true, alerts: true, scrape: false };
    let aliases = Aliases::default();
    for (clock, delay) in [("event", 0), ("wall", 0), ("wall", 5_000)] {
        let toml = format!("[server]\nclock = \"{clock}\"\n{CFG}");
        let mut engine = Engine::new(FileConfig::parse(&toml, "test").unwrap().settings().unwrap());
        let (mut recv, mut last) = (Ms::MIN, None);
        for line in &lines {
            let ev = decode_bytes(line.as_bytes(), &aliases).unwrap();
            let ts = ev.ts().unwrap();
            let agent = line.split("\"agent\":\"").nth(1).unwrap().split('"').next().unwrap();
            let again = last == Some((agent, ts));
            last = Some((agent, ts));
            recv = recv.max(ts + if again { delay } else { 0 });
            engine.apply_batch(recv, Source::Tcp, [ev], &[]);
            let _ = engine.view(recv, &opts);
        }
        // Through the snapshot's text, as `replay` writes it.
        let text = serde_json::to_vec(&floorwatch::snapshot::Snapshot(&engine.view(end, &opts))).unwrap();
        let s: Value = serde_json::from_slice(&text).unwrap();
        for part in ["alerts", "agents", "teams", "floor"] {
            assert_same(&s[part], &once[part], &format!("{clock} clock, delay {delay} ms: {part}"));
        }
    }
}
