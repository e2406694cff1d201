//! Window figures (SPEC §3.1, §3.3): sums of milliseconds and contacts, the ratios computed
//! from those sums (time-weighted, never a mean of ratios), and dispersion across members.

use serde::Serialize;
use serde::ser::SerializeMap;

use super::timeline::{ContactSums, Durations, Kind, Mark, Timeline};
use crate::roster::AdhSums;
use crate::time::Ms;

/// Sums for one agent, team or the floor over one window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sums {
    pub ms: Durations,
    pub contacts: ContactSums,
    /// Schedule figures (SPEC §9.2): zero for agents without a roster.
    pub adh: AdhSums,
    /// Logged-in time of the agents with a roster: their staffed time is their scheduled
    /// time instead (`staffed`).
    pub rostered_logged: Ms,
}

impl Sums {
    /// One timeline's sums over `[from, to)`, with the contacts completed in `[from, to)`,
    /// or in `[from, to]` when `to_inclusive` (a window ending at now counts those at now).
    pub fn over(tl: &Timeline, from: Ms, to: Ms, to_inclusive: bool) -> Sums {
        let (ms, contacts) = tl.window(from, to, to_inclusive);
        Sums { ms, contacts, adh: AdhSums::default(), rostered_logged: 0 }
    }

    /// Makes these an agent's sums with a roster: its schedule figures in, aux its schedule
    /// allowed moved to planned, staffed time from the schedule (SPEC §9.2).
    pub fn with_schedule(&mut self, adh: AdhSums) {
        let moved = adh.scheduled_aux.min(self.ms[Kind::AuxUnplanned as usize]);
        self.ms[Kind::AuxUnplanned as usize] -= moved;
        self.ms[Kind::AuxPlanned as usize] += moved;
        self.adh = adh;
        self.rostered_logged = self.logged_in();
    }

    /// `scheduled_s` for agents with a roster, `logged_in_s` for the others.
    pub fn staffed(&self) -> Ms {
        self.logged_in() - self.rostered_logged + self.adh.scheduled
    }
    pub fn adherence(&self) -> Option<f64> {
        ratio(self.adh.in_adherence, self.adh.scheduled)
    }
    pub fn conformance(&self) -> Option<f64> {
        ratio(self.adh.conform, self.adh.work)
    }

    /// [`Sums::over`], the start found from `mark` ([`Timeline::window_marked`]).
    #[inline(always)]
    pub fn over_marked(tl: &Timeline, mark: &mut Mark, from: Ms, to: Ms, to_inclusive: bool) -> Sums {
        let (ms, contacts) = tl.window_marked(mark, from, to, to_inclusive);
        Sums { ms, contacts, adh: AdhSums::default(), rostered_logged: 0 }
    }

    pub fn add(&mut self, o: &Sums) {
        for (a, b) in self.ms.iter_mut().zip(o.ms) {
            *a += b;
        }
        self.contacts.add(o.contacts);
        self.adh.add(&o.adh);
        self.rostered_logged += o.rostered_logged;
    }

    fn get(&self, k: Kind) -> Ms {
        self.ms[k as usize]
    }

    pub fn talking(&self) -> Ms {
        self.get(Kind::Talking)
    }
    pub fn acw(&self) -> Ms {
        self.get(Kind::Acw)
    }
    pub fn aux(&self) -> Ms {
        self.get(Kind::AuxUnplanned) + self.get(Kind::AuxPlanned)
    }
    pub fn planned_aux(&self) -> Ms {
        self.get(Kind::AuxPlanned)
    }
    pub fn unplanned_aux(&self) -> Ms {
        self.get(Kind::AuxUnplanned)
    }
    pub fn idle(&self) -> Ms {
        self.get(Kind::Idle)
    }
    pub fn offline(&self) -> Ms {
        self.get(Kind::Offline)
    }
    pub fn logged_in(&self) -> Ms {
        self.talking() + self.acw() + self.aux() + self.idle()
    }

    /// `talking / staffed`; staffed is logged-in time, or scheduled time with a roster.
    pub fn talk_utilization(&self) -> Option<f64> {
        ratio(self.talking(), self.staffed())
    }
    pub fn aux_ratio(&self) -> Option<f64> {
        ratio(self.unplanned_aux(), self.logged_in())
    }
    pub fn planned_aux_ratio(&self) -> Option<f64> {
        ratio(self.planned_aux(), self.logged_in())
    }
    pub fn idle_ratio(&self) -> Option<f64> {
        ratio(self.idle(), self.logged_in())
    }
    pub fn acw_ratio(&self) -> Option<f64> {
        ratio(self.acw(), self.logged_in())
    }
    pub fn occupancy(&self) -> Option<f64> {
        ratio(self.talking() + self.acw(), self.talking() + self.acw() + self.idle())
    }
    pub fn aht_s(&self) -> Option<f64> {
        (self.contacts.n > 0).then(|| self.contacts.handle_ms as f64 / 1000.0 / self.contacts.n as f64)
    }
}

pub fn ratio(num: Ms, den: Ms) -> Option<f64> {
    (den != 0).then(|| num as f64 / den as f64)
}

pub fn secs(ms: Ms) -> f64 {
    ms as f64 / 1000.0
}

/// Mean, population standard deviation and coefficient of variation of a set of values.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Spread {
    pub mean: Option<f64>,
    pub std: Option<f64>,
    pub cv: Option<f64>,
}

/// Fixed-point scale of [`Spread::of`]'s sums: each term is rounded to a multiple of
/// 2^-60, then the terms are added exactly (in `i128`), so the result does not depend on
/// the order of the values. Floating-point sums do (in the last bits), and members are met
/// in an order that depends on the order agents first arrived: the same events delivered
/// late or over several connections must give the same figures to the bit.
const SCALE: f64 = (1u64 << 60) as f64;

/// `t` in fixed point: `(t * SCALE).round()` as an integer. Ratios (the usual terms, at
/// most 1) fit an `i64`, whose conversion is one instruction; the `i128` one is a library
/// call, a tenth of a scrape of 100,000 agents (BENCHMARKS.md, session 7). Same value.
fn fixed(t: f64) -> i128 {
    let x = t * SCALE;
    if x.abs() < 9.0e18 {
        // `round` (half away from zero) without the library call: truncate, then step by
        // the fraction, which is exact (below 2^53 by Sterbenz; above, `x` is whole).
        // Without branches: whether a term rounds up is a coin toss, and a mispredicted
        // branch per term was most of a floor's dispersion time.
        let i = x as i64;
        let frac = x - i as f64;
        i128::from(i + i64::from(frac >= 0.5) - i64::from(frac <= -0.5))
    } else {
        x.round() as i128
    }
}

impl Spread {
    /// Mean, population standard deviation and CV of `values` (finite, |v| < 2^60),
    /// independent of their order.
    pub fn of(values: &[f64]) -> Spread {
        Spread::of_sum(SpreadSum::of(values), values.iter().copied())
    }

    /// [`Spread::of`] of `values`, whose count and fixed-point sum `sum` already holds
    /// (the floor's values are its teams': their sums add up to the floor's exactly).
    pub fn of_sum(sum: SpreadSum, values: impl Iterator<Item = f64>) -> Spread {
        let mean = sum.mean();
        Spread::of_deviations(sum, values.map(|v| SpreadSum::deviation(v, mean)).sum())
    }

    /// [`Spread::of`] of values whose count and sum `sum` holds, and the sum of whose
    /// [`SpreadSum::deviation`]s from `sum.mean()` is `deviations`: the sums may be added
    /// up in any order, over any parts of the values, with the same result to the bit.
    pub fn of_deviations(sum: SpreadSum, deviations: i128) -> Spread {
        if sum.n == 0 {
            return Spread::default();
        }
        let mean = sum.mean();
        let var = deviations as f64 / SCALE / sum.n as f64;
        let std = var.sqrt();
        let cv = (sum.n >= 2 && mean != 0.0).then(|| std / mean);
        Spread { mean: Some(mean), std: Some(std), cv }
    }
}

/// How many values, and their sum in fixed point ([`fixed`]): what [`Spread`]'s mean is
/// made of. Sums of disjoint sets add up to the sum of their union, exactly.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SpreadSum {
    pub n: usize,
    pub sum: i128,
}

impl SpreadSum {
    pub fn of(values: &[f64]) -> SpreadSum {
        SpreadSum { n: values.len(), sum: values.iter().copied().map(fixed).sum() }
    }

    pub fn add(&mut self, o: SpreadSum) {
        self.n += o.n;
        self.sum += o.sum;
    }

    pub fn push(&mut self, v: f64) {
        self.n += 1;
        self.sum += fixed(v);
    }

    /// The mean of the values (NaN for none).
    pub fn mean(&self) -> f64 {
        self.sum as f64 / SCALE / self.n as f64
    }

    /// `v`'s squared deviation from `mean` in fixed point, as [`Spread`]'s variance adds it.
    pub fn deviation(v: f64, mean: f64) -> i128 {
        fixed((v - mean) * (v - mean))
    }
}

/// Dispersion of members' aux ratio and talk utilization over the members qualifying
/// (logged in at least `dispersion_min_logged_secs` in the window).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Dispersion {
    pub aux: Spread,
    pub talk: Spread,
}

/// Which members count toward a dispersion, and with what ratios (a view keeps their
/// sums per team, `engine::view`).
pub struct Qualifying;

impl Qualifying {
    /// A member's aux ratio and talk utilization over a window if its sums qualify it
    /// (logged in at least `min_logged_ms`, and at all: then the aux ratio is a number).
    /// The utilization is NaN for a member with a roster and no scheduled time in the
    /// window: it is left out of the utilization figures only (SPEC §9.2).
    pub fn ratios(s: &Sums, min_logged_ms: Ms) -> Option<(f64, f64)> {
        if s.logged_in() >= min_logged_ms && s.logged_in() > 0 {
            Some((s.aux_ratio()?, s.talk_utilization().unwrap_or(f64::NAN)))
        } else {
            None
        }
    }
}

/// The JSON form of one window's figures (SPEC §3.1 names; teams and floor add §3.3).
pub struct FiguresJson<'a> {
    pub sums: &'a Sums,
    pub dispersion: Option<&'a Dispersion>,
}

impl Serialize for FiguresJson<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let s = self.sums;
        let mut m = ser.serialize_map(None)?;
        m.serialize_entry("talking_s", &secs(s.talking()))?;
        m.serialize_entry("acw_s", &secs(s.acw()))?;
        m.serialize_entry("aux_s", &secs(s.aux()))?;
        m.serialize_entry("planned_aux_s", &secs(s.planned_aux()))?;
        m.serialize_entry("idle_s", &secs(s.idle()))?;
        m.serialize_entry("offline_s", &secs(s.offline()))?;
        m.serialize_entry("logged_in_s", &secs(s.logged_in()))?;
        m.serialize_entry("talk_utilization", &s.talk_utilization())?;
        m.serialize_entry("aux_ratio", &s.aux_ratio())?;
        m.serialize_entry("planned_aux_ratio", &s.planned_aux_ratio())?;
        m.serialize_entry("idle_ratio", &s.idle_ratio())?;
        m.serialize_entry("acw_ratio", &s.acw_ratio())?;
        m.serialize_entry("occupancy", &s.occupancy())?;
        m.serialize_entry("contacts", &s.contacts.n)?;
        m.serialize_entry("aht_s", &s.aht_s())?;
        m.serialize_entry("staffed_s", &secs(s.staffed()))?;
        m.serialize_entry("scheduled_s", &secs(s.adh.scheduled))?;
        m.serialize_entry("in_adherence_s", &secs(s.adh.in_adherence))?;
        m.serialize_entry("adherence", &s.adherence())?;
        m.serialize_entry("conformance", &s.conformance())?;
        if let Some(d) = self.dispersion {
            m.serialize_entry("aux_ratio_mean", &d.aux.mean)?;
            m.serialize_entry("aux_ratio_std", &d.aux.std)?;
            m.serialize_entry("aux_ratio_cv", &d.aux.cv)?;
            m.serialize_entry("talk_utilization_mean", &d.talk.mean)?;
            m.serialize_entry("talk_utilization_std", &d.talk.std)?;
            m.serialize_entry("talk_utilization_cv", &d.talk.cv)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The floor's spread from its teams' sums is the spread of all its values, to the
        /// bit, however the values are split into teams (and in whatever order).
        #[test]
        fn a_spread_from_its_groups_sums_is_the_whole_spread(
            groups in prop::collection::vec(prop::collection::vec(0.0f64..1.0, 0..40), 0..12),
        ) {
            let all: Vec<f64> = groups.iter().flatten().copied().collect();
            let mut sum = SpreadSum::default();
            for g in groups.iter().rev() {
                sum.add(SpreadSum::of(g));
            }
            prop_assert_eq!(sum, SpreadSum::of(&all));
            let reversed: Vec<f64> = all.iter().rev().copied().collect();
            prop_assert_eq!(Spread::of_sum(sum, reversed.into_iter()), Spread::of(&all));
        }
    }

    #[test]
    fn spread_matches_the_textbook_formulas() {
        let s = Spread::of(&[0.0, 1.0 / 3.0]);
        assert!((s.mean.unwrap() - 1.0 / 6.0).abs() < 1e-15);
        assert!((s.std.unwrap() - 1.0 / 6.0).abs() < 1e-15);
        assert!((s.cv.unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(Spread::of(&[0.5]).cv, None);
        assert_eq!(Spread::of(&[0.0, 0.0]).cv, None);
        assert_eq!(Spread::of(&[]), Spread::default());
    }

    /// Any order of the same values gives the same bits (floating-point sums do not).
    #[test]
    fn spread_does_not_depend_on_the_order_of_the_values() {
        let mut v: Vec<f64> = (1..200u64).map(|i| ((i * 2_654_435_761) % 1_000_003) as f64 / 1_000_003.0).collect();
        let a = Spread::of(&v);
        v.reverse();
        assert_eq!(Spread::of(&v), a);
        v.sort_by(|x, y| x.total_cmp(y));
        assert_eq!(Spread::of(&v), a);
        let naive_mean = v.iter().sum::<f64>() / v.len() as f64;
        assert!((a.mean.unwrap() - naive_mean).abs() < 1e-15);
    }

    /// The fixed-point conversion is `(t * SCALE).round() as i128` on both sides of the
    /// `i64` range and at its edge.
    #[test]
    fn fixed_point_terms_equal_the_wide_conversion() {
        let halves = [0.5, 1.5, 2.5, -0.5, -1.5, 0.49999999999999994, -0.49999999999999994, 4503599627370495.5];
        let edge =
            [0.0, 1.0, -1.0, 0.5, 1.0 / 3.0, 7.9, -7.9, 8.0, 1e3, -1e3, 2e-19, 1.5e9, 9.3e18 / SCALE, -9.3e18 / SCALE];
        for t in edge.into_iter().chain(halves.iter().map(|h| h / SCALE)) {
            assert_eq!(fixed(t), (t * SCALE).round() as i128, "{t}");
        }
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Every magnitude, so that `t * SCALE` has every kind of fraction.
            let t = ((x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) / (1u64 << (x % 64)) as f64;
            assert_eq!(fixed(t), (t * SCALE).round() as i128, "{t}");
        }
    }

    #[test]
    fn ratios_are_null_on_zero_denominators() {
        let s = Sums::default();
        assert_eq!((s.talk_utilization(), s.aux_ratio(), s.occupancy(), s.aht_s()), (None, None, None, None));
    }
}
