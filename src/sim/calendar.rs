//! Local time for the simulator: days, shift times and peak windows in the configured
//! time zone, and the daily load curve derived from the peak windows.
//!
//! Everything is cached per local day, so the hot path (one look-up per call) does no time
//! zone arithmetic once the day is known. DST days are handled by converting every local
//! wall-clock time through jiff (`compatible` disambiguation: a time in a gap moves forward,
//! a time in a fold takes the earlier instant).

use std::collections::HashMap;

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;

use crate::time::Ms;

/// Milliseconds in a (nominal) day.
pub(crate) const DAY: Ms = 86_400_000;
/// How long the call load takes to climb to a peak plateau, and to fall after it.
const RAMP: Ms = 45 * 60_000;

/// A local time of day as milliseconds since local midnight.
pub(crate) fn tod_ms(t: Time) -> Ms {
    (t.hour() as Ms * 3600 + t.minute() as Ms * 60 + t.second() as Ms) * 1000 + t.subsec_nanosecond() as Ms / 1_000_000
}

#[derive(Debug)]
struct DayInfo {
    /// Local midnight of this day and of the next, as instants.
    start: Ms,
    end: Ms,
    /// The peak windows that start on this day, as instants `[from, to)`.
    peaks: Vec<(Ms, Ms)>,
}

#[derive(Debug)]
pub(crate) struct Calendar {
    tz: TimeZone,
    /// Peak windows as local times of day; `to <= from` wraps past midnight.
    peaks: Vec<(Ms, Ms)>,
    days: HashMap<i64, DayInfo>,
    /// The last day looked up by instant: `(start, end, day)`.
    last: (Ms, Ms, i64),
}

impl Calendar {
    pub(crate) fn new(tz: TimeZone, peaks: &[(Time, Time)]) -> Calendar {
        let peaks = peaks.iter().map(|&(a, b)| (tod_ms(a), tod_ms(b))).collect();
        Calendar { tz, peaks, days: HashMap::new(), last: (0, 0, 0) }
    }

    /// The instant of local time `tod` (ms since midnight, may exceed a day) on local day
    /// `day` (days since 1970-01-01).
    pub(crate) fn at(&self, day: i64, tod: Ms) -> Ms {
        let day = day + tod.div_euclid(DAY);
        let tod = tod.rem_euclid(DAY);
        let date = Date::constant(1970, 1, 1).checked_add(jiff::Span::new().days(day)).unwrap_or(Date::MAX);
        let time = Time::MIN.checked_add(jiff::SignedDuration::from_millis(tod)).unwrap_or(Time::MIN);
        match self.tz.to_timestamp(date.to_datetime(time)) {
            Ok(ts) => ts.as_millisecond(),
            // Only outside jiff's range (year ±9999), which the config rules out.
            Err(_) => day * DAY + tod,
        }
    }

    fn info(&mut self, day: i64) -> &DayInfo {
        if !self.days.contains_key(&day) {
            let start = self.at(day, 0);
            let end = self.at(day + 1, 0);
            let peaks = self
                .peaks
                .iter()
                .map(|&(a, b)| {
                    let to = if b > a { b } else { b + DAY };
                    (self.at(day, a), self.at(day, to))
                })
                .collect();
            self.days.insert(day, DayInfo { start, end, peaks });
        }
        &self.days[&day]
    }

    /// The local day (days since 1970-01-01) that contains instant `t`.
    pub(crate) fn day_of(&mut self, t: Ms) -> i64 {
        let (start, end, day) = self.last;
        if start <= t && t < end {
            return day;
        }
        let offset = Timestamp::from_millisecond(t).map(|ts| self.tz.to_offset(ts).seconds() as Ms * 1000).unwrap_or(0);
        let day = (t + offset).div_euclid(DAY);
        let info = self.info(day);
        self.last = (info.start, info.end, day);
        day
    }

    /// The instant of the last local time on a `step` grid (from local midnight: 08:00,
    /// 08:30 for 30 minutes) at or before instant `t`. A grid in UTC would be another one in
    /// zones a quarter hour off it (Kathmandu +05:45: 07:45, 08:15).
    pub(crate) fn floor_local(&mut self, t: Ms, step: Ms) -> Ms {
        let day = self.day_of(t);
        let tod = tod_ms(self.local_time(t));
        self.at(day, tod.div_euclid(step) * step)
    }

    /// The local wall-clock time of instant `t`.
    pub(crate) fn local_time(&self, t: Ms) -> Time {
        Timestamp::from_millisecond(t).map(|ts| ts.to_zoned(self.tz.clone()).time()).unwrap_or(Time::MIN)
    }

    /// Local midnight that starts day `day`.
    #[cfg(test)]
    pub(crate) fn midnight(&mut self, day: i64) -> Ms {
        self.info(day).start
    }

    /// Peak windows (as instants) that can touch `[a, b]` (those starting on the days
    /// around it), cached first so that the iteration itself borrows `self` immutably.
    fn peaks_near(&mut self, a: Ms, b: Ms) -> impl Iterator<Item = (Ms, Ms)> + '_ {
        let (d0, d1) = (self.day_of(a) - 1, self.day_of(b) + 1);
        for d in d0..=d1 {
            self.info(d);
        }
        let days = &self.days;
        (d0..=d1).flat_map(move |d| days[&d].peaks.iter().copied())
    }

    /// Whether instant `t` falls in a configured peak window.
    #[cfg(test)]
    pub(crate) fn in_peak(&mut self, t: Ms) -> bool {
        self.peaks_near(t, t).any(|(a, b)| a <= t && t < b)
    }

    /// Whether `[a, b)` overlaps a peak window.
    #[cfg(test)]
    pub(crate) fn overlaps_peak(&mut self, a: Ms, b: Ms) -> bool {
        self.peaks_near(a, b).any(|(p, q)| p < b && a < q)
    }

    /// The peak windows (as instants) that overlap `[a, b)`.
    pub(crate) fn peaks_between(&mut self, a: Ms, b: Ms) -> Vec<(Ms, Ms)> {
        self.peaks_near(a, b).filter(|&(p, q)| p < b && a < q).collect()
    }

    /// The daily load curve at `t`, in [0, 1]: 1 on a peak window's plateau, climbing
    /// linearly over the 45 minutes before it and falling over the 45 minutes after it,
    /// 0 elsewhere.
    pub(crate) fn load(&mut self, t: Ms) -> f64 {
        self.peaks_near(t, t)
            .map(|(a, b)| {
                if a <= t && t < b {
                    1.0
                } else if a - RAMP <= t && t < a {
                    (t - (a - RAMP)) as f64 / RAMP as f64
                } else if b <= t && t < b + RAMP {
                    1.0 - (t - b) as f64 / RAMP as f64
                } else {
                    0.0
                }
            })
            .fold(0.0, f64::max)
    }

    /// The next instant at or after `t` when a peak window starts.
    pub(crate) fn next_peak_start(&mut self, t: Ms) -> Option<Ms> {
        self.peaks_near(t, t + 2 * DAY).map(|(a, _)| a).filter(|&a| a >= t).min()
    }

    /// The peak window containing `t`, if any.
    pub(crate) fn peak_containing(&mut self, t: Ms) -> Option<(Ms, Ms)> {
        self.peaks_near(t, t).find(|&(a, b)| a <= t && t < b)
    }
}

/// Parses a local time of day `HH:MM` or `HH:MM:SS`.
pub fn parse_time(s: &str) -> Option<Time> {
    let parts: Vec<&str> = s.trim().split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2) {
        return None;
    }
    let num = |p: &str| p.parse::<i8>().ok();
    let h = num(parts[0])?;
    let m = num(parts[1])?;
    let sec = if parts.len() == 3 { num(parts[2])? } else { 0 };
    Time::new(h, m, sec, 0).ok()
}

/// Parses a peak window `HH:MM-HH:MM` (local time, closed-open; the end may be past
/// midnight, e.g. `22:00-02:00`).
pub fn parse_window(s: &str) -> Option<(Time, Time)> {
    let (a, b) = s.split_once('-')?;
    let (a, b) = (parse_time(a)?, parse_time(b)?);
    (a != b).then_some((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_rfc3339;

    fn cal(tz: &str) -> Calendar {
        let peaks = [parse_window("09:30-11:30").unwrap(), parse_window("14:00-16:30").unwrap()];
        Calendar::new(TimeZone::get(tz).unwrap(), &peaks)
    }
    fn t(s: &str) -> Ms {
        parse_rfc3339(s).unwrap()
    }

    #[test]
    fn peaks_follow_the_local_clock() {
        let mut c = cal("Asia/Shanghai");
        for (at, peak, load) in [
            ("2026-11-23T01:29:59Z", false, 1.0 - 1000.0 / RAMP as f64), // 09:29:59 local
            ("2026-11-23T01:30:00Z", true, 1.0),
            ("2026-11-23T03:29:59Z", true, 1.0),
            ("2026-11-23T03:30:00Z", false, 1.0), // 11:30 local: falling from 1
            ("2026-11-23T04:15:00Z", false, 0.0), // 12:15 local
            ("2026-11-23T05:37:30Z", false, 0.5), // 13:37:30 local
            ("2026-11-23T08:29:00Z", true, 1.0),  // 16:29 local
        ] {
            assert_eq!(c.in_peak(t(at)), peak, "{at}");
            assert!((c.load(t(at)) - load).abs() < 1e-3, "{at}: {}", c.load(t(at)));
        }
        assert_eq!(c.next_peak_start(t("2026-11-23T04:00:00Z")), Some(t("2026-11-23T06:00:00Z")));
        assert_eq!(c.next_peak_start(t("2026-11-23T09:00:00Z")), Some(t("2026-11-24T01:30:00Z")));
        assert!(c.overlaps_peak(t("2026-11-23T05:45:00Z"), t("2026-11-23T06:15:00Z")));
        assert!(!c.overlaps_peak(t("2026-11-23T04:00:00Z"), t("2026-11-23T05:59:59Z")));
    }

    #[test]
    fn days_and_local_times_survive_dst() {
        // New York springs forward on 2026-03-08: that local day is 23 hours long.
        let mut c = cal("America/New_York");
        let d = c.day_of(t("2026-03-08T12:00:00Z"));
        assert_eq!(c.midnight(d), t("2026-03-08T05:00:00Z"));
        assert_eq!(c.midnight(d + 1), t("2026-03-09T04:00:00Z"));
        assert_eq!(c.at(d, 8 * 3_600_000), t("2026-03-08T12:00:00Z"));
        assert_eq!(c.at(d - 1, 8 * 3_600_000), t("2026-03-07T13:00:00Z"));
        assert!(c.in_peak(t("2026-03-08T13:30:00Z"))); // 09:30 EDT
        assert!(!c.in_peak(t("2026-03-07T13:30:00Z"))); // 08:30 EST
        assert_eq!(c.day_of(t("2026-03-09T03:59:59Z")), d);
        assert_eq!(c.day_of(t("2026-03-09T04:00:00Z")), d + 1);
    }

    #[test]
    fn parses_times_and_windows() {
        assert_eq!(parse_time("09:30"), Some(Time::constant(9, 30, 0, 0)));
        assert_eq!(parse_time("23:59:59"), Some(Time::constant(23, 59, 59, 0)));
        for bad in ["9:30", "24:00", "12:60", "noon", "", "12:00:00:00"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        assert!(parse_window("22:00-02:00").is_some());
        assert!(parse_window("10:00-10:00").is_none());
        assert!(parse_window("10:00").is_none());
    }
}
