//! Asterisk (app_queue) over the Manager Interface: the mapping from AMI messages to native
//! agent events (SPEC §2.1) and call events (SPEC §8.1), SPEC §7 "Asterisk in detail".
//!
//! The [`Mapper`] is pure: messages and the instants they were received go in, native
//! events come out; it reads no clock and does no I/O, so every rule below is a row of a
//! table test. The client that feeds it (login, QueueStatus, reconnects) is
//! [`super::client`].
//!
//! - agent = the member's `Interface` (QueueStatus: `Location`); name = `MemberName`
//!   (`Name`); team = `[sources.teams]`'s entry for the agent, else the first queue the
//!   member was seen in.
//! - offline ← removed from every queue it was in, or `Status` 4/5 (invalid, unavailable:
//!   the device is gone; any member event carrying `Status` says so, `QueueMemberStatus`
//!   included — it changes nothing else); talking ← from `AgentConnect` to
//!   `AgentComplete` (or `InCall: 1` in a state report); acw ← `AgentComplete` for the
//!   member's `Wrapuptime` when > 0, else `wrapup_secs` (or, for a member first seen in a
//!   QueueStatus answer, until its `LastCall` plus that wrap-up); aux(`PausedReason`, else
//!   `unspecified`) ← paused in every queue it is in; idle otherwise.
//! - `QueueMemberStatus`, `AgentCalled`, `AgentRingNoAnswer` change no state: ringing is
//!   idle, and the `QueueMemberStatus` after every `AgentComplete` does not end wrap-up.
//! - Wrap-up has no end event: the mapper emits it, dated at its end, once stream time
//!   reaches it (a later message, or [`Mapper::tick`]); never dated in the future. The
//!   member's pause, `AgentConnect`, removal or re-add before then ends it early (Asterisk
//!   counts wrap-up in whole seconds: the next call may connect a fraction early), and the
//!   pending end is dropped.
//! - ts = `Timestamp:` (`timestampevents = yes`). Messages without one (QueueStatus's
//!   answers) are dated in stream time: the last `Timestamp` plus the wall time since it
//!   arrived. Until the connection has shown a `Timestamp`, they are held (at most
//!   [`HOLD_MS`]): a platform that timestamps its events is then never contradicted by a
//!   snapshot dated by our clock; one that does not gets receipt time.
//! - calls: queued ← `QueueCallerJoin` (call = `Uniqueid`) or a QueueStatus `QueueEntry`
//!   (dated `Wait` seconds before the answer; a waiting call the answer no longer lists
//!   ended unseen while disconnected: left at the answer), answered ← `AgentConnect`,
//!   abandoned ← `QueueCallerAbandon`; `QueueCallerLeave` comes for every caller that
//!   leaves (just before `AgentConnect`, just after `QueueCallerAbandon`), so it is `left`
//!   only if neither follows within [`LEAVE_GRACE_MS`] of stream time. Asterisk 22 also
//!   sends `QueueCallerAbandon` when the queue's timeout ends a wait: an abandon whose
//!   channel got no `HangupRequest` first is `left` (see `caller_abandon`).
//!
//! Bounded: at most [`MAX_MEMBERS`] members, [`MAX_QUEUES_PER_MEMBER`] queues each,
//! [`MAX_CALLS`] calls tracked, [`MAX_HELD`] messages held. A member or call past a bound
//! is refused (`invalid`, `unmapped`); events the mapping does not follow are ignored.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use compact_str::CompactString;

use super::ami::Message;
use crate::event::{DecodeError, Event, Refusal, State, UNSPECIFIED};
use crate::time::Ms;

/// Most members tracked by one source.
pub const MAX_MEMBERS: usize = 100_000;
/// Most queues one member is tracked in.
pub const MAX_QUEUES_PER_MEMBER: usize = 256;
/// Most waiting calls (and recently abandoned ones) tracked.
pub const MAX_CALLS: usize = 100_000;
/// Most untimed messages held while the stream's clock is unknown.
pub const MAX_HELD: usize = 200_000;
/// How long untimed messages wait for the stream to show a `Timestamp`, in wall ms.
pub const HOLD_MS: Ms = 1_000;
/// How long (stream time) a `QueueCallerLeave` waits for the `AgentConnect` of its call.
pub const LEAVE_GRACE_MS: Ms = 500;
const MAX_ID_BYTES: usize = 64;
const MAX_NAME_BYTES: usize = 256;

pub use crate::event::CallKind;

/// A call event as the mapper puts it out (SPEC §8.1): always stamped, its ids as the AMI
/// gave them. The client hands it to the core through the native decoder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallEvent {
    pub ts: Ms,
    pub call: String,
    pub queue: Option<String>,
    pub event: CallKind,
    pub agent: Option<String>,
}

impl CallEvent {
    /// The native JSON object (SPEC §8.1), as [`crate::event::CallEvent`] writes it.
    pub fn to_json(&self) -> String {
        crate::event::CallEvent {
            ts: Some(self.ts),
            call: self.call.as_str().into(),
            queue: self.queue.as_deref().map(Into::into),
            kind: self.event,
            agent: self.agent.as_deref().map(Into::into),
        }
        .to_json()
    }
}

/// A native event out of the mapper.
#[derive(Clone, Debug, PartialEq)]
pub enum Native {
    Agent(Event),
    Call(CallEvent),
}

pub type Out = Result<Native, DecodeError>;

/// The mapping's settings (`[[sources]]` of kind `asterisk`).
#[derive(Clone, Debug, Default)]
pub struct MapperConfig {
    /// Wrap-up after each call when the member's `Wrapuptime` is 0, in ms.
    pub wrapup_ms: Ms,
    /// Agent (member interface) → team.
    pub teams: HashMap<String, String>,
}

#[derive(Clone, Debug, Default)]
struct InQueue {
    paused: bool,
    /// `Wrapuptime` in seconds (0: the source's `wrapup_secs`).
    wrapup_secs: u64,
}

#[derive(Clone, Debug, Default)]
struct Member {
    name: Option<String>,
    team: Option<CompactString>,
    queues: BTreeMap<String, InQueue>,
    /// `Status` 4 or 5.
    unavailable: bool,
    in_call: bool,
    /// When the pending wrap-up ends.
    acw_until: Option<Ms>,
    /// When Asterisk's wrap-up of a pending one that a pause ended (shown `aux`) ends: it
    /// offers no call until then whatever the pause (`can_ring_entry` checks `wrapuptime`
    /// apart from it), so an unpause before then is back in wrap-up, not idle.
    paused_wrap_until: Option<Ms>,
    /// `PausedReason` of the latest pause.
    pause_reason: Option<CompactString>,
    /// The last (state, reason) emitted, and when.
    emitted: Option<(State, Option<CompactString>)>,
    last_ts: Ms,
}

impl Member {
    fn state(&self) -> (State, Option<CompactString>) {
        if self.queues.is_empty() || self.unavailable {
            (State::Offline, None)
        } else if self.in_call {
            (State::Talking, None)
        } else if self.acw_until.is_some() {
            (State::Acw, None)
        } else if self.queues.values().all(|q| q.paused) {
            (State::Aux, Some(self.pause_reason.clone().unwrap_or_else(|| UNSPECIFIED.into())))
        } else {
            (State::Idle, None)
        }
    }
}

/// What a QueueStatus answer listed so far.
#[derive(Debug, Default)]
struct Snapshot {
    /// Each member's queues.
    members: HashMap<CompactString, BTreeSet<String>>,
    /// Waiting calls (`QueueEntry`).
    calls: BTreeSet<String>,
    /// The calls we had waiting when QueueStatus was sent (a call that joins while the
    /// answer is read is not in it, and not gone).
    prior: BTreeSet<String>,
}

/// AMI messages in, native events out (see the module's doc). One per source; it keeps
/// the members' state across reconnects.
#[derive(Debug, Default)]
pub struct Mapper {
    cfg: MapperConfig,
    members: HashMap<CompactString, Member>,
    /// Pending wrap-up ends.
    due: BTreeSet<(Ms, CompactString)>,
    /// Waiting calls: id → queue.
    waiting: HashMap<String, String>,
    /// Calls that just ended by abandon (their `QueueCallerLeave` follows), oldest first.
    abandoned: VecDeque<String>,
    /// `QueueCallerLeave`s waiting to see whether an `AgentConnect` follows: id → (ts, queue).
    leaves: HashMap<String, (Ms, Option<String>)>,
    leave_due: BTreeSet<(Ms, String)>,
    /// The stream's clock: the last `Timestamp` seen on this connection, and the wall
    /// instant it arrived.
    clock: Option<(Ms, Ms)>,
    /// Untimed messages waiting for the clock, with their receipt instants.
    held: Vec<(Message, Ms)>,
    /// This connection has shown no `Timestamp` within [`HOLD_MS`]: date by receipt.
    untimed: bool,
    /// While a QueueStatus answer is read: what it listed.
    snapshot: Option<Snapshot>,
    /// This connection carries `HangupRequest`s (the AMI user reads the `call` class).
    hangups_seen: bool,
    /// Waiting calls whose channel was asked to hang up (the caller hung up).
    hung_up: BTreeSet<String>,
}

fn unmapped(message: impl Into<String>, m: &Message) -> DecodeError {
    DecodeError::new(Refusal::Unmapped, message, &m.to_text())
}

/// `1796124741.733424` → ms.
pub fn parse_timestamp(s: &str) -> Option<Ms> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: i64 = secs.parse().ok()?;
    let ms: i64 = format!("{:0<3}", &frac[..frac.len().min(3)]).parse().ok()?;
    secs.checked_mul(1000)?.checked_add(ms).filter(|ms| *ms <= crate::time::MAX_MS)
}

fn valid_id(s: &str) -> bool {
    crate::event::printable_id(s, MAX_ID_BYTES)
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    crate::event::prefix(s, max)
}

impl Mapper {
    pub fn new(cfg: MapperConfig) -> Mapper {
        Mapper { cfg, ..Default::default() }
    }

    /// A new connection: its clock is its own.
    pub fn connected(&mut self) {
        self.clock = None;
        self.held.clear();
        self.untimed = false;
        self.snapshot = None;
        self.hangups_seen = false;
        self.hung_up.clear();
    }

    /// A QueueStatus was sent: the member reports up to its `QueueStatusComplete` are the
    /// whole membership (members not in it were removed meanwhile).
    pub fn begin_snapshot(&mut self) {
        let prior = self.waiting.keys().cloned().collect();
        self.snapshot = Some(Snapshot { prior, ..Default::default() });
    }

    /// Members tracked (bounded by [`MAX_MEMBERS`]).
    pub fn members(&self) -> usize {
        self.members.len()
    }

    /// The stream time at wall instant `wall`: the last `Timestamp` plus the wall time
    /// since it arrived. `None` before the connection has shown one.
    pub fn stream_now(&self, wall: Ms) -> Option<Ms> {
        self.clock.map(|(ts, at)| ts + (wall - at).max(0))
    }

    /// Time passes without messages: ends the wrap-ups and resolves the leaves that are
    /// due by stream time at wall instant `wall`, and dates held messages by receipt once
    /// they have waited [`HOLD_MS`].
    pub fn tick(&mut self, wall: Ms, out: &mut Vec<Out>) {
        if self.held.first().is_some_and(|(_, at)| wall - at >= HOLD_MS) {
            self.untimed = true;
            for (m, at) in std::mem::take(&mut self.held) {
                self.process(&m, at, out);
            }
        }
        let now = if self.untimed { Some(wall) } else { self.stream_now(wall) };
        if let Some(now) = now {
            self.flush_due(now, out);
        }
    }

    /// Maps one message received at wall instant `receipt`.
    pub fn handle(&mut self, m: &Message, receipt: Ms, out: &mut Vec<Out>) {
        let ts = match m.get("Timestamp") {
            Some(t) => match parse_timestamp(t) {
                Some(ts) => Some(ts),
                None => {
                    out.push(Err(unmapped(format!("Timestamp {:?} is not epoch seconds", cut(t, 32)), m)));
                    return;
                }
            },
            None => None,
        };
        match ts {
            Some(ts) => {
                let ts = self.clock.map_or(ts, |(c, _)| ts.max(c));
                self.clock = Some((ts, receipt));
                for (held, _) in std::mem::take(&mut self.held) {
                    self.process(&held, ts, out);
                }
                self.process(m, ts, out);
            }
            None => {
                if let Some(now) = self.stream_now(receipt) {
                    self.process(m, now, out);
                } else if self.untimed || self.held.len() >= MAX_HELD {
                    self.process(m, receipt, out);
                } else {
                    self.held.push((m.clone(), receipt));
                }
            }
        }
    }

    fn process(&mut self, m: &Message, ts: Ms, out: &mut Vec<Out>) {
        self.flush_due(ts, out);
        let Some(event) = m.get("Event") else {
            if m.get("Response").is_none() {
                out.push(Err(unmapped("neither Event nor Response", m)));
            }
            return;
        };
        match event {
            "QueueMember" => self.member_report(m, ts, "Location", "Name", out),
            "QueueMemberAdded" => self.member_report(m, ts, "Interface", "MemberName", out),
            "QueueMemberRemoved" => self.removed(m, ts, out),
            "QueueMemberPause" => self.paused(m, ts, out),
            "QueueMemberStatus" => self.status(m, ts, out),
            "AgentConnect" => self.connect(m, ts, out),
            "AgentComplete" => self.complete(m, ts, out),
            "QueueStatusComplete" => self.snapshot_complete(ts, out),
            "QueueEntry" => self.entry(m, ts, out),
            "QueueCallerJoin" => self.caller_join(m, ts, out),
            "QueueCallerAbandon" => self.caller_abandon(m, ts, out),
            "QueueCallerLeave" => self.caller_leave(m, ts, out),
            // Followed, and by design no state change (ringing is idle).
            "AgentCalled" | "AgentRingNoAnswer" => {}
            // Tells an abandon (the caller hung up) from a timeout (see `caller_abandon`).
            "HangupRequest" | "SoftHangupRequest" => {
                self.hangups_seen = true;
                if let Some(call) = m.get("Uniqueid")
                    && self.waiting.contains_key(call)
                {
                    self.hung_up.insert(call.to_string());
                }
            }
            // Everything else `Events: on` brings (channels, bridges, VarSet...).
            _ => {}
        }
    }

    /// Emits the wrap-up ends and the leaves due at or before `now`, in time order.
    fn flush_due(&mut self, now: Ms, out: &mut Vec<Out>) {
        loop {
            let acw = self.due.first().filter(|(u, _)| *u <= now).cloned();
            let leave = self.leave_due.first().filter(|(u, _)| *u <= now).cloned();
            match (acw, leave) {
                (Some((u, agent)), l) if l.as_ref().is_none_or(|(v, _)| u <= *v) => {
                    self.due.remove(&(u, agent.clone()));
                    if let Some(mem) = self.members.get_mut(&agent)
                        && mem.acw_until == Some(u)
                    {
                        mem.acw_until = None;
                        self.emit(&agent, u, out);
                    }
                }
                (_, Some((u, call))) => {
                    self.leave_due.remove(&(u, call.clone()));
                    if let Some((ts, queue)) = self.leaves.remove(&call) {
                        out.push(Ok(Native::Call(CallEvent { ts, call, queue, event: CallKind::Left, agent: None })));
                    }
                }
                _ => return,
            }
        }
    }

    /// The member named by `key` in `m`, created if new (with `queue` as its team).
    fn member_id(&mut self, m: &Message, key: &str, out: &mut Vec<Out>) -> Option<CompactString> {
        let Some(id) = m.get(key).filter(|s| !s.is_empty()) else {
            out.push(Err(unmapped(format!("{} without {key}", m.get("Event").unwrap_or("?")), m)));
            return None;
        };
        if !valid_id(id) {
            out.push(Err(unmapped(format!("{key} must be 1-64 printable bytes, got {:?}", cut(id, 32)), m)));
            return None;
        }
        let id = CompactString::from(id);
        if !self.members.contains_key(&id) {
            if self.members.len() >= MAX_MEMBERS {
                out.push(Err(unmapped(format!("more than {MAX_MEMBERS} members"), m)));
                return None;
            }
            let team = self.cfg.teams.get(id.as_str()).map(|t| t.as_str()).or(m.get("Queue")).filter(|t| valid_id(t));
            let member = Member { team: team.map(CompactString::from), ..Default::default() };
            self.members.insert(id.clone(), member);
        }
        Some(id)
    }

    /// Learns what every member event carries: name, status, the queue's wrap-up.
    fn learn(&mut self, id: &CompactString, m: &Message, name_key: &str) {
        let mem = self.members.get_mut(id).expect("member_id created it");
        if let Some(n) = m.get(name_key).filter(|n| !n.is_empty() && !n.chars().any(char::is_control)) {
            mem.name = Some(cut(n, MAX_NAME_BYTES).to_string());
        }
        if let Some(s) = m.get("Status").and_then(|s| s.parse::<u8>().ok()) {
            mem.unavailable = matches!(s, 4 | 5);
        }
        if let (Some(q), Some(w)) = (m.get("Queue"), m.get("Wrapuptime").and_then(|w| w.parse::<u64>().ok()))
            && let Some(iq) = mem.queues.get_mut(q)
        {
            iq.wrapup_secs = w;
        }
    }

    /// Ends a pending wrap-up early (pause, connect, removal, re-add).
    fn end_wrapup(&mut self, id: &CompactString) {
        let Some(mem) = self.members.get_mut(id) else { return };
        mem.paused_wrap_until = None;
        if let Some(u) = mem.acw_until.take() {
            self.due.remove(&(u, id.clone()));
        }
    }

    /// Emits the member's state at `ts` if it changed.
    fn emit(&mut self, id: &CompactString, ts: Ms, out: &mut Vec<Out>) {
        let Some(mem) = self.members.get_mut(id) else { return };
        let now = mem.state();
        if mem.emitted.as_ref() == Some(&now) {
            return;
        }
        // Asterisk's timestamps come from several threads: never backwards for one agent.
        let ts = ts.max(mem.last_ts);
        mem.last_ts = ts;
        mem.emitted = Some(now.clone());
        let (state, reason) = now;
        out.push(Ok(Native::Agent(Event {
            ts: Some(ts),
            agent: id.clone(),
            state,
            reason,
            team: mem.team.clone(),
            seq: None,
            name: mem.name.clone(),
        })));
    }

    /// `QueueMember` (a QueueStatus answer) and `QueueMemberAdded`: the member's whole
    /// state in one queue.
    fn member_report(&mut self, m: &Message, ts: Ms, id_key: &str, name_key: &str, out: &mut Vec<Out>) {
        let Some(id) = self.member_id(m, id_key, out) else { return };
        let Some(queue) = m.get("Queue").filter(|q| !q.is_empty()) else {
            out.push(Err(unmapped(format!("{} without Queue", m.get("Event").unwrap_or("?")), m)));
            return;
        };
        let report = m.get("Event") == Some("QueueMember");
        let mem = self.members.get_mut(&id).expect("created");
        if !mem.queues.contains_key(queue) && mem.queues.len() >= MAX_QUEUES_PER_MEMBER {
            out.push(Err(unmapped(format!("member in more than {MAX_QUEUES_PER_MEMBER} queues"), m)));
            return;
        }
        let paused = m.get("Paused") == Some("1");
        let iq = mem.queues.entry(queue.to_string()).or_default();
        iq.paused = paused;
        if paused {
            mem.pause_reason = m.get("PausedReason").filter(|r| valid_id(r)).map(CompactString::from);
        }
        let in_call = m.get("InCall") == Some("1");
        if report {
            // A state report: what is true now, whatever we thought (a call that ended
            // while we were away leaves no wrap-up to guess).
            mem.in_call = in_call;
            if let Some(snap) = &mut self.snapshot {
                snap.members.entry(id.clone()).or_default().insert(queue.to_string());
            }
        } else {
            // Re-added: ends a pending wrap-up.
            mem.in_call = in_call;
            self.end_wrapup(&id);
        }
        self.learn(&id, m, name_key);
        if report {
            self.wrapup_from_last_call(&id, m, queue, ts);
        }
        self.emit(&id, ts, out);
    }

    /// A member first seen in a state report, not on a call, whose last call (`LastCall`,
    /// whole seconds, as Asterisk's own wrap-up check) ended less than its wrap-up ago is
    /// in wrap-up until then: Asterisk is not offering it calls.
    fn wrapup_from_last_call(&mut self, id: &CompactString, m: &Message, queue: &str, ts: Ms) {
        let default = self.cfg.wrapup_ms;
        let Some(mem) = self.members.get_mut(id) else { return };
        if mem.emitted.is_some() || mem.in_call || mem.acw_until.is_some() {
            return;
        }
        let Some(last) = m.get("LastCall").and_then(|l| l.parse::<Ms>().ok()).filter(|l| *l > 0) else {
            return;
        };
        let own = mem.queues.get(queue).map_or(0, |iq| iq.wrapup_secs);
        let wrap = if own > 0 { own as Ms * 1000 } else { default };
        let Some(until) = last.checked_mul(1000).and_then(|l| l.checked_add(wrap)) else { return };
        if wrap > 0 && ts < until {
            mem.acw_until = Some(until);
            self.due.insert((until, id.clone()));
        }
    }

    fn snapshot_complete(&mut self, ts: Ms, out: &mut Vec<Out>) {
        let Some(seen) = self.snapshot.take() else { return };
        // In id order: the same answer gives the same events in the same order.
        let mut ids: Vec<CompactString> = self.members.keys().cloned().collect();
        ids.sort_unstable();
        for id in ids {
            let queues = seen.members.get(&id);
            let mem = self.members.get_mut(&id).expect("listed");
            mem.queues.retain(|q, _| queues.is_some_and(|s| s.contains(q)));
            if mem.queues.is_empty() {
                mem.in_call = false;
                self.end_wrapup(&id);
            }
            self.emit(&id, ts, out);
        }
        // Calls we had waiting that the answer no longer lists ended while we were away,
        // unanswered by anyone we saw: left, as of now.
        for call in seen.prior.difference(&seen.calls) {
            if !self.waiting.contains_key(call) {
                continue;
            }
            let call = call.clone();
            let queue = self.waiting.remove(&call);
            self.hung_up.remove(&call);
            out.push(Ok(Native::Call(CallEvent { ts, call, queue, event: CallKind::Left, agent: None })));
        }
    }

    /// A caller waiting when QueueStatus was answered (`Wait` in whole seconds): queued,
    /// unless already known waiting (a reconnect).
    fn entry(&mut self, m: &Message, ts: Ms, out: &mut Vec<Out>) {
        let Some(call) = self.call_id(m, out) else { return };
        let Some(queue) = m.get("Queue").filter(|q| !q.is_empty()) else {
            out.push(Err(unmapped("QueueEntry without Queue", m)));
            return;
        };
        if let Some(snap) = &mut self.snapshot
            && snap.calls.len() < MAX_CALLS
        {
            snap.calls.insert(call.to_string());
        }
        if self.waiting.contains_key(call) || self.waiting.len() >= MAX_CALLS {
            return;
        }
        self.waiting.insert(call.to_string(), queue.to_string());
        let waited = m.get("Wait").and_then(|w| w.parse::<Ms>().ok()).unwrap_or(0).clamp(0, 86_400);
        out.push(Ok(Native::Call(CallEvent {
            ts: ts - waited * 1000,
            call: call.to_string(),
            queue: Some(queue.to_string()),
            event: CallKind::Queued,
            agent: None,
        })));
    }

    fn removed(&mut self, m: &Message, ts: Ms, out: &mut Vec<Out>) {
        let Some(id) = self.member_id(m, "Interface", out) else { return };
        self.learn(&id, m, "MemberName");
        let mem = self.members.get_mut(&id).expect("created");
        match m.get("Queue") {
            Some(q) => {
                mem.queues.remove(q);
            }
            None => mem.queues.clear(),
        }
        if mem.queues.is_empty() {
            mem.in_call = false;
            self.end_wrapup(&id);
        }
        self.emit(&id, ts, out);
    }

    fn paused(&mut self, m: &Message, ts: Ms, out: &mut Vec<Out>) {
        let Some(id) = self.member_id(m, "Interface", out) else { return };
        let paused = m.get("Paused") == Some("1");
        let mem = self.members.get_mut(&id).expect("created");
        match m.get("Queue").filter(|q| !q.is_empty()) {
            Some(q) => {
                if mem.queues.contains_key(q) || mem.queues.len() < MAX_QUEUES_PER_MEMBER {
                    mem.queues.entry(q.to_string()).or_default().paused = paused;
                }
            }
            None => mem.queues.values_mut().for_each(|iq| iq.paused = paused),
        }
        if paused {
            mem.pause_reason = m.get("PausedReason").filter(|r| valid_id(r)).map(CompactString::from);
        }
        self.learn(&id, m, "MemberName");
        let mem = self.members.get_mut(&id).expect("created");
        if mem.queues.values().all(|q| q.paused) {
            // Paused in every queue during wrap-up: `aux` from here, and Asterisk's wrap-up
            // remembered for an unpause before its end.
            if let Some(u) = mem.acw_until {
                self.end_wrapup(&id);
                self.members.get_mut(&id).expect("created").paused_wrap_until = Some(u);
            }
        } else if mem.acw_until.is_none()
            && !mem.in_call
            && let Some(u) = mem.paused_wrap_until.take().filter(|&u| u > ts)
        {
            // Unpaused before Asterisk's wrap-up ended: it rings the member only from then.
            mem.acw_until = Some(u);
            self.due.insert((u, id.clone()));
        }
        self.emit(&id, ts, out);
    }

    /// Changes no state but offline (`Status` 4/5) and back; never ends wrap-up.
    fn status(&mut self, m: &Message, ts: Ms, out: &mut Vec<Out>) {
        let Some(id) = self.member_id(m, "Interface", out) else { return };
        let mem = self.members.get_mut(&id).expect("created");
        if let Some(q) = m.get("Queue").filter(|q| !q.is_empty())
            && !mem.queues.contains_key(q)
            && mem.queues.len() < MAX_QUEUES_PER_MEMBER
        {
            // A member we had not seen in this queue (added before we connected).
            mem.queues.insert(q.to_string(), InQueue { paused: m.get("Paused") == Some("1"), wrapup_secs: 0 });
        }
        self.learn(&id, m, "MemberName");
        // Only `Status` (learnt above) can change the state: offline on 4/5, which ends a
        // pending wrap-up like a removal; back from it on any other.
        if self.members.get(&id).is_some_and(|mem| mem.unavailable) {
            self.end_wrapup(&id);
        }
        self.emit(&id, ts, out);
    }

    fn connect(&mut self, m: &Message, ts: Ms, out: &mut Vec<Out>) {
        let Some(id) = self.member_id(m, "Interface", out) else { return };
        let mem = self.members.get_mut(&id).expect("created");
        if let Some(q) = m.get("Queue").filter(|q| !q.is_empty())
            && mem.queues.len() < MAX_QUEUES_PER_MEMBER
        {
            mem.queues.entry(q.to_string()).or_default();
        }
        mem.in_call = true;
        self.learn(&id, m, "MemberName");
        self.end_wrapup(&id);
        self.emit(&id, ts, out);
        if let Some(call) = m.get("Uniqueid").filter(|c| !c.is_empty()) {
            if let Some((lts, _)) = self.leaves.remove(call) {
                self.leave_due.remove(&(lts + LEAVE_GRACE_MS, call.to_string()));
            }
            self.waiting.remove(call);
            self.hung_up.remove(call);
            out.push(Ok(Native::Call(CallEvent {
                ts,
                call: call.to_string(),
                queue: m.get("Queue").map(str::to_string),
                event: CallKind::Answered,
                agent: Some(id.to_string()),
            })));
        }
    }

    fn complete(&mut self, m: &Message, ts: Ms, out: &mut Vec<Out>) {
        let Some(id) = self.member_id(m, "Interface", out) else { return };
        self.learn(&id, m, "MemberName");
        let default = self.cfg.wrapup_ms;
        let mem = self.members.get_mut(&id).expect("created");
        mem.in_call = false;
        let own = m.get("Queue").and_then(|q| mem.queues.get(q)).map_or(0, |iq| iq.wrapup_secs);
        let wrap = if own > 0 { own as Ms * 1000 } else { default };
        mem.paused_wrap_until = None;
        if let Some(u) = mem.acw_until.take() {
            self.due.remove(&(u, id.clone()));
        }
        if wrap > 0 {
            let mem = self.members.get_mut(&id).expect("created");
            mem.acw_until = Some(ts + wrap);
            self.due.insert((ts + wrap, id.clone()));
        }
        self.emit(&id, ts, out);
    }

    fn call_id<'m>(&self, m: &'m Message, out: &mut Vec<Out>) -> Option<&'m str> {
        match m.get("Uniqueid").filter(|c| !c.is_empty() && c.len() <= 128) {
            Some(c) => Some(c),
            None => {
                out.push(Err(unmapped(format!("{} without Uniqueid", m.get("Event").unwrap_or("?")), m)));
                None
            }
        }
    }

    fn caller_join(&mut self, m: &Message, ts: Ms, out: &mut Vec<Out>) {
        let Some(call) = self.call_id(m, out) else { return };
        let Some(queue) = m.get("Queue").filter(|q| !q.is_empty()) else {
            out.push(Err(unmapped("QueueCallerJoin without Queue", m)));
            return;
        };
        if self.waiting.len() < MAX_CALLS || self.waiting.contains_key(call) {
            self.waiting.insert(call.to_string(), queue.to_string());
        }
        out.push(Ok(Native::Call(CallEvent {
            ts,
            call: call.to_string(),
            queue: Some(queue.to_string()),
            event: CallKind::Queued,
            agent: None,
        })));
    }

    /// Asterisk 22 sends `QueueCallerAbandon` both when the caller hangs up and when the
    /// queue's timeout ends the wait (queue_log: `ABANDON` vs `EXITWITHTIMEOUT`; recorded in
    /// tests/fixtures/asterisk/floor-asterisk22.ami). A caller who hung up has a
    /// `HangupRequest` for its channel first; so on a connection that carries them, an
    /// abandon without one is `left` (SPEC §8.1: left unanswered for another reason). On a
    /// connection without them (AMI user without the `call` class) it is `abandoned`, as
    /// SPEC §7 says.
    fn caller_abandon(&mut self, m: &Message, ts: Ms, out: &mut Vec<Out>) {
        let Some(call) = self.call_id(m, out) else { return };
        let hung_up = self.hung_up.remove(call);
        let kind = if self.hangups_seen && !hung_up { CallKind::Left } else { CallKind::Abandoned };
        self.waiting.remove(call);
        if self.abandoned.len() >= MAX_CALLS.min(4096) {
            self.abandoned.pop_front();
        }
        self.abandoned.push_back(call.to_string());
        out.push(Ok(Native::Call(CallEvent {
            ts,
            call: call.to_string(),
            queue: m.get("Queue").map(str::to_string),
            event: kind,
            agent: None,
        })));
    }

    fn caller_leave(&mut self, m: &Message, ts: Ms, out: &mut Vec<Out>) {
        let Some(call) = self.call_id(m, out) else { return };
        if let Some(i) = self.abandoned.iter().position(|c| c == call) {
            // The leave that follows every abandon.
            self.abandoned.remove(i);
            return;
        }
        self.waiting.remove(call);
        self.hung_up.remove(call);
        if self.leaves.len() >= MAX_CALLS || self.leaves.contains_key(call) {
            return;
        }
        self.leaves.insert(call.to_string(), (ts, m.get("Queue").map(str::to_string)));
        self.leave_due.insert((ts + LEAVE_GRACE_MS, call.to_string()));
    }
}

#[cfg(test)]
mod tests;
