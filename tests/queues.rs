//! Queues and service level (SPEC §8): the worked example of §8.5 through `replay`
//! exactly as a user runs it, and the same events as late batches.

use floorwatch::config::FileConfig;
use serde_json::{Value, json};

const EVENTS: &str = r#"{"ts":"2026-11-23T08:59:00Z","agent":"A1","state":"idle","team":"T1"}
{"ts":"2026-11-23T08:59:00Z","agent":"A2","state":"idle","team":"T1"}
{"ts":"2026-11-23T09:00:00Z","call":"c1","queue":"support","event":"queued"}
{"ts":"2026-11-23T09:00:05Z","call":"c2","queue":"support","event":"queued"}
{"ts":"2026-11-23T09:00:08Z","call":"c1","event":"answered","agent":"A1"}
{"ts":"2026-11-23T09:00:08Z","agent":"A1","state":"talking"}
{"ts":"2026-11-23T09:00:08.500Z","call":"c2","queue":"support","event":"abandoned"}
{"ts":"2026-11-23T09:00:10Z","call":"c3","queue":"support","event":"queued"}
{"ts":"2026-11-23T09:00:10Z","call":"c3","queue":"support","event":"queued"}
{"ts":"2026-11-23T09:00:09Z","call":"c3","event":"left"}
{"ts":"2026-11-23T09:00:02Z","call":"c2","event":"abandoned"}
{"ts":"2026-11-23T09:01:30Z","call":"c3","event":"answered","agent":"A2"}
{"ts":"2026-11-23T09:01:30Z","agent":"A2","state":"talking"}
{"ts":"2026-11-23T09:03:00Z","agent":"A1","state":"acw"}
{"ts":"2026-11-23T09:03:30Z","agent":"A1","state":"idle"}
{"ts":"2026-11-23T09:05:00Z","call":"c4","event":"answered"}
{"ts":"2026-11-23T09:05:00Z","call":"c9","event":"queued"}
"#;

const CONFIG: &str = "[alerts.service_level_low]\nmin_calls = 2\nconsecutive = 2\n";

fn replay(config: &str, events: &str, now: Option<&str>) -> Value {
    let settings = FileConfig::parse(config, "test").unwrap().settings().unwrap();
    let mut out = Vec::new();
    let now = now.map(|n| floorwatch::time::parse_instant(n).unwrap());
    floorwatch::replay::run(settings, events.as_bytes(), now, 65536, &mut out).unwrap();
    serde_json::from_slice(&out).unwrap()
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
