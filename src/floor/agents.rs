//! Agents and teams: identity, stickiness of team and name, membership and current counts.

use std::collections::HashMap;

use compact_str::CompactString;

use super::timeline::{Kind, Timeline};
use crate::event::State;
use crate::time::Ms;

pub type AgentIdx = u32;
pub type TeamIdx = u32;

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Agent {
    pub id: CompactString,
    pub name: Option<String>,
    pub team: TeamIdx,
    /// Position in the team's `members`, for O(1) removal.
    pub member_pos: u32,
    pub state: State,
    /// `Some` only in aux (normalized, `unspecified` when none was given).
    pub reason: Option<CompactString>,
    pub kind: Kind,
    /// When the agent entered its current state and reason.
    pub since: Ms,
    /// Since when the agent has counted toward its team's cumulative state time in `kind`.
    pub seg_start: Ms,
    /// Time of the last applied event (late detection, no-`seq` de-duplication).
    pub last_ts: Ms,
    pub last_seq: Option<u64>,
    pub timeline: Timeline,
    /// The current continuous stretch of unplanned aux, if any. Out of unplanned aux: the
    /// stretch the agent left at `since`, until its next change at a later instant; an
    /// event at that very instant that puts it back in unplanned aux resumes it (the state
    /// at an instant is the one after every event stamped then, docs/alerts.md).
    pub aux_entry: Option<Box<AuxEntry>>,
    /// Id of the long_aux alert of `aux_entry`: firing, or resolved where the agent left it.
    pub long_aux_alert: Option<String>,
}

impl Agent {
    /// The stretch of unplanned aux going on: `aux_entry` while the agent is in unplanned
    /// aux (out of it, `aux_entry` is the stretch it left, kept for an event at that instant).
    pub fn aux_stretch(&self) -> Option<&AuxEntry> {
        self.aux_entry.as_deref().filter(|_| self.kind == Kind::AuxUnplanned)
    }
}

/// How a stretch of unplanned aux began (its long_aux limit is the reason at entry's),
/// and the agent's team moves during it: its long_aux alert is the agent's team at its
/// fire time, whenever the alert is found due.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AuxEntry {
    pub at: Ms,
    /// The long_aux limit, chosen by the reason at entry.
    pub limit: Ms,
    pub reason: CompactString,
    /// The team at entry (the alert takes the team at its fire time: [`AuxEntry::team_at`]).
    pub team: String,
    /// Where the agent's schedule allows this aux (it is planned from there, SPEC §9.2):
    /// the stretch ends there. `Ms::MAX`: it does not. Derived from the roster (not in the
    /// journal's snapshot, whose layout stays: `Engine::restore` derives it again).
    #[serde(skip, default = "never")]
    pub until: Ms,
    /// The long_aux alerts of this stay in unplanned aux that the schedule resolved (id,
    /// fired_at): an event of the agent delivered late, leaving aux before one fired or was
    /// resolved, corrects it. Not in the snapshot: after a restart such a late event leaves
    /// the alert as it was (the one case a restart changes, and a rare one).
    #[serde(skip)]
    pub ended: Vec<(String, Ms)>,
    /// The agent's team moves since the entry: `(instant, the team it left)`, in time
    /// order. Not in the snapshot: after a restart the alert takes the team it is in.
    #[serde(skip)]
    pub moves: Vec<(Ms, CompactString)>,
    /// Since when the agent has been in unplanned aux with `reason`, when `at` was found
    /// from there (with a roster `at` may lie ahead: where the schedule stops allowing the
    /// aux for the limit). Not in the snapshot: `None` after a restart.
    #[serde(skip)]
    pub from: Option<Ms>,
}

impl AuxEntry {
    /// The agent's team at `t`, `t` at or after the entry ([`team_at`] of its moves).
    pub fn team_at<'a>(&'a self, t: Ms, now_team: &'a str) -> &'a str {
        team_at(&self.moves, t, now_team)
    }
}

/// An agent's team at `t` (after every event stamped `t`), given its team moves
/// `(instant, team left)` in time order from before `t` on, and `now_team`, the team it is in
/// now: the team it left at its first move after `t`, or `now_team`.
pub fn team_at<'a>(moves: &'a [(Ms, CompactString)], t: Ms, now_team: &'a str) -> &'a str {
    moves.iter().find(|(at, _)| *at > t).map_or(now_team, |(_, from)| from.as_str())
}

fn never() -> Ms {
    Ms::MAX
}

/// A slab of agents with an id index; freed slots are reused.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Agents {
    slots: Vec<Option<Agent>>,
    free: Vec<AgentIdx>,
    /// Seeded per process (`foldhash::fast::RandomState`): ids come from the network, so a
    /// fixed-key fast hash would let a sender pick colliding ids.
    index: HashMap<CompactString, AgentIdx, foldhash::fast::RandomState>,
}

impl Agents {
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub fn find(&self, id: &str) -> Option<AgentIdx> {
        self.index.get(id).copied()
    }

    /// Reads what applying an event of agent `id` reads first (its index entry, its slot,
    /// the tail of its timeline) and returns a value made of them, for
    /// `Engine::apply_batch` to bring several agents into the cache at once.
    pub fn warm(&self, id: &str) -> i64 {
        self.find(id).map_or(0, |i| self.warm_at(i))
    }

    /// [`Agents::warm`] of the agent at slot `i`, found.
    pub fn warm_at(&self, i: AgentIdx) -> i64 {
        let a = self.get(i);
        a.last_ts ^ a.timeline.tail()
    }

    /// Asks for the first cache lines of agent slot `i`'s record (see
    /// [`crate::mem::prefetch`]): a pass over a team's members reads them in slot order,
    /// each a miss otherwise. Any slot; one out of range is ignored.
    #[inline]
    pub fn prefetch(&self, i: AgentIdx) {
        if let Some(a) = self.slots.get(i as usize) {
            crate::mem::prefetch_bytes(a, 128);
        }
    }

    pub fn contains(&self, i: AgentIdx) -> bool {
        self.slots.get(i as usize).is_some_and(Option::is_some)
    }

    pub fn get(&self, i: AgentIdx) -> &Agent {
        self.slots[i as usize].as_ref().expect("live agent index")
    }

    pub fn get_mut(&mut self, i: AgentIdx) -> &mut Agent {
        self.slots[i as usize].as_mut().expect("live agent index")
    }

    pub fn insert(&mut self, agent: Agent) -> AgentIdx {
        let id = agent.id.clone();
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(agent);
                i
            }
            None => {
                self.slots.push(Some(agent));
                (self.slots.len() - 1) as AgentIdx
            }
        };
        self.index.insert(id, i);
        i
    }

    pub fn remove(&mut self, i: AgentIdx) -> Agent {
        let a = self.slots[i as usize].take().expect("live agent index");
        self.index.remove(&a.id);
        self.free.push(i);
        a
    }

    /// Number of slots (live and free): every `AgentIdx` is below it.
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (AgentIdx, &Agent)> {
        self.range(0, self.slots.len())
    }

    /// The live agents in slots `[lo, hi)`, in slot order.
    pub fn range(&self, lo: usize, hi: usize) -> impl Iterator<Item = (AgentIdx, &Agent)> {
        self.slots[lo..hi].iter().enumerate().filter_map(move |(i, a)| a.as_ref().map(|a| ((lo + i) as AgentIdx, a)))
    }
}

/// Current counts by kind (SPEC §3.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts([u32; 6]);

impl Counts {
    pub fn add(&mut self, k: Kind) {
        self.0[k as usize] += 1;
    }
    pub fn remove(&mut self, k: Kind) {
        self.0[k as usize] -= 1;
    }
    pub fn merge(&mut self, o: &Counts) {
        for (a, b) in self.0.iter_mut().zip(o.0) {
            *a += b;
        }
    }
    pub fn get(&self, k: Kind) -> u32 {
        self.0[k as usize]
    }
    pub fn talking(&self) -> u32 {
        self.get(Kind::Talking)
    }
    pub fn acw(&self) -> u32 {
        self.get(Kind::Acw)
    }
    pub fn aux_unplanned(&self) -> u32 {
        self.get(Kind::AuxUnplanned)
    }
    pub fn aux(&self) -> u32 {
        self.get(Kind::AuxUnplanned) + self.get(Kind::AuxPlanned)
    }
    pub fn idle(&self) -> u32 {
        self.get(Kind::Idle)
    }
    pub fn offline(&self) -> u32 {
        self.get(Kind::Offline)
    }
    pub fn logged_in(&self) -> u32 {
        self.0.iter().sum::<u32>() - self.offline()
    }
    pub fn members(&self) -> u32 {
        self.0.iter().sum()
    }
}

/// Counts in storage form (the journal's snapshots); `Counts`' own `Serialize` writes the
/// named JSON object of the API.
pub mod counts_serde {
    use super::Counts;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(c: &Counts, s: S) -> Result<S::Ok, S::Error> {
        c.0.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Counts, D::Error> {
        <[u32; 6]>::deserialize(d).map(Counts)
    }
}

impl serde::Serialize for Counts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(7))?;
        m.serialize_entry("talking", &self.talking())?;
        m.serialize_entry("acw", &self.acw())?;
        m.serialize_entry("aux", &self.aux())?;
        m.serialize_entry("aux_unplanned", &self.aux_unplanned())?;
        m.serialize_entry("idle", &self.idle())?;
        m.serialize_entry("offline", &self.offline())?;
        m.serialize_entry("logged_in", &self.logged_in())?;
        m.end()
    }
}
