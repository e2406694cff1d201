//! `serve --demo`: the built-in simulated floor feeding the daemon itself, so a new user
//! sees a live wallboard with one command. The simulator starts at today's 08:00 local
//! (at least two hours back: `sim::demo_config`);
//! everything up to now is fast-forwarded at start, the rest is paced in real time.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Shared, wall_ms};
use crate::engine::Source;
use crate::event::decode_str;

const BATCH: usize = 2048;

pub async fn run(shared: Arc<Shared>, shutdown: CancellationToken) {
    let mut sim = crate::sim::demo(wall_ms(), &shared.settings.timezone_name);
    // The simulated floor's roster goes to the engine as each shift is planned (at its
    // start), unless a roster is configured: then that one is the schedule.
    let roster = shared.config.roster_file.is_none();
    if roster {
        sim.record_roster();
    }
    tracing::info!("demo: simulated floor of 200 agents in 10 teams (fast-forwarding today so far)");
    let mut fast_forward = true;
    loop {
        let now = wall_ms();
        let mut batch = Vec::new();
        while batch.len() < BATCH && sim.next_ts().is_some_and(|ts| ts <= now) {
            let Some(line) = sim.next() else { break };
            batch.push(decode_str(&line.line, &shared.aliases));
        }
        let rows = sim.take_roster();
        if !rows.is_empty() {
            let up = crate::sim::roster_upload(&rows);
            if let Err(e) = shared.engine().upload_roster(&up) {
                tracing::warn!("demo: the simulated roster was refused: {e}");
            }
        }
        if !batch.is_empty() {
            shared.core.apply(batch, Source::Demo);
            tokio::task::yield_now().await;
            continue;
        }
        if fast_forward {
            fast_forward = false;
            tracing::info!("demo: caught up with the present; events now arrive in real time");
        }
        let wait = sim.next_ts().map(|ts| (ts - now).clamp(10, 500) as u64).unwrap_or(500);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
        }
    }
}
