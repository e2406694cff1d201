//! A web page is not an operator (issue 14): with the default configuration (no tokens) a
//! page on another site, or on a domain that re-resolves to the daemon (DNS rebinding),
//! can neither feed events nor read the floor; the daemon's own page, listed origins and
//! programs (no `Origin`) work as before. Requests are written by hand, as a browser would
//! send them, to the real daemon on 127.0.0.1; every refusal must show in /metrics.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Daemon, metric};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const EVENT: &str = r#"[{"agent":"X1","seq":1,"state":"aux","reason":"break","team":"T"}]"#;

/// An answer read off the socket: status, lower-cased head, body.
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        let prefix = format!("{name}: ");
        self.head.lines().find_map(|l| l.strip_prefix(prefix.as_str()))
    }
}

/// Sends `head` (request line and headers, without the blank line) and `body` to the
/// daemon's HTTP port and reads one answer. A `Host` is added unless `head` has one or says
/// `HTTP/1.0`. Upgrades (101) are read up to the end of the head.
async fn raw(d: &Daemon, head: &str, body: &str) -> Answer {
    let mut req = head.to_string();
    if !head.to_ascii_lowercase().contains("\r\nhost:") && !head.contains("HTTP/1.0") {
        req.push_str(&format!("\r\nHost: {}", d.http));
    }
    if !body.is_empty() {
        req.push_str(&format!("\r\nContent-Length: {}", body.len()));
    }
    req.push_str("\r\n\r\n");
    req.push_str(body);
    let mut s = TcpStream::connect(d.http).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
            let len: usize =
                head.lines().find_map(|l| l.strip_prefix("content-length: ")).map_or(0, |v| v.trim().parse().unwrap());
            if status == 101 || buf.len() >= end + 4 + len {
                let body = String::from_utf8_lossy(&buf[end + 4..(end + 4 + len).min(buf.len())]).into_owned();
                return Answer { status, head, body };
            }
        }
        let n = tokio::time::timeout_at(deadline, s.read(&mut chunk)).await.expect("an answer in time").unwrap();
        assert!(n > 0, "connection closed before a whole answer: {:?}", String::from_utf8_lossy(&buf));
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A browser's WebSocket upgrade of `path` with `extra` headers (Origin, Host).
async fn upgrade(d: &Daemon, path: &str, extra: &str) -> Answer {
    let head = format!(
        "GET {path} HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13{extra}"
    );
    raw(d, &head, "").await
}

/// A POST of `EVENT` to /api/v1/events with `extra` headers.
async fn post(d: &Daemon, extra: &str) -> Answer {
    raw(d, &format!("POST /api/v1/events HTTP/1.1{extra}"), EVENT).await
}

async fn refused(d: &Daemon, reason: &str) -> f64 {
    let m = d.metrics().await;
    metric(&m, &format!("floorwatch_http_refused_total{{reason=\"{reason}\"}}")).expect("the counter is exported")
}

async fn applied(d: &Daemon) -> u64 {
    d.get_json("/api/v1/snapshot").await["ingest"]["applied"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_upgrades_from_other_origins_are_refused_and_counted() {
    let d = Daemon::start("").await;
    let own = format!("http://{}", d.http);
    for path in ["/ingest", "/ws"] {
        for origin in ["http://evil.example", "https://evil.example", "null", &format!("http://{}:1", d.http.ip())] {
            let a = upgrade(&d, path, &format!("\r\nOrigin: {origin}")).await;
            assert_eq!(a.status, 403, "{path} from {origin}: {}", a.body);
            assert!(a.body.contains("server.allowed_origins"), "{}", a.body);
        }
        // The daemon's own page (either scheme: a TLS proxy may sit in front) and programs.
        for extra in [format!("\r\nOrigin: {own}"), format!("\r\nOrigin: https://{}", d.http), String::new()] {
            assert_eq!(upgrade(&d, path, &extra).await.status, 101, "{path} with {extra:?}");
        }
    }
    assert_eq!(refused(&d, "origin").await, 8.0);

    // Refused means nothing reached the floor; accepted means it still works end to end.
    let mut req = format!("ws://{}/ingest?ack=1", d.http).into_client_request().unwrap();
    req.headers_mut().insert("origin", own.parse().unwrap());
    let (mut sock, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(applied(&d).await, 0);
    sock.send(Message::text(EVENT)).await.unwrap();
    let ack = sock.next().await.unwrap().unwrap();
    assert!(ack.to_text().unwrap().contains("\"applied\":1"), "{ack:?}");
    let mut req = format!("ws://{}/ws", d.http).into_client_request().unwrap();
    req.headers_mut().insert("origin", own.parse().unwrap());
    let (mut board, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let first = board.next().await.unwrap().unwrap();
    assert!(first.to_text().unwrap().contains("\"type\":\"full\""), "{first:?}");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_posts_need_json_and_an_allowed_origin() {
    let d = Daemon::start("").await;
    let own = format!("\r\nOrigin: http://{}", d.http);
    // What a page can send without a preflight: text/plain, a form, multipart, or a Blob
    // (no Content-Type at all) — refused whatever the origin, and without one.
    for ctype in [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "",
    ] {
        let ct = if ctype.is_empty() { String::new() } else { format!("\r\nContent-Type: {ctype}") };
        for origin in [own.as_str(), ""] {
            let a = post(&d, &format!("{ct}{origin}")).await;
            assert_eq!(a.status, 415, "{ctype:?} {origin:?}: {}", a.body);
        }
    }
    assert_eq!(refused(&d, "content_type").await, 10.0);
    // JSON from another site's page (a browser would have been refused its preflight; this
    // is the request a bug or a plugin would let through).
    for origin in ["http://evil.example", "null"] {
        let a = post(&d, &format!("\r\nContent-Type: application/json\r\nOrigin: {origin}")).await;
        assert_eq!(a.status, 403, "{origin}: {}", a.body);
    }
    assert_eq!(refused(&d, "origin").await, 2.0);
    assert_eq!(applied(&d).await, 0, "a refused POST reached the floor");

    // The daemon's own page and programs, with JSON.
    for extra in [
        format!("\r\nContent-Type: application/json{own}"),
        "\r\nContent-Type: application/json; charset=utf-8".to_string(),
        "\r\nContent-Type: Application/JSON".to_string(),
    ] {
        let a = post(&d, &extra).await;
        assert_eq!(a.status, 200, "{extra:?}: {}", a.body);
        assert!(a.body.contains("\"applied\":1") || a.body.contains("\"duplicate\":1"), "{}", a.body);
        assert_eq!(a.header("access-control-allow-origin"), None, "no CORS grant without a list");
    }
    assert_eq!(applied(&d).await, 1);

    // No preflight is granted: a page elsewhere cannot send JSON at all.
    let a = raw(
        &d,
        "OPTIONS /api/v1/events HTTP/1.1\r\nOrigin: http://evil.example\r\nAccess-Control-Request-Method: POST\r\n\
         Access-Control-Request-Headers: content-type",
        "",
    )
    .await;
    assert_eq!(a.status, 403, "{}", a.body);
    assert_eq!(a.header("access-control-allow-origin"), None);
    assert_eq!(refused(&d, "origin").await, 3.0);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listed_origins_may_use_the_daemon() {
    let d = Daemon::start("[server]\nallowed_origins = [\"https://portal.example\", \"http://10.0.0.5:3000\"]\n").await;
    for path in ["/ingest", "/ws"] {
        for origin in ["https://portal.example", "HTTPS://portal.example:443", "http://10.0.0.5:3000"] {
            let a = upgrade(&d, path, &format!("\r\nOrigin: {origin}")).await;
            assert_eq!(a.status, 101, "{path} from {origin}: {}", a.body);
        }
        // The daemon's own page and programs are not shut out by a list.
        assert_eq!(upgrade(&d, path, &format!("\r\nOrigin: http://{}", d.http)).await.status, 101);
        assert_eq!(upgrade(&d, path, "").await.status, 101);
        for origin in ["https://portal.example.evil.example", "http://portal.example", "http://10.0.0.5:3001"] {
            assert_eq!(upgrade(&d, path, &format!("\r\nOrigin: {origin}")).await.status, 403, "{origin}");
        }
    }
    assert_eq!(refused(&d, "origin").await, 6.0);

    // The preflight is granted to a listed origin, and its POST can read the answer.
    let a = raw(
        &d,
        "OPTIONS /api/v1/events HTTP/1.1\r\nOrigin: https://portal.example\r\nAccess-Control-Request-Method: POST\r\n\
         Access-Control-Request-Headers: content-type, authorization",
        "",
    )
    .await;
    assert_eq!(a.status, 204, "{}", a.body);
    assert_eq!(a.header("access-control-allow-origin"), Some("https://portal.example"));
    assert!(a.header("access-control-allow-headers").is_some_and(|h| h.contains("content-type")), "{}", a.head);
    assert!(a.header("access-control-allow-methods").is_some_and(|h| h.contains("post")), "{}", a.head);
    let a = post(&d, "\r\nContent-Type: application/json\r\nOrigin: https://portal.example").await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.header("access-control-allow-origin"), Some("https://portal.example"));
    assert_eq!(a.header("vary"), Some("origin"));
    // Still JSON only: a listed origin is trusted, its requests are not exempt.
    assert_eq!(post(&d, "\r\nContent-Type: text/plain\r\nOrigin: https://portal.example").await.status, 415);
    // A listed origin may frame the board; nobody else may.
    let a = raw(&d, "GET / HTTP/1.1", "").await;
    assert!(
        a.header("content-security-policy")
            .unwrap()
            .contains("frame-ancestors https://portal.example http://10.0.0.5:3000"),
        "{}",
        a.head
    );
    d.stop().await;
}

/// Every route, as a page would ask for it.
const ROUTES: [&str; 9] = [
    "GET / HTTP/1.1",
    "GET /app.js HTTP/1.1",
    "GET /api/v1/snapshot HTTP/1.1",
    "GET /api/v1/board HTTP/1.1",
    "GET /api/v1/alerts HTTP/1.1",
    "GET /metrics HTTP/1.1",
    "GET /healthz HTTP/1.1",
    "GET /readyz HTTP/1.1",
    "POST /api/v1/events HTTP/1.1\r\nContent-Type: application/json",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebinding_host_is_refused_on_every_route() {
    let d = Daemon::start("").await;
    let port = d.http.port();
    let body = |r: &str| if r.starts_with("POST") { EVENT } else { "" };
    // A page on evil.example whose name now resolves to us: same-origin to the browser.
    let mut n = 0;
    for host in [
        format!("evil.example:{port}"),
        "evil.example".into(),
        format!("127.0.0.1.nip.io:{port}"),
        "localhost.evil.example".into(),
        "".into(),
    ] {
        for route in ROUTES {
            let a = raw(&d, &format!("{route}\r\nHost: {host}"), body(route)).await;
            assert_eq!(a.status, 421, "{route} via {host:?}: {}", a.body);
            assert!(a.body.contains("server.allowed_hosts"), "{}", a.body);
            n += 1;
        }
        for path in ["/ws", "/ingest"] {
            let a = upgrade(&d, path, &format!("\r\nHost: {host}\r\nOrigin: http://{host}")).await;
            assert_eq!(a.status, 421, "{path} via {host:?}");
            n += 1;
        }
    }
    // The absolute form names the host too, and must agree with Host.
    let a =
        raw(&d, &format!("GET http://evil.example:{port}/api/v1/snapshot HTTP/1.1\r\nHost: evil.example:{port}"), "")
            .await;
    assert_eq!(a.status, 421);
    n += 1;
    assert_eq!(refused(&d, "host").await, n as f64);
    assert_eq!(applied(&d).await, 0, "a rebinding page reached the floor");

    // Names the daemon is reached by: IP literals, localhost, this machine's host names,
    // with or without a port; and no Host at all (HTTP/1.0: no browser sends that).
    let mut hosts = vec![
        d.http.to_string(),
        "127.0.0.1".to_string(),
        format!("[::1]:{port}"),
        format!("10.20.30.40:{port}"),
        format!("localhost:{port}"),
        "LocalHost".to_string(),
        format!("localhost.:{port}"),
    ];
    for name in floorwatch::server::guard::machine_host_names() {
        hosts.push(format!("{name}:{port}"));
        hosts.push(name);
    }
    for host in &hosts {
        for route in ROUTES {
            let a = raw(&d, &format!("{route}\r\nHost: {host}"), body(route)).await;
            assert_eq!(a.status, 200, "{route} via {host}: {}", a.body);
        }
        let a = upgrade(&d, "/ws", &format!("\r\nHost: {host}\r\nOrigin: http://{host}")).await;
        assert_eq!(a.status, 101, "/ws via {host}");
    }
    let a = raw(&d, "GET /api/v1/snapshot HTTP/1.0", "").await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(refused(&d, "host").await, n as f64);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_hosts_adds_names_or_turns_the_check_off() {
    let d = Daemon::start("[server]\nallowed_hosts = [\"floor.example.com\"]\n").await;
    let port = d.http.port();
    for (host, want) in [
        (format!("floor.example.com:{port}"), 200),
        ("FLOOR.example.com".to_string(), 200),
        (format!("localhost:{port}"), 200),
        (d.http.to_string(), 200),
        ("www.floor.example.com".to_string(), 421),
        ("evil.example".to_string(), 421),
    ] {
        let a = raw(&d, &format!("GET /api/v1/board HTTP/1.1\r\nHost: {host}"), "").await;
        assert_eq!(a.status, want, "{host}");
    }
    // The page of a listed name is its own origin for the WebSocket.
    let a = upgrade(&d, "/ws", "\r\nHost: floor.example.com\r\nOrigin: https://floor.example.com").await;
    assert_eq!(a.status, 101);
    assert_eq!(refused(&d, "host").await, 2.0);
    d.stop().await;

    let d = Daemon::start("[server]\nallowed_hosts = [\"*\"]\n").await;
    let a = raw(&d, "GET /api/v1/board HTTP/1.1\r\nHost: anything.example", "").await;
    assert_eq!(a.status, 200);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_carry_the_browser_headers() {
    let d = Daemon::start("").await;
    let port = d.http.port();
    for (req, status) in [
        ("GET / HTTP/1.1", 200),
        ("GET /app.js HTTP/1.1", 200),
        ("GET /api/v1/snapshot HTTP/1.1", 200),
        ("GET /metrics HTTP/1.1", 200),
        ("GET /nothing-here HTTP/1.1", 404),
        ("GET /api/v1/board HTTP/1.1\r\nHost: evil.example", 421),
        ("POST /api/v1/events HTTP/1.1\r\nContent-Type: text/plain", 415),
    ] {
        let a = raw(&d, req, if req.starts_with("POST") { EVENT } else { "" }).await;
        assert_eq!(a.status, status, "{req}");
        assert_eq!(a.header("x-content-type-options"), Some("nosniff"), "{req}");
        assert_eq!(a.header("referrer-policy"), Some("no-referrer"), "{req}");
        assert_eq!(a.header("cross-origin-resource-policy"), Some("same-origin"), "{req}");
        let csp = a.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{req}: {csp:?}");
        assert!(csp.contains("default-src 'none'"), "{req}: {csp:?}");
    }
    // The wallboard's policy lets it load its own modules and open its own /ws, by IP and
    // by name (the browser check is tests/e2e).
    for host in [d.http.to_string(), format!("localhost:{port}")] {
        let a = raw(&d, &format!("GET / HTTP/1.1\r\nHost: {host}"), "").await;
        assert!(a.body.contains("<script type=\"module\" src=\"app.js\">"), "{}", a.body);
        let csp = a.header("content-security-policy").unwrap();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(csp.contains(&format!("connect-src 'self' ws://{host} wss://{host};")), "{csp}");
    }
    d.stop().await;
}

/// Everything the process logs, at every level, from every crate (tracing and `log`).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_viewer_token_never_reaches_the_log() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .try_init()
        .expect("the only subscriber of this test binary");
    const SECRET: &str = "Vw-7f3kq9ZsecretX";
    let d = Daemon::start(&format!("[auth]\nviewer_token = \"{SECRET}\"\ningest_token = \"i-{SECRET}\"\n")).await;
    // The board's URL and its /ws carry the token in the query, accepted or refused.
    let q = format!("?token={SECRET}");
    assert_eq!(raw(&d, &format!("GET /{q} HTTP/1.1"), "").await.status, 200);
    assert_eq!(raw(&d, &format!("GET /api/v1/snapshot{q}&agents=false HTTP/1.1"), "").await.status, 200);
    assert_eq!(raw(&d, &format!("GET /api/v1/snapshot{q}&%ff%fe=%c3 HTTP/1.1"), "").await.status, 200);
    assert_eq!(upgrade(&d, &format!("/ws{q}"), "").await.status, 101);
    assert_eq!(upgrade(&d, &format!("/ws{q}"), "\r\nOrigin: http://evil.example").await.status, 403);
    assert_eq!(upgrade(&d, &format!("/ws{q}"), "\r\nHost: evil.example").await.status, 421);
    assert_eq!(upgrade(&d, &format!("/ingest?token=i-{SECRET}"), "").await.status, 101);
    assert_eq!(raw(&d, &format!("GET /api/v1/board HTTP/1.1\r\nAuthorization: Bearer {SECRET}"), "").await.status, 200);
    let mut sock = TcpStream::connect(d.http).await.unwrap();
    sock.write_all(format!("GET /ws{q} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n").as_bytes()).await.unwrap();
    drop(sock);
    tokio::time::sleep(Duration::from_millis(200)).await;
    d.stop().await;
    let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(text.contains("TRACE") || text.contains("DEBUG"), "nothing was logged: the check would prove nothing");
    assert!(
        !text.contains(SECRET),
        "the token is in the log:\n{}",
        text.lines().filter(|l| l.contains(SECRET)).collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn a_list_entry_no_browser_would_send_is_a_config_error_naming_it() {
    for (toml, key) in [
        ("[server]\nallowed_origins = [\"https://ok.example\", \"board.example\"]\n", "server.allowed_origins[1]"),
        ("[server]\nallowed_origins = [\"*\"]\n", "server.allowed_origins[0]"),
        ("[server]\nallowed_origins = [\"https://board.example/wallboard\"]\n", "server.allowed_origins[0]"),
        ("[server]\nallowed_hosts = [\"https://floor.example.com\"]\n", "server.allowed_hosts[0]"),
        ("[server]\nallowed_hosts = [\"floor.example.com:8080\"]\n", "server.allowed_hosts[0]"),
    ] {
        let file = floorwatch::config::FileConfig::parse(toml, "test").unwrap();
        let e = floorwatch::server::validate_all(&file, std::path::Path::new("."))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with(key), "{toml:?} gave {e:?}");
    }
    let ok = "[server]\nallowed_origins = [\"https://board.example:8443/\"]\nallowed_hosts = [\"floor.example.com\", \"*\"]\n";
    let ok = floorwatch::config::FileConfig::parse(ok, "test").unwrap();
    assert!(floorwatch::server::validate_all(&ok, std::path::Path::new(".")).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_posting_to_the_tcp_port_is_cut_off() {
    // `fetch("http://floor:7070/", {method: "POST", mode: "no-cors", body})` from any page:
    // the browser opens with its request line and headers, then the page's text/plain body,
    // one event per line — which the NDJSON listener would have applied.
    let d = Daemon::start("").await;
    let body = "\n{\"agent\":\"X1\",\"state\":\"aux\",\"reason\":\"break\",\"team\":\"T\"}\n";
    let req = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain;charset=UTF-8\r\nOrigin: http://evil.example\r\n\
         Content-Length: {}\r\n\r\n{body}",
        d.tcp,
        body.len()
    );
    let mut s = TcpStream::connect(d.tcp).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await.expect("closed at once");
    assert!(matches!(n, Ok(0) | Err(_)), "the connection was left open");
    // A sender whose first line is an event is served as before (and proves the HTTP one
    // was not merely slower to apply).
    let mut s = TcpStream::connect(d.tcp).await.unwrap();
    s.write_all(b"{\"agent\":\"S1\",\"state\":\"idle\",\"team\":\"T\"}\n").await.unwrap();
    s.shutdown().await.unwrap();
    let snap = d.wait_outcomes(1).await;
    assert_eq!(snap["ingest"], serde_json::json!({"applied":1,"duplicate":0,"invalid":0,"late":0,"skewed":0}));
    let agents: Vec<_> = snap["agents"].as_array().unwrap().iter().map(|a| a["agent"].clone()).collect();
    assert_eq!(agents, ["S1"]);
    let m = d.metrics().await;
    assert_eq!(metric(&m, "floorwatch_connections_closed_total{listener=\"tcp\",reason=\"http\"}"), Some(1.0));
    d.stop().await;
}
