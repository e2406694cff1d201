//! The AMI connection of an `asterisk` source: connect to `addr`, read the banner,
//! `Action: Login` with `Events: on`, then `Action: QueueStatus` to learn every member's
//! state; then follow the event stream through the [`Mapper`] and hand its native events
//! to the applier. On any failure (refused, dropped, silent, login refused) it reconnects
//! with jittered exponential backoff and reads QueueStatus again.
//!
//! Liveness: every [`PING_AFTER`] without a byte it sends `Action: Ping`; after
//! [`SILENT_AFTER`] without one it drops the connection (a platform that hangs mid-frame
//! ends here). The secret is written to the socket and nowhere else.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::Health;
use super::ami::{Frame, Framer, MAX_MESSAGE_BYTES, Message};
use super::asterisk::{Mapper, MapperConfig, Native, Out};
use super::config::AsteriskSettings;
use crate::core::wall_ms;
use crate::engine::Source;
use crate::event::{Aliases, DecodeError, Input, decode_str};
use crate::ingest::apply::{Applier, Batch};

/// Connecting and logging in must finish within this.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Silence after which a `Ping` is sent.
pub const PING_AFTER: Duration = Duration::from_secs(20);
/// Silence after which the connection is dropped.
pub const SILENT_AFTER: Duration = Duration::from_secs(45);
/// First and longest wait between connection attempts (before jitter).
pub const BACKOFF_MIN: Duration = Duration::from_millis(250);
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A session that lasted this long resets the backoff.
const STABLE: Duration = Duration::from_secs(30);
/// How often the mapper is told the time (wrap-up ends, held messages).
const TICK: Duration = Duration::from_millis(250);

const LOGIN_ID: &str = "fw-login";
const STATUS_ID: &str = "fw-status";
const PING_ID: &str = "fw-ping";

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("connect: {0}")]
    Connect(std::io::Error),
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("closed by the platform")]
    Closed,
    #[error("login refused for user {user:?}: {message}")]
    LoginRefused { user: String, message: String },
    #[error("no login answer within {0:?}")]
    LoginTimeout(Duration),
    #[error("silent for {0:?}")]
    Silent(Duration),
    #[error("the applier has stopped")]
    Stopped,
}

/// One `asterisk` source.
pub struct Asterisk {
    settings: AsteriskSettings,
    source: Source,
    applier: Arc<Applier>,
    health: Arc<Health>,
}

/// The wait before attempt `n` (1-based) after a failure: doubling from [`BACKOFF_MIN`] up
/// to [`BACKOFF_MAX`], times a random factor in [0.5, 1.5) so that many floorwatches do not
/// reconnect to one restarted Asterisk in step.
pub fn backoff(n: u32, jitter: f64) -> Duration {
    let base = BACKOFF_MIN.saturating_mul(1u32 << n.saturating_sub(1).min(16)).min(BACKOFF_MAX);
    base.mul_f64(0.5 + jitter.clamp(0.0, 1.0))
}

impl Asterisk {
    pub fn new(settings: AsteriskSettings, source: Source, applier: Arc<Applier>, health: Arc<Health>) -> Asterisk {
        Asterisk { settings, source, applier, health }
    }

    /// Runs until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let cfg =
            MapperConfig { wrapup_ms: self.settings.wrapup_secs as i64 * 1000, teams: self.settings.teams.clone() };
        let mut mapper = Mapper::new(cfg);
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
            // The first failure in a row is a warning; the retries of an outage are debug.
            if attempt == 1 {
                tracing::warn!(error = %ended, "asterisk source down; reconnecting");
            } else {
                tracing::debug!(error = %ended, attempt, wait_ms = wait.as_millis() as u64, "asterisk source reconnecting");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            self.health.reconnecting();
        }
    }

    /// One connection, from connect to its end.
    async fn session(&self, mapper: &mut Mapper) -> SessionError {
        let stream = match tokio::time::timeout(LOGIN_TIMEOUT, TcpStream::connect(&self.settings.addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return SessionError::Connect(e),
            Err(_) => return SessionError::LoginTimeout(LOGIN_TIMEOUT),
        };
        let _ = stream.set_nodelay(true);
        mapper.connected();
        let (mut rd, mut wr) = stream.into_split();
        let login = format!(
            "Action: Login\r\nUsername: {}\r\nSecret: {}\r\nEvents: on\r\nActionID: {LOGIN_ID}\r\n\r\n",
            self.settings.username,
            self.settings.secret.expose()
        );
        if let Err(e) = wr.write_all(login.as_bytes()).await {
            return e.into();
        }
        let mut framer = Framer::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let connected_at = Instant::now();
        let mut last_rx = Instant::now();
        let mut pinged = false;
        let mut logged_in = false;
        // Messages read on this connection: refusals name a message by its position.
        let mut index = 0u64;
        // Call events carry no state words: the decoder needs no aliases for them.
        let no_aliases = Aliases::new(Default::default());
        loop {
            let mut frames = Vec::new();
            let mut out: Vec<Out> = Vec::new();
            tokio::select! {
                r = rd.read(&mut buf) => {
                    let n = match r {
                        Ok(0) => return SessionError::Closed,
                        Ok(n) => n,
                        Err(e) => return e.into(),
                    };
                    last_rx = Instant::now();
                    pinged = false;
                    framer.feed(&buf[..n], |f| frames.push(f));
                }
                _ = tick.tick() => {
                    if !logged_in && connected_at.elapsed() >= LOGIN_TIMEOUT {
                        return SessionError::LoginTimeout(LOGIN_TIMEOUT);
                    }
                    if last_rx.elapsed() >= SILENT_AFTER {
                        return SessionError::Silent(SILENT_AFTER);
                    }
                    if logged_in && !pinged && last_rx.elapsed() >= PING_AFTER {
                        pinged = true;
                        if let Err(e) = wr.write_all(format!("Action: Ping\r\nActionID: {PING_ID}\r\n\r\n").as_bytes()).await {
                            return e.into();
                        }
                    }
                    mapper.tick(wall_ms(), &mut out);
                }
            }
            let receipt = wall_ms();
            let mut batch: Batch = Vec::new();
            for frame in frames {
                match frame {
                    Frame::Banner(b) => tracing::debug!(banner = %b, "AMI banner"),
                    Frame::TooLarge => {
                        index += 1;
                        batch.push(Err(DecodeError::too_large("AMI message", "its limit", MAX_MESSAGE_BYTES)));
                    }
                    Frame::Message(m) => {
                        if m.get("Response").is_some() && m.get("Event").is_none() {
                            match self.response(&m, &mut wr, mapper, &mut logged_in).await {
                                Ok(()) => continue,
                                Err(e) => return e,
                            }
                        }
                        // Events are mapped whenever they come: a real Asterisk sends none
                        // before the login's answer, and a replayed capture's are as good.
                        index += 1;
                        mapper.handle(&m, receipt, &mut out);
                    }
                }
            }
            for o in out {
                match o {
                    Ok(Native::Agent(e)) => batch.push(Ok(Input::Agent(e))),
                    Ok(Native::Call(c)) => {
                        self.health.call_event(c.event.as_str());
                        // Through the native decoder, so that a source's call event is
                        // checked exactly as one sent over TCP (SPEC §8.1).
                        batch.push(decode_str(&c.to_json(), &no_aliases));
                    }
                    Err(e) => batch.push(Err(e)),
                }
            }
            if !batch.is_empty() {
                let first = index.saturating_sub(batch.len() as u64);
                if self.applier.submit(batch, self.source, first).await.is_err() {
                    return SessionError::Stopped;
                }
            }
        }
    }

    /// An answer to one of our actions.
    async fn response(
        &self,
        m: &Message,
        wr: &mut tokio::net::tcp::OwnedWriteHalf,
        mapper: &mut Mapper,
        logged_in: &mut bool,
    ) -> Result<(), SessionError> {
        let ok = m.get("Response").is_some_and(|r| r.eq_ignore_ascii_case("Success"));
        // Login is the connection's first action and AMI answers in order: the first answer
        // is the login's, whatever ActionID it carries (some proxies and recorders drop or
        // rewrite them).
        let id = if *logged_in { m.get("ActionID") } else { Some(LOGIN_ID) };
        match id {
            Some(LOGIN_ID) if *logged_in => Ok(()),
            Some(LOGIN_ID) if ok => {
                *logged_in = true;
                self.health.set_up(true);
                tracing::info!("asterisk source logged in; reading QueueStatus");
                mapper.begin_snapshot();
                wr.write_all(format!("Action: QueueStatus\r\nActionID: {STATUS_ID}\r\n\r\n").as_bytes()).await?;
                Ok(())
            }
            Some(LOGIN_ID) => Err(SessionError::LoginRefused {
                user: self.settings.username.clone(),
                message: m.get("Message").unwrap_or("").chars().take(80).collect(),
            }),
            Some(STATUS_ID) if !ok => {
                tracing::warn!(
                    message = m.get("Message").unwrap_or(""),
                    "QueueStatus refused (is the AMI user's read class missing `agent`?)"
                );
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap_with_jitter() {
        assert_eq!(backoff(1, 0.5), BACKOFF_MIN);
        assert_eq!(backoff(2, 0.5), BACKOFF_MIN * 2);
        assert_eq!(backoff(30, 0.5), BACKOFF_MAX);
        assert_eq!(backoff(1, 0.0), BACKOFF_MIN / 2);
        assert!(backoff(3, 0.999) < BACKOFF_MIN * 6);
    }
}
