//! Native events (SPEC §2.1) and their decoding. Decoding is the edge: anything that is
//! not a well-formed event becomes a [`DecodeError`] (counted `invalid`) and never reaches
//! the core.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use compact_str::CompactString;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::time::{MAX_MS, Ms, parse_rfc3339};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum State {
    Talking,
    Acw,
    Aux,
    Idle,
    Offline,
}

impl State {
    pub const ALL: [State; 5] = [State::Talking, State::Acw, State::Aux, State::Idle, State::Offline];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Talking => "talking",
            State::Acw => "acw",
            State::Aux => "aux",
            State::Idle => "idle",
            State::Offline => "offline",
        }
    }

    pub fn parse_canonical(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// A decoded, validated event. `reason` is normalized: `None` unless `state` is aux, and
/// `"unspecified"` for aux without a reason.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    pub ts: Option<Ms>,
    pub agent: CompactString,
    pub state: State,
    pub reason: Option<CompactString>,
    pub team: Option<CompactString>,
    pub seq: Option<u64>,
    pub name: Option<String>,
}

impl Event {
    /// Serializes back to a native event line (used by the journal and the simulator).
    pub fn to_json(&self) -> String {
        let mut m = serde_json::Map::new();
        if let Some(ts) = self.ts {
            m.insert("ts".into(), ts.into());
        }
        m.insert("agent".into(), self.agent.as_str().into());
        m.insert("state".into(), self.state.as_str().into());
        if let Some(r) = &self.reason {
            m.insert("reason".into(), r.as_str().into());
        }
        if let Some(t) = &self.team {
            m.insert("team".into(), t.as_str().into());
        }
        if let Some(s) = self.seq {
            m.insert("seq".into(), s.into());
        }
        if let Some(n) = &self.name {
            m.insert("name".into(), n.clone().into());
        }
        serde_json::Value::Object(m).to_string()
    }
}

pub const UNSPECIFIED: &str = "unspecified";
pub const UNASSIGNED: &str = "unassigned";
const MAX_ID_BYTES: usize = 64;
const MAX_NAME_BYTES: usize = 256;

/// Why an event was refused (SPEC §2.6): the fixed set of reasons behind `invalid`, `late`
/// and `duplicate` outcomes, counted per source and reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Refusal {
    NotJson,
    NotObject,
    MissingField,
    BadType,
    UnknownState,
    UnknownEvent,
    BadTs,
    TooLarge,
    NotUtf8,
    /// `late`: older than now less `floor.max_backfill_secs`.
    TooOld,
    /// `late`: older than the agent's last applied event.
    OlderThanLast,
    /// `duplicate`.
    Repeated,
}

impl Refusal {
    pub const ALL: [Refusal; 12] = [
        Refusal::NotJson,
        Refusal::NotObject,
        Refusal::MissingField,
        Refusal::BadType,
        Refusal::UnknownState,
        Refusal::UnknownEvent,
        Refusal::BadTs,
        Refusal::TooLarge,
        Refusal::NotUtf8,
        Refusal::TooOld,
        Refusal::OlderThanLast,
        Refusal::Repeated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::NotJson => "not_json",
            Refusal::NotObject => "not_object",
            Refusal::MissingField => "missing_field",
            Refusal::BadType => "bad_type",
            Refusal::UnknownState => "unknown_state",
            Refusal::UnknownEvent => "unknown_event",
            Refusal::BadTs => "bad_ts",
            Refusal::TooLarge => "too_large",
            Refusal::NotUtf8 => "not_utf8",
            Refusal::TooOld => "too_old",
            Refusal::OlderThanLast => "older_than_last",
            Refusal::Repeated => "repeated",
        }
    }

    pub fn to_u8(self) -> u8 {
        self as u8
    }

    pub fn from_u8(b: u8) -> Option<Refusal> {
        Refusal::ALL.get(b as usize).copied()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not valid UTF-8")]
    Utf8,
    #[error("not a JSON event: {0}")]
    Json(String),
    #[error("missing field `{0}`")]
    Missing(&'static str),
    #[error("bad `{0}`: {1}")]
    Bad(&'static str, &'static str),
    #[error("unknown state {0:?}")]
    UnknownState(String),
    #[error("line or frame over the size limit")]
    TooLarge,
}

impl DecodeError {
    /// The reason reported for this refusal (SPEC §2.6).
    pub fn refusal(&self) -> Refusal {
        match self {
            DecodeError::Utf8 => Refusal::NotUtf8,
            DecodeError::Json(_) => Refusal::NotJson,
            DecodeError::Missing(_) => Refusal::MissingField,
            DecodeError::Bad("ts", _) => Refusal::BadTs,
            DecodeError::Bad(..) => Refusal::BadType,
            DecodeError::UnknownState(_) => Refusal::UnknownState,
            DecodeError::TooLarge => Refusal::TooLarge,
        }
    }
}

/// `ts` as it appears on the wire: an RFC 3339 string or integer epoch milliseconds.
enum WireTs<'a> {
    Str(Cow<'a, str>),
    Int(i64),
    Bad,
}

impl<'de: 'a, 'a> Deserialize<'de> for WireTs<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WireTs<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an RFC 3339 string or epoch milliseconds")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(WireTs::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(WireTs::Str(Cow::Owned(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(WireTs::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(i64::try_from(v).map(WireTs::Int).unwrap_or(WireTs::Bad))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(WireTs::Bad)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(WireTs::Bad)
            }
        }
        d.deserialize_any(V)
    }
}

/// The wire form: borrowed where the JSON has no escapes. Optional fields may be `null`.
#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow, default)]
    ts: Option<WireTs<'a>>,
    #[serde(borrow, default)]
    agent: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    state: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    reason: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    team: Option<Cow<'a, str>>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
}

fn printable(s: &str) -> bool {
    !s.chars().any(|c| c.is_control())
}

fn check_id(field: &'static str, s: &str) -> Result<(), DecodeError> {
    if s.is_empty() || s.len() > MAX_ID_BYTES {
        return Err(DecodeError::Bad(field, "must be 1-64 bytes"));
    }
    if !printable(s) {
        return Err(DecodeError::Bad(field, "must be printable"));
    }
    Ok(())
}

/// Maps platform words onto states: canonical names first, then the configured aliases.
#[derive(Clone, Debug, Default)]
pub struct Aliases(HashMap<String, State>);

impl Aliases {
    /// Alias words are matched without regard to ASCII case, like the states themselves.
    pub fn new(map: HashMap<String, State>) -> Self {
        Aliases(map.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect())
    }

    /// The state a platform word names: canonical names first, then the aliases, both
    /// without regard to ASCII case (`Available`, `AVAILABLE` and `available` are idle).
    pub fn state(&self, s: &str) -> Option<State> {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            let lower = s.to_ascii_lowercase();
            return State::parse_canonical(&lower).or_else(|| self.0.get(&lower).copied());
        }
        State::parse_canonical(s).or_else(|| self.0.get(s).copied())
    }
}

/// Decodes one JSON event object from text.
pub fn decode_str(text: &str, aliases: &Aliases) -> Result<Event, DecodeError> {
    let wire: Wire = serde_json::from_str(text).map_err(|e| DecodeError::Json(short(e)))?;
    from_wire(wire, aliases)
}

/// Decodes one JSON event object from bytes (validated as UTF-8 first: faster than
/// `from_slice`, see PERF-NOTES).
pub fn decode_bytes(bytes: &[u8], aliases: &Aliases) -> Result<Event, DecodeError> {
    let text = std::str::from_utf8(bytes).map_err(|_| DecodeError::Utf8)?;
    decode_str(text, aliases)
}

/// Decodes a WebSocket frame or HTTP body: one event object or a JSON array of them.
/// An array whose elements are not all objects is decoded element by element, so one bad
/// element is one `invalid` and the rest still apply. A body that is not JSON at all is a
/// single invalid outcome.
pub fn decode_batch(text: &str, aliases: &Aliases) -> Vec<Result<Event, DecodeError>> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        match serde_json::from_str::<Vec<&serde_json::value::RawValue>>(trimmed) {
            Ok(items) => items.into_iter().map(|raw| decode_str(raw.get(), aliases)).collect(),
            Err(e) => vec![Err(DecodeError::Json(short(e)))],
        }
    } else {
        vec![decode_str(text, aliases)]
    }
}

fn short(e: serde_json::Error) -> String {
    let mut s = e.to_string();
    s.truncate(120);
    s
}

fn from_wire(w: Wire, aliases: &Aliases) -> Result<Event, DecodeError> {
    let agent = w.agent.ok_or(DecodeError::Missing("agent"))?;
    check_id("agent", &agent)?;
    let state_word = w.state.ok_or(DecodeError::Missing("state"))?;
    let state = aliases.state(&state_word).ok_or_else(|| {
        let mut s = state_word.to_string();
        s.truncate(64);
        DecodeError::UnknownState(s)
    })?;
    let ts = match w.ts {
        None => None,
        Some(WireTs::Int(ms)) if (0..=MAX_MS).contains(&ms) => Some(ms),
        Some(WireTs::Int(_)) => return Err(DecodeError::Bad("ts", "epoch milliseconds out of range")),
        Some(WireTs::Str(s)) => {
            Some(parse_rfc3339(&s).ok_or(DecodeError::Bad("ts", "not an RFC 3339 timestamp with offset"))?)
        }
        Some(WireTs::Bad) => return Err(DecodeError::Bad("ts", "must be a string or integer")),
    };
    let reason = if state == State::Aux {
        match w.reason {
            Some(r) if !r.is_empty() => {
                check_id("reason", &r)?;
                Some(CompactString::from(r))
            }
            _ => Some(CompactString::const_new(UNSPECIFIED)),
        }
    } else {
        None
    };
    let team = match w.team {
        Some(t) => {
            check_id("team", &t)?;
            Some(CompactString::from(t))
        }
        None => None,
    };
    let name = match w.name {
        Some(n) => {
            if n.len() > MAX_NAME_BYTES || !printable(&n) {
                return Err(DecodeError::Bad("name", "must be at most 256 printable bytes"));
            }
            Some(n.into_owned())
        }
        None => None,
    };
    Ok(Event { ts, agent: CompactString::from(agent), state, reason, team, seq: w.seq, name })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aliases() -> Aliases {
        Aliases::new(crate::config::Settings::default().aliases)
    }

    /// What an input decodes to: (ts, agent, state, reason), or a fragment of the error.
    type Expected<'a> = Result<(Option<Ms>, &'a str, State, Option<&'a str>), &'a str>;

    fn check(input: &str, expected: Expected) {
        let got = decode_str(input, &aliases());
        match (got, expected) {
            (Ok(ev), Ok((ts, agent, state, reason))) => {
                assert_eq!(
                    (ev.ts, ev.agent.as_str(), ev.state, ev.reason.as_deref()),
                    (ts, agent, state, reason),
                    "{input}"
                )
            }
            (Err(e), Err(fragment)) => assert!(e.to_string().contains(fragment), "{input}: {e} lacks {fragment:?}"),
            (got, exp) => panic!("{input}: got {got:?}, expected {exp:?}"),
        }
    }

    /// State words and aliases match without regard to ASCII case (SPEC §2.3); reasons
    /// keep their case.
    #[test]
    fn states_and_aliases_ignore_ascii_case() {
        for word in ["Idle", "IDLE", "Available", "AVAILABLE", "available", "Ready"] {
            check(&format!(r#"{{"agent":"A1","state":"{word}"}}"#), Ok((None, "A1", State::Idle, None)));
        }
        check(r#"{"agent":"A1","state":"TALKING"}"#, Ok((None, "A1", State::Talking, None)));
        check(r#"{"agent":"A1","state":"Not_Ready","reason":"Break"}"#, Ok((None, "A1", State::Aux, Some("Break"))));
        // Configured aliases too, whatever case the configuration wrote them in.
        let custom = Aliases::new([("On-Call".to_string(), State::Talking)].into_iter().collect());
        assert_eq!(decode_str(r#"{"agent":"A","state":"ON-CALL"}"#, &custom).map(|e| e.state), Ok(State::Talking));
        assert!(decode_str(r#"{"agent":"A","state":"Talkingg"}"#, &custom).is_err());
    }

    #[test]
    fn decodes_the_native_forms() {
        let t = 1_795_425_302_123;
        check(
            r#"{"ts":"2026-11-23T09:15:02.123Z","agent":"A0123","state":"aux","reason":"break","team":"T07","seq":812,"name":"Li Na"}"#,
            Ok((Some(t), "A0123", State::Aux, Some("break"))),
        );
        check(
            r#"{"ts":1795425302123,"agent":"A1","state":"aux"}"#,
            Ok((Some(t), "A1", State::Aux, Some("unspecified"))),
        );
        check(r#"{"agent":"A1","state":"idle","reason":"x"}"#, Ok((None, "A1", State::Idle, None)));
        check(
            r#"{"agent":"A1","state":"not_ready","reason":null,"extra":{"a":[1,2]}}"#,
            Ok((None, "A1", State::Aux, Some("unspecified"))),
        );
        check(r#"{"agent":"A\u00e9","state":"wrapup","team":null}"#, Ok((None, "Aé", State::Acw, None)));
        check(r#"{"agent":"A1","state":"logout"}"#, Ok((None, "A1", State::Offline, None)));
    }

    #[test]
    fn refuses_bad_events() {
        check("not json", Err("not a JSON event"));
        check(r#"{"agent":"A1"}"#, Err("missing field `state`"));
        check(r#"{"state":"idle"}"#, Err("missing field `agent`"));
        check(r#"{"agent":"A1","state":"sleeping"}"#, Err("unknown state"));
        check(r#"{"agent":"A1","state":"Idle!"}"#, Err("unknown state"));
        check(r#"{"agent":"","state":"idle"}"#, Err("bad `agent`"));
        check(&format!(r#"{{"agent":"{}","state":"idle"}}"#, "x".repeat(65)), Err("bad `agent`"));
        check(r#"{"agent":"A\n1","state":"idle"}"#, Err("bad `agent`"));
        check(r#"{"agent":7,"state":"idle"}"#, Err("not a JSON event"));
        check(r#"{"agent":"A1","state":"idle","ts":"yesterday"}"#, Err("bad `ts`"));
        check(r#"{"agent":"A1","state":"idle","ts":1.5e12}"#, Err("bad `ts`"));
        check(r#"{"agent":"A1","state":"idle","ts":-1}"#, Err("bad `ts`"));
        check(r#"{"agent":"A1","state":"idle","seq":-1}"#, Err("not a JSON event"));
        check(r#"{"agent":"A1","state":"idle","team":5}"#, Err("not a JSON event"));
        check(r#"[{"agent":"A1","state":"idle"}]"#, Err("not a JSON event"));
        // Deep nesting in a known field is refused; in an unknown field it is skipped
        // without recursion — either way no stack overflow.
        let deep = format!("{}{}", "[".repeat(1_000_000), "]".repeat(1_000_000));
        check(&format!(r#"{{"agent":"A1","state":"idle","team":{deep}}}"#), Err("not a JSON event"));
        check(&format!(r#"{{"agent":"A1","state":"idle","x":{deep}}}"#), Ok((None, "A1", State::Idle, None)));
        assert_eq!(decode_bytes(b"{\"agent\":\"\xff\",\"state\":\"idle\"}", &aliases()), Err(DecodeError::Utf8));
    }

    #[test]
    fn batches_decode_element_by_element() {
        let out = decode_batch(r#"[{"agent":"A1","state":"idle"}, 5, {"agent":"A2","state":"nope"}]"#, &aliases());
        assert_eq!(out.len(), 3);
        assert!(out[0].is_ok() && out[1].is_err() && out[2].is_err());
        assert_eq!(decode_batch(r#"{"agent":"A1","state":"idle"}"#, &aliases()).len(), 1);
        assert_eq!(decode_batch("[1,", &aliases()).len(), 1);
    }

    #[test]
    fn to_json_round_trips() {
        let ev = decode_str(
            r#"{"ts":5,"agent":"A1","state":"aux","reason":"lunch","team":"T","seq":3,"name":"N"}"#,
            &aliases(),
        )
        .unwrap();
        assert_eq!(decode_str(&ev.to_json(), &aliases()).unwrap(), ev);
    }
}
