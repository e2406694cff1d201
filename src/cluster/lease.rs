//! Hooks delivered once across the cluster: one replica at a time holds a lease and
//! delivers; the others keep what they would have delivered, numbered by its place in the
//! stream, so a replica taking over goes on after the last round the holder recorded as
//! delivered — neither repeating nor skipping.
//!
//! - **The lease** is a key in `<stream>_LEASE` (one message per subject, `max_age` =
//!   `cluster.lease_secs`): created only when absent (`Nats-Expected-Last-Subject-Sequence:
//!   0`), renewed by its revision, gone when its holder stops renewing for `lease_secs`.
//! - **The cursor** is a key in `<stream>_HOOKS`, written by revision: `done intent`, the
//!   last notification delivered and the last one handed to the hooks. A round is recorded
//!   as intended before it is handed and as done once the hooks are idle.
//! - **Notification ids** are `stream sequence << 16 | position`: every replica applies the
//!   same messages in the same order, so every replica gives the same alert the same id,
//!   and skips the same (alert id, state) pairs already told.
//!
//! A holder that cannot renew stops starting rounds a margin before another could take the
//! lease. A new holder that finds a round intended but not done waits for its old holder
//! to record it; only when that holder died during the round is the round delivered again
//! (a Standard Webhooks receiver de-duplicates it by `webhook-id`).

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::message::PublishMessage as Publish;
use tokio_util::sync::CancellationToken;

use super::Cluster;
use crate::alert::{Alert, AlertState, StoredAlert};
use crate::hooks::Hooks;
use crate::time::Ms;

/// Notifications a replica keeps for a takeover.
const KEEP: usize = 20_000;
/// With no cursor yet (a new cluster, or hooks just configured), a new holder delivers
/// only notifications from messages stored this recently: not a day of history caught up.
const FRESH_MS: Ms = 60_000;

pub struct Gate {
    hooks: Hooks,
    cluster: Arc<Cluster>,
    state: Mutex<State>,
    /// Wakes the lease task when a notification arrives.
    wake: tokio::sync::Notify,
    /// The follower found the stream made anew: notification ids start again from its
    /// first message, so the holder's cursor starts again too.
    renewed: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct State {
    /// (id, the message's stored time, the alert), oldest first.
    kept: VecDeque<(u64, Ms, Arc<StoredAlert>)>,
    /// What every hook queue would skip as told already (an alert corrected with the same
    /// id and state): skipped here, on every replica alike, so a new holder skips it too.
    /// Kept in the state snapshot with the engine, so a restarted replica skips alike.
    seen: Told,
}

/// (alert id, firing?) pairs told, oldest forgotten first past [`TOLD`].
#[derive(Default)]
struct Told {
    set: std::collections::HashSet<(String, bool)>,
    order: VecDeque<(String, bool)>,
}

const TOLD: usize = 65_536;

impl Told {
    fn insert(&mut self, id: &str, firing: bool) -> bool {
        let k = (id.to_string(), firing);
        if self.set.contains(&k) {
            return false;
        }
        self.set.insert(k.clone());
        self.order.push_back(k);
        if self.order.len() > TOLD
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }

    fn forget(&mut self, id: &str) {
        for firing in [true, false] {
            self.set.remove(&(id.to_string(), firing));
        }
        self.order.retain(|(i, _)| i != id);
    }
}

impl Gate {
    pub fn new(hooks: Hooks, cluster: Arc<Cluster>) -> Arc<Gate> {
        Arc::new(Gate {
            hooks,
            cluster,
            state: Mutex::new(State::default()),
            wake: tokio::sync::Notify::new(),
            renewed: Default::default(),
        })
    }

    /// The stream was made anew (its store lost): what was kept is of the old one (told, or
    /// lost with it), and the ids of the new one's notifications start again from its first
    /// message: the holder's cursor goes back to the start.
    pub fn stream_renewed(&self) {
        self.lock().kept.clear();
        self.renewed.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The alerts applying stream message `seq` (stored at `stored`) gave, in order.
    pub fn offer(&self, seq: u64, stored: Ms, alerts: &[Arc<StoredAlert>]) {
        let mut st = self.lock();
        for (k, a) in alerts.iter().enumerate() {
            if a.retracted {
                st.seen.forget(&a.id);
            } else if !st.seen.insert(&a.id, a.state == AlertState::Firing) {
                continue;
            }
            let id = seq << 16 | (k as u64).min(0xffff);
            st.kept.push_back((id, stored, a.clone()));
            if st.kept.len() > KEEP {
                st.kept.pop_front();
            }
        }
        drop(st);
        self.wake.notify_one();
    }

    /// The pairs told, for the state snapshot (in order).
    pub fn save_told(&self) -> Vec<u8> {
        let st = self.lock();
        let told: Vec<&(String, bool)> = st.seen.order.iter().collect();
        postcard::to_allocvec(&told).unwrap_or_default()
    }

    /// Restores the pairs told from a state snapshot.
    pub fn restore_told(&self, bytes: &[u8]) {
        let Ok(told) = postcard::from_bytes::<Vec<(String, bool)>>(bytes) else { return };
        let mut st = self.lock();
        for (id, firing) in told {
            st.seen.insert(&id, firing);
        }
    }

    /// Where a new holder starts: after `cursor`; with none, after everything but what is
    /// fresh. Warns when the cursor is older than what this replica keeps.
    fn start_after(&self, cursor: Option<u64>, now: Ms) -> u64 {
        let st = self.lock();
        match cursor {
            Some(c) => {
                if let Some(&(oldest, _, _)) = st.kept.front()
                    && (oldest >> 16) > (c >> 16) + 1
                    && st.kept.len() >= KEEP
                {
                    self.cluster.stats.hooks_skipped.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        cursor = c,
                        oldest,
                        "cluster: notifications after the hook cursor are older than this replica keeps; some may not be delivered"
                    );
                }
                c
            }
            None => {
                st.kept.iter().take_while(|(_, stored, _)| now - stored > FRESH_MS).map(|k| k.0).last().unwrap_or(0)
            }
        }
    }

    /// The last id of the next round after `after`, or `None` when nothing waits.
    fn round_end(&self, after: u64) -> Option<u64> {
        let st = self.lock();
        let waiting = || st.kept.iter().filter(|k| k.0 > after);
        let n = round_len(waiting().map(|k| k.2.alert()));
        waiting().take(n).last().map(|k| k.0)
    }

    /// Hands the hooks the notifications after `after` up to `end` (a [`Gate::round_end`]);
    /// returns the last id handed, or `after` when there was none. Forgets what is done.
    fn hand(&self, after: u64, end: u64) -> u64 {
        let mut st = self.lock();
        while st.kept.front().is_some_and(|k| k.0 <= after) {
            st.kept.pop_front();
        }
        let round = || st.kept.iter().take_while(|k| k.0 <= end);
        self.hooks.notify_all(round().map(|k| k.2.alert()));
        round().last().map_or(after, |k| k.0)
    }
}

/// Notifications handed to the hooks at once; the cursor is written after each round.
const ROUND: usize = 1000;

/// How many of the notifications `waiting` the next round hands: [`ROUND`], or more so
/// that no round ends between a retraction and the notification after it, which hooks
/// read together with it (`Hooks::notify_all`). Both come from one message, offered at
/// once, so the one that belongs with a retraction is there whenever the retraction is.
fn round_len<'a>(waiting: impl Iterator<Item = &'a Alert>) -> usize {
    let mut n = ROUND;
    let mut rest = waiting.skip(ROUND - 1).peekable();
    while rest.next().is_some_and(|last| last.retracted) && rest.peek().is_some() {
        n += 1;
    }
    n
}

/// Holds or waits for the lease and, while holding it, delivers in rounds: record the
/// round's end as intended, hand it to the hooks, wait until they are idle, record it as
/// done, repeat.
///
/// A holder that cannot renew in time stops starting rounds but still records the round
/// it delivered as done (by revision: once another holder wrote, a late write fails). A
/// new holder that finds a round intended and not done waits up to [`UNCERTAIN`] for the
/// old holder to record it (it may be alive, cut off from NATS for a while); past that,
/// the old holder died during the round and the round is delivered again — the only
/// repeat there can be, with the same `webhook-id` to de-duplicate by.
pub async fn run(gate: Arc<Gate>, shutdown: CancellationToken) {
    let c = gate.cluster.clone();
    let s = &c.settings;
    let group = s.group();
    let lease_key = format!("fw.lease.{}.{}", s.stream, group);
    let cursor_key = format!("fw.hooks.{}.{}", s.stream, group);
    let cursor_stream = format!("{}_HOOKS", s.stream);
    let lease = s.lease;
    // Renew three times per lease; stop starting rounds a margin before it could expire.
    let renew_every = lease / 3;
    let margin = (lease / 4).max(Duration::from_millis(200));
    // The lease's revision while this replica holds it (or believes so).
    let mut rev: Option<u64> = None;
    let mut valid_until = Instant::now();
    let mut last_renew = Instant::now() - lease;
    // Taken, the cursor not read yet: from when it may be, and since when a round of the
    // old holder's has been found intended and not done.
    let mut settle: Option<Instant> = None;
    let mut uncertain_since: Option<Instant> = None;
    let mut active = false;
    let mut cursor = Cursor::default();
    let mut every = tokio::time::interval(Duration::from_millis(100));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = every.tick() => {}
            _ = gate.wake.notified() => {}
        }
        if gate.renewed.swap(false, Ordering::AcqRel) {
            // The stream made anew: its notification ids start from 1 again. A holder
            // records its cursor back at the start (by the revision found: the cursor's
            // stream may have been lost too); another replica reads it when it takes over.
            let rev = match read_cursor(&c, &cursor_stream, &cursor_key).await {
                Ok(found) => found.map_or(0, |f| f.rev),
                Err(_) => cursor.rev,
            };
            let start = Cursor { done: 0, intent: 0, rev };
            cursor = start;
            if active {
                match write_cursor(&c, &cursor_key, start).await {
                    Ok(r) => cursor.rev = r,
                    Err(e) => {
                        tracing::warn!(error = %e, "cluster: recording the hook cursor anew failed; retried with the next round")
                    }
                }
                tracing::warn!("cluster: the stream was made anew: hook delivery goes on from its first message");
            }
        }
        // First, record a round delivered as done, holder or not: a new holder waits for it.
        if cursor.intent > cursor.done && gate.hooks.idle() {
            let done = Cursor { done: cursor.intent, ..cursor };
            match write_cursor(&c, &cursor_key, done).await {
                Ok(r) => cursor = Cursor { rev: r, ..done },
                Err(e) => {
                    tracing::warn!(error = %e, "cluster: recording the hook cursor failed; delivery waits");
                    if let Ok(found) = read_cursor(&c, &cursor_stream, &cursor_key).await {
                        let found = found.unwrap_or_default();
                        if found.rev != cursor.rev {
                            // Another holder wrote it: its word stands.
                            cursor = found;
                        }
                    }
                }
            }
        }
        if last_renew.elapsed() >= renew_every || rev.is_none() && last_renew.elapsed() >= Duration::from_millis(250) {
            let sent = Instant::now();
            last_renew = sent;
            let publish =
                Publish::build().payload(c.instance.clone().into()).expected_last_subject_sequence(rev.unwrap_or(0));
            match publish_acked(&c, &lease_key, publish).await {
                Ok(seq) => {
                    if rev.is_none() {
                        settle = Some(Instant::now() + SETTLE);
                        uncertain_since = None;
                        tracing::debug!("cluster: hook-delivery lease taken; reading the cursor shortly");
                    }
                    rev = Some(seq);
                    valid_until = sent + lease - margin;
                }
                Err(e) if rev.is_some() => {
                    // A wrong revision: the lease lapsed, another may hold it now.
                    if e.contains("wrong last sequence") || e.contains("10071") {
                        rev = None;
                        settle = None;
                        if active {
                            active = false;
                            c.stats.lease_held.store(false, Ordering::Relaxed);
                            tracing::warn!("cluster: hook-delivery lease lost; another replica delivers");
                        }
                    } else {
                        tracing::warn!(error = %e, "cluster: renewing the hook-delivery lease failed");
                    }
                }
                Err(_) => {}
            }
        }
        if let Some(at) = settle
            && Instant::now() >= at
            && rev.is_some()
        {
            match read_cursor(&c, &cursor_stream, &cursor_key).await {
                Ok(Some(found))
                    if found.intent > found.done && uncertain_since.is_none_or(|t| t.elapsed() < UNCERTAIN) =>
                {
                    // The old holder's last round is not recorded as done yet: wait for it.
                    uncertain_since.get_or_insert_with(Instant::now);
                    settle = Some(Instant::now() + Duration::from_millis(100));
                }
                Ok(found) => {
                    settle = None;
                    active = true;
                    let after = match found {
                        Some(f) if f.intent > f.done => {
                            tracing::warn!(
                                done = f.done,
                                intended = f.intent,
                                "cluster: the last hook round of the old holder was never recorded as done; delivering it again"
                            );
                            Some(f.done)
                        }
                        Some(f) => Some(f.done),
                        None => None,
                    };
                    let start = gate.start_after(after, crate::core::wall_ms());
                    let r = found.map_or(0, |f| f.rev);
                    cursor = Cursor { done: start, intent: start, rev: r };
                    c.stats.hook_takeovers.fetch_add(1, Ordering::Relaxed);
                    c.stats.lease_held.store(true, Ordering::Relaxed);
                    tracing::info!(cursor = ?after, "cluster: this replica now delivers the hooks");
                }
                Err(e) => tracing::warn!(error = %e, "cluster: cannot read the hook cursor; not delivering yet"),
            }
        }
        if active && rev.is_some() && Instant::now() < valid_until && cursor.intent == cursor.done && gate.hooks.idle()
        {
            let Some(end) = gate.round_end(cursor.done) else { continue };
            let intended = Cursor { intent: end, ..cursor };
            match write_cursor(&c, &cursor_key, intended).await {
                Ok(r) => {
                    cursor = Cursor { rev: r, ..intended };
                    let handed = gate.hand(cursor.done, end);
                    debug_assert_eq!(handed, end);
                    // Record it as done the moment the hooks are through with it: the
                    // shorter the round, the less a holder's death can leave in doubt.
                    let started = Instant::now();
                    while !gate.hooks.idle() && started.elapsed() < (lease / 6).min(Duration::from_millis(500)) {
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                    if gate.hooks.idle() {
                        let done = Cursor { done: cursor.intent, ..cursor };
                        if let Ok(r) = write_cursor(&c, &cursor_key, done).await {
                            cursor = Cursor { rev: r, ..done };
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cluster: recording the next hook round failed; delivery waits"),
            }
        }
    }
    // Leaving: record the round delivered (hooks get a second to finish it), then let
    // another take over at once rather than wait for the lease to lapse.
    let deadline = Instant::now() + Duration::from_secs(1);
    while cursor.intent > cursor.done && !gate.hooks.idle() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if cursor.intent > cursor.done && gate.hooks.idle() {
        let _ = write_cursor(&c, &cursor_key, Cursor { done: cursor.intent, ..cursor }).await;
    }
    if rev.is_some() {
        c.stats.lease_held.store(false, Ordering::Relaxed);
        if let Ok(stream) = c.context().get_stream(format!("{}_LEASE", s.stream)).await {
            let _ = stream.purge().filter(lease_key.clone()).await;
        }
    }
}

/// How long a new holder waits before reading the cursor.
const SETTLE: Duration = Duration::from_millis(500);
/// How long a new holder waits for the old holder to record a round it started: longer
/// than a stream leader's re-election (5–12 s) and the retries around it, so an old holder
/// that was only cut off has recorded it by then.
const UNCERTAIN: Duration = Duration::from_secs(30);

/// How far hook delivery got: every notification up to `done` is delivered; those up to
/// `intent` were handed to the hooks (a round in flight when `intent > done`). `rev` is
/// the record's revision, by which the next write is made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Cursor {
    done: u64,
    intent: u64,
    rev: u64,
}

/// Writes the cursor by revision: the new revision.
async fn write_cursor(c: &Cluster, key: &str, cur: Cursor) -> Result<u64, String> {
    let publish =
        Publish::build().payload(format!("{} {}", cur.done, cur.intent).into()).expected_last_subject_sequence(cur.rev);
    publish_acked(c, key, publish).await
}

/// Publishes and waits (2 s at most) for the acknowledgement: the stored sequence.
async fn publish_acked(c: &Cluster, subject: &str, publish: Publish) -> Result<u64, String> {
    let f = c.context().send_publish(subject.to_string(), publish).await.map_err(|e| e.to_string())?;
    let ack = tokio::time::timeout(Duration::from_secs(2), f)
        .await
        .map_err(|_| "no acknowledgement".to_string())?
        .map_err(|e| e.to_string())?;
    Ok(ack.sequence)
}

/// The last recorded cursor, or `None` when there is none yet.
async fn read_cursor(c: &Cluster, stream: &str, key: &str) -> Result<Option<Cursor>, String> {
    let stream = c.context().get_stream(stream).await.map_err(|e| e.to_string())?;
    match stream.get_last_raw_message_by_subject(key).await {
        Ok(m) => {
            let text = String::from_utf8_lossy(&m.payload);
            let bad = || format!("hook cursor {text:?} is not two numbers");
            let mut words = text.split_whitespace().map(|w| w.parse::<u64>());
            let done = words.next().ok_or_else(bad)?.map_err(|_| bad())?;
            let intent = words.next().unwrap_or(Ok(done)).map_err(|_| bad())?;
            Ok(Some(Cursor { done, intent: intent.max(done), rev: m.sequence }))
        }
        Err(e) if e.kind() == async_nats::jetstream::stream::LastRawMessageErrorKind::NoMessageFound => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::AlertKind;

    fn alert(retracted: bool) -> Alert {
        Alert {
            id: Alert::make_id(AlertKind::AuxCluster, "T1", None, 0),
            kind: AlertKind::AuxCluster,
            team: "T1".into(),
            queue: None,
            agent: None,
            severity: AlertKind::AuxCluster.severity(),
            state: AlertState::Resolved,
            started_at: 0,
            fired_at: 60_000,
            resolved_at: Some(120_000),
            value: 0.5,
            threshold: 0.2,
            message: String::new(),
            agents: vec![],
            interval: None,
            retracted,
        }
    }

    /// A round never ends on a retraction that something follows: `retracted` are the
    /// places of the retractions among `waiting` notifications.
    #[test]
    fn a_round_does_not_end_between_a_retraction_and_what_follows() {
        let (plain, taken_back) = (alert(false), alert(true));
        let cases: &[(usize, &[usize], usize)] = &[
            (10, &[], ROUND),
            (ROUND + 5, &[], ROUND),
            (ROUND + 5, &[ROUND - 2, ROUND], ROUND),
            (ROUND + 5, &[ROUND - 1], ROUND + 1),
            // The one after is a retraction too: it takes its follower along.
            (ROUND + 5, &[ROUND - 1, ROUND], ROUND + 2),
            // Nothing follows (yet): the round ends there.
            (ROUND, &[ROUND - 1], ROUND),
        ];
        for &(waiting, retracted, want) in cases {
            let v: Vec<&Alert> =
                (0..waiting).map(|i| if retracted.contains(&i) { &taken_back } else { &plain }).collect();
            assert_eq!(round_len(v.into_iter()), want, "{waiting} waiting, retractions at {retracted:?}");
        }
    }
}
