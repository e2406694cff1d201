//! `floorwatch send`: events from a file, stdin or the command line to a running daemon,
//! over HTTP (the default), WebSocket with acks, or TCP, printing what the daemon did with
//! them.
//!
//! The README's examples use it, so they need neither `nc` nor `websocat`. HTTP and
//! WebSocket answer every batch with its outcome counts (and, from daemons that give them,
//! `errors` naming each refused event); `send` adds them up, prints them and exits 1 when
//! an event was refused. TCP never answers (docs/events.md#tcp): `send --tcp` can only say
//! what it wrote.
//!
//! Input is NDJSON: one event per line; a line may also hold a JSON array of events (as a
//! WebSocket frame may). Blank lines are skipped. A line that is not JSON is still sent
//! (HTTP and WebSocket: as a JSON string), so the daemon counts it `invalid` like any other
//! refusal.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes, client::IntoClientRequest};

/// The daemon `send` talks to when no address is given (nor `FLOORWATCH_URL`).
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// How long `send` waits for the daemon's answer to one batch.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// At most this many refused events are printed one per line (a resent day would print
/// thousands); the summary line counts them all.
const DETAIL_LINES: usize = 50;

/// Send events to a running daemon and print what it did with them.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:
  floorwatch send --event '{\"agent\":\"A1\",\"state\":\"idle\",\"team\":\"T1\"}'
  floorwatch send day.ndjson --http http://floor-1:8080
  some-adapter | floorwatch send --ws ws://127.0.0.1:8080 --token \"$TOKEN\"
  floorwatch send day.ndjson --tcp 127.0.0.1:7070

Without `ts`, an event happens when the daemon receives it.

Exit status: 0 when every event was applied; 1 when the daemon refused one or more
(invalid, late or duplicate: each is listed with its reason when the daemon gives one);
2 when the events could not be delivered (no daemon, token refused, journal failing).
Over TCP the daemon does not answer: 0 means written. Over HTTP a batch the daemon was
too busy to read (503 with Retry-After: limits.max_body_bytes_in_flight) is sent again
after the pause it asks for, for up to two minutes.")]
pub struct SendArgs {
    /// NDJSON file of events (a line may also hold a JSON array), or `-` for standard
    /// input [default: standard input, unless --event is given].
    #[arg(value_name = "FILE|-", conflicts_with = "event")]
    pub input: Option<String>,

    /// One event as JSON (or a JSON array of events) instead of a file. Repeatable.
    #[arg(long, short, value_name = "JSON")]
    pub event: Vec<String>,

    /// POST to the daemon's HTTP API (path /api/v1/events by default) and print the outcome
    /// counts it answers. The default transport: $FLOORWATCH_URL, else http://127.0.0.1:8080.
    #[arg(long, value_name = "URL", group = "to")]
    pub http: Option<String>,

    /// Send over the WebSocket ingest (path /ingest by default) with acks, and print the
    /// outcome counts of the acks. A connection the daemon closes as busy (1013: reading as
    /// many bodies at once as it takes) is opened again after a pause and sends from the
    /// first frame not acknowledged, for up to two minutes.
    #[arg(long, value_name = "URL", group = "to")]
    pub ws: Option<String>,

    /// Write NDJSON to the daemon's TCP ingest port, e.g. 127.0.0.1:7070. Fire-and-forget:
    /// the daemon does not answer over TCP.
    #[arg(long, value_name = "HOST:PORT", group = "to")]
    pub tcp: Option<String>,

    /// The daemon's `auth.ingest_token` (HTTP/WebSocket: bearer token; TCP: the AUTH line).
    #[arg(long, value_name = "T", env = "FLOORWATCH_INGEST_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Events per HTTP request or WebSocket frame.
    #[arg(long, value_name = "N", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub batch: u64,
}

/// Where one event came from, for messages: `line 3`, `--event 2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    Line(u64),
    Arg(u64),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Line(n) => write!(f, "line {n}"),
            Origin::Arg(n) => write!(f, "--event {n}"),
        }
    }
}

/// One input unit: a non-blank line (or `--event` value) and where it came from.
struct Item {
    origin: Origin,
    text: String,
}

/// The outcome counts the daemon answered, summed, with the refusals it explained.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcomes {
    pub applied: u64,
    pub duplicate: u64,
    pub late: u64,
    pub invalid: u64,
    pub skewed: u64,
    /// `(where, outcome, reason, message)` of refused events the daemon described.
    pub errors: Vec<(String, String, String, String)>,
}

impl Outcomes {
    pub fn refused(&self) -> u64 {
        self.duplicate + self.late + self.invalid
    }

    /// Adds one answer (`{"applied": 2, ..., "errors": [...]}`); `origins[i]` is where the
    /// batch's event `i` came from.
    fn add(&mut self, answer: &Value, origins: &[Origin]) {
        let n = |k: &str| answer.get(k).and_then(Value::as_u64).unwrap_or(0);
        self.applied += n("applied");
        self.duplicate += n("duplicate");
        self.late += n("late");
        self.invalid += n("invalid");
        self.skewed += n("skewed");
        for e in answer.get("errors").and_then(Value::as_array).into_iter().flatten() {
            let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let at = match e.get("index").and_then(Value::as_u64) {
                Some(i) => match origins.get(i as usize) {
                    Some(o) => o.to_string(),
                    None => format!("event {i}"),
                },
                None => "event ?".into(),
            };
            self.errors.push((at, s("outcome"), s("reason"), s("message")));
        }
    }

    /// Adds the counts of another connection's answers.
    fn merge(&mut self, other: &Outcomes) {
        self.applied += other.applied;
        self.duplicate += other.duplicate;
        self.late += other.late;
        self.invalid += other.invalid;
        self.skewed += other.skewed;
        self.errors.extend(other.errors.iter().cloned());
    }

    /// The summary line, e.g. `3 events sent over HTTP: applied 2, duplicate 0, late 0, invalid 1, skewed 0`.
    pub fn summary(&self, events: u64, over: &str) -> String {
        format!(
            "{events} event{} sent over {over}: applied {}, duplicate {}, late {}, invalid {}, skewed {}",
            if events == 1 { "" } else { "s" },
            self.applied,
            self.duplicate,
            self.late,
            self.invalid,
            self.skewed
        )
    }
}

/// What `run` reports to `main`.
pub enum Report {
    /// HTTP or WebSocket: the daemon's answers.
    Answered { over: &'static str, events: u64, outcomes: Outcomes },
    /// TCP: lines written, nothing answered.
    Written { lines: u64 },
}

impl Report {
    /// The process exit status: 0 all applied (or written), 1 something refused.
    pub fn exit_code(&self) -> u8 {
        match self {
            Report::Answered { outcomes, .. } if outcomes.refused() > 0 => 1,
            _ => 0,
        }
    }

    /// What `send` prints: the summary line, then one line per explained refusal.
    pub fn lines(&self) -> Vec<String> {
        match self {
            Report::Written { lines } => vec![format!(
                "{lines} line{} written over TCP (the TCP port does not answer: send over HTTP to see each outcome)",
                if *lines == 1 { "" } else { "s" }
            )],
            Report::Answered { over, events, outcomes } => {
                let mut out = vec![outcomes.summary(*events, over)];
                for (at, outcome, reason, message) in outcomes.errors.iter().take(DETAIL_LINES) {
                    let why = if reason.is_empty() { String::new() } else { format!(" ({reason})") };
                    let msg = if message.is_empty() { String::new() } else { format!(": {message}") };
                    out.push(format!("  {at}: {outcome}{why}{msg}"));
                }
                let shown = outcomes.errors.len().min(DETAIL_LINES) as u64;
                let more = outcomes.refused().saturating_sub(shown);
                if more > 0 && shown > 0 {
                    out.push(format!("  ... and {more} more refused (counted above; the first {shown} shown)"));
                }
                out
            }
        }
    }
}

/// Runs `floorwatch send`.
pub async fn run(args: SendArgs) -> anyhow::Result<Report> {
    let items = read_items(&args)?;
    let batch = args.batch as usize;
    if let Some(addr) = &args.tcp {
        return send_tcp(addr, args.token.as_deref(), &items).await;
    }
    if let Some(url) = &args.ws {
        let url = with_default_path(url, &["ws", "wss"], "ingest")?;
        return send_ws(&url, args.token.as_deref(), &items, batch).await;
    }
    let url = match &args.http {
        Some(u) => u.clone(),
        None => std::env::var("FLOORWATCH_URL").unwrap_or_else(|_| DEFAULT_URL.into()),
    };
    let url = with_default_path(&url, &["http", "https"], "api/v1/events")?;
    send_http(&url, args.token.as_deref(), &items, batch).await
}

/// The input, as non-blank lines with their line numbers (or the `--event` values).
fn read_items(args: &SendArgs) -> anyhow::Result<Vec<Item>> {
    if !args.event.is_empty() {
        return Ok(args
            .event
            .iter()
            .enumerate()
            .map(|(i, text)| Item { origin: Origin::Arg(i as u64 + 1), text: text.clone() })
            .collect());
    }
    let input: Box<dyn Read> = match args.input.as_deref() {
        None | Some("-") => {
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                eprintln!("send: reading NDJSON events from the terminal; Ctrl-D to send (--help for other inputs)");
            }
            Box::new(std::io::stdin())
        }
        Some(path) => Box::new(std::fs::File::open(path).with_context(|| format!("cannot open {path}"))?),
    };
    let mut items = Vec::new();
    for (i, line) in BufReader::new(input).lines().enumerate() {
        let line = line.context("reading the input")?;
        if !line.trim().is_empty() {
            items.push(Item { origin: Origin::Line(i as u64 + 1), text: line });
        }
    }
    if items.is_empty() {
        bail!("no events in the input (an event is one JSON object per line)");
    }
    Ok(items)
}

/// The JSON arrays to send, each at most `batch` events, with where each event came from.
/// A line holding an array gives its elements; a line that is not JSON travels as a JSON
/// string, which the daemon counts as one invalid event.
fn batches(items: &[Item], batch: usize) -> Vec<(String, Vec<Origin>)> {
    let mut out = Vec::new();
    let mut body = String::from("[");
    let mut origins = Vec::new();
    let mut push = |raw: &str, origin: Origin, body: &mut String, origins: &mut Vec<Origin>| {
        if origins.len() == batch {
            body.push(']');
            out.push((std::mem::replace(body, String::from("[")), std::mem::take(origins)));
        }
        if !origins.is_empty() {
            body.push(',');
        }
        body.push_str(raw);
        origins.push(origin);
    };
    for item in items {
        let text = item.text.trim();
        match serde_json::from_str::<Vec<&RawValue>>(text) {
            Ok(elements) => {
                for e in elements {
                    push(e.get(), item.origin, &mut body, &mut origins);
                }
            }
            Err(_) if serde_json::from_str::<&RawValue>(text).is_ok() => {
                push(text, item.origin, &mut body, &mut origins)
            }
            Err(_) => push(&Value::String(text.to_string()).to_string(), item.origin, &mut body, &mut origins),
        }
    }
    if !origins.is_empty() {
        body.push(']');
        out.push((body, origins));
    }
    out
}

async fn send_http(url: &str, token: Option<&str>, items: &[Item], batch: usize) -> anyhow::Result<Report> {
    let client = reqwest::Client::builder().timeout(ANSWER_TIMEOUT).build().context("building the HTTP client")?;
    let mut outcomes = Outcomes::default();
    let mut events = 0;
    for (body, origins) in batches(items, batch) {
        let body = bytes::Bytes::from(body);
        let mut busy_since: Option<std::time::Instant> = None;
        let resp = loop {
            let mut req = client.post(url).header(reqwest::header::CONTENT_TYPE, "application/json").body(body.clone());
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    let e = anyhow::Error::from(e);
                    bail!("POST {url}: {e:#}{}", so_far(&outcomes, events, "HTTP", origins.first()))
                }
            };
            // 503 with Retry-After: the daemon was reading as many bodies as it takes at
            // once (limits.max_body_bytes_in_flight) and applied nothing of this one; sent
            // again after the pause it asks for, for up to BUSY_PATIENCE.
            let wait = busy_retry_after(&resp);
            match wait {
                Some(w) if busy_since.get_or_insert_with(std::time::Instant::now).elapsed() < BUSY_PATIENCE => {
                    eprintln!(
                        "send: the daemon is busy reading other bodies; sending this batch again in {} s",
                        w.as_secs()
                    );
                    // And up to half a second more: senders refused together come back apart.
                    let jitter = Duration::from_millis(rand::Rng::random_range(&mut rand::rng(), 0..500));
                    tokio::time::sleep(w + jitter).await;
                }
                _ => break resp,
            }
        };
        let status = resp.status();
        let still_busy = busy_retry_after(&resp).is_some();
        let text = resp.text().await.with_context(|| format!("POST {url}: reading the answer"))?;
        let answer: Option<Value> = serde_json::from_str(&text).ok().filter(Value::is_object);
        match answer {
            // Busy all along: nothing of this batch was applied, so it is not counted as sent.
            Some(a) if still_busy => {
                let why = a["error"].as_str().unwrap_or_default();
                bail!(
                    "POST {url}: HTTP {status} for {} s: {why}{}",
                    BUSY_PATIENCE.as_secs(),
                    so_far(&outcomes, events, "HTTP", origins.first())
                )
            }
            // 400 answers a body that is not a JSON array at all: still counted, still an outcome.
            Some(a) if status.is_success() || status == reqwest::StatusCode::BAD_REQUEST => {
                outcomes.add(&a, &origins);
                events += origins.len() as u64;
            }
            Some(a) if a.get("error").is_some() => {
                outcomes.add(&a, &origins);
                events += origins.len() as u64;
                let why = a["error"].as_str().unwrap_or_default();
                bail!("POST {url}: HTTP {status}: {why} ({})", outcomes.summary(events, "HTTP"));
            }
            _ => bail!("POST {url}: HTTP {status}: {}", text.trim()),
        }
    }
    Ok(Report::Answered { over: "HTTP", events, outcomes })
}

/// How long a batch refused for the daemon's busy reading others is offered again.
const BUSY_PATIENCE: Duration = Duration::from_secs(120);

/// The pause a `503` answer with `Retry-After` asks for (1 to 30 s), or None for any other
/// answer (a 503 without it, the journal failing, is not retried: its events were applied).
fn busy_retry_after(resp: &reqwest::Response) -> Option<Duration> {
    if resp.status() != reqwest::StatusCode::SERVICE_UNAVAILABLE {
        return None;
    }
    let secs = resp.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim().parse::<u64>().ok()?;
    Some(Duration::from_secs(secs.clamp(1, 30)))
}

/// What was answered before a send broke off, and where to resend from: the events after
/// `resume` may or may not have been applied, and resending them is harmless with `seq`
/// (a repeat is `duplicate`). Empty when nothing was answered.
fn so_far(outcomes: &Outcomes, events: u64, over: &str, resume: Option<&Origin>) -> String {
    if events == 0 {
        return String::new();
    }
    let from = resume.map(|o| format!("; resend from {o}")).unwrap_or_default();
    format!(" (before that, {}{from})", outcomes.summary(events, over))
}

/// What the WebSocket reader has seen: acks in frame order.
#[derive(Default)]
struct Acks {
    /// Origins of the frames sent and not yet acknowledged, oldest first.
    pending: VecDeque<Vec<Origin>>,
    /// Frames acknowledged on this connection.
    acked: usize,
    outcomes: Outcomes,
    events: u64,
    /// Why the connection ended early, if it did.
    failure: Option<String>,
    /// The daemon closed the connection with 1013: its budget of bodies read at once
    /// (`limits.max_body_bytes_in_flight`) had no room for a frame, which was not applied.
    busy: bool,
}

/// Close code 1013, "try again later": the daemon read as many bodies at once as it takes.
const WS_BUSY: u16 = 1013;

async fn send_ws(url: &str, token: Option<&str>, items: &[Item], batch: usize) -> anyhow::Result<Report> {
    // Kept for a resend after a busy close; each frame's text is shared with its message.
    let frames: Vec<(Utf8Bytes, Vec<Origin>)> = batches(items, batch).into_iter().map(|(b, o)| (b.into(), o)).collect();
    let (mut outcomes, mut events, mut next) = (Outcomes::default(), 0u64, 0usize);
    let mut busy_since: Option<std::time::Instant> = None;
    loop {
        let mut a = ws_connection(url, token, &frames[next..]).await?;
        outcomes.merge(&a.outcomes);
        events += a.events;
        next += a.acked;
        if a.acked > 0 {
            busy_since = None;
        }
        let resume = frames.get(next).and_then(|(_, o)| o.first());
        if a.busy {
            // Closed with 1013 (the frames before were applied and acknowledged): connect
            // again and send from the first frame not acknowledged, after 1 to 3.5 s (a
            // pause such as the HTTP 503's Retry-After asks for, senders refused together
            // coming back apart), for up to BUSY_PATIENCE without progress.
            if busy_since.get_or_insert_with(std::time::Instant::now).elapsed() < BUSY_PATIENCE {
                let pause = Duration::from_millis(rand::Rng::random_range(&mut rand::rng(), 1000..3500));
                eprintln!(
                    "send: the daemon is busy reading other bodies; sending from {} again in {:.1} s",
                    resume.map_or_else(|| "the next frame".to_string(), ToString::to_string),
                    pause.as_secs_f64()
                );
                tokio::time::sleep(pause).await;
                continue;
            }
            bail!(
                "{url}: the daemon closed the connection as busy (1013) for {} s{}",
                BUSY_PATIENCE.as_secs(),
                so_far(&outcomes, events, "WebSocket", resume)
            );
        }
        if let Some(why) = a.failure.take() {
            bail!("{url}: {why}{}", so_far(&outcomes, events, "WebSocket", resume));
        }
        if next < frames.len() {
            bail!(
                "{url}: the connection ended before every frame was acknowledged{}",
                so_far(&outcomes, events, "WebSocket", resume)
            );
        }
        return Ok(Report::Answered { over: "WebSocket", events, outcomes });
    }
}

/// Sends `frames` over one connection and reads their acks, until every frame is
/// acknowledged or the connection ends: what it acknowledged, and why it ended early.
async fn ws_connection(url: &str, token: Option<&str>, frames: &[(Utf8Bytes, Vec<Origin>)]) -> anyhow::Result<Acks> {
    let mut u = reqwest::Url::parse(url).with_context(|| format!("bad URL {url:?}"))?;
    if !u.query_pairs().any(|(k, _)| k == "ack") {
        u.query_pairs_mut().append_pair("ack", "1");
    }
    let mut req = u.as_str().into_client_request().with_context(|| format!("bad URL {url:?}"))?;
    if let Some(t) = token {
        let value = format!("Bearer {t}").parse().context("--token is not a valid header value")?;
        req.headers_mut().insert(tungstenite::http::header::AUTHORIZATION, value);
    }
    let ws = match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => ws,
        Err(tungstenite::Error::Http(resp)) => {
            bail!("{url}: the daemon refused the WebSocket upgrade: HTTP {}", resp.status())
        }
        Err(e) => bail!("connecting to {url}: {e}"),
    };
    let (mut tx, mut rx) = ws.split();
    let acks = Arc::new(Mutex::new(Acks::default()));
    let done = Arc::new(tokio::sync::Notify::new());
    // Acks are read while frames go out: a daemon pauses reading a socket whose acks pile up.
    let reader = {
        let (acks, done) = (acks.clone(), done.clone());
        tokio::spawn(async move {
            while let Some(msg) = rx.next().await {
                let mut a = acks.lock().expect("acks lock");
                match msg {
                    Ok(Message::Text(t)) => {
                        let Ok(v) = serde_json::from_str::<Value>(&t) else { continue };
                        let origins = a.pending.pop_front().unwrap_or_default();
                        a.outcomes.add(&v, &origins);
                        a.events += origins.len() as u64;
                        a.acked += 1;
                        if v.get("durable") == Some(&Value::Bool(false)) {
                            let why = v.get("error").and_then(Value::as_str).unwrap_or("not durable");
                            a.failure = Some(format!("the daemon applied a frame but could not journal it: {why}"));
                        }
                    }
                    Ok(Message::Close(frame)) => {
                        if frame.as_ref().is_some_and(|f| u16::from(f.code) == WS_BUSY) {
                            a.busy = true;
                        } else if !a.pending.is_empty() {
                            let why = frame.map(|f| format!("{} {}", u16::from(f.code), f.reason)).unwrap_or_default();
                            a.failure = Some(format!("the daemon closed the connection ({why})"));
                        }
                        break;
                    }
                    Ok(_) => continue,
                    Err(e) => {
                        a.failure = Some(format!("reading acks: {e}"));
                        break;
                    }
                }
                if a.pending.is_empty() {
                    done.notify_one();
                }
            }
            done.notify_one();
        })
    };
    for (body, origins) in frames {
        acks.lock().expect("acks lock").pending.push_back(origins.clone());
        if let Err(e) = tx.send(Message::Text(body.clone())).await {
            // The reader knows why (a close frame) if the daemon said.
            let _ = tokio::time::timeout(Duration::from_secs(1), reader).await;
            let mut a = std::mem::take(&mut *acks.lock().expect("acks lock"));
            if !a.busy && a.failure.is_none() {
                a.failure = Some(format!("sending: {e}"));
            }
            return Ok(a);
        }
    }
    loop {
        let notified = done.notified();
        {
            let a = acks.lock().expect("acks lock");
            if a.pending.is_empty() || a.failure.is_some() || a.busy || reader.is_finished() {
                break;
            }
        }
        if tokio::time::timeout(ANSWER_TIMEOUT, notified).await.is_err() {
            let mut a = std::mem::take(&mut *acks.lock().expect("acks lock"));
            a.failure = Some(format!("no ack within {} s", ANSWER_TIMEOUT.as_secs()));
            return Ok(a);
        }
    }
    let _ = tx.send(Message::Close(None)).await;
    let _ = tokio::time::timeout(Duration::from_secs(2), reader).await;
    Ok(std::mem::take(&mut *acks.lock().expect("acks lock")))
}

async fn send_tcp(addr: &str, token: Option<&str>, items: &[Item]) -> anyhow::Result<Report> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
    let mut buf = Vec::new();
    if let Some(t) = token {
        buf.extend_from_slice(format!("AUTH {t}\n").as_bytes());
    }
    for item in items {
        buf.extend_from_slice(item.text.as_bytes());
        buf.push(b'\n');
    }
    stream.write_all(&buf).await.with_context(|| format!("sending to {addr}"))?;
    // Half-close and wait for the daemon to close its side: it has then read every line
    // (and applied them: a connection is closed once its batches are).
    stream.shutdown().await.with_context(|| format!("sending to {addr}"))?;
    let mut sink = [0u8; 512];
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
    Ok(Report::Written { lines: items.len() as u64 })
}

/// `url` with a scheme (the first of `schemes` when it has none) and `path` when it has
/// no path (`localhost:8080` → `http://localhost:8080/api/v1/events`).
fn with_default_path(url: &str, schemes: &[&str], path: &str) -> anyhow::Result<String> {
    let full = if url.contains("://") { url.to_string() } else { format!("{}://{url}", schemes[0]) };
    crate::sim::with_default_path(&full, schemes, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn items(lines: &[&str]) -> Vec<Item> {
        lines
            .iter()
            .enumerate()
            .map(|(i, t)| Item { origin: Origin::Line(i as u64 + 1), text: t.to_string() })
            .collect()
    }

    /// A resent day refused thousands of duplicates, one line each; now the first 50, and
    /// the summary counts them all.
    #[test]
    fn refusals_are_detailed_up_to_fifty() {
        let mut o = Outcomes::default();
        let errors: Vec<Value> = (0..120)
            .map(|i| json!({"index": i, "outcome": "duplicate", "reason": "repeated", "message": "seen"}))
            .collect();
        let origins: Vec<Origin> = (1..=120).map(Origin::Line).collect();
        o.add(&json!({"applied": 0, "duplicate": 120, "errors": errors}), &origins);
        let lines = Report::Answered { over: "HTTP", events: 120, outcomes: o }.lines();
        assert_eq!(lines.len(), 1 + 50 + 1, "{lines:#?}");
        assert_eq!(lines[50], "  line 50: duplicate (repeated): seen");
        assert_eq!(lines[51], "  ... and 70 more refused (counted above; the first 50 shown)");
    }

    #[test]
    fn what_was_answered_before_a_send_broke_off() {
        let o = Outcomes { applied: 2, ..Default::default() };
        assert_eq!(so_far(&o, 0, "HTTP", None), "");
        assert_eq!(
            so_far(&o, 2, "HTTP", Some(&Origin::Line(3))),
            " (before that, 2 events sent over HTTP: applied 2, duplicate 0, late 0, invalid 0, skewed 0; resend from line 3)"
        );
    }

    #[test]
    fn batches_spread_arrays_and_carry_garbage_as_strings() {
        let b = batches(&items(&[r#"{"agent":"A1","state":"idle"}"#, "not json", r#"[{"a":1},{"b":2}]"#]), 2);
        assert_eq!(b.len(), 2);
        let first: Value = serde_json::from_str(&b[0].0).unwrap();
        assert_eq!(first, json!([{"agent": "A1", "state": "idle"}, "not json"]));
        assert_eq!(b[0].1, vec![Origin::Line(1), Origin::Line(2)]);
        let second: Value = serde_json::from_str(&b[1].0).unwrap();
        assert_eq!(second, json!([{"a": 1}, {"b": 2}]));
        assert_eq!(b[1].1, vec![Origin::Line(3), Origin::Line(3)]);
    }

    #[test]
    fn answers_add_up_and_errors_point_at_lines() {
        let mut o = Outcomes::default();
        o.add(&json!({"applied": 2, "duplicate": 0, "late": 0, "invalid": 0, "skewed": 1}), &[]);
        let err = json!({"applied": 0, "invalid": 1, "errors": [
            {"index": 1, "outcome": "invalid", "reason": "unknown_state", "message": "state \"sleeping\""}]});
        o.add(&err, &[Origin::Line(3), Origin::Line(4)]);
        assert_eq!((o.applied, o.invalid, o.skewed, o.refused()), (2, 1, 1, 1));
        let r = Report::Answered { over: "HTTP", events: 4, outcomes: o };
        assert_eq!(r.exit_code(), 1);
        assert_eq!(
            r.lines(),
            [
                "4 events sent over HTTP: applied 2, duplicate 0, late 0, invalid 1, skewed 1",
                "  line 4: invalid (unknown_state): state \"sleeping\"",
            ]
        );
        assert_eq!(Report::Written { lines: 1 }.exit_code(), 0);
    }

    #[test]
    fn addresses() {
        let p = |u, s: &[&str], d| with_default_path(u, s, d).ok();
        assert_eq!(
            p("localhost:8080", &["http", "https"], "api/v1/events").unwrap(),
            "http://localhost:8080/api/v1/events"
        );
        assert_eq!(p("ws://h:1", &["ws", "wss"], "ingest").unwrap(), "ws://h:1/ingest");
        assert_eq!(p("https://h/x", &["http", "https"], "api/v1/events").unwrap(), "https://h/x");
        assert_eq!(p("ws://h:1", &["http", "https"], "x"), None);
    }
}
