//! The engine's state as bytes, for the journal's snapshots.
//!
//! Everything an event or a step of time changed is stored; what is derived (team counts,
//! the calendar's cache, the binomial cache) is rebuilt, and what comes from the
//! configuration (settings, hold durations) is taken from the configuration in force at
//! restore. postcard is positional, so the save and load structs list the same fields in
//! the same order; [`FORMAT`] changes whenever they do.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::{Engine, IngestCounts, RefusalCounts, Source, Team, TeamChart};
use crate::alert::{Alert, AlertKind, AlertState, Severity};
use crate::floor::agents::{AgentIdx, Agents, TeamIdx};
use crate::settings::Settings;
use crate::time::Ms;

/// Version of the byte layout below. 3: compact timelines (packed segments, running sums
/// at checkpoints, contacts counted there rather than stored one by one), exact handle-time
/// buckets per team, per-team detector floors. 4: teams' rosters, detectors with their
/// change logs and checkpoints (late delivery), refusal counts per reason. 5: the AHT
/// control chart per team, alerts with an `interval`; queues (waiting calls, ended calls
/// the windows need, the service-level streaks), queue alerts. 6: refusal counts gain
/// `unmapped` (platform sources, SPEC §7), sources are named. 7: the roster (schedules,
/// scheduled agents' state logs, `out_of_adherence` bookkeeping; SPEC §9).
pub const FORMAT: u32 = 7;

#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("state format {found} is not this build's format {FORMAT}")]
    Format { found: u32 },
    #[error("state bytes do not decode: {0}")]
    Decode(#[from] postcard::Error),
}

#[derive(Serialize)]
struct Save<'a> {
    format: u32,
    agents: &'a Agents,
    teams: &'a Vec<Option<Team>>,
    team_free: &'a Vec<TeamIdx>,
    alerts: Vec<AlertRec>,
    max_ts: Ms,
    now_seen: Ms,
    ingest: Vec<(u8, IngestCounts)>,
    refusals: Vec<(u8, RefusalCounts)>,
    long_aux_due: &'a BTreeSet<(Ms, AgentIdx)>,
    queues: &'a crate::queue::Queues,
    applied_since_housekeeping: u64,
    version: u64,
    charts: Vec<(&'a String, &'a TeamChart)>,
    roster: crate::roster::Stored,
}

#[derive(Deserialize)]
struct Load {
    _format: u32,
    agents: Agents,
    teams: Vec<Option<Team>>,
    team_free: Vec<TeamIdx>,
    alerts: Vec<AlertRec>,
    max_ts: Ms,
    now_seen: Ms,
    ingest: Vec<(u8, IngestCounts)>,
    refusals: Vec<(u8, RefusalCounts)>,
    long_aux_due: BTreeSet<(Ms, AgentIdx)>,
    queues: crate::queue::Queues,
    applied_since_housekeeping: u64,
    version: u64,
    charts: Vec<(String, TeamChart)>,
    roster: crate::roster::Stored,
}

/// An alert in storage form (the public `Alert` serializes for JSON readers).
#[derive(Serialize, Deserialize)]
struct AlertRec {
    id: String,
    kind: u8,
    team: String,
    queue: Option<String>,
    agent: Option<String>,
    severity: u8,
    firing: bool,
    started_at: Ms,
    fired_at: Ms,
    resolved_at: Option<Ms>,
    value: f64,
    threshold: f64,
    message: String,
    agents: Vec<String>,
    interval: Option<String>,
}

impl AlertRec {
    fn from_alert(a: &Alert) -> Self {
        AlertRec {
            id: a.id.clone(),
            kind: AlertKind::ALL.iter().position(|k| *k == a.kind).unwrap_or(0) as u8,
            team: a.team.clone(),
            queue: a.queue.clone(),
            agent: a.agent.clone(),
            severity: a.severity as u8,
            firing: a.state == AlertState::Firing,
            started_at: a.started_at,
            fired_at: a.fired_at,
            resolved_at: a.resolved_at,
            value: a.value,
            threshold: a.threshold,
            message: a.message.clone(),
            agents: a.agents.clone(),
            interval: a.interval.clone(),
        }
    }

    fn into_alert(self) -> Alert {
        let kind = AlertKind::ALL.get(self.kind as usize).copied().unwrap_or(AlertKind::AuxCluster);
        Alert {
            id: self.id,
            kind,
            team: self.team,
            queue: self.queue,
            agent: self.agent,
            severity: match self.severity {
                0 => Severity::Info,
                1 => Severity::Warning,
                _ => Severity::Critical,
            },
            state: if self.firing { AlertState::Firing } else { AlertState::Resolved },
            started_at: self.started_at,
            fired_at: self.fired_at,
            resolved_at: self.resolved_at,
            value: self.value,
            threshold: self.threshold,
            message: self.message,
            agents: self.agents,
            interval: self.interval,
            retracted: false,
        }
    }
}

impl Engine {
    /// The engine's state as bytes ([`Engine::restore`] reads them back).
    pub fn save(&self) -> Vec<u8> {
        debug_assert!(self.changes.is_empty(), "alert changes are flushed before the lock is released");
        let save = Save {
            format: FORMAT,
            agents: &self.agents,
            teams: &self.teams,
            team_free: &self.team_free,
            alerts: self.alerts.values().map(|a| AlertRec::from_alert(a.alert())).collect(),
            max_ts: self.max_ts,
            now_seen: self.now_seen,
            ingest: Source::all().iter().filter_map(|s| self.ingest.get(s).map(|c| (s.to_u8(), *c))).collect(),
            refusals: Source::all().iter().filter_map(|s| self.refusals.get(s).map(|c| (s.to_u8(), *c))).collect(),
            long_aux_due: &self.long_aux_due,
            queues: &self.queues,
            applied_since_housekeeping: self.applied_since_housekeeping,
            version: self.version,
            // By team id, so that the same state gives the same bytes.
            charts: {
                let mut c: Vec<(&String, &TeamChart)> = self.charts.iter().collect();
                c.sort_by(|a, b| a.0.cmp(b.0));
                c
            },
            roster: self.roster.store(),
        };
        postcard::to_stdvec(&save).expect("serializing to memory cannot fail")
    }

    /// An engine in the state `bytes` were saved in, under `settings` (the configuration in
    /// force now: changed thresholds apply from here on; history keeps what it recorded).
    pub fn restore(settings: Settings, bytes: &[u8]) -> Result<Engine, RestoreError> {
        // The format number leads, so a different layout is named rather than misread.
        let (format, _) = postcard::take_from_bytes::<u32>(bytes)?;
        if format != FORMAT {
            return Err(RestoreError::Format { found: format });
        }
        let load: Load = postcard::from_bytes(bytes)?;
        let mut engine = Engine::new(settings);
        engine.agents = load.agents;
        engine.teams = load.teams;
        engine.team_free = load.team_free;
        // Every team takes a full step at the next advance (its next due time is derived).
        engine.team_due = vec![Ms::MIN; engine.teams.len()];
        engine.alerts = load
            .alerts
            .into_iter()
            .map(|a| crate::alert::StoredAlert::new(a.into_alert()))
            .collect::<super::store::AlertStore>();
        engine.queue_alerts.rebuild(engine.alerts.values());
        engine.board_alerts.rebuild(engine.alerts.values());
        engine.resolved_floor = Ms::MIN;
        engine.max_ts = load.max_ts;
        engine.now_seen = load.now_seen;
        engine.ingest =
            load.ingest.into_iter().filter_map(|(s, c)| Source::from_u8(s).map(|s| (s, c))).collect::<HashMap<_, _>>();
        engine.refusals = load
            .refusals
            .into_iter()
            .filter_map(|(s, c)| Source::from_u8(s).map(|s| (s, c)))
            .collect::<HashMap<_, _>>();
        engine.long_aux_due = load.long_aux_due;
        engine.queues = load.queues;
        engine.queues.restore(&engine.settings.queues);
        engine.applied_since_housekeeping = load.applied_since_housekeeping;
        engine.version = load.version;
        engine.charts = load.charts.into_iter().collect();
        engine.recount_chart_due();
        // Derived state: the team index and each team's current counts.
        for (i, team) in engine.teams.iter_mut().enumerate() {
            if let Some(team) = team {
                engine.team_index.insert(team.id.clone(), i as TeamIdx);
                team.det.reconfigure(&engine.settings);
                team.roster.recount(&engine.agents);
            }
        }
        for (ai, a) in engine.agents.iter() {
            if a.kind == crate::floor::timeline::Kind::Offline {
                engine.offline_since.insert((a.since, ai));
            }
        }
        engine.recount_alerts();
        engine.roster = crate::roster::Roster::restore(engine.settings.adherence.clone(), load.roster);
        // Team moves are not stored: those before this state are not known.
        engine.roster.moves_known_from(load.max_ts);
        // The roster's part of the stopped engine's next housekeeping (it changes no view):
        // the roster then knows again how far back its schedules and logs are trimmed, so
        // the file below, the same as before the restart, changes nothing it no longer
        // knows (the alerts of past days stay as told).
        if let Some(now) = engine.latest() {
            let cutoff = engine.trim_cutoff();
            engine.trim_roster(now, cutoff);
        }
        // The roster file in force at start: what of it changed since it was last applied
        // (a correction entered by PUT since stays unless the file changed that agent-day).
        if let Some(up) = engine.settings.roster.clone() {
            let _ = engine.upload_roster_file(&up);
        }
        engine.derive_aux_until();
        Ok(engine)
    }
}

/// hdrhistogram has no serde support: store (value, count) of each recorded bucket.
pub mod histogram {
    use hdrhistogram::Histogram;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(h: &Histogram<u32>, s: S) -> Result<S::Ok, S::Error> {
        let buckets: Vec<(u64, u32)> = h.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect();
        buckets.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Histogram<u32>, D::Error> {
        let buckets = Vec::<(u64, u32)>::deserialize(d)?;
        let mut h = crate::engine::handle::new_hdr();
        for (v, n) in buckets {
            h.saturating_record_n(v, n);
        }
        Ok(h)
    }
}
