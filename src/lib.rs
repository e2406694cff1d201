//! floorwatch: real-time agent-state monitoring for contact centres.
//!
//! See ARCHITECTURE.md for the code map. The pure core is `event` → `floor` → `detect`;
//! everything that does I/O (ingest, http, metrics, hooks, journal, sim) sits around it.
#![forbid(unsafe_code)]

pub mod alert;
pub mod bench;
pub mod config;
pub mod detect;
pub mod event;
pub mod floor;
pub mod hooks;
pub mod ingest;
pub mod journal;
pub mod metrics;
pub mod replay;
pub mod send;
pub mod server;
pub mod sim;
pub mod snapshot;
pub mod time;
