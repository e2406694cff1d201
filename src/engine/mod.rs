//! The engine: the floor's state and everything that changes it, above the accounting
//! (`floor`) and the detectors (`detect`). Pure: no I/O, no clock of its own (time is
//! passed in), and it cannot fail — bad input was rejected at the edge.
//!
//! One concept per file: [`apply`](self::apply) takes events (outcomes, timelines, team
//! membership, long_aux), [`step`](self::step) moves time (the detectors, late delivery's
//! re-evaluation, housekeeping), [`alerts`](self::alerts) is the alert store and its
//! corrections, [`view`](self::view) answers figures at any `now` without changing
//! anything a later view could see differently. The state as bytes is in `persist`.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::alert::StoredAlert;
use crate::detect::calendar::Calendar;
use crate::detect::team::{AlertChange, TeamDet};
use crate::event::{Refusal, State};
use crate::floor::agents::{Agent, AgentIdx, Agents, TeamIdx};
use crate::floor::teams::Roster;
use crate::floor::timeline::Kind;
use crate::settings::{ClockMode, Settings};
use crate::time::Ms;

mod adherence;
mod alerts;
mod apply;
mod board_index;
mod calls;
mod chart;
mod handle;
mod outcome;
mod persist;
mod queue_index;
mod step;
mod store;
mod view;

pub use apply::{Refused, RefusedCall, WARM_AHEAD};
pub use chart::{ChartView, TeamChart};
#[cfg(test)]
mod tests;

pub use adherence::UNASSIGNED;
pub use handle::{HANDLE_BUCKETS_S, HandleTimes};
pub use outcome::{IngestCounts, Outcome, RefusalCounts, Source};
pub use persist::RestoreError;
pub use view::{AgentView, GroupView, View, ViewOpts};

/// The detectors' committed state trails `now` by this much: changes stamped up to this
/// late (a batch that took a moment, an adapter that buffers for a second or two, two
/// agents' events crossing on the wire) land ahead of the committed clock instead of
/// behind it, which would cost a re-evaluation from a checkpoint. Views evaluate the
/// rest, `[now - lag, now]`, on a copy, so figures and alerts at `now` are exact either
/// way; only hooks hear of an alert up to this much later. 1 s left a live floor at 1M
/// events/s (stamped up to ~2.5 s before it is read) re-evaluating on every batch
/// (BENCHMARKS.md, session 5).
pub const COMMIT_LAG_MS: Ms = 3_000;

/// Receives the engine's own state-changing steps that are not events (housekeeping), in
/// order, so a journal can replay them exactly. Batches of events are journaled by the
/// caller of [`Engine::apply_batch`] before it applies them. Time advancing is not one of
/// them: results are a function of the events and `now` alone, whenever time was advanced.
pub trait OpLog: Send {
    fn housekeeping(&mut self);
}

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Team {
    pub id: String,
    /// Who is in the team now (the views read this).
    pub roster: Roster,
    /// The detectors, with their own view of the members as of their clock.
    pub det: TeamDet,
    /// Handle times of contacts completed in this team: Prometheus buckets, sum, percentiles.
    pub handle: HandleTimes,
    /// Running totals for Prometheus counters: contacts completed, and milliseconds spent
    /// by members in each kind (closed spans only; see `state_ms_at`).
    pub contacts_total: u64,
    pub state_ms: [Ms; 6],
    /// This team's alert counters (Prometheus). Derived: recounted from the alert store on
    /// restore.
    #[serde(skip)]
    pub alerts: AlertCounts,
    /// When housekeeping first found the team without a member (None: it has members, or
    /// was not looked at since). Derived: not stored (the journal's layout stays).
    #[serde(skip)]
    pub empty_since: Option<Ms>,
}

/// How many teams without a member housekeeping keeps at most before their time (those
/// empty longest go first): a feed naming a new team on every event must not grow memory
/// without bound.
pub const MAX_EMPTY_TEAMS: usize = 1_000;

/// How many teams are known at once: an event naming another is refused (`too_large`), as
/// a new agent is past `floor.max_agents`. Each team is some 56 Prometheus series and a row
/// of every board, and nothing else bounded them: a feed giving each agent a team of its own
/// made 20,000 teams, 1.1 M series and 72 MB a scrape (the memory audit). A 20,000-seat
/// floor has hundreds of teams.
pub const MAX_TEAMS: usize = 5_000;

/// How many alert kinds a team counts (`AlertKind::TEAM`; counters are indexed by position in it).
pub const TEAM_KINDS: usize = crate::alert::AlertKind::TEAM.len();

/// A team's alerts now firing, fired since the team was created, and retracted (a late
/// event showed they never were), by position in `AlertKind::TEAM`.
#[derive(Clone, Copy, Debug, Default)]
pub struct AlertCounts {
    pub firing: [u32; TEAM_KINDS],
    pub fired: [u64; TEAM_KINDS],
    pub retracted: [u64; TEAM_KINDS],
}

/// All the state of a floor.
pub struct Engine {
    pub settings: Settings,
    cal: Calendar,
    agents: Agents,
    teams: Vec<Option<Team>>,
    /// Per team slot: before this instant advancing the team only moves its clock
    /// (`TeamDet::next_due`); `Ms::MIN` when its detectors have something to do. A dense
    /// array so `advance` finds the due teams without touching the others.
    team_due: Vec<Ms>,
    /// Test switch: step every team fully on every advance (the reference for `team_due`).
    step_every_team: bool,
    /// Test switch: views sum every window from the timelines, never from `view_cache`
    /// (the reference for the cache).
    no_view_cache: bool,
    /// Test switch: a view of the floor runs in this many parts (threads), whatever its
    /// size (the reference for the parallel pass is one part).
    view_parts: Option<usize>,
    /// Test switch: applying an event of this agent panics (the reference for containing
    /// a bug in the core, see `apply_batch_contained`). Not in builds outside tests.
    #[cfg(test)]
    panic_on_agent: Option<compact_str::CompactString>,
    team_free: Vec<TeamIdx>,
    team_index: HashMap<String, TeamIdx, foldhash::fast::RandomState>,
    alerts: store::AlertStore,
    /// The queue alerts of `alerts` a reconcile can read, by queue (derived; see
    /// `queue_index`). Changed only with `alerts`, through `store_put`/`store_remove`.
    queue_alerts: queue_index::QueueAlerts,
    /// The alerts of `alerts` a board shows (derived; see `board_index`). Changed only with
    /// `alerts`, like `queue_alerts`.
    board_alerts: board_index::BoardAlerts,
    /// At or before every stored alert's `resolved_at` (`Ms::MAX`: none is resolved;
    /// `Ms::MIN`: not known): housekeeping walks the store to drop expired alerts only once
    /// the keep limit passes it (a walk over half a million `out_of_adherence` alerts at
    /// every housekeeping, none of them old enough, was a cost of ingest with a roster).
    /// Derived.
    resolved_floor: Ms,
    /// Resolved alerts forgotten before their time because the store held more than
    /// `limits.max_alerts` (`floorwatch_alerts_forgotten_early_total`).
    alerts_dropped: u64,
    /// When the log last said so, and how many went early since (the log says it at most
    /// once a minute: housekeeping also runs every 65,536 events, so a flood would repeat it).
    alerts_dropped_said: Option<std::time::Instant>,
    alerts_dropped_unsaid: u64,
    /// The counters of `unassigned` while no team of that id exists: the no-shows'
    /// `out_of_adherence` alerts (a scheduled agent never seen has no team of its own), which
    /// Prometheus reports under `team="unassigned"` as the views list them. A team created
    /// with that id takes them over. Derived: recounted with the teams' on restore.
    unassigned_alerts: AlertCounts,
    /// The AHT control chart of every team that completed contacts, by team id (kept when
    /// the team is dropped: its history outlives its members; see `chart`).
    charts: HashMap<String, TeamChart, foldhash::fast::RandomState>,
    /// The earliest end of an open point of any chart (`Ms::MAX`: none): `advance` looks
    /// at the charts only once the committed clock reaches it. Derived.
    chart_due: Ms,
    /// The names of the chart's kinds, `["15m", "day"]` (from the settings).
    chart_names: [String; crate::detect::aht_chart::KINDS],
    /// The queues and their calls (SPEC §8).
    queues: crate::queue::Queues,
    /// The schedule and each scheduled agent's state log (SPEC §9, `adherence`).
    roster: crate::roster::Roster,
    /// Largest event time applied (the event clock's now).
    max_ts: Ms,
    /// Largest `now` the engine was advanced to or applied a batch at (the wall clock's
    /// now as far as the engine knows; `too_old` is judged against it).
    now_seen: Ms,
    /// The latest instant `advance` has processed the agents' deadlines to (views advance
    /// past the event clock's `max_ts`); derived, `Ms::MIN` after a restore.
    advanced_to: Ms,
    ingest: HashMap<Source, IngestCounts>,
    refusals: HashMap<Source, RefusalCounts>,
    binom: HashMap<(u32, u32), bool>,
    /// Long-aux deadlines: (fire time, agent). Entries may be stale; checked on pop.
    long_aux_due: BTreeSet<(Ms, AgentIdx)>,
    /// Agents that went offline, by when: housekeeping forgets the long-offline ones from
    /// the front instead of scanning every agent. Entries may be stale; checked on pop.
    /// Derived: rebuilt from the agents on restore.
    offline_since: BTreeSet<(Ms, AgentIdx)>,
    /// Alerts fired, resolved or retracted since the last `take_notifications`, when enabled:
    /// the versions stored, shared with the store (a copy per alert change was two more
    /// allocations per string of the alert).
    notifications: Option<Vec<Arc<StoredAlert>>>,
    changes: Vec<AlertChange>,
    applied_since_housekeeping: u64,
    oplog: Option<Box<dyn OpLog>>,
    /// Event clock: the largest event time the detectors were last committed to by `apply`.
    auto_advanced: Ms,
    /// Bumped whenever anything visible may have changed (for push de-duplication).
    pub version: u64,
    /// Per agent slot: the parts of its `today` and `peak_today` sums that later views can
    /// reuse (see `view::ViewCache`). Derived, never stored.
    view_cache: Vec<Option<view::ViewCache>>,
    /// Per agent slot, `view::marks_per_agent` marks side by side: where each sliding
    /// window's start and the open peak interval's start fell in its timeline at the last
    /// view (`Timeline::window_marked`). Derived, never stored.
    marks: Vec<crate::floor::timeline::Mark>,
    /// Per agent slot: its roster slot as the last view found it (`view::roster_slot`).
    /// Derived, never stored.
    roster_slots: Vec<(u32, u32)>,
    /// Scratch of the views: the record arrays of their parts (`view::PartSums`), kept
    /// between views.
    ratio_bufs: Vec<(Vec<[f64; 2]>, Vec<u32>)>,
    /// Per agent slot: the parts of its schedule's `today` and `peak_today` that views
    /// reuse (`Roster::day_parts`; keyed by the roster slot). Derived, never stored.
    day_caches: Vec<Option<crate::roster::DayCache>>,
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
        let chart_names = chart::chart_names(&settings.aht_chart);
        let roster = crate::roster::Roster::new(settings.adherence.clone());
        let initial = settings.roster.clone();
        let mut engine = Engine {
            settings,
            cal,
            agents: Agents::default(),
            teams: Vec::new(),
            team_due: Vec::new(),
            step_every_team: false,
            no_view_cache: false,
            view_parts: None,
            #[cfg(test)]
            panic_on_agent: None,
            team_free: Vec::new(),
            team_index: HashMap::default(),
            alerts: store::AlertStore::default(),
            queue_alerts: Default::default(),
            board_alerts: board_index::BoardAlerts::new(),
            resolved_floor: Ms::MAX,
            alerts_dropped: 0,
            alerts_dropped_said: None,
            alerts_dropped_unsaid: 0,
            unassigned_alerts: AlertCounts::default(),
            charts: HashMap::default(),
            chart_due: Ms::MAX,
            chart_names,
            queues: Default::default(),
            roster,
            max_ts: Ms::MIN,
            now_seen: Ms::MIN,
            advanced_to: Ms::MIN,
            ingest: HashMap::new(),
            refusals: HashMap::new(),
            binom: HashMap::new(),
            long_aux_due: Default::default(),
            offline_since: Default::default(),
            notifications: None,
            changes: Vec::new(),
            applied_since_housekeeping: 0,
            oplog: None,
            auto_advanced: Ms::MIN,
            version: 0,
            view_cache: Vec::new(),
            marks: Vec::new(),
            roster_slots: Vec::new(),
            ratio_bufs: Vec::new(),
            day_caches: Vec::new(),
        };
        if let Some(up) = initial {
            // Validated at start (names counted there too): a refusal here changes nothing.
            let _ = engine.upload_roster_file(&up);
        }
        engine
    }

    /// Collect fired/resolved/retracted alerts for `take_notifications` (hooks and push).
    pub fn enable_notifications(&mut self) {
        self.notifications = Some(Vec::new());
    }

    pub fn take_notifications(&mut self) -> Vec<Arc<StoredAlert>> {
        self.notifications.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Steps every team's detectors on every `advance` instead of only the teams that are
    /// due. Same results, slower: the reference the tests compare the due-only stepping with.
    #[doc(hidden)]
    pub fn step_every_team(&mut self) {
        self.step_every_team = true;
    }

    /// Views compute every window from the timelines instead of reusing per-agent parts
    /// (`ViewCache`, marks). Same figures, slower: the reference the tests compare the
    /// caches with.
    #[doc(hidden)]
    pub fn no_view_cache(&mut self) {
        self.no_view_cache = true;
    }

    /// Views of the floor run in `parts` parts on as many threads (their figures do not
    /// depend on it: the tests compare `parts` with one). Without a roster only: with one,
    /// a view is always one part.
    #[doc(hidden)]
    pub fn view_parts(&mut self, parts: usize) {
        self.view_parts = Some(parts.max(1));
    }

    /// Applying an event of `agent` panics from now on: a stand-in for a bug in the core,
    /// for the tests of its containment.
    #[cfg(test)]
    pub fn panic_on_agent(&mut self, agent: &str) {
        self.panic_on_agent = Some(agent.into());
    }

    /// Sends every later housekeeping step to `log` (the journal).
    pub fn set_oplog(&mut self, log: Box<dyn OpLog>) {
        self.oplog = Some(log);
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

    /// Refused events of `source` per reason (`Refusal as usize`).
    pub fn refusals(&self, source: Source) -> RefusalCounts {
        self.refusals.get(&source).copied().unwrap_or_default()
    }

    /// Counts an event rejected at the edge (undecodable, oversized...).
    pub fn count_invalid(&mut self, source: Source, why: Refusal) {
        self.count(source, Outcome::Invalid(why));
    }

    fn count(&mut self, source: Source, o: Outcome) {
        self.ingest.entry(source).or_default().count(o);
        if let Some(r) = o.refusal() {
            self.refusals.entry(source).or_default()[r as usize] += 1;
        }
    }

    /// Whether an event naming team `id` is refused: the team is new and [`MAX_TEAMS`] are
    /// known (`unassigned`, where agents without a team go, is always taken).
    fn teams_full(&self, id: &str) -> bool {
        self.team_index.len() >= MAX_TEAMS && id != UNASSIGNED && !self.team_index.contains_key(id)
    }

    fn team_idx(&mut self, id: &str, at: Ms) -> TeamIdx {
        if let Some(&i) = self.team_index.get(id) {
            return i;
        }
        // A new team starts at local midnight so that configured peak windows earlier today
        // count for it (they hold for every team, whatever its membership).
        let clock = self.cal.midnight(at.max(0));
        // The no-shows' alerts counted under `unassigned` so far go with the team of that id.
        let alerts = if id == UNASSIGNED { std::mem::take(&mut self.unassigned_alerts) } else { Default::default() };
        let team = Team {
            id: id.to_string(),
            roster: Roster::default(),
            det: TeamDet::new(&self.settings, clock),
            handle: HandleTimes::default(),
            contacts_total: 0,
            state_ms: [0; 6],
            alerts,
            empty_since: None,
        };
        let i = match self.team_free.pop() {
            Some(i) => {
                self.teams[i as usize] = Some(team);
                self.team_due[i as usize] = Ms::MIN;
                i
            }
            None => {
                self.teams.push(Some(team));
                self.team_due.push(Ms::MIN);
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

    /// Live teams (for metrics). `Team::state_ms` holds closed spans; add the open ones
    /// with [`Engine::team_state_ms`].
    pub fn teams(&self) -> impl Iterator<Item = &Team> {
        self.teams.iter().flatten()
    }

    /// The alert counters of `unassigned` while no team has that id.
    pub fn unassigned_alerts(&self) -> &AlertCounts {
        &self.unassigned_alerts
    }

    /// Alerts in the store (firing, and resolved ones kept), and how many resolved ones
    /// were forgotten before their time for `limits.max_alerts`.
    pub fn alerts_held(&self) -> (usize, u64) {
        (self.alerts.len(), self.alerts_dropped)
    }

    /// The ids of the teams a view of the whole floor lists, sorted: the live teams, and
    /// `unassigned` while a scheduled agent has not been seen (the view's stand-in team for
    /// them, docs/adherence.md). The board's list of teams (`team_ids`) whatever its
    /// filter: from the live teams alone, a filtered board left out the `unassigned` that
    /// the floor's pushes listed, and a page's list flipped with each.
    pub fn team_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.teams().filter(|t| !t.roster.is_empty()).map(|t| t.id.clone()).collect();
        if !ids.iter().any(|i| i == adherence::UNASSIGNED)
            && self.roster.scheduled().any(|(_, id)| self.agents.find(id).is_none())
        {
            ids.push(adherence::UNASSIGNED.to_string());
        }
        ids.sort_unstable();
        ids
    }

    /// The ids of the teams the engine keeps while they have no member (all their agents
    /// moved to other teams; forgotten after `floor.forget_offline_after_secs`), sorted: a
    /// board opened on one says it has no agents now rather than that the floor has no
    /// such team.
    pub fn emptied_team_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.teams().filter(|t| t.roster.is_empty()).map(|t| t.id.clone()).collect();
        ids.sort_unstable();
        ids
    }

    /// Cumulative milliseconds per kind spent by a team's members up to `now` (an agent
    /// counts for the team it was in at the time).
    pub fn team_state_ms(&self, team: &Team, now: Ms) -> [Ms; 6] {
        let mut out = team.state_ms;
        for &ai in team.roster.members() {
            let a = self.agents.get(ai);
            out[a.kind as usize] += (now - a.seg_start).max(0);
        }
        out
    }

    /// The queues (for metrics).
    pub fn queues(&self) -> &crate::queue::Queues {
        &self.queues
    }

    /// Live agents (for per-agent metrics).
    pub fn agents(&self) -> impl Iterator<Item = &Agent> {
        self.agents.iter().map(|(_, a)| a)
    }
}
