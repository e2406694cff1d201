//! Applying call events (SPEC §8.1): the clock and backfill rules shared with agent events,
//! then the queue's own outcomes (`queue::Queues::apply`).

use super::{Engine, Outcome, Refused, RefusedCall, Source};
use crate::event::{CallEvent, Refusal, State};
use crate::settings::ClockMode;
use crate::time::Ms;

impl Engine {
    /// Applies one call event received at `recv_ms`; returns its outcome and, when it was
    /// refused, what a message about it needs (its batch index is set by the caller).
    pub(super) fn apply_call(&mut self, ev: &CallEvent, recv_ms: Ms, source: Source) -> (Outcome, Option<Refused>) {
        let o = self.apply_call_inner(ev, recv_ms);
        let (o, message) = match o {
            Ok(skewed) => (Outcome::Applied { skewed }, None),
            Err((r, msg)) => {
                let o = match r {
                    Refusal::Repeated => Outcome::Duplicate,
                    Refusal::TooOld | Refusal::OlderThanLast => Outcome::Late(r),
                    r => Outcome::Invalid(r),
                };
                (o, Some(msg))
            }
        };
        self.after_apply(source, o);
        let refused = message.map(|message| {
            let message = if message.is_empty() {
                match o.refusal() {
                    Some(Refusal::TooOld) => format!(
                        "ts is older than floor.max_backfill_secs ({}) before now",
                        self.settings.max_backfill_ms / 1000
                    ),
                    Some(Refusal::MissingField) => "ts is missing (the event clock needs one)".into(),
                    _ => String::new(),
                }
            } else {
                message
            };
            Refused {
                index: 0,
                outcome: o,
                agent: ev.call.clone(),
                state: State::Idle,
                reason: None,
                ts: ev.ts,
                seq: None,
                last: None,
                teams_full: false,
                call: Some(Box::new(RefusedCall { message, input: ev.to_json() })),
            }
        });
        (o, refused)
    }

    /// `Ok(skewed)` when applied.
    fn apply_call_inner(&mut self, ev: &CallEvent, recv_ms: Ms) -> Result<bool, (Refusal, String)> {
        let wall = self.settings.clock == ClockMode::Wall;
        let (mut ts, mut skewed) = match (ev.ts, wall) {
            (Some(t), _) => (t, false),
            (None, true) => (recv_ms, false),
            (None, false) => return Err((Refusal::MissingField, String::new())),
        };
        if wall && ts > recv_ms + self.settings.max_future_skew_ms {
            ts = recv_ms;
            skewed = true;
        }
        let now = if wall { recv_ms.max(self.now_seen) } else { self.max_ts };
        let too_old = now != Ms::MIN && ts < now.saturating_sub(self.settings.max_backfill_ms);
        self.queues.apply(ev, ts, too_old, &self.settings.queues)?;
        // Call events move the event clock; they never create agents or teams.
        self.max_ts = self.max_ts.max(ts);
        self.version += 1;
        Ok(skewed)
    }
}
