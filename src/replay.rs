//! `floorwatch replay`: apply an NDJSON file with the event clock and print one snapshot.

use std::io::{BufRead, BufReader, Read, Write};
use std::time::{Duration, Instant};

use std::path::Path;

use crate::engine::{Engine, IngestCounts, Source, ViewOpts, WARM_AHEAD};
use crate::event::{Aliases, Refusal, decode_bytes};
use crate::journal::Recovery;
use crate::settings::{ClockMode, Settings};
use crate::snapshot::Snapshot;
use crate::time::{Ms, fmt_ms};

/// Where replayed events go: one engine, or (for a floor as of an instant before the last
/// event) an engine that takes only the events up to that instant beside one that counts
/// every event's outcome.
pub struct Sink<'a> {
    pub engine: &'a mut Engine,
    /// `(t, counter)`: `engine` takes only events stamped at or before `t`; `counter` takes
    /// every event.
    pub as_of: Option<(Ms, &'a mut Engine)>,
}

impl Sink<'_> {
    /// Applies the events of `ahead` in order, having read what they read first
    /// ([`Engine::read_ahead`]); leaves it empty.
    fn apply_all(&mut self, ahead: &mut Vec<crate::event::Input>) {
        self.engine.read_ahead(ahead);
        for ev in ahead.drain(..) {
            self.apply(ev);
        }
    }

    fn apply(&mut self, ev: crate::event::Input) {
        match &mut self.as_of {
            None => {
                self.engine.apply_input(ev, 0, Source::Replay);
            }
            Some((t, counter)) => {
                if ev.ts().is_some_and(|ts| ts <= *t) {
                    self.engine.apply_input(ev.clone(), 0, Source::Replay);
                }
                counter.apply_input(ev, 0, Source::Replay);
            }
        }
    }

    fn invalid(&mut self, why: Refusal) {
        match &mut self.as_of {
            None => self.engine.count_invalid(Source::Replay, why),
            Some((_, counter)) => counter.count_invalid(Source::Replay, why),
        }
    }

    fn max_ts(&self) -> Option<Ms> {
        match &self.as_of {
            None => self.engine.max_ts(),
            Some((_, counter)) => counter.max_ts(),
        }
    }
}

/// Feeds NDJSON lines from `input` into `engine`. Blank lines are skipped (not events); a
/// line longer than `max_line_bytes` is invalid. Progress goes to stderr when `progress`.
pub fn feed(engine: &mut Engine, input: impl Read, max_line_bytes: usize, progress: bool) -> std::io::Result<u64> {
    feed_into(Sink { engine, as_of: None }, input, max_line_bytes, progress, false)
}

/// At most this many invalid lines are named on stderr by `replay` (the summary counts all).
const EXPLAINED: u32 = 10;

/// [`feed`]; with `explain`, the first [`EXPLAINED`] invalid lines are named on stderr with
/// their line number and why ("invalid 13" alone left an operator to find them).
fn feed_into(
    mut sink: Sink,
    input: impl Read,
    max_line_bytes: usize,
    progress: bool,
    explain: bool,
) -> std::io::Result<u64> {
    let aliases = Aliases::new(sink.engine.settings.aliases.clone());
    let engine = &mut sink;
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let mut line = Vec::with_capacity(1024);
    let mut ahead = Vec::with_capacity(WARM_AHEAD);
    let mut lines = 0u64;
    // Lines read, blank ones included: what an editor numbers.
    let mut at_line = 0u64;
    let mut explained = 0u32;
    let mut explain_one = |at: u64, why: Refusal, message: &str| {
        if explain && explained < EXPLAINED {
            explained += 1;
            let more = if explained == EXPLAINED {
                " (the first 10 invalid lines named; the counts have them all)"
            } else {
                ""
            };
            eprintln!("replay: line {at}: invalid ({}): {message}{more}", why.as_str());
        }
    };
    let started = Instant::now();
    let mut last_report = started;
    loop {
        line.clear();
        // Read at most max_line_bytes + 1 before deciding: an oversized line is skipped to
        // its newline without being held in memory.
        let n = (&mut reader).take(max_line_bytes as u64 + 1).read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        at_line += 1;
        if line.last() != Some(&b'\n') && line.len() > max_line_bytes {
            engine.invalid(Refusal::TooLarge);
            explain_one(
                at_line,
                Refusal::TooLarge,
                &format!("line over limits.max_line_bytes ({max_line_bytes} bytes)"),
            );
            skip_to_newline(&mut reader)?;
            lines += 1;
            continue;
        }
        let mut l = line.as_slice();
        while let Some((last, rest)) = l.split_last() {
            if matches!(last, b'\n' | b'\r') { l = rest } else { break }
        }
        if l.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        lines += 1;
        match decode_bytes(l, &aliases) {
            // Applied a few at a time, in order, each alone (the outcome counts do not
            // depend on where an invalid line falls among them).
            Ok(ev) => {
                ahead.push(ev);
                if ahead.len() == WARM_AHEAD {
                    engine.apply_all(&mut ahead);
                }
            }
            Err(e) => {
                explain_one(at_line, e.refusal(), e.message());
                engine.invalid(e.refusal());
            }
        }
        if progress && lines.is_multiple_of(65_536) && last_report.elapsed() >= Duration::from_secs(1) {
            last_report = Instant::now();
            let rate = lines as f64 / started.elapsed().as_secs_f64();
            eprintln!(
                "replay: {lines} lines, {rate:.0} lines/s, event time {}",
                engine.max_ts().map(fmt_ms).unwrap_or_default()
            );
        }
    }
    engine.apply_all(&mut ahead);
    Ok(lines)
}

fn skip_to_newline(r: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        match memchr::memchr(b'\n', buf) {
            Some(i) => {
                r.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = buf.len();
                r.consume(n);
            }
        }
    }
}

/// What a replay read: non-blank lines, their outcomes, and the instant of the snapshot
/// (`None` when nothing was applied and so no snapshot was written).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Replayed {
    pub lines: u64,
    pub ingest: IngestCounts,
    pub at: Option<Ms>,
}

impl Replayed {
    /// One line for stderr: what was read and what became of it.
    pub fn summary(&self) -> String {
        let i = &self.ingest;
        let counts =
            format!("applied {}, duplicate {}, late {}, invalid {}", i.applied, i.duplicate, i.late, i.invalid);
        match self.at {
            _ if self.lines == 0 => "replay: the input is empty: no events, no snapshot".to_string(),
            None => format!(
                "replay: {} line{}, no event applied ({counts}): no snapshot",
                self.lines,
                if self.lines == 1 { "" } else { "s" }
            ),
            Some(at) => format!(
                "replay: {} line{}: {counts}; snapshot as of {}",
                self.lines,
                if self.lines == 1 { "" } else { "s" },
                fmt_ms(at)
            ),
        }
    }
}

/// Replays `input` and writes the snapshot at `now` (default: the largest applied ts).
/// A `now` before the last event gives the floor as of `now`: states, figures and alerts
/// as if nothing after it had happened yet, while `ingest` counts every event read.
/// Writes nothing when no event was applied: a snapshot of nothing at 1970-01-01 would only mislead
/// (docs/events.md#replay).
pub fn run(
    settings: Settings,
    input: impl Read,
    now: Option<Ms>,
    max_line_bytes: usize,
    out: &mut impl Write,
) -> std::io::Result<Replayed> {
    run_seeding(settings, input, now, max_line_bytes, out, None)
}

/// [`run`], also writing the replayed state (as of `now`) into the empty journal directory
/// `seed`, as its state snapshot: `serve` with that directory starts from it, so replayed
/// past days give the AHT chart its history (and baseline) on the first morning.
pub fn run_seeding(
    mut settings: Settings,
    input: impl Read,
    now: Option<Ms>,
    max_line_bytes: usize,
    out: &mut impl Write,
    seed: Option<&Path>,
) -> std::io::Result<Replayed> {
    // Refused before reading anything: a directory that holds a journal is a floor's state.
    let seed = seed.map(Recovery::open).transpose().map_err(std::io::Error::other)?;
    if seed.as_ref().is_some_and(|r| !r.is_empty()) {
        return Err(std::io::Error::other(
            "--journal-dir: the directory already holds a journal; seed an empty one (a journal is a floor's state)",
        ));
    }
    settings.clock = ClockMode::Event;
    // Every alert of the input is listed, however many days it covers (SPEC §5.3).
    settings.keep_resolved_alerts_ms = Ms::MAX;
    settings.max_alerts = usize::MAX;
    let mut engine = Engine::new(settings.clone());
    let mut counter = now.map(|_| Engine::new(settings));
    let progress =
        std::io::IsTerminal::is_terminal(&std::io::stderr()) || std::env::var_os("FLOORWATCH_PROGRESS").is_some();
    let started = Instant::now();
    let sink = Sink { engine: &mut engine, as_of: now.zip(counter.as_mut()) };
    let lines = feed_into(sink, input, max_line_bytes, progress, true)?;
    let applied_in = started.elapsed();
    let ingest = counter.as_ref().unwrap_or(&engine).ingest_total();
    if ingest.applied == 0 {
        return Ok(Replayed { lines, ingest, at: None });
    }
    let at = match (now, engine.max_ts()) {
        (Some(n), _) => n,
        (None, Some(l)) => l,
        (None, None) => 0,
    };
    let mut view = engine.view(at, &ViewOpts { team: None, agents: true, alerts: true, scrape: false });
    if let Some(c) = &counter {
        view.ingest = c.ingest_total();
    }
    serde_json::to_writer(&mut *out, &Snapshot(&view))?;
    out.write_all(b"\n")?;
    if let Some(rec) = seed {
        let journal = rec.start(0, Duration::from_millis(20)).map_err(std::io::Error::other)?;
        journal.snapshot(&engine)();
        journal.close();
    }
    if progress && lines >= 65_536 {
        // Reading and applying apart from writing the snapshot: the first is the ingest
        // rate (the roster's benchmarks read it), the second grows with the alerts listed.
        let (all, read) = (started.elapsed().as_secs_f64(), applied_in.as_secs_f64());
        eprintln!(
            "replay: {lines} lines in {all:.2}s: {read:.2}s reading and applying them ({:.0} lines/s), {:.2}s the snapshot",
            lines as f64 / read,
            all - read
        );
    }
    Ok(Replayed { lines, ingest, at: Some(at) })
}
