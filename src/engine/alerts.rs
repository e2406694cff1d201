//! The alert store: alerts as they fire and resolve, corrected when a late event shows
//! they were wrong (SPEC §2.5), and the notifications hooks and wallboards get of each.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Engine;
use crate::alert::{Alert, AlertKind, AlertState, StoredAlert};
use crate::detect::team::AlertChange;
use crate::floor::agents::TeamIdx;
use crate::queue::Derived;
use crate::time::Ms;

/// How a stored alert's team counters move.
#[derive(Clone, Copy)]
enum Count {
    Fired,
    Resolved,
    /// A resolve taken back: the same fire is firing again (it was counted fired once).
    Unresolved,
    /// A firing or resolved alert is taken back (it never was, or was not as told).
    Retracted {
        was_firing: bool,
    },
}

impl Engine {
    /// Stores the alert changes of forward steps and tells hooks and wallboards.
    pub(super) fn flush_changes(&mut self) {
        if self.changes.is_empty() {
            return;
        }
        self.version += 1;
        for ch in std::mem::take(&mut self.changes) {
            let alert = match ch {
                AlertChange::Fired(a) => {
                    self.count_alert(&a, Count::Fired);
                    let a = StoredAlert::new(a);
                    self.store_put(a.clone());
                    a
                }
                AlertChange::Resolved { id, at } => match self.alerts.get(&id) {
                    Some(stored) if stored.is_firing() => {
                        let stored = stored.clone();
                        self.tell_resolve(&stored, at);
                        continue;
                    }
                    _ => continue,
                },
            };
            self.notify(alert);
        }
    }

    /// Stores the firing alert `stored` resolved at `at` and tells of it.
    pub(super) fn tell_resolve(&mut self, stored: &Alert, at: Ms) {
        let a = StoredAlert::new(resolved(stored, at));
        self.store_put(a.clone());
        self.count_alert(&a, Count::Resolved);
        self.notify(a);
    }

    /// Tells hooks and wallboards of `a`, as stored (or retracted).
    fn notify(&mut self, a: Arc<StoredAlert>) {
        if let Some(n) = &mut self.notifications {
            n.push(a);
        }
    }

    /// Ends an agent's alert (long_aux) when the agent leaves the condition at `at`: a
    /// resolve, or, when `at` is before the alert fired (the event that ends it arrived
    /// late), a retraction: with the events on time it would never have fired.
    pub(super) fn end_agent_alert(&mut self, id: &str, at: Ms) {
        let Some(stored) = self.alerts.get(id).cloned() else { return };
        if !stored.is_firing() {
            return;
        }
        self.version += 1;
        if at >= stored.fired_at {
            self.tell_resolve(&stored, at);
        } else {
            self.store_remove(id);
            self.count_alert(&stored, Count::Retracted { was_firing: true });
            self.notify(StoredAlert::new(retracted(&stored)));
        }
    }

    /// Replaces everything a team's detectors did from `from` on with `changes`, what
    /// they did when re-evaluated from there with the late changes in place: alerts that
    /// no longer happen are removed, changed ones rewritten, new ones added. Hooks that
    /// were told of an alert that changed get it `retracted`, then the corrected one; an
    /// alert that now merely resolves is a plain resolve.
    pub(super) fn reconcile(&mut self, ti: TeamIdx, from: Ms, changes: Vec<AlertChange>) {
        let team = self.team(ti).id.clone();
        let old: Vec<Arc<StoredAlert>> = self
            .team_alerts(&team, &[AlertKind::AuxCluster, AlertKind::AuxDispersion, AlertKind::UtilizationHigh])
            .filter(|a| a.fired_at >= from || a.resolved_at.is_none_or(|r| r >= from))
            .collect();
        self.reconcile_alerts(old, from, changes);
    }

    /// [`Engine::reconcile`] for one kind of a team's AHT chart (`interval`, SPEC §10),
    /// re-evaluated from the close `from` of a point a late contact changed.
    pub(super) fn reconcile_chart(&mut self, team: &str, interval: &str, from: Ms, changes: Vec<AlertChange>) {
        let old: Vec<Arc<StoredAlert>> = self
            .team_alerts(team, &[AlertKind::AhtOutOfControl])
            .filter(|a| a.interval.as_deref() == Some(interval))
            .filter(|a| a.fired_at >= from || a.resolved_at.is_none_or(|r| r >= from))
            .collect();
        self.reconcile_alerts(old, from, changes);
    }

    /// Replaces the stored alerts `old` (those a re-evaluation from `from` covers) with
    /// what the re-evaluation did (`changes`), telling hooks of each difference.
    fn reconcile_alerts(&mut self, old: Vec<Arc<StoredAlert>>, from: Ms, changes: Vec<AlertChange>) {
        // The alerts as they were at `from`, then as the re-evaluation changed them.
        let mut new: BTreeMap<String, Alert> = BTreeMap::new();
        for a in old.iter().filter(|a| a.fired_at < from) {
            let mut a = a.alert().clone();
            a.state = AlertState::Firing;
            a.resolved_at = None;
            new.insert(a.id.clone(), a);
        }
        for ch in changes {
            match ch {
                AlertChange::Fired(a) => {
                    new.insert(a.id.clone(), a);
                }
                AlertChange::Resolved { id, at } => {
                    if let Some(a) = new.get_mut(&id) {
                        a.state = AlertState::Resolved;
                        a.resolved_at = Some(at);
                    }
                }
            }
        }
        self.correct(old, new.into_values().collect());
    }

    /// Corrects the store from `old` (the stored alerts in a scope) to `new` (the same
    /// scope as the events now have it): alerts no longer there are retracted, changed
    /// ones retracted and told again, new ones told, and one that merely resolves is a
    /// plain resolve. `new` is in the order of the ids, each once ([`by_id`]): hooks are
    /// told in that order.
    pub(super) fn correct(&mut self, old: Vec<Arc<StoredAlert>>, new: Vec<Alert>) {
        debug_assert!(new.windows(2).all(|w| w[0].id < w[1].id), "new alerts in id order, each once");
        let mut changed = false;
        for o in &old {
            if new.binary_search_by(|n| n.id.as_str().cmp(&o.id)).is_err() {
                changed = true;
                self.store_remove(&o.id);
                self.count_alert(o, Count::Retracted { was_firing: o.is_firing() });
                self.notify(StoredAlert::new(retracted(o)));
            }
        }
        let old: BTreeMap<&str, &Arc<StoredAlert>> = old.iter().map(|a| (a.id.as_str(), a)).collect();
        for n in new {
            match old.get(n.id.as_str()).copied() {
                Some(o) if o.alert() == &n => {}
                // The same fire, resolved (or not) as it was: only what it measured or says
                // moved (the team's aux rate CV at the fire, once a late event or a roster
                // correction is in; the agents it lists; an `out_of_adherence` alert names
                // the agent, whose name may arrive after the fire). Stored and pushed as it
                // now reads, neither counted nor retracted: it fired once, at the same
                // instant, and a retraction tells receivers it never happened. Hooks send
                // each alert's state once, so the chats are not told again.
                Some(o) if o.same_fire(&n) && (o.state, o.resolved_at) == (n.state, n.resolved_at) => {
                    changed = true;
                    let n = StoredAlert::new(n);
                    self.store_put(n.clone());
                    self.notify(n);
                }
                Some(o) if o.same_fire(&n) && o.is_firing() => {
                    // It ends where it ended, now that the events are in.
                    changed = true;
                    let n = StoredAlert::new(n);
                    self.store_put(n.clone());
                    self.count_alert(&n, Count::Resolved);
                    self.notify(n);
                }
                // The same fire, whose resolve was wrong: it fires on, or ended at another
                // instant. Hooks are told as for any correction (they take back only a
                // resolve they sent, `Hooks::notify_all`), but it fired once and was never
                // withdrawn, so the counters move as if the events had come in one go: not
                // fired again, not retracted (an agent back in adherence and out again at
                // one instant, its two events read in one batch or in two).
                Some(o) if o.same_fire(&n) => {
                    changed = true;
                    self.notify(StoredAlert::new(retracted(o)));
                    if n.is_firing() {
                        self.count_alert(&n, Count::Unresolved);
                    }
                    self.tell_fire(n);
                }
                Some(o) => {
                    changed = true;
                    self.count_alert(o, Count::Retracted { was_firing: o.is_firing() });
                    self.notify(StoredAlert::new(retracted(o)));
                    self.tell_new(n);
                }
                None => {
                    changed = true;
                    self.tell_new(n);
                }
            }
        }
        if changed {
            self.version += 1;
        }
    }

    /// Stores an alert the re-evaluation found and tells of its fire (and resolve).
    fn tell_new(&mut self, n: Alert) {
        self.count_alert(&n, Count::Fired);
        if !n.is_firing() {
            self.count_alert(&n, Count::Resolved);
        }
        self.tell_fire(n);
    }

    /// Stores `n` and tells of its fire (and resolve), counting nothing.
    fn tell_fire(&mut self, n: Alert) {
        if !n.is_firing() {
            let mut fired = n.clone();
            fired.state = AlertState::Firing;
            fired.resolved_at = None;
            self.notify(StoredAlert::new(fired));
        }
        let n = StoredAlert::new(n);
        self.notify(n.clone());
        self.store_put(n);
    }

    /// Stores an alert under its id (replacing the one stored there), in the queues'
    /// index too.
    fn store_put(&mut self, a: Arc<StoredAlert>) {
        if let Some(r) = a.resolved_at {
            self.resolved_floor = self.resolved_floor.min(r);
        }
        let old = self.alerts.insert(a.clone());
        self.queue_alerts.replace(old.as_ref(), Some(&a));
        self.board_alerts.replace(old.as_ref(), Some(&a));
    }

    /// Removes a stored alert, from the queues' index too.
    fn store_remove(&mut self, id: &str) {
        let old = self.alerts.remove(id);
        self.queue_alerts.replace(old.as_ref(), None);
        self.board_alerts.replace(old.as_ref(), None);
    }

    /// Corrects a queue's stored alerts to what its history derives (SPEC §8.3, §2.5).
    ///
    /// The stored alerts it covers come from the queues' index (`queue_index`): those that
    /// are firing or ended within the re-evaluation, not the queue's 48 hours of alerts.
    pub(super) fn reconcile_queue(&mut self, queue: &str, d: Derived) {
        let old = self.queue_scope(queue, &d);
        debug_assert!(
            same_ids(&old, &self.queue_scope_walk(queue, &d)),
            "the queues' index gives the alerts of {queue} a walk of the store does"
        );
        if old.is_empty() && d.alerts.is_empty() {
            return;
        }
        self.correct(old, by_id(d.alerts));
    }

    /// The stored alerts of `queue` a reconcile to `d` covers: `long_wait` ones firing or
    /// ending at or after `d.long_wait_from`, `service_level_low` ones firing, firing at or
    /// after `d.sl_from` or ending so; each kind by id.
    pub(super) fn queue_scope(&self, queue: &str, d: &Derived) -> Vec<Arc<StoredAlert>> {
        let long = self.queue_alerts.live(queue, AlertKind::LongWait, d.long_wait_from);
        let sl = self.queue_alerts.live(queue, AlertKind::ServiceLevelLow, d.sl_from);
        long.into_iter()
            .filter(|a| long_wait_in_scope(a, d))
            .chain(sl.into_iter().filter(|a| sl_in_scope(a, d)))
            .collect()
    }

    /// [`Engine::queue_scope`] by walking the queue's alerts in the store (the reference
    /// for the index, in debug builds and tests).
    pub(super) fn queue_scope_walk(&self, queue: &str, d: &Derived) -> Vec<Arc<StoredAlert>> {
        self.queue_alerts(queue, AlertKind::LongWait)
            .filter(|a| long_wait_in_scope(a, d))
            .chain(self.queue_alerts(queue, AlertKind::ServiceLevelLow).filter(|a| sl_in_scope(a, d)))
            .collect()
    }

    /// The stored alerts of `queue` of `kind` (ids `kind:queue:<queue>:<ms>`).
    pub(super) fn queue_alerts<'a>(
        &'a self,
        queue: &'a str,
        kind: AlertKind,
    ) -> impl Iterator<Item = Arc<StoredAlert>> + 'a {
        let from = format!("{}:queue:{queue}:", kind.as_str());
        let to = format!("{}:queue:{queue};", kind.as_str());
        self.alerts.range(kind, &from, &to).filter(move |a| a.queue.as_deref() == Some(queue)).cloned()
    }

    /// Whether the queues' index holds exactly the store's queue alerts (tests).
    #[cfg(test)]
    pub(super) fn queue_index_matches_store(&self) -> bool {
        let stored: Vec<&Arc<StoredAlert>> = self.alerts.values().filter(|a| a.queue.is_some()).collect();
        stored.len() == self.queue_alerts.len()
            && stored.iter().all(|a| {
                let q = a.queue.as_deref().expect("a queue alert");
                self.queue_alerts.live(q, a.kind, Ms::MIN).iter().any(|b| Arc::ptr_eq(a, b))
            })
    }

    /// Counts a change of an alert on its team or queue (Prometheus).
    fn count_alert(&mut self, a: &Alert, c: Count) {
        let (firing, fired, retracted) = match &a.queue {
            Some(q) => {
                let Some(k) = AlertKind::QUEUE.iter().position(|k| *k == a.kind) else { return };
                let Some(queue) = self.queues.get_mut(q) else { return };
                (&mut queue.alerts_firing[k], &mut queue.alerts_fired[k], &mut queue.alerts_retracted[k])
            }
            None => {
                let Some(k) = AlertKind::TEAM.iter().position(|k| *k == a.kind) else { return };
                let counts = match self.team_index.get(&a.team) {
                    Some(&ti) => &mut self.team_mut(ti).alerts,
                    // A no-show's, whose `unassigned` is no team of the engine's.
                    None if a.team == super::UNASSIGNED => &mut self.unassigned_alerts,
                    None => return,
                };
                (&mut counts.firing[k], &mut counts.fired[k], &mut counts.retracted[k])
            }
        };
        match c {
            Count::Fired => {
                *firing += 1;
                *fired += 1;
            }
            Count::Resolved => *firing = firing.saturating_sub(1),
            Count::Unresolved => *firing += 1,
            Count::Retracted { was_firing } => {
                if was_firing {
                    *firing = firing.saturating_sub(1);
                }
                *retracted += 1;
            }
        }
    }

    /// Recounts every team's alert counters from the store (after a restore).
    pub(super) fn recount_alerts(&mut self) {
        let alerts: Vec<Alert> = self.alerts.values().map(|a| a.alert().clone()).collect();
        for a in &alerts {
            self.count_alert(a, Count::Fired);
            if !a.is_firing() {
                self.count_alert(a, Count::Resolved);
            }
        }
    }

    /// The stored alerts of `team` of the given kinds.
    ///
    /// Ids start with `kind:team:` (`Alert::make_id`): one range per kind instead of a walk
    /// over every team's alerts. The range may also hold a team whose id starts with this
    /// one and a colon; its id is longer, so comparing the lengths tells them apart without
    /// reading the team's bytes (a cache miss per alert).
    pub(super) fn team_alerts<'a>(
        &'a self,
        team: &'a str,
        kinds: &'a [AlertKind],
    ) -> impl Iterator<Item = Arc<StoredAlert>> + 'a {
        kinds
            .iter()
            .flat_map(move |k| {
                let from = format!("{}:{team}:", k.as_str());
                let to = format!("{}:{team};", k.as_str());
                self.alerts.range(*k, &from, &to)
            })
            .filter(move |a| a.team.len() == team.len())
            .inspect(move |a| debug_assert_eq!(a.team, team, "alert {} in the range of {team}", a.id))
            .cloned()
    }

    /// All alerts, oldest first (by fire time, then id).
    pub fn alerts(&self) -> Vec<Alert> {
        let mut v: Vec<Alert> = self.alerts.values().map(|a| a.alert().clone()).collect();
        v.sort_by(|a, b| (a.fired_at, &a.id).cmp(&(b.fired_at, &b.id)));
        v
    }

    /// The stored alerts on a board at `now`, and how many others fired by `now`, by a
    /// walk of the whole store (the reference for `board_alerts`).
    fn board_walk(&self, now: Ms) -> (Vec<Arc<StoredAlert>>, usize) {
        let (mut v, mut left) = (Vec::new(), 0);
        for a in self.alerts.values() {
            if a.on_board(now) {
                v.push(a.clone());
            } else if a.fired_at <= now {
                left += 1;
            }
        }
        (v, left)
    }

    /// The alerts a view returns: the stored ones (of `team`, when given) with the changes
    /// evaluated tentatively at `now` applied, oldest first.
    ///
    /// Only pointers are copied (`StoredAlert`): a view of one team (or of none, as the
    /// load benchmark's completion poll asks) must not pay for the whole floor's alert
    /// store (a clone of it was a third of the daemon's CPU under a polled ingest load), nor
    /// read more of its own alerts than their place in the store (BENCHMARKS.md).
    ///
    /// `queues`: in a team's view, the queues whose alerts it lists (None: every queue's).
    ///
    /// `board`: only the alerts a board shows ([`StoredAlert::on_board`]), with how many
    /// the full list has besides (the second value; 0 without `board`). A floor's store
    /// holds 48 hours of alerts (half a million with a roster of 100,000 agents: their
    /// `out_of_adherence`); copying and sorting all of them for a snapshot that shows the
    /// board's few was 40% of it.
    pub(super) fn view_alerts(
        &self,
        team: Option<&str>,
        queues: Option<&[String]>,
        tentative: Vec<AlertChange>,
        now: Ms,
        board: bool,
    ) -> (Vec<Arc<StoredAlert>>, usize) {
        // Stored alerts of the full list not collected (a floor's board): counted here, and
        // uncounted when a tentative change puts them in.
        let mut left = 0usize;
        let counted = |a: &StoredAlert| a.fired_at <= now;
        let mut alerts: Vec<Arc<StoredAlert>> = match team {
            // A team's view lists the queues' alerts too (they are the whole floor's), but
            // only those a board shows: firing or resolved in the last 10 minutes. A day of
            // 500 queues' alerts in every team snapshot made it 16 MB (BENCHMARKS.md).
            // Only the listed queues' when the view names them: scanning every queue's
            // alerts of 48 hours for the few on the board was a third of a team snapshot.
            Some(team) => {
                let on_board = |a: &Arc<StoredAlert>| a.on_board(now).then(|| a.clone());
                let queue_alerts: Vec<Arc<StoredAlert>> = match queues {
                    None => AlertKind::QUEUE
                        .iter()
                        .flat_map(|k| {
                            let from = format!("{}:queue:", k.as_str());
                            let to = format!("{}:queue;", k.as_str());
                            self.alerts.range(*k, &from, &to).filter_map(on_board)
                        })
                        .collect(),
                    Some(list) => AlertKind::QUEUE
                        .iter()
                        .flat_map(|k| list.iter().map(move |q| (k, q)))
                        .flat_map(|(k, q)| {
                            // `kind:queue:<queue>:<started_at>`; the range of queue `a` also
                            // holds queue `a:b`'s, hence the check of the queue itself.
                            let from = format!("{}:queue:{q}:", k.as_str());
                            let to = format!("{}:queue:{q};", k.as_str());
                            self.alerts
                                .range(*k, &from, &to)
                                .filter(move |a| a.queue.as_deref() == Some(q.as_str()))
                                .filter_map(on_board)
                        })
                        .collect(),
                };
                self.team_alerts(team, &AlertKind::TEAM).chain(queue_alerts).collect()
            }
            // From the board's index when it covers `now` (every non-board alert fired
            // before `now`: it resolved more than 10 minutes before, and no alert resolves
            // before it fires, so all the others are counted); else by a walk.
            None if board => match self.board_alerts.on_board(now) {
                Some(v) => {
                    left = self.alerts.len() - v.len();
                    #[cfg(debug_assertions)]
                    {
                        let (walked, walked_left) = self.board_walk(now);
                        debug_assert_eq!(
                            (left, same_set(&v, &walked)),
                            (walked_left, true),
                            "the board's index gives what a walk of the store does"
                        );
                    }
                    v
                }
                None => {
                    let (v, l) = self.board_walk(now);
                    left = l;
                    v
                }
            },
            None => self.alerts.values().cloned().collect(),
        };
        // A stored alert left out above that a tentative change replaces: in the list now.
        let uncollected = |id: &str, left: &mut usize| {
            if board
                && team.is_none()
                && let Some(s) = self.alerts.get(id)
                && !s.on_board(now)
            {
                *left -= usize::from(counted(s));
                return Some(s.clone());
            }
            None
        };
        // Few or none: found by pointer among the stored ones (no string compare per alert),
        // by id among those changed here.
        let mut changed: Vec<(String, usize)> = Vec::new();
        let find = |alerts: &[Arc<StoredAlert>], changed: &[(String, usize)], id: &str| {
            changed.iter().find(|(c, _)| c == id).map(|&(_, i)| i).or_else(|| {
                let stored = self.alerts.get(id)?;
                alerts.iter().position(|a| Arc::ptr_eq(a, stored))
            })
        };
        for ch in tentative {
            match ch {
                AlertChange::Fired(a) => {
                    if a.queue.is_some() || team.is_none_or(|t| t == a.team) {
                        let id = a.id.clone();
                        let i = match find(&alerts, &changed, &id) {
                            Some(i) => {
                                alerts[i] = StoredAlert::new(a);
                                i
                            }
                            None => {
                                uncollected(&id, &mut left);
                                alerts.push(StoredAlert::new(a));
                                alerts.len() - 1
                            }
                        };
                        changed.push((id, i));
                    }
                }
                AlertChange::Resolved { id, at } => {
                    if let Some(i) = find(&alerts, &changed, &id) {
                        alerts[i] = StoredAlert::new(resolved(&alerts[i], at));
                        changed.push((id, i));
                    } else if let Some(s) = uncollected(&id, &mut left) {
                        alerts.push(StoredAlert::new(resolved(&s, at)));
                        changed.push((id, alerts.len() - 1));
                    }
                }
            }
        }
        // Sorted on the fire time read once per alert; ids are compared on ties only.
        let mut keyed: Vec<(Ms, Arc<StoredAlert>)> =
            alerts.into_iter().map(|a| (a.fired_at, a)).filter(|(at, _)| *at <= now).collect();
        if board {
            let before = keyed.len();
            keyed.retain(|(_, a)| a.on_board(now));
            left += before - keyed.len();
        }
        keyed.sort_by(|(x, a), (y, b)| x.cmp(y).then_with(|| a.id.cmp(&b.id)));
        (keyed.into_iter().map(|(_, a)| a).collect(), left)
    }
}

/// `alerts` in the order of their ids, each id once: the last of the alerts with that id,
/// as a map collected from them would keep (what [`Engine::correct`] takes).
pub(super) fn by_id(alerts: impl IntoIterator<Item = Alert>) -> Vec<Alert> {
    let mut v: Vec<Alert> = alerts.into_iter().collect();
    // Reversed, then sorted stably: of the alerts of one id, the last comes first and is
    // the one `dedup_by` keeps.
    v.reverse();
    v.sort_by(|a, b| a.id.cmp(&b.id));
    v.dedup_by(|a, b| a.id == b.id);
    v
}

/// A copy of `a` resolved at `at`. (An alert never resolves before it fired: an event
/// that ends the condition before the fire time retracts the alert instead.)
pub(super) fn resolved(a: &Alert, at: Ms) -> Alert {
    let mut a = a.clone();
    a.state = AlertState::Resolved;
    a.resolved_at = Some(at.max(a.fired_at));
    a
}

/// Whether a reconcile to `d` covers a stored `long_wait` alert.
fn long_wait_in_scope(a: &Alert, d: &Derived) -> bool {
    a.is_firing() || a.resolved_at.is_some_and(|r| r >= d.long_wait_from)
}

/// Whether a reconcile to `d` covers a stored `service_level_low` alert.
fn sl_in_scope(a: &Alert, d: &Derived) -> bool {
    a.is_firing() || a.fired_at >= d.sl_from || a.resolved_at.is_some_and(|r| r >= d.sl_from)
}

/// Whether two lists hold the same alerts, in any order.
#[cfg(debug_assertions)]
fn same_set(a: &[Arc<StoredAlert>], b: &[Arc<StoredAlert>]) -> bool {
    let key = |v: &[Arc<StoredAlert>]| {
        let mut k: Vec<usize> = v.iter().map(|a| Arc::as_ptr(a) as usize).collect();
        k.sort_unstable();
        k
    };
    key(a) == key(b)
}

/// Whether two lists hold the same alerts in the same order.
fn same_ids(a: &[Arc<StoredAlert>], b: &[Arc<StoredAlert>]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| Arc::ptr_eq(x, y))
}

/// The notification that takes `a` back.
fn retracted(a: &Alert) -> Alert {
    let mut a = a.clone();
    a.retracted = true;
    a
}
