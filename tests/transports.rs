//! The same events through TCP, WebSocket and HTTP, whole and in random batches, give a
//! snapshot identical to `replay` of the same file (docs/events.md#clocks, event clock).

mod common;

use common::{Daemon, noisy_trace, replay};
use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;

/// The traces span a working day, and concurrent connections run hours apart in event
/// time: a day of backfill keeps every connection's events applied where they belong.
const EVENT_CLOCK: &str =
    "[server]\nclock = \"event\"\n[floor]\nmax_backfill_secs = 86400\n[peak]\nwindows = [\"08:30-09:30\"]\n";

fn lines(trace: &str) -> Vec<&str> {
    trace.lines().collect()
}

/// Splits into batches of pseudo-random sizes 1..=max.
/// Sends `lines` to the WebSocket ingest as JSON arrays of up to 37 events, then closes.
async fn send_ws_arrays(d: &Daemon, lines: &[&str]) {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ingest", d.http)).await.unwrap();
    for c in batches(lines, 37, 11) {
        ws.send(Message::text(format!("[{}]", c.join(",")))).await.unwrap();
    }
    ws.close(None).await.unwrap();
    while ws.next().await.is_some() {}
}

fn batches<'a>(lines: &[&'a str], max: usize, seed: u64) -> Vec<Vec<&'a str>> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut x = seed | 1;
    while i < lines.len() {
        x = x.wrapping_mul(2862933555777941757).wrapping_add(3037000493);
        let n = 1 + (x >> 33) as usize % max;
        out.push(lines[i..(i + n).min(lines.len())].to_vec());
        i += n;
    }
    out
}

fn outcomes(trace: &str) -> u64 {
    trace.lines().filter(|l| !l.trim().is_empty()).count() as u64
}

fn assert_same(got: &serde_json::Value, want: &serde_json::Value, how: &str) {
    if got != want {
        for k in ["now", "floor", "teams", "agents", "queues", "alerts", "ingest"] {
            if got[k] != want[k] {
                panic!(
                    "{how}: `{k}` differs from replay\n got: {}\nwant: {}",
                    &got[k].to_string()[..got[k].to_string().len().min(600)],
                    &want[k].to_string()[..want[k].to_string().len().min(600)]
                );
            }
        }
        panic!("{how}: differs from replay");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_ws_and_http_equal_replay() {
    let trace = noisy_trace(40, 3000, 7);
    let want = replay(&trace, EVENT_CLOCK);
    assert!(want["ingest"]["duplicate"].as_u64().unwrap() > 0 && want["ingest"]["late"].as_u64().unwrap() > 0);
    assert!(want["ingest"]["invalid"].as_u64().unwrap() > 0);
    let n = outcomes(&trace);
    let all = lines(&trace);

    // TCP: the whole file in one write, then again in random batches on a new daemon.
    for (how, chunks) in [("tcp whole", vec![all.clone()]), ("tcp batches", batches(&all, 50, 3))] {
        let d = Daemon::start(EVENT_CLOCK).await;
        let mut s = tokio::net::TcpStream::connect(d.tcp).await.unwrap();
        for c in chunks {
            let mut buf = c.join("\n");
            buf.push('\n');
            s.write_all(buf.as_bytes()).await.unwrap();
        }
        s.shutdown().await.unwrap();
        let got = d.wait_outcomes(n).await;
        assert_same(&got, &want, how);
        d.stop().await;
    }

    // WebSocket, one event per frame: garbage frames are one invalid each, like lines.
    let d = Daemon::start(EVENT_CLOCK).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ingest", d.http)).await.unwrap();
    for l in &all {
        ws.send(Message::text(l.to_string())).await.unwrap();
    }
    ws.close(None).await.unwrap();
    while ws.next().await.is_some() {}
    assert_same(&d.wait_outcomes(n).await, &want, "ws single");
    d.stop().await;

    // Arrays (WebSocket frames and HTTP bodies) carry JSON values, so a line that is not
    // JSON cannot be an element: compare on the JSON lines only, in random batches.
    let json_lines: Vec<&str> =
        all.iter().copied().filter(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()).collect();
    let json_trace = json_lines.join("\n") + "\n";
    let want = replay(&json_trace, EVENT_CLOCK);
    let n = json_lines.len() as u64;
    let d = Daemon::start(EVENT_CLOCK).await;
    send_ws_arrays(&d, &json_lines).await;
    assert_same(&d.wait_outcomes(n).await, &want, "ws arrays");
    d.stop().await;

    // HTTP: each answer counts its own outcomes once applied.
    let d = Daemon::start(EVENT_CLOCK).await;
    let mut applied = 0;
    for c in batches(&json_lines, 200, 5) {
        let (status, counts) = d.post("/api/v1/events", format!("[{}]", c.join(","))).await;
        assert_eq!(status, 200);
        applied += counts["applied"].as_u64().unwrap();
    }
    assert_eq!(applied, want["ingest"]["applied"].as_u64().unwrap());
    assert_same(&d.get_json("/api/v1/snapshot").await, &want, "http");
    d.stop().await;
}

/// A floor with queues (the simulator's agent and call events, plus a resent `queued`, an
/// ending event for a call never queued and a call event without its queue) through TCP in
/// batches, WebSocket arrays and HTTP gives the snapshot of `replay`, queues and queue
/// alerts included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_through_tcp_ws_and_http_equal_replay() {
    let cfg = floorwatch::sim::SimConfig {
        agents: 30,
        teams: 3,
        start: floorwatch::time::parse_rfc3339("2026-11-23T09:00:00Z").unwrap(),
        duration: Some(90 * 60_000),
        ..Default::default()
    };
    let mut lines: Vec<String> = floorwatch::sim::Simulator::new(cfg).unwrap().map(|l| l.line).collect();
    let queued = lines.iter().position(|l| l.contains(r#""event":"queued""#)).unwrap();
    let again = lines[queued].clone();
    lines.insert(queued + 1, again);
    lines.insert(queued + 2, r#"{"ts":"2026-11-23T09:00:30Z","call":"nobody","event":"answered"}"#.into());
    lines.insert(queued + 3, r#"{"ts":"2026-11-23T09:00:30Z","call":"x","event":"queued"}"#.into());
    let all: Vec<&str> = lines.iter().map(String::as_str).collect();
    let trace = all.join("\n") + "\n";
    let want = replay(&trace, EVENT_CLOCK);
    assert!(want["queues"].as_array().unwrap().len() == 3, "{}", want["queues"]);
    assert_eq!(want["ingest"]["duplicate"], 2);
    assert_eq!(want["ingest"]["invalid"], 1);
    assert!(
        want["alerts"].as_array().unwrap().iter().any(|a| a["kind"] == "long_wait"),
        "a long wait in 90 min at peak"
    );
    let n = all.len() as u64;

    let d = Daemon::start(EVENT_CLOCK).await;
    let mut s = tokio::net::TcpStream::connect(d.tcp).await.unwrap();
    for c in batches(&all, 50, 3) {
        s.write_all((c.join("\n") + "\n").as_bytes()).await.unwrap();
    }
    s.shutdown().await.unwrap();
    assert_same(&d.wait_outcomes(n).await, &want, "tcp batches");
    d.stop().await;

    let d = Daemon::start(EVENT_CLOCK).await;
    send_ws_arrays(&d, &all).await;
    assert_same(&d.wait_outcomes(n).await, &want, "ws arrays");
    d.stop().await;

    let d = Daemon::start(EVENT_CLOCK).await;
    for c in batches(&all, 200, 5) {
        let (status, _) = d.post("/api/v1/events", format!("[{}]", c.join(","))).await;
        assert_eq!(status, 200);
    }
    assert_same(&d.get_json("/api/v1/snapshot").await, &want, "http");
    d.stop().await;
}

/// The applier thread serves every TCP and WebSocket connection at once: each agent's events
/// go over one connection, so if the applier kept each connection's order every agent's
/// figures and every outcome count equal `replay` of the whole file, however the
/// connections interleave. (The team detectors are left out: with the event clock they may
/// see the connections' events in another order than the file's.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_connections_each_keep_their_order() {
    let trace = noisy_trace(60, 6000, 21);
    let want = replay(&trace, EVENT_CLOCK);
    let n = outcomes(&trace);
    // Connection k carries the agents whose number is k mod 5; lines without an agent go
    // with connection 0. Connections 0-2 are TCP, 3 a WebSocket, 4 a WebSocket with acks.
    let mut per: Vec<Vec<&str>> = vec![Vec::new(); 5];
    for l in lines(&trace) {
        let agent =
            serde_json::from_str::<serde_json::Value>(l).ok().and_then(|v| v["agent"].as_str().map(String::from));
        let k = agent.and_then(|a| a.trim_start_matches('A').parse::<usize>().ok()).map_or(0, |a| a % 5);
        per[k].push(l);
    }
    assert!(per[3].iter().chain(&per[4]).all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
    let d = Daemon::start(EVENT_CLOCK).await;
    let mut tasks = Vec::new();
    for (k, mine) in per.into_iter().enumerate() {
        let mine: Vec<String> = mine.into_iter().map(String::from).collect();
        let (tcp, http) = (d.tcp, d.http);
        tasks.push(tokio::spawn(async move {
            let refs: Vec<&str> = mine.iter().map(String::as_str).collect();
            let mut acked = 0u64;
            if k < 3 {
                let mut s = tokio::net::TcpStream::connect(tcp).await.unwrap();
                for c in batches(&refs, 40, k as u64 + 1) {
                    s.write_all((c.join("\n") + "\n").as_bytes()).await.unwrap();
                    tokio::task::yield_now().await;
                }
                s.shutdown().await.unwrap();
            } else {
                let url = format!("ws://{http}/ingest{}", if k == 4 { "?ack=1" } else { "" });
                let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
                let frames = batches(&refs, 30, k as u64);
                for c in &frames {
                    ws.send(Message::text(format!("[{}]", c.join(",")))).await.unwrap();
                }
                if k == 4 {
                    for f in 1..=frames.len() as u64 {
                        let ack: serde_json::Value =
                            serde_json::from_str(ws.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
                        assert_eq!(ack["ack"].as_u64(), Some(f), "acks in frame order");
                        acked += ["applied", "duplicate", "late", "invalid"]
                            .iter()
                            .map(|o| ack[o].as_u64().unwrap())
                            .sum::<u64>();
                    }
                    assert_eq!(acked, mine.len() as u64, "the acks count every event of the connection");
                }
                ws.close(None).await.unwrap();
                while ws.next().await.is_some() {}
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // Once no ingest connection is open, everything they sent is applied.
    let mut open = f64::NAN;
    for _ in 0..400 {
        let m = d.metrics().await;
        open = ["tcp", "ws"]
            .iter()
            .map(|s| common::metric(&m, &format!("floorwatch_ingest_connections{{source=\"{s}\"}}")).unwrap_or(0.0))
            .sum();
        if open == 0.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(open, 0.0, "ingest connections still open");
    let got = d.get_json("/api/v1/snapshot").await;
    assert_eq!(got["ingest"], want["ingest"], "outcomes once every connection closed ({n} lines)");
    assert_eq!(got["agents"], want["agents"], "agents differ from replay");
    assert_eq!(got["now"], want["now"]);
    // The connections ran hours apart in event time: late delivery (SPEC §2.5). The alerts
    // and team figures are still those of the file replayed in order.
    if std::env::var_os("FW_DUMP").is_some() {
        std::fs::write("/tmp/got.json", serde_json::to_string_pretty(&got["alerts"]).unwrap()).unwrap();
        std::fs::write("/tmp/want.json", serde_json::to_string_pretty(&want["alerts"]).unwrap()).unwrap();
    }
    assert_eq!(got["alerts"], want["alerts"], "alerts differ from replay");
    assert_eq!(got["teams"], want["teams"], "teams differ from replay");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_counted_and_the_connection_stays_up() {
    let d =
        Daemon::start("[server]\nclock = \"event\"\n[limits]\nmax_line_bytes = 1024\nmax_body_bytes = 100000\n").await;
    let mut s = tokio::net::TcpStream::connect(d.tcp).await.unwrap();
    let mut junk = Vec::new();
    junk.extend_from_slice(b"garbage\n");
    junk.extend_from_slice(b"{\"agent\":\"\xff\xfe\",\"state\":\"idle\"}\n"); // invalid UTF-8
    junk.extend_from_slice(b"{\"agent\":\"A1\",\"state\":\"idle\"\n"); // truncated JSON
    junk.extend_from_slice(&vec![b'x'; 5000]); // oversized, skipped to the newline
    junk.extend_from_slice(b"\n");
    junk.extend_from_slice(b"{\"ts\":1000,\"agent\":\"A1\",\"state\":\"idle\",\"team\":\"T\"}\n");
    s.write_all(&junk).await.unwrap();
    let snap = d.wait_outcomes(5).await;
    assert_eq!(snap["ingest"]["invalid"], 4, "{}", snap["ingest"]);
    assert_eq!(snap["ingest"]["applied"], 1);
    // Same connection still works.
    s.write_all(b"{\"ts\":2000,\"agent\":\"A1\",\"state\":\"aux\"}\n").await.unwrap();
    let snap = d.wait_outcomes(6).await;
    assert_eq!(snap["agents"][0]["state"], "aux");

    // WebSocket: a binary frame and a garbage text frame are invalid; the socket stays up.
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ingest?ack=1", d.http)).await.unwrap();
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    let ack: serde_json::Value = serde_json::from_str(ws.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
    assert_eq!(ack["invalid"], 1);
    ws.send(Message::text("{\"agent\":")).await.unwrap();
    let ack: serde_json::Value = serde_json::from_str(ws.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
    assert_eq!(ack["invalid"], 1);
    ws.send(Message::text("[{\"ts\":3000,\"agent\":\"A1\",\"state\":\"idle\"}, 7]")).await.unwrap();
    let ack: serde_json::Value = serde_json::from_str(ws.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
    assert_eq!((ack["applied"].as_u64(), ack["invalid"].as_u64(), ack["ack"].as_u64()), (Some(1), Some(1), Some(3)));

    // HTTP: not JSON is a 400 with the count; too large is a 413.
    let (status, counts) = d.post("/api/v1/events", "not json").await;
    assert_eq!((status, counts["invalid"].as_u64()), (400, Some(1)));
    let big = format!("[{}]", vec!["{\"agent\":\"A9\",\"state\":\"idle\",\"ts\":1}"; 5_000].join(","));
    let r = reqwest::Client::new()
        .post(d.url("/api/v1/events"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await;
    // The daemon answers 413 (the client may see the connection closed mid-upload instead).
    if let Ok(r) = r {
        assert_eq!(r.status().as_u16(), 413);
    }
    let snap = d.get_json("/api/v1/snapshot").await;
    assert!(snap["agents"].as_array().unwrap().iter().all(|a| a["agent"] != "A9"), "an oversized body applied events");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_never_reads_does_not_slow_ingest() {
    let d = Daemon::start("[server]\npush_interval_ms = 50\n").await;
    // Connect a /ws client and never read from it.
    let (_silent, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", d.http)).await.unwrap();
    let mut s = tokio::net::TcpStream::connect(d.tcp).await.unwrap();
    let mut total = 0u64;
    for round in 0..100 {
        let mut buf = String::new();
        for i in 0..1000 {
            let state = if (i + round) % 2 == 0 { "idle" } else { "talking" };
            // A new long name each round: a delta carries a known agent's name only when it
            // changed, and the frames must be large enough to fill the silent socket.
            buf.push_str(&format!(
                "{{\"agent\":\"A{i}\",\"state\":\"{state}\",\"team\":\"T{}\",\"name\":\"{}{round}\"}}\n",
                i % 20,
                "n".repeat(200)
            ));
        }
        s.write_all(buf.as_bytes()).await.unwrap();
        total += 1000;
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
    let snap = d.wait_outcomes(total).await;
    assert_eq!(snap["ingest"]["applied"].as_u64(), Some(total));
    let metrics = reqwest::get(d.url("/metrics")).await.unwrap().text().await.unwrap();
    let skipped: f64 = metrics
        .lines()
        .find(|l| l.starts_with("floorwatch_ws_clients_skipped_total"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .expect("skipped counter exported");
    assert!(skipped > 0.0, "the silent reader was never skipped");
    d.stop().await;
}

/// A wallboard that closes its socket is forgotten at once, even when nothing is being
/// pushed (event clock, no events: no frame would reveal a dead socket); the others keep
/// getting their frames in order, `full` first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_wallboard_is_forgotten_and_the_others_keep_their_frames() {
    let d = Daemon::start("[server]\nclock = \"event\"\npush_interval_ms = 50\n").await;
    let (mut a, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", d.http)).await.unwrap();
    let (mut b, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", d.http)).await.unwrap();
    let frame = |m: Message| serde_json::from_str::<serde_json::Value>(m.to_text().unwrap()).unwrap();
    let wait = std::time::Duration::from_secs(10);
    assert_eq!(frame(tokio::time::timeout(wait, a.next()).await.unwrap().unwrap().unwrap())["type"], "full");
    assert_eq!(frame(tokio::time::timeout(wait, b.next()).await.unwrap().unwrap().unwrap())["type"], "full");
    // The first tick with a client sends a delta to those registered then (A, or only B
    // when the server registered A after that tick: under load in CI it did, and waiting
    // for A's delta hung the test); after it nothing changes, so no frame goes out. Four
    // ticks for it to pass.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let clients = || async { common::metric(&d.metrics().await, "floorwatch_ws_clients") };
    assert_eq!(clients().await, Some(2.0));

    a.close(None).await.unwrap();
    let mut n = clients().await;
    for _ in 0..200 {
        if n == Some(1.0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        n = clients().await;
    }
    assert_eq!(n, Some(1.0), "the closed wallboard is still counted");

    // B sees the floor change: events of two agents, then a third.
    let mut s = tokio::net::TcpStream::connect(d.tcp).await.unwrap();
    s.write_all(b"{\"ts\":1000,\"agent\":\"A1\",\"state\":\"idle\",\"team\":\"T\"}\n{\"ts\":1000,\"agent\":\"A2\",\"state\":\"talking\",\"team\":\"T\"}\n").await.unwrap();
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 2 {
        let f =
            frame(tokio::time::timeout(std::time::Duration::from_secs(5), b.next()).await.unwrap().unwrap().unwrap());
        assert_ne!(f["type"], "full", "no second full frame for a client that keeps up");
        for ag in f["agents"].as_array().into_iter().flatten() {
            seen.insert(ag["agent"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), ["A1", "A2"]);
    d.stop().await;
}

type BoardSocket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A wallboard's `/ws` connection.
async fn board_socket(d: &Daemon) -> BoardSocket {
    tokio_tungstenite::connect_async(format!("ws://{}/ws", d.http)).await.unwrap().0
}

/// The next frame a wallboard gets (within 5 s).
async fn next_frame(ws: &mut BoardSocket) -> serde_json::Value {
    let m = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next()).await.unwrap().unwrap().unwrap();
    serde_json::from_str(m.to_text().unwrap()).unwrap()
}

/// The first wallboard after a stretch without any does not get every agent again in its
/// first delta (the push loop had built no board to compare with; at 20,000 agents that
/// delta was 2.6 MB), and a known agent's change carries only what changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_delta_after_a_full_frame_names_only_what_changed_since() {
    let d = Daemon::start("[server]\nclock = \"event\"\npush_interval_ms = 50\n").await;
    let mut s = tokio::net::TcpStream::connect(d.tcp).await.unwrap();
    let mut lines = String::new();
    for i in 0..50 {
        lines.push_str(&format!(
            "{{\"ts\":1000,\"agent\":\"A{i}\",\"state\":\"idle\",\"team\":\"T{}\",\"name\":\"Agent {i}\"}}\n",
            i % 5
        ));
    }
    s.write_all(lines.as_bytes()).await.unwrap();
    d.wait_outcomes(50).await;
    let mut ws = board_socket(&d).await;
    let mut next = async || next_frame(&mut ws).await;
    let full = next().await;
    assert_eq!(full["type"], "full");
    assert_eq!(full["agents"].as_array().map(Vec::len), Some(50));
    let first = next().await;
    assert_eq!(first["type"], "delta");
    assert_eq!(first["agents"], serde_json::json!([]), "nothing changed since the full frame");
    s.write_all(b"{\"ts\":2000,\"agent\":\"A7\",\"state\":\"aux\",\"reason\":\"break\"}\n").await.unwrap();
    let delta = loop {
        let f = next().await;
        if f["agents"].as_array().is_some_and(|a| !a.is_empty()) {
            break f;
        }
    };
    assert_eq!(
        delta["agents"],
        serde_json::json!([{"agent": "A7", "state": "aux", "reason": "break", "since": 2000}]),
        "name, team and planned did not change"
    );
    d.stop().await;
}

/// A delta carries what changed of the alert list, not the list: with a roster at 20,000
/// agents a board held thousands of alerts, a couple of which changed each second, and every
/// delta resent them all (1.3 MB a second a board; the board audit). A wallboard that applies
/// the changes has the list as `/api/v1/board` has it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deltas_carry_the_alerts_that_changed_not_the_list() {
    use std::collections::BTreeMap;
    let d = Daemon::start("[server]\nclock = \"event\"\npush_interval_ms = 50\n[alerts.long_aux]\nmax_aux_secs = 60\n")
        .await;
    let mut s = tokio::net::TcpStream::connect(d.tcp).await.unwrap();
    let mut lines = String::new();
    for i in 0..20 {
        lines.push_str(&format!(
            "{{\"ts\":1000,\"agent\":\"A{i}\",\"state\":\"aux\",\"reason\":\"break\",\"team\":\"T1\"}}\n"
        ));
    }
    // Twenty long_aux alerts fire at 61 s.
    lines.push_str("{\"ts\":70000,\"agent\":\"B0\",\"state\":\"idle\",\"team\":\"T2\"}\n");
    s.write_all(lines.as_bytes()).await.unwrap();
    d.wait_outcomes(21).await;
    let mut ws = board_socket(&d).await;
    let mut next = async || next_frame(&mut ws).await;
    let full = next().await;
    assert_eq!(full["type"], "full");
    let mut list: BTreeMap<String, serde_json::Value> =
        full["alerts"].as_array().unwrap().iter().map(|a| (a["id"].as_str().unwrap().to_string(), a.clone())).collect();
    assert_eq!(list.len(), 20);
    // The first delta after the full frame is whole.
    let first = loop {
        let f = next().await;
        if f["type"] == "delta" {
            break f;
        }
    };
    assert_eq!(first["alerts"].as_array().map(Vec::len), Some(20));
    // One agent back: its alert resolves; the next delta names that one alert only.
    s.write_all(b"{\"ts\":80000,\"agent\":\"A3\",\"state\":\"idle\"}\n").await.unwrap();
    let delta = loop {
        let f = next().await;
        if f["type"] == "delta" {
            break f;
        }
    };
    assert!(delta.get("alerts").is_none() && delta.get("alerts_removed").is_none(), "{delta}");
    let changed = delta["alerts_changed"].as_array().cloned().unwrap_or_default();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!((changed[0]["agent"].as_str(), changed[0]["state"].as_str()), (Some("A3"), Some("resolved")));
    list.insert(changed[0]["id"].as_str().unwrap().to_string(), changed[0].clone());
    let board = d.get_json("/api/v1/board").await;
    let want: BTreeMap<String, serde_json::Value> = board["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["id"].as_str().unwrap().to_string(), a.clone()))
        .collect();
    assert_eq!(list, want);
    d.stop().await;
}

/// A delta carries the queues whose figures moved, not every queue every second (500
/// queues were 300 KB a second a board; the memory audit); a new queue sends the list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deltas_carry_the_queues_that_changed() {
    let d = Daemon::start("[server]\nclock = \"event\"\npush_interval_ms = 50\n").await;
    let mut s = tokio::net::TcpStream::connect(d.tcp).await.unwrap();
    let call = |c: &str, q: &str, ts: i64| {
        format!("{{\"ts\":{ts},\"call\":\"{c}\",\"event\":\"queued\",\"queue\":\"{q}\"}}\n")
    };
    // qa and qc quiet (their calls answered), qb with a caller waiting.
    let answered = |c: &str, ts: i64| format!("{{\"ts\":{ts},\"call\":\"{c}\",\"event\":\"answered\"}}\n");
    let lines = [call("c0", "qa", 1000), call("c1", "qb", 1000), call("c2", "qc", 1000)].concat()
        + &answered("c0", 1500)
        + &answered("c2", 1500);
    s.write_all(lines.as_bytes()).await.unwrap();
    d.wait_outcomes(5).await;
    let mut ws = board_socket(&d).await;
    let delta = async |ws: &mut BoardSocket| loop {
        let f = next_frame(ws).await;
        if f["type"] == "delta" {
            break f;
        }
    };
    assert_eq!(next_frame(&mut ws).await["type"], "full");
    assert_eq!(delta(&mut ws).await["queues"].as_array().map(Vec::len), Some(3), "the first delta is whole");
    s.write_all(call("c9", "qb", 2000).as_bytes()).await.unwrap();
    let f = delta(&mut ws).await;
    assert!(f.get("queues").is_none(), "{f}");
    let changed = f["queues_changed"].as_array().unwrap();
    assert_eq!(changed.iter().map(|q| q["queue"].as_str().unwrap()).collect::<Vec<_>>(), ["qb"], "{f}");
    assert_eq!(changed[0]["current"]["waiting"], 2);
    // A new queue: the list.
    s.write_all(call("c10", "qd", 3000).as_bytes()).await.unwrap();
    let f = delta(&mut ws).await;
    assert_eq!(f["queues"].as_array().map(Vec::len), Some(4), "{f}");
    d.stop().await;
}

/// A rostered floor: the simulator's day with its roster (shifts, breaks and lunches; agents
/// back late from break, a no-show, an early logoff) and 4% noise (duplicates, late events,
/// garbage), and one team's events late by 35 minutes. TCP in random batches, WebSocket
/// arrays and HTTP (with views between its batches) give the snapshot of `replay`
/// with the same roster: every adherence figure, each agent's `scheduled`, the no-show's
/// listing and the `out_of_adherence` alerts with their exact times; and on `/metrics`,
/// every daemon's alerts fired less retracted are the alerts that stand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rostered_floor_through_tcp_ws_and_http_equals_replay() {
    let cfg = floorwatch::sim::SimConfig {
        agents: 40,
        teams: 4,
        seed: 26,
        start: floorwatch::time::parse_rfc3339("2026-11-23T08:00:00Z").unwrap(),
        duration: Some(5 * 3_600_000),
        shifts: true,
        noise: 0.04,
        ..Default::default()
    };
    let mut sim = floorwatch::sim::Simulator::new(cfg).unwrap();
    sim.record_roster();
    let sim_lines: Vec<String> = sim.by_ref().map(|l| l.line).collect();
    let rows = sim.take_roster();
    // Team T02's events of 09:30–10:05 arrive as one late batch at 10:05 (its site's link
    // down for 35 minutes): alerts fired on its stale states meanwhile are taken back.
    let ts = |l: &str| -> Option<i64> {
        let v: serde_json::Value = serde_json::from_str(l).ok()?;
        floorwatch::time::parse_rfc3339(v["ts"].as_str()?)
    };
    let at = |hm: &str| floorwatch::time::parse_rfc3339(&format!("2026-11-23T{hm}:00Z")).unwrap();
    let mut team_of = std::collections::HashMap::new();
    let (mut lines, mut held) = (Vec::new(), Vec::new());
    for l in sim_lines {
        let v = serde_json::from_str::<serde_json::Value>(&l).ok();
        let agent = v.as_ref().and_then(|v| v["agent"].as_str().map(String::from));
        if let (Some(a), Some(t)) = (&agent, v.as_ref().and_then(|v| v["team"].as_str())) {
            team_of.insert(a.clone(), t.to_string());
        }
        let late = agent.is_some_and(|a| team_of.get(&a).is_some_and(|t| t == "T02"))
            && ts(&l).is_some_and(|t| (at("09:30")..at("10:05")).contains(&t));
        if late {
            held.push(l);
            continue;
        }
        if !held.is_empty() && ts(&l).is_some_and(|t| t >= at("10:05")) {
            lines.append(&mut held);
        }
        lines.push(l);
    }
    assert!(held.is_empty());
    let dir = std::env::temp_dir().join(format!("floorwatch-transports-roster-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let roster = dir.join("roster.csv");
    std::fs::write(&roster, floorwatch::sim::roster_csv(&rows)).unwrap();
    let toml = format!("{EVENT_CLOCK}[roster]\nfile = {:?}\n", roster.to_str().unwrap());

    // `replay` with the same roster, as `floorwatch replay -c` loads it.
    let all: Vec<&str> = lines.iter().map(String::as_str).collect();
    let trace = all.join("\n") + "\n";
    let file = floorwatch::config::FileConfig::parse(&toml, "test").unwrap();
    let mut settings = file.settings().unwrap();
    settings.roster = file.roster_upload(std::path::Path::new("."), &settings.tz).unwrap().map(std::sync::Arc::new);
    assert!(settings.roster.is_some(), "the roster file is read");
    let mut out = Vec::new();
    floorwatch::replay::run(settings, trace.as_bytes(), None, 65536, &mut out).unwrap();
    let want: serde_json::Value = serde_json::from_slice(&out).unwrap();

    // The floor exercises what the comparison is about.
    let ooa = want["alerts"].as_array().unwrap().iter().filter(|a| a["kind"] == "out_of_adherence").count();
    assert!(ooa >= 3, "out_of_adherence alerts in the day: {ooa}");
    let agents = want["agents"].as_array().unwrap();
    assert!(agents.iter().any(|a| a["team"] == "unassigned"), "the no-show is listed");
    assert!(agents.iter().any(|a| a["scheduled"].is_string()), "agents carry their scheduled activity");
    let today = &want["floor"]["windows"]["today"];
    assert!(today["scheduled_s"].as_f64().unwrap() > 0.0 && today["adherence"].as_f64().unwrap() < 1.0, "{today}");
    for k in ["duplicate", "late", "invalid"] {
        assert!(want["ingest"][k].as_u64().unwrap() > 0, "noise of kind {k}");
    }
    let n = outcomes(&trace);

    let counters = |m: &str| -> (f64, f64) {
        (
            common::metric_sum(m, "floorwatch_alerts_fired_total").unwrap_or(0.0),
            common::metric_sum(m, "floorwatch_alerts_retracted_total").unwrap_or(0.0),
        )
    };
    let mut seen: Vec<(&str, (f64, f64))> = Vec::new();

    for (how, chunks) in [("tcp whole", vec![all.clone()]), ("tcp batches", batches(&all, 40, 11))] {
        let d = Daemon::start(&toml).await;
        let mut s = tokio::net::TcpStream::connect(d.tcp).await.unwrap();
        for c in chunks {
            s.write_all((c.join("\n") + "\n").as_bytes()).await.unwrap();
        }
        s.shutdown().await.unwrap();
        assert_same(&d.wait_outcomes(n).await, &want, how);
        seen.push((how, counters(&d.metrics().await)));
        d.stop().await;
    }

    // Arrays carry JSON values only: the JSON lines, against their own replay.
    let json_lines: Vec<&str> =
        all.iter().copied().filter(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()).collect();
    let json_trace = json_lines.join("\n") + "\n";
    let file = floorwatch::config::FileConfig::parse(&toml, "test").unwrap();
    let mut settings = file.settings().unwrap();
    settings.roster = file.roster_upload(std::path::Path::new("."), &settings.tz).unwrap().map(std::sync::Arc::new);
    let mut out = Vec::new();
    floorwatch::replay::run(settings, json_trace.as_bytes(), None, 65536, &mut out).unwrap();
    let want_json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let n = json_lines.len() as u64;

    let d = Daemon::start(&toml).await;
    send_ws_arrays(&d, &json_lines).await;
    assert_same(&d.wait_outcomes(n).await, &want_json, "ws arrays");
    seen.push(("ws arrays", counters(&d.metrics().await)));
    d.stop().await;

    let d = Daemon::start(&toml).await;
    // With views in between: a snapshot, the late team's board and a scrape evaluate the
    // floor as of each batch's end; none of them may change what follows.
    for (i, c) in batches(&json_lines, 150, 13).into_iter().enumerate() {
        let (status, _) = d.post("/api/v1/events", format!("[{}]", c.join(","))).await;
        assert_eq!(status, 200);
        match i % 4 {
            0 => drop(d.get_json("/api/v1/snapshot?agents=false").await),
            1 => drop(d.get_json("/api/v1/board?team=T02").await),
            2 => drop(d.metrics().await),
            _ => {}
        }
    }
    assert_same(&d.get_json("/api/v1/snapshot").await, &want_json, "http with views");
    seen.push(("http with views", counters(&d.metrics().await)));
    d.stop().await;

    // What each daemon told depends on what it knew when: the alerts fired on T02's stale
    // states before its late batch came differ with the batching, and each is counted
    // fired and then retracted. Fired less retracted is the alerts that stand, the same
    // for every daemon and equal to the snapshot's (the invalid lines carry no alert).
    // (Queue alerts have counters of their own.)
    let stand = want["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| !["long_wait", "service_level_low"].contains(&a["kind"].as_str().unwrap()))
        .count() as f64;
    assert!(seen.iter().any(|(_, (_, r))| *r > 0.0), "the late batch took alerts back: {seen:?}");
    for (how, (fired, retracted)) in &seen {
        assert_eq!(fired - retracted, stand, "{how}: fired less retracted against the snapshot's alerts ({seen:?})");
    }
    std::fs::remove_dir_all(&dir).ok();
}
