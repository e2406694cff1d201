//! FreeSWITCH (mod_callcenter) over the Event Socket: the mapping from `CUSTOM
//! callcenter::info` events and the `callcenter_config agent list` / `tier list` answers to
//! native agent events (SPEC §2.1) and call events (SPEC §8.1), SPEC §7.
//!
//! The [`Mapper`] is pure: decoded events and the instants they were received go in,
//! native events come out; no clock, no I/O. The connection that feeds it is
//! [`super::esl_client`]. What mod_callcenter sends is documented in
//! tests/fixtures/freeswitch/README.md (from its source).
//!
//! - agent = `CC-Agent` (the agent list's `name`, e.g. `1000@default`); name = the
//!   source's `names` map (mod_callcenter has no display names); team = `[sources.teams]`,
//!   else the agent's first tier's queue (`tier list`, ordered by level and position),
//!   else the first queue it is seen answering in.
//! - The agent's state comes from its *status* (`CC-Agent-Status`: `Logged Out`,
//!   `Available`, `Available (On Demand)`, `On Break`) and its *state* (`CC-Agent-State`:
//!   `Waiting`, `Receiving`, `In a queue call`, `Idle`, `Reserved`), in this order:
//!   talking ← state `In a queue call`, whatever the status (a status change applies to
//!   the next call: an agent put `On Break` or `Logged Out` during a call talks until it
//!   ends); offline ← `Logged Out`; aux(`break`) ← `On Break`; acw ← from `bridge-agent-end`
//!   until its time plus the agent's `wrap_up_time` (the agent list's; the source's
//!   `wrapup_secs` for agents added since), and state `Idle` (what `Available (On Demand)`
//!   agents are put in after each call, until they set `Waiting`); idle otherwise
//!   (`Waiting`, `Receiving`, `Reserved`: ringing is idle).
//! - Wrap-up has no end event: the mapper emits it, dated at its end, once stream time
//!   reaches it (a later event, or [`Mapper::tick`]); never in the future. The agent
//!   being offered or connected a call (`Receiving`, `In a queue call`) ends it earlier.
//! - ts = `Event-Date-Timestamp` (µs). The lists carry no time: they are dated by the
//!   stream's clock (the last event's time plus the wall time since), and held until the
//!   connection shows an event (at most [`HOLD_MS`]), then dated by receipt.
//! - calls: queued ← `member-queue-start` / `member-queue-resume` (call = `CC-Member-UUID`);
//!   answered ← `bridge-agent-start` (agent = `CC-Agent`); `member-queue-end` with
//!   `CC-Cause: Cancel` ends it: abandoned when `CC-Cancel-Reason` is `BREAK_OUT` (the
//!   caller hung up) or `NONE`, left otherwise (`TIMEOUT`, `NO_AGENT_TIMEOUT`,
//!   `EXIT_WITH_KEY`); `CC-Cause: Terminated` comes after the answered call ends and
//!   changes nothing. On connect, `callcenter_config queue list members` tells the callers
//!   already waiting (queued, dated when they joined); a call we had waiting that it no
//!   longer lists ended while the connection was down: left, as of the list (FreeSWITCH
//!   cannot tell how it ended).
//!
//! Bounded: at most [`MAX_AGENTS`] agents and [`MAX_CALLS`] waiting calls; beyond, an
//! event is refused (`invalid`, `unmapped`). Events the mapping does not follow are ignored.

use std::collections::{BTreeSet, HashMap, HashSet};

use compact_str::CompactString;

use super::ami::Message;
use super::asterisk::{CallEvent, CallKind, Native, Out};
use crate::event::{DecodeError, Event, Refusal, State};
use crate::time::Ms;

/// Most agents tracked by one source.
pub const MAX_AGENTS: usize = 100_000;
/// Most waiting calls tracked.
pub const MAX_CALLS: usize = 100_000;
/// How long the lists wait for the stream to show an event, in wall ms.
pub const HOLD_MS: Ms = 1_000;
const MAX_ID_BYTES: usize = 64;
/// The aux reason of `On Break` (mod_callcenter has no reasons).
pub const BREAK: &str = "break";

/// The mapping's settings (`[[sources]]` of kind `freeswitch`).
#[derive(Clone, Debug, Default)]
pub struct MapperConfig {
    /// Wrap-up of agents not in the agent list, in ms.
    pub wrapup_ms: Ms,
    /// Agent → team.
    pub teams: HashMap<String, String>,
    /// Agent → display name.
    pub names: HashMap<String, String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Status {
    #[default]
    LoggedOut,
    Available,
    OnDemand,
    OnBreak,
}

/// An agent status as mod_callcenter takes it: in any case (`cc_agent_str2status` compares
/// with `strcasecmp`; the value is stored and sent as typed, `on break` from a script).
fn status(s: &str) -> Option<Status> {
    const NAMES: [(&str, Status); 4] = [
        ("Logged Out", Status::LoggedOut),
        ("Available", Status::Available),
        ("Available (On Demand)", Status::OnDemand),
        ("On Break", Status::OnBreak),
    ];
    NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)).map(|&(_, st)| st)
}

/// Whether `s` is an available status spelt otherwise than mod_callcenter's own words: its
/// routing selects agents by the exact `Available` / `Available (On Demand)`, so such an
/// agent is offered no call although it is waiting (docs/sources.md).
fn unroutable_available(s: &str) -> bool {
    matches!(status(s), Some(Status::Available | Status::OnDemand))
        && !matches!(s, "Available" | "Available (On Demand)")
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum FsState {
    #[default]
    Waiting,
    Receiving,
    InCall,
    Idle,
    Reserved,
}

/// An agent state in any case, as `cc_agent_str2state` takes it.
fn fs_state(s: &str) -> Option<FsState> {
    const NAMES: [(&str, FsState); 5] = [
        ("Waiting", FsState::Waiting),
        ("Receiving", FsState::Receiving),
        ("In a queue call", FsState::InCall),
        ("Idle", FsState::Idle),
        ("Reserved", FsState::Reserved),
    ];
    NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)).map(|&(_, st)| st)
}

#[derive(Clone, Debug, Default)]
struct Agent {
    team: Option<CompactString>,
    name: Option<String>,
    status: Status,
    state: FsState,
    /// `wrap_up_time` from the agent list, in ms.
    wrap_ms: Option<Ms>,
    /// When the pending wrap-up ends.
    acw_until: Option<Ms>,
    /// The last (state, reason) emitted.
    emitted: Option<(State, Option<CompactString>)>,
    last_ts: Ms,
}

impl Agent {
    fn now(&self) -> (State, Option<CompactString>) {
        if self.state == FsState::InCall {
            return (State::Talking, None);
        }
        match self.status {
            Status::LoggedOut => (State::Offline, None),
            Status::OnBreak => (State::Aux, Some(BREAK.into())),
            _ if self.acw_until.is_some() || self.state == FsState::Idle => (State::Acw, None),
            _ => (State::Idle, None),
        }
    }
}

/// One row of `callcenter_config agent list`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Row {
    agent: String,
    status: Status,
    state: FsState,
    wrap_secs: Ms,
    last_bridge_end: Ms,
}

/// mod_event_socket events and callcenter_config answers in, native events out. One per
/// source; it keeps the agents' state across reconnects.
#[derive(Debug, Default)]
pub struct Mapper {
    cfg: MapperConfig,
    agents: HashMap<CompactString, Agent>,
    /// Each agent's first tier's queue (`tier list`).
    tier_team: HashMap<CompactString, CompactString>,
    /// Pending wrap-up ends.
    due: BTreeSet<(Ms, CompactString)>,
    /// Waiting calls: id → queue.
    waiting: HashMap<String, String>,
    /// The calls waiting when this connection was made, until its member list is read.
    prior: HashSet<String>,
    /// Calls that ended unseen while the connection was down (not in the member list),
    /// waiting for the stream's clock like `held`, with the list's receipt instant.
    gone: Option<(Vec<String>, Ms)>,
    /// The stream's clock: the last `Event-Date-Timestamp` on this connection, and the
    /// wall instant it arrived.
    clock: Option<(Ms, Ms)>,
    /// An agent list waiting for the clock, with its receipt instant.
    held: Option<(Vec<Row>, Ms)>,
    /// This connection showed no event within [`HOLD_MS`] of its list: date by receipt.
    untimed: bool,
    /// An available status spelt so that mod_callcenter routes no call to it was noted
    /// (once per source: a script that writes it does so for every agent), and the note
    /// not yet taken by the caller.
    warned_unroutable: bool,
    unroutable: Option<(String, String)>,
}

fn unmapped(message: impl Into<String>, m: &Message) -> DecodeError {
    DecodeError::new(Refusal::Unmapped, message, &m.to_text())
}

fn valid_id(s: &str) -> bool {
    crate::event::printable_id(s, MAX_ID_BYTES)
}

/// `Event-Date-Timestamp`: microseconds since the epoch → ms.
pub fn parse_micros(s: &str) -> Option<Ms> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let us: i64 = s.parse().ok()?;
    Some(us / 1000).filter(|ms| *ms <= crate::time::MAX_MS)
}

/// Most rows of a list refused one by one; the others are refused together.
pub const MAX_ROW_REFUSALS: usize = 1_000;

/// A `callcenter_config ... list` answer: the header row's column names, then the rows
/// (pipe-separated, as mod_callcenter's `list_result_callback` writes them), up to `+OK`,
/// read one at a time (a list is up to [`super::esl::MAX_BODY_BYTES`]). `Err` holds the
/// answer's first line when it is not a list (`-ERR ...`).
fn parse_list(text: &str) -> Result<(Vec<&str>, impl Iterator<Item = Vec<&str>>), String> {
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r'));
    let first = lines.next().unwrap_or("");
    let header: Vec<&str> = if first.contains('|') && !first.starts_with("-ERR") {
        first.split('|').collect()
    } else if first == "+OK" {
        // An empty list is `+OK` alone.
        Vec::new()
    } else {
        return Err(crate::event::prefix(first, 80).to_string());
    };
    let rows = lines.take_while(|l| *l != "+OK").filter(|l| !l.is_empty()).map(|l| l.split('|').collect());
    Ok((header, rows))
}

impl Mapper {
    pub fn new(cfg: MapperConfig) -> Mapper {
        Mapper { cfg, ..Default::default() }
    }

    /// A new connection: its clock is its own; the calls waiting now are checked against
    /// its first agent list.
    pub fn connected(&mut self) {
        self.clock = None;
        self.held = None;
        self.untimed = false;
        self.prior = self.waiting.keys().cloned().collect();
        self.gone = None;
    }

    /// Agents tracked (bounded by [`MAX_AGENTS`]).
    pub fn agents(&self) -> usize {
        self.agents.len()
    }

    /// The stream time at wall instant `wall`. `None` before the connection has shown an
    /// event (and while it is not known to show none).
    pub fn stream_now(&self, wall: Ms) -> Option<Ms> {
        match self.clock {
            Some((ts, at)) => Some(ts + (wall - at).max(0)),
            None if self.untimed => Some(wall),
            None => None,
        }
    }

    /// Time passes: dates a held agent list by receipt once it has waited [`HOLD_MS`],
    /// and ends the wrap-ups due by stream time at wall instant `wall`.
    pub fn tick(&mut self, wall: Ms, out: &mut Vec<Out>) {
        if let Some((_, at)) = &self.held
            && wall - at >= HOLD_MS
        {
            let at = *at;
            if self.clock.is_none() {
                self.untimed = true;
            }
            let now = self.stream_now(at).unwrap_or(at);
            self.release(now, out);
        }
        if let Some((_, at)) = &self.gone
            && wall - at >= HOLD_MS
        {
            let at = *at;
            if self.clock.is_none() {
                self.untimed = true;
            }
            self.end_gone(self.stream_now(at).unwrap_or(at), out);
        }
        if let Some(now) = self.stream_now(wall) {
            self.flush_due(now, out);
        }
    }

    /// The answer to `callcenter_config tier list`: each agent's first queue, its team
    /// unless the config names one. `Err` says why the answer is not a list.
    pub fn tier_list(&mut self, body: &[u8]) -> Result<(), String> {
        let text = String::from_utf8_lossy(body);
        let (header, rows) = parse_list(&text)?;
        let col = |name: &str| header.iter().position(|h| *h == name);
        let (Some(q), Some(a)) = (col("queue"), col("agent")) else {
            return Err("tier list without queue and agent columns".into());
        };
        for row in rows {
            let (Some(&queue), Some(&agent)) = (row.get(q), row.get(a)) else { continue };
            if !valid_id(queue) || !valid_id(agent) || self.tier_team.len() >= MAX_AGENTS {
                continue;
            }
            let agent = CompactString::from(agent);
            if let Some(a) = self.agents.get_mut(&agent)
                && a.team.is_none()
                && !self.cfg.teams.contains_key(agent.as_str())
            {
                a.team = Some(queue.into());
            }
            self.tier_team.entry(agent).or_insert_with(|| queue.into());
        }
        Ok(())
    }

    /// The answer to `callcenter_config agent list`, received at wall instant `receipt`:
    /// every agent's status and state now. Agents it no longer lists were deleted: offline.
    /// Rows it cannot read are refused in `out`; `Err` says why the answer is not a list.
    pub fn agent_list(&mut self, body: &[u8], receipt: Ms, out: &mut Vec<Out>) -> Result<(), String> {
        let text = String::from_utf8_lossy(body);
        let (header, rows) = parse_list(&text)?;
        let col = |name: &str| header.iter().position(|h| *h == name);
        let (Some(n), Some(s), Some(st)) = (col("name"), col("status"), col("state")) else {
            return Err("agent list without name, status and state columns".into());
        };
        let (w, lbe) = (col("wrap_up_time"), col("last_bridge_end"));
        let num = |row: &[&str], i: Option<usize>| {
            i.and_then(|i| row.get(i)).and_then(|v| v.parse::<Ms>().ok()).unwrap_or(0).clamp(0, 1 << 40)
        };
        let mut parsed = Vec::new();
        // Rows refused past MAX_ROW_REFUSALS (and past MAX_AGENTS rows), refused as one.
        let (mut refused, mut more) = (0usize, 0usize);
        for row in rows {
            let why = if parsed.len() >= MAX_AGENTS {
                Some(format!("agent list over {MAX_AGENTS} agents"))
            } else if row.len() != header.len() {
                Some(format!("agent list row of {} columns, header has {}", row.len(), header.len()))
            } else if status(row[s]).is_none() || fs_state(row[st]).is_none() {
                let what = format!("agent status {:?} / state {:?}", row[s], row[st]);
                Some(format!("{} not known", crate::event::prefix(&what, 60)))
            } else if !valid_id(row[n]) {
                Some("agent name must be 1-64 printable bytes".into())
            } else {
                None
            };
            match why {
                Some(_) if refused >= MAX_ROW_REFUSALS => more += 1,
                Some(why) => {
                    refused += 1;
                    let excerpt = row.join("|");
                    out.push(Err(DecodeError::new(Refusal::Unmapped, why, crate::event::prefix(&excerpt, 200))));
                }
                None => {
                    self.warn_unroutable(row[n], row[s]);
                    parsed.push(Row {
                        agent: row[n].to_string(),
                        status: status(row[s]).expect("checked"),
                        state: fs_state(row[st]).expect("checked"),
                        wrap_secs: num(&row, w),
                        last_bridge_end: num(&row, lbe),
                    })
                }
            }
        }
        if more > 0 {
            out.push(Err(DecodeError::new(Refusal::Unmapped, format!("{more} more agent list rows refused"), "")));
        }
        self.held = Some((parsed, receipt));
        if let Some(now) = self.stream_now(receipt) {
            self.release(now, out);
        }
        Ok(())
    }

    /// Applies the held agent list at stream instant `ts`.
    fn release(&mut self, ts: Ms, out: &mut Vec<Out>) {
        let Some((rows, _)) = self.held.take() else { return };
        self.flush_due(ts, out);
        let mut listed: HashSet<CompactString> = HashSet::with_capacity(rows.len());
        for row in rows {
            let Some(id) = self.agent_id(&row.agent) else {
                out.push(Err(DecodeError::new(
                    Refusal::Unmapped,
                    format!("more than {MAX_AGENTS} agents"),
                    &row.agent,
                )));
                continue;
            };
            let a = self.agents.get_mut(&id).expect("agent_id created it");
            a.status = row.status;
            a.state = row.state;
            a.wrap_ms = Some(row.wrap_secs * 1000);
            if matches!(row.state, FsState::InCall | FsState::Receiving) {
                self.end_wrapup(&id);
            } else if a.acw_until.is_none() && row.last_bridge_end > 0 && row.wrap_secs > 0 {
                // Not yet offered calls again: in wrap-up until then.
                let until = (row.last_bridge_end + row.wrap_secs) * 1000;
                if until > ts {
                    a.acw_until = Some(until);
                    self.due.insert((until, id.clone()));
                }
            }
            listed.insert(id);
        }
        let mut ids: Vec<CompactString> = self.agents.keys().cloned().collect();
        ids.sort_unstable();
        for id in ids {
            if !listed.contains(&id) {
                let a = self.agents.get_mut(&id).expect("listed");
                a.status = Status::LoggedOut;
                a.state = FsState::Waiting;
                self.end_wrapup(&id);
            }
            self.emit(&id, ts, out);
        }
    }

    /// The answer to `callcenter_config queue list members` (every queue's callers),
    /// received at wall instant `receipt`: callers waiting (`Waiting`, or `Trying`: being
    /// offered) that we did not know are queued, dated when they joined (or rejoined);
    /// calls we had waiting that it does not list ended while the connection was down:
    /// left, as of the list. When the answer is not a list (`Err`, returned), every call we
    /// had waiting is taken as ended.
    pub fn members_list(&mut self, body: &[u8], receipt: Ms, out: &mut Vec<Out>) -> Result<(), String> {
        let text = String::from_utf8_lossy(body);
        let mut seen: HashSet<&str> = HashSet::new();
        let parsed = parse_list(&text).and_then(|(header, rows)| {
            let col = |name: &str| header.iter().position(|h| *h == name);
            let (Some(q), Some(u), Some(st)) = (col("queue"), col("uuid"), col("state")) else {
                return if header.is_empty() {
                    Ok(())
                } else {
                    Err("member list without queue, uuid and state".into())
                };
            };
            let (j, rj) = (col("joined_epoch"), col("rejoined_epoch"));
            let secs = |row: &[&str], i: Option<usize>| {
                i.and_then(|i| row.get(i)).and_then(|v| v.parse::<Ms>().ok()).unwrap_or(0).clamp(0, 1 << 40)
            };
            for row in rows {
                let (Some(&queue), Some(&call), Some(&state)) = (row.get(q), row.get(u), row.get(st)) else { continue };
                if !matches!(state, "Waiting" | "Trying") || call.is_empty() || call.len() > 128 || queue.is_empty() {
                    continue;
                }
                if seen.len() < MAX_CALLS {
                    seen.insert(call);
                }
                if self.waiting.contains_key(call) || self.waiting.len() >= MAX_CALLS {
                    continue;
                }
                self.waiting.insert(call.to_string(), queue.to_string());
                let joined = secs(&row, j).max(secs(&row, rj)) * 1000;
                out.push(Ok(Native::Call(CallEvent {
                    ts: joined,
                    call: call.to_string(),
                    queue: Some(queue.to_string()),
                    event: CallKind::Queued,
                    agent: None,
                })));
            }
            Ok(())
        });
        let mut gone: Vec<String> =
            std::mem::take(&mut self.prior).into_iter().filter(|c| !seen.contains(c.as_str())).collect();
        gone.sort_unstable();
        self.gone = Some((gone, receipt));
        if let Some(now) = self.stream_now(receipt) {
            self.end_gone(now, out);
        }
        parsed
    }

    /// Ends the calls of [`Mapper::members_list`] that were gone, at stream instant `ts`.
    fn end_gone(&mut self, ts: Ms, out: &mut Vec<Out>) {
        let Some((gone, _)) = self.gone.take() else { return };
        for call in gone {
            if let Some(queue) = self.waiting.remove(&call) {
                out.push(Ok(Native::Call(CallEvent {
                    ts,
                    call,
                    queue: Some(queue),
                    event: CallKind::Left,
                    agent: None,
                })));
            }
        }
    }

    /// Maps one decoded `text/event-plain` event received at wall instant `receipt`.
    pub fn handle(&mut self, m: &Message, receipt: Ms, out: &mut Vec<Out>) {
        if m.get("Event-Subclass") != Some("callcenter::info") {
            // Heartbeats and anything else a wider subscription brings.
            return;
        }
        let Some(ts) = m.get("Event-Date-Timestamp").and_then(parse_micros) else {
            out.push(Err(unmapped("callcenter event without a valid Event-Date-Timestamp", m)));
            return;
        };
        // Never backwards on one connection (events come from several threads).
        let ts = self.clock.map_or(ts, |(c, _)| ts.max(c));
        self.clock = Some((ts, receipt));
        self.release(ts, out);
        self.end_gone(ts, out);
        self.flush_due(ts, out);
        match m.get("CC-Action").unwrap_or("") {
            "agent-status-change" => self.status_change(m, ts, out),
            "agent-state-change" => self.state_change(m, ts, out),
            "agent-add" => {
                if let Some(id) = self.named_agent(m, out) {
                    self.emit(&id, ts, out);
                }
            }
            "bridge-agent-start" => self.bridge_start(m, ts, out),
            "bridge-agent-end" => self.bridge_end(m, ts, out),
            "member-queue-start" | "member-queue-resume" => self.queued(m, ts, out),
            "member-queue-end" => self.queue_end(m, ts, out),
            // Followed, and by design no change: offering (ringing) is idle; the rest are
            // counts and failures that the state events already tell.
            _ => {}
        }
    }

    /// Emits the wrap-up ends due at or before `now`, in time order.
    fn flush_due(&mut self, now: Ms, out: &mut Vec<Out>) {
        while let Some((u, id)) = self.due.first().filter(|(u, _)| *u <= now).cloned() {
            self.due.remove(&(u, id.clone()));
            if let Some(a) = self.agents.get_mut(&id)
                && a.acw_until == Some(u)
            {
                a.acw_until = None;
                self.emit(&id, u, out);
            }
        }
    }

    fn end_wrapup(&mut self, id: &CompactString) {
        if let Some(a) = self.agents.get_mut(id)
            && let Some(u) = a.acw_until.take()
        {
            self.due.remove(&(u, id.clone()));
        }
    }

    /// The agent `id`, created if new (`None` past [`MAX_AGENTS`]).
    fn agent_id(&mut self, id: &str) -> Option<CompactString> {
        let id = CompactString::from(id);
        if !self.agents.contains_key(&id) {
            if self.agents.len() >= MAX_AGENTS {
                return None;
            }
            let team =
                self.cfg.teams.get(id.as_str()).map(CompactString::from).or_else(|| self.tier_team.get(&id).cloned());
            let name = self.cfg.names.get(id.as_str()).cloned();
            self.agents.insert(id.clone(), Agent { team, name, ..Default::default() });
        }
        Some(id)
    }

    /// The event's `CC-Agent`, created if new.
    /// Notes agent `id`'s status `s` when it is available in words mod_callcenter does not
    /// route on (the agent is shown idle, as it is set, yet offered no call): the first such
    /// one, for the caller to warn of ([`Mapper::take_unroutable`]; the mapper logs nothing).
    fn warn_unroutable(&mut self, id: &str, s: &str) {
        if unroutable_available(s) && !std::mem::replace(&mut self.warned_unroutable, true) {
            self.unroutable = Some((id.to_string(), s.to_string()));
        }
    }

    /// The first agent found with an available status mod_callcenter routes no call to, and
    /// that status, once.
    pub fn take_unroutable(&mut self) -> Option<(String, String)> {
        self.unroutable.take()
    }

    fn named_agent(&mut self, m: &Message, out: &mut Vec<Out>) -> Option<CompactString> {
        let action = m.get("CC-Action").unwrap_or("?");
        let Some(id) = m.get("CC-Agent").filter(|a| valid_id(a)) else {
            out.push(Err(unmapped(format!("{action} without a valid CC-Agent"), m)));
            return None;
        };
        let id = self.agent_id(id);
        if id.is_none() {
            out.push(Err(unmapped(format!("more than {MAX_AGENTS} agents"), m)));
        }
        id
    }

    /// Emits the agent's state at `ts` if it changed.
    fn emit(&mut self, id: &CompactString, ts: Ms, out: &mut Vec<Out>) {
        let Some(a) = self.agents.get_mut(id) else { return };
        let now = a.now();
        if a.emitted.as_ref() == Some(&now) {
            return;
        }
        let ts = ts.max(a.last_ts);
        a.last_ts = ts;
        a.emitted = Some(now.clone());
        let (state, reason) = now;
        out.push(Ok(Native::Agent(Event {
            ts: Some(ts),
            agent: id.clone(),
            state,
            reason,
            team: a.team.clone(),
            seq: None,
            name: a.name.clone(),
        })));
    }

    fn status_change(&mut self, m: &Message, ts: Ms, out: &mut Vec<Out>) {
        let Some(s) = m.get("CC-Agent-Status").and_then(status) else {
            let got = crate::event::prefix(m.get("CC-Agent-Status").unwrap_or(""), 32).to_string();
            out.push(Err(unmapped(format!("CC-Agent-Status {got:?} not known"), m)));
            return;
        };
        let Some(id) = self.named_agent(m, out) else { return };
        self.warn_unroutable(&id, m.get("CC-Agent-Status").unwrap_or_default());
        self.agents.get_mut(&id).expect("created").status = s;
        self.emit(&id, ts, out);
    }

    fn state_change(&mut self, m: &Message, ts: Ms, out: &mut Vec<Out>) {
        let Some(s) = m.get("CC-Agent-State").and_then(fs_state) else {
            let got = crate::event::prefix(m.get("CC-Agent-State").unwrap_or(""), 32).to_string();
            out.push(Err(unmapped(format!("CC-Agent-State {got:?} not known"), m)));
            return;
        };
        let Some(id) = self.named_agent(m, out) else { return };
        self.agents.get_mut(&id).expect("created").state = s;
        if matches!(s, FsState::InCall | FsState::Receiving) {
            // Offered or connected: the platform's wrap-up is over.
            self.end_wrapup(&id);
        }
        self.emit(&id, ts, out);
    }

    fn member_uuid<'m>(&self, m: &'m Message, out: &mut Vec<Out>) -> Option<&'m str> {
        match m.get("CC-Member-UUID").filter(|c| !c.is_empty() && c.len() <= 128) {
            Some(c) => Some(c),
            None => {
                out.push(Err(unmapped(format!("{} without CC-Member-UUID", m.get("CC-Action").unwrap_or("?")), m)));
                None
            }
        }
    }

    fn bridge_start(&mut self, m: &Message, ts: Ms, out: &mut Vec<Out>) {
        let Some(call) = self.member_uuid(m, out) else { return };
        let Some(id) = self.named_agent(m, out) else { return };
        let queue = m.get("CC-Queue").filter(|q| valid_id(q));
        let a = self.agents.get_mut(&id).expect("created");
        if a.team.is_none() {
            a.team = queue.map(CompactString::from);
        }
        self.waiting.remove(call);
        out.push(Ok(Native::Call(CallEvent {
            ts,
            call: call.to_string(),
            queue: queue.map(str::to_string),
            event: CallKind::Answered,
            agent: Some(id.to_string()),
        })));
    }

    fn bridge_end(&mut self, m: &Message, ts: Ms, out: &mut Vec<Out>) {
        let Some(id) = self.named_agent(m, out) else { return };
        // `false` when the caller was gone before the bridge: no call, no wrap-up.
        let bridged = m.get("CC-Agent-Bridged") != Some("false");
        let default = self.cfg.wrapup_ms;
        let a = self.agents.get_mut(&id).expect("created");
        if a.state == FsState::InCall {
            // What mod_callcenter sets next (its agent-state-change follows): `Idle` for an
            // `Available (On Demand)` agent, `Waiting` for the others.
            a.state = if bridged && a.status == Status::OnDemand { FsState::Idle } else { FsState::Waiting };
        }
        let wrap = a.wrap_ms.unwrap_or(default);
        if bridged && wrap > 0 {
            if let Some(u) = a.acw_until.replace(ts + wrap) {
                self.due.remove(&(u, id.clone()));
            }
            self.due.insert((ts + wrap, id.clone()));
        }
        self.emit(&id, ts, out);
    }

    fn queued(&mut self, m: &Message, ts: Ms, out: &mut Vec<Out>) {
        let Some(call) = self.member_uuid(m, out) else { return };
        let Some(queue) = m.get("CC-Queue").filter(|q| !q.is_empty()) else {
            out.push(Err(unmapped("member-queue-start without CC-Queue", m)));
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

    fn queue_end(&mut self, m: &Message, ts: Ms, out: &mut Vec<Out>) {
        let Some(call) = self.member_uuid(m, out) else { return };
        let (event, agent) = match (m.get("CC-Cause"), m.get("CC-Cancel-Reason")) {
            // After the answered call: it stopped waiting at bridge-agent-start. If that was
            // missed, it is answered now.
            (Some("Terminated"), _) => {
                if !self.waiting.contains_key(call) {
                    return;
                }
                (CallKind::Answered, m.get("CC-Agent").filter(|a| valid_id(a)).map(str::to_string))
            }
            (Some("Cancel"), Some("BREAK_OUT" | "NONE") | None) => (CallKind::Abandoned, None),
            (Some("Cancel"), Some(_)) => (CallKind::Left, None),
            (cause, _) => {
                let got = crate::event::prefix(cause.unwrap_or(""), 32).to_string();
                out.push(Err(unmapped(format!("member-queue-end with CC-Cause {got:?}"), m)));
                return;
            }
        };
        self.waiting.remove(call);
        out.push(Ok(Native::Call(CallEvent {
            ts,
            call: call.to_string(),
            queue: m.get("CC-Queue").map(str::to_string),
            event,
            agent,
        })));
    }
}

#[cfg(test)]
mod tests;
