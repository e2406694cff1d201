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
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use warp::{Filter, Reply};

pub use crate::net::{ConnStats, Gate};

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
                None => connection(stream, peer, svc, limits, &stats, shutdown).await,
                Some(tls) => {
                    let deadline = limits.header_read_timeout;
                    match tokio::time::timeout(deadline, tls.accept(stream)).await {
                        Ok(Ok(stream)) => connection(stream, peer, svc, limits, &stats, shutdown).await,
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

/// The address of the peer of the connection a request came on (a request extension; the
/// routes read it with [`peer`] to name a sender whose events are refused).
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

/// The peer of the request's connection (`None` for a request not served by
/// [`serve_http`], as in tests that call the routes directly).
pub fn peer() -> impl Filter<Extract = (Option<SocketAddr>,), Error = Infallible> + Clone {
    warp::ext::optional::<Peer>().map(|p: Option<Peer>| p.map(|p| p.0))
}

async fn connection<IO, S>(
    io: IO,
    peer: SocketAddr,
    svc: S,
    limits: HttpLimits,
    stats: &ConnStats,
    shutdown: CancellationToken,
) where
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
    // Each request carries its connection's peer for the routes ([`peer`]).
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(Peer(peer));
        tower_service::Service::call(&mut svc.clone(), req)
    });
    let conn = http.serve_connection(TokioIo::new(io), svc).with_upgrades();
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
