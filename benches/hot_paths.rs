//! Criterion benchmarks of the hot paths (issue 7): decoding an event, applying it,
//! answering a team's window queries, building a snapshot, encoding `/metrics`, and one
//! agent's timeline on its own (appending a day, window sums over a floor of timelines).
//!
//! `cargo bench --bench hot_paths` measures a 10,000-agent floor in 200 teams with four
//! hours of simulated history; `cargo test --all-targets` runs every benchmark once on a
//! small floor so CI stays quick. Results and commands: BENCHMARKS.md.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use floorwatch::config::{ClockMode, Settings};
use floorwatch::engine::{Engine, Source, ViewOpts};
use floorwatch::event::{Aliases, Event, decode_bytes};
use floorwatch::floor::timeline::{Kind, Timeline};
use floorwatch::metrics::Metrics;
use floorwatch::sim::{SimConfig, Simulator};
use floorwatch::snapshot::Snapshot;

/// Full size under `cargo bench` (criterion is passed `--bench`), tiny under `cargo test`.
fn full() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// 2026-11-23T08:00:00Z: the simulated floor's start and the working days'.
const DAY_START: i64 = 1_795_420_800_000;

struct Floor {
    agents: u32,
    teams: u32,
    hours: i64,
}

fn floor() -> Floor {
    if full() { Floor { agents: 10_000, teams: 200, hours: 4 } } else { Floor { agents: 200, teams: 10, hours: 1 } }
}

/// A simulated floor's lines: everyone logged in (no shifts), `hours` of traffic.
fn lines(f: &Floor) -> Vec<String> {
    let start = DAY_START;
    let cfg = SimConfig {
        agents: f.agents,
        teams: f.teams,
        start,
        duration: Some(f.hours * 3_600_000),
        shifts: false,
        ..SimConfig::default()
    };
    Simulator::new(cfg).expect("valid sim config").map(|l| l.line).collect()
}

fn settings() -> Settings {
    Settings { clock: ClockMode::Event, ..Settings::default() }
}

fn decode_all(lines: &[String], aliases: &Aliases) -> Vec<Event> {
    // Agent events only: these benchmarks measure the agent paths.
    lines.iter().filter_map(|l| decode_bytes(l.as_bytes(), aliases).expect("simulated lines decode").agent()).collect()
}

/// An engine with every line applied, and its now.
fn loaded(lines: &[String]) -> (Engine, i64) {
    let s = settings();
    let aliases = Aliases::new(s.aliases.clone());
    let mut e = Engine::new(s);
    for ev in decode_all(lines, &aliases) {
        e.apply(ev, 0, Source::Replay);
    }
    let now = e.max_ts().unwrap_or(0);
    e.advance(now);
    (e, now)
}

fn benches(c: &mut Criterion) {
    let f = floor();
    let lines = lines(&f);
    let s = settings();
    let aliases = Aliases::new(s.aliases.clone());

    // Decoding: a mix of real simulated lines, one event per iteration.
    let sample: Vec<&[u8]> = lines.iter().step_by(lines.len() / 1000 + 1).map(|l| l.as_bytes()).collect();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(sample.len() as u64));
    g.bench_function("decode_bytes/sim_lines", |b| {
        b.iter(|| {
            for l in &sample {
                black_box(decode_bytes(black_box(l), &aliases).ok());
            }
        })
    });
    g.finish();

    // Applying: the second half of the stream onto an engine that has the first half, so
    // every agent exists and timelines have history. Only `apply` is timed; the engine is
    // rebuilt (untimed) whenever the stream runs out.
    let events = decode_all(&lines, &aliases);
    let half = events.len() / 2;
    let mut g = c.benchmark_group("apply");
    g.throughput(Throughput::Elements(1));
    g.bench_function(format!("engine_apply/{}_agents", f.agents), |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let mut e = Engine::new(settings());
                for ev in events[..half].iter().cloned() {
                    e.apply(ev, 0, Source::Replay);
                }
                let n = left.min((events.len() - half) as u64) as usize;
                let batch: Vec<Event> = events[half..half + n].to_vec();
                let t = Instant::now();
                for ev in batch {
                    black_box(e.apply(ev, 0, Source::Replay));
                }
                timed += t.elapsed();
                left -= n as u64;
            }
            timed
        })
    });
    g.finish();

    // Views of a loaded floor.
    let (mut engine, now) = loaded(&lines);
    let team = "T001".to_string();
    let team = if f.teams >= 100 { team } else { "T01".to_string() };
    let metrics = Metrics::new(false);
    let mut g = c.benchmark_group("view");
    g.bench_function(format!("team_windows/{}_members", f.agents / f.teams), |b| {
        let opts = ViewOpts { team: Some(team.clone()), agents: true, alerts: true, scrape: false };
        b.iter(|| black_box(engine.view(now, &opts)).teams.len())
    });
    g.bench_function(format!("team_snapshot_json/{}_members", f.agents / f.teams), |b| {
        let opts = ViewOpts { team: Some(team.clone()), agents: true, alerts: true, scrape: false };
        b.iter(|| serde_json::to_string(&Snapshot(&engine.view(now, &opts))).expect("serializable").len())
    });
    g.sample_size(10);
    g.bench_function(format!("floor_snapshot_json/{}_agents", f.agents), |b| {
        let opts = ViewOpts { team: None, agents: true, alerts: true, scrape: false };
        b.iter(|| serde_json::to_string(&Snapshot(&engine.view(now, &opts))).expect("serializable").len())
    });
    g.bench_function(format!("metrics_render/{}_teams", f.teams), |b| {
        b.iter(|| metrics.render(&mut engine, now, &[("tcp", 1), ("ws", 0)]).len())
    });
    g.finish();

    timeline_benches(c, f.agents as usize);
    late_benches(c);
    read_benches(c);
}

/// The reads of issue 20 on a floor with queues and a day's roster (issue 18): a team's
/// snapshot listing no queue (the floor's queue sums all the same), the floor's without
/// agents (the board's alerts), and a scrape. 10,000 agents in 200 teams, 50 queues, the
/// simulator's shifts and roster, four hours. `FLOORWATCH_BENCH_READS=agents,teams,queues,hours`
/// sets another floor under `cargo bench` (e.g. `20000,400,100,4`: from 256 teams on, a
/// floor snapshot and a scrape write on two threads).
fn read_benches(c: &mut Criterion) {
    use floorwatch::snapshot::{Partial, QueueList};
    let sized = std::env::var("FLOORWATCH_BENCH_READS").ok().filter(|_| full()).map(|v| {
        let n: Vec<u32> = v.split(',').map(|x| x.trim().parse().expect("FLOORWATCH_BENCH_READS: numbers")).collect();
        assert!(n.len() == 4, "FLOORWATCH_BENCH_READS=agents,teams,queues,hours");
        (n[0], n[1], n[2], i64::from(n[3]))
    });
    let (agents, teams, queues, hours) = sized.unwrap_or(if full() { (10_000, 200, 50, 4) } else { (200, 10, 5, 1) });
    let cfg = SimConfig {
        agents,
        teams,
        queues,
        start: DAY_START,
        duration: Some(hours * 3_600_000),
        ..SimConfig::default()
    };
    let mut sim = Simulator::new(cfg).expect("valid sim config");
    sim.record_roster();
    let lines: Vec<String> = sim.by_ref().map(|l| l.line).collect();
    let csv = floorwatch::sim::roster_csv(&sim.take_roster());
    let mut engine = Engine::new(settings());
    let up = floorwatch::roster::parse::parse(&csv, &engine.settings.tz).expect("the simulated roster parses");
    engine.upload_roster(&up).expect("the simulated roster fits");
    floorwatch::replay::feed(&mut engine, lines.join("\n").as_bytes(), 1 << 16, false).expect("fed");
    let now = engine.max_ts().unwrap_or(0);
    engine.advance(now);
    let team = engine.teams().map(|t| t.id.clone()).min().expect("a team");
    let metrics = Metrics::new(false);
    let mut g = c.benchmark_group("reads");
    g.bench_function(format!("team_partial_json/{queues}_queues_roster"), |b| {
        let opts = ViewOpts { team: Some(team.clone()), agents: true, alerts: true, scrape: false };
        let list = QueueList::Only(Vec::new());
        b.iter(|| {
            let v = engine.view_queues(now, &opts, list.names(), true);
            let p = Partial { view: &v, team: Some(&team), queues: list.clone(), recent_alerts: true };
            p.to_vec().len()
        })
    });
    g.sample_size(10);
    g.bench_function(format!("floor_partial_json/{agents}_agents_roster"), |b| {
        let opts = ViewOpts { team: None, agents: false, alerts: true, scrape: false };
        b.iter(|| {
            let v = engine.view_queues(now, &opts, None, true);
            let p = Partial { view: &v, team: None, queues: QueueList::All, recent_alerts: true };
            p.to_vec().len()
        })
    });
    g.bench_function(format!("metrics_render/{teams}_teams_roster"), |b| {
        b.iter(|| metrics.render(&mut engine, now, &[("tcp", 1), ("ws", 0)]).len())
    });
    g.finish();
}

/// Late delivery (issue 13): a 20,000-agent floor in 400 teams with the wall clock; one
/// site (half the teams) is an hour behind and its hour arrives in one batch. Timed: that
/// batch applied and the floor advanced to now (every team it reached re-evaluated from
/// its checkpoint, the alert store reconciled). Untimed setup: an hour of everyone on
/// time, then the other site's second hour on time.
fn late_benches(c: &mut Criterion) {
    let (agents, teams) = if full() { (20_000, 400) } else { (400, 8) };
    let cfg = SimConfig {
        agents,
        teams,
        start: DAY_START,
        duration: Some(2 * 3_600_000),
        shifts: false,
        ..SimConfig::default()
    };
    let s = Settings { clock: ClockMode::Wall, ..Settings::default() };
    let aliases = Aliases::new(s.aliases.clone());
    let all: Vec<Event> = Simulator::new(cfg)
        .expect("valid sim config")
        .filter_map(|l| decode_bytes(l.line.as_bytes(), &aliases).expect("simulated lines decode").agent())
        .collect();
    let hour = DAY_START + 3_600_000;
    let end = all.iter().filter_map(|e| e.ts).max().unwrap_or(hour);
    // Site B: the odd teams (their id's last digit is odd).
    let mut team_of = std::collections::HashMap::new();
    for e in &all {
        if let Some(t) = &e.team {
            team_of.insert(e.agent.clone(), t.clone());
        }
    }
    let lagging = |e: &Event| team_of.get(&e.agent).is_some_and(|t| t.bytes().last().unwrap_or(b'0') % 2 == 1);
    let (first, rest): (Vec<&Event>, Vec<&Event>) = all.iter().partition(|e| e.ts.unwrap_or(0) < hour);
    let (late, on_time): (Vec<&Event>, Vec<&Event>) = rest.into_iter().partition(|e| lagging(e));
    let feed = |e: &mut Engine, evs: &[&Event]| {
        for chunk in evs.chunks(1000) {
            let recv = chunk.iter().filter_map(|e| e.ts).max().unwrap_or(0);
            e.apply_batch(recv, Source::Tcp, chunk.iter().map(|e| (*e).clone()), &[]);
            e.advance(recv);
        }
    };
    let mut g = c.benchmark_group("late");
    g.sample_size(10);
    g.throughput(Throughput::Elements(late.len() as u64));
    g.bench_function(format!("catch_up_an_hour/{agents}_agents_half_late"), |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                let mut e = Engine::new(s.clone());
                feed(&mut e, &first);
                feed(&mut e, &on_time);
                let batch: Vec<Event> = late.iter().map(|e| (*e).clone()).collect();
                let t = Instant::now();
                e.apply_batch(end, Source::Tcp, batch, &[]);
                e.advance(end);
                timed += t.elapsed();
                black_box(e.alerts().len());
            }
            timed
        })
    });
    g.finish();
}

/// A working day of one agent: 200 changes from 08:00, 20 s to 5 min apart (seeded by
/// `agent`), cycling through contacts with and without ACW and both kinds of aux.
fn working_day(agent: usize) -> Vec<(i64, Kind)> {
    const CYCLE: [Kind; 9] = [
        Kind::Idle,
        Kind::Talking,
        Kind::Acw,
        Kind::Idle,
        Kind::Talking,
        Kind::AuxUnplanned,
        Kind::Talking,
        Kind::Acw,
        Kind::AuxPlanned,
    ];
    let mut x = (agent as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut t = DAY_START;
    (0..200)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            t += 20_000 + (x % 280_000) as i64;
            (t, CYCLE[i % CYCLE.len()])
        })
        .collect()
}

/// `Timeline` alone: appending a day of changes to a new timeline (the per-event cost with
/// the vector's growth), and a view's window sums over `agents` such days (15- and
/// 60-minute sliding windows and `today`, durations and contacts: scattered memory).
fn timeline_benches(c: &mut Criterion, agents: usize) {
    let days: Vec<Vec<(i64, Kind)>> = (0..agents).map(working_day).collect();
    let mut g = c.benchmark_group("timeline");
    g.throughput(Throughput::Elements(days[0].len() as u64));
    g.bench_function("change/200_changes", |b| {
        b.iter(|| {
            let mut tl = Timeline::new();
            for &(t, k) in &days[0] {
                black_box(tl.change(t, k));
            }
            tl
        })
    });
    // Viewed at 16:00: each timeline holds the changes up to then, as in the daemon.
    let now = DAY_START + 8 * 3_600_000;
    let floor: Vec<Timeline> = days
        .iter()
        .map(|day| {
            let mut tl = Timeline::new();
            for &(t, k) in day.iter().take_while(|c| c.0 <= now) {
                tl.change(t, k);
            }
            tl
        })
        .collect();
    let midnight = now - now.rem_euclid(86_400_000);
    g.throughput(Throughput::Elements(floor.len() as u64));
    g.bench_function(format!("window_sums/{agents}_agents"), |b| {
        b.iter(|| {
            let mut sum = 0;
            for tl in &floor {
                for from in [now - 900_000, now - 3_600_000, midnight] {
                    sum += tl.durations(from, now)[Kind::Idle as usize];
                    sum += tl.contacts(from, now, true).n as i64;
                }
            }
            sum
        })
    });
    g.finish();
}

criterion_group! {
    name = hot_paths;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(hot_paths);
