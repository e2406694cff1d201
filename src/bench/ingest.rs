//! `bench ingest`: events/s through the daemon over TCP NDJSON and WebSocket, and the
//! limit of the same bytes on the same kind of socket, parsed and nothing else.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::{
    CpuMark, DAEMON_THREADS, Daemon, Env, Stats, chunks, daemon_runtime, fmt_rate, load_runtime, restamp, wait_outcomes,
};
use crate::engine::IngestCounts;
use crate::event::{Aliases, decode_bytes};
use crate::sim::Simulator;

/// How often the daemon's counters are polled for completion: a 10 ms resolution on runs
/// of seconds, and few enough views not to slow ingest.
const POLL: Duration = Duration::from_millis(10);

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Events per run (generated once by the simulator, sent in every run).
    #[arg(long, default_value_t = 3_000_000)]
    pub events: u64,
    /// Agents of the simulated floor (all logged in, no shifts).
    #[arg(long, default_value_t = 20_000)]
    pub agents: u32,
    /// Teams of the simulated floor.
    #[arg(long, default_value_t = 400)]
    pub teams: u32,
    /// Call queues of the simulated floor: a mixed stream of agent and call events (about
    /// 40% call events with 3 queues). 0: agent events only, as the earlier numbers.
    #[arg(long, default_value_t = 0)]
    pub queues: u32,
    /// Runs of each mode (interleaved: limit, tcp, ws, limit, tcp, ws, …).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Concurrent sender connections (events are split by agent, so each agent's events
    /// stay in order on one connection).
    #[arg(long, default_value_t = 1)]
    pub connections: usize,
    /// Events per WebSocket frame (a JSON array).
    #[arg(long, default_value_t = 1000)]
    pub ws_batch: usize,
    /// Modes to run: limit (parse-only sink), tcp, ws.
    #[arg(long, value_delimiter = ',', default_value = "limit,tcp,ws")]
    pub modes: Vec<String>,
    /// The daemon's `server.clock`. `wall`: the live floor; the events are re-stamped
    /// before each run so that they reach the daemon as a live floor's would (see
    /// `Load::prepare`). `event`: a backlog replayed; the day of history keeps its stamps
    /// and the daemon's clock follows them, evaluating every minute of it for every team.
    #[arg(long, default_value = "wall", value_parser = ["wall", "event"])]
    pub clock: String,
    /// Also run each daemon mode (tcp, ws) with a day's roster uploaded before the run
    /// (`PUT /api/v1/roster`, untimed), alternated with the run without it on the same
    /// bytes, and report the rate with it over the rate without, round by round. The floor is
    /// then a working day on shifts from 08:00 local (`--hours`) with the roster its agents
    /// keep, as `simulate --roster` writes it (made by simulating the day once first), and
    /// the events are its first `--events`. Needs `--clock event`: the events keep the day's
    /// stamps, so the schedule and the events agree (re-stamped, a day would be seconds).
    #[arg(long)]
    pub roster: bool,
    /// With `--roster`: hours of the simulated day from 08:00 local (at most 12).
    #[arg(long, default_value_t = 10, requires = "roster")]
    pub hours: i64,
}

/// The load: the simulated floor's lines per connection, and the bytes of the next run.
struct Load {
    n: u64,
    bytes: u64,
    lines: Vec<Vec<String>>,
    ws_batch: usize,
    /// Re-stamp before each run (the wall clock; see [`Load::prepare`]).
    restamp: bool,
    tcp: Vec<Vec<bytes::Bytes>>,
    ws: Vec<Vec<Utf8Bytes>>,
    /// With `--roster`: the day's roster (CSV) and the floor's zone.
    roster: Option<String>,
    timezone: Option<String>,
}

/// The simulated floor's first `events` lines, timestamps in the last 24 hours; with
/// `--roster`, a working day's and its roster.
fn generate(a: &Args) -> anyhow::Result<Load> {
    let now = super::wall_now();
    let (cfg, roster, timezone) = match a.roster {
        false => (crate::sim::SimConfig { queues: a.queues, ..super::steady_floor(a.agents, a.teams, 24) }, None, None),
        true => {
            let cfg = super::day_floor(a.agents, a.teams, a.hours, a.queues)?;
            eprintln!("bench ingest: simulating the day once for its roster ({} agents, {} h)…", a.agents, a.hours);
            let (csv, rows, day) = super::planned_roster(&cfg)?;
            let tz = cfg.timezone.clone();
            eprintln!("bench ingest: the roster has {rows} rows for the day's {day} events; floor.timezone = {tz}");
            (cfg, Some(csv), Some(tz))
        }
    };
    let conns = a.connections.max(1);
    let mut per: Vec<Vec<String>> = vec![Vec::new(); conns];
    let mut last_ts = 0;
    let mut sim = Simulator::new(cfg)?;
    if roster.is_some() {
        // The floor that keeps that roster: its agents take their short breaks when it
        // schedules them (`Simulator::record_roster`).
        sim.record_roster();
    }
    for k in 0..a.events {
        let Some(l) = sim.next() else { break };
        last_ts = l.ts;
        per[l.agent as usize % conns].push(l.line);
        if k % 65_536 == 0 {
            // Already made above, by the first pass over the same floor.
            drop(sim.take_roster());
        }
    }
    drop(sim);
    let n: u64 = per.iter().map(|v| v.len() as u64).sum();
    anyhow::ensure!(n == a.events, "the simulator produced only {n} events (a day of this floor has fewer)");
    anyhow::ensure!(last_ts < now, "{} events span more than 24 h of this floor: add --agents", a.events);
    let bytes = per.iter().flatten().map(|l| l.len() as u64 + 1).sum();
    Ok(Load {
        n,
        bytes,
        lines: per,
        ws_batch: a.ws_batch.max(1),
        restamp: a.clock == "wall",
        tcp: Vec::new(),
        ws: Vec::new(),
        roster,
        timezone,
    })
}

impl Load {
    /// Builds the bytes of the next run (outside the timed part).
    ///
    /// With the wall clock each connection's events are re-stamped first ([`restamp`]),
    /// the last one now: every agent's events stay in order (none is late), no `ts` lies in
    /// the future (none is clamped as skewed), and the daemon's clock and the events agree,
    /// as on a live floor. Unchanged, the stamps
    /// would be up to a day old to the daemon's clock: every unplanned aux stretch would
    /// be over the long_aux limit at the next view and fire an alert, and the first view
    /// would evaluate every minute since midnight for every team — a load no live floor
    /// sends, so that is measured with the event clock instead, which follows the stamps.
    fn prepare(&mut self) -> anyhow::Result<()> {
        if self.restamp {
            let end = super::wall_now();
            for lines in &mut self.lines {
                restamp(lines, end)?;
            }
        }
        self.ws = self
            .lines
            .iter()
            .map(|lines| lines.chunks(self.ws_batch).map(|c| Utf8Bytes::from(format!("[{}]", c.join(",")))).collect())
            .collect();
        self.tcp = self.lines.iter().map(|lines| chunks(lines.iter().cloned(), crate::ingest::tcp::READ_BUF)).collect();
        Ok(())
    }
}

/// One measured run.
struct Run {
    secs: f64,
    daemon_cpu_s: f64,
    counts: Option<IngestCounts>,
    /// The daemon's answer to the roster's upload (`--roster`).
    roster: Option<Value>,
}

impl Run {
    fn rate(&self, n: u64) -> f64 {
        n as f64 / self.secs
    }
}

pub fn run(env: &Env, a: &Args) -> anyhow::Result<Value> {
    anyhow::ensure!(
        !a.roster || a.clock == "event",
        "--roster needs --clock event (re-stamped for the wall clock, a day's events would span seconds)"
    );
    let t = Instant::now();
    let mut load = generate(a)?;
    eprintln!(
        "bench ingest: {} events ({:.0} MB, {:.0} B/event) from a {}-agent, {}-team floor in {:.1}s; {} connection(s)",
        load.n,
        load.bytes as f64 / 1e6,
        load.bytes as f64 / load.n as f64,
        a.agents,
        a.teams,
        t.elapsed().as_secs_f64(),
        a.connections
    );
    let mut modes: Vec<&str> = Vec::new();
    for m in &a.modes {
        anyhow::ensure!(["limit", "tcp", "ws"].contains(&m.as_str()), "unknown mode {m:?} (limit, tcp, ws)");
        modes.push(m);
        if a.roster && m != "limit" {
            modes.push(if m == "tcp" { ROSTER_TCP } else { ROSTER_WS });
        }
    }
    let mut runs: Vec<(&str, Vec<Run>)> = modes.iter().map(|m| (*m, Vec::new())).collect();
    // One untimed warm-up of each mode (page faults of fresh buffers, lazy statics).
    for round in 0..=a.runs {
        for (mode, out) in runs.iter_mut() {
            load.prepare()?;
            let r = match *mode {
                "limit" => limit(&load)?,
                "tcp" => daemon_tcp(env, a, &load, false)?,
                ROSTER_TCP => daemon_tcp(env, a, &load, true)?,
                "ws" => daemon_ws(env, a, &load, false)?,
                _ => daemon_ws(env, a, &load, true)?,
            };
            if let Some(c) = &r.counts {
                anyhow::ensure!(
                    c.applied == load.n,
                    "{mode}: only {} of {} events applied ({c:?}); the load must be all applied",
                    c.applied,
                    load.n
                );
            }
            eprintln!(
                "  {} {mode:10}: {:>10} in {:.3}s, daemon threads {:.2} cores",
                if round == 0 { "warm-up" } else { "run    " },
                fmt_rate(r.rate(load.n)),
                r.secs,
                r.daemon_cpu_s / r.secs
            );
            if round > 0 {
                out.push(r);
            }
        }
    }

    let limit_rates: Option<Vec<f64>> =
        runs.iter().find(|(m, _)| *m == "limit").map(|(_, rs)| rs.iter().map(|r| r.rate(load.n)).collect());
    let mut table = Vec::new();
    let mut doc = serde_json::Map::new();
    for (mode, rs) in &runs {
        let rates: Vec<f64> = rs.iter().map(|r| r.rate(load.n)).collect();
        let s = Stats::of(&rates);
        // Ratio to the limit measured in the same round (same machine noise).
        let ratios: Option<Vec<f64>> = limit_rates.as_ref().map(|l| rates.iter().zip(l).map(|(r, l)| r / l).collect());
        let ratio = ratios.as_ref().map(|r| Stats::of(r));
        let cores = Stats::of(&rs.iter().map(|r| r.daemon_cpu_s / r.secs).collect::<Vec<_>>());
        table.push(format!(
            "| {mode:10} | {:>10} | {:>10} – {:<10} | ±{:>4.1}% | {:>13} | {:.2} |",
            fmt_rate(s.median),
            fmt_rate(s.min),
            fmt_rate(s.max),
            s.spread_pct(),
            ratio.map_or("-".into(), |r| format!(
                "{:.0}% ({:.0}–{:.0})",
                r.median * 100.0,
                r.min * 100.0,
                r.max * 100.0
            )),
            cores.median
        ));
        doc.insert(
            mode.to_string(),
            json!({
                "events_per_s": s,
                "events_per_s_runs": rates,
                "ratio_to_limit": ratio,
                "ratio_to_limit_runs": ratios,
                "daemon_cores": cores,
                "outcomes_last_run": rs.last().and_then(|r| r.counts),
                "roster_upload_last_run": rs.last().and_then(|r| r.roster.clone()),
            }),
        );
    }
    println!(
        "\nbench ingest: {} events/run, {} agents, {} teams, {} connection(s), ws {} events/frame, {} clock, {} runs\n",
        load.n, a.agents, a.teams, a.connections, a.ws_batch, a.clock, a.runs
    );
    println!("| mode       |     median |            min – max | spread | ratio to limit | daemon cores |");
    println!("|------------|-----------:|---------------------:|-------:|---------------:|-------------:|");
    for row in table {
        println!("{row}");
    }
    // The roster's cost: each round's rate with it over the rate without (same bytes, runs
    // next to each other, so the same machine noise).
    let rate_runs = |mode: &str| runs.iter().find(|(m, _)| *m == mode).map(|(_, rs)| rs.iter().map(|r| r.rate(load.n)));
    let mut with_roster = serde_json::Map::new();
    for (plain, roster) in [("tcp", ROSTER_TCP), ("ws", ROSTER_WS)] {
        let (Some(p), Some(r)) = (rate_runs(plain), rate_runs(roster)) else { continue };
        let ratios: Vec<f64> = r.zip(p).map(|(r, p)| r / p).collect();
        let s = Stats::of(&ratios);
        println!(
            "\n{plain}: rate with the roster over the rate without, by round: {} (median {:.3}, {:.3}–{:.3})",
            ratios.iter().map(|r| format!("{r:.3}")).collect::<Vec<_>>().join(", "),
            s.median,
            s.min,
            s.max
        );
        with_roster.insert(plain.to_string(), json!({ "ratio": s, "ratio_runs": ratios }));
    }
    Ok(json!({
        "scenario": "ingest",
        "events": load.n,
        "bytes": load.bytes,
        "agents": a.agents,
        "teams": a.teams,
        "connections": a.connections,
        "ws_batch": a.ws_batch,
        "clock": a.clock,
        "runs": a.runs,
        "modes": doc,
        "roster": a.roster.then(|| json!({ "hours": a.hours, "timezone": load.timezone, "rate_ratio": with_roster })),
    }))
}

/// Writes every chunk of every connection to `addr` (concurrently), then closes them.
async fn send_tcp(
    addr: std::net::SocketAddr,
    load: &Load,
) -> anyhow::Result<(Instant, Vec<tokio::task::JoinHandle<anyhow::Result<()>>>)> {
    let mut streams = Vec::new();
    for _ in &load.tcp {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        streams.push(s);
    }
    let t0 = Instant::now();
    let mut writers = Vec::new();
    for (mut s, chunks) in streams.into_iter().zip(load.tcp.iter().cloned()) {
        writers.push(tokio::spawn(async move {
            for c in chunks {
                s.write_all(&c).await?;
            }
            s.shutdown().await?;
            // Keep the socket open until the peer is done reading.
            let mut sink = [0u8; 64];
            let _ = s.read(&mut sink).await;
            anyhow::Ok(())
        }));
    }
    Ok((t0, writers))
}

/// The limit: a listener on the same loopback that reads with the daemon's buffer size and
/// splits and decodes lines into `Event`s exactly like `ingest::tcp`, then drops them.
fn limit(load: &Load) -> anyhow::Result<Run> {
    let rt = daemon_runtime()?;
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    let decoded = Arc::new(AtomicU64::new(0));
    let done = Arc::new(tokio::sync::Notify::new());
    let target = load.n;
    {
        let (decoded, done) = (decoded.clone(), done.clone());
        rt.spawn(async move {
            let aliases = Arc::new(Aliases::new(crate::config::Settings::default().aliases));
            while let Ok((s, _)) = listener.accept().await {
                let (decoded, done, aliases) = (decoded.clone(), done.clone(), aliases.clone());
                tokio::spawn(async move {
                    let _ = parse_only(s, &aliases, &decoded, target, &done).await;
                });
            }
        });
    }
    let cpu0 = CpuMark::new(DAEMON_THREADS);
    let load_rt = load_runtime()?;
    let (secs, cpu_s) = load_rt.block_on(async {
        let (t0, writers) = send_tcp(addr, load).await?;
        tokio::time::timeout(Duration::from_secs(300), done.notified()).await?;
        let secs = t0.elapsed().as_secs_f64();
        let cpu_s = cpu0.secs();
        for w in writers {
            w.await??;
        }
        anyhow::Ok((secs, cpu_s))
    })?;
    anyhow::ensure!(decoded.load(Ordering::Relaxed) == load.n, "the limit sink decoded a different count");
    rt.shutdown_timeout(Duration::from_secs(2));
    Ok(Run { secs, daemon_cpu_s: cpu_s, counts: None, roster: None })
}

async fn parse_only(
    mut stream: TcpStream,
    aliases: &Aliases,
    decoded: &AtomicU64,
    target: u64,
    done: &tokio::sync::Notify,
) -> std::io::Result<()> {
    const READ_BUF: usize = crate::ingest::tcp::READ_BUF;
    let _ = stream.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::with_capacity(READ_BUF);
    loop {
        if buf.capacity() - buf.len() < READ_BUF / 4 {
            buf.reserve(READ_BUF);
        }
        let n = stream.read_buf(&mut buf).await?;
        let mut batch = Vec::new();
        let mut consumed = 0;
        while let Some(i) = memchr::memchr(b'\n', &buf[consumed..]) {
            let line = &buf[consumed..consumed + i];
            consumed += i + 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            batch.push(decode_bytes(line, aliases));
        }
        buf.drain(..consumed);
        let k = batch.len() as u64;
        drop(black_box(batch));
        if k > 0 && decoded.fetch_add(k, Ordering::Relaxed) + k >= target {
            done.notify_one();
        }
        if n == 0 {
            return Ok(());
        }
    }
}

/// The daemon modes with the roster uploaded (`--roster`).
const ROSTER_TCP: &str = "tcp+roster";
const ROSTER_WS: &str = "ws+roster";

/// The daemon's configuration for a run (the floor's zone too with `--roster`, with the
/// roster uploaded or not, so that the two runs differ only by it).
fn daemon_toml(a: &Args, load: &Load) -> String {
    let mut toml = format!("[server]\nclock = \"{}\"\n", a.clock);
    if let Some(tz) = &load.timezone {
        toml.push_str(&format!("[floor]\ntimezone = \"{tz}\"\n"));
    }
    toml
}

/// Waits for the daemon to answer, then with `roster` uploads the load's (untimed): the
/// daemon's answer (agents and rows).
async fn ready(client: &reqwest::Client, d: &Daemon, load: &Load, roster: bool) -> anyhow::Result<Option<Value>> {
    super::wait_outcomes(client, d, 0, Duration::from_millis(5), Duration::from_secs(5)).await?;
    if !roster {
        return Ok(None);
    }
    let csv = load.roster.clone().context("no roster was made (--roster)")?;
    let body = super::put_roster(client, d, csv).await?;
    Ok(Some(serde_json::from_str(&body)?))
}

fn daemon_tcp(env: &Env, a: &Args, load: &Load, roster: bool) -> anyhow::Result<Run> {
    let d = Daemon::start(env, &daemon_toml(a, load))?;
    let load_rt = load_runtime()?;
    let r = load_rt.block_on(async {
        let client = reqwest::Client::new();
        let roster = ready(&client, &d, load, roster).await?;
        let cpu0 = CpuMark::new(DAEMON_THREADS);
        let (t0, writers) = send_tcp(d.tcp, load).await?;
        let (t1, counts) = wait_outcomes(&client, &d, load.n, POLL, Duration::from_secs(300)).await?;
        let cpu_s = cpu0.secs();
        for w in writers {
            w.await??;
        }
        anyhow::Ok(Run { secs: (t1 - t0).as_secs_f64(), daemon_cpu_s: cpu_s, counts: Some(counts), roster })
    });
    d.stop();
    r
}

fn daemon_ws(env: &Env, a: &Args, load: &Load, roster: bool) -> anyhow::Result<Run> {
    let d = Daemon::start(env, &daemon_toml(a, load))?;
    let load_rt = load_runtime()?;
    let r = load_rt.block_on(async {
        let client = reqwest::Client::new();
        let roster = ready(&client, &d, load, roster).await?;
        let mut conns = Vec::new();
        for _ in &load.ws {
            let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ingest", d.http)).await?;
            conns.push(ws);
        }
        let cpu0 = CpuMark::new(DAEMON_THREADS);
        let t0 = Instant::now();
        let mut writers = Vec::new();
        for (ws, frames) in conns.into_iter().zip(load.ws.iter().cloned()) {
            writers.push(tokio::spawn(async move {
                let (mut tx, mut rx) = ws.split();
                let reader = tokio::spawn(async move { while let Some(Ok(_)) = rx.next().await {} });
                for f in frames {
                    tx.send(Message::Text(f)).await?;
                }
                anyhow::Ok((tx, reader))
            }));
        }
        let (t1, counts) = wait_outcomes(&client, &d, load.n, POLL, Duration::from_secs(300)).await?;
        let cpu_s = cpu0.secs();
        for w in writers {
            let (mut tx, reader) = w.await??;
            let _ = tx.send(Message::Close(None)).await;
            reader.abort();
        }
        anyhow::Ok(Run { secs: (t1 - t0).as_secs_f64(), daemon_cpu_s: cpu_s, counts: Some(counts), roster })
    });
    d.stop();
    r
}
