//! `GET /api/v1/alerts` filters and pages (docs/alerts.md#reading-alerts) on a real daemon:
//! every filter and every page size gives exactly what the unfiltered answer holds.

mod common;

use common::{Daemon, noisy_trace};
use serde_json::Value;

fn ids(v: &Value) -> Vec<String> {
    v["alerts"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_and_pages_hold_exactly_the_unfiltered_answer() {
    let d = Daemon::start("[server]\nclock = \"event\"\n").await;
    let trace = noisy_trace(60, 6_000, 7);
    let lines: Vec<Value> = trace.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    for batch in lines.chunks(1_000) {
        let (status, _) = d.post("/api/v1/events", serde_json::to_string(batch).unwrap()).await;
        assert_eq!(status, 200);
    }
    let all = d.get_json("/api/v1/alerts").await;
    let whole: Vec<&Value> = all["alerts"].as_array().unwrap().iter().collect();
    assert!(whole.len() >= 20, "a trace with alerts: {}", whole.len());
    assert!(all.get("next").is_none());

    // Filters: the unfiltered answer, filtered here, in the same order.
    let pick = |f: &dyn Fn(&Value) -> bool| -> Vec<String> {
        whole.iter().filter(|a| f(a)).map(|a| a["id"].as_str().unwrap().to_string()).collect()
    };
    for team in ["T0", "T1", "T2", "T3"] {
        let got = ids(&d.get_json(&format!("/api/v1/alerts?team={team}")).await);
        assert_eq!(got, pick(&|a| a["team"] == team), "team {team}");
        assert!(!got.is_empty(), "team {team} has alerts");
    }
    for state in ["firing", "resolved"] {
        let got = ids(&d.get_json(&format!("/api/v1/alerts?state={state}")).await);
        assert_eq!(got, pick(&|a| a["state"] == state), "state {state}");
        assert!(!got.is_empty(), "some {state}");
    }
    // `since` the fire time of the middle alert: what was not over before it.
    let since = whole[whole.len() / 2]["fired_at"].as_str().unwrap().to_string();
    let got = ids(&d.get_json(&format!("/api/v1/alerts?since={since}&team=T1")).await);
    let expected = pick(&|a| {
        a["team"] == "T1" && (a["resolved_at"].is_null() || a["resolved_at"].as_str().unwrap() >= since.as_str())
    });
    assert_eq!(got, expected);
    assert!(got.len() < pick(&|a| a["team"] == "T1").len(), "since leaves some out");

    // Pages, one after another, whatever their size.
    let all_ids = ids(&all);
    for limit in [1, 7, whole.len() - 1, whole.len(), whole.len() + 1] {
        let mut got = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/alerts?limit={limit}");
            if let Some(a) = &after {
                path.push_str(&format!("&after={}", urlencode(a)));
            }
            let page = d.get_json(&path).await;
            let page_ids = ids(&page);
            assert!(!page_ids.is_empty() && page_ids.len() <= limit, "limit {limit}: {}", page_ids.len());
            got.extend(page_ids);
            match page["next"].as_str() {
                Some(n) => after = Some(n.to_string()),
                None => break,
            }
        }
        assert_eq!(got, all_ids, "limit {limit}");
    }

    // A bad parameter is refused, naming it.
    for (q, name) in
        [("state=open", "state"), ("limit=0", "limit"), ("since=yesterday", "since"), ("after=zz", "after")]
    {
        let r = reqwest::get(d.url(&format!("/api/v1/alerts?{q}"))).await.unwrap();
        assert_eq!(r.status(), 400, "{q}");
        let body: Value = r.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().starts_with(&format!("{name}:")), "{q}: {body}");
    }
    d.stop().await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
