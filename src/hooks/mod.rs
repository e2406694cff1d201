//! Alert hooks (docs/alerts.md#hooks; `[[hooks]]` in config/floorwatch.toml): every fire and resolve goes to the
//! configured webhooks, chat robots and Alertmanagers.
//!
//! Data flow: the core (in a cluster, the replica holding the hooks' lease) calls
//! [`Hooks::notify_all`] with an engine step's notifications, which filters each alert per
//! hook and pushes it on that hook's bounded queue (never waiting). One task per hook
//! (`worker.rs`) paces the queue to the destination's rate, builds one message from as
//! many alerts as fit (`payload.rs`, text from `render.rs`), signs it (`sign.rs`) and sends
//! it with bounded, jittered retries.
//!
//! - **Backpressure:** a full queue drops its oldest alert (counted as `dropped`), so a
//!   dead destination costs at most `queue_capacity` alerts of memory and never slows ingest.
//!   A dropped firing silences its resolve and retraction (`queue.rs`), and so does a
//!   firing given up, except to Alertmanager, which gets it with the next keep-alive
//!   (`worker.rs`).
//! - **Duplicates:** each (alert id, state) is queued at most once per hook; a delivered
//!   message is never sent again. A retry re-sends the same content (Standard Webhooks
//!   receivers can de-duplicate by `webhook-id`). A correction that takes back a resolve
//!   not yet sent, the same fire firing on, drops the resolve and sends nothing
//!   ([`Hooks::notify_all`]).
//! - **Secrets:** the signing secret and the URL (a credential for most robots) appear in
//!   no log line and no `Debug` output; logs show `scheme://host[:port]` only.
//! - **Shutdown:** [`Hooks::shutdown`] stops accepting, lets each task drain its queue
//!   until the grace period ends, then stops them and counts what is left as `dropped`.
//!   Dropping the last `Hooks` handle without `shutdown` stops the tasks at once.

mod config;
mod limit;
mod metrics;
mod payload;
mod queue;
mod render;
mod secret;
mod sign;
mod worker;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument as _;

pub use config::HookConfig;
pub(crate) use limit::CountingWarn;
pub use secret::{HookUrl, Secret};

use crate::alert::{Alert, AlertState};
use config::HookSpec;
use limit::{RateWindow, SharedRate};
use queue::Queue;

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// A bad `[[hooks]]` entry; `key` is like `hooks[2].url`.
    #[error("{key}: {msg}")]
    Config { key: String, msg: String },
    #[error("hooks: registering metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("hooks: building the HTTP client: {0}")]
    Client(String),
    #[error("hooks: start must be called inside a tokio runtime")]
    NoRuntime,
}

/// Handle to the running hooks. Cheap to clone; all clones feed the same queues.
#[derive(Clone)]
pub struct Hooks {
    inner: Arc<Inner>,
}

struct Inner {
    hooks: Vec<Hook>,
    /// Cleared by `shutdown`; `notify` then queues nothing.
    accepting: AtomicBool,
    /// Cancelled by `shutdown`: tasks deliver what is queued, then end.
    draining: CancellationToken,
    /// Cancelled when the grace period is over, or when the last handle is dropped.
    stop: CancellationToken,
    tasks: TaskTracker,
}

struct Hook {
    spec: Arc<HookSpec>,
    queue: Arc<Queue>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Reads the `[[hooks]]` entries of a configuration (TOML tables: `config` leaves them to
/// this module); every error names its entry, e.g. `hooks[1]: unknown field `urll``.
pub fn parse(tables: &[toml::Table]) -> Result<Vec<HookConfig>, Vec<HookError>> {
    let mut out = Vec::with_capacity(tables.len());
    let mut errs = Vec::new();
    for (i, t) in tables.iter().enumerate() {
        match toml::Value::Table(t.clone()).try_into::<HookConfig>() {
            Ok(h) => out.push(h),
            Err(e) => errs.push(HookError::Config { key: format!("hooks[{i}]"), msg: e.message().to_string() }),
        }
    }
    if errs.is_empty() { Ok(out) } else { Err(errs) }
}

impl Hooks {
    /// Validates every hook (errors name the key, e.g. `hooks[2].url: ...`) and resolves
    /// secrets (`secret_file` relative to `base_dir`) without starting anything: for
    /// checking a config before ports are bound.
    pub fn validate(hooks: &[HookConfig], base_dir: &Path) -> Result<(), HookError> {
        config::resolve_all(hooks, base_dir).map(|_| ())
    }

    /// Validates every hook, resolves secrets (secret | secret_env | secret_file, file
    /// paths relative to `base_dir`), registers the delivery metrics in `registry`, and
    /// spawns one delivery task per hook. Must be called inside a tokio runtime.
    pub fn start(hooks: &[HookConfig], base_dir: &Path, registry: &prometheus::Registry) -> Result<Hooks, HookError> {
        let specs = config::resolve_all(hooks, base_dir)?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(HookError::NoRuntime);
        }
        let metrics = metrics::Metrics::register(registry)?;
        let client = reqwest::Client::builder()
            .user_agent(concat!("floorwatch/", env!("CARGO_PKG_VERSION")))
            // A hook posts to exactly the configured URL; a redirect is a misconfiguration
            // (and following one would hand the signed payload to another host).
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| HookError::Client(e.without_url().to_string()))?;

        // The platform limits the destination, so hooks sharing a URL share one window.
        let mut rates: HashMap<String, SharedRate> = HashMap::new();
        for s in specs.iter().filter(|s| s.rate_per_minute > 0) {
            rates
                .entry(s.url.as_str().to_owned())
                .and_modify(|r| r.lock().expect("rate window lock").restrict(s.rate_per_minute))
                .or_insert_with(|| Arc::new(Mutex::new(RateWindow::new(s.rate_per_minute))));
        }

        let draining = CancellationToken::new();
        let stop = CancellationToken::new();
        let tasks = TaskTracker::new();
        let mut running = Vec::with_capacity(specs.len());
        for spec in specs {
            let m = metrics.for_hook(&spec);
            let queue = Arc::new(
                Queue::new(spec.name.clone(), spec.queue_capacity, m.clone()).reposting(spec.resend_interval.is_some()),
            );
            let rate = (spec.rate_per_minute > 0).then(|| rates[spec.url.as_str()].clone());
            let span = tracing::info_span!(
                "hook",
                hook = %spec.name,
                kind = spec.kind.as_str(),
                destination = %spec.destination,
            );
            let spec = Arc::new(spec);
            let worker = worker::Worker::new(
                spec.clone(),
                queue.clone(),
                m,
                client.clone(),
                rate,
                draining.clone(),
                stop.clone(),
            );
            tasks.spawn(worker.run().instrument(span));
            tracing::info!(
                hook = %spec.name, kind = spec.kind.as_str(), destination = %spec.destination,
                "alert hook started"
            );
            running.push(Hook { spec, queue });
        }
        Ok(Hooks { inner: Arc::new(Inner { hooks: running, accepting: AtomicBool::new(true), draining, stop, tasks }) })
    }

    /// Non-blocking: filters and enqueues for every matching hook. De-duplicated by
    /// (alert id, state) per hook.
    pub fn notify(&self, alert: &Alert) {
        if !self.accepting(alert) {
            return;
        }
        // One copy shared by every hook that wants it.
        let mut shared = None;
        for h in &self.inner.hooks {
            if h.spec.filter.matches(alert) {
                let a = shared.get_or_insert_with(|| Arc::new(alert.clone()));
                h.queue.push(a);
            }
        }
    }

    /// [`Hooks::notify`] for notifications told together, in order (an engine step's, a
    /// cluster round's). A resolve retracted and then the same fire firing again, as
    /// `Engine::correct` tells an alert that late events show never resolved there, is
    /// one change to a hook ([`Queue::unresolve`]): seen one at a time, the retraction
    /// would make a hook that had sent the firing, but not yet the resolve, send the
    /// firing again.
    pub fn notify_all<'a>(&self, alerts: impl IntoIterator<Item = &'a Alert>) {
        let mut alerts = alerts.into_iter().peekable();
        while let Some(a) = alerts.next() {
            match alerts.next_if(|next| unresolves(a, next)) {
                Some(firing) => self.unresolve(a, firing),
                None => self.notify(a),
            }
        }
    }

    /// A resolve retracted (`retraction`), the alert firing on as it fired (`firing`).
    fn unresolve(&self, retraction: &Alert, firing: &Alert) {
        if !self.accepting(retraction) {
            return;
        }
        let (mut r, mut f) = (None, None);
        for h in &self.inner.hooks {
            // Both have the kind, team and severity filters look at. A hook that leaves out
            // resolves had neither the resolve nor its retraction: the firing is a repeat.
            if h.spec.filter.sends_resolves() && h.spec.filter.matches(retraction) {
                let r = r.get_or_insert_with(|| Arc::new(retraction.clone()));
                let f = f.get_or_insert_with(|| Arc::new(firing.clone()));
                h.queue.unresolve(r, f);
            } else if h.spec.filter.matches(firing) {
                h.queue.push(f.get_or_insert_with(|| Arc::new(firing.clone())));
            }
        }
    }

    /// False (and nothing is queued) once `shutdown` began.
    fn accepting(&self, alert: &Alert) -> bool {
        let open = self.inner.accepting.load(Ordering::Acquire);
        if !open {
            tracing::debug!(id = %alert.id, "hooks are shutting down; alert not queued");
        }
        open
    }

    /// Every hook's queue is empty and nothing is in flight.
    pub fn idle(&self) -> bool {
        self.inner.hooks.iter().all(|h| h.queue.idle())
    }

    /// Stops accepting, tries to flush queued deliveries until `grace` elapses, then
    /// returns. Alerts still undelivered then are counted as `dropped`.
    pub async fn shutdown(self, grace: Duration) {
        let inner = &self.inner;
        inner.accepting.store(false, Ordering::Release);
        let queued: usize = inner.hooks.iter().map(|h| h.queue.len()).sum();
        if queued > 0 {
            tracing::info!(queued, "delivering the alerts queued for hooks, for at most {} s", grace.as_secs());
        }
        inner.draining.cancel();
        inner.tasks.close();
        if tokio::time::timeout(grace, inner.tasks.wait()).await.is_err() {
            inner.stop.cancel();
            // Every await in a task is cut short by `stop`, so this is quick.
            inner.tasks.wait().await;
        }
    }
}

/// Whether `retraction` and the notification after it, `next`, un-resolve an alert: a
/// resolve taken back, and the very fire it resolved firing on.
fn unresolves(retraction: &Alert, next: &Alert) -> bool {
    retraction.retracted
        && retraction.state == AlertState::Resolved
        && next.is_firing()
        && !next.retracted
        && retraction.same_fire(next)
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct One<'a>(&'a Hook);
        impl fmt::Debug for One<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let s = &self.0.spec;
                f.debug_struct("Hook")
                    .field("name", &s.name)
                    .field("kind", &s.kind.as_str())
                    .field("destination", &s.destination)
                    .field("signed", &s.key.is_some())
                    .field("rate_per_minute", &s.rate_per_minute)
                    .field("queued", &self.0.queue.len())
                    .finish()
            }
        }
        f.debug_struct("Hooks")
            .field("hooks", &self.inner.hooks.iter().map(One).collect::<Vec<_>>())
            .field("accepting", &self.inner.accepting.load(Ordering::Relaxed))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::AlertKind;
    use crate::time::Ms;

    /// Hooks with their queues and no delivery task: a test pops what a worker would send.
    fn without_workers(configs: &[HookConfig]) -> Hooks {
        let specs = config::resolve_all(configs, Path::new(".")).unwrap();
        let m = metrics::Metrics::register(&prometheus::Registry::new()).unwrap();
        let hooks = specs
            .into_iter()
            .map(|spec| {
                let queue = Arc::new(Queue::new(spec.name.clone(), spec.queue_capacity, m.for_hook(&spec)));
                Hook { spec: Arc::new(spec), queue }
            })
            .collect();
        let inner = Inner {
            hooks,
            accepting: AtomicBool::new(true),
            draining: CancellationToken::new(),
            stop: CancellationToken::new(),
            tasks: TaskTracker::new(),
        };
        Hooks { inner: Arc::new(inner) }
    }

    fn webhook(send_resolved: Option<bool>) -> HookConfig {
        HookConfig { kind: "webhook".into(), url: "http://127.0.0.1:1/".into(), send_resolved, ..Default::default() }
    }

    /// A long_aux alert of A1 that fired at 600 000.
    fn fired() -> Alert {
        Alert {
            id: Alert::make_id(AlertKind::LongAux, "T1", Some("A1"), 0),
            kind: AlertKind::LongAux,
            team: "T1".into(),
            queue: None,
            agent: Some("A1".into()),
            severity: AlertKind::LongAux.severity(),
            state: AlertState::Firing,
            started_at: 0,
            fired_at: 600_000,
            resolved_at: None,
            value: 600.0,
            threshold: 600.0,
            message: "A1 in aux".into(),
            agents: vec!["A1".into()],
            interval: None,
            retracted: false,
        }
    }

    fn resolved(a: &Alert, at: Ms) -> Alert {
        Alert { state: AlertState::Resolved, resolved_at: Some(at), ..a.clone() }
    }

    fn retracted(a: &Alert) -> Alert {
        Alert { retracted: true, ..a.clone() }
    }

    #[test]
    fn an_unresolve_is_a_resolve_retracted_then_the_same_fire() {
        let f = fired();
        let r = resolved(&f, 900_000);
        // What it measured at the fire moved (a late event, a roster correction): the
        // same fire.
        let remeasured = Alert { value: 660.0, agents: vec!["A1".into(), "A9".into()], ..f.clone() };
        let moved = Alert { fired_at: f.fired_at + 60_000, ..f.clone() };
        let other = Alert { id: "long_aux:T1:A2:0".into(), ..f.clone() };
        let cases = [
            (&retracted(&r), &f, true),
            (&retracted(&r), &remeasured, true),
            (&retracted(&r), &moved, false),
            (&retracted(&r), &other, false),
            (&retracted(&r), &retracted(&f), false),
            (&retracted(&f), &f, false),
            (&r, &f, false),
        ];
        for (i, (a, b, want)) in cases.into_iter().enumerate() {
            assert_eq!(unresolves(a, b), want, "case {i}");
        }
    }

    /// One hook has sent `f`'s firing when an engine step tells `step`; what it sends
    /// next, as (state, retracted, resolved_at).
    fn check(hook: HookConfig, step: &[Alert], expected: &[(AlertState, bool, Option<Ms>)]) {
        let hooks = without_workers(&[hook]);
        let q = &hooks.inner.hooks[0].queue;
        hooks.notify(&fired());
        assert_eq!(q.pop(10).len(), 1);
        q.finished();
        hooks.notify_all(step);
        let got: Vec<_> = q.pop(10).iter().map(|a| (a.state, a.retracted, a.resolved_at)).collect();
        assert_eq!(got, expected, "{step:#?}");
    }

    /// The state lasting no time (docs/alerts.md#long_aux): the resolve at 900 000 taken
    /// back with the firing it resolved. The hook had not sent the resolve: nothing more.
    #[test]
    fn a_resolve_taken_back_before_it_was_sent_sends_nothing() {
        let (f, r) = (fired(), resolved(&fired(), 900_000));
        check(webhook(None), &[r.clone(), retracted(&r), f.clone()], &[]);
        // A hook without resolves never had them: the firing is a repeat.
        check(webhook(Some(false)), &[r.clone(), retracted(&r), f], &[]);
    }

    /// Late events change the fire itself: the hook that had sent the firing, not the
    /// resolve, takes it back as it told it (firing, no resolve time) and tells the
    /// corrected one.
    #[test]
    fn a_fire_corrected_after_it_was_sent_is_retracted() {
        let (f, r) = (fired(), resolved(&fired(), 900_000));
        let corrected = Alert { fired_at: f.fired_at + 60_000, ..f.clone() };
        check(
            webhook(None),
            &[r.clone(), retracted(&r), corrected],
            &[(AlertState::Firing, true, None), (AlertState::Firing, false, None)],
        );
    }

    /// Late events show the alert never happened after it fired and resolved: every hook
    /// that sent the firing takes it back, one without resolves too (it never had the
    /// resolve, but the chat still shows the firing), each as it told it.
    #[test]
    fn an_alert_that_never_was_is_retracted_by_hooks_without_resolves_too() {
        let (f, r) = (fired(), resolved(&fired(), 900_000));
        check(webhook(Some(false)), &[r.clone(), retracted(&r)], &[(AlertState::Firing, true, None)]);
        // The resolve still queued when the retraction came: never told either.
        check(webhook(None), &[r.clone(), retracted(&r)], &[(AlertState::Firing, true, None)]);
        // Corrected to another fire: the retraction, then the corrected firing.
        let corrected = Alert { fired_at: f.fired_at + 60_000, ..f.clone() };
        check(
            webhook(Some(false)),
            &[r.clone(), retracted(&r), corrected],
            &[(AlertState::Firing, true, None), (AlertState::Firing, false, None)],
        );
        // A hook that had sent the resolve too takes back the alert resolved.
        let hooks = without_workers(&[webhook(None)]);
        let q = &hooks.inner.hooks[0].queue;
        hooks.notify_all(&[f, r.clone()]);
        assert_eq!(q.pop(10).len(), 2);
        q.finished();
        hooks.notify_all(&[retracted(&r)]);
        let got: Vec<_> = q.pop(10).iter().map(|a| (a.state, a.retracted, a.resolved_at)).collect();
        assert_eq!(got, [(AlertState::Resolved, true, Some(900_000))]);
    }

    /// Late events move the resolve (`Engine::correct` tells the retraction, the firing and
    /// the new resolve): the hook that had not sent the old one sends the new one only.
    #[test]
    fn a_resolve_moved_before_it_was_sent_is_told_once() {
        let (f, r) = (fired(), resolved(&fired(), 900_000));
        let later = resolved(&f, 960_000);
        check(webhook(None), &[r.clone(), retracted(&r), f, later], &[(AlertState::Resolved, false, Some(960_000))]);
    }
}
