//! Local time: midnight of "today" and the configured daily peak windows, in the configured
//! IANA time zone (DST-aware: a local day may last 23 or 25 hours). Results are cached
//! per local day, since the detectors ask on every step.

use jiff::civil::{Date, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Timestamp, ToSpan};

use crate::time::Ms;

#[derive(Clone, Debug)]
struct Day {
    start: Ms,
    end: Ms,
    /// Merged configured peak intervals of the previous, this and the next local day.
    peaks: Vec<(Ms, Ms)>,
}

#[derive(Clone, Debug)]
pub struct Calendar {
    tz: TimeZone,
    windows: Vec<(Ms, Ms)>,
    day: Option<Day>,
}

fn local_instant(tz: &TimeZone, date: Date, ms_of_day: Ms) -> Ms {
    let (date, ms) = if ms_of_day >= 86_400_000 {
        (date.tomorrow().unwrap_or(date), ms_of_day - 86_400_000)
    } else {
        (date, ms_of_day)
    };
    let time = Time::new(
        (ms / 3_600_000) as i8,
        (ms / 60_000 % 60) as i8,
        (ms / 1000 % 60) as i8,
        (ms % 1000 * 1_000_000) as i32,
    )
    .unwrap_or(Time::midnight());
    let dt = date.to_datetime(time);
    let ambiguous = tz.to_ambiguous_timestamp(dt);
    // A wall time in a gap is the first valid time after it: the transition itself
    // (docs/figures.md). jiff's `compatible` would move it forward by the gap's length,
    // which is right for a roster time ("02:30 is 03:30") but would leave a window's
    // boundary at 02:45 for "02:15-03:00" when the clocks jump from 02:00 to 02:30, taking
    // 02:30-02:45, which exists and is inside the window, out of it. Folds take the
    // earlier instant, as `compatible` does.
    if let AmbiguousOffset::Gap { after, .. } = ambiguous.offset() {
        // `dt` read with the later offset is just before the transition (by less than
        // the gap's length), so the next transition after it is the gap's.
        if let Some(tr) = after.to_timestamp(dt).ok().and_then(|early| tz.following(early).next()) {
            return tr.timestamp().as_millisecond();
        }
    }
    ambiguous.compatible().map(|ts| ts.as_millisecond()).unwrap_or(0)
}

impl Calendar {
    pub fn new(tz: TimeZone, windows: Vec<(Ms, Ms)>) -> Self {
        Calendar { tz, windows, day: None }
    }

    fn day(&mut self, t: Ms) -> &Day {
        let hit = matches!(&self.day, Some(d) if d.start <= t && t < d.end);
        if !hit {
            self.day = Some(self.compute(t));
        }
        self.day.as_ref().expect("just set")
    }

    fn compute(&self, t: Ms) -> Day {
        let ts = Timestamp::from_millisecond(t).unwrap_or(Timestamp::UNIX_EPOCH);
        let zoned = ts.to_zoned(self.tz.clone());
        let date = zoned.date();
        let start = zoned.start_of_day().map(|z| z.timestamp().as_millisecond()).unwrap_or(t);
        let next = date.checked_add(1.day()).unwrap_or(date);
        let end = local_instant(&self.tz, next, 0).max(start + 1);
        let mut peaks = Vec::new();
        for offset in [-1i64, 0, 1] {
            let Ok(d) = date.checked_add(offset.days()) else { continue };
            for &(a, b) in &self.windows {
                let b = if b <= a { b + 86_400_000 } else { b };
                let (s, e) = (local_instant(&self.tz, d, a), local_instant(&self.tz, d, b));
                if e > s {
                    peaks.push((s, e));
                }
            }
        }
        peaks.sort_unstable();
        let mut merged: Vec<(Ms, Ms)> = Vec::new();
        for (s, e) in peaks {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        Day { start, end, peaks: merged }
    }

    /// Local midnight starting the day that contains `t`.
    pub fn midnight(&mut self, t: Ms) -> Ms {
        self.day(t).start
    }

    /// Local midnight starting the day that contains `t`, and the next one (23 or 25 hours
    /// later on a DST day).
    pub fn day_bounds(&mut self, t: Ms) -> (Ms, Ms) {
        let d = self.day(t);
        (d.start, d.end)
    }

    /// The configured peak windows within `[from, to)`, clipped to it, in order; `from` and
    /// `to` in one local day (the day holds its neighbours' windows that reach into it).
    pub fn peaks_within(&mut self, from: Ms, to: Ms) -> Vec<(Ms, Ms)> {
        let day = self.day(from);
        debug_assert!(to <= day.end, "[{from}, {to}) within the day from {}", day.start);
        day.peaks.iter().map(|&(s, e)| (s.max(from), e.min(to))).filter(|&(s, e)| s < e).collect()
    }

    /// Whether a configured peak window contains `t`, and the next instant after `t` at
    /// which that may change (Ms::MAX when no windows are configured).
    pub fn peak(&mut self, t: Ms) -> (bool, Ms) {
        if self.windows.is_empty() {
            return (false, Ms::MAX);
        }
        let day = self.day(t);
        let i = day.peaks.partition_point(|p| p.1 <= t);
        match day.peaks.get(i) {
            Some(&(s, e)) if s <= t => (true, e),
            Some(&(s, _)) => (false, s),
            None => (false, day.end),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_rfc3339;

    fn ms(s: &str) -> Ms {
        parse_rfc3339(s).unwrap()
    }

    #[test]
    fn peak_windows_in_a_non_utc_zone() {
        let tz = TimeZone::get("Asia/Shanghai").unwrap();
        let mut cal = Calendar::new(tz, vec![(34_200_000, 41_400_000)]); // 09:30-11:30
        // 09:30 Shanghai = 01:30Z.
        assert_eq!(cal.peak(ms("2026-11-23T01:29:59.999Z")), (false, ms("2026-11-23T01:30:00Z")));
        assert_eq!(cal.peak(ms("2026-11-23T01:30:00Z")), (true, ms("2026-11-23T03:30:00Z")));
        assert_eq!(cal.peak(ms("2026-11-23T03:30:00Z")), (false, ms("2026-11-24T01:30:00Z")));
        assert_eq!(cal.midnight(ms("2026-11-23T15:59:59Z")), ms("2026-11-22T16:00:00Z"));
        assert_eq!(cal.midnight(ms("2026-11-23T16:00:00Z")), ms("2026-11-23T16:00:00Z"));
    }

    #[test]
    fn peaks_within_a_day_as_the_instants_say() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        // 22:00-02:00 and 09:30-11:30, on the day clocks go forward (2026-03-29).
        let mut cal = Calendar::new(tz, vec![(79_200_000, 7_200_000), (34_200_000, 41_400_000)]);
        let mid = cal.midnight(ms("2026-03-29T12:00:00Z"));
        let now = ms("2026-03-29T10:00:00Z"); // 12:00 CEST
        let got = cal.peaks_within(mid, now);
        assert_eq!(
            got,
            // 02:00 does not exist that night: the window ends at 03:00 CEST.
            vec![(mid, ms("2026-03-29T01:00:00Z")), (ms("2026-03-29T07:30:00Z"), ms("2026-03-29T09:30:00Z"))]
        );
        // The same as stepping through `peak` millisecond edge by edge.
        let mut stepped = Vec::new();
        let mut t = mid;
        while t < now {
            let (on, next) = cal.peak(t);
            if on {
                stepped.push((t, next.min(now)));
            }
            t = next.min(now);
        }
        assert_eq!(got, stepped);
        assert!(Calendar::new(TimeZone::UTC, Vec::new()).peaks_within(0, 86_400_000).is_empty());
    }

    #[test]
    fn dst_days_and_windows_across_midnight() {
        let tz = TimeZone::get("Europe/Berlin").unwrap();
        let mut cal = Calendar::new(tz, vec![(79_200_000, 7_200_000)]); // 22:00-02:00
        // 2026-03-29: clocks go 02:00 -> 03:00 CET->CEST; the day is 23 h long.
        let mid = cal.midnight(ms("2026-03-29T12:00:00Z"));
        assert_eq!(mid, ms("2026-03-28T23:00:00Z"));
        assert_eq!(cal.midnight(ms("2026-03-29T22:00:00Z")), ms("2026-03-29T22:00:00Z"));
        // 23:30 local on the 28th (22:30Z) is inside the wrapping window, which ends at
        // 02:00 local on the 29th — a nonexistent time, resolved forward to 03:00 CEST (01:00Z).
        assert_eq!(cal.peak(ms("2026-03-28T22:30:00Z")), (true, ms("2026-03-29T01:00:00Z")));
    }

    /// A boundary inside a gap (not at its start) moves to the first valid time, the end
    /// of the gap — not forward by the gap's length, as a roster time does: the window
    /// "02:15-03:00" on the night Lord Howe goes from 02:00 +10:30 to 02:30 +11 is at peak
    /// for every wall-clock time of it that exists, 02:30-03:00.
    #[test]
    fn window_boundaries_inside_a_gap_move_to_its_end() {
        // 02:15-03:00 and 23:30-02:10 (ends in the gap too).
        let windows = vec![(8_100_000, 10_800_000), (84_600_000, 7_800_000)];
        let mut cal = Calendar::new(TimeZone::get("Australia/Lord_Howe").unwrap(), windows);
        // 02:00 +10:30 = 02:30 +11 = 2026-10-03T15:30Z: both boundaries in the gap are
        // there, so the two windows touch and peak time runs on to 03:00 +11.
        assert_eq!(cal.peak(ms("2026-10-03T15:29:59.999Z")), (true, ms("2026-10-03T16:00:00Z")));
        assert_eq!(cal.peak(ms("2026-10-03T15:30:00Z")), (true, ms("2026-10-03T16:00:00Z")));
        assert_eq!(cal.peak(ms("2026-10-03T16:00:00Z")), (false, ms("2026-10-04T12:30:00Z")));
        let mid = cal.midnight(ms("2026-10-03T15:00:00Z"));
        assert_eq!(mid, ms("2026-10-03T13:30:00Z"));
        assert_eq!(cal.peaks_within(mid, ms("2026-10-03T17:00:00Z")), vec![(mid, ms("2026-10-03T16:00:00Z"))]);
        // America/Santiago, 2026-09-06: 00:00 -04 becomes 01:00 -03 (04:00Z); the day
        // starts at 01:00, and "22:00-00:30" and "00:45-02:00" both meet there.
        let windows = vec![(79_200_000, 1_800_000), (2_700_000, 7_200_000)];
        let mut cal = Calendar::new(TimeZone::get("America/Santiago").unwrap(), windows);
        assert_eq!(cal.midnight(ms("2026-09-06T04:00:00Z")), ms("2026-09-06T04:00:00Z"));
        assert_eq!(cal.peak(ms("2026-09-06T03:59:59.999Z")), (true, ms("2026-09-06T05:00:00Z")));
        assert_eq!(cal.peak(ms("2026-09-06T04:00:00Z")), (true, ms("2026-09-06T05:00:00Z")));
    }
}
