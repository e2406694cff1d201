//! The `floorwatch` binary: parses the command line, loads configuration, sets up logging
//! and hands over to the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use floorwatch::config::FileConfig;

#[derive(Parser)]
#[command(
    name = "floorwatch",
    version,
    about = "Real-time agent-state monitoring for contact centres",
    long_about = "floorwatch consumes the live stream of agent state changes (talking, ACW, aux, idle, offline), keeps exact \
rolling windows per agent, computes the figures floors are run by (talk utilization, aux rate, occupancy, AHT, \
dispersion), detects aux clustering at peak time, and pushes it all to a browser wallboard, Prometheus and alert hooks.\n\n\
Without a subcommand it runs `serve`.",
    after_help = "Examples:\n  floorwatch serve --demo                      # a simulated live floor at http://localhost:8080\n  \
floorwatch serve --config /etc/floorwatch/floorwatch.toml\n  \
floorwatch send --event '{\"agent\":\"A1\",\"state\":\"idle\",\"team\":\"T1\"}'\n  \
floorwatch replay events.ndjson --config floor.toml --now 2026-11-23T10:00:00Z\n  \
floorwatch simulate --agents 500 --duration 8h --out day.ndjson"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
// Parsed once at start-up: the size of the largest variant costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
enum Command {
    /// Run the daemon: TCP/WebSocket/HTTP ingest, wallboard, API, /metrics, alert hooks.
    Serve(ServeArgs),
    /// Send events (a file, stdin or --event) to a running daemon and print their outcomes.
    Send(floorwatch::send::SendArgs),
    /// Apply an NDJSON file of events with the event clock and print one JSON snapshot.
    ///
    /// A long replay shows its progress (lines, rate, event time) on stderr when that is a
    /// terminal; set FLOORWATCH_PROGRESS=1 to have it in a log too (nohup, CI, a unit).
    Replay(ReplayArgs),
    /// Generate a realistic simulated floor as NDJSON, to a file or streamed to a daemon.
    Simulate(floorwatch::sim::SimulateArgs),
    /// Load benchmarks of the whole daemon on loopback, against the parse-only limit (BENCHMARKS.md).
    Bench(floorwatch::bench::BenchArgs),
    /// Validate a configuration file and print the effective settings summary.
    CheckConfig {
        /// The TOML file to check.
        #[arg(required_unless_present = "config", conflicts_with = "config", value_name = "CONFIG")]
        file: Option<PathBuf>,
        /// The same file given as `serve` and `replay` take it (`-c FILE`), so a command line
        /// copied from one of them works.
        #[arg(long, short, value_name = "CONFIG")]
        config: Option<PathBuf>,
    },
}

#[derive(clap::Args, Default)]
struct ServeArgs {
    /// Configuration file (TOML). Without it the built-in defaults are used.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// HTTP listen address (overrides server.http), e.g. 127.0.0.1:8080.
    #[arg(long)]
    http: Option<String>,
    /// NDJSON TCP ingest listen address (overrides server.tcp), e.g. 127.0.0.1:7070.
    #[arg(long)]
    tcp: Option<String>,
    /// `wall` (now = system time) or `event` (now = largest event ts, like replay).
    #[arg(long)]
    clock: Option<String>,
    /// Feed the daemon with a built-in simulated 200-agent floor (try it: a live wallboard at once).
    #[arg(long)]
    demo: bool,
    /// Keep state in memory only, whatever the config or --journal-dir says.
    #[arg(long)]
    no_journal: bool,
    /// Journal directory (overrides journal.dir; relative to the current directory). The
    /// systemd unit sets FLOORWATCH_JOURNAL_DIR to its state directory, /var/lib/floorwatch.
    #[arg(long, value_name = "DIR", env = "FLOORWATCH_JOURNAL_DIR")]
    journal_dir: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ReplayArgs {
    /// NDJSON file of events, or `-` for standard input.
    input: String,
    /// Configuration file (TOML), as `serve` reads it. What shapes the figures and alerts
    /// is used: [floor], [peak], [queues], [alerts], [aht_chart], [adherence], [roster] (its
    /// file is the schedule) and [limits] max_line_bytes; the server, sources, hooks,
    /// journal, auth, tls and cluster sections are not.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Evaluate at this instant (RFC 3339 or epoch ms) instead of the last event's time.
    #[arg(long)]
    now: Option<String>,
    /// Also write the replayed state into this empty journal directory, for `serve` to
    /// start from: past days seed the AHT chart's history (docs/figures.md).
    #[arg(long)]
    journal_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    floorwatch::mem::use_huge_pages();
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Replay(args) => replay(args),
        Command::Send(args) => send(args),
        Command::CheckConfig { file, config } => check_config(&file.or(config).expect("clap requires one")),
        Command::Simulate(args) => {
            init_tracing();
            let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
            match rt.block_on(floorwatch::sim::run(args)) {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => fail(&format!("{e:#}")),
            }
        }
        Command::Bench(args) => match floorwatch::bench::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&format!("bench: {e:#}")),
        },
        Command::Serve(args) => serve(args),
    }
}

/// `check-config`: everything `serve` checks before binding (every key, TLS files, hooks,
/// the web lists, whether the journal directory is writable), every error reported, then
/// a summary of what the daemon would run.
fn check_config(path: &PathBuf) -> ExitCode {
    let (file, base) = match load(Some(path)) {
        Ok(x) => x,
        Err(e) => return fail(&e),
    };
    let mut errors: Vec<String> = Vec::new();
    let config = file.validate(&base).map_err(|e| errors.extend(e.0.iter().map(|e| e.to_string()))).ok();
    let s = &file.server;
    let checked = floorwatch::server::check_parts(
        &file.tls,
        &file.hooks,
        &file.floor.timezone,
        &s.allowed_hosts,
        &s.allowed_origins,
        &base,
    )
    .map_err(|e| errors.extend(e.0.iter().map(|e| e.to_string())))
    .ok();
    if file.journal.enabled {
        let dir = base.join(&file.journal.dir);
        if let Err(e) = writable_dir(&dir) {
            errors.push(format!("journal.dir: {} is not a writable directory: {e}", dir.display()));
        }
    }
    if let Some(c) = &config {
        let exposed = floorwatch::server::open_exposure(c, c.server.http, c.server.tcp);
        if !exposed.is_empty() && !c.open {
            errors.push(format!(
                "auth.open: {}; set auth.ingest_token and auth.viewer_token, listen on 127.0.0.1, or set auth.open = true",
                exposed.join("; ")
            ));
        }
    }
    let (Some(config), Some(checked), true) = (config, checked, errors.is_empty()) else {
        return fail(&format!("{} is not valid:\n{}", path.display(), errors.join("\n")));
    };
    let c = &config;
    let s = &c.core;
    let open = |t: &Option<String>| if t.is_some() { "token required" } else { "open (no token)" };
    println!("{}: ok", path.display());
    println!(
        "  listeners: http {}{}, tcp {}",
        c.server.http,
        if checked.tls.is_some() { " (TLS)" } else { "" },
        c.server.tcp
    );
    let clock = if s.clock == floorwatch::settings::ClockMode::Wall { "wall" } else { "event" };
    println!("  clock: {clock}, time zone {}, windows {}", s.timezone_name, c.board.windows.join(", "));
    let a = &s.aht_chart;
    println!(
        "  AHT chart: {} and day points of at least {} contacts, baseline of {} points, {} days kept",
        a.interval_name(),
        a.min_contacts,
        a.baseline_points,
        a.history_ms / 86_400_000
    );
    match (&c.cluster, &c.journal) {
        (Some(k), _) => println!(
            "  cluster: site {} following {} on stream {} ({} copies) via {}; state snapshots in {}; hook lease {} s",
            k.site,
            k.sites.join(", "),
            k.stream,
            k.replicas,
            k.nats.join(", "),
            k.state_dir.as_ref().map_or("(none: a restart replays the stream)".into(), |d| d.display().to_string()),
            k.lease.as_secs()
        ),
        (None, Some(j)) => println!("  journal: {} (fsync every {} ms)", j.dir.display(), j.fsync_interval.as_millis()),
        (None, None) => println!("  journal: off (state in memory only)"),
    }
    println!(
        "  auth: ingest {}, viewer {}{}",
        open(&c.tokens.ingest),
        open(&c.tokens.viewer),
        if c.open { " (auth.open = true: open on purpose)" } else { "" }
    );
    println!(
        "  hooks: {}",
        if checked.hooks.is_empty() {
            "none".to_string()
        } else {
            // With what people read in them: the language and the zone of clock times.
            let shown = |h: &floorwatch::hooks::HookConfig| {
                let lang = h.lang.as_deref().unwrap_or("en");
                format!("{} ({lang}, times in {})", h.kind, h.timezone.as_deref().unwrap_or("UTC"))
            };
            checked.hooks.iter().map(shown).collect::<Vec<_>>().join(", ")
        }
    );
    if c.sources.is_empty() {
        println!("  sources: tcp, ws, http (no platform sources configured)");
    } else {
        // Never the secret: the user and where it connects.
        let platforms: Vec<String> = c
            .sources
            .iter()
            .map(|s| match &s.kind {
                floorwatch::sources::config::SourceKind::Asterisk(a) => {
                    format!("{} (asterisk AMI {} as {}, wrap-up {} s)", s.name, a.addr, a.username, a.wrapup_secs)
                }
                floorwatch::sources::config::SourceKind::Connect(k) => format!(
                    "{} (connect: POST /api/v1/sources/{}, down after {} s without a delivery)",
                    s.name, s.name, k.stale_after_secs
                ),
                floorwatch::sources::config::SourceKind::Twilio(t) => format!(
                    "{} (twilio: POST /api/v1/sources/{} signed for {}, down after {} s without a delivery)",
                    s.name, s.name, t.public_url, t.stale_after_secs
                ),
                floorwatch::sources::config::SourceKind::Genesys(g) => {
                    format!(
                        "{} (genesys {} as client {}, queues {})",
                        s.name,
                        g.api_base,
                        g.client_id,
                        g.queues.join(", ")
                    )
                }
                floorwatch::sources::config::SourceKind::Freeswitch(f) => {
                    format!("{} (freeswitch ESL {}, default wrap-up {} s)", s.name, f.addr, f.wrapup_secs)
                }
            })
            .collect();
        println!("  sources: tcp, ws, http; {}", platforms.join(", "));
    }
    ExitCode::SUCCESS
}

/// Whether the daemon could write `dir`: a probe file in it, or, when it does not exist
/// yet, in the nearest existing directory above it (where it would be created). Creates
/// nothing that stays.
fn writable_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let dir = std::path::absolute(dir)?;
    let existing = dir.ancestors().find(|d| d.exists()).unwrap_or(std::path::Path::new("/"));
    if !existing.is_dir() {
        return Err(std::io::Error::other(format!("{} is not a directory", existing.display())));
    }
    let probe = existing.join(format!(".floorwatch-check-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(&probe)
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("floorwatch: {msg}");
    ExitCode::from(2)
}

fn load(path: Option<&PathBuf>) -> Result<(FileConfig, PathBuf), String> {
    let file = FileConfig::load(path.map(|p| p.as_path())).map_err(|e| e.to_string())?;
    let base = path
        .and_then(|p| p.parent().map(|d| if d.as_os_str().is_empty() { PathBuf::from(".") } else { d.to_path_buf() }))
        .unwrap_or_else(|| PathBuf::from("."));
    Ok((file, base))
}

fn replay(args: ReplayArgs) -> ExitCode {
    let (file, base) = match load(args.config.as_ref()) {
        Ok(x) => x,
        Err(e) => return fail(&e),
    };
    let mut settings = match file.settings() {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    match file.roster_upload(&base, &settings.tz) {
        Ok(up) => settings.roster = up.map(std::sync::Arc::new),
        Err(e) => return fail(&e.to_string()),
    }
    let now = match args.now.as_deref().map(|s| floorwatch::time::parse_instant(s).ok_or(s)) {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(s)) => return fail(&format!("--now: {s:?} is neither RFC 3339 nor epoch milliseconds")),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let seed = args.journal_dir.as_deref();
    let max_line = file.limits.max_line_bytes;
    let res = if args.input == "-" {
        floorwatch::replay::run_seeding(settings, std::io::stdin().lock(), now, max_line, &mut out, seed)
    } else {
        match std::fs::File::open(&args.input) {
            Ok(f) => floorwatch::replay::run_seeding(settings, f, now, max_line, &mut out, seed),
            Err(e) => return fail(&format!("cannot open {}: {e}", args.input)),
        }
    };
    match res.and_then(|r| std::io::Write::flush(&mut out).map(|()| r)) {
        // Say what was read: an empty or garbage file must not pass for an empty floor.
        Ok(r) if r.at.is_none() => {
            eprintln!("{}", r.summary());
            ExitCode::from(1)
        }
        Ok(r) => {
            eprintln!("{}", r.summary());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("replay: {e}")),
    }
}

fn send(args: floorwatch::send::SendArgs) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("tokio runtime: {e}")),
    };
    match rt.block_on(floorwatch::send::run(args)) {
        Ok(report) => {
            for line in report.lines() {
                println!("{line}");
            }
            ExitCode::from(report.exit_code())
        }
        Err(e) => fail(&format!("send: {e:#}")),
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("FLOORWATCH_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: journald and log files get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr).try_init();
}

fn serve(args: ServeArgs) -> ExitCode {
    init_tracing();
    let (mut file, base) = match load(args.config.as_ref()) {
        Ok(x) => x,
        Err(e) => return fail(&e),
    };
    if let Some(h) = args.http {
        file.server.http = h;
    }
    if let Some(t) = args.tcp {
        file.server.tcp = t;
    }
    if let Some(c) = args.clock {
        file.server.clock = c;
    }
    if args.no_journal {
        file.journal.enabled = false;
    }
    let journal_from = match journal_dir(&mut file, args.journal_dir, args.config.as_ref()) {
        Ok(from) => from,
        Err(e) => return fail(&e),
    };
    // Validate everything before any port is bound, once.
    let config = match file.validate(&base) {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string()),
    };
    if let Err(e) = floorwatch::server::check(&config) {
        return fail(&e.to_string());
    }
    // Open to the network only by choice (checked again on the bound addresses).
    let exposed = floorwatch::server::open_exposure(&config, config.server.http, config.server.tcp);
    if !exposed.is_empty() && !config.open && !args.demo {
        return fail(&format!(
            "auth.open: {}. Set auth.ingest_token and auth.viewer_token (or *_env / *_file), listen on 127.0.0.1 \
             (--http, --tcp), or set auth.open = true to serve open on purpose",
            exposed.join("; ")
        ));
    }
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("tokio runtime: {e}")),
    };
    if let (Some(j), false) = (&config.journal, args.demo) {
        // Where the state lives is the first thing an operator looks for after a restart.
        let dir = std::path::absolute(&j.dir).unwrap_or(j.dir.clone());
        tracing::info!("journal: {} ({journal_from})", dir.display());
    } else if !args.demo {
        tracing::info!("journal off: state is kept in memory only and a restart starts an empty floor");
    }
    let demo = args.demo;
    let result = rt.block_on(async move {
        let listeners = floorwatch::server::Listeners::bind(config.server.http, config.server.tcp).await?;
        if demo {
            let port = listeners.http.local_addr().map(|a| a.port()).unwrap_or(8080);
            tracing::info!("demo floor: open http://localhost:{port}/ for the wallboard");
        }
        let shutdown = tokio_util::sync::CancellationToken::new();
        let signal = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            signal.cancel();
        });
        floorwatch::server::run_config(config, listeners, demo, shutdown).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("{e:#}")),
    }
}

/// Applies `--journal-dir` (or `FLOORWATCH_JOURNAL_DIR`) to `file.journal.dir` and says
/// where the directory came from, for the start-up log.
fn journal_dir(file: &mut FileConfig, flag: Option<PathBuf>, config: Option<&PathBuf>) -> Result<String, String> {
    let configured = file.journal.dir.clone();
    let Some(dir) = flag else {
        return Ok(match config {
            Some(c) => format!("journal.dir = {configured:?} in {}", c.display()),
            None => format!(
                "journal.dir = {configured:?}, relative to the current directory as no --config was given; \
                 choose with --journal-dir or FLOORWATCH_JOURNAL_DIR"
            ),
        });
    };
    if dir.as_os_str().is_empty() {
        return Err("--journal-dir: empty path".into());
    }
    // clap takes the flag over the variable: the variable counts only when no flag was given.
    let given_by = match std::env::var_os("FLOORWATCH_JOURNAL_DIR") {
        Some(v)
            if v == dir.as_os_str()
                && !std::env::args_os().any(|a| a.to_string_lossy().starts_with("--journal-dir")) =>
        {
            "FLOORWATCH_JOURNAL_DIR"
        }
        _ => "--journal-dir",
    };
    // A flag is relative to where the command runs, not to the config file.
    let dir = std::path::absolute(&dir).map_err(|e| format!("--journal-dir {}: {e}", dir.display()))?;
    let Some(text) = dir.to_str() else {
        return Err(format!("--journal-dir {}: not UTF-8", dir.display()));
    };
    let default_dir = floorwatch::config::JournalConfig::default().dir;
    let from = if config.is_some() && configured != default_dir {
        format!("from {given_by}, overriding journal.dir = {configured:?} in the config")
    } else {
        format!("from {given_by}")
    };
    file.journal.dir = text.to_string();
    Ok(from)
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
            _ = term.recv() => tracing::info!("SIGTERM received"),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
