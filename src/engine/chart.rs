//! The AHT control chart in the engine (SPEC §10): each completed contact goes to its
//! team's chart (the team in force at completion), points close as the committed clock
//! passes their end, views show the points up to `now` (those in the uncommitted stretch
//! evaluated on the side), and a late contact in a closed point re-evaluates the chart from
//! there and corrects the alert store. The chart itself is `detect::aht_chart`.
//!
//! Charts are kept by team id, apart from `Team`: a team is dropped when its last member is
//! forgotten, but its history of points is kept for `history_days`, to be there when the
//! team comes back.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use serde::{Deserialize, Serialize};

use super::Engine;
use crate::detect::aht_chart::{self, DAY, KINDS, Point, PointFigures, Series};

/// The names of the kinds: `["15m", "day"]` for 15-minute intervals.
pub(super) fn chart_names(cfg: &crate::settings::AhtChartSettings) -> [String; KINDS] {
    [cfg.interval_name(), DAY.to_string()]
}
use crate::detect::team::AlertChange;
use crate::floor::agents::TeamIdx;
use crate::time::Ms;

/// A team's chart: one series per kind (`aht_chart::KINDS`).
#[derive(Debug, Serialize, Deserialize)]
pub struct TeamChart {
    series: [Series; KINDS],
    /// The views of this chart last built, to be shared while none of their points changes
    /// (`chart_at`). Behind a mutex because views are built from `&Engine`; only
    /// `chart_at` takes it, never held across anything but the lookup. Dropped with the
    /// chart, and not persisted.
    #[serde(skip)]
    cache: Mutex<ChartCache>,
}

impl Clone for TeamChart {
    /// A copy starts with an empty cache (it would be keyed by the same versions, which
    /// the copy's series then bump on their own).
    fn clone(&self) -> TeamChart {
        TeamChart { series: self.series.clone(), cache: Mutex::default() }
    }
}

/// At most one view per number of points shown: [`aht_chart::SHOWN`] (snapshots, the
/// board) and 1 (a scrape). Each is keyed by the series' versions it was built from.
#[derive(Debug, Default)]
struct ChartCache {
    entries: Vec<(Key, ChartView)>,
}

/// The series' versions, the first point each shows at the view's `now` (a point leaves
/// the view `history_days` after its end), and the points shown per kind.
type Key = ([u64; KINDS], [usize; KINDS], usize);

/// How many views a chart's cache keeps (the two `shown` a view asks for).
const CACHED: usize = 2;

impl ChartCache {
    fn get(&self, key: &Key) -> Option<&ChartView> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Replaces the view of the same `shown`, else the oldest one when full.
    fn put(&mut self, key: Key, view: ChartView) {
        if let Some(i) = self.entries.iter().position(|(k, _)| k.2 == key.2) {
            self.entries.remove(i);
        } else if self.entries.len() >= CACHED {
            self.entries.remove(0);
        }
        self.entries.push((key, view));
    }
}

impl TeamChart {
    fn new() -> TeamChart {
        TeamChart { series: [Series::new(), Series::new()], cache: Mutex::default() }
    }

    fn next_close(&self) -> Ms {
        self.series.iter().map(Series::next_close).min().unwrap_or(Ms::MAX)
    }
}

/// A team's chart as a view shows it: per kind (`"15m"`, `"day"`), the last closed points,
/// oldest first. Cheap to clone: views share it while none of its points changes (most
/// views fall between two closes), see `Engine::chart_at`.
#[derive(Clone, Debug, Default)]
pub struct ChartView(Arc<ChartShown>);

#[derive(Debug, Default)]
pub struct ChartShown {
    pub kinds: Vec<(String, Vec<PointFigures>)>,
    /// The snapshot's JSON of these points, written by the first snapshot that shows them
    /// and reused by the next ones (`snapshot`): bytes the engine neither reads nor
    /// writes; it lives and dies with the view it belongs to.
    pub json: OnceLock<Box<[u8]>>,
    /// `json` compressed as a piece of a gzip answer (`server::gz::piece`), by the first
    /// gzip answer that carries it; likewise reused.
    pub deflated: OnceLock<Box<[u8]>>,
}

impl ChartView {
    pub fn new(kinds: Vec<(String, Vec<PointFigures>)>) -> ChartView {
        ChartView(Arc::new(ChartShown { kinds, json: OnceLock::new(), deflated: OnceLock::new() }))
    }
}

impl std::ops::Deref for ChartView {
    type Target = ChartShown;
    fn deref(&self) -> &ChartShown {
        &self.0
    }
}

impl PartialEq for ChartView {
    /// The same points, bit for bit (a NaN figure equals itself: a cached view and a
    /// recomputed one must agree on it too).
    fn eq(&self, other: &ChartView) -> bool {
        let bits = |p: &PointFigures| {
            let f = |x: Option<f64>| x.map(f64::to_bits);
            (p.start, p.n, p.mean_s.to_bits(), f(p.cl_s), f(p.ucl_s), f(p.lcl_s), f(p.z), p.rules.clone())
        };
        self.kinds.len() == other.kinds.len()
            && self.kinds.iter().zip(&other.kinds).all(|((n, a), (m, b))| {
                n == m && a.len() == b.len() && a.iter().zip(b).all(|(x, y)| bits(x) == bits(y))
            })
    }
}

impl Engine {
    /// A contact of `handle_ms` completed at `t` in team `ti`.
    pub(super) fn chart_contact(&mut self, ti: TeamIdx, t: Ms, handle_ms: Ms) {
        let day = self.cal.day_bounds(t);
        let cfg = &self.settings.aht_chart;
        let intervals = aht_chart::intervals(day, t, cfg.interval_ms);
        let team = &self.teams[ti as usize].as_ref().expect("live team index").id;
        if !self.charts.contains_key(team.as_str()) {
            self.charts.insert(team.clone(), TeamChart::new());
        }
        let chart = self.charts.get_mut(team.as_str()).expect("just inserted");
        let names = &self.chart_names;
        let mut rewound = Vec::new();
        for (k, &(start, end)) in intervals.iter().enumerate() {
            let mut out = Vec::new();
            match chart.series[k].add(start, end, handle_ms, cfg, team, &names[k], &mut out) {
                Some(from) => rewound.push((k, from, out)),
                None => self.chart_due = self.chart_due.min(chart.series[k].next_close()),
            }
        }
        if !rewound.is_empty() {
            let team = team.clone();
            for (k, from, out) in rewound {
                let name = self.chart_names[k].clone();
                self.reconcile_chart(&team, &name, from, out);
            }
        }
    }

    /// Closes every chart's points that end at or before `t` (the committed clock).
    pub(super) fn close_charts(&mut self, t: Ms) {
        if t < self.chart_due {
            return;
        }
        // In team order, so hooks hear of the alerts of one close in the same order on every
        // run (the map's order is random per process).
        let mut closing: Vec<&String> =
            self.charts.iter().filter(|(_, c)| c.next_close() <= t).map(|(k, _)| k).collect();
        closing.sort_unstable();
        let closing: Vec<String> = closing.into_iter().cloned().collect();
        let cfg = &self.settings.aht_chart;
        for team in &closing {
            let chart = self.charts.get_mut(team).expect("listed above");
            for (k, s) in chart.series.iter_mut().enumerate() {
                s.close_through(t, cfg, team, &self.chart_names[k], &mut self.changes);
            }
        }
        self.chart_due = self.charts.values().map(TeamChart::next_close).min().unwrap_or(Ms::MAX);
        self.flush_changes();
    }

    /// Team `team`'s chart at `now`: the committed points and those closing in
    /// `[committed clock, now]`, evaluated on the side (their alert changes to `out`);
    /// `shown` points per kind at most (a scrape reads the last one only).
    ///
    /// When no point closes in `[committed clock, now]`, the view is the last `shown`
    /// committed points, a function of the series' points alone: it is built once and
    /// shared (with its JSON, `ChartShown::json`) until a series' version moves (a close,
    /// a late contact, a trim). In test builds every shared view is checked against one
    /// built anew.
    pub(super) fn chart_at(&self, team: &str, now: Ms, out: &mut Vec<AlertChange>, shown: usize) -> ChartView {
        let names = &self.chart_names;
        let Some(chart) = self.charts.get(team) else {
            return ChartView::new(names.iter().map(|n| (n.clone(), Vec::new())).collect());
        };
        let cfg = &self.settings.aht_chart;
        if chart.series.iter().any(|s| s.closes_by(now, cfg)) {
            return self.build_chart(chart, team, now, out, shown);
        }
        let key: Key = (
            std::array::from_fn(|k| chart.series[k].version()),
            std::array::from_fn(|k| chart.series[k].seen_at(now, cfg)),
            shown,
        );
        let mut cache = chart.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(v) = cache.get(&key) {
            debug_assert!(
                *v == self.build_chart(chart, team, now, &mut Vec::new(), shown),
                "the cached chart of {team} is the one built anew"
            );
            return v.clone();
        }
        let v = self.build_chart(chart, team, now, out, shown);
        cache.put(key, v.clone());
        v
    }

    /// `chart_at` without the cache.
    fn build_chart(
        &self,
        chart: &TeamChart,
        team: &str,
        now: Ms,
        out: &mut Vec<AlertChange>,
        shown: usize,
    ) -> ChartView {
        let names = &self.chart_names;
        let cfg = &self.settings.aht_chart;
        let kinds = names
            .iter()
            .cloned()
            .zip(&chart.series)
            .map(|(name, s)| {
                let points: Vec<PointFigures> =
                    s.tentative(now, cfg, team, &name, out, shown).iter().map(Point::figures).collect();
                (name, points)
            })
            .collect();
        ChartView::new(kinds)
    }

    /// The alert changes of every chart's points closing in `[committed clock, now]`.
    pub(super) fn charts_tentative(&self, now: Ms, out: &mut Vec<AlertChange>) {
        if now < self.chart_due {
            return;
        }
        let names = &self.chart_names;
        let cfg = &self.settings.aht_chart;
        for (team, chart) in &self.charts {
            if chart.next_close() <= now {
                for (k, s) in chart.series.iter().enumerate() {
                    s.tentative(now, cfg, team, &names[k], out, 0);
                }
            }
        }
    }

    /// Drops points no point or view can see any more and small intervals no late contact
    /// can reach any more; forgets charts with nothing left. A point sees the points of
    /// `history_days` before its end, and a late contact re-evaluates the points back to
    /// the oldest it can reach, so points are kept for `history_days` beyond that reach.
    pub(super) fn trim_charts(&mut self, now: Ms) {
        let backfill = self.settings.max_backfill_ms + self.settings.max_future_skew_ms + 60_000;
        let points_before = now - self.settings.aht_chart.history_ms - backfill;
        let low_before = now - backfill;
        self.charts.retain(|_, c| {
            for s in &mut c.series {
                s.trim(points_before, low_before);
            }
            !c.series.iter().all(Series::is_empty)
        });
        // The charts of teams forgotten (empty for `forget_offline_after`) keep their
        // history for a team that comes back, but at most `MAX_TEAMS` of them, the latest
        // with contacts: a feed naming a new team each shift kept weeks of them (200,000
        // churned teams held 883 MB).
        let mut gone: Vec<(Ms, String)> = self
            .charts
            .iter()
            .filter(|(id, _)| !self.team_index.contains_key(id.as_str()))
            .map(|(id, c)| (c.series.iter().map(Series::last_start).max().unwrap_or(Ms::MIN), id.clone()))
            .collect();
        if gone.len() > super::MAX_TEAMS {
            gone.sort_unstable();
            for (_, id) in &gone[..gone.len() - super::MAX_TEAMS] {
                self.charts.remove(id);
            }
        }
    }

    /// Recomputes when the next point closes (after a restore).
    pub(super) fn recount_chart_due(&mut self) {
        self.chart_due = self.charts.values().map(TeamChart::next_close).min().unwrap_or(Ms::MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FileConfig;
    use crate::engine::{MAX_TEAMS, Source, ViewOpts};
    use crate::event::{Aliases, decode_str};

    const Q: Ms = 900_000;
    /// 2026-11-23T08:00:00Z.
    const T0: Ms = 1_795_420_800_000;

    fn engine() -> Engine {
        let toml = "[server]\nclock = \"event\"\n[aht_chart]\nbaseline_points = 3\nmin_contacts = 2\n";
        Engine::new(FileConfig::parse(toml, "t").unwrap().settings().unwrap())
    }

    fn event(e: &mut Engine, t: Ms, agent: &str, state: &str) {
        let line = format!(r#"{{"ts":{t},"agent":"{agent}","state":"{state}","team":"T1"}}"#);
        let ev = decode_str(&line, &Aliases::default()).unwrap().agent().expect("an agent event");
        e.apply(ev, 0, Source::Replay);
    }

    /// A contact of `handle_s` by `agent` from `t`.
    fn contact(e: &mut Engine, agent: &str, t: Ms, handle_s: Ms) {
        event(e, t, agent, "talking");
        event(e, t + handle_s * 1000, agent, "idle");
    }

    /// Quarter-hours `0..n` from `T0`, each with two contacts by A1 (of 100 + 10·q s and
    /// 120 s): points with a rising mean.
    fn quarters(e: &mut Engine, n: i64) {
        for q in 0..n {
            contact(e, "A1", T0 + q * Q + 60_000, 100 + 10 * q);
            contact(e, "A1", T0 + q * Q + 300_000, 120);
        }
    }

    /// T1's chart as a view at `now` shows it (advancing the engine to `now`).
    fn shown(e: &mut Engine, now: Ms) -> ChartView {
        let v = e.view(now, &ViewOpts { team: None, agents: false, alerts: false, scrape: false });
        v.teams.iter().find(|t| t.id == "T1").and_then(|t| t.aht_chart.clone()).expect("T1's chart")
    }

    /// T1's chart at `now` built anew, without the cache.
    fn built(e: &Engine, now: Ms) -> ChartView {
        e.build_chart(&e.charts["T1"], "T1", now, &mut Vec::new(), aht_chart::SHOWN)
    }

    fn points(c: &ChartView) -> usize {
        c.kinds[0].1.len()
    }

    /// The charts of forgotten teams are kept, but no more than `MAX_TEAMS` of them, those
    /// with the latest contacts: two waves of 3,000 teams, each forgotten after its shift.
    #[test]
    fn charts_of_forgotten_teams_are_bounded() {
        let toml = "[server]\nclock = \"event\"\n[floor]\nmax_backfill_secs = 600\nforget_offline_after_secs = 600\n";
        let mut e = Engine::new(FileConfig::parse(toml, "t").unwrap().settings().unwrap());
        let wave = |e: &mut Engine, w: usize, t: Ms| {
            for i in 0..3_000 {
                let (agent, team) = (format!("W{w}A{i}"), format!("W{w}T{i}"));
                for (at, state) in [(t, "talking"), (t + 60_000, "idle"), (t + 120_000, "offline")] {
                    let line = format!(r#"{{"ts":{at},"agent":"{agent}","state":"{state}","team":"{team}"}}"#);
                    let ev = decode_str(&line, &Aliases::default()).unwrap().agent().unwrap();
                    e.apply(ev, 0, Source::Replay);
                }
            }
        };
        // Housekeeping at `t`: the agents offline since long enough go, then their teams.
        let keep = |e: &mut Engine, t: Ms| {
            event(e, t, "K", "idle");
            e.housekeeping();
            event(e, t + 1_000, "K", "idle");
            e.housekeeping();
        };
        wave(&mut e, 1, T0);
        keep(&mut e, T0 + 3_600_000);
        keep(&mut e, T0 + 7_200_000);
        assert_eq!(e.team_index.len(), 1, "only K's team is left");
        assert_eq!(e.charts.len(), 3_000, "their charts kept");
        wave(&mut e, 2, T0 + 8 * 3_600_000);
        keep(&mut e, T0 + 9 * 3_600_000);
        keep(&mut e, T0 + 10 * 3_600_000);
        let gone = e.charts.keys().filter(|id| !e.team_index.contains_key(id.as_str())).count();
        assert_eq!(gone, MAX_TEAMS);
        assert!((0..3_000).all(|i| e.charts.contains_key(&format!("W2T{i}"))), "the later wave's are kept");
        let first = (0..3_000).filter(|i| e.charts.contains_key(&format!("W1T{i}"))).count();
        assert_eq!(first, MAX_TEAMS - 3_000);
    }

    /// A chart's view is shared between views while its points stay, and is built anew,
    /// equal to one built without the cache, once a point closes, a late contact corrects
    /// a closed point, or history is trimmed.
    #[test]
    fn a_shared_chart_view_is_the_one_built_anew() {
        let mut e = engine();
        quarters(&mut e, 5);
        event(&mut e, T0 + 5 * Q + 60_000, "A2", "idle");
        let now = T0 + 5 * Q + 60_000;
        let a = shown(&mut e, now);
        let b = shown(&mut e, now);
        assert_eq!(points(&a), 5);
        assert!(Arc::ptr_eq(&a.0, &b.0), "an unchanged chart is shared");
        assert!(b == built(&e, now));
        // Its JSON slot goes with it.
        a.json.set(b"x".to_vec().into_boxed_slice()).unwrap();
        assert_eq!(shown(&mut e, now).json.get().map(|j| &j[..]), Some(&b"x"[..]));

        // A late contact in the second quarter (closed) changes that point's mean.
        contact(&mut e, "A3", T0 + Q + 400_000, 400);
        let c = shown(&mut e, now);
        assert!(!Arc::ptr_eq(&a.0, &c.0));
        assert!(c == built(&e, now));
        assert!(c != a, "the late contact shows");
        assert_eq!(c.json.get(), None);
        assert_eq!(c.kinds[0].1[1].n, 3);

        // The sixth quarter's point closes at its end, first tentatively (not cached), then
        // in the committed state.
        contact(&mut e, "A1", T0 + 5 * Q + 120_000, 90);
        contact(&mut e, "A1", T0 + 5 * Q + 400_000, 95);
        let end = T0 + 6 * Q;
        event(&mut e, end, "A2", "idle");
        let d = shown(&mut e, end);
        assert_eq!(points(&d), 6);
        assert!(d == built(&e, end));
        assert!(!Arc::ptr_eq(&d.0, &shown(&mut e, end).0), "a view with a tentative point is not shared");
        event(&mut e, end + 60_000, "A2", "idle");
        let f = shown(&mut e, end + 60_000);
        assert_eq!(points(&f), 6);
        assert!(f == d && f == built(&e, end + 60_000));
        assert!(Arc::ptr_eq(&f.0, &shown(&mut e, end + 60_000).0));

        // Trimming drops the first point.
        let s = &e.settings;
        let keep = s.aht_chart.history_ms + s.max_backfill_ms + s.max_future_skew_ms + 60_000;
        e.trim_charts(T0 + 2 * Q + keep);
        let g = e.chart_at("T1", end + 60_000, &mut Vec::new(), aht_chart::SHOWN);
        assert_eq!(points(&g), 5);
        assert_eq!(g.kinds[0].1[0].start, T0 + Q);
        assert!(g == built(&e, end + 60_000));
    }

    /// A point leaves the view `history_days` after its end, with no close, late contact
    /// or trim in between: the view shared until then is not shared past it.
    #[test]
    fn a_point_leaves_the_shared_view_after_history_days() {
        let mut e = engine();
        quarters(&mut e, 3);
        // Past midnight (UTC): the day's point has closed too, nothing is left to close.
        event(&mut e, T0 + 16 * 3_600_000 + 60_000, "A2", "idle");
        // The first point ended at T0 + Q; it is seen up to T0 + Q + history.
        let last_seen = T0 + Q + e.settings.aht_chart.history_ms;
        let a = e.chart_at("T1", last_seen, &mut Vec::new(), aht_chart::SHOWN);
        assert_eq!(points(&a), 3);
        assert!(Arc::ptr_eq(&a.0, &e.chart_at("T1", last_seen, &mut Vec::new(), aht_chart::SHOWN).0));
        let b = e.chart_at("T1", last_seen + 1, &mut Vec::new(), aht_chart::SHOWN);
        assert_eq!(points(&b), 2);
        assert_eq!(b.kinds[0].1[0].start, T0 + Q);
        assert!(b == built(&e, last_seen + 1));
    }

    /// At most one view per `shown` is kept, whatever the views asked for.
    #[test]
    fn the_cache_keeps_one_view_per_shown() {
        let mut e = engine();
        for q in 0..3 {
            contact(&mut e, "A1", T0 + q * Q + 60_000, 100);
            contact(&mut e, "A1", T0 + q * Q + 300_000, 130);
        }
        event(&mut e, T0 + 3 * Q + 60_000, "A2", "idle");
        let now = T0 + 3 * Q + 60_000;
        for round in 0..3 {
            for n in [1, aht_chart::SHOWN, 1] {
                let v = e.chart_at("T1", now, &mut Vec::new(), n);
                assert_eq!(points(&v), n.min(3));
            }
            contact(&mut e, &format!("L{round}"), T0 + 60_000, 200);
            let _ = shown(&mut e, now);
        }
        assert_eq!(e.charts["T1"].cache.lock().unwrap().entries.len(), CACHED);
    }
}
