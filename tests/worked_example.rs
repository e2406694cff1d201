//! The worked example of docs/figures.md#worked-example, through `replay` exactly as a user runs it.

use floorwatch::config::FileConfig;
use serde_json::Value;

const EVENTS: &str = r#"{"ts":"2026-11-23T09:00:00Z","agent":"A1","state":"idle","team":"T1","seq":1}
{"ts":"2026-11-23T09:00:00Z","agent":"A2","state":"idle","team":"T1"}
{"ts":"2026-11-23T09:01:00Z","agent":"A1","state":"talking","seq":2}
{"ts":"2026-11-23T09:05:00Z","agent":"A1","state":"acw","seq":3}
{"ts":"2026-11-23T09:06:00Z","agent":"A1","state":"idle","seq":4}
{"ts":"2026-11-23T09:06:00Z","agent":"A1","state":"idle","seq":4}
{"ts":"2026-11-23T09:02:00Z","agent":"A2","state":"aux","reason":"break"}
{"ts":"2026-11-23T09:01:00Z","agent":"A2","state":"idle"}
{"ts":"2026-11-23T09:10:00Z","agent":"A2","state":"aux","reason":"training"}
not json
{"ts":"2026-11-23T09:20:00Z","agent":"A2","state":"idle"}
"#;

fn replay(events: &str, now: Option<&str>) -> Value {
    let settings = FileConfig::default().settings().unwrap();
    let mut out = Vec::new();
    let now = now.map(|n| floorwatch::time::parse_instant(n).unwrap());
    floorwatch::replay::run(settings, events.as_bytes(), now, 65536, &mut out).unwrap();
    serde_json::from_slice(&out).unwrap()
}

fn close(v: &Value, expected: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - expected).abs() < 5e-5)
}

#[test]
fn worked_example_of_docs_figures() {
    let s = replay(EVENTS, None);
    assert_eq!(s["now"], "2026-11-23T09:20:00.000Z");
    assert_eq!(s["ingest"], serde_json::json!({"applied": 8, "duplicate": 1, "late": 1, "invalid": 1, "skewed": 0}));
    let t1 = &s["teams"][0];
    assert_eq!(t1["team"], "T1");
    let w = &t1["windows"]["15m"];
    for (k, v) in [
        ("talking_s", 0.0),
        ("acw_s", 60.0),
        ("aux_s", 900.0),
        ("planned_aux_s", 600.0),
        ("idle_s", 840.0),
        ("logged_in_s", 1800.0),
        ("aht_s", 300.0),
    ] {
        assert_eq!(w[k].as_f64(), Some(v), "15m {k}: {}", w[k]);
    }
    assert_eq!(w["contacts"], 1);
    assert!(close(&w["aux_ratio"], 0.1667), "{}", w["aux_ratio"]);
    assert!(close(&w["aux_ratio_mean"], 0.1667));
    assert!(close(&w["aux_ratio_std"], 0.1667));
    assert!(close(&w["aux_ratio_cv"], 1.0));
    assert_eq!(w["talk_utilization_cv"], Value::Null);
    assert_eq!(w["talk_utilization_mean"].as_f64(), Some(0.0));
    let h = &t1["windows"]["60m"];
    assert_eq!(h["talking_s"].as_f64(), Some(240.0));
    assert_eq!(h["aux_s"].as_f64(), Some(1080.0));
    assert_eq!(h["logged_in_s"].as_f64(), Some(2400.0));
    assert!(close(&h["talk_utilization"], 0.1));
    assert!(close(&h["aux_ratio"], 0.2));
    assert!(close(&h["occupancy"], 0.2273), "{}", h["occupancy"]);
    // Agents are listed sorted, with `since` and the reason only in aux.
    let agents = s["agents"].as_array().unwrap();
    assert_eq!(agents.iter().map(|a| a["agent"].as_str().unwrap()).collect::<Vec<_>>(), ["A1", "A2"]);
    assert_eq!(agents[1]["since"], "2026-11-23T09:20:00.000Z");
    assert_eq!(agents[1]["reason"], Value::Null);
    assert_eq!(s["floor"]["current"]["idle"], 2);
    assert_eq!(s["floor"]["current"]["logged_in"], 2);
    assert_eq!(s["alerts"], serde_json::json!([]));
}

#[test]
fn now_later_than_the_last_event_grows_open_intervals() {
    let s = replay(EVENTS, Some("2026-11-23T09:30:00Z"));
    assert_eq!(s["now"], "2026-11-23T09:30:00.000Z");
    // Window [09:15, 09:30): A1 idle throughout (900 s); A2 in training until 09:20, then idle.
    let w = &s["teams"][0]["windows"]["15m"];
    assert_eq!(w["idle_s"].as_f64(), Some(1500.0));
    assert_eq!(w["planned_aux_s"].as_f64(), Some(300.0));
}

/// Runs the `floorwatch replay -` binary on `stdin`: (exit code, stdout, stderr).
fn replay_binary(stdin: &str) -> (i32, String, String) {
    replay_binary_with(stdin, &[])
}

/// [`replay_binary`] with more variables in its environment.
fn replay_binary_with(stdin: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_floorwatch"))
        .envs(env.iter().copied())
        .args(["replay", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.code().unwrap_or(-1), text(out.stdout), text(out.stderr))
}

#[test]
fn replay_says_what_it_read_and_fails_when_nothing_was_applied() {
    // The worked example: a snapshot on stdout, the counts on stderr, success.
    let (code, out, err) = replay_binary(EVENTS);
    assert_eq!(code, 0, "{err}");
    let s: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(s["now"], "2026-11-23T09:20:00.000Z");
    // The line that is not an event is named by its number, then the counts.
    let err: Vec<&str> = err.trim().lines().collect();
    assert_eq!(err.len(), 2, "{err:#?}");
    assert!(err[0].starts_with("replay: line 10: invalid (not_json): not JSON"), "{err:#?}");
    assert_eq!(
        err[1],
        "replay: 11 lines: applied 8, duplicate 1, late 1, invalid 1; snapshot as of 2026-11-23T09:20:00.000Z"
    );
    // Empty input (blank lines are not events): no 1970 snapshot, a word, a failure.
    let (code, out, err) = replay_binary("\n\n");
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err.trim(), "replay: the input is empty: no events, no snapshot");
    // Garbage, or events without the ts a replay needs: counted, nothing applied.
    let (code, out, err) = replay_binary("hello\n{\"agent\":\"A1\",\"state\":\"idle\"}\n");
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err.trim().lines().last(),
        Some("replay: 2 lines, no event applied (applied 0, duplicate 0, late 0, invalid 2): no snapshot")
    );
    assert!(err.starts_with("replay: line 1: invalid (not_json)"), "{err}");
    // Past ten, the lines are counted, not named.
    let garbage = "x\n".repeat(12);
    let (_, _, err) = replay_binary(&garbage);
    assert_eq!(err.lines().filter(|l| l.contains(": invalid (not_json)")).count(), 10, "{err}");
    assert!(err.contains("line 10: invalid (not_json)") && err.contains("the first 10 invalid lines named"), "{err}");
}

/// A long replay asked for its progress ends by saying how long reading and applying the
/// events took apart from the snapshot (docs/events.md#replay), and how fast that was.
#[test]
fn a_long_replay_tells_its_ingest_time_apart_from_the_snapshot() {
    let lines: String = (0..70_000)
        .map(|i| {
            let state = ["talking", "acw", "idle", "aux"][i % 4];
            let reason = if state == "aux" { r#","reason":"break""# } else { "" };
            format!(
                "{{\"ts\":{},\"agent\":\"A{}\",\"team\":\"T1\",\"state\":\"{state}\"{reason}}}\n",
                1_764_000_000_000i64 + i as i64 * 50,
                i % 100
            )
        })
        .collect();
    let (code, _, err) = replay_binary_with(&lines, &[("FLOORWATCH_PROGRESS", "1")]);
    assert_eq!(code, 0, "{err}");
    let last = err.lines().rev().find(|l| l.contains(" lines in ")).unwrap_or_else(|| panic!("no timing in {err}"));
    // replay: 70000 lines in A s: R s reading and applying them (N lines/s), S s the snapshot
    let num = |s: &str| s.trim_end_matches('s').parse::<f64>().unwrap_or_else(|_| panic!("{s:?} in {last}"));
    let w: Vec<&str> = last.split_whitespace().collect();
    assert_eq!(&w[..4], ["replay:", "70000", "lines", "in"], "{last}");
    assert_eq!(&w[6..10], ["reading", "and", "applying", "them"], "{last}");
    assert!(last.ends_with("s the snapshot"), "{last}");
    let (all, read, rate, rest) = (num(w[4].trim_end_matches(':')), num(w[5]), num(&w[10][1..]), num(w[12]));
    assert!(read > 0.0 && rest >= 0.0 && (read + rest - all).abs() <= 0.011, "{last}");
    assert!((rate * read - 70_000.0).abs() <= 70_000.0 * 0.01 + rate * 0.005, "{last}");
}

/// `--now` before the last event gives the floor as of that instant (docs/events.md#replay):
/// states, figures and alerts of the events stamped up to it, `ingest` of every line read.
#[test]
fn now_before_the_last_event_gives_the_floor_as_of_then() {
    let s = replay(EVENTS, Some("2026-11-23T09:08:00Z"));
    assert_eq!(s["now"], "2026-11-23T09:08:00.000Z");
    assert_eq!(s["ingest"], serde_json::json!({"applied": 8, "duplicate": 1, "late": 1, "invalid": 1, "skewed": 0}));
    // The same as replaying only the events stamped up to 09:08 (in file order).
    let upto: String = EVENTS
        .lines()
        .filter(|l| {
            serde_json::from_str::<Value>(l).ok().and_then(|v| v["ts"].as_str().map(String::from)).is_some_and(|t| {
                floorwatch::time::parse_instant(&t).unwrap()
                    <= floorwatch::time::parse_instant("2026-11-23T09:08:00Z").unwrap()
            })
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let as_of = replay(&upto, Some("2026-11-23T09:08:00Z"));
    for key in ["floor", "teams", "agents", "alerts"] {
        assert_eq!(s[key], as_of[key], "{key}");
    }
    // A2 is on break since 09:02 at 09:08 (its 09:10 training and 09:20 idle are later).
    let a2 = s["agents"].as_array().unwrap().iter().find(|a| a["agent"] == "A2").unwrap();
    assert_eq!((a2["state"].as_str(), a2["reason"].as_str()), (Some("aux"), Some("break")));
    assert_eq!(a2["since"], "2026-11-23T09:02:00.000Z");
}
