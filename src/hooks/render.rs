//! Human text for chat robots and Alertmanager annotations, in English and Chinese.
//!
//! Rendered from the alert's fields (kind, team, agents, value, threshold, times), never
//! from its English `message`, so both languages say the same thing. Plain text only: the
//! payload builders add each platform's markup and escaping.

use jiff::tz::TimeZone;

use super::config::Lang;
use crate::alert::{Alert, AlertKind, AlertState, Severity};
use crate::time::Ms;

/// Agents listed by name in one alert; the rest are counted.
const MAX_AGENTS_LISTED: usize = 20;

pub struct Renderer<'a> {
    pub lang: Lang,
    pub tz: &'a TimeZone,
}

/// The rules an `aht_out_of_control` alert names: the end of its message, after the `; `.
fn aht_rules(a: &Alert) -> &str {
    a.message.rsplit("; ").next().unwrap_or("")
}

pub fn icon(a: &Alert) -> &'static str {
    match (a.state, a.severity) {
        (AlertState::Resolved, _) => "✅",
        (_, Severity::Critical) => "🔴",
        (_, Severity::Warning) => "🟠",
        (_, Severity::Info) => "🔵",
    }
}

impl Renderer<'_> {
    pub fn kind_title(&self, kind: AlertKind) -> &'static str {
        match (self.lang, kind) {
            (Lang::En, AlertKind::AuxCluster) => "Aux clustering",
            (Lang::En, AlertKind::LongAux) => "Long aux",
            (Lang::En, AlertKind::AuxDispersion) => "Aux dispersion",
            (Lang::En, AlertKind::UtilizationHigh) => "High utilization",
            (Lang::Zh, AlertKind::AuxCluster) => "坐席扎堆小休",
            (Lang::Zh, AlertKind::LongAux) => "小休超时",
            (Lang::Zh, AlertKind::AuxDispersion) => "小休离散度过高",
            (Lang::Zh, AlertKind::UtilizationHigh) => "通话利用率过高",
            (Lang::En, AlertKind::AhtOutOfControl) => "AHT out of control",
            (Lang::Zh, AlertKind::AhtOutOfControl) => "平均处理时长失控",
            (Lang::En, AlertKind::LongWait) => "Long wait",
            (Lang::En, AlertKind::ServiceLevelLow) => "Service level low",
            (Lang::Zh, AlertKind::LongWait) => "来电等待过长",
            (Lang::Zh, AlertKind::ServiceLevelLow) => "服务水平过低",
            (Lang::En, AlertKind::OutOfAdherence) => "Out of adherence",
            (Lang::Zh, AlertKind::OutOfAdherence) => "未按排班执行",
        }
    }

    pub fn severity(&self, s: Severity) -> &'static str {
        match (self.lang, s) {
            (Lang::En, s) => s.as_str(),
            (Lang::Zh, Severity::Critical) => "严重",
            (Lang::Zh, Severity::Warning) => "警告",
            (Lang::Zh, Severity::Info) => "提示",
        }
    }

    /// Who the alert is about: `T07` / `T07 组`, or the agent for per-agent kinds.
    fn subject(&self, a: &Alert) -> String {
        let agent = a.agent.as_deref().or(a.agents.first().map(String::as_str));
        if let Some(q) = &a.queue {
            return match self.lang {
                Lang::En => q.clone(),
                Lang::Zh => format!("{q} 队列"),
            };
        }
        match (self.lang, a.kind, agent) {
            // A no-show: the board calls its team 未分组.
            (Lang::Zh, AlertKind::OutOfAdherence, Some(ag)) if no_show(a) => format!("未分组坐席 {ag}"),
            (Lang::En, AlertKind::LongAux | AlertKind::OutOfAdherence, Some(ag)) => format!("{ag} ({})", a.team),
            (Lang::Zh, AlertKind::LongAux | AlertKind::OutOfAdherence, Some(ag)) => format!("{} 组坐席 {ag}", a.team),
            (Lang::En, _, _) => a.team.clone(),
            (Lang::Zh, _, _) => format!("{} 组", a.team),
        }
    }

    /// What was measured when the alert fired, and the joiner that goes after the subject.
    fn finding(&self, a: &Alert) -> (&'static str, String) {
        let pct = |x: f64| format!("{:.1}%", x * 100.0);
        match (self.lang, a.kind) {
            (Lang::En, AlertKind::AuxCluster) => {
                let k = a.agents.len();
                let head = match cluster_size(a) {
                    Some(n) => {
                        format!("{k} of {n} logged-in agents in unplanned aux at once at peak")
                    }
                    None => "agents in unplanned aux at once at peak".to_owned(),
                };
                let s = format!("{head} ({}, limit {}){}", pct(a.value), pct(a.threshold), self.agents(a));
                (": ", s)
            }
            (Lang::Zh, AlertKind::AuxCluster) => {
                let k = a.agents.len();
                let head = match cluster_size(a) {
                    Some(n) => format!("高峰期 {k}/{n} 名坐席同时处于非计划小休"),
                    None => "高峰期多名坐席同时处于非计划小休".to_owned(),
                };
                ("", format!("{head} ({}){}", pct(a.value), self.agents(a)))
            }
            (Lang::En, AlertKind::LongAux) => {
                (" ", format!("in unplanned aux for {} (limit {})", self.duration(a.value), self.duration(a.threshold)))
            }
            (Lang::Zh, AlertKind::LongAux) => {
                (" ", format!("连续非计划小休已达 {} (上限 {})", self.duration(a.value), self.duration(a.threshold)))
            }
            (Lang::En, AlertKind::OutOfAdherence) if no_show(a) => {
                (" ", format!("scheduled but not logged in for {}", self.duration(a.value)))
            }
            (Lang::Zh, AlertKind::OutOfAdherence) if no_show(a) => {
                (" ", format!("已排班但未登录已达 {}", self.duration(a.value)))
            }
            (Lang::En, AlertKind::OutOfAdherence) => {
                (" ", format!("out of adherence with the schedule for {}", self.duration(a.value)))
            }
            (Lang::Zh, AlertKind::OutOfAdherence) => (" ", format!("未按排班执行已达 {}", self.duration(a.value))),
            (Lang::En, AlertKind::AuxDispersion) => (
                ": ",
                format!(
                    "aux-rate CV across agents at peak is {:.2} (limit {:.2}), breaks are not under control",
                    a.value, a.threshold
                ),
            ),
            (Lang::Zh, AlertKind::AuxDispersion) => {
                ("", format!("高峰期坐席小休率变异系数 {:.2} (上限 {:.2})，小休失控", a.value, a.threshold))
            }
            (Lang::En, AlertKind::UtilizationHigh) => {
                (": ", format!("60-min talk utilization {} (limit {}), add staff", pct(a.value), pct(a.threshold)))
            }
            (Lang::Zh, AlertKind::UtilizationHigh) => {
                (" ", format!("60 分钟通话利用率 {} (上限 {})，需增派人手", pct(a.value), pct(a.threshold)))
            }
            (Lang::En, AlertKind::AhtOutOfControl) => (
                ": ",
                format!(
                    "{} AHT {:.0} s against control limit {:.0} s ({})",
                    a.interval.as_deref().unwrap_or(""),
                    a.value,
                    a.threshold,
                    aht_rules(a)
                ),
            ),
            (Lang::Zh, AlertKind::AhtOutOfControl) => (
                " ",
                format!(
                    "{} 平均处理时长 {:.0} 秒，控制限 {:.0} 秒 ({})",
                    a.interval.as_deref().map(|k| if k == "day" { "日" } else { k }).unwrap_or(""),
                    a.value,
                    a.threshold,
                    aht_rules(a)
                ),
            ),
            (Lang::En, AlertKind::LongWait) => {
                (": ", format!("caller waiting {}", crate::queue::fmt_wait((a.value * 1000.0) as i64)))
            }
            (Lang::Zh, AlertKind::LongWait) => {
                (" ", format!("有来电已等待 {}", crate::queue::fmt_wait((a.value * 1000.0) as i64)))
            }
            (Lang::En, AlertKind::ServiceLevelLow) => {
                (": ", format!("service level {} over 15 min (target {})", pct(a.value), pct(a.threshold)))
            }
            (Lang::Zh, AlertKind::ServiceLevelLow) => {
                (" ", format!("15 分钟服务水平 {} (目标 {})", pct(a.value), pct(a.threshold)))
            }
        }
    }

    /// `: A1, A2, A3` (or `：` in Chinese), the first 20 agents then a count.
    fn agents(&self, a: &Alert) -> String {
        if a.agents.is_empty() {
            return String::new();
        }
        let shown = a.agents.iter().take(MAX_AGENTS_LISTED).cloned().collect::<Vec<_>>().join(", ");
        let more = a.agents.len().saturating_sub(MAX_AGENTS_LISTED);
        match (self.lang, more) {
            (Lang::En, 0) => format!(": {shown}"),
            (Lang::En, m) => format!(": {shown} and {m} more"),
            (Lang::Zh, 0) => format!("：{shown}"),
            (Lang::Zh, _) => format!("：{shown} 等 {} 人", a.agents.len()),
        }
    }

    /// The bracketed label that starts a line: `[Aux clustering]`, `【已恢复·坐席扎堆小休】`.
    pub fn label(&self, a: &Alert) -> String {
        let t = self.kind_title(a.kind);
        match (self.lang, a.state) {
            _ if a.retracted => match self.lang {
                Lang::En => format!("[Retracted: {t}]"),
                Lang::Zh => format!("【撤回·{t}】"),
            },
            (Lang::En, AlertState::Firing) => format!("[{t}]"),
            (Lang::En, AlertState::Resolved) => format!("[Resolved: {t}]"),
            (Lang::Zh, AlertState::Firing) => format!("【{t}】"),
            (Lang::Zh, AlertState::Resolved) => format!("【已恢复·{t}】"),
        }
    }

    /// The alert in one sentence, without the label.
    pub fn sentence(&self, a: &Alert) -> String {
        let subject = self.subject(a);
        let (joiner, finding) = self.finding(a);
        if a.retracted {
            // Late events showed it did not happen as told; a corrected one may follow. An
            // `out_of_adherence` alert is also taken back by a new roster (a cancelled
            // shift, a changed break), which the words must not blame on late events.
            let clock = self.clock(a.fired_at);
            return match (self.lang, a.kind) {
                (Lang::En, AlertKind::OutOfAdherence) => format!(
                    "{subject}: disregard the alert fired at {clock} (the schedule or events that arrived late show it did not happen so)"
                ),
                (Lang::Zh, AlertKind::OutOfAdherence) => {
                    format!("{subject}：请忽略 {clock} 触发的告警（排班变更或迟到的事件表明情况并非如此）")
                }
                (Lang::En, _) => format!(
                    "{subject}: disregard the alert fired at {clock} (events that arrived late show it did not happen so)"
                ),
                (Lang::Zh, _) => format!("{subject}：请忽略 {clock} 触发的告警（迟到的事件表明情况并非如此）"),
            };
        }
        match (self.lang, a.state, a.resolved_at) {
            (_, AlertState::Firing, _) | (_, _, None) => format!("{subject}{joiner}{finding}"),
            // A no-show's ends where the schedule stops asking for work (its shift's end, a
            // break) or where the agent, logged in after the fire, is in adherence: the
            // alert stays in `unassigned`, the team it fired in (SPEC §9.3).
            (Lang::En, AlertState::Resolved, Some(r)) if no_show(a) => format!(
                "{subject} missed {} of scheduled work (not logged in when this fired)",
                self.duration_ms(r - a.started_at)
            ),
            (Lang::Zh, AlertState::Resolved, Some(r)) if no_show(a) => {
                format!(
                    "{subject} 在排班时段内偏离排班 {}（告警时尚未登录），告警结束",
                    self.duration_ms(r - a.started_at)
                )
            }
            (Lang::En, AlertState::Resolved, Some(r)) => {
                format!("{subject} back to normal after {} (when fired: {finding})", self.duration_ms(r - a.started_at))
            }
            (Lang::Zh, AlertState::Resolved, Some(r)) => {
                format!("{subject}已恢复正常，持续 {}（触发时：{finding}）", self.duration_ms(r - a.started_at))
            }
        }
    }

    /// Label and sentence: `【坐席扎堆小休】T07 组高峰期 4/12 名坐席同时处于非计划小休 (33.3%)：A1, …`
    pub fn line(&self, a: &Alert) -> String {
        let sep = if self.lang == Lang::En { " " } else { "" };
        format!("{}{sep}{}", self.label(a), self.sentence(a))
    }

    /// A short title for a card holding one alert: `🔴 Aux clustering · T07`.
    pub fn title(&self, a: &Alert) -> String {
        let t = self.kind_title(a.kind);
        let who = self.subject(a);
        match (self.lang, a.state) {
            _ if a.retracted => match self.lang {
                Lang::En => format!("↩️ Retracted: {t} · {who}"),
                Lang::Zh => format!("↩️ 撤回：{t} · {who}"),
            },
            (_, AlertState::Firing) => format!("{} {t} · {who}", icon(a)),
            (Lang::En, AlertState::Resolved) => format!("{} Resolved: {t} · {who}", icon(a)),
            (Lang::Zh, AlertState::Resolved) => format!("{} 已恢复：{t} · {who}", icon(a)),
        }
    }

    /// Severity and times: `critical · fired 09:31` / `严重 · 09:31 触发 · 09:43 恢复`.
    pub fn meta(&self, a: &Alert) -> String {
        let sev = self.severity(a.severity);
        let fired = self.clock(a.fired_at);
        match (self.lang, a.resolved_at) {
            (Lang::En, None) => format!("{sev} · fired {fired}"),
            (Lang::En, Some(r)) => format!("{sev} · fired {fired} · resolved {}", self.clock(r)),
            (Lang::Zh, None) => format!("{sev} · {fired} 触发"),
            (Lang::Zh, Some(r)) => format!("{sev} · {fired} 触发 · {} 恢复", self.clock(r)),
        }
    }

    /// Heading of a digest: `floorwatch: 5 alerts (4 firing, 1 resolved)`.
    pub fn digest_title(&self, alerts: &[&Alert]) -> String {
        let n = alerts.len();
        let resolved = alerts.iter().filter(|a| a.state == AlertState::Resolved).count();
        let firing = n - resolved;
        match self.lang {
            Lang::En => format!("floorwatch: {n} alerts ({firing} firing, {resolved} resolved)"),
            Lang::Zh => format!("floorwatch：{n} 条告警（{firing} 条触发，{resolved} 条恢复）"),
        }
    }

    pub fn wallboard_link_text(&self) -> &'static str {
        match self.lang {
            Lang::En => "Open wallboard",
            Lang::Zh => "打开大屏",
        }
    }

    /// `HH:MM` in the hook's time zone; in the hour a fall-back repeats, with its UTC offset
    /// (`01:32 UTC-04`, then `01:11 UTC-05`), so that two such times read in their order.
    pub fn clock(&self, ms: Ms) -> String {
        let Ok(ts) = jiff::Timestamp::from_millisecond(ms) else { return ms.to_string() };
        let z = ts.to_zoned(self.tz.clone());
        let hm = z.strftime("%H:%M").to_string();
        if !self.tz.to_ambiguous_zoned(z.datetime()).is_ambiguous() {
            return hm;
        }
        let secs = z.offset().seconds();
        let (sign, abs) = (if secs < 0 { '-' } else { '+' }, secs.unsigned_abs());
        match abs % 3600 / 60 {
            0 => format!("{hm} UTC{sign}{:02}", abs / 3600),
            m => format!("{hm} UTC{sign}{:02}:{m:02}", abs / 3600),
        }
    }

    fn duration_ms(&self, ms: Ms) -> String {
        self.duration(ms.max(0) as f64 / 1000.0)
    }

    /// `45 s`, `10 min`, `10 min 30 s`, `1 h 5 min` (and the same in Chinese).
    pub fn duration(&self, secs: f64) -> String {
        let s = if secs.is_finite() && secs > 0.0 { secs.round() as u64 } else { 0 };
        let (h, m, s) = (s / 3600, s % 3600 / 60, s % 60);
        match (self.lang, h, m, s) {
            (Lang::En, 0, 0, s) => format!("{s} s"),
            (Lang::En, 0, m, 0) => format!("{m} min"),
            (Lang::En, 0, m, s) => format!("{m} min {s} s"),
            (Lang::En, h, m, _) => format!("{h} h {m} min"),
            (Lang::Zh, 0, 0, s) => format!("{s} 秒"),
            (Lang::Zh, 0, m, 0) => format!("{m} 分钟"),
            (Lang::Zh, 0, m, s) => format!("{m} 分 {s} 秒"),
            (Lang::Zh, h, m, _) => format!("{h} 小时 {m} 分钟"),
        }
    }
}

/// N for an `aux_cluster` alert: `value` is k/N with k = the agents listed, so N is
/// recovered when that division comes out whole.
fn cluster_size(a: &Alert) -> Option<u64> {
    let k = a.agents.len() as f64;
    if k == 0.0 || a.value.is_nan() || a.value <= 0.0 {
        return None;
    }
    let n = k / a.value;
    (n.is_finite() && (n - n.round()).abs() < 0.01 && n.round() >= k).then(|| n.round() as u64)
}

/// An `out_of_adherence` alert of a scheduled agent never seen (team `unassigned`).
fn no_show(a: &Alert) -> bool {
    a.kind == AlertKind::OutOfAdherence && a.team == crate::engine::UNASSIGNED
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a fall-back night the repeated hour's times carry their offset; other times not.
    #[test]
    fn times_in_a_repeated_hour_carry_their_offset() {
        let tz = jiff::tz::TimeZone::get("America/New_York").unwrap();
        let r = Renderer { lang: Lang::En, tz: &tz };
        let at = |s: &str| crate::time::parse_instant(s).unwrap();
        assert_eq!(r.clock(at("2026-11-01T05:32:00Z")), "01:32 UTC-04");
        assert_eq!(r.clock(at("2026-11-01T06:11:00Z")), "01:11 UTC-05");
        assert_eq!(r.clock(at("2026-11-01T07:30:00Z")), "02:30");
        assert_eq!(r.clock(at("2026-11-23T14:05:00Z")), "09:05");
        let tz = jiff::tz::TimeZone::get("Australia/Lord_Howe").unwrap();
        let r = Renderer { lang: Lang::Zh, tz: &tz };
        // 02:00 back to 01:30 (+11 to +10:30) on 2026-04-05.
        assert_eq!(r.clock(at("2026-04-04T14:40:00Z")), "01:40 UTC+11");
        assert_eq!(r.clock(at("2026-04-04T15:10:00Z")), "01:40 UTC+10:30");
    }

    fn alert(kind: AlertKind, agents: &[&str], value: f64, threshold: f64) -> Alert {
        let started_at = 1_795_425_000_000; // 2026-11-23T09:10:00Z
        Alert {
            id: Alert::make_id(kind, "T07", None, started_at),
            kind,
            team: "T07".into(),
            queue: None,
            agent: (kind == AlertKind::LongAux).then(|| agents[0].to_string()),
            severity: kind.severity(),
            state: AlertState::Firing,
            started_at,
            fired_at: started_at + 60_000,
            resolved_at: None,
            value,
            threshold,
            message: String::new(),
            agents: agents.iter().map(|s| s.to_string()).collect(),
            interval: None,
            retracted: false,
        }
    }

    fn check(lang: Lang, a: &Alert, expected: &str) {
        let tz = TimeZone::get("Asia/Shanghai").unwrap();
        assert_eq!(Renderer { lang, tz: &tz }.line(a), expected);
    }

    #[test]
    fn lines_in_both_languages() {
        use AlertKind::*;
        let cluster = alert(AuxCluster, &["A1", "A2", "A3", "A4"], 4.0 / 12.0, 1.0 / 6.0);
        check(Lang::Zh, &cluster, "【坐席扎堆小休】T07 组高峰期 4/12 名坐席同时处于非计划小休 (33.3%)：A1, A2, A3, A4");
        check(
            Lang::En,
            &cluster,
            "[Aux clustering] T07: 4 of 12 logged-in agents in unplanned aux at once at peak (33.3%, limit 16.7%): A1, A2, A3, A4",
        );
        let long = alert(LongAux, &["A0123"], 630.0, 600.0);
        check(Lang::En, &long, "[Long aux] A0123 (T07) in unplanned aux for 10 min 30 s (limit 10 min)");
        check(Lang::Zh, &long, "【小休超时】T07 组坐席 A0123 连续非计划小休已达 10 分 30 秒 (上限 10 分钟)");
        let disp = alert(AuxDispersion, &[], 0.234, 0.16);
        check(
            Lang::En,
            &disp,
            "[Aux dispersion] T07: aux-rate CV across agents at peak is 0.23 (limit 0.16), breaks are not under control",
        );
        check(Lang::Zh, &disp, "【小休离散度过高】T07 组高峰期坐席小休率变异系数 0.23 (上限 0.16)，小休失控");
        let util = alert(UtilizationHigh, &[], 0.78, 0.74);
        check(Lang::En, &util, "[High utilization] T07: 60-min talk utilization 78.0% (limit 74.0%), add staff");
        check(Lang::Zh, &util, "【通话利用率过高】T07 组 60 分钟通话利用率 78.0% (上限 74.0%)，需增派人手");

        let mut resolved = cluster.clone();
        resolved.state = AlertState::Resolved;
        resolved.resolved_at = Some(resolved.started_at + 12 * 60_000);
        check(
            Lang::Zh,
            &resolved,
            "【已恢复·坐席扎堆小休】T07 组已恢复正常，持续 12 分钟（触发时：高峰期 4/12 名坐席同时处于非计划小休 (33.3%)：A1, A2, A3, A4）",
        );
        check(
            Lang::En,
            &resolved,
            "[Resolved: Aux clustering] T07 back to normal after 12 min (when fired: 4 of 12 logged-in agents in unplanned aux at once at peak (33.3%, limit 16.7%): A1, A2, A3, A4)",
        );
    }

    #[test]
    fn retractions_say_to_disregard_the_alert() {
        let mut a = alert(AlertKind::AuxCluster, &["A1", "A2", "A3"], 3.0 / 12.0, 1.0 / 6.0);
        a.retracted = true;
        check(
            Lang::En,
            &a,
            "[Retracted: Aux clustering] T07: disregard the alert fired at 17:11 (events that arrived late show it did not happen so)",
        );
        check(Lang::Zh, &a, "【撤回·坐席扎堆小休】T07 组：请忽略 17:11 触发的告警（迟到的事件表明情况并非如此）");
    }

    /// A no-show's alert says the agent has not logged in, and names its team as the board
    /// does; an agent on the floor's says out of adherence.
    #[test]
    fn a_no_shows_alert_says_it_never_logged_in() {
        let mut a = alert(AlertKind::OutOfAdherence, &["A3"], 300.0, 300.0);
        a.agent = Some("A3".into());
        check(Lang::En, &a, "[Out of adherence] A3 (T07) out of adherence with the schedule for 5 min");
        a.team = "unassigned".into();
        check(Lang::En, &a, "[Out of adherence] A3 (unassigned) scheduled but not logged in for 5 min");
        check(Lang::Zh, &a, "【未按排班执行】未分组坐席 A3 已排班但未登录已达 5 分钟");
        a.state = AlertState::Resolved;
        a.resolved_at = Some(a.started_at + 8 * 3_600_000);
        check(
            Lang::En,
            &a,
            "[Resolved: Out of adherence] A3 (unassigned) missed 8 h 0 min of scheduled work (not logged in when this fired)",
        );
        check(
            Lang::Zh,
            &a,
            "【已恢复·未按排班执行】未分组坐席 A3 在排班时段内偏离排班 8 小时 0 分钟（告警时尚未登录），告警结束",
        );
        // Taken back (a day off uploaded, say): not blamed on late events alone.
        a.retracted = true;
        let tz = TimeZone::UTC;
        let en = Renderer { lang: Lang::En, tz: &tz }.line(&a);
        assert!(en.ends_with("(the schedule or events that arrived late show it did not happen so)"), "{en}");
        let zh = Renderer { lang: Lang::Zh, tz: &tz }.line(&a);
        assert!(zh.ends_with("（排班变更或迟到的事件表明情况并非如此）"), "{zh}");
    }

    #[test]
    fn long_agent_lists_are_cut() {
        let names: Vec<String> = (1..=25).map(|i| format!("A{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let a = alert(AlertKind::AuxCluster, &refs, 25.0 / 100.0, 1.0 / 6.0);
        let tz = TimeZone::UTC;
        let en = Renderer { lang: Lang::En, tz: &tz }.line(&a);
        assert!(en.ends_with("A19, A20 and 5 more"), "{en}");
        assert!(en.contains("25 of 100"), "{en}");
        let zh = Renderer { lang: Lang::Zh, tz: &tz }.line(&a);
        assert!(zh.ends_with("A20 等 25 人"), "{zh}");
    }

    #[test]
    fn meta_uses_the_time_zone() {
        let a = alert(AlertKind::AuxCluster, &["A1"], 1.0 / 6.0, 1.0 / 6.0);
        let tz = TimeZone::get("Asia/Shanghai").unwrap();
        assert_eq!(Renderer { lang: Lang::En, tz: &tz }.meta(&a), "critical · fired 17:11");
        assert_eq!(Renderer { lang: Lang::Zh, tz: &tz }.meta(&a), "严重 · 17:11 触发");
    }
}
