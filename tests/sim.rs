//! The floor simulator, checked from the outside: the lines it writes are parsed and
//! replayed into a small independent timeline model, and the figures of SPEC §3 are
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

/// The agents' timelines rebuilt from good lines (noise = 0), checking each line on the way.
#[derive(Default)]
struct Floor {
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

#[test]
fn report() {
    let lines = run(config());
    let f = Floor::from_lines(&lines);
    let start = at("2026-11-23T08:00:00Z");
    let all = f.shares(start, start + 10 * HOUR, |_| true);
    println!("lines {} agents {}", lines.len(), f.agents.len());
    println!("day: talk {:.3} aux {:.3} planned {:.3} occ {:.3} idle {:.3} acw {:.3}",
        all.talk(), all.aux(), all.planned(), all.occupancy(), all.idle / all.logged_in(), all.acw / all.logged_in());
    for (a, b) in [("08:00", "09:30"), ("09:30", "11:30"), ("11:30", "14:00"), ("14:00", "16:30"), ("16:30", "18:00")] {
        let from = at(&format!("2026-11-23T{a}:00Z"));
        let to = at(&format!("2026-11-23T{b}:00Z"));
        let s = f.shares(from, to, |_| true);
        println!("{a}-{b}: talk {:.3} aux {:.3} planned {:.3} occ {:.3} idle {:.3} li_h {:.0}",
            s.talk(), s.aux(), s.planned(), s.occupancy(), s.idle / s.logged_in(), s.logged_in() / 3600.0);
    }
    let mut aux_by_team = BTreeMap::new();
    for t in f.team.values().collect::<BTreeSet<_>>() {
        let s = f.shares(start, start + 10 * HOUR, |a| f.team[a] == *t);
        aux_by_team.insert(t.clone(), (s.aux(), s.talk()));
    }
    println!("{aux_by_team:?}");
}

#[test]
fn report_seeds() {
    let start = at("2026-11-23T08:00:00Z");
    for seed in 1..=6 {
        let lines = run(SimConfig { seed, ..config() });
        let f = Floor::from_lines(&lines);
        let all = f.shares(start, start + 10 * HOUR, |_| true);
        let pk = f.shares(at("2026-11-23T09:30:00Z"), at("2026-11-23T11:30:00Z"), |_| true);
        let off = f.shares(at("2026-11-23T16:30:00Z"), at("2026-11-23T18:00:00Z"), |_| true);
        println!("seed {seed}: lines {} day talk {:.3} aux {:.3} planned {:.3} | peak talk {:.3} aux {:.3} | off talk {:.3} aux {:.3}",
            lines.len(), all.talk(), all.aux(), all.planned(), pk.talk(), pk.aux(), off.talk(), off.aux());
    }
}

#[test]
fn report_alerts() {
    for seed in 1..=4 {
        let lines = run(SimConfig { seed, ..config() });
        let f = Floor::from_lines(&lines);
        let teams: BTreeSet<String> = f.team.values().cloned().collect();
        let mut cond_secs = 0;
        let mut episodes = 0;
        for t in &teams {
            for (a, b) in [("09:30", "11:30"), ("14:00", "16:30")] {
                let from = at(&format!("2026-11-23T{a}:00Z"));
                let to = at(&format!("2026-11-23T{b}:00Z"));
                let mut held = 0;
                let mut x = from;
                while x < to {
                    let (n, k) = f.team_counts(t, x);
                    let c = n >= 5 && k >= 3 && k as f64 / n as f64 >= 1.0 / 6.0 - 1e-9 && binomial_tail(n, k, 0.085) < 0.05;
                    if c { cond_secs += 10; held += 10; if held == 60 { episodes += 1; } } else { held = 0; }
                    x += 10_000;
                }
            }
        }
        let mut long = 0;
        for evs in f.agents.values() {
            for w in evs.windows(2) {
                if w[0].state == "aux" && !w[0].reason.as_deref().is_some_and(|r| PLANNED.contains(&r)) {
                    let lim = if w[0].reason.as_deref() == Some("restroom") { 900_000 } else { 600_000 };
                    if w[1].ts - w[0].ts >= lim { long += 1; }
                }
            }
        }
        println!("seed {seed}: cluster-condition {cond_secs} s over 10 teams x 4.5 h, natural alerts ~{episodes}, natural long aux {long}");
    }
}

#[test]
fn report_cv() {
    for seed in 1..=3 {
        let lines = run(SimConfig { seed, ..config() });
        let f = Floor::from_lines(&lines);
        let teams: BTreeSet<String> = f.team.values().cloned().collect();
        let mut out = Vec::new();
        for t in &teams {
            let mut ratios = Vec::new();
            for a in f.members(t) {
                let mut s = Shares::default();
                for (x, y) in [("09:30", "11:30"), ("14:00", "16:30")] {
                    let p = f.shares(at(&format!("2026-11-23T{x}:00Z")), at(&format!("2026-11-23T{y}:00Z")), |b| b == a);
                    s.talking += p.talking; s.acw += p.acw; s.idle += p.idle; s.unplanned += p.unplanned; s.planned += p.planned;
                }
                if s.logged_in() >= 300.0 { ratios.push(s.aux()); }
            }
            let m = ratios.iter().sum::<f64>() / ratios.len() as f64;
            let sd = (ratios.iter().map(|r| (r - m).powi(2)).sum::<f64>() / ratios.len() as f64).sqrt();
            out.push(format!("{t}:{m:.3}/{:.2}", sd / m));
        }
        println!("seed {seed}: peak aux mean/cv {}", out.join(" "));
    }
}
