//! The HTTP accept loop (warp 0.4 routes served by hyper's HTTP/1.1 connection), with
//! what `warp::serve` does not give: a cap on simultaneous connections, a deadline for
//! request headers (slowloris; hyper needs a timer for it), optional TLS, quiet logging of
//! peers that misbehave, and counters of all of it.
//!
//! Each accepted connection gets its own task: TLS handshake (if configured) and then
//! HTTP, both within `limits.header_read_timeout_secs` for the first request; an idle
//! keep-alive connection is closed after the same time. Connections over
//! `limits.max_http_connections` are closed at once, before any byte is read. On shutdown
//! the loop stops accepting and every connection finishes its request in flight
//! (hyper's graceful shutdown); upgraded WebSockets follow the cancellation token.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use prometheus::{IntCounterVec, Opts, Registry};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use warp::{Filter, Reply};

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

/// Limits of the HTTP listener, from `[limits]`.
#[derive(Clone, Copy, Debug)]
pub struct HttpLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
}

/// Serves `filter` on `listener` until `shutdown`, then waits for the connections to
/// finish their requests in flight (the caller bounds that wait).
pub async fn serve_http<F, R>(
    filter: F,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    limits: HttpLimits,
    stats: ConnStats,
    shutdown: CancellationToken,
) where
    F: Filter<Extract = (R,), Error = Infallible> + Clone + Send + Sync + 'static,
    R: Reply,
{
    let gate = Gate::new(listener, limits.max_connections, "http", "limits.max_http_connections", stats.clone());
    let conns = TaskTracker::new();
    while let Some((stream, peer, slot)) = gate.next(&shutdown).await {
        let svc = warp::service(filter.clone());
        let (tls, stats, shutdown) = (tls.clone(), stats.clone(), shutdown.clone());
        conns.spawn(async move {
            let _slot = slot;
            match tls {
                None => connection(stream, svc, limits, &stats, shutdown).await,
                Some(tls) => {
                    let deadline = limits.header_read_timeout;
                    match tokio::time::timeout(deadline, tls.accept(stream)).await {
                        Ok(Ok(stream)) => connection(stream, svc, limits, &stats, shutdown).await,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "https: TLS handshake failed");
                            stats.closed("http", "tls");
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "https: no TLS handshake within limits.header_read_timeout_secs");
                            stats.closed("http", "timeout");
                        }
                    }
                }
            }
        });
    }
    drop(gate); // stop accepting while the connections finish
    conns.close();
    conns.wait().await;
}

async fn connection<IO, S>(io: IO, svc: S, limits: HttpLimits, stats: &ConnStats, shutdown: CancellationToken)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: tower_service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = warp::reply::Response,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let conn = http.serve_connection(TokioIo::new(io), TowerToHyperService::new(svc)).with_upgrades();
    let mut conn = std::pin::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        _ = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        // A peer's misbehaviour is its problem, not an operator's: debug, and counted.
        if e.is_timeout() {
            stats.closed("http", "timeout");
        }
        tracing::debug!(error = %e, "http connection ended with an error");
    }
}
