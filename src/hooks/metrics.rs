//! Delivery metrics, registered in the daemon's one registry.
//!
//! `floorwatch_hook_deliveries_total{hook,kind,outcome}` counts alerts, not requests: a
//! digest of five alerts that gets through adds 5 to `delivered`. `kind` is the hook's kind
//! (`slack`, ...). Outcomes: `delivered`; `failed` (given up: attempts exhausted or the
//! destination refused it); `retried` (an attempt failed and another follows); `dropped`
//! (pushed out of a full queue, or still queued when shutdown's grace ran out).
//! `floorwatch_hook_queue_depth{hook}` is the number of alerts waiting (in flight excluded).

use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

use super::config::HookSpec;

pub struct Metrics {
    deliveries: IntCounterVec,
    depth: IntGaugeVec,
}

impl Metrics {
    pub fn register(registry: &Registry) -> Result<Metrics, prometheus::Error> {
        let deliveries = IntCounterVec::new(
            Opts::new(
                "floorwatch_hook_deliveries_total",
                "Alerts handled by each alert hook, by outcome (delivered, failed, retried, dropped).",
            ),
            &["hook", "kind", "outcome"],
        )?;
        let depth = IntGaugeVec::new(
            Opts::new("floorwatch_hook_queue_depth", "Alerts waiting in each alert hook's queue."),
            &["hook"],
        )?;
        registry.register(Box::new(deliveries.clone()))?;
        registry.register(Box::new(depth.clone()))?;
        Ok(Metrics { deliveries, depth })
    }

    /// The hook's series, created now so they are exported (at 0) before anything happens.
    pub fn for_hook(&self, spec: &HookSpec) -> HookMetrics {
        let c = |outcome| self.deliveries.with_label_values(&[&spec.name, spec.kind.as_str(), outcome]);
        HookMetrics {
            delivered: c("delivered"),
            failed: c("failed"),
            retried: c("retried"),
            dropped: c("dropped"),
            depth: self.depth.with_label_values(&[&spec.name]),
        }
    }
}

#[derive(Clone)]
pub struct HookMetrics {
    pub delivered: IntCounter,
    pub failed: IntCounter,
    pub retried: IntCounter,
    pub dropped: IntCounter,
    pub depth: IntGauge,
}
