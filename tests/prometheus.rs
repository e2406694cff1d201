//! The real daemon scraped by a real Prometheus (Debian package `prometheus`): every panel
//! query of `deploy/grafana/panels.txt` returns data, and what Prometheus stored equals the
//! daemon's own `/api/v1/snapshot`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Both processes and the scratch directory, torn down even when an assertion fails.
struct Procs {
    children: Vec<Child>,
    dir: PathBuf,
}

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Procs {
    /// The tail of a process's log, for failure messages.
    fn log(&self, name: &str) -> String {
        let text = std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
        let start = text.len().saturating_sub(3000);
        let start = (start..text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
        text[start..].to_string()
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn spawn(procs: &mut Procs, log: &str, program: &str, args: &[&str]) {
    let out = std::fs::File::create(procs.dir.join(log)).unwrap();
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    procs.children.push(child);
}

/// A floor of three teams from 09:00 to 09:40 UTC (inside the configured peak window):
/// contacts of different lengths, unplanned aux of different lengths (so the peak-time aux
/// CV is defined), planned aux in T3.
fn events() -> Vec<Value> {
    let base = floorwatch::time::parse_rfc3339("2026-11-23T09:00:00Z").unwrap();
    let min = 60_000;
    let mut evs: Vec<(i64, Value)> = Vec::new();
    for (team, size) in [("T1", 6), ("T2", 4), ("T3", 3)] {
        for j in 0..size {
            let agent = format!("{team}-A{j}");
            let mut push = |t: i64, state: &str, reason: Option<&str>| {
                let mut e = json!({"ts": base + t, "agent": agent, "state": state, "team": team});
                if let Some(r) = reason {
                    e["reason"] = json!(r);
                }
                evs.push((base + t, e));
            };
            push(0, "idle", None);
            let mut t = (j as i64 + 1) * min;
            for cycle in 0..4 {
                push(t, "talking", None);
                t += (2 + (j as i64 + cycle) % 4) * min + 17_000;
                push(t, "acw", None);
                t += 45_000;
                push(t, "idle", None);
                t += min;
                if cycle == 1 && j % 2 == 0 {
                    let reason = if team == "T3" { "training" } else { "break" };
                    push(t, "aux", Some(reason));
                    t += (1 + j as i64) * min;
                    push(t, "idle", None);
                }
            }
        }
    }
    evs.push((base + 40 * min, json!({"ts": base + 40 * min, "agent": "T2-A0", "state": "idle"})));
    // Calls: answered in 5 s and 12 s, one abandoned, one still waiting at the end.
    for (call, queued, end, event) in [
        ("c1", min, min + 5_000, "answered"),
        ("c2", 2 * min, 2 * min + 12_000, "answered"),
        ("c3", 30 * min, 30 * min + 20_000, "abandoned"),
        ("c4", 39 * min, 0, ""),
    ] {
        evs.push((base + queued, json!({"ts": base + queued, "call": call, "queue": "support", "event": "queued"})));
        if end > 0 {
            evs.push((base + end, json!({"ts": base + end, "call": call, "event": event})));
        }
    }
    evs.sort_by_key(|e| e.0);
    evs.into_iter().map(|e| e.1).collect()
}

/// An instant query; the result vector.
async fn query(http: &reqwest::Client, prom: &str, expr: &str) -> Vec<Value> {
    let r: Value =
        http.get(format!("{prom}/api/v1/query")).query(&[("query", expr)]).send().await.unwrap().json().await.unwrap();
    assert_eq!(r["status"], "success", "{expr}: {r}");
    r["data"]["result"].as_array().cloned().unwrap_or_default()
}

fn value(sample: &Value) -> f64 {
    sample["value"][1].as_str().unwrap().parse().unwrap()
}

async fn scalar(http: &reqwest::Client, prom: &str, expr: &str) -> f64 {
    let r = query(http, prom, expr).await;
    assert_eq!(r.len(), 1, "{expr}: {r:?}");
    value(&r[0])
}

/// Grafana's own variables, as a dashboard would expand them.
fn expand(expr: &str) -> String {
    let e = expr
        .replace("$__rate_interval", "1m")
        .replace("${__rate_interval}", "1m")
        .replace("$__interval", "15s")
        .replace("$__range", "1h");
    assert!(!e.contains('$'), "panels.txt expression with a variable this test cannot expand: {expr}");
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_what_the_snapshot_says() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("prometheus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tsdb")).unwrap();
    let mut procs = Procs { children: Vec::new(), dir: dir.clone() };

    let (http_port, tcp_port, prom_port) = (free_port(), free_port(), free_port());
    let fw = format!("http://127.0.0.1:{http_port}");
    let prom = format!("http://127.0.0.1:{prom_port}");
    // AHT chart points of 10 minutes with a baseline of 2, so a 40-minute floor has limits.
    let toml =
        "[peak]\nwindows = [\"09:00-11:30\"]\n[aht_chart]\ninterval_mins = 10\nmin_contacts = 2\nbaseline_points = 2\n";
    std::fs::write(dir.join("floorwatch.toml"), toml).unwrap();
    let config = dir.join("floorwatch.toml").to_string_lossy().into_owned();
    let http_addr = format!("127.0.0.1:{http_port}");
    let tcp_addr = format!("127.0.0.1:{tcp_port}");
    spawn(
        &mut procs,
        "floorwatch.log",
        env!("CARGO_BIN_EXE_floorwatch"),
        &["serve", "--config", &config, "--no-journal", "--clock", "event", "--http", &http_addr, "--tcp", &tcp_addr],
    );
    std::fs::write(
        dir.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: floorwatch\n    \
             static_configs:\n      - targets: [\"127.0.0.1:{http_port}\"]\n"
        ),
    )
    .unwrap();
    let prom_config = format!("--config.file={}", dir.join("prometheus.yml").display());
    let prom_tsdb = format!("--storage.tsdb.path={}", dir.join("tsdb").display());
    let prom_listen = format!("--web.listen-address=127.0.0.1:{prom_port}");
    spawn(&mut procs, "prometheus.log", "/usr/bin/prometheus", &[&prom_config, &prom_tsdb, &prom_listen]);

    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !http.get(format!("{fw}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
        assert!(Instant::now() < deadline, "floorwatch not ready:\n{}", procs.log("floorwatch.log"));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let batch = events();
    let counts: Value =
        http.post(format!("{fw}/api/v1/events")).json(&batch).send().await.unwrap().json().await.unwrap();
    assert_eq!(counts["applied"], batch.len(), "{counts}");
    let snap: Value =
        http.get(format!("{fw}/api/v1/snapshot?agents=false")).send().await.unwrap().json().await.unwrap();
    assert_eq!(snap["now"], "2026-11-23T09:40:00.000Z");

    // Up, and scraped a few times since the events were posted (rate() needs two samples).
    let posted = Instant::now();
    loop {
        let ready = http.get(format!("{prom}/-/ready")).send().await.is_ok_and(|r| r.status().is_success());
        if ready {
            let up = query(&http, &prom, r#"up{job="floorwatch"} == 1"#).await;
            let scrapes = query(
                &http,
                &prom,
                r#"count_over_time(floorwatch_events_total{source="http",outcome="applied"}[1m]) >= 3"#,
            )
            .await;
            if !up.is_empty() && !scrapes.is_empty() && posted.elapsed() > Duration::from_secs(3) {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never scraped floorwatch:\n{}\n--- floorwatch ---\n{}",
            procs.log("prometheus.log"),
            procs.log("floorwatch.log")
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Every Grafana panel shows data, but the AHT chart of days: a 40-minute floor closes
    // no local day, and the snapshot says so too (the chart's gauges are compared below).
    let no_day_closed = snap["teams"].as_array().unwrap().iter().all(|t| t["aht_chart"]["day"] == json!([]));
    assert!(no_day_closed, "{}", snap["teams"]);
    let panels = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/grafana/panels.txt")).unwrap();
    let mut n = 0;
    for line in panels.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        let (title, expr) = line.split_once('\t').unwrap_or_else(|| panic!("not `title<TAB>expr`: {line:?}"));
        let r = query(&http, &prom, &expand(expr)).await;
        if title == "AHT control chart, days" {
            assert!(r.is_empty(), "panel {title:?} has data of no closed day: {r:?}");
        } else if title == "Schedule adherence by team" {
            // This floor has no roster: no team has an adherence (docs/adherence.md).
            assert!(r.is_empty(), "panel {title:?} has data without a roster: {r:?}");
        } else {
            assert!(!r.is_empty(), "panel {title:?} has no data: {expr}");
        }
        n += 1;
    }
    assert!(n >= 10, "only {n} panels in panels.txt");

    // Current counts: the sum over teams is the floor's.
    let current = &snap["floor"]["current"];
    for state in ["talking", "acw", "aux", "idle", "offline"] {
        let v = scalar(&http, &prom, &format!(r#"sum(floorwatch_agents{{state="{state}"}})"#)).await;
        assert_eq!(v, current[state].as_f64().unwrap(), "{state}");
    }
    let v = scalar(&http, &prom, "sum(floorwatch_agents_aux_unplanned)").await;
    assert_eq!(v, current["aux_unplanned"].as_f64().unwrap());

    // Window figures per team: equal to the snapshot's, and absent where it says null.
    let teams = snap["teams"].as_array().unwrap();
    assert_eq!(teams.len(), 3);
    for (metric, field) in [
        ("floorwatch_talk_utilization_ratio", "talk_utilization"),
        ("floorwatch_aux_ratio", "aux_ratio"),
        ("floorwatch_occupancy_ratio", "occupancy"),
        ("floorwatch_aux_ratio_cv", "aux_ratio_cv"),
        ("floorwatch_aht_seconds", "aht_s"),
    ] {
        let series = query(&http, &prom, metric).await;
        for t in teams {
            let team = t["team"].as_str().unwrap();
            for window in snap["windows"].as_array().unwrap() {
                let window = window.as_str().unwrap();
                let got: Vec<f64> = series
                    .iter()
                    .filter(|s| s["metric"]["team"] == team && s["metric"]["window"] == window)
                    .map(value)
                    .collect();
                match t["windows"][window][field].as_f64() {
                    Some(want) => {
                        assert_eq!(got.len(), 1, "{metric} {team} {window}");
                        assert!((got[0] - want).abs() < 1e-9, "{metric} {team} {window}: {} vs {want}", got[0]);
                    }
                    None => assert!(got.is_empty(), "{metric} {team} {window} is null in the snapshot: {got:?}"),
                }
            }
        }
    }
    let t1 = teams.iter().find(|t| t["team"] == "T1").unwrap();
    let u = scalar(&http, &prom, r#"floorwatch_talk_utilization_ratio{team="T1",window="60m"}"#).await;
    assert!((u - t1["windows"]["60m"]["talk_utilization"].as_f64().unwrap()).abs() < 1e-9);
    assert!(t1["windows"]["peak_today"]["aux_ratio_cv"].is_f64(), "the test floor should define the peak CV");

    // Per-team totals and flags.
    for t in teams {
        let team = t["team"].as_str().unwrap();
        let contacts = t["windows"]["today"]["contacts"].as_f64().unwrap();
        assert!(contacts > 0.0);
        assert_eq!(scalar(&http, &prom, &format!(r#"floorwatch_contacts_total{{team="{team}"}}"#)).await, contacts);
        let count = format!(r#"floorwatch_handle_time_seconds_count{{team="{team}"}}"#);
        assert_eq!(scalar(&http, &prom, &count).await, contacts);
        let peak = if t["peak"].as_bool().unwrap() { 1.0 } else { 0.0 };
        assert_eq!(scalar(&http, &prom, &format!(r#"floorwatch_peak{{team="{team}"}}"#)).await, peak);
    }
    // The AHT chart's gauges are each team's last closed point, as the snapshot has it.
    let mut limits = 0;
    for t in teams {
        let team = t["team"].as_str().unwrap();
        let last = t["aht_chart"]["10m"].as_array().unwrap().last().cloned().unwrap_or(Value::Null);
        for (metric, field) in [
            ("floorwatch_aht_point_seconds", "mean_s"),
            ("floorwatch_aht_center_seconds", "cl_s"),
            ("floorwatch_aht_ucl_seconds", "ucl_s"),
            ("floorwatch_aht_lcl_seconds", "lcl_s"),
        ] {
            let got: Vec<f64> = query(&http, &prom, &format!(r#"{metric}{{team="{team}",interval="10m"}}"#))
                .await
                .iter()
                .map(value)
                .collect();
            match last[field].as_f64() {
                Some(want) => {
                    assert_eq!(got.len(), 1, "{metric} {team}");
                    assert!((got[0] - want).abs() < 1e-9, "{metric} {team}: {} vs {want}", got[0]);
                    limits += usize::from(field == "ucl_s");
                }
                None => assert!(got.is_empty(), "{metric} {team} is null in the snapshot: {got:?}"),
            }
        }
    }
    assert!(limits > 0, "some team's last point has limits: {}", snap["teams"]);
    let applied = r#"floorwatch_events_total{source="http",outcome="applied"}"#;
    assert_eq!(scalar(&http, &prom, applied).await, batch.len() as f64);
    drop(procs);
}
