use super::*;
use crate::time::fmt_ms;

const U: &str = "5b1f0c3e-8a7d-4c2b-9e6f-1a2b3c4d5e6f";

fn mapper() -> Mapper {
    let mut m = Mapper::new(HashMap::new());
    m.set_labels(HashMap::from([("d-break".to_string(), "Break".to_string())]));
    let mut out = Vec::new();
    m.set_members(&[(U.to_string(), Some("Li Na".to_string()), "Support".to_string())], 0, &mut out);
    assert!(out.is_empty());
    m
}

fn activity(status: &str, start: &str, system: &str, def: &str, modified: &str) -> String {
    format!(
        r#"{{"topicName":"v2.users.{U}.activity","version":"2","eventBody":{{"id":"{U}","routingStatus":{{"status":"{status}","startTime":"{start}"}},"presence":{{"presenceDefinition":{{"id":"{def}","systemPresence":"{system}"}},"presenceMessage":"","modifiedDate":"{modified}"}},"outOfOffice":{{"active":false}},"activeQueueIds":[]}},"metadata":{{"CorrelationId":"c"}}}}"#
    )
}

fn conversation(conv: &str, call_state: &str, acw: Option<(&str, &str)>, disconnected: Option<&str>) -> String {
    let acw = acw.map_or(String::new(), |(s, t)| {
        format!(r#","afterCallWork":{{"state":"{s}","startTime":"{t}"}},"afterCallWorkRequired":true"#)
    });
    let disc = disconnected.map_or(String::new(), |t| format!(r#","disconnectedTime":"{t}""#));
    format!(
        r#"{{"topicName":"v2.users.{U}.conversations","version":"2","eventBody":{{"id":"{conv}","participants":[{{"id":"p1","purpose":"customer","calls":[{{"state":"{call_state}"}}]}},{{"id":"p2","purpose":"acd","queueId":"q1"}},{{"id":"p3","purpose":"agent","userId":"{U}","calls":[{{"state":"{call_state}","connectedTime":"2026-11-23T09:00:05.000Z"{disc}{acw}}}]}}]}}}}"#
    )
}

/// Feeds `frames` (text, receipt ms) and returns what came out, one line each:
/// `ts state reason` or `refused <reason>`.
fn run(m: &mut Mapper, frames: &[(String, Ms)]) -> Vec<String> {
    let mut lines = Vec::new();
    for (f, at) in frames {
        let mut out = Vec::new();
        m.frame(f, *at, &mut out);
        for o in out {
            lines.push(match o {
                Ok(Native::Call(c)) => {
                    format!("{} {} {} {}", fmt_ms(c.ts), c.event.as_str(), c.call, c.agent.as_deref().unwrap_or("-"))
                }
                Ok(Native::Agent(e)) => {
                    format!("{} {} {}", fmt_ms(e.ts.unwrap()), e.state.as_str(), e.reason.as_deref().unwrap_or("-"))
                }
                Err(e) => format!("refused {}", e.refusal().as_str()),
            });
        }
    }
    lines
}

fn check(frames: &[(String, Ms)], expected: &[&str]) {
    let mut m = mapper();
    assert_eq!(run(&mut m, frames), expected, "frames: {frames:#?}");
}

const T0: &str = "2026-11-23T09:00:00.000Z";
const T1: &str = "2026-11-23T09:00:05.000Z";
const T2: &str = "2026-11-23T09:02:00.000Z";
const T3: &str = "2026-11-23T09:02:30.000Z";
// 2026-11-23T10:00:00Z: after every T above.
const RECEIPT: Ms = 1_795_428_000_000;

#[test]
fn routing_status_and_presence_map_to_states() {
    check(&[(activity("IDLE", T0, "On Queue", "d-onq", T0), 0)], &["2026-11-23T09:00:00.000Z idle -"]);
    check(&[(activity("INTERACTING", T1, "On Queue", "d-onq", T0), 0)], &["2026-11-23T09:00:05.000Z talking -"]);
    check(&[(activity("COMMUNICATING", T1, "Busy", "d-busy", T0), 0)], &["2026-11-23T09:00:05.000Z talking -"]);
    // Aux: the organisation's label for the definition, else the system presence.
    check(&[(activity("OFF_QUEUE", T0, "Break", "d-break", T1), 0)], &["2026-11-23T09:00:05.000Z aux Break"]);
    check(&[(activity("OFF_QUEUE", T0, "Meal", "d-meal", T0), 0)], &["2026-11-23T09:00:00.000Z aux Meal"]);
    check(&[(activity("NOT_RESPONDING", T1, "On Queue", "d-onq", T0), 0)], &["2026-11-23T09:00:05.000Z aux On Queue"]);
    check(&[(activity("OFF_QUEUE", T0, "Offline", "d-off", T1), 0)], &["2026-11-23T09:00:05.000Z offline -"]);
}

#[test]
fn repeats_and_stale_statuses_change_nothing() {
    check(
        &[
            (activity("IDLE", T1, "On Queue", "d-onq", T1), 0),
            // The same notification again (a renewal's overlap).
            (activity("IDLE", T1, "On Queue", "d-onq", T1), 0),
            // An older one (the API's answer after a notification said more).
            (activity("OFF_QUEUE", T0, "Break", "d-break", T0), 0),
            (activity("OFF_QUEUE", T2, "Break", "d-break", T2), 0),
        ],
        &["2026-11-23T09:00:05.000Z idle -", "2026-11-23T09:02:00.000Z aux Break"],
    );
}

#[test]
fn a_call_with_after_call_work() {
    check(
        &[
            (activity("IDLE", T0, "On Queue", "d-onq", T0), 0),
            (activity("INTERACTING", T1, "On Queue", "d-onq", T0), 0),
            (conversation("c1", "connected", None, None), 0),
            // Disconnected, ACW pending: routing stays INTERACTING.
            (conversation("c1", "disconnected", Some(("pending", T2)), Some(T2)), 0),
            // ACW done at T3 (endTime), before the routing status catches up.
            (
                conversation("c1", "disconnected", Some(("complete", T2)), Some(T2))
                    .replace(r#""startTime""#, &format!(r#""endTime":"{T3}","startTime""#)),
                0,
            ),
            (activity("IDLE", T3, "On Queue", "d-onq", T0), 0),
        ],
        &[
            "2026-11-23T09:00:00.000Z idle -",
            "2026-11-23T09:00:05.000Z talking -",
            "2026-11-23T09:02:00.000Z acw -",
            "2026-11-23T09:02:30.000Z idle -",
        ],
    );
}

#[test]
fn the_older_wrapup_required_shape_is_acw() {
    let conv = format!(
        r#"{{"topicName":"v2.users.{U}.conversations","eventBody":{{"id":"c9","participants":[{{"purpose":"agent","userId":"{U}","wrapupRequired":true,"endTime":"{T2}","calls":[{{"state":"disconnected"}}]}}]}}}}"#
    );
    check(
        &[(activity("INTERACTING", T1, "On Queue", "d-onq", T0), 0), (conv, 0)],
        &["2026-11-23T09:00:05.000Z talking -", "2026-11-23T09:02:00.000Z acw -"],
    );
}

#[test]
fn control_frames_and_garbage() {
    let mut m = mapper();
    let mut out = Vec::new();
    let hb = r#"{"topicName":"channel.metadata","eventBody":{"message":"WebSocket Heartbeat"}}"#;
    assert_eq!(m.frame(hb, 0, &mut out), Notice::Heartbeat);
    let closing = r#"{"topicName":"v2.system.socket_closing","eventBody":{"message":"Socket closing"}}"#;
    assert_eq!(m.frame(closing, 0, &mut out), Notice::Closing);
    // The channel's own failure (expired, replaced past the quota, token expired; a refused
    // subscription): the session starts again, nothing is refused as an event.
    let gone = r#"{"result":"404","message":"Channel not found"}"#;
    assert_eq!(m.frame(gone, 0, &mut out), Notice::Failed("404 Channel not found".into()));
    let refused = r#"{"result":400,"status":"error","message":"Invalid topic"}"#;
    assert_eq!(m.frame(refused, 0, &mut out), Notice::Failed("400 Invalid topic".into()));
    assert_eq!(m.frame(r#"{"result":"200"}"#, 0, &mut out), Notice::Heartbeat);
    assert!(out.is_empty());
    let other = "00000000-0000-0000-0000-000000000000";
    check(
        &[
            ("not json".to_string(), 0),
            ("[1,2]".to_string(), 0),
            (r#"{"topicName":"v2.routing.queues.q.conversations","eventBody":{}}"#.to_string(), 0),
            (activity("IDLE", T0, "On Queue", "d", T0).replace(U, other), 0),
            (activity("DANCING", T0, "On Queue", "d", T0), 0),
            (format!(r#"{{"topicName":"v2.users.{U}.activity"}}"#), 0),
            (format!(r#"{{"topicName":"v2.users.{U}.activity","eventBody":{{"routingStatus":5}}}}"#), 0),
        ],
        &[
            "refused not_json",
            "refused not_object",
            "refused unmapped",
            "refused unmapped",
            "refused unmapped",
            "refused unmapped",
            "refused unmapped",
        ],
    );
}

#[test]
fn receipt_time_without_timestamps_and_never_backwards() {
    let no_ts = format!(
        r#"{{"topicName":"v2.users.{U}.activity","eventBody":{{"routingStatus":{{"status":"IDLE"}},"presence":{{"presenceDefinition":{{"id":"d-onq","systemPresence":"On Queue"}}}}}}}}"#
    );
    check(&[(no_ts, RECEIPT)], &[&format!("{} idle -", fmt_ms(RECEIPT))]);
    // A presence dated before the last emitted event is applied at that event's time.
    check(
        &[(activity("IDLE", T2, "On Queue", "d-onq", T0), 0), (activity("IDLE", T2, "Offline", "d-off", T1), 0)],
        &["2026-11-23T09:02:00.000Z idle -", "2026-11-23T09:02:00.000Z offline -"],
    );
}

#[test]
fn members_leaving_the_queues_go_offline_and_teams_map() {
    let mut m = Mapper::new(HashMap::from([(U.to_string(), "T07".to_string())]));
    let mut out = Vec::new();
    m.set_members(&[(U.to_string(), Some("Li Na".to_string()), "Support".to_string())], 0, &mut out);
    let lines = run(&mut m, &[(activity("IDLE", T0, "On Queue", "d-onq", T0), 0)]);
    assert_eq!(lines, ["2026-11-23T09:00:00.000Z idle -"]);
    m.set_members(&[], RECEIPT, &mut out);
    let Ok(Native::Agent(e)) = &out[0] else { panic!("{out:?}") };
    assert_eq!(
        (e.state, e.team.as_deref(), e.name.as_deref(), e.ts),
        (State::Offline, Some("T07"), Some("Li Na"), Some(RECEIPT))
    );
    // No longer watched: its notifications are refused.
    assert_eq!(run(&mut m, &[(activity("IDLE", T2, "On Queue", "d-onq", T2), 0)]), ["refused unmapped"]);
}

#[test]
fn conversations_per_user_are_bounded() {
    let mut m = mapper();
    for i in 0..(MAX_CONVERSATIONS_PER_USER + 10) {
        let mut out = Vec::new();
        m.frame(&conversation(&format!("c{i}"), "disconnected", Some(("pending", T2)), Some(T2)), 0, &mut out);
    }
    assert_eq!(m.users[U].acw.len(), MAX_CONVERSATIONS_PER_USER);
}

fn queue_conv(conv: &str, acd: &str, agent: &str, customer: &str) -> String {
    format!(
        r#"{{"topicName":"v2.routing.queues.q1.conversations","eventBody":{{"id":"{conv}","participants":[{customer}{acd}{agent}]}}}}"#
    )
}

#[test]
fn calls_from_the_queue_topic() {
    let mut m = mapper();
    m.set_queues(HashMap::from([("q1".to_string(), "Support".to_string())]));
    let acd_waiting = r#",{"id":"a1","purpose":"acd","queueId":"q1","connectedTime":"2026-11-23T09:00:00.000Z","calls":[{"state":"connected"}]}"#;
    let acd_done = r#",{"id":"a1","purpose":"acd","queueId":"q1","connectedTime":"2026-11-23T09:00:00.000Z","endTime":"2026-11-23T09:00:05.000Z","calls":[{"state":"disconnected","disconnectType":"transfer"}]}"#;
    let agent = format!(
        r#",{{"id":"g1","purpose":"agent","queueId":"q1","userId":"{U}","connectedTime":"2026-11-23T09:00:05.000Z"}}"#
    );
    let caller = r#"{"id":"x1","purpose":"customer"}"#;
    let hung_up = r#"{"id":"x1","purpose":"customer","endTime":"2026-11-23T09:00:05.000Z"}"#;
    let acd_peer = r#",{"id":"a1","purpose":"acd","queueId":"q1","connectedTime":"2026-11-23T09:00:00.000Z","endTime":"2026-11-23T09:00:12.000Z","calls":[{"state":"disconnected","disconnectType":"peer"}]}"#;
    let lines = run(
        &mut m,
        &[
            (queue_conv("c1", acd_waiting, "", caller), 0),
            (queue_conv("c1", acd_waiting, "", caller), 0),
            (queue_conv("c1", acd_done, &agent, caller), 0),
            (queue_conv("c1", acd_done, &agent, caller), 0),
            // Abandoned: first seen already ended; by the customer's end, or the acd leg's peer.
            (queue_conv("c2", acd_done, "", hung_up), 0),
            (queue_conv("c3", acd_peer, "", caller), 0),
            // Left: the flow took it out of the queue (transfer), nobody answered.
            (queue_conv("c4", acd_done, "", caller), 0),
            (queue_conv("c5", acd_done, "", caller).replace("queues.q1", "queues.q9"), 0),
        ],
    );
    assert_eq!(
        lines,
        [
            "2026-11-23T09:00:00.000Z queued c1 -",
            &format!("2026-11-23T09:00:05.000Z answered c1 {U}"),
            "2026-11-23T09:00:00.000Z queued c2 -",
            "2026-11-23T09:00:05.000Z abandoned c2 -",
            "2026-11-23T09:00:00.000Z queued c3 -",
            "2026-11-23T09:00:12.000Z abandoned c3 -",
            "2026-11-23T09:00:00.000Z queued c4 -",
            "2026-11-23T09:00:05.000Z left c4 -",
            "refused unmapped",
        ]
    );
}

#[test]
fn a_state_read_at_connect_is_dated_at_most_an_hour_back() {
    let mut m = mapper();
    let body = activity("IDLE", T0, "On Queue", "d-onq", T0)
        .replace(&format!(r#"{{"topicName":"v2.users.{U}.activity","version":"2","eventBody":"#), "");
    let body = &body[..body.rfind(r#","metadata""#).unwrap()];
    let a: Activity = serde_json::from_str(body).unwrap();
    let mut out = Vec::new();
    // Read 8 hours after the state began: dated an hour before the read.
    let read_at = parse_rfc3339(T0).unwrap() + 8 * 3_600_000;
    m.user_state(&a, read_at, &mut out);
    let Ok(Native::Agent(e)) = &out[0] else { panic!("{out:?}") };
    assert_eq!((e.state, e.ts), (State::Idle, Some(read_at - MAX_STATE_AGE_MS)));
    // Read soon after: the platform's own time.
    let mut m = mapper();
    let mut out = Vec::new();
    m.user_state(&a, parse_rfc3339(T0).unwrap() + 60_000, &mut out);
    let Ok(Native::Agent(e)) = &out[0] else { panic!("{out:?}") };
    assert_eq!(e.ts, parse_rfc3339(T0));
}

/// The `activity` notification writes system presences in upper case (`BREAK`,
/// `ON_QUEUE`), the users API as shown (`Break`): without the organisation's labels a break
/// told both ways is one reason, not two.
#[test]
fn system_presences_are_one_reason_however_written() {
    let mut m = Mapper::new(HashMap::new());
    let mut out = Vec::new();
    m.set_members(&[(U.to_string(), None, "Support".to_string())], 0, &mut out);
    let lines = run(
        &mut m,
        &[
            (activity("NOT_RESPONDING", T0, "Break", "d-1", T0), 0),
            (activity("NOT_RESPONDING", T0, "BREAK", "d-1", T1), 0),
            (activity("NOT_RESPONDING", T0, "ON_QUEUE", "d-2", T2), 0),
            (activity("NOT_RESPONDING", T0, "CUSTOM_THING", "d-3", "2026-11-23T09:03:00.000Z"), 0),
        ],
    );
    assert_eq!(
        lines,
        [
            "2026-11-23T09:00:00.000Z aux Break",
            "2026-11-23T09:02:00.000Z aux On Queue",
            "2026-11-23T09:03:00.000Z aux CUSTOM_THING"
        ]
    );
    assert_eq!(shown_presence("MEAL"), "Meal");
    assert_eq!(shown_presence("on_queue"), "On Queue");
}
