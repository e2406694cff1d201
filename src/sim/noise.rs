//! Noise injection for testing ingest: extra lines, mixed into the stream, that a correct
//! daemon must count as `duplicate`, `late` or `invalid` (docs/events.md#outcomes) without changing any
//! figure. The good events are exactly those of the same run without noise.

use std::collections::VecDeque;

use super::SimLine;
use super::floor::TsFormatter;
use super::rng::Rng;
use crate::time::Ms;

/// What kind of bad line a noise line is, and the outcome it must get.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Noise {
    /// An exact copy of a recent event (same `seq`): outcome `duplicate`.
    Duplicate,
    /// A well-formed event without `seq` whose `ts` is before the agent's last event:
    /// outcome `late`.
    Late,
    /// Not JSON, or JSON without a valid `agent`/`ts`: outcome `invalid`.
    Garbage,
    /// A well-formed event with a state that is neither one of the five nor a default
    /// alias: outcome `invalid`.
    UnknownState,
}

/// How many recent events a duplicate may copy.
const RECENT: usize = 64;
const UNKNOWN_STATES: &[&str] = &["dancing", "asleep", "holiday", "teleported", "x"];
const GARBAGE: &[&str] =
    &["not json", "HTTP/1.1 400 Bad Request", "\u{fffd}\u{fffd}garbage\u{fffd}", "[1,2,3", "}{", "{\"ts\":"];

#[derive(Debug)]
pub(crate) struct Noiser {
    rng: Rng,
    /// Expected noise lines per good event: `f / (1 − f)` for a noise fraction `f`.
    per_event: f64,
    recent: VecDeque<(u32, String)>,
}

impl Noiser {
    pub(crate) fn new(seed: u64, fraction: f64) -> Noiser {
        Noiser {
            rng: Rng::new(seed, 0x015E_0000),
            per_event: fraction / (1.0 - fraction),
            recent: VecDeque::with_capacity(RECENT),
        }
    }

    /// Called after each good event `ev` (of agent id `id` in team `team`): queues the noise
    /// lines that follow it, all stamped with its time.
    pub(crate) fn after(
        &mut self,
        ev: &SimLine,
        id: &str,
        team: &str,
        fmt: &mut TsFormatter,
        out: &mut VecDeque<SimLine>,
    ) {
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back((ev.agent, ev.line.clone()));
        let n = self.per_event.floor() as usize + self.rng.chance(self.per_event.fract()) as usize;
        for _ in 0..n {
            let (kind, agent, line) = self.make(ev, id, team, fmt);
            out.push_back(SimLine { ts: ev.ts, agent, line, noise: Some(kind) });
        }
    }

    fn make(&mut self, ev: &SimLine, id: &str, team: &str, fmt: &mut TsFormatter) -> (Noise, u32, String) {
        let rng = &mut self.rng;
        match rng.below(4) {
            0 => {
                let (agent, line) = rng.pick(self.recent.make_contiguous()).clone();
                (Noise::Duplicate, agent, line)
            }
            1 => {
                let ts: Ms = ev.ts - rng.range(1_000, 300_000);
                let state = *rng.pick(&["idle", "talking", "acw", "aux"]);
                let reason = if state == "aux" { ",\"reason\":\"personal\"" } else { "" };
                let line = format!(
                    "{{\"ts\":\"{}\",\"agent\":\"{id}\",\"state\":\"{state}\"{reason},\"team\":\"{team}\"}}",
                    fmt.format(ts)
                );
                (Noise::Late, ev.agent, line)
            }
            2 => {
                let ts = fmt.format(ev.ts);
                let line = match rng.below(5) {
                    0 => {
                        // Cut a real line short (at a character boundary: names may be CJK).
                        let l = &ev.line;
                        let mut cut = rng.range(l.len() as i64 / 4, l.len() as i64 * 3 / 4) as usize;
                        while !l.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        l[..cut].to_string()
                    }
                    1 => rng.pick(GARBAGE).to_string(),
                    2 => format!("{{\"ts\":\"yesterday\",\"agent\":\"{id}\",\"state\":\"idle\"}}"),
                    3 => format!("{{\"ts\":\"{ts}\",\"state\":\"idle\",\"team\":\"{team}\"}}"),
                    _ => format!("{{\"ts\":\"{ts}\",\"agent\":{},\"state\":\"idle\"}}", ev.agent + 1),
                };
                (Noise::Garbage, ev.agent, line)
            }
            _ => {
                let l = &ev.line;
                let bad = rng.pick(UNKNOWN_STATES);
                let line = match l.find("\"state\":\"") {
                    Some(i) => {
                        let from = i + "\"state\":\"".len();
                        let to = from + l[from..].find('"').unwrap_or(0);
                        format!("{}{bad}{}", &l[..from], &l[to..])
                    }
                    None => format!("{{\"agent\":\"{id}\",\"state\":\"{bad}\"}}"),
                };
                (Noise::UnknownState, ev.agent, line)
            }
        }
    }
}
