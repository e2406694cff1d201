//! `bench latency`: time from an event's write to its effect in `/api/v1/snapshot` while the
//! daemon ingests a paced background load over the same TCP connection.
//!
//! Every `--probe-ms` the sender appends a probe event to the load stream: agent
//! `ZZPROBE-1` of team `ZZPROBE`, no `ts` (time of receipt), with a new `name` (`p<k>`).
//! A poller reads `/api/v1/snapshot?team=ZZPROBE` in a loop until the agent's name is
//! `p<k>` (or later); the latency is from just before the probe's write to the answer
//! that shows it. So it includes queueing behind the load, the batch, the engine lock and
//! one HTTP round trip of the snapshot.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::{CpuMark, DAEMON_THREADS, Daemon, Env, Stats, load_runtime, quantile};
use crate::sim::Simulator;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Background load, events/s.
    #[arg(long, default_value_t = 100_000)]
    pub rate: u64,
    /// Measured seconds (after one second of warm-up load).
    #[arg(long, default_value_t = 10)]
    pub secs: u64,
    /// A probe every this many milliseconds.
    #[arg(long, default_value_t = 20)]
    pub probe_ms: u64,
    /// Agents of the simulated floor.
    #[arg(long, default_value_t = 10_000)]
    pub agents: u32,
    /// Teams of the simulated floor.
    #[arg(long, default_value_t = 200)]
    pub teams: u32,
    /// Runs (a fresh daemon each).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
}

pub fn run(env: &Env, a: &Args) -> anyhow::Result<Value> {
    let total_secs = a.secs + 1;
    let n = (a.rate * total_secs) as usize;
    let cfg = super::steady_floor(a.agents, a.teams, 24);
    let lines: Vec<String> = Simulator::new(cfg)?.take(n).map(|l| l.line).collect();
    anyhow::ensure!(lines.len() == n, "the simulator produced too few events");
    // One write per millisecond tick.
    let per_tick = (a.rate / 1000).max(1) as usize;
    let ticks: Vec<bytes::Bytes> = lines
        .chunks(per_tick)
        .map(|c| {
            let mut s = c.join("\n");
            s.push('\n');
            bytes::Bytes::from(s)
        })
        .collect();
    drop(lines);
    eprintln!("bench latency: {} events at {}/s, probe every {} ms, {} runs", n, a.rate, a.probe_ms, a.runs);

    let mut all: Vec<f64> = Vec::new();
    let mut per_run = Vec::new();
    for run in 0..a.runs {
        let (lat, achieved, applied, cores) = one(env, a, &ticks)?;
        let (p50, p99) = (quantile(&lat, 0.5), quantile(&lat, 0.99));
        eprintln!(
            "  run {}: {} probes, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; load {:.0} events/s, applied {applied}, daemon {:.2} cores",
            run + 1,
            lat.len(),
            p50,
            p99,
            quantile(&lat, 1.0),
            achieved,
            cores
        );
        per_run.push(json!({"probes": lat.len(), "p50_ms": p50, "p99_ms": p99, "max_ms": quantile(&lat, 1.0),
            "load_events_per_s": achieved, "applied": applied, "daemon_cores": cores}));
        all.extend(lat);
    }
    let p99s: Vec<f64> = per_run.iter().map(|r| r["p99_ms"].as_f64().unwrap_or(f64::NAN)).collect();
    let s = Stats::of(&p99s);
    println!(
        "\nbench latency: {}/s load, {} probes over {} runs: p50 {:.2} ms, p99 {:.2} ms (per-run p99 median {:.2}, {:.2}–{:.2}), max {:.2} ms",
        a.rate,
        all.len(),
        a.runs,
        quantile(&all, 0.5),
        quantile(&all, 0.99),
        s.median,
        s.min,
        s.max,
        quantile(&all, 1.0)
    );
    Ok(json!({
        "scenario": "latency",
        "rate": a.rate, "secs": a.secs, "probe_ms": a.probe_ms, "agents": a.agents, "teams": a.teams,
        "p50_ms": quantile(&all, 0.5), "p99_ms": quantile(&all, 0.99), "max_ms": quantile(&all, 1.0),
        "p99_ms_per_run": s, "runs": per_run,
    }))
}

/// One run: latencies (ms) of the probes after the first second, achieved load rate,
/// applied count, daemon cores used.
fn one(env: &Env, a: &Args, ticks: &[bytes::Bytes]) -> anyhow::Result<(Vec<f64>, f64, u64, f64)> {
    let d = Daemon::start(env, "")?;
    let load_rt = load_runtime()?;
    let snapshot_url = d.url("/api/v1/snapshot?team=ZZPROBE");
    let r = load_rt.block_on(async {
        let client = reqwest::Client::new();
        super::wait_outcomes(&client, &d, 0, Duration::from_millis(5), Duration::from_secs(5)).await?;
        let mut stream = TcpStream::connect(d.tcp).await?;
        stream.set_nodelay(true)?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
        // The poller: one probe at a time, polling as fast as answers come.
        let poller = {
            let client = client.clone();
            tokio::spawn(async move {
                let mut out: Vec<(u64, f64)> = Vec::new();
                while let Some((k, sent)) = rx.recv().await {
                    let want = format!("p{k}");
                    let deadline = sent + Duration::from_secs(5);
                    loop {
                        let v: Value = client.get(&snapshot_url).send().await?.json().await?;
                        let name = v["agents"][0]["name"].as_str().unwrap_or("");
                        let seen = name.strip_prefix('p').and_then(|x| x.parse::<u64>().ok()).is_some_and(|x| x >= k);
                        if seen || name == want {
                            out.push((k, sent.elapsed().as_secs_f64() * 1000.0));
                            break;
                        }
                        if Instant::now() > deadline {
                            anyhow::bail!("probe {k} not visible after 5 s");
                        }
                    }
                }
                anyhow::Ok(out)
            })
        };
        let cpu0 = CpuMark::new(DAEMON_THREADS);
        let t0 = Instant::now();
        let mut every = tokio::time::interval(Duration::from_millis(1));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let probe_every = a.probe_ms.max(1) as usize;
        let mut k = 0u64;
        let mut sent_events = 0u64;
        for (i, chunk) in ticks.iter().enumerate() {
            every.tick().await;
            stream.write_all(chunk).await?;
            sent_events += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
            if i % probe_every == 0 {
                k += 1;
                let state = if k.is_multiple_of(2) { "idle" } else { "talking" };
                let line = format!(
                    "{{\"agent\":\"ZZPROBE-1\",\"team\":\"ZZPROBE\",\"state\":\"{state}\",\"name\":\"p{k}\"}}\n"
                );
                let sent = Instant::now();
                stream.write_all(line.as_bytes()).await?;
                sent_events += 1;
                let _ = tx.send((k, sent));
            }
        }
        let achieved = sent_events as f64 / t0.elapsed().as_secs_f64();
        drop(tx);
        let lat = poller.await??;
        let (_, counts) =
            super::wait_outcomes(&client, &d, sent_events, Duration::from_millis(5), Duration::from_secs(60)).await?;
        let cores = cpu0.secs() / t0.elapsed().as_secs_f64();
        // Drop the first second's probes (warm-up).
        let warm = (1000 / probe_every) as u64;
        let lat: Vec<f64> = lat.into_iter().filter(|(k, _)| *k > warm).map(|(_, l)| l).collect();
        anyhow::Ok((lat, achieved, counts.applied, cores))
    });
    d.stop();
    r
}
