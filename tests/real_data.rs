//! A real month of a bank call centre (tests/data, see anonymous-bank-README.md), replayed
//! and compared with a brute-force model of the spec written independently here.

mod common;

use std::collections::HashMap;

const TRACE: &str = include_str!("data/anonymous-bank-february.ndjson");
const CFG: &str = "[floor]\ntimezone = \"Asia/Jerusalem\"\n";

struct Ev {
    ts: i64,
    agent: String,
    state: String,
}

fn parse(trace: &str) -> Vec<Ev> {
    trace
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let ts = floorwatch::time::parse_rfc3339(v["ts"].as_str().unwrap()).unwrap();
            Ev { ts, agent: v["agent"].as_str().unwrap().into(), state: v["state"].as_str().unwrap().into() }
        })
        .collect()
}

#[test]
fn a_month_of_real_calls_equals_a_brute_force_model() {
    let snap = common::replay(TRACE, CFG);
    let events = parse(TRACE);
    assert_eq!(snap["ingest"]["applied"].as_u64(), Some(events.len() as u64));
    assert_eq!(snap["ingest"]["invalid"], 0);
    let now = events.iter().map(|e| e.ts).max().unwrap();
    assert_eq!(snap["now"], floorwatch::time::fmt_ms(now));

    // Brute force per agent: walk its events, clip each span to the window, and count
    // contacts (talking -> anything completes one here: the data has no ACW).
    let mut by_agent: HashMap<&str, Vec<&Ev>> = HashMap::new();
    for e in &events {
        by_agent.entry(&e.agent).or_default().push(e);
    }
    for window in ["15m", "60m"] {
        let len = if window == "15m" { 900_000 } else { 3_600_000 };
        let from = now - len;
        let (mut talking, mut logged, mut contacts, mut handle) = (0i64, 0i64, 0u64, 0i64);
        for evs in by_agent.values() {
            for (i, e) in evs.iter().enumerate() {
                let end = evs.get(i + 1).map(|n| n.ts).unwrap_or(now);
                let (a, b) = (e.ts.max(from), end.min(now));
                if b > a && e.state != "offline" {
                    logged += b - a;
                    if e.state == "talking" {
                        talking += b - a;
                    }
                }
                if e.state == "talking"
                    && let Some(n) = evs.get(i + 1)
                    && n.ts >= from
                    && n.ts <= now
                {
                    contacts += 1;
                    handle += n.ts - e.ts;
                }
            }
        }
        let w = &snap["teams"][0]["windows"][window];
        assert_eq!(w["talking_s"].as_f64(), Some(talking as f64 / 1000.0), "{window} talking");
        assert_eq!(w["logged_in_s"].as_f64(), Some(logged as f64 / 1000.0), "{window} logged in");
        assert_eq!(w["contacts"].as_u64(), Some(contacts), "{window} contacts");
        if contacts > 0 {
            let aht = w["aht_s"].as_f64().unwrap();
            assert!((aht - handle as f64 / 1000.0 / contacts as f64).abs() < 1e-9, "{window} aht");
        }
    }

    // `today` in Asia/Jerusalem: from local midnight of the last event's day.
    let midnight = {
        let z = jiff::Timestamp::from_millisecond(now)
            .unwrap()
            .to_zoned(jiff::tz::TimeZone::get("Asia/Jerusalem").unwrap());
        z.start_of_day().unwrap().timestamp().as_millisecond()
    };
    let mut talking = 0i64;
    for evs in by_agent.values() {
        for (i, e) in evs.iter().enumerate() {
            let end = evs.get(i + 1).map(|n| n.ts).unwrap_or(now);
            let (a, b) = (e.ts.max(midnight), end.min(now));
            if b > a && e.state == "talking" {
                talking += b - a;
            }
        }
    }
    assert_eq!(snap["floor"]["windows"]["today"]["talking_s"].as_f64(), Some(talking as f64 / 1000.0));
    assert_eq!(snap["agents"].as_array().unwrap().len(), by_agent.len());
}

/// The month makes an AHT control chart (docs/figures.md#aht-control-chart): both charts'
/// points, limits and rules, and every `aht_out_of_control` alert, equal an independent
/// model written from the docs (`common::aht_model`).
#[test]
fn the_month_makes_an_aht_chart_equal_to_a_direct_computation() {
    let snap = common::replay(TRACE, CFG);
    let (limits, broke, alerts) = common::aht_model::check(&snap, TRACE, "Asia/Jerusalem", 15, (5, 20, 45));
    assert!(limits > 32, "points with a full baseline: {limits}");
    assert!(broke > 0 && alerts > 0, "the month breaks some rule: {broke} points, {alerts} alerts");
}

/// With a short history (`history_days = 3`) the model's baselines and rules reach back
/// three days before each point, and the view shows three days: the day chart of eight
/// points never gets a baseline, the quarter-hours' does, on the same month.
#[test]
fn a_short_history_gives_the_chart_of_the_model() {
    let cfg = format!("{CFG}[aht_chart]\nbaseline_points = 8\nhistory_days = 3\n");
    let snap = common::replay(TRACE, &cfg);
    let (limits, broke, alerts) = common::aht_model::check(&snap, TRACE, "Asia/Jerusalem", 15, (5, 8, 3));
    assert!(limits >= 32 && broke > 0 && alerts > 0, "limits {limits}, broke {broke}, alerts {alerts}");
    let team = &snap["teams"].as_array().unwrap()[0]["aht_chart"];
    assert!(team["day"].as_array().unwrap().iter().all(|p| p["cl_s"].is_null()), "{}", team["day"]);
}
