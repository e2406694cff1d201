//! Reading a roster (SPEC §9.1) at the edge: CSV in the shape WFM tools export
//! (`agent,start,end,activity`, one row per span; `,`, `;` or tab between fields; a few
//! header names per column) and JSON (agents → shifts → activities, and days off).
//! Times are RFC 3339 or local `YYYY-MM-DD HH:MM[:SS]` in the floor's zone; a local time
//! on a DST fold takes the earlier instant, one in a DST gap is moved forward by the gap
//! (jiff's "compatible" rule). A bad row refuses the whole upload with its line number.
//!
//! Activity names are folded to lower case here (`Break` and `break` are one activity);
//! a day off (a CSV row whose activity is `off`, an agent's JSON `days_off`) becomes one
//! [`DAY_OFF`] row per local day, which names the day and adds nothing to the schedule.

use std::collections::{BTreeMap, HashMap};

use compact_str::CompactString;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::Row;
use crate::time::{MAX_MS, Ms, parse_rfc3339};

/// Longest agent id and activity name, in bytes (as event ids, SPEC §2.1).
const MAX_ID_BYTES: usize = 64;

/// Most local days one CSV `off` row may name (a mistyped year should not name thousands).
const MAX_OFF_DAYS: i32 = 62;

/// The activity of a day-off row in an [`Upload`]: from the local midnight of its day to
/// the next. [`super::Roster::upload`] replaces the agent's schedule on that day and adds
/// nothing for it. No activity can carry this name (`off` is refused as one).
pub const DAY_OFF: &str = "off";

/// A parsed upload: each agent's rows, in the order given. A row whose `act` is
/// [`DAY_OFF`] is a day off, not a span of the schedule.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Upload {
    pub agents: Vec<(CompactString, Vec<Row>)>,
}

impl Upload {
    /// The rows: spans and days off.
    pub fn rows(&self) -> usize {
        self.agents.iter().map(|(_, r)| r.len()).sum()
    }
}

/// Why an upload was refused: where (a CSV line, or a JSON line or path) and what.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct RosterError {
    /// `line 7` for CSV and JSON syntax, `agents[2].shifts[0]` for a JSON value.
    pub at: String,
    pub message: String,
}

fn err(at: impl Into<String>, message: impl Into<String>) -> RosterError {
    RosterError { at: at.into(), message: message.into() }
}

/// JSON when the body's first non-blank character (after a byte-order mark) is `{` or `[`,
/// else CSV: a CSV header cannot start with either, and a JSON array is better told it is
/// not a roster than that it has no `agent` column.
pub fn parse(body: &str, tz: &TimeZone) -> Result<Upload, RosterError> {
    let body = body.strip_prefix('\u{feff}').unwrap_or(body);
    match body.trim_start().as_bytes().first() {
        Some(b'{' | b'[') => parse_json(body, tz),
        _ => parse_csv(body, tz),
    }
}

/// The earliest instant a roster time may be, 2000-01-01T00:00Z: epoch seconds given for
/// milliseconds (a 30-second shift in January 1970) are refused, not scheduled.
const EARLIEST: Ms = 946_684_800_000;

/// Why a roster's bytes are not text floorwatch reads (it reads UTF-8): where, and how to
/// save it so (Excel's plain "CSV" is the machine's code page, GBK or Windows-1252; its
/// "Unicode text" is UTF-16).
pub fn not_utf8(bytes: &[u8], valid_up_to: usize) -> String {
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return "the roster is UTF-16 (Excel's \"Unicode text\"): save it as \"CSV UTF-8\"".into();
    }
    let line = bytes[..valid_up_to.min(bytes.len())].iter().filter(|&&b| b == b'\n').count() + 1;
    format!(
        "line {line}: the roster is not UTF-8 (byte {valid_up_to}): save it as \"CSV UTF-8\" (Excel's plain \"CSV\" \
         writes the computer's code page, GBK or Windows-1252)"
    )
}

/// An instant from RFC 3339, epoch milliseconds as digits (from 2000 on), or a local date
/// and time.
pub fn parse_time(s: &str, tz: &TimeZone) -> Option<Ms> {
    let s = s.trim();
    if let Some(ms) = parse_rfc3339(s) {
        return Some(ms);
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<Ms>().ok().filter(|ms| (EARLIEST..=MAX_MS).contains(ms));
    }
    // `to_zoned` resolves folds to the earlier instant and gaps forward (compatible).
    let ms = local_datetime(s)?.to_zoned(tz.clone()).ok()?.timestamp().as_millisecond();
    (0..=MAX_MS).contains(&ms).then_some(ms)
}

/// A local `YYYY-MM-DD HH:MM[:SS[.fff]]` (or with `T`), no offset; the hour may have one
/// digit (`2026-11-23 8:00`, as a spreadsheet saves it again).
fn local_datetime(s: &str) -> Option<jiff::civil::DateTime> {
    let b = s.as_bytes();
    if b.len() < 15 || !matches!(b[10], b' ' | b'T' | b't') || !s.is_char_boundary(11) {
        return None;
    }
    let time = &s[11..];
    let pad = if time.as_bytes().get(1) == Some(&b':') { "0" } else { "" };
    format!("{}T{pad}{time}", &s[..10]).parse().ok()
}

/// Why `s`, given as `which` (`start`, `end`), is not a time, with what one looks like.
fn not_a_time(which: &str, s: &str) -> String {
    let t = s.trim();
    if let Some(ms) = t.parse::<Ms>().ok().filter(|&ms| (0..EARLIEST).contains(&ms)) {
        return format!(
            "{which} {t} is {} as epoch milliseconds, before 2000 (epoch seconds? roster times are epoch \
             milliseconds, RFC 3339, or local YYYY-MM-DD HH:MM)",
            crate::time::fmt_ms(ms)
        );
    }
    format!(
        "{which} {:?} is not a time: write local YYYY-MM-DD HH:MM[:SS] in the floor's time zone, RFC 3339 with \
         its offset, or epoch milliseconds",
        clip(s)
    )
}

/// A note for a local time `s` that does not exist in `tz` (in a daylight-saving gap): it
/// is read as the instant the same length after the gap's start.
fn gap_note(s: &str, tz: &TimeZone) -> Option<String> {
    let dt = local_datetime(s.trim())?;
    match tz.to_ambiguous_timestamp(dt).offset() {
        jiff::tz::AmbiguousOffset::Gap { before, after } => {
            let shift = after.seconds() - before.seconds();
            Some(format!(
                "{:?} does not exist in the floor's time zone (the clocks jump {} minutes there), so it is read \
                 as that much later",
                clip(s),
                shift / 60
            ))
        }
        _ => None,
    }
}

/// A local date `YYYY-MM-DD`, nothing else.
fn parse_date(s: &str) -> Option<Date> {
    let s = s.trim();
    (s.len() == 10).then(|| s.parse().ok()).flatten()
}

/// The instant whose local day each of `rows` (one agent's, in one upload) belongs to: a
/// shift, and an activity inside one, to the day its shift starts (shifts that overlap or
/// touch are one, as in the schedule), so a night shift's break after midnight stays with
/// its shift when the next day is uploaded; a day off, and an activity outside every
/// shift of the upload, to the day they start (docs/adherence.md).
pub fn owning_starts(rows: &[Row]) -> Vec<Ms> {
    let merged = super::merge_shifts(rows.iter().filter(|r| r.act.is_none()).map(|r| (r.start, r.end)).collect());
    rows.iter()
        .map(|r| {
            if r.act.as_deref() == Some(DAY_OFF) {
                return r.start;
            }
            let i = merged.partition_point(|m| m.0 <= r.start);
            match i.checked_sub(1).map(|i| merged[i]) {
                Some((s, e)) if r.start < e => s,
                _ => r.start,
            }
        })
        .collect()
}

/// The local date of instant `ms` (in `0..=MAX_MS`).
fn local_date(ms: Ms, tz: &TimeZone) -> Date {
    jiff::Timestamp::from_millisecond(ms).map_or(Date::ZERO, |t| t.to_zoned(tz.clone()).date())
}

/// The first instant of local day `d` (midnight, or the end of a DST gap over it).
fn day_start(d: Date, tz: &TimeZone) -> Option<Ms> {
    let ms = d.to_zoned(tz.clone()).ok()?.start_of_day().ok()?.timestamp().as_millisecond();
    (0..=MAX_MS).contains(&ms).then_some(ms)
}

/// The [`DAY_OFF`] row of local day `d`.
fn day_off_row(d: Date, tz: &TimeZone) -> Option<Row> {
    let start = day_start(d, tz)?;
    let end = day_start(d.tomorrow().ok()?, tz)?;
    Some(Row { start, end, act: Some(DAY_OFF.into()) })
}

fn check_agent(agent: &str) -> Result<(), String> {
    if !crate::event::printable_id(agent, MAX_ID_BYTES) {
        return Err(format!(
            "agent {:?} must be 1-{MAX_ID_BYTES} bytes of printable text (no control or invisible characters)",
            clip(agent)
        ));
    }
    Ok(())
}

/// What a row's activity column says.
#[derive(Debug, PartialEq)]
enum Act {
    Shift,
    DayOff,
    /// An activity inside a shift, its name in lower case.
    Named(CompactString),
}

/// The activity of a row: `shift` and the day-off words (`off`, `day off`, `dayoff`) in any
/// case; any other name folded to lower case, so `Break` is the `break` the defaults and
/// `[adherence.allowed]` speak of.
fn activity(name: &str) -> Result<Act, String> {
    let name = name.trim();
    if name.eq_ignore_ascii_case("shift") {
        return Ok(Act::Shift);
    }
    if matches!(loose_key(name).as_str(), "off" | "dayoff") {
        return Ok(Act::DayOff);
    }
    let folded = name.to_lowercase();
    if !crate::event::printable_id(&folded, MAX_ID_BYTES) {
        return Err(format!(
            "activity {:?} must be `shift`, `off` or 1-{MAX_ID_BYTES} bytes of printable text",
            clip(name)
        ));
    }
    Ok(Act::Named(folded.into()))
}

fn clip(s: &str) -> &str {
    let mut end = s.len().min(80);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn span(start: &str, end: &str, tz: &TimeZone) -> Result<(Ms, Ms), String> {
    let s = parse_time(start, tz).ok_or_else(|| not_a_time("start", start))?;
    let e = parse_time(end, tz).ok_or_else(|| not_a_time("end", end))?;
    if e <= s {
        let mut m = format!("end {:?} is not after start {:?}", clip(end), clip(start));
        if let Some(note) = gap_note(start, tz).or_else(|| gap_note(end, tz)) {
            m = format!("{m}: {note}");
        }
        return Err(m);
    }
    Ok((s, e))
}

/// The local days a CSV `off` row names, first to last: `start` a date or a time (its
/// day); `end` empty (the start's day only), a date (named too) or a time (closed-open:
/// an end at midnight does not name the day it begins; an end equal to the start names
/// the start's day).
fn off_days(start: &str, end: &str, tz: &TimeZone) -> Result<(Date, Date), String> {
    let (first, from) = match parse_date(start) {
        Some(d) => (d, day_start(d, tz)),
        None => {
            let t = parse_time(start, tz)
                .ok_or_else(|| format!("start {:?} is neither a time nor a date YYYY-MM-DD", clip(start)))?;
            (local_date(t, tz), Some(t))
        }
    };
    let last = if end.trim().is_empty() {
        first
    } else if let Some(d) = parse_date(end) {
        d
    } else {
        let t = parse_time(end, tz)
            .ok_or_else(|| format!("end {:?} is neither a time nor a date YYYY-MM-DD", clip(end)))?;
        match from {
            Some(f) if t == f => first,
            Some(f) if t > f => local_date(t - 1, tz),
            _ => return Err(format!("end {:?} is before start {:?}", clip(end), clip(start))),
        }
    };
    if last < first {
        return Err(format!("end {:?} is before start {:?}", clip(end), clip(start)));
    }
    if first.until(last).map_or(true, |s| s.get_days() >= MAX_OFF_DAYS) {
        return Err(format!("a day-off row names at most {MAX_OFF_DAYS} days ({} to {last})", first));
    }
    Ok((first, last))
}

/// Splits one CSV line into fields at `sep` (RFC 4180 quoting, `""` inside quotes).
fn fields(line: &str, sep: char) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cur.push('"');
                }
                '"' => quoted = false,
                _ => cur.push(c),
            }
        } else {
            match c {
                '"' if at_start || cur.trim().is_empty() => {
                    cur.clear();
                    quoted = true;
                }
                c if c == sep => {
                    out.push(std::mem::take(&mut cur));
                    at_start = true;
                    continue;
                }
                _ => cur.push(c),
            }
        }
        at_start = false;
    }
    if quoted {
        return Err("unterminated quoted field: a quoted field must end on its line (a line break inside a \
                    cell? floorwatch reads one row per line)"
            .into());
    }
    out.push(cur);
    Ok(out)
}

/// The field separator of a CSV roster, from its header line: whichever of `,`, `;`, tab
/// and `|` occurs most often outside quotes (a comma on a tie). European spreadsheets write
/// `;` (their decimal separator is the comma); some WFM tools write tabs or `|`.
fn separator(header: &str) -> char {
    const SEPS: [char; 4] = [',', ';', '\t', '|'];
    let mut n = [0usize; 4];
    let mut quoted = false;
    for c in header.chars() {
        match c {
            '"' => quoted = !quoted,
            c if !quoted => {
                if let Some(i) = SEPS.iter().position(|&x| x == c) {
                    n[i] += 1;
                }
            }
            _ => {}
        }
    }
    let best = (0..SEPS.len()).fold(0, |b, i| if n[i] > n[b] { i } else { b });
    SEPS[best]
}

/// Excel's `sep=;` line before the header: the separator it names.
fn sep_line(line: &str) -> Option<char> {
    // Not `trim`: the separator may be a tab.
    let l = line.trim_start_matches(' ').trim_end_matches([' ', '\r']);
    if !l.get(..4)?.eq_ignore_ascii_case("sep=") {
        return None;
    }
    let mut c = l[4..].chars();
    match (c.next(), c.next()) {
        (Some(sep), None) => Some(sep),
        _ => None,
    }
}

/// The header names each column may go by, compared by [`loose_key`] (any case; spaces,
/// `_` and `-` ignored): the names WFM tools export. docs/adherence.md lists them.
const COLUMNS: [(&str, &[&str]); 4] = [
    ("agent", &["agent", "Agent ID", "Employee", "Employee ID"]),
    ("start", &["start", "Start Time"]),
    ("end", &["end", "End Time", "Stop", "Stop Time"]),
    ("activity", &["activity", "Activity Name", "Activity Type", "Segment"]),
];

/// A name as header names and the day-off words are compared: in lower case, without
/// spaces, `_` and `-`.
fn loose_key(name: &str) -> String {
    name.chars().filter(|c| !matches!(c, ' ' | '_' | '-')).flat_map(char::to_lowercase).collect()
}

/// The column of each of `agent`, `start`, `end`, `activity` in a header's `names`.
fn columns(names: &[String]) -> Result<[usize; 4], String> {
    let keys: Vec<String> = names.iter().map(|n| loose_key(n)).collect();
    let mut out = [0; 4];
    for (slot, (field, shown)) in out.iter_mut().zip(COLUMNS) {
        let aliases: Vec<String> = shown.iter().map(|a| loose_key(a)).collect();
        let found: Vec<usize> = (0..keys.len()).filter(|&i| aliases.contains(&keys[i])).collect();
        match found[..] {
            [i] => *slot = i,
            [] => {
                let also: Vec<String> = shown[1..].iter().map(|a| format!("{a:?}")).collect();
                return Err(format!(
                    "header has no `{field}` column (expected `agent,start,end,activity`; `{field}` may also be \
                     called {})",
                    also.join(" or ")
                ));
            }
            [..] => {
                let named: Vec<String> = found.iter().map(|&i| format!("{:?}", clip(&names[i]))).collect();
                return Err(format!(
                    "columns {} each name the `{field}` column: keep one, or rename the others",
                    named.join(" and ")
                ));
            }
        }
    }
    Ok(out)
}

pub fn parse_csv(body: &str, tz: &TimeZone) -> Result<Upload, RosterError> {
    let mut lines = body.lines().enumerate().map(|(i, l)| (i + 1, l.trim_end_matches('\r')));
    let (hline, header) = loop {
        match lines.next() {
            Some((_, l)) if l.trim().is_empty() => continue,
            Some(x) => break x,
            None => return Err(err("line 1", "empty roster: expected the header `agent,start,end,activity`")),
        }
    };
    let at = |n: usize| format!("line {n}");
    // Excel's `sep=;` line names the separator; the header follows it.
    let (hline, header, sep) = match sep_line(header) {
        Some(sep) => loop {
            match lines.next() {
                Some((_, l)) if l.trim().is_empty() => continue,
                Some((n, l)) => break (n, l, sep),
                None => return Err(err(at(hline), "no header after the `sep=` line")),
            }
        },
        None => (hline, header, separator(header)),
    };
    let names: Vec<String> =
        fields(header, sep).map_err(|m| err(at(hline), m))?.iter().map(|f| f.trim().to_string()).collect();
    let [ca, cs, ce, cact] = columns(&names).map_err(|m| err(at(hline), m))?;
    let mut up = Builder::default();
    for (n, line) in lines {
        // Blank, or only separators (a spreadsheet's empty rows): no row.
        if line.chars().all(|c| c == sep || c.is_whitespace()) {
            continue;
        }
        let f = fields(line, sep).map_err(|m| err(at(n), m))?;
        let get =
            |i: usize| f.get(i).map(|s| s.trim()).ok_or_else(|| err(at(n), format!("missing column `{}`", names[i])));
        let agent = get(ca)?;
        check_agent(agent).map_err(|m| err(at(n), m))?;
        let (start, end) = (get(cs)?, get(ce)?);
        match activity(get(cact)?).map_err(|m| err(at(n), m))? {
            Act::DayOff => {
                let (first, last) = off_days(start, end, tz).map_err(|m| err(at(n), m))?;
                let days = std::iter::successors(Some(first), |d| d.tomorrow().ok()).take_while(|d| *d <= last);
                for d in days {
                    let row = day_off_row(d, tz).ok_or_else(|| err(at(n), format!("{d} is out of range")))?;
                    up.push(agent, row, Loc::Line(ix(n)));
                }
            }
            act => {
                let (start, end) = span(start, end, tz).map_err(|m| err(at(n), m))?;
                let act = match act {
                    Act::Named(a) => Some(a),
                    _ => None,
                };
                up.push(agent, Row { start, end, act }, Loc::Line(ix(n)));
            }
        }
    }
    up.finish(tz)
}

/// Where a row came from, to name it when it contradicts another. One per row, so
/// small: `u32`s (an upload is at most `roster.max_bytes`, far fewer lines or items).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Loc {
    Line(u32),
    /// `agents[i].shifts[j]`, and `.activities[k]`.
    Shift(u32, u32),
    Activity(u32, u32, u32),
    /// `agents[i].days_off[k]`.
    DayOff(u32, u32),
}

/// An index as a [`Loc`] part (saturating: a body that large is refused before).
fn ix(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

impl std::fmt::Display for Loc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Loc::Line(n) => write!(f, "line {n}"),
            Loc::Shift(i, j) => write!(f, "agents[{i}].shifts[{j}]"),
            Loc::Activity(i, j, k) => write!(f, "agents[{i}].shifts[{j}].activities[{k}]"),
            Loc::DayOff(i, k) => write!(f, "agents[{i}].days_off[{k}]"),
        }
    }
}

#[derive(Default)]
struct Builder {
    index: HashMap<CompactString, usize>,
    up: Upload,
    /// Per agent, where each of its rows came from (beside `up.agents[i].1`).
    locs: Vec<Vec<Loc>>,
    /// Per agent, whether it has a day off (only those are checked for contradictions).
    off: Vec<bool>,
}

impl Builder {
    /// Agent `agent`'s place in the upload, named now if it was not yet.
    fn agent(&mut self, agent: &str) -> usize {
        *self.index.entry(agent.into()).or_insert_with(|| {
            self.up.agents.push((agent.into(), Vec::new()));
            self.locs.push(Vec::new());
            self.off.push(false);
            self.up.agents.len() - 1
        })
    }

    fn push(&mut self, agent: &str, row: Row, loc: Loc) {
        let i = self.agent(agent);
        self.off[i] |= row.act.as_deref() == Some(DAY_OFF);
        self.up.agents[i].1.push(row);
        self.locs[i].push(loc);
    }

    /// The upload, unless a day off of an agent has a shift or an activity of the same
    /// agent starting on it (the upload would contradict itself; a row belongs to the
    /// local day [`owning_starts`] gives). Named: the later of the two rows in CSV, the
    /// shift's in JSON.
    fn finish(self, tz: &TimeZone) -> Result<Upload, RosterError> {
        // Activities without a shift count for nothing (SPEC §9.1), and the upload replaces
        // the agent's days, shifts included: the shape of an export of activity segments
        // only (Open, Break, Lunch…), which would otherwise schedule nobody without a word.
        for (i, (agent, rows)) in self.up.agents.iter().enumerate() {
            let named = rows.iter().position(|r| r.act.as_deref().is_some_and(|a| a != DAY_OFF));
            if let Some(k) = named.filter(|_| !rows.iter().any(|r| r.act.is_none())) {
                return Err(err(
                    self.locs[i][k].to_string(),
                    format!(
                        "agent {:?} has activities but no shift: an activity counts only inside a shift, and an \
                         upload replaces the agent's days, shifts included. Add its `shift` rows (the scheduled \
                         working time); docs/adherence.md shows how to load an export of activity segments only",
                        clip(agent)
                    ),
                ));
            }
        }
        for (i, (agent, rows)) in self.up.agents.iter().enumerate() {
            if !self.off[i] {
                continue;
            }
            let offs: BTreeMap<Date, Loc> = rows
                .iter()
                .zip(&self.locs[i])
                .filter(|(r, _)| r.act.as_deref() == Some(DAY_OFF))
                .map(|(r, &l)| (local_date(r.start, tz), l))
                .collect();
            let owners = owning_starts(rows);
            for ((r, &l), &owner) in rows.iter().zip(&self.locs[i]).zip(&owners) {
                if r.act.as_deref() == Some(DAY_OFF) {
                    continue;
                }
                let day = local_date(owner, tz);
                let Some(&off) = offs.get(&day) else { continue };
                let at = match (l, off) {
                    (Loc::Line(a), Loc::Line(b)) if b > a => off,
                    _ => l,
                };
                let kind = if r.act.is_some() { "scheduled activity" } else { "shift" };
                return Err(err(
                    at.to_string(),
                    format!(
                        "agent {:?} has a day off on {day} ({off}) and a {kind} starting that day ({l}): a day \
                         off has no shifts",
                        clip(agent)
                    ),
                ));
            }
        }
        Ok(self.up)
    }
}

// Unknown fields are refused at every level: a misspelt `activites` must not drop the
// breaks it holds without a word.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRoster {
    agents: Vec<JsonAgent>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonAgent {
    agent: String,
    #[serde(default)]
    shifts: Vec<JsonShift>,
    /// Local dates `YYYY-MM-DD` with no shift: the agent's schedule on them is replaced
    /// by nothing.
    #[serde(default)]
    days_off: Vec<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonShift {
    start: JsonTime,
    end: JsonTime,
    #[serde(default)]
    activities: Vec<JsonActivity>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonActivity {
    activity: String,
    start: JsonTime,
    end: JsonTime,
}

/// A time as a string (RFC 3339 or local) or integer epoch milliseconds.
enum JsonTime {
    Ms(i64),
    Text(String),
}

/// By hand rather than `untagged`, whose refusal of anything else ("data did not match
/// any variant of untagged enum") names neither what a time is nor, in serde_json, where.
impl<'de> serde::Deserialize<'de> for JsonTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<JsonTime, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = JsonTime;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a time: RFC 3339 or local `YYYY-MM-DD HH:MM[:SS]` text, or epoch milliseconds")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<JsonTime, E> {
                Ok(JsonTime::Ms(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<JsonTime, E> {
                i64::try_from(v)
                    .map(JsonTime::Ms)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<JsonTime, E> {
                Ok(JsonTime::Text(v.to_string()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl JsonTime {
    fn text(&self) -> String {
        match self {
            JsonTime::Ms(n) => n.to_string(),
            JsonTime::Text(s) => s.clone(),
        }
    }
}

/// A refused JSON body: a syntax error by its line; a value serde refused (an unknown
/// field, a wrong type, a missing field) by its path too, found by [`json_path`].
fn json_error(body: &str, e: &serde_json::Error) -> RosterError {
    let at = match e.classify() {
        serde_json::error::Category::Data => {
            // Told at the object's end, after its last field: the object is at fault.
            let object = e.to_string().starts_with("missing field");
            json_path(body, e.line(), e.column(), object)
        }
        _ => String::new(),
    };
    let at = if at.is_empty() { format!("line {}", e.line()) } else { at };
    err(at, format!("not a roster: {e}"))
}

/// The path (`agents[0].shifts[1].activites`) of the value, or the object field, just
/// before `line`:`column` of `body` (serde_json's position of an error: 1-based, in
/// bytes, the character it had yet to read): the containers open there and, in an
/// object, the field last named (unless `object`: then the path of the innermost object). Only run on a
/// refused body, so one more pass over it costs nothing that matters.
fn json_path(body: &str, line: usize, column: usize, object: bool) -> String {
    enum Frame {
        Object(Option<String>),
        Array(usize),
    }
    let start = body.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum::<usize>();
    let end = (start + column.saturating_sub(1)).min(body.len());
    let b = body.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < end {
        match b[i] {
            b'"' => {
                let from = i + 1;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                let is_key = matches!(stack.last(), Some(Frame::Object(None)));
                if let (true, Some(Frame::Object(k))) = (is_key, stack.last_mut()) {
                    let raw = &body[from..i.min(b.len())];
                    *k = Some(serde_json::from_str(&format!("\"{raw}\"")).unwrap_or_else(|_| raw.to_string()));
                }
            }
            b'{' => stack.push(Frame::Object(None)),
            b'[' => stack.push(Frame::Array(0)),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Object(k)) => *k = None,
                Some(Frame::Array(n)) => *n += 1,
                None => {}
            },
            _ => {}
        }
        i += 1;
    }
    if object && let Some(Frame::Object(k)) = stack.last_mut() {
        *k = None;
    }
    let mut path = String::new();
    for f in &stack {
        match f {
            Frame::Object(Some(k)) if path.is_empty() => path.push_str(k),
            Frame::Object(Some(k)) => {
                path.push('.');
                path.push_str(k);
            }
            Frame::Object(None) => {}
            Frame::Array(n) => path.push_str(&format!("[{n}]")),
        }
    }
    path
}

pub fn parse_json(body: &str, tz: &TimeZone) -> Result<Upload, RosterError> {
    let body = body.strip_prefix('\u{feff}').unwrap_or(body);
    let lead = body.len() - body.trim_start().len();
    if body[lead..].starts_with('[') {
        let line = body[..lead].matches('\n').count() + 1;
        return Err(err(
            format!("line {line}"),
            "a JSON roster is an object with `agents` at the top level ({\"agents\": [...]}), not an array",
        ));
    }
    let r: JsonRoster = serde_json::from_str(body).map_err(|e| json_error(body, &e))?;
    let mut up = Builder::default();
    for (i, a) in r.agents.iter().enumerate() {
        let at = format!("agents[{i}]");
        check_agent(&a.agent).map_err(|m| err(&at, m))?;
        // Named even with no shifts (in the answer's count of agents).
        up.agent(&a.agent);
        for (j, s) in a.shifts.iter().enumerate() {
            let at = format!("{at}.shifts[{j}]");
            let (start, end) = span(&s.start.text(), &s.end.text(), tz).map_err(|m| err(&at, m))?;
            up.push(&a.agent, Row { start, end, act: None }, Loc::Shift(ix(i), ix(j)));
            for (k, x) in s.activities.iter().enumerate() {
                let at = format!("{at}.activities[{k}]");
                let (start, end) = span(&x.start.text(), &x.end.text(), tz).map_err(|m| err(&at, m))?;
                let act = match activity(&x.activity).map_err(|m| err(&at, m))? {
                    Act::Named(a) => a,
                    Act::Shift => return Err(err(at, "an activity inside a shift cannot be `shift`")),
                    Act::DayOff => {
                        return Err(err(at, "an activity inside a shift cannot be `off`: list the agent's `days_off`"));
                    }
                };
                up.push(&a.agent, Row { start, end, act: Some(act) }, Loc::Activity(ix(i), ix(j), ix(k)));
            }
        }
        for (k, d) in a.days_off.iter().enumerate() {
            let at = Loc::DayOff(ix(i), ix(k));
            let row = parse_date(d)
                .and_then(|d| day_off_row(d, tz))
                .ok_or_else(|| err(at.to_string(), format!("day off {:?} is not a local date YYYY-MM-DD", clip(d))))?;
            up.push(&a.agent, row, at);
        }
    }
    up.finish(tz)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc() -> TimeZone {
        TimeZone::UTC
    }

    fn ms(s: &str) -> Ms {
        parse_rfc3339(s).unwrap()
    }

    #[test]
    fn csv_rows_in_local_time_and_rfc3339() {
        let body = "\u{feff}Agent,Start,End,Activity,Comment\r\n\
                    A1,2026-11-23 09:00,2026-11-23 11:00,shift,x\r\n\
                    \"A1\",2026-11-23 10:00:30,2026-11-23T10:15,\"break\",\"a, b\"\r\n\
                    A2,2026-11-23T09:00:00Z,2026-11-23T11:00:00+00:00,SHIFT,\n";
        let up = parse(body, &utc()).unwrap();
        assert_eq!(up.agents.len(), 2);
        assert_eq!(
            up.agents[0].1,
            vec![
                Row { start: ms("2026-11-23T09:00:00Z"), end: ms("2026-11-23T11:00:00Z"), act: None },
                Row { start: ms("2026-11-23T10:00:30Z"), end: ms("2026-11-23T10:15:00Z"), act: Some("break".into()) },
            ]
        );
        assert_eq!(up.agents[1].1[0].act, None);
    }

    #[test]
    fn a_bad_row_is_refused_with_its_line() {
        let check = |body: &str, at: &str, needle: &str| {
            let e = parse(body, &utc()).unwrap_err();
            assert_eq!(e.at, at, "{body}: {e}");
            assert!(e.message.contains(needle), "{e}");
        };
        let h = "agent,start,end,activity\n";
        check(
            &format!("{h}A1,2026-11-23 09:00,2026-11-23 11:00,shift\n\nA1,2026-11-23 12:00,2026-11-23 11:00,shift\n"),
            "line 4",
            "not after",
        );
        check(&format!("{h}A1,yesterday,2026-11-23 11:00,shift\n"), "line 2", "start");
        check(&format!("{h}A1,2026-11-23 09:00\n"), "line 2", "missing column");
        check(&format!("{h},2026-11-23 09:00,2026-11-23 11:00,shift\n"), "line 2", "agent");
        check(&format!("{h}A1,2026-11-23,2026-11-22,off\n"), "line 2", "before start");
        check(&format!("{h}A1,2026-11-23 09:00,2026-11-23 08:00,day off\n"), "line 2", "before start");
        check(&format!("{h}A1,2026-01-01,2026-12-31,off\n"), "line 2", "at most 62 days");
        check(&format!("{h}A1,someday,,off\n"), "line 2", "neither a time nor a date");
        check(
            &format!("{h}A1,2026-11-23,,off\nA1,2026-11-23 09:00,2026-11-23 11:00,shift\n"),
            "line 3",
            "day off on 2026-11-23 (line 2) and a shift",
        );
        check(
            &format!("{h}A1,2026-11-23 09:00,2026-11-23 11:00,shift\nA2,2026-11-23,,off\nA1,2026-11-23,,Off\n"),
            "line 4",
            "day off on 2026-11-23 (line 4) and a shift starting that day (line 2)",
        );
        // A night shift's lunch after midnight is its shift's day's: a day off the next day
        // does not contradict it (the next day's own shift would).
        let night = format!(
            "{h}A1,2026-11-23 22:00,2026-11-24 06:00,shift\nA1,2026-11-24 02:00,2026-11-24 02:30,lunch\nA1,2026-11-24,,off\n"
        );
        assert_eq!(parse(&night, &utc()).unwrap().rows(), 3);
        check(&format!("{night}A1,2026-11-24 22:00,2026-11-25 06:00,shift\n"), "line 5", "day off on 2026-11-24");
        check(&format!("{h}A1,2026-11-23 09:00,2026-11-23 11:00,\n"), "line 2", "activity");
        check(&format!("{h}A1,\"2026-11-23 09:00,2026-11-23 11:00,shift\n"), "line 2", "unterminated");
        check("agent,begin,end,activity\n", "line 1", "`start`");
        check("", "line 1", "empty");
        check("{\"agents\": [}", "line 1", "not a roster");
        check(
            "agent,agent id,start,end,activity\n",
            "line 1",
            "\"agent\" and \"agent id\" each name the `agent` column",
        );
        check(" \n [{\"agent\": \"A1\"}]", "line 2", "object with `agents`");
        check(r#"{"agents":[],"x":1}"#, "x", "unknown field `x`");
        check(r#"{"agents":[{"agent":"A1","shift":[]}]}"#, "agents[0].shift", "unknown field `shift`");
        check(
            "{\"agents\": [\n {\"agent\": \"A1\", \"shifts\": [{\"start\": \"2026-11-23 09:00\", \"end\": \
             \"2026-11-23 11:00\",\n  \"activites\": []}]}]}",
            "agents[0].shifts[0].activites",
            "line 3",
        );
        check(
            r#"{"agents":[{"agent":"A1","shifts":[{"start":"2026-11-23 09:00","end":"2026-11-23 11:00",
                "activities":[{"activity":"break","start":"2026-11-23 10:00","end":"2026-11-23 10:15","why":1}]}]}]}"#,
            "agents[0].shifts[0].activities[0].why",
            "unknown field",
        );
        check(r#"{"agents":[{"agent":"A1","shifts":[{"start":true}]}]}"#, "agents[0].shifts[0].start", "not a roster");
        check(r#"{"agents":[{"shifts":[]}]}"#, "agents[0]", "missing field `agent`");
        check(r#"{"agents":[{}]}"#, "agents[0]", "missing field `agent`");
        check(r#"{"agents":[{"agent":"A1"}], "x": {}}"#, "x", "unknown field `x`");
        check(r#"{"agents":[{"agent":"A\"]1","days_off":["2026-11-31"]}]}"#, "agents[0].days_off[0]", "local date");
        check(
            r#"{"agents":[{"agent":"A1","days_off":["2026-11-23"],"shifts":[{"start":"2026-11-23 09:00","end":"2026-11-23 11:00"}]}]}"#,
            "agents[0].shifts[0]",
            "day off on 2026-11-23 (agents[0].days_off[0])",
        );
        check(
            r#"{"agents":[{"agent":"A1","shifts":[{"start":"2026-11-23 09:00","end":"2026-11-23 11:00",
                "activities":[{"activity":"Day Off","start":"2026-11-23 10:00","end":"2026-11-23 10:15"}]}]}]}"#,
            "agents[0].shifts[0].activities[0]",
            "days_off",
        );
        check(
            r#"{"agents":[{"agent":"A1","shifts":[{"start":"2026-11-23 09:00","end":"2026-11-23 08:00"}]}]}"#,
            "agents[0].shifts[0]",
            "not after",
        );
    }

    #[test]
    fn json_shifts_and_activities() {
        let body = r#"{"agents":[{"agent":"A1","shifts":[{"start":"2026-11-23 09:00","end":1795431600000,
            "activities":[{"activity":"lunch","start":"2026-11-23T10:00:00Z","end":"2026-11-23 10:30"}]}]}]}"#;
        let up = parse(body, &utc()).unwrap();
        assert_eq!(
            up.agents[0].1,
            vec![
                Row { start: ms("2026-11-23T09:00:00Z"), end: ms("2026-11-23T11:00:00Z"), act: None },
                Row { start: ms("2026-11-23T10:00:00Z"), end: ms("2026-11-23T10:30:00Z"), act: Some("lunch".into()) },
            ]
        );
    }

    /// New York: 2026-03-08 02:30 does not exist (moved forward an hour), 2026-11-01 01:30
    /// happens twice (the earlier, EDT, is taken).
    /// What spreadsheets and WFM tools leave in real exports: Excel's `sep=;` line, rows of
    /// separators only, a one-digit hour; and what is refused, with what to do.
    #[test]
    fn exports_as_they_come() {
        let canonical = parse(
            "agent,start,end,activity\nA1,2026-11-23 09:00,2026-11-23 11:00,shift\nA1,2026-11-23 10:00,2026-11-23 10:15,break\n",
            &utc(),
        )
        .unwrap();
        let excel = "sep=;\r\nagent;start;end;activity\r\nA1;2026-11-23 9:00;2026-11-23 11:00;shift\r\n;;;\r\n\
                     A1;2026-11-23 10:00;2026-11-23 10:15;break\r\n;;;\r\n";
        assert_eq!(parse(excel, &utc()).as_ref(), Ok(&canonical));
        let tabs = "sep=\t\nagent\tstart\tend\tactivity\nA1,x\t2026-11-23 09:00\t2026-11-23 11:00\tshift\n";
        assert_eq!(parse(tabs, &utc()).unwrap().agents[0].0, "A1,x");
        let refused = |body: &str, at: &str, needle: &str| {
            let e = parse(body, &utc()).unwrap_err();
            assert_eq!(e.at, at, "{e}");
            assert!(e.message.contains(needle), "{e}");
        };
        let h = "agent,start,end,activity\n";
        // Epoch seconds for milliseconds: refused, not a 30-second shift in 1970.
        refused(&format!("{h}S1,1795424400,1795455000,shift\n"), "line 2", "epoch seconds?");
        refused(
            r#"{"agents":[{"agent":"S1","shifts":[{"start":1795424400,"end":1795455000}]}]}"#,
            "agents[0].shifts[0]",
            "1970-01-21T18:43:44.400Z as epoch milliseconds, before 2000",
        );
        assert_eq!(parse(&format!("{h}S1,1795424400000,1795455000000,shift\n"), &utc()).unwrap().rows(), 1);
        refused(&format!("{h}A1,23.11.2026 09:00,2026-11-23 11:00,shift\n"), "line 2", "write local YYYY-MM-DD HH:MM");
        refused(&format!("{h}A1,\"2026-11-23 09:00,shift\n"), "line 2", "a line break inside a cell?");
        // An export of activity segments only schedules nobody: refused, naming the agent.
        refused(
            &format!("{h}G1,2026-11-23 09:00,2026-11-23 10:30,Open\nG1,2026-11-23 10:30,2026-11-23 10:45,Break\n"),
            "line 2",
            "agent \"G1\" has activities but no shift",
        );
        // A row in a daylight-saving gap says so when it makes its span empty.
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        let e = parse(&format!("{h}B2,2026-03-29 02:45,2026-03-29 03:15,shift\n"), &berlin).unwrap_err();
        assert!(
            e.message
                .contains("\"2026-03-29 02:45\" does not exist in the floor's time zone (the clocks jump 60 minutes"),
            "{e}"
        );
        // Bytes that are not UTF-8: where, and how to save them.
        let gbk = b"agent,start,end,activity\n\xd5\xc5\xc8\xfd,2026-11-23 09:00,2026-11-23 11:00,shift\n";
        let e = String::from_utf8(gbk.to_vec()).unwrap_err().utf8_error();
        assert!(
            not_utf8(gbk, e.valid_up_to())
                .starts_with("line 2: the roster is not UTF-8 (byte 25): save it as \"CSV UTF-8\"")
        );
        assert!(not_utf8(&[0xff, 0xfe, b'a', 0], 2).contains("UTF-16"));
    }

    #[test]
    fn local_times_across_dst() {
        let ny = TimeZone::get("America/New_York").unwrap();
        assert_eq!(parse_time("2026-03-08 01:30", &ny), Some(ms("2026-03-08T06:30:00Z")));
        assert_eq!(parse_time("2026-03-08 03:00", &ny), Some(ms("2026-03-08T07:00:00Z")));
        assert_eq!(parse_time("2026-03-08 02:30", &ny), Some(ms("2026-03-08T07:30:00Z")));
        assert_eq!(parse_time("2026-11-01 01:30", &ny), Some(ms("2026-11-01T05:30:00Z")));
        assert_eq!(parse_time("2026-11-01 02:00", &ny), Some(ms("2026-11-01T07:00:00Z")));
    }

    /// Header names as WFM tools export them, with `,`, `;` or tab between fields, give
    /// the same upload as the canonical header.
    #[test]
    fn header_aliases_and_separators() {
        let canonical = parse(
            "agent,start,end,activity\nA1,2026-11-23 09:00,2026-11-23 11:00,shift\nA1,2026-11-23 10:00,2026-11-23 10:15,break\n",
            &utc(),
        )
        .unwrap();
        for (header, sep) in [
            ("Agent ID,Start Time,End Time,Activity", ","),
            ("Employee;Start;Stop;Activity Name", ";"),
            ("agent_id\tstart-time\tEND_TIME\tActivity Type", "\t"),
            ("Name;\"Employee ID\";Comment, with comma;StartTime;stop time;Segment", ";"),
            ("Agent ID|Start Time|End Time|Activity", "|"),
        ] {
            // Lay the cells out under the header's own order, `x` in the other columns.
            let order: Vec<String> =
                fields(header, sep.chars().next().unwrap()).unwrap().iter().map(|h| loose_key(h)).collect();
            let place = |cells: [&str; 4]| {
                order
                    .iter()
                    .map(|k| match k.as_str() {
                        "agentid" | "employee" | "employeeid" => cells[0],
                        "start" | "starttime" => cells[1],
                        "stop" | "stoptime" | "endtime" => cells[2],
                        "activity" | "activityname" | "activitytype" | "segment" => cells[3],
                        _ => "x",
                    })
                    .collect::<Vec<_>>()
                    .join(sep)
            };
            let body = format!(
                "{header}\n{}\n{}\n",
                place(["A1", "2026-11-23 09:00", "2026-11-23 11:00", "Shift"]),
                place(["A1", "2026-11-23 10:00", "2026-11-23 10:15", "Break"]),
            );
            assert_eq!(parse(&body, &utc()).as_ref(), Ok(&canonical), "{body}");
        }
    }

    #[test]
    fn activity_words() {
        let check = |name: &str, want: Act| assert_eq!(activity(name), Ok(want), "{name}");
        check("shift", Act::Shift);
        check(" SHIFT ", Act::Shift);
        check("off", Act::DayOff);
        check("OFF", Act::DayOff);
        check("Day Off", Act::DayOff);
        check("dayoff", Act::DayOff);
        check("day_off", Act::DayOff);
        check("Break", Act::Named("break".into()));
        check("Team Huddle", Act::Named("team huddle".into()));
        check("Pausa Café", Act::Named("pausa café".into()));
        assert!(activity("").is_err());
    }

    /// A day off names each local day of its span, from midnight to midnight in the
    /// floor's zone (New York: 2026-11-01 is 25 hours long).
    #[test]
    fn days_off() {
        let ny = TimeZone::get("America/New_York").unwrap();
        let off = |first: &str, last: &str| {
            let mut rows = Vec::new();
            let mut d: Date = first.parse().unwrap();
            while d <= last.parse().unwrap() {
                rows.push(day_off_row(d, &ny).unwrap());
                d = d.tomorrow().unwrap();
            }
            rows
        };
        let h = "agent,start,end,activity\n";
        for (row, first, last) in [
            ("A1,2026-11-01,,off", "2026-11-01", "2026-11-01"),
            ("A1,2026-11-01,2026-11-01,day off", "2026-11-01", "2026-11-01"),
            ("A1,2026-10-31,2026-11-02,Off", "2026-10-31", "2026-11-02"),
            ("A1,2026-11-01 00:00,2026-11-02 00:00,off", "2026-11-01", "2026-11-01"),
            ("A1,2026-11-01 00:00,2026-11-01 00:00,off", "2026-11-01", "2026-11-01"),
            ("A1,2026-11-01 09:00,2026-11-02 00:01,off", "2026-11-01", "2026-11-02"),
            ("A1,2026-11-01T04:00:00Z,2026-11-01T05:00:00Z,off", "2026-11-01", "2026-11-01"),
        ] {
            let up = parse(&format!("{h}{row}\n"), &ny).unwrap();
            assert_eq!(up.agents, vec![("A1".into(), off(first, last))], "{row}");
        }
        let r = &off("2026-11-01", "2026-11-01")[0];
        assert_eq!((r.start, r.end), (ms("2026-11-01T04:00:00Z"), ms("2026-11-02T05:00:00Z")));
        let up = parse(r#"{"agents":[{"agent":"A1","days_off":["2026-11-01","2026-11-02"]}]}"#, &ny).unwrap();
        assert_eq!(up.agents, vec![("A1".into(), off("2026-11-01", "2026-11-02"))]);
        // An agent with no shifts and no days off is named, with nothing.
        let up = parse(r#"{"agents":[{"agent":"A1","shifts":[]}]}"#, &ny).unwrap();
        assert_eq!(up.agents, vec![("A1".into(), vec![])]);
    }

    /// A roster's agents and activities follow the events' rule for ids: an invisible
    /// character (a zero-width space copied from a web page) would make an agent no event
    /// ever names, scheduled and never seen.
    #[test]
    fn ids_with_invisible_characters_are_refused() {
        let e = parse("agent,start,end,activity\nA1\u{200B},2026-11-23 09:00,2026-11-23 17:00,shift\n", &utc())
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("no control or invisible characters"), "{e}");
        let e = parse("agent,start,end,activity\nA1,2026-11-23 09:00,2026-11-23 10:00,lu\u{202E}nch\n", &utc())
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("activity"), "{e}");
        assert!(parse("agent,start,end,activity\n张三,2026-11-23 09:00,2026-11-23 17:00,shift\n", &utc()).is_ok());
    }

    /// A time of the wrong type says what a time is, where it is.
    #[test]
    fn a_json_time_of_the_wrong_type_is_named_with_its_place() {
        let body = r#"{"agents":[{"agent":"A1","shifts":[{"start":true,"end":1795424400000}]}]}"#;
        let e = parse(body, &utc()).unwrap_err().to_string();
        assert_eq!(
            e,
            "agents[0].shifts[0].start: not a roster: invalid type: boolean `true`, expected a time: RFC 3339 or local \
             `YYYY-MM-DD HH:MM[:SS]` text, or epoch milliseconds at line 1 column 48"
        );
        // Epoch milliseconds and text both still read.
        let ok = r#"{"agents":[{"agent":"A1","shifts":[{"start":1795424400000,"end":"2026-11-23T11:00:00Z"}]}]}"#;
        assert_eq!(parse(ok, &utc()).unwrap().agents[0].1[0].start, ms("2026-11-23T09:00:00Z"));
    }

    #[test]
    fn json_paths() {
        let check = |body: &str, line: usize, column: usize, want: &str| {
            assert_eq!(json_path(body, line, column, false), want, "{body} at {line}:{column}");
        };
        let body = "{\"agents\": [{\"agent\": \"a,[\\\"}\", \"shifts\": [{}, {\"x\": 1";
        check(body, 1, body.len(), "agents[0].shifts[1].x");
        check(body, 1, 12, "agents");
        check(body, 1, 13, "agents[0]");
        check(body, 1, 3, "agents");
        check(body, 1, 1, "");
        check("{\"a\": 1,\n \"b\"", 2, 4, "b");
        assert_eq!(json_path(body, 1, body.len(), true), "agents[0].shifts[1]");
    }
}
