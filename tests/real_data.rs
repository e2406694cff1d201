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
/// points, limits and rules, and every `aht_out_of_control` alert, equal a model written
/// here from the docs in floating point: contacts by the local interval (Asia/Jerusalem) of
/// their completion, the previous 20 plotted points as baseline, the five rules.
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
    // Local midnight of an instant, and the next one.
    let day_of = |t: i64| {
        let z = jiff::Timestamp::from_millisecond(t).unwrap().to_zoned(tz.clone());
        let start = z.start_of_day().unwrap();
        let next = start.tomorrow().unwrap().start_of_day().unwrap();
        (start.timestamp().as_millisecond(), next.timestamp().as_millisecond())
    };
    // Per chart: (start, end) of each interval -> handle times (ms) of the contacts
    // completed in it. A contact runs from entering talking (a repeated talking event
    // continues it) to the first event in another state.
    let mut charts: [std::collections::BTreeMap<(i64, i64), Vec<i64>>; 2] = Default::default();
    for evs in by_agent.values() {
        let mut started: Option<i64> = None;
        for e in evs {
            match (e.state == "talking", started) {
                (true, None) => started = Some(e.ts),
                (false, Some(s)) => {
                    let (mid, next) = day_of(e.ts);
                    let q = mid + (e.ts - mid) / 900_000 * 900_000;
                    charts[0].entry((q, (q + 900_000).min(next))).or_default().push(e.ts - s);
                    charts[1].entry((mid, next)).or_default().push(e.ts - s);
                    started = None;
                }
                _ => {}
            }
        }
    }
    let rules_names =
        ["beyond_3_sigma", "2_of_3_beyond_2_sigma", "4_of_5_beyond_1_sigma", "9_on_one_side", "6_trending"];
    let mut limits_checked = 0;
    let mut broke = 0;
    for (chart, kind) in charts.iter().zip(["15m", "day"]) {
        // Closed intervals (ended by now) with at least 5 contacts, in order.
        let plotted: Vec<(i64, i64, &Vec<i64>)> =
            chart.iter().filter(|((_, e), xs)| *e <= now && xs.len() >= 5).map(|(&(s, e), xs)| (s, e, xs)).collect();
        let mean = |xs: &[i64]| xs.iter().sum::<i64>() as f64 / xs.len() as f64 / 1000.0;
        let means: Vec<f64> = plotted.iter().map(|p| mean(p.2)).collect();
        let mut zs: Vec<Option<f64>> = Vec::new();
        let mut want_points = Vec::new();
        let mut want_alerts: Vec<(i64, Option<i64>)> = Vec::new();
        for (k, &(start, end, xs)) in plotted.iter().enumerate() {
            let n = xs.len() as f64;
            let mut lim = None;
            if k >= 20 {
                let base: Vec<f64> =
                    plotted[k - 20..k].iter().flat_map(|p| p.2.iter().map(|&x| x as f64 / 1000.0)).collect();
                let cl = base.iter().sum::<f64>() / base.len() as f64;
                let sigma = (base.iter().map(|x| (x - cl) * (x - cl)).sum::<f64>() / base.len() as f64).sqrt();
                if sigma > 0.0 {
                    lim = Some((cl, sigma));
                }
            }
            let z = lim.map(|(cl, sigma)| (means[k] - cl) / (sigma / n.sqrt()));
            zs.push(z);
            let mut rules = Vec::new();
            if let Some(z) = z {
                let last = |m: usize| &zs[(k + 1).saturating_sub(m)..=k];
                let count = |m: usize, f: &dyn Fn(f64) -> bool| last(m).iter().filter(|z| z.is_some_and(f)).count();
                let all9 = |f: &dyn Fn(f64) -> bool| k >= 8 && last(9).iter().all(|z| z.is_some_and(f));
                let rising = k >= 5 && means[k - 5..=k].windows(2).all(|w| w[1] > w[0]);
                let falling = k >= 5 && means[k - 5..=k].windows(2).all(|w| w[1] < w[0]);
                let r = [
                    z.abs() > 3.0,
                    (z > 2.0 && count(3, &|z| z > 2.0) >= 2) || (z < -2.0 && count(3, &|z| z < -2.0) >= 2),
                    (z > 1.0 && count(5, &|z| z > 1.0) >= 4) || (z < -1.0 && count(5, &|z| z < -1.0) >= 4),
                    all9(&|z| z > 0.0) || all9(&|z| z < 0.0),
                    rising || falling,
                ];
                rules = rules_names.iter().zip(r).filter(|(_, b)| *b).map(|(n, _)| *n).collect();
            }
            match want_alerts.last_mut() {
                Some((_, open @ None)) if rules.is_empty() => *open = Some(end),
                Some((_, None)) => {}
                _ if !rules.is_empty() => want_alerts.push((end, None)),
                _ => {}
            }
            want_points.push((start, xs.len(), means[k], lim, n, rules));
        }
        let got = snap["teams"][0]["aht_chart"][kind].as_array().unwrap();
        assert_eq!(got.len(), want_points.len().min(32), "{kind}");
        let shown = &want_points[want_points.len() - got.len()..];
        for (g, (start, n, mean, lim, nf, rules)) in got.iter().zip(shown) {
            let at = format!("{kind} {}", g["start"]);
            assert_eq!(g["start"], floorwatch::time::fmt_ms(*start), "{at}");
            assert_eq!(g["n"].as_u64(), Some(*n as u64), "{at}");
            assert!((g["mean_s"].as_f64().unwrap() - mean).abs() < 1e-9, "{at}");
            match lim {
                None => assert_eq!(g["cl_s"], serde_json::Value::Null, "{at}"),
                Some((cl, sigma)) => {
                    let half = 3.0 * sigma / nf.sqrt();
                    assert!((g["cl_s"].as_f64().unwrap() - cl).abs() < 1e-6, "{at} cl");
                    assert!((g["ucl_s"].as_f64().unwrap() - (cl + half)).abs() < 1e-6, "{at} ucl");
                    assert!((g["lcl_s"].as_f64().unwrap() - (cl - half).max(0.0)).abs() < 1e-6, "{at} lcl");
                    limits_checked += 1;
                }
            }
            assert_eq!(g["rules"], serde_json::json!(rules), "{at}");
            broke += usize::from(!rules.is_empty());
        }
        let got_alerts: Vec<(i64, Option<i64>)> = snap["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["kind"] == "aht_out_of_control" && a["interval"] == kind)
            .map(|a| {
                let t = |v: &serde_json::Value| v.as_str().map(|s| floorwatch::time::parse_rfc3339(s).unwrap());
                (t(&a["fired_at"]).unwrap(), t(&a["resolved_at"]))
            })
            .collect();
        assert_eq!(got_alerts, want_alerts, "{kind} alerts");
    }
    assert!(limits_checked > 32, "points with a full baseline: {limits_checked}");
    assert!(broke > 0, "the month breaks some rule");
}
