//! Amazon Connect's agent event stream (SPEC §7, `kind = "connect"`): the pure mapping from
//! one agent event record (a JSON object, as Kinesis carries it) to a native agent event.
//!
//! The record's `CurrentAgentSnapshot` says everything: the mapper keeps no agent state
//! but a window of recent `EventId`s for de-duplication and who logged out.
//! - `LOGOUT` → offline, whatever the snapshot holds. The agent is named from
//!   `PreviousAgentSnapshot` when `CurrentAgentSnapshot` is empty (as it may be at logout):
//!   never a second agent named by its ARN.
//! - a contact `CONNECTED` or `CONNECTED_ONHOLD` → talking; else a contact `ENDED` →
//!   acw (Connect's `ENDED` contact is the agent's after-contact work: it stays in the
//!   snapshot until the agent clears it). Contacts outrank the status: an agent who set
//!   Break while on a call is talking until the call and its ACW are done (Connect itself
//!   holds the new status as `NextAgentStatus` meanwhile). Several contacts at once (a
//!   call and chats): talking while any is connected, acw while none is and any ended.
//!   `INCOMING`, `PENDING`, `CONNECTING` (ringing), `MISSED`, `REJECTED`, `ERROR` change
//!   nothing: the status decides.
//! - else the status: `Type` `ROUTABLE` → idle, `CUSTOM` → aux (reason = `Name`),
//!   `OFFLINE` → offline. Records without `Type` (the documented samples have none) go by
//!   `Name`: `Available` → idle, `Offline` → offline, any other → aux (reason = `Name`).
//! - `HEART_BEAT` (every 120 s without other events) maps like a state change: it confirms
//!   the state (an unchanged state changes nothing but bookkeeping) and re-establishes it
//!   after a restart of floorwatch. Connect goes on sending them up to an hour after an
//!   agent logged out: after a `LOGOUT`, heartbeats keep the agent offline until its next
//!   `LOGIN` or `STATE_CHANGE`.
//! - ts = `EventTimestamp`; agent = `Configuration.Username` (or, with `agent_id = "arn"`,
//!   the id at the end of `AgentARN`); name = `FirstName LastName`, else the username;
//!   team = the routing profile's `Name` (or `AgentHierarchyGroups.Level<n>.Name`; an
//!   agent without that level keeps its team).
//! - dedupe: an `EventId` seen among the last [`DEDUPE_WINDOW`] is `duplicate`
//!   (`repeated`): Kinesis and Firehose deliver at least once, and a Firehose retry
//!   carries the same records again.
//!
//! Connect's agent event stream has no abandoned calls, so no call events (SPEC §8) are
//! made from it: queue figures from Connect would show every call answered.

use std::collections::{HashSet, VecDeque};

use serde_json::{Map, Value};

use super::config::{ConnectSettings, ConnectTeam};
use crate::event::{Aliases, DecodeError, Input, Refusal, decode_str};
use crate::time::parse_rfc3339;

/// Recent `EventId`s remembered. Connect sends at most one event per agent state change
/// and a heartbeat every 120 s: at 2,000 agents that is far over an hour of events, while
/// Firehose retries within minutes.
pub const DEDUPE_WINDOW: usize = 200_000;
/// Longest `EventId` kept (Connect's are UUIDs).
const MAX_EVENT_ID_BYTES: usize = 128;

/// Records in, native events out (see the module's doc). One per source.
#[derive(Debug)]
pub struct Mapper {
    agent_id_arn: bool,
    team_from: ConnectTeam,
    /// Hashes of the recent `EventId`s (64 bits: among 200,000 ids a false duplicate has a
    /// chance of about 1 in 10^9; the ids themselves would take six times the memory).
    seen: HashSet<u64>,
    order: VecDeque<u64>,
    /// Agents whose last record was a `LOGOUT` (their heartbeats keep them offline). At
    /// most [`DEDUPE_WINDOW`]: past it, forgotten all at once (a heartbeat then shows the
    /// snapshot's state, as before this set).
    logged_out: HashSet<String>,
    aliases: Aliases,
}

/// A stable 64-bit hash of an `EventId` (SipHash with fixed keys: the same in every run).
fn id_hash(id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

fn refuse(reason: Refusal, message: impl Into<String>, record: &str) -> DecodeError {
    DecodeError::new(reason, message, record)
}

/// A string field of a JSON object (`null` and absent alike).
fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

impl Mapper {
    pub fn new(s: &ConnectSettings) -> Mapper {
        Mapper {
            agent_id_arn: s.agent_id_arn,
            team_from: s.team_from,
            seen: HashSet::new(),
            order: VecDeque::new(),
            logged_out: HashSet::new(),
            aliases: Aliases::new(Default::default()),
        }
    }

    /// Maps one record's text (a JSON object). Its `EventId` is remembered only when the
    /// record maps, so a refused record sent again is refused again, not `duplicate`.
    pub fn record(&mut self, text: &str) -> Result<Input, DecodeError> {
        let v: Value = serde_json::from_str(text.trim())
            .map_err(|e| refuse(Refusal::NotJson, format!("agent event is not JSON: {e}"), text))?;
        if !v.is_object() {
            return Err(refuse(Refusal::NotObject, "agent event is not a JSON object", text));
        }
        let id = text_field(&v, "EventId", text)?;
        if id.len() > MAX_EVENT_ID_BYTES {
            return Err(refuse(Refusal::BadType, "EventId is over 128 bytes", text));
        }
        if self.seen.contains(&id_hash(id)) {
            return Err(refuse(Refusal::Repeated, format!("EventId {id:?} was delivered before"), text));
        }
        let native = self.map(&v, text)?;
        let input = decode_str(&native, &self.aliases)?;
        self.remember(id);
        Ok(input)
    }

    fn remember(&mut self, id: &str) {
        let h = id_hash(id);
        if !self.seen.insert(h) {
            return;
        }
        if self.order.len() >= DEDUPE_WINDOW
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        self.order.push_back(h);
    }

    /// The native event (SPEC §2.1) of one agent event, as JSON.
    fn map(&mut self, v: &Value, text: &str) -> Result<String, DecodeError> {
        let kind = text_field(v, "EventType", text)?;
        let ts_text = text_field(v, "EventTimestamp", text)?;
        let ts = parse_rfc3339(ts_text)
            .ok_or_else(|| refuse(Refusal::BadTs, format!("EventTimestamp {ts_text:?} is not ISO 8601"), text))?;
        let snap = v.get("CurrentAgentSnapshot").filter(|s| s.is_object());
        // Who it is: from the current snapshot, else the previous one (a LOGOUT's current
        // snapshot may be empty).
        let previous = v.get("PreviousAgentSnapshot").filter(|s| s.is_object());
        let config =
            [snap, previous].into_iter().flatten().find_map(|s| s.get("Configuration").filter(|c| c.is_object()));
        let username = config.and_then(|c| str_of(c, "Username")).filter(|u| !u.is_empty());
        let arn_id = str_of(v, "AgentARN").and_then(|a| a.rsplit('/').next()).filter(|a| !a.is_empty());
        let agent = if self.agent_id_arn { arn_id } else { username.or(arn_id) }
            .ok_or_else(|| refuse(Refusal::MissingField, "neither Configuration.Username nor AgentARN", text))?;
        let mut out = Map::new();
        out.insert("ts".into(), ts.into());
        out.insert("agent".into(), agent.into());
        if let Some(c) = config {
            let full =
                [str_of(c, "FirstName"), str_of(c, "LastName")].into_iter().flatten().collect::<Vec<_>>().join(" ");
            let name = Some(full.trim().to_string()).filter(|n| !n.is_empty()).or(username.map(String::from));
            if let Some(n) = name {
                out.insert("name".into(), n.into());
            }
            let team = match self.team_from {
                ConnectTeam::RoutingProfile => c.get("RoutingProfile").and_then(|r| str_of(r, "Name")),
                ConnectTeam::Hierarchy(n) => c
                    .get("AgentHierarchyGroups")
                    .and_then(|g| g.get(format!("Level{n}")))
                    .and_then(|l| str_of(l, "Name")),
            };
            if let Some(t) = team.filter(|t| !t.is_empty()) {
                out.insert("team".into(), t.into());
            }
        }
        let (state, reason) = match kind {
            "LOGOUT" => {
                if self.logged_out.len() >= DEDUPE_WINDOW {
                    self.logged_out.clear();
                }
                self.logged_out.insert(agent.to_string());
                ("offline", None)
            }
            // Heartbeats go on for up to an hour after a logout: still offline.
            "HEART_BEAT" if self.logged_out.contains(agent) => ("offline", None),
            "STATE_CHANGE" | "HEART_BEAT" | "LOGIN" | "CONNECTED_TO_SYSTEM" => {
                let snap =
                    snap.ok_or_else(|| refuse(Refusal::MissingField, "CurrentAgentSnapshot is missing", text))?;
                let state = state_of(snap, text)?;
                if kind != "HEART_BEAT" {
                    self.logged_out.remove(agent);
                }
                state
            }
            other => {
                return Err(refuse(Refusal::Unmapped, format!("EventType {other:?} is not an agent event"), text));
            }
        };
        out.insert("state".into(), state.into());
        if let Some(r) = reason {
            out.insert("reason".into(), r.into());
        }
        Ok(Value::Object(out).to_string())
    }
}

fn text_field<'a>(v: &'a Value, key: &str, record: &str) -> Result<&'a str, DecodeError> {
    match v.get(key) {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => Err(refuse(Refusal::MissingField, format!("{key} is missing"), record)),
        Some(_) => Err(refuse(Refusal::BadType, format!("{key} is not a string"), record)),
    }
}

/// The state (and aux reason) an agent snapshot shows.
fn state_of<'a>(snap: &'a Value, record: &str) -> Result<(&'static str, Option<&'a str>), DecodeError> {
    let contacts = snap.get("Contacts").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let states = || contacts.iter().filter_map(|c| str_of(c, "State"));
    if states().any(|s| s == "CONNECTED" || s == "CONNECTED_ONHOLD") {
        return Ok(("talking", None));
    }
    if states().any(|s| s == "ENDED") {
        return Ok(("acw", None));
    }
    let status = snap
        .get("AgentStatus")
        .filter(|s| s.is_object())
        .ok_or_else(|| refuse(Refusal::MissingField, "CurrentAgentSnapshot.AgentStatus is missing", record))?;
    let name = str_of(status, "Name").filter(|n| !n.is_empty());
    match (str_of(status, "Type"), name) {
        (Some("ROUTABLE"), _) => Ok(("idle", None)),
        (Some("OFFLINE"), _) => Ok(("offline", None)),
        (Some("CUSTOM"), n) => Ok(("aux", n)),
        (Some(other), _) => Err(refuse(
            Refusal::Unmapped,
            format!("AgentStatus.Type {other:?} is not ROUTABLE, CUSTOM or OFFLINE"),
            record,
        )),
        (None, Some("Available")) => Ok(("idle", None)),
        (None, Some("Offline")) => Ok(("offline", None)),
        (None, Some(n)) => Ok(("aux", Some(n))),
        (None, None) => Err(refuse(Refusal::MissingField, "AgentStatus has neither Type nor Name", record)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::Secret;

    fn mapper(team_from: ConnectTeam, arn: bool) -> Mapper {
        Mapper::new(&ConnectSettings {
            access_key: Secret::new("k"),
            agent_id_arn: arn,
            team_from,
            stale_after_secs: 600,
        })
    }

    fn record(id: &str, kind: &str, status: &str, contacts: &[&str]) -> String {
        let contacts: Vec<Value> = contacts
            .iter()
            .enumerate()
            .map(|(i, s)| serde_json::json!({"ContactId": format!("c{i}"), "Channel": "VOICE", "State": s}))
            .collect();
        let (ty, name) = status.split_once(':').unwrap_or((status, ""));
        let mut st = serde_json::json!({"ARN": "arn:x", "Name": name});
        if !ty.is_empty() {
            st["Type"] = ty.into();
        }
        serde_json::json!({
            "AgentARN": "arn:aws:connect:us-east-1:012345678901:instance/i-1/agent/0f7c-agent",
            "EventId": id, "EventType": kind, "EventTimestamp": "2026-11-23T09:00:01.500Z",
            "CurrentAgentSnapshot": {
                "AgentStatus": st,
                "Configuration": {
                    "Username": "lina", "FirstName": "Li", "LastName": "Na",
                    "RoutingProfile": {"Name": "Support EN"},
                    "AgentHierarchyGroups": {"Level1": {"ARN": "a", "Name": "Site SH"}, "Level2": {"Name": "T07"}}
                },
                "Contacts": contacts
            }
        })
        .to_string()
    }

    /// One record through a fresh mapper: (state, reason) or the refusal's reason.
    fn check(kind: &str, status: &str, contacts: &[&str], expected: Result<(&str, Option<&str>), &str>) {
        let got = match mapper(ConnectTeam::RoutingProfile, false).record(&record("e1", kind, status, contacts)) {
            Ok(Input::Agent(e)) => Ok((e.state.as_str(), e.reason.map(|r| r.to_string()))),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e.refusal().as_str()),
        };
        let expected = expected.map(|(s, r)| (s, r.map(String::from)));
        assert_eq!(got, expected, "{kind} {status} {contacts:?}");
    }

    #[test]
    fn the_mapping_table() {
        check("STATE_CHANGE", "ROUTABLE:Available", &[], Ok(("idle", None)));
        check("STATE_CHANGE", "CUSTOM:Lunch", &[], Ok(("aux", Some("Lunch"))));
        check("STATE_CHANGE", "OFFLINE:Offline", &[], Ok(("offline", None)));
        check("LOGOUT", "ROUTABLE:Available", &["CONNECTED"], Ok(("offline", None)));
        check("STATE_CHANGE", "ROUTABLE:Available", &["CONNECTED"], Ok(("talking", None)));
        check("STATE_CHANGE", "CUSTOM:Break", &["CONNECTED_ONHOLD"], Ok(("talking", None)));
        check("STATE_CHANGE", "ROUTABLE:Available", &["ENDED"], Ok(("acw", None)));
        // A call and a chat: talking while either is connected.
        check("STATE_CHANGE", "ROUTABLE:Available", &["ENDED", "CONNECTED"], Ok(("talking", None)));
        // Ringing is the status's state.
        check("STATE_CHANGE", "ROUTABLE:Available", &["INCOMING"], Ok(("idle", None)));
        check("STATE_CHANGE", "CUSTOM:Break", &["MISSED"], Ok(("aux", Some("Break"))));
        check("HEART_BEAT", "CUSTOM:Training", &[], Ok(("aux", Some("Training"))));
        // Without Type, by Name (as the documented samples are).
        check("HEART_BEAT", ":Available", &[], Ok(("idle", None)));
        check("HEART_BEAT", ":Offline", &[], Ok(("offline", None)));
        check("HEART_BEAT", ":Lunch", &[], Ok(("aux", Some("Lunch"))));
        check("STATE_CHANGE", "BUSY:Available", &[], Err("unmapped"));
        check("AGENT_PARTY", "ROUTABLE:Available", &[], Err("unmapped"));
    }

    #[test]
    fn ids_names_teams_and_time() {
        let r = record("e1", "STATE_CHANGE", "ROUTABLE:Available", &[]);
        let e = mapper(ConnectTeam::RoutingProfile, false).record(&r).unwrap().agent().unwrap();
        assert_eq!(
            (e.agent.as_str(), e.name.as_deref(), e.team.as_deref()),
            ("lina", Some("Li Na"), Some("Support EN"))
        );
        assert_eq!(e.ts, parse_rfc3339("2026-11-23T09:00:01.500Z"));
        let e = mapper(ConnectTeam::Hierarchy(2), true).record(&r).unwrap().agent().unwrap();
        assert_eq!((e.agent.as_str(), e.team.as_deref()), ("0f7c-agent", Some("T07")));
        // No level 3: the team is left out (sticky).
        let e = mapper(ConnectTeam::Hierarchy(3), false).record(&r).unwrap().agent().unwrap();
        assert_eq!(e.team, None);
    }

    /// Connect sends heartbeats up to an hour after a logout: they keep the agent offline
    /// until it logs in or changes state. A LOGOUT whose current snapshot is empty names the
    /// agent from the previous one (not a second agent named by its ARN).
    #[test]
    fn after_a_logout_heartbeats_keep_the_agent_offline() {
        let mut m = mapper(ConnectTeam::RoutingProfile, false);
        let state = |m: &mut Mapper, r: &str| {
            let e = m.record(r).unwrap().agent().unwrap();
            (e.agent.to_string(), e.state.as_str().to_string())
        };
        assert_eq!(state(&mut m, &record("e1", "STATE_CHANGE", "ROUTABLE:Available", &[])).1, "idle");
        let mut logout: Value = serde_json::from_str(&record("e2", "LOGOUT", "ROUTABLE:Available", &[])).unwrap();
        logout["PreviousAgentSnapshot"] = logout["CurrentAgentSnapshot"].take();
        assert_eq!(state(&mut m, &logout.to_string()), ("lina".to_string(), "offline".to_string()));
        let beat = record("e3", "HEART_BEAT", "ROUTABLE:Available", &[]);
        assert_eq!(state(&mut m, &beat).1, "offline", "a heartbeat after the logout");
        assert_eq!(state(&mut m, &record("e4", "LOGIN", "ROUTABLE:Available", &[])).1, "idle");
        assert_eq!(state(&mut m, &record("e5", "HEART_BEAT", "CUSTOM:Break", &[])).1, "aux", "logged in again");
    }

    #[test]
    fn event_ids_are_deduplicated_within_a_bounded_window() {
        let mut m = mapper(ConnectTeam::RoutingProfile, false);
        let r = record("e1", "STATE_CHANGE", "ROUTABLE:Available", &[]);
        assert!(m.record(&r).is_ok());
        assert_eq!(m.record(&r).unwrap_err().refusal(), Refusal::Repeated);
        // A refused record is not remembered: fixed and sent again, it maps.
        let bad = record("e2", "STATE_CHANGE", "ROUTABLE:Available", &[]).replace("2026-11-23T09", "yesterday 09");
        assert_eq!(m.record(&bad).unwrap_err().refusal(), Refusal::BadTs);
        assert!(m.record(&record("e2", "STATE_CHANGE", "ROUTABLE:Available", &[])).is_ok());
        for i in 0..DEDUPE_WINDOW {
            m.remember(&format!("x{i}"));
        }
        assert_eq!((m.seen.len(), m.order.len()), (DEDUPE_WINDOW, DEDUPE_WINDOW));
        assert!(m.record(&r).is_ok(), "e1 has left the window");
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let mut m = mapper(ConnectTeam::RoutingProfile, false);
        for (text, reason) in [
            ("not json", Refusal::NotJson),
            ("[1]", Refusal::NotObject),
            ("{\"EventType\":\"HEART_BEAT\"}", Refusal::MissingField),
            ("{\"EventId\":7}", Refusal::BadType),
            (
                "{\"EventId\":\"a\",\"EventType\":\"HEART_BEAT\",\"EventTimestamp\":\"2026-11-23T09:00:00Z\"}",
                Refusal::MissingField,
            ),
        ] {
            assert_eq!(m.record(text).unwrap_err().refusal(), reason, "{text}");
        }
    }

    use proptest::prelude::*;

    proptest! {
        /// Any snapshot of contacts and status: the state follows the precedence of the
        /// module's doc (LOGOUT, then a connected contact, then an ended one, then the
        /// status), and any text at all is mapped or refused, never a panic.
        #[test]
        fn contacts_outrank_the_status(
            kind in prop::sample::select(vec!["STATE_CHANGE", "HEART_BEAT", "LOGOUT", "LOGIN"]),
            status in prop::sample::select(vec!["ROUTABLE:Available", "CUSTOM:Break", "OFFLINE:Offline", ":Lunch"]),
            contacts in prop::collection::vec(
                prop::sample::select(vec!["INCOMING", "CONNECTING", "CONNECTED", "CONNECTED_ONHOLD", "MISSED", "ENDED", "ERROR"]),
                0..4,
            ),
            junk in ".{0,40}",
        ) {
            let mut m = mapper(ConnectTeam::RoutingProfile, false);
            let e = m.record(&record("e1", kind, status, &contacts)).unwrap().agent().unwrap();
            let want = if kind == "LOGOUT" {
                "offline"
            } else if contacts.iter().any(|c| c.starts_with("CONNECTED")) {
                "talking"
            } else if contacts.contains(&"ENDED") {
                "acw"
            } else {
                match status.split(':').next() {
                    Some("ROUTABLE") => "idle",
                    Some("OFFLINE") => "offline",
                    _ => "aux",
                }
            };
            prop_assert_eq!(e.state.as_str(), want);
            let _ = m.record(&junk);
            let _ = m.record(&format!("{{\"EventId\":\"x\",\"EventType\":\"STATE_CHANGE\",\"EventTimestamp\":\"2026-11-23T09:00:00Z\",\"CurrentAgentSnapshot\":{junk}}}"));
        }
    }
}
