//! `/ws` push to wallboards (docs/ws-protocol.md): a `full` board first, then `delta`
//! frames every `push_interval_ms` when something changed, and `alert` frames at once.
//!
//! Frames are built once per tick and per team filter and shared by every client with
//! that filter. Each client has a bounded queue (`QUEUE` frames). A client whose queue is
//! full misses the delta and is marked stale; once it has room it gets a fresh `full`
//! frame (skip to the latest state). A client stale for `DROP_AFTER` is disconnected, and
//! so is one whose socket takes nothing for `SEND_TIMEOUT` (both counted as dropped).
//! Neither ever slows ingest: the push loop only `try_send`s.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use compact_str::CompactString;
use dashmap::DashMap;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use warp::ws::{Message, WebSocket};

use super::{Shared, wall_ms};
use crate::alert::Alert;
use crate::engine::{View, ViewOpts};
use crate::hooks::CountingWarn;
use crate::snapshot::{BoardAgent, BoardGroups, board_alerts};

const QUEUE: usize = 8;
const DROP_AFTER_MS: i64 = 30_000;
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

pub type Frame = Arc<str>;

struct Client {
    team: Option<String>,
    tx: mpsc::Sender<Frame>,
    needs_full: AtomicBool,
    /// When the client first missed a frame (0 = not stale).
    stale_since: AtomicI64,
    /// Whether the client's board is the last tick's, so that a delta may leave out what
    /// did not change since that tick. False from connect (its `full` frame was computed
    /// between ticks) until it has taken a delta with everything.
    synced: AtomicBool,
}

pub struct Hub {
    clients: DashMap<u64, Arc<Client>>,
    next_id: AtomicU64,
    max_clients: usize,
    gauge: prometheus::IntGauge,
    skipped: prometheus::IntCounter,
    dropped: prometheus::IntCounter,
    /// "Wallboard dropped" warnings: at most one a minute, with how many since the last.
    drop_warn: std::sync::Mutex<CountingWarn>,
    /// The previous tick's agents, for deltas. The push loop keeps it; a client connecting
    /// while it is stale seeds it (`seed_prev`).
    prev: std::sync::Mutex<HashMap<CompactString, BoardAgent>>,
    /// Whether `prev` predates every client's board: no board was built while no client was
    /// connected. The first delta then named every agent, whole: 2.6 MB at 20,000 agents.
    prev_stale: AtomicBool,
    /// The `now` of the connect-time board `prev` was seeded from while stale (0: none;
    /// `i64::MIN`: a `?team=` client came first, whose board cannot seed it).
    seeded_at: AtomicI64,
    /// The previous tick's team ids, team blocks (the whole floor's, without charts) and
    /// alert lists per filter: a delta to a synced client leaves out what is unchanged.
    /// Only the push loop touches it.
    prev_tick: std::sync::Mutex<PrevTick>,
}

#[derive(Default)]
struct PrevTick {
    team_ids: Vec<String>,
    teams: HashMap<String, Value>,
    /// Each filter's alert list as the last tick's deltas had it.
    alerts: HashMap<Option<String>, Vec<Value>>,
    /// The queue blocks as the last tick had them (every board shows every queue).
    queues: Value,
}

/// The queue blocks that changed since the last tick, when the queues are the same ones in
/// the same order (`None`: the list changed, send it whole). Most of a floor's queues are
/// quiet in any second; every delta carried all of them (500 queues: 300 KB a second a
/// board; the memory audit).
fn queues_patch(before: &Value, now: &Value) -> Option<Vec<Value>> {
    let (Some(before), Some(now)) = (before.as_array(), now.as_array()) else { return None };
    let key = |v: &Value| v.get("queue").cloned();
    if before.len() != now.len() || before.iter().zip(now).any(|(a, b)| key(a) != key(b)) {
        return None;
    }
    Some(before.iter().zip(now).filter(|(a, b)| a != b).map(|(_, b)| b.clone()).collect())
}

/// A filter's alert list this tick, and what changed of it since the last tick's.
struct AlertsTick {
    list: Vec<Value>,
    /// Alerts new or changed (fired, resolved, corrected, a name in their text).
    upserts: Vec<Value>,
    /// Ids no longer on the list (resolved more than 10 minutes ago, or retracted).
    removed: Vec<String>,
}

impl AlertsTick {
    fn diff(list: Vec<Value>, before: Option<&Vec<Value>>) -> AlertsTick {
        let id = |v: &Value| v.get("id").and_then(Value::as_str).map(str::to_string);
        let before: HashMap<String, &Value> = before.into_iter().flatten().filter_map(|v| Some((id(v)?, v))).collect();
        let upserts = list.iter().filter(|v| id(v).is_none_or(|i| before.get(&i) != Some(v))).cloned().collect();
        let now: std::collections::HashSet<String> = list.iter().filter_map(id).collect();
        let mut removed: Vec<String> = before.into_keys().filter(|i| !now.contains(i)).collect();
        removed.sort_unstable();
        AlertsTick { list, upserts, removed }
    }
}

impl Hub {
    pub fn new(max_clients: usize, registry: &prometheus::Registry) -> Hub {
        let gauge = prometheus::IntGauge::new("floorwatch_ws_clients", "Wallboard clients connected to /ws")
            .expect("valid metric");
        let skipped = prometheus::IntCounter::new(
            "floorwatch_ws_clients_skipped_total",
            "Push frames not delivered because a /ws client's queue was full (it gets a full frame later)",
        )
        .expect("valid metric");
        let dropped = prometheus::IntCounter::new(
            "floorwatch_ws_clients_dropped_total",
            "/ws clients disconnected for staying too slow",
        )
        .expect("valid metric");
        for m in [
            Box::new(gauge.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(skipped.clone()),
            Box::new(dropped.clone()),
        ] {
            let _ = registry.register(m);
        }
        Hub {
            clients: DashMap::new(),
            next_id: AtomicU64::new(1),
            max_clients,
            gauge,
            skipped,
            dropped,
            drop_warn: std::sync::Mutex::new(CountingWarn::new(Duration::from_secs(60))),
            prev: std::sync::Mutex::new(HashMap::new()),
            prev_stale: AtomicBool::new(true),
            seeded_at: AtomicI64::new(0),
            prev_tick: std::sync::Mutex::new(PrevTick::default()),
        }
    }

    /// A client connecting while `prev` is stale: the whole floor's board it got seeds
    /// `prev`, so that its first delta names only what changed since (any client that
    /// connected earlier in the stale stretch got an older board: the oldest seed stays).
    fn seed_prev(&self, board: &Board, team: Option<&str>) {
        if !self.prev_stale.load(Ordering::Relaxed) {
            return;
        }
        let mut prev = self.prev.lock().unwrap_or_else(|p| p.into_inner());
        if !self.prev_stale.load(Ordering::Relaxed) {
            return;
        }
        let at = self.seeded_at.load(Ordering::Relaxed);
        if team.is_some() {
            if at == 0 {
                self.seeded_at.store(i64::MIN, Ordering::Relaxed);
            }
        } else if at == 0 || board.now < at {
            *prev = board.agents.iter().map(|a| (a.agent.clone(), a.clone())).collect();
            self.seeded_at.store(board.now, Ordering::Relaxed);
        }
    }

    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    /// Sends an alert frame to every client whose filter matches.
    pub fn alert(&self, alert: &Alert) {
        // Without wallboards, serializing every alert of a busy ingest was wasted (6% of the
        // daemon's CPU in the ingest benchmark, BENCHMARKS.md).
        if self.clients.is_empty() {
            return;
        }
        let frame: Frame = json!({"type": "alert", "alert": alert}).to_string().into();
        for c in self.clients.iter() {
            // Queues belong to the whole floor: every board shows their alerts.
            if alert.queue.is_some() || c.team.as_ref().is_none_or(|t| *t == alert.team) {
                self.offer(&c, frame.clone());
            }
        }
    }

    /// Counts a wallboard dropped for being too slow, and says so in the log (a dark screen
    /// on the floor should leave a trace), at most once a minute.
    fn note_dropped(&self, team: Option<&str>, why: &str) {
        self.dropped.inc();
        let warn = self.drop_warn.lock().unwrap_or_else(|p| p.into_inner()).add(1);
        if let Some((dropped, warnings_suppressed)) = warn {
            tracing::warn!(
                dropped,
                warnings_suppressed,
                team = team.unwrap_or("(whole floor)"),
                "wallboard dropped: {why}; {dropped} since the last warning (a page reconnects by itself when it can)"
            );
        }
    }

    /// Counts a frame `c` could not take; it gets a fresh `full` frame once it has room.
    fn mark_skipped(&self, c: &Client) {
        self.skipped.inc();
        c.needs_full.store(true, Ordering::Relaxed);
        let _ = c.stale_since.compare_exchange(0, wall_ms(), Ordering::Relaxed, Ordering::Relaxed);
    }

    fn offer(&self, c: &Client, frame: Frame) -> bool {
        match c.tx.try_send(frame) {
            Ok(()) => {
                c.stale_since.store(0, Ordering::Relaxed);
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.mark_skipped(c);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// The board's static configuration block (thresholds come from the daemon's config).
pub fn board_config(shared: &Shared) -> Value {
    let c = &shared.config;
    let s = &shared.settings;
    json!({
        "windows": c.board.windows,
        "push_interval_ms": c.server.push_interval.as_millis() as u64,
        "timezone": s.timezone_name,
        "talk_band": c.wallboard.talk_band,
        "aux_band": c.wallboard.aux_band,
        "aux_cv_limit": s.disp_cv_limit,
        "utilization_high": s.util_high,
        "long_aux_secs": s.long_aux_ms / 1000,
        "long_aux_per_reason": c.board.long_aux_per_reason,
        "planned_reasons": c.board.planned_reasons,
        "queues": {
            "sl_secs": s.queues.sl_ms / 1000,
            "short_abandon_secs": s.queues.short_abandon_ms / 1000,
            "sl_mode": s.queues.sl_mode.as_str(),
            "sl_target": s.queues.sl_target,
            "long_wait_secs": s.queues.long_wait_ms / 1000,
        },
        "lang": c.wallboard.lang,
        // The board says when anyone on the network can read it without a token.
        "open": shared.open_board,
    })
}

struct Board {
    now: i64,
    /// The largest applied event time (None before the first event): the page tells a dead
    /// feed from a quiet floor by its age.
    last_event: Option<i64>,
    /// Every team on the floor, whatever the client's filter (an unknown `?team=` lists them).
    team_ids: Vec<String>,
    /// The teams kept without a member (`Engine::emptied_team_ids`), in `full` frames only: a
    /// page opened on one says so (a page that saw the team empty knows it already).
    emptied_team_ids: Vec<String>,
    floor: Value,
    /// The teams' blocks without their AHT charts, which are in `charts`.
    teams: Vec<Value>,
    /// Each team's `aht_chart`, sent only to a client of that team (`?team=`): the team
    /// view draws it, and 64 points per team in every frame of the floor board would be
    /// most of its bytes for nothing it shows.
    charts: HashMap<String, Value>,
    /// Every queue and the floor's sums over them (queues are the floor's, whatever the
    /// client's team filter).
    queues: Value,
    floor_queues: Value,
    agents: Vec<BoardAgent>,
    alerts: Vec<Alert>,
    /// Platform sources (`[[sources]]`) not connected now: the board warns (SPEC §7).
    sources_down: Vec<String>,
}

impl Board {
    fn of(
        view: &View,
        last_event: Option<i64>,
        (team_ids, emptied_team_ids): (Vec<String>, Vec<String>),
        dispersion_min_logged_ms: i64,
        sources_down: Vec<String>,
    ) -> Board {
        let groups = BoardGroups { view, dispersion_min_logged_ms };
        let mut teams = match groups.teams() {
            Value::Array(v) => v,
            _ => Vec::new(),
        };
        let mut charts = HashMap::new();
        for g in &mut teams {
            if let (Some(Value::String(id)), Some(chart)) =
                (g.get("team").cloned(), g.as_object_mut().and_then(|m| m.remove("aht_chart")))
            {
                charts.insert(id, chart);
            }
        }
        let (queues, floor_queues) = crate::snapshot::queues_json(view, &crate::snapshot::QueueList::All);
        Board {
            queues,
            floor_queues,
            now: view.now,
            last_event,
            team_ids,
            emptied_team_ids,
            floor: groups.floor(),
            teams,
            charts,
            agents: view.agents.iter().map(BoardAgent::of).collect(),
            alerts: board_alerts(&view.alerts, view.now),
            sources_down,
        }
    }

    fn floor_for(&self, team: Option<&str>) -> Value {
        match team {
            None => self.floor.clone(),
            Some(t) => {
                let mut v = self
                    .teams
                    .iter()
                    .find(|g| g["team"] == t)
                    .cloned()
                    .unwrap_or_else(|| json!({"peak": false, "current": {}, "windows": {}}));
                if let Value::Object(m) = &mut v {
                    m.remove("team");
                    if let Some(chart) = self.charts.get(t) {
                        m.insert("aht_chart".into(), chart.clone());
                    }
                }
                v
            }
        }
    }

    /// The teams' blocks for a client: all (without charts), or the one of `?team=` with
    /// its chart.
    fn teams_for(&self, team: Option<&str>) -> Vec<Value> {
        match team {
            None => self.teams.clone(),
            Some(t) => self
                .teams
                .iter()
                .filter(|g| g["team"] == t)
                .map(|g| {
                    let mut g = g.clone();
                    if let (Value::Object(m), Some(chart)) = (&mut g, self.charts.get(t)) {
                        m.insert("aht_chart".into(), chart.clone());
                    }
                    g
                })
                .collect(),
        }
    }

    fn alerts_for(&self, team: Option<&str>) -> Vec<&Alert> {
        self.alerts.iter().filter(|a| a.queue.is_some() || team.is_none_or(|t| a.team == t)).collect()
    }

    fn full(&self, team: Option<&str>, config: &Value) -> String {
        let agents: Vec<&BoardAgent> = self.agents.iter().filter(|a| team.is_none_or(|t| a.team == t)).collect();
        json!({
            "type": "full",
            "now": self.now,
            "last_event": self.last_event,
            "team_ids": self.team_ids,
            "emptied_team_ids": self.emptied_team_ids,
            "config": config,
            "floor": self.floor_for(team),
            "teams": self.teams_for(team),
            "queues": self.queues,
            "floor_queues": self.floor_queues,
            "agents": agents,
            "alerts": self.alerts_for(team),
            "sources_down": self.sources_down,
        })
        .to_string()
    }
}

/// The `full` frame for one filter, computed now (used on connect and by GET /api/v1/board).
pub fn full_frame(shared: &Shared, team: Option<&str>) -> String {
    board_now(shared, team).full(team, &board_config(shared))
}

/// The board of one filter, computed now.
fn board_now(shared: &Shared, team: Option<&str>) -> Board {
    let (view, last_event, team_ids, emptied) = {
        let mut engine = shared.engine();
        let now = engine.now(wall_ms());
        let ids = engine.team_ids();
        let view =
            engine.view(now, &ViewOpts { team: team.map(str::to_string), agents: true, alerts: true, scrape: false });
        (view, engine.max_ts(), ids, engine.emptied_team_ids())
    };
    let ids = (team_ids, emptied);
    Board::of(&view, last_event, ids, shared.settings.dispersion_min_logged_ms, shared.sources.down())
}

/// Registers a `/ws` client and runs it until it closes, is dropped, or shutdown.
pub async fn client(shared: Arc<Shared>, ws: WebSocket, team: Option<String>, shutdown: CancellationToken) {
    let hub = &shared.hub;
    let (mut sink, mut stream) = ws.split();
    if hub.clients.len() >= hub.max_clients {
        tracing::debug!("/ws client refused: limits.max_ws_clients reached");
        let _ = sink.send(Message::close_with(1013u16, "too many clients")).await;
        return;
    }
    let (tx, mut rx) = mpsc::channel::<Frame>(QUEUE);
    let board = board_now(&shared, team.as_deref());
    let first = board.full(team.as_deref(), &board_config(&shared));
    hub.seed_prev(&board, team.as_deref());
    drop(board);
    let id = hub.next_id.fetch_add(1, Ordering::Relaxed);
    let client = Arc::new(Client {
        team,
        tx,
        needs_full: AtomicBool::new(false),
        stale_since: AtomicI64::new(0),
        synced: AtomicBool::new(false),
    });
    hub.clients.insert(id, client);
    hub.gauge.set(hub.clients.len() as i64);
    // The socket's read side in a task of its own, polled only when the client sends
    // something (a close, a pong): polling it on every frame sent, as a `select!` beside the
    // queue did, made tungstenite zero its 128 KiB read buffer each time (10% of the daemon's
    // CPU with 500 wallboards, BENCHMARKS.md).
    let gone = CancellationToken::new();
    let reader = {
        let gone = gone.clone();
        tokio::spawn(async move {
            while let Some(Ok(m)) = stream.next().await {
                if m.is_close() {
                    break;
                }
            }
            gone.cancel();
        })
    };
    let mut pending: Option<Frame> = Some(first.into());
    loop {
        let frame = match pending.take() {
            Some(f) => f,
            None => tokio::select! {
                _ = shutdown.cancelled() => {
                    // Bounded: a screen that reads nothing must not hold up the shutdown.
                    let close = sink.send(Message::close_with(1001u16, "server shutting down"));
                    let _ = tokio::time::timeout(Duration::from_secs(1), close).await;
                    break;
                }
                _ = gone.cancelled() => break,
                f = rx.recv() => match f { Some(f) => f, None => break },
            },
        };
        // Frames already queued behind this one (an alert storm, a delta after an alert) go
        // out in the same write: one flush, one syscall, instead of one per frame.
        let send = async {
            sink.feed(Message::text(frame.to_string())).await?;
            for _ in 0..QUEUE {
                let Ok(f) = rx.try_recv() else { break };
                sink.feed(Message::text(f.to_string())).await?;
            }
            sink.flush().await
        };
        match tokio::time::timeout(SEND_TIMEOUT, send).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => break,
            Err(_) => {
                // Its socket took nothing for SEND_TIMEOUT: too slow, dropped like a stale one.
                let team = hub.clients.get(&id).and_then(|c| c.team.clone());
                hub.note_dropped(
                    team.as_deref(),
                    &format!("its connection took nothing for {} s", SEND_TIMEOUT.as_secs()),
                );
                break;
            }
        }
    }
    reader.abort();
    hub.clients.remove(&id);
    hub.gauge.set(hub.clients.len() as i64);
}

/// The push loop: one view per tick, frames per filter, `try_send` to every client.
pub async fn run(shared: Arc<Shared>, shutdown: CancellationToken) {
    let interval = shared.config.server.push_interval;
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let config = board_config(&shared);
    let wall = shared.settings.clock == crate::config::ClockMode::Wall;
    let mut last_version = u64::MAX;
    let mut last_down: Option<Vec<String>> = None;
    // Boards built, for the team windows' cadence (`windows_every`).
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let hub = &shared.hub;
        if hub.clients.is_empty() {
            hub.prev_stale.store(true, Ordering::Relaxed);
            continue;
        }
        // The floor view and the board built from it take milliseconds of CPU on a large
        // floor: on the blocking pool, not on an async worker that serves sockets.
        let sh = shared.clone();
        let down = shared.sources.down();
        let same_down = last_down.as_ref() == Some(&down);
        last_down = Some(down.clone());
        let built = tokio::task::spawn_blocking(move || {
            let (version, view, last_event, emptied) = {
                let mut engine = sh.engine();
                // With the event clock nothing moves between events (but a source going down
                // or up is news); with the wall clock the windows slide, so figures change
                // every tick.
                if !wall && engine.version == last_version && same_down {
                    return None;
                }
                let now = engine.now(wall_ms());
                let view = engine.view(now, &ViewOpts { team: None, agents: true, alerts: true, scrape: false });
                (engine.version, view, engine.max_ts(), engine.emptied_team_ids())
            };
            // The view is of every team, sorted by id.
            let team_ids = view.teams.iter().map(|g| g.id.clone()).collect();
            let ids = (team_ids, emptied);
            Some((version, Board::of(&view, last_event, ids, sh.settings.dispersion_min_logged_ms, down)))
        })
        .await;
        let board = match built {
            Ok(Some((version, board))) => {
                last_version = version;
                board
            }
            Ok(None) => continue,
            Err(e) => {
                tracing::error!(error = %e, "building the board failed");
                continue;
            }
        };
        let current: HashMap<CompactString, BoardAgent> =
            board.agents.iter().map(|a| (a.agent.clone(), a.clone())).collect();
        let (changed, removed, moved_from) = {
            let mut prev = hub.prev.lock().unwrap_or_else(|p| p.into_inner());
            // Each changed agent with what a synced client needs of it (its record without
            // the fields that did not change).
            let changed: Vec<(&BoardAgent, Value)> = board
                .agents
                .iter()
                .filter_map(|a| {
                    let p = prev.get(&a.agent);
                    (p != Some(a)).then(|| (a, agent_patch(a, p)))
                })
                .collect();
            let removed: Vec<CompactString> = prev.keys().filter(|k| !current.contains_key(*k)).cloned().collect();
            let moved_from: HashMap<CompactString, CompactString> = changed
                .iter()
                .filter_map(|(a, _)| {
                    prev.get(&a.agent).filter(|p| p.team != a.team).map(|p| (a.agent.clone(), p.team.clone()))
                })
                .collect();
            *prev = current;
            hub.prev_stale.store(false, Ordering::Relaxed);
            hub.seeded_at.store(0, Ordering::Relaxed);
            (changed, removed, moved_from)
        };
        // Team ids and the floor's team blocks against the previous tick: a synced client of
        // the whole floor gets only the figures that moved (most of a 400-team delta's bytes
        // were the same figures again).
        let windows_due = ticks.is_multiple_of(windows_every(board.teams.len()));
        ticks += 1;
        let (ids_changed, team_patch, held, prev_alerts, queues_changed) = {
            let mut p = hub.prev_tick.lock().unwrap_or_else(|p| p.into_inner());
            let queues_changed = queues_patch(&p.queues, &board.queues);
            p.queues.clone_from(&board.queues);
            let ids_changed = p.team_ids != board.team_ids;
            // The team blocks synced clients hold after this tick: the board's, with the
            // windows they last got when the windows are not due.
            let held: Vec<Value> = board
                .teams
                .iter()
                .map(|g| match (g, g.get("team").and_then(Value::as_str).and_then(|id| p.teams.get(id))) {
                    (Value::Object(m), Some(old)) if !windows_due && old.get("windows").is_some() => {
                        let mut m = m.clone();
                        m.insert("windows".into(), old["windows"].clone());
                        Value::Object(m)
                    }
                    _ => g.clone(),
                })
                .collect();
            let patch = teams_patch(&p.teams, &held);
            p.team_ids.clone_from(&board.team_ids);
            p.teams = held.iter().filter_map(|g| Some((g.get("team")?.as_str()?.to_string(), g.clone()))).collect();
            (ids_changed, patch, held, std::mem::take(&mut p.alerts), queues_changed)
        };
        // Each filter's alert list this tick, and what changed of it since the last tick's.
        let mut alerts_now: HashMap<Option<String>, AlertsTick> = HashMap::new();
        let mut deltas: HashMap<(Option<String>, bool), Frame> = HashMap::new();
        let mut fulls: HashMap<Option<String>, Frame> = HashMap::new();
        let now_ms = wall_ms();
        let mut gone = Vec::new();
        for entry in hub.clients.iter() {
            let c = entry.value();
            if c.tx.is_closed() {
                gone.push(*entry.key());
                continue;
            }
            let was_full = c.needs_full.load(Ordering::Relaxed);
            // A client whose queue is full is skipped before any frame is built for it:
            // 1,000 stalled wallboards then cost 1,000 checks per tick, not frames.
            let delivered = if c.tx.capacity() == 0 {
                hub.mark_skipped(c);
                false
            } else {
                let key = c.team.clone();
                let frame = if was_full {
                    fulls.entry(key.clone()).or_insert_with(|| board.full(key.as_deref(), &config).into()).clone()
                } else {
                    // A client not yet synced (connected since the last tick) takes everything.
                    let whole = !c.synced.load(Ordering::Relaxed);
                    deltas
                        .entry((key.clone(), whole))
                        .or_insert_with(|| {
                            let t = key.as_deref();
                            let agents: Vec<Value> = changed
                                .iter()
                                .filter(|(a, _)| t.is_none_or(|t| a.team == t))
                                .map(|(a, patch)| if whole { json!(a) } else { patch.clone() })
                                .collect();
                            let mut rem: Vec<&CompactString> = removed.iter().collect();
                            if let Some(t) = t {
                                rem.extend(moved_from.iter().filter(|(_, from)| *from == t).map(|(id, _)| id));
                            }
                            let alerts = alerts_now.entry(key.clone()).or_insert_with(|| {
                                let list = board.alerts_for(t).into_iter().map(|a| json!(a)).collect();
                                AlertsTick::diff(list, prev_alerts.get(&key))
                            });
                            let mut m = serde_json::Map::new();
                            m.insert("type".into(), json!("delta"));
                            m.insert("now".into(), json!(board.now));
                            m.insert("last_event".into(), json!(board.last_event));
                            if whole || ids_changed {
                                m.insert("team_ids".into(), json!(board.team_ids));
                            }
                            m.insert("floor".into(), board.floor_for(t));
                            match (t, &team_patch) {
                                (None, Some(patch)) if !whole => m.insert("teams_changed".into(), json!(patch)),
                                (None, _) => m.insert("teams".into(), json!(held)),
                                (Some(_), _) => m.insert("teams".into(), json!(board.teams_for(t))),
                            };
                            match (&queues_changed, whole) {
                                (Some(list), false) => {
                                    if !list.is_empty() {
                                        m.insert("queues_changed".into(), json!(list));
                                    }
                                }
                                _ => {
                                    m.insert("queues".into(), board.queues.clone());
                                }
                            }
                            m.insert("floor_queues".into(), board.floor_queues.clone());
                            m.insert("agents".into(), json!(agents));
                            m.insert("removed".into(), json!(rem));
                            // What changed of the list, not the list: with a roster at 20,000
                            // agents a board holds thousands of alerts, a couple of which
                            // change every second (the whole list was 1.3 MB a second).
                            if whole {
                                m.insert("alerts".into(), json!(alerts.list));
                            } else {
                                if !alerts.upserts.is_empty() {
                                    m.insert("alerts_changed".into(), json!(alerts.upserts));
                                }
                                if !alerts.removed.is_empty() {
                                    m.insert("alerts_removed".into(), json!(alerts.removed));
                                }
                            }
                            m.insert("sources_down".into(), json!(board.sources_down));
                            Value::Object(m).to_string().into()
                        })
                        .clone()
                };
                hub.offer(c, frame)
            };
            if delivered {
                if was_full {
                    c.needs_full.store(false, Ordering::Relaxed);
                }
                // A `full` frame has this tick's team windows, which synced clients may not
                // have yet: the next delta brings the client whatever they hold.
                c.synced.store(!was_full, Ordering::Relaxed);
            } else {
                let since = c.stale_since.load(Ordering::Relaxed);
                if since != 0 && now_ms - since > DROP_AFTER_MS {
                    gone.push(*entry.key());
                    hub.note_dropped(c.team.as_deref(), &format!("it read no frame for {} s", DROP_AFTER_MS / 1000));
                }
            }
        }
        hub.prev_tick.lock().unwrap_or_else(|p| p.into_inner()).alerts =
            alerts_now.into_iter().map(|(k, a)| (k, a.list)).collect();
        for id in gone {
            // Dropping the sender ends the client's task, which closes the socket.
            hub.clients.remove(&id);
        }
        hub.gauge.set(hub.clients.len() as i64);
    }
}

/// Every how many ticks a delta brings the team blocks' `windows` (their counts and peak
/// go every tick): every tick up to 100 teams, then one more tick per 100 teams (400 teams:
/// every 4th). 400 teams' exact window figures every second were ~140 KB/s per wallboard,
/// most of a 20,000-agent board's deltas (issue 20); a team's 60-minute figure moves in its
/// fourth digit over a few seconds. The floor's figures, tiles and alerts keep every tick.
fn windows_every(teams: usize) -> u64 {
    teams.div_ceil(100).max(1) as u64
}

/// An agent's record for a synced client: its id and the fields that changed (most often
/// `state` and `since`). The whole record for an agent the client has not seen.
fn agent_patch(a: &BoardAgent, prev: Option<&BoardAgent>) -> Value {
    let Some(p) = prev else { return json!(a) };
    let mut m = serde_json::Map::new();
    m.insert("agent".into(), json!(a.agent));
    let mut put = |k: &str, changed: bool, v: Value| {
        if changed {
            m.insert(k.into(), v);
        }
    };
    put("name", a.name != p.name, json!(a.name));
    put("team", a.team != p.team, json!(a.team));
    put("state", a.state != p.state, json!(a.state));
    put("reason", a.reason != p.reason, json!(a.reason));
    put("planned", a.planned != p.planned, json!(a.planned));
    put("since", a.since != p.since, json!(a.since));
    // The roster's activity moves on its own (a break starts at 10:30): without these a
    // client saw it only after a reconnect.
    put("scheduled", a.scheduled != p.scheduled, json!(a.scheduled));
    put("out_since", a.out_since != p.out_since, json!(a.out_since));
    Value::Object(m)
}

/// How a value changed from one tick to the next.
#[derive(Debug, PartialEq)]
enum Diff {
    Same,
    /// Only what changed: objects key by key, anything else whole.
    Patch(Value),
    /// Not expressible as a patch (a key went away): send the whole value.
    Whole,
}

fn diff(prev: &Value, cur: &Value) -> Diff {
    match (prev, cur) {
        (Value::Object(p), Value::Object(c)) => {
            if p.keys().any(|k| !c.contains_key(k)) {
                return Diff::Whole;
            }
            let mut out = serde_json::Map::new();
            for (k, v) in c {
                match p.get(k).map_or(Diff::Patch(v.clone()), |pv| diff(pv, v)) {
                    Diff::Same => {}
                    Diff::Patch(d) => {
                        out.insert(k.clone(), d);
                    }
                    Diff::Whole => return Diff::Whole,
                }
            }
            if out.is_empty() { Diff::Same } else { Diff::Patch(Value::Object(out)) }
        }
        _ if prev == cur => Diff::Same,
        _ => Diff::Patch(cur.clone()),
    }
}

/// `teams_changed` of a delta: per team whose figures moved, its id and what moved. None
/// when the client must take the list whole: a team came or went, or a key went away.
fn teams_patch(prev: &HashMap<String, Value>, cur: &[Value]) -> Option<Vec<Value>> {
    if prev.len() != cur.len() {
        return None;
    }
    let mut out = Vec::new();
    for g in cur {
        let id = g.get("team")?.as_str()?;
        match diff(prev.get(id)?, g) {
            Diff::Same => {}
            Diff::Patch(Value::Object(mut m)) => {
                m.insert("team".into(), json!(id));
                out.push(Value::Object(m));
            }
            Diff::Patch(_) | Diff::Whole => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A delta names the queues whose figures moved; a queue come or gone sends the list.
    #[test]
    fn queues_patch_names_the_queues_that_moved() {
        let q = |id: &str, waiting: u32| json!({"queue": id, "current": {"waiting": waiting}});
        let before = json!([q("billing", 1), q("sales", 0), q("support", 2)]);
        let now = json!([q("billing", 1), q("sales", 3), q("support", 2)]);
        assert_eq!(queues_patch(&before, &now), Some(vec![q("sales", 3)]));
        assert_eq!(queues_patch(&now, &now), Some(vec![]));
        assert_eq!(queues_patch(&before, &json!([q("billing", 1), q("sales", 0)])), None, "one gone");
        assert_eq!(queues_patch(&before, &json!([q("billing", 1), q("sales", 0), q("vip", 2)])), None, "another");
        assert_eq!(queues_patch(&Value::Null, &now), None, "nothing before: whole");
    }

    /// The page's merge (web/store.js `merge`): objects key by key, anything else replaced.
    fn merge(into: &Value, patch: &Value) -> Value {
        match (into, patch) {
            (Value::Object(a), Value::Object(p)) => {
                let mut out = a.clone();
                for (k, v) in p {
                    let merged = merge(a.get(k).unwrap_or(&Value::Null), v);
                    out.insert(k.clone(), merged);
                }
                Value::Object(out)
            }
            _ => patch.clone(),
        }
    }

    fn team(id: &str, talk: Value, logged: f64, drivers: Value) -> Value {
        json!({"team": id, "peak": false, "current": {"idle": 3, "talking": 2},
               "windows": {"15m": {"talk_utilization": talk, "logged_in_s": logged, "aux_drivers": drivers},
                           "today": {"talk_utilization": 0.5, "logged_in_s": 900.0, "aux_drivers": []}}})
    }

    fn prev_of(teams: &[Value]) -> HashMap<String, Value> {
        teams.iter().map(|g| (g["team"].as_str().unwrap().to_string(), g.clone())).collect()
    }

    #[test]
    fn a_team_patch_holds_only_what_moved_and_rebuilds_the_team_exactly() {
        let before = vec![team("T01", json!(0.25), 60.0, json!([])), team("T02", json!(null), 0.0, json!([]))];
        let drivers = json!([{"agent": "A1", "aux_ratio": 0.31}]);
        let after =
            vec![team("T01", json!(0.2512345678901), 61.0, drivers.clone()), team("T02", json!(null), 0.0, json!([]))];
        let patch = teams_patch(&prev_of(&before), &after).expect("expressible");
        // T02 did not move; T01's 15m window moved, its `today` and counts did not.
        assert_eq!(
            patch,
            vec![
                json!({"team": "T01", "windows": {"15m": {"talk_utilization": 0.2512345678901, "logged_in_s": 61.0, "aux_drivers": drivers}}})
            ]
        );
        assert_eq!(merge(&before[0], &patch[0]), after[0], "figures are exact after the merge");
    }

    #[test]
    fn null_is_a_value_and_arrays_go_whole() {
        let a =
            team("T01", json!(0.5), 1.0, json!([{"agent": "A1", "aux_ratio": 0.2}, {"agent": "A2", "aux_ratio": 0.3}]));
        let b = team("T01", json!(null), 1.0, json!([{"agent": "A2", "aux_ratio": 0.3}]));
        let Diff::Patch(p) = diff(&a, &b) else { panic!("a patch") };
        assert_eq!(p["windows"]["15m"]["talk_utilization"], Value::Null);
        assert_eq!(p["windows"]["15m"]["aux_drivers"], json!([{"agent": "A2", "aux_ratio": 0.3}]));
        assert_eq!(merge(&a, &p), b);
        assert_eq!(diff(&b, &b), Diff::Same);
    }

    #[test]
    fn the_whole_list_when_teams_come_or_go_or_a_key_goes_away() {
        let one = vec![team("T01", json!(0.5), 1.0, json!([]))];
        let two = vec![team("T01", json!(0.5), 1.0, json!([])), team("T02", json!(0.5), 1.0, json!([]))];
        assert_eq!(teams_patch(&prev_of(&one), &two), None, "a team came");
        assert_eq!(teams_patch(&prev_of(&two), &one), None, "a team went");
        let renamed = vec![team("T09", json!(0.5), 1.0, json!([]))];
        assert_eq!(teams_patch(&prev_of(&one), &renamed), None, "another team, same count");
        let mut fewer = one.clone();
        fewer[0]["windows"].as_object_mut().unwrap().remove("today");
        assert_eq!(teams_patch(&prev_of(&one), &fewer), None, "a window went away");
        assert_eq!(teams_patch(&prev_of(&one), &one), Some(vec![]), "nothing moved");
    }

    #[test]
    fn team_windows_every_tick_up_to_100_teams_then_one_tick_more_per_100() {
        assert_eq!([0, 1, 100, 101, 200, 400, 2_000].map(windows_every), [1, 1, 1, 2, 2, 4, 20]);
    }

    /// Agent A1 (Li Na) of T01, idle since 1,000, with this scheduled activity.
    fn li_na(scheduled: Option<&str>) -> BoardAgent {
        BoardAgent {
            agent: "A1".into(),
            name: Some("Li Na".into()),
            team: "T01".into(),
            state: "idle",
            reason: None,
            planned: false,
            since: Some(1_000),
            scheduled: scheduled.map(Into::into),
            out_since: None,
        }
    }

    #[test]
    fn an_agent_patch_holds_only_the_fields_that_changed() {
        let a = li_na(Some("phone"));
        let b = BoardAgent { state: "aux", reason: Some("break".into()), since: Some(2_000), ..a.clone() };
        let p = agent_patch(&b, Some(&a));
        assert_eq!(p, json!({"agent": "A1", "state": "aux", "reason": "break", "since": 2_000}));
        assert_eq!(merge(&json!(a), &p), json!(b));
        let moved = BoardAgent { team: "T02".into(), ..b.clone() };
        assert_eq!(agent_patch(&moved, Some(&b))["team"], "T02");
        assert_eq!(agent_patch(&b, None), json!(b), "an agent the client has not seen goes whole");
        // The roster moved (a break began, the agent is still on the phone): the patch says so.
        let on_break = BoardAgent { scheduled: Some("break".into()), out_since: Some(3_000), ..b.clone() };
        let p = agent_patch(&on_break, Some(&b));
        assert_eq!(p, json!({"agent": "A1", "scheduled": "break", "out_since": 3_000}));
        assert_eq!(merge(&json!(b), &p), json!(on_break));
        // Back in adherence: null says the field went away (a patch is merged key by key).
        let back = agent_patch(&b, Some(&on_break));
        assert_eq!(back, json!({"agent": "A1", "scheduled": "phone", "out_since": null}));
    }

    #[test]
    fn a_board_agent_leaves_out_what_is_null_or_false() {
        let idle = li_na(None);
        assert_eq!(
            serde_json::to_string(&idle).unwrap(),
            r#"{"agent":"A1","name":"Li Na","team":"T01","state":"idle","since":1000}"#
        );
        let lunch = BoardAgent {
            state: "aux",
            reason: Some("lunch".into()),
            planned: true,
            scheduled: Some("lunch".into()),
            out_since: Some(900),
            ..idle.clone()
        };
        let v = json!(lunch);
        assert_eq!((v["reason"].clone(), v["planned"].clone()), (json!("lunch"), json!(true)));
        assert_eq!((v["scheduled"].clone(), v["out_since"].clone()), (json!("lunch"), json!(900)));
        // Never seen (a rostered agent with no event yet): `since` stays, as null.
        let unseen = BoardAgent { since: None, ..idle };
        assert_eq!(json!(unseen)["since"], Value::Null);
        assert!(json!(unseen).as_object().unwrap().contains_key("since"));
    }
}
