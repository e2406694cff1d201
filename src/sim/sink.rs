//! Where `simulate` sends its lines: a file or stdout (NDJSON), a TCP connection (NDJSON),
//! a WebSocket (`/ingest`, one JSON array per frame) or HTTP (`POST /api/v1/events`, one
//! JSON array per request).
//!
//! The WebSocket sink asks for acks (`?ack=1`) and, like the HTTP sink, reports the outcome
//! counts the daemon answered when it finishes.
//!
//! Network sinks retry a failed batch after reconnecting, with exponential back-off (100 ms
//! doubling to 5 s), and give up after [`GIVE_UP`] without success. A retried batch may
//! have been partly received already; every good event carries a `seq`, so the daemon
//! counts the repeats as `duplicate` and the figures are unchanged.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};

use super::{Noise, SimLine};

/// How long a network sink keeps retrying one batch before the run fails.
pub(crate) const GIVE_UP: Duration = Duration::from_secs(60);
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Exponential back-off with a deadline, for one batch.
struct Backoff {
    delay: Duration,
    since: Instant,
}

impl Backoff {
    fn new() -> Backoff {
        Backoff { delay: BACKOFF_START, since: Instant::now() }
    }

    /// Sleeps before the next attempt, or fails once the deadline has passed. (The error is
    /// formatted before the first `.await`, so that the future stays `Send`.)
    async fn wait(&mut self, what: &str, err: String) -> anyhow::Result<()> {
        if self.since.elapsed() >= GIVE_UP {
            bail!("{what}: giving up after {} s: {err}", GIVE_UP.as_secs());
        }
        eprintln!("simulate: {what}: {err}; retrying in {} ms", self.delay.as_millis());
        tokio::time::sleep(self.delay).await;
        self.delay = (self.delay * 2).min(BACKOFF_MAX);
        Ok(())
    }
}

pub(crate) enum Sink {
    Writer { w: Box<dyn AsyncWrite + Unpin + Send>, stdout: bool, buf: Vec<u8> },
    Tcp { addr: String, stream: Option<TcpStream>, buf: Vec<u8> },
    Ws { url: String, token: Option<String>, conn: Option<WsConn>, totals: Arc<Mutex<BTreeMap<String, u64>>> },
    Http { url: String, token: Option<String>, client: reqwest::Client, totals: BTreeMap<String, u64> },
}

pub(crate) struct WsConn {
    tx: futures_util::stream::SplitSink<
        tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
        Message,
    >,
    /// Reads the acks (and answers pings); aborted on reconnect.
    reader: JoinHandle<()>,
    /// Frames sent on this connection, and acks received for them (counted by `reader`).
    sent: u64,
    acked: Arc<std::sync::atomic::AtomicU64>,
}

/// Whether the sink reached its end early and cleanly (stdout closed by the reader).
pub(crate) enum Sent {
    Ok,
    Closed,
}

impl Sink {
    pub(crate) async fn file(path: &str) -> anyhow::Result<Sink> {
        let (w, stdout): (Box<dyn AsyncWrite + Unpin + Send>, bool) = if path == "-" {
            (Box::new(tokio::io::stdout()), true)
        } else {
            let f = tokio::fs::File::create(path).await.with_context(|| format!("creating {path}"))?;
            (Box::new(f), false)
        };
        Ok(Sink::Writer { w, stdout, buf: Vec::with_capacity(super::cli::MAX_BATCH_BYTES + 4096) })
    }

    pub(crate) async fn tcp(addr: &str) -> anyhow::Result<Sink> {
        let mut sink = Sink::Tcp {
            addr: addr.to_string(),
            stream: None,
            buf: Vec::with_capacity(super::cli::MAX_BATCH_BYTES + 4096),
        };
        sink.connect().await?;
        Ok(sink)
    }

    pub(crate) async fn ws(url: &str, token: Option<String>) -> anyhow::Result<Sink> {
        let mut url = reqwest::Url::parse(&with_default_path(url, &["ws", "wss"], "ingest")?)?;
        // Acks carry the outcome counts of each frame: what `finish` reports.
        if !url.query_pairs().any(|(k, _)| k == "ack") {
            url.query_pairs_mut().append_pair("ack", "1");
        }
        let mut sink = Sink::Ws { url: url.to_string(), token, conn: None, totals: Default::default() };
        sink.connect().await?;
        Ok(sink)
    }

    pub(crate) fn http(url: &str, token: Option<String>) -> anyhow::Result<Sink> {
        let url = with_default_path(url, &["http", "https"], "api/v1/events")?;
        let client =
            reqwest::Client::builder().timeout(Duration::from_secs(30)).build().context("building the HTTP client")?;
        Ok(Sink::Http { url, token, client, totals: BTreeMap::new() })
    }

    /// (Re)connects a TCP or WebSocket sink, with back-off.
    async fn connect(&mut self) -> anyhow::Result<()> {
        let mut backoff = Backoff::new();
        loop {
            let err = match self {
                Sink::Tcp { addr, stream, .. } => match TcpStream::connect(addr.as_str()).await {
                    Ok(s) => {
                        let _ = s.set_nodelay(true);
                        *stream = Some(s);
                        return Ok(());
                    }
                    Err(e) => format!("connecting to {addr}: {e}"),
                },
                Sink::Ws { url, token, conn, totals } => {
                    match ws_connect(url, token.as_deref(), totals.clone()).await {
                        Ok(c) => {
                            if let Some(old) = conn.replace(c) {
                                old.reader.abort();
                            }
                            return Ok(());
                        }
                        // A refused upgrade (401, 404) will not get better by retrying.
                        Err(tungstenite::Error::Http(resp)) => {
                            bail!("{url}: the server refused the WebSocket upgrade: HTTP {}", resp.status())
                        }
                        Err(e) => format!("connecting to {url}: {e}"),
                    }
                }
                _ => return Ok(()),
            };
            backoff.wait("connect", err).await?;
        }
    }

    /// Sends one batch (in order), retrying after reconnects.
    pub(crate) async fn send(&mut self, batch: &[SimLine]) -> anyhow::Result<Sent> {
        match self {
            Sink::Writer { w, stdout, buf } => {
                ndjson(batch, buf);
                let res = async {
                    w.write_all(buf).await?;
                    w.flush().await
                }
                .await;
                match res {
                    Ok(()) => Ok(Sent::Ok),
                    // `simulate | head`: the reader has all it wants.
                    Err(e) if *stdout && e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Sent::Closed),
                    Err(e) => Err(e).context("writing events"),
                }
            }
            Sink::Tcp { .. } => {
                let mut backoff = Backoff::new();
                loop {
                    let Sink::Tcp { stream, buf, addr } = self else { unreachable!() };
                    ndjson(batch, buf);
                    let res = match stream.as_mut() {
                        Some(s) => s.write_all(buf).await,
                        None => Err(std::io::ErrorKind::NotConnected.into()),
                    };
                    match res {
                        Ok(()) => return Ok(Sent::Ok),
                        Err(e) => {
                            *stream = None;
                            let what = format!("sending to {addr}");
                            backoff.wait(&what, e.to_string()).await?;
                            self.connect().await?;
                        }
                    }
                }
            }
            Sink::Ws { .. } => {
                let body = json_array(batch);
                let mut backoff = Backoff::new();
                loop {
                    let Sink::Ws { conn, url, .. } = self else { unreachable!() };
                    let res = match conn.as_mut() {
                        Some(c) => c.tx.send(Message::Text(body.clone().into())).await.map(|()| c.sent += 1),
                        None => Err(tungstenite::Error::ConnectionClosed),
                    };
                    match res {
                        Ok(()) => return Ok(Sent::Ok),
                        Err(e) => {
                            if let Some(c) = conn.take() {
                                c.reader.abort();
                            }
                            let what = format!("sending to {url}");
                            backoff.wait(&what, e.to_string()).await?;
                            self.connect().await?;
                        }
                    }
                }
            }
            Sink::Http { url, token, client, totals } => {
                let body = json_array(batch);
                let mut backoff = Backoff::new();
                loop {
                    let mut req = client
                        .post(url.as_str())
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(body.clone());
                    if let Some(t) = token {
                        req = req.bearer_auth(t);
                    }
                    let err = match req.send().await {
                        Ok(resp) if resp.status().is_success() => {
                            let text = resp.text().await.unwrap_or_default();
                            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
                                add_counts(totals, "", &v);
                            }
                            return Ok(Sent::Ok);
                        }
                        // 429 is worth retrying after the back-off; other 4xx are not.
                        Ok(resp) if resp.status().is_client_error() && resp.status().as_u16() != 429 => {
                            let status = resp.status();
                            let text = resp.text().await.unwrap_or_default();
                            bail!("POST {url}: HTTP {status}: {}", text.trim());
                        }
                        Ok(resp) => format!("HTTP {}", resp.status()),
                        Err(e) => e.to_string(),
                    };
                    backoff.wait(&format!("POST {url}"), err).await?;
                }
            }
        }
    }

    /// Flushes and closes; returns a summary of the daemon's answers, if any.
    pub(crate) async fn finish(self) -> anyhow::Result<Option<String>> {
        match self {
            Sink::Writer { mut w, .. } => {
                let _ = w.flush().await;
                let _ = w.shutdown().await;
                Ok(None)
            }
            Sink::Tcp { stream, .. } => {
                if let Some(mut s) = stream {
                    s.flush().await.ok();
                    s.shutdown().await.ok();
                }
                Ok(None)
            }
            Sink::Ws { conn, totals, .. } => {
                let mut missing = 0;
                if let Some(mut c) = conn {
                    // Every frame is acknowledged once applied and journaled: wait for them.
                    let deadline = Instant::now() + GIVE_UP;
                    while c.acked.load(Ordering::Relaxed) < c.sent
                        && !c.reader.is_finished()
                        && Instant::now() < deadline
                    {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    missing = c.sent.saturating_sub(c.acked.load(Ordering::Relaxed));
                    c.tx.send(Message::Close(None)).await.ok();
                    // Let the reader see the server's close frame, briefly.
                    let _ = tokio::time::timeout(Duration::from_secs(2), &mut c.reader).await;
                    c.reader.abort();
                }
                let totals = totals.lock().expect("ack totals lock");
                let mut s = summary(&totals);
                if missing > 0 {
                    let unacked = format!("{missing} frame(s) never acknowledged");
                    s = Some(s.map_or_else(|| unacked.clone(), |s| format!("{s}; {unacked}")));
                }
                Ok(s)
            }
            Sink::Http { totals, .. } => Ok(summary(&totals)),
        }
    }
}

/// `daemon answered: applied=…, duplicate=…, …`, or `None` when it answered nothing.
fn summary(totals: &BTreeMap<String, u64>) -> Option<String> {
    (!totals.is_empty()).then(|| {
        let parts: Vec<String> = totals.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("daemon answered: {}", parts.join(", "))
    })
}

async fn ws_connect(
    url: &str,
    token: Option<&str>,
    totals: Arc<Mutex<BTreeMap<String, u64>>>,
) -> Result<WsConn, tungstenite::Error> {
    let mut req = url.into_client_request()?;
    if let Some(t) = token {
        let value = format!("Bearer {t}").parse().map_err(|_| {
            tungstenite::Error::Url(tungstenite::error::UrlError::UnableToConnect(
                "token is not a valid header value".into(),
            ))
        })?;
        req.headers_mut().insert(tungstenite::http::header::AUTHORIZATION, value);
    }
    let (ws, _resp) = tokio_tungstenite::connect_async(req).await?;
    let (tx, mut rx) = ws.split();
    let acked = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = acked.clone();
    let reader = tokio::spawn(async move {
        while let Some(msg) = rx.next().await {
            match msg {
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(Message::Text(t)) => {
                    // An ack: {"applied": …, "ack": frame, "seq": …, "durable": true}.
                    if let Ok(serde_json::Value::Object(mut ack)) = serde_json::from_str(&t) {
                        ack.remove("ack");
                        ack.remove("seq");
                        add_counts(&mut totals.lock().expect("ack totals lock"), "", &serde_json::Value::Object(ack));
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Ok(m) => tracing::trace!(?m, "simulate: message from /ingest"),
            }
        }
    });
    Ok(WsConn { tx, reader, sent: 0, acked })
}

/// `url` with `path` when it has none (`ws://host:8080` → `ws://host:8080/ingest`).
pub(crate) fn with_default_path(url: &str, schemes: &[&str], path: &str) -> anyhow::Result<String> {
    let mut u = reqwest::Url::parse(url).with_context(|| format!("bad URL {url:?}"))?;
    if !schemes.contains(&u.scheme()) {
        bail!("URL {url:?} must start with {}://", schemes.join(":// or "));
    }
    if u.path().is_empty() || u.path() == "/" {
        u.set_path(path);
    }
    Ok(u.to_string())
}

/// The batch as NDJSON into `buf` (cleared first).
fn ndjson(batch: &[SimLine], buf: &mut Vec<u8>) {
    buf.clear();
    for l in batch {
        buf.extend_from_slice(l.line.as_bytes());
        buf.push(b'\n');
    }
}

/// The batch as one JSON array. Noise lines that are not JSON at all cannot be array
/// elements, so they travel as JSON strings: still one invalid event each.
fn json_array(batch: &[SimLine]) -> String {
    let mut s = String::with_capacity(batch.iter().map(|l| l.line.len() + 1).sum::<usize>() + 2);
    s.push('[');
    for (i, l) in batch.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let is_json = l.noise != Some(Noise::Garbage) || serde_json::from_str::<serde::de::IgnoredAny>(&l.line).is_ok();
        if is_json {
            s.push_str(&l.line);
        } else {
            s.push_str(&serde_json::Value::String(l.line.clone()).to_string());
        }
    }
    s.push(']');
    s
}

/// Adds the numbers in an HTTP answer (e.g. `{"applied": 998, "duplicate": 2}`, possibly
/// nested) to `totals`.
fn add_counts(totals: &mut BTreeMap<String, u64>, prefix: &str, v: &serde_json::Value) {
    if let serde_json::Value::Object(map) = v {
        for (k, v) in map {
            let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            match v {
                serde_json::Value::Number(n) => {
                    *totals.entry(key).or_default() += n.as_u64().unwrap_or(0);
                }
                serde_json::Value::Object(_) => add_counts(totals, &key, v),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: &str, noise: Option<Noise>) -> SimLine {
        SimLine { ts: 0, agent: 0, line: s.to_string(), noise }
    }

    #[test]
    fn arrays_stay_valid_json_with_garbage_inside() {
        let batch = [
            line(r#"{"agent":"A1","state":"idle"}"#, None),
            line("not json", Some(Noise::Garbage)),
            line(r#"{"ts":"yesterday","agent":"A1","state":"idle"}"#, Some(Noise::Garbage)),
        ];
        let v: serde_json::Value = serde_json::from_str(&json_array(&batch)).unwrap();
        let a = v.as_array().unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(a[1], serde_json::json!("not json"));
        assert_eq!(a[2]["ts"], "yesterday");
        let mut buf = Vec::new();
        ndjson(&batch, &mut buf);
        assert_eq!(buf.iter().filter(|&&b| b == b'\n').count(), 3);
    }

    #[test]
    fn default_paths() {
        let p = |u, s: &[&str], d| with_default_path(u, s, d).ok();
        assert_eq!(p("ws://127.0.0.1:8080", &["ws"], "ingest").as_deref(), Some("ws://127.0.0.1:8080/ingest"));
        assert_eq!(p("ws://h:1/x", &["ws"], "ingest").as_deref(), Some("ws://h:1/x"));
        assert_eq!(p("http://h:8080/", &["http"], "api/v1/events").as_deref(), Some("http://h:8080/api/v1/events"));
        assert_eq!(p("tcp://h:1", &["http"], "x"), None);
    }

    #[test]
    fn counts_add_up_across_answers() {
        let mut t = BTreeMap::new();
        add_counts(&mut t, "", &serde_json::json!({"applied": 3, "duplicate": 1, "x": "y"}));
        add_counts(&mut t, "", &serde_json::json!({"applied": 2, "ingest": {"late": 4}}));
        assert_eq!(t["applied"], 5);
        assert_eq!(t["ingest.late"], 4);
        assert!(!t.contains_key("x"));
    }
}
