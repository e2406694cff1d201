//! Sources the platform pushes to us (`connect`, `twilio`): `POST /api/v1/sources/<name>`.
//!
//! The HTTP route (in `server::sources_route`) finds the source by name and hands the
//! request's parts here; this module authenticates it by the platform's own mechanism
//! (Firehose's access key, Twilio's signature — never our ingest token), maps it and
//! submits the native events to the core, and says what to answer, in the platform's own
//! format. Every request gets one outcome in
//! `floorwatch_source_requests_total{source,outcome}`: `accepted`, `ignored` (an event the
//! mapping does not follow), `unauthorized`, `bad_request`, `too_large`, `unsupported`
//! (content type or encoding), `not_durable`; a name no source has counts under
//! `source="unknown"`, `outcome="unknown_source"`. The events inside an authenticated
//! request get their outcomes under the source's own label like any ingest path's.
//!
//! Health: a pushed source is up while an authenticated delivery came within its
//! `stale_after_secs` (see [`Push::watch`]).
//!
//! One request is mapped and applied at a time per source, under the mapper's lock (the
//! engine's lock is taken inside it, never the other way), so that a source's events reach
//! the core in the order their requests were mapped. The lock is never held across
//! `.await`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use prometheus::IntCounterVec;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use warp::http::HeaderMap;

use super::Health;
use super::config::{SourceKind, SourceSettings, TwilioSettings};
use super::{connect, twilio};
use crate::core::{Applied, Core, wall_ms};
use crate::engine::Source;
use crate::event::{DecodeError, Input, Refusal};
use crate::hooks::Secret;
use crate::ingest::errors;

/// What to answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// `application/json` always (Twilio asks for it even on its 204).
    pub body: String,
}

/// A request body, read up to the size limit.
/// The largest Twilio callback read (its TaskRouter events are a few kilobytes).
pub const TWILIO_MAX_BYTES: usize = 1 << 20;

pub enum Body {
    Bytes(Bytes),
    TooLarge { limit: usize },
}

/// A delivery mapped and applied: the answer once `lsn` is durable.
pub struct Delivered {
    pub reply: Reply,
    pub lsn: Option<u64>,
}

enum Kind {
    Connect { key: Secret, mapper: Mutex<connect::Mapper> },
    // Boxed: the mapper's maps would make every `Kind` as large as this variant.
    Twilio { settings: TwilioSettings, mapper: Box<Mutex<twilio::Mapper>> },
}

/// One pushed source.
pub struct Push {
    pub name: String,
    source: Source,
    kind: Kind,
    pub health: Arc<Health>,
    /// Wall ms of the last authenticated delivery; 0: none since start-up.
    last_ok: AtomicI64,
    stale_after_ms: i64,
    requests: IntCounterVec,
}

/// Constant-time equality of two secrets' bytes (the lengths may differ).
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u64;
    for i in 0..a.len().max(b.len()) {
        diff |= (a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0)) as u64;
    }
    diff == 0
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// The media type of `Content-Type`, lower case, without parameters.
fn media_type(h: &HeaderMap) -> String {
    header(h, "content-type").and_then(|c| c.split(';').next()).unwrap_or("").trim().to_ascii_lowercase()
}

fn encoded(h: &HeaderMap) -> Option<&str> {
    header(h, "content-encoding").filter(|e| !e.trim().eq_ignore_ascii_case("identity"))
}

impl Push {
    /// The pushed source of `settings`, or `None` for a source that connects out.
    pub fn new(s: &SourceSettings, source: Source, health: Arc<Health>, requests: IntCounterVec) -> Option<Push> {
        let (kind, stale) = match &s.kind {
            SourceKind::Connect(c) => (
                Kind::Connect { key: c.access_key.clone(), mapper: Mutex::new(connect::Mapper::new(c)) },
                c.stale_after_secs,
            ),
            SourceKind::Twilio(t) => (
                Kind::Twilio { settings: t.clone(), mapper: Box::new(Mutex::new(twilio::Mapper::new(t))) },
                t.stale_after_secs,
            ),
            _ => return None,
        };
        for outcome in ["accepted", "unauthorized"] {
            requests.with_label_values(&[&s.name, outcome]).inc_by(0);
        }
        Some(Push {
            name: s.name.clone(),
            source,
            kind,
            health,
            last_ok: AtomicI64::new(0),
            stale_after_ms: stale as i64 * 1000,
            requests,
        })
    }

    fn count(&self, outcome: &str) {
        self.requests.with_label_values(&[&self.name, outcome]).inc();
    }

    /// Keeps `floorwatch_source_up` true while a delivery came within `stale_after_secs`.
    pub async fn watch(self: Arc<Self>, shutdown: CancellationToken) {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = every.tick() => {}
            }
            let up = self.up_at(wall_ms());
            if up != self.health.is_up() {
                if !up {
                    tracing::warn!(source = %self.name, stale_after_secs = self.stale_after_ms / 1000, "no delivery from the platform for stale_after_secs: source down");
                }
                self.health.set_up(up);
            }
        }
    }

    /// Whether the source counts as up at wall instant `now`.
    pub fn up_at(&self, now: i64) -> bool {
        let last = self.last_ok.load(Ordering::Relaxed);
        last > 0 && now - last <= self.stale_after_ms
    }

    fn delivered(&self) {
        self.last_ok.store(wall_ms(), Ordering::Relaxed);
        if !self.health.is_up() {
            self.health.set_up(true);
        }
    }

    /// The largest body this source reads, under `limits.max_body_bytes`: a Twilio
    /// callback is a form of a few kilobytes, read before its signature (which covers it)
    /// is checked, so anyone could make the daemon hold `max_body_bytes` per request;
    /// Firehose's deliveries to Connect's endpoint are up to its buffer size (MiBs).
    pub fn max_body(&self, max_body_bytes: usize) -> usize {
        match &self.kind {
            Kind::Connect { .. } => max_body_bytes,
            _ => max_body_bytes.min(TWILIO_MAX_BYTES),
        }
    }

    /// Whether the sender is authenticated before the body is read (Connect's access key),
    /// not by the body itself (Twilio's signature covers it).
    pub fn checked_before_body(&self) -> bool {
        matches!(self.kind, Kind::Connect { .. })
    }

    /// Checks made before the body is read: the content encoding and type and, for
    /// Connect, the access key. `Some`: refused, answer this.
    pub fn precheck(&self, h: &HeaderMap) -> Option<Reply> {
        match &self.kind {
            Kind::Connect { key, .. } => {
                let given = header(h, "x-amz-firehose-access-key")
                    .or_else(|| header(h, "authorization").and_then(|a| a.strip_prefix("Bearer ")));
                if !given.is_some_and(|g| ct_eq(g.trim().as_bytes(), key.expose().as_bytes())) {
                    self.count("unauthorized");
                    let what = if given.is_some() { "wrong" } else { "missing" };
                    return Some(self.firehose(h, None, 401, Some(&format!("{what} X-Amz-Firehose-Access-Key"))));
                }
                if let Some(e) = encoded(h) {
                    self.count("unsupported");
                    let msg = format!(
                        "Content-Encoding {e:?} is not supported: turn off GZIP compression on the Firehose stream's HTTP endpoint"
                    );
                    return Some(self.firehose(h, None, 415, Some(&msg)));
                }
                if media_type(h) != "application/json" {
                    self.count("unsupported");
                    return Some(self.firehose(h, None, 415, Some("Content-Type must be application/json")));
                }
                None
            }
            Kind::Twilio { .. } => {
                let why = if encoded(h).is_some() {
                    "Content-Encoding is not supported"
                } else if media_type(h) != "application/x-www-form-urlencoded" {
                    "Content-Type must be application/x-www-form-urlencoded (TaskRouter event callbacks)"
                } else {
                    return None;
                };
                self.count("unsupported");
                Some(Reply { status: 415, body: json!({ "error": why }).to_string() })
            }
        }
    }

    /// Firehose's answer: `requestId` (the request's), `timestamp` (ms), and on failure
    /// `errorMessage`.
    fn firehose(&self, h: &HeaderMap, body_id: Option<&str>, status: u16, error: Option<&str>) -> Reply {
        let id = header(h, "x-amz-firehose-request-id").or(body_id).unwrap_or("");
        let mut v = json!({ "requestId": id, "timestamp": wall_ms() });
        if let Some(e) = error {
            v["errorMessage"] = e.into();
        }
        Reply { status, body: v.to_string() }
    }

    /// The answer when the journal did not make a delivery durable: the platform retries.
    pub fn not_durable(&self, h: &HeaderMap) -> Reply {
        self.count("not_durable");
        let msg = "events applied but not durable (journal); retry";
        match &self.kind {
            Kind::Connect { .. } => self.firehose(h, None, 503, Some(msg)),
            Kind::Twilio { .. } => Reply { status: 503, body: json!({ "error": msg }).to_string() },
        }
    }

    /// Maps and applies a delivery that passed [`Push::precheck`].
    pub fn deliver(&self, core: &Core, h: &HeaderMap, query: &str, body: Body) -> Delivered {
        match &self.kind {
            Kind::Connect { mapper, .. } => self.connect(core, mapper, h, body),
            Kind::Twilio { settings, mapper } => self.twilio(core, settings, mapper, h, query, body),
        }
    }

    fn refused(&self, core: &Core, why: DecodeError) {
        core.apply(vec![Err(why)], self.source);
    }

    fn connect(&self, core: &Core, mapper: &Mutex<connect::Mapper>, h: &HeaderMap, body: Body) -> Delivered {
        // Authenticated in `precheck`: whatever follows, the platform reaches us.
        self.delivered();
        let bytes = match body {
            Body::TooLarge { limit } => {
                self.count("too_large");
                self.refused(core, DecodeError::too_large("request body", "limits.max_body_bytes", limit));
                let msg = format!("body over limits.max_body_bytes ({limit}): lower the stream's buffer size");
                return Delivered { reply: self.firehose(h, None, 413, Some(&msg)), lsn: None };
            }
            Body::Bytes(b) => b,
        };
        let text = match std::str::from_utf8(&bytes) {
            Ok(t) => t,
            Err(e) => {
                self.count("bad_request");
                self.refused(core, DecodeError::not_utf8(&bytes, e.valid_up_to()));
                return Delivered { reply: self.firehose(h, None, 400, Some("body is not UTF-8")), lsn: None };
            }
        };
        let bad = |message: String| {
            self.count("bad_request");
            self.refused(core, DecodeError::new(Refusal::NotJson, message.clone(), text));
            Delivered { reply: self.firehose(h, None, 400, Some(&message)), lsn: None }
        };
        let trimmed = text.trim_start();
        if trimmed.starts_with('[') {
            // Records forwarded by a function: a JSON array of agent events.
            let records: Vec<&serde_json::value::RawValue> = match serde_json::from_str(text) {
                Ok(r) => r,
                Err(e) => return bad(format!("not a JSON array of agent events: {e}")),
            };
            let mut m = mapper.lock().unwrap_or_else(|p| p.into_inner());
            let batch = records.iter().map(|r| m.record(r.get())).collect();
            let Applied { counts, lsn, errors: errs } = core.apply(batch, self.source);
            drop(m);
            self.count("accepted");
            let mut body = serde_json::to_value(counts).unwrap_or_default();
            body["errors"] = errors::answer(&errs);
            return Delivered { reply: Reply { status: 200, body: body.to_string() }, lsn };
        }
        // A Firehose HTTP endpoint delivery.
        let v: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => return bad(format!("not a Firehose delivery (JSON): {e}")),
        };
        let body_id = v.get("requestId").and_then(Value::as_str);
        let Some(records) = v.get("records").and_then(Value::as_array) else {
            self.count("bad_request");
            self.refused(
                core,
                DecodeError::new(Refusal::MissingField, "records is missing (not a Firehose delivery)", text),
            );
            return Delivered {
                reply: self.firehose(h, body_id, 400, Some("records is missing: not a Firehose delivery")),
                lsn: None,
            };
        };
        let mut m = mapper.lock().unwrap_or_else(|p| p.into_inner());
        let batch: Vec<Result<Input, DecodeError>> = records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let data = r.get("data").and_then(Value::as_str).ok_or_else(|| {
                    DecodeError::new(Refusal::MissingField, format!("records[{i}].data is missing"), &r.to_string())
                })?;
                let raw = base64::engine::general_purpose::STANDARD.decode(data.trim()).map_err(|e| {
                    DecodeError::new(Refusal::NotJson, format!("records[{i}].data is not base64: {e}"), data)
                })?;
                let text = std::str::from_utf8(&raw).map_err(|e| DecodeError::not_utf8(&raw, e.valid_up_to()))?;
                m.record(text)
            })
            .collect();
        let Applied { lsn, .. } = core.apply(batch, self.source);
        drop(m);
        // Records that were refused are counted and listed (`/api/v1/ingest/errors`);
        // answering 200 keeps Firehose from retrying the good ones with them forever.
        self.count("accepted");
        Delivered { reply: self.firehose(h, body_id, 200, None), lsn }
    }

    fn twilio(
        &self,
        core: &Core,
        s: &TwilioSettings,
        mapper: &Mutex<twilio::Mapper>,
        h: &HeaderMap,
        query: &str,
        body: Body,
    ) -> Delivered {
        let reply = |status: u16, error: Option<&str>| Reply {
            status,
            body: error.map(|e| json!({ "error": e }).to_string()).unwrap_or_default(),
        };
        let bytes = match body {
            // Not authenticated yet (the signature covers the body): not an event of ours.
            Body::TooLarge { limit } => {
                self.count("too_large");
                let msg = format!("body over {limit} bytes: a Twilio callback is a few kilobytes");
                return Delivered { reply: reply(413, Some(&msg)), lsn: None };
            }
            Body::Bytes(b) => b,
        };
        let params: Vec<(String, String)> =
            form_urlencoded::parse(&bytes).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let url = twilio::signed_url(&s.public_url, query);
        let signed = header(h, "x-twilio-signature").is_some_and(|sig| {
            let ok = |u: &str| twilio::signature_ok(s.auth_token.expose(), u, &params, sig);
            ok(&url) || twilio::port_variant(&url).is_some_and(|u| ok(&u))
        });
        if !signed {
            self.count("unauthorized");
            return Delivered {
                reply: reply(403, Some("missing or wrong X-Twilio-Signature (check auth_token and public_url)")),
                lsn: None,
            };
        }
        self.delivered();
        let mut m = mapper.lock().unwrap_or_else(|p| p.into_inner());
        match m.callback(&params) {
            Err(e) => {
                let message = e.message().to_string();
                core.apply(vec![Err(e)], self.source);
                drop(m);
                self.count("bad_request");
                Delivered { reply: reply(400, Some(&message)), lsn: None }
            }
            Ok(batch) if batch.is_empty() => {
                drop(m);
                self.count("ignored");
                Delivered { reply: reply(204, None), lsn: None }
            }
            Ok(batch) => {
                let Applied { lsn, .. } = core.apply(batch, self.source);
                drop(m);
                self.count("accepted");
                Delivered { reply: reply(204, None), lsn }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_equality_is_equality() {
        assert!(ct_eq(b"key", b"key"));
        assert!(!ct_eq(b"key", b"kez"));
        assert!(!ct_eq(b"key", b"key2"));
        assert!(!ct_eq(b"", b"k"));
        assert!(ct_eq(b"", b""));
    }
}
