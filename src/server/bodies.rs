//! The request bodies held at once (`limits.max_body_bytes_in_flight`): every body read
//! whole before it is used (events, roster uploads, platform deliveries) takes its size
//! from one budget while it is read and until its request is answered, and so does each
//! `/ingest` WebSocket message until its events are handed on (`ingest_ws`). A body the budget
//! cannot take is answered 503 with `Retry-After` before more of it is read, so many slow
//! or large bodies at once cost a bounded amount of memory (4,096 connections of 16 MB
//! each would have held 64 GB). Refusals, and bodies that stopped arriving (408), are
//! counted in `floorwatch_http_bodies_refused_total{reason="busy"|"stalled"}`.
//!
//! Bodies read before their sender is known (a Twilio callback, whose signature covers
//! the body) draw from a pool of their own, an eighth of the budget: anonymous senders
//! holding it cannot shut out the authenticated ingest and roster uploads.

use std::sync::Arc;

use prometheus::{IntCounterVec, IntGauge, Opts, Registry};
use rand::Rng;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The budget is counted in units of this many bytes (a semaphore's permits are `u32`).
const UNIT: usize = 1024;

/// The shared budget of body bytes.
pub struct Bodies {
    free: Arc<Semaphore>,
    /// Bodies read before their sender is authenticated.
    unverified: Arc<Semaphore>,
    bytes: usize,
    refused: IntCounterVec,
    /// `floorwatch_http_body_bytes_in_flight`: bytes held now, both pools.
    held: IntGauge,
}

/// The share of bodies read before the sender is known: an eighth, at least 1 MiB (the
/// largest such body, a Twilio callback).
const UNVERIFIED_SHARE: usize = 8;
const UNVERIFIED_MIN: usize = 1 << 20;

/// Why a body was refused or given up, the `reason` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The budget was taken by other bodies: 503.
    Busy,
    /// Nothing arrived for `limits.header_read_timeout_secs` mid-body: 408.
    Stalled,
}

impl Refusal {
    const ALL: [Refusal; 2] = [Refusal::Busy, Refusal::Stalled];

    fn label(self) -> &'static str {
        match self {
            Refusal::Busy => "busy",
            Refusal::Stalled => "stalled",
        }
    }
}

/// A body's share of the budget, given back when dropped (with the request's answer).
pub struct Held {
    pool: Arc<Semaphore>,
    permit: Option<OwnedSemaphorePermit>,
    gauge: IntGauge,
}

impl Held {
    /// Bytes this share covers.
    pub fn bytes(&self) -> usize {
        self.permit.as_ref().map_or(0, |p| p.num_permits() * UNIT)
    }

    /// Gives the share back now (a body refused part-read, whose rest is dropped as it comes).
    pub fn release(&mut self) {
        self.gauge.sub(self.bytes() as i64);
        self.permit = None;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.release();
    }
}

impl Bodies {
    /// A budget of `bytes` (at least one unit), its counter registered in `registry`.
    pub fn new(bytes: usize, registry: &Registry) -> Arc<Bodies> {
        let refused = IntCounterVec::new(
            Opts::new(
                "floorwatch_http_bodies_refused_total",
                "Request bodies and /ingest WebSocket messages not read: busy (limits.max_body_bytes_in_flight taken \
                 by other bodies: 503 with Retry-After, or the WebSocket closed 1013), stalled (nothing arrived for limits.header_read_timeout_secs mid-body, 408)",
            ),
            &["reason"],
        )
        .expect("valid metric");
        for r in Refusal::ALL {
            refused.with_label_values(&[r.label()]);
        }
        let _ = registry.register(Box::new(refused.clone()));
        let held = IntGauge::new(
            "floorwatch_http_body_bytes_in_flight",
            "Request-body and /ingest WebSocket message bytes held now (being read, or read and not yet answered or \
             handed on), of limits.max_body_bytes_in_flight",
        )
        .expect("valid metric");
        let _ = registry.register(Box::new(held.clone()));
        let limit = IntGauge::new("floorwatch_http_body_bytes_in_flight_limit", "limits.max_body_bytes_in_flight")
            .expect("valid metric");
        limit.set(bytes as i64);
        let _ = registry.register(Box::new(limit));
        let units = |b: usize| b.div_ceil(UNIT).clamp(1, Semaphore::MAX_PERMITS);
        let unverified = (bytes / UNVERIFIED_SHARE).max(UNVERIFIED_MIN).min(bytes);
        Arc::new(Bodies {
            free: Arc::new(Semaphore::new(units(bytes))),
            unverified: Arc::new(Semaphore::new(units(unverified))),
            bytes,
            refused,
            held,
        })
    }

    /// An empty share of the budget for a body whose sender is authenticated (`verified`),
    /// or of the pool of bodies read before it is.
    pub fn share(&self, verified: bool) -> Held {
        let pool = if verified { self.free.clone() } else { self.unverified.clone() };
        Held { pool, permit: None, gauge: self.held.clone() }
    }

    /// The budget in bytes (`limits.max_body_bytes_in_flight`).
    pub fn limit(&self) -> usize {
        self.bytes
    }

    /// Grows `held` to cover `bytes`, if the budget has them now (never waits: a body that
    /// waited would hold its connection and what it sent).
    pub fn grow(&self, held: &mut Held, bytes: usize) -> Result<(), Refusal> {
        let want = bytes.div_ceil(UNIT);
        let have = held.permit.as_ref().map_or(0, |p| p.num_permits());
        if want <= have {
            return Ok(());
        }
        let more = u32::try_from(want - have).map_err(|_| Refusal::Busy)?;
        let p = held.pool.clone().try_acquire_many_owned(more).map_err(|_| Refusal::Busy)?;
        self.held.add(i64::from(more) * UNIT as i64);
        match &mut held.permit {
            Some(h) => h.merge(p),
            None => held.permit = Some(p),
        }
        Ok(())
    }

    /// Counts a body refused for `why`.
    pub fn count(&self, why: Refusal) {
        self.refused.with_label_values(&[why.label()]).inc();
    }

    /// Bytes of the budget held now, by authenticated bodies.
    #[cfg(test)]
    fn in_use(&self) -> usize {
        (self.bytes.div_ceil(UNIT) - self.free.available_permits()) * UNIT
    }

    /// A pause for `Retry-After` (1 to 3 s): senders refused together do not all come back
    /// in the same second (a livelock of large bodies each refused part-read).
    pub fn retry_after_secs(&self) -> u64 {
        rand::rng().random_range(1..=3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_taken_while_held_and_given_back_when_dropped() {
        let b = Bodies::new(10 * UNIT, &Registry::new());
        let mut one = b.share(true);
        b.grow(&mut one, 3 * UNIT + 1).expect("room");
        assert_eq!(one.bytes(), 4 * UNIT, "rounded up to whole units");
        b.grow(&mut one, 2 * UNIT).expect("already covered");
        assert_eq!(one.bytes(), 4 * UNIT);
        let mut two = b.share(true);
        b.grow(&mut two, 6 * UNIT).expect("the rest");
        assert_eq!(b.in_use(), 10 * UNIT);
        let mut three = b.share(true);
        assert_eq!(b.grow(&mut three, 1), Err(Refusal::Busy), "nothing left");
        assert_eq!(b.grow(&mut one, 5 * UNIT), Err(Refusal::Busy), "a held share cannot grow past it either");
        assert_eq!(one.bytes(), 4 * UNIT, "a refused growth keeps what it had");
        drop(two);
        b.grow(&mut three, 6 * UNIT).expect("given back by the dropped share");
        assert_eq!(b.held.get(), (4 + 6) as i64 * UNIT as i64, "the gauge follows the shares");
        drop((one, three));
        assert_eq!(b.in_use(), 0);
        assert_eq!(b.held.get(), 0);
    }

    #[test]
    fn bodies_of_unknown_senders_draw_from_a_pool_of_their_own() {
        let b = Bodies::new(16 << 20, &Registry::new());
        let mut anon = b.share(false);
        b.grow(&mut anon, 2 << 20).expect("an eighth of 16 MiB");
        let mut more = b.share(false);
        assert_eq!(b.grow(&mut more, 1), Err(Refusal::Busy), "the pool of unknown senders is full");
        let mut known = b.share(true);
        b.grow(&mut known, 16 << 20).expect("the authenticated budget is untouched");
        assert!((1..=3).contains(&b.retry_after_secs()));
    }
}
