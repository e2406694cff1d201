//! floorwatch: real-time agent-state monitoring for contact centres.
//!
//! See ARCHITECTURE.md for the code map. Layers, arrows one way: `time`, `event` and
//! `settings` at the bottom; the pure core `floor` (accounting) and `detect` (peak and
//! rules) above them; `engine` over both; `core` (the one handle: engine, journal, alert
//! fan-out) above that; `ingest` and `server` (and `replay`, `bench`) on top.
// `deny`, not `forbid`: the one exception is `mem` (a measured win behind a safe API).
#![deny(unsafe_code)]

pub mod alert;
pub mod bench;
pub mod cluster;
pub mod config;
pub mod core;
pub mod detect;
pub mod engine;
pub mod event;
pub mod floor;
pub mod hooks;
pub mod ingest;
pub mod journal;
pub mod mem;
pub mod metrics;
pub mod net;
pub mod queue;
pub mod replay;
pub mod roster;
pub mod send;
pub mod server;
pub mod settings;
pub mod sim;
pub mod snapshot;
pub mod sources;
pub mod time;
