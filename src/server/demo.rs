//! `serve --demo`: a simulated floor feeding the daemon itself. Being wired to the simulator.
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use super::Shared;

pub async fn run(_shared: Arc<Shared>, shutdown: CancellationToken) {
    shutdown.cancelled().await;
}
