//! The engine's rules at their edges (SPEC §2.2, §2.4, §2.5, §3.3, §4), as tables through
//! one helper, [`check`]: a case is NDJSON lines in delivery order, a `now` and what a view
//! at `now` must show. Every case runs with each clock it names:
//!
//! - `event`: each line (or batch, below) applied with the event clock;
//! - `wall`: each line delivered at its own `ts` (`apply_batch(ts, Tcp, [ev], &[])`).
//!
//! A line may start with `@HH:MM:SS ` (the time it is received: consecutive lines with the
//! same prefix are one batch, e.g. one agent's hour of events delivered late) or be
//! `view HH:MM:SS` (a view taken in between, as a wallboard would, which stores what it
//! has fired by then). A `ts` written as `HH:MM[:SS[.mmm]]` is on 2026-11-23 UTC.
//!
//! Alerts are compared as `(kind, team, agent, started_at, fired_at, resolved_at)` with
//! `HH:MM:SS[.mmm]` times (`""` for none); each one's `id` is checked to be named by its
//! `started_at`. Besides what the expectation says, `check` asserts that the view's alerts
//! (the instant `now` evaluated tentatively) are what the store holds once time has moved
//! past `now`, and, for cases marked `on_time`, that the alerts (whole: ids, values,
//! agents, messages) equal those of the same events delivered on time one by one.

use super::*;
use crate::alert::Alert;
use crate::config::FileConfig;
use crate::event::{Aliases, Refusal, decode_str};
use crate::time::{fmt_ms, parse_rfc3339};

const DAY: &str = "2026-11-23";
const BOTH: &[&str] = &["event", "wall"];
const EVENT: &[&str] = &["event"];
const WALL: &[&str] = &["wall"];

/// Peak 09:00-12:00 UTC; long_aux and aux_dispersion out of the way (cases about them set
/// their own).
const PEAK9: &str = "[peak]\nwindows = [\"09:00-12:00\"]\n[alerts.long_aux]\nmax_aux_secs = 86400\n\
                     [alerts.aux_dispersion]\nmin_peak_secs = 86400\n";
/// No peak at all, default long_aux (600 s), restroom 900 s.
const NO_PEAK: &str = "[peak]\nwindows = []\n[alerts.long_aux]\nmax_aux_secs = 600\nper_reason = { restroom = 900 }\n";

/// (kind, team, agent, started_at, fired_at, resolved_at); `""` for none.
type A = (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str);

#[derive(Default)]
struct Expect {
    /// The view's alerts at `now`, oldest first.
    alerts: &'static [A],
    /// Notifications that took an alert back (`retracted: true`), in order.
    retracted: &'static [A],
    /// applied, duplicate, late, invalid, skewed (source tcp).
    ingest: Option<[u64; 5]>,
    /// Selected figures: `T1.peak` (0/1), `T1.<count>` (talking, acw, aux, aux_unplanned,
    /// idle, offline, logged_in), `T1.<window>.<figure>` (`talking_s`, `aux_s`,
    /// `planned_aux_s`, `idle_s`, `logged_in_s`, `contacts`), `alert<i>.value`,
    /// `alert<i>.agents` (how many), `refused.<reason>`.
    figs: &'static [(&'static str, f64)],
    /// The alerts equal those of the same events delivered on time, one by one.
    on_time: bool,
}

struct Case {
    name: &'static str,
    /// TOML added to `[server] clock = ...`.
    cfg: &'static str,
    clocks: &'static [&'static str],
    events: Vec<String>,
    now: &'static str,
    expect: Expect,
}

/// `HH:MM[:SS[.mmm]]` on the test day.
fn at(hms: &str) -> Ms {
    let t = if hms.len() == 5 { format!("{hms}:00") } else { hms.to_string() };
    parse_rfc3339(&format!("{DAY}T{t}Z")).unwrap_or_else(|| panic!("bad time {hms}"))
}

/// `HH:MM:SS`, with `.mmm` only when not whole seconds; other days in full.
fn hms(ms: Ms) -> String {
    let s = fmt_ms(ms);
    if !s.starts_with(DAY) {
        return s;
    }
    let t = &s[11..23];
    t.strip_suffix(".000").unwrap_or(t).to_string()
}

/// Expands a short `"ts":"HH:MM..."` to RFC 3339 on the test day.
fn expand(line: &str) -> String {
    let Some(i) = line.find("\"ts\":\"") else { return line.to_string() };
    let v0 = i + 6;
    let v1 = v0 + line[v0..].find('"').expect("closed ts");
    let v = &line[v0..v1];
    if v.contains('T') {
        return line.to_string();
    }
    let v = if v.len() == 5 { format!("{v}:00") } else { v.to_string() };
    format!("{}{DAY}T{v}Z{}", &line[..v0], &line[v1..])
}

/// One event line: `state` may be `aux:reason`; `team` only when not empty.
fn ev(ts: &str, agent: &str, state: &str, team: &str) -> String {
    let (state, reason) = match state.split_once(':') {
        Some((s, r)) => (s, format!(",\"reason\":\"{r}\"")),
        None => (state, String::new()),
    };
    let team = if team.is_empty() { String::new() } else { format!(",\"team\":\"{team}\"") };
    format!("{{\"ts\":\"{ts}\",\"agent\":\"{agent}\",\"state\":\"{state}\"{reason}{team}}}")
}

/// `n` agents `{prefix}00..` of `team` entering `state` at `ts`.
fn many(n: usize, prefix: &str, ts: &str, state: &str, team: &str) -> Vec<String> {
    (0..n).map(|i| ev(ts, &format!("{prefix}{i:02}"), state, team)).collect()
}

/// Agents `A00..` of T1 (`from..to`) entering `state` at `ts`.
fn some(from: usize, to: usize, ts: &str, state: &str) -> Vec<String> {
    (from..to).map(|i| ev(ts, &format!("A{i:02}"), state, "")).collect()
}

/// Received at `recv`, as one batch with its neighbours of the same `recv`.
fn recv(recv: &str, lines: Vec<String>) -> Vec<String> {
    lines.into_iter().map(|l| format!("@{recv} {l}")).collect()
}

fn view(t: &str) -> Vec<String> {
    vec![format!("view {t}")]
}

enum Step {
    /// A batch received at `recv` (None: at its only event's `ts`).
    Batch(Option<Ms>, Vec<String>),
    View(Ms),
}

fn steps(lines: &[String]) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    for l in lines {
        if let Some(t) = l.strip_prefix("view ") {
            out.push(Step::View(at(t)));
        } else if let Some(rest) = l.strip_prefix('@') {
            let (t, line) = rest.split_once(' ').expect("@time line");
            let r = Some(at(t));
            match out.last_mut() {
                Some(Step::Batch(prev, b)) if *prev == r => b.push(expand(line)),
                _ => out.push(Step::Batch(r, vec![expand(line)])),
            }
        } else {
            out.push(Step::Batch(None, vec![expand(l)]));
        }
    }
    out
}

thread_local! {
    /// The roster (CSV) the engines of this thread's cases start with (`with_roster`).
    static ROSTER: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

fn settings(cfg: &str, clock: &str) -> Settings {
    let toml = format!("[server]\nclock = \"{clock}\"\n{cfg}");
    let mut s = FileConfig::parse(&toml, "t").unwrap().settings().unwrap();
    if let Some(csv) = ROSTER.with(|r| r.borrow().clone()) {
        s.roster = Some(std::sync::Arc::new(crate::roster::parse::parse(&csv, &s.tz).unwrap()));
    }
    s
}

/// Runs `f` with engines that start with `csv` as their roster.
fn with_roster(csv: &str, f: impl FnOnce()) {
    ROSTER.with(|r| *r.borrow_mut() = Some(csv.to_string()));
    f();
    ROSTER.with(|r| *r.borrow_mut() = None);
}

struct Run {
    engine: Engine,
    alerts: Vec<Alert>,
    told: Vec<Alert>,
    view: View,
}

fn run(cfg: &str, clock: &str, steps: &[Step], now: Ms) -> Run {
    let mut engine = Engine::new(settings(cfg, clock));
    engine.enable_notifications();
    let aliases = Aliases::new(engine.settings.aliases.clone());
    let mut last_recv = 0;
    for s in steps {
        match s {
            Step::View(t) => {
                engine.view(*t, &ViewOpts { alerts: true, ..Default::default() });
            }
            Step::Batch(r, lines) => {
                let decoded: Vec<_> = lines.iter().map(|l| decode_str(l, &aliases)).collect();
                let recv = r.unwrap_or_else(|| match &decoded[0] {
                    Ok(e) => e.ts().unwrap_or(last_recv),
                    Err(_) => last_recv,
                });
                last_recv = recv;
                let refused: Vec<Refusal> =
                    decoded.iter().filter_map(|d| d.as_ref().err().map(|e| e.refusal())).collect();
                engine.apply_batch(recv, Source::Tcp, decoded.into_iter().filter_map(Result::ok), &refused);
            }
        }
    }
    let view = engine.view(now, &ViewOpts { alerts: true, ..Default::default() });
    let alerts: Vec<Alert> = view.alerts.iter().map(|a| a.alert().clone()).filter(compared).collect();
    let told = engine.take_notifications().iter().map(|a| a.alert().clone()).filter(compared).collect();
    Run { engine, alerts, told, view }
}

/// Whether a case compares alert `a`: with a roster (`with_roster`) the §4 detectors only
/// (out_of_adherence has tests of its own, tests/adherence.rs).
fn compared(a: &Alert) -> bool {
    ROSTER.with(|r| r.borrow().is_none()) || a.kind != crate::alert::AlertKind::OutOfAdherence
}

fn tuple(a: &Alert) -> (String, String, String, String, String, String) {
    (
        a.kind.as_str().to_string(),
        a.team.clone(),
        a.agent.clone().unwrap_or_default(),
        hms(a.started_at),
        hms(a.fired_at),
        a.resolved_at.map(hms).unwrap_or_default(),
    )
}

fn owned(v: &[A]) -> Vec<(String, String, String, String, String, String)> {
    v.iter().map(|a| (a.0.into(), a.1.into(), a.2.into(), a.3.into(), a.4.into(), a.5.into())).collect()
}

fn fig(r: &Run, key: &str) -> f64 {
    if let Some(reason) = key.strip_prefix("refused.") {
        let why = Refusal::ALL.iter().find(|x| x.as_str() == reason).unwrap_or_else(|| panic!("no reason {reason}"));
        return r.engine.refusals(Source::Tcp)[*why as usize] as f64;
    }
    let parts: Vec<&str> = key.split('.').collect();
    if let Some(i) = parts[0].strip_prefix("alert") {
        let a = &r.alerts[i.parse::<usize>().unwrap()];
        return match parts[1] {
            "value" => a.value,
            "threshold" => a.threshold,
            "agents" => a.agents.len() as f64,
            other => panic!("no alert figure {other}"),
        };
    }
    let team = r.view.teams.iter().find(|t| t.id == parts[0]).unwrap_or_else(|| panic!("no team {}", parts[0]));
    if parts.len() == 2 {
        let c = &team.counts;
        return match parts[1] {
            "peak" => team.peak as u8 as f64,
            "talking" => c.talking() as f64,
            "acw" => c.acw() as f64,
            "aux" => c.aux() as f64,
            "aux_unplanned" => c.aux_unplanned() as f64,
            "idle" => c.idle() as f64,
            "offline" => c.offline() as f64,
            "logged_in" => c.logged_in() as f64,
            other => panic!("no count {other}"),
        };
    }
    let w = r.view.window_names.iter().position(|n| n == parts[1]).unwrap_or_else(|| panic!("no window {}", parts[1]));
    let s = &team.windows[w];
    let secs = |ms: Ms| ms as f64 / 1000.0;
    match parts[2] {
        "talking_s" => secs(s.talking()),
        "aux_s" => secs(s.aux()),
        "planned_aux_s" => secs(s.planned_aux()),
        "aux_ratio" => s.aux_ratio().unwrap_or(f64::NAN),
        "idle_s" => secs(s.idle()),
        "logged_in_s" => secs(s.logged_in()),
        "contacts" => s.contacts.n as f64,
        other => panic!("no figure {other}"),
    }
}

fn check(c: &Case) {
    let steps = steps(&c.events);
    let now = at(c.now);
    for &clock in c.clocks {
        let name = format!("{} [{clock} clock]", c.name);
        let mut r = run(c.cfg, clock, &steps, now);
        assert_eq!(r.alerts.iter().map(tuple).collect::<Vec<_>>(), owned(c.expect.alerts), "{name}: alerts");
        for a in &r.alerts {
            let id = Alert::make_id(a.kind, &a.team, a.agent.as_deref(), a.started_at);
            assert_eq!(a.id, id, "{name}: id");
        }
        let retracted: Vec<_> = r.told.iter().filter(|a| a.retracted).map(tuple).collect();
        assert_eq!(retracted, owned(c.expect.retracted), "{name}: retracted");
        if let Some([applied, duplicate, late, invalid, skewed]) = c.expect.ingest {
            let want = IngestCounts { applied, duplicate, late, invalid, skewed };
            assert_eq!(r.engine.ingest(Source::Tcp), want, "{name}: ingest");
        }
        for &(key, want) in c.expect.figs {
            let got = fig(&r, key);
            assert!((got - want).abs() <= 1e-9 * want.abs().max(1.0), "{name}: {key} = {got}, expected {want}");
        }
        // What the view evaluated at `now` tentatively is what the store holds once time
        // has moved past `now` (and the commit lag) with nothing more arriving.
        r.engine.advance(now + 1 + crate::engine::COMMIT_LAG_MS);
        let stored: Vec<Alert> = r.engine.alerts().into_iter().filter(|a| a.fired_at <= now && compared(a)).collect();
        assert_eq!(stored, r.alerts, "{name}: stored after now");
        if c.expect.on_time {
            let mut lines: Vec<(Ms, String)> = steps
                .iter()
                .flat_map(|s| match s {
                    Step::Batch(_, b) => b.clone(),
                    Step::View(_) => Vec::new(),
                })
                .map(|l| (decode_str(&l, &Aliases::default()).unwrap().ts().unwrap(), l))
                .collect();
            lines.sort_by_key(|l| l.0);
            let on_time: Vec<Step> = lines.into_iter().map(|(_, l)| Step::Batch(None, vec![l])).collect();
            let reference = run(c.cfg, clock, &on_time, now);
            assert_eq!(r.alerts, reference.alerts, "{name}: alerts differ from on-time delivery");
            assert!(reference.told.iter().all(|a| !a.retracted), "{name}: on time, nothing is retracted");
        }
    }
}

fn cat(parts: &[Vec<String>]) -> Vec<String> {
    parts.concat()
}

/// Twelve agents A00..A11 of T1 idle from 09:00.
fn twelve() -> Vec<String> {
    many(12, "A", "09:00", "idle", "T1")
}

// ---------------------------------------------------------------------------------------
// Outcomes (SPEC §2.2, §2.4)
// ---------------------------------------------------------------------------------------

#[test]
fn outcomes() {
    let l = |s: &str| vec![s.to_string()];
    let cases = [
        Case {
            name: "duplicate by seq: equal, and lower even when also older",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[
                l(r#"{"ts":"09:00","agent":"A1","state":"idle","team":"T1","seq":5}"#),
                l(r#"{"ts":"09:01","agent":"A1","state":"talking","seq":5}"#),
                l(r#"{"ts":"09:01","agent":"A1","state":"talking","seq":4}"#),
                l(r#"{"ts":"08:59","agent":"A1","state":"talking","seq":3}"#),
                l(r#"{"ts":"09:02","agent":"A1","state":"acw","seq":6}"#),
            ]),
            now: "09:05",
            expect: Expect {
                ingest: Some([2, 3, 0, 0, 0]),
                figs: &[("refused.repeated", 3.0), ("T1.acw", 1.0), ("T1.15m.talking_s", 0.0)],
                ..Default::default()
            },
        },
        Case {
            name: "duplicate without seq: same ts, state and normalized reason",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[
                l(r#"{"ts":"09:00","agent":"A1","state":"aux","team":"T1"}"#),
                l(r#"{"ts":"09:00","agent":"A1","state":"aux","reason":"unspecified"}"#),
                l(r#"{"ts":"09:00","agent":"A1","state":"not_ready"}"#),
                // Another reason at the same instant is a change, not a repeat.
                l(r#"{"ts":"09:00","agent":"A1","state":"aux","reason":"break"}"#),
                l(r#"{"ts":"09:00","agent":"A1","state":"aux","reason":"break"}"#),
                // The same state later is applied (it changes only bookkeeping).
                l(r#"{"ts":"09:00:00.001","agent":"A1","state":"aux","reason":"break"}"#),
            ]),
            now: "09:05",
            expect: Expect {
                ingest: Some([3, 3, 0, 0, 0]),
                figs: &[("refused.repeated", 3.0), ("T1.aux_unplanned", 1.0)],
                ..Default::default()
            },
        },
        Case {
            name: "older_than_last: one ms before the agent's last event",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[
                l(r#"{"ts":"09:00","agent":"A1","state":"idle","team":"T1"}"#),
                l(r#"{"ts":"09:10","agent":"A1","state":"talking"}"#),
                l(r#"{"ts":"09:09:59.999","agent":"A1","state":"acw"}"#),
                // Same instant as the last, another state: applied.
                l(r#"{"ts":"09:10","agent":"A1","state":"acw"}"#),
                // Another agent's older event is not late for it (late delivery, §2.5).
                l(r#"{"ts":"09:05","agent":"A2","state":"idle","team":"T1"}"#),
            ]),
            now: "09:12",
            expect: Expect {
                ingest: Some([4, 0, 1, 0, 0]),
                figs: &[
                    ("refused.older_than_last", 1.0),
                    ("refused.too_old", 0.0),
                    ("T1.acw", 1.0),
                    ("T1.idle", 1.0),
                    ("T1.15m.idle_s", 1020.0),
                ],
                ..Default::default()
            },
        },
        Case {
            name: "too_old: beyond max_backfill_secs before now, exactly at it is applied",
            cfg: "[peak]\nwindows = []\n[floor]\nmax_backfill_secs = 3600\n",
            clocks: BOTH,
            events: cat(&[
                l(r#"{"ts":"11:00","agent":"A1","state":"idle","team":"T1"}"#),
                l(r#"@11:00:00 {"ts":"09:59:59.999","agent":"A2","state":"idle","team":"T1"}"#),
                l(r#"@11:00:00 {"ts":"10:00","agent":"A3","state":"idle","team":"T1"}"#),
            ]),
            now: "11:00",
            expect: Expect {
                ingest: Some([2, 0, 1, 0, 0]),
                figs: &[("refused.too_old", 1.0), ("T1.idle", 2.0), ("T1.60m.idle_s", 3600.0)],
                ..Default::default()
            },
        },
        Case {
            name: "older_than_last is checked before too_old",
            cfg: "[peak]\nwindows = []\n[floor]\nmax_backfill_secs = 3600\n",
            clocks: BOTH,
            events: cat(&[
                l(r#"{"ts":"09:00","agent":"A1","state":"idle","team":"T1"}"#),
                l(r#"{"ts":"11:00","agent":"A1","state":"talking"}"#),
                l(r#"@11:00:00 {"ts":"08:00","agent":"A1","state":"acw"}"#),
            ]),
            now: "11:00",
            expect: Expect {
                ingest: Some([2, 0, 1, 0, 0]),
                figs: &[("refused.older_than_last", 1.0), ("refused.too_old", 0.0)],
                ..Default::default()
            },
        },
        Case {
            name: "missing ts with the event clock is invalid",
            cfg: PEAK9,
            clocks: EVENT,
            events: cat(&[
                l(r#"{"ts":"09:00","agent":"A1","state":"idle","team":"T1"}"#),
                l(r#"{"agent":"A1","state":"talking"}"#),
                l("not json"),
            ]),
            now: "09:05",
            expect: Expect {
                ingest: Some([1, 0, 0, 2, 0]),
                figs: &[("refused.missing_field", 1.0), ("refused.not_json", 1.0), ("T1.idle", 1.0)],
                ..Default::default()
            },
        },
        Case {
            name: "missing ts with the wall clock is the time of receipt",
            cfg: PEAK9,
            clocks: WALL,
            events: cat(&[
                l(r#"{"ts":"09:00","agent":"A1","state":"idle","team":"T1"}"#),
                l(r#"@09:02:00 {"agent":"A1","state":"talking"}"#),
            ]),
            now: "09:05",
            expect: Expect {
                ingest: Some([2, 0, 0, 0, 0]),
                figs: &[("T1.talking", 1.0), ("T1.15m.talking_s", 180.0), ("T1.15m.idle_s", 120.0)],
                ..Default::default()
            },
        },
        Case {
            name: "wall clock skew: 5000 ms ahead is kept, 5001 ms is clamped to receipt",
            cfg: PEAK9,
            clocks: WALL,
            events: cat(&[
                l(r#"@09:00:00 {"ts":"09:00:05","agent":"A1","state":"idle","team":"T1"}"#),
                l(r#"@09:00:00 {"ts":"09:00:05.001","agent":"A2","state":"talking","team":"T1"}"#),
            ]),
            now: "09:01",
            expect: Expect {
                ingest: Some([2, 0, 0, 0, 1]),
                // A1 idle from 09:00:05 (55 s); A2 talking from 09:00:00 (60 s).
                figs: &[("T1.15m.idle_s", 55.0), ("T1.15m.talking_s", 60.0)],
                ..Default::default()
            },
        },
    ];
    for c in &cases {
        check(c);
    }
}

// ---------------------------------------------------------------------------------------
// long_aux (SPEC §4.2)
// ---------------------------------------------------------------------------------------

#[test]
fn long_aux() {
    let one = |ts: &str, state: &str| ev(ts, "A1", state, "");
    let start = || vec![ev("09:00", "A1", "idle", "T1")];
    let cases = [
        Case {
            name: "fires exactly at entry + limit",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: cat(&[start(), vec![one("09:10", "aux:break")]]),
            now: "09:20",
            expect: Expect {
                alerts: &[("long_aux", "T1", "A1", "09:10:00", "09:20:00", "")],
                figs: &[("alert0.value", 600.0), ("alert0.threshold", 600.0), ("alert0.agents", 1.0)],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "not yet at entry + limit - 1 ms",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: cat(&[start(), vec![one("09:10", "aux:break")]]),
            now: "09:19:59.999",
            expect: Expect::default(),
        },
        Case {
            name: "leaving 1 ms before the limit: nothing",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: cat(&[start(), vec![one("09:10", "aux:break"), one("09:19:59.999", "idle")]]),
            now: "09:30",
            expect: Expect::default(),
        },
        Case {
            name: "leaving exactly at the limit: fires and resolves at once",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: cat(&[start(), vec![one("09:10", "aux:break"), one("09:20", "idle")]]),
            now: "09:30",
            expect: Expect {
                alerts: &[("long_aux", "T1", "A1", "09:10:00", "09:20:00", "09:20:00")],
                ..Default::default()
            },
        },
        Case {
            name: "a reason change inside unplanned aux does not restart it",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: cat(&[start(), vec![one("09:10", "aux:break"), one("09:15", "aux:personal")]]),
            now: "09:30",
            expect: Expect {
                alerts: &[("long_aux", "T1", "A1", "09:10:00", "09:20:00", "")],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "planned aux does not count, and breaks the stretch",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: cat(&[
                start(),
                vec![one("09:10", "aux:lunch"), one("09:40", "aux:break"), one("09:45", "aux:training")],
                vec![one("09:46", "aux:break")],
            ]),
            now: "09:55:59.999",
            expect: Expect::default(),
        },
        Case {
            name: "per_reason limit chosen at entry (restroom 900 s, then break)",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: cat(&[start(), vec![one("09:10", "aux:restroom"), one("09:12", "aux:break")]]),
            now: "09:30",
            expect: Expect {
                alerts: &[("long_aux", "T1", "A1", "09:10:00", "09:25:00", "")],
                figs: &[("alert0.value", 900.0)],
                ..Default::default()
            },
        },
        Case {
            name: "per_reason limit chosen at entry (break 600 s, then restroom)",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: cat(&[start(), vec![one("09:10", "aux:break"), one("09:12", "aux:restroom")]]),
            now: "09:30",
            expect: Expect {
                alerts: &[("long_aux", "T1", "A1", "09:10:00", "09:20:00", "")],
                figs: &[("alert0.value", 600.0)],
                ..Default::default()
            },
        },
        Case {
            name: "resolves when the agent leaves unplanned aux (to planned aux)",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: cat(&[start(), vec![one("09:10", "aux:break"), one("09:25:00.5", "aux:meeting")]]),
            now: "09:30",
            expect: Expect {
                alerts: &[("long_aux", "T1", "A1", "09:10:00", "09:20:00", "09:25:00.500")],
                ..Default::default()
            },
        },
        Case {
            name: "in the team at its fire time when the agent moves team during the stretch",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: cat(&[start(), vec![one("09:10", "aux:break"), ev("09:15", "A1", "aux:break", "T2")]]),
            now: "09:30",
            expect: Expect {
                alerts: &[("long_aux", "T2", "A1", "09:10:00", "09:20:00", "")],
                figs: &[("T2.aux_unplanned", 1.0)],
                ..Default::default()
            },
        },
        Case {
            name: "a move after the fire time leaves the alert in the team it fired in",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: cat(&[start(), vec![one("09:10", "aux:break"), ev("09:20:00.001", "A1", "aux:break", "T2")]]),
            now: "09:30",
            expect: Expect {
                alerts: &[("long_aux", "T1", "A1", "09:10:00", "09:20:00", "")],
                figs: &[("T2.aux_unplanned", 1.0)],
                ..Default::default()
            },
        },
        Case {
            name: "a move at the fire instant: the team after it (the state at an instant is after its events)",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: cat(&[start(), vec![one("09:10", "aux:break"), ev("09:20", "A1", "aux:break", "T2")]]),
            now: "09:30",
            expect: Expect {
                alerts: &[("long_aux", "T2", "A1", "09:10:00", "09:20:00", "")],
                // Told in T1 when due, before the event of that instant came: then moved.
                retracted: &[("long_aux", "T1", "A1", "09:10:00", "09:20:00", "")],
                figs: &[("T2.aux_unplanned", 1.0)],
                ..Default::default()
            },
        },
        Case {
            name: "moved twice: the team between the moves, at the fire time",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: cat(&[
                start(),
                vec![
                    one("09:10", "aux:break"),
                    ev("09:15", "A1", "aux:break", "T2"),
                    ev("09:25", "A1", "aux:break", "T3"),
                    ev("09:26", "A1", "idle", ""),
                ],
            ]),
            now: "09:30",
            expect: Expect {
                alerts: &[("long_aux", "T2", "A1", "09:10:00", "09:20:00", "09:26:00")],
                ..Default::default()
            },
        },
        Case {
            name: "a first event in unplanned aux is an entry",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: vec![ev("09:10", "A1", "aux", "T1")],
            now: "09:30",
            expect: Expect {
                alerts: &[("long_aux", "T1", "A1", "09:10:00", "09:20:00", "")],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "a whole stretch delivered late in one batch fires and resolves in place",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: cat(&[
                start(),
                view("09:30"),
                recv("09:40:00", vec![one("09:10", "aux:break"), one("09:25", "idle")]),
            ]),
            now: "09:45",
            expect: Expect {
                alerts: &[("long_aux", "T1", "A1", "09:10:00", "09:20:00", "09:25:00")],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "an end delivered late, stamped before the fire time, retracts it",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: cat(&[
                start(),
                vec![one("09:10", "aux:break")],
                view("09:25"),
                recv("09:26:00", vec![one("09:15", "idle")]),
            ]),
            now: "09:30",
            expect: Expect {
                retracted: &[("long_aux", "T1", "A1", "09:10:00", "09:20:00", "")],
                figs: &[("T1.idle", 1.0)],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "an end delivered late, stamped after the fire time, resolves there",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: cat(&[
                start(),
                vec![one("09:10", "aux:break")],
                view("09:25"),
                recv("09:26:00", vec![one("09:21", "idle")]),
            ]),
            now: "09:30",
            expect: Expect {
                alerts: &[("long_aux", "T1", "A1", "09:10:00", "09:20:00", "09:21:00")],
                on_time: true,
                ..Default::default()
            },
        },
    ];
    for c in &cases {
        check(c);
    }
}

// ---------------------------------------------------------------------------------------
// aux_cluster (SPEC §4.2): peak 09:00-12:00, hold 60 s, 12 agents
// ---------------------------------------------------------------------------------------

#[test]
fn aux_cluster() {
    // alpha = 1: the binomial gate always passes (P(X >= k) < 1 for k >= 1), so the share
    // and min_agents are tested alone.
    const NO_GATE: &str = "[peak]\nwindows = [\"09:00-12:00\"]\n[alerts.long_aux]\nmax_aux_secs = 86400\n\
                           [alerts.aux_dispersion]\nmin_peak_secs = 86400\n\
                           [alerts.aux_cluster]\nalpha = 1.0\nmin_agents = 1\n";
    const MIN2: &str = "[peak]\nwindows = [\"09:00-12:00\"]\n[alerts.long_aux]\nmax_aux_secs = 86400\n\
                        [alerts.aux_dispersion]\nmin_peak_secs = 86400\n\
                        [alerts.aux_cluster]\nalpha = 1.0\nmin_agents = 2\n";
    const MIN3: &str = "[peak]\nwindows = [\"09:00-12:00\"]\n[alerts.long_aux]\nmax_aux_secs = 86400\n\
                        [alerts.aux_dispersion]\nmin_peak_secs = 86400\n\
                        [alerts.aux_cluster]\nalpha = 1.0\nmin_agents = 3\n";
    let cases = [
        Case {
            // 4 of 12: share 1/3, P(X >= 4 | 12, 0.085) = 0.0148.
            name: "hold exactly met",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[twelve(), some(0, 4, "09:40", "aux:break")]),
            now: "09:45",
            expect: Expect {
                alerts: &[("aux_cluster", "T1", "", "09:40:00", "09:41:00", "")],
                figs: &[("alert0.value", 4.0 / 12.0), ("alert0.agents", 4.0), ("T1.aux_unplanned", 4.0)],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "hold missed by 1 ms",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[twelve(), some(0, 4, "09:40", "aux:break"), some(0, 1, "09:40:59.999", "idle")]),
            now: "09:45",
            expect: Expect { on_time: true, ..Default::default() },
        },
        Case {
            name: "fire time later than now has not fired",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[twelve(), some(0, 4, "09:40", "aux:break")]),
            now: "09:40:59.999",
            expect: Expect::default(),
        },
        Case {
            name: "one returns at the fire instant: fired with 3, resolves a hold later",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[twelve(), some(0, 4, "09:40", "aux:break"), some(0, 1, "09:41", "idle")]),
            now: "09:45",
            expect: Expect {
                alerts: &[("aux_cluster", "T1", "", "09:40:00", "09:41:00", "09:42:00")],
                figs: &[("alert0.value", 3.0 / 12.0), ("alert0.agents", 3.0)],
                ..Default::default()
            },
        },
        Case {
            name: "a view at the fire instant, then an event at that instant: settled after it",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[
                twelve(),
                some(0, 4, "09:40", "aux:break"),
                view("09:41"),
                recv("09:41:00", some(0, 1, "09:41", "idle")),
            ]),
            now: "09:45",
            expect: Expect {
                alerts: &[("aux_cluster", "T1", "", "09:40:00", "09:41:00", "09:42:00")],
                figs: &[("alert0.value", 3.0 / 12.0), ("alert0.agents", 3.0)],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "resolves at t1 + hold",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[twelve(), some(0, 4, "09:40", "aux:break"), some(0, 1, "09:50", "idle")]),
            now: "09:55",
            expect: Expect {
                alerts: &[("aux_cluster", "T1", "", "09:40:00", "09:41:00", "09:51:00")],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "false for hold - 1 ms does not resolve",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[
                twelve(),
                some(0, 4, "09:40", "aux:break"),
                some(0, 1, "09:50", "idle"),
                some(0, 1, "09:50:59.999", "aux:break"),
            ]),
            now: "09:55",
            expect: Expect { alerts: &[("aux_cluster", "T1", "", "09:40:00", "09:41:00", "")], ..Default::default() },
        },
        Case {
            name: "planned aux does not count",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[twelve(), some(0, 4, "09:40", "aux:lunch")]),
            now: "09:45",
            expect: Expect { figs: &[("T1.aux", 4.0), ("T1.aux_unplanned", 0.0)], ..Default::default() },
        },
        Case {
            name: "k/N exactly 1/6 (2 of 12) fires",
            cfg: NO_GATE,
            clocks: BOTH,
            events: cat(&[twelve(), some(0, 2, "09:40", "aux:break")]),
            now: "09:45",
            expect: Expect {
                alerts: &[("aux_cluster", "T1", "", "09:40:00", "09:41:00", "")],
                figs: &[("alert0.value", 2.0 / 12.0), ("alert0.threshold", 1.0 / 6.0)],
                ..Default::default()
            },
        },
        Case {
            name: "k/N just under 1/6 (2 of 13) does not",
            cfg: NO_GATE,
            clocks: BOTH,
            events: cat(&[twelve(), vec![ev("09:00", "A12", "idle", "T1")], some(0, 2, "09:40", "aux:break")]),
            now: "09:45",
            expect: Expect::default(),
        },
        Case {
            name: "min_agents 2: 2 of 6 fires",
            cfg: MIN2,
            clocks: BOTH,
            events: cat(&[many(6, "A", "09:00", "idle", "T1"), some(0, 2, "09:40", "aux:break")]),
            now: "09:45",
            expect: Expect { alerts: &[("aux_cluster", "T1", "", "09:40:00", "09:41:00", "")], ..Default::default() },
        },
        Case {
            name: "min_agents 3: 2 of 6 does not",
            cfg: MIN3,
            clocks: BOTH,
            events: cat(&[many(6, "A", "09:00", "idle", "T1"), some(0, 2, "09:40", "aux:break")]),
            now: "09:45",
            expect: Expect::default(),
        },
        Case {
            name: "min_team: 4 logged in (3 of them in aux) is too small a team",
            cfg: MIN3,
            clocks: BOTH,
            events: cat(&[many(4, "A", "09:00", "idle", "T1"), some(0, 3, "09:40", "aux:break")]),
            now: "09:45",
            expect: Expect::default(),
        },
        Case {
            // 5 of 30 is exactly 1/6, but P(X >= 5 | 30, 0.085) = 0.107 >= 0.05.
            name: "alpha gate: 5 of 30 is not significant",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[many(30, "A", "09:00", "idle", "T1"), some(0, 5, "09:40", "aux:break")]),
            now: "09:45",
            expect: Expect::default(),
        },
        Case {
            // P(X >= 6 | 30, 0.085) = 0.038 < 0.05.
            name: "alpha gate: 6 of 30 is",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[many(30, "A", "09:00", "idle", "T1"), some(0, 6, "09:40", "aux:break")]),
            now: "09:45",
            expect: Expect {
                alerts: &[("aux_cluster", "T1", "", "09:40:00", "09:41:00", "")],
                figs: &[("alert0.value", 0.2), ("alert0.agents", 6.0)],
                ..Default::default()
            },
        },
        Case {
            name: "not at peak",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[twelve(), some(0, 4, "12:30", "aux:break")]),
            now: "12:45",
            expect: Expect { figs: &[("T1.peak", 0.0), ("T1.aux_unplanned", 4.0)], ..Default::default() },
        },
        Case {
            name: "peak ends 30 s into the hold: never fires",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[twelve(), some(0, 4, "11:59:30", "aux:break")]),
            now: "12:05",
            expect: Expect::default(),
        },
        Case {
            name: "peak ends while firing: resolves a hold after the end",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[twelve(), some(0, 4, "11:50", "aux:break")]),
            now: "12:05",
            expect: Expect {
                alerts: &[("aux_cluster", "T1", "", "11:50:00", "11:51:00", "12:01:00")],
                ..Default::default()
            },
        },
        Case {
            name: "breaks taken before the peak: the condition starts with the peak",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[many(12, "A", "08:30", "idle", "T1"), some(0, 4, "08:50", "aux:break")]),
            now: "09:05",
            expect: Expect { alerts: &[("aux_cluster", "T1", "", "09:00:00", "09:01:00", "")], ..Default::default() },
        },
    ];
    for c in &cases {
        check(c);
    }
}

// ---------------------------------------------------------------------------------------
// Load peak (SPEC §4.1): busy_share 0.5, hold 300 s, 10 agents idle from 09:00, 5 talking
// from 10:00
// ---------------------------------------------------------------------------------------

#[test]
fn load_peak() {
    const LOAD: &str = "[peak]\nwindows = []\nbusy_share = 0.5\nhold_secs = 300\n";
    let base = || cat(&[many(10, "A", "09:00", "idle", "T1"), some(0, 5, "10:00", "talking")]);
    let cases = [
        Case {
            name: "not yet at t0 + hold - 1 ms",
            cfg: LOAD,
            clocks: BOTH,
            events: base(),
            now: "10:04:59.999",
            expect: Expect { figs: &[("T1.peak", 0.0), ("T1.peak_today.logged_in_s", 0.0)], ..Default::default() },
        },
        Case {
            name: "enters at t0 + hold",
            cfg: LOAD,
            clocks: BOTH,
            events: base(),
            now: "10:05",
            expect: Expect { figs: &[("T1.peak", 1.0)], ..Default::default() },
        },
        Case {
            name: "peak_today counts from t0 + hold",
            cfg: LOAD,
            clocks: BOTH,
            events: base(),
            now: "10:10",
            expect: Expect {
                figs: &[("T1.peak", 1.0), ("T1.peak_today.talking_s", 1500.0), ("T1.peak_today.idle_s", 1500.0)],
                ..Default::default()
            },
        },
        Case {
            name: "share below from t1 = 10:30: still peak at t1 + hold - 1 ms",
            cfg: LOAD,
            clocks: BOTH,
            events: cat(&[base(), some(0, 1, "10:30", "idle")]),
            now: "10:34:59.999",
            expect: Expect { figs: &[("T1.peak", 1.0)], ..Default::default() },
        },
        Case {
            name: "exits at t1 + hold",
            cfg: LOAD,
            clocks: BOTH,
            events: cat(&[base(), some(0, 1, "10:30", "idle")]),
            now: "10:40",
            // Peak 10:05-10:35: 30 minutes of 10 agents.
            expect: Expect { figs: &[("T1.peak", 0.0), ("T1.peak_today.logged_in_s", 18_000.0)], ..Default::default() },
        },
        Case {
            name: "a dip shorter than the hold does not flap",
            cfg: LOAD,
            clocks: BOTH,
            events: cat(&[base(), some(0, 1, "10:20", "idle"), some(0, 1, "10:24:59.999", "talking")]),
            now: "10:30",
            expect: Expect { figs: &[("T1.peak", 1.0), ("T1.peak_today.logged_in_s", 15_000.0)], ..Default::default() },
        },
        Case {
            name: "a rise shorter than the hold does not enter",
            cfg: LOAD,
            clocks: BOTH,
            events: cat(&[base(), some(0, 1, "10:04:59.999", "idle"), some(0, 1, "10:05", "talking")]),
            now: "10:09:59.999",
            expect: Expect { figs: &[("T1.peak", 0.0)], ..Default::default() },
        },
        Case {
            name: "the 5th talker delivered late moves the peak back to 10:05",
            cfg: LOAD,
            clocks: BOTH,
            events: cat(&[
                many(10, "A", "09:00", "idle", "T1"),
                some(0, 4, "10:00", "talking"),
                view("10:10"),
                recv("10:20:00", some(4, 5, "10:00", "talking")),
            ]),
            now: "10:30",
            expect: Expect {
                figs: &[("T1.peak", 1.0), ("T1.peak_today.logged_in_s", 15_000.0)],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "acw counts as busy",
            cfg: LOAD,
            clocks: BOTH,
            events: cat(&[base(), some(0, 2, "10:01", "acw")]),
            now: "10:05",
            expect: Expect { figs: &[("T1.peak", 1.0), ("T1.acw", 2.0)], ..Default::default() },
        },
        Case {
            name: "fewer than min_team logged in: no load peak",
            cfg: LOAD,
            clocks: BOTH,
            events: cat(&[many(4, "A", "09:00", "idle", "T1"), some(0, 4, "10:00", "talking")]),
            now: "10:10",
            expect: Expect { figs: &[("T1.peak", 0.0)], ..Default::default() },
        },
        Case {
            name: "a load peak gates aux_cluster",
            cfg: "[peak]\nwindows = []\nbusy_share = 0.5\nhold_secs = 300\n[alerts.long_aux]\nmax_aux_secs = 86400\n",
            clocks: BOTH,
            events: cat(&[
                many(12, "A", "09:00", "idle", "T1"),
                some(0, 6, "10:00", "talking"),
                some(8, 12, "10:02", "aux:break"),
            ]),
            now: "10:10",
            expect: Expect {
                alerts: &[("aux_cluster", "T1", "", "10:05:00", "10:06:00", "")],
                on_time: true,
                ..Default::default()
            },
        },
    ];
    for c in &cases {
        check(c);
    }
}

// ---------------------------------------------------------------------------------------
// aux_dispersion and utilization_high (SPEC §4.2): whole-minute evaluations
// ---------------------------------------------------------------------------------------

#[test]
fn minute_rules() {
    // Peak 09:00-10:00; A00 in unplanned aux all along, A01..A04 idle: aux rates 1, 0, 0,
    // 0, 0, CV 2. Peak time today reaches 1800 s at 09:30.
    const DISP: &str = "[peak]\nwindows = [\"09:00-10:00\"]\n[alerts.long_aux]\nmax_aux_secs = 86400\n";
    const DISP_1801: &str = "[peak]\nwindows = [\"09:00-10:00\"]\n[alerts.long_aux]\nmax_aux_secs = 86400\n\
                             [alerts.aux_dispersion]\nmin_peak_secs = 1801\n";
    const DISP_6: &str = "[peak]\nwindows = [\"09:00-10:00\"]\n[alerts.long_aux]\nmax_aux_secs = 86400\n\
                          [alerts.aux_dispersion]\nmin_members = 6\n";
    const UTIL: &str = "[peak]\nwindows = []\n[alerts.utilization_high]\nhigh = 0.5\n";
    let disp = || cat(&[many(5, "A", "09:00", "idle", "T1"), some(0, 1, "09:00", "aux:break")]);
    let cases = [
        Case {
            name: "aux_dispersion: 3rd true minute fires, started at the 1st",
            cfg: DISP,
            clocks: BOTH,
            events: disp(),
            now: "09:32",
            expect: Expect {
                alerts: &[("aux_dispersion", "T1", "", "09:30:00", "09:32:00", "")],
                figs: &[("alert0.value", 2.0), ("alert0.threshold", 0.16), ("alert0.agents", 1.0)],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "aux_dispersion: the aux agent's day delivered late in one batch",
            cfg: DISP,
            clocks: BOTH,
            events: cat(&[
                many(5, "A", "09:00", "idle", "T1").into_iter().filter(|l| !l.contains("A00")).collect(),
                view("09:35"),
                recv("09:40:00", cat(&[many(1, "A", "09:00", "idle", "T1"), some(0, 1, "09:00", "aux:break")])),
            ]),
            now: "09:45",
            expect: Expect {
                alerts: &[("aux_dispersion", "T1", "", "09:30:00", "09:32:00", "")],
                figs: &[("alert0.value", 2.0)],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "aux_dispersion: not at the 2nd",
            cfg: DISP,
            clocks: BOTH,
            events: disp(),
            now: "09:31:59.999",
            expect: Expect::default(),
        },
        Case {
            name: "aux_dispersion: min_peak_secs one second more moves it a minute",
            cfg: DISP_1801,
            clocks: BOTH,
            events: disp(),
            now: "09:40",
            expect: Expect {
                alerts: &[("aux_dispersion", "T1", "", "09:31:00", "09:33:00", "")],
                ..Default::default()
            },
        },
        Case {
            name: "aux_dispersion: 3rd false minute resolves (peak ends at 10:00)",
            cfg: DISP,
            clocks: BOTH,
            events: disp(),
            now: "10:05",
            expect: Expect {
                alerts: &[("aux_dispersion", "T1", "", "09:30:00", "09:32:00", "10:02:00")],
                ..Default::default()
            },
        },
        Case {
            name: "aux_dispersion: fewer qualifying members than min_members",
            cfg: DISP_6,
            clocks: BOTH,
            events: cat(&[disp(), vec![ev("09:55:01", "A05", "idle", "T1")]]),
            now: "09:59",
            expect: Expect::default(),
        },
        Case {
            name: "aux_dispersion: a member qualifies with exactly 300 s of peak time",
            cfg: DISP_6,
            clocks: BOTH,
            events: cat(&[disp(), vec![ev("09:50", "A05", "idle", "T1")]]),
            now: "09:59",
            expect: Expect {
                alerts: &[("aux_dispersion", "T1", "", "09:55:00", "09:57:00", "")],
                ..Default::default()
            },
        },
        Case {
            name: "utilization_high: 3rd minute above high fires, started at the 1st",
            cfg: UTIL,
            clocks: BOTH,
            events: cat(&[many(5, "A", "09:00", "talking", "T1")]),
            now: "09:05",
            expect: Expect {
                alerts: &[("utilization_high", "T1", "", "09:01:00", "09:03:00", "")],
                figs: &[("alert0.value", 1.0), ("alert0.threshold", 0.5), ("alert0.agents", 5.0)],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "utilization_high: exactly at high is not above",
            cfg: UTIL,
            clocks: BOTH,
            events: cat(&[many(4, "A", "09:00", "talking", "T1"), many(4, "B", "09:00", "idle", "T1")]),
            now: "09:30",
            expect: Expect::default(),
        },
        Case {
            name: "utilization_high: 5 of 8 talking is above",
            cfg: UTIL,
            clocks: BOTH,
            events: cat(&[many(5, "A", "09:00", "talking", "T1"), many(3, "B", "09:00", "idle", "T1")]),
            now: "09:30",
            expect: Expect {
                alerts: &[("utilization_high", "T1", "", "09:01:00", "09:03:00", "")],
                figs: &[("alert0.value", 0.625)],
                ..Default::default()
            },
        },
        Case {
            // Talking 09:00-09:10: 10/19 at 09:19, exactly 0.5 (false) at 09:20, so the
            // 3rd false minute is 09:22.
            name: "utilization_high: resolves at the 3rd false minute, the first one at high",
            cfg: UTIL,
            clocks: BOTH,
            events: cat(&[many(5, "A", "09:00", "talking", "T1"), some(0, 5, "09:10", "idle")]),
            now: "09:30",
            expect: Expect {
                alerts: &[("utilization_high", "T1", "", "09:01:00", "09:03:00", "09:22:00")],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "utilization_high: fewer than min_team logged in",
            cfg: UTIL,
            clocks: BOTH,
            events: cat(&[many(4, "A", "09:00", "talking", "T1")]),
            now: "09:30",
            expect: Expect::default(),
        },
    ];
    for c in &cases {
        check(c);
    }
}

// ---------------------------------------------------------------------------------------
// Late delivery (SPEC §2.5) and team moves (§2.1, §4.2)
// ---------------------------------------------------------------------------------------

#[test]
fn late_delivery_and_team_moves() {
    // A00..A02 in aux from 09:30 (3 of 12: not significant), A03 from 09:40 (4 of 12).
    let three_then_four = || cat(&[twelve(), some(0, 3, "09:30", "aux:break"), some(3, 4, "09:40", "aux:break")]);
    let a04 = || vec![ev("09:35", "A04", "aux:break", ""), ev("09:50", "A04", "idle", "")];
    let cases = [
        Case {
            name: "on time: the cluster starts at 09:35",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[three_then_four(), vec![ev("09:35", "A04", "aux:break", "")]]),
            now: "10:00",
            expect: Expect {
                alerts: &[("aux_cluster", "T1", "", "09:35:00", "09:36:00", "")],
                figs: &[("alert0.agents", 4.0)],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "one agent's events an hour late in one batch: the same alerts",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[
                many(12, "A", "09:00", "idle", "T1").into_iter().filter(|l| !l.contains("A04")).collect(),
                some(0, 3, "09:30", "aux:break"),
                some(3, 4, "09:40", "aux:break"),
                view("10:00"),
                recv("10:50:00", cat(&[vec![ev("09:00", "A04", "idle", "T1")], a04()])),
            ]),
            now: "11:00",
            expect: Expect {
                // A04 leaves at 09:50, A00..A03 stay: still 4 of 12.
                alerts: &[("aux_cluster", "T1", "", "09:35:00", "09:36:00", "")],
                retracted: &[("aux_cluster", "T1", "", "09:40:00", "09:41:00", "")],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "a late event moves the start: new id, the old one retracted",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[
                three_then_four(),
                view("09:45"),
                recv("09:46:00", vec![ev("09:35", "A04", "aux:break", "")]),
            ]),
            now: "10:00",
            expect: Expect {
                alerts: &[("aux_cluster", "T1", "", "09:35:00", "09:36:00", "")],
                retracted: &[("aux_cluster", "T1", "", "09:40:00", "09:41:00", "")],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "a late end resolves a firing cluster where it ended",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[three_then_four(), view("09:45"), recv("09:50:00", some(3, 4, "09:42", "idle"))]),
            now: "10:00",
            expect: Expect {
                alerts: &[("aux_cluster", "T1", "", "09:40:00", "09:41:00", "09:43:00")],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "a late end before the fire time cancels the cluster",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[three_then_four(), view("09:45"), recv("09:50:00", some(3, 4, "09:40:30", "idle"))]),
            now: "10:00",
            expect: Expect {
                retracted: &[("aux_cluster", "T1", "", "09:40:00", "09:41:00", "")],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "an agent moving team counts for the new team from the instant",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[
                twelve(),
                many(6, "B", "09:00", "idle", "T2"),
                some(0, 4, "09:40", "aux:break"),
                vec![ev("09:40", "B00", "aux:break", ""), ev("09:40", "B01", "aux:break", "")],
                // A03 moves to T2 in aux: T1 3 of 11 (p = 0.060), T2 3 of 7 (p = 0.017).
                vec![ev("09:45", "A03", "aux:break", "T2")],
            ]),
            now: "09:50",
            expect: Expect {
                alerts: &[
                    ("aux_cluster", "T1", "", "09:40:00", "09:41:00", "09:46:00"),
                    ("aux_cluster", "T2", "", "09:45:00", "09:46:00", ""),
                ],
                figs: &[
                    ("T1.logged_in", 11.0),
                    ("T1.aux_unplanned", 3.0),
                    ("T2.logged_in", 7.0),
                    ("T2.aux_unplanned", 3.0),
                    ("alert1.agents", 3.0),
                    // Current members' sums, history included: A03's 50 minutes are T2's now.
                    ("T2.60m.logged_in_s", 7.0 * 3000.0),
                    ("T1.60m.logged_in_s", 11.0 * 3000.0),
                ],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "a team move delivered late re-evaluates both teams",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[
                twelve(),
                many(6, "B", "09:00", "idle", "T2"),
                some(0, 3, "09:40", "aux:break"),
                vec![ev("09:40", "B00", "aux:break", ""), ev("09:40", "B01", "aux:break", "")],
                view("09:50"),
                recv("09:55:00", vec![ev("09:41", "A03", "aux:break", ""), ev("09:45", "A03", "aux:break", "T2")]),
            ]),
            now: "10:00",
            expect: Expect {
                alerts: &[
                    ("aux_cluster", "T1", "", "09:41:00", "09:42:00", "09:46:00"),
                    ("aux_cluster", "T2", "", "09:45:00", "09:46:00", ""),
                ],
                on_time: true,
                ..Default::default()
            },
        },
    ];
    for c in &cases {
        check(c);
    }
}

/// The worked example of SPEC §4.3, through the same helper (event clock).
#[test]
fn worked_example() {
    let lines = [
        r#"{"ts":"09:00","agent":"A1","state":"idle","team":"T1","seq":1}"#,
        r#"{"ts":"09:00","agent":"A2","state":"idle","team":"T1"}"#,
        r#"{"ts":"09:01","agent":"A1","state":"talking","seq":2}"#,
        r#"{"ts":"09:05","agent":"A1","state":"acw","seq":3}"#,
        r#"{"ts":"09:06","agent":"A1","state":"idle","seq":4}"#,
        r#"{"ts":"09:06","agent":"A1","state":"idle","seq":4}"#,
        r#"{"ts":"09:02","agent":"A2","state":"aux","reason":"break"}"#,
        r#"{"ts":"09:01","agent":"A2","state":"idle"}"#,
        r#"{"ts":"09:10","agent":"A2","state":"aux","reason":"training"}"#,
        "not json",
        r#"{"ts":"09:20","agent":"A2","state":"idle"}"#,
    ];
    check(&Case {
        name: "SPEC §4.3",
        cfg: PEAK9,
        clocks: EVENT,
        events: lines.iter().map(|s| s.to_string()).collect(),
        now: "09:20",
        expect: Expect {
            ingest: Some([8, 1, 1, 1, 0]),
            figs: &[
                ("T1.15m.talking_s", 0.0),
                ("T1.15m.aux_s", 900.0),
                ("T1.15m.planned_aux_s", 600.0),
                ("T1.15m.idle_s", 840.0),
                ("T1.15m.logged_in_s", 1800.0),
                ("T1.15m.contacts", 1.0),
                ("T1.60m.talking_s", 240.0),
                ("T1.60m.aux_s", 1080.0),
                ("T1.60m.logged_in_s", 2400.0),
            ],
            ..Default::default()
        },
    });
}

/// The 60-minute utilization from the team's integrals (the shortcut) equals the members'
/// timelines (the definition) at every minute it is used: `utilization` asserts it in test
/// builds. Five hours of two teams with a move, a late batch that rewinds, and views in
/// between; the shortcut must be taken most minutes, the definition after the move.
#[test]
fn utilization_from_integrals_equals_the_timelines() {
    let mut lines: Vec<String> = Vec::new();
    let mut x: u64 = 42;
    let mut rnd = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let states = ["talking", "acw", "idle", "talking", "aux:break", "talking"];
    for i in 0..12 {
        let team = if i < 6 { "T1" } else { "T2" };
        lines.push(ev("08:00", &format!("A{i:02}"), "idle", team));
    }
    let mut t = at("08:00");
    let mut late: Vec<String> = Vec::new();
    while t < at("13:00") {
        t += 20_000 + rnd(100_000) as Ms;
        let a = rnd(12);
        let mut team = "";
        if t > at("10:30") && a == 3 && !lines.iter().any(|l| l.contains("\"T2\"") && l.contains("A03")) {
            team = "T2";
        }
        let line = ev(&fmt_ms(t), &format!("A{a:02}"), states[rnd(6) as usize], team);
        // Agent 11's events from 11:00 to 11:40 arrive at 11:45 in one batch.
        if a == 11 && t > at("11:00") && t < at("11:40") {
            late.push(line);
            continue;
        }
        if !late.is_empty() && t > at("11:45") {
            lines.extend(recv("11:45:00", std::mem::take(&mut late)));
        }
        lines.push(line);
        if rnd(50) == 0 {
            lines.push(format!("view {}", &fmt_ms(t)[11..19]));
        }
    }
    let cfg = "[alerts.utilization_high]\nhigh = 0.3\nconsecutive = 2\n";
    for clock in BOTH {
        crate::detect::team::UTIL_PATHS.with(|c| c.set((0, 0)));
        let r = run(cfg, clock, &steps(&lines), at("13:00"));
        let (shortcut, timelines) = crate::detect::team::UTIL_PATHS.with(|c| c.get());
        assert!(
            shortcut > 300 && timelines > 60,
            "{clock}: {shortcut} minutes by the integrals, {timelines} by the timelines"
        );
        assert!(
            r.alerts.iter().any(|a| a.kind == crate::alert::AlertKind::UtilizationHigh),
            "{clock}: utilization alerts"
        );
    }
}

/// Members who join a team at their first login (every member, each morning) leave the
/// integrals exact: the minute utilization comes from them at every minute, not from every
/// member's timeline (`utilization` asserts that the two agree in test builds). A member
/// who joins after talking in another team has the timelines read for an hour.
#[test]
fn first_logins_keep_utilization_on_the_integrals() {
    let states = ["talking", "acw", "idle", "talking", "aux:break", "acw"];
    let agents: Vec<(String, &str, Ms)> = (0..10)
        .map(|i| (format!("A{i:02}"), "T1", at("08:00") + i * 240_000))
        .chain((0..6).map(|i| (format!("B{i:02}"), "T2", at("08:00") + i * 1_000)))
        .collect();
    let day = |until: &str, moved: bool| {
        let mut evs: Vec<(Ms, String)> =
            agents.iter().map(|(a, team, login)| (*login, ev(&fmt_ms(*login), a, "idle", team))).collect();
        let mut t = at("08:00:30");
        let mut k = 0;
        while t < at(until) {
            let (a, team, login) = &agents[k % agents.len()];
            // B00 talks in T2 until it moves to T1 at 10:00:10.
            let team = if moved && a == "B00" && t >= at("10:00:10") { "T1" } else { team };
            if t > *login {
                evs.push((t, ev(&fmt_ms(t), a, states[(k / agents.len()) % states.len()], team)));
            }
            t += 7_000;
            k += 1;
        }
        evs.sort_by_key(|e| e.0);
        evs.into_iter().map(|e| e.1).collect::<Vec<String>>()
    };
    let cfg = "[alerts.utilization_high]\nhigh = 0.3\nconsecutive = 2\n";
    for clock in BOTH {
        crate::detect::team::UTIL_PATHS.with(|c| c.set((0, 0)));
        run(cfg, clock, &steps(&day("10:00", false)), at("10:00"));
        let (shortcut, timelines) = crate::detect::team::UTIL_PATHS.with(|c| c.get());
        assert!(
            shortcut > 200 && timelines == 0,
            "{clock}: {shortcut} minutes by the integrals, {timelines} by the timelines"
        );
        crate::detect::team::UTIL_PATHS.with(|c| c.set((0, 0)));
        run(cfg, clock, &steps(&day("11:30", true)), at("11:30"));
        let (shortcut, timelines) = crate::detect::team::UTIL_PATHS.with(|c| c.get());
        // The hour after the move in both teams (B00 joined one and left the other).
        assert!(
            shortcut > 250 && (110..=125).contains(&timelines),
            "{clock}: {shortcut} minutes by the integrals, {timelines} by the timelines"
        );
    }
}

/// Refusals made at the edge count under the outcome their reason belongs to (SPEC §2.2):
/// a source that de-duplicates itself (Connect's `EventId`) refuses with `repeated`, which
/// is `duplicate`, not `invalid`.
#[test]
fn edge_refusals_count_under_their_outcome() {
    let mut engine = Engine::new(settings("", "event"));
    let refused = [Refusal::Repeated, Refusal::TooOld, Refusal::NotJson, Refusal::Unmapped];
    let (counts, _) = engine.apply_batch_refused(0, Source::Http, Vec::<crate::event::Input>::new(), &refused);
    assert_eq!((counts.duplicate, counts.late, counts.invalid, counts.applied), (1, 1, 2, 0));
    let kept = engine.ingest(Source::Http);
    assert_eq!((kept.duplicate, kept.late, kept.invalid), (1, 1, 2));
    assert_eq!(engine.refusals(Source::Http)[Refusal::Repeated as usize], 1);
}

// ---------------------------------------------------------------------------------------
// Scheduled aux is planned (SPEC §9.2): the figures, the current count and every detector
// ---------------------------------------------------------------------------------------

/// Agents A00..A11 on shift 09:00-12:00; those in `on_break` with a break in `brk`.
fn shifts_with_break(on_break: std::ops::Range<usize>, brk: (&str, &str)) -> String {
    let mut csv = String::from("agent,start,end,activity\n");
    for i in 0..12 {
        csv += &format!("A{i:02},{DAY} 09:00,{DAY} 12:00,shift\n");
        if on_break.contains(&i) {
            csv += &format!("A{i:02},{DAY} {},{DAY} {},break\n", brk.0, brk.1);
        }
    }
    csv
}

/// A team break 10:00-10:15 on the roster of A00..A03 (`scheduled`), or none (then A11 has
/// one 11:00-11:15, so `break` is a name the roster knows either way).
fn team_break(scheduled: bool) -> String {
    match scheduled {
        true => shifts_with_break(0..4, ("10:00", "10:15")),
        false => shifts_with_break(11..12, ("11:00", "11:15")),
    }
}

#[test]
fn scheduled_aux_figures_and_count() {
    // A00..A03 on `break` 10:00-10:20, their break scheduled 10:00-10:15.
    let events = || cat(&[twelve(), some(0, 4, "10:00", "aux:break"), some(0, 4, "10:20", "idle")]);
    let cases = [
        Case {
            name: "during the scheduled break: planned, not in aux_unplanned",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[twelve(), some(0, 4, "10:00", "aux:break")]),
            now: "10:10",
            expect: Expect {
                figs: &[
                    ("T1.aux", 4.0),
                    ("T1.aux_unplanned", 0.0),
                    ("T1.15m.aux_s", 2400.0),
                    ("T1.15m.planned_aux_s", 2400.0),
                    ("T1.15m.aux_ratio", 0.0),
                ],
                ..Default::default()
            },
        },
        Case {
            name: "past the break's end: unplanned from 10:15",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[twelve(), some(0, 4, "10:00", "aux:break")]),
            now: "10:16",
            expect: Expect {
                alerts: &[("aux_cluster", "T1", "", "10:15:00", "10:16:00", "")],
                figs: &[
                    ("T1.aux_unplanned", 4.0),
                    ("T1.15m.aux_s", 3600.0),
                    ("T1.15m.planned_aux_s", 3360.0),
                    // 240 s unplanned of 12 agents' 15 minutes.
                    ("T1.15m.aux_ratio", 240.0 / 10800.0),
                ],
                ..Default::default()
            },
        },
        Case {
            name: "the hour after: 15 minutes planned, 5 unplanned each",
            cfg: PEAK9,
            clocks: BOTH,
            events: events(),
            now: "10:30",
            expect: Expect {
                figs: &[
                    ("T1.aux_unplanned", 0.0),
                    ("T1.60m.aux_s", 4800.0),
                    ("T1.60m.planned_aux_s", 3600.0),
                    ("T1.60m.aux_ratio", 1200.0 / 43200.0),
                ],
                alerts: &[("aux_cluster", "T1", "", "10:15:00", "10:16:00", "10:21:00")],
                on_time: true,
                ..Default::default()
            },
        },
    ];
    with_roster(&team_break(true), || cases.iter().for_each(check));
}

#[test]
fn scheduled_aux_and_aux_cluster() {
    let back = |t: &'static str| some(0, 4, t, "idle");
    let scheduled = [
        Case {
            name: "a scheduled team break: no cluster in it, one from its end",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[twelve(), some(0, 4, "10:00", "aux:break"), back("10:20")]),
            now: "10:30",
            expect: Expect {
                alerts: &[("aux_cluster", "T1", "", "10:15:00", "10:16:00", "10:21:00")],
                figs: &[("alert0.value", 4.0 / 12.0), ("alert0.agents", 4.0)],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "back by the break's end: nothing",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[twelve(), some(0, 4, "10:00", "aux:break"), back("10:15")]),
            now: "10:30",
            expect: Expect { on_time: true, ..Default::default() },
        },
        Case {
            name: "a minute over exactly: fires at 10:16 and resolves a hold later",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[twelve(), some(0, 4, "10:00", "aux:break"), back("10:16")]),
            now: "10:30",
            expect: Expect {
                alerts: &[("aux_cluster", "T1", "", "10:15:00", "10:16:00", "10:17:00")],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "a minute over less 1 ms: nothing",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[twelve(), some(0, 4, "10:00", "aux:break"), back("10:15:59.999")]),
            now: "10:30",
            expect: Expect { on_time: true, ..Default::default() },
        },
        Case {
            name: "gone a minute early: fires at the break's start, resolves a hold later",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[twelve(), some(0, 4, "09:59", "aux:break"), back("10:15")]),
            now: "10:30",
            expect: Expect {
                alerts: &[("aux_cluster", "T1", "", "09:59:00", "10:00:00", "10:01:00")],
                // At 10:00 the break is scheduled: nobody counts.
                figs: &[("alert0.value", 0.0), ("alert0.agents", 0.0)],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "gone a minute early less 1 ms: nothing",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[twelve(), some(0, 4, "09:59:00.001", "aux:break"), back("10:15")]),
            now: "10:30",
            expect: Expect { on_time: true, ..Default::default() },
        },
        Case {
            name: "two unscheduled beside the four: 2 of 12 count, under the gate",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[twelve(), some(0, 6, "10:00", "aux:break"), some(0, 6, "10:10", "idle")]),
            now: "10:30",
            expect: Expect { on_time: true, ..Default::default() },
        },
        Case {
            name: "four unscheduled beside the four: those four count",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[twelve(), some(0, 8, "10:00", "aux:break"), some(0, 8, "10:10", "idle")]),
            now: "10:30",
            expect: Expect {
                alerts: &[("aux_cluster", "T1", "", "10:00:00", "10:01:00", "10:11:00")],
                figs: &[("alert0.value", 4.0 / 12.0), ("alert0.agents", 4.0)],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "another reason during the break is unplanned from then",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[
                twelve(),
                some(0, 4, "10:00", "aux:break"),
                some(0, 4, "10:05", "aux:personal"),
                back("10:10"),
            ]),
            now: "10:30",
            expect: Expect {
                alerts: &[("aux_cluster", "T1", "", "10:05:00", "10:06:00", "10:11:00")],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "late: the reason change delivered after the detectors passed it",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[
                twelve(),
                some(0, 4, "10:00", "aux:break"),
                some(4, 5, "10:09", "talking"),
                view("10:09"),
                recv("10:09:30", some(0, 4, "10:05", "aux:personal")),
                back("10:10"),
            ]),
            now: "10:30",
            expect: Expect {
                alerts: &[("aux_cluster", "T1", "", "10:05:00", "10:06:00", "10:11:00")],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "late: the breaks delivered after the break's end, a view in between",
            cfg: PEAK9,
            clocks: BOTH,
            events: cat(&[
                twelve(),
                some(4, 5, "10:25", "talking"),
                view("10:25"),
                recv("10:26:00", some(0, 4, "10:00", "aux:break")),
                recv("10:26:00", back("10:20")),
            ]),
            now: "10:30",
            expect: Expect {
                alerts: &[("aux_cluster", "T1", "", "10:15:00", "10:16:00", "10:21:00")],
                on_time: true,
                ..Default::default()
            },
        },
    ];
    with_roster(&team_break(true), || scheduled.iter().for_each(check));
    // The same breaks unscheduled.
    let unscheduled = [Case {
        name: "the same breaks unscheduled",
        cfg: PEAK9,
        clocks: BOTH,
        events: cat(&[twelve(), some(0, 4, "10:00", "aux:break"), back("10:20")]),
        now: "10:30",
        expect: Expect {
            alerts: &[("aux_cluster", "T1", "", "10:00:00", "10:01:00", "10:21:00")],
            on_time: true,
            ..Default::default()
        },
    }];
    with_roster(&team_break(false), || unscheduled.iter().for_each(check));
}

#[test]
fn scheduled_aux_and_aux_dispersion() {
    // Minute rule only: peak 09:00-12:00, a minute of peak time suffices.
    const DISP: &str = "[peak]\nwindows = [\"09:00-12:00\"]\n[alerts.long_aux]\nmax_aux_secs = 86400\n\
                        [alerts.aux_cluster]\nmin_agents = 100\n[alerts.aux_dispersion]\nmin_peak_secs = 60\n";
    let six = || many(6, "A", "09:00", "idle", "T1");
    let one = |t: &str, s: &str| vec![ev(t, "A00", s, "")];
    let brk = ("09:30", "09:45");
    let cases = |over: &'static str| {
        [
            Case {
                name: "a break all scheduled: no aux rate to disperse",
                cfg: DISP,
                clocks: BOTH,
                events: cat(&[six(), one("09:30", "aux:break"), one("09:45", "idle")]),
                now: "10:00",
                expect: Expect { on_time: true, ..Default::default() },
            },
            Case {
                name: "a break over its end: dispersion from the minute after",
                cfg: DISP,
                clocks: BOTH,
                events: cat(&[six(), one("09:30", "aux:break"), one(over, "idle")]),
                now: "10:00",
                expect: Expect {
                    // A00 alone has unplanned aux at peak, the others' rates are 0: CV sqrt(5).
                    alerts: &[("aux_dispersion", "T1", "", "09:46:00", "09:48:00", "")],
                    figs: &[("alert0.value", 2.23606797749979), ("alert0.agents", 1.0)],
                    on_time: true,
                    ..Default::default()
                },
            },
            Case {
                name: "late: the break delivered after the minutes were evaluated",
                cfg: DISP,
                clocks: BOTH,
                events: cat(&[
                    six(),
                    vec![ev("09:55", "A01", "talking", "")],
                    view("09:55"),
                    recv("09:56:00", cat(&[one("09:30", "aux:break"), one(over, "idle")])),
                ]),
                now: "10:00",
                expect: Expect {
                    alerts: &[("aux_dispersion", "T1", "", "09:46:00", "09:48:00", "")],
                    on_time: true,
                    ..Default::default()
                },
            },
        ]
    };
    with_roster(&shifts_with_break(0..1, brk), || cases("09:50").iter().for_each(check));
    // Unscheduled, the same break disperses from its first minute.
    let unscheduled = [Case {
        name: "the same break unscheduled",
        cfg: DISP,
        clocks: BOTH,
        events: cat(&[six(), one("09:30", "aux:break"), one("09:45", "idle")]),
        now: "09:40",
        expect: Expect {
            alerts: &[("aux_dispersion", "T1", "", "09:31:00", "09:33:00", "")],
            on_time: true,
            ..Default::default()
        },
    }];
    with_roster(&shifts_with_break(0..0, brk), || unscheduled.iter().for_each(check));
}

#[test]
fn scheduled_aux_and_long_aux() {
    let start = || vec![ev("09:00", "A00", "idle", "T1")];
    let one = |t: &str, s: &str| vec![ev(t, "A00", s, "")];
    let cases = [
        Case {
            name: "a long_aux stretch starts where the break ends",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: cat(&[start(), one("10:00", "aux:break"), one("10:30", "idle")]),
            now: "10:40",
            expect: Expect {
                alerts: &[("long_aux", "T1", "A00", "10:15:00", "10:25:00", "10:30:00")],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "on break before it starts: the break cuts the stretch",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: cat(&[start(), one("09:55", "aux:break"), one("10:30", "idle")]),
            now: "10:40",
            expect: Expect {
                alerts: &[("long_aux", "T1", "A00", "10:15:00", "10:25:00", "10:30:00")],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "on break 10 minutes before it starts: fires and resolves at its start",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: cat(&[start(), one("09:50", "aux:break"), one("10:05", "idle")]),
            now: "10:40",
            expect: Expect {
                alerts: &[("long_aux", "T1", "A00", "09:50:00", "10:00:00", "10:00:00")],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "another reason during the break starts a stretch then",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: cat(&[start(), one("10:00", "aux:break"), one("10:03", "aux:personal"), one("10:20", "idle")]),
            now: "10:40",
            expect: Expect {
                alerts: &[("long_aux", "T1", "A00", "10:03:00", "10:13:00", "10:20:00")],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "late: back before the alert the schedule resolved had fired",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: cat(&[
                start(),
                one("09:50", "aux:break"),
                vec![ev("10:05", "A01", "idle", "T1")],
                view("10:05"),
                recv("10:06:00", one("09:58", "idle")),
            ]),
            now: "10:40",
            expect: Expect {
                retracted: &[("long_aux", "T1", "A00", "09:50:00", "10:00:00", "10:00:00")],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "late: back after the alert fired, before the break ended it",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: cat(&[
                start(),
                one("09:45", "aux:break"),
                vec![ev("10:05", "A01", "idle", "T1")],
                view("10:05"),
                recv("10:06:00", one("09:57", "idle")),
            ]),
            now: "10:40",
            expect: Expect {
                alerts: &[("long_aux", "T1", "A00", "09:45:00", "09:55:00", "09:57:00")],
                retracted: &[("long_aux", "T1", "A00", "09:45:00", "09:55:00", "10:00:00")],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "another reason before the break, its own: the stretch ends at the break",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: cat(&[start(), one("09:45", "aux:personal"), one("09:58", "aux:break"), one("10:30", "idle")]),
            now: "10:40",
            expect: Expect {
                alerts: &[
                    ("long_aux", "T1", "A00", "09:45:00", "09:55:00", "10:00:00"),
                    ("long_aux", "T1", "A00", "10:15:00", "10:25:00", "10:30:00"),
                ],
                on_time: true,
                ..Default::default()
            },
        },
        Case {
            name: "another reason, the break's, before a stretch reached the limit: cut there",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: cat(&[start(), one("09:55", "aux:personal"), one("09:58", "aux:break"), one("10:20", "idle")]),
            now: "10:40",
            expect: Expect { on_time: true, ..Default::default() },
        },
        Case {
            name: "within the break: nothing",
            cfg: NO_PEAK,
            clocks: BOTH,
            events: cat(&[start(), one("10:00", "aux:break"), one("10:15", "idle")]),
            now: "10:40",
            expect: Expect { on_time: true, ..Default::default() },
        },
    ];
    with_roster(&shifts_with_break(0..1, ("10:00", "10:15")), || cases.iter().for_each(check));
}

/// A roster uploaded after the detectors evaluated a break: they re-evaluate from the first
/// instant it changed (within the backfill limit) and retract what it takes back. The agents
/// were seen before their roster: their aux reasons are known from their current state's
/// start on (docs/adherence.md), here the break's.
#[test]
fn an_upload_re_evaluates_the_detectors() {
    let cluster = |v: Vec<Alert>| -> Vec<_> {
        v.iter().filter(|a| a.kind == crate::alert::AlertKind::AuxCluster).map(tuple).collect()
    };
    for clock in ["event", "wall"] {
        let mut engine = Engine::new(settings(PEAK9, clock));
        engine.enable_notifications();
        let aliases = Aliases::new(engine.settings.aliases.clone());
        let feed = |engine: &mut Engine, lines: Vec<String>| {
            for l in &lines {
                let e = decode_str(&expand(l), &aliases).unwrap();
                let t = e.ts().unwrap();
                engine.apply_batch(t, Source::Tcp, [e], &[]);
            }
        };
        feed(&mut engine, cat(&[twelve(), some(0, 4, "10:00", "aux:break"), some(4, 5, "10:10", "talking")]));
        let opts = ViewOpts { alerts: true, ..Default::default() };
        let alerts = |engine: &mut Engine, t: &str| -> Vec<Alert> {
            engine.view(at(t), &opts).alerts.iter().map(|a| a.alert().clone()).collect()
        };
        let before = cluster(alerts(&mut engine, "10:10"));
        assert_eq!(before, owned(&[("aux_cluster", "T1", "", "10:00:00", "10:01:00", "")]), "{clock}: before");
        let tz = engine.settings.tz.clone();
        // A roster without the break changes no detector's result; with it, the break is planned.
        engine.upload_roster(&crate::roster::parse::parse(&team_break(false), &tz).unwrap()).unwrap();
        assert_eq!(cluster(alerts(&mut engine, "10:10")), before, "{clock}: no break scheduled");
        engine.upload_roster(&crate::roster::parse::parse(&team_break(true), &tz).unwrap()).unwrap();
        assert_eq!(cluster(alerts(&mut engine, "10:10")), [], "{clock}: the break scheduled");
        feed(&mut engine, cat(&[some(0, 4, "10:20", "idle"), some(4, 5, "10:30", "idle")]));
        let after = cluster(alerts(&mut engine, "10:30"));
        assert_eq!(after, owned(&[("aux_cluster", "T1", "", "10:15:00", "10:16:00", "10:21:00")]), "{clock}: after");
        let retracted =
            cluster(engine.take_notifications().iter().filter(|a| a.retracted).map(|a| a.alert().clone()).collect());
        assert_eq!(retracted, before, "{clock}: retracted");
    }
}

/// A roster that changes a recorded break into a scheduled one: the break, now planned,
/// no longer disperses, and the `aux_dispersion` alert it caused is taken back. (The
/// detectors read a member's scheduled aux only inside the roster's extent of it, which an
/// upload makes again from the breaks recorded under the old schedule.)
#[test]
fn an_upload_schedules_a_recorded_break() {
    const DISP: &str = "[peak]\nwindows = [\"09:00-12:00\"]\n[alerts.long_aux]\nmax_aux_secs = 86400\n\
                        [alerts.aux_cluster]\nmin_agents = 100\n[alerts.aux_dispersion]\nmin_peak_secs = 60\n";
    let disp = |engine: &Engine| -> Vec<_> {
        engine.alerts().iter().filter(|a| a.kind == crate::alert::AlertKind::AuxDispersion).map(tuple).collect()
    };
    for clock in ["event", "wall"] {
        let s = settings(DISP, clock);
        let mut engine = Engine::new(s.clone());
        let aliases = Aliases::new(s.aliases.clone());
        let upload = |engine: &mut Engine, csv: &str| {
            engine.upload_roster(&crate::roster::parse::parse(csv, &s.tz).unwrap()).unwrap();
        };
        // Every agent on shift; the break that A00 takes is not on the first roster.
        upload(&mut engine, &team_break(false));
        let lines = cat(&[
            many(6, "A", "09:00", "idle", "T1"),
            vec![
                ev("09:30", "A00", "aux:break", ""),
                ev("09:45", "A00", "idle", ""),
                ev("09:50", "A01", "talking", ""),
            ],
        ]);
        for l in lines {
            let e = decode_str(&expand(&l), &aliases).unwrap();
            engine.apply_batch(e.ts().unwrap(), Source::Tcp, [e], &[]);
        }
        engine.advance(at("09:52"));
        let before = disp(&engine);
        assert_eq!(before.first().map(|a| a.3.clone()), Some("09:31:00".to_string()), "{clock}: unscheduled");
        upload(&mut engine, &shifts_with_break(0..1, ("09:30", "09:45")));
        engine.advance(at("09:55"));
        assert_eq!(disp(&engine), [], "{clock}: the break scheduled");
    }
}

/// A long_aux alert the schedule will end resolves there after a restart too: where the
/// schedule ends a stretch is derived again from the restored roster.
#[test]
fn long_aux_ends_at_the_break_after_a_restore() {
    with_roster(&shifts_with_break(0..1, ("10:00", "10:15")), || {
        let s = settings(NO_PEAK, "event");
        let mut engine = Engine::new(s.clone());
        let aliases = Aliases::new(s.aliases.clone());
        for l in
            [ev("09:00", "A00", "idle", "T1"), ev("09:45", "A00", "aux:break", ""), ev("09:57", "A01", "idle", "T1")]
        {
            let e = decode_str(&expand(&l), &aliases).unwrap();
            engine.apply_batch(e.ts().unwrap(), Source::Tcp, [e], &[]);
        }
        let mut restored = Engine::restore(s, &engine.save()).unwrap();
        restored.advance(at("10:05"));
        let long: Vec<_> =
            restored.alerts().iter().filter(|a| a.kind == crate::alert::AlertKind::LongAux).map(tuple).collect();
        assert_eq!(long, owned(&[("long_aux", "T1", "A00", "09:45:00", "09:55:00", "10:00:00")]));
    });
}

/// A roster uploaded while a cluster is on, scheduling a break that starts later: the
/// stored alert resolves a hold after the break's start without any event or view.
#[test]
fn an_upload_schedules_a_break_ahead() {
    let s = settings(PEAK9, "event");
    let mut engine = Engine::new(s.clone());
    let aliases = Aliases::new(s.aliases.clone());
    for l in cat(&[twelve(), some(0, 4, "09:50", "aux:break"), some(4, 5, "09:55", "talking")]) {
        let e = decode_str(&expand(&l), &aliases).unwrap();
        engine.apply_batch(e.ts().unwrap(), Source::Tcp, [e], &[]);
    }
    engine.upload_roster(&crate::roster::parse::parse(&team_break(true), &s.tz).unwrap()).unwrap();
    engine.advance(at("10:05"));
    let cluster: Vec<_> =
        engine.alerts().iter().filter(|a| a.kind == crate::alert::AlertKind::AuxCluster).map(tuple).collect();
    assert_eq!(cluster, owned(&[("aux_cluster", "T1", "", "09:50:00", "09:51:00", "10:01:00")]));
}

/// The queues' alert index (`queue_index`) against the store it indexes: calls in three
/// queues (one named with another's prefix and a colon, which shares its id range), each
/// call's events late by up to two minutes, in batches, with housekeeping trimming old
/// alerts and a save and restore half-way. After every batch the index holds exactly the
/// store's queue alerts, and what a reconcile reads from it equals a walk of the store
/// for starts across the day (the same holds in every reconcile, checked in debug builds).
#[test]
fn queue_index_equals_a_walk_of_the_store() {
    const MIN: Ms = 60_000;
    let cfg = "[alerts.service_level_low]\nmin_calls = 2\nconsecutive = 2\n";
    let mut s = settings(cfg, "wall");
    s.keep_resolved_alerts_ms = 30 * MIN;
    let aliases = Aliases::new(s.aliases.clone());
    let queues = ["q", "q:x", "r"];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    // (arrival, line): queued, then answered or abandoned after a wait of up to 3 minutes.
    let t0 = at("09:00");
    let mut lines: Vec<(Ms, String)> = Vec::new();
    for c in 0..600 {
        let q = queues[rnd(3) as usize];
        let queued = t0 + rnd(180 * MIN as u64) as Ms;
        let end = queued + rnd(3 * MIN as u64) as Ms;
        let how = if rnd(2) == 0 { "answered" } else { "abandoned" };
        let delay = rnd(2 * MIN as u64) as Ms;
        lines.push((queued + delay, format!(r#"{{"ts":{queued},"call":"c{c}","queue":"{q}","event":"queued"}}"#)));
        lines.push((end + delay, format!(r#"{{"ts":{end},"call":"c{c}","queue":"{q}","event":"{how}"}}"#)));
    }
    lines.sort_by_key(|l| l.0);
    let mut engine = Engine::new(s.clone());
    let mut most = 0;
    let mut i = 0;
    let mut restored = false;
    while i < lines.len() {
        let n = 1 + rnd(8) as usize;
        let batch = &lines[i..(i + n).min(lines.len())];
        let now = batch.last().expect("a batch").0;
        engine.apply_batch(now, Source::Tcp, batch.iter().map(|l| decode_str(&l.1, &aliases).unwrap()), &[]);
        engine.advance(now);
        if rnd(10) == 0 {
            engine.housekeeping();
            // Every alert resolved before the keep limit is gone (`resolved_floor` may skip
            // the walk only when none is).
            let after = engine.latest().expect("events applied") - 30 * MIN;
            let old = engine.alerts.values().filter(|a| a.resolved_at.is_some_and(|r| r < after)).count();
            assert_eq!(old, 0, "alerts resolved before {} kept at {}", hms(after), hms(now));
        }
        if !restored && i > lines.len() / 2 {
            engine = Engine::restore(s.clone(), &engine.save()).unwrap();
            restored = true;
        }
        assert!(engine.queue_index_matches_store(), "index and store differ at {}", hms(now));
        // Starts across the day, and at each stored queue alert's own times (the edges).
        let mut starts: Vec<Ms> = [Ms::MAX / 4, 60 * MIN, 10 * MIN, MIN, 0].map(|b| now.saturating_sub(b)).to_vec();
        for a in engine.alerts.values().filter(|a| a.queue.is_some()) {
            starts.extend([a.fired_at, a.fired_at + 1]);
            starts.extend(a.resolved_at.map(|r| [r, r + 1]).into_iter().flatten());
        }
        for q in queues {
            for &from in &starts {
                for d in [
                    crate::queue::Derived { long_wait_from: from, sl_from: from, alerts: Vec::new() },
                    crate::queue::Derived { long_wait_from: from - 7 * MIN, sl_from: from, alerts: Vec::new() },
                ] {
                    let ids = |v: Vec<std::sync::Arc<crate::alert::StoredAlert>>| {
                        v.iter().map(|a| a.id.clone()).collect::<Vec<_>>()
                    };
                    assert_eq!(
                        ids(engine.queue_scope(q, &d)),
                        ids(engine.queue_scope_walk(q, &d)),
                        "queue {q} from {} at {}",
                        hms(from),
                        hms(now)
                    );
                }
            }
        }
        most = most.max(engine.alerts.values().filter(|a| a.queue.is_some()).count());
        i += n;
    }
    assert!(restored, "the state was saved and restored");
    assert!(most >= 20, "the floor had queue alerts to index: at most {most} at once");
}

/// `by_id` orders alerts by id and keeps the last of each id, as the map it replaced did.
#[test]
fn by_id_keeps_the_last_alert_of_each_id_in_id_order() {
    use crate::alert::AlertKind;
    let a = |id: &str, value: f64| {
        crate::detect::team::new_alert(
            AlertKind::LongAux,
            id.into(),
            "T1",
            None,
            0,
            0,
            value,
            0.0,
            String::new(),
            vec![],
        )
    };
    let got = super::alerts::by_id([a("c", 1.0), a("a", 1.0), a("c", 2.0), a("b", 1.0), a("a", 2.0), a("c", 3.0)]);
    let got: Vec<(&str, f64)> = got.iter().map(|x| (x.id.as_str(), x.value)).collect();
    assert_eq!(got, [("a", 2.0), ("b", 1.0), ("c", 3.0)]);
}

/// Past `limits.max_alerts`, housekeeping forgets the resolved alerts that resolved longest
/// ago, before their 48 hours, and counts them; a firing alert always stays, even when the
/// firing ones alone are more than the limit, and so does one resolved within what late
/// events may still change (`max_backfill`).
#[test]
fn the_store_past_max_alerts_forgets_the_oldest_resolved_early() {
    let line = |t: &str, agent: &str, state: &str| {
        let (state, reason) = state.split_once(':').map_or((state, ""), |(s, r)| (s, r));
        let reason = if reason.is_empty() { String::new() } else { format!(",\"reason\":\"{reason}\"") };
        format!(r#"{{"ts":{},"agent":"{agent}","state":"{state}"{reason},"team":"T1"}}"#, at(t))
    };
    let feed = |engine: &mut Engine, lines: &[String]| {
        let aliases = Aliases::new(engine.settings.aliases.clone());
        for l in lines {
            let e = decode_str(l, &aliases).unwrap();
            let t = e.ts().unwrap();
            engine.apply_batch(t, Source::Tcp, std::iter::once(e), &[]);
            engine.advance(t);
        }
    };
    let held = |engine: &Engine| {
        let mut v: Vec<(String, bool)> =
            engine.alerts.values().map(|a| (a.agent.clone().unwrap_or_default(), a.resolved_at.is_none())).collect();
        v.sort();
        v
    };
    let mut s = settings(NO_PEAK, "event");
    s.max_alerts = 3;
    // With the default 2 hours, every alert below could still be changed by a late event.
    let mut engine = Engine::new(s.clone());
    let day = |engine: &mut Engine| {
        let mut lines = Vec::new();
        for (i, a) in ["A1", "A2", "A3", "A4"].iter().enumerate() {
            let start = 9 * 60 + 15 * i;
            lines.push(line(&format!("{:02}:{:02}", start / 60, start % 60), a, "aux:break"));
            lines.push(line(&format!("{:02}:{:02}", (start + 11) / 60, (start + 11) % 60), a, "idle"));
        }
        lines.push(line("10:00", "A5", "aux:break"));
        lines.push(line("10:30", "A6", "idle"));
        feed(engine, &lines);
    };
    day(&mut engine);
    engine.housekeeping();
    assert_eq!(engine.alerts_held(), (5, 0), "none resolved before what may be backfilled");
    s.max_backfill_ms = 60_000;
    let mut engine = Engine::new(s.clone());
    // Four long_aux alerts resolved one after another (A1 first), a fifth (A5) firing.
    day(&mut engine);
    assert_eq!(engine.alerts.len(), 5, "{:?}", held(&engine));
    engine.housekeeping();
    let want = |v: &[(&str, bool)]| v.iter().map(|&(a, f)| (a.to_string(), f)).collect::<Vec<_>>();
    assert_eq!(held(&engine), want(&[("A3", false), ("A4", false), ("A5", true)]), "the two resolved first go");
    assert_eq!(engine.alerts_held(), (3, 2));
    engine.housekeeping();
    assert_eq!(engine.alerts_held(), (3, 2), "at the limit nothing more goes");
    // Alerts resolved within their 48 hours and gone early are what is counted: one more
    // resolved takes the oldest left with it.
    feed(&mut engine, &[line("10:40", "A6", "aux:break"), line("10:55", "A6", "idle")]);
    engine.housekeeping();
    assert_eq!(held(&engine), want(&[("A4", false), ("A5", true), ("A6", false)]));
    assert_eq!(engine.alerts_held(), (3, 3));

    // Firing alerts alone past the limit: all stay, only the resolved one goes.
    s.max_alerts = 1;
    let mut engine = Engine::new(s);
    feed(
        &mut engine,
        &[
            line("09:00", "A1", "aux:break"),
            line("09:11", "A1", "idle"),
            line("09:20", "A2", "aux:break"),
            line("09:21", "A3", "aux:break"),
            line("09:40", "A4", "idle"),
        ],
    );
    engine.housekeeping();
    assert_eq!(held(&engine), want(&[("A2", true), ("A3", true)]));
    assert_eq!(engine.alerts_held(), (2, 1));
}
