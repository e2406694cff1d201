//! The `asterisk` source end to end: a real daemon whose `[[sources]]` entry points at a
//! fake AMI server that replays recorded Asterisk streams (tests/fixtures/asterisk/):
//! login, the QueueStatus snapshot, the events, the server dropping the connection (the
//! source reconnects and reads QueueStatus again), garbage and oversized messages.
//!
//! `FLOORWATCH_REAL_ASTERISK=/path/to/tree` also drives a real Asterisk 22 (see
//! scripts/asterisk/start.sh); without it that test only says it was skipped.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Daemon, metric};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const SECRET: &str = "fwtest";

/// What one connection of the fake server plays: a banner, the answer to the client's
/// `Login` (the recorded frames up to the login's response), the answer to its
/// `QueueStatus`, then the rest; then it closes (or holds the connection open).
#[derive(Clone, Default)]
struct Session {
    banner: String,
    /// Frames sent after a good Login, up to and including its response.
    login: Vec<String>,
    /// Frames sent after QueueStatus (its answer, then whatever followed).
    rest: Vec<String>,
    /// Keep the connection open at the end instead of closing it.
    hold: bool,
}

/// A recorded frame's `ActionID`, if any.
fn action_id(frame: &str) -> Option<&str> {
    frame.lines().find_map(|l| l.strip_prefix("ActionID: ")).map(str::trim)
}

fn frame(text: &str) -> String {
    let mut f = text.trim_end().replace("\r\n", "\n").replace('\n', "\r\n");
    f.push_str("\r\n\r\n");
    f
}

/// The frames the server sent in `ami-transcript.txt`'s format (`### ... received`
/// blocks), per AMI session (`PART 2` starts the second).
fn transcript_sessions(text: &str) -> Vec<Session> {
    let mut sessions = Vec::new();
    for part in text.split("======== PART ") {
        let mut s = Session::default();
        let mut frames = Vec::new();
        for block in part.split("### ").skip(1) {
            let (head, body) = block.split_once('\n').unwrap_or((block, ""));
            let body = body.split("\n========").next().unwrap_or("").trim_end();
            if head.ends_with("banner") {
                s.banner = body.trim().to_string();
            } else if head.ends_with("received") && !body.is_empty() {
                frames.push(frame(body));
            }
        }
        if frames.is_empty() {
            continue;
        }
        if s.banner.is_empty() {
            s.banner = "Asterisk Call Manager/11.0.0".into();
        }
        let login_at = frames.iter().position(|f| f.starts_with("Response: ")).unwrap_or(0);
        if action_id(&frames[login_at]).is_none() {
            // Part 2's driver sent no ActionID: the answer to ours carries it.
            frames[login_at] = frames[login_at].replacen("\r\n", "\r\nActionID: recorded-login\r\n", 1);
        }
        s.login = frames[..=login_at].to_vec();
        s.rest = frames[login_at + 1..].to_vec();
        sessions.push(s);
    }
    sessions
}

/// A raw recording (`scripts/asterisk/record.py`): the banner line, then frames exactly as
/// floorwatch's client received them (its own ActionIDs).
fn raw_session(bytes: &[u8]) -> Session {
    let text = String::from_utf8_lossy(bytes);
    let (banner, rest) = text.split_once("\r\n").unwrap();
    let frames: Vec<String> =
        rest.split("\r\n\r\n").filter(|f| !f.trim().is_empty()).map(|f| format!("{f}\r\n\r\n")).collect();
    let login_at = frames.iter().position(|f| action_id(f) == Some("fw-login")).unwrap();
    Session {
        banner: banner.to_string(),
        login: frames[..=login_at].to_vec(),
        rest: frames[login_at + 1..].to_vec(),
        hold: false,
    }
}

/// What the fake server saw.
#[derive(Default, Debug)]
struct Seen {
    connections: usize,
    /// Each action the client sent: (connection, Action, ActionID).
    actions: Vec<(usize, String, String)>,
    /// Logins with a wrong secret.
    refused: usize,
}

/// Reads one action (up to its blank line); `None` at EOF.
async fn read_action(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<Vec<(String, String)>> {
    let mut fields = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            if fields.is_empty() {
                continue;
            }
            return Some(fields);
        }
        if let Some((k, v)) = line.split_once(':') {
            fields.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
}

fn get<'a>(fields: &'a [(String, String)], key: &str) -> &'a str {
    fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map_or("", |(_, v)| v.as_str())
}

/// Writes `frames`, the recorded ActionID `from` replaced by `to`, in uneven chunks (the
/// framing must not care where reads split).
async fn play(w: &mut tokio::net::tcp::OwnedWriteHalf, frames: &[String], from: Option<&str>, to: &str) {
    let mut bytes = Vec::new();
    for f in frames {
        let f = match from {
            Some(from) if action_id(f) == Some(from) => {
                f.replace(&format!("ActionID: {from}"), &format!("ActionID: {to}"))
            }
            _ => f.clone(),
        };
        bytes.extend_from_slice(f.as_bytes());
    }
    for (i, chunk) in bytes.chunks(997).enumerate() {
        if w.write_all(chunk).await.is_err() {
            return;
        }
        if i % 8 == 7 {
            tokio::task::yield_now().await;
        }
    }
}

/// A fake AMI server on 127.0.0.1:0: connection k plays `sessions[k]` (the last one for
/// every later connection).
async fn fake_ami(sessions: Vec<Session>) -> (std::net::SocketAddr, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let seen2 = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let n = {
                let mut s = seen2.lock().unwrap();
                s.connections += 1;
                s.connections - 1
            };
            let session = sessions[n.min(sessions.len() - 1)].clone();
            tokio::spawn(serve(stream, n, session, seen2.clone()));
        }
    });
    (addr, seen)
}

async fn serve(stream: TcpStream, n: usize, s: Session, seen: Arc<Mutex<Seen>>) {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    let _ = w.write_all(format!("{}\r\n", s.banner).as_bytes()).await;
    let recorded_login = s.login.last().and_then(|f| action_id(f)).map(str::to_string);
    let recorded_status = s.rest.iter().find_map(|f| action_id(f)).map(str::to_string);
    while let Some(action) = read_action(&mut r).await {
        let (name, id) = (get(&action, "Action").to_string(), get(&action, "ActionID").to_string());
        seen.lock().unwrap().actions.push((n, name.clone(), id.clone()));
        match name.as_str() {
            "Login" if get(&action, "Secret") != SECRET => {
                seen.lock().unwrap().refused += 1;
                let no = format!("Response: Error\r\nActionID: {id}\r\nMessage: Authentication failed\r\n\r\n");
                let _ = w.write_all(no.as_bytes()).await;
                return;
            }
            "Login" => play(&mut w, &s.login, recorded_login.as_deref(), &id).await,
            "QueueStatus" => {
                play(&mut w, &s.rest, recorded_status.as_deref(), &id).await;
                if !s.hold {
                    let _ = w.shutdown().await;
                    return;
                }
            }
            _ => {}
        }
    }
}

fn source_toml(addr: std::net::SocketAddr, extra: &str) -> String {
    format!(
        "[server]\nclock = \"event\"\n\n[[sources]]\nkind = \"asterisk\"\naddr = \"{addr}\"\nusername = \"floorwatch\"\nsecret = \"{SECRET}\"\nwrapup_secs = 5\n{extra}\n"
    )
}

/// Polls until `f` holds (10 s at most).
async fn until<F: AsyncFnMut() -> bool>(what: &str, mut f: F) {
    for _ in 0..400 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("never: {what}");
}

/// (agent, state, reason, since, name, team) of every agent in the snapshot.
fn agents(snap: &serde_json::Value) -> Vec<(String, String, String, String, String, String)> {
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_string();
    snap["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (s(&a["agent"]), s(&a["state"]), s(&a["reason"]), s(&a["since"]), s(&a["name"]), s(&a["team"])))
        .collect()
}

fn row(
    agent: &str,
    state: &str,
    reason: &str,
    since: &str,
    name: &str,
) -> (String, String, String, String, String, String) {
    let t = format!("2026-12-01T11:{since}Z");
    (agent.into(), state.into(), reason.into(), t, name.into(), "support".into())
}

/// The short real transcript, verbatim: part 1 (snapshot, calls, wrap-up, pauses,
/// removal), then the server drops the connection; the source reconnects, reads
/// QueueStatus again and follows part 2 (a member's device goes unavailable and back);
/// dropped again, it reconnects a third time and stays.
#[tokio::test]
async fn replays_the_real_transcript_through_reconnects() {
    let text = std::fs::read_to_string("tests/fixtures/asterisk/ami-transcript.txt").unwrap();
    let mut sessions = transcript_sessions(&text);
    assert_eq!(sessions.len(), 2);
    // Part 2 was recorded without a QueueStatus: Asterisk's answer at that point (agent1 a
    // static member, idle; agent2 removed) is given as it would have been.
    let qs = [
        "Response: Success\nActionID: qs-2\nEventList: start\nMessage: Queue status will follow",
        "Event: QueueMember\nQueue: support\nName: Agent One\nLocation: Local/agent1@agents/n\nStateInterface: Local/agent1@agents\nMembership: static\nPenalty: 0\nCallsTaken: 2\nLastCall: 1796124755\nLastPause: 1796124756\nLoginTime: 1796124715\nInCall: 0\nStatus: 1\nPaused: 0\nPausedReason: \nWrapuptime: 0\nActionID: qs-2",
        "Event: QueueStatusComplete\nActionID: qs-2\nEventList: Complete\nListItems: 1",
    ];
    let qs: Vec<String> = qs.iter().map(|f| frame(f)).collect();
    sessions[1].rest.splice(0..0, qs.iter().cloned());
    let third = Session {
        banner: "Asterisk Call Manager/11.0.0".into(),
        login: sessions[1].login.clone(),
        rest: qs,
        hold: true,
    };
    sessions.push(third);
    let (addr, seen) = fake_ami(sessions).await;
    let d = Daemon::start(&source_toml(addr, "")).await;

    until("three connections, the last one logged in", async || {
        metric(&d.metrics().await, "floorwatch_source_reconnects_total{source=\"asterisk\"}").unwrap_or(0.0) >= 2.0
            && metric(&d.metrics().await, "floorwatch_source_up{source=\"asterisk\"}") == Some(1.0)
    })
    .await;
    // Part 2's snapshot holds its members until its first Timestamp; the third's waits
    // HOLD_MS for one before being dated by receipt (and changes nothing).
    // 16 agent events and 8 call events (the transcript's callers).
    let snap = d.wait_outcomes(24).await;
    assert_eq!(
        agents(&snap),
        [
            row("Local/agent1@agents/n", "idle", "-", "32:51.287", "Agent One"),
            row("Local/agent2@agents/n", "offline", "-", "32:50.785", "Agent Two"),
            row("Local/agent3@agents/n", "offline", "-", "33:11.923", "Agent Three"),
        ]
    );
    assert_eq!(snap["ingest"]["applied"], 24, "{}", snap["ingest"]);
    assert_eq!(snap["ingest"]["invalid"], 0);
    // Agent One talked 741.735-746.240 and 751.250-755.753; wrap-up 746.240-751.240 (the
    // queue's 5 s: the QueueMemberStatus after AgentComplete did not end it) and
    // 755.753-756.262 (ended early by the training pause).
    let a1 = &snap["agents"][0]["windows"]["today"];
    let close = |v: &serde_json::Value, want: f64| (v.as_f64().unwrap() - want).abs() < 1e-6;
    assert!(close(&a1["talking_s"], 4.505 + 4.503), "{a1}");
    assert!(close(&a1["acw_s"], 5.0 + 0.509), "{a1}");
    assert_eq!(a1["contacts"], 2, "{a1}");

    {
        let seen = seen.lock().unwrap();
        for c in 0..3 {
            let actions: Vec<&str> =
                seen.actions.iter().filter(|(n, ..)| *n == c).map(|(_, a, _)| a.as_str()).collect();
            assert_eq!(actions[..2], ["Login", "QueueStatus"], "connection {c}: {actions:?}");
        }
    }
    let m = d.metrics().await;
    assert_eq!(metric(&m, "floorwatch_events_total{source=\"asterisk\",outcome=\"applied\"}"), Some(24.0));
    // Calls mapped and applied: 4 queued, 2 answered, 2 abandoned, no left (every Leave
    // was followed by AgentConnect or came after Abandon).
    for (event, n) in [("queued", 4.0), ("answered", 2.0), ("abandoned", 2.0)] {
        let series = format!("floorwatch_source_call_events_total{{event=\"{event}\",source=\"asterisk\"}}");
        assert_eq!(metric(&m, &series), Some(n), "{series}");
    }
    assert_eq!(metric(&m, "floorwatch_source_call_events_total{event=\"left\",source=\"asterisk\"}"), None);
    let ready = reqwest::get(d.url("/readyz")).await.unwrap().text().await.unwrap();
    assert_eq!(ready, "ready\nsource asterisk (asterisk): up");
    assert_eq!(d.get_json("/api/v1/board").await["sources_down"], serde_json::json!([]));
    d.stop().await;
}

/// Garbage, an oversized message and a frame cut off mid-way are counted and survived; a
/// source that hangs mid-frame blocks no other ingest.
#[tokio::test]
async fn garbage_and_oversized_frames_are_counted_and_survived() {
    let frames = |s: &[&str]| s.iter().map(|f| frame(f)).collect::<Vec<_>>();
    let mut rest = frames(&[
        "Response: Success\nActionID: x\nEventList: start",
        "Event: QueueStatusComplete\nActionID: x",
        "Event: QueueMemberAdded\nTimestamp: 1796124800.5\nQueue: support\nMemberName: B\nInterface: SIP/b\nStatus: 1\nPaused: 0",
        "this is not AMI at all",
        "Event: QueueMemberPause\nTimestamp: 1796124801\nQueue: support",
    ]);
    rest.push(format!("Event: UserEvent\r\nJunk: {}\r\n\r\n", "z".repeat(100_000)));
    rest.push("\u{0}\u{1}binary\r\n\r\n".into());
    rest.extend(frames(&["Event: QueueMemberPause\nTimestamp: 1796124802\nQueue: support\nInterface: SIP/b\nPaused: 1\nPausedReason: break"]));
    // Hangs mid-frame: no blank line, connection held open.
    rest.push("Event: QueueMemberPause\r\nTimestamp: 1796124803\r\nInterf".into());
    let session = Session {
        banner: "Asterisk Call Manager/11.0.0".into(),
        login: frames(&["Response: Success\nActionID: x\nMessage: Authentication accepted"]),
        rest,
        hold: true,
    };
    let (addr, _seen) = fake_ami(vec![session]).await;
    let d = Daemon::start(&source_toml(addr, "")).await;
    let snap = d.wait_outcomes(6).await;
    let m = d.metrics().await;
    let count = |reason: &str| {
        metric(&m, &format!("floorwatch_events_total{{source=\"asterisk\",outcome=\"invalid\",reason=\"{reason}\"}}"))
    };
    assert_eq!(count("unmapped"), Some(3.0), "not AMI, pause without Interface, binary");
    assert_eq!(count("too_large"), Some(1.0));
    assert_eq!(snap["ingest"]["applied"], 2);
    let a = agents(&snap);
    assert_eq!((a[0].0.as_str(), a[0].1.as_str(), a[0].2.as_str()), ("SIP/b", "aux", "break"));
    // The source hangs mid-frame: other ingest goes on.
    let (status, body) = d.post("/api/v1/events", r#"[{"ts":1796124900000,"agent":"H1","state":"idle"}]"#).await;
    assert_eq!((status, body["applied"].as_u64()), (200, Some(1)));
    let errors = d.get_json("/api/v1/ingest/errors?source=asterisk").await;
    assert!(errors["errors"].as_array().unwrap().iter().any(|e| e["reason"] == "unmapped"), "{errors}");
    d.stop().await;
}

/// A capture whose login answer carries another ActionID (or none): the first answer on
/// the connection is the login's, and the events are mapped.
#[tokio::test]
async fn the_first_answer_is_the_logins_whatever_its_action_id() {
    let frames = |s: &[&str]| s.iter().map(|f| frame(f)).collect::<Vec<_>>();
    let session = Session {
        banner: "Asterisk Call Manager/11.0.0".into(),
        login: frames(&["Response: Success\nActionID: someone-else\nMessage: Authentication accepted"]),
        rest: frames(&[
            "Event: QueueMemberAdded\nTimestamp: 1796124800\nQueue: sales\nMemberName: C\nInterface: SIP/c\nStatus: 1\nPaused: 0",
        ]),
        hold: true,
    };
    let (addr, seen) = fake_ami(vec![session]).await;
    let d = Daemon::start(&source_toml(addr, "")).await;
    let snap = d.wait_outcomes(1).await;
    assert_eq!(agents(&snap)[0].1, "idle");
    assert_eq!(agents(&snap)[0].5, "sales");
    assert_eq!(metric(&d.metrics().await, "floorwatch_source_up{source=\"asterisk\"}"), Some(1.0));
    let actions: Vec<String> = seen.lock().unwrap().actions.iter().map(|a| a.1.clone()).collect();
    assert_eq!(actions[..2], ["Login", "QueueStatus"]);
    d.stop().await;
}

/// A refused login: the source is down, reconnects with backoff, never logs the secret.
#[tokio::test]
async fn refused_login_is_down_and_retried() {
    let session = Session { banner: "Asterisk Call Manager/11.0.0".into(), hold: true, ..Default::default() };
    let (addr, seen) = fake_ami(vec![session]).await;
    let toml = source_toml(addr, "").replace(SECRET, "wrong-secret");
    let d = Daemon::start(&toml).await;
    until("two refused logins", async || seen.lock().unwrap().refused >= 2).await;
    let m = d.metrics().await;
    assert_eq!(metric(&m, "floorwatch_source_up{source=\"asterisk\"}"), Some(0.0));
    assert!(metric(&m, "floorwatch_source_reconnects_total{source=\"asterisk\"}").unwrap() >= 1.0);
    let ready = reqwest::get(d.url("/readyz")).await.unwrap().text().await.unwrap();
    assert_eq!(ready, "ready\nsource asterisk (asterisk): down");
    // The wallboard warns while it is down.
    let board = d.get_json("/api/v1/board").await;
    assert_eq!(board["sources_down"], serde_json::json!(["asterisk"]), "{}", board["sources_down"]);
    d.stop().await;
}

/// Window figures of one agent in `today`: (talking_s, acw_s, contacts).
fn figures(snap: &serde_json::Value, agent: &str) -> (f64, f64, u64) {
    let a = snap["agents"].as_array().unwrap().iter().find(|a| a["agent"] == agent).unwrap();
    let w = &a["windows"]["today"];
    let r = |v: &serde_json::Value| (v.as_f64().unwrap() * 1000.0).round() / 1000.0;
    (r(&w["talking_s"]), r(&w["acw_s"]), w["contacts"].as_u64().unwrap())
}

fn call_counts(m: &str) -> Vec<(&'static str, f64)> {
    ["queued", "answered", "abandoned", "left"]
        .into_iter()
        .map(|e| {
            let series = format!("floorwatch_source_call_events_total{{event=\"{e}\",source=\"asterisk\"}}");
            (e, metric(m, &series).unwrap_or(0.0))
        })
        .collect()
}

/// A richer floor recorded from a real Asterisk 22 (scripts/asterisk/record.py): every
/// byte floorwatch's client received, replayed as is. Wrap-up: the queue's 5 s (Agent One)
/// and a member's own Wrapuptime 2 s (Agent Three); Agent One's next call connects 0.28 s
/// before its wrap-up would end (Asterisk counts whole seconds) and its pause during the
/// next wrap-up ends it; a caller hangs up (abandoned), one times out (left: Asterisk
/// sends QueueCallerAbandon for it too, without a HangupRequest first).
#[tokio::test]
async fn replays_a_recorded_asterisk22_floor() {
    let bytes = std::fs::read("tests/fixtures/asterisk/floor-asterisk22.ami").unwrap();
    let mut session = raw_session(&bytes);
    session.hold = true;
    let (addr, _seen) = fake_ami(vec![session]).await;
    let d = Daemon::start(&source_toml(addr, "")).await;
    // 19 agent events and 12 call events.
    let snap = d.wait_outcomes(31).await;
    let row = |agent: &str, state: &str, reason: &str, since: &str, name: &str| {
        (agent.into(), state.into(), reason.into(), format!("2026-12-01T16:{since}Z"), name.into(), "support".into())
    };
    let expected: Vec<(String, String, String, String, String, String)> = vec![
        row("Local/agent1@agents/n", "idle", "-", "33:56.706", "Agent One"),
        row("Local/agent2@agents/n", "offline", "-", "33:56.300", "Agent Two"),
        row("Local/agent3@agents/n", "idle", "-", "33:54.781", "Agent Three"),
    ];
    assert_eq!(agents(&snap), expected);
    assert_eq!(snap["ingest"]["applied"], 31, "{}", snap["ingest"]);
    // The callers reach the queue figures (the engine applies the source's call events).
    let q = &snap["queues"][0];
    assert_eq!(q["queue"], "support", "{}", snap["queues"]);
    let today = &q["windows"]["today"];
    assert_eq!(
        [&today["offered"], &today["answered"], &today["abandoned"], &today["left"]],
        [6, 4, 1, 1].map(serde_json::Value::from).each_ref(),
        "{today}"
    );
    assert_eq!(snap["ingest"]["invalid"], 0, "{}", snap["ingest"]);
    // Agent One: talked 792.047-796.551 and 801.268-805.770; wrap-up 796.551-801.268 (cut
    // by the next call) and 805.770-807.181 (cut by the training pause).
    assert_eq!(figures(&snap, "Local/agent1@agents/n"), (9.006, 6.128, 2));
    // Agent Three: two 2.503 s calls, each followed by its own 2 s wrap-up.
    assert_eq!(figures(&snap, "Local/agent3@agents/n"), (5.006, 4.0, 2));
    let m = d.metrics().await;
    assert_eq!(call_counts(&m), [("queued", 6.0), ("answered", 4.0), ("abandoned", 1.0), ("left", 1.0)]);
    d.stop().await;
}

/// Opt-in: `FLOORWATCH_REAL_ASTERISK=/path/to/debian-unstable-tree` (with asterisk and
/// asterisk-modules installed) starts a real Asterisk 22 with scripts/asterisk/etc, points
/// a daemon at it, plays the recorded floor live with scripts/asterisk/record.py, and
/// checks the daemon saw what the recording shows. Without the variable it does nothing.
#[tokio::test]
async fn live_against_a_real_asterisk() {
    let Ok(tree) = std::env::var("FLOORWATCH_REAL_ASTERISK") else {
        eprintln!("live_against_a_real_asterisk: FLOORWATCH_REAL_ASTERISK not set, skipped");
        return;
    };
    let out = std::process::Command::new("sh").args(["scripts/asterisk/start.sh", &tree]).output().unwrap();
    assert!(out.status.success(), "start.sh: {}", String::from_utf8_lossy(&out.stderr));
    let pid = String::from_utf8_lossy(&out.stdout).trim().to_string();
    struct Stop(String);
    impl Drop for Stop {
        /// Stops the asterisk started by start.sh and waits (5 s at most) until it is gone.
        fn drop(&mut self) {
            let _ = std::process::Command::new("kill").arg(&self.0).status();
            for _ in 0..50 {
                let alive =
                    std::process::Command::new("kill").args(["-0", &self.0]).status().is_ok_and(|s| s.success());
                if !alive {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    let _stop = Stop(pid);
    let toml = "[[sources]]\nkind = \"asterisk\"\naddr = \"127.0.0.1:15038\"\nusername = \"floorwatch\"\nsecret = \"fwtest\"\nwrapup_secs = 5\n";
    let d = Daemon::start(toml).await;
    until("logged in", async || metric(&d.metrics().await, "floorwatch_source_up{source=\"asterisk\"}") == Some(1.0))
        .await;
    let rec = tempfile::NamedTempFile::new().unwrap();
    let status = tokio::process::Command::new("python3")
        .args(["scripts/asterisk/record.py", rec.path().to_str().unwrap()])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    // Agent Three's last wrap-up (2 s) ends by the source's own clock.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let snap = d.get_json("/api/v1/snapshot").await;
    let states: Vec<(String, String)> = agents(&snap).into_iter().map(|a| (a.0, a.1)).collect();
    let want =
        [("Local/agent1@agents/n", "idle"), ("Local/agent2@agents/n", "offline"), ("Local/agent3@agents/n", "idle")];
    assert_eq!(states, want.map(|(a, s)| (a.to_string(), s.to_string())));
    assert_eq!(figures(&snap, "Local/agent1@agents/n").2, 2);
    assert_eq!(figures(&snap, "Local/agent3@agents/n").2, 2);
    assert_eq!(snap["ingest"]["invalid"], 0);
    let m = d.metrics().await;
    assert_eq!(call_counts(&m), [("queued", 6.0), ("answered", 4.0), ("abandoned", 1.0), ("left", 1.0)]);

    // Asterisk restarts: the source reconnects and reads QueueStatus again. A fresh
    // Asterisk has its static members only: Agent One idle, Agent Three paused (queues.conf).
    drop(_stop);
    let out = std::process::Command::new("sh").args(["scripts/asterisk/start.sh", &tree]).output().unwrap();
    assert!(out.status.success(), "start.sh: {}", String::from_utf8_lossy(&out.stderr));
    let _stop = Stop(String::from_utf8_lossy(&out.stdout).trim().to_string());
    until("reconnected", async || {
        let m = d.metrics().await;
        metric(&m, "floorwatch_source_up{source=\"asterisk\"}") == Some(1.0)
            && metric(&m, "floorwatch_source_reconnects_total{source=\"asterisk\"}").unwrap_or(0.0) >= 1.0
    })
    .await;
    until("the new QueueStatus applied", async || {
        let snap = d.get_json("/api/v1/snapshot").await;
        agents(&snap).iter().any(|a| a.0 == "Local/agent3@agents/n" && a.1 == "aux")
    })
    .await;
    let snap = d.get_json("/api/v1/snapshot").await;
    let states: Vec<(String, String, String)> = agents(&snap).into_iter().map(|a| (a.0, a.1, a.2)).collect();
    let want = [
        ("Local/agent1@agents/n", "idle", "-"),
        ("Local/agent2@agents/n", "offline", "-"),
        ("Local/agent3@agents/n", "aux", "unspecified"),
    ];
    assert_eq!(states, want.map(|(a, s, r)| (a.to_string(), s.to_string(), r.to_string())));
    d.stop().await;
}
