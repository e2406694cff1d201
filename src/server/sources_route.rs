//! `POST /api/v1/sources/<name>`: the route of the sources a platform pushes to us
//! (`connect`, `twilio`; see `sources::push`, which decides everything but the HTTP
//! plumbing).
//!
//! Not behind the ingest token: each platform authenticates by its own mechanism (a
//! Firehose access key, Twilio's signature), which its source requires in the
//! configuration. The `Host` check and the `Origin` check of other ingest POSTs apply.
//! The body is read only after the checks that need no body (Connect's key), and never
//! past `limits.max_body_bytes`.

use std::sync::Arc;

use bytes::{Buf, Bytes};
use futures_util::{Stream, StreamExt};
use warp::http::{HeaderMap, HeaderValue, Response, StatusCode};

use super::Shared;
use crate::sources::push::{Body, Reply};

/// How long an answer waits for the journal before it reports failure.
const DURABLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn respond(r: Reply) -> Response<String> {
    let mut res = Response::new(r.body);
    *res.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    res.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    res.headers_mut().insert("cache-control", HeaderValue::from_static("no-store"));
    res
}

/// Reads a body of at most `limit` bytes: one whose `Content-Length` (`declared`) says
/// more is not read at all, one that runs past it (chunked) is read no further. `Err`:
/// the client went away mid-body.
pub(super) async fn read_limited<B: Buf>(
    declared: Option<u64>,
    body: impl Stream<Item = Result<B, warp::Error>>,
    limit: usize,
) -> Result<Body, warp::Error> {
    match declared {
        Some(n) if n > limit as u64 => Ok(Body::TooLarge { limit }),
        _ => read(body, limit).await,
    }
}

/// Reads the body up to `limit` bytes; past it, stops reading.
async fn read<B: Buf>(body: impl Stream<Item = Result<B, warp::Error>>, limit: usize) -> Result<Body, warp::Error> {
    let mut body = std::pin::pin!(body);
    let mut buf = Vec::new();
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk?;
        if buf.len() + chunk.remaining() > limit {
            return Ok(Body::TooLarge { limit });
        }
        while chunk.has_remaining() {
            let c = chunk.chunk();
            buf.extend_from_slice(c);
            let n = c.len();
            chunk.advance(n);
        }
    }
    Ok(Body::Bytes(Bytes::from(buf)))
}

pub async fn handle<B: Buf>(
    sh: Arc<Shared>,
    name: String,
    headers: HeaderMap,
    query: String,
    body: impl Stream<Item = Result<B, warp::Error>>,
) -> Response<String> {
    let Some(push) = sh.sources.pushed(&name).cloned() else {
        let msg = format!("no source {:?} takes deliveries here (a [[sources]] entry of kind connect or twilio)", name);
        return respond(Reply { status: 404, body: serde_json::json!({ "error": msg }).to_string() });
    };
    if let Some(refused) = push.precheck(&headers) {
        return respond(refused);
    }
    let limit = sh.config.limits.max_body_bytes;
    let declared = headers.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let body = match read_limited(declared, body, limit).await {
        Ok(b) => b,
        // The client went away mid-body: nobody reads the answer.
        Err(_) => return respond(Reply { status: 400, body: String::new() }),
    };
    let d = push.deliver(&sh.core, &headers, &query, body);
    match tokio::time::timeout(DURABLE_TIMEOUT, sh.core.durable(d.lsn)).await {
        Ok(Ok(())) => respond(d.reply),
        _ => respond(push.not_durable(&headers)),
    }
}
