//! NDJSON over TCP: one event per line, fire-and-forget (no acknowledgement; use HTTP or
//! WebSocket with acks when the sender must know an event is durable).
//!
//! Lines are split with memchr over a large read buffer and decoded outside the engine
//! lock; each read's complete lines are applied as one batch. Reading and decoding run in
//! the connection's task, applying in a second task fed through a channel of
//! `APPLY_QUEUE` batches, so that decoding batch k+1 overlaps applying batch k (on two
//! cores that is what takes ingest past 1 M events/s; BENCHMARKS.md). The channel is
//! bounded, so backpressure is unchanged: a full queue stops the reads and TCP flow
//! control pushes back on the sender. A line over
//! `limits.max_line_bytes` is counted invalid and skipped to the next newline without being
//! buffered. With `auth.ingest_token` set, the first line must be `AUTH <token>`.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::event::decode_bytes;
use crate::floor::Source;
use crate::server::{ConnGuard, Shared, auth};

/// Read buffer per connection (PERF-NOTES: 256 KiB); `bench ingest`'s limit uses the same.
pub const READ_BUF: usize = 256 * 1024;
/// Decoded batches waiting to be applied, per connection.
const APPLY_QUEUE: usize = 2;

type Batch = Vec<Result<crate::event::Event, crate::event::DecodeError>>;

pub async fn serve(shared: Arc<Shared>, listener: TcpListener, shutdown: CancellationToken, tracker: TaskTracker) {
    let limit = Arc::new(Semaphore::new(shared.file.limits.max_connections));
    let mut backoff = Duration::from_millis(5);
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = listener.accept() => r,
        };
        let (stream, peer) = match accepted {
            Ok(x) => {
                backoff = Duration::from_millis(5);
                x
            }
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(error = %e, "tcp accept failed; backing off");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "tcp ingest connection refused: limits.max_connections reached");
            drop(stream);
            continue;
        };
        let shared = shared.clone();
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            let _permit = permit;
            let _guard = ConnGuard::new(shared.clone(), "tcp");
            tracing::debug!(%peer, "tcp ingest connection");
            if let Err(e) = connection(shared, stream, shutdown).await {
                tracing::debug!(%peer, error = %e, "tcp ingest connection ended");
            }
        });
    }
}

async fn connection(shared: Arc<Shared>, stream: TcpStream, shutdown: CancellationToken) -> std::io::Result<()> {
    // The applier owns the engine side; it ends when the reader drops the sender, after
    // applying everything queued, and the connection ends only then.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(APPLY_QUEUE);
    let applier = {
        let shared = shared.clone();
        tokio::spawn(async move {
            while let Some(batch) = rx.recv().await {
                shared.apply_batch(batch, Source::Tcp);
            }
        })
    };
    let read = read_decode(&shared, stream, shutdown, &tx).await;
    drop(tx);
    let _ = applier.await;
    read
}

/// Reads, splits and decodes; sends each read's batch to the applier.
async fn read_decode(
    shared: &Shared,
    mut stream: TcpStream,
    shutdown: CancellationToken,
    tx: &tokio::sync::mpsc::Sender<Batch>,
) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let max_line = shared.file.limits.max_line_bytes;
    let idle = Duration::from_secs(shared.file.limits.idle_timeout_secs.max(1));
    let mut buf: Vec<u8> = Vec::with_capacity(READ_BUF);
    let mut skipping = false;
    let mut authed = shared.tokens.ingest.is_none();
    loop {
        if buf.capacity() - buf.len() < READ_BUF / 4 {
            buf.reserve(READ_BUF);
        }
        let n = tokio::select! {
            _ = shutdown.cancelled() => 0,
            r = tokio::time::timeout(idle, stream.read_buf(&mut buf)) => match r {
                Ok(r) => r?,
                Err(_) => {
                    tracing::debug!("tcp ingest connection idle for limits.idle_timeout_secs; closing");
                    0
                }
            },
        };
        let eof = n == 0;
        let mut batch = Vec::new();
        let mut consumed = 0;
        while let Some(i) = memchr::memchr(b'\n', &buf[consumed..]) {
            let line = &buf[consumed..consumed + i];
            consumed += i + 1;
            if skipping {
                skipping = false;
                continue;
            }
            if !authed {
                let ok = std::str::from_utf8(line)
                    .ok()
                    .and_then(|l| l.trim_end().strip_prefix("AUTH "))
                    .is_some_and(|t| auth::token_eq(t.trim(), shared.tokens.ingest.as_deref().unwrap_or_default()));
                if !ok {
                    tracing::warn!("tcp ingest connection without a valid `AUTH <token>` first line; closing");
                    return Ok(());
                }
                authed = true;
                continue;
            }
            push_line(shared, line, max_line, &mut batch);
        }
        buf.drain(..consumed);
        if eof && !buf.is_empty() && !skipping && authed {
            // A last line without its newline still counts.
            let line = std::mem::take(&mut buf);
            push_line(shared, &line, max_line, &mut batch);
        } else if buf.len() > max_line {
            // Oversized: count it once and drop bytes until the next newline.
            if !skipping {
                batch.push(Err(crate::event::DecodeError::TooLarge));
            }
            skipping = true;
            buf.clear();
        }
        if !batch.is_empty() && tx.send(batch).await.is_err() {
            return Ok(());
        }
        if eof {
            return Ok(());
        }
    }
}

fn push_line(
    shared: &Shared,
    line: &[u8],
    max_line: usize,
    batch: &mut Vec<Result<crate::event::Event, crate::event::DecodeError>>,
) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    if line.len() > max_line {
        batch.push(Err(crate::event::DecodeError::TooLarge));
        return;
    }
    batch.push(decode_bytes(line, &shared.aliases));
}
