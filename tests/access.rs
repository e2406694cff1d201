//! Access: the ingest and viewer tokens on every route and transport, the Origin
//! allow-list on WebSocket upgrades, and secrets from a file (the environment variable
//! case is in `tests/secrets_env.rs`, its own process).

mod common;

use std::time::Duration;

use common::{Daemon, metric};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

async fn status(req: reqwest::RequestBuilder) -> u16 {
    req.send().await.unwrap().status().as_u16()
}

/// The HTTP status of a WebSocket upgrade (101 when it succeeded).
async fn ws_status(url: &str, headers: &[(&str, &str)]) -> u16 {
    let mut req = url.into_client_request().unwrap();
    for (k, v) in headers {
        let name = tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap();
        req.headers_mut().insert(name, v.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((_, resp)) => resp.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("{url}: {e}"),
    }
}

/// Checks both tokens against `d`: every read route needs the viewer token, every ingest
/// route the ingest token, and neither stands in for the other.
async fn check_tokens(d: &Daemon, ingest: &str, viewer: &str) {
    let c = reqwest::Client::new();
    let bearer = |t: &str| format!("Bearer {t}");
    for path in ["/api/v1/snapshot", "/api/v1/alerts", "/api/v1/board", "/metrics"] {
        let url = d.url(path);
        assert_eq!(status(c.get(&url)).await, 401, "{path} without a token");
        assert_eq!(status(c.get(&url).header("authorization", bearer("nope"))).await, 401, "{path}");
        assert_eq!(status(c.get(&url).header("authorization", bearer(ingest))).await, 401, "{path}, ingest token");
        assert_eq!(status(c.get(&url).header("authorization", bearer(viewer))).await, 200, "{path}");
    }
    // Liveness and readiness stay open for probes.
    assert_eq!(status(c.get(d.url("/healthz"))).await, 200);

    let events = d.url("/api/v1/events");
    let c_json = |r: reqwest::RequestBuilder| r.header("content-type", "application/json");
    let body = r#"[{"ts":1000,"agent":"H1","state":"idle","team":"T"}]"#;
    assert_eq!(status(c_json(c.post(&events)).body(body)).await, 401);
    assert_eq!(status(c_json(c.post(&events)).header("authorization", bearer(viewer)).body(body)).await, 401);
    assert_eq!(status(c_json(c.post(&events)).header("authorization", bearer(ingest)).body(body)).await, 200);

    // WebSockets: header or ?token= (browsers cannot set headers on upgrades).
    let ws = |path: &str| format!("ws://{}{path}", d.http);
    assert_eq!(ws_status(&ws("/ws"), &[]).await, 401);
    assert_eq!(ws_status(&ws(&format!("/ws?token={ingest}")), &[]).await, 401);
    assert_eq!(ws_status(&ws(&format!("/ws?token={viewer}")), &[]).await, 101);
    assert_eq!(ws_status(&ws("/ws"), &[("authorization", &bearer(viewer))]).await, 101);
    assert_eq!(ws_status(&ws("/ingest"), &[]).await, 401);
    assert_eq!(ws_status(&ws(&format!("/ingest?token={viewer}")), &[]).await, 401);
    let (mut sock, _) = tokio_tungstenite::connect_async(ws(&format!("/ingest?ack=1&token={ingest}"))).await.unwrap();
    sock.send(Message::text(r#"{"ts":1000,"agent":"W1","state":"idle","team":"T"}"#)).await.unwrap();
    let ack = sock.next().await.unwrap().unwrap();
    assert!(ack.to_text().unwrap().contains("\"applied\":1"), "{ack:?}");

    // TCP: the first line must be `AUTH <ingest token>`; anything else closes the
    // connection before any event is read, and touches no event counter.
    for first in ["{\"ts\":1000,\"agent\":\"X1\",\"state\":\"idle\"}".to_string(), format!("AUTH {viewer}")] {
        let mut s = TcpStream::connect(d.tcp).await.unwrap();
        s.write_all(format!("{first}\n{{\"ts\":1000,\"agent\":\"X2\",\"state\":\"idle\"}}\n").as_bytes())
            .await
            .unwrap();
        let mut buf = [0u8; 16];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await.expect("closed");
        assert!(matches!(n, Ok(0) | Err(_)), "connection left open after {first:?}");
    }
    let mut s = TcpStream::connect(d.tcp).await.unwrap();
    s.write_all(
        format!("AUTH {ingest}\r\n{{\"ts\":1000,\"agent\":\"T1\",\"state\":\"idle\",\"team\":\"T\"}}\n").as_bytes(),
    )
    .await
    .unwrap();
    s.shutdown().await.unwrap();

    let auth = |r: reqwest::RequestBuilder| r.header("authorization", bearer(viewer));
    let mut agents = Vec::new();
    for _ in 0..200 {
        let snap: serde_json::Value =
            auth(c.get(d.url("/api/v1/snapshot"))).send().await.unwrap().json().await.unwrap();
        agents = snap["agents"].as_array().unwrap().iter().map(|a| a["agent"].as_str().unwrap().to_string()).collect();
        if agents.len() == 3 {
            assert_eq!(snap["ingest"]["invalid"], 0, "an unauthenticated sender touched the counters");
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(agents, ["H1", "T1", "W1"]);
    let m = auth(c.get(d.url("/metrics"))).send().await.unwrap().text().await.unwrap();
    assert_eq!(metric(&m, "floorwatch_connections_closed_total{listener=\"tcp\",reason=\"auth\"}"), Some(2.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_guard_every_route_and_transport() {
    let d = Daemon::start(
        "[server]\nclock = \"event\"\n[auth]\ningest_token = \"in-s3cret\"\nviewer_token = \"v-s3cret\"\n",
    )
    .await;
    check_tokens(&d, "in-s3cret", "v-s3cret").await;
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_from_files() {
    let dir = std::env::temp_dir().join(format!("floorwatch-access-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Files as secret managers write them: trailing newline, trimmed on reading.
    std::fs::write(dir.join("ingest.token"), "file-ingest\n").unwrap();
    std::fs::write(dir.join("viewer.token"), "  file-viewer\r\n").unwrap();
    let toml = format!(
        "[server]\nclock = \"event\"\n[auth]\ningest_token_file = {:?}\nviewer_token_file = {:?}\n",
        dir.join("ingest.token").display().to_string(),
        dir.join("viewer.token").display().to_string()
    );
    let d = Daemon::start(&toml).await;
    check_tokens(&d, "file-ingest", "file-viewer").await;
    d.stop().await;

    // A missing file or two sources for one secret are config errors naming the key.
    for (toml, key) in [
        ("[auth]\nviewer_token_file = \"/nonexistent/viewer.token\"\n", "auth.viewer_token_file"),
        ("[auth]\ningest_token = \"a\"\ningest_token_file = \"b\"\n", "auth.ingest_token"),
    ] {
        let file = floorwatch::config::FileConfig::parse(toml, "test").unwrap();
        let e = file.validate(std::path::Path::new(".")).expect_err("refused").to_string();
        assert!(e.starts_with(key), "{toml:?} gave {e:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origin_allow_list_on_websocket_upgrades() {
    let d = Daemon::start("[server]\nallowed_origins = [\"https://board.example\"]\n").await;
    for path in ["/ws", "/ingest"] {
        let url = format!("ws://{}{path}", d.http);
        assert_eq!(ws_status(&url, &[("origin", "https://board.example")]).await, 101, "{path}");
        assert_eq!(ws_status(&url, &[("origin", "https://evil.example")]).await, 403, "{path}");
        assert_eq!(ws_status(&url, &[("origin", "https://board.example.evil.example")]).await, 403, "{path}");
        assert_eq!(ws_status(&url, &[("origin", "null")]).await, 403, "{path}");
        // tungstenite sends no Origin of its own, as programs do: a list is about pages,
        // so an upgrade without one passes (issue 14; the daemon's own page passes too).
        assert_eq!(ws_status(&url, &[]).await, 101, "{path} without Origin");
        assert_eq!(ws_status(&url, &[("origin", &format!("http://{}", d.http))]).await, 101, "{path}");
    }
    // The list is about browsers opening sockets; plain API reads are unaffected.
    let r = reqwest::Client::new().get(d.url("/api/v1/snapshot")).header("origin", "https://evil.example");
    assert_eq!(r.send().await.unwrap().status(), 200);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_websockets_beyond_max_connections_get_503() {
    let d = Daemon::start("[limits]\nmax_connections = 3\n").await;
    let url = format!("ws://{}/ingest", d.http);
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(tokio_tungstenite::connect_async(&url).await.unwrap().0);
    }
    assert_eq!(ws_status(&url, &[]).await, 503);
    assert_eq!(ws_status(&url, &[]).await, 503);
    // A slot frees when a socket closes.
    let mut one = held.pop().unwrap();
    one.close(None).await.unwrap();
    while one.next().await.is_some() {}
    // The server frees the slot when its side of the socket has ended, a moment after the
    // close handshake; refusals while waiting are counted too.
    let (mut ok, mut refused_while_waiting) = (false, 0);
    for _ in 0..100 {
        match ws_status(&url, &[]).await {
            101 => {
                ok = true;
                break;
            }
            503 => refused_while_waiting += 1,
            other => panic!("unexpected status {other}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "the freed ingest slot was never reused");
    let m = d.metrics().await;
    assert_eq!(
        metric(&m, "floorwatch_connections_refused_total{listener=\"ingest_ws\"}"),
        Some((2 + refused_while_waiting) as f64)
    );
    d.stop().await;
}
