//! The simulated floor's callers (SPEC §8): every call an agent takes was queued first, in
//! its team's queue, and is `answered` by that agent at the instant its `talking` starts,
//! so the agent's events and the call's agree. A call whose agent turns to something else
//! instead (the shift ends, a planned item, an injected break) is abandoned then. Besides,
//! some callers hang up before anyone is free: a few off-peak, more at peak, a quarter of
//! them within the short-abandon time.
//!
//! Waits are drawn when the agent's idle wait is, so a call is queued before it is answered
//! and the lines come out in time order; waits are longer at peak (a mixture: most calls
//! are answered within seconds, some wait much longer), which drives service level down
//! and, now and then, a caller past the `long_wait` limit.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::rng::Rng;
use super::{SimLine, floor::TsFormatter};
use crate::time::Ms;

/// Queue names, in order; beyond them `Q<n>`.
const NAMES: [&str; 6] = ["support", "sales", "billing", "tech", "claims", "retention"];

/// A call line due at its `ts` (simulated time, before the offset): (ts, order, agent, text
/// without the ts).
type Due = Reverse<(Ms, u64, u32, String)>;

/// Every agent's callers draw from the agent's own stream and number their calls
/// `C<agent number>.<n>`, so one agent's calls do not depend on the others' (nor on the
/// injections that do not pick it), as the agents' own lives do not.
#[derive(Debug)]
pub(crate) struct Calls {
    names: Vec<String>,
    /// Per agent: its callers' random stream and calls numbered so far.
    per_agent: Vec<(Rng, u64)>,
    /// Lines not yet emitted, earliest first.
    due: BinaryHeap<Due>,
    order: u64,
}

/// A call waiting for the agent whose idle wait it ends.
#[derive(Clone, Debug)]
pub(crate) struct Pending {
    id: String,
    queued: Ms,
}

impl Calls {
    pub(crate) fn new(queues: u32, agents: u32, seed: u64) -> Calls {
        let names = (0..queues)
            .map(|i| NAMES.get(i as usize).map_or_else(|| format!("Q{}", i + 1), |n| n.to_string()))
            .collect();
        let per_agent = (0..agents).map(|k| (Rng::new(seed, 0xCA11_0000_0000 + k as u64), 0)).collect();
        Calls { names, per_agent, due: BinaryHeap::new(), order: 0 }
    }

    fn queue_of(&self, team: u32) -> &str {
        &self.names[team as usize % self.names.len()]
    }

    fn push(&mut self, ts: Ms, agent: u32, text: String) {
        self.order += 1;
        self.due.push(Reverse((ts, self.order, agent, text)));
    }

    fn call_id(&mut self, agent: u32) -> String {
        let n = &mut self.per_agent[agent as usize].1;
        *n += 1;
        format!("C{}.{n}", agent + 1)
    }

    /// A call for agent `agent` of `team`, answered (or not) at `answer_at`; it cannot be
    /// queued before `now`. Maybe also a caller who gives up. Returns the call to settle.
    pub(crate) fn offer(&mut self, agent: u32, team: u32, now: Ms, answer_at: Ms, peak: bool) -> Pending {
        // Most calls are answered within seconds; some (more at peak) wait much longer.
        let (slow_p, slow_mean_s) = if peak { (0.2, 20.0) } else { (0.05, 15.0) };
        let rng = &mut self.per_agent[agent as usize].0;
        let mean = if rng.chance(slow_p) { slow_mean_s } else { 3.0 };
        let wait = (rng.exp(mean) * 1000.0) as Ms;
        let gives_up = rng.chance(if peak { 0.08 } else { 0.03 });
        let patience = (rng.exp(25.0) * 1000.0) as Ms;
        let queued = (answer_at - wait).max(now);
        let id = self.call_id(agent);
        let queue = self.queue_of(team).to_string();
        self.push(queued, agent, format!("\"call\":\"{id}\",\"queue\":\"{queue}\",\"event\":\"queued\"}}"));
        // A caller who hangs up before anyone is free.
        if gives_up {
            let other = self.call_id(agent);
            self.push(queued, agent, format!("\"call\":\"{other}\",\"queue\":\"{queue}\",\"event\":\"queued\"}}"));
            self.push(queued + patience, agent, format!("\"call\":\"{other}\",\"event\":\"abandoned\"}}"));
        }
        Pending { id, queued }
    }

    /// Settles a pending call at `at`: answered by `agent_id` (its `talking` starts now),
    /// or abandoned.
    pub(crate) fn settle(&mut self, p: Pending, agent: u32, at: Ms, answered_by: Option<&str>) {
        let at = at.max(p.queued);
        let text = match answered_by {
            Some(a) => format!("\"call\":\"{}\",\"event\":\"answered\",\"agent\":\"{a}\"}}", p.id),
            None => format!("\"call\":\"{}\",\"event\":\"abandoned\"}}", p.id),
        };
        self.push(at, agent, text);
    }

    /// Drops every line not yet emitted (the simulation ended).
    pub(crate) fn clear(&mut self) {
        self.due.clear();
    }

    /// When the next call line is due.
    pub(crate) fn next_ts(&self) -> Option<Ms> {
        self.due.peek().map(|r| r.0.0)
    }

    /// The next call line, formatted with `offset_ms` added to its time.
    pub(crate) fn pop(&mut self, fmt: &mut TsFormatter, offset_ms: Ms) -> Option<SimLine> {
        let Reverse((ts, _, agent, text)) = self.due.pop()?;
        let ts = ts + offset_ms;
        let mut s = String::with_capacity(100);
        s.push_str("{\"ts\":\"");
        fmt.push(&mut s, ts);
        s.push_str("\",");
        s.push_str(&text);
        Some(SimLine { ts, agent, line: s, noise: None })
    }
}
