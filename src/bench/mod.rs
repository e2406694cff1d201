//! `floorwatch bench`: load benchmarks of the whole daemon, measured against the machine's
//! limit in the same run (issue 7; numbers and commands in BENCHMARKS.md).
//!
//! The daemon runs in-process exactly as `serve` runs it (`server::run` on 127.0.0.1 port 0,
//! a multi-thread tokio runtime with one worker per core, threads named `fw-daemon`). The
//! load generator runs on the calling thread in its own single-thread runtime, so the
//! daemon's CPU time can be told apart from the generator's (`/proc/self/task/*/stat`).
//! All traffic stays on loopback; every scenario is bounded in events and time.
//!
//! * `ingest` — events/s over TCP NDJSON (256 KiB writes) and WebSocket `/ingest` (JSON
//!   arrays), and the **limit**: the same bytes, same socket kind and read buffer, only
//!   split and decoded into [`Event`](crate::event::Event) by a sink that applies nothing.
//! * `latency` — p50/p99 from an event's write to its effect in `/api/v1/snapshot` while
//!   the daemon ingests a paced background load.
//! * `scale` — a full simulated working day of a large floor: resident memory, `/metrics`
//!   scrape time, one team's snapshot time.
//! * `wallboard` — `/ws` clients at the push interval: daemon CPU, bytes/s per client, and
//!   the ingest rate with and without them.
//!
//! Completion is never inferred from the sender: the daemon's own outcome counters (the
//! snapshot's `ingest`) must reach the number of events sent.

mod ingest;
mod latency;
mod scale;
mod wallboard;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::config::FileConfig;
use crate::engine::IngestCounts;
use crate::server::{Listeners, ServeOptions};
use crate::time::Ms;

/// Load benchmarks of the whole daemon (see BENCHMARKS.md). Traffic stays on 127.0.0.1.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:
  floorwatch bench ingest                     # TCP, WebSocket and the parse-only limit, 5 runs each
  floorwatch bench ingest --events 1000000 --runs 3 --json ingest.json
  floorwatch bench latency --rate 100000
  floorwatch bench scale --agents 100000 --teams 2000
  floorwatch bench wallboard --clients 500 --agents 2000
Build with --release: a debug build measures the compiler, not floorwatch.")]
pub struct BenchArgs {
    #[command(subcommand)]
    pub scenario: Scenario,
    /// Also write the results as JSON to this file.
    #[arg(long, global = true, value_name = "FILE")]
    pub json: Option<std::path::PathBuf>,
    /// Run the daemon with its write-ahead journal on (in a temporary directory). Off by
    /// default, like the tests.
    #[arg(long, global = true)]
    pub journal: bool,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum Scenario {
    /// Events/s over TCP NDJSON and WebSocket, and the parse-only limit of the same bytes.
    Ingest(ingest::Args),
    /// Time from an event's arrival to its effect in /api/v1/snapshot under load.
    Latency(latency::Args),
    /// A full working day of a large floor: memory, /metrics scrape, team snapshot.
    Scale(scale::Args),
    /// /ws wallboard clients: daemon CPU, bytes/s per client, ingest rate with and without.
    Wallboard(wallboard::Args),
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("bench: WARNING: this is a debug build; numbers are meaningless (use --release)");
    }
    let env = Env { journal: args.journal };
    let result = match &args.scenario {
        Scenario::Ingest(a) => ingest::run(&env, a)?,
        Scenario::Latency(a) => latency::run(&env, a)?,
        Scenario::Scale(a) => scale::run(&env, a)?,
        Scenario::Wallboard(a) => wallboard::run(&env, a)?,
    };
    let doc = json!({ "machine": machine(), "result": result });
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// What every scenario shares.
pub(crate) struct Env {
    journal: bool,
}

/// The machine, for the record.
fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let mem_kb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| s.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse::<u64>().ok()))
        .unwrap_or(0);
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "cpu": cpu,
        "mem_gib": (mem_kb as f64 / 1024.0 / 1024.0 * 10.0).round() / 10.0,
        "debug_build": cfg!(debug_assertions),
        "version": env!("CARGO_PKG_VERSION"),
    })
}

pub(crate) fn wall_now() -> Ms {
    crate::server::wall_ms()
}

/// A fixed-offset zone where it is about 20:00 now, and 08:00 local today in it: a day of
/// `hours` from then is all in the past and all "today" (with UTC, a run at 03:00 would keep
/// only three hours). For the event clock, which follows the day's stamps.
pub(crate) fn past_day(hours: i64) -> anyhow::Result<(String, crate::time::Ms)> {
    let now = wall_now();
    let utc_hour = now.div_euclid(3_600_000).rem_euclid(24);
    let mut offset = (20 - utc_hour).rem_euclid(24);
    if offset > 14 {
        offset -= 24;
    }
    // POSIX-style names: Etc/GMT-5 is UTC+5.
    let tz = match offset {
        0 => "UTC".to_string(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    };
    let start = crate::sim::today_at(now, &tz, jiff::civil::Time::constant(8, 0, 0, 0))?;
    anyhow::ensure!(start + hours * 3_600_000 <= now, "--hours {hours} does not end before now in {tz}");
    Ok((tz, start))
}

/// A working day of `agents` in `teams`, on shifts from 08:00 local today for `hours`, in
/// the zone [`past_day`] picks (named in the config).
pub(crate) fn day_floor(agents: u32, teams: u32, hours: i64, queues: u32) -> anyhow::Result<crate::sim::SimConfig> {
    let (timezone, start) = past_day(hours)?;
    Ok(crate::sim::SimConfig {
        agents,
        teams,
        start,
        duration: Some(hours * 3_600_000),
        timezone,
        queues,
        ..crate::sim::SimConfig::default()
    })
}

/// The roster the simulator plans for floor `cfg` (every shift, break and lunch as its
/// agents mean to take them, with its deviations), made by simulating the day once: its
/// CSV, its rows and the day's events.
pub(crate) fn planned_roster(cfg: &crate::sim::SimConfig) -> anyhow::Result<(String, usize, usize)> {
    let mut s = crate::sim::Simulator::new(cfg.clone())?;
    s.record_roster();
    let events = s.by_ref().count();
    let rows = s.take_roster();
    Ok((crate::sim::roster_csv(&rows), rows.len(), events))
}

/// `PUT /api/v1/roster` of `csv` to daemon `d`: its answer (agents and rows), or an error
/// naming the refusal.
pub(crate) async fn put_roster(client: &reqwest::Client, d: &Daemon, csv: String) -> anyhow::Result<String> {
    let resp = client.put(d.url("/api/v1/roster")).body(csv).send().await?;
    let status = resp.status();
    let body = resp.text().await?;
    anyhow::ensure!(status.is_success(), "roster upload refused: {status} {body}");
    Ok(body)
}

/// A simulated floor of `agents` in `teams`, everyone logged in (no shifts), whose events
/// start `hours` before now (the wall clock applies them at their own time).
pub(crate) fn steady_floor(agents: u32, teams: u32, hours: i64) -> crate::sim::SimConfig {
    crate::sim::SimConfig {
        agents,
        teams,
        start: wall_now() - hours * 3_600_000,
        duration: None,
        shifts: false,
        // Agent events only; the mixed stream sets queues itself.
        queues: 0,
        ..crate::sim::SimConfig::default()
    }
}

/// The daemon, in-process, on its own runtime.
pub(crate) struct Daemon {
    rt: tokio::runtime::Runtime,
    pub http: SocketAddr,
    pub tcp: SocketAddr,
    shutdown: CancellationToken,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
    _journal_dir: Option<TempDir>,
}

/// A directory removed on drop.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The runtime the daemon (or the limit's sink) runs on: what `serve` builds, one worker
/// per core, with named threads so their CPU time can be read.
pub(crate) fn daemon_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("fw-daemon").build()?)
}

impl Daemon {
    /// Starts `serve` with the built-in defaults plus `toml`, on 127.0.0.1 port 0.
    pub fn start(env: &Env, toml: &str) -> anyhow::Result<Daemon> {
        let mut file = FileConfig::parse(toml, "bench").map_err(|e| anyhow::anyhow!("{e}"))?;
        let journal_dir = if env.journal {
            let dir = std::env::temp_dir().join(format!("floorwatch-bench-{}-{}", std::process::id(), wall_now()));
            std::fs::create_dir_all(&dir)?;
            file.journal.dir = dir.display().to_string();
            file.journal.enabled = true;
            Some(TempDir(dir))
        } else {
            file.journal.enabled = false;
            None
        };
        let rt = daemon_runtime()?;
        let (http, tcp) = rt.block_on(async {
            let http = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            anyhow::Ok((http, tcp))
        })?;
        let (http_addr, tcp_addr) = (http.local_addr()?, tcp.local_addr()?);
        let shutdown = CancellationToken::new();
        let handle = rt.spawn(crate::server::run(
            file,
            Listeners { http, tcp },
            ServeOptions { demo: false, base_dir: ".".into() },
            shutdown.clone(),
        ));
        let d = Daemon { rt, http: http_addr, tcp: tcp_addr, shutdown, handle, _journal_dir: journal_dir };
        Ok(d)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.http, path)
    }

    pub fn stop(self) {
        self.shutdown.cancel();
        let Daemon { rt, handle, .. } = self;
        let _ = rt.block_on(async { tokio::time::timeout(Duration::from_secs(10), handle).await });
        rt.shutdown_timeout(Duration::from_secs(2));
    }
}

/// The daemon's outcome counts, read from the snapshot of a team that does not exist (the
/// cheapest view: no team is summed, `ingest` is still the whole daemon's).
pub(crate) async fn outcomes(client: &reqwest::Client, d: &Daemon) -> anyhow::Result<IngestCounts> {
    let v: Value = client
        .get(d.url("/api/v1/snapshot?team=~bench-none~&agents=false"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(serde_json::from_value(v["ingest"].clone())?)
}

pub(crate) fn total(c: &IngestCounts) -> u64 {
    c.applied + c.duplicate + c.late + c.invalid
}

/// Polls the daemon every `every` until it has an outcome for `n` events; returns when
/// that was first seen and the counts. Gives up after `limit`.
pub(crate) async fn wait_outcomes(
    client: &reqwest::Client,
    d: &Daemon,
    n: u64,
    every: Duration,
    limit: Duration,
) -> anyhow::Result<(Instant, IngestCounts)> {
    let deadline = Instant::now() + limit;
    loop {
        let c = outcomes(client, d).await?;
        if total(&c) >= n {
            return Ok((Instant::now(), c));
        }
        if Instant::now() > deadline {
            anyhow::bail!("daemon reached only {} of {n} outcomes within {limit:?}: {c:?}", total(&c));
        }
        tokio::time::sleep(every).await;
    }
}

/// Median, minimum and maximum of a sample.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub(crate) struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

impl Stats {
    pub fn of(xs: &[f64]) -> Stats {
        let mut v: Vec<f64> = xs.to_vec();
        v.sort_by(|a, b| a.total_cmp(b));
        let n = v.len();
        if n == 0 {
            return Stats { median: f64::NAN, min: f64::NAN, max: f64::NAN, n };
        }
        let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
        Stats { median, min: v[0], max: v[n - 1], n }
    }

    /// The spread as ± percent of the median (half the range).
    pub fn spread_pct(&self) -> f64 {
        if self.median == 0.0 { 0.0 } else { (self.max - self.min) / 2.0 / self.median * 100.0 }
    }
}

/// A quantile (nearest rank) of a sample.
pub(crate) fn quantile(xs: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// Resident and peak resident memory of this process, bytes (Linux; 0 elsewhere).
pub(crate) fn rss() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The daemon's threads: its runtime's (`fw-daemon`, named by [`daemon_runtime`]) and the
/// applier's (`fw-apply`).
pub(crate) const DAEMON_THREADS: &str = "fw-";

/// CPU time (user + system) of this process's threads whose name starts with a prefix,
/// from a mark on (Linux; 0 elsewhere): by thread, so that threads of an earlier run ending
/// meanwhile take nothing off (they made `limit`'s daemon cores negative).
pub(crate) struct CpuMark {
    prefix: &'static str,
    at: HashMap<u64, u64>,
}

impl CpuMark {
    pub(crate) fn new(prefix: &'static str) -> Self {
        CpuMark { prefix, at: thread_ticks(prefix) }
    }

    /// CPU seconds since the mark of the threads alive now (a thread started since counts
    /// from its start; one that ended is not counted).
    pub(crate) fn secs(&self) -> f64 {
        let ticks: u64 = thread_ticks(self.prefix)
            .into_iter()
            .map(|(tid, t)| t.saturating_sub(self.at.get(&tid).copied().unwrap_or(0)))
            .sum();
        ticks as f64 / 100.0 // USER_HZ, 100 on every Linux this runs on
    }
}

/// Clock ticks (user + system) used so far by each thread of this process whose name
/// starts with `prefix`, by thread id.
fn thread_ticks(prefix: &str) -> HashMap<u64, u64> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else { return HashMap::new() };
    let mut out = HashMap::new();
    for e in dir.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|t| t.parse().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { continue };
        // pid (comm) state ... utime stime: the comm may hold spaces, so split after ')'.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        if !stat[open + 1..close].starts_with(prefix) {
            continue;
        }
        let rest: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let utime: u64 = rest.get(11).and_then(|v| v.parse().ok()).unwrap_or(0);
        let stime: u64 = rest.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
        out.insert(tid, utime + stime);
    }
    out
}

/// The load generator's runtime: one thread (the caller's).
pub(crate) fn load_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

/// Every simulator line starts with its `ts`, RFC 3339 with milliseconds in UTC, e.g.
/// `{"ts":"2026-11-23T09:15:02.123Z",...`: 24 bytes at byte 7.
const TS_AT: usize = r#"{"ts":""#.len();
const TS_LEN: usize = "2026-11-23T09:15:02.123Z".len();

/// The pace of a re-stamped stream: events per second of `ts`.
pub(crate) const RESTAMP_RATE: i64 = 1_000_000;

/// Re-stamps simulator `lines` (in send order) as a live floor sending `RESTAMP_RATE`
/// events/s whose last event is stamped `end`: same bytes, order kept, so every agent's
/// events stay in order.
///
/// A load of hours of history sent in seconds to a wall-clock daemon is hours old to it:
/// every unplanned aux stretch open at a view or tick is already over the long_aux limit
/// and fires an alert, and the first view evaluates every minute since midnight for every
/// team. No live floor sends that; the benchmarks that measure a live floor re-stamp.
pub(crate) fn restamp(lines: &mut [String], end: crate::time::Ms) -> anyhow::Result<()> {
    let len = lines.len() as i64;
    let mut stamp = (crate::time::Ms::MIN, String::new());
    for (i, line) in lines.iter_mut().enumerate() {
        anyhow::ensure!(
            line.starts_with(r#"{"ts":""#) && line.as_bytes().get(TS_AT + TS_LEN) == Some(&b'"'),
            "a simulator line without a leading millisecond `ts`: {line}"
        );
        let ts = end - (len - 1 - i as i64) * 1000 / RESTAMP_RATE;
        if stamp.0 != ts {
            stamp = (ts, crate::time::fmt_ms(ts));
        }
        line.replace_range(TS_AT..TS_AT + TS_LEN, &stamp.1);
    }
    Ok(())
}

/// Cuts NDJSON lines into writes of at most `max` bytes, at line boundaries.
pub(crate) fn chunks(lines: impl IntoIterator<Item = String>, max: usize) -> Vec<bytes::Bytes> {
    let mut out = Vec::new();
    let mut buf: Vec<u8> = Vec::with_capacity(max);
    for l in lines {
        if !buf.is_empty() && buf.len() + l.len() + 1 > max {
            out.push(bytes::Bytes::from(std::mem::replace(&mut buf, Vec::with_capacity(max))));
        }
        buf.extend_from_slice(l.as_bytes());
        buf.push(b'\n');
    }
    if !buf.is_empty() {
        out.push(bytes::Bytes::from(buf));
    }
    out
}

pub(crate) fn fmt_rate(x: f64) -> String {
    if x >= 1e6 { format!("{:.2} M/s", x / 1e6) } else { format!("{:.0} k/s", x / 1e3) }
}
