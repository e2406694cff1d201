//! Configuration: one serde/TOML tree ([`FileConfig`]: the product's keys plus the limits,
//! TLS and output keys of our design), validated once by [`FileConfig::validate`] into a
//! typed [`Config`] before any port is bound; nothing downstream re-checks or clamps.
//! Every error names the key it is about, e.g. `floor.timezone: unknown time zone
//! "Mars/Olympus"`, and validation reports all of them, not only the first.
//!
//! This module knows no other part of the daemon: `[[hooks]]` entries stay TOML tables
//! here and are read by `hooks`, and what needs the daemon's own code to check (TLS
//! files, hook entries, the web-access lists) is checked by `server::check`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use std::net::SocketAddr;
use std::time::Duration;

use crate::event::State;
use crate::time::Ms;

/// The built-in configuration, identical to `config/floorwatch.toml`.
pub const DEFAULT_TOML: &str = include_str!("../config/floorwatch.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
}

/// Every error found in a configuration, in key order of discovery.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        ConfigErrors(vec![e])
    }
}

/// Collects errors while validation goes on.
#[derive(Default)]
struct Errs(Vec<ConfigError>);

impl Errs {
    fn take<T>(&mut self, r: Result<T, ConfigError>) -> Option<T> {
        r.map_err(|e| self.0.push(e)).ok()
    }
}

/// The whole configuration, validated and typed: durations as `Duration`, addresses
/// parsed, paths resolved against the config file's directory, secrets read. What every
/// part of the daemon reads; it cannot hold a zero timeout or an unparsable address.
#[derive(Clone, Debug)]
pub struct Config {
    /// The core's settings (accounting and detection).
    pub core: Settings,
    pub server: ServerSettings,
    pub limits: Limits,
    /// `None`: journal off, state in memory only.
    pub journal: Option<JournalSettings>,
    pub tokens: Tokens,
    /// `auth.open`: tokens may be absent on listeners other hosts can reach.
    pub open: bool,
    /// `[[hooks]]` entries as written (read and checked by `hooks`).
    pub hooks: Vec<toml::Table>,
    pub tls: TlsConfig,
    pub wallboard: WallboardConfig,
    pub per_agent_metrics: bool,
    /// The directory relative paths are relative to (the config file's).
    pub base_dir: PathBuf,
    /// What the wallboard is told (the keys as configured).
    pub board: BoardConfig,
    /// `[[sources]]`: the platforms read directly (SPEC §7), secrets resolved.
    pub sources: Vec<crate::sources::config::SourceSettings>,
    /// `[roster] file`, resolved against the config file's directory.
    pub roster_file: Option<PathBuf>,
    pub roster_max_bytes: usize,
    pub roster_check_interval: Duration,
    /// `[cluster]`: `None` unless `cluster.nats` is set.
    pub cluster: Option<crate::cluster::ClusterSettings>,
}

#[derive(Clone, Debug)]
pub struct ServerSettings {
    pub http: SocketAddr,
    pub tcp: SocketAddr,
    pub push_interval: Duration,
    pub web_dir: Option<PathBuf>,
    pub shutdown_grace: Duration,
    pub allowed_origins: Vec<String>,
    pub allowed_hosts: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Limits {
    pub max_connections: usize,
    pub max_ws_clients: usize,
    pub max_line_bytes: usize,
    pub max_frame_bytes: usize,
    pub max_body_bytes: usize,
    pub max_body_bytes_in_flight: usize,
    pub idle_timeout: Duration,
    pub max_http_connections: usize,
    pub header_read_timeout: Duration,
}

#[derive(Clone, Debug)]
pub struct JournalSettings {
    /// Resolved against the config file's directory.
    pub dir: PathBuf,
    pub fsync_interval: Duration,
    pub snapshot_interval: Duration,
}

/// The board's static block, as configured (names the wallboard shows).
#[derive(Clone, Debug)]
pub struct BoardConfig {
    pub windows: Vec<String>,
    pub planned_reasons: Vec<String>,
    pub long_aux_per_reason: BTreeMap<String, u64>,
}

fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.to_string(), message: message.into() }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileConfig {
    pub server: ServerConfig,
    pub floor: FloorConfig,
    pub peak: PeakConfig,
    pub queues: QueuesConfig,
    pub alerts: AlertsConfig,
    pub aht_chart: AhtChartConfig,
    /// `[[hooks]]` entries, read by `hooks` (their keys are its own).
    pub hooks: Vec<toml::Table>,
    /// `[[sources]]` entries (SPEC §7), validated by `sources::config` (their keys are its own).
    pub sources: Vec<toml::Table>,
    pub journal: JournalConfig,
    pub auth: AuthConfig,
    pub limits: LimitsConfig,
    pub tls: TlsConfig,
    pub metrics: MetricsConfig,
    pub wallboard: WallboardConfig,
    pub roster: RosterConfig,
    pub adherence: AdherenceConfig,
    pub cluster: ClusterConfig,
}

/// `[cluster]`: replicas on a NATS JetStream stream (SPEC §11, docs/cluster.md). Off while
/// `nats` is empty.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// NATS server URLs, e.g. ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"].
    pub nats: Vec<String>,
    pub stream: String,
    /// The site this replica's ingest publishes to.
    pub site: String,
    /// The sites it follows (a group view); [] = [site].
    pub sites: Vec<String>,
    /// Copies of the stream JetStream keeps (1, 3 or 5).
    pub replicas: usize,
    /// The hook-delivery lease: a replica that stops renewing loses it after this long.
    pub lease_secs: u64,
    /// How long the stream keeps events (a new replica catches up from what is kept).
    pub retention_hours: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            nats: Vec::new(),
            stream: "FLOORWATCH".into(),
            site: String::new(),
            sites: Vec::new(),
            replicas: 3,
            lease_secs: 3,
            retention_hours: 168,
        }
    }
}

impl ClusterConfig {
    /// The cluster's settings, or `None` when `nats` is empty. Every error names its key.
    fn settings(
        &self,
        journal: &JournalConfig,
        base_dir: &Path,
        errs: &mut Errs,
    ) -> Option<crate::cluster::ClusterSettings> {
        if self.nats.is_empty() {
            // A replica named without a server would run alone on its journal, silently.
            if !self.site.is_empty() || !self.sites.is_empty() {
                let set = if self.site.is_empty() { "cluster.sites" } else { "cluster.site" };
                let msg = format!(
                    "cluster mode needs the NATS servers' URLs ({set} is set), e.g. [\"nats://10.0.0.1:4222\"]"
                );
                errs.0.push(invalid("cluster.nats", msg));
            }
            return None;
        }
        // Names go into subjects (`fw.in.<site>.batch`) and stream names.
        let token = |v: &str| {
            !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        for (i, url) in self.nats.iter().enumerate() {
            let ok = ["nats://", "tls://"].iter().any(|p| url.starts_with(p))
                && url.parse::<async_nats::ServerAddr>().is_ok();
            if !ok {
                errs.0.push(invalid(
                    &format!("cluster.nats[{i}]"),
                    format!("{url:?} is not a URL like \"nats://10.0.0.1:4222\""),
                ));
            }
        }
        if !token(&self.stream) {
            errs.0.push(invalid("cluster.stream", "must be 1-64 letters, digits, '-' or '_'"));
        }
        if !token(&self.site) {
            errs.0.push(invalid("cluster.site", "must name this replica's site: 1-64 letters, digits, '-' or '_'"));
        }
        for (i, s) in self.sites.iter().enumerate() {
            if !token(s) {
                errs.0.push(invalid(&format!("cluster.sites[{i}]"), "must be 1-64 letters, digits, '-' or '_'"));
            }
        }
        if ![1, 3, 5].contains(&self.replicas) {
            errs.0.push(invalid("cluster.replicas", "must be 1, 3 or 5 (JetStream's replica counts)"));
        }
        if !(1..=60).contains(&self.lease_secs) {
            errs.0.push(invalid("cluster.lease_secs", "must be between 1 and 60"));
        }
        if self.retention_hours == 0 {
            errs.0.push(invalid("cluster.retention_hours", "must be at least 1"));
        }
        let mut sites = if self.sites.is_empty() { vec![self.site.clone()] } else { self.sites.clone() };
        sites.sort();
        sites.dedup();
        Some(crate::cluster::ClusterSettings {
            nats: self.nats.clone(),
            stream: self.stream.clone(),
            site: self.site.clone(),
            sites,
            replicas: self.replicas,
            lease: Duration::from_secs(self.lease_secs),
            retention: Duration::from_secs(self.retention_hours * 3600),
            state_dir: journal.enabled.then(|| base_dir.join(&journal.dir)),
            snapshot_interval: Duration::from_secs(journal.snapshot_interval_secs.clamp(1, 300)),
        })
    }
}

/// `[roster]`: the schedule (SPEC §9.1, docs/adherence.md).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RosterConfig {
    /// CSV or JSON roster, read at start, when it changes and on SIGHUP; relative to the
    /// config file. "" = none (a roster can still be sent with `PUT /api/v1/roster`).
    pub file: String,
    /// Largest roster accepted, from the file or a `PUT`, in bytes.
    pub max_bytes: usize,
    /// How often the file is checked for a change, in seconds.
    pub check_interval_secs: u64,
    /// Most schedule rows held at once, every agent and day (past days are dropped after
    /// midnight); an upload that would hold more is refused.
    pub max_rows: usize,
}

impl Default for RosterConfig {
    fn default() -> Self {
        RosterConfig { file: String::new(), max_bytes: 64 << 20, check_interval_secs: 5, max_rows: 20_000_000 }
    }
}

/// `[adherence]`: which states each scheduled activity allows (SPEC §9.1).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdherenceConfig {
    /// Activity name → allowed states (`talking`, `acw`, `idle`, `offline`, `aux`,
    /// `aux:REASON`); a list replaces that activity's defaults. `work` and `off` included.
    pub allowed: BTreeMap<String, Vec<String>>,
}

/// `[alerts.out_of_adherence]` (SPEC §9.3).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutOfAdherenceConfig {
    /// Out of adherence this long, continuously during the shift, fires the alert.
    pub threshold_secs: u64,
}

impl Default for OutOfAdherenceConfig {
    fn default() -> Self {
        OutOfAdherenceConfig { threshold_secs: 300 }
    }
}

/// What the wallboard colours against (sent to the page; nothing is hard-coded there).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WallboardConfig {
    /// Sustainable talk-utilization band: green inside, amber below, red above.
    pub talk_band: [f64; 2],
    /// Healthy unplanned aux rate band: green near it, red well above.
    pub aux_band: [f64; 2],
    /// Default language of the page, "en" or "zh"; "" = the browser's.
    pub lang: String,
}

impl Default for WallboardConfig {
    fn default() -> Self {
        WallboardConfig { talk_band: [0.69, 0.74], aux_band: [0.08, 0.09], lang: String::new() }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address of the HTTP server: wallboard, API, `/ws`, `/ingest`, `/metrics`.
    pub http: String,
    /// Address of the NDJSON-over-TCP ingest listener.
    pub tcp: String,
    /// `wall` (now = system time) or `event` (now = largest applied `ts`, like replay).
    pub clock: String,
    /// How often `/ws` clients get a delta (only when something changed).
    pub push_interval_ms: u64,
    /// Directory of the wallboard files; empty = the copy embedded in the binary.
    pub web_dir: String,
    /// Grace period for draining connections and hooks on SIGTERM/SIGINT.
    pub shutdown_grace_secs: u64,
    /// Origins (`scheme://host[:port]`) whose pages may use the daemon besides its own:
    /// open `/ws` and `/ingest`, POST events, read the API with CORS, frame the wallboard.
    /// Empty = the daemon's own origin only (`server::guard`).
    pub allowed_origins: Vec<String>,
    /// Host names the daemon is reached by, besides IP literals, `localhost` and the
    /// machine's host names; `"*"` = any `Host` (`server::guard`).
    pub allowed_hosts: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            http: "0.0.0.0:8080".into(),
            tcp: "0.0.0.0:7070".into(),
            clock: "wall".into(),
            push_interval_ms: 1000,
            web_dir: String::new(),
            shutdown_grace_secs: 10,
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FloorConfig {
    pub windows: Vec<String>,
    pub timezone: String,
    pub planned_reasons: Vec<String>,
    pub min_team: u32,
    pub dispersion_min_logged_secs: u64,
    pub max_future_skew_ms: u64,
    pub aliases: BTreeMap<String, String>,
    /// Agents offline, queues without a call and teams without a member for longer than
    /// this are forgotten (memory bound over days).
    pub forget_offline_after_secs: u64,
    /// Hard cap on tracked agents; events for new agents beyond it are `invalid`.
    pub max_agents: usize,
    /// Events up to this old (against now) are applied exactly where they belong; older
    /// ones are `late` (`too_old`).
    pub max_backfill_secs: u64,
}

impl Default for FloorConfig {
    fn default() -> Self {
        FloorConfig {
            windows: ["15m", "60m", "today", "peak_today"].map(String::from).to_vec(),
            timezone: "UTC".into(),
            planned_reasons: ["training", "meeting", "coaching", "lunch"].map(String::from).to_vec(),
            min_team: 5,
            dispersion_min_logged_secs: 300,
            max_future_skew_ms: 5000,
            aliases: BTreeMap::new(),
            forget_offline_after_secs: 31 * 86_400,
            max_agents: 250_000,
            max_backfill_secs: 7200,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PeakConfig {
    pub windows: Vec<String>,
    pub busy_share: Option<f64>,
    pub hold_secs: u64,
}

impl Default for PeakConfig {
    fn default() -> Self {
        PeakConfig { windows: vec!["09:30-11:30".into(), "14:00-16:30".into()], busy_share: None, hold_secs: 300 }
    }
}

/// `[queues]`: service level (SPEC §8.2).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueuesConfig {
    /// Answered within this many seconds (wait <= it) counts in service level.
    pub sl_secs: u64,
    /// Abandoned in under this many seconds is a short abandon (left out of service level
    /// and abandon rate).
    pub short_abandon_secs: u64,
    /// "with_abandons" or "answered_only".
    pub sl_mode: String,
    /// The service level the floor aims at (the wallboard and `service_level_low`).
    pub sl_target: f64,
}

impl Default for QueuesConfig {
    fn default() -> Self {
        QueuesConfig { sl_secs: 10, short_abandon_secs: 5, sl_mode: "with_abandons".into(), sl_target: 0.9 }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    pub aux_cluster: AuxClusterConfig,
    pub long_aux: LongAuxConfig,
    pub aux_dispersion: AuxDispersionConfig,
    pub utilization_high: UtilizationHighConfig,
    pub long_wait: LongWaitConfig,
    pub service_level_low: ServiceLevelLowConfig,
    pub out_of_adherence: OutOfAdherenceConfig,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LongWaitConfig {
    /// A caller waiting this long raises `long_wait` on the queue.
    pub max_wait_secs: u64,
}

impl Default for LongWaitConfig {
    fn default() -> Self {
        LongWaitConfig { max_wait_secs: 60 }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceLevelLowConfig {
    /// Fewest calls (answered + abandoned - short abandoned) in the 15-minute window for
    /// the level to be judged.
    pub min_calls: u64,
    /// Consecutive whole minutes below target to fire (and at or above it to resolve).
    pub consecutive: u32,
}

impl Default for ServiceLevelLowConfig {
    fn default() -> Self {
        ServiceLevelLowConfig { min_calls: 10, consecutive: 3 }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuxClusterConfig {
    pub min_agents: u32,
    pub share: f64,
    pub baseline: f64,
    pub alpha: f64,
    pub hold_secs: u64,
}

impl Default for AuxClusterConfig {
    fn default() -> Self {
        AuxClusterConfig { min_agents: 3, share: 1.0 / 6.0, baseline: 0.085, alpha: 0.05, hold_secs: 60 }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LongAuxConfig {
    pub max_aux_secs: u64,
    pub per_reason: BTreeMap<String, u64>,
}

impl Default for LongAuxConfig {
    fn default() -> Self {
        LongAuxConfig { max_aux_secs: 600, per_reason: BTreeMap::new() }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuxDispersionConfig {
    pub cv_limit: f64,
    pub min_members: u32,
    pub consecutive: u32,
    pub min_peak_secs: u64,
}

impl Default for AuxDispersionConfig {
    fn default() -> Self {
        AuxDispersionConfig { cv_limit: 0.16, min_members: 5, consecutive: 3, min_peak_secs: 1800 }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UtilizationHighConfig {
    pub high: f64,
    pub consecutive: u32,
}

impl Default for UtilizationHighConfig {
    fn default() -> Self {
        UtilizationHighConfig { high: 0.74, consecutive: 3 }
    }
}

/// `[aht_chart]`: the AHT control chart (docs/figures.md#aht-control-chart).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AhtChartConfig {
    /// Length of the short points in minutes, aligned to local midnight.
    pub interval_mins: u64,
    /// An interval with fewer contacts than this is not plotted.
    pub min_contacts: u32,
    /// Previous plotted points of the same kind that make a point's baseline.
    pub baseline_points: u32,
    /// Days of points kept (and journaled).
    pub history_days: u64,
}

impl Default for AhtChartConfig {
    fn default() -> Self {
        AhtChartConfig { interval_mins: 15, min_contacts: 5, baseline_points: 20, history_days: 45 }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JournalConfig {
    /// Directory of the journal, relative to the config file.
    pub dir: String,
    pub enabled: bool,
    pub fsync_interval_ms: u64,
    /// A state snapshot is written (and the journal compacted) this often.
    pub snapshot_interval_secs: u64,
}

impl Default for JournalConfig {
    fn default() -> Self {
        JournalConfig { dir: "data".into(), enabled: true, fsync_interval_ms: 20, snapshot_interval_secs: 300 }
    }
}

/// Bearer tokens. Each may be given inline, through an environment variable (`*_env`) or
/// a file (`*_file`, relative to the config file). Absent = open.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Serve without tokens on an address other hosts can reach: the operator's explicit
    /// choice (`serve` refuses otherwise; loopback listeners need no choice).
    pub open: bool,
    pub ingest_token: Option<String>,
    pub ingest_token_env: Option<String>,
    pub ingest_token_file: Option<String>,
    pub viewer_token: Option<String>,
    pub viewer_token_env: Option<String>,
    pub viewer_token_file: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Simultaneous ingest connections (TCP + WebSocket ingest), each listener.
    pub max_connections: usize,
    /// Simultaneous `/ws` wallboard clients.
    pub max_ws_clients: usize,
    /// Longest NDJSON line; longer lines are skipped to the next newline and counted invalid.
    pub max_line_bytes: usize,
    /// Largest WebSocket frame/message on `/ingest`.
    pub max_frame_bytes: usize,
    /// Largest `POST /api/v1/events` body.
    pub max_body_bytes: usize,
    /// Request bodies (events, roster uploads, platform deliveries) and `/ingest` WebSocket
    /// messages held at once, over every connection, counted as their bytes arrive: a body
    /// that would take more is answered 503 and read no further, a message closes its
    /// socket with 1013 (4,096 connections each sending 16 MB would otherwise hold 64 GB).
    pub max_body_bytes_in_flight: usize,
    /// An ingest connection that sends nothing for this long is closed (TCP: also the
    /// deadline of its TLS handshake).
    pub idle_timeout_secs: u64,
    /// Simultaneous HTTP connections of every kind (API, wallboard, `/ws` and `/ingest`
    /// WebSockets); more are closed at once and counted.
    pub max_http_connections: usize,
    /// An HTTP client has this long to send a request's headers (and before that, its
    /// TLS handshake); an idle keep-alive connection is closed after it too (slowloris).
    pub header_read_timeout_secs: u64,
    /// Calls waiting at once over all queues; a `queued` beyond it is `invalid`
    /// (`too_large`), so a flood of calls that never end costs a bounded amount.
    pub max_waiting_calls: usize,
    /// Alerts held in the store (firing, and resolved ones kept 48 hours): past it the
    /// oldest resolved ones are forgotten early, at housekeeping, and counted, so that a
    /// feed flapping every agent in and out of aux costs a bounded amount of memory.
    pub max_alerts: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_connections: 1024,
            max_ws_clients: 2000,
            max_line_bytes: 64 * 1024,
            max_frame_bytes: 4 * 1024 * 1024,
            max_body_bytes: 16 * 1024 * 1024,
            max_body_bytes_in_flight: 256 * 1024 * 1024,
            idle_timeout_secs: 300,
            max_http_connections: 4096,
            header_read_timeout_secs: 30,
            max_waiting_calls: 100_000,
            max_alerts: 500_000,
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain (leaf first); with `key` set, HTTP and TCP ingest speak TLS
    /// only. Relative to the config file.
    pub cert: Option<String>,
    /// PEM private key of the leaf certificate (PKCS#8, PKCS#1 or SEC1).
    pub key: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Per-agent series (cardinality: one series per agent and state). Off by default.
    pub per_agent: bool,
}

pub use crate::settings::{ClockMode, QueueSettings, Settings, SlMode, WindowKind, WindowSpec};

impl Default for Settings {
    fn default() -> Self {
        FileConfig::default().settings().expect("built-in defaults are valid")
    }
}

/// Built-in state aliases (SPEC §2.3).
pub const DEFAULT_ALIASES: &[(&str, State)] = &[
    ("available", State::Idle),
    ("ready", State::Idle),
    ("not_ready", State::Aux),
    ("notready", State::Aux),
    ("break", State::Aux),
    ("wrapup", State::Acw),
    ("wrap", State::Acw),
    ("after_call_work", State::Acw),
    ("busy", State::Talking),
    ("on_call", State::Talking),
    ("oncall", State::Talking),
    ("logout", State::Offline),
    ("logged_out", State::Offline),
];

/// Parses `Ns`, `Nm`, `Nh` (N a positive integer) into milliseconds.
pub fn parse_duration(s: &str) -> Option<Ms> {
    let (num, unit) = s.split_at(s.len().checked_sub(1)?);
    let n: i64 = num.parse().ok().filter(|n| *n > 0)?;
    let mult = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    n.checked_mul(mult).filter(|ms| *ms <= 31 * 86_400_000)
}

fn parse_clock_of_day(s: &str) -> Option<Ms> {
    let parts: Vec<&str> = s.split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2) {
        return None;
    }
    let nums: Vec<i64> = parts.iter().map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let (h, m, sec) = (nums[0], nums[1], nums.get(2).copied().unwrap_or(0));
    // 24:00 is allowed as an end of day.
    if h > 24 || m > 59 || sec > 59 || (h == 24 && (m, sec) != (0, 0)) {
        return None;
    }
    Some(((h * 60 + m) * 60 + sec) * 1000)
}

/// Parses `"HH:MM-HH:MM"` (seconds optional) into milliseconds after local midnight.
pub fn parse_peak_window(s: &str) -> Option<(Ms, Ms)> {
    let (a, b) = s.split_once('-')?;
    let (a, b) = (parse_clock_of_day(a.trim())?, parse_clock_of_day(b.trim())?);
    (a != b).then_some((a, b))
}

fn check_ratio(key: &str, v: f64, lo_open: bool) -> Result<(), ConfigError> {
    let ok = v.is_finite() && v <= 1.0 && if lo_open { v > 0.0 } else { v >= 0.0 };
    if ok {
        Ok(())
    } else {
        Err(invalid(key, format!("must be a number in {}0, 1], got {v}", if lo_open { "(" } else { "[" })))
    }
}

fn secs_ms(key: &str, secs: u64) -> Result<Ms, ConfigError> {
    if secs > 366 * 86_400 {
        return Err(invalid(key, format!("{secs} s is more than a year")));
    }
    Ok(secs as Ms * 1000)
}

impl FileConfig {
    pub fn parse(text: &str, origin: &str) -> Result<FileConfig, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse { path: origin.to_string(), message: e.to_string() })
    }

    /// Loads `path`, or the embedded defaults when `path` is None.
    pub fn load(path: Option<&Path>) -> Result<FileConfig, ConfigError> {
        match path {
            None => FileConfig::parse(DEFAULT_TOML, "built-in config"),
            Some(p) => {
                let text =
                    std::fs::read_to_string(p).map_err(|source| ConfigError::Read { path: p.to_path_buf(), source })?;
                FileConfig::parse(&text, &p.display().to_string())
            }
        }
    }

    /// Reads and parses `[roster] file` (relative to `base_dir`); `None` when not set.
    /// Errors name the key, the file and the line.
    pub fn roster_upload(
        &self,
        base_dir: &Path,
        tz: &jiff::tz::TimeZone,
    ) -> Result<Option<crate::roster::parse::Upload>, ConfigError> {
        if self.roster.file.is_empty() {
            return Ok(None);
        }
        let p = base_dir.join(&self.roster.file);
        crate::roster::read_file(&p, self.roster.max_bytes, tz).map(Some).map_err(|m| invalid("roster.file", m))
    }

    /// Validates the core keys and resolves them into [`Settings`].
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        let mut errs = Errs::default();
        let s = self.core_settings(&mut errs);
        match errs.0.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(s),
        }
    }

    /// The core's settings; every bad key is added to `errs` (the value is then a
    /// placeholder, and the caller refuses the configuration).
    fn core_settings(&self, errs: &mut Errs) -> Settings {
        let f = &self.floor;
        if f.windows.is_empty() {
            errs.0.push(invalid("floor.windows", "at least one window is needed"));
        }
        let mut windows = Vec::new();
        let mut seen = HashSet::new();
        for w in &f.windows {
            let kind = match w.as_str() {
                "today" => WindowKind::Today,
                "peak_today" => WindowKind::PeakToday,
                other => WindowKind::Sliding(errs.take(parse_duration(other).ok_or_else(|| {
                    invalid(
                        "floor.windows",
                        format!(
                            "{other:?} is not a window: use Ns, Nm or Nh (up to 31 days), \"today\" or \"peak_today\""
                        ),
                    )
                })).unwrap_or(60_000)),
            };
            if !seen.insert(w.clone()) {
                errs.0.push(invalid("floor.windows", format!("{w:?} is listed twice")));
            }
            windows.push(WindowSpec { name: w.clone(), kind });
        }
        let tz = errs
            .take(jiff::tz::TimeZone::get(&f.timezone).map_err(|_| {
                invalid(
                    "floor.timezone",
                    format!("unknown time zone {:?} (use an IANA name such as \"Asia/Shanghai\")", f.timezone),
                )
            }))
            .unwrap_or(jiff::tz::TimeZone::UTC);
        let mut aliases: HashMap<String, State> = DEFAULT_ALIASES.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        for (k, v) in &f.aliases {
            let state = errs.take(State::parse_canonical(&v.to_ascii_lowercase()).ok_or_else(|| {
                invalid(
                    &format!("floor.aliases.{k}"),
                    format!("{v:?} is not a state (talking, acw, aux, idle, offline)"),
                )
            }));
            if let Some(state) = state {
                aliases.insert(k.clone(), state);
            }
        }
        if f.min_team == 0 {
            errs.0.push(invalid("floor.min_team", "must be at least 1"));
        }
        if f.max_backfill_secs == 0 || f.max_backfill_secs > 86_400 {
            errs.0.push(invalid("floor.max_backfill_secs", "must be between 1 and 86400 (a day)"));
        }
        if f.forget_offline_after_secs < f.max_backfill_secs {
            errs.0.push(invalid(
                "floor.forget_offline_after_secs",
                "must be at least floor.max_backfill_secs (a late event must find its agent)",
            ));
        }
        if f.max_agents == 0 {
            errs.0.push(invalid("floor.max_agents", "must be at least 1"));
        }
        let mut peak_windows = Vec::new();
        for w in &self.peak.windows {
            peak_windows.extend(
                errs.take(
                    parse_peak_window(w)
                        .ok_or_else(|| invalid("peak.windows", format!("{w:?} is not a window like \"09:30-11:30\""))),
                ),
            );
        }
        if let Some(b) = self.peak.busy_share {
            errs.take(check_ratio("peak.busy_share", b, true));
        }
        let a = &self.alerts;
        errs.take(check_ratio("alerts.aux_cluster.share", a.aux_cluster.share, false));
        errs.take(check_ratio("alerts.aux_cluster.baseline", a.aux_cluster.baseline, true));
        if a.aux_cluster.baseline >= 1.0 {
            errs.0.push(invalid("alerts.aux_cluster.baseline", "must be below 1"));
        }
        errs.take(check_ratio("alerts.aux_cluster.alpha", a.aux_cluster.alpha, true));
        if !(a.aux_dispersion.cv_limit.is_finite() && a.aux_dispersion.cv_limit >= 0.0) {
            errs.0.push(invalid("alerts.aux_dispersion.cv_limit", "must be a non-negative number"));
        }
        if !a.utilization_high.high.is_finite() {
            errs.0.push(invalid("alerts.utilization_high.high", "must be a number"));
        }
        if a.aux_dispersion.consecutive == 0 {
            errs.0.push(invalid("alerts.aux_dispersion.consecutive", "must be at least 1"));
        }
        if a.utilization_high.consecutive == 0 {
            errs.0.push(invalid("alerts.utilization_high.consecutive", "must be at least 1"));
        }
        if a.long_aux.max_aux_secs == 0 {
            errs.0.push(invalid("alerts.long_aux.max_aux_secs", "must be at least 1"));
        }
        let mut per_reason = HashMap::new();
        for (reason, secs) in &a.long_aux.per_reason {
            let key = format!("alerts.long_aux.per_reason.{reason}");
            if *secs == 0 {
                errs.0.push(invalid(&key, "must be at least 1"));
            }
            per_reason.insert(reason.clone(), errs.take(secs_ms(&key, *secs)).unwrap_or(1000));
        }
        let clock = match self.server.clock.as_str() {
            "wall" => ClockMode::Wall,
            "event" => ClockMode::Event,
            other => {
                errs.0.push(invalid("server.clock", format!("{other:?} is neither \"wall\" nor \"event\"")));
                ClockMode::Wall
            }
        };
        if f.max_future_skew_ms > 86_400_000 {
            errs.0.push(invalid("floor.max_future_skew_ms", "must be at most 86400000 (a day)"));
        }
        if a.aux_cluster.min_agents == 0 {
            errs.0.push(invalid("alerts.aux_cluster.min_agents", "must be at least 1"));
        }
        let q = &self.queues;
        let sl_mode = match q.sl_mode.as_str() {
            "with_abandons" => SlMode::WithAbandons,
            "answered_only" => SlMode::AnsweredOnly,
            other => {
                errs.0.push(invalid(
                    "queues.sl_mode",
                    format!("{other:?} is neither \"with_abandons\" nor \"answered_only\""),
                ));
                SlMode::WithAbandons
            }
        };
        errs.take(check_ratio("queues.sl_target", q.sl_target, false));
        if a.long_wait.max_wait_secs == 0 {
            errs.0.push(invalid("alerts.long_wait.max_wait_secs", "must be at least 1"));
        }
        if a.service_level_low.consecutive == 0 {
            errs.0.push(invalid("alerts.service_level_low.consecutive", "must be at least 1"));
        }
        if self.limits.max_alerts == 0 {
            errs.0.push(invalid("limits.max_alerts", "must be at least 1"));
        }
        if self.limits.max_waiting_calls == 0 {
            errs.0.push(invalid("limits.max_waiting_calls", "must be at least 1"));
        }
        let queues = QueueSettings {
            sl_ms: errs.take(secs_ms("queues.sl_secs", q.sl_secs)).unwrap_or(10_000),
            short_abandon_ms: errs.take(secs_ms("queues.short_abandon_secs", q.short_abandon_secs)).unwrap_or(5_000),
            sl_mode,
            sl_target: q.sl_target,
            max_waiting: self.limits.max_waiting_calls,
            long_wait_ms: errs
                .take(secs_ms("alerts.long_wait.max_wait_secs", a.long_wait.max_wait_secs))
                .unwrap_or(1000),
            sl_min_calls: a.service_level_low.min_calls,
            sl_consecutive: a.service_level_low.consecutive,
        };
        if a.aux_dispersion.min_members < 2 {
            errs.0.push(invalid("alerts.aux_dispersion.min_members", "must be at least 2 (a CV needs two members)"));
        }
        let c = &self.aht_chart;
        if c.interval_mins == 0 || c.interval_mins > 1440 {
            errs.0.push(invalid("aht_chart.interval_mins", "must be between 1 and 1440 (a day)"));
        }
        if c.min_contacts == 0 {
            errs.0.push(invalid("aht_chart.min_contacts", "must be at least 1"));
        }
        if c.baseline_points == 0 || c.baseline_points > 1000 {
            errs.0.push(invalid("aht_chart.baseline_points", "must be between 1 and 1000"));
        }
        if c.history_days == 0 || c.history_days > 3660 {
            errs.0.push(invalid("aht_chart.history_days", "must be between 1 and 3660"));
        }
        let aht_chart = crate::settings::AhtChartSettings {
            interval_ms: c.interval_mins.clamp(1, 1440) as Ms * 60_000,
            min_contacts: c.min_contacts.max(1),
            baseline_points: c.baseline_points.clamp(1, 1000),
            history_ms: c.history_days.clamp(1, 3660) as Ms * 86_400_000,
        };
        let mut allowed = std::collections::HashMap::new();
        for (act, entries) in &self.adherence.allowed {
            match crate::roster::AllowList::parse(entries) {
                Ok(l) => {
                    allowed.insert(act.clone(), l);
                }
                Err(m) => errs.0.push(invalid(&format!("adherence.allowed.{act}"), m)),
            }
        }
        if a.out_of_adherence.threshold_secs == 0 {
            errs.0.push(invalid("alerts.out_of_adherence.threshold_secs", "must be at least 1"));
        }
        if self.roster.max_bytes == 0 {
            errs.0.push(invalid("roster.max_bytes", "must be at least 1"));
        }
        if self.roster.check_interval_secs == 0 {
            errs.0.push(invalid("roster.check_interval_secs", "must be at least 1"));
        }
        if self.roster.max_rows == 0 {
            errs.0.push(invalid("roster.max_rows", "must be at least 1"));
        }
        let adherence = crate::roster::AdherenceSettings {
            allowed,
            threshold_ms: errs
                .take(secs_ms("alerts.out_of_adherence.threshold_secs", a.out_of_adherence.threshold_secs))
                .unwrap_or(1000)
                .max(1000),
            max_rows: self.roster.max_rows.max(1),
        };
        Settings {
            adherence,
            roster: None,
            windows,
            timezone_name: f.timezone.clone(),
            tz,
            planned_reasons: f.planned_reasons.iter().cloned().collect(),
            aliases,
            min_team: f.min_team,
            dispersion_min_logged_ms: errs
                .take(secs_ms("floor.dispersion_min_logged_secs", f.dispersion_min_logged_secs))
                .unwrap_or(1000),
            max_future_skew_ms: f.max_future_skew_ms as Ms,
            forget_offline_ms: errs
                .take(secs_ms("floor.forget_offline_after_secs", f.forget_offline_after_secs))
                .unwrap_or(1000),
            max_backfill_ms: errs.take(secs_ms("floor.max_backfill_secs", f.max_backfill_secs)).unwrap_or(1000),
            keep_resolved_alerts_ms: 48 * 3_600_000,
            max_alerts: self.limits.max_alerts,
            max_agents: f.max_agents,
            peak_windows,
            busy_share: self.peak.busy_share,
            peak_hold_ms: errs.take(secs_ms("peak.hold_secs", self.peak.hold_secs)).unwrap_or(1000),
            cluster_min_agents: a.aux_cluster.min_agents,
            cluster_share: a.aux_cluster.share,
            cluster_baseline: a.aux_cluster.baseline,
            cluster_alpha: a.aux_cluster.alpha,
            cluster_hold_ms: errs
                .take(secs_ms("alerts.aux_cluster.hold_secs", a.aux_cluster.hold_secs))
                .unwrap_or(1000),
            long_aux_ms: errs.take(secs_ms("alerts.long_aux.max_aux_secs", a.long_aux.max_aux_secs)).unwrap_or(1000),
            long_aux_per_reason: per_reason,
            disp_cv_limit: a.aux_dispersion.cv_limit,
            disp_min_members: a.aux_dispersion.min_members,
            disp_consecutive: a.aux_dispersion.consecutive,
            disp_min_peak_ms: errs
                .take(secs_ms("alerts.aux_dispersion.min_peak_secs", a.aux_dispersion.min_peak_secs))
                .unwrap_or(1000),
            util_high: a.utilization_high.high,
            util_consecutive: a.utilization_high.consecutive,
            aht_chart,
            clock,
            queues,
        }
    }

    /// Validates every key this module owns, once, into a typed [`Config`]: the core's
    /// settings, addresses, limits, the journal, tokens, the wallboard. Reports every
    /// error, each naming its key. (TLS files, hook entries and the web-access lists are
    /// checked by `server::check`, which knows them.)
    pub fn validate(&self, base_dir: &Path) -> Result<Config, ConfigErrors> {
        let mut errs = Errs::default();
        let core = self.core_settings(&mut errs);
        let addr = |errs: &mut Errs, key: &str, v: &str| -> SocketAddr {
            errs.take(v.parse::<SocketAddr>().map_err(|_| {
                invalid(key, format!("{v:?} is not an address like \"0.0.0.0:8080\" (IP and port 0-65535)"))
            }))
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
        };
        let sv = &self.server;
        let http = addr(&mut errs, "server.http", &sv.http);
        let tcp = addr(&mut errs, "server.tcp", &sv.tcp);
        if sv.push_interval_ms < 50 {
            errs.0.push(invalid("server.push_interval_ms", "must be at least 50"));
        }
        let l = &self.limits;
        for (key, v) in [
            ("limits.max_connections", l.max_connections),
            ("limits.max_ws_clients", l.max_ws_clients),
            ("limits.max_line_bytes", l.max_line_bytes),
            ("limits.max_frame_bytes", l.max_frame_bytes),
            ("limits.max_body_bytes", l.max_body_bytes),
            ("limits.max_http_connections", l.max_http_connections),
            ("limits.header_read_timeout_secs", l.header_read_timeout_secs as usize),
            ("limits.idle_timeout_secs", l.idle_timeout_secs as usize),
        ] {
            if v == 0 {
                errs.0.push(invalid(key, "must be at least 1"));
            }
        }
        if l.max_line_bytes < 256 {
            errs.0.push(invalid("limits.max_line_bytes", "must be at least 256"));
        }
        // One body (or WebSocket ingest message) of the largest size allowed must be
        // readable on its own.
        let largest = l.max_body_bytes.max(self.roster.max_bytes).max(l.max_frame_bytes);
        if l.max_body_bytes_in_flight < largest {
            errs.0.push(invalid(
                "limits.max_body_bytes_in_flight",
                format!(
                    "must be at least limits.max_body_bytes ({}), roster.max_bytes ({}) and limits.max_frame_bytes ({}): \
                     one body or message of each size must fit",
                    l.max_body_bytes, self.roster.max_bytes, l.max_frame_bytes
                ),
            ));
        }
        for (key, band) in
            [("wallboard.talk_band", self.wallboard.talk_band), ("wallboard.aux_band", self.wallboard.aux_band)]
        {
            if !(band[0].is_finite() && band[1].is_finite() && 0.0 <= band[0] && band[0] <= band[1] && band[1] <= 1.0) {
                errs.0.push(invalid(key, "must be [low, high] with 0 <= low <= high <= 1"));
            }
        }
        if !["", "en", "zh"].contains(&self.wallboard.lang.as_str()) {
            errs.0.push(invalid("wallboard.lang", "must be \"en\", \"zh\" or \"\""));
        }
        let j = &self.journal;
        let journal = if j.enabled {
            if j.dir.is_empty() {
                errs.0.push(invalid("journal.dir", "must name a directory (or set journal.enabled = false)"));
            }
            if j.fsync_interval_ms == 0 || j.fsync_interval_ms > 10_000 {
                errs.0.push(invalid("journal.fsync_interval_ms", "must be between 1 and 10000"));
            }
            if j.snapshot_interval_secs == 0 {
                errs.0.push(invalid("journal.snapshot_interval_secs", "must be at least 1"));
            }
            Some(JournalSettings {
                dir: base_dir.join(&j.dir),
                fsync_interval: Duration::from_millis(j.fsync_interval_ms),
                snapshot_interval: Duration::from_secs(j.snapshot_interval_secs),
            })
        } else {
            None
        };
        let cluster = self.cluster.settings(j, base_dir, &mut errs);
        if cluster.is_some() && !self.roster.file.is_empty() {
            errs.0.push(invalid(
                "roster.file",
                "a roster is not yet shared through [cluster]: every replica would hold its own (docs/cluster.md)",
            ));
        }
        let tokens = errs.take(self.auth.resolve(base_dir)).unwrap_or_default();
        let mut core = core;
        core.roster = errs.take(self.roster_upload(base_dir, &core.tz)).flatten().map(std::sync::Arc::new);
        let sources = crate::sources::config::validate(&self.sources, base_dir).unwrap_or_else(|e| {
            errs.0.extend(e);
            Vec::new()
        });
        if !errs.0.is_empty() {
            return Err(ConfigErrors(errs.0));
        }
        Ok(Config {
            core,
            server: ServerSettings {
                http,
                tcp,
                push_interval: Duration::from_millis(sv.push_interval_ms),
                web_dir: (!sv.web_dir.is_empty()).then(|| base_dir.join(&sv.web_dir)),
                shutdown_grace: Duration::from_secs(sv.shutdown_grace_secs),
                allowed_origins: sv.allowed_origins.clone(),
                allowed_hosts: sv.allowed_hosts.clone(),
            },
            limits: Limits {
                max_connections: l.max_connections,
                max_ws_clients: l.max_ws_clients,
                max_line_bytes: l.max_line_bytes,
                max_frame_bytes: l.max_frame_bytes,
                max_body_bytes: l.max_body_bytes,
                max_body_bytes_in_flight: l.max_body_bytes_in_flight,
                idle_timeout: Duration::from_secs(l.idle_timeout_secs),
                max_http_connections: l.max_http_connections,
                header_read_timeout: Duration::from_secs(l.header_read_timeout_secs),
            },
            journal,
            tokens,
            open: self.auth.open,
            hooks: self.hooks.clone(),
            tls: self.tls.clone(),
            wallboard: self.wallboard.clone(),
            per_agent_metrics: self.metrics.per_agent,
            base_dir: base_dir.to_path_buf(),
            board: BoardConfig {
                windows: self.floor.windows.clone(),
                planned_reasons: self.floor.planned_reasons.clone(),
                long_aux_per_reason: self.alerts.long_aux.per_reason.clone(),
            },
            sources,
            roster_file: (!self.roster.file.is_empty()).then(|| base_dir.join(&self.roster.file)),
            roster_max_bytes: self.roster.max_bytes,
            roster_check_interval: Duration::from_secs(self.roster.check_interval_secs),
            cluster,
        })
    }
}

/// A secret from inline text, an environment variable or a file.
pub fn resolve_secret(
    key: &str,
    inline: &Option<String>,
    env: &Option<String>,
    file: &Option<String>,
    base_dir: &Path,
) -> Result<Option<String>, ConfigError> {
    let given = [inline.is_some(), env.is_some(), file.is_some()].iter().filter(|b| **b).count();
    if given > 1 {
        return Err(invalid(key, format!("give only one of {key}, {key}_env, {key}_file")));
    }
    if let Some(v) = inline {
        return Ok(Some(v.clone()).filter(|v| !v.is_empty()));
    }
    if let Some(var) = env {
        let v = std::env::var(var)
            .map_err(|_| invalid(&format!("{key}_env"), format!("environment variable {var} is not set")))?;
        return Ok(Some(v.trim().to_string()).filter(|v| !v.is_empty()));
    }
    if let Some(path) = file {
        let p = base_dir.join(path);
        let v = std::fs::read_to_string(&p)
            .map_err(|e| invalid(&format!("{key}_file"), format!("cannot read {}: {e}", p.display())))?;
        return Ok(Some(v.trim().to_string()).filter(|v| !v.is_empty()));
    }
    Ok(None)
}

/// Resolved bearer tokens.
#[derive(Clone, Default)]
pub struct Tokens {
    pub ingest: Option<String>,
    pub viewer: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("ingest", &self.ingest.as_ref().map(|_| "<redacted>"))
            .field("viewer", &self.viewer.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl AuthConfig {
    pub fn resolve(&self, base_dir: &Path) -> Result<Tokens, ConfigError> {
        Ok(Tokens {
            ingest: resolve_secret(
                "auth.ingest_token",
                &self.ingest_token,
                &self.ingest_token_env,
                &self.ingest_token_file,
                base_dir,
            )?,
            viewer: resolve_secret(
                "auth.viewer_token",
                &self.viewer_token,
                &self.viewer_token_env,
                &self.viewer_token_file,
                base_dir,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_of(toml: &str) -> String {
        match FileConfig::parse(toml, "test.toml").and_then(|c| c.settings()) {
            Ok(_) => panic!("accepted: {toml}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn embedded_defaults_equal_builtin_defaults() {
        let file = FileConfig::load(None).unwrap();
        let s = file.settings().unwrap();
        let d = Settings::default();
        assert_eq!(s.windows.len(), d.windows.len());
        assert_eq!(s.peak_windows, d.peak_windows);
        assert_eq!(s.busy_share, d.busy_share);
        assert_eq!(s.cluster_share, d.cluster_share);
        assert_eq!(s.long_aux_ms, 600_000);
        assert_eq!(s.peak_windows, vec![(34_200_000, 41_400_000), (50_400_000, 59_400_000)]);
    }

    #[test]
    fn errors_name_the_key() {
        for (toml, key) in [
            ("[floor]\ntimezone = \"Mars/Olympus\"", "floor.timezone"),
            ("[floor]\nwindows = [\"15x\"]", "floor.windows"),
            ("[floor.aliases]\n\"on-call\" = \"talkin\"", "floor.aliases.on-call"),
            ("[peak]\nwindows = [\"9-11\"]", "peak.windows"),
            ("[peak]\nbusy_share = 1.5", "peak.busy_share"),
            ("[alerts.aux_cluster]\nalpha = 0", "alerts.aux_cluster.alpha"),
            ("[server]\nclock = \"sundial\"", "server.clock"),
            ("[floor]\nmin_teem = 3", "min_teem"),
            ("[floor]\nmin_team = \"five\"", "min_team"),
            ("[alerts.long_aux.per_reason]\nrestroom = 0", "alerts.long_aux.per_reason.restroom"),
        ] {
            let e = err_of(toml);
            assert!(e.contains(key), "{toml:?} gave {e:?}, which does not name {key}");
        }
    }

    #[test]
    fn hook_errors_name_the_entry_once() {
        // Hook entries are the hooks' own keys: `server::check` reads them, naming the entry.
        let file = FileConfig::parse("[[hooks]]\nkind = \"slack\"\nurl = \"ftp://x.invalid/t\"\n", "t").unwrap();
        let config = file.validate(Path::new(".")).expect("config's own keys are fine");
        let e = crate::server::check(&config).err().unwrap().to_string();
        assert!(e.starts_with("hooks[0].url: "), "{e}");
        let file = FileConfig::parse("[[hooks]]\nkind = \"slack\"\nurll = \"https://x\"\n", "t").unwrap();
        let e = crate::server::check(&file.validate(Path::new(".")).unwrap()).err().unwrap().to_string();
        assert!(e.starts_with("hooks[0]: ") && e.contains("urll"), "{e}");
    }

    /// Every bad key is reported, not only the first.
    #[test]
    fn every_error_is_reported() {
        let toml = "[server]\nhttp = \"127.0.0.1:99999\"\n[floor]\nmin_team = 0\ntimezone = \"Mars/Olympus\"\n\
                    [limits]\nidle_timeout_secs = 0\n";
        let e = FileConfig::parse(toml, "t").unwrap().validate(Path::new(".")).unwrap_err();
        let keys: Vec<String> =
            e.0.iter()
                .map(|e| match e {
                    ConfigError::Invalid { key, .. } => key.clone(),
                    other => other.to_string(),
                })
                .collect();
        for key in ["server.http", "floor.min_team", "floor.timezone", "limits.idle_timeout_secs"] {
            assert!(keys.iter().any(|k| k == key), "{key} missing from {keys:?}");
        }
    }

    #[test]
    fn durations_and_peak_windows() {
        assert_eq!(parse_duration("15m"), Some(900_000));
        assert_eq!(parse_duration("90s"), Some(90_000));
        assert_eq!(parse_duration("2h"), Some(7_200_000));
        for bad in ["", "m", "0m", "-5m", "5d", "1.5h", "15 m"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        assert_eq!(parse_peak_window("09:30-11:30"), Some((34_200_000, 41_400_000)));
        assert_eq!(parse_peak_window("22:00-02:00"), Some((79_200_000, 7_200_000)));
        assert_eq!(parse_peak_window("00:00-24:00"), Some((0, 86_400_000)));
        for bad in ["9:30-11:30", "09:30", "25:00-26:00", "10:00-10:00"] {
            assert_eq!(parse_peak_window(bad), None, "{bad}");
        }
    }
}
