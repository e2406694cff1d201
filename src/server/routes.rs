//! HTTP routes (SPEC §5.2) on warp 0.4.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use warp::http::{HeaderValue, Response, StatusCode};
use warp::{Filter, Rejection, Reply};

use super::alert_query::AlertQuery;
use super::guard::{self, Guard};
use super::listen::ConnStats;
use super::sources_route::{Unread, busy_reply, read_limited, stalled_reply};
use super::{Shared, auth, ingest_ws, push, wall_ms};
use crate::engine::{Source, ViewOpts};
use crate::event::{DecodeError, Refusal, decode_batch};
use crate::ingest::apply::Applied;
use crate::ingest::errors;
use crate::snapshot::{Partial, QueueList, Snapshot};
use crate::sources::push::Body;

mod web {
    include!(concat!(env!("OUT_DIR"), "/web_files.rs"));
}

#[derive(Debug)]
struct Unauthorized;
impl warp::reject::Reject for Unauthorized {}

#[derive(Debug)]
struct TooManyConnections;
impl warp::reject::Reject for TooManyConnections {}

type Query = HashMap<String, String>;

/// How long an acknowledgement waits for the journal before it reports failure.
pub(super) const DURABLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn with_shared(shared: Arc<Shared>) -> impl Filter<Extract = (Arc<Shared>,), Error = Infallible> + Clone {
    warp::any().map(move || shared.clone())
}

/// Passes when the configured token (viewer or ingest) is presented.
fn authorized(shared: Arc<Shared>, ingest: bool) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::header::optional::<String>("authorization")
        .and(warp::query::<Query>())
        .and_then(move |header: Option<String>, q: Query| {
            let shared = shared.clone();
            async move {
                let expected = if ingest { shared.tokens.ingest.as_deref() } else { shared.tokens.viewer.as_deref() };
                if auth::allowed(expected, header.as_deref(), q.get("token").map(String::as_str)) {
                    Ok(())
                } else {
                    Err(warp::reject::custom(Unauthorized))
                }
            }
        })
        .untuple_one()
}

/// Runs a view-building handler on the blocking pool: a floor view or a scrape of a large
/// floor takes milliseconds of CPU under the engine lock, which must not stall the async
/// workers that read ingest sockets and serve `/ws`. A panic in it answers 500.
/// After a large answer the memory of its view goes back to the system (`crate::mem`).
async fn blocking(f: impl FnOnce() -> Response<String> + Send + 'static) -> Response<String> {
    let f = move || {
        let r = f();
        crate::mem::after_answer(r.body().len());
        r
    };
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "a view handler failed");
        json_reply(json!({ "error": "internal error" }).to_string(), StatusCode::INTERNAL_SERVER_ERROR)
    })
}

/// Bytes of a streamed answer per chunk.
const CHUNK: usize = 256 * 1024;

/// A `Write` that hands full chunks to a streamed response body (blocking while the
/// client is behind: at most 4 chunks wait).
struct ChunkWriter {
    buf: Vec<u8>,
    tx: tokio::sync::mpsc::Sender<Result<bytes::Bytes, std::io::Error>>,
    /// Bytes handed on so far.
    written: usize,
}

impl ChunkWriter {
    fn send(&mut self) -> std::io::Result<()> {
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.written += chunk.len();
        self.tx
            .blocking_send(Ok(bytes::Bytes::from(chunk)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client gone"))
    }
}

impl std::io::Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() { Ok(()) } else { self.send() }
    }
}

/// Whether an `Accept-Encoding` value accepts gzip (`gzip`, or `gzip;q=` above 0).
fn accepts_gzip(header: Option<&str>) -> bool {
    header.is_some_and(|h| {
        h.split(',').any(|part| {
            let mut it = part.split(';').map(str::trim);
            it.next().is_some_and(|e| e.eq_ignore_ascii_case("gzip"))
                && it.all(|p| p.strip_prefix("q=").is_none_or(|q| q.parse::<f64>().is_ok_and(|q| q > 0.0)))
        })
    })
}

/// A shared answer (`flight`): the same bytes for every request that joined it; 500 if
/// its computation failed.
fn bytes_reply(body: Option<Bytes>, content_type: &'static str) -> warp::reply::Response {
    let Some(body) = body else {
        return json_reply(
            json!({ "error": "internal error (logged)" }).to_string(),
            StatusCode::INTERNAL_SERVER_ERROR,
        )
        .into_response();
    };
    let mut r = Response::new(body).into_response();
    r.headers_mut().insert("content-type", HeaderValue::from_static(content_type));
    r.headers_mut().insert("cache-control", HeaderValue::from_static("no-store"));
    r
}

fn json_reply(body: String, status: StatusCode) -> Response<String> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    r.headers_mut().insert("cache-control", HeaderValue::from_static("no-store"));
    r
}

/// `sockets` tracks the upgraded WebSockets, so that shutdown waits for them to close
/// (their last acks, a close 1001) instead of cutting them off when the process exits.
pub fn routes(
    shared: Arc<Shared>,
    stats: ConnStats,
    shutdown: CancellationToken,
    sockets: TaskTracker,
) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    let s = with_shared(shared.clone());
    // Host, Origin and Content-Type checks and the browser headers (issue 14).
    let guard = Guard::new(&shared.config.server, guard::machine_host_names(), shared.metrics.registry());

    let healthz = warp::path!("healthz").and(warp::get()).map(|| "ok");
    let readyz = warp::path!("readyz").and(warp::get()).and(s.clone()).map(|sh: Arc<Shared>| {
        // Not ready while starting or stopping, and if the applier thread has died.
        // A platform source that is down is detail, not unreadiness: the daemon still serves
        // and takes every other ingest (SPEC §7).
        let detail = sh.sources.detail();
        // In a cluster: not ready until this replica has caught up with the stream.
        let caught_up = sh.core.cluster().is_none_or(|c| c.stats.caught_up.load(std::sync::atomic::Ordering::Relaxed));
        if sh.ready.load(std::sync::atomic::Ordering::Relaxed) && sh.applier.is_alive() && caught_up {
            warp::reply::with_status(format!("ready{detail}"), StatusCode::OK)
        } else {
            warp::reply::with_status(format!("not ready{detail}"), StatusCode::SERVICE_UNAVAILABLE)
        }
    });

    let snapshot = warp::path!("api" / "v1" / "snapshot")
        .and(warp::get())
        .and(authorized(shared.clone(), false))
        .and(warp::query::<Query>())
        .and(warp::header::optional::<String>("accept-encoding"))
        .and(s.clone())
        .then(|q: Query, encodings: Option<String>, sh: Arc<Shared>| async move {
            let opts = ViewOpts {
                team: q.get("team").cloned(),
                agents: q.get("agents").is_none_or(|v| v != "false"),
                alerts: true,
                scrape: false,
            };
            if opts.team.is_some() || !opts.agents {
                // A team's snapshot, or the floor's figures without agents: what many
                // pollers ask for at once, computed once for those arriving together.
                let queues = QueueList::of_query(q.get("queues").map(String::as_str), opts.team.is_some());
                let key = (opts.team.clone(), opts.agents, queues.clone());
                let sh2 = sh.clone();
                let body = sh
                    .reads
                    .snapshots
                    .get(key, move |closer| {
                        let sh = sh2;
                        let view = {
                            let mut engine = sh.engine();
                            let now = engine.now(wall_ms());
                            let view = engine.view_queues(now, &opts, queues.names(), true);
                            closer.close();
                            view
                        };
                        let partial = Partial { view: &view, team: opts.team.as_deref(), queues, recent_alerts: true };
                        let (body, charts) = partial.to_vec_spliced();
                        drop(view);
                        crate::mem::after_answer(body.len());
                        Arc::new(super::flight::Answer::new(crate::mem::returned_bytes(body), charts))
                    })
                    .await;
                let Some(answer) = body else { return bytes_reply(None, "application/json") };
                if !accepts_gzip(encodings.as_deref()) {
                    return bytes_reply(Some(answer.raw.clone()), "application/json");
                }
                let gz = tokio::task::spawn_blocking(move || answer.gzip()).await.ok();
                let mut r = bytes_reply(gz, "application/json");
                r.headers_mut().insert("content-encoding", HeaderValue::from_static("gzip"));
                r.headers_mut().insert("vary", HeaderValue::from_static("accept-encoding"));
                return r;
            }
            // Streamed: a whole floor's JSON (166 MB at 100,000 agents) is written in
            // chunks as the client reads them, never held whole (BENCHMARKS.md, session 5).
            let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
            tokio::task::spawn_blocking(move || {
                let view = {
                    let mut engine = sh.engine();
                    let now = engine.now(wall_ms());
                    engine.view(now, &opts)
                };
                let mut w = ChunkWriter { buf: Vec::with_capacity(CHUNK), tx, written: 0 };
                // A client that went away ends the writing (the send fails).
                if serde_json::to_writer(&mut w, &Snapshot(&view)).is_ok() {
                    let _ = std::io::Write::flush(&mut w);
                }
                drop(view);
                crate::mem::after_answer(w.written);
            });
            let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
            let mut r = warp::reply::stream(body).into_response();
            r.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
            r.headers_mut().insert("cache-control", HeaderValue::from_static("no-store"));
            r
        });

    let alerts = warp::path!("api" / "v1" / "alerts")
        .and(warp::get())
        .and(authorized(shared.clone(), false))
        .and(warp::query::<Query>())
        .and(s.clone())
        .map(|q: Query, sh: Arc<Shared>| {
            let query = match AlertQuery::parse(&q) {
                Ok(query) => query,
                Err(e) => return json_reply(json!({ "error": e }).to_string(), StatusCode::BAD_REQUEST),
            };
            // As a snapshot at now lists them: stored, and evaluated since the committed clock.
            let alerts = {
                let mut engine = sh.engine();
                let now = engine.now(wall_ms());
                engine.alerts_at(now, query.team.as_deref())
            };
            let page = query.select(alerts);
            // Each alert's kept JSON, verbatim (`StoredAlert::json`).
            let mut body = String::from(r#"{"alerts":["#);
            for (i, a) in page.alerts.iter().enumerate() {
                if i > 0 {
                    body.push(',');
                }
                body.push_str(a.json().get());
            }
            body.push(']');
            if let Some(next) = page.next {
                body.push_str(r#","next":"#);
                body.push_str(&serde_json::to_string(&next).expect("a string serializes"));
            }
            body.push('}');
            json_reply(body, StatusCode::OK)
        });

    let board = warp::path!("api" / "v1" / "board")
        .and(warp::get())
        .and(authorized(shared.clone(), false))
        .and(warp::query::<Query>())
        .and(s.clone())
        .then(|q: Query, sh: Arc<Shared>| {
            blocking(move || json_reply(push::full_frame(&sh, q.get("team").map(String::as_str)), StatusCode::OK))
        });

    let post_events = warp::path!("api" / "v1" / "events")
        .and(warp::post())
        .and(guard.json_post())
        .and(authorized(shared.clone(), true))
        .and(warp::header::optional::<u64>("content-length"))
        .and(warp::body::stream())
        .and(super::listen::peer())
        .and(s.clone())
        .then(|declared: Option<u64>, body, peer: Option<std::net::SocketAddr>, sh: Arc<Shared>| async move {
            let limit = sh.config.limits.max_body_bytes;
            let stall = sh.config.limits.header_read_timeout;
            let (batch, status, _held) = match read_limited(declared, body, limit, stall, &sh.bodies, true).await {
                // Nothing of it decoded: nothing counted as events (as a client gone
                // mid-body); in floorwatch_http_bodies_refused_total.
                Err(Unread::Stalled) => return stalled_reply(stall),
                Err(Unread::Busy) => return busy_reply(&sh.bodies),
                // The client went away mid-body: nobody reads the answer.
                Err(Unread::Gone) => return json_reply(String::new(), StatusCode::BAD_REQUEST),
                // Not read: one `invalid` (`too_large`), as an over-long line is over TCP;
                // the client sends it again in smaller batches.
                Ok((Body::TooLarge { limit }, held)) => {
                    let too_large = DecodeError::too_large("body", "limits.max_body_bytes", limit);
                    (vec![Err(too_large)], StatusCode::PAYLOAD_TOO_LARGE, held)
                }
                Ok((Body::Bytes(body), held)) => match std::str::from_utf8(&body) {
                    Err(e) => (vec![Err(DecodeError::not_utf8(&body, e.valid_up_to()))], StatusCode::BAD_REQUEST, held),
                    Ok(text) => {
                        let batch = decode_batch(text, &sh.aliases);
                        let whole_bad = batch.len() == 1
                            && matches!(&batch[0], Err(e) if matches!(e.refusal(), Refusal::NotJson | Refusal::NotObject))
                            && !text.trim_start().starts_with('{');
                        (batch, if whole_bad { StatusCode::BAD_REQUEST } else { StatusCode::OK }, held)
                    }
                },
            };
            // Acknowledged means durable: answered once the journal has synced the batch
            // (in a cluster: once JetStream stored it and this replica applied it).
            let done = sh.core.submit(batch, Source::Http, peer, DURABLE_TIMEOUT).await;
            let Applied { counts, errors, .. } = done.applied;
            let mut body = serde_json::to_value(counts).unwrap_or_default();
            body["errors"] = errors::answer(&errors);
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                body["error"] = json!(format!("body over limits.max_body_bytes ({limit} bytes); send smaller batches"));
            }
            match done.durable {
                Ok(()) => json_reply(body.to_string(), status),
                Err(why) => {
                    body["error"] = json!(format!("{why}; resend them (seq makes it harmless)"));
                    json_reply(body.to_string(), StatusCode::SERVICE_UNAVAILABLE)
                }
            }
        });

    // The sources a platform pushes to (`connect`, `twilio`): authenticated by the
    // platform's own mechanism, not the ingest token (server::sources_route).
    let post_source = warp::path!("api" / "v1" / "sources" / String)
        .and(warp::post())
        .and(guard.origin())
        .and(warp::header::headers_cloned())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::body::stream())
        .and(s.clone())
        .then(|name: String, headers, query: String, body, sh: Arc<Shared>| {
            super::sources_route::handle(sh, name, headers, query, body)
        });

    // The roster (SPEC §9.1): CSV or JSON, the whole upload or nothing. PUT is not a
    // method a page may send cross-site without a preflight, which is never granted.
    let put_roster = warp::path!("api" / "v1" / "roster")
        .and(warp::put())
        .and(authorized(shared.clone(), true))
        .and(warp::header::optional::<u64>("content-length"))
        .and(warp::body::stream())
        .and(super::listen::peer())
        .and(s.clone())
        .then(|declared: Option<u64>, body, peer: Option<std::net::SocketAddr>, sh: Arc<Shared>| async move {
            let stall = sh.config.limits.header_read_timeout;
            let refused = |sh: &Shared| super::roster::count_upload(sh, "put", false);
            let (body, held) = match read_limited(declared, body, sh.config.roster_max_bytes, stall, &sh.bodies, true).await {
                Err(Unread::Stalled) => {
                    refused(&sh);
                    return stalled_reply(stall);
                }
                // Not counted as a refused upload: the sender is asked to send it again (it
                // is in floorwatch_http_bodies_refused_total).
                Err(Unread::Busy) => return busy_reply(&sh.bodies),
                Err(Unread::Gone) => {
                    refused(&sh);
                    return json_reply(String::new(), StatusCode::BAD_REQUEST);
                }
                Ok((Body::TooLarge { limit }, _)) => {
                    refused(&sh);
                    let msg =
                        format!("roster over roster.max_bytes ({limit} bytes); nothing of this upload was applied");
                    return json_reply(json!({ "error": msg }).to_string(), StatusCode::PAYLOAD_TOO_LARGE);
                }
                Ok((Body::Bytes(b), held)) => (b, held),
            };
            let reply = blocking(move || match std::str::from_utf8(&body) {
                Err(e) => {
                    refused(&sh);
                    json_reply(
                    json!({"error": format!(
                        "{}; nothing of this upload was applied",
                        crate::roster::parse::not_utf8(&body, e.valid_up_to())
                    )})
                    .to_string(),
                    StatusCode::BAD_REQUEST,
                    )
                }
                // Logged with who sent it, as the file's loads are: a schedule changed
                // mid-shift is the first thing asked about when the board's adherence moves.
                Ok(text) => match super::roster::apply(&sh, text) {
                    Ok(a) => {
                        super::roster::count_upload(&sh, "put", true);
                        tracing::info!(peer = %errors::show_peer(peer), agents = a.agents, rows = a.rows, "roster uploaded (PUT /api/v1/roster)");
                        let mut body = json!({"agents": a.agents, "rows": a.rows});
                        if let Some(w) = a.outside_warning() {
                            tracing::warn!(peer = %errors::show_peer(peer), "roster upload: {w}");
                            body["outside_shifts"] = json!(a.outside);
                            body["warning"] = json!(w);
                        }
                        json_reply(body.to_string(), StatusCode::OK)
                    }
                    Err(e) => {
                        refused(&sh);
                        tracing::warn!(peer = %errors::show_peer(peer), error = %e, "roster upload refused (PUT /api/v1/roster); nothing of it applied");
                        json_reply(
                            json!({"error": format!("{e}; nothing of this upload was applied")}).to_string(),
                            StatusCode::BAD_REQUEST,
                        )
                    }
                },
            })
            .await;
            // The body's share of the budget is given back once the upload is applied.
            drop(held);
            reply
        });

    let ingest_errors = warp::path!("api" / "v1" / "ingest" / "errors")
        .and(warp::get())
        .and(authorized(shared.clone(), false))
        .and(warp::query::<Query>())
        .and(s.clone())
        .map(|q: Query, sh: Arc<Shared>| {
            let source = match q.get("source") {
                None => None,
                Some(name) => match Source::all().into_iter().find(|s| s.as_str() == name) {
                    Some(s) => Some(s),
                    None => {
                        let known: Vec<&str> = Source::all().into_iter().map(|s| s.as_str()).collect();
                        let msg = format!("unknown source {name:?} ({})", known.join(", "));
                        return json_reply(json!({ "error": msg }).to_string(), StatusCode::BAD_REQUEST);
                    }
                },
            };
            json_reply(sh.refusals.to_json(source).to_string(), StatusCode::OK)
        });

    let sd = shutdown.clone();
    // limits.max_connections for WebSocket ingest: a slot is taken before the upgrade and
    // held by the socket's task; without one the upgrade is answered 503 and counted.
    let ingest_slots = Arc::new(tokio::sync::Semaphore::new(shared.config.limits.max_connections));
    let ingest_slot = warp::any().and_then(move || {
        let (slots, stats) = (ingest_slots.clone(), stats.clone());
        async move {
            slots.try_acquire_owned().map_err(|_| {
                stats.refused("ingest_ws");
                warp::reject::custom(TooManyConnections)
            })
        }
    });
    let ingest_sockets = sockets.clone();
    let ingest_ws = warp::path!("ingest")
        .and(guard.origin())
        .and(authorized(shared.clone(), true))
        .and(ingest_ws::handshake())
        .and(ingest_slot)
        .and(warp::query::<Query>())
        .and(super::listen::peer())
        .and(s.clone())
        .map(
            move |hs: ingest_ws::Handshake,
                  slot: tokio::sync::OwnedSemaphorePermit,
                  q: Query,
                  peer,
                  sh: Arc<Shared>| {
                let acks = q.get("ack").is_some_and(|v| v == "1" || v == "true");
                let reply = hs.reply();
                tokio::spawn(ingest_sockets.track_future({
                    let sd = sd.clone();
                    async move {
                        let _slot = slot;
                        hs.serve(sh, peer, acks, sd).await
                    }
                }));
                reply
            },
        );

    let sd = shutdown.clone();
    let push_ws = warp::path!("ws")
        .and(guard.origin())
        .and(authorized(shared.clone(), false))
        .and(warp::ws())
        .and(warp::query::<Query>())
        .and(s.clone())
        .map(move |ws: warp::ws::Ws, q: Query, sh: Arc<Shared>| {
            let team = q.get("team").filter(|t| !t.is_empty()).cloned();
            let (sd, tracked) = (sd.clone(), sockets.clone());
            ws.max_message_size(64 * 1024)
                .on_upgrade(move |socket| tracked.track_future(push::client(sh, socket, team, sd)))
        });

    let metrics = warp::path!("metrics").and(warp::get()).and(authorized(shared.clone(), false)).and(s.clone()).then(
        |sh: Arc<Shared>| async move {
            // Scrapes arriving together (several Prometheus servers, a federation) share one.
            let sh2 = sh.clone();
            let text = sh
                .reads
                .metrics
                .get((), move |closer| {
                    let sh = sh2;
                    let conns = sh.connection_counts();
                    let mut text = {
                        let mut engine = sh.engine();
                        let now = engine.now(wall_ms());
                        let text = sh.metrics.render(&mut engine, now, &conns);
                        closer.close();
                        text
                    };
                    if let Some(j) = sh.core.journal() {
                        j.render_metrics(&mut text);
                    }
                    sh.core.render_metrics(&mut text);
                    crate::mem::after_answer(text.len());
                    crate::mem::returned_bytes(text.into_bytes())
                })
                .await;
            bytes_reply(text, "text/plain; version=0.0.4; charset=utf-8")
        },
    );

    let static_files = warp::get().and(warp::path::tail()).and(s.clone()).and_then(
        |tail: warp::path::Tail, sh: Arc<Shared>| async move {
            let path = match tail.as_str() {
                "" => "index.html",
                p => p,
            };
            if path.split('/').any(|seg| seg == ".." || seg.is_empty()) {
                return Err(warp::reject::not_found());
            }
            let bytes: Option<Vec<u8>> = match &sh.web_dir {
                Some(dir) => tokio::fs::read(dir.join(path)).await.ok(),
                None => web::WEB_FILES.iter().find(|(name, _)| *name == path).map(|(_, b)| b.to_vec()),
            };
            let Some(bytes) = bytes else { return Err(warp::reject::not_found()) };
            let ctype = match path.rsplit('.').next() {
                Some("html") => "text/html; charset=utf-8",
                Some("js" | "mjs") => "text/javascript; charset=utf-8",
                Some("css") => "text/css; charset=utf-8",
                Some("svg") => "image/svg+xml",
                Some("json") => "application/json",
                Some("png") => "image/png",
                _ => "application/octet-stream",
            };
            let mut r = Response::new(bytes);
            r.headers_mut().insert("content-type", HeaderValue::from_static(ctype));
            r.headers_mut().insert("cache-control", HeaderValue::from_static("no-cache"));
            Ok::<_, Rejection>(r)
        },
    );

    let routes = healthz
        .or(readyz)
        .or(snapshot)
        .or(alerts)
        .or(board)
        .or(post_events)
        .or(post_source)
        .or(put_roster)
        .or(ingest_errors)
        .or(ingest_ws)
        .or(push_ws)
        .or(metrics)
        .or(static_files);
    guard.protect(routes).recover(recover).map(guard::finish)
}

async fn recover(err: Rejection) -> Result<Response<String>, Infallible> {
    let (status, msg) = if err.is_not_found() {
        (StatusCode::NOT_FOUND, "not found".to_string())
    } else if err.find::<Unauthorized>().is_some() {
        (StatusCode::UNAUTHORIZED, "missing or wrong bearer token".to_string())
    } else if let Some(r) = err.find::<guard::Refused>() {
        (r.status(), r.message().to_string())
    } else if err.find::<TooManyConnections>().is_some() {
        (StatusCode::SERVICE_UNAVAILABLE, "too many ingest connections (limits.max_connections)".to_string())
    } else if err.find::<warp::reject::MethodNotAllowed>().is_some() {
        (StatusCode::METHOD_NOT_ALLOWED, "method not allowed".to_string())
    } else {
        (StatusCode::BAD_REQUEST, format!("{err:?}"))
    };
    Ok(json_reply(json!({ "error": msg }).to_string(), status))
}
