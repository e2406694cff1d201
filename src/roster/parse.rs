//! Reading a roster (SPEC §9.1) at the edge: CSV in the shape WFM tools export
//! (`agent,start,end,activity`, one row per span) and JSON (agents → shifts → activities).
//! Times are RFC 3339 or local `YYYY-MM-DD HH:MM[:SS]` in the floor's zone; a local time
//! on a DST fold takes the earlier instant, one in a DST gap is moved forward by the gap
//! (jiff's "compatible" rule). A bad row refuses the whole upload with its line number.

use compact_str::CompactString;
use jiff::tz::TimeZone;

use super::Row;
use crate::time::{MAX_MS, Ms, parse_rfc3339};

/// Longest agent id and activity name, in bytes (as event ids, SPEC §2.1).
const MAX_ID_BYTES: usize = 64;

/// A parsed upload: each agent's rows, in the order given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Upload {
    pub agents: Vec<(CompactString, Vec<Row>)>,
}

impl Upload {
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

/// CSV when the body does not start with `{` (after blanks and a byte-order mark), else JSON.
pub fn parse(body: &str, tz: &TimeZone) -> Result<Upload, RosterError> {
    let body = body.strip_prefix('\u{feff}').unwrap_or(body);
    if body.trim_start().starts_with('{') { parse_json(body, tz) } else { parse_csv(body, tz) }
}

/// An instant from RFC 3339, epoch milliseconds as digits, or a local date and time.
pub fn parse_time(s: &str, tz: &TimeZone) -> Option<Ms> {
    let s = s.trim();
    if let Some(ms) = parse_rfc3339(s) {
        return Some(ms);
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<Ms>().ok().filter(|ms| (0..=MAX_MS).contains(ms));
    }
    // Local: `YYYY-MM-DD HH:MM[:SS[.fff]]` (or with `T`), no offset.
    let b = s.as_bytes();
    if b.len() < 16 || !matches!(b[10], b' ' | b'T' | b't') {
        return None;
    }
    let dt: jiff::civil::DateTime = format!("{}T{}", &s[..10], &s[11..]).parse().ok()?;
    // `to_zoned` resolves folds to the earlier instant and gaps forward (compatible).
    let ms = dt.to_zoned(tz.clone()).ok()?.timestamp().as_millisecond();
    (0..=MAX_MS).contains(&ms).then_some(ms)
}

fn check_agent(agent: &str) -> Result<(), String> {
    if agent.is_empty() || agent.len() > MAX_ID_BYTES || agent.chars().any(char::is_control) {
        return Err(format!("agent {:?} must be 1-{MAX_ID_BYTES} bytes of printable text", clip(agent)));
    }
    Ok(())
}

/// The activity of a row: `None` for `shift` (any ASCII case), else the name as given.
fn activity(name: &str) -> Result<Option<CompactString>, String> {
    let name = name.trim();
    if name.eq_ignore_ascii_case("shift") {
        return Ok(None);
    }
    if name.is_empty() || name.len() > MAX_ID_BYTES || name.chars().any(char::is_control) {
        return Err(format!("activity {:?} must be `shift` or 1-{MAX_ID_BYTES} bytes of printable text", clip(name)));
    }
    if name == "off" {
        return Err("activity `off` is reserved (no shift covers the time)".into());
    }
    Ok(Some(name.into()))
}

fn clip(s: &str) -> &str {
    let mut end = s.len().min(80);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn span(start: &str, end: &str, tz: &TimeZone) -> Result<(Ms, Ms), String> {
    let s = parse_time(start, tz).ok_or_else(|| format!("start {:?} is not a time", clip(start)))?;
    let e = parse_time(end, tz).ok_or_else(|| format!("end {:?} is not a time", clip(end)))?;
    if e <= s {
        return Err(format!("end {:?} is not after start {:?}", clip(end), clip(start)));
    }
    Ok((s, e))
}

/// Splits one CSV line into fields (RFC 4180 quoting, `""` inside quotes).
fn fields(line: &str) -> Result<Vec<String>, String> {
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
                ',' => {
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
        return Err("unterminated quoted field".into());
    }
    out.push(cur);
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
    let names: Vec<String> =
        fields(header).map_err(|m| err(at(hline), m))?.iter().map(|f| f.trim().to_ascii_lowercase()).collect();
    let col = |name: &str| {
        names.iter().position(|n| n == name).ok_or_else(|| {
            err(at(hline), format!("header has no `{name}` column (expected `agent,start,end,activity`)"))
        })
    };
    let (ca, cs, ce, cact) = (col("agent")?, col("start")?, col("end")?, col("activity")?);
    let mut up = Builder::default();
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let f = fields(line).map_err(|m| err(at(n), m))?;
        let get =
            |i: usize| f.get(i).map(|s| s.trim()).ok_or_else(|| err(at(n), format!("missing column `{}`", names[i])));
        let agent = get(ca)?;
        check_agent(agent).map_err(|m| err(at(n), m))?;
        let (start, end) = span(get(cs)?, get(ce)?, tz).map_err(|m| err(at(n), m))?;
        let act = activity(get(cact)?).map_err(|m| err(at(n), m))?;
        up.push(agent, Row { start, end, act });
    }
    Ok(up.finish())
}

#[derive(Default)]
struct Builder {
    index: std::collections::HashMap<CompactString, usize>,
    up: Upload,
}

impl Builder {
    fn push(&mut self, agent: &str, row: Row) {
        let i = *self.index.entry(agent.into()).or_insert_with(|| {
            self.up.agents.push((agent.into(), Vec::new()));
            self.up.agents.len() - 1
        });
        self.up.agents[i].1.push(row);
    }

    fn finish(self) -> Upload {
        self.up
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRoster {
    agents: Vec<JsonAgent>,
}

#[derive(serde::Deserialize)]
struct JsonAgent {
    agent: String,
    #[serde(default)]
    shifts: Vec<JsonShift>,
}

#[derive(serde::Deserialize)]
struct JsonShift {
    start: JsonTime,
    end: JsonTime,
    #[serde(default)]
    activities: Vec<JsonActivity>,
}

#[derive(serde::Deserialize)]
struct JsonActivity {
    activity: String,
    start: JsonTime,
    end: JsonTime,
}

/// A time as a string (RFC 3339 or local) or integer epoch milliseconds.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum JsonTime {
    Ms(i64),
    Text(String),
}

impl JsonTime {
    fn text(&self) -> String {
        match self {
            JsonTime::Ms(n) => n.to_string(),
            JsonTime::Text(s) => s.clone(),
        }
    }
}

pub fn parse_json(body: &str, tz: &TimeZone) -> Result<Upload, RosterError> {
    let r: JsonRoster =
        serde_json::from_str(body).map_err(|e| err(format!("line {}", e.line()), format!("not a roster: {e}")))?;
    let mut up = Builder::default();
    for (i, a) in r.agents.iter().enumerate() {
        let at = format!("agents[{i}]");
        check_agent(&a.agent).map_err(|m| err(&at, m))?;
        if a.shifts.is_empty() {
            // An agent named with no shifts: its days are cleared by nothing; say so.
            up.index.entry(a.agent.as_str().into()).or_insert_with(|| {
                up.up.agents.push((a.agent.as_str().into(), Vec::new()));
                up.up.agents.len() - 1
            });
        }
        for (j, s) in a.shifts.iter().enumerate() {
            let at = format!("{at}.shifts[{j}]");
            let (start, end) = span(&s.start.text(), &s.end.text(), tz).map_err(|m| err(&at, m))?;
            up.push(&a.agent, Row { start, end, act: None });
            for (k, x) in s.activities.iter().enumerate() {
                let at = format!("{at}.activities[{k}]");
                let (start, end) = span(&x.start.text(), &x.end.text(), tz).map_err(|m| err(&at, m))?;
                let act = activity(&x.activity).map_err(|m| err(&at, m))?;
                let Some(act) = act else {
                    return Err(err(at, "an activity inside a shift cannot be `shift`"));
                };
                up.push(&a.agent, Row { start, end, act: Some(act) });
            }
        }
    }
    Ok(up.finish())
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
        check(&format!("{h}A1,2026-11-23 09:00,2026-11-23 11:00,off\n"), "line 2", "reserved");
        check(&format!("{h}A1,\"2026-11-23 09:00,2026-11-23 11:00,shift\n"), "line 2", "unterminated");
        check("agent,begin,end,activity\n", "line 1", "`start`");
        check("", "line 1", "empty");
        check("{\"agents\": [}", "line 1", "not a roster");
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
    #[test]
    fn local_times_across_dst() {
        let ny = TimeZone::get("America/New_York").unwrap();
        assert_eq!(parse_time("2026-03-08 01:30", &ny), Some(ms("2026-03-08T06:30:00Z")));
        assert_eq!(parse_time("2026-03-08 03:00", &ny), Some(ms("2026-03-08T07:00:00Z")));
        assert_eq!(parse_time("2026-03-08 02:30", &ny), Some(ms("2026-03-08T07:30:00Z")));
        assert_eq!(parse_time("2026-11-01 01:30", &ny), Some(ms("2026-11-01T05:30:00Z")));
        assert_eq!(parse_time("2026-11-01 02:00", &ny), Some(ms("2026-11-01T07:00:00Z")));
    }
}
