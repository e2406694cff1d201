//! The roster in the engine (SPEC §9): uploads, each scheduled agent's state log, the
//! `out_of_adherence` alerts and the scheduled part of `long_aux`.
//!
//! An agent's adherence depends on its own history and schedule only, and its events
//! arrive in order (SPEC §2.5), so its alerts are re-derived per agent: when it has an
//! event, when an upload changes its schedule, and when time reaches the next instant its
//! alerts could change without an event (a fire, or a piece of its schedule starting).
//! Each re-derivation walks its schedule and log from the instant its history is final
//! (its last event, or the backfill limit) and corrects the store to the result, so a
//! late event retracts or moves what it changes, as for the other kinds.

use std::sync::Arc;

use super::Engine;
use crate::alert::{Alert, AlertKind, AlertState, StoredAlert};
use crate::detect::team::new_alert;
use crate::floor::agents::{AgentIdx, AuxEntry};
use crate::floor::timeline::Kind;
use crate::roster::parse::Upload;
use crate::roster::{Applied, UploadError};
use crate::time::Ms;

/// The team of scheduled agents never seen (SPEC §9.2).
pub const UNASSIGNED: &str = "unassigned";

impl Engine {
    /// Replaces the schedule of the agents and local days `up` names (SPEC §9.1). A refused
    /// upload changes nothing.
    pub fn upload_roster(&mut self, up: &Upload) -> Result<Applied, UploadError> {
        let cal = &mut self.cal;
        let max = self.settings.max_agents;
        let (touched, applied) = self.roster.upload(up, max, &mut |t| (cal.midnight(t) / 60_000) as i32)?;
        self.reevaluate_schedules(&touched);
        for &(slot, _) in &touched {
            // An agent seen before its schedule: its log starts with its current state (the
            // timelines keep no aux reasons; docs/adherence.md).
            if self.roster.last_change(slot).is_none()
                && let Some(ai) = self.agents.find(self.roster_id(slot))
            {
                let a = self.agents.get(ai);
                let (since, kind, reason) = (a.since, a.kind, a.reason.clone());
                self.roster.record(slot, since, kind, reason.as_deref());
            }
            self.roster.note_upload(slot);
            self.roster.mark(slot);
        }
        self.place_aux_stretches_again(&touched);
        self.version += 1;
        Ok(applied)
    }

    /// Applies the `[roster] file` (at start, and read again on a change or SIGHUP): only
    /// its agent-days whose rows differ from the file as last applied, and an agent-day it
    /// dropped from a day it still covers cleared (`roster::file`; docs/adherence.md).
    pub fn upload_roster_file(&mut self, up: &Upload) -> Result<crate::roster::FileApplied, UploadError> {
        let cal = &mut self.cal;
        let (changes, digests, count) = self.roster.file_changes(up, &mut |t| (cal.midnight(t) / 60_000) as i32);
        let mut count = count;
        if !changes.agents.is_empty() {
            count.outside = self.upload_roster(&changes)?.outside_warning();
        }
        self.roster.file_applied(digests);
        Ok(count)
    }

    /// An upload changed the schedules of the agents `touched` names: the `long_aux`
    /// stretches of each one's stays in unplanned aux are placed again as if this schedule
    /// had been in force when the agent entered them (SPEC §9.2: a stretch starts where the
    /// scheduled activity ends, and ends where one allows the aux): the stay going on, and
    /// those over since the first changed instant within what may still be backfilled. So
    /// a correction entered after the fact (the team's huddle, scheduled once it had begun
    /// or was over) takes back the `long_aux` alerts of the aux it schedules, as it takes
    /// back the `out_of_adherence` ones (docs/adherence.md).
    fn place_aux_stretches_again(&mut self, touched: &[(u32, Ms)]) {
        for &(slot, changed) in touched {
            if changed == Ms::MAX {
                continue;
            }
            let Some(ai) = self.agents.find(self.roster.scheduled_id(slot)) else { continue };
            self.past_aux_stays_again(slot, ai, changed);
            if self.agents.get(ai).kind != Kind::AuxUnplanned {
                continue;
            }
            let Some(reasons) = self.roster.unplanned_stay_going_on(slot) else { continue };
            // A stay that began before the agent's log (its first roster came during it):
            // the part before the log counts by its reasons' categories and keeps its stretch.
            let begun = reasons[0].0;
            if self
                .agents
                .get(ai)
                .aux_entry
                .as_deref()
                .is_some_and(|e| e.at < begun || e.from.is_some_and(|f| f < begun))
            {
                continue;
            }
            let reasons: Vec<(Ms, String)> = reasons.into_iter().map(|(t, r)| (t, r.to_string())).collect();
            // Walked to where the engine's deadlines are processed (a view may have taken them
            // past the last event), so an alert due by then is as the engine has it.
            let now = self.adherence_now().max(self.advanced_to);
            let (ended, going) = self.stay_stretches(ai, &reasons, now);
            // The usual case: the stretch going on is the one the engine has, and neither
            // ended one nor fired one differs (no alert to read or make).
            let a = self.agents.get(ai);
            if let (Some(e), Some(st)) = (a.aux_entry.as_deref(), going.as_ref())
                && ended.is_empty()
                && e.ended.is_empty()
                && e.from.is_some()
                && st.is(e)
                && a.long_aux_alert.is_some() == st.fired
            {
                continue;
            }
            let (id, who, team_now) = self.long_aux_names(ai);
            let old = self.agent_long_aux(slot, &id, &team_now, reasons[0].0, Ms::MAX);
            let mut new: Vec<Alert> =
                ended.iter().map(|st| self.stay_alert(slot, &id, &who, &team_now, &old, st, Some(st.until))).collect();
            let ended_ids: Vec<(String, Ms)> = new.iter().map(|a| (a.id.clone(), a.fired_at)).collect();
            let firing = going
                .as_ref()
                .filter(|st| st.fired)
                .map(|st| self.stay_alert(slot, &id, &who, &team_now, &old, st, None));
            let firing_id = firing.as_ref().map(|a| a.id.clone());
            new.extend(firing);
            let new = super::alerts::by_id(new);
            let a = self.agents.get(ai);
            let same_entry = match (a.aux_entry.as_deref(), going.as_ref()) {
                (None, None) => true,
                (Some(e), Some(st)) => st.is(e),
                _ => false,
            };
            let same_alerts = old.len() == new.len()
                && old
                    .iter()
                    .all(|o| new.binary_search_by(|n| n.id.as_str().cmp(&o.id)).is_ok_and(|k| o.alert() == &new[k]));
            if same_entry && same_alerts && a.long_aux_alert == firing_id {
                continue;
            }
            self.version += 1;
            self.correct(old, new);
            let moves = self.roster.moves_since(slot, reasons[0].0);
            let entry = going.map(|st| {
                let team = self.roster.team_at(slot, st.at, &team_now).unwrap_or(&team_now).to_string();
                Box::new(AuxEntry {
                    at: st.at,
                    limit: st.limit,
                    reason: st.reason.as_str().into(),
                    team,
                    until: st.until,
                    ended: ended_ids,
                    moves,
                    from: Some(st.from),
                })
            });
            if let Some(e) = &entry {
                self.long_aux_due.insert((e.at + e.limit, ai));
                if e.until != Ms::MAX {
                    self.long_aux_due.insert((e.until, ai));
                }
            }
            let a = self.agents.get_mut(ai);
            a.aux_entry = entry;
            a.long_aux_alert = firing_id;
        }
    }

    /// The instant the engine has evaluated the agents' alerts to: the wall clock seen, or
    /// the largest event time.
    fn adherence_now(&self) -> Ms {
        if self.settings.clock == crate::settings::ClockMode::Wall { self.now_seen } else { self.max_ts }
    }

    /// Agent `ai`'s id, its name as its alerts say it, and its team now.
    fn long_aux_names(&self, ai: AgentIdx) -> (String, String, String) {
        let a = self.agents.get(ai);
        let id = a.id.to_string();
        let who = match &a.name {
            Some(n) => format!("{id} ({n})"),
            None => id.clone(),
        };
        (id, who, self.team(a.team).id.clone())
    }

    /// The stored `long_aux` alerts of agent `id` (roster slot `slot`, in team `team_now`)
    /// that started in `[from, to)`, in whichever team the agent was in then.
    fn agent_long_aux(&self, slot: u32, id: &str, team_now: &str, from: Ms, to: Ms) -> Vec<Arc<StoredAlert>> {
        let mut teams = vec![team_now.to_string()];
        for (_, left) in self.roster.moves_since(slot, from) {
            if !teams.iter().any(|t| t == left.as_str()) {
                teams.push(left.to_string());
            }
        }
        teams
            .iter()
            .flat_map(|team| {
                let (lo, hi) = (format!("long_aux:{team}:{id}:"), format!("long_aux:{team}:{id};"));
                self.alerts.range(AlertKind::LongAux, &lo, &hi).cloned().collect::<Vec<_>>()
            })
            .filter(|a| a.agent.as_deref() == Some(id) && a.started_at >= from && a.started_at < to)
            .collect()
    }

    /// The `long_aux` alert of stretch `st` of agent `id` (named `who`, roster slot `slot`,
    /// in team `team_now`), resolved at `resolved` (None: firing). Its team is the one at its
    /// fire time; where the agent's moves are not all known (before a restored state), the
    /// one an alert of the same start in `old` was told under.
    #[allow(clippy::too_many_arguments)]
    fn stay_alert(
        &self,
        slot: u32,
        id: &str,
        who: &str,
        team_now: &str,
        old: &[Arc<StoredAlert>],
        st: &StayStretch,
        resolved: Option<Ms>,
    ) -> Alert {
        let fire = st.at + st.limit;
        let team = match self.roster.team_at(slot, fire, team_now) {
            Some(team) => team.to_string(),
            None => old.iter().find(|o| o.started_at == st.at).map_or_else(|| team_now.to_string(), |o| o.team.clone()),
        };
        let mut alert = new_alert(
            AlertKind::LongAux,
            Alert::make_id(AlertKind::LongAux, &team, Some(id), st.at),
            &team,
            Some(id),
            st.at,
            fire,
            st.limit as f64 / 1000.0,
            st.limit as f64 / 1000.0,
            format!("{who} has been in unplanned aux ({}) for {} min", st.reason, st.limit / 60_000),
            vec![id.to_string()],
        );
        if let Some(r) = resolved {
            alert.state = AlertState::Resolved;
            alert.resolved_at = Some(r);
        }
        alert
    }

    /// A schedule changed from some instant on: the team detectors that evaluated a
    /// member's unplanned aux after it (aux_cluster, aux_dispersion count only the aux
    /// nobody scheduled, SPEC §9.2) re-evaluate from there, as after a late event, within
    /// the backfill limit; before it they stay as evaluated (docs/adherence.md). An upload
    /// that changes nothing already evaluated (the usual one, before the day) costs nothing.
    fn reevaluate_schedules(&mut self, touched: &[(u32, Ms)]) {
        // The no-shows' schedules: team `unassigned`'s utilization counts them.
        let no_shows = touched.iter().filter(|&&(slot, t)| t != Ms::MAX && self.roster.unseen(slot)).map(|c| c.1).min();
        if let Some(t) = no_shows {
            self.touch_unassigned(t);
        }
        // (agent, first changed instant), by agent.
        let mut changed: Vec<(AgentIdx, Ms)> = touched
            .iter()
            .filter(|&&(_, t)| t != Ms::MAX)
            .filter_map(|&(slot, t)| self.agents.find(self.roster.scheduled_id(slot)).map(|ai| (ai, t)))
            .collect();
        let Some(first) = changed.iter().map(|c| c.1).min() else { return };
        changed.sort_unstable();
        for ti in 0..self.teams.len() {
            let Some(team) = self.teams[ti].as_mut() else { continue };
            // Stepped at the next advance: its next switch (a member's schedule piece
            // starting) may be another one now.
            self.team_due[ti] = Ms::MIN;
            team.det.schedules_changed();
            if team.det.clock() <= first {
                continue;
            }
            let find = |ai: AgentIdx| changed.binary_search_by_key(&ai, |c| c.0).ok().map(|i| changed[i].1);
            if let Some(from) = team.det.least_over_involved(find) {
                team.det.touch(from);
            }
        }
    }

    /// Agent `ai`'s first event, at `t`. A scheduled agent was until then a no-show in
    /// team `unassigned` (SPEC §9.2), whose `utilization_high` rule counted its scheduled
    /// time ([`Roster::unseen_scheduled_ms`]): when that team's detectors have passed `t`
    /// (a late event), they evaluate again from it.
    ///
    /// [`Roster::unseen_scheduled_ms`]: crate::roster::Roster::unseen_scheduled_ms
    pub(super) fn no_show_seen(&mut self, ai: AgentIdx, t: Ms) {
        if self.roster.is_empty() || self.roster.slot_of(ai, &self.agents.get(ai).id).is_none() {
            return;
        }
        self.touch_unassigned(t);
    }

    /// Team `unassigned`'s detectors evaluate again from `t`, if they have passed it.
    fn touch_unassigned(&mut self, t: Ms) {
        if let Some(&ti) = self.team_index.get(UNASSIGNED)
            && let Some(team) = self.teams[ti as usize].as_mut()
            && team.det.clock() > t
        {
            team.det.touch(t);
            self.team_due[ti as usize] = Ms::MIN;
        }
    }

    fn roster_id(&self, slot: u32) -> &str {
        self.roster.scheduled_id(slot)
    }

    /// Records an applied state change of agent `ai` from `old` (None: its first state) for
    /// adherence (scheduled agents only). A change that moves no figure or stretch is not
    /// recorded, nor is the agent's roster record read ([`Roster::changes_nothing`]).
    ///
    /// [`Roster::changes_nothing`]: crate::roster::Roster::changes_nothing
    pub(super) fn roster_record(&mut self, ai: AgentIdx, t: Ms, old: Option<Kind>) {
        if self.roster.is_empty() {
            return;
        }
        let a = self.agents.get(ai);
        if old.is_some_and(|old| self.roster.changes_nothing(old, a.kind)) {
            #[cfg(debug_assertions)]
            if let Some(slot) = self.roster.slot_of(ai, &a.id) {
                self.roster.check_unlogged(slot, a.kind);
            }
            return;
        }
        // Remembered by agent slot (the team detectors read it at every minute too): no
        // hash of the id per event.
        let slot = self.roster.slot_cached(ai, &a.id);
        // The views' own memo of it agrees.
        debug_assert_eq!(slot, super::view::roster_slot(&self.roster, &mut self.roster_slots, ai, &a.id));
        if let Some(slot) = slot {
            self.roster.record(slot, t, a.kind, a.reason.as_deref());
        }
    }

    /// Where a `long_aux` stretch entered at `t` with `reason` starts: at `t`, or where
    /// the schedule stops allowing it for at least `limit` (`None`: it never does); and
    /// where the schedule allows it again, ending the stretch (`Ms::MAX`: never).
    pub(super) fn long_aux_start(&self, ai: AgentIdx, t: Ms, reason: &str, limit: Ms) -> Option<(Ms, Ms)> {
        if self.roster.is_empty() {
            return Some((t, Ms::MAX));
        }
        // By the agent slot, as remembered (`Roster::slot_of`): no hash of the id.
        match self.roster.slot_of(ai, &self.agents.get(ai).id) {
            Some(slot) if self.roster.has_rows(slot) => self.roster.long_aux_from(slot, t, reason, limit),
            _ => Some((t, Ms::MAX)),
        }
    }

    /// [`Roster::unplanned_run_start`] for agent `ai` (`None`: no roster, or none for it).
    ///
    /// [`Roster::unplanned_run_start`]: crate::roster::Roster::unplanned_run_start
    pub(super) fn unplanned_run_start(&self, ai: AgentIdx, from: Ms, t: Ms, reason: &str) -> Option<Ms> {
        if self.roster.is_empty() {
            return None;
        }
        match self.roster.slot_of(ai, &self.agents.get(ai).id) {
            Some(slot) if self.roster.has_rows(slot) => Some(self.roster.unplanned_run_start(slot, from, t, reason)),
            _ => None,
        }
    }

    /// Where the schedule allows unplanned aux with `reason` from `t` on, for agent `ai`
    /// (`Ms::MAX`: never, or no roster).
    pub(super) fn aux_allowed_from(&self, ai: AgentIdx, t: Ms, reason: &str) -> Ms {
        if self.roster.is_empty() {
            return Ms::MAX;
        }
        match self.roster.slot_of(ai, &self.agents.get(ai).id) {
            Some(slot) if self.roster.has_rows(slot) => self.roster.aux_allowed_from(slot, t, reason),
            _ => Ms::MAX,
        }
    }

    /// The `long_aux` alerts of agent `ai`'s stays in unplanned aux that are over, as the
    /// schedule now in force makes them (its schedule changed from `changed` on): each stay
    /// that ended after `changed`, within what may still be backfilled, walked as the
    /// engine walked it at its events ([`Engine::stay_stretches`]).
    fn past_aux_stays_again(&mut self, slot: u32, ai: AgentIdx, changed: Ms) {
        let now = self.adherence_now();
        let floor = if now == Ms::MIN { Ms::MIN } else { now.saturating_sub(self.settings.max_backfill_ms) };
        // A stay shorter than each of its reasons' limits has no stretch that fires,
        // whatever the schedule (most stays).
        let limits = &self.settings;
        let stays: Vec<(Ms, Ms, Reasons)> = self
            .roster
            .unplanned_stays_over(slot, changed.max(floor))
            .into_iter()
            .filter(|st| st.reasons.iter().any(|r| st.end - st.start >= limits.long_aux_limit(r.1)))
            .map(|st| (st.start, st.end, st.reasons.into_iter().map(|(t, r)| (t, r.to_string())).collect()))
            .collect();
        if stays.is_empty() {
            return;
        }
        let (id, who, team_now) = self.long_aux_names(ai);
        for (s0, s1, reasons) in stays {
            // A stay that began before the agent's log (its first roster came during it, with
            // a reason given before): an alert of it started before the log's start of it,
            // and the stay keeps what it had (docs/adherence.md).
            let (old, earlier): (Vec<_>, Vec<_>) =
                self.agent_long_aux(slot, &id, &team_now, Ms::MIN, s1).into_iter().partition(|a| a.started_at >= s0);
            if earlier.iter().any(|a| a.resolved_at.is_none_or(|r| r > s0)) {
                continue;
            }
            let (mut fired, left) = self.stay_stretches(ai, &reasons, s1);
            // Left at `s1`: the alert of the stretch going on then resolves there.
            fired.extend(left.filter(|st| st.fired).map(|st| StayStretch { until: s1, ..st }));
            let new: Vec<Alert> = fired
                .iter()
                .map(|st| self.stay_alert(slot, &id, &who, &team_now, &old, st, Some(st.until.min(s1))))
                .collect();
            if !old.is_empty() || !new.is_empty() {
                self.version += 1;
                self.correct(old, super::alerts::by_id(new));
            }
        }
    }

    /// Agent `ai`'s stay in unplanned aux with reasons `(from, reason)`, walked to `upto`
    /// as the engine walks it (`start_aux_stretch` at entry, `long_aux_check` before each
    /// change of reason and at `upto`, `long_aux_reason` at each change) under the schedule
    /// now in force: the stretches that fired and ended by `upto`, and the one going on
    /// there, if any.
    fn stay_stretches(
        &self,
        ai: AgentIdx,
        reasons: &[(Ms, String)],
        upto: Ms,
    ) -> (Vec<StayStretch>, Option<StayStretch>) {
        let start = |t: Ms, reason: &str| {
            let limit = self.settings.long_aux_limit(reason);
            self.long_aux_start(ai, t, reason, limit).map(|(at, until)| StayStretch {
                at,
                limit,
                reason: reason.to_string(),
                until,
                from: t,
                fired: false,
            })
        };
        // `long_aux_check` at `t`, the reason then being `reason`.
        let check = |cur: &mut Option<StayStretch>, t: Ms, reason: &str, out: &mut Vec<StayStretch>| {
            while let Some(e) = cur.as_mut() {
                let fire = e.at + e.limit;
                e.fired |= fire <= t && e.until >= fire;
                if e.until > t {
                    return;
                }
                let (until, ended) = (e.until, cur.take().expect("a stretch"));
                if ended.fired {
                    out.push(ended);
                }
                *cur = start(until, reason);
            }
        };
        let mut out = Vec::new();
        let mut cur = start(reasons[0].0, &reasons[0].1);
        for w in reasons.windows(2) {
            let (old, (t, reason)) = (&w[0].1, (w[1].0, &w[1].1));
            check(&mut cur, t, old, &mut out);
            cur = match cur {
                Some(mut e) if e.at < t => {
                    e.until = self.aux_allowed_from(ai, t, reason);
                    Some(e)
                }
                e => {
                    let run = e.map(|e| (e.from, e.reason));
                    match run.and_then(|(from, r)| Some((self.unplanned_run_start(ai, from, t, &r)?, r))) {
                        Some((s, r)) if s < t => Some(StayStretch {
                            at: s,
                            limit: self.settings.long_aux_limit(&r),
                            reason: r,
                            until: self.aux_allowed_from(ai, t, reason),
                            from: t,
                            fired: false,
                        }),
                        _ => start(t, reason),
                    }
                }
            };
        }
        check(&mut cur, upto, &reasons[reasons.len() - 1].1, &mut out);
        (out, cur)
    }

    /// Where the schedule ends each open `long_aux` stretch (derived, not stored; after a
    /// restore).
    pub(super) fn derive_aux_until(&mut self) {
        if self.roster.is_empty() {
            return;
        }
        let open: Vec<AgentIdx> =
            self.agents.iter().filter(|(_, a)| a.aux_stretch().is_some()).map(|(i, _)| i).collect();
        for ai in open {
            let a = self.agents.get(ai);
            let Some(e) = a.aux_stretch() else { continue };
            // The reason now (it may have changed inside the stretch), from the stretch's
            // start or that change.
            let (from, reason) = (e.at.max(a.since), a.reason.clone().unwrap_or_default());
            let until = self.aux_allowed_from(ai, from, &reason);
            if let Some(e) = self.agents.get_mut(ai).aux_entry.as_deref_mut() {
                e.until = until;
            }
        }
    }

    /// Re-derives the alerts of every scheduled agent due by `now`.
    pub(super) fn advance_adherence(&mut self, now: Ms) {
        if self.roster.is_empty() {
            return;
        }
        while let Some(slot) = self.roster.pop_due(now) {
            self.derive_adherence(slot, now);
        }
    }

    pub(super) fn derive_adherence(&mut self, slot: u32, now: Ms) {
        let mut stretches = self.roster.take_scratch();
        let from = self.roster.stretches_into(slot, now.saturating_add(1), &mut stretches);
        self.derive_from(slot, now, from, &stretches);
        self.roster.put_scratch(stretches);
    }

    /// [`Engine::derive_adherence`] given the agent's stretches from `from` on.
    fn derive_from(&mut self, slot: u32, now: Ms, from: Ms, stretches: &[crate::roster::Stretch]) {
        let thr = self.roster.settings().threshold_ms;
        let floor = now.saturating_sub(self.settings.max_backfill_ms);
        // Strictly before the last change: an event at that very instant may still come
        // and replace it (SPEC §2.5; the state at an instant is the one after every event
        // stamped then), so a stretch ending there may go on (offline at 09:30, idle and
        // offline again at 09:33 is one stretch from 09:30). Likewise for `floor` (an event
        // at exactly now − max_backfill is applied) and `now`.
        let settle = self.roster.last_change(slot).unwrap_or(Ms::MIN).max(floor).min(now).saturating_sub(1);
        // Most re-derivations find nothing to tell: no alert of the agent may change and no
        // stretch has reached the threshold.
        let quiet = self.roster.live_is_empty(slot)
            && stretches.iter().all(|&(s, e)| s + thr > now || e.is_some_and(|e| e - s < thr));
        if quiet {
            self.roster.derived(slot, Vec::new(), Vec::new(), settle, stretches, now);
            return;
        }
        // The agent's events while out of adherence after its alert fired (a scheduled
        // break worked through, a lunch taken at another time): the alert stays as told.
        // Making it again at each such event only to find it unchanged (its id and text
        // formatted, a lookup by string key in a store of half a million alerts at 100k
        // agents, a compare) is what the alerts' volume cost ingest per event.
        if let [(start, None)] = *stretches
            && start + thr <= now
            && self.roster.firing_unchanged(slot, start, UNASSIGNED)
        {
            #[cfg(debug_assertions)]
            self.check_firing_unchanged(slot, start, now);
            let known = self.roster.take_live(slot);
            self.roster.derived(slot, known, Vec::new(), settle, stretches, now);
            return;
        }
        // The agent came back into adherence after its alert fired: the alert as told,
        // resolved where the stretch ended (what a full re-derivation makes of it, without
        // making the alert again).
        if let [(start, Some(end))] = *stretches
            && end - start >= thr
            && self.roster.firing_unchanged(slot, start, UNASSIGNED)
        {
            let mut known = self.roster.take_live(slot);
            let (_, aid, team) = known.pop().expect("one live alert");
            let stored = self.alerts.get(&aid).cloned().expect("a live alert is stored");
            #[cfg(debug_assertions)]
            {
                let id = self.roster_id(slot);
                let want = adherence_alert(
                    id,
                    &self.adherence_who(id, self.agents.find(id)),
                    &team,
                    true,
                    start,
                    Some(end),
                    thr,
                );
                debug_assert_eq!(crate::engine::alerts::resolved(&stored, end), want, "the resolve of {aid} at {now}");
            }
            self.version += 1;
            self.tell_resolve(&stored, end);
            let entry = (start, aid, team);
            let (live, done) =
                if end <= settle.max(from) { (Vec::new(), vec![entry]) } else { (vec![entry], Vec::new()) };
            self.roster.derived(slot, live, done, settle, stretches, now);
            return;
        }
        let id = self.roster_id(slot).to_string();
        let seen = self.agents.find(&id);
        let team_now = match seen {
            Some(ai) => self.team(self.agents.get(ai).team).id.clone(),
            None => UNASSIGNED.to_string(),
        };
        let who = self.adherence_who(&id, seen);
        // History before the agent's last event (or before what may still be backfilled)
        // is final. The next re-derivation walks from here: what ended by then is final.
        let final_upto = settle.max(from);
        let known = self.roster.take_live(slot);
        let mut old: Vec<Arc<StoredAlert>> = Vec::new();
        let mut done: Vec<(Ms, String, String)> = Vec::new();
        for k in &known {
            match self.alerts.get(&k.1) {
                // A stretch that ended at `from` or before is final (the walk from `from`
                // starts after it).
                Some(a) if a.resolved_at.is_none_or(|r| r > from) => old.push(a.clone()),
                Some(_) => done.push(k.clone()),
                None => {}
            }
        }
        let mut live: Vec<(Ms, String, String)> = Vec::new();
        let mut new: Vec<Alert> = Vec::new();
        let reached_back = self.roster.reached_back(slot);
        for &(start, end) in stretches {
            let fire = start + thr;
            if fire > now || end.is_some_and(|e| e - start < thr) {
                continue;
            }
            // An upload reaching back before what may still be backfilled (last week's
            // no-shows in a monthly export): a stretch that ended there was never told, and
            // is not now; the past stays as evaluated (docs/adherence.md).
            if reached_back && end.is_some_and(|e| e <= floor) && !known.iter().any(|k| k.0 == start) {
                continue;
            }
            // The team at fire time (SPEC §9.3), from the agent's moves: a move after it, in
            // the same batch or before this derivation, does not change it, and a lagging
            // site's move before it does. An agent not seen by then was a no-show, in
            // `unassigned`, even if it logged in a minute later; one whose events stamped
            // before it arrive late takes the team they put it in (it was on the floor after
            // all). Where the moves are not all known (before a restored state), the team
            // as told.
            let at_fire = seen.and_then(|_| self.roster.team_at(slot, fire, &team_now));
            let team = match at_fire {
                Some(t) => t.to_string(),
                None => known.iter().find(|k| k.0 == start).map_or_else(|| team_now.clone(), |k| k.2.clone()),
            };
            let a = adherence_alert(&id, &who, &team, seen.is_some(), start, end, thr);
            let entry = (start, a.id.clone(), team);
            match end {
                Some(e) if e <= final_upto => done.push(entry),
                _ => live.push(entry),
            }
            new.push(a);
        }
        if !old.is_empty() || !new.is_empty() {
            self.correct(old, super::alerts::by_id(new));
        }
        self.roster.derived(slot, live, done, settle, stretches, now);
    }

    /// How an `out_of_adherence` alert names agent `id` (on the floor at `seen`, if it is):
    /// with its name when it has one.
    fn adherence_who(&self, id: &str, seen: Option<AgentIdx>) -> String {
        match seen.and_then(|ai| self.agents.get(ai).name.as_deref()) {
            Some(n) => format!("{id} ({n})"),
            None => id.to_string(),
        }
    }

    /// The shortcut of [`Engine::derive_from`] for an alert that stays firing holds: the
    /// store has it as a full re-derivation would make it (debug builds).
    #[cfg(debug_assertions)]
    fn check_firing_unchanged(&self, slot: u32, start: Ms, now: Ms) {
        let id = self.roster_id(slot);
        let thr = self.roster.settings().threshold_ms;
        let mut known = self.roster.live_copy(slot);
        let (_, aid, team) = known.pop().expect("one live alert");
        let stored = self.alerts.get(&aid).map(|a| a.alert().clone());
        let want = adherence_alert(id, &self.adherence_who(id, self.agents.find(id)), &team, true, start, None, thr);
        debug_assert_eq!(stored.as_ref(), Some(&want), "the firing out_of_adherence alert of {id} at {now}");
    }

    /// Agent `ai` moved at `t` from team `from` (SPEC §9.3: its alerts take the team in
    /// force at their fire time, [`Roster::team_at`]).
    ///
    /// [`Roster::team_at`]: crate::roster::Roster::team_at
    pub(super) fn roster_moved(&mut self, ai: AgentIdx, t: Ms, from: &str) {
        if self.roster.is_empty() {
            return;
        }
        if let Some(slot) = self.roster.slot_of(ai, &self.agents.get(ai).id) {
            self.roster.note_move(slot, t, from);
        }
    }

    /// Agent `ai`'s name or presence changed: its alert's text may (see
    /// `Roster::firing_unchanged`).
    pub(super) fn roster_who_changed(&mut self, ai: AgentIdx) {
        if self.roster.is_empty() {
            return;
        }
        if let Some(slot) = self.roster.slot_of(ai, &self.agents.get(ai).id) {
            self.roster.who_changed(slot);
        }
    }

    /// The roster (views and metrics).
    pub fn roster(&self) -> &crate::roster::Roster {
        &self.roster
    }
}

/// The `out_of_adherence` alert of agent `id` (named `who`, on the floor now if `seen`) for
/// the stretch from `start` to `end` (None: still out), told under `team` (SPEC §9.3).
fn adherence_alert(id: &str, who: &str, team: &str, seen: bool, start: Ms, end: Option<Ms>, thr: Ms) -> Alert {
    let aid = Alert::make_id(AlertKind::OutOfAdherence, team, Some(id), start);
    let mut a = new_alert(
        AlertKind::OutOfAdherence,
        aid,
        team,
        Some(id),
        start,
        start + thr,
        thr as f64 / 1000.0,
        thr as f64 / 1000.0,
        if team == UNASSIGNED && !seen {
            // Never seen (SPEC §9.2): a no-show, which is what the floor needs to read.
            format!("{who} is scheduled but has not logged in for {} min", thr / 60_000)
        } else if team == UNASSIGNED {
            // A no-show when it fired, on the floor since.
            format!("{who} had not logged in {} min into its scheduled work", thr / 60_000)
        } else {
            format!("{who} has been out of adherence with the schedule for {} min", thr / 60_000)
        },
        vec![id.to_string()],
    );
    if let Some(e) = end {
        a.state = AlertState::Resolved;
        a.resolved_at = Some(e);
    }
    a
}

/// A stay's reasons, `(from, reason)` in time order.
type Reasons = Vec<(Ms, String)>;

/// A `long_aux` stretch of a stay in unplanned aux walked again ([`Engine::stay_stretches`]):
/// the fields of the engine's `AuxEntry` it mirrors, and whether it fired.
#[derive(Clone)]
struct StayStretch {
    at: Ms,
    limit: Ms,
    reason: String,
    until: Ms,
    from: Ms,
    fired: bool,
}

impl StayStretch {
    /// Whether the engine's stretch `e` is this one: placed and ended alike, for the same
    /// reason.
    fn is(&self, e: &AuxEntry) -> bool {
        (e.at, e.limit, e.until) == (self.at, self.limit, self.until) && e.reason == self.reason
    }
}
