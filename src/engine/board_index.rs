//! The stored alerts a board shows, so that a floor's snapshot without agents (what
//! dashboards poll) finds them without walking the store.
//!
//! A board shows the alerts firing and those resolved in the last 10 minutes
//! ([`Alert::on_board`]); the floor's partial snapshot lists those and counts the rest. At
//! 100,000 agents the store holds 48 hours of alerts (half a million with a roster's
//! `out_of_adherence`), and walking it was 7% of every floor read, all on one thread
//! (BENCHMARKS.md, session 10). Here the firing ones are kept by address and the resolved
//! ones by resolve time, so those on a board at `now` are a range.
//!
//! Resolved alerts too old to be on any board a view will ask for are dropped from the
//! index at housekeeping ([`BoardAlerts::prune`]): it then answers only for a `now` late
//! enough (`None` before: the caller walks the store), so it is exact for any `now` and
//! holds about an hour of resolved alerts, not 48.
//!
//! Derived from the store: every change of an alert there goes through
//! [`BoardAlerts::replace`] (the engine's `store_put`/`store_remove` and its trim), and a
//! store replaced whole (restore) rebuilds it.
//!
//! [`Alert::on_board`]: crate::alert::Alert::on_board

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::alert::{ON_BOARD_AFTER_RESOLVED_MS, StoredAlert};
use crate::time::Ms;

/// An alert's key: its address (unique while it is stored, and no copy of its id).
fn addr(a: &Arc<StoredAlert>) -> usize {
    Arc::as_ptr(a) as usize
}

#[derive(Default)]
pub(super) struct BoardAlerts {
    firing: HashMap<usize, Arc<StoredAlert>, foldhash::fast::RandomState>,
    /// Resolved at or after `from`, by resolve time.
    resolved: BTreeMap<(Ms, usize), Arc<StoredAlert>>,
    /// Resolved alerts before this are not kept ([`BoardAlerts::prune`]).
    from: Ms,
}

impl BoardAlerts {
    pub(super) fn new() -> BoardAlerts {
        BoardAlerts { from: Ms::MIN, ..Default::default() }
    }

    /// Follows the store's change of one alert from `old` to `new` (either absent).
    pub(super) fn replace(&mut self, old: Option<&Arc<StoredAlert>>, new: Option<&Arc<StoredAlert>>) {
        if let Some(o) = old {
            match o.resolved_at {
                None => self.firing.remove(&addr(o)),
                Some(r) => self.resolved.remove(&(r, addr(o))),
            };
        }
        if let Some(n) = new {
            match n.resolved_at {
                None => {
                    self.firing.insert(addr(n), n.clone());
                }
                Some(r) if r >= self.from => {
                    self.resolved.insert((r, addr(n)), n.clone());
                }
                Some(_) => {}
            }
        }
    }

    /// Rebuilt from a whole store (after a restore), keeping what it kept.
    pub(super) fn rebuild<'a>(&mut self, store: impl Iterator<Item = &'a Arc<StoredAlert>>) {
        self.firing.clear();
        self.resolved.clear();
        for a in store {
            self.replace(None, Some(a));
        }
    }

    /// Stops keeping the alerts resolved before `before`: from then on it answers for a
    /// `now` from `before` plus 10 minutes only.
    pub(super) fn prune(&mut self, before: Ms) {
        if before <= self.from {
            return;
        }
        self.from = before;
        self.resolved = self.resolved.split_off(&(before, 0));
    }

    /// The stored alerts on a board at `now` (in no particular order), or `None` when
    /// alerts resolved early enough to be on it are no longer kept.
    pub(super) fn on_board(&self, now: Ms) -> Option<Vec<Arc<StoredAlert>>> {
        let since = now.saturating_sub(ON_BOARD_AFTER_RESOLVED_MS);
        if since < self.from {
            return None;
        }
        let mut v: Vec<Arc<StoredAlert>> = Vec::with_capacity(self.firing.len() + 64);
        v.extend(self.firing.values().cloned());
        v.extend(self.resolved.range((since, 0)..).map(|(_, a)| a.clone()));
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{Alert, AlertKind, AlertState};

    fn alert(id: &str, fired: Ms, resolved: Option<Ms>) -> Arc<StoredAlert> {
        StoredAlert::new(Alert {
            id: id.into(),
            kind: AlertKind::AuxCluster,
            team: "T".into(),
            queue: None,
            agent: None,
            severity: AlertKind::AuxCluster.severity(),
            state: if resolved.is_some() { AlertState::Resolved } else { AlertState::Firing },
            started_at: fired,
            fired_at: fired,
            resolved_at: resolved,
            value: 0.0,
            threshold: 0.0,
            message: String::new(),
            agents: Vec::new(),
            interval: None,
            retracted: false,
        })
    }

    fn ids(v: Option<Vec<Arc<StoredAlert>>>) -> Option<Vec<String>> {
        v.map(|v| {
            let mut ids: Vec<String> = v.iter().map(|a| a.id.clone()).collect();
            ids.sort();
            ids
        })
    }

    #[test]
    fn a_board_gets_the_firing_and_the_recently_resolved() {
        let mut b = BoardAlerts::new();
        let firing = alert("f", 0, None);
        let old = alert("old", 0, Some(1_000));
        let edge = alert("edge", 0, Some(ON_BOARD_AFTER_RESOLVED_MS + 5_000));
        for a in [&firing, &old, &edge] {
            b.replace(None, Some(a));
        }
        let now = 2 * ON_BOARD_AFTER_RESOLVED_MS + 5_000;
        assert_eq!(ids(b.on_board(now)), Some(vec!["edge".into(), "f".into()]), "resolved exactly 10 min ago is shown");
        assert_eq!(ids(b.on_board(now + 1)), Some(vec!["f".into()]));
        // The firing one resolves (the store replaces it): shown for 10 minutes more.
        let resolved = alert("f", 0, Some(now));
        b.replace(Some(&firing), Some(&resolved));
        assert_eq!(ids(b.on_board(now + ON_BOARD_AFTER_RESOLVED_MS)), Some(vec!["f".into()]));
        assert_eq!(ids(b.on_board(now + ON_BOARD_AFTER_RESOLVED_MS + 1)), Some(vec![]));
        // Removed from the store: gone.
        b.replace(Some(&resolved), None);
        assert_eq!(ids(b.on_board(now)), Some(vec!["edge".into()]));
        // Pruned: no answer for a board that could show what was dropped.
        b.prune(2_000);
        assert_eq!(ids(b.on_board(2_000 + ON_BOARD_AFTER_RESOLVED_MS - 1)), None);
        assert_eq!(ids(b.on_board(now)), Some(vec!["edge".into()]));
        // An alert resolved before the pruning line is not kept (a late correction).
        b.replace(None, Some(&alert("late", 0, Some(1_500))));
        assert_eq!(b.resolved.len(), 1);
        b.rebuild([&old, &edge].into_iter());
        assert_eq!(ids(b.on_board(now)), Some(vec!["edge".into()]));
    }
}
