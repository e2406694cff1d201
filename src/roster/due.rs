//! When each scheduled agent's alerts are next due for re-derivation without an event:
//! entries `(instant, roster slot)`, popped in that order once time reaches them.

use std::collections::BTreeMap;

use crate::time::Ms;

/// The width of a bucket.
const BUCKET_MS: Ms = 60_000;

/// Entries `(t, slot)` popped in increasing order, in buckets of a minute of `t`.
///
/// A `BTreeSet<(Ms, u32)>` of one entry per scheduled agent (100,000 and more) took a
/// cache miss or two per insert and per pop, about one per cent of ingest with a roster
/// (BENCHMARKS.md, session 16). Here an insert appends to its minute's list, found in a map
/// of as many keys as minutes with entries (a few hundred; read every time, so cached),
/// and a minute's list is sorted once, when its first entry is popped; the pops then read
/// it from its end. An entry added to a minute being popped goes to its place in order.
///
/// Equal entries are kept once, as in a set.
#[derive(Debug, Default)]
pub struct DueQueue {
    buckets: BTreeMap<Ms, Bucket>,
}

#[derive(Debug, Default)]
struct Bucket {
    /// Unordered until `sorted`; then in decreasing order without repeats.
    items: Vec<(Ms, u32)>,
    sorted: bool,
}

impl DueQueue {
    pub fn insert(&mut self, t: Ms, slot: u32) {
        let b = self.buckets.entry(t.div_euclid(BUCKET_MS)).or_default();
        if !b.sorted {
            b.items.push((t, slot));
            return;
        }
        // Decreasing: the first place whose entry is below the new one.
        let i = b.items.partition_point(|&e| e > (t, slot));
        if b.items.get(i) != Some(&(t, slot)) {
            b.items.insert(i, (t, slot));
        }
    }

    /// Removes and returns the least entry if its instant is at or before `now`.
    pub fn pop_upto(&mut self, now: Ms) -> Option<(Ms, u32)> {
        let mut first = self.buckets.first_entry()?;
        if *first.key() > now.div_euclid(BUCKET_MS) {
            return None;
        }
        let b = first.get_mut();
        if !b.sorted {
            b.items.sort_unstable_by(|x, y| y.cmp(x));
            b.items.dedup();
            b.sorted = true;
        }
        let &(t, _) = b.items.last().expect("a bucket is never left empty");
        if t > now {
            return None;
        }
        let e = b.items.pop();
        if b.items.is_empty() {
            first.remove();
        }
        e
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Debug)]
    enum Op {
        Insert(Ms, u32),
        Pop(Ms),
    }

    fn op() -> impl Strategy<Value = Op> {
        // Instants over a few minutes, around 0 too (negative instants), with repeats.
        let t = prop_oneof![-200_000i64..400_000, (-3i64..7).prop_map(|m| m * BUCKET_MS)];
        prop_oneof![
            3 => (t.clone(), 0u32..20).prop_map(|(t, s)| Op::Insert(t, s)),
            1 => t.prop_map(Op::Pop),
        ]
    }

    proptest! {
        /// Pops exactly what a set of the same entries pops, in the same order, whatever
        /// is inserted between pops.
        #[test]
        fn pops_as_an_ordered_set_does(ops in proptest::collection::vec(op(), 0..300)) {
            let (mut q, mut set) = (DueQueue::default(), BTreeSet::new());
            for o in ops {
                match o {
                    Op::Insert(t, s) => {
                        q.insert(t, s);
                        set.insert((t, s));
                    }
                    Op::Pop(now) => loop {
                        let want = set.first().copied().filter(|e| e.0 <= now);
                        if want.is_some() {
                            set.pop_first();
                        }
                        let got = q.pop_upto(now);
                        prop_assert_eq!(got, want);
                        if got.is_none() {
                            break;
                        }
                    },
                }
            }
            let got: Vec<_> = std::iter::from_fn(|| q.pop_upto(Ms::MAX)).collect();
            prop_assert_eq!(got, set.into_iter().collect::<Vec<_>>());
            prop_assert!(q.is_empty());
        }
    }

    #[test]
    fn an_entry_added_to_a_minute_being_popped_takes_its_place() {
        let mut q = DueQueue::default();
        for (t, s) in [(1_000, 3), (5_000, 1), (59_000, 2), (61_000, 0)] {
            q.insert(t, s);
        }
        assert_eq!(q.pop_upto(2_000), Some((1_000, 3)));
        assert_eq!(q.pop_upto(2_000), None);
        // Into the minute now sorted: before, between and a repeat.
        q.insert(3_000, 9);
        q.insert(5_000, 0);
        q.insert(5_000, 1);
        let got: Vec<_> = std::iter::from_fn(|| q.pop_upto(60_000)).collect();
        assert_eq!(got, [(3_000, 9), (5_000, 0), (5_000, 1), (59_000, 2)]);
        assert_eq!(q.pop_upto(Ms::MAX), Some((61_000, 0)));
        assert!(q.is_empty());
    }
}
