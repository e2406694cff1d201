//! The Event Socket connection of a `freeswitch` source (mod_event_socket, inbound mode):
//! connect to `addr`, answer `auth/request` with `auth <password>`, then subscribe with
//! `event plain CUSTOM callcenter::info` and ask `api callcenter_config tier list` (the
//! agents' queues: their teams), `api callcenter_config agent list` (every agent's status
//! and state now) and `api callcenter_config queue list members` (the callers waiting
//! now); then follow the events through the [`Mapper`] and hand its
//! native events to the applier. On any failure (refused, dropped, silent, password
//! refused) [`super::session::run`] reconnects with jittered backoff, and the lists are
//! read again.
//!
//! Liveness: after [`PING_AFTER`] without a byte it sends `api uptime`; after
//! [`SILENT_AFTER`] without one it drops the connection (a platform that hangs mid-frame
//! ends here). The password is written to the socket and nowhere else.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::Health;
use super::asterisk::Out;
use super::config::FreeswitchSettings;
use super::esl::{Frame, Framer, MAX_BODY_BYTES, parse_event};
use super::freeswitch::{Mapper, MapperConfig};
use super::session::{Connection, LOGIN_TIMEOUT, Liveness, SessionError, TICK, push_out};
use crate::core::wall_ms;
use crate::engine::Source;
use crate::event::{DecodeError, Refusal};
use crate::ingest::apply::{Applier, Batch};

/// What each `api` command sent waits for (ESL answers in order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Asked {
    Tiers,
    Agents,
    Members,
    Ping,
}

/// One `freeswitch` source.
pub struct Freeswitch {
    settings: FreeswitchSettings,
    source: Source,
    applier: Arc<Applier>,
    health: Arc<Health>,
}

/// A `freeswitch` source with its mapping state, which outlives each connection.
pub struct EslConnection {
    client: Freeswitch,
    mapper: Mapper,
}

impl Connection for EslConnection {
    const KIND: &'static str = "freeswitch";

    fn session(&mut self) -> impl std::future::Future<Output = SessionError> + Send + '_ {
        self.client.session(&mut self.mapper)
    }
}

impl Freeswitch {
    pub fn new(settings: FreeswitchSettings, source: Source, applier: Arc<Applier>, health: Arc<Health>) -> Freeswitch {
        Freeswitch { settings, source, applier, health }
    }

    /// With its mapper, ready for [`super::session::run`].
    pub fn connection(self) -> EslConnection {
        let cfg = MapperConfig {
            wrapup_ms: self.settings.wrapup_secs as i64 * 1000,
            teams: self.settings.teams.clone(),
            names: self.settings.names.clone(),
        };
        EslConnection { client: self, mapper: Mapper::new(cfg) }
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
        let mut framer = Framer::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut live = Liveness::default();
        let mut authed = false;
        let mut asked: VecDeque<Asked> = VecDeque::new();
        // Frames read on this connection: refusals name a frame by its position.
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
                    let ping = match live.tick(authed) {
                        Ok(ping) => ping,
                        Err(e) => return e,
                    };
                    if ping {
                        asked.push_back(Asked::Ping);
                        if let Err(e) = wr.write_all(b"api uptime\n\n").await {
                            return e.into();
                        }
                    }
                    mapper.tick(wall_ms(), &mut out);
                }
            }
            let receipt = wall_ms();
            let mut batch: Batch = Vec::new();
            for frame in frames {
                let env = match frame {
                    Frame::TooLarge => {
                        index += 1;
                        batch.push(Err(DecodeError::too_large("ESL frame", "its limit", MAX_BODY_BYTES)));
                        continue;
                    }
                    Frame::Bad(text) => {
                        index += 1;
                        batch.push(Err(DecodeError::new(Refusal::Unmapped, "not an ESL frame", &text)));
                        continue;
                    }
                    Frame::Message(env) => env,
                };
                match env.content_type() {
                    "auth/request" => {
                        let auth = format!("auth {}\n\n", self.settings.password.expose());
                        if let Err(e) = wr.write_all(auth.as_bytes()).await {
                            return e.into();
                        }
                    }
                    "command/reply" if !authed => {
                        let reply = env.headers.get("Reply-Text").unwrap_or("");
                        if !reply.starts_with("+OK") {
                            let message = reply.chars().take(80).collect();
                            return SessionError::LoginRefused { who: "the event socket".into(), message };
                        }
                        authed = true;
                        self.health.set_up(true);
                        tracing::info!("freeswitch source authenticated; reading the agent and tier lists");
                        asked.extend([Asked::Tiers, Asked::Agents, Asked::Members]);
                        let ask = "event plain CUSTOM callcenter::info\n\n\
                                   api callcenter_config tier list\n\n\
                                   api callcenter_config agent list\n\n\
                                   api callcenter_config queue list members\n\n";
                        if let Err(e) = wr.write_all(ask.as_bytes()).await {
                            return e.into();
                        }
                    }
                    "command/reply" => {
                        let reply = env.headers.get("Reply-Text").unwrap_or("");
                        if !reply.starts_with("+OK") {
                            tracing::warn!(reply, "freeswitch refused the event subscription");
                        }
                    }
                    "api/response" => match asked.pop_front() {
                        Some(Asked::Tiers) => {
                            if let Err(e) = mapper.tier_list(&env.body) {
                                tracing::warn!(answer = %e, "callcenter_config tier list failed (is mod_callcenter loaded?)");
                            }
                        }
                        Some(Asked::Agents) => {
                            if let Err(e) = mapper.agent_list(&env.body, receipt, &mut out) {
                                tracing::warn!(answer = %e, "callcenter_config agent list failed (is mod_callcenter loaded?)");
                            }
                        }
                        Some(Asked::Members) => {
                            if let Err(e) = mapper.members_list(&env.body, receipt, &mut out) {
                                tracing::warn!(answer = %e, "callcenter_config queue list members failed: callers waiting now are not known");
                            }
                        }
                        Some(Asked::Ping) | None => {}
                    },
                    "text/event-plain" => {
                        index += 1;
                        let event = parse_event(&env.body);
                        if event.fields.is_empty() {
                            out.push(Err(DecodeError::new(
                                Refusal::Unmapped,
                                "an event without headers",
                                &String::from_utf8_lossy(&env.body[..env.body.len().min(200)]),
                            )));
                        } else {
                            mapper.handle(&event, receipt, &mut out);
                        }
                    }
                    "text/disconnect-notice" => return SessionError::Closed,
                    other => tracing::debug!(content_type = other, "ESL frame ignored"),
                }
            }
            if let Some((agent, status)) = mapper.take_unroutable() {
                tracing::warn!(
                    agent,
                    status,
                    "freeswitch: an agent's status is available but not spelt `Available` or `Available (On Demand)`: mod_callcenter takes it, yet routes no call to it; shown idle (set by a script? further ones are not warned of)"
                );
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
}
