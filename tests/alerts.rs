//! Alert timing at its edges (docs/alerts.md#timing), through `replay`. Asia/Shanghai (UTC+8): the peak
//! window 09:30-11:30 local is 01:30-03:30Z.

mod common;

use common::replay;
use serde_json::Value;

const CFG: &str = "[floor]\ntimezone = \"Asia/Shanghai\"\n[peak]\nwindows = [\"09:30-11:30\"]\n[alerts.long_aux]\nmax_aux_secs = 600\nper_reason = { restroom = 900 }\n";

fn ev(ts: &str, agent: &str, state: &str, reason: Option<&str>) -> String {
    let r = reason.map(|r| format!(",\"reason\":\"{r}\"")).unwrap_or_default();
    format!("{{\"ts\":\"2026-11-23T{ts}Z\",\"agent\":\"{agent}\",\"state\":\"{state}\"{r},\"team\":\"T1\"}}\n")
}

/// Twelve agents idle from 01:00Z, then `extra` lines.
fn floor(extra: &[String], now: &str) -> String {
    let mut s: String = (0..12).map(|i| ev("01:00:00.000", &format!("A{i:02}"), "idle", None)).collect();
    for e in extra {
        s.push_str(e);
    }
    // A far-away agent in another team moves the event clock to `now`.
    s.push_str(&format!(
        "{{\"ts\":\"2026-11-23T{now}Z\",\"agent\":\"CLOCK\",\"state\":\"offline\",\"team\":\"ZZ\"}}\n"
    ));
    s
}

fn four_on_break(at: &str) -> Vec<String> {
    (0..4).map(|i| ev(at, &format!("A{i:02}"), "aux", Some("break"))).collect()
}

fn alerts(s: &Value, kind: &str) -> Vec<Value> {
    s["alerts"].as_array().unwrap().iter().filter(|a| a["kind"] == kind).cloned().collect()
}

fn check(name: &str, extra: Vec<String>, now: &str, kind: &str, expected: &[(&str, &str, Option<&str>, usize)]) {
    let s = replay(&floor(&extra, now), CFG);
    let got = alerts(&s, kind);
    assert_eq!(got.len(), expected.len(), "{name}: {:#?}", got);
    for (a, (started, fired, resolved, n_agents)) in got.iter().zip(expected) {
        assert_eq!(a["started_at"], format!("2026-11-23T{started}Z"), "{name}: started_at");
        assert_eq!(a["fired_at"], format!("2026-11-23T{fired}Z"), "{name}: fired_at");
        match resolved {
            Some(r) => assert_eq!(a["resolved_at"], format!("2026-11-23T{r}Z"), "{name}: resolved_at"),
            None => assert_eq!(a["resolved_at"], Value::Null, "{name}: resolved_at"),
        }
        assert_eq!(a["agents"].as_array().unwrap().len(), *n_agents, "{name}: agents {}", a["agents"]);
    }
}

#[test]
fn aux_cluster_hold_just_met_and_just_missed() {
    // 4 of 12 in unplanned aux at peak: share 1/3, P(X>=4 | 12, 0.085) ≈ 0.015 < 0.05.
    check(
        "held 60 s",
        four_on_break("01:40:00.000"),
        "01:45:00.000",
        "aux_cluster",
        &[("01:40:00.000", "01:41:00.000", None, 4)],
    );
    // One returns 1 ms before the hold is met: 3 of 12 has P ≈ 0.08, not significant.
    let mut e = four_on_break("01:40:00.000");
    e.push(ev("01:40:59.999", "A00", "idle", None));
    check("missed by 1 ms", e, "01:45:00.000", "aux_cluster", &[]);
    // Returning exactly at the hold: it fired (held throughout [t0, t0+hold)); at fired_at
    // only three are in aux; false from then on, so it resolves one hold later.
    let mut e = four_on_break("01:40:00.000");
    e.push(ev("01:41:00.000", "A00", "idle", None));
    check(
        "returns at the hold",
        e,
        "01:45:00.000",
        "aux_cluster",
        &[("01:40:00.000", "01:41:00.000", Some("01:42:00.000"), 3)],
    );
    // With the event clock an alert due after now has not fired yet.
    check("not yet", four_on_break("01:40:00.000"), "01:40:59.999", "aux_cluster", &[]);
    check(
        "exactly now",
        four_on_break("01:40:00.000"),
        "01:41:00.000",
        "aux_cluster",
        &[("01:40:00.000", "01:41:00.000", None, 4)],
    );
    // Planned aux (lunch) does not count.
    let e: Vec<String> = (0..4).map(|i| ev("01:40:00.000", &format!("A{i:02}"), "aux", Some("lunch"))).collect();
    check("planned", e, "01:45:00.000", "aux_cluster", &[]);
}

#[test]
fn aux_cluster_at_peak_boundaries_in_a_non_utc_zone() {
    // Breaks start before the window: the condition starts with the peak at 01:30Z.
    check(
        "peak start",
        four_on_break("01:29:30.000"),
        "01:35:00.000",
        "aux_cluster",
        &[("01:30:00.000", "01:31:00.000", None, 4)],
    );
    // Still on break when the peak ends at 03:30Z: resolves one hold later.
    check(
        "peak end",
        four_on_break("03:00:00.000"),
        "03:40:00.000",
        "aux_cluster",
        &[("03:00:00.000", "03:01:00.000", Some("03:31:00.000"), 4)],
    );
    // Outside the window nothing fires (and 09:30 UTC is not 09:30 Shanghai).
    check("off peak", four_on_break("09:30:00.000"), "09:45:00.000", "aux_cluster", &[]);
}

#[test]
fn long_aux_limits_reasons_and_breaks() {
    // Reason changes inside unplanned aux keep the stretch; the limit is the entry reason's.
    let e = vec![ev("02:00:00.000", "A05", "aux", Some("break")), ev("02:05:00.000", "A05", "aux", Some("restroom"))];
    check("reason change", e, "02:30:00.000", "long_aux", &[("02:00:00.000", "02:10:00.000", None, 1)]);
    // Entered with restroom: 900 s.
    let e = vec![ev("02:00:00.000", "A05", "aux", Some("restroom")), ev("02:15:00.000", "A05", "idle", None)];
    check(
        "per reason, leaves at the limit",
        e,
        "02:30:00.000",
        "long_aux",
        &[("02:00:00.000", "02:15:00.000", Some("02:15:00.000"), 1)],
    );
    // Leaving 1 ms early: nothing. Planned aux breaks the stretch.
    let e = vec![ev("02:00:00.000", "A05", "aux", Some("break")), ev("02:09:59.999", "A05", "idle", None)];
    check("left early", e, "02:30:00.000", "long_aux", &[]);
    let e = vec![
        ev("02:00:00.000", "A05", "aux", Some("break")),
        ev("02:05:00.000", "A05", "aux", Some("lunch")),
        ev("02:06:00.000", "A05", "aux", Some("break")),
    ];
    check("planned in between", e, "02:30:00.000", "long_aux", &[("02:06:00.000", "02:16:00.000", None, 1)]);
    // Duplicates and late events do not break or restart it.
    let e = vec![
        ev("02:00:00.000", "A05", "aux", Some("break")),
        ev("02:00:00.000", "A05", "aux", Some("break")),
        ev("01:59:00.000", "A05", "idle", None),
    ];
    let s = replay(&floor(&e, "02:30:00.000"), CFG);
    assert_eq!(s["ingest"]["duplicate"], 1);
    assert_eq!(s["ingest"]["late"], 1);
    let a = alerts(&s, "long_aux");
    assert_eq!(a.len(), 1);
    assert_eq!(a[0]["id"], "long_aux:T1:A05:1795399200000");
    assert_eq!(a[0]["value"].as_f64(), Some(600.0));
}

#[test]
fn load_peak_with_hold() {
    let cfg = "[peak]\nwindows = []\nbusy_share = 0.5\nhold_secs = 300\n";
    // 10 agents; 5 start talking at 10:00 (share 0.5 >= 0.5): peak from 10:05.
    let mut s: String = (0..10).map(|i| ev("09:00:00.000", &format!("A{i}"), "idle", None)).collect();
    for i in 0..5 {
        s.push_str(&ev("10:00:00.000", &format!("A{i}"), "talking", None));
    }
    let at = |now: &str| {
        let mut t = s.clone();
        t.push_str(&format!(
            "{{\"ts\":\"2026-11-23T{now}Z\",\"agent\":\"CLOCK\",\"state\":\"offline\",\"team\":\"ZZ\"}}\n"
        ));
        replay(&t, cfg)
    };
    let t1 = |snap: &Value| snap["teams"].as_array().unwrap().iter().find(|t| t["team"] == "T1").cloned().unwrap();
    assert_eq!(t1(&at("10:04:59.999"))["peak"], false);
    let snap = at("10:05:00.000");
    assert_eq!(t1(&snap)["peak"], true);
    let snap = at("10:10:00.000");
    // 5 minutes of peak so far: 5 agents talking and 5 idle.
    let w = &t1(&snap)["windows"]["peak_today"];
    assert_eq!(w["talking_s"].as_f64(), Some(1500.0));
    assert_eq!(w["idle_s"].as_f64(), Some(1500.0));
}

/// Wall clock, a feed delayed by more than the long_aux limit: the alert fires on the
/// absence of events (at entry + limit); the agent's next event, stamped before the fire
/// time, shows it never should have. It is removed from the store and retracted to hooks;
/// with the same events on time it would never have fired (SPEC §2.5).
#[test]
fn a_late_end_of_aux_retracts_the_long_aux_it_fired() {
    use floorwatch::config::FileConfig;
    use floorwatch::engine::{Engine, Source};
    use floorwatch::event::{Aliases, decode_str};
    let settings = FileConfig::parse("[server]\nclock = \"wall\"\n", "test").unwrap().settings().unwrap();
    let mut e = Engine::new(settings);
    e.enable_notifications();
    let ev = |line: &str| decode_str(line, &Aliases::default()).unwrap();
    let t0: i64 = 1_795_420_800_000; // 2026-11-23T08:00:00Z
    // Received fifteen minutes late, and nothing else for the agent until later still.
    e.apply_batch(
        t0 + 900_000,
        Source::Tcp,
        [ev(&format!(r#"{{"ts":{t0},"agent":"A1","state":"aux","reason":"break","team":"T1"}}"#))],
        &[],
    );
    e.advance(t0 + 900_000);
    let fired = e.alerts();
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!((fired[0].fired_at, fired[0].resolved_at), (t0 + 600_000, None));
    let told = e.take_notifications();
    assert_eq!(told.len(), 1);
    assert!(!told[0].retracted);
    // The end of the stretch, five minutes after its start, arrives now.
    e.apply_batch(
        t0 + 1_000_000,
        Source::Tcp,
        [ev(&format!(r#"{{"ts":{},"agent":"A1","state":"idle"}}"#, t0 + 300_000))],
        &[],
    );
    assert_eq!(e.alerts(), vec![], "the alert never was");
    let told = e.take_notifications();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].retracted);
    assert_eq!(told[0].id, fired[0].id);
    let json = serde_json::to_value(told[0].alert()).unwrap();
    assert_eq!(json["retracted"], true);
    // A stretch that ends after the fire time is a plain resolve.
    e.apply_batch(
        t0 + 1_100_000,
        Source::Tcp,
        [ev(&format!(r#"{{"ts":{},"agent":"A1","state":"aux","reason":"break"}}"#, t0 + 400_000))],
        &[],
    );
    e.advance(t0 + 1_100_000);
    e.apply_batch(
        t0 + 1_200_000,
        Source::Tcp,
        [ev(&format!(r#"{{"ts":{},"agent":"A1","state":"idle"}}"#, t0 + 1_050_000))],
        &[],
    );
    let a = e.alerts();
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!((a[0].fired_at, a[0].resolved_at), (t0 + 1_000_000, Some(t0 + 1_050_000)));
    let told = e.take_notifications();
    assert_eq!(
        told.iter().map(|a| (a.state, a.retracted)).collect::<Vec<_>>(),
        vec![(floorwatch::alert::AlertState::Firing, false), (floorwatch::alert::AlertState::Resolved, false)]
    );
}

/// `replay` lists every alert of its input, however many days it covers (the daemon keeps
/// resolved ones 48 hours): a long_aux of the first day is still there three days later.
#[test]
fn replay_lists_the_alerts_of_every_day() {
    let mut s = floor(
        &[ev("02:00:00.000", "A00", "aux", Some("break")), ev("02:30:00.000", "A00", "idle", None)],
        "03:00:00.000",
    );
    // Enough events on the fourth day for the engine's housekeeping (every 65,536 applied)
    // to run there: it is what drops resolved alerts in the daemon.
    let start = 1_795_652_400_000i64; // 2026-11-26T00:20:00Z
    for i in 0..70_000i64 {
        let state = if i % 2 == 0 { "talking" } else { "idle" };
        s.push_str(&format!(
            "{{\"ts\":{},\"agent\":\"B{}\",\"state\":\"{state}\",\"team\":\"ZZ\"}}\n",
            start + i * 100,
            i % 50
        ));
    }
    s.push_str("{\"ts\":\"2026-11-26T03:00:00Z\",\"agent\":\"CLOCK\",\"state\":\"idle\",\"team\":\"ZZ\"}\n");
    let snap = replay(&s, CFG);
    assert_eq!(snap["now"], "2026-11-26T03:00:00.000Z");
    let long = alerts(&snap, "long_aux");
    assert_eq!(long.len(), 1, "{long:?}");
    assert_eq!(long[0]["fired_at"], "2026-11-23T02:10:00.000Z");
    assert_eq!(long[0]["resolved_at"], "2026-11-23T02:30:00.000Z");
}
