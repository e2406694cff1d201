//! Applying events (SPEC §2.2): outcomes, the agent's timeline and team, the team's
//! roster and detector log, long_aux deadlines.

use super::{Engine, IngestCounts, Outcome, Source, kind_of};
use crate::alert::{Alert, AlertKind, AlertState};
use crate::detect::team::{AlertChange, Change, new_alert};
use compact_str::CompactString;

use crate::event::{Event, Input, Refusal, State, UNASSIGNED};
use crate::floor::agents::{Agent, AgentIdx, AuxEntry, TeamIdx};
use crate::floor::timeline::{Kind, Timeline};
use crate::settings::ClockMode;
use crate::time::Ms;

/// An event of a batch that the engine did not apply (SPEC §2.6).
#[derive(Clone, Debug, PartialEq)]
pub struct Refused {
    /// Its position among the batch's events (those that reached the engine).
    pub index: usize,
    pub outcome: Outcome,
    pub agent: CompactString,
    pub state: State,
    pub reason: Option<CompactString>,
    pub ts: Option<Ms>,
    pub seq: Option<u64>,
    /// The agent's last applied `ts` and `seq` when it was refused (`None`: a new agent).
    pub last: Option<(Ms, Option<u64>)>,
    /// Refused `too_large` because its team is new and [`MAX_TEAMS`] teams are known.
    ///
    /// [`MAX_TEAMS`]: super::MAX_TEAMS
    pub teams_full: bool,
    /// A call event's refusal (the agent fields above are then unused).
    pub call: Option<Box<RefusedCall>>,
}

/// A refused call event: the message naming the call and what it clashed with, and the
/// event re-encoded.
#[derive(Clone, Debug, PartialEq)]
pub struct RefusedCall {
    pub message: String,
    pub input: String,
}

/// Events of a batch whose agents are read ahead of applying them (see `apply_batch`).
pub const WARM_AHEAD: usize = 16;

impl Engine {
    /// Reads what applying `ahead` (up to [`WARM_AHEAD`] events) will read, for a caller
    /// that applies them one at a time next ([`Engine::apply_input`]): `replay` reads its
    /// file line by line, and without this each event waited for its agent's records one
    /// cache miss after another, as a batch did before it read ahead. Reads only.
    pub fn read_ahead(&self, ahead: &[Input]) {
        std::hint::black_box(self.warm(ahead));
    }

    /// Applies a decoded batch received at `now` (system time): the events in order, the
    /// ones refused at the edge counted with their reasons, then (event clock) time
    /// advanced to the new now. The daemon's ingest paths and the journal's replay both go
    /// through here, so a replayed batch has exactly the effect it had live.
    pub fn apply_batch(
        &mut self,
        now: Ms,
        source: Source,
        events: impl IntoIterator<Item = impl Into<Input>>,
        refused: &[Refusal],
    ) -> IngestCounts {
        self.apply_batch_refused(now, source, events, refused).0
    }

    /// Reads what applying the agent events of `ahead` reads first, in three steps over
    /// them all: each agent's index entry and slot ([`Agents::warm_at`]); then, with a
    /// roster, the roster record of each agent whose event changes what its record holds
    /// (by the state the agent is in, read in the first step: [`Roster::warm_record`]);
    /// then what that record points to, the end of its state log and its schedule
    /// ([`Roster::warm_tails`]). A cache miss each per event that was most of recording's
    /// cost (BENCHMARKS.md, sessions 11, 13 and 18); each step reads what the one before
    /// asked for. Reads only; a value made of what it read.
    ///
    /// [`Agents::warm_at`]: crate::floor::agents::Agents::warm_at
    /// [`Roster::warm_record`]: crate::roster::Roster::warm_record
    /// [`Roster::warm_tails`]: crate::roster::Roster::warm_tails
    fn warm(&self, ahead: &[Input]) -> i64 {
        // (agent slot, its kind after the event, whether the event is aux) of each event.
        let mut found = [(AgentIdx::MAX, Kind::Idle, false); WARM_AHEAD];
        let mut w = 0;
        for (ev, f) in ahead.iter().zip(found.iter_mut()) {
            if let Input::Agent(ev) = ev
                && let Some(ai) = self.agents.find(&ev.agent)
            {
                w ^= self.agents.warm_at(ai);
                *f = (ai, kind_of(&self.settings, ev.state, None), ev.state == State::Aux);
            }
        }
        if self.roster.is_empty() {
            return w;
        }
        // Not for an event that leaves the record as it is (`Roster::changes_nothing`: most
        // talking, ACW and idle events under the default rules); every aux event, whose
        // reason may matter. The agents' states came with the first step: a state's change
        // that is recorded is most often one back from aux, which a guess from the new
        // state alone missed (half the records then came from memory, BENCHMARKS.md
        // session 18).
        let mut slots = [u32::MAX; WARM_AHEAD];
        for (&(ai, kind, aux), slot) in found.iter().zip(slots.iter_mut()) {
            if ai != AgentIdx::MAX && (aux || !self.roster.changes_nothing(self.agents.get(ai).kind, kind)) {
                *slot = self.roster.warm_record(ai);
            }
        }
        for &slot in &slots[..ahead.len().min(WARM_AHEAD)] {
            w ^= self.roster.warm_tails(slot) as i64;
        }
        w
    }

    /// [`Engine::apply_batch`], also returning the events it did not apply (late,
    /// duplicate, invalid) with their positions among `events` and what a message about
    /// them needs (SPEC §2.6). Nothing is allocated when every event applies.
    pub fn apply_batch_refused(
        &mut self,
        now: Ms,
        source: Source,
        events: impl IntoIterator<Item = impl Into<Input>>,
        refused: &[Refusal],
    ) -> (IngestCounts, Vec<Refused>) {
        let mut counts = IngestCounts::default();
        let mut not_applied = Vec::new();
        if self.settings.clock == ClockMode::Wall {
            self.now_seen = self.now_seen.max(now);
        }
        // On a large floor applying is bound by memory latency: each event's index entry,
        // agent slot and timeline tail are cache misses, and `apply` waits for them one
        // after another. Reading them for the next few events first lets those independent
        // misses overlap in the CPU's out-of-order window. Reads only: nothing changes.
        let mut events = events.into_iter().map(Into::into);
        let mut ahead: Vec<Input> = Vec::with_capacity(WARM_AHEAD);
        let mut index = 0;
        loop {
            ahead.extend(events.by_ref().take(WARM_AHEAD));
            if ahead.is_empty() {
                break;
            }
            std::hint::black_box(self.warm(&ahead));
            for ev in ahead.drain(..) {
                let ev = match ev {
                    Input::Agent(ev) => ev,
                    Input::Call(call) => {
                        let o = self.apply_call(&call, now, source);
                        counts.count(o.0);
                        if let Some(r) = o.1 {
                            not_applied.push(Refused { index, ..r });
                        }
                        index += 1;
                        continue;
                    }
                };
                // `apply` consumes the event; what a refusal message needs is kept aside
                // (ids up to 24 bytes are copied inline, without allocating).
                let (agent, state, reason, ts, seq) = (ev.agent.clone(), ev.state, ev.reason.clone(), ev.ts, ev.seq);
                let o = self.apply(ev, now, source);
                counts.count(o);
                if !matches!(o, Outcome::Applied { .. }) {
                    let last = self.agents.find(&agent).map(|ai| {
                        let a = self.agents.get(ai);
                        (a.last_ts, a.last_seq)
                    });
                    // A new agent's too_large is `floor.max_agents`'s unless room was left.
                    let teams_full = o == Outcome::Invalid(Refusal::TooLarge)
                        && (last.is_some() || self.agents.len() < self.settings.max_agents);
                    not_applied.push(Refused {
                        index,
                        outcome: o,
                        agent,
                        state,
                        reason,
                        ts,
                        seq,
                        last,
                        teams_full,
                        call: None,
                    });
                }
                index += 1;
            }
        }
        counts.merge(&self.count_edge(source, refused));
        if self.settings.clock == ClockMode::Event {
            let at = self.now(now);
            self.advance(at);
        }
        (counts, not_applied)
    }

    /// Counts events refused at the edge (their reasons), and nothing else: no clock moves.
    /// The cluster counts what a replica refused itself this way, outside the stream.
    pub fn count_edge(&mut self, source: Source, refused: &[Refusal]) -> IngestCounts {
        let mut counts = IngestCounts::default();
        for &why in refused {
            // A source that de-duplicates at the edge (Connect's `EventId`) refuses with
            // `repeated`: counted `duplicate`, as SPEC §2.2 names it.
            let o = match why {
                Refusal::Repeated => Outcome::Duplicate,
                Refusal::TooOld | Refusal::OlderThanLast => Outcome::Late(why),
                _ => Outcome::Invalid(why),
            };
            self.count(source, o);
            counts.count(o);
        }
        counts
    }

    /// [`Engine::apply_batch_refused`] with a panic (a bug in the core, never bad input)
    /// caught and returned as its message, the engine left as the batch left it. The
    /// daemon (`Core::apply`) and the journal's replay both apply batches through here, so
    /// a restart rebuilds the same state instead of crash-looping on the batch.
    pub fn apply_batch_contained(
        &mut self,
        now: Ms,
        source: Source,
        events: impl IntoIterator<Item = impl Into<Input>>,
        refused: &[Refusal],
    ) -> Result<(IngestCounts, Vec<Refused>), String> {
        let run = std::panic::AssertUnwindSafe(|| self.apply_batch_refused(now, source, events, refused));
        std::panic::catch_unwind(run).map_err(|p| {
            p.downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into())
        })
    }

    /// Applies one decoded agent or call event received at `recv_ms` (see [`Engine::apply`]).
    pub fn apply_input(&mut self, ev: Input, recv_ms: Ms, source: Source) -> Outcome {
        match ev {
            Input::Agent(ev) => self.apply(ev, recv_ms, source),
            Input::Call(call) => self.apply_call(&call, recv_ms, source).0,
        }
    }

    /// Applies one decoded event received at `recv_ms` (system time; used by the wall
    /// clock for a missing `ts`, the future-skew clamp and the backfill limit).
    pub fn apply(&mut self, ev: Event, recv_ms: Ms, source: Source) -> Outcome {
        let o = self.apply_inner(ev, recv_ms);
        self.after_apply(source, o);
        o
    }

    /// Counts an event's outcome, and what the event clock and housekeeping do after one.
    pub(super) fn after_apply(&mut self, source: Source, o: Outcome) {
        self.count(source, o);
        // The event clock moves with the events: commit the detectors every minute of event
        // time, so a long replay applied event by event keeps its change logs short (the
        // results do not depend on when this happens).
        if self.settings.clock == ClockMode::Event && self.max_ts >= self.auto_advanced.saturating_add(60_000) {
            self.auto_advanced = self.max_ts;
            self.advance(self.max_ts);
        }
        if matches!(o, Outcome::Applied { .. }) {
            self.applied_since_housekeeping += 1;
            if self.applied_since_housekeeping >= 65_536 {
                // Part of applying: a replay of the same events does it at the same point.
                self.housekeeping_inner();
            }
        }
    }

    fn apply_inner(&mut self, ev: Event, recv_ms: Ms) -> Outcome {
        #[cfg(test)]
        if self.panic_on_agent.as_ref().is_some_and(|a| *a == ev.agent) {
            panic!("test switch: an event of {}", ev.agent);
        }
        let wall = self.settings.clock == ClockMode::Wall;
        let (mut ts, mut skewed) = match (ev.ts, wall) {
            (Some(t), _) => (t, false),
            (None, true) => (recv_ms, false),
            (None, false) => return Outcome::Invalid(Refusal::MissingField),
        };
        if wall && ts > recv_ms + self.settings.max_future_skew_ms {
            ts = recv_ms;
            skewed = true;
        }
        // The oldest instant still applied where it belongs (SPEC §2.5).
        let now = if wall { recv_ms.max(self.now_seen) } else { self.max_ts };
        let too_old = now != Ms::MIN && ts < now.saturating_sub(self.settings.max_backfill_ms);
        let reason = ev.reason;
        let kind = kind_of(&self.settings, ev.state, reason.as_deref());

        let Some(ai) = self.agents.find(&ev.agent) else {
            if too_old {
                return Outcome::Late(Refusal::TooOld);
            }
            if self.agents.len() >= self.settings.max_agents {
                return Outcome::Invalid(Refusal::TooLarge);
            }
            if ev.team.as_deref().is_some_and(|t| self.teams_full(t)) {
                return Outcome::Invalid(Refusal::TooLarge);
            }
            self.max_ts = self.max_ts.max(ts);
            let ti = self.team_idx(ev.team.as_deref().unwrap_or(UNASSIGNED), ts);
            let mut timeline = Timeline::new();
            let completed = timeline.change(ts, kind);
            debug_assert!(completed.is_none());
            let ai = self.agents.insert(Agent {
                id: ev.agent,
                name: ev.name,
                team: ti,
                member_pos: 0,
                state: ev.state,
                reason,
                kind,
                since: ts,
                seg_start: ts,
                last_ts: ts,
                last_seq: ev.seq,
                timeline,
                aux_entry: None,
                long_aux_alert: None,
            });
            let team = self.teams[ti as usize].as_mut().expect("live team index");
            team.roster.join(&mut self.agents, ai);
            if let Some(c) = self.view_cache.get_mut(ai as usize) {
                *c = None; // a reused slot
            }
            self.forget_marks(ai);
            self.record(ti, Change { t: ts, agent: ai, to: Some(kind) });
            self.roster_record(ai, ts, None);
            self.no_show_seen(ai, ts);
            // On the floor again (its alert's text names it now).
            self.roster_who_changed(ai);
            self.enter_kind(ai, None, ts);
            self.version += 1;
            return Outcome::Applied { skewed };
        };

        let a = self.agents.get(ai);
        let duplicate = match ev.seq {
            Some(seq) => a.last_seq.is_some_and(|last| seq <= last),
            None => ts == a.last_ts && ev.state == a.state && reason == a.reason,
        };
        if duplicate {
            return Outcome::Duplicate;
        }
        if ts < a.last_ts {
            return Outcome::Late(Refusal::OlderThanLast);
        }
        if too_old {
            return Outcome::Late(Refusal::TooOld);
        }
        let old_team = a.team;
        if ev.team.as_deref().is_some_and(|t| self.teams_full(t)) {
            return Outcome::Invalid(Refusal::TooLarge);
        }
        let changed = ev.state != a.state || reason != a.reason;
        let old_kind = a.kind;
        self.max_ts = self.max_ts.max(ts);
        let new_team = match &ev.team {
            Some(t) if *t != self.team(old_team).id => self.team_idx(t, ts),
            _ => old_team,
        };

        if changed || new_team != old_team {
            self.long_aux_check(ai, ts);
            let a = self.agents.get_mut(ai);
            let span = (ts - a.seg_start).max(0);
            a.seg_start = a.seg_start.max(ts);
            self.team_mut(old_team).state_ms[old_kind as usize] += span;
            if new_team != old_team {
                let team = self.teams[old_team as usize].as_mut().expect("live team index");
                team.roster.leave(&mut self.agents, ai);
                self.agents.get_mut(ai).kind = kind;
                self.agents.get_mut(ai).team = new_team;
                let team = self.teams[new_team as usize].as_mut().expect("live team index");
                team.roster.join(&mut self.agents, ai);
                self.record(old_team, Change { t: ts, agent: ai, to: None });
                self.record(new_team, Change { t: ts, agent: ai, to: Some(kind) });
                let left = self.team(old_team).id.clone();
                self.roster_moved(ai, ts, &left);
                self.long_aux_moved(ai, ts, &left);
            } else if kind != old_kind {
                self.agents.get_mut(ai).kind = kind;
                self.team_mut(old_team).roster.change(old_kind, kind);
                self.record(old_team, Change { t: ts, agent: ai, to: Some(kind) });
            } else if kind == Kind::AuxUnplanned && !self.roster.is_empty() {
                // Another unplanned reason: the schedule may allow one and not the other
                // (SPEC §9.2), so the team's detectors look again at this instant (the same
                // kind: their counts stay; a late one re-evaluates like any change).
                self.record(old_team, Change { t: ts, agent: ai, to: Some(kind) });
            }
            self.version += 1;
        }
        let a = self.agents.get_mut(ai);
        if let Some(seq) = ev.seq {
            a.last_seq = Some(a.last_seq.map_or(seq, |l| l.max(seq)));
        }
        a.last_ts = ts;
        if ev.name.is_some() && ev.name != a.name {
            a.name = ev.name;
            self.version += 1;
            self.roster_who_changed(ai);
        }
        if changed {
            let a = self.agents.get_mut(ai);
            if ts > a.since && old_kind != Kind::AuxUnplanned && a.aux_entry.is_some() {
                // The stretch of unplanned aux the agent left at `since` (`enter_kind`) is
                // over for good: no event at that instant put it back.
                a.aux_entry = None;
                a.long_aux_alert = None;
            }
            a.state = ev.state;
            a.reason = reason;
            a.since = ts;
            a.kind = kind;
            let completed = a.timeline.change(ts, kind);
            // History no window needs is dropped as a timeline grows (amortized: offered each
            // time its length doubles), so housekeeping does not walk every timeline.
            if a.timeline.segments_len().is_power_of_two() {
                let cutoff = self.trim_cutoff();
                self.agents.get_mut(ai).timeline.trim(cutoff);
            }
            if let Some(handle_ms) = completed {
                let team = self.team_mut(new_team);
                team.handle.record(handle_ms.max(0) as u64);
                team.contacts_total += 1;
                // The chart credits the team in force at completion (SPEC §10).
                self.chart_contact(new_team, ts, handle_ms.max(0));
            }
            self.roster_record(ai, ts, Some(old_kind));
            self.enter_kind(ai, Some(old_kind), ts);
            if kind == Kind::AuxUnplanned && old_kind == kind && (!self.roster.is_empty() || self.entered_at(ai, ts)) {
                self.long_aux_reason(ai, ts);
            }
        }
        Outcome::Applied { skewed }
    }

    /// Gives a change to a team's detectors: at once when it is not behind their clock,
    /// else for the re-evaluation at the next advance.
    fn record(&mut self, ti: TeamIdx, ch: Change) {
        let team = self.teams[ti as usize].as_mut().expect("live team index");
        team.det.record(ch);
        self.team_due[ti as usize] = Ms::MIN;
    }

    /// long_aux bookkeeping on entering `kind` from `old` at `t`.
    fn enter_kind(&mut self, ai: AgentIdx, old: Option<Kind>, t: Ms) {
        let a = self.agents.get(ai);
        if a.kind == Kind::Offline && old != Some(Kind::Offline) {
            self.offline_since.insert((a.since, ai));
        }
        let now_unplanned = a.kind == Kind::AuxUnplanned;
        let was_unplanned = old == Some(Kind::AuxUnplanned);
        if was_unplanned && !now_unplanned {
            let a = self.agents.get_mut(ai);
            let mut entry = a.aux_entry.take();
            let alert = a.long_aux_alert.take();
            if let Some(id) = &alert {
                self.end_agent_alert(id, t);
            }
            // Alerts the schedule resolved after the agent left (its event came late): one
            // that fired after it never happened, another ended when it left.
            let mut old = Vec::new();
            let mut new = Vec::new();
            for (id, _) in entry.iter().flat_map(|e| &e.ended) {
                let Some(stored) = self.alerts.get(id) else { continue };
                if stored.resolved_at.is_some_and(|r| r > t) {
                    if stored.fired_at <= t {
                        let mut a = stored.alert().clone();
                        a.resolved_at = Some(t);
                        new.push(a);
                    }
                    old.push(stored.clone());
                }
            }
            if !old.is_empty() {
                self.correct(old, super::alerts::by_id(new));
                // Not kept: putting these corrections back for an event at this very instant
                // that resumes the stretch is not worth it (it takes this agent's events
                // arriving late across its schedule's allowance, and a state that lasts no
                // time where it left). Such a stretch starts again at `t`, as before.
                entry = None;
            }
            // Kept, with its alert's id, while the agent's events stay at this instant: one
            // that puts it back in unplanned aux resumes it (`resume_aux_stretch`).
            let a = self.agents.get_mut(ai);
            a.long_aux_alert = alert.filter(|_| entry.is_some());
            a.aux_entry = entry;
        } else if now_unplanned && !was_unplanned {
            // A stretch kept here was left at this very instant (`apply_inner` drops it at a
            // change at a later one).
            match self.agents.get_mut(ai).aux_entry.take() {
                Some(entry) => self.resume_aux_stretch(ai, entry, t),
                None => self.start_aux_stretch(ai, t, Vec::new()),
            }
        }
    }

    /// Agent `ai` is back in unplanned aux at `t`, the instant it left the stretch `entry`.
    /// The state at an instant is the one after every event stamped then, so it never left:
    /// the stretch goes on with its limit, and its alert, resolved at `t` when the agent
    /// left, fires on (a correction: hooks told of the resolve get it retracted, then the
    /// alert firing). The reason now is a change of reason inside the stretch.
    fn resume_aux_stretch(&mut self, ai: AgentIdx, entry: Box<AuxEntry>, t: Ms) {
        self.long_aux_due.insert((entry.at + entry.limit, ai));
        let a = self.agents.get_mut(ai);
        a.aux_entry = Some(entry);
        let stored = a.long_aux_alert.as_ref().and_then(|id| self.alerts.get(id)).cloned();
        match stored {
            Some(stored) if stored.resolved_at == Some(t) => {
                let mut firing = stored.alert().clone();
                firing.state = AlertState::Firing;
                firing.resolved_at = None;
                self.correct(vec![stored], vec![firing]);
            }
            // None fired; or it was retracted when the agent left (it fired after `t`: this
            // agent's events came late), and fires again when due.
            _ => a.long_aux_alert = None,
        }
        if !self.roster.is_empty() || self.entered_at(ai, t) {
            self.long_aux_reason(ai, t);
        }
    }

    /// Whether agent `ai`'s `long_aux` stretch starts at `t`: a reason given at that very
    /// instant is the reason at entry, which chooses the limit (SPEC §4.2).
    fn entered_at(&self, ai: AgentIdx, t: Ms) -> bool {
        self.agents.get(ai).aux_entry.as_ref().is_some_and(|e| e.at == t)
    }

    /// Sets where the `long_aux` stretch of agent `ai`, in unplanned aux at `t` with no
    /// stretch going, starts: at `t`, or with a roster where its schedule stops allowing the
    /// aux for the limit at least (SPEC §9.2), or never; and its deadline.
    ///
    /// `Engine::stay_stretches` (adherence.rs) walks a stay again with these steps: a change
    /// here is a change there.
    fn start_aux_stretch(&mut self, ai: AgentIdx, t: Ms, ended: Vec<(String, Ms)>) {
        let a = self.agents.get(ai);
        let reason = a.reason.clone().unwrap_or_default();
        let limit = self.settings.long_aux_limit(&reason);
        let team = self.team(a.team).id.clone();
        let stretch = self.long_aux_start(ai, t, &reason, limit);
        let a = self.agents.get_mut(ai);
        a.aux_entry = stretch.map(|(at, until)| {
            Box::new(AuxEntry { at, limit, reason, team, until, ended, moves: Vec::new(), from: Some(t) })
        });
        if let Some((at, _)) = stretch {
            self.long_aux_due.insert((at + limit, ai));
        }
    }

    /// A stretch of unplanned aux that began at `start` with `reason` (before `t`) and goes
    /// on at `t` with the agent's reason now, to where the schedule allows that one.
    ///
    /// `Engine::stay_stretches` (adherence.rs) walks a stay again with these steps: a change
    /// here is a change there.
    fn continue_aux_stretch(&mut self, ai: AgentIdx, start: Ms, reason: CompactString, t: Ms, old: AuxEntry) {
        let a = self.agents.get(ai);
        let now_reason = a.reason.clone().unwrap_or_default();
        let limit = self.settings.long_aux_limit(&reason);
        let team = self.team(a.team).id.clone();
        let until = self.aux_allowed_from(ai, t, &now_reason);
        let AuxEntry { ended, moves, .. } = old;
        self.agents.get_mut(ai).aux_entry =
            Some(Box::new(AuxEntry { at: start, limit, reason, team, until, ended, moves, from: Some(t) }));
        self.long_aux_due.insert((start + limit, ai));
        if until != Ms::MAX {
            self.long_aux_due.insert((until, ai));
        }
    }

    /// Another unplanned reason at `t` (with a roster, or at the instant the stretch
    /// starts). No `long_aux` stretch started before `t` (the schedule allowed the aux so
    /// far, or it starts at `t`): it starts where the schedule stops allowing the new reason,
    /// which chooses the limit. A stretch going on goes on (reason changes inside unplanned
    /// aux do not break it, SPEC §4.2), to where the schedule allows the new reason (SPEC
    /// §9.2).
    ///
    /// `Engine::stay_stretches` (adherence.rs) walks a stay again with these steps: a change
    /// here is a change there.
    fn long_aux_reason(&mut self, ai: AgentIdx, t: Ms) {
        let a = self.agents.get(ai);
        match a.aux_entry.as_deref() {
            Some(e) if e.at < t => {
                let reason = a.reason.clone().unwrap_or_default();
                let until = self.aux_allowed_from(ai, t, &reason);
                let e = self.agents.get_mut(ai).aux_entry.as_deref_mut().expect("a stretch");
                e.until = until;
                if until != Ms::MAX {
                    self.long_aux_due.insert((until, ai));
                }
            }
            _ => {
                let a = self.agents.get_mut(ai);
                let old = a.aux_entry.take();
                // An alert of the stretch fired after `t` (this agent's events came late):
                // the stretch it was for never was.
                if let Some(id) = a.long_aux_alert.take() {
                    self.end_agent_alert(&id, t);
                }
                // The stretch was found ahead of `t`, where the schedule would stop allowing
                // the old reason for the limit; but the old reason may have been unplanned
                // just before `t` already, and a change of reason inside unplanned aux does
                // not break a stretch (SPEC §4.2): it goes on from where that run began.
                let run = old.as_deref().and_then(|e| Some((e.from?, e.reason.clone())));
                if let Some((from, reason)) = run
                    && let Some(start) = self.unplanned_run_start(ai, from, t, &reason)
                    && start < t
                {
                    let e = old.expect("a stretch");
                    self.continue_aux_stretch(ai, start, reason, t, *e);
                } else {
                    self.start_aux_stretch(ai, t, old.map(|e| e.ended).unwrap_or_default());
                }
            }
        }
    }

    /// Fires the long_aux alert of agent `ai` if its deadline is at or before `t`; resolves
    /// it where its schedule starts allowing the aux, if that is at or before `t`, and looks
    /// for the next stretch from there (SPEC §9.2).
    ///
    /// `Engine::stay_stretches` (adherence.rs) walks a stay again with these steps: a change
    /// here is a change there.
    pub(super) fn long_aux_check(&mut self, ai: AgentIdx, t: Ms) {
        // Out of unplanned aux, `aux_entry` is the stretch the agent left (`enter_kind`).
        if self.agents.get(ai).aux_stretch().is_none() {
            return;
        }
        loop {
            self.long_aux_fire(ai, t);
            let a = self.agents.get(ai);
            let Some(e) = a.aux_entry.as_deref() else { return };
            if e.until > t {
                return;
            }
            let (until, fired) = (e.until, e.at + e.limit);
            let a = self.agents.get_mut(ai);
            let mut ended = a.aux_entry.take().map(|e| e.ended).unwrap_or_default();
            if let Some(id) = a.long_aux_alert.take() {
                self.end_agent_alert(&id, until);
                ended.push((id, fired));
            }
            self.start_aux_stretch(ai, until, ended);
        }
    }

    /// Agent `ai` moved at `t` from team `from`: noted in its stretch of unplanned aux, if
    /// any. An alert of the stretch that fired at `t` or after (at the same instant, or
    /// before this agent's late event) is corrected to the team at its fire time.
    fn long_aux_moved(&mut self, ai: AgentIdx, t: Ms, from: &str) {
        let a = self.agents.get_mut(ai);
        let Some(e) = a.aux_entry.as_deref_mut() else { return };
        e.moves.push((t, from.into()));
        let Some(stored) = a.long_aux_alert.as_ref().and_then(|id| self.alerts.get(id)).cloned() else { return };
        if stored.fired_at < t {
            return;
        }
        let a = self.agents.get(ai);
        let e = a.aux_entry.as_deref().expect("a stretch");
        let team = e.team_at(stored.fired_at, &self.team(a.team).id).to_string();
        if team == stored.team {
            return;
        }
        let mut moved = stored.alert().clone();
        moved.id = Alert::make_id(AlertKind::LongAux, &team, Some(&a.id), stored.started_at);
        moved.team = team;
        self.agents.get_mut(ai).long_aux_alert = Some(moved.id.clone());
        self.correct(vec![stored], vec![moved]);
    }

    fn long_aux_fire(&mut self, ai: AgentIdx, t: Ms) {
        let a = self.agents.get(ai);
        let Some(e) = a.aux_entry.as_deref() else { return };
        let (entry, limit) = (e.at, e.limit);
        // A stretch the schedule ends before the limit (another reason, SPEC §9.2) never fires.
        if a.long_aux_alert.is_some() || entry + limit > t || e.until < entry + limit {
            return;
        }
        let at = entry + limit;
        // The limit and the reason are the entry's; the team is the one at the fire time
        // (as `out_of_adherence`'s, SPEC §9.3), whatever the agent did after it.
        let (team, reason) = (e.team_at(at, &self.team(a.team).id).to_string(), e.reason.clone());
        let id = Alert::make_id(AlertKind::LongAux, &team, Some(&a.id), entry);
        let who = match &a.name {
            Some(n) => format!("{} ({n})", a.id),
            None => a.id.to_string(),
        };
        let alert = new_alert(
            AlertKind::LongAux,
            id.clone(),
            &team,
            Some(&a.id),
            entry,
            at,
            limit as f64 / 1000.0,
            limit as f64 / 1000.0,
            format!("{who} has been in unplanned aux ({reason}) for {} min", limit / 60_000),
            vec![a.id.to_string()],
        );
        self.agents.get_mut(ai).long_aux_alert = Some(id);
        if let Some(until) = self.agents.get(ai).aux_entry.as_ref().map(|e| e.until).filter(|&u| u != Ms::MAX) {
            // The schedule ends the stretch there (SPEC §9.2): resolved then without an event.
            self.long_aux_due.insert((until, ai));
        }
        self.changes.push(AlertChange::Fired(alert));
        self.flush_changes();
    }
}
