//! Team-level detection (SPEC §4.1, §4.2): peak status (configured windows and load peak),
//! aux_cluster, aux_dispersion and utilization_high.
//!
//! A team is advanced through time in steps. Its current counts are in force from `clock`
//! on; `advance_to(t)` processes [clock, t) — nothing at t itself, because more events at t
//! may still arrive. Everything that happens at an instant T (a switch, a minute tick) is
//! evaluated with the state in force at T, i.e. after all events at T: a switch due exactly
//! at an event time is taken at the start of the next step, which begins there.

use std::collections::HashMap;

use crate::alert::{Alert, AlertKind, AlertState};
use crate::config::Settings;
use crate::detect::binomial;
use crate::detect::calendar::Calendar;
use crate::detect::hold::{Hold, Streak, StreakEvent};
use crate::floor::agents::{AgentIdx, Agents, Counts};
use crate::floor::figures::{Spread, Sums};
use crate::floor::timeline::Kind;
use crate::time::Ms;

/// Marks an open (ongoing) peak interval.
pub const OPEN: Ms = Ms::MAX;

#[derive(Clone, Debug)]
pub enum AlertChange {
    Fired(Alert),
    Resolved { id: String, at: Ms },
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TeamDet {
    pub clock: Ms,
    /// Derived from the members; recomputed on restore rather than stored.
    #[serde(skip)]
    pub counts: Counts,
    pub members: Vec<AgentIdx>,
    load: Hold,
    cluster: Hold,
    cluster_alert: Option<String>,
    disp: Streak,
    disp_alert: Option<String>,
    util: Streak,
    util_alert: Option<String>,
    /// Peak intervals, oldest first; the last may be open (end = OPEN).
    pub peaks: Vec<(Ms, Ms)>,
    /// The next instant at which the last step found something may switch on its own
    /// (a hold due, a configured window boundary). Derived: a restore starts from `clock`.
    #[serde(skip)]
    next_switch: Ms,
}

/// What a step needs besides the team itself.
pub struct Ctx<'a> {
    pub settings: &'a Settings,
    pub cal: &'a mut Calendar,
    pub agents: &'a Agents,
    pub binom: &'a mut HashMap<(u32, u32), bool>,
    pub out: &'a mut Vec<AlertChange>,
}

impl TeamDet {
    pub fn new(settings: &Settings, clock: Ms) -> Self {
        TeamDet {
            clock,
            counts: Counts::default(),
            members: Vec::new(),
            load: Hold::new(settings.peak_hold_ms),
            cluster: Hold::new(settings.cluster_hold_ms),
            cluster_alert: None,
            disp: Streak::new(settings.disp_consecutive),
            disp_alert: None,
            util: Streak::new(settings.util_consecutive),
            util_alert: None,
            peaks: Vec::new(),
            next_switch: clock,
        }
    }

    /// The first instant at or after `clock` at which advancing may change anything while
    /// the team's counts and members stay as they are: a hold or window switch, or the next
    /// whole minute while a minute evaluation could fire or resolve something. Advancing to
    /// any `t` up to this instant only moves `clock` (every instant before it is a no-op:
    /// the same conditions are set again and nothing is due), which is what lets the engine
    /// step only the teams that are due instead of all of them on every tick and view.
    pub fn next_due(&self, s: &Settings) -> Ms {
        let mut due = self.next_switch.max(self.clock);
        if self.ticking(s) {
            let m = self.clock.div_euclid(60_000) * 60_000;
            due = due.min(if m < self.clock { m + 60_000 } else { m });
        }
        due
    }

    /// Whether a whole-minute evaluation could change anything now.
    fn ticking(&self, s: &Settings) -> bool {
        let disp_possible = self.peak_now() && self.members.len() as u32 >= s.disp_min_members;
        let util_possible = self.counts.logged_in() >= s.min_team;
        disp_possible || !self.disp.idle() || util_possible || !self.util.idle()
    }

    /// Applies the durations of the current configuration (after a restore).
    pub fn reconfigure(&mut self, settings: &Settings) {
        self.load.set_hold(settings.peak_hold_ms);
        self.cluster.set_hold(settings.cluster_hold_ms);
        self.disp.set_need(settings.disp_consecutive);
        self.util.set_need(settings.util_consecutive);
    }

    pub fn has_firing_alerts(&self) -> bool {
        self.cluster_alert.is_some() || self.disp_alert.is_some() || self.util_alert.is_some()
    }

    pub fn peak_now(&self) -> bool {
        matches!(self.peaks.last(), Some(&(_, OPEN)))
    }

    fn load_condition(&self, s: &Settings) -> bool {
        let Some(share) = s.busy_share else { return false };
        let n = self.counts.logged_in();
        let busy = self.counts.talking() + self.counts.acw();
        n >= s.min_team && n > 0 && busy as f64 / n as f64 >= share - 1e-9
    }

    fn cluster_condition(&self, peak: bool, ctx: &mut Ctx) -> bool {
        let s = ctx.settings;
        let n = self.counts.logged_in();
        let k = self.counts.aux_unplanned();
        if !peak
            || n < s.min_team
            || k < s.cluster_min_agents
            || n == 0
            || (k as f64 / n as f64) < s.cluster_share - 1e-9
        {
            return false;
        }
        *ctx.binom.entry((n, k)).or_insert_with(|| binomial::tail(n, k, s.cluster_baseline) < s.cluster_alpha)
    }

    /// Processes [clock, t). A `t` at or before `clock` changes nothing.
    pub fn advance_to(&mut self, team: &str, t: Ms, ctx: &mut Ctx) {
        while self.clock < t {
            let a = self.clock;
            let next = self.instant(team, a, ctx);
            self.next_switch = next;
            let b = next.min(t);
            self.ticks(team, a, b, ctx);
            self.clock = b;
        }
    }

    /// Everything at instant `a` with the state in force at `a`. Returns the next instant
    /// (> a) at which something may switch on its own.
    pub fn instant(&mut self, team: &str, a: Ms, ctx: &mut Ctx) -> Ms {
        let s = ctx.settings;
        let mut next = OPEN;
        // Load peak.
        if s.busy_share.is_some() {
            let cond = self.load_condition(s);
            self.load.take_due(a);
            self.load.set(a, cond);
            self.load.take_due(a);
            if let Some(d) = self.load.due() {
                next = next.min(d);
            }
        }
        let (cfg_peak, cfg_next) = ctx.cal.peak(a);
        next = next.min(cfg_next);
        let peak = cfg_peak || self.load.active;
        match (peak, self.peaks.last_mut()) {
            (true, Some(last)) if last.1 == OPEN => {}
            (true, _) => self.peaks.push((a, OPEN)),
            (false, Some(last)) if last.1 == OPEN => last.1 = a,
            (false, _) => {}
        }
        // aux_cluster.
        let cond = self.cluster_condition(peak, ctx);
        self.take_cluster(team, a, ctx);
        self.cluster.set(a, cond);
        self.take_cluster(team, a, ctx);
        if let Some(d) = self.cluster.due() {
            next = next.min(d);
        }
        next.max(a + 1)
    }

    fn take_cluster(&mut self, team: &str, a: Ms, ctx: &mut Ctx) {
        let Some((at, started, active)) = self.cluster.take_due(a) else { return };
        if active {
            let n = self.counts.logged_in();
            let k = self.counts.aux_unplanned();
            let share = if n > 0 { k as f64 / n as f64 } else { 0.0 };
            let agents = self.member_ids(ctx.agents, |k| k == Kind::AuxUnplanned);
            let id = Alert::make_id(AlertKind::AuxCluster, team, None, started);
            ctx.out.push(AlertChange::Fired(new_alert(
                AlertKind::AuxCluster,
                id.clone(),
                team,
                None,
                started,
                at,
                share,
                ctx.settings.cluster_share,
                format!(
                    "{team}: {k} of {n} logged-in agents in unplanned aux at peak ({:.1}%, p = {:.3})",
                    share * 100.0,
                    binomial::tail(n, k, ctx.settings.cluster_baseline)
                ),
                agents,
            )));
            self.cluster_alert = Some(id);
        } else if let Some(id) = self.cluster_alert.take() {
            ctx.out.push(AlertChange::Resolved { id, at });
        }
    }

    fn member_ids(&self, agents: &Agents, pick: impl Fn(Kind) -> bool) -> Vec<String> {
        let mut v: Vec<String> =
            self.members.iter().map(|&i| agents.get(i)).filter(|a| pick(a.kind)).map(|a| a.id.to_string()).collect();
        v.sort_unstable();
        v
    }

    /// Whole-minute evaluations at minutes in [a, b) (state constant over [a, b)).
    fn ticks(&mut self, team: &str, a: Ms, b: Ms, ctx: &mut Ctx) {
        let s = ctx.settings;
        let peak = self.peak_now();
        let disp_possible = peak && self.members.len() as u32 >= s.disp_min_members;
        let util_possible = self.counts.logged_in() >= s.min_team;
        if (!disp_possible && self.disp.idle()) && (!util_possible && self.util.idle()) {
            return;
        }
        let mut m = a.div_euclid(60_000) * 60_000;
        if m < a {
            m += 60_000;
        }
        while m < b {
            let disp_cond = disp_possible && self.disp_condition(m, ctx);
            let util_cond = if util_possible { self.utilization(m, ctx) } else { None };
            let util_true = util_cond.is_some_and(|u| u > s.util_high);
            if let Some(ev) = self.disp.tick(m, disp_cond) {
                self.streak_event(team, AlertKind::AuxDispersion, ev, m, ctx);
            }
            if let Some(ev) = self.util.tick(m, util_true) {
                self.streak_event(team, AlertKind::UtilizationHigh, ev, m, ctx);
            }
            if (!disp_possible && self.disp.idle()) && (!util_possible && self.util.idle()) {
                return;
            }
            m += 60_000;
        }
    }

    fn streak_event(&mut self, team: &str, kind: AlertKind, ev: StreakEvent, m: Ms, ctx: &mut Ctx) {
        let slot = match kind {
            AlertKind::AuxDispersion => &mut self.disp_alert,
            _ => &mut self.util_alert,
        };
        match ev {
            StreakEvent::Resolve => {
                if let Some(id) = slot.take() {
                    ctx.out.push(AlertChange::Resolved { id, at: m });
                }
            }
            StreakEvent::Fire { started_at } => {
                let id = Alert::make_id(kind, team, None, started_at);
                *slot = Some(id.clone());
                let s = ctx.settings;
                let alert = if kind == AlertKind::AuxDispersion {
                    let (spread, qualifying) = self.peak_dispersion(m, ctx);
                    let mean = spread.mean.unwrap_or(0.0);
                    let mut agents: Vec<String> = qualifying
                        .into_iter()
                        .filter(|(_, r)| *r > mean)
                        .map(|(i, _)| ctx.agents.get(i).id.to_string())
                        .collect();
                    agents.sort_unstable();
                    let cv = spread.cv.unwrap_or(0.0);
                    new_alert(
                        kind,
                        id,
                        team,
                        None,
                        started_at,
                        m,
                        cv,
                        s.disp_cv_limit,
                        format!(
                            "{team}: aux rate CV over peak time today is {cv:.2} (limit {:.2}); agents above the mean listed",
                            s.disp_cv_limit
                        ),
                        agents,
                    )
                } else {
                    let u = self.utilization(m, ctx).unwrap_or(0.0);
                    let agents = self.member_ids(ctx.agents, |k| k.logged_in());
                    new_alert(
                        kind,
                        id,
                        team,
                        None,
                        started_at,
                        m,
                        u,
                        s.util_high,
                        format!(
                            "{team}: 60-minute talk utilization {:.1}% is above {:.1}%: add staff",
                            u * 100.0,
                            s.util_high * 100.0
                        ),
                        agents,
                    )
                };
                ctx.out.push(AlertChange::Fired(alert));
            }
        }
    }

    /// Team 60-minute talk utilization at minute m (members and states in force at m).
    fn utilization(&self, m: Ms, ctx: &Ctx) -> Option<f64> {
        let (mut talk, mut logged) = (0, 0);
        for &i in &self.members {
            let d = ctx.agents.get(i).timeline.durations(m - 3_600_000, m);
            let s = Sums { ms: d, ..Default::default() };
            talk += s.talking();
            logged += s.logged_in();
        }
        (logged > 0).then(|| talk as f64 / logged as f64)
    }

    /// Peak intervals of this team clipped to [from, to).
    pub fn peak_intervals(&self, from: Ms, to: Ms) -> impl Iterator<Item = (Ms, Ms)> + '_ {
        let start = self.peaks.partition_point(|p| p.1 <= from);
        self.peaks[start..].iter().map(move |&(s, e)| (s.max(from), e.min(to))).filter(|(s, e)| e > s)
    }

    /// Sums over peak time today as of `m`, for one timeline (contacts completed in peak
    /// intervals [s, e); `contacts_at_m` adds those completed exactly at m).
    pub fn peak_sums(&self, tl: &crate::floor::timeline::Timeline, midnight: Ms, m: Ms, contacts_at_m: bool) -> Sums {
        let mut sums = Sums::default();
        for (s, e) in self.peak_intervals(midnight, m) {
            sums.add(&Sums::over(tl, s, e, false));
        }
        if contacts_at_m {
            sums.contacts.add(tl.contacts(m, m, true));
        }
        sums
    }

    fn peak_dispersion(&self, m: Ms, ctx: &mut Ctx) -> (Spread, Vec<(AgentIdx, f64)>) {
        let midnight = ctx.cal.midnight(m);
        let mut q = Vec::new();
        for &i in &self.members {
            // Only durations: an aux ratio needs no contacts (finding them was half the cost).
            let tl = &ctx.agents.get(i).timeline;
            let mut sums = Sums::default();
            for (s, e) in self.peak_intervals(midnight, m) {
                sums.add(&Sums { ms: tl.durations(s, e), ..Default::default() });
            }
            if sums.logged_in() >= ctx.settings.dispersion_min_logged_ms && sums.logged_in() > 0 {
                q.push((i, sums.aux_ratio().unwrap_or(0.0)));
            }
        }
        let ratios: Vec<f64> = q.iter().map(|x| x.1).collect();
        (Spread::of(&ratios), q)
    }

    fn disp_condition(&self, m: Ms, ctx: &mut Ctx) -> bool {
        let s = ctx.settings;
        let midnight = ctx.cal.midnight(m);
        let peak_time: Ms = self.peak_intervals(midnight, m).map(|(a, b)| b - a).sum();
        if peak_time < s.disp_min_peak_ms {
            return false;
        }
        let (spread, q) = self.peak_dispersion(m, ctx);
        q.len() as u32 >= s.disp_min_members && spread.cv.is_some_and(|cv| cv >= s.disp_cv_limit)
    }

    /// Drops peak intervals that ended before `cutoff`.
    pub fn trim(&mut self, cutoff: Ms) {
        let n = self.peaks.partition_point(|p| p.1 < cutoff);
        if n > 0 {
            self.peaks.drain(..n);
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn new_alert(
    kind: AlertKind,
    id: String,
    team: &str,
    agent: Option<&str>,
    started_at: Ms,
    fired_at: Ms,
    value: f64,
    threshold: f64,
    message: String,
    agents: Vec<String>,
) -> Alert {
    Alert {
        id,
        kind,
        team: team.to_string(),
        agent: agent.map(str::to_string),
        severity: kind.severity(),
        state: AlertState::Firing,
        started_at,
        fired_at,
        resolved_at: None,
        value,
        threshold,
        message,
        agents,
    }
}
