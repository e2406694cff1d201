//! The applier: one OS thread that applies the batches of the streaming ingest paths (TCP
//! NDJSON and WebSocket), each connection's in the order it sent them.
//!
//! Connections read and decode in their own tasks and queue decoded batches here, so that
//! decoding batch k+1 and applying batch k run on two cores. Applying used to be a tokio
//! task per connection; but tokio runs a task woken by a channel send in the sending
//! worker's LIFO slot, which the other worker cannot steal, so reading, decoding and
//! applying often took turns on one core (BENCHMARKS.md, session 4). A thread of its own
//! also lets one lock of the engine serve every connection without contention between
//! connection tasks.
//!
//! The queue is bounded ([`QUEUE`] batches), so backpressure is unchanged: when it is full
//! a connection's next `submit` waits, its reads stop, and TCP flow control (or the
//! WebSocket's) pushes back on the sender. Waiting senders are served first come, first
//! served. A connection ends with [`Applier::flush`], so everything it had sent is applied
//! before the connection counts as closed (and before shutdown saves the engine).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{mpsc, oneshot};

pub use crate::core::Applied;
use crate::core::Core;
use crate::engine::Source;
use crate::event::{DecodeError, Input};

/// Decoded batches waiting to be applied, over all connections.
pub const QUEUE: usize = 4;

pub type Batch = Vec<Result<Input, DecodeError>>;

enum Job {
    Apply {
        batch: Batch,
        source: Source,
        first: u64,
        peer: Option<SocketAddr>,
        reply: Option<oneshot::Sender<Applied>>,
    },
    Flush(oneshot::Sender<()>),
}

/// The queue into the applier thread. Dropping it ends the thread once the queue is empty.
pub struct Applier {
    tx: mpsc::Sender<Job>,
    /// False once the thread has ended (`/readyz` then says not ready).
    alive: Arc<AtomicBool>,
}

/// The applier is gone: the daemon is shutting down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the applier has stopped")]
pub struct Stopped;

impl Applier {
    /// Starts the thread. It holds the core; the thread ends when every `Applier` handle
    /// is dropped and the queue is empty. A panic while applying is contained by
    /// [`Core::apply`] (counted, logged); the thread marks itself dead if it ends any other
    /// way, so readiness tells.
    pub fn start(core: Arc<Core>) -> Applier {
        let (tx, mut rx) = mpsc::channel::<Job>(QUEUE);
        let alive = Arc::new(AtomicBool::new(true));
        let flag = alive.clone();
        std::thread::Builder::new()
            .name("fw-apply".into())
            .spawn(move || {
                /// Marks the applier dead however the thread ends.
                struct Dead(Arc<AtomicBool>);
                impl Drop for Dead {
                    fn drop(&mut self) {
                        self.0.store(false, Ordering::Release);
                    }
                }
                let _dead = Dead(flag);
                while let Some(job) = rx.blocking_recv() {
                    match job {
                        Job::Apply { batch, source, first, peer, reply } => {
                            let applied = core.apply_from(batch, source, first, peer);
                            if let Some(reply) = reply {
                                let _ = reply.send(applied);
                            }
                        }
                        Job::Flush(done) => {
                            let _ = done.send(());
                        }
                    }
                }
            })
            .expect("spawn the fw-apply thread");
        Applier { tx, alive }
    }

    /// Whether the thread still runs.
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    /// Queues a batch, waiting while the queue is full. `first`: the position of its first
    /// event in the connection's stream, `peer` who sent it (both named by refusals).
    pub async fn submit(
        &self,
        batch: Batch,
        source: Source,
        first: u64,
        peer: Option<SocketAddr>,
    ) -> Result<(), Stopped> {
        self.tx.send(Job::Apply { batch, source, first, peer, reply: None }).await.map_err(|_| Stopped)
    }

    /// Queues a batch like [`Applier::submit`]; the receiver gets its outcome once applied.
    pub async fn submit_for_reply(
        &self,
        batch: Batch,
        source: Source,
        peer: Option<SocketAddr>,
    ) -> Result<oneshot::Receiver<Applied>, Stopped> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Job::Apply { batch, source, first: 0, peer, reply: Some(reply) }).await.map_err(|_| Stopped)?;
        Ok(rx)
    }

    /// Returns once every batch queued before the call has been applied.
    pub async fn flush(&self) -> Result<(), Stopped> {
        let (done, rx) = oneshot::channel();
        self.tx.send(Job::Flush(done)).await.map_err(|_| Stopped)?;
        rx.await.map_err(|_| Stopped)
    }
}
