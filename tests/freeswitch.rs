//! The `freeswitch` source end to end: a real daemon whose `[[sources]]` entry points at a
//! fake FreeSWITCH event socket (loopback, free port) that speaks mod_event_socket's
//! framing, requires `auth`, answers the `api callcenter_config` lists, then streams
//! mod_callcenter-shaped events (tests/fixtures/freeswitch/, see its README): every agent's
//! state, time in each state and contacts, and the queues' calls, through the snapshot.
//! Also: the platform restarting, garbage, an oversized body, a frame that hangs mid-body,
//! a wrong password; and (with the asterisk source) that no secret reaches the log.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Daemon, metric};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const PASSWORD: &str = "ClueCon-test";
const FIX: &str = "tests/fixtures/freeswitch";
/// The fixtures' hour: `row` takes minutes and seconds past it.
const HOUR: &str = "2026-12-01T09:";

/// What one connection of the fake event socket plays after a good `auth`.
#[derive(Clone, Default)]
struct Session {
    tiers: Vec<u8>,
    agents: Vec<u8>,
    members: Vec<u8>,
    /// Written after the last list (the members).
    events: Vec<u8>,
    /// Keep the connection open at the end instead of closing it.
    hold: bool,
}

impl Session {
    fn from(agents: &str, events: &[u8], hold: bool) -> Session {
        Session {
            tiers: std::fs::read(format!("{FIX}/tier-list.txt")).unwrap(),
            agents: std::fs::read(format!("{FIX}/{agents}")).unwrap(),
            members: std::fs::read(format!("{FIX}/members.txt")).unwrap(),
            events: events.to_vec(),
            hold,
        }
    }
}

/// What the fake server saw.
#[derive(Default, Debug)]
struct Seen {
    connections: usize,
    /// Each command the client sent: (connection, command line).
    commands: Vec<(usize, String)>,
    /// `auth` with a wrong password.
    refused: usize,
}

/// Reads one ESL command (its line, up to the blank line that ends it); `None` at EOF.
async fn read_command(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<String> {
    let mut cmd = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            if cmd.is_empty() {
                continue;
            }
            return Some(cmd);
        }
        if cmd.is_empty() {
            cmd = line.to_string();
        }
    }
}

fn reply(text: &str) -> Vec<u8> {
    format!("Content-Type: command/reply\nReply-Text: {text}\n\n").into_bytes()
}

fn api(body: &[u8]) -> Vec<u8> {
    let mut f = format!("Content-Type: api/response\nContent-Length: {}\n\n", body.len()).into_bytes();
    f.extend_from_slice(body);
    f
}

/// Writes `bytes` in uneven chunks (the framing must not care where reads split).
async fn play(w: &mut tokio::net::tcp::OwnedWriteHalf, bytes: &[u8]) {
    for (i, chunk) in bytes.chunks(1237).enumerate() {
        if w.write_all(chunk).await.is_err() {
            return;
        }
        if i % 8 == 7 {
            tokio::task::yield_now().await;
        }
    }
}

/// A fake event socket on 127.0.0.1:0: connection k plays `sessions[k]` (the last one for
/// every later connection).
async fn fake_esl(sessions: Vec<Session>, password: &'static str) -> (std::net::SocketAddr, Arc<Mutex<Seen>>) {
    fake_esl_on(TcpListener::bind("127.0.0.1:0").await.unwrap(), sessions, password)
}

fn fake_esl_on(
    listener: TcpListener,
    sessions: Vec<Session>,
    password: &'static str,
) -> (std::net::SocketAddr, Arc<Mutex<Seen>>) {
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
            tokio::spawn(serve(stream, n, session, seen2.clone(), password));
        }
    });
    (addr, seen)
}

async fn serve(stream: TcpStream, n: usize, s: Session, seen: Arc<Mutex<Seen>>, password: &str) {
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    let _ = w.write_all(b"Content-Type: auth/request\n\n").await;
    while let Some(cmd) = read_command(&mut r).await {
        seen.lock().unwrap().commands.push((n, cmd.clone()));
        if let Some(given) = cmd.strip_prefix("auth ") {
            if given != password {
                // mod_event_socket: the reply, then the disconnect notice, then it closes.
                seen.lock().unwrap().refused += 1;
                let bye = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n";
                let mut out = reply("-ERR invalid");
                out.extend(
                    format!("Content-Type: text/disconnect-notice\nContent-Length: {}\n\n{bye}", bye.len()).bytes(),
                );
                let _ = w.write_all(&out).await;
                return;
            }
            let _ = w.write_all(&reply("+OK accepted")).await;
        } else if cmd.starts_with("event plain") {
            let _ = w.write_all(&reply("+OK event listener enabled plain")).await;
        } else if cmd == "api callcenter_config tier list" {
            let _ = w.write_all(&api(&s.tiers)).await;
        } else if cmd == "api callcenter_config agent list" {
            let _ = w.write_all(&api(&s.agents)).await;
        } else if cmd == "api callcenter_config queue list members" {
            let mut out = api(&s.members);
            out.extend_from_slice(&s.events);
            play(&mut w, &out).await;
            if !s.hold {
                let _ = w.shutdown().await;
                return;
            }
        } else if cmd.starts_with("api ") {
            let _ = w.write_all(&api(b"-ERR no such command\n")).await;
        }
    }
}

fn source_toml(addr: std::net::SocketAddr, password: &str) -> String {
    format!(
        "[server]\nclock = \"event\"\n\n[[sources]]\nkind = \"freeswitch\"\naddr = \"{addr}\"\npassword = \"{password}\"\n\n[sources.names]\n\"1000@default\" = \"Agent One\"\n"
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

/// (agent, state, reason, since, team) of every agent in the snapshot.
fn agents(snap: &serde_json::Value) -> Vec<[String; 5]> {
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_string();
    snap["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| [s(&a["agent"]), s(&a["state"]), s(&a["reason"]), s(&a["since"]), s(&a["team"])])
        .collect()
}

fn row(agent: &str, state: &str, reason: &str, since: &str, team: &str) -> [String; 5] {
    [agent.into(), state.into(), reason.into(), format!("{HOUR}{since}Z"), team.into()]
}

/// Window figures of one agent in `today`: (talking_s, acw_s, aux_s, contacts).
fn figures(snap: &serde_json::Value, agent: &str) -> (f64, f64, f64, u64) {
    let a = snap["agents"].as_array().unwrap().iter().find(|a| a["agent"] == agent).unwrap();
    let w = &a["windows"]["today"];
    let r = |v: &serde_json::Value| (v.as_f64().unwrap() * 1000.0).round() / 1000.0;
    (r(&w["talking_s"]), r(&w["acw_s"]), r(&w["aux_s"]), w["contacts"].as_u64().unwrap())
}

fn call_counts(m: &str) -> Vec<(&'static str, f64)> {
    ["queued", "answered", "abandoned", "left"]
        .into_iter()
        .map(|e| {
            let series = format!("floorwatch_source_call_events_total{{event=\"{e}\",source=\"freeswitch\"}}");
            (e, metric(m, &series).unwrap_or(0.0))
        })
        .collect()
}

/// The recorded-shaped floor (make.py tells the story): answered calls with wrap-up, a
/// break during a call, a logout, an abandon, a caller who leaves by key, one who times
/// out; then FreeSWITCH restarts: the source reconnects, reads both lists again and
/// follows the new connection.
#[tokio::test]
async fn replays_a_mod_callcenter_floor_through_a_restart() {
    let floor = std::fs::read(format!("{FIX}/floor.esl")).unwrap();
    let restart = std::fs::read(format!("{FIX}/restart.esl")).unwrap();
    let sessions =
        vec![Session::from("agent-list.txt", &floor, false), Session::from("restart-agent-list.txt", &restart, true)];
    let (addr, seen) = fake_esl(sessions, PASSWORD).await;
    let d = Daemon::start(&source_toml(addr, PASSWORD)).await;
    until("reconnected after the restart and authenticated", async || {
        let m = d.metrics().await;
        metric(&m, "floorwatch_source_reconnects_total{source=\"freeswitch\"}").unwrap_or(0.0) >= 1.0
            && metric(&m, "floorwatch_source_up{source=\"freeswitch\"}") == Some(1.0)
    })
    .await;
    // 15 agent events and 13 call events from the floor; after the restart, 2 agent events
    // and m-g (waiting when FreeSWITCH went away, not in its member list after) left.
    let snap = d.wait_outcomes(31).await;
    assert_eq!(snap["ingest"]["applied"], 31, "{}", snap["ingest"]);
    assert_eq!(snap["ingest"]["invalid"], 0, "{}", snap["ingest"]);
    // The lists are dated by the first event of their connection (09:00:05, 09:03:30).
    let (support, sales) = ("support@default", "sales@default");
    assert_eq!(
        agents(&snap),
        [
            row("1000@default", "idle", "-", "01:50.000", support),
            row("1001@default", "idle", "-", "01:10.000", support),
            row("1002@default", "aux", "break", "03:30.000", sales),
            row("1003@default", "idle", "-", "03:30.000", support),
        ]
    );
    assert_eq!(snap["agents"][0]["name"], "Agent One", "names from [sources.names]");
    // 1000: talked 09.05-40.00 and 78.05-100.00; wrap-up (10 s) 40-50 and 100-110.
    assert_eq!(figures(&snap, "1000@default"), (52.9, 20.0, 0.0, 2));
    // 1001: put On Break at 20 during its call: talked 14.05-60.00 (the break waited for
    // the call's end), on break 60-70 (its 5 s wrap-up under the break), then available.
    assert_eq!(figures(&snap, "1001@default"), (45.95, 0.0, 10.0, 1));
    // 1002: on break from the list (dated 05) until it logged out at 120; on break again
    // after the restart (210), now = 210.
    assert_eq!(figures(&snap, "1002@default"), (0.0, 0.0, 115.0, 0));
    let q: Vec<(String, [u64; 4])> = snap["queues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            let t = &q["windows"]["today"];
            let n = |k: &str| t[k].as_u64().unwrap();
            (q["queue"].as_str().unwrap().to_string(), [n("offered"), n("answered"), n("abandoned"), n("left")])
        })
        .collect();
    assert_eq!(q, [(sales.to_string(), [1, 0, 0, 1]), (support.to_string(), [6, 3, 1, 2])]);
    let m = d.metrics().await;
    assert_eq!(call_counts(&m), [("queued", 7.0), ("answered", 3.0), ("abandoned", 1.0), ("left", 3.0)]);
    assert_eq!(metric(&m, "floorwatch_events_total{source=\"freeswitch\",outcome=\"applied\"}"), Some(31.0));
    {
        let seen = seen.lock().unwrap();
        for c in 0..2 {
            let cmds: Vec<&str> = seen.commands.iter().filter(|(n, _)| *n == c).map(|(_, s)| s.as_str()).collect();
            assert_eq!(
                cmds,
                [
                    &format!("auth {PASSWORD}"),
                    "event plain CUSTOM callcenter::info",
                    "api callcenter_config tier list",
                    "api callcenter_config agent list",
                    "api callcenter_config queue list members"
                ],
                "connection {c}"
            );
        }
    }
    let ready = reqwest::get(d.url("/readyz")).await.unwrap().text().await.unwrap();
    assert_eq!(ready, "ready\nsource freeswitch (freeswitch): up");
    assert_eq!(d.get_json("/api/v1/board").await["sources_down"], serde_json::json!([]));
    d.stop().await;
}

fn event_frame(body: &str) -> Vec<u8> {
    format!("Content-Length: {}\nContent-Type: text/event-plain\n\n{body}", body.len()).into_bytes()
}

/// Garbage, an event without its timestamp, an oversized body and a frame cut off
/// mid-body are counted and survived; the hung source blocks no other ingest.
#[tokio::test]
async fn garbage_oversized_and_a_frame_hung_mid_body() {
    let ev = |secs: &str, action: &str, rest: &str| {
        event_frame(&format!(
            "Event-Name: CUSTOM\nEvent-Date-Timestamp: 179611560{secs}000000\nEvent-Subclass: callcenter%3A%3Ainfo\nCC-Agent: 2000%40default\nCC-Action: {action}\n{rest}\n"
        ))
    };
    let mut events = ev("0", "agent-status-change", "CC-Agent-Status: Available\n");
    events.extend(b"this is not ESL\n\n");
    events.extend(event_frame(
        "Event-Name: CUSTOM\nEvent-Subclass: callcenter%3A%3Ainfo\nCC-Agent: 2000%40default\nCC-Action: agent-status-change\nCC-Agent-Status: On%20Break\n\n",
    ));
    let big = 32 * 1024 * 1024 + 1;
    events.extend(format!("Content-Length: {big}\nContent-Type: text/event-plain\n\n").bytes());
    events.extend(std::iter::repeat_n(b'z', big));
    events.extend(ev("1", "agent-status-change", "CC-Agent-Status: On%20Break\n"));
    // Hangs mid-body: 500 bytes announced, a few sent, the connection held open.
    events.extend(b"Content-Length: 500\nContent-Type: text/event-plain\n\nEvent-Name: CUS");
    let ok = b"+OK\n".to_vec();
    let session = Session { tiers: ok.clone(), agents: ok.clone(), members: ok, events, hold: true };
    let (addr, _seen) = fake_esl(vec![session], PASSWORD).await;
    let d = Daemon::start(&source_toml(addr, PASSWORD)).await;
    let snap = d.wait_outcomes(5).await;
    let m = d.metrics().await;
    let count = |reason: &str| {
        metric(&m, &format!("floorwatch_events_total{{source=\"freeswitch\",outcome=\"invalid\",reason=\"{reason}\"}}"))
    };
    assert_eq!(count("unmapped"), Some(2.0), "not ESL, an event without Event-Date-Timestamp");
    assert_eq!(count("too_large"), Some(1.0));
    assert_eq!(snap["ingest"]["applied"], 2);
    let a = agents(&snap);
    assert_eq!((a[0][0].as_str(), a[0][1].as_str(), a[0][2].as_str()), ("2000@default", "aux", "break"));
    // The source hangs mid-frame: other ingest goes on, and the source is still up.
    let (status, body) = d.post("/api/v1/events", r#"[{"ts":1796115700000,"agent":"H1","state":"idle"}]"#).await;
    assert_eq!((status, body["applied"].as_u64()), (200, Some(1)));
    assert_eq!(metric(&d.metrics().await, "floorwatch_source_up{source=\"freeswitch\"}"), Some(1.0));
    let errors = d.get_json("/api/v1/ingest/errors?source=freeswitch").await;
    assert!(errors["errors"].as_array().unwrap().iter().any(|e| e["reason"] == "unmapped"), "{errors}");
    d.stop().await;
}

/// A wrong password: refused, counted, retried with backoff; the source is down and the
/// wallboard says so.
#[tokio::test]
async fn wrong_password_is_counted_and_retried() {
    let (addr, seen) = fake_esl(vec![Session::default()], PASSWORD).await;
    let d = Daemon::start(&source_toml(addr, "not-the-password")).await;
    until("two refused logins", async || seen.lock().unwrap().refused >= 2).await;
    let m = d.metrics().await;
    assert_eq!(metric(&m, "floorwatch_source_up{source=\"freeswitch\"}"), Some(0.0));
    assert!(metric(&m, "floorwatch_source_reconnects_total{source=\"freeswitch\"}").unwrap() >= 1.0);
    assert!(metric(&m, "floorwatch_source_login_failures_total{source=\"freeswitch\"}").unwrap() >= 2.0);
    let ready = reqwest::get(d.url("/readyz")).await.unwrap().text().await.unwrap();
    assert_eq!(ready, "ready\nsource freeswitch (freeswitch): down");
    let board = d.get_json("/api/v1/board").await;
    assert_eq!(board["sources_down"], serde_json::json!(["freeswitch"]));
    // Nothing was asked after the refused auth.
    assert!(seen.lock().unwrap().commands.iter().all(|(_, c)| c.starts_with("auth ")));
    d.stop().await;
}

/// The pushed board carries the source-down fact the wallboard draws ("Source down:
/// freeswitch"): in the first `/ws` frame while FreeSWITCH is not there, and a later frame
/// clears it once the source is up (tests/e2e/sources.test.mjs checks the page).
#[tokio::test]
async fn the_pushed_board_says_while_the_source_is_down() {
    use futures_util::StreamExt;
    // A free port with nothing listening yet: connections are refused.
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let toml = source_toml(addr, PASSWORD).replace("[server]\n", "[server]\npush_interval_ms = 100\n");
    let d = Daemon::start(&toml).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", d.http)).await.unwrap();
    let mut next = async || -> serde_json::Value {
        loop {
            let m = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("a frame").unwrap().unwrap();
            if let Ok(text) = m.to_text()
                && let Ok(v) = serde_json::from_str::<serde_json::Value>(text)
            {
                return v;
            }
        }
    };
    let first = next().await;
    assert_eq!(first["sources_down"], serde_json::json!(["freeswitch"]), "{first}");
    // FreeSWITCH comes up: a frame says nothing is down.
    let _fake = fake_esl_on(
        TcpListener::bind(addr).await.unwrap(),
        vec![Session { hold: true, ..Session::from("agent-list.txt", b"", true) }],
        PASSWORD,
    );
    loop {
        let f = next().await;
        if f["sources_down"] == serde_json::json!([]) {
            break;
        }
        assert_eq!(f["sources_down"], serde_json::json!(["freeswitch"]), "{f}");
    }
    d.stop().await;
}
