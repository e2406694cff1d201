//! SPEC §8 (queues and service level) and §3.2 (contacts and handle times) against an
//! independent exact computation.
//!
//! `tests/oracle/queues_oracle.py` (Python 3, standard library only) computes from the
//! SPEC's and the docs' words alone: the outcome of every line (agent and call events
//! mixed, one event clock), per queue and for the floor the `current` figures and every
//! §8.2 window figure, the queue alerts `long_wait` and `service_level_low` (§8.3), and per
//! agent, team and floor the `contacts` / `aht_s` of every window (`peak_today` from the
//! configured peak windows) with each team's `handle_time.contacts_total`.
//!
//! Floors, each replayed with `floorwatch replay` at several `--now`:
//! - **worked-example**: SPEC §8.5 verbatim, its documented figures asserted on the oracle.
//! - **edges**: hand-written, America/New_York (local midnight = 05:00Z): a call answered
//!   exactly at `sl_secs` and 1 ms over, abandoned exactly at `short_abandon_secs` and
//!   1 ms under, a call ending as it reaches the `long_wait` limit and 1 ms after, touching
//!   `long_wait` stretches, a transfer (left `sales`, queued `support` under one id), ending
//!   events naming another queue, out-of-order events of one call (duplicate / late), a
//!   call delivered late (within the backfill) and one too old, invalid call events, a
//!   service level exactly at target, a call ended exactly at local midnight and exactly at
//!   the start of a window, contacts completing on peak edges and with a team move.
//! - **edges-answered-only**: the same events, `sl_mode = "answered_only"` and other
//!   thresholds.
//! - **kolkata-sim**: `floorwatch simulate --queues 3` in Asia/Kolkata over local midnight,
//!   4% ingest noise, a peak window over midnight.
//!
//! Integers must agree exactly, seconds to the millisecond, ratios to 1e-9, alerts field
//! by field. Any difference fails the test, listing every one.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

const BIN: &str = env!("CARGO_BIN_EXE_floorwatch");
const KINDS: &[&str] = &["long_wait", "service_level_low"];
const COUNTS: &[&str] = &["offered", "answered", "abandoned", "left", "short_abandoned", "answered_in_sl"];
const RATIOS: &[&str] = &["service_level", "abandon_rate", "asa_s"];

fn oracle_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/queues_oracle.py")
}

/// The events of SPEC §8.5's worked example, verbatim (tests/queues.rs checks the SPEC's own numbers).
const WORKED_EXAMPLE: &str = include_str!("fixtures/spec-8.5-events.ndjson");

const EDGES: &str = r#"{"ts":"2026-11-23T04:50:00Z","agent":"H1","state":"idle","team":"Q1","seq":1}
{"ts":"2026-11-23T04:50:00Z","agent":"H2","state":"Available","team":"Q1"}
{"ts":"2026-11-23T04:50:00Z","agent":"H3","state":"idle","team":"Q2"}
{"ts":"2026-11-23T04:59:50Z","call":"e1","queue":"support","event":"queued"}
{"ts":"2026-11-23T05:00:00Z","call":"e1","event":"answered","agent":"H1"}
{"ts":"2026-11-23T05:00:00Z","agent":"H1","state":"On_Call","seq":2}
{"ts":"2026-11-23T05:00:00Z","call":"e2","queue":"support","event":"queued"}
{"ts":"2026-11-23T05:00:10.001Z","call":"e2","event":"answered","agent":"H4"}
{"ts":"2026-11-23T05:00:10.001Z","agent":"H4","state":"talking","team":"Q2"}
{"ts":"2026-11-23T05:01:00Z","call":"e3","queue":"support","event":"queued"}
{"ts":"2026-11-23T05:01:00Z","call":"e4","queue":"support","event":"queued"}
{"ts":"2026-11-23T05:01:04.999Z","call":"e4","event":"abandoned"}
{"ts":"2026-11-23T05:01:05Z","call":"e3","event":"abandoned"}
{"ts":"2026-11-23T05:02:00Z","agent":"H1","state":"acw","seq":3}
{"ts":"2026-11-23T05:02:00Z","call":"e5","queue":"support","event":"queued"}
{"ts":"2026-11-23T05:02:00Z","call":"e6","queue":"support","event":"queued"}
{"ts":"2026-11-23T05:03:00Z","call":"e5","event":"answered","agent":"H1"}
{"ts":"2026-11-23T05:03:00Z","agent":"H1","state":"talking","seq":4}
{"ts":"2026-11-23T05:03:00.001Z","call":"e6","event":"left"}
{"ts":"2026-11-23T05:04:00Z","call":"t1","queue":"sales","event":"queued"}
{"ts":"2026-11-23T05:04:00Z","agent":"H4","state":"Wrapup"}
{"ts":"2026-11-23T05:04:30Z","call":"t1","event":"left","queue":"sales"}
{"ts":"2026-11-23T05:04:30Z","call":"t1","queue":"support","event":"queued"}
{"ts":"2026-11-23T05:05:00Z","agent":"H1","state":"offline","seq":5}
{"ts":"2026-11-23T05:05:45Z","call":"t1","event":"answered","queue":"sales","agent":"H3"}
{"ts":"2026-11-23T05:06:00Z","agent":"H1","state":"idle","seq":6}
{"ts":"2026-11-23T05:06:00Z","agent":"H3","state":"talking"}
{"ts":"2026-11-23T05:07:00Z","agent":"H1","state":"acw","seq":7}
{"ts":"2026-11-23T05:08:00Z","agent":"H1","state":"idle","seq":8}
{"ts":"2026-11-23T05:10:00Z","call":"t2","queue":"support","event":"queued"}
{"ts":"2026-11-23T05:10:00Z","agent":"H2","state":"talking"}
{"ts":"2026-11-23T05:10:30Z","call":"t3","queue":"support","event":"queued"}
{"ts":"2026-11-23T05:11:30Z","call":"t2","event":"abandoned"}
{"ts":"2026-11-23T05:11:59.999Z","agent":"H3","state":"idle"}
{"ts":"2026-11-23T05:12:00Z","call":"t3","event":"answered","queue":"sales","agent":"H2"}
{"ts":"2026-11-23T05:12:00Z","agent":"H2","state":"idle"}
{"ts":"2026-11-23T05:13:00Z","call":"x1","event":"left"}
{"ts":"2026-11-23T05:13:10Z","call":"x1","queue":"support","event":"queued"}
{"ts":"2026-11-23T05:13:05Z","call":"x1","event":"answered"}
{"ts":"2026-11-23T05:13:20Z","call":"x1","event":"answered"}
{"ts":"2026-11-23T05:13:15Z","call":"x1","queue":"support","event":"queued"}
{"ts":"2026-11-23T05:14:00Z","call":"x1","queue":"billing","event":"queued"}
{"ts":"2026-11-23T05:14:01Z","call":"x1","queue":"billing","event":"queued"}
{"ts":"2026-11-23T05:14:02Z","call":"x1","queue":"support","event":"abandoned"}
{"ts":"2026-11-23T05:06:00Z","call":"y1","queue":"support","event":"queued"}
{"ts":"2026-11-23T05:07:30Z","call":"y1","event":"answered"}
{"ts":"2026-11-23T02:00:00Z","call":"z1","queue":"support","event":"queued"}
{"ts":"2026-11-23T05:14:03Z","call":"bad1","queue":"support","event":"Answered"}
{"ts":"2026-11-23T05:14:03Z","call":"bad2","event":"queued"}
{"ts":"2026-11-23T05:14:03Z","call":"","queue":"support","event":"queued"}
{"ts":"2026-11-23T05:14:03Z","call":"bad3","queue":"support","event":"queued","agent":5}
{"ts":"2026-11-23T05:14:03Z","call":"bad4","queue":7,"event":"queued"}
{"ts":"2026-11-23T05:14:03Z","call":null,"queue":"support","event":"queued"}
{"call":"bad5","queue":"support","event":"queued"}
{"ts":"2026-11-23T05:15:00Z","agent":"H4","state":"idle","team":"Q1"}
{"ts":"2026-11-23T05:20:00Z","call":"s1","queue":"sales","event":"queued"}
{"ts":"2026-11-23T05:20:00Z","call":"s2","queue":"sales","event":"queued"}
{"ts":"2026-11-23T05:20:00Z","call":"s3","queue":"sales","event":"queued"}
{"ts":"2026-11-23T05:20:05Z","call":"s1","event":"answered"}
{"ts":"2026-11-23T05:20:30Z","call":"s2","event":"answered"}
{"ts":"2026-11-23T05:21:00Z","call":"s3","event":"abandoned"}
{"ts":"2026-11-23T05:22:30Z","call":"s4","queue":"sales","event":"queued"}
{"ts":"2026-11-23T05:22:31Z","call":"s4","event":"answered"}
{"ts":"2026-11-23T05:24:10Z","call":"s5","queue":"sales","event":"queued"}
{"ts":"2026-11-23T05:24:20Z","call":"s5","event":"abandoned"}
{"ts":"2026-11-23T05:25:25Z","call":"s6","queue":"sales","event":"queued"}
{"ts":"2026-11-23T05:25:30Z","call":"s6","event":"answered"}
{"ts":"2026-11-23T05:40:00Z","call":"w1","queue":"support","event":"queued"}
{"ts":"2026-11-23T05:41:00Z","call":"w2","queue":"billing","event":"queued"}
{"ts":"2026-11-23T05:41:30Z","agent":"H2","state":"aux","reason":"break"}
"#;

struct Floor {
    name: &'static str,
    dir: PathBuf,
    toml: &'static str,
    oracle_cfg: &'static str,
    nows: &'static [Option<&'static str>],
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn floor(root: &Path, name: &'static str, events: Option<&str>) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    if let Some(e) = events {
        std::fs::write(dir.join("events.ndjson"), e).unwrap();
    }
    dir
}

fn floors(root: &Path) -> Vec<Floor> {
    let sim = floor(root, "kolkata-sim", None);
    run(Command::new(BIN)
        .args([
            "simulate",
            "--agents",
            "30",
            "--teams",
            "3",
            "--queues",
            "3",
            "--seed",
            "11",
            "--timezone",
            "Asia/Kolkata",
            "--start",
            "2026-11-23T21:00:00+05:30",
            "--duration",
            "5h",
            "--no-shifts",
            "--noise",
            "0.04",
            "--out",
        ])
        .arg(sim.join("events.ndjson")));
    vec![
        Floor {
            name: "worked-example",
            dir: floor(root, "worked-example", Some(WORKED_EXAMPLE)),
            toml: "[alerts.service_level_low]\nmin_calls = 2\nconsecutive = 2\n",
            oracle_cfg: r#"{"sll_min_calls": 2, "sll_consecutive": 2}"#,
            nows: &[
                None,
                Some("2026-11-23T09:01:20Z"),
                Some("2026-11-23T09:01:10Z"),
                Some("2026-11-23T09:01:09.999Z"),
                Some("2026-11-23T09:02:59.999Z"),
            ],
        },
        Floor {
            name: "edges",
            dir: floor(root, "edges", Some(EDGES)),
            toml: "[floor]\nwindows = [\"15m\", \"60m\", \"today\", \"peak_today\", \"30s\"]\n\
                   timezone = \"America/New_York\"\n[peak]\nwindows = [\"00:05-00:12\"]\n\
                   [queues]\nsl_target = 0.5\n[alerts.service_level_low]\nmin_calls = 3\nconsecutive = 2\n",
            oracle_cfg: r#"{"timezone": "America/New_York", "windows": ["15m", "60m", "today", "peak_today", "30s"],
                            "peak_windows": ["00:05-00:12"], "sl_target": 0.5,
                            "sll_min_calls": 3, "sll_consecutive": 2}"#,
            nows: &[
                None,
                Some("2026-11-23T05:00:00Z"),
                Some("2026-11-23T05:00:30Z"),
                Some("2026-11-23T05:03:00Z"),
                Some("2026-11-23T05:03:00.001Z"),
                Some("2026-11-23T05:03:30Z"),
                Some("2026-11-23T05:05:40Z"),
                Some("2026-11-23T05:11:30Z"),
                Some("2026-11-23T05:12:00Z"),
                Some("2026-11-23T05:22:00Z"),
                Some("2026-11-23T05:23:59.999Z"),
                Some("2026-11-23T05:36:00Z"),
            ],
        },
        Floor {
            name: "edges-answered-only",
            dir: floor(root, "edges-answered-only", Some(EDGES)),
            toml: "[floor]\nwindows = [\"2m\", \"today\", \"peak_today\"]\ntimezone = \"America/New_York\"\n\
                   [peak]\nwindows = [\"23:55-00:06\"]\n\
                   [queues]\nsl_mode = \"answered_only\"\nsl_target = 0.8\nsl_secs = 20\nshort_abandon_secs = 3\n\
                   [alerts.long_wait]\nmax_wait_secs = 45\n\
                   [alerts.service_level_low]\nmin_calls = 2\nconsecutive = 3\n",
            oracle_cfg: r#"{"timezone": "America/New_York", "windows": ["2m", "today", "peak_today"],
                            "peak_windows": ["23:55-00:06"], "sl_mode": "answered_only", "sl_target": 0.8,
                            "sl_secs": 20, "short_abandon_secs": 3, "long_wait_max_secs": 45,
                            "sll_min_calls": 2, "sll_consecutive": 3}"#,
            nows: &[None, Some("2026-11-23T05:11:00Z"), Some("2026-11-23T05:21:30Z"), Some("2026-11-23T05:05:15Z")],
        },
        Floor {
            name: "kolkata-sim",
            dir: sim,
            toml: "[floor]\nwindows = [\"15m\", \"60m\", \"today\", \"peak_today\", \"2h\"]\ntimezone = \"Asia/Kolkata\"\n\
                   [peak]\nwindows = [\"23:30-00:30\", \"09:30-11:30\"]\n[queues]\nsl_target = 0.95\n\
                   [alerts.long_wait]\nmax_wait_secs = 20\n[alerts.service_level_low]\nmin_calls = 5\n",
            oracle_cfg: r#"{"timezone": "Asia/Kolkata", "windows": ["15m", "60m", "today", "peak_today", "2h"],
                            "peak_windows": ["23:30-00:30", "09:30-11:30"], "sl_target": 0.95,
                            "long_wait_max_secs": 20, "sll_min_calls": 5}"#,
            nows: &[
                None,
                Some("2026-11-24T00:00:00+05:30"),
                Some("2026-11-23T23:45:10.5+05:30"),
                Some("2026-11-24T01:17:00+05:30"),
            ],
        },
    ]
}

fn replay(f: &Floor, now: Option<&str>) -> Value {
    let mut cmd = Command::new(BIN);
    cmd.arg("replay").arg(f.dir.join("events.ndjson")).arg("--config").arg(f.dir.join("floor.toml"));
    if let Some(n) = now {
        cmd.args(["--now", n]);
    }
    serde_json::from_slice(&run(&mut cmd)).expect("replay prints one JSON document")
}

fn expected(f: &Floor, now: Option<&str>) -> Value {
    let mut cmd = Command::new("python3");
    cmd.arg(oracle_script()).arg("--events").arg(f.dir.join("events.ndjson"));
    cmd.args(["--config-json", f.oracle_cfg]);
    if let Some(n) = now {
        cmd.args(["--now", n]);
    }
    serde_json::from_slice(&run(&mut cmd)).expect("the oracle prints one JSON document")
}

fn ms(v: &Value) -> Option<i64> {
    v.as_f64().map(|x| (x * 1000.0).round() as i64)
}

fn same_ratio(got: &Value, want: &Value) -> bool {
    match (got.as_f64(), want.as_f64()) {
        (Some(g), Some(w)) => (g - w).abs() <= 1e-9 * w.abs().max(1.0),
        _ => got.is_null() && want.is_null(),
    }
}

fn keys(v: &Value) -> Vec<String> {
    v.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

/// A queue entry (or `floor.queues`): `current` and every window's figures.
fn queue_entry(d: &mut Vec<String>, at: &str, got: &Value, want: &Value) {
    let (gc, wc) = (&got["current"], &want["current"]);
    if gc["waiting"] != wc["waiting"] {
        d.push(format!("{at} current.waiting: got {}, want {}", gc["waiting"], wc["waiting"]));
    }
    if ms(&gc["longest_wait_s"]) != ms(&wc["longest_wait_s"])
        || gc["longest_wait_s"].is_null() != wc["longest_wait_s"].is_null()
    {
        d.push(format!("{at} current.longest_wait_s: got {}, want {}", gc["longest_wait_s"], wc["longest_wait_s"]));
    }
    let (mut gk, mut wk) = (keys(&got["windows"]), keys(&want["windows"]));
    gk.sort();
    wk.sort();
    if gk != wk {
        d.push(format!("{at} windows: got {gk:?}, want {wk:?}"));
    }
    for w in &wk {
        let (g, e) = (&got["windows"][w], &want["windows"][w]);
        for k in COUNTS {
            if g[k] != e[k] {
                d.push(format!("{at} {w}.{k}: got {}, want {}", g[k], e[k]));
            }
        }
        for k in RATIOS {
            if !same_ratio(&g[k], &e[k]) {
                d.push(format!("{at} {w}.{k}: got {}, want {}", g[k], e[k]));
            }
        }
    }
}

fn contacts(d: &mut Vec<String>, at: &str, got: &Value, want: &Value) {
    for (w, e) in want.as_object().unwrap() {
        let g = &got[w];
        if g["contacts"] != e["contacts"] {
            d.push(format!("{at} {w}.contacts: got {}, want {}", g["contacts"], e["contacts"]));
        }
        if !same_ratio(&g["aht_s"], &e["aht_s"]) {
            d.push(format!("{at} {w}.aht_s: got {}, want {}", g["aht_s"], e["aht_s"]));
        }
    }
}

fn by_key<'a>(v: &'a Value, key: &str) -> BTreeMap<String, &'a Value> {
    v.as_array()
        .map(|a| a.iter().map(|x| (x[key].as_str().unwrap_or("?").to_string(), x)).collect())
        .unwrap_or_default()
}

fn compare(s: &Value, o: &Value) -> Vec<String> {
    let mut d = Vec::new();
    for k in ["applied", "duplicate", "late", "invalid"] {
        if s["ingest"][k] != o["ingest"][k] {
            d.push(format!("ingest.{k}: got {}, want {}", s["ingest"][k], o["ingest"][k]));
        }
    }
    if s["now"] != o["now"] {
        d.push(format!("now: got {}, want {}", s["now"], o["now"]));
    }
    // queues
    let got = by_key(&s["queues"], "queue");
    let want = o["queues"].as_object().unwrap();
    let (gk, wk): (Vec<_>, Vec<_>) = (got.keys().cloned().collect(), want.keys().cloned().collect());
    if gk != wk {
        d.push(format!("queues: got {gk:?}, want {wk:?}"));
    }
    let order: Vec<&str> =
        s["queues"].as_array().map(|a| a.iter().filter_map(|q| q["queue"].as_str()).collect()).unwrap_or_default();
    let mut sorted = order.clone();
    sorted.sort();
    if order != sorted {
        d.push(format!("queues not sorted: {order:?}"));
    }
    for (q, w) in want {
        if let Some(g) = got.get(q) {
            queue_entry(&mut d, &format!("queue {q}"), g, w);
        }
    }
    queue_entry(&mut d, "floor.queues", &s["floor"]["queues"], &o["floor_queues"]);
    // contacts and handle times
    let got = by_key(&s["agents"], "agent");
    let want = o["agents"].as_object().unwrap();
    if got.keys().collect::<Vec<_>>() != want.keys().collect::<Vec<_>>() {
        d.push(format!("agents: got {:?}, want {:?}", got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>()));
    }
    for (a, w) in want {
        if let Some(g) = got.get(a) {
            if g["team"] != w["team"] {
                d.push(format!("agent {a} team: got {}, want {}", g["team"], w["team"]));
            }
            contacts(&mut d, &format!("agent {a}"), &g["windows"], &w["windows"]);
        }
    }
    let got = by_key(&s["teams"], "team");
    let want = o["teams"].as_object().unwrap();
    if got.keys().collect::<Vec<_>>() != want.keys().collect::<Vec<_>>() {
        d.push(format!("teams: got {:?}, want {:?}", got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>()));
    }
    for (t, w) in want {
        if let Some(g) = got.get(t) {
            contacts(&mut d, &format!("team {t}"), &g["windows"], &w["windows"]);
            if g["handle_time"]["contacts_total"] != w["contacts_total"] {
                d.push(format!(
                    "team {t} handle_time.contacts_total: got {}, want {}",
                    g["handle_time"]["contacts_total"], w["contacts_total"]
                ));
            }
        }
    }
    contacts(&mut d, "floor", &s["floor"]["windows"], &o["floor"]["windows"]);
    // queue alerts, field by field
    let queue_alerts: Vec<Value> = s["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"].as_str().is_some_and(|k| KINDS.contains(&k)))
        .cloned()
        .collect();
    let queue_alerts = Value::Array(queue_alerts);
    let got = by_key(&queue_alerts, "id");
    let want = by_key(&o["alerts"], "id");
    for (id, w) in &want {
        let Some(g) = got.get(id) else {
            d.push(format!("alert {id} missing (want {w})"));
            continue;
        };
        for f in
            ["kind", "severity", "team", "queue", "agent", "state", "started_at", "fired_at", "resolved_at", "agents"]
        {
            if g[f] != w[f] {
                d.push(format!("alert {id} {f}: got {}, want {}", g[f], w[f]));
            }
        }
        for f in ["value", "threshold"] {
            if !same_ratio(&g[f], &w[f]) {
                d.push(format!("alert {id} {f}: got {}, want {}", g[f], w[f]));
            }
        }
    }
    for (id, g) in &got {
        if !want.contains_key(id) {
            d.push(format!("alert {id} unexpected: {g}"));
        }
    }
    d
}

#[test]
fn replay_equals_the_independent_queue_computation() {
    let python = Command::new("python3").arg("--version").output();
    assert!(python.is_ok_and(|o| o.status.success()), "python3 is needed to run the oracle");
    let root = tempfile::tempdir().unwrap();
    let floors = floors(root.path());
    for f in &floors {
        std::fs::write(f.dir.join("floor.toml"), f.toml).unwrap();
    }

    struct Outcome {
        at: String,
        diffs: Vec<String>,
        oracle: Value,
    }
    let jobs: Mutex<Vec<(&Floor, Option<&str>)>> =
        Mutex::new(floors.iter().flat_map(|f| f.nows.iter().map(move |n| (f, *n))).collect());
    let results: Mutex<Vec<Outcome>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let Some((f, now)) = jobs.lock().unwrap().pop() else { break };
                    let (s, o) = (replay(f, now), expected(f, now));
                    let diffs = compare(&s, &o);
                    results.lock().unwrap().push(Outcome {
                        at: format!("{} --now {}", f.name, now.unwrap_or("(last event)")),
                        diffs,
                        oracle: o,
                    });
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.at.cmp(&b.at));
    let run =
        |at: &str| -> &Value { &results.iter().find(|r| r.at == at).unwrap_or_else(|| panic!("no run {at}")).oracle };
    let kinds = |o: &Value, k: &str| o["alerts"].as_array().unwrap().iter().filter(|a| a["kind"] == k).count();

    let mut report = Vec::new();
    for r in &results {
        let st = &r.oracle["stats"];
        eprintln!(
            "{}: {} waits, {} contacts, {} long_wait, {} service_level_low, {} differences",
            r.at,
            st["waits"],
            st["contacts"],
            kinds(&r.oracle, "long_wait"),
            kinds(&r.oracle, "service_level_low"),
            r.diffs.len()
        );
        report.extend(r.diffs.iter().map(|d| format!("[{}] {d}", r.at)));
    }

    // The oracle is held to the SPEC's worked example (§8.5) ...
    let ex = run("worked-example --now (last event)");
    assert_eq!(ex["ingest"], serde_json::json!({"applied": 12, "duplicate": 3, "late": 1, "invalid": 1}));
    let w = &ex["queues"]["support"]["windows"]["15m"];
    assert_eq!(
        (&w["offered"], &w["answered"], &w["abandoned"], &w["left"], &w["short_abandoned"], &w["answered_in_sl"]),
        (&3.into(), &2.into(), &1.into(), &0.into(), &1.into(), &1.into())
    );
    assert_eq!(
        (w["service_level"].as_f64(), w["abandon_rate"].as_f64(), w["asa_s"].as_f64()),
        (Some(0.5), Some(0.0), Some(44.0))
    );
    assert_eq!(ex["queues"]["support"]["current"], serde_json::json!({"waiting": 0, "longest_wait_s": null}));
    let ids: Vec<(&str, &str, &str, &Value)> = ex["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (a["id"].as_str().unwrap(), a["fired_at"].as_str().unwrap(), a["state"].as_str().unwrap(), &a["value"])
        })
        .collect();
    assert_eq!(
        ids,
        vec![
            ("long_wait:queue:support:1795424470000", "2026-11-23T09:01:10.000Z", "resolved", &Value::from(60.0)),
            ("service_level_low:queue:support:1795424520000", "2026-11-23T09:03:00.000Z", "firing", &Value::from(0.5)),
        ]
    );
    let ex = run("worked-example --now 2026-11-23T09:01:20Z");
    assert_eq!(ex["queues"]["support"]["current"], serde_json::json!({"waiting": 1, "longest_wait_s": 70.0}));
    let w = &ex["queues"]["support"]["windows"]["15m"];
    assert_eq!((w["service_level"].as_f64(), w["asa_s"].as_f64()), (Some(1.0), Some(8.0)));

    // ... and to the hand-worked edges.
    let e = run("edges --now (last event)");
    assert_eq!(e["ingest"], serde_json::json!({"applied": 58, "duplicate": 2, "late": 3, "invalid": 7}));
    let lw: Vec<(&str, &Value)> = e["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "long_wait")
        .map(|a| (a["started_at"].as_str().unwrap(), &a["resolved_at"]))
        .collect();
    assert_eq!(
        lw,
        vec![
            ("2026-11-23T05:03:00.000Z", &Value::from("2026-11-23T05:03:00.001Z")), // e6: 1 ms over; e5 at the limit: none
            ("2026-11-23T05:05:30.000Z", &Value::from("2026-11-23T05:05:45.000Z")), // t1 after its transfer
            ("2026-11-23T05:07:00.000Z", &Value::from("2026-11-23T05:07:30.000Z")), // y1, delivered late
            ("2026-11-23T05:11:00.000Z", &Value::from("2026-11-23T05:12:00.000Z")), // t2 + t3 touching
            ("2026-11-23T05:41:00.000Z", &Value::Null),                             // w1, still waiting
        ]
    );
    let sup = &e["queues"]["support"]["windows"]["today"];
    // e1 (10 s, ended at local midnight) and x1 (10 s) in SL, e2 (10.001 s) not; e4 short, e3 (5 s) not.
    assert_eq!((&sup["answered_in_sl"], &sup["short_abandoned"], &sup["abandoned"]), (&2.into(), &1.into(), &3.into()));
    let sll: Vec<(&str, &str, &Value)> = e["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "service_level_low" && a["queue"] == "sales")
        .map(|a| (a["started_at"].as_str().unwrap(), a["fired_at"].as_str().unwrap(), &a["resolved_at"]))
        .collect();
    // 1/3 at 05:21 and 05:22; exactly the target (2/4) at 05:23 and 05:24; 2/5 at 05:25 alone.
    assert_eq!(
        sll,
        vec![("2026-11-23T05:21:00.000Z", "2026-11-23T05:22:00.000Z", &Value::from("2026-11-23T05:24:00.000Z"))]
    );
    let mid = run("edges --now 2026-11-23T05:00:00Z");
    assert_eq!(
        mid["queues"]["support"]["windows"]["today"]["answered"], 1,
        "a call ended at local midnight is today's"
    );
    let h1 = &run("edges --now 2026-11-23T05:03:30Z")["agents"]["H1"]["windows"];
    assert_eq!((&h1["30s"]["contacts"], &h1["30s"]["aht_s"]), (&1.into(), &180.0.into()), "completed at now - 30 s");
    let t = &e["teams"];
    assert_eq!(
        (&t["Q1"]["windows"]["peak_today"]["contacts"], &t["Q2"]["windows"]["peak_today"]["contacts"]),
        (&1.into(), &1.into())
    );

    // Minimum activity, so that an empty run cannot pass.
    let sim = run("kolkata-sim --now (last event)");
    assert!(sim["stats"]["waits"].as_u64().unwrap() >= 500, "kolkata-sim: too few calls");
    assert!(sim["stats"]["contacts"].as_u64().unwrap() >= 500, "kolkata-sim: too few contacts");
    assert!(sim["queues"].as_object().unwrap().len() == 3, "kolkata-sim: 3 queues expected");
    assert!(kinds(sim, "long_wait") >= 10, "kolkata-sim: too few long_wait alerts");
    assert!(kinds(sim, "service_level_low") >= 5, "kolkata-sim: too few service_level_low alerts");
    assert!(kinds(run("edges-answered-only --now (last event)"), "service_level_low") >= 1);
    assert!(results.len() >= 20);

    if !report.is_empty() {
        let shown: Vec<&String> = report.iter().take(150).collect();
        panic!(
            "{} differences between floorwatch replay and the oracle (first {}):\n{}",
            report.len(),
            shown.len(),
            shown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n")
        );
    }
}
