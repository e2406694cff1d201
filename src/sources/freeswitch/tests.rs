//! The mapping, row by row (SPEC §7, `freeswitch`), through one `check` helper: events in
//! (one a line: `<secs> <CC-Action> <Key>=<value>;...`, `CC-Agent` written `@<agent>`),
//! native events out, one line each: `<ts secs.ms> <agent> <state>[ <reason>]`,
//! `<ts> call <id> <event>[ q=<queue>][ a=<agent>]`, or `invalid <reason>`.

use super::*;

fn show(o: &Out) -> String {
    let t = |ms: Ms| format!("{}.{:03}", ms / 1000, ms % 1000);
    match o {
        Ok(Native::Agent(e)) => {
            let mut s = format!("{} {} {}", t(e.ts.unwrap()), e.agent, e.state.as_str());
            if let Some(r) = &e.reason {
                s.push_str(&format!(" {r}"));
            }
            s
        }
        Ok(Native::Call(c)) => {
            let mut s = format!("{} call {} {}", t(c.ts), c.call, c.event.as_str());
            if let Some(q) = &c.queue {
                s.push_str(&format!(" q={q}"));
            }
            if let Some(a) = &c.agent {
                s.push_str(&format!(" a={a}"));
            }
            s
        }
        Err(e) => format!("invalid {}", e.refusal().as_str()),
    }
}

/// One event line as mod_callcenter's headers (decoded).
fn event(line: &str) -> Message {
    let (secs, rest) = line.split_once(' ').unwrap();
    let (action, fields) = rest.split_once(' ').unwrap_or((rest, ""));
    let us = (secs.parse::<f64>().unwrap() * 1e6).round() as i64;
    let mut m = Message::default();
    let mut push = |k: &str, v: &str| m.fields.push((k.to_string(), v.to_string()));
    push("Event-Name", "CUSTOM");
    push("Event-Date-Timestamp", &us.to_string());
    push("Event-Subclass", "callcenter::info");
    push("CC-Action", action);
    for f in fields.split(';').filter(|f| !f.is_empty()) {
        match f.strip_prefix('@') {
            Some(agent) => push("CC-Agent", agent),
            None => {
                let (k, v) = f.split_once('=').unwrap();
                push(k, v);
            }
        }
    }
    m
}

/// Feeds `lines` (received at wall 5,000,000 ms), then ticks at `tick` if given.
fn run(m: &mut Mapper, lines: &str, tick: Option<Ms>) -> Vec<String> {
    let mut out = Vec::new();
    for line in lines.lines().map(str::trim).filter(|l| !l.is_empty()) {
        m.handle(&event(line), 5_000_000, &mut out);
    }
    if let Some(t) = tick {
        m.tick(t, &mut out);
    }
    out.iter().map(show).collect()
}

fn mapper(wrapup_secs: i64) -> Mapper {
    let mut m = Mapper::new(MapperConfig { wrapup_ms: wrapup_secs * 1000, ..Default::default() });
    m.connected();
    m
}

fn check(wrapup_secs: i64, lines: &str, expected: &[&str]) {
    assert_eq!(run(&mut mapper(wrapup_secs), lines, None), expected, "\n{lines}");
}

#[test]
fn status_and_state_words() {
    check(
        0,
        "100 agent-status-change @a;CC-Agent-Status=Available
         101 agent-state-change @a;CC-Agent-State=Receiving
         102 agent-state-change @a;CC-Agent-State=In a queue call
         103 agent-state-change @a;CC-Agent-State=Waiting
         104 agent-status-change @a;CC-Agent-Status=On Break
         105 agent-status-change @a;CC-Agent-Status=Logged Out
         106 agent-status-change @a;CC-Agent-Status=Available (On Demand)
         107 agent-state-change @a;CC-Agent-State=Reserved",
        &[
            "100.000 a idle",
            "102.000 a talking",
            "103.000 a idle",
            "104.000 a aux break",
            "105.000 a offline",
            "106.000 a idle",
        ],
    );
}

#[test]
fn a_status_change_during_a_call_applies_when_it_ends() {
    // On Break during the call: talking until bridge-agent-end, then aux (over the
    // 10 s wrap-up); Available again at 125, inside the wrap-up: acw until 130, then idle.
    let mut m = mapper(10);
    let got = run(
        &mut m,
        "100 agent-status-change @a;CC-Agent-Status=Available
         110 agent-state-change @a;CC-Agent-State=In a queue call
         115 agent-status-change @a;CC-Agent-Status=On Break
         120 bridge-agent-end @a;CC-Agent-Bridged=true
         120.001 agent-state-change @a;CC-Agent-State=Waiting
         125 agent-status-change @a;CC-Agent-Status=Available",
        Some(5_000_000),
    );
    assert_eq!(got, ["100.000 a idle", "110.000 a talking", "120.000 a aux break", "125.000 a acw"]);
    // The wrap-up ends by stream time: the tick 5 s of wall time after the last event.
    let mut out = Vec::new();
    m.tick(5_005_000, &mut out);
    assert_eq!(out.iter().map(show).collect::<Vec<_>>(), ["130.000 a idle"]);
    // Logged Out during a call: talking until it ends, then offline.
    check(
        10,
        "100 agent-status-change @b;CC-Agent-Status=Available
         110 agent-state-change @b;CC-Agent-State=In a queue call
         111 agent-status-change @b;CC-Agent-Status=Logged Out
         140 bridge-agent-end @b;CC-Agent-Bridged=true",
        &["100.000 b idle", "110.000 b talking", "140.000 b offline"],
    );
}

#[test]
fn wrap_up_ends_in_stream_time_or_when_offered_a_call() {
    check(
        10,
        "100 agent-status-change @a;CC-Agent-Status=Available
         101 agent-state-change @a;CC-Agent-State=In a queue call
         130 bridge-agent-end @a;CC-Agent-Bridged=true
         130.002 agent-state-change @a;CC-Agent-State=Waiting
         150 agent-status-change @z;CC-Agent-Status=Available
         155 agent-state-change @a;CC-Agent-State=In a queue call
         160 bridge-agent-end @a;CC-Agent-Bridged=true
         165 agent-state-change @a;CC-Agent-State=Receiving
         166 bridge-agent-end @a;CC-Agent-Bridged=false",
        &[
            "100.000 a idle",
            "101.000 a talking",
            "130.000 a acw",
            "140.000 a idle",
            "150.000 z idle",
            "155.000 a talking",
            "160.000 a acw",
            "165.000 a idle",
        ],
    );
    // On Demand agents are put in state Idle after each call: acw until they set Waiting.
    check(
        0,
        "100 agent-status-change @a;CC-Agent-Status=Available (On Demand)
         101 agent-state-change @a;CC-Agent-State=In a queue call
         130 bridge-agent-end @a;CC-Agent-Bridged=true
         130.001 agent-state-change @a;CC-Agent-State=Idle
         170 agent-state-change @a;CC-Agent-State=Waiting",
        &["100.000 a idle", "101.000 a talking", "130.000 a acw", "170.000 a idle"],
    );
}

#[test]
fn calls() {
    check(
        0,
        "100 member-queue-start CC-Queue=support@default;CC-Member-UUID=m1
         101 member-queue-start CC-Queue=support@default;CC-Member-UUID=m2
         102 member-queue-start CC-Queue=support@default;CC-Member-UUID=m3
         103 member-queue-start CC-Queue=support@default;CC-Member-UUID=m4
         105 bridge-agent-start CC-Queue=support@default;@a;CC-Member-UUID=m1
         106 member-queue-end CC-Queue=support@default;CC-Member-UUID=m2;CC-Cause=Cancel;CC-Cancel-Reason=BREAK_OUT
         107 member-queue-end CC-Queue=support@default;CC-Member-UUID=m3;CC-Cause=Cancel;CC-Cancel-Reason=TIMEOUT
         108 member-queue-end CC-Queue=support@default;CC-Member-UUID=m4;CC-Cause=Cancel;CC-Cancel-Reason=EXIT_WITH_KEY
         130 member-queue-end CC-Queue=support@default;@a;CC-Member-UUID=m1;CC-Cause=Terminated
         131 member-queue-resume CC-Queue=support@default;CC-Member-UUID=m2",
        &[
            "100.000 call m1 queued q=support@default",
            "101.000 call m2 queued q=support@default",
            "102.000 call m3 queued q=support@default",
            "103.000 call m4 queued q=support@default",
            "105.000 call m1 answered q=support@default a=a",
            "106.000 call m2 abandoned q=support@default",
            "107.000 call m3 left q=support@default",
            "108.000 call m4 left q=support@default",
            "131.000 call m2 queued q=support@default",
        ],
    );
}

#[test]
fn what_cannot_be_mapped_is_counted_and_what_is_not_followed_is_ignored() {
    let mut m = mapper(0);
    let mut out = Vec::new();
    let mut no_ts = event("100 agent-status-change @a;CC-Agent-Status=Available");
    no_ts.fields.retain(|(k, _)| k != "Event-Date-Timestamp");
    m.handle(&no_ts, 5_000_000, &mut out);
    let mut heartbeat = event("100 x");
    heartbeat.fields.retain(|(k, _)| k != "Event-Subclass");
    m.handle(&heartbeat, 5_000_000, &mut out);
    for line in [
        "101 agent-status-change @a;CC-Agent-Status=Gone Fishing",
        "102 agent-state-change @a;CC-Agent-State=Unknown",
        "103 agent-status-change CC-Agent-Status=Available",
        "104 member-queue-start CC-Queue=q",
        "105 member-queue-end CC-Member-UUID=m9;CC-Cause=Weird",
        "106 agent-offering @a;CC-Member-UUID=m1",
        "107 members-count CC-Queue=q;CC-Count=1",
    ] {
        m.handle(&event(line), 5_000_000, &mut out);
    }
    let got: Vec<String> = out.iter().map(show).collect();
    assert_eq!(got, ["invalid unmapped"; 6]);
    assert_eq!(m.agents(), 0, "an unmapped event creates no agent");
}

const TIERS: &str = "queue|agent|state|level|position\nsupport@default|1000@default|Ready|1|1\nsales@default|1000@default|Ready|2|1\nsales@default|1001@default|Ready|1|1\n+OK\n";

fn agent_list(rows: &[&str]) -> String {
    let mut s = String::from(
        "name|instance_id|uuid|type|contact|status|state|max_no_answer|wrap_up_time|reject_delay_time|busy_delay_time|no_answer_delay_time|last_bridge_start|last_bridge_end|last_offered_call|last_status_change|no_answer_count|calls_answered|talk_time|ready_time|external_calls_count\n",
    );
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s.push_str("+OK\n");
    s
}

fn row(agent: &str, status: &str, state: &str, wrap: u32, last_bridge_end: u64) -> String {
    format!(
        "{agent}|single_box||callback|user/{agent}|{status}|{state}|3|{wrap}|10|60|0|0|{last_bridge_end}|0|1796100000|0|0|0|0|0"
    )
}

/// mod_callcenter takes status and state words in any case (`strcasecmp`) and sends them
/// as typed (`callcenter_config agent set status 1000@default 'on break'` from a script):
/// they mean what the canonical words mean, in events and in the agent list.
#[test]
fn status_and_state_words_in_any_case() {
    check(
        0,
        "100 agent-status-change @a;CC-Agent-Status=available
         101 agent-state-change @a;CC-Agent-State=in a queue call
         102 agent-state-change @a;CC-Agent-State=WAITING
         103 agent-status-change @a;CC-Agent-Status=on break
         104 agent-status-change @a;CC-Agent-Status=logged out
         105 agent-status-change @a;CC-Agent-Status=available (on demand)",
        &[
            "100.000 a idle",
            "101.000 a talking",
            "102.000 a idle",
            "103.000 a aux break",
            "104.000 a offline",
            "105.000 a idle",
        ],
    );
    assert!(unroutable_available("available") && unroutable_available("AVAILABLE (ON DEMAND)"));
    assert!(!unroutable_available("Available") && !unroutable_available("Available (On Demand)"));
    assert!(!unroutable_available("on break"));
    let mut m = mapper(0);
    run(
        &mut m,
        "100 agent-status-change @a;CC-Agent-Status=available\n101 agent-status-change @b;CC-Agent-Status=available",
        None,
    );
    assert_eq!(m.take_unroutable(), Some(("a".to_string(), "available".to_string())), "the first one, once");
    assert_eq!(m.take_unroutable(), None);
    let mut m = mapper(0);
    let rows = [row("1000@default", "on break", "waiting", 0, 0), row("1001@default", "logged out", "Waiting", 0, 0)];
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    m.agent_list(agent_list(&rows).as_bytes(), 4_000_000, &mut out).unwrap();
    m.handle(&event("1796124800 members-count CC-Queue=x"), 4_000_100, &mut out);
    let got: Vec<String> = out.iter().map(show).collect();
    assert_eq!(got, ["1796124800.000 1000@default aux break", "1796124800.000 1001@default offline"]);
}

#[test]
fn the_agent_list_waits_for_the_streams_clock_and_gives_teams_and_wrap_up() {
    let mut m = Mapper::new(MapperConfig {
        names: [("1001@default".to_string(), "Li Na".to_string())].into(),
        ..Default::default()
    });
    m.connected();
    m.tier_list(TIERS.as_bytes()).unwrap();
    let rows = [
        row("1000@default", "Available", "Waiting", 10, 1796124795),
        row("1001@default", "On Break", "In a queue call", 0, 0),
        row("1002@default", "Logged Out", "Waiting", 0, 0),
        "bad|row".to_string(),
        row("1003@default", "Sleeping", "Waiting", 0, 0),
    ];
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    m.agent_list(agent_list(&rows).as_bytes(), 4_000_000, &mut out).unwrap();
    assert_eq!(out.iter().map(show).collect::<Vec<_>>(), ["invalid unmapped", "invalid unmapped"]);
    out.clear();
    // Held until the first event, then dated by it: 1000 is in wrap-up until 1796124805.
    m.handle(&event("1796124800 members-count CC-Queue=x"), 4_000_100, &mut out);
    let got: Vec<String> = out.iter().map(show).collect();
    assert_eq!(
        got,
        [
            "1796124800.000 1000@default acw",
            "1796124800.000 1001@default talking",
            "1796124800.000 1002@default offline"
        ]
    );
    let teams: Vec<(String, Option<String>)> = out
        .iter()
        .filter_map(|o| match o {
            Ok(Native::Agent(e)) => Some((e.team.as_deref().unwrap_or("-").to_string(), e.name.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        teams,
        [("support@default".into(), None), ("sales@default".into(), Some("Li Na".into())), ("-".into(), None),]
    );
    out.clear();
    m.tick(4_005_100, &mut out);
    assert_eq!(out.iter().map(show).collect::<Vec<_>>(), ["1796124805.000 1000@default idle"]);

    // A reconnect: a call that was waiting ends as left at the new list; an agent the
    // list no longer has is offline; with no event within HOLD_MS, the list is dated by
    // receipt.
    out.clear();
    m.handle(&event("1796124806 member-queue-start CC-Queue=support@default;CC-Member-UUID=m1"), 4_006_000, &mut out);
    out.clear();
    m.connected();
    let again = [row("1000@default", "Available", "Waiting", 10, 1796124795)];
    let again: Vec<&str> = again.iter().map(String::as_str).collect();
    m.agent_list(agent_list(&again).as_bytes(), 1_796_124_900_000, &mut out).unwrap();
    m.members_list(b"+OK\n", 1_796_124_900_000, &mut out).unwrap();
    assert!(out.is_empty());
    m.tick(1_796_124_900_500, &mut out);
    assert!(out.is_empty(), "held for HOLD_MS");
    m.tick(1_796_124_901_000, &mut out);
    let got: Vec<String> = out.iter().map(show).collect();
    assert_eq!(got, ["1796124900.000 1001@default offline", "1796124900.000 call m1 left q=support@default",]);
    assert_eq!(m.agent_list(b"-ERR Invalid!\n", 0, &mut out), Err("-ERR Invalid!".into()));
}

#[test]
fn timestamps_are_microseconds() {
    assert_eq!(parse_micros("1796124741733424"), Some(1796124741733));
    assert_eq!(parse_micros("-5"), None);
    assert_eq!(parse_micros("12a"), None);
    assert_eq!(parse_micros(""), None);
}

#[test]
fn a_huge_list_of_bad_rows_is_refused_within_bounds() {
    let mut m = mapper(0);
    let bad: Vec<String> = (0..MAX_ROW_REFUSALS + 500).map(|i| format!("x{i}|too|few")).collect();
    let mut rows: Vec<&str> = bad.iter().map(String::as_str).collect();
    let good = row("1000@default", "Available", "Waiting", 0, 0);
    rows.push(&good);
    let mut out = Vec::new();
    m.agent_list(agent_list(&rows).as_bytes(), 1_000, &mut out).unwrap();
    m.tick(1_000 + HOLD_MS, &mut out);
    let got: Vec<String> = out.iter().map(show).collect();
    assert_eq!(got.len(), MAX_ROW_REFUSALS + 2, "each of the first refusals, one for the rest, the good row");
    assert!(got[..=MAX_ROW_REFUSALS].iter().all(|g| g == "invalid unmapped"));
    assert_eq!(got[MAX_ROW_REFUSALS + 1], "1.000 1000@default idle");
    let Err(e) = &out[MAX_ROW_REFUSALS] else { panic!() };
    assert!(e.to_string().contains("500 more agent list rows refused"), "{e}");
}

const MEMBERS: &str = "queue|instance_id|uuid|session_uuid|cid_number|cid_name|system_epoch|joined_epoch|rejoined_epoch|bridge_epoch|abandoned_epoch|base_score|skill_score|serving_agent|serving_system|state|score";

#[test]
fn the_member_list_tells_the_callers_waiting_now() {
    let mut m = mapper(0);
    let mut out = Vec::new();
    // Known waiting before a reconnect: m1 (still listed), m2 (gone meanwhile).
    m.handle(&event("1000 member-queue-start CC-Queue=support@default;CC-Member-UUID=m1"), 0, &mut out);
    m.handle(&event("1001 member-queue-start CC-Queue=support@default;CC-Member-UUID=m2"), 0, &mut out);
    out.clear();
    m.connected();
    let list = format!(
        "{MEMBERS}\n\
         support@default|single_box|m1|s1|100|A|990|990|0|0|0|0|0|||Waiting|20\n\
         support@default|single_box|m3|s3|101|B|995|995|0|0|0|0|0|1000@default|single_box|Trying|15\n\
         sales@default|single_box|m4|s4|102|C|900|900|998|0|0|0|0|||Waiting|12\n\
         sales@default|single_box|m5|s5|103|D|900|900|0|996|0|0|0|1001@default|single_box|Answered|100\n\
         +OK\n"
    );
    m.members_list(list.as_bytes(), 5_000, &mut out).unwrap();
    assert!(out.iter().all(|o| matches!(o, Ok(Native::Call(c)) if c.event == CallKind::Queued)));
    // The call that is gone waits for the stream's clock: the first event dates it.
    m.handle(&event("1010 members-count CC-Queue=support@default"), 5_100, &mut out);
    let got: Vec<String> = out.iter().map(show).collect();
    assert_eq!(
        got,
        [
            "995.000 call m3 queued q=support@default",
            "998.000 call m4 queued q=sales@default",
            "1010.000 call m2 left q=support@default",
        ]
    );
    // A refused list: every call we had waiting is taken as ended.
    out.clear();
    m.connected();
    assert!(m.members_list(b"-ERR Invalid!\n", 6_000, &mut out).is_err());
    m.tick(6_000 + HOLD_MS, &mut out);
    let got: Vec<String> = out.iter().map(show).collect();
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got.iter().all(|g| g.ends_with(" left q=support@default") || g.ends_with(" left q=sales@default")));
}
