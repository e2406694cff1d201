//! Time: advancing the detectors to `now` (re-evaluating teams that late changes reached,
//! SPEC §2.5), long_aux deadlines, and housekeeping.

use super::Engine;
use crate::alert::AlertKind;
use crate::detect::team::{CHECKPOINT_MS, Ctx};
use crate::floor::agents::{AgentIdx, TeamIdx};
use crate::floor::timeline::Kind;
use crate::settings::ClockMode;
use crate::time::Ms;

/// How far back a board's index keeps resolved alerts (`board_index`): a view at the last
/// housekeeping's instant less this, plus 10 minutes, or later, reads it.
const BOARD_KEPT_MS: Ms = 3_600_000;

impl Engine {
    /// Processes everything due before `now` (alerts fire on time even without events):
    /// long_aux deadlines up to `now`, the teams' detectors up to `now - COMMIT_LAG_MS`
    /// (views evaluate the rest on a copy). Results depend on the events and `now` only,
    /// never on when or how often this runs.
    pub fn advance(&mut self, now: Ms) {
        if self.settings.clock == ClockMode::Wall {
            self.now_seen = self.now_seen.max(now);
        }
        self.advanced_to = self.advanced_to.max(now);
        while let Some(&(due, ai)) = self.long_aux_due.first() {
            if due > now {
                break;
            }
            self.long_aux_due.pop_first();
            if self.agents.contains(ai) && self.agents.get(ai).aux_stretch().is_some() {
                self.long_aux_check(ai, now);
            }
        }
        self.advance_adherence(now);
        let commit = now.saturating_sub(super::COMMIT_LAG_MS);
        for ti in 0..self.teams.len() as TeamIdx {
            let due = self.team_due[ti as usize] < commit || self.step_every_team;
            if due && self.teams[ti as usize].is_some() {
                self.advance_team(ti, commit);
            }
        }
        self.close_charts(commit);
        self.advance_queues(commit);
    }

    /// Commits every due queue's alerts through `[.., t)` and corrects the store to them.
    fn advance_queues(&mut self, t: Ms) {
        let s = &self.settings.queues;
        let derived: Vec<(String, crate::queue::Derived)> =
            self.queues.iter_mut().filter_map(|q| q.advance(t, s).map(|d| (q.id.clone(), d))).collect();
        for (q, d) in derived {
            self.reconcile_queue(&q, d);
        }
    }

    /// Advances a team's detectors through [clock, t), re-evaluating first from the
    /// checkpoint before the earliest late change (and correcting the alert store from
    /// there). `advance` calls it only for teams that are due (`TeamDet::next_due`); the
    /// others keep their clock, and stepping over their idle stretch later changes nothing.
    pub(super) fn advance_team(&mut self, ti: TeamIdx, t: Ms) {
        let team = self.teams[ti as usize].as_mut().expect("live team index");
        let mut ctx = Ctx {
            settings: &self.settings,
            cal: &mut self.cal,
            agents: &self.agents,
            binom: &mut self.binom,
            out: &mut self.changes,
            roster: &self.roster,
        };
        if team.det.dirty().is_none() && team.det.clock() >= t {
            return;
        }
        let rewound = team.det.advance_to(&team.id, t, &mut ctx);
        self.team_due[ti as usize] = team.det.next_due(&self.settings);
        match rewound {
            Some(from) => {
                let changes = std::mem::take(&mut self.changes);
                self.reconcile(ti, from, changes);
            }
            None => self.flush_changes(),
        }
    }

    /// Trims history no window needs, forgets long-offline agents and empty teams.
    pub fn housekeeping(&mut self) {
        if let Some(log) = &mut self.oplog {
            log.housekeeping();
        }
        self.housekeeping_inner();
    }

    /// The latest instant the engine knows of: the largest event time, or the wall clock's
    /// now when later.
    pub fn latest(&self) -> Option<Ms> {
        let t = self.max_ts.max(self.now_seen);
        (t != Ms::MIN).then_some(t)
    }

    /// History before this instant is needed by no window and no re-evaluation: the
    /// longest sliding window and `today` as of the oldest instant a late event may still
    /// reach (less a checkpoint interval, where re-evaluation starts).
    pub(super) fn trim_cutoff(&mut self) -> Ms {
        let Some(now) = self.latest() else { return Ms::MIN };
        let oldest = now - self.settings.max_backfill_ms - CHECKPOINT_MS;
        let midnight = self.cal.midnight(oldest);
        (oldest - self.settings.longest_sliding_ms()).min(midnight) - 1
    }

    /// Trims the roster's schedules and state logs before `cutoff` ([`Engine::trim_cutoff`]).
    pub(super) fn trim_roster(&mut self, now: Ms, cutoff: Ms) {
        // An agent whose events since its last derivation all left its stretches as they
        // were (`Roster::record`) walks its log from where that derivation settled: derived
        // now, before the trim drops the log there.
        for slot in self.roster.settled_before(cutoff) {
            self.derive_adherence(slot, now);
        }
        self.roster.trim(cutoff);
    }

    pub(super) fn housekeeping_inner(&mut self) {
        self.applied_since_housekeeping = 0;
        let Some(now) = self.latest() else { return };
        let cutoff = self.trim_cutoff();
        let forget_before = now - self.settings.forget_offline_ms;
        while let Some(&(since, ai)) = self.offline_since.first() {
            if since >= forget_before {
                break;
            }
            self.offline_since.pop_first();
            let still = self.agents.contains(ai) && {
                let a = self.agents.get(ai);
                a.kind == Kind::Offline && a.since == since
            };
            if still {
                self.forget(ai, now);
            }
        }
        // A team without a member is forgotten once it has been so for as long as an agent
        // is kept offline (or beyond `MAX_EMPTY_TEAMS` of them, those empty longest first),
        // not at once: one refilled later (agents moving back) keeps its counters and its
        // detectors' day (load peaks today), whenever housekeeping ran in between.
        let mut empty: Vec<(Ms, TeamIdx)> = Vec::new();
        for (i, t) in self.teams.iter_mut().enumerate() {
            if let Some(t) = t {
                t.det.trim(cutoff);
                if !t.roster.is_empty() {
                    t.empty_since = None;
                    continue;
                }
                let since = *t.empty_since.get_or_insert(now);
                if !t.det.has_firing_alerts() && t.det.dirty().is_none() {
                    empty.push((since, i as TeamIdx));
                }
            }
        }
        empty.sort_unstable();
        let over = empty.len().saturating_sub(super::MAX_EMPTY_TEAMS);
        let drop: Vec<TeamIdx> = empty
            .iter()
            .enumerate()
            .filter(|&(k, &(since, _))| k < over || since < forget_before)
            .map(|(_, &(_, ti))| ti)
            .collect();
        for ti in drop {
            let t = self.teams[ti as usize].take().expect("live team");
            self.team_index.remove(&t.id);
            self.team_free.push(ti);
        }
        self.trim_charts(now);
        self.trim_roster(now, cutoff);
        // A call's id is kept past its end as long as a late `queued` for it could still
        // be applied (it would be `too_old` after that).
        let forget_calls_before = now - self.settings.max_backfill_ms - CHECKPOINT_MS;
        // A quiet queue is forgotten as a long-offline agent is.
        self.queues.trim(cutoff, forget_calls_before, forget_before, now, &self.settings.queues);
        // Resolved alerts are kept for at least 24 hours (SPEC §5.2), in the daemon 48 and
        // in `replay` for good (`keep_resolved_alerts_ms`); the AHT chart's at least as long
        // as its points (`history_days`): they belong to its history, and there are few
        // (one per run of breaking points per chart).
        let keep = self.settings.keep_resolved_alerts_ms;
        let mut keep_after = now.saturating_sub(keep);
        let mut keep_chart_after = now.saturating_sub(self.settings.aht_chart.history_ms.max(keep));
        // Boards are read at now or later: an hour of resolved alerts is plenty.
        self.board_alerts.prune(now.saturating_sub(BOARD_KEPT_MS));
        // Past `limits.max_alerts`, the oldest resolved alerts go early, whatever their kind:
        // not those a late event may still change (resolved within what may be backfilled,
        // which the detectors would otherwise find missing and tell again).
        let over = self.alerts.len().saturating_sub(self.settings.max_alerts);
        let in_time = (keep_after, keep_chart_after);
        if over > 0 {
            let settled = now.saturating_sub(self.settings.max_backfill_ms + CHECKPOINT_MS);
            let early = self.early_cutoff(over).min(settled);
            keep_after = keep_after.max(early);
            keep_chart_after = keep_chart_after.max(early);
        }
        // The chart's limit is at or before the others': none is dropped while every
        // resolve is at or after `keep_after`.
        debug_assert!(keep_chart_after <= keep_after);
        if self.resolved_floor >= keep_after {
            debug_assert!(
                self.alerts.values().all(|a| a.resolved_at.is_none_or(|r| r >= keep_after)),
                "an alert resolved before {keep_after}, the floor {}",
                self.resolved_floor
            );
            if over > 0 {
                self.past_max_alerts(0);
            }
            return;
        }
        let (queue_alerts, board_alerts, roster) = (&mut self.queue_alerts, &mut self.board_alerts, &mut self.roster);
        let mut floor = Ms::MAX;
        let mut early = 0u64;
        self.alerts.retain(|a| {
            let chart = a.kind == AlertKind::AhtOutOfControl;
            let after = if chart { keep_chart_after } else { keep_after };
            let keep = a.resolved_at.is_none_or(|r| r >= after);
            if !keep {
                // Gone only for the limit: its time was not up.
                if a.resolved_at.is_some_and(|r| r >= if chart { in_time.1 } else { in_time.0 }) {
                    early += 1;
                }
                queue_alerts.replace(Some(a), None);
                board_alerts.replace(Some(a), None);
                if a.kind == AlertKind::OutOfAdherence
                    && let Some(agent) = &a.agent
                {
                    roster.forget_done(agent, &a.id);
                }
            } else if let Some(r) = a.resolved_at {
                floor = floor.min(r);
            }
            keep
        });
        self.resolved_floor = floor;
        if over > 0 {
            self.past_max_alerts(early);
        }
    }

    /// The store held more than `limits.max_alerts` at housekeeping: `early` resolved
    /// alerts were forgotten before their time (counted). Said in the log when some were,
    /// at most once a minute (with how many went early since it last said so), with how
    /// many are held now and how many of those fire (those always stay; over the limit
    /// with nothing forgotten, the gauges show it).
    fn past_max_alerts(&mut self, early: u64) {
        self.alerts_dropped += early;
        self.alerts_dropped_unsaid += early;
        if self.alerts_dropped_unsaid == 0
            || self.alerts_dropped_said.is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(60))
        {
            return;
        }
        self.alerts_dropped_said = Some(std::time::Instant::now());
        let firing = self.alerts.values().filter(|a| a.resolved_at.is_none()).count();
        tracing::warn!(
            limit = self.settings.max_alerts,
            forgotten_early = std::mem::take(&mut self.alerts_dropped_unsaid),
            held = self.alerts.len(),
            firing,
            "the alert store is past limits.max_alerts: resolved alerts were forgotten before their time"
        );
    }

    /// The resolve time before which dropping the resolved alerts takes at least `over`
    /// of them (all of them when fewer are resolved; firing alerts always stay).
    fn early_cutoff(&self, over: usize) -> Ms {
        let mut resolved: Vec<Ms> = self.alerts.values().filter_map(|a| a.resolved_at).collect();
        if resolved.is_empty() {
            return Ms::MIN;
        }
        let k = over.min(resolved.len()) - 1;
        let (_, &mut t, _) = resolved.select_nth_unstable(k);
        t.saturating_add(1)
    }

    /// Forgets an agent offline since long before `now` (its slot may be reused).
    fn forget(&mut self, ai: AgentIdx, now: Ms) {
        let a = self.agents.get(ai);
        let (ti, kind) = (a.team, a.kind);
        let span = (now - a.seg_start).max(0);
        let team = self.teams[ti as usize].as_mut().expect("live team index");
        team.state_ms[kind as usize] += span;
        team.roster.leave(&mut self.agents, ai);
        team.det.forget(ai);
        self.team_due[ti as usize] = Ms::MIN;
        // Off the floor (its alert's text names it by id only now).
        self.roster_who_changed(ai);
        self.roster.forget_agent(ai);
        self.agents.remove(ai);
        self.version += 1;
    }
}
