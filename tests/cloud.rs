//! The pushed sources end to end (`connect`, `twilio`): a real daemon whose `[[sources]]`
//! take deliveries at `POST /api/v1/sources/<name>`, fed the documented payloads
//! (tests/fixtures/connect/, tests/fixtures/twilio/) as Firehose and TaskRouter send them;
//! the snapshot, the outcome counts and the source's health are read back.

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::{Daemon, metric, metric_sum};
use floorwatch::sources::twilio;
use serde_json::{Value, json};

const KEY: &str = "fh-access-key-0001";
const TOKEN: &str = "twilio-auth-token-0001";
const PUBLIC_URL: &str = "https://fw.example.com/api/v1/sources/twilio";

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("tests/fixtures/{path}")).unwrap()
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A Firehose HTTP endpoint delivery of `records` (each one Kinesis record's text).
fn firehose(request_id: &str, records: &[String]) -> String {
    let records: Vec<Value> = records.iter().map(|r| json!({ "data": b64(r) })).collect();
    json!({ "requestId": request_id, "timestamp": 1558810532022u64, "records": records }).to_string()
}

async fn post(d: &Daemon, path: &str, headers: &[(&str, &str)], body: impl Into<reqwest::Body>) -> (u16, String) {
    let mut r = reqwest::Client::new().post(d.url(path)).body(body);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    // A body over the limit may be answered before it is all sent: the client may see the
    // connection close instead of the 413 (status 0 here); the server has counted it.
    match r.send().await {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(_) => (0, String::new()),
    }
}

/// POSTs a Firehose delivery with the access key `key` and request id `id`.
async fn deliver(d: &Daemon, source: &str, key: &str, id: &str, body: String) -> (u16, Value) {
    let (status, text) = post(
        d,
        &format!("/api/v1/sources/{source}"),
        &[
            ("content-type", "application/json"),
            ("x-amz-firehose-access-key", key),
            ("x-amz-firehose-request-id", id),
            ("x-amz-firehose-protocol-version", "1.0"),
        ],
        body,
    )
    .await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn agent<'a>(snap: &'a Value, id: &str) -> &'a Value {
    snap["agents"].as_array().unwrap().iter().find(|a| a["agent"] == id).unwrap_or_else(|| panic!("no agent {id}"))
}

fn close(v: &Value, expected: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - expected).abs() < 1e-6)
}

/// The documented ACW example: the contact connected (the ENDED record's previous snapshot,
/// at its StateStartTimestamp), ENDED (ACW starts), then cleared (ACW ends).
fn acw_records() -> Vec<String> {
    let ended: Value = serde_json::from_str(&fixture("connect/acw-ended.json")).unwrap();
    let cleared = fixture("connect/acw-cleared.json");
    let mut connected = ended.clone();
    connected["CurrentAgentSnapshot"] = ended["PreviousAgentSnapshot"].clone();
    connected["EventId"] = "EventId-0".into();
    connected["EventTimestamp"] = "2019-05-25T18:55:21.011Z".into();
    vec![connected.to_string(), ended.to_string(), cleared]
}

const CONNECT_TOML: &str = r#"
[server]
clock = "event"
[limits]
max_body_bytes = 65536
[[sources]]
kind = "connect"
access_key = "fh-access-key-0001"
[[sources]]
kind = "connect"
name = "lambda"
access_key = "lambda-key"
stale_after_secs = 5
"#;

#[tokio::test]
async fn connect_firehose_deliveries_map_the_documented_events() {
    let d = Daemon::start(CONNECT_TOML).await;
    let recs = acw_records();
    // Nothing delivered yet: down.
    assert_eq!(metric(&d.metrics().await, "floorwatch_source_up{source=\"connect\"}"), Some(0.0));

    let (status, answer) = deliver(&d, "connect", KEY, "req-1", firehose("req-1", &recs[..2])).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["requestId"], "req-1");
    assert!(answer["timestamp"].as_i64().is_some_and(|t| t > 1_700_000_000_000), "{answer}");
    assert!(answer.get("errorMessage").is_none(), "{answer}");
    let (status, _) = deliver(&d, "connect", KEY, "req-2", firehose("req-2", &recs[2..])).await;
    assert_eq!(status, 200);
    // Firehose retries req-1 (same request id, same records): counted duplicate, once each.
    let (status, answer) = deliver(&d, "connect", KEY, "req-1", firehose("req-1", &recs[..2])).await;
    assert_eq!((status, answer["requestId"].as_str()), (200, Some("req-1")));

    let snap = d.wait_outcomes(5).await;
    assert_eq!(snap["ingest"]["applied"], 3, "{}", snap["ingest"]);
    assert_eq!(snap["ingest"]["duplicate"], 2, "{}", snap["ingest"]);
    let a = agent(&snap, "(Removed)");
    assert_eq!((a["state"].as_str(), a["team"].as_str()), (Some("idle"), Some("Basic Routing Profile")));
    assert_eq!(a["name"], "(Removed) (Removed)");
    assert_eq!(a["since"], "2019-05-25T18:55:32.022Z");
    let w = &a["windows"]["15m"];
    // Talking 18:55:21.011 to 27.017, ACW (ENDED) to 32.022: the documented 5.005 s.
    assert!(close(&w["talking_s"], 6.006) && close(&w["acw_s"], 5.005), "{w}");
    assert!(close(&w["contacts"], 1.0) && close(&w["aht_s"], 11.011), "{w}");
    assert!(close(&w["idle_s"], 0.0), "{w}");

    let m = d.metrics().await;
    assert_eq!(metric(&m, "floorwatch_source_up{source=\"connect\"}"), Some(1.0));
    assert_eq!(metric(&m, "floorwatch_source_requests_total{outcome=\"accepted\",source=\"connect\"}"), Some(3.0));
    assert_eq!(metric(&m, "floorwatch_events_total{source=\"connect\",outcome=\"applied\"}"), Some(3.0));
    assert_eq!(
        metric_sum(&m, "floorwatch_events_total{source=\"connect\",outcome=\"duplicate\",reason=\"repeated\"}"),
        Some(2.0)
    );
    d.stop().await;
}

#[tokio::test]
async fn connect_forwarded_json_array_and_push_health() {
    let d = Daemon::start(CONNECT_TOML).await;
    let readyz = reqwest::get(d.url("/readyz")).await.unwrap().text().await.unwrap();
    assert!(readyz.contains("source lambda (connect): down"), "{readyz}");
    // A forwarding function posts the agent events as a JSON array, with the key as a
    // bearer token; the answer is the ingest answer.
    let body = format!("[{}]", fixture("connect/sample-heartbeat.json"));
    let (status, text) = post(
        &d,
        "/api/v1/sources/lambda",
        &[("content-type", "application/json"), ("authorization", "Bearer lambda-key")],
        body.clone(),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!((answer["applied"].as_u64(), answer["invalid"].as_u64()), (Some(1), Some(0)), "{answer}");
    let snap = d.wait_outcomes(1).await;
    let a = agent(&snap, "aestest");
    assert_eq!(
        (a["state"].as_str(), a["team"].as_str(), a["name"].as_str()),
        (Some("idle"), Some("AgentEventStreamProfile"), Some("AgentEventStreamTest Agent"))
    );
    assert_eq!(a["since"], "2019-08-13T20:58:44.031Z");
    assert_eq!(metric(&d.metrics().await, "floorwatch_source_up{source=\"lambda\"}"), Some(1.0));
    let readyz = reqwest::get(d.url("/readyz")).await.unwrap().text().await.unwrap();
    assert!(readyz.contains("source lambda (connect): up"), "{readyz}");
    // The same array again: the EventId was seen.
    let (_, text) = post(
        &d,
        "/api/v1/sources/lambda",
        &[("content-type", "application/json"), ("authorization", "Bearer lambda-key")],
        body,
    )
    .await;
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["duplicate"], 1, "{answer}");
    assert_eq!(answer["errors"][0]["reason"], "repeated", "{answer}");
    // stale_after_secs = 5 (so that the "up" checks above have seconds to spare on a
    // loaded machine): no delivery for longer, and the source is down.
    let mut down = false;
    for _ in 0..120 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if metric(&d.metrics().await, "floorwatch_source_up{source=\"lambda\"}") == Some(0.0) {
            down = true;
            break;
        }
    }
    assert!(down, "the source never went down after stale_after_secs");
    let board = d.get_json("/api/v1/board").await;
    assert!(board.to_string().contains("lambda"), "the board names the source that is down");
    d.stop().await;
}

#[tokio::test]
async fn connect_refuses_bad_keys_and_counts_bad_input() {
    let d = Daemon::start(CONNECT_TOML).await;
    let recs = acw_records();
    let good = firehose("req-9", &recs[..1]);
    // Wrong and missing key: 401 in Firehose's format, nothing applied, counted.
    let (status, answer) = deliver(&d, "connect", "wrong", "req-9", good.clone()).await;
    assert_eq!(status, 401);
    assert_eq!(answer["requestId"], "req-9");
    assert!(answer["errorMessage"].as_str().is_some_and(|m| m.contains("wrong")), "{answer}");
    let (status, text) =
        post(&d, "/api/v1/sources/connect", &[("content-type", "application/json")], good.clone()).await;
    assert_eq!(status, 401, "{text}");
    // The ingest token is not the key: the lambda source's key does not open this one.
    let (status, _) = deliver(&d, "connect", "lambda-key", "req-9", good.clone()).await;
    assert_eq!(status, 401);
    // Garbage: 400, one invalid (not_json).
    let (status, answer) = deliver(&d, "connect", KEY, "req-10", "{garbage".into()).await;
    assert_eq!((status, answer["requestId"].as_str()), (400, Some("req-10")));
    // Not a Firehose delivery: 400, missing_field.
    let (status, _) = deliver(&d, "connect", KEY, "req-11", json!({"requestId": "x"}).to_string()).await;
    assert_eq!(status, 400);
    // Bad base64 in one record: the delivery is taken (200), the record is invalid.
    let mut bad = serde_json::from_str::<Value>(&firehose("req-12", &recs[..1])).unwrap();
    bad["records"].as_array_mut().unwrap().push(json!({"data": "%%% not base64 %%%"}));
    let (status, answer) = deliver(&d, "connect", KEY, "req-12", bad.to_string()).await;
    assert_eq!(status, 200, "{answer}");
    // Oversized: 413 in Firehose's format, counted too_large.
    let big = firehose("req-13", &vec![recs[0].clone(); 40]);
    assert!(big.len() > 65536);
    let (status, answer) = deliver(&d, "connect", KEY, "req-13", big).await;
    assert!(status == 413 || status == 0, "{status} {answer}");
    if status == 413 {
        assert!(answer["errorMessage"].as_str().is_some_and(|m| m.contains("max_body_bytes")), "{answer}");
    }
    // Compressed: 415, said why.
    let (status, text) = post(
        &d,
        "/api/v1/sources/connect",
        &[("content-type", "application/json"), ("x-amz-firehose-access-key", KEY), ("content-encoding", "gzip")],
        good.clone(),
    )
    .await;
    assert!(status == 415 && text.contains("GZIP"), "{status} {text}");
    // A name no source has: 404, counted.
    let (status, _) = deliver(&d, "nosuch", KEY, "req-14", good).await;
    assert_eq!(status, 404);

    let snap = d.wait_outcomes(5).await;
    assert_eq!(snap["ingest"]["applied"], 1, "{}", snap["ingest"]);
    assert_eq!(snap["ingest"]["invalid"], 4, "{}", snap["ingest"]);
    let m = d.metrics().await;
    let req = |outcome: &str| {
        metric(&m, &format!("floorwatch_source_requests_total{{outcome=\"{outcome}\",source=\"connect\"}}"))
    };
    assert_eq!(req("unauthorized"), Some(3.0));
    assert_eq!(req("bad_request"), Some(2.0));
    assert_eq!(req("too_large"), Some(1.0));
    assert_eq!(req("unsupported"), Some(1.0));
    assert_eq!(req("accepted"), Some(1.0));
    assert_eq!(
        metric(&m, "floorwatch_source_requests_total{outcome=\"unknown_source\",source=\"unknown\"}"),
        Some(1.0)
    );
    let inv = |reason: &str| {
        metric(&m, &format!("floorwatch_events_total{{source=\"connect\",outcome=\"invalid\",reason=\"{reason}\"}}"))
    };
    assert_eq!((inv("not_json"), inv("missing_field"), inv("too_large")), (Some(2.0), Some(1.0), Some(1.0)));
    // Refusals are listed with their reasons; the key never appears anywhere.
    let errors = d.get_json("/api/v1/ingest/errors?source=connect").await.to_string();
    assert!(errors.contains("not base64"), "{errors}");
    assert!(!errors.contains(KEY) && !m.contains(KEY));
    d.stop().await;
}

/// The ingest token neither opens nor is needed on a pushed source's route: the platform's
/// own key is.
#[tokio::test]
async fn the_ingest_token_is_not_the_platforms_key() {
    let d = Daemon::start(&format!("[auth]\ningest_token = \"ingest-tok\"\n{CONNECT_TOML}")).await;
    let body = firehose("req-1", &acw_records()[..1]);
    let json = ("content-type", "application/json");
    let (status, _) =
        post(&d, "/api/v1/sources/connect", &[json, ("authorization", "Bearer ingest-tok")], body.clone()).await;
    assert_eq!(status, 401);
    let (status, _) = deliver(&d, "connect", KEY, "req-1", body).await;
    assert_eq!(status, 200);
    // The events endpoint still wants the ingest token.
    let (status, _) = post(&d, "/api/v1/events", &[json, ("x-amz-firehose-access-key", KEY)], "[]").await;
    assert_eq!(status, 401);
    d.stop().await;
}

/// A daemon like [`Daemon::start`]'s, but with its journal in `dir`.
async fn start_with_journal(toml: &str, dir: &std::path::Path) -> Daemon {
    let toml = format!("{toml}\n[journal]\ndir = {:?}\nenabled = true\n", dir.to_str().unwrap());
    let file = floorwatch::config::FileConfig::parse(&toml, "test").unwrap();
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (h, t) = (http.local_addr().unwrap(), tcp.local_addr().unwrap());
    let shutdown = tokio_util::sync::CancellationToken::new();
    let handle = tokio::spawn(floorwatch::server::run(
        file,
        floorwatch::server::Listeners { http, tcp },
        floorwatch::server::ServeOptions { demo: false, base_dir: ".".into() },
        shutdown.clone(),
    ));
    Daemon { http: h, tcp: t, shutdown, handle }
}

/// A delivery answered 200 is journaled and synced: after a restart the floor is there, and
/// Firehose sending it again (the dedupe window is empty then) applies nothing twice.
#[tokio::test]
async fn connect_deliveries_survive_a_restart_and_a_late_retry_applies_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let recs = acw_records();
    let d = start_with_journal(CONNECT_TOML, dir.path()).await;
    let (status, answer) = deliver(&d, "connect", KEY, "req-1", firehose("req-1", &recs)).await;
    assert_eq!(status, 200, "{answer}");
    d.stop().await;

    let d = start_with_journal(CONNECT_TOML, dir.path()).await;
    let snap = d.wait_outcomes(3).await;
    let a = agent(&snap, "(Removed)");
    assert_eq!(a["state"], "idle");
    assert!(close(&a["windows"]["15m"]["acw_s"], 5.005), "{}", a["windows"]["15m"]);
    let (status, _) = deliver(&d, "connect", KEY, "req-1", firehose("req-1", &recs)).await;
    assert_eq!(status, 200);
    let snap = d.wait_outcomes(6).await;
    let i = &snap["ingest"];
    assert_eq!(
        (i["applied"].as_u64(), i["late"].as_u64(), i["duplicate"].as_u64()),
        (Some(3), Some(2), Some(1)),
        "{i}"
    );
    assert!(close(&agent(&snap, "(Removed)")["windows"]["15m"]["contacts"], 1.0));
    d.stop().await;
}

/// A TaskRouter callback as Twilio posts it to `path` (signed for `url`).
async fn callback(d: &Daemon, path: &str, url: &str, token: &str, body: &str) -> (u16, String) {
    let params: Vec<(String, String)> =
        form_urlencoded::parse(body.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let sig = twilio::sign(token, url, &params);
    post(
        d,
        path,
        &[("content-type", "application/x-www-form-urlencoded"), ("x-twilio-signature", &sig)],
        body.to_string(),
    )
    .await
}

const TWILIO_TOML: &str = r#"
[server]
clock = "event"
[limits]
max_body_bytes = 8192
[[sources]]
kind = "twilio"
auth_token = "twilio-auth-token-0001"
public_url = "https://fw.example.com/api/v1/sources/twilio"
available_activities = ["Available"]
"#;

#[tokio::test]
async fn twilio_callbacks_make_states_contacts_and_calls() {
    let d = Daemon::start(TWILIO_TOML).await;
    let path = "/api/v1/sources/twilio";
    for line in fixture("twilio/callbacks.txt").lines() {
        let (status, text) = callback(&d, path, PUBLIC_URL, TOKEN, line).await;
        assert_eq!(status, 204, "{text} for {line}");
    }
    let snap = d.get_json("/api/v1/snapshot").await;
    assert_eq!(snap["now"], "2026-11-23T09:20:00.000Z");
    let (w1, w2) = ("WK00000000000000000000000000000001", "WK00000000000000000000000000000002");
    let a = agent(&snap, w1);
    assert_eq!(
        (a["state"].as_str(), a["name"].as_str(), a["team"].as_str()),
        (Some("offline"), Some("Li Na"), Some("T07"))
    );
    let t = &a["windows"]["today"];
    // Available 09:00, talking 09:01:05-09:04:05, wrap-up to 09:04:35, available to 09:20.
    assert!(close(&t["talking_s"], 180.0) && close(&t["acw_s"], 30.0), "{t}");
    assert!(close(&t["idle_s"], 65.0 + 925.0) && close(&t["aux_s"], 0.0), "{t}");
    assert!(close(&t["contacts"], 1.0) && close(&t["aht_s"], 210.0), "{t}");
    let b = agent(&snap, w2);
    assert_eq!((b["state"].as_str(), b["name"].as_str()), (Some("idle"), Some("Omar H")));
    let t = &b["windows"]["today"];
    // Available 09:00:30 (its reservation rescinded: still available), Break 09:02-09:10.
    assert!(close(&t["idle_s"], 90.0 + 600.0) && close(&t["aux_s"], 480.0), "{t}");
    assert!(close(&t["talking_s"], 0.0) && close(&t["contacts"], 0.0), "{t}");
    let q = snap["queues"].as_array().unwrap().iter().find(|q| q["queue"] == "Support").expect("queue Support");
    let w = &q["windows"]["60m"];
    assert_eq!(
        (w["offered"].as_u64(), w["answered"].as_u64(), w["abandoned"].as_u64()),
        (Some(2), Some(1), Some(1)),
        "{w}"
    );
    assert!(close(&w["asa_s"], 5.0), "{w}");
    assert_eq!(q["current"]["waiting"], 0);
    // 18 callbacks; the ones that change nothing (task.created, reservation.created...) are
    // `ignored` requests, not events.
    let m = d.metrics().await;
    let req = |o: &str| metric(&m, &format!("floorwatch_source_requests_total{{outcome=\"{o}\",source=\"twilio\"}}"));
    assert_eq!(req("accepted").unwrap() + req("ignored").unwrap(), 18.0);
    assert_eq!(snap["ingest"]["invalid"], 0, "{}", snap["ingest"]);
    assert_eq!(metric(&m, "floorwatch_source_up{source=\"twilio\"}"), Some(1.0));
    d.stop().await;
}

/// A Twilio callback is a few kilobytes, read before its signature (which covers it) is
/// checked: the route reads at most 1 MiB whatever `limits.max_body_bytes`, where anyone
/// could make the daemon hold 16 MiB a request (the memory audit: 20 stalled posts, 328 MB).
#[tokio::test]
async fn twilio_reads_at_most_a_mebibyte_before_the_signature() {
    let d = Daemon::start(&TWILIO_TOML.replace("max_body_bytes = 8192", "max_body_bytes = 16777216")).await;
    let path = "/api/v1/sources/twilio";
    let form = ("content-type", "application/x-www-form-urlencoded");
    let (status, text) = post(&d, path, &[form], format!("a={}", "x".repeat(2 << 20))).await;
    assert!(status == 413 || status == 0, "{status} {text}");
    if status == 413 {
        assert!(text.contains("1048576"), "{text}");
    }
    let m = d.metrics().await;
    assert_eq!(metric(&m, "floorwatch_source_requests_total{outcome=\"too_large\",source=\"twilio\"}"), Some(1.0));
    // Half a mebibyte is read, and refused for its signature.
    assert_eq!(post(&d, path, &[form], format!("a={}", "x".repeat(512 << 10))).await.0, 403);
    d.stop().await;
}

#[tokio::test]
async fn twilio_refuses_bad_signatures_and_counts_bad_input() {
    let d = Daemon::start(TWILIO_TOML).await;
    let path = "/api/v1/sources/twilio";
    let line = fixture("twilio/callbacks.txt").lines().next().unwrap().to_string();
    // Wrong token, a URL other than the configured one, tampered body, no signature: 403.
    assert_eq!(callback(&d, path, PUBLIC_URL, "another-token", &line).await.0, 403);
    assert_eq!(callback(&d, path, "https://evil.example.com/api/v1/sources/twilio", TOKEN, &line).await.0, 403);
    let params: Vec<(String, String)> =
        form_urlencoded::parse(line.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let sig = twilio::sign(TOKEN, PUBLIC_URL, &params);
    let tampered = line.replace("Available", "Break");
    let form = ("content-type", "application/x-www-form-urlencoded");
    assert_eq!(post(&d, path, &[form, ("x-twilio-signature", &sig)], tampered).await.0, 403);
    assert_eq!(post(&d, path, &[form], line.clone()).await.0, 403);
    // The query string Twilio called with is part of what it signed.
    let (status, _) = callback(&d, &format!("{path}?site=sh"), &format!("{PUBLIC_URL}?site=sh"), TOKEN, &line).await;
    assert_eq!(status, 204);
    // Signed over the URL with the default port written out (Twilio has done both): taken
    // (the same callback again: nothing changes, `ignored`).
    let with_port = PUBLIC_URL.replace("example.com/", "example.com:443/");
    let (status, _) = callback(&d, &format!("{path}?site=sh"), &format!("{with_port}?site=sh"), TOKEN, &line).await;
    assert_eq!(status, 204);
    // JSON instead of a form: 415. Oversized: 413. A signed callback without EventType: 400,
    // one invalid event.
    assert_eq!(post(&d, path, &[("content-type", "application/json")], "{}").await.0, 415);
    let big = format!("{line}&Padding={}", "x".repeat(9000));
    assert!(matches!(callback(&d, path, PUBLIC_URL, TOKEN, &big).await.0, 413 | 0));
    let (status, text) = callback(&d, path, PUBLIC_URL, TOKEN, "WorkerSid=WK1&TimestampMs=1795424400000").await;
    assert!(status == 400 && text.contains("EventType"), "{status} {text}");

    let snap = d.wait_outcomes(2).await;
    assert_eq!((snap["ingest"]["applied"].as_u64(), snap["ingest"]["invalid"].as_u64()), (Some(1), Some(1)));
    let m = d.metrics().await;
    let req = |o: &str| metric(&m, &format!("floorwatch_source_requests_total{{outcome=\"{o}\",source=\"twilio\"}}"));
    assert_eq!(req("unauthorized"), Some(4.0));
    assert_eq!(req("unsupported"), Some(1.0));
    assert_eq!(req("too_large"), Some(1.0));
    assert_eq!(req("bad_request"), Some(1.0));
    assert_eq!(req("accepted"), Some(1.0));
    assert_eq!(req("ignored"), Some(1.0));
    assert!(!m.contains(TOKEN));
    d.stop().await;
}

/// Bodies read before their sender is known (Twilio's signature covers the body) draw from
/// a pool of their own, an eighth of `limits.max_body_bytes_in_flight` (at least 1 MiB): an
/// unsigned sender holding all of it gets the next anonymous callback refused (503), while
/// a signed-in events upload still goes through.
#[tokio::test]
async fn anonymous_bodies_cannot_shut_out_the_ingest() {
    use tokio::io::AsyncWriteExt;
    let d = Daemon::start(&TWILIO_TOML.replace(
        "max_body_bytes = 8192",
        "max_body_bytes = 1048576\nmax_body_bytes_in_flight = 8388608\n[roster]\nmax_bytes = 1048576",
    ))
    .await;
    // A callback that declares a mebibyte and sends all but its last bytes: it holds the
    // anonymous pool (1 MiB).
    let mut slow = tokio::net::TcpStream::connect(d.http).await.unwrap();
    let head = "POST /api/v1/sources/twilio HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/x-www-form-urlencoded\r\n\
                content-length: 1048576\r\n\r\n";
    slow.write_all(format!("{head}a={}", "x".repeat(1_048_000)).as_bytes()).await.unwrap();
    d.bodies_charged(1_000_000.0).await;
    let form = ("content-type", "application/x-www-form-urlencoded");
    let (status, text) = post(&d, "/api/v1/sources/twilio", &[form], format!("a={}", "x".repeat(4096))).await;
    assert_eq!(status, 503, "another anonymous body waits for the pool: {text}");
    // The ingest's budget is untouched.
    let (status, answer) =
        d.post("/api/v1/events", r#"[{"ts":1764000000000,"agent":"A1","state":"idle","team":"T"}]"#).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["applied"], 1);
    drop(slow);
    d.stop().await;
}
