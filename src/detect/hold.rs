//! Debounced conditions (SPEC §4.1 load peak, §4.2 aux_cluster): a condition must hold
//! throughout [t0, t0 + hold) to activate at t0 + hold, and be false throughout
//! [t1, t1 + hold) to deactivate at t1 + hold.

use crate::time::Ms;

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Hold {
    /// The condition's value since `run_start`.
    pub value: bool,
    pub run_start: Ms,
    pub active: bool,
    hold: Ms,
}

impl Hold {
    pub fn new(hold: Ms) -> Self {
        Hold { value: false, run_start: Ms::MIN, active: false, hold }
    }

    /// Takes a (possibly changed) hold duration from the configuration, e.g. after a
    /// restart restored state written under another configuration.
    pub fn set_hold(&mut self, hold: Ms) {
        self.hold = hold;
    }

    /// When the machine will switch if the condition keeps its value.
    pub fn due(&self) -> Option<Ms> {
        (self.value != self.active).then(|| self.run_start.saturating_add(self.hold))
    }

    /// The (settled) value of the condition from `at` on.
    pub fn set(&mut self, at: Ms, value: bool) {
        if value != self.value {
            self.value = value;
            self.run_start = at;
        }
    }

    /// Takes the switch due at or before `at`; returns (switch time, run start, now active).
    pub fn take_due(&mut self, at: Ms) -> Option<(Ms, Ms, bool)> {
        let due = self.due()?;
        if due > at {
            return None;
        }
        self.active = self.value;
        Some((due, self.run_start, self.active))
    }
}

/// N consecutive whole-minute evaluations (aux_dispersion, utilization_high).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Streak {
    need: u32,
    pub active: bool,
    count: u32,
    first: Ms,
}

pub enum StreakEvent {
    /// Fired at this minute; the streak began at `started_at`.
    Fire {
        started_at: Ms,
    },
    Resolve,
}

impl Streak {
    pub fn new(need: u32) -> Self {
        Streak { need: need.max(1), active: false, count: 0, first: 0 }
    }

    pub fn set_need(&mut self, need: u32) {
        self.need = need.max(1);
    }

    /// True when a `false` evaluation would change nothing (nothing pending, not active).
    pub fn idle(&self) -> bool {
        !self.active && self.count == 0
    }

    pub fn tick(&mut self, minute: Ms, cond: bool) -> Option<StreakEvent> {
        // While inactive we count true minutes; while active, false minutes.
        if cond != self.active {
            if self.count == 0 {
                self.first = minute;
            }
            self.count += 1;
            if self.count >= self.need {
                self.count = 0;
                self.active = cond;
                return Some(if cond { StreakEvent::Fire { started_at: self.first } } else { StreakEvent::Resolve });
            }
        } else {
            self.count = 0;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_just_met_and_just_missed() {
        // True over [0, 60_000): activates at 60_000 exactly.
        let mut h = Hold::new(60_000);
        h.set(0, true);
        assert_eq!(h.take_due(59_999), None);
        h.set(59_999, true);
        assert_eq!(h.take_due(60_000), Some((60_000, 0, true)));
        // Falls at 100_000, back at 159_999: never false for a full hold, stays active.
        h.set(100_000, false);
        assert_eq!(h.take_due(159_999), None);
        h.set(159_999, true);
        assert_eq!(h.due(), None);
        h.set(200_000, false);
        assert_eq!(h.take_due(260_000), Some((260_000, 200_000, false)));
    }

    #[test]
    fn streaks_count_whole_minutes() {
        let mut s = Streak::new(3);
        assert!(s.tick(0, true).is_none());
        assert!(s.tick(60_000, false).is_none());
        assert!(s.tick(120_000, true).is_none());
        assert!(s.tick(180_000, true).is_none());
        assert!(matches!(s.tick(240_000, true), Some(StreakEvent::Fire { started_at: 120_000 })));
        assert!(s.tick(300_000, false).is_none());
        assert!(s.tick(360_000, true).is_none());
        assert!(s.tick(420_000, false).is_none());
        assert!(s.tick(480_000, false).is_none());
        assert!(matches!(s.tick(540_000, false), Some(StreakEvent::Resolve)));
        assert!(s.idle());
    }
}
