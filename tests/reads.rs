//! Reads at scale (docs/figures.md#snapshot-sizes): partial snapshots leave out old alerts
//! and other queues but say where to read them, and reads shared between requests that
//! arrive together are still exact: nobody reads a state older than their own writes.

mod common;

use common::{Daemon, metric, metric_sum, noisy_trace};
use serde_json::Value;

/// `gz` through the system's `gzip -dc` (which checks the trailer's CRC and length).
fn gunzip(gz: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = std::process::Command::new("gzip")
        .arg("-dc")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip is installed");
    let mut stdin = child.stdin.take().unwrap();
    let gz = gz.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&gz));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "gzip -d: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn ids(v: &Value) -> Vec<String> {
    let mut out: Vec<String> =
        v["alerts"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()).collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_snapshots_list_recent_alerts_and_link_to_the_rest() {
    let d = Daemon::start("[server]\nclock = \"event\"\n").await;
    let trace = noisy_trace(60, 6_000, 7);
    let lines: Vec<Value> = trace.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    for batch in lines.chunks(1_000) {
        assert_eq!(d.post("/api/v1/events", serde_json::to_string(batch).unwrap()).await.0, 200);
    }
    // A call waiting in each of two queues at the trace's end, so that the queue lists have
    // something to leave out.
    let end = lines.iter().filter_map(|l| l["ts"].as_i64()).max().unwrap();
    let calls = format!(
        r#"[{{"ts":{end},"call":"c1","queue":"support","event":"queued"}},{{"ts":{end},"call":"c2","queue":"sales","event":"queued"}}]"#
    );
    let (status, body) = d.post("/api/v1/events", calls).await;
    assert_eq!((status, &body["applied"]), (200, &Value::from(2)));

    let full = d.get_json("/api/v1/snapshot").await;
    assert!(full.get("alerts_omitted").is_none(), "the full snapshot leaves nothing out");
    let now = full["now"].as_str().unwrap().to_string();
    let now_ms = chrono_ms(&now);
    let recent =
        |a: &Value| a["resolved_at"].is_null() || chrono_ms(a["resolved_at"].as_str().unwrap()) >= now_ms - 600_000;

    for team in ["T0", "T1"] {
        let t = d.get_json(&format!("/api/v1/snapshot?team={team}")).await;
        assert_eq!(t["now"], full["now"], "nothing moved between the reads");
        let all_team: Vec<&Value> =
            full["alerts"].as_array().unwrap().iter().filter(|a| a["team"] == team || !a["queue"].is_null()).collect();
        // Queue alerts only of the queues the snapshot lists (none by default).
        let shown: Vec<String> = {
            let mut v: Vec<String> = all_team
                .iter()
                .filter(|a| recent(a) && a["queue"].is_null())
                .map(|a| a["id"].as_str().unwrap().to_string())
                .collect();
            v.sort();
            v
        };
        assert_eq!(ids(&t), shown, "team {team}: firing and resolved in the last 10 minutes");
        let omitted = all_team.len() - shown.len();
        assert!(omitted > 0, "a day of noisy alerts leaves some out for {team}");
        assert_eq!(t["alerts_omitted"], omitted);
        // The link lists the team's alerts: those shown and those left out.
        let href = t["alerts_href"].as_str().unwrap();
        assert_eq!(href, format!("/api/v1/alerts?team={team}"));
        let linked = d.get_json(href).await;
        let team_only: Vec<&&Value> = all_team.iter().filter(|a| a["queue"].is_null()).collect();
        assert_eq!(linked["alerts"].as_array().unwrap().len(), team_only.len());
        // Queues: none by default in a team's snapshot, those asked for, or all.
        assert_eq!(t["queues"], serde_json::json!([]));
        assert_eq!(t["floor"]["queues"], full["floor"]["queues"], "the floor's queue sums stay");
        let one = d.get_json(&format!("/api/v1/snapshot?team={team}&queues=sales")).await;
        let names: Vec<&str> = one["queues"].as_array().unwrap().iter().map(|q| q["queue"].as_str().unwrap()).collect();
        assert_eq!(names, ["sales"]);
        let all = d.get_json(&format!("/api/v1/snapshot?team={team}&queues=all")).await;
        assert_eq!(all["queues"], full["queues"]);
        // Figures are the full snapshot's.
        let want = full["teams"].as_array().unwrap().iter().find(|g| g["team"] == team).unwrap();
        assert_eq!(&t["teams"][0], want);
    }
    // Compressed for a client that accepts gzip: the same document.
    for (path, enc, gz) in [
        ("/api/v1/snapshot?team=T1", "gzip, deflate, br", true),
        ("/api/v1/snapshot?agents=false", "br;q=1.0, gzip;q=0.8", true),
        ("/api/v1/snapshot?team=T1", "gzip;q=0", false),
        ("/api/v1/snapshot?team=T1", "identity", false),
    ] {
        let r = reqwest::Client::new().get(d.url(path)).header("accept-encoding", enc).send().await.unwrap();
        assert_eq!(r.headers().get("content-encoding").is_some_and(|v| v == "gzip"), gz, "{path} {enc}");
        let body = r.bytes().await.unwrap();
        let text = if gz {
            let mut out = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut out).unwrap();
            assert!(body.len() * 3 < out.len(), "{} compressed to {}", out.len(), body.len());
            // The system's gzip reads it too (the floor's is joined from cached parts, one
            // per team's chart: src/server/gz.rs), CRC and length checked.
            assert_eq!(gunzip(&body), out.as_bytes(), "{path}: gzip -d");
            out
        } else {
            String::from_utf8(body.to_vec()).unwrap()
        };
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), d.get_json(path).await, "{path} {enc}");
    }
    // The floor without agents: every queue, the board's alerts, the same figures.
    let f = d.get_json("/api/v1/snapshot?agents=false").await;
    assert_eq!(f["queues"], full["queues"]);
    assert_eq!((&f["floor"], &f["teams"]), (&full["floor"], &full["teams"]));
    let shown: Vec<&Value> = full["alerts"].as_array().unwrap().iter().filter(|a| recent(a)).collect();
    assert_eq!(f["alerts"].as_array().unwrap().len(), shown.len());
    assert_eq!(f["alerts_omitted"], full["alerts"].as_array().unwrap().len() - shown.len());
    assert_eq!(f["alerts_href"], "/api/v1/alerts");
    d.stop().await;
}

/// A team's snapshot computes only the queues it lists (issue 20: it computed all 500 for
/// the floor's sums): its figures, the floor's queue sums and the listed queues' figures
/// are the full snapshot's; its alerts are the team's and the listed queues' on the board,
/// and `alerts_omitted` counts the team's left out, which its `alerts_href` lists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn team_snapshots_compute_the_queues_they_list_and_the_floor_sums() {
    let d = Daemon::start("[server]\nclock = \"event\"\n").await;
    let trace = noisy_trace(40, 4_000, 11);
    let lines: Vec<Value> = trace.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    for batch in lines.chunks(1_000) {
        assert_eq!(d.post("/api/v1/events", serde_json::to_string(batch).unwrap()).await.0, 200);
    }
    let end = lines.iter().filter_map(|l| l["ts"].as_i64()).max().unwrap();
    // Calls in three queues over the trace's last hour, answered, abandoned or left, and one
    // waiting in each of `support` and `sales` past the long-wait limit (60 s): a firing
    // `long_wait` alert each.
    let mut calls = Vec::new();
    for i in 0..120i64 {
        let q = ["support", "sales", "billing"][(i % 3) as usize];
        let at = end - 3_600_000 + i * 25_000;
        let how = ["answered", "abandoned", "left", "answered"][(i % 4) as usize];
        calls.push(serde_json::json!({"ts": at, "call": format!("k{i}"), "queue": q, "event": "queued"}));
        calls.push(serde_json::json!({"ts": at + 3_000 + i * 700, "call": format!("k{i}"), "event": how}));
    }
    calls.sort_by_key(|c| c["ts"].as_i64().unwrap());
    calls.push(serde_json::json!({"ts": end - 120_000, "call": "w1", "queue": "support", "event": "queued"}));
    calls.push(serde_json::json!({"ts": end - 90_000, "call": "w2", "queue": "sales", "event": "queued"}));
    let (status, body) = d.post("/api/v1/events", serde_json::Value::from(calls).to_string()).await;
    assert_eq!((status, &body["applied"]), (200, &Value::from(242)), "{body}");

    let full = d.get_json("/api/v1/snapshot").await;
    let firing_waits = full["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "long_wait" && a["resolved_at"].is_null())
        .count();
    assert_eq!(firing_waits, 2, "a long_wait alert firing in support and in sales");
    let now_ms = chrono_ms(full["now"].as_str().unwrap());
    let recent =
        |a: &Value| a["resolved_at"].is_null() || chrono_ms(a["resolved_at"].as_str().unwrap()) >= now_ms - 600_000;
    let full_queue = |q: &str| full["queues"].as_array().unwrap().iter().find(|x| x["queue"] == q).unwrap().clone();
    for team in ["T0", "T1", "T2"] {
        let team_alerts: Vec<&Value> =
            full["alerts"].as_array().unwrap().iter().filter(|a| a["team"] == team && a["queue"].is_null()).collect();
        let shown_team = team_alerts.iter().filter(|a| recent(a)).count();
        let want_team = full["teams"].as_array().unwrap().iter().find(|g| g["team"] == team).unwrap();
        for (ask, listed) in [
            ("", vec![]),
            ("&queues=support", vec!["support"]),
            ("&queues=support,support,nowhere", vec!["support"]),
            ("&queues=sales,billing", vec!["billing", "sales"]),
            ("&queues=all", vec!["billing", "sales", "support"]),
        ] {
            let t = d.get_json(&format!("/api/v1/snapshot?team={team}{ask}")).await;
            assert_eq!(t["now"], full["now"], "nothing moved between the reads");
            // Without its agents: the same answer less the agents' list (a Grafana panel of
            // the team's figures asks so).
            let bare = d.get_json(&format!("/api/v1/snapshot?team={team}{ask}&agents=false")).await;
            assert!(!t["agents"].as_array().unwrap().is_empty(), "{team}{ask}: the team's agents");
            assert!(bare["agents"].as_array().is_none_or(Vec::is_empty), "{team}{ask}: agents=false");
            let less = |v: &Value| {
                let mut o = v.as_object().unwrap().clone();
                o.remove("agents");
                o
            };
            assert_eq!(less(&bare), less(&t), "{team}{ask}&agents=false: the rest as with agents");
            assert_eq!(t["floor"]["queues"], full["floor"]["queues"], "{team}{ask}: the floor's queue sums");
            assert_eq!(&t["teams"][0], want_team, "{team}{ask}: the team's figures");
            let names: Vec<&str> =
                t["queues"].as_array().unwrap().iter().map(|q| q["queue"].as_str().unwrap()).collect();
            assert_eq!(names, listed, "{team}{ask}");
            for q in &listed {
                let got = t["queues"].as_array().unwrap().iter().find(|x| x["queue"] == *q).unwrap();
                assert_eq!(got, &full_queue(q), "{team}{ask}: queue {q}");
            }
            // The listed queues' alerts on the board, each once; no other queue's.
            let mut want: Vec<&str> = full["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| a["queue"].as_str().is_some_and(|q| listed.contains(&q)) && recent(a))
                .map(|a| a["id"].as_str().unwrap())
                .collect();
            want.sort();
            let mut got: Vec<&str> = t["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|a| !a["queue"].is_null())
                .map(|a| a["id"].as_str().unwrap())
                .collect();
            got.sort();
            assert_eq!(got, want, "{team}{ask}: the listed queues' alerts on the board");
            assert!(
                listed.is_empty() || !want.is_empty() || listed == ["billing"],
                "{team}{ask}: a queue alert to list"
            );
            assert_eq!(t["alerts"].as_array().unwrap().len(), shown_team + want.len(), "{team}{ask}");
            let omitted = team_alerts.len() - shown_team;
            assert_eq!(t.get("alerts_omitted").and_then(Value::as_u64).unwrap_or(0), omitted as u64, "{team}{ask}");
        }
    }
    d.stop().await;
}

/// Milliseconds of an RFC 3339 UTC time as the daemon writes them.
fn chrono_ms(s: &str) -> i64 {
    let t = s.trim_end_matches('Z');
    let (date, time) = t.split_once('T').unwrap();
    let d: Vec<i64> = date.split('-').map(|x| x.parse().unwrap()).collect();
    let (hms, ms) = time.split_once('.').unwrap_or((time, "0"));
    let h: Vec<i64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
    // Days from civil (Howard Hinnant's algorithm).
    let (y, m) = if d[1] <= 2 { (d[0] - 1, d[1] + 9) } else { (d[0], d[1] - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    ((days * 24 + h[0]) * 60 + h[1]) * 60_000 + h[2] * 1000 + ms.parse::<i64>().unwrap()
}

/// Many readers at once while a writer posts batches: each batch, once acknowledged, is in
/// every snapshot and scrape read after it, shared or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_reads_never_miss_an_acknowledged_write() {
    let d = std::sync::Arc::new(Daemon::start("[server]\nclock = \"event\"\n").await);
    let trace = noisy_trace(200, 4_000, 11);
    let lines: Vec<Value> = trace.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Background readers keep flights in the air.
    let mut readers = Vec::new();
    for i in 0..6 {
        let (d, stop) = (d.clone(), stop.clone());
        readers.push(tokio::spawn(async move {
            let path = if i % 2 == 0 { "/metrics" } else { "/api/v1/snapshot?agents=false" };
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = reqwest::get(d.url(path)).await.unwrap().bytes().await.unwrap();
            }
        }));
    }
    let mut acked = 0u64;
    for batch in lines.chunks(200) {
        let (status, body) = d.post("/api/v1/events", serde_json::to_string(batch).unwrap()).await;
        assert_eq!(status, 200);
        acked += body["applied"].as_u64().unwrap() + body["duplicate"].as_u64().unwrap();
        // Three reads at once after the acknowledgement: all see it.
        let (a, b, m) = tokio::join!(
            d.get_json("/api/v1/snapshot?agents=false"),
            d.get_json("/api/v1/snapshot?team=T1"),
            d.metrics()
        );
        for s in [&a, &b] {
            let seen = s["ingest"]["applied"].as_u64().unwrap() + s["ingest"]["duplicate"].as_u64().unwrap();
            assert!(seen >= acked, "a read after {acked} acknowledged events saw {seen}");
        }
        let scraped = metric(&m, "floorwatch_events_total{source=\"http\",outcome=\"applied\"}").unwrap()
            + metric_sum(&m, "floorwatch_events_total{source=\"http\",outcome=\"duplicate\"").unwrap();
        assert!(scraped as u64 >= acked, "a scrape after {acked} acknowledged events counted {scraped}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        r.await.unwrap();
    }
    let m = d.metrics().await;
    // Labels in name order, as the registry writes them. How many were shared depends on
    // timing (the flight unit tests make it deterministic); every read is one or the other.
    for read in ["snapshot", "metrics"] {
        let n =
            |answer: &str| metric(&m, &format!("floorwatch_shared_reads_total{{answer=\"{answer}\",read=\"{read}\"}}"));
        let (computed, shared) = (n("computed").unwrap(), n("shared").unwrap_or(0.0));
        eprintln!("{read}: {computed} computed, {shared} shared");
        assert!(computed > 0.0);
    }
    std::sync::Arc::try_unwrap(d).ok().unwrap().stop().await;
}
