//! The daemon's way of applying equals `replay`'s (SPEC §6: the same events through TCP,
//! WebSocket, HTTP and `replay` give identical figures). The daemon on the event clock
//! applies what each read brings, a batch of any size, advances its detectors and the
//! roster's alerts after every batch, runs its housekeeping on a timer, now and then
//! restarts from its state snapshot and reads its roster file again (the same file: a
//! restart, SIGHUP); `replay` reads its file in its own chunks and advances once per minute
//! of event time. On multi-day floors with a roster, queues, a lagging site and 3% noise,
//! in two zones (one with agents moving between teams, one across the night New York's
//! clocks go back, with load peaks and a one-day AHT chart history), the two give the same
//! whole snapshot (every agent, window, queue and alert) at every comparison.

use floorwatch::engine::{Engine, Source};
use floorwatch::event::{Aliases, DecodeError, decode_bytes};

mod common;

/// A simulated floor of three days and what the comparison does with it.
struct Floor {
    seed: u64,
    timezone: &'static str,
    /// `[floor]` keys and tables of their own.
    toml: &'static str,
    /// The daemon's batches: 1 to this many lines.
    batch_max: u64,
    /// A site whose lines come late: `common::lag`'s team, hours and delay.
    lagging: (&'static str, (i64, i64), i64),
    /// Agents moving between teams (`moves`).
    moving: bool,
}

/// `lines` with agents moving: A0001 between T01 and T04 every hour, and every seventh
/// agent (A0003, A0010, ...) to T05 on the second day (its events carry the team it is in).
fn moves(lines: Vec<String>, start: floorwatch::time::Ms) -> Vec<String> {
    lines
        .into_iter()
        .map(|l| {
            let Ok(mut v) = serde_json::from_str::<serde_json::Value>(&l) else { return l };
            let (Some(agent), Some(t)) =
                (v["agent"].as_str(), v["ts"].as_str().and_then(floorwatch::time::parse_rfc3339))
            else {
                return l;
            };
            let n: u64 = agent.trim_start_matches('A').parse().unwrap_or(0);
            let team = if agent == "A0001" {
                Some(if (t / 3_600_000) % 2 == 0 { "T01" } else { "T04" })
            } else if n % 7 == 3 && (t - start).div_euclid(86_400_000) == 1 {
                Some("T05")
            } else {
                None
            };
            match team {
                Some(team) if v.get("state").is_some() => {
                    v["team"] = serde_json::Value::from(team);
                    v.to_string()
                }
                _ => l,
            }
        })
        .collect()
}

/// The simulator's seeds to run: `FLOORWATCH_BATCH_SEEDS=1,2,...`, or `default`.
fn seeds(default: &str) -> Vec<u64> {
    common::env_list("FLOORWATCH_BATCH_SEEDS", default)
}

/// Feeds `floor` to `replay::feed` in chunks of 2,999 lines and to `Engine::apply_batch` in
/// random batches (received at the newest stamp so far, as the event clock's daemon is),
/// the latter with housekeeping after one batch in 20 or so; compares the snapshots after
/// every third chunk. Returns the number of comparisons and of firing or resolved alerts
/// in the last snapshot.
fn compare(floor: &Floor) -> (usize, usize) {
    let start = floorwatch::time::parse_rfc3339("2026-10-30T22:00:00Z").unwrap();
    let mut sim = floorwatch::sim::Simulator::new(floorwatch::sim::SimConfig {
        agents: 60,
        teams: 6,
        seed: floor.seed,
        start,
        duration: Some(3 * 86_400_000),
        timezone: floor.timezone.into(),
        shifts: true,
        noise: 0.03,
        queues: 2,
        ..Default::default()
    })
    .unwrap();
    sim.record_roster();
    let lines: Vec<String> = sim.by_ref().map(|l| l.line).collect();
    let lines = if floor.moving {
        let moved = moves(lines.clone(), start);
        let changed = lines.iter().zip(&moved).filter(|(a, b)| a != b).count();
        assert!(changed > 1_000, "{changed} lines moved an agent");
        moved
    } else {
        lines
    };
    let (team, hours, delay) = floor.lagging;
    let lines = common::lag(lines, team, hours, delay);
    let dir = tempfile::tempdir().unwrap();
    let csv = floorwatch::sim::roster_csv(&sim.take_roster());
    let settings = common::rostered_settings(dir.path(), floor.timezone, floor.toml, &csv);
    let (mut replayed, mut daemon) = (Engine::new(settings.clone()), Engine::new(settings.clone()));
    let file = settings.roster.clone().expect("the roster file is read");
    let snapshot = common::whole_snapshot;
    let aliases = Aliases::default();
    let mut random = common::xorshift(floor.seed);
    let (mut received, mut compared, mut last) = (0, 0, serde_json::Value::Null);
    let chunks: Vec<&[String]> = lines.chunks(2_999).collect();
    for (ci, chunk) in chunks.iter().enumerate() {
        let text = chunk.join("\n") + "\n";
        floorwatch::replay::feed(&mut replayed, text.as_bytes(), 65_536, false).unwrap();
        let mut i = 0;
        while i < chunk.len() {
            let n = (1 + random(floor.batch_max) as usize).min(chunk.len() - i);
            let decoded: Vec<_> = chunk[i..i + n].iter().map(|l| decode_bytes(l.as_bytes(), &aliases)).collect();
            for ts in decoded.iter().filter_map(|r| r.as_ref().ok().and_then(|e| e.ts())) {
                received = received.max(ts);
            }
            let refused: Vec<_> = decoded.iter().filter_map(|r| r.as_ref().err().map(DecodeError::refusal)).collect();
            daemon.apply_batch(received, Source::Tcp, decoded.into_iter().filter_map(Result::ok), &refused);
            if random(20) == 0 {
                daemon.housekeeping();
            }
            i += n;
        }
        // Now and then the daemon restarts from its state snapshot, or reads its roster file
        // again (SIGHUP): the same file, which changes nothing, there and then or later.
        let step = random(8);
        if step < 2 {
            let before = snapshot(&mut daemon);
            let what = if step == 0 {
                daemon = Engine::restore(settings.clone(), &daemon.save()).unwrap();
                "restarted"
            } else {
                daemon.upload_roster_file(&file).unwrap();
                "the file read again"
            };
            let d = common::json_differences(&before, &snapshot(&mut daemon), 20);
            assert!(d.is_empty(), "seed {} in {}: {what}:\n{}", floor.seed, floor.timezone, d.join("\n"));
        }
        if ci % 3 == 2 || ci + 1 == chunks.len() {
            let (a, b) = (snapshot(&mut replayed), snapshot(&mut daemon));
            let d = common::json_differences(&a, &b, 20);
            assert!(
                d.is_empty(),
                "seed {} in {}, after line {} of {}, at {}:\n{}",
                floor.seed,
                floor.timezone,
                (ci + 1) * 2_999,
                lines.len(),
                a["now"],
                d.join("\n")
            );
            compared += 1;
            last = a;
        }
    }
    let alerts = last["alerts"].as_array().map_or(0, |a| a.len());
    (compared, alerts)
}

#[test]
fn the_daemons_batches_give_the_snapshots_of_replay() {
    for seed in seeds("3") {
        let floors = [
            Floor {
                seed,
                timezone: "Asia/Shanghai",
                toml: "windows = [\"15m\", \"60m\", \"2h\", \"today\", \"peak_today\"]",
                batch_max: 300,
                lagging: ("T03", (1, 3), 25),
                moving: true,
            },
            Floor {
                seed,
                timezone: "America/New_York",
                toml: "windows = [\"15m\", \"60m\", \"24h\", \"today\", \"peak_today\"]\nmax_backfill_secs = 3600\n\
                       [peak]\nbusy_share = 0.6\n[aht_chart]\nmin_contacts = 3\nbaseline_points = 8\nhistory_days = 1",
                batch_max: 2_000,
                lagging: ("T02", (14, 15), 40),
                moving: false,
            },
        ];
        for floor in &floors {
            let (compared, alerts) = compare(floor);
            // Three days of 60 agents: some 64,000 lines, compared about seven times; a
            // floor whose alerts (adherence, long aux, queues, the chart) the comparison covers.
            assert!(compared >= 6, "{compared} comparisons");
            assert!(alerts >= 50, "{alerts} alerts in {}", floor.timezone);
        }
    }
}
