//! `bench wallboard`: `/ws` wallboard clients on a live floor.
//!
//! Each run starts a fresh daemon (wall clock, default 1 s push interval), connects
//! `--clients` wallboards to `/ws` (or none, for the baseline), then
//! 1. **burst**: sends the floor's last `--history-hours` of events over TCP as fast as
//!    possible and measures the ingest rate while the push loop serves the clients. The
//!    burst is re-stamped as a live floor sending 1M events/s up to the start of the
//!    steady phase (`super::restamp`): with its own stamps, hours old to the daemon, each
//!    unplanned aux stretch open at a tick fired a long_aux alert, ~1,500 alert frames to
//!    every client in half a second, which no live floor sends;
//! 2. **steady**: continues the same simulated floor in real time for `--secs` and
//!    measures the daemon threads' CPU and the bytes each client receives.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::{CpuMark, DAEMON_THREADS, Daemon, Env, Stats, chunks, fmt_rate, load_runtime};
use crate::sim::Simulator;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 500)]
    pub clients: usize,
    #[arg(long, default_value_t = 2_000)]
    pub agents: u32,
    #[arg(long, default_value_t = 100)]
    pub teams: u32,
    /// Hours of the floor's history sent as the burst.
    #[arg(long, default_value_t = 12)]
    pub history_hours: i64,
    /// Seconds of the steady (real-time) phase.
    #[arg(long, default_value_t = 10)]
    pub secs: u64,
    /// Runs of each of: no clients, `--clients` clients.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
}

struct Run {
    clients: usize,
    burst_events: u64,
    burst_rate: f64,
    steady_cores: f64,
    steady_events: u64,
    bytes_per_s: Vec<f64>,
    full_frame_bytes: Vec<f64>,
    frames_per_client: Vec<f64>,
}

pub fn run(env: &Env, a: &Args) -> anyhow::Result<Value> {
    let mut runs: Vec<Run> = Vec::new();
    for round in 0..a.runs {
        for clients in [0, a.clients] {
            let r = one(env, a, clients)?;
            let bps = Stats::of(&r.bytes_per_s);
            eprintln!(
                "  run {} with {:>4} clients: burst {} events at {}, steady {} events in {} s: daemon {:.3} cores, per client {:.1} KB/s (max {:.1}), {:.1} frames",
                round + 1,
                clients,
                r.burst_events,
                fmt_rate(r.burst_rate),
                r.steady_events,
                a.secs,
                r.steady_cores,
                bps.median / 1000.0,
                bps.max / 1000.0,
                Stats::of(&r.frames_per_client).median
            );
            runs.push(r);
        }
    }
    let pick = |c: usize| runs.iter().filter(move |r| r.clients == c);
    let base_rate = Stats::of(&pick(0).map(|r| r.burst_rate).collect::<Vec<_>>());
    let with_rate = Stats::of(&pick(a.clients).map(|r| r.burst_rate).collect::<Vec<_>>());
    let base_cores = Stats::of(&pick(0).map(|r| r.steady_cores).collect::<Vec<_>>());
    let with_cores = Stats::of(&pick(a.clients).map(|r| r.steady_cores).collect::<Vec<_>>());
    let all_bps: Vec<f64> = pick(a.clients).flat_map(|r| r.bytes_per_s.iter().copied()).collect();
    let bps = Stats::of(&all_bps);
    let full = Stats::of(&pick(a.clients).flat_map(|r| r.full_frame_bytes.iter().copied()).collect::<Vec<_>>());
    println!("\nbench wallboard: {} agents, {} teams, {} clients, {} runs", a.agents, a.teams, a.clients, a.runs);
    println!("| what | no clients | {} clients |\n|---|---|---|", a.clients);
    println!(
        "| burst ingest rate | {} ({}–{}) | {} ({}–{}) |",
        fmt_rate(base_rate.median),
        fmt_rate(base_rate.min),
        fmt_rate(base_rate.max),
        fmt_rate(with_rate.median),
        fmt_rate(with_rate.min),
        fmt_rate(with_rate.max)
    );
    println!(
        "| daemon CPU, steady | {:.3} cores ({:.3}–{:.3}) | {:.3} cores ({:.3}–{:.3}) |",
        base_cores.median, base_cores.min, base_cores.max, with_cores.median, with_cores.min, with_cores.max
    );
    println!(
        "| bytes/s per client | - | median {:.1} KB/s ({:.1}–{:.1}) |",
        bps.median / 1000.0,
        bps.min / 1000.0,
        bps.max / 1000.0
    );
    println!("| first (full) frame | - | {:.1} KB |", full.median / 1000.0);
    Ok(json!({
        "scenario": "wallboard",
        "agents": a.agents, "teams": a.teams, "clients": a.clients, "secs": a.secs, "runs": a.runs,
        "burst_rate_no_clients": base_rate, "burst_rate_with_clients": with_rate,
        "steady_cores_no_clients": base_cores, "steady_cores_with_clients": with_cores,
        "bytes_per_s_per_client": bps, "full_frame_bytes": full,
        "runs_detail": runs.iter().map(|r| json!({
            "clients": r.clients, "burst_events": r.burst_events, "burst_rate": r.burst_rate,
            "steady_cores": r.steady_cores, "steady_events": r.steady_events,
            "bytes_per_s": Stats::of(&r.bytes_per_s), "frames_per_client": Stats::of(&r.frames_per_client),
        })).collect::<Vec<_>>(),
    }))
}

fn one(env: &Env, a: &Args, clients: usize) -> anyhow::Result<Run> {
    let now = super::wall_now();
    let cfg = super::steady_floor(a.agents, a.teams, a.history_hours);
    let mut sim = Simulator::new(cfg)?;
    let mut history = Vec::new();
    while sim.next_ts().is_some_and(|ts| ts <= now) {
        history.push(sim.next().expect("peeked").line);
    }
    // Stamped up to `now`, so that the steady phase's events (after `now`) are later.
    super::restamp(&mut history, now)?;
    let burst_events = history.len() as u64;
    let burst = chunks(history, crate::ingest::tcp::READ_BUF);

    let d = Daemon::start(env, "")?;
    let load_rt = load_runtime()?;
    // The wallboards run on a runtime of their own (one thread): on the floor they are
    // other machines, and on the load generator's thread reading their frames would hold
    // up the sender's writes and be measured as a slower daemon.
    let boards_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bench-boards")
        .enable_all()
        .build()?;
    let r = load_rt.block_on(async {
        let client = reqwest::Client::new();
        super::wait_outcomes(&client, &d, 0, Duration::from_millis(5), Duration::from_secs(5)).await?;
        // Wallboards: bytes and frames received, per client.
        let bytes: Arc<Vec<AtomicU64>> = Arc::new((0..clients).map(|_| AtomicU64::new(0)).collect());
        let frames: Arc<Vec<AtomicU64>> = Arc::new((0..clients).map(|_| AtomicU64::new(0)).collect());
        let firsts: Arc<Vec<AtomicU64>> = Arc::new((0..clients).map(|_| AtomicU64::new(0)).collect());
        let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<anyhow::Result<()>>(clients.max(1));
        let mut readers = Vec::new();
        for i in 0..clients {
            let (bytes, frames, firsts, ready) = (bytes.clone(), frames.clone(), firsts.clone(), ready_tx.clone());
            let url = format!("ws://{}/ws", d.http);
            readers.push(boards_rt.spawn(async move {
                let ws = match tokio_tungstenite::connect_async(url).await {
                    Ok((ws, _)) => ws,
                    Err(e) => {
                        let _ = ready.send(Err(e.into())).await;
                        return;
                    }
                };
                let _ = ready.send(Ok(())).await;
                let (_tx, mut rx) = ws.split();
                while let Some(Ok(m)) = rx.next().await {
                    let len = m.len() as u64;
                    if frames[i].fetch_add(1, Ordering::Relaxed) == 0 {
                        firsts[i].store(len, Ordering::Relaxed);
                    }
                    bytes[i].fetch_add(len, Ordering::Relaxed);
                }
            }));
        }
        for _ in 0..clients {
            ready_rx.recv().await.ok_or_else(|| anyhow::anyhow!("a wallboard client task ended"))??;
        }
        let mut stream = TcpStream::connect(d.tcp).await?;
        stream.set_nodelay(true)?;
        let t0 = Instant::now();
        for c in &burst {
            stream.write_all(c).await?;
        }
        let (t1, counts) =
            super::wait_outcomes(&client, &d, burst_events, Duration::from_millis(2), Duration::from_secs(120)).await?;
        anyhow::ensure!(counts.applied == burst_events, "burst: not all applied: {counts:?}");
        let burst_rate = burst_events as f64 / (t1 - t0).as_secs_f64();

        // Steady: the same floor in real time.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let b0: Vec<u64> = bytes.iter().map(|b| b.load(Ordering::Relaxed)).collect();
        let f0: Vec<u64> = frames.iter().map(|b| b.load(Ordering::Relaxed)).collect();
        let cpu0 = CpuMark::new(DAEMON_THREADS);
        let s0 = Instant::now();
        let mut steady_events = 0u64;
        let mut buf = Vec::new();
        while s0.elapsed() < Duration::from_secs(a.secs) {
            let wall = super::wall_now();
            while sim.next_ts().is_some_and(|ts| ts <= wall) {
                buf.extend_from_slice(sim.next().expect("peeked").line.as_bytes());
                buf.push(b'\n');
                steady_events += 1;
            }
            if !buf.is_empty() {
                stream.write_all(&buf).await?;
                buf.clear();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let secs = s0.elapsed().as_secs_f64();
        let steady_cores = cpu0.secs() / secs;
        let bytes_per_s: Vec<f64> =
            bytes.iter().zip(&b0).map(|(b, b0)| (b.load(Ordering::Relaxed) - b0) as f64 / secs).collect();
        let frames_per_client: Vec<f64> =
            frames.iter().zip(&f0).map(|(f, f0)| (f.load(Ordering::Relaxed) - f0) as f64).collect();
        let full_frame_bytes: Vec<f64> = firsts.iter().map(|f| f.load(Ordering::Relaxed) as f64).collect();
        for r in readers {
            r.abort();
        }
        anyhow::Ok(Run {
            clients,
            burst_events,
            burst_rate,
            steady_cores,
            steady_events,
            bytes_per_s,
            full_frame_bytes,
            frames_per_client,
        })
    });
    boards_rt.shutdown_background();
    d.stop();
    r
}
