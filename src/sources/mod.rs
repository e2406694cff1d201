//! Platform sources (SPEC §7): floorwatch reads a contact-centre platform's own feed and
//! turns it into native events, handed to the same applier as TCP and WebSocket ingest.
//! Nothing platform-specific leaves this module.
//!
//! - `config`: `[[sources]]` entries, validated into [`config::SourceSettings`].
//! - `ami`: Asterisk Manager Interface framing; `asterisk`: the pure mapping from AMI
//!   messages to native events; `client`: the AMI connection (login, QueueStatus,
//!   reconnects with jittered backoff).
//! - `connect` (Amazon Connect's agent event stream) and `twilio` (TaskRouter event
//!   callbacks): pushed to us, `POST /api/v1/sources/<name>`; `push` authenticates,
//!   maps and applies their requests.
//! - `genesys_map`: the pure mapping from Genesys Cloud notifications to native events;
//!   `genesys`: OAuth, queue members, notification channels and their WebSockets.
//! - `esl`: FreeSWITCH Event Socket framing; `freeswitch`: the pure mapping from
//!   mod_callcenter's events and `callcenter_config` lists; `esl_client`: the ESL
//!   connection (auth, event subscription, the lists).
//! - `session`: what both clients share: the reconnect loop with jittered backoff, why a
//!   session ended, the hand-off of mapped events to the applier.
//!
//! Each source runs in its own task: one that is flooded, sends garbage or hangs mid-frame
//! stops only itself (its reads wait on the applier's bounded queue like any connection's).
//! Its outcomes are counted under its own `source` label ([`Source::named`]), its health
//! is `floorwatch_source_up{source}`, `floorwatch_source_reconnects_total{source}` and a
//! line of `/readyz`.

pub mod ami;
pub mod asterisk;
pub mod client;
pub mod config;
pub mod connect;
pub mod esl;
pub mod esl_client;
pub mod freeswitch;
pub mod genesys;
pub mod genesys_map;
pub mod push;
pub mod session;
pub mod twilio;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::engine::Source;
use crate::ingest::apply::Applier;
use config::{SourceKind, SourceSettings};

/// Interns every configured source's name, in configuration order, so that their
/// `Source::Named` numbers are the same in every process with this configuration (the
/// journal records them). Call before the journal is read.
pub fn intern(settings: &[SourceSettings]) -> Vec<Source> {
    settings.iter().map(|s| Source::named(&s.name).unwrap_or(Source::Tcp)).collect()
}

/// One source's health, written by its task, read by `/readyz` and `/metrics`.
pub struct Health {
    pub name: String,
    pub kind: &'static str,
    up: AtomicBool,
    metrics: Metrics,
}

impl Health {
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::Relaxed);
        self.metrics.up.with_label_values(&[&self.name]).set(up as i64);
    }

    pub fn reconnecting(&self) {
        self.metrics.reconnects.with_label_values(&[&self.name]).inc();
    }

    /// The platform refused our credentials.
    pub fn login_refused(&self) {
        self.metrics.login_failures.with_label_values(&[&self.name]).inc();
    }

    /// A call event mapped (it is also handed to the core).
    pub fn call_event(&self, event: &str) {
        self.metrics.calls.with_label_values(&[&self.name, event]).inc();
    }
}

/// The families every source shares, registered once.
#[derive(Clone)]
struct Metrics {
    up: IntGaugeVec,
    reconnects: IntCounterVec,
    calls: IntCounterVec,
    login_failures: IntCounterVec,
}

impl Metrics {
    fn new(registry: &Registry) -> Metrics {
        let up = IntGaugeVec::new(
            Opts::new("floorwatch_source_up", "Whether a platform source is connected and logged in (1) or not (0)."),
            &["source"],
        )
        .expect("valid metric");
        let reconnects = IntCounterVec::new(
            Opts::new(
                "floorwatch_source_reconnects_total",
                "Times a platform source reconnected after losing (or failing to make) its connection.",
            ),
            &["source"],
        )
        .expect("valid metric");
        let calls = IntCounterVec::new(
            Opts::new(
                "floorwatch_source_call_events_total",
                "Call events (SPEC 8.1) a platform source mapped, by event (each also goes through ingest like any call event).",
            ),
            &["source", "event"],
        )
        .expect("valid metric");
        let login_failures = IntCounterVec::new(
            Opts::new(
                "floorwatch_source_login_failures_total",
                "Times a platform refused a source's credentials (wrong AMI secret or ESL password).",
            ),
            &["source"],
        )
        .expect("valid metric");
        let _ = registry.register(Box::new(login_failures.clone()));
        let _ = registry.register(Box::new(up.clone()));
        let _ = registry.register(Box::new(reconnects.clone()));
        let _ = registry.register(Box::new(calls.clone()));
        Metrics { up, reconnects, calls, login_failures }
    }
}

/// Every configured source's health.
#[derive(Default)]
pub struct Sources {
    pub health: Vec<Arc<Health>>,
    /// The sources pushed to `POST /api/v1/sources/<name>`.
    pub push: Vec<Arc<push::Push>>,
    /// `floorwatch_source_requests_total`, registered at start-up.
    requests: Option<IntCounterVec>,
}

impl Sources {
    /// Starts one task per source on `tracker`; each stops on `shutdown`.
    pub fn start(
        settings: &[SourceSettings],
        applier: Arc<Applier>,
        registry: &Registry,
        shutdown: CancellationToken,
        tracker: &TaskTracker,
    ) -> Sources {
        // Registered whatever is configured: a POST to a source name nobody configured is
        // counted too.
        let requests = IntCounterVec::new(
            Opts::new(
                "floorwatch_source_requests_total",
                "Requests to POST /api/v1/sources/<name> by outcome (accepted, ignored, unauthorized, bad_request, too_large, unsupported, not_durable, unknown_source).",
            ),
            &["source", "outcome"],
        )
        .expect("valid metric");
        let _ = registry.register(Box::new(requests.clone()));
        if settings.is_empty() {
            return Sources { requests: Some(requests), ..Sources::default() };
        }
        let metrics = Metrics::new(registry);
        let mut pushed = Vec::new();
        let mut health = Vec::new();
        for (s, source) in settings.iter().zip(intern(settings)) {
            let h = Arc::new(Health {
                name: s.name.clone(),
                kind: s.kind.as_str(),
                up: AtomicBool::new(false),
                metrics: metrics.clone(),
            });
            h.set_up(false);
            metrics.reconnects.with_label_values(&[&s.name]).inc_by(0);
            metrics.login_failures.with_label_values(&[&s.name]).inc_by(0);
            match &s.kind {
                SourceKind::Asterisk(a) => {
                    use tracing::Instrument;
                    let span = tracing::info_span!("source", name = %s.name, kind = "asterisk", addr = %a.addr);
                    let conn = client::Asterisk::new(a.clone(), source, applier.clone(), h.clone()).connection();
                    tracker.spawn(session::run(conn, h.clone(), shutdown.clone()).instrument(span));
                }
                SourceKind::Freeswitch(f) => {
                    use tracing::Instrument;
                    let span = tracing::info_span!("source", name = %s.name, kind = "freeswitch", addr = %f.addr);
                    let conn = esl_client::Freeswitch::new(f.clone(), source, applier.clone(), h.clone()).connection();
                    tracker.spawn(session::run(conn, h.clone(), shutdown.clone()).instrument(span));
                }
                SourceKind::Connect(_) | SourceKind::Twilio(_) => {
                    if let Some(p) = push::Push::new(s, source, h.clone(), requests.clone()) {
                        let p = Arc::new(p);
                        tracker.spawn(p.clone().watch(shutdown.clone()));
                        pushed.push(p);
                    }
                }
                SourceKind::Genesys(g) => {
                    use tracing::Instrument;
                    let span = tracing::info_span!("source", name = %s.name, kind = "genesys", api = %g.api_base);
                    let run = genesys::Genesys::new(g.clone(), source, applier.clone(), h.clone());
                    tracker.spawn(run.run(shutdown.clone()).instrument(span));
                }
            }
            health.push(h);
        }
        Sources { health, push: pushed, requests: Some(requests) }
    }

    /// The pushed source called `name`; `None` (counted) when there is none.
    pub fn pushed(&self, name: &str) -> Option<&Arc<push::Push>> {
        let found = self.push.iter().find(|p| p.name == name);
        if found.is_none()
            && let Some(r) = &self.requests
        {
            r.with_label_values(&["unknown", "unknown_source"]).inc();
        }
        found
    }

    /// The names of the sources not connected now (the wallboard warns).
    pub fn down(&self) -> Vec<String> {
        self.health.iter().filter(|h| !h.is_up()).map(|h| h.name.clone()).collect()
    }

    /// `/readyz` detail: one line per source, `source <name> (<kind>): up|down`.
    pub fn detail(&self) -> String {
        self.health
            .iter()
            .map(|h| format!("\nsource {} ({}): {}", h.name, h.kind, if h.is_up() { "up" } else { "down" }))
            .collect()
    }
}
