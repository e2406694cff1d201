//! The alert store's map: stored alerts by id, one ordered map per kind.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::alert::{AlertKind, StoredAlert};

/// The kinds in the order of their names: the order of the ids (`kind:...`) across kinds.
const BY_NAME: [AlertKind; 8] = [
    AlertKind::AhtOutOfControl,
    AlertKind::AuxCluster,
    AlertKind::AuxDispersion,
    AlertKind::LongAux,
    AlertKind::LongWait,
    AlertKind::OutOfAdherence,
    AlertKind::ServiceLevelLow,
    AlertKind::UtilizationHigh,
];

/// Stored alerts by id (`Alert::make_id`: `kind:...`), one ordered map per kind, which
/// together iterate in the order of the ids as one map would.
///
/// A lookup searches only its kind's alerts (a floor's `out_of_adherence` alerts, 375,000
/// a day at 100,000 agents with a roster, no longer deepen the others'), by a [`Key`] that
/// compares without leaving the map's nodes: a `String` key read the other id's bytes from
/// the heap at each key compared (BENCHMARKS.md, session 15: 0.9 M fewer D1 read misses
/// over a 3M-event replay with a roster).
#[derive(Debug, Default)]
pub struct AlertStore {
    maps: [BTreeMap<Key, Arc<StoredAlert>>; 8],
}

/// Bytes of an id a [`Key`] holds inline: every id `Alert::make_id` makes of short team
/// and agent ids (`T0001:A000001:1764000000000` after the kind, 27).
const HEAD: usize = 40;

/// An alert's id without its kind (the map's), ordered exactly as the id is: its first
/// `HEAD` bytes (zeros after a shorter id), the bytes after them, then its length (which
/// tells apart ids that differ only by trailing zero bytes). Ids of up to `HEAD` bytes
/// allocate nothing, and two keys compare without reading memory elsewhere unless their
/// first `HEAD` bytes are the same.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    head: [u8; HEAD],
    rest: Box<[u8]>,
    len: usize,
}

impl Key {
    fn of(s: &str) -> Key {
        let b = s.as_bytes();
        let n = b.len().min(HEAD);
        let mut head = [0u8; HEAD];
        head[..n].copy_from_slice(&b[..n]);
        Key { head, rest: b[n..].into(), len: b.len() }
    }
}

/// The map of `kind`.
fn index(kind: AlertKind) -> usize {
    match kind {
        AlertKind::AhtOutOfControl => 0,
        AlertKind::AuxCluster => 1,
        AlertKind::AuxDispersion => 2,
        AlertKind::LongAux => 3,
        AlertKind::LongWait => 4,
        AlertKind::OutOfAdherence => 5,
        AlertKind::ServiceLevelLow => 6,
        AlertKind::UtilizationHigh => 7,
    }
}

/// The map an id belongs in, by its kind, and its key there (None: no kind's id).
fn place(id: &str) -> Option<(usize, Key)> {
    let (kind, rest) = id.split_once(':')?;
    let i = BY_NAME.iter().position(|k| k.as_str() == kind)?;
    Some((i, Key::of(rest)))
}

/// The key of an id of `kind` (or of a bound of a range of them, `kind:...`).
fn key_in(kind: AlertKind, id: &str) -> Key {
    let rest = id.strip_prefix(kind.as_str()).and_then(|r| r.strip_prefix(':'));
    debug_assert!(rest.is_some(), "{id} is not of kind {kind:?}");
    Key::of(rest.unwrap_or(id))
}

impl AlertStore {
    pub fn get(&self, id: &str) -> Option<&Arc<StoredAlert>> {
        let (i, key) = place(id)?;
        self.maps[i].get(&key)
    }

    /// Stores `a` under its id, giving back the alert stored there before.
    pub fn insert(&mut self, a: Arc<StoredAlert>) -> Option<Arc<StoredAlert>> {
        let key = key_in(a.kind, &a.id);
        self.maps[index(a.kind)].insert(key, a)
    }

    pub fn remove(&mut self, id: &str) -> Option<Arc<StoredAlert>> {
        let (i, key) = place(id)?;
        self.maps[i].remove(&key)
    }

    /// The alerts of `kind` with ids in `[from, to)` (both `kind:...`), in id order.
    pub fn range<'a>(
        &'a self,
        kind: AlertKind,
        from: &str,
        to: &str,
    ) -> impl Iterator<Item = &'a Arc<StoredAlert>> + use<'a> {
        self.maps[index(kind)].range(key_in(kind, from)..key_in(kind, to)).map(|(_, a)| a)
    }

    /// Every alert, in the order of the ids.
    pub fn values(&self) -> impl Iterator<Item = &Arc<StoredAlert>> {
        self.maps.iter().flat_map(|m| m.values())
    }

    pub fn len(&self) -> usize {
        self.maps.iter().map(|m| m.len()).sum()
    }

    /// Keeps the alerts for which `keep` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(&Arc<StoredAlert>) -> bool) {
        for m in &mut self.maps {
            m.retain(|_, a| keep(a));
        }
    }
}

impl FromIterator<Arc<StoredAlert>> for AlertStore {
    fn from_iter<I: IntoIterator<Item = Arc<StoredAlert>>>(iter: I) -> AlertStore {
        let mut s = AlertStore::default();
        for a in iter {
            s.insert(a);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_kinds_are_in_the_order_of_their_names() {
        let names: Vec<&str> = BY_NAME.iter().map(|k| k.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(BY_NAME.len(), AlertKind::ALL.len());
        for (i, k) in BY_NAME.iter().enumerate() {
            assert_eq!(index(*k), i);
            assert_eq!(place(&format!("{}:T1:1", k.as_str())).map(|p| p.0), Some(i));
        }
        assert!(place("nothing:T1:1").is_none());
        // No name is the start of another: ids of two kinds compare as their names do.
        for a in &names {
            assert!(names.iter().all(|b| a == b || !b.starts_with(a)), "{a}");
        }
    }

    /// Two ids of a common start of 0 to 50 bytes (most ties within `HEAD` bytes, some
    /// past it), each with its own end of up to 6 characters, with zero bytes and
    /// characters of several bytes.
    fn ids() -> impl Strategy<Value = (String, String)> {
        const LONG: &str = "T0001:A000001:1764000000000:T0002:A000002:17640000";
        let end = "[a\\x00é:0-9]{0,6}";
        (0..=LONG.len(), end, end).prop_map(|(n, x, y)| (format!("{}{x}", &LONG[..n]), format!("{}{y}", &LONG[..n])))
    }

    proptest! {
        /// Keys compare as the ids they are made of.
        #[test]
        fn keys_are_ordered_as_their_ids((a, b) in ids()) {
            prop_assert_eq!(Key::of(&a).cmp(&Key::of(&b)), a.cmp(&b), "{:?} {:?}", a, b);
        }
    }
}
