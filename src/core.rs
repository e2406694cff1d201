//! The one handle every ingest path submits to and every reader reads from: the engine
//! (behind one mutex), its journal, and the fan-out of alert notifications.
//!
//! Below both `ingest` and `server`: ingest sees a `Core`, never the server's shared
//! state. The lock is never held across `.await`; a journal append happens under it, so
//! the journal's order is the engine's.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::alert::Alert;
use crate::engine::{Engine, IngestCounts, Source};
use crate::event::{DecodeError, Event, Refusal};
use crate::journal::{Journal, NotDurable, Payload};
use crate::time::Ms;

/// Where alert notifications go (the wallboards' push hub, the hooks). Called outside the
/// engine lock; must not block.
pub trait AlertSink: Send + Sync {
    fn alert(&self, alert: &Alert);
}

/// What applying a batch gave: its outcome counts and the journal position that makes it
/// durable (see [`Core::durable`]), when a journal is on.
pub type Applied = (IngestCounts, Option<u64>);

pub struct Core {
    engine: Mutex<Engine>,
    /// The write-ahead journal, unless `journal.enabled = false` (or `--demo`).
    journal: Option<Journal>,
    sinks: Vec<Arc<dyn AlertSink>>,
    /// Batches whose applying panicked (a bug in the core), contained and counted.
    panics: AtomicU64,
}

/// Milliseconds since the epoch, from the system clock.
pub fn wall_ms() -> Ms {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as Ms).unwrap_or(0)
}

impl Core {
    pub fn new(mut engine: Engine, journal: Option<Journal>, sinks: Vec<Arc<dyn AlertSink>>) -> Core {
        if let Some(j) = &journal {
            engine.set_oplog(j.oplog());
        }
        // Alerts that fired during a journal replay were announced before the restart.
        engine.enable_notifications();
        Core { engine: Mutex::new(engine), journal, sinks, panics: AtomicU64::new(0) }
    }

    /// The engine, locked. A panic while holding the lock was contained (see
    /// [`Core::apply`]); the lock stays usable.
    pub fn engine(&self) -> MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn journal(&self) -> Option<&Journal> {
        self.journal.as_ref()
    }

    /// Appends the core's own series to a `/metrics` exposition.
    pub fn render_metrics(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = writeln!(
            out,
            "# HELP floorwatch_apply_panics_total Batches whose applying panicked (a bug in the core), contained.\n# TYPE floorwatch_apply_panics_total counter\nfloorwatch_apply_panics_total {}",
            self.panics()
        );
    }

    /// Batches whose applying panicked since start-up.
    pub fn panics(&self) -> u64 {
        self.panics.load(Ordering::Relaxed)
    }

    /// Applies a decoded batch received now, journaled first, and fans out the alerts it
    /// fired, resolved or retracted. Returns the counts and the lsn that makes it durable.
    ///
    /// A panic while applying (a bug in the core, never bad input) is contained here: the
    /// batch counts as applied as far as it got, the panic is counted
    /// (`floorwatch_apply_panics_total`) and logged, and ingest goes on. A journal replay
    /// contains it at the same point, so a restart rebuilds the same state rather than
    /// crash-looping on the batch.
    pub fn apply(&self, batch: Vec<Result<Event, DecodeError>>, source: Source) -> Applied {
        if batch.is_empty() {
            return (IngestCounts::default(), None);
        }
        let now = wall_ms();
        let refused: Vec<Refusal> = batch.iter().filter_map(|r| r.as_ref().err().map(DecodeError::refusal)).collect();
        // Encoded before the lock is taken; appended (a copy) under it.
        let payload = self
            .journal
            .as_ref()
            .map(|_| Payload::batch(now, source, &refused, batch.iter().filter_map(|r| r.as_ref().ok())));
        let events = batch.into_iter().filter_map(Result::ok);
        let (counts, lsn, alerts) = {
            let mut engine = self.engine();
            let lsn = self.journal.as_ref().zip(payload.as_ref()).map(|(j, p)| j.append(p));
            let counts = match apply_contained(&mut engine, now, source, events, &refused) {
                Ok(c) => c,
                Err(what) => {
                    self.panics.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(source = source.as_str(), panic = %what, "a batch panicked while being applied (a bug): contained, ingest goes on");
                    IngestCounts::default()
                }
            };
            (counts, lsn, engine.take_notifications())
        };
        self.fan_out(alerts);
        (counts, lsn)
    }

    /// Counts `n` events refused at the edge for `why` (an oversized frame, say),
    /// journaled like any batch so a restart counts them again.
    pub fn count_refused(&self, source: Source, why: Refusal, n: u64) {
        let refused = vec![why; n as usize];
        let now = wall_ms();
        let payload = self.journal.as_ref().map(|_| Payload::batch(now, source, &refused, std::iter::empty()));
        let mut engine = self.engine();
        if let Some((j, p)) = self.journal.as_ref().zip(payload.as_ref()) {
            j.append(p);
        }
        engine.apply_batch(now, source, std::iter::empty(), &refused);
    }

    /// Waits until `lsn` is on disk (no-op without a journal).
    pub async fn durable(&self, lsn: Option<u64>) -> Result<(), NotDurable> {
        match (&self.journal, lsn) {
            (Some(j), Some(lsn)) => j.durable(lsn).await,
            _ => Ok(()),
        }
    }

    /// Advances the engine to `now` (wall clock) and runs housekeeping when asked; fans out
    /// what fired.
    pub fn tick(&self, now: Option<Ms>, housekeeping: bool) {
        let alerts = {
            let mut engine = self.engine();
            if let Some(now) = now {
                engine.advance(now);
            }
            if housekeeping {
                engine.housekeeping();
            }
            engine.take_notifications()
        };
        self.fan_out(alerts);
    }

    pub fn fan_out(&self, alerts: Vec<Alert>) {
        for a in &alerts {
            for s in &self.sinks {
                s.alert(a);
            }
        }
    }
}

/// Applies a batch, turning a panic into an error naming it.
pub fn apply_contained(
    engine: &mut Engine,
    now: Ms,
    source: Source,
    events: impl Iterator<Item = Event>,
    refused: &[Refusal],
) -> Result<IngestCounts, String> {
    std::panic::catch_unwind(AssertUnwindSafe(|| engine.apply_batch(now, source, events, refused))).map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into())
    })
}
