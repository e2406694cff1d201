//! Why an event was refused (SPEC §2.6), as integrators see it: the `errors` of HTTP
//! answers and WebSocket acks, `GET /api/v1/ingest/errors` (TCP lines included), and the
//! `reason` label of `floorwatch_events_total`.

mod common;

use common::{Daemon, metric};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;

const EVENT_CLOCK: &str = "[server]\nclock = \"event\"\n";

/// 2026-11-23T09:00:00Z.
const T0: i64 = 1_795_424_400_000;

/// `(index, outcome, reason, message)` of an answer's `errors`.
fn errors(body: &Value) -> Vec<(u64, String, String, String)> {
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {body}"))
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_else(|| panic!("{k} in {e}")).to_string();
            (e["index"].as_u64().unwrap(), s("outcome"), s("reason"), s("message"))
        })
        .collect()
}

fn err(index: u64, outcome: &str, reason: &str, message: &str) -> (u64, String, String, String) {
    (index, outcome.into(), reason.into(), message.into())
}

/// The refused events of a mixed request are listed by their index in it, edge and engine
/// Teams are bounded as agents are: past 5,000 known, an event naming a new team is
/// `too_large`, said so (a feed giving each agent a team of its own made 20,000 teams and
/// 1.1 M Prometheus series; the memory audit). Known teams, and no team, still take events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_team_past_five_thousand_is_refused_and_said_why() {
    let d = Daemon::start(EVENT_CLOCK).await;
    let n = floorwatch::engine::MAX_TEAMS;
    let teams: Vec<String> =
        (0..n).map(|i| format!(r#"{{"ts":{T0},"agent":"A{i}","state":"idle","team":"T{i}"}}"#)).collect();
    let (status, answer) = d.post("/api/v1/events", format!("[{}]", teams.join(","))).await;
    assert_eq!((status, &answer["applied"]), (200, &json!(n)), "{answer}");
    let more = format!(
        r#"[{{"ts":{T0},"agent":"B1","state":"idle","team":"T-new"}},
            {{"ts":{T0},"agent":"A1","state":"aux","team":"T-new2"}},
            {{"ts":{T0},"agent":"B2","state":"idle","team":"T7"}},
            {{"ts":{T0},"agent":"B3","state":"idle"}},
            {{"ts":{T0},"agent":"A2","state":"talking","team":"T9"}}]"#
    );
    let (status, answer) = d.post("/api/v1/events", more).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!((&answer["applied"], &answer["invalid"]), (&json!(3), &json!(2)), "{answer}");
    let errors = answer["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    for e in errors {
        assert_eq!(e["reason"], "too_large");
        assert!(e["message"].as_str().unwrap().contains("teams are known"), "{e}");
    }
    d.stop().await;
}

/// refusals in request order; the counts stay as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_answers_name_each_refused_event() {
    let d = Daemon::start(EVENT_CLOCK).await;
    let body = format!(
        r#"[
        {{"ts":{T0},"agent":"A1","state":"TALKING","seq":1}},
        {{"ts":{T0},"agent":"A2","state":"idle","team":5}},
        {{"ts":"yesterday","agent":"A3","state":"idle"}},
        42,
        {{"ts":{T0},"agent":"A1","state":"idle","seq":1}},
        {{"ts":{},"agent":"A1","state":"idle","seq":2}},
        {{"agent":"A4","state":"idle"}},
        {{"ts":{T0},"agent":"A5","state":"TALKINGG"}}
    ]"#,
        T0 - 60_000
    );
    let (status, answer) = d.post("/api/v1/events", body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (&answer["applied"], &answer["duplicate"], &answer["late"], &answer["invalid"]),
        (&json!(1), &json!(1), &json!(1), &json!(5)),
        "{answer}"
    );
    assert_eq!(
        errors(&answer),
        vec![
            err(1, "invalid", "bad_type", "team must be a string, got 5"),
            err(2, "invalid", "bad_ts", r#"ts "yesterday" is not an RFC 3339 time with offset or epoch ms"#),
            err(3, "invalid", "not_object", "an event must be a JSON object, got 42"),
            err(4, "duplicate", "repeated", r#"seq 1 is not above last applied seq 1 of "A1""#),
            err(
                5,
                "late",
                "older_than_last",
                r#"ts 2026-11-23T08:59:00Z is before last applied ts 2026-11-23T09:00:00Z of "A1""#
            ),
            err(6, "invalid", "missing_field", "ts is missing (the event clock needs one)"),
            err(
                7,
                "invalid",
                "unknown_state",
                r#"state "TALKINGG" is not a state (talking, acw, aux, idle, offline or an alias)"#
            ),
        ]
    );

    // Too old for the backfill limit; an identical event without seq.
    let later = T0 + 3 * 3_600_000;
    let body = format!(
        r#"[{{"ts":{later},"agent":"B1","state":"idle"}},{{"ts":{T0},"agent":"B2","state":"idle"}},{{"ts":{later},"agent":"B1","state":"idle"}}]"#
    );
    let (_, answer) = d.post("/api/v1/events", body).await;
    assert_eq!(
        errors(&answer),
        vec![
            err(
                1,
                "late",
                "too_old",
                "ts 2026-11-23T09:00:00Z is older than floor.max_backfill_secs (7200) before now"
            ),
            err(2, "duplicate", "repeated", r#"same ts, state and reason as the last applied event of "B1""#),
        ]
    );

    // Nothing refused: an empty list.
    let (_, answer) = d.post("/api/v1/events", format!(r#"[{{"ts":{later},"agent":"B3","state":"idle"}}]"#)).await;
    assert_eq!(answer["errors"], json!([]));

    // A body that is not JSON is one refused event, and a 400.
    let (status, answer) = d.post("/api/v1/events", "not json").await;
    assert_eq!(status, 400);
    assert_eq!(
        errors(&answer),
        vec![err(0, "invalid", "not_json", "not JSON (expected ident at line 1 column 2): not json")]
    );
    d.stop().await;
}

/// At most 20 errors in one answer; the counts still count every event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_lists_at_most_twenty_errors() {
    let d = Daemon::start(EVENT_CLOCK).await;
    let body = format!("[{}]", vec!["{\"agent\":\"A1\"}"; 30].join(","));
    let (_, answer) = d.post("/api/v1/events", body).await;
    assert_eq!(answer["invalid"], 30);
    let e = errors(&answer);
    assert_eq!(e.len(), 20);
    assert_eq!(e[19], err(19, "invalid", "missing_field", "state is missing"));
    d.stop().await;
}

/// A WebSocket ack lists its frame's refused events like the HTTP answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_acks_carry_errors() {
    let d = Daemon::start(EVENT_CLOCK).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ingest?ack=1", d.http)).await.unwrap();
    let frame = format!(
        r#"[{{"ts":{T0},"agent":"A1","state":"Talking"}},{{"ts":{T0},"agent":"A2","state":"idle","team":5}},"x"]"#
    );
    ws.send(Message::text(frame)).await.unwrap();
    ws.send(Message::text(format!(r#"{{"ts":{T0},"agent":"A3","state":"idle"}}"#))).await.unwrap();
    let mut acks = Vec::new();
    while acks.len() < 2 {
        let m = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next()).await.unwrap().unwrap().unwrap();
        acks.push(serde_json::from_str::<Value>(m.to_text().unwrap()).unwrap());
    }
    assert_eq!((&acks[0]["ack"], &acks[0]["applied"], &acks[0]["invalid"]), (&json!(1), &json!(1), &json!(2)));
    assert_eq!(
        errors(&acks[0]),
        vec![
            err(1, "invalid", "bad_type", "team must be a string, got 5"),
            err(2, "invalid", "not_object", r#"an event must be a JSON object, got "x""#),
        ]
    );
    assert_eq!((&acks[1]["ack"], &acks[1]["errors"]), (&json!(2), &json!([])));
    // The refusals are listed with the socket's address, for the operator to find the sender.
    let tokio_tungstenite::MaybeTlsStream::Plain(sock) = ws.get_ref() else { panic!("a plain socket") };
    let me = sock.local_addr().unwrap().to_string();
    let listed = d.get_json("/api/v1/ingest/errors?source=ws").await;
    let peers: Vec<&Value> = listed["errors"].as_array().unwrap().iter().map(|e| &e["peer"]).collect();
    assert_eq!(peers, vec![&json!(me), &json!(me)], "{listed}");
    d.stop().await;
}

/// `GET /api/v1/ingest/errors`: the last refusals per source, newest first, with the
/// input and the sender's address; TCP lines named by their position on the connection
/// (blank lines skipped).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recent_refusals_are_listed_with_their_input() {
    let d = Daemon::start(EVENT_CLOCK).await;
    let mut tcp = tokio::net::TcpStream::connect(d.tcp).await.unwrap();
    let tcp_peer = tcp.local_addr().unwrap().to_string();
    let lines = format!("{{\"ts\":{T0},\"agent\":\"A1\",\"state\":\"idle\"}}\nnot json\n\n{{\"agent\":\"A2\"}}\n");
    tcp.write_all(lines.as_bytes()).await.unwrap();
    tcp.shutdown().await.unwrap();
    d.wait_outcomes(3).await;
    let (_, _) = d.post("/api/v1/events", r#"[{"agent":"A9","state":"idle","team":5}]"#).await;

    let all = d.get_json("/api/v1/ingest/errors").await;
    let list = all["errors"].as_array().unwrap();
    assert_eq!(list.len(), 3, "{all}");
    let strip = |e: &Value| {
        assert!(e["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{e}");
        let mut e = e.clone();
        e.as_object_mut().unwrap().remove("time");
        e
    };
    // Who sent each: the TCP connection's address, and the HTTP client's (its port is
    // reqwest's to choose).
    assert_eq!((&list[1]["peer"], &list[2]["peer"]), (&json!(tcp_peer), &json!(tcp_peer)), "{all}");
    let http_peer: std::net::SocketAddr = list[0]["peer"].as_str().expect("the HTTP sender's address").parse().unwrap();
    assert!(http_peer.ip().is_loopback() && http_peer.port() != tcp.local_addr().unwrap().port(), "{all}");
    let strip = |e: &Value| {
        let mut e = strip(e);
        e.as_object_mut().unwrap().remove("peer");
        e
    };
    assert_eq!(
        strip(&list[0]),
        json!({"source": "http", "index": 0, "outcome": "invalid", "reason": "bad_type",
               "message": "team must be a string, got 5", "input": r#"{"agent":"A9","state":"idle","team":5}"#})
    );
    assert_eq!(
        strip(&list[1]),
        json!({"source": "tcp", "index": 2, "outcome": "invalid", "reason": "missing_field",
               "message": "state is missing", "input": r#"{"agent":"A2"}"#})
    );
    assert_eq!(
        strip(&list[2]),
        json!({"source": "tcp", "index": 1, "outcome": "invalid", "reason": "not_json",
               "message": "not JSON (expected ident at line 1 column 2): not json", "input": "not json"})
    );
    let tcp_only = d.get_json("/api/v1/ingest/errors?source=tcp").await;
    assert_eq!(tcp_only["errors"].as_array().unwrap().len(), 2);
    let r = reqwest::get(d.url("/api/v1/ingest/errors?source=carrier-pigeon")).await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    d.stop().await;
}

/// Only the last 100 per source are kept; the input kept is the first 200 bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_hundred_are_kept_and_inputs_are_cut() {
    let d = Daemon::start(EVENT_CLOCK).await;
    let long = format!(r#"{{"agent":"A1","state":"idle","name":"{}","team":5}}"#, "n".repeat(300));
    let body = format!("[{},{}]", vec!["{\"agent\":\"A1\"}"; 120].join(","), long);
    d.post("/api/v1/events", body).await;
    let all = d.get_json("/api/v1/ingest/errors").await;
    let list = all["errors"].as_array().unwrap();
    assert_eq!(list.len(), 100);
    assert_eq!((&list[0]["index"], &list[0]["reason"]), (&json!(120), &json!("bad_type")));
    assert_eq!(list[0]["input"].as_str().unwrap(), &long[..200]);
    assert_eq!(list[99]["index"], 21);
    d.stop().await;
}

/// The route is a read like the others: behind the viewer token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recent_refusals_need_the_viewer_token() {
    let d = Daemon::start("[auth]\ningest_token = \"in-s3cret\"\nviewer_token = \"v-s3cret\"\n").await;
    let c = reqwest::Client::new();
    let url = d.url("/api/v1/ingest/errors");
    assert_eq!(c.get(&url).send().await.unwrap().status().as_u16(), 401);
    assert_eq!(c.get(&url).bearer_auth("in-s3cret").send().await.unwrap().status().as_u16(), 401);
    let r = c.get(&url).bearer_auth("v-s3cret").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"errors": []}));
    d.stop().await;
}

/// `floorwatch_events_total` counts refused outcomes by reason; applied has no reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_refusals_by_reason() {
    let d = Daemon::start(EVENT_CLOCK).await;
    let body = format!(
        r#"[{{"ts":{T0},"agent":"A1","state":"idle"}},{{"ts":{T0},"agent":"A2","state":"idle","team":5}},{{"ts":{T0},"agent":"A3","state":"idle","team":6}},{{"ts":"yesterday","agent":"A4","state":"idle"}},{{"ts":{T0},"agent":"A1","state":"idle"}}]"#
    );
    d.post("/api/v1/events", body).await;
    let m = d.metrics().await;
    let series = |labels: &str| metric(&m, &format!("floorwatch_events_total{{{labels}}}"));
    assert_eq!(series(r#"source="http",outcome="applied""#), Some(1.0));
    assert_eq!(series(r#"source="http",outcome="invalid",reason="bad_type""#), Some(2.0));
    assert_eq!(series(r#"source="http",outcome="invalid",reason="bad_ts""#), Some(1.0));
    assert_eq!(series(r#"source="http",outcome="duplicate",reason="repeated""#), Some(1.0));
    assert_eq!(series(r#"source="http",outcome="late",reason="too_old""#), Some(0.0));
    assert_eq!(series(r#"source="http",outcome="invalid""#), None, "refused outcomes only by reason");
    d.stop().await;
}
