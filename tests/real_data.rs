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

/// The month makes an AHT control chart (docs/figures.md#aht-control-chart): its day points
/// and their limits equal a computation made here from the events (contacts by the local
/// date in Asia/Jerusalem of their completion, the previous 20 plotted days as baseline).
#[test]
fn the_month_makes_an_aht_chart_equal_to_a_direct_computation() {
    let snap = common::replay(TRACE, CFG);
    let events = parse(TRACE);
    let tz = jiff::tz::TimeZone::get("Asia/Jerusalem").unwrap();
    let mut by_agent: HashMap<&str, Vec<&Ev>> = HashMap::new();
    for e in &events {
        by_agent.entry(&e.agent).or_default().push(e);
    }
    let now = events.iter().map(|e| e.ts).max().unwrap();
    // Per local day: handle times (ms) of the contacts completed that day.
    let mut days: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
    for evs in by_agent.values() {
        // A contact runs from entering talking (a repeated talking event continues it) to
        // the first event in another state.
        let mut started: Option<i64> = None;
        for e in evs {
            match (e.state == "talking", started) {
                (true, None) => started = Some(e.ts),
                (false, Some(s)) => {
                    let z = jiff::Timestamp::from_millisecond(e.ts).unwrap().to_zoned(tz.clone());
                    let midnight = z.start_of_day().unwrap().timestamp().as_millisecond();
                    days.entry(midnight).or_default().push(e.ts - s);
                    started = None;
                }
                _ => {}
            }
        }
    }
    // Closed days only (the last one is still open at now), with at least 5 contacts.
    let plotted: Vec<(i64, Vec<i64>)> =
        days.into_iter().filter(|(d, xs)| *d + 86_400_000 <= now && xs.len() >= 5).collect();
    let chart = &snap["teams"][0]["aht_chart"];
    let got = chart["day"].as_array().unwrap();
    assert_eq!(got.len(), plotted.len().min(32), "{}", chart["day"]);
    assert!(got.len() >= 20, "a month of days: {}", got.len());
    let first = plotted.len() - got.len();
    let mut checked = 0;
    for (i, g) in got.iter().enumerate() {
        let k = first + i;
        let (day, xs) = &plotted[k];
        assert_eq!(g["start"], floorwatch::time::fmt_ms(*day));
        assert_eq!(g["n"].as_u64(), Some(xs.len() as u64));
        let mean = xs.iter().sum::<i64>() as f64 / xs.len() as f64 / 1000.0;
        assert!((g["mean_s"].as_f64().unwrap() - mean).abs() < 1e-9, "day {}", g["start"]);
        if k < 20 {
            assert_eq!(g["cl_s"], serde_json::Value::Null);
            continue;
        }
        let base: Vec<f64> =
            plotted[k - 20..k].iter().flat_map(|(_, xs)| xs.iter().map(|&x| x as f64 / 1000.0)).collect();
        let cl = base.iter().sum::<f64>() / base.len() as f64;
        let sigma = (base.iter().map(|x| (x - cl) * (x - cl)).sum::<f64>() / base.len() as f64).sqrt();
        let half = 3.0 * sigma / (xs.len() as f64).sqrt();
        assert!((g["cl_s"].as_f64().unwrap() - cl).abs() < 1e-6, "day {} cl", g["start"]);
        assert!((g["ucl_s"].as_f64().unwrap() - (cl + half)).abs() < 1e-6, "day {} ucl", g["start"]);
        assert!((g["lcl_s"].as_f64().unwrap() - (cl - half).max(0.0)).abs() < 1e-6, "day {} lcl", g["start"]);
        let z = (mean - cl) / (sigma / (xs.len() as f64).sqrt());
        let beyond = g["rules"].as_array().unwrap().iter().any(|r| r == "beyond_3_sigma");
        assert_eq!(beyond, z.abs() > 3.0, "day {} z {z}", g["start"]);
        checked += 1;
    }
    assert!(checked > 0, "some days had a full baseline");
    assert_eq!(chart["15m"].as_array().unwrap().len(), 32, "the last 32 quarter-hours");
}
