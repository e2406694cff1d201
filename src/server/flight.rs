//! Reads that many clients make at once, computed once and shared (issue 20): a Grafana
//! dashboard refreshes all its panels together, a wall of boards polls on the same
//! second, several Prometheus replicas scrape on the same tick. Each key (a `/metrics`
//! page, a floor or team snapshot) has at most one computation in flight; a request that
//! arrives while it may still join takes its answer instead of computing its own.
//!
//! Exact, not cached: a computation holds the engine lock from the moment it reads the
//! engine until it closes its flight ([`Closer::close`]), and a request joins only a
//! flight not yet closed. So every event acknowledged before a joining request arrived was
//! applied before the computation read the engine (it could not be applied while the lock
//! was held, and after the close nobody joins): a client always reads its own writes, and
//! the answer is the exact one for the instant it names (`now`). Nothing is kept once the
//! flight lands: the next request computes anew.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use prometheus::{IntCounterVec, Opts, Registry};
use tokio::sync::OnceCell;

struct Flight<V> {
    /// Cleared once the computation has released the engine: no request joins after it.
    joinable: AtomicBool,
    /// `None`: the computation panicked (logged; the requests are answered 500).
    answer: OnceCell<Option<V>>,
}

/// Handed to a computation: it calls [`Closer::close`] as it releases the engine lock.
pub struct Closer(Arc<dyn Fn() + Send + Sync>);

impl Closer {
    pub fn close(&self) {
        (self.0)()
    }
}

/// The flights of one kind of read, by key.
pub struct Flights<K, V> {
    what: &'static str,
    flights: Mutex<HashMap<K, Arc<Flight<V>>>>,
    counted: IntCounterVec,
}

impl<K, V> Flights<K, V>
where
    K: Eq + Hash + Clone + Send + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// `what` names the read in `floorwatch_shared_reads_total{read, answer}`.
    pub fn new(what: &'static str, counted: IntCounterVec) -> Flights<K, V> {
        Flights { what, flights: Mutex::new(HashMap::new()), counted }
    }

    /// The answer for `key`: the one of a flight still joinable, or `compute`'s, run on the
    /// blocking pool. `compute` must call the closer as it releases the engine lock (or at
    /// the latest when it returns: it is called then too). `None` if it panicked.
    pub async fn get(&self, key: K, compute: impl FnOnce(&Closer) -> V + Send + 'static) -> Option<V> {
        let (flight, joined) = {
            let mut map = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
            match map.get(&key) {
                Some(f) if f.joinable.load(Ordering::Acquire) => (f.clone(), true),
                _ => {
                    let f = Arc::new(Flight { joinable: AtomicBool::new(true), answer: OnceCell::new() });
                    map.insert(key.clone(), f.clone());
                    (f, false)
                }
            }
        };
        self.counted.with_label_values(&[self.what, if joined { "shared" } else { "computed" }]).inc();
        let f = flight.clone();
        let answer = flight
            .answer
            .get_or_init(|| async move {
                let closer = Closer(Arc::new(move || f.joinable.store(false, Ordering::Release)));
                let closing = Closer(closer.0.clone());
                let out = tokio::task::spawn_blocking(move || {
                    let out = compute(&closer);
                    closer.close();
                    out
                })
                .await;
                closing.close();
                out.inspect_err(|e| tracing::error!(error = %e, "computing a shared read failed")).ok()
            })
            .await
            .clone();
        // The landed flight is no longer needed: drop it unless a newer one took its key.
        let mut map = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
        if map.get(&key).is_some_and(|f| Arc::ptr_eq(f, &flight)) {
            map.remove(&key);
        }
        answer
    }
}

/// The reads the daemon shares: `/metrics`, and snapshots of a team or of the floor
/// without agents (a whole-floor snapshot with every agent is streamed as it is written,
/// never held whole, so it is not shared).
pub struct Reads {
    pub metrics: Flights<(), bytes::Bytes>,
    /// By `(team, agents, queues)`.
    pub snapshots: Flights<(Option<String>, bool, crate::snapshot::QueueList), Arc<Answer>>,
}

impl Reads {
    pub fn new(registry: &Registry) -> Reads {
        let counted = counter(registry);
        Reads { metrics: Flights::new("metrics", counted.clone()), snapshots: Flights::new("snapshot", counted) }
    }
}

/// A shared JSON answer, and its gzip form once a client that accepts it asked (then
/// compressed once for all that share it).
pub struct Answer {
    pub raw: bytes::Bytes,
    /// The AHT charts' JSON in `raw` (a snapshot's), whose compressed form the charts keep.
    charts: Vec<crate::snapshot::Spliced>,
    gz: std::sync::OnceLock<bytes::Bytes>,
}

impl Answer {
    pub fn new(raw: bytes::Bytes, charts: Vec<crate::snapshot::Spliced>) -> Answer {
        Answer { raw, charts, gz: std::sync::OnceLock::new() }
    }

    /// The body gzip-compressed (fast level: a dashboard's poll is latency-bound), each
    /// chart's part compressed once for every answer that carries it (`gz`). CPU work:
    /// call it off the async workers.
    pub fn gzip(&self) -> bytes::Bytes {
        self.gz
            .get_or_init(|| {
                let parts = self.charts.iter().map(|s| {
                    let json = s.chart.json.get().expect("a spliced chart's JSON was written");
                    debug_assert_eq!(&self.raw[s.at..s.at + json.len()], &json[..]);
                    (s.at, json.len(), &s.chart.deflated.get_or_init(|| super::gz::piece(json))[..])
                });
                super::gz::gzip(&self.raw, parts).into()
            })
            .clone()
    }
}

/// `floorwatch_shared_reads_total{read, answer}`: reads answered by their own computation
/// (`computed`) or by joining one in flight (`shared`).
fn counter(registry: &Registry) -> IntCounterVec {
    let c = IntCounterVec::new(
        Opts::new(
            "floorwatch_shared_reads_total",
            "Reads of /metrics and snapshots: computed for the request, or shared with one in flight.",
        ),
        &["read", "answer"],
    )
    .expect("valid metric");
    registry.register(Box::new(c.clone())).expect("registered once");
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    fn flights() -> Flights<u8, usize> {
        Flights::new("test", counter(&Registry::new()))
    }

    /// Requests arriving while a computation holds the (here simulated) lock share its
    /// answer; one arriving after it closed computes anew.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn joiners_share_until_the_flight_closes() {
        let fl = Arc::new(flights());
        let runs = Arc::new(AtomicUsize::new(0));
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let first = {
            let (fl, runs) = (fl.clone(), runs.clone());
            tokio::spawn(async move {
                fl.get(1, move |_| {
                    started_tx.send(()).unwrap();
                    go_rx.recv().unwrap();
                    runs.fetch_add(1, Ordering::SeqCst) + 100
                })
                .await
            })
        };
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap()).await.unwrap();
        let mut joiners = Vec::new();
        for _ in 0..5 {
            let (fl, runs) = (fl.clone(), runs.clone());
            joiners
                .push(tokio::spawn(async move { fl.get(1, move |_| runs.fetch_add(1, Ordering::SeqCst) + 200).await }));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        go_tx.send(()).unwrap();
        assert_eq!(first.await.unwrap(), Some(100));
        for j in joiners {
            assert_eq!(j.await.unwrap(), Some(100), "a joiner computed its own answer");
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // Landed: the next request computes.
        let r = runs.clone();
        assert_eq!(fl.get(1, move |_| r.fetch_add(1, Ordering::SeqCst) + 300).await, Some(301));
        assert!(fl.flights.lock().unwrap().is_empty(), "a landed flight was kept");
    }

    /// Once the computation closed its flight (released the lock), a new request does not
    /// join it even though its answer has not landed yet.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_closed_flight_is_not_joined() {
        let fl = Arc::new(flights());
        let (closed_tx, closed_rx) = std::sync::mpsc::channel::<()>();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let first = {
            let fl = fl.clone();
            tokio::spawn(async move {
                fl.get(7, move |closer| {
                    closer.close();
                    closed_tx.send(()).unwrap();
                    go_rx.recv().unwrap();
                    1
                })
                .await
            })
        };
        tokio::task::spawn_blocking(move || closed_rx.recv().unwrap()).await.unwrap();
        assert_eq!(fl.get(7, |_| 2).await, Some(2), "joined a flight that had released the engine");
        go_tx.send(()).unwrap();
        assert_eq!(first.await.unwrap(), Some(1));
        // Other keys never share; a computation that panics answers None.
        assert_eq!(fl.get(8, |_| 3).await, Some(3));
        assert_eq!(fl.get(9, |_| -> usize { panic!("a bug") }).await, None);
        assert_eq!(fl.get(9, |_| 4).await, Some(4), "a failed flight was kept");
    }
}
