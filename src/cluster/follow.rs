//! A replica's follower: applies its sites' messages in stream order, with each message's
//! stored time as the time of receipt, and keeps a state snapshot (with the sequence it
//! covers) so that a restart replays only the rest.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{DeliverPolicy, pull};
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::lease::Gate;
use super::{Cluster, ORIGIN_HEADER, PEER_HEADER};
use crate::core::Core;
use crate::engine::Engine;
use crate::journal::record::{Op, decode_payload};
use crate::settings::Settings;
use crate::time::Ms;

/// A consumer silent this long is made again (ticks arrive every second).
const STALL: Duration = Duration::from_secs(3);

/// A state snapshot: `MAGIC | seq: u64 | last tick: i64 | the stream's creation: i64 |
/// engine length: u64 | engine state | the hook gate's pairs told`. [`MAGIC_02`]'s have no
/// creation (read as 0: not known).
const MAGIC: &[u8; 8] = b"fwclst03";
const MAGIC_02: &[u8; 8] = b"fwclst02";

/// Where the follower is in the stream: the sequence applied through, the time of the last
/// tick (housekeeping runs when a tick starts a new minute), and which stream: its creation
/// time in nanoseconds (0: not known yet). A sequence means something only in the stream
/// it was read from: a stream made anew (its store lost) starts again from 1.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    pub seq: u64,
    pub last_tick: Ms,
    pub created: i64,
}

fn snapshot_path(dir: &Path, group: &str) -> PathBuf {
    dir.join(format!("cluster-{group}.state"))
}

/// What a replica starts from: its engine, where in the stream, and the hook gate's pairs
/// told (empty without a snapshot).
pub struct Restored {
    pub engine: Engine,
    pub position: Position,
    pub told: Vec<u8>,
}

/// Restores the replica's engine from its last state snapshot, if there is one.
pub fn restore(settings: &Settings, dir: Option<&Path>, group: &str) -> anyhow::Result<Restored> {
    let fresh = || Restored { engine: Engine::new(settings.clone()), position: Position::default(), told: Vec::new() };
    let Some(dir) = dir else { return Ok(fresh()) };
    let path = snapshot_path(dir, group);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::info!(path = %path.display(), "cluster: no state snapshot; replaying the stream from its first message");
            return Ok(fresh());
        }
        Err(e) => anyhow::bail!("journal.dir: cannot read {}: {e}", path.display()),
    };
    let bad = || anyhow::anyhow!("journal.dir: {} is not a floorwatch cluster state snapshot", path.display());
    let head = match bytes.get(..8) {
        Some(m) if m == MAGIC && bytes.len() >= 40 => 40,
        Some(m) if m == MAGIC_02 && bytes.len() >= 32 => 32,
        _ => return Err(bad()),
    };
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let (seq, last_tick, len) = (word(8), word(16) as i64, word(head - 8) as usize);
    let created = if head == 40 { word(24) as i64 } else { 0 };
    let state = bytes.get(head..head + len).ok_or_else(bad)?;
    let engine = Engine::restore(settings.clone(), state)
        .map_err(|e| anyhow::anyhow!("journal.dir: state snapshot {}: {e}", path.display()))?;
    tracing::info!(path = %path.display(), seq, "cluster: state restored; replaying the stream after it");
    Ok(Restored { engine, position: Position { seq, last_tick, created }, told: bytes[head + len..].to_vec() })
}

/// Writes a state snapshot atomically (a temporary file renamed over the last one).
fn save(dir: &Path, group: &str, pos: Position, state: &[u8], told: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let path = snapshot_path(dir, group);
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(MAGIC)?;
    f.write_all(&pos.seq.to_le_bytes())?;
    f.write_all(&pos.last_tick.to_le_bytes())?;
    f.write_all(&pos.created.to_le_bytes())?;
    f.write_all(&(state.len() as u64).to_le_bytes())?;
    f.write_all(state)?;
    f.write_all(told)?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path)
}

/// Applies the stream until `shutdown`, from just after `pos`.
pub async fn run(
    core: Arc<Core>,
    cluster: Arc<Cluster>,
    gate: Option<Arc<Gate>>,
    mut pos: Position,
    shutdown: CancellationToken,
) {
    let s = cluster.settings.clone();
    let group = s.group();
    let mut last_snapshot = Instant::now();
    let mut snapshot_job: Option<tokio::task::JoinHandle<()>> = None;
    let mut unreadable = crate::hooks::CountingWarn::new(Duration::from_secs(60));
    'consume: loop {
        // The stream (made again when it is gone), told apart from another than the one
        // followed, then its messages from where this replica got.
        let messages = async {
            let mut stream = match cluster.context().get_stream(&s.stream).await {
                Ok(st) => st,
                Err(e) if e.to_string().contains("not found") => {
                    // Its store lost on every server (disks replaced, a volume wiped): made
                    // anew as at start, and read from its first message below.
                    tracing::error!(stream = %s.stream, "cluster: the stream is gone from NATS (its store lost?); making it anew");
                    super::ensure_streams(cluster.context(), &s).await.map_err(|e| e.to_string())?;
                    cluster.context().get_stream(&s.stream).await.map_err(|e| e.to_string())?
                }
                Err(e) => return Err(e.to_string()),
            };
            let (created, last) = {
                let info = stream.info().await.map_err(|e| e.to_string())?;
                (info.created.unix_timestamp_nanos() as i64, info.state.last_sequence)
            };
            if renewed(&pos, created, last) {
                tracing::error!(
                    stream = %s.stream,
                    applied_through = pos.seq,
                    "cluster: the stream is not the one this replica followed (made anew after its store was lost?): \
                     reading it from its first message. What the old stream held after this replica's state \
                     snapshot is lost to it; resend what senders still have"
                );
                cluster.stats.stream_resets.fetch_add(1, Ordering::Relaxed);
                pos.seq = 0;
                if let Some(g) = &gate {
                    g.stream_renewed();
                }
            }
            pos.created = created;
            let deliver_policy = match pos.seq {
                0 => DeliverPolicy::All,
                n => DeliverPolicy::ByStartSequence { start_sequence: n + 1 },
            };
            let config = pull::OrderedConfig { filter_subject: s.filter(), deliver_policy, ..Default::default() };
            let consumer = stream.create_consumer(config).await.map_err(|e| e.to_string())?;
            consumer.messages().await.map_err(|e| e.to_string())
        };
        let mut messages = tokio::select! {
            _ = shutdown.cancelled() => break 'consume,
            m = messages => match m {
                Ok(m) => m,
                Err(e) => {
                    // Once a minute with the count, not once a second for a whole outage.
                    if let Some((tries, _)) = unreadable.add(1) {
                        tracing::warn!(error = %e, tries, "cluster: cannot read the stream; retrying every second (tries since the last warning)");
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        // Every replica publishes its site's tick each second: a consumer that delivers
        // nothing for `STALL` is stalled (a known failure after node losses) and is made
        // again from where it got.
        let mut last_message = Instant::now();
        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => break 'consume,
                n = tokio::time::timeout(Duration::from_secs(1), messages.next()) => n,
            };
            let msg = match next {
                Err(_) => {
                    if last_message.elapsed() > STALL {
                        tracing::debug!(seq = pos.seq, "cluster: no message for a while; reading the stream anew");
                        break;
                    }
                    // Idle: nothing pending.
                    cluster.stats.lag.store(0, Ordering::Relaxed);
                    cluster.stats.caught_up.store(true, Ordering::Relaxed);
                    maybe_snapshot(&core, gate.as_deref(), &s, &group, pos, &mut last_snapshot, &mut snapshot_job);
                    continue;
                }
                Ok(None) => break,
                Ok(Some(Err(e))) => {
                    tracing::warn!(error = %e, "cluster: reading the stream failed; resuming after sequence {}", pos.seq);
                    break;
                }
                Ok(Some(Ok(m))) => m,
            };
            last_message = Instant::now();
            let Ok(info) = msg.info() else { continue };
            let seq = info.stream_sequence;
            if seq <= pos.seq {
                continue;
            }
            let stored = (info.published.unix_timestamp_nanos() / 1_000_000) as Ms;
            cluster.stats.lag.store(info.pending, Ordering::Relaxed);
            if info.pending == 0 {
                cluster.stats.caught_up.store(true, Ordering::Relaxed);
            }
            let site = msg.subject.as_str().split('.').nth(2).unwrap_or("");
            if s.sites.iter().any(|x| x == site) {
                let origin = msg.headers.as_ref().and_then(|h| h.get(ORIGIN_HEADER)).map(|v| v.as_str().to_string());
                match decode_payload(&msg.payload) {
                    Ok(Op::Batch { source, events, .. }) => {
                        let mine = origin.as_deref().is_some_and(|o| cluster.is_mine(o));
                        // Read where it is reported: by the replica that received it.
                        let peer = msg
                            .headers
                            .as_ref()
                            .filter(|_| mine)
                            .and_then(|h| h.get(PEER_HEADER))
                            .and_then(|v| v.as_str().parse().ok());
                        let (landed, alerts) = core.apply_stream(stored, source, events, mine, peer);
                        if let Some(o) = &origin {
                            cluster.landed(o, || landed);
                        }
                        offer(&core, gate.as_deref(), seq, stored, alerts);
                    }
                    Ok(Op::Advance(_)) => {
                        let minute = |t: Ms| t.div_euclid(60_000);
                        let keep = pos.last_tick != 0 && minute(stored) != minute(pos.last_tick);
                        pos.last_tick = pos.last_tick.max(stored);
                        let alerts = core.tick_stream(stored, keep);
                        offer(&core, gate.as_deref(), seq, stored, alerts);
                    }
                    Ok(Op::Housekeeping) => {}
                    Err(e) => {
                        tracing::warn!(seq, error = %e, "cluster: a stream message does not decode (another version?); skipped")
                    }
                }
            }
            pos.seq = seq;
            cluster.stats.applied_seq.store(seq, Ordering::Relaxed);
            maybe_snapshot(&core, gate.as_deref(), &s, &group, pos, &mut last_snapshot, &mut snapshot_job);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A last snapshot makes the next start quick.
    if let Some(dir) = &s.state_dir {
        if let Some(job) = snapshot_job.take() {
            let _ = job.await;
        }
        let state = core.engine().save();
        let told = gate.as_ref().map(|g| g.save_told()).unwrap_or_default();
        let dir = dir.clone();
        let _ = tokio::task::spawn_blocking(move || save(&dir, &group, pos, &state, &told)).await;
    }
}

/// Whether the stream found (made at `created`, holding messages through `last`) is another
/// than the one `pos` was read from: made at another time, or (its making not known, a
/// snapshot of an older build) holding fewer messages than were applied.
fn renewed(pos: &Position, created: i64, last: u64) -> bool {
    match pos.created {
        0 => pos.seq > last,
        c => c != created,
    }
}

/// Alerts to the wallboards at once, and to the hook gate with their place in the stream.
fn offer(core: &Core, gate: Option<&Gate>, seq: u64, stored: Ms, alerts: Vec<Arc<crate::alert::StoredAlert>>) {
    if alerts.is_empty() {
        return;
    }
    if let Some(g) = gate {
        g.offer(seq, stored, &alerts);
    }
    core.fan_out(alerts);
}

fn maybe_snapshot(
    core: &Core,
    gate: Option<&Gate>,
    s: &super::ClusterSettings,
    group: &str,
    pos: Position,
    last: &mut Instant,
    job: &mut Option<tokio::task::JoinHandle<()>>,
) {
    let Some(dir) = &s.state_dir else { return };
    if last.elapsed() < s.snapshot_interval || job.as_ref().is_some_and(|j| !j.is_finished()) || pos.seq == 0 {
        return;
    }
    *last = Instant::now();
    let state = core.engine().save();
    let told = gate.map(|g| g.save_told()).unwrap_or_default();
    let (dir, group) = (dir.clone(), group.to_string());
    *job = Some(tokio::task::spawn_blocking(move || {
        if let Err(e) = save(&dir, &group, pos, &state, &told) {
            tracing::warn!(error = %e, "cluster: cannot write the state snapshot");
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_round_trips_with_its_position() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings::default();
        let engine = Engine::new(settings.clone());
        let pos = Position { seq: 42, last_tick: 1_700_000_000_000, created: 1_690_000_000_123_456_789 };
        save(dir.path(), "sh-01", pos, &engine.save(), b"told").unwrap();
        let got = restore(&settings, Some(dir.path()), "sh-01").unwrap();
        assert_eq!((got.position, got.told.as_slice()), (pos, &b"told"[..]));
        let none = restore(&settings, Some(dir.path()), "bj-02").unwrap();
        assert_eq!(none.position, Position::default(), "another group's snapshot is not this one's");
        std::fs::write(snapshot_path(dir.path(), "bad"), b"not a snapshot at all, no").unwrap();
        let bad = restore(&settings, Some(dir.path()), "bad").map(|_| ()).unwrap_err();
        assert!(bad.to_string().contains("not a floorwatch"), "{bad}");
        // A snapshot of the build before (no creation): read, the stream's making not known.
        let state = engine.save();
        let mut old = b"fwclst02".to_vec();
        for w in [42u64, 1_700_000_000_000, state.len() as u64] {
            old.extend_from_slice(&w.to_le_bytes());
        }
        old.extend_from_slice(&state);
        old.extend_from_slice(b"told");
        std::fs::write(snapshot_path(dir.path(), "old"), old).unwrap();
        let got = restore(&settings, Some(dir.path()), "old").unwrap();
        assert_eq!((got.position, got.told.as_slice()), (Position { created: 0, ..pos }, &b"told"[..]));
    }

    /// A stream made anew (its store lost) is told apart from the one followed: by its
    /// creation time, or, that not known, by holding fewer messages than were applied.
    #[test]
    fn a_stream_made_anew_is_told_apart() {
        let pos = Position { seq: 861, last_tick: 0, created: 7 };
        assert!(!renewed(&pos, 7, 900));
        assert!(renewed(&pos, 8, 900), "made at another time, even past the sequence");
        assert!(renewed(&pos, 8, 3));
        let old = Position { created: 0, ..pos };
        assert!(renewed(&old, 8, 3));
        assert!(!renewed(&old, 8, 861));
        assert!(!renewed(&Position::default(), 8, 0), "a fresh replica");
    }
}
