//! The cluster's failure drill (SPEC §11, docs/cluster.md#runbook): a 3-node nats-server
//! cluster on loopback, two floorwatch replicas (the real binary) and a webhook receiver.
//! A client streams a simulated floor over HTTP and resends every batch that was not
//! acknowledged, while a replica, a NATS node, and both in turn are killed with SIGKILL
//! and restarted. Then: nothing acknowledged is lost, both replicas' snapshots equal
//! `replay` of the events, and each alert reached the webhook exactly once.

mod common;
#[path = "common/hooks_receiver.rs"]
#[allow(dead_code)]
mod hooks_receiver;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::nats::NatsCluster;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_floorwatch");
/// The event clock: `now` is the last event's time on every replica and in `replay`.
const FLOOR: &str = "[server]\nclock = \"event\"\n[floor]\nmax_backfill_secs = 86400\n";

struct Replica {
    name: &'static str,
    http: u16,
    config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Replica {
    fn new(name: &'static str, dir: &std::path::Path, nats: &[String], hook: &str, extra: &str) -> Replica {
        let http = free_port();
        let tcp = free_port();
        let config = dir.join(format!("{name}.toml"));
        let urls: Vec<String> = nats.iter().map(|u| format!("{u:?}")).collect();
        let data = dir.join(format!("{name}-data")).display().to_string();
        std::fs::write(
            &config,
            format!(
                "[server]\nclock = \"event\"\nhttp = \"127.0.0.1:{http}\"\ntcp = \"127.0.0.1:{tcp}\"\n\
                 [floor]\nmax_backfill_secs = 86400\n\
                 [journal]\ndir = {data:?}\nsnapshot_interval_secs = 1\n\
                 [cluster]\nnats = [{urls}]\nsite = \"sh-01\"\n\
                 [[hooks]]\nkind = \"webhook\"\nurl = {hook:?}\n{extra}",
                urls = urls.join(", "),
            ),
        )
        .unwrap();
        let log = dir.join(format!("{name}.log"));
        let mut r = Replica { name, http, config, log, child: None };
        r.spawn();
        r
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let child = Command::new(BIN)
            .args(["serve", "--config"])
            .arg(&self.config)
            .env("FLOORWATCH_LOG", "info,async_nats=warn")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn alive(&self) -> bool {
        self.child.is_some()
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.http)
    }

    /// `POST /api/v1/events` with `body`.
    async fn post_events(&self, body: &str) -> reqwest::Result<reqwest::Response> {
        http()
            .post(self.url("/api/v1/events"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
    }

    async fn metric(&self, name: &str) -> Option<f64> {
        let text = http().get(self.url("/metrics")).send().await.ok()?.text().await.ok()?;
        common::metric(&text, name)
    }

    async fn wait_ready(&self, within: Duration) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(r) = http().get(self.url("/readyz")).send().await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("replica {} not ready\n{}", self.name, self.log_tail());
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(45)).build().unwrap()
}

/// A simulated floor with an aux cluster at peak (alerts to hook), in event time.
fn trace() -> String {
    let out = Command::new(BIN)
        .args(["simulate", "--agents", "60", "--teams", "4", "--queues", "2", "--start", "2026-11-23T09:00:00Z"])
        .args(["--duration", "2h30m", "--no-shifts", "--seed", "5", "--cluster", "T02@09:50:0.4:12"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Posts a batch until a replica acknowledges it, trying the next replica after a failure.
async fn send_acknowledged(replicas: &[Replica], start: &mut usize, batch: &str) -> (u64, u32) {
    let mut tries = 0;
    loop {
        let alive: Vec<&Replica> = replicas.iter().filter(|r| r.alive()).collect();
        let r = alive[*start % alive.len()];
        tries += 1;
        let answer = r.post_events(batch).await;
        if let Ok(a) = answer
            && a.status() == 200
        {
            let v: Value = a.json().await.unwrap();
            return (v["applied"].as_u64().unwrap() + v["duplicate"].as_u64().unwrap(), tries);
        }
        assert!(tries < 40, "no replica acknowledged a batch after {tries} tries");
        *start += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The NATS node that leads the FLOORWATCH stream, by its monitoring endpoint.
async fn stream_leader(nats: &NatsCluster) -> Option<usize> {
    for i in 0..nats.len() {
        let Ok(r) = http().get(format!("{}/jsz?streams=true", nats.monitor(i))).send().await else { continue };
        let Ok(v) = r.json::<Value>().await else { continue };
        for acc in v["account_details"].as_array().into_iter().flatten() {
            for s in acc["stream_detail"].as_array().into_iter().flatten() {
                if s["name"] == "FLOORWATCH"
                    && let Some(leader) = s["cluster"]["leader"].as_str()
                {
                    return nats.index_of(leader);
                }
            }
        }
    }
    None
}

/// Waits until both replicas have applied the same sequence and nothing is pending.
async fn converged(replicas: &[Replica]) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last = (-1.0, 0);
    while Instant::now() < deadline {
        let a = replicas[0].metric("floorwatch_cluster_applied_sequence").await;
        let b = replicas[1].metric("floorwatch_cluster_applied_sequence").await;
        let lag_a = replicas[0].metric("floorwatch_cluster_stream_lag_messages").await;
        let lag_b = replicas[1].metric("floorwatch_cluster_stream_lag_messages").await;
        if let (Some(a), Some(b), Some(0.0), Some(0.0)) = (a, b, lag_a, lag_b)
            && (a - b).abs() <= 2.0
        {
            // Ticks keep coming: compare the views once a second apart agree.
            if last.0 >= 0.0 {
                return a;
            }
            last = (a, 0);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("replicas did not converge\n--- a ---\n{}\n--- b ---\n{}", replicas[0].log_tail(), replicas[1].log_tail());
}

fn same_as_replay(got: &Value, want: &Value, who: &str) {
    for k in ["now", "floor", "teams", "agents", "queues", "alerts"] {
        assert!(
            got[k] == want[k],
            "{who}: `{k}` differs from replay\n got: {}\nwant: {}",
            &got[k].to_string()[..got[k].to_string().len().min(800)],
            &want[k].to_string()[..want[k].to_string().len().min(800)]
        );
    }
    assert_eq!(got["ingest"]["applied"], want["ingest"]["applied"], "{who}: every event applied once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_a_replica_a_nats_node_and_both_nothing_acknowledged_is_lost() {
    let mut nats = NatsCluster::start().await;
    let hooks = hooks_receiver::Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let hook = hooks.url("/hook");
    let mut replicas = [
        Replica::new("a", dir.path(), &nats.urls(), &hook, ""),
        Replica::new("b", dir.path(), &nats.urls(), &hook, ""),
    ];
    for r in &replicas {
        r.wait_ready(Duration::from_secs(60)).await;
    }

    let trace = trace();
    let lines: Vec<&str> = trace.lines().filter(|l| !l.trim().is_empty()).collect();
    let want = common::replay(&trace, FLOOR);
    let fired = want["alerts"].as_array().unwrap().len();
    assert!(fired >= 2, "the floor fires alerts to hook: {fired}");
    let batches: Vec<String> = lines.chunks(120).map(|c| format!("[{}]", c.join(","))).collect();
    let n = batches.len();
    eprintln!("{} events in {n} batches, {fired} alerts in replay", lines.len());

    let mut start = 0usize;
    let mut down: Vec<usize> = Vec::new();
    let mut acknowledged = 0u64;
    let mut resent = 0u32;
    for (i, b) in batches.iter().enumerate() {
        // The drill, at fixed points of the stream.
        if i == n / 8 {
            let first = holder(&replicas, Duration::from_secs(10)).await;
            eprintln!("kill -9 replica {} (the hook holder)", replicas[first].name);
            replicas[first].kill9();
            // Hook delivery fails over (the time is measured by scripts/bench-cluster; here
            // only that it does, well within the drill).
            let killed = Instant::now();
            // Waited for as long as the failover may take (the assertion's 15 s: the wait's
            // own 10 s panicked first, "no replica holds the hook lease", on a loaded CI).
            let other = holder(&replicas, Duration::from_secs(15)).await;
            let took = killed.elapsed();
            eprintln!("replica {} delivers the hooks {took:?} after the kill", replicas[other].name);
            assert!(took < Duration::from_secs(15), "hook delivery failed over in {took:?}");
        }
        if i == 2 * n / 8 {
            for r in replicas.iter_mut().filter(|r| !r.alive()) {
                eprintln!("restart replica {}", r.name);
                r.spawn();
            }
        }
        if i == 3 * n / 8 {
            let leader = stream_leader(&nats).await.expect("a stream leader");
            eprintln!("kill -9 NATS node {leader} (the stream's leader)");
            nats.kill9(leader);
            down.push(leader);
        }
        if i == 4 * n / 8 {
            for k in down.drain(..) {
                nats.restart(k).await;
            }
            eprintln!("NATS node back");
        }
        if i == 5 * n / 8 {
            // Both in turn: a replica, then a NATS node.
            let holder = holder(&replicas, Duration::from_secs(10)).await;
            eprintln!("kill -9 replica {} and then a NATS node", replicas[holder].name);
            replicas[holder].kill9();
            tokio::time::sleep(Duration::from_millis(300)).await;
            let leader = stream_leader(&nats).await.unwrap_or(0);
            nats.kill9(leader);
            down.push(leader);
        }
        if i == 6 * n / 8 {
            for r in replicas.iter_mut().filter(|r| !r.alive()) {
                r.spawn();
            }
            for k in down.drain(..) {
                nats.restart(k).await;
            }
            eprintln!("all back");
        }
        let (got, tries) = send_acknowledged(&replicas, &mut start, b).await;
        acknowledged += got;
        resent += tries - 1;
        start += 1;
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    eprintln!("acknowledged {acknowledged} events, {resent} resends");
    assert_eq!(acknowledged, lines.len() as u64, "every batch was acknowledged once, applied or as a duplicate");
    for r in &replicas {
        r.wait_ready(Duration::from_secs(60)).await;
    }
    converged(&replicas).await;

    // Every replica's state is replay's.
    for r in &replicas {
        let got: Value = http().get(r.url("/api/v1/snapshot")).send().await.unwrap().json().await.unwrap();
        same_as_replay(&got, &want, r.name);
    }

    // Each alert hooked exactly once as a receiver de-duplicating by `webhook-id` sees it
    // (docs/cluster.md, hooks once): its firing, and its resolution if it resolved. A
    // holder killed during a round leaves that round in doubt, and the next holder
    // delivers it again with the same `webhook-id` (the alert id and state): at most one
    // repeat per holder killed (two in this drill), never a pair lost, never one extra.
    let mut expected: BTreeMap<(String, String), usize> = BTreeMap::new();
    for a in want["alerts"].as_array().unwrap() {
        let id = a["id"].as_str().unwrap().to_string();
        expected.insert((id.clone(), "firing".into()), 1);
        if a["state"] == "resolved" {
            expected.insert((id, "resolved".into()), 1);
        }
    }
    let holders_killed = 2;
    let deadline = Instant::now() + Duration::from_secs(30);
    let (hooked, sent) = loop {
        // Per (alert id, state): the distinct `webhook-id`s, and the deliveries.
        let mut ids: BTreeMap<(String, String), std::collections::BTreeSet<String>> = BTreeMap::new();
        let mut sent: BTreeMap<(String, String), usize> = BTreeMap::new();
        for r in hooks.requests() {
            let body = r.json();
            let key = (body["id"].as_str().unwrap_or("").to_string(), body["state"].as_str().unwrap_or("").to_string());
            ids.entry(key.clone()).or_default().insert(r.header("webhook-id").unwrap_or_default());
            *sent.entry(key).or_default() += 1;
        }
        let got: BTreeMap<(String, String), usize> = ids.into_iter().map(|(k, v)| (k, v.len())).collect();
        if got == expected || Instant::now() > deadline {
            break (got, sent);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let repeats: usize = sent.values().map(|n| n - 1).sum();
    eprintln!("{repeats} deliveries repeated (same webhook-id) after the holders' deaths");
    let differ: Vec<String> = expected
        .keys()
        .chain(hooked.keys())
        .filter(|k| expected.get(*k) != hooked.get(*k) || sent.get(*k).is_some_and(|&n| n > 1 + holders_killed))
        .map(|k| {
            format!(
                "{k:?}: hooked {:?} times ({:?} deliveries), expected {:?}",
                hooked.get(k),
                sent.get(k),
                expected.get(k)
            )
        })
        .collect();
    let bodies: Vec<String> = hooks
        .requests()
        .iter()
        .map(|r| r.json())
        .filter(|b| differ.iter().any(|d| d.contains(b["id"].as_str().unwrap_or("-"))))
        .map(|b| b.to_string())
        .collect();
    // On a failure, what the replicas said about the lease and the cursor.
    let said: Vec<String> = replicas
        .iter()
        .flat_map(|r| {
            let log = std::fs::read_to_string(&r.log).unwrap_or_default();
            log.lines().filter(|l| l.contains("cluster:")).map(|l| format!("{}: {l}", r.name)).collect::<Vec<_>>()
        })
        .collect();
    assert!(
        differ.is_empty(),
        "each alert hooked exactly once by webhook-id, at most {holders_killed} repeats:\n{}\n{}\n{}",
        differ.join("\n"),
        bodies.join("\n"),
        said.join("\n")
    );
    let takeovers = replicas[0].metric("floorwatch_cluster_hook_takeovers_total").await.unwrap()
        + replicas[1].metric("floorwatch_cluster_hook_takeovers_total").await.unwrap();
    assert!(takeovers >= 1.0, "hook delivery moved to the other replica at least once");
    for r in replicas.iter_mut() {
        r.kill9();
    }
}

/// Every NATS server's store lost at once (disks replaced, a volume wiped) while both
/// replicas run: the stream is made anew, each replica finds it is not the stream it
/// followed, says so, and reads it from its first message. Every event acknowledged after
/// the loss is applied (the state equals replay of the whole day: what came before was
/// applied already) and the alerts of after the loss reach the hook. Before, the replicas
/// read the new stream from the old one's sequence on, skipping what came first, and no
/// replica made the stream again (senders got 503 until one restarted) — found by an
/// audit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_nats_store_lost_the_replicas_read_the_new_stream_from_its_start() {
    let mut nats = NatsCluster::start().await;
    let hooks = hooks_receiver::Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let hook = hooks.url("/hook");
    let replicas = [
        Replica::new("a", dir.path(), &nats.urls(), &hook, ""),
        Replica::new("b", dir.path(), &nats.urls(), &hook, ""),
    ];
    for r in &replicas {
        r.wait_ready(Duration::from_secs(60)).await;
    }
    let trace = trace();
    let lines: Vec<&str> = trace.lines().filter(|l| !l.trim().is_empty()).collect();
    let want = common::replay(&trace, FLOOR);
    let batches: Vec<String> = lines.chunks(120).map(|c| format!("[{}]", c.join(","))).collect();
    let n = batches.len();
    let mut start = 0usize;
    let mut acknowledged = 0u64;
    for (i, b) in batches.iter().enumerate() {
        if i == n / 4 {
            // Before the floor's aux cluster: its alerts come from the new stream.
            converged(&replicas).await;
            // And after the hooks were told what the old stream's messages fired: those not
            // yet delivered when every store is lost are lost with it (docs/cluster.md; a
            // loaded machine once lagged delivery past the wipe).
            hooked(&hooks, &replicas[0], Duration::from_secs(30)).await;
            let before = replicas[0].metric("floorwatch_cluster_applied_sequence").await.unwrap();
            eprintln!("every NATS store wiped at sequence {before}");
            nats.wipe_and_restart_all().await;
        }
        acknowledged += send_acknowledged(&replicas, &mut start, b).await.0;
        start += 1;
    }
    assert_eq!(acknowledged, lines.len() as u64, "every batch acknowledged once");
    converged(&replicas).await;
    for r in &replicas {
        let got: Value = http().get(r.url("/api/v1/snapshot")).send().await.unwrap().json().await.unwrap();
        same_as_replay(&got, &want, r.name);
        assert_eq!(r.metric("floorwatch_cluster_stream_resets_total").await, Some(1.0), "{}", r.log_tail());
        let log = std::fs::read_to_string(&r.log).unwrap();
        assert!(log.contains("the stream is not the one this replica followed"), "{}", r.log_tail());
    }
    // The alerts of after the loss reach the hook (the holder's cursor started again).
    assert!(!want["alerts"].as_array().unwrap().is_empty());
    hooked(&hooks, &replicas[0], Duration::from_secs(30)).await;
}

/// Waits until every alert replica `r` shows has reached the hook.
async fn hooked(hooks: &hooks_receiver::Receiver, r: &Replica, within: Duration) {
    let v: Value = http().get(r.url("/api/v1/snapshot")).send().await.unwrap().json().await.unwrap();
    let fired: Vec<String> =
        v["alerts"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()).collect();
    let deadline = Instant::now() + within;
    loop {
        let told: std::collections::BTreeSet<String> =
            hooks.requests().iter().map(|r| r.json()["id"].as_str().unwrap_or("").to_string()).collect();
        let missing: Vec<&String> = fired.iter().filter(|id| !told.contains(*id)).collect();
        if missing.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "alerts never hooked: {missing:?}\n{}", r.log_tail());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The replica holding the hook lease (waits up to `within` for one).
async fn holder(replicas: &[Replica], within: Duration) -> usize {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        for (i, r) in replicas.iter().enumerate() {
            if r.alive() && r.metric("floorwatch_cluster_lease_held").await == Some(1.0) {
                return i;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no replica holds the hook lease");
}

/// A replica following two sites shows one floor across them: every agent of both, each
/// event applied once; the sites' own replicas show their site only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_following_two_sites_shows_both() {
    let nats = NatsCluster::start().await;
    let hooks = hooks_receiver::Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let hook = hooks.url("/hook");
    let sh = Replica::new("sh", dir.path(), &nats.urls(), &hook, "");
    let mut bj = Replica::new("bj", dir.path(), &nats.urls(), &hook, "");
    // Sites by config: rewrite bj's site and start the group replica.
    bj.kill9();
    let text = std::fs::read_to_string(&bj.config).unwrap().replace("site = \"sh-01\"", "site = \"bj-02\"");
    std::fs::write(&bj.config, text).unwrap();
    bj.spawn();
    let group = Replica::new("group", dir.path(), &nats.urls(), &hook, "");
    let text = std::fs::read_to_string(&group.config)
        .unwrap()
        .replace("site = \"sh-01\"", "site = \"sh-01\"\nsites = [\"sh-01\", \"bj-02\"]");
    std::fs::write(&group.config, text).unwrap();
    let mut group = group;
    group.kill9();
    group.spawn();
    for r in [&sh, &bj, &group] {
        r.wait_ready(Duration::from_secs(60)).await;
    }
    let event = |agent: &str, team: &str, seq: u32| {
        format!(r#"{{"ts":"2026-11-23T09:00:{seq:02}Z","agent":"{agent}","state":"idle","team":"{team}","seq":{seq}}}"#)
    };
    let sh_events = format!("[{},{}]", event("S1", "SH", 1), event("S2", "SH", 2));
    let bj_events = format!("[{},{},{}]", event("B1", "BJ", 1), event("B2", "BJ", 2), event("B3", "BJ", 3));
    for (r, body) in [(&sh, &sh_events), (&bj, &bj_events)] {
        let a = r.post_events(body).await.unwrap();
        assert_eq!(a.status(), 200);
    }
    let agents = |v: &Value| {
        let mut ids: Vec<String> =
            v["agents"].as_array().unwrap().iter().map(|a| a["agent"].as_str().unwrap().to_string()).collect();
        ids.sort();
        ids
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let g: Value = http().get(group.url("/api/v1/snapshot")).send().await.unwrap().json().await.unwrap();
        if agents(&g).len() == 5 || Instant::now() > deadline {
            assert_eq!(agents(&g), ["B1", "B2", "B3", "S1", "S2"], "the group view holds both sites");
            assert_eq!(g["ingest"]["applied"], 5);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let s: Value = http().get(sh.url("/api/v1/snapshot")).send().await.unwrap().json().await.unwrap();
    let b: Value = http().get(bj.url("/api/v1/snapshot")).send().await.unwrap().json().await.unwrap();
    assert_eq!(agents(&s), ["S1", "S2"], "a site's replica holds its own site only");
    assert_eq!(agents(&b), ["B1", "B2", "B3"]);

    // A resend of a stored batch: the stream had it; the replica that received it counts
    // it `duplicate`, nobody applies it again.
    let again = sh.post_events(&sh_events).await.unwrap();
    assert_eq!(again.status(), 200);
    let counts: Value = again.json().await.unwrap();
    assert_eq!((counts["applied"].as_u64(), counts["duplicate"].as_u64()), (Some(0), Some(2)), "{counts}");
    let s: Value = http().get(sh.url("/api/v1/snapshot")).send().await.unwrap().json().await.unwrap();
    assert_eq!((s["ingest"]["applied"].as_u64(), s["ingest"]["duplicate"].as_u64()), (Some(2), Some(2)));
    let g: Value = http().get(group.url("/api/v1/snapshot")).send().await.unwrap().json().await.unwrap();
    assert_eq!((g["ingest"]["applied"].as_u64(), g["ingest"]["duplicate"].as_u64()), (Some(5), Some(0)));
}

/// The same floor through TCP and the WebSocket with acks into a cluster replica gives
/// `replay`'s snapshot, as through HTTP in the drill: every path publishes to the stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_and_websocket_through_a_replica_equal_replay() {
    use futures_util::{SinkExt, StreamExt};
    use tokio::io::AsyncWriteExt;
    let nats = NatsCluster::start().await;
    let hooks = hooks_receiver::Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let r = Replica::new("r", dir.path(), &nats.urls(), &hooks.url("/hook"), "");
    r.wait_ready(Duration::from_secs(60)).await;
    let trace = trace();
    let lines: Vec<&str> = trace.lines().filter(|l| !l.trim().is_empty()).collect();
    let want = common::replay(&trace, FLOOR);
    let (first, second) = lines.split_at(lines.len() / 2);

    // The first half over TCP (no answers), in one connection.
    let text = std::fs::read_to_string(&r.config).unwrap();
    let tcp = text.lines().find_map(|l| l.strip_prefix("tcp = ")).unwrap().trim_matches('"').to_string();
    let mut s = tokio::net::TcpStream::connect(&tcp).await.unwrap();
    s.write_all((first.join("\n") + "\n").as_bytes()).await.unwrap();
    s.shutdown().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let v: Value = http().get(r.url("/api/v1/snapshot?agents=false")).send().await.unwrap().json().await.unwrap();
        if v["ingest"]["applied"].as_u64() == Some(first.len() as u64) {
            break;
        }
        assert!(Instant::now() < deadline, "TCP events not applied: {}", v["ingest"]);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The second half over the WebSocket with acks, 100 events a frame.
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/ingest?ack=1", r.http)).await.unwrap();
    let frames: Vec<String> = second.chunks(100).map(|c| format!("[{}]", c.join(","))).collect();
    for f in &frames {
        ws.send(tokio_tungstenite::tungstenite::Message::text(f.clone())).await.unwrap();
    }
    let mut acked = 0;
    while acked < frames.len() {
        let m = ws.next().await.unwrap().unwrap();
        let ack: Value = serde_json::from_str(m.to_text().unwrap()).unwrap();
        assert_eq!(ack["durable"], true, "{ack}");
        acked += 1;
    }
    let got: Value = http().get(r.url("/api/v1/snapshot")).send().await.unwrap().json().await.unwrap();
    same_as_replay(&got, &want, "tcp + ws");

    // A replica's exposition, its cluster families included, is valid for Prometheus.
    let text = http().get(r.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(common::metric(&text, "floorwatch_cluster_publish_total{outcome=\"stored\"}").unwrap() >= 1.0);
    common::promtool_check(&text);
}

/// With the wall clock, an event without `ts` takes the time JetStream stored it: both
/// replicas show the same instant, whichever received it and however late the other
/// applies it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_without_ts_gets_the_stored_time_on_every_replica() {
    let nats = NatsCluster::start().await;
    let hooks = hooks_receiver::Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut replicas = [
        Replica::new("a", dir.path(), &nats.urls(), &hooks.url("/hook"), ""),
        Replica::new("b", dir.path(), &nats.urls(), &hooks.url("/hook"), ""),
    ];
    for r in replicas.iter_mut() {
        // The wall clock (the drill's replicas use the event clock).
        r.kill9();
        let text = std::fs::read_to_string(&r.config).unwrap().replace("clock = \"event\"", "clock = \"wall\"");
        std::fs::write(&r.config, text).unwrap();
        r.spawn();
    }
    for r in &replicas {
        r.wait_ready(Duration::from_secs(60)).await;
    }
    let before = std::time::SystemTime::now();
    let a = replicas[0].post_events(r#"{"agent":"W1","state":"aux","reason":"break","team":"T1"}"#).await.unwrap();
    assert_eq!(a.status(), 200);
    let since = |v: &Value| v["agents"][0]["since"].as_str().map(str::to_string);
    let mut seen = Vec::new();
    for r in &replicas {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let v: Value = http().get(r.url("/api/v1/snapshot")).send().await.unwrap().json().await.unwrap();
            if let Some(s) = since(&v) {
                seen.push(s);
                break;
            }
            assert!(Instant::now() < deadline, "replica {} never applied the event", r.name);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(seen[0], seen[1], "the same receipt time on both replicas");
    let at = floorwatch::time::parse_instant(&seen[0]).unwrap();
    let sent = before.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    assert!((sent - 1_000..sent + 10_000).contains(&at), "the stored time is about when it was sent: {}", seen[0]);
}

/// A noisy feed (late events, duplicates, team moves, garbage lines) in batches through a
/// replica gives `replay`'s snapshot and outcome counts: late delivery and refusals work
/// through the stream as alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_noisy_feed_in_batches_through_a_replica_equals_replay() {
    let nats = NatsCluster::start().await;
    let hooks = hooks_receiver::Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let r = Replica::new("n", dir.path(), &nats.urls(), &hooks.url("/hook"), "");
    r.wait_ready(Duration::from_secs(60)).await;
    let trace = common::noisy_trace(40, 3000, 7);
    // HTTP bodies are JSON arrays: the lines that are JSON, in batches of 150.
    let lines: Vec<&str> = trace.lines().filter(|l| serde_json::from_str::<Value>(l).is_ok()).collect();
    let json_trace = lines.join("\n") + "\n";
    let want = common::replay(&json_trace, FLOOR);
    assert!(want["ingest"]["late"].as_u64().unwrap() > 0 && want["ingest"]["duplicate"].as_u64().unwrap() > 0);
    for c in lines.chunks(150) {
        let a = r.post_events(&format!("[{}]", c.join(","))).await.unwrap();
        assert_eq!(a.status(), 200);
    }
    let got: Value = http().get(r.url("/api/v1/snapshot")).send().await.unwrap().json().await.unwrap();
    same_as_replay(&got, &want, "noisy feed");
    for k in ["applied", "duplicate", "late", "invalid"] {
        assert_eq!(got["ingest"][k], want["ingest"][k], "ingest.{k}");
    }
    // The engine's refusals (late, duplicate: made where the stream is applied, not at the
    // edge) name their sender as a lone daemon's do: the address the batch came from rides
    // with it in the stream.
    let listed: Value = http().get(r.url("/api/v1/ingest/errors")).send().await.unwrap().json().await.unwrap();
    let errors = listed["errors"].as_array().unwrap();
    let engine: Vec<&Value> = errors.iter().filter(|e| e["outcome"] == "late" || e["outcome"] == "duplicate").collect();
    assert!(!engine.is_empty(), "late or duplicate refusals listed: {listed}");
    for e in engine {
        let peer = e["peer"].as_str().unwrap_or_else(|| panic!("no sender: {e}"));
        assert!(peer.starts_with("127.0.0.1:"), "{e}");
    }
}
