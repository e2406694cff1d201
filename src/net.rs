//! Pieces every listener shares, below both `ingest` and `server`: the accept gate with
//! its connection cap and counters, a constant-time token comparison, and the test for an
//! HTTP request line (a browser) on the NDJSON port.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use prometheus::{IntCounterVec, Opts, Registry};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// Counters of connections the daemon refused or cut, by listener (`http`, `tcp`,
/// `ingest_ws`): a bounded label set. Created once per daemon in `server::run`.
#[derive(Clone)]
pub struct ConnStats {
    refused: IntCounterVec,
    closed: IntCounterVec,
}

impl ConnStats {
    pub fn new(registry: &Registry) -> ConnStats {
        let refused = IntCounterVec::new(
            Opts::new(
                "floorwatch_connections_refused_total",
                "Connections closed at once because the listener's connection limit was reached",
            ),
            &["listener"],
        )
        .expect("valid metric");
        let closed = IntCounterVec::new(
            Opts::new(
                "floorwatch_connections_closed_total",
                "Connections the daemon closed on a misbehaving peer: timeout (idle, slow headers, slow TLS \
                 handshake), tls (failed handshake), auth (TCP without a valid AUTH line), http (TCP opened with an \
                 HTTP request: a browser)",
            ),
            &["listener", "reason"],
        )
        .expect("valid metric");
        for (listener, reasons) in [("http", &["timeout", "tls"][..]), ("tcp", &["timeout", "tls", "auth", "http"])] {
            refused.with_label_values(&[listener]);
            for r in reasons {
                closed.with_label_values(&[listener, r]);
            }
        }
        refused.with_label_values(&["ingest_ws"]);
        let _ = registry.register(Box::new(refused.clone()));
        let _ = registry.register(Box::new(closed.clone()));
        ConnStats { refused, closed }
    }

    pub fn refused(&self, listener: &str) {
        self.refused.with_label_values(&[listener]).inc();
    }

    pub fn closed(&self, listener: &str, reason: &str) {
        self.closed.with_label_values(&[listener, reason]).inc();
    }
}

/// Accepts connections up to a cap: past it a connection is closed at once (before any
/// byte is read) and counted refused; an accept error (EMFILE and friends) backs off
/// instead of spinning. Shared by the HTTP and TCP ingest listeners.
pub struct Gate {
    listener: TcpListener,
    slots: Arc<Semaphore>,
    /// Label of `floorwatch_connections_refused_total` and the logs; the config key of the cap.
    name: &'static str,
    limit_key: &'static str,
    stats: ConnStats,
}

impl Gate {
    pub fn new(
        listener: TcpListener,
        cap: usize,
        name: &'static str,
        limit_key: &'static str,
        stats: ConnStats,
    ) -> Gate {
        Gate { listener, slots: Arc::new(Semaphore::new(cap)), name, limit_key, stats }
    }

    /// The next connection within the cap (with TCP_NODELAY set) and its slot, which frees
    /// when dropped; `None` once `shutdown` is cancelled.
    pub async fn next(
        &self,
        shutdown: &CancellationToken,
    ) -> Option<(TcpStream, SocketAddr, tokio::sync::OwnedSemaphorePermit)> {
        let mut backoff = Duration::from_millis(5);
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => return None,
                r = self.listener.accept() => r,
            };
            let (stream, peer) = match accepted {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, listener = self.name, "accept failed; backing off");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                    continue;
                }
            };
            backoff = Duration::from_millis(5);
            let Ok(slot) = self.slots.clone().try_acquire_owned() else {
                tracing::debug!(%peer, listener = self.name, "connection refused: {} reached", self.limit_key);
                self.stats.refused(self.name);
                drop(stream);
                continue;
            };
            let _ = stream.set_nodelay(true);
            return Some((stream, peer, slot));
        }
    }
}

/// Compares in time independent of where the inputs differ (length is not secret).
pub fn token_eq(given: &str, expected: &str) -> bool {
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether an NDJSON connection's first line is an HTTP request line (`METHOD target
/// HTTP/1.x`): a browser sent it, most likely a page's cross-site POST to the TCP ingest
/// port, whose `text/plain` body would otherwise be read as events. No NDJSON sender
/// starts that way (its first line is an event or `AUTH`).
pub fn is_http_request_line(line: &[u8]) -> bool {
    let line = line.trim_ascii_end();
    let mut parts = line.split(|b| *b == b' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    !method.is_empty()
        && method.iter().all(u8::is_ascii_uppercase)
        && !target.is_empty()
        && version.starts_with(b"HTTP/")
}
