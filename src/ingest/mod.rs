//! Ingest transports. TCP NDJSON lives here (framing in `lines`, the listener in `tcp`);
//! WebSocket `/ingest` and `POST /api/v1/events` are warp routes in `server::routes`. All
//! of them decode at the edge and submit to the [`Core`](crate::core::Core): TCP and
//! WebSocket through the applier thread (`apply`), HTTP, which answers with the outcome,
//! directly.

pub mod apply;
pub mod errors;
pub mod lines;
pub mod tcp;

use std::sync::Arc;

use dashmap::DashMap;

/// Open ingest connections per source (a gauge), updated by the connection tasks.
#[derive(Default)]
pub struct Connections(DashMap<&'static str, i64>);

impl Connections {
    pub fn counts(&self) -> Vec<(&'static str, i64)> {
        ["tcp", "ws"].iter().map(|s| (*s, self.0.get(s).map(|v| *v).unwrap_or(0))).collect()
    }
}

/// Counts a connection open for as long as it lives, however it ends.
pub struct ConnGuard {
    connections: Arc<Connections>,
    source: &'static str,
}

impl ConnGuard {
    pub fn new(connections: Arc<Connections>, source: &'static str) -> Self {
        *connections.0.entry(source).or_insert(0) += 1;
        ConnGuard { connections, source }
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        *self.connections.0.entry(self.source).or_insert(0) -= 1;
    }
}
