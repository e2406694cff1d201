//! Why events were refused, for the people who send them (SPEC §2.6): the last
//! [`KEEP`] refusals per source (`GET /api/v1/ingest/errors`) and a warning in the log at
//! most once a minute per source and reason.
//!
//! The engine counts refusals (it is pure and keeps no text); the [`Core`](crate::core::Core)
//! reports every refused event here, outside the engine lock, as a
//! [`RefusalSink`]. Owned by the daemon's shared state, which reads it for the route.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::core::{EventError, RefusalSink};
use crate::engine::Source;
use crate::event::Refusal;
use crate::time::{Ms, fmt_ms};

/// Refusals kept per source.
pub const KEEP: usize = 100;
/// At most one warning per source and reason in this time.
pub const WARN_EVERY: Duration = Duration::from_secs(60);
/// Senders named in a warning for the refusals it held back (the rest are counted).
pub const NAME_HELD: usize = 5;

/// The recent refusals and the warning limiter. Bounded: [`KEEP`] entries per source, one
/// limiter slot per (source, reason) — both fixed sets.
#[derive(Default)]
pub struct Recent {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Oldest first.
    rings: HashMap<Source, VecDeque<Entry>>,
    limiter: Limiter,
    /// Orders entries of different sources (times can tie).
    next: u64,
}

struct Entry {
    n: u64,
    at: Ms,
    source: Source,
    peer: Option<SocketAddr>,
    error: EventError,
}

/// One warning per key per [`WARN_EVERY`]; counts what it held back in between.
#[derive(Default)]
pub struct Limiter {
    slots: HashMap<(Source, Refusal), Slot>,
}

#[derive(Default)]
struct Slot {
    last: Option<Instant>,
    held: Held,
}

/// The refusals a warning held back since the previous one of its source and reason.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Held {
    pub count: u64,
    /// The addresses they came from (the first [`NAME_HELD`] told apart, by IP: a
    /// reconnecting sender changes its port).
    pub senders: BTreeSet<IpAddr>,
    /// Held back refusals from further addresses, beyond those named.
    pub from_others: u64,
}

impl Held {
    fn add(&mut self, peer: Option<SocketAddr>) {
        self.count += 1;
        let Some(ip) = peer.map(|p| p.ip()) else { return };
        if self.senders.contains(&ip) {
            return;
        }
        if self.senders.len() < NAME_HELD {
            self.senders.insert(ip);
        } else {
            self.from_others += 1;
        }
    }

    /// `10.0.0.5, 10.0.0.6 (+3 refusals from others)`, `-` with no known sender.
    pub fn show_senders(&self) -> String {
        if self.senders.is_empty() {
            return "-".to_string();
        }
        let named: Vec<String> = self.senders.iter().map(ToString::to_string).collect();
        match self.from_others {
            0 => named.join(", "),
            n => format!("{} (+{n} refusals from others)", named.join(", ")),
        }
    }
}

impl Limiter {
    /// Whether a refusal for `key` from `peer` at `now` is to be logged; if so, what was
    /// held back since the last warning for `key`.
    pub fn check(&mut self, key: (Source, Refusal), peer: Option<SocketAddr>, now: Instant) -> Option<Held> {
        let slot = self.slots.entry(key).or_default();
        if slot.last.is_some_and(|t| now.duration_since(t) < WARN_EVERY) {
            slot.held.add(peer);
            return None;
        }
        slot.last = Some(now);
        Some(std::mem::take(&mut slot.held))
    }
}

impl Recent {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a batch's refusals received at `at`; returns the warnings due at `now`:
    /// (reason, held back, an example).
    fn record(
        &self,
        source: Source,
        peer: Option<SocketAddr>,
        at: Ms,
        errors: &[EventError],
        now: Instant,
    ) -> Vec<(Refusal, Held, String)> {
        let mut warn = Vec::new();
        let mut inner = self.inner();
        let inner = &mut *inner;
        for e in errors {
            if let Some(held) = inner.limiter.check((source, e.reason), peer, now) {
                warn.push((e.reason, held, e.message.clone()));
            }
        }
        let ring = inner.rings.entry(source).or_default();
        for e in &errors[errors.len().saturating_sub(KEEP)..] {
            if ring.len() == KEEP {
                ring.pop_front();
            }
            inner.next += 1;
            ring.push_back(Entry { n: inner.next, at, source, peer, error: e.clone() });
        }
        warn
    }

    /// `{"errors": [...]}`: the kept refusals of `source` (or of every source), newest
    /// first.
    pub fn to_json(&self, source: Option<Source>) -> Value {
        let inner = self.inner();
        let mut entries: Vec<&Entry> =
            inner.rings.iter().filter(|(s, _)| source.is_none_or(|w| w == **s)).flat_map(|(_, r)| r.iter()).collect();
        entries.sort_unstable_by_key(|e| std::cmp::Reverse(e.n));
        let errors: Vec<Value> = entries
            .into_iter()
            .map(|e| {
                json!({
                    "time": fmt_ms(e.at),
                    "source": e.source.as_str(),
                    "peer": e.peer.map(|p| p.to_string()),
                    "index": e.error.index,
                    "outcome": e.error.reason.outcome(),
                    "reason": e.error.reason.as_str(),
                    "message": e.error.message,
                    "input": e.error.input,
                })
            })
            .collect();
        json!({ "errors": errors })
    }
}

impl RefusalSink for Recent {
    fn refused(&self, source: Source, peer: Option<SocketAddr>, at: Ms, errors: &[EventError]) {
        // Logged outside the lock.
        for (reason, held, example) in self.record(source, peer, at, errors, Instant::now()) {
            // The sender's address where there is one (a platform source is named by its
            // `source`; the journal's replay has none), and those of the refusals held
            // back since the last warning (a second sender in the same minute is named
            // here, not only in the list).
            tracing::warn!(
                source = source.as_str(),
                peer = %show_peer(peer),
                reason = reason.as_str(),
                suppressed = held.count,
                suppressed_from = %held.show_senders(),
                example = %example,
                "events refused (at most one warning a minute per source and reason; GET /api/v1/ingest/errors lists the last 100)"
            );
        }
    }
}

/// A sender's address for a log line (`-` when not known).
pub fn show_peer(peer: Option<SocketAddr>) -> String {
    peer.map_or_else(|| "-".to_string(), |p| p.to_string())
}

/// The `errors` of an HTTP answer or a WebSocket ack (SPEC §2.6).
pub fn answer(errors: &[EventError]) -> Value {
    Value::Array(
        errors
            .iter()
            .map(|e| {
                json!({
                    "index": e.index,
                    "outcome": e.reason.outcome(),
                    "reason": e.reason.as_str(),
                    "message": e.message,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(index: u64, reason: Refusal) -> EventError {
        EventError { index, reason, message: format!("message {index}"), input: format!("input {index}") }
    }

    #[test]
    fn keeps_the_last_hundred_per_source_newest_first() {
        let r = Recent::default();
        let now = Instant::now();
        let batch: Vec<EventError> = (0..150).map(|i| err(i, Refusal::NotJson)).collect();
        let sender: SocketAddr = "10.1.2.3:50111".parse().unwrap();
        r.record(Source::Tcp, None, 1_000, &batch[..70], now);
        r.record(Source::Tcp, None, 2_000, &batch[70..], now);
        r.record(Source::Http, Some(sender), 3_000, &[err(7, Refusal::Repeated)], now);
        let all = r.to_json(None);
        let all = all["errors"].as_array().unwrap();
        assert_eq!(all.len(), 101);
        assert_eq!(all[0]["source"], "http");
        assert_eq!(all[0]["outcome"], "duplicate");
        assert_eq!(all[0]["reason"], "repeated");
        assert_eq!(all[0]["peer"], "10.1.2.3:50111");
        assert_eq!(all[1]["peer"], Value::Null);
        assert_eq!(all[0]["time"], "1970-01-01T00:00:03.000Z");
        assert_eq!(all[1]["index"], 149);
        assert_eq!(all[100]["index"], 50);
        assert_eq!(all[100]["input"], "input 50");
        let tcp = r.to_json(Some(Source::Tcp));
        assert_eq!(tcp["errors"].as_array().unwrap().len(), 100);
        assert_eq!(r.to_json(Some(Source::Ws))["errors"], json!([]));
    }

    fn held(count: u64) -> Held {
        Held { count, ..Held::default() }
    }

    #[test]
    fn warns_once_a_minute_per_source_and_reason() {
        let r = Recent::default();
        let t0 = Instant::now();
        let batch = [err(0, Refusal::NotJson), err(1, Refusal::NotJson), err(2, Refusal::BadTs)];
        let w = r.record(Source::Tcp, None, 0, &batch, t0);
        assert_eq!(
            w,
            vec![(Refusal::NotJson, held(0), "message 0".into()), (Refusal::BadTs, held(0), "message 2".into())]
        );
        assert_eq!(
            r.record(Source::Ws, None, 0, &batch[..1], t0),
            vec![(Refusal::NotJson, held(0), "message 0".into())]
        );
        assert!(r.record(Source::Tcp, None, 0, &batch, t0 + Duration::from_secs(59)).is_empty());
        let w = r.record(Source::Tcp, None, 0, &batch[2..], t0 + WARN_EVERY);
        assert_eq!(w, vec![(Refusal::BadTs, held(1), "message 2".into())], "one held back since the last warning");
        let w = r.record(Source::Tcp, None, 0, &batch[..1], t0 + WARN_EVERY);
        assert_eq!(w, vec![(Refusal::NotJson, held(3), "message 0".into())]);
    }

    #[test]
    fn a_warning_names_the_senders_it_held_back() {
        let r = Recent::default();
        let t0 = Instant::now();
        let peer = |ip: u8, port: u16| Some(SocketAddr::from(([10, 0, 0, ip], port)));
        let one = [err(0, Refusal::BadTs)];
        assert_eq!(r.record(Source::Tcp, peer(1, 5000), 0, &one, t0)[0].1, held(0));
        // Held back: the first sender again on a new connection, then seven others (one
        // twice); the first five addresses are named, the rest counted.
        let later = t0 + Duration::from_secs(1);
        r.record(Source::Tcp, peer(1, 5001), 0, &one, later);
        for ip in [2, 3, 3, 4, 5, 6, 7, 8] {
            r.record(Source::Tcp, peer(ip, 6000), 0, &one, later);
        }
        r.record(Source::Tcp, None, 0, &one, later);
        let w = r.record(Source::Tcp, peer(9, 7000), 0, &one, t0 + WARN_EVERY);
        let h = &w[0].1;
        assert_eq!(h.count, 10);
        assert_eq!(h.show_senders(), "10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4, 10.0.0.5 (+3 refusals from others)");
        // Taken with the warning: the next minute starts empty.
        let w = r.record(Source::Tcp, peer(9, 7000), 0, &one, t0 + WARN_EVERY * 2);
        assert_eq!(w[0].1, held(0));
        assert_eq!(w[0].1.show_senders(), "-");
    }
}
