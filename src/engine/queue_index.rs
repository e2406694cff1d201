//! Each queue's stored alerts that a reconcile can still read, so that reconciling a queue
//! costs what changed, not its 48 hours of alerts.
//!
//! Reconciling a queue (SPEC §8.3, §2.5) reads its stored alerts that are firing or that
//! ended (or, `service_level_low`, fired) at or after the instant its re-evaluation starts.
//! Finding them by walking the queue's id range of the alert store read every alert of the
//! last 48 hours on every advance, in a store a roster makes ten times larger (its
//! `out_of_adherence` alerts): a fifth of ingesting with a roster (BENCHMARKS.md). Here each
//! queue's alerts are kept by kind, the firing ones by id and the others by the later of
//! their fire and resolve times, so those a reconcile reads are a range.
//!
//! The index is derived from the store: every change of a queue alert in the store goes
//! through [`QueueAlerts::replace`] (the engine's `store_put`/`store_remove`), and a store
//! replaced whole (restore) or trimmed (housekeeping) rebuilds or trims it here.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::alert::{AlertKind, StoredAlert};
use crate::time::Ms;

/// One queue's alerts of one kind.
#[derive(Default)]
struct Kinded {
    firing: BTreeMap<String, Arc<StoredAlert>>,
    /// Resolved ones by the later of their fire and resolve times (then id).
    ended: BTreeMap<(Ms, String), Arc<StoredAlert>>,
}

/// The queue alerts of the store, by queue and kind ([`AlertKind::QUEUE`]'s order).
#[derive(Default)]
pub(super) struct QueueAlerts {
    queues: HashMap<String, [Kinded; 2], foldhash::fast::RandomState>,
}

/// The key of a resolved alert in `ended`: a reconcile from `from` reads those at or after.
fn ended_key(a: &StoredAlert) -> (Ms, String) {
    (a.resolved_at.unwrap_or(Ms::MIN).max(a.fired_at), a.id.clone())
}

fn kind_index(kind: AlertKind) -> Option<usize> {
    AlertKind::QUEUE.iter().position(|k| *k == kind)
}

impl QueueAlerts {
    /// Follows the store's change of one alert from `old` to `new` (either absent). Alerts
    /// that are not a queue's are not kept.
    pub(super) fn replace(&mut self, old: Option<&Arc<StoredAlert>>, new: Option<&Arc<StoredAlert>>) {
        if let Some(o) = old {
            self.remove(o);
        }
        if let Some(n) = new {
            self.insert(n);
        }
    }

    fn insert(&mut self, a: &Arc<StoredAlert>) {
        let (Some(q), Some(k)) = (a.queue.as_deref(), kind_index(a.kind)) else { return };
        let kinded = match self.queues.get_mut(q) {
            Some(k) => k,
            None => self.queues.entry(q.to_string()).or_default(),
        };
        let kinded = &mut kinded[k];
        if a.is_firing() {
            kinded.firing.insert(a.id.clone(), a.clone());
        } else {
            kinded.ended.insert(ended_key(a), a.clone());
        }
    }

    fn remove(&mut self, a: &StoredAlert) {
        let (Some(q), Some(k)) = (a.queue.as_deref(), kind_index(a.kind)) else { return };
        let Some(kinds) = self.queues.get_mut(q) else { return };
        let kinded = &mut kinds[k];
        if a.is_firing() {
            kinded.firing.remove(&a.id);
        } else {
            kinded.ended.remove(&ended_key(a));
        }
        if kinds.iter().all(|k| k.firing.is_empty() && k.ended.is_empty()) {
            self.queues.remove(q);
        }
    }

    /// Rebuilt from a whole store (after a restore).
    pub(super) fn rebuild<'a>(&mut self, store: impl Iterator<Item = &'a Arc<StoredAlert>>) {
        self.queues.clear();
        for a in store {
            self.insert(a);
        }
    }

    /// The stored alerts of `queue` of `kind` that are firing or whose later of fire and
    /// resolve time is at or after `from`, by id. A superset of what a reconcile from
    /// `from` reads: the caller applies its own test to each.
    pub(super) fn live(&self, queue: &str, kind: AlertKind, from: Ms) -> Vec<Arc<StoredAlert>> {
        let (Some(kinds), Some(k)) = (self.queues.get(queue), kind_index(kind)) else { return Vec::new() };
        let kinded = &kinds[k];
        let mut v: Vec<Arc<StoredAlert>> = kinded.firing.values().cloned().collect();
        v.extend(kinded.ended.range((from, String::new())..).map(|(_, a)| a.clone()));
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// How many alerts are kept (tests compare the index with the store).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.queues.values().flatten().map(|k| k.firing.len() + k.ended.len()).sum()
    }
}
