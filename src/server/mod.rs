//! The daemon (`floorwatch serve`): listeners, shared state, ordered shutdown.
//!
//! One [`Engine`] behind a mutex is the single owner of floor state. Ingest tasks decode
//! outside the lock and apply whole batches under it; readers (snapshot, push, metrics)
//! compute a view under it and serialize outside it. The lock is never held across
//! `.await`.

pub mod alert_query;
pub mod auth;
pub mod bodies;
pub mod demo;
pub mod flight;
pub mod guard;
mod gz;
mod ingest_ws;
pub mod listen;
pub mod push;
pub mod roster;
pub mod routes;
pub mod sources_route;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::alert::StoredAlert;
use crate::config::{Config, ConfigError, ConfigErrors, FileConfig, Settings, Tokens};
pub use crate::core::wall_ms;
use crate::core::{AlertSink, Core};
use crate::engine::Engine;
use crate::event::Aliases;
use crate::hooks::{HookConfig, HookError, Hooks};
use crate::ingest::Connections;
use crate::ingest::apply::Applier;
use crate::journal::{Journal, Recovery};
use crate::metrics::Metrics;

/// State shared by every task of the daemon. Owned by `run`; tasks hold `Arc`s and stop
/// on the cancellation token.
pub struct Shared {
    /// The engine, its journal and the alert fan-out (ingest submits here too).
    pub core: Arc<Core>,
    /// The validated configuration.
    pub config: Config,
    /// `config.core`, as the engine was built with (for `--demo`, its longer backfill).
    pub settings: Settings,
    pub aliases: Aliases,
    pub tokens: Tokens,
    pub hub: Arc<push::Hub>,
    pub metrics: Metrics,
    pub hooks: Option<Hooks>,
    /// Open ingest connections per source (gauge), updated by the connection tasks.
    pub connections: Arc<Connections>,
    pub web_dir: Option<PathBuf>,
    pub ready: std::sync::atomic::AtomicBool,
    /// The board is readable without a token from other hosts (shown on the board).
    pub open_board: bool,
    /// The thread that applies TCP and WebSocket batches (`ingest::apply`).
    pub applier: Arc<Applier>,
    /// The last refusals per source (`GET /api/v1/ingest/errors`); the core reports to it.
    pub refusals: Arc<crate::ingest::errors::Recent>,
    /// The platform sources' health (`[[sources]]`), written by their tasks.
    pub sources: crate::sources::Sources,
    /// Reads computed once for the requests that arrive together (`flight`).
    pub reads: flight::Reads,
    /// `floorwatch_roster_uploads_total{source, outcome}` (`roster::uploads_counter`).
    pub roster_uploads: prometheus::IntCounterVec,
    /// The request bodies held at once (`limits.max_body_bytes_in_flight`).
    pub bodies: Arc<bodies::Bodies>,
}

impl Shared {
    pub fn engine(&self) -> MutexGuard<'_, Engine> {
        self.core.engine()
    }

    pub fn connection_counts(&self) -> Vec<(&'static str, i64)> {
        self.connections.counts()
    }
}

impl AlertSink for push::Hub {
    fn alerts(&self, alerts: &[Arc<StoredAlert>]) {
        for a in alerts {
            push::Hub::alert(self, a.alert())
        }
    }
}

impl AlertSink for Hooks {
    fn alerts(&self, alerts: &[Arc<StoredAlert>]) {
        self.notify_all(alerts.iter().map(|a| a.alert()))
    }
}

/// Listeners bound by the caller (tests bind port 0).
pub struct Listeners {
    pub http: TcpListener,
    pub tcp: TcpListener,
}

impl Listeners {
    pub async fn bind(http_addr: SocketAddr, tcp_addr: SocketAddr) -> anyhow::Result<Listeners> {
        let http = TcpListener::bind(http_addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {http_addr} (server.http or --http): {e}"))?;
        let tcp = TcpListener::bind(tcp_addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {tcp_addr} (server.tcp or --tcp): {e}"))?;
        Ok(Listeners { http, tcp })
    }
}

/// Options of `serve` beyond the config file.
#[derive(Clone, Debug, Default)]
pub struct ServeOptions {
    pub demo: bool,
    /// Directory the config file's relative paths are relative to.
    pub base_dir: PathBuf,
}

/// What the daemon's own code checks of a validated configuration, beyond `config`'s
/// keys: the TLS certificate and key (loaded), the `[[hooks]]` entries (read and
/// resolved, secrets included) and the web-access lists. Every error names its key;
/// all of them are reported. `serve` and `check-config` both run this.
pub struct Checked {
    pub tls: Option<tls::Acceptors>,
    pub hooks: Vec<HookConfig>,
}

pub fn check(config: &Config) -> Result<Checked, ConfigErrors> {
    let s = &config.server;
    check_parts(
        &config.tls,
        &config.hooks,
        &config.core.timezone_name,
        &s.allowed_hosts,
        &s.allowed_origins,
        &config.base_dir,
    )
}

/// [`check`] on the raw keys, so that `check-config` can report these errors beside those
/// of a file that did not validate.
pub fn check_parts(
    tls_keys: &crate::config::TlsConfig,
    hook_tables: &[toml::Table],
    floor_timezone: &str,
    allowed_hosts: &[String],
    allowed_origins: &[String],
    base_dir: &std::path::Path,
) -> Result<Checked, ConfigErrors> {
    let mut errs = Vec::new();
    let tls = tls::acceptors(tls_keys, base_dir).map_err(|e| errs.push(e)).ok().flatten();
    let hook_err = |e: HookError| match e {
        // Already named by key (`hooks[2].url`): no second prefix.
        HookError::Config { key, msg } => ConfigError::Invalid { key, message: msg },
        other => ConfigError::Invalid { key: "hooks".into(), message: other.to_string() },
    };
    let hooks = match crate::hooks::parse(hook_tables) {
        Ok(mut h) => {
            // A hook without its own `timezone` writes clock times in the floor's, as the
            // board does (it wrote UTC: "fired 05:20" for 01:20 on a New York floor).
            for hook in &mut h {
                hook.timezone.get_or_insert_with(|| floor_timezone.to_string());
            }
            if let Err(e) = Hooks::validate(&h, base_dir) {
                errs.push(hook_err(e));
            }
            h
        }
        Err(es) => {
            errs.extend(es.into_iter().map(hook_err));
            Vec::new()
        }
    };
    if let Err((key, message)) = guard::check_lists(allowed_hosts, allowed_origins) {
        errs.push(ConfigError::Invalid { key, message });
    }
    if errs.is_empty() { Ok(Checked { tls, hooks }) } else { Err(ConfigErrors(errs)) }
}

/// Everything `serve` checks before binding: [`FileConfig::validate`], then [`check`].
pub fn validate_all(file: &FileConfig, base_dir: &std::path::Path) -> Result<(Config, Checked), ConfigErrors> {
    let config = file.validate(base_dir)?;
    let checked = check(&config)?;
    Ok((config, checked))
}

/// What is reachable without a token from other hosts: a listener on an address that is
/// not loopback, with its token unset. Empty: nothing, or only this machine.
pub fn open_exposure(config: &Config, http: SocketAddr, tcp: SocketAddr) -> Vec<String> {
    let mut out = Vec::new();
    let t = &config.tokens;
    if !http.ip().is_loopback() {
        match (t.ingest.is_none(), t.viewer.is_none()) {
            (true, true) => out.push(format!("anyone who can reach {http} can send events and read the floor")),
            (true, false) => out.push(format!("anyone who can reach {http} can send events")),
            (false, true) => out.push(format!("anyone who can reach {http} can read the floor")),
            (false, false) => {}
        }
    }
    if !tcp.ip().is_loopback() && t.ingest.is_none() {
        out.push(format!("anyone who can reach {tcp} can send events over TCP"));
    }
    out
}

/// Validates `file` and runs the daemon (see [`run_config`]).
pub async fn run(
    file: FileConfig,
    listeners: Listeners,
    opts: ServeOptions,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let config = file.validate(&opts.base_dir)?;
    run_config(config, listeners, opts.demo, shutdown).await
}

/// Runs the daemon until `shutdown` is cancelled, then drains within the grace period.
pub async fn run_config(
    config: Config,
    listeners: Listeners,
    demo: bool,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let checked = check(&config)?;
    crate::mem::map_large_blocks();
    let mut settings = config.core.clone();
    if demo {
        // The demo floor fast-forwards today since 08:00 local through the wall clock: a
        // backlog of its own, applied where it belongs rather than refused as too old.
        settings.max_backfill_ms = settings.max_backfill_ms.max(86_400_000);
    }
    let tokens = config.tokens.clone();
    // Before the journal is read: it records sources by these numbers.
    crate::sources::intern(&config.sources);
    let metrics = Metrics::new(config.per_agent_metrics);
    let hooks = if checked.hooks.is_empty() {
        None
    } else {
        Some(Hooks::start(&checked.hooks, &config.base_dir, metrics.registry()).map_err(|e| anyhow::anyhow!("{e}"))?)
    };
    let cluster = match (&config.cluster, demo) {
        (Some(c), false) => Some(crate::cluster::Cluster::connect(c.clone()).await?),
        (Some(_), true) => {
            tracing::info!("demo floor: [cluster] ignored (the demo's floor is made up and its own)");
            None
        }
        (None, _) => None,
    };
    let mut position = crate::cluster::follow::Position::default();
    let mut told = Vec::new();
    let (engine, journal) = match (&config.journal, demo) {
        _ if cluster.is_some() => {
            // The stream is the log: no journal; journal.dir keeps state snapshots.
            let c = cluster.as_ref().expect("cluster");
            let (dir, group, settings) = (c.settings.state_dir.clone(), c.settings.group(), settings.clone());
            let restored =
                tokio::task::spawn_blocking(move || crate::cluster::follow::restore(&settings, dir.as_deref(), &group))
                    .await??;
            position = restored.position;
            told = restored.told;
            (restored.engine, None)
        }
        (Some(j), false) => {
            let (dir, interval) = (j.dir.clone(), j.fsync_interval);
            let settings = settings.clone();
            tokio::task::spawn_blocking(move || recover(&dir, settings, interval)).await??
        }
        (j, _) => {
            if demo && j.is_some() {
                tracing::info!("demo floor: journal off (the demo's state is made up)");
            }
            (Engine::new(settings.clone()), None)
        }
    };
    let web_dir = config.server.web_dir.clone();
    let hub = Arc::new(push::Hub::new(config.limits.max_ws_clients, metrics.registry()));
    let mut sinks: Vec<Arc<dyn AlertSink>> = vec![hub.clone()];
    // In a cluster the hooks hear from the gate: one replica at a time delivers.
    let gate = match (&hooks, &cluster) {
        (Some(h), Some(c)) => {
            let gate = crate::cluster::lease::Gate::new(h.clone(), c.clone());
            gate.restore_told(&told);
            Some(gate)
        }
        (Some(h), None) => {
            sinks.push(Arc::new(h.clone()));
            None
        }
        _ => None,
    };
    let refusals = Arc::new(crate::ingest::errors::Recent::default());
    let mut core = Core::new(engine, journal, sinks).with_refusal_sink(refusals.clone());
    if let Some(c) = &cluster {
        core = core.with_cluster(c.clone());
    }
    let core = Arc::new(core);
    let applier = Arc::new(Applier::start(core.clone()));
    let tracker = TaskTracker::new();
    let sources = crate::sources::Sources::start(
        &config.sources,
        applier.clone(),
        metrics.registry(),
        shutdown.clone(),
        &tracker,
    );
    let open_board = config.tokens.viewer.is_none() && !listeners.http.local_addr()?.ip().is_loopback();
    let reads = flight::Reads::new(metrics.registry());
    let roster_uploads = roster::uploads_counter(metrics.registry());
    let bodies = bodies::Bodies::new(config.limits.max_body_bytes_in_flight, metrics.registry());
    let shared = Arc::new(Shared {
        open_board,
        core,
        applier,
        refusals,
        sources,
        aliases: Aliases::new(settings.aliases.clone()),
        settings,
        tokens,
        hub,
        metrics,
        hooks,
        connections: Arc::new(Connections::default()),
        web_dir,
        config,
        ready: std::sync::atomic::AtomicBool::new(false),
        reads,
        roster_uploads,
        bodies,
    });

    let http_addr = listeners.http.local_addr()?;
    let tcp_addr = listeners.tcp.local_addr()?;
    let exposed = open_exposure(&shared.config, http_addr, tcp_addr);
    if !exposed.is_empty() {
        let what = exposed.join("; ");
        if !(shared.config.open || demo) {
            anyhow::bail!(
                "auth: {what}. Set auth.ingest_token and auth.viewer_token (or *_env / *_file), listen on \
                 127.0.0.1 (server.http, server.tcp), or set auth.open = true to serve open on purpose"
            );
        }
        tracing::warn!("open on purpose ({}): {what}", if demo { "--demo" } else { "auth.open = true" });
    }
    let clock = match shared.settings.clock {
        crate::settings::ClockMode::Wall => "wall",
        crate::settings::ClockMode::Event => "event",
    };
    tracing::info!(http = %http_addr, tcp = %tcp_addr, tls = checked.tls.is_some(), clock, timezone = %shared.settings.timezone_name, huge_pages = crate::mem::huge_pages(), "floorwatch listening");
    if let (Some(path), Some(up)) = (&shared.config.roster_file, &shared.settings.roster) {
        tracing::info!(
            agents = up.agents.len(),
            rows = up.rows(),
            "roster.file {} read (what changed since it last applied is in force)",
            path.display()
        );
    }

    let tls = checked.tls;
    let conn_stats = listen::ConnStats::new(shared.metrics.registry());
    let tcp_ingest = Arc::new(crate::ingest::tcp::TcpIngest {
        applier: shared.applier.clone(),
        aliases: shared.aliases.clone(),
        token: shared.tokens.ingest.clone(),
        max_connections: shared.config.limits.max_connections,
        idle: shared.config.limits.idle_timeout,
        max_line_bytes: shared.config.limits.max_line_bytes,
        connections: shared.connections.clone(),
    });
    tracker.spawn(crate::ingest::tcp::serve(
        tcp_ingest,
        listeners.tcp,
        tls.as_ref().map(|t| t.tcp.clone()),
        conn_stats.clone(),
        shutdown.clone(),
        tracker.clone(),
    ));
    tracker.spawn(push::run(shared.clone(), shutdown.clone()));
    tracker.spawn(ticker(shared.clone(), shutdown.clone()));
    if let Some(c) = &cluster {
        tracker.spawn(crate::cluster::follow::run(
            shared.core.clone(),
            c.clone(),
            gate.clone(),
            position,
            shutdown.clone(),
        ));
        tracker.spawn(cluster_ticks(c.clone(), shutdown.clone()));
        if let Some(g) = &gate {
            tracker.spawn(crate::cluster::lease::run(g.clone(), shutdown.clone()));
        }
    }
    tracker.spawn(roster::watch(shared.clone(), shutdown.clone()));
    if demo {
        tracker.spawn(demo::run(shared.clone(), shutdown.clone()));
    }
    let routes = routes::routes(shared.clone(), conn_stats.clone(), shutdown.clone(), tracker.clone());
    let limits = listen::HttpLimits {
        max_connections: shared.config.limits.max_http_connections,
        header_read_timeout: shared.config.limits.header_read_timeout,
    };
    let http = tokio::spawn(listen::serve_http(
        routes,
        listeners.http,
        tls.map(|t| t.http),
        limits,
        conn_stats,
        shutdown.clone(),
    ));
    shared.ready.store(true, std::sync::atomic::Ordering::Relaxed);

    shutdown.cancelled().await;
    tracing::info!("shutting down: no new connections, draining");
    shared.ready.store(false, std::sync::atomic::Ordering::Relaxed);
    tracker.close();
    let grace = shared.config.server.shutdown_grace;
    let deadline = tokio::time::Instant::now() + grace;
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        tracing::warn!("grace period over with tasks still running; exiting anyway");
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), http).await;
    if let Some(j) = shared.core.journal().cloned() {
        // A last snapshot makes the next start quick; then everything is synced.
        let job = j.snapshot(&shared.engine());
        let _ = tokio::task::spawn_blocking(move || {
            job();
            j.close();
        })
        .await;
    }
    // Hooks get what is left of the grace period (at least a second) to deliver queued alerts.
    let shared = Arc::try_unwrap(shared).ok();
    if let Some(hooks) = shared.and_then(|s| s.hooks) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now()).max(Duration::from_secs(1));
        hooks.shutdown(left).await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// With the wall clock, alerts must fire on time even when no event arrives: advance the
/// detectors every 250 ms. (With the event clock, time only moves with events.)
async fn ticker(shared: Arc<Shared>, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_millis(250));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut housekeeping = tokio::time::Instant::now();
    let snapshot_every = shared.config.journal.as_ref().map_or(Duration::from_secs(300), |j| j.snapshot_interval);
    let mut last_snapshot = tokio::time::Instant::now();
    let mut snapshot_job: Option<tokio::task::JoinHandle<()>> = None;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        if shared.core.cluster().is_some() {
            // Time moves through the stream (cluster_ticks), the same on every replica.
            continue;
        }
        let wall = shared.settings.clock == crate::config::ClockMode::Wall;
        let keep = housekeeping.elapsed() >= Duration::from_secs(60);
        if keep {
            housekeeping = tokio::time::Instant::now();
        }
        shared.core.tick(wall.then(wall_ms), keep);
        if let Some(j) = shared.core.journal()
            && last_snapshot.elapsed() >= snapshot_every
            && snapshot_job.as_ref().is_none_or(|h| h.is_finished())
        {
            last_snapshot = tokio::time::Instant::now();
            let job = j.snapshot(&shared.engine());
            snapshot_job = Some(tokio::task::spawn_blocking(job));
        }
    }
}

/// Publishes a tick to the stream at every whole second (every replica does; the stream
/// keeps one per second): replicas advance their detectors at the ticks, all alike.
async fn cluster_ticks(cluster: Arc<crate::cluster::Cluster>, shutdown: CancellationToken) {
    loop {
        let now = wall_ms();
        let next = Duration::from_millis((1000 - now.rem_euclid(1000)) as u64);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(next) => {}
        }
        // Failures are retried inside and counted; the next second's tick supersedes.
        let tick = cluster.tick(wall_ms());
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::timeout(Duration::from_secs(5), tick) => {}
        }
    }
}

/// How long a starting daemon waits for a journal directory's lock.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Opens the journal directory, restores the newest snapshot, replays the records after
/// it, and starts the journal for appending.
///
/// A lock still held is waited for up to [`LOCK_WAIT`].
fn recover(dir: &std::path::Path, settings: Settings, interval: Duration) -> anyhow::Result<(Engine, Option<Journal>)> {
    let started = std::time::Instant::now();
    // A daemon restarted at once (a supervisor, a test) may find the lock still held while
    // the previous one finishes stopping (its last tasks drop the journal): wait for it a
    // little before saying the directory is another daemon's.
    let mut told = false;
    let mut rec = loop {
        match Recovery::open(dir) {
            Err(crate::journal::JournalError::Locked(_)) if started.elapsed() < LOCK_WAIT => {
                if !std::mem::replace(&mut told, true) {
                    tracing::info!(dir = %dir.display(), "journal.dir is locked; waiting up to {}s for the previous floorwatch to stop", LOCK_WAIT.as_secs());
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            r => break r.map_err(|e| anyhow::anyhow!("journal.dir: {e}"))?,
        }
    };
    let mut engine = match rec.snapshot()? {
        Some((lsn, bytes)) => {
            let engine = Engine::restore(settings, &bytes)
                .map_err(|e| anyhow::anyhow!("journal.dir: state snapshot at lsn {lsn}: {e}"))?;
            tracing::debug!(lsn, agents = engine.agent_count(), teams = engine.team_count(), "state snapshot restored");
            engine
        }
        None => Engine::new(settings),
    };
    let replayed = rec.replay(&mut engine)?;
    // Up to the last instant the journal saw before notifications are on: what fired
    // before the restart was announced then (hooks are at-most-once across a restart);
    // what falls due while the daemon was down is told at the first tick.
    if engine.settings.clock == crate::settings::ClockMode::Wall
        && let Some(t) = engine.latest()
    {
        engine.advance(t);
    }
    // One sentence a person would write; the numbers also as fields for log search.
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let message = match engine.latest() {
        None => format!("journal {} is empty: starting with an empty floor", dir.display()),
        Some(t) => {
            let open = engine.alerts().iter().filter(|a| a.is_firing()).count();
            let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
            let mut m = format!(
                "restored the floor as of {}: {}, {}, {}; replayed {} from {} in {elapsed_ms} ms",
                crate::time::fmt_ms(t),
                plural(engine.agent_count(), "agent", "agents"),
                plural(engine.team_count(), "team", "teams"),
                plural(open, "open alert", "open alerts"),
                plural(replayed.records as usize, "record", "records"),
                dir.display(),
            );
            if replayed.torn_bytes > 0 {
                m.push_str(&format!("; dropped {} bytes of a record cut short by the crash", replayed.torn_bytes));
            }
            m
        }
    };
    tracing::info!(
        snapshot_lsn = replayed.snapshot_lsn.unwrap_or(0),
        records = replayed.records,
        segments = replayed.segments,
        torn_bytes = replayed.torn_bytes,
        elapsed_ms,
        "{message}"
    );
    let journal = rec.start(replayed.last_lsn, interval)?;
    Ok((engine, Some(journal)))
}
