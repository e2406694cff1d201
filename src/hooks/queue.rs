//! One hook's bounded queue: `notify` pushes, the hook's worker pops.
//!
//! Full: the oldest alert is dropped and counted, so `notify` never waits and the newest
//! state of the floor always gets through. Each (alert id, state) is queued at most once
//! per hook; the last `SEEN_CAP` pairs are remembered (as 64-bit hashes, under 2 MiB),
//! far more than the alerts a floor raises between two fires of the same alert.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use super::limit::CountingWarn;
use super::metrics::HookMetrics;
use crate::alert::{Alert, AlertState};

const SEEN_CAP: usize = 65_536;

pub struct Queue {
    /// Locked by `notify` (any thread) and the worker, never across an `.await`.
    state: Mutex<State>,
    /// Wakes the worker; holds a permit when the worker is busy, so no push is missed.
    ready: Notify,
    capacity: usize,
    metrics: HookMetrics,
    name: String,
}

/// At most this many updates wait for the worker's next keep-alive; more are not kept
/// (those alerts are re-posted as they were sent, until they resolve).
const UPDATES_CAP: usize = 4096;
/// At most this many dropped firings wait for the worker's next keep-alive (as many as
/// it keeps alive); more are dropped unsaid, as for the chats.
const OWED_CAP: usize = 10_000;

struct State {
    items: VecDeque<Arc<Alert>>,
    /// Popped and not yet finished (delivered or given up): see [`Queue::idle`].
    inflight: usize,
    seen: Seen,
    /// Alerts whose firing a full queue dropped (never sent): their resolve and retraction
    /// are not sent either, and a later push of the firing is told ([`State::drop_oldest`]).
    unsaid: Seen,
    /// "Queue full" warnings, at most one a minute, each with the alerts dropped since the last.
    drop_warn: CountingWarn,
    /// Firing alerts already sent whose figures were corrected since (only when `owed`
    /// is kept), oldest first.
    updated: Vec<Arc<Alert>>,
    /// What a full queue dropped, by id, for the worker's next keep-alive; `None` unless
    /// the hook re-posts its firing alerts ([`Queue::reposting`]): firings never posted,
    /// resolves and retractions of firings posted. Alertmanager hears of them late, not
    /// never.
    owed: Option<HashMap<String, Arc<Alert>>>,
}

impl State {
    /// Drops the oldest queued alert (the queue is over its capacity). What it says is
    /// forgotten, as if it had never been queued: the chat never heard it. A dropped firing
    /// also silences its resolve and retraction, which would tell of a fire the chat never
    /// saw, until the firing is pushed again (the alert told anew, e.g. with its agent's
    /// name). A hook that re-posts its firing alerts (Alertmanager) owes it instead: the
    /// next keep-alive posts it, and its resolve is told as usual.
    fn drop_oldest(&mut self) -> Option<Arc<Alert>> {
        let old = self.items.pop_front()?;
        let room = self.owed.as_ref().is_some_and(|o| o.len() < OWED_CAP);
        if old.is_firing() && !old.retracted {
            // Not when its resolve is queued already: it never fires for this hook then.
            match self.owed.as_mut() {
                Some(owed) if room && !self.items.iter().any(|q| q.id == old.id && !q.retracted) => {
                    owed.insert(old.id.clone(), old.clone());
                }
                _ => self.unsay_firing(&old.id),
            }
        } else if room && self.owed.as_ref().is_some_and(|o| o.get(&old.id).is_none_or(|f| !f.is_firing())) {
            // A resolve or a retraction of a firing the hook posted: lost, Alertmanager
            // would keep the alert active (the keep-alives re-posting it) for ever. The next
            // keep-alive posts it instead, and stops keeping the alert alive.
            self.owed.as_mut().expect("owed").insert(old.id.clone(), old.clone());
        } else if !old.retracted {
            // Its firing still owed (never posted): neither is said.
            if self.forgive(&old.id).is_some() {
                self.unsay_firing(&old.id);
            }
            self.seen.remove(&old.id, old.state);
        }
        Some(old)
    }

    /// Takes alert `id` out of what the next keep-alive owes, and returns it.
    fn forgive(&mut self, id: &str) -> Option<Arc<Alert>> {
        self.owed.as_mut().and_then(|o| o.remove(id))
    }

    /// Alert `id`'s firing never reached the chat (dropped, or given up): its resolve is
    /// not sent, one still queued included, nor its retraction ([`Queue::push`]), until the
    /// firing is pushed again.
    fn unsay_firing(&mut self, id: &str) {
        self.seen.remove(id, AlertState::Firing);
        self.unsaid.insert(id, AlertState::Firing);
        self.items.retain(|q| !(q.id == id && q.state == AlertState::Resolved && !q.retracted));
        self.seen.remove(id, AlertState::Resolved);
    }
}

impl Queue {
    pub fn new(name: String, capacity: usize, metrics: HookMetrics) -> Queue {
        Queue {
            state: Mutex::new(State {
                items: VecDeque::new(),
                inflight: 0,
                seen: Seen::default(),
                unsaid: Seen::default(),
                drop_warn: CountingWarn::new(Duration::from_secs(60)),
                updated: Vec::new(),
                owed: None,
            }),
            ready: Notify::new(),
            capacity,
            metrics,
            name,
        }
    }

    /// The hook re-posts its firing alerts (Alertmanager keep-alives): the queue keeps the
    /// updates of alerts already sent ([`Queue::take_updates`]) and the firings it drops
    /// when full ([`Queue::take_owed`]) for the worker.
    pub fn reposting(mut self, on: bool) -> Queue {
        self.state.get_mut().expect("hook queue lock").owed = on.then(HashMap::new);
        self
    }

    /// The firing alerts already sent that were told again since with their figures
    /// corrected (same fire, same state), oldest first.
    pub fn take_updates(&self) -> Vec<Arc<Alert>> {
        std::mem::take(&mut self.lock().updated)
    }

    /// What a full queue dropped that the worker's next keep-alive posts: firings never
    /// posted (as they now read), and resolves and retractions of firings it did post
    /// (lost, Alertmanager would be kept told the alert fires).
    pub fn take_owed(&self) -> Vec<Arc<Alert>> {
        let mut st = self.lock();
        st.owed.as_mut().map(|o| o.drain().map(|(_, a)| a).collect()).unwrap_or_default()
    }

    /// Something dropped waits for the worker's next keep-alive.
    pub fn owes(&self) -> bool {
        self.lock().owed.as_ref().is_some_and(|o| !o.is_empty())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("hook queue lock")
    }

    /// Queues `a` unless this (id, state) was queued before. Never blocks.
    ///
    /// A retraction (`a.retracted`: late events showed the alert did not happen as told)
    /// takes back what this hook sent of the alert: what is still queued of it is dropped
    /// (it was never said), and the retraction is queued if the firing went out, whether
    /// or not its resolve did, as the hook told it (firing, without the resolve time, when
    /// the resolve did not go out). Either way the alert's (id, state) pairs are forgotten, so
    /// the corrected alert that follows (same id when its start did not move) is told
    /// again. An earlier retraction still queued stays: it takes back a fire that went out.
    ///
    /// The engine tells an alert again, not retracted, when only the figures at its fire
    /// moved: a state of it queued and not yet sent is replaced (it goes out as it now
    /// reads); one already sent is not sent again, and is kept for the worker's keep-alives
    /// when the queue keeps updates.
    pub fn push(&self, a: &Arc<Alert>) {
        let mut st = self.lock();
        let mut a = a;
        let as_known;
        if a.retracted {
            let (mut firing_queued, mut resolve_queued) = (false, false);
            st.items.retain(|q| {
                let unsaid = q.id == a.id && !q.retracted;
                firing_queued |= unsaid && q.is_firing();
                resolve_queued |= unsaid && q.state == AlertState::Resolved;
                !unsaid
            });
            // A firing owed to the keep-alive was never posted; a resolve owed takes back
            // one that was, and the retraction says more.
            let owed = st.forgive(&a.id).is_some_and(|o| o.is_firing());
            let sent = st.seen.contains(&a.id, AlertState::Firing) && !firing_queued && !owed;
            // The alert as this hook told it: firing, when its resolve never went out.
            if a.state == AlertState::Resolved && (resolve_queued || !st.seen.contains(&a.id, AlertState::Resolved)) {
                as_known = Arc::new(Alert { state: AlertState::Firing, resolved_at: None, ..(**a).clone() });
                a = &as_known;
            }
            st.seen.remove(&a.id, AlertState::Firing);
            st.seen.remove(&a.id, AlertState::Resolved);
            st.unsaid.remove(&a.id, AlertState::Firing);
            if !sent {
                self.metrics.depth.set(st.items.len() as i64);
                tracing::trace!(hook = %self.name, id = %a.id, "retracted before it was sent; dropped");
                return;
            }
        } else if a.state == AlertState::Resolved && st.unsaid.contains(&a.id, AlertState::Firing) {
            tracing::trace!(hook = %self.name, id = %a.id, "its firing was dropped on a full queue; resolve skipped");
            return;
        } else if a.state == AlertState::Resolved
            && st.owed.as_ref().and_then(|o| o.get(&a.id)).is_some_and(|o| o.is_firing())
        {
            st.forgive(&a.id);
            // Dropped, and resolved before a keep-alive posted it: never said, like the above.
            st.unsay_firing(&a.id);
            tracing::trace!(hook = %self.name, id = %a.id, "resolved before its dropped firing was re-posted; skipped");
            return;
        } else if !st.seen.insert(&a.id, a.state) {
            if let Some(q) = st.items.iter_mut().find(|q| q.id == a.id && q.state == a.state && !q.retracted) {
                *q = a.clone();
                tracing::trace!(hook = %self.name, id = %a.id, "queued and not sent: replaced by its update");
            } else if let Some(o) =
                st.owed.as_mut().and_then(|o| o.get_mut(&a.id)).filter(|o| o.state == a.state && !o.retracted)
            {
                *o = a.clone();
                tracing::trace!(hook = %self.name, id = %a.id, "owed to the next keep-alive: replaced by its update");
            } else if st.owed.is_some() && a.is_firing() && st.updated.len() < UPDATES_CAP {
                st.updated.push(a.clone());
            } else {
                tracing::trace!(hook = %self.name, id = %a.id, "already queued once; skipped");
            }
            return;
        } else if a.is_firing() {
            st.unsaid.remove(&a.id, AlertState::Firing);
        }
        let mut dropped = None;
        if st.items.len() >= self.capacity {
            dropped = st.drop_oldest();
        }
        // The oldest was this alert's own firing (now unsaid): its resolve goes with it.
        if !a.retracted && a.state == AlertState::Resolved && st.unsaid.contains(&a.id, AlertState::Firing) {
            st.seen.remove(&a.id, AlertState::Resolved);
        } else {
            st.items.push_back(a.clone());
        }
        self.metrics.depth.set(st.items.len() as i64);
        let warn = dropped.as_ref().and_then(|_| st.drop_warn.add(1));
        let reposts = st.owed.is_some();
        drop(st);
        if let Some(old) = dropped {
            self.metrics.dropped.inc();
            if let Some(w) = warn {
                self.warn_dropped(w, &old.id, reposts);
            }
        }
        self.ready.notify_one();
    }

    /// The warning of a full queue: how many alerts it dropped since the last one.
    fn warn_dropped(&self, (dropped, warnings_suppressed): (u64, u64), last: &str, reposts: bool) {
        tracing::warn!(
            hook = %self.name, dropped, capacity = self.capacity, warnings_suppressed, last,
            "hook queue full ({} alerts waiting): dropped the oldest, {dropped} since the last warning{}",
            self.capacity,
            if reposts { "; the next keep-alive posts what they said" } else { "" }
        );
    }

    /// Takes back a resolve that late events showed was wrong, the alert firing on as it
    /// fired: `retraction` is the resolve retracted, `firing` the same fire
    /// ([`Alert::same_fire`]). A resolve still queued was never said, so it is dropped and
    /// the firing is queued only if this hook never had it: queued again, a firing already
    /// sent would show in the chat a second time. A resolve that went out is retracted and
    /// the alert told firing again, as `push` does for any correction.
    pub fn unresolve(&self, retraction: &Arc<Alert>, firing: &Arc<Alert>) {
        if !self.drop_queued_resolve(&retraction.id) {
            self.push(retraction);
        }
        self.push(firing);
    }

    /// Drops alert `id`'s resolve if it is still queued, and forgets it was queued (a
    /// later resolve of the alert is told). False if it was not there.
    fn drop_queued_resolve(&self, id: &str) -> bool {
        let mut st = self.lock();
        let queued = st.items.iter().position(|q| q.id == id && q.state == AlertState::Resolved && !q.retracted);
        let Some(i) = queued else { return false };
        st.items.remove(i);
        st.seen.remove(id, AlertState::Resolved);
        self.metrics.depth.set(st.items.len() as i64);
        tracing::trace!(hook = %self.name, id, "resolve taken back before it was sent; dropped");
        true
    }

    /// The worker gave up on `batch` (attempts exhausted, or the destination refused it).
    /// A firing among it was never said, as if a full queue had dropped it: its resolve
    /// and retraction are not sent (one still queued is dropped), and a later push of the
    /// firing (the alert told anew) goes out. For the chats and webhooks; Alertmanager
    /// keeps a firing it could not post alive instead, and resolves it as usual.
    pub fn given_up(&self, batch: &[Arc<Alert>]) {
        let mut st = self.lock();
        for a in batch.iter().filter(|a| a.is_firing() && !a.retracted) {
            st.unsay_firing(&a.id);
        }
        self.metrics.depth.set(st.items.len() as i64);
    }

    /// Resolves when something may have been pushed since the last call.
    pub async fn ready(&self) {
        self.ready.notified().await
    }

    pub fn is_empty(&self) -> bool {
        self.lock().items.is_empty()
    }

    /// Nothing queued, nothing in flight and nothing dropped owed to a keep-alive: every
    /// alert pushed so far is delivered or given up (the cluster records how far hook
    /// delivery got only then).
    pub fn idle(&self) -> bool {
        let st = self.lock();
        st.items.is_empty() && st.inflight == 0 && st.owed.as_ref().is_none_or(HashMap::is_empty)
    }

    /// The worker finished the alerts it popped.
    pub fn finished(&self) {
        self.lock().inflight = 0;
    }

    /// Takes up to `max` alerts from the front (in flight until [`Queue::finished`]).
    pub fn pop(&self, max: usize) -> Vec<Arc<Alert>> {
        let mut st = self.lock();
        let n = max.min(st.items.len());
        let out: Vec<_> = st.items.drain(..n).collect();
        st.inflight += out.len();
        self.metrics.depth.set(st.items.len() as i64);
        out
    }

    /// Puts back, at the front and in order, alerts popped but not sent. If the queue
    /// filled up meanwhile, the oldest go, as in `push`.
    pub fn unpop(&self, rest: Vec<Arc<Alert>>) {
        if rest.is_empty() {
            return;
        }
        let mut st = self.lock();
        st.inflight = st.inflight.saturating_sub(rest.len());
        for a in rest.into_iter().rev() {
            st.items.push_front(a);
        }
        let mut dropped = 0;
        let mut last = None;
        while st.items.len() > self.capacity {
            last = st.drop_oldest();
            dropped += 1;
        }
        self.metrics.depth.set(st.items.len() as i64);
        let warn = if dropped > 0 { st.drop_warn.add(dropped) } else { None };
        let reposts = st.owed.is_some();
        drop(st);
        if dropped > 0 {
            self.metrics.dropped.inc_by(dropped);
        }
        if let (Some(w), Some(last)) = (warn, last) {
            self.warn_dropped(w, &last.id, reposts);
        }
    }

    /// Empties the queue (shutdown); returns how many alerts were in it.
    pub fn clear(&self) -> usize {
        let mut st = self.lock();
        let n = st.items.len();
        st.items.clear();
        self.metrics.depth.set(0);
        n
    }

    pub fn len(&self) -> usize {
        self.lock().items.len()
    }
}

/// Remembers (id, state) pairs, oldest forgotten first.
#[derive(Default)]
struct Seen {
    set: HashSet<u64>,
    order: VecDeque<u64>,
    hasher: RandomState,
}

impl Seen {
    fn hash(&self, id: &str, state: AlertState) -> u64 {
        self.hasher.hash_one((id, state == AlertState::Firing))
    }

    fn contains(&self, id: &str, state: AlertState) -> bool {
        self.set.contains(&self.hash(id, state))
    }

    /// Forgets a pair (its place in `order` goes stale and is skipped when it comes up).
    fn remove(&mut self, id: &str, state: AlertState) {
        let h = self.hash(id, state);
        self.set.remove(&h);
    }

    /// False if the pair was already there.
    fn insert(&mut self, id: &str, state: AlertState) -> bool {
        let h = self.hash(id, state);
        if !self.set.insert(h) {
            return false;
        }
        self.order.push_back(h);
        if self.order.len() > SEEN_CAP
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::AlertKind;

    fn alert(n: i64, state: AlertState) -> Arc<Alert> {
        Arc::new(Alert {
            id: Alert::make_id(AlertKind::AuxCluster, "T1", None, n),
            kind: AlertKind::AuxCluster,
            team: "T1".into(),
            queue: None,
            agent: None,
            severity: AlertKind::AuxCluster.severity(),
            state,
            started_at: n,
            fired_at: n,
            resolved_at: (state == AlertState::Resolved).then_some(n),
            value: 0.5,
            threshold: 0.2,
            message: String::new(),
            agents: vec![],
            interval: None,
            retracted: false,
        })
    }

    fn queue(cap: usize) -> Queue {
        let reg = prometheus::Registry::new();
        let m = super::super::metrics::Metrics::register(&reg).unwrap();
        let spec = super::super::config::resolve_all(
            &[super::super::HookConfig {
                kind: "webhook".into(),
                url: "http://127.0.0.1:1/".into(),
                ..Default::default()
            }],
            std::path::Path::new("."),
        )
        .unwrap()
        .remove(0);
        Queue::new("q".into(), cap, m.for_hook(&spec))
    }

    fn ids(v: &[Arc<Alert>]) -> Vec<i64> {
        v.iter().map(|a| a.started_at).collect()
    }

    #[test]
    fn dedups_by_id_and_state() {
        let q = queue(10);
        q.push(&alert(1, AlertState::Firing));
        q.push(&alert(1, AlertState::Firing));
        q.push(&alert(1, AlertState::Resolved));
        q.push(&alert(1, AlertState::Resolved));
        let got = q.pop(10);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].state, AlertState::Firing);
        assert_eq!(got[1].state, AlertState::Resolved);
        // Delivered pairs stay remembered.
        q.push(&alert(1, AlertState::Firing));
        assert!(q.is_empty());
    }

    fn retraction(a: &Arc<Alert>) -> Arc<Alert> {
        let mut r = (**a).clone();
        r.retracted = true;
        Arc::new(r)
    }

    /// A retraction goes out only for what went out; then the corrected alert (same id)
    /// is told again.
    #[test]
    fn retractions_take_back_what_was_told_and_nothing_else() {
        let q = queue(10);
        let fired = alert(1, AlertState::Firing);
        // Still queued: the fire is dropped, and no retraction is sent.
        q.push(&fired);
        q.push(&retraction(&fired));
        assert!(q.is_empty());
        // Never told at all: nothing.
        q.push(&retraction(&alert(2, AlertState::Firing)));
        assert!(q.is_empty());
        // Told: the retraction goes out, then the corrected fire of the same id.
        q.push(&fired);
        assert_eq!(q.pop(10).len(), 1);
        q.push(&retraction(&fired));
        q.push(&fired);
        let got = q.pop(10);
        assert_eq!(got.iter().map(|a| a.retracted).collect::<Vec<_>>(), [true, false]);
    }

    /// The hook has sent the first `sent` of an alert's (firing, resolve) when `correct`
    /// (given the queue, the firing and the resolve) corrects it; the hook then sends
    /// `expected` (state, retracted).
    fn check_correction(
        sent: usize,
        correct: impl Fn(&Queue, &Arc<Alert>, &Arc<Alert>),
        expected: &[(AlertState, bool)],
    ) {
        let q = queue(10);
        let (fired, resolved) = (alert(1, AlertState::Firing), alert(1, AlertState::Resolved));
        q.push(&fired);
        q.push(&resolved);
        q.pop(sent);
        q.finished();
        correct(&q, &fired, &resolved);
        let got: Vec<_> = q.pop(10).iter().map(|a| (a.state, a.retracted)).collect();
        assert_eq!(got, expected, "{sent} sent");
    }

    /// The alert is taken back (no corrected one follows).
    fn check_retraction(sent: usize, expected: &[(AlertState, bool)]) {
        check_correction(sent, |q, _, resolved| q.push(&retraction(resolved)), expected);
    }

    /// A retraction goes out when the firing went out, whether or not the resolve did.
    #[test]
    fn a_fire_that_went_out_is_retracted_even_if_its_resolve_did_not() {
        check_retraction(0, &[]);
        // As the hook told it: firing, its resolve never sent.
        check_retraction(1, &[(AlertState::Firing, true)]);
        check_retraction(2, &[(AlertState::Resolved, true)]);
    }

    /// A retraction still queued takes back a fire that went out: a later one of the same
    /// alert (its corrected fire taken back before it was sent) leaves it queued.
    #[test]
    fn a_queued_retraction_stays_queued() {
        let q = queue(10);
        let fired = alert(1, AlertState::Firing);
        let corrected = Arc::new(Alert { value: 0.6, ..(*fired).clone() });
        q.push(&fired);
        q.pop(1);
        q.finished();
        q.push(&retraction(&fired));
        q.push(&corrected);
        q.push(&retraction(&corrected));
        let got: Vec<_> = q.pop(10).iter().map(|a| (a.value, a.retracted)).collect();
        assert_eq!(got, [(0.5, true)]);
    }

    /// The figures at a fire moved (the engine tells the alert again, not retracted): a
    /// firing still queued goes out as it now reads; one already sent is not sent again.
    #[test]
    fn an_update_replaces_a_queued_firing_and_skips_a_sent_one() {
        let q = queue(10);
        let fired = alert(1, AlertState::Firing);
        let updated = Arc::new(Alert { value: 0.6, ..(*fired).clone() });
        q.push(&fired);
        q.push(&updated);
        let got: Vec<_> = q.pop(10).iter().map(|a| (a.value, a.retracted)).collect();
        assert_eq!(got, [(0.6, false)]);
        q.finished();
        q.push(&Arc::new(Alert { value: 0.7, ..(*fired).clone() }));
        assert!(q.pop(10).is_empty());
        assert!(q.take_updates().is_empty(), "kept only for a hook that re-posts");
        // An Alertmanager hook re-posts its firing alerts: the sent one's update is kept for
        // its worker, once.
        let q = queue(10).reposting(true);
        q.push(&fired);
        q.pop(1);
        q.finished();
        q.push(&Arc::new(Alert { value: 0.7, ..(*fired).clone() }));
        assert!(q.pop(10).is_empty());
        let got: Vec<_> = q.take_updates().iter().map(|a| a.value).collect();
        assert_eq!(got, [0.7]);
        assert!(q.take_updates().is_empty());
    }

    /// A resolve taken back, the alert firing on.
    fn check_unresolve(sent: usize, expected: &[(AlertState, bool)]) {
        check_correction(sent, |q, fired, resolved| q.unresolve(&retraction(resolved), fired), expected);
    }

    #[test]
    fn an_unresolve_takes_back_only_a_resolve_that_went_out() {
        // Nothing sent: the firing still queued is all there is to say.
        check_unresolve(0, &[(AlertState::Firing, false)]);
        // The firing sent, the resolve not: nothing (the bug: the firing a second time).
        check_unresolve(1, &[]);
        // Both sent: the resolve is taken back and the alert fires again.
        check_unresolve(2, &[(AlertState::Resolved, true), (AlertState::Firing, false)]);
    }

    /// The resolve dropped is forgotten, the firing sent is not: a later resolve of the
    /// alert is told, a repeat of the firing is not.
    #[test]
    fn after_an_unresolve_the_next_resolve_is_told() {
        let q = queue(10);
        let (fired, resolved) = (alert(1, AlertState::Firing), alert(1, AlertState::Resolved));
        q.push(&fired);
        q.pop(1);
        q.finished();
        q.push(&resolved);
        q.unresolve(&retraction(&resolved), &fired);
        q.push(&fired);
        assert!(q.is_empty());
        q.push(&resolved);
        assert_eq!(q.pop(10).iter().map(|a| a.state).collect::<Vec<_>>(), [AlertState::Resolved]);
    }

    #[test]
    fn full_queue_drops_the_oldest_and_counts() {
        let q = queue(3);
        for n in 1..=5 {
            q.push(&alert(n, AlertState::Firing));
        }
        assert_eq!(q.metrics.dropped.get(), 2);
        assert_eq!(q.metrics.depth.get(), 3);
        let front = q.pop(2);
        assert_eq!(ids(&front), [3, 4]);
        q.push(&alert(6, AlertState::Firing));
        q.push(&alert(7, AlertState::Firing));
        // Putting 3 and 4 back overfills: they are the oldest, so they go.
        q.unpop(front);
        assert_eq!(q.metrics.dropped.get(), 4);
        assert_eq!(ids(&q.pop(10)), [5, 6, 7]);
    }

    /// A firing dropped on a full queue was never sent: its resolve would tell the chat of
    /// a fire it never saw, and its retraction would take back what it never said.
    #[test]
    fn a_firing_dropped_on_a_full_queue_is_not_resolved_or_retracted() {
        let states = |q: &Queue| q.pop(10).iter().map(|a| (a.started_at, a.state, a.retracted)).collect::<Vec<_>>();
        let q = queue(2);
        let (f1, r1) = (alert(1, AlertState::Firing), alert(1, AlertState::Resolved));
        let (f2, f3) = (alert(2, AlertState::Firing), alert(3, AlertState::Firing));
        q.push(&f1);
        q.push(&f2);
        q.push(&f3); // drops f1
        q.push(&r1);
        q.push(&retraction(&r1));
        assert_eq!(q.metrics.dropped.get(), 1);
        assert_eq!(states(&q), [(2, AlertState::Firing, false), (3, AlertState::Firing, false)]);

        // The resolve already queued when its firing is dropped: it goes too.
        let q = queue(2);
        q.push(&f1);
        q.push(&r1);
        q.push(&f2); // drops f1
        assert_eq!(states(&q), [(2, AlertState::Firing, false)]);

        // The resolve arrives at a full queue whose oldest is its own firing: both go.
        let q = queue(2);
        q.push(&f1);
        q.push(&f2);
        q.push(&r1);
        assert_eq!(states(&q), [(2, AlertState::Firing, false)]);

        // The dropped firing told again (its agent's name came, say) goes out, and then
        // its resolve does.
        let q = queue(1);
        q.push(&f1);
        q.push(&f2); // drops f1
        q.pop(1);
        q.finished();
        q.push(&r1);
        assert!(q.is_empty(), "the resolve of a firing never sent");
        q.push(&f1);
        assert_eq!(states(&q), [(1, AlertState::Firing, false)]);
        q.finished();
        q.push(&r1);
        assert_eq!(states(&q), [(1, AlertState::Resolved, false)]);
    }

    /// Alerts put back after a failed attempt that overfill the queue are dropped as in
    /// `push`: a firing among them is not resolved later.
    #[test]
    fn a_firing_dropped_when_put_back_is_not_resolved() {
        let q = queue(2);
        let f1 = alert(1, AlertState::Firing);
        q.push(&f1);
        let front = q.pop(1);
        q.push(&alert(2, AlertState::Firing));
        q.push(&alert(3, AlertState::Firing));
        q.unpop(front); // f1 is the oldest: it goes
        q.push(&alert(1, AlertState::Resolved));
        assert_eq!(ids(&q.pop(10)), [2, 3]);
    }

    /// A hook that re-posts its firing alerts (Alertmanager) owes a firing its full queue
    /// dropped to the next keep-alive, as it now reads, and tells its resolve as usual;
    /// unless the alert resolved (or was retracted) before that, or its resolve was queued
    /// already: then it never fired for the hook, as for the chats.
    #[test]
    fn a_reposting_hook_owes_a_dropped_firing_to_its_next_keep_alive() {
        let states = |q: &Queue| q.pop(10).iter().map(|a| (a.started_at, a.state, a.retracted)).collect::<Vec<_>>();
        let owed = |q: &Queue| {
            let mut v: Vec<_> = q.take_owed().iter().map(|a| (a.started_at, a.value)).collect();
            v.sort_by_key(|x| x.0);
            v
        };
        let (f1, r1) = (alert(1, AlertState::Firing), alert(1, AlertState::Resolved));
        let (f2, f3, f4) = (alert(2, AlertState::Firing), alert(3, AlertState::Firing), alert(4, AlertState::Firing));
        let q = queue(2).reposting(true);
        q.push(&f1);
        q.push(&f2);
        q.push(&f3); // drops f1: owed
        assert_eq!(q.metrics.dropped.get(), 1);
        assert!(q.owes());
        // Told again with its figures moved while it waits: owed as it now reads.
        q.push(&Arc::new(Alert { value: 0.7, ..(*f1).clone() }));
        assert_eq!(owed(&q), [(1, 0.7)]);
        assert!(!q.owes());
        assert_eq!(states(&q), [(2, AlertState::Firing, false), (3, AlertState::Firing, false)]);
        q.finished();
        // Posted by the keep-alive: a repeat is not queued, its resolve is.
        q.push(&f1);
        q.push(&r1);
        assert_eq!(states(&q), [(1, AlertState::Resolved, false)]);
        q.finished();

        // Resolved before the keep-alive: nothing of it; told firing again, it goes out.
        let q = queue(2).reposting(true);
        for f in [&f1, &f2, &f3] {
            q.push(f);
        }
        q.push(&r1);
        assert!(owed(&q).is_empty());
        assert_eq!(states(&q), [(2, AlertState::Firing, false), (3, AlertState::Firing, false)]);
        q.finished();
        q.push(&f1);
        assert_eq!(states(&q), [(1, AlertState::Firing, false)]);

        // Retracted before the keep-alive: nothing of it either.
        let q = queue(2).reposting(true);
        for f in [&f1, &f2, &f3] {
            q.push(f);
        }
        q.push(&retraction(&f1));
        assert!(owed(&q).is_empty());
        assert_eq!(states(&q).len(), 2);

        // Its resolve queued when the firing is dropped: both go, nothing owed.
        let q = queue(3).reposting(true);
        for a in [&f1, &r1, &f2, &f3] {
            q.push(a);
        }
        assert!(!q.owes());
        assert_eq!(states(&q), [(2, AlertState::Firing, false), (3, AlertState::Firing, false)]);

        // A firing owed keeps the queue from idle (the cluster records hook delivery as
        // done only then) until the keep-alive takes it.
        let q = queue(1).reposting(true);
        q.push(&f1);
        q.push(&f2); // drops f1: owed
        q.pop(1);
        q.finished();
        assert!(!q.idle());
        assert_eq!(owed(&q), [(1, 0.5)]);
        assert!(q.idle());

        // A resolve dropped, of a firing posted: owed too (Alertmanager would be kept told
        // the alert fires by the keep-alives), as is a retraction.
        let q = queue(2).reposting(true);
        q.push(&f1);
        q.pop(1);
        q.finished();
        for a in [&r1, &f2, &f3] {
            q.push(a);
        }
        let got: Vec<_> = q.take_owed().iter().map(|a| (a.started_at, a.state)).collect();
        assert_eq!(got, [(1, AlertState::Resolved)]);
        q.push(&f4);
        q.push(&retraction(&f2)); // f2 still queued: dropped, nothing to take back
        q.pop(10);
        q.finished();
        q.push(&retraction(&f3));
        q.push(&f1); // told already
        let (f5, f6) = (alert(5, AlertState::Firing), alert(6, AlertState::Firing));
        q.push(&f5);
        q.push(&f6); // drops the retraction of f3
        let got: Vec<_> = q.take_owed().iter().map(|a| (a.started_at, a.retracted)).collect();
        assert_eq!(got, [(3, true)]);

        // A hook that does not re-post owes nothing: the firing is unsaid.
        let q = queue(2);
        for f in [&f1, &f2, &f3, &f4] {
            q.push(f);
        }
        assert!(!q.owes() && q.take_owed().is_empty());
    }

    #[test]
    fn seen_forgets_the_oldest_beyond_its_cap() {
        let mut s = Seen::default();
        for i in 0..=SEEN_CAP {
            assert!(s.insert(&i.to_string(), AlertState::Firing));
        }
        assert!(s.insert("0", AlertState::Firing), "the first pair was forgotten");
        assert!(!s.insert(&SEEN_CAP.to_string(), AlertState::Firing));
        assert_eq!(s.order.len(), SEEN_CAP);
    }
}
