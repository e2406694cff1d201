//! The simulated floor: agents' state machines, driven in time order by a binary heap of
//! their next-change times, plus the injected scenarios.
//!
//! # The model
//! Each agent works a daily shift (team start times staggered by 30 minutes), logging in
//! with `idle` and out with `offline` at the first free moment after the shift ends. Between
//! calls an agent waits `idle`; calls are offered to idle agents at a rate that follows the
//! daily load curve (peaks from the configured peak windows), so idle waiting shrinks at
//! peak: the mean wait is chosen so that occupancy, (talk + ACW) ÷ (talk + ACW + idle),
//! meets a target of ~62% off-peak and ~89% at peak (teams differ by a few points). That is
//! the same as team-level Poisson call arrivals shared among the idle agents, without a
//! queue. Talk time is log-normal (median ~4 min, heavy tail), most calls are followed by
//! log-normal ACW (median 45 s).
//!
//! After a call an agent may take unplanned aux (`break`, `restroom`, `personal`, or no
//! reason). The chance is set so that unplanned aux comes to about `aux_share` of logged-in
//! time over a day, held back at peak and caught up off-peak, with personal and team
//! propensities so that agents and teams differ. Teams also differ in discipline: in a
//! disciplined team each agent keeps to a personal break budget (breaks become likelier as
//! the budget accrues and unlikelier once it is spent), so breaks are regular and the team's
//! aux dispersion is low; in a loose team breaks come at random. Planned aux (one `lunch` of
//! 30–45 min per shift, sometimes `training`, `meeting` or `coaching`) is scheduled
//! off-peak and taken at the first free moment after it is due. When the floor writes a
//! roster, its two 15-minute `break`s a shift are scheduled like lunch (and in the roster),
//! `break` leaves the unplanned reasons (and its part of the unplanned share with it), and
//! a planned item begun late still ends when scheduled: the agents keep to the roster.
//!
//! Every agent draws from its own random stream, so one agent's life does not depend on
//! the others', on the noise setting, or on the injections that do not pick it.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt::Write as _;

use jiff::civil::Time;
use jiff::tz::TimeZone;

use super::calendar::{Calendar, DAY, tod_ms};
use super::calls::{Calls, Pending};
use super::noise::Noiser;
use super::rng::Rng;
use super::{SimConfig, SimError, SimLine, names};
use crate::time::Ms;

const MIN: Ms = 60_000;
/// Team shift starts are staggered in this many groups, this far apart.
pub(super) const STAGGER_GROUPS: u32 = 4;
const STAGGER_STEP: Ms = 30 * MIN;
/// Occupancy targets off-peak and at peak (see the module docs).
const OCC_OFF: f64 = 0.62;
const OCC_PEAK: f64 = 0.89;
/// Share of calls followed by after-call work.
const ACW_P: f64 = 0.85;
/// Expected planned aux share of logged-in time, used to calibrate unplanned aux.
const PLANNED_SHARE: f64 = 0.09;
/// Talk and ACW shapes: median seconds and log-sd.
const TALK_MEDIAN_S: f64 = 240.0;
const TALK_SIGMA: f64 = 0.6;
const ACW_MEDIAN_S: f64 = 45.0;
const ACW_SIGMA: f64 = 0.5;
/// The unplanned aux hazard is scaled by `AUX_OFF` off-peak and `AUX_PEAK` at peak, divided
/// by `AUX_NORM` (measured: it brings the default day's share near `aux_share`). Holding
/// breaks back at peak is what floors do, and it keeps the detector's false alarms rare:
/// at a flat 8.5%, teams of 20 meet the aux_cluster condition by chance ~3% of peak time.
const AUX_OFF: f64 = 1.35;
const AUX_PEAK: f64 = 0.55;
const AUX_NORM: f64 = 0.8;
/// Natural unplanned aux episodes never exceed this (a few `break`s a day pass the default
/// 10-minute long_aux limit; `restroom`, limited at 15 minutes, never does on its own).
const MAX_NATURAL_AUX: Ms = 14 * MIN;
/// How long before an aux cluster's time its members are chosen; they enter aux within
/// the last `CLUSTER_SPREAD` before the time, so all are in aux at that time.
const CLUSTER_LEAD: Ms = MIN;
const CLUSTER_SPREAD: Ms = 45_000;

/// The reason table: index → (code, planned). Unspecified aux has no reason (`None`).
/// Long-break injections may add their own unplanned reasons at the end.
const BREAK: u8 = 0;
const RESTROOM: u8 = 1;
const PERSONAL: u8 = 2;
const LUNCH: u8 = 3;
const TRAINING: u8 = 4;
const MEETING: u8 = 5;
const COACHING: u8 = 6;
const BUILTIN_REASONS: [(&str, bool); 7] = [
    ("break", false),
    ("restroom", false),
    ("personal", false),
    ("lunch", true),
    ("training", true),
    ("meeting", true),
    ("coaching", true),
];
/// Unplanned aux: reason, weight, median minutes, log-sd.
const UNPLANNED: [(Option<u8>, f64, f64, f64); 4] = [
    (Some(BREAK), 0.35, 5.5, 0.25),
    (Some(RESTROOM), 0.35, 4.0, 0.3),
    (Some(PERSONAL), 0.15, 3.0, 0.5),
    (None, 0.15, 2.0, 0.6),
];

/// An unplanned reason's part of the mean episode's seconds: its weight times the mean of
/// its log-normal length.
fn weighted_aux_s(&(_, w, median, sigma): &(Option<u8>, f64, f64, f64)) -> f64 {
    w * median * 60.0 * (sigma * sigma / 2.0).exp()
}

pub(crate) use crate::event::State;

/// What the agent's pending heap entry means.
#[derive(Clone, Copy, Debug)]
enum Wake {
    /// Shift starts: log in.
    Login,
    /// Idle wait over (a call arrives), or a planned item / shift end is due.
    IdleEnd,
    TalkEnd,
    AcwEnd,
    AuxEnd,
    /// An injection: enter aux with this reason until the given instant.
    Forced {
        reason: u8,
        until: Ms,
    },
}

/// A planned aux item of today's shift.
#[derive(Clone, Copy, Debug)]
struct Planned {
    at: Ms,
    len: Ms,
    reason: u8,
}

#[derive(Debug)]
struct Agent {
    rng: Rng,
    id: String,
    name: String,
    team: u32,
    seq: u64,
    state: State,
    reason: Option<u8>,
    wake: Wake,
    /// Bumped whenever the pending wake is replaced; stale heap entries are skipped.
    generation: u32,
    /// Current (or next) shift, as instants; with shifts off, a rolling 24-hour "day".
    shift_start: Ms,
    shift_end: Ms,
    /// The shift's planned aux items not yet taken, soonest first.
    planned: Vec<Planned>,
    /// Personal scale of talk and ACW times, and propensity to unplanned aux.
    talk_median_s: f64,
    acw_median_s: f64,
    aux_rate_per_s: f64,
    /// Personal target share of logged-in time in unplanned aux.
    aux_target: f64,
    /// Unplanned aux seconds owed against the target (accrued up to `credit_at`).
    aux_credit_s: f64,
    credit_at: Ms,
    /// The call that ends the pending idle wait, when the floor has queues.
    call: Option<Pending>,
}

#[derive(Debug)]
struct Team {
    id: String,
    /// Agent indices of its members (contiguous).
    first: u32,
    len: u32,
    /// Added to the occupancy target: some teams run hotter than others.
    occ_delta: f64,
    /// How strongly members keep their unplanned aux to their personal budget (0: breaks
    /// come at random; 2 and up: nearly regular breaks, a team "in control").
    discipline: f64,
}

/// A scheduled injection: which, and at what time of day (ms since local midnight).
#[derive(Clone, Copy, Debug)]
enum Injection {
    Cluster { team: u32, tod: Ms, share: f64, len: Ms },
    LongBreak { team: u32, tod: Ms, len: Ms, reason: u8 },
}

impl Injection {
    fn tod(&self) -> Ms {
        match *self {
            Injection::Cluster { tod, .. } | Injection::LongBreak { tod, .. } => tod,
        }
    }
    fn lead(&self) -> Ms {
        match self {
            Injection::Cluster { .. } => CLUSTER_LEAD,
            Injection::LongBreak { .. } => 0,
        }
    }
}

/// A deterministic generator of native events (docs/events.md#the-event) for a simulated floor.
///
/// Iterating yields NDJSON lines in non-decreasing `ts` order; with `duration: None` it never
/// ends. The same [`SimConfig`] always yields the same lines.
#[derive(Debug)]
pub struct Simulator {
    cfg: SimConfig,
    cal: Calendar,
    agents: Vec<Agent>,
    teams: Vec<Team>,
    reasons: Vec<(String, bool)>,
    injections: Vec<Injection>,
    /// Mean length of a natural unplanned aux episode, seconds.
    mean_aux_s: f64,
    /// Next change per agent (`slot` < agents) or injection (`slot - agents`), earliest first;
    /// ties broken by slot so that the order never depends on insertion order.
    heap: BinaryHeap<Reverse<(Ms, u32, u32)>>,
    /// The day each injection is scheduled for next.
    injection_day: Vec<i64>,
    scenario_rng: Rng,
    end: Option<Ms>,
    noiser: Option<Noiser>,
    /// Lines produced but not yet returned (noise that follows an event).
    pending: VecDeque<SimLine>,
    ts_fmt: TsFormatter,
    /// The callers, when the floor has queues.
    calls: Option<Calls>,
    /// The instant of the step being run.
    clock: Ms,
    /// The roster of the shifts planned so far, when recorded (`record_roster`); drained
    /// by `take_roster`.
    roster: Option<Vec<RosterRow>>,
}

/// A span of the simulated floor's roster (docs/adherence.md): a shift (`activity` None)
/// or a planned activity inside one, times as emitted (offset included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterRow {
    pub agent: String,
    pub start: Ms,
    pub end: Ms,
    pub activity: Option<String>,
}

/// Roster deviations, chosen by agent index so the same floor always has the same ones:
/// one agent in `LATE_EVERY` comes back from lunch `LATE_MS` after the roster's end of it,
/// one in `EARLY_EVERY` logs off `EARLY_MS` before the roster's end of the shift, and the
/// roster names one agent more than the floor has, who never logs in (a no-show).
const LATE_EVERY: usize = 17;
/// A scheduled short break (a roster being written: `Simulator::writes_roster`).
const BREAK_MS: Ms = 15 * MIN;
const LATE_MS: Ms = 8 * MIN;
const EARLY_EVERY: usize = 23;
const EARLY_MS: Ms = 20 * MIN;

impl Simulator {
    /// Builds a simulator, validating the configuration.
    pub fn new(cfg: SimConfig) -> Result<Simulator, SimError> {
        cfg.validate()?;
        let tz = TimeZone::get(&cfg.timezone).map_err(|_| SimError::UnknownTimezone(cfg.timezone.clone()))?;
        let mut cal = Calendar::new(tz, &cfg.peaks);

        let mut reasons: Vec<(String, bool)> = BUILTIN_REASONS.iter().map(|&(r, p)| (r.to_string(), p)).collect();
        let mut reason_index = |r: &str| -> u8 {
            match reasons.iter().position(|(x, _)| x == r) {
                Some(i) => i as u8,
                None => {
                    reasons.push((r.to_string(), false));
                    (reasons.len() - 1) as u8
                }
            }
        };
        let mut injections: Vec<Injection> = cfg
            .clusters
            .iter()
            .map(|c| Injection::Cluster {
                team: c.team - 1,
                tod: tod_ms(c.at),
                share: c.share,
                len: c.minutes as Ms * MIN,
            })
            .collect();
        for lb in &cfg.long_breaks {
            injections.push(Injection::LongBreak {
                team: lb.team - 1,
                tod: tod_ms(lb.at),
                len: lb.minutes as Ms * MIN,
                reason: reason_index(&lb.reason),
            });
        }

        let team_width = digits(cfg.teams).max(2);
        let mut teams = Vec::with_capacity(cfg.teams as usize);
        for k in 0..cfg.teams {
            let first = (k as u64 * cfg.agents as u64 / cfg.teams as u64) as u32;
            let next = ((k as u64 + 1) * cfg.agents as u64 / cfg.teams as u64) as u32;
            let mut rng = Rng::new(cfg.seed, 0x7EA0_0000 + k as u64);
            teams.push(Team {
                id: format!("T{:0team_width$}", k + 1),
                first,
                len: next - first,
                occ_delta: rng.f64() * 0.05 - 0.03,
                // Squared: most teams are loose-ish, a few are tight.
                discipline: 6.0 * rng.f64().powi(2),
            });
        }
        let team_talk: Vec<f64> =
            (0..cfg.teams).map(|k| Rng::new(cfg.seed, 0x7EA1_0000 + k as u64).log_normal(1.0, 0.08)).collect();
        let team_aux: Vec<f64> =
            (0..cfg.teams).map(|k| Rng::new(cfg.seed, 0x7EA2_0000 + k as u64).log_normal(1.0, 0.15)).collect();

        // Unplanned aux episodes per second of non-aux logged-in time, for the floor-wide
        // target: share = rate × (1 − share − planned) × mean episode length.
        let mean_aux_s: f64 = UNPLANNED.iter().map(weighted_aux_s).sum();
        let rate_per_share = 1.0 / ((1.0 - cfg.aux_share - PLANNED_SHARE) * mean_aux_s);

        let agent_width = digits(cfg.agents).max(4);
        let mut agents = Vec::with_capacity(cfg.agents as usize);
        for (team, t) in teams.iter().enumerate() {
            let team = team as u32;
            for k in t.first..t.first + t.len {
                let mut rng = Rng::new(cfg.seed, 1 + k as u64);
                let name = names::name(&mut Rng::new(cfg.seed, 0x4E_0000_0000 + k as u64));
                let talk = TALK_MEDIAN_S * team_talk[team as usize] * rng.log_normal(1.0, 0.12);
                let acw = ACW_MEDIAN_S * rng.log_normal(1.0, 0.2);
                // Disciplined teams also agree more on what a reasonable break budget is.
                let sig = 0.25 / (1.0 + t.discipline / 2.0);
                let aux = cfg.aux_share * team_aux[team as usize] * rng.log_normal(1.0, sig)
                    // Normalise the log-normal propensities to mean 1 (e^{σ²/2}).
                    / ((0.15f64 * 0.15 / 2.0).exp() * (sig * sig / 2.0).exp());
                agents.push(Agent {
                    rng,
                    id: format!("A{:0agent_width$}", k + 1),
                    name,
                    team,
                    seq: 0,
                    state: State::Offline,
                    reason: None,
                    wake: Wake::Login,
                    generation: 0,
                    shift_start: 0,
                    shift_end: 0,
                    planned: Vec::new(),
                    talk_median_s: talk,
                    acw_median_s: acw,
                    aux_rate_per_s: aux * rate_per_share,
                    aux_target: aux,
                    aux_credit_s: 0.0,
                    credit_at: 0,
                    call: None,
                });
            }
        }

        let mut heap = BinaryHeap::with_capacity(agents.len() + injections.len());
        for (k, a) in agents.iter_mut().enumerate() {
            let login = first_login(&cfg, &mut cal, a, cfg.start);
            heap.push(Reverse((login, k as u32, 0)));
        }
        let mut injection_day = Vec::with_capacity(injections.len());
        let start_day = cal.day_of(cfg.start);
        for (j, inj) in injections.iter().enumerate() {
            let mut day = start_day - 1;
            while cal.at(day, inj.tod()) - inj.lead() < cfg.start {
                day += 1;
            }
            injection_day.push(day);
            let slot = (agents.len() + j) as u32;
            heap.push(Reverse((cal.at(day, inj.tod()) - inj.lead(), slot, 0)));
        }

        let noiser = (cfg.noise > 0.0).then(|| Noiser::new(cfg.seed, cfg.noise));
        Ok(Simulator {
            end: cfg.duration.map(|d| cfg.start.saturating_add(d)),
            scenario_rng: Rng::new(cfg.seed, 0x5CE0_0000),
            cal,
            agents,
            teams,
            reasons,
            injections,
            mean_aux_s,
            heap,
            injection_day,
            noiser,
            pending: VecDeque::new(),
            ts_fmt: TsFormatter::default(),
            calls: (cfg.queues > 0).then(|| Calls::new(cfg.queues, cfg.agents, cfg.seed)),
            clock: cfg.start,
            roster: None,
            cfg,
        })
    }

    /// The configuration this simulator runs.
    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// The `ts` of the next line, exactly (`None` when the run is over), without taking it:
    /// lets a caller that paces the feed in real time sleep until it is due. (It may have to
    /// generate the line, hence `&mut`.)
    pub fn next_ts(&mut self) -> Option<Ms> {
        if self.pending.is_empty() {
            let line = self.next()?;
            // Before the noise that `produce` queued after it.
            self.pending.push_front(line);
        }
        self.pending.front().map(|l| l.ts)
    }

    /// Agent ids (`A0001`…), by agent index.
    pub fn agent_id(&self, index: u32) -> Option<&str> {
        self.agents.get(index as usize).map(|a| a.id.as_str())
    }

    /// Team ids (`T01`…), in order.
    pub fn team_ids(&self) -> impl Iterator<Item = &str> {
        self.teams.iter().map(|t| t.id.as_str())
    }

    /// The team id of an agent, by agent index.
    pub fn team_of(&self, index: u32) -> Option<&str> {
        let a = self.agents.get(index as usize)?;
        Some(self.teams[a.team as usize].id.as_str())
    }

    fn schedule(&mut self, k: usize, at: Ms, wake: Wake) {
        if matches!(wake, Wake::IdleEnd)
            && let Some(calls) = self.calls.as_mut()
        {
            let peak = self.cal.peak_containing(at).is_some();
            let (team, now) = (self.agents[k].team, self.clock);
            let p = calls.offer(k as u32, team, now, at, peak);
            if let Some(old) = self.agents[k].call.replace(p) {
                calls.settle(old, k as u32, now, None);
            }
        }
        let a = &mut self.agents[k];
        a.wake = wake;
        a.generation = a.generation.wrapping_add(1);
        self.heap.push(Reverse((at, k as u32, a.generation)));
    }

    /// Advances agent `k` at its wake time `now`; returns the state entered, if it changed.
    /// The call that ended its idle wait is answered if it starts talking, else abandoned.
    fn step(&mut self, k: usize, now: Ms) -> Option<(State, Option<u8>)> {
        let call = self.agents[k].call.take();
        let took_call = matches!(self.agents[k].wake, Wake::IdleEnd);
        let out = self.step_agent(k, now);
        if let (Some(p), Some(calls)) = (call, self.calls.as_mut()) {
            let answered = took_call && self.agents[k].state == State::Talking;
            calls.settle(p, k as u32, now, answered.then_some(self.agents[k].id.as_str()));
        }
        out
    }

    fn step_agent(&mut self, k: usize, now: Ms) -> Option<(State, Option<u8>)> {
        self.accrue(k, now);
        let wake = self.agents[k].wake;
        let (state, reason, next, next_wake) = match wake {
            Wake::Login => {
                self.plan_shift(k, now);
                let until = self.idle_until(k, now);
                (State::Idle, None, until, Wake::IdleEnd)
            }
            Wake::IdleEnd => return self.free(k, now, true),
            Wake::TalkEnd => {
                let a = &mut self.agents[k];
                if a.rng.chance(ACW_P) {
                    let secs = a.rng.log_normal(a.acw_median_s, ACW_SIGMA).clamp(3.0, 600.0);
                    (State::Acw, None, now + (secs * 1000.0) as Ms, Wake::AcwEnd)
                } else {
                    return self.after_call(k, now);
                }
            }
            Wake::AcwEnd => return self.after_call(k, now),
            Wake::AuxEnd => return self.free(k, now, false),
            Wake::Forced { reason, until } => (State::Aux, Some(reason), until, Wake::AuxEnd),
        };
        self.schedule(k, next, next_wake);
        self.enter(k, state, reason)
    }

    /// Records a state change; `None` if it changes nothing.
    fn enter(&mut self, k: usize, state: State, reason: Option<u8>) -> Option<(State, Option<u8>)> {
        let a = &mut self.agents[k];
        let reason = if state == State::Aux { reason } else { None };
        if a.state == state && a.reason == reason {
            return None;
        }
        a.state = state;
        a.reason = reason;
        Some((state, reason))
    }

    /// After a call (and its ACW): maybe unplanned aux, else as [`Self::free`].
    fn after_call(&mut self, k: usize, now: Ms) -> Option<(State, Option<u8>)> {
        if !self.shift_over(k, now) && self.due_planned(k, now).is_none() {
            let scheduled_breaks = self.writes_roster();
            let cycle_s = self.mean_cycle_s(k, now);
            let mood = self.aux_mood(k, now);
            let a = &mut self.agents[k];
            // One chance per call, with the expected number of episodes per cycle (not
            // 1 − e^−x, which would fall short of the target by 7–10%).
            let p = (a.aux_rate_per_s * cycle_s * mood).min(0.9);
            if a.rng.chance(p) {
                // Scheduled breaks (a roster being written) leave `break` out of the
                // unplanned reasons: the roll is over the others' weights.
                let skip = |u: &(Option<u8>, f64, f64, f64)| scheduled_breaks && u.0 == Some(BREAK);
                let total: f64 = UNPLANNED.iter().filter(|u| !skip(u)).map(|u| u.1).sum();
                let roll = a.rng.f64() * total;
                let mut acc = 0.0;
                let mut pick = UNPLANNED[UNPLANNED.len() - 1];
                for u in UNPLANNED.into_iter().filter(|u| !skip(u)) {
                    acc += u.1;
                    if roll < acc {
                        pick = u;
                        break;
                    }
                }
                let (reason, _, median, sigma) = pick;
                let len = ((a.rng.log_normal(median * 60.0, sigma) * 1000.0) as Ms).clamp(30_000, MAX_NATURAL_AUX);
                a.aux_credit_s -= len as f64 / 1000.0;
                self.schedule(k, now + len, Wake::AuxEnd);
                return self.enter(k, State::Aux, reason);
            }
        }
        self.free(k, now, false)
    }

    /// A free moment: log out if the shift is over, take a due planned item, else wait idle
    /// (or, if the idle wait is what just ended, take the call).
    fn free(&mut self, k: usize, now: Ms, idle_ended: bool) -> Option<(State, Option<u8>)> {
        if self.shift_over(k, now) {
            if self.cfg.shifts {
                let next = self.next_login(k, now);
                self.schedule(k, next, Wake::Login);
                return self.enter(k, State::Offline, None);
            }
            // Shifts off: roll the planning day over and carry on.
            let start = self.agents[k].shift_end;
            self.plan_shift(k, start);
        }
        if let Some(p) = self.due_planned(k, now) {
            self.agents[k].planned.remove(0);
            // With a roster the agents keep to it: an item begun late (a call ran into it)
            // still ends when scheduled, after five minutes of it at least.
            let end = if self.writes_roster() { (p.at + p.len).max(now + p.len.min(5 * MIN)) } else { now + p.len };
            self.schedule(k, end, Wake::AuxEnd);
            return self.enter(k, State::Aux, Some(p.reason));
        }
        let a = &self.agents[k];
        if idle_ended && a.state == State::Idle {
            let a = &mut self.agents[k];
            let secs = a.rng.log_normal(a.talk_median_s, TALK_SIGMA).clamp(10.0, 5400.0);
            self.schedule(k, now + (secs * 1000.0) as Ms, Wake::TalkEnd);
            return self.enter(k, State::Talking, None);
        }
        let until = self.idle_until(k, now);
        self.schedule(k, until, Wake::IdleEnd);
        self.enter(k, State::Idle, None)
    }

    /// How the call load at `now` scales the wish for unplanned aux: floors hold breaks
    /// back at peak and take them when it is quiet (mean 1 over a default day).
    fn aux_load_factor(&mut self, now: Ms) -> f64 {
        let load = self.cal.load(now);
        (AUX_OFF - (AUX_OFF - AUX_PEAK) * load) / AUX_NORM
    }

    /// The multiplier of agent `k`'s unplanned aux hazard at `now`: the load factor, and
    /// for a disciplined team, the pull of the agent's aux budget (more likely when breaks
    /// are owed, less when the budget is spent).
    fn aux_mood(&mut self, k: usize, now: Ms) -> f64 {
        let load = self.aux_load_factor(now);
        let g = self.teams[self.agents[k].team as usize].discipline;
        let pull = (g * self.agents[k].aux_credit_s / self.mean_aux_s).clamp(-3.0, 3.0).exp();
        load * pull
    }

    /// Accrues agent `k`'s aux budget for the time since the last accrual (the agent's
    /// current state lasted all of it). Planned aux and offline time earn nothing.
    fn accrue(&mut self, k: usize, now: Ms) {
        let factor = self.aux_load_factor(now);
        let a = &mut self.agents[k];
        let planned = a.reason.is_some_and(|r| self.reasons[r as usize].1);
        if a.state != State::Offline && !(a.state == State::Aux && planned) {
            let dt = (now - a.credit_at) as f64 / 1000.0;
            a.aux_credit_s =
                (a.aux_credit_s + a.aux_target * factor * dt).clamp(-3.0 * self.mean_aux_s, 3.0 * self.mean_aux_s);
        }
        if a.state == State::Offline {
            a.aux_credit_s = 0.0;
        }
        a.credit_at = now;
    }

    fn shift_over(&self, k: usize, now: Ms) -> bool {
        now >= self.agents[k].shift_end
    }

    fn due_planned(&self, k: usize, now: Ms) -> Option<Planned> {
        self.agents[k].planned.first().filter(|p| p.at <= now).copied()
    }

    /// The occupancy target for agent `k`'s team at `now`.
    fn occupancy(&mut self, k: usize, now: Ms) -> f64 {
        let load = self.cal.load(now);
        let team = &self.teams[self.agents[k].team as usize];
        (OCC_OFF + (OCC_PEAK - OCC_OFF) * load + team.occ_delta).clamp(0.3, 0.95)
    }

    /// Mean seconds of talk + ACW per call for agent `k`.
    fn mean_handle_s(&self, k: usize) -> f64 {
        let a = &self.agents[k];
        a.talk_median_s * (TALK_SIGMA * TALK_SIGMA / 2.0).exp()
            + ACW_P * a.acw_median_s * (ACW_SIGMA * ACW_SIGMA / 2.0).exp()
    }

    /// Mean seconds from the end of one call to the end of the next, at `now`.
    fn mean_cycle_s(&mut self, k: usize, now: Ms) -> f64 {
        let occ = self.occupancy(k, now);
        self.mean_handle_s(k) / occ
    }

    /// When an idle wait starting at `now` ends: the next call, or earlier if a planned
    /// item or the end of the shift comes first.
    fn idle_until(&mut self, k: usize, now: Ms) -> Ms {
        let occ = self.occupancy(k, now);
        let mean_wait_s = self.mean_handle_s(k) * (1.0 - occ) / occ;
        let a = &mut self.agents[k];
        let wait_s = 1.0 + a.rng.exp((mean_wait_s - 1.0).max(0.5));
        let mut until = now + (wait_s * 1000.0) as Ms;
        if let Some(p) = a.planned.first() {
            until = until.min(p.at.max(now + 1));
        }
        until.min(a.shift_end.max(now + 1))
    }

    /// Sets up the shift that starts at `start` (or is under way at it): its end and its
    /// planned aux (lunch, and sometimes a training, meeting or coaching session), placed
    /// off-peak where possible. Items already past are dropped.
    fn plan_shift(&mut self, k: usize, now: Ms) {
        let shift_ms = if self.cfg.shifts { self.cfg.shift_ms } else { DAY };
        let a = &mut self.agents[k];
        if !self.cfg.shifts {
            // A rolling planning day that starts at the first login.
            if a.shift_end <= now {
                a.shift_start = if a.shift_end == 0 { now } else { a.shift_end };
                a.shift_end = a.shift_start + DAY;
            }
        } else {
            a.shift_end = a.shift_start + shift_ms + a.rng.range(0, 6 * MIN);
        }
        let (s, e) = (a.shift_start, a.shift_end);
        a.planned.clear();
        let mut planned = Vec::new();
        if shift_ms >= 6 * 3_600_000 {
            let len = self.agents[k].rng.range(30, 45) * MIN;
            if let Some(at) = self.place(k, s + 3 * 3_600_000, s + 5 * 3_600_000, len, &[], true) {
                planned.push(Planned { at, len, reason: LUNCH });
            }
        }
        // With a roster, the short breaks are scheduled too, as WFM tools schedule them:
        // 15 minutes each, one 1¼ to 2¾ hours into the shift and one 5¼ to 7½ hours in,
        // half an hour clear of the other items, off-peak where possible, taken at the
        // first free moment after they are due. An unplanned
        // `break` then no longer happens on its own (see `after_call`).
        if self.writes_roster() && shift_ms >= 6 * 3_600_000 {
            for (from, to) in [(75, 165), (315, 450)] {
                let busy: Vec<(Ms, Ms)> = planned.iter().map(|p| (p.at - 30 * MIN, p.at + p.len + 30 * MIN)).collect();
                if let Some(at) = self.place(k, s + from * MIN, s + to * MIN, BREAK_MS, &busy, true) {
                    planned.push(Planned { at, len: BREAK_MS, reason: BREAK });
                }
            }
        }
        let a = &mut self.agents[k];
        if a.rng.chance(0.45) {
            let roll = a.rng.f64();
            let (reason, lo, hi) = if roll < 0.55 {
                (TRAINING, 30, 60)
            } else if roll < 0.8 {
                (MEETING, 15, 30)
            } else {
                (COACHING, 10, 20)
            };
            let len = a.rng.range(lo, hi) * MIN;
            let busy: Vec<(Ms, Ms)> = planned.iter().map(|p| (p.at, p.at + p.len + 30 * MIN)).collect();
            let (from, to) = (s + 3_600_000, (e - 90 * MIN).min(s + DAY - 90 * MIN));
            if let Some(at) = self.place(k, from, to - len, len, &busy, false) {
                planned.push(Planned { at, len, reason });
            }
        }
        planned.sort_by_key(|p| p.at);
        self.roster_rows(k, &planned);
        planned.retain(|p| p.at >= now);
        self.agents[k].planned = planned;
    }

    /// Whether the floor writes a roster (and works in shifts): then its shifts are in it,
    /// its short breaks are scheduled, and its agents keep to it.
    fn writes_roster(&self) -> bool {
        self.roster.is_some() && self.cfg.shifts
    }

    /// Records the roster of agent `k`'s shift just planned, with the floor's deviations.
    fn roster_rows(&mut self, k: usize, planned: &[Planned]) {
        if !self.writes_roster() {
            return;
        }
        let off = self.cfg.offset_ms;
        // The nominal start (logins vary by -5..+3 minutes around it, on the 30-minute grid
        // of local time).
        let start = self.cal.floor_local(self.agents[k].shift_start + 15 * MIN, 30 * MIN);
        let a = &self.agents[k];
        let mut end = start + self.cfg.shift_ms;
        if k % EARLY_EVERY == EARLY_EVERY / 2 {
            end += EARLY_MS;
        }
        let mut rows = vec![RosterRow { agent: a.id.clone(), start: start + off, end: end + off, activity: None }];
        for p in planned {
            let late = p.reason == LUNCH && k % LATE_EVERY == LATE_EVERY / 2;
            let len = if late { p.len - LATE_MS } else { p.len };
            rows.push(RosterRow {
                agent: a.id.clone(),
                start: p.at + off,
                end: p.at + len + off,
                activity: Some(self.reasons[p.reason as usize].0.clone()),
            });
        }
        if k == 0 {
            let width = a.id.len() - 1;
            let id = format!("A{:0width$}", self.cfg.agents + 1);
            rows.push(RosterRow { agent: id, start: start + off, end: end + off, activity: None });
        }
        if let Some(r) = &mut self.roster {
            r.extend(rows);
        }
    }

    /// Records the roster from now on: every shift as it is planned (at its start).
    pub fn record_roster(&mut self) {
        if self.roster.is_none() && self.cfg.shifts {
            // The breaks the agents took at will are scheduled from now on: the unplanned
            // aux they were is no longer theirs to take (`break` leaves the unplanned
            // reasons in `after_call`), so each agent's unplanned share is what is left.
            let breaks =
                UNPLANNED.iter().filter(|u| u.0 == Some(BREAK)).map(weighted_aux_s).sum::<f64>() / self.mean_aux_s;
            for a in &mut self.agents {
                a.aux_rate_per_s *= 1.0 - breaks;
                a.aux_target *= 1.0 - breaks;
            }
        }
        self.roster.get_or_insert_with(Vec::new);
    }

    /// The roster rows recorded since the last call.
    pub fn take_roster(&mut self) -> Vec<RosterRow> {
        self.roster.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// A random start in `[from, to]` on a 5-minute grid for an item of length `len` that
    /// overlaps neither a peak window nor `busy`; if none exists, any start when `fallback`.
    fn place(&mut self, k: usize, from: Ms, to: Ms, len: Ms, busy: &[(Ms, Ms)], fallback: bool) -> Option<Ms> {
        if to < from {
            return None;
        }
        let step = 5 * MIN;
        let peaks = self.cal.peaks_between(from, to + len);
        let mut ok = Vec::new();
        let mut t = from;
        while t <= to {
            let clear = peaks.iter().chain(busy).all(|&(a, b)| b <= t || t + len <= a);
            if clear {
                ok.push(t);
            }
            t += step;
        }
        let rng = &mut self.agents[k].rng;
        if ok.is_empty() {
            return fallback.then(|| from + rng.below(((to - from) / step + 1) as u64) as Ms * step);
        }
        Some(*rng.pick(&ok))
    }

    /// The next login after logging out at `now` (shifts on).
    fn next_login(&mut self, k: usize, now: Ms) -> Ms {
        let day = self.cal.day_of(self.agents[k].shift_start) + 1;
        let mut d = day;
        loop {
            let start = shift_start_on(self.cfg.shift_start, &mut self.cal, self.agents[k].team, d);
            if start > now {
                let a = &mut self.agents[k];
                let login = start + a.rng.range(-5 * MIN, 3 * MIN);
                a.shift_start = login.max(now + 1);
                return a.shift_start;
            }
            d += 1;
        }
    }

    /// Runs injection `j` (its time of day has come, minus its lead), and schedules the
    /// next day's.
    fn inject(&mut self, j: usize, now: Ms) {
        let inj = self.injections[j];
        let at = now + inj.lead();
        let team = match inj {
            Injection::Cluster { team, .. } | Injection::LongBreak { team, .. } => team,
        };
        let t = &self.teams[team as usize];
        let members = t.first as usize..(t.first + t.len) as usize;
        let logged_in = members.clone().filter(|&k| self.agents[k].state != State::Offline).count();
        let mut free: Vec<usize> =
            members.filter(|&k| !matches!(self.agents[k].state, State::Offline | State::Aux)).collect();
        // Fisher–Yates with the scenario stream, so the choice is reproducible.
        for i in (1..free.len()).rev() {
            let j = self.scenario_rng.below(i as u64 + 1) as usize;
            free.swap(i, j);
        }
        match inj {
            Injection::Cluster { share, len, .. } => {
                let want = ((share * logged_in as f64).ceil() as usize).max(3);
                for &k in free.iter().take(want) {
                    let enter = at - self.scenario_rng.range(0, CLUSTER_SPREAD);
                    let until = at + len + self.scenario_rng.range(-15_000, 45_000);
                    self.schedule(k, enter.max(now), Wake::Forced { reason: BREAK, until });
                }
            }
            Injection::LongBreak { len, reason, .. } => {
                if let Some(&k) = free.first() {
                    self.schedule(k, at, Wake::Forced { reason, until: at + len });
                }
            }
        }
        self.injection_day[j] += 1;
        let next = self.cal.at(self.injection_day[j], inj.tod()) - inj.lead();
        let slot = (self.agents.len() + j) as u32;
        self.heap.push(Reverse((next.max(now + 1), slot, 0)));
    }

    /// Formats one native event line.
    fn line(&mut self, k: usize, now: Ms, state: State, reason: Option<u8>) -> SimLine {
        let a = &mut self.agents[k];
        a.seq += 1;
        let ts = now + self.cfg.offset_ms;
        let mut s = String::with_capacity(140);
        s.push_str("{\"ts\":\"");
        self.ts_fmt.push(&mut s, ts);
        s.push_str("\",\"agent\":\"");
        s.push_str(&a.id);
        s.push_str("\",\"state\":\"");
        s.push_str(state.as_str());
        if let Some(r) = reason {
            s.push_str("\",\"reason\":\"");
            s.push_str(&self.reasons[r as usize].0);
        }
        s.push_str("\",\"team\":\"");
        s.push_str(&self.teams[a.team as usize].id);
        s.push_str("\",\"seq\":");
        let _ = write!(s, "{}", a.seq);
        if a.seq == 1 {
            // Names come from fixed lists without quotes, backslashes or control characters.
            s.push_str(",\"name\":\"");
            s.push_str(&a.name);
            s.push('"');
        }
        s.push('}');
        SimLine { ts, agent: k as u32, line: s, noise: None }
    }
}

impl Iterator for Simulator {
    type Item = SimLine;

    fn next(&mut self) -> Option<SimLine> {
        loop {
            if let Some(l) = self.pending.pop_front() {
                return Some(l);
            }
            // Call lines and the agents' in time order (calls first on a tie: a call is
            // answered as the agent's talking starts).
            if let Some(calls) = &mut self.calls
                && let Some(t) = calls.next_ts()
            {
                let agents_next = self.heap.peek().map(|r| r.0.0);
                if self.end.is_some_and(|end| t >= end) {
                    calls.clear();
                } else if agents_next.is_none_or(|a| t <= a) {
                    return calls.pop(&mut self.ts_fmt, self.cfg.offset_ms);
                }
            }
            match self.produce() {
                Some(Some(l)) => return Some(l),
                Some(None) => continue,
                None if self.calls.as_ref().is_some_and(|c| c.next_ts().is_some()) => continue,
                None => return None,
            }
        }
    }
}

impl Simulator {
    /// Runs one step of the heap: `Some(Some(line))` when an event happened (its noise, if
    /// any, is queued in `pending`), `Some(None)` when nothing did, `None` at the end.
    /// One step at a time, so that call lines it makes come out in time order.
    fn produce(&mut self) -> Option<Option<SimLine>> {
        {
            let Reverse((t, slot, generation)) = self.heap.pop()?;
            if self.end.is_some_and(|end| t >= end) {
                self.heap.clear();
                return None;
            }
            self.clock = t;
            let k = slot as usize;
            if k >= self.agents.len() {
                self.inject(k - self.agents.len(), t);
                return Some(None);
            }
            if self.agents[k].generation != generation {
                return Some(None); // replaced by an injection
            }
            let Some((state, reason)) = self.step(k, t) else { return Some(None) };
            let line = self.line(k, t, state, reason);
            if let Some(noiser) = &mut self.noiser {
                let a = &self.agents[k];
                let team = &self.teams[a.team as usize].id;
                noiser.after(&line, &a.id, team, &mut self.ts_fmt, &mut self.pending);
            }
            Some(Some(line))
        }
    }
}

fn digits(n: u32) -> usize {
    n.max(1).ilog10() as usize + 1
}

/// The nominal start of team `team`'s shift on local day `day`.
pub(super) fn shift_start_on(shift_start: Time, cal: &mut Calendar, team: u32, day: i64) -> Ms {
    let stagger = (team % STAGGER_GROUPS) as Ms * STAGGER_STEP;
    cal.at(day, tod_ms(shift_start) + stagger)
}

/// The first login of agent `a` at or after `start`, setting its shift start. An agent whose
/// shift is already under way at `start` logs in within the first minute.
fn first_login(cfg: &SimConfig, cal: &mut Calendar, a: &mut Agent, start: Ms) -> Ms {
    if !cfg.shifts {
        a.shift_start = start;
        return start + a.rng.range(0, 60_000);
    }
    let day = cal.day_of(start);
    for d in day - 1..day + 2 {
        let nominal = shift_start_on(cfg.shift_start, cal, a.team, d);
        if nominal + cfg.shift_ms > start {
            let login = nominal + a.rng.range(-5 * MIN, 3 * MIN);
            let login = if login <= start { start + a.rng.range(0, 60_000) } else { login };
            // Plan from the nominal start, so a shift joined midway keeps its real end.
            a.shift_start = nominal.min(login);
            return login;
        }
    }
    unreachable!("a shift shorter than a day starts within two days")
}

/// RFC 3339 formatting with the date part cached per UTC day (the hot path of the
/// generator: `jiff`'s general formatter is several times slower).
#[derive(Debug, Default)]
pub(crate) struct TsFormatter {
    day: Option<i64>,
    prefix: String,
}

impl TsFormatter {
    pub(crate) fn push(&mut self, s: &mut String, ts: Ms) {
        let day = ts.div_euclid(DAY);
        if self.day != Some(day) {
            let full = crate::time::fmt_ms(day * DAY);
            self.prefix = full.get(..11).unwrap_or("1970-01-01T").to_string();
            self.day = Some(day);
        }
        s.push_str(&self.prefix);
        let ms = ts.rem_euclid(DAY);
        let (h, m, sec, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
        for (v, sep) in [(h, ':'), (m, ':'), (sec, '.')] {
            s.push((b'0' + (v / 10) as u8) as char);
            s.push((b'0' + (v % 10) as u8) as char);
            s.push(sep);
        }
        s.push((b'0' + (milli / 100) as u8) as char);
        s.push((b'0' + (milli / 10 % 10) as u8) as char);
        s.push((b'0' + (milli % 10) as u8) as char);
        s.push('Z');
    }

    pub(crate) fn format(&mut self, ts: Ms) -> String {
        let mut s = String::with_capacity(24);
        self.push(&mut s, ts);
        s
    }
}
