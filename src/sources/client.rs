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

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::Health;
use super::ami::{Frame, Framer, MAX_MESSAGE_BYTES, Message};
use super::asterisk::{Mapper, MapperConfig, Out};
use super::config::AsteriskSettings;
use super::session::{Connection, LOGIN_TIMEOUT, Liveness, SessionError, TICK, push_out};
use crate::core::wall_ms;
use crate::engine::Source;
use crate::event::DecodeError;
use crate::ingest::apply::{Applier, Batch};

const LOGIN_ID: &str = "fw-login";
const STATUS_ID: &str = "fw-status";
const PING_ID: &str = "fw-ping";

/// One `asterisk` source.
pub struct Asterisk {
    settings: AsteriskSettings,
    source: Source,
    applier: Arc<Applier>,
    health: Arc<Health>,
}

/// An `asterisk` source with its mapping state, which outlives each connection.
pub struct AmiConnection {
    client: Asterisk,
    mapper: Mapper,
}

impl Connection for AmiConnection {
    const KIND: &'static str = "asterisk";

    fn session(&mut self) -> impl std::future::Future<Output = SessionError> + Send + '_ {
        self.client.session(&mut self.mapper)
    }
}

impl Asterisk {
    pub fn new(settings: AsteriskSettings, source: Source, applier: Arc<Applier>, health: Arc<Health>) -> Asterisk {
        Asterisk { settings, source, applier, health }
    }

    /// With its mapper, ready for [`super::session::run`].
    pub fn connection(self) -> AmiConnection {
        let cfg =
            MapperConfig { wrapup_ms: self.settings.wrapup_secs as i64 * 1000, teams: self.settings.teams.clone() };
        AmiConnection { client: self, mapper: Mapper::new(cfg) }
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
        let mut live = Liveness::default();
        let mut logged_in = false;
        // Messages read on this connection: refusals name a message by its position.
        let mut index = 0u64;
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
                    live.received();
                    framer.feed(&buf[..n], |f| frames.push(f));
                }
                _ = tick.tick() => {
                    let ping = match live.tick(logged_in) {
                        Ok(ping) => ping,
                        Err(e) => return e,
                    };
                    if ping
                        && let Err(e) = wr.write_all(format!("Action: Ping\r\nActionID: {PING_ID}\r\n\r\n").as_bytes()).await
                    {
                        return e.into();
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
            push_out(out, &self.health, &mut batch);
            if !batch.is_empty() {
                let first = index.saturating_sub(batch.len() as u64);
                if self.applier.submit(batch, self.source, first, None).await.is_err() {
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
                who: format!("user {:?}", self.settings.username),
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
