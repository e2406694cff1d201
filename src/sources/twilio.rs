//! Twilio TaskRouter event callbacks (SPEC §7, `kind = "twilio"`): the signature check and
//! the pure mapping from one callback's parameters to native agent and call events.
//!
//! Workers (agent = `WorkerSid`, stable where names change; name = `full_name` of
//! `WorkerAttributes` as Flex sets it, else `WorkerName`; team = the `team_attribute` key
//! of `WorkerAttributes`, default `team_name`, as Flex sets it):
//! - talking ← from `reservation.accepted` while any task the worker accepted is not in
//!   wrap-up; acw ← `reservation.wrapup` / `task.wrapup` until `reservation.completed` /
//!   `task.completed` (or the task is canceled); then back to the worker's activity.
//!   Several tasks at once (multitasking): talking while any is, acw while none is and
//!   any wraps up.
//! - otherwise the activity (`WorkerActivityName`, carried by `worker.activity.update` and
//!   every reservation event): the `offline_activity` → offline, one of
//!   `available_activities` → idle, any other → aux (reason = the activity's name). A
//!   worker whose activity is not known yet is not emitted.
//! - ringing (`reservation.created`, `.rejected`, `.timeout`, `.canceled`, `.rescinded`)
//!   changes no state.
//! - a callback that changes neither the worker's state, reason, name nor team emits
//!   nothing (TaskRouter reports the same worker in many events of one task).
//!
//! Calls (every task is a contact offered to its queue, whatever its channel): queued ←
//! `task-queue.entered` (or `task.created` carrying `TaskQueueName`; entering another
//! queue first ends the wait in the old one as `left`); answered ← `reservation.accepted`;
//! abandoned ← `task.canceled` whose `TaskCanceledReason` is absent or says hangup; left ←
//! any other `task.canceled`, `task-queue.timeout`, `task.deleted`, or `task.completed`
//! while waiting.
//!
//! ts = `TimestampMs`, else `Timestamp` (epoch seconds, or RFC 3339), else receipt.
//!
//! Bounded: at most [`MAX_WORKERS`] workers, [`MAX_TASKS`] tasks held by workers and
//! [`MAX_TASKS`] waiting calls; past a bound a callback is refused (`invalid`, `unmapped`).

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value};
use sha1::Sha1;

use super::config::TwilioSettings;
use crate::event::{Aliases, DecodeError, Input, Refusal, decode_str, prefix};
use crate::time::{Ms, parse_rfc3339};

pub const MAX_WORKERS: usize = 100_000;
pub const MAX_TASKS: usize = 200_000;
const MAX_ID_BYTES: usize = 64;

/// Whether `signature` (the `X-Twilio-Signature` header) is Twilio's for a POST of `params`
/// to `url`: base64 of HMAC-SHA1, keyed with the auth token, over the URL followed by every
/// parameter's name and value, sorted by name. Compared in constant time.
pub fn signature_ok(auth_token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else { return false };
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(url.as_bytes());
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    mac.verify_slice(&sig).is_ok()
}

/// The signature Twilio would send (tests, and the docs' example).
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(url.as_bytes());
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The URL Twilio signed: the configured `public_url`, plus the request's query string when
/// the configured URL has none (a proxy keeps the query but may rewrite scheme, host, path).
pub fn signed_url(public_url: &str, query: &str) -> String {
    if query.is_empty() || public_url.contains('?') { public_url.to_string() } else { format!("{public_url}?{query}") }
}

/// `url` with its scheme's default port written out if it had none, or left out if it
/// had it (`https://h/p` <-> `https://h:443/p`): Twilio has signed with either form, and
/// its own validators accept both. `None` for another port or scheme.
pub fn port_variant(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let default = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    // `[::1]` has colons but no port; `[::1]:443` and `host:443` have one.
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !authority.ends_with(']') => (h, Some(p)),
        _ => (authority, None),
    };
    match port {
        None => Some(format!("{scheme}://{host}:{default}{tail}")),
        Some(p) if p == default => Some(format!("{scheme}://{host}{tail}")),
        Some(_) => None,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Talking,
    Wrapup,
}

#[derive(Debug, Default)]
struct Worker {
    activity: Option<String>,
    /// Tasks the worker accepted and has not completed.
    tasks: BTreeMap<String, Phase>,
    /// What was last emitted.
    emitted: Option<Emitted>,
    name: Option<String>,
    team: Option<String>,
}

/// A worker's state, reason, name and team as last emitted.
type Emitted = (&'static str, Option<String>, Option<String>, Option<String>);

/// Callbacks in, native events out (see the module's doc). One per source.
#[derive(Debug)]
pub struct Mapper {
    available: Vec<String>,
    offline: String,
    team_attribute: String,
    workers: HashMap<String, Worker>,
    /// Task → the worker holding it.
    tasks: HashMap<String, String>,
    /// Waiting calls: task → queue.
    waiting: HashMap<String, String>,
    aliases: Aliases,
}

/// What one callback gave: the native events, or nothing to do.
pub type Mapped = Vec<Result<Input, DecodeError>>;

fn get<'a>(p: &'a [(String, String)], key: &str) -> Option<&'a str> {
    p.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

/// The callback as text, for refusals: `EventType=...&ResourceSid=...`.
fn describe(p: &[(String, String)]) -> String {
    let mut s = String::new();
    for key in ["EventType", "ResourceSid", "WorkerSid", "TaskSid", "TimestampMs"] {
        if let Some(v) = get(p, key) {
            if !s.is_empty() {
                s.push('&');
            }
            s.push_str(&format!("{key}={}", prefix(v, 64)));
        }
    }
    s
}

/// `TimestampMs`, else `Timestamp` (epoch seconds or RFC 3339); `Ok(None)` when neither is
/// sent.
fn timestamp(p: &[(String, String)]) -> Result<Option<Ms>, DecodeError> {
    let bad = |k: &str, v: &str| {
        DecodeError::new(Refusal::BadTs, format!("{k} {:?} is not a time", prefix(v, 32)), &describe(p))
    };
    if let Some(v) = get(p, "TimestampMs") {
        return v.trim().parse::<Ms>().ok().filter(|ms| *ms > 0).map(Some).ok_or_else(|| bad("TimestampMs", v));
    }
    if let Some(v) = get(p, "Timestamp") {
        if let Ok(secs) = v.trim().parse::<Ms>() {
            return secs.checked_mul(1000).filter(|ms| *ms > 0).map(Some).ok_or_else(|| bad("Timestamp", v));
        }
        return parse_rfc3339(v.trim()).map(Some).ok_or_else(|| bad("Timestamp", v));
    }
    Ok(None)
}

impl Mapper {
    pub fn new(s: &TwilioSettings) -> Mapper {
        Mapper {
            available: s.available_activities.clone(),
            offline: s.offline_activity.clone(),
            team_attribute: s.team_attribute.clone(),
            workers: HashMap::new(),
            tasks: HashMap::new(),
            waiting: HashMap::new(),
            aliases: Aliases::new(Default::default()),
        }
    }

    /// Maps one callback (its form parameters). `Ok(empty)`: an event this mapping does not
    /// follow, or one that changes nothing.
    pub fn callback(&mut self, p: &[(String, String)]) -> Result<Mapped, DecodeError> {
        let text = describe(p);
        let Some(kind) = get(p, "EventType") else {
            return Err(DecodeError::new(Refusal::MissingField, "EventType is missing", &text));
        };
        let ts = timestamp(p)?;
        let mut out = Mapped::new();
        let task = get(p, "TaskSid");
        match kind {
            "worker.activity.update" | "worker.created" | "worker.attributes.update" => {
                let w = self.worker(p, &text)?;
                self.emit(&w, ts, &mut out);
            }
            "reservation.accepted" => {
                let task = need(task, "TaskSid", &text)?;
                let w = self.worker(p, &text)?;
                if let Some(queue) = self.waiting.remove(task) {
                    self.call(ts, task, Some(&queue), "answered", Some(&w), &mut out);
                }
                self.hold(&w, task, Phase::Talking, &text)?;
                self.emit(&w, ts, &mut out);
            }
            "reservation.wrapup" | "task.wrapup" => {
                let task = need(task, "TaskSid", &text)?;
                if let Some(w) = self.tasks.get(task).cloned() {
                    self.refresh(&w, p);
                    self.hold(&w, task, Phase::Wrapup, &text)?;
                    self.emit(&w, ts, &mut out);
                }
            }
            "reservation.completed"
            | "task.completed"
            | "task.canceled"
            | "task.deleted"
            | "reservation.canceled"
            | "reservation.rescinded"
            | "reservation.timeout"
            | "reservation.rejected" => {
                if kind.starts_with("task.")
                    && let Some(t) = task
                    && let Some(queue) = self.waiting.remove(t)
                {
                    let hangup = get(p, "TaskCanceledReason").is_none_or(|r| r.to_ascii_lowercase().contains("hangup"));
                    let ended = if kind == "task.canceled" && hangup { "abandoned" } else { "left" };
                    self.call(ts, t, Some(&queue), ended, None, &mut out);
                }
                // Ringing that ends changes nothing; a held task that ends frees the worker.
                // A reservation event of another worker (one of several reserved for the
                // task, rescinded when this one accepted) leaves the holder alone.
                let holder = task.and_then(|t| self.tasks.get(t)).cloned();
                let others = kind.starts_with("reservation.")
                    && get(p, "WorkerSid").is_some_and(|s| Some(s) != holder.as_deref());
                if let Some(t) = task
                    && !others
                    && let Some(w) = self.tasks.remove(t)
                {
                    if let Some(worker) = self.workers.get_mut(&w) {
                        worker.tasks.remove(t);
                    }
                    self.refresh(&w, p);
                    self.emit(&w, ts, &mut out);
                }
            }
            "task-queue.entered" | "task.created" => {
                let (Some(t), Some(queue)) = (task, get(p, "TaskQueueName")) else {
                    if kind == "task.created" {
                        return Ok(out);
                    }
                    return Err(DecodeError::new(Refusal::MissingField, "TaskSid or TaskQueueName is missing", &text));
                };
                match self.waiting.get(t) {
                    Some(q) if q == queue => {}
                    Some(q) => {
                        let old = q.clone();
                        self.call(ts, t, Some(&old), "left", None, &mut out);
                        self.call(ts, t, Some(queue), "queued", None, &mut out);
                        self.waiting.insert(t.to_string(), queue.to_string());
                    }
                    None => {
                        if self.waiting.len() >= MAX_TASKS {
                            return Err(DecodeError::new(Refusal::Unmapped, "too many waiting tasks tracked", &text));
                        }
                        self.call(ts, t, Some(queue), "queued", None, &mut out);
                        self.waiting.insert(t.to_string(), queue.to_string());
                    }
                }
            }
            "task-queue.timeout" => {
                if let Some(t) = task
                    && let Some(queue) = self.waiting.remove(t)
                {
                    self.call(ts, t, Some(&queue), "left", None, &mut out);
                }
            }
            _ => {}
        }
        Ok(out)
    }

    /// The callback's worker, created or updated from its Worker fields.
    fn worker(&mut self, p: &[(String, String)], text: &str) -> Result<String, DecodeError> {
        let sid = need(get(p, "WorkerSid"), "WorkerSid", text)?;
        if sid.len() > MAX_ID_BYTES {
            return Err(DecodeError::new(Refusal::BadType, "WorkerSid is over 64 bytes", text));
        }
        if !self.workers.contains_key(sid) && self.workers.len() >= MAX_WORKERS {
            return Err(DecodeError::new(Refusal::Unmapped, "too many workers tracked", text));
        }
        self.workers.entry(sid.to_string()).or_default();
        self.refresh(sid, p);
        Ok(sid.to_string())
    }

    /// Takes the activity, name and team a callback carries for worker `sid`.
    fn refresh(&mut self, sid: &str, p: &[(String, String)]) {
        let team_attribute = &self.team_attribute;
        let Some(w) = self.workers.get_mut(sid) else { return };
        if get(p, "WorkerSid").is_some_and(|s| s != sid) {
            return;
        }
        if let Some(a) = get(p, "WorkerActivityName") {
            w.activity = Some(a.to_string());
        }
        if let Some(n) = get(p, "WorkerName")
            && w.name.is_none()
        {
            w.name = Some(n.to_string());
        }
        if let Some(attrs) = get(p, "WorkerAttributes")
            && let Ok(Value::Object(attrs)) = serde_json::from_str::<Value>(attrs)
        {
            let text = |k: &str| attrs.get(k).and_then(Value::as_str).filter(|v| !v.is_empty()).map(String::from);
            if let Some(team) = text(team_attribute) {
                w.team = Some(team);
            }
            // Flex keeps the person's name in `full_name`; WorkerName is often a login.
            if let Some(name) = text("full_name") {
                w.name = Some(name);
            }
        }
    }

    fn hold(&mut self, w: &str, task: &str, phase: Phase, text: &str) -> Result<(), DecodeError> {
        if !self.tasks.contains_key(task) && self.tasks.len() >= MAX_TASKS {
            return Err(DecodeError::new(Refusal::Unmapped, "too many tasks tracked", text));
        }
        // A task moves to another worker (a transfer): the first one lets go of it.
        if let Some(prev) = self.tasks.insert(task.to_string(), w.to_string())
            && prev != w
            && let Some(p) = self.workers.get_mut(&prev)
        {
            p.tasks.remove(task);
        }
        if let Some(worker) = self.workers.get_mut(w) {
            worker.tasks.insert(task.to_string(), phase);
        }
        Ok(())
    }

    /// Emits worker `w`'s state when it (or its name or team) changed.
    fn emit(&mut self, w: &str, ts: Option<Ms>, out: &mut Mapped) {
        let Some(worker) = self.workers.get_mut(w) else { return };
        let (state, reason): (&'static str, Option<String>) = if worker.tasks.values().any(|p| *p == Phase::Talking) {
            ("talking", None)
        } else if !worker.tasks.is_empty() {
            ("acw", None)
        } else {
            match &worker.activity {
                None => return,
                Some(a) if *a == self.offline => ("offline", None),
                Some(a) if self.available.contains(a) => ("idle", None),
                Some(a) => ("aux", Some(a.clone())),
            }
        };
        let now = (state, reason.clone(), worker.name.clone(), worker.team.clone());
        if worker.emitted.as_ref() == Some(&now) {
            return;
        }
        worker.emitted = Some(now);
        let mut m = Map::new();
        if let Some(ts) = ts {
            m.insert("ts".into(), ts.into());
        }
        m.insert("agent".into(), w.into());
        m.insert("state".into(), state.into());
        if let Some(r) = reason {
            m.insert("reason".into(), r.into());
        }
        if let Some(n) = &worker.name {
            m.insert("name".into(), n.as_str().into());
        }
        if let Some(t) = &worker.team {
            m.insert("team".into(), t.as_str().into());
        }
        out.push(decode_str(&Value::Object(m).to_string(), &self.aliases));
    }

    fn call(
        &self,
        ts: Option<Ms>,
        task: &str,
        queue: Option<&str>,
        event: &str,
        agent: Option<&str>,
        out: &mut Mapped,
    ) {
        let mut m = Map::new();
        if let Some(ts) = ts {
            m.insert("ts".into(), ts.into());
        }
        m.insert("call".into(), task.into());
        if let Some(q) = queue {
            m.insert("queue".into(), q.into());
        }
        m.insert("event".into(), event.into());
        if let Some(a) = agent {
            m.insert("agent".into(), a.into());
        }
        out.push(decode_str(&Value::Object(m).to_string(), &self.aliases));
    }
}

fn need<'a>(v: Option<&'a str>, key: &str, text: &str) -> Result<&'a str, DecodeError> {
    v.ok_or_else(|| DecodeError::new(Refusal::MissingField, format!("{key} is missing"), text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::CallKind;
    use crate::hooks::Secret;

    fn settings() -> TwilioSettings {
        TwilioSettings {
            auth_token: Secret::new("t"),
            public_url: "https://fw.example.com/api/v1/sources/twilio".into(),
            available_activities: vec!["Available".into()],
            offline_activity: "Offline".into(),
            team_attribute: "team_name".into(),
            stale_after_secs: 600,
        }
    }

    fn params(kv: &[(&str, &str)]) -> Vec<(String, String)> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// Twilio's documented example (its request-validation page and twilio-node's tests):
    /// two published vectors that differ only in the caller's number.
    #[test]
    fn the_documented_signature_examples() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        for (caller, expected) in
            [("+14158675309", "RSOYDt4T1cUTdK1PDd93/VVr8B8="), ("+14158675310", "GvWf1cFY/Q7PnoempGyD5oXAezc=")]
        {
            let p = params(&[
                ("CallSid", "CA1234567890ABCDE"),
                ("Caller", caller),
                ("Digits", "1234"),
                ("From", caller),
                ("To", "+18005551212"),
            ]);
            assert_eq!(sign("12345", url, &p), expected);
            assert!(signature_ok("12345", url, &p, expected));
            assert!(!signature_ok("12346", url, &p, expected));
            assert!(!signature_ok("12345", "https://mycompany.com/myapp.php?foo=1&bar=3", &p, expected));
            assert!(!signature_ok("12345", url, &p[1..], expected));
            assert!(!signature_ok("12345", url, &p, "not base64!"));
        }
        assert_eq!(signed_url("https://a/b", "x=1"), "https://a/b?x=1");
        assert_eq!(signed_url("https://a/b?y=2", "y=2"), "https://a/b?y=2");
        assert_eq!(signed_url("https://a/b", ""), "https://a/b");
        assert_eq!(port_variant("https://fw.example.com/x?y=1").as_deref(), Some("https://fw.example.com:443/x?y=1"));
        assert_eq!(port_variant("https://fw.example.com:443/x").as_deref(), Some("https://fw.example.com/x"));
        assert_eq!(port_variant("http://fw.example.com:80").as_deref(), Some("http://fw.example.com"));
        assert_eq!(port_variant("https://[::1]/x").as_deref(), Some("https://[::1]:443/x"));
        assert_eq!(port_variant("https://fw.example.com:8443/x"), None);
        assert_eq!(port_variant("ftp://h/x"), None);
    }

    /// Maps `events` in order: each gives its outputs as short strings.
    fn run(m: &mut Mapper, events: &[&[(&str, &str)]]) -> Vec<Vec<String>> {
        events
            .iter()
            .map(|e| {
                m.callback(&params(e))
                    .unwrap()
                    .into_iter()
                    .map(|r| match r.unwrap() {
                        Input::Agent(e) => {
                            format!(
                                "{} {}{}",
                                e.agent,
                                e.state.as_str(),
                                e.reason.map(|r| format!(":{r}")).unwrap_or_default()
                            )
                        }
                        Input::Call(c) => format!(
                            "call {} {} {}",
                            c.call,
                            c.kind.as_str(),
                            c.queue.map(|q| q.to_string()).unwrap_or_default()
                        ),
                    })
                    .collect()
            })
            .collect()
    }

    const W: (&str, &str) = ("WorkerSid", "WK1");

    #[test]
    fn a_call_from_queue_to_wrap_up_and_back() {
        let mut m = Mapper::new(&settings());
        let got = run(
            &mut m,
            &[
                &[
                    ("EventType", "worker.activity.update"),
                    W,
                    ("WorkerActivityName", "Available"),
                    ("TimestampMs", "1000"),
                ],
                &[("EventType", "task.created"), ("TaskSid", "WT1"), ("TimestampMs", "2000")],
                &[
                    ("EventType", "task-queue.entered"),
                    ("TaskSid", "WT1"),
                    ("TaskQueueName", "Support"),
                    ("TimestampMs", "2001"),
                ],
                &[("EventType", "reservation.created"), ("TaskSid", "WT1"), W, ("WorkerActivityName", "Available")],
                &[("EventType", "reservation.accepted"), ("TaskSid", "WT1"), W, ("WorkerActivityName", "Available")],
                &[("EventType", "reservation.wrapup"), ("TaskSid", "WT1"), W],
                &[("EventType", "task.wrapup"), ("TaskSid", "WT1")],
                &[("EventType", "reservation.completed"), ("TaskSid", "WT1"), W, ("WorkerActivityName", "Available")],
                &[("EventType", "worker.activity.update"), W, ("WorkerActivityName", "Break")],
                &[("EventType", "worker.activity.update"), W, ("WorkerActivityName", "Offline")],
                &[("EventType", "workflow.entered"), ("TaskSid", "WT1")],
            ],
        );
        let want: Vec<Vec<&str>> = vec![
            vec!["WK1 idle"],
            vec![],
            vec!["call WT1 queued Support"],
            vec![],
            vec!["call WT1 answered Support", "WK1 talking"],
            vec!["WK1 acw"],
            vec![],
            vec!["WK1 idle"],
            vec!["WK1 aux:Break"],
            vec!["WK1 offline"],
            vec![],
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn abandons_timeouts_and_moves() {
        let mut m = Mapper::new(&settings());
        let q = |t: &'static str, queue: &'static str| -> Vec<(&'static str, &'static str)> {
            vec![("EventType", "task-queue.entered"), ("TaskSid", t), ("TaskQueueName", queue)]
        };
        let (a, b, c, d) = (q("T1", "Sales"), q("T2", "Sales"), q("T3", "Sales"), q("T3", "Overflow"));
        let got = run(
            &mut m,
            &[
                &a,
                &b,
                &c,
                &[("EventType", "task.canceled"), ("TaskSid", "T1"), ("TaskCanceledReason", "hangup")],
                &[("EventType", "task.canceled"), ("TaskSid", "T2"), ("TaskCanceledReason", "Task TTL Exceeded")],
                &d,
                &d,
                &[("EventType", "task-queue.timeout"), ("TaskSid", "T3")],
                &[("EventType", "task.canceled"), ("TaskSid", "T3")],
            ],
        );
        let want: Vec<Vec<&str>> = vec![
            vec!["call T1 queued Sales"],
            vec!["call T2 queued Sales"],
            vec!["call T3 queued Sales"],
            vec!["call T1 abandoned Sales"],
            vec!["call T2 left Sales"],
            vec!["call T3 left Sales", "call T3 queued Overflow"],
            vec![],
            vec!["call T3 left Overflow"],
            vec![],
        ];
        assert_eq!(got, want);
        let c = m.callback(&params(&q("T9", "Sales"))).unwrap().remove(0).unwrap();
        assert!(matches!(c, Input::Call(c) if c.kind == CallKind::Queued));
    }

    #[test]
    fn multitasking_names_teams_and_refusals() {
        let mut m = Mapper::new(&settings());
        let attrs = r#"{"team_name":"T07","skills":["en"]}"#;
        let got = run(
            &mut m,
            &[
                &[
                    ("EventType", "worker.activity.update"),
                    W,
                    ("WorkerActivityName", "Available"),
                    ("WorkerName", "Li Na"),
                    ("WorkerAttributes", attrs),
                ],
                &[("EventType", "reservation.accepted"), ("TaskSid", "A"), W],
                &[("EventType", "reservation.accepted"), ("TaskSid", "B"), W],
                &[("EventType", "reservation.rescinded"), ("TaskSid", "B"), ("WorkerSid", "WK2")],
                &[("EventType", "reservation.wrapup"), ("TaskSid", "A"), W],
                &[("EventType", "reservation.wrapup"), ("TaskSid", "B"), W],
                &[("EventType", "task.canceled"), ("TaskSid", "B")],
                &[("EventType", "task.completed"), ("TaskSid", "A")],
            ],
        );
        let want: Vec<Vec<&str>> = vec![
            vec!["WK1 idle"],
            vec!["WK1 talking"],
            vec![],
            vec![],
            vec![],
            vec!["WK1 acw"],
            vec![],
            vec!["WK1 idle"],
        ];
        assert_eq!(got, want);
        let e = m.workers.get("WK1").unwrap();
        assert_eq!((e.name.as_deref(), e.team.as_deref()), (Some("Li Na"), Some("T07")));
        for (p, reason) in [
            (params(&[("WorkerSid", "W")]), Refusal::MissingField),
            (params(&[("EventType", "reservation.accepted"), ("WorkerSid", "W")]), Refusal::MissingField),
            (params(&[("EventType", "worker.activity.update")]), Refusal::MissingField),
            (
                params(&[("EventType", "worker.activity.update"), ("WorkerSid", "W"), ("TimestampMs", "soon")]),
                Refusal::BadTs,
            ),
        ] {
            assert_eq!(m.callback(&p).unwrap_err().refusal(), reason, "{p:?}");
        }
        let ts = |p: &[(&str, &str)]| timestamp(&params(p)).unwrap();
        assert_eq!(ts(&[("TimestampMs", "1795424400123"), ("Timestamp", "1")]), Some(1795424400123));
        assert_eq!(ts(&[("Timestamp", "1795424400")]), Some(1795424400000));
        assert_eq!(ts(&[("Timestamp", "2026-11-23T09:00:00Z")]), Some(1795424400000));
        assert_eq!(ts(&[]), None);
    }

    use proptest::prelude::*;

    fn arb_callback() -> impl Strategy<Value = Vec<(String, String)>> {
        let kinds = prop::sample::select(vec![
            "worker.activity.update",
            "reservation.created",
            "reservation.accepted",
            "reservation.wrapup",
            "reservation.completed",
            "reservation.rescinded",
            "reservation.canceled",
            "task.created",
            "task-queue.entered",
            "task-queue.timeout",
            "task.wrapup",
            "task.completed",
            "task.canceled",
            "task.deleted",
            "workflow.entered",
        ]);
        let opt = |v: Vec<&'static str>| prop::option::of(prop::sample::select(v));
        (
            kinds,
            opt(vec!["T1", "T2", "T3"]),
            opt(vec!["W1", "W2"]),
            opt(vec!["Available", "Break", "Offline"]),
            opt(vec!["Q1", "Q2"]),
            opt(vec!["hangup", "Task TTL Exceeded"]),
        )
            .prop_map(|(kind, task, worker, activity, queue, reason)| {
                let mut p = vec![("EventType".to_string(), kind.to_string())];
                for (k, v) in [
                    ("TaskSid", task),
                    ("WorkerSid", worker),
                    ("WorkerActivityName", activity),
                    ("TaskQueueName", queue),
                    ("TaskCanceledReason", reason),
                ] {
                    if let Some(v) = v {
                        p.push((k.to_string(), v.to_string()));
                    }
                }
                p
            })
    }

    proptest! {
        /// Whatever TaskRouter sends, in whatever order: the task → worker index and the
        /// workers' own task lists agree, and a worker emitted as talking holds a task.
        #[test]
        fn the_task_index_and_the_workers_agree(callbacks in prop::collection::vec(arb_callback(), 0..60)) {
            let mut m = Mapper::new(&settings());
            for p in &callbacks {
                if let Ok(out) = m.callback(p) {
                    for r in out {
                        if let Ok(Input::Agent(e)) = r
                            && e.state == crate::event::State::Talking
                        {
                            let w = &m.workers[e.agent.as_str()];
                            prop_assert!(w.tasks.values().any(|p| *p == Phase::Talking), "{p:?}");
                        }
                    }
                }
                for (t, w) in &m.tasks {
                    prop_assert!(m.workers[w].tasks.contains_key(t), "task {t} of {w} after {p:?}");
                }
                for (w, worker) in &m.workers {
                    for t in worker.tasks.keys() {
                        prop_assert_eq!(m.tasks.get(t), Some(w), "{} held by {} after {:?}", t, w, p);
                    }
                }
            }
        }
    }
}
