//! The roster and schedule adherence (SPEC §9): what each agent should be doing, and
//! whether it is. Pure like the rest of the core: uploads are parsed at the edge
//! ([`parse`]) and handed in whole; time is passed in.
//!
//! Per scheduled agent the roster keeps the rows as uploaded (the upload's unit of
//! replacement is an agent's local day), the schedule flattened into pieces of constant
//! activity (`off`, `work` or a named activity, SPEC §9.1's resolution rules applied once
//! per upload), and a log of the agent's state and aux reason (one packed `u64` per
//! change: the timelines keep kinds, not reasons, and adherence needs the reason). Window
//! figures and `out_of_adherence` stretches are one merge of the two lists.

mod due;
mod file;
pub mod parse;

pub use file::{FileApplied, FileDays};

use std::collections::{BTreeSet, HashMap, HashSet};

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use self::due::DueQueue;
use crate::floor::agents::AgentIdx;
use crate::floor::timeline::Kind;
use crate::time::Ms;

/// A stay of an agent in unplanned aux ([`Roster::unplanned_stays_over`]): from `start` to
/// `end`, its reasons `(from, reason)` in time order.
pub struct UnplannedStay<'a> {
    pub start: Ms,
    pub end: Ms,
    pub reasons: Vec<(Ms, &'a str)>,
}

/// A span as uploaded: a shift (`act` None) or an activity inside one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub start: Ms,
    pub end: Ms,
    pub act: Option<CompactString>,
}

/// Activity ids: `off` and `work`, then interned names (activities and configured reasons).
pub const OFF: u16 = 0;
pub const WORK: u16 = 1;
/// Reason id of an aux reason no roster or rule names: it never matches `aux:REASON`.
const OTHER: u16 = 4095;
/// At most this many distinct activity and reason names (ids fit in 12 bits of a log entry).
pub const MAX_NAMES: usize = 4000;
/// The feed's aux reasons are kept by name while the names number fewer than this: the
/// last thousand are the roster's, which a feed of made-up reasons cannot use up.
const MAX_NAMES_BY_REASONS: usize = MAX_NAMES - 1000;

/// State codes in the log: `Kind as u8` (talking, acw, aux unplanned, aux planned, idle, offline).
fn code(kind: Kind) -> u8 {
    kind as u8
}
const OFFLINE: u8 = Kind::Offline as u8;
const AUX_UNPLANNED: u8 = Kind::AuxUnplanned as u8;

/// Which states an activity allows (SPEC §9.1 `[adherence.allowed]`), names unresolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowList {
    /// One bit per state code (`1 << Kind as u8`).
    pub mask: u8,
    /// `aux:REASON` entries.
    pub reasons: Vec<String>,
}

impl AllowList {
    /// Parses entries `talking`, `acw`, `idle`, `offline`, `aux`, `aux:REASON`.
    pub fn parse(entries: &[String]) -> Result<AllowList, String> {
        let mut a = AllowList::default();
        for e in entries {
            let bit = |k: Kind| 1u8 << code(k);
            match e.as_str() {
                "talking" => a.mask |= bit(Kind::Talking),
                "acw" => a.mask |= bit(Kind::Acw),
                "idle" => a.mask |= bit(Kind::Idle),
                "offline" => a.mask |= bit(Kind::Offline),
                "aux" => a.mask |= bit(Kind::AuxUnplanned) | bit(Kind::AuxPlanned),
                _ => match e.strip_prefix("aux:") {
                    Some(r) if !r.is_empty() => a.reasons.push(r.to_string()),
                    _ => {
                        return Err(format!(
                            "{e:?} is not a state: use talking, acw, idle, offline, aux or aux:REASON"
                        ));
                    }
                },
            }
        }
        Ok(a)
    }

    /// The defaults (SPEC §9.1): `work` → talking, acw, idle; `off` → offline; any other
    /// activity A → offline or aux with reason A, and for training, meeting, coaching any
    /// planned reason too.
    pub fn default_for(activity: &str) -> AllowList {
        let bit = |k: Kind| 1u8 << code(k);
        match activity {
            "work" => AllowList { mask: bit(Kind::Talking) | bit(Kind::Acw) | bit(Kind::Idle), reasons: vec![] },
            "off" => AllowList { mask: bit(Kind::Offline), reasons: vec![] },
            "training" | "meeting" | "coaching" => {
                AllowList { mask: bit(Kind::Offline) | bit(Kind::AuxPlanned), reasons: vec![activity.into()] }
            }
            _ => AllowList { mask: bit(Kind::Offline), reasons: vec![activity.into()] },
        }
    }
}

/// Adherence settings (from `[adherence]` and `[alerts.out_of_adherence]`).
#[derive(Clone, Debug, PartialEq)]
pub struct AdherenceSettings {
    /// Configured lists by activity name (replacing that activity's defaults).
    pub allowed: HashMap<String, AllowList>,
    /// `out_of_adherence` fires after this long out of adherence.
    pub threshold_ms: Ms,
    /// Most schedule rows held at once (`roster.max_rows`).
    pub max_rows: usize,
}

impl Default for AdherenceSettings {
    fn default() -> Self {
        AdherenceSettings { allowed: HashMap::new(), threshold_ms: 300_000, max_rows: 20_000_000 }
    }
}

/// An activity's allowed states, names resolved to ids.
#[derive(Clone, Debug, Default)]
struct Allow {
    mask: u8,
    reasons: Vec<u16>,
}

/// A row as kept: `act` u16::MAX for a shift; `order` breaks ties between activities that
/// start together (the one listed later wins).
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct Kept {
    start: Ms,
    end: Ms,
    act: u16,
    order: u64,
    /// Local day number of `start` (the unit an upload replaces).
    day: i32,
}

const SHIFT: u16 = u16::MAX;

/// One scheduled agent.
///
/// Laid out by hand (`repr(C)`), on whole cache lines: what a view reads of every scheduled
/// agent (`id`, `rows`' length, `sched`, `log`, `sched_gen`, `settled`, `out_since`)
/// comes first and fills the first two lines, which [`Roster::prefetch_record`] asks for
/// ahead of the visit. The rest is read at an agent's events and re-derivations.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[repr(C, align(64))]
struct RAgent {
    id: CompactString,
    rows: Vec<Kept>,
    /// Pieces `(start, activity)` in time order, each lasting to the next; `off` before the
    /// first. Derived from `rows`.
    #[serde(skip)]
    sched: Vec<(Ms, u16)>,
    /// State changes: `start << 16 | code << 12 | reason id`, starts strictly increasing;
    /// offline before the first.
    log: Vec<u64>,
    /// Bumped whenever `sched` changes (the day cache's key). Derived.
    #[serde(skip)]
    sched_gen: u64,
    /// `out_of_adherence` bookkeeping: stretches ending before `settled` are final; the
    /// stretch in progress at `settled` began at `out_since`.
    settled: Ms,
    out_since: Option<Ms>,
    /// This agent's `out_of_adherence` alerts in the store (started_at, id, team) that a
    /// re-derivation may still change (`live`), and the final ones (`done`, the last 256:
    /// an upload that reaches back makes them live again).
    live: Vec<(Ms, String, String)>,
    done: Vec<(Ms, String, String)>,
    /// When the alerts may next change without an event (`Ms::MAX`: not before an event).
    due: Ms,
    /// The instant of this agent's newest entry in `Roster::due` not yet popped (`Ms::MAX`:
    /// none), so a re-derivation that finds the same next instant again does not insert it
    /// again. Derived.
    #[serde(skip, default = "never")]
    queued: Ms,
    /// The log's unplanned-aux entries as spans `(start, end, reason id)` (`end`: the next
    /// entry's start, `Ms::MAX` for the last), in time order. The `aux_dispersion` rule
    /// asks every member's scheduled aux over every peak interval at every minute
    /// ([`Roster::scheduled_aux_ms`]); walking the log for it (a binary search per
    /// aux-allowing piece) was the largest part of ingest's extra cost with a roster, and
    /// most agents have no unplanned aux in most intervals. Derived from `log`
    /// ([`aux_spans`]; kept by `RAgent::aux_tail` and `Roster::trim`).
    #[serde(skip)]
    aux: Vec<(Ms, Ms, u16)>,
    /// The agent's name or presence may have changed since its alerts were last derived
    /// in full (the text of an `out_of_adherence` alert names it): the engine's shortcut
    /// for an alert that stays firing ([`Roster::firing_unchanged`]) waits for a full
    /// derivation. Derived: true after a restore.
    #[serde(skip, default = "yes")]
    who_changed: bool,
    /// `live` is one alert, firing as the last derivation told it (its stretch was open).
    /// Derived: false after a restore.
    #[serde(skip)]
    live_firing: bool,
}

/// The bytes of [`RAgent`] a view reads, from its start.
const RAGENT_HOT_BYTES: usize = 128;
/// The bytes of [`RAgent`] a re-derivation reads, from its start: what a view reads, and
/// the alerts' bookkeeping after it (`live`, `done`, `due`, `queued`).
const RAGENT_DERIVE_BYTES: usize = std::mem::offset_of!(RAgent, queued) + std::mem::size_of::<Ms>();
const _: () = assert!(
    std::mem::offset_of!(RAgent, out_since) + std::mem::size_of::<Option<Ms>>() <= RAGENT_HOT_BYTES
        && std::mem::align_of::<RAgent>() == 64,
    "what a view reads of a scheduled agent fits its first two cache lines"
);

fn yes() -> bool {
    true
}

impl RAgent {
    /// Keeps `aux` after the log's last entry changed (`replaced`: the entry it replaced)
    /// or came: the last entry's span, and the end of the one before it. The same as
    /// [`aux_spans`] of the whole log (checked in debug builds).
    fn aux_tail(&mut self, replaced: Option<u64>) {
        let n = self.log.len();
        let last = self.log[n - 1];
        if replaced.is_some_and(|r| unpack(r).0 == AUX_UNPLANNED) {
            self.aux.pop();
        }
        if n >= 2
            && unpack(self.log[n - 2]).0 == AUX_UNPLANNED
            && let Some(s) = self.aux.last_mut()
        {
            s.1 = start_of(last);
        }
        let (c, rid) = unpack(last);
        if c == AUX_UNPLANNED {
            self.aux.push((start_of(last), Ms::MAX, rid));
        }
        debug_assert_eq!(self.aux, aux_spans(&self.log), "aux spans of {}", self.id);
    }
}

fn never() -> Ms {
    Ms::MAX
}

/// An agent's `today` and `peak_today` figures up to its last state change, which later
/// views reuse (the history before it is final while the schedule stays): a view then walks
/// only what came after. `peak` covers the peak intervals up to `peak_upto`, no further
/// than the team's committed clock (a peak interval after it may still change).
///
/// `ext` carries `peak` on past the last change, over `[peak_upto, ext_to)` (`ext_to` no
/// further than the committed clock either), summed with the agent's state since its last
/// change: valid while that last log entry (`ext_last`) is still the last. Without it an
/// agent offline since the afternoon had every peak interval after its logoff walked again
/// by every view (a quarter of a scrape at 100k agents with a roster).
///
/// Kept by the caller, one per agent slot (a view in parts gives each part its own), and
/// keyed by the roster slot too: an agent slot given to another agent meets a key that no
/// longer holds.
#[derive(Clone, Copy, Debug)]
pub struct DayCache {
    key: (u32, Ms, u64, (u32, u64, usize)),
    upto: Ms,
    today: AdhSums,
    peak_upto: Ms,
    peak: AdhSums,
    ext_last: Option<u64>,
    ext_to: Ms,
    ext: AdhSums,
}

fn pack(t: Ms, code: u8, rid: u16) -> u64 {
    ((t.max(0) as u64) << 16) | ((code as u64) << 12) | rid as u64
}

fn start_of(e: u64) -> Ms {
    (e >> 16) as Ms
}

fn unpack(e: u64) -> (u8, u16) {
    (((e >> 12) & 0x7) as u8, (e & 0xfff) as u16)
}

/// Whether state `code` conforms with the `work` activity: talking, ACW, idle.
fn conforms(code: u8) -> bool {
    matches!(code, 0 | 1 | 4)
}

/// The unplanned-aux entries of a state log as spans `(start, end, reason id)`, each to
/// the next entry's start (`Ms::MAX` for the last entry).
fn aux_spans(log: &[u64]) -> Vec<(Ms, Ms, u16)> {
    let mut out = Vec::new();
    for (i, &e) in log.iter().enumerate() {
        let (c, rid) = unpack(e);
        if c == AUX_UNPLANNED {
            out.push((start_of(e), log.get(i + 1).map_or(Ms::MAX, |&n| start_of(n)), rid));
        }
    }
    out
}

/// `log.partition_point(|e| start_of(e) <= t)`, searched from the end: the engine's
/// re-derivation after each event walks from the agent's previous event, one or two
/// entries from the end of a day's log (a binary search over all of it was most of a
/// re-derivation's cost, a cache miss per step). Doubling steps back keep a walk from
/// the start of the day logarithmic.
fn log_index(log: &[u64], t: Ms) -> usize {
    let (mut hi, mut step) = (log.len(), 1);
    let i = loop {
        let lo = hi.saturating_sub(step);
        if lo == 0 {
            break log[..hi].partition_point(|&e| start_of(e) <= t);
        }
        if start_of(log[lo]) <= t {
            break lo + 1 + log[lo + 1..hi].partition_point(|&e| start_of(e) <= t);
        }
        hi = lo;
        step *= 2;
    };
    debug_assert_eq!(i, log.partition_point(|&e| start_of(e) <= t));
    i
}

/// An out-of-adherence stretch: its start and its end (None: still going at the horizon).
pub type Stretch = (Ms, Option<Ms>);

/// The schedule figures of one agent (or a sum) over one window (SPEC §9.2), milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AdhSums {
    /// Shift time in the window.
    pub scheduled: Ms,
    /// The part of it in adherence.
    pub in_adherence: Ms,
    /// `work` time, and the part of it talking, in ACW or idle.
    pub work: Ms,
    pub conform: Ms,
    /// Unplanned-reason aux time that the schedule allowed (it counts as planned).
    pub scheduled_aux: Ms,
}

impl AdhSums {
    /// Adds `len` ms of activity `act` in state `code`, in adherence when `ok`.
    fn add_piece(&mut self, len: Ms, act: u16, code: u8, ok: bool) {
        self.scheduled += len;
        if ok {
            self.in_adherence += len;
            if code == Kind::AuxUnplanned as u8 {
                self.scheduled_aux += len;
            }
        }
        if act == WORK {
            self.work += len;
            if conforms(code) {
                self.conform += len;
            }
        }
    }

    pub fn add(&mut self, o: &AdhSums) {
        self.scheduled += o.scheduled;
        self.in_adherence += o.in_adherence;
        self.work += o.work;
        self.conform += o.conform;
        self.scheduled_aux += o.scheduled_aux;
    }
}

/// An agent's `today` up to its last change (`upto`) and its `peak_today`
/// ([`Roster::day_parts`]).
#[derive(Clone, Copy, Debug)]
pub struct DayParts {
    pub today_head: AdhSums,
    pub upto: Ms,
    pub peak: AdhSums,
}

/// What an upload changed, for the engine to re-derive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub agents: usize,
    pub rows: usize,
    /// Activity rows of the upload that lie outside every shift of their agent (after it):
    /// they count for nothing (SPEC §9.1), and the uploader is told; the first of them.
    pub outside: usize,
    pub first_outside: Option<(CompactString, Ms)>,
}

impl Applied {
    /// What to tell the uploader of its activities outside every shift, if any.
    pub fn outside_warning(&self) -> Option<String> {
        let (id, at) = self.first_outside.as_ref()?;
        Some(format!(
            "{} activity row(s) lie outside every shift of their agent and count for nothing (the first: agent {:?} \
             at {}): an activity counts only inside a shift",
            self.outside,
            id.as_str(),
            crate::time::fmt_ms(*at)
        ))
    }
}

/// Why an upload was refused after parsing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    #[error("too many distinct activity names (at most {MAX_NAMES})")]
    TooManyNames,
    #[error("too many scheduled agents: {0} (at most floor.max_agents)")]
    TooManyAgents(usize),
    #[error(
        "the roster would hold {0} schedule rows, more than roster.max_rows ({1}); upload fewer days ahead (past days are dropped after midnight) or raise it"
    )]
    TooManyRows(usize, usize),
}

/// Every scheduled agent's schedule and state log.
#[derive(Debug)]
pub struct Roster {
    settings: AdherenceSettings,
    /// Names by id (`off`, `work`, then interned); index and rules derived.
    names: Vec<CompactString>,
    name_ids: HashMap<CompactString, u16, foldhash::fast::RandomState>,
    allow: Vec<Allow>,
    /// Bit `8 * a + b`: states `a` and `b` (codes, neither aux) are allowed by the same
    /// activities, every one of them: a change from one to the other moves no
    /// out-of-adherence stretch. Kept with `allow` ([`Roster::resolve_rules`]).
    same_class: u64,
    /// See [`Roster::generation`].
    generation: u64,
    agents: Vec<RAgent>,
    index: HashMap<CompactString, u32, foldhash::fast::RandomState>,
    next_order: u64,
    /// `(due, slot)`: agents whose alerts must be re-derived once time reaches `due`.
    /// Entries may be stale (checked against `RAgent::due`). Derived.
    due: DueQueue,
    /// Agents due at the next advance (`RAgent::due` `Ms::MIN`): an event's, an upload's.
    /// A list rather than entries `(Ms::MIN, slot)` in `due` (a B-tree insert per event
    /// was a few per cent of ingest with a roster); sorted by slot before it is popped, in
    /// the order the B-tree gave them. At most one entry per agent. Derived.
    due_now: Vec<u32>,
    due_now_sorted: bool,
    /// `trim`'s last cutoff, and the earliest log entry or row end added since (`Ms::MAX`:
    /// none): a trim to the same cutoff with nothing added before it would change nothing,
    /// and is skipped (the cutoff moves once a day; a walk over every scheduled agent at
    /// each housekeeping was a few per cent of ingest with a roster).
    trimmed_at: Ms,
    added_since_trim: Ms,
    /// A buffer the engine's re-derivations borrow (`take_scratch`), so one per event
    /// allocates nothing. Empty between them.
    scratch: Vec<Stretch>,
    /// By the engine's agent slot: `(roster slot, roster length)` as last looked up by
    /// [`Roster::slot_cached`] (`u32::MAX`: none, when the roster had that length;
    /// `(u32::MAX, u32::MAX)`: not known). The team detectors look up every member's slot
    /// at every minute ([`Roster::slot_of`]); a hash of its id each time was a tenth of
    /// ingest's extra cost with a roster. Exact: roster slots are never reused, an upload
    /// only adds (so "none" holds while the length does), and the engine forgets an agent
    /// slot when it frees it. Derived; never stored.
    by_agent: Vec<(u32, u32)>,
    /// By roster slot: an interval `[from, to)` holding every instant at which the agent
    /// is in scheduled aux (unplanned aux its schedule allows, SPEC §9.2), `NO_EXTENT`
    /// for none. Outside it [`Roster::scheduled_aux_ms`] is 0, which the `aux_dispersion`
    /// rule asks of every member over every peak interval at every minute: with this it
    /// reads one dense array instead of each member's record and spans (two cache misses
    /// per member per minute, most of ingest's extra cost with a roster at 100,000
    /// agents). Never narrower than the truth: made again from the agent's spans of
    /// unplanned aux whenever they change ([`Roster::record`]) and when its schedule does
    /// (upload, restore); a trim leaves it as wide as it was.
    /// Derived; never stored.
    sched_aux: Vec<AuxExtent>,
    /// Roster slots an upload changed since their last derivation: that derivation does not
    /// tell stretches that ended before what may still be backfilled
    /// ([`Roster::reached_back`]). Derived; never stored.
    uploaded: HashSet<u32, foldhash::fast::RandomState>,
    /// The `[roster] file` as last applied: by (roster slot, local day, as `day_of` gives
    /// it), a digest of its rows then (`file.rs`). Stored.
    file_days: HashMap<(u32, i32), u64, foldhash::fast::RandomState>,
    /// Team moves of scheduled agents, by roster slot: `(instant, the team it left)`, in
    /// time order. An `out_of_adherence` alert's team is the agent's team at its fire time
    /// (SPEC §9.3), and the derivation that finds it may come after a later move: a batch
    /// that holds both the fire instant and the move, a lagging site's events
    /// ([`Roster::team_at`]). Agents rarely move, hence a map. Complete from `moves_from`
    /// on: trimmed with the logs, and not stored (a restored engine knows the moves since
    /// the state it restored). Derived; never stored.
    moves: HashMap<u32, Vec<(Ms, CompactString)>, foldhash::fast::RandomState>,
    moves_from: Ms,
    /// Scheduled agents not seen yet (an empty log): `(lo, hi, slot)`, `[lo, hi)` holding
    /// every instant of its schedule (wider after a trim). Until its first event a no-show
    /// is a member of team `unassigned` (SPEC §9.2), and that team's `utilization_high`
    /// rule counts its scheduled time ([`Roster::unseen_scheduled_ms`]): at a minute, most
    /// of them are scheduled later in the day, and the dense extent skips them without
    /// reading their records. `unseen_pos`: by slot, its place here (`u32::MAX`: none).
    /// Derived; never stored.
    unseen: Vec<(Ms, Ms, u32)>,
    unseen_pos: Vec<u32>,
    /// `(first entry's start, slot)` of the agents seen since the last trim, in that
    /// order: a minute evaluated again after a late event may come before an agent's first
    /// event, when it was still a no-show. Derived; never stored.
    seen_recently: Vec<(Ms, u32)>,
}

/// A [`Roster::generation`] no roster has had before (one roster may replace another, and
/// what was made from the old one must not pass for the new one's).
fn next_generation() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// How many agents ahead [`Roster::pop_due`] asks for the records of the agents it will
/// pop (half as many ahead, for what their records point to).
const DUE_AHEAD: usize = 8;

/// An empty [`Roster::sched_aux`] extent.
const NO_EXTENT: (Ms, Ms) = (Ms::MAX, Ms::MIN);

/// A roster slot's extent of scheduled aux (`lo`, `hi`: [`Roster::sched_aux`]) and the
/// generation of what its scheduled aux is made of ([`Roster::aux_generation`]), side by
/// side: the `aux_dispersion` rule reads both of every member at every minute.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(32))]
struct AuxExtent {
    lo: Ms,
    hi: Ms,
    generation: u64,
}

impl AuxExtent {
    fn new((lo, hi): (Ms, Ms)) -> AuxExtent {
        AuxExtent { lo, hi, generation: next_generation() }
    }
}

/// The roster's state as bytes (journal snapshots).
#[derive(Serialize)]
pub struct Stored {
    names: Vec<CompactString>,
    agents: Vec<RAgent>,
    next_order: u64,
    /// Added after the snapshot format 7 was first written, and last: a snapshot from
    /// before ends without it (read as none, so the file applies whole once, as it did).
    file_days: Vec<(u32, i32, u64)>,
}

impl<'de> Deserialize<'de> for Stored {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Stored, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Stored;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a stored roster")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Stored, A::Error> {
                use serde::de::Error;
                let names = seq.next_element()?.ok_or_else(|| A::Error::invalid_length(0, &self))?;
                let agents = seq.next_element()?.ok_or_else(|| A::Error::invalid_length(1, &self))?;
                let next_order = seq.next_element()?.ok_or_else(|| A::Error::invalid_length(2, &self))?;
                // The bytes end here in a snapshot written before `file_days`.
                let file_days = seq.next_element().ok().flatten().unwrap_or_default();
                Ok(Stored { names, agents, next_order, file_days })
            }
        }
        d.deserialize_struct("Stored", &["names", "agents", "next_order", "file_days"], V)
    }
}

impl Roster {
    pub fn new(settings: AdherenceSettings) -> Roster {
        let mut r = Roster {
            settings,
            names: Vec::new(),
            name_ids: HashMap::default(),
            allow: Vec::new(),
            same_class: 0,
            generation: next_generation(),
            agents: Vec::new(),
            index: HashMap::default(),
            next_order: 0,
            due: DueQueue::default(),
            due_now: Vec::new(),
            due_now_sorted: true,
            trimmed_at: Ms::MIN,
            added_since_trim: Ms::MAX,
            scratch: Vec::new(),
            by_agent: Vec::new(),
            sched_aux: Vec::new(),
            uploaded: HashSet::default(),
            file_days: HashMap::default(),
            moves: HashMap::default(),
            moves_from: Ms::MIN,
            unseen: Vec::new(),
            unseen_pos: Vec::new(),
            seen_recently: Vec::new(),
        };
        r.intern("off");
        r.intern("work");
        let mut configured: Vec<String> = r.settings.allowed.values().flat_map(|a| a.reasons.iter().cloned()).collect();
        configured.extend(r.settings.allowed.keys().cloned());
        configured.sort();
        for n in configured {
            r.intern(&n);
        }
        r
    }

    pub fn settings(&self) -> &AdherenceSettings {
        &self.settings
    }

    /// No agent has a schedule: the engine skips every adherence step.
    pub fn is_empty(&self) -> bool {
        self.agents.is_empty()
    }

    pub fn len(&self) -> usize {
        self.agents.len()
    }

    /// The schedule rows held, every agent and day (bounded by `roster.max_rows`).
    pub fn rows_held(&self) -> usize {
        self.agents.iter().map(|a| a.rows.len()).sum()
    }

    fn intern(&mut self, name: &str) -> Option<u16> {
        if let Some(&i) = self.name_ids.get(name) {
            return Some(i);
        }
        if self.names.len() >= MAX_NAMES {
            return None;
        }
        let i = self.push_name(name);
        // Resolve every rule again: a new name may be a reason another rule names.
        self.resolve_rules();
        Some(i)
    }

    /// The id of aux reason `name`, which no roster or rule names yet: kept by name (a
    /// correction entered after the fact may schedule an activity of that name over the
    /// aux already taken), while there is room ([`MAX_NAMES_BY_REASONS`]); else [`OTHER`].
    /// Every rule that names a reason named it at the start, so only the new name's own
    /// rule (the one it has if a roster makes it an activity) is resolved.
    fn intern_reason(&mut self, name: &str) -> u16 {
        if self.names.len() >= MAX_NAMES_BY_REASONS {
            return OTHER;
        }
        let i = self.push_name(name);
        // `off` (id 0) is not judged by its mask; a mask no other activity has may split a
        // class of states that were alike.
        let mask = self.allow[i as usize].mask;
        if !self.allow[1..i as usize].iter().any(|a| a.mask == mask) {
            self.resolve_rules();
        }
        i
    }

    /// Adds `name` (known to be new) to the name table with its own rule resolved.
    fn push_name(&mut self, name: &str) -> u16 {
        let i = self.names.len() as u16;
        self.names.push(name.into());
        self.name_ids.insert(name.into(), i);
        let rule = self.rule_for(name);
        self.allow.push(rule);
        i
    }

    /// Activity `name`'s allowed states (`[adherence.allowed]`, or the defaults), its
    /// reasons resolved to the ids known now.
    fn rule_for(&self, name: &str) -> Allow {
        let default;
        let list = match self.settings.allowed.get(name) {
            Some(l) => l,
            None => {
                default = AllowList::default_for(name);
                &default
            }
        };
        let reasons = list.reasons.iter().filter_map(|r| self.name_ids.get(r.as_str()).copied()).collect();
        Allow { mask: list.mask, reasons }
    }

    fn resolve_rules(&mut self) {
        for i in 0..self.names.len() {
            self.allow[i] = self.rule_for(&self.names[i]);
        }
        // Activity `off` allows everything (never out of adherence); the others by mask.
        let masks: Vec<u8> =
            self.allow.iter().enumerate().filter(|&(i, _)| i != OFF as usize).map(|(_, a)| a.mask).collect();
        self.same_class = 0;
        for a in 0..8u32 {
            for b in 0..8u32 {
                if masks.iter().all(|m| (m >> a) & 1 == (m >> b) & 1) {
                    self.same_class |= 1 << (8 * a + b);
                }
            }
        }
    }

    /// Whether log entries `x` and `y` (their state and reason) are out of adherence under
    /// the same activities, all of them: a change from one to the other leaves the agent's
    /// stretches as they were. Aux states only with the same reason (a rule may allow one
    /// reason and not another).
    fn same_adherence(&self, x: u64, y: u64) -> bool {
        let ((a, ra), (b, rb)) = (unpack(x), unpack(y));
        (a, ra) == (b, rb) || self.alike(a, b)
    }

    /// Whether states `a` and `b` (codes) are neither aux (their reasons matter) and every
    /// activity allows both or neither.
    fn alike(&self, a: u8, b: u8) -> bool {
        let aux = |c: u8| c == AUX_UNPLANNED || c == Kind::AuxPlanned as u8;
        !aux(a) && !aux(b) && (self.same_class >> (8 * a as u32 + b as u32)) & 1 == 1
    }

    /// Whether a change of an agent from state `old` to `new` leaves every figure and
    /// out-of-adherence stretch of the agent as it was: neither is aux (their reasons
    /// matter), every activity allows both or neither, and both or neither conform with
    /// `work`. Talking, ACW and idle under the default rules: most events. The engine does
    /// not record such a change ([`Roster::record`]): an agent's log keeps the first state
    /// of each run of them, which every reader of the log takes the same way as the others
    /// (what it reads of a state is whether an activity allows it, whether it conforms and
    /// whether it is unplanned aux). Reading the agent's roster record and log tail at each
    /// such event was most of `Roster::record`'s cost (BENCHMARKS.md, session 15: 243 M →
    /// 68 M instructions over a 3M-event replay with a roster).
    pub fn changes_nothing(&self, old: Kind, new: Kind) -> bool {
        self.codes_change_nothing(code(old), code(new))
    }

    /// [`Roster::changes_nothing`] of states given as codes.
    fn codes_change_nothing(&self, a: u8, b: u8) -> bool {
        self.alike(a, b) && conforms(a) == conforms(b)
    }

    /// That agent `slot`'s log ends in a state whose change to `kind` changes nothing
    /// ([`Roster::changes_nothing`]): the log took the agent's states so far (debug builds).
    #[cfg(debug_assertions)]
    pub fn check_unlogged(&self, slot: u32, kind: Kind) {
        let a = &self.agents[slot as usize];
        let last = a.log.last().map(|&e| unpack(e).0);
        let same = last.is_some_and(|c| self.codes_change_nothing(c, code(kind)));
        debug_assert!(same, "the log of {} ends in state {last:?}, not in a state like {kind:?}", a.id);
    }

    /// Whether activity `act` allows state `code` with aux reason `rid`.
    fn allowed(&self, act: u16, code: u8, rid: u16) -> bool {
        let a = &self.allow[act as usize];
        (a.mask >> code) & 1 == 1
            || (code == Kind::AuxUnplanned as u8 || code == Kind::AuxPlanned as u8)
                && rid != OTHER
                && a.reasons.contains(&rid)
    }

    pub fn activity_name(&self, act: u16) -> &str {
        &self.names[act as usize]
    }

    /// Replaces the schedule of every agent and local day the upload names (`day_of`: the
    /// local day number of an instant); a [`parse::DAY_OFF`] row names its day and adds
    /// nothing. Nothing is changed when it is refused. Returns each named agent's slot and
    /// the first instant its scheduled activity changed (`Ms::MAX`: the same schedule
    /// again). An agent not yet scheduled that the upload gives only days off gets no slot:
    /// there is nothing of it to replace.
    pub fn upload(
        &mut self,
        up: &parse::Upload,
        max_agents: usize,
        day_of: &mut dyn FnMut(Ms) -> i32,
    ) -> Result<(Vec<(u32, Ms)>, Applied), UploadError> {
        let is_off = |r: &Row| r.act.as_deref() == Some(parse::DAY_OFF);
        let new_agents =
            up.agents.iter().filter(|(id, rows)| !self.index.contains_key(id) && !rows.iter().all(is_off)).count();
        if self.agents.len() + new_agents > max_agents {
            return Err(UploadError::TooManyAgents(self.agents.len() + new_agents));
        }
        // The parser folds activity names to lower case; an `[adherence.allowed]` key
        // spelled otherwise (`Huddle`) is the same activity, unless the lower-case key is
        // configured too (docs/adherence.md).
        let allowed = &self.settings.allowed;
        let mut configured: Vec<(String, CompactString)> = allowed
            .keys()
            .map(|k| (k.to_lowercase(), k))
            .filter(|(low, k)| low != *k && !allowed.contains_key(low))
            .map(|(low, k)| (low, k.as_str().into()))
            .collect();
        configured.sort();
        let name_of = |a: &CompactString| -> CompactString {
            configured.iter().find(|(low, _)| low == a.as_str()).map_or_else(|| a.clone(), |(_, k)| k.clone())
        };
        // Names first, so a refusal leaves everything as it was.
        let mut new_names: Vec<CompactString> = Vec::new();
        for (_, rows) in &up.agents {
            for r in rows.iter().filter(|r| !is_off(r)) {
                if let Some(a) = &r.act {
                    let n = name_of(a);
                    if !self.name_ids.contains_key(n.as_str()) && !new_names.contains(&n) {
                        new_names.push(n);
                    }
                }
            }
        }
        if self.names.len() + new_names.len() > MAX_NAMES {
            return Err(UploadError::TooManyNames);
        }
        // A row's day is its shift's (a night shift's break after midnight too). The rows
        // held after the upload, before anything of it is applied: the rows an upload names
        // replace its agents' rows of those days; days ahead are kept until they are past.
        let mut held = self.rows_held();
        let mut owned: Vec<(Vec<Ms>, BTreeSet<i32>)> = Vec::with_capacity(up.agents.len());
        for (id, rows) in &up.agents {
            let owners = parse::owning_starts(rows);
            let days: BTreeSet<i32> = owners.iter().map(|&t| day_of(t)).collect();
            if let Some(&s) = self.index.get(id) {
                held -= self.agents[s as usize].rows.iter().filter(|k| days.contains(&k.day)).count();
            }
            held += rows.iter().filter(|r| !is_off(r)).count();
            owned.push((owners, days));
        }
        if held > self.settings.max_rows {
            return Err(UploadError::TooManyRows(held, self.settings.max_rows));
        }
        for n in new_names {
            self.intern(&n);
        }
        let mut touched = Vec::with_capacity(up.agents.len());
        let trimmed_at = self.trimmed_at;
        let (mut outside, mut first_outside) = (0, None);
        for ((id, rows), (owners, days)) in up.agents.iter().zip(owned) {
            let slot = match self.index.get(id) {
                Some(&s) => s,
                None if rows.iter().all(is_off) => continue,
                None => {
                    self.agents.push(RAgent {
                        id: id.clone(),
                        rows: Vec::new(),
                        sched: Vec::new(),
                        log: Vec::new(),
                        settled: Ms::MAX,
                        out_since: None,
                        live: Vec::new(),
                        done: Vec::new(),
                        due: Ms::MAX,
                        queued: Ms::MAX,
                        sched_gen: 0,
                        aux: Vec::new(),
                        who_changed: true,
                        live_firing: false,
                    });
                    self.sched_aux.push(AuxExtent::new(NO_EXTENT));
                    let s = (self.agents.len() - 1) as u32;
                    self.index.insert(id.clone(), s);
                    self.unseen_pos.push(self.unseen.len() as u32);
                    self.unseen.push((Ms::MAX, Ms::MIN, s));
                    s
                }
            };
            let mut kept: Vec<Kept> = Vec::with_capacity(rows.len());
            for (r, &owner) in rows.iter().zip(&owners).filter(|(r, _)| !is_off(r)) {
                let act = match &r.act {
                    None => SHIFT,
                    Some(a) => self.name_ids[name_of(a).as_str()],
                };
                kept.push(Kept { start: r.start, end: r.end, act, order: self.next_order, day: day_of(owner) });
                self.next_order += 1;
            }
            self.added_since_trim = kept.iter().map(|k| k.end).fold(self.added_since_trim, Ms::min);
            let a = &mut self.agents[slot as usize];
            a.rows.retain(|k| !days.contains(&k.day));
            let added = kept.len();
            a.rows.extend(kept);
            // The upload's activities outside every shift the agent now has: told, not refused.
            let shifts = shifts_of(&a.rows);
            for k in a.rows[a.rows.len() - added..].iter().filter(|k| k.act != SHIFT) {
                let i = shifts.partition_point(|s| s.0 < k.end);
                if i.checked_sub(1).is_none_or(|i| shifts[i].1 <= k.start) {
                    outside += 1;
                    first_outside.get_or_insert_with(|| (id.clone(), k.start));
                }
            }
            let sched = flatten_with(&a.rows, &shifts);
            // Where the schedule changes, as far back as the roster still knows it (rows and
            // state logs are trimmed before `trimmed_at`, which no window reads: a change
            // before it is history, as evaluated).
            let changed = first_difference(&pieces_from(&a.sched, trimmed_at), &pieces_from(&sched, trimmed_at));
            // Re-derive from the start of the shift, old or new, in which the schedule first
            // changed (a cancelled day's stretches and alerts go: just before it the agent
            // was off in both, so no stretch was in progress), or where it already was, if
            // earlier. An upload that changes nothing the roster still knows (the same file
            // read again at a restart or on SIGHUP, a weekly export repeating past days)
            // re-derives nothing: walking the trimmed log again took past days' alerts back.
            let from = match changed {
                Ms::MAX => Ms::MAX,
                t => shift_start(&a.sched, t).min(shift_start(&sched, t)).max(trimmed_at),
            };
            a.sched = sched;
            a.sched_gen += 1;
            if from < a.settled {
                a.settled = from;
                a.out_since = None;
                // The final alerts of stretches from there on may change again; those
                // before it ended before it.
                let (again, done): (Vec<_>, Vec<_>) =
                    std::mem::take(&mut a.done).into_iter().partition(|d| d.0 >= from);
                a.done = done;
                a.live.splice(0..0, again);
            }
            self.sched_aux[slot as usize] = AuxExtent::new(self.extent_of(slot));
            if let Some(&pos) = self.unseen_pos.get(slot as usize).filter(|&&p| p != u32::MAX) {
                let (lo, hi) = sched_extent(&self.agents[slot as usize].sched);
                self.unseen[pos as usize] = (lo, hi, slot);
            }
            touched.push((slot, changed));
        }
        self.generation = next_generation();
        Ok((touched, Applied { agents: up.agents.len(), rows: up.rows(), outside, first_outside }))
    }

    pub fn slot(&self, id: &str) -> Option<u32> {
        self.index.get(id).copied()
    }

    /// [`Roster::slot`] of agent `id` at the engine's agent slot `ai`, remembered for
    /// [`Roster::slot_of`] (the engine asks at each of the agent's events).
    pub fn slot_cached(&mut self, ai: u32, id: &str) -> Option<u32> {
        let found = self.slot_of(ai, id);
        if self.by_agent.len() <= ai as usize {
            self.by_agent.resize(ai as usize + 1, (u32::MAX, u32::MAX));
        }
        self.by_agent[ai as usize] = (found.unwrap_or(u32::MAX), self.agents.len() as u32);
        found
    }

    /// [`Roster::slot`] of agent `id` at the engine's agent slot `ai`: as remembered by
    /// [`Roster::slot_cached`] while that holds, else by its id. The engine forgets an agent
    /// slot here when it frees it ([`Roster::forget_agent`]), so a remembered slot is this
    /// agent's without reading its id (a compare per member per minute was a few per cent).
    pub fn slot_of(&self, ai: u32, id: &str) -> Option<u32> {
        self.slot_of_with(ai, || id)
    }

    /// [`Roster::slot_of`] with the agent's id read only when the slot is not remembered:
    /// the team detectors find every member's slot at every minute, and reading the id
    /// was a cache miss on the agent's record each (BENCHMARKS.md, session 13).
    pub fn slot_of_with<'a>(&self, ai: u32, id: impl FnOnce() -> &'a str) -> Option<u32> {
        let found = match self.by_agent.get(ai as usize) {
            Some(&(slot, _)) if slot != u32::MAX => Some(slot),
            Some(&(_, at_len)) if at_len == self.agents.len() as u32 => None,
            _ => return self.slot(id()),
        };
        #[cfg(debug_assertions)]
        {
            let id = id();
            debug_assert_eq!(found, self.slot(id), "the remembered roster slot of {id}");
        }
        found
    }

    /// The engine freed agent slot `ai` (another agent may take it).
    pub fn forget_agent(&mut self, ai: u32) {
        if let Some(e) = self.by_agent.get_mut(ai as usize) {
            *e = (u32::MAX, u32::MAX);
        }
    }

    /// Scheduled agents: `(slot, id)`, with at least one row.
    pub fn scheduled(&self) -> impl Iterator<Item = (u32, &str)> {
        self.agents.iter().enumerate().filter(|(_, a)| !a.rows.is_empty()).map(|(i, a)| (i as u32, a.id.as_str()))
    }

    /// Asks for agent `slot`'s record in the cache (see [`crate::mem::prefetch`]): a view
    /// visits the scheduled agents in the engine's slot order, not the roster's, and the
    /// record's cache miss, then its log's, were half of a scrape with a roster at
    /// 100,000 agents (BENCHMARKS.md, session 11). Any slot; one out of range is ignored.
    #[inline]
    pub fn prefetch_record(&self, slot: u32) {
        if let Some(a) = self.agents.get(slot as usize) {
            crate::mem::prefetch_bytes(a, RAGENT_HOT_BYTES);
        }
    }

    /// Asks for what a view reads through agent `slot`'s record: its schedule and the end
    /// of its log. Reads the record: call it a few agents after [`Roster::prefetch_record`].
    #[inline]
    pub fn prefetch_tails(&self, slot: u32) {
        self.prefetch_schedule(slot);
        if let Some(a) = self.agents.get(slot as usize)
            && let Some(last) = a.log.last()
        {
            crate::mem::prefetch(last);
            crate::mem::prefetch(a.log.as_ptr().wrapping_add(a.log.len().saturating_sub(8)));
        }
    }

    /// Asks for agent `slot`'s schedule in the cache (its record is read): the team
    /// detectors find every member's slot, then read every member's schedule, each minute.
    #[inline]
    pub fn prefetch_schedule(&self, slot: u32) {
        if let Some(a) = self.agents.get(slot as usize) {
            crate::mem::prefetch_bytes(a.sched.as_ptr(), std::mem::size_of_val(&a.sched[..]).min(256));
        }
    }

    /// Asks for the record of the engine's agent slot `ai` in the cache, by the roster slot
    /// remembered for it ([`Roster::slot_cached`]), and gives that slot (`u32::MAX`: none).
    /// The first of two steps for the engine to bring several agents' roster data into the
    /// cache at once ahead of applying their events; the second, [`Roster::warm_tails`],
    /// reads the record, so it comes a few agents later (each record a cache miss that the
    /// read of the next one's waited for, when it was one step: BENCHMARKS.md, session 13).
    #[inline]
    pub fn warm_record(&self, ai: u32) -> u32 {
        let Some(&(slot, _)) = self.by_agent.get(ai as usize) else { return u32::MAX };
        if let Some(a) = self.agents.get(slot as usize) {
            crate::mem::prefetch_bytes(a, std::mem::size_of::<RAgent>());
        }
        slot
    }

    /// Asks for what [`Roster::record`] and the re-derivation after the batch read through
    /// agent `slot`'s record ([`Roster::warm_record`]'s answer): the end of its state log,
    /// its schedule and, when it has some, its last span of unplanned aux. Reads the
    /// record; a value made of what it read (0 for no slot).
    #[inline]
    pub fn warm_tails(&self, slot: u32) -> u64 {
        let Some(a) = self.agents.get(slot as usize) else { return 0 };
        if let Some(last) = a.log.last() {
            crate::mem::prefetch(last);
        }
        if let Some(last) = a.aux.last() {
            crate::mem::prefetch(last);
        }
        crate::mem::prefetch_bytes(a.sched.as_ptr(), std::mem::size_of_val(&a.sched[..]).min(256));
        a.log.len() as u64
    }

    /// Whether the agent has any schedule (then its staffed time is its scheduled time).
    pub fn has_rows(&self, slot: u32) -> bool {
        !self.agents[slot as usize].rows.is_empty()
    }

    /// Records the agent's state at `t` (events arrive in order per agent).
    pub fn record(&mut self, slot: u32, t: Ms, kind: Kind, reason: Option<&str>) {
        let rid = match (kind, reason) {
            (Kind::AuxPlanned | Kind::AuxUnplanned, Some(r)) => match self.name_ids.get(r) {
                Some(&i) => i,
                None => self.intern_reason(r),
            },
            _ => OTHER,
        };
        let e = pack(t, code(kind), rid);
        self.added_since_trim = self.added_since_trim.min(t);
        // Whether the agent's alerts must be derived again: always at its first state, and
        // otherwise not when the state from `t` on is out of adherence under exactly the
        // activities the one in force before was (the last entry, or the one this replaces
        // at the same instant; talking, ACW and idle under the default rules: most events).
        // Its stretches, and so its alerts and when they are next due, stay as the last
        // derivation found them.
        let again = self.agents[slot as usize].log.last().is_none_or(|&before| !self.same_adherence(before, e));
        #[cfg(debug_assertions)]
        let check = (!again).then(|| self.stretches(slot, Ms::MAX / 2).1);
        let a = &mut self.agents[slot as usize];
        let replaced = match a.log.last_mut() {
            Some(last) if start_of(*last) >= t => Some(std::mem::replace(last, e)),
            // The same state and reason again: the log stays (and so does the rest).
            Some(last) if *last & 0xffff == e & 0xffff => return,
            _ => {
                a.log.push(e);
                if a.log.len() == 1 {
                    self.first_seen(slot, t);
                }
                None
            }
        };
        #[cfg(debug_assertions)]
        if let Some(was) = check {
            debug_assert_eq!(
                self.stretches(slot, Ms::MAX / 2).1,
                was,
                "stretches of {} moved at {t}",
                self.agents[slot as usize].id
            );
        }
        let a = &mut self.agents[slot as usize];
        // The spans of unplanned aux change only when the entry that came, or the one it
        // replaced or ended, is unplanned aux: most changes (talking, ACW, idle) leave them
        // as they are, unread.
        let n = a.log.len();
        let touches_aux = code(kind) == AUX_UNPLANNED
            || replaced.is_some_and(|r| unpack(r).0 == AUX_UNPLANNED)
            || (n >= 2 && unpack(a.log[n - 2]).0 == AUX_UNPLANNED);
        if !touches_aux {
            debug_assert_eq!(a.aux, aux_spans(&a.log), "aux spans of {}", a.id);
            if again {
                self.mark(slot);
            }
            return;
        }
        let before = (a.aux.len(), a.aux.last().copied());
        a.aux_tail(replaced);
        if (a.aux.len(), a.aux.last().copied()) != before {
            // A span came, ended or went: the extent made again from them all (an open
            // span's reaches the schedule's last piece that allows it; once it ends, the
            // extent shrinks back to what the agent's breaks really were).
            self.sched_aux[slot as usize] = AuxExtent::new(self.extent_of(slot));
        }
        if again {
            self.mark(slot);
        }
    }

    /// The extent of scheduled aux of agent `slot`'s aux spans: the first instant and the
    /// end of the last piece of them its schedule allows (`NO_EXTENT`: none).
    fn extent_of(&self, slot: u32) -> (Ms, Ms) {
        let a = &self.agents[slot as usize];
        let (mut lo, mut hi) = NO_EXTENT;
        for &(s, e, rid) in &a.aux {
            self.allowed_aux_pieces(a, s, e, rid, |t, end| (lo, hi) = (lo.min(t), hi.max(end)));
        }
        (lo, hi)
    }

    /// Calls `f(start, end)` for each part of `[from, to)` in which agent `a`'s schedule
    /// allows unplanned aux with reason `rid`, in time order (one per schedule piece).
    #[inline]
    fn allowed_aux_pieces(&self, a: &RAgent, from: Ms, to: Ms, rid: u16, mut f: impl FnMut(Ms, Ms)) {
        let mut i = a.sched.partition_point(|&(p, _)| p <= from);
        let mut t = from;
        while t < to {
            let act = if i == 0 { OFF } else { a.sched[i - 1].1 };
            let end = a.sched.get(i).map_or(Ms::MAX, |p| p.0).min(to);
            if act != OFF && self.allowed(act, AUX_UNPLANNED, rid) {
                f(t, end);
            }
            t = end;
            i += 1;
        }
    }

    /// Whether agent `slot` may be in scheduled aux somewhere in `[from, to)`: when not,
    /// its [`Roster::scheduled_aux_ms`] there is 0 (read without its record).
    #[inline]
    pub fn may_have_scheduled_aux(&self, slot: u32, from: Ms, to: Ms) -> bool {
        let x = self.sched_aux[slot as usize];
        x.lo < to && from < x.hi
    }

    /// Asks for what [`Roster::slot_of`] reads of the engine's agent slot `ai`, and for
    /// agent `slot`'s extent and generation ([`Roster::aux_generation`]): the
    /// `aux_dispersion` rule reads both of each member at every minute, a few members
    /// ahead. Hints only: any values (a stale slot costs a wasted hint).
    #[inline]
    pub fn prefetch_member(&self, ai: AgentIdx, slot: u32) {
        if let Some(x) = self.by_agent.get(ai as usize) {
            crate::mem::prefetch(x);
        }
        if let Some(x) = self.sched_aux.get(slot as usize) {
            crate::mem::prefetch(x);
        }
    }

    /// A number that changes whenever agent `slot`'s scheduled aux may have changed
    /// anywhere (its spans of unplanned aux or its schedule did), never the same for two
    /// slots or two rosters: while it stays, [`Roster::scheduled_aux_ms`] of any interval
    /// gives what it gave, so the `aux_dispersion` rule adds to a member's scheduled aux
    /// over peak time only the minutes since it last asked.
    #[inline]
    pub fn aux_generation(&self, slot: u32) -> u64 {
        self.sched_aux[slot as usize].generation
    }

    /// Notes that an upload changed agent `slot`'s schedule (see [`Roster::reached_back`]).
    pub fn note_upload(&mut self, slot: u32) {
        self.uploaded.insert(slot);
    }

    /// Whether an upload changed agent `slot`'s schedule since its last derivation, which
    /// then walks from the start of the new schedule: a weekly or monthly export reaches
    /// back days, and the stretches out of adherence it finds there (no-shows of last
    /// week) are figures now, not pages. The engine tells none that ended before what may
    /// still be backfilled (docs/adherence.md).
    pub fn reached_back(&self, slot: u32) -> bool {
        !self.uploaded.is_empty() && self.uploaded.contains(&slot)
    }

    /// Marks an agent for re-derivation at the next advance (after an event or an upload).
    pub fn mark(&mut self, slot: u32) {
        let a = &mut self.agents[slot as usize];
        if a.due != Ms::MIN {
            a.due = Ms::MIN;
            self.due_now.push(slot);
            self.due_now_sorted = false;
        }
    }

    /// Pops the next agent due at or before `now`: those marked (by slot), then those due
    /// by a time (by time, then slot).
    pub fn pop_due(&mut self, now: Ms) -> Option<u32> {
        if !self.due_now_sorted {
            // Popped from the end: the lowest slot last.
            self.due_now.sort_unstable_by(|a, b| b.cmp(a));
            self.due_now_sorted = true;
            // The first ones popped, which the read-ahead below does not reach.
            for &slot in self.due_now.iter().rev().take(DUE_AHEAD) {
                crate::mem::prefetch_bytes(&self.agents[slot as usize], RAGENT_DERIVE_BYTES);
            }
        }
        while let Some(slot) = self.due_now.pop() {
            // The agents due after this one, read ahead: after a batch of hundreds of
            // events their records, schedules, logs and alerts have left the cache again,
            // and the re-derivations wait for them one after another otherwise
            // (BENCHMARKS.md, session 13). Hints only.
            let n = self.due_now.len();
            if let Some(&ahead) = n.checked_sub(DUE_AHEAD).and_then(|i| self.due_now.get(i)) {
                crate::mem::prefetch_bytes(&self.agents[ahead as usize], RAGENT_DERIVE_BYTES);
            }
            if let Some(&ahead) = n.checked_sub(DUE_AHEAD / 2).and_then(|i| self.due_now.get(i)) {
                self.prefetch_tails(ahead);
                let b = &self.agents[ahead as usize];
                if !b.live.is_empty() {
                    crate::mem::prefetch(b.live.as_ptr());
                }
            }
            let a = &mut self.agents[slot as usize];
            if a.due == Ms::MIN {
                a.due = Ms::MAX;
                return Some(slot);
            }
        }
        while let Some((t, slot)) = self.due.pop_upto(now) {
            let a = &mut self.agents[slot as usize];
            if a.queued == t {
                a.queued = Ms::MAX;
            }
            if a.due == t {
                a.due = Ms::MAX;
                return Some(slot);
            }
        }
        None
    }

    /// Calls `f(start, end, activity, state code, reason id)` over `[from, to)` in pieces
    /// where the scheduled activity and the state are constant.
    fn walk(&self, a: &RAgent, from: Ms, to: Ms, mut f: impl FnMut(Ms, Ms, u16, u8, u16)) {
        if to <= from {
            return;
        }
        let mut si = a.sched.partition_point(|&(s, _)| s <= from);
        let mut li = log_index(&a.log, from);
        let mut t = from;
        while t < to {
            let act = if si == 0 { OFF } else { a.sched[si - 1].1 };
            let (code, rid) = if li == 0 { (OFFLINE, OTHER) } else { unpack(a.log[li - 1]) };
            let next_s = a.sched.get(si).map_or(Ms::MAX, |p| p.0);
            let next_l = a.log.get(li).map_or(Ms::MAX, |&e| start_of(e));
            let end = to.min(next_s).min(next_l);
            f(t, end, act, code, rid);
            t = end;
            if next_s == end {
                si += 1;
            }
            if next_l == end {
                li += 1;
            }
        }
    }

    /// The schedule figures of agent `slot` over `[from, to)`.
    pub fn sums(&self, slot: u32, from: Ms, to: Ms) -> AdhSums {
        let a = &self.agents[slot as usize];
        let mut s = AdhSums::default();
        if a.sched.is_empty() || to <= a.sched[0].0 {
            return s;
        }
        self.walk(a, from, to, |t0, t1, act, code, rid| {
            if act != OFF {
                s.add_piece(t1 - t0, act, code, self.allowed(act, code, rid));
            }
        });
        s
    }

    /// `out[k] = sums(slot, starts[k], to)` for every `k`, in one walk from the earliest
    /// start: a view's windows all end at `now`, and walking the agent's schedule and log
    /// once instead of once per window (two binary searches each) was a fifth of a scrape
    /// of a floor with a roster. Exact: each piece is cut at each start.
    pub fn sums_to(&self, slot: u32, starts: &[Ms], to: Ms, out: &mut [AdhSums]) {
        out.fill(AdhSums::default());
        let a = &self.agents[slot as usize];
        let Some(&from) = starts.iter().min() else { return };
        if a.sched.is_empty() || to <= a.sched[0].0 {
            return;
        }
        self.walk(a, from, to, |t0, t1, act, code, rid| {
            if act == OFF {
                return;
            }
            let ok = self.allowed(act, code, rid);
            for (o, &s) in out.iter_mut().zip(starts) {
                let len = t1 - t0.max(s);
                if len > 0 {
                    o.add_piece(len, act, code, ok);
                }
            }
        });
    }

    /// The agent's `today` (`[midnight, now)`) and `peak_today` (over `peaks`, intervals
    /// within today, in time order) figures, each window summed whole from the schedule and
    /// the log: the reference that [`Roster::day_parts`]' cache is checked against (the
    /// engine's `no_view_cache`).
    pub fn day_sums(&self, slot: u32, midnight: Ms, now: Ms, peaks: &[(Ms, Ms)]) -> (AdhSums, AdhSums) {
        let today = self.sums(slot, midnight, now);
        let mut peak = AdhSums::default();
        for &(p, q) in peaks {
            let (p, q) = (p.max(midnight), q.min(now));
            if p < q {
                peak.add(&self.sums(slot, p, q));
            }
        }
        (today, peak)
    }

    /// [`Roster::day_sums`] but `today`'s tail `[upto, now)`, which the caller sums in the
    /// same walk as its sliding windows ([`Roster::sums_to`]), and reusing what earlier
    /// views summed (`DayCache`). `peak_key` names the peak intervals (team and its
    /// detectors' generation: a re-evaluation changes it), `peaks` are in time order and do
    /// not overlap, and `committed` is the team's committed clock. Exact: the cached parts
    /// are integer sums over disjoint intervals.
    #[allow(clippy::too_many_arguments)]
    pub fn day_parts(
        &self,
        slot: u32,
        cache: &mut Option<DayCache>,
        midnight: Ms,
        now: Ms,
        peaks: &[(Ms, Ms)],
        peak_key: (u32, u64, usize),
        committed: Ms,
    ) -> DayParts {
        debug_assert!(peaks.windows(2).all(|w| w[0].1 <= w[1].0), "peak intervals in order: {peaks:?}");
        let a = &self.agents[slot as usize];
        let last = a.log.last().copied();
        let upto = last.map_or(midnight, start_of).clamp(midnight, now);
        let committed = committed.max(midnight);
        let peak_upto = upto.min(committed);
        let key = (slot, midnight, a.sched_gen, peak_key);
        let c = cache.filter(|c| c.key == key && c.upto <= upto && c.peak_upto <= peak_upto);
        let (mut today, mut peak, from, peak_from) = match c {
            Some(c) => (c.today, c.peak, c.upto, c.peak_upto),
            None => (AdhSums::default(), AdhSums::default(), midnight, midnight),
        };
        // The part past the last change holds while it is still the last change, the base
        // part ends where it did and it ends by the committed clock and `now` (a view may
        // look at an earlier instant than the last one).
        let ext_limit = committed.min(now);
        let (mut ext, ext_from) = match c {
            Some(c) if c.ext_last == last && c.peak_upto == peak_upto && c.ext_to <= ext_limit => (c.ext, c.ext_to),
            _ => (AdhSums::default(), peak_upto),
        };
        // The peak intervals' parts within `[from, to)`, from the first that ends after
        // `from` (a view asks this of every scheduled agent: no walk over the earlier ones).
        let over = |s: &Self, sums: &mut AdhSums, from: Ms, to: Ms| {
            let first = peaks.partition_point(|&(_, q)| q <= from);
            for &(p, q) in &peaks[first..] {
                if p >= to {
                    break;
                }
                let (p, q) = (p.max(from), q.min(to));
                if p < q {
                    sums.add(&s.sums(slot, p, q));
                }
            }
        };
        if from < upto {
            today.add(&self.sums(slot, from, upto));
        }
        over(self, &mut peak, peak_from, peak_upto);
        let ext_to = ext_limit;
        over(self, &mut ext, ext_from, ext_to);
        *cache = Some(DayCache { key, upto, today, peak_upto, peak, ext_last: last, ext_to, ext });
        peak.add(&ext);
        over(self, &mut peak, ext_to, now);
        DayParts { today_head: today, upto, peak }
    }

    /// Calls `f(start, end)` for each piece of agent `slot`'s schedule that is not `off`
    /// (`end` `Ms::MAX`: the last piece, never left), in time order: the instants
    /// [`Roster::scheduled_ms`] counts.
    pub fn scheduled_pieces(&self, slot: u32, mut f: impl FnMut(Ms, Ms)) {
        let sched = &self.agents[slot as usize].sched;
        for (k, &(t, act)) in sched.iter().enumerate() {
            if act != OFF {
                f(t, sched.get(k + 1).map_or(Ms::MAX, |p| p.0));
            }
        }
    }

    /// Bumped whenever a schedule, or which agents have one, may have changed (an upload,
    /// a trim that drops rows): what was made from the schedules is stale.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Shift time of agent `slot` in `[from, to)`, from its schedule alone.
    pub fn scheduled_ms(&self, slot: u32, from: Ms, to: Ms) -> Ms {
        let a = &self.agents[slot as usize];
        let mut i = a.sched.partition_point(|&(s, _)| s <= from);
        let mut t = from;
        let mut total = 0;
        while t < to {
            let act = if i == 0 { OFF } else { a.sched[i - 1].1 };
            let next = a.sched.get(i).map_or(Ms::MAX, |p| p.0).min(to);
            if act != OFF {
                total += next - t;
            }
            t = next;
            i += 1;
        }
        total
    }

    /// Agent `slot` was seen for the first time, at `t` (its log's first entry): no longer a
    /// no-show from `t` on ([`Roster::unseen_scheduled_ms`]).
    fn first_seen(&mut self, slot: u32, t: Ms) {
        if let Some(pos) = self.unseen_pos.get_mut(slot as usize)
            && *pos != u32::MAX
        {
            let p = std::mem::replace(pos, u32::MAX) as usize;
            self.unseen.swap_remove(p);
            if let Some(&(_, _, moved)) = self.unseen.get(p) {
                self.unseen_pos[moved as usize] = p as u32;
            }
        }
        let i = self.seen_recently.partition_point(|&(s, _)| s <= t);
        self.seen_recently.insert(i, (t, slot));
    }

    /// Whether agent `slot` has not been seen on the floor (no event yet).
    pub fn unseen(&self, slot: u32) -> bool {
        self.agents[slot as usize].log.is_empty()
    }

    /// The shift time in `[from, to)` of the scheduled agents not seen by `at` (no event
    /// stamped at or before it): the no-shows in team `unassigned` at `at` (SPEC §9.2).
    pub fn unseen_scheduled_ms(&self, from: Ms, to: Ms, at: Ms) -> Ms {
        let never = self
            .unseen
            .iter()
            .filter(|&&(lo, hi, _)| lo < to && from < hi)
            .map(|&(_, _, s)| self.scheduled_ms(s, from, to));
        let first = self.seen_recently.partition_point(|&(t, _)| t <= at);
        let later = self.seen_recently[first..].iter().map(|&(_, s)| self.scheduled_ms(s, from, to));
        never.chain(later).sum()
    }

    /// The scheduled activity at `t` (`off` when no shift covers it).
    pub fn activity_at(&self, slot: u32, t: Ms) -> u16 {
        let a = &self.agents[slot as usize];
        let i = a.sched.partition_point(|&(s, _)| s <= t);
        if i == 0 { OFF } else { a.sched[i - 1].1 }
    }

    /// Whether the agent is in adherence at `t` in state `kind` with `reason`.
    pub fn allows(&self, act: u16, kind: Kind, reason: Option<&str>) -> bool {
        let rid = reason.and_then(|r| self.name_ids.get(r).copied()).unwrap_or(OTHER);
        self.allowed(act, code(kind), rid)
    }

    /// Whether the agent's recorded state at `t` is aux of an unplanned reason that its
    /// scheduled activity at `t` allows (scheduled aux, planned: SPEC §9.2), and the start of
    /// its next schedule piece after `t` (`Ms::MAX`: none), where that may change without an
    /// event.
    pub fn scheduled_aux_at(&self, slot: u32, t: Ms) -> (bool, Ms) {
        let a = &self.agents[slot as usize];
        let si = a.sched.partition_point(|&(s, _)| s <= t);
        let next = a.sched.get(si).map_or(Ms::MAX, |p| p.0);
        let act = if si == 0 { OFF } else { a.sched[si - 1].1 };
        let li = log_index(&a.log, t);
        let (code, rid) = if li == 0 { (OFFLINE, OTHER) } else { unpack(a.log[li - 1]) };
        let yes = act != OFF && code == Kind::AuxUnplanned as u8 && self.allowed(act, code, rid);
        (yes, next)
    }

    /// The agent's scheduled aux in `[from, to)`: `sums(..).scheduled_aux`, from its spans
    /// of unplanned aux (`RAgent::aux`) and the schedule pieces under them only (the
    /// `aux_dispersion` rule asks for it for every member at every minute of peak time).
    pub fn scheduled_aux_ms(&self, slot: u32, from: Ms, to: Ms) -> Ms {
        let a = &self.agents[slot as usize];
        let mut total = 0;
        // Spans are disjoint and in order: their ends are too.
        let first = a.aux.partition_point(|s| s.1 <= from);
        for &(s, e, rid) in &a.aux[first..] {
            if s >= to {
                break;
            }
            self.allowed_aux_pieces(a, s.max(from), e.min(to), rid, |t, end| total += end - t);
        }
        debug_assert_eq!(
            total,
            self.scheduled_aux_ms_walk(slot, from, to),
            "scheduled aux of slot {slot} in [{from}, {to})"
        );
        debug_assert!(
            total == 0 || self.may_have_scheduled_aux(slot, from, to),
            "scheduled aux of slot {slot} in [{from}, {to}) outside its extent {:?}",
            self.sched_aux[slot as usize]
        );
        total
    }

    /// [`Roster::scheduled_aux_ms`] by walking the schedule pieces that allow some aux and
    /// the log within them: the reference its spans are checked against (debug builds).
    fn scheduled_aux_ms_walk(&self, slot: u32, from: Ms, to: Ms) -> Ms {
        let a = &self.agents[slot as usize];
        let aux_bit = 1u8 << code(Kind::AuxUnplanned);
        let mut i = a.sched.partition_point(|&(s, _)| s <= from);
        let mut t = from;
        let mut total = 0;
        while t < to {
            let act = if i == 0 { OFF } else { a.sched[i - 1].1 };
            let end = a.sched.get(i).map_or(Ms::MAX, |p| p.0).min(to);
            let al = &self.allow[act as usize];
            if act != OFF && (al.mask & aux_bit != 0 || !al.reasons.is_empty()) {
                let mut li = a.log.partition_point(|&e| start_of(e) <= t);
                let mut u = t;
                while u < end {
                    let (c, rid) = if li == 0 { (OFFLINE, OTHER) } else { unpack(a.log[li - 1]) };
                    let next = a.log.get(li).map_or(Ms::MAX, |&e| start_of(e)).min(end);
                    if c == Kind::AuxUnplanned as u8 && self.allowed(act, c, rid) {
                        total += next - u;
                    }
                    u = next;
                    li += 1;
                }
            }
            t = end;
            i += 1;
        }
        total
    }

    /// Where a `long_aux` stretch of an agent in unplanned aux with `reason` from `from` on
    /// starts (SPEC §9.2): the first instant it is unscheduled from which it stays so for
    /// `limit` (a scheduled piece inside breaks the stretch: planned aux is not unplanned);
    /// `None` if never. With it, where the schedule allows the aux again (`Ms::MAX`: never).
    pub fn long_aux_from(&self, slot: u32, from: Ms, reason: &str, limit: Ms) -> Option<(Ms, Ms)> {
        let a = &self.agents[slot as usize];
        let rid = self.name_ids.get(reason).copied().unwrap_or(OTHER);
        let ok = |act: u16| act != OFF && self.allowed(act, Kind::AuxUnplanned as u8, rid);
        let mut t = from;
        loop {
            let i = a.sched.partition_point(|&(s, _)| s <= t);
            let start = if i > 0 && ok(a.sched[i - 1].1) {
                a.sched[i..].iter().find(|&&(_, act)| !ok(act)).map(|&(s, _)| s)?
            } else {
                t
            };
            let j = a.sched.partition_point(|&(s, _)| s <= start);
            match a.sched[j..].iter().find(|&&(_, act)| ok(act)) {
                Some(&(s, _)) if s < start.saturating_add(limit) => t = s,
                next => return Some((start, next.map_or(Ms::MAX, |p| p.0))),
            }
        }
    }

    /// Where the run of unplanned aux with `reason` going on just before `t` began, the agent
    /// having been in aux with that reason since `from` (SPEC §9.2): where the last piece of
    /// its schedule before `t` that allows the aux ended, or `from`; `t` when the schedule
    /// allows it just before `t`.
    pub fn unplanned_run_start(&self, slot: u32, from: Ms, t: Ms, reason: &str) -> Ms {
        let a = &self.agents[slot as usize];
        let rid = self.name_ids.get(reason).copied().unwrap_or(OTHER);
        let ok = |act: u16| act != OFF && self.allowed(act, Kind::AuxUnplanned as u8, rid);
        // The piece holding the instant just before `t` is `sched[k - 1]` (`off` when none).
        let mut k = a.sched.partition_point(|&(s, _)| s < t);
        if k > 0 && ok(a.sched[k - 1].1) {
            return t;
        }
        while k > 1 && a.sched[k - 1].0 > from {
            if ok(a.sched[k - 2].1) {
                return a.sched[k - 1].0;
            }
            k -= 1;
        }
        from
    }

    /// The first instant at or after `from` at which the schedule allows unplanned aux with
    /// `reason` (`Ms::MAX`: never).
    pub fn aux_allowed_from(&self, slot: u32, from: Ms, reason: &str) -> Ms {
        let a = &self.agents[slot as usize];
        let rid = self.name_ids.get(reason).copied().unwrap_or(OTHER);
        let ok = |act: u16| act != OFF && self.allowed(act, Kind::AuxUnplanned as u8, rid);
        if ok(self.activity_at(slot, from)) {
            return from;
        }
        let i = a.sched.partition_point(|&(s, _)| s <= from);
        a.sched[i..].iter().find(|&&(_, act)| ok(act)).map_or(Ms::MAX, |&(s, _)| s)
    }

    /// The out-of-adherence stretches in `[settled, to)` given the one in progress at
    /// `settled`, as `(slot's settled, stretches)`.
    pub fn stretches(&self, slot: u32, to: Ms) -> (Ms, Vec<Stretch>) {
        let mut out = Vec::new();
        let settled = self.stretches_into(slot, to, &mut out);
        (settled, out)
    }

    /// [`Roster::stretches`] into `out` (cleared first), returning the slot's settled: the
    /// engine's re-derivation after each event reuses one buffer.
    pub fn stretches_into(&self, slot: u32, to: Ms, out: &mut Vec<Stretch>) -> Ms {
        let a = &self.agents[slot as usize];
        out.clear();
        let mut cur = a.out_since;
        if a.settled < to {
            self.walk(a, a.settled, to, |t0, _, act, code, rid| {
                let bad = act != OFF && !self.allowed(act, code, rid);
                match (cur, bad) {
                    (None, true) => cur = Some(t0),
                    (Some(s), false) => {
                        out.push((s, Some(t0)));
                        cur = None;
                    }
                    _ => {}
                }
            });
        }
        if let Some(s) = cur {
            out.push((s, None));
        }
        a.settled
    }

    /// A buffer for [`Roster::stretches_into`], to give back with `put_scratch`.
    pub fn take_scratch(&mut self) -> Vec<Stretch> {
        std::mem::take(&mut self.scratch)
    }

    pub fn put_scratch(&mut self, mut v: Vec<Stretch>) {
        // Kept small: an agent with many stretches in one walk is rare.
        if v.capacity() <= 64 {
            v.clear();
            self.scratch = v;
        }
    }

    /// The start of the out-of-adherence stretch still going at `to`, if one is: the last
    /// of [`Roster::stretches`] when it has no end, without collecting the others (a view
    /// asks this of every scheduled agent).
    pub fn open_stretch(&self, slot: u32, to: Ms) -> Option<Ms> {
        let a = &self.agents[slot as usize];
        let mut cur = a.out_since;
        if a.settled < to {
            self.walk(a, a.settled, to, |t0, _, act, code, rid| {
                let bad = act != OFF && !self.allowed(act, code, rid);
                match (cur, bad) {
                    (None, true) => cur = Some(t0),
                    (Some(_), false) => cur = None,
                    _ => {}
                }
            });
        }
        cur
    }

    /// Whether the agent's alerts stand as last derived when its stretches from its
    /// settled instant are the one open stretch from `start`: its one alert that a
    /// re-derivation may change is that stretch's, told firing (a stretch that ended
    /// may be open again: an event at the instant it ended replaced by another, SPEC
    /// §2.5), under a team other than `unsure`
    /// (the engine's `unassigned`: a no-show's alert leaves it when events stamped before
    /// its fire arrive late, and reads otherwise once the agent is seen),
    /// and its name and presence are as when it was told. The alert is then firing in the
    /// store as a full re-derivation would make it (the engine checks so in debug builds).
    pub fn firing_unchanged(&self, slot: u32, start: Ms, unsure: &str) -> bool {
        let a = &self.agents[slot as usize];
        a.live_firing && !a.who_changed && matches!(&a.live[..], [(s, _, team)] if *s == start && team != unsure)
    }

    /// Agent `slot` moved at `t` from team `from` to another: its alerts are derived again
    /// at the next advance, as their team may change (the one in force at their fire time).
    pub fn note_move(&mut self, slot: u32, t: Ms, from: &str) {
        self.moves.entry(slot).or_default().push((t, from.into()));
        self.who_changed(slot);
    }

    /// The team agent `slot` was in at `t` (after every event stamped `t`), being in
    /// `now_team` now: the team it left at its first move after `t`, or `now_team`. Before
    /// its first event the agent was a no-show, in team `unassigned` (SPEC §9.2), however
    /// soon after `t` it logged in (§9.3: "the agent's team at `fired_at`"). `None` when a
    /// move after `t`, or an event before it, may not be known (before a trim's cutoff, or
    /// before a restored state).
    pub fn team_at<'a>(&'a self, slot: u32, t: Ms, now_team: &'a str) -> Option<&'a str> {
        if t < self.moves_from {
            return None;
        }
        match self.agents[slot as usize].log.first() {
            None => return Some(crate::event::UNASSIGNED),
            // A log's first entry is the agent's first event unless a trim dropped entries
            // before it, which it does only to entries before one at or before its cutoff.
            Some(&e) if t < start_of(e) => return (start_of(e) > self.trimmed_at).then_some(crate::event::UNASSIGNED),
            Some(_) => {}
        }
        let moves = self.moves.get(&slot).map_or(&[][..], Vec::as_slice);
        Some(crate::floor::agents::team_at(moves, t, now_team))
    }

    /// Agent `slot`'s team moves after `t` (`(instant, the team it left)`, in time order).
    pub fn moves_since(&self, slot: u32, t: Ms) -> Vec<(Ms, CompactString)> {
        self.moves.get(&slot).map_or_else(Vec::new, |m| m.iter().filter(|x| x.0 > t).cloned().collect())
    }

    /// Moves made before `t` are not known (a restored state: see [`Roster::team_at`]).
    pub fn moves_known_from(&mut self, t: Ms) {
        self.moves_from = self.moves_from.max(t);
    }

    /// The agent's name or presence changed (see `RAgent::who_changed`): derived again at
    /// the next advance, as its alert's text may change.
    pub fn who_changed(&mut self, slot: u32) {
        self.agents[slot as usize].who_changed = true;
        self.mark(slot);
    }

    /// The store dropped agent `id`'s final `out_of_adherence` alert `alert` (resolved
    /// longer ago than resolved alerts are kept): its entry in `done` goes too. A
    /// re-derivation that an upload reaching back starts drops an entry whose alert is no
    /// longer stored, so this changes nothing but the memory: `done` was otherwise bounded
    /// only by its 256 entries an agent, weeks of alerts on a floor that runs for months.
    pub fn forget_done(&mut self, id: &str, alert: &str) {
        let Some(slot) = self.slot(id) else { return };
        let done = &mut self.agents[slot as usize].done;
        if let Some(p) = done.iter().position(|d| d.1 == alert) {
            done.remove(p);
        }
    }

    /// How many final `out_of_adherence` alerts the roster keeps for agent `slot` (tests).
    pub fn done_len(&self, slot: u32) -> usize {
        self.agents[slot as usize].done.len()
    }

    /// The agent's stored `out_of_adherence` alerts (started_at, id, team).
    pub fn live_is_empty(&self, slot: u32) -> bool {
        self.agents[slot as usize].live.is_empty()
    }

    /// A copy of the agent's live alerts (debug checks).
    pub fn live_copy(&self, slot: u32) -> Vec<(Ms, String, String)> {
        self.agents[slot as usize].live.clone()
    }

    pub fn take_live(&mut self, slot: u32) -> Vec<(Ms, String, String)> {
        std::mem::take(&mut self.agents[slot as usize].live)
    }

    /// After a re-derivation at `now`: the alerts now stored, the instant up to which the
    /// agent's history is final (`settle`), and when to look again without an event.
    pub fn derived(
        &mut self,
        slot: u32,
        live: Vec<(Ms, String, String)>,
        done: Vec<(Ms, String, String)>,
        settle: Ms,
        stretches: &[Stretch],
        now: Ms,
    ) {
        let thr = self.settings.threshold_ms;
        if !self.uploaded.is_empty() {
            self.uploaded.remove(&slot);
        }
        let next_piece = {
            let a = &self.agents[slot as usize];
            let i = a.sched.partition_point(|&(s, _)| s <= now);
            a.sched.get(i).map_or(Ms::MAX, |p| p.0)
        };
        let a = &mut self.agents[slot as usize];
        // The derivation told the alert of each open stretch firing, the others resolved.
        a.live_firing = matches!(&live[..], [(s, _, _)] if stretches.iter().any(|&(st, e)| st == *s && e.is_none()));
        a.live = live;
        // Derived in full now (or with nothing live, which a later alert is made afresh).
        a.who_changed = false;
        a.done.extend(done);
        if a.done.len() > 256 {
            a.done.drain(..a.done.len() - 256);
        }
        if settle > a.settled {
            a.out_since = stretches.iter().find(|(s, e)| *s <= settle && e.is_none_or(|e| e > settle)).map(|s| s.0);
            a.settled = settle;
        }
        let pending_fire = stretches.iter().filter(|(_, e)| e.is_none()).map(|(s, _)| s + thr).find(|&f| f > now);
        let due = next_piece.min(pending_fire.unwrap_or(Ms::MAX));
        if due != Ms::MAX && a.due != Ms::MIN {
            a.due = due;
            if a.queued != due {
                a.queued = due;
                self.due.insert(due, slot);
            }
        }
    }

    /// The reasons of the agent's stay in unplanned aux going on, `(from, reason)` in time
    /// order (None: not in unplanned aux, or with a reason kept as "another").
    pub fn unplanned_stay_going_on(&self, slot: u32) -> Option<Vec<(Ms, &str)>> {
        let aux = &self.agents[slot as usize].aux;
        if aux.last()?.1 != Ms::MAX {
            return None;
        }
        let mut i = aux.len() - 1;
        while i > 0 && aux[i - 1].1 == aux[i].0 {
            i -= 1;
        }
        let spans = &aux[i..];
        if spans.iter().any(|s| s.2 == OTHER) {
            return None;
        }
        Some(spans.iter().map(|s| (s.0, self.names[s.2 as usize].as_str())).collect())
    }

    /// The agent's stays in unplanned aux that are over and end after `after`: `(start,
    /// end, reasons)`, the reasons as `(from, reason)` in time order (a stay with a reason
    /// kept as "another" is not told).
    pub fn unplanned_stays_over(&self, slot: u32, after: Ms) -> Vec<UnplannedStay<'_>> {
        let aux = &self.agents[slot as usize].aux;
        let mut out = Vec::new();
        let mut i = aux.partition_point(|s| s.1 <= after);
        // From the start of the stay of the first span ending after `after`.
        while i > 0 && i < aux.len() && aux[i - 1].1 == aux[i].0 {
            i -= 1;
        }
        while i < aux.len() {
            let first = i;
            while i + 1 < aux.len() && aux[i].1 == aux[i + 1].0 {
                i += 1;
            }
            let spans = &aux[first..=i];
            i += 1;
            let end = spans[spans.len() - 1].1;
            if end == Ms::MAX || end <= after || spans.iter().any(|s| s.2 == OTHER) {
                continue;
            }
            let reasons = spans.iter().map(|s| (s.0, self.names[s.2 as usize].as_str())).collect();
            out.push(UnplannedStay { start: spans[0].0, end, reasons });
        }
        out
    }

    /// The time of the agent's last recorded state (its history before is final).
    pub fn last_change(&self, slot: u32) -> Option<Ms> {
        self.agents[slot as usize].log.last().map(|&e| start_of(e))
    }

    /// The agents a [`Roster::trim`] to `cutoff` would drop log entries of whose history is
    /// settled before it (a re-derivation walks from there; none when the trim would
    /// change nothing).
    pub fn settled_before(&self, cutoff: Ms) -> Vec<u32> {
        if self.trim_changes_nothing(cutoff) {
            return Vec::new();
        }
        (0..self.agents.len() as u32).filter(|&s| self.agents[s as usize].settled < cutoff).collect()
    }

    /// Whether a trim to `cutoff` would change nothing: one to the same cutoff (or an
    /// earlier one) with nothing added before it since.
    fn trim_changes_nothing(&self, cutoff: Ms) -> bool {
        cutoff <= self.trimmed_at && self.added_since_trim > cutoff
    }

    /// Drops state history and rows no window needs (before `cutoff`).
    pub fn trim(&mut self, cutoff: Ms) {
        // No minute is evaluated again this far back (the backfill limit is within it).
        self.seen_recently.retain(|&(t, _)| t > cutoff);
        if !self.moves.is_empty() && cutoff > self.moves_from {
            self.moves.retain(|_, m| {
                m.retain(|&(t, _)| t > cutoff);
                !m.is_empty()
            });
            self.moves_from = cutoff;
        }
        if self.trim_changes_nothing(cutoff) {
            // Every log holds at most one entry at or before the cutoff and every row ends
            // after it (the last trim left them so, and nothing was added before it since).
            debug_assert!(
                self.agents.iter().all(|a| a.log.partition_point(|&e| start_of(e) <= cutoff) <= 1
                    && a.rows.iter().all(|k| k.end >= cutoff))
            );
            return;
        }
        self.trimmed_at = self.trimmed_at.max(cutoff);
        self.added_since_trim = Ms::MAX;
        let mut rows_dropped = false;
        for (a, x) in self.agents.iter_mut().zip(&mut self.sched_aux) {
            let keep_from = a.log.partition_point(|&e| start_of(e) <= cutoff).saturating_sub(1);
            if keep_from > 0 {
                a.log.drain(..keep_from);
                // The spans of the entries dropped (they end by the first one kept).
                let first = start_of(a.log[0]);
                let n = a.aux.partition_point(|s| s.0 < first);
                if n > 0 {
                    a.aux.drain(..n);
                    x.generation = next_generation();
                }
                debug_assert_eq!(a.aux, aux_spans(&a.log), "aux spans of {} after a trim", a.id);
            }
            // Rows that scheduled something, dropped (not an earlier trim's stand-in, below).
            let dropped = a.rows.iter().any(|k| k.end < cutoff && k.start < k.end);
            let last = a.rows.iter().max_by_key(|k| (k.end, k.order)).copied();
            a.rows.retain(|k| k.end >= cutoff);
            // An agent whose rows all end before the cutoff keeps one, cut to nothing at
            // it: a zero-length shift, which schedules no instant. It stays an agent with
            // a roster (`staffed_s` = `scheduled_s`, SPEC §9.2) and, never seen, a listed
            // no-show, as it was before the trim: what the views show must not depend on
            // when housekeeping ran. Its day stays the row's, so an upload that replaces
            // that day replaces it.
            if a.rows.is_empty()
                && let Some(k) = last
            {
                a.rows.push(Kept { start: cutoff, end: cutoff, act: SHIFT, ..k });
            }
            if dropped {
                a.sched = flatten(&a.rows);
                a.sched_gen += 1;
                x.generation = next_generation();
                rows_dropped = true;
            }
        }
        if rows_dropped {
            self.generation = next_generation();
        }
    }

    pub fn store(&self) -> Stored {
        Stored {
            names: self.names.clone(),
            agents: self.agents.clone(),
            next_order: self.next_order,
            file_days: self.stored_file_days(),
        }
    }

    pub fn restore(settings: AdherenceSettings, s: Stored) -> Roster {
        let mut r = Roster::new(settings);
        // The stored names keep their ids (the logs and rows refer to them).
        r.names = s.names;
        r.name_ids = r.names.iter().enumerate().map(|(i, n)| (n.clone(), i as u16)).collect();
        r.allow = vec![Allow::default(); r.names.len()];
        let extra: Vec<String> = r
            .settings
            .allowed
            .iter()
            .flat_map(|(k, v)| std::iter::once(k.clone()).chain(v.reasons.iter().cloned()))
            .collect();
        for n in extra {
            r.intern(&n);
        }
        r.resolve_rules();
        r.next_order = s.next_order;
        r.agents = s.agents;
        r.file_days = s.file_days.into_iter().map(|(slot, day, d)| ((slot, day), d)).collect();
        r.due_now_sorted = false;
        for (i, a) in r.agents.iter_mut().enumerate() {
            a.sched = flatten(&a.rows);
            a.aux = aux_spans(&a.log);
            r.index.insert(a.id.clone(), i as u32);
            a.due = Ms::MIN;
            a.queued = Ms::MAX;
            r.due_now.push(i as u32);
        }
        r.sched_aux = (0..r.agents.len() as u32).map(|slot| AuxExtent::new(r.extent_of(slot))).collect();
        r.unseen_pos = vec![u32::MAX; r.agents.len()];
        for (i, a) in r.agents.iter().enumerate() {
            match a.log.first() {
                Some(&e) => r.seen_recently.push((start_of(e), i as u32)),
                None => {
                    r.unseen_pos[i] = r.unseen.len() as u32;
                    let (lo, hi) = sched_extent(&a.sched);
                    r.unseen.push((lo, hi, i as u32));
                }
            }
        }
        r.seen_recently.sort_unstable();
        r
    }

    pub fn heap_bytes(&self) -> usize {
        self.agents
            .iter()
            .map(|a| {
                a.rows.capacity() * 40 + a.sched.capacity() * 16 + a.log.capacity() * 8 + a.aux.capacity() * 24 + 96
            })
            .sum::<usize>()
            + self.unseen.capacity() * 24
            + self.unseen_pos.capacity() * 4
            + self.seen_recently.capacity() * 16
    }
}

/// An interval holding every scheduled instant of a flattened schedule (`NO_EXTENT`: none):
/// from its first piece to the start of its last, or on, if the last is not `off`.
fn sched_extent(sched: &[(Ms, u16)]) -> (Ms, Ms) {
    match (sched.first(), sched.last()) {
        (Some(&(lo, _)), Some(&(last, act))) => (lo, if act == OFF { last } else { Ms::MAX }),
        _ => NO_EXTENT,
    }
}

/// The start of the shift of `sched` (its pieces) in force at `t`, or `t` when the agent is
/// off then: either way the agent is off just before it.
fn shift_start(sched: &[(Ms, u16)], t: Ms) -> Ms {
    let i = sched.partition_point(|p| p.0 <= t);
    if i == 0 || sched[i - 1].1 == OFF {
        return t;
    }
    let j = sched[..i].iter().rposition(|p| p.1 == OFF).map_or(0, |k| k + 1);
    sched[j].0
}

/// `sched`'s pieces from `t` on, the one in force at `t` starting there, with no piece of no
/// length and no two in a row of one activity: two schedules alike from `t` on give the
/// same list.
fn pieces_from(sched: &[(Ms, u16)], t: Ms) -> Vec<(Ms, u16)> {
    let i = sched.partition_point(|p| p.0 <= t);
    let mut out = vec![(t, if i == 0 { OFF } else { sched[i - 1].1 })];
    for &(start, act) in &sched[i..] {
        match out.last_mut() {
            Some(last) if last.0 == start => last.1 = act,
            _ => out.push((start, act)),
        }
    }
    out.dedup_by(|later, earlier| later.1 == earlier.1);
    out
}

/// The first instant at which two flattened schedules name different activities
/// (`Ms::MAX`: they never do).
fn first_difference(old: &[(Ms, u16)], new: &[(Ms, u16)]) -> Ms {
    match old.iter().zip(new).position(|(a, b)| a != b) {
        Some(i) => old[i].0.min(new[i].0),
        None if old.len() == new.len() => Ms::MAX,
        None => old.get(new.len()).or(new.get(old.len())).map_or(Ms::MAX, |p| p.0),
    }
}

/// Shifts `[start, end)` as the schedule has them: sorted, those that overlap or touch
/// merged into one (SPEC §9.1).
pub(crate) fn merge_shifts(mut shifts: Vec<(Ms, Ms)>) -> Vec<(Ms, Ms)> {
    shifts.sort_unstable();
    let mut merged: Vec<(Ms, Ms)> = Vec::with_capacity(shifts.len());
    for (s, e) in shifts {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// SPEC §9.1's resolution: shifts that overlap or touch merge; inside a shift the activity
/// starting last covers (a tie: the one listed later); elsewhere in a shift `work`;
/// outside every shift `off`. Pieces `(start, activity)`, each to the next.
fn flatten(rows: &[Kept]) -> Vec<(Ms, u16)> {
    flatten_with(rows, &shifts_of(rows))
}

/// An agent's shifts, merged ([`merge_shifts`]).
fn shifts_of(rows: &[Kept]) -> Vec<(Ms, Ms)> {
    merge_shifts(rows.iter().filter(|r| r.act == SHIFT).map(|r| (r.start, r.end)).collect())
}

/// [`flatten`] given the rows' merged shifts.
fn flatten_with(rows: &[Kept], merged: &[(Ms, Ms)]) -> Vec<(Ms, u16)> {
    // Boundaries: (time, +1 start / -1 end, key) for activities; shifts by pointer.
    let mut edges: Vec<(Ms, bool, (Ms, u64, u16))> = Vec::new();
    for r in rows.iter().filter(|r| r.act != SHIFT) {
        let key = (r.start, r.order, r.act);
        edges.push((r.start, true, key));
        edges.push((r.end, false, key));
    }
    let mut times: Vec<Ms> = edges.iter().map(|e| e.0).chain(merged.iter().flat_map(|&(s, e)| [s, e])).collect();
    times.sort_unstable();
    times.dedup();
    edges.sort_unstable_by_key(|e| e.0);
    let mut active: BTreeSet<(Ms, u64, u16)> = BTreeSet::new();
    let mut out: Vec<(Ms, u16)> = Vec::new();
    let (mut ei, mut si) = (0, 0);
    for t in times {
        while ei < edges.len() && edges[ei].0 == t {
            let (_, start, key) = edges[ei];
            if start {
                active.insert(key);
            } else {
                active.remove(&key);
            }
            ei += 1;
        }
        while si < merged.len() && merged[si].1 <= t {
            si += 1;
        }
        let in_shift = si < merged.len() && merged[si].0 <= t;
        let v = if !in_shift { OFF } else { active.last().map_or(WORK, |k| k.2) };
        let prev = out.last().map_or(OFF, |p| p.1);
        if v != prev {
            out.push((t, v));
        }
    }
    out
}

/// Reads and parses a roster file of at most `max_bytes`; the message names the file and
/// the line.
pub fn read_file(path: &std::path::Path, max_bytes: usize, tz: &jiff::tz::TimeZone) -> Result<parse::Upload, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if meta.len() > max_bytes as u64 {
        return Err(format!("{} is {} bytes, more than roster.max_bytes ({max_bytes})", path.display(), meta.len()));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let why = parse::not_utf8(e.as_bytes(), e.utf8_error().valid_up_to());
        format!("{}: {why}; nothing of it was applied", path.display())
    })?;
    parse::parse(&text, tz).map_err(|e| format!("{}: {e}; nothing of it was applied", path.display()))
}

impl Roster {
    /// The id of agent `slot`.
    pub fn scheduled_id(&self, slot: u32) -> &str {
        &self.agents[slot as usize].id
    }
}
