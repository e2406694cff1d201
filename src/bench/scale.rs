//! `bench scale`: a full simulated working day of a large floor fed over TCP, then
//! resident memory, `/metrics` scrape time and one team's snapshot time.
//!
//! The daemon runs the event clock in a fixed-offset time zone chosen so that it is about
//! 20:00 there now: the simulated day (08:00–18:00 local, on shifts) is then all in the
//! past and all "today" (with UTC, a run at 03:00 would keep only three hours). Until
//! session 5 it ran the wall clock; a day that ended hours ago is now refused as too old
//! by a wall-clock daemon, so the numbers since then are the event clock's.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::{Daemon, Env, Stats, load_runtime, rss};
use crate::sim::Simulator;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 100_000)]
    pub agents: u32,
    #[arg(long, default_value_t = 2_000)]
    pub teams: u32,
    /// Simulated hours from 08:00 local (shifts of 9 h staggered over 90 min); at most 12.
    #[arg(long, default_value_t = 10)]
    pub hours: i64,
    /// Call queues of the simulated floor (team k answers queue k mod N): `/metrics` then
    /// carries the queue families too. 0: agent events only, as the earlier numbers.
    #[arg(long, default_value_t = 0)]
    pub queues: u32,
    /// Scrapes of /metrics and team snapshots measured.
    #[arg(long, default_value_t = 10)]
    pub samples: usize,
    /// Whole-floor snapshots (`agents=false`) measured; seconds each at 100,000 agents.
    #[arg(long, default_value_t = 3)]
    pub floor_samples: usize,
    /// After the measurements, keep the loaded daemon serving this many seconds (its URL
    /// is printed): time to attach a profiler and drive requests by hand.
    #[arg(long, default_value_t = 0)]
    pub hold_secs: u64,
    /// Whole-floor snapshots with every agent (`/api/v1/snapshot`, ~166 MB at 100,000
    /// agents) measured last: time, size, and the process's peak resident memory while
    /// serving them against the loaded daemon's (the peak is reset first, the body is read
    /// and dropped chunk by chunk).
    #[arg(long, default_value_t = 2)]
    pub full_samples: usize,
    /// Before the day, `PUT /api/v1/roster` a day's roster for every agent (its team's
    /// shift, two breaks and a lunch: four rows each, CSV) and time the upload; the day's
    /// figures, `/metrics` and snapshots then carry adherence (docs/adherence.md).
    #[arg(long)]
    pub roster: bool,
    /// With `--roster`: upload the roster the simulator plans for its own floor instead
    /// (every shift, break and lunch as its agents mean to take them, with its deviations:
    /// some back late from lunch, some logging off early, a no-show; docs/adherence.md). A
    /// floor that mostly keeps its schedule, where the day roster above is one nobody
    /// keeps. Made by simulating the day once before the load (a minute at 100,000 agents).
    /// Its agents take their short breaks when the roster schedules them, so the events
    /// differ from a run without it (`simulate --roster` is the same floor).
    #[arg(long, requires = "roster")]
    pub sim_roster: bool,
    /// With `--roster`: `[alerts.out_of_adherence] threshold_secs` of the daemon (300 by
    /// default). A day long, no stretch reaches it: the roster's cost without its alerts.
    #[arg(long, value_name = "SECS")]
    pub adherence_threshold_secs: Option<u64>,
    /// After the other measurements, this many dashboard panels poll the daemon for
    /// `--poll-duration` seconds, each every `--poll-secs` seconds (starts spread evenly over
    /// the period), as a Grafana JSON datasource would (gzip accepted): every tenth panel the
    /// floor's figures (`?agents=false`), the others a team's snapshot (team k). Reported:
    /// the daemon's CPU (cores) while they poll, their answer times, and how many answers
    /// were shared (`floorwatch_shared_reads_total`). 0: no polling.
    #[arg(long, default_value_t = 0)]
    pub pollers: usize,
    #[arg(long, default_value_t = 5)]
    pub poll_secs: u64,
    #[arg(long, default_value_t = 30)]
    pub poll_duration: u64,
}

/// A day's roster for every agent of `sim`: the shift of its team (08:00 local plus the
/// simulator's stagger, 9 h), a 15-minute break 2 h in, a 30-minute lunch 4 h in, another
/// break 6.5 h in. Local times, as WFM tools export them.
fn day_roster(sim: &Simulator, agents: u32, start: crate::time::Ms, tz: &str) -> String {
    let zone = jiff::tz::TimeZone::get(tz).unwrap_or(jiff::tz::TimeZone::UTC);
    let local = |ms: crate::time::Ms| {
        let z = jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH).to_zoned(zone.clone());
        z.strftime("%Y-%m-%d %H:%M").to_string()
    };
    let mut out = String::with_capacity(agents as usize * 200);
    out.push_str("agent,start,end,activity\n");
    for i in 0..agents {
        let (Some(id), Some(team)) = (sim.agent_id(i), sim.team_of(i)) else { continue };
        let n: i64 = team.trim_start_matches('T').parse().unwrap_or(1);
        let s = start + (n - 1).rem_euclid(4) * 30 * 60_000;
        let h = 3_600_000;
        for (from, to, act) in [
            (s, s + 9 * h, "shift"),
            (s + 2 * h, s + 2 * h + 15 * 60_000, "break"),
            (s + 4 * h, s + 4 * h + 30 * 60_000, "lunch"),
            (s + 13 * h / 2, s + 13 * h / 2 + 15 * 60_000, "break"),
        ] {
            out.push_str(&format!("{id},{},{},{act}\n", local(from), local(to)));
        }
    }
    out
}

/// `floorwatch_alerts_fired_total` of a `/metrics` text summed over teams, by kind.
fn alerts_fired(metrics: &str) -> Value {
    let mut by_kind = serde_json::Map::new();
    for l in metrics.lines().filter(|l| l.starts_with("floorwatch_alerts_fired_total{")) {
        let kind = l.split("kind=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("?");
        let n: u64 = l.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or(0);
        let e = by_kind.entry(kind.to_string()).or_insert(json!(0));
        *e = json!(e.as_u64().unwrap_or(0) + n);
    }
    Value::Object(by_kind)
}

/// Milliseconds until the whole answer to `req` was received, and its bytes (as sent:
/// compressed when it was). The body is read chunk by chunk and dropped, as a client
/// streaming it to a parser or to `/dev/null` (curl) does: gathered into one growing buffer
/// here, in the daemon's own process, every doubling of a 16 MB buffer was fresh mapped
/// pages and a copy (the daemon maps blocks of 1 MB and more on their own,
/// `mem::map_large_blocks`), which made the floor snapshot read 9 ms slower than curl
/// measured the same daemon (BENCHMARKS.md, session 11).
async fn timed_get(req: reqwest::RequestBuilder) -> anyhow::Result<(f64, usize)> {
    let t = Instant::now();
    let mut resp = req.send().await?.error_for_status()?;
    let mut bytes = 0;
    while let Some(chunk) = resp.chunk().await? {
        bytes += chunk.len();
    }
    Ok((t.elapsed().as_secs_f64() * 1000.0, bytes))
}

/// Resets this process's peak resident memory (`VmHWM`) to its current size (Linux:
/// `clear_refs` 5); false where that is not possible.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

pub fn run(env: &Env, a: &Args) -> anyhow::Result<Value> {
    let cfg = super::day_floor(a.agents, a.teams, a.hours, a.queues)?;
    let (tz, start) = (cfg.timezone.clone(), cfg.start);
    let planned = match a.roster && a.sim_roster {
        true => {
            let (csv, rows, events) = super::planned_roster(&cfg)?;
            eprintln!("bench scale: the simulator's roster: {rows} rows for the day's {events} events");
            Some(csv)
        }
        false => None,
    };
    let mut sim = Simulator::new(cfg)?;
    if planned.is_some() {
        // The floor that keeps the roster above: with one, the simulated agents take their
        // short breaks when it schedules them (`Simulator::record_roster`).
        sim.record_roster();
    }
    let team = sim.team_ids().next().unwrap_or("T01").to_string();
    let teams: Vec<String> = sim.team_ids().map(str::to_string).collect();
    let (rss_before, _) = rss();
    eprintln!("bench scale: floor.timezone = {tz} (local 08:00 today = {})", crate::time::fmt_ms(start));
    // The event clock: the day is a backlog read in order, now is its last event (18:00
    // local), so `today` is the whole day and the detectors keep the history a live daemon
    // keeps (`floor.max_backfill_secs` behind now). Fed through the wall clock, a day that
    // ended hours ago is refused as too old (since session 5: late delivery is exact).
    let roster = planned.or_else(|| a.roster.then(|| day_roster(&sim, a.agents, start, &tz)));
    let mut toml = format!("[server]\nclock = \"event\"\n[floor]\ntimezone = \"{tz}\"\n");
    if let Some(secs) = a.adherence_threshold_secs {
        toml.push_str(&format!("[alerts.out_of_adherence]\nthreshold_secs = {secs}\n"));
    }
    let d = Daemon::start(env, &toml)?;
    let load_rt = load_runtime()?;
    let r = load_rt.block_on(async {
        let client = reqwest::Client::new();
        super::wait_outcomes(&client, &d, 0, Duration::from_millis(5), Duration::from_secs(5)).await?;
        let mut upload_ms = None;
        if let Some(csv) = roster {
            let bytes = csv.len();
            let t = Instant::now();
            let body = super::put_roster(&client, &d, csv).await?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            eprintln!("bench scale: roster of {} MB uploaded in {ms:.0} ms: {body}", bytes / 1_000_000);
            upload_ms = Some(ms);
        }
        let (apply0, daemon0) = (super::CpuMark::new("fw-apply"), super::CpuMark::new(super::DAEMON_THREADS));
        let t0 = Instant::now();
        let mut stream = TcpStream::connect(d.tcp).await?;
        let mut n = 0u64;
        let mut buf: Vec<u8> = Vec::with_capacity(crate::ingest::tcp::READ_BUF + 4096);
        let mut last_report = Instant::now();
        while let Some(l) = sim.next() {
            buf.extend_from_slice(l.line.as_bytes());
            buf.push(b'\n');
            n += 1;
            if buf.len() >= crate::ingest::tcp::READ_BUF {
                stream.write_all(&buf).await?;
                buf.clear();
                // Already uploaded, from the first run of the same floor.
                drop(sim.take_roster());
                if last_report.elapsed() > Duration::from_secs(5) {
                    last_report = Instant::now();
                    eprintln!("  … {n} events sent ({:.0}/s)", n as f64 / t0.elapsed().as_secs_f64());
                }
            }
        }
        stream.write_all(&buf).await?;
        stream.shutdown().await?;
        let (t1, counts) =
            super::wait_outcomes(&client, &d, n, Duration::from_millis(50), Duration::from_secs(1800)).await?;
        let load_secs = (t1 - t0).as_secs_f64();
        // CPU time is steadier than the wall clock on a shared host: the applier's
        // microseconds per event are what a roster adds to (the load generator, the
        // simulator and the readers share the cores and the wall clock's rate).
        let apply_cpu = apply0.secs();
        let daemon_cpu = daemon0.secs();
        eprintln!(
            "bench scale: {n} events applied in {load_secs:.1}s ({:.0}/s), outcomes {counts:?}; CPU per event: applier {:.3} µs, daemon {:.3} µs",
            n as f64 / load_secs,
            apply_cpu * 1e6 / n as f64,
            daemon_cpu * 1e6 / n as f64
        );
        let (rss_loaded, hwm) = rss();
        // The day's alerts by kind (their volume is a cost of ingest too, the roster's
        // out_of_adherence above all), read from /metrics before it is timed.
        let text = client.get(d.url("/metrics")).send().await?.error_for_status()?.text().await?;
        let fired = alerts_fired(&text);
        eprintln!("bench scale: alerts fired during the day, by kind: {fired}");

        let mut scrape = Vec::new();
        let mut scrape_bytes = 0;
        for _ in 0..a.samples {
            let (ms, bytes) = timed_get(client.get(d.url("/metrics"))).await?;
            scrape.push(ms);
            scrape_bytes = bytes;
        }
        let mut team_snap = Vec::new();
        let mut team_bytes = 0;
        for _ in 0..a.samples.max(20) {
            let (ms, bytes) = timed_get(client.get(d.url(&format!("/api/v1/snapshot?team={team}")))).await?;
            team_snap.push(ms);
            team_bytes = bytes;
        }
        // As a dashboard asks for it: compressed (docs/figures.md#snapshot-sizes).
        let mut team_gz = Vec::new();
        let mut team_gz_bytes = 0;
        for _ in 0..a.samples.max(20) {
            let req = client.get(d.url(&format!("/api/v1/snapshot?team={team}"))).header("accept-encoding", "gzip");
            let (ms, bytes) = timed_get(req).await?;
            team_gz.push(ms);
            team_gz_bytes = bytes;
        }
        let mut floor_snap = Vec::new();
        let mut floor_bytes = 0;
        for _ in 0..a.floor_samples {
            let (ms, bytes) = timed_get(client.get(d.url("/api/v1/snapshot?agents=false"))).await?;
            floor_bytes = bytes;
            floor_snap.push(ms);
        }
        let polling = match a.pollers {
            0 => Value::Null,
            _ => poll(&client, &d, a, &teams).await?,
        };
        let (rss_end, hwm_end) = rss();
        // Last, so that the peaks above are the day's and the views'.
        let mut full_snap = Vec::new();
        let (mut full_bytes, mut full_peak, mut full_base) = (0, 0, 0);
        for _ in 0..a.full_samples {
            let (base, _) = rss();
            anyhow::ensure!(reset_peak_rss(), "cannot reset the peak resident memory (/proc/self/clear_refs)");
            let t = Instant::now();
            let mut resp = client.get(d.url("/api/v1/snapshot")).send().await?.error_for_status()?;
            full_bytes = 0;
            while let Some(chunk) = resp.chunk().await? {
                full_bytes += chunk.len();
            }
            full_snap.push(t.elapsed().as_secs_f64() * 1000.0);
            let (_, peak) = rss();
            if peak > full_peak {
                (full_peak, full_base) = (peak, base);
            }
        }
        if a.hold_secs > 0 {
            eprintln!(
                "bench scale: holding for {}s: {} (pid {}, team {team})",
                a.hold_secs,
                d.url("/"),
                std::process::id()
            );
            tokio::time::sleep(Duration::from_secs(a.hold_secs)).await;
        }
        anyhow::Ok(json!({
            "scenario": "scale",
            "agents": a.agents, "teams": a.teams, "hours": a.hours,
            "roster_upload_ms": upload_ms,
            "events": n, "outcomes": counts, "load_secs": load_secs,
            "apply_cpu_secs": apply_cpu, "daemon_cpu_secs": daemon_cpu, "alerts_fired": fired,
            "rss_before_daemon_bytes": rss_before,
            "rss_loaded_bytes": rss_loaded, "rss_peak_while_loading_bytes": hwm,
            "rss_after_views_bytes": rss_end, "rss_peak_bytes": hwm_end,
            "metrics_scrape_ms": Stats::of(&scrape), "metrics_scrape_ms_runs": scrape, "metrics_bytes": scrape_bytes,
            "team_snapshot_ms": Stats::of(&team_snap), "team_snapshot_ms_runs": team_snap, "team_snapshot_bytes": team_bytes,
            "team_snapshot_gzip_ms": Stats::of(&team_gz), "team_snapshot_gzip_bytes": team_gz_bytes,
            "floor_snapshot_no_agents_ms": Stats::of(&floor_snap), "floor_snapshot_no_agents_bytes": floor_bytes,
            "full_snapshot_ms": Stats::of(&full_snap), "full_snapshot_bytes": full_bytes,
            "rss_before_full_snapshot_bytes": full_base, "rss_peak_full_snapshot_bytes": full_peak,
            "polling": polling,
        }))
    });
    d.stop();
    let r = r?;
    let gib = |k: &str| r[k].as_f64().unwrap_or(0.0) / (1u64 << 30) as f64;
    let ms = |k: &str| r[k]["median"].as_f64().unwrap_or(f64::NAN);
    let mn = |k: &str| r[k]["min"].as_f64().unwrap_or(f64::NAN);
    let mx = |k: &str| r[k]["max"].as_f64().unwrap_or(f64::NAN);
    println!("\nbench scale: {} agents, {} teams, {} h, {} events", a.agents, a.teams, a.hours, r["events"]);
    println!("| what | value |\n|---|---|");
    let per_event = |k: &str| r[k].as_f64().unwrap_or(f64::NAN) * 1e6 / r["events"].as_f64().unwrap_or(f64::NAN);
    println!(
        "| CPU per event during the day | applier {:.3} µs, daemon (all its threads) {:.3} µs |",
        per_event("apply_cpu_secs"),
        per_event("daemon_cpu_secs")
    );
    println!("| resident memory before the daemon (bench + simulator) | {:.3} GiB |", gib("rss_before_daemon_bytes"));
    println!("| resident memory loaded (whole process) | {:.3} GiB |", gib("rss_loaded_bytes"));
    println!("| peak resident memory (whole process) | {:.3} GiB |", gib("rss_peak_bytes"));
    println!(
        "| /metrics scrape ({} KB) | median {:.1} ms ({:.1}–{:.1}) |",
        r["metrics_bytes"].as_u64().unwrap_or(0) / 1000,
        ms("metrics_scrape_ms"),
        mn("metrics_scrape_ms"),
        mx("metrics_scrape_ms")
    );
    println!(
        "| team snapshot ({} KB) | median {:.2} ms ({:.2}–{:.2}) |",
        r["team_snapshot_bytes"].as_u64().unwrap_or(0) / 1000,
        ms("team_snapshot_ms"),
        mn("team_snapshot_ms"),
        mx("team_snapshot_ms")
    );
    println!(
        "| team snapshot, gzip ({} KB) | median {:.2} ms ({:.2}–{:.2}) |",
        r["team_snapshot_gzip_bytes"].as_u64().unwrap_or(0) / 1000,
        ms("team_snapshot_gzip_ms"),
        mn("team_snapshot_gzip_ms"),
        mx("team_snapshot_gzip_ms")
    );
    println!(
        "| floor snapshot, agents=false ({} KB) | median {:.1} ms |",
        r["floor_snapshot_no_agents_bytes"].as_u64().unwrap_or(0) / 1000,
        ms("floor_snapshot_no_agents_ms")
    );
    if let Some(u) = r["roster_upload_ms"].as_f64() {
        println!("| roster upload (PUT /api/v1/roster, a day for every agent) | {u:.0} ms |");
    }
    if a.pollers > 0 {
        let p = &r["polling"];
        println!(
            "| {} panels polling every {} s for {} s ({} answers) | daemon {:.2} cores; answers median {:.1} ms, p99 {:.1} ms; {} of {} snapshot reads shared |",
            a.pollers,
            a.poll_secs,
            a.poll_duration,
            p["answers"],
            p["daemon_cores"].as_f64().unwrap_or(f64::NAN),
            p["answer_ms"]["median"].as_f64().unwrap_or(f64::NAN),
            p["answer_p99_ms"].as_f64().unwrap_or(f64::NAN),
            p["shared"].as_f64().unwrap_or(0.0) as u64,
            p["reads"].as_f64().unwrap_or(0.0) as u64,
        );
    }
    if a.full_samples > 0 {
        println!(
            "| full snapshot ({} MB) | median {:.0} ms; resident {:.3} GiB before, peak {:.3} GiB: {:.2}× loaded |",
            r["full_snapshot_bytes"].as_u64().unwrap_or(0) / 1_000_000,
            ms("full_snapshot_ms"),
            gib("rss_before_full_snapshot_bytes"),
            gib("rss_peak_full_snapshot_bytes"),
            gib("rss_peak_full_snapshot_bytes") / gib("rss_loaded_bytes")
        );
    }
    Ok(r)
}

/// The dashboard panels of `--pollers` (see [`Args::pollers`]): the daemon's CPU while they
/// poll, their answer times, and the snapshot reads computed and shared.
async fn poll(client: &reqwest::Client, d: &Daemon, a: &Args, teams: &[String]) -> anyhow::Result<Value> {
    let shared_reads = || async {
        let text = client.get(d.url("/metrics")).send().await?.error_for_status()?.text().await?;
        let mut by_answer = (0.0, 0.0);
        let lines =
            text.lines().filter(|l| l.starts_with("floorwatch_shared_reads_total{") && l.contains("\"snapshot\""));
        for l in lines {
            let v: f64 = l.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
            if l.contains("answer=\"shared\"") {
                by_answer.1 += v;
            } else {
                by_answer.0 += v;
            }
        }
        anyhow::Ok(by_answer)
    };
    let (computed0, shared0) = shared_reads().await?;
    let period = Duration::from_secs(a.poll_secs.max(1));
    let until = Instant::now() + Duration::from_secs(a.poll_duration);
    let cpu0 = super::CpuMark::new(super::DAEMON_THREADS);
    let t0 = Instant::now();
    let panels = (0..a.pollers).map(|k| {
        let path = match k % 10 {
            0 => "/api/v1/snapshot?agents=false".to_string(),
            _ => format!("/api/v1/snapshot?team={}", teams[k % teams.len().max(1)]),
        };
        let (client, url) = (client.clone(), d.url(&path));
        let start = period * k as u32 / a.pollers as u32;
        async move {
            tokio::time::sleep(start).await;
            let mut times = Vec::new();
            let mut next = Instant::now();
            while next < until {
                let t = Instant::now();
                let resp = client.get(&url).header("accept-encoding", "gzip").send().await?.error_for_status()?;
                resp.bytes().await?;
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                next += period;
                tokio::time::sleep_until(next.into()).await;
            }
            anyhow::Ok(times)
        }
    });
    let mut times = Vec::new();
    for r in futures_util::future::join_all(panels).await {
        times.extend(r?);
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu0.secs();
    let (computed1, shared1) = shared_reads().await?;
    Ok(json!({
        "pollers": a.pollers, "poll_secs": a.poll_secs, "secs": secs,
        "answers": times.len(), "answer_ms": Stats::of(&times), "answer_p99_ms": super::quantile(&times, 0.99),
        "daemon_cores": cpu / secs,
        "reads": computed1 - computed0 + shared1 - shared0, "shared": shared1 - shared0,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_fired_sums_each_kind_over_teams() {
        let text = "# HELP floorwatch_alerts_fired_total Alerts fired.\n\
            # TYPE floorwatch_alerts_fired_total counter\n\
            floorwatch_alerts_fired_total{kind=\"out_of_adherence\",team=\"T1\"} 3\n\
            floorwatch_alerts_fired_total{kind=\"long_aux\",team=\"T1\"} 1\n\
            floorwatch_alerts_fired_total{kind=\"out_of_adherence\",team=\"T2\"} 4\n\
            floorwatch_alerts_retracted_total{kind=\"out_of_adherence\",team=\"T2\"} 9\n";
        assert_eq!(alerts_fired(text), json!({"out_of_adherence": 7, "long_aux": 1}));
    }
}
