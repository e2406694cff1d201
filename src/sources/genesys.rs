//! The `genesys` source (SPEC §7): Genesys Cloud's notification service.
//!
//! A session: an OAuth token (client credentials), the watched queues' members (paged),
//! the organisation's presence labels, then a *generation* of notification channels (a
//! channel holds 1,000 topics: `v2.routing.queues.{id}.conversations` per queue for the
//! calls, `v2.users.{id}.activity` and `.conversations` per user for the states), each
//! subscribed and read over its own WebSocket; then every user's
//! state over the API (`GET /api/v2/users?expand=presence,routingStatus`), so that the
//! board is right before the first notification. The frames go through the pure
//! [`Mapper`](super::genesys_map::Mapper).
//!
//! Renewal: a channel lives 24 h (`expires`). Before the earliest expiry of a generation
//! (a fifth of its lifetime, at most 10 minutes, before), or at once when Genesys says
//! `v2.system.socket_closing`, the source opens a new generation (members re-read), and
//! only once it is subscribed and connected closes the old one: no gap. The overlap
//! delivers some notifications twice; the mapper emits only changes and ignores stale
//! statuses, so nothing is applied twice. A renewal that fails while the current channels have more than
//! a minute to live is retried 30 s later; the current channels go on meanwhile. The 20-channel limit of an OAuth client must hold
//! both generations: at most [`MAX_CHANNELS`] per generation, so [`MAX_USERS`] users per
//! source (more: give each group of queues its own source and OAuth client).
//!
//! Any failure (HTTP error, a WebSocket of the current generation closing, silence past
//! [`SILENT_AFTER`]) ends the session; it starts again with the Asterisk client's jittered
//! backoff. A 401 on any API call drops the token and retries once with a new one. The
//! client secret and the access tokens go into request headers and nowhere else.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message as WsMessage, client::IntoClientRequest};
use tokio_util::sync::CancellationToken;

use super::Health;
use super::config::invalid;
use super::genesys_map::{Activity, Mapper, Native, Notice, Out};
use super::session::backoff;
use crate::config::{ConfigError, resolve_secret};
use crate::core::wall_ms;
use crate::engine::Source;
use crate::event::{Aliases, Input, decode_str};
use crate::hooks::Secret;
use crate::ingest::apply::{Applier, Batch};
use crate::time::parse_rfc3339;

/// Topics a channel holds (Genesys's limit).
pub const TOPICS_PER_CHANNEL: usize = 1000;
/// Channels per generation: two generations overlap during renewal, within the 20
/// channels an OAuth client may have.
pub const MAX_CHANNELS: usize = 10;
/// Users followed by one source: two topics each, beside one per queue
/// (100 + 2 × 4,900 topics fit the 10 channels).
pub const MAX_USERS: usize = 4_900;
/// Queues one source watches.
pub const MAX_QUEUES: usize = 100;
/// Genesys sends a heartbeat every 30 s; a channel silent this long is dead.
pub const SILENT_AFTER: Duration = Duration::from_secs(95);
/// Each HTTP request must finish within this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Largest API answer read (a page of 100 users with presence is some 100 KiB).
pub const MAX_BODY_BYTES: usize = 8 << 20;
/// Largest notification frame accepted (a frame over it ends the connection).
pub const MAX_FRAME_BYTES: usize = 1 << 20;
/// Renew at most this long before a channel expires.
const RENEW_BEFORE: Duration = Duration::from_secs(600);
/// Wait before trying a failed renewal again.
const RENEW_RETRY: Duration = Duration::from_secs(30);
/// A session that lasted this long resets the backoff.
const STABLE: Duration = Duration::from_secs(30);
/// Most member pages read per queue (100 a page).
const MAX_PAGES: u32 = 200;
/// Waiting calls read again after a reconnect.
const MAX_RECHECKS: usize = 1000;
/// Users per `GET /api/v2/users` request.
const USERS_PER_REQUEST: usize = 100;

/// `[[sources]]` keys of a `genesys` entry, as written (see `config`).
#[derive(Debug, Default)]
pub struct GenesysFile {
    pub region: Option<String>,
    pub api_base: Option<String>,
    pub login_base: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_secret_env: Option<String>,
    pub client_secret_file: Option<String>,
    pub queues: Option<Vec<String>>,
    pub teams: BTreeMap<String, String>,
    /// Keys of other kinds that were given.
    pub stray: Vec<&'static str>,
}

/// A validated `genesys` source. `Debug` never shows the secret.
#[derive(Clone, Debug)]
pub struct GenesysSettings {
    /// `https://api.<region>`, no trailing slash.
    pub api_base: String,
    /// `https://login.<region>`, no trailing slash.
    pub login_base: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// Queue names or ids, as configured.
    pub queues: Vec<String>,
    /// User id → team.
    pub teams: HashMap<String, String>,
}

/// `http://` is accepted only to a loopback host (tests, a local proxy): the client secret
/// and tokens travel in these requests.
fn loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn base_url(s: &str) -> Result<String, String> {
    let url = Url::parse(s).map_err(|e| format!("{s:?} is not a URL: {e}"))?;
    let host = url.host_str().unwrap_or("");
    match url.scheme() {
        "https" => {}
        "http" if loopback(host) => {}
        _ => return Err(format!("{s:?} must be https:// (http:// only to a loopback address)")),
    }
    if host.is_empty() || url.query().is_some() {
        return Err(format!("{s:?} must be scheme://host[:port][/path]"));
    }
    Ok(s.trim_end_matches('/').to_string())
}

/// Validates a `genesys` entry.
pub fn settings(i: usize, f: &GenesysFile, base_dir: &Path, errs: &mut Vec<ConfigError>) -> Option<GenesysSettings> {
    let before = errs.len();
    for k in &f.stray {
        errs.push(invalid(i, k, "is not a key of a genesys source"));
    }
    let (api, login) = match (&f.region, &f.api_base, &f.login_base) {
        (Some(r), None, None) => {
            let ok = !r.is_empty()
                && r.len() <= 64
                && r.contains('.')
                && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
            if !ok {
                errs.push(invalid(i, "region", format!("{r:?} is not a Genesys Cloud domain (e.g. mypurecloud.com)")));
            }
            (format!("https://api.{r}"), format!("https://login.{r}"))
        }
        (None, Some(a), Some(l)) => (a.clone(), l.clone()),
        (None, Some(_), None) => {
            errs.push(invalid(i, "login_base", "is required with api_base"));
            (String::new(), String::new())
        }
        (None, None, Some(_)) => {
            errs.push(invalid(i, "api_base", "is required with login_base"));
            (String::new(), String::new())
        }
        (None, None, None) => {
            errs.push(invalid(i, "region", "is required (e.g. \"mypurecloud.com\"), or api_base and login_base"));
            (String::new(), String::new())
        }
        (Some(_), _, _) => {
            errs.push(invalid(i, "region", "give region, or api_base and login_base, not both"));
            (String::new(), String::new())
        }
    };
    // Empty: already reported above.
    let mut checked = |key: &str, s: &str| match base_url(s) {
        Ok(u) => u,
        Err(e) => {
            if !s.is_empty() {
                errs.push(invalid(i, key, e));
            }
            String::new()
        }
    };
    let api_base = checked("api_base", &api);
    let login_base = checked("login_base", &login);
    let client_id = f.client_id.clone().unwrap_or_default();
    if client_id.is_empty() || client_id.len() > 128 || client_id.chars().any(|c| c.is_control() || c == ':') {
        errs.push(invalid(i, "client_id", "must name the OAuth client (client credentials grant)"));
    }
    let key = format!("sources[{i}].client_secret");
    let secret = match resolve_secret(&key, &f.client_secret, &f.client_secret_env, &f.client_secret_file, base_dir) {
        Ok(Some(s)) if !s.chars().any(char::is_control) => Some(Secret::new(s)),
        Ok(Some(_)) => {
            errs.push(invalid(i, "client_secret", "must be one line"));
            None
        }
        Ok(None) => {
            errs.push(invalid(i, "client_secret", "is required (or client_secret_env / client_secret_file)"));
            None
        }
        Err(e) => {
            errs.push(e);
            None
        }
    };
    let queues = f.queues.clone().unwrap_or_default();
    if queues.is_empty() || queues.len() > MAX_QUEUES {
        errs.push(invalid(
            i,
            "queues",
            format!("must list 1-{MAX_QUEUES} queues (names or ids) whose members are watched"),
        ));
    }
    if queues.iter().any(|q| q.is_empty() || q.len() > 256 || q.chars().any(char::is_control)) {
        errs.push(invalid(i, "queues", "each queue must be 1-256 printable bytes"));
    }
    for (agent, team) in &f.teams {
        let ok = |s: &str| crate::event::printable_id(s, 64);
        if !ok(agent) || !ok(team) {
            errs.push(invalid(i, &format!("teams.{agent}"), "user id and team must be 1-64 printable bytes"));
        }
    }
    if errs.len() > before {
        return None;
    }
    Some(GenesysSettings {
        api_base,
        login_base,
        client_id,
        client_secret: secret?,
        queues,
        teams: f.teams.iter().map(|(a, t)| (a.clone(), t.clone())).collect(),
    })
}

/// Why a session ended. Never holds a secret or a token.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("OAuth token refused: HTTP {0} (check client_id and client_secret)")]
    Auth(u16),
    #[error("{what}: {error}")]
    Http { what: String, error: String },
    #[error("{what}: HTTP {status}")]
    Api { what: String, status: u16 },
    #[error("{what}: {error}")]
    Body { what: String, error: String },
    #[error("queue {0:?} not found")]
    NoQueue(String),
    #[error("notification WebSocket: {0}")]
    Socket(String),
    #[error("notification channel silent for {0:?}")]
    Silent(Duration),
    #[error("the applier has stopped")]
    Stopped,
}

struct Token {
    bearer: Secret,
    refresh_at: Instant,
}

/// A frame (or the end) of one channel's WebSocket.
enum Frame {
    Text { generation: u64, channel: usize, text: String },
    Closed { generation: u64, channel: usize, why: String },
}

/// One set of channels covering every watched user.
struct Generation {
    number: u64,
    /// Channel ids (for the old generation's unsubscribe).
    ids: Vec<String>,
    /// When to renew it, and when its first channel expires.
    renew_at: Instant,
    expires_at: Instant,
    /// Stops its WebSocket tasks.
    stop: CancellationToken,
    /// Last frame per channel.
    last_rx: Vec<Instant>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChannelAnswer {
    id: String,
    connect_uri: String,
    expires: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page<T> {
    #[serde(default = "Vec::new")]
    entities: Vec<T>,
    page_count: Option<u32>,
    next_uri: Option<String>,
}

impl<T> Page<T> {
    /// Whether to read the page after page `n`: the answer says there is one (its page
    /// count, else a next URI), this one was not empty, and at most [`MAX_PAGES`].
    fn more_after(&self, n: u32) -> bool {
        let more = match self.page_count {
            Some(c) => n < c,
            None => self.next_uri.is_some(),
        };
        more && !self.entities.is_empty() && n < MAX_PAGES
    }
}

#[derive(Deserialize)]
struct Named {
    id: String,
    name: Option<String>,
}

#[derive(Deserialize)]
struct Member {
    id: String,
    name: Option<String>,
    user: Option<Named>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PresenceDef {
    id: String,
    system_presence: Option<String>,
    #[serde(default)]
    language_labels: BTreeMap<String, String>,
}

/// One `genesys` source.
pub struct Genesys {
    settings: GenesysSettings,
    source: Source,
    applier: Arc<Applier>,
    health: Arc<Health>,
    http: reqwest::Client,
    token: Option<Token>,
    /// Inputs handed to the core on this run (refusals name an input by its position).
    index: u64,
}

/// 36 characters, 8-4-4-4-12 hex: a Genesys id rather than a name.
fn is_id(q: &str) -> bool {
    q.len() == 36
        && q.char_indices().all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { c.is_ascii_hexdigit() })
}

impl Genesys {
    pub fn new(settings: GenesysSettings, source: Source, applier: Arc<Applier>, health: Arc<Health>) -> Genesys {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Genesys { settings, source, applier, health, http, token: None, index: 0 }
    }

    /// Runs until `shutdown`.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut mapper = Mapper::new(self.settings.teams.clone());
        let mut attempt = 0u32;
        loop {
            let started = Instant::now();
            let ended = tokio::select! {
                _ = shutdown.cancelled() => None,
                r = self.session(&mut mapper) => Some(r),
            };
            self.health.set_up(false);
            let Some(ended) = ended else { return };
            if matches!(ended, SessionError::Stopped) {
                return;
            }
            if started.elapsed() >= STABLE {
                attempt = 0;
            }
            attempt += 1;
            let wait = backoff(attempt, rand::rng().random::<f64>());
            if attempt == 1 {
                tracing::warn!(error = %ended, "genesys source down; reconnecting");
            } else {
                tracing::debug!(error = %ended, attempt, wait_ms = wait.as_millis() as u64, "genesys source reconnecting");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            self.health.reconnecting();
        }
    }

    /// A bearer token, fetched or refreshed when due.
    async fn bearer(&mut self) -> Result<String, SessionError> {
        if let Some(t) = &self.token
            && Instant::now() < t.refresh_at
        {
            return Ok(t.bearer.expose().to_string());
        }
        self.token = None;
        let what = "OAuth token".to_string();
        let r = self
            .http
            .post(format!("{}/oauth/token", self.settings.login_base))
            .basic_auth(&self.settings.client_id, Some(self.settings.client_secret.expose()))
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .map_err(|e| SessionError::Http { what: what.clone(), error: e.without_url().to_string() })?;
        if !r.status().is_success() {
            return Err(SessionError::Auth(r.status().as_u16()));
        }
        let body = read_limited(r, &what).await?;
        let t: TokenAnswer =
            serde_json::from_slice(&body).map_err(|e| SessionError::Body { what, error: e.to_string() })?;
        // Refresh a tenth of its life (at most 5 minutes) before it expires.
        let life = Duration::from_secs(t.expires_in.unwrap_or(86_400).clamp(2, 86_400 * 7));
        let refresh_at = Instant::now() + life - (life / 10).min(Duration::from_secs(300));
        tracing::debug!(expires_in_secs = life.as_secs(), "genesys source got an OAuth token");
        self.token = Some(Token { bearer: Secret::new(t.access_token.clone()), refresh_at });
        Ok(t.access_token)
    }

    /// One API call; a 401 drops the token and retries once with a new one.
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<serde_json::Value>,
    ) -> Result<Vec<u8>, SessionError> {
        let what = format!("{method} {path}");
        let mut url = Url::parse(&format!("{}{path}", self.settings.api_base))
            .map_err(|e| SessionError::Http { what: what.clone(), error: e.to_string() })?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        for attempt in 0..2 {
            let bearer = self.bearer().await?;
            let mut req = self.http.request(method.clone(), url.clone()).bearer_auth(bearer);
            if let Some(b) = &body {
                req = req.json(b);
            }
            let r = req
                .send()
                .await
                .map_err(|e| SessionError::Http { what: what.clone(), error: e.without_url().to_string() })?;
            if r.status() == StatusCode::UNAUTHORIZED && attempt == 0 {
                tracing::info!(what = %what, "genesys token refused (401); getting a new one");
                self.token = None;
                continue;
            }
            if !r.status().is_success() {
                return Err(SessionError::Api { what, status: r.status().as_u16() });
            }
            return read_limited(r, &what).await;
        }
        Err(SessionError::Api { what, status: 401 })
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &mut self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, SessionError> {
        let body = self.call(Method::GET, path, query, None).await?;
        serde_json::from_slice(&body)
            .map_err(|e| SessionError::Body { what: format!("GET {path}"), error: e.to_string() })
    }

    /// The watched queues' members: (user id, name, queue name), each user once (its first
    /// queue in configuration order), at most [`MAX_USERS`].
    async fn members(
        &mut self,
    ) -> Result<(Vec<(String, Option<String>, String)>, HashMap<String, String>), SessionError> {
        let mut out: Vec<(String, Option<String>, String)> = Vec::new();
        let mut queues = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        let mut dropped = 0usize;
        for q in self.settings.queues.clone() {
            let queue: Named = if is_id(&q) {
                self.get(&format!("/api/v2/routing/queues/{q}"), &[]).await?
            } else {
                let page: Page<Named> =
                    self.get("/api/v2/routing/queues", &[("name", &q), ("pageSize", "100")]).await?;
                // `name` matches by prefix: take the exact one.
                page.entities
                    .into_iter()
                    .find(|e| e.name.as_deref() == Some(q.as_str()))
                    .ok_or(SessionError::NoQueue(q))?
            };
            let qname = queue.name.clone().unwrap_or_else(|| queue.id.clone());
            queues.insert(queue.id.clone(), qname.clone());
            let mut n = 1u32;
            loop {
                let number = n.to_string();
                let page: Page<Member> = self
                    .get(
                        &format!("/api/v2/routing/queues/{}/members", queue.id),
                        &[("pageSize", "100"), ("pageNumber", &number)],
                    )
                    .await?;
                let more = page.more_after(n);
                for m in page.entities {
                    let (id, name) = match m.user {
                        Some(u) => (u.id, u.name.or(m.name)),
                        None => (m.id, m.name),
                    };
                    if seen.contains(&id) {
                        continue;
                    }
                    if out.len() >= MAX_USERS {
                        dropped += 1;
                        continue;
                    }
                    seen.insert(id.clone());
                    out.push((id, name, qname.clone()));
                }
                if !more {
                    break;
                }
                n += 1;
            }
        }
        if dropped > 0 {
            tracing::error!(
                dropped,
                limit = MAX_USERS,
                "genesys source: more queue members than one source follows; split the queues over several sources"
            );
        }
        Ok((out, queues))
    }

    /// The organisation's presence labels (best effort: without them, the system presence).
    async fn labels(&mut self) -> HashMap<String, String> {
        let mut labels = HashMap::new();
        // Every page: an organisation with many custom presences has more than one.
        let mut n = 1u32;
        loop {
            let number = n.to_string();
            let query = [("pageSize", "100"), ("pageNumber", number.as_str())];
            let page = match self.get::<Page<PresenceDef>>("/api/v2/presencedefinitions", &query).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(
                        error = %e,
                        "genesys presence labels not read: aux reasons are the system presences (Break, Meal…), not your organisation's labels"
                    );
                    break;
                }
            };
            let more = page.more_after(n);
            for d in page.entities {
                let label = d
                    .language_labels
                    .get("en_US")
                    .or_else(|| d.language_labels.values().next())
                    .cloned()
                    .or(d.system_presence);
                if let Some(l) = label {
                    labels.insert(d.id, l);
                }
            }
            if !more {
                break;
            }
            n += 1;
        }
        labels
    }

    /// Opens a generation of channels for `topics`: created, subscribed and connected.
    async fn open(
        &mut self,
        number: u64,
        topics: &[String],
        tx: &mpsc::Sender<Frame>,
    ) -> Result<Generation, SessionError> {
        let stop = CancellationToken::new();
        let mut ids = Vec::new();
        let mut earliest: Option<Duration> = None;
        let opened = self.open_channels(number, topics, tx, &stop, &mut ids, &mut earliest).await;
        if let Err(e) = opened {
            // The channels connected so far stop with it.
            stop.cancel();
            return Err(e);
        }
        let life = earliest.unwrap_or(Duration::from_secs(86_400));
        let renew_in = (life - (life / 5).min(RENEW_BEFORE)).max(Duration::from_secs(1));
        let n = ids.len();
        let now = Instant::now();
        Ok(Generation { number, ids, renew_at: now + renew_in, expires_at: now + life, stop, last_rx: vec![now; n] })
    }

    async fn open_channels(
        &mut self,
        number: u64,
        topics: &[String],
        tx: &mpsc::Sender<Frame>,
        stop: &CancellationToken,
        ids: &mut Vec<String>,
        earliest: &mut Option<Duration>,
    ) -> Result<(), SessionError> {
        for (channel, chunk) in topics.chunks(TOPICS_PER_CHANNEL).enumerate() {
            let body = self.call(Method::POST, "/api/v2/notifications/channels", &[], None).await?;
            let ch: ChannelAnswer = serde_json::from_slice(&body).map_err(|e| SessionError::Body {
                what: "POST /api/v2/notifications/channels".into(),
                error: e.to_string(),
            })?;
            let topics: Vec<serde_json::Value> = chunk.iter().map(|t| serde_json::json!({ "id": t })).collect();
            self.call(
                Method::PUT,
                &format!("/api/v2/notifications/channels/{}/subscriptions", ch.id),
                &[],
                Some(serde_json::Value::Array(topics)),
            )
            .await?;
            let life = ch
                .expires
                .as_deref()
                .and_then(parse_rfc3339)
                .map(|e| Duration::from_millis((e - wall_ms()).max(0) as u64))
                .unwrap_or(Duration::from_secs(86_400));
            *earliest = Some(earliest.map_or(life, |e| e.min(life)));
            connect(&ch.connect_uri, number, channel, tx.clone(), stop.clone()).await?;
            ids.push(ch.id);
        }
        Ok(())
    }

    /// Every user's state over the API.
    async fn states(
        &mut self,
        users: &[(String, Option<String>, String)],
        mapper: &mut Mapper,
    ) -> Result<(), SessionError> {
        for chunk in users.chunks(USERS_PER_REQUEST) {
            let size = chunk.len().to_string();
            let mut query: Vec<(&str, &str)> =
                vec![("pageSize", size.as_str()), ("expand", "presence"), ("expand", "routingStatus")];
            query.extend(chunk.iter().map(|(id, _, _)| ("id", id.as_str())));
            let page: Page<Activity> = self.get("/api/v2/users", &query).await?;
            let mut out = Vec::new();
            let receipt = wall_ms();
            for a in &page.entities {
                mapper.user_state(a, receipt, &mut out);
            }
            self.submit(out).await?;
        }
        Ok(())
    }

    async fn submit(&mut self, out: Vec<Out>) -> Result<(), SessionError> {
        if out.is_empty() {
            return Ok(());
        }
        // Call events carry no state words: the decoder needs no aliases for them.
        let no_aliases = Aliases::new(Default::default());
        let batch: Batch = out
            .into_iter()
            .map(|o| match o {
                Ok(Native::Agent(e)) => Ok(Input::Agent(e)),
                Ok(Native::Call(c)) => {
                    self.health.call_event(c.event.as_str());
                    // Through the native decoder, as the Asterisk source does: checked
                    // exactly as a call event sent over TCP (SPEC §8.1).
                    decode_str(&c.to_json(), &no_aliases)
                }
                Err(e) => Err(e),
            })
            .collect();
        let first = self.index;
        self.index += batch.len() as u64;
        self.applier.submit(batch, self.source, first, None).await.map_err(|_| SessionError::Stopped)
    }

    /// Members, a generation of channels, the users' states; then the notifications,
    /// renewing the channels before they expire.
    async fn session(&mut self, mapper: &mut Mapper) -> SessionError {
        // Frames of every channel of every open generation; bounded: a flood waits on the
        // applier like any connection's.
        let (tx, mut rx) = mpsc::channel::<Frame>(1024);
        let mut number = 0u64;
        let mut current = match self.start(mapper, number, &tx).await {
            Ok(g) => g,
            Err(e) => return e,
        };
        self.health.set_up(true);
        tracing::info!(users = mapper.watched(), channels = current.ids.len(), "genesys source connected");
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let result = loop {
            let mut renew = false;
            tokio::select! {
                f = rx.recv() => match f {
                    Some(Frame::Text { generation, channel, text }) => {
                        if generation == current.number
                            && let Some(t) = current.last_rx.get_mut(channel)
                        {
                            *t = Instant::now();
                        }
                        let mut out = Vec::new();
                        match mapper.frame(&text, wall_ms(), &mut out) {
                            Notice::Closing if generation == current.number => {
                                tracing::info!("genesys socket closing; moving to new channels");
                                renew = true;
                            }
                            Notice::Failed(why) if generation == current.number => {
                                break SessionError::Socket(format!("channel {channel} failed: {why}"));
                            }
                            _ => {}
                        }
                        if let Err(e) = self.submit(out).await {
                            break e;
                        }
                    }
                    Some(Frame::Closed { generation, channel, why }) if generation == current.number => {
                        break SessionError::Socket(format!("channel {channel} closed: {why}"));
                    }
                    Some(Frame::Closed { .. }) => {}
                    None => break SessionError::Stopped,
                },
                _ = tokio::time::sleep_until(current.renew_at.into()) => renew = true,
                _ = tick.tick() => {
                    if current.last_rx.iter().any(|t| t.elapsed() >= SILENT_AFTER) {
                        break SessionError::Silent(SILENT_AFTER);
                    }
                }
            }
            if renew {
                number += 1;
                // The new generation is opened while the current one still delivers.
                let next = match self.start(mapper, number, &tx).await {
                    Ok(g) => g,
                    // The current channels still work: try again a little later.
                    Err(e) if current.expires_at > Instant::now() + 2 * RENEW_RETRY => {
                        tracing::warn!(error = %e, "genesys channel renewal failed; the current channels go on, retrying");
                        current.renew_at = Instant::now() + RENEW_RETRY;
                        continue;
                    }
                    Err(e) => break e,
                };
                tracing::info!(users = mapper.watched(), channels = next.ids.len(), "genesys channels renewed");
                // Its frames already queued are still mapped (the overlap).
                let retired = std::mem::replace(&mut current, next);
                retired.stop.cancel();
                // Best effort: the old channels stop delivering (they expire anyway).
                for id in &retired.ids {
                    let path = format!("/api/v2/notifications/channels/{id}/subscriptions");
                    let _ = self.call(Method::DELETE, &path, &[], None).await;
                }
            }
        };
        current.stop.cancel();
        result
    }

    /// After a reconnect: each wait we still think open is read again (it may have ended
    /// while we were away); at most [`MAX_RECHECKS`], oldest first.
    async fn recheck(&mut self, mapper: &mut Mapper) -> Result<(), SessionError> {
        for (conv, queue) in mapper.waiting().into_iter().take(MAX_RECHECKS) {
            let mut out = Vec::new();
            match self.call(Method::GET, &format!("/api/v2/conversations/{conv}"), &[], None).await {
                Ok(body) => mapper.conversation_again(&queue, &String::from_utf8_lossy(&body), wall_ms(), &mut out),
                Err(SessionError::Api { status: 404, .. }) => mapper.gone(&conv, wall_ms(), &mut out),
                Err(e) => return Err(e),
            }
            self.submit(out).await?;
        }
        Ok(())
    }

    /// Members, labels, a generation of channels, then the states.
    async fn start(
        &mut self,
        mapper: &mut Mapper,
        number: u64,
        tx: &mpsc::Sender<Frame>,
    ) -> Result<Generation, SessionError> {
        let (users, queues) = self.members().await?;
        let labels = self.labels().await;
        mapper.set_labels(labels);
        let mut out = Vec::new();
        mapper.set_members(&users, wall_ms(), &mut out);
        self.submit(out).await?;
        // The queues' topics first (calls), then two per user (states).
        let mut ids: Vec<&String> = queues.keys().collect();
        ids.sort();
        let mut topics: Vec<String> = ids.iter().map(|q| format!("v2.routing.queues.{q}.conversations")).collect();
        for (id, _, _) in &users {
            topics.push(format!("v2.users.{id}.activity"));
            topics.push(format!("v2.users.{id}.conversations"));
        }
        topics.truncate(TOPICS_PER_CHANNEL * MAX_CHANNELS);
        mapper.set_queues(queues);
        let generation = self.open(number, &topics, tx).await?;
        let caught_up = match self.states(&users, mapper).await {
            // A new session (not a renewal, which has no gap): calls that ended unseen.
            Ok(()) if number == 0 => self.recheck(mapper).await,
            r => r,
        };
        if let Err(e) = caught_up {
            generation.stop.cancel();
            return Err(e);
        }
        Ok(generation)
    }
}

/// Reads an answer, refusing one over [`MAX_BODY_BYTES`].
async fn read_limited(mut r: reqwest::Response, what: &str) -> Result<Vec<u8>, SessionError> {
    let mut body = Vec::new();
    loop {
        match r.chunk().await {
            Ok(Some(c)) => {
                if body.len() + c.len() > MAX_BODY_BYTES {
                    return Err(SessionError::Body {
                        what: what.into(),
                        error: format!("over {MAX_BODY_BYTES} bytes"),
                    });
                }
                body.extend_from_slice(&c);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(SessionError::Http { what: what.into(), error: e.without_url().to_string() }),
        }
    }
}

/// Connects a channel's WebSocket (`wss://` over rustls with the webpki roots; `ws://`
/// only to loopback) and spawns its reader.
async fn connect(
    uri: &str,
    generation: u64,
    channel: usize,
    tx: mpsc::Sender<Frame>,
    stop: CancellationToken,
) -> Result<(), SessionError> {
    let err = SessionError::Socket;
    let url = Url::parse(uri).map_err(|e| err(format!("connectUri is not a URL: {e}")))?;
    let host = url.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']').to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let request = uri.into_client_request().map_err(|e| err(e.to_string()))?;
    let config =
        WebSocketConfig::default().max_message_size(Some(MAX_FRAME_BYTES)).max_frame_size(Some(MAX_FRAME_BYTES));
    let tcp = tokio::time::timeout(REQUEST_TIMEOUT, TcpStream::connect((host.as_str(), port)))
        .await
        .map_err(|_| err("connect timed out".into()))?
        .map_err(|e| err(format!("connect: {e}")))?;
    let _ = tcp.set_nodelay(true);
    match url.scheme() {
        "wss" => {
            use tokio_rustls::rustls;
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
            let tls = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| err(e.to_string()))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            let name = rustls::pki_types::ServerName::try_from(host.clone()).map_err(|e| err(e.to_string()))?;
            let stream = tokio::time::timeout(
                REQUEST_TIMEOUT,
                tokio_rustls::TlsConnector::from(Arc::new(tls)).connect(name, tcp),
            )
            .await
            .map_err(|_| err("TLS handshake timed out".into()))?
            .map_err(|e| err(format!("TLS: {e}")))?;
            let (ws, _) = tokio::time::timeout(
                REQUEST_TIMEOUT,
                tokio_tungstenite::client_async_with_config(request, stream, Some(config)),
            )
            .await
            .map_err(|_| err("handshake timed out".into()))?
            .map_err(|e| err(e.to_string()))?;
            tokio::spawn(pump(ws, generation, channel, tx, stop));
        }
        "ws" if loopback(&host) => {
            let (ws, _) = tokio::time::timeout(
                REQUEST_TIMEOUT,
                tokio_tungstenite::client_async_with_config(request, tcp, Some(config)),
            )
            .await
            .map_err(|_| err("handshake timed out".into()))?
            .map_err(|e| err(e.to_string()))?;
            tokio::spawn(pump(ws, generation, channel, tx, stop));
        }
        s => return Err(err(format!("connectUri scheme {s:?} (wss://, or ws:// to loopback)"))),
    }
    Ok(())
}

/// Forwards one WebSocket's text frames until it closes or `stop`.
async fn pump<S: AsyncRead + AsyncWrite + Unpin>(
    mut ws: tokio_tungstenite::WebSocketStream<S>,
    generation: u64,
    channel: usize,
    tx: mpsc::Sender<Frame>,
    stop: CancellationToken,
) {
    let why = loop {
        tokio::select! {
            _ = stop.cancelled() => {
                // A peer that reads nothing must not keep this task.
                let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
                return;
            }
            m = ws.next() => match m {
                Some(Ok(WsMessage::Text(t))) => {
                    let frame = Frame::Text { generation, channel, text: t.as_str().to_string() };
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        r = tx.send(frame) => if r.is_err() { return },
                    }
                }
                Some(Ok(WsMessage::Binary(b))) => {
                    let text = String::from_utf8_lossy(&b).into_owned();
                    if tx.send(Frame::Text { generation, channel, text }).await.is_err() {
                        return;
                    }
                }
                Some(Ok(WsMessage::Close(c))) => break format!("closed by Genesys ({})", c.map(|c| c.code.to_string()).unwrap_or_default()),
                Some(Ok(_)) => {}
                Some(Err(e)) => break e.to_string(),
                None => break "closed".to_string(),
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), ws.send(WsMessage::Close(None))).await;
    let _ = tx.send(Frame::Closed { generation, channel, why }).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(file: GenesysFile) -> Result<GenesysSettings, Vec<String>> {
        let mut errs = Vec::new();
        match settings(0, &file, Path::new("."), &mut errs) {
            Some(s) if errs.is_empty() => Ok(s),
            _ => Err(errs.iter().map(|e| e.to_string()).collect()),
        }
    }

    fn good() -> GenesysFile {
        GenesysFile {
            region: Some("mypurecloud.ie".into()),
            client_id: Some("cid".into()),
            client_secret: Some("s3cret-value".into()),
            queues: Some(vec!["Support".into()]),
            ..Default::default()
        }
    }

    #[test]
    fn region_gives_the_bases_and_debug_hides_the_secret() {
        let s = check(good()).unwrap();
        assert_eq!(s.api_base, "https://api.mypurecloud.ie");
        assert_eq!(s.login_base, "https://login.mypurecloud.ie");
        let shown = format!("{s:?}");
        assert!(!shown.contains("s3cret") && shown.contains("Secret(***)"), "{shown}");
    }

    #[test]
    fn errors_name_the_key() {
        let cases: Vec<(GenesysFile, &str)> = vec![
            (GenesysFile { region: None, ..good() }, "sources[0].region"),
            (GenesysFile { region: Some("no way".into()), ..good() }, "sources[0].region"),
            (
                GenesysFile {
                    region: None,
                    api_base: Some("http://10.0.0.1".into()),
                    login_base: Some("http://127.0.0.1:1".into()),
                    ..good()
                },
                "sources[0].api_base",
            ),
            (
                GenesysFile { region: None, api_base: Some("http://127.0.0.1:9".into()), ..good() },
                "sources[0].login_base",
            ),
            (GenesysFile { client_id: None, ..good() }, "sources[0].client_id"),
            (GenesysFile { client_secret: None, ..good() }, "sources[0].client_secret"),
            (GenesysFile { queues: Some(vec![]), ..good() }, "sources[0].queues"),
            (GenesysFile { stray: vec!["addr"], ..good() }, "sources[0].addr"),
        ];
        for (f, key) in cases {
            let e = check(f).unwrap_err();
            assert!(e.iter().any(|e| e.starts_with(key)), "{key}: {e:?}");
        }
        let loopback = GenesysFile {
            region: None,
            api_base: Some("http://127.0.0.1:9/".into()),
            login_base: Some("http://localhost:9".into()),
            ..good()
        };
        assert_eq!(check(loopback).unwrap().api_base, "http://127.0.0.1:9");
    }

    #[test]
    fn ids_and_names_are_told_apart() {
        assert!(is_id("0b1d2a8e-1f2c-4e5b-9c3d-6f7a8b9c0d1e"));
        assert!(!is_id("Support"));
        assert!(!is_id("0b1d2a8e-1f2c-4e5b-9c3d-6f7a8b9c0d1e0"));
    }
}
