//! The engine: applies events (SPEC §2.2 outcomes), keeps agents, teams and alerts, and
//! answers figures at any `now`. Pure: no I/O, no clock of its own (time is passed in), and
//! it cannot fail — bad input was rejected at the edge.

use std::collections::{BTreeMap, HashMap};

use super::agents::{Agent, AgentIdx, Agents, Counts, TeamIdx};
use super::figures::{Dispersion, Qualifying, Sums};
use super::timeline::{Kind, Timeline};
use std::sync::Arc;

use crate::alert::{Alert, AlertKind, AlertState, StoredAlert};
use crate::config::{ClockMode, Settings, WindowKind};
use crate::detect::calendar::Calendar;
use crate::detect::team::{AlertChange, Ctx, TeamDet, new_alert};
use crate::event::{Event, State, UNASSIGNED};
use crate::time::Ms;

mod handle;
mod persist;
pub use handle::{HANDLE_BUCKETS_S, HandleTimes};
pub use persist::RestoreError;

/// Receives the engine's own state-changing steps that are not events (time advancing,
/// housekeeping), in order, so a journal can replay them exactly. Batches of events are
/// journaled by the caller of [`Engine::apply_batch`] before it applies them.
pub trait OpLog: Send {
    fn advance(&mut self, now: Ms);
    fn housekeeping(&mut self);
}

/// Where events come from; outcomes are counted per source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    Tcp,
    Ws,
    Http,
    Replay,
    Demo,
    Journal,
}

impl Source {
    pub fn to_u8(self) -> u8 {
        Source::ALL.iter().position(|s| *s == self).unwrap_or(0) as u8
    }

    pub fn from_u8(b: u8) -> Option<Source> {
        Source::ALL.get(b as usize).copied()
    }

    pub const ALL: [Source; 6] = [Source::Tcp, Source::Ws, Source::Http, Source::Replay, Source::Demo, Source::Journal];
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Tcp => "tcp",
            Source::Ws => "ws",
            Source::Http => "http",
            Source::Replay => "replay",
            Source::Demo => "demo",
            Source::Journal => "journal",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Applied { skewed: bool },
    Duplicate,
    Late,
    Invalid,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied { .. } => "applied",
            Outcome::Duplicate => "duplicate",
            Outcome::Late => "late",
            Outcome::Invalid => "invalid",
        }
    }
}

/// Outcome counts: applied, duplicate, late, invalid, skewed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IngestCounts {
    pub applied: u64,
    pub duplicate: u64,
    pub late: u64,
    pub invalid: u64,
    pub skewed: u64,
}

impl IngestCounts {
    pub fn count(&mut self, o: Outcome) {
        match o {
            Outcome::Applied { skewed } => {
                self.applied += 1;
                self.skewed += skewed as u64;
            }
            Outcome::Duplicate => self.duplicate += 1,
            Outcome::Late => self.late += 1,
            Outcome::Invalid => self.invalid += 1,
        }
    }

    pub fn merge(&mut self, o: &IngestCounts) {
        self.applied += o.applied;
        self.duplicate += o.duplicate;
        self.late += o.late;
        self.invalid += o.invalid;
        self.skewed += o.skewed;
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Team {
    pub id: String,
    pub det: TeamDet,
    /// Handle times of contacts completed in this team: Prometheus buckets, sum, percentiles.
    pub handle: HandleTimes,
    /// Running totals for Prometheus counters: contacts completed, and milliseconds spent
    /// by members in each kind (closed spans only; see `state_ms_at`).
    pub contacts_total: u64,
    pub state_ms: [Ms; 6],
    /// This team's alerts now firing, and fired since the team was created, by
    /// `AlertKind as usize` (Prometheus). Derived: recounted from the alert store on restore.
    #[serde(skip)]
    pub alerts_firing: [u32; 4],
    #[serde(skip)]
    pub alerts_fired: [u64; 4],
}

/// All the state of a floor.
pub struct Engine {
    pub settings: Settings,
    cal: Calendar,
    agents: Agents,
    teams: Vec<Option<Team>>,
    /// Per team slot: before this instant advancing the team only moves its clock
    /// (`TeamDet::next_due`); `Ms::MIN` when its counts or members changed since its last
    /// step. A dense array so `advance` finds the due teams without touching the others.
    team_due: Vec<Ms>,
    /// Per team slot: the latest `advance` point since the team was created. The team's
    /// clock is at least this far (the move is applied when the team is next stepped), so
    /// an event older than it takes effect for the detectors at this point, exactly as if
    /// every team had been stepped on every `advance`.
    team_floor: Vec<Ms>,
    /// Test switch: step every team fully on every advance (the reference for `team_due`).
    step_every_team: bool,
    /// Test switch: views sum every window from the timelines, never from `view_cache`
    /// (the reference for the cache).
    no_view_cache: bool,
    team_free: Vec<TeamIdx>,
    team_index: HashMap<String, TeamIdx, foldhash::fast::RandomState>,
    alerts: BTreeMap<String, Arc<StoredAlert>>,
    /// Largest event time applied (the event clock's now).
    max_ts: Ms,
    ingest: HashMap<Source, IngestCounts>,
    binom: HashMap<(u32, u32), bool>,
    /// Long-aux deadlines: (fire time, agent). Entries may be stale; checked on pop.
    long_aux_due: std::collections::BTreeSet<(Ms, AgentIdx)>,
    /// Agents that went offline, by when: housekeeping forgets the long-offline ones from
    /// the front instead of scanning every agent. Entries may be stale; checked on pop.
    /// Derived: rebuilt from the agents on restore.
    offline_since: std::collections::BTreeSet<(Ms, AgentIdx)>,
    /// Alerts fired or resolved since the last `take_notifications`, when enabled.
    notifications: Option<Vec<Alert>>,
    changes: Vec<AlertChange>,
    applied_since_housekeeping: u64,
    oplog: Option<Box<dyn OpLog>>,
    /// Bumped whenever anything visible may have changed (for push de-duplication).
    pub version: u64,
    /// Per agent slot: the parts of its `today` and `peak_today` sums that later views can
    /// reuse (see `ViewCache`). Derived, never stored.
    view_cache: Vec<Option<ViewCache>>,
}

/// A team's peak intervals today as a view at `now` sees them: the closed ones (ended by
/// `now`), which no longer change, and the one still open at `now`, clipped to it.
struct PeaksToday {
    closed: Vec<(Ms, Ms)>,
    open: Option<(Ms, Ms)>,
}

impl PeaksToday {
    /// The same intervals as `TeamDet::peak_intervals(midnight, now)`, split.
    fn of(peaks: &[(Ms, Ms)], midnight: Ms, now: Ms) -> PeaksToday {
        let mut out = PeaksToday { closed: Vec::new(), open: None };
        for &(s, e) in peaks {
            let (from, to) = (s.max(midnight), e.min(now));
            if e <= midnight || to <= from {
                continue;
            }
            if e <= now {
                out.closed.push((from, to));
            } else {
                out.open = Some((from, to));
            }
        }
        out
    }
}

/// What an agent's `today` and `peak_today` sums are made of that does not move with `now`:
/// `today` up to `head_end` (the later of midnight and the agent's last change, after which
/// its timeline is one open segment), and the closed peak intervals. Summing those costs
/// searches in the middle of the timeline, which on a large floor are cache misses per
/// agent per view; with this a view reads no segment at all for `today` (the open segment's
/// kind is inline in the timeline). Valid while the key holds: an append changes the last
/// change and the length, a team move the team, a new closed peak interval their count, a
/// new day midnight. (A trim drops only history before midnight, which neither part
/// covers.) Exact: the parts are integer sums over disjoint intervals, added to the rest.
#[derive(Clone, Copy, Debug)]
struct ViewCache {
    key: (Ms, TeamIdx, usize, usize, Ms),
    head_end: Ms,
    /// `today` over `[midnight, head_end)`, with the contacts completed in `[midnight,
    /// head_end]`: the last one that can complete before `now` does so at the last change,
    /// which is at or before `head_end`.
    today_head: Sums,
    peak_closed: Sums,
}

impl ViewCache {
    fn get(
        slot: &mut Option<ViewCache>,
        a: &Agent,
        ti: TeamIdx,
        peaks: &PeaksToday,
        midnight: Ms,
        now: Ms,
    ) -> Option<ViewCache> {
        if a.since > now {
            return None; // a future-skewed event: the open segment is not where `now` is
        }
        let tl = &a.timeline;
        let key = (midnight, ti, peaks.closed.len(), tl.segments_len(), a.since);
        if let Some(c) = slot.filter(|c| c.key == key) {
            return Some(c);
        }
        let head_end = a.since.max(midnight);
        let mut peak_closed = Sums::default();
        for &(s, e) in &peaks.closed {
            peak_closed.add(&Sums::over(tl, s, e, false));
        }
        let today_head = Sums::over(tl, midnight, head_end, true);
        *slot = Some(ViewCache { key, head_end, today_head, peak_closed });
        *slot
    }

    /// `Sums::over(tl, midnight, now, true)`: the head, and `[head_end, now)` in the open
    /// segment's kind. No contact completes in `(head_end, now]`: no segment starts there.
    /// (`now >= head_end`: `get` refuses a last change after `now`, and midnight is at or
    /// before `now`.)
    fn today(&self, tl: &Timeline, now: Ms) -> Sums {
        let mut s = self.today_head;
        if let Some(kind) = tl.current() {
            s.ms[kind as usize] += now - self.head_end;
        }
        s
    }

    /// As `TeamDet::peak_sums`: the closed intervals, the open one, and the contacts
    /// completed exactly at `now` when the team is at peak at `now`.
    fn peak(&self, tl: &Timeline, peaks: &PeaksToday, now: Ms, peak_now: bool) -> Sums {
        let mut s = self.peak_closed;
        if let Some((from, to)) = peaks.open {
            s.add(&Sums::over(tl, from, to, false));
        }
        if peak_now {
            s.contacts.add(tl.contacts(now, now, true));
        }
        s
    }
}

/// How a view should be computed.
#[derive(Clone, Debug, Default)]
pub struct ViewOpts {
    pub team: Option<String>,
    pub agents: bool,
    /// The stored alerts (of the team asked for) and those evaluated at `now`.
    pub alerts: bool,
    /// Only what `/metrics` reads: no handle-time percentiles (`None`) and no floor
    /// dispersion (default): on a large floor those cost a percentile walk per team and a
    /// copy of every member's ratios, for figures a scrape does not export.
    pub scrape: bool,
}

pub struct AgentView {
    pub id: String,
    pub name: Option<String>,
    pub team: String,
    pub state: State,
    pub reason: Option<String>,
    pub planned: bool,
    pub since: Ms,
    pub windows: Vec<Sums>,
}

pub struct GroupView {
    pub id: String,
    pub peak: bool,
    pub counts: Counts,
    pub windows: Vec<Sums>,
    pub dispersion: Vec<Dispersion>,
    pub handle_p50_ms: Option<u64>,
    pub handle_p90_ms: Option<u64>,
    pub contacts_total: u64,
    /// Cumulative milliseconds per kind spent by the members up to `now`, as
    /// [`Engine::team_state_ms`] (summed in the view's pass over the members).
    pub state_ms: [Ms; 6],
}

/// Everything a snapshot, the board, or the metrics need, computed at one `now`.
pub struct View {
    pub now: Ms,
    pub window_names: Vec<String>,
    pub floor: GroupView,
    pub teams: Vec<GroupView>,
    pub agents: Vec<AgentView>,
    pub alerts: Vec<Arc<StoredAlert>>,
    pub ingest: IngestCounts,
}

fn kind_of(settings: &Settings, state: State, reason: Option<&str>) -> Kind {
    match state {
        State::Talking => Kind::Talking,
        State::Acw => Kind::Acw,
        State::Idle => Kind::Idle,
        State::Offline => Kind::Offline,
        State::Aux => {
            if reason.is_some_and(|r| settings.is_planned(r)) {
                Kind::AuxPlanned
            } else {
                Kind::AuxUnplanned
            }
        }
    }
}

impl Engine {
    pub fn new(settings: Settings) -> Engine {
        let cal = Calendar::new(settings.tz.clone(), settings.peak_windows.clone());
        Engine {
            settings,
            cal,
            agents: Agents::default(),
            teams: Vec::new(),
            team_due: Vec::new(),
            team_floor: Vec::new(),
            step_every_team: false,
            no_view_cache: false,
            team_free: Vec::new(),
            team_index: HashMap::default(),
            alerts: BTreeMap::new(),
            max_ts: Ms::MIN,
            ingest: HashMap::new(),
            binom: HashMap::new(),
            long_aux_due: Default::default(),
            offline_since: Default::default(),
            notifications: None,
            changes: Vec::new(),
            applied_since_housekeeping: 0,
            oplog: None,
            version: 0,
            view_cache: Vec::new(),
        }
    }

    /// Collect fired/resolved alerts for `take_notifications` (the daemon's hooks and push).
    pub fn enable_notifications(&mut self) {
        self.notifications = Some(Vec::new());
    }

    /// Steps every team's detectors on every `advance` instead of only the teams that are
    /// due. Same results, slower: the reference the tests compare the due-only stepping with.
    #[doc(hidden)]
    pub fn step_every_team(&mut self) {
        self.step_every_team = true;
    }

    /// Views compute every window from the timelines instead of reusing per-agent parts
    /// (`ViewCache`). Same figures, slower: the reference the tests compare the cache with.
    #[doc(hidden)]
    pub fn no_view_cache(&mut self) {
        self.no_view_cache = true;
    }

    /// Sends every later advance and housekeeping step to `log` (the journal).
    pub fn set_oplog(&mut self, log: Box<dyn OpLog>) {
        self.oplog = Some(log);
    }

    /// Applies a decoded batch received at `now` (system time): the events in order, the
    /// rejected ones counted invalid, then (event clock) time advanced to the new now.
    /// The daemon's ingest paths and the journal's replay both go through here, so a
    /// replayed batch has exactly the effect it had live.
    pub fn apply_batch(
        &mut self,
        now: Ms,
        source: Source,
        events: impl IntoIterator<Item = Event>,
        invalid: u64,
    ) -> IngestCounts {
        let mut counts = IngestCounts::default();
        // On a large floor applying is bound by memory latency: each event's index entry,
        // agent slot and timeline tail are cache misses, and `apply` waits for them one
        // after another. Reading them for the next few events first lets those independent
        // misses overlap in the CPU's out-of-order window. Reads only: nothing changes.
        let mut events = events.into_iter();
        let mut ahead = Vec::with_capacity(WARM_AHEAD);
        loop {
            ahead.extend(events.by_ref().take(WARM_AHEAD));
            if ahead.is_empty() {
                break;
            }
            std::hint::black_box(ahead.iter().fold(0, |w, ev: &Event| w ^ self.agents.warm(&ev.agent)));
            for ev in ahead.drain(..) {
                counts.count(self.apply(ev, now, source));
            }
        }
        for _ in 0..invalid {
            self.count_invalid(source);
            counts.count(Outcome::Invalid);
        }
        if self.settings.clock == ClockMode::Event {
            let at = self.now(now);
            self.advance(at);
        }
        counts
    }

    pub fn take_notifications(&mut self) -> Vec<Alert> {
        self.notifications.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// The clock's now: system time `wall_ms` for the wall clock, the largest applied `ts`
    /// for the event clock.
    pub fn now(&self, wall_ms: Ms) -> Ms {
        match self.settings.clock {
            ClockMode::Wall => wall_ms,
            ClockMode::Event => {
                if self.max_ts == Ms::MIN {
                    0
                } else {
                    self.max_ts
                }
            }
        }
    }

    pub fn max_ts(&self) -> Option<Ms> {
        (self.max_ts != Ms::MIN).then_some(self.max_ts)
    }

    pub fn agent_count(&self) -> usize {
        self.agents.len()
    }

    pub fn team_count(&self) -> usize {
        self.team_index.len()
    }

    pub fn ingest(&self, source: Source) -> IngestCounts {
        self.ingest.get(&source).copied().unwrap_or_default()
    }

    pub fn ingest_total(&self) -> IngestCounts {
        let mut t = IngestCounts::default();
        for c in self.ingest.values() {
            t.merge(c);
        }
        t
    }

    /// Counts an event rejected at the edge (undecodable, oversized...).
    pub fn count_invalid(&mut self, source: Source) {
        self.count(source, Outcome::Invalid);
    }

    fn count(&mut self, source: Source, o: Outcome) {
        self.ingest.entry(source).or_default().count(o);
    }

    fn team_idx(&mut self, id: &str) -> TeamIdx {
        if let Some(&i) = self.team_index.get(id) {
            return i;
        }
        // A new team starts at local midnight so that configured peak windows earlier today
        // count for it (they hold for every team, whatever its membership).
        let clock = self.cal.midnight(self.max_ts.max(0));
        let team = Team {
            id: id.to_string(),
            det: TeamDet::new(&self.settings, clock),
            handle: HandleTimes::default(),
            contacts_total: 0,
            state_ms: [0; 6],
            alerts_firing: [0; 4],
            alerts_fired: [0; 4],
        };
        let i = match self.team_free.pop() {
            Some(i) => {
                self.teams[i as usize] = Some(team);
                self.team_due[i as usize] = Ms::MIN;
                self.team_floor[i as usize] = Ms::MIN;
                i
            }
            None => {
                self.teams.push(Some(team));
                self.team_due.push(Ms::MIN);
                self.team_floor.push(Ms::MIN);
                (self.teams.len() - 1) as TeamIdx
            }
        };
        self.team_index.insert(id.to_string(), i);
        i
    }

    fn team(&self, i: TeamIdx) -> &Team {
        self.teams[i as usize].as_ref().expect("live team index")
    }

    fn team_mut(&mut self, i: TeamIdx) -> &mut Team {
        self.teams[i as usize].as_mut().expect("live team index")
    }

    /// Advances a team's detectors through [clock, t). When nothing is due before `t` that
    /// is only a move of the clock (see `TeamDet::next_due`).
    fn advance_team(&mut self, ti: TeamIdx, t: Ms) {
        let team = self.teams[ti as usize].as_mut().expect("live team index");
        // The move `advance` left pending; nothing was due before the floor.
        team.det.clock = team.det.clock.max(self.team_floor[ti as usize]);
        if team.det.clock >= t {
            return;
        }
        if self.team_due[ti as usize] >= t && !self.step_every_team {
            team.det.clock = t;
            return;
        }
        let mut ctx = Ctx {
            settings: &self.settings,
            cal: &mut self.cal,
            agents: &self.agents,
            binom: &mut self.binom,
            out: &mut self.changes,
        };
        team.det.advance_to(&team.id, t, &mut ctx);
        self.team_due[ti as usize] = team.det.next_due(&self.settings);
        self.flush_changes();
    }

    /// The team's counts or members change now: its next step must run in full, from its
    /// clock moved up to the floor (the change takes effect there, as for an event).
    fn touch_team(&mut self, ti: TeamIdx) {
        let floor = self.team_floor[ti as usize];
        let det = &mut self.team_mut(ti).det;
        det.clock = det.clock.max(floor);
        self.team_due[ti as usize] = Ms::MIN;
    }

    fn flush_changes(&mut self) {
        if self.changes.is_empty() {
            return;
        }
        self.version += 1;
        for ch in std::mem::take(&mut self.changes) {
            let alert = match ch {
                AlertChange::Fired(a) => {
                    self.count_alert(&a, 1);
                    self.alerts.insert(a.id.clone(), StoredAlert::new(a.clone()));
                    a
                }
                AlertChange::Resolved { id, at } => match self.alerts.get_mut(&id) {
                    Some(stored) if stored.is_firing() => {
                        let a = resolved(stored, at);
                        *stored = StoredAlert::new(a.clone());
                        self.count_alert(&a, -1);
                        a
                    }
                    _ => continue,
                },
            };
            if let Some(n) = &mut self.notifications {
                n.push(alert);
            }
        }
    }

    /// Counts an alert that fires (`+1`) or resolves (`-1`) on its team.
    fn count_alert(&mut self, a: &Alert, firing: i32) {
        let Some(&ti) = self.team_index.get(&a.team) else { return };
        let team = self.team_mut(ti);
        let k = a.kind as usize;
        if firing > 0 {
            team.alerts_firing[k] += 1;
            team.alerts_fired[k] += 1;
        } else {
            team.alerts_firing[k] = team.alerts_firing[k].saturating_sub(1);
        }
    }

    /// Fires the long_aux alert of agent `ai` if its deadline is at or before `t`.
    fn long_aux_check(&mut self, ai: AgentIdx, t: Ms) {
        let a = self.agents.get(ai);
        let Some((entry, limit)) = a.aux_entry else { return };
        if a.long_aux_alert.is_some() || entry + limit > t {
            return;
        }
        let at = entry + limit;
        let team = self.team(a.team).id.clone();
        let id = Alert::make_id(AlertKind::LongAux, &team, Some(&a.id), entry);
        let who = match &a.name {
            Some(n) => format!("{} ({n})", a.id),
            None => a.id.to_string(),
        };
        let reason = a.reason.clone().unwrap_or_default();
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
        self.changes.push(AlertChange::Fired(alert));
        self.flush_changes();
    }

    /// Applies one decoded event received at `recv_ms` (system time; used by the wall
    /// clock for a missing `ts` and the future-skew clamp).
    pub fn apply(&mut self, ev: Event, recv_ms: Ms, source: Source) -> Outcome {
        let o = self.apply_inner(ev, recv_ms);
        self.count(source, o);
        if matches!(o, Outcome::Applied { .. }) {
            self.applied_since_housekeeping += 1;
            if self.applied_since_housekeeping >= 65_536 {
                // Part of applying: a replay of the same events does it at the same point.
                self.housekeeping_inner();
            }
        }
        o
    }

    fn apply_inner(&mut self, ev: Event, recv_ms: Ms) -> Outcome {
        let wall = self.settings.clock == ClockMode::Wall;
        let (mut ts, mut skewed) = match (ev.ts, wall) {
            (Some(t), _) => (t, false),
            (None, true) => (recv_ms, false),
            (None, false) => return Outcome::Invalid,
        };
        if wall && ts > recv_ms + self.settings.max_future_skew_ms {
            ts = recv_ms;
            skewed = true;
        }
        let reason = ev.reason;
        let kind = kind_of(&self.settings, ev.state, reason.as_deref());

        let Some(ai) = self.agents.find(&ev.agent) else {
            if self.agents.len() >= self.settings.max_agents {
                return Outcome::Invalid;
            }
            self.max_ts = self.max_ts.max(ts);
            let ti = self.team_idx(ev.team.as_deref().unwrap_or(UNASSIGNED));
            self.advance_team(ti, ts);
            let mut timeline = Timeline::new();
            let completed = timeline.change(ts, kind);
            debug_assert!(completed.is_none());
            let team = self.team_mut(ti);
            team.det.counts.add(kind);
            let pos = team.det.members.len() as u32;
            let ai = self.agents.insert(Agent {
                id: ev.agent,
                name: ev.name,
                team: ti,
                member_pos: pos,
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
            self.team_mut(ti).det.members.push(ai);
            if let Some(c) = self.view_cache.get_mut(ai as usize) {
                *c = None; // a reused slot
            }
            self.touch_team(ti);
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
            return Outcome::Late;
        }
        let old_team = a.team;
        let changed = ev.state != a.state || reason != a.reason;
        let old_kind = a.kind;
        self.max_ts = self.max_ts.max(ts);
        let new_team = match &ev.team {
            Some(t) if *t != self.team(old_team).id => self.team_idx(t),
            _ => old_team,
        };

        if changed || new_team != old_team {
            self.advance_team(old_team, ts);
            if new_team != old_team {
                self.advance_team(new_team, ts);
            }
            self.long_aux_check(ai, ts);
            let a = self.agents.get_mut(ai);
            let span = (ts - a.seg_start).max(0);
            a.seg_start = a.seg_start.max(ts);
            self.team_mut(old_team).state_ms[old_kind as usize] += span;
            self.team_mut(old_team).det.counts.remove(old_kind);
            self.team_mut(new_team).det.counts.add(kind);
            self.touch_team(old_team);
            self.touch_team(new_team);
            if new_team != old_team {
                self.move_member(ai, old_team, new_team);
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
        }
        if changed {
            let a = self.agents.get_mut(ai);
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
            }
            self.enter_kind(ai, Some(old_kind), ts);
        }
        Outcome::Applied { skewed }
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
            a.aux_entry = None;
            if let Some(id) = a.long_aux_alert.take() {
                self.changes.push(AlertChange::Resolved { id, at: t });
                self.flush_changes();
            }
        } else if now_unplanned && !was_unplanned {
            let limit = self.settings.long_aux_limit(a.reason.as_deref().unwrap_or_default());
            let a = self.agents.get_mut(ai);
            a.aux_entry = Some((t, limit));
            self.long_aux_due.insert((t + limit, ai));
        }
    }

    fn move_member(&mut self, ai: AgentIdx, from: TeamIdx, to: TeamIdx) {
        let pos = self.agents.get(ai).member_pos as usize;
        let members = &mut self.team_mut(from).det.members;
        members.swap_remove(pos);
        if let Some(&moved) = members.get(pos) {
            self.agents.get_mut(moved).member_pos = pos as u32;
        }
        let members = &mut self.team_mut(to).det.members;
        members.push(ai);
        let new_pos = (members.len() - 1) as u32;
        let a = self.agents.get_mut(ai);
        a.team = to;
        a.member_pos = new_pos;
    }

    /// Processes everything due before `now` (alerts fire on time even without events).
    pub fn advance(&mut self, now: Ms) {
        if let Some(log) = &mut self.oplog {
            log.advance(now);
        }
        while let Some(&(due, ai)) = self.long_aux_due.first() {
            if due > now {
                break;
            }
            self.long_aux_due.pop_first();
            if self.agents_contains(ai) {
                self.long_aux_check(ai, now);
            }
        }
        for ti in 0..self.teams.len() as TeamIdx {
            let due = self.team_due[ti as usize] < now || self.step_every_team;
            if due && self.teams[ti as usize].is_some() {
                self.advance_team(ti, now);
            }
        }
        // Only after the due teams have stepped: a floor is a promise that nothing was due.
        for f in &mut self.team_floor {
            *f = (*f).max(now);
        }
    }

    fn agents_contains(&self, ai: AgentIdx) -> bool {
        self.agents.contains(ai) && self.agents.get(ai).aux_entry.is_some()
    }

    /// Trims history no window needs, forgets long-offline agents and empty teams.
    pub fn housekeeping(&mut self) {
        if let Some(log) = &mut self.oplog {
            log.housekeeping();
        }
        self.housekeeping_inner();
    }

    /// History before this instant is needed by no window (the longest sliding window and
    /// today, as of the largest applied time).
    fn trim_cutoff(&mut self) -> Ms {
        let Some(now) = self.max_ts() else { return Ms::MIN };
        let midnight = self.cal.midnight(now);
        (now - self.settings.longest_sliding_ms()).min(midnight) - 1
    }

    fn housekeeping_inner(&mut self) {
        self.applied_since_housekeeping = 0;
        let Some(now) = self.max_ts() else { return };
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
            if !still {
                continue;
            }
            let a = self.agents.get(ai);
            let (ti, kind) = (a.team, a.kind);
            let pos = a.member_pos as usize;
            let span = (now - a.seg_start).max(0);
            let team = self.team_mut(ti);
            team.state_ms[kind as usize] += span;
            team.det.counts.remove(kind);
            team.det.members.swap_remove(pos);
            self.touch_team(ti);
            if let Some(&moved) = self.team(ti).det.members.get(pos) {
                self.agents.get_mut(moved).member_pos = pos as u32;
            }
            self.agents.remove(ai);
            self.version += 1;
        }
        let mut drop = Vec::new();
        for (i, t) in self.teams.iter_mut().enumerate() {
            if let Some(t) = t {
                t.det.trim(cutoff);
                if t.det.members.is_empty() && !t.det.has_firing_alerts() {
                    drop.push(i as TeamIdx);
                }
            }
        }
        for ti in drop {
            let t = self.teams[ti as usize].take().expect("live team");
            self.team_index.remove(&t.id);
            self.team_free.push(ti);
        }
        // Resolved alerts are kept for at least 24 hours (SPEC §5.2), here 48.
        let keep_after = now - 48 * 3_600_000;
        self.alerts.retain(|_, a| a.resolved_at.is_none_or(|r| r >= keep_after));
    }

    /// Live teams (for metrics). `Team::state_ms` holds closed spans; add the open ones
    /// with [`Engine::team_state_ms`].
    pub fn teams(&self) -> impl Iterator<Item = &Team> {
        self.teams.iter().flatten()
    }

    /// Cumulative milliseconds per kind spent by a team's members up to `now` (monotonic
    /// in `now`; an agent counts for the team it was in at the time).
    pub fn team_state_ms(&self, team: &Team, now: Ms) -> [Ms; 6] {
        let mut out = team.state_ms;
        for &ai in &team.det.members {
            let a = self.agents.get(ai);
            out[a.kind as usize] += (now - a.seg_start).max(0);
        }
        out
    }

    /// Live agents (for per-agent metrics).
    pub fn agents(&self) -> impl Iterator<Item = &Agent> {
        self.agents.iter().map(|(_, a)| a)
    }

    /// All alerts, oldest first (by fire time, then id).
    pub fn alerts(&self) -> Vec<Alert> {
        let mut v: Vec<Alert> = self.alerts.values().map(|a| a.alert().clone()).collect();
        v.sort_by(|a, b| (a.fired_at, &a.id).cmp(&(b.fired_at, &b.id)));
        v
    }

    /// Computes the figures at `now` (advancing the detectors to `now` first).
    ///
    /// Cost: the teams asked for, and for each member two searches per sliding window and
    /// per peak interval in its timeline; nothing per agent is allocated unless agents are
    /// asked for, and the alert store is cloned only when alerts are.
    pub fn view(&mut self, now: Ms, opts: &ViewOpts) -> View {
        self.advance(now);
        let midnight = self.cal.midnight(now);
        let windows = self.settings.windows.clone();
        let min_logged = self.settings.dispersion_min_logged_ms;

        // Tentative evaluation of the instant `now` itself on clones: switches and minute
        // ticks due exactly at now have happened (SPEC §4.2), but more events at now may
        // still arrive, so the real state only moves past instants once time has.
        let mut tentative: Vec<AlertChange> = Vec::new();
        let team_ids: Vec<TeamIdx> = match &opts.team {
            Some(t) => self.team_index.get(t).copied().into_iter().collect(),
            None => {
                let mut v: Vec<TeamIdx> = self.team_index.values().copied().collect();
                v.sort_by(|a, b| self.team(*a).id.cmp(&self.team(*b).id));
                v
            }
        };
        let mut peak_at_now = Vec::with_capacity(team_ids.len());
        for &ti in &team_ids {
            let team = self.teams[ti as usize].as_ref().expect("live team index");
            let mut det = team.det.clone();
            let mut ctx = Ctx {
                settings: &self.settings,
                cal: &mut self.cal,
                agents: &self.agents,
                binom: &mut self.binom,
                out: &mut tentative,
            };
            det.advance_to(&team.id, now + 1, &mut ctx);
            peak_at_now.push(det.peaks.iter().any(|&(s, e)| s <= now && now < e));
        }

        let mut floor_sums = vec![Sums::default(); windows.len()];
        let mut floor_qualifying = vec![Qualifying::default(); windows.len()];
        let mut per = vec![Sums::default(); windows.len()];
        let mut floor_counts = Counts::default();
        let mut teams_out = Vec::with_capacity(team_ids.len());
        let mut agents_out = Vec::new();
        self.view_cache.resize(self.agents.slots(), None);
        // Per team asked for (by position in `team_ids`): its peak intervals and sums.
        let mut pos_of = vec![usize::MAX; self.teams.len()];
        for (p, &ti) in team_ids.iter().enumerate() {
            pos_of[ti as usize] = p;
        }
        let peaks: Vec<PeaksToday> =
            team_ids.iter().map(|&ti| PeaksToday::of(&self.team(ti).det.peaks, midnight, now)).collect();
        let w_n = windows.len();
        // Per team asked for (by position `p`): its windows' sums side by side.
        let mut team_sums = vec![Sums::default(); team_ids.len() * w_n];
        let mut team_state_ms: Vec<[Ms; 6]> = team_ids.iter().map(|&ti| self.team(ti).state_ms).collect();
        // The dispersion ratios of the members: a record of `w_n` pairs (aux ratio, talk
        // utilization) per member, NaN where the member does not qualify (a member that
        // does is logged in, so its ratios are numbers); a team's members side by side, in
        // the order they are visited. One write per member in one place: pushing into two
        // vectors per window of its team, scattered over the floor's teams, was a fifth of
        // a scrape in cache misses.
        let mut rec_end: Vec<usize> = Vec::with_capacity(team_ids.len());
        let mut n_members = 0;
        for &ti in &team_ids {
            rec_end.push(n_members);
            n_members += self.team(ti).det.members.len();
        }
        let rec_start = rec_end.clone();
        let mut ratios = vec![[0.0f64; 2]; n_members * w_n];
        // Agents in slot order: for the whole floor one pass through the slab in memory
        // order, reading each slot once (a view of a large floor is bound by cache misses on
        // agents: listing the slots first cost another miss per agent), for one team its
        // members sorted the same way, so both sum a team's members in one order.
        let members: Vec<AgentIdx>;
        let order: Box<dyn Iterator<Item = (AgentIdx, &Agent)>> = match &opts.team {
            Some(_) => {
                let mut m: Vec<AgentIdx> =
                    team_ids.iter().flat_map(|&ti| self.team(ti).det.members.iter().copied()).collect();
                m.sort_unstable();
                members = m;
                Box::new(members.iter().map(|&ai| (ai, self.agents.get(ai))))
            }
            None => Box::new(self.agents.iter()),
        };
        for (ai, a) in order {
            let ti = a.team;
            let p = pos_of[ti as usize];
            let team = || self.teams[ti as usize].as_ref().expect("live team index");
            let peak_now = peak_at_now[p];
            let tl = &a.timeline;
            team_state_ms[p][a.kind as usize] += (now - a.seg_start).max(0);
            let cached = if self.no_view_cache {
                None
            } else {
                ViewCache::get(&mut self.view_cache[ai as usize], a, ti, &peaks[p], midnight, now)
            };
            for (x, w) in per.iter_mut().zip(&windows) {
                *x = match w.kind {
                    WindowKind::Sliding(l) => Sums::over(tl, now - l, now, true),
                    WindowKind::Today => match cached {
                        Some(c) => c.today(tl, now),
                        None => Sums::over(tl, midnight, now, true),
                    },
                    WindowKind::PeakToday => match cached {
                        Some(c) => c.peak(tl, &peaks[p], now, peak_now),
                        None => team().det.peak_sums(tl, midnight, now, peak_now),
                    },
                };
            }
            let r = rec_end[p];
            rec_end[p] += 1;
            debug_assert!(p + 1 == rec_start.len() || rec_end[p] <= rec_start[p + 1], "more members than the team's");
            for (w, x) in per.iter().enumerate() {
                team_sums[p * w_n + w].add(x);
                ratios[r * w_n + w] = Qualifying::ratios(x, min_logged).map_or([f64::NAN; 2], |(a, t)| [a, t]);
            }
            if opts.agents {
                agents_out.push(AgentView {
                    id: a.id.to_string(),
                    name: a.name.clone(),
                    team: team().id.clone(),
                    state: a.state,
                    reason: a.reason.as_ref().map(|r| r.to_string()),
                    planned: a.kind == Kind::AuxPlanned,
                    since: a.since,
                    windows: per.clone(),
                });
            }
        }
        if !opts.scrape {
            for q in &mut floor_qualifying {
                q.reserve(n_members);
            }
        }
        let mut q = Qualifying::default();
        for (p, &ti) in team_ids.iter().enumerate() {
            let team = self.team(ti);
            let sums = team_sums[p * w_n..(p + 1) * w_n].to_vec();
            let recs = &ratios[rec_start[p] * w_n..rec_end[p] * w_n];
            let mut dispersion = Vec::with_capacity(w_n);
            for w in 0..w_n {
                q.clear();
                for rec in recs.chunks_exact(w_n) {
                    let [aux, talk] = rec[w];
                    if !aux.is_nan() {
                        q.push_ratios(aux, talk);
                    }
                }
                dispersion.push(q.dispersion());
                floor_sums[w].add(&sums[w]);
                if !opts.scrape {
                    floor_qualifying[w].extend_from(&q);
                }
            }
            floor_counts.merge(&team.det.counts);
            let quantile = |q: f64| if opts.scrape { None } else { team.handle.quantile_ms(q) };
            teams_out.push(GroupView {
                id: team.id.clone(),
                peak: peak_at_now[p],
                counts: team.det.counts,
                windows: sums,
                dispersion,
                handle_p50_ms: quantile(0.5),
                handle_p90_ms: quantile(0.9),
                contacts_total: team.contacts_total,
                state_ms: team_state_ms[p],
            });
        }
        if opts.agents {
            agents_out.sort_by(|a, b| a.id.cmp(&b.id));
        }
        let floor = GroupView {
            id: opts.team.clone().unwrap_or_else(|| "floor".into()),
            peak: teams_out.iter().any(|t| t.peak),
            counts: floor_counts,
            dispersion: floor_qualifying.iter().map(Qualifying::dispersion).collect(),
            windows: floor_sums,
            handle_p50_ms: None,
            handle_p90_ms: None,
            contacts_total: teams_out.iter().map(|t| t.contacts_total).sum(),
            state_ms: teams_out.iter().fold([0; 6], |mut acc, t| {
                for (a, b) in acc.iter_mut().zip(t.state_ms) {
                    *a += b;
                }
                acc
            }),
        };

        let alerts = if opts.alerts { self.view_alerts(opts.team.as_deref(), tentative, now) } else { Vec::new() };
        View {
            now,
            window_names: windows.iter().map(|w| w.name.clone()).collect(),
            floor,
            teams: teams_out,
            agents: agents_out,
            alerts,
            ingest: self.ingest_total(),
        }
    }

    /// The alerts a view returns: the stored ones (of `team`, when given) with the changes
    /// evaluated tentatively at `now` applied, oldest first.
    ///
    /// Only pointers are copied (`StoredAlert`): a view of one team (or of none, as the
    /// load benchmark's completion poll asks) must not pay for the whole floor's alert
    /// store (a clone of it was a third of the daemon's CPU under a polled ingest load), nor
    /// read more of its own alerts than their place in the store (BENCHMARKS.md).
    fn view_alerts(&self, team: Option<&str>, tentative: Vec<AlertChange>, now: Ms) -> Vec<Arc<StoredAlert>> {
        let mut alerts: Vec<Arc<StoredAlert>> = match team {
            // Ids start with `kind:team:` (`Alert::make_id`): one range per kind instead of a
            // walk over every team's alerts. The range may also hold a team whose id starts
            // with this one and a colon; its id is longer, so comparing the lengths tells
            // them apart without reading the team's bytes (a cache miss per alert).
            Some(team) => AlertKind::ALL
                .iter()
                .flat_map(|k| {
                    let from = format!("{}:{team}:", k.as_str());
                    let to = format!("{}:{team};", k.as_str());
                    self.alerts.range(from..to)
                })
                .map(|(_, a)| a)
                .filter(|a| a.team.len() == team.len())
                .inspect(|a| debug_assert_eq!(a.team, team, "alert {} in the range of {team}", a.id))
                .cloned()
                .collect(),
            None => self.alerts.values().cloned().collect(),
        };
        // Few or none: found by pointer among the stored ones (no string compare per alert),
        // by id among those changed here.
        let mut changed: Vec<(String, usize)> = Vec::new();
        let find = |alerts: &[Arc<StoredAlert>], changed: &[(String, usize)], id: &str| {
            changed.iter().find(|(c, _)| c == id).map(|&(_, i)| i).or_else(|| {
                let stored = self.alerts.get(id)?;
                alerts.iter().position(|a| Arc::ptr_eq(a, stored))
            })
        };
        for ch in tentative {
            match ch {
                AlertChange::Fired(a) => {
                    if team.is_none_or(|t| t == a.team) {
                        let id = a.id.clone();
                        let i = match find(&alerts, &changed, &id) {
                            Some(i) => {
                                alerts[i] = StoredAlert::new(a);
                                i
                            }
                            None => {
                                alerts.push(StoredAlert::new(a));
                                alerts.len() - 1
                            }
                        };
                        changed.push((id, i));
                    }
                }
                AlertChange::Resolved { id, at } => {
                    if let Some(i) = find(&alerts, &changed, &id) {
                        alerts[i] = StoredAlert::new(resolved(&alerts[i], at));
                        changed.push((id, i));
                    }
                }
            }
        }
        // Sorted on the fire time read once per alert; ids are compared on ties only.
        let mut keyed: Vec<(Ms, Arc<StoredAlert>)> =
            alerts.into_iter().map(|a| (a.fired_at, a)).filter(|(at, _)| *at <= now).collect();
        keyed.sort_by(|(x, a), (y, b)| x.cmp(y).then_with(|| a.id.cmp(&b.id)));
        keyed.into_iter().map(|(_, a)| a).collect()
    }
}

/// Events of a batch whose agents are read ahead of applying them (see `apply_batch`).
const WARM_AHEAD: usize = 16;

/// A copy of `a` resolved at `at`, or at its fire time if `at` is earlier.
///
/// With the wall clock an alert can fire on the absence of events, and an event that
/// arrives later can show that the condition had already ended before the fire time: a
/// feed delayed by more than a `long_aux` limit fires the alert at the agent's entry plus
/// the limit, and its next event, stamped earlier, ends the stretch. The alert was shown
/// and notified, so it resolves, lasting no time, rather than ending before it began.
fn resolved(a: &Alert, at: Ms) -> Alert {
    let mut a = a.clone();
    a.state = AlertState::Resolved;
    a.resolved_at = Some(at.max(a.fired_at));
    a
}
