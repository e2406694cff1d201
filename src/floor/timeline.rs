//! One agent's timeline: the segments of constant kind and the completed contacts, each
//! with running (prefix) sums, so that the seconds in any interval are two binary searches
//! away — exact to the millisecond, never bucketed.

use crate::time::Ms;

/// What the agent is doing, as far as the figures care. Aux splits by reason category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
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

/// Milliseconds per kind, indexed by `Kind as usize`.
pub type Durations = [Ms; 6];

impl Kind {
    pub fn logged_in(self) -> bool {
        self != Kind::Offline
    }
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Seg {
    start: Ms,
    /// Running sums of the stored kinds at `start`, relative to the first retained segment.
    /// u32 milliseconds cover 49 days; retention is far shorter and sums are rebased on trim.
    cum: [u32; STORED],
    kind: Kind,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct ContactRec {
    /// Completion time.
    at: Ms,
    /// Count and handle-time sums including this contact, relative to the first retained.
    n: u32,
    handle_ms: u64,
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Timeline {
    segs: Vec<Seg>,
    contacts: Vec<ContactRec>,
    /// Start of the contact in progress (talking, or the ACW directly after it).
    open_contact: Option<Ms>,
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
}

impl Timeline {
    pub fn new() -> Self {
        Timeline::default()
    }

    pub fn current(&self) -> Option<Kind> {
        self.segs.last().map(|s| s.kind)
    }

    /// The agent enters `kind` at `t` (t ≥ the previous change). Returns the handle time of
    /// the contact this change completes, if any.
    pub fn change(&mut self, t: Ms, kind: Kind) -> Option<Ms> {
        let prev = self.current();
        if prev == Some(kind) {
            return None;
        }
        let cum = match self.segs.last() {
            None => [0; STORED],
            Some(last) => {
                let mut c = last.cum;
                let k = last.kind as usize;
                if k < STORED {
                    c[k] = c[k].saturating_add((t - last.start).clamp(0, u32::MAX as Ms) as u32);
                }
                c
            }
        };
        self.segs.push(Seg { start: t, cum, kind });

        // Contacts (SPEC §3.2): a contact starts on entering talking from any other state;
        // it completes on leaving talking for anything but ACW, or on leaving the ACW that
        // directly follows it.
        let mut completed = None;
        if let Some(start) = self.open_contact {
            let continues = prev == Some(Kind::Talking) && kind == Kind::Acw;
            if !continues {
                completed = Some(t - start);
                self.open_contact = None;
                let (n, h) = self.contacts.last().map(|c| (c.n, c.handle_ms)).unwrap_or((0, 0));
                self.contacts.push(ContactRec { at: t, n: n + 1, handle_ms: h + (t - start) as u64 });
            }
        }
        if kind == Kind::Talking {
            self.open_contact = Some(t);
        }
        completed
    }

    /// Running sums at instant `x` (zero before the first retained segment).
    fn cum_at(&self, x: Ms) -> Durations {
        let near_end = self.segs.first().zip(self.segs.last()).is_some_and(|(f, l)| x >= f.start / 2 + l.start / 2);
        let i = gallop_partition(&self.segs, near_end, |s| s.start <= x);
        if i == 0 {
            return [0; 6];
        }
        let seg = &self.segs[i - 1];
        let mut out = [0; 6];
        for (o, c) in out.iter_mut().zip(seg.cum) {
            *o = c as Ms;
        }
        let k = seg.kind as usize;
        if k < STORED {
            out[k] += x - seg.start;
        }
        let first = self.segs[0].start;
        out[Kind::Offline as usize] = (x - first) - out[..STORED].iter().sum::<Ms>();
        out
    }

    /// Milliseconds per kind in `[from, to)`.
    pub fn durations(&self, from: Ms, to: Ms) -> Durations {
        if to <= from {
            return [0; 6];
        }
        let (a, b) = (self.cum_at(from), self.cum_at(to));
        std::array::from_fn(|i| b[i] - a[i])
    }

    /// Contacts completed in `[from, to]` (closed) when `to_inclusive`, else `[from, to)`.
    pub fn contacts(&self, from: Ms, to: Ms, to_inclusive: bool) -> ContactSums {
        let upto = |x: Ms, inclusive: bool| {
            let near_end =
                self.contacts.first().zip(self.contacts.last()).is_some_and(|(f, l)| x >= f.at / 2 + l.at / 2);
            let i = gallop_partition(&self.contacts, near_end, |c| if inclusive { c.at <= x } else { c.at < x });
            if i == 0 { (0, 0) } else { (self.contacts[i - 1].n as u64, self.contacts[i - 1].handle_ms) }
        };
        if to < from {
            return ContactSums::default();
        }
        let (bn, bh) = upto(to, to_inclusive);
        let (an, ah) = upto(from, false);
        ContactSums { n: bn - an, handle_ms: bh - ah }
    }

    /// Drops history before `cutoff` (keeping the segment in force at `cutoff`), rebasing
    /// the running sums. Amortized: only acts when there is enough to drop.
    pub fn trim(&mut self, cutoff: Ms) {
        let keep_from = self.segs.partition_point(|s| s.start <= cutoff).saturating_sub(1);
        if keep_from >= 32 && keep_from * 2 >= self.segs.len() {
            self.segs.drain(..keep_from);
            let base = self.segs[0].cum;
            for s in &mut self.segs {
                for (c, b) in s.cum.iter_mut().zip(base) {
                    *c -= b;
                }
            }
            self.segs.shrink_to(self.segs.len() * 2);
        }
        let drop = self.contacts.partition_point(|c| c.at < cutoff);
        if drop >= 32 && drop * 2 >= self.contacts.len() {
            let (bn, bh) = (self.contacts[drop - 1].n, self.contacts[drop - 1].handle_ms);
            self.contacts.drain(..drop);
            for c in &mut self.contacts {
                c.n -= bn;
                c.handle_ms -= bh;
            }
            self.contacts.shrink_to(self.contacts.len() * 2);
        }
    }

    pub fn segments_len(&self) -> usize {
        self.segs.len()
    }

    /// Approximate heap bytes (for the memory gauge and tests).
    pub fn heap_bytes(&self) -> usize {
        self.segs.capacity() * std::mem::size_of::<Seg>() + self.contacts.capacity() * std::mem::size_of::<ContactRec>()
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

    proptest! {
        #[test]
        fn window_sums_equal_a_brute_force_scan(
            steps in prop::collection::vec((0i64..5_000, 0usize..6), 1..200),
            qs in prop::collection::vec((0i64..600_000, 0i64..600_000), 1..20),
            trim_at in 0i64..400_000,
        ) {
            let mut tl = Timeline::new();
            let mut changes: Vec<(Ms, Kind)> = Vec::new();
            let mut t = 1_000;
            for (dt, k) in steps {
                t += dt;
                let kind = KINDS[k];
                if changes.last().map(|c| c.1) != Some(kind) {
                    changes.push((t, kind));
                }
                tl.change(t, kind);
            }
            let now = t + 1_000;
            let mut trimmed = tl.clone();
            trimmed.trim(trim_at);
            for (a, b) in qs {
                let (from, to) = (a.min(b), a.max(b).min(now));
                prop_assert_eq!(tl.durations(from, to), naive(&changes, from, to, now));
                if from >= trim_at {
                    prop_assert_eq!(trimmed.durations(from, to), naive(&changes, from, to, now));
                }
            }
        }
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
}
