//! The queue alerts (SPEC §8.3), derived from a queue's call history.
//!
//! `long_wait` holds on the union over the calls of `[queued + limit, end)`; its
//! stretches reaching an instant are found by walking the ended calls back from the
//! latest while they still touch the stretch (plus the oldest waiting call, whose
//! interval is open). `service_level_low` steps a streak through whole minutes, keeping
//! its state after each, so a late call re-runs the minutes from the one it changes.
//!
//! Committing through `[.., t)` settles instants before `t`; a view at `now` evaluates
//! `now` itself too (`inclusive`), on a copy, as the team detectors do.

use super::{Queue, SlState};
use crate::alert::{Alert, AlertKind, AlertState};
use crate::detect::hold::StreakEvent;
use crate::settings::QueueSettings;
use crate::time::Ms;

const MINUTE: Ms = 60_000;
/// `service_level_low` always judges the 15 minutes before the evaluated minute.
const SL_WINDOW_MS: Ms = 15 * MINUTE;

/// A queue's alerts as its history has them, for the store to be corrected to: every
/// `long_wait` stretch that ends at or after `long_wait_from` (or is still open), every
/// `service_level_low` alert firing at or after `sl_from`.
#[derive(Debug, Default)]
pub struct Derived {
    pub long_wait_from: Ms,
    pub sl_from: Ms,
    pub alerts: Vec<Alert>,
}

fn ceil_minute(t: Ms) -> Ms {
    t.div_euclid(MINUTE) * MINUTE + if t.rem_euclid(MINUTE) == 0 { 0 } else { MINUTE }
}

/// `m:ss` (or `h:mm:ss`), as people say a wait.
pub fn fmt_wait(ms: Ms) -> String {
    let s = ms.max(0) / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

fn queue_alert(
    kind: AlertKind,
    queue: &str,
    started_at: Ms,
    fired_at: Ms,
    value: f64,
    threshold: f64,
    message: String,
) -> Alert {
    Alert {
        id: Alert::queue_id(kind, queue, started_at),
        kind,
        team: String::new(),
        queue: Some(queue.to_string()),
        agent: None,
        severity: kind.severity(),
        state: AlertState::Firing,
        started_at,
        fired_at,
        resolved_at: None,
        value,
        threshold,
        message,
        agents: Vec::new(),
        interval: None,
        retracted: false,
    }
}

fn resolve(a: &mut Alert, at: Ms) {
    a.state = AlertState::Resolved;
    a.resolved_at = Some(at);
}

impl Queue {
    /// When advancing past this instant has something to do without a change: the next
    /// whole minute to evaluate, the oldest waiting call reaching the limit, or a call that
    /// waited past the limit reaching it or ending at or after the committed clock (its
    /// end event arrived before the commit point passed them).
    pub fn next_due(&self, s: &QueueSettings) -> Ms {
        let mut due = ceil_minute(self.clock);
        if let Some(&(since, _)) = self.waiting.first()
            && since + s.long_wait_ms >= self.clock
        {
            due = due.min(since + s.long_wait_ms);
        }
        for &(end, since) in self.long.iter().rev().take_while(|l| l.0 >= self.clock) {
            let start = since + s.long_wait_ms;
            due = due.min(if start >= self.clock { start } else { end });
        }
        due
    }

    /// Whether [`Queue::advance`] up to `t` would do anything.
    pub fn due(&self, t: Ms, s: &QueueSettings) -> bool {
        self.dirty.is_some() || self.next_due(s) < t
    }

    /// Commits the alerts through `[.., t)`, re-evaluating from the earliest instant a
    /// change reached; `None` when nothing was due.
    pub fn advance(&mut self, t: Ms, s: &QueueSettings) -> Option<Derived> {
        if !self.due(t, s) {
            self.clock = self.clock.max(t);
            return None;
        }
        let from = self.dirty.take().map_or(self.clock, |d| d.min(self.clock));
        let t = t.max(self.clock);
        let (long_wait_from, mut alerts) = self.long_wait(from, t, false, s);
        let m0 = ceil_minute(from);
        while self.sl_hist.back().is_some_and(|(m, _)| *m >= m0) {
            self.sl_hist.pop_back();
        }
        let start = self.sl_hist.back().map_or(&self.sl_base, |(_, st)| st).clone();
        let mut hist = std::mem::take(&mut self.sl_hist);
        alerts.extend(self.service_level(start, m0, t, false, s, |m, st| hist.push_back((m, st.clone()))));
        self.sl_hist = hist;
        self.clock = t;
        Some(Derived { long_wait_from, sl_from: m0, alerts })
    }

    /// The alerts at `now`, the instant included, past the committed clock (read-only:
    /// the engine advanced the queue to its commit point first).
    pub fn tentative(&self, now: Ms, s: &QueueSettings) -> Derived {
        let from = self.clock;
        let (long_wait_from, mut alerts) = self.long_wait(from, now, true, s);
        let start = self.sl_hist.back().map_or(&self.sl_base, |(_, st)| st).clone();
        let m0 = ceil_minute(from);
        alerts.extend(self.service_level(start, m0, now, true, s, |_, _| {}));
        Derived { long_wait_from, sl_from: m0, alerts }
    }

    /// `long_wait` stretches ending at or after `from` (the first may begin earlier), up to
    /// `t`: fired when they begin before `t` (at or before, `inclusive`), resolved when they
    /// end so. Returns where the stretches found begin (the scope they cover) and them.
    fn long_wait(&self, from: Ms, t: Ms, inclusive: bool, s: &QueueSettings) -> (Ms, Vec<Alert>) {
        let limit = s.long_wait_ms;
        let mut scope = from;
        let mut iv: Vec<(Ms, Ms)> = Vec::new();
        if let Some(&(since, _)) = self.waiting.first() {
            iv.push((since + limit, Ms::MAX));
            scope = scope.min(since + limit);
        }
        // Ends in descending order: once one ends before the stretch found so far begins,
        // every earlier one does too. Only calls that waited past the limit have an
        // interval (`long`).
        for &(end, since) in self.long.iter().rev() {
            if end < scope {
                break;
            }
            let start = since + limit;
            debug_assert!(end > start);
            iv.push((start, end));
            scope = scope.min(start);
        }
        iv.sort_unstable();
        let mut merged: Vec<(Ms, Ms)> = Vec::new();
        for (a, b) in iv {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        let before = |x: Ms| if inclusive { x <= t } else { x < t };
        let secs = limit as f64 / 1000.0;
        let alerts = merged
            .into_iter()
            .filter(|&(a, _)| before(a))
            .map(|(a, b)| {
                let msg = format!("{}: caller waiting {}", self.id, fmt_wait(limit));
                let mut alert = queue_alert(AlertKind::LongWait, &self.id, a, a, secs, secs, msg);
                if b != Ms::MAX && before(b) {
                    resolve(&mut alert, b);
                }
                alert
            })
            .collect();
        (scope, alerts)
    }

    /// Steps the `service_level_low` streak from `state` (the state before minute `m0`)
    /// through the whole minutes from `m0` up to `t`, handing each minute's state to
    /// `keep`; returns the alerts firing at `m0` or after.
    fn service_level(
        &self,
        mut state: SlState,
        m0: Ms,
        t: Ms,
        inclusive: bool,
        s: &QueueSettings,
        mut keep: impl FnMut(Ms, &SlState),
    ) -> Vec<Alert> {
        let mut out: Vec<Alert> = Vec::new();
        let target = s.sl_target;
        let message = |level: f64| {
            format!(
                "{}: service level {:.1}% over 15 min, target {:.0}% within {} s",
                self.id,
                level * 100.0,
                target * 100.0,
                s.sl_ms / 1000
            )
        };
        if let Some((started, fired, value)) = state.firing {
            out.push(queue_alert(AlertKind::ServiceLevelLow, &self.id, started, fired, value, target, message(value)));
        }
        let mut m = m0;
        while if inclusive { m <= t } else { m < t } {
            let sums = self.sums(m - SL_WINDOW_MS, m, s);
            let level = sums.service_level(s.sl_mode);
            // A null level is not below target, nor is one equal to it.
            let cond = sums.judged() >= s.sl_min_calls && level.is_some_and(|l| l < target);
            match state.streak.tick(m, cond) {
                Some(StreakEvent::Fire { started_at }) => {
                    let value = level.unwrap_or(0.0);
                    state.firing = Some((started_at, m, value));
                    out.push(queue_alert(
                        AlertKind::ServiceLevelLow,
                        &self.id,
                        started_at,
                        m,
                        value,
                        target,
                        message(value),
                    ));
                }
                Some(StreakEvent::Resolve) => {
                    state.firing = None;
                    if let Some(a) = out.last_mut() {
                        resolve(a, m);
                    }
                }
                None => {}
            }
            keep(m, &state);
            m += MINUTE;
        }
        out
    }
}
