//! What every outbound platform connection shares (AMI, ESL): the reconnect loop with
//! jittered exponential backoff, the health it reports, why a session ended, and the
//! hand-off of mapped events to the applier.
//!
//! A platform's client implements [`Connection`] (one session: connect, log in, read the
//! snapshot, follow the events, return why it ended); [`run`] keeps calling it until
//! shutdown. The mapping state lives in the connection value, so it survives reconnects.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use tokio_util::sync::CancellationToken;

use super::Health;
use super::asterisk::{Native, Out};
use crate::event::{Aliases, Input, decode_str};
use crate::ingest::apply::Batch;

/// Connecting and logging in must finish within this.
pub const LOGIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Silence after which the client asks the platform something (AMI `Ping`, ESL `api`).
pub const PING_AFTER: Duration = Duration::from_secs(20);
/// Silence after which the connection is dropped (a platform that hangs mid-frame ends
/// here).
pub const SILENT_AFTER: Duration = Duration::from_secs(45);
/// First and longest wait between connection attempts (before jitter).
pub const BACKOFF_MIN: Duration = Duration::from_millis(250);
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A session that lasted this long resets the backoff.
const STABLE: Duration = Duration::from_secs(30);
/// How often a mapper is told the time (wrap-up ends, held messages).
pub const TICK: Duration = Duration::from_millis(250);

/// A connection's liveness, the same for every client: logged in within [`LOGIN_TIMEOUT`],
/// one ping after [`PING_AFTER`] of silence, given up after [`SILENT_AFTER`].
pub struct Liveness {
    connected_at: std::time::Instant,
    last_rx: std::time::Instant,
    pinged: bool,
}

impl Default for Liveness {
    /// Connected now.
    fn default() -> Liveness {
        let now = std::time::Instant::now();
        Liveness { connected_at: now, last_rx: now, pinged: false }
    }
}

impl Liveness {
    /// Bytes arrived.
    pub fn received(&mut self) {
        self.last_rx = std::time::Instant::now();
        self.pinged = false;
    }

    /// At a tick: why the session ends, or whether to send the ping now (once per silence).
    pub fn tick(&mut self, logged_in: bool) -> Result<bool, SessionError> {
        if !logged_in && self.connected_at.elapsed() >= LOGIN_TIMEOUT {
            return Err(SessionError::LoginTimeout(LOGIN_TIMEOUT));
        }
        if self.last_rx.elapsed() >= SILENT_AFTER {
            return Err(SessionError::Silent(SILENT_AFTER));
        }
        let ping = logged_in && !self.pinged && self.last_rx.elapsed() >= PING_AFTER;
        self.pinged |= ping;
        Ok(ping)
    }
}

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("connect: {0}")]
    Connect(std::io::Error),
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("closed by the platform")]
    Closed,
    /// `who` names the account (never its secret).
    #[error("login refused for {who}: {message}")]
    LoginRefused { who: String, message: String },
    #[error("no login answer within {0:?}")]
    LoginTimeout(Duration),
    #[error("silent for {0:?}")]
    Silent(Duration),
    #[error("the applier has stopped")]
    Stopped,
}

/// One platform client: a session is one connection from connect to its end.
pub trait Connection {
    /// The source kind, for the log.
    const KIND: &'static str;
    fn session(&mut self) -> impl Future<Output = SessionError> + Send + '_;
}

/// The wait before attempt `n` (1-based) after a failure: doubling from [`BACKOFF_MIN`] up
/// to [`BACKOFF_MAX`], times a random factor in [0.5, 1.5) so that many floorwatches do not
/// reconnect to one restarted platform in step.
pub fn backoff(n: u32, jitter: f64) -> Duration {
    let base = BACKOFF_MIN.saturating_mul(1u32 << n.saturating_sub(1).min(16)).min(BACKOFF_MAX);
    base.mul_f64(0.5 + jitter.clamp(0.0, 1.0))
}

/// Runs `conn`'s sessions until `shutdown`, reconnecting with [`backoff`]; `health` is up
/// only while a session says so (it sets it once logged in) and down between sessions.
pub async fn run<C: Connection>(mut conn: C, health: Arc<Health>, shutdown: CancellationToken) {
    let mut attempt = 0u32;
    loop {
        let started = Instant::now();
        let ended = tokio::select! {
            _ = shutdown.cancelled() => None,
            r = conn.session() => Some(r),
        };
        health.set_up(false);
        let Some(ended) = ended else { return };
        if matches!(ended, SessionError::Stopped) {
            return;
        }
        if matches!(ended, SessionError::LoginRefused { .. }) {
            health.login_refused();
        }
        if started.elapsed() >= STABLE {
            attempt = 0;
        }
        attempt += 1;
        let wait = backoff(attempt, rand::rng().random::<f64>());
        // The first failure in a row is a warning; the retries of an outage are debug.
        if attempt == 1 && matches!(ended, SessionError::LoginRefused { .. }) {
            // Only an operator can fix credentials.
            tracing::error!(error = %ended, "{} source: login refused (check its secret); retrying", C::KIND);
        } else if attempt == 1 {
            tracing::warn!(error = %ended, "{} source down; reconnecting", C::KIND);
        } else {
            tracing::debug!(error = %ended, attempt, wait_ms = wait.as_millis() as u64, "{} source reconnecting", C::KIND);
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        health.reconnecting();
    }
}

/// Appends a mapper's output to `batch`: agent events as they are; call events through
/// the native decoder, so that a source's call event is checked exactly as one sent over
/// TCP (SPEC §8.1), each counted by kind in `health`.
pub fn push_out(out: Vec<Out>, health: &Health, batch: &mut Batch) {
    // Call events carry no state words: the decoder needs no aliases for them.
    let no_aliases = Aliases::new(Default::default());
    for o in out {
        match o {
            Ok(Native::Agent(e)) => batch.push(Ok(Input::Agent(e))),
            Ok(Native::Call(c)) => {
                health.call_event(c.event.as_str());
                batch.push(decode_str(&c.to_json(), &no_aliases));
            }
            Err(e) => batch.push(Err(e)),
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
