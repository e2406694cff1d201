//! Sums of ended calls over a window and the ratios made from them (SPEC §8.2).

use crate::settings::{QueueSettings, SlMode};
use crate::time::Ms;

/// How a call stopped waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Ending {
    Answered,
    Abandoned,
    Left,
}

impl Ending {
    pub const ALL: [Ending; 3] = [Ending::Answered, Ending::Abandoned, Ending::Left];

    pub fn as_str(self) -> &'static str {
        match self {
            Ending::Answered => "answered",
            Ending::Abandoned => "abandoned",
            Ending::Left => "left",
        }
    }
}

/// Integer sums over the calls that ended in a window; ratios come from these.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallSums {
    pub answered: u64,
    pub abandoned: u64,
    pub left: u64,
    /// Abandoned with wait under `short_abandon_secs`.
    pub short_abandoned: u64,
    /// Answered with wait at or under `sl_secs`.
    pub answered_in_sl: u64,
    /// Total wait of the answered calls, for the ASA.
    pub answered_wait_ms: i64,
}

impl CallSums {
    /// One call that waited `wait` ms and ended so, classified under `s`.
    pub fn one(ending: Ending, wait: Ms, s: &QueueSettings) -> CallSums {
        let mut c = CallSums::default();
        match ending {
            Ending::Answered => {
                c.answered = 1;
                c.answered_in_sl = (wait <= s.sl_ms) as u64;
                c.answered_wait_ms = wait;
            }
            Ending::Abandoned => {
                c.abandoned = 1;
                c.short_abandoned = (wait < s.short_abandon_ms) as u64;
            }
            Ending::Left => c.left = 1,
        }
        c
    }

    pub fn add(&mut self, o: &CallSums) {
        self.answered += o.answered;
        self.abandoned += o.abandoned;
        self.left += o.left;
        self.short_abandoned += o.short_abandoned;
        self.answered_in_sl += o.answered_in_sl;
        self.answered_wait_ms += o.answered_wait_ms;
    }

    /// `self - o`, for prefix sums (`o` is a prefix of `self`).
    pub fn minus(&self, o: &CallSums) -> CallSums {
        CallSums {
            answered: self.answered - o.answered,
            abandoned: self.abandoned - o.abandoned,
            left: self.left - o.left,
            short_abandoned: self.short_abandoned - o.short_abandoned,
            answered_in_sl: self.answered_in_sl - o.answered_in_sl,
            answered_wait_ms: self.answered_wait_ms - o.answered_wait_ms,
        }
    }

    pub fn offered(&self) -> u64 {
        self.answered + self.abandoned + self.left
    }

    /// `answered + abandoned - short_abandoned`: the calls service level and abandon rate
    /// are judged on (and `service_level_low`'s `min_calls` counts).
    pub fn judged(&self) -> u64 {
        self.answered + self.abandoned - self.short_abandoned
    }

    pub fn service_level(&self, mode: SlMode) -> Option<f64> {
        let den = match mode {
            SlMode::WithAbandons => self.judged(),
            SlMode::AnsweredOnly => self.answered,
        };
        ratio(self.answered_in_sl, den)
    }

    pub fn abandon_rate(&self) -> Option<f64> {
        ratio(self.abandoned - self.short_abandoned, self.judged())
    }

    /// Mean wait of the answered calls, seconds.
    pub fn asa_s(&self) -> Option<f64> {
        (self.answered > 0).then(|| self.answered_wait_ms as f64 / 1000.0 / self.answered as f64)
    }
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// A queue (or the floor's queues summed) at `now`: current and per window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueueFigures {
    pub waiting: u64,
    /// When the oldest call waiting at `now` was queued.
    pub oldest_since: Option<Ms>,
    /// Per configured window but `peak_today` (in the order of [`crate::settings::Settings::windows`]
    /// without it).
    pub windows: Vec<CallSums>,
}

impl QueueFigures {
    pub fn longest_wait_ms(&self, now: Ms) -> Option<Ms> {
        self.oldest_since.map(|s| now - s)
    }

    /// Adds another queue's figures (the floor's sums; the longest wait is the longest).
    pub fn add(&mut self, o: &QueueFigures) {
        self.waiting += o.waiting;
        self.oldest_since = match (self.oldest_since, o.oldest_since) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if self.windows.len() < o.windows.len() {
            self.windows.resize(o.windows.len(), CallSums::default());
        }
        for (a, b) in self.windows.iter_mut().zip(&o.windows) {
            a.add(b);
        }
    }
}
