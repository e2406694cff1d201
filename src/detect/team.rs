//! Team-level detection (SPEC §4.1, §4.2): peak status (configured windows and load peak),
//! aux_cluster, aux_dispersion and utilization_high.
//!
//! A team is advanced through time in steps. Its current counts are in force from `clock`
//! on; `advance_to(t)` processes [clock, t) — nothing at t itself, because more events at t
//! may still arrive. Everything that happens at an instant T (a switch, a minute tick) is
//! evaluated with the state in force at T, i.e. after all events at T: a switch due exactly
//! at an event time is taken at the start of the next step, which begins there.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::alert::{Alert, AlertKind, AlertState};
use crate::detect::binomial;
use crate::detect::calendar::Calendar;
use crate::detect::hold::{Hold, Streak, StreakEvent};
use crate::event::UNASSIGNED;
use crate::floor::agents::{AgentIdx, Agents, Counts};
use crate::floor::figures::{Spread, Sums};
use crate::floor::timeline::{Durations, Kind};
use crate::settings::Settings;
use crate::time::Ms;

/// Marks an open (ongoing) peak interval.
pub const OPEN: Ms = Ms::MAX;

#[derive(Clone, Debug)]
pub enum AlertChange {
    Fired(Alert),
    Resolved { id: String, at: Ms },
}

/// What a step needs besides the team itself.
pub struct Ctx<'a> {
    pub settings: &'a Settings,
    pub cal: &'a mut Calendar,
    pub agents: &'a Agents,
    pub binom: &'a mut HashMap<(u32, u32), bool>,
    pub out: &'a mut Vec<AlertChange>,
    /// The schedule (SPEC §9.2): a scheduled member's staffed time is its scheduled time,
    /// and aux its schedule allows is planned, in the minute rules.
    pub roster: &'a crate::roster::Roster,
}

/// A change to a team's membership or a member's kind at an instant: `agent` is in the
/// team with kind `to` from `t` on (`None`: it leaves the team at `t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Change {
    pub t: Ms,
    pub agent: AgentIdx,
    pub to: Option<Kind>,
}

/// Checkpoints of a team's detector state are kept at multiples of this much team time:
/// a late change re-evaluates from the last one at or before it.
pub const CHECKPOINT_MS: Ms = 300_000;

/// At most this many checkpoints off the [`CHECKPOINT_MS`] grid are kept, the newest
/// ([`TeamDet::push_recent_checkpoint`]).
const RECENT_CHECKPOINTS: usize = 4;

fn on_grid(clock: Ms) -> bool {
    clock.rem_euclid(CHECKPOINT_MS) == 0
}

/// What the detectors know of a team as of `clock`: everything in [.., clock) processed,
/// the members and their kinds in force from `clock` on (changes at `clock` itself may
/// still be added). Cloned into checkpoints.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct DetState {
    pub clock: Ms,
    #[serde(with = "crate::floor::agents::counts_serde")]
    pub counts: Counts,
    /// The members as of `clock` and their kinds, sorted by agent slot (the order views
    /// sum members in, so an alert's figure and the view's agree to the bit).
    pub members: Vec<(AgentIdx, Kind)>,
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
    /// (a hold due, a configured window boundary).
    next_switch: Ms,
    /// Member-milliseconds talking and logged in, integrated over the team's time up to
    /// `clock` (the counts in force times each stretch), and since when the members have
    /// been the same agents: with the values at whole minutes (`minutes`), the 60-minute
    /// utilization of a team whose members did not change in the hour is a difference of
    /// two integrals instead of a search in every member's timeline (BENCHMARKS.md,
    /// session 6).
    #[serde(default)]
    integral: Integral,
    #[serde(default = "forever")]
    members_since: Ms,
    /// The integrals at the last 61 whole minutes passed, oldest first, consecutive. Not
    /// kept in checkpoints nor in the journal's snapshot: after a rewind or a restart the
    /// members' timelines answer until an hour of them has accumulated again.
    #[serde(skip)]
    minutes: VecDeque<(Ms, Integral)>,
    /// The members on scheduled aux found at an instant `.0`, which stay so until `.1` (a
    /// member's next schedule piece) unless a change reaches a member in unplanned aux:
    /// the cluster's gate asks at every instant while it passes (a floor with scheduled
    /// breaks at peak). Cleared by such changes, rewinds and uploads; not stored.
    #[serde(skip)]
    sched_aux: Option<(Ms, Ms, Vec<AgentIdx>)>,
    /// Bumped whenever `members` changes (which agents, not their kinds): the key of
    /// `staffing`. Not stored.
    #[serde(skip)]
    members_gen: u64,
    /// The members' schedules summed ([`Staffing`]), for the members and roster it names.
    /// Shared with the checkpoints cloned from this state. Not stored.
    #[serde(skip)]
    staffing: Option<Arc<Staffing>>,
    /// The members that joined (`true`) or left since `staffing` was made, in order (only
    /// while there is one): [`Staffing::updated`] adds them to it. Not stored.
    #[serde(skip)]
    staffing_changes: Vec<(AgentIdx, bool)>,
    /// The members' scheduled aux over today's peak time as the `aux_dispersion` rule last
    /// found it ([`Moved`]). Not stored, and not copied into checkpoints.
    #[serde(skip)]
    moved: Moved,
}

/// Each member's scheduled aux (SPEC §9.2) over the peak intervals since `midnight` up to
/// `upto`, as [`DetState::peak_dispersion`] last summed it: by position in `members`,
/// `(agent, its roster slot, its roster aux generation then, the sum)`. The rule asks
/// every member over every peak interval at every minute; while a member's generation
/// and the peak intervals before `upto` stay, its sum to a later minute is this one plus
/// the minutes since, and the member's record and spans are read only when those minutes
/// may hold some (a floor whose breaks are scheduled in peak time read them all, every
/// minute: BENCHMARKS.md, session 20). The roster slot is kept only to ask for the
/// member's entry there ahead of the visit.
///
/// Likewise each member's durations over today's peak time, by position: `(where its
/// timeline was final then, the durations before it)`. A timeline before its last
/// segment's start is final (an agent's older event is refused, and a trim keeps what
/// today's windows read), so the next minute adds only the peak time from there: one
/// search near the timeline's end, where each peak interval of the day searched from the
/// middle of the day's segments and read a checkpoint, for every member at every minute
/// (two fifths of applying in the afternoon peak at 100,000 agents: BENCHMARKS.md,
/// session 31). Made again for all when the members change (`members_gen`, which every
/// join and departure moves: while it stays, each position holds the same agent).
#[derive(Debug, Default)]
struct Moved {
    midnight: Ms,
    upto: Ms,
    peaks: Vec<(Ms, Ms)>,
    members: Vec<(AgentIdx, u32, u64, Ms)>,
    members_gen: u64,
    durations: Vec<(Ms, Durations)>,
}

/// How many members ahead [`DetState::peak_dispersion`] asks for the next ones' records.
const MEMBERS_AHEAD: usize = 8;

/// A checkpoint's copy starts empty: a rewound state sums its members again once.
impl Clone for Moved {
    fn clone(&self) -> Moved {
        Moved::default()
    }
}

/// The scheduled time of a team's members summed (SPEC §9.2's staffed time, for the
/// utilization rule): the minute rule asked every scheduled member's schedule over the
/// hour at every minute, two cache misses a member (its record and its schedule), most of
/// what a roster added to the team detectors. Made again when the members or the roster
/// change, which is seldom beside once a minute.
#[derive(Debug)]
pub struct Staffing {
    /// `(members_gen, roster generation)` it was made for.
    key: (u64, u64),
    /// The members with a schedule and those without, by agent slot.
    scheduled: Vec<AgentIdx>,
    unscheduled: Vec<AgentIdx>,
    /// `(t, members scheduled from t on, their scheduled ms before t)`, t increasing: the
    /// steps of the summed schedule.
    steps: Vec<(Ms, i64, i64)>,
    /// Where [`Staffing::before`] found the end and the start of the last hour asked of
    /// it: the next minute's are there or a step or two on. Hints only (any value gives
    /// the same answer); shared with the checkpoints' copies.
    hints: [AtomicUsize; 2],
}

impl Staffing {
    fn new(key: (u64, u64), members: &[(AgentIdx, Kind)], ctx: &Ctx) -> Staffing {
        let (mut scheduled, mut unscheduled, mut edges) = (Vec::new(), Vec::new(), Vec::new());
        for &(i, _) in members {
            match scheduled_slot(ctx, i) {
                Some(slot) => {
                    scheduled.push(i);
                    member_edges(ctx, slot, 1, &mut edges);
                }
                None => unscheduled.push(i),
            }
        }
        edges.sort_unstable();
        Staffing { key, scheduled, unscheduled, steps: steps_of(&edges), hints: Default::default() }
    }

    /// This sum with the members that joined (`true`) or left the team since it was made,
    /// in order (`changes`), for `key`: the changed members' schedules added to the steps
    /// or taken out, in one pass over them. The same steps as [`Staffing::new`] for the
    /// members after the changes (checked in debug builds), without reading every member's
    /// schedule and sorting every edge again: the morning's logins change most teams'
    /// members every minute, and remaking the sum each time was most of the instructions a
    /// roster added to ingest (BENCHMARKS.md, session 17).
    fn updated(&self, key: (u64, u64), changes: &[(AgentIdx, bool)], ctx: &Ctx) -> Staffing {
        let (mut scheduled, mut unscheduled) = (self.scheduled.clone(), self.unscheduled.clone());
        let mut edges = Vec::new();
        for &(i, joined) in changes {
            let slot = scheduled_slot(ctx, i);
            let list = if slot.is_some() { &mut scheduled } else { &mut unscheduled };
            match (list.binary_search(&i), joined) {
                (Err(p), true) => list.insert(p, i),
                (Ok(p), false) => {
                    list.remove(p);
                }
                _ => debug_assert!(false, "agent {i} joined twice or left without joining"),
            }
            if let Some(slot) = slot {
                member_edges(ctx, slot, if joined { 1 } else { -1 }, &mut edges);
            }
        }
        // The steps as edges again (each step's change of count), then the changes' edges:
        // the stable sort merges the steps' run with the few edges after it in one pass.
        let mut n = 0;
        let mut merged: Vec<(Ms, i64)> =
            self.steps.iter().map(|&(t, after, _)| (t, after - std::mem::replace(&mut n, after))).collect();
        merged.extend(edges);
        merged.sort_by_key(|e| e.0);
        Staffing { key, scheduled, unscheduled, steps: steps_of(&merged), hints: Default::default() }
    }

    /// The scheduled members' scheduled ms over `[from, to)`. Exact although the running
    /// sums it subtracts may have wrapped (see [`steps_of`]): it is at most the members
    /// times `to - from`.
    fn between(&self, from: Ms, to: Ms) -> i64 {
        self.before(to, &self.hints[0]).wrapping_sub(self.before(from, &self.hints[1]))
    }

    /// The scheduled members' scheduled ms before `t` (modulo 2⁶⁴, see [`steps_of`]), its
    /// step searched from `hint`.
    fn before(&self, t: Ms, hint: &AtomicUsize) -> i64 {
        let i = self.steps_upto(t, hint.load(Ordering::Relaxed));
        debug_assert_eq!(i, self.steps.partition_point(|s| s.0 <= t), "the step at {t}");
        hint.store(i, Ordering::Relaxed);
        match i {
            0 => 0,
            i => {
                let (t0, n, cum) = self.steps[i - 1];
                cum.wrapping_add(n.wrapping_mul(t - t0))
            }
        }
    }

    /// How many steps start at or before `t`, looked for from `h` on when that many
    /// start before it: the minute rule asks a minute after the last time, at most a few
    /// steps on. A binary search read a step each of ten cache lines, at each minute
    /// of each team (about one per cent of ingest with a roster, BENCHMARKS.md session 16).
    fn steps_upto(&self, t: Ms, h: usize) -> usize {
        let s = &self.steps;
        if h > s.len() || (h > 0 && s[h - 1].0 > t) {
            return s.partition_point(|x| x.0 <= t);
        }
        let mut i = h;
        while i < s.len() && s[i].0 <= t {
            i += 1;
            if i == h + 4 {
                return i + s[i..].partition_point(|x| x.0 <= t);
            }
        }
        i
    }
}

/// Appends the edges of the schedule of roster slot `slot`: `(start, sign)` and `(end,
/// -sign)` of each scheduled piece.
fn member_edges(ctx: &Ctx, slot: u32, sign: i64, edges: &mut Vec<(Ms, i64)>) {
    ctx.roster.scheduled_pieces(slot, |a, b| {
        edges.push((a, sign));
        // A piece without an end is never left (and `Ms::MAX - t` ms overflow).
        if b != Ms::MAX {
            edges.push((b, -sign));
        }
    });
}

/// The steps of a sum of schedules from its edges `(t, change of count)` in time order:
/// one step per instant whose changes do not cancel out (those that do change nothing,
/// and leaving them out gives [`Staffing::new`] and [`Staffing::updated`] the same steps).
///
/// The running sum `cum` wraps around (two's complement): a roster row may last from 1970
/// to 9999 (2.5·10¹⁴ ms), so fewer than 40,000 members scheduled that long overflow an
/// `i64`. Only differences of the sums are read ([`Staffing::between`], a window's worth),
/// and wrapped additions and products give those exactly.
fn steps_of(edges: &[(Ms, i64)]) -> Vec<(Ms, i64, i64)> {
    let mut steps: Vec<(Ms, i64, i64)> = Vec::with_capacity(edges.len());
    let (mut n, mut cum, mut last) = (0i64, 0i64, Ms::MIN);
    let mut k = 0;
    while k < edges.len() {
        let t = edges[k].0;
        let mut d = 0;
        while k < edges.len() && edges[k].0 == t {
            d += edges[k].1;
            k += 1;
        }
        if d == 0 {
            continue;
        }
        if n > 0 {
            cum = cum.wrapping_add(n.wrapping_mul(t - last));
        }
        n += d;
        last = t;
        debug_assert!(n >= 0, "fewer than no members scheduled from {t}");
        steps.push((t, n, cum));
    }
    steps
}

/// Agent `i`'s talk and logged-in milliseconds over the utilization window before `t`,
/// from its timeline.
fn member_hour(ctx: &Ctx, i: AgentIdx, t: Ms) -> (Ms, Ms) {
    let s = Sums { ms: ctx.agents.get(i).timeline.durations(t - UTIL_WINDOW_MS, t), ..Default::default() };
    (s.talking(), s.logged_in())
}

/// `members_since` of a team whose members never changed.
fn forever() -> Ms {
    Ms::MIN
}

/// Member-milliseconds talking and logged in (see [`DetState::integral`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Integral {
    pub talk: u64,
    pub logged: u64,
}

impl Integral {
    /// Plus `dt` ms of `counts`, modulo 2⁶⁴: 75,000 members logged in from 1970 to 9999
    /// overflow a `u64`. Only an hour's difference of two integrals is read
    /// ([`DetState::hour_from_integrals`]), and wrapped sums give it exactly.
    fn plus(self, counts: &Counts, dt: Ms) -> Integral {
        let dt = dt as u64;
        Integral {
            talk: self.talk.wrapping_add((counts.talking() as u64).wrapping_mul(dt)),
            logged: self.logged.wrapping_add((counts.logged_in() as u64).wrapping_mul(dt)),
        }
    }

    /// The member-ms from `then` to this integral.
    fn since(self, then: Integral) -> (u64, u64) {
        (self.talk.wrapping_sub(then.talk), self.logged.wrapping_sub(then.logged))
    }
}

#[cfg(test)]
thread_local! {
    /// Minute utilizations found from the integrals and from the timelines, in this thread.
    pub static UTIL_PATHS: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
}

/// The utilization window, and the whole minutes of integrals kept for it.
const UTIL_WINDOW_MS: Ms = 3_600_000;
const KEPT_MINUTES: usize = (UTIL_WINDOW_MS / 60_000) as usize + 1;

/// A team's detectors (SPEC §4) and what they need to re-evaluate exactly when changes
/// arrive late (§2.5): the changes of the last `max_backfill` and more, in time order,
/// and checkpoints of the state every [`CHECKPOINT_MS`] of team time.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TeamDet {
    pub st: DetState,
    /// Changes in time order (changes at one instant in arrival order), from the oldest
    /// checkpoint's clock on.
    log: VecDeque<Change>,
    /// `log[..applied]` are in `st`.
    applied: usize,
    /// States at multiples of [`CHECKPOINT_MS`] and, among them, the newest
    /// [`RECENT_CHECKPOINTS`] taken just after a change, in clock order; the first is at
    /// or before the oldest instant a change may still arrive for.
    checkpoints: VecDeque<DetState>,
    /// The earliest instant a change arrived for after `st` had passed it: the state must
    /// be re-evaluated from the checkpoint before it.
    dirty: Option<Ms>,
    /// Bumped at every re-evaluation: peak intervals may have changed behind a view's cache.
    pub generation: u64,
    /// Until this team instant, advancing keeps the state after the newest change as a
    /// checkpoint ([`TeamDet::push_recent_checkpoint`]): set by a re-evaluation, for
    /// [`CHECKPOINT_MS`] past where it went. A clone per team per advance is a cost of its
    /// own on a floor that is not behind (2 µs per event in `bench scale`'s day of 100,000
    /// agents, where every batch advances the teams), so only a team that was just late
    /// pays it.
    recent_until: Ms,
}

impl std::ops::Deref for TeamDet {
    type Target = DetState;
    fn deref(&self) -> &DetState {
        &self.st
    }
}

impl TeamDet {
    pub fn new(settings: &Settings, clock: Ms) -> Self {
        let st = DetState {
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
            integral: Integral::default(),
            members_since: forever(),
            minutes: VecDeque::new(),
            sched_aux: None,
            members_gen: 0,
            staffing: None,
            staffing_changes: Vec::new(),
            moved: Moved::default(),
        };
        TeamDet {
            checkpoints: VecDeque::from([st.clone()]),
            st,
            log: VecDeque::new(),
            applied: 0,
            dirty: None,
            generation: 0,
            recent_until: Ms::MIN,
        }
    }

    pub fn clock(&self) -> Ms {
        self.st.clock
    }

    /// The instant from which a re-evaluation is pending, if any.
    pub fn dirty(&self) -> Option<Ms> {
        self.dirty
    }

    /// Records a change: into the log in time order, for the next [`TeamDet::advance_to`]
    /// past its instant. One before the clock (late delivery) marks the state for
    /// re-evaluation from the checkpoint before it.
    pub fn record(&mut self, ch: Change) {
        if self.log.back().is_none_or(|e| e.t <= ch.t) {
            self.log.push_back(ch);
        } else {
            let pos = self.log.partition_point(|e| e.t <= ch.t);
            self.log.insert(pos, ch);
            if pos < self.applied {
                self.applied += 1;
            }
        }
        if ch.t < self.st.clock {
            self.dirty = Some(self.dirty.map_or(ch.t, |d| d.min(ch.t)));
        }
    }

    /// A member's schedule changed (an upload): what was found of scheduled aux is stale.
    pub fn schedules_changed(&mut self) {
        self.st.sched_aux = None;
    }

    /// Marks the state for re-evaluation from `t` when the detectors have passed it: what
    /// they evaluated from `t` on may be different now (a roster upload changed a member's
    /// schedule there, SPEC §9.2). Instants before the oldest checkpoint stay as evaluated.
    pub fn touch(&mut self, t: Ms) {
        if t < self.st.clock {
            self.dirty = Some(self.dirty.map_or(t, |d| d.min(t)));
        }
    }

    /// The least `f(agent)` over the agents that are members in the state, a checkpoint or
    /// the log: those on whom what the detectors evaluated since the oldest checkpoint may
    /// depend.
    pub fn least_over_involved(&self, f: impl Fn(AgentIdx) -> Option<Ms>) -> Option<Ms> {
        let states = std::iter::once(&self.st).chain(self.checkpoints.iter());
        let members = states.flat_map(|st| st.members.iter().map(|m| m.0));
        members.chain(self.log.iter().map(|e| e.agent)).filter_map(f).min()
    }

    /// The state at `now` as far as the changes recorded so far tell, without moving the
    /// committed state: its clock and the changes not yet past, stepped to `now + 1` on a
    /// copy (the instant `now` evaluated, SPEC §4.2). Not for a team awaiting re-evaluation
    /// (advance it first).
    ///
    /// When nothing is due up to `now + 1` (most teams at most instants: [`TeamDet::next_due`])
    /// that copy would differ from the committed state in its clock only, and no alert
    /// changes: the committed state is lent instead (cloning 2,000 teams' states was 2.5%
    /// of a scrape at 100,000 agents). A debug_assert compares with the copy.
    pub fn tentative(&self, team: &str, now: Ms, ctx: &mut Ctx) -> std::borrow::Cow<'_, DetState> {
        debug_assert!(self.dirty.is_none(), "advance a re-evaluated team before its tentative state");
        if now.saturating_add(1) < self.next_due(ctx.settings) {
            #[cfg(debug_assertions)]
            {
                let mut none = Vec::new();
                let mut c = Ctx {
                    settings: ctx.settings,
                    cal: &mut *ctx.cal,
                    agents: ctx.agents,
                    binom: &mut *ctx.binom,
                    out: &mut none,
                    roster: ctx.roster,
                };
                let copy = self.copy_to(team, now, &mut c);
                debug_assert!(none.is_empty(), "{team}: alert changes up to {now} with nothing due");
                debug_assert_eq!(copy.peaks, self.st.peaks, "{team}: peaks moved up to {now} with nothing due");
                debug_assert_eq!((copy.counts, copy.members.len()), (self.st.counts, self.st.members.len()));
            }
            return std::borrow::Cow::Borrowed(&self.st);
        }
        std::borrow::Cow::Owned(self.copy_to(team, now, ctx))
    }

    /// The committed state copied and stepped to `now + 1` with the changes up to `now`.
    fn copy_to(&self, team: &str, now: Ms, ctx: &mut Ctx) -> DetState {
        let mut st = self.st.clone();
        for &ch in self.log.range(self.applied..) {
            if ch.t > now {
                break;
            }
            st.advance_to(team, ch.t, ctx);
            st.apply(ch, ctx);
        }
        st.advance_to(team, now + 1, ctx);
        st
    }

    /// Drops a forgotten agent from every state and the log (its slot may be reused).
    pub fn forget(&mut self, agent: AgentIdx) {
        for st in std::iter::once(&mut self.st).chain(self.checkpoints.iter_mut()) {
            st.sched_aux = None;
            // Its slot may be given to another agent: the sum is made again from the members.
            st.staffing = None;
            st.staffing_changes = Vec::new();
            if let Ok(i) = st.members.binary_search_by_key(&agent, |m| m.0) {
                let (_, k) = st.members.remove(i);
                st.counts.remove(k);
                st.members_since = st.clock;
                st.members_gen += 1;
            }
        }
        let before = self.log.len();
        let applied_gone = self.log.iter().take(self.applied).filter(|e| e.agent == agent).count();
        self.log.retain(|e| e.agent != agent);
        debug_assert!(before - self.log.len() >= applied_gone);
        self.applied -= applied_gone;
    }

    /// Processes [clock, t) with the changes recorded before `t`: re-evaluates from the
    /// last checkpoint first when a change arrived behind the clock, re-running at least to
    /// where the clock was. Returns the checkpoint's clock when it re-evaluated: the alert
    /// changes put out then replace everything the team's alerts did from that instant on.
    pub fn advance_to(&mut self, team: &str, t: Ms, ctx: &mut Ctx) -> Option<Ms> {
        let mut target = t;
        let rewound = self.dirty.take().map(|d| {
            target = t.max(self.st.clock);
            let i = self.checkpoints.partition_point(|c| c.clock <= d).saturating_sub(1);
            let from = self.checkpoints[i].clock;
            self.checkpoints.truncate(i + 1);
            self.st = self.checkpoints[i].clone();
            self.st.sched_aux = None;
            self.generation += 1;
            self.recent_until = target.saturating_add(CHECKPOINT_MS);
            self.applied = self.log.partition_point(|e| e.t < from);
            from
        });
        let mut last = None;
        if self.log.get(self.applied).is_some_and(|ch| ch.t < target) {
            // Each change looks its agent up in the members by binary search, whose reads
            // wait on each other: fetched here at once, the team's members (50 at 100,000
            // agents in 2,000 teams: 400 bytes) come in one wait instead. At most 16 lines:
            // a larger team's search reads only a few of its many.
            let m = &self.st.members;
            crate::mem::prefetch_bytes(m.as_ptr(), std::mem::size_of_val(&m[..]).min(1024));
        }
        while let Some(&ch) = self.log.get(self.applied) {
            if ch.t >= target {
                break;
            }
            self.step_to_team(team, ch.t, ctx);
            self.st.apply(ch, ctx);
            self.applied += 1;
            last = Some(ch.t);
        }
        if let Some(last) = last
            && last + 1 < target
            && last < self.recent_until
        {
            self.step_to_team(team, last + 1, ctx);
            self.push_recent_checkpoint(ctx);
        }
        self.step_to_team(team, target, ctx);
        rewound
    }

    /// Keeps the state just after its newest change as a checkpoint, before time moves
    /// it on without changes. A feed that runs behind the committed clock (a burst of
    /// a backlog, a source that delivers seconds late) sends its changes in order, each
    /// batch after the last: each is late, and re-evaluating from the last checkpoint on
    /// the [`CHECKPOINT_MS`] grid re-ran every change since it, again at every tick (the
    /// daemon's ingest fell from 400k to 40k events/s once it trailed the wall clock by
    /// more than [`crate::engine::COMMIT_LAG_MS`], BENCHMARKS.md session 23). From here a
    /// re-evaluation re-runs only what came after. The newest [`RECENT_CHECKPOINTS`] are
    /// kept.
    fn push_recent_checkpoint(&mut self, ctx: &Ctx) {
        let clock = self.st.clock;
        if self.checkpoints.back().is_some_and(|cp| cp.clock >= clock) {
            return;
        }
        let cp = self.st_for_checkpoint();
        self.push_checkpoint(cp, ctx);
    }

    /// A copy of the state for a checkpoint: without `minutes` (see there).
    fn st_for_checkpoint(&mut self) -> DetState {
        let minutes = std::mem::take(&mut self.st.minutes);
        let cp = self.st.clone();
        self.st.minutes = minutes;
        cp
    }

    fn step_to_team(&mut self, team: &str, t: Ms, ctx: &mut Ctx) {
        while self.st.clock < t {
            let c = self.st.clock;
            if on_grid(c) && self.checkpoints.back().is_none_or(|cp| cp.clock < c) {
                let cp = self.st_for_checkpoint();
                self.push_checkpoint(cp, ctx);
            }
            let boundary = (c.div_euclid(CHECKPOINT_MS) + 1) * CHECKPOINT_MS;
            self.st.advance_to(team, t.min(boundary), ctx);
        }
    }

    /// Keeps checkpoints back to the oldest instant a change may still arrive for (one at
    /// or before it), and the log from the oldest checkpoint on.
    fn push_checkpoint(&mut self, cp: DetState, ctx: &Ctx) {
        let horizon = cp.clock.saturating_sub(ctx.settings.max_backfill_ms);
        self.checkpoints.push_back(cp);
        // The oldest off the grid goes (not the first checkpoint, whatever its clock: the
        // oldest instant the log reaches back to). Those before a checkpoint on the grid
        // are kept too: a feed behind the clock still sends changes before it.
        let mut off_grid = self.checkpoints.iter().enumerate().skip(1).filter(|(_, c)| !on_grid(c.clock));
        if let Some((oldest, _)) = off_grid.next()
            && off_grid.count() >= RECENT_CHECKPOINTS
        {
            self.checkpoints.remove(oldest);
        }
        while self.checkpoints.len() > 1 && self.checkpoints[1].clock <= horizon {
            self.checkpoints.pop_front();
        }
        let oldest = self.checkpoints[0].clock;
        let n = self.log.partition_point(|e| e.t < oldest).min(self.applied);
        self.log.drain(..n);
        self.applied -= n;
    }

    /// Applies the durations of the current configuration (after a restore).
    pub fn reconfigure(&mut self, settings: &Settings) {
        for st in std::iter::once(&mut self.st).chain(self.checkpoints.iter_mut()) {
            st.reconfigure(settings);
        }
    }

    /// Drops peak intervals that ended before `cutoff`.
    pub fn trim(&mut self, cutoff: Ms) {
        self.st.trim(cutoff);
    }

    /// The first instant advancing to which does more than move the clock: the state's
    /// own next switch, or the first change not yet applied; `Ms::MIN` when a re-evaluation
    /// waits.
    pub fn next_due(&self, s: &Settings) -> Ms {
        if self.dirty.is_some() {
            return Ms::MIN;
        }
        let pending = self.log.get(self.applied).map_or(Ms::MAX, |e| e.t + 1);
        self.st.next_due(s).min(pending)
    }
}

impl DetState {
    /// Applies a change at the clock.
    fn apply(&mut self, ch: Change, ctx: &Ctx) {
        if self.sched_aux.is_some() {
            let was = self.members.binary_search_by_key(&ch.agent, |m| m.0).ok().map(|i| self.members[i].1);
            if was == Some(Kind::AuxUnplanned) || ch.to == Some(Kind::AuxUnplanned) {
                self.sched_aux = None;
            }
        }
        match self.members.binary_search_by_key(&ch.agent, |m| m.0) {
            Ok(i) => {
                self.counts.remove(self.members[i].1);
                match ch.to {
                    Some(k) => {
                        self.members[i].1 = k;
                        self.counts.add(k);
                    }
                    None => {
                        self.members.remove(i);
                        self.members_changed(ch, ctx);
                        self.members_gen += 1;
                        self.staffing_change(ch.agent, false);
                    }
                }
            }
            Err(i) => {
                if let Some(k) = ch.to {
                    self.members.insert(i, (ch.agent, k));
                    self.counts.add(k);
                    self.members_changed(ch, ctx);
                    self.members_gen += 1;
                    self.staffing_change(ch.agent, true);
                }
            }
        }
    }

    /// Agent `ch.agent` joined or left the members at `ch.t`: the integrals' differences
    /// stop being the members' hour (`members_since`), unless the agent was neither
    /// talking nor logged in in the hour before `ch.t`. Then it adds nothing to any hour
    /// the minute rule will ask (each ends at or after the clock) before `ch.t`, in the
    /// integrals or in its timeline, and the two still agree: a first login of the day,
    /// which every member makes in the morning, no longer has every member's timeline
    /// read at each minute of the team's next hour (BENCHMARKS.md, session 18). An
    /// agent's timeline before its last event is final (an older event is refused).
    fn members_changed(&mut self, ch: Change, ctx: &Ctx) {
        if member_hour(ctx, ch.agent, ch.t) != (0, 0) {
            self.members_since = ch.t;
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

    /// Whether the team is large enough for its minute utilization to be evaluated.
    fn util_possible(&self, s: &Settings) -> bool {
        self.counts.logged_in() >= s.min_team
    }

    /// Whether a whole-minute evaluation could change anything now.
    fn ticking(&self, s: &Settings) -> bool {
        let disp_possible = self.peak_now() && self.members.len() as u32 >= s.disp_min_members;
        let util_possible = self.util_possible(s);
        disp_possible || !self.disp.idle() || util_possible || !self.util.idle()
    }

    fn reconfigure(&mut self, settings: &Settings) {
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

    /// The aux_cluster condition at instant `a`, and the next instant it may change without
    /// a change of the team (a member's schedule piece starting: `OPEN` for none).
    fn cluster_condition(&mut self, peak: bool, a: Ms, ctx: &mut Ctx) -> (bool, Ms) {
        let s = ctx.settings;
        let n = self.counts.logged_in();
        let gate = |k: u32| {
            n >= s.min_team && k >= s.cluster_min_agents && n > 0 && (k as f64 / n as f64) >= s.cluster_share - 1e-9
        };
        let mut k = self.counts.aux_unplanned();
        if !peak || !gate(k) {
            return (false, OPEN);
        }
        // Scheduled aux is planned (SPEC §9.2). Looked at only when the members' unplanned
        // aux alone would pass the gate: taking some out can only close it.
        let mut next = OPEN;
        if !ctx.roster.is_empty() {
            let (scheduled, at) = self.scheduled_aux(a, ctx);
            k -= scheduled as u32;
            next = at;
            if !gate(k) {
                return (false, next);
            }
        }
        let cond =
            *ctx.binom.entry((n, k)).or_insert_with(|| binomial::tail(n, k, s.cluster_baseline) < s.cluster_alpha);
        (cond, next)
    }

    /// How many members in unplanned aux at instant `a` have a schedule that allows it then
    /// (planned, SPEC §9.2; kept in `sched_aux`), and the first instant after `a` at which
    /// one of the members in unplanned aux has a schedule piece starting (`OPEN`: none). A
    /// pure function of the members' kinds at `a` and their roster (schedule and state
    /// log), so a re-evaluation from a checkpoint gives the same answer.
    fn scheduled_aux(&mut self, a: Ms, ctx: &Ctx) -> (usize, Ms) {
        if ctx.roster.is_empty() || self.counts.aux_unplanned() == 0 {
            return (0, OPEN);
        }
        if let Some((from, until, list)) = &self.sched_aux
            && *from <= a
            && a < *until
        {
            return (list.len(), *until);
        }
        let mut list = Vec::new();
        let mut next = OPEN;
        for &(i, k) in &self.members {
            if k != Kind::AuxUnplanned {
                continue;
            }
            if let Some(slot) = scheduled_slot(ctx, i) {
                let (yes, at) = ctx.roster.scheduled_aux_at(slot, a);
                if yes {
                    list.push(i);
                }
                next = next.min(at);
            }
        }
        let n = list.len();
        self.sched_aux = Some((a, next, list));
        (n, next)
    }

    /// Processes [clock, t). A `t` at or before `clock` changes nothing.
    pub fn advance_to(&mut self, team: &str, t: Ms, ctx: &mut Ctx) {
        while self.clock < t {
            let a = self.clock;
            let next = self.instant(team, a, ctx);
            self.next_switch = next;
            let b = next.min(t);
            // The minutes' integrals first: a tick at m reads the one at m - 1 h, which may
            // lie in [a, b) itself.
            let util_possible = self.util_possible(ctx.settings);
            self.pass_minutes(a, b, util_possible);
            self.ticks(team, a, b, ctx);
            while self.minutes.len() > KEPT_MINUTES {
                self.minutes.pop_front();
            }
            self.integral = self.integral.plus(&self.counts, b - a);
            self.clock = b;
        }
    }

    /// Keeps the integrals at the whole minutes in [a, b) (the counts constant over it,
    /// `integral` at `a`): all of them when minute utilizations may be evaluated in it, else
    /// the last [`KEPT_MINUTES`] (all that later minutes read).
    fn pass_minutes(&mut self, a: Ms, b: Ms, all: bool) {
        let first = a.div_euclid(60_000) * 60_000 + if a.rem_euclid(60_000) == 0 { 0 } else { 60_000 };
        if first >= b {
            return;
        }
        let last = (b - 1).div_euclid(60_000) * 60_000;
        let from = if all { first } else { first.max(last - (KEPT_MINUTES as Ms - 1) * 60_000) };
        if self.minutes.back().is_some_and(|&(m, _)| m + 60_000 != from) {
            self.minutes.clear();
        }
        let mut m = from;
        while m <= last {
            self.minutes.push_back((m, self.integral.plus(&self.counts, m - a)));
            m += 60_000;
        }
    }

    /// Talk and logged-in milliseconds of the members over the hour before minute `m`
    /// (clock ≤ m, counts constant from clock to m) from the integrals, when the members
    /// have not changed in it and the minute an hour back is kept.
    fn hour_from_integrals(&self, m: Ms) -> Option<(u64, u64)> {
        let start = m - UTIL_WINDOW_MS;
        if self.members_since > start {
            return None;
        }
        let &(m0, _) = self.minutes.front()?;
        let (at, then) = *self.minutes.get(usize::try_from((start - m0).div_euclid(60_000)).ok()?)?;
        debug_assert_eq!(at, start);
        let now = self.integral.plus(&self.counts, m - self.clock);
        Some(now.since(then))
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
        let (cond, sched_next) = self.cluster_condition(peak, a, ctx);
        next = next.min(sched_next);
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
            // Those in unplanned aux at `at`, less those on scheduled aux (SPEC §9.2).
            let (n_scheduled, _) = self.scheduled_aux(at, ctx);
            let scheduled = match (&self.sched_aux, n_scheduled) {
                (_, 0) | (None, _) => Vec::new(),
                (Some(c), _) => c.2.clone(),
            };
            let n = self.counts.logged_in();
            let k = self.counts.aux_unplanned() - n_scheduled as u32;
            let share = if n > 0 { k as f64 / n as f64 } else { 0.0 };
            let mut agents: Vec<String> = self
                .members
                .iter()
                .filter(|m| m.1 == Kind::AuxUnplanned && !scheduled.contains(&m.0))
                .map(|&(i, _)| ctx.agents.get(i).id.to_string())
                .collect();
            agents.sort_unstable();
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
            self.members.iter().filter(|m| pick(m.1)).map(|&(i, _)| agents.get(i).id.to_string()).collect();
        v.sort_unstable();
        v
    }

    /// Whole-minute evaluations at minutes in [a, b) (state constant over [a, b)).
    fn ticks(&mut self, team: &str, a: Ms, b: Ms, ctx: &mut Ctx) {
        let s = ctx.settings;
        let peak = self.peak_now();
        let disp_possible = peak && self.members.len() as u32 >= s.disp_min_members;
        let util_possible = self.util_possible(s);
        if (!disp_possible && self.disp.idle()) && (!util_possible && self.util.idle()) {
            return;
        }
        let mut m = a.div_euclid(60_000) * 60_000;
        if m < a {
            m += 60_000;
        }
        if util_possible && m < b {
            self.staffing_for(ctx);
        }
        while m < b {
            let disp_cond = disp_possible && self.disp_condition(m, ctx);
            let util_cond = if util_possible { self.utilization(team, m, ctx) } else { None };
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
                    let u = self.utilization(team, m, ctx).unwrap_or(0.0);
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

    /// Team 60-minute talk utilization at minute m (members and states in force at m). Team
    /// `unassigned`'s members at m include the scheduled agents not seen by m, offline,
    /// whose staffed time is their scheduled time, as its snapshot lists them (SPEC §9.2).
    fn utilization(&self, team: &str, m: Ms, ctx: &Ctx) -> Option<f64> {
        let (talk, logged) = match self.hour_from_integrals(m) {
            Some(x) => {
                // Every test run checks the shortcut against the definition.
                debug_assert_eq!(x, self.hour_from_timelines(m, ctx), "integrals and timelines disagree at {m}");
                #[cfg(test)]
                UTIL_PATHS.with(|c| c.set((c.get().0 + 1, c.get().1)));
                x
            }
            None => {
                #[cfg(test)]
                UTIL_PATHS.with(|c| c.set((c.get().0, c.get().1 + 1)));
                self.hour_from_timelines(m, ctx)
            }
        };
        // With a roster, a scheduled member's staffed time is its scheduled time (SPEC §9.2).
        let staffed = if ctx.roster.is_empty() { logged } else { self.staffed_with_roster(m, ctx, logged) };
        let no_shows = if team == UNASSIGNED && !ctx.roster.is_empty() {
            ctx.roster.unseen_scheduled_ms(m - UTIL_WINDOW_MS, m, m).max(0) as u64
        } else {
            0
        };
        let staffed = staffed + no_shows;
        (staffed > 0).then(|| talk as f64 / staffed as f64)
    }

    /// Makes `staffing` again unless it is for the members and roster of now: from the
    /// one there, with the members that joined or left since, when it is for the roster of
    /// now and every change of the members since it was made is in `staffing_changes`.
    fn staffing_for(&mut self, ctx: &Ctx) {
        if ctx.roster.is_empty() {
            return;
        }
        let key = (self.members_gen, ctx.roster.generation());
        let changes = std::mem::take(&mut self.staffing_changes);
        match &self.staffing {
            Some(p) if p.key == key => {}
            Some(p) if p.key.1 == key.1 && p.key.0 + changes.len() as u64 == key.0 => {
                let next = p.updated(key, &changes, ctx);
                #[cfg(debug_assertions)]
                {
                    let full = Staffing::new(key, &self.members, ctx);
                    debug_assert_eq!(
                        (&next.scheduled, &next.unscheduled, &next.steps),
                        (&full.scheduled, &full.unscheduled, &full.steps),
                        "the summed schedule updated with {changes:?}"
                    );
                }
                self.staffing = Some(Arc::new(next));
            }
            _ => self.staffing = Some(Arc::new(Staffing::new(key, &self.members, ctx))),
        }
    }

    /// Notes that `agent` joined or left the members, for [`DetState::staffing_for`]. Past
    /// as many changes as members, `staffing` is made again from the members instead.
    fn staffing_change(&mut self, agent: AgentIdx, joined: bool) {
        if self.staffing.is_none() {
            return;
        }
        if self.staffing_changes.len() >= self.members.len().max(16) {
            self.staffing = None;
            self.staffing_changes = Vec::new();
            return;
        }
        self.staffing_changes.push((agent, joined));
    }

    /// The members' staffed milliseconds over the hour before `m`: `logged` (their
    /// logged-in time) with each scheduled member's logged-in time replaced by its scheduled
    /// time, from the summed schedule (`staffing`, made for the members at `m` by `ticks`).
    ///
    /// The same integer either way round: the scheduled time plus the unscheduled members'
    /// logged-in time, or `logged` plus the scheduled time less the scheduled members'
    /// logged-in time; the timelines are read for the fewer (on a floor where everyone is
    /// scheduled, none).
    fn staffed_with_roster(&self, m: Ms, ctx: &Ctx, logged: u64) -> u64 {
        let from = m - UTIL_WINDOW_MS;
        let logged_in = |i: AgentIdx| member_hour(ctx, i, m).1;
        // Made by `ticks` before a minute's utilization; the definition otherwise.
        let Some(p) = self.staffing.as_deref().filter(|p| p.key == (self.members_gen, ctx.roster.generation())) else {
            debug_assert!(false, "no staffing for the members at {m}");
            return self.staffed_by_member(m, ctx, logged).max(0) as u64;
        };
        let scheduled = p.between(from, m);
        let staffed = if 2 * p.scheduled.len() > self.members.len() {
            scheduled + p.unscheduled.iter().map(|&i| logged_in(i)).sum::<i64>()
        } else {
            logged as i64 + scheduled - p.scheduled.iter().map(|&i| logged_in(i)).sum::<i64>()
        };
        debug_assert_eq!(staffed, self.staffed_by_member(m, ctx, logged), "the summed schedule at {m}");
        staffed.max(0) as u64
    }

    /// `logged` with each scheduled member's logged-in time replaced by its scheduled
    /// time, member by member (the definition, which debug builds compare with).
    fn staffed_by_member(&self, m: Ms, ctx: &Ctx, logged: u64) -> i64 {
        let from = m - UTIL_WINDOW_MS;
        let mut staffed = logged as i64;
        for &(i, _) in &self.members {
            if let Some(slot) = scheduled_slot(ctx, i) {
                staffed += ctx.roster.scheduled_ms(slot, from, m) - member_hour(ctx, i, m).1;
            }
        }
        staffed
    }

    /// Talk and logged-in milliseconds over the hour before minute `m`, summed over the
    /// members' timelines.
    fn hour_from_timelines(&self, m: Ms, ctx: &Ctx) -> (u64, u64) {
        let (mut talk, mut logged) = (0, 0);
        for &(i, _) in &self.members {
            let (t, l) = member_hour(ctx, i, m);
            talk += t as u64;
            logged += l as u64;
        }
        (talk, logged)
    }

    /// Peak intervals of this team clipped to [from, to).
    pub fn peak_intervals(&self, from: Ms, to: Ms) -> impl Iterator<Item = (Ms, Ms)> + '_ {
        let start = self.peaks.partition_point(|p| p.1 <= from);
        self.peaks[start..].iter().map(move |&(s, e)| (s.max(from), e.min(to))).filter(|(s, e)| e > s)
    }

    fn peak_dispersion(&mut self, m: Ms, ctx: &mut Ctx) -> (Spread, Vec<(AgentIdx, f64)>) {
        let midnight = ctx.cal.midnight(m);
        // What the last call summed holds for the peak time before its minute if that was
        // today, not after `m`, and the peak intervals before it are still the same.
        let mut moved = std::mem::take(&mut self.moved);
        let kept = moved.midnight == midnight
            && moved.upto <= m
            && self.peak_intervals(midnight, moved.upto).eq(moved.peaks.iter().copied());
        moved.members.resize(self.members.len(), (AgentIdx::MAX, u32::MAX, 0, 0));
        let kept_durations = kept && moved.members_gen == self.members_gen;
        moved.durations.resize(self.members.len(), (0, [0; 6]));
        let roster = !ctx.roster.is_empty();
        let mut q = Vec::new();
        for k in 0..self.members.len() {
            // Each member's record, and with a roster what this reads of it there, asked
            // for a few members ahead: read one after another, each was a cache miss.
            if let Some(&(j, _)) = self.members.get(k + MEMBERS_AHEAD) {
                ctx.agents.prefetch(j);
                if roster {
                    ctx.roster.prefetch_member(j, moved.members[k + MEMBERS_AHEAD].1);
                }
            }
            let (i, _) = self.members[k];
            let kept_sum = &mut moved.members[k];
            // Only durations: an aux ratio needs no contacts (finding them was half the cost).
            let a = ctx.agents.get(i);
            let tl = &a.timeline;
            let (from, mut ms) = if kept_durations { moved.durations[k] } else { (midnight, [0; 6]) };
            let add = |ms: &mut Durations, (s, e): (Ms, Ms)| {
                for (x, y) in ms.iter_mut().zip(tl.durations(s, e)) {
                    *x += y;
                }
            };
            let fin = tl.tail().clamp(from, m);
            self.peak_intervals(from, fin).for_each(|p| add(&mut ms, p));
            moved.durations[k] = (fin, ms);
            self.peak_intervals(fin, m).for_each(|p| add(&mut ms, p));
            #[cfg(debug_assertions)]
            {
                let mut all = [0; 6];
                self.peak_intervals(midnight, m).for_each(|p| add(&mut all, p));
                debug_assert_eq!(ms, all, "durations of {} over peak time before {m}", a.id);
            }
            let mut sums = Sums { ms, ..Default::default() };
            // Only members who may be in scheduled aux since the last sum: the others'
            // records are not read (`Roster::may_have_scheduled_aux`), by interval too (a
            // member's breaks of the morning leave the afternoon's peak intervals unread).
            // By the agent slot as remembered: its id (another cache line of its record,
            // read only to look the slot up) is not read, which with a roster was half
            // this rule's time over a day (BENCHMARKS.md, session 27).
            let slot = match roster {
                false => None,
                true => ctx.roster.slot_of_with(i, || a.id.as_str()),
            };
            let aux_gen = slot.map_or(0, |s| ctx.roster.aux_generation(s));
            let (mut sched, from) = match *kept_sum {
                (agent, _, g, sum) if kept && agent == i && g == aux_gen => (sum, moved.upto),
                _ => (0, midnight),
            };
            if let Some(slot) = slot.filter(|&s| ctx.roster.may_have_scheduled_aux(s, from, m)) {
                for (s, e) in self.peak_intervals(from, m) {
                    if ctx.roster.may_have_scheduled_aux(slot, s, e) {
                        sched += ctx.roster.scheduled_aux_ms(slot, s, e);
                    }
                }
            }
            *kept_sum = (i, slot.unwrap_or(u32::MAX), aux_gen, sched);
            #[cfg(debug_assertions)]
            if let Some(s) = slot {
                let all: Ms = self.peak_intervals(midnight, m).map(|(x, y)| ctx.roster.scheduled_aux_ms(s, x, y)).sum();
                debug_assert_eq!(sched, all, "scheduled aux of {} over peak time before {m}", a.id);
            }
            // Scheduled aux is planned (SPEC §9.2), as in the snapshot's `peak_today`.
            if sched > 0 {
                sums.with_schedule(crate::roster::AdhSums { scheduled_aux: sched, ..Default::default() });
            }
            if sums.logged_in() >= ctx.settings.dispersion_min_logged_ms && sums.logged_in() > 0 {
                q.push((i, sums.aux_ratio().unwrap_or(0.0)));
            }
        }
        moved.midnight = midnight;
        moved.upto = m;
        moved.members_gen = self.members_gen;
        moved.peaks.clear();
        moved.peaks.extend(self.peak_intervals(midnight, m));
        self.moved = moved;
        let ratios: Vec<f64> = q.iter().map(|x| x.1).collect();
        (Spread::of(&ratios), q)
    }

    fn disp_condition(&mut self, m: Ms, ctx: &mut Ctx) -> bool {
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
            self.moved = Moved::default();
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
        queue: None,
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
        interval: None,
        retracted: false,
    }
}

/// The roster slot of a member with a schedule, if any.
fn scheduled_slot(ctx: &Ctx, i: AgentIdx) -> Option<u32> {
    if ctx.roster.is_empty() {
        return None;
    }
    // By the engine's agent slot, as the engine last found it: no hash of the id, and
    // the agent's record is not read.
    ctx.roster.slot_of_with(i, || ctx.agents.get(i).id.as_str()).filter(|&s| ctx.roster.has_rows(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FileConfig;
    use crate::event::State;
    use crate::floor::agents::Agent;
    use crate::floor::timeline::Timeline;
    use crate::time::{fmt_ms, parse_rfc3339};

    const DAY: &str = "2026-11-23";

    fn at(hms: &str) -> Ms {
        let t = if hms.len() == 5 { format!("{hms}:00") } else { hms.to_string() };
        parse_rfc3339(&format!("{DAY}T{t}Z")).unwrap_or_else(|| panic!("bad time {hms}"))
    }

    fn hms(ms: Ms) -> String {
        if ms == OPEN {
            return "open".into();
        }
        let s = fmt_ms(ms);
        let t = &s[11..23];
        t.strip_suffix(".000").unwrap_or(t).to_string()
    }

    fn kind(word: &str) -> Option<Kind> {
        Some(match word {
            "talking" => Kind::Talking,
            "acw" => Kind::Acw,
            "aux" => Kind::AuxUnplanned,
            "planned" => Kind::AuxPlanned,
            "idle" => Kind::Idle,
            "offline" => Kind::Offline,
            "leave" => return None,
            other => panic!("no kind {other}"),
        })
    }

    /// `A03` or `A00-A11`.
    fn agents_of(spec: &str) -> Vec<String> {
        match spec.split_once('-') {
            None => vec![spec.to_string()],
            Some((a, b)) => {
                let (p, x) = a.split_at(1);
                let (x, y): (usize, usize) = (x.parse().unwrap(), b[1..].parse().unwrap());
                (x..=y).map(|i| format!("{p}{i:02}")).collect()
            }
        }
    }

    pub(super) fn agent(id: &str, t: Ms) -> Agent {
        Agent {
            id: id.into(),
            name: None,
            team: 0,
            member_pos: 0,
            state: State::Idle,
            reason: None,
            kind: Kind::Idle,
            since: t,
            seg_start: t,
            last_ts: t,
            last_seq: None,
            timeline: Timeline::new(),
            aux_entry: None,
            long_aux_alert: None,
        }
    }

    fn describe(ch: &AlertChange) -> String {
        let started = |id: &str| hms(id.rsplit(':').next().unwrap().parse().unwrap());
        match ch {
            AlertChange::Fired(a) => {
                format!("fire {} {} {}", a.kind.as_str(), hms(a.started_at), hms(a.fired_at))
            }
            AlertChange::Resolved { id, at } => {
                format!("resolve {} {} {}", id.split(':').next().unwrap(), started(id), hms(*at))
            }
        }
    }

    /// A team's detectors alone, fed changes as the engine records them (SPEC §4.1, §4.2,
    /// §2.5): each case is lines `HH:MM[:SS[.mmm]] A00-A11 kind` (kinds `talking`, `acw`,
    /// `aux` (unplanned), `planned`, `idle`, `offline`, `leave`) and `advance HH:MM` in
    /// delivery order, then the team advanced to `now`; expected are the alert changes put
    /// out, in order (`fire kind started fired`, `resolve kind started at`, and `rewind
    /// from` where a late change made the team re-evaluate), and the peak intervals.
    struct Case {
        name: &'static str,
        cfg: &'static str,
        lines: &'static [&'static str],
        now: &'static str,
        changes: &'static [&'static str],
        peaks: &'static [(&'static str, &'static str)],
    }

    /// What a detector's context borrows, owned.
    pub(super) struct Fixture {
        pub settings: Settings,
        pub cal: Calendar,
        pub agents: Agents,
        pub binom: HashMap<(u32, u32), bool>,
        pub out: Vec<AlertChange>,
        pub roster: crate::roster::Roster,
    }

    impl Fixture {
        pub(super) fn new(settings: Settings, roster: crate::roster::Roster) -> Fixture {
            let cal = Calendar::new(settings.tz.clone(), settings.peak_windows.clone());
            Fixture { settings, cal, agents: Agents::default(), binom: HashMap::new(), out: Vec::new(), roster }
        }

        pub(super) fn ctx(&mut self) -> Ctx<'_> {
            Ctx {
                settings: &self.settings,
                cal: &mut self.cal,
                agents: &self.agents,
                binom: &mut self.binom,
                out: &mut self.out,
                roster: &self.roster,
            }
        }
    }

    fn check(c: &Case) {
        let settings = FileConfig::parse(c.cfg, "t").unwrap().settings().unwrap();
        let mut f = Fixture::new(settings, crate::roster::Roster::new(Default::default()));
        let mut got: Vec<String> = Vec::new();
        let mut det = TeamDet::new(&f.settings, f.cal.midnight(at("00:00")));
        for line in c.lines {
            let w: Vec<&str> = line.split_whitespace().collect();
            if w[0] == "advance" {
                if let Some(from) = det.advance_to("T1", at(w[1]), &mut f.ctx()) {
                    got.push(format!("rewind {}", hms(from)));
                }
                got.extend(f.out.drain(..).map(|ch| describe(&ch)));
                continue;
            }
            let t = at(w[0]);
            for id in agents_of(w[1]) {
                let ai = match f.agents.find(&id) {
                    Some(i) => i,
                    None => f.agents.insert(agent(&id, t)),
                };
                let to = kind(w[2]);
                if let Some(k) = to {
                    f.agents.get_mut(ai).timeline.change(t, k);
                }
                det.record(Change { t, agent: ai, to });
            }
        }
        if let Some(from) = det.advance_to("T1", at(c.now), &mut f.ctx()) {
            got.push(format!("rewind {}", hms(from)));
        }
        got.extend(f.out.drain(..).map(|ch| describe(&ch)));
        assert_eq!(got, c.changes, "{}: alert changes", c.name);
        let peaks: Vec<(String, String)> = det.peaks.iter().map(|&(s, e)| (hms(s), hms(e))).collect();
        let want: Vec<(String, String)> = c.peaks.iter().map(|&(s, e)| (s.to_string(), e.to_string())).collect();
        assert_eq!(peaks, want, "{}: peaks", c.name);
    }

    /// Peak 09:00-12:00, minute rules out of the way.
    const PEAK9: &str = "[peak]\nwindows = [\"09:00-12:00\"]\n[alerts.aux_dispersion]\nmin_peak_secs = 86400\n\
                         [alerts.utilization_high]\nhigh = 1.0\n";
    const LOAD: &str = "[peak]\nwindows = []\nbusy_share = 0.5\nhold_secs = 300\n\
                        [alerts.utilization_high]\nhigh = 1.0\n";
    const UTIL: &str = "[peak]\nwindows = []\n[alerts.utilization_high]\nhigh = 0.5\n";

    #[test]
    fn team_detectors() {
        let cases = [
            Case {
                name: "cluster: hold met, resolved a hold after it ends",
                cfg: PEAK9,
                lines: &["09:00 A00-A11 idle", "09:40 A00-A03 aux", "09:50 A00 idle"],
                now: "10:00",
                changes: &["fire aux_cluster 09:40:00 09:41:00", "resolve aux_cluster 09:40:00 09:51:00"],
                peaks: &[("09:00:00", "open")],
            },
            Case {
                name: "cluster: hold missed by 1 ms",
                cfg: PEAK9,
                lines: &["09:00 A00-A11 idle", "09:40 A00-A03 aux", "09:40:59.999 A00 idle"],
                now: "10:00",
                changes: &[],
                peaks: &[("09:00:00", "open")],
            },
            Case {
                name: "cluster: planned aux and a member leaving the team",
                cfg: PEAK9,
                lines: &[
                    "09:00 A00-A11 idle",
                    "09:40 A00-A02 aux",
                    "09:40 A03 planned",
                    "09:45 A04 aux",
                    "09:50 A04 leave",
                ],
                now: "10:00",
                changes: &["fire aux_cluster 09:45:00 09:46:00", "resolve aux_cluster 09:45:00 09:51:00"],
                peaks: &[("09:00:00", "open")],
            },
            Case {
                name: "cluster: a late change re-evaluates from the checkpoint before it",
                cfg: PEAK9,
                lines: &["09:00 A00-A11 idle", "09:30 A00-A02 aux", "09:40 A03 aux", "advance 09:45", "09:36 A04 aux"],
                now: "09:50",
                changes: &[
                    "fire aux_cluster 09:40:00 09:41:00",
                    "rewind 09:35:00",
                    "fire aux_cluster 09:36:00 09:37:00",
                ],
                peaks: &[("09:00:00", "open")],
            },
            Case {
                name: "cluster: a feed behind the clock re-evaluates from just after its last change",
                cfg: PEAK9,
                lines: &[
                    "09:00 A00-A11 idle",
                    "advance 09:04",
                    "09:01 A00-A02 aux",
                    "advance 09:04:30",
                    "09:02 A03 aux",
                    "advance 09:04:45",
                    "09:02 A04 aux",
                ],
                now: "09:04:50",
                changes: &[
                    // The first late change: from the grid (nothing was late before).
                    "rewind 09:00:00",
                    "rewind 09:01:00.001",
                    "fire aux_cluster 09:02:00 09:03:00",
                    // One at the instant of the last change: from the checkpoint before.
                    "rewind 09:01:00.001",
                    "fire aux_cluster 09:02:00 09:03:00",
                ],
                peaks: &[("09:00:00", "open")],
            },
            Case {
                name: "cluster: a feed behind the clock across the checkpoint grid",
                cfg: PEAK9,
                lines: &[
                    "09:00 A00-A11 idle",
                    "advance 09:02",
                    "09:00:30 A11 talking",
                    "09:03 A00-A02 aux",
                    "advance 09:06",
                    "09:04 A03 aux",
                ],
                now: "09:07",
                changes: &["rewind 09:00:00", "rewind 09:03:00.001", "fire aux_cluster 09:04:00 09:05:00"],
                peaks: &[("09:00:00", "open")],
            },
            Case {
                name: "peak window edges: closed-open",
                cfg: PEAK9,
                lines: &["08:00 A00-A11 idle", "11:59 A00-A03 aux"],
                now: "12:30",
                changes: &["fire aux_cluster 11:59:00 12:00:00", "resolve aux_cluster 11:59:00 12:01:00"],
                peaks: &[("09:00:00", "12:00:00")],
            },
            Case {
                name: "load peak: enters at t0 + hold, exits at t1 + hold",
                cfg: LOAD,
                lines: &["09:00 A00-A09 idle", "10:00 A00-A04 talking", "10:30 A00 idle"],
                now: "11:00",
                changes: &[],
                peaks: &[("10:05:00", "10:35:00")],
            },
            Case {
                name: "load peak: dips and rises shorter than the hold",
                cfg: LOAD,
                lines: &[
                    "09:00 A00-A09 idle",
                    "10:00 A00-A04 talking",
                    "10:04:59.999 A00 idle",
                    "10:05 A00 talking",
                    "10:20 A00 idle",
                    "10:24:59.999 A00 talking",
                ],
                now: "10:30",
                changes: &[],
                peaks: &[("10:10:00", "open")],
            },
            Case {
                name: "load peak: a late talker moves the entry back",
                cfg: LOAD,
                lines: &["09:00 A00-A09 idle", "10:00 A00-A03 talking", "advance 10:20", "10:00 A04 talking"],
                now: "10:30",
                changes: &["rewind 10:00:00"],
                peaks: &[("10:05:00", "open")],
            },
            Case {
                name: "utilization_high: 3 minutes above fire, 3 at or below resolve",
                cfg: UTIL,
                lines: &["09:00 A00-A04 talking", "09:10 A00-A04 idle"],
                now: "09:30",
                changes: &["fire utilization_high 09:01:00 09:03:00", "resolve utilization_high 09:01:00 09:22:00"],
                peaks: &[],
            },
        ];
        for c in &cases {
            check(c);
        }
    }

    /// 100,000 members scheduled from 1970 to the last instant a roster takes, and 50,000
    /// more for the last hour of it: their running sums overflow an `i64` many times over,
    /// yet every hour's staffed time is exact (it panicked in debug builds, and was wrong
    /// in release builds, before the sums wrapped).
    #[test]
    fn staffing_is_exact_when_its_running_sums_overflow() {
        const H: Ms = 3_600_000;
        let end = crate::time::MAX_MS;
        let steps = steps_of(&[(0, 100_000), (end - H, 50_000), (end, -150_000)]);
        let p =
            Staffing { key: (0, 0), scheduled: Vec::new(), unscheduled: Vec::new(), steps, hints: Default::default() };
        assert_eq!(p.between(H, 2 * H), 100_000 * H);
        assert_eq!(p.between(end / 2, end / 2 + H), 100_000 * H);
        assert_eq!(p.between(end - 2 * H, end - H), 100_000 * H);
        assert_eq!(p.between(end - H - H / 2, end - H / 2), 100_000 * H + 50_000 * H / 2);
        assert_eq!(p.between(end - H, end), 150_000 * H);
        assert_eq!(p.between(end - H / 2, end + H / 2), 150_000 * H / 2);
        assert_eq!(p.between(end, end + H), 0);
    }

    /// An hour of a team's integrals read across the wrap of their `u64`s.
    #[test]
    fn integrals_are_exact_across_their_wrap() {
        let mut counts = Counts::default();
        for k in [Kind::Talking, Kind::Talking, Kind::Idle] {
            counts.add(k);
        }
        const H: Ms = 3_600_000;
        let then = Integral { talk: u64::MAX - H as u64, logged: u64::MAX - 7 };
        assert_eq!(then.plus(&counts, H).since(then), (2 * H as u64, 3 * H as u64));
        // 75,000 members logged in for 8,000 years: the products wrap as well.
        let mut crowd = Counts::default();
        (0..75_000).for_each(|_| crowd.add(Kind::Idle));
        let long = 8_000 * 365 * 24 * H;
        let later = Integral::default().plus(&crowd, long);
        assert_eq!(later.plus(&crowd, H).since(later), (0, 75_000 * H as u64));
    }

    /// The step search from a hint finds what a search of every step does, whatever the
    /// hint and however far the instant moved.
    #[test]
    fn staffing_finds_its_step_from_any_hint() {
        let steps: Vec<(Ms, i64, i64)> = [0, 10, 10, 20, 35, 36, 37, 38, 39, 50, 90]
            .iter()
            .scan(0, |cum, &t| {
                *cum += t;
                Some((t * 60_000, 1, *cum))
            })
            .collect();
        let p =
            Staffing { key: (0, 0), scheduled: Vec::new(), unscheduled: Vec::new(), steps, hints: Default::default() };
        for h in 0..p.steps.len() + 3 {
            for minute in -2..100 {
                for t in [minute * 60_000 - 1, minute * 60_000, minute * 60_000 + 1] {
                    let want = p.steps.partition_point(|s| s.0 <= t);
                    assert_eq!(p.steps_upto(t, h), want, "{t} from {h}");
                }
            }
        }
    }
}

/// [`Staffing::updated`] against [`Staffing::new`] (the definition), outside debug builds'
/// own check of every update.
#[cfg(test)]
mod staffing_tests {
    use proptest::prelude::*;

    use super::*;
    use crate::roster::{Roster, Row, parse::Upload};

    const MIN: Ms = 60_000;

    proptest! {
        /// Members joining and leaving in any order (some with no schedule, some with
        /// shifts that touch, overlap or last past any end a roster takes, so that a few
        /// overflow the running sums), the sum kept up to date batch by
        /// batch of changes: the same members, the same steps and the same staffed time at
        /// every minute as the sum made afresh.
        #[test]
        fn an_updated_sum_is_the_sum_made_afresh(
            schedules in prop::collection::vec(
                prop::collection::vec((0i64..120, 1i64..90, prop::bool::weighted(0.1)), 0..4),
                1..10,
            ),
            batches in prop::collection::vec(prop::collection::vec(0usize..10, 0..5), 1..12),
        ) {
            let settings = crate::config::FileConfig::parse("", "t").unwrap().settings().unwrap();
            let mut roster = Roster::new(Default::default());
            let up = Upload {
                agents: schedules
                    .iter()
                    .enumerate()
                    .filter(|(_, rows)| !rows.is_empty())
                    .map(|(k, rows)| {
                        let rows = rows
                            .iter()
                            .map(|&(s, len, open)| Row {
                                start: s * MIN,
                                end: if open { Ms::MAX / 4 } else { (s + len) * MIN },
                                act: None,
                            })
                            .collect();
                        (format!("A{k}").into(), rows)
                    })
                    .collect(),
            };
            roster.upload(&up, 1000, &mut |t| t.div_euclid(86_400_000) as i32).unwrap();
            let mut f = super::tests::Fixture::new(settings, roster);
            let idx: Vec<AgentIdx> = (0..schedules.len())
                .map(|k| f.agents.insert(super::tests::agent(&format!("A{k}"), 0)))
                .collect();
            let ctx = f.ctx();
            let mut members: Vec<(AgentIdx, Kind)> = Vec::new();
            let mut version = 0;
            let mut sum = Staffing::new((version, 0), &members, &ctx);
            for batch in batches {
                let mut changes = Vec::new();
                for k in batch.into_iter().filter(|&k| k < idx.len()) {
                    let i = idx[k];
                    match members.binary_search_by_key(&i, |m| m.0) {
                        Ok(p) => {
                            members.remove(p);
                            changes.push((i, false));
                        }
                        Err(p) => {
                            members.insert(p, (i, Kind::Idle));
                            changes.push((i, true));
                        }
                    }
                    version += 1;
                }
                sum = sum.updated((version, 0), &changes, &ctx);
                let fresh = Staffing::new((version, 0), &members, &ctx);
                prop_assert_eq!(&sum.scheduled, &fresh.scheduled);
                prop_assert_eq!(&sum.unscheduled, &fresh.unscheduled);
                prop_assert_eq!(&sum.steps, &fresh.steps);
                for m in -1..260 {
                    let want: Ms = fresh
                        .scheduled
                        .iter()
                        .map(|&i| {
                            let slot = ctx.roster.slot(&ctx.agents.get(i).id).unwrap();
                            ctx.roster.scheduled_ms(slot, (m - 60) * MIN, m * MIN)
                        })
                        .sum();
                    prop_assert_eq!(sum.between((m - 60) * MIN, m * MIN), want, "minute {}", m);
                }
            }
        }
    }
}
