//! Views: the figures at any `now` (SPEC §3, §5.3) for a snapshot, the board or
//! `/metrics`. A view advances the detectors to `now` (which any later view would do
//! too) and evaluates the instant `now` itself on a copy; it changes nothing else.

use std::sync::Arc;

use compact_str::CompactString;

use super::Engine;
use crate::alert::StoredAlert;
use crate::detect::team::{AlertChange, Ctx, DetState};
use crate::engine::IngestCounts;
use crate::event::State;
use crate::floor::agents::{Agent, AgentIdx, Counts, TeamIdx};
use crate::floor::figures::{Dispersion, Qualifying, Spread, SpreadSum, Sums};
use crate::floor::timeline::{Kind, Mark, Timeline};
use crate::queue::QueueFigures;
use crate::settings::WindowKind;
use crate::time::Ms;

/// A team's peak intervals today as a view at `now` sees them, clipped to `now`: the
/// closed ones (ended by the committed clock), which change only in a re-evaluation (which
/// bumps the team's generation), and the rest: still open at `now`, or ended in the
/// tentative stretch after the committed clock (a change arriving within the lag may still
/// move them).
struct PeaksToday {
    closed: Vec<(Ms, Ms)>,
    open: Vec<(Ms, Ms)>,
}

impl PeaksToday {
    /// The intervals of `peaks` (a state stepped to `now`) within `[midnight, now)`, split
    /// at `committed`.
    fn of(peaks: &[(Ms, Ms)], midnight: Ms, now: Ms, committed: Ms) -> PeaksToday {
        let mut out = PeaksToday { closed: Vec::new(), open: Vec::new() };
        for &(s, e) in peaks {
            let (from, to) = (s.max(midnight), e.min(now));
            if e <= midnight || to <= from {
                continue;
            }
            if e <= committed {
                out.closed.push((from, to));
            } else {
                out.open.push((from, to));
            }
        }
        out
    }

    /// `peak_today` of one timeline without the cache: every interval, and the contacts
    /// completed exactly at `now` when the team is at peak at `now`.
    fn sums(&self, tl: &Timeline, now: Ms, peak_now: bool) -> Sums {
        let mut s = Sums::default();
        for &(from, to) in self.closed.iter().chain(&self.open) {
            s.add(&Sums::over(tl, from, to, false));
        }
        if peak_now {
            s.contacts.add(tl.contacts(now, now, true));
        }
        s
    }
}

/// What an agent's `today` and `peak_today` sums are made of that does not move with `now`:
/// `today` up to `head_end` (the later of midnight and the agent's last change, after which
/// its timeline is one open segment), and the closed peak intervals. Summing those costs
/// searches in the middle of the timeline, which on a large floor are cache misses per
/// agent per view; with this a view reads no segment at all for `today` (the open segment's
/// kind is inline in the timeline). Valid while the key holds: an append changes the last
/// change and the length, a team move the team, a new closed peak interval their count, a
/// new day midnight, a re-evaluation of the team (late changes) its generation. (A trim drops only history before midnight, which neither part
/// covers.) Exact: the parts are integer sums over disjoint intervals, added to the rest.
#[derive(Clone, Copy, Debug)]
pub(super) struct ViewCache {
    key: (Ms, TeamIdx, u64, usize, usize, Ms),
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
        generation: u64,
        peaks: &PeaksToday,
        midnight: Ms,
        now: Ms,
    ) -> Option<ViewCache> {
        if a.since > now {
            return None; // a future-skewed event: the open segment is not where `now` is
        }
        let tl = &a.timeline;
        let key = (midnight, ti, generation, peaks.closed.len(), tl.segments_len(), a.since);
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

    /// As [`PeaksToday::sums`], with the closed intervals' part from the cache and the
    /// first open interval's start from `mark`.
    fn peak(&self, tl: &Timeline, peaks: &PeaksToday, now: Ms, peak_now: bool, mark: &mut Mark) -> Sums {
        let mut s = self.peak_closed;
        for (j, &(from, to)) in peaks.open.iter().enumerate() {
            s.add(&match j {
                0 => Sums::over_marked(tl, mark, from, to, false),
                _ => Sums::over(tl, from, to, false),
            });
        }
        if peak_now {
            s.contacts.add(tl.contacts(now, now, true));
        }
        s
    }
}

/// A sliding window's length.
fn sliding(w: &crate::settings::WindowSpec) -> Option<Ms> {
    match w.kind {
        WindowKind::Sliding(l) => Some(l),
        _ => None,
    }
}

/// Marks each agent keeps ([`Engine::marks`](super::Engine)): one per sliding window and
/// one for the open peak interval.
fn marks_per_agent(windows: &[crate::settings::WindowSpec]) -> usize {
    windows.iter().filter(|w| matches!(w.kind, WindowKind::Sliding(_))).count() + 1
}

impl Engine {
    /// Agent slot `ai` was given to a new agent: its marks were the old one's.
    pub(super) fn forget_marks(&mut self, ai: AgentIdx) {
        let stride = marks_per_agent(&self.settings.windows);
        if let Some(m) = self.marks.get_mut(ai as usize * stride..(ai as usize + 1) * stride) {
            m.fill(Mark::default());
        }
        // Its roster slot was the old agent's (a "none" would not be checked again).
        if let Some(r) = self.roster_slots.get_mut(ai as usize) {
            *r = (u32::MAX, u32::MAX);
        }
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
    // Compact strings: ids, teams and reasons are short, so a full snapshot's 100,000
    // views make no string allocations for them (BENCHMARKS.md, session 6).
    pub id: CompactString,
    pub name: Option<String>,
    pub team: CompactString,
    pub state: State,
    pub reason: Option<CompactString>,
    pub planned: bool,
    pub since: Ms,
    pub windows: Vec<Sums>,
    /// The scheduled activity now (SPEC §9.3); None without a roster.
    pub scheduled: Option<CompactString>,
    /// Since when the agent has been out of adherence, if it is now.
    pub out_of_adherence_since: Option<Ms>,
    /// False for a scheduled agent never seen (a no-show): `since` and `name` are null.
    pub seen: bool,
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
    /// Teams only: the AHT control chart's closed points as of `now` (SPEC §10).
    pub aht_chart: Option<super::ChartView>,
    /// Members now out of adherence with their schedule (SPEC §9.3).
    pub out_of_adherence: u32,
}

/// Everything a snapshot, the board, or the metrics need, computed at one `now`.
pub struct View {
    pub now: Ms,
    pub window_names: Vec<String>,
    /// The queues' windows: every configured window but `peak_today` (SPEC §8.2).
    pub queue_window_names: Vec<String>,
    /// Every queue, sorted by id, and the floor's sums (SPEC §8.4).
    pub queues: Vec<(String, QueueFigures)>,
    pub floor_queues: QueueFigures,
    /// What the queue figures are judged with (service level mode and thresholds).
    pub queue_settings: crate::settings::QueueSettings,
    pub floor: GroupView,
    pub teams: Vec<GroupView>,
    pub agents: Vec<AgentView>,
    pub alerts: Vec<Arc<StoredAlert>>,
    /// Alerts as of `now` that `alerts` leaves out for not being on a board (a view asked
    /// for the board's only, [`Engine::view_queues`]); 0 otherwise.
    pub alerts_left_out: usize,
    pub ingest: IngestCounts,
}

impl Engine {
    /// Every alert as of `now`, oldest first: the stored ones with what the detectors'
    /// tentative stretch `[committed clock, now]` fires or resolves (the alerts a full
    /// snapshot at `now` lists), without computing any figure.
    pub fn alerts_at(&mut self, now: Ms, team: Option<&str>) -> Vec<Arc<StoredAlert>> {
        self.advance(now);
        let mut tentative: Vec<AlertChange> = Vec::new();
        match team {
            // Only that team's tentative stretch (a team no longer on the floor has none).
            Some(t) => {
                if let Some(&ti) = self.team_index.get(t) {
                    self.tentative(ti, now, &mut tentative);
                }
            }
            None => {
                for ti in 0..self.teams.len() as TeamIdx {
                    if self.teams[ti as usize].is_some() {
                        self.tentative(ti, now, &mut tentative);
                    }
                }
            }
        }
        self.charts_tentative(now, &mut tentative);
        self.tentative_queues(now, None, &mut tentative);
        self.view_alerts(team, None, tentative, now, false).0
    }

    /// The queues' alerts at `now` past their committed clock, as changes to the store
    /// (only those that differ from it), of the queues in `only` (None: of every queue).
    fn tentative_queues(&self, now: Ms, only: Option<&[String]>, out: &mut Vec<AlertChange>) {
        let listed = |q: &crate::queue::Queue| only.is_none_or(|l| l.contains(&q.id));
        for q in self.queues.iter().filter(|q| listed(q)) {
            for a in q.tentative(now, &self.settings.queues).alerts {
                if self.alerts.get(&a.id).is_none_or(|s| s.alert() != &a) {
                    out.push(AlertChange::Fired(a));
                }
            }
        }
    }

    /// The queues' figures at `now`: windows but `peak_today`, names and lengths; those of
    /// the queues in `only` (None: every queue), and the floor's sums over every queue.
    fn queue_figures(
        &mut self,
        now: Ms,
        only: Option<&[String]>,
    ) -> (Vec<String>, Vec<(String, QueueFigures)>, QueueFigures) {
        let midnight = self.cal.midnight(now);
        let (names, lens): (Vec<String>, Vec<Option<Ms>>) = self
            .settings
            .windows
            .iter()
            .filter_map(|w| match w.kind {
                WindowKind::Sliding(l) => Some((w.name.clone(), Some(l))),
                WindowKind::Today => Some((w.name.clone(), None)),
                WindowKind::PeakToday => None,
            })
            .unzip();
        let (per, floor) = self.queues.figures(now, midnight, &lens, &self.settings.queues, only);
        (names, per.into_iter().map(|(q, f)| (q.to_string(), f)).collect(), floor)
    }

    /// Team `ti`'s detector state at `now` on a copy ([`TeamDet::tentative`]), the alert
    /// changes it makes going to `out`.
    fn tentative(&mut self, ti: TeamIdx, now: Ms, out: &mut Vec<AlertChange>) -> std::borrow::Cow<'_, DetState> {
        let team = self.teams[ti as usize].as_ref().expect("live team index");
        let mut ctx = Ctx {
            settings: &self.settings,
            cal: &mut self.cal,
            agents: &self.agents,
            binom: &mut self.binom,
            out,
            roster: &self.roster,
        };
        team.det.tentative(&team.id, now, &mut ctx)
    }

    /// Computes the figures at `now`: the detectors are advanced (committed up to
    /// `now - COMMIT_LAG_MS`) and each team asked for is evaluated to `now` on a copy.
    ///
    /// Cost: the teams asked for, and for each member two searches per sliding window and
    /// per peak interval in its timeline; nothing per agent is allocated unless agents are
    /// asked for, and the alert store is cloned only when alerts are.
    pub fn view(&mut self, now: Ms, opts: &ViewOpts) -> View {
        self.view_queues(now, opts, None, false)
    }

    /// [`Engine::view`] listing only the queues in `queues` (their figures and, in a
    /// team's view, their alerts; None: every queue). The floor's queue sums are over
    /// every queue all the same, and every other figure is the same as `view`'s. A team's
    /// snapshot lists none unless asked (`?queues=`, docs/figures.md#snapshot-sizes).
    ///
    /// `board`: the view's alerts are only those a board shows, and `alerts_left_out`
    /// counts the others (a snapshot that lists the board's, docs/figures.md#snapshot-sizes).
    pub fn view_queues(&mut self, now: Ms, opts: &ViewOpts, queues: Option<&[String]>, board: bool) -> View {
        // Each queue once (`?queues=a,a` lists `a` once, and its alerts once).
        let queues: Option<Vec<String>> = queues.map(|l| {
            let mut l = l.to_vec();
            l.sort_unstable();
            l.dedup();
            l
        });
        let queues = queues.as_deref();
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
        // Per team asked for: its peak intervals today as of `now` (the committed ones and
        // those of the tentative stretch), split at the committed clock for the view cache.
        let mut peaks: Vec<PeaksToday> = Vec::with_capacity(team_ids.len());
        for &ti in &team_ids {
            let committed = self.team(ti).det.clock();
            let det = self.tentative(ti, now, &mut tentative);
            peak_at_now.push(det.peaks.iter().any(|&(s, e)| s <= now && now < e));
            peaks.push(PeaksToday::of(&det.peaks, midnight, now, committed));
        }
        // The charts as of `now` (a scrape reads the last point only). Their alerts: the
        // team's asked for, or every chart's (a chart outlives its team's members).
        let shown = if opts.scrape { 1 } else { crate::detect::aht_chart::SHOWN };
        let mut chart_alerts = Vec::new();
        let mut charts: Vec<super::ChartView> =
            team_ids.iter().map(|&ti| self.chart_at(&self.team(ti).id, now, &mut chart_alerts, shown)).collect();
        match &opts.team {
            Some(_) => tentative.append(&mut chart_alerts),
            None => self.charts_tentative(now, &mut tentative),
        }

        let w_n = windows.len();
        let stride = marks_per_agent(&windows);
        self.view_cache.resize(self.agents.slots(), None);
        self.marks.resize(self.agents.slots() * stride, Mark::default());
        // Per team asked for (by position in `team_ids`).
        let mut pos_of = vec![usize::MAX; self.teams.len()];
        for (p, &ti) in team_ids.iter().enumerate() {
            pos_of[ti as usize] = p;
        }
        let n_members: usize = team_ids.iter().map(|&ti| self.team(ti).roster.members().len()).sum();
        // Per team asked for: its peak intervals today, closed and open (the schedule's
        // `peak_today`).
        let peak_lists: Vec<Vec<(Ms, Ms)>> =
            peaks.iter().map(|pk| pk.closed.iter().chain(&pk.open).copied().collect()).collect();
        // One team's view: its members, sorted by slot.
        let mut members: Vec<AgentIdx> = match &opts.team {
            Some(_) => team_ids.iter().flat_map(|&ti| self.team(ti).roster.members().iter().copied()).collect(),
            None => Vec::new(),
        };
        members.sort_unstable();
        // The schedule's side of the pass, one per part. A floor's view visits every
        // agent, so the scheduled ones it meets are seen and the others never seen
        // (`add_never_seen`), without a lookup per scheduled agent.
        let roster = &self.roster;
        let see = opts.team.is_none() && !self.no_view_cache;
        let sched = || {
            (!roster.is_empty()).then(|| {
                // The sliding windows' starts and `today`'s tail's (the agent's last change,
                // set per agent), summed in one walk (`Roster::sums_to`).
                let mut starts: Vec<Ms> = windows.iter().filter_map(sliding).map(|l| now - l).collect();
                starts.push(midnight);
                let adh = vec![crate::roster::AdhSums::default(); starts.len()];
                Sched { roster, seen: see.then(|| vec![false; roster.len()]), starts, adh }
            })
        };
        let pass = Pass {
            now,
            midnight,
            windows: &windows,
            stride,
            min_logged,
            teams: &self.teams,
            pos_of: &pos_of,
            peak_at_now: &peak_at_now,
            peaks: &peaks,
            peak_lists: &peak_lists,
            no_view_cache: self.no_view_cache,
            agents: opts.agents,
            in_slot_order: opts.team.is_none(),
        };
        // Agents in slot order: for the whole floor, passes through the slab in memory
        // order, reading each slot once (a view of a large floor is bound by cache misses
        // on agents: listing the slots first cost another miss per agent), on one thread
        // per core for a large floor; for one team its members sorted the same way.
        let parts = match (&opts.team, self.view_parts) {
            (None, Some(n)) => n,
            (None, None) if self.agents.len() >= PARALLEL_AGENTS => view_threads(),
            _ => 1,
        };
        let slots = self.agents.slots();
        let bounds: Vec<usize> = (0..=parts).map(|k| slots * k / parts).collect();
        let mut caches: Vec<Part> = Vec::with_capacity(parts);
        // The parts' record arrays, kept from the last view (at 100,000 agents, 6.4 MB each
        // that a fresh allocation would fault in page by page).
        let mut ratio_bufs = std::mem::take(&mut self.ratio_bufs);
        self.roster_slots.resize(slots, (u32::MAX, u32::MAX));
        self.day_caches.resize(slots, None);
        let (mut vc, mut mk) = (&mut self.view_cache[..], &mut self.marks[..]);
        let (mut rs, mut dc) = (&mut self.roster_slots[..], &mut self.day_caches[..]);
        for k in 0..parts {
            let n = bounds[k + 1] - bounds[k];
            let (v, vrest) = std::mem::take(&mut vc).split_at_mut(n);
            let (m, mrest) = std::mem::take(&mut mk).split_at_mut(n * stride);
            let (r, rrest) = std::mem::take(&mut rs).split_at_mut(n);
            let (d, drest) = std::mem::take(&mut dc).split_at_mut(n);
            (vc, mk, rs, dc) = (vrest, mrest, rrest, drest);
            let bufs = ratio_bufs.pop().unwrap_or_default();
            let visits = if opts.team.is_some() { n_members } else { n };
            caches.push(Part {
                lo: bounds[k],
                view_cache: v,
                marks: m,
                roster_slots: r,
                day_caches: d,
                sums: PartSums::new(&pass, team_ids.len(), bufs, visits),
            });
        }
        let agents = &self.agents;
        // Per part, what it saw of the roster.
        let seen: Vec<Option<Vec<bool>>> = match &opts.team {
            Some(_) => {
                let (part, mut sched) = (&mut caches[0], sched());
                for ai in members {
                    pass.visit(ai, agents.get(ai), part, sched.as_mut());
                }
                vec![sched.and_then(|s| s.seen)]
            }
            None if parts == 1 => {
                let (part, mut sched) = (&mut caches[0], sched());
                for (ai, a) in agents.iter() {
                    pass.visit(ai, a, part, sched.as_mut());
                }
                vec![sched.and_then(|s| s.seen)]
            }
            None => std::thread::scope(|s| {
                let (pass, sched) = (&pass, &sched);
                let run = move |part: &mut Part| {
                    let mut sched = sched();
                    for (ai, a) in agents.range(part.lo, part.lo + part.view_cache.len()) {
                        pass.visit(ai, a, part, sched.as_mut());
                    }
                    sched.and_then(|s| s.seen)
                };
                let mut rest = caches.iter_mut();
                let first = rest.next().expect("a part");
                let handles: Vec<_> = rest.map(|part| s.spawn(move || run(part))).collect();
                let mut seen = vec![run(first)];
                seen.extend(handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))));
                seen
            }),
        };
        // Scheduled agents met by any part.
        let seen_slots: Option<Vec<bool>> = seen.into_iter().flatten().reduce(|mut a, b| {
            for (x, y) in a.iter_mut().zip(b) {
                *x |= y;
            }
            a
        });
        let mut sums: Vec<PartSums> = caches.into_iter().map(|c| c.sums).collect();
        let mut agents_out: Vec<AgentView> = Vec::new();
        for part in &mut sums {
            agents_out.append(&mut part.agents);
        }
        let mut team_sums = vec![Sums::default(); team_ids.len() * w_n];
        let mut team_state_ms: Vec<[Ms; 6]> = team_ids.iter().map(|&ti| self.team(ti).state_ms).collect();
        let mut unplanned_moved = vec![0u32; team_ids.len()];
        let mut out_now = vec![0u32; team_ids.len()];
        for part in &sums {
            for (t, x) in team_sums.iter_mut().zip(&part.team_sums) {
                t.add(x);
            }
            for (t, x) in team_state_ms.iter_mut().zip(&part.state_ms) {
                for (a, b) in t.iter_mut().zip(x) {
                    *a += b;
                }
            }
            for (t, x) in unplanned_moved.iter_mut().zip(&part.unplanned_moved) {
                *t += x;
            }
            for (t, x) in out_now.iter_mut().zip(&part.out_now) {
                *t += x;
            }
        }
        // Each team's dispersion from its members' records in every part, and the floor's
        // over all of them (order-independent sums: the same figures however many parts).
        let (dispersions, floor_dispersion) = dispersions(&sums, team_ids.len(), w_n, !opts.scrape);
        let mut floor_sums = vec![Sums::default(); w_n];
        let mut floor_counts = Counts::default();
        let mut teams_out = Vec::with_capacity(team_ids.len());
        for ((p, &ti), dispersion) in team_ids.iter().enumerate().zip(dispersions.chunks_exact(w_n.max(1))) {
            let team = self.team(ti);
            let sums = team_sums[p * w_n..(p + 1) * w_n].to_vec();
            for (f, s) in floor_sums.iter_mut().zip(&sums) {
                f.add(s);
            }
            let mut counts = *team.roster.counts();
            for _ in 0..unplanned_moved[p] {
                counts.remove(Kind::AuxUnplanned);
                counts.add(Kind::AuxPlanned);
            }
            floor_counts.merge(&counts);
            let [p50, p90] = if opts.scrape { [None; 2] } else { team.handle.p50_p90() };
            teams_out.push(GroupView {
                id: team.id.clone(),
                peak: peak_at_now[p],
                counts,
                windows: sums,
                dispersion: dispersion.to_vec(),
                handle_p50_ms: p50,
                handle_p90_ms: p90,
                contacts_total: team.contacts_total,
                state_ms: team_state_ms[p],
                aht_chart: Some(std::mem::take(&mut charts[p])),
                out_of_adherence: out_now[p],
            });
        }
        self.ratio_bufs = sums.into_iter().map(|part| (part.ratios, part.rec_team)).collect();
        // The no-shows' team: at peak as the engine's team `unassigned` is, when agents
        // without a team are on the floor; else in the configured windows alone.
        let unassigned = self.team_index.get(super::adherence::UNASSIGNED).map(|&ti| pos_of[ti as usize]);
        let unassigned_peaks = unassigned.filter(|&p| p != usize::MAX).map(|p| (&peaks[p], peak_at_now[p]));
        self.add_never_seen(
            opts,
            now,
            midnight,
            unassigned_peaks,
            seen_slots.as_deref(),
            &mut teams_out,
            &mut agents_out,
            &mut floor_sums,
            &mut floor_counts,
        );
        if opts.agents {
            agents_out.sort_by(|a, b| a.id.cmp(&b.id));
        }
        // Teams listed are those with a current member (SPEC §5.3): one its agents all left
        // stays in the engine (its counters, its detectors' day) until housekeeping forgets
        // it, but is not listed meanwhile, so no listing depends on when that ran.
        teams_out.retain(|t| t.counts.members() > 0);
        let floor = GroupView {
            id: opts.team.clone().unwrap_or_else(|| "floor".into()),
            peak: teams_out.iter().any(|t| t.peak),
            counts: floor_counts,
            dispersion: floor_dispersion,
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
            aht_chart: None,
            out_of_adherence: teams_out.iter().map(|t| t.out_of_adherence).sum(),
        };

        let (alerts, alerts_left_out) = if opts.alerts {
            // Every view lists the queues' alerts: they belong to the whole floor.
            // A team's view: the listed queues' only. The floor's: every queue's.
            let only = queues.filter(|_| opts.team.is_some());
            self.tentative_queues(now, only, &mut tentative);
            self.view_alerts(opts.team.as_deref(), only, tentative, now, board)
        } else {
            (Vec::new(), 0)
        };
        let (queue_window_names, queues, floor_queues) = self.queue_figures(now, queues);
        View {
            now,
            window_names: windows.iter().map(|w| w.name.clone()).collect(),
            queue_window_names,
            queues,
            floor_queues,
            queue_settings: self.settings.queues.clone(),
            floor,
            teams: teams_out,
            agents: agents_out,
            alerts,
            alerts_left_out,
            ingest: self.ingest_total(),
        }
    }
}

impl Engine {
    /// The schedule figures of roster slot `slot` over a window at `now`.
    fn roster_window(
        &self,
        slot: u32,
        kind: &WindowKind,
        midnight: Ms,
        now: Ms,
        peaks: &PeaksToday,
    ) -> crate::roster::AdhSums {
        match kind {
            WindowKind::Sliding(l) => self.roster.sums(slot, now - l, now),
            WindowKind::Today => self.roster.sums(slot, midnight, now),
            WindowKind::PeakToday => {
                let mut s = crate::roster::AdhSums::default();
                for &(a, b) in peaks.closed.iter().chain(&peaks.open) {
                    s.add(&self.roster.sums(slot, a.max(midnight), b.min(now)));
                }
                s
            }
        }
    }

    /// Scheduled agents never seen (SPEC §9.2): listed offline in team `unassigned`, which
    /// is listed even without other members; their schedule figures count for it and the
    /// floor. `peaks`: the engine's team `unassigned`'s peak intervals today and whether it
    /// is at peak now, if that team is on the floor; without it the team is at peak in the
    /// configured windows (SPEC §4.1: a configured window holds for every team, with or
    /// without logged-in members), so a no-show's `peak_today` holds its shift's peak time.
    /// `seen`: per roster slot, whether the view met it on the floor (a floor's view meets
    /// every agent); None: each is looked up.
    #[allow(clippy::too_many_arguments)]
    fn add_never_seen(
        &mut self,
        opts: &ViewOpts,
        now: Ms,
        midnight: Ms,
        peaks: Option<(&PeaksToday, bool)>,
        seen: Option<&[bool]>,
        teams: &mut Vec<GroupView>,
        agents: &mut Vec<AgentView>,
        floor_sums: &mut [Sums],
        floor_counts: &mut Counts,
    ) {
        use super::adherence::UNASSIGNED;
        if self.roster.is_empty() || opts.team.as_deref().is_some_and(|t| t != UNASSIGNED) {
            return;
        }
        let windows = self.settings.windows.clone();
        let configured;
        let (peaks, peak_now) = match peaks {
            Some(p) => p,
            None => {
                let intervals = self.cal.peaks_within(midnight, now);
                configured = PeaksToday { closed: intervals, open: Vec::new() };
                (&configured, self.cal.peak(now).0)
            }
        };
        let mut sums = vec![Sums::default(); windows.len()];
        let mut n = 0u32;
        let mut n_out = 0u32;
        for (slot, id) in self.roster.scheduled() {
            let met = match seen {
                Some(seen) => seen[slot as usize],
                None => self.agents.find(id).is_some(),
            };
            if met {
                continue;
            }
            n += 1;
            let per: Vec<Sums> = windows
                .iter()
                .map(|w| {
                    let mut x = Sums::default();
                    x.with_schedule(self.roster_window(slot, &w.kind, midnight, now, peaks));
                    x
                })
                .collect();
            for (s, x) in sums.iter_mut().zip(&per) {
                s.add(x);
            }
            let act = self.roster.activity_at(slot, now);
            let out_since = if self.roster.allows(act, Kind::Offline, None) || act == crate::roster::OFF {
                None
            } else {
                let (_, st) = self.roster.stretches(slot, now.saturating_add(1));
                st.last().filter(|s| s.1.is_none()).map(|s| s.0)
            };
            n_out += u32::from(out_since.is_some());
            if opts.agents {
                agents.push(AgentView {
                    id: id.into(),
                    name: None,
                    team: UNASSIGNED.into(),
                    state: State::Offline,
                    reason: None,
                    planned: false,
                    since: 0,
                    windows: per,
                    scheduled: Some(self.roster.activity_name(act).into()),
                    out_of_adherence_since: out_since,
                    seen: false,
                });
            }
        }
        if n == 0 {
            return;
        }
        for (f, s) in floor_sums.iter_mut().zip(&sums) {
            f.add(s);
        }
        for _ in 0..n {
            floor_counts.add(Kind::Offline);
        }
        let team = match teams.iter_mut().position(|t| t.id == UNASSIGNED) {
            Some(i) => &mut teams[i],
            None => {
                let pos = teams.partition_point(|t| t.id.as_str() < UNASSIGNED);
                teams.insert(
                    pos,
                    GroupView {
                        id: UNASSIGNED.into(),
                        peak: peak_now,
                        counts: Counts::default(),
                        windows: vec![Sums::default(); windows.len()],
                        dispersion: vec![Default::default(); windows.len()],
                        handle_p50_ms: None,
                        handle_p90_ms: None,
                        contacts_total: 0,
                        state_ms: [0; 6],
                        aht_chart: None,
                        out_of_adherence: 0,
                    },
                );
                &mut teams[pos]
            }
        };
        for (t, s) in team.windows.iter_mut().zip(&sums) {
            t.add(s);
        }
        for _ in 0..n {
            team.counts.add(Kind::Offline);
        }
        team.out_of_adherence += n_out;
    }
}

/// Agent `ai`'s roster slot, from `cache` (per agent slot: the roster slot, or `u32::MAX`
/// for none, and the roster's length when it was looked up) when it still holds, else by
/// its id. A hash of every agent's id per view was a tenth of a scrape with a roster (and
/// once per event at ingest, where the roster now keeps its own memo by agent slot).
/// Exact: a slot is taken when the roster holds this very id there (roster slots are never
/// reused), and "none" while the roster has had no agent added since (an upload only adds).
pub(super) fn roster_slot(
    roster: &crate::roster::Roster,
    cache: &mut Vec<(u32, u32)>,
    ai: AgentIdx,
    id: &str,
) -> Option<u32> {
    if cache.len() <= ai as usize {
        cache.resize(ai as usize + 1, (u32::MAX, u32::MAX));
    }
    roster_slot_at(roster, &mut cache[ai as usize], id)
}

/// [`roster_slot`] with the agent slot's cache entry.
fn roster_slot_at(roster: &crate::roster::Roster, entry: &mut (u32, u32), id: &str) -> Option<u32> {
    let len = roster.len() as u32;
    let (slot, at_len) = *entry;
    if slot != u32::MAX {
        if slot < len && roster.scheduled_id(slot) == id {
            return Some(slot);
        }
    } else if at_len == len {
        return None;
    }
    let found = roster.slot(id);
    *entry = (found.unwrap_or(u32::MAX), len);
    found
}

/// A scheduled agent now: its activity's name, since when it has been out of adherence (if
/// it is), and whether it is in unplanned aux its schedule allows. (`open`: the stretch in
/// progress from [`Roster::open_stretch`], without collecting the others; false: from
/// [`Roster::stretches`], the reference.)
///
/// [`Roster::open_stretch`]: crate::roster::Roster::open_stretch
/// [`Roster::stretches`]: crate::roster::Roster::stretches
fn roster_now(
    roster: &crate::roster::Roster,
    slot: u32,
    a: &Agent,
    now: Ms,
    open: bool,
) -> (Option<CompactString>, Option<Ms>, bool) {
    let act = roster.activity_at(slot, now);
    let ok = roster.allows(act, a.kind, a.reason.as_deref());
    let out_since = if ok || act == crate::roster::OFF {
        None
    } else if open {
        roster.open_stretch(slot, now.saturating_add(1))
    } else {
        let (_, st) = roster.stretches(slot, now.saturating_add(1));
        st.last().filter(|s| s.1.is_none()).map(|s| s.0)
    };
    (Some(roster.activity_name(act).into()), out_since, ok && a.kind == Kind::AuxUnplanned)
}

/// A floor of at least this many agents is viewed on [`view_threads`] threads (below, a
/// thread costs more than it saves).
const PARALLEL_AGENTS: usize = 4_096;

/// Threads a large floor's view runs on: one per core, at most 8.
fn view_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}

/// What the pass over the agents reads: the same for every part of it.
struct Pass<'a> {
    now: Ms,
    midnight: Ms,
    windows: &'a [crate::settings::WindowSpec],
    stride: usize,
    min_logged: Ms,
    teams: &'a [Option<super::Team>],
    /// Per team index: its position among the teams asked for.
    pos_of: &'a [usize],
    peak_at_now: &'a [bool],
    peaks: &'a [PeaksToday],
    peak_lists: &'a [Vec<(Ms, Ms)>],
    no_view_cache: bool,
    /// Agents asked for: each visited agent's view is kept.
    agents: bool,
    /// The agents are visited in slot order (the whole floor): a visit can name what the
    /// agents after it will read ([`Pass::prefetch`]).
    in_slot_order: bool,
}

/// How many agent slots ahead of a visit its agent's roster record is asked for, and half
/// as many, the schedule and log that the record points to ([`Pass::prefetch`]). A visit
/// with a roster takes a few hundred nanoseconds; a miss to memory, one or two hundred.
const PREFETCH_AHEAD: usize = 16;

/// One part of the pass: the caches of its agent slots (`lo` first) and what it summed.
struct Part<'a> {
    lo: usize,
    view_cache: &'a mut [Option<ViewCache>],
    marks: &'a mut [Mark],
    /// Per agent slot: its roster slot (`roster_slot`) and the schedule's day parts.
    roster_slots: &'a mut [(u32, u32)],
    day_caches: &'a mut [Option<crate::roster::DayCache>],
    sums: PartSums,
}

/// What one part of the pass summed, per team asked for (by position `p`).
struct PartSums {
    /// The team's windows side by side: `p * windows + w`.
    team_sums: Vec<Sums>,
    /// Milliseconds in the open segments, by kind.
    state_ms: Vec<[Ms; 6]>,
    /// The dispersion ratios of the agents visited, in the order visited (one write after
    /// the last, where a team's records side by side took a write to a cache line of its
    /// own per member, which stalled the pass: BENCHMARKS.md, session 10): one pair (aux
    /// ratio, talk utilization) per window per agent, NaN where it does not qualify (one
    /// that does is logged in, so its aux ratio is a number; its utilization is NaN
    /// without scheduled time, SPEC §9.2).
    ratios: Vec<[f64; 2]>,
    /// The team (its position) of each agent visited.
    rec_team: Vec<u32>,
    /// Per team and window (`p * windows + w`): the count and sum of its qualifying
    /// members' aux ratios and utilizations (the means of the dispersions).
    spread: Vec<[SpreadSum; 2]>,
    /// Members now in unplanned aux that their schedule allows (counted as planned, SPEC
    /// §9.2), and members out of adherence.
    unplanned_moved: Vec<u32>,
    out_now: Vec<u32>,
    agents: Vec<AgentView>,
    /// The visited agent's sums, per window (scratch).
    per: Vec<Sums>,
}

impl PartSums {
    /// Sums of no agent yet, for up to `visits` agents; `bufs`: arrays to reuse for the
    /// records (their contents are dropped, their room kept).
    fn new(pass: &Pass, teams: usize, bufs: (Vec<[f64; 2]>, Vec<u32>), visits: usize) -> PartSums {
        let w_n = pass.windows.len();
        let (mut ratios, mut rec_team) = bufs;
        ratios.clear();
        ratios.reserve(visits * w_n);
        rec_team.clear();
        rec_team.reserve(visits);
        PartSums {
            team_sums: vec![Sums::default(); teams * w_n],
            state_ms: vec![[0; 6]; teams],
            ratios,
            rec_team,
            spread: vec![[SpreadSum::default(); 2]; teams * w_n],
            unplanned_moved: vec![0; teams],
            out_now: vec![0; teams],
            agents: Vec::new(),
            per: vec![Sums::default(); w_n],
        }
    }
}

/// The schedule's side of a part of the pass (with a roster).
struct Sched<'a> {
    roster: &'a crate::roster::Roster,
    /// Per roster slot, whether this part met it (a floor's view).
    seen: Option<Vec<bool>>,
    /// The sliding windows' starts and `today`'s tail's, and their sums (scratch).
    starts: Vec<Ms>,
    adh: Vec<crate::roster::AdhSums>,
}

impl Pass<'_> {
    /// With a roster, in slot order: asks for the roster record of the agent
    /// [`PREFETCH_AHEAD`] slots after `i` (a part's index), and for the schedule and log of
    /// the one half as far (its record asked for by an earlier visit), by the roster slots
    /// the last view found for them. Their misses were half of a scrape with a roster
    /// (BENCHMARKS.md, session 11). A stale slot costs a wasted hint, nothing else.
    #[inline]
    fn prefetch(&self, part: &Part, i: usize, sched: Option<&Sched>) {
        let Some(s) = sched.filter(|_| self.in_slot_order && !self.no_view_cache) else { return };
        if let Some(&(x, _)) = part.roster_slots.get(i + PREFETCH_AHEAD) {
            s.roster.prefetch_record(x);
        }
        if let Some(&(x, _)) = part.roster_slots.get(i + PREFETCH_AHEAD / 2) {
            s.roster.prefetch_tails(x);
        }
    }

    /// Agent `ai`'s figures in every window, added to its team's in `part`.
    fn visit(&self, ai: AgentIdx, a: &Agent, part: &mut Part, mut sched: Option<&mut Sched>) {
        let i = ai as usize - part.lo;
        self.prefetch(part, i, sched.as_deref());
        let (now, midnight, stride) = (self.now, self.midnight, self.stride);
        let w_n = self.windows.len();
        let ti = a.team;
        let p = self.pos_of[ti as usize];
        let team = self.teams[ti as usize].as_ref().expect("live team index");
        let peak_now = self.peak_at_now[p];
        let tl = &a.timeline;
        let acc = &mut part.sums;
        acc.state_ms[p][a.kind as usize] += (now - a.seg_start).max(0);
        let cached = match self.no_view_cache {
            true => None,
            false => ViewCache::get(&mut part.view_cache[i], a, ti, team.det.generation, &self.peaks[p], midnight, now),
        };
        // The agent's marks: its sliding windows' in order, then the open peak's.
        let marks = &mut part.marks[i * stride..(i + 1) * stride];
        let (slide_marks, peak_mark) = marks.split_at_mut(stride - 1);
        let mut slide_marks = slide_marks.iter_mut();
        // With a roster: the agent's slot, and `today` and `peak_today` of its schedule,
        // reusing what earlier views summed; `today`'s tail and the sliding windows summed
        // in one walk (`Roster::sums_to`, into `Sched::adh`).
        let slot = sched.as_deref_mut().and_then(|s| {
            let slot = match self.no_view_cache {
                true => s.roster.slot(&a.id),
                false => roster_slot_at(s.roster, &mut part.roster_slots[i], &a.id),
            }
            .filter(|&x| s.roster.has_rows(x))?;
            if let Some(seen) = s.seen.as_deref_mut() {
                seen[slot as usize] = true;
            }
            Some(slot)
        });
        let day = slot.zip(sched.as_deref_mut()).map(|(x, s)| {
            let key = (ti, team.det.generation, self.peaks[p].closed.len());
            let lists = &self.peak_lists[p];
            if self.no_view_cache {
                let (today, peak) = s.roster.day_sums(x, midnight, now, lists);
                for (y, w) in s.adh.iter_mut().zip(self.windows.iter().filter_map(sliding)) {
                    *y = s.roster.sums(x, now - w, now);
                }
                (today, peak)
            } else {
                let d = s.roster.day_parts(x, &mut part.day_caches[i], midnight, now, lists, key, team.det.clock());
                *s.starts.last_mut().expect("today's tail") = d.upto;
                s.roster.sums_to(x, &s.starts, now, &mut s.adh);
                let mut today = d.today_head;
                today.add(&s.adh[s.starts.len() - 1]);
                (today, d.peak)
            }
        });
        let sched = sched.as_deref();
        let mut slide_adh = sched.map(|s| s.adh.iter());
        let per = &mut acc.per;
        for (x, w) in per.iter_mut().zip(self.windows) {
            *x = match w.kind {
                WindowKind::Sliding(l) => {
                    let mark = slide_marks.next().expect("a mark per sliding window");
                    match self.no_view_cache {
                        false => Sums::over_marked(tl, mark, now - l, now, true),
                        true => Sums::over(tl, now - l, now, true),
                    }
                }
                WindowKind::Today => match cached {
                    Some(c) => c.today(tl, now),
                    None => Sums::over(tl, midnight, now, true),
                },
                WindowKind::PeakToday => match cached {
                    Some(c) => c.peak(tl, &self.peaks[p], now, peak_now, &mut peak_mark[0]),
                    None => self.peaks[p].sums(tl, now, peak_now),
                },
            };
            if let Some((today, peak)) = day {
                x.with_schedule(match w.kind {
                    WindowKind::Sliding(_) => {
                        *slide_adh.as_mut().and_then(Iterator::next).expect("a sum per sliding window")
                    }
                    WindowKind::Today => today,
                    WindowKind::PeakToday => peak,
                });
            }
        }
        let (scheduled, out_since, allowed_aux) = match slot.zip(sched) {
            Some((x, s)) => roster_now(s.roster, x, a, now, !self.no_view_cache),
            None => (None, None, false),
        };
        acc.unplanned_moved[p] += u32::from(allowed_aux);
        acc.out_now[p] += u32::from(out_since.is_some());
        acc.rec_team.push(p as u32);
        for (w, x) in per.iter().enumerate() {
            acc.team_sums[p * w_n + w].add(x);
            let rec = Qualifying::ratios(x, self.min_logged).map_or([f64::NAN; 2], |(a, t)| [a, t]);
            acc.ratios.push(rec);
            let spread = &mut acc.spread[p * w_n + w];
            if !rec[0].is_nan() {
                spread[0].push(rec[0]);
            }
            if !rec[1].is_nan() {
                spread[1].push(rec[1]);
            }
        }
        if self.agents {
            acc.agents.push(AgentView {
                id: a.id.clone(),
                name: a.name.clone(),
                team: team.id.as_str().into(),
                state: a.state,
                reason: a.reason.clone(),
                planned: a.kind == Kind::AuxPlanned || allowed_aux,
                since: a.since,
                windows: per.clone(),
                scheduled,
                out_of_adherence_since: out_since,
                seen: true,
            });
        }
    }
}

/// A part's sums of squared deviations: per team and window, and per window for the floor.
type Deviations = (Vec<[i128; 2]>, Vec<[i128; 2]>);

/// Every team's dispersion in each window (`p * windows + w`) and, `with_floor`, the
/// floor's. The means come from the parts' sums ([`SpreadSum`]); then each part reads its
/// records once, in the order it wrote them, adding each value's squared deviation to its
/// team's and the floor's (on one thread per part). Every sum is an integer, so the figures
/// do not depend on the parts, and they are [`Spread::of`]'s over each team's members
/// (`tests/view_parts.rs` compares with the members' own figures).
fn dispersions(parts: &[PartSums], teams: usize, w_n: usize, with_floor: bool) -> (Vec<Dispersion>, Vec<Dispersion>) {
    let mut team_sum = vec![[SpreadSum::default(); 2]; teams * w_n];
    for part in parts {
        for (t, x) in team_sum.iter_mut().zip(&part.spread) {
            t[0].add(x[0]);
            t[1].add(x[1]);
        }
    }
    let mut floor_sum = vec![[SpreadSum::default(); 2]; w_n];
    if with_floor {
        for t in team_sum.chunks_exact(w_n.max(1)) {
            for (f, x) in floor_sum.iter_mut().zip(t) {
                f[0].add(x[0]);
                f[1].add(x[1]);
            }
        }
    }
    let means = |s: &[[SpreadSum; 2]]| -> Vec<[f64; 2]> { s.iter().map(|x| [x[0].mean(), x[1].mean()]).collect() };
    let (team_mean, floor_mean) = (means(&team_sum), means(&floor_sum));
    // Per part: the deviations' sums, per team and window, and per window for the floor.
    let deviate = |part: &PartSums| -> Deviations {
        let mut team_dev = vec![[0i128; 2]; teams * w_n];
        let mut floor_dev = vec![[0i128; 2]; if with_floor { w_n } else { 0 }];
        for (&p, recs) in part.rec_team.iter().zip(part.ratios.chunks_exact(w_n.max(1))) {
            let at = p as usize * w_n;
            for (w, rec) in recs.iter().enumerate() {
                for (k, &v) in rec.iter().enumerate() {
                    if v.is_nan() {
                        continue;
                    }
                    team_dev[at + w][k] += SpreadSum::deviation(v, team_mean[at + w][k]);
                    if with_floor {
                        floor_dev[w][k] += SpreadSum::deviation(v, floor_mean[w][k]);
                    }
                }
            }
        }
        (team_dev, floor_dev)
    };
    let devs: Vec<Deviations> = match parts {
        [one] => vec![deviate(one)],
        _ => std::thread::scope(|s| {
            let deviate = &deviate;
            let handles: Vec<_> = parts[1..].iter().map(|part| s.spawn(move || deviate(part))).collect();
            let mut out = vec![deviate(&parts[0])];
            out.extend(handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))));
            out
        }),
    };
    let add = |pick: fn(&Deviations) -> &Vec<[i128; 2]>, n: usize| -> Vec<[i128; 2]> {
        let mut out = vec![[0i128; 2]; n];
        for d in &devs {
            for (o, x) in out.iter_mut().zip(pick(d)) {
                o[0] += x[0];
                o[1] += x[1];
            }
        }
        out
    };
    let spread = |sums: &[[SpreadSum; 2]], devs: &[[i128; 2]]| -> Vec<Dispersion> {
        sums.iter()
            .zip(devs)
            .map(|(s, d)| Dispersion {
                aux: Spread::of_deviations(s[0], d[0]),
                talk: Spread::of_deviations(s[1], d[1]),
            })
            .collect()
    };
    let team = spread(&team_sum, &add(|d| &d.0, teams * w_n));
    let floor = match with_floor {
        true => spread(&floor_sum, &add(|d| &d.1, w_n)),
        false => vec![Dispersion::default(); w_n],
    };
    (team, floor)
}
