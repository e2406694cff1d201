//! `floorwatch simulate`: flags, pacing and progress around [`Simulator`] and the sinks.

use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::FutureExt;
use jiff::civil::Time;

use super::sink::{Sent, Sink};
use super::{
    Cluster, DEFAULT_SHIFT_START, LongBreak, SimConfig, SimLine, Simulator, calendar, live_shift_start, today_at,
};
use crate::time::{Ms, fmt_ms, parse_instant};

/// A batch is sent (and a TCP connection written) once it holds this many bytes, whatever
/// `--batch` says: the "buffered writes of 256 KiB" of the NDJSON transports.
pub(crate) const MAX_BATCH_BYTES: usize = 256 * 1024;

/// Generate a realistic simulated floor (NDJSON events, docs/events.md) to a file, stdout, TCP,
/// WebSocket or HTTP.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:
  floorwatch simulate --out day.ndjson                      # today 08:00-18:00 UTC, 200 agents
  floorwatch simulate --timezone Asia/Shanghai --cluster T07@10:15 --long-break 3@14:20:25:restroom --out -
  floorwatch simulate --live --tcp 127.0.0.1:7070 --cluster 3@10:15:0.4:12
  floorwatch simulate --speed 60 --ws ws://127.0.0.1:8080 --token \"$TOKEN\"
  floorwatch simulate --no-shifts --agents 100000 --teams 2000 --duration 1h --speed max --tcp 127.0.0.1:7070
  floorwatch simulate --noise 0.05 --duration 2h --http http://127.0.0.1:8080 --speed max")]
pub struct SimulateArgs {
    /// Number of agents (ids A0001, A0002, …).
    #[arg(long, default_value_t = 200)]
    pub agents: u32,

    /// Number of teams (ids T01, T02, …); agents are split into equal contiguous teams.
    #[arg(long, default_value_t = 10)]
    pub teams: u32,

    /// Call queues (support, sales, billing, …): team k answers queue k mod N; the calls'
    /// `queued`, `answered` and `abandoned` events go with the agents'. 0 = agents only.
    #[arg(long, default_value_t = 3)]
    pub queues: u32,

    /// Random seed: the same seed and flags always give the same events.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,

    /// First simulated instant: RFC 3339 (2026-11-23T08:00:00+08:00), epoch milliseconds,
    /// or `now` [default: today 08:00 in --timezone; now with --live].
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,

    /// How much time to simulate: 10h, 90m, 45s, 1h30m, 2d, or `forever`.
    #[arg(long, default_value = "10h", value_parser = parse_duration_arg)]
    pub duration: SimDuration,

    /// IANA time zone of the floor (e.g. Asia/Shanghai): shift starts, peak windows and the
    /// times of --cluster and --long-break are local times there.
    #[arg(long, default_value = "UTC", value_name = "TZ")]
    pub timezone: String,

    /// Peak windows, local time, comma-separated; call load is highest in them. Match the
    /// daemon's `peak.windows`.
    #[arg(long, value_name = "HH:MM-HH:MM,...", value_delimiter = ',',
          default_value = "09:30-11:30,14:00-16:30", value_parser = parse_window_arg)]
    pub peaks: Vec<(Time, Time)>,

    /// Local time at which the earliest teams' shifts start; teams are staggered by 0, 30,
    /// 60 and 90 minutes [default: 08:00; with --live (and no --start), when none of those
    /// shifts is under way now, the half hour an hour before now, so that the floor is at
    /// work whenever the feed starts].
    #[arg(long, value_name = "HH:MM", value_parser = parse_time_arg)]
    pub shift_start: Option<Time>,

    /// Shift length, lunch included (e.g. 9h, 8h30m).
    #[arg(long, default_value = "9h", value_parser = parse_duration_arg)]
    pub shift: SimDuration,

    /// No shifts: every agent logs in within the first simulated minute and stays logged in
    /// (for load tests).
    #[arg(long)]
    pub no_shifts: bool,

    /// Target share of logged-in time in unplanned aux, floor-wide (healthy: 0.08–0.09).
    #[arg(long, default_value_t = 0.085, value_name = "FRACTION")]
    pub aux_share: f64,

    /// Inject an aux cluster: at local time HH:MM (every simulated day) SHARE [0.3] of team
    /// TEAM's logged-in agents (at least 3) go on unplanned `break` together for MINUTES
    /// [10]. TEAM is a team id or number (T07 or 7). Put it in a peak window to trip the
    /// daemon's aux_cluster alert. Repeatable.
    #[arg(long, value_name = "TEAM@HH:MM[:SHARE[:MINUTES]]", value_parser = parse_cluster)]
    pub cluster: Vec<Cluster>,

    /// Inject a long break: at local time HH:MM one logged-in agent of team TEAM goes on
    /// unplanned aux REASON [break] for MINUTES [20] — past the default long_aux limit
    /// (10 min, or the reason's own under [alerts.long_aux] per_reason). Repeatable.
    #[arg(long, value_name = "TEAM@HH:MM[:MINUTES[:REASON]]", value_parser = parse_long_break)]
    pub long_break: Vec<LongBreak>,

    /// Fraction of all lines that are noise, to test ingest: duplicates, late events,
    /// garbage (invalid) lines and unknown states, in equal parts. The good events are those
    /// of the same run without noise.
    #[arg(long, default_value_t = 0.0, value_name = "FRACTION")]
    pub noise: f64,

    /// Write NDJSON to FILE, or to stdout with `-` (the default when no other output is
    /// given). Nothing but events goes to stdout; progress goes to stderr.
    #[arg(long, value_name = "FILE|-", group = "sink")]
    pub out: Option<String>,

    /// Also write the floor's roster (CSV, docs/adherence.md) to FILE when the simulation
    /// ends: every simulated shift and its planned lunch, two 15-minute breaks and sessions
    /// as scheduled, with one agent in 17 back from lunch 8 minutes late, one in 23 logging
    /// off 20 minutes early, and one agent more than the floor has, who never logs in. With
    /// it the agents take their short breaks when scheduled instead of at will. Needs shifts.
    #[arg(long, value_name = "FILE")]
    pub roster: Option<String>,

    /// Stream NDJSON over TCP to the daemon's ingest port (e.g. 127.0.0.1:7070), in batched
    /// writes; reconnects with back-off (and resends the batch) if the daemon goes away.
    #[arg(long, value_name = "HOST:PORT", group = "sink")]
    pub tcp: Option<String>,

    /// Stream to the daemon's WebSocket ingest (ws://HOST:PORT/ingest; the path defaults to
    /// /ingest), one JSON array of --batch events per text frame, with acks (`?ack=1`); reports
    /// the outcome counts of the acks at the end.
    #[arg(long, value_name = "URL", group = "sink")]
    pub ws: Option<String>,

    /// POST JSON arrays of --batch events to the daemon (http://HOST:PORT/api/v1/events; the
    /// path defaults to /api/v1/events) and report the outcome counts it answers.
    #[arg(long, value_name = "URL", group = "sink")]
    pub http: Option<String>,

    /// Events per batch: per WebSocket frame or HTTP request [default: 500 for --ws, 1000
    /// for --http, 4096 otherwise]; a batch also ends at 256 KiB or when pacing waits.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub batch: Option<u64>,

    /// Time compression: 60 sends one simulated minute per second, 1 is real time; 0 or
    /// `max` sends as fast as possible [default: max for --out, 1 for network outputs].
    #[arg(long, value_name = "X|max", value_parser = parse_speed, conflicts_with = "live")]
    pub speed: Option<Speed>,

    /// Live feed: stream in real time with wall-clock event times (what a daemon on the wall
    /// clock expects). The simulation starts now unless --start says otherwise; the timeline
    /// is shifted so that its first event happens now (with --start, or when nobody is on
    /// shift yet, local times in the stream then differ from the simulated ones).
    #[arg(long)]
    pub live: bool,

    /// Bearer token for --ws and --http (`Authorization: Bearer T`), the daemon's
    /// `auth.ingest_token`.
    #[arg(long, value_name = "T", env = "FLOORWATCH_INGEST_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Stop after N lines (noise included).
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
}

/// A simulated length; `None` is endless.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimDuration(pub Option<Ms>);

/// Time compression; `None` is as fast as possible.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Speed(pub Option<f64>);

/// Parses `10h`, `90m`, `45s`, `1h30m`, `2d`, `500ms` (a sum of number–unit pairs) or
/// `forever`/`inf`.
pub fn parse_duration(s: &str) -> Result<Option<Ms>, String> {
    let s = s.trim();
    if matches!(s, "forever" | "inf" | "infinite") {
        return Ok(None);
    }
    let bad = || format!("bad duration {s:?}: expected e.g. 10h, 90m, 1h30m, 45s or forever");
    let mut total: Ms = 0;
    let mut rest = s;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let n_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let n: Ms = rest[..n_len].parse().map_err(|_| bad())?;
        rest = &rest[n_len..];
        let u_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = match &rest[..u_len] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        rest = &rest[u_len..];
        total = n.checked_mul(unit).and_then(|x| total.checked_add(x)).ok_or_else(bad)?;
    }
    Ok(Some(total))
}

fn parse_duration_arg(s: &str) -> Result<SimDuration, String> {
    parse_duration(s).map(SimDuration)
}

fn parse_speed(s: &str) -> Result<Speed, String> {
    if s == "max" {
        return Ok(Speed(None));
    }
    match s.parse::<f64>() {
        Ok(0.0) => Ok(Speed(None)),
        Ok(x) if x > 0.0 && x.is_finite() => Ok(Speed(Some(x))),
        _ => Err(format!("bad speed {s:?}: expected a positive number, 0 or max")),
    }
}

fn parse_time_arg(s: &str) -> Result<Time, String> {
    calendar::parse_time(s).ok_or_else(|| format!("bad time {s:?}: expected HH:MM"))
}

fn parse_window_arg(s: &str) -> Result<(Time, Time), String> {
    calendar::parse_window(s).ok_or_else(|| format!("bad peak window {s:?}: expected HH:MM-HH:MM"))
}

/// `T07`, `t07` or `7` → 7.
fn parse_team(s: &str) -> Result<u32, String> {
    let digits = s.strip_prefix(['T', 't']).unwrap_or(s);
    match digits.parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("bad team {s:?}: expected a team id or number such as T07 or 7")),
    }
}

/// Splits `TEAM@HH:MM[:A[:B]]` into the team, the time and the optional extras.
fn split_injection(s: &str) -> Result<(u32, Time, Vec<&str>), String> {
    let (team, rest) = s.split_once('@').ok_or_else(|| format!("{s:?}: expected TEAM@HH:MM…"))?;
    let parts: Vec<&str> = rest.split(':').collect();
    if parts.len() < 2 {
        return Err(format!("{s:?}: expected TEAM@HH:MM…"));
    }
    let at = parse_time_arg(&format!("{}:{}", parts[0], parts[1]))?;
    Ok((parse_team(team)?, at, parts[2..].to_vec()))
}

/// Parses `TEAM@HH:MM[:SHARE[:MINUTES]]`.
pub fn parse_cluster(s: &str) -> Result<Cluster, String> {
    let (team, at, extra) = split_injection(s)?;
    if extra.len() > 2 {
        return Err(format!("{s:?}: expected TEAM@HH:MM[:SHARE[:MINUTES]]"));
    }
    let share = match extra.first() {
        Some(x) => match x.parse::<f64>() {
            Ok(v) if v > 0.0 && v <= 1.0 => v,
            _ => return Err(format!("{s:?}: SHARE must be a fraction in (0, 1], e.g. 0.3")),
        },
        None => 0.3,
    };
    let minutes = match extra.get(1) {
        Some(x) => x.parse::<u32>().ok().filter(|&m| m > 0).ok_or_else(|| format!("{s:?}: bad MINUTES"))?,
        None => 10,
    };
    Ok(Cluster { team, at, share, minutes })
}

/// Parses `TEAM@HH:MM[:MINUTES[:REASON]]`.
pub fn parse_long_break(s: &str) -> Result<LongBreak, String> {
    let (team, at, extra) = split_injection(s)?;
    if extra.len() > 2 {
        return Err(format!("{s:?}: expected TEAM@HH:MM[:MINUTES[:REASON]]"));
    }
    let minutes = match extra.first() {
        Some(x) => x.parse::<u32>().ok().filter(|&m| m > 0).ok_or_else(|| format!("{s:?}: bad MINUTES"))?,
        None => 20,
    };
    let reason = extra.get(1).map_or("break", |r| r).to_string();
    Ok(LongBreak { team, at, minutes, reason })
}

impl SimulateArgs {
    /// The simulator configuration these flags describe, as of wall-clock `now`.
    pub fn to_config(&self, now: Ms) -> anyhow::Result<SimConfig> {
        let start = match self.start.as_deref() {
            // Live, the simulated clock is the wall clock: shifts, peaks and injection times
            // then line up with the daemon's.
            None if self.live => now,
            None => today_at(now, &self.timezone, Time::constant(8, 0, 0, 0))?,
            Some("now") => now,
            Some(s) => parse_instant(s)
                .with_context(|| format!("--start {s:?}: expected RFC 3339, epoch milliseconds or now"))?,
        };
        let shift_ms = self.shift.0.unwrap_or(0);
        let shift_start = match self.shift_start {
            Some(t) => t,
            // A live floor at night: nobody would work until the morning (and the default
            // 10 hours would send nothing at all).
            None if self.live && self.start.is_none() && !self.no_shifts => {
                live_shift_start(now, &self.timezone, shift_ms)?
            }
            None => DEFAULT_SHIFT_START,
        };
        let cfg = SimConfig {
            agents: self.agents,
            teams: self.teams,
            seed: self.seed,
            start,
            duration: self.duration.0,
            timezone: self.timezone.clone(),
            peaks: self.peaks.clone(),
            shifts: !self.no_shifts,
            shift_start,
            shift_ms,
            aux_share: self.aux_share,
            clusters: self.cluster.clone(),
            long_breaks: self.long_break.clone(),
            noise: self.noise,
            offset_ms: 0,
            queues: self.queues,
        };
        cfg.validate()?;
        Ok(cfg)
    }
}

/// Runs `floorwatch simulate`. Returns when the simulated time or `--count` is used up, on
/// Ctrl-C (after sending what was generated), or when stdout is closed. With `--http` or
/// `--ws`, returns (and prints) the outcome counts the daemon answered.
pub async fn run(args: SimulateArgs) -> anyhow::Result<Option<String>> {
    let now = jiff::Timestamp::now().as_millisecond();
    let mut cfg = args.to_config(now)?;
    let network = args.tcp.is_some() || args.ws.is_some() || args.http.is_some();
    let speed = match args.speed {
        _ if args.live => Some(1.0),
        Some(Speed(s)) => s,
        None if network => Some(1.0),
        None => None,
    };
    if args.live && args.shift_start.is_none() && cfg.shift_start != DEFAULT_SHIFT_START {
        eprintln!(
            "simulate: no shift from {} is under way now ({}): the floor's shifts start at {} instead (--shift-start to choose)",
            DEFAULT_SHIFT_START.strftime("%H:%M"),
            cfg.timezone,
            cfg.shift_start.strftime("%H:%M"),
        );
    }
    if args.live {
        // The same configuration yields the same first event: move it to now.
        if let Some(first) = Simulator::new(cfg.clone())?.next() {
            cfg.offset_ms = now - first.ts;
        }
    }
    let mut sim = Simulator::new(cfg)?;
    if args.roster.is_some() {
        sim.record_roster();
    }

    let (mut sink, default_batch) = if let Some(addr) = &args.tcp {
        (Sink::tcp(addr).await?, 4096)
    } else if let Some(url) = &args.ws {
        (Sink::ws(url, args.token.clone()).await?, 500)
    } else if let Some(url) = &args.http {
        (Sink::http(url, args.token.clone())?, 1000)
    } else {
        (Sink::file(args.out.as_deref().unwrap_or("-")).await?, 4096)
    };
    let batch_max = args.batch.map_or(default_batch, |b| b as usize);

    let mut ctrl_c = Box::pin(tokio::signal::ctrl_c());
    let mut lines = sim.by_ref().peekable();
    let mut batch: Vec<SimLine> = Vec::with_capacity(batch_max);
    let mut progress = Progress::new();
    // Pacing: line at simulated `ts` is due at `started + (ts − first_ts) / speed`.
    let started = Instant::now();
    let mut first_ts: Option<Ms> = None;
    let mut stopped = false;
    loop {
        let mut bytes = 0;
        let mut wait_until = None;
        let left = args.count.map_or(u64::MAX, |c| c - progress.lines);
        while batch.len() < batch_max && bytes < MAX_BATCH_BYTES && (batch.len() as u64) < left {
            let Some(next) = lines.peek() else { break };
            if let Some(speed) = speed {
                let t0 = *first_ts.get_or_insert(next.ts);
                let due = started + Duration::from_secs_f64((next.ts - t0) as f64 / 1000.0 / speed);
                if due > Instant::now() {
                    wait_until = Some(due);
                    break;
                }
            }
            let line = lines.next().expect("peeked");
            bytes += line.line.len() + 1;
            batch.push(line);
        }
        if !batch.is_empty() {
            let sent = sink.send(&batch).await?;
            progress.add(&batch);
            batch.clear();
            if matches!(sent, Sent::Closed) {
                break;
            }
        }
        progress.tick();
        if ctrl_c.as_mut().now_or_never().is_some() {
            stopped = true;
            break;
        }
        let exhausted = lines.peek().is_none() || args.count.is_some_and(|c| progress.lines >= c);
        if exhausted {
            break;
        }
        if let Some(due) = wait_until {
            tokio::select! {
                _ = tokio::time::sleep_until(due.into()) => {}
                _ = ctrl_c.as_mut() => { stopped = true; break; }
            }
        }
    }
    drop(lines);
    let summary = sink.finish().await?;
    progress.done(stopped);
    if let Some(path) = &args.roster {
        let rows = sim.take_roster();
        std::fs::write(path, super::roster_csv(&rows))
            .map_err(|e| anyhow::anyhow!("--roster: cannot write {path}: {e}"))?;
        eprintln!("simulate: roster of {} spans written to {path}", rows.len());
    }
    if let Some(s) = &summary {
        eprintln!("simulate: {s}");
    }
    Ok(summary)
}

/// Counts and the once-a-second progress line on stderr.
struct Progress {
    started: Instant,
    last: Instant,
    last_lines: u64,
    lines: u64,
    noise: u64,
    sim_ts: Option<Ms>,
}

impl Progress {
    fn new() -> Progress {
        let now = Instant::now();
        Progress { started: now, last: now, last_lines: 0, lines: 0, noise: 0, sim_ts: None }
    }

    fn add(&mut self, batch: &[SimLine]) {
        self.lines += batch.len() as u64;
        self.noise += batch.iter().filter(|l| l.noise.is_some()).count() as u64;
        self.sim_ts = batch.last().map(|l| l.ts);
    }

    fn tick(&mut self) {
        let dt = self.last.elapsed();
        if dt >= Duration::from_secs(1) {
            let rate = (self.lines - self.last_lines) as f64 / dt.as_secs_f64();
            eprintln!(
                "simulate: {} lines sent, {rate:.0}/s, simulated time {}",
                self.lines,
                self.sim_ts.map_or_else(|| "-".into(), fmt_ms)
            );
            self.last = Instant::now();
            self.last_lines = self.lines;
        }
    }

    fn done(&self, stopped: bool) {
        let secs = self.started.elapsed().as_secs_f64();
        eprintln!(
            "simulate: {}{} lines ({} noise) in {secs:.1} s ({:.0}/s){}",
            if stopped { "interrupted: " } else { "" },
            self.lines,
            self.noise,
            self.lines as f64 / secs.max(1e-9),
            self.sim_ts.map_or_else(String::new, |t| format!(", up to {}", fmt_ms(t))),
        );
        if self.lines == 0 && !stopped {
            eprintln!(
                "simulate: nothing to send: nobody is on shift in the simulated time (shifts start at --shift-start, \
                 08:00 by default; --start, --duration or --no-shifts to change it)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SimulateArgs,
    }

    fn args(a: &[&str]) -> Result<SimulateArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("simulate").chain(a.iter().copied())).map(|c| c.args)
    }

    #[test]
    fn run_and_the_simulator_can_move_between_threads() {
        fn send<T: Send>(_: &T) {}
        send(&run(args(&[]).unwrap()));
        send(&Simulator::new(SimConfig::default()).unwrap());
    }

    #[test]
    fn durations() {
        for (s, ms) in [
            ("10h", Some(36_000_000)),
            ("90m", Some(5_400_000)),
            ("1h30m", Some(5_400_000)),
            ("45s", Some(45_000)),
            ("2d", Some(172_800_000)),
            ("250ms", Some(250)),
            ("forever", None),
        ] {
            assert_eq!(parse_duration(s), Ok(ms), "{s}");
        }
        for bad in ["", "10", "h", "10x", "-5m", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn injections() {
        let c = parse_cluster("T07@10:15").unwrap();
        assert_eq!((c.team, c.at, c.share, c.minutes), (7, Time::constant(10, 15, 0, 0), 0.3, 10));
        let c = parse_cluster("3@14:30:0.5:12").unwrap();
        assert_eq!((c.team, c.share, c.minutes), (3, 0.5, 12));
        for bad in ["T07", "T0@10:00", "7@25:00", "7@10:00:1.5", "7@10:00:0.3:0", "7@10:00:0.3:5:9"] {
            assert!(parse_cluster(bad).is_err(), "{bad}");
        }
        let l = parse_long_break("t2@09:45").unwrap();
        assert_eq!((l.team, l.minutes, l.reason.as_str()), (2, 20, "break"));
        let l = parse_long_break("2@09:45:18:restroom").unwrap();
        assert_eq!((l.minutes, l.reason.as_str()), (18, "restroom"));
    }

    #[test]
    fn flags_build_the_config() {
        let a = args(&[
            "--agents",
            "50",
            "--teams",
            "5",
            "--start",
            "2026-11-23T08:00:00+08:00",
            "--duration",
            "2h",
            "--timezone",
            "Asia/Shanghai",
            "--cluster",
            "T02@10:00",
            "--noise",
            "0.1",
            "--out",
            "x.ndjson",
        ])
        .unwrap();
        let cfg = a.to_config(0).unwrap();
        assert_eq!(cfg.start, parse_instant("2026-11-23T00:00:00Z").unwrap());
        assert_eq!(cfg.duration, Some(7_200_000));
        assert_eq!((cfg.agents, cfg.teams, cfg.noise), (50, 5, 0.1));
        assert_eq!(cfg.clusters.len(), 1);
        assert_eq!(cfg.peaks, super::super::default_peaks());
        // The default start is today 08:00 in the time zone.
        let a = args(&["--timezone", "Asia/Shanghai"]).unwrap();
        let now = parse_instant("2026-11-23T20:00:00Z").unwrap(); // 04:00 on the 24th there
        assert_eq!(a.to_config(now).unwrap().start, parse_instant("2026-11-24T00:00:00Z").unwrap());
        assert_eq!(args(&["--live"]).unwrap().to_config(now).unwrap().start, now);
        // Validation names the problem.
        let a = args(&["--teams", "5", "--cluster", "T09@10:00"]).unwrap();
        assert!(a.to_config(0).unwrap_err().to_string().contains("cluster team 9"));
    }

    #[test]
    fn a_live_floor_is_at_work_whenever_it_starts() {
        let at = |s: &str| parse_instant(s).unwrap();
        let live = |extra: &[&str], now: &str| {
            let a = args(&[&["--live"], extra].concat()).unwrap();
            a.to_config(at(now)).unwrap()
        };
        // By day the shifts from 08:00 are under way: they stay (staggered to 09:30, 9 h).
        for now in ["2026-11-23T08:00:00Z", "2026-11-23T12:00:00Z", "2026-11-23T18:29:00Z"] {
            assert_eq!(live(&[], now).shift_start, Time::constant(8, 0, 0, 0), "{now}");
        }
        // At night, and just before 08:00, nobody would be at work (the default 10 hours
        // sent nothing at 21:30): the shifts start on the half hour an hour back.
        assert_eq!(live(&[], "2026-11-23T21:40:00Z").shift_start, Time::constant(20, 30, 0, 0));
        assert_eq!(live(&[], "2026-11-23T07:55:00Z").shift_start, Time::constant(6, 30, 0, 0));
        assert_eq!(live(&[], "2026-11-23T18:30:00Z").shift_start, Time::constant(17, 30, 0, 0));
        // In the floor's zone: 21:40 UTC is 05:40 in Shanghai.
        let cfg = live(&["--timezone", "Asia/Shanghai"], "2026-11-23T21:40:00Z");
        assert_eq!(cfg.shift_start, Time::constant(4, 30, 0, 0));
        // Its first agents log in within the feed's first minute.
        let first = Simulator::new(cfg).unwrap().next().unwrap();
        assert!((at("2026-11-23T21:40:00Z")..at("2026-11-23T21:41:00Z")).contains(&first.ts), "{}", first.line);
        // Told, or not live, or from a given start: as asked.
        assert_eq!(live(&["--shift-start", "08:00"], "2026-11-23T21:40:00Z").shift_start, Time::constant(8, 0, 0, 0));
        let a = args(&["--live", "--start", "2026-11-23T21:40:00Z"]).unwrap();
        assert_eq!(a.to_config(at("2026-11-23T21:40:00Z")).unwrap().shift_start, Time::constant(8, 0, 0, 0));
        let a = args(&[]).unwrap();
        assert_eq!(a.to_config(at("2026-11-23T21:40:00Z")).unwrap().shift_start, Time::constant(8, 0, 0, 0));
    }

    #[test]
    fn one_output_at_most_and_live_is_real_time() {
        assert!(args(&["--out", "f", "--tcp", "h:1"]).is_err());
        assert!(args(&["--ws", "ws://h:1", "--http", "http://h:1"]).is_err());
        assert!(args(&["--live", "--speed", "60"]).is_err());
        assert_eq!(args(&["--speed", "max"]).unwrap().speed, Some(Speed(None)));
        assert_eq!(args(&["--speed", "0"]).unwrap().speed, Some(Speed(None)));
        assert_eq!(args(&["--speed", "60"]).unwrap().speed, Some(Speed(Some(60.0))));
        assert!(args(&["--speed", "-1"]).is_err());
        assert!(args(&["--batch", "0"]).is_err());
    }
}
