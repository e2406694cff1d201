//! One agent's timeline: the segments of constant kind, with running (prefix) sums of the
//! milliseconds per kind and of the completed contacts, so that the seconds or contacts in
//! any interval are two searches away — exact to the millisecond, never bucketed.
//!
//! The layout is compact because a large floor keeps ~200 segments a day for each of
//! 100,000 agents (BENCHMARKS.md, scale): a segment is one packed `i64` (8 bytes), and the
//! running sums are stored only at a checkpoint every [`CHECKPOINT`] segments (32 bytes,
//! 2 bytes a segment) and inline for the last segment. A query adds the few segments
//! after the checkpoint, or near the end takes them off the last segment's sums. Contacts
//! are not stored one by one: they start and complete at segment boundaries, so the sums
//! count them and a query replays the rule of SPEC §3.2 over the same few segments.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::time::Ms;

/// What the agent is doing, as far as the figures care. Aux splits by reason category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum Kind {
    Talking = 0,
    Acw = 1,
    AuxUnplanned = 2,
    AuxPlanned = 3,
    Idle = 4,
    Offline = 5,
}

/// Kinds whose running sum is stored; offline is derived (time is partitioned by kind).
const STORED: usize = 5;

/// Segments from one checkpoint to the next: a query steps over at most `CHECKPOINT - 1`.
const CHECKPOINT: usize = 16;

/// Milliseconds per kind, indexed by `Kind as usize`.
pub type Durations = [Ms; 6];

impl Kind {
    pub fn logged_in(self) -> bool {
        self != Kind::Offline
    }

    /// The kind whose `as u8` is `bits`. Only 0..=5 are ever packed; 6 and 7 read as offline
    /// so that no bit pattern panics.
    fn from_bits(bits: i64) -> Kind {
        match bits {
            0 => Kind::Talking,
            1 => Kind::Acw,
            2 => Kind::AuxUnplanned,
            3 => Kind::AuxPlanned,
            4 => Kind::Idle,
            _ => Kind::Offline,
        }
    }
}

/// Low bits of a packed segment that hold its kind.
const KIND_BITS: u32 = 3;

/// A segment packed as `start << 3 | kind`. The shift is arithmetic, so any start in
/// ±2^60 ms round-trips, negative ones included; the edge admits `0..=MAX_MS` (< 2^48).
#[derive(Clone, Copy, Serialize, Deserialize)]
struct Seg(i64);

impl Seg {
    fn new(start: Ms, kind: Kind) -> Seg {
        debug_assert!((-(1 << 60)..1 << 60).contains(&start), "start {start} does not pack");
        Seg((start << KIND_BITS) | kind as i64)
    }

    fn start(self) -> Ms {
        self.0 >> KIND_BITS
    }

    fn kind(self) -> Kind {
        Kind::from_bits(self.0 & ((1 << KIND_BITS) - 1))
    }

    /// Milliseconds from this segment's start to `end`, modulo 2^32 like the sums.
    fn span_to(self, end: Ms) -> u32 {
        (end - self.start()) as u32
    }
}

impl fmt::Debug for Seg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Seg").field(&self.start()).field(&self.kind()).finish()
    }
}

/// Running sums at a segment's start, relative to the first retained segment: what a
/// checkpoint holds, and what the timeline keeps inline for its last segment.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
struct Sums {
    /// Milliseconds per stored kind, modulo 2^32 (wrapping): a difference of two is exact
    /// for any interval shorter than 49 days, however long the history.
    ms: [u32; STORED],
    /// Contacts completed at the boundaries after the first retained segment's start, up
    /// to and including this start, and their handle time.
    contacts: u32,
    handle_ms: u64,
}

impl Sums {
    /// Steps over `seg`, which ends at `end`: the sums at the next segment's start.
    fn add_span(&mut self, seg: Seg, end: Ms) {
        let k = seg.kind() as usize;
        if k < STORED {
            self.ms[k] = self.ms[k].wrapping_add(seg.span_to(end));
        }
    }

    fn add_contact(&mut self, handle_ms: Ms) {
        self.contacts += 1;
        self.handle_ms += handle_ms as u64;
    }

    fn contact_sums(&self) -> ContactSums {
        ContactSums { n: self.contacts.into(), handle_ms: self.handle_ms }
    }

    /// These sums counted from `base`, the sums at an earlier start, instead.
    fn rebase(&mut self, base: &Sums) {
        for (m, b) in self.ms.iter_mut().zip(base.ms) {
            *m = m.wrapping_sub(b);
        }
        self.contacts -= base.contacts;
        self.handle_ms -= base.handle_ms;
    }
}

/// Contacts (SPEC §3.2): a contact starts on entering talking from any other state; it
/// completes on leaving talking for anything but ACW, or on leaving the ACW that directly
/// follows it. Steps `open`, the start of the contact in progress, over a change from
/// `prev` to `kind` at `t`, and returns the handle time of the contact it completes.
fn contact_step(open: &mut Option<Ms>, prev: Option<Kind>, t: Ms, kind: Kind) -> Option<Ms> {
    let continues = prev == Some(Kind::Talking) && kind == Kind::Acw;
    let completed = match *open {
        Some(start) if !continues => {
            *open = None;
            Some(t - start)
        }
        _ => None,
    };
    if kind == Kind::Talking {
        *open = Some(t);
    }
    completed
}

/// Milliseconds per kind (modulo 2^32) spent in `segs` but the last, each ending where
/// the next starts.
fn spans(segs: &[Seg]) -> [u32; 6] {
    let mut out = [0u32; 6];
    for w in segs.windows(2) {
        let k = w[0].kind() as usize;
        out[k] = out[k].wrapping_add(w[0].span_to(w[1].start()));
    }
    out
}

/// Contacts completed at the boundaries between `segs`, `open` being the contact in
/// progress during the first.
fn completed(segs: &[Seg], mut open: Option<Ms>) -> ContactSums {
    let mut out = ContactSums::default();
    for w in segs.windows(2) {
        if let Some(handle_ms) = contact_step(&mut open, Some(w[0].kind()), w[1].start(), w[1].kind()) {
            out.add(ContactSums { n: 1, handle_ms: handle_ms as u64 });
        }
    }
    out
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Timeline {
    segs: Vec<Seg>,
    /// `checkpoints[j]`: the sums at the start of `segs[j * CHECKPOINT]`.
    checkpoints: Vec<Sums>,
    /// The sums at the start of the last segment, and that segment: `change` appends from
    /// them without touching the tail of `segs` (a cache miss per event on a large floor),
    /// and queries at or after the last change need no search.
    end: Sums,
    last: Option<Seg>,
    /// Start of `segs[0]` (offline time and the search direction need it on every query).
    first: Ms,
    /// Start of the contact in progress (talking, or the ACW directly after it).
    open_contact: Option<Ms>,
    /// The contact in progress at `segs[0]`'s start when that segment is the ACW of a
    /// contact whose talking segment was trimmed away (a query needs the contact's start).
    open_at_first: Option<Ms>,
    /// How many times `trim` dropped history (renumbering the segments and rebasing the
    /// sums): a [`Mark`] taken before is void. Not persisted: marks live in memory only.
    #[serde(skip)]
    trims: u32,
}

/// Where a window's start fell in a timeline at a previous view, with the running sums
/// there: [`Timeline::window_marked`] moves it forward without searching the timeline.
///
/// A sliding window's start moves with `now`, a few seconds between two views, and usually
/// stays inside the same segment; a peak interval's start does not move at all. Finding
/// the start again costs a search through the middle of the agent's segments, a cache miss
/// or two per agent per window (most of a scrape of a large floor: BENCHMARKS.md, session
/// 7); moving the mark costs a few reads of the mark itself, which views keep side by
/// side. Valid while the timeline has not been trimmed and the start has not passed the
/// next segment's start; exact: the same integer sums, found another way.
#[derive(Clone, Copy, Debug)]
pub struct Mark {
    /// The window start this mark is at.
    from: Ms,
    /// Start of segment `i` (the first starting after `from`) when the mark was taken or
    /// last moved, `Ms::MAX` when there was none yet (then `i` was the length, and a
    /// segment `i` appended since is read).
    next: Ms,
    /// Stored-kind milliseconds up to `from` ([`Timeline::cum_at_upto`]).
    cum: [u32; STORED],
    /// Contacts completed at the boundaries before `from`.
    contacts: u32,
    handle_ms: u64,
    /// `segs_upto(from, true)`; `u32::MAX`: no mark.
    i: u32,
    trims: u32,
    /// The kind of segment `i - 1`, the one `from` is in (offline before the first: no
    /// stored kind grows).
    kind: Kind,
    /// No segment starts exactly at `from`: moving `from` forward inside segment `i - 1`
    /// crosses no boundary (one at `from` itself would complete its contacts before the
    /// new start, which the mark does not count).
    clean: bool,
}

impl Default for Mark {
    fn default() -> Mark {
        Mark {
            from: 0,
            next: Ms::MAX,
            cum: [0; STORED],
            contacts: 0,
            handle_ms: 0,
            i: u32::MAX,
            trims: 0,
            kind: Kind::Offline,
            clean: false,
        }
    }
}

/// Sums over a closed interval of contacts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ContactSums {
    pub n: u64,
    pub handle_ms: u64,
}

impl ContactSums {
    pub fn add(&mut self, o: ContactSums) {
        self.n += o.n;
        self.handle_ms += o.handle_ms;
    }

    /// `self` less `o`, a subset of it.
    fn minus(self, o: ContactSums) -> ContactSums {
        ContactSums { n: self.n - o.n, handle_ms: self.handle_ms - o.handle_ms }
    }
}

impl Timeline {
    pub fn new() -> Self {
        Timeline::default()
    }

    pub fn current(&self) -> Option<Kind> {
        self.last.map(Seg::kind)
    }

    /// The agent enters `kind` at `t` (t ≥ the previous change). Returns the handle time of
    /// the contact this change completes, if any.
    pub fn change(&mut self, t: Ms, kind: Kind) -> Option<Ms> {
        let prev = self.current();
        if prev == Some(kind) {
            return None;
        }
        match self.last {
            Some(last) => {
                debug_assert!(t >= last.start(), "change at {t} before the last one");
                self.end.add_span(last, t);
            }
            None => self.first = t,
        }
        let completed = contact_step(&mut self.open_contact, prev, t, kind);
        if let Some(handle_ms) = completed {
            self.end.add_contact(handle_ms);
        }
        if self.segs.len().is_multiple_of(CHECKPOINT) {
            self.checkpoints.push(self.end);
        }
        let seg = Seg::new(t, kind);
        self.segs.push(seg);
        self.last = Some(seg);
        completed
    }

    /// The start of the last stored segment (a read of the tail that `change` appends to).
    pub fn tail(&self) -> Ms {
        self.segs.last().map_or(0, |s| s.start())
    }

    /// Segment `i`, from the inline copy when it is the last.
    fn seg(&self, i: usize) -> Seg {
        match self.last {
            Some(last) if i + 1 == self.segs.len() => last,
            _ => self.segs[i],
        }
    }

    /// How many segments start at or before `x` (before `x` unless `inclusive`).
    fn segs_upto(&self, x: Ms, inclusive: bool) -> usize {
        let Some(last) = self.last else { return 0 };
        let starts_by = |s: &Seg| if inclusive { s.start() <= x } else { s.start() < x };
        if starts_by(&last) {
            return self.segs.len();
        }
        let near_end = x >= self.first / 2 + last.start() / 2;
        gallop_partition(&self.segs, near_end, starts_by)
    }

    /// The checkpoint at or before segment `i`, and the index of its segment.
    fn checkpoint_before(&self, i: usize) -> (usize, Sums) {
        let c = i - i % CHECKPOINT;
        (c, self.checkpoints[c / CHECKPOINT])
    }

    /// Whether fewer than [`CHECKPOINT`] segments follow segment `i`: sums there are
    /// found by stepping back from the inline end sums, without loading a checkpoint (a
    /// cache miss on a large floor), as for the start of a short sliding window.
    fn near_end(&self, i: usize) -> bool {
        self.segs.len() - 1 - i < CHECKPOINT
    }

    /// Stored-kind milliseconds (modulo 2^32) at the start of segment `i`: the end sums
    /// less the segments from `i` on, or the checkpoint's plus the segments before `i`.
    fn ms_at(&self, i: usize) -> [u32; STORED] {
        if self.near_end(i) {
            let after = spans(&self.segs[i..]);
            std::array::from_fn(|k| self.end.ms[k].wrapping_sub(after[k]))
        } else {
            let (c, sums) = self.checkpoint_before(i);
            let before = spans(&self.segs[c..=i]);
            std::array::from_fn(|k| sums.ms[k].wrapping_add(before[k]))
        }
    }

    /// Contacts completed at the boundaries up to segment `i`'s start (found as `ms_at`).
    fn contacts_at(&self, i: usize) -> ContactSums {
        let end = self.end.contact_sums();
        if i + 1 == self.segs.len() {
            end
        } else if self.near_end(i) {
            end.minus(completed(&self.segs[i..], self.open_during(i)))
        } else {
            let (c, sums) = self.checkpoint_before(i);
            let mut out = sums.contact_sums();
            out.add(completed(&self.segs[c..=i], self.open_during(c)));
            out
        }
    }

    /// Start of the contact in progress during segment `i` (what `open_contact` was then).
    fn open_during(&self, i: usize) -> Option<Ms> {
        let seg = self.segs[i];
        match seg.kind() {
            Kind::Talking => Some(seg.start()),
            Kind::Acw if i == 0 => self.open_at_first,
            Kind::Acw => Some(self.segs[i - 1]).filter(|p| p.kind() == Kind::Talking).map(Seg::start),
            _ => None,
        }
    }

    /// Stored-kind milliseconds (modulo 2^32) up to instant `x` (zero before the first
    /// retained segment), `i` being `segs_upto(x, true)`.
    fn cum_at_upto(&self, i: usize, x: Ms) -> [u32; STORED] {
        if i == 0 {
            return [0; STORED];
        }
        let mut out = self.ms_at(i - 1);
        let seg = self.seg(i - 1);
        let k = seg.kind() as usize;
        if k < STORED {
            out[k] = out[k].wrapping_add(seg.span_to(x));
        }
        out
    }

    /// Milliseconds per kind in `[from, to)`. Offline is the rest of the interval from the
    /// first retained segment's start on: nothing is counted before it.
    pub fn durations(&self, from: Ms, to: Ms) -> Durations {
        let mut out = [0; 6];
        if to <= from || self.last.is_none() {
            return out;
        }
        // The sums are modulo 2^32 ms, so they are differenced over pieces shorter than
        // that (one piece for any window the configuration allows: at most 31 days).
        let mut a = from;
        while a < to {
            let b = to.min(a.saturating_add(u32::MAX.into()));
            self.add_piece(&mut out, (self.segs_upto(a, true), a), (self.segs_upto(b, true), b));
            a = b;
        }
        self.fill_offline(&mut out, from, to);
        out
    }

    /// Adds the stored-kind milliseconds from instant `a` to instant `b` (less than 2^32 ms
    /// later), each given with its `segs_upto(_, true)`.
    fn add_piece(&self, out: &mut Durations, (ia, a): (usize, Ms), (ib, b): (usize, Ms)) {
        for ((o, y), x) in out.iter_mut().zip(self.cum_at_upto(ib, b)).zip(self.cum_at_upto(ia, a)) {
            *o += Ms::from(y.wrapping_sub(x));
        }
    }

    /// Offline is the rest of `[from, to)` from the first retained segment's start on.
    fn fill_offline(&self, out: &mut Durations, from: Ms, to: Ms) {
        let from_first = |x: Ms| x.max(self.first);
        out[Kind::Offline as usize] = from_first(to) - from_first(from) - out[..STORED].iter().sum::<Ms>();
    }

    /// Contacts completed at the boundaries up to the start of the first `i` segments.
    fn contacts_upto(&self, i: usize) -> ContactSums {
        match i {
            0 => ContactSums::default(),
            i => self.contacts_at(i - 1),
        }
    }

    /// [`Timeline::durations`] and [`Timeline::contacts`] of one window together, each bound
    /// searched once for both (a view's sliding windows: the searches are most of a
    /// scrape of a large floor).
    pub fn window(&self, from: Ms, to: Ms, to_inclusive: bool) -> (Durations, ContactSums) {
        if to <= from || self.last.is_none() || to - from >= Ms::from(u32::MAX) {
            return (self.durations(from, to), self.contacts(from, to, to_inclusive));
        }
        let (i_from, i_to) = (self.segs_upto(from, true), self.segs_upto(to, true));
        let mut ms = [0; 6];
        self.add_piece(&mut ms, (i_from, from), (i_to, to));
        self.fill_offline(&mut ms, from, to);
        let c_to = self.contacts_upto(if to_inclusive { i_to } else { self.starting_before(i_to, to) });
        (ms, c_to.minus(self.contacts_upto(self.starting_before(i_from, from))))
    }

    /// Segments starting before `x`, given `i`, those starting at or before it: fewer by
    /// those that start exactly at `x` (several may: changes at one instant). A few are
    /// stepped over; past that (a flood at one instant) a search finds them.
    fn starting_before(&self, i: usize, x: Ms) -> usize {
        let mut j = i;
        while j > 0 && self.seg(j - 1).start() == x {
            if i - j == 8 {
                return self.segs_upto(x, false);
            }
            j -= 1;
        }
        j
    }

    /// [`Timeline::window`], its start found from `mark` (and the mark moved there) when
    /// the mark allows, and its end at or after the last change, where the timeline keeps
    /// the running sums inline: then no segment is searched. Any other window is summed as
    /// `window` does (and the mark is left alone).
    ///
    /// Inlined into the view's pass: returned through memory, its sums made the pass wait
    /// for every store before them (the marks' among them) to reach the cache — half of
    /// the pass's time at 100,000 agents (BENCHMARKS.md, session 10).
    #[inline(always)]
    pub fn window_marked(&self, mark: &mut Mark, from: Ms, to: Ms, to_inclusive: bool) -> (Durations, ContactSums) {
        let Some(last) = self.last else { return self.window(from, to, to_inclusive) };
        if to <= from || to < last.start() || (!to_inclusive && last.start() == to) || to - from >= Ms::from(u32::MAX) {
            return self.window(from, to, to_inclusive);
        }
        if !self.move_mark(mark, from) {
            *mark = self.mark(from);
        }
        // At `to`: the inline sums at the last segment's start and its span to `to`; the
        // contacts completed up to the last change (none completes after it).
        let mut cum_to = self.end.ms;
        let k = last.kind() as usize;
        if k < STORED {
            cum_to[k] = cum_to[k].wrapping_add(last.span_to(to));
        }
        let mut ms = [0; 6];
        for ((o, y), x) in ms.iter_mut().zip(cum_to).zip(mark.cum) {
            *o = Ms::from(y.wrapping_sub(x));
        }
        self.fill_offline(&mut ms, from, to);
        let before = ContactSums { n: mark.contacts.into(), handle_ms: mark.handle_ms };
        let out = (ms, self.end.contact_sums().minus(before));
        debug_assert_eq!(out, self.window(from, to, to_inclusive), "marked window [{from}, {to}] of {self:?}");
        out
    }

    /// A mark at `from`, found by searching (out of line: the marked window's rare path).
    #[inline(never)]
    fn mark(&self, from: Ms) -> Mark {
        let i = self.segs_upto(from, true);
        let c = self.contacts_upto(self.starting_before(i, from));
        Mark {
            from,
            next: if i < self.segs.len() { self.seg(i).start() } else { Ms::MAX },
            cum: self.cum_at_upto(i, from),
            contacts: c.n as u32,
            handle_ms: c.handle_ms,
            i: i as u32,
            trims: self.trims,
            kind: if i == 0 { Kind::Offline } else { self.seg(i - 1).kind() },
            clean: i == 0 || self.seg(i - 1).start() < from,
        }
    }

    /// Moves `mark` to `from` if it can be without a search: same history, `from` not
    /// before it, no segment starting up to `from` after the mark's segment, and (unless
    /// `from` is where the mark is) none starting at the mark. Reads at most segment `i`,
    /// when it was appended since the mark was taken (then usually the last, kept inline).
    #[inline]
    fn move_mark(&self, mark: &mut Mark, from: Ms) -> bool {
        if mark.i == u32::MAX || mark.trims != self.trims || from < mark.from {
            return false;
        }
        // A segment appended since may start at or before `from` (a change dated before
        // the window's start, after the agent's previous one): then the mark is behind.
        let i = mark.i as usize;
        if mark.next == Ms::MAX && i < self.segs.len() {
            mark.next = self.seg(i).start();
        }
        if from >= mark.next {
            return false;
        }
        if from == mark.from {
            return true;
        }
        if !mark.clean {
            return false;
        }
        let k = mark.kind as usize;
        if k < STORED {
            mark.cum[k] = mark.cum[k].wrapping_add((from - mark.from) as u32);
        }
        mark.from = from;
        true
    }

    /// Contacts completed in `[from, to]` (closed) when `to_inclusive`, else `[from, to)`.
    pub fn contacts(&self, from: Ms, to: Ms, to_inclusive: bool) -> ContactSums {
        if to < from {
            return ContactSums::default();
        }
        let upto = |x: Ms, inclusive: bool| self.contacts_upto(self.segs_upto(x, inclusive));
        upto(to, to_inclusive).minus(upto(from, false))
    }

    /// Drops history before `cutoff`, rebasing the running sums: queries from `cutoff` on
    /// answer as before. Amortized: only acts when at least half of the segments, and 32,
    /// can go. Whole checkpoint intervals go, so that the checkpoints stay at multiples of
    /// [`CHECKPOINT`]. The first retained segment starts before `cutoff` (not at it): the
    /// contact it completes is dropped with the history, and no query from `cutoff` on
    /// counts it.
    pub fn trim(&mut self, cutoff: Ms) {
        let before = self.segs.partition_point(|s| s.start() < cutoff).saturating_sub(1);
        let keep_from = before - before % CHECKPOINT;
        if keep_from < 32 || keep_from * 2 < self.segs.len() {
            return;
        }
        let base = self.checkpoints[keep_from / CHECKPOINT];
        self.open_at_first = self.open_during(keep_from);
        self.first = self.segs[keep_from].start();
        self.segs.drain(..keep_from);
        self.checkpoints.drain(..keep_from / CHECKPOINT);
        for sums in self.checkpoints.iter_mut().chain([&mut self.end]) {
            sums.rebase(&base);
        }
        self.trims = self.trims.wrapping_add(1);
        // Bounded slack after a large drop; growth doubles again from there.
        self.segs.shrink_to(self.segs.len() * 2);
        self.checkpoints.shrink_to(self.checkpoints.len() * 2);
    }

    pub fn segments_len(&self) -> usize {
        self.segs.len()
    }

    /// Heap bytes held (capacity, not length: the memory gauge and tests).
    pub fn heap_bytes(&self) -> usize {
        self.segs.capacity() * std::mem::size_of::<Seg>() + self.checkpoints.capacity() * std::mem::size_of::<Sums>()
    }
}

/// `v.partition_point(pred)`, found by galloping from the end of `v` nearer to the answer.
///
/// Views ask for window bounds near the ends of a timeline: sliding windows end at now and
/// start minutes before it (the last segments), `today` starts near the first retained
/// segment. A binary search over a day's segments touches ~log2(n) scattered cache lines
/// of every agent's timeline; galloping from the near end touches one or two. Views of a
/// large floor are bound by those misses (BENCHMARKS.md: /metrics at scale).
fn gallop_partition<T>(v: &[T], from_end: bool, pred: impl Fn(&T) -> bool) -> usize {
    let n = v.len();
    let mut step = 1;
    if from_end {
        // `pred` is false on [hi, n).
        let mut hi = n;
        while hi > 0 {
            let probe = hi.saturating_sub(step);
            if pred(&v[probe]) {
                return probe + 1 + v[probe + 1..hi].partition_point(&pred);
            }
            hi = probe;
            step *= 2;
        }
        0
    } else {
        // `pred` is true on [0, lo).
        let mut lo = 0;
        while lo < n {
            let probe = (lo + step - 1).min(n - 1);
            if !pred(&v[probe]) {
                return lo + v[lo..probe].partition_point(&pred);
            }
            lo = probe + 1;
            step *= 2;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KINDS: [Kind; 6] =
        [Kind::Talking, Kind::Acw, Kind::AuxUnplanned, Kind::AuxPlanned, Kind::Idle, Kind::Offline];

    /// Brute force: walk the changes and clip each span to the interval.
    fn naive(changes: &[(Ms, Kind)], from: Ms, to: Ms, now: Ms) -> Durations {
        let mut out = [0; 6];
        for (i, (t, k)) in changes.iter().enumerate() {
            let end = changes.get(i + 1).map(|c| c.0).unwrap_or(now);
            let (a, b) = ((*t).max(from), end.min(to));
            if b > a {
                out[*k as usize] += b - a;
            }
        }
        out
    }

    /// Brute force of SPEC §3.2 over the segments (no repeated kinds): every talking segment
    /// is a contact, completed at the end of the ACW directly after it, else at its own end.
    /// Returns (completion time, handle time) of each completed contact.
    fn naive_contacts(changes: &[(Ms, Kind)]) -> Vec<(Ms, Ms)> {
        let mut out = Vec::new();
        for (i, &(start, kind)) in changes.iter().enumerate() {
            if kind == Kind::Talking {
                let end = if changes.get(i + 1).is_some_and(|c| c.1 == Kind::Acw) { i + 2 } else { i + 1 };
                if let Some(&(at, _)) = changes.get(end) {
                    out.push((at, at - start));
                }
            }
        }
        out
    }

    fn naive_contact_sums(contacts: &[(Ms, Ms)], from: Ms, to: Ms, to_inclusive: bool) -> ContactSums {
        let mut out = ContactSums::default();
        for &(at, handle_ms) in contacts {
            if at >= from && (at < to || (to_inclusive && at == to)) {
                out.add(ContactSums { n: 1, handle_ms: handle_ms as u64 });
            }
        }
        out
    }

    /// A change: a step of time, often zero (equal timestamps), rarely days (past the
    /// sums' 2^32 ms), and a kind, often the current one (a no-op).
    fn step() -> impl Strategy<Value = (Ms, Kind)> {
        let dt = prop_oneof![10 => Just(0), 40 => 0..5_000i64, 1 => 0..1i64 << 34];
        (dt, prop::sample::select(KINDS.to_vec()))
    }

    /// An instant: anywhere, at or 1 ms around one of the changes, or at a change that
    /// starts a checkpoint interval (where trim cuts): where off-by-one errors would be.
    #[derive(Clone, Copy, Debug)]
    enum At {
        Any(Ms),
        Change(prop::sample::Index, Ms),
        Checkpoint(usize),
    }

    impl At {
        fn resolve(self, changes: &[(Ms, Kind)]) -> Ms {
            match self {
                At::Any(x) => x,
                At::Change(i, d) => i.get(changes).0 + d,
                At::Checkpoint(j) => changes[(j * CHECKPOINT).min(changes.len() - 1)].0,
            }
        }
    }

    fn at() -> impl Strategy<Value = At> {
        prop_oneof![
            (0..800_000i64).prop_map(At::Any),
            (any::<prop::sample::Index>(), -1..=1i64).prop_map(|(i, d)| At::Change(i, d)),
            (0..20usize).prop_map(At::Checkpoint),
        ]
    }

    proptest! {
        /// Up to 300 changes cross many checkpoints. `trimmed` follows the same changes,
        /// trimmed now and then on the way (and appended to after) and at the end; it must
        /// agree for queries from the latest cutoff on.
        #[test]
        fn window_sums_equal_a_brute_force_scan(
            steps in prop::collection::vec(step(), 1..300),
            qs in prop::collection::vec((at(), at(), any::<bool>()), 1..20),
            trims in prop::collection::vec((0usize..300, at()), 0..4),
            trim_at in at(),
        ) {
            let mut tl = Timeline::new();
            let mut trimmed = Timeline::new();
            let mut changes: Vec<(Ms, Kind)> = Vec::new();
            let mut completed = Vec::new();
            let mut valid_from = Ms::MIN;
            let mut t = 1_000;
            for (i, (dt, kind)) in steps.into_iter().enumerate() {
                t += dt;
                if changes.last().map(|c| c.1) != Some(kind) {
                    changes.push((t, kind));
                }
                let handle_ms = tl.change(t, kind);
                if let Some(h) = handle_ms {
                    completed.push((t, h));
                }
                prop_assert_eq!(trimmed.change(t, kind), handle_ms);
                prop_assert_eq!(tl.current(), Some(kind));
                for cutoff in trims.iter().filter(|c| c.0 == i).map(|c| c.1.resolve(&changes)) {
                    valid_from = valid_from.max(cutoff);
                    trimmed.trim(cutoff);
                }
            }
            let contacts = naive_contacts(&changes);
            prop_assert_eq!(&completed, &contacts);
            let now = t + 1_000;
            let cutoff = trim_at.resolve(&changes);
            valid_from = valid_from.max(cutoff);
            trimmed.trim(cutoff);
            prop_assert_eq!(trimmed.current(), tl.current());
            // Every change as a bound, and the given intervals.
            let bounds = changes.iter().flat_map(|c| [(c.0, now, true), (c.0, c.0, true), (c.0, now, false)]);
            let given = qs.iter().map(|(a, b, inclusive)| {
                let (a, b) = (a.resolve(&changes), b.resolve(&changes));
                (a.min(b), a.max(b).min(now), *inclusive)
            });
            for (from, to, inclusive) in bounds.chain(given) {
                let want = (naive(&changes, from, to, now), naive_contact_sums(&contacts, from, to, inclusive));
                prop_assert_eq!((tl.durations(from, to), tl.contacts(from, to, inclusive)), want);
                prop_assert_eq!(tl.window(from, to, inclusive), want);
                if from >= valid_from {
                    prop_assert_eq!((trimmed.durations(from, to), trimmed.contacts(from, to, inclusive)), want);
                    prop_assert_eq!(trimmed.window(from, to, inclusive), want);
                }
            }
        }
    }

    proptest! {
        /// Views between the changes, as the engine makes them: two sliding windows and a
        /// fixed start (an open peak interval) read through marks kept from view to view,
        /// with trims on the way; every answer equals the brute-force scan.
        #[test]
        fn marked_windows_equal_a_brute_force_scan(
            steps in prop::collection::vec((step(), prop::collection::vec(0..4_000i64, 0..3), any::<bool>()), 1..200),
            lens in (1..20_000i64, 1..200_000i64),
            fixed in 0..50_000i64,
        ) {
            let mut tl = Timeline::new();
            let mut changes: Vec<(Ms, Kind)> = Vec::new();
            let mut marks = [Mark::default(); 3];
            let mut t = 1_000;
            let mut trimmed_to = Ms::MIN;
            for ((dt, kind), views, trim) in steps {
                t += dt.min(200_000);
                if changes.last().map(|c| c.1) != Some(kind) {
                    changes.push((t, kind));
                }
                tl.change(t, kind);
                let contacts = naive_contacts(&changes);
                for d in views {
                    let now = t + d;
                    let bounds = [(now - lens.0, 0), (now - lens.1, 1), (fixed.min(now - 1), 2)];
                    for (from, m) in bounds {
                        if from < trimmed_to {
                            continue;
                        }
                        let before = marks[m];
                        let got = tl.window_marked(&mut marks[m], from, now, m < 2);
                        let want = (naive(&changes, from, now, now), naive_contact_sums(&contacts, from, now, m < 2));
                        prop_assert_eq!(got, want, "from {} to {} mark {:?}", from, now, before);
                    }
                }
                if trim {
                    // What the engine trims: history no window needs any more.
                    let cutoff = t - lens.0.max(lens.1) - 1;
                    if cutoff > trimmed_to {
                        tl.trim(cutoff);
                        trimmed_to = cutoff;
                    }
                }
            }
        }
    }

    /// A mark is moved without a search while the window's start stays in one segment,
    /// and found again once the start crosses into the next or the timeline is trimmed.
    #[test]
    fn a_mark_moves_inside_a_segment_and_is_found_again_past_it() {
        let mut tl = Timeline::new();
        tl.change(0, Kind::Idle);
        tl.change(10_000, Kind::Talking);
        tl.change(20_000, Kind::Acw);
        tl.change(25_000, Kind::Idle);
        let mut m = Mark::default();
        let w = |tl: &Timeline, m: &mut Mark, now: Ms| tl.window_marked(m, now - 15_000, now, true);
        let (ms, c) = w(&tl, &mut m, 26_000); // from 11 s: in talking
        assert_eq!(
            (ms[Kind::Talking as usize], ms[Kind::Acw as usize], ms[Kind::Idle as usize], c.n),
            (9_000, 5_000, 1_000, 1)
        );
        assert_eq!((m.i, m.from, m.kind), (2, 11_000, Kind::Talking));
        let (ms, _) = w(&tl, &mut m, 29_000); // from 14 s: moved, no search
        assert_eq!((m.i, m.from, m.cum[Kind::Talking as usize]), (2, 14_000, 4_000));
        assert_eq!(ms[Kind::Talking as usize], 6_000);
        let (ms, c) = w(&tl, &mut m, 36_000); // from 21 s: past the next start, searched
        assert_eq!((m.i, m.from, m.kind), (3, 21_000, Kind::Acw));
        // The contact completes at 25 s, leaving its ACW: in the window.
        assert_eq!(
            (ms[Kind::Talking as usize], ms[Kind::Acw as usize], ms[Kind::Idle as usize], c.n),
            (0, 4_000, 11_000, 1)
        );
        // A change dated before the window's start, appended after the mark was taken.
        let mut m2 = Mark::default();
        tl.window_marked(&mut m2, 40_000, 41_000, true);
        tl.change(30_000, Kind::Talking);
        let (ms, _) = tl.window_marked(&mut m2, 40_000, 41_000, true);
        assert_eq!(ms[Kind::Talking as usize], 1_000, "a stale mark was trusted");
    }

    /// Many changes at one instant (zero-length segments, contacts of 0 ms): a window
    /// bounded there counts them as the separate searches do, past the few that
    /// `window` steps over.
    #[test]
    fn a_window_bounded_at_a_crowded_instant() {
        let mut tl = Timeline::new();
        tl.change(0, Kind::Idle);
        for i in 0..30 {
            tl.change(1_000, if i % 2 == 0 { Kind::Talking } else { Kind::Acw });
        }
        tl.change(5_000, Kind::Idle);
        for (from, to) in [(1_000, 6_000), (0, 1_000), (500, 1_000), (1_000, 1_000)] {
            for inclusive in [false, true] {
                let want = (tl.durations(from, to), tl.contacts(from, to, inclusive));
                assert_eq!(tl.window(from, to, inclusive), want, "[{from}, {to}] {inclusive}");
            }
        }
        // More contacts complete at 1,000 than `window` steps over: its search fallback ran.
        assert!(tl.window(0, 1_000, true).1.n > 8);
    }

    #[test]
    fn gallop_partition_equals_partition_point() {
        for n in 0..40usize {
            let v: Vec<usize> = (0..n).map(|i| i * 2).collect();
            for x in 0..(2 * n + 2) {
                let want = v.partition_point(|&e| e <= x);
                assert_eq!(gallop_partition(&v, true, |&e| e <= x), want, "n {n} x {x} from end");
                assert_eq!(gallop_partition(&v, false, |&e| e <= x), want, "n {n} x {x} from start");
            }
        }
    }

    #[test]
    fn contacts_follow_the_spec() {
        let mut tl = Timeline::new();
        assert_eq!(tl.change(0, Kind::Idle), None);
        assert_eq!(tl.change(60, Kind::Talking), None);
        assert_eq!(tl.change(300, Kind::Acw), None);
        assert_eq!(tl.change(360, Kind::Talking), Some(300)); // leaving ACW into talking
        assert_eq!(tl.change(400, Kind::AuxUnplanned), Some(40)); // talking -> aux, no ACW
        assert_eq!(tl.change(500, Kind::Acw), None); // ACW without a contact
        assert_eq!(tl.change(600, Kind::Idle), None);
        assert_eq!(tl.contacts(0, 400, true), ContactSums { n: 2, handle_ms: 340 });
        assert_eq!(tl.contacts(0, 400, false), ContactSums { n: 1, handle_ms: 300 });
        assert_eq!(tl.contacts(361, 1000, true), ContactSums { n: 1, handle_ms: 40 });
        assert_eq!(tl.contacts(360, 360, true), ContactSums { n: 1, handle_ms: 300 });
    }

    /// A trim that keeps the ACW but not the talking before it: the contact still counts,
    /// with its handle time from the talking's start.
    #[test]
    fn trim_between_a_contacts_talking_and_acw_keeps_the_contact() {
        let mut tl = Timeline::new();
        for i in 0..47 {
            tl.change(i * 10, if i % 2 == 0 { Kind::Idle } else { Kind::AuxPlanned });
        }
        tl.change(470, Kind::Talking);
        tl.change(480, Kind::Acw); // segment 48, a checkpoint
        tl.change(500, Kind::Idle); // completes the contact: 30 ms
        tl.change(520, Kind::AuxUnplanned);
        tl.trim(490);
        assert_eq!(tl.segments_len(), 3);
        assert_eq!(tl.contacts(490, 505, true), ContactSums { n: 1, handle_ms: 30 });
        assert_eq!(tl.durations(490, 530), [0, 10, 10, 0, 20, 0]);
    }

    /// The sums are modulo 2^32 ms (49.7 days), yet windows stay exact after a segment
    /// longer than that (an agent left logged in), and so do windows longer than that.
    #[test]
    fn sums_are_exact_past_49_days() {
        const DAY: Ms = 86_400_000;
        let mut tl = Timeline::new();
        tl.change(0, Kind::Idle);
        tl.change(60 * DAY, Kind::Talking);
        tl.change(60 * DAY + 1_000, Kind::Idle);
        tl.change(60 * DAY + 3_000, Kind::AuxPlanned);
        assert_eq!(tl.durations(60 * DAY - 500, 60 * DAY + 4_000), [1_000, 0, 0, 1_000, 2_500, 0]);
        assert_eq!(tl.durations(-DAY, 61 * DAY), [1_000, 0, 0, DAY - 3_000, 60 * DAY + 2_000, 0]);
        tl.change(200 * DAY, Kind::Offline);
        assert_eq!(tl.durations(DAY, 201 * DAY), [1_000, 0, 0, 140 * DAY - 3_000, 59 * DAY + 2_000, DAY]);
    }

    /// A working day of 200 changes: 8 bytes a segment, 2 for the checkpoints and the
    /// `Vec` doubling slack (capacity 256) — 12.8. The 32-byte segments and 24-byte
    /// contacts before took 56.
    #[test]
    fn a_working_day_takes_about_12_bytes_a_segment() {
        let day = [
            Kind::Idle,
            Kind::Talking,
            Kind::Acw,
            Kind::Idle,
            Kind::Talking,
            Kind::AuxUnplanned,
            Kind::Talking,
            Kind::Acw,
            Kind::AuxPlanned,
        ];
        let mut tl = Timeline::new();
        for i in 0..200 {
            tl.change(28_800_000 + i as Ms * 150_000, day[i % day.len()]);
        }
        assert_eq!(tl.segments_len(), 200);
        let per_segment = tl.heap_bytes() as f64 / 200.0;
        assert!(per_segment <= 13.0, "{per_segment} bytes a segment");
    }
}
