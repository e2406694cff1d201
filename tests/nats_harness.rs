//! The 3-node NATS test cluster (tests/common/nats.rs) and the nats-server facts the
//! floorwatch cluster design (SPEC §11, docs/cluster.md) relies on, checked against the
//! server the tests install (Debian's nats-server 2.9.10):
//! - a replicated stream loses nothing it acknowledged when its leader is killed with
//!   SIGKILL, and publishes stall for a while meanwhile (the time is printed);
//! - the hook lease: create-if-absent with `Nats-Expected-Last-Subject-Sequence: 0`,
//!   renew by revision, expiry by the stream's `max_age` (how late is printed);
//! - `Nats-Msg-Id` deduplication and the PubAck's `duplicate` flag;
//! - what 2.9 does with stream and consumer fields it does not know (drops them silently).
//!
//! Run with `--nocapture` to see the measured times.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use async_nats::jetstream::stream::{Config as StreamConfig, Stream};
use async_nats::jetstream::{self, Context};
use bytes::Bytes;
use common::nats::NatsCluster;

/// Connects to every node of the cluster (the client fails over between them).
async fn connect(cluster: &NatsCluster) -> (async_nats::Client, Context) {
    let client = async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(2))
        .connect(cluster.urls())
        .await
        .expect("connect to the nats cluster");
    let js = jetstream::ContextBuilder::new()
        .timeout(Duration::from_secs(2))
        .ack_timeout(Duration::from_secs(2))
        .build(client.clone());
    (client, js)
}

/// Creates a stream, retrying for at most 20 s: right after a cluster starts the server
/// can answer "no suitable peers" (insufficient resources) until all peers report in.
async fn create_stream(js: &Context, config: StreamConfig) -> Stream {
    let started = Instant::now();
    loop {
        match js.create_stream(config.clone()).await {
            Ok(stream) => {
                println!("stream {} created after {:?}", config.name, started.elapsed());
                return stream;
            }
            Err(e) if started.elapsed() < Duration::from_secs(20) => {
                println!("create stream {}: {e}; retrying", config.name);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => panic!("cannot create stream {}: {e}", config.name),
        }
    }
}

async fn publish(
    js: &Context,
    subject: &str,
    headers: &HeaderMap,
    payload: &Bytes,
) -> Result<jetstream::publish::PublishAck, PublishError> {
    js.publish_with_headers(subject.to_string(), headers.clone(), payload.clone()).await?.await
}

fn msg_id(id: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("Nats-Msg-Id", id);
    h
}

/// What one acknowledged publish cost: the time from the first attempt to the ack, and the
/// errors of the failed attempts.
struct Acked {
    sequence: u64,
    took: Duration,
    errors: Vec<String>,
}

/// Publishes with the same `Nats-Msg-Id` until acknowledged, for at most `budget`
/// (bounded retries, as floorwatch's ingest does).
async fn publish_until_acked(js: &Context, subject: &str, id: &str, payload: &Bytes, budget: Duration) -> Acked {
    let started = Instant::now();
    let headers = msg_id(id);
    let mut errors = Vec::new();
    loop {
        match publish(js, subject, &headers, payload).await {
            Ok(ack) => return Acked { sequence: ack.sequence, took: started.elapsed(), errors },
            Err(e) => {
                errors.push(format!("{e}"));
                assert!(started.elapsed() < budget, "publish {id} not acknowledged within {budget:?}: {errors:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_are_killed_when_a_test_panics() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let cluster = NatsCluster::start().await;
        tx.send(cluster.pids()).unwrap();
        panic!("intended: a failing test, to check that its servers die with it");
    });
    assert!(task.await.unwrap_err().is_panic());
    let pids = rx.await.unwrap();
    assert_eq!(pids.len(), 3);
    for pid in pids {
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "nats-server {pid} outlived the panic");
    }
}

/// Every message of the stream: Nats-Msg-Id -> (sequence, payload).
async fn read_all(stream: &Stream) -> HashMap<String, Vec<(u64, Bytes)>> {
    let mut all: HashMap<String, Vec<(u64, Bytes)>> = HashMap::new();
    for (id, seq, payload, _) in read_stored(stream).await {
        all.entry(id).or_default().push((seq, payload));
    }
    all
}

/// Every message of the stream with its id and the time the stream stored it.
async fn read_stored(stream: &Stream) -> Vec<(String, u64, Bytes, async_nats::datetime::DateTime)> {
    let last = stream.get_info().await.expect("stream info").state.last_sequence;
    let mut all = Vec::new();
    for seq in 1..=last {
        let m = stream.get_raw_message(seq).await.unwrap_or_else(|e| panic!("message {seq}: {e}"));
        let id = m.headers.get("Nats-Msg-Id").map(|v| v.as_str().to_string()).unwrap_or_default();
        all.push((id, m.sequence, m.payload, m.time));
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_of_the_stream_leader_loses_no_acknowledged_message() {
    let mut cluster = NatsCluster::start().await;
    let (_client, js) = connect(&cluster).await;
    let stream = create_stream(
        &js,
        StreamConfig {
            name: "HARNESS".into(),
            subjects: vec!["fw.in.>".into()],
            num_replicas: 3,
            ..Default::default()
        },
    )
    .await;
    let info = stream.get_info().await.unwrap();
    assert_eq!(info.config.num_replicas, 3, "the server kept 3 replicas");

    let subject = "fw.in.sh-01.batch";
    let payload = |i: usize| Bytes::from(format!("{{\"batch\":{i}}}"));
    let mut acked: Vec<(String, u64)> = Vec::new();
    let started = Instant::now();
    for i in 0..200 {
        let id = format!("b{i}");
        let a = publish_until_acked(&js, subject, &id, &payload(i), Duration::from_secs(20)).await;
        if !a.errors.is_empty() {
            println!("right after the stream's creation, publish {id} took {:?}: {:?}", a.took, a.errors);
        }
        acked.push((id, a.sequence));
    }
    println!("200 publishes after the stream's creation took {:?}", started.elapsed());
    // Read back what was acknowledged, in order.
    let all = read_all(&stream).await;
    for (i, (id, seq)) in acked.iter().enumerate() {
        assert_eq!(all[id], vec![(*seq, payload(i))], "message {id}");
    }
    // The stored time (the replicas' receipt time), as the first leader gives it.
    let stored_before = read_stored(&stream).await;

    // Kill the stream's leader and keep publishing.
    let leader = stream.get_info().await.unwrap().cluster.and_then(|c| c.leader).expect("a stream leader");
    let victim = cluster.index_of(&leader).expect("leader is one of ours");
    cluster.kill9(victim);
    let killed_at = Instant::now();
    let mut stall = Duration::ZERO;
    let mut errors: Vec<String> = Vec::new();
    for i in 200..400 {
        let id = format!("b{i}");
        let a = publish_until_acked(&js, subject, &id, &payload(i), Duration::from_secs(30)).await;
        stall = stall.max(a.took);
        for e in a.errors {
            if !errors.contains(&e) {
                errors.push(e);
            }
        }
        acked.push((id, a.sequence));
    }
    println!(
        "kill -9 of stream leader {leader}: longest publish stall {stall:?}; 200 publishes took {:?}; errors seen: {errors:?}",
        killed_at.elapsed()
    );
    let new_leader = stream.get_info().await.unwrap().cluster.and_then(|c| c.leader).expect("a new leader");
    assert_ne!(new_leader, leader, "a new stream leader was elected");
    // The new leader's copy has the same stored times: the time is part of what is
    // replicated, so replicas reading from any node agree on receipt times.
    let stored_after = read_stored(&stream).await;
    assert_eq!(stored_after[..stored_before.len()], stored_before[..], "stored times survive a leader change");
    // The new leader still knows the ids of the old one's duplicate window.
    let resent = publish(&js, subject, &msg_id("b0"), &payload(0)).await.expect("a resend after the leader change");
    assert!(resent.duplicate, "a resend of b0 after the leader change is a duplicate");
    assert_eq!(resent.sequence, acked[0].1);

    // The node comes back with its store and catches up.
    cluster.restart(victim).await;
    for i in 400..450 {
        let id = format!("b{i}");
        let a = publish_until_acked(&js, subject, &id, &payload(i), Duration::from_secs(30)).await;
        acked.push((id, a.sequence));
    }
    wait_node_has_messages(&cluster, victim, "HARNESS", acked.len() as u64).await;

    // Nothing acknowledged is lost, and the retries (same Nats-Msg-Id) stored nothing twice.
    let all = read_all(&stream).await;
    for (i, (id, seq)) in acked.iter().enumerate() {
        assert_eq!(all.get(id), Some(&vec![(*seq, payload(i))]), "acknowledged message {id}");
    }
    assert_eq!(all.len(), acked.len(), "no message besides the acknowledged ones");
}

/// Without a majority (two of three nodes gone: the minority side of a partition) the
/// stream neither stores nor serves; how publishes fail, and how soon they resume once a
/// second node is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_majority_publishes_fail_and_resume_when_a_node_returns() {
    let mut cluster = NatsCluster::start().await;
    let (_client, js) = connect(&cluster).await;
    let stream = create_stream(
        &js,
        StreamConfig { name: "MAJORITY".into(), subjects: vec!["mj.>".into()], num_replicas: 3, ..Default::default() },
    )
    .await;
    let body = Bytes::from_static(b"{}");
    let first = publish(&js, "mj.a", &msg_id("m0"), &body).await.expect("publish with all nodes up");
    let leader = stream.get_info().await.unwrap().cluster.and_then(|c| c.leader).unwrap();
    let gone = cluster.index_of(&leader).unwrap();
    let other = (gone + 1) % 3;
    cluster.kill9(gone);
    cluster.kill9(other);
    // Every attempt fails, each within the 2 s ack timeout; nothing is stored.
    let mut errors: Vec<String> = Vec::new();
    let attempts_started = Instant::now();
    for _ in 0..3 {
        let t = Instant::now();
        let r = publish(&js, "mj.a", &msg_id("m1"), &body).await;
        let e = r.expect_err("no publish is acknowledged without a majority");
        assert!(t.elapsed() < Duration::from_secs(5), "a publish waited {:?}", t.elapsed());
        let e = format!("{e} (after {:?})", t.elapsed());
        println!("without a majority: {e}");
        errors.push(e);
    }
    assert!(attempts_started.elapsed() < Duration::from_secs(15));
    assert!(stream.get_info().await.is_err(), "the stream's info needs a leader too");
    // A second node back: publishes resume (the same id: stored once).
    cluster.restart(other).await;
    let back = Instant::now();
    let a = publish_until_acked(&js, "mj.a", "m1", &body, Duration::from_secs(30)).await;
    let mut kinds = a.errors.clone();
    kinds.dedup();
    println!(
        "a node back: the first publish was acknowledged after {:?}, {} failed attempts before: {kinds:?}",
        back.elapsed(),
        a.errors.len()
    );
    assert_eq!(a.sequence, first.sequence + 1, "nothing was stored while there was no majority");
}

/// Waits until node `i` reports `want` messages in `stream` on its monitoring port
/// (`/jsz?streams=true`): the restarted replica caught up.
async fn wait_node_has_messages(cluster: &NatsCluster, i: usize, stream: &str, want: u64) {
    let url = format!("{}/jsz?accounts=true&streams=true", cluster.monitor(i));
    let started = Instant::now();
    let mut seen = None;
    while started.elapsed() < Duration::from_secs(20) {
        if let Ok(r) = reqwest::get(&url).await
            && let Ok(jsz) = r.json::<serde_json::Value>().await
        {
            let streams = jsz["account_details"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|a| a["stream_detail"].as_array().cloned().unwrap_or_default());
            for s in streams {
                if s["name"] == stream {
                    seen = s["state"]["messages"].as_u64();
                }
            }
            if seen == Some(want) {
                println!("restarted node caught up ({want} messages) after {:?}", started.elapsed());
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("node {i} holds {seen:?} messages of {stream}, want {want}\n{}", cluster.log_tail(i));
}

/// Publishes a lease record on `subject` only if the subject's last sequence is `expected`
/// (0: only if absent).
async fn lease_put(js: &Context, subject: &str, expected: u64, cursor: &str) -> Result<u64, PublishError> {
    let mut h = HeaderMap::new();
    h.insert("Nats-Expected-Last-Subject-Sequence", expected.to_string().as_str());
    publish(js, subject, &h, &Bytes::from(cursor.to_string())).await.map(|a| a.sequence)
}

fn is_wrong_last_sequence(r: &Result<u64, PublishError>) -> bool {
    matches!(r, Err(e) if e.kind() == PublishErrorKind::WrongLastSequence)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_key_create_if_absent_renew_by_revision_and_expiry_by_max_age() {
    let cluster = NatsCluster::start().await;
    let (_client, js) = connect(&cluster).await;
    let max_age = Duration::from_secs(2);
    let stream = create_stream(
        &js,
        StreamConfig {
            name: "FLOORWATCH_LEASE".into(),
            subjects: vec!["fw.lease.>".into()],
            max_messages_per_subject: 1,
            max_age,
            num_replicas: 3,
            ..Default::default()
        },
    )
    .await;
    let info = stream.get_info().await.unwrap();
    assert_eq!((info.config.max_messages_per_subject, info.config.max_age), (1, max_age));
    // Left unset, the duplicate window becomes max_age; set larger than max_age, refused.
    assert_eq!(info.config.duplicate_window, max_age);
    let refused = js
        .create_stream(StreamConfig {
            name: "LEASE_WIDE_WINDOW".into(),
            subjects: vec!["wide.>".into()],
            max_age,
            duplicate_window: Duration::from_secs(120),
            num_replicas: 3,
            ..Default::default()
        })
        .await;
    println!("a duplicate window larger than max_age: {:?}", refused.as_ref().err().map(|e| e.to_string()));
    assert!(refused.is_err(), "2.9 refuses a duplicate window larger than max_age");
    let key = "fw.lease.hooks";

    // (a) create if absent: the first wins, a second create is refused.
    let rev1 = lease_put(&js, key, 0, "replica-a cursor=0").await.expect("create the lease");
    let second = lease_put(&js, key, 0, "replica-b cursor=0").await;
    assert!(is_wrong_last_sequence(&second), "a second create must be refused: {:?}", second.err());
    // Renew by revision; a stale revision is refused.
    let rev2 = lease_put(&js, key, rev1, "replica-a cursor=7").await.expect("renew by revision");
    assert!(rev2 > rev1);
    let stale = lease_put(&js, key, rev1, "replica-b cursor=0").await;
    assert!(is_wrong_last_sequence(&stale), "a stale renew must be refused: {:?}", stale.err());
    let renewed_at = Instant::now();
    let last = stream.get_last_raw_message_by_subject(key).await.expect("the lease record");
    assert_eq!((last.sequence, last.payload), (rev2, Bytes::from("replica-a cursor=7")));
    let info = stream.get_info().await.unwrap();
    assert_eq!(info.state.messages, 1, "max_msgs_per_subject = 1 keeps only the last record");

    // (b) not renewed, the record expires by max_age and another replica can create it.
    let taken = loop {
        let r = lease_put(&js, key, 0, "replica-b cursor=7").await;
        match r {
            Ok(rev) => break rev,
            Err(ref e) if e.kind() == PublishErrorKind::WrongLastSequence => {
                assert!(renewed_at.elapsed() < max_age * 4, "the lease never expired");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("unexpected error taking the lease: {e}"),
        }
    };
    let after = renewed_at.elapsed();
    println!(
        "lease expired and was re-created {after:?} after the last renewal (max_age {max_age:?}, {:?} late)",
        after.saturating_sub(max_age)
    );
    assert!(taken > rev2);
    assert!(after >= max_age - Duration::from_millis(200), "expired early: {after:?}");
}

/// The lease when the lease stream's own leader dies: renewals stall like any publish
/// while a new leader is elected. Measures how long the holder could not renew, and
/// whether its record outlived the stall (then a renewal by revision continues) or
/// expired meanwhile (then it must take the lease again like anyone else).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_renewals_across_a_kill9_of_the_lease_streams_leader() {
    let mut cluster = NatsCluster::start().await;
    let (_client, js) = connect(&cluster).await;
    let lease_secs = Duration::from_secs(3);
    let stream = create_stream(
        &js,
        StreamConfig {
            name: "FLOORWATCH_LEASE".into(),
            subjects: vec!["fw.lease.>".into()],
            max_messages_per_subject: 1,
            max_age: lease_secs,
            num_replicas: 3,
            ..Default::default()
        },
    )
    .await;
    let key = "fw.lease.hooks";
    let mut rev = lease_put(&js, key, 0, "holder cursor=0").await.expect("create the lease");
    let leader = stream.get_info().await.unwrap().cluster.and_then(|c| c.leader).expect("a leader");
    cluster.kill9(cluster.index_of(&leader).unwrap());
    let killed = Instant::now();
    // The holder renews every 200 ms until it has renewed 3 times after a failure.
    let (mut last_ok, mut longest_gap) = (Instant::now(), Duration::ZERO);
    let (mut failed, mut ok_after, mut expired, mut stored_unacked) = (false, 0, false, false);
    while !(failed && ok_after >= 3) {
        assert!(killed.elapsed() < Duration::from_secs(40), "the lease stream never recovered");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let renewed = match lease_put(&js, key, rev, "holder").await {
            Ok(next) => Some(next),
            Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => {
                // Either a renewal that timed out was stored after all (the record is
                // ours, at a newer revision), or the record expired during the stall.
                match stream.get_last_raw_message_by_subject(key).await {
                    Ok(m) if m.payload == "holder" => {
                        stored_unacked = true;
                        Some(m.sequence)
                    }
                    _ => {
                        expired = true;
                        Some(lease_put(&js, key, 0, "holder").await.expect("an expired lease can be created again"))
                    }
                }
            }
            Err(_) => None,
        };
        match renewed {
            Some(next) => {
                rev = next;
                longest_gap = longest_gap.max(last_ok.elapsed());
                last_ok = Instant::now();
                if failed {
                    ok_after += 1;
                }
            }
            None => failed = true,
        }
    }
    println!(
        "kill -9 of the lease stream's leader {leader}: longest time without a renewal {longest_gap:?} \
         (lease {lease_secs:?}); expired meanwhile: {expired}; a timed-out renewal was stored: {stored_unacked}"
    );
    assert!(longest_gap > Duration::from_millis(500), "the leader's death stalled renewals");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msg_id_dedupe_and_the_duplicate_flag() {
    let cluster = NatsCluster::start().await;
    let (_client, js) = connect(&cluster).await;
    let window = Duration::from_secs(2);
    let stream = create_stream(
        &js,
        StreamConfig {
            name: "DEDUPE".into(),
            subjects: vec!["dd.>".into()],
            duplicate_window: window,
            num_replicas: 3,
            ..Default::default()
        },
    )
    .await;
    let body = Bytes::from_static(b"{}");
    let first = publish(&js, "dd.a", &msg_id("x"), &body).await.unwrap();
    let again = publish(&js, "dd.a", &msg_id("x"), &body).await.unwrap();
    assert!(!first.duplicate);
    assert!(again.duplicate, "the second publish of x is flagged duplicate");
    assert_eq!(again.sequence, first.sequence, "a duplicate's ack carries the original's sequence");
    // The window is per stream, not per subject: the same id on another subject is a duplicate.
    let other_subject = publish(&js, "dd.b", &msg_id("x"), &body).await.unwrap();
    assert!(other_subject.duplicate, "Nats-Msg-Id dedupe spans the whole stream");
    let y = publish(&js, "dd.a", &msg_id("y"), &body).await.unwrap();
    assert!(!y.duplicate);
    assert_eq!(y.sequence, first.sequence + 1);
    assert_eq!(stream.get_info().await.unwrap().state.messages, 2);

    // After the window the same id is stored again.
    let started = Instant::now();
    loop {
        let r = publish(&js, "dd.a", &msg_id("x"), &body).await.unwrap();
        if !r.duplicate {
            println!("Nats-Msg-Id x accepted again {:?} after the window ({window:?}) began", started.elapsed());
            break;
        }
        assert!(started.elapsed() < window * 4, "the duplicate window never ended");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stream.get_info().await.unwrap().state.messages, 3);
}

/// A raw JetStream API request; the JSON answer.
async fn api(client: &async_nats::Client, subject: &str, body: serde_json::Value) -> serde_json::Value {
    let m = client.request(subject.to_string(), Bytes::from(body.to_string())).await.expect("JetStream API request");
    serde_json::from_slice(&m.payload).expect("JSON answer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_version_and_fields_it_does_not_know() {
    let cluster = NatsCluster::start().await;
    let (client, js) = connect(&cluster).await;
    let version = client.server_info().version;
    let info = api(&client, "$JS.API.INFO", serde_json::json!({})).await;
    println!("server {version}; $JS.API.INFO api = {}", info["api"]);
    if !version.starts_with("2.9.") {
        // The facts below are those of 2.9; a newer server keeps these fields.
        println!("not a 2.9 server: field checks skipped");
        return;
    }
    assert!(info["api"].get("level").is_none(), "2.9 has no JetStream API level: {info}");
    // An ordinary stream first, so the meta group is known to be ready.
    create_stream(
        &js,
        StreamConfig { name: "READY".into(), subjects: vec!["ready".into()], num_replicas: 3, ..Default::default() },
    )
    .await;

    let created = api(
        &client,
        "$JS.API.STREAM.CREATE.FUTURE",
        serde_json::json!({
            "name": "FUTURE", "subjects": ["fut.>"], "num_replicas": 3,
            "storage": "file", "retention": "limits", "discard": "old",
            "max_consumers": -1, "max_msgs": -1, "max_bytes": -1, "max_msgs_per_subject": -1,
            "max_age": 0, "max_msg_size": -1, "duplicate_window": 120_000_000_000u64,
            // 2.10+
            "metadata": {"owner": "floorwatch"}, "compression": "s2", "first_seq": 100,
            "subject_transform": {"src": "fut.>", "dest": "moved.>"},
            "consumer_limits": {"max_ack_pending": 10},
            // 2.11+
            "allow_msg_ttl": true, "subject_delete_marker_ttl": 5_000_000_000u64,
        }),
    )
    .await;
    assert!(created.get("error").is_none(), "2.9 accepts the request: {created}");
    let config = &created["config"];
    for field in [
        "metadata",
        "compression",
        "first_seq",
        "subject_transform",
        "consumer_limits",
        "allow_msg_ttl",
        "subject_delete_marker_ttl",
    ] {
        assert!(config.get(field).is_none(), "2.9 dropped {field} without a word: {config}");
    }
    println!("2.9 answered a stream create with 2.10+/2.11+ fields with success and this config: {config}");
    // The dropped first_seq shows: the first message gets sequence 1, not 100.
    let ack = publish(&js, "fut.a", &HeaderMap::new(), &Bytes::from_static(b"x")).await.unwrap();
    assert_eq!(ack.sequence, 1);

    // A consumer with filter_subjects (2.10) becomes a consumer of the whole stream.
    let consumer = api(
        &client,
        "$JS.API.CONSUMER.CREATE.FUTURE.c1",
        serde_json::json!({"stream_name": "FUTURE", "config": {
            "name": "c1", "durable_name": "c1", "ack_policy": "explicit", "deliver_policy": "all",
            "filter_subjects": ["fut.a", "fut.b"],
        }}),
    )
    .await;
    println!("2.9 answered a consumer create with filter_subjects: {consumer}");
    assert!(consumer.get("error").is_none(), "{consumer}");
    assert!(consumer["config"].get("filter_subjects").is_none(), "{consumer}");
    assert!(consumer["config"].get("filter_subject").is_none(), "no filter at all: {consumer}");
}
