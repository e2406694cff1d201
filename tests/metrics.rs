//! The Prometheus exposition (docs/figures.md#where-to-read-them) against the engine's own view, and against the real
//! `promtool check metrics` (Debian package `prometheus`).

mod common;

use common::promtool_check;
use std::collections::HashMap;

use floorwatch::alert::AlertKind;
use floorwatch::config::{ClockMode, FileConfig};
use floorwatch::engine::{Engine, Source, ViewOpts};
use floorwatch::event::{Aliases, Refusal, decode_str};
use floorwatch::metrics::{HANDLE_BUCKETS_S, Metrics};
use floorwatch::time::{Ms, parse_rfc3339};

fn engine() -> Engine {
    let mut settings = FileConfig::default().settings().unwrap();
    settings.clock = ClockMode::Event;
    Engine::new(settings)
}

/// Applies NDJSON lines as `replay` does: undecodable lines count as invalid.
fn feed(engine: &mut Engine, lines: &str) {
    let aliases = Aliases::new(engine.settings.aliases.clone());
    for line in lines.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match decode_str(line, &aliases) {
            Ok(ev) => {
                engine.apply_input(ev, 0, Source::Replay);
            }
            Err(e) => engine.count_invalid(Source::Replay, e.refusal()),
        }
    }
}

fn at(s: &str) -> Ms {
    parse_rfc3339(s).unwrap()
}

/// The worked example of docs/figures.md (team T1) plus: an offline-only team (all ratios null), an agent that moves
/// from T3 to T5, a team with handle times on and off bucket bounds, a long_aux alert in T4,
/// and a team id that needs escaping.
const EVENTS: &str = r#"
{"ts":"2026-11-23T09:00:00Z","agent":"A1","state":"idle","team":"T1","seq":1}
{"ts":"2026-11-23T09:00:00Z","agent":"A2","state":"idle","team":"T1"}
{"ts":"2026-11-23T09:01:00Z","agent":"A1","state":"talking","seq":2}
{"ts":"2026-11-23T09:05:00Z","agent":"A1","state":"acw","seq":3}
{"ts":"2026-11-23T09:06:00Z","agent":"A1","state":"idle","seq":4}
{"ts":"2026-11-23T09:06:00Z","agent":"A1","state":"idle","seq":4}
{"ts":"2026-11-23T09:02:00Z","agent":"A2","state":"aux","reason":"break"}
{"ts":"2026-11-23T09:01:00Z","agent":"A2","state":"idle"}
{"ts":"2026-11-23T09:10:00Z","agent":"A2","state":"aux","reason":"training"}
not json
{"ts":"2026-11-23T09:00:00Z","agent":"B1","state":"offline","team":"T2"}
{"ts":"2026-11-23T09:00:00Z","agent":"B2","state":"idle","team":"T3"}
{"ts":"2026-11-23T09:12:00Z","agent":"B2","state":"idle","team":"T5"}
{"ts":"2026-11-23T09:00:00Z","agent":"C1","state":"talking","team":"T5"}
{"ts":"2026-11-23T09:00:45Z","agent":"C1","state":"idle"}
{"ts":"2026-11-23T09:01:00Z","agent":"C1","state":"talking"}
{"ts":"2026-11-23T09:03:00Z","agent":"C1","state":"acw"}
{"ts":"2026-11-23T09:04:00Z","agent":"C1","state":"idle"}
{"ts":"2026-11-23T09:05:00Z","agent":"C1","state":"talking"}
{"ts":"2026-11-23T09:15:00Z","agent":"C1","state":"idle"}
{"ts":"2026-11-23T09:00:00Z","agent":"D1","state":"aux","reason":"break","team":"T4"}
{"ts":"2026-11-23T09:00:00Z","agent":"D2","state":"talking","team":"Q\"1\\x"}
{"ts":"2026-11-23T09:20:00Z","agent":"A2","state":"idle"}
"#;

/// Name, labels and value of one sample line.
type Sample = (String, Vec<(String, String)>, f64);

/// A parsed text exposition.
#[derive(Debug, Default)]
struct Expo {
    types: HashMap<String, String>,
    helps: HashMap<String, String>,
    samples: Vec<Sample>,
}

impl Expo {
    fn parse(text: &str) -> Expo {
        let mut e = Expo::default();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(e.types.insert(name.into(), kind.into()).is_none(), "two TYPE lines for {name}");
            } else if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').unwrap();
                e.helps.insert(name.into(), help.into());
            } else if !line.starts_with('#') && !line.is_empty() {
                e.samples.push(parse_sample(line));
            }
        }
        e
    }

    /// The value of the sample with exactly these labels.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut want: Vec<(String, String)> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        want.sort();
        let found: Vec<f64> = self
            .samples
            .iter()
            .filter(|(n, l, _)| {
                n == name && {
                    let mut l = l.clone();
                    l.sort();
                    l == want
                }
            })
            .map(|s| s.2)
            .collect();
        assert!(found.len() <= 1, "{name}{labels:?} appears {} times", found.len());
        found.first().copied()
    }

    fn must(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels).unwrap_or_else(|| panic!("no sample {name}{labels:?}"))
    }

    /// Samples of `name` whose labels include `team`.
    fn of_team(&self, name: &str, team: &str) -> usize {
        self.samples.iter().filter(|(n, l, _)| n == name && l.iter().any(|(k, v)| k == "team" && v == team)).count()
    }
}

fn parse_sample(line: &str) -> Sample {
    let (name, mut rest) = match line.find(['{', ' ']) {
        Some(i) => (&line[..i], &line[i..]),
        None => panic!("bad sample line {line:?}"),
    };
    let mut labels = Vec::new();
    if let Some(r) = rest.strip_prefix('{') {
        let mut chars = r.char_indices().peekable();
        let end;
        loop {
            let (i, c) = chars.next().expect("unterminated labels");
            if c == '}' {
                end = i;
                break;
            }
            if c == ',' {
                continue;
            }
            let mut key = String::new();
            let mut ch = c;
            while ch != '=' {
                key.push(ch);
                ch = chars.next().unwrap().1;
            }
            assert_eq!(chars.next().unwrap().1, '"');
            let mut value = String::new();
            loop {
                let (_, c) = chars.next().unwrap();
                match c {
                    '"' => break,
                    '\\' => match chars.next().unwrap().1 {
                        'n' => value.push('\n'),
                        c => value.push(c),
                    },
                    c => value.push(c),
                }
            }
            labels.push((key, value));
        }
        rest = &r[end + 1..];
    }
    let v = rest.trim();
    let value = match v {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse().unwrap_or_else(|_| panic!("bad value in {line:?}")),
    };
    (name.to_string(), labels, value)
}

const FAMILIES: [(&str, &str); 18] = [
    ("floorwatch_agents", "gauge"),
    ("floorwatch_agents_aux_unplanned", "gauge"),
    ("floorwatch_state_seconds_total", "counter"),
    ("floorwatch_talk_utilization_ratio", "gauge"),
    ("floorwatch_aux_ratio", "gauge"),
    ("floorwatch_occupancy_ratio", "gauge"),
    ("floorwatch_aux_ratio_cv", "gauge"),
    ("floorwatch_aht_seconds", "gauge"),
    ("floorwatch_contacts_total", "counter"),
    ("floorwatch_handle_time_seconds", "histogram"),
    ("floorwatch_peak", "gauge"),
    ("floorwatch_alerts_active", "gauge"),
    ("floorwatch_alerts_fired_total", "counter"),
    ("floorwatch_alerts_stored", "gauge"),
    ("floorwatch_alerts_stored_limit", "gauge"),
    ("floorwatch_alerts_forgotten_early_total", "counter"),
    ("floorwatch_events_total", "counter"),
    ("floorwatch_ingest_connections", "gauge"),
];

#[test]
fn exposition_matches_the_engine_and_passes_promtool() {
    let mut engine = engine();
    feed(&mut engine, EVENTS);
    let metrics = Metrics::new(false);
    let now = engine.now(0);
    assert_eq!(now, at("2026-11-23T09:20:00Z"));
    let text = metrics.render(&mut engine, now, &[("tcp", 2), ("ws", 1), ("http", 0), ("tcp", 1)]);
    let e = Expo::parse(&text);

    for (name, kind) in FAMILIES {
        assert_eq!(e.types.get(name).map(String::as_str), Some(kind), "TYPE of {name}");
        assert!(e.helps.contains_key(name), "HELP of {name}");
    }
    assert_eq!(e.must("floorwatch_build_info", &[("version", env!("CARGO_PKG_VERSION"))]), 1.0);
    assert!(e.types.contains_key("process_resident_memory_bytes"), "process collector");
    assert!(!e.types.contains_key("floorwatch_agent_state"), "per-agent series are off");

    // Worked example (docs/figures.md#worked-example), team T1.
    for (state, n) in [("talking", 0.0), ("acw", 0.0), ("aux", 0.0), ("idle", 2.0), ("offline", 0.0)] {
        assert_eq!(e.must("floorwatch_agents", &[("team", "T1"), ("state", state)]), n, "{state}");
    }
    assert_eq!(e.must("floorwatch_talk_utilization_ratio", &[("team", "T1"), ("window", "60m")]), 0.1);
    assert_eq!(e.must("floorwatch_aux_ratio", &[("team", "T1"), ("window", "60m")]), 0.2);
    assert_eq!(e.must("floorwatch_aux_ratio_cv", &[("team", "T1"), ("window", "15m")]), 1.0);
    assert_eq!(e.must("floorwatch_aht_seconds", &[("team", "T1"), ("window", "15m")]), 300.0);
    assert_eq!(e.must("floorwatch_contacts_total", &[("team", "T1")]), 1.0);
    // State seconds of T1 (A1 and A2 since 09:00): talking 240, acw 60, aux 480 + 600,
    // idle the rest of 2 × 1200.
    for (state, s) in [("talking", 240.0), ("acw", 60.0), ("aux", 1080.0), ("idle", 1020.0), ("offline", 0.0)] {
        assert_eq!(e.must("floorwatch_state_seconds_total", &[("team", "T1"), ("state", state)]), s, "{state}");
    }
    // Ingest outcomes: the worked example's plus 12 applied events. Refused outcomes are
    // counted by reason (SPEC §2.6), every pair exported from the start; applied and skewed
    // have no reason label.
    for (outcome, n) in [("applied", 20.0), ("skewed", 0.0)] {
        assert_eq!(e.must("floorwatch_events_total", &[("source", "replay"), ("outcome", outcome)]), n, "{outcome}");
        assert_eq!(e.must("floorwatch_events_total", &[("source", "tcp"), ("outcome", outcome)]), 0.0);
    }
    for r in Refusal::ALL {
        let n = match r {
            Refusal::Repeated | Refusal::OlderThanLast | Refusal::NotJson => 1.0,
            _ => 0.0,
        };
        let labels = |source| [("source", source), ("outcome", r.outcome()), ("reason", r.as_str())];
        assert_eq!(e.must("floorwatch_events_total", &labels("replay")), n, "{r:?}");
        assert_eq!(e.must("floorwatch_events_total", &labels("tcp")), 0.0, "{r:?}");
    }
    for outcome in ["duplicate", "late", "invalid"] {
        assert_eq!(e.get("floorwatch_events_total", &[("source", "replay"), ("outcome", outcome)]), None);
    }
    assert_eq!(
        e.samples.iter().filter(|s| s.0 == "floorwatch_events_total").count(),
        Source::ALL.len() * (2 + Refusal::ALL.len())
    );
    assert_eq!(e.must("floorwatch_ingest_connections", &[("source", "tcp")]), 3.0);
    assert_eq!(e.must("floorwatch_ingest_connections", &[("source", "ws")]), 1.0);
    assert_eq!(e.must("floorwatch_ingest_connections", &[("source", "http")]), 0.0);

    // Null figures have no sample: T2 is offline only, so no ratio of any window.
    assert_eq!(e.must("floorwatch_agents", &[("team", "T2"), ("state", "offline")]), 1.0);
    for name in [
        "floorwatch_talk_utilization_ratio",
        "floorwatch_aux_ratio",
        "floorwatch_occupancy_ratio",
        "floorwatch_aux_ratio_cv",
        "floorwatch_aht_seconds",
    ] {
        assert_eq!(e.of_team(name, "T2"), 0, "{name} of T2");
    }

    // B2 left T3 for T5: T3 is still known to the engine, with no one in it, so it is not
    // listed (docs/figures.md#teams-and-the-floor), here as in the snapshot.
    assert_eq!(e.of_team("floorwatch_agents", "T3"), 0);
    assert_eq!(e.of_team("floorwatch_state_seconds_total", "T3"), 0);
    assert_eq!(e.must("floorwatch_agents", &[("team", "T5"), ("state", "idle")]), 2.0);

    // Handle times of T5: 45 s, 180 s (on a bound), 600 s (on a bound).
    let expected = [0.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 3.0, 3.0, 3.0, 3.0, 3.0];
    for (b, n) in HANDLE_BUCKETS_S.iter().zip(expected) {
        assert_eq!(
            e.must("floorwatch_handle_time_seconds_bucket", &[("team", "T5"), ("le", &b.to_string())]),
            n,
            "le={b}"
        );
    }
    assert_eq!(e.must("floorwatch_handle_time_seconds_bucket", &[("team", "T5"), ("le", "+Inf")]), 3.0);
    assert_eq!(e.must("floorwatch_handle_time_seconds_count", &[("team", "T5")]), 3.0);
    assert_eq!(e.must("floorwatch_handle_time_seconds_sum", &[("team", "T5")]), 825.0);
    assert_eq!(e.must("floorwatch_contacts_total", &[("team", "T5")]), 3.0);
    assert_eq!(e.must("floorwatch_handle_time_seconds_bucket", &[("team", "T2"), ("le", "+Inf")]), 0.0);

    // Alerts: D1 has been in unplanned aux since 09:00 (long_aux fires at 09:10).
    assert_eq!(e.must("floorwatch_alerts_active", &[("kind", "long_aux"), ("team", "T4")]), 1.0);
    assert_eq!(e.must("floorwatch_alerts_fired_total", &[("kind", "long_aux"), ("team", "T4")]), 1.0);
    // The store: that one alert, of at most limits.max_alerts, none forgotten early.
    assert_eq!(e.must("floorwatch_alerts_stored", &[]), engine.alerts().len() as f64);
    assert_eq!(e.must("floorwatch_alerts_stored", &[]), 1.0);
    assert_eq!(e.must("floorwatch_alerts_stored_limit", &[]), 500_000.0);
    assert_eq!(e.must("floorwatch_alerts_forgotten_early_total", &[]), 0.0);
    for team in ["T1", "T2", "T4", "T5", "Q\"1\\x"] {
        for kind in ["aux_cluster", "long_aux", "aux_dispersion", "utilization_high"] {
            assert!(e.get("floorwatch_alerts_active", &[("kind", kind), ("team", team)]).is_some(), "{kind} {team}");
            assert!(
                e.get("floorwatch_alerts_fired_total", &[("kind", kind), ("team", team)]).is_some(),
                "{kind} {team}"
            );
        }
        assert!(e.get("floorwatch_peak", &[("team", team)]).is_some());
    }
    assert_eq!(e.must("floorwatch_agents", &[("team", "Q\"1\\x"), ("state", "talking")]), 1.0);

    // Every window figure equals the engine's view, exactly, or is absent when null.
    let view = engine.view(now, &ViewOpts::default());
    assert_eq!(view.teams.len(), 5, "T3, without members, is not listed");
    for t in &view.teams {
        let id = t.id.as_str();
        // State milliseconds summed in the view's pass equal the engine's team by team sum.
        let team = engine.teams().find(|x| x.id == t.id).unwrap();
        assert_eq!(t.state_ms, engine.team_state_ms(team, now), "state ms of {id}");
        assert_eq!(e.must("floorwatch_peak", &[("team", id)]), if t.peak { 1.0 } else { 0.0 });
        assert_eq!(e.must("floorwatch_agents_aux_unplanned", &[("team", id)]), t.counts.aux_unplanned() as f64);
        for (w, window) in view.window_names.iter().enumerate() {
            let s = &t.windows[w];
            let figures = [
                ("floorwatch_talk_utilization_ratio", s.talk_utilization()),
                ("floorwatch_aux_ratio", s.aux_ratio()),
                ("floorwatch_occupancy_ratio", s.occupancy()),
                ("floorwatch_aux_ratio_cv", t.dispersion[w].aux.cv),
                ("floorwatch_aht_seconds", s.aht_s()),
            ];
            for (name, v) in figures {
                assert_eq!(e.get(name, &[("team", id), ("window", window)]), v, "{name} {id} {window}");
            }
        }
    }

    promtool_check(&text);
}

#[test]
fn counters_keep_counting_across_scrapes() {
    let mut engine = engine();
    feed(&mut engine, EVENTS);
    let metrics = Metrics::new(false);
    let now = engine.now(0);
    let first = Expo::parse(&metrics.render(&mut engine, now, &[]));
    // A second scrape at the same now counts no alert twice.
    let same = Expo::parse(&metrics.render(&mut engine, now, &[]));
    assert_eq!(same.must("floorwatch_alerts_fired_total", &[("kind", "long_aux"), ("team", "T4")]), 1.0);

    // D1 leaves aux (resolves long_aux); E1 in T4 is talking from 09:00, and its move to idle
    // at 09:10 arrives after the 09:20 scrape (the event clock's now ran ahead with the
    // other agents' events): the engine's talking total for T4 goes *down*...
    feed(
        &mut engine,
        r#"{"ts":"2026-11-23T09:00:00Z","agent":"E1","state":"talking","team":"T4"}
           {"ts":"2026-11-23T09:20:00Z","agent":"F1","state":"idle","team":"T1"}"#,
    );
    let talking_before = Expo::parse(&metrics.render(&mut engine, now, &[]))
        .must("floorwatch_state_seconds_total", &[("team", "T4"), ("state", "talking")]);
    assert_eq!(talking_before, 1200.0);
    feed(
        &mut engine,
        r#"{"ts":"2026-11-23T09:10:00Z","agent":"E1","state":"idle"}
           {"ts":"2026-11-23T09:25:00Z","agent":"D1","state":"idle"}"#,
    );
    let later = at("2026-11-23T09:25:00Z");
    assert_eq!(engine.now(0), later);
    let t4 = engine.teams().find(|t| t.id == "T4").unwrap();
    assert_eq!(engine.team_state_ms(t4, later)[0], 600_000, "the engine's total went down");
    let e = Expo::parse(&metrics.render(&mut engine, later, &[]));
    // ...and the exported counter does not.
    assert_eq!(e.must("floorwatch_state_seconds_total", &[("team", "T4"), ("state", "talking")]), 1200.0);
    for (name, labels, v) in
        first.samples.iter().filter(|s| s.0.ends_with("_total") || s.0.contains("_handle_time_seconds_"))
    {
        let l: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let now_v = e.must(name, &l);
        assert!(now_v >= *v, "{name}{labels:?} went from {v} to {now_v}");
    }
    assert_eq!(e.must("floorwatch_alerts_active", &[("kind", "long_aux"), ("team", "T4")]), 0.0);
    assert_eq!(e.must("floorwatch_alerts_fired_total", &[("kind", "long_aux"), ("team", "T4")]), 1.0);
    assert_eq!(e.must("floorwatch_agents", &[("team", "T4"), ("state", "idle")]), 2.0);
    promtool_check(&metrics.render(&mut engine, later, &[]));
}

/// A team whose agents all left (T3) leaves the exposition at once, not at the next
/// housekeeping, and comes back with its counters where they were when an agent rejoins.
#[test]
fn teams_without_members_leave_the_exposition() {
    let mut engine = engine();
    feed(&mut engine, EVENTS);
    let metrics = Metrics::new(false);
    let now = engine.now(0);
    let no_t3 = |e: &Expo| e.samples.iter().all(|(_, l, _)| !l.iter().any(|(k, v)| k == "team" && v == "T3"));
    let before = Expo::parse(&metrics.render(&mut engine, now, &[]));
    assert!(no_t3(&before), "T3 has no member");
    engine.housekeeping();
    let text = metrics.render(&mut engine, now, &[]);
    let after = Expo::parse(&text);
    assert!(no_t3(&after), "T3 gone");
    assert_eq!(after.must("floorwatch_agents", &[("team", "T1"), ("state", "idle")]), 2.0);
    promtool_check(&text);
    // B2 back in T3 at 09:30: its 12 minutes idle there before (09:00-09:12) still count.
    feed(&mut engine, r#"{"ts":"2026-11-23T09:30:00Z","agent":"B2","state":"idle","team":"T3"}"#);
    let later = engine.now(0);
    let back = Expo::parse(&metrics.render(&mut engine, later, &[]));
    assert_eq!(back.must("floorwatch_agents", &[("team", "T3"), ("state", "idle")]), 1.0);
    assert_eq!(back.must("floorwatch_state_seconds_total", &[("team", "T3"), ("state", "idle")]), 720.0);
}

/// A team whose agents all moved away while one of its alerts fires keeps that alert's
/// `floorwatch_alerts_active` (and no other series): SPEC §10's worked example fires
/// `aht_out_of_control` in T1 at 10:00, then both agents move to T2; the chart's alert
/// resolves only at T1's next plotted point.
#[test]
fn an_emptied_team_keeps_its_firing_alert_gauge() {
    let mut settings =
        FileConfig::parse("[aht_chart]\nbaseline_points = 3\nmin_contacts = 2\n", "t").unwrap().settings().unwrap();
    settings.clock = ClockMode::Event;
    let mut engine = Engine::new(settings);
    let mut lines = String::new();
    for (q, handles) in [[100, 120], [90, 110], [100, 100], [200, 220]].iter().enumerate() {
        for (i, (agent, h)) in ["A1", "A2"].iter().zip(handles).enumerate() {
            let t = at("2026-11-23T09:00:00Z") + q as i64 * 900_000 + (i as i64 + 1) * 60_000;
            lines += &format!("{{\"ts\":{t},\"agent\":\"{agent}\",\"state\":\"talking\",\"team\":\"T1\"}}\n");
            lines += &format!("{{\"ts\":{},\"agent\":\"{agent}\",\"state\":\"idle\"}}\n", t + h * 1000);
        }
    }
    lines += r#"{"ts":"2026-11-23T10:01:00Z","agent":"A1","state":"idle","team":"T2"}"#;
    lines += "\n";
    lines += r#"{"ts":"2026-11-23T10:02:00Z","agent":"A2","state":"idle","team":"T2"}"#;
    feed(&mut engine, &lines);
    let metrics = Metrics::new(false);
    let text = metrics.render(&mut engine, at("2026-11-23T10:05:00Z"), &[]);
    let e = Expo::parse(&text);
    let t1 = [("kind", "aht_out_of_control"), ("team", "T1")];
    assert_eq!(e.must("floorwatch_alerts_active", &t1), 1.0, "T1's chart alert still fires");
    let t1_series: Vec<&str> = e
        .samples
        .iter()
        .filter(|(_, l, _)| l.iter().any(|(k, v)| k == "team" && v == "T1"))
        .map(|(n, _, _)| n.as_str())
        .collect();
    assert!(t1_series.iter().all(|n| *n == "floorwatch_alerts_active"), "{t1_series:?}");
    assert_eq!(t1_series.len(), AlertKind::TEAM.len(), "one sample per kind");
    assert_eq!(e.must("floorwatch_agents", &[("team", "T2"), ("state", "idle")]), 2.0);
    promtool_check(&text);
}

#[test]
fn per_agent_series_and_registered_families() {
    let mut engine = engine();
    feed(&mut engine, EVENTS);
    let metrics = Metrics::new(true);
    let extra = prometheus::IntCounter::new("floorwatch_test_things_total", "Things counted by this test.").unwrap();
    metrics.registry().register(Box::new(extra.clone())).unwrap();
    extra.inc_by(7);
    let now = engine.now(0);
    let text = metrics.render(&mut engine, now, &[]);
    let e = Expo::parse(&text);
    assert_eq!(e.types.get("floorwatch_agent_state").map(String::as_str), Some("gauge"));
    let agents: Vec<_> = e.samples.iter().filter(|s| s.0 == "floorwatch_agent_state").collect();
    assert_eq!(agents.len(), engine.agent_count());
    assert_eq!(e.must("floorwatch_agent_state", &[("agent", "A1"), ("team", "T1"), ("state", "idle")]), 1.0);
    assert_eq!(e.must("floorwatch_agent_state", &[("agent", "D1"), ("team", "T4"), ("state", "aux")]), 1.0);
    assert_eq!(e.must("floorwatch_agent_state", &[("agent", "B2"), ("team", "T5"), ("state", "idle")]), 1.0);
    assert_eq!(e.must("floorwatch_test_things_total", &[]), 7.0);
    promtool_check(&text);
}

#[test]
fn an_empty_engine_still_exposes_the_ingest_counters() {
    let mut engine = engine();
    let metrics = Metrics::new(false);
    let text = metrics.render(&mut engine, 0, &[("tcp", 0)]);
    let e = Expo::parse(&text);
    assert_eq!(e.must("floorwatch_events_total", &[("source", "http"), ("outcome", "applied")]), 0.0);
    assert_eq!(e.must("floorwatch_ingest_connections", &[("source", "tcp")]), 0.0);
    assert!(e.samples.iter().all(|(_, l, _)| !l.iter().any(|(k, _)| k == "team")));
    promtool_check(&text);
}

#[test]
fn every_teams_handle_histogram_is_current_on_every_scrape() {
    // More teams than the old per-scrape cap on HDR rebuilds (256), each with one contact.
    let teams = 300;
    let mut engine = engine();
    let mut lines = String::new();
    for i in 0..teams {
        lines += &format!(
            r#"{{"ts":"2026-11-23T09:00:00Z","agent":"A{i}","state":"talking","team":"T{i:03}"}}
               {{"ts":"2026-11-23T09:02:00Z","agent":"A{i}","state":"idle"}}
"#
        );
    }
    feed(&mut engine, &lines);
    let metrics = Metrics::new(false);
    let now = engine.now(0);
    let text = metrics.render(&mut engine, now, &[]);
    let e = Expo::parse(&text);
    let counted = e.samples.iter().filter(|s| s.0 == "floorwatch_handle_time_seconds_count" && s.2 == 1.0).count();
    assert_eq!(counted, teams);
    assert_eq!(e.must("floorwatch_handle_time_seconds_bucket", &[("team", "T000"), ("le", "120")]), 1.0);
    assert_eq!(e.must("floorwatch_handle_time_seconds_bucket", &[("team", "T299"), ("le", "60")]), 0.0);
    promtool_check(&text);
}

/// Handle times (ms): zero, on, just below and just above bucket bounds, one longer than a
/// day, and one that makes the sum end in milliseconds.
const ON_THE_BOUNDS_MS: [Ms; 13] =
    [0, 29_999, 30_000, 30_001, 45_123, 60_000, 599_999, 600_000, 600_001, 3_599_999, 3_600_000, 3_600_001, 90_000_000];

/// The contacts of `ON_THE_BOUNDS_MS`, one after another by one agent of team `H`.
fn contacts_on_the_bounds() -> String {
    let mut t = at("2026-11-23T09:00:00Z");
    let mut lines = String::new();
    for ms in ON_THE_BOUNDS_MS {
        lines += &format!(r#"{{"ts":{t},"agent":"H1","state":"talking","team":"H"}}"#);
        t += ms;
        lines += &format!("\n{{\"ts\":{t},\"agent\":\"H1\",\"state\":\"idle\"}}\n");
        t += 1_000;
    }
    lines
}

#[test]
fn handle_time_buckets_and_sum_are_exact_on_the_bounds() {
    let mut engine = engine();
    feed(&mut engine, &contacts_on_the_bounds());
    let now = engine.now(0);
    let text = Metrics::new(false).render(&mut engine, now, &[]);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("floorwatch_handle_time_seconds_")).collect();
    // `le` is inclusive: 30_000 ms counts under 30, 30_001 under 60; 3_600_001 only under +Inf.
    let want = r#"floorwatch_handle_time_seconds_bucket{team="H",le="30"} 3
floorwatch_handle_time_seconds_bucket{team="H",le="60"} 6
floorwatch_handle_time_seconds_bucket{team="H",le="120"} 6
floorwatch_handle_time_seconds_bucket{team="H",le="180"} 6
floorwatch_handle_time_seconds_bucket{team="H",le="240"} 6
floorwatch_handle_time_seconds_bucket{team="H",le="300"} 6
floorwatch_handle_time_seconds_bucket{team="H",le="420"} 6
floorwatch_handle_time_seconds_bucket{team="H",le="600"} 8
floorwatch_handle_time_seconds_bucket{team="H",le="900"} 9
floorwatch_handle_time_seconds_bucket{team="H",le="1200"} 9
floorwatch_handle_time_seconds_bucket{team="H",le="1800"} 9
floorwatch_handle_time_seconds_bucket{team="H",le="3600"} 11
floorwatch_handle_time_seconds_bucket{team="H",le="+Inf"} 13
floorwatch_handle_time_seconds_sum{team="H"} 102795.123
floorwatch_handle_time_seconds_count{team="H"} 13"#;
    assert_eq!(lines.join("\n"), want);
    assert_eq!(ON_THE_BOUNDS_MS.iter().sum::<Ms>(), 102_795_123);
    promtool_check(&text);
}

#[test]
fn handle_time_percentiles_are_within_one_percent() {
    let mut engine = engine();
    feed(&mut engine, &contacts_on_the_bounds());
    let now = engine.now(0);
    let view = engine.view(now, &ViewOpts::default());
    let h = view.teams.iter().find(|t| t.id == "H").unwrap();
    let mut sorted = ON_THE_BOUNDS_MS;
    sorted.sort_unstable();
    // Nearest rank: the 7th and the 12th of 13 (599_999 ms and 3_600_001 ms).
    for (q, got) in [(0.5, h.handle_p50_ms), (0.9, h.handle_p90_ms)] {
        let exact = sorted[(q * sorted.len() as f64).ceil() as usize - 1] as u64;
        let got = got.unwrap();
        assert!(got.abs_diff(exact) * 100 <= exact, "q {q}: {got} vs exact {exact}");
    }
}
