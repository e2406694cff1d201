//! What goes on the wire for each kind of hook. Pure: the caller passes `now`.
//!
//! [`build`] turns the front of a hook's queue into one message (one alert for `webhook`,
//! a batch for `alertmanager`, a digest for chat robots, cut to what the platform accepts)
//! and says how many alerts it took. [`finish`] signs it for one attempt: signatures carry
//! a timestamp, so every retry is signed afresh while the content stays the same.

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::{Value, json};

use super::config::{HookKind, HookSpec, SigningKey};
use super::render::{Renderer, icon};
use super::sign;
use crate::alert::{Alert, AlertState, Severity};
use crate::time::{Ms, fmt_ms};

/// One message, built once and sent by one or more attempts.
pub struct Message {
    pub body: Body,
    /// Alerts from the front of the batch that this message carries.
    pub alerts: usize,
    /// `webhook-id` (Standard Webhooks): the alert id and state.
    pub msg_id: String,
}

pub enum Body {
    /// Signed byte for byte, so kept exactly as serialized.
    Raw(Vec<u8>),
    /// Feishu puts its signature inside the body, so it is completed per attempt.
    Json(Value),
}

/// One attempt's request.
pub struct HttpRequest {
    pub url: reqwest::Url,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// Platform limits, kept well inside the documented ones: Slack 50 blocks and 3000
/// characters a section, WeCom 4096 bytes of markdown, Feishu 20 KB a request, Teams about
/// 28 KB a card, DingTalk a few KB of markdown before it truncates.
struct Limits {
    max_alerts: usize,
    budget_bytes: usize,
}

fn limits(kind: HookKind) -> Limits {
    let (max_alerts, budget_bytes) = match kind {
        HookKind::Webhook => (1, usize::MAX),
        HookKind::Alertmanager => (256, usize::MAX),
        HookKind::Slack => (40, 30_000),
        HookKind::Teams => (40, 20_000),
        HookKind::DingTalk => (40, 8_000),
        HookKind::WeCom => (40, 3_500),
        HookKind::Feishu => (40, 15_000),
    };
    Limits { max_alerts, budget_bytes }
}

/// The most alerts one message can carry; the worker takes at most this many from the queue.
pub fn max_batch(kind: HookKind) -> usize {
    limits(kind).max_alerts
}

/// Builds a message from the front of `alerts` (not empty). Takes at least one alert.
pub fn build(spec: &HookSpec, alerts: &[Arc<Alert>], now_ms: Ms) -> Message {
    assert!(!alerts.is_empty(), "build needs an alert");
    let first = &alerts[0];
    let msg_id = match first.retracted {
        true => format!("{}:retracted:{}", first.id, first.resolved_at.unwrap_or(first.fired_at)),
        false => format!("{}:{}", first.id, state_str(first.state)),
    };
    let r = Renderer { lang: spec.lang, tz: &spec.tz };
    match spec.kind {
        HookKind::Webhook => {
            let body = serde_json::to_vec(&**first).expect("an alert always serializes");
            Message { body: Body::Raw(body), alerts: 1, msg_id }
        }
        HookKind::Alertmanager => {
            let n = alertmanager_batch_len(alerts);
            let items: Vec<Value> = alerts[..n].iter().map(|a| alertmanager_alert(spec, &r, a, now_ms)).collect();
            Message { body: Body::Raw(to_vec(&Value::Array(items))), alerts: n, msg_id }
        }
        kind => {
            let limits = limits(kind);
            let take = alerts.len().min(limits.max_alerts);
            // Slack escapes its control characters itself; the markdown platforms get the
            // ids as plain text (`defanged`).
            let shown: Vec<Cow<Alert>> = alerts[..take]
                .iter()
                .map(|a| if kind == HookKind::Slack { Cow::Borrowed(&**a) } else { Cow::Owned(defanged(a)) })
                .collect();
            let entries: Vec<String> = shown.iter().map(|a| digest_entry(kind, &r, a)).collect();
            let entries = fit(entries, limits.budget_bytes);
            let batch: Vec<&Alert> = shown[..entries.len()].iter().map(|a| &**a).collect();
            let body = match kind {
                HookKind::Slack => slack(spec, &r, &batch, &entries),
                HookKind::Teams => teams(spec, &r, &batch, &entries),
                HookKind::DingTalk => dingtalk(spec, &r, &batch, &entries),
                HookKind::WeCom => wecom(spec, &r, &batch, &entries),
                HookKind::Feishu => feishu(spec, &r, &batch, &entries),
                HookKind::Webhook | HookKind::Alertmanager => unreachable!("handled above"),
            };
            let body = if kind == HookKind::Feishu { Body::Json(body) } else { Body::Raw(to_vec(&body)) };
            Message { body, alerts: batch.len(), msg_id }
        }
    }
}

/// Signs `msg` for an attempt made at `now_ms`.
pub fn finish(spec: &HookSpec, msg: &Message, now_ms: Ms) -> HttpRequest {
    let mut url = spec.url.clone();
    let mut headers = vec![("content-type", "application/json".to_owned())];
    let body = match (&msg.body, spec.kind, &spec.key) {
        (Body::Raw(bytes), HookKind::Webhook, key) => {
            let ts = now_ms.div_euclid(1000);
            headers.push(("webhook-id", msg.msg_id.clone()));
            headers.push(("webhook-timestamp", ts.to_string()));
            if let Some(SigningKey::Bytes(k)) = key {
                headers.push(("webhook-signature", sign::standard_webhooks(k, &msg.msg_id, ts, bytes)));
            }
            bytes.clone()
        }
        (Body::Raw(bytes), HookKind::DingTalk, Some(SigningKey::Text(secret))) => {
            let sig = sign::dingtalk(secret.expose(), now_ms);
            url.query_pairs_mut().append_pair("timestamp", &now_ms.to_string()).append_pair("sign", &sig);
            bytes.clone()
        }
        (Body::Json(v), HookKind::Feishu, key) => {
            let mut v = v.clone();
            if let (Some(SigningKey::Text(secret)), Value::Object(m)) = (key, &mut v) {
                let ts = now_ms.div_euclid(1000);
                m.insert("timestamp".into(), Value::String(ts.to_string()));
                m.insert("sign".into(), Value::String(sign::feishu(secret.expose(), ts)));
            }
            to_vec(&v)
        }
        (Body::Raw(bytes), _, _) => bytes.clone(),
        (Body::Json(v), _, _) => to_vec(v),
    };
    HttpRequest { url, headers, body }
}

fn to_vec(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("a JSON value always serializes")
}

fn state_str(s: AlertState) -> &'static str {
    match s {
        AlertState::Firing => "firing",
        AlertState::Resolved => "resolved",
    }
}

/// Takes entries while their total stays within `budget` bytes; always at least one, cut
/// to the budget if it alone is too long.
fn fit(mut entries: Vec<String>, budget: usize) -> Vec<String> {
    let mut used = 0;
    let mut n = 0;
    for e in &entries {
        if n > 0 && used + e.len() > budget {
            break;
        }
        used += e.len();
        n += 1;
    }
    entries.truncate(n.max(1));
    if entries[0].len() > budget {
        entries[0] = cut(&entries[0], budget);
    }
    entries
}

/// At most `max_bytes` bytes of `s`, cut at a character boundary and marked with `…`.
fn cut(s: &str, max_bytes: usize) -> String {
    if s.len() <= max_bytes {
        return s.to_owned();
    }
    let mut end = max_bytes.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Slack mrkdwn treats `&`, `<` and `>` as control characters.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// [`cut`] of Slack-escaped text that does not end inside an entity (`&l…`).
fn cut_escaped(s: &str, max_bytes: usize) -> String {
    let c = cut(s, max_bytes);
    if c.len() < s.len()
        && let Some(amp) = c.rfind('&')
        && !c[amp..].contains(';')
    {
        return format!("{}…", &c[..amp]);
    }
    c
}

/// An id as plain text in the markdown of Teams, DingTalk, WeCom and Feishu, whose
/// documented escapes differ or do not exist: the characters that make tags and mentions
/// (`<at id=all></at>` in Feishu, `<@userid>` and `<font>` in WeCom), links and images
/// (`[text](url)`, `![](url)`), entities (`&lt;`), emphasis and headings are shown as their
/// full-width or angle-quote look-alikes, so an agent, team or queue id reads as written and
/// does nothing. Ids without them (nearly all) are untouched.
fn defang(s: &str) -> Cow<'_, str> {
    const MARKUP: &[char] = &['<', '>', '[', ']', '&', '*', '`', '#', '|', '\\'];
    if !s.contains(MARKUP) {
        return Cow::Borrowed(s);
    }
    let swap = |c: char| match c {
        '<' => '‹',
        '>' => '›',
        '[' => '［',
        ']' => '］',
        '&' => '＆',
        '*' => '∗',
        '`' => 'ˋ',
        '#' => '＃',
        '|' => '｜',
        '\\' => '＼',
        c => c,
    };
    Cow::Owned(s.chars().map(swap).collect())
}

/// A copy of `a` whose ids (agent, agents, team, queue) are [`defang`]ed.
fn defanged(a: &Alert) -> Alert {
    let d = |s: &str| defang(s).into_owned();
    Alert {
        team: d(&a.team),
        queue: a.queue.as_deref().map(d),
        agent: a.agent.as_deref().map(d),
        agents: a.agents.iter().map(|x| d(x)).collect(),
        ..a.clone()
    }
}

/// One alert's line inside a digest, in the platform's markup.
fn digest_entry(kind: HookKind, r: &Renderer, a: &Alert) -> String {
    let (label, sentence, meta) = (r.label(a), r.sentence(a), r.meta(a));
    match kind {
        HookKind::Slack => cut_escaped(
            &format!("{} *{}* {}\n_{}_", icon(a), slack_escape(&label), slack_escape(&sentence), slack_escape(&meta)),
            2_900,
        ),
        HookKind::Teams => format!("{} **{label}** {sentence} · {meta}", icon(a)),
        HookKind::DingTalk => format!("- {} **{label}** {sentence} · {meta}\n", icon(a)),
        HookKind::WeCom => {
            format!("{} **{label}** {sentence} <font color=\"comment\">{meta}</font>\n", icon(a))
        }
        HookKind::Feishu => format!("{} **{label}** {sentence} · {meta}\n", icon(a)),
        HookKind::Webhook | HookKind::Alertmanager => String::new(),
    }
}

/// The sentence of a message that holds one alert, cut to fit every platform (WeCom's
/// 4096 bytes being the tightest) even with long team or agent ids.
fn single(r: &Renderer, a: &Alert) -> String {
    cut(&r.sentence(a), 3_000)
}

/// Highest severity among firing alerts, or `None` when all are resolves.
fn worst(batch: &[&Alert]) -> Option<Severity> {
    batch.iter().filter(|a| a.state == AlertState::Firing).map(|a| a.severity).max()
}

fn heading(r: &Renderer, batch: &[&Alert]) -> String {
    let h = if batch.len() == 1 { r.title(batch[0]) } else { r.digest_title(batch) };
    cut(&h, 256)
}

fn slack(spec: &HookSpec, r: &Renderer, batch: &[&Alert], entries: &[String]) -> Value {
    let head = heading(r, batch);
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": cut(&head, 140), "emoji": true},
    })];
    let mut footer = "floorwatch".to_owned();
    if batch.len() == 1 {
        let a = batch[0];
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": cut_escaped(&slack_escape(&r.sentence(a)), 2_900), "verbatim": true},
        }));
        footer = format!("{} · {footer}", slack_escape(&r.meta(a)));
    } else {
        for e in entries {
            blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": e, "verbatim": true}}));
        }
    }
    if let Some(w) = &spec.wallboard_url {
        footer = format!("{footer} · <{w}|{}>", r.wallboard_link_text());
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": footer, "verbatim": true}]}));
    // `text` is what notifications and old clients show: the heading and one line per alert.
    let lines: Vec<String> = batch.iter().map(|a| slack_escape(&r.line(a))).collect();
    let text =
        if batch.len() == 1 { lines[0].clone() } else { format!("{}\n{}", slack_escape(&head), lines.join("\n")) };
    json!({"text": cut_escaped(&text, 3_000), "blocks": blocks})
}

fn teams(spec: &HookSpec, r: &Renderer, batch: &[&Alert], entries: &[String]) -> Value {
    let color = match worst(batch) {
        Some(Severity::Critical) => "Attention",
        Some(Severity::Warning) => "Warning",
        Some(Severity::Info) => "Accent",
        None => "Good",
    };
    let mut body = vec![json!({
        "type": "TextBlock", "text": heading(r, batch), "size": "Medium", "weight": "Bolder",
        "color": color, "wrap": true,
    })];
    if batch.len() == 1 {
        let a = batch[0];
        body.push(json!({"type": "TextBlock", "text": single(r, a), "wrap": true}));
        body.push(json!({
            "type": "TextBlock", "text": format!("{} · floorwatch", r.meta(a)),
            "isSubtle": true, "size": "Small", "wrap": true,
        }));
    } else {
        for e in entries {
            body.push(json!({"type": "TextBlock", "text": e, "wrap": true, "separator": true}));
        }
    }
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "msteams": {"width": "Full"},
    });
    if let Some(w) = &spec.wallboard_url {
        card["actions"] = json!([{"type": "Action.OpenUrl", "title": r.wallboard_link_text(), "url": w}]);
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    })
}

fn link_md(spec: &HookSpec, r: &Renderer) -> String {
    match &spec.wallboard_url {
        Some(w) => format!(" · [{}]({w})", r.wallboard_link_text()),
        None => String::new(),
    }
}

fn dingtalk(spec: &HookSpec, r: &Renderer, batch: &[&Alert], entries: &[String]) -> Value {
    let head = heading(r, batch);
    let text = if batch.len() == 1 {
        let a = batch[0];
        format!("### {head}\n\n{}\n\n> {} · floorwatch{}", single(r, a), r.meta(a), link_md(spec, r))
    } else {
        format!("### {head}\n\n{}\n> floorwatch{}", entries.concat(), link_md(spec, r))
    };
    // `title` is what the conversation list and notifications show.
    json!({"msgtype": "markdown", "markdown": {"title": head, "text": text}})
}

fn wecom(spec: &HookSpec, r: &Renderer, batch: &[&Alert], entries: &[String]) -> Value {
    let head = heading(r, batch);
    let content = if batch.len() == 1 {
        let a = batch[0];
        format!(
            "**{head}**\n{}\n<font color=\"comment\">{} · floorwatch</font>{}",
            single(r, a),
            r.meta(a),
            link_md(spec, r)
        )
    } else {
        format!("**{head}**\n{}<font color=\"comment\">floorwatch</font>{}", entries.concat(), link_md(spec, r))
    };
    json!({"msgtype": "markdown", "markdown": {"content": content}})
}

fn feishu(spec: &HookSpec, r: &Renderer, batch: &[&Alert], entries: &[String]) -> Value {
    let template = match worst(batch) {
        Some(Severity::Critical) => "red",
        Some(Severity::Warning) => "orange",
        Some(Severity::Info) => "blue",
        None => "green",
    };
    let (content, note) = if batch.len() == 1 {
        let a = batch[0];
        (single(r, a), format!("{} · floorwatch", r.meta(a)))
    } else {
        (entries.concat(), "floorwatch".to_owned())
    };
    let mut elements = vec![
        json!({"tag": "markdown", "content": content}),
        json!({"tag": "note", "elements": [{"tag": "plain_text", "content": note}]}),
    ];
    if let Some(w) = &spec.wallboard_url {
        elements.push(json!({
            "tag": "action",
            "actions": [{
                "tag": "button", "type": "default", "url": w,
                "text": {"tag": "plain_text", "content": r.wallboard_link_text()},
            }],
        }));
    }
    json!({
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": true},
            "header": {"title": {"tag": "plain_text", "content": heading(r, batch)}, "template": template},
            "elements": elements,
        },
    })
}

/// Alerts for one Alertmanager request: up to the limit, stopping before an id repeats
/// (a firing and its resolve go in separate requests, in order).
fn alertmanager_batch_len(alerts: &[Arc<Alert>]) -> usize {
    let mut seen = std::collections::HashSet::new();
    alerts.iter().take(limits(HookKind::Alertmanager).max_alerts).take_while(|a| seen.insert(a.id.as_str())).count()
}

/// A postable alert (Alertmanager API v2). A firing alert gets `endsAt` a few resend
/// intervals ahead when keep-alives are on, as Prometheus does; a resolve gets
/// `endsAt` = `resolved_at`.
pub fn alertmanager_alert(spec: &HookSpec, r: &Renderer, a: &Alert, now_ms: Ms) -> Value {
    let mut labels = serde_json::Map::new();
    labels.insert("alertname".into(), a.kind.as_str().into());
    match &a.queue {
        Some(q) => labels.insert("queue".into(), q.clone().into()),
        None => labels.insert("team".into(), a.team.clone().into()),
    };
    labels.insert("severity".into(), a.severity.as_str().into());
    if let Some(agent) = &a.agent {
        labels.insert("agent".into(), agent.clone().into());
    }
    labels.insert("alert_id".into(), a.id.clone().into());
    let mut v = json!({
        "labels": labels,
        "annotations": {
            "summary": r.title(a),
            "description": r.sentence(a),
            "value": a.value.to_string(),
            "threshold": a.threshold.to_string(),
            "agents": a.agents.join(", "),
        },
        "startsAt": fmt_ms(a.fired_at),
    });
    let ends_at = match (a.state, a.resolved_at, spec.resend_interval) {
        // Taken back: Alertmanager resolves it now (its description says why).
        _ if a.retracted => Some(now_ms),
        (AlertState::Resolved, Some(r), _) => Some(r),
        // A resolve without a time: resolved as of now.
        (AlertState::Resolved, None, _) => Some(now_ms),
        (AlertState::Firing, _, Some(every)) => Some(now_ms + 4 * every.as_millis() as Ms),
        (AlertState::Firing, _, None) => None,
    };
    if let Some(e) = ends_at {
        v["endsAt"] = fmt_ms(e).into();
    }
    if let Some(w) = &spec.wallboard_url {
        v["generatorURL"] = w.clone().into();
    }
    v
}

/// One request re-posting `alerts` (all firing) as a keep-alive.
pub fn alertmanager_refresh(spec: &HookSpec, alerts: &[&Alert], now_ms: Ms) -> HttpRequest {
    let r = Renderer { lang: spec.lang, tz: &spec.tz };
    let items: Vec<Value> = alerts.iter().map(|a| alertmanager_alert(spec, &r, a, now_ms)).collect();
    HttpRequest {
        url: spec.url.clone(),
        headers: vec![("content-type", "application/json".to_owned())],
        body: to_vec(&Value::Array(items)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: &str) -> HookSpec {
        let cfg = super::super::HookConfig {
            kind: kind.into(),
            url: "https://robot.invalid/send?key=k".into(),
            wallboard_url: Some("https://wallboard.invalid/".into()),
            ..Default::default()
        };
        super::super::config::resolve_all(&[cfg], std::path::Path::new(".")).unwrap().remove(0)
    }

    fn big_alert(i: usize, id_len: usize) -> Arc<Alert> {
        let long = |p: &str| format!("{p}{i}-{}", "x".repeat(id_len));
        let agents: Vec<String> = (0..30).map(|j| long(&format!("A{j}-"))).collect();
        Arc::new(Alert {
            id: format!("aux_cluster:{}:{i}", long("T")),
            kind: crate::alert::AlertKind::AuxCluster,
            team: long("T"),
            queue: None,
            agent: None,
            severity: Severity::Critical,
            state: AlertState::Firing,
            started_at: 0,
            fired_at: 60_000,
            resolved_at: None,
            value: 0.5,
            threshold: 1.0 / 6.0,
            message: String::new(),
            agents,
            interval: None,
            retracted: false,
        })
    }

    #[test]
    fn robot_messages_stay_within_platform_limits() {
        // (kind, JSON pointer of the text, limit in bytes)
        let cases =
            [("wecom", "/markdown/content", 4_096), ("dingtalk", "/markdown/text", 10_000), ("slack", "/text", 4_000)];
        for (kind, pointer, limit) in cases {
            let spec = spec(kind);
            for id_len in [1, 60, 5_000] {
                let alerts: Vec<_> = (0..100).map(|i| big_alert(i, id_len)).collect();
                let msg = build(&spec, &alerts, 0);
                assert!(msg.alerts >= 1 && msg.alerts <= 40, "{kind}: {} alerts", msg.alerts);
                let Body::Raw(bytes) = &msg.body else { panic!("{kind}: raw body") };
                let v: Value = serde_json::from_slice(bytes).unwrap();
                let text = v.pointer(pointer).unwrap().as_str().unwrap();
                assert!(text.len() <= limit, "{kind} id_len {id_len}: {} bytes", text.len());
                let single = build(&spec, &alerts[..1], 0);
                let Body::Raw(bytes) = &single.body else { panic!("{kind}: raw body") };
                let v: Value = serde_json::from_slice(bytes).unwrap();
                let text = v.pointer(pointer).unwrap().as_str().unwrap();
                assert!(text.len() <= limit, "{kind} single, id_len {id_len}: {} bytes", text.len());
            }
        }
        let spec = spec("slack");
        let alerts: Vec<_> = (0..100).map(|i| big_alert(i, 1)).collect();
        let msg = build(&spec, &alerts, 0);
        let Body::Raw(bytes) = &msg.body else { panic!("raw body") };
        let v: Value = serde_json::from_slice(bytes).unwrap();
        assert!(v["blocks"].as_array().unwrap().len() <= 50, "Slack allows 50 blocks");
    }

    /// The helper's audit: ids holding a chat platform's markup posted it verbatim (an
    /// agent `<at id=all></at>` made Feishu @mention everyone; `<@zhangsan>` a WeCom mention,
    /// `![](http://t/p.png)` a DingTalk image fetched by every reader, `[x](http://evil)` a
    /// Teams link, `# EVACUATE` a heading).
    #[test]
    fn ids_reach_markdown_platforms_as_plain_text() {
        let hostile = [
            "<at id=all></at>",
            "<@zhangsan><font color=\"warning\">X</font>",
            "![](http://t.example/p.png)",
            "[click](http://evil.example/login)",
            "# EVACUATE",
            "**b** `c` &lt;x&gt; a|b \\",
        ];
        for kind in ["teams", "dingtalk", "wecom", "feishu"] {
            let spec = spec(kind);
            for id in hostile {
                for n in [1, 3] {
                    let alerts: Vec<_> = (0..n)
                        .map(|i| {
                            let mut a = (*big_alert(i, 1)).clone();
                            a.kind = crate::alert::AlertKind::LongAux;
                            a.agent = Some(id.to_string());
                            a.team = format!("{id}{i}");
                            a.agents = vec![id.to_string()];
                            Arc::new(a)
                        })
                        .collect();
                    let msg = build(&spec, &alerts, 0);
                    let v = match &msg.body {
                        Body::Raw(b) => serde_json::from_slice::<Value>(b).unwrap(),
                        Body::Json(v) => v.clone(),
                    };
                    let text = v.to_string();
                    for markup in [
                        "<at",
                        "<@",
                        "<font color=\\\"warning",
                        "![",
                        "](http://evil",
                        "](http://t.",
                        "# EVACUATE",
                        "&lt;",
                        "**b**",
                        "`c`",
                        "a|b",
                    ] {
                        assert!(!text.contains(markup), "{kind}, {n} alert(s), id {id:?}: {markup:?} in {text}");
                    }
                    // Shown, as look-alikes.
                    let shown = serde_json::to_string(&*defang(id)).unwrap();
                    assert!(text.contains(shown.trim_matches('"')), "{kind}: {id:?} shown as {shown} in {text}");
                }
            }
        }
        assert_eq!(defang("A0101_x-1.b@c"), Cow::Borrowed("A0101_x-1.b@c"), "ordinary ids untouched");
        assert_eq!(defang("<at id=all></at>"), "‹at id=all›‹/at›");
        assert_eq!(defang("R&D [night]"), "R＆D ［night］");
    }

    /// Slack: escaped, never cut inside an entity, and not parsed for mentions or URLs.
    #[test]
    fn slack_text_is_escaped_verbatim_and_cut_between_entities() {
        assert_eq!(cut_escaped(&slack_escape(&format!("{}<!channel>", "x".repeat(10))), 14), "xxxxxxxxxx…");
        assert_eq!(cut_escaped("a &lt; b", 100), "a &lt; b");
        assert_eq!(cut_escaped("a &lt; bbbbbbb", 10), "a &lt; …");
        assert_eq!(cut_escaped("a &lt; bbbbbbb", 8), "a …");
        let spec = spec("slack");
        let mut a = (*big_alert(0, 1)).clone();
        a.kind = crate::alert::AlertKind::LongAux;
        a.agent = Some("<!channel> http://evil.example".into());
        let msg = build(&spec, &[Arc::new(a)], 0);
        let Body::Raw(bytes) = &msg.body else { panic!("raw body") };
        let v: Value = serde_json::from_slice(bytes).unwrap();
        // Only in the header, plain text (never parsed).
        assert_eq!(v["blocks"][0]["text"]["type"], "plain_text");
        let v_rest = json!({"text": v["text"], "blocks": v["blocks"].as_array().unwrap()[1..]});
        assert!(!v_rest.to_string().contains("<!channel>"), "{v}");
        assert!(v["text"].as_str().unwrap().contains("&lt;!channel&gt;"));
        for b in v["blocks"].as_array().unwrap() {
            for t in b.get("text").into_iter().chain(b["elements"].as_array().into_iter().flatten()) {
                if t["type"] == "mrkdwn" {
                    assert_eq!(t["verbatim"], true, "{t}");
                }
            }
        }
    }

    #[test]
    fn fit_takes_what_the_budget_allows() {
        let e = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(fit(e(&["aaa", "bbb", "ccc"]), 6), e(&["aaa", "bbb"]));
        assert_eq!(fit(e(&["aaa", "bbb", "ccc"]), 100), e(&["aaa", "bbb", "ccc"]));
        assert_eq!(fit(e(&["aaaaaaaa", "b"]), 6), e(&["aaa…"]));
        assert_eq!(cut("坐席扎堆", 7), "坐…");
    }
}
