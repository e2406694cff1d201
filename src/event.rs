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

/// What a call event says happened to the call (SPEC §8.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum CallKind {
    Queued,
    Answered,
    /// The caller hung up while waiting.
    Abandoned,
    /// Left the queue unanswered for any other reason (timeout, exit key, transfer).
    Left,
}

impl CallKind {
    pub const ALL: [CallKind; 4] = [CallKind::Queued, CallKind::Answered, CallKind::Abandoned, CallKind::Left];

    pub fn as_str(self) -> &'static str {
        match self {
            CallKind::Queued => "queued",
            CallKind::Answered => "answered",
            CallKind::Abandoned => "abandoned",
            CallKind::Left => "left",
        }
    }

    /// Event words are exact (lower case), unlike agent states.
    pub fn parse(s: &str) -> Option<CallKind> {
        CallKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A decoded call event (SPEC §8.1). `queue` is always present on `queued`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CallEvent {
    pub ts: Option<Ms>,
    pub call: CompactString,
    pub queue: Option<CompactString>,
    pub kind: CallKind,
    /// Who answered (informational: the agent's own `talking` event is what counts for it).
    pub agent: Option<CompactString>,
}

impl CallEvent {
    /// Serializes back to a native call event line.
    pub fn to_json(&self) -> String {
        let mut m = serde_json::Map::new();
        if let Some(ts) = self.ts {
            m.insert("ts".into(), ts.into());
        }
        m.insert("call".into(), self.call.as_str().into());
        if let Some(q) = &self.queue {
            m.insert("queue".into(), q.as_str().into());
        }
        m.insert("event".into(), self.kind.as_str().into());
        if let Some(a) = &self.agent {
            m.insert("agent".into(), a.as_str().into());
        }
        serde_json::Value::Object(m).to_string()
    }
}

/// Anything an ingest path carries to the core: an agent event (§2.1) or a call event
/// (§8.1). An object with a `call` field is a call event.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Input {
    Agent(Event),
    Call(CallEvent),
}

impl Input {
    pub fn ts(&self) -> Option<Ms> {
        match self {
            Input::Agent(e) => e.ts,
            Input::Call(c) => c.ts,
        }
    }

    pub fn to_json(&self) -> String {
        match self {
            Input::Agent(e) => e.to_json(),
            Input::Call(c) => c.to_json(),
        }
    }

    /// The agent event, for callers that know they sent one (tests, benchmarks).
    pub fn agent(self) -> Option<Event> {
        match self {
            Input::Agent(e) => Some(e),
            Input::Call(_) => None,
        }
    }
}

impl From<Event> for Input {
    fn from(e: Event) -> Input {
        Input::Agent(e)
    }
}

impl From<CallEvent> for Input {
    fn from(c: CallEvent) -> Input {
        Input::Call(c)
    }
}

pub const UNSPECIFIED: &str = "unspecified";
pub const UNASSIGNED: &str = "unassigned";
const MAX_ID_BYTES: usize = 64;
const MAX_CALL_BYTES: usize = 128;
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
    /// `invalid`: a platform source's message it could not turn into a native event
    /// (SPEC §7). Last, so the journal's numbers of the others stay.
    Unmapped,
}

impl Refusal {
    pub const ALL: [Refusal; 13] = [
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
        Refusal::Unmapped,
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
            Refusal::Unmapped => "unmapped",
        }
    }

    /// The outcome this reason belongs to: `late`, `duplicate` or `invalid` (SPEC §2.2).
    pub fn outcome(self) -> &'static str {
        match self {
            Refusal::TooOld | Refusal::OlderThanLast => "late",
            Refusal::Repeated => "duplicate",
            _ => "invalid",
        }
    }

    pub fn to_u8(self) -> u8 {
        self as u8
    }

    pub fn from_u8(b: u8) -> Option<Refusal> {
        Refusal::ALL.get(b as usize).copied()
    }
}

/// An event refused at the edge (SPEC §2.6): its reason, a one-line message naming the
/// field and the value (at most [`MAX_MESSAGE_BYTES`]), and the start of the input (at most
/// [`MAX_INPUT_BYTES`], lossy UTF-8) for `GET /api/v1/ingest/errors`. Built on the error
/// path only: decoding a good event allocates none of it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DecodeError {
    reason: Refusal,
    message: String,
    input: String,
}

/// Longest refusal message, in bytes (SPEC §2.6).
pub const MAX_MESSAGE_BYTES: usize = 80;
/// Longest input excerpt kept with a refusal, in bytes (SPEC §2.6).
pub const MAX_INPUT_BYTES: usize = 200;
/// Longest value quoted inside a message, so that the explanation after it still fits.
const MAX_VALUE_BYTES: usize = 32;

impl DecodeError {
    /// A refusal for `reason` with `message` (cut to [`MAX_MESSAGE_BYTES`]) about `input`.
    pub fn new(reason: Refusal, message: impl Into<String>, input: &str) -> DecodeError {
        DecodeError {
            reason,
            message: one_line(message.into(), MAX_MESSAGE_BYTES),
            input: prefix(input, MAX_INPUT_BYTES).to_string(),
        }
    }

    /// A `thing` (line, frame) over its size limit `key` of `limit` bytes (the input was
    /// never buffered).
    pub fn too_large(thing: &str, key: &str, limit: usize) -> DecodeError {
        DecodeError::new(Refusal::TooLarge, format!("{thing} over {key} ({limit} bytes)"), "")
    }

    /// Input that is not UTF-8 (`valid_up_to`: where the first bad byte is).
    pub fn not_utf8(bytes: &[u8], valid_up_to: usize) -> DecodeError {
        let input = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_INPUT_BYTES)]);
        DecodeError::new(Refusal::NotUtf8, format!("input is not UTF-8 (bad byte at offset {valid_up_to})"), &input)
    }

    /// The reason reported for this refusal (SPEC §2.6).
    pub fn refusal(&self) -> Refusal {
        self.reason
    }

    /// The one-line human message (at most [`MAX_MESSAGE_BYTES`]).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The first [`MAX_INPUT_BYTES`] of what was refused ("" for oversized input).
    pub fn input(&self) -> &str {
        &self.input
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `s` on one line (control characters as spaces), cut to `max` bytes with an ellipsis.
pub fn one_line(mut s: String, max: usize) -> String {
    if s.chars().any(char::is_control) {
        s = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    }
    if s.len() > max {
        let keep = prefix(&s, max - '…'.len_utf8()).len();
        s.truncate(keep);
        s.push('…');
    }
    s
}

/// A string value as a message shows it: quoted, escaped, shortened.
fn show_str(s: &str) -> String {
    let cut = prefix(s, MAX_VALUE_BYTES);
    if cut.len() < s.len() { format!("{:?}…", cut) } else { format!("{s:?}") }
}

/// A raw JSON value as a message shows it: as sent, on one line, shortened.
fn show_raw(raw: &str) -> String {
    let raw = raw.trim();
    let cut = prefix(raw, MAX_VALUE_BYTES);
    let shown = if cut.len() < raw.len() { format!("{cut}…") } else { cut.to_string() };
    shown.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
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
    #[serde(borrow, default)]
    call: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    queue: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    event: Option<Cow<'a, str>>,
}

fn printable(s: &str) -> bool {
    !s.chars().any(|c| c.is_control())
}

/// Unicode's format characters (general category Cf): they show nothing of themselves, and
/// some turn the text around them (bidi overrides and isolates). In an id they let one
/// agent pass for another on the board and in chats (`A0101` and `A0101` with a zero-width
/// space; `A\u{202E}2010`, which shows as `A0102`), so an id holding one is not printable.
/// Names may hold them (joiners in emoji and in Persian and Indic names).
pub fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

/// 1 to `max` bytes, none of them a control or an [`invisible`] character: what an id
/// (agent, team, reason, queue, roster activity) must be. ASCII is checked bytewise (the
/// ingest path's ids nearly always are).
pub fn printable_id(s: &str, max: usize) -> bool {
    if s.is_empty() || s.len() > max {
        return false;
    }
    if s.is_ascii() {
        return !s.bytes().any(|b| b < 0x20 || b == 0x7f);
    }
    !s.chars().any(|c| c.is_control() || invisible(c))
}

fn check_id(field: &'static str, s: &str, input: &str) -> Result<(), DecodeError> {
    if !printable_id(s, MAX_ID_BYTES) {
        let hidden = s.char_indices().find(|&(_, c)| invisible(c));
        let msg = match hidden {
            Some((at, c)) if s.len() <= MAX_ID_BYTES && printable(s) => {
                format!("{field} holds invisible U+{:04X} at byte {at}: {}", c as u32, show_str(s))
            }
            _ => format!("{field} must be 1-64 printable bytes, got {}", show_str(s)),
        };
        return Err(DecodeError::new(Refusal::BadType, msg, input));
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
pub fn decode_str(text: &str, aliases: &Aliases) -> Result<Input, DecodeError> {
    match serde_json::from_str::<Wire>(text) {
        Ok(wire) => from_wire(wire, text, aliases),
        // The fast path only says that something is wrong; finding what is the error path's
        // job, so a good event costs nothing more.
        Err(e) => Err(classify(text, &e)),
    }
}

/// Decodes one JSON event object from bytes (validated as UTF-8 first: faster than
/// `from_slice`, see PERF-NOTES).
pub fn decode_bytes(bytes: &[u8], aliases: &Aliases) -> Result<Input, DecodeError> {
    let text = std::str::from_utf8(bytes).map_err(|e| DecodeError::not_utf8(bytes, e.valid_up_to()))?;
    decode_str(text, aliases)
}

/// Decodes a WebSocket frame or HTTP body: one event object or a JSON array of them.
/// An array whose elements are not all objects is decoded element by element, so one bad
/// element is one `invalid` and the rest still apply. A body that is not JSON at all is a
/// single invalid outcome.
pub fn decode_batch(text: &str, aliases: &Aliases) -> Vec<Result<Input, DecodeError>> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        match serde_json::from_str::<Vec<&serde_json::value::RawValue>>(trimmed) {
            Ok(items) => items.into_iter().map(|raw| decode_str(raw.get(), aliases)).collect(),
            Err(e) => vec![Err(not_json(text, &e))],
        }
    } else {
        vec![decode_str(text, aliases)]
    }
}

fn not_json(text: &str, e: &serde_json::Error) -> DecodeError {
    DecodeError::new(Refusal::NotJson, format!("not JSON ({e}): {}", show_raw(text)), text)
}

/// What the JSON-level failure of `text` was (SPEC §2.6): not JSON at all, JSON but not an
/// object, or an object with a field of the spec of the wrong type (or given twice).
/// Parses `text` again, skipping values without recursing (`RawValue`), so any input costs
/// a bounded amount here too.
fn classify(text: &str, e: &serde_json::Error) -> DecodeError {
    let raw = match serde_json::from_str::<&serde_json::value::RawValue>(text) {
        Ok(raw) => raw.get().trim(),
        Err(e) => return not_json(text, &e),
    };
    if !raw.starts_with('{') {
        return DecodeError::new(
            Refusal::NotObject,
            format!("an event must be a JSON object, got {}", show_raw(raw)),
            text,
        );
    }
    let Ok(Fields(fields)) = serde_json::from_str::<Fields>(raw) else { return not_json(text, e) };
    for field in ["ts", "agent", "state", "reason", "team", "seq", "name", "call", "queue", "event"] {
        let mut found = fields.iter().filter(|(k, _)| k == field).map(|(_, v)| v.get().trim());
        let Some(value) = found.next() else { continue };
        if found.next().is_some() {
            return DecodeError::new(Refusal::BadType, format!("{field} appears more than once"), text);
        }
        if let Some(bad) = wrong_type(field, value, text) {
            return bad;
        }
    }
    not_json(text, e)
}

/// The refusal for a field of the spec whose JSON value has the wrong type, if it has.
fn wrong_type(field: &str, value: &str, text: &str) -> Option<DecodeError> {
    let ok = value == "null"
        || match field {
            "ts" => value.starts_with('"') || value.parse::<i64>().is_ok() || value.parse::<u64>().is_ok(),
            "seq" => value.parse::<u64>().is_ok(),
            _ => value.starts_with('"'),
        };
    if ok {
        return None;
    }
    Some(match field {
        "ts" => bad_ts(&show_raw(value), text),
        "seq" => DecodeError::new(
            Refusal::BadType,
            format!("seq must be a non-negative integer, got {}", show_raw(value)),
            text,
        ),
        _ => DecodeError::new(Refusal::BadType, format!("{field} must be a string, got {}", show_raw(value)), text),
    })
}

/// `shown`: the value as [`show_str`] or [`show_raw`] shows it.
fn bad_ts(shown: &str, text: &str) -> DecodeError {
    let msg = format!("ts {shown} is not an RFC 3339 time with offset or epoch ms");
    DecodeError::new(Refusal::BadTs, msg, text)
}

/// An object's members, values unparsed, in order (duplicates kept).
struct Fields<'a>(Vec<(String, &'a serde_json::value::RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Fields<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(kv) = map.next_entry::<String, &'de serde_json::value::RawValue>()? {
                    out.push(kv);
                }
                Ok(Fields(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn from_wire(mut w: Wire, text: &str, aliases: &Aliases) -> Result<Input, DecodeError> {
    if let Some(call) = w.call.take() {
        return call_from_wire(call, w, text).map(Input::Call);
    }
    let missing = |field: &str| DecodeError::new(Refusal::MissingField, format!("{field} is missing"), text);
    let agent = w.agent.ok_or_else(|| missing("agent"))?;
    check_id("agent", &agent, text)?;
    let state_word = w.state.ok_or_else(|| missing("state"))?;
    let state = aliases.state(&state_word).ok_or_else(|| {
        let msg =
            format!("state {} is not a state (talking, acw, aux, idle, offline or an alias)", show_str(&state_word));
        DecodeError::new(Refusal::UnknownState, msg, text)
    })?;
    let ts = wire_ts(w.ts, text)?;
    let reason = if state == State::Aux {
        match w.reason {
            Some(r) if !r.is_empty() => {
                check_id("reason", &r, text)?;
                Some(CompactString::from(r))
            }
            _ => Some(CompactString::const_new(UNSPECIFIED)),
        }
    } else {
        None
    };
    let team = match w.team {
        Some(t) => {
            check_id("team", &t, text)?;
            Some(CompactString::from(t))
        }
        None => None,
    };
    let name = match w.name {
        Some(n) => {
            if n.len() > MAX_NAME_BYTES || !printable(&n) {
                let msg = format!("name must be at most 256 printable bytes, got {}", show_str(&n));
                return Err(DecodeError::new(Refusal::BadType, msg, text));
            }
            Some(n.into_owned())
        }
        None => None,
    };
    Ok(Input::Agent(Event { ts, agent: CompactString::from(agent), state, reason, team, seq: w.seq, name }))
}

/// `ts` as decoded: absent, or epoch milliseconds in range.
fn wire_ts(ts: Option<WireTs>, text: &str) -> Result<Option<Ms>, DecodeError> {
    Ok(match ts {
        None => None,
        Some(WireTs::Int(ms)) if (0..=MAX_MS).contains(&ms) => Some(ms),
        Some(WireTs::Int(ms)) => {
            let msg = format!("ts {ms} is out of range (epoch milliseconds 0 to {MAX_MS})");
            return Err(DecodeError::new(Refusal::BadTs, msg, text));
        }
        Some(WireTs::Str(s)) => Some(parse_rfc3339(&s).ok_or_else(|| bad_ts(&show_str(&s), text))?),
        // A float, a boolean, an integer beyond i64: shown as sent.
        Some(WireTs::Bad) => {
            let shown = serde_json::from_str::<Fields>(text)
                .ok()
                .and_then(|f| f.0.into_iter().find(|(k, _)| k == "ts").map(|(_, v)| show_raw(v.get())))
                .unwrap_or_default();
            return Err(bad_ts(&shown, text));
        }
    })
}

/// A call event (SPEC §8.1): `call` 1-128 printable bytes, `event` one of the four exact
/// words, `queue` required on `queued`, `agent` optional.
fn call_from_wire(call: Cow<str>, w: Wire, text: &str) -> Result<CallEvent, DecodeError> {
    if call.is_empty() || call.len() > MAX_CALL_BYTES || !printable(&call) {
        let msg = format!("call must be 1-128 printable bytes, got {}", show_str(&call));
        return Err(DecodeError::new(Refusal::BadType, msg, text));
    }
    let missing = |field: &str| DecodeError::new(Refusal::MissingField, format!("{field} is missing"), text);
    let word = w.event.ok_or_else(|| missing("event"))?;
    let kind = CallKind::parse(&word).ok_or_else(|| {
        let msg = format!("event {} is not queued, answered, abandoned or left", show_str(&word));
        DecodeError::new(Refusal::UnknownEvent, msg, text)
    })?;
    let ts = wire_ts(w.ts, text)?;
    let queue = match w.queue {
        Some(q) => {
            check_id("queue", &q, text)?;
            Some(CompactString::from(q))
        }
        None if kind == CallKind::Queued => return Err(missing("queue")),
        None => None,
    };
    let agent = match w.agent {
        Some(a) => {
            check_id("agent", &a, text)?;
            Some(CompactString::from(a))
        }
        None => None,
    };
    Ok(CallEvent { ts, call: CompactString::from(call), queue, kind, agent })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aliases() -> Aliases {
        Aliases::new(crate::config::Settings::default().aliases)
    }

    /// `expected`: the decoded (ts, agent, state, reason), or the refusal's reason and its
    /// exact message.
    /// (ts, agent, state, reason) of a decoded event.
    type Decoded<'a> = (Option<Ms>, &'a str, State, Option<&'a str>);

    fn check(input: &str, expected: Result<Decoded<'_>, (Refusal, &str)>) {
        let got = decode_str(input, &aliases()).map(|i| i.agent().expect("an agent event"));
        match (got, expected) {
            (Ok(ev), Ok((ts, agent, state, reason))) => {
                assert_eq!(
                    (ev.ts, ev.agent.as_str(), ev.state, ev.reason.as_deref()),
                    (ts, agent, state, reason),
                    "{input}"
                )
            }
            (Err(e), Err((reason, message))) => {
                assert_eq!((e.refusal(), e.message()), (reason, message), "{input}");
                assert!(e.message().len() <= MAX_MESSAGE_BYTES, "{input}: message too long");
                assert_eq!(e.input(), prefix(input, MAX_INPUT_BYTES), "{input}: input kept");
            }
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
        assert_eq!(
            decode_str(r#"{"agent":"A","state":"ON-CALL"}"#, &custom).map(|e| e.agent().unwrap().state),
            Ok(State::Talking)
        );
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

    /// Ids in any script are printable; invisible characters are not, in an id. Names keep
    /// them (a joiner in an emoji or a Persian name).
    #[test]
    fn ids_may_be_any_script_but_not_invisible() {
        for id in ["张三", "Zoë", "علي", "A_1-b.c@x", "R&D <night>"] {
            assert!(printable_id(id, 64), "{id}");
        }
        for id in ["A\u{200B}", "\u{2066}A", "A\u{00AD}B", "A\u{E0041}", "A\u{7F}", ""] {
            assert!(!printable_id(id, 64), "{id:?}");
        }
        let ev = decode_str(
            r#"{"agent":"A1","state":"idle","name":"\u4e3d\u200d\u5a1c \ud83d\udc69\u200d\ud83d\udcbb"}"#,
            &aliases(),
        );
        assert!(ev.is_ok(), "{ev:?}");
        let call = decode_str(r#"{"call":"c1","event":"queued","queue":"Q\u200b1"}"#, &aliases()).unwrap_err();
        assert_eq!(call.message(), r#"queue holds invisible U+200B at byte 1: "Q\u{200b}1""#);
    }

    /// Every reason the decoder gives (SPEC §2.6), with its message naming the field and the
    /// value.
    #[test]
    fn refuses_bad_events_with_reason_and_message() {
        use Refusal::*;
        check("not json", Err((NotJson, "not JSON (expected ident at line 1 column 2): not json")));
        check(
            r#"{"agent":"A1","#,
            Err((NotJson, r#"not JSON (EOF while parsing an object at line 1 column 14): {"agent":"A1","#)),
        );
        check(
            r#"{"agent":"A1","state":"idle"} x"#,
            Err((NotJson, r#"not JSON (trailing characters at line 1 column 31): {"agent":"A1","state":"id…"#)),
        );
        check("42", Err((NotObject, "an event must be a JSON object, got 42")));
        check(r#""x""#, Err((NotObject, r#"an event must be a JSON object, got "x""#)));
        check(
            r#"[{"agent":"A1","state":"idle"}]"#,
            Err((NotObject, r#"an event must be a JSON object, got [{"agent":"A1","state":"idle"}]"#)),
        );
        check(r#"{"agent":"A1"}"#, Err((MissingField, "state is missing")));
        check(r#"{"state":"idle"}"#, Err((MissingField, "agent is missing")));
        check(r#"{"agent":null,"state":"idle"}"#, Err((MissingField, "agent is missing")));
        check(
            r#"{"agent":"A1","state":"TALKINGG"}"#,
            Err((UnknownState, r#"state "TALKINGG" is not a state (talking, acw, aux, idle, offline or an alias)"#)),
        );
        check(
            r#"{"agent":"A1","state":"Idle!"}"#,
            Err((UnknownState, r#"state "Idle!" is not a state (talking, acw, aux, idle, offline or an alias)"#)),
        );
        check(r#"{"agent":"","state":"idle"}"#, Err((BadType, r#"agent must be 1-64 printable bytes, got """#)));
        check(
            r#"{"agent":"A\n1","state":"idle"}"#,
            Err((BadType, r#"agent must be 1-64 printable bytes, got "A\n1""#)),
        );
        // Invisible characters: one agent passing for another on the board and in chats.
        check(
            r#"{"agent":"A0101\u200b","state":"idle"}"#,
            Err((BadType, r#"agent holds invisible U+200B at byte 5: "A0101\u{200b}""#)),
        );
        check(
            r#"{"agent":"A\u202e2010","state":"idle"}"#,
            Err((BadType, r#"agent holds invisible U+202E at byte 1: "A\u{202e}2010""#)),
        );
        check(
            r#"{"agent":"A1","state":"aux","reason":"\u202egniniart"}"#,
            Err((BadType, r#"reason holds invisible U+202E at byte 0: "\u{202e}gniniart""#)),
        );
        check(
            r#"{"agent":"A1","state":"idle","team":"T1\ufeff"}"#,
            Err((BadType, r#"team holds invisible U+FEFF at byte 2: "T1\u{feff}""#)),
        );
        check(r#"{"agent":7,"state":"idle"}"#, Err((BadType, "agent must be a string, got 7")));
        check(r#"{"agent":"A1","state":5}"#, Err((BadType, "state must be a string, got 5")));
        check(r#"{"agent":"A1","state":"idle","team":5}"#, Err((BadType, "team must be a string, got 5")));
        check(r#"{"agent":"A1","state":"aux","reason":true}"#, Err((BadType, "reason must be a string, got true")));
        check(r#"{"agent":"A1","state":"idle","name":["L"]}"#, Err((BadType, r#"name must be a string, got ["L"]"#)));
        check(
            r#"{"agent":"A1","state":"idle","seq":-1}"#,
            Err((BadType, "seq must be a non-negative integer, got -1")),
        );
        check(
            r#"{"agent":"A1","state":"idle","seq":"5"}"#,
            Err((BadType, r#"seq must be a non-negative integer, got "5""#)),
        );
        check(
            r#"{"agent":"A1","state":"idle","seq":1.5}"#,
            Err((BadType, "seq must be a non-negative integer, got 1.5")),
        );
        check(r#"{"agent":"A1","agent":"A2","state":"idle"}"#, Err((BadType, "agent appears more than once")));
        let ts_msg = |v: &str| format!("ts {v} is not an RFC 3339 time with offset or epoch ms");
        check(r#"{"agent":"A1","state":"idle","ts":"yesterday"}"#, Err((BadTs, &ts_msg(r#""yesterday""#))));
        check(
            r#"{"agent":"A1","state":"idle","ts":"2026-11-23T09:00:00"}"#,
            Err((BadTs, &ts_msg(r#""2026-11-23T09:00:00""#))),
        );
        check(r#"{"agent":"A1","state":"idle","ts":1.5e12}"#, Err((BadTs, &ts_msg("1.5e12"))));
        check(r#"{"agent":"A1","state":"idle","ts":true}"#, Err((BadTs, &ts_msg("true"))));
        check(r#"{"agent":"A1","state":"idle","ts":[1]}"#, Err((BadTs, &ts_msg("[1]"))));
        check(
            r#"{"agent":"A1","state":"idle","ts":-1}"#,
            Err((BadTs, "ts -1 is out of range (epoch milliseconds 0 to 253402300799999)")),
        );
        check(
            r#"{"agent":"A1","state":"idle","ts":99999999999999999999}"#,
            Err((BadTs, &ts_msg("99999999999999999999"))),
        );
        // Deep nesting in a known field is refused; in an unknown field it is skipped
        // without recursion — either way no stack overflow, and the message stays short.
        let deep = format!("{}{}", "[".repeat(1_000_000), "]".repeat(1_000_000));
        check(
            &format!(r#"{{"agent":"A1","state":"idle","team":{deep}}}"#),
            Err((BadType, &format!("team must be a string, got {}…", "[".repeat(32)))),
        );
        check(&format!(r#"{{"agent":"A1","state":"idle","x":{deep}}}"#), Ok((None, "A1", State::Idle, None)));
        let e = decode_bytes(b"{\"agent\":\"\xff\",\"state\":\"idle\"}", &aliases()).unwrap_err();
        assert_eq!((e.refusal(), e.message()), (NotUtf8, "input is not UTF-8 (bad byte at offset 10)"));
        assert_eq!(e.input(), "{\"agent\":\"\u{fffd}\",\"state\":\"idle\"}");
        let e = DecodeError::too_large("line", "limits.max_line_bytes", 65536);
        assert_eq!(
            (e.refusal(), e.message(), e.input()),
            (TooLarge, "line over limits.max_line_bytes (65536 bytes)", "")
        );
    }

    /// Messages are cut to 80 bytes (on a character boundary, with an ellipsis); values
    /// inside them to 32, so the explanation after a long value survives; the input kept
    /// is its first 200 bytes.
    #[test]
    fn messages_and_inputs_are_truncated() {
        use Refusal::*;
        let long = "é".repeat(100);
        check(
            &format!(r#"{{"agent":"A1","state":"{long}"}}"#),
            Err((UnknownState, &format!(r#"state "{}"… is not a state (talking, acw, aux…"#, "é".repeat(16)))),
        );
        let e = decode_str(&format!(r#"{{"agent":"A1","state":"{long}"}}"#), &aliases()).unwrap_err();
        assert_eq!(e.message().len(), 80);
        assert_eq!(e.input().len(), 199, "cut on a character boundary at or below 200 bytes");
        check(
            &format!(r#"{{"agent":"{}","state":"idle"}}"#, "x".repeat(65)),
            Err((BadType, &format!(r#"agent must be 1-64 printable bytes, got "{}"…"#, "x".repeat(32)))),
        );
        assert_eq!(one_line("a\nb".into(), 80), "a b");
        assert_eq!(one_line("x".repeat(81), 80), format!("{}…", "x".repeat(77)));
        assert_eq!(one_line("x".repeat(80), 80), "x".repeat(80));
    }

    #[test]
    fn refusals_belong_to_their_outcome() {
        assert_eq!(Refusal::ALL.map(Refusal::outcome).iter().filter(|o| **o == "invalid").count(), 10);
        assert_eq!(Refusal::TooOld.outcome(), "late");
        assert_eq!(Refusal::OlderThanLast.outcome(), "late");
        assert_eq!(Refusal::Repeated.outcome(), "duplicate");
    }

    #[test]
    fn batches_decode_element_by_element() {
        let out = decode_batch(r#"[{"agent":"A1","state":"idle"}, 5, {"agent":"A2","state":"nope"}]"#, &aliases());
        assert_eq!(out.len(), 3);
        assert!(out[0].is_ok());
        assert_eq!(out[1].as_ref().unwrap_err().refusal(), Refusal::NotObject);
        assert_eq!(out[2].as_ref().unwrap_err().refusal(), Refusal::UnknownState);
        assert_eq!(
            out[2].as_ref().unwrap_err().input(),
            r#"{"agent":"A2","state":"nope"}"#,
            "the element, not the body"
        );
        assert_eq!(decode_batch(r#"{"agent":"A1","state":"idle"}"#, &aliases()).len(), 1);
        let bad = decode_batch("[1,", &aliases());
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].as_ref().unwrap_err().refusal(), Refusal::NotJson);
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
