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

