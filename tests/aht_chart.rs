//! The AHT control chart (docs/figures.md#aht-control-chart) end to end: the worked
//! example through `replay` and through a real daemon (snapshot, `/metrics`, alerts), local
//! days in a non-UTC zone, late contacts equal to on-time ones, and a restart through the
//! journal keeping the history.

mod common;
// Shared with tests/hooks.rs, which reads all of what it records.
#[allow(dead_code)]
#[path = "common/hooks_receiver.rs"]
mod receiver;

use common::{Daemon, metric, replay};
use floorwatch::config::FileConfig;
use floorwatch::engine::{Engine, Source, ViewOpts};
use floorwatch::event::{Aliases, decode_bytes};
use floorwatch::journal::{Payload, Recovery};
use floorwatch::snapshot::Snapshot;
use floorwatch::time::{Ms, parse_rfc3339};
use serde_json::{Value, json};

const Q: Ms = 900_000;

fn ms(s: &str) -> Ms {
    parse_rfc3339(s).unwrap()
}

/// NDJSON for contacts of `agent` in `team`: per quarter-hour from `from`, contacts of the
/// given handle times (s), talking then idle, the first starting a minute into the quarter.
fn quarters(agent: &str, team: &str, from: Ms, qs: &[&[u32]]) -> Vec<(Ms, String)> {
    let mut out = Vec::new();
    for (i, hs) in qs.iter().enumerate() {
        let mut t = from + i as Ms * Q + 60_000;
        for &h in *hs {
            out.push((t, format!(r#"{{"ts":{t},"agent":"{agent}","state":"talking","team":"{team}"}}"#)));
            t += h as Ms * 1000;
            out.push((t, format!(r#"{{"ts":{t},"agent":"{agent}","state":"idle"}}"#)));
            t += 10_000;
        }
    }
    out
}

fn ndjson(mut lines: Vec<(Ms, String)>) -> String {
    lines.sort_by_key(|l| l.0);
    lines.into_iter().map(|l| l.1 + "\n").collect()
}

const EXAMPLE_TOML: &str = "[aht_chart]\nbaseline_points = 3\nmin_contacts = 2\n";

/// SPEC §10's example: quarter-hours from 09:00, then an event at 10:15 (the fifth closes).
fn example_events() -> String {
    let t0 = ms("2026-11-23T09:00:00Z");
    let mut lines = quarters("A1", "T1", t0, &[&[100, 120], &[90, 110], &[100, 100], &[200, 220], &[100, 110]]);
    let end = t0 + 5 * Q;
    lines.push((end, format!(r#"{{"ts":{end},"agent":"A2","state":"idle","team":"T1"}}"#)));
    ndjson(lines)
}

fn close(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 5e-4)
}

fn check_example_chart(team: &Value) {
    let pts = team["aht_chart"]["15m"].as_array().expect("15m points");
    assert_eq!(pts.len(), 5, "{pts:?}");
    assert_eq!(team["aht_chart"]["day"], json!([]), "the day is not over");
    assert_eq!(pts[0]["start"], "2026-11-23T09:00:00.000Z");
    assert_eq!(pts[3]["start"], "2026-11-23T09:45:00.000Z");
    for p in &pts[..3] {
        assert_eq!((&p["cl_s"], &p["ucl_s"], &p["lcl_s"]), (&Value::Null, &Value::Null, &Value::Null));
        assert_eq!(p["rules"], json!([]));
    }
    let p4 = &pts[3];
    assert_eq!((p4["n"].as_u64(), p4["mean_s"].as_f64()), (Some(2), Some(210.0)));
    assert!(close(&p4["cl_s"], 103.333) && close(&p4["ucl_s"], 123.333) && close(&p4["lcl_s"], 83.333), "{p4}");
    assert_eq!(p4["rules"], json!(["beyond_3_sigma"]));
    let p5 = &pts[4];
    assert_eq!(p5["mean_s"].as_f64(), Some(105.0));
    assert!(close(&p5["cl_s"], 136.667), "{p5}");
    assert_eq!(p5["rules"], json!([]));
}

fn check_example_alert(alerts: &Value) {
    let aht: Vec<&Value> = alerts.as_array().unwrap().iter().filter(|a| a["kind"] == "aht_out_of_control").collect();
    assert_eq!(aht.len(), 1, "{alerts}");
    let a = aht[0];
    let ten = ms("2026-11-23T10:00:00Z");
    assert_eq!(a["id"], format!("aht_out_of_control:T1:15m:{ten}"));
    assert_eq!(a["interval"], "15m");
    assert_eq!(a["severity"], "info");
    assert_eq!(a["team"], "T1");
    assert_eq!(a["agent"], Value::Null);
    assert_eq!(a["agents"], json!([]));
    assert_eq!(a["started_at"], "2026-11-23T10:00:00.000Z");
    assert_eq!(a["fired_at"], "2026-11-23T10:00:00.000Z");
    assert_eq!(a["resolved_at"], "2026-11-23T10:15:00.000Z");
    assert_eq!(a["state"], "resolved");
    assert_eq!(a["value"].as_f64(), Some(210.0));
    assert!(close(&a["threshold"], 123.333), "{a}");
    assert!(a["message"].as_str().unwrap().contains("beyond_3_sigma"), "{a}");
}

#[test]
fn worked_example_through_replay() {
    let s = replay(&example_events(), EXAMPLE_TOML);
    assert_eq!(s["now"], "2026-11-23T10:15:00.000Z");
    check_example_chart(&s["teams"][0]);
    check_example_alert(&s["alerts"]);
}

#[test]
fn as_of_the_fourth_close_the_alert_fires_and_the_fifth_point_is_open() {
    let s = common::replay_as_of(&example_events(), EXAMPLE_TOML, Some("2026-11-23T10:00:00Z"));
    assert_eq!(s["teams"][0]["aht_chart"]["15m"].as_array().unwrap().len(), 4);
    let a = s["alerts"].as_array().unwrap().iter().find(|a| a["kind"] == "aht_out_of_control").expect("fired");
    assert_eq!((&a["state"], &a["fired_at"]), (&json!("firing"), &json!("2026-11-23T10:00:00.000Z")));
}

#[tokio::test]
async fn worked_example_through_a_daemon_snapshot_metrics_and_alerts() {
    let d = Daemon::start(&format!("[server]\nclock = \"event\"\n{EXAMPLE_TOML}")).await;
    let events: Vec<Value> = example_events().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let n = events.len() as u64;
    let (status, _) = d.post("/api/v1/events", serde_json::to_string(&events).unwrap()).await;
    assert_eq!(status, 200);
    let s = d.wait_outcomes(n).await;
    let team = s["teams"].as_array().unwrap().iter().find(|t| t["team"] == "T1").unwrap();
    check_example_chart(team);
    check_example_alert(&s["alerts"]);
    check_example_alert(&d.get_json("/api/v1/alerts").await["alerts"]);
    // The board carries the chart for the wallboard's team view (start in epoch ms).
    let board = d.get_json("/api/v1/board?team=T1").await;
    let pts = board["floor"]["aht_chart"]["15m"].as_array().expect("board chart");
    assert_eq!(pts.len(), 5);
    assert_eq!(pts[3]["start"], ms("2026-11-23T09:45:00Z"));
    assert_eq!(pts[3]["rules"], json!(["beyond_3_sigma"]));
    assert_eq!(board["teams"][0]["aht_chart"]["15m"].as_array().map(Vec::len), Some(5));
    // The floor board leaves the charts out (its team table does not draw them).
    let floor_board = d.get_json("/api/v1/board").await;
    assert!(floor_board["teams"][0].get("aht_chart").is_none(), "{}", floor_board["teams"][0]);

    let m = d.metrics().await;
    let g = |name: &str| metric(&m, &format!("{name}{{team=\"T1\",interval=\"15m\"}}"));
    assert_eq!(g("floorwatch_aht_point_seconds"), Some(105.0), "{m}");
    assert!(g("floorwatch_aht_center_seconds").is_some_and(|v| (v - 136.667).abs() < 1e-3), "{m}");
    assert!(g("floorwatch_aht_ucl_seconds").is_some_and(|v| v > 136.667), "{m}");
    assert!(g("floorwatch_aht_lcl_seconds").is_some_and(|v| v >= 0.0), "{m}");
    assert_eq!(metric(&m, "floorwatch_aht_point_seconds{team=\"T1\",interval=\"day\"}"), None);
    assert!(m.contains("# TYPE floorwatch_aht_point_seconds gauge"), "{m}");
    d.stop().await;
}

#[test]
fn days_are_local_days_in_a_non_utc_zone() {
    // Asia/Shanghai: local midnight is 16:00Z. Five contacts before it and five after
    // land in two day points; quarter-hours are counted from 16:00Z too.
    let toml = "[floor]\ntimezone = \"Asia/Shanghai\"\n[aht_chart]\nbaseline_points = 1\nmin_contacts = 1\n";
    let mut lines = quarters("A1", "T1", ms("2026-11-23T15:15:00Z"), &[&[100, 100, 100], &[100, 100]]);
    lines.extend(quarters("A1", "T1", ms("2026-11-23T16:00:00Z"), &[&[200, 200, 200], &[200, 200]]));
    lines.extend(quarters("A1", "T1", ms("2026-11-24T16:00:00Z"), &[&[150]]));
    let s = replay(&ndjson(lines), toml);
    let chart = &s["teams"][0]["aht_chart"];
    let days = chart["day"].as_array().unwrap();
    assert_eq!(days.len(), 2, "{chart}");
    assert_eq!(days[0]["start"], "2026-11-22T16:00:00.000Z");
    assert_eq!((days[0]["n"].as_u64(), days[0]["mean_s"].as_f64()), (Some(5), Some(100.0)));
    assert_eq!(days[1]["start"], "2026-11-23T16:00:00.000Z");
    assert_eq!((days[1]["n"].as_u64(), days[1]["mean_s"].as_f64()), (Some(5), Some(200.0)));
    let starts: Vec<&str> = chart["15m"].as_array().unwrap().iter().map(|p| p["start"].as_str().unwrap()).collect();
    assert_eq!(
        starts,
        [
            "2026-11-23T15:15:00.000Z",
            "2026-11-23T15:30:00.000Z",
            "2026-11-23T16:00:00.000Z",
            "2026-11-23T16:15:00.000Z",
        ]
    );
}

fn settings(toml: &str) -> floorwatch::config::Settings {
    FileConfig::parse(toml, "test").unwrap().settings().unwrap()
}

fn snapshot(engine: &mut Engine, now: Ms) -> Value {
    let view = engine.view(now, &ViewOpts { team: None, agents: false, alerts: true, scrape: false });
    serde_json::to_value(Snapshot(&view)).unwrap()
}

/// Several agents in two teams over a morning, one of them (A3) with a shift in handle time.
fn morning() -> Vec<(Ms, String)> {
    let t0 = ms("2026-11-23T08:00:00Z");
    let mut lines = Vec::new();
    let steady: Vec<&[u32]> = (0..16).map(|i| if i % 2 == 0 { &[100, 120, 90][..] } else { &[110, 95][..] }).collect();
    lines.extend(quarters("A1", "T1", t0, &steady));
    lines.extend(quarters("A2", "T1", t0 + 7_000, &steady));
    lines.extend(quarters("B1", "T2", t0 + 3_000, &steady));
    let mut shifted = steady.clone();
    for q in shifted.iter_mut().skip(9) {
        *q = &[300, 320];
    }
    lines.extend(quarters("A3", "T1", t0 + 11_000, &shifted));
    let end = t0 + 16 * Q + 60_000;
    lines.push((end, format!(r#"{{"ts":{end},"agent":"Z","state":"idle","team":"T1"}}"#)));
    lines
}

const MORNING_TOML: &str = "[server]\nclock = \"event\"\n[aht_chart]\nbaseline_points = 4\nmin_contacts = 3\n";

fn apply_lines(engine: &mut Engine, lines: &[(Ms, String)]) {
    let aliases = Aliases::default();
    let events = lines.iter().map(|(_, l)| decode_bytes(l.as_bytes(), &aliases).unwrap());
    engine.apply_batch(0, Source::Http, events, &[]);
}

#[test]
fn late_contacts_give_the_chart_and_alerts_of_on_time_delivery() {
    let mut lines = morning();
    lines.sort_by_key(|l| l.0);
    let end = lines.last().unwrap().0;
    let mut on_time = Engine::new(settings(MORNING_TOML));
    for chunk in lines.chunks(7) {
        apply_lines(&mut on_time, chunk);
    }
    let want = snapshot(&mut on_time, end);
    let t1 = want["teams"].as_array().unwrap().iter().find(|t| t["team"] == "T1").unwrap();
    assert!(t1["aht_chart"]["15m"].as_array().unwrap().len() >= 14, "{t1}");
    assert!(
        want["alerts"].as_array().unwrap().iter().any(|a| a["kind"] == "aht_out_of_control" && a["team"] == "T1"),
        "the shift fires: {}",
        want["alerts"]
    );

    // A3's events arrive in bursts up to 50 minutes late (its collector lags): its
    // contacts land in points the others already closed.
    for lag in [20 * 60_000, 50 * 60_000] {
        let (a3, others): (Vec<_>, Vec<_>) = lines.iter().cloned().partition(|l| l.1.contains("\"A3\""));
        let mut engine = Engine::new(settings(MORNING_TOML));
        let mut a3 = a3.into_iter().peekable();
        for chunk in others.chunks(5) {
            let now = chunk.last().unwrap().0;
            let mut batch = chunk.to_vec();
            while a3.peek().is_some_and(|l| l.0 <= now - lag) {
                batch.push(a3.next().unwrap());
            }
            apply_lines(&mut engine, &batch);
            let _ = snapshot(&mut engine, now); // views in between change nothing
        }
        apply_lines(&mut engine, &a3.collect::<Vec<_>>());
        let got = snapshot(&mut engine, end);
        for (g, w) in got["teams"].as_array().unwrap().iter().zip(want["teams"].as_array().unwrap()) {
            assert_eq!(g["aht_chart"], w["aht_chart"], "lag {lag}: team {}", g["team"]);
        }
        assert_eq!(got["alerts"], want["alerts"], "lag {lag}");
    }
}

#[test]
fn a_restart_through_the_journal_keeps_the_history() {
    let mut lines = morning();
    lines.sort_by_key(|l| l.0);
    let half = lines.len() / 2;
    let end = lines.last().unwrap().0;
    let mut never_stopped = Engine::new(settings(MORNING_TOML));
    apply_lines(&mut never_stopped, &lines[..half]);
    apply_lines(&mut never_stopped, &lines[half..]);
    let want = snapshot(&mut never_stopped, end);

    let dir = tempfile::tempdir().unwrap();
    let cut_at = lines[half - 1].0;
    {
        let journal = Recovery::open(dir.path()).unwrap().start(0, std::time::Duration::from_millis(1)).unwrap();
        let mut engine = Engine::new(settings(MORNING_TOML));
        engine.set_oplog(journal.oplog());
        let aliases = Aliases::default();
        let decoded: Vec<_> =
            lines[..half].iter().map(|(_, l)| decode_bytes(l.as_bytes(), &aliases).unwrap()).collect();
        journal.append(&Payload::batch(0, Source::Http, &[], decoded.iter()));
        engine.apply_batch(0, Source::Http, decoded, &[]);
        let before = snapshot(&mut engine, cut_at);
        assert!(!before["teams"][0]["aht_chart"]["15m"].as_array().unwrap().is_empty(), "points before the cut");
        journal.snapshot(&engine)();
        journal.close();
    }
    let mut rec = Recovery::open(dir.path()).unwrap();
    let (_, bytes) = rec.snapshot().unwrap().expect("a snapshot was written");
    let mut restored = Engine::restore(settings(MORNING_TOML), &bytes).unwrap();
    rec.replay(&mut restored).unwrap();
    drop(rec);
    let at_cut = snapshot(&mut restored, cut_at);
    let mut reference = Engine::new(settings(MORNING_TOML));
    apply_lines(&mut reference, &lines[..half]);
    assert_eq!(at_cut, snapshot(&mut reference, cut_at), "restored = never stopped, at the cut");
    apply_lines(&mut restored, &lines[half..]);
    let got = snapshot(&mut restored, end);
    assert_eq!(got["teams"], want["teams"]);
    assert_eq!(got["alerts"], want["alerts"]);
}

#[tokio::test]
async fn replay_seeds_a_journal_that_serve_starts_from() {
    // The example two days ago, replayed into an empty journal directory; then a daemon
    // (wall clock) on that directory shows the chart and its alert, and goes on from there.
    let day = 86_400_000;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as Ms;
    let t0 = (now / day - 2) * day + 9 * 3_600_000;
    let mut lines = quarters("A1", "T1", t0, &[&[100, 120], &[90, 110], &[100, 100], &[200, 220], &[100, 110]]);
    let end = t0 + 5 * Q;
    lines.push((end, format!(r#"{{"ts":{end},"agent":"A1","state":"offline"}}"#)));
    let dir = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    let settings = settings(EXAMPLE_TOML);
    floorwatch::replay::run_seeding(
        settings.clone(),
        ndjson(lines.clone()).as_bytes(),
        None,
        65536,
        &mut out,
        Some(dir.path()),
    )
    .unwrap();
    // A directory with a journal is refused.
    let err = floorwatch::replay::run_seeding(settings, &b""[..], None, 65536, &mut Vec::new(), Some(dir.path()))
        .unwrap_err();
    assert!(err.to_string().contains("already holds a journal"), "{err}");

    let mut file = FileConfig::parse(EXAMPLE_TOML, "test").unwrap();
    file.journal.enabled = true;
    file.journal.dir = dir.path().to_string_lossy().into_owned();
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = http.local_addr().unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let handle = tokio::spawn(floorwatch::server::run(
        file,
        floorwatch::server::Listeners { http, tcp },
        floorwatch::server::ServeOptions { demo: false, base_dir: ".".into() },
        shutdown.clone(),
    ));
    let mut snap = Value::Null;
    for _ in 0..200 {
        if let Ok(r) = reqwest::get(format!("http://{addr}/api/v1/snapshot")).await {
            snap = r.json().await.unwrap();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let team = snap["teams"].as_array().unwrap().iter().find(|t| t["team"] == "T1").expect("T1 restored");
    let pts = team["aht_chart"]["15m"].as_array().unwrap();
    assert_eq!(pts.len(), 5, "{}", team["aht_chart"]);
    assert_eq!(pts[3]["rules"], json!(["beyond_3_sigma"]));
    assert_eq!(team["aht_chart"]["day"].as_array().unwrap().len(), 1, "the day closed since");
    let alerts = snap["alerts"].as_array().unwrap();
    assert!(alerts.iter().any(|a| a["kind"] == "aht_out_of_control" && a["state"] == "resolved"), "{alerts:?}");
    shutdown.cancel();
    handle.await.unwrap().unwrap();
}

#[test]
fn a_multi_day_replay_keeps_every_chart_alert() {
    // Ten days of one team, each with a morning of steady quarters and one far-out quarter:
    // from the second day (the first has no baseline at its far-out quarter) an alert a day,
    // fired and resolved, all still listed at the end, days after the first resolved
    // (other kinds' resolved alerts are kept 48 hours).
    let toml = "[aht_chart]\nbaseline_points = 4\nmin_contacts = 2\n";
    let mut lines = Vec::new();
    let day0 = ms("2026-11-01T08:00:00Z");
    for d in 0..10 {
        let mut qs: Vec<&[u32]> = vec![&[100, 110], &[95, 105], &[100, 100], &[105, 95], &[110, 90]];
        qs.insert(3, &[400, 420]);
        lines.extend(quarters("A1", "T1", day0 + d * 86_400_000, &qs));
    }
    // Housekeeping runs every 65,536 applied events; pad with another team's idle churn.
    let mut t = day0;
    while lines.len() < 140_000 {
        t += 6_000;
        let state = if lines.len() % 2 == 0 { "idle" } else { "aux" };
        lines.push((t, format!(r#"{{"ts":{t},"agent":"P1","state":"{state}","team":"PAD"}}"#)));
    }
    let s = replay(&ndjson(lines), toml);
    let aht: Vec<&Value> =
        s["alerts"].as_array().unwrap().iter().filter(|a| a["kind"] == "aht_out_of_control").collect();
    let fired: Vec<&str> = aht.iter().map(|a| a["fired_at"].as_str().unwrap()).collect();
    assert_eq!(aht.len(), 9, "{fired:?}");
    assert!(aht.iter().all(|a| a["state"] == "resolved" && a["interval"] == "15m"), "{aht:?}");
    assert_eq!(fired[0], "2026-11-02T09:00:00.000Z");
}

#[tokio::test]
async fn a_webhook_hears_the_fire_and_the_resolve() {
    // The alert goes through the daemon's hooks like every kind: a webhook filtered to
    // aht_out_of_control gets the fire at 10:00 and, once time has moved past 10:15, the
    // resolve.
    let rx = receiver::Receiver::start().await;
    let toml = format!(
        "[server]\nclock = \"event\"\n{EXAMPLE_TOML}[[hooks]]\nkind = \"webhook\"\nurl = \"{}\"\nkinds = [\"aht_out_of_control\"]\n",
        rx.url("/hook")
    );
    let d = Daemon::start(&toml).await;
    let mut events: Vec<Value> = example_events().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let later = ms("2026-11-23T10:16:00Z");
    events.push(json!({"ts": later, "agent": "A2", "state": "aux", "reason": "break"}));
    let (status, _) = d.post("/api/v1/events", serde_json::to_string(&events).unwrap()).await;
    assert_eq!(status, 200);
    let got = rx.wait_for(2, std::time::Duration::from_secs(10)).await;
    let bodies: Vec<Value> = got.iter().map(|r| r.json()).collect();
    let ten = ms("2026-11-23T10:00:00Z");
    for (b, state) in bodies.iter().zip(["firing", "resolved"]) {
        assert_eq!(b["id"], format!("aht_out_of_control:T1:15m:{ten}"), "{b}");
        assert_eq!(b["state"], state, "{b}");
        assert_eq!(b["interval"], "15m");
    }
    assert_eq!(bodies[1]["resolved_at"], "2026-11-23T10:15:00.000Z");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(rx.requests().len(), 2, "told once each");
    d.stop().await;
}

/// A week of three teams in America/New_York across the end of daylight saving time
/// (2026-11-01 lasts 25 hours), 30-minute points, a shift in handle time injected into T2
/// from Nov 2, agents moving team with the event that completes a contact, after-call work
/// (or none), a night agent working across local midnight.
fn shifted_week() -> String {
    let tz = jiff::tz::TimeZone::get("America/New_York").unwrap();
    let local = |d: jiff::civil::Date, h: i8, m: i8| {
        d.at(h, m, 0, 0).to_zoned(tz.clone()).unwrap().timestamp().as_millisecond()
    };
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move |n: i64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as i64
    };
    let mut lines: Vec<(Ms, String)> = Vec::new();
    let first = jiff::civil::date(2026, 10, 28);
    for day in 0..8 {
        let d = first.checked_add(jiff::Span::new().days(day)).unwrap();
        for (team, base) in [("T1", 180), ("T2", 240), ("T3", 150)] {
            for a in 0..4 {
                let agent = format!("{team}-A{a}");
                // Night agent of T3 works 20:00-02:00 across local midnight; the others 08:00-18:00.
                let (from, to) = if team == "T3" && a == 0 {
                    (local(d, 20, 0), local(d, 20, 0) + 6 * 3_600_000)
                } else {
                    (local(d, 8, 0) + a * 60_000, local(d, 18, 0))
                };
                let mut t = from;
                let team_field = if day == 0 { format!(r#","team":"{team}""#) } else { String::new() };
                lines.push((t, format!(r#"{{"ts":{t},"agent":"{agent}","state":"idle"{team_field}}}"#)));
                let shift = if team == "T2" && day >= 5 { 90 } else { 0 };
                let mut n = 0;
                while t < to {
                    t += (20 + rnd(180)) * 1000;
                    lines.push((t, format!(r#"{{"ts":{t},"agent":"{agent}","state":"talking"}}"#)));
                    t += (base + shift - 60 + rnd(120)) * 1000;
                    if rnd(3) > 0 {
                        lines.push((t, format!(r#"{{"ts":{t},"agent":"{agent}","state":"acw"}}"#)));
                        t += (10 + rnd(40)) * 1000;
                    }
                    n += 1;
                    // Now and then an agent of T1 is lent to T3 (and back) by the event that
                    // completes its contact: that contact counts for the new team.
                    let lend = team == "T1" && a == 3 && n % 40 == 0;
                    let to_team = if lend {
                        format!(r#","team":"{}""#, if n % 80 == 0 { "T1" } else { "T3" })
                    } else {
                        String::new()
                    };
                    lines.push((t, format!(r#"{{"ts":{t},"agent":"{agent}","state":"idle"{to_team}}}"#)));
                }
                t += 1000;
                lines.push((t, format!(r#"{{"ts":{t},"agent":"{agent}","state":"offline"}}"#)));
            }
        }
    }
    ndjson(lines)
}

#[test]
fn a_shifted_week_across_dst_equals_the_independent_model() {
    let events = shifted_week();
    let toml = "[floor]\ntimezone = \"America/New_York\"\n[aht_chart]\ninterval_mins = 30\nmin_contacts = 3\nbaseline_points = 8\n";
    let s = replay(&events, toml);
    assert!(s["teams"][0]["aht_chart"]["30m"].is_array(), "the short chart is named from interval_mins");
    // (Only the last 32 points are shown, after the shift has become the baseline: the
    // rules it broke are in the alerts.)
    let (limits, _, alerts) = common::aht_model::check(&s, &events, "America/New_York", 30, (3, 8, 45));
    assert!(limits > 50 && alerts > 0, "limits {limits}, alerts {alerts}");
    // The shift in T2 is seen: an alert of its day chart or its 30-minute chart after it.
    let t2: Vec<&Value> = s["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "aht_out_of_control" && a["team"] == "T2")
        .filter(|a| a["fired_at"].as_str().unwrap() >= "2026-11-02")
        .collect();
    assert!(!t2.is_empty(), "the shift fires");
    // The 25-hour day is one day point, from 04:00Z to 05:00Z the next day.
    let days = s["teams"].as_array().unwrap().iter().find(|t| t["team"] == "T1").unwrap()["aht_chart"]["day"].clone();
    assert!(days.as_array().unwrap().iter().any(|p| p["start"] == "2026-11-01T04:00:00.000Z"), "{days}");
}
