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
    (r, slots[0])
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
    }
}
