//! The write-ahead journal: every state-changing step of the engine, appended in order,
//! checksummed, and made durable by group commit; plus periodic state snapshots, after
//! which the segments they cover are deleted.
//!
//! Layout of `journal.dir`:
//! - `LOCK` — held (flock) while a daemon uses the directory.
//! - `journal-<first lsn>.log` — segments of frames (see [`record`]); a new one is
//!   started at every start-up and every snapshot.
//! - `state-<lsn>.bin` — the engine's state after record `lsn` (magic, format, checksum).
//!
//! Appends happen under the engine lock, so the journal's order is the order in which
//! the engine saw the steps, and a snapshot taken under the same lock covers exactly the
//! records up to its lsn. Recovery loads the newest snapshot and replays every later
//! record through the same [`Engine::apply_batch`] the live path uses.

pub mod record;

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::engine::{Engine, OpLog};
pub use record::{Op, Payload};

const STATE_MAGIC: &[u8; 8] = b"FWSTATE1";
/// While the disk refuses writes, at most this much is held in memory; past it the
/// journal gives up (acknowledgements fail, ingest goes on in memory) until restart.
const MAX_PENDING: usize = 512 << 20;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal directory {dir}: {source}")]
    Io { dir: PathBuf, source: io::Error },
    #[error("journal directory {0} is in use by another floorwatch (its LOCK is held)")]
    Locked(PathBuf),
    #[error("{path}: {msg}")]
    State { path: PathBuf, msg: String },
}

/// The journal failed to write and gave up: what was appended may not be durable.
#[derive(Debug, thiserror::Error)]
#[error("the journal cannot write to disk; events are applied but not durable")]
pub struct NotDurable;

/// Counters for `/metrics`.
#[derive(Default)]
pub struct Stats {
    pub records: AtomicU64,
    pub bytes: AtomicU64,
    pub fsyncs: AtomicU64,
    pub errors: AtomicU64,
    pub snapshots: AtomicU64,
    pub snapshot_bytes: AtomicU64,
}

struct Pending {
    buf: Vec<u8>,
    next_lsn: u64,
    /// Byte offset of the last frame when it is an advance (coalesced with the next one).
    last_advance: Option<usize>,
    /// Something other than advances waits to be made durable.
    needs_sync: bool,
    /// Start a new segment at (byte offset in `buf`, its first lsn).
    splits: Vec<(usize, u64)>,
    /// Delete segments and snapshots wholly covered by the snapshot at this lsn.
    compact_upto: Option<u64>,
    closing: bool,
    broken: bool,
}

struct Inner {
    dir: PathBuf,
    pending: Mutex<Pending>,
    wake: Condvar,
    /// (highest durable lsn, broken)
    durable: watch::Sender<(u64, bool)>,
    interval: Duration,
    stats: Stats,
}

/// Handle to an open journal (cheap to clone).
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Inner>,
    writer: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
    _lock: Arc<File>,
}

/// An opened journal directory, before its records are replayed.
pub struct Recovery {
    dir: PathBuf,
    lock: File,
    state: Option<(u64, PathBuf)>,
    segments: Vec<(u64, PathBuf)>,
}

/// What recovery found, for the start-up log line.
#[derive(Debug, Default)]
pub struct Replayed {
    pub snapshot_lsn: Option<u64>,
    pub records: u64,
    pub segments: usize,
    pub last_lsn: u64,
    /// Bytes cut from the end of the last segment (an unacknowledged, torn write).
    pub torn_bytes: u64,
}

fn io_err(dir: &Path) -> impl FnOnce(io::Error) -> JournalError + '_ {
    move |source| JournalError::Io { dir: dir.to_path_buf(), source }
}

fn parse_name(name: &str, prefix: &str, suffix: &str) -> Option<u64> {
    name.strip_prefix(prefix)?.strip_suffix(suffix)?.parse().ok()
}

fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("journal-{first:020}.log"))
}

fn state_path(dir: &Path, lsn: u64) -> PathBuf {
    dir.join(format!("state-{lsn:020}.bin"))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Recovery {
    /// Creates or opens `dir` and takes its lock.
    pub fn open(dir: &Path) -> Result<Recovery, JournalError> {
        if dir.exists() && !dir.is_dir() {
            let source = io::Error::new(io::ErrorKind::NotADirectory, "is a file, not a directory");
            return Err(JournalError::Io { dir: dir.to_path_buf(), source });
        }
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let lock =
            OpenOptions::new().create(true).truncate(false).write(true).open(dir.join("LOCK")).map_err(io_err(dir))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(JournalError::Locked(dir.to_path_buf())),
            Err(fs::TryLockError::Error(e)) => return Err(io_err(dir)(e)),
        }
        let mut state = None;
        let mut segments = Vec::new();
        for entry in fs::read_dir(dir).map_err(io_err(dir))? {
            let entry = entry.map_err(io_err(dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(first) = parse_name(&name, "journal-", ".log") {
                segments.push((first, entry.path()));
            } else if let Some(lsn) = parse_name(&name, "state-", ".bin")
                && state.as_ref().is_none_or(|(l, _)| lsn > *l)
            {
                state = Some((lsn, entry.path()));
            }
        }
        segments.sort();
        Ok(Recovery { dir: dir.to_path_buf(), lock, state, segments })
    }

    /// Whether the directory holds no state snapshot and no journal segment.
    pub fn is_empty(&self) -> bool {
        self.state.is_none() && self.segments.is_empty()
    }

    /// The newest snapshot's engine state, if any: (lsn, bytes for [`Engine::restore`]).
    pub fn snapshot(&self) -> Result<Option<(u64, Vec<u8>)>, JournalError> {
        let Some((lsn, path)) = &self.state else { return Ok(None) };
        let bytes = fs::read(path).map_err(io_err(&self.dir))?;
        let bad = |msg: &str| JournalError::State { path: path.clone(), msg: msg.to_string() };
        if bytes.len() < 12 || &bytes[..8] != STATE_MAGIC {
            return Err(bad("not a floorwatch state snapshot"));
        }
        let crc = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        if crc32fast::hash(&bytes[12..]) != crc {
            return Err(bad("checksum mismatch (damaged on disk); move it aside to start from the journal alone"));
        }
        Ok(Some((*lsn, bytes[12..].to_vec())))
    }

    /// Replays every record after the snapshot into `engine`, cutting a torn tail off the
    /// last segment. Progress is logged for long replays.
    pub fn replay(&mut self, engine: &mut Engine) -> Result<Replayed, JournalError> {
        let after = self.state.as_ref().map(|(l, _)| *l).unwrap_or(0);
        let mut out =
            Replayed { snapshot_lsn: self.state.as_ref().map(|(l, _)| *l), last_lsn: after, ..Default::default() };
        let started = Instant::now();
        let mut last_log = started;
        let mut buf = Vec::new();
        let n_segments = self.segments.len();
        for (i, (_, path)) in self.segments.iter().enumerate() {
            let file = File::open(path).map_err(io_err(&self.dir))?;
            let size = file.metadata().map_err(io_err(&self.dir))?.len();
            let mut r = BufReader::with_capacity(1 << 20, file);
            let mut offset = 0u64;
            out.segments += 1;
            loop {
                match record::read_frame(&mut r, &mut buf).map_err(io_err(&self.dir))? {
                    Ok(None) => break,
                    Ok(Some((lsn, op))) => {
                        offset += (8 + buf.len()) as u64;
                        if lsn <= out.last_lsn {
                            continue; // covered by the snapshot (or seen already)
                        }
                        op.apply(engine);
                        out.records += 1;
                        out.last_lsn = out.last_lsn.max(lsn);
                        if last_log.elapsed() >= Duration::from_secs(2) {
                            last_log = Instant::now();
                            tracing::info!(
                                segment = %path.display(), records = out.records,
                                "journal replay in progress ({}/{} segments)", i + 1, n_segments
                            );
                        }
                    }
                    Err(e) => {
                        let torn = size - offset;
                        if i + 1 == n_segments {
                            tracing::warn!(
                                segment = %path.display(), offset, bytes = torn, error = %e,
                                "journal ends in an incomplete record (a write cut short, never acknowledged); cutting it off"
                            );
                        } else {
                            tracing::error!(
                                segment = %path.display(), offset, bytes = torn, error = %e,
                                "journal segment damaged; records after this point in it are lost"
                            );
                        }
                        OpenOptions::new()
                            .write(true)
                            .open(path)
                            .and_then(|f| f.set_len(offset).and_then(|_| f.sync_all()))
                            .map_err(io_err(&self.dir))?;
                        out.torn_bytes += torn;
                        break;
                    }
                }
            }
        }
        if out.records > 0 {
            tracing::info!(
                records = out.records,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "journal replayed"
            );
        }
        Ok(out)
    }

    /// Starts appending after `last_lsn` in a new segment, with group commit every
    /// `interval`.
    pub fn start(self, last_lsn: u64, interval: Duration) -> Result<Journal, JournalError> {
        let first = last_lsn + 1;
        let path = segment_path(&self.dir, first);
        let file = OpenOptions::new().create(true).append(true).open(&path).map_err(io_err(&self.dir))?;
        sync_dir(&self.dir).map_err(io_err(&self.dir))?;
        let (durable, _) = watch::channel((last_lsn, false));
        let inner = Arc::new(Inner {
            dir: self.dir.clone(),
            pending: Mutex::new(Pending {
                buf: Vec::with_capacity(1 << 20),
                next_lsn: first,
                last_advance: None,
                needs_sync: false,
                splits: Vec::new(),
                compact_upto: None,
                closing: false,
                broken: false,
            }),
            wake: Condvar::new(),
            durable,
            interval,
            stats: Stats::default(),
        });
        let w = inner.clone();
        let segments: Vec<u64> = self.segments.iter().map(|(f, _)| *f).collect();
        let handle = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || writer(w, file, first, segments))
            .map_err(io_err(&self.dir))?;
        Ok(Journal { inner, writer: Arc::new(Mutex::new(Some(handle))), _lock: Arc::new(self.lock) })
    }
}

impl Journal {
    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.inner.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends a record; returns its lsn. Call under the engine lock (order matters).
    pub fn append(&self, p: &Payload) -> u64 {
        let mut pend = self.pending();
        if p.is_advance()
            && let Some(at) = pend.last_advance
        {
            // Consecutive advances: the later one alone has the same effect.
            let lsn = pend.next_lsn - 1;
            pend.buf.truncate(at);
            p.frame_into(lsn, &mut pend.buf);
            return lsn;
        }
        let lsn = pend.next_lsn;
        pend.next_lsn += 1;
        let at = pend.buf.len();
        p.frame_into(lsn, &mut pend.buf);
        self.inner.stats.records.fetch_add(1, Ordering::Relaxed);
        if p.is_advance() {
            // Alone, an advance need not be synced: if lost, restart advances anyway.
            pend.last_advance = Some(at);
        } else {
            pend.last_advance = None;
            if !pend.needs_sync {
                pend.needs_sync = true;
                self.inner.wake.notify_one();
            }
        }
        lsn
    }

    /// The lsn of the last appended record.
    pub fn last_lsn(&self) -> u64 {
        self.pending().next_lsn - 1
    }

    /// Waits until record `lsn` is on disk.
    pub async fn durable(&self, lsn: u64) -> Result<(), NotDurable> {
        let mut rx = self.inner.durable.subscribe();
        match rx.wait_for(|&(d, broken)| d >= lsn || broken).await {
            Ok(v) if v.0 >= lsn => Ok(()),
            _ => Err(NotDurable),
        }
    }

    pub fn is_broken(&self) -> bool {
        self.inner.durable.borrow().1
    }

    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    /// Takes a snapshot of `engine` (call under the engine lock, which covers every
    /// append): returns a job that writes it and then compacts, to run off the lock.
    pub fn snapshot(&self, engine: &Engine) -> impl FnOnce() + Send + 'static {
        let bytes = engine.save();
        let lsn = {
            let mut pend = self.pending();
            let lsn = pend.next_lsn - 1;
            let at = pend.buf.len();
            pend.splits.push((at, lsn + 1));
            pend.last_advance = None;
            pend.needs_sync = true;
            self.inner.wake.notify_one();
            lsn
        };
        let inner = self.inner.clone();
        move || {
            let started = Instant::now();
            let size = bytes.len();
            match write_state(&inner.dir, lsn, &bytes) {
                Ok(()) => {
                    inner.stats.snapshots.fetch_add(1, Ordering::Relaxed);
                    inner.stats.snapshot_bytes.store(size as u64, Ordering::Relaxed);
                    tracing::info!(
                        lsn,
                        bytes = size,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "state snapshot written"
                    );
                    let mut pend = inner.pending.lock().unwrap_or_else(|p| p.into_inner());
                    pend.compact_upto = Some(pend.compact_upto.map_or(lsn, |l| l.max(lsn)));
                    inner.wake.notify_one();
                }
                Err(e) => {
                    inner.stats.errors.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(error = %e, dir = %inner.dir.display(), "state snapshot failed; the journal keeps growing until one succeeds");
                }
            }
        }
    }

    /// Writes and syncs everything appended, then stops the writer.
    pub fn close(&self) {
        {
            let mut pend = self.pending();
            pend.closing = true;
            self.inner.wake.notify_one();
        }
        let handle = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            let _ = h.join();
        }
    }

    /// Journal counters in Prometheus text format.
    pub fn render_metrics(&self, out: &mut String) {
        use std::fmt::Write as _;
        let s = &self.inner.stats;
        let rows: [(&str, &str, &str, u64); 7] = [
            (
                "floorwatch_journal_records_total",
                "counter",
                "Records appended to the journal.",
                s.records.load(Ordering::Relaxed),
            ),
            (
                "floorwatch_journal_bytes_total",
                "counter",
                "Bytes written to journal segments.",
                s.bytes.load(Ordering::Relaxed),
            ),
            (
                "floorwatch_journal_fsyncs_total",
                "counter",
                "Group commits (one fsync each).",
                s.fsyncs.load(Ordering::Relaxed),
            ),
            (
                "floorwatch_journal_errors_total",
                "counter",
                "Failed journal or snapshot writes.",
                s.errors.load(Ordering::Relaxed),
            ),
            (
                "floorwatch_journal_snapshots_total",
                "counter",
                "State snapshots written.",
                s.snapshots.load(Ordering::Relaxed),
            ),
            (
                "floorwatch_journal_snapshot_bytes",
                "gauge",
                "Size of the last state snapshot.",
                s.snapshot_bytes.load(Ordering::Relaxed),
            ),
            (
                "floorwatch_journal_durable_lsn",
                "gauge",
                "Highest journal record known to be on disk.",
                self.inner.durable.borrow().0,
            ),
        ];
        for (name, kind, help, v) in rows {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
        }
        let broken = self.is_broken() as u8;
        let _ = writeln!(
            out,
            "# HELP floorwatch_journal_broken 1 when the journal gave up writing (events are not durable).\n# TYPE floorwatch_journal_broken gauge\nfloorwatch_journal_broken {broken}"
        );
    }

    /// An [`OpLog`] that journals the engine's housekeeping.
    pub fn oplog(&self) -> Box<dyn OpLog> {
        Box::new(EngineLog(self.clone()))
    }
}

struct EngineLog(Journal);

impl OpLog for EngineLog {
    fn housekeeping(&mut self) {
        self.0.append(&Payload::housekeeping());
    }
}

fn write_state(dir: &Path, lsn: u64, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join("state.tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(STATE_MAGIC)?;
    f.write_all(&crc32fast::hash(bytes).to_le_bytes())?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, state_path(dir, lsn))?;
    sync_dir(dir)
}

/// The writer thread: group commit. Waits for records that need syncing, lets more
/// gather for up to `interval` after the previous sync, writes them in one go, syncs,
/// and publishes the new durable lsn.
fn writer(inner: Arc<Inner>, mut file: File, mut current: u64, mut segments: Vec<u64>) {
    let mut last_sync = Instant::now() - inner.interval;
    let mut failing_since: Option<Instant> = None;
    loop {
        let (buf, last_lsn, splits, compact, closing) = {
            let mut p = inner.pending.lock().unwrap_or_else(|p| p.into_inner());
            while !p.needs_sync && !p.closing && p.compact_upto.is_none() {
                p = inner.wake.wait(p).unwrap_or_else(|p| p.into_inner());
            }
            // Group window: let concurrent appends join this sync.
            let due = last_sync + inner.interval;
            while !p.closing && Instant::now() < due {
                let left = due.saturating_duration_since(Instant::now());
                p = inner.wake.wait_timeout(p, left).unwrap_or_else(|p| p.into_inner()).0;
            }
            p.needs_sync = false;
            p.last_advance = None;
            let buf = std::mem::replace(&mut p.buf, Vec::with_capacity(1 << 20));
            (buf, p.next_lsn - 1, std::mem::take(&mut p.splits), p.compact_upto.take(), p.closing)
        };
        let result = write_out(&inner, &mut file, &mut current, &mut segments, &buf, &splits);
        last_sync = Instant::now();
        match result {
            Ok(()) => {
                if failing_since.take().is_some() {
                    tracing::info!("journal writes succeed again");
                }
                inner.durable.send_modify(|d| d.0 = d.0.max(last_lsn));
                if let Some(upto) = compact {
                    compact_dir(&inner, &mut segments, current, upto);
                }
            }
            Err(e) => {
                inner.stats.errors.fetch_add(1, Ordering::Relaxed);
                failing_since.get_or_insert_with(Instant::now);
                tracing::error!(error = %e, dir = %inner.dir.display(), "journal write failed; retrying (acknowledgements wait)");
                // Put the data back in front of what arrived since, and retry shortly.
                let mut p = inner.pending.lock().unwrap_or_else(|p| p.into_inner());
                let base = buf.len();
                let mut joined = buf;
                joined.extend_from_slice(&p.buf);
                p.buf = joined;
                p.last_advance = p.last_advance.map(|a| a + base);
                let mut all = splits;
                all.extend(p.splits.iter().map(|&(at, l)| (at + base, l)));
                p.splits = all;
                if let Some(upto) = compact {
                    p.compact_upto = Some(p.compact_upto.map_or(upto, |l| l.max(upto)));
                }
                p.needs_sync = true;
                if p.buf.len() > MAX_PENDING && !p.broken {
                    p.broken = true;
                    p.buf.clear();
                    p.splits.clear();
                    inner.durable.send_modify(|d| d.1 = true);
                    tracing::error!(
                        "journal gave up after {} MiB could not be written: events are applied in memory only until restart",
                        MAX_PENDING >> 20
                    );
                }
                if closing {
                    return;
                }
                drop(p);
                std::thread::sleep(Duration::from_millis(500));
                continue;
            }
        }
        if closing {
            return;
        }
    }
}

fn write_out(
    inner: &Inner,
    file: &mut File,
    current: &mut u64,
    segments: &mut Vec<u64>,
    buf: &[u8],
    splits: &[(usize, u64)],
) -> io::Result<()> {
    let mut from = 0;
    for &(at, first) in splits {
        file.write_all(&buf[from..at])?;
        file.sync_data()?;
        if first != *current {
            let f = OpenOptions::new().create(true).append(true).open(segment_path(&inner.dir, first))?;
            sync_dir(&inner.dir)?;
            segments.push(*current);
            *file = f;
            *current = first;
        }
        from = at;
    }
    file.write_all(&buf[from..])?;
    file.sync_data()?;
    inner.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
    inner.stats.bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
    Ok(())
}

/// Deletes the segments (other than the current one) and snapshots older than `upto`.
fn compact_dir(inner: &Inner, segments: &mut Vec<u64>, current: u64, upto: u64) {
    let mut removed = 0;
    segments.retain(|&first| {
        if first != current && first <= upto {
            match fs::remove_file(segment_path(&inner.dir, first)) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(error = %e, "cannot delete a compacted journal segment"),
            }
            false
        } else {
            true
        }
    });
    if let Ok(entries) = fs::read_dir(&inner.dir) {
        for e in entries.flatten() {
            if let Some(lsn) = parse_name(&e.file_name().to_string_lossy(), "state-", ".bin")
                && lsn < upto
            {
                let _ = fs::remove_file(e.path());
            }
        }
    }
    tracing::debug!(removed, upto, "journal compacted");
}
