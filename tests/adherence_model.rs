//! The roster's resolution of SPEC §9.1 and its figures against a brute-force scan
//! (SPEC §9.2), through the library's public API.

use floorwatch::floor::timeline::Kind;
use floorwatch::roster::{AdhSums, AdherenceSettings, Roster, Row, Stretch, parse};
use floorwatch::time::Ms;
use proptest::prelude::*;

fn roster(rows: &[(Ms, Ms, Option<&str>)]) -> (Roster, u32) {
    let mut r = Roster::new(AdherenceSettings::default());
    let up = parse::Upload {
        agents: vec![(
            "A1".into(),
            rows.iter().map(|&(start, end, act)| Row { start, end, act: act.map(Into::into) }).collect(),
        )],
    };
    let (slots, _) = r.upload(&up, 1000, &mut |t| (t.div_euclid(86_400_000)) as i32).unwrap();
    (r, slots[0].0)
}

fn name(r: &Roster, slot: u32, t: Ms) -> String {
    r.activity_name(r.activity_at(slot, t)).to_string()
}

/// SPEC §9.1's resolution, table-tested: merged shifts, the activity starting last wins,
/// a tie goes to the one listed later, activities count only inside a shift, closed-open.
#[test]
fn the_scheduled_activity() {
    let (r, s) = roster(&[
        (100, 200, None),
        (200, 300, None), // touches: merged
        (150, 250, Some("break")),
        (160, 170, Some("lunch")),
        (180, 190, Some("meeting")),
        (180, 190, Some("coaching")), // same start, listed later
        (280, 400, Some("training")), // runs past the shift's end
    ]);
    let check = |t: Ms, want: &str| assert_eq!(name(&r, s, t), want, "at {t}");
    check(99, "off");
    check(100, "work");
    check(149, "work");
    check(150, "break");
    check(160, "lunch");
    check(170, "break");
    check(185, "coaching");
    check(190, "break");
    check(200, "break");
    check(250, "work");
    check(280, "training");
    check(299, "training");
    check(300, "off");
    check(350, "off");
}

/// Replacing by local day: a second upload for the same agent and day replaces its rows;
/// another day's stay.
#[test]
fn an_upload_replaces_the_days_it_names() {
    let day = 86_400_000;
    let (mut r, s) = roster(&[(100, 200, None), (day + 100, day + 200, None)]);
    let up = parse::Upload { agents: vec![("A1".into(), vec![Row { start: 300, end: 400, act: None }])] };
    r.upload(&up, 1000, &mut |t| (t.div_euclid(day)) as i32).unwrap();
    assert_eq!(name(&r, s, 150), "off");
    assert_eq!(name(&r, s, 350), "work");
    assert_eq!(name(&r, s, day + 150), "work");
}

/// A row belongs to the day its shift starts: a night shift's break after midnight (and a
/// shift split at midnight, which merges) stays when the next day is uploaded; an
/// activity outside every shift of its upload belongs to its own day.
#[test]
fn a_night_shifts_rows_after_midnight_belong_to_its_day() {
    let day = 86_400_000;
    let h = 3_600_000;
    let by_day = |t: Ms| (t.div_euclid(day)) as i32;
    let row = |start: Ms, end: Ms, act: Option<&str>| Row { start, end, act: act.map(Into::into) };
    // Night 1: 22:00 to 06:00, split at midnight as some WFM tools export it, lunch at 02:00.
    let (mut r, s) =
        roster(&[(22 * h, day, None), (day, day + 6 * h, None), (day + 2 * h, day + 2 * h + h / 2, Some("lunch"))]);
    // Night 2, uploaded the next day: names day 1 only.
    let night2 =
        vec![row(day + 22 * h, 2 * day + 6 * h, None), row(2 * day + 2 * h, 2 * day + 2 * h + h / 2, Some("lunch"))];
    r.upload(&parse::Upload { agents: vec![("A1".into(), night2)] }, 1000, &mut |t| by_day(t)).unwrap();
    assert_eq!(name(&r, s, day + 2 * h + 60_000), "lunch", "night 1's lunch after midnight stays");
    assert_eq!(name(&r, s, day + 3 * h), "work", "so does night 1's shift after midnight");
    assert_eq!(name(&r, s, 2 * day + 2 * h + 60_000), "lunch");
    // A day off on day 1 leaves night 1 as it was (its rows are day 0's).
    let off = vec![row(day, 2 * day, Some(parse::DAY_OFF))];
    r.upload(&parse::Upload { agents: vec![("A1".into(), off)] }, 1000, &mut |t| by_day(t)).unwrap();
    assert_eq!(name(&r, s, day + 2 * h + 60_000), "lunch");
    assert_eq!(name(&r, s, day + 23 * h), "off", "night 2 was day 1's");
    // An activity alone in its upload belongs to its own day (day 0 here): day 0 is
    // replaced by it, night 1 with it; the activity counts only inside a shift.
    let alone = vec![row(23 * h, 23 * h + h / 2, Some("meeting"))];
    r.upload(&parse::Upload { agents: vec![("A1".into(), alone)] }, 1000, &mut |t| by_day(t)).unwrap();
    assert_eq!(name(&r, s, 23 * h + 60_000), "off");
    assert_eq!(name(&r, s, day + 2 * h + 60_000), "off");
}

/// Brute force: the activity at `t` straight from SPEC §9.1, and adherence at each ms.
fn naive_activity(rows: &[(Ms, Ms, Option<&str>)], t: Ms) -> String {
    if !rows.iter().any(|&(s, e, a)| a.is_none() && s <= t && t < e) {
        return "off".into();
    }
    let mut best: Option<(Ms, usize, &str)> = None;
    for (i, &(s, e, a)) in rows.iter().enumerate() {
        if let Some(a) = a
            && s <= t
            && t < e
            && best.is_none_or(|b| (s, i) >= (b.0, b.1))
        {
            best = Some((s, i, a));
        }
    }
    best.map_or("work".into(), |b| b.2.to_string())
}

const ACTS: [&str; 4] = ["break", "lunch", "training", "meeting"];
const STATES: [(Kind, Option<&str>); 7] = [
    (Kind::Talking, None),
    (Kind::Acw, None),
    (Kind::Idle, None),
    (Kind::Offline, None),
    (Kind::AuxUnplanned, Some("break")),
    (Kind::AuxUnplanned, Some("restroom")),
    (Kind::AuxPlanned, Some("coaching")),
];

fn naive_allowed(act: &str, kind: Kind, reason: Option<&str>) -> bool {
    match act {
        "off" => kind == Kind::Offline,
        "work" => matches!(kind, Kind::Talking | Kind::Acw | Kind::Idle),
        a => {
            kind == Kind::Offline
                || (matches!(kind, Kind::AuxPlanned | Kind::AuxUnplanned) && reason == Some(a))
                || (matches!(a, "training" | "meeting" | "coaching") && kind == Kind::AuxPlanned)
        }
    }
}

fn rows_strategy() -> impl Strategy<Value = Vec<(Ms, Ms, Option<&'static str>)>> {
    prop::collection::vec((0i64..120, 1i64..40, prop::option::weighted(0.6, prop::sample::select(ACTS.to_vec()))), 1..8)
        .prop_map(|v| v.into_iter().map(|(s, l, a)| (s, s + l, a)).collect())
}

proptest! {
    /// Window sums and stretches equal a millisecond-by-millisecond scan of SPEC §9's rules.
    #[test]
    fn figures_equal_a_brute_force_scan(
        rows in rows_strategy(),
        changes in prop::collection::vec((0i64..170, 0usize..STATES.len()), 0..10),
        from in 0i64..100,
        len in 0i64..100,
    ) {
        let (mut r, s) = roster(&rows);
        let mut changes = changes;
        changes.sort_by_key(|c| c.0);
        for &(t, i) in &changes {
            r.record(s, t, STATES[i].0, STATES[i].1);
        }
        let state_at = |t: Ms| {
            changes.iter().rev().find(|c| c.0 <= t).map_or((Kind::Offline, None), |c| STATES[c.1])
        };
        let to = from + len;
        let mut want = AdhSums::default();
        for t in from..to {
            let act = naive_activity(&rows, t);
            let (k, reason) = state_at(t);
            if act == "off" {
                continue;
            }
            want.scheduled += 1;
            let ok = naive_allowed(&act, k, reason);
            if ok {
                want.in_adherence += 1;
                if k == Kind::AuxUnplanned {
                    want.scheduled_aux += 1;
                }
            }
            if act == "work" {
                want.work += 1;
                if matches!(k, Kind::Talking | Kind::Acw | Kind::Idle) {
                    want.conform += 1;
                }
            }
        }
        prop_assert_eq!(r.sums(s, from, to), want);
        // A view's walk: several windows ending at `to` at once, each as summed alone.
        let starts = [from, from + len / 3, to - 1, to + 5, from - 7];
        let mut many = [AdhSums::default(); 5];
        r.sums_to(s, &starts, to, &mut many);
        for (k, &st) in starts.iter().enumerate() {
            prop_assert_eq!(many[k], r.sums(s, st, to), "start {} of {}", st, to);
        }
        // The stretch in progress at any instant: the last one of `stretches` if open.
        for at in [from, to, 199, 200] {
            let (_, st) = r.stretches(s, at);
            prop_assert_eq!(r.open_stretch(s, at), st.last().filter(|x| x.1.is_none()).map(|x| x.0), "at {}", at);
        }

        // Stretches over everything from the schedule's start.
        let (_, st) = r.stretches(s, 200);
        let mut naive: Vec<Stretch> = Vec::new();
        let mut cur: Option<Ms> = None;
        for t in 0..200 {
            let act = naive_activity(&rows, t);
            let (k, reason) = state_at(t);
            let bad = act != "off" && !naive_allowed(&act, k, reason);
            match (cur, bad) {
                (None, true) => cur = Some(t),
                (Some(s0), false) => { naive.push((s0, Some(t))); cur = None; }
                _ => {}
            }
        }
        if let Some(s0) = cur { naive.push((s0, None)); }
        prop_assert_eq!(st, naive);

        // Scheduled aux (planned, SPEC §9.2): the detectors' shortcut equals the figures'.
        prop_assert_eq!(r.scheduled_aux_ms(s, from, to), want.scheduled_aux);
        for t in 0..200 {
            let act = naive_activity(&rows, t);
            let (k, reason) = state_at(t);
            let yes = act != "off" && k == Kind::AuxUnplanned && naive_allowed(&act, k, reason);
            let next = (t + 1..300).find(|&u| naive_activity(&rows, u) != act).unwrap_or(Ms::MAX);
            prop_assert_eq!(r.scheduled_aux_at(s, t), (yes, next), "at {}", t);
        }
    }

    /// Scheduled aux from the spans of unplanned aux the roster keeps beside the log
    /// equals a scan, through long logs, changes that replace the last one (two at one
    /// instant), repeated states and trims (compared from the last cutoff on, what a trim
    /// keeps); and the windows' walk (`sums`, which finds its place in the log from the
    /// end) equals it too.
    #[test]
    fn scheduled_aux_spans_equal_a_scan(
        rows in rows_strategy(),
        changes in prop::collection::vec((0i64..4, 0usize..STATES.len(), 0u8..8), 0..40),
        queries in prop::collection::vec((0i64..60, 0i64..80), 1..6),
    ) {
        let (mut r, s) = roster(&rows);
        let mut log: Vec<(Ms, usize)> = Vec::new();
        let (mut t, mut cut) = (0, Ms::MIN);
        for &(dt, i, trim) in &changes {
            t += dt;
            r.record(s, t, STATES[i].0, STATES[i].1);
            log.retain(|c| c.0 < t);
            log.push((t, i));
            if trim == 0 {
                cut = t - 3;
                r.trim(cut);
            }
        }
        let state_at = |t: Ms| log.iter().rev().find(|c| c.0 <= t).map_or((Kind::Offline, None), |c| STATES[c.1]);
        for &(from, len) in &queries {
            let from = from.max(cut);
            let to = from + len;
            let mut want = 0;
            for u in from..to {
                let act = naive_activity(&rows, u);
                let (k, reason) = state_at(u);
                if act != "off" && k == Kind::AuxUnplanned && naive_allowed(&act, k, reason) {
                    want += 1;
                }
            }
            prop_assert_eq!(r.scheduled_aux_ms(s, from, to), want, "[{}, {}) cut {}", from, to, cut);
            prop_assert_eq!(r.sums(s, from, to).scheduled_aux, want, "[{}, {}) cut {}", from, to, cut);
        }
    }

    /// Where a long_aux stretch starts and ends under a schedule (SPEC §9.2) equals a scan:
    /// the first run of instants the schedule does not allow the aux, from `from` on, that
    /// lasts `limit` at least, and the instant it ends.
    #[test]
    fn long_aux_stretches_equal_a_scan(
        rows in rows_strategy(),
        from in 0i64..170,
        limit in 1i64..40,
        reason in prop::sample::select(vec!["break", "lunch", "restroom"]),
    ) {
        let (r, s) = roster(&rows);
        let allowed = |t: Ms| {
            let act = naive_activity(&rows, t);
            act != "off" && naive_allowed(&act, Kind::AuxUnplanned, Some(reason))
        };
        // Past 200 nothing is scheduled (rows end before 160): never allowed again.
        let mut want = None;
        let mut t = from;
        while t < 200 {
            if allowed(t) {
                t += 1;
                continue;
            }
            let end = (t..200).find(|&u| allowed(u));
            match end {
                Some(e) if e - t < limit => t = e,
                _ => {
                    want = Some((t, end.unwrap_or(Ms::MAX)));
                    break;
                }
            }
        }
        prop_assert_eq!(r.long_aux_from(s, from, reason, limit), want);
    }
}

/// 2026-11-23T09:00:00Z.
const NINE: Ms = 1_795_424_400_000;

/// A floor of 8 agents of team T1 on shift 09:00-12:00 with `breaks` (agent, start minute
/// after 09:00, minutes, activity) and events `(agent, second after 09:00, state)` after
/// everyone's `idle` at 09:00: the aux_cluster and aux_dispersion alerts (kind, started,
/// fired, resolved) at 11:30, delivered on time, or agent by agent in the order `agents`
/// (late for all but the first), with a view after each batch.
fn engine_alerts(
    breaks: &[(usize, i64, i64, usize)],
    events: &[(usize, i64, usize)],
    agents: Option<&[usize]>,
) -> Alerts {
    use floorwatch::config::FileConfig;
    use floorwatch::engine::{Engine, Source, ViewOpts};
    use floorwatch::event::{Aliases, decode_str};
    let toml = "[server]\nclock = \"event\"\n[peak]\nwindows = [\"09:00-12:00\"]\n\
                [alerts.aux_cluster]\nalpha = 1.0\nmin_agents = 2\n[alerts.long_aux]\nmax_aux_secs = 86400\n\
                [alerts.aux_dispersion]\nmin_peak_secs = 60\n[alerts.utilization_high]\nhigh = 1.0\n";
    let settings = FileConfig::parse(toml, "model").unwrap().settings().unwrap();
    let mut e = Engine::new(settings.clone());
    let agents_json: Vec<String> = (0..8)
        .map(|a| {
            let acts: Vec<String> = breaks
                .iter()
                .filter(|b| b.0 == a)
                .map(|&(_, s, l, act)| {
                    let (s, end) = (NINE + s * 60_000, NINE + (s + l) * 60_000);
                    format!(r#"{{"activity":"{}","start":{s},"end":{end}}}"#, MODEL_ACTS[act])
                })
                .collect();
            format!(
                r#"{{"agent":"A{a}","shifts":[{{"start":{NINE},"end":{},"activities":[{}]}}]}}"#,
                NINE + 3 * 3_600_000,
                acts.join(",")
            )
        })
        .collect();
    let up = parse::parse(&format!(r#"{{"agents":[{}]}}"#, agents_json.join(",")), &settings.tz).unwrap();
    e.upload_roster(&up).unwrap();
    let aliases = Aliases::new(settings.aliases.clone());
    let line = |a: usize, t: Ms, st: usize| {
        let (state, reason) = MODEL_STATES[st];
        let reason = reason.map(|r| format!(r#","reason":"{r}""#)).unwrap_or_default();
        format!(r#"{{"ts":{t},"agent":"A{a}","state":"{state}","team":"T1"{reason}}}"#)
    };
    let apply = |e: &mut Engine, lines: Vec<String>| {
        let evs: Vec<_> = lines.iter().map(|l| decode_str(l, &aliases).unwrap()).collect();
        let recv = evs.iter().filter_map(|x| x.ts()).max().unwrap_or(NINE);
        e.apply_batch(recv, Source::Tcp, evs, &[]);
        let now = e.max_ts().unwrap();
        e.view(now, &ViewOpts { team: None, agents: false, alerts: true, scrape: false });
    };
    apply(&mut e, (0..8).map(|a| line(a, NINE, 0)).collect());
    let mut sorted: Vec<(Ms, usize, usize)> = events.iter().map(|&(a, s, st)| (NINE + s * 1000, a, st)).collect();
    sorted.sort();
    match agents {
        None => {
            for (t, a, st) in sorted {
                apply(&mut e, vec![line(a, t, st)]);
            }
        }
        Some(order) => {
            for &a in order {
                apply(&mut e, sorted.iter().filter(|x| x.1 == a).map(|&(t, a, st)| line(a, t, st)).collect());
            }
        }
    }
    let now = NINE + 9_000_000;
    let v = e.view(now, &ViewOpts { team: None, agents: false, alerts: true, scrape: false });
    v.alerts
        .iter()
        .map(|a| a.alert())
        .filter_map(|a| {
            let kind = ["aux_cluster", "aux_dispersion"].into_iter().find(|&k| k == a.kind.as_str())?;
            Some((kind, a.started_at, a.fired_at, a.resolved_at))
        })
        .collect()
}

const MODEL_ACTS: [&str; 2] = ["break", "lunch"];
/// idle, talking, and aux with `break` (unplanned unless a break is scheduled), `lunch`
/// (planned) and `personal` (unplanned, never scheduled).
const MODEL_STATES: [(&str, Option<&str>); 5] =
    [("idle", None), ("talking", None), ("aux", Some("break")), ("aux", Some("lunch")), ("aux", Some("personal"))];

/// (kind, started_at, fired_at, resolved_at).
type Alerts = Vec<(&'static str, Ms, Ms, Option<Ms>)>;

/// The same from SPEC §4.2 and §9.2 second by second: an agent is in unplanned aux when in
/// aux with an unplanned reason that is not its scheduled activity's. aux_cluster: k ≥ 2
/// of N = 8 (share and gate pass), held 60 s to fire and 60 s false to resolve.
/// aux_dispersion: at each whole minute from 09:05 (all 8 logged in for 300 s of peak),
/// the CV of their unplanned aux since 09:00 at least 0.16; 3 minutes in a row to fire, 3
/// to resolve.
fn naive_alerts(breaks: &[(usize, i64, i64, usize)], events: &[(usize, i64, usize)]) -> Alerts {
    let n = 9_001usize; // seconds 09:00:00 ..= 11:30:00
    let unplanned: Vec<Vec<bool>> = (0..8)
        .map(|a| {
            let mut rows: Vec<(Ms, Ms, Option<&str>)> = vec![(0, 3 * 3600, None)];
            let mine = breaks.iter().filter(|b| b.0 == a);
            rows.extend(mine.map(|&(_, m, l, act)| (m * 60, (m + l) * 60, Some(MODEL_ACTS[act]))));
            (0..n as i64)
                .map(|s| {
                    let st = events.iter().filter(|x| x.0 == a && x.1 <= s).max_by_key(|x| x.1).map_or(0, |x| x.2);
                    match MODEL_STATES[st] {
                        ("aux", Some(r)) if r != "lunch" => naive_activity(&rows, s) != r,
                        _ => false,
                    }
                })
                .collect()
        })
        .collect();
    let cond: Vec<bool> = (0..n).map(|s| (0..8).filter(|&a| unplanned[a][s]).count() >= 2).collect();
    let run =
        |from: usize, want: bool| (from..n.saturating_sub(59)).find(|&i| cond[i..i + 60].iter().all(|&c| c == want));
    let at = |i: usize| NINE + i as Ms * 1000;
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(s) = run(i, true) {
        match run(s + 60, false) {
            Some(f) if f + 60 < n => {
                out.push(("aux_cluster", at(s), at(s + 60), Some(at(f + 60))));
                i = f + 60;
            }
            _ => {
                out.push(("aux_cluster", at(s), at(s + 60), None));
                break;
            }
        }
    }
    // aux_dispersion, minute by minute.
    let (mut active, mut count, mut first, mut open) = (false, 0, 0, None);
    for m in (0..n).step_by(60) {
        let u: Vec<f64> = (0..8).map(|a| unplanned[a][..m].iter().filter(|&&x| x).count() as f64).collect();
        let mean = u.iter().sum::<f64>() / 8.0;
        let std = (u.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / 8.0).sqrt();
        let c = m >= 300 && mean > 0.0 && std / mean >= 0.16;
        if c != active {
            if count == 0 {
                first = m;
            }
            count += 1;
            if count == 3 {
                count = 0;
                active = c;
                if c {
                    open = Some(out.len());
                    out.push(("aux_dispersion", at(first), at(m), None));
                } else if let Some(k) = open.take() {
                    out[k].3 = Some(at(m));
                }
            }
        } else {
            count = 0;
        }
    }
    out.sort_by_key(|a| (a.1, a.0));
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// aux_cluster and aux_dispersion with scheduled breaks (SPEC §9.2) equal the
    /// second-by-second model, on time and delivered agent by agent (late, SPEC §2.5).
    #[test]
    fn team_alerts_with_scheduled_breaks_equal_a_scan(
        breaks in prop::collection::vec((0usize..8, 55i64..110, 1i64..20, 0usize..2), 0..10),
        events in prop::collection::vec((0usize..8, 3000i64..7200, 0usize..5), 0..40),
        order in Just((0usize..8).collect::<Vec<_>>()).prop_shuffle(),
    ) {
        // One event per agent and second.
        let mut events = events;
        events.sort_by_key(|x| (x.0, x.1));
        events.dedup_by_key(|x| (x.0, x.1));
        let want = naive_alerts(&breaks, &events);
        let sorted = |mut v: Alerts| { v.sort_by_key(|a| (a.1, a.0)); v };
        prop_assert_eq!(sorted(engine_alerts(&breaks, &events, None)), want.clone(), "on time");
        prop_assert_eq!(sorted(engine_alerts(&breaks, &events, Some(&order))), want, "agent by agent");
    }
}

proptest! {
    /// A view's `today` and `peak_today` from the day cache (`Roster::day_parts`, reusing
    /// what earlier views summed, past the agent's last change too) equal the sums of each
    /// window whole (`Roster::day_sums`, the engine's `no_view_cache`), with state changes
    /// between views (some replacing the last one at its instant), views at earlier
    /// instants than the last, and peak intervals closing
    /// behind a committed clock that lags `now`.
    #[test]
    fn the_day_cache_equals_the_whole_sums(
        rows in rows_strategy(),
        steps in prop::collection::vec(
            (0i64..12, prop::option::of(0usize..STATES.len()), 0i64..9, 0i64..4, prop::bool::weighted(0.3)),
            1..24,
        ),
        peaks in prop::collection::vec((0i64..30, 1i64..25), 0..8),
    ) {
        let (mut r, s) = roster(&rows);
        // Disjoint peak intervals in time order within [0, 300).
        let mut peak_list: Vec<(Ms, Ms)> = Vec::new();
        let mut t = 0;
        for (gap, len) in peaks {
            peak_list.push((t + gap, t + gap + len));
            t += gap + len;
        }
        let midnight = 0;
        let (mut now, mut last_change, mut committed) = (0i64, 0i64, Ms::MIN);
        let mut cache = None;
        for (step, change, lag, back, same) in steps {
            now += step;
            if let Some(i) = change {
                // Events arrive in order per agent; a change at the same instant as the last
                // replaces it (`same`: the state after the cached last change changes).
                if !same {
                    last_change = last_change.max(now - lag);
                }
                r.record(s, last_change, STATES[i].0, STATES[i].1);
            }
            committed = committed.max(now - lag);
            // Sometimes a view at an earlier instant (never before midnight: it is the view's).
            let at = (now - back * 3).max(midnight);
            // As `PeaksToday::of` gives them: clipped to the view's instant; those ended by
            // the committed clock are the closed ones (their count keys the cache).
            let clipped: Vec<(Ms, Ms)> =
                peak_list.iter().map(|&(p, q)| (p, q.min(at))).filter(|&(p, q)| p < q).collect();
            let closed = peak_list.iter().filter(|&&(_, q)| q <= committed).count();
            let d = r.day_parts(s, &mut cache, midnight, at, &clipped, (0, 0, closed), committed);
            let mut today = d.today_head;
            today.add(&r.sums(s, d.upto, at));
            let (want_today, want_peak) = r.day_sums(s, midnight, at, &clipped);
            prop_assert_eq!(today, want_today, "today at {}", at);
            prop_assert_eq!(d.peak, want_peak, "peak_today at {} (committed {})", at, committed);
        }
    }
}

/// A housekeeping trim to the cutoff of the last one is skipped when nothing was added
/// before it since (checked in debug builds), and still done when something was: the
/// figures after the cutoff stay those of an untrimmed roster either way.
#[test]
fn a_repeated_trim_keeps_the_figures() {
    let rows = [(0, 100, None), (10, 20, Some("break")), (200, 300, None)];
    let (mut trimmed, s) = roster(&rows);
    let (mut whole, _) = roster(&rows);
    for r in [&mut trimmed, &mut whole] {
        r.record(s, 5, Kind::Idle, None);
        r.record(s, 30, Kind::Talking, None);
        r.record(s, 150, Kind::Offline, None);
    }
    trimmed.trim(120);
    for r in [&mut trimmed, &mut whole] {
        r.record(s, 210, Kind::Idle, None);
    }
    trimmed.trim(120); // nothing before the cutoff since: skipped
    // An upload of an earlier day (rows ending before the cutoff) is trimmed again.
    let up =
        parse::Upload { agents: vec![("A1".into(), vec![Row { start: -86_400_000, end: -86_399_000, act: None }])] };
    for r in [&mut trimmed, &mut whole] {
        r.upload(&up, 1000, &mut |t| (t.div_euclid(86_400_000)) as i32).unwrap();
    }
    let before = trimmed.heap_bytes();
    trimmed.trim(120);
    assert!(trimmed.heap_bytes() <= before);
    for (from, to) in [(120, 300), (150, 250), (199, 201)] {
        assert_eq!(trimmed.sums(s, from, to), whole.sums(s, from, to), "[{from}, {to})");
    }
    assert_eq!(trimmed.sums(s, -86_400_000, 0).scheduled, 0, "the earlier day's row was trimmed");
    assert_eq!(whole.sums(s, -86_400_000, 0).scheduled, 1000);
}
