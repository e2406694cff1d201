//! The alert record (SPEC §4.2), shared by the detectors, the API, the wallboard push,
//! Prometheus and the hooks.

use std::sync::{Arc, OnceLock};

use serde::Serialize;
use serde_json::value::RawValue;

use crate::time::{Ms, serde_ms};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    AuxCluster,
    LongAux,
    AuxDispersion,
    UtilizationHigh,
    /// A team's handle time out of statistical control (per team and kind of point, §10).
    AhtOutOfControl,
    /// A caller waiting at least `alerts.long_wait.max_wait_secs` (per queue, SPEC §8.3).
    LongWait,
    /// The 15-minute service level below target (per queue, SPEC §8.3).
    ServiceLevelLow,
    /// An agent out of adherence with its schedule too long (per agent, SPEC §9.3).
    OutOfAdherence,
}

impl AlertKind {
    pub const ALL: [AlertKind; 8] = [
        AlertKind::AuxCluster,
        AlertKind::LongAux,
        AlertKind::AuxDispersion,
        AlertKind::UtilizationHigh,
        AlertKind::AhtOutOfControl,
        AlertKind::LongWait,
        AlertKind::ServiceLevelLow,
        AlertKind::OutOfAdherence,
    ];
    /// The kinds raised for a team (or one of its agents); they lead [`AlertKind::ALL`].
    pub const TEAM: [AlertKind; 6] = [
        AlertKind::AuxCluster,
        AlertKind::LongAux,
        AlertKind::AuxDispersion,
        AlertKind::UtilizationHigh,
        AlertKind::AhtOutOfControl,
        AlertKind::OutOfAdherence,
    ];
    /// The kinds raised for a queue: `team` empty (null in JSON), `queue` set.
    pub const QUEUE: [AlertKind; 2] = [AlertKind::LongWait, AlertKind::ServiceLevelLow];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::AuxCluster => "aux_cluster",
            AlertKind::LongAux => "long_aux",
            AlertKind::AuxDispersion => "aux_dispersion",
            AlertKind::UtilizationHigh => "utilization_high",
            AlertKind::AhtOutOfControl => "aht_out_of_control",
            AlertKind::LongWait => "long_wait",
            AlertKind::ServiceLevelLow => "service_level_low",
            AlertKind::OutOfAdherence => "out_of_adherence",
        }
    }

    pub fn parse(s: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn severity(self) -> Severity {
        match self {
            AlertKind::AuxCluster | AlertKind::LongWait => Severity::Critical,
            AlertKind::LongAux | AlertKind::ServiceLevelLow | AlertKind::OutOfAdherence => Severity::Warning,
            AlertKind::AuxDispersion | AlertKind::UtilizationHigh | AlertKind::AhtOutOfControl => Severity::Info,
        }
    }
}

/// Ordered: `Info < Warning < Critical`, so `min_severity` filters compare with `>=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Firing,
    Resolved,
}

/// One alert, exactly the fields of SPEC §4.2. Timestamps serialize as RFC 3339 UTC.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    /// `kind:team[:agent]:<started_at epoch ms>`
    pub id: String,
    pub kind: AlertKind,
    /// The team; empty for a queue's alert (serialized `null`: no team id is empty, §2.1).
    /// Kept a `String` rather than an `Option` so that the team alerts' many readers
    /// (hooks, push filters, counters) stay as they are.
    #[serde(serialize_with = "team_or_null")]
    pub team: String,
    /// The queue of a queue alert (`long_wait`, `service_level_low`); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    pub agent: Option<String>,
    pub severity: Severity,
    pub state: AlertState,
    #[serde(with = "serde_ms")]
    pub started_at: Ms,
    #[serde(with = "serde_ms")]
    pub fired_at: Ms,
    #[serde(serialize_with = "serde_ms::opt::serialize")]
    pub resolved_at: Option<Ms>,
    /// The measured figure at `fired_at` (share, seconds, CV or utilization; see the kind).
    pub value: f64,
    pub threshold: f64,
    /// One line for humans (English; hooks render their own localized text).
    pub message: String,
    /// Agents involved at `fired_at`, sorted.
    pub agents: Vec<String>,
    /// `aht_out_of_control` only: the kind of point, `"15m"` or `"day"` (SPEC §10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Only in notifications: this alert, as told before, is taken back — events that
    /// arrived late show it did not happen so (the corrected one, if any, follows).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub retracted: bool,
}

fn team_or_null<S: serde::Serializer>(team: &str, s: S) -> Result<S::Ok, S::Error> {
    if team.is_empty() { s.serialize_none() } else { s.serialize_str(team) }
}

/// How long after it resolved an alert is still shown on a board (and in the snapshots that
/// list what a board shows: docs/figures.md#snapshot-sizes).
pub const ON_BOARD_AFTER_RESOLVED_MS: Ms = 600_000;

impl Alert {
    /// Shown on a board at `now`: firing, or resolved in the last 10 minutes.
    pub fn on_board(&self, now: Ms) -> bool {
        self.resolved_at.is_none_or(|r| r >= now - ON_BOARD_AFTER_RESOLVED_MS)
    }

    /// `kind:queue:<queue>:<started_at epoch ms>` (SPEC §8.3).
    pub fn queue_id(kind: AlertKind, queue: &str, started_at: Ms) -> String {
        format!("{}:queue:{queue}:{started_at}", kind.as_str())
    }

    /// Who an alert is about, for people: the queue, else the team.
    pub fn scope(&self) -> &str {
        self.queue.as_deref().unwrap_or(&self.team)
    }

    pub fn make_id(kind: AlertKind, team: &str, agent: Option<&str>, started_at: Ms) -> String {
        match agent {
            Some(a) => format!("{}:{team}:{a}:{started_at}", kind.as_str()),
            None => format!("{}:{team}:{started_at}", kind.as_str()),
        }
    }

    pub fn is_firing(&self) -> bool {
        self.state == AlertState::Firing
    }

    /// Whether two versions of an alert tell the same fire: the same kind, subject,
    /// severity, start and fire instant, compared in place (copies of both were two
    /// allocations per string of the alert, at each resolve a re-derivation found). They
    /// may differ in the resolve (`state`, `resolved_at`) and in what the fire measured or
    /// says (`value`, `threshold`, `message`, `agents`, `interval`: late events or a roster
    /// correction move the team's figures at the fire without moving the fire).
    /// `retracted` says what a notification does with the fire, not which fire it is: the
    /// hooks compare a retraction with the alert that follows it.
    pub(crate) fn same_fire(&self, b: &Alert) -> bool {
        // Every field named: a new one is compared or left out here on purpose.
        let Alert {
            id,
            kind,
            team,
            queue,
            agent,
            severity,
            state: _,
            started_at,
            fired_at,
            resolved_at: _,
            value: _,
            threshold: _,
            message: _,
            agents: _,
            interval: _,
            retracted: _,
        } = self;
        (id, kind, team, queue, agent, severity, started_at, fired_at)
            == (&b.id, &b.kind, &b.team, &b.queue, &b.agent, &b.severity, &b.started_at, &b.fired_at)
    }
}

/// An alert as the engine stores it and views return it: shared, so that a view hands out
/// a pointer instead of a deep copy (~7 strings), and immutable, so that its JSON, made
/// the first time it is serialized, stays right: a change (a resolve) makes a new one.
/// A team's snapshot on a large floor was mostly copying and formatting its few hundred
/// alerts, whose strings are cache misses (BENCHMARKS.md, session 4).
#[derive(Debug)]
pub struct StoredAlert {
    alert: Alert,
    json: OnceLock<Box<RawValue>>,
}

impl StoredAlert {
    pub fn new(alert: Alert) -> Arc<StoredAlert> {
        Arc::new(StoredAlert { alert, json: OnceLock::new() })
    }

    pub fn alert(&self) -> &Alert {
        &self.alert
    }

    /// The alert's JSON, exactly as `Alert`'s `Serialize` writes it (compact).
    pub fn json(&self) -> &RawValue {
        self.json.get_or_init(|| {
            let text = serde_json::to_string(&self.alert).expect("an alert serializes");
            RawValue::from_string(text).expect("serde_json writes valid JSON")
        })
    }
}

impl std::ops::Deref for StoredAlert {
    type Target = Alert;

    fn deref(&self) -> &Alert {
        &self.alert
    }
}

/// Writes the kept JSON verbatim: for serde_json's serializers, which are the only ones
/// alerts are written with. (`serde_json::to_value` reads the text back with serde_json's
/// float parser, which may differ from the `f64` in the last bit; the daemon writes text.)
impl Serialize for StoredAlert {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.json().serialize(s)
    }
}
