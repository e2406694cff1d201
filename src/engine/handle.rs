//! A team's handle times (SPEC §3.2): exact Prometheus buckets and sum for
//! `floorwatch_handle_time_seconds` (§5.4), and a small HDR histogram for the percentiles.
//!
//! Both are updated when a contact completes, in O(1), so `/metrics` reads them as they are:
//! no walk of HDR bins per scrape, and nothing approximated that Prometheus shows.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Upper bounds of `floorwatch_handle_time_seconds` (seconds), SPEC §5.4.
pub const HANDLE_BUCKETS_S: [u64; 12] = [30, 60, 120, 180, 240, 300, 420, 600, 900, 1200, 1800, 3600];

/// Range of the percentile histogram: 1 ms to (at least) one day. Its bins actually reach
/// 2^27 ms (37 h): a handle time up to that is kept as it is, a longer one as one day (the
/// buckets and the sum still count it exactly).
const HDR_LOWEST_MS: u64 = 1;
const HDR_HIGHEST_MS: u64 = 86_400_000;

/// Significant digits of the percentile histogram. Two keep every percentile within 1/128
/// (< 0.8%) of the recorded value, finer than anyone reads a handle-time percentile, in
/// 2,688 bins: with `u32` counts (4 billion contacts per bin) 10,752 bytes per team, where
/// three digits in `u64` counts took 147,456 (18,432 bins) — 295 MB of the 1 GiB budget
/// at 2,000 teams, now 21.5 MB.
const HDR_SIGFIG: u8 = 2;

/// Handle times of the contacts completed in one team, in milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HandleTimes {
    /// Contacts per bucket, not cumulative: `[i]` counts handle times in
    /// (`HANDLE_BUCKETS_S[i - 1]`, `HANDLE_BUCKETS_S[i]`] seconds (`le` is inclusive), the
    /// last one those above the largest bound.
    per_bucket: [u64; HANDLE_BUCKETS_S.len() + 1],
    /// Exact sum of the handle times. `u128`: no run of contacts can overflow it.
    sum_ms: u128,
    /// For percentiles only; see `HDR_SIGFIG`.
    #[serde(with = "super::persist::histogram")]
    hdr: Histogram<u32>,
    /// The median and 90th percentile as last read, and the count they were read at.
    #[serde(skip)]
    read: Read,
}

/// A team's p50 and p90 as last read: they move only when a contact completes, and a
/// floor's view reads 2,000 teams' (walking each histogram's bins was 4% of a floor
/// snapshot, on one thread).
#[derive(Debug, Default)]
struct Read(std::sync::Mutex<Option<(u64, [Option<u64>; 2])>>);

impl Read {
    fn get(&self) -> Option<(u64, [Option<u64>; 2])> {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clone for Read {
    fn clone(&self) -> Self {
        Read(std::sync::Mutex::new(self.get()))
    }
}

/// Derived from the histogram: never what tells two handle times apart.
impl PartialEq for Read {
    fn eq(&self, _: &Read) -> bool {
        true
    }
}

/// An empty percentile histogram of handle times (also what a restore fills).
pub(super) fn new_hdr() -> Histogram<u32> {
    Histogram::new_with_bounds(HDR_LOWEST_MS, HDR_HIGHEST_MS, HDR_SIGFIG).expect("valid histogram bounds")
}

impl Default for HandleTimes {
    fn default() -> Self {
        HandleTimes { per_bucket: [0; HANDLE_BUCKETS_S.len() + 1], sum_ms: 0, hdr: new_hdr(), read: Read::default() }
    }
}

impl HandleTimes {
    /// Records one completed contact's handle time.
    pub fn record(&mut self, ms: u64) {
        let i = HANDLE_BUCKETS_S.partition_point(|&b| b * 1000 < ms);
        self.per_bucket[i] += 1;
        self.sum_ms += u128::from(ms);
        // The HDR's lowest bin is 1 ms; a zero-length contact counts there.
        self.hdr.saturating_record(ms.max(HDR_LOWEST_MS));
    }

    /// Cumulative counts at each of `HANDLE_BUCKETS_S` (the `+Inf` one is [`Self::count`]).
    pub fn cumulative(&self) -> [u64; HANDLE_BUCKETS_S.len()] {
        let mut out = [0; HANDLE_BUCKETS_S.len()];
        let mut running = 0;
        for (c, n) in out.iter_mut().zip(self.per_bucket) {
            running += n;
            *c = running;
        }
        out
    }

    /// Contacts recorded.
    pub fn count(&self) -> u64 {
        self.per_bucket.iter().sum()
    }

    /// Exact sum of the recorded handle times.
    pub fn sum_ms(&self) -> u128 {
        self.sum_ms
    }

    /// The handle time at quantile `q` (within 1%, see `HDR_SIGFIG`), `None` before the
    /// first contact.
    pub fn quantile_ms(&self, q: f64) -> Option<u64> {
        (!self.hdr.is_empty()).then(|| self.hdr.value_at_quantile(q))
    }

    /// `[quantile_ms(0.5), quantile_ms(0.9)]`, read again only after a contact completed.
    pub fn p50_p90(&self) -> [Option<u64>; 2] {
        let n = self.hdr.len();
        if let Some((at, q)) = self.read.get().filter(|&(at, _)| at == n) {
            debug_assert_eq!(q, [self.quantile_ms(0.5), self.quantile_ms(0.9)], "percentiles read at {at}");
            return q;
        }
        let q = [self.quantile_ms(0.5), self.quantile_ms(0.9)];
        *self.read.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((n, q));
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::Counter;

    fn of(values_ms: &[u64]) -> HandleTimes {
        let mut h = HandleTimes::default();
        for &v in values_ms {
            h.record(v);
        }
        h
    }

    /// Bytes of the histogram's counts array, whatever its counter type.
    fn counts_bytes<T: Counter>(h: &Histogram<T>) -> usize {
        h.distinct_values() * size_of::<T>()
    }

    #[test]
    fn a_teams_handle_times_take_about_ten_kilobytes() {
        let h = HandleTimes::default();
        // 2,688 bins × 4 bytes; three digits in u64 counts was 18,432 × 8 = 147,456.
        assert_eq!(counts_bytes(&h.hdr), 10_752);
        assert!(size_of::<HandleTimes>() < 512, "{} bytes inline", size_of::<HandleTimes>());
    }

    /// The percentiles kept between reads are those of the histogram as it is now: read
    /// again once a contact completed.
    #[test]
    fn kept_percentiles_follow_the_contacts() {
        let mut h = HandleTimes::default();
        assert_eq!(h.p50_p90(), [None, None]);
        for (i, v) in [300_000u64, 10_000, 20_000, 900_000, 5_000, 5_000, 5_000].into_iter().enumerate() {
            h.record(v);
            let want = [h.quantile_ms(0.5), h.quantile_ms(0.9)];
            assert_eq!(h.p50_p90(), want, "after {} contacts", i + 1);
            assert_eq!(h.p50_p90(), want, "read twice");
            assert_eq!(h.clone().p50_p90(), want, "a copy");
        }
        assert_eq!(h.p50_p90()[0], h.quantile_ms(0.5));
        assert!(h.p50_p90()[1].unwrap() > h.p50_p90()[0].unwrap(), "the values differ: a stale read would show");
    }

    #[test]
    fn bounds_are_inclusive_and_the_sum_is_exact() {
        let values = [0, 29_999, 30_000, 30_001, 3_600_000, 3_600_001, 200_000_000];
        let h = of(&values);
        assert_eq!(h.cumulative(), [3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 5]);
        assert_eq!(h.count(), 7);
        assert_eq!(h.sum_ms(), values.iter().map(|&v| u128::from(v)).sum::<u128>());
        // Beyond its bins the percentile histogram saturates; the buckets and sum do not.
        assert_eq!(h.quantile_ms(1.0), Some(h.hdr.highest_equivalent(HDR_HIGHEST_MS)));
    }

    #[test]
    fn nothing_recorded_has_no_percentiles() {
        let h = HandleTimes::default();
        assert_eq!((h.count(), h.sum_ms(), h.quantile_ms(0.5)), (0, 0, None));
        assert_eq!(h.cumulative(), [0; 12]);
    }

    #[test]
    fn percentiles_are_within_one_percent() {
        // 2,001 handle times from 8 s to about 2 h, spread unevenly (a quadratic ramp).
        let mut values: Vec<u64> = (0..=2000u64).map(|i| 8_000 + i * i * 9 / 5 + i * 37).collect();
        let h = of(&values);
        values.sort_unstable();
        for q in [0.5, 0.9, 0.1, 0.99] {
            // Nearest rank, as HdrHistogram counts it.
            let exact = values[((q * values.len() as f64).ceil() as usize).max(1) - 1];
            let got = h.quantile_ms(q).unwrap();
            let err = got.abs_diff(exact) as f64 / exact as f64;
            assert!(err <= 0.01, "q {q}: {got} vs exact {exact} ({:.3}%)", err * 100.0);
        }
    }
}
