//! `serve --demo`: the first screen a new user sees is right. The demo fast-forwards the
//! morning through the wall clock (a backlog delivered late, in batches); no alert on the
//! first screen may contradict the figures beside it.

mod common;

use std::time::Duration;

use floorwatch::config::FileConfig;
use floorwatch::server::{Listeners, ServeOptions};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demos_first_screen_agrees_with_itself() {
    let file = FileConfig::parse("", "test").unwrap();
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = http.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let handle = tokio::spawn(floorwatch::server::run(
        file,
        Listeners { http, tcp },
        ServeOptions { demo: true, base_dir: ".".into() },
        shutdown.clone(),
    ));
    let get = |path: &str| {
        let url = format!("http://{addr}{path}");
        async move { reqwest::get(url).await.unwrap().json::<Value>().await.unwrap() }
    };
    // Caught up once two looks a second apart see about the same count (the live part of
    // the demo adds a few events a second).
    let mut last = 0;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let Ok(r) = reqwest::get(format!("http://{addr}/api/v1/snapshot?agents=false")).await else { continue };
        let applied = r.json::<Value>().await.unwrap()["ingest"]["applied"].as_u64().unwrap_or(0);
        if applied > 1000 && applied < last + 200 {
            break;
        }
        last = applied;
    }
    let snap = get("/api/v1/snapshot").await;
    let now = floorwatch::time::parse_rfc3339(snap["now"].as_str().unwrap()).unwrap();
    let ms = |v: &Value| v.as_str().map(|s| floorwatch::time::parse_rfc3339(s).unwrap());
    let agents: Vec<&Value> = snap["agents"].as_array().unwrap().iter().collect();
    let alerts = snap["alerts"].as_array().unwrap();
    assert!(!agents.is_empty() && !alerts.is_empty(), "the demo shows a floor with alerts");
    for a in alerts {
        let (started, fired, resolved) =
            (ms(&a["started_at"]).unwrap(), ms(&a["fired_at"]).unwrap(), ms(&a["resolved_at"]));
        assert!(started <= fired && fired <= now, "{a}");
        // A stretch of exactly the threshold fires and resolves at once (a late break that
        // the simulator ends at its five-minute least); any other resolves after it fired.
        let exact = fired - started == (a["threshold"].as_f64().unwrap() * 1000.0) as i64;
        assert!(resolved.is_none_or(|r| r > fired || (r == fired && exact)), "resolved when it fired: {a}");
        match (a["kind"].as_str().unwrap(), a["state"].as_str().unwrap()) {
            ("long_aux", "firing") => {
                let agent = agents.iter().find(|g| g["agent"] == a["agent"]).expect("the agent is listed");
                assert_eq!(agent["state"], "aux", "{a}\n{agent}");
                let since = ms(&agent["since"]).unwrap();
                if agent["reason"] == "break" {
                    // The demo's roster schedules 15-minute breaks: a stretch starts where
                    // the agent's scheduled break ends, if it is still on it then.
                    assert!(since <= started && started - since <= 15 * 60_000, "a break's stretch: {a}\n{agent}");
                } else {
                    assert_eq!(since, started, "in aux since the stretch began: {a}\n{agent}");
                }
            }
            ("aux_cluster", "firing") => {
                let team = snap["teams"].as_array().unwrap().iter().find(|t| t["team"] == a["team"]).unwrap();
                // Firing for at most its hold after the condition ended: some of its agents
                // are still on break, and the demo's clusters last ten minutes.
                assert!(team["current"]["aux_unplanned"].as_u64().unwrap() >= 1, "{a}\n{}", team["current"]);
                assert!(now - started < 30 * 60_000, "a cluster going on for {} s: {a}", (now - started) / 1000);
            }
            _ => {}
        }
    }
    shutdown.cancel();
    let _ = handle.await;
}
