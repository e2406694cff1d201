//! TLS on both listeners (`[tls]` cert and key): HTTPS API, WSS push, TLS NDJSON ingest;
//! plaintext is refused on the TLS ports and counted; a bad certificate or key is a
//! config error naming the key; graceful shutdown still works.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::{Daemon, metric, metric_sum};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

struct Certs {
    dir: PathBuf,
    cert_der: CertificateDer<'static>,
    cert_pem: String,
}

/// A fresh self-signed certificate for `localhost` and 127.0.0.1, written as PEM files.
fn certs(name: &str) -> Certs {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let dir = std::env::temp_dir().join(format!("floorwatch-tls-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), signing_key.serialize_pem()).unwrap();
    Certs { dir, cert_der: cert.der().clone(), cert_pem: cert.pem() }
}

fn tls_toml(c: &Certs, extra: &str) -> String {
    format!(
        "[tls]\ncert = {:?}\nkey = {:?}\n{extra}",
        c.dir.join("cert.pem").display().to_string(),
        c.dir.join("key.pem").display().to_string()
    )
}

fn connector(c: &Certs) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    roots.add(c.cert_der.clone()).unwrap();
    let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

fn https_client(c: &Certs, d: &Daemon) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(c.cert_pem.as_bytes()).unwrap())
        .resolve("localhost", d.http)
        .build()
        .unwrap()
}

async fn closed_within(s: &mut TcpStream, limit: Duration) {
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(limit, s.read(&mut buf)).await {
            Err(_) => panic!("not closed within {limit:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_wss_and_tls_ingest_with_plaintext_refused() {
    let c = certs("serve");
    let d = Daemon::start(&tls_toml(&c, "[server]\nclock = \"event\"\n[limits]\nidle_timeout_secs = 1\n")).await;
    let https = https_client(&c, &d);
    let base = format!("https://localhost:{}", d.http.port());

    // HTTPS: health, POST events, snapshot.
    let r = https.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = https
        .post(format!("{base}/api/v1/events"))
        .header("content-type", "application/json")
        .body(r#"[{"ts":1000,"agent":"H1","state":"idle","team":"T"}]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["applied"], 1);

    // TLS NDJSON ingest.
    let tcp = TcpStream::connect(d.tcp).await.unwrap();
    let mut tls = connector(&c).connect(ServerName::try_from("localhost").unwrap(), tcp).await.unwrap();
    tls.write_all(b"{\"ts\":2000,\"agent\":\"S1\",\"state\":\"talking\",\"team\":\"T\"}\n").await.unwrap();
    tls.write_all(b"{\"ts\":2000,\"agent\":\"S2\",\"state\":\"aux\",\"team\":\"T\"}\n").await.unwrap();
    tls.shutdown().await.unwrap();

    // WSS push: the first frame is the full board with the three agents.
    let mut board = serde_json::Value::Null;
    for _ in 0..100 {
        let tcp = TcpStream::connect(d.http).await.unwrap();
        let tls = connector(&c).connect(ServerName::try_from("localhost").unwrap(), tcp).await.unwrap();
        let (mut ws, _) =
            tokio_tungstenite::client_async(format!("wss://localhost:{}/ws", d.http.port()), tls).await.unwrap();
        let first = ws.next().await.unwrap().unwrap();
        board = serde_json::from_str(first.to_text().unwrap()).unwrap();
        if board["agents"].as_array().is_some_and(|a| a.len() == 3) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(board["type"], "full");
    assert_eq!(board["agents"].as_array().map(Vec::len), Some(3), "{board}");

    // WSS ingest (the upgrade floorwatch answers itself, its reads metered): a frame, acknowledged.
    let tcp = TcpStream::connect(d.http).await.unwrap();
    let tls = connector(&c).connect(ServerName::try_from("localhost").unwrap(), tcp).await.unwrap();
    let (mut ingest, _) =
        tokio_tungstenite::client_async(format!("wss://localhost:{}/ingest?ack=1", d.http.port()), tls).await.unwrap();
    let frame = r#"[{"ts":2500,"agent":"W1","state":"idle","team":"T"}]"#;
    ingest.send(tokio_tungstenite::tungstenite::Message::text(frame)).await.unwrap();
    let ack = tokio::time::timeout(Duration::from_secs(10), ingest.next()).await.unwrap().unwrap().unwrap();
    let ack: serde_json::Value = serde_json::from_str(ack.to_text().unwrap()).unwrap();
    assert_eq!((ack["ack"].as_u64(), ack["applied"].as_u64()), (Some(1), Some(1)), "{ack}");

    // Plaintext on the TLS ports: refused, nothing applied, counted.
    let plain = reqwest::Client::new().get(format!("http://{}/healthz", d.http)).send().await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success(), "plain HTTP served on the TLS port");
    let mut raw = TcpStream::connect(d.tcp).await.unwrap();
    raw.write_all(b"{\"ts\":3000,\"agent\":\"P1\",\"state\":\"idle\"}\n").await.unwrap();
    closed_within(&mut raw, Duration::from_secs(5)).await;
    // A peer that connects and never starts the handshake is cut at idle_timeout_secs.
    let mut silent = TcpStream::connect(d.tcp).await.unwrap();
    closed_within(&mut silent, Duration::from_secs(4)).await;

    let m = https.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    assert_eq!(metric(&m, "floorwatch_events_total{source=\"tcp\",outcome=\"applied\"}"), Some(2.0));
    assert_eq!(metric_sum(&m, "floorwatch_events_total{source=\"tcp\",outcome=\"invalid\","), Some(0.0));
    assert_eq!(metric(&m, "floorwatch_connections_closed_total{listener=\"http\",reason=\"tls\"}"), Some(1.0));
    assert_eq!(metric(&m, "floorwatch_connections_closed_total{listener=\"tcp\",reason=\"tls\"}"), Some(1.0));
    assert_eq!(metric(&m, "floorwatch_connections_closed_total{listener=\"tcp\",reason=\"timeout\"}"), Some(1.0));

    // Graceful shutdown with a WSS client connected and an HTTPS keep-alive open.
    let tcp = TcpStream::connect(d.http).await.unwrap();
    let tls = connector(&c).connect(ServerName::try_from("localhost").unwrap(), tcp).await.unwrap();
    let (mut ws, _) =
        tokio_tungstenite::client_async(format!("wss://localhost:{}/ws", d.http.port()), tls).await.unwrap();
    let _ = ws.next().await;
    let stopped = tokio::time::timeout(Duration::from_secs(8), d.stop()).await;
    assert!(stopped.is_ok(), "shutdown hung with TLS clients connected");
    let mut close = None;
    while let Some(Ok(m)) = ws.next().await {
        if let tokio_tungstenite::tungstenite::Message::Close(f) = m {
            close = f.map(|f| u16::from(f.code));
        }
    }
    assert_eq!(close, Some(1001), "wallboards are told the server is going away");
}

#[test]
fn a_bad_certificate_or_key_is_a_config_error_naming_the_key() {
    let c = certs("bad");
    let other = certs("other");
    let check = |toml: String| -> String {
        let file = floorwatch::config::FileConfig::parse(&toml, "test").unwrap();
        match floorwatch::server::validate_all(&file, std::path::Path::new(".")) {
            Ok(_) => panic!("accepted: {toml}"),
            Err(e) => e.to_string(),
        }
    };
    std::fs::write(c.dir.join("garbage.pem"), "not a certificate").unwrap();
    let cert = c.dir.join("cert.pem").display().to_string();
    let key = c.dir.join("key.pem").display().to_string();
    let garbage = c.dir.join("garbage.pem").display().to_string();
    let other_key = other.dir.join("key.pem").display().to_string();
    for (toml, key_named) in [
        (format!("[tls]\ncert = {cert:?}\n"), "tls:"),
        (format!("[tls]\ncert = {garbage:?}\nkey = {key:?}\n"), "tls.cert:"),
        (format!("[tls]\ncert = {cert:?}\nkey = {garbage:?}\n"), "tls.key:"),
        (format!("[tls]\ncert = {cert:?}\nkey = {other_key:?}\n"), "tls.key:"),
        (format!("[tls]\ncert = \"/nonexistent/cert.pem\"\nkey = {key:?}\n"), "tls.cert:"),
    ] {
        let e = check(toml.clone());
        assert!(e.starts_with(key_named), "{toml:?} gave {e:?}, which does not start with {key_named}");
    }
    let ok = floorwatch::config::FileConfig::parse(&tls_toml(&c, ""), "test").unwrap();
    floorwatch::server::validate_all(&ok, std::path::Path::new(".")).map(|_| ()).expect("a matching pair is accepted");
}
