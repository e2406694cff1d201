//! Housekeeping changes no figure. The engine trims history no window needs, drops empty
//! teams, prunes checkpoints and forgets calls at its housekeeping (every 65,536 applied
//! events in `replay`, and on the daemon's timer): when it runs must never show in a
//! snapshot (SPEC §2.4: every figure is a pure function of the applied events and now), or
//! a replay and the daemon that took the same events live would disagree.

use floorwatch::engine::{Engine, ViewOpts};
use serde_json::Value;

/// Every path at which `a` and `b` differ (at most `max`), for a readable failure.
fn differences(a: &Value, b: &Value, path: &str, out: &mut Vec<String>, max: usize) {
    if out.len() >= max || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                differences(
                    &x.get(k).cloned().unwrap_or(Value::Null),
                    &y.get(k).cloned().unwrap_or(Value::Null),
                    &format!("{path}.{k}"),
                    out,
                    max,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                let id = p.get("agent").or(p.get("team")).or(p.get("id")).or(p.get("queue"));
                differences(p, q, &format!("{path}[{}]", id.map_or(i.to_string(), |v| v.to_string())), out, max);
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            let ids = |v: &[Value]| -> Vec<String> {
                v.iter().map(|e| e.get("agent").or(e.get("team")).or(e.get("id")).unwrap_or(e).to_string()).collect()
            };
            let (p, q) = (ids(x), ids(y));
            let only =
                |p: &[String], q: &[String]| -> Vec<String> { p.iter().filter(|e| !q.contains(e)).cloned().collect() };
            out.push(format!(
                "{path}: {} against {} entries; only in the first {:?}, only in the second {:?}",
                x.len(),
                y.len(),
                only(&p, &q),
                only(&q, &p)
            ));
        }
        _ => out.push(format!("{path}: {a} against {b}")),
    }
}

/// Three days of the simulator's floor (60 agents in 6 teams, shifts and their roster, two
/// call queues, 2% noise: duplicates, late and invalid lines) in Asia/Shanghai, one agent
/// and the no-show scheduled on the first day only, fed in
/// batches of 499 lines to two engines, one of which also runs its housekeeping after every
/// batch. Their snapshots, with every agent and alert, are the same after every tenth batch
/// and at the end: states, every window's figures (adherence, contacts and AHT, queues),
/// the no-shows, the teams listed and every alert.
#[test]
fn housekeeping_after_every_batch_changes_no_snapshot() {
    let cfg = floorwatch::sim::SimConfig {
        agents: 60,
        teams: 6,
        seed: 11,
        start: floorwatch::time::parse_rfc3339("2026-11-22T22:00:00Z").unwrap(),
        duration: Some(3 * 86_400_000),
        timezone: "Asia/Shanghai".into(),
        shifts: true,
        noise: 0.02,
        queues: 2,
        ..Default::default()
    };
    let mut sim = floorwatch::sim::Simulator::new(cfg).unwrap();
    sim.record_roster();
    let lines: Vec<String> = sim.by_ref().map(|l| l.line).collect();
    let rows = sim.take_roster();
    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("roster.csv");
    // Agent A0005 (who works all three days) and the no-show A0061 scheduled on the first
    // day only: from the second day on their schedule is all in the past.
    let csv: String = floorwatch::sim::roster_csv(&rows)
        .lines()
        .filter(|l| {
            let first_day_only = l.starts_with("A0005,") || l.starts_with("A0061,");
            !first_day_only || l.split(',').nth(1).is_some_and(|t| t.starts_with("2026-11-23"))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(csv.lines().filter(|l| l.starts_with("A0061,")).count(), 1, "{csv}");
    std::fs::write(&roster, csv).unwrap();
    let toml = format!(
        "[server]\nclock = \"event\"\n[floor]\ntimezone = \"Asia/Shanghai\"\n\
         windows = [\"15m\", \"60m\", \"2h\", \"today\", \"peak_today\"]\n[roster]\nfile = {:?}\n",
        roster.to_str().unwrap()
    );
    let file = floorwatch::config::FileConfig::parse(&toml, "test").unwrap();
    let mut settings = file.settings().unwrap();
    settings.roster = file.roster_upload(dir.path(), &settings.tz).unwrap().map(std::sync::Arc::new);
    assert!(settings.roster.is_some(), "the roster file is read");
    // Resolved alerts kept for good, as `replay` keeps them (the daemon keeps 48 hours,
    // SPEC §5.2's "at least the last 24 h": which of the older ones are still there does
    // depend on when housekeeping ran).
    settings.keep_resolved_alerts_ms = floorwatch::time::Ms::MAX;
    let (mut plain, mut kept) = (Engine::new(settings.clone()), Engine::new(settings));
    let opts = ViewOpts { team: None, agents: true, alerts: true, scrape: false };
    let snapshot = |e: &mut Engine| {
        let now = e.latest().expect("events applied");
        serde_json::to_value(floorwatch::snapshot::Snapshot(&e.view(now, &opts))).unwrap()
    };
    let mut compared = 0;
    let batches: Vec<&[String]> = lines.chunks(499).collect();
    for (i, batch) in batches.iter().enumerate() {
        let text = batch.join("\n") + "\n";
        floorwatch::replay::feed(&mut plain, text.as_bytes(), 65536, false).unwrap();
        floorwatch::replay::feed(&mut kept, text.as_bytes(), 65536, false).unwrap();
        kept.housekeeping();
        if i % 10 == 9 || i + 1 == batches.len() {
            let (a, b) = (snapshot(&mut plain), snapshot(&mut kept));
            let mut d = Vec::new();
            differences(&a, &b, "", &mut d, 20);
            assert!(d.is_empty(), "after batch {i} of {}, at {}:\n{}", batches.len(), a["now"], d.join("\n"));
            compared += 1;
        }
    }
    // The floor exercises what the comparison is about: three days, so the trim drops whole
    // days of history; adherence, no-shows, queues and alerts of several kinds.
    let last = snapshot(&mut plain);
    let a5 = last["agents"].as_array().unwrap().iter().find(|a| a["agent"] == "A0005").unwrap();
    assert_eq!((&a5["scheduled"], &a5["windows"]["today"]["staffed_s"]), (&Value::from("off"), &Value::from(0.0)));
    assert!(last["agents"].as_array().unwrap().iter().any(|a| a["agent"] == "A0061"), "the first day's no-show");
    assert!(compared >= 10 && lines.len() > 50_000, "{compared} comparisons of {} lines", lines.len());
    let kinds: std::collections::BTreeSet<&str> =
        last["alerts"].as_array().unwrap().iter().filter_map(|a| a["kind"].as_str()).collect();
    for k in ["out_of_adherence", "long_aux"] {
        assert!(kinds.contains(k), "no {k} alert: {kinds:?}");
    }
    assert!(last["floor"]["windows"]["today"]["scheduled_s"].as_f64().unwrap() > 0.0);
    assert!(!last["queues"].as_array().is_none_or(|q| q.is_empty()), "queues: {}", last["queues"]);
}
