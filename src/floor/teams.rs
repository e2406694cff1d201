//! Teams' current membership and counts (SPEC §3.3): who is in a team now and in which
//! kind. Owned here, edited only through these methods, which keep each agent's
//! `member_pos` right. (The detectors keep their own copy as of their clock: see
//! `detect::team`.)

use super::agents::{AgentIdx, Agents, Counts};
use super::timeline::Kind;

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Roster {
    members: Vec<AgentIdx>,
    /// Derived from the members' kinds; recounted on restore.
    #[serde(skip)]
    counts: Counts,
}

impl Roster {
    pub fn members(&self) -> &[AgentIdx] {
        &self.members
    }

    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Agent `ai` (whose kind is set) joins.
    pub fn join(&mut self, agents: &mut Agents, ai: AgentIdx) {
        let a = agents.get_mut(ai);
        a.member_pos = self.members.len() as u32;
        self.counts.add(a.kind);
        self.members.push(ai);
    }

    /// Agent `ai` leaves (with the kind it has now).
    pub fn leave(&mut self, agents: &mut Agents, ai: AgentIdx) {
        let a = agents.get(ai);
        let pos = a.member_pos as usize;
        self.counts.remove(a.kind);
        debug_assert_eq!(self.members[pos], ai);
        self.members.swap_remove(pos);
        if let Some(&moved) = self.members.get(pos) {
            agents.get_mut(moved).member_pos = pos as u32;
        }
    }

    /// A member's kind changes from `from` to `to`.
    pub fn change(&mut self, from: Kind, to: Kind) {
        self.counts.remove(from);
        self.counts.add(to);
    }

    /// Recounts from the members' kinds (after a restore).
    pub fn recount(&mut self, agents: &Agents) {
        self.counts = Counts::default();
        for &ai in &self.members {
            self.counts.add(agents.get(ai).kind);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::floor::agents::Agent;
    use crate::floor::timeline::Timeline;

    fn agent(id: &str, kind: Kind) -> Agent {
        Agent {
            id: id.into(),
            name: None,
            team: 0,
            member_pos: 0,
            state: crate::event::State::Idle,
            reason: None,
            kind,
            since: 0,
            seg_start: 0,
            last_ts: 0,
            last_seq: None,
            timeline: Timeline::new(),
            aux_entry: None,
            long_aux_alert: None,
        }
    }

    #[test]
    fn leave_keeps_positions_and_counts() {
        let mut agents = Agents::default();
        let mut r = Roster::default();
        let ids: Vec<AgentIdx> = [Kind::Idle, Kind::Talking, Kind::AuxUnplanned]
            .iter()
            .enumerate()
            .map(|(i, k)| agents.insert(agent(&format!("A{i}"), *k)))
            .collect();
        for &ai in &ids {
            r.join(&mut agents, ai);
        }
        r.leave(&mut agents, ids[0]);
        assert_eq!(r.counts().logged_in(), 2);
        assert_eq!(r.counts().idle(), 0);
        for (pos, &ai) in r.members().iter().enumerate() {
            assert_eq!(agents.get(ai).member_pos as usize, pos);
        }
        r.change(Kind::Talking, Kind::Idle);
        assert_eq!((r.counts().talking(), r.counts().idle()), (0, 1));
    }
}
