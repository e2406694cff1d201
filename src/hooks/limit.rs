//! Pacing: the per-destination rate window, retry back-off, `Retry-After`, and the limiter
//! that keeps repeated warnings out of the log.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rand::Rng;
use tokio::time::Instant;

const WINDOW: Duration = Duration::from_secs(60);

/// At most `per_minute` requests in any 60 s window: a log of the last sends, not a token
/// bucket, because DingTalk counts a plain minute and throttles a robot for ten minutes
/// when it is exceeded (a full bucket plus its refill would allow twice the rate).
#[derive(Debug)]
pub struct RateWindow {
    per_minute: usize,
    /// Send times, oldest first; never longer than `per_minute`.
    sent: VecDeque<Instant>,
}

/// Shared by every hook that posts to the same URL, since the platform limits the
/// destination, not our hook. Locked only briefly, never across an `.await`.
pub type SharedRate = Arc<Mutex<RateWindow>>;

impl RateWindow {
    pub fn new(per_minute: u32) -> RateWindow {
        let per_minute = per_minute.max(1) as usize;
        RateWindow { per_minute, sent: VecDeque::with_capacity(per_minute) }
    }

    /// Lowers the limit to `per_minute` (hooks sharing a destination use the smallest).
    pub fn restrict(&mut self, per_minute: u32) {
        self.per_minute = self.per_minute.min(per_minute.max(1) as usize);
    }

    /// Records a send at `now` if the window allows one; otherwise says when it will.
    pub fn try_acquire(&mut self, now: Instant) -> Result<(), Instant> {
        while self.sent.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
            self.sent.pop_front();
        }
        if self.sent.len() < self.per_minute {
            self.sent.push_back(now);
            Ok(())
        } else {
            Err(self.sent[self.sent.len() - self.per_minute] + WINDOW)
        }
    }
}

/// Waits until the window allows a request, and records it.
pub async fn acquire(rate: &SharedRate) {
    loop {
        let next = rate.lock().expect("rate window lock").try_acquire(Instant::now());
        match next {
            Ok(()) => return,
            Err(at) => tokio::time::sleep_until(at).await,
        }
    }
}

/// "Full jitter" back-off before retry `n` (1 for the first retry): uniform in
/// [0, min(max, base * 2^(n-1))].
pub fn backoff(n: u32, base: Duration, max: Duration) -> Duration {
    let ceiling = base.saturating_mul(1u32 << n.saturating_sub(1).min(20)).min(max);
    let ms = ceiling.as_millis() as u64;
    Duration::from_millis(rand::rng().random_range(0..=ms))
}

/// Parses a `Retry-After` header: delay seconds, or an HTTP date (relative to `now`).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(v).ok()?;
    let at = SystemTime::from(at);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Allows one warning per interval and counts the ones it held back.
#[derive(Debug)]
pub struct WarnLimiter {
    interval: Duration,
    last: Option<std::time::Instant>,
    suppressed: u64,
}

impl WarnLimiter {
    pub const fn new(interval: Duration) -> WarnLimiter {
        WarnLimiter { interval, last: None, suppressed: 0 }
    }

    /// `Some(n)` when a warning may be logged now, `n` being how many were held back since
    /// the last one; `None` when this one should be held back.
    pub fn check(&mut self) -> Option<u64> {
        let now = std::time::Instant::now();
        match self.last {
            Some(t) if now.duration_since(t) < self.interval => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

/// A [`WarnLimiter`] that counts what its warnings are about: each warning says how many
/// (alerts dropped, alerts not delivered) since the last one, not the latest alone.
pub struct CountingWarn {
    limiter: WarnLimiter,
    count: u64,
}

impl CountingWarn {
    pub const fn new(interval: Duration) -> CountingWarn {
        CountingWarn { limiter: WarnLimiter::new(interval), count: 0 }
    }

    /// Adds `n`; `Some((the count since the last warning, warnings held back))` when a
    /// warning may be logged now.
    pub fn add(&mut self, n: u64) -> Option<(u64, u64)> {
        self.count += n;
        let held_back = self.limiter.check()?;
        Some((std::mem::take(&mut self.count), held_back))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A warning a minute says how many since the last one: "1 alert" after a hundred lost
    /// in between was the bug.
    #[test]
    fn counting_warnings_say_how_many_since_the_last() {
        let mut w = CountingWarn::new(Duration::from_secs(60));
        assert_eq!(w.add(1), Some((1, 0)));
        for _ in 0..4 {
            assert_eq!(w.add(5), None);
        }
        // The minute is over (a limiter that allows one now, with the counts kept).
        w.limiter.interval = Duration::ZERO;
        assert_eq!(w.add(1), Some((21, 4)));
        assert_eq!(w.add(2), Some((2, 0)));
    }

    #[test]
    fn rate_window_allows_n_per_sliding_minute() {
        let t0 = Instant::now();
        let mut w = RateWindow::new(3);
        for i in 0..3 {
            assert_eq!(w.try_acquire(t0 + Duration::from_secs(i)), Ok(()));
        }
        // The 4th must wait until the 1st is a minute old.
        assert_eq!(w.try_acquire(t0 + Duration::from_secs(10)), Err(t0 + WINDOW));
        assert_eq!(w.try_acquire(t0 + WINDOW), Ok(()));
        assert_eq!(w.try_acquire(t0 + WINDOW), Err(t0 + Duration::from_secs(61)));
        w.restrict(1);
        assert_eq!(w.try_acquire(t0 + Duration::from_secs(70)), Err(t0 + WINDOW + WINDOW));
    }

    #[test]
    fn backoff_stays_under_its_ceiling() {
        let base = Duration::from_millis(100);
        let max = Duration::from_millis(1_000);
        for n in 1..40 {
            let ceiling = (base * 2u32.pow(n.min(20) - 1)).min(max);
            for _ in 0..20 {
                assert!(backoff(n, base, max) <= ceiling, "retry {n}");
            }
        }
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_470);
        let check = |v: &str, want: Option<Duration>| assert_eq!(parse_retry_after(v, now), want, "{v}");
        check("3", Some(Duration::from_secs(3)));
        check(" 120 ", Some(Duration::from_secs(120)));
        // 1445412480 = Wed, 21 Oct 2015 07:28:00 GMT
        check("Wed, 21 Oct 2015 07:28:00 GMT", Some(Duration::from_secs(10)));
        check("Wed, 21 Oct 2015 07:27:00 GMT", Some(Duration::ZERO));
        check("soon", None);
        check("-1", None);
    }

    #[test]
    fn warn_limiter_counts_what_it_holds_back() {
        let mut w = WarnLimiter::new(Duration::from_secs(3600));
        assert_eq!(w.check(), Some(0));
        assert_eq!(w.check(), None);
        assert_eq!(w.check(), None);
        let mut w = WarnLimiter::new(Duration::ZERO);
        assert_eq!(w.check(), Some(0));
        assert_eq!(w.check(), Some(0));
    }
}
