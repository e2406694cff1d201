//! The `genesys` source end to end: a real daemon whose `[[sources]]` entry points at a
//! fake Genesys Cloud (warp, on loopback): the OAuth token endpoint, queues and their
//! members (paged), presence definitions, users with presence and routing status,
//! notification channels and subscriptions, and the channels' WebSockets, which stream the
//! notifications of tests/fixtures/genesys/ (timestamps `@T+n@` are n seconds after a base
//! ten minutes ago), send heartbeats and `v2.system.socket_closing`, and expire in 3 s so
//! that renewal runs several times while the test watches.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use common::{Daemon, metric};
use futures_util::{SinkExt, StreamExt};
use warp::Filter;
use warp::http::HeaderMap;

const A: &str = "2f8a5c1e-0b7d-4e3a-9c61-7d2e4f8a1b01";
const B: &str = "2f8a5c1e-0b7d-4e3a-9c61-7d2e4f8a1b02";
const C: &str = "2f8a5c1e-0b7d-4e3a-9c61-7d2e4f8a1b03";
const QUEUE: &str = "7c3e9d20-4b1a-4f6e-8d52-0a9b8c7d6e51";
const CLIENT: &str = "fw-client";
const SECRET: &str = "fw-secret-do-not-log";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("tests/fixtures/genesys/{name}")).unwrap()
}

/// `@T+n@` → the base plus n seconds, RFC 3339.
fn dated(text: &str, base_ms: i64) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("@T+") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 3..];
        let end = after.find('@').unwrap();
        let secs: i64 = after[..end].parse().unwrap();
        out.push_str(&floorwatch::time::fmt_ms(base_ms + secs * 1000));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[derive(Default)]
struct Seen {
    tokens: usize,
    bad_basic: usize,
    unauthorized: usize,
    channels: usize,
    /// Topics per channel id.
    subscriptions: HashMap<String, Vec<String>>,
    unsubscribed: Vec<String>,
    sockets: usize,
    member_pages: usize,
    /// `GET /api/v2/conversations/{id}` (calls read again after a reconnect).
    conversation_reads: usize,
    /// Every Authorization header value the fake saw (to check secrets are headers only).
    user_queries: usize,
}

#[derive(Clone)]
struct Fake {
    addr: std::net::SocketAddr,
    seen: Arc<Mutex<Seen>>,
    /// Closes every open WebSocket when notified.
    drop_all: Arc<tokio::sync::Notify>,
}

struct Script {
    base_ms: i64,
    /// The first token issued is refused by the API (401).
    revoke_first: bool,
    /// Seconds until a channel expires.
    expires_secs: i64,
    /// Frames per WebSocket connection (0-based); later ones get heartbeats only.
    streams: Vec<String>,
}

fn json(v: &str) -> warp::http::Response<Bytes> {
    warp::http::Response::builder().header("content-type", "application/json").body(Bytes::from(v.to_string())).unwrap()
}

fn status(code: u16) -> warp::http::Response<Bytes> {
    warp::http::Response::builder().status(code).body(Bytes::from_static(b"{\"message\":\"no\"}")).unwrap()
}

impl Fake {
    async fn start(script: Script) -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let drop_all = Arc::new(tokio::sync::Notify::new());
        let script = Arc::new(script);
        let (s, sc) = (seen.clone(), script.clone());
        let api = warp::any()
            .and(warp::method())
            .and(warp::path::full())
            .and(warp::query::raw().or(warp::any().map(String::new)).unify())
            .and(warp::header::headers_cloned())
            .and(warp::body::bytes())
            .map(move |method: warp::http::Method, path: warp::path::FullPath, query: String, headers: HeaderMap, body: Bytes| {
                let mut seen = s.lock().unwrap();
                let path = path.as_str().to_string();
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                if path == "/oauth/token" {
                    let basic = format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT}:{SECRET}"))
                    );
                    if auth != basic || body.as_ref() != b"grant_type=client_credentials" {
                        seen.bad_basic += 1;
                        return status(401);
                    }
                    seen.tokens += 1;
                    return json(&format!(
                        r#"{{"access_token":"tok-{}","token_type":"bearer","expires_in":86399}}"#,
                        seen.tokens
                    ));
                }
                if !auth.starts_with("Bearer tok-") || (sc.revoke_first && auth == "Bearer tok-1") {
                    seen.unauthorized += 1;
                    return status(401);
                }
                let q: Vec<(String, String)> = url_pairs(&query);
                let param = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
                match (method.as_str(), path.as_str()) {
                    ("GET", "/api/v2/routing/queues") => {
                        // `name` matches by prefix, as Genesys does.
                        let name = param("name").unwrap_or_default();
                        let mut e = Vec::new();
                        for (id, n) in [(QUEUE, "Support"), ("7c3e9d20-4b1a-4f6e-8d52-0a9b8c7d6e52", "Support Gold")] {
                            if n.starts_with(&name) {
                                e.push(format!(r#"{{"id":"{id}","name":"{n}"}}"#));
                            }
                        }
                        json(&format!(r#"{{"entities":[{}],"pageSize":100,"pageNumber":1,"pageCount":1}}"#, e.join(",")))
                    }
                    ("GET", p) if p == format!("/api/v2/routing/queues/{QUEUE}/members") => {
                        // Two a page whatever was asked: paging must be followed.
                        seen.member_pages += 1;
                        let page: usize = param("pageNumber").and_then(|p| p.parse().ok()).unwrap_or(1);
                        let all = [(A, "Ana Agent"), (B, "Ben Break"), (C, "Cai Offline")];
                        let e: Vec<String> = all
                            .iter()
                            .skip((page - 1) * 2)
                            .take(2)
                            .map(|(id, n)| {
                                format!(r#"{{"id":"{id}","name":"{n}","user":{{"id":"{id}","name":"{n}","state":"active"}},"ringNumber":1,"joined":true,"memberBy":"user"}}"#)
                            })
                            .collect();
                        json(&format!(r#"{{"entities":[{}],"pageSize":2,"pageNumber":{page},"total":3,"pageCount":2}}"#, e.join(",")))
                    }
                    ("GET", p) if p.starts_with("/api/v2/conversations/") => {
                        seen.conversation_reads += 1;
                        if p.ends_with("c1a7e0b2-9d4f-4e61-8b3a-5f2c1d0e9a09") {
                            json(&dated(&fixture("conversation-c9.json"), sc.base_ms))
                        } else {
                            status(404)
                        }
                    }
                    ("GET", "/api/v2/presencedefinitions") => {
                        // One a page (the fixture's three): every page must be read, or
                        // Ben's "Coffee break" (the second) is only "Break".
                        let page: usize = param("pageNumber").and_then(|p| p.parse().ok()).unwrap_or(1);
                        let mut all: serde_json::Value = serde_json::from_str(&fixture("presencedefinitions.json")).unwrap();
                        let entities = all["entities"].as_array().unwrap().clone();
                        all["entities"] = serde_json::json!(entities.get(page - 1).into_iter().collect::<Vec<_>>());
                        all["pageSize"] = 1.into();
                        all["pageNumber"] = page.into();
                        all["pageCount"] = entities.len().into();
                        json(&all.to_string())
                    }
                    ("GET", "/api/v2/users") => {
                        seen.user_queries += 1;
                        let ids: Vec<String> = q.iter().filter(|(k, _)| k == "id").map(|(_, v)| v.clone()).collect();
                        assert!(q.iter().any(|(k, v)| k == "expand" && v == "routingStatus"), "{query}");
                        let all: serde_json::Value = serde_json::from_str(&dated(&fixture("users.json"), sc.base_ms)).unwrap();
                        let e: Vec<&serde_json::Value> =
                            all["entities"].as_array().unwrap().iter().filter(|u| ids.contains(&u["id"].as_str().unwrap().to_string())).collect();
                        json(&serde_json::json!({ "entities": e, "pageCount": 1 }).to_string())
                    }
                    ("POST", "/api/v2/notifications/channels") => {
                        seen.channels += 1;
                        let id = format!("streaming-0-fake{}", seen.channels);
                        let expires = floorwatch::time::fmt_ms(floorwatch::core::wall_ms() + sc.expires_secs * 1000);
                        json(&format!(
                            r#"{{"connectUri":"ws://{addr}/channels/{id}","id":"{id}","expires":"{expires}"}}"#
                        ))
                    }
                    ("PUT", p) if p.starts_with("/api/v2/notifications/channels/") && p.ends_with("/subscriptions") => {
                        let id = p.split('/').nth(5).unwrap().to_string();
                        let topics: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
                        let topics: Vec<String> = topics.iter().map(|t| t["id"].as_str().unwrap().to_string()).collect();
                        let answer = serde_json::json!({ "entities": topics.iter().map(|t| serde_json::json!({"id": t})).collect::<Vec<_>>() });
                        seen.subscriptions.insert(id, topics);
                        json(&answer.to_string())
                    }
                    ("DELETE", p) if p.ends_with("/subscriptions") => {
                        seen.unsubscribed.push(p.split('/').nth(5).unwrap().to_string());
                        status(204)
                    }
                    _ => status(404),
                }
            });
        let (s, sc, d) = (seen.clone(), script.clone(), drop_all.clone());
        let ws = warp::path!("channels" / String).and(warp::ws()).map(move |id: String, ws: warp::ws::Ws| {
            let (s, sc, d) = (s.clone(), sc.clone(), d.clone());
            ws.on_upgrade(move |mut socket| async move {
                let n = {
                    let mut seen = s.lock().unwrap();
                    assert!(seen.subscriptions.contains_key(&id), "connected to {id} before subscribing");
                    seen.sockets += 1;
                    seen.sockets - 1
                };
                if let Some(stream) = sc.streams.get(n) {
                    for line in stream.lines().filter(|l| !l.trim().is_empty()) {
                        if socket.send(warp::ws::Message::text(dated(line, sc.base_ms))).await.is_err() {
                            return;
                        }
                    }
                }
                let heartbeat = r#"{"topicName":"channel.metadata","eventBody":{"message":"WebSocket Heartbeat"}}"#;
                loop {
                    tokio::select! {
                        _ = d.notified() => {
                            let _ = socket.close().await;
                            return;
                        }
                        m = socket.next() => match m {
                            Some(Ok(m)) if m.is_close() => return,
                            Some(Ok(_)) => {}
                            _ => return,
                        },
                        _ = tokio::time::sleep(Duration::from_millis(300)) => {
                            if socket.send(warp::ws::Message::text(heartbeat)).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            })
        });
        tokio::spawn(warp::serve(ws.or(api)).incoming(listener).run());
        Fake { addr, seen, drop_all }
    }

    fn config(&self, secret: &str) -> String {
        format!(
            "[[sources]]\nkind = \"genesys\"\napi_base = \"http://{a}\"\nlogin_base = \"http://{a}/\"\nclient_id = \"{CLIENT}\"\nclient_secret = \"{secret}\"\nqueues = [\"Support\"]\n",
            a = self.addr
        )
    }
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn agent<'a>(snap: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    snap["agents"].as_array().unwrap().iter().find(|a| a["agent"] == id).unwrap_or(&serde_json::Value::Null)
}

/// Polls the snapshot until `ok` holds (or panics with the last one after 30 s).
async fn wait_for(d: &Daemon, what: &str, ok: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let mut last = serde_json::Value::Null;
    for _ in 0..300 {
        last = d.get_json("/api/v1/snapshot").await;
        if ok(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never {what}: {last:#}");
}

async fn wait_metric(d: &Daemon, series: &str, ok: impl Fn(f64) -> bool) -> f64 {
    for _ in 0..300 {
        if let Some(v) = metric(&d.metrics().await, series)
            && ok(v)
        {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{series} never as expected: {:?}", metric(&d.metrics().await, series));
}

#[tokio::test]
async fn a_floor_through_notifications_with_renewals() {
    let base_ms = (floorwatch::core::wall_ms() - 600_000) / 1000 * 1000;
    let fake = Fake::start(Script {
        base_ms,
        revoke_first: true,
        expires_secs: 3,
        streams: vec![fixture("stream-1.jsonl"), fixture("stream-2.jsonl")],
    })
    .await;
    let d = Daemon::start(&fake.config(SECRET)).await;
    let snap = wait_for(&d, "C online after a renewal", |s| agent(s, C)["state"] == "idle").await;

    // Ana: idle, 60 s talk, 15 s after-call work, idle again: one contact of 75 s.
    let a = agent(&snap, A);
    assert_eq!(
        (a["state"].as_str(), a["name"].as_str(), a["team"].as_str()),
        (Some("idle"), Some("Ana Agent"), Some("Support"))
    );
    assert_eq!(a["since"].as_str().unwrap(), floorwatch::time::fmt_ms(base_ms + 80_000));
    let w = &a["windows"]["15m"];
    assert_eq!(w["talking_s"].as_f64(), Some(60.0), "{w}");
    assert_eq!(w["acw_s"].as_f64(), Some(15.0), "{w}");
    assert_eq!(w["contacts"].as_u64(), Some(1), "{w}");
    assert_eq!(w["aht_s"].as_f64(), Some(75.0), "{w}");
    // Ben: on the organisation's "Coffee break" presence from the start, idle at +120 s.
    let b = agent(&snap, B);
    assert_eq!(b["state"], "idle");
    assert_eq!(b["windows"]["15m"]["aux_s"].as_f64(), Some(120.0));
    assert_eq!(b["since"].as_str().unwrap(), floorwatch::time::fmt_ms(base_ms + 120_000));
    // Cai: offline from the start, idle at +200 s (the state read over the API at each
    // renewal is older than the notification and changes nothing).
    let c = agent(&snap, C);
    assert_eq!(c["windows"]["15m"]["offline_s"].as_f64(), Some(200.0));
    assert_eq!(c["since"].as_str().unwrap(), floorwatch::time::fmt_ms(base_ms + 200_000));

    // Let a few more renewals run: nothing is applied twice.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let snap = d.get_json("/api/v1/snapshot").await;
    let i = &snap["ingest"];
    assert_eq!(
        (i["applied"].as_u64(), i["duplicate"].as_u64(), i["late"].as_u64()),
        // 8 agent events, 4 call events.
        (Some(12), Some(0), Some(0)),
        "{i}"
    );
    assert_eq!(i["invalid"].as_u64(), Some(2), "{i}");
    let errors = d.get_json("/api/v1/ingest/errors?source=genesys").await.to_string();
    assert!(errors.contains("not_json") && errors.contains("unmapped"), "{errors}");
    // The queue's calls: one answered by Ana after 5 s, one abandoned after 12 s.
    let q = &snap["queues"][0];
    assert_eq!(q["queue"], "Support", "{}", snap["queues"]);
    let w = &q["windows"]["15m"];
    assert_eq!(
        ["offered", "answered", "abandoned", "left", "asa_s"].map(|k| w[k].as_f64()),
        [2.0, 1.0, 1.0, 0.0, 5.0].map(Some),
        "{w}"
    );
    assert_eq!(q["current"]["waiting"], 0);

    {
        let seen = fake.seen.lock().unwrap();
        // The first token was refused by the API: a new one was fetched, once.
        assert_eq!((seen.unauthorized, seen.bad_basic), (1, 0));
        assert!(seen.tokens == 2, "tokens {}", seen.tokens);
        assert!(seen.member_pages >= 2 && seen.member_pages % 2 == 0, "member pages {}", seen.member_pages);
        // Renewed by socket_closing and by expiry; each channel subscribed to the queue's
        // topic and both topics of every member; the old channels unsubscribed.
        assert!(seen.channels >= 3 && seen.sockets >= 3, "channels {} sockets {}", seen.channels, seen.sockets);
        for topics in seen.subscriptions.values() {
            assert_eq!(topics.len(), 7, "{topics:?}");
            assert_eq!(topics[0], format!("v2.routing.queues.{QUEUE}.conversations"));
            for u in [A, B, C] {
                assert!(
                    topics.contains(&format!("v2.users.{u}.activity"))
                        && topics.contains(&format!("v2.users.{u}.conversations"))
                );
            }
        }
        assert!(seen.unsubscribed.len() >= seen.channels - 2, "{:?}", seen.unsubscribed);
        // No reconnect: the calls were not read again.
        assert_eq!(seen.conversation_reads, 0);
    }

    let m = d.metrics().await;
    assert_eq!(metric(&m, "floorwatch_source_up{source=\"genesys\"}"), Some(1.0));
    assert_eq!(metric(&m, "floorwatch_source_reconnects_total{source=\"genesys\"}"), Some(0.0));
    assert_eq!(metric(&m, "floorwatch_source_call_events_total{event=\"queued\",source=\"genesys\"}"), Some(2.0));
    assert!(!m.contains(SECRET) && !m.contains("tok-"));
    let ready = reqwest::get(d.url("/readyz")).await.unwrap().text().await.unwrap();
    assert!(ready.contains("source genesys (genesys): up"), "{ready}");
    d.stop().await;
}

#[tokio::test]
async fn a_dropped_websocket_reconnects() {
    let base_ms = (floorwatch::core::wall_ms() - 600_000) / 1000 * 1000;
    // A caller waits in the queue (+300 s); it hangs up (+318 s) while the socket is down.
    let fake = Fake::start(Script {
        base_ms,
        revoke_first: false,
        expires_secs: 86_400,
        streams: vec![fixture("stream-drop.jsonl")],
    })
    .await;
    let d = Daemon::start(&fake.config(SECRET)).await;
    wait_for(&d, "the initial states and the waiting call", |s| {
        agent(s, B)["state"] == "aux" && s["queues"][0]["current"]["waiting"] == 1
    })
    .await;
    wait_metric(&d, "floorwatch_source_up{source=\"genesys\"}", |v| v == 1.0).await;
    let snap = d.get_json("/api/v1/snapshot").await;
    assert_eq!(agent(&snap, B)["reason"], "Coffee break");
    assert_eq!(agent(&snap, C)["state"], "offline");

    // Every open socket closes (notified again until the source has noticed).
    for _ in 0..100 {
        fake.drop_all.notify_waiters();
        if metric(&d.metrics().await, "floorwatch_source_reconnects_total{source=\"genesys\"}").unwrap_or(0.0) >= 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_metric(&d, "floorwatch_source_reconnects_total{source=\"genesys\"}", |v| v >= 1.0).await;
    wait_metric(&d, "floorwatch_source_up{source=\"genesys\"}", |v| v == 1.0).await;
    {
        let seen = fake.seen.lock().unwrap();
        assert!(seen.channels >= 2 && seen.sockets >= 2, "channels {} sockets {}", seen.channels, seen.sockets);
        assert_eq!(seen.tokens, 1, "the token is kept across a reconnect");
    }
    // The waiting call was read again: abandoned after 18 s, as it happened.
    let snap = wait_for(&d, "the call ended", |s| s["queues"][0]["current"]["waiting"] == 0).await;
    let w = &snap["queues"][0]["windows"]["15m"];
    assert_eq!([&w["offered"], &w["abandoned"]], [1, 1].map(serde_json::Value::from).each_ref(), "{w}");
    assert!(fake.seen.lock().unwrap().conversation_reads >= 1);
    // The states read again after the reconnect are the same: nothing applied twice
    // (3 agents, the call queued and abandoned).
    assert_eq!(snap["ingest"]["applied"].as_u64(), Some(5), "{}", snap["ingest"]);
    d.stop().await;
}

#[tokio::test]
async fn a_refused_secret_keeps_the_source_down() {
    let fake = Fake::start(Script { base_ms: 0, revoke_first: false, expires_secs: 60, streams: vec![] }).await;
    let d = Daemon::start(&fake.config("wrong-secret-value")).await;
    for _ in 0..100 {
        if fake.seen.lock().unwrap().bad_basic >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(fake.seen.lock().unwrap().bad_basic >= 2, "retried with backoff");
    assert_eq!(fake.seen.lock().unwrap().channels, 0);
    let m = d.metrics().await;
    assert_eq!(metric(&m, "floorwatch_source_up{source=\"genesys\"}"), Some(0.0));
    assert!(metric(&m, "floorwatch_source_reconnects_total{source=\"genesys\"}").unwrap() >= 1.0);
    let ready = reqwest::get(d.url("/readyz")).await.unwrap().text().await.unwrap();
    assert!(ready.contains("source genesys (genesys): down"), "{ready}");
    d.stop().await;
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct LogBuf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// Current-thread runtime: the source's tasks run on this thread, under this test's subscriber.
#[tokio::test(flavor = "current_thread")]
async fn the_secret_and_the_tokens_never_reach_the_logs() {
    let logs = LogBuf::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let base_ms = (floorwatch::core::wall_ms() - 600_000) / 1000 * 1000;
    let fake = Fake::start(Script {
        base_ms,
        revoke_first: true,
        expires_secs: 86_400,
        streams: vec![fixture("stream-1.jsonl")],
    })
    .await;
    let d = Daemon::start(&fake.config(SECRET)).await;
    wait_for(&d, "Ana idle after her call", |s| agent(s, A)["windows"]["15m"]["contacts"] == 1).await;
    for _ in 0..100 {
        fake.drop_all.notify_waiters();
        if metric(&d.metrics().await, "floorwatch_source_reconnects_total{source=\"genesys\"}").unwrap_or(0.0) >= 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    d.stop().await;
    drop(_guard);
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("genesys source connected") && logs.contains("genesys source down"), "{logs}");
    assert!(logs.contains("401"), "the refused token is logged, without itself: {logs}");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT}:{SECRET}"));
    for secret in [SECRET, basic.as_str(), "tok-1", "tok-2"] {
        assert!(!logs.contains(secret), "{secret} in the logs");
    }
}
