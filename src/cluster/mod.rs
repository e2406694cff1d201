//! The cluster (SPEC §11, docs/cluster.md): floorwatch replicas on a NATS JetStream stream.
//!
//! The stream is the log. Every ingest path publishes what it decoded (one message per
//! batch, `fw.in.<site>.batch`) and is answered once JetStream has stored it on a majority;
//! every replica applies its sites' messages in stream order ([`follow`]), with the
//! message's stored time as the time of receipt, so replicas hold identical state. Time
//! moves through the stream as well: each replica publishes a tick a second
//! (`fw.in.<site>.tick`, de-duplicated per second across replicas), and replicas advance
//! and keep house at the ticks, never at their own clock. Hooks are delivered by one replica
//! at a time, holding a lease ([`lease`]).
//!
//! Only the JetStream API of nats-server 2.9 is used (streams, `Nats-Msg-Id` de-duplication,
//! expected-last-subject-sequence, ordered consumers with one filter subject): the server
//! version and the stream configuration it answers with are checked at start-up, and a
//! replica refuses to start rather than run on a server that dropped what it relies on.

pub mod follow;
pub mod lease;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use async_nats::jetstream::{self, context::PublishErrorKind, stream};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use crate::engine::{IngestCounts, Refused, Source};
use crate::event::Input;
use crate::journal::record::Payload;
use crate::time::Ms;

/// `Fw-Origin`: the publishing replica's instance and its submission number, so the
/// replica that received a batch answers its sender with the outcomes once it applied it.
pub const ORIGIN_HEADER: &str = "Fw-Origin";
/// `Fw-Peer`: the address the batch was received from (TCP, WebSocket or HTTP), so that
/// the engine's refusals of it (late, duplicate) name their sender as a lone daemon's do.
pub const PEER_HEADER: &str = "Fw-Peer";
/// How long a publish is retried (a stream leader re-elected, a node restarting: 5–12 s
/// measured) before the batch is given up and its sender told to resend.
pub const PUBLISH_DEADLINE: Duration = Duration::from_secs(30);
/// How long one publish waits for JetStream's acknowledgement.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);
/// The server's de-duplication window: a batch resent within it is stored once.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// The oldest server this design runs on (its JetStream API; docs/cluster.md).
const MIN_SERVER: (u64, u64) = (2, 9);

/// `[cluster]`, validated (config.rs).
#[derive(Clone, Debug)]
pub struct ClusterSettings {
    pub nats: Vec<String>,
    pub stream: String,
    /// The site this replica's ingest publishes to.
    pub site: String,
    /// The sites it follows (applies and shows), sorted; `site` by default.
    pub sites: Vec<String>,
    pub replicas: usize,
    pub lease: Duration,
    /// How long the stream keeps messages (its `max_age`).
    pub retention: Duration,
    /// Where state snapshots go (`journal.dir`); `None`: a restart replays the stream.
    pub state_dir: Option<std::path::PathBuf>,
    pub snapshot_interval: Duration,
}

impl ClusterSettings {
    /// Replicas that follow the same sites share hook delivery and state snapshots: this
    /// names them (`sh-01+bj-02`).
    pub fn group(&self) -> String {
        self.sites.join("+")
    }

    fn subject(&self, what: &str) -> String {
        format!("fw.in.{}.{what}", self.site)
    }

    /// What a replica's consumer reads: its one site's subjects, or (several sites) the
    /// whole stream with other sites skipped, so the order is the stream's either way with
    /// the one filter subject a 2.9 server has.
    fn filter(&self) -> String {
        match self.sites.as_slice() {
            [one] => format!("fw.in.{one}.>"),
            _ => "fw.in.>".to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cluster.nats: cannot connect to {urls}: {why}")]
    Connect { urls: String, why: String },
    #[error("cluster.nats: the server is nats-server {found}; floorwatch needs {}.{} or later with JetStream", MIN_SERVER.0, MIN_SERVER.1)]
    Version { found: String },
    #[error("cluster.stream: {0}")]
    Stream(String),
}

/// The batch could not be stored in the stream within [`PUBLISH_DEADLINE`]: its sender
/// must resend it (the same batch is de-duplicated if it was stored after all).
#[derive(Debug, Clone, thiserror::Error)]
#[error("not stored in the cluster's stream: {0}")]
pub struct NotStored(pub String);

/// What the follower tells the replica that published a batch once it applied it.
#[derive(Debug, Default)]
pub struct Landed {
    pub counts: IngestCounts,
    /// Events of messages the stream had already (a resend): counted `duplicate` by the
    /// replica that received them, not applied by any.
    pub deduplicated: usize,
    pub not_applied: Vec<Refused>,
    pub limits: (Ms, usize),
}

/// Counters for `/metrics`.
#[derive(Default)]
pub struct Stats {
    pub stored: AtomicU64,
    pub duplicate: AtomicU64,
    pub failed: AtomicU64,
    pub retries: AtomicU64,
    pub applied_seq: AtomicU64,
    pub lag: AtomicU64,
    pub lease_held: AtomicBool,
    pub hook_takeovers: AtomicU64,
    pub hooks_skipped: AtomicU64,
    pub ticks: AtomicU64,
    /// Set once the follower has applied everything the stream held (`/readyz`).
    pub caught_up: AtomicBool,
    /// Times the follower found the stream made anew (its store lost) and read it again
    /// from its first message.
    pub stream_resets: AtomicU64,
}

/// The connection to the cluster: publishing, the submissions waiting for their outcome.
pub struct Cluster {
    pub settings: ClusterSettings,
    js: jetstream::Context,
    /// This process, unique per start: names its submissions (`Fw-Origin`). Replicas need
    /// no configured identity.
    pub instance: String,
    next: AtomicU64,
    waiters: Mutex<HashMap<u64, oneshot::Sender<Landed>>>,
    pub stats: Stats,
    /// The server's `max_payload`: larger batches go as several messages.
    max_payload: u64,
    /// The background lane for paths that cannot wait (TCP, sources, demo): in order.
    lane: Mutex<Option<std::sync::mpsc::SyncSender<LaneJob>>>,
    lane_done: Arc<(Mutex<LaneState>, tokio::sync::Notify)>,
}

#[derive(Default)]
struct LaneState {
    /// Tickets published (stored or given up), in order.
    through: u64,
    failed: std::collections::BTreeSet<u64>,
}

struct LaneJob {
    ticket: u64,
    /// The batch's last message (a batch over `max_payload` is several).
    last: bool,
    subject: String,
    body: Vec<u8>,
    id: String,
    origin: String,
    peer: Option<SocketAddr>,
    /// Where its events came from and how many it holds (for the warning when it is lost).
    source: Source,
    events: usize,
}

impl Cluster {
    /// Connects (retrying for up to a minute: the servers may be starting too), checks the
    /// server's version and creates or checks the streams.
    pub async fn connect(settings: ClusterSettings) -> Result<Arc<Cluster>, ClusterError> {
        let urls = settings.nats.join(",");
        let addrs: Vec<async_nats::ServerAddr> = settings
            .nats
            .iter()
            .map(|u| u.parse().map_err(|e| ClusterError::Connect { urls: u.clone(), why: format!("{e}") }))
            .collect::<Result<_, _>>()?;
        let started = Instant::now();
        let client = loop {
            let opts = async_nats::ConnectOptions::new()
                .name(format!("floorwatch {}", settings.site))
                .retry_on_initial_connect()
                .max_reconnects(None);
            match tokio::time::timeout(Duration::from_secs(5), opts.connect(addrs.as_slice())).await {
                Ok(Ok(c)) if !c.server_info().version.is_empty() => break c,
                Ok(Ok(c)) => {
                    // Connected in the background: wait for the first INFO.
                    for _ in 0..50 {
                        if !c.server_info().version.is_empty() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    break c;
                }
                Ok(Err(e)) if started.elapsed() > Duration::from_secs(60) => {
                    return Err(ClusterError::Connect { urls, why: e.to_string() });
                }
                Err(_) if started.elapsed() > Duration::from_secs(60) => {
                    return Err(ClusterError::Connect { urls, why: "timed out".into() });
                }
                other => {
                    let why = match other {
                        Ok(Err(e)) => e.to_string(),
                        _ => "timed out".into(),
                    };
                    tracing::warn!(nats = %urls, error = %why, "cluster: NATS not reachable yet; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        let version = client.server_info().version;
        let max_payload = client.server_info().max_payload as u64;
        if !version_at_least(&version, MIN_SERVER) {
            return Err(ClusterError::Version { found: version });
        }
        let js = jetstream::new(client);
        ensure_streams(&js, &settings).await?;
        let instance = format!("{:016x}", rand::random::<u64>());
        tracing::info!(nats = %urls, server = %version, stream = %settings.stream, site = %settings.site, sites = ?settings.sites, "cluster: connected");
        Ok(Arc::new(Cluster {
            settings,
            js,
            instance,
            next: AtomicU64::new(1),
            waiters: Mutex::new(HashMap::new()),
            stats: Stats::default(),
            max_payload: if max_payload == 0 { 1 << 20 } else { max_payload },
            lane: Mutex::new(None),
            lane_done: Arc::new((Mutex::new(LaneState::default()), tokio::sync::Notify::new())),
        }))
    }

    pub fn context(&self) -> &jetstream::Context {
        &self.js
    }

    /// The message bodies and `Nats-Msg-Id`s of a batch, with the events each holds: one
    /// message, or several in order when the batch is over the server's `max_payload`.
    pub fn encode(&self, source: Source, events: &[Input]) -> Vec<(Vec<u8>, String, usize)> {
        let limit = (self.max_payload as usize).saturating_sub(4096).max(4096);
        split(&self.settings.site, source, events, limit)
    }

    /// Publishes a batch in the caller's task and waits until this replica applied it:
    /// the outcomes, or [`NotStored`] (the sender resends).
    pub async fn submit(
        &self,
        source: Source,
        events: &[Input],
        peer: Option<SocketAddr>,
    ) -> Result<Landed, NotStored> {
        let mut all = Landed::default();
        let mut offset = 0;
        for (body, id, count) in self.encode(source, events) {
            let landed = self.submit_one(body, &id, count, peer).await?;
            all.counts.merge(&landed.counts);
            all.deduplicated += landed.deduplicated;
            all.not_applied.extend(landed.not_applied.into_iter().map(|r| Refused { index: r.index + offset, ..r }));
            all.limits = landed.limits;
            offset += count;
        }
        Ok(all)
    }

    async fn submit_one(
        &self,
        body: Vec<u8>,
        id: &str,
        count: usize,
        peer: Option<SocketAddr>,
    ) -> Result<Landed, NotStored> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.waiters.lock().expect("waiters").insert(n, tx);
        /// Forgets the waiter however this ends (a caller that gave up included).
        struct Waiting<'a>(&'a Cluster, u64);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.waiters.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.1);
            }
        }
        let _waiting = Waiting(self, n);
        let origin = format!("{}.{n}", self.instance);
        let published = self.publish(&self.settings.subject("batch"), body, id, Some((&origin, peer))).await;
        match published {
            Err(e) => {
                tracing::warn!(events = count, error = %e.0, "cluster: a batch was not stored; its sender is told to resend");
                Err(e)
            }
            Ok(true) => {
                // Stored before (a resend): every event of it counts as a duplicate here.
                let mut counts = IngestCounts::default();
                for _ in 0..count {
                    counts.count(crate::engine::Outcome::Duplicate);
                }
                Ok(Landed { counts, deduplicated: count, ..Landed::default() })
            }
            Ok(false) => rx.await.map_err(|_| NotStored("the replica stopped before applying it".into())),
        }
    }

    /// Queues a batch on the background lane (in order, published one after another) and
    /// returns its ticket for [`Cluster::stored`]. Blocks while the lane is full (1,024).
    pub fn submit_background(self: &Arc<Self>, source: Source, events: &[Input], peer: Option<SocketAddr>) -> u64 {
        let ticket = self.next.fetch_add(1, Ordering::Relaxed);
        let tx = {
            let mut lane = self.lane.lock().expect("lane");
            lane.get_or_insert_with(|| self.start_lane()).clone()
        };
        let parts = self.encode(source, events);
        let last = parts.len() - 1;
        for (i, (body, id, events)) in parts.into_iter().enumerate() {
            let job = LaneJob {
                ticket,
                last: i == last,
                subject: self.settings.subject("batch"),
                body,
                id,
                origin: format!("{}.{ticket}", self.instance),
                peer,
                source,
                events,
            };
            if tx.send(job).is_err() {
                self.lane_finished(ticket, false, true);
                break;
            }
        }
        ticket
    }

    fn start_lane(self: &Arc<Self>) -> std::sync::mpsc::SyncSender<LaneJob> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<LaneJob>(1024);
        let me = self.clone();
        std::thread::Builder::new()
            .name("fw-publish".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("lane runtime");
                let mut lost = crate::hooks::CountingWarn::new(Duration::from_secs(60));
                while let Ok(job) = rx.recv() {
                    let published = rt.block_on(me.publish(&job.subject, job.body, &job.id, Some((&job.origin, job.peer))));
                    if let Err(e) = &published
                        && let Some((events, _)) = lost.add(job.events as u64)
                    {
                        // Nobody is told: these senders have no answer to read.
                        tracing::warn!(
                            source = job.source.as_str(),
                            events,
                            error = %e.0,
                            "cluster: events sent without acknowledgements (TCP, WebSocket without ?ack=1) were not stored in the stream and are lost (count since the last such warning); send with acknowledgements where that matters"
                        );
                    }
                    me.lane_finished(job.ticket, published.is_ok(), job.last);
                }
            })
            .expect("spawn the fw-publish thread");
        tx
    }

    fn lane_finished(&self, ticket: u64, ok: bool, last: bool) {
        let (state, notify) = &*self.lane_done;
        let mut st = state.lock().expect("lane state");
        if last {
            st.through = st.through.max(ticket);
        }
        if !ok {
            st.failed.insert(ticket);
            if st.failed.len() > 4096 {
                st.failed.pop_first();
            }
        }
        drop(st);
        notify.notify_waiters();
    }

    /// Waits until the background ticket is stored (or given up: `Err`).
    pub async fn stored(&self, ticket: u64) -> Result<(), NotStored> {
        let (state, notify) = &*self.lane_done;
        loop {
            let wake = notify.notified();
            {
                let st = state.lock().expect("lane state");
                if st.through >= ticket {
                    return if st.failed.contains(&ticket) {
                        Err(NotStored("publishing gave up".into()))
                    } else {
                        Ok(())
                    };
                }
            }
            wake.await;
        }
    }

    /// Publishes with bounded retries; `Ok(true)` when the stream had it already. `origin`:
    /// the submission's `Fw-Origin` and the address its events came from.
    async fn publish(
        &self,
        subject: &str,
        body: Vec<u8>,
        id: &str,
        origin: Option<(&str, Option<SocketAddr>)>,
    ) -> Result<bool, NotStored> {
        self.publish_counted(subject, body, id, origin, true).await
    }

    /// [`Cluster::publish`]; `count`: in `floorwatch_cluster_publish_total` (batches, not ticks).
    async fn publish_counted(
        &self,
        subject: &str,
        body: Vec<u8>,
        id: &str,
        origin: Option<(&str, Option<SocketAddr>)>,
        count: bool,
    ) -> Result<bool, NotStored> {
        let mut headers = HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, id);
        if let Some((o, peer)) = origin {
            headers.insert(ORIGIN_HEADER, o);
            if let Some(p) = peer {
                headers.insert(PEER_HEADER, p.to_string().as_str());
            }
        }
        let body = bytes::Bytes::from(body);
        let started = Instant::now();
        let mut wait = Duration::from_millis(50);
        loop {
            let attempt = async {
                let ack = self
                    .js
                    .publish_with_headers(subject.to_string(), headers.clone(), body.clone())
                    .await
                    .map_err(|e| (e.kind() == PublishErrorKind::MaxPayloadExceeded, e.to_string()))?;
                tokio::time::timeout(ACK_TIMEOUT, ack)
                    .await
                    .map_err(|_| (false, "no acknowledgement".to_string()))?
                    .map_err(|e| (false, e.to_string()))
            };
            match attempt.await {
                Ok(ack) => {
                    let counter = if ack.duplicate { &self.stats.duplicate } else { &self.stats.stored };
                    if count {
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                    return Ok(ack.duplicate);
                }
                Err((fatal, why)) => {
                    if fatal || started.elapsed() + wait > PUBLISH_DEADLINE {
                        if count {
                            self.stats.failed.fetch_add(1, Ordering::Relaxed);
                        }
                        // The caller says what becomes of it (a sender told, or events lost).
                        tracing::debug!(error = %why, "cluster: a publish was given up");
                        return Err(NotStored(explained(why, fatal)));
                    }
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(error = %why, ?wait, "cluster: publish failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(2));
                }
            }
        }
    }

    /// Publishes this second's tick for the replica's site (every replica does; the stream
    /// keeps one per second).
    pub async fn tick(&self, wall: Ms) -> Result<(), NotStored> {
        let second = wall.div_euclid(1000);
        let id = format!("tick.{}.{second}", self.settings.site);
        let body = Payload::advance(0).bytes;
        self.publish_counted(&self.settings.subject("tick"), body, &id, None, false).await?;
        self.stats.ticks.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Hands the outcome of one of this replica's submissions to its waiting sender.
    pub fn landed(&self, origin: &str, landed: impl FnOnce() -> Landed) {
        let Some((instance, n)) = origin.rsplit_once('.') else { return };
        if instance != self.instance {
            return;
        }
        let Ok(n) = n.parse::<u64>() else { return };
        if let Some(tx) = self.waiters.lock().expect("waiters").remove(&n) {
            let _ = tx.send(landed());
        }
    }

    /// Whether `origin` (a message's `Fw-Origin`) is one of this replica's submissions.
    pub fn is_mine(&self, origin: &str) -> bool {
        origin.rsplit_once('.').is_some_and(|(i, _)| i == self.instance)
    }

    /// The cluster's own series for `/metrics`.
    pub fn render_metrics(&self, out: &mut String) {
        use std::fmt::Write;
        let s = &self.stats;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = write!(
            out,
            "# HELP floorwatch_cluster_publish_total Batches this replica published to the stream, by outcome (stored, duplicate: the stream had it already, failed: given up, the sender told to resend).\n\
             # TYPE floorwatch_cluster_publish_total counter\n\
             floorwatch_cluster_publish_total{{outcome=\"stored\"}} {}\n\
             floorwatch_cluster_publish_total{{outcome=\"duplicate\"}} {}\n\
             floorwatch_cluster_publish_total{{outcome=\"failed\"}} {}\n\
             # HELP floorwatch_cluster_publish_retries_total Publishes retried (no stream leader, no acknowledgement in time).\n\
             # TYPE floorwatch_cluster_publish_retries_total counter\n\
             floorwatch_cluster_publish_retries_total {}\n\
             # HELP floorwatch_cluster_applied_sequence The stream sequence this replica has applied through.\n\
             # TYPE floorwatch_cluster_applied_sequence gauge\n\
             floorwatch_cluster_applied_sequence {}\n\
             # HELP floorwatch_cluster_stream_lag_messages Messages of the followed sites in the stream not yet applied by this replica.\n\
             # TYPE floorwatch_cluster_stream_lag_messages gauge\n\
             floorwatch_cluster_stream_lag_messages {}\n\
             # HELP floorwatch_cluster_lease_held 1 while this replica holds the hook-delivery lease (delivers hooks).\n\
             # TYPE floorwatch_cluster_lease_held gauge\n\
             floorwatch_cluster_lease_held {}\n\
             # HELP floorwatch_cluster_hook_takeovers_total Times this replica took over hook delivery.\n\
             # TYPE floorwatch_cluster_hook_takeovers_total counter\n\
             floorwatch_cluster_hook_takeovers_total {}\n\
             # HELP floorwatch_cluster_ticks_total Ticks this replica published (the stream keeps one per second and site).\n\
             # TYPE floorwatch_cluster_ticks_total counter\n\
             floorwatch_cluster_ticks_total {}\n\
             # HELP floorwatch_cluster_hook_notifications_skipped_total Notifications a takeover could not deliver (older than this replica's buffer).\n\
             # TYPE floorwatch_cluster_hook_notifications_skipped_total counter\n\
             floorwatch_cluster_hook_notifications_skipped_total {}\n\
             # HELP floorwatch_cluster_stream_resets_total Times this replica found the stream made anew (its store lost on every NATS server) and read it from its first message: what the old one held after this replica's state snapshot is lost.\n\
             # TYPE floorwatch_cluster_stream_resets_total counter\n\
             floorwatch_cluster_stream_resets_total {}\n",
            l(&s.stored),
            l(&s.duplicate),
            l(&s.failed),
            l(&s.retries),
            l(&s.applied_seq),
            l(&s.lag),
            s.lease_held.load(Ordering::Relaxed) as u8,
            l(&s.hook_takeovers),
            l(&s.ticks),
            l(&s.hooks_skipped),
            l(&s.stream_resets),
        );
    }
}

/// NATS's reason for a publish given up after its retries, with what it means here: while
/// no majority of the nodes is reachable (or the stream's leader is being elected) NATS
/// answers "no stream found for given subject" or "no responders", which reads as if the
/// stream were gone.
fn explained(why: String, fatal: bool) -> String {
    if fatal {
        return why;
    }
    format!(
        "{why} (for {}s: NATS cannot store now; no majority of its nodes reachable, or the stream's leader being elected)",
        PUBLISH_DEADLINE.as_secs()
    )
}

/// A batch as messages of at most `limit` bytes (one unless it is larger), in order, each
/// with its `Nats-Msg-Id` and its number of events. The same batch always splits the same.
pub fn split(site: &str, source: Source, events: &[Input], limit: usize) -> Vec<(Vec<u8>, String, usize)> {
    let mut out = Vec::new();
    let mut rest = events;
    while !rest.is_empty() {
        // The most events that fit, halving from what is left.
        let mut n = rest.len();
        loop {
            let body = Payload::batch(0, source, &[], rest[..n].iter()).bytes;
            if body.len() <= limit || n == 1 {
                out.push((body, batch_id(site, &rest[..n]), n));
                break;
            }
            n = n.div_ceil(2);
        }
        rest = &rest[n..];
    }
    out
}

/// `Nats-Msg-Id` of a batch: a digest of its events' identities — agent and `seq`, or a
/// call's id, event and `ts`; an agent event without `seq` by agent, `ts`, state and
/// reason — so a resent batch is stored once. (A single event resent in another batch is
/// refused by every replica alike as `duplicate`: `seq` must rise.)
pub fn batch_id(site: &str, events: &[Input]) -> String {
    let mut h = Sha256::new();
    h.update(site.as_bytes());
    for ev in events {
        h.update([0xff]);
        match ev {
            Input::Agent(e) => {
                h.update(e.agent.as_bytes());
                h.update([0]);
                match e.seq {
                    Some(seq) => h.update(seq.to_le_bytes()),
                    None => {
                        h.update(e.ts.unwrap_or(Ms::MIN).to_le_bytes());
                        h.update(e.to_json().as_bytes());
                    }
                }
            }
            Input::Call(c) => {
                h.update(b"call\0");
                h.update(serde_json::to_vec(c).unwrap_or_default());
            }
        }
    }
    let d = h.finalize();
    d[..16].iter().map(|b| format!("{b:02x}")).collect()
}

fn version_at_least(v: &str, (major, minor): (u64, u64)) -> bool {
    let mut parts = v.trim_start_matches('v').split(['.', '-']).map(|p| p.parse::<u64>().unwrap_or(0));
    let (a, b) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (a, b) >= (major, minor)
}

/// The three streams: the log, the hook lease, the hook delivery cursor. Created when
/// absent; checked against what this design needs when present (or as the server
/// answered: a server that dropped a setting is refused).
async fn ensure_streams(js: &jetstream::Context, s: &ClusterSettings) -> Result<(), ClusterError> {
    let replicas = s.replicas;
    let log = stream::Config {
        name: s.stream.clone(),
        subjects: vec!["fw.in.>".into()],
        num_replicas: replicas,
        duplicate_window: DUPLICATE_WINDOW,
        max_age: s.retention,
        storage: stream::StorageType::File,
        ..Default::default()
    };
    let lease = stream::Config {
        name: format!("{}_LEASE", s.stream),
        subjects: vec![format!("fw.lease.{}.>", s.stream)],
        num_replicas: replicas,
        max_messages_per_subject: 1,
        max_age: s.lease,
        duplicate_window: s.lease.min(DUPLICATE_WINDOW),
        storage: stream::StorageType::File,
        ..Default::default()
    };
    let cursor = stream::Config {
        name: format!("{}_HOOKS", s.stream),
        subjects: vec![format!("fw.hooks.{}.>", s.stream)],
        num_replicas: replicas,
        max_messages_per_subject: 1,
        storage: stream::StorageType::File,
        ..Default::default()
    };
    for want in [log, lease, cursor] {
        let name = want.name.clone();
        let started = Instant::now();
        let got = loop {
            match js.get_or_create_stream(want.clone()).await {
                Ok(mut st) => match st.info().await {
                    Ok(info) => break info.config.clone(),
                    Err(e) if started.elapsed() < Duration::from_secs(60) => {
                        tracing::warn!(stream = %name, error = %e, "cluster: stream not ready yet; retrying");
                    }
                    Err(e) => return Err(ClusterError::Stream(format!("{name}: {e}"))),
                },
                // "no suitable peers" right after the cluster formed, "no responders" while
                // the meta leader is elected: bounded retries.
                Err(e) if started.elapsed() < Duration::from_secs(60) => {
                    tracing::warn!(stream = %name, error = %e, "cluster: cannot create or read the stream yet; retrying");
                }
                Err(e) => return Err(ClusterError::Stream(format!("{name}: {e}"))),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        };
        check_stream(&want, &got).map_err(|m| ClusterError::Stream(format!("{name}: {m}")))?;
    }
    Ok(())
}

/// What the design relies on, compared with the stream the server has.
fn check_stream(want: &stream::Config, got: &stream::Config) -> Result<(), String> {
    if !got.subjects.iter().any(|s| want.subjects.contains(s)) {
        return Err(format!("exists with subjects {:?}, not {:?}", got.subjects, want.subjects));
    }
    if got.duplicate_window < want.duplicate_window.min(DUPLICATE_WINDOW) && want.duplicate_window > Duration::ZERO {
        return Err(format!(
            "duplicate_window is {:?}, floorwatch needs at least {:?} (resent batches must be de-duplicated)",
            got.duplicate_window, want.duplicate_window
        ));
    }
    // 0 and -1 both mean "no limit" (the server answers -1).
    let per_subject = |v: i64| if v <= 0 { -1 } else { v };
    if per_subject(got.max_messages_per_subject) != per_subject(want.max_messages_per_subject) {
        return Err(format!(
            "max_msgs_per_subject is {}, floorwatch needs {}",
            got.max_messages_per_subject, want.max_messages_per_subject
        ));
    }
    if want.max_age > Duration::ZERO && want.max_messages_per_subject == 1 && got.max_age != want.max_age {
        return Err(format!("max_age is {:?}, the lease needs {:?} (cluster.lease_secs)", got.max_age, want.max_age));
    }
    if got.num_replicas != want.num_replicas {
        tracing::warn!(stream = %got.name, have = got.num_replicas, configured = want.num_replicas, "cluster: the stream exists with another replica count; keeping the stream's");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Aliases, decode_str};

    fn ev(line: &str) -> Input {
        decode_str(line, &Aliases::default()).unwrap()
    }

    #[test]
    fn a_resent_batch_has_the_same_id_and_another_batch_another() {
        let a = [ev(r#"{"ts":1000,"agent":"A1","state":"idle","seq":1}"#)];
        let b = [ev(r#"{"ts":1000,"agent":"A1","state":"idle","seq":2}"#)];
        let no_seq = [ev(r#"{"ts":1000,"agent":"A1","state":"idle"}"#)];
        let no_seq_later = [ev(r#"{"ts":2000,"agent":"A1","state":"idle"}"#)];
        assert_eq!(batch_id("s", &a), batch_id("s", &a));
        assert_ne!(batch_id("s", &a), batch_id("s", &b));
        assert_ne!(batch_id("s", &a), batch_id("t", &a), "sites never share ids");
        assert_ne!(batch_id("s", &no_seq), batch_id("s", &no_seq_later));
        assert_eq!(batch_id("s", &a).len(), 32);
    }

    #[test]
    fn a_batch_over_the_payload_limit_goes_as_several_messages_in_order() {
        let events: Vec<Input> = (0..1000)
            .map(|i| ev(&format!(r#"{{"ts":{},"agent":"A{}","state":"idle","seq":{i}}}"#, 1000 + i, i % 7)))
            .collect();
        let whole = split("s", Source::Http, &events, 1 << 20);
        assert_eq!(whole.len(), 1);
        assert_eq!(whole[0].2, 1000);
        let parts = split("s", Source::Http, &events, 4096);
        assert!(parts.len() > 1);
        let mut back = Vec::new();
        for (body, _, n) in &parts {
            assert!(body.len() <= 4096, "{} bytes", body.len());
            match crate::journal::record::decode_payload(body).unwrap() {
                crate::journal::record::Op::Batch { events, .. } => {
                    assert_eq!(events.len(), *n);
                    back.extend(events);
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(back, events, "every event, in order");
        let again = split("s", Source::Http, &events, 4096);
        let ids = |p: &[(Vec<u8>, String, usize)]| p.iter().map(|x| x.1.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&parts), ids(&again), "a resent batch has the same messages");
    }

    #[test]
    fn server_versions() {
        assert!(version_at_least("2.9.10", (2, 9)));
        assert!(version_at_least("v2.15.1", (2, 9)));
        assert!(version_at_least("3.0.0-beta", (2, 9)));
        assert!(!version_at_least("2.8.4", (2, 9)));
        assert!(!version_at_least("", (2, 9)));
    }

    #[test]
    fn a_stream_the_server_changed_is_refused() {
        let want = stream::Config {
            name: "L".into(),
            subjects: vec!["fw.lease.X.>".into()],
            max_messages_per_subject: 1,
            max_age: Duration::from_secs(3),
            duplicate_window: Duration::from_secs(3),
            ..Default::default()
        };
        assert!(check_stream(&want, &want).is_ok());
        let dropped = stream::Config { max_messages_per_subject: -1, ..want.clone() };
        assert!(check_stream(&want, &dropped).unwrap_err().contains("max_msgs_per_subject"));
        let other = stream::Config { subjects: vec!["x.>".into()], ..want.clone() };
        assert!(check_stream(&want, &other).is_err());
        let age = stream::Config { max_age: Duration::ZERO, ..want.clone() };
        assert!(check_stream(&want, &age).unwrap_err().contains("lease"));
    }

    /// A publish given up after its retries says what NATS's words mean here ("no stream
    /// found" while the majority is lost reads as if the stream were gone); one refused
    /// for good (over `max_payload`) is NATS's reason alone.
    #[test]
    fn a_publish_given_up_says_why() {
        let e = explained("no stream found for given subject".into(), false);
        assert!(e.starts_with("no stream found for given subject (for 30s: NATS cannot store now; no majority"), "{e}");
        assert_eq!(explained("maximum payload exceeded".into(), true), "maximum payload exceeded");
    }
}
