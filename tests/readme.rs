//! The README's examples, pasted: every ```sh block that uses `floorwatch send` or `curl`
//! against a local daemon is run, in order and as written, by `sh` against one fresh daemon
//! on loopback. Only the ports change (8080 and 7070 become the daemon's), `floorwatch` is
//! the binary under test (first on PATH), and FLOORWATCH_URL points `send`'s default at the
//! daemon. The output block that follows each command (```text or ```json) is what it must
//! print: each line of a text block appears in the output (a daemon that explains refusals
//! adds lines); a JSON block is contained in the JSON printed. A command whose promised
//! output counts a refusal must exit 1, others 0.

mod common;

use serde_json::Value;

struct Example {
    line: usize,
    script: String,
    expected: Option<(String, String)>,
}

/// The fenced blocks of `md`: (line of the opening fence, language, body).
fn blocks(md: &str) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, String, String)> = None;
    for (i, line) in md.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                if let Some(lang) = trimmed.strip_prefix("```") {
                    open = Some((i + 1, lang.trim().to_string(), String::new()));
                }
            }
            Some((_, _, body)) => {
                if trimmed.starts_with("```") {
                    out.push(open.take().unwrap());
                } else {
                    body.push_str(line);
                    body.push('\n');
                }
            }
        }
    }
    out
}

/// The README's runnable examples: sh blocks using `floorwatch send` or `curl`, except
/// those addressing documentation hosts (`*.example`), each with the output block after it.
fn examples(md: &str) -> Vec<Example> {
    let blocks = blocks(md);
    let mut out = Vec::new();
    for (i, (line, lang, body)) in blocks.iter().enumerate() {
        let uses = body.contains("floorwatch send") || body.contains("curl ");
        if lang != "sh" || !uses || body.contains(".example") {
            continue;
        }
        let expected = blocks
            .get(i + 1)
            .filter(|(_, lang, _)| lang == "text" || lang == "json")
            .map(|(_, lang, body)| (lang.clone(), body.clone()));
        out.push(Example { line: *line, script: body.clone(), expected });
    }
    out
}

fn substitute(text: &str, http: u16, tcp: u16) -> String {
    text.replace("localhost:8080", &format!("127.0.0.1:{http}"))
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{http}"))
        .replace("localhost:7070", &format!("127.0.0.1:{tcp}"))
        .replace("127.0.0.1:7070", &format!("127.0.0.1:{tcp}"))
}

/// Whether a promised `send` output counts a refused event.
fn promises_refusal(expected: &str) -> bool {
    let summary = expected.lines().next().unwrap_or("");
    ["duplicate", "late", "invalid"].iter().any(|k| {
        summary
            .split(", ")
            .filter_map(|part| part.rsplit_once(' '))
            .any(|(name, n)| name.ends_with(k) && n.parse::<u64>().is_ok_and(|n| n > 0))
    })
}

/// `want` ⊆ `got`: every key of an object with a contained value, arrays equal.
fn contains(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => w.iter().all(|(k, v)| g.get(k).is_some_and(|gv| contains(gv, v))),
        _ => got == want,
    }
}

#[test]
fn examples_are_found_and_each_promises_its_output() {
    let md = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let ex = examples(&md);
    // send over HTTP (applied and refused), TCP and WebSocket, and curl.
    assert!(ex.len() >= 5, "{} examples found", ex.len());
    for e in &ex {
        assert!(e.expected.is_some(), "README.md:{}: an example without the output it prints", e.line);
    }
    assert!(promises_refusal("1 event sent over HTTP: applied 0, duplicate 0, late 0, invalid 1, skewed 0"));
    assert!(!promises_refusal("2 events sent over HTTP: applied 2, duplicate 0, late 0, invalid 0, skewed 0"));
    assert!(contains(&serde_json::json!({"a": 1, "b": {"c": 2, "d": 3}}), &serde_json::json!({"b": {"c": 2}})));
    assert!(!contains(&serde_json::json!({"a": 1}), &serde_json::json!({"a": 2})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_examples_work_when_pasted_on_a_fresh_daemon() {
    let md = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let daemon = common::Daemon::start("").await;
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_floorwatch"));
    let path = format!("{}:{}", bin.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let (http, tcp) = (daemon.http.port(), daemon.tcp.port());
    let mut ran = 0;
    for e in examples(&md) {
        let script = substitute(&e.script, http, tcp);
        let out = tokio::process::Command::new("sh")
            .args(["-c", &script])
            .env("PATH", &path)
            .env("FLOORWATCH_URL", format!("http://127.0.0.1:{http}"))
            .env_remove("FLOORWATCH_INGEST_TOKEN")
            .output()
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let at = format!("README.md:{}:\n{script}\nstdout:\n{stdout}\nstderr:\n{stderr}", e.line);
        let (lang, expected) = e.expected.expect("checked by the other test");
        let expected = substitute(&expected, http, tcp);
        let code = if promises_refusal(&expected) { 1 } else { 0 };
        assert_eq!(out.status.code(), Some(code), "{at}");
        if lang == "json" {
            let want: Value = serde_json::from_str(&expected).unwrap();
            let got: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("not JSON: {at}"));
            assert!(contains(&got, &want), "{at}\nwanted at least {want}");
        } else {
            for line in expected.lines().filter(|l| !l.trim().is_empty()) {
                assert!(stdout.lines().any(|l| l == line), "{at}\nmissing line: {line}");
            }
        }
        ran += 1;
    }
    assert!(ran >= 5, "only {ran} examples ran");
    // What the examples promised is what the daemon holds: a fresh daemon, so the only
    // events are theirs (the TCP one included, though TCP never answered).
    let snap = daemon.get_json("/api/v1/snapshot").await;
    assert_eq!(snap["ingest"]["applied"], 5, "{}", snap["ingest"]);
    assert_eq!(snap["ingest"]["invalid"], 1, "{}", snap["ingest"]);
    let agent = |id: &str| snap["agents"].as_array().unwrap().iter().find(|a| a["agent"] == id).cloned().unwrap();
    assert_eq!((agent("A0123")["state"].as_str(), agent("A0123")["name"].as_str()), (Some("aux"), Some("Li Na")));
    assert_eq!(agent("A0124")["state"], "talking");
    assert_eq!((agent("A1")["state"].as_str(), agent("A2")["state"].as_str()), (Some("acw"), Some("talking")));
    daemon.stop().await;
}
