//! The reproduction, end to end on real daemons (wall clock): a collector forwards
//! its buffer in two POSTs; the alerts equal those of the same events in one POST, and a
//! webhook that was told of alerts that never were gets them `retracted` — and of a
//! resolve taken back before it was sent, nothing.

mod common;
#[path = "common/hooks_receiver.rs"]
#[allow(dead_code)]
mod hooks_receiver;

use std::time::Duration;

use common::Daemon;
use hooks_receiver::Receiver;
use serde_json::{Value, json};

const MIN: i64 = 60_000;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn config(hook: Option<&str>) -> String {
    let mut toml = String::from(
        "[server]\nclock = \"wall\"\n[peak]\nwindows = [\"00:00-24:00\"]\n[alerts.aux_cluster]\nhold_secs = 60\n[alerts.aux_dispersion]\nmin_members = 50\n",
    );
    if let Some(url) = hook {
        toml.push_str(&format!("[[hooks]]\nkind = \"webhook\"\nurl = \"{url}\"\n"));
    }
    toml
}

/// Six agents idle from t0; at t0 + 6 min three go on break; at t0 + 11 min they are back.
/// Cluster: fires t0 + 7 min, resolves t0 + 12 min. No long_aux: 5 minutes of break.
fn events(t0: i64) -> (Vec<Value>, Vec<Value>) {
    let mut first: Vec<Value> =
        (0..6).map(|i| json!({"ts": t0, "agent": format!("A{i}"), "state": "idle", "team": "T1"})).collect();
    first.extend(
        (0..3).map(|i| json!({"ts": t0 + 6 * MIN, "agent": format!("A{i}"), "state": "aux", "reason": "break"})),
    );
    let second = (0..3).map(|i| json!({"ts": t0 + 11 * MIN, "agent": format!("A{i}"), "state": "idle"})).collect();
    (first, second)
}

async fn post(d: &Daemon, events: &[Value]) {
    let (status, body) = d.post("/api/v1/events", serde_json::to_vec(events).unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["applied"].as_u64(), Some(events.len() as u64), "{body}");
}

fn summary(alerts: &Value) -> Vec<(String, String, Value)> {
    alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["kind"].as_str().unwrap().to_string(), a["fired_at"].to_string(), a["resolved_at"].clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buffer_forwarded_in_two_posts_gives_the_alerts_of_one() {
    // 25 minutes ago: long_aux (10 min) would be due by now if the agents never came back.
    let t0 = now_ms() - 25 * MIN;
    let (first, second) = events(t0);
    let rx = Receiver::start().await;
    let late = Daemon::start(&config(Some(&rx.url("/hook")))).await;
    let whole = Daemon::start(&config(None)).await;

    let mut all = first.clone();
    all.extend(second.iter().cloned());
    post(&whole, &all).await;

    post(&late, &first).await;
    // What the daemon can know now: three agents on break for 19 minutes. The hook hears
    // of the cluster and three long_aux alerts before the rest of the buffer arrives.
    let told = rx.wait_for(4, Duration::from_secs(10)).await;
    let kinds: Vec<String> = told.iter().map(|r| r.json()["kind"].as_str().unwrap().to_string()).collect();
    assert_eq!(kinds.iter().filter(|k| *k == "long_aux").count(), 3, "{kinds:?}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    post(&late, &second).await;

    // The store now holds exactly what one POST gives: the cluster from t0 + 7 min to
    // t0 + 12 min, and no long_aux.
    let got = late.get_json("/api/v1/alerts").await;
    let want = whole.get_json("/api/v1/alerts").await;
    assert_eq!(got, want);
    let s = summary(&want);
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(s[0].0, "aux_cluster");
    assert_eq!(s[0].2, json!(floorwatch::time::fmt_ms(t0 + 12 * MIN)));
    let current = |v: Value| v["teams"][0]["current"].clone();
    assert_eq!(current(late.get_json("/api/v1/snapshot").await), current(whole.get_json("/api/v1/snapshot").await));

    // The hook: each long_aux retracted, the cluster resolved where it ended.
    let reqs = rx.wait_for(8, Duration::from_secs(10)).await;
    let bodies: Vec<Value> = reqs.iter().map(|r| r.json()).collect();
    let retracted: Vec<&Value> = bodies.iter().filter(|b| b["retracted"] == true).collect();
    assert_eq!(retracted.len(), 3, "{bodies:#?}");
    assert!(retracted.iter().all(|b| b["kind"] == "long_aux"));
    let resolve = bodies.iter().find(|b| b["kind"] == "aux_cluster" && b["state"] == "resolved").expect("a resolve");
    assert_eq!(resolve["resolved_at"], json!(floorwatch::time::fmt_ms(t0 + 12 * MIN)));
    assert!(bodies.iter().filter(|b| b["retracted"] != true).all(|b| b.get("retracted").is_none()));
    late.stop().await;
    whole.stop().await;
}

/// An agent's break interrupted for no time (idle and back on break at the same
/// millisecond) resolves its `long_aux`, then un-resolves it (docs/alerts.md#timing):
/// the engine tells the resolve, its retraction and the alert firing again in one batch.
/// A webhook that had sent the firing while the resolve still waited in its queue says
/// nothing more: the chat is not told the same alert fires twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolve_taken_back_before_it_was_sent_sends_nothing() {
    let t0 = now_ms() - 25 * MIN;
    let rx = Receiver::start().await;
    let d = Daemon::start(&format!(
        "[server]\nclock = \"wall\"\n[[hooks]]\nkind = \"webhook\"\nurl = \"{}\"\nkinds = [\"long_aux\"]\n",
        rx.url("/hook")
    ))
    .await;
    let on_break = |agent: &str, team: &str, from: i64| {
        [
            json!({"ts": t0, "agent": agent, "state": "idle", "team": team}),
            json!({"ts": from, "agent": agent, "state": "aux", "reason": "break"}),
        ]
    };
    // A1's long_aux (on break since t0 + 1 min) fires; the webhook's answer is held, so
    // whatever is told next waits in the queue.
    rx.hold();
    post(&d, &on_break("A1", "T1", t0 + MIN)).await;
    let fired = rx.wait_for(1, Duration::from_secs(10)).await[0].json();
    assert_eq!((&fired["kind"], &fired["state"]), (&json!("long_aux"), &json!("firing")), "{fired}");
    let t1 = t0 + 20 * MIN;
    post(
        &d,
        &[
            json!({"ts": t1, "agent": "A1", "state": "idle"}),
            json!({"ts": t1, "agent": "A1", "state": "aux", "reason": "break"}),
        ],
    )
    .await;
    let listed = d.get_json("/api/v1/alerts").await;
    assert_eq!(listed["alerts"][0]["id"], fired["id"], "{listed}");
    assert_eq!(listed["alerts"][0]["state"], "firing", "{listed}");
    rx.release();
    // A2's long_aux, told after all that: the next request.
    post(&d, &on_break("A2", "T2", t0 + 2 * MIN)).await;
    let reqs = rx.wait_for(2, Duration::from_secs(10)).await;
    let next = reqs[1].json();
    assert_eq!((&next["agent"], &next["state"]), (&json!("A2"), &json!("firing")), "{next}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let bodies: Vec<Value> = rx.requests().iter().map(|r| r.json()).collect();
    assert_eq!(bodies.len(), 2, "{bodies:#?}");
    d.stop().await;
}

/// An alert that fired a moment ago (within the detectors' commit lag) is listed by
/// `/api/v1/alerts` as by the snapshot: both evaluate up to now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_that_just_fired_is_listed_at_once() {
    let d = Daemon::start(&config(None)).await;
    let t0 = now_ms() - 61_500; // the cluster's hold (60 s) ends 1.5 s ago
    let mut evs: Vec<Value> =
        (0..6).map(|i| json!({"ts": t0 - MIN, "agent": format!("A{i}"), "state": "idle", "team": "T1"})).collect();
    evs.extend((0..3).map(|i| json!({"ts": t0, "agent": format!("A{i}"), "state": "aux", "reason": "break"})));
    post(&d, &evs).await;
    let listed = d.get_json("/api/v1/alerts").await;
    let kinds: Vec<&str> = listed["alerts"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["aux_cluster"], "{listed}");
    assert_eq!(listed["alerts"][0]["fired_at"], json!(floorwatch::time::fmt_ms(t0 + MIN)));
    d.stop().await;
}

/// The snapshot is streamed as it is written (chunked, no length known up front), so a
/// whole floor's JSON is never held whole in the daemon; it is still one JSON document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_snapshot_is_streamed() {
    let d = Daemon::start(&config(None)).await;
    let evs: Vec<Value> =
        (0..3000).map(|i| json!({"agent": format!("A{i}"), "state": "idle", "team": format!("T{}", i % 60)})).collect();
    post(&d, &evs).await;
    let r = reqwest::get(d.url("/api/v1/snapshot")).await.unwrap();
    assert_eq!(r.headers().get("transfer-encoding").map(|v| v.to_str().unwrap()), Some("chunked"));
    assert_eq!(r.headers().get("content-type").map(|v| v.to_str().unwrap()), Some("application/json"));
    let body = r.bytes().await.unwrap();
    assert!(body.len() > 256 * 1024, "more than one chunk: {} bytes", body.len());
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["agents"].as_array().unwrap().len(), 3000);
    d.stop().await;
}
