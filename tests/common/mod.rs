//! Shared helpers for black-box tests: a real daemon on 127.0.0.1 port 0.
#![allow(dead_code)]

pub mod aht_model;
pub mod nats;

use std::net::SocketAddr;

use floorwatch::config::FileConfig;
use floorwatch::server::{Listeners, ServeOptions};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub struct Daemon {
    pub http: SocketAddr,
    pub tcp: SocketAddr,
    pub shutdown: CancellationToken,
    pub handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Daemon {
    /// Starts the daemon with `toml` on top of the built-in defaults (journal off).
    pub async fn start(toml: &str) -> Daemon {
        let mut file = FileConfig::parse(toml, "test").expect("test config");
        file.journal.enabled = false;
        let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (h, t) = (http.local_addr().unwrap(), tcp.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(floorwatch::server::run(
            file,
            Listeners { http, tcp },
            ServeOptions { demo: false, base_dir: ".".into() },
            shutdown.clone(),
        ));
        Daemon { http: h, tcp: t, shutdown, handle }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.http, path)
    }

    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        reqwest::get(self.url(path)).await.unwrap().json().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, serde_json::Value) {
        let r = reqwest::Client::new()
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Waits until the snapshot's ingest counts add up to `n` outcomes.
    pub async fn wait_outcomes(&self, n: u64) -> serde_json::Value {
        for _ in 0..400 {
            let s = self.get_json("/api/v1/snapshot").await;
            let i = &s["ingest"];
            let total: u64 =
                ["applied", "duplicate", "late", "invalid"].iter().map(|k| i[k].as_u64().unwrap_or(0)).sum();
            if total >= n {
                return s;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("daemon never reached {n} outcomes");
    }

    /// Waits until `floorwatch_http_body_bytes_in_flight` is at least `bytes` (bodies sent
    /// are charged as the daemon reads them) and returns it; panics after 2 s.
    pub async fn bodies_charged(&self, bytes: f64) -> f64 {
        let mut held = 0.0;
        for _ in 0..200 {
            held = metric(&self.metrics().await, "floorwatch_http_body_bytes_in_flight").unwrap_or(0.0);
            if held >= bytes {
                return held;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("request bodies charged {held} bytes, never {bytes}");
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> String {
        reqwest::get(self.url("/metrics")).await.unwrap().text().await.unwrap()
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.handle.await;
    }
}

/// Replays `ndjson` with the built-in defaults plus `toml`, as `floorwatch replay` does.
pub fn replay(ndjson: &str, toml: &str) -> serde_json::Value {
    replay_as_of(ndjson, toml, None)
}

/// [`replay`] with `--now` (RFC 3339 or epoch ms): the floor as of that instant.
pub fn replay_as_of(ndjson: &str, toml: &str, now: Option<&str>) -> serde_json::Value {
    let settings = FileConfig::parse(toml, "test").unwrap().settings().unwrap();
    let now = now.map(|n| floorwatch::time::parse_instant(n).expect("an instant"));
    let mut out = Vec::new();
    floorwatch::replay::run(settings, ndjson.as_bytes(), now, 65536, &mut out).unwrap();
    serde_json::from_slice(&out).unwrap()
}

/// Deterministic numbers below `n` (xorshift64 from `seed`): the randomness of the noisy
/// traces and floors, the same on every machine.
pub fn xorshift(seed: u64) -> impl FnMut(u64) -> u64 {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    }
}

/// The comma-separated numbers in environment variable `var` (the seeds or rounds a
/// random test runs), or `default`'s.
pub fn env_list(var: &str, default: &str) -> Vec<u64> {
    let list = std::env::var(var).unwrap_or_else(|_| default.into());
    list.split(',').map(|s| s.trim().parse().unwrap_or_else(|_| panic!("{var}: {s:?} is not a number"))).collect()
}

/// The settings of an event-clock floor in zone `tz` with `extra` TOML (after `[floor]`'s
/// zone; tables of its own) and roster `csv`, written to `dir` and read as `[roster] file`
/// is read. Resolved alerts are kept for good, as `replay` keeps them (the daemon keeps 48
/// hours, SPEC §5.2's "at least the last 24 h": which of the older ones are still there
/// depends on when its housekeeping ran).
pub fn rostered_settings(dir: &std::path::Path, tz: &str, extra: &str, csv: &str) -> floorwatch::settings::Settings {
    let roster = dir.join("roster.csv");
    std::fs::write(&roster, csv).unwrap();
    let toml = format!(
        "[server]\nclock = \"event\"\n[floor]\ntimezone = \"{tz}\"\n{extra}\n[roster]\nfile = {:?}\n",
        roster.to_str().unwrap()
    );
    let file = FileConfig::parse(&toml, "test").unwrap();
    let mut settings = file.settings().unwrap();
    settings.roster = file.roster_upload(dir, &settings.tz).unwrap().map(std::sync::Arc::new);
    assert!(settings.roster.is_some(), "the roster file is read");
    settings.keep_resolved_alerts_ms = floorwatch::time::Ms::MAX;
    settings
}

/// The whole snapshot (every agent and alert) of `engine` at its newest event.
pub fn whole_snapshot(engine: &mut floorwatch::engine::Engine) -> serde_json::Value {
    let now = engine.latest().expect("events applied");
    let opts = floorwatch::engine::ViewOpts { team: None, agents: true, alerts: true, scrape: false };
    serde_json::to_value(floorwatch::snapshot::Snapshot(&engine.view(now, &opts))).unwrap()
}

/// `lines` with those of `team`'s agents stamped within `[from_h, to_h)` (hours UTC, any
/// day) held back until the first line stamped `delay_min` minutes after the first held.
pub fn lag(lines: Vec<String>, team: &str, (from_h, to_h): (i64, i64), delay_min: i64) -> Vec<String> {
    let ts = |l: &str| -> Option<i64> {
        let v: serde_json::Value = serde_json::from_str(l).ok()?;
        floorwatch::time::parse_rfc3339(v["ts"].as_str()?)
    };
    let mut team_of = std::collections::HashMap::new();
    let (mut out, mut held, mut release) = (Vec::new(), Vec::new(), i64::MAX);
    for l in lines {
        let v = serde_json::from_str::<serde_json::Value>(&l).ok();
        let agent = v.as_ref().and_then(|v| v["agent"].as_str().map(String::from));
        if let (Some(a), Some(t)) = (&agent, v.as_ref().and_then(|v| v["team"].as_str())) {
            team_of.insert(a.clone(), t.to_string());
        }
        let t = ts(&l);
        if t.is_some_and(|t| t >= release) {
            out.append(&mut held);
            release = i64::MAX;
        }
        let hour = t.map(|t| t.rem_euclid(86_400_000) / 3_600_000);
        let late = agent.is_some_and(|a| team_of.get(&a).is_some_and(|x| x == team))
            && hour.is_some_and(|h| (from_h..to_h).contains(&h));
        if late {
            if held.is_empty() {
                release = t.unwrap() + delay_min * 60_000;
            }
            held.push(l);
        } else {
            out.push(l);
        }
    }
    out.append(&mut held);
    out
}

/// The paths at which JSON documents `a` and `b` differ (at most `max`), for a readable
/// failure: array entries named by their `agent`, `team`, `id` or `queue` when they have
/// one, arrays of different lengths by the entries only one side has.
pub fn json_differences(a: &serde_json::Value, b: &serde_json::Value, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    differences(a, b, "", &mut out, max);
    out
}

fn differences(a: &serde_json::Value, b: &serde_json::Value, path: &str, out: &mut Vec<String>, max: usize) {
    use serde_json::Value;
    if out.len() >= max || a == b {
        return;
    }
    let name = |e: &Value| e.get("agent").or(e.get("team")).or(e.get("id")).or(e.get("queue")).cloned();
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                differences(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    &format!("{path}.{k}"),
                    out,
                    max,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                differences(p, q, &format!("{path}[{}]", name(p).map_or(i.to_string(), |v| v.to_string())), out, max);
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            let ids = |v: &[Value]| -> Vec<String> {
                v.iter().map(|e| name(e).unwrap_or_else(|| e.clone()).to_string()).collect()
            };
            let (p, q) = (ids(x), ids(y));
            let only =
                |p: &[String], q: &[String]| -> Vec<String> { p.iter().filter(|e| !q.contains(e)).cloned().collect() };
            out.push(format!(
                "{path}: {} against {} entries; only in the first {:?}, only in the second {:?}",
                x.len(),
                y.len(),
                only(&p, &q),
                only(&q, &p)
            ));
        }
        _ => out.push(format!("{path}: {a} against {b}")),
    }
}

/// A day's roster (CSV, 2026-11-23, local times) for agents `A0`..: for agent `a`, a
/// 7-hour shift from 08:00 + 10 min × (a mod 4), a 15-minute break from 10:00 + 5 min ×
/// (a mod 6), a 30-minute lunch from `lunch_min` (minutes after midnight) + 20 min ×
/// (a mod 3) and, for agents 3 mod 7, 45 minutes of training from `training_min`; and
/// `A99`, never seen by the noisy traces, scheduled 09:00-12:00 (a no-show).
pub fn day_roster_csv(agents: i64, lunch_min: i64, training_min: i64) -> String {
    roster_csv_from("2026-11-23", 8 * 60, agents, lunch_min, training_min)
}

/// [`day_roster_csv`]'s roster from `start_min` minutes after midnight of `date` (local
/// times, `YYYY-MM-DD HH:MM`): shifts from `start_min`, breaks two hours later, the no-show
/// from one hour after `start_min` to four; minutes past 24 hours are the next days' (a
/// night shift).
pub fn roster_csv_from(date: &str, start_min: i64, agents: i64, lunch_min: i64, training_min: i64) -> String {
    let day: jiff::civil::Date = date.parse().expect("a date YYYY-MM-DD");
    let hm = |m: i64| {
        let t = day.to_datetime(jiff::civil::Time::midnight()) + jiff::Span::new().minutes(m);
        t.strftime("%Y-%m-%d %H:%M").to_string()
    };
    let mut csv = String::from("agent,start,end,activity\n");
    for a in 0..agents {
        let start = start_min + (a % 4) * 10;
        csv += &format!("A{a},{},{},shift\n", hm(start), hm(start + 7 * 60));
        let brk = start_min + 120 + (a % 6) * 5;
        csv += &format!("A{a},{},{},break\n", hm(brk), hm(brk + 15));
        let lunch = lunch_min + (a % 3) * 20;
        csv += &format!("A{a},{},{},lunch\n", hm(lunch), hm(lunch + 30));
        if a % 7 == 3 {
            csv += &format!("A{a},{},{},training\n", hm(training_min), hm(training_min + 45));
        }
    }
    csv + &format!("A99,{},{},shift\n", hm(start_min + 60), hm(start_min + 240))
}

/// A deterministic noisy multi-team trace: several teams, contacts, aux with reasons,
/// team moves, duplicates, late events and garbage.
pub fn noisy_trace(agents: usize, events: usize, seed: u64) -> String {
    let mut rnd = xorshift(seed);
    let states = ["talking", "acw", "aux", "idle", "offline", "talking", "idle", "aux"];
    let reasons = ["break", "restroom", "lunch", "training", "personal"];
    let mut t = 1_795_420_800_000i64; // 2026-11-23T08:00:00Z
    let mut seq = vec![0u64; agents];
    let mut out = String::new();
    for i in 0..events {
        t += rnd(20_000) as i64;
        let a = rnd(agents as u64) as usize;
        seq[a] += 1;
        let state = states[rnd(states.len() as u64) as usize];
        let team = if rnd(10) == 0 || seq[a] == 1 { format!(",\"team\":\"T{}\"", rnd(4)) } else { String::new() };
        let reason =
            if state == "aux" { format!(",\"reason\":\"{}\"", reasons[rnd(5) as usize]) } else { String::new() };
        let line = format!("{{\"ts\":{t},\"agent\":\"A{a}\",\"state\":\"{state}\"{reason}{team},\"seq\":{}}}", seq[a]);
        out.push_str(&line);
        out.push('\n');
        match rnd(40) {
            0 => {
                out.push_str(&line);
                out.push('\n');
            }
            1 => out.push_str(&format!("{{\"ts\":{},\"agent\":\"A{a}\",\"state\":\"idle\"}}\n", t - 3_600_000)),
            2 => out.push_str("{\"agent\": garbage\n"),
            3 if i % 7 == 0 => out.push_str("{\"agent\":\"X\",\"state\":\"sleeping\"}\n"),
            _ => {}
        }
    }
    out
}

/// The value of one series in a Prometheus text exposition, e.g.
/// `metric(&text, "floorwatch_connections_refused_total{listener=\"tcp\"}")`.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.strip_prefix(series).is_some_and(|rest| rest.starts_with(' ')))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// The sum of the series whose text starts with `prefix`, e.g. every reason of
/// `floorwatch_events_total{source="tcp",outcome="invalid"` (refused outcomes carry a
/// `reason` label); `None` when there is none.
pub fn metric_sum(text: &str, prefix: &str) -> Option<f64> {
    let values: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with(prefix) && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

/// `promtool check metrics` (Debian package `prometheus`) accepts the exposition.
pub fn promtool_check(text: &str) {
    let mut child = std::process::Command::new("/usr/bin/promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian package `prometheus`) must be installed");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed: {}{}\n--- exposition ---\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
