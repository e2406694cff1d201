//! The queue figures against a brute-force model, and the queue alerts' timing at the edges.

use proptest::prelude::*;

use super::*;
use crate::alert::{Alert, AlertKind};
use crate::event::{CallEvent, CallKind};

fn settings() -> QueueSettings {
    QueueSettings { sl_min_calls: 1, sl_consecutive: 1, ..QueueSettings::default() }
}

fn ev(call: &str, kind: CallKind) -> CallEvent {
    CallEvent { ts: None, call: call.into(), queue: Some("q".into()), kind, agent: None }
}

const S: Ms = 1000;
const M: Ms = 60_000;

/// An alert as (kind, started_at, fired_at, resolved_at).
type Told = (AlertKind, Ms, Ms, Option<Ms>);
/// A call event: (ts, call, kind).
type Ev<'a> = (Ms, &'a str, CallKind);

/// Applies `(ts, call, kind)` in order, then commits to `t` and returns the queue's alerts
/// as (kind, started, fired, resolved), and the same from a view at `t` (tentative).
fn run(s: &QueueSettings, events: &[Ev], t: Ms) -> (Vec<Told>, Queues) {
    let mut qs = Queues::default();
    for &(ts, call, kind) in events {
        qs.apply(&ev(call, kind), ts, false, s).unwrap();
    }
    let q = qs.get("q").unwrap().clone();
    let mut alerts: Vec<Alert> = q.tentative(t, s).alerts;
    alerts.sort_by_key(|a| (a.kind, a.started_at));
    let got = alerts.iter().map(|a| (a.kind, a.started_at, a.fired_at, a.resolved_at)).collect();
    (got, qs)
}

use AlertKind::{LongWait, ServiceLevelLow};
use CallKind::{Abandoned, Answered, Left, Queued};

/// long_wait: the union of `[queued + limit, end)`, edges included (SPEC §8.3).
#[test]
fn long_wait_edges() {
    let s = QueueSettings { sl_min_calls: 1_000, ..settings() };
    let cases: &[(&str, &[Ev], Vec<Told>)] = &[
        ("ends exactly at the limit: never raised", &[(0, "a", Queued), (60 * S, "a", Answered)], vec![]),
        (
            "ends 1 ms after",
            &[(0, "a", Queued), (60 * S + 1, "a", Abandoned)],
            vec![(LongWait, 60 * S, 60 * S, Some(60 * S + 1))],
        ),
        ("still waiting", &[(0, "a", Queued)], vec![(LongWait, 60 * S, 60 * S, None)]),
        (
            "touching stretches merge",
            &[(0, "a", Queued), (10 * S, "b", Queued), (70 * S, "a", Left), (90 * S, "b", Answered)],
            vec![(LongWait, 60 * S, 60 * S, Some(90 * S))],
        ),
        (
            "a gap of 1 ms makes two",
            &[(0, "a", Queued), (10 * S + 1, "b", Queued), (70 * S, "a", Left), (90 * S, "b", Answered)],
            vec![(LongWait, 60 * S, 60 * S, Some(70 * S)), (LongWait, 70 * S + 1, 70 * S + 1, Some(90 * S))],
        ),
        (
            "an older call inside a younger one's stretch",
            &[(0, "a", Queued), (5 * S, "b", Queued), (100 * S, "a", Answered), (80 * S, "b", Answered)],
            vec![(LongWait, 60 * S, 60 * S, Some(100 * S))],
        ),
    ];
    for (name, events, expected) in cases {
        let (got, _) = run(&s, events, 10 * M);
        assert_eq!(&got, expected, "{name}");
    }
    // Not yet at the limit: nothing at 59.999 s, fired at 60 s (the instant included).
    assert_eq!(run(&s, &[(0, "a", Queued)], 60 * S - 1).0, vec![]);
    assert_eq!(run(&s, &[(0, "a", Queued)], 60 * S).0, vec![(LongWait, 60 * S, 60 * S, None)]);
}

/// service_level_low at whole minutes: null is not below, equal is not below, min_calls
/// counts answered + abandoned - short abandoned, the window is [m - 15 min, m].
#[test]
fn service_level_low_edges() {
    let s = settings(); // min_calls 1, consecutive 1, target 0.9, sl 10 s, short 5 s
    let sl = |events: &[(Ms, &str, CallKind)], t: Ms, s: &QueueSettings| {
        run(s, events, t).0.into_iter().filter(|a| a.0 == ServiceLevelLow).collect::<Vec<_>>()
    };
    // Answered in 11 s at 00:00:11: below target at minute 1.
    let slow = [(0, "a", Queued), (11 * S, "a", Answered)];
    assert_eq!(sl(&slow, 2 * M, &s), vec![(ServiceLevelLow, M, M, None)]);
    // At 16:00 the window [01:00, 16:00] no longer holds it: the level is null, not below.
    assert_eq!(sl(&slow, 15 * M, &s), vec![(ServiceLevelLow, M, M, None)], "still in the window at 15:00");
    assert_eq!(sl(&slow, 16 * M, &s), vec![(ServiceLevelLow, M, M, Some(16 * M))], "null level is not below");
    // Ended exactly at m - 15 min still counts at m.
    let at_minute = [(0, "a", Queued), (M, "a", Answered)]; // waited 60 s, out of SL
    assert_eq!(sl(&at_minute, 16 * M, &s), vec![(ServiceLevelLow, M, M, None)]);
    assert_eq!(sl(&at_minute, 17 * M, &s), vec![(ServiceLevelLow, M, M, Some(17 * M))]);
    // A short abandon alone: level null (no judged calls), never below.
    assert_eq!(sl(&[(0, "a", Queued), (4 * S, "a", Abandoned)], 5 * M, &s), vec![]);
    // A longer abandon: 0 of 1, below.
    assert_eq!(sl(&[(0, "a", Queued), (5 * S, "a", Abandoned)], 2 * M, &s), vec![(ServiceLevelLow, M, M, None)]);
    // Exactly at target is not below: 9 in SL of 10 = 0.9.
    let mut ten: Vec<(Ms, String, CallKind)> = Vec::new();
    for i in 0..10 {
        ten.push((i * S, format!("c{i}"), Queued));
        ten.push((i * S + if i == 0 { 11 * S } else { 2 * S }, format!("c{i}"), Answered));
    }
    ten.sort_by_key(|e| e.0);
    let ten: Vec<(Ms, &str, CallKind)> = ten.iter().map(|(t, c, k)| (*t, c.as_str(), *k)).collect();
    assert_eq!(sl(&ten, 5 * M, &s), vec![], "0.9 is not below 0.9");
    // min_calls: 10 judged calls needed.
    let s10 = QueueSettings { sl_min_calls: 10, ..s.clone() };
    assert_eq!(sl(&slow, 2 * M, &s10), vec![]);
    // consecutive 3: fires at the 3rd true minute, started at the 1st; resolves at the 3rd false.
    let s3 = QueueSettings { sl_consecutive: 3, ..s.clone() };
    assert_eq!(sl(&slow, 20 * M, &s3), vec![(ServiceLevelLow, M, 3 * M, Some(18 * M))]);
}

/// A late call (its end delivered after the alert was committed) corrects the alert:
/// committed with the call waiting, then its `answered` before the limit arrives.
#[test]
fn late_end_retracts_a_committed_long_wait() {
    let s = QueueSettings { sl_min_calls: 1_000, ..settings() };
    let mut qs = Queues::default();
    qs.apply(&ev("a", Queued), 0, false, &s).unwrap();
    let q = qs.get_mut("q").unwrap();
    let d = q.advance(2 * M, &s).unwrap();
    assert_eq!(d.alerts.iter().map(|a| a.started_at).collect::<Vec<_>>(), [60 * S]);
    qs.apply(&ev("a", Answered), 30 * S, false, &s).unwrap();
    let d = qs.get_mut("q").unwrap().advance(3 * M, &s).unwrap();
    assert!(d.alerts.is_empty(), "{:?}", d.alerts);
    assert!(d.long_wait_from <= 60 * S, "the scope covers the stored alert: {}", d.long_wait_from);
}

/// Outcomes of call events (SPEC §8.1): duplicate before late; the waiting cap.
#[test]
fn call_outcomes() {
    let s = QueueSettings { max_waiting: 2, ..settings() };
    let mut qs = Queues::default();
    let r = |x: CallOutcome| x.map_err(|e| e.0);
    assert_eq!(r(qs.apply(&ev("a", Queued), 10, false, &s)), Ok(()));
    assert_eq!(r(qs.apply(&ev("a", Queued), 5, false, &s)), Err(Refusal::Repeated), "waiting: duplicate whatever ts");
    assert_eq!(r(qs.apply(&ev("a", Answered), 5, false, &s)), Err(Refusal::OlderThanLast));
    assert_eq!(r(qs.apply(&ev("b", Answered), 5, false, &s)), Err(Refusal::Repeated), "never queued");
    assert_eq!(r(qs.apply(&ev("a", Left), 20, false, &s)), Ok(()));
    assert_eq!(r(qs.apply(&ev("a", Left), 30, false, &s)), Err(Refusal::Repeated), "not waiting");
    assert_eq!(r(qs.apply(&ev("a", Queued), 19, false, &s)), Err(Refusal::OlderThanLast), "before its last");
    assert_eq!(r(qs.apply(&ev("a", Queued), 20, true, &s)), Err(Refusal::TooOld));
    assert_eq!(r(qs.apply(&ev("a", Queued), 20, false, &s)), Ok(()), "queued again: a transfer");
    assert_eq!(r(qs.apply(&ev("b", Queued), 20, false, &s)), Ok(()));
    assert_eq!(r(qs.apply(&ev("c", Queued), 20, false, &s)), Err(Refusal::TooLarge), "cap reached");
    assert_eq!(qs.refused_full, 1);
    assert_eq!(qs.waiting_total(), 2);
}

/// A flood of `queued` for calls that never end costs what the cap allows and is counted;
/// ended calls and their ids go once no window or late event needs them, and so does an
/// emptied queue.
#[test]
fn a_flood_is_bounded_and_history_is_trimmed() {
    let s = QueueSettings { max_waiting: 100, ..settings() };
    let mut qs = Queues::default();
    let refused = (0..10_000).filter(|i| qs.apply(&ev(&format!("f{i}"), Queued), *i, false, &s).is_err()).count();
    assert_eq!((qs.waiting_total(), refused, qs.refused_full, qs.calls_known()), (100, 9_900, 9_900, 100));
    for i in 0..100 {
        qs.apply(&ev(&format!("f{i}"), Answered), 20_000 + i, false, &s).unwrap();
    }
    assert_eq!((qs.waiting_total(), qs.calls_known()), (0, 100));
    // The level was below target from 00:01 to 00:16 (the calls waited 20 s).
    qs.get_mut("q").unwrap().advance(10 * M, &s);
    qs.trim(5 * M, 5 * M, Ms::MIN, 10 * M, &s);
    assert_eq!(qs.calls_known(), 0, "ids of calls ended before the backfill limit are forgotten");
    assert_eq!(qs.len(), 1, "the queue still holds its streak, active");
    qs.get_mut("q").unwrap().advance(30 * M, &s);
    // Its last call ended at 00:00:20.099: idle, but active since the horizon.
    qs.trim(20 * M, 20 * M, 20_099, 30 * M, &s);
    assert_eq!(qs.len(), 1, "a quiet queue stays listed until the horizon");
    qs.trim(20 * M, 20 * M, 20_100, 30 * M, &s);
    assert!(qs.is_empty(), "a queue with nothing left, quiet since the horizon, is dropped");
}

/// A feed naming a new queue on every call, each answered: the day's queues are not quiet
/// (they hold the day's figures), so the idle cap does not bound them; [`MAX_QUEUES`] does:
/// a `queued` naming one more is refused `too_large`, a known queue still takes calls.
#[test]
fn known_queues_are_capped() {
    let s = settings();
    let mut qs = Queues::default();
    let mut refused = 0;
    for i in 0..MAX_QUEUES + 50 {
        let id = format!("c{i}");
        let queued = CallEvent { queue: Some(format!("q{i}").into()), ..ev(&id, Queued) };
        match qs.apply(&queued, i as Ms, false, &s) {
            Ok(()) => qs.apply(&ev(&id, Answered), i as Ms + 1, false, &s).unwrap(),
            Err((r, msg)) => {
                assert_eq!(r, Refusal::TooLarge);
                assert!(msg.contains("5000 queues are known"), "{msg}");
                refused += 1;
            }
        }
    }
    assert_eq!((qs.len(), refused), (MAX_QUEUES, 50));
    let again = CallEvent { queue: Some("q7".into()), ..ev("again", Queued) };
    assert_eq!(qs.apply(&again, 100_000, false, &s).map_err(|e| e.0), Ok(()));
}

/// A feed naming a new queue on every call: idle queues beyond [`MAX_IDLE_QUEUES`] are
/// forgotten at a trim, the least recently active first, the others kept.
#[test]
fn idle_queues_are_capped() {
    let s = settings();
    let mut qs = Queues::default();
    let n = MAX_IDLE_QUEUES + 5;
    for i in 0..n {
        let id = format!("c{i}");
        let queued = CallEvent { queue: Some(format!("q{i}").into()), ..ev(&id, Queued) };
        qs.apply(&queued, i as Ms, false, &s).unwrap();
        qs.apply(&ev(&id, Answered), i as Ms + 1, false, &s).unwrap();
    }
    for i in 0..n {
        qs.get_mut(&format!("q{i}")).unwrap().advance(30 * M, &s);
    }
    qs.trim(20 * M, 20 * M, Ms::MIN, 30 * M, &s);
    assert_eq!(qs.len(), MAX_IDLE_QUEUES);
    assert!(qs.get("q4").is_none() && qs.get("q5").is_some(), "the least recently active went first");
}

/// The ended calls of one queue, from a random stream: (queued, wait, ending).
fn calls() -> impl Strategy<Value = Vec<(Ms, Ms, u8)>> {
    prop::collection::vec((0..3_600_000i64, 0..200_000i64, 0..4u8), 0..60)
}

proptest! {
    /// Window sums, waiting and the longest wait equal a brute-force scan, whatever order
    /// the calls' ends arrive in; long_wait stretches equal a scan of every millisecond's
    /// neighbourhood (at the interval edges).
    #[test]
    fn figures_match_a_brute_force_model(calls in calls(), now in 0..4_000_000i64, len in 1..3_600_000i64, sl_mode in 0..2u8) {
        let mut s = settings();
        if sl_mode == 1 { s.sl_mode = crate::settings::SlMode::AnsweredOnly; }
        let mut qs = Queues::default();
        // Every call queued (in time order), then the ends in call order (out of time order).
        let mut order: Vec<usize> = (0..calls.len()).collect();
        order.sort_by_key(|&i| calls[i].0);
        for &i in &order {
            qs.apply(&ev(&format!("c{i}"), Queued), calls[i].0, false, &s).unwrap();
        }
        for (i, &(q, w, k)) in calls.iter().enumerate() {
            let kind = match k { 0 => Answered, 1 => Abandoned, 2 => Left, _ => continue };
            qs.apply(&ev(&format!("c{i}"), kind), q + w, false, &s).unwrap();
        }
        let (per, floor) = qs.figures(now, 0, &[Some(len), None], &s, None);
        let f = if per.is_empty() { floor } else { per[0].1.clone() };
        // The model.
        for (wi, from) in [(0usize, now - len), (1, 0)] {
            let mut m = CallSums::default();
            for &(q, w, k) in &calls {
                let end = q + w;
                if k < 3 && from <= end && end <= now {
                    let e = [Ending::Answered, Ending::Abandoned, Ending::Left][k as usize];
                    m.add(&CallSums::one(e, w, &s));
                }
            }
            prop_assert_eq!(f.windows[wi], m);
            prop_assert_eq!(f.windows[wi].service_level(s.sl_mode), m.service_level(s.sl_mode));
        }
        // Trimmed before a cutoff, windows that start at or after it keep their sums.
        let mut trimmed = qs.clone();
        let cut = now - len / 2;
        trimmed.trim(cut, Ms::MIN, Ms::MIN, cut, &s);
        if let Some(q) = trimmed.get("q") {
            let mut m = CallSums::default();
            for &(qd, w, k) in &calls {
                let end = qd + w;
                if k < 3 && cut <= end && end <= now {
                    m.add(&CallSums::one([Ending::Answered, Ending::Abandoned, Ending::Left][k as usize], w, &s));
                }
            }
            prop_assert_eq!(q.sums(cut, now, &s), m);
        }
        let waiting: Vec<Ms> = calls.iter().filter(|&&(q, w, k)| q <= now && (k == 3 || q + w > now)).map(|c| c.0).collect();
        prop_assert_eq!(f.waiting, waiting.len() as u64);
        prop_assert_eq!(f.oldest_since, waiting.iter().min().copied());
        // long_wait: at any instant x the alert is active iff some call waits at x and has
        // for at least the limit: queued + limit <= x < end.
        if let Some(q) = qs.get("q") {
            let alerts = q.tentative(10_000_000, &s).alerts;
            let lw: Vec<&Alert> = alerts.iter().filter(|a| a.kind == LongWait).collect();
            let active = |x: Ms| calls.iter().any(|&(q, w, k)| q + s.long_wait_ms <= x && (k == 3 || x < q + w));
            let mut probes: Vec<Ms> = calls.iter().flat_map(|&(q, w, _)| [q + s.long_wait_ms, q + w, q + w - 1, q + s.long_wait_ms - 1]).collect();
            probes.sort_unstable();
            for x in probes {
                let in_alert = lw.iter().any(|a| a.started_at <= x && a.resolved_at.is_none_or(|r| x < r));
                prop_assert_eq!(in_alert, active(x), "at {}", x);
            }
            // Maximal stretches: none ends where the next begins.
            for pair in lw.windows(2) {
                prop_assert!(pair[0].resolved_at.is_some_and(|r| r < pair[1].started_at));
            }
        }
    }
}

/// Views at instants in any order (a view at an earlier instant than the last, as a
/// replay's or a late reader's), with calls ending late and history trimmed between them.
fn view_steps() -> impl Strategy<Value = Vec<(Ms, u8)>> {
    prop::collection::vec((0..4_000_000i64, 0..6u8), 1..12)
}

proptest! {
    /// The window sums a run of views finds from its hints (`Queue::start_index`) equal the
    /// binary search's and a brute-force scan, whatever moved in `ended` between the views:
    /// ends inserted before the hint, calls trimmed from the front, the window start moved
    /// back. And the floor's sums are the same whichever queues are listed.
    #[test]
    fn hinted_window_sums_equal_the_search(calls in calls(), steps in view_steps(), len in 1..3_600_000i64) {
        let s = settings();
        let mut qs = Queues::default();
        let mut order: Vec<usize> = (0..calls.len()).collect();
        order.sort_by_key(|&i| calls[i].0);
        for &i in &order {
            qs.apply(&ev(&format!("c{i}"), Queued), calls[i].0, false, &s).unwrap();
        }
        let mut ended: Vec<(Ms, Ms, u8)> = Vec::new();
        let mut next = 0;
        let mut trimmed_before = Ms::MIN;
        for (now, what) in steps {
            // Between views: a few more calls end (in call order: out of time order), or the
            // history before some instant is trimmed.
            if what == 5 {
                let cut = now - len;
                qs.trim(cut, Ms::MIN, Ms::MIN, cut, &s);
                trimmed_before = trimmed_before.max(cut);
            } else {
                for _ in 0..what {
                    let Some(&(q, w, k)) = calls.get(next) else { break };
                    let kind = match k { 0 => Answered, 1 => Abandoned, 2 => Left, _ => Queued };
                    if kind != Queued {
                        qs.apply(&ev(&format!("c{next}"), kind), q + w, false, &s).unwrap();
                        ended.push((q, w, k));
                    }
                    next += 1;
                }
            }
            let (none, floor_none) = qs.figures(now, 0, &[Some(len), None], &s, Some(&[]));
            prop_assert!(none.is_empty());
            let (per, floor) = qs.figures(now, 0, &[Some(len), None], &s, None);
            let per: Vec<QueueFigures> = per.into_iter().map(|(_, f)| f).collect();
            prop_assert_eq!(&floor_none, &floor, "the floor's sums whatever is listed");
            let Some(f) = per.first() else { continue };
            let q = qs.get("q").unwrap();
            for (wi, from) in [(0usize, now - len), (1, 0)] {
                prop_assert_eq!(f.windows[wi], q.sums(from, now, &s), "window {} at {}", wi, now);
                // Windows reaching before a trim hold what is left plus the sums trimmed
                // away (the prefix marks keep them): the model only where nothing is cut.
                if from >= trimmed_before {
                    let mut m = CallSums::default();
                    for &(cq, w, k) in &ended {
                        if from <= cq + w && cq + w <= now {
                            m.add(&CallSums::one([Ending::Answered, Ending::Abandoned, Ending::Left][k as usize], w, &s));
                        }
                    }
                    prop_assert_eq!(f.windows[wi], m, "window {} at {} against the scan", wi, now);
                }
            }
        }
    }
}
