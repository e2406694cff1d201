//! Queue figures and both queue alerts against an independent brute-force computation
//! (SPEC §8.2, §8.3), for random floors of calls in two queues (surges, short abandons,
//! transfers, calls still waiting), in both service-level modes; delivered in time order
//! (`replay`, event clock) and late, in random batches with views in between (wall clock):
//! both must equal the model at every checked `now`.

use std::collections::BTreeMap;

use floorwatch::engine::{Engine, Source, ViewOpts};
use floorwatch::event::{Aliases, decode_str};
use floorwatch::settings::{ClockMode, Settings};
use floorwatch::time::Ms;
use proptest::prelude::*;
use serde_json::{Value, json};

const T0: Ms = 1_795_424_400_000; // 2026-11-23T09:00:00Z
const MIN: Ms = 60_000;
const LIMIT: Ms = 60_000;
const SL: Ms = 10_000;
const SHORT: Ms = 5_000;
const TARGET: f64 = 0.9;
const MIN_CALLS: u64 = 2;
const NEED: u32 = 2;

/// One wait: queue, queued at (ms after T0), wait, how it ends (0 answered, 1 abandoned,
/// 2 left, 3 still waiting at the end), and whether the same call id waits again after.
#[derive(Clone, Debug)]
struct Wait {
    queue: usize,
    at: Ms,
    wait: Ms,
    end: u8,
}

fn settings(clock: ClockMode, answered_only: bool) -> Settings {
    let toml = format!(
        "[queues]\nsl_mode = \"{}\"\n[alerts.service_level_low]\nmin_calls = {MIN_CALLS}\nconsecutive = {NEED}\n",
        if answered_only { "answered_only" } else { "with_abandons" }
    );
    let mut s = floorwatch::config::FileConfig::parse(&toml, "test").unwrap().settings().unwrap();
    s.clock = clock;
    s
}

/// The events of the waits (call `c<i>`; a transfer reuses the previous wait's id).
fn events(waits: &[Wait], transfers: &[bool]) -> Vec<(Ms, usize, String)> {
    let mut out = Vec::new();
    let mut id = 0;
    let mut last_end: BTreeMap<usize, Ms> = BTreeMap::new();
    for (i, w) in waits.iter().enumerate() {
        // A transfer: the previous call, ended, queued again at or after its end.
        let reuse = i > 0 && transfers[i] && waits[i - 1].end != 3 && last_end.get(&id).is_some_and(|e| *e <= w.at);
        if !reuse {
            id = i;
        }
        let call = format!("c{id}");
        let q = ["support", "sales"][w.queue];
        let t = T0 + w.at;
        out.push((t, id, json!({"ts": t, "call": call, "queue": q, "event": "queued"}).to_string()));
        if w.end < 3 {
            let word = ["answered", "abandoned", "left"][w.end as usize];
            let e = t + w.wait;
            out.push((e, id, json!({"ts": e, "call": call, "event": word}).to_string()));
            last_end.insert(id, e);
        }
    }
    out
}

/// The model: per queue at `now`, with the events stamped up to `cut` delivered, the
/// snapshot's queue entry and the queue alerts (id, state, started, fired, resolved, value).
fn model(waits: &[Wait], cut: Ms, now: Ms, answered_only: bool) -> (Value, Vec<Told>) {
    let mut queues = Vec::new();
    let mut alerts = Vec::new();
    for (qi, qname) in ["sales", "support"].iter().enumerate() {
        let qi = if qi == 0 { 1 } else { 0 };
        let mine: Vec<&Wait> = waits.iter().filter(|w| w.queue == qi && T0 + w.at <= cut).collect();
        if mine.is_empty() {
            continue;
        }
        // (queued, end or None, ending)
        let calls: Vec<(Ms, Option<Ms>, u8)> = mine
            .iter()
            .map(|w| {
                let q = T0 + w.at;
                let end = (w.end < 3 && q + w.wait <= cut).then_some(q + w.wait);
                (q, end, w.end)
            })
            .collect();
        let sums = |from: Ms, to: Ms| {
            let (mut a, mut ab, mut l, mut sh, mut isl, mut wsum) = (0u64, 0u64, 0u64, 0u64, 0u64, 0i64);
            for &(q, e, k) in &calls {
                let Some(e) = e else { continue };
                if e < from || e > to {
                    continue;
                }
                match k {
                    0 => {
                        a += 1;
                        isl += (e - q <= SL) as u64;
                        wsum += e - q;
                    }
                    1 => {
                        ab += 1;
                        sh += (e - q < SHORT) as u64;
                    }
                    _ => l += 1,
                }
            }
            (a, ab, l, sh, isl, wsum)
        };
        let level = |(a, ab, _l, sh, isl, _w): (u64, u64, u64, u64, u64, i64)| {
            let den = if answered_only { a } else { a + ab - sh };
            (den > 0).then(|| isl as f64 / den as f64)
        };
        let waiting: Vec<Ms> = calls.iter().filter(|c| c.1.is_none()).map(|c| c.0).collect();
        let mut windows = serde_json::Map::new();
        for (name, from) in [("15m", now - 15 * MIN), ("60m", now - 60 * MIN), ("today", T0 - 9 * 3_600_000)] {
            let s = sums(from, now);
            let (a, ab, l, sh, isl, wsum) = s;
            let judged = a + ab - sh;
            windows.insert(
                name.into(),
                json!({"offered": a + ab + l, "answered": a, "abandoned": ab, "left": l, "short_abandoned": sh,
                       "answered_in_sl": isl, "service_level": level(s),
                       "abandon_rate": (judged > 0).then(|| (ab - sh) as f64 / judged as f64),
                       "asa_s": (a > 0).then(|| wsum as f64 / 1000.0 / a as f64)}),
            );
        }
        queues.push(json!({"queue": qname, "current": {"waiting": waiting.len(),
            "longest_wait_s": waiting.iter().min().map(|q| (now - q) as f64 / 1000.0)}, "windows": windows}));
        // long_wait: the union of [queued + limit, end), merged when touching.
        let mut iv: Vec<(Ms, Ms)> =
            calls.iter().map(|&(q, e, _)| (q + LIMIT, e.unwrap_or(Ms::MAX))).filter(|(a, b)| b > a).collect();
        iv.sort();
        let mut merged: Vec<(Ms, Ms)> = Vec::new();
        for (a, b) in iv {
            match merged.last_mut() {
                Some(m) if a <= m.1 => m.1 = m.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        for (a, b) in merged.into_iter().filter(|(a, _)| *a <= now) {
            let resolved = (b <= now).then_some(b);
            let state = if resolved.is_some() { "resolved" } else { "firing" };
            alerts.push((format!("long_wait:queue:{qname}:{a}"), state.into(), a, a, resolved, 60.0));
        }
        // service_level_low: whole minutes up to now, streak of NEED.
        let (mut active, mut count, mut first) = (false, 0, 0);
        let mut cur: Option<(Ms, Ms, f64)> = None;
        let mut m = T0 - 20 * MIN;
        while m <= now {
            let s = sums(m - 15 * MIN, m);
            let (a, ab, _, sh, _, _) = s;
            let cond = a + ab - sh >= MIN_CALLS && level(s).is_some_and(|x| x < TARGET);
            if cond != active {
                if count == 0 {
                    first = m;
                }
                count += 1;
                if count >= NEED {
                    count = 0;
                    active = cond;
                    if cond {
                        cur = Some((first, m, level(s).unwrap()));
                    } else if let Some((st, f, v)) = cur.take() {
                        alerts.push((
                            format!("service_level_low:queue:{qname}:{st}"),
                            "resolved".into(),
                            st,
                            f,
                            Some(m),
                            v,
                        ));
                    }
                }
            } else {
                count = 0;
            }
            m += MIN;
        }
        if let Some((st, f, v)) = cur {
            alerts.push((format!("service_level_low:queue:{qname}:{st}"), "firing".into(), st, f, None, v));
        }
    }
    alerts.sort_by(|a, b| (a.3, &a.0).cmp(&(b.3, &b.0)));
    queues.sort_by(|a, b| a["queue"].as_str().cmp(&b["queue"].as_str()));
    (Value::Array(queues), alerts)
}

/// An alert as (id, state, started_at, fired_at, resolved_at, value).
type Told = (String, String, Ms, Ms, Option<Ms>, f64);

fn of_snapshot(s: &Value) -> (Value, Vec<Told>) {
    let ms = |v: &Value| floorwatch::time::parse_rfc3339(v.as_str().unwrap()).unwrap();
    let mut alerts: Vec<_> = s["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_string(),
                a["state"].as_str().unwrap().to_string(),
                ms(&a["started_at"]),
                ms(&a["fired_at"]),
                (!a["resolved_at"].is_null()).then(|| ms(&a["resolved_at"])),
                a["value"].as_f64().unwrap(),
            )
        })
        .collect();
    alerts.sort_by(|a, b| (a.3, &a.0).cmp(&(b.3, &b.0)));
    (s["queues"].clone(), alerts)
}

fn snapshot(e: &mut Engine, now: Ms) -> Value {
    let v = e.view(now, &ViewOpts { alerts: true, ..Default::default() });
    serde_json::to_value(floorwatch::snapshot::Snapshot(&v)).unwrap()
}

fn waits() -> impl Strategy<Value = (Vec<Wait>, Vec<bool>)> {
    // A surge: arrivals packed into a few minutes, waits from a second to two minutes.
    let wait = (0..2usize, 0..30 * MIN, prop_oneof![0..SHORT + 1, SHORT..SL + 2, SL..3 * LIMIT], 0..4u8);
    (prop::collection::vec(wait, 1..40), prop::collection::vec(any::<bool>(), 40)).prop_map(|(mut v, t)| {
        v.sort_by_key(|w| w.1);
        (v.into_iter().map(|(queue, at, wait, end)| Wait { queue, at, wait, end }).collect(), t)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn queue_figures_and_alerts_equal_the_model((waits, transfers) in waits(), answered_only in any::<bool>(),
                                               late_seed in any::<u64>(), ends in 1..4i64) {
        let evs = events(&waits, &transfers);
        // Transfers make the waits' ids collide; the model needs each wait separate, which
        // holds: a reused id only waits again after its previous wait ended.
        let end = T0 + ends * 15 * MIN;
        // 1. In time order, event clock, each call's events in order.
        let mut sorted: Vec<&(Ms, usize, String)> = evs.iter().filter(|e| e.0 <= end).collect();
        sorted.sort_by_key(|e| e.0);
        let mut replay = Engine::new(settings(ClockMode::Event, answered_only));
        for e in &sorted {
            replay.apply_batch(0, Source::Replay, [decode_str(&e.2, &Aliases::default()).unwrap()], &[]);
        }
        let waits_now: Vec<Wait> = waits.clone();
        let got = of_snapshot(&snapshot(&mut replay, end));
        let want = model(&waits_now, end, end, answered_only);
        prop_assert_eq!(&got.0, &want.0, "figures at the end");
        prop_assert_eq!(&got.1, &want.1, "alerts at the end");

        // 2. Wall clock, late: each call's events delayed by up to 2 minutes (its order
        // kept), delivered in random batches with views in between.
        let mut x = late_seed | 1;
        let mut rnd = |n: u64| { x ^= x << 13; x ^= x >> 7; x ^= x << 17; x % n };
        let delay: Vec<Ms> = (0..waits.len() + 1).map(|_| rnd(120_000) as Ms).collect();
        let mut arrivals: Vec<(Ms, &str)> = sorted.iter().map(|e| (e.0 + delay[e.1], e.2.as_str())).collect();
        arrivals.sort_by_key(|a| a.0);
        let mut live = Engine::new(settings(ClockMode::Wall, answered_only));
        let mut i = 0;
        while i < arrivals.len() {
            let n = 1 + rnd(5) as usize;
            let batch: Vec<_> = arrivals[i..(i + n).min(arrivals.len())].to_vec();
            let at = batch.last().unwrap().0;
            live.apply_batch(at, Source::Tcp, batch.iter().map(|b| decode_str(b.1, &Aliases::default()).unwrap()), &[]);
            if rnd(3) == 0 {
                snapshot(&mut live, at);
            }
            i += n;
        }
        let wall_end = arrivals.last().map_or(end, |a| a.0.max(end));
        let got = of_snapshot(&snapshot(&mut live, wall_end));
        let want = model(&waits_now, end, wall_end, answered_only);
        prop_assert_eq!(&got.0, &want.0, "figures, late delivery");
        prop_assert_eq!(&got.1, &want.1, "alerts, late delivery");
    }
}
