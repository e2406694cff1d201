//! The accounting core (SPEC §3): agents, timelines, windows, teams and the engine that
//! ties them to detection.

pub mod agents;
pub mod engine;
pub mod figures;
pub mod timeline;

pub use engine::{Engine, IngestCounts, OpLog, Outcome, RestoreError, Source, View, ViewOpts};
