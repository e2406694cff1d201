//! The alert store's map: stored alerts by id, one ordered map per kind.

use std::collections::BTreeMap;
use std::collections::btree_map::Range;
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
/// A lookup searches only its kind's alerts. In one map, a floor's `out_of_adherence`
/// alerts (375,000 a day at 100,000 agents with a roster) made every lookup of the other
/// kinds (an event's `long_aux`, a team's resolves) several levels deeper, each a cache
/// miss and a compare of ids that share their first bytes (BENCHMARKS.md, session 15).
#[derive(Debug, Default)]
pub struct AlertStore {
    maps: [BTreeMap<String, Arc<StoredAlert>>; 8],
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

/// The map an id belongs in, by its kind (None: no kind's id).
fn index_of_id(id: &str) -> Option<usize> {
    let kind = id.split_once(':').map_or(id, |(k, _)| k);
    BY_NAME.iter().position(|k| k.as_str() == kind)
}

impl AlertStore {
    pub fn get(&self, id: &str) -> Option<&Arc<StoredAlert>> {
        self.maps[index_of_id(id)?].get(id)
    }

    /// Stores `a` under its id, giving back the alert stored there before.
    pub fn insert(&mut self, a: Arc<StoredAlert>) -> Option<Arc<StoredAlert>> {
        debug_assert_eq!(index_of_id(&a.id), Some(index(a.kind)), "alert id {} of kind {:?}", a.id, a.kind);
        self.maps[index(a.kind)].insert(a.id.clone(), a)
    }

    pub fn remove(&mut self, id: &str) -> Option<Arc<StoredAlert>> {
        self.maps[index_of_id(id)?].remove(id)
    }

    /// The alerts of `kind` with ids in `[from, to)`.
    pub fn range(&self, kind: AlertKind, from: String, to: String) -> Range<'_, String, Arc<StoredAlert>> {
        self.maps[index(kind)].range(from..to)
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

    #[test]
    fn the_kinds_are_in_the_order_of_their_names() {
        let names: Vec<&str> = BY_NAME.iter().map(|k| k.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(BY_NAME.len(), AlertKind::ALL.len());
        for (i, k) in BY_NAME.iter().enumerate() {
            assert_eq!(index(*k), i);
            assert_eq!(index_of_id(&format!("{}:T1:1", k.as_str())), Some(i));
        }
        assert_eq!(index_of_id("nothing:T1:1"), None);
        // No name is the start of another: ids of two kinds compare as their names do.
        for a in &names {
            assert!(names.iter().all(|b| a == b || !b.starts_with(a)), "{a}");
        }
    }
}
