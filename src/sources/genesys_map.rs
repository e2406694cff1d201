//! Genesys Cloud notifications → native agent events (SPEC §2.1, §7): the pure part of the
//! `genesys` source. Text frames of the notification WebSocket and the users' state read
//! over the API go in, with the instants they were received; native events come out. No
//! clock, no I/O: every rule is a row of a table test. The client that feeds it (OAuth,
//! queues, channels, WebSockets) is [`super::genesys`].
//!
//! Per user it keeps the routing status (`v2.users.{id}.activity`'s `routingStatus`), the
//! presence (`presence.presenceDefinition`), and the user's conversations from
//! `v2.users.{id}.conversations`: those with a connected communication, and those whose
//! after-call work is `pending`. The state is, first match wins:
//!
//! | state | when |
//! |---|---|
//! | `offline` | system presence `Offline` |
//! | `talking` | a communication of the user's is `connected` |
//! | `acw` | after-call work `pending` (or `wrapupRequired` without a wrap-up, on a participant that has ended) |
//! | `talking` | routing status `INTERACTING` or `COMMUNICATING` |
//! | `idle` | routing status `IDLE` |
//! | `aux` | routing status `NOT_RESPONDING` or `OFF_QUEUE`; reason = the presence's label |
//!
//! Genesys keeps a user `INTERACTING` through after-call work; the pending ACW is what
//! tells wrap-up from talk, and it ends at the ACW's `complete`/`skipped`/`notApplicable`.
//! An `INTERACTING` (or `COMMUNICATING`) that started before the user's last conversation
//! let go of it (nothing connected, no ACW pending) is that finished interaction, whose
//! routing update has not come yet: idle, not a new talk (which would count a contact).
//!
//! Calls (SPEC §8.1) come from the watched queues' own topic,
//! `v2.routing.queues.{id}.conversations` (see [`Mapper::queue_conversation`]): call = the
//! conversation id, queue = the queue's name.
//!
//! Timestamps: a routing status dates from its `startTime`, a presence from its
//! `modifiedDate`, a conversation change from the latest `connectedTime`,
//! `disconnectedTime`, `endTime` or after-call work `startTime`/`endTime` of the user's;
//! receipt time when none is given. A routing status or presence older than the one held is
//! stale (the same notification delivered twice while a channel is renewed, or the state
//! read over the API after a notification already said more) and changes nothing; an event
//! is emitted only when the state or reason changes, so repeated notifications emit nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use compact_str::CompactString;
use serde::Deserialize;

pub use super::asterisk::{CallEvent, Native};
use crate::event::{CallKind, DecodeError, Event, Refusal, State, UNSPECIFIED};
use crate::time::{Ms, parse_rfc3339};

/// Conversations tracked per user (connected or in pending ACW); the oldest are dropped
/// past it (a platform that never ends a wrap-up cannot grow us).
pub const MAX_CONVERSATIONS_PER_USER: usize = 32;
/// How far back a state read over the API at connect is dated (within the default
/// `floor.max_backfill_secs` of two hours).
pub const MAX_STATE_AGE_MS: Ms = 3_600_000;
/// Queue waits tracked (waiting, and ended ones remembered so that a repeated notification
/// does not end them twice); the oldest ended are forgotten past it.
pub const MAX_CALLS: usize = 100_000;
const MAX_ID_BYTES: usize = 64;
const MAX_NAME_BYTES: usize = 256;

/// What a text frame was, besides the events it mapped to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// An agent notification (its events, if any, are in `out`), or a refused frame.
    Mapped,
    /// `channel.metadata`: the heartbeat, or the answer to a ping.
    Heartbeat,
    /// `v2.system.socket_closing`: Genesys will close this socket soon; move to a new channel.
    Closing,
    /// A frame with no topic and a failing `result` (`{"result":"404","message":"..."}`: the
    /// channel expired, was replaced past the channel quota, or its token expired; `400`:
    /// a subscription refused). The channel delivers nothing more: start again.
    Failed(String),
}

/// A routing status as the notification (or the users API) gives it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoutingStatus {
    pub status: Option<String>,
    pub start_time: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceDefinition {
    pub id: Option<String>,
    pub system_presence: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Presence {
    pub presence_definition: Option<PresenceDefinition>,
    pub modified_date: Option<String>,
}

/// `v2.users.{id}.activity`'s body; also a user read with `expand=presence,routingStatus`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    pub id: Option<String>,
    pub name: Option<String>,
    pub routing_status: Option<RoutingStatus>,
    pub presence: Option<Presence>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AfterCallWork {
    state: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
}

/// One communication (call, callback, chat, email, message...) of a participant.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Communication {
    state: Option<String>,
    disconnect_type: Option<String>,
    connected_time: Option<String>,
    disconnected_time: Option<String>,
    after_call_work: Option<AfterCallWork>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Participant {
    id: Option<String>,
    user_id: Option<String>,
    queue_id: Option<String>,
    purpose: Option<String>,
    connected_time: Option<String>,
    end_time: Option<String>,
    wrapup_required: Option<bool>,
    wrapup: Option<serde_json::Value>,
    #[serde(default)]
    calls: Vec<Communication>,
    #[serde(default)]
    callbacks: Vec<Communication>,
    #[serde(default)]
    chats: Vec<Communication>,
    #[serde(default)]
    emails: Vec<Communication>,
    #[serde(default)]
    messages: Vec<Communication>,
    #[serde(default)]
    cobrowsesessions: Vec<Communication>,
    #[serde(default)]
    screenshares: Vec<Communication>,
    #[serde(default)]
    videos: Vec<Communication>,
}

/// `v2.users.{id}.conversations`'s body.
#[derive(Clone, Debug, Default, Deserialize)]
struct Conversation {
    id: Option<String>,
    #[serde(default)]
    participants: Vec<Participant>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    topic_name: Option<String>,
    event_body: Option<serde_json::Value>,
    /// The channel's own answers: `result` (a status code, as text or a number) and `message`.
    result: Option<serde_json::Value>,
    message: Option<String>,
}

#[derive(Clone, Debug, Default)]
struct User {
    name: Option<String>,
    team: Option<CompactString>,
    /// Still a member of a watched queue (its notifications are followed).
    watched: bool,
    /// Routing status and when it started.
    routing: Option<(CompactString, Ms)>,
    /// Presence: (definition id, system presence), and when it was set.
    presence: Option<((CompactString, CompactString), Ms)>,
    /// Conversations with a connected communication of the user's, and when seen.
    connected: BTreeMap<CompactString, Ms>,
    /// Conversations whose after-call work is pending, and when seen.
    acw: BTreeMap<CompactString, Ms>,
    /// When the user's last conversation let go of it (nothing connected, no ACW pending).
    released_at: Option<Ms>,
    emitted: Option<(State, Option<CompactString>)>,
    last_ts: Ms,
}

/// Notifications in, native events out; one per source, kept across reconnects.
#[derive(Debug, Default)]
pub struct Mapper {
    /// User id → team, from `[sources.teams]` (wins over the queue).
    teams: HashMap<String, String>,
    /// Presence definition id → its label (`languageLabels`), read from the platform.
    labels: HashMap<String, String>,
    users: HashMap<CompactString, User>,
    /// Watched queue id → its name (the `queue` of call events).
    queues: HashMap<String, String>,
    /// Queue waits by (conversation, acd participant): the queue id while waiting, `None`
    /// once ended.
    calls: HashMap<(CompactString, CompactString), Option<CompactString>>,
    /// Waits in the order first seen, to forget the oldest ended ones.
    call_order: VecDeque<(CompactString, CompactString)>,
}

pub type Out = Result<Native, DecodeError>;

fn unmapped(message: impl Into<String>, input: &str) -> DecodeError {
    DecodeError::new(Refusal::Unmapped, message, input)
}

/// A system presence as Genesys shows it (the users API and presence definitions write
/// `Break`, `On Queue`; the `v2.users.{id}.activity` notification `BREAK`, `ON_QUEUE`): one
/// reason whichever told it, so a break is not split in two reasons mid-way. Another name
/// stays as it is.
fn shown_presence(system: &str) -> &str {
    const SHOWN: [&str; 10] =
        ["Available", "Away", "Break", "Busy", "Idle", "Meal", "Meeting", "Offline", "On Queue", "Training"];
    SHOWN
        .iter()
        .find(|s| {
            s.len() == system.len()
                && s.bytes().zip(system.bytes()).all(|(a, b)| a.eq_ignore_ascii_case(&b) || (a == b' ' && b == b'_'))
        })
        .copied()
        .unwrap_or(system)
}

fn valid_id(s: &str) -> bool {
    crate::event::printable_id(s, MAX_ID_BYTES)
}

fn ts_of(s: &Option<String>) -> Option<Ms> {
    s.as_deref().and_then(parse_rfc3339)
}

impl Mapper {
    pub fn new(teams: HashMap<String, String>) -> Mapper {
        Mapper { teams, ..Default::default() }
    }

    /// The organisation's presence labels (definition id → label).
    pub fn set_labels(&mut self, labels: HashMap<String, String>) {
        self.labels = labels;
    }

    /// The watched queues (id → name).
    pub fn set_queues(&mut self, queues: HashMap<String, String>) {
        self.queues = queues;
    }

    /// Users followed now.
    pub fn watched(&self) -> usize {
        self.users.values().filter(|u| u.watched).count()
    }

    /// The members of the watched queues as read now: (user id, name, first queue's name).
    /// Users no longer in any watched queue are offline from `now` on (we no longer see
    /// them); new ones wait for their state ([`Mapper::user_state`] or a notification).
    pub fn set_members(&mut self, members: &[(String, Option<String>, String)], now: Ms, out: &mut Vec<Out>) {
        let listed: BTreeSet<&str> = members.iter().map(|(id, _, _)| id.as_str()).collect();
        let mut gone: Vec<CompactString> = self
            .users
            .iter()
            .filter(|(id, u)| u.watched && !listed.contains(id.as_str()))
            .map(|(id, _)| id.clone())
            .collect();
        gone.sort_unstable();
        for id in gone {
            let u = self.users.get_mut(&id).expect("listed");
            u.watched = false;
            u.connected.clear();
            u.acw.clear();
            if u.emitted.is_some() {
                u.routing = None;
                u.presence = Some((("".into(), "Offline".into()), now));
                self.emit(&id, now, out);
            }
        }
        for (id, name, queue) in members {
            if !valid_id(id) {
                continue;
            }
            let team = self.teams.get(id).map(String::as_str).unwrap_or(queue);
            let u = self.users.entry(id.as_str().into()).or_default();
            u.watched = true;
            if let Some(n) = name.as_deref().filter(|n| !n.is_empty() && !n.chars().any(char::is_control)) {
                u.name = Some(crate::event::prefix(n, MAX_NAME_BYTES).to_string());
            }
            if valid_id(team) {
                u.team = Some(team.into());
            }
        }
    }

    /// A user's state read over the API (`GET /api/v2/users?expand=presence,routingStatus`):
    /// the same fields as an activity notification.
    /// A state that began more than [`MAX_STATE_AGE_MS`] before `receipt` is dated then: it
    /// was true all that time, and an older event would be refused as too old.
    pub fn user_state(&mut self, a: &Activity, receipt: Ms, out: &mut Vec<Out>) {
        let Some(id) = a.id.as_deref() else { return };
        self.activity(id, a, receipt, receipt - MAX_STATE_AGE_MS, "", out);
    }

    /// One WebSocket text frame received at `receipt`.
    pub fn frame(&mut self, text: &str, receipt: Ms, out: &mut Vec<Out>) -> Notice {
        let env: Envelope = match serde_json::from_str(text) {
            Ok(e) => e,
            Err(e) => {
                let reason = if serde_json::from_str::<serde_json::Value>(text).is_ok() {
                    Refusal::NotObject
                } else {
                    Refusal::NotJson
                };
                out.push(Err(DecodeError::new(reason, format!("notification: {e}"), text)));
                return Notice::Mapped;
            }
        };
        let topic = env.topic_name.as_deref().unwrap_or("");
        if topic == "channel.metadata" {
            return Notice::Heartbeat;
        }
        if topic.is_empty()
            && let Some(result) = &env.result
        {
            let code = match result {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if code.starts_with('2') {
                return Notice::Heartbeat;
            }
            let message = env.message.as_deref().unwrap_or("");
            return Notice::Failed(format!(
                "{} {}",
                crate::event::prefix(&code, 8),
                crate::event::prefix(message, 200)
            ));
        }
        if topic == "v2.system.socket_closing" {
            return Notice::Closing;
        }
        let parts: Vec<&str> = topic.split('.').collect();
        let (user, kind) = match parts.as_slice() {
            ["v2", "users", id, kind] => (*id, *kind),
            ["v2", "routing", "queues", id, "conversations"] => {
                match env.event_body.map(serde_json::from_value::<Conversation>) {
                    Some(Ok(c)) => self.queue_conversation(id, &c, receipt, text, out),
                    Some(Err(e)) => out.push(Err(unmapped(format!("conversation body: {e}"), text))),
                    None => out.push(Err(unmapped("notification without eventBody", text))),
                }
                return Notice::Mapped;
            }
            _ => {
                out.push(Err(unmapped(format!("topic {:?} is not followed", crate::event::prefix(topic, 80)), text)));
                return Notice::Mapped;
            }
        };
        let Some(body) = env.event_body else {
            out.push(Err(unmapped("notification without eventBody", text)));
            return Notice::Mapped;
        };
        if !self.users.get(user).is_some_and(|u| u.watched) {
            out.push(Err(unmapped(
                format!("user {:?} is not a member of a watched queue", crate::event::prefix(user, 64)),
                text,
            )));
            return Notice::Mapped;
        }
        match kind {
            "activity" => match serde_json::from_value::<Activity>(body) {
                Ok(a) => self.activity(user, &a, receipt, Ms::MIN, text, out),
                Err(e) => out.push(Err(unmapped(format!("activity body: {e}"), text))),
            },
            "conversations" => match serde_json::from_value::<Conversation>(body) {
                Ok(c) => self.conversation(user, &c, receipt, text, out),
                Err(e) => out.push(Err(unmapped(format!("conversation body: {e}"), text))),
            },
            _ => out.push(Err(unmapped(format!("topic {:?} is not followed", crate::event::prefix(topic, 80)), text))),
        }
        Notice::Mapped
    }

    fn activity(&mut self, id: &str, a: &Activity, receipt: Ms, not_before: Ms, text: &str, out: &mut Vec<Out>) {
        let Some(u) = self.users.get_mut(id).filter(|u| u.watched) else { return };
        let mut at: Option<Ms> = None;
        if let Some(rs) = &a.routing_status
            && let Some(status) = rs.status.as_deref()
        {
            if !matches!(status, "OFF_QUEUE" | "IDLE" | "INTERACTING" | "NOT_RESPONDING" | "COMMUNICATING") {
                out.push(Err(unmapped(
                    format!("routing status {:?} is not one of Genesys's", crate::event::prefix(status, 32)),
                    text,
                )));
                return;
            }
            let ts = ts_of(&rs.start_time).unwrap_or(receipt);
            let newer = u.routing.as_ref().is_none_or(|(s, t)| ts > *t || (ts == *t && s != status));
            if newer {
                u.routing = Some((status.into(), ts));
                at = Some(ts);
            }
        }
        if let Some(p) = &a.presence
            && let Some(def) = &p.presence_definition
            && let Some(system) = def.system_presence.as_deref()
        {
            let ts = ts_of(&p.modified_date).unwrap_or(receipt);
            let key: (CompactString, CompactString) = (def.id.as_deref().unwrap_or("").into(), system.into());
            let newer = u.presence.as_ref().is_none_or(|(k, t)| ts > *t || (ts == *t && *k != key));
            if newer {
                u.presence = Some((key, ts));
                at = Some(at.map_or(ts, |a| a.max(ts)));
            }
        }
        if let Some(ts) = at {
            let id: CompactString = id.into();
            self.emit(&id, ts.max(not_before), out);
        }
    }

    fn conversation(&mut self, id: &str, c: &Conversation, receipt: Ms, text: &str, out: &mut Vec<Out>) {
        let Some(conv) = c.id.as_deref().filter(|c| valid_id(c)) else {
            out.push(Err(unmapped("conversation without id", text)));
            return;
        };
        let mut connected = false;
        let mut pending = false;
        let mut latest: Option<Ms> = None;
        let mut seen = false;
        for p in c.participants.iter().filter(|p| p.user_id.as_deref() == Some(id)) {
            // The user's own legs (`agent` for ACD, `user` otherwise); not a monitor.
            if p.purpose.as_deref().is_some_and(|x| !matches!(x, "agent" | "user")) {
                continue;
            }
            seen = true;
            for t in [&p.connected_time, &p.end_time] {
                latest = latest.max(ts_of(t));
            }
            let media = [
                &p.calls,
                &p.callbacks,
                &p.chats,
                &p.emails,
                &p.messages,
                &p.cobrowsesessions,
                &p.screenshares,
                &p.videos,
            ];
            let mut acw_known = false;
            for m in media.iter().flat_map(|m| m.iter()) {
                for t in [&m.connected_time, &m.disconnected_time] {
                    latest = latest.max(ts_of(t));
                }
                if m.state.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("connected")) {
                    connected = true;
                }
                if let Some(acw) = &m.after_call_work {
                    acw_known = true;
                    for t in [&acw.start_time, &acw.end_time] {
                        latest = latest.max(ts_of(t));
                    }
                    if acw.state.as_deref() == Some("pending") {
                        pending = true;
                    }
                }
            }
            // The older shape: wrap-up required, the leg has ended, no wrap-up code yet.
            if !acw_known && p.wrapup_required == Some(true) && p.end_time.is_some() && p.wrapup.is_none() {
                pending = true;
            }
        }
        if !seen {
            out.push(Err(unmapped("the user is not a participant of this conversation", text)));
            return;
        }
        let ts = latest.unwrap_or(receipt);
        let Some(u) = self.users.get_mut(id) else { return };
        let busy = !u.connected.is_empty() || !u.acw.is_empty();
        for (set, on) in [(&mut u.connected, connected), (&mut u.acw, pending && !connected)] {
            if on {
                set.insert(conv.into(), ts);
                while set.len() > MAX_CONVERSATIONS_PER_USER {
                    let oldest = set.iter().min_by_key(|(_, t)| **t).map(|(k, _)| k.clone()).expect("not empty");
                    set.remove(&oldest);
                }
            } else {
                set.remove(conv);
            }
        }
        if busy && u.connected.is_empty() && u.acw.is_empty() {
            u.released_at = Some(ts);
        }
        let id: CompactString = id.into();
        self.emit(&id, ts, out);
    }

    /// `v2.routing.queues.{id}.conversations`: the conversation's wait in that queue is its
    /// `acd` participant for the queue (a transfer to another queue is another wait of the
    /// same call). queued ← the participant's `connectedTime`; when it has ended:
    /// answered ← an `agent` participant for the queue connected (agent = its user, at its
    /// `connectedTime`); abandoned ← the acd leg disconnected by the caller (`disconnectType`
    /// `peer`, or the customer's leg ended no later); left ← otherwise (a flow's timeout or
    /// transfer out of the queue). A wait first seen already ended is queued and ended at once.
    fn queue_conversation(&mut self, queue: &str, c: &Conversation, receipt: Ms, text: &str, out: &mut Vec<Out>) {
        let Some(qname) = self.queues.get(queue).cloned() else {
            out.push(Err(unmapped(format!("queue {:?} is not watched", crate::event::prefix(queue, 64)), text)));
            return;
        };
        let Some(conv) = c.id.as_deref().filter(|c| valid_id(c)) else {
            out.push(Err(unmapped("conversation without id", text)));
            return;
        };
        let media = |p: &Participant| -> Vec<Communication> {
            [&p.calls, &p.callbacks, &p.chats, &p.emails, &p.messages].into_iter().flatten().cloned().collect()
        };
        // Its waits in this queue, in order (the last is the newest).
        for acd in c
            .participants
            .iter()
            .filter(|p| p.purpose.as_deref() == Some("acd") && p.queue_id.as_deref() == Some(queue))
        {
            let Some(leg) = acd.id.as_deref().filter(|l| valid_id(l)) else { continue };
            let key: (CompactString, CompactString) = (conv.into(), leg.into());
            let legs = media(acd);
            let queued_at = ts_of(&acd.connected_time)
                .or_else(|| legs.iter().filter_map(|m| ts_of(&m.connected_time)).min())
                .unwrap_or(receipt);
            let ended = acd.end_time.is_some()
                || (!legs.is_empty()
                    && legs
                        .iter()
                        .all(|m| m.state.as_deref().is_some_and(|s| s == "disconnected" || s == "terminated")));
            let end_at = ts_of(&acd.end_time)
                .or_else(|| legs.iter().filter_map(|m| ts_of(&m.disconnected_time)).max())
                .unwrap_or(receipt)
                .max(queued_at);
            match self.calls.get(&key) {
                Some(None) => continue,
                Some(Some(_)) => {}
                None => {
                    if !self.track(key.clone(), queue) {
                        out.push(Err(unmapped(format!("more than {MAX_CALLS} queue waits tracked"), text)));
                        return;
                    }
                    out.push(Ok(Native::Call(CallEvent {
                        ts: queued_at,
                        call: conv.to_string(),
                        queue: Some(qname.clone()),
                        event: CallKind::Queued,
                        agent: None,
                    })));
                }
            }
            if !ended {
                continue;
            }
            self.calls.insert(key, None);
            let agent = c.participants.iter().find(|p| {
                p.purpose.as_deref() == Some("agent")
                    && p.queue_id.as_deref() == Some(queue)
                    && p.user_id.as_deref().is_some_and(valid_id)
                    && (p.connected_time.is_some()
                        || media(p)
                            .iter()
                            .any(|m| m.connected_time.is_some() || m.state.as_deref() == Some("connected")))
            });
            let (event, ts, agent) = match agent {
                Some(a) => {
                    (CallKind::Answered, ts_of(&a.connected_time).unwrap_or(end_at).max(queued_at), a.user_id.clone())
                }
                None => {
                    let by_caller = legs.iter().any(|m| m.disconnect_type.as_deref() == Some("peer"))
                        || c.participants.iter().any(|p| {
                            p.purpose.as_deref() == Some("customer") && ts_of(&p.end_time).is_some_and(|t| t <= end_at)
                        });
                    (if by_caller { CallKind::Abandoned } else { CallKind::Left }, end_at, None)
                }
            };
            out.push(Ok(Native::Call(CallEvent {
                ts,
                call: conv.to_string(),
                queue: Some(qname.clone()),
                event,
                agent,
            })));
        }
    }

    /// Starts tracking a wait (not ended); false when full of waiting ones.
    fn track(&mut self, key: (CompactString, CompactString), queue: &str) -> bool {
        while self.calls.len() >= MAX_CALLS {
            let Some(i) = self.call_order.iter().position(|k| !matches!(self.calls.get(k), Some(Some(_)))) else {
                return false;
            };
            let old = self.call_order.remove(i).expect("found");
            self.calls.remove(&old);
        }
        self.calls.insert(key.clone(), Some(queue.into()));
        self.call_order.push_back(key);
        true
    }

    /// The waits not ended: (conversation id, queue id), oldest first. After a reconnect the
    /// client reads each conversation again ([`Mapper::conversation_again`]): one that ended
    /// while we were away sent its notification to nobody.
    pub fn waiting(&self) -> Vec<(String, String)> {
        self.call_order
            .iter()
            .filter_map(|k| match self.calls.get(k) {
                Some(Some(q)) => Some((k.0.to_string(), q.to_string())),
                _ => None,
            })
            .collect()
    }

    /// A conversation read over the API (`GET /api/v2/conversations/{id}`): mapped as the
    /// queue's notification would be.
    pub fn conversation_again(&mut self, queue: &str, body: &str, receipt: Ms, out: &mut Vec<Out>) {
        match serde_json::from_str::<Conversation>(body) {
            Ok(c) => self.queue_conversation(queue, &c, receipt, body, out),
            Err(e) => out.push(Err(unmapped(format!("conversation: {e}"), body))),
        }
    }

    /// A waiting conversation the platform no longer knows (404): it ended unseen, `left`
    /// at `now` (nobody can tell how).
    pub fn gone(&mut self, conv: &str, now: Ms, out: &mut Vec<Out>) {
        let keys: Vec<_> = self
            .calls
            .iter()
            .filter(|(k, v)| k.0 == conv && v.is_some())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, q) in keys {
            self.calls.insert(k, None);
            let queue = q.and_then(|q| self.queues.get(q.as_str()).cloned());
            out.push(Ok(Native::Call(CallEvent {
                ts: now,
                call: conv.to_string(),
                queue,
                event: CallKind::Left,
                agent: None,
            })));
        }
    }

    fn state(&self, u: &User) -> Option<(State, Option<CompactString>)> {
        if let Some(((_, system), _)) = &u.presence
            && system.eq_ignore_ascii_case("offline")
        {
            return Some((State::Offline, None));
        }
        if !u.connected.is_empty() {
            return Some((State::Talking, None));
        }
        if !u.acw.is_empty() {
            return Some((State::Acw, None));
        }
        let (status, since) = u.routing.as_ref()?;
        Some(match status.as_str() {
            // The interaction that a conversation has since released (its ACW done): the
            // routing status catches up a moment later; the agent is free meanwhile.
            "INTERACTING" | "COMMUNICATING" if u.released_at.is_some_and(|r| *since <= r) => (State::Idle, None),
            "INTERACTING" | "COMMUNICATING" => (State::Talking, None),
            "IDLE" => (State::Idle, None),
            _ => (State::Aux, Some(self.label(u))),
        })
    }

    /// The aux reason: the presence's label (the organisation's, e.g. `Break`, `Meal`, or a
    /// custom `Coaching`), else its system presence as Genesys shows it, else `unspecified`.
    fn label(&self, u: &User) -> CompactString {
        let Some(((def, system), _)) = &u.presence else { return UNSPECIFIED.into() };
        let label = self.labels.get(def.as_str()).map(String::as_str).unwrap_or_else(|| shown_presence(system));
        if valid_id(label) { label.into() } else { UNSPECIFIED.into() }
    }

    fn emit(&mut self, id: &CompactString, ts: Ms, out: &mut Vec<Out>) {
        let Some(u) = self.users.get(id) else { return };
        let Some(now) = self.state(u) else { return };
        let u = self.users.get_mut(id).expect("got");
        if u.emitted.as_ref() == Some(&now) {
            return;
        }
        let ts = ts.max(u.last_ts);
        u.last_ts = ts;
        u.emitted = Some(now.clone());
        let (state, reason) = now;
        out.push(Ok(Native::Agent(Event {
            ts: Some(ts),
            agent: id.clone(),
            state,
            reason,
            team: u.team.clone(),
            seq: None,
            name: u.name.clone(),
        })));
    }
}

#[cfg(test)]
mod tests;
