//! The core's settings: what accounting and detection are configured with, validated and
//! resolved (durations in milliseconds, the time zone loaded). No serde here: the TOML
//! shape lives in `config`, whose `validate` builds these.

use std::collections::{HashMap, HashSet};

use crate::event::State;
use crate::time::Ms;

#[derive(Clone, Debug, PartialEq)]
pub enum WindowKind {
    Sliding(Ms),
    Today,
    PeakToday,
}

#[derive(Clone, Debug)]
pub struct WindowSpec {
    pub name: String,
    pub kind: WindowKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockMode {
    Wall,
    Event,
}

/// The validated, resolved configuration of the core (accounting and detection).
#[derive(Clone, Debug)]
pub struct Settings {
    pub windows: Vec<WindowSpec>,
    pub timezone_name: String,
    pub tz: jiff::tz::TimeZone,
    pub planned_reasons: HashSet<String>,
    pub aliases: HashMap<String, State>,
    pub min_team: u32,
    pub dispersion_min_logged_ms: Ms,
    pub max_future_skew_ms: Ms,
    pub forget_offline_ms: Ms,
    /// Resolved alerts are kept this long after they resolve (the daemon: 48 h, more than
    /// the 24 h promised; `replay`: for good, it lists every alert of its input).
    pub keep_resolved_alerts_ms: Ms,
    /// Alerts the store holds at most after housekeeping (`limits.max_alerts`): past it the
    /// oldest resolved ones go before their `keep_resolved_alerts_ms` (`replay`: no bound).
    pub max_alerts: usize,
    /// How late an event may arrive and still be applied where it belongs (§2.5).
    pub max_backfill_ms: Ms,
    pub max_agents: usize,
    /// Daily peak windows as (start, end) milliseconds after local midnight; end ≤ start wraps.
    pub peak_windows: Vec<(Ms, Ms)>,
    pub busy_share: Option<f64>,
    pub peak_hold_ms: Ms,
    pub cluster_min_agents: u32,
    pub cluster_share: f64,
    pub cluster_baseline: f64,
    pub cluster_alpha: f64,
    pub cluster_hold_ms: Ms,
    pub long_aux_ms: Ms,
    pub long_aux_per_reason: HashMap<String, Ms>,
    pub disp_cv_limit: f64,
    pub disp_min_members: u32,
    pub disp_consecutive: u32,
    pub disp_min_peak_ms: Ms,
    pub util_high: f64,
    pub util_consecutive: u32,
    pub aht_chart: AhtChartSettings,
    pub clock: ClockMode,
    /// Queues and service level (SPEC §8).
    pub queues: QueueSettings,
    /// Schedule adherence (SPEC §9): allowed states per activity, alert threshold.
    pub adherence: crate::roster::AdherenceSettings,
    /// The roster read at start (`[roster] file`), applied by `Engine::new` and after a
    /// restore: the file is the authority at start.
    pub roster: Option<std::sync::Arc<crate::roster::parse::Upload>>,
}

/// How service level counts abandoned calls (SPEC §8.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlMode {
    /// `answered_in_sl / (answered + abandoned - short_abandoned)`.
    WithAbandons,
    /// `answered_in_sl / answered`.
    AnsweredOnly,
}

impl SlMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SlMode::WithAbandons => "with_abandons",
            SlMode::AnsweredOnly => "answered_only",
        }
    }
}

/// Queue figures and alerts (SPEC §8.2, §8.3), durations in milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueSettings {
    /// Answered with wait at or under this is within service level.
    pub sl_ms: Ms,
    /// Abandoned with wait under this is a short abandon.
    pub short_abandon_ms: Ms,
    pub sl_mode: SlMode,
    pub sl_target: f64,
    /// Cap on calls waiting over all queues; a `queued` beyond it is refused (`too_large`).
    pub max_waiting: usize,
    /// `long_wait` limit.
    pub long_wait_ms: Ms,
    /// `service_level_low`: fewest calls (`answered + abandoned - short_abandoned`) in the
    /// 15-minute window, and consecutive whole minutes.
    pub sl_min_calls: u64,
    pub sl_consecutive: u32,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            sl_ms: 10_000,
            short_abandon_ms: 5_000,
            sl_mode: SlMode::WithAbandons,
            sl_target: 0.9,
            max_waiting: 100_000,
            long_wait_ms: 60_000,
            sl_min_calls: 10,
            sl_consecutive: 3,
        }
    }
}

/// The AHT control chart (SPEC §10, `[aht_chart]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AhtChartSettings {
    /// Length of the short points, aligned to local midnight (the last of a day is cut there).
    pub interval_ms: Ms,
    /// An interval with fewer contacts is no point at all.
    pub min_contacts: u32,
    /// How many previous plotted points of the same kind make the baseline.
    pub baseline_points: u32,
    /// How long closed points are kept (and journaled).
    pub history_ms: Ms,
}

impl AhtChartSettings {
    /// The name of the short kind: `"15m"` for 15-minute intervals.
    pub fn interval_name(&self) -> String {
        format!("{}m", self.interval_ms / 60_000)
    }
}

impl Default for AhtChartSettings {
    fn default() -> Self {
        AhtChartSettings { interval_ms: 15 * 60_000, min_contacts: 5, baseline_points: 20, history_ms: 45 * 86_400_000 }
    }
}

impl Settings {
    /// Longest sliding window, at least one hour (utilization_high looks at 60 minutes).
    pub fn longest_sliding_ms(&self) -> Ms {
        self.windows
            .iter()
            .filter_map(|w| match w.kind {
                WindowKind::Sliding(l) => Some(l),
                _ => None,
            })
            .max()
            .unwrap_or(0)
            .max(3_600_000)
    }

    pub fn long_aux_limit(&self, reason: &str) -> Ms {
        self.long_aux_per_reason.get(reason).copied().unwrap_or(self.long_aux_ms)
    }

    pub fn is_planned(&self, reason: &str) -> bool {
        self.planned_reasons.contains(reason)
    }
}
