//! Prometheus exposition of the floor (docs/figures.md#where-to-read-them, docs/alerts.md#where-else-alerts-show).
//!
//! Two kinds of families end up on `GET /metrics`:
//!
//! * **Engine-derived families** (`floorwatch_agents`, the window ratios, the counters of
//!   contacts, state seconds, alerts and events, the handle-time histogram...). They are a
//!   function of the engine at `now`, so [`Metrics::render`] reads the engine and writes
//!   them straight into the text format. They are *not* kept in `prometheus` vectors: at the
//!   target size (2,000 teams, ~56 series each, ≈110k series) the crate's
//!   gather-and-encode path alone costs ~300 ms per scrape (PERF-NOTES), three times the
//!   100 ms scrape budget (BENCHMARKS.md), because it builds a protobuf `Metric` with owned label pairs
//!   for every series and then re-reads them. Writing the text directly costs one `String`
//!   (pre-sized from the previous scrape) and no per-series allocation, and a team that
//!   disappears from the engine disappears from the next scrape without any
//!   reset/remove bookkeeping.
//! * **Everything else** lives in the one explicit [`Registry`] created here and handed
//!   down at start-up ([`Metrics::registry`]): `floorwatch_build_info`, the process
//!   collector, and the families other modules register (hooks, the `/ws` hub). Those are
//!   few and small, so the crate's gather and text encoder are fine for them.
//!
//! Counters that the engine keeps as totals are exported as such (no `inc_by`
//! bookkeeping; alerts firing and fired are counted per team by the engine as they fire and
//! resolve), with one correction that needs memory across scrapes (`Memory`): state
//! seconds are held monotonic (see `TeamMemory::state_ms`).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use prometheus::{IntGaugeVec, Opts, Registry, TextEncoder};

use crate::alert::AlertKind;
use crate::detect::aht_chart::PointFigures;
use crate::engine::{Engine, Source, ViewOpts};
use crate::engine::{GroupView, Team};
use crate::event::Refusal;
use crate::floor::timeline::Kind;
use crate::time::Ms;

/// Upper bounds of `floorwatch_handle_time_seconds` (seconds; docs/figures.md#contacts); the engine counts
/// contacts in them as they complete (`HandleTimes`).
pub use crate::engine::HANDLE_BUCKETS_S;

/// The states of the `state` label, in exposition order.
const STATES: [&str; 5] = ["talking", "acw", "aux", "idle", "offline"];

/// Names of the families written by `render` itself. A family of the same name registered in
/// the registry by another module would make the exposition invalid (two blocks of one
/// family), so it is left out of the scrape and reported once.
const ENGINE_FAMILIES: [&str; 37] = [
    "floorwatch_adherence_ratio",
    "floorwatch_roster_agents",
    "floorwatch_roster_rows",
    "floorwatch_roster_rows_limit",
    "floorwatch_agents_out_of_adherence",
    "floorwatch_queue_calls_refused_total",
    "floorwatch_queue_calls_waiting",
    "floorwatch_queue_longest_wait_seconds",
    "floorwatch_queue_calls_total",
    "floorwatch_queue_wait_seconds",
    "floorwatch_queue_service_level_ratio",
    "floorwatch_queue_alerts_active",
    "floorwatch_queue_alerts_fired_total",
    "floorwatch_agents",
    "floorwatch_agents_aux_unplanned",
    "floorwatch_state_seconds_total",
    "floorwatch_talk_utilization_ratio",
    "floorwatch_aux_ratio",
    "floorwatch_occupancy_ratio",
    "floorwatch_aux_ratio_cv",
    "floorwatch_aht_seconds",
    "floorwatch_aht_point_seconds",
    "floorwatch_aht_center_seconds",
    "floorwatch_aht_ucl_seconds",
    "floorwatch_aht_lcl_seconds",
    "floorwatch_contacts_total",
    "floorwatch_handle_time_seconds",
    "floorwatch_peak",
    "floorwatch_alerts_active",
    "floorwatch_alerts_fired_total",
    "floorwatch_alerts_retracted_total",
    "floorwatch_alerts_stored",
    "floorwatch_alerts_stored_limit",
    "floorwatch_alerts_forgotten_early_total",
    "floorwatch_events_total",
    "floorwatch_ingest_connections",
    "floorwatch_agent_state",
];

/// The `/metrics` exposition. Shared by the HTTP handlers (`&self`); its memory across
/// scrapes sits behind a mutex that only `render` takes, and `render` runs with the engine
/// locked, so the mutex is never contended.
pub struct Metrics {
    registry: Registry,
    per_agent: bool,
    memory: Mutex<Memory>,
}

/// What a scrape must remember from the previous ones. Owned by `Metrics::memory`.
#[derive(Default)]
struct Memory {
    /// Per live team (by id); entries of teams gone from the engine are dropped at the end
    /// of each render, so the map is bounded by the engine's teams.
    teams: HashMap<String, TeamMemory>,
    /// Render counter, to find the teams not seen in this render.
    generation: u64,
    /// Size of the previous exposition, to allocate the next one in one go.
    last_len: usize,
    /// Size of the previous exposition's second part (`write_engine`), likewise.
    last_second: usize,
    /// A registry family collided with an engine family (reported once).
    collision_reported: bool,
}

#[derive(Default)]
struct TeamMemory {
    generation: u64,
    /// Last exported state milliseconds, by `STATES` index. The engine's running totals
    /// (`Engine::team_state_ms`) can go *down*: an agent's open span is counted up to
    /// `now`, and an event that arrives after a scrape but carries an earlier `ts` closes
    /// the span at that `ts` (the wall clock applies events at their own time; the event
    /// clock's now runs ahead of other agents' events). Prometheus reads any decrease of a
    /// counter as a reset and `rate()` would then count the whole total again, so the
    /// exported value is the running maximum; the engine's value catches up within the
    /// feed's delay.
    state_ms: [Ms; 5],
    /// `Team::contacts_total` at the last render. It only grows for one `Team`, so a decrease
    /// means the team was dropped (housekeeping) and created anew: memory starts over, and
    /// Prometheus sees a counter reset, which is what happened. (A team recreated between
    /// two scrapes that never completed a contact is not detected; its state seconds then
    /// stay flat until they pass the old team's.)
    contacts: u64,
}

/// One team's figures for this scrape, gathered before writing because the text format
/// wants each family's samples together (families outside, teams inside).
struct Row<'v> {
    view: &'v GroupView,
    state_ms: [Ms; 5],
    /// Handle times and alert counts are read from the team as the engine keeps them.
    team: &'v Team,
}

impl Metrics {
    /// Creates the registry with `floorwatch_build_info` and the process collector.
    ///
    /// `per_agent` adds `floorwatch_agent_state{agent,team,state}`: one series per agent
    /// the engine tracks (offline ones included), e.g. 100,000 more series on a
    /// 100,000-agent floor, and a new series each time an agent changes state (the `state`
    /// label moves), which is why it is off by default (`metrics.per_agent`).
    pub fn new(per_agent: bool) -> Metrics {
        let registry = Registry::new();
        let build = IntGaugeVec::new(
            Opts::new("floorwatch_build_info", "floorwatch build information; the value is always 1."),
            &["version"],
        )
        .expect("valid build_info metric");
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        registry.register(Box::new(build)).expect("build_info registered once");
        #[cfg(target_os = "linux")]
        registry
            .register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))
            .expect("process collector registered once");
        Metrics { registry, per_agent, memory: Mutex::new(Memory::default()) }
    }

    /// The one registry of the process, for the families of other modules (hooks, `/ws`).
    /// Names must not be those of the engine families (`ENGINE_FAMILIES`).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Reads every engine-derived family from the engine at `now`, then appends the
    /// registry's families, all in the text format (version 0.0.4). Called by
    /// `GET /metrics` with the engine locked; `connections` are the open ingest
    /// connections per source (`floorwatch_ingest_connections`).
    ///
    /// Cost: one `Engine::view` without agents (with agents when per-agent series are on)
    /// and without alerts, which sums every agent's timeline over every window; then O(teams) for a sort, a
    /// hash lookup per team and the writing of ~56 series per team into one pre-sized
    /// `String` (≈110k series, ~7.5 MB: 20–40 ms measured for the writer alone at
    /// opt-level 3 on a loaded 2-core machine, a quarter of it float formatting and a
    /// sixth the page faults of the fresh buffer); and the crate's gather of the small
    /// registry. Alerts and handle-time histograms are the engine's own counts, read as
    /// they are.
    pub fn render(&self, engine: &mut Engine, now: Ms, connections: &[(&str, i64)]) -> String {
        self.render_with(engine, now, connections, None)
    }

    /// `render`, on two threads or one as `threads` says (None: two from `PARALLEL_TEAMS`
    /// teams on).
    fn render_with(&self, engine: &mut Engine, now: Ms, connections: &[(&str, i64)], threads: Option<bool>) -> String {
        let view = engine.view(now, &ViewOpts { team: None, agents: self.per_agent, alerts: false, scrape: true });
        let engine: &Engine = engine;
        let mut guard = self.memory.lock().unwrap_or_else(PoisonError::into_inner);
        let mem = &mut *guard;
        mem.generation += 1;
        let generation = mem.generation;

        // Live teams, by id like the view's, joined to the view's teams.
        let mut teams: Vec<&Team> = engine.teams().collect();
        teams.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        let mut rows: Vec<Row> = Vec::with_capacity(view.teams.len());
        let mut ti = teams.iter().peekable();
        // The view lists `unassigned` for scheduled agents never seen even when the engine
        // has no such team (docs/adherence.md): its series come from a stand-in, empty but
        // for the no-shows' alerts.
        let stand_in = Team {
            id: crate::engine::UNASSIGNED.to_string(),
            roster: Default::default(),
            det: crate::detect::team::TeamDet::new(&engine.settings, 0),
            handle: Default::default(),
            contacts_total: 0,
            state_ms: [0; 6],
            alerts: *engine.unassigned_alerts(),
            empty_since: None,
        };
        for gv in &view.teams {
            while ti.next_if(|t| t.id < gv.id).is_some() {}
            let Some(team) =
                ti.next_if(|t| t.id == gv.id).copied().or_else(|| (gv.id == stand_in.id).then_some(&stand_in))
            else {
                debug_assert!(false, "team {} in the view but not in the engine", gv.id);
                continue;
            };
            let tm = match mem.teams.get_mut(&team.id) {
                Some(tm) => tm,
                None => mem.teams.entry(team.id.clone()).or_default(),
            };
            if team.contacts_total < tm.contacts {
                *tm = TeamMemory::default();
            }
            tm.generation = generation;
            tm.contacts = team.contacts_total;
            // `Engine::team_state_ms`, summed by the view in its pass over the agents (a
            // second pass here, team by team, was a cache miss per agent).
            let ms = gv.state_ms;
            let by_state = [
                ms[Kind::Talking as usize],
                ms[Kind::Acw as usize],
                ms[Kind::AuxUnplanned as usize] + ms[Kind::AuxPlanned as usize],
                ms[Kind::Idle as usize],
                ms[Kind::Offline as usize],
            ];
            for (last, cur) in tm.state_ms.iter_mut().zip(by_state) {
                *last = (*last).max(cur);
            }
            // Alerts as the engine counts them: committed steps only, so an alert evaluated
            // tentatively at `now` itself (docs/alerts.md#timing) shows here once time has moved past
            // `now`, within a ticker period, and is never counted twice.
            rows.push(Row { view: gv, state_ms: tm.state_ms, team });
        }

        mem.teams.retain(|_, tm| tm.generation == generation);
        // A team all of whose agents moved away is not listed, but an alert of its may still
        // fire (an AHT chart's until the team's next point, an agent's told in it): its
        // `floorwatch_alerts_active` stays while one does. Not a team the view lists without
        // members (`unassigned`, the no-shows' stand-in).
        let emptied: Vec<&Team> = teams
            .iter()
            .copied()
            .filter(|t| t.roster.is_empty() && t.alerts.firing.iter().any(|&n| n > 0))
            .filter(|t| rows.binary_search_by(|r| r.view.id.as_str().cmp(&t.id)).is_err())
            .collect();

        let parts =
            Parts { rows: &rows, emptied: &emptied, engine, view: &view, connections, per_agent: self.per_agent };
        let threads = threads.unwrap_or(rows.len() >= PARALLEL_TEAMS);
        let (mut out, second) = parts.write([mem.last_len, mem.last_second], threads);
        mem.last_second = second;
        // The roster's size against its bound (an upload past `roster.max_rows` is refused).
        let roster = engine.roster();
        out.header("floorwatch_roster_agents", "gauge", "Agents with a schedule (scheduled today or on a day held).");
        out.sample("floorwatch_roster_agents", &[], V::U(roster.len() as u64));
        out.header(
            "floorwatch_roster_rows",
            "gauge",
            "Schedule rows held, every agent and day; past days are dropped after midnight.",
        );
        out.sample("floorwatch_roster_rows", &[], V::U(roster.rows_held() as u64));
        out.header(
            "floorwatch_roster_rows_limit",
            "gauge",
            "roster.max_rows: an upload that would hold more rows is refused.",
        );
        out.sample("floorwatch_roster_rows_limit", &[], V::U(roster.settings().max_rows as u64));
        // The alert store's size against its bound.
        let (held, early) = engine.alerts_held();
        out.header(
            "floorwatch_alerts_stored",
            "gauge",
            "Alerts held for GET /api/v1/alerts: firing, and resolved ones (kept 48 hours, fewer past limits.max_alerts).",
        );
        out.sample("floorwatch_alerts_stored", &[], V::U(held as u64));
        out.header("floorwatch_alerts_stored_limit", "gauge", "limits.max_alerts.");
        out.sample("floorwatch_alerts_stored_limit", &[], V::U(engine.settings.max_alerts as u64));
        out.header(
            "floorwatch_alerts_forgotten_early_total",
            "counter",
            "Resolved alerts forgotten before their 48 hours because the store held more than limits.max_alerts.",
        );
        out.sample("floorwatch_alerts_forgotten_early_total", &[], V::U(early));

        let mut families = self.registry.gather();
        let before = families.len();
        families.retain(|f| !ENGINE_FAMILIES.contains(&f.name()));
        if families.len() != before && !mem.collision_reported {
            mem.collision_reported = true;
            tracing::error!("a registered metric family uses the name of an engine family; it is left out of /metrics");
        }
        if let Err(e) = TextEncoder::new().encode_utf8(&families, &mut out.buf) {
            tracing::error!(error = %e, "encoding the registry's metric families failed");
        }
        mem.last_len = out.buf.len();
        out.buf
    }
}

/// Teams from which a scrape writes its text on two threads (below, a thread costs more
/// than it saves).
const PARALLEL_TEAMS: usize = 256;

/// Room above a previous size, so that a floor that grew a little does not reallocate.
fn room(last: usize) -> usize {
    last + last / 8 + 4096
}

/// What the engine's families are written from.
struct Parts<'a> {
    rows: &'a [Row<'a>],
    /// Teams without a member that have an alert firing (not in `rows`).
    emptied: &'a [&'a Team],
    engine: &'a Engine,
    view: &'a crate::engine::View,
    connections: &'a [(&'a str, i64)],
    per_agent: bool,
}

impl Parts<'_> {
    /// The engine's families in exposition order, and the size of the second part. The
    /// teams' families up to the AHT chart's make the first part, the others and the
    /// queues' the second (about half the bytes each at 2,000 teams and 500 queues);
    /// `threads`: the second part is written on a thread of its own into its own buffer,
    /// then appended (the same bytes as writing both in one go; a test compares). `last`:
    /// the previous scrape's whole size and second part's, to size the buffers.
    fn write(&self, last: [usize; 2], threads: bool) -> (Text, usize) {
        let mut out = Text::with_capacity(room(last[0]));
        // The engine is not `Sync` (its journal hook): what the second part reads of it
        // is read here.
        let mut ingest = Text { buf: String::new() };
        write_ingest(&mut ingest, self.engine, self.connections);
        let (queues, rows, view, per_agent) = (self.engine.queues(), self.rows, self.view, self.per_agent);
        let emptied = self.emptied;
        let second = |out: &mut Text| {
            write_teams_second(out, rows, emptied);
            out.buf.push_str(&ingest.buf);
            write_queues(out, queues, view);
            if per_agent {
                write_agents(out, view);
            }
        };
        if !threads {
            write_teams_first(&mut out, self.rows, &self.view.window_names);
            let at = out.buf.len();
            second(&mut out);
            let n = out.buf.len() - at;
            return (out, n);
        }
        let b = std::thread::scope(|s| {
            let h = s.spawn(|| {
                let mut b = Text::with_capacity(room(last[1]));
                second(&mut b);
                b
            });
            write_teams_first(&mut out, self.rows, &self.view.window_names);
            h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
        });
        out.buf.push_str(&b.buf);
        let n = b.buf.len();
        crate::mem::give_buffer(b.buf.into_bytes());
        (out, n)
    }
}

fn write_agents(out: &mut Text, view: &crate::engine::View) {
    out.header(
        "floorwatch_agent_state",
        "gauge",
        "1 for each agent's current state (per-agent series: one per tracked agent).",
    );
    for a in &view.agents {
        out.sample(
            "floorwatch_agent_state",
            &[("agent", &a.id), ("team", &a.team), ("state", a.state.as_str())],
            V::U(1),
        );
    }
}

/// The teams' families up to the AHT chart's.
fn write_teams_first(out: &mut Text, rows: &[Row], windows: &[String]) {
    out.header("floorwatch_agents", "gauge", "Agents of the team now in each state (aux: planned and unplanned).");
    for r in rows {
        let c = &r.view.counts;
        for (state, n) in STATES.iter().zip([c.talking(), c.acw(), c.aux(), c.idle(), c.offline()]) {
            out.sample("floorwatch_agents", &[("team", &r.view.id), ("state", state)], V::U(n.into()));
        }
    }
    out.header("floorwatch_agents_aux_unplanned", "gauge", "Agents of the team now in unplanned aux.");
    for r in rows {
        out.sample(
            "floorwatch_agents_aux_unplanned",
            &[("team", &r.view.id)],
            V::U(r.view.counts.aux_unplanned().into()),
        );
    }
    out.header(
        "floorwatch_agents_out_of_adherence",
        "gauge",
        "Agents of the team now out of adherence with their schedule.",
    );
    for r in rows {
        out.sample("floorwatch_agents_out_of_adherence", &[("team", &r.view.id)], V::U(r.view.out_of_adherence.into()));
    }
    out.header(
        "floorwatch_state_seconds_total",
        "counter",
        "Seconds the team's members have spent in each state, counted for the team they were in at the time.",
    );
    for r in rows {
        for (state, ms) in STATES.iter().zip(r.state_ms) {
            out.sample(
                "floorwatch_state_seconds_total",
                &[("team", &r.view.id), ("state", state)],
                V::F(ms as f64 / 1000.0),
            );
        }
    }

    // Window figures; a null figure (zero denominator) has no sample at all.
    type Figure = fn(&GroupView, usize) -> Option<f64>;
    let figures: [(&str, &str, Figure); 6] = [
        (
            "floorwatch_talk_utilization_ratio",
            "Talking time / staffed time (scheduled time with a roster, else logged-in time) over the window.",
            |g, w| g.windows[w].talk_utilization(),
        ),
        ("floorwatch_aux_ratio", "Unplanned aux time / logged-in time over the window.", |g, w| {
            g.windows[w].aux_ratio()
        }),
        ("floorwatch_occupancy_ratio", "(Talking + ACW) / (talking + ACW + idle) time over the window.", |g, w| {
            g.windows[w].occupancy()
        }),
        (
            "floorwatch_aux_ratio_cv",
            "Coefficient of variation of the qualifying members' unplanned aux ratios over the window.",
            |g, w| g.dispersion.get(w).and_then(|d| d.aux.cv),
        ),
        ("floorwatch_aht_seconds", "Average handle time of the contacts completed in the window.", |g, w| {
            g.windows[w].aht_s()
        }),
        (
            "floorwatch_adherence_ratio",
            "Scheduled time in adherence / scheduled time over the window (members with a roster).",
            |g, w| g.windows[w].adherence(),
        ),
    ];
    for (name, help, f) in figures {
        out.header(name, "gauge", help);
        for r in rows {
            for (w, window) in windows.iter().enumerate() {
                if let Some(v) = f(r.view, w) {
                    out.sample(name, &[("team", &r.view.id), ("window", window)], V::F(v));
                }
            }
        }
    }

    // The AHT control chart's last closed point per kind (`interval`), and its centre line
    // and limits when it had a full baseline (docs/figures.md#aht-control-chart).
    type Line = fn(&PointFigures) -> Option<f64>;
    let lines: [(&str, &str, Line); 4] = [
        ("floorwatch_aht_point_seconds", "Mean handle time of the AHT chart's last closed point.", |p| Some(p.mean_s)),
        ("floorwatch_aht_center_seconds", "Centre line (baseline mean) of the AHT chart's last closed point.", |p| {
            p.cl_s
        }),
        ("floorwatch_aht_ucl_seconds", "Upper control limit of the AHT chart's last closed point.", |p| p.ucl_s),
        ("floorwatch_aht_lcl_seconds", "Lower control limit of the AHT chart's last closed point.", |p| p.lcl_s),
    ];
    for (name, help, f) in lines {
        out.header(name, "gauge", help);
        for r in rows {
            let Some(chart) = &r.view.aht_chart else { continue };
            for (interval, points) in &chart.kinds {
                if let Some(v) = points.last().and_then(f) {
                    out.sample(name, &[("team", &r.view.id), ("interval", interval)], V::F(v));
                }
            }
        }
    }
}

/// The teams' families after the AHT chart's.
fn write_teams_second(out: &mut Text, rows: &[Row], emptied: &[&Team]) {
    out.header("floorwatch_contacts_total", "counter", "Contacts completed by the team's members.");
    for r in rows {
        out.sample("floorwatch_contacts_total", &[("team", &r.view.id)], V::U(r.view.contacts_total));
    }
    out.header(
        "floorwatch_handle_time_seconds",
        "histogram",
        "Handle time (talk + following ACW) of completed contacts.",
    );
    for r in rows {
        let team = r.view.id.as_str();
        for (b, n) in HANDLE_BUCKETS_S.iter().zip(r.team.handle.cumulative()) {
            out.sample_le("floorwatch_handle_time_seconds_bucket", team, Le::Secs(*b), n);
        }
        let count = r.team.handle.count();
        out.sample_le("floorwatch_handle_time_seconds_bucket", team, Le::Inf, count);
        // Exact: below 10^15 ms (31,000 years) the sum has at most 15 significant digits,
        // so the nearest f64 to it in seconds prints back (`push_f64`) as those digits.
        let sum_s = r.team.handle.sum_ms() as f64 / 1000.0;
        out.sample("floorwatch_handle_time_seconds_sum", &[("team", team)], V::F(sum_s));
        out.sample("floorwatch_handle_time_seconds_count", &[("team", team)], V::U(count));
    }
    out.header("floorwatch_peak", "gauge", "1 while the team is at peak time, else 0.");
    for r in rows {
        out.sample("floorwatch_peak", &[("team", &r.view.id)], V::U(r.view.peak.into()));
    }
    out.header("floorwatch_alerts_active", "gauge", "Alerts now firing.");
    for (id, team) in rows.iter().map(|r| (&r.view.id, r.team)).chain(emptied.iter().map(|t| (&t.id, *t))) {
        // By position in `TEAM` (a kind's discriminant is its place in `ALL`).
        for (i, k) in AlertKind::TEAM.iter().enumerate() {
            out.sample(
                "floorwatch_alerts_active",
                &[("kind", k.as_str()), ("team", id)],
                V::U(team.alerts.firing[i].into()),
            );
        }
    }
    out.header("floorwatch_alerts_fired_total", "counter", "Alerts fired.");
    for r in rows {
        for (i, k) in AlertKind::TEAM.iter().enumerate() {
            out.sample(
                "floorwatch_alerts_fired_total",
                &[("kind", k.as_str()), ("team", &r.view.id)],
                V::U(r.team.alerts.fired[i]),
            );
        }
    }
    out.header(
        "floorwatch_alerts_retracted_total",
        "counter",
        "Alerts taken back after they were told: events that arrived late showed they did not happen so.",
    );
    for r in rows {
        for (i, k) in AlertKind::TEAM.iter().enumerate() {
            out.sample(
                "floorwatch_alerts_retracted_total",
                &[("kind", k.as_str()), ("team", &r.view.id)],
                V::U(r.team.alerts.retracted[i]),
            );
        }
    }
}

/// The queues' families (SPEC §8.4). `floorwatch_queue_wait_seconds` has `sl_secs` and
/// `short_abandon_secs` among its bounds, so service level at those thresholds is exact
/// from the histogram (docs/figures.md#queues).
fn write_queues(out: &mut Text, all: &crate::queue::Queues, view: &crate::engine::View) {
    let mode = view.queue_settings.sl_mode;
    out.header("floorwatch_queue_calls_waiting", "gauge", "Calls waiting in the queue now.");
    for (q, f) in &view.queues {
        out.sample("floorwatch_queue_calls_waiting", &[("queue", q)], V::U(f.waiting));
    }
    out.header(
        "floorwatch_queue_longest_wait_seconds",
        "gauge",
        "How long the oldest call waiting in the queue has waited (no sample when none waits).",
    );
    for (q, f) in &view.queues {
        if let Some(ms) = f.longest_wait_ms(view.now) {
            out.sample("floorwatch_queue_longest_wait_seconds", &[("queue", q)], V::F(ms as f64 / 1000.0));
        }
    }
    let mut queues: Vec<&crate::queue::Queue> = all.iter().collect();
    queues.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    out.header("floorwatch_queue_calls_total", "counter", "Calls that stopped waiting in the queue, by outcome.");
    for q in &queues {
        for e in crate::queue::Ending::ALL {
            let n = q.totals.count[e as usize];
            out.sample("floorwatch_queue_calls_total", &[("queue", &q.id), ("outcome", e.as_str())], V::U(n));
        }
    }
    out.header("floorwatch_queue_wait_seconds", "histogram", "How long calls waited in the queue, by outcome.");
    // Every queue has the same bounds (the configuration's): their `le` text is made once.
    let mut les: (Vec<Ms>, Vec<String>) = (Vec::new(), Vec::new());
    for q in &queues {
        let t = &q.totals;
        if les.0 != t.bounds_ms {
            les.0 = t.bounds_ms.clone();
            les.1 = t
                .bounds_ms
                .iter()
                .map(|b| {
                    let mut s = String::new();
                    push_f64(&mut s, *b as f64 / 1000.0);
                    s
                })
                .chain(["+Inf".to_string()])
                .collect();
        }
        for e in crate::queue::Ending::ALL {
            let k = e as usize;
            let mut cum = 0;
            for (n, le) in t.buckets[k].iter().zip(&les.1) {
                cum += n;
                let labels = [("queue", q.id.as_str()), ("outcome", e.as_str()), ("le", le.as_str())];
                out.sample("floorwatch_queue_wait_seconds_bucket", &labels, V::U(cum));
            }
            let labels = [("queue", q.id.as_str()), ("outcome", e.as_str())];
            out.sample("floorwatch_queue_wait_seconds_sum", &labels, V::F(t.sum_ms[k] as f64 / 1000.0));
            out.sample("floorwatch_queue_wait_seconds_count", &labels, V::U(t.count[k]));
        }
    }
    out.header(
        "floorwatch_queue_service_level_ratio",
        "gauge",
        "Service level over the window (queues.sl_mode; no sample when no call counts).",
    );
    for (q, f) in &view.queues {
        for (w, window) in view.queue_window_names.iter().enumerate() {
            if let Some(v) = f.windows[w].service_level(mode) {
                out.sample("floorwatch_queue_service_level_ratio", &[("queue", q), ("window", window)], V::F(v));
            }
        }
    }
    out.header(
        "floorwatch_queue_calls_refused_total",
        "counter",
        "queued events refused because limits.max_waiting_calls calls were waiting (also in floorwatch_events_total, reason too_large).",
    );
    out.sample("floorwatch_queue_calls_refused_total", &[], V::U(all.refused_full));
    out.header("floorwatch_queue_alerts_active", "gauge", "Queue alerts now firing.");
    for q in &queues {
        for (i, k) in AlertKind::QUEUE.iter().enumerate() {
            let labels = [("kind", k.as_str()), ("queue", q.id.as_str())];
            out.sample("floorwatch_queue_alerts_active", &labels, V::U(q.alerts_firing[i].into()));
        }
    }
    out.header("floorwatch_queue_alerts_fired_total", "counter", "Queue alerts fired.");
    for q in &queues {
        for (i, k) in AlertKind::QUEUE.iter().enumerate() {
            let labels = [("kind", k.as_str()), ("queue", q.id.as_str())];
            out.sample("floorwatch_queue_alerts_fired_total", &labels, V::U(q.alerts_fired[i]));
        }
    }
}

fn write_ingest(out: &mut Text, engine: &Engine, connections: &[(&str, i64)]) {
    out.header(
        "floorwatch_events_total",
        "counter",
        "Events received, by source and outcome, refused ones also by reason (skewed events are also counted as applied).",
    );
    // Refused outcomes carry a `reason` (SPEC §2.6); `applied` and `skewed` have none rather
    // than `reason=""`, which PromQL cannot tell from an absent label anyway. Every
    // (outcome, reason) pair is exported from the start, at 0, so rates see the first one.
    for s in Source::all() {
        let c = engine.ingest(s);
        let refusals = engine.refusals(s);
        out.sample("floorwatch_events_total", &[("source", s.as_str()), ("outcome", "applied")], V::U(c.applied));
        for r in Refusal::ALL {
            out.sample(
                "floorwatch_events_total",
                &[("source", s.as_str()), ("outcome", r.outcome()), ("reason", r.as_str())],
                V::U(refusals[r as usize]),
            );
        }
        out.sample("floorwatch_events_total", &[("source", s.as_str()), ("outcome", "skewed")], V::U(c.skewed));
    }
    out.header("floorwatch_ingest_connections", "gauge", "Open ingest connections.");
    // One sample per source even if the caller lists a source twice (a repeated label set
    // would make the whole exposition invalid).
    for (i, (source, _)) in connections.iter().enumerate() {
        if connections[..i].iter().any(|(s, _)| s == source) {
            continue;
        }
        let n: i64 = connections[i..].iter().filter(|(s, _)| s == source).map(|(_, n)| n).sum();
        out.sample("floorwatch_ingest_connections", &[("source", source)], V::I(n));
    }
}

enum V {
    U(u64),
    I(i64),
    F(f64),
}

enum Le {
    Secs(u64),
    Inf,
}

/// A text-format (0.0.4) writer into one `String`. Writing to a `String` cannot fail, so
/// the `fmt::Result`s are discarded.
struct Text {
    buf: String,
}

impl Text {
    /// An empty text with room for `bytes` ([`crate::mem::take_buffer`]: a large one's
    /// pages kept from an earlier scrape).
    fn with_capacity(bytes: usize) -> Text {
        Text { buf: String::from_utf8(crate::mem::take_buffer(bytes)).expect("an empty buffer is UTF-8") }
    }

    fn header(&mut self, name: &str, kind: &str, help: &str) {
        let b = &mut self.buf;
        for part in ["# HELP ", name, " ", help, "\n# TYPE ", name, " ", kind, "\n"] {
            b.push_str(part);
        }
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], v: V) {
        self.buf.push_str(name);
        self.labels(labels);
        self.value(v);
    }

    fn sample_le(&mut self, name: &str, team: &str, le: Le, n: u64) {
        let b = &mut self.buf;
        b.push_str(name);
        b.push_str("{team=\"");
        push_escaped(b, team);
        b.push_str("\",le=\"");
        match le {
            Le::Secs(s) => push_u64(b, s),
            Le::Inf => b.push_str("+Inf"),
        }
        b.push_str("\"}");
        self.value(V::U(n));
    }

    fn labels(&mut self, labels: &[(&str, &str)]) {
        let b = &mut self.buf;
        for (i, (k, v)) in labels.iter().enumerate() {
            b.push_str(if i == 0 { "{" } else { "," });
            b.push_str(k);
            b.push_str("=\"");
            push_escaped(b, v);
            b.push('"');
        }
        if !labels.is_empty() {
            b.push('}');
        }
    }

    fn value(&mut self, v: V) {
        let b = &mut self.buf;
        b.push(' ');
        match v {
            V::U(n) => push_u64(b, n),
            V::I(n) => {
                if n < 0 {
                    b.push('-');
                }
                push_u64(b, n.unsigned_abs());
            }
            V::F(x) => push_f64(b, x),
        }
        b.push('\n');
    }
}

/// Label value escaping of the text format: backslash, double quote and line feed.
fn push_escaped(b: &mut String, s: &str) {
    if !s.bytes().any(|c| matches!(c, b'\\' | b'"' | b'\n')) {
        b.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => b.push_str("\\\\"),
            '"' => b.push_str("\\\""),
            '\n' => b.push_str("\\n"),
            c => b.push(c),
        }
    }
}

/// Decimal digits without `fmt` (a third of the cost of `write!` here).
fn push_u64(b: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    b.push_str(std::str::from_utf8(&digits[i..]).expect("ASCII digits"));
}

/// Shortest decimal that reads back as the same `f64` (Rust's `Display`, which never uses
/// an exponent; whole numbers, common here, take the integer path); the text format's
/// spellings for the non-finite values.
fn push_f64(b: &mut String, x: f64) {
    if x.fract() == 0.0 && x.abs() < 1e16 {
        if x < 0.0 {
            b.push('-');
        }
        push_u64(b, x.abs() as u64);
    } else if x.is_nan() {
        b.push_str("NaN");
    } else if x.is_infinite() {
        b.push_str(if x > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        // The shortest digits that read back as `x`, as serde_json writes the snapshot's
        // (the same digits in both); `{x}` through `fmt` was 7% of a scrape at 100k agents.
        b.push_str(zmij::Buffer::new().format_finite(x));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value reads back as itself: random bit patterns and ratios, as well as the
    /// spellings below.
    #[test]
    fn values_read_back_exactly() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for v in [f64::from_bits(x), (x % 1_000_000) as f64 / 997.0].into_iter().filter(|v| v.is_finite()) {
                let mut b = String::new();
                push_f64(&mut b, v);
                assert_eq!(b.parse::<f64>().unwrap(), v, "{b}");
            }
        }
    }

    #[test]
    fn two_threads_write_what_one_writes() {
        use crate::sim::{SimConfig, Simulator};
        let start = 1_795_420_800_000;
        let cfg =
            SimConfig { agents: 300, teams: 30, queues: 12, start, duration: Some(3_600_000), ..SimConfig::default() };
        let lines: Vec<String> = Simulator::new(cfg).unwrap().map(|l| l.line).collect();
        let settings =
            crate::config::FileConfig::parse("[server]\nclock = \"event\"\n", "t").unwrap().settings().unwrap();
        let mut engine = Engine::new(settings);
        crate::replay::feed(&mut engine, lines.join("\n").as_bytes(), 1 << 16, false).unwrap();
        let now = engine.max_ts().unwrap();
        let engine_only = |text: String| -> String {
            text.lines().filter(|l| !l.contains("process_")).map(|l| format!("{l}\n")).collect()
        };
        for per_agent in [false, true] {
            let conns = [("tcp", 2), ("ws", 0), ("tcp", 1)];
            let one = engine_only(Metrics::new(per_agent).render_with(&mut engine, now, &conns, Some(false)));
            let two = engine_only(Metrics::new(per_agent).render_with(&mut engine, now, &conns, Some(true)));
            assert!(one.contains("floorwatch_queue_wait_seconds_bucket{") && one.contains("floorwatch_aht_seconds{"));
            assert_eq!(one.contains("floorwatch_agent_state{"), per_agent);
            assert_eq!(one, two);
            // A second scrape of one `Metrics`, with its buffers sized from the first.
            let m = Metrics::new(per_agent);
            let first = engine_only(m.render_with(&mut engine, now, &conns, Some(true)));
            assert_eq!(engine_only(m.render_with(&mut engine, now, &conns, Some(true))), first);
            assert_eq!(first, one);
        }
    }

    fn check_f64(x: f64, expected: &str) {
        let mut b = String::new();
        push_f64(&mut b, x);
        assert_eq!(b, expected, "{x:?}");
        if x.is_finite() {
            assert_eq!(b.parse::<f64>().unwrap(), x);
        }
    }

    #[test]
    fn floats_round_trip_in_text_format_spelling() {
        for (x, s) in [
            (0.0, "0"),
            (1.0, "1"),
            (0.1, "0.1"),
            (1.0 / 3.0, "0.3333333333333333"),
            (300.5, "300.5"),
            (-2.0, "-2"),
            (-0.25, "-0.25"),
            (1e15, "1000000000000000"),
            (1e16, "1e+16"),
            (1e300, "1e+300"),
            (1e-7, "1e-7"),
            (2.5e-9, "2.5e-9"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ] {
            check_f64(x, s);
        }
    }

    #[test]
    fn label_values_are_escaped() {
        for (s, e) in [("T07", "T07"), ("a\"b", "a\\\"b"), ("a\\b", "a\\\\b"), ("a\nb", "a\\nb"), ("组", "组")] {
            let mut b = String::new();
            push_escaped(&mut b, s);
            assert_eq!(b, e);
        }
    }
}
