//! One hook's delivery task: waits for alerts, paces them to the destination's rate,
//! builds one message from as many as fit, and delivers it with bounded retries.
//!
//! Order is kept: a message is retried until it is delivered or given up before the next
//! one is built, so a resolve never overtakes its firing. While a message waits for the
//! rate window or a retry, new alerts queue behind it and go out together as one digest.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::RETRY_AFTER;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::config::{HookKind, HookSpec};
use super::limit::{self, CountingWarn, SharedRate, WarnLimiter};
use super::metrics::HookMetrics;
use super::payload::{self, HttpRequest, Message};
use super::queue::Queue;
use crate::alert::{Alert, AlertState};
use crate::time::Ms;

/// Firing alerts kept for Alertmanager keep-alives; beyond this the newest are not kept
/// alive (Alertmanager then times them out) and a warning says so.
const MAX_ACTIVE: usize = 10_000;
/// How much of a response body is read, for error codes and log lines.
const MAX_RESPONSE_BYTES: usize = 4096;

pub struct Worker {
    pub spec: Arc<HookSpec>,
    pub queue: Arc<Queue>,
    pub metrics: HookMetrics,
    pub client: reqwest::Client,
    /// `None` when the hook is unlimited.
    pub rate: Option<SharedRate>,
    /// Cancelled by `Hooks::shutdown`: deliver what is queued, then return.
    pub draining: CancellationToken,
    /// Cancelled when shutdown's grace is over or `Hooks` is dropped: return now.
    pub stop: CancellationToken,
    /// Alerts of the message being delivered (counted as dropped if `stop` cuts it off).
    inflight: usize,
    /// "Retrying" warnings: the first failure of a streak, at most one a minute.
    warn_retry: WarnLimiter,
    /// Alerts given up and other losses: at most one warning a minute, with a count.
    warn_loss: WarnLimiter,
    /// Alerts given up: at most one warning a minute, with how many since the last.
    warn_undelivered: CountingWarn,
    /// Some attempt failed since the last delivery (to log the recovery once).
    failing: bool,
    /// Alertmanager: firing alerts delivered (or not delivered for want of reaching it) and
    /// not yet resolved, by id.
    active: BTreeMap<String, Arc<Alert>>,
    next_refresh: Option<Instant>,
}

enum Attempt {
    Delivered,
    /// Network error, timeout, 408, 429, 5xx, or a robot's "too fast" code.
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// Anything else: sending it again would fail the same way.
    Refused(String),
}

/// Why a message was given up.
enum Lost {
    /// The destination refused it ([`Attempt::Refused`]).
    Refused,
    /// Every attempt failed to reach it (network, timeouts, 5xx, throttling).
    Unreached,
}

fn now_ms() -> Ms {
    jiff::Timestamp::now().as_millisecond()
}

async fn sleep_until_opt(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

impl Worker {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        spec: Arc<HookSpec>,
        queue: Arc<Queue>,
        metrics: HookMetrics,
        client: reqwest::Client,
        rate: Option<SharedRate>,
        draining: CancellationToken,
        stop: CancellationToken,
    ) -> Worker {
        Worker {
            spec,
            queue,
            metrics,
            client,
            rate,
            draining,
            stop,
            inflight: 0,
            warn_retry: WarnLimiter::new(Duration::from_secs(60)),
            warn_loss: WarnLimiter::new(Duration::from_secs(60)),
            warn_undelivered: CountingWarn::new(Duration::from_secs(60)),
            failing: false,
            active: BTreeMap::new(),
            next_refresh: None,
        }
    }

    pub async fn run(mut self) {
        let stop = self.stop.clone();
        tokio::select! {
            biased;
            _ = stop.cancelled() => {}
            _ = self.serve() => {}
        }
        let left = self.inflight + self.queue.clear();
        if left > 0 {
            self.metrics.dropped.inc_by(left as u64);
            tracing::warn!(
                alerts = left,
                "alert hook stopped with {left} alert(s) undelivered: discarded, they are not sent after a restart"
            );
        }
        tracing::debug!("alert hook task finished");
    }

    async fn serve(&mut self) {
        loop {
            while self.queue.is_empty() {
                if self.draining.is_cancelled() {
                    return;
                }
                let (queue, draining, next) = (self.queue.clone(), self.draining.clone(), self.next_refresh);
                let refresh = tokio::select! {
                    _ = queue.ready() => false,
                    _ = draining.cancelled() => false,
                    _ = sleep_until_opt(next) => true,
                };
                if refresh {
                    self.refresh().await;
                }
            }
            if self.next_refresh.is_some_and(|t| t <= Instant::now()) && !self.draining.is_cancelled() {
                self.refresh().await;
            }
            // Waiting here is what makes digests: alerts keep queuing until the budget allows.
            if let Some(rate) = &self.rate {
                limit::acquire(rate).await;
            }
            let mut batch = self.queue.pop(payload::max_batch(self.spec.kind));
            if batch.is_empty() {
                self.queue.finished();
                continue;
            }
            let msg = payload::build(&self.spec, &batch, now_ms());
            self.queue.unpop(batch.split_off(msg.alerts));
            self.inflight = batch.len();
            self.deliver(&msg, &batch).await;
            self.inflight = 0;
            self.queue.finished();
        }
    }

    async fn deliver(&mut self, msg: &Message, batch: &[Arc<Alert>]) {
        let n = batch.len() as u64;
        let mut attempt = 1;
        let result = loop {
            if attempt > 1
                && let Some(rate) = &self.rate
            {
                limit::acquire(rate).await;
            }
            let req = payload::finish(&self.spec, msg, now_ms());
            match self.send(req).await {
                Attempt::Delivered => break Ok(()),
                Attempt::Refused(reason) => break Err((reason, Lost::Refused)),
                Attempt::Retry { reason, after } => {
                    if attempt >= self.spec.max_attempts {
                        break Err((format!("{reason} (gave up after {attempt} attempts)"), Lost::Unreached));
                    }
                    self.metrics.retried.inc_by(n);
                    let wait = match after {
                        Some(d) => d.min(self.spec.retry_max),
                        None => limit::backoff(attempt, self.spec.retry_base, self.spec.retry_max),
                    };
                    tracing::debug!(attempt, alerts = n, ?wait, %reason, "alert hook attempt failed; will retry");
                    if !self.failing
                        && let Some(warnings_suppressed) = self.warn_retry.check()
                    {
                        tracing::warn!(warnings_suppressed, "alert hook failing: {reason}; retrying");
                    }
                    self.failing = true;
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        };
        let unreached = matches!(result, Err((_, Lost::Unreached)));
        let delivered = result.is_ok();
        match result {
            Ok(()) => {
                self.metrics.delivered.inc_by(n);
                tracing::debug!(alerts = n, attempts = attempt, first = %batch[0].id, "alert hook delivered");
                if self.failing {
                    self.failing = false;
                    tracing::info!("alert hook delivering again");
                }
            }
            Err((reason, _)) => {
                self.metrics.failed.inc_by(n);
                self.failing = true;
                // The count since the last warning, not this message's alone: one warning a
                // minute must not read "1 alert" when a hundred were lost meanwhile.
                if let Some((lost, warnings_suppressed)) = self.warn_undelivered.add(n) {
                    let waiting = self.queue.len();
                    tracing::warn!(
                        not_delivered = lost, waiting, warnings_suppressed, last = %batch[0].id,
                        "alert hook failing: {lost} alert(s) not delivered since the last warning, {waiting} waiting: {reason}"
                    );
                }
            }
        }
        if self.spec.kind == HookKind::Alertmanager {
            // An Alertmanager that could not be reached gets the firing alerts with the
            // next keep-alive, as Prometheus re-sends its own: an outage of a few minutes
            // loses none of them, and their resolves go out as usual.
            self.track_active(batch, delivered || unreached);
        } else if !delivered {
            // A chat never saw these: the resolve of a firing among them would read
            // "resolved" for an alert nobody was told of (docs/alerts.md, Delivery).
            self.queue.given_up(batch);
        }
    }

    /// One warning a minute at most per hook, whatever the number of failures.
    fn warn_loss(&mut self, what: &str) {
        if let Some(warnings_suppressed) = self.warn_loss.check() {
            tracing::warn!(warnings_suppressed, "alert hook failing: {what}");
        }
    }

    async fn send(&self, req: HttpRequest) -> Attempt {
        let mut rb = self.client.post(req.url).timeout(self.spec.timeout).body(req.body);
        for (k, v) in req.headers {
            rb = rb.header(k, v);
        }
        let mut resp = match rb.send().await {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Retry { reason: describe(e, self.spec.timeout), after: None };
            }
        };
        let status = resp.status();
        let after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| limit::parse_retry_after(v, SystemTime::now()));
        let robot_codes = matches!(self.spec.kind, HookKind::DingTalk | HookKind::WeCom | HookKind::Feishu);
        if status.is_success() && !robot_codes {
            return Attempt::Delivered;
        }
        let mut body = Vec::new();
        while body.len() < MAX_RESPONSE_BYTES {
            match resp.chunk().await {
                Ok(Some(c)) => body.extend_from_slice(&c),
                // A 2xx whose body broke off was still accepted: do not send it twice.
                Ok(None) | Err(_) => break,
            }
        }
        if status.is_success() {
            return match robot_error(&body) {
                None => Attempt::Delivered,
                Some((code, msg)) if throttled(self.spec.kind, code) => Attempt::Retry {
                    reason: format!("throttled by the platform (code {code}: {msg})"),
                    after: Some(Duration::from_secs(60)),
                },
                Some((code, msg)) => Attempt::Refused(format!("refused (code {code}: {msg})")),
            };
        }
        let reason = format!("HTTP {}: {}", status.as_u16(), snippet(&body));
        if status.as_u16() == 429 || status.as_u16() == 408 || status.is_server_error() {
            Attempt::Retry { reason, after }
        } else {
            Attempt::Refused(reason)
        }
    }

    /// Alertmanager keep-alives: remember the firing alerts of `batch` when `keep` (it was
    /// delivered, or could not reach Alertmanager), forget resolved ones.
    fn track_active(&mut self, batch: &[Arc<Alert>], keep: bool) {
        let Some(every) = self.spec.resend_interval else {
            return;
        };
        for a in batch {
            match a.state {
                // A retraction ends the keep-alive too: the alert never happened, and the
                // retraction itself (sent with `endsAt` now) must not be posted again.
                _ if a.retracted => {
                    self.active.remove(&a.id);
                }
                AlertState::Resolved => {
                    self.active.remove(&a.id);
                }
                AlertState::Firing if keep => self.keep_alive(a.clone()),
                AlertState::Firing => {}
            }
        }
        // A full queue drops while a message waits for Alertmanager: what it dropped goes
        // out with the next keep-alive.
        if (!self.active.is_empty() || self.queue.owes()) && self.next_refresh.is_none() {
            self.next_refresh = Some(Instant::now() + every);
        }
    }

    /// Keeps `a` alive from now on, if there is room.
    fn keep_alive(&mut self, a: Arc<Alert>) {
        if self.active.len() < MAX_ACTIVE || self.active.contains_key(&a.id) {
            self.active.insert(a.id.clone(), a);
        } else {
            self.warn_loss(&format!("more than {MAX_ACTIVE} firing alerts; {} will not be kept alive", a.id));
        }
    }

    /// Re-posts the firing alerts so Alertmanager keeps them active. One attempt: the next
    /// keep-alive comes well before their `endsAt`.
    async fn refresh(&mut self) {
        let Some(every) = self.spec.resend_interval else {
            self.next_refresh = None;
            return;
        };
        // What a full queue dropped: firings posted now for the first time, then kept alive;
        // resolves and retractions posted once, and those alerts no longer kept alive.
        let mut ends = Vec::new();
        for a in self.queue.take_owed() {
            if a.is_firing() && !a.retracted {
                self.keep_alive(a);
            } else {
                self.active.remove(&a.id);
                ends.push(a);
            }
        }
        if self.active.is_empty() && ends.is_empty() {
            self.next_refresh = None;
            return;
        }
        self.next_refresh = (!self.active.is_empty()).then(|| Instant::now() + every);
        // Alerts whose figures were corrected since they were posted: re-posted as they now
        // read (the queue sends no alert twice; a resolved one is no longer active).
        for u in self.queue.take_updates() {
            if let Some(a) = self.active.get_mut(&u.id) {
                *a = u;
            }
        }
        let alerts: Vec<Arc<Alert>> = self.active.values().cloned().chain(ends).collect();
        for chunk in alerts.chunks(payload::max_batch(HookKind::Alertmanager)) {
            if let Some(rate) = &self.rate {
                limit::acquire(rate).await;
            }
            let refs: Vec<&Alert> = chunk.iter().map(|a| &**a).collect();
            let req = payload::alertmanager_refresh(&self.spec, &refs, now_ms());
            match self.send(req).await {
                Attempt::Delivered => {
                    tracing::debug!(alerts = chunk.len(), "alertmanager keep-alive sent")
                }
                Attempt::Retry { reason, .. } | Attempt::Refused(reason) => {
                    self.warn_loss(&format!("keep-alive of {} firing alert(s): {reason}", chunk.len()));
                }
            }
        }
    }
}

/// A reqwest error without its URL (which may hold a token or a signature), with causes.
fn describe(e: reqwest::Error, timeout: Duration) -> String {
    let e = e.without_url();
    if e.is_timeout() {
        return format!("no response within {} ms", timeout.as_millis());
    }
    let mut s = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(cause) = src {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        src = cause.source();
    }
    s
}

/// A robot's application-level error, from a 200 response: DingTalk and WeCom answer
/// `{"errcode":..,"errmsg":..}`, Feishu `{"code":..,"msg":..}` (older bots `StatusCode`).
fn robot_error(body: &[u8]) -> Option<(i64, String)> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let code = ["errcode", "code", "StatusCode"].iter().find_map(|k| v.get(*k)?.as_i64())?;
    if code == 0 {
        return None;
    }
    let msg = ["errmsg", "msg", "StatusMessage"].iter().find_map(|k| v.get(*k)?.as_str()).unwrap_or("");
    Some((code, snippet(msg.as_bytes())))
}

/// Rate-limit codes: DingTalk 130101 "send too fast" and 410100, WeCom 45009 "api freq
/// out of limit", Feishu 11232 "frequency limited".
fn throttled(kind: HookKind, code: i64) -> bool {
    matches!((kind, code), (HookKind::DingTalk, 130101 | 410100) | (HookKind::WeCom, 45009) | (HookKind::Feishu, 11232))
}

/// The start of a response body, on one line, for a log message.
fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let one_line: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).take(200).collect();
    one_line.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robot_errors_and_throttling() {
        let check = |body: &str, want: Option<(i64, &str)>| {
            assert_eq!(robot_error(body.as_bytes()), want.map(|(c, m)| (c, m.to_owned())), "{body}");
        };
        check(r#"{"errcode":0,"errmsg":"ok"}"#, None);
        check(r#"{"code":0,"msg":"success","data":{}}"#, None);
        check(r#"{"StatusCode":0,"StatusMessage":"success"}"#, None);
        check("ok", None);
        check("", None);
        check(r#"{"errcode":310000,"errmsg":"sign not match"}"#, Some((310000, "sign not match")));
        check(r#"{"code":19021,"msg":"sign match fail"}"#, Some((19021, "sign match fail")));
        assert!(throttled(HookKind::DingTalk, 130101));
        assert!(throttled(HookKind::WeCom, 45009));
        assert!(!throttled(HookKind::WeCom, 130101));
    }

    #[test]
    fn snippets_are_one_short_line() {
        assert_eq!(snippet(b"  bad\nrequest\r\n"), "bad request");
        assert_eq!(snippet(&[b'x'; 500]).len(), 200);
    }
}
