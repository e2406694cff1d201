//! The floor simulator, checked from the outside: the lines it writes are parsed and
//! replayed into a small independent timeline model, and the figures of docs/figures.md are
//! recomputed from them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use floorwatch::sim::{Cluster, LongBreak, Noise, SimConfig, SimLine, Simulator, demo};
use floorwatch::time::{Ms, parse_instant, parse_rfc3339};
use jiff::civil::Time;
use serde_json::Value;

const MIN: Ms = 60_000;
const HOUR: Ms = 3_600_000;
const STATES: [&str; 5] = ["talking", "acw", "aux", "idle", "offline"];
const PLANNED: [&str; 4] = ["training", "meeting", "coaching", "lunch"];

fn at(s: &str) -> Ms {
    parse_instant(s).unwrap()
}

/// A fixed day so that the tests never depend on the clock: 2026-11-23, 08:00 UTC, 10 h.
fn config() -> SimConfig {
    SimConfig { start: at("2026-11-23T08:00:00Z"), ..SimConfig::default() }
}

fn run(cfg: SimConfig) -> Vec<SimLine> {
    Simulator::new(cfg).unwrap().collect()
}

/// One applied event of the model.
#[derive(Clone, Debug)]
struct Ev {
    ts: Ms,
    state: String,
    reason: Option<String>,
}

/// A call line: (ts, call, queue, event, agent).
type CallLine = (Ms, String, Option<String>, String, Option<String>);

/// The agents' timelines rebuilt from good lines (noise = 0), checking each line on the way.
#[derive(Default)]
struct Floor {
    /// Call events in line order: (ts, call, queue, event, agent).
    calls: Vec<CallLine>,
    agents: BTreeMap<String, Vec<Ev>>,
    team: BTreeMap<String, String>,
    names: BTreeMap<String, String>,
}

impl Floor {
    fn from_lines(lines: &[SimLine]) -> Floor {
        let mut f = Floor::default();
        let mut last_seq: HashMap<String, u64> = HashMap::new();
        for l in lines {
            assert!(l.noise.is_none());
            let v: Value = serde_json::from_str(&l.line).unwrap_or_else(|e| panic!("{e}: {}", l.line));
            let obj = v.as_object().unwrap();
            if obj.contains_key("call") {
                for k in obj.keys() {
                    assert!(["ts", "call", "queue", "event", "agent"].contains(&k.as_str()), "{k}");
                }
                let ts = parse_rfc3339(v["ts"].as_str().unwrap()).unwrap();
                assert_eq!(ts, l.ts, "{}", l.line);
                let s = |k: &str| v.get(k).map(|x| x.as_str().unwrap().to_string());
                f.calls.push((ts, s("call").unwrap(), s("queue"), s("event").unwrap(), s("agent")));
                continue;
            }
            for k in obj.keys() {
                assert!(["ts", "agent", "state", "reason", "team", "seq", "name"].contains(&k.as_str()), "{k}");
            }
            let ts = parse_rfc3339(v["ts"].as_str().unwrap()).unwrap();
            assert_eq!(ts, l.ts, "{}", l.line);
            assert!(v["ts"].as_str().unwrap().ends_with('Z'));
            let agent = v["agent"].as_str().unwrap().to_string();
            let state = v["state"].as_str().unwrap().to_string();
            assert!(STATES.contains(&state.as_str()), "{state}");
            let reason = v.get("reason").map(|r| r.as_str().unwrap().to_string());
            assert!(reason.is_none() || state == "aux", "{}", l.line);
            let team = v["team"].as_str().unwrap().to_string();
            let seq = v["seq"].as_u64().unwrap();
            let prev = last_seq.insert(agent.clone(), seq).unwrap_or(0);
            assert_eq!(seq, prev + 1, "seq of {agent}");
            assert_eq!(v.get("name").is_some(), seq == 1, "{}", l.line);
            if let Some(n) = v.get("name") {
                f.names.insert(agent.clone(), n.as_str().unwrap().to_string());
            }
            let evs = f.agents.entry(agent.clone()).or_default();
            if let Some(p) = evs.last() {
                assert!(p.state != state || p.reason != reason, "no-op event {}", l.line);
                assert!(p.ts <= ts);
            } else {
                assert_eq!(state, "idle", "agents log in with idle: {}", l.line);
            }
            evs.push(Ev { ts, state, reason });
            f.team.insert(agent, team);
        }
        f
    }

    /// The state and reason of `agent` at `t` (None before its first event).
    fn at(&self, agent: &str, t: Ms) -> Option<&Ev> {
        let evs = &self.agents[agent];
        let i = evs.partition_point(|e| e.ts <= t);
        (i > 0).then(|| &evs[i - 1])
    }

    /// Seconds per category over `[from, to)` for the agents `who` selects.
    fn shares(&self, from: Ms, to: Ms, who: impl Fn(&str) -> bool) -> Shares {
        let mut s = Shares::default();
        for (agent, evs) in &self.agents {
            if !who(agent) {
                continue;
            }
            for (i, e) in evs.iter().enumerate() {
                let end = evs.get(i + 1).map_or(to, |n| n.ts).min(to);
                let start = e.ts.max(from);
                if end <= start {
                    continue;
                }
                let d = (end - start) as f64 / 1000.0;
                match e.state.as_str() {
                    "talking" => s.talking += d,
                    "acw" => s.acw += d,
                    "idle" => s.idle += d,
                    "aux" if e.reason.as_deref().is_some_and(|r| PLANNED.contains(&r)) => s.planned += d,
                    "aux" => s.unplanned += d,
                    _ => {}
                }
            }
        }
        s
    }

    fn members(&self, team: &str) -> Vec<&str> {
        self.team.iter().filter(|(_, t)| *t == team).map(|(a, _)| a.as_str()).collect()
    }

    /// (logged in, in unplanned aux) among `team`'s members at `t`.
    fn team_counts(&self, team: &str, t: Ms) -> (usize, usize) {
        let mut n = 0;
        let mut k = 0;
        for a in self.members(team) {
            if let Some(e) = self.at(a, t).filter(|e| e.state != "offline") {
                n += 1;
                if e.state == "aux" && !e.reason.as_deref().is_some_and(|r| PLANNED.contains(&r)) {
                    k += 1;
                }
            }
        }
        (n, k)
    }
}

#[derive(Default, Debug)]
struct Shares {
    talking: f64,
    acw: f64,
    idle: f64,
    unplanned: f64,
    planned: f64,
}

impl Shares {
    fn logged_in(&self) -> f64 {
        self.talking + self.acw + self.idle + self.unplanned + self.planned
    }
    fn talk(&self) -> f64 {
        self.talking / self.logged_in()
    }
    fn aux(&self) -> f64 {
        self.unplanned / self.logged_in()
    }
    fn planned(&self) -> f64 {
        self.planned / self.logged_in()
    }
    fn occupancy(&self) -> f64 {
        (self.talking + self.acw) / (self.talking + self.acw + self.idle)
    }
}

/// P(X ≥ k) for X ~ Bin(n, p).
fn binomial_tail(n: usize, k: usize, p: f64) -> f64 {
    let mut total = 0.0;
    for i in k..=n {
        let mut c = 1.0;
        for j in 0..i {
            c *= (n - j) as f64 / (j + 1) as f64;
        }
        total += c * p.powi(i as i32) * (1.0 - p).powi((n - i) as i32);
    }
    total
}

fn peak_windows(day: &str) -> [(Ms, Ms); 2] {
    let t = |hm: &str| at(&format!("{day}T{hm}:00Z"));
    [(t("09:30"), t("11:30")), (t("14:00"), t("16:30"))]
}

#[test]
fn same_seed_same_lines_other_seed_other_lines() {
    let cfg = SimConfig { duration: Some(3 * HOUR), ..config() };
    let a = run(cfg.clone());
    let b = run(cfg.clone());
    assert!(a.len() > 5_000, "{}", a.len());
    assert_eq!(a, b);
    let c = run(SimConfig { seed: 2, ..cfg });
    assert_ne!(a.iter().map(|l| &l.line).collect::<Vec<_>>(), c.iter().map(|l| &l.line).collect::<Vec<_>>());
}

#[test]
fn lines_are_valid_events_in_time_order() {
    let cfg = config();
    let (start, end) = (cfg.start, cfg.start + cfg.duration.unwrap());
    let lines = run(cfg);
    assert!(lines.windows(2).all(|w| w[0].ts <= w[1].ts), "ts must never decrease");
    assert!(lines.iter().all(|l| (start..end).contains(&l.ts)));
    // Parses every line, checks fields, seq (1, 2, 3, … per agent) and names on first events.
    let f = Floor::from_lines(&lines);
    let sim = Simulator::new(config()).unwrap();
    for l in &lines {
        let v: Value = serde_json::from_str(&l.line).unwrap();
        if v.get("call").is_some() {
            // A call's lines carry the index of the agent whose idle wait it ends.
            if v["event"] == "answered" {
                assert_eq!(v["agent"].as_str(), sim.agent_id(l.agent), "{}", l.line);
            }
            continue;
        }
        assert_eq!(v["agent"].as_str(), sim.agent_id(l.agent), "SimLine::agent is the index");
    }
    assert!(!f.names.is_empty());
    assert!(!f.calls.is_empty(), "the default floor has queues");
}

#[test]
fn configured_agents_and_teams_all_appear() {
    let lines = run(config());
    let f = Floor::from_lines(&lines);
    let agents: Vec<String> = (1..=200).map(|i| format!("A{i:04}")).collect();
    assert_eq!(f.agents.keys().cloned().collect::<Vec<_>>(), agents);
    let teams: BTreeSet<&String> = f.team.values().collect();
    assert_eq!(teams.len(), 10);
    for t in 1..=10 {
        assert_eq!(f.members(&format!("T{t:02}")).len(), 20);
    }
    // Names: every agent has one, from both scripts.
    assert_eq!(f.names.len(), 200);
    assert!(f.names.values().any(|n| !n.is_ascii()));
    assert!(f.names.values().filter(|n| n.is_ascii()).count() > 100);
    // Staggered shifts: T01 logs in around 08:00 and out around 17:00; T04 around 09:30.
    let first = |a: &str| f.agents[a][0].ts;
    assert!(f.members("T01").iter().all(|a| first(a) < at("2026-11-23T08:05:00Z")));
    assert!(f.members("T04").iter().all(|a| first(a) > at("2026-11-23T09:20:00Z")));
    let end = at("2026-11-23T18:00:00Z");
    assert!(f.members("T01").iter().all(|a| f.at(a, end - 1).unwrap().state == "offline"));
    assert!(f.members("T04").iter().all(|a| f.at(a, end - 1).unwrap().state != "offline"));
}

/// The floor-wide figures the defaults produce, from the events (run with --nocapture to
/// see them).
#[test]
fn default_floor_is_realistic() {
    let cfg = config();
    let start = cfg.start;
    let lines = run(cfg);
    let f = Floor::from_lines(&lines);
    let day = f.shares(start, start + 10 * HOUR, |_| true);
    let peaks = peak_windows("2026-11-23");
    let mut peak = Shares::default();
    for (a, b) in peaks {
        let s = f.shares(a, b, |_| true);
        peak.talking += s.talking;
        peak.acw += s.acw;
        peak.idle += s.idle;
        peak.unplanned += s.unplanned;
        peak.planned += s.planned;
    }
    let off = f.shares(at("2026-11-23T16:30:00Z"), at("2026-11-23T18:00:00Z"), |_| true);
    let early = f.shares(at("2026-11-23T08:00:00Z"), at("2026-11-23T09:00:00Z"), |_| true);
    println!(
        "lines {}: day talk {:.3} aux {:.3} planned {:.3} occupancy {:.3}; peak talk {:.3} aux {:.3} \
         occupancy {:.3}; 08-09 talk {:.3}; 16:30-18 talk {:.3} aux {:.3}",
        lines.len(),
        day.talk(),
        day.aux(),
        day.planned(),
        day.occupancy(),
        peak.talk(),
        peak.aux(),
        peak.occupancy(),
        early.talk(),
        off.talk(),
        off.aux()
    );
    assert!((0.04..=0.15).contains(&day.aux()), "unplanned aux share {}", day.aux());
    assert!((0.05..=0.15).contains(&day.planned()), "planned aux share {}", day.planned());
    assert!((0.65..=0.78).contains(&peak.talk()), "talk utilization at peak {}", peak.talk());
    assert!(peak.talk() > early.talk() + 0.1 && peak.talk() > off.talk() + 0.1);
    assert!(peak.occupancy() > 0.85 && early.occupancy() < 0.8);
    assert!(peak.aux() < off.aux(), "breaks are held back at peak");

    // Talk and ACW durations; reasons; lunch once per shift, off-peak.
    let mut talk = Vec::new();
    let mut acw = Vec::new();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut lunches: BTreeMap<&str, Vec<(Ms, Ms)>> = BTreeMap::new();
    for (agent, evs) in &f.agents {
        for w in evs.windows(2) {
            let d = (w[1].ts - w[0].ts) as f64 / 1000.0;
            match (w[0].state.as_str(), w[0].reason.as_deref()) {
                ("talking", _) => talk.push(d),
                ("acw", _) => acw.push(d),
                ("aux", r) => {
                    *reasons.entry(r.unwrap_or("(none)").to_string()).or_default() += 1;
                    if r == Some("lunch") {
                        lunches.entry(agent).or_default().push((w[0].ts, w[1].ts));
                    }
                }
                _ => {}
            }
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let talk_median = median(&mut talk);
    let p95 = talk[talk.len() * 95 / 100];
    let acw_median = median(&mut acw);
    println!("talk median {talk_median:.0} s p95 {p95:.0} s; acw median {acw_median:.0} s; reasons {reasons:?}");
    assert!((180.0..=300.0).contains(&talk_median), "{talk_median}");
    assert!(p95 > 2.0 * talk_median, "heavy tail: p95 {p95}");
    assert!((35.0..=60.0).contains(&acw_median), "{acw_median}");
    assert!(acw.len() < talk.len() && acw.len() as f64 > 0.75 * talk.len() as f64);
    for r in ["break", "restroom", "personal", "(none)", "lunch", "training", "meeting", "coaching"] {
        assert!(reasons.get(r).is_some_and(|&n| n > 0), "reason {r}: {reasons:?}");
    }
    // Every agent on a full shift takes exactly one lunch of 30–45 minutes, never at peak.
    let full_shift = f.members("T01");
    for a in full_shift {
        let l = &lunches[a];
        assert_eq!(l.len(), 1, "{a}: {l:?}");
        let (s, e) = l[0];
        assert!((30 * MIN..=45 * MIN).contains(&(e - s)), "{a}: {} min", (e - s) / MIN);
        assert!(peaks.iter().all(|&(p, q)| e <= p || q <= s), "{a}: lunch at peak");
    }
}

#[test]
fn cluster_injection_trips_the_aux_cluster_rule() {
    // In Shanghai time, to check that injection times are local.
    let cfg = SimConfig {
        start: at("2026-11-23T08:00:00+08:00"),
        timezone: "Asia/Shanghai".into(),
        clusters: vec![Cluster { team: 3, at: Time::constant(10, 15, 0, 0), share: 0.3, minutes: 10 }],
        ..config()
    };
    let lines = run(cfg.clone());
    let f = Floor::from_lines(&lines);
    let t0 = at("2026-11-23T10:15:00+08:00");
    let (n, k) = f.team_counts("T03", t0);
    println!("at the cluster: {k} of {n} logged-in agents of T03 in unplanned aux");
    assert!(n >= 15, "{n}");
    assert!(k >= 3 && k * 6 >= n, "{k} of {n}");
    // aux_cluster with defaults (docs/alerts.md#aux_cluster): at peak, N ≥ 5, k ≥ 3, k/N ≥ 1/6, binomial tail < 0.05,
    // throughout [t0, t0 + 60 s] — checked every second.
    for s in 0..=60 {
        let t = t0 + s * 1000;
        let (n, k) = f.team_counts("T03", t);
        let p = binomial_tail(n, k, 0.085);
        assert!(n >= 5 && k >= 3 && k as f64 / n as f64 >= 1.0 / 6.0 && p < 0.05, "at +{s}s: {k}/{n}, p {p}");
    }
    // It lasts about ten minutes, then the team returns to work.
    let (_, k) = f.team_counts("T03", t0 + 9 * MIN);
    assert!(k * 6 >= n);
    let (_, k_after) = f.team_counts("T03", t0 + 15 * MIN);
    assert!(k_after < k, "{k_after}");
    // Those on the cluster went on `break`.
    let on_break = f
        .members("T03")
        .into_iter()
        .filter(|a| f.at(a, t0).is_some_and(|e| e.state == "aux" && e.reason.as_deref() == Some("break")))
        .count();
    assert!(on_break >= (n as f64 * 0.3).ceil() as usize, "{on_break}");

    // The injection touches nobody outside T03: their lines are unchanged.
    let plain = run(SimConfig { clusters: vec![], ..cfg });
    let others = |ls: &[SimLine]| -> Vec<String> {
        let sim = Simulator::new(config()).unwrap();
        ls.iter().filter(|l| sim.team_of(l.agent) != Some("T03")).map(|l| l.line.clone()).collect()
    };
    assert_eq!(others(&lines), others(&plain));
}

#[test]
fn cluster_sizes_follow_the_share_and_never_fall_below_three() {
    for (share, min_k) in [(0.1, 3), (0.5, 10)] {
        let cfg = SimConfig {
            duration: Some(4 * HOUR),
            clusters: vec![Cluster { team: 1, at: Time::constant(10, 0, 0, 0), share, minutes: 5 }],
            ..config()
        };
        let f = Floor::from_lines(&run(cfg));
        let (n, k) = f.team_counts("T01", at("2026-11-23T10:00:00Z"));
        assert!(k >= min_k, "share {share}: {k} of {n}");
    }
}

#[test]
fn long_break_passes_the_long_aux_limits() {
    let cfg = SimConfig {
        duration: Some(4 * HOUR),
        long_breaks: vec![
            LongBreak { team: 5, at: Time::constant(10, 0, 0, 0), minutes: 20, reason: "restroom".into() },
            LongBreak { team: 6, at: Time::constant(10, 30, 0, 0), minutes: 12, reason: "break".into() },
        ],
        ..config()
    };
    let f = Floor::from_lines(&run(cfg));
    for (team, t, reason, min) in [("T05", "10:00", "restroom", 20), ("T06", "10:30", "break", 12)] {
        let t = at(&format!("2026-11-23T{t}:00Z"));
        let long: Vec<&str> = f
            .members(team)
            .into_iter()
            .filter(|a| {
                let evs = &f.agents[*a];
                evs.windows(2).any(|w| {
                    w[0].ts == t
                        && w[0].state == "aux"
                        && w[0].reason.as_deref() == Some(reason)
                        && w[1].ts - w[0].ts == min * MIN
                })
            })
            .collect();
        assert_eq!(long.len(), 1, "{team}: {long:?}");
    }
}

/// The outcome docs/events.md#outcomes gives each line, computed independently of the generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Outcome {
    Applied,
    Duplicate,
    Late,
    Invalid,
}

fn outcomes(lines: &[SimLine]) -> Vec<Outcome> {
    struct Last {
        seq: Option<u64>,
        ts: Ms,
        state: String,
        reason: Option<String>,
    }
    let mut last: HashMap<String, Last> = HashMap::new();
    lines
        .iter()
        .map(|l| {
            let Ok(v) = serde_json::from_str::<Value>(&l.line) else { return Outcome::Invalid };
            let (Some(agent), Some(state), Some(ts)) =
                (v.get("agent").and_then(Value::as_str), v.get("state").and_then(Value::as_str), v.get("ts"))
            else {
                return Outcome::Invalid;
            };
            let Some(ts) = ts.as_str().and_then(parse_rfc3339).or_else(|| ts.as_i64()) else {
                return Outcome::Invalid;
            };
            if !STATES.contains(&state) || agent.is_empty() {
                return Outcome::Invalid;
            }
            let reason = v.get("reason").and_then(Value::as_str).map(str::to_string);
            let seq = v.get("seq").and_then(Value::as_u64);
            if let Some(p) = last.get(agent) {
                let dup = match seq {
                    Some(s) => p.seq.is_some_and(|ps| s <= ps),
                    None => p.ts == ts && p.state == state && p.reason == reason,
                };
                if dup {
                    return Outcome::Duplicate;
                }
                if ts < p.ts {
                    return Outcome::Late;
                }
            }
            let prev_seq = last.get(agent).and_then(|p| p.seq);
            last.insert(agent.to_string(), Last { seq: seq.or(prev_seq), ts, state: state.into(), reason });
            Outcome::Applied
        })
        .collect()
}

#[test]
fn noise_gives_the_requested_share_of_bad_lines() {
    // Noise follows agent events (the call lines are checked in `calls_agree_with_agents`).
    let cfg = SimConfig { duration: Some(3 * HOUR), queues: 0, ..config() };
    let clean = run(cfg.clone());
    for noise in [0.02, 0.1, 0.3] {
        let noisy = run(SimConfig { noise, ..cfg.clone() });
        let outs = outcomes(&noisy);
        let bad = outs.iter().filter(|&&o| o != Outcome::Applied).count();
        let share = bad as f64 / noisy.len() as f64;
        let mut by_kind: BTreeMap<Outcome, usize> = BTreeMap::new();
        for o in &outs {
            *by_kind.entry(*o).or_default() += 1;
        }
        println!("noise {noise}: {share:.4} bad of {} lines: {by_kind:?}", noisy.len());
        assert!((share - noise).abs() < 0.01 + noise * 0.05, "noise {noise}: {share}");
        // Each noise line gets the outcome its kind promises; every good line is applied.
        for (l, o) in noisy.iter().zip(&outs) {
            let want = match l.noise {
                None => Outcome::Applied,
                Some(Noise::Duplicate) => Outcome::Duplicate,
                Some(Noise::Late) => Outcome::Late,
                Some(Noise::Garbage | Noise::UnknownState) => Outcome::Invalid,
            };
            assert_eq!(*o, want, "{}", l.line);
        }
        for kind in [Outcome::Duplicate, Outcome::Late, Outcome::Invalid] {
            assert!(by_kind.get(&kind).is_some_and(|&n| n as f64 > 0.15 * bad as f64), "{by_kind:?}");
        }
        // Noise is added, never substituted: the good lines are the clean run.
        let good: Vec<&SimLine> = noisy.iter().filter(|l| l.noise.is_none()).collect();
        assert_eq!(good, clean.iter().collect::<Vec<_>>());
        assert!(noisy.windows(2).all(|w| w[0].ts <= w[1].ts));
    }
}

#[test]
fn endless_runs_repeat_shifts_daily() {
    let cfg = SimConfig { duration: None, agents: 40, teams: 4, ..config() };
    let start = cfg.start;
    let lines: Vec<SimLine> =
        Simulator::new(cfg).unwrap().take_while(|l| l.ts < start + 3 * 24 * HOUR - HOUR).collect();
    let f = Floor::from_lines(&lines);
    for (a, evs) in &f.agents {
        let logins = evs.windows(2).filter(|w| w[0].state == "offline" && w[1].state == "idle").count();
        assert_eq!(logins, 2, "{a} logs in again on days 2 and 3");
        let lunches = evs.iter().filter(|e| e.reason.as_deref() == Some("lunch")).count();
        assert_eq!(lunches, 3, "{a}");
    }
    // Day 3 looks like day 1.
    let d1 = f.shares(start, start + 10 * HOUR, |_| true);
    let d3 = f.shares(start + 48 * HOUR, start + 58 * HOUR, |_| true);
    assert!((d1.talk() - d3.talk()).abs() < 0.05, "{} {}", d1.talk(), d3.talk());
}

#[test]
fn without_shifts_everyone_is_in_within_a_minute_and_stays() {
    let cfg = SimConfig { shifts: false, duration: Some(12 * HOUR), start: at("2026-11-23T06:00:00Z"), ..config() };
    let start = cfg.start;
    let f = Floor::from_lines(&run(cfg));
    assert_eq!(f.agents.len(), 200);
    for evs in f.agents.values() {
        assert!(evs[0].ts < start + MIN);
        assert!(evs.iter().all(|e| e.state != "offline"));
    }
}

#[test]
fn a_start_mid_shift_logs_the_floor_in_at_once() {
    let cfg = SimConfig { start: at("2026-11-23T12:00:00Z"), duration: Some(2 * HOUR), ..config() };
    let f = Floor::from_lines(&run(cfg));
    assert_eq!(f.agents.len(), 200);
    assert!(f.agents.values().all(|e| e[0].ts < at("2026-11-23T12:01:00Z")));
}

#[test]
fn offset_moves_every_timestamp() {
    let cfg = SimConfig { duration: Some(HOUR), ..config() };
    let a = run(cfg.clone());
    let b = run(SimConfig { offset_ms: 86_400_000 + 1, ..cfg });
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.ts + 86_400_001, y.ts);
        let ty = serde_json::from_str::<Value>(&y.line).unwrap()["ts"].as_str().map(parse_rfc3339);
        assert_eq!(ty, Some(Some(y.ts)));
    }
}

#[test]
fn bad_configs_are_refused_with_the_reason() {
    let bad = [
        (SimConfig { agents: 0, ..config() }, "agents"),
        (SimConfig { teams: 300, ..config() }, "teams"),
        (SimConfig { timezone: "Mars/Olympus".into(), ..config() }, "time zone"),
        (SimConfig { noise: 1.0, ..config() }, "noise"),
        (
            SimConfig {
                clusters: vec![Cluster { team: 11, at: Time::constant(10, 0, 0, 0), share: 0.3, minutes: 10 }],
                ..config()
            },
            "cluster team",
        ),
        (
            SimConfig {
                long_breaks: vec![LongBreak { team: 1, at: Time::MIN, minutes: 20, reason: "lunch".into() }],
                ..config()
            },
            "unplanned",
        ),
    ];
    for (cfg, want) in bad {
        let err = Simulator::new(cfg).unwrap_err().to_string();
        assert!(err.contains(want), "{err}");
    }
}

#[test]
fn demo_has_history_and_never_ends() {
    // 13:00 in London, a working day: shifts, started at 08:00, cluster at 14:10.
    let now = at("2026-11-23T13:00:00Z");
    let cfg = floorwatch::sim::demo_config(now, "Europe/London", &floorwatch::sim::default_peaks());
    assert_eq!(cfg.start, at("2026-11-23T08:00:00Z"));
    assert!(cfg.shifts && cfg.duration.is_none() && cfg.agents == 200 && cfg.teams == 10);
    assert_eq!(cfg.clusters[0].at, Time::constant(14, 10, 0, 0));
    assert_eq!(cfg.long_breaks[0].at, Time::constant(13, 2, 0, 0));

    let mut sim = demo(now, "Europe/London");
    let history: Vec<SimLine> = sim.by_ref().take_while(|l| l.ts <= now).collect();
    assert!(history.len() > 10_000, "{}", history.len());
    // The feed goes on, in order, past the injections and into the next days.
    let mut last = now;
    let mut count = 0;
    for l in sim.by_ref() {
        assert!(l.ts >= last);
        last = l.ts;
        count += 1;
        if l.ts > now + 30 * HOUR {
            break;
        }
    }
    assert!(count > 10_000 && last > now + 30 * HOUR);

    // During a peak, the cluster comes a few minutes from now.
    let cfg = floorwatch::sim::demo_config(at("2026-11-23T10:00:30Z"), "UTC", &floorwatch::sim::default_peaks());
    assert_eq!(cfg.clusters[0].at, Time::constant(10, 3, 0, 0));
    // At night: the day's shifts start two hours back (on the half hour), so the floor is
    // at work and has a roster whenever the demo starts.
    let night = at("2026-11-23T23:40:00Z");
    let cfg = floorwatch::sim::demo_config(night, "UTC", &floorwatch::sim::default_peaks());
    assert!(cfg.shifts);
    assert_eq!((cfg.start, cfg.shift_start), (at("2026-11-23T21:30:00Z"), Time::constant(21, 30, 0, 0)));
    let mut sim = demo(night, "UTC");
    sim.record_roster();
    let lines: Vec<SimLine> = sim.by_ref().take_while(|l| l.ts <= night).collect();
    assert_eq!(lines.iter().map(|l| l.agent).collect::<BTreeSet<_>>().len(), 200);
    // Every agent is scheduled now, and the roster's no-show (one agent more than the floor).
    let rows = sim.take_roster();
    let on_shift: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.activity.is_none() && r.start <= night && night < r.end)
        .map(|r| r.agent.as_str())
        .collect();
    assert_eq!(on_shift.len(), 201, "{} rows", rows.len());
    // Just after 08:00 the floor does not start at 08:00 (a minute of history, no alert
    // yet): two hours back, as at night. From 10:00 it starts at 08:00.
    let early = at("2026-11-23T08:01:00Z");
    let cfg = floorwatch::sim::demo_config(early, "UTC", &floorwatch::sim::default_peaks());
    assert_eq!((cfg.start, cfg.shift_start), (at("2026-11-23T06:00:00Z"), Time::constant(6, 0, 0, 0)));
    let cfg = floorwatch::sim::demo_config(at("2026-11-23T10:00:00Z"), "UTC", &floorwatch::sim::default_peaks());
    assert_eq!(cfg.start, at("2026-11-23T08:00:00Z"));
    // An unknown zone still gives a demo (in UTC).
    assert!(demo(night, "Nowhere/Special").next().is_some());
}

mod cli {
    use super::*;
    use clap::Parser;
    use floorwatch::sim::SimulateArgs;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpListener;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SimulateArgs,
    }

    fn args(a: &[&str]) -> SimulateArgs {
        Cli::try_parse_from(std::iter::once("simulate").chain(a.iter().copied())).unwrap().args
    }

    fn temp(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("floorwatch-sim-{}-{name}", std::process::id()))
    }

    const BASE: [&str; 8] = ["--start", "2026-11-23T08:00:00Z", "--duration", "2h", "--agents", "60", "--teams", "3"];

    fn expected(extra: &[&str]) -> Vec<String> {
        let a = args(&[&BASE[..], extra].concat());
        Simulator::new(a.to_config(0).unwrap()).unwrap().map(|l| l.line).collect()
    }

    #[tokio::test]
    async fn writes_the_simulation_to_a_file() {
        let path = temp("out.ndjson");
        let p = path.to_str().unwrap();
        let extra = ["--cluster", "T02@10:00:0.3:10", "--noise", "0.05", "--seed", "9"];
        floorwatch::sim::run(args(&[&BASE[..], &extra, &["--out", p]].concat())).await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let got: Vec<&str> = text.lines().collect();
        assert!(text.ends_with('\n'));
        assert_eq!(got, expected(&extra));
        // --count stops early.
        floorwatch::sim::run(args(&[&BASE[..], &["--count", "123", "--out", p]].concat())).await.unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 123);
        std::fs::remove_file(&path).ok();
    }

    #[tokio::test]
    async fn speed_paces_the_output() {
        // 2 simulated minutes at 240× take about half a second.
        let path = temp("paced.ndjson");
        let t = std::time::Instant::now();
        let a = ["--start", "2026-11-23T10:00:00Z", "--duration", "2m", "--speed", "240", "--out"];
        floorwatch::sim::run(args(&[&a[..], &[path.to_str().unwrap()]].concat())).await.unwrap();
        let took = t.elapsed().as_secs_f64();
        assert!((0.3..3.0).contains(&took), "{took}");
        assert!(std::fs::read_to_string(&path).unwrap().lines().count() > 100);
        std::fs::remove_file(&path).ok();
    }

    #[tokio::test]
    async fn live_moves_the_first_event_to_now() {
        let path = temp("live.ndjson");
        let now = jiff::Timestamp::now().as_millisecond();
        // With shifts, at any hour: at night the floor's shifts start an hour back (before,
        // nobody worked within the default 10 hours after 18:30 UTC, and nothing was sent).
        let a = ["--live", "--count", "1", "--out", path.to_str().unwrap()];
        floorwatch::sim::run(args(&a)).await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let v: Value = serde_json::from_str(text.trim()).unwrap();
        let ts = parse_rfc3339(v["ts"].as_str().unwrap()).unwrap();
        assert!((ts - now).abs() < 5_000, "{} vs now", v["ts"]);
        std::fs::remove_file(&path).ok();
    }

    const SECS_30: std::time::Duration = std::time::Duration::from_secs(30);

    /// A server that reads NDJSON lines from one connection until EOF.
    async fn read_lines(s: tokio::net::TcpStream) -> Vec<String> {
        let mut lines = BufReader::new(s).lines();
        let mut got = Vec::new();
        while let Some(l) = lines.next_line().await.unwrap() {
            got.push(l);
        }
        got
    }

    #[tokio::test]
    async fn streams_ndjson_over_tcp_after_waiting_for_the_daemon() {
        // Reserve a port, free it: the daemon is "not up yet" when simulate starts.
        let addr = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
        let extra = ["--speed", "max", "--tcp", &addr.to_string()];
        let client = tokio::spawn(floorwatch::sim::run(args(&[&BASE[..], &extra].concat())));
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let listener = TcpListener::bind(addr).await.unwrap();
        let (s, _) = tokio::time::timeout(SECS_30, listener.accept()).await.unwrap().unwrap();
        let got = tokio::time::timeout(SECS_30, read_lines(s)).await.unwrap();
        tokio::time::timeout(SECS_30, client).await.unwrap().unwrap().unwrap();
        assert_eq!(got, expected(&[]));
    }

    #[tokio::test]
    async fn tcp_reconnects_when_the_daemon_goes_away() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        // ~18 MB of events: three times what the socket buffers can hold (measured ~5 MB), so the
        // simulator cannot finish before it notices the hang-up, however threads are scheduled.
        let flags = [
            "--start",
            "2026-11-23T08:00:00Z",
            "--no-shifts",
            "--agents",
            "2000",
            "--teams",
            "20",
            "--duration",
            "forever",
            "--count",
            "150000",
            "--speed",
            "max",
        ];
        let client = tokio::spawn(floorwatch::sim::run(args(&[&flags[..], &["--tcp", &addr]].concat())));
        // First connection: read 64 KiB, then hang up with data unread (a crash).
        let (mut s, _) = tokio::time::timeout(SECS_30, listener.accept()).await.unwrap().unwrap();
        let mut buf = vec![0; 64 * 1024];
        s.read_exact(&mut buf).await.unwrap();
        drop(s);
        // Second connection: everything else.
        let (s, _) = tokio::time::timeout(SECS_30, listener.accept()).await.unwrap().unwrap();
        let got = tokio::time::timeout(SECS_30, read_lines(s)).await.unwrap();
        tokio::time::timeout(SECS_30, client).await.unwrap().unwrap().unwrap();
        let cfg = args(&flags).to_config(0).unwrap();
        let want: Vec<String> = Simulator::new(cfg).unwrap().take(150_000).map(|l| l.line).collect();
        // The new connection starts with the batch that failed (whole lines) and carries the
        // run to its end. Whatever sat in the dead socket's buffers is lost (TCP has no
        // acknowledgements at this level); resent lines are duplicates to the daemon.
        let first = want.iter().position(|l| *l == got[0]).expect("starts with a whole line");
        assert!(first > 0);
        assert_eq!(got[..], want[first..]);
    }

    /// A minimal HTTP/1.1 server: records (authorization, body) per request, answers with
    /// outcome counts.
    async fn http_server() -> (String, Arc<Mutex<Vec<(Option<String>, String)>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        tokio::spawn(async move {
            loop {
                let (s, _) = listener.accept().await.unwrap();
                let seen = seen2.clone();
                tokio::spawn(async move {
                    let mut r = BufReader::new(s);
                    loop {
                        let mut head = Vec::new();
                        let mut line = String::new();
                        loop {
                            line.clear();
                            if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if line == "\r\n" {
                                break;
                            }
                            head.push(line.trim_end().to_string());
                        }
                        assert!(head[0].starts_with("POST /api/v1/events "), "{}", head[0]);
                        let header = |name: &str| {
                            head.iter().find_map(|h| {
                                let (k, v) = h.split_once(':')?;
                                k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                            })
                        };
                        let len: usize = header("content-length").unwrap().parse().unwrap();
                        let mut body = vec![0; len];
                        r.read_exact(&mut body).await.unwrap();
                        let body = String::from_utf8(body).unwrap();
                        let n = serde_json::from_str::<Value>(&body).unwrap().as_array().unwrap().len();
                        seen.lock().unwrap().push((header("authorization"), body));
                        let answer = format!("{{\"applied\":{n},\"duplicate\":0}}");
                        let resp = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
                            answer.len()
                        );
                        r.get_mut().write_all(resp.as_bytes()).await.unwrap();
                    }
                });
            }
        });
        (format!("http://{addr}"), seen)
    }

    #[tokio::test]
    async fn posts_json_arrays_with_the_token() {
        let (url, seen) = http_server().await;
        let extra = ["--noise", "0.05", "--speed", "max", "--batch", "700", "--token", "s3cret", "--http", &url];
        floorwatch::sim::run(args(&[&BASE[..], &extra].concat())).await.unwrap();
        let seen = seen.lock().unwrap();
        let want = expected(&extra[..2]);
        assert_eq!(seen.len(), want.len().div_ceil(700));
        let mut events = Vec::new();
        for (auth, body) in seen.iter() {
            assert_eq!(auth.as_deref(), Some("Bearer s3cret"));
            events.extend(serde_json::from_str::<Vec<Value>>(body).unwrap());
        }
        assert_eq!(events.len(), want.len());
        // Lines that are JSON arrive as they are; the rest as JSON strings.
        for (e, w) in events.iter().zip(&want) {
            match serde_json::from_str::<Value>(w) {
                Ok(v) => assert_eq!(*e, v),
                Err(_) => assert_eq!(e.as_str(), Some(w.as_str())),
            }
        }
    }

    #[tokio::test]
    async fn sends_ws_frames_to_ingest_with_the_token() {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::{
            Message,
            handshake::server::{Request, Response},
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let mut req_info = None;
            #[allow(clippy::result_large_err)] // tungstenite's callback signature
            let cb = |req: &Request, resp: Response| {
                let auth = req.headers().get("authorization").map(|v| v.to_str().unwrap().to_string());
                req_info = Some((req.uri().to_string(), auth));
                Ok(resp)
            };
            let mut ws = tokio_tungstenite::accept_hdr_async(s, cb).await.unwrap();
            let mut frames = Vec::new();
            while let Some(Ok(m)) = ws.next().await {
                match m {
                    Message::Text(t) => {
                        frames.push(serde_json::from_str::<Vec<Value>>(&t).unwrap());
                        // Ack as the daemon does: this frame's outcome counts.
                        let n = frames.last().unwrap().len();
                        let ack = serde_json::json!({"applied": n - 1, "duplicate": 0, "late": 0, "invalid": 1,
                            "skewed": 0, "ack": frames.len(), "seq": 7, "durable": true});
                        ws.send(Message::text(ack.to_string())).await.unwrap();
                    }
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            (req_info.unwrap(), frames)
        });
        let url = format!("ws://{addr}");
        let extra = ["--speed", "0", "--batch", "250", "--token", "tok", "--ws", &url];
        let summary = floorwatch::sim::run(args(&[&BASE[..], &extra].concat())).await.unwrap();
        let ((path, auth), frames) = server.await.unwrap();
        assert_eq!(path, "/ingest?ack=1");
        assert_eq!(auth.as_deref(), Some("Bearer tok"));
        // The acks' counts, summed over frames: what `simulate --ws` prints.
        let sent: usize = frames.iter().map(Vec::len).sum();
        let want_summary = format!(
            "daemon answered: applied={}, duplicate=0, invalid={}, late=0, skewed=0",
            sent - frames.len(),
            frames.len()
        );
        assert_eq!(summary.as_deref(), Some(want_summary.as_str()));
        let want = expected(&[]);
        assert!(frames.iter().all(|f| f.len() <= 250));
        let got: Vec<Value> = frames.into_iter().flatten().collect();
        let want: Vec<Value> = want.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(got, want);
    }
}

#[test]
fn next_ts_is_exact_and_takes_nothing() {
    let cfg = SimConfig { duration: Some(2 * HOUR), noise: 0.2, ..config() };
    let all = run(cfg.clone());
    let mut sim = Simulator::new(cfg).unwrap();
    let mut got = Vec::new();
    // Peek one, two or no times before each take, as a pacing caller would.
    for i in 0.. {
        let peeked = (0..i % 3).map(|_| sim.next_ts()).last().flatten();
        let Some(l) = sim.next() else {
            assert_eq!(sim.next_ts(), None);
            break;
        };
        if i % 3 != 0 {
            assert_eq!(peeked, Some(l.ts));
        }
        got.push(l);
    }
    assert_eq!(got, all);
}

/// The calls (SPEC §8): each queued once, then ended once, in time order; every answered
/// call's agent starts talking at that very instant; callers abandon, more at peak; the
/// floor's figures through `replay` apply every line and show a lower service level at
/// peak than off it.
#[test]
fn calls_agree_with_agents() {
    let cfg = config();
    let lines = run(cfg.clone());
    let f = Floor::from_lines(&lines);
    let mut queued: HashMap<String, (Ms, String)> = HashMap::new();
    let (mut answered, mut abandoned) = (0, 0);
    for (ts, call, queue, event, agent) in &f.calls {
        match event.as_str() {
            "queued" => {
                assert!(queued.insert(call.clone(), (*ts, queue.clone().unwrap())).is_none(), "{call} queued twice");
            }
            "answered" => {
                let (q, _) = queued.remove(call).unwrap_or_else(|| panic!("{call} answered unqueued"));
                assert!(q <= *ts);
                let agent = agent.as_deref().unwrap();
                let e = f.at(agent, *ts).unwrap();
                assert_eq!((e.ts, e.state.as_str()), (*ts, "talking"), "{call} answered by {agent}");
                answered += 1;
            }
            "abandoned" => {
                let (q, _) = queued.remove(call).unwrap_or_else(|| panic!("{call} abandoned unqueued"));
                assert!(q <= *ts);
                abandoned += 1;
            }
            other => panic!("event {other}"),
        }
    }
    assert!(answered > 10_000 && abandoned > 200, "{answered} answered, {abandoned} abandoned");
    let ndjson: String = lines.iter().map(|l| format!("{}\n", l.line)).collect();
    let mut out = Vec::new();
    let settings = floorwatch::config::FileConfig::default().settings().unwrap();
    floorwatch::replay::run(settings, ndjson.as_bytes(), Some(at("2026-11-23T10:30:00Z")), 65536, &mut out).unwrap();
    let peak: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(peak["ingest"]["applied"].as_u64(), Some(lines.len() as u64));
    let sl = |s: &Value| s["floor"]["queues"]["windows"]["60m"]["service_level"].as_f64().unwrap();
    let mut out = Vec::new();
    let settings = floorwatch::config::FileConfig::default().settings().unwrap();
    floorwatch::replay::run(settings, ndjson.as_bytes(), Some(at("2026-11-23T13:30:00Z")), 65536, &mut out).unwrap();
    let off: Value = serde_json::from_slice(&out).unwrap();
    assert!(sl(&peak) < sl(&off), "service level at peak {} is below off-peak {}", sl(&peak), sl(&off));
    assert_eq!(peak["queues"].as_array().unwrap().len(), 3);
}

/// `bench ingest --roster` runs each daemon mode with and without the simulated floor's
/// roster on the same bytes and reports the rate ratio (BENCHMARKS.md's roster cost over
/// TCP): the roster is uploaded for every agent, every event is applied both ways. Without
/// the event clock it refuses, naming why.
#[test]
fn bench_ingest_measures_the_rosters_cost() {
    let bin = env!("CARGO_BIN_EXE_floorwatch");
    let dir = std::env::temp_dir().join(format!("fw-bench-roster-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("ingest.json");
    let args = ["bench", "ingest", "--roster", "--agents", "120", "--teams", "4", "--events", "6000", "--runs", "1"];
    let out = std::process::Command::new(bin)
        .args(args)
        .args(["--clock", "event", "--modes", "tcp", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let r = &r["result"];
    for mode in ["tcp", "tcp+roster"] {
        assert_eq!(r["modes"][mode]["outcomes_last_run"]["applied"], 6000, "{mode}: {r}");
    }
    assert_eq!(r["modes"]["tcp"]["roster_upload_last_run"], serde_json::Value::Null);
    // Every agent of the floor, and the simulator's no-show.
    let scheduled = r["modes"]["tcp+roster"]["roster_upload_last_run"]["agents"].as_u64();
    assert!(scheduled.is_some_and(|n| n > 120), "{r}");
    let ratios = r["roster"]["rate_ratio"]["tcp"]["ratio_runs"].as_array().unwrap();
    assert_eq!(ratios.len(), 1);
    assert!(ratios[0].as_f64().unwrap() > 0.0, "{r}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("tcp: rate with the roster over the rate without"), "{stdout}");

    let wall = std::process::Command::new(bin).args(args).output().unwrap();
    assert!(!wall.status.success());
    assert!(String::from_utf8_lossy(&wall.stderr).contains("--roster needs --clock event"), "{wall:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
