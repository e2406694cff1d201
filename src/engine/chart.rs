//! The AHT control chart in the engine (SPEC §10): each completed contact goes to its
//! team's chart (the team in force at completion), points close as the committed clock
//! passes their end, views show the points up to `now` (those in the uncommitted stretch
//! evaluated on the side), and a late contact in a closed point re-evaluates the chart from
//! there and corrects the alert store. The chart itself is `detect::aht_chart`.
//!
//! Charts are kept by team id, apart from `Team`: a team is dropped when its last member is
//! forgotten, but its history of points is kept for `history_days`, to be there when the
//! team comes back.

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
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TeamChart {
    series: [Series; KINDS],
}

impl TeamChart {
    fn new() -> TeamChart {
        TeamChart { series: [Series::new(), Series::new()] }
    }

    fn next_close(&self) -> Ms {
        self.series.iter().map(Series::next_close).min().unwrap_or(Ms::MAX)
    }
}

/// A team's chart as a view shows it: per kind (`"15m"`, `"day"`), the last closed points,
/// oldest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChartView {
    pub kinds: Vec<(String, Vec<PointFigures>)>,
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
    pub(super) fn chart_at(&self, team: &str, now: Ms, out: &mut Vec<AlertChange>, shown: usize) -> ChartView {
        let names = &self.chart_names;
        let Some(chart) = self.charts.get(team) else {
            return ChartView { kinds: names.iter().map(|n| (n.clone(), Vec::new())).collect() };
        };
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
        ChartView { kinds }
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

    /// Drops points older than `history_days` and small intervals no late contact can
    /// reach any more; forgets charts with nothing left.
    pub(super) fn trim_charts(&mut self, now: Ms) {
        let backfill = self.settings.max_backfill_ms + self.settings.max_future_skew_ms + 60_000;
        let points_before = now - self.settings.aht_chart.history_ms.max(backfill);
        let low_before = now - backfill;
        self.charts.retain(|_, c| {
            for s in &mut c.series {
                s.trim(points_before, low_before);
            }
            !c.series.iter().all(Series::is_empty)
        });
    }

    /// Recomputes when the next point closes (after a restore).
    pub(super) fn recount_chart_due(&mut self) {
        self.chart_due = self.charts.values().map(TeamChart::next_close).min().unwrap_or(Ms::MAX);
    }
}
