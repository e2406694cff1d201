//! The accounting core (SPEC §3): agents, their timelines and windows, teams' current
//! membership and counts, and the figures made of them.

pub mod agents;
pub mod figures;
pub mod teams;
pub mod timeline;
