//! Queues and service level (SPEC §8): which calls wait where, the calls that ended (kept
//! as long as a window, `today` or a re-evaluation needs them), the window figures, and
//! the two queue alerts.
//!
//! Pure like `floor` and `detect`: time is passed in, nothing here does I/O or fails.
//!
//! The alerts are *derived* from each queue's own call history rather than stepped by a
//! change log: `long_wait` is the union of the calls' `[queued + limit, end)` intervals,
//! so its stretches over any span can be recomputed from the calls that reach it; the
//! `service_level_low` streak keeps its state after every evaluated minute (as long as a
//! late event may reach back), so a late call re-runs the minutes from the one it
//! changes. Either way the engine gets the alerts as they are with every event in place
//! and corrects its store to them (`engine::alerts`), which makes the queue alerts exact
//! under late delivery whatever the batching (ARCHITECTURE.md).

mod alerts;
mod figures;

use std::collections::{BTreeSet, HashMap, VecDeque};

use compact_str::CompactString;

use crate::detect::hold::Streak;
use crate::event::{CallEvent, CallKind, Refusal};
use crate::settings::QueueSettings;
use crate::time::{Ms, fmt_ms};

pub use alerts::{Derived, fmt_wait};
pub use figures::{CallSums, Ending, QueueFigures};

/// Upper bounds (seconds) of the wait histogram besides `sl_secs` and `short_abandon_secs`.
const WAIT_BUCKETS_S: [u64; 14] = [1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600];

/// Where a call is, as far as its outcomes need (SPEC §8.1).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
enum CallState {
    Waiting {
        queue: u32,
        since: Ms,
    },
    /// Ended (possibly to be queued again, a transfer); a `queued` before `last` is late.
    /// Forgotten once `last` is older than the backfill limit: such a `queued` is
    /// `too_old` anyway.
    Ended {
        last: Ms,
    },
}

/// A call that stopped waiting: 16 bytes, a day of a large floor's calls is millions.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Ended {
    end: Ms,
    /// Milliseconds (a wait over 49 days is counted as 49 days).
    wait_ms: u32,
    ending: Ending,
}

impl Ended {
    fn new(end: Ms, wait: Ms, ending: Ending) -> Ended {
        Ended { end, wait_ms: wait.clamp(0, u32::MAX as Ms) as u32, ending }
    }

    fn wait(&self) -> Ms {
        self.wait_ms as Ms
    }

    fn since(&self) -> Ms {
        self.end - self.wait()
    }

    fn sums(&self, s: &QueueSettings) -> CallSums {
        CallSums::one(self.ending, self.wait(), s)
    }
}

/// How far [`Queue::start_index`] steps from its hint before it searches instead.
const HINT_STEPS: usize = 64;

/// Ended calls per prefix-sum mark (`Queue::marks`): a window's sums cost two searches and
/// at most 2 × 15 additions, and the marks 3 bytes a call.
const MARK: usize = 16;

/// The Prometheus side of a queue: counters of ended calls and their waits.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct WaitTotals {
    /// Bucket upper bounds, ms, ascending (the configuration's at the time; a restore under
    /// other thresholds starts the histogram afresh).
    pub bounds_ms: Vec<Ms>,
    /// Per [`Ending`]: calls per bucket (not cumulative; the last is +Inf), total wait.
    pub buckets: [Vec<u64>; 3],
    pub sum_ms: [i64; 3],
    pub count: [u64; 3],
}

impl WaitTotals {
    fn new(s: &QueueSettings) -> WaitTotals {
        let mut b: Vec<Ms> = WAIT_BUCKETS_S.iter().map(|&x| x as Ms * 1000).collect();
        b.push(s.sl_ms);
        b.push(s.short_abandon_ms);
        b.sort_unstable();
        b.dedup();
        let n = b.len() + 1;
        WaitTotals { bounds_ms: b, buckets: [vec![0; n], vec![0; n], vec![0; n]], sum_ms: [0; 3], count: [0; 3] }
    }

    fn record(&mut self, ending: Ending, wait: Ms) {
        let k = ending as usize;
        let i = self.bounds_ms.partition_point(|&b| b < wait);
        self.buckets[k][i] += 1;
        self.sum_ms[k] += wait;
        self.count[k] += 1;
    }
}

/// The state of the `service_level_low` streak after a minute.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct SlState {
    streak: Streak,
    /// The alert firing after this minute: (started_at, fired_at, level at fired_at).
    firing: Option<(Ms, Ms, f64)>,
}

/// One queue.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Queue {
    pub id: String,
    /// Calls waiting: (queued at, call).
    waiting: BTreeSet<(Ms, CompactString)>,
    /// Ended calls in order of their end (ties in arrival order).
    ended: VecDeque<Ended>,
    /// `marks[j]`: the sums of the calls before `ended[MARK * j]`, those trimmed away
    /// included (`marks[0]` is theirs); one more than `ended.len() / MARK`. Derived.
    #[serde(skip)]
    marks: VecDeque<CallSums>,
    /// The ended calls that waited longer than the `long_wait` limit, as (end, queued), in
    /// order of their end: the only ones whose `[queued + limit, end)` is not empty, so
    /// `long_wait` walks these rather than every call (a busy queue ends thousands of calls
    /// in the seconds an advance looks back over). Derived.
    #[serde(skip)]
    long: VecDeque<(Ms, Ms)>,
    /// Per window of [`Queues::figures`] (in its order): where in `ended` that window's
    /// start fell at the last view. The next view's start is a few calls further on, so
    /// it is found by checking and stepping from here instead of a binary search (a cache
    /// miss or two per probe, 500 queues × 3 windows per view). A hint only: every use
    /// checks it against `ended` and falls back to the search. Derived.
    #[serde(skip)]
    hints: Vec<usize>,
    pub totals: WaitTotals,
    /// Alert bookkeeping: everything before `clock` is committed.
    clock: Ms,
    /// The earliest instant a change since the last advance reaches (a re-evaluation).
    dirty: Option<Ms>,
    /// `service_level_low`: the state after each evaluated minute, oldest first (kept while
    /// a late call may reach back), and the state before the first of them.
    sl_hist: VecDeque<(Ms, SlState)>,
    sl_base: SlState,
    /// Per [`crate::alert::AlertKind::QUEUE`] kind: alerts firing, fired, retracted
    /// (Prometheus). Derived: recounted from the store on restore.
    #[serde(skip)]
    pub alerts_firing: [u32; 2],
    #[serde(skip)]
    pub alerts_fired: [u64; 2],
    #[serde(skip)]
    pub alerts_retracted: [u64; 2],
    /// The latest `ts` of a call event applied to this queue (`Ms::MAX`: not known, after
    /// a restore). An idle queue is forgotten only once this is older than
    /// `floor.forget_offline_after_secs` ([`Queues::trim`]). Derived: not stored (the
    /// journal's layout stays).
    #[serde(skip, default = "unknown")]
    last_active: Ms,
}

fn unknown() -> Ms {
    Ms::MAX
}

/// How many idle queues [`Queues::trim`] keeps at most before their time (the least
/// recently active go first): a feed naming a new queue on every call must not grow memory
/// without bound. A floor has tens or hundreds of queues.
pub const MAX_IDLE_QUEUES: usize = 2_000;

/// How many queues are known at once, quiet or not: a `queued` naming another is refused
/// (`too_large`). A queue that had a call today is not quiet until its figures of the day
/// are done with, so the idle cap alone let a feed naming a new queue per call grow the
/// day's queues without bound (60,000 queues: 3.7 M Prometheus series, 31 MB a second to
/// each wallboard; the memory audit). A floor has tens or hundreds of queues.
pub const MAX_QUEUES: usize = 5_000;

/// Every queue of the floor and the calls they know.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Queues {
    queues: Vec<Queue>,
    #[serde(skip)]
    index: HashMap<String, u32>,
    calls: HashMap<CompactString, CallState>,
    /// Ended calls' ids by their last event, oldest first, so that forgetting them costs
    /// what is forgotten, not a walk over every call known. Entries may be stale (the
    /// call was queued again); checked on pop.
    ended_ids: VecDeque<(Ms, CompactString)>,
    waiting_total: usize,
    /// `queued` events refused because `limits.max_waiting_calls` calls were waiting.
    pub refused_full: u64,
}

/// What became of a call event (the engine counts it).
pub type CallOutcome = Result<(), (Refusal, String)>;

fn short(ms: Ms) -> String {
    let s = fmt_ms(ms);
    s.strip_suffix(".000Z").map(|w| format!("{w}Z")).unwrap_or(s)
}

/// Where an entry ending at `t` goes in `d`, kept in order of `end`: after every entry
/// ending at or before `t`. The usual end is the latest, found at the back without a binary
/// search of a deque that is mostly out of the cache (its probes were 5% of a replay of the
/// simulated morning, BENCHMARKS.md session 18).
fn place_by_end<T>(d: &VecDeque<T>, end: impl Fn(&T) -> Ms, t: Ms) -> usize {
    match d.back() {
        Some(x) if end(x) > t => d.partition_point(|x| end(x) <= t),
        _ => d.len(),
    }
}

impl Queue {
    fn new(id: &str, at: Ms, s: &QueueSettings) -> Queue {
        let fresh = SlState { streak: Streak::new(s.sl_consecutive), firing: None };
        Queue {
            id: id.to_string(),
            waiting: BTreeSet::new(),
            ended: VecDeque::new(),
            marks: VecDeque::from([CallSums::default()]),
            long: VecDeque::new(),
            hints: Vec::new(),
            totals: WaitTotals::new(s),
            clock: at,
            dirty: None,
            sl_hist: VecDeque::new(),
            sl_base: fresh,
            alerts_firing: [0; 2],
            alerts_fired: [0; 2],
            alerts_retracted: [0; 2],
            last_active: at,
        }
    }

    fn mark(&mut self, t: Ms) {
        self.dirty = Some(self.dirty.map_or(t, |d| d.min(t)));
    }

    /// Records an ended call, keeping `ended` in end order and `marks` its prefix sums
    /// (a late end recomputes the marks after it; the usual end, the latest, at most one).
    fn push_ended(&mut self, e: Ended, s: &QueueSettings) {
        let i = place_by_end(&self.ended, |x| x.end, e.end);
        self.ended.insert(i, e);
        self.remark(i / MARK + 1, s);
        if e.wait() > s.long_wait_ms {
            let j = place_by_end(&self.long, |x| x.0, e.end);
            self.long.insert(j, (e.end, e.since()));
        }
    }

    /// Recomputes `marks[from..]` from `marks[from - 1]` (`from` ≥ 1).
    fn remark(&mut self, from: usize, s: &QueueSettings) {
        let want = self.ended.len() / MARK + 1;
        self.marks.truncate(want);
        for j in from.max(1)..want {
            let mut acc = self.marks[j - 1];
            for e in self.ended.range(MARK * (j - 1)..MARK * j) {
                acc.add(&e.sums(s));
            }
            match self.marks.get_mut(j) {
                Some(m) => *m = acc,
                None => self.marks.push_back(acc),
            }
        }
    }

    /// Prefix sums before index `i` (of every call before it, trimmed ones included).
    fn before(&self, i: usize, s: &QueueSettings) -> CallSums {
        let j = i / MARK;
        let mut acc = self.marks[j];
        for e in self.ended.range(MARK * j..i) {
            acc.add(&e.sums(s));
        }
        acc
    }

    /// Sums of the calls that ended in `[from, to]`, as `s` classifies them.
    pub fn sums(&self, from: Ms, to: Ms, s: &QueueSettings) -> CallSums {
        let i = self.ended.partition_point(|x| x.end < from);
        self.sums_from(i, to, s)
    }

    /// [`Queue::sums`] with the start looked for from `hint` first (`hint` is moved to
    /// where it was found): the same sums.
    fn sums_hinted(&self, hint: &mut usize, from: Ms, to: Ms, s: &QueueSettings) -> CallSums {
        *hint = self.start_index(*hint, from);
        self.sums_from(*hint, to, s)
    }

    /// Sums of the calls from `ended[i]` (the first that ended at or after the window's
    /// start) that ended by `to`.
    fn sums_from(&self, i: usize, to: Ms, s: &QueueSettings) -> CallSums {
        // Views end at now, after every call ended so far: no search then.
        let n = self.ended.len();
        let j = match self.ended.back() {
            Some(last) if last.end > to => self.ended.partition_point(|x| x.end <= to),
            _ => n,
        };
        if j <= i {
            return CallSums::default();
        }
        self.before(j, s).minus(&self.before(i, s))
    }

    /// `ended.partition_point(|x| x.end < from)`, found by stepping from `hint` when the
    /// answer is at most [`HINT_STEPS`] calls after it. Exact whatever the hint: `ended`
    /// is sorted by end, so an index `i` with every call before it ending before `from`
    /// and none from it on is the partition point; a hint that fails that check (calls
    /// trimmed from the front, an end inserted late, a view at an earlier instant) falls
    /// back to the binary search.
    fn start_index(&self, hint: usize, from: Ms) -> usize {
        let n = self.ended.len();
        let before = |i: usize| self.ended[i].end < from;
        let mut i = hint.min(n);
        if i == 0 || before(i - 1) {
            let stop = (i + HINT_STEPS).min(n);
            while i < stop && before(i) {
                i += 1;
            }
            if i == n || !before(i) {
                return i;
            }
        }
        self.ended.partition_point(|x| x.end < from)
    }

    /// Calls waiting at `now`, and since when the oldest of them waits. (Events stamped
    /// after `now`, which the wall clock's skew allowance lets in, are not there yet.)
    pub fn current(&self, now: Ms) -> (u64, Option<Ms>) {
        let mut n = self.waiting.range(..(now + 1, CompactString::default())).count() as u64;
        let mut oldest = self.waiting.first().map(|w| w.0).filter(|&t| t <= now);
        for e in self.ended.iter().rev().take_while(|e| e.end > now) {
            if e.since() <= now {
                n += 1;
                oldest = Some(oldest.map_or(e.since(), |o| o.min(e.since())));
            }
        }
        (n, oldest)
    }

    /// Drops ended calls before `cutoff` (up to 15 older ones may stay) and streak history
    /// before `cutoff`.
    fn trim(&mut self, cutoff: Ms, s: &QueueSettings) {
        // Whole marks at a time (the marks count from the front), or everything.
        if self.ended.back().is_some_and(|e| e.end < cutoff) {
            let all = self.marks[self.marks.len() - 1];
            let all = self.ended.range(MARK * (self.marks.len() - 1)..).fold(all, |mut acc, e| {
                acc.add(&e.sums(s));
                acc
            });
            self.ended.clear();
            self.marks = VecDeque::from([all]);
        }
        while self.ended.len() >= MARK && self.ended[MARK - 1].end < cutoff {
            self.ended.drain(..MARK);
            self.marks.pop_front();
        }
        while self.long.front().is_some_and(|l| l.0 < cutoff) {
            self.long.pop_front();
        }
        while self.sl_hist.len() > 1 && self.sl_hist[1].0 < cutoff {
            let (_, st) = self.sl_hist.pop_front().expect("two entries");
            self.sl_base = st;
        }
    }

    fn is_idle(&self) -> bool {
        self.waiting.is_empty()
            && self.ended.is_empty()
            && self.dirty.is_none()
            && self.sl_hist.back().map_or(&self.sl_base, |(_, s)| s).streak.idle()
            && self.alerts_firing == [0, 0]
    }
}

impl Queues {
    pub fn len(&self) -> usize {
        self.queues.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }

    pub fn waiting_total(&self) -> usize {
        self.waiting_total
    }

    /// Calls known (waiting, or ended within the backfill limit).
    pub fn calls_known(&self) -> usize {
        self.calls.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Queue> {
        self.queues.iter()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Queue> {
        self.queues.iter_mut()
    }

    pub fn get(&self, id: &str) -> Option<&Queue> {
        self.index.get(id).map(|&i| &self.queues[i as usize])
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Queue> {
        self.index.get(id).map(|&i| &mut self.queues[i as usize])
    }

    /// Applies a call event stamped `ts` (SPEC §8.1): duplicate, then late, then the
    /// waiting cap. `too_old`: `ts` is before the backfill limit.
    pub fn apply(&mut self, ev: &CallEvent, ts: Ms, too_old: bool, s: &QueueSettings) -> CallOutcome {
        let call = &ev.call;
        match ev.kind {
            CallKind::Queued => {
                match self.calls.get(call) {
                    Some(CallState::Waiting { queue, since }) => {
                        let q = &self.queues[*queue as usize].id;
                        let msg = format!("call {call:?} is already waiting in {q:?} since {}", short(*since));
                        return Err((Refusal::Repeated, msg));
                    }
                    Some(CallState::Ended { last }) if ts < *last => {
                        let msg =
                            format!("ts {} is before last applied ts {} of call {call:?}", short(ts), short(*last));
                        return Err((Refusal::OlderThanLast, msg));
                    }
                    _ => {}
                }
                if too_old {
                    return Err((Refusal::TooOld, String::new()));
                }
                if self.waiting_total >= s.max_waiting {
                    self.refused_full += 1;
                    let msg = format!("limits.max_waiting_calls ({}) calls are waiting", s.max_waiting);
                    return Err((Refusal::TooLarge, msg));
                }
                let name = ev.queue.as_deref().expect("decoding requires a queue on queued");
                let qi = match self.index.get(name) {
                    Some(&i) => i,
                    None if self.queues.len() >= MAX_QUEUES => {
                        let msg = format!(
                            "{MAX_QUEUES} queues are known: a new queue {:?} is not taken (a feed naming a new queue per call?)",
                            crate::event::prefix(name, 32)
                        );
                        return Err((Refusal::TooLarge, msg));
                    }
                    None => {
                        self.queues.push(Queue::new(name, ts, s));
                        let i = (self.queues.len() - 1) as u32;
                        self.index.insert(name.to_string(), i);
                        i
                    }
                };
                let q = &mut self.queues[qi as usize];
                q.last_active = q.last_active.max(ts);
                q.waiting.insert((ts, call.clone()));
                q.mark(ts.saturating_add(s.long_wait_ms));
                self.calls.insert(call.clone(), CallState::Waiting { queue: qi, since: ts });
                self.waiting_total += 1;
                Ok(())
            }
            kind => {
                let Some(&CallState::Waiting { queue, since }) = self.calls.get(call) else {
                    return Err((Refusal::Repeated, format!("call {call:?} is not waiting")));
                };
                if ts < since {
                    let msg = format!("ts {} is before call {call:?} was queued at {}", short(ts), short(since));
                    return Err((Refusal::OlderThanLast, msg));
                }
                if too_old {
                    return Err((Refusal::TooOld, String::new()));
                }
                let ending = match kind {
                    CallKind::Answered => Ending::Answered,
                    CallKind::Abandoned => Ending::Abandoned,
                    _ => Ending::Left,
                };
                let q = &mut self.queues[queue as usize];
                q.last_active = q.last_active.max(ts);
                q.waiting.remove(&(since, call.clone()));
                q.push_ended(Ended::new(ts, ts - since, ending), s);
                q.totals.record(ending, ts - since);
                // long_wait changes from `since + limit` (or not at all before it), the
                // service level from the minute of `ts`.
                q.mark(ts.min(since.saturating_add(s.long_wait_ms)));
                self.calls.insert(call.clone(), CallState::Ended { last: ts });
                self.ended_ids.push_back((ts, call.clone()));
                self.waiting_total -= 1;
                Ok(())
            }
        }
    }

    /// The figures of every queue at `now` (of those in `only`, when given), sorted by
    /// queue id, and the floor's sums over every queue. `windows`: the sliding windows'
    /// lengths and `today` (as `None`), in order.
    ///
    /// Cost: per queue, its waiting calls and per window a few checks from the last
    /// view's start ([`Queue::start_index`]) and at most 2 × 15 additions; only the queues
    /// listed are copied out. (A team's snapshot lists none but carries the floor's sums:
    /// computing and sorting all 500 queues' figures to add them up was 40% of it.)
    pub fn figures(
        &mut self,
        now: Ms,
        midnight: Ms,
        windows: &[Option<Ms>],
        s: &QueueSettings,
        only: Option<&[String]>,
    ) -> (Vec<(&str, QueueFigures)>, QueueFigures) {
        let mut floor = QueueFigures { windows: vec![CallSums::default(); windows.len()], ..Default::default() };
        let mut listed: Vec<(&str, QueueFigures)> = Vec::with_capacity(only.map_or(self.queues.len(), <[String]>::len));
        let mut f = QueueFigures { windows: vec![CallSums::default(); windows.len()], ..Default::default() };
        for q in self.queues.iter_mut() {
            (f.waiting, f.oldest_since) = q.current(now);
            let mut hints = std::mem::take(&mut q.hints);
            hints.resize(windows.len(), 0);
            for ((x, w), hint) in f.windows.iter_mut().zip(windows).zip(hints.iter_mut()) {
                let from = match w {
                    Some(l) => now - l,
                    None => midnight,
                };
                *x = q.sums_hinted(hint, from, now, s);
            }
            q.hints = hints;
            let q: &Queue = q;
            floor.add(&f);
            if only.is_none_or(|l| l.contains(&q.id)) {
                listed.push((q.id.as_str(), f.clone()));
            }
        }
        listed.sort_by(|a, b| a.0.cmp(b.0));
        (listed, floor)
    }

    /// Forgets what no window, `today` or re-evaluation needs: ended calls and streak
    /// history before `cutoff`, ended calls' ids older than `forget_before` (a `queued`
    /// for them would be `too_old`), and queues with nothing left whose last call event is
    /// before `idle_before` (a quiet queue stays listed, its figures 0 or null, until then:
    /// what a view lists must not depend on when housekeeping ran), or beyond
    /// [`MAX_IDLE_QUEUES`] idle ones. `now`: the engine's latest instant (a queue restored
    /// without its last activity counts as active then).
    pub fn trim(&mut self, cutoff: Ms, forget_before: Ms, idle_before: Ms, now: Ms, s: &QueueSettings) {
        for q in &mut self.queues {
            q.trim(cutoff, s);
        }
        // Late ends make the queue only roughly ordered: stop at the first entry still
        // needed (an older one behind it goes at a later trim).
        while let Some((last, call)) = self.ended_ids.front() {
            if *last >= forget_before {
                break;
            }
            if matches!(self.calls.get(call), Some(CallState::Ended { last: l }) if l == last) {
                self.calls.remove(call);
            }
            self.ended_ids.pop_front();
        }
        for q in &mut self.queues {
            if q.last_active == Ms::MAX {
                q.last_active = now;
            }
        }
        // Idle queues past the cap: the least recently active are forgotten first.
        let mut idle: Vec<Ms> = self.queues.iter().filter(|q| q.is_idle()).map(|q| q.last_active).collect();
        let mut before = idle_before;
        if idle.len() > MAX_IDLE_QUEUES {
            let k = idle.len() - MAX_IDLE_QUEUES;
            idle.select_nth_unstable(k);
            before = before.max(idle[k]);
        }
        let gone = |q: &Queue| q.is_idle() && q.last_active < before;
        if self.queues.iter().any(gone) {
            // Indices move: the waiting calls name their queue by index.
            let old: Vec<String> = self.queues.iter().map(|q| q.id.clone()).collect();
            self.queues.retain(|q| !gone(q));
            self.reindex();
            for c in self.calls.values_mut() {
                if let CallState::Waiting { queue, .. } = c {
                    *queue = self.index[&old[*queue as usize]];
                }
            }
        }
    }

    /// Rebuilds the derived parts (after a restore) under the settings in force.
    pub fn restore(&mut self, s: &QueueSettings) {
        self.reindex();
        for q in &mut self.queues {
            q.marks = VecDeque::from([CallSums::default()]);
            q.remark(1, s);
            q.long = q.ended.iter().filter(|e| e.wait() > s.long_wait_ms).map(|e| (e.end, e.since())).collect();
            if q.totals.bounds_ms != WaitTotals::new(s).bounds_ms {
                q.totals = WaitTotals::new(s);
            }
            q.sl_base.streak.set_need(s.sl_consecutive);
            for (_, st) in &mut q.sl_hist {
                st.streak.set_need(s.sl_consecutive);
            }
        }
    }

    fn reindex(&mut self) {
        self.index = self.queues.iter().enumerate().map(|(i, q)| (q.id.clone(), i as u32)).collect();
    }
}

#[cfg(test)]
mod tests;
