//! The mapping, row by row (SPEC §7, "Asterisk in detail"), through one `check` helper:
//! AMI messages in (text, blank-line separated), native events out, one line each:
//! `<ts secs.ms> <agent> <state>[ <reason>]`, `<ts> call <id> <event>[ q=<queue>][ a=<agent>]`,
//! or `invalid <reason>`.

use super::*;

const A1: &str = "Local/agent1@agents/n";

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

/// Feeds `messages` (received at wall instant 5,000,000 ms unless `@<ms>` starts one) to a
/// mapper with `wrapup_secs`, then ticks it at `tick` if given; compares every output.
fn run(wrapup_secs: i64, messages: &str, tick: Option<Ms>) -> Vec<String> {
    let mut m = Mapper::new(MapperConfig { wrapup_ms: wrapup_secs * 1000, teams: HashMap::new() });
    m.connected();
    let mut out = Vec::new();
    for block in messages.split("\n\n").map(str::trim).filter(|b| !b.is_empty()) {
        let (receipt, text) = match block.strip_prefix('@') {
            Some(rest) => {
                let (at, text) = rest.split_once('\n').unwrap();
                (at.parse().unwrap(), text)
            }
            None => (5_000_000, block),
        };
        m.handle(&Message::parse(text), receipt, &mut out);
    }
    if let Some(t) = tick {
        m.tick(t, &mut out);
    }
    out.iter().map(show).collect()
}

fn check(wrapup_secs: i64, messages: &str, expected: &[&str]) {
    assert_eq!(run(wrapup_secs, messages, None), expected, "\n{messages}");
}

/// A member event of `kind` for agent1 in queue `support` at `ts` with extra lines.
fn ev(kind: &str, ts: &str, extra: &str) -> String {
    format!(
        "Event: {kind}\nTimestamp: {ts}\nQueue: support\nMemberName: Agent One\nInterface: {A1}\nUniqueid: c1\n{extra}\n\n"
    )
}

fn added(ts: &str) -> String {
    ev("QueueMemberAdded", ts, "Status: 1\nPaused: 0\nPausedReason: \nInCall: 0\nWrapuptime: 0")
}

#[test]
fn timestamps_are_epoch_seconds_to_the_millisecond() {
    assert_eq!(parse_timestamp("1796124741.733424"), Some(1_796_124_741_733));
    assert_eq!(parse_timestamp("1796124741.7"), Some(1_796_124_741_700));
    assert_eq!(parse_timestamp("1796124741"), Some(1_796_124_741_000));
    assert_eq!(parse_timestamp("17961x"), None);
    assert_eq!(parse_timestamp("-1.0"), None);
    assert_eq!(parse_timestamp(""), None);
}

#[test]
fn each_row_of_the_mapping() {
    // Added: idle, team = its queue, name = MemberName.
    check(0, &added("100.000"), &["100.000 Local/agent1@agents/n idle"]);
    // Added paused with a reason; without a reason: unspecified.
    check(
        0,
        &ev("QueueMemberAdded", "100", "Status: 1\nPaused: 1\nPausedReason: lunch\nInCall: 0"),
        &["100.000 Local/agent1@agents/n aux lunch"],
    );
    check(
        0,
        &format!("{}{}", added("100"), ev("QueueMemberPause", "101.5", "Paused: 1\nPausedReason: ")),
        &["100.000 Local/agent1@agents/n idle", "101.500 Local/agent1@agents/n aux unspecified"],
    );
    // Unpause: idle again.
    check(
        0,
        &format!(
            "{}{}{}",
            added("100"),
            ev("QueueMemberPause", "101", "Paused: 1\nPausedReason: training"),
            ev("QueueMemberPause", "102", "Paused: 0\nPausedReason: ")
        ),
        &[
            "100.000 Local/agent1@agents/n idle",
            "101.000 Local/agent1@agents/n aux training",
            "102.000 Local/agent1@agents/n idle",
        ],
    );
    // Removed: offline. Status 4/5: offline, and back.
    check(
        0,
        &format!("{}{}", added("100"), ev("QueueMemberRemoved", "103", "Status: 1")),
        &["100.000 Local/agent1@agents/n idle", "103.000 Local/agent1@agents/n offline"],
    );
    check(
        0,
        &format!(
            "{}{}{}",
            added("100"),
            ev("QueueMemberStatus", "104", "Status: 5\nPaused: 0"),
            ev("QueueMemberStatus", "105", "Status: 1\nPaused: 0")
        ),
        &[
            "100.000 Local/agent1@agents/n idle",
            "104.000 Local/agent1@agents/n offline",
            "105.000 Local/agent1@agents/n idle",
        ],
    );
    // QueueMemberStatus (in use, ringing), AgentCalled, AgentRingNoAnswer change nothing.
    check(
        0,
        &format!(
            "{}{}{}{}{}",
            added("100"),
            ev("AgentCalled", "101", ""),
            ev("QueueMemberStatus", "101.1", "Status: 6\nInCall: 0\nPaused: 0"),
            ev("AgentRingNoAnswer", "106", "RingTime: 5000"),
            ev("QueueMemberStatus", "106.1", "Status: 2\nInCall: 1\nPaused: 0"),
        ),
        &["100.000 Local/agent1@agents/n idle"],
    );
    // Talking from AgentConnect to AgentComplete; no wrap-up configured: idle at once.
    check(
        0,
        &format!(
            "{}{}{}",
            added("100"),
            ev("AgentConnect", "110.25", ""),
            ev("AgentComplete", "150.75", "TalkTime: 40")
        ),
        &[
            "100.000 Local/agent1@agents/n idle",
            "110.250 Local/agent1@agents/n talking",
            "110.250 call c1 answered q=support a=Local/agent1@agents/n",
            "150.750 Local/agent1@agents/n idle",
        ],
    );
}

#[test]
fn wrap_up_ends_in_stream_time_never_in_the_future() {
    let call = format!("{}{}{}", added("100"), ev("AgentConnect", "110", ""), ev("AgentComplete", "150", ""));
    let start = [
        "100.000 Local/agent1@agents/n idle",
        "110.000 Local/agent1@agents/n talking",
        "110.000 call c1 answered q=support a=Local/agent1@agents/n",
        "150.000 Local/agent1@agents/n acw",
    ];
    // Nothing after AgentComplete: acw, its end not emitted (it would be in the future).
    check(5, &call, &start);
    // The QueueMemberStatus that follows every AgentComplete does not end it.
    let qms = ev("QueueMemberStatus", "150.001", "Status: 1\nInCall: 0\nPaused: 0");
    check(5, &format!("{call}{qms}"), &start);
    // A later message of anyone, at or past the end: the end is emitted, dated at it.
    let other = "Event: QueueMemberStatus\nTimestamp: 155.000\nQueue: support\nInterface: Local/x\nStatus: 1\n\n";
    let mut with_end = start.to_vec();
    with_end.extend(["155.000 Local/agent1@agents/n idle", "155.000 Local/x idle"]);
    check(5, &format!("{call}{qms}{other}"), &with_end);
    // The source's own clock passing it (stream time = last Timestamp + wall time since).
    let at = |wall: Ms| run(5, &format!("{call}@1000000\n{}", qms.trim()), Some(wall));
    assert_eq!(at(1_000_000 + 4_998), start, "4.998 s after the last message: not yet");
    let mut ended = start.to_vec();
    ended.push("155.000 Local/agent1@agents/n idle");
    assert_eq!(at(1_000_000 + 4_999), ended, "stream time 155.000 reached");
}

/// Paused during the call (`InCall: 1`, the usual way not to get the next one), then
/// unpaused in wrap-up: Asterisk still offers no call until the wrap-up ends, so it stays
/// `acw`; it used to turn idle at the unpause.
#[test]
fn an_unpause_in_wrap_up_does_not_end_it() {
    let msgs = format!(
        "{}{}{}{}{}{}",
        added("100"),
        ev("AgentConnect", "110", ""),
        ev("QueueMemberPause", "120", "Paused: 1\nPausedReason: notes\nInCall: 1"),
        ev("AgentComplete", "150", ""),
        ev("QueueMemberPause", "151", "Paused: 0\nPausedReason: \nInCall: 0"),
        ev("QueueMemberStatus", "181", "Status: 1\nInCall: 0\nPaused: 0"),
    );
    check(
        30,
        &msgs,
        &[
            "100.000 Local/agent1@agents/n idle",
            "110.000 Local/agent1@agents/n talking",
            "110.000 call c1 answered q=support a=Local/agent1@agents/n",
            "150.000 Local/agent1@agents/n acw",
            "180.000 Local/agent1@agents/n idle",
        ],
    );
}

#[test]
fn wrap_up_ended_early_or_dropped_when_the_member_moves_first() {
    let call = format!("{}{}{}", added("100"), ev("AgentConnect", "110", ""), ev("AgentComplete", "150", ""));
    let start = [
        "100.000 Local/agent1@agents/n idle",
        "110.000 Local/agent1@agents/n talking",
        "110.000 call c1 answered q=support a=Local/agent1@agents/n",
        "150.000 Local/agent1@agents/n acw",
    ];
    let with = |extra: &str, tail: &[&str]| {
        let mut e = start.to_vec();
        e.extend(tail);
        check(5, &format!("{call}{extra}"), &e);
    };
    // The next call connects a fraction of a second early: the pending end is dropped.
    with(
        &ev("AgentConnect", "154.998", "").replace("Uniqueid: c1", "Uniqueid: c2"),
        &["154.998 Local/agent1@agents/n talking", "154.998 call c2 answered q=support a=Local/agent1@agents/n"],
    );
    // A pause ends it early.
    with(
        &ev("QueueMemberPause", "152", "Paused: 1\nPausedReason: break"),
        &["152.000 Local/agent1@agents/n aux break"],
    );
    // Unpaused before Asterisk's wrap-up is over (`can_ring_entry` checks `wrapuptime` apart
    // from the pause): back in wrap-up until its end, not idle; unpaused after it: idle.
    let pause = ev("QueueMemberPause", "152", "Paused: 1\nPausedReason: break");
    with(
        &format!(
            "{pause}{}{}",
            ev("QueueMemberPause", "153", "Paused: 0"),
            ev("QueueMemberStatus", "156", "Status: 1")
        ),
        &[
            "152.000 Local/agent1@agents/n aux break",
            "153.000 Local/agent1@agents/n acw",
            "155.000 Local/agent1@agents/n idle",
        ],
    );
    with(
        &format!("{pause}{}", ev("QueueMemberPause", "155", "Paused: 0")),
        &["152.000 Local/agent1@agents/n aux break", "155.000 Local/agent1@agents/n idle"],
    );
    // Removal ends it.
    with(&ev("QueueMemberRemoved", "152", "Status: 1"), &["152.000 Local/agent1@agents/n offline"]);
    // Re-add ends it.
    with(&added("153"), &["153.000 Local/agent1@agents/n idle"]);
    // The next call at or after the end: the end first, dated at it.
    with(
        &ev("AgentConnect", "155.2", "").replace("Uniqueid: c1", "Uniqueid: c2"),
        &[
            "155.000 Local/agent1@agents/n idle",
            "155.200 Local/agent1@agents/n talking",
            "155.200 call c2 answered q=support a=Local/agent1@agents/n",
        ],
    );
}

#[test]
fn member_wrapuptime_wins_over_wrapup_secs() {
    let own = ev("QueueMemberAdded", "100", "Status: 1\nPaused: 0\nInCall: 0\nWrapuptime: 2");
    let msgs = format!(
        "{own}{}{}{}",
        ev("AgentConnect", "110", ""),
        ev("AgentComplete", "150", ""),
        "Event: QueueMemberStatus\nTimestamp: 160\nQueue: support\nInterface: Local/x\nStatus: 1\n\n"
    );
    let got = run(30, &msgs, None);
    assert!(got.contains(&"150.000 Local/agent1@agents/n acw".to_string()), "{got:?}");
    assert!(got.contains(&"152.000 Local/agent1@agents/n idle".to_string()), "Wrapuptime 2 s, not 30: {got:?}");
    // Wrapuptime 0 falls back to wrapup_secs.
    let got = run(3, &msgs.replace("Wrapuptime: 2", "Wrapuptime: 0"), None);
    assert!(got.contains(&"153.000 Local/agent1@agents/n idle".to_string()), "{got:?}");
}

#[test]
fn calls_queued_answered_abandoned_and_left() {
    let join = |id: &str, ts: &str| {
        format!("Event: QueueCallerJoin\nTimestamp: {ts}\nQueue: support\nUniqueid: {id}\nPosition: 1\n\n")
    };
    let leave =
        |id: &str, ts: &str| format!("Event: QueueCallerLeave\nTimestamp: {ts}\nQueue: support\nUniqueid: {id}\n\n");
    let abandon =
        |id: &str, ts: &str| format!("Event: QueueCallerAbandon\nTimestamp: {ts}\nQueue: support\nUniqueid: {id}\n\n");
    // Answered: the Leave just before AgentConnect means nothing.
    check(
        0,
        &format!("{}{}{}", join("c1", "10"), leave("c1", "14.001"), ev("AgentConnect", "14.002", "")),
        &[
            "10.000 call c1 queued q=support",
            "14.002 Local/agent1@agents/n talking",
            "14.002 call c1 answered q=support a=Local/agent1@agents/n",
        ],
    );
    // Abandoned: the Leave just after it means nothing.
    check(
        0,
        &format!("{}{}{}{}", join("c2", "10"), abandon("c2", "13"), leave("c2", "13.001"), join("c9", "30")),
        &["10.000 call c2 queued q=support", "13.000 call c2 abandoned q=support", "30.000 call c9 queued q=support"],
    );
    // Asterisk 22 sends QueueCallerAbandon for a queue timeout too: on a connection that
    // carries HangupRequests, an abandon whose channel was not asked to hang up is left.
    let hangup = |id: &str, ts: &str| format!("Event: HangupRequest\nTimestamp: {ts}\nUniqueid: {id}\n\n");
    check(
        0,
        &format!(
            "{}{}{}{}{}{}{}",
            join("c5", "10"),
            hangup("c5", "12"),
            abandon("c5", "12.001"),
            leave("c5", "12.002"),
            join("c6", "20"),
            abandon("c6", "23"),
            leave("c6", "23.001")
        ),
        &[
            "10.000 call c5 queued q=support",
            "12.001 call c5 abandoned q=support",
            "20.000 call c6 queued q=support",
            "23.000 call c6 left q=support",
        ],
    );
    // Left (timeout, exit key): neither follows; told once stream time is past the grace.
    check(
        0,
        &format!("{}{}{}", join("c3", "10"), leave("c3", "50"), join("c4", "50.4")),
        &["10.000 call c3 queued q=support", "50.400 call c4 queued q=support"],
    );
    check(
        0,
        &format!("{}{}{}", join("c3", "10"), leave("c3", "50"), join("c4", "50.5")),
        &["10.000 call c3 queued q=support", "50.000 call c3 left q=support", "50.500 call c4 queued q=support"],
    );
}

#[test]
fn untimed_snapshot_is_dated_by_the_stream() {
    let member = |loc: &str, paused: &str, incall: &str, status: &str| {
        format!(
            "Event: QueueMember\nQueue: support\nName: N\nLocation: {loc}\nStatus: {status}\nPaused: {paused}\nPausedReason: coaching\nInCall: {incall}\nActionID: fw-status\n\n"
        )
    };
    let complete = "Event: QueueStatusComplete\nActionID: fw-status\n\n";
    let snap = format!(
        "{}{}{}{}{complete}",
        member("Local/a", "0", "0", "1"),
        member("Local/b", "1", "0", "1"),
        member("Local/c", "0", "1", "2"),
        member("Local/d", "0", "0", "5"),
    );
    // Held until the first Timestamp, then dated at it.
    let mut m = Mapper::new(MapperConfig::default());
    m.connected();
    m.begin_snapshot();
    let mut out = Vec::new();
    for b in snap.split("\n\n").filter(|b| !b.trim().is_empty()) {
        m.handle(&Message::parse(b), 9_000_000, &mut out);
    }
    assert!(out.is_empty(), "held: {out:?}");
    m.handle(&Message::parse("Event: FullyBooted\nTimestamp: 700.5\nStatus: Fully Booted"), 9_000_001, &mut out);
    let got: Vec<String> = out.iter().map(show).collect();
    assert_eq!(
        got,
        ["700.500 Local/a idle", "700.500 Local/b aux coaching", "700.500 Local/c talking", "700.500 Local/d offline"]
    );
    // A platform without timestamps: dated by receipt once HOLD_MS has passed.
    let mut m = Mapper::new(MapperConfig::default());
    m.connected();
    let mut out = Vec::new();
    m.handle(&Message::parse(&member("Local/a", "0", "0", "1")), 9_000_000, &mut out);
    m.tick(9_000_000 + HOLD_MS - 1, &mut out);
    assert!(out.is_empty());
    m.tick(9_000_000 + HOLD_MS, &mut out);
    assert_eq!(out.iter().map(show).collect::<Vec<_>>(), ["9000.000 Local/a idle"]);
    // A second snapshot (after a reconnect): members missing from it are offline.
    m.connected();
    m.begin_snapshot();
    let mut out = Vec::new();
    m.handle(&Message::parse("Event: FullyBooted\nTimestamp: 9100"), 9_100_000, &mut out);
    m.handle(&Message::parse(complete), 9_100_000, &mut out);
    assert_eq!(out.iter().map(show).collect::<Vec<_>>(), ["9100.000 Local/a offline"]);
}

#[test]
fn unmappable_messages_are_counted_and_other_events_ignored() {
    check(
        0,
        "Event: AgentConnect\nTimestamp: 5\nQueue: support\n\n\
         Event: QueueMemberPause\nTimestamp: soon\nInterface: x\n\n\
         garbage without a colon\n\n\
         Event: QueueCallerJoin\nTimestamp: 6\nQueue: q\n\n\
         Event: VarSet\nTimestamp: 7\nVariable: X\n\n\
         Response: Success\nActionID: 1\n\n",
        &["invalid unmapped", "invalid unmapped", "invalid unmapped", "invalid unmapped"],
    );
    let long = format!("Event: QueueMemberAdded\nTimestamp: 5\nQueue: q\nInterface: {}\n\n", "x".repeat(65));
    check(0, &long, &["invalid unmapped"]);
}

#[test]
fn teams_from_the_map_else_the_first_queue() {
    let mut teams = HashMap::new();
    teams.insert(A1.to_string(), "T07".to_string());
    let mut m = Mapper::new(MapperConfig { wrapup_ms: 0, teams });
    let mut out = Vec::new();
    m.handle(&Message::parse(&added("100")), 0, &mut out);
    m.handle(&Message::parse(&added("101").replace(A1, "Local/b").replace("support", "sales")), 0, &mut out);
    m.handle(&Message::parse(&added("102").replace(A1, "Local/b")), 0, &mut out);
    let teams: Vec<(String, Option<String>, Option<String>)> = out
        .iter()
        .filter_map(|o| match o {
            Ok(Native::Agent(e)) => Some((e.agent.to_string(), e.team.as_ref().map(|t| t.to_string()), e.name.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        teams,
        [
            (A1.to_string(), Some("T07".into()), Some("Agent One".into())),
            ("Local/b".to_string(), Some("sales".into()), Some("Agent One".into())),
        ],
        "Local/b added to a second queue stays idle (no event) and in its first queue's team"
    );
}

#[test]
fn paused_in_every_queue_is_aux() {
    let in_q = |q: &str, kind: &str, ts: &str, extra: &str| {
        ev(kind, ts, extra).replace("Queue: support", &format!("Queue: {q}"))
    };
    check(
        0,
        &format!(
            "{}{}{}{}",
            in_q("a", "QueueMemberAdded", "1", "Status: 1\nPaused: 0"),
            in_q("b", "QueueMemberAdded", "2", "Status: 1\nPaused: 0"),
            in_q("a", "QueueMemberPause", "3", "Paused: 1\nPausedReason: lunch"),
            in_q("b", "QueueMemberPause", "3.001", "Paused: 1\nPausedReason: lunch"),
        ),
        &["1.000 Local/agent1@agents/n idle", "3.001 Local/agent1@agents/n aux lunch"],
    );
}

#[test]
fn memory_is_bounded() {
    let mut m = Mapper::new(MapperConfig::default());
    let mut out = Vec::new();
    for i in 0..MAX_MEMBERS + 5 {
        let msg = format!("Event: QueueMemberAdded\nTimestamp: 1\nQueue: q\nInterface: L/{i}\nStatus: 1\nPaused: 0");
        m.handle(&Message::parse(&msg), 0, &mut out);
    }
    assert_eq!(m.members(), MAX_MEMBERS);
    assert_eq!(out.iter().filter(|o| o.is_err()).count(), 5);
}

#[test]
fn callers_waiting_at_queue_status_are_queued_and_missed_ends_are_left() {
    let mut m = Mapper::new(MapperConfig::default());
    let mut out = Vec::new();
    let feed = |m: &mut Mapper, out: &mut Vec<Out>, text: &str| m.handle(&Message::parse(text), 0, out);
    m.connected();
    m.begin_snapshot();
    feed(&mut m, &mut out, "Event: SuccessfulAuth\nTimestamp: 100.25");
    feed(
        &mut m,
        &mut out,
        "Event: QueueEntry\nQueue: support\nPosition: 1\nUniqueid: w1\nWait: 3\nActionID: fw-status",
    );
    feed(&mut m, &mut out, "Event: QueueStatusComplete\nActionID: fw-status");
    feed(&mut m, &mut out, "Event: QueueCallerJoin\nTimestamp: 101\nQueue: support\nUniqueid: w2");
    // Reconnected: w1 still waits (not queued twice), w2 ended unseen.
    m.connected();
    m.begin_snapshot();
    feed(&mut m, &mut out, "Event: SuccessfulAuth\nTimestamp: 200");
    feed(
        &mut m,
        &mut out,
        "Event: QueueEntry\nQueue: support\nPosition: 1\nUniqueid: w1\nWait: 103\nActionID: fw-status",
    );
    feed(&mut m, &mut out, "Event: QueueCallerJoin\nTimestamp: 200.1\nQueue: support\nUniqueid: w3");
    feed(&mut m, &mut out, "Event: QueueStatusComplete\nActionID: fw-status");
    assert_eq!(
        out.iter().map(show).collect::<Vec<_>>(),
        [
            "97.250 call w1 queued q=support",
            "101.000 call w2 queued q=support",
            "200.100 call w3 queued q=support",
            "200.100 call w2 left q=support",
        ]
    );
}

#[test]
fn a_member_first_seen_within_its_wrap_up_is_in_acw_until_last_call_plus_wrap_up() {
    let report = |loc: &str, last: &str, w: &str| {
        format!(
            "Event: QueueMember\nQueue: support\nName: N\nLocation: {loc}\nStatus: 1\nPaused: 0\nInCall: 0\nLastCall: {last}\nWrapuptime: {w}\n\n"
        )
    };
    check(
        5,
        &format!(
            "{}{}{}{}Event: FullyBooted\nTimestamp: 104\n\nEvent: X\nTimestamp: 110\n\n",
            report("Local/a", "100", "0"),
            report("Local/b", "90", "0"),
            report("Local/c", "0", "0"),
            report("Local/d", "101", "2"),
        ),
        &[
            "104.000 Local/a acw",
            "104.000 Local/b idle",
            "104.000 Local/c idle",
            "104.000 Local/d idle",
            "105.000 Local/a idle",
        ],
    );
}
