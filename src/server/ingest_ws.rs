//! WebSocket ingest (`/ingest`): one event or an array per text frame, each frame's bytes
//! charged to the budget of request bodies (`limits.max_body_bytes_in_flight`) as they
//! arrive, as an HTTP body's are.
//!
//! The upgrade is answered here rather than by warp's `Ws`, so that the socket reads
//! through [`Metered`]: a frame that arrives slowly or large holds its bytes in the
//! socket's buffer until it is whole, and 1,024 connections with 4 MiB frames each part
//! sent would otherwise hold 4 GiB outside the budget. A message's charge is given back
//! once its events are handed to the applier. What the budget cannot take closes the
//! socket with 1013 (try again later); the frame being read is not applied, and every
//! frame before it was (acknowledged as usual with `?ack=1`).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_util::sync::CancellationToken;
use warp::http::StatusCode;
use warp::{Filter, Rejection, Reply};

use super::Shared;
use super::bodies::{Bodies, Held, Refusal as BodyRefusal};
use super::routes::DURABLE_TIMEOUT;
use crate::engine::Source;
use crate::event::{DecodeError, Refusal, decode_batch};
use crate::ingest::apply::Applied;
use crate::ingest::errors;

/// The most one read of the socket takes (tungstenite's read buffer): the bytes read past
/// a whole message's end before its charge is given back go uncharged, at most this much
/// per connection.
const READ_CHUNK: usize = 32 * 1024;

/// An accepted `/ingest` upgrade: the answer's key and the connection to take over.
pub(super) struct Handshake {
    accept: String,
    upgrade: OnUpgrade,
}

#[derive(Debug)]
struct NotUpgradable;
impl warp::reject::Reject for NotUpgradable {}

/// Passes a WebSocket upgrade (warp's checks of its headers), keeping the connection to
/// take over; warp's `Ws` is dropped unanswered.
pub(super) fn handshake() -> impl Filter<Extract = (Handshake,), Error = Rejection> + Clone {
    // Cloned before `warp::ws()` takes it out of the request.
    warp::ext::optional::<OnUpgrade>().and(warp::ws()).and(warp::header::<String>("sec-websocket-key")).and_then(
        |upgrade: Option<OnUpgrade>, _checked: warp::ws::Ws, key: String| async move {
            let upgrade = upgrade.ok_or_else(|| warp::reject::custom(NotUpgradable))?;
            Ok::<_, Rejection>(Handshake { accept: tungstenite::handshake::derive_accept_key(key.as_bytes()), upgrade })
        },
    )
}

impl Handshake {
    /// The `101 Switching Protocols` answer; the socket is served by `serve` once it is sent.
    pub(super) fn reply(&self) -> impl Reply + use<> {
        let r = warp::reply::with_status(warp::reply(), StatusCode::SWITCHING_PROTOCOLS);
        let r = warp::reply::with_header(r, "connection", "upgrade");
        let r = warp::reply::with_header(r, "upgrade", "websocket");
        warp::reply::with_header(r, "sec-websocket-accept", self.accept.clone())
    }

    /// Takes the connection over once the answer is out and serves it as `/ingest`.
    pub(super) async fn serve(
        self,
        shared: Arc<Shared>,
        peer: Option<std::net::SocketAddr>,
        acks: bool,
        shutdown: CancellationToken,
    ) {
        let io = match self.upgrade.await {
            Ok(io) => io,
            Err(e) => {
                tracing::debug!(error = %e, "ws ingest upgrade failed");
                return;
            }
        };
        let max = shared.config.limits.max_frame_bytes;
        let meter = Arc::new(Meter::new(shared.bodies.clone()));
        let io = Metered { io: TokioIo::new(io), meter: meter.clone() };
        let config = WebSocketConfig::default()
            .max_message_size(Some(max))
            .max_frame_size(Some(max))
            .read_buffer_size(READ_CHUNK);
        let socket = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
        ingest_socket(shared, socket, meter, peer, acks, shutdown).await
    }
}

/// The share of the body budget one socket's unread messages hold.
struct Meter {
    bodies: Arc<Bodies>,
    /// The share, and the bytes read since the last whole message.
    held: Mutex<(Held, usize)>,
}

impl Meter {
    fn new(bodies: Arc<Bodies>) -> Meter {
        let held = bodies.share(true);
        Meter { bodies, held: Mutex::new((held, 0)) }
    }

    /// Charges `n` more bytes read, if the budget has them.
    fn charge(&self, n: usize) -> Result<(), BodyRefusal> {
        let mut g = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let (held, read) = &mut *g;
        *read += n;
        let want = *read;
        self.bodies.grow(held, want)
    }

    /// A whole message was taken: what was read so far is given back.
    fn release(&self) {
        let mut g = self.held.lock().unwrap_or_else(|p| p.into_inner());
        g.0.release();
        g.1 = 0;
    }
}

/// The budget had no room for the bytes of a frame being read.
#[derive(Debug)]
struct BudgetSpent;

impl std::fmt::Display for BudgetSpent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("limits.max_body_bytes_in_flight is taken by other bodies")
    }
}

impl std::error::Error for BudgetSpent {}

/// The upgraded connection, its reads charged to the body budget ([`Meter`]).
struct Metered<S> {
    io: S,
    meter: Arc<Meter>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Metered<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.io).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        if n > 0 && self.meter.charge(n).is_err() {
            return Poll::Ready(Err(std::io::Error::other(BudgetSpent)));
        }
        read
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Metered<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// WebSocket ingest: one event or an array per text frame. With `?ack=1` each frame is
/// answered, in order, once its events are applied and durable (journaled and synced):
/// `{"ack": <frame number>, "seq": <highest seq in the frame>, "durable": true, ...counts}`.
/// Acks are sent by a task of their own so reading never waits for the disk.
async fn ingest_socket(
    shared: Arc<Shared>,
    socket: WebSocketStream<Metered<TokioIo<hyper::upgrade::Upgraded>>>,
    meter: Arc<Meter>,
    peer: Option<std::net::SocketAddr>,
    acks: bool,
    shutdown: CancellationToken,
) {
    let _guard = crate::ingest::ConnGuard::new(shared.connections.clone(), "ws");
    let (mut sink, mut stream) = socket.split();
    let idle = shared.config.limits.idle_timeout;
    // Bounded: a client that does not read its acks slows its own ingest, nobody else's.
    let (ack_tx, mut ack_rx) = tokio::sync::mpsc::channel::<Outgoing>(256);
    let acker = {
        let shared = shared.clone();
        tokio::spawn(async move {
            while let Some(out) = ack_rx.recv().await {
                let (frame, seq, applied, failed) = match out {
                    Outgoing::Ack { frame, seq, applied, failed } => (frame, seq, applied, failed),
                    Outgoing::Close(code, why) => {
                        let frame = CloseFrame { code: code.into(), reason: why.into() };
                        let close = sink.send(Message::Close(Some(frame)));
                        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), close).await;
                        return;
                    }
                };
                let Ok(Applied { counts, lsn, errors }) = applied.await else { return };
                let durable = failed.is_none()
                    && matches!(tokio::time::timeout(DURABLE_TIMEOUT, shared.core.durable(lsn)).await, Ok(Ok(())));
                let mut ack = serde_json::to_value(counts).unwrap_or_default();
                ack["ack"] = json!(frame);
                ack["seq"] = json!(seq);
                ack["durable"] = json!(durable);
                ack["errors"] = errors::answer(&errors);
                if let Some(why) = failed {
                    ack["error"] = json!(format!("{why}; resend them"));
                } else if !durable {
                    ack["error"] = json!("events applied but not durable; resend them");
                }
                if sink.send(Message::text(ack.to_string())).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        })
    };
    let mut frame_no = 0u64;
    let mut going_away = false;
    loop {
        let msg = tokio::select! {
            _ = shutdown.cancelled() => {
                going_away = true;
                break;
            }
            m = tokio::time::timeout(idle, stream.next()) => match m {
                Err(_) => break,
                Ok(None) => break,
                Ok(Some(Err(e))) => {
                    tracing::debug!(error = %e, ?peer, "ws ingest connection error");
                    if busy(&e) {
                        // Not read, not an event refused: the sender tries again later (as
                        // an HTTP body's 503), after the acks of the frames before.
                        shared.bodies.count(BodyRefusal::Busy);
                        let _ = ack_tx.send(Outgoing::Close(1013, "busy: limits.max_body_bytes_in_flight; try again later")).await;
                    } else if let Some((code, why)) = ws_refusal(&e) {
                        // A message the protocol cannot skip (oversized, text not UTF-8,
                        // broken framing) is one invalid, and the peer is told why first.
                        let refused = match code {
                            1009 => DecodeError::too_large("frame", "limits.max_frame_bytes", shared.config.limits.max_frame_bytes),
                            1007 => DecodeError::new(Refusal::NotUtf8, "text frame is not UTF-8", ""),
                            _ => DecodeError::new(Refusal::NotJson, why, ""),
                        };
                        shared.core.count_refused(Source::Ws, peer, refused);
                        // The acker owns the sink: the close goes out after pending acks.
                        let _ = ack_tx.send(Outgoing::Close(code, why)).await;
                    }
                    break;
                }
                Ok(Some(Ok(m))) => m,
            },
        };
        let (batch, seq) = if let Message::Text(text) = &msg {
            frame_no += 1;
            let batch = decode_batch(text.as_str(), &shared.aliases);
            let seq = batch
                .iter()
                .filter_map(|r| match r {
                    Ok(crate::event::Input::Agent(e)) => e.seq,
                    _ => None,
                })
                .max();
            (batch, seq)
        } else if msg.is_binary() {
            frame_no += 1;
            let refused = DecodeError::new(Refusal::NotUtf8, "a binary frame: events are sent in text frames", "");
            (vec![Err(refused)], None)
        } else if msg.is_close() {
            break;
        } else {
            meter.release();
            continue;
        };
        drop(msg);
        // Applied on the applier thread while this task reads and decodes the next frame.
        if acks && shared.core.cluster().is_some() {
            // In a cluster: stored by JetStream and applied here, frame after frame (a
            // retried publish must not overtake the next frame's).
            let done = shared.core.submit(batch, Source::Ws, peer, DURABLE_TIMEOUT).await;
            let (tx, applied) = tokio::sync::oneshot::channel();
            let _ = tx.send(done.applied);
            let ack = Outgoing::Ack { frame: frame_no, seq, applied, failed: done.durable.err() };
            if ack_tx.send(ack).await.is_err() {
                break;
            }
        } else if acks {
            let Ok(applied) = shared.applier.submit_for_reply(batch, Source::Ws, peer).await else { break };
            if ack_tx.send(Outgoing::Ack { frame: frame_no, seq, applied, failed: None }).await.is_err() {
                break;
            }
        } else if shared.applier.submit(batch, Source::Ws, 0, peer).await.is_err() {
            break;
        }
        // Handed to the applier: the message's bytes are no longer held here.
        meter.release();
    }
    // Everything read is applied before the connection counts as closed.
    let _ = shared.applier.flush().await;
    if going_away {
        // After the acks of what was read: the sender knows where to resume (1001, as /ws).
        let _ = ack_tx.send(Outgoing::Close(1001, "server shutting down")).await;
    }
    drop(ack_tx);
    // Outstanding acks still go out (the journal syncs within its interval).
    let _ = tokio::time::timeout(DURABLE_TIMEOUT, acker).await;
}

/// What the ingest socket's writer task sends: acks in order, then perhaps a close.
enum Outgoing {
    /// A frame's ack, sent once the applier has applied it.
    Ack {
        frame: u64,
        seq: Option<u64>,
        applied: tokio::sync::oneshot::Receiver<Applied>,
        /// Not durable, and why (a cluster that could not store it).
        failed: Option<String>,
    },
    Close(u16, &'static str),
}

/// A read refused by the body budget ([`Metered`]).
fn busy(e: &tungstenite::Error) -> bool {
    matches!(e, tungstenite::Error::Io(io) if io.get_ref().is_some_and(|i| i.is::<BudgetSpent>()))
}

/// The close code for a WebSocket read error that the peer caused with what it sent, or
/// `None` for a transport failure (reset, EOF).
fn ws_refusal(e: &tungstenite::Error) -> Option<(u16, &'static str)> {
    use tungstenite::error::ProtocolError;
    match e {
        tungstenite::Error::Capacity(_) => Some((1009, "message over limits.max_frame_bytes")),
        tungstenite::Error::Utf8(_) => Some((1007, "text frame is not UTF-8")),
        tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => None,
        tungstenite::Error::Protocol(_) => Some((1002, "WebSocket protocol error")),
        _ => None,
    }
}
