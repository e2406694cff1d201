//! Table tests of the chart: each rule at its edge, the baseline filling up, the worked
//! example of SPEC §10, late contacts.

use super::*;
use crate::detect::team::AlertChange;

const Q: Ms = 900_000;
/// 2026-11-23T09:00:00Z
const T0: Ms = 1_795_424_400_000;

fn cfg(baseline_points: u32, min_contacts: u32) -> AhtChartSettings {
    AhtChartSettings { interval_ms: Q, min_contacts, baseline_points, history_ms: 45 * 86_400_000 }
}

/// Closes one quarter-hour per entry of `points` (handle times in seconds; an empty or
/// small one is not plotted), from 09:00, and returns the series and the alert changes.
fn run(cfg: &AhtChartSettings, points: &[&[f64]]) -> (Series, Vec<AlertChange>) {
    let mut s = Series::new();
    let mut out = Vec::new();
    for (i, xs) in points.iter().enumerate() {
        let start = T0 + i as Ms * Q;
        for &x in *xs {
            assert_eq!(s.add(start, start + Q, (x * 1000.0).round() as Ms, cfg, "T1", "15m", &mut out), None);
        }
        s.close_through(start + Q, cfg, "T1", "15m", &mut out);
    }
    (s, out)
}

/// The rules of every plotted point, in order.
fn rules_of(s: &Series) -> Vec<Vec<&'static str>> {
    s.points().iter().map(|p| rule_names(p.rules)).collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 5e-4
}

/// `n` points of {90, 110} s: CL 100 s, σ 10 s once they fill a baseline.
fn steady(n: usize) -> Vec<&'static [f64]> {
    vec![&[90.0, 110.0][..]; n]
}

#[test]
fn worked_example_of_the_spec() {
    let cfg = cfg(3, 2);
    let pts: [&[f64]; 5] = [&[100.0, 120.0], &[90.0, 110.0], &[100.0, 100.0], &[200.0, 220.0], &[100.0, 110.0]];
    let (s, out) = run(&cfg, &pts);
    let f: Vec<PointFigures> = s.points().iter().map(Point::figures).collect();
    assert_eq!(f.len(), 5);
    for p in &f[..3] {
        assert_eq!((p.cl_s, p.ucl_s, p.lcl_s, p.z), (None, None, None, None));
        assert!(p.rules.is_empty());
    }
    assert_eq!((f[0].mean_s, f[1].mean_s, f[2].mean_s), (110.0, 100.0, 100.0));
    let p4 = &f[3];
    assert_eq!((p4.n, p4.mean_s), (2, 210.0));
    assert!(close(p4.cl_s.unwrap(), 103.333), "{p4:?}");
    assert!(close(p4.ucl_s.unwrap(), 123.333), "{p4:?}");
    assert!(close(p4.lcl_s.unwrap(), 83.333), "{p4:?}");
    assert!(close(p4.z.unwrap(), 16.0), "{p4:?}");
    assert_eq!(p4.rules, vec!["beyond_3_sigma"]);
    let p5 = &f[4];
    assert_eq!(p5.mean_s, 105.0);
    assert!(close(p5.cl_s.unwrap(), 136.667), "{p5:?}");
    assert!(close(p5.z.unwrap(), -0.853), "{p5:?}");
    assert!(p5.rules.is_empty());
    // Fired at the fourth point's close (10:00), resolved at the fifth's (10:15).
    assert_eq!(out.len(), 2, "{out:?}");
    let AlertChange::Fired(a) = &out[0] else { panic!("{out:?}") };
    let ten = T0 + 4 * Q;
    assert_eq!(a.id, format!("aht_out_of_control:T1:15m:{ten}"));
    assert_eq!((a.started_at, a.fired_at), (ten, ten));
    assert_eq!(a.kind, AlertKind::AhtOutOfControl);
    assert_eq!(a.severity, crate::alert::Severity::Info);
    assert_eq!(a.interval.as_deref(), Some("15m"));
    assert_eq!(a.value, 210.0);
    assert!(close(a.threshold, 123.333), "{a:?}");
    assert!(a.message.contains("beyond_3_sigma"), "{}", a.message);
    assert!(a.agents.is_empty() && a.agent.is_none());
    let AlertChange::Resolved { id, at } = &out[1] else { panic!("{out:?}") };
    assert_eq!((id.as_str(), *at), (a.id.as_str(), ten + Q));
}

#[test]
fn beyond_3_sigma_is_strict() {
    let cfg = cfg(20, 1);
    for (x, fires) in [(130.0, false), (130.001, true), (70.0, false), (69.999, true)] {
        let mut pts = steady(20);
        let one = [x];
        pts.push(&one);
        let (s, out) = run(&cfg, &pts);
        let last = s.points().last().unwrap().figures();
        assert!(close(last.cl_s.unwrap(), 100.0) && close(last.ucl_s.unwrap(), 130.0), "{last:?}");
        assert_eq!(last.rules.contains(&"beyond_3_sigma"), fires, "{x}: {last:?}");
        assert_eq!(out.len(), fires as usize, "{x}");
        if fires {
            let AlertChange::Fired(a) = &out[0] else { panic!() };
            let want = if x > 100.0 { last.ucl_s } else { last.lcl_s };
            assert_eq!(Some(a.threshold), want, "{x}");
        }
    }
}

#[test]
fn two_of_three_beyond_two_sigma_needs_the_closing_point_beyond() {
    let cfg = cfg(20, 1);
    let table: [(&[f64], Vec<Vec<&str>>); 4] = [
        // One beyond 2σ: nothing.
        (&[125.0, 100.0, 100.0], vec![vec![], vec![], vec![]]),
        // The second beyond, two apart: 2 of 3.
        (&[125.0, 100.0, 125.0], vec![vec![], vec![], vec!["2_of_3_beyond_2_sigma"]]),
        // Two beyond, then one that is not: it is not beyond, so no rule at it.
        (&[125.0, 125.0, 100.0], vec![vec![], vec!["2_of_3_beyond_2_sigma"], vec![]]),
        // Opposite sides do not add up.
        (&[125.0, 75.0, 100.0], vec![vec![], vec![], vec![]]),
    ];
    for (tail, want) in table {
        let mut pts = steady(20);
        let singles: Vec<[f64; 1]> = tail.iter().map(|&x| [x]).collect();
        pts.extend(singles.iter().map(|x| &x[..]));
        let (s, _) = run(&cfg, &pts);
        assert_eq!(rules_of(&s)[20..].to_vec(), want, "{tail:?}");
    }
}

#[test]
fn four_of_five_beyond_one_sigma() {
    let cfg = cfg(20, 1);
    // z of 115 stays between 1 and 2 as the points enter the baseline.
    let table: [(&[f64], &[&str]); 3] = [
        (&[115.0, 115.0, 115.0], &[]),
        (&[115.0, 115.0, 100.0, 115.0, 115.0], &["4_of_5_beyond_1_sigma"]),
        (&[85.0, 85.0, 85.0, 85.0], &["4_of_5_beyond_1_sigma"]),
    ];
    for (tail, want) in table {
        let mut pts = steady(20);
        let singles: Vec<[f64; 1]> = tail.iter().map(|&x| [x]).collect();
        pts.extend(singles.iter().map(|x| &x[..]));
        let (s, _) = run(&cfg, &pts);
        let r = rules_of(&s);
        assert_eq!(r.last().unwrap(), want, "{tail:?}: {r:?}");
        assert!(r[20..r.len() - 1].iter().all(|x| x.is_empty()), "{tail:?}: {r:?}");
    }
}

#[test]
fn nine_on_one_side_not_eight() {
    let cfg = cfg(20, 1);
    for (x, side) in [(105.0, "above"), (95.0, "below")] {
        for (n, fires) in [(8, false), (9, true)] {
            let mut pts = steady(20);
            let one = [x];
            pts.extend(std::iter::repeat_n(&one[..], n));
            let (s, _) = run(&cfg, &pts);
            let r = rules_of(&s);
            assert!(r[20..n + 19].iter().all(|x| x.is_empty()), "{side} {n}: {r:?}");
            let want: &[&str] = if fires { &["9_on_one_side"] } else { &[] };
            assert_eq!(r.last().unwrap(), want, "{side} {n}: {r:?}");
        }
    }
}

#[test]
fn six_trending_not_five() {
    let cfg = cfg(20, 1);
    // The 20th point's mean is 100: rising points after it make a run with it.
    for (tail, fires) in [
        (&[101.0, 102.0, 103.0, 104.0][..], false),
        (&[101.0, 102.0, 103.0, 104.0, 105.0][..], true),
        (&[99.0, 98.0, 97.0, 96.0, 95.0][..], true),
        // A tie is not a rise.
        (&[101.0, 102.0, 102.0, 104.0, 105.0][..], false),
    ] {
        let mut pts = steady(20);
        let singles: Vec<[f64; 1]> = tail.iter().map(|&x| [x]).collect();
        pts.extend(singles.iter().map(|x| &x[..]));
        let (s, _) = run(&cfg, &pts);
        let r = rules_of(&s);
        let want: &[&str] = if fires { &["6_trending"] } else { &[] };
        assert_eq!(r.last().unwrap(), want, "{tail:?}: {r:?}");
    }
}

#[test]
fn trending_counts_points_without_limits() {
    // Rule 5 compares the means of all plotted points, checked or not: a run that starts
    // before the baseline is full fires at the first point that has one.
    let cfg = cfg(3, 1);
    let (s, _) = run(&cfg, &[&[100.0, 120.0], &[101.0, 121.0], &[102.0, 122.0], &[113.0], &[124.0], &[135.0]]);
    let r = rules_of(&s);
    assert!(r[..5].iter().all(|x| !x.contains(&"6_trending")), "{r:?}");
    assert!(r[5].contains(&"6_trending"), "{r:?}");
}

#[test]
fn the_baseline_fills_up_with_plotted_points_only() {
    let cfg = cfg(3, 2);
    // The second interval has one contact: it is no point and not part of any baseline.
    let (s, _) = run(&cfg, &[&[100.0, 120.0], &[500.0], &[90.0, 110.0], &[], &[100.0, 100.0], &[95.0, 105.0]]);
    let f: Vec<PointFigures> = s.points().iter().map(Point::figures).collect();
    assert_eq!(f.len(), 4);
    assert_eq!(f.iter().map(|p| p.start).collect::<Vec<_>>(), vec![T0, T0 + 2 * Q, T0 + 4 * Q, T0 + 5 * Q]);
    assert!(f[..3].iter().all(|p| p.cl_s.is_none()));
    // {100, 120, 90, 110, 100, 100}: CL 103.333.
    assert!(close(f[3].cl_s.unwrap(), 103.333), "{:?}", f[3]);
}

#[test]
fn a_flat_baseline_has_no_limits() {
    let cfg = cfg(2, 1);
    let (s, out) = run(&cfg, &[&[100.0], &[100.0], &[500.0]]);
    assert_eq!(s.points()[2].figures().cl_s, None);
    assert!(out.is_empty());
}

#[test]
fn lcl_is_clipped_at_zero() {
    let cfg = cfg(2, 1);
    let (s, _) = run(&cfg, &[&[10.0, 300.0], &[20.0, 250.0], &[100.0]]);
    assert_eq!(s.points()[2].figures().lcl_s, Some(0.0));
}

#[test]
fn while_firing_more_breaking_points_change_nothing() {
    let cfg = cfg(3, 2);
    let pts: [&[f64]; 6] =
        [&[100.0, 120.0], &[90.0, 110.0], &[100.0, 100.0], &[200.0, 220.0], &[400.0, 420.0], &[100.0, 110.0]];
    let (s, out) = run(&cfg, &pts);
    assert!(s.points()[4].rules != 0, "the fifth breaks a rule too");
    // One fire at 10:00; the fifth point (10:15) changes nothing; the sixth resolves.
    assert_eq!(s.points()[4].firing, Some(T0 + 4 * Q));
    assert!(
        matches!(&out[..], [AlertChange::Fired(a), AlertChange::Resolved { at, .. }]
        if a.fired_at == T0 + 4 * Q && *at == T0 + 6 * Q),
        "{out:?}"
    );
    assert_eq!(s.firing(), None);
}

#[test]
fn a_late_contact_in_a_closed_point_reevaluates_from_there() {
    let cfg = cfg(3, 2);
    let pts: [&[f64]; 5] = [&[100.0, 120.0], &[90.0, 110.0], &[100.0, 100.0], &[200.0, 220.0], &[100.0, 110.0]];
    let (mut s, _) = run(&cfg, &pts);
    let mut out = Vec::new();
    // A 15-second contact completed at 09:50 arrives after 10:15: the fourth point's mean
    // falls to 145 and it is still beyond 3σ; nothing else changes but the numbers.
    let from = s.add(T0 + 3 * Q, T0 + 4 * Q, 15_000, &cfg, "T1", "15m", &mut out);
    assert_eq!(from, Some(T0 + 4 * Q));
    // The same contacts on time give the same points and alerts.
    let mut on_time: Vec<Vec<f64>> = pts.iter().map(|p| p.to_vec()).collect();
    on_time[3].push(15.0);
    let refs: Vec<&[f64]> = on_time.iter().map(Vec::as_slice).collect();
    let (want, want_out) = run(&cfg, &refs);
    assert_eq!(s.points(), want.points());
    assert_eq!(format!("{out:?}"), format!("{want_out:?}"));

    // A late contact that makes an interval plotted inserts a point.
    let (mut s, _) = run(&cfg, &[&[100.0, 120.0], &[90.0], &[100.0, 100.0], &[95.0, 105.0]]);
    assert_eq!(s.points().len(), 3);
    let mut out = Vec::new();
    assert_eq!(s.add(T0 + Q, T0 + 2 * Q, 110_000, &cfg, "T1", "15m", &mut out), Some(T0 + 2 * Q));
    let (want, _) = run(&cfg, &[&[100.0, 120.0], &[90.0, 110.0], &[100.0, 100.0], &[95.0, 105.0]]);
    assert_eq!(s.points(), want.points());
}

#[test]
fn tentative_points_close_without_changing_the_series() {
    let cfg = cfg(3, 2);
    let pts: [&[f64]; 4] = [&[100.0, 120.0], &[90.0, 110.0], &[100.0, 100.0], &[200.0, 220.0]];
    let mut s = Series::new();
    let mut out = Vec::new();
    for (i, xs) in pts.iter().enumerate() {
        let start = T0 + i as Ms * Q;
        for &x in *xs {
            s.add(start, start + Q, (x * 1000.0) as Ms, &cfg, "T1", "15m", &mut out);
        }
    }
    s.close_through(T0 + 3 * Q, &cfg, "T1", "15m", &mut out);
    assert!(out.is_empty());
    let before = s.clone();
    // At 09:59:59.999 the fourth point is open: not shown; at 10:00 it is.
    assert_eq!(s.tentative(T0 + 4 * Q - 1, &cfg, "T1", "15m", &mut out, SHOWN).len(), 3);
    assert!(out.is_empty());
    let shown = s.tentative(T0 + 4 * Q, &cfg, "T1", "15m", &mut out, SHOWN);
    let mut none = Vec::new();
    assert_eq!(s.tentative(T0 + 4 * Q, &cfg, "T1", "15m", &mut none, 1), shown[3..].to_vec(), "the last point only");
    assert_eq!(s.tentative(T0 + 3 * Q, &cfg, "T1", "15m", &mut none, 2), s.points()[1..].to_vec(), "nothing closing");
    assert_eq!(shown.len(), 4);
    assert_eq!(rule_names(shown[3].rules), vec!["beyond_3_sigma"]);
    assert!(matches!(&out[..], [AlertChange::Fired(_)]));
    assert_eq!(s.points(), before.points());
}

#[test]
fn trimming_keeps_the_alert_state() {
    let cfg = cfg(3, 2);
    let pts: [&[f64]; 4] = [&[100.0, 120.0], &[90.0, 110.0], &[100.0, 100.0], &[200.0, 220.0]];
    let (mut s, _) = run(&cfg, &pts);
    s.trim(T0 + 5 * Q, T0 + 5 * Q);
    assert!(s.points().is_empty());
    assert_eq!(s.firing(), Some(T0 + 4 * Q));
    assert!(!s.is_empty());
}

/// The intervals an instant falls in, from the calendar of a zone.
fn intervals_at(zone: &str, t: &str) -> [(Ms, Ms); KINDS] {
    let mut cal = crate::detect::calendar::Calendar::new(jiff::tz::TimeZone::get(zone).unwrap(), Vec::new());
    let t = crate::time::parse_rfc3339(t).unwrap();
    intervals(cal.day_bounds(t), t, Q)
}

fn ms(s: &str) -> Ms {
    crate::time::parse_rfc3339(s).unwrap()
}

#[test]
fn intervals_start_at_local_midnight_in_a_non_utc_zone() {
    // Asia/Shanghai (UTC+8): the local day starts at 16:00Z.
    let table = [
        ("2026-11-23T15:59:59.999Z", ("2026-11-23T15:45:00Z", "2026-11-23T16:00:00Z"), "2026-11-22T16:00:00Z"),
        ("2026-11-23T16:00:00Z", ("2026-11-23T16:00:00Z", "2026-11-23T16:15:00Z"), "2026-11-23T16:00:00Z"),
        ("2026-11-24T01:37:00Z", ("2026-11-24T01:30:00Z", "2026-11-24T01:45:00Z"), "2026-11-23T16:00:00Z"),
    ];
    for (t, (qs, qe), day) in table {
        let [q, d] = intervals_at("Asia/Shanghai", t);
        assert_eq!(q, (ms(qs), ms(qe)), "{t}");
        assert_eq!(d.0, ms(day), "{t}");
        assert_eq!(d.1 - d.0, 86_400_000, "{t}");
    }
}

#[test]
fn dst_days_have_92_or_100_quarters_cut_at_the_next_midnight() {
    // America/New_York: 2026-03-08 lasts 23 hours (EST -> EDT at 02:00), 2026-11-01 25.
    for (day, quarters) in [("2026-03-08T12:00:00Z", 92), ("2026-11-01T12:00:00Z", 100), ("2026-06-01T12:00:00Z", 96)] {
        let [_, (mid, next)] = intervals_at("America/New_York", day);
        let mut cal =
            crate::detect::calendar::Calendar::new(jiff::tz::TimeZone::get("America/New_York").unwrap(), Vec::new());
        let mut starts = Vec::new();
        let mut t = mid;
        while t < next {
            let [(s, e), d] = intervals(cal.day_bounds(t), t, Q);
            assert_eq!(d, (mid, next));
            assert!(e <= next && e > s);
            starts.push(s);
            t = e;
        }
        assert_eq!(starts.len(), quarters, "{day}");
        assert_eq!(t, next, "{day}: the last quarter ends at the next local midnight");
    }
    // The spring day's last quarter is 23:45-00:00 EDT (03:45Z-04:00Z on the 9th); 03:00
    // EDT, two hours after midnight (02:00-03:00 does not exist), starts quarter 8.
    let [q, d] = intervals_at("America/New_York", "2026-03-09T03:50:00Z");
    assert_eq!(q, (ms("2026-03-09T03:45:00Z"), ms("2026-03-09T04:00:00Z")));
    assert_eq!(d, (ms("2026-03-08T05:00:00Z"), ms("2026-03-09T04:00:00Z")));
    let [q, _] = intervals_at("America/New_York", "2026-03-08T07:00:00Z"); // 03:00 EDT
    assert_eq!(q.0, ms("2026-03-08T05:00:00Z") + 8 * Q);
}

#[test]
fn an_interval_that_does_not_divide_the_day_is_cut_at_midnight() {
    let mut cal = crate::detect::calendar::Calendar::new(jiff::tz::TimeZone::UTC, Vec::new());
    let t = ms("2026-11-23T23:59:00Z");
    let [(s, e), _] = intervals(cal.day_bounds(t), t, 25 * 60_000);
    assert_eq!((s, e), (ms("2026-11-23T23:45:00Z"), ms("2026-11-24T00:00:00Z")));
}

#[test]
fn a_point_costs_at_most_160_bytes() {
    // ARCHITECTURE.md's memory bound: 96 points a day per team for history_days.
    assert!(std::mem::size_of::<Point>() <= 160, "{}", std::mem::size_of::<Point>());
}
