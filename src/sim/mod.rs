//! The floor simulator: `floorwatch simulate` and the feed behind `serve --demo`.
//!
//! [`Simulator`] is a deterministic generator of native events (docs/events.md#the-event) for a realistic
//! floor: teams on staggered shifts, a daily call-load curve with peaks, log-normal talk and
//! ACW times, unplanned and planned aux, and optional injected scenarios (aux clusters at
//! peak, long breaks) and noise (duplicates, late events, invalid lines). It yields NDJSON
//! lines in non-decreasing time order; the same [`SimConfig`] always yields the same lines.
//!
//! [`cli`] streams it to a file, stdout, TCP, WebSocket or HTTP; [`demo`] builds the endless
//! feed that `serve --demo` paces into the engine.
//!
//! Layout: `floor` (the agents' state machines and the event heap), `calendar` (local days,
//! peak windows, load curve), `noise`, `names`, `rng`, `cli` (flags and pacing), `sink`
//! (transports).

mod calendar;
mod calls;
pub mod cli;
mod floor;
mod names;
mod noise;
mod rng;
mod sink;
pub(crate) use sink::with_default_path;

pub use calendar::{parse_time, parse_window};
pub use cli::{SimulateArgs, run};
pub use floor::{RosterRow, Simulator};
pub use noise::Noise;

use jiff::civil::Time;
use jiff::tz::TimeZone;

use crate::time::Ms;

/// One generated line: a native event as NDJSON text (without the newline), or a noise
/// line when `noise` is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimLine {
    /// When the line is emitted (epoch ms, `offset_ms` applied). Equal to the event's `ts`
    /// for events; a `late` noise line carries an older `ts` inside but is emitted now.
    pub ts: Ms,
    /// Index of the agent the line is about (0-based: agent id `A0001` is index 0).
    pub agent: u32,
    /// The JSON text, one line.
    pub line: String,
    /// `None` for a good event; the kind of noise otherwise.
    pub noise: Option<Noise>,
}

/// An injected aux cluster: at local time `at` every simulated day, `share` of team
/// `team`'s logged-in agents (at least 3) go on unplanned `break` together for `minutes`.
///
/// They are chosen a minute before `at` among the members who are logged in and not in aux,
/// and enter aux within the 45 seconds before `at` (a call in progress is cut short), so at
/// `at` they are all in aux. With the default detector settings (docs/alerts.md#aux_cluster), a team of 20
/// and `share` 0.3 at peak trips `aux_cluster` a minute later.
#[derive(Clone, Debug, PartialEq)]
pub struct Cluster {
    /// Team number, 1-based (`3` is `T03`).
    pub team: u32,
    /// Local time of day (in `SimConfig::timezone`).
    pub at: Time,
    /// Share of the team's logged-in agents sent on break, in (0, 1].
    pub share: f64,
    pub minutes: u32,
}

/// An injected long break: at local time `at` every simulated day, one logged-in agent of
/// team `team` who is not in aux goes on unplanned aux `reason` for `minutes`.
#[derive(Clone, Debug, PartialEq)]
pub struct LongBreak {
    /// Team number, 1-based.
    pub team: u32,
    pub at: Time,
    pub minutes: u32,
    /// An unplanned reason code, e.g. `break` (default long_aux limit 10 min, docs/alerts.md#long_aux) or `restroom`
    /// (15 min).
    pub reason: String,
}

/// Everything that shapes a simulated floor. `Default` is the demo floor: 200 agents in 10
/// teams, seed 1, today 08:00 UTC for 10 hours, the default peak windows, no injections.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Number of agents (ids `A0001`…; wider when there are more than 9,999).
    pub agents: u32,
    /// Number of teams (ids `T01`…); agents are split into nearly equal contiguous teams.
    pub teams: u32,
    /// Seed: the same configuration always yields the same lines.
    pub seed: u64,
    /// First simulated instant (epoch ms).
    pub start: Ms,
    /// Simulated length in ms; `None` never ends (shifts repeat every day).
    pub duration: Option<Ms>,
    /// IANA time zone of the floor: shift times, peak windows and injection times are local.
    pub timezone: String,
    /// Peak windows `[from, to)`, local time; the call load climbs to its maximum in them.
    pub peaks: Vec<(Time, Time)>,
    /// Daily shifts: agents log in (`idle`) at their shift start and out (`offline`) at its
    /// end. Without shifts every agent logs in within the first minute and stays.
    pub shifts: bool,
    /// Nominal shift start of the earliest teams; teams are staggered by 0, 30, 60 and 90
    /// minutes (team 1 at +0, team 2 at +30, …, team 5 at +0 again).
    pub shift_start: Time,
    /// Shift length in ms, lunch included.
    pub shift_ms: Ms,
    /// Target share of logged-in time in unplanned aux, floor-wide (healthy: 8–9%, docs/figures.md#why-these-figures).
    pub aux_share: f64,
    pub clusters: Vec<Cluster>,
    pub long_breaks: Vec<LongBreak>,
    /// Fraction of all lines that are noise (duplicates, late events, invalid lines), in
    /// [0, 0.9]. The good lines are the same as without noise.
    pub noise: f64,
    /// Added to every emitted timestamp (`simulate --live` moves the timeline to now).
    pub offset_ms: Ms,
    /// Call queues (SPEC §8): team `k` answers queue `k mod queues`; 0 = agent events
    /// only. Every call an agent takes is queued first and `answered` by it when its
    /// `talking` starts; some callers abandon (more at peak).
    pub queues: u32,
}

/// The default peak windows (`peak.windows`, docs/figures.md#peak-time).
pub fn default_peaks() -> Vec<(Time, Time)> {
    vec![
        (Time::constant(9, 30, 0, 0), Time::constant(11, 30, 0, 0)),
        (Time::constant(14, 0, 0, 0), Time::constant(16, 30, 0, 0)),
    ]
}

fn now_ms() -> Ms {
    jiff::Timestamp::now().as_millisecond()
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            agents: 200,
            teams: 10,
            seed: 1,
            start: today_at(now_ms(), "UTC", DEFAULT_SHIFT_START).unwrap_or(0),
            duration: Some(10 * 3_600_000),
            timezone: "UTC".to_string(),
            peaks: default_peaks(),
            shifts: true,
            shift_start: DEFAULT_SHIFT_START,
            shift_ms: 9 * 3_600_000,
            aux_share: 0.085,
            clusters: Vec::new(),
            long_breaks: Vec::new(),
            noise: 0.0,
            offset_ms: 0,
            queues: 3,
        }
    }
}

/// Why a [`SimConfig`] cannot run.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SimError {
    #[error("unknown time zone {0:?} (expected an IANA name such as \"Asia/Shanghai\")")]
    UnknownTimezone(String),
    #[error("{0}")]
    Invalid(String),
}

impl SimConfig {
    /// Checks every field; the error names the offending one.
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::Invalid(m));
        if self.queues > 1000 {
            return bad(format!("queues must be at most 1000, not {}", self.queues));
        }
        if self.agents == 0 {
            return bad("agents must be at least 1".into());
        }
        if self.teams == 0 || self.teams > self.agents {
            return bad(format!("teams must be between 1 and agents ({}), not {}", self.agents, self.teams));
        }
        if !(0.0..=0.9).contains(&self.noise) {
            return bad(format!("noise must be a fraction in [0, 0.9], not {}", self.noise));
        }
        if !(0.0..=0.5).contains(&self.aux_share) {
            return bad(format!("aux_share must be in [0, 0.5], not {}", self.aux_share));
        }
        if self.shifts && !(3_600_000..=23 * 3_600_000).contains(&self.shift_ms) {
            return bad(format!("shift length must be 1 to 23 hours, not {} ms", self.shift_ms));
        }
        if self.duration.is_some_and(|d| d < 0) {
            return bad("duration must not be negative".into());
        }
        if !(0..=crate::time::MAX_MS).contains(&self.start) {
            return bad(format!("start {} is out of range", self.start));
        }
        if self.peaks.iter().any(|(a, b)| a == b) {
            return bad("a peak window must not be empty".into());
        }
        let team_ok = |t: u32| (1..=self.teams).contains(&t);
        for c in &self.clusters {
            if !team_ok(c.team) {
                return bad(format!("cluster team {} is not one of 1..={}", c.team, self.teams));
            }
            if !(c.share > 0.0 && c.share <= 1.0) {
                return bad(format!("cluster share must be in (0, 1], not {}", c.share));
            }
            if c.minutes == 0 || c.minutes > 24 * 60 {
                return bad(format!("cluster minutes must be 1 to 1440, not {}", c.minutes));
            }
        }
        // Reasons are indexed by a byte inside the generator.
        if self.long_breaks.len() > 200 {
            return bad("at most 200 long breaks".into());
        }
        for l in &self.long_breaks {
            if !team_ok(l.team) {
                return bad(format!("long break team {} is not one of 1..={}", l.team, self.teams));
            }
            if l.minutes == 0 || l.minutes > 24 * 60 {
                return bad(format!("long break minutes must be 1 to 1440, not {}", l.minutes));
            }
            let code_ok = !l.reason.is_empty()
                && l.reason.len() <= 32
                && l.reason.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !code_ok || ["lunch", "training", "meeting", "coaching"].contains(&l.reason.as_str()) {
                return bad(format!(
                    "long break reason must be an unplanned reason code ([a-z0-9_], e.g. break), not {:?}",
                    l.reason
                ));
            }
        }
        Ok(())
    }
}

/// Today's (in `timezone`, as of `now_ms`) local time `at`, as epoch ms.
pub fn today_at(now_ms: Ms, timezone: &str, at: Time) -> Result<Ms, SimError> {
    let tz = TimeZone::get(timezone).map_err(|_| SimError::UnknownTimezone(timezone.to_string()))?;
    let mut cal = calendar::Calendar::new(tz, &[]);
    let day = cal.day_of(now_ms);
    Ok(cal.at(day, calendar::tod_ms(at)))
}

/// Where the earliest teams' shifts start unless told (`simulate --shift-start`).
pub const DEFAULT_SHIFT_START: Time = Time::constant(8, 0, 0, 0);

/// The earliest teams' shift start for a live floor (`simulate --live` with neither
/// `--start` nor `--shift-start`): [`DEFAULT_SHIFT_START`] when one of its staggered shifts
/// of `shift_ms` is under way at `now_ms`, else the half hour an hour before `now_ms`, local
/// time (the floor then logs in within its first minute, a quarter of it half an hour
/// later), as the demo floor starts two hours back out of office hours ([`demo_config`]).
pub fn live_shift_start(now_ms: Ms, timezone: &str, shift_ms: Ms) -> Result<Time, SimError> {
    let tz = TimeZone::get(timezone).map_err(|_| SimError::UnknownTimezone(timezone.to_string()))?;
    let mut cal = calendar::Calendar::new(tz, &[]);
    let day = cal.day_of(now_ms);
    let under_way = (day - 1..=day).any(|d| {
        (0..floor::STAGGER_GROUPS).any(|team| {
            let start = floor::shift_start_on(DEFAULT_SHIFT_START, &mut cal, team, d);
            start <= now_ms && now_ms < start + shift_ms
        })
    });
    if under_way {
        return Ok(DEFAULT_SHIFT_START);
    }
    let half_hour = 30 * 60_000;
    Ok(cal.local_time((now_ms - 3_600_000).div_euclid(half_hour) * half_hour))
}

/// The demo floor for `serve --demo` (see [`demo_config`]).
pub fn demo(now_ms: Ms, timezone: &str) -> Simulator {
    let cfg = demo_config(now_ms, timezone, &default_peaks());
    match Simulator::new(cfg) {
        Ok(sim) => sim,
        // Only an unknown time zone can fail here: fall back to UTC rather than no demo.
        Err(_) => {
            Simulator::new(demo_config(now_ms, "UTC", &default_peaks())).expect("the UTC demo configuration is valid")
        }
    }
}

/// The demo floor: 200 agents in 10 teams, endless, with history.
///
/// From 10:00 to 17:00 local it starts at today's 08:00 on shifts, so by `now_ms` the
/// floor has a morning behind it: the caller applies every line with `ts <= now_ms` at
/// once and paces the rest in real time. At any other hour the day's shifts start
/// instead two hours before `now_ms` (on the half hour): outside office hours a wallboard
/// of logged-out agents would show nothing, and at 08:01 a floor started at 08:00 would
/// have no history yet (no figures to speak of, no alert). So the floor is at least two
/// hours into its shifts, with a roster, at any hour the demo is started.
///
/// Injected, repeating daily at the same local times: an aux cluster in team T03 (30% of
/// its logged-in agents on `break` for 10 minutes) three minutes from now if a peak window
/// is under way with at least 20 minutes left, else ten minutes into the next peak window;
/// and a 14-minute `break` in team T06 two minutes from now, which passes the default
/// 10-minute `long_aux` limit.
pub fn demo_config(now_ms: Ms, timezone: &str, peaks: &[(Time, Time)]) -> SimConfig {
    let tz = TimeZone::get(timezone).unwrap_or(TimeZone::UTC);
    let mut cal = calendar::Calendar::new(tz, peaks);
    let day = cal.day_of(now_ms);
    let hour = 3_600_000;
    let office = (cal.at(day, 10 * hour)..cal.at(day, 17 * hour)).contains(&now_ms);
    let half_hour = 30 * 60_000;
    let start = if office { cal.at(day, 8 * hour) } else { (now_ms - 2 * hour).div_euclid(half_hour) * half_hour };
    let minute_up = |t: Ms| t.div_euclid(60_000) * 60_000 + 60_000;
    let cluster_at = match cal.peak_containing(now_ms) {
        Some((_, end)) if end - now_ms >= 20 * 60_000 => minute_up(now_ms + 2 * 60_000),
        _ => cal.next_peak_start(now_ms).map_or(now_ms + 3_600_000, |t| t + 10 * 60_000),
    };
    SimConfig {
        start,
        duration: None,
        timezone: timezone.to_string(),
        peaks: peaks.to_vec(),
        shift_start: cal.local_time(start),
        clusters: vec![Cluster { team: 3, at: cal.local_time(cluster_at), share: 0.3, minutes: 10 }],
        long_breaks: vec![LongBreak {
            team: 6,
            at: cal.local_time(minute_up(now_ms + 60_000)),
            minutes: 14,
            reason: "break".to_string(),
        }],
        ..SimConfig::default()
    }
}

/// The roster rows as CSV (`agent,start,end,activity`, RFC 3339 UTC), as WFM tools export it.
pub fn roster_csv(rows: &[RosterRow]) -> String {
    let mut out = String::from("agent,start,end,activity\n");
    for r in rows {
        let act = r.activity.as_deref().unwrap_or("shift");
        out.push_str(&format!("{},{},{},{act}\n", r.agent, crate::time::fmt_ms(r.start), crate::time::fmt_ms(r.end)));
    }
    out
}

/// The roster rows as an upload for the engine (`serve --demo`).
pub fn roster_upload(rows: &[RosterRow]) -> crate::roster::parse::Upload {
    let mut up = crate::roster::parse::Upload::default();
    for r in rows {
        let row = crate::roster::Row { start: r.start, end: r.end, act: r.activity.as_deref().map(Into::into) };
        match up.agents.iter_mut().find(|(a, _)| a == r.agent.as_str()) {
            Some((_, v)) => v.push(row),
            None => up.agents.push((r.agent.as_str().into(), vec![row])),
        }
    }
    up
}
