//! The journal restores exactly: an engine recovered from a snapshot plus the journal tail
//! equals the engine that never stopped, with the wall clock (arrival times matter) and
//! with damage at the end of the journal.

mod common;

use common::noisy_trace;
use floorwatch::config::{FileConfig, Settings};
use floorwatch::engine::HandleTimes;
use floorwatch::engine::{Engine, Source, ViewOpts};
use floorwatch::event::{Aliases, decode_bytes};
use floorwatch::journal::{Journal, Payload, Recovery};
use floorwatch::snapshot::Snapshot;
use floorwatch::time::Ms;

/// Small AHT chart points (2 contacts, a baseline of 3) so that the trace's charts have
/// limits and rules, compared like everything else.
const WALL: &str = "[server]\nclock = \"wall\"\n[peak]\nwindows = [\"08:30-09:30\"]\n[alerts.aux_cluster]\nhold_secs = 30\n\
                    [aht_chart]\nmin_contacts = 2\nbaseline_points = 3\n";

fn settings() -> Settings {
    FileConfig::parse(WALL, "test").unwrap().settings().unwrap()
}

type Batch = (Ms, Vec<Result<floorwatch::event::Input, floorwatch::event::DecodeError>>);

/// The trace in batches of 1..=20 lines, each received shortly after its last event (and
/// sometimes long after: the wall clock then has moved past later events' times).
fn batches() -> Vec<Batch> {
    let trace = noisy_trace(30, 2500, 11);
    let aliases = Aliases::default();
    let lines: Vec<&str> = trace.lines().collect();
    let mut out = Vec::new();
    let (mut i, mut x) = (0usize, 99u64);
    while i < lines.len() {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let n = 1 + (x >> 40) as usize % 20;
        let batch: Vec<_> =
            lines[i..(i + n).min(lines.len())].iter().map(|l| decode_bytes(l.as_bytes(), &aliases)).collect();
        let max_ts = batch.iter().filter_map(|r| r.as_ref().ok().and_then(|e| e.ts())).max().unwrap_or(0);
        let delay = if (x >> 20) % 9 == 0 { 45_000 } else { ((x >> 24) % 3_000) as Ms };
        out.push((max_ts + delay, batch));
        i += n;
    }
    out
}

/// What `Core::apply` and the ticker do, against an optional journal.
/// `first` is the index of `batches[0]` in the whole trace, so a feed in parts makes the
/// same steps as a feed in one go.
fn feed(engine: &mut Engine, journal: Option<&Journal>, batches: &[Batch], first: usize, every: usize) {
    for (i, (now, batch)) in batches.iter().enumerate() {
        let k = first + i;
        let refused: Vec<_> = batch.iter().filter_map(|r| r.as_ref().err().map(|e| e.refusal())).collect();
        if let Some(j) = journal {
            j.append(&Payload::batch(*now, Source::Tcp, &refused, batch.iter().filter_map(|r| r.as_ref().ok())));
        }
        let events = batch.iter().filter_map(|r| r.as_ref().ok().cloned());
        engine.apply_batch(*now, Source::Tcp, events, &refused);
        // Ticker steps and views between batches (both advance the detectors).
        if k.is_multiple_of(3) {
            engine.advance(*now + 250);
        }
        if k % every == every - 1 {
            engine.housekeeping();
            let _ = engine.view(*now + 500, &ViewOpts { team: None, agents: true, alerts: true, scrape: false });
        }
    }
}

fn snapshot_json(engine: &mut Engine, now: Ms) -> serde_json::Value {
    let view = engine.view(now, &ViewOpts { team: None, agents: true, alerts: true, scrape: false });
    serde_json::to_value(Snapshot(&view)).unwrap()
}

fn assert_json_eq(got: &serde_json::Value, want: &serde_json::Value, what: &str) {
    let d = common::json_differences(got, want, 8);
    assert!(d.is_empty(), "{what}: differs (got != want):\n{}", d.join("\n"));
}

/// Each team's handle times (Prometheus buckets, exact sum, percentile histogram) by team,
/// which the snapshot shows only in part.
fn handle_times(engine: &Engine) -> Vec<(String, HandleTimes)> {
    let mut v: Vec<_> = engine.teams().map(|t| (t.id.clone(), t.handle.clone())).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn assert_handle_times_eq(got: &Engine, want: &Engine, what: &str) {
    let (got, want) = (handle_times(got), handle_times(want));
    let ids = |v: &[(String, HandleTimes)]| v.iter().map(|t| t.0.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&got), ids(&want), "{what}: teams");
    for ((id, g), (_, w)) in got.iter().zip(&want) {
        // Compared whole; the message stays short (the histograms have 2,688 bins).
        assert!(
            g == w,
            "{what}: team {id} handle times: count {} sum {} != count {} sum {}",
            g.count(),
            g.sum_ms(),
            w.count(),
            w.sum_ms()
        );
    }
}

fn recover(dir: &std::path::Path) -> (Engine, floorwatch::journal::Replayed) {
    let mut rec = Recovery::open(dir).unwrap();
    let mut engine = match rec.snapshot().unwrap() {
        Some((_, bytes)) => Engine::restore(settings(), &bytes).unwrap(),
        None => Engine::new(settings()),
    };
    let replayed = rec.replay(&mut engine).unwrap();
    drop(rec);
    (engine, replayed)
}

#[test]
fn snapshot_plus_tail_equals_the_engine_that_never_stopped() {
    let batches = batches();
    let end = batches.last().unwrap().0 + 60_000;
    let mut never_stopped = Engine::new(settings());
    feed(&mut never_stopped, None, &batches, 0, 40);
    let want = snapshot_json(&mut never_stopped, end);
    assert!(want["ingest"]["applied"].as_u64().unwrap() > 2000, "the trace applies");
    assert!(!want["alerts"].as_array().unwrap().is_empty(), "the trace fires alerts, so detectors are compared too");
    assert!(handle_times(&never_stopped).iter().all(|(_, h)| h.count() > 0), "every team completed contacts");
    let limits =
        want["teams"].as_array().unwrap().iter().flat_map(|t| t["aht_chart"]["15m"].as_array().unwrap().clone());
    assert!(
        limits.filter(|p| p["ucl_s"].is_f64()).count() > 3,
        "the charts have points with limits: {}",
        want["teams"]
    );

    // Stop at several points: a snapshot there, the rest journaled after it.
    for cut in [0, 1, 2, 7, batches.len() / 3, batches.len() - 1] {
        let dir = tempfile::tempdir().unwrap();
        {
            let rec = Recovery::open(dir.path()).unwrap();
            let journal = rec.start(0, std::time::Duration::from_millis(1)).unwrap();
            let mut engine = Engine::new(settings());
            engine.set_oplog(journal.oplog());
            feed(&mut engine, Some(&journal), &batches[..cut], 0, 40);
            journal.snapshot(&engine)();
            feed(&mut engine, Some(&journal), &batches[cut..], cut, 40);
            journal.close();
        }
        let (mut restored, replayed) = recover(dir.path());
        assert!(replayed.snapshot_lsn.is_some(), "cut {cut}: snapshot found");
        assert!(replayed.records > 0, "cut {cut}: the tail was replayed");
        let got = snapshot_json(&mut restored, end);
        assert_json_eq(&got, &want, &format!("cut {cut}: restored vs never stopped"));
        // The per-team alert counts (Prometheus) are derived, recounted on restore.
        let counts = |e: &Engine| {
            let mut v: Vec<_> = e.teams().map(|t| (t.id.clone(), t.alerts.firing, t.alerts.fired)).collect();
            v.sort();
            v
        };
        assert_eq!(counts(&restored), counts(&never_stopped), "cut {cut}: alert counts");
        assert!(counts(&restored).iter().any(|c| c.2.iter().sum::<u64>() > 0), "alerts are counted");
        assert_handle_times_eq(&restored, &never_stopped, &format!("cut {cut}"));
    }
}

#[test]
fn a_torn_tail_is_cut_and_the_rest_restores() {
    let batches = batches();
    let half = batches.len() / 2;
    let end = batches[half - 1].0 + 1_000;
    let mut want_engine = Engine::new(settings());
    feed(&mut want_engine, None, &batches[..half], 0, 1_000_000);
    let want = snapshot_json(&mut want_engine, end);

    let dir = tempfile::tempdir().unwrap();
    {
        let journal = Recovery::open(dir.path()).unwrap().start(0, std::time::Duration::from_millis(1)).unwrap();
        let mut engine = Engine::new(settings());
        engine.set_oplog(journal.oplog());
        feed(&mut engine, Some(&journal), &batches[..half], 0, 1_000_000);
        journal.close();
    }
    // A crash in the middle of writing the next record: half a frame at the end.
    let seg = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "log"))
        .unwrap();
    let mut frame = Vec::new();
    Payload::batch(end, Source::Tcp, &[], std::iter::empty()).frame_into(999_999, &mut frame);
    let mut bytes = std::fs::read(&seg).unwrap();
    let full_len = bytes.len();
    bytes.extend_from_slice(&frame[..frame.len() - 3]);
    std::fs::write(&seg, &bytes).unwrap();

    let (mut restored, replayed) = recover(dir.path());
    assert_eq!(replayed.torn_bytes, (frame.len() - 3) as u64);
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), full_len as u64, "torn bytes cut off the segment");
    assert_json_eq(&snapshot_json(&mut restored, end), &want, "after a torn tail");

    // A second start finds a clean journal and the same state.
    let (mut again, replayed) = recover(dir.path());
    assert_eq!(replayed.torn_bytes, 0);
    assert_json_eq(&snapshot_json(&mut again, end), &want, "second start");
}

#[test]
fn compaction_keeps_only_what_the_last_snapshot_needs() {
    let batches = batches();
    let dir = tempfile::tempdir().unwrap();
    let journal = Recovery::open(dir.path()).unwrap().start(0, std::time::Duration::from_millis(1)).unwrap();
    let mut engine = Engine::new(settings());
    engine.set_oplog(journal.oplog());
    let third = batches.len() / 3;
    for (first, part) in
        [(0, &batches[..third]), (third, &batches[third..2 * third]), (2 * third, &batches[2 * third..])]
    {
        feed(&mut engine, Some(&journal), part, first, 40);
        journal.snapshot(&engine)();
    }
    let durable_lsn = journal.last_lsn();
    // Compaction runs on the writer after the snapshot is written: wait for it.
    let files = || -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into()).collect();
        v.sort();
        v
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let compacted = |names: Vec<String>| {
        names.iter().filter(|f| f.starts_with("journal-")).count() <= 1
            && names.iter().filter(|f| f.starts_with("state-")).count() <= 1
    };
    // Segments and older snapshots are deleted one after the other: wait for both.
    while !compacted(files()) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let names = files();
    assert_eq!(
        names.iter().filter(|f| f.starts_with("state-")).collect::<Vec<_>>(),
        vec![&format!("state-{durable_lsn:020}.bin")],
        "only the newest snapshot is kept: {names:?}"
    );
    assert_eq!(
        names.iter().filter(|f| f.starts_with("journal-")).collect::<Vec<_>>(),
        vec![&format!("journal-{:020}.log", durable_lsn + 1)],
        "only the segment after the newest snapshot is kept: {names:?}"
    );
    // And a second daemon cannot open the same directory.
    assert!(matches!(Recovery::open(dir.path()), Err(floorwatch::journal::JournalError::Locked(_))));
    journal.close();
    drop(journal);
}

/// Wall clock, peak all day, a 30 s aux_cluster hold: for tests of when time advanced.
fn all_day_peak() -> Settings {
    const TOML: &str =
        "[server]\nclock = \"wall\"\n[peak]\nwindows = [\"00:00-24:00\"]\n[alerts.aux_cluster]\nhold_secs = 30\n";
    FileConfig::parse(TOML, "test").unwrap().settings().unwrap()
}

const ALL_DAY_T0: Ms = 1_795_420_800_000;

/// An event of team T1 (reason `personal` when in aux).
fn t1_event(agent: &str, state: &str, ts: Ms) -> floorwatch::event::Input {
    let line = format!(r#"{{"ts":{ts},"agent":"{agent}","state":"{state}","reason":"personal","team":"T1"}}"#);
    decode_bytes(line.as_bytes(), &Aliases::default()).unwrap()
}

/// With the wall clock, when time advanced does not matter: an event that arrives after
/// the detectors moved past its `ts` takes effect at its `ts` (SPEC §2.5). The journal
/// records only the batches, and the restored engine agrees with the live one.
#[test]
fn late_events_take_effect_at_their_ts_live_and_restored() {
    let settings = all_day_peak;
    let (t0, ev) = (ALL_DAY_T0, t1_event);
    let dir = tempfile::tempdir().unwrap();
    let live_alerts = {
        let journal = Recovery::open(dir.path()).unwrap().start(0, std::time::Duration::from_millis(1)).unwrap();
        let mut engine = Engine::new(settings());
        engine.set_oplog(journal.oplog());
        let batch = |engine: &mut Engine, now: Ms, events: Vec<floorwatch::event::Input>| {
            journal.append(&Payload::batch(now, Source::Http, &[], events.iter()));
            engine.apply_batch(now, Source::Http, events, &[]);
        };
        batch(&mut engine, t0, (0..6).map(|i| ev(&format!("A{i}"), "idle", t0)).collect());
        // The ticker moves time on to t0 + 60 s; then events stamped t0 + 10 s arrive.
        engine.advance(t0 + 60_000);
        batch(&mut engine, t0 + 61_000, (0..3).map(|i| ev(&format!("A{i}"), "aux", t0 + 10_000)).collect());
        engine.advance(t0 + 300_000);
        journal.close();
        engine.alerts()
    };
    let cluster: Vec<_> = live_alerts.iter().filter(|a| a.kind.as_str() == "aux_cluster").collect();
    assert_eq!(cluster.len(), 1, "{live_alerts:?}");
    assert_eq!(cluster[0].started_at, t0 + 10_000, "the condition starts at the late ts");
    assert_eq!(cluster[0].fired_at, t0 + 40_000);

    let (mut restored, _) = {
        let mut rec = Recovery::open(dir.path()).unwrap();
        let mut engine = Engine::new(settings());
        let r = rec.replay(&mut engine).unwrap();
        (engine, r)
    };
    // The daemon advances a recovered engine to the wall clock's now before it notifies.
    restored.advance(t0 + 300_000);
    assert_eq!(restored.alerts(), live_alerts);
}

/// The engine steps only the teams that are due (`TeamDet::next_due`); that must give what
/// stepping every team on every advance gives — alerts (kinds, start and fire times) and
/// figures. A sparse floor (teams quiet for minutes, so minute evaluations, hold and window
/// switches happen between events) with a ticker every 250 ms and some events arriving
/// 45 s late (they take effect where time had advanced to).
#[test]
fn stepping_only_due_teams_equals_stepping_every_team() {
    const TOML: &str = "[server]\nclock = \"wall\"\n[peak]\nwindows = [\"08:30-09:30\"]\nbusy_share = 0.5\nhold_secs = 45\n\
        [alerts.aux_cluster]\nhold_secs = 30\n[alerts.utilization_high]\nhigh = 0.3\nconsecutive = 2\n\
        [alerts.aux_dispersion]\nmin_peak_secs = 300\nmin_members = 3\nconsecutive = 2\n[alerts.long_aux]\nmax_aux_secs = 240\n";
    let settings = || FileConfig::parse(TOML, "test").unwrap().settings().unwrap();
    let t0: Ms = 1_795_420_800_000 - 3_600_000; // 07:00Z
    let states = ["talking", "talking", "acw", "idle", "aux", "talking", "aux", "idle"];
    let reasons = ["break", "personal", "lunch"];
    let mut x = 7u64;
    let mut rnd = move |n: u64| {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (x >> 33) % n
    };
    // (arrival, line): 3 teams of 8 agents, each changing state every 1-8 minutes.
    let mut arrivals: Vec<(Ms, String)> = Vec::new();
    for a in 0..24 {
        let mut t = t0 + rnd(60_000) as Ms;
        while t < t0 + 4 * 3_600_000 {
            let state = states[rnd(states.len() as u64) as usize];
            let reason =
                if state == "aux" { format!(r#","reason":"{}""#, reasons[rnd(3) as usize]) } else { String::new() };
            let line = format!(r#"{{"ts":{t},"agent":"A{a}","state":"{state}"{reason},"team":"T{}"}}"#, a % 3);
            let delay = if rnd(12) == 0 { 45_000 } else { rnd(2_000) as Ms };
            arrivals.push((t + delay, line));
            t += 60_000 + rnd(420_000) as Ms;
        }
    }
    arrivals.sort();
    let aliases = Aliases::default();
    let mut lazy = Engine::new(settings());
    let mut every = Engine::new(settings());
    every.step_every_team();
    // The reference also sums every window from the timelines (no per-agent view cache).
    every.no_view_cache();
    let (mut next, mut now) = (0, t0);
    let mut tentative_resolves = 0;
    while next < arrivals.len() {
        now += 250;
        let n = arrivals[next..].iter().take_while(|(at, _)| *at <= now).count();
        let batch: Vec<_> =
            arrivals[next..next + n].iter().map(|(_, l)| decode_bytes(l.as_bytes(), &aliases).unwrap()).collect();
        next += n;
        for engine in [&mut lazy, &mut every] {
            engine.apply_batch(now, Source::Tcp, batch.clone(), &[]);
            engine.advance(now);
        }
        if (now - t0) % 60_000 == 0 {
            // A view's alerts include those evaluated tentatively at `now` itself (fired or
            // resolved in the view's copy of the list; minute evaluations are due exactly
            // here): once time has moved past `now`, the same alerts are the stored ones.
            let view = lazy.view(now, &ViewOpts { team: None, agents: false, alerts: true, scrape: false });
            let shown: Vec<floorwatch::alert::Alert> = view.alerts.iter().map(|a| a.alert().clone()).collect();
            let mut later = Engine::restore(settings(), &lazy.save()).unwrap();
            later.advance(now + 1 + floorwatch::engine::COMMIT_LAG_MS);
            let stored: Vec<_> = later.alerts().into_iter().filter(|a| a.fired_at <= now).collect();
            assert_eq!(shown, stored, "alerts at {now}");
            tentative_resolves += stored.iter().filter(|a| a.resolved_at == Some(now)).count();
        }
        if (now - t0) % 120_000 == 0 {
            let got = snapshot_json(&mut lazy, now);
            assert_json_eq(&got, &snapshot_json(&mut every, now), &format!("at {now}"));
            // Alerts are written from the JSON kept with each stored alert since its first
            // snapshot (a firing one is shown many times before it resolves): it must be
            // the alert as it is now, as `Alert` serializes it.
            // Compared as text: `to_value` would read the kept text back with serde_json's
            // float parser, which may differ from the `f64` in the last bit.
            let view = lazy.view(now, &ViewOpts { team: None, agents: false, alerts: true, scrape: false });
            let kept: Vec<&floorwatch::alert::StoredAlert> = view.alerts.iter().map(|a| &**a).collect();
            let fresh: Vec<&floorwatch::alert::Alert> = view.alerts.iter().map(|a| a.alert()).collect();
            assert!(!fresh.is_empty() || now - t0 < 3_600_000, "alerts at {now}");
            assert_eq!(
                serde_json::to_string(&kept).unwrap(),
                serde_json::to_string(&fresh).unwrap(),
                "alerts at {now}"
            );
            // Views reuse per-agent parts of today and peak_today across calls: a cold
            // engine (restored, nothing cached) must see the same figures.
            if (now - t0) % 600_000 == 0 {
                let mut cold = Engine::restore(settings(), &lazy.save()).unwrap();
                assert_json_eq(&snapshot_json(&mut cold, now), &got, &format!("cold at {now}"));
            }
        }
    }
    assert!(tentative_resolves > 0, "some alert resolves at a view's own instant");
    let end = now + 3_600_000;
    let want = snapshot_json(&mut every, end);
    assert_json_eq(&snapshot_json(&mut lazy, end), &want, "an hour after the last event");
    let kinds: std::collections::BTreeSet<&str> =
        want["alerts"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    for kind in ["aux_cluster", "long_aux", "utilization_high", "aux_dispersion"] {
        assert!(kinds.contains(kind), "the trace fires {kind}, so its stepping is compared: {kinds:?}");
    }
    // A view of one team finds exactly that team's alerts (by id range, not a scan), and
    // exactly the figures the floor view has for it (dispersion sums in the same order).
    for (i, team) in ["T0", "T1", "T2"].into_iter().enumerate() {
        let one = lazy.view(end, &ViewOpts { team: Some(team.into()), agents: true, alerts: true, scrape: false });
        let one = serde_json::to_value(Snapshot(&one)).unwrap();
        assert_json_eq(&one["teams"][0], &want["teams"][i], &format!("{team} alone vs in the floor"));
        let view = lazy.view(end, &ViewOpts { team: Some(team.into()), agents: false, alerts: true, scrape: false });
        let all = want["alerts"].as_array().unwrap().iter().filter(|a| a["team"] == team);
        let ids: Vec<&str> = all.map(|a| a["id"].as_str().unwrap()).collect();
        assert!(!ids.is_empty());
        assert_eq!(view.alerts.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ids, "{team}");
    }
    // Each team's dispersion against a plain computation from its members' own window
    // figures (the view gathers the ratios per member in one array; a member counted for
    // the wrong team or window shows here), and the scrape's view against the full one.
    let full = lazy.view(end, &ViewOpts { team: None, agents: true, alerts: false, scrape: false });
    let scrape = lazy.view(end, &ViewOpts { team: None, agents: false, alerts: false, scrape: true });
    let min_logged = lazy.settings.dispersion_min_logged_ms;
    let mut checked = 0;
    for (t, s) in full.teams.iter().zip(&scrape.teams) {
        assert_eq!((&t.id, &t.windows, &t.dispersion, t.state_ms), (&s.id, &s.windows, &s.dispersion, s.state_ms));
        for (w, d) in t.dispersion.iter().enumerate() {
            let ratios: Vec<(f64, f64)> = full
                .agents
                .iter()
                .filter(|a| a.team == t.id)
                .filter_map(|a| floorwatch::floor::figures::Qualifying::ratios(&a.windows[w], min_logged))
                .collect();
            let want = (
                floorwatch::floor::figures::Spread::of(&ratios.iter().map(|r| r.0).collect::<Vec<_>>()),
                floorwatch::floor::figures::Spread::of(&ratios.iter().map(|r| r.1).collect::<Vec<_>>()),
            );
            for (got, want) in [(d.aux, want.0), (d.talk, want.1)] {
                for (g, x) in [(got.mean, want.mean), (got.std, want.std), (got.cv, want.cv)] {
                    assert_eq!(g.is_some(), x.is_some(), "{} window {w}", t.id);
                    assert!((g.unwrap_or(0.0) - x.unwrap_or(0.0)).abs() < 1e-12, "{} window {w}: {g:?} {x:?}", t.id);
                }
            }
            checked += ratios.len();
        }
    }
    assert!(checked > 0, "some members qualify");
    assert_eq!(scrape.teams[0].handle_p50_ms, None, "a scrape's view has no percentiles");
}

/// A team that is not due when time advances is not stepped; an event older than that
/// point takes effect at its own `ts`, as with every team stepped and as on time.
#[test]
fn a_late_event_takes_effect_at_its_ts_even_for_a_team_not_stepped() {
    let settings = all_day_peak;
    let (t0, ev) = (ALL_DAY_T0, t1_event);
    let run = |every_team: bool| {
        let mut engine = Engine::new(settings());
        if every_team {
            engine.step_every_team();
        }
        engine.apply_batch(t0, Source::Http, (0..6).map(|i| ev(&format!("A{i}"), "idle", t0)), &[]);
        engine.advance(t0 + 30_000); // steps T1 (its counts changed); next due: the minute at t0 + 60 s
        engine.advance(t0 + 50_000); // T1 is not due: not stepped
        engine.apply_batch(t0 + 51_000, Source::Http, (0..3).map(|i| ev(&format!("A{i}"), "aux", t0 + 40_000)), &[]);
        engine.advance(t0 + 300_000);
        engine.alerts()
    };
    let (lazy, every) = (run(false), run(true));
    assert_eq!(lazy, every);
    let cluster: Vec<_> = lazy.iter().filter(|a| a.kind.as_str() == "aux_cluster").collect();
    assert_eq!(cluster.len(), 1, "{lazy:?}");
    assert_eq!(cluster[0].started_at, t0 + 40_000, "the condition starts at the late ts");
}

/// Housekeeping forgets agents offline for longer than `forget_offline_after_secs` (from a
/// queue, not a scan), a restored engine forgets the same ones, and timelines drop history
/// no window needs as they grow.
#[test]
fn housekeeping_forgets_long_offline_agents_and_bounds_timelines() {
    const TOML: &str =
        "[server]\nclock = \"event\"\n[floor]\nforget_offline_after_secs = 3600\nmax_backfill_secs = 1800\n";
    let settings = || FileConfig::parse(TOML, "test").unwrap().settings().unwrap();
    let t0: Ms = 1_795_420_800_000;
    let ev = |agent: &str, state: &str, ts: Ms| {
        let line = format!(r#"{{"ts":{ts},"agent":"{agent}","state":"{state}","team":"T1"}}"#);
        decode_bytes(line.as_bytes(), &Aliases::default()).unwrap()
    };
    let mut engine = Engine::new(settings());
    let min = 60_000;
    engine.apply_batch(0, Source::Tcp, [ev("A", "offline", t0), ev("B", "offline", t0), ev("K", "idle", t0)], &[]);
    engine.apply_batch(0, Source::Tcp, [ev("B", "idle", t0 + 10 * min), ev("C", "offline", t0 + 50 * min)], &[]);
    engine.apply_batch(0, Source::Tcp, [ev("K", "talking", t0 + 65 * min)], &[]);
    let ids = |e: &Engine| {
        let mut v: Vec<String> = e.agents().map(|a| a.id.to_string()).collect();
        v.sort();
        v
    };
    let mut restored = Engine::restore(settings(), &engine.save()).unwrap();
    for e in [&mut engine, &mut restored] {
        e.housekeeping();
        assert_eq!(ids(e), ["B", "C", "K"], "A was offline for over an hour");
        e.apply_batch(0, Source::Tcp, [ev("K", "idle", t0 + 115 * min)], &[]);
        e.housekeeping();
        assert_eq!(ids(e), ["B", "K"], "then C");
    }

    // Three days of a change a minute: the timeline keeps about a day, not three.
    let states = ["talking", "acw", "idle"];
    for m in 0..3 * 24 * 60 {
        engine.apply_batch(0, Source::Tcp, [ev("K", states[m % 3], t0 + 120 * min + m as Ms * min)], &[]);
    }
    let k = engine.agents().find(|a| a.id == "K").unwrap();
    assert!(k.timeline.segments_len() <= 2 * 24 * 60, "{} segments kept", k.timeline.segments_len());
}

/// An agent that does nothing while a peak window closes: its peak_today time must include
/// the interval once closed (views reuse per-agent sums of closed intervals).
#[test]
fn peak_today_counts_an_interval_that_closed_while_the_agent_was_idle() {
    const TOML: &str = "[server]\nclock = \"wall\"\n[peak]\nwindows = [\"08:30-09:30\"]\n";
    let settings = FileConfig::parse(TOML, "test").unwrap().settings().unwrap();
    let t8: Ms = 1_795_420_800_000; // 08:00Z
    let line = format!(r#"{{"ts":{t8},"agent":"A","state":"idle","team":"T1"}}"#);
    let mut engine = Engine::new(settings);
    engine.apply_batch(t8, Source::Tcp, [decode_bytes(line.as_bytes(), &Aliases::default()).unwrap()], &[]);
    let idle_peak = |engine: &mut Engine, now: Ms| {
        let v = snapshot_json(engine, now);
        v["teams"][0]["windows"]["peak_today"]["idle_s"].as_f64().unwrap()
    };
    assert_eq!(idle_peak(&mut engine, t8 + 3_600_000), 1800.0, "09:00: half an hour of peak so far");
    assert_eq!(idle_peak(&mut engine, t8 + 7_200_000), 3600.0, "10:00: the whole closed window");
}
