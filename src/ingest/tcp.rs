//! NDJSON over TCP (optionally TLS): one event per line, fire-and-forget (no
//! acknowledgement; use HTTP or WebSocket with acks when the sender must know an event is
//! durable).
//!
//! Bytes are read into a [`LineFramer`] (large reads, lines split with memchr) and
//! decoded outside the engine lock; each read's complete lines are applied as one batch.
//! Reading and decoding run in the connection's task, applying on the applier thread
//! ([`super::apply`]), so that decoding batch k+1 overlaps applying batch k
//! (BENCHMARKS.md). Its queue is bounded, so backpressure is unchanged: a full queue stops
//! the reads and TCP flow control pushes back on the sender.
//! A line over `limits.max_line_bytes` is counted invalid and skipped to the next newline
//! without being buffered. With `auth.ingest_token` set, the first line must be
//! `AUTH <token>`; anything else (an oversized first line included) closes the
//! connection without touching any counter of events. So does a first line that is an
//! HTTP request line: a browser, sent by a web page to post its body here (issue 14).

use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::apply::Applier;
use super::lines::{LineFramer, Piece};
use super::{ConnGuard, Connections};
use crate::engine::Source;
use crate::event::{Aliases, DecodeError, Input, decode_bytes};
use crate::net::{ConnStats, Gate, is_http_request_line, token_eq};

/// Read buffer per connection (PERF-NOTES: 256 KiB); `bench ingest`'s limit uses the same.
pub use super::lines::READ_BUF;

/// What the TCP listener needs: where batches go and its limits.
pub struct TcpIngest {
    pub applier: Arc<Applier>,
    pub aliases: Aliases,
    /// `auth.ingest_token`: the first line must be `AUTH <token>`.
    pub token: Option<String>,
    pub max_connections: usize,
    pub idle: Duration,
    pub max_line_bytes: usize,
    pub connections: Arc<Connections>,
}

pub async fn serve(
    shared: Arc<TcpIngest>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    stats: ConnStats,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    let idle = shared.idle;
    let gate = Gate::new(listener, shared.max_connections, "tcp", "limits.max_connections", stats.clone());
    while let Some((stream, peer, permit)) = gate.next(&shutdown).await {
        let (shared, shutdown, tls, stats) = (shared.clone(), shutdown.clone(), tls.clone(), stats.clone());
        tracker.spawn(async move {
            let _permit = permit;
            let _guard = ConnGuard::new(shared.connections.clone(), "tcp");
            tracing::debug!(%peer, tls = tls.is_some(), "tcp ingest connection");
            let ended = match tls {
                None => connection(&shared, stream, peer, &stats, shutdown).await,
                // The handshake is bounded like any other silence on this listener.
                Some(tls) => match tokio::time::timeout(idle, tls.accept(stream)).await {
                    Ok(Ok(stream)) => connection(&shared, stream, peer, &stats, shutdown).await,
                    Ok(Err(e)) => {
                        stats.closed("tcp", "tls");
                        Err(e)
                    }
                    Err(_) => {
                        stats.closed("tcp", "timeout");
                        Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "no TLS handshake within idle timeout"))
                    }
                },
            };
            if let Err(e) = ended {
                tracing::debug!(%peer, error = %e, "tcp ingest connection ended");
            }
        });
    }
}

/// Reads NDJSON from `stream` (from `peer`) until EOF, an idle timeout, a failed `AUTH`,
/// or shutdown.
pub async fn connection<S: AsyncRead + Unpin>(
    shared: &Arc<TcpIngest>,
    stream: S,
    peer: SocketAddr,
    stats: &ConnStats,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let read = read_decode(shared, stream, peer, stats, shutdown).await;
    // The connection ends only once everything it sent is applied.
    let _ = shared.applier.flush().await;
    read
}

/// Reads, splits and decodes; sends each read's batch to the applier.
async fn read_decode<S: AsyncRead + Unpin>(
    shared: &TcpIngest,
    mut stream: S,
    peer: SocketAddr,
    stats: &ConnStats,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let idle = shared.idle;
    let mut framer = LineFramer::new(shared.max_line_bytes);
    let mut authed = shared.token.is_none();
    let mut first = true;
    // Events (non-blank lines) read so far: refusals name a line by its position.
    let mut lines = 0u64;
    loop {
        let n = tokio::select! {
            _ = shutdown.cancelled() => 0,
            r = tokio::time::timeout(idle, stream.read_buf(framer.read_into())) => match r {
                Ok(r) => r?,
                Err(_) => {
                    tracing::debug!("tcp ingest connection idle for limits.idle_timeout_secs; closing");
                    stats.closed("tcp", "timeout");
                    0
                }
            },
        };
        let eof = n == 0;
        let mut batch = Vec::new();
        let flow = framer.split(eof, |piece| {
            // A browser speaking HTTP to this port: a web page, not a sender (issue 14).
            if std::mem::take(&mut first) && matches!(piece, Piece::Line(l) if is_http_request_line(l)) {
                tracing::debug!("tcp ingest connection opened with an HTTP request (a web page?); closing");
                stats.closed("tcp", "http");
                return ControlFlow::Break(());
            }
            if !authed {
                let ok = match piece {
                    Piece::Line(line) => std::str::from_utf8(line)
                        .ok()
                        .and_then(|l| l.trim_end().strip_prefix("AUTH "))
                        .is_some_and(|t| token_eq(t.trim(), shared.token.as_deref().unwrap_or_default())),
                    Piece::TooLarge => false,
                };
                if !ok {
                    tracing::warn!("tcp ingest connection without a valid `AUTH <token>` first line; closing");
                    stats.closed("tcp", "auth");
                    return ControlFlow::Break(());
                }
                authed = true;
                return ControlFlow::Continue(());
            }
            push_piece(shared, piece, &mut batch);
            ControlFlow::Continue(())
        });
        let first = lines;
        lines += batch.len() as u64;
        if !batch.is_empty() && shared.applier.submit(batch, Source::Tcp, first, Some(peer)).await.is_err() {
            return Ok(());
        }
        if eof || flow.is_break() {
            return Ok(());
        }
    }
}

fn push_piece(shared: &TcpIngest, piece: Piece<'_>, batch: &mut Vec<Result<Input, DecodeError>>) {
    match piece {
        Piece::TooLarge => {
            batch.push(Err(DecodeError::too_large("line", "limits.max_line_bytes", shared.max_line_bytes)))
        }
        // Blank lines are skipped, not counted.
        Piece::Line(line) if line.iter().all(u8::is_ascii_whitespace) => {}
        Piece::Line(line) => batch.push(decode_bytes(line, &shared.aliases)),
    }
}
