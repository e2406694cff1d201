//! A view of a large floor runs on one thread per core, each summing a part of the agent
//! slots (issue 20). Its figures must not depend on how many parts there are: these tests
//! compare views in several parts with the reference (one part, every window summed from
//! the timelines), along a simulated day with noise (late events, duplicates, team moves)
//! and with agent slots freed and reused.

use floorwatch::config::FileConfig;
use floorwatch::engine::{Engine, ViewOpts};
use floorwatch::sim::{SimConfig, Simulator};

fn snapshot(e: &mut Engine, now: i64, opts: &ViewOpts) -> serde_json::Value {
    serde_json::to_value(floorwatch::snapshot::Snapshot(&e.view(now, opts))).unwrap()
}

/// Mean, population standard deviation and CV of `v`, the textbook way.
fn spread(v: &[f64]) -> [Option<f64>; 3] {
    if v.is_empty() {
        return [None; 3];
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let std = (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt();
    [Some(mean), Some(std), (v.len() >= 2 && mean != 0.0).then(|| std / mean)]
}

/// Each team's and the floor's dispersion figures in a snapshot with its agents equal the
/// spread of the qualifying members' own figures (logged in at least `min_logged_s`),
/// computed here independently (to 1e-12: the daemon adds in fixed point).
fn check_dispersions(snap: &serde_json::Value, min_logged_s: f64) {
    let agents = snap["agents"].as_array().unwrap();
    let mut groups: Vec<(&serde_json::Value, Vec<&serde_json::Value>)> = snap["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t, agents.iter().filter(|a| a["team"] == t["team"]).collect()))
        .collect();
    groups.push((&snap["floor"], agents.iter().collect()));
    let mut checked = 0;
    for (group, members) in groups {
        for w in snap["windows"].as_array().unwrap() {
            let w = w.as_str().unwrap();
            let qualifying: Vec<&serde_json::Value> = members
                .iter()
                .copied()
                .filter(|a| {
                    let logged = a["windows"][w]["logged_in_s"].as_f64().unwrap();
                    logged > 0.0 && (logged * 1000.0).round() >= min_logged_s * 1000.0
                })
                .collect();
            for (figure, name) in [("aux_ratio", "aux_ratio"), ("talk_utilization", "talk_utilization")] {
                let values: Vec<f64> = qualifying.iter().filter_map(|a| a["windows"][w][figure].as_f64()).collect();
                let want = spread(&values);
                for (k, suffix) in ["mean", "std", "cv"].iter().enumerate() {
                    let got = group["windows"][w][format!("{name}_{suffix}")].as_f64();
                    let ok = match (got, want[k]) {
                        (Some(g), Some(x)) => (g - x).abs() <= 1e-12 * x.abs().max(1.0),
                        (None, None) => true,
                        _ => false,
                    };
                    assert!(ok, "{}: {w} {name}_{suffix} {got:?}, the members' {:?}", group["team"], want[k]);
                    checked += usize::from(got.is_some());
                }
            }
        }
    }
    assert!(checked > 0, "no dispersion figure to check");
}

/// Feeds `lines` in chunks of `chunk` to the reference and to each engine (its parts
/// beside it), and after each chunk compares their floor views at an instant `step_ms`
/// apart in a cycle of `cycle`, with and without agents (`kinds`: agents, scrape). Returns
/// how many views were compared and how many scheduled agents they listed.
fn compare_along(
    reference: &mut Engine,
    engines: &mut [(usize, Engine)],
    lines: &[String],
    (chunk, step_ms, cycle): (usize, i64, i64),
    kinds: &[(bool, bool)],
) -> (usize, usize) {
    let (mut compared, mut scheduled) = (0, 0);
    for (i, chunk) in lines.chunks(chunk).enumerate() {
        let batch = chunk.join("\n");
        floorwatch::replay::feed(reference, batch.as_bytes(), 65536, false).unwrap();
        for (_, e) in engines.iter_mut() {
            floorwatch::replay::feed(e, batch.as_bytes(), 65536, false).unwrap();
        }
        let now = reference.max_ts().unwrap() + (i as i64 % cycle) * step_ms;
        for &(agents, scrape) in kinds {
            let opts = ViewOpts { team: None, agents, alerts: true, scrape };
            let want = snapshot(reference, now, &opts);
            for (n, e) in engines.iter_mut() {
                let got = snapshot(e, now, &opts);
                for key in ["floor", "teams", "agents", "alerts"] {
                    assert_eq!(got[key], want[key], "{key} at {now} in {n} parts (agents {agents}, scrape {scrape})");
                }
            }
            if agents {
                check_dispersions(&want, 300.0);
            }
            scheduled += want["agents"].as_array().unwrap().iter().filter(|a| !a["scheduled"].is_null()).count();
            compared += 1;
        }
    }
    (compared, scheduled)
}

/// Views of the floor in 2, 3 and 7 parts equal the one-part reference at instants along a
/// day, with and without agents listed; a scrape's view (no floor dispersion) too.
#[test]
fn a_floor_viewed_in_parts_equals_the_reference() {
    let start = floorwatch::time::parse_instant("2026-11-23T08:00:00Z").unwrap();
    let cfg = SimConfig {
        start,
        agents: 240,
        teams: 7,
        queues: 3,
        noise: 0.05,
        duration: Some(6 * 3_600_000),
        ..SimConfig::default()
    };
    let lines: Vec<String> = Simulator::new(cfg).unwrap().map(|l| l.line).collect();
    // Agents offline for two minutes are forgotten, so slots are freed and given to others
    // (the breaks and shift ends of the simulated day).
    let toml = "[server]\nclock = \"event\"\n[floor]\nmax_backfill_secs = 60\nforget_offline_after_secs = 120\n\
                [peak]\nwindows = [\"09:30-11:30\", \"12:00-13:00\"]\nbusy_share = 0.6\n";
    let settings = FileConfig::parse(toml, "test").unwrap().settings().unwrap();
    let mut reference = Engine::new(settings.clone());
    reference.no_view_cache();
    reference.view_parts(1);
    let mut engines: Vec<(usize, Engine)> = [2, 3, 7]
        .into_iter()
        .map(|n| {
            let mut e = Engine::new(settings.clone());
            e.view_parts(n);
            (n, e)
        })
        .collect();
    let kinds = [(true, false), (false, false), (false, true)];
    let (compared, _) = compare_along(&mut reference, &mut engines, &lines, (1_499, 20_000, 4), &kinds);
    assert!(compared > 30, "views compared: {compared}");
}

/// With a day's roster (adherence figures, scheduled aux counted as planned, a no-show
/// listed in `unassigned`): views in 2 and 3 parts equal the one-part reference.
#[test]
fn a_rostered_floor_viewed_in_parts_equals_the_reference() {
    use floorwatch::sim::roster_csv;
    let start = floorwatch::time::parse_instant("2026-11-23T08:00:00Z").unwrap();
    let cfg = SimConfig { start, agents: 90, teams: 4, queues: 0, noise: 0.03, ..SimConfig::default() };
    let mut sim = Simulator::new(cfg).unwrap();
    sim.record_roster();
    let lines: Vec<String> = sim.by_ref().map(|l| l.line).collect();
    let csv = roster_csv(&sim.take_roster());
    let toml = "[server]\nclock = \"event\"\n[peak]\nwindows = [\"09:30-11:30\", \"14:00-16:30\"]\nbusy_share = 0.8\n";
    let settings = FileConfig::parse(toml, "test").unwrap().settings().unwrap();
    let up = floorwatch::roster::parse::parse(&csv, &settings.tz).unwrap();
    let mut reference = Engine::new(settings.clone());
    reference.no_view_cache();
    reference.view_parts(1);
    reference.upload_roster(&up).unwrap();
    let mut engines: Vec<(usize, Engine)> = [2, 3]
        .into_iter()
        .map(|n| {
            let mut e = Engine::new(settings.clone());
            e.view_parts(n);
            e.upload_roster(&up).unwrap();
            (n, e)
        })
        .collect();
    let kinds = [(true, false), (false, true)];
    let (compared, scheduled) = compare_along(&mut reference, &mut engines, &lines, (997, 45_000, 3), &kinds);
    assert!(compared > 10 && scheduled > 500, "views compared: {compared}, scheduled agents in them: {scheduled}");
    let end = reference.max_ts().unwrap();
    let floor = snapshot(&mut reference, end, &ViewOpts { team: None, agents: false, alerts: false, scrape: false });
    assert!(
        floor["teams"].as_array().unwrap().iter().any(|t| t["team"] == "unassigned"),
        "the simulated roster has a no-show"
    );
}
