//! Queues and service level (SPEC §8): the worked example of §8.5 through `replay`
//! exactly as a user runs it, and the same events as late batches.

use floorwatch::config::FileConfig;
use serde_json::{Value, json};

/// The events of SPEC §8.5's worked example, verbatim.
const EVENTS: &str = include_str!("fixtures/spec-8.5-events.ndjson");

const CONFIG: &str = "[alerts.service_level_low]\nmin_calls = 2\nconsecutive = 2\n";

/// The §8.5 events replayed with `config`, as of `now` (None: the last event).
fn replay(config: &str, events: &str, now: Option<&str>) -> Value {
    common::replay_as_of(events, config, now)
}

/// The alerts of a snapshot as (id, state, started_at, fired_at, resolved_at, value, threshold).
fn alerts(s: &Value) -> Vec<(String, String, String, String, Value, f64, f64)> {
    s["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_string(),
                a["state"].as_str().unwrap().to_string(),
                a["started_at"].as_str().unwrap().to_string(),
                a["fired_at"].as_str().unwrap().to_string(),
                a["resolved_at"].clone(),
                a["value"].as_f64().unwrap(),
                a["threshold"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn worked_example_of_spec_8_5() {
    let s = replay(CONFIG, EVENTS, None);
    assert_eq!(s["now"], "2026-11-23T09:03:30.000Z");
    assert_eq!(s["ingest"], json!({"applied": 12, "duplicate": 3, "late": 1, "invalid": 1, "skewed": 0}));
    let q = &s["queues"][0];
    assert_eq!(s["queues"].as_array().unwrap().len(), 1);
    assert_eq!(q["queue"], "support");
    assert_eq!(q["current"], json!({"waiting": 0, "longest_wait_s": null}));
    let w = &q["windows"]["15m"];
    assert_eq!(
        *w,
        json!({"offered": 3, "answered": 2, "abandoned": 1, "left": 0, "short_abandoned": 1,
               "answered_in_sl": 1, "service_level": 0.5, "abandon_rate": 0.0, "asa_s": 44.0})
    );
    // Queues have every window but peak_today.
    let names: Vec<&String> = q["windows"].as_object().unwrap().keys().collect();
    assert_eq!(names, ["15m", "60m", "today"]);
    // The floor's queue block holds the sums.
    assert_eq!(s["floor"]["queues"]["current"], q["current"]);
    assert_eq!(s["floor"]["queues"]["windows"], q["windows"]);
    assert!(s["floor"]["queues"].get("queue").is_none());
    let got = alerts(&s);
    assert_eq!(
        got,
        [
            (
                "long_wait:queue:support:1795424470000".to_string(),
                "resolved".to_string(),
                "2026-11-23T09:01:10.000Z".to_string(),
                "2026-11-23T09:01:10.000Z".to_string(),
                json!("2026-11-23T09:01:30.000Z"),
                60.0,
                60.0
            ),
            (
                "service_level_low:queue:support:1795424520000".to_string(),
                "firing".to_string(),
                "2026-11-23T09:02:00.000Z".to_string(),
                "2026-11-23T09:03:00.000Z".to_string(),
                Value::Null,
                0.5,
                0.9
            ),
        ]
    );
    for a in s["alerts"].as_array().unwrap() {
        assert_eq!(a["team"], Value::Null, "{a}");
        assert_eq!(a["queue"], "support");
        assert_eq!(a["agents"], json!([]));
    }
    assert_eq!(s["alerts"][0]["severity"], "critical");
    assert_eq!(s["alerts"][1]["severity"], "warning");
    // The agents' side is unchanged by the calls.
    assert_eq!(s["teams"][0]["current"]["talking"], 1);
}

#[test]
fn worked_example_as_of_an_earlier_now() {
    let s = replay(CONFIG, EVENTS, Some("2026-11-23T09:01:20Z"));
    let q = &s["queues"][0];
    assert_eq!(q["current"], json!({"waiting": 1, "longest_wait_s": 70.0}));
    assert_eq!(q["windows"]["15m"]["service_level"], 1.0);
    assert_eq!(q["windows"]["15m"]["asa_s"], 8.0);
    // long_wait fired at 09:01:10 and is still firing at 09:01:20.
    let got = alerts(&s);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "long_wait:queue:support:1795424470000");
    assert_eq!(got[0].1, "firing");
}

/// `answered_only` judges answered calls alone; the abandon rate is the same.
#[test]
fn answered_only_mode() {
    let s = replay(&format!("[queues]\nsl_mode = \"answered_only\"\n{CONFIG}"), EVENTS, None);
    let w = &s["queues"][0]["windows"]["15m"];
    assert_eq!(w["service_level"], 0.5, "1 of 2 answered in 10 s");
    assert_eq!(w["abandon_rate"], 0.0);
    let s = replay(&format!("[queues]\nsl_secs = 80\n{CONFIG}"), EVENTS, None);
    assert_eq!(s["queues"][0]["windows"]["15m"]["service_level"], 1.0, "c3 answered at exactly 80 s is within");
}

mod common;
#[allow(dead_code)] // the helpers other tests use
#[path = "common/hooks_receiver.rs"]
mod hooks_receiver;

use std::time::Duration;

use tokio::io::AsyncWriteExt;

/// The worked example through a real daemon (event clock): the first half over TCP, the
/// rest as one HTTP POST; the snapshot's queues equal `replay`'s, `/metrics` has the queue
/// families, and hooks hear of both alerts (a team-filtered one too: queues are the floor's).
#[tokio::test]
async fn worked_example_through_a_daemon_over_tcp_and_http() {
    let rx = hooks_receiver::Receiver::start().await;
    let toml = format!(
        "[server]\nclock = \"event\"\n{CONFIG}\n[[hooks]]\nkind = \"webhook\"\nurl = \"{}\"\n\
         [[hooks]]\nkind = \"slack\"\nurl = \"{}\"\nteams = [\"T9\"]\n",
        rx.url("/hook"),
        rx.url("/slack")
    );
    let d = common::Daemon::start(&toml).await;
    let lines: Vec<&str> = EVENTS.lines().collect();
    let mut tcp = tokio::net::TcpStream::connect(d.tcp).await.unwrap();
    tcp.write_all(format!("{}\n", lines[..8].join("\n")).as_bytes()).await.unwrap();
    tcp.flush().await.unwrap();
    d.wait_outcomes(8).await;
    let body = format!("[{}]", lines[8..].join(","));
    let (status, answer) = d.post("/api/v1/events", body).await;
    assert_eq!(status, 200, "{answer}");
    // c3 queued again, c3 left before its queued, c2 abandoned again, c4 never queued, c9.
    let reasons: Vec<(&str, &str)> = answer["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["outcome"].as_str().unwrap(), e["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        reasons,
        [
            ("duplicate", "repeated"),
            ("late", "older_than_last"),
            ("duplicate", "repeated"),
            ("duplicate", "repeated"),
            ("invalid", "missing_field")
        ]
    );
    assert!(answer["errors"][0]["message"].as_str().unwrap().contains("already waiting in \"support\""));
    let s = d.wait_outcomes(17).await;
    let r = replay(CONFIG, EVENTS, None);
    assert_eq!(s["queues"], r["queues"]);
    assert_eq!(s["floor"]["queues"], r["floor"]["queues"]);
    assert_eq!(s["ingest"], r["ingest"]);
    assert_eq!(alerts(&s), alerts(&r));
    // A team's snapshot lists the alerts of the queues it lists (docs/figures.md#snapshot-sizes).
    let t1 = d.get_json("/api/v1/snapshot?team=T1&queues=all").await;
    assert_eq!(alerts(&t1), alerts(&r));
    let t1 = d.get_json("/api/v1/snapshot?team=T1&queues=support").await;
    assert_eq!(alerts(&t1), alerts(&r));
    let t1 = d.get_json("/api/v1/snapshot?team=T1").await;
    assert!(alerts(&t1).is_empty(), "no queue listed, no queue alert: {t1}");
    // `/api/v1/alerts?queue=` lists that queue's alerts, `?team=` no queue's.
    let by_queue = d.get_json("/api/v1/alerts?queue=support").await;
    assert_eq!(alerts(&by_queue), alerts(&r));
    assert!(!alerts(&by_queue).is_empty());
    assert!(d.get_json("/api/v1/alerts?queue=sales").await["alerts"].as_array().unwrap().is_empty());
    assert!(
        d.get_json("/api/v1/alerts?team=T1").await["alerts"].as_array().unwrap().iter().all(|a| a["queue"].is_null())
    );

    let m = d.metrics().await;
    for (series, v) in [
        ("floorwatch_queue_calls_waiting{queue=\"support\"}", 0.0),
        ("floorwatch_queue_calls_total{queue=\"support\",outcome=\"answered\"}", 2.0),
        ("floorwatch_queue_calls_total{queue=\"support\",outcome=\"abandoned\"}", 1.0),
        ("floorwatch_queue_wait_seconds_bucket{queue=\"support\",outcome=\"answered\",le=\"10\"}", 1.0),
        ("floorwatch_queue_wait_seconds_bucket{queue=\"support\",outcome=\"abandoned\",le=\"5\"}", 1.0),
        ("floorwatch_queue_wait_seconds_bucket{queue=\"support\",outcome=\"answered\",le=\"+Inf\"}", 2.0),
        ("floorwatch_queue_wait_seconds_sum{queue=\"support\",outcome=\"answered\"}", 88.0),
        ("floorwatch_queue_service_level_ratio{queue=\"support\",window=\"15m\"}", 0.5),
        ("floorwatch_queue_alerts_active{kind=\"service_level_low\",queue=\"support\"}", 1.0),
        ("floorwatch_queue_alerts_fired_total{kind=\"long_wait\",queue=\"support\"}", 1.0),
        ("floorwatch_events_total{source=\"http\",outcome=\"invalid\",reason=\"missing_field\"}", 1.0),
    ] {
        assert_eq!(common::metric(&m, series), Some(v), "{series}");
    }
    assert_eq!(common::metric(&m, "floorwatch_queue_longest_wait_seconds{queue=\"support\"}"), None);

    // long_wait fired and resolved, service_level_low fired: 3 webhook posts; Slack groups
    // messages to one channel into digests.
    let reqs = rx.wait_for(4, Duration::from_secs(10)).await;
    let hook: Vec<serde_json::Value> = reqs.iter().filter(|r| r.path == "/hook").map(|r| r.json()).collect();
    let told: Vec<(&str, &str)> =
        hook.iter().map(|b| (b["id"].as_str().unwrap(), b["state"].as_str().unwrap())).collect();
    assert!(told.contains(&("long_wait:queue:support:1795424470000", "firing")), "{told:?}");
    assert!(told.contains(&("long_wait:queue:support:1795424470000", "resolved")), "{told:?}");
    assert!(told.contains(&("service_level_low:queue:support:1795424520000", "firing")), "{told:?}");
    let lw = hook.iter().find(|b| b["kind"] == "long_wait").unwrap();
    assert_eq!(lw["message"], "support: caller waiting 1:00");
    assert_eq!(lw["queue"], "support");
    assert_eq!(lw["team"], Value::Null);
    let slack: String =
        reqs.iter().filter(|r| r.path == "/slack").map(|r| String::from_utf8_lossy(&r.body).into_owned()).collect();
    assert!(slack.contains("support: caller waiting 1:00"), "{slack}");
    d.stop().await;
}

/// Late delivery (SPEC §2.5): the worked example's events in batches with some delivered
/// late (wall clock, views in between) give the same figures and alerts as in order.
#[test]
fn late_batches_give_the_same_queue_figures_and_alerts() {
    use floorwatch::engine::{Engine, Source, ViewOpts};
    use floorwatch::event::{Aliases, decode_str};
    let settings = |clock| {
        let mut s = FileConfig::parse(CONFIG, "test").unwrap().settings().unwrap();
        s.clock = clock;
        s
    };
    let lines: Vec<&str> = EVENTS.lines().collect();
    let decode = |l: &str| decode_str(l, &Aliases::default());
    let now = floorwatch::time::parse_instant("2026-11-23T09:10:00Z").unwrap();
    let figures = |e: &mut Engine| {
        let v = e.view(now, &ViewOpts { alerts: true, ..Default::default() });
        let doc = serde_json::to_value(floorwatch::snapshot::Snapshot(&v)).unwrap();
        (doc["queues"].clone(), doc["alerts"].clone())
    };
    // On time: each event at its own ts.
    let mut on_time = Engine::new(settings(floorwatch::settings::ClockMode::Wall));
    for l in &lines {
        let ts = decode(l).ok().and_then(|e| e.ts()).unwrap_or(0);
        on_time.apply_batch_refused(ts, Source::Tcp, decode(l).ok(), &[]);
        on_time.view(ts, &ViewOpts { alerts: true, ..Default::default() });
    }
    let expected = figures(&mut on_time);
    assert_eq!(expected.1.as_array().unwrap().len(), 2, "{}", expected.1);
    // c3's answer (and A2's talking) held back 4 minutes: long_wait is committed as firing
    // (c3 still waiting at 09:01:10 + lag) and must resolve at 09:01:30 when they arrive.
    for hold_back in [vec![11usize, 12], vec![4usize, 6], vec![2, 3, 4, 5, 6, 7]] {
        let mut late = Engine::new(settings(floorwatch::settings::ClockMode::Wall));
        let mut held = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            let ts = decode(l).ok().and_then(|e| e.ts()).unwrap_or(0);
            if hold_back.contains(&i) {
                held.push(*l);
                continue;
            }
            late.apply_batch_refused(ts, Source::Tcp, decode(l).ok(), &[]);
            late.view(ts, &ViewOpts { alerts: true, ..Default::default() });
        }
        let t = floorwatch::time::parse_instant("2026-11-23T09:05:00Z").unwrap();
        late.advance(t);
        late.apply_batch_refused(t, Source::Tcp, held.iter().filter_map(|l| decode(l).ok()), &[]);
        assert_eq!(figures(&mut late), expected, "held back {hold_back:?}");
    }
}

/// The journal's state snapshot carries the queues: restored mid-example (c3 waiting, c1
/// and c2 ended), the rest of the events give the same figures and alerts (c3's long_wait,
/// the service level streak) as without the restart.
#[test]
fn a_restored_engine_keeps_its_queues() {
    use floorwatch::engine::{Engine, Source, ViewOpts};
    use floorwatch::event::{Aliases, decode_str};
    let settings = || {
        let mut s = FileConfig::parse(CONFIG, "test").unwrap().settings().unwrap();
        s.clock = floorwatch::settings::ClockMode::Event;
        s
    };
    let lines: Vec<&str> = EVENTS.lines().collect();
    let feed = |e: &mut Engine, ls: &[&str]| {
        for l in ls {
            match decode_str(l, &Aliases::default()) {
                Ok(ev) => {
                    e.apply_batch(0, Source::Replay, [ev], &[]);
                }
                Err(err) => {
                    e.apply_batch(0, Source::Replay, Vec::<floorwatch::event::Input>::new(), &[err.refusal()]);
                }
            }
        }
    };
    let doc = |e: &mut Engine| {
        let now = e.max_ts().unwrap();
        let v = e.view(now, &ViewOpts { alerts: true, ..Default::default() });
        serde_json::to_value(floorwatch::snapshot::Snapshot(&v)).unwrap()
    };
    let mut straight = Engine::new(settings());
    feed(&mut straight, &lines);
    let want = doc(&mut straight);
    let mut first = Engine::new(settings());
    feed(&mut first, &lines[..11]);
    assert_eq!(doc(&mut first)["queues"][0]["current"]["waiting"], 1);
    let mut restored = Engine::restore(settings(), &first.save()).unwrap();
    feed(&mut restored, &lines[11..]);
    let got = doc(&mut restored);
    assert_eq!(got["queues"], want["queues"]);
    assert_eq!(got["alerts"], want["alerts"]);
    assert_eq!(got["ingest"], want["ingest"]);
}
