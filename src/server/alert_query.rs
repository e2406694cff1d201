//! `GET /api/v1/alerts` filters and pages: `team`, `queue`, `state`, `since`, `limit` and `after`,
//! so that a client polling a floor with 48 hours of alerts never takes them all at once.
//!
//! Without parameters the answer is every alert, oldest first (by fire time, then id), as
//! a snapshot at now lists them. Filters keep that order. With `limit`, the answer holds
//! at most that many and, when more match, `"next"`: a cursor to pass as `after` for the
//! following page. Pages taken one after another hold exactly what one unfiltered answer
//! holds, provided no alert changed in between (a new alert lands at the end; an alert
//! that late events rewrite may move, see docs/alerts.md).

use std::collections::HashMap;
use std::sync::Arc;

use crate::alert::{AlertState, StoredAlert};
use crate::time::{Ms, parse_instant};

/// The largest page.
pub const MAX_LIMIT: usize = 10_000;

/// A parsed query.
#[derive(Debug, Default, PartialEq)]
pub struct AlertQuery {
    pub team: Option<String>,
    /// A queue's alerts (`long_wait`, `service_level_low`).
    pub queue: Option<String>,
    pub state: Option<AlertState>,
    /// Only alerts not over before this instant: still firing, or resolved at or after it.
    pub since: Option<Ms>,
    pub limit: Option<usize>,
    /// Only alerts after this position (a `next` cursor): fire time, then id.
    pub after: Option<(Ms, String)>,
}

/// One page of the answer.
pub struct Page {
    pub alerts: Vec<Arc<StoredAlert>>,
    /// The cursor of the next page, when more match.
    pub next: Option<String>,
}

impl AlertQuery {
    /// Reads the query string; an error names the parameter and what it takes.
    pub fn parse(q: &HashMap<String, String>) -> Result<AlertQuery, String> {
        let mut out = AlertQuery {
            team: q.get("team").filter(|t| !t.is_empty()).cloned(),
            queue: q.get("queue").filter(|t| !t.is_empty()).cloned(),
            ..Default::default()
        };
        if let Some(s) = q.get("state") {
            out.state = Some(match s.as_str() {
                "firing" => AlertState::Firing,
                "resolved" => AlertState::Resolved,
                _ => return Err("state: must be firing or resolved".into()),
            });
        }
        if let Some(s) = q.get("since") {
            out.since = Some(parse_instant(s).ok_or("since: must be an RFC 3339 time or epoch milliseconds")?);
        }
        if let Some(s) = q.get("limit") {
            out.limit = Some(
                s.parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or(format!("limit: must be a whole number from 1 to {MAX_LIMIT}"))?,
            );
        }
        if let Some(s) = q.get("after") {
            out.after = Some(parse_cursor(s).ok_or("after: must be a next cursor from an earlier answer")?);
        }
        Ok(out)
    }

    fn keeps(&self, a: &StoredAlert) -> bool {
        let a = a.alert();
        self.team.as_deref().is_none_or(|t| a.team == t)
            && self.queue.as_deref().is_none_or(|q| a.queue.as_deref() == Some(q))
            && self.state.is_none_or(|s| a.state == s)
            && self.since.is_none_or(|since| a.resolved_at.is_none_or(|r| r >= since))
            && self.after.as_ref().is_none_or(|(at, id)| (a.fired_at, a.id.as_str()) > (*at, id.as_str()))
    }

    /// The page of `alerts` (oldest first, as the engine lists them) this query asks for.
    pub fn select(&self, alerts: Vec<Arc<StoredAlert>>) -> Page {
        let mut kept = alerts.into_iter().filter(|a| self.keeps(a));
        let Some(limit) = self.limit else { return Page { alerts: kept.collect(), next: None } };
        let page: Vec<Arc<StoredAlert>> = kept.by_ref().take(limit).collect();
        let next = match (kept.next(), page.last()) {
            (Some(_), Some(last)) => Some(cursor(last)),
            _ => None,
        };
        Page { alerts: page, next }
    }
}

/// `<fire time ms>.<id>`: the position after `a` in the answer's order.
fn cursor(a: &StoredAlert) -> String {
    let a = a.alert();
    format!("{}.{}", a.fired_at, a.id)
}

fn parse_cursor(s: &str) -> Option<(Ms, String)> {
    let (at, id) = s.split_once('.')?;
    Some((at.parse().ok()?, id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{Alert, AlertKind, Severity};

    fn alert(team: &str, fired_at: Ms, resolved_at: Option<Ms>) -> Arc<StoredAlert> {
        StoredAlert::new(Alert {
            id: Alert::make_id(AlertKind::UtilizationHigh, team, None, fired_at),
            kind: AlertKind::UtilizationHigh,
            team: team.into(),
            queue: None,
            agent: None,
            severity: Severity::Warning,
            state: if resolved_at.is_some() { AlertState::Resolved } else { AlertState::Firing },
            started_at: fired_at,
            fired_at,
            resolved_at,
            value: 0.8,
            threshold: 0.74,
            message: String::new(),
            agents: Vec::new(),
            interval: None,
            retracted: false,
        })
    }

    fn query(pairs: &[(&str, &str)]) -> Result<AlertQuery, String> {
        AlertQuery::parse(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    fn ids(p: &Page) -> Vec<&str> {
        p.alerts.iter().map(|a| a.alert().id.as_str()).collect()
    }

    /// Oldest first; two at the same fire time ordered by id (T1 before T2).
    fn all() -> Vec<Arc<StoredAlert>> {
        vec![
            alert("T1", 1_000, Some(5_000)),
            alert("T2", 1_000, None),
            alert("T1", 2_000, Some(3_000)),
            alert("T2", 4_000, Some(9_000)),
            alert("T1", 6_000, None),
        ]
    }

    #[test]
    fn filters_keep_the_order_and_only_what_they_name() {
        let sel = |pairs: &[(&str, &str)]| {
            let p = query(pairs).unwrap().select(all());
            assert!(p.next.is_none());
            ids(&p).iter().map(|id| id.rsplit(':').next().unwrap().parse::<Ms>().unwrap()).collect::<Vec<_>>()
        };
        assert_eq!(sel(&[]), [1_000, 1_000, 2_000, 4_000, 6_000]);
        assert_eq!(sel(&[("team", "T1")]), [1_000, 2_000, 6_000]);
        assert_eq!(sel(&[("state", "firing")]), [1_000, 6_000]);
        assert_eq!(sel(&[("state", "resolved"), ("team", "T2")]), [4_000]);
        // Not over before 5,000: resolved at 5,000 exactly is kept, at 3,000 is not.
        assert_eq!(sel(&[("since", "5000")]), [1_000, 1_000, 4_000, 6_000]);
        assert_eq!(sel(&[("since", "1970-01-01T00:00:05.001Z")]), [1_000, 4_000, 6_000]);
    }

    #[test]
    fn pages_in_turn_hold_exactly_the_whole_answer() {
        let whole: Vec<String> = ids(&query(&[]).unwrap().select(all())).iter().map(|s| s.to_string()).collect();
        for limit in 1..=6 {
            let mut got: Vec<String> = Vec::new();
            let mut after: Option<String> = None;
            let mut pages = 0;
            loop {
                let limit = limit.to_string();
                let mut q = vec![("limit", limit.as_str())];
                if let Some(a) = &after {
                    q.push(("after", a.as_str()));
                }
                let p = query(&q).unwrap().select(all());
                assert!(p.alerts.len() <= limit.parse().unwrap());
                got.extend(ids(&p).iter().map(|s| s.to_string()));
                pages += 1;
                match p.next {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
            assert_eq!(got, whole, "limit {limit}");
            assert_eq!(pages, whole.len().div_ceil(limit), "limit {limit}: no empty last page");
        }
    }

    #[test]
    fn a_bad_parameter_is_named() {
        for (k, v) in [("state", "open"), ("since", "yesterday"), ("limit", "0"), ("limit", "10001"), ("after", "x")] {
            let e = query(&[(k, v)]).unwrap_err();
            assert!(e.starts_with(&format!("{k}:")), "{k}={v}: {e}");
        }
        assert_eq!(query(&[("team", "")]).unwrap(), AlertQuery::default());
    }
}
