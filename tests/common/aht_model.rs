//! An independent model of the AHT control chart (docs/figures.md#aht-control-chart),
//! written from the docs in floating point, and a check of a snapshot against it: every
//! team's shown points (n, mean, limits, rules) of both charts and every
//! `aht_out_of_control` alert's fire and resolve.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

const RULES: [&str; 5] =
    ["beyond_3_sigma", "2_of_3_beyond_2_sigma", "4_of_5_beyond_1_sigma", "9_on_one_side", "6_trending"];

/// Completed contacts of NDJSON `events` (each agent's events in order; duplicates and
/// late ones absent): (completion instant, team in force then, handle time in ms).
pub fn contacts(events: &str) -> Vec<(i64, String, i64)> {
    struct A {
        state: String,
        team: String,
        start: Option<i64>,
    }
    let mut agents: HashMap<String, A> = HashMap::new();
    let mut out = Vec::new();
    for line in events.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap();
        let ts = match &v["ts"] {
            Value::Number(n) => n.as_i64().unwrap(),
            Value::String(s) => floorwatch::time::parse_rfc3339(s).unwrap(),
            other => panic!("ts {other}"),
        };
        let state = v["state"].as_str().unwrap().to_string();
        let a = agents.entry(v["agent"].as_str().unwrap().to_string()).or_insert(A {
            state: String::new(),
            team: "unassigned".into(),
            start: None,
        });
        if let Some(t) = v["team"].as_str() {
            a.team = t.to_string();
        }
        if state == a.state {
            continue;
        }
        // Talking -> ACW continues the contact; leaving talking otherwise, or leaving the
        // ACW that followed it, completes it (for the team in force now).
        let completes = a.start.is_some() && !(a.state == "talking" && state == "acw");
        if completes {
            out.push((ts, a.team.clone(), ts - a.start.take().unwrap()));
        }
        if state == "talking" {
            a.start = Some(ts);
        }
        a.state = state;
    }
    out
}

/// (start, n, mean_s, Some((cl, sigma)) with a full baseline and sigma > 0, rules)
pub type ModelPoint = (i64, usize, f64, Option<(f64, f64)>, Vec<&'static str>);

pub struct Chart {
    pub points: Vec<ModelPoint>,
    /// (fired_at, resolved_at)
    pub alerts: Vec<(i64, Option<i64>)>,
}

/// The chart of one team's contacts, of `interval_ms` points (`None`: days), as of `now`:
/// each point sees the plotted points that ended at most `history_ms` before its end.
pub fn chart(
    contacts: &[(i64, i64)],
    tz: &jiff::tz::TimeZone,
    interval_ms: Option<i64>,
    now: i64,
    (min_contacts, baseline, history_ms): (usize, usize, i64),
) -> Chart {
    let day_of = |t: i64| {
        let z = jiff::Timestamp::from_millisecond(t).unwrap().to_zoned(tz.clone());
        let start = z.start_of_day().unwrap();
        let next = start.tomorrow().unwrap().start_of_day().unwrap();
        (start.timestamp().as_millisecond(), next.timestamp().as_millisecond())
    };
    let mut groups: BTreeMap<(i64, i64), Vec<i64>> = BTreeMap::new();
    for &(t, h) in contacts {
        let (mid, next) = day_of(t);
        let key = match interval_ms {
            Some(q) => {
                let s = mid + (t - mid) / q * q;
                (s, (s + q).min(next))
            }
            None => (mid, next),
        };
        groups.entry(key).or_default().push(h);
    }
    let plotted: Vec<(i64, i64, &Vec<i64>)> = groups
        .iter()
        .filter(|((_, e), xs)| *e <= now && xs.len() >= min_contacts)
        .map(|(&(s, e), xs)| (s, e, xs))
        .collect();
    let means: Vec<f64> = plotted.iter().map(|p| p.2.iter().sum::<i64>() as f64 / p.2.len() as f64 / 1000.0).collect();
    let mut zs: Vec<Option<f64>> = Vec::new();
    let mut out = Chart { points: Vec::new(), alerts: Vec::new() };
    for (k, &(start, end, xs)) in plotted.iter().enumerate() {
        let n = xs.len() as f64;
        // The first point this one sees.
        let lo = plotted.iter().position(|p| p.1 >= end - history_ms).unwrap_or(k);
        let mut lim = None;
        if k - lo >= baseline {
            let base: Vec<f64> =
                plotted[k - baseline..k].iter().flat_map(|p| p.2.iter().map(|&x| x as f64 / 1000.0)).collect();
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
            let last = |m: usize| &zs[(k + 1).saturating_sub(m).max(lo)..=k];
            let count = |m: usize, f: &dyn Fn(f64) -> bool| last(m).iter().filter(|z| z.is_some_and(f)).count();
            let all9 = |f: &dyn Fn(f64) -> bool| k - lo >= 8 && last(9).iter().all(|z| z.is_some_and(f));
            let rising = k - lo >= 5 && means[k - 5..=k].windows(2).all(|w| w[1] > w[0]);
            let falling = k - lo >= 5 && means[k - 5..=k].windows(2).all(|w| w[1] < w[0]);
            let r = [
                z.abs() > 3.0,
                (z > 2.0 && count(3, &|z| z > 2.0) >= 2) || (z < -2.0 && count(3, &|z| z < -2.0) >= 2),
                (z > 1.0 && count(5, &|z| z > 1.0) >= 4) || (z < -1.0 && count(5, &|z| z < -1.0) >= 4),
                all9(&|z| z > 0.0) || all9(&|z| z < 0.0),
                rising || falling,
            ];
            rules = RULES.iter().zip(r).filter(|(_, b)| *b).map(|(n, _)| *n).collect();
        }
        match out.alerts.last_mut() {
            Some((_, open @ None)) if rules.is_empty() => *open = Some(end),
            Some((_, None)) => {}
            _ if !rules.is_empty() => out.alerts.push((end, None)),
            _ => {}
        }
        out.points.push((start, xs.len(), means[k], lim, rules));
    }
    // A view shows the points of the last `history_ms`.
    let seen = plotted.iter().position(|p| p.1 >= now - history_ms).unwrap_or(plotted.len());
    out.points.drain(..seen);
    out
}

/// Checks every team of `snap` (a snapshot of the replay of `events`) against the model;
/// returns (points with limits compared, points that broke a rule, alerts compared).
pub fn check(
    snap: &Value,
    events: &str,
    tz: &str,
    interval_mins: i64,
    (min_contacts, baseline, history_days): (usize, usize, i64),
) -> (usize, usize, usize) {
    let tz = jiff::tz::TimeZone::get(tz).unwrap();
    let now = floorwatch::time::parse_rfc3339(snap["now"].as_str().unwrap()).unwrap();
    let mut by_team: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    for (t, team, h) in contacts(events) {
        if t <= now {
            by_team.entry(team).or_default().push((t, h));
        }
    }
    let (mut limits, mut broke, mut alerts) = (0, 0, 0);
    let name = format!("{interval_mins}m");
    for team in snap["teams"].as_array().unwrap() {
        let id = team["team"].as_str().unwrap();
        let cs = by_team.get(id).cloned().unwrap_or_default();
        for (kind, q) in [(name.as_str(), Some(interval_mins * 60_000)), ("day", None)] {
            let want = chart(&cs, &tz, q, now, (min_contacts, baseline, history_days * 86_400_000));
            let got = team["aht_chart"][kind].as_array().unwrap_or_else(|| panic!("{id} {kind}: {team}"));
            assert_eq!(got.len(), want.points.len().min(32), "{id} {kind}: points shown");
            let shown = &want.points[want.points.len() - got.len()..];
            for (g, (start, n, mean, lim, rules)) in got.iter().zip(shown) {
                let at = format!("{id} {kind} {}", g["start"]);
                assert_eq!(g["start"], floorwatch::time::fmt_ms(*start), "{at}");
                assert_eq!(g["n"].as_u64(), Some(*n as u64), "{at}");
                assert!((g["mean_s"].as_f64().unwrap() - mean).abs() < 1e-9, "{at}: mean {} vs {mean}", g["mean_s"]);
                match lim {
                    None => assert_eq!(g["cl_s"], Value::Null, "{at}"),
                    Some((cl, sigma)) => {
                        let half = 3.0 * sigma / (*n as f64).sqrt();
                        assert!((g["cl_s"].as_f64().unwrap() - cl).abs() < 1e-6, "{at} cl");
                        assert!((g["ucl_s"].as_f64().unwrap() - (cl + half)).abs() < 1e-6, "{at} ucl");
                        assert!((g["lcl_s"].as_f64().unwrap() - (cl - half).max(0.0)).abs() < 1e-6, "{at} lcl");
                        limits += 1;
                    }
                }
                assert_eq!(g["rules"], json!(rules), "{at}");
                broke += usize::from(!rules.is_empty());
            }
            let t = |v: &Value| v.as_str().map(|s| floorwatch::time::parse_rfc3339(s).unwrap());
            let got_alerts: Vec<(i64, Option<i64>)> = snap["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| a["kind"] == "aht_out_of_control" && a["team"] == id && a["interval"] == kind)
                .map(|a| (t(&a["fired_at"]).unwrap(), t(&a["resolved_at"])))
                .collect();
            assert_eq!(got_alerts, want.alerts, "{id} {kind}: alerts");
            alerts += got_alerts.len();
        }
    }
    (limits, broke, alerts)
}
