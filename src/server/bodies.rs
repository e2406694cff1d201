//! The request bodies held at once (`limits.max_body_bytes_in_flight`): every body read
//! whole before it is used (events, roster uploads, platform deliveries) takes its size
//! from one budget while it is read and until its request is answered. A body the budget
//! cannot take is answered 503 with `Retry-After` before more of it is read, so many slow
//! or large bodies at once cost a bounded amount of memory (4,096 connections of 16 MB
//! each would have held 64 GB). Refusals, and bodies that stopped arriving (408), are
//! counted in `floorwatch_http_bodies_refused_total{reason="busy"|"stalled"}`.

use std::sync::Arc;

use prometheus::{IntCounterVec, Opts, Registry};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The budget is counted in units of this many bytes (a semaphore's permits are `u32`).
const UNIT: usize = 1024;

/// The shared budget of body bytes.
pub struct Bodies {
    free: Arc<Semaphore>,
    bytes: usize,
    refused: IntCounterVec,
}

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
#[derive(Default)]
pub struct Held {
    permit: Option<OwnedSemaphorePermit>,
}

impl Held {
    /// Bytes this share covers.
    pub fn bytes(&self) -> usize {
        self.permit.as_ref().map_or(0, |p| p.num_permits() * UNIT)
    }
}

impl Bodies {
    /// A budget of `bytes` (at least one unit), its counter registered in `registry`.
    pub fn new(bytes: usize, registry: &Registry) -> Arc<Bodies> {
        let refused = IntCounterVec::new(
            Opts::new(
                "floorwatch_http_bodies_refused_total",
                "Request bodies not read: busy (limits.max_body_bytes_in_flight taken by other bodies, 503 with \
                 Retry-After), stalled (nothing arrived for limits.header_read_timeout_secs mid-body, 408)",
            ),
            &["reason"],
        )
        .expect("valid metric");
        for r in Refusal::ALL {
            refused.with_label_values(&[r.label()]);
        }
        let _ = registry.register(Box::new(refused.clone()));
        let units = bytes.div_ceil(UNIT).clamp(1, Semaphore::MAX_PERMITS);
        Arc::new(Bodies { free: Arc::new(Semaphore::new(units)), bytes, refused })
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
        let p = self.free.clone().try_acquire_many_owned(more).map_err(|_| Refusal::Busy)?;
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

    /// Bytes of the budget held now (tests).
    pub fn in_use(&self) -> usize {
        (self.bytes.div_ceil(UNIT) - self.free.available_permits()) * UNIT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_taken_while_held_and_given_back_when_dropped() {
        let b = Bodies::new(10 * UNIT, &Registry::new());
        let mut one = Held::default();
        b.grow(&mut one, 3 * UNIT + 1).expect("room");
        assert_eq!(one.bytes(), 4 * UNIT, "rounded up to whole units");
        b.grow(&mut one, 2 * UNIT).expect("already covered");
        assert_eq!(one.bytes(), 4 * UNIT);
        let mut two = Held::default();
        b.grow(&mut two, 6 * UNIT).expect("the rest");
        assert_eq!(b.in_use(), 10 * UNIT);
        let mut three = Held::default();
        assert_eq!(b.grow(&mut three, 1), Err(Refusal::Busy), "nothing left");
        assert_eq!(b.grow(&mut one, 5 * UNIT), Err(Refusal::Busy), "a held share cannot grow past it either");
        assert_eq!(one.bytes(), 4 * UNIT, "a refused growth keeps what it had");
        drop(two);
        b.grow(&mut three, 6 * UNIT).expect("given back by the dropped share");
        drop((one, three));
        assert_eq!(b.in_use(), 0);
    }
}
