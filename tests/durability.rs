//! Nothing acknowledged is lost across `kill -9`: a client streams events over HTTP and
//! WebSocket (with acks), resending whatever was not acknowledged; the real daemon is
//! killed with SIGKILL at random points and restarted on the same journal, many times.
//! At the end the snapshot equals `replay` of the events the client sent — and again
//! after a graceful restart.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{noisy_trace, replay};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

const CONFIG: &str = r#"
[server]
clock = "event"
shutdown_grace_secs = 5
[peak]
windows = ["08:30-09:30"]
[journal]
dir = "data"
fsync_interval_ms = 5
snapshot_interval_secs = 1
"#;

const KILLS: usize = 12;
const EVENTS: usize = 24_000;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Running {
    child: Arc<Mutex<Child>>,
    http: String,
}

async fn start(dir: &Path, round: usize) -> Running {
    let http = format!("127.0.0.1:{}", free_port());
    let tcp = format!("127.0.0.1:{}", free_port());
    let log = std::fs::File::create(dir.join(format!("daemon-{round}.log"))).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_floorwatch"))
        .args(["serve", "--config"])
        .arg(dir.join("floorwatch.toml"))
        .args(["--http", &http, "--tcp", &tcp])
        .env("FLOORWATCH_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = reqwest::get(format!("http://{http}/readyz")).await
            && r.status() == 200
        {
            break;
        }
        assert!(Instant::now() < deadline, "daemon round {round} not ready; see {}", dir.display());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Running { child: Arc::new(Mutex::new(child)), http }
}

/// Sends `lines[*next..]` in batches until done or the daemon goes away; advances `next`
/// past each batch only once it is acknowledged (HTTP 200 / WS ack with durable: true).
async fn stream(d: &Running, lines: &[String], next: &mut usize, use_ws: bool, rng: &mut u64) {
    let mut batch_len = || {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        1 + (*rng % 40) as usize
    };
    let client = reqwest::Client::new();
    if use_ws {
        let Ok((mut ws, _)) = tokio_tungstenite::connect_async(format!("ws://{}/ingest?ack=1", d.http)).await else {
            return;
        };
        while *next < lines.len() {
            let n = batch_len().min(lines.len() - *next);
            let body = format!("[{}]", lines[*next..*next + n].join(","));
            if ws.send(Message::text(body)).await.is_err() {
                return;
            }
            let ack = match tokio::time::timeout(Duration::from_secs(15), ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => serde_json::from_str::<serde_json::Value>(&t).unwrap(),
                _ => return,
            };
            assert_eq!(ack["durable"], true, "{ack}");
            *next += n;
        }
    } else {
        while *next < lines.len() {
            let n = batch_len().min(lines.len() - *next);
            let body = format!("[{}]", lines[*next..*next + n].join(","));
            match client
                .post(format!("http://{}/api/v1/events", d.http))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
            {
                Ok(r) if r.status() == 200 => *next += n,
                Ok(r) => panic!("unexpected status {}", r.status()),
                Err(_) => return,
            }
        }
    }
}

async fn snapshot(d: &Running) -> serde_json::Value {
    reqwest::get(format!("http://{}/api/v1/snapshot", d.http)).await.unwrap().json().await.unwrap()
}

fn assert_matches_replay(got: &serde_json::Value, want: &serde_json::Value, what: &str) {
    for k in ["now", "floor", "teams", "agents", "alerts"] {
        assert!(
            got[k] == want[k],
            "{what}: `{k}` differs from replay\n got: {:.800}\nwant: {:.800}",
            got[k].to_string(),
            want[k].to_string()
        );
    }
    // Outcomes count deliveries: a resent event that was already durable counts again, as
    // a duplicate (or late or invalid again, for such an event). Applied is exact.
    assert_eq!(got["ingest"]["applied"], want["ingest"]["applied"], "{what}: ingest.applied");
    let n = |v: &serde_json::Value, k: &str| v["ingest"][k].as_u64().unwrap();
    for k in ["duplicate", "late", "invalid"] {
        assert!(n(got, k) >= n(want, k), "{what}: ingest.{k} {} < {}", n(got, k), n(want, k));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_loses_nothing_acknowledged() {
    let seed: u64 = std::env::var("FLOORWATCH_KILL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    }) | 1;
    eprintln!("kill points seed: FLOORWATCH_KILL_SEED={seed}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("floorwatch.toml"), CONFIG).unwrap();
    // Events only (an HTTP batch is a JSON array, so no garbage lines here).
    let lines: Vec<String> = noisy_trace(60, EVENTS, 5)
        .lines()
        .filter(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
        .map(String::from)
        .collect();
    let want = replay(&(lines.join("\n") + "\n"), CONFIG);
    assert!(want["ingest"]["duplicate"].as_u64().unwrap() > 0 && want["ingest"]["late"].as_u64().unwrap() > 0);

    let mut rng = seed;
    let mut next = 0usize;
    let mut kills = 0usize;
    let mut round = 0usize;
    let started = Instant::now();
    let d = loop {
        round += 1;
        let d = start(dir.path(), round).await;
        if kills < KILLS && next < lines.len() {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let after = Duration::from_millis(30 + (rng >> 33) % 900);
            let child = d.child.clone();
            let killer = std::thread::spawn(move || {
                std::thread::sleep(after);
                let _ = child.lock().unwrap().kill(); // SIGKILL
            });
            let before = next;
            stream(&d, &lines, &mut next, round.is_multiple_of(2), &mut rng).await;
            killer.join().unwrap();
            let _ = d.child.lock().unwrap().wait();
            kills += 1;
            eprintln!(
                "round {round}: killed after {after:?}; acknowledged {} more, {next}/{}",
                next - before,
                lines.len()
            );
            continue;
        }
        // The last round runs to the end.
        stream(&d, &lines, &mut next, round.is_multiple_of(2), &mut rng).await;
        assert_eq!(next, lines.len(), "the last round streams everything");
        break d;
    };
    assert!(started.elapsed() < Duration::from_secs(240), "bounded run");
    let got = snapshot(&d).await;
    assert_matches_replay(&got, &want, &format!("after {kills} kills (seed {seed})"));

    // A graceful stop (SIGTERM: final snapshot) and a start give the same state again.
    let pid = d.child.lock().unwrap().id();
    assert!(Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap().success());
    let status = d.child.lock().unwrap().wait().unwrap();
    assert!(status.success(), "graceful stop exits 0: {status:?}");
    let d = start(dir.path(), round + 1).await;
    let again = snapshot(&d).await;
    assert_matches_replay(&again, &want, "after a graceful restart");
    let log = std::fs::read_to_string(dir.path().join(format!("daemon-{}.log", round + 1))).unwrap();
    // The shutdown snapshot covers everything: nothing left to replay from the journal.
    assert!(
        log.contains("restored the floor as of") && log.contains("replayed 0 records"),
        "the restart used the shutdown snapshot:\n{log}"
    );
    let _ = d.child.lock().unwrap().kill();
    let _ = d.child.lock().unwrap().wait();
}
