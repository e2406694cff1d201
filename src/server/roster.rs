//! The roster's sources in the daemon (SPEC §9.1): `[roster] file`, re-read when it changes
//! and on SIGHUP, and `PUT /api/v1/roster`. Both parse off the engine lock (in a blocking
//! task), apply the whole upload or nothing, and then take a journal state snapshot, so a
//! roster survives a restart without riding in the event journal.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use super::Shared;

/// `floorwatch_roster_uploads_total{source, outcome}`: rosters sent with `PUT` (`put`) or
/// read from `[roster] file` (`file`), `applied` or `refused` (nothing of it applied).
pub fn uploads_counter(registry: &prometheus::Registry) -> prometheus::IntCounterVec {
    let c = prometheus::IntCounterVec::new(
        prometheus::Opts::new(
            "floorwatch_roster_uploads_total",
            "Rosters uploaded with PUT /api/v1/roster (source=put) or read from [roster] file (source=file), applied or refused whole.",
        ),
        &["source", "outcome"],
    )
    .expect("valid metric");
    for source in ["put", "file"] {
        for outcome in ["applied", "refused"] {
            c.with_label_values(&[source, outcome]);
        }
    }
    registry.register(Box::new(c.clone())).expect("registered once");
    c
}

/// Counts an upload of `source` (`put`, `file`): applied or refused.
pub fn count_upload(shared: &Shared, source: &str, applied: bool) {
    shared.roster_uploads.with_label_values(&[source, if applied { "applied" } else { "refused" }]).inc();
}

/// What an upload did, or why nothing of it was applied.
pub fn apply(shared: &Shared, text: &str) -> Result<crate::roster::Applied, String> {
    if shared.core.cluster().is_some() {
        // Every replica must hold the same schedule; it does not ride in the stream yet.
        return Err("a roster is not yet shared through [cluster] (docs/cluster.md)".into());
    }
    let tz = shared.settings.tz.clone();
    let up = crate::roster::parse::parse(text, &tz).map_err(|e| e.to_string())?;
    let applied = shared.engine().upload_roster(&up).map_err(|e| e.to_string())?;
    snapshot(shared);
    Ok(applied)
}

/// A journal state snapshot (the roster is in it), written in the background.
fn snapshot(shared: &Shared) {
    if let Some(j) = shared.core.journal() {
        let job = j.snapshot(&shared.engine());
        std::thread::spawn(job);
    }
}

/// What tells the file changed: its modification time and length.
fn stamp(path: &std::path::Path) -> Option<(SystemTime, u64)> {
    std::fs::metadata(path).ok().and_then(|m| Some((m.modified().ok()?, m.len())))
}

/// Re-reads `[roster] file` once a change has stood still for a check (an export still
/// being written is not read half-way: a half file would take the agents it has not reached
/// yet out of the day), and at once on SIGHUP. A file that cannot be read or parsed is
/// logged (once per change) and changes nothing.
pub async fn watch(shared: Arc<Shared>, shutdown: CancellationToken) {
    let Some(path) = shared.config.roster_file.clone() else {
        // SIGHUP's default would end the daemon (silently, and a stop by SIGHUP is a clean
        // one to systemd: no restart): `kill -HUP` and `systemctl reload` are habits.
        #[cfg(unix)]
        if let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = hup.recv() => tracing::info!(
                        "SIGHUP: no [roster] file to read again; the configuration is read at start only (restart to change it)"
                    ),
                }
            }
        }
        return;
    };
    let every = shared.config.roster_check_interval;
    let mut seen = stamp(&path);
    // A change seen at the last check, read if the next one finds it the same.
    let mut pending = None;
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        #[cfg(unix)]
        let hup_fut = async {
            match &mut hup {
                Some(h) => {
                    h.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let hup_fut = std::future::pending::<()>();
        let forced = tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every.max(Duration::from_millis(100))) => false,
            _ = hup_fut => true,
        };
        let now = stamp(&path);
        if !forced {
            if now == seen {
                pending = None;
                continue;
            }
            if pending != Some(now) {
                pending = Some(now);
                continue;
            }
        }
        pending = None;
        seen = now;
        let sh = shared.clone();
        let p = path.clone();
        let max = shared.config.roster_max_bytes;
        let res = tokio::task::spawn_blocking(move || {
            let up = crate::roster::read_file(&p, max, &sh.settings.tz)?;
            let applied = sh.engine().upload_roster_file(&up).map_err(|e| e.to_string())?;
            if applied.changed + applied.cleared > 0 {
                snapshot(&sh);
            }
            Ok::<_, String>(applied)
        })
        .await;
        count_upload(&shared, "file", matches!(res, Ok(Ok(_))));
        match res {
            Ok(Ok(a)) => {
                if let Some(w) = &a.outside {
                    tracing::warn!("roster.file {}: {w}", path.display());
                }
                tracing::info!(
                    changed = a.changed,
                    cleared = a.cleared,
                    unchanged = a.unchanged,
                    "roster.file {} re-read: {} agent-day(s) applied, {} taken out, {} as they were",
                    path.display(),
                    a.changed,
                    a.cleared,
                    a.unchanged
                );
            }
            Ok(Err(e)) => tracing::warn!("roster.file: {e}; the schedule in force stays as it was"),
            Err(e) => tracing::warn!(
                "roster.file: reading {} failed: {e}; the schedule in force stays as it was",
                path.display()
            ),
        }
    }
}
