//! The one handle every ingest path submits to and every reader reads from: the engine
//! (behind one mutex), its journal, and the fan-out of alert notifications.
//!
//! Below both `ingest` and `server`: ingest sees a `Core`, never the server's shared
//! state. The lock is never held across `.await`; a journal append happens under it, so
//! the journal's order is the engine's.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::alert::StoredAlert;
use crate::cluster::{Cluster, Landed};
use crate::engine::{Engine, IngestCounts, Refused, Source};
use crate::event::{DecodeError, Event, Input, MAX_INPUT_BYTES, MAX_MESSAGE_BYTES, Refusal, one_line, prefix};
use crate::journal::{Journal, NotDurable, Payload};
use crate::time::{Ms, fmt_ms};

/// Where alert notifications go (the wallboards' push hub, the hooks). Called outside the
/// engine lock; must not block.
pub trait AlertSink: Send + Sync {
    /// The notifications of one engine step, in order: all at once, because the hooks
    /// read some as a pair (a resolve retracted, then the same fire: `Hooks::notify_all`).
    fn alerts(&self, alerts: &[Arc<StoredAlert>]);
}

/// Where refusals go (`ingest::errors`: the recent ones per source, the rate-limited
/// warnings). Called outside the engine lock with every refused event of a batch; must not
/// block.
pub trait RefusalSink: Send + Sync {
    /// `peer`: the sender's address where the batch came over a connection of its own
    /// (TCP, WebSocket, HTTP), for the operator to find who sends them.
    fn refused(&self, source: Source, peer: Option<SocketAddr>, at: Ms, errors: &[EventError]);
}

/// Refused events an HTTP answer or a WebSocket ack lists (SPEC §2.6).
pub const MAX_ERRORS: usize = 20;

/// One event that was not applied and why (SPEC §2.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventError {
    /// Its position in the request or frame (TCP: the line's on its connection, from 0).
    pub index: u64,
    pub reason: Refusal,
    /// One line, at most 80 bytes, naming the field and the value.
    pub message: String,
    /// The first 200 bytes of the input (lossy UTF-8). For `late` and `duplicate` events
    /// (decoded before the engine refused them) the decoded event re-encoded, without
    /// `team` and `name`.
    pub input: String,
}

impl EventError {
    fn decode(index: u64, e: DecodeError) -> EventError {
        EventError { index, reason: e.refusal(), message: e.message().to_string(), input: e.input().to_string() }
    }

    fn engine(index: u64, r: Refused, limits: (Ms, usize)) -> EventError {
        let reason = r.outcome.refusal().unwrap_or(Refusal::Repeated);
        if let Some(call) = r.call {
            let message = one_line(call.message, MAX_MESSAGE_BYTES);
            let input = prefix(&call.input, MAX_INPUT_BYTES).to_string();
            return EventError { index, reason, message, input };
        }
        let message = one_line(engine_message(reason, &r, limits), MAX_MESSAGE_BYTES);
        let ev =
            Event { ts: r.ts, agent: r.agent, state: r.state, reason: r.reason, team: None, seq: r.seq, name: None };
        let mut input = ev.to_json();
        input.truncate(prefix(&input, MAX_INPUT_BYTES).len());
        EventError { index, reason, message, input }
    }
}

/// The position in its batch of the engine's `k`th event: the engine numbers the events it
/// got, and the batch also held the edge's refusals at `edge` (ascending).
fn in_batch(edge: &[usize], k: usize) -> usize {
    edge.iter().fold(k, |i, &p| if p <= i { i + 1 } else { i })
}

/// What a refusal message names: `floor.max_backfill_secs` in ms and `floor.max_agents`.
fn limits(engine: &Engine) -> (Ms, usize) {
    (engine.settings.max_backfill_ms, engine.settings.max_agents)
}

/// An instant in a message: RFC 3339, milliseconds only when there are some.
fn short_ts(ms: Ms) -> String {
    let s = fmt_ms(ms);
    match s.strip_suffix(".000Z") {
        Some(whole) => format!("{whole}Z"),
        None => s,
    }
}

/// The message of a refusal by the engine. `limits`: `floor.max_backfill_secs` in ms and
/// `floor.max_agents`.
fn engine_message(reason: Refusal, r: &Refused, (backfill_ms, max_agents): (Ms, usize)) -> String {
    let ts = r.ts.map(short_ts).unwrap_or_else(|| "(time of receipt)".into());
    match (reason, r.last) {
        (Refusal::OlderThanLast, Some((last_ts, _))) => {
            format!("ts {ts} is before last applied ts {} of {:?}", short_ts(last_ts), r.agent.as_str())
        }
        (Refusal::TooOld, _) => {
            format!("ts {ts} is older than floor.max_backfill_secs ({}) before now", backfill_ms / 1000)
        }
        (Refusal::Repeated, Some((_, Some(last_seq)))) if r.seq.is_some() => {
            format!("seq {} is not above last applied seq {last_seq} of {:?}", r.seq.unwrap_or(0), r.agent.as_str())
        }
        (Refusal::Repeated, _) => {
            format!("same ts, state and reason as the last applied event of {:?}", r.agent.as_str())
        }
        (Refusal::MissingField, _) => "ts is missing (the event clock needs one)".into(),
        (Refusal::TooLarge, _) if r.teams_full => format!(
            "the team of {:?} is new and {} teams are known (a feed giving each agent a team of its own?)",
            r.agent.as_str(),
            crate::engine::MAX_TEAMS
        ),
        (Refusal::TooLarge, _) => {
            format!("agent {:?} is new and floor.max_agents ({max_agents}) is reached", r.agent.as_str())
        }
        (other, _) => other.as_str().into(),
    }
}

/// What applying a batch gave: its outcome counts, the journal position that makes it
/// durable (see [`Core::durable`]) when a journal is on, and its first [`MAX_ERRORS`]
/// refused events.
#[derive(Debug, Default)]
pub struct Applied {
    pub counts: IngestCounts,
    /// The journal position, or in a cluster the background publish's ticket.
    pub lsn: Option<u64>,
    pub errors: Vec<EventError>,
}

/// What [`Core::submit`] gives: the outcomes once applied, or why the batch is not
/// durable (the sender resends; `seq` makes that harmless).
#[derive(Debug)]
pub struct Submitted {
    pub applied: Applied,
    pub durable: Result<(), String>,
}

pub struct Core {
    engine: Mutex<Engine>,
    /// The write-ahead journal, unless `journal.enabled = false` (or `--demo`).
    journal: Option<Journal>,
    sinks: Vec<Arc<dyn AlertSink>>,
    /// Where every refused event is reported (set once at start-up).
    refusals: Option<Arc<dyn RefusalSink>>,
    /// Batches whose applying panicked (a bug in the core), contained and counted.
    panics: AtomicU64,
    /// The cluster's stream instead of the journal (SPEC §11): batches are published, and
    /// applied when the stream delivers them (`cluster::follow`).
    cluster: Option<Arc<Cluster>>,
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
        Core { engine: Mutex::new(engine), journal, sinks, refusals: None, panics: AtomicU64::new(0), cluster: None }
    }

    /// Runs on the cluster's stream: every batch is published, none applied here directly.
    pub fn with_cluster(mut self, cluster: Arc<Cluster>) -> Core {
        self.cluster = Some(cluster);
        self
    }

    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.as_ref()
    }

    /// Reports every refused event to `sink` from now on.
    pub fn with_refusal_sink(mut self, sink: Arc<dyn RefusalSink>) -> Core {
        self.refusals = Some(sink);
        self
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
        if let Some(c) = &self.cluster {
            c.render_metrics(out);
        }
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
    pub fn apply(&self, batch: Vec<Result<Input, DecodeError>>, source: Source) -> Applied {
        self.apply_from(batch, source, 0, None)
    }

    /// [`Core::apply`] for a batch whose first event is the `first`th of its stream (a TCP
    /// connection's lines), so that refusals name the event's position in the stream, sent
    /// by `peer` (named by refusals too).
    pub fn apply_from(
        &self,
        batch: Vec<Result<Input, DecodeError>>,
        source: Source,
        first: u64,
        peer: Option<SocketAddr>,
    ) -> Applied {
        if batch.is_empty() {
            return Applied::default();
        }
        if let Some(c) = &self.cluster {
            // Published in order on the background lane; `durable` waits for it.
            let (events, _, mut applied) = self.refuse_edge(batch, source, first, peer);
            applied.lsn = (!events.is_empty()).then(|| c.submit_background(source, &events, peer));
            return applied;
        }
        let now = wall_ms();
        let refused: Vec<Refusal> = batch.iter().filter_map(|r| r.as_ref().err().map(DecodeError::refusal)).collect();
        // Encoded before the lock is taken; appended (a copy) under it.
        let payload = self
            .journal
            .as_ref()
            .map(|_| Payload::batch(now, source, &refused, batch.iter().filter_map(|r| r.as_ref().ok())));
        // The edge's refusals are taken out as the engine pulls the events.
        let mut edge: Vec<(usize, DecodeError)> = Vec::new();
        let events = batch.into_iter().enumerate().filter_map(|(i, r)| r.map_err(|e| edge.push((i, e))).ok());
        let (counts, lsn, alerts, not_applied, limits) = {
            let mut engine = self.engine();
            let lsn = self.journal.as_ref().zip(payload.as_ref()).map(|(j, p)| j.append(p));
            let (counts, not_applied) = self.contained(&mut engine, now, source, events, &refused);
            let limits = limits(&engine);
            (counts, lsn, engine.take_notifications(), not_applied, limits)
        };
        self.fan_out(alerts);
        let errors = if edge.is_empty() && not_applied.is_empty() {
            Vec::new()
        } else {
            self.report((source, peer), now, first, edge, not_applied, limits)
        };
        Applied { counts, lsn, errors }
    }

    /// Applies under the lock with a panic (a bug in the core, never bad input) contained:
    /// the batch counts as applied as far as it got, the panic is counted and logged.
    fn contained(
        &self,
        engine: &mut Engine,
        now: Ms,
        source: Source,
        events: impl IntoIterator<Item = Input>,
        refused: &[Refusal],
    ) -> (IngestCounts, Vec<Refused>) {
        engine.apply_batch_contained(now, source, events, refused).unwrap_or_else(|what| {
            self.panics.fetch_add(1, Ordering::Relaxed);
            tracing::error!(source = source.as_str(), panic = %what, "a batch panicked while being applied (a bug): contained, ingest goes on");
            (IngestCounts::default(), Vec::new())
        })
    }

    /// Splits a batch into its events and the edge's refusals, counting and reporting
    /// the refusals here (in a cluster, the replica that received them counts them).
    fn refuse_edge(
        &self,
        batch: Vec<Result<Input, DecodeError>>,
        source: Source,
        first: u64,
        peer: Option<SocketAddr>,
    ) -> (Vec<Input>, Vec<usize>, Applied) {
        let mut edge: Vec<(usize, DecodeError)> = Vec::new();
        let events: Vec<Input> =
            batch.into_iter().enumerate().filter_map(|(i, r)| r.map_err(|e| edge.push((i, e))).ok()).collect();
        if edge.is_empty() {
            return (events, Vec::new(), Applied::default());
        }
        let positions: Vec<usize> = edge.iter().map(|(i, _)| *i).collect();
        let refused: Vec<Refusal> = edge.iter().map(|(_, e)| e.refusal()).collect();
        let (counts, limits) = {
            let mut engine = self.engine();
            (engine.count_edge(source, &refused), limits(&engine))
        };
        let errors = self.report((source, peer), wall_ms(), first, edge, Vec::new(), limits);
        (events, positions, Applied { counts, lsn: None, errors })
    }

    /// Applies a batch and answers once it is durable (journal synced, or in a cluster
    /// stored by JetStream and applied by this replica), waiting at most `timeout`. `peer`:
    /// who sent it (named by refusals).
    pub async fn submit(
        &self,
        batch: Vec<Result<Input, DecodeError>>,
        source: Source,
        peer: Option<SocketAddr>,
        timeout: std::time::Duration,
    ) -> Submitted {
        let Some(c) = &self.cluster else {
            let applied = self.apply_from(batch, source, 0, peer);
            let durable = match tokio::time::timeout(timeout, self.durable(applied.lsn)).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(_)) => Err("journal cannot write: events applied but not durable".to_string()),
                Err(_) => Err("journal sync timed out: events applied but not durable".to_string()),
            };
            return Submitted { applied, durable };
        };
        let (events, positions, mut applied) = self.refuse_edge(batch, source, 0, peer);
        if events.is_empty() {
            return Submitted { applied, durable: Ok(()) };
        }
        // Stored, then applied here: a replica that cannot read the stream answers in time.
        let bound = crate::cluster::PUBLISH_DEADLINE + timeout;
        let landed = match tokio::time::timeout(bound, c.submit(source, &events, peer)).await {
            Ok(Ok(l)) => l,
            Ok(Err(e)) => return Submitted { applied, durable: Err(format!("{e}: events not stored")) },
            Err(_) => {
                let why = "not applied by this replica in time (it may be stored: a resend counts duplicate)";
                return Submitted { applied, durable: Err(why.into()) };
            }
        };
        applied.counts.merge(&landed.counts);
        if landed.deduplicated > 0 {
            // A resend the stream had already: counted here, where it was received.
            self.engine().count_edge(source, &vec![Refusal::Repeated; landed.deduplicated]);
        }
        if !landed.not_applied.is_empty() {
            let mut errors: Vec<EventError> = landed
                .not_applied
                .into_iter()
                .map(|r| EventError::engine(in_batch(&positions, r.index) as u64, r, landed.limits))
                .collect();
            errors.append(&mut applied.errors);
            errors.sort_by_key(|e| e.index);
            errors.truncate(MAX_ERRORS);
            applied.errors = errors;
        }
        Submitted { applied, durable: Ok(()) }
    }

    /// Applies a batch the cluster's stream delivered, received at `now` (its stored time).
    /// `mine`: this replica published it, so it reports the refusals (the others count them
    /// alike but do not list them twice), naming `peer`, the address it came from.
    pub fn apply_stream(
        &self,
        now: Ms,
        source: Source,
        events: Vec<Input>,
        mine: bool,
        peer: Option<SocketAddr>,
    ) -> (Landed, Vec<Arc<StoredAlert>>) {
        let (counts, not_applied, alerts, limits) = {
            let mut engine = self.engine();
            let (counts, not_applied) = self.contained(&mut engine, now, source, events, &[]);
            let limits = limits(&engine);
            (counts, not_applied, engine.take_notifications(), limits)
        };
        if mine && !not_applied.is_empty() && self.refusals.is_some() {
            let listed: Vec<Refused> = not_applied.clone();
            self.report((source, peer), now, 0, Vec::new(), listed, limits);
        }
        (Landed { counts, deduplicated: 0, not_applied, limits }, alerts)
    }

    /// A tick the cluster's stream delivered at `t`: time advances (wall clock) and, at a new
    /// minute, the house is kept. Returns what fired, for the caller to fan out.
    pub fn tick_stream(&self, t: Ms, housekeeping: bool) -> Vec<Arc<StoredAlert>> {
        let wall = self.engine().settings.clock == crate::settings::ClockMode::Wall;
        self.step(wall.then_some(t), housekeeping)
    }

    /// Turns a batch's refusals into [`EventError`]s in batch order, reports them all to the
    /// refusal sink, and keeps the first [`MAX_ERRORS`] for the answer.
    fn report(
        &self,
        (source, peer): (Source, Option<SocketAddr>),
        now: Ms,
        first: u64,
        edge: Vec<(usize, DecodeError)>,
        not_applied: Vec<Refused>,
        limits: (Ms, usize),
    ) -> Vec<EventError> {
        let positions: Vec<usize> = edge.iter().map(|(i, _)| *i).collect();
        let in_batch = |k: usize| in_batch(&positions, k);
        let mut errors = Vec::with_capacity(edge.len() + not_applied.len());
        let mut engine = not_applied.into_iter().peekable();
        for (i, e) in edge {
            while let Some(r) = engine.next_if(|r| in_batch(r.index) < i) {
                errors.push(EventError::engine(first + in_batch(r.index) as u64, r, limits));
            }
            errors.push(EventError::decode(first + i as u64, e));
        }
        for r in engine {
            errors.push(EventError::engine(first + in_batch(r.index) as u64, r, limits));
        }
        if let Some(sink) = &self.refusals {
            sink.refused(source, peer, now, &errors);
        }
        errors.truncate(MAX_ERRORS);
        errors
    }

    /// Counts one event refused at the edge outside any batch (an oversized WebSocket
    /// frame, say): a batch of that one refusal, journaled and reported like any.
    pub fn count_refused(&self, source: Source, peer: Option<SocketAddr>, why: DecodeError) {
        self.apply_from(vec![Err(why)], source, 0, peer);
    }

    /// Waits until `lsn` is on disk (no-op without a journal); in a cluster, until the
    /// background publish `lsn` is stored.
    pub async fn durable(&self, lsn: Option<u64>) -> Result<(), NotDurable> {
        if let (Some(c), Some(ticket)) = (&self.cluster, lsn) {
            return c.stored(ticket).await.map_err(|_| NotDurable);
        }
        match (&self.journal, lsn) {
            (Some(j), Some(lsn)) => j.durable(lsn).await,
            _ => Ok(()),
        }
    }

    /// Advances the engine to `now` (wall clock) and runs housekeeping when asked; fans out
    /// what fired.
    pub fn tick(&self, now: Option<Ms>, housekeeping: bool) {
        let alerts = self.step(now, housekeeping);
        self.fan_out(alerts);
    }

    /// Advances to `now` and keeps house when asked; returns what fired.
    fn step(&self, now: Option<Ms>, housekeeping: bool) -> Vec<Arc<StoredAlert>> {
        let mut engine = self.engine();
        if let Some(now) = now {
            engine.advance(now);
        }
        if housekeeping {
            engine.housekeeping();
        }
        engine.take_notifications()
    }

    pub fn fan_out(&self, alerts: Vec<Arc<StoredAlert>>) {
        for s in &self.sinks {
            s.alerts(&alerts);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Aliases, decode_str};
    use crate::journal::Recovery;

    /// A bug in the core that panics on one event is contained per batch, counted, and
    /// ingest goes on; the journal's replay contains it at the same point and rebuilds the
    /// same state instead of crash-looping.
    #[test]
    fn a_panicking_batch_is_contained_live_and_in_replay() {
        let settings = crate::settings::Settings { clock: crate::settings::ClockMode::Event, ..Default::default() };
        let ev = |agent: &str, ts: i64| {
            decode_str(&format!(r#"{{"ts":{ts},"agent":"{agent}","state":"idle"}}"#), &Aliases::default())
        };
        let dir = tempfile::tempdir().unwrap();
        let journal = Recovery::open(dir.path()).unwrap().start(0, std::time::Duration::from_millis(1)).unwrap();
        let mut engine = Engine::new(settings.clone());
        engine.panic_on_agent("BOOM");
        let core = Core::new(engine, Some(journal.clone()), Vec::new());
        let a = core.apply(vec![ev("A1", 1_000), ev("BOOM", 2_000), ev("A2", 3_000)], Source::Tcp);
        assert_eq!(a.counts, IngestCounts::default(), "the batch's counts are lost with its panic");
        assert_eq!(core.panics(), 1);
        let b = core.apply(vec![ev("A3", 4_000)], Source::Tcp);
        assert_eq!(b.counts.applied, 1, "ingest goes on");
        let agents = |e: &Engine| {
            let mut v: Vec<String> = e.agents().map(|a| a.id.to_string()).collect();
            v.sort();
            v
        };
        assert_eq!(agents(&core.engine()), ["A1", "A3"], "applied as far as the batch got");
        journal.close();
        drop((core, journal)); // releases the directory's lock

        let mut restored = Engine::new(settings);
        restored.panic_on_agent("BOOM");
        Recovery::open(dir.path()).unwrap().replay(&mut restored).unwrap();
        assert_eq!(agents(&restored), ["A1", "A3"]);
    }
}
