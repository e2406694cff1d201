//! The AHT control chart (SPEC §10): a team's completed contacts grouped into points
//! (intervals aligned to local midnight, and local days), each judged at its close against
//! a baseline of the previous plotted points of its kind by five control-chart rules, and
//! the `aht_out_of_control` alert those raise.
//!
//! Pure: the engine hands in each contact with the intervals it falls in (it owns the
//! calendar) and the instants to close points through. Everything is kept as exact integer
//! sums of milliseconds, and every comparison a rule makes (z against ±k, one mean against
//! another, a mean against the centre line) is made exactly on them: a point at exactly
//! 3σ is not beyond it, whatever floating point would have said. Floats appear only in the
//! figures shown (mean, limits).
//!
//! Late delivery (SPEC §2.5): a contact completed in an interval that is already closed
//! (its end at or before `Series::closed_to`, which the engine keeps at its committed
//! clock) updates that interval and re-evaluates every later point of the kind — their
//! baselines include it — and re-runs the alert from there; the engine reconciles the alert
//! store with the result (retractions), as it does for the other detectors.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::alert::{Alert, AlertKind};
use crate::detect::team::{AlertChange, new_alert};
use crate::settings::AhtChartSettings;
use crate::time::{Ms, fmt_ms};

/// The rules in SPEC order; bit `i` of [`Point::rules`] is `RULES[i]`.
pub const RULES: [&str; 5] =
    ["beyond_3_sigma", "2_of_3_beyond_2_sigma", "4_of_5_beyond_1_sigma", "9_on_one_side", "6_trending"];

/// How many closed points of each kind a view shows.
pub const SHOWN: usize = 32;

/// The two kinds of point: `[interval, day]` (SPEC §10 names them `"15m"` and `"day"`).
pub const KINDS: usize = 2;
pub const DAY: &str = "day";

/// The intervals of each kind that an instant `t` of the local day `[midnight, next)` falls
/// in: the `interval_ms` interval counted from midnight (the day's last one cut at the next
/// midnight, so a DST day has 92 or 100 quarter-hours), and the day.
pub fn intervals((midnight, next): (Ms, Ms), t: Ms, interval_ms: Ms) -> [(Ms, Ms); KINDS] {
    let start = midnight + (t - midnight) / interval_ms * interval_ms;
    [(start, (start + interval_ms).min(next)), (midnight, next)]
}

/// Sums of handle times in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acc {
    pub n: u64,
    pub sum: i128,
    pub sum_sq: i128,
}

impl Acc {
    pub fn add(&mut self, handle_ms: Ms) {
        let x = handle_ms.max(0) as i128;
        self.n += 1;
        self.sum += x;
        self.sum_sq += x * x;
    }

    fn merge(&mut self, o: &Acc) {
        self.n += o.n;
        self.sum += o.sum;
        self.sum_sq += o.sum_sq;
    }

    /// N²·σ² = N·Σx² − (Σx)² (population variance times N²), exact; `None` on overflow.
    fn var_num(&self) -> Option<i128> {
        (self.n as i128).checked_mul(self.sum_sq)?.checked_sub(self.sum.checked_mul(self.sum)?)
    }

    fn mean_ms(&self) -> f64 {
        self.sum as f64 / self.n as f64
    }
}

/// `a`'s mean compared with `b`'s, exactly (cross-multiplied).
fn cmp_means(a: &Acc, b: &Acc) -> std::cmp::Ordering {
    match (a.sum.checked_mul(b.n as i128), b.sum.checked_mul(a.n as i128)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a.mean_ms().total_cmp(&b.mean_ms()),
    }
}

/// `zone` bits: z > k for k = 0..=3 (bits 0..=3), z < −k (bits 4..=7).
const fn above(k: u32) -> u8 {
    1 << k
}
const fn below(k: u32) -> u8 {
    1 << (4 + k)
}

/// Which lines a point with sums `p` is beyond, against a baseline `b` with σ > 0.
///
/// z = (x − CL) / (σ/√n) with x = S/n, CL = B/N, σ = √V / N (V = N·Q − B²) is
/// d / √(n·V) with d = S·N − B·n, so |z| > k exactly when d² > k²·n·V, on d's side.
fn zone(p: &Acc, b: &Acc, v: i128) -> u8 {
    let exact = || -> Option<u8> {
        let d = p.sum.checked_mul(b.n as i128)?.checked_sub(b.sum.checked_mul(p.n as i128)?)?;
        let d2 = d.checked_mul(d)?;
        let nv = (p.n as i128).checked_mul(v)?;
        let mut z = 0;
        for k in 0..4i128 {
            if d != 0 && d2 > (k * k).checked_mul(nv)? {
                z |= if d > 0 { above(k as u32) } else { below(k as u32) };
            }
        }
        Some(z)
    };
    exact().unwrap_or_else(|| {
        // Sums beyond i128 (not a floor of people): the same comparisons in floating point.
        let z = (p.mean_ms() - b.mean_ms()) / ((v as f64).sqrt() / b.n as f64 / (p.n as f64).sqrt());
        (0..4).fold(0, |acc, k| {
            let k = k as u32;
            acc | if z > k as f64 { above(k) } else { 0 } | if z < -(k as f64) { below(k) } else { 0 }
        })
    })
}

/// One closed interval with enough contacts to be plotted, as judged at its close.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub start: Ms,
    pub end: Ms,
    pub acc: Acc,
    /// The sums of its baseline when the baseline was full and σ > 0: the point then has a
    /// z, limits and rules; otherwise none of them.
    pub base: Option<Acc>,
    /// The lines its z is beyond (`above`/`below` bits), 0 without a baseline.
    zone: u8,
    /// The rules it broke (bit `i` = `RULES[i]`).
    pub rules: u8,
    /// After its close: the `started_at` of the alert of its kind then firing, if any.
    pub firing: Option<Ms>,
}

/// What a point shows (seconds).
#[derive(Clone, Debug, PartialEq)]
pub struct PointFigures {
    pub start: Ms,
    pub n: u64,
    pub mean_s: f64,
    pub cl_s: Option<f64>,
    pub ucl_s: Option<f64>,
    pub lcl_s: Option<f64>,
    pub z: Option<f64>,
    pub rules: Vec<&'static str>,
}

impl Point {
    pub fn figures(&self) -> PointFigures {
        let mean_s = self.acc.mean_ms() / 1000.0;
        let lim = self.base.map(|b| {
            let cl = b.mean_ms();
            let sigma = (b.var_num().map_or(f64::NAN, |v| v as f64)).sqrt() / b.n as f64;
            let half = 3.0 * sigma / (self.acc.n as f64).sqrt();
            let z = (self.acc.mean_ms() - cl) / (sigma / (self.acc.n as f64).sqrt());
            (cl / 1000.0, (cl + half) / 1000.0, ((cl - half) / 1000.0).max(0.0), z)
        });
        PointFigures {
            start: self.start,
            n: self.acc.n,
            mean_s,
            cl_s: lim.map(|l| l.0),
            ucl_s: lim.map(|l| l.1),
            lcl_s: lim.map(|l| l.2),
            z: lim.map(|l| l.3),
            rules: rule_names(self.rules),
        }
    }
}

pub fn rule_names(bits: u8) -> Vec<&'static str> {
    RULES.iter().enumerate().filter(|(i, _)| bits & (1 << i) != 0).map(|(_, r)| *r).collect()
}

/// The first of `points` (oldest first) that ended at or after `t - history_days`: the
/// history a point closing at `t`, or a view at `t`, sees. Housekeeping trims a point only
/// once nothing can see it any more (`Engine::trim_charts`), whenever it runs, so what a
/// point or a view sees never depends on when that was.
fn seen_from(points: &[Point], t: Ms, cfg: &AhtChartSettings) -> usize {
    points.partition_point(|p| p.end < t.saturating_sub(cfg.history_ms))
}

/// The point an interval's sums make after `prev` (the plotted points of its kind before
/// it, oldest first): its baseline, z and rules, from those of `prev` that ended within
/// `history_days` of its own end. Its alert state is set by [`step_alert`].
pub fn evaluate(prev: &[Point], start: Ms, end: Ms, acc: Acc, cfg: &AhtChartSettings) -> Point {
    let prev = &prev[seen_from(prev, end, cfg)..];
    let mut p = Point { start, end, acc, base: None, zone: 0, rules: 0, firing: None };
    let k = cfg.baseline_points as usize;
    if prev.len() < k {
        return p;
    }
    let mut base = Acc::default();
    for q in &prev[prev.len() - k..] {
        base.merge(&q.acc);
    }
    let v = base.var_num().unwrap_or(i128::MAX);
    if v <= 0 {
        return p; // σ = 0: no limits
    }
    p.base = Some(base);
    p.zone = zone(&acc, &base, v);
    p.rules = rules(prev, &p);
    p
}

/// The rules the closing point `p` (with a baseline) breaks, after `prev`.
fn rules(prev: &[Point], p: &Point) -> u8 {
    // The last `k` plotted points, the closing one included.
    let last = |k: usize| prev[prev.len().saturating_sub(k - 1)..].iter().chain(std::iter::once(p));
    let count = |k: usize, bit: u8| last(k).filter(|q| q.zone & bit != 0).count();
    let mut r = 0;
    if p.zone & (above(3) | below(3)) != 0 {
        r |= 1;
    }
    for side in [above, below] {
        if p.zone & side(2) != 0 && count(3, side(2)) >= 2 {
            r |= 2;
        }
        if p.zone & side(1) != 0 && count(5, side(1)) >= 4 {
            r |= 4;
        }
        if prev.len() >= 8 && count(9, side(0)) == 9 {
            r |= 8;
        }
    }
    if prev.len() >= 5 {
        let six: Vec<&Acc> = last(6).map(|q| &q.acc).collect();
        let steps: Vec<std::cmp::Ordering> = six.windows(2).map(|w| cmp_means(w[1], w[0])).collect();
        if steps.iter().all(|s| s.is_gt()) || steps.iter().all(|s| s.is_lt()) {
            r |= 16;
        }
    }
    r
}

/// The alert id of a team's chart of kind `kind` started at `started`.
pub fn alert_id(team: &str, kind: &str, started: Ms) -> String {
    format!("{}:{team}:{kind}:{started}", AlertKind::AhtOutOfControl.as_str())
}

/// Moves the alert of a team's chart of kind `kind` past the close of `p` (plotted), from
/// `state` (the `started_at` of the alert firing before it): fires at the close of a point
/// that breaks a rule while none is firing, resolves at the close of one that breaks none.
/// Sets `p.firing` and returns the new state.
pub fn step_alert(team: &str, kind: &str, p: &mut Point, state: Option<Ms>, out: &mut Vec<AlertChange>) -> Option<Ms> {
    let next = match state {
        None if p.rules != 0 => {
            out.push(AlertChange::Fired(fire(team, kind, p)));
            Some(p.end)
        }
        Some(s) if p.rules == 0 => {
            out.push(AlertChange::Resolved { id: alert_id(team, kind, s), at: p.end });
            None
        }
        s => s,
    };
    p.firing = next;
    next
}

fn fire(team: &str, kind: &str, p: &Point) -> Alert {
    let f = p.figures();
    let base = p.base.expect("a point that breaks a rule has a baseline");
    let at_or_above = cmp_means(&p.acc, &base).is_ge();
    let threshold = if at_or_above { f.ucl_s } else { f.lcl_s }.unwrap_or(0.0);
    let message = format!(
        "{team} AHT out of control ({kind} point from {}): mean {:.1} s against limits {:.1}–{:.1} s (centre {:.1} s); {}",
        fmt_ms(p.start),
        f.mean_s,
        f.lcl_s.unwrap_or(0.0),
        f.ucl_s.unwrap_or(0.0),
        f.cl_s.unwrap_or(0.0),
        f.rules.join(", ")
    );
    let mut a = new_alert(
        AlertKind::AhtOutOfControl,
        alert_id(team, kind, p.end),
        team,
        None,
        p.end,
        p.end,
        f.mean_s,
        threshold,
        message,
        Vec::new(),
    );
    a.interval = Some(kind.to_string());
    a
}

/// An interval's contacts so far: its end and sums.
type Open = (Ms, Acc);

/// One kind of point (`"15m"` or `"day"`) of one team: the plotted points, the intervals
/// still open, and the closed ones too small to plot (kept while a late contact may still
/// make them a point).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Series {
    /// Plotted points, oldest first, back to `history_days`.
    points: Vec<Point>,
    /// Closed intervals with contacts but fewer than `min_contacts`, by start.
    low: BTreeMap<Ms, Open>,
    /// Intervals not closed yet, by start.
    open: BTreeMap<Ms, Open>,
    /// Every interval ending at or before this is closed.
    closed_to: Ms,
    /// The alert state before `points[0]` (history trimmed off the front).
    firing_before: Option<Ms>,
    /// Bumped whenever `points` may have changed (a close, a late contact, a trim): the
    /// engine's cache of a chart's view is keyed by it (`engine::chart`). Not persisted: a
    /// restored engine starts with empty caches.
    #[serde(skip)]
    version: u64,
}

impl Series {
    pub fn new() -> Series {
        Series { closed_to: Ms::MIN, ..Default::default() }
    }

    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// Changes whenever the points may have changed (see the field).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Whether an interval with enough contacts to be plotted closes by `t` beyond the
    /// committed state: [`Series::tentative`] then evaluates points on the side.
    pub fn closes_by(&self, t: Ms, cfg: &AhtChartSettings) -> bool {
        self.open.values().any(|&(end, acc)| end <= t && acc.n >= cfg.min_contacts as u64)
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty() && self.low.is_empty() && self.open.is_empty() && self.firing_before.is_none()
    }

    /// The start of the latest interval with contacts, plotted or not (`Ms::MIN`: none).
    pub fn last_start(&self) -> Ms {
        let plotted = self.points.last().map_or(Ms::MIN, |p| p.start);
        let low = self.low.last_key_value().map_or(Ms::MIN, |(&s, _)| s);
        let open = self.open.last_key_value().map_or(Ms::MIN, |(&s, _)| s);
        plotted.max(low).max(open)
    }

    /// The earliest end of an open interval (`Ms::MAX`: none).
    pub fn next_close(&self) -> Ms {
        // Intervals of one kind do not overlap: the first to start is the first to end.
        self.open.first_key_value().map_or(Ms::MAX, |(_, &(end, _))| end)
    }

    fn state_before(&self, i: usize) -> Option<Ms> {
        if i == 0 { self.firing_before } else { self.points[i - 1].firing }
    }

    /// A contact of `handle_ms` completed in the interval `[start, end)`. When that
    /// interval is already closed, the points from it on are re-evaluated, their alert
    /// changes go to `out`, and the close of the first re-evaluated point is returned
    /// (the engine replaces the alerts of this chart from that instant on with `out`).
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        start: Ms,
        end: Ms,
        handle_ms: Ms,
        cfg: &AhtChartSettings,
        team: &str,
        kind: &str,
        out: &mut Vec<AlertChange>,
    ) -> Option<Ms> {
        if end > self.closed_to {
            self.open.entry(start).or_insert((end, Acc::default())).1.add(handle_ms);
            return None;
        }
        self.version += 1;
        let i = self.points.partition_point(|p| p.start < start);
        if self.points.get(i).is_some_and(|p| p.start == start) {
            self.points[i].acc.add(handle_ms);
        } else {
            let entry = self.low.entry(start).or_insert((end, Acc::default()));
            entry.1.add(handle_ms);
            if entry.1.n < cfg.min_contacts as u64 {
                return None;
            }
            let (end, acc) = self.low.remove(&start).expect("just found");
            self.points.insert(i, Point { start, end, acc, base: None, zone: 0, rules: 0, firing: None });
        }
        self.reevaluate(i, cfg, team, kind, out);
        Some(self.points[i].end)
    }

    /// Re-evaluates the points from `i` on (a late contact changed point `i`).
    fn reevaluate(&mut self, i: usize, cfg: &AhtChartSettings, team: &str, kind: &str, out: &mut Vec<AlertChange>) {
        let mut state = self.state_before(i);
        for j in i..self.points.len() {
            let q = self.points[j];
            let mut p = evaluate(&self.points[..j], q.start, q.end, q.acc, cfg);
            state = step_alert(team, kind, &mut p, state, out);
            self.points[j] = p;
        }
    }

    /// Closes every open interval ending at or before `t`, in order; alert changes to `out`.
    pub fn close_through(&mut self, t: Ms, cfg: &AhtChartSettings, team: &str, kind: &str, out: &mut Vec<AlertChange>) {
        while let Some(entry) = self.open.first_entry() {
            // Intervals of one kind do not overlap, so start order is end order.
            if entry.get().0 > t {
                break;
            }
            let (start, (end, acc)) = entry.remove_entry();
            self.version += 1;
            if acc.n < cfg.min_contacts as u64 {
                self.low.insert(start, (end, acc));
                continue;
            }
            let mut p = evaluate(&self.points, start, end, acc, cfg);
            step_alert(team, kind, &mut p, self.state_before(self.points.len()), out);
            self.points.push(p);
        }
        self.closed_to = self.closed_to.max(t);
    }

    /// The last `shown` points closed by `t`, oldest first, with those the committed
    /// state has not closed yet evaluated on the side (their alert changes to `out`);
    /// nothing is changed.
    pub fn tentative(
        &self,
        t: Ms,
        cfg: &AhtChartSettings,
        team: &str,
        kind: &str,
        out: &mut Vec<AlertChange>,
        shown: usize,
    ) -> Vec<Point> {
        if !self.closes_by(t, cfg) {
            // Nothing to evaluate (the common case: a view between two closes).
            let from = self.points.len().saturating_sub(shown).max(self.seen_at(t, cfg));
            return self.points[from..].to_vec();
        }
        // Enough history for the rules and the baseline, and the points shown.
        let keep = shown.max(cfg.baseline_points as usize).max(9);
        let mut tail: Vec<Point> = self.points[self.points.len().saturating_sub(keep)..].to_vec();
        let mut state = self.state_before(self.points.len());
        for (&start, &(end, acc)) in &self.open {
            if end > t {
                break;
            }
            if acc.n < cfg.min_contacts as u64 {
                continue;
            }
            let mut p = evaluate(&tail, start, end, acc, cfg);
            state = step_alert(team, kind, &mut p, state, out);
            tail.push(p);
        }
        let from = tail.len().saturating_sub(shown).max(seen_from(&tail, t, cfg));
        tail.drain(..from);
        tail
    }

    /// The first point a view at `t` shows (it shows those within `history_days`).
    pub fn seen_at(&self, t: Ms, cfg: &AhtChartSettings) -> usize {
        seen_from(&self.points, t, cfg)
    }

    /// Drops points that ended before `points_before` and small intervals that ended
    /// before `low_before` (no late contact can reach them any more).
    pub fn trim(&mut self, points_before: Ms, low_before: Ms) {
        let n = self.points.partition_point(|p| p.end < points_before);
        if n > 0 {
            self.version += 1;
            self.firing_before = self.points[n - 1].firing;
            self.points.drain(..n);
        }
        self.low.retain(|_, &mut (end, _)| end >= low_before);
    }

    /// Whether an alert of this kind is firing as of the committed state.
    pub fn firing(&self) -> Option<Ms> {
        self.state_before(self.points.len())
    }
}

#[cfg(test)]
mod tests;
