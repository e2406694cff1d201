//! JSON forms of a [`View`]: the snapshot (docs/figures.md#where-to-read-them) and the compact board of
//! docs/ws-protocol.md. Serde types live here, at the edge; the core has its own.

use compact_str::CompactString;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::alert::{Alert, StoredAlert};
use crate::detect::aht_chart::PointFigures;
use crate::engine::{AgentView, ChartView, GroupView, View};
use crate::floor::figures::{Dispersion, FiguresJson, Qualifying};
use crate::queue::{CallSums, QueueFigures};
use crate::settings::SlMode;
use crate::time::fmt_ms;

struct Windows<'a> {
    names: &'a [String],
    group: &'a GroupView,
    compact: bool,
    /// Board only: per window, the members driving the team's aux dispersion.
    drivers: Option<&'a [Vec<Driver<'a>>]>,
}

impl Serialize for Windows<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(None)?;
        for (w, name) in self.names.iter().enumerate() {
            if self.compact {
                let drivers = self.drivers.and_then(|d| d.get(w)).map(Vec::as_slice);
                m.serialize_entry(name, &Compact { g: self.group, w, drivers })?;
            } else {
                m.serialize_entry(
                    name,
                    &FiguresJson { sums: &self.group.windows[w], dispersion: Some(&self.group.dispersion[w]) },
                )?;
            }
        }
        m.end()
    }
}

struct Compact<'a> {
    g: &'a GroupView,
    w: usize,
    drivers: Option<&'a [Driver<'a>]>,
}

impl Serialize for Compact<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let s = &self.g.windows[self.w];
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("talk_utilization", &s.talk_utilization())?;
        m.serialize_entry("aux_ratio", &s.aux_ratio())?;
        m.serialize_entry("occupancy", &s.occupancy())?;
        m.serialize_entry("aht_s", &s.aht_s())?;
        m.serialize_entry("contacts", &s.contacts.n)?;
        m.serialize_entry("logged_in_s", &(s.logged_in() as f64 / 1000.0))?;
        m.serialize_entry("adherence", &s.adherence())?;
        m.serialize_entry("aux_ratio_cv", &self.g.dispersion[self.w].aux.cv)?;
        if let Some(d) = self.drivers {
            m.serialize_entry("aux_drivers", d)?;
        }
        m.end()
    }
}

/// A member whose aux rate is above the team's mean in a window: one of those who make
/// the team's aux CV high (docs/ws-protocol.md, `aux_drivers`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Driver<'a> {
    pub agent: &'a str,
    pub aux_ratio: f64,
}

/// How many drivers the board names per team and window: enough to act on, few enough to
/// read from across the room.
pub const DRIVERS: usize = 3;

/// Per window of `names`, the members of `members` with the highest aux rate above the
/// mean `mean[w]`, highest first, at most [`DRIVERS`]. Only members that qualify for the
/// dispersion (logged in at least `min_logged_ms` in the window) count, as in the CV.
pub fn aux_drivers<'a>(members: &[&'a AgentView], disp: &[Dispersion], min_logged_ms: i64) -> Vec<Vec<Driver<'a>>> {
    disp.iter()
        .enumerate()
        .map(|(w, d)| {
            let Some(mean) = d.aux.mean else { return Vec::new() };
            let mut v: Vec<Driver> = members
                .iter()
                .filter_map(|a| {
                    let (aux, _) = Qualifying::ratios(a.windows.get(w)?, min_logged_ms)?;
                    (aux > mean).then_some(Driver { agent: &a.id, aux_ratio: aux })
                })
                .collect();
            v.sort_by(|x, y| y.aux_ratio.total_cmp(&x.aux_ratio).then_with(|| x.agent.cmp(y.agent)));
            v.truncate(DRIVERS);
            v
        })
        .collect()
}

struct Group<'a> {
    names: &'a [String],
    g: &'a GroupView,
    team: bool,
    compact: bool,
    drivers: Option<&'a [Vec<Driver<'a>>]>,
}

impl Serialize for Group<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(None)?;
        self.entries(&mut m, true)?;
        m.end()
    }
}

impl Group<'_> {
    /// The group's entries, `aht_chart` (the last) only `with_chart`.
    fn entries<M: SerializeMap>(&self, m: &mut M, with_chart: bool) -> Result<(), M::Error> {
        if self.team {
            m.serialize_entry("team", &self.g.id)?;
        }
        m.serialize_entry("peak", &self.g.peak)?;
        m.serialize_entry("current", &self.g.counts)?;
        m.serialize_entry(
            "windows",
            &Windows { names: self.names, group: self.g, compact: self.compact, drivers: self.drivers },
        )?;
        if self.team && !self.compact {
            m.serialize_entry("handle_time", &HandleTime(self.g))?;
        }
        if let Some(chart) = self.g.aht_chart.as_ref().filter(|_| with_chart) {
            m.serialize_entry("aht_chart", &Chart { chart, compact: self.compact })?;
        }
        Ok(())
    }
}

/// A group without its `aht_chart` (`write_team` adds it).
struct WithoutChart<'a>(&'a Group<'a>);

impl Serialize for WithoutChart<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(None)?;
        self.0.entries(&mut m, false)?;
        m.end()
    }
}

/// `aht_chart`: per kind, the last closed points, oldest first (docs/figures.md). The
/// board gives `start` in epoch milliseconds, like its other instants.
struct Chart<'a> {
    chart: &'a ChartView,
    compact: bool,
}

impl Serialize for Chart<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(Some(self.chart.kinds.len()))?;
        for (name, points) in &self.chart.kinds {
            let points: Vec<ChartPoint> = points.iter().map(|p| ChartPoint { p, compact: self.compact }).collect();
            m.serialize_entry(name, &points)?;
        }
        m.end()
    }
}

struct ChartPoint<'a> {
    p: &'a PointFigures,
    compact: bool,
}

impl Serialize for ChartPoint<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let p = self.p;
        let mut m = ser.serialize_map(Some(7))?;
        if self.compact {
            m.serialize_entry("start", &p.start)?;
        } else {
            m.serialize_entry("start", &fmt_ms(p.start))?;
        }
        m.serialize_entry("n", &p.n)?;
        m.serialize_entry("mean_s", &p.mean_s)?;
        m.serialize_entry("cl_s", &p.cl_s)?;
        m.serialize_entry("ucl_s", &p.ucl_s)?;
        m.serialize_entry("lcl_s", &p.lcl_s)?;
        m.serialize_entry("rules", &p.rules)?;
        m.end()
    }
}

/// The floor's group with its `queues` block added (SPEC §8.4).
struct WithQueues<'a> {
    group: Group<'a>,
    queues: &'a serde_json::Value,
}

impl Serialize for WithQueues<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut v = serde_json::to_value(&self.group).map_err(serde::ser::Error::custom)?;
        if let serde_json::Value::Object(m) = &mut v {
            m.insert("queues".into(), self.queues.clone());
        }
        v.serialize(ser)
    }
}

struct HandleTime<'a>(&'a GroupView);

impl Serialize for HandleTime<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(Some(3))?;
        m.serialize_entry("contacts_total", &self.0.contacts_total)?;
        m.serialize_entry("p50_s", &self.0.handle_p50_ms.map(|v| v as f64 / 1000.0))?;
        m.serialize_entry("p90_s", &self.0.handle_p90_ms.map(|v| v as f64 / 1000.0))?;
        m.end()
    }
}

struct AgentJson<'a> {
    names: &'a [String],
    a: &'a AgentView,
}

impl Serialize for AgentJson<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let a = self.a;
        let mut m = ser.serialize_map(Some(9))?;
        m.serialize_entry("agent", &a.id)?;
        m.serialize_entry("name", &a.name)?;
        m.serialize_entry("team", &a.team)?;
        m.serialize_entry("state", a.state.as_str())?;
        m.serialize_entry("reason", &a.reason)?;
        // A scheduled agent never seen has no `since` (SPEC §9.2).
        m.serialize_entry("since", &a.seen.then(|| fmt_ms(a.since)))?;
        m.serialize_entry("scheduled", &a.scheduled)?;
        m.serialize_entry("out_of_adherence_since", &a.out_of_adherence_since.map(fmt_ms))?;
        m.serialize_entry("windows", &AgentWindows { names: self.names, a })?;
        m.end()
    }
}

struct AgentWindows<'a> {
    names: &'a [String],
    a: &'a AgentView,
}

impl Serialize for AgentWindows<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(Some(self.names.len()))?;
        for (name, sums) in self.names.iter().zip(&self.a.windows) {
            m.serialize_entry(name, &FiguresJson { sums, dispersion: None })?;
        }
        m.end()
    }
}

/// A queue's figures (SPEC §8.4), or the floor's sums over the queues (`queue` None):
/// `{"queue", "current": {"waiting", "longest_wait_s"}, "windows": {name: {...}}}`.
pub struct QueueJson<'a> {
    pub queue: Option<&'a str>,
    pub f: &'a QueueFigures,
    pub names: &'a [String],
    pub now: i64,
    pub mode: SlMode,
}

impl Serialize for QueueJson<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(None)?;
        if let Some(q) = self.queue {
            m.serialize_entry("queue", q)?;
        }
        let current = serde_json::json!({
            "waiting": self.f.waiting,
            "longest_wait_s": self.f.longest_wait_ms(self.now).map(|ms| ms as f64 / 1000.0),
        });
        m.serialize_entry("current", &current)?;
        let windows: serde_json::Map<String, serde_json::Value> = self
            .names
            .iter()
            .zip(&self.f.windows)
            .map(|(name, c)| (name.clone(), call_sums_json(c, self.mode)))
            .collect();
        m.serialize_entry("windows", &windows)?;
        m.end()
    }
}

/// One window of a queue's figures (SPEC §8.2).
fn call_sums_json(c: &CallSums, mode: SlMode) -> serde_json::Value {
    serde_json::json!({
        "offered": c.offered(),
        "answered": c.answered,
        "abandoned": c.abandoned,
        "left": c.left,
        "short_abandoned": c.short_abandoned,
        "answered_in_sl": c.answered_in_sl,
        "service_level": c.service_level(mode),
        "abandon_rate": c.abandon_rate(),
        "asa_s": c.asa_s(),
    })
}

/// A view's queues (those of `list`) and the floor's queue sums, as the snapshot and the
/// board carry them.
pub fn queues_json(v: &View, list: &QueueList) -> (serde_json::Value, serde_json::Value) {
    let mode = v.queue_settings.sl_mode;
    let names = &v.queue_window_names;
    let list: Vec<QueueJson> = v
        .queues
        .iter()
        .filter(|(q, _)| list.has(q))
        .map(|(q, f)| QueueJson { queue: Some(q), f, names, now: v.now, mode })
        .collect();
    let floor = QueueJson { queue: None, f: &v.floor_queues, names, now: v.now, mode };
    (serde_json::to_value(list).unwrap_or_default(), serde_json::to_value(floor).unwrap_or_default())
}

/// The snapshot document (docs/figures.md#where-to-read-them).
pub struct Snapshot<'a>(pub &'a View);

impl Serialize for Snapshot<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        Partial { view: self.0, team: None, queues: QueueList::All, recent_alerts: false }.serialize(ser)
    }
}

/// Which queues a snapshot lists (`?queues=`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum QueueList {
    All,
    Only(Vec<String>),
}

impl QueueList {
    /// `?queues=all`, `?queues=a,b` or `?queues=` (none); absent: every queue, but none in
    /// a team's snapshot (a floor's queues are not a team's, and with hundreds of them they
    /// were most of its size: docs/figures.md#snapshot-sizes).
    pub fn of_query(q: Option<&str>, team: bool) -> QueueList {
        match q {
            Some("all") => QueueList::All,
            Some(list) => QueueList::Only(list.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect()),
            None if team => QueueList::Only(Vec::new()),
            None => QueueList::All,
        }
    }

    /// The queues named, or None for every one ([`crate::engine::Engine::view_queues`]).
    pub fn names(&self) -> Option<&[String]> {
        match self {
            QueueList::All => None,
            QueueList::Only(l) => Some(l),
        }
    }

    fn has(&self, queue: &str) -> bool {
        match self {
            QueueList::All => true,
            QueueList::Only(l) => l.iter().any(|q| q == queue),
        }
    }
}

/// A snapshot that may leave out what grows with the floor's size and history (issue 20):
/// a team's, or the floor's figures without agents, which pollers ask for every few
/// seconds. It lists the queues asked for, and with `recent_alerts` only the alerts a board
/// shows (firing, or resolved in the last 10 minutes; in a team's, those of the team and of
/// the queues it lists), saying how many more there are and where to read them
/// (`/api/v1/alerts`, by page). The full snapshot leaves nothing out.
pub struct Partial<'a> {
    pub view: &'a View,
    /// The team asked for (the alerts' link filters by it).
    pub team: Option<&'a str>,
    pub queues: QueueList,
    pub recent_alerts: bool,
}

impl Serialize for Partial<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(None)?;
        let (queues, floor_queues) = queues_json(self.view, &self.queues);
        self.head(&mut m, &floor_queues)?;
        m.serialize_entry("teams", &teams_json(self.view).map_err(serde::ser::Error::custom)?)?;
        self.tail(&mut m, &queues)?;
        m.end()
    }
}

/// The bytes of the last partial snapshots written, by kind (a team's, the floor's), and
/// of the second half of the floor's teams: the next one's buffers are allocated in one
/// go from these (growing a 16 MB buffer by doubling cost a fifth of the writing in copies
/// and page faults). Only sizes: a wrong one costs a reallocation, never other bytes.
static LAST_BYTES: [AtomicUsize; 3] = [AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0)];

/// Room above the last size, so that a floor that grew a little does not reallocate.
fn room(last: usize) -> usize {
    last + last / 16 + 4096
}

impl Partial<'_> {
    /// The snapshot's JSON: the same bytes as `serde_json::to_vec(self)` (a test
    /// compares), written into one buffer sized from the last snapshot of its kind. The
    /// teams are written straight into it, a floor's in two halves on two threads (the
    /// second half's bytes appended), each team's chart from the JSON its view keeps
    /// (`ChartShown::json`): written once, by the first snapshot that shows those points.
    pub fn to_vec(&self) -> Vec<u8> {
        self.to_vec_spliced().0
    }

    /// [`Partial::to_vec`], and where in it each team's chart JSON was copied (in order):
    /// a gzip of the answer copies those parts' compressed bytes instead of compressing
    /// them again (`server::gz`).
    pub fn to_vec_spliced(&self) -> (Vec<u8>, Vec<Spliced>) {
        let mut spliced = Vec::new();
        let last = &LAST_BYTES[usize::from(self.team.is_none())];
        let mut buf = crate::mem::take_buffer(room(last.load(Ordering::Relaxed)));
        let (queues, floor_queues) = queues_json(self.view, &self.queues);
        // `{"now":..,"floor":..}`, then `,"teams":[..]`, then `{"agents":..}` with its `{`
        // made a `,`: serde_json's compact form of the one map.
        serde_json::to_writer(&mut buf, &Head(self, &floor_queues)).expect("a snapshot serializes");
        buf.pop();
        buf.extend_from_slice(b",\"teams\":");
        write_teams(&mut buf, self.view, &mut spliced).expect("a snapshot serializes");
        let at = buf.len();
        serde_json::to_writer(&mut buf, &Tail(self, &queues)).expect("a snapshot serializes");
        buf[at] = b',';
        last.store(buf.len(), Ordering::Relaxed);
        (buf, spliced)
    }

    fn head<M: SerializeMap>(&self, m: &mut M, floor_queues: &serde_json::Value) -> Result<(), M::Error> {
        let v = self.view;
        let names = &v.window_names;
        m.serialize_entry("now", &fmt_ms(v.now))?;
        m.serialize_entry("windows", names)?;
        let floor = Group { names, g: &v.floor, team: false, compact: false, drivers: None };
        m.serialize_entry("floor", &WithQueues { group: floor, queues: floor_queues })
    }

    fn tail<M: SerializeMap>(&self, m: &mut M, queues: &serde_json::Value) -> Result<(), M::Error> {
        let v = self.view;
        let names = &v.window_names;
        let agents: Vec<AgentJson> = v.agents.iter().map(|a| AgentJson { names, a }).collect();
        m.serialize_entry("agents", &agents)?;
        m.serialize_entry("queues", queues)?;
        if self.recent_alerts {
            // A team's snapshot: its own alerts and those of the queues it lists.
            let listed = |a: &StoredAlert| self.team.is_none() || a.queue.as_deref().is_none_or(|q| self.queues.has(q));
            let shown: Vec<Arc<StoredAlert>> =
                v.alerts.iter().filter(|a| a.on_board(v.now) && listed(a)).cloned().collect();
            m.serialize_entry("alerts", &Alerts(&shown))?;
            let omitted = v.alerts_left_out + v.alerts.len() - shown.len();
            if omitted > 0 {
                m.serialize_entry("alerts_omitted", &omitted)?;
                let href = match self.team {
                    Some(t) => format!("/api/v1/alerts?team={}", urlencode(t)),
                    None => "/api/v1/alerts".to_string(),
                };
                m.serialize_entry("alerts_href", &href)?;
            }
        } else {
            m.serialize_entry("alerts", &Alerts(&v.alerts))?;
        }
        m.serialize_entry("ingest", &v.ingest)
    }
}

/// A partial snapshot's entries before `teams`, as a map of their own.
struct Head<'a>(&'a Partial<'a>, &'a serde_json::Value);

impl Serialize for Head<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(None)?;
        self.0.head(&mut m, self.1)?;
        m.end()
    }
}

/// A partial snapshot's entries after `teams`, as a map of their own.
struct Tail<'a>(&'a Partial<'a>, &'a serde_json::Value);

impl Serialize for Tail<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let mut m = ser.serialize_map(None)?;
        self.0.tail(&mut m, self.1)?;
        m.end()
    }
}

/// The teams of a view as a JSON array into `buf`: a floor's 2,000 teams are ~15 MB (their
/// figures and AHT charts), written in two halves on two threads, the second half's bytes
/// then appended (below [`PARALLEL_TEAMS`], in one go).
fn write_teams(buf: &mut Vec<u8>, v: &View, spliced: &mut Vec<Spliced>) -> serde_json::Result<()> {
    let names = &v.window_names;
    buf.push(b'[');
    if v.teams.len() < PARALLEL_TEAMS {
        write_groups(buf, &v.teams, names, spliced)?;
    } else {
        let (a, b) = v.teams.split_at(v.teams.len() / 2);
        let last = &LAST_BYTES[2];
        let (first, second) = std::thread::scope(|s| {
            let h = s.spawn(|| {
                let mut out = crate::mem::take_buffer(room(last.load(Ordering::Relaxed)));
                let mut spliced = Vec::new();
                write_groups(&mut out, b, names, &mut spliced).map(|()| (out, spliced))
            });
            (write_groups(buf, a, names, spliced), h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        });
        first?;
        let (second, second_spliced) = second?;
        last.store(second.len(), Ordering::Relaxed);
        buf.push(b',');
        let base = buf.len();
        spliced.extend(second_spliced.into_iter().map(|s| Spliced { at: base + s.at, chart: s.chart }));
        buf.extend_from_slice(&second);
        crate::mem::give_buffer(second);
    }
    buf.push(b']');
    Ok(())
}

/// Teams, comma-separated.
fn write_groups(
    buf: &mut Vec<u8>,
    teams: &[GroupView],
    names: &[String],
    spliced: &mut Vec<Spliced>,
) -> serde_json::Result<()> {
    for (i, g) in teams.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        write_team(buf, &Group { names, g, team: true, compact: false, drivers: None }, spliced)?;
    }
    Ok(())
}

/// Where a snapshot's bytes hold a chart's JSON, copied from `ChartShown::json` at `at`.
pub struct Spliced {
    pub at: usize,
    pub chart: ChartView,
}

/// A team as `Group` writes it, its `aht_chart` (the map's last entry) from the JSON its
/// view keeps, written here the first time.
fn write_team(buf: &mut Vec<u8>, team: &Group, spliced: &mut Vec<Spliced>) -> serde_json::Result<()> {
    serde_json::to_writer(&mut *buf, &WithoutChart(team))?;
    let Some(chart) = &team.g.aht_chart else { return Ok(()) };
    let json = match chart.json.get() {
        Some(json) => json,
        None => {
            let json = serde_json::to_vec(&Chart { chart, compact: team.compact })?.into_boxed_slice();
            chart.json.get_or_init(|| json)
        }
    };
    buf.pop(); // the map's `}`
    buf.extend_from_slice(b",\"aht_chart\":");
    spliced.push(Spliced { at: buf.len(), chart: chart.clone() });
    buf.extend_from_slice(json);
    buf.push(b'}');
    Ok(())
}

/// The teams of a view as one JSON array, for the serde path (the full snapshot, streamed):
/// written in two halves on two threads, then joined (the same bytes as writing them in one
/// go; a test compares).
fn teams_json(v: &View) -> serde_json::Result<Box<serde_json::value::RawValue>> {
    let names = &v.window_names;
    let write = |teams: &[GroupView]| -> serde_json::Result<Vec<u8>> {
        let groups: Vec<Group> =
            teams.iter().map(|g| Group { names, g, team: true, compact: false, drivers: None }).collect();
        serde_json::to_vec(&groups)
    };
    let out = if v.teams.len() < PARALLEL_TEAMS {
        write(&v.teams)?
    } else {
        let (a, b) = v.teams.split_at(v.teams.len() / 2);
        let (a, b) = std::thread::scope(|s| {
            let h = s.spawn(|| write(b));
            (write(a), h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        });
        let (mut a, b) = (a?, b?);
        // "[x,y]" and "[z]" make "[x,y,z]".
        a.pop();
        a.push(b',');
        a.extend_from_slice(&b[1..]);
        a
    };
    serde_json::value::RawValue::from_string(String::from_utf8(out).expect("serde_json writes UTF-8"))
}

/// Teams from which a snapshot writes them on two threads (below, a thread costs more than
/// it saves).
const PARALLEL_TEAMS: usize = 256;

/// `s` with every byte but unreserved ones percent-encoded (a query value).
fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The alerts of a view, each written from its kept JSON.
struct Alerts<'a>(&'a [Arc<StoredAlert>]);

impl Serialize for Alerts<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.collect_seq(self.0.iter().map(|a| &**a))
    }
}

/// One agent tile of the board. `reason`, `planned`, `scheduled` and `out_since` are left
/// out when null or false (docs/ws-protocol.md): most agents of a large floor have none of
/// them, and the four keys were a third of a 20,000-agent `full` frame (issue 20).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BoardAgent {
    pub agent: CompactString,
    pub name: Option<String>,
    pub team: CompactString,
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<CompactString>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub planned: bool,
    /// Null for a scheduled agent never seen (SPEC §9.2).
    pub since: Option<i64>,
    /// The scheduled activity now (absent without a roster), and since when the agent has
    /// been out of adherence with it (epoch ms; absent when in adherence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled: Option<CompactString>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_since: Option<i64>,
}

impl BoardAgent {
    pub fn of(a: &AgentView) -> Self {
        BoardAgent {
            agent: a.id.clone(),
            name: a.name.clone(),
            team: a.team.clone(),
            state: a.state.as_str(),
            reason: a.reason.clone(),
            planned: a.planned,
            since: a.seen.then_some(a.since),
            scheduled: a.scheduled.clone(),
            out_since: a.out_of_adherence_since,
        }
    }
}

/// The board's floor and team blocks (compact figures, every configured window; each
/// team's windows also name its [`aux_drivers`]).
pub struct BoardGroups<'a> {
    pub view: &'a View,
    /// `floor.dispersion_min_logged_secs` in ms: who counts for a team's aux CV.
    pub dispersion_min_logged_ms: i64,
}

impl BoardGroups<'_> {
    pub fn floor(&self) -> serde_json::Value {
        let v = self.view;
        serde_json::to_value(Group { names: &v.window_names, g: &v.floor, team: false, compact: true, drivers: None })
            .unwrap_or_default()
    }

    pub fn teams(&self) -> serde_json::Value {
        let v = self.view;
        let mut members: HashMap<&str, Vec<&AgentView>> = HashMap::new();
        for a in &v.agents {
            members.entry(a.team.as_str()).or_default().push(a);
        }
        let drivers: Vec<Vec<Vec<Driver>>> = v
            .teams
            .iter()
            .map(|g| {
                let m = members.get(g.id.as_str()).map(Vec::as_slice).unwrap_or_default();
                aux_drivers(m, &g.dispersion, self.dispersion_min_logged_ms)
            })
            .collect();
        let teams: Vec<Group> = v
            .teams
            .iter()
            .zip(&drivers)
            .map(|(g, d)| Group { names: &v.window_names, g, team: true, compact: true, drivers: Some(d) })
            .collect();
        serde_json::to_value(teams).unwrap_or_default()
    }
}

/// Alerts shown on the board: firing ones and those resolved in the last 10 minutes.
pub fn board_alerts(alerts: &[Arc<StoredAlert>], now: i64) -> Vec<Alert> {
    alerts.iter().filter(|a| a.on_board(now)).map(|a| a.alert().clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FileConfig;
    use crate::engine::{Engine, Source, ViewOpts};
    use crate::event::{Aliases, decode_str};

    const Q: i64 = 900_000;

    /// A floor of `teams` teams on the event clock, each with two closed quarter-hours of
    /// contacts on its AHT chart and an agent talking now; and its now.
    fn floor(teams: usize) -> (Engine, i64) {
        let toml = "[server]\nclock = \"event\"\n[aht_chart]\nbaseline_points = 3\nmin_contacts = 2\n";
        let mut engine = Engine::new(FileConfig::parse(toml, "t").unwrap().settings().unwrap());
        let t0: i64 = 1_795_420_800_000;
        let mut lines: Vec<(i64, String)> = Vec::new();
        for i in 0..teams {
            let ev =
                |t: i64, state: &str| (t, format!(r#"{{"ts":{t},"agent":"A{i}","state":"{state}","team":"T{i:04}"}}"#));
            for q in 0..2 {
                let t = t0 + q * Q + 60_000 + i as i64;
                lines.extend([ev(t, "talking"), ev(t + 100_000, "idle"), ev(t + 200_000, "talking")]);
                lines.push(ev(t + 300_000 + 1000 * (i as i64 % 7), "idle"));
            }
            lines.push(ev(t0 + 2 * Q + 60_000, "talking"));
        }
        lines.sort_by_key(|l| l.0);
        let events: Vec<_> = lines.iter().map(|l| decode_str(&l.1, &Aliases::default()).unwrap()).collect();
        let now = t0 + 2 * Q + 60_000;
        engine.apply_batch(now, Source::Tcp, events, &[]);
        (engine, now)
    }

    /// The writer's bytes are serde's: with few teams and with as many as are written on
    /// two threads, for the floor and for a team, with the charts' JSON written anew and
    /// then kept (a second view shares the unchanged charts and their JSON).
    #[test]
    fn the_writer_writes_what_serde_writes() {
        for n in [3, PARALLEL_TEAMS + 7] {
            let (mut engine, now) = floor(n);
            for team in [None, Some("T0001")] {
                for _view in 0..2 {
                    let opts =
                        ViewOpts { team: team.map(String::from), agents: team.is_some(), alerts: true, scrape: false };
                    let queues = QueueList::of_query(None, team.is_some());
                    let v = engine.view_queues(now, &opts, queues.names(), true);
                    let p = Partial { view: &v, team, queues, recent_alerts: true };
                    let serde = String::from_utf8(serde_json::to_vec(&p).unwrap()).unwrap();
                    assert!(serde.contains(r#""aht_chart":{"15m":[{"start""#), "charts have points: {serde:.300}");
                    for _write in 0..2 {
                        assert_eq!(String::from_utf8(p.to_vec()).unwrap(), serde, "{n} teams, team {team:?}");
                    }
                    // Each team's chart JSON is where the splices say, in order.
                    let (bytes, spliced) = p.to_vec_spliced();
                    assert_eq!(spliced.len(), v.teams.len());
                    let mut end = 0;
                    for (s, t) in spliced.iter().zip(&v.teams) {
                        let json = s.chart.json.get().expect("written");
                        assert!(s.at >= end && std::ptr::eq(&*s.chart, &**t.aht_chart.as_ref().unwrap()));
                        assert_eq!(&bytes[s.at..s.at + json.len()], &json[..], "{n} teams, team {team:?}");
                        end = s.at + json.len();
                    }
                    assert!(v.teams.iter().all(|t| t.aht_chart.as_ref().is_some_and(|c| c.json.get().is_some())));
                }
            }
        }
    }

    /// Teams written on two threads are the same bytes as written in one go.
    #[test]
    fn teams_in_halves_are_the_teams_in_one_go() {
        let settings = FileConfig::parse("[server]\nclock = \"event\"\n", "t").unwrap().settings().unwrap();
        let mut engine = Engine::new(settings);
        let t0: i64 = 1_795_420_800_000;
        let lines: Vec<String> = (0..PARALLEL_TEAMS + 7)
            .flat_map(|i| {
                [
                    format!(r#"{{"ts":{},"agent":"A{i}","state":"talking","team":"T{i:04}"}}"#, t0 + i as i64),
                    format!(r#"{{"ts":{},"agent":"A{i}","state":"acw"}}"#, t0 + 60_000 + 7 * i as i64),
                ]
            })
            .collect();
        let events: Vec<_> = lines.iter().map(|l| decode_str(l, &Aliases::default()).unwrap()).collect();
        engine.apply_batch(t0 + 120_000, Source::Tcp, events, &[]);
        let v = engine.view(t0 + 120_000, &ViewOpts { team: None, agents: false, alerts: false, scrape: false });
        assert!(v.teams.len() >= PARALLEL_TEAMS);
        let names = &v.window_names;
        let one: Vec<Group> =
            v.teams.iter().map(|g| Group { names, g, team: true, compact: false, drivers: None }).collect();
        assert_eq!(teams_json(&v).unwrap().get(), serde_json::to_string(&one).unwrap());
    }
}
