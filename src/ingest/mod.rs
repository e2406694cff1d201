//! Ingest transports. TCP NDJSON lives here (framing in `lines`, the listener in `tcp`);
//! WebSocket `/ingest` and `POST /api/v1/events` are warp routes in `server::routes`. All
//! of them decode at the edge and hand batches to `Shared::apply_batch`.

pub mod lines;
pub mod tcp;
