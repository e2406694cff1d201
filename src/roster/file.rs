//! The `[roster] file` as the schedule of the days it covers (docs/adherence.md): read at
//! start, on a change and on SIGHUP, it applies only the agent-days whose rows differ from
//! the file as last applied. So a correction entered with `PUT /api/v1/roster` outlives a
//! restart, a `SIGHUP` or the file touched, as long as the file's rows for that agent and
//! day stay as they were; an agent taken out of the file for a day the file still covers
//! is unscheduled that day; days the file no longer covers (a daily export that moved on)
//! stay as they were.

use std::collections::{BTreeSet, HashMap};

use compact_str::CompactString;

use super::parse::{DAY_OFF, Upload, owning_starts};
use super::{Roster, Row};
use crate::time::Ms;

/// What a read of the file changed: agent-days applied (their rows differ, or they are
/// new), cleared (taken out of a day the file still covers) and left as they were.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileApplied {
    pub changed: usize,
    pub cleared: usize,
    pub unchanged: usize,
    /// What of the changed agent-days' activities lies outside every shift (told).
    pub outside: Option<String>,
}

/// The file's agent-days: `(agent, day)` → a digest of its rows, in the file's order.
pub type FileDays = Vec<(CompactString, i32, u64)>;

/// FNV-1a, 64 bits: a digest that stays the same across builds and restarts (the map of
/// the file as last applied is kept in the journal's state snapshot).
fn digest(rows: &[&Row]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for r in rows {
        eat(&r.start.to_le_bytes());
        eat(&r.end.to_le_bytes());
        match &r.act {
            None => eat(&[0]),
            Some(a) => {
                eat(&[1]);
                eat(a.as_bytes());
                eat(&[0xff]);
            }
        }
    }
    h
}

/// The agent-days of `up` (a row's day by [`owning_starts`] and `day_of`), with their rows
/// in the upload's order.
fn agent_days<'a>(up: &'a Upload, day_of: &mut dyn FnMut(Ms) -> i32) -> Vec<(&'a CompactString, i32, Vec<&'a Row>)> {
    let mut out = Vec::new();
    for (id, rows) in &up.agents {
        let mut by_day: Vec<(i32, Vec<&Row>)> = Vec::new();
        for (r, owner) in rows.iter().zip(owning_starts(rows)) {
            let day = day_of(owner);
            match by_day.iter_mut().find(|(d, _)| *d == day) {
                Some((_, v)) => v.push(r),
                None => by_day.push((day, vec![r])),
            }
        }
        out.extend(by_day.into_iter().map(|(d, v)| (id, d, v)));
    }
    out
}

impl Roster {
    /// What of the file `up` to apply: the rows of its agent-days that differ from the file
    /// as last applied, and a day off for each agent-day the last one had on a day `up`
    /// still covers but `up` no longer has; with `up`'s digests (for
    /// [`Roster::file_applied`] once the upload is in) and the count of each kind.
    pub fn file_changes(&self, up: &Upload, day_of: &mut dyn FnMut(Ms) -> i32) -> (Upload, FileDays, FileApplied) {
        let days = agent_days(up, day_of);
        let covered: BTreeSet<i32> = days.iter().map(|(_, d, _)| *d).collect();
        let mut count = FileApplied::default();
        let mut changes: Vec<(CompactString, Vec<Row>)> = Vec::new();
        let mut index: HashMap<CompactString, usize> = HashMap::new();
        let mut add = |id: &CompactString, rows: &mut dyn Iterator<Item = Row>| {
            let i = *index.entry(id.clone()).or_insert_with(|| {
                changes.push((id.clone(), Vec::new()));
                changes.len() - 1
            });
            changes[i].1.extend(rows);
        };
        let mut digests: FileDays = Vec::with_capacity(days.len());
        let mut present: std::collections::HashSet<(u32, i32)> = Default::default();
        for (id, day, rows) in &days {
            let d = digest(rows);
            let slot = self.index.get(id.as_str()).copied();
            if let Some(s) = slot {
                present.insert((s, *day));
            }
            if slot.is_some_and(|s| self.file_days.get(&(s, *day)) == Some(&d)) {
                count.unchanged += 1;
            } else {
                count.changed += 1;
                add(id, &mut rows.iter().map(|&r| r.clone()));
            }
            digests.push(((*id).clone(), *day, d));
        }
        let mut gone: Vec<(u32, i32)> = self
            .file_days
            .keys()
            .filter(|(s, d)| covered.contains(d) && !present.contains(&(*s, *d)))
            .copied()
            .collect();
        gone.sort_unstable();
        for (slot, day) in gone {
            count.cleared += 1;
            let start = Ms::from(day) * 60_000;
            let off = Row { start, end: start + 1, act: Some(DAY_OFF.into()) };
            add(&self.agents[slot as usize].id, &mut std::iter::once(off));
        }
        (Upload { agents: changes }, digests, count)
    }

    /// The file as applied now: its agent-days' digests (those of agents the roster never
    /// scheduled, days off only, are not kept: they changed nothing).
    pub fn file_applied(&mut self, digests: FileDays) {
        self.file_days.clear();
        for (id, day, d) in digests {
            if let Some(&slot) = self.index.get(id.as_str()) {
                self.file_days.insert((slot, day), d);
            }
        }
    }

    /// The file's agent-days as last applied, for the journal's state snapshot.
    pub(super) fn stored_file_days(&self) -> Vec<(u32, i32, u64)> {
        let mut v: Vec<(u32, i32, u64)> = self.file_days.iter().map(|(&(s, day), &d)| (s, day, d)).collect();
        v.sort_unstable();
        v
    }
}
