//! Ingest transports. TCP NDJSON lives here (framing in `lines`, the listener in `tcp`);
//! WebSocket `/ingest` and `POST /api/v1/events` are warp routes in `server::routes`. All
//! of them decode at the edge. TCP and WebSocket queue their batches to the applier thread
//! (`apply`); HTTP, which answers with the outcome, applies with `Shared::apply_journaled`.

pub mod apply;
pub mod lines;
pub mod tcp;
