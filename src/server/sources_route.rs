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
use super::bodies::{Bodies, Held, Refusal};
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

/// Why a body was not read.
pub(super) enum Unread {
    /// The client went away mid-body: nobody reads an answer.
    Gone,
    /// Nothing arrived for `limits.header_read_timeout_secs` mid-body: the request is
    /// answered 408 and what was read is dropped (a stalled upload held up to
    /// `max_body_bytes` for as long as its connection stayed open).
    Stalled,
    /// Other bodies hold `limits.max_body_bytes_in_flight` (`bodies`): answered 503, not
    /// read further.
    Busy,
}

/// Reads a body of at most `limit` bytes: one whose `Content-Length` (`declared`) says
/// more is not read at all, one that runs past it (chunked) is read no further, one that
/// stops arriving for `stall` is given up, one the shared budget (`bodies`) has no room for
/// is refused before more of it is read. The budget is taken as the bytes arrive, not by
/// the declared size: a client that declares 16 MB and sends a byte now and then holds
/// what it sent, and cannot shut the others out with a few connections. The body's share
/// comes with it, held until the caller drops it (with its answer).
pub(super) async fn read_limited<B: Buf>(
    declared: Option<u64>,
    body: impl Stream<Item = Result<B, warp::Error>>,
    limit: usize,
    stall: std::time::Duration,
    bodies: &Bodies,
    verified: bool,
) -> Result<(Body, Held), Unread> {
    let mut held = bodies.share(verified);
    let got = match declared {
        Some(n) if n > limit as u64 => Ok(Body::TooLarge { limit }),
        _ => read(body, limit, stall, bodies, &mut held).await,
    };
    match got {
        Ok(b) => Ok((b, held)),
        Err(why) => {
            match why {
                Unread::Busy => bodies.count(Refusal::Busy),
                Unread::Stalled => bodies.count(Refusal::Stalled),
                Unread::Gone => {}
            }
            Err(why)
        }
    }
}

/// The 408 answer to a body that stalled.
pub(super) fn stalled_reply(stall: std::time::Duration) -> Response<String> {
    let msg = format!(
        "the request body stopped arriving for {} s (limits.header_read_timeout_secs); nothing of it was applied: send it again",
        stall.as_secs()
    );
    let mut r = respond(Reply { status: 408, body: serde_json::json!({ "error": msg }).to_string() });
    r.headers_mut().insert("connection", HeaderValue::from_static("close"));
    r
}

/// The 503 answer to a body the budget could not take: sent again a moment later, it is.
pub(super) fn busy_reply(bodies: &Bodies) -> Response<String> {
    let msg = format!(
        "the daemon is reading other request bodies up to limits.max_body_bytes_in_flight ({} bytes) at once; \
         nothing of this one was applied: send it again in a moment",
        bodies.limit()
    );
    let mut r = respond(Reply { status: 503, body: serde_json::json!({ "error": msg }).to_string() });
    r.headers_mut().insert("retry-after", HeaderValue::from(bodies.retry_after_secs()));
    r.headers_mut().insert("connection", HeaderValue::from_static("close"));
    r
}

/// Reads the body up to `limit` bytes; past it, stops reading. `held` grows with it.
async fn read<B: Buf>(
    body: impl Stream<Item = Result<B, warp::Error>>,
    limit: usize,
    stall: std::time::Duration,
    bodies: &Bodies,
    held: &mut Held,
) -> Result<Body, Unread> {
    let mut body = std::pin::pin!(body);
    let mut buf = Vec::new();
    loop {
        let next = tokio::time::timeout(stall, body.next()).await.map_err(|_| Unread::Stalled)?;
        let Some(chunk) = next else { break };
        let mut chunk = chunk.map_err(|_| Unread::Gone)?;
        if buf.len() + chunk.remaining() > limit {
            return Ok(Body::TooLarge { limit });
        }
        if bodies.grow(held, buf.len() + chunk.remaining()).is_err() {
            // Refused part-read: what came is dropped, the rest is read and dropped too (to
            // the limit), so that the sender, still sending, reads the 503 rather than a
            // connection reset.
            let mut seen = buf.len() + chunk.remaining();
            drop(buf);
            held.release();
            while seen <= limit {
                match tokio::time::timeout(stall, body.next()).await {
                    Ok(Some(Ok(c))) => seen += c.remaining(),
                    _ => break,
                }
            }
            return Err(Unread::Busy);
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
    let limit = push.max_body(sh.config.limits.max_body_bytes);
    let stall = sh.config.limits.header_read_timeout;
    let declared = headers.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    // Connect's key was checked before the body; a Twilio callback's signature covers it.
    let (body, _held) = match read_limited(declared, body, limit, stall, &sh.bodies, push.checked_before_body()).await {
        Ok(b) => b,
        Err(Unread::Stalled) => return stalled_reply(stall),
        Err(Unread::Busy) => return busy_reply(&sh.bodies),
        // The client went away mid-body: nobody reads the answer.
        Err(Unread::Gone) => return respond(Reply { status: 400, body: String::new() }),
    };
    let d = push.deliver(&sh.core, &headers, &query, body);
    match tokio::time::timeout(DURABLE_TIMEOUT, sh.core.durable(d.lsn)).await {
        Ok(Ok(())) => respond(d.reply),
        _ => respond(push.not_durable(&headers)),
    }
}
