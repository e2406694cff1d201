//! Detection (SPEC §4): peak time and the alert rules. Pure, like the accounting core.

pub mod aht_chart;
pub mod binomial;
pub mod calendar;
pub mod hold;
pub mod team;
