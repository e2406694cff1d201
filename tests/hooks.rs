//! Alert hooks (docs/alerts.md#hooks), black-box: real HTTP to local receivers for every kind, with
//! signatures recomputed here independently, and a real Alertmanager at the end.

#[path = "common/hooks_receiver.rs"]
mod receiver;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use floorwatch::alert::{Alert, AlertKind, AlertState};
use floorwatch::hooks::{HookConfig, Hooks};
use floorwatch::time::{Ms, fmt_ms, parse_rfc3339};
use hmac::{KeyInit, Mac};
use prometheus::Registry;
use receiver::{Receiver, Recorded, Reply};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(10);
const FLUSH: Duration = Duration::from_secs(10);
const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// 2026-11-23T09:10:00Z
const T0: Ms = 1_795_425_000_000;

// ---------------------------------------------------------------- helpers

fn alert(kind: AlertKind, team: &str, agents: &[&str], started_at: Ms) -> Alert {
    let agent = matches!(kind, AlertKind::LongAux | AlertKind::OutOfAdherence).then(|| agents[0].to_owned());
    let (value, threshold) = match kind {
        AlertKind::AuxCluster => (agents.len() as f64 / 12.0, 1.0 / 6.0),
        AlertKind::LongAux => (600.0, 600.0),
        AlertKind::AuxDispersion => (0.25, 0.16),
        AlertKind::UtilizationHigh => (0.78, 0.74),
        AlertKind::AhtOutOfControl => (210.0, 123.333),
        AlertKind::LongWait => (60.0, 60.0),
        AlertKind::ServiceLevelLow => (0.5, 0.9),
        AlertKind::OutOfAdherence => (300.0, 300.0),
    };
    let interval = (kind == AlertKind::AhtOutOfControl).then(|| "15m".to_string());
    Alert {
        id: Alert::make_id(kind, team, agent.as_deref(), started_at),
        kind,
        team: team.to_owned(),
        queue: None,
        agent,
        severity: kind.severity(),
        state: AlertState::Firing,
        started_at,
        fired_at: started_at + 60_000,
        resolved_at: None,
        value,
        threshold,
        message: match kind {
            AlertKind::AhtOutOfControl => format!("{team} AHT out of control; beyond_3_sigma"),
            _ => format!("{} in {team}", kind.as_str()),
        },
        agents: agents.iter().map(|s| s.to_string()).collect(),
        interval,
        retracted: false,
    }
}

fn cluster(team: &str, started_at: Ms) -> Alert {
    alert(AlertKind::AuxCluster, team, &["A1", "A2", "A3", "A4"], started_at)
}

fn resolved(a: &Alert, at: Ms) -> Alert {
    Alert { state: AlertState::Resolved, resolved_at: Some(at), ..a.clone() }
}

fn hook(kind: &str, url: &str) -> HookConfig {
    HookConfig { kind: kind.into(), url: url.into(), retry_base_ms: Some(10), ..Default::default() }
}

fn start(hooks: &[HookConfig]) -> (Hooks, Registry) {
    let registry = Registry::new();
    let h = Hooks::start(hooks, Path::new("."), &registry).expect("hooks start");
    (h, registry)
}

fn now_ms() -> Ms {
    jiff::Timestamp::now().as_millisecond()
}

fn hmac_b64(key: &[u8], msg: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(msg);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// A sample from the Prometheus text exposition, as a scraper sees it.
fn metric(registry: &Registry, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let text = prometheus::TextEncoder::new().encode_to_string(&registry.gather()).unwrap();
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (series, value) = l.rsplit_once(' ')?;
        let (n, rest) = series.split_once('{').unwrap_or((series, "}"));
        let all = labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
        (n == name && all).then(|| value.parse().unwrap())
    })
}

fn deliveries(registry: &Registry, hook: &str, outcome: &str) -> f64 {
    metric(registry, "floorwatch_hook_deliveries_total", &[("hook", hook), ("outcome", outcome)])
        .unwrap_or_else(|| panic!("no deliveries series for {hook}/{outcome}"))
}

/// Asserts that no request beyond the first `n` arrives for a while.
async fn quiet(rx: &Receiver, n: usize) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.requests().len(), n, "unexpected extra requests");
}

fn all_strings(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(a) => a.iter().for_each(|x| all_strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| all_strings(x, out)),
        _ => {}
    }
}

/// Every string in a JSON body, one per line: what a person could end up reading.
fn text_of(r: &Recorded) -> String {
    let mut s = String::new();
    all_strings(&r.json(), &mut s);
    s
}

fn temp_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let d = std::env::temp_dir().join(format!("floorwatch-hooks-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

// ---------------------------------------------------------------- payloads and signatures

#[tokio::test]
async fn webhook_sends_the_alert_json_signed_per_standard_webhooks() {
    let rx = Receiver::start().await;
    let (hooks, _reg) = start(&[
        HookConfig { secret: Some(WHSEC.into()), ..hook("webhook", &rx.url("/signed")) },
        hook("webhook", &rx.url("/plain")),
    ]);
    let a = cluster("T07", T0);
    hooks.notify(&a);
    hooks.notify(&resolved(&a, T0 + 12 * 60_000));
    hooks.shutdown(FLUSH).await;

    let reqs = rx.requests();
    assert_eq!(reqs.len(), 4);
    let key = base64::engine::general_purpose::STANDARD.decode(&WHSEC[6..]).unwrap();
    for path in ["/signed", "/plain"] {
        let mine: Vec<_> = reqs.iter().filter(|r| r.path == path).collect();
        assert_eq!(mine.len(), 2, "{path}");
        for (r, state) in mine.iter().zip(["firing", "resolved"]) {
            assert_eq!(r.header("content-type").as_deref(), Some("application/json"));
            let body = r.json();
            assert_eq!(body["id"], a.id);
            assert_eq!(body["kind"], "aux_cluster");
            assert_eq!(body["team"], "T07");
            assert_eq!(body["severity"], "critical");
            assert_eq!(body["state"], state);
            assert_eq!(body["started_at"], "2026-11-23T09:10:00.000Z");
            assert_eq!(body["fired_at"], "2026-11-23T09:11:00.000Z");
            assert_eq!(body["agents"], serde_json::json!(["A1", "A2", "A3", "A4"]));
            let resolved_at = if state == "firing" { Value::Null } else { "2026-11-23T09:22:00.000Z".into() };
            assert_eq!(body["resolved_at"], resolved_at);

            let msg_id = r.header("webhook-id").unwrap();
            assert_eq!(msg_id, format!("{}:{state}", a.id));
            let ts: i64 = r.header("webhook-timestamp").unwrap().parse().unwrap();
            assert!((ts - now_ms() / 1000).abs() < 300, "timestamp {ts} is not now");
            let sig = r.header("webhook-signature");
            if path == "/signed" {
                let mut signed = format!("{msg_id}.{ts}.").into_bytes();
                signed.extend_from_slice(&r.body);
                assert_eq!(sig.unwrap(), format!("v1,{}", hmac_b64(&key, &signed)));
            } else {
                assert_eq!(sig, None, "unsigned hook sent a signature");
            }
        }
    }
}

#[tokio::test]
async fn slack_gets_text_and_blocks_with_escaping() {
    let rx = Receiver::start().await;
    let (hooks, _reg) = start(&[HookConfig {
        wallboard_url: Some("http://wallboard.example:8080/".into()),
        ..hook("slack", &rx.url("/services/T0/B0/tok3n"))
    }]);
    hooks.notify(&cluster("R&D<1>", T0));
    hooks.shutdown(FLUSH).await;

    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, "/services/T0/B0/tok3n");
    let body = reqs[0].json();
    let text = body["text"].as_str().unwrap();
    assert!(text.contains("[Aux clustering] R&amp;D&lt;1&gt;: 4 of 12 logged-in agents"), "{text}");
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["type"], "plain_text");
    let section = blocks.iter().find(|b| b["type"] == "section").expect("a section");
    assert_eq!(section["text"]["type"], "mrkdwn");
    assert!(section["text"]["text"].as_str().unwrap().contains("A1, A2, A3, A4"));
    let context = blocks.last().unwrap();
    assert_eq!(context["type"], "context");
    let footer = context["elements"][0]["text"].as_str().unwrap();
    assert!(footer.contains("<http://wallboard.example:8080/|Open wallboard>"), "{footer}");
}

#[tokio::test]
async fn teams_gets_an_adaptive_card() {
    let rx = Receiver::start().await;
    let (hooks, _reg) = start(&[hook("teams", &rx.url("/workflows/abc?sig=tok3n"))]);
    hooks.notify(&alert(AlertKind::UtilizationHigh, "T07", &[], T0));
    hooks.shutdown(FLUSH).await;

    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].param("sig").as_deref(), Some("tok3n"));
    let body = reqs[0].json();
    assert_eq!(body["type"], "message");
    let att = &body["attachments"][0];
    assert_eq!(att["contentType"], "application/vnd.microsoft.card.adaptive");
    let card = &att["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    let blocks = card["body"].as_array().unwrap();
    assert!(blocks.iter().all(|b| b["type"] == "TextBlock"));
    assert!(blocks[0]["text"].as_str().unwrap().contains("High utilization · T07"));
    assert!(text_of(&reqs[0]).contains("60-min talk utilization 78.0% (limit 74.0%), add staff"));
}

#[tokio::test]
async fn aht_out_of_control_reaches_webhooks_and_chat_robots() {
    let rx = Receiver::start().await;
    let (hooks, _reg) = start(&[
        hook("webhook", &rx.url("/generic")),
        HookConfig { lang: Some("zh".into()), ..hook("wecom", &rx.url("/cgi-bin/webhook/send?key=tok3n")) },
    ]);
    hooks.notify(&alert(AlertKind::AhtOutOfControl, "T07", &[], T0));
    hooks.shutdown(FLUSH).await;

    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2);
    let generic = reqs.iter().find(|r| r.path == "/generic").unwrap().json();
    assert_eq!(generic["kind"], "aht_out_of_control");
    assert_eq!(generic["interval"], "15m");
    assert_eq!(generic["severity"], "info");
    let wecom = reqs.iter().find(|r| r.path.starts_with("/cgi-bin")).unwrap().json();
    let content = wecom["markdown"]["content"].as_str().unwrap();
    assert!(content.contains("平均处理时长失控"), "{content}");
    assert!(content.contains("15m 平均处理时长 210 秒，控制限 123 秒 (beyond_3_sigma)"), "{content}");
}

#[tokio::test]
async fn dingtalk_markdown_in_chinese_with_signed_url() {
    let rx = Receiver::start().await;
    let secret = "SEC6f1c0a2b9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2";
    let (hooks, _reg) = start(&[HookConfig {
        secret: Some(secret.into()),
        lang: Some("zh".into()),
        ..hook("dingtalk", &rx.url("/robot/send?access_token=tok3n"))
    }]);
    hooks.notify(&cluster("T07", T0));
    hooks.shutdown(FLUSH).await;

    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.path, "/robot/send");
    assert_eq!(r.param("access_token").as_deref(), Some("tok3n"));
    let ts: i64 = r.param("timestamp").unwrap().parse().unwrap();
    assert!((ts - now_ms()).abs() < 300_000, "timestamp {ts} is not now (ms)");
    let sign = r.param("sign").unwrap();
    assert_eq!(sign, hmac_b64(secret.as_bytes(), format!("{ts}\n{secret}").as_bytes()));

    let body = r.json();
    assert_eq!(body["msgtype"], "markdown");
    assert!(body["markdown"]["title"].as_str().unwrap().contains("坐席扎堆小休"));
    let text = body["markdown"]["text"].as_str().unwrap();
    assert!(text.contains("T07 组高峰期 4/12 名坐席同时处于非计划小休 (33.3%)：A1, A2, A3, A4"), "{text}");
    assert!(text.contains("严重"), "{text}");
}

#[tokio::test]
async fn wecom_markdown() {
    let rx = Receiver::start().await;
    let (hooks, _reg) = start(&[hook("wecom", &rx.url("/cgi-bin/webhook/send?key=tok3n"))]);
    hooks.notify(&alert(AlertKind::LongAux, "T07", &["A0123"], T0));
    hooks.shutdown(FLUSH).await;

    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].param("key").as_deref(), Some("tok3n"));
    let body = reqs[0].json();
    assert_eq!(body["msgtype"], "markdown");
    let content = body["markdown"]["content"].as_str().unwrap();
    assert!(content.contains("A0123 (T07) in unplanned aux for 10 min (limit 10 min)"), "{content}");
    assert!(content.len() <= 4096);
}

#[tokio::test]
async fn feishu_interactive_card_signed_in_the_body() {
    let rx = Receiver::start().await;
    let secret = "fs-9d8c7b6a5f4e3d2c1b0a";
    let (hooks, _reg) = start(&[
        HookConfig { secret: Some(secret.into()), ..hook("feishu", &rx.url("/open-apis/bot/v2/hook/signed")) },
        HookConfig { lang: Some("zh".into()), ..hook("feishu", &rx.url("/open-apis/bot/v2/hook/plain")) },
    ]);
    hooks.notify(&alert(AlertKind::AuxDispersion, "T07", &[], T0));
    hooks.shutdown(FLUSH).await;

    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2);
    let signed = reqs.iter().find(|r| r.path.ends_with("/signed")).unwrap().json();
    let ts: i64 = signed["timestamp"].as_str().expect("timestamp is a string").parse().unwrap();
    assert!((ts - now_ms() / 1000).abs() < 300, "timestamp {ts} is not now (s)");
    let key = format!("{ts}\n{secret}");
    assert_eq!(signed["sign"].as_str().unwrap(), hmac_b64(key.as_bytes(), b""));
    assert_eq!(signed["msg_type"], "interactive");
    assert_eq!(signed["card"]["header"]["template"], "blue");
    assert!(signed["card"]["header"]["title"]["content"].as_str().unwrap().contains("Aux dispersion"));

    let plain = reqs.iter().find(|r| r.path.ends_with("/plain")).unwrap();
    assert!(plain.json().get("sign").is_none());
    assert!(text_of(plain).contains("T07 组高峰期坐席小休率变异系数 0.25 (上限 0.16)，小休失控"));
}

#[tokio::test]
async fn alertmanager_gets_postable_alerts_and_ends_at_on_resolve() {
    let rx = Receiver::start().await;
    let (hooks, _reg) = start(&[HookConfig {
        wallboard_url: Some("http://floorwatch.example:8080/".into()),
        ..hook("alertmanager", &rx.url("/"))
    }]);
    let a = alert(AlertKind::LongAux, "T07", &["A0123"], T0);
    hooks.notify(&a);
    hooks.notify(&resolved(&a, T0 + 15 * 60_000));
    hooks.shutdown(FLUSH).await;

    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2, "firing and resolve of one id go in separate requests");
    for r in &reqs {
        assert_eq!(r.path, "/api/v2/alerts");
    }
    let firing = &reqs[0].json()[0];
    assert_eq!(firing["labels"]["alertname"], "long_aux");
    assert_eq!(firing["labels"]["team"], "T07");
    assert_eq!(firing["labels"]["severity"], "warning");
    assert_eq!(firing["labels"]["agent"], "A0123");
    assert_eq!(firing["labels"]["alert_id"], a.id);
    assert!(firing["annotations"]["summary"].as_str().unwrap().contains("Long aux"));
    assert!(firing["annotations"]["description"].as_str().unwrap().contains("A0123"));
    assert_eq!(firing["startsAt"], fmt_ms(a.fired_at));
    assert_eq!(firing["generatorURL"], "http://floorwatch.example:8080/");
    // Keep-alive: a firing alert is valid for a few resend intervals from now.
    let ends = parse_rfc3339(firing["endsAt"].as_str().unwrap()).unwrap();
    assert!(ends > now_ms() + 60_000, "firing endsAt should be ahead of now");

    let res = &reqs[1].json()[0];
    assert_eq!(res["labels"]["alert_id"], a.id);
    assert_eq!(res["endsAt"], "2026-11-23T09:25:00.000Z");
}

#[tokio::test]
async fn alertmanager_firing_alerts_are_kept_alive_until_resolved() {
    let rx = Receiver::start().await;
    let (hooks, _reg) = start(&[HookConfig { resend_interval_secs: Some(1), ..hook("alertmanager", &rx.url("/")) }]);
    let a = alert(AlertKind::AuxCluster, "T07", &["A1", "A2"], T0);
    hooks.notify(&a);
    let reqs = rx.wait_for(2, WAIT).await;
    let gap = reqs[1].at - reqs[0].at;
    assert!(gap >= Duration::from_millis(900), "keep-alive after {gap:?}");
    assert_eq!(reqs[1].json()[0]["labels"]["alert_id"], a.id);
    hooks.notify(&resolved(&a, T0 + 60_000));
    let n = rx.requests().len();
    let reqs = rx.wait_for(n + 1, WAIT).await;
    assert_eq!(reqs[n].json()[0]["endsAt"], fmt_ms(T0 + 60_000));
    // Resolved: no more keep-alives.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(rx.requests().len(), n + 1);
    hooks.shutdown(FLUSH).await;
}

/// An alert whose figures were corrected after it was posted (late events, a roster
/// correction: the same fire, another value) is not posted again at once, and its
/// keep-alives carry it as it now reads.
#[tokio::test]
async fn alertmanager_keep_alives_carry_an_alerts_corrected_figures() {
    let rx = Receiver::start().await;
    let (hooks, _reg) = start(&[HookConfig { resend_interval_secs: Some(1), ..hook("alertmanager", &rx.url("/")) }]);
    let a = alert(AlertKind::AuxCluster, "T07", &["A1", "A2"], T0);
    hooks.notify(&a);
    let first = rx.wait_for(1, WAIT).await[0].json()[0]["annotations"].clone();
    let corrected = alert(AlertKind::AuxCluster, "T07", &["A1", "A3"], T0);
    assert_eq!(corrected.id, a.id);
    hooks.notify(&corrected);
    // The keep-alives from the next on: the corrected description, A3 instead of A2.
    let deadline = Instant::now() + WAIT;
    loop {
        let reqs = rx.requests();
        let last = reqs.last().unwrap().json();
        assert_eq!(last[0]["labels"]["alert_id"], a.id);
        let description = last[0]["annotations"]["description"].as_str().unwrap().to_string();
        if description.contains("A3") {
            assert!(!description.contains("A2"), "{description}");
            assert_ne!(last[0]["annotations"], first);
            break;
        }
        assert!(Instant::now() < deadline, "keep-alives kept the figures as first posted: {description}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    hooks.shutdown(FLUSH).await;
}

/// A firing taken back (late events showed it never happened) ends its keep-alive: the
/// retraction goes out once, with `endsAt` now, and is not posted again.
#[tokio::test]
async fn alertmanager_stops_keeping_alive_an_alert_that_was_retracted() {
    let rx = Receiver::start().await;
    let (hooks, _reg) = start(&[HookConfig { resend_interval_secs: Some(1), ..hook("alertmanager", &rx.url("/")) }]);
    let a = alert(AlertKind::AuxCluster, "T07", &["A1", "A2"], T0);
    hooks.notify(&a);
    rx.wait_for(1, WAIT).await;
    hooks.notify(&Alert { retracted: true, ..a.clone() });
    // The retraction: the first post whose `endsAt` is not ahead (a keep-alive of the
    // firing may come before it).
    let ended = |r: &Value| parse_rfc3339(r[0]["endsAt"].as_str().unwrap()).unwrap() <= now_ms() + 1_000;
    let deadline = Instant::now() + WAIT;
    let n = loop {
        let reqs = rx.requests();
        if let Some(i) = reqs.iter().position(|r| ended(&r.json())) {
            assert_eq!(reqs[i].json()[0]["labels"]["alert_id"], a.id);
            break i + 1;
        }
        assert!(
            Instant::now() < deadline,
            "no retraction posted: {:#?}",
            reqs.iter().map(|r| r.json()).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // No keep-alive of it (nor of the firing) after that: three resend intervals.
    tokio::time::sleep(Duration::from_millis(3_000)).await;
    let after: Vec<_> = rx.requests().into_iter().skip(n).map(|r| r.json()).collect();
    assert!(after.is_empty(), "posted again after the retraction: {after:#?}");
    hooks.shutdown(FLUSH).await;
}

// ---------------------------------------------------------------- retries and duplicates

#[tokio::test]
async fn retries_after_500_and_never_delivers_twice() {
    let rx = Receiver::start().await;
    rx.script([Reply::status(500), Reply::status(502).body("bad gateway")]);
    let (hooks, reg) = start(&[HookConfig { name: Some("ops".into()), ..hook("webhook", &rx.url("/h")) }]);
    let a = cluster("T07", T0);
    hooks.notify(&a);
    let reqs = rx.wait_for(3, WAIT).await;
    assert_eq!(reqs.iter().map(|r| r.status).collect::<Vec<_>>(), [500, 502, 200]);
    // Every attempt carries the same message.
    for r in &reqs {
        assert_eq!(r.body, reqs[0].body);
        assert_eq!(r.header("webhook-id"), reqs[0].header("webhook-id"));
    }
    // The same alert notified again after recovery is not sent again.
    hooks.notify(&a);
    quiet(&rx, 3).await;
    assert_eq!(deliveries(&reg, "ops", "delivered"), 1.0);
    assert_eq!(deliveries(&reg, "ops", "retried"), 2.0);
    assert_eq!(deliveries(&reg, "ops", "failed"), 0.0);
    hooks.shutdown(FLUSH).await;
}

#[tokio::test]
async fn honours_retry_after_on_429() {
    let rx = Receiver::start().await;
    rx.script([Reply::status(429).header("Retry-After", "1")]);
    let (hooks, reg) = start(&[hook("slack", &rx.url("/s"))]);
    hooks.notify(&cluster("T07", T0));
    let reqs = rx.wait_for(2, WAIT).await;
    let gap = reqs[1].at - reqs[0].at;
    // The back-off alone would be at most 10 ms.
    assert!(gap >= Duration::from_millis(950), "retried after {gap:?}");
    hooks.shutdown(FLUSH).await;
    assert_eq!(deliveries(&reg, "slack-0", "delivered"), 1.0);
    assert_eq!(deliveries(&reg, "slack-0", "retried"), 1.0);
}

#[tokio::test]
async fn gives_up_after_max_attempts() {
    let rx = Receiver::start().await;
    rx.default_reply(Reply::status(503));
    let (hooks, reg) = start(&[HookConfig { max_attempts: Some(3), ..hook("webhook", &rx.url("/h")) }]);
    hooks.notify(&cluster("T07", T0));
    rx.wait_for(3, WAIT).await;
    quiet(&rx, 3).await;
    assert_eq!(deliveries(&reg, "webhook-0", "failed"), 1.0);
    assert_eq!(deliveries(&reg, "webhook-0", "retried"), 2.0);
    assert_eq!(deliveries(&reg, "webhook-0", "delivered"), 0.0);
    hooks.shutdown(FLUSH).await;
}

/// Waits until `hook` has given up on `n` alerts.
async fn failed(reg: &Registry, hook: &str, n: f64) {
    let deadline = Instant::now() + WAIT;
    while deliveries(reg, hook, "failed") < n {
        assert!(Instant::now() < deadline, "{hook} gave up on fewer than {n} alerts");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// (id, state) of each webhook request, in the order they came.
fn told(rx: &Receiver) -> Vec<(String, String)> {
    rx.requests()
        .iter()
        .map(|r| {
            let b = r.json();
            (b["id"].as_str().unwrap().to_string(), b["state"].as_str().unwrap().to_string())
        })
        .collect()
}

/// A firing given up (its attempts spent) was never said: its resolve and its
/// retraction are not sent later, which would read "resolved" for an alert nobody saw.
/// Told again while it fires (its agent's name arrived), it goes out, and its resolve
/// after it.
#[tokio::test]
async fn a_firing_given_up_is_not_resolved_later() {
    let rx = Receiver::start().await;
    rx.script([Reply::status(503), Reply::status(503)]);
    let (hooks, reg) = start(&[HookConfig { max_attempts: Some(2), ..hook("webhook", &rx.url("/h")) }]);
    let (a, b, c) = (cluster("T07", T0), cluster("T08", T0), cluster("T09", T0));
    hooks.notify(&a);
    failed(&reg, "webhook-0", 1.0).await;
    hooks.notify(&resolved(&a, T0 + 60_000));
    hooks.notify(&b);
    hooks.notify(&Alert { retracted: true, ..resolved(&a, T0 + 60_000) });
    rx.wait_for(3, WAIT).await;
    quiet(&rx, 3).await;
    assert_eq!(told(&rx)[2], (b.id.clone(), "firing".into()));
    // Told anew, it goes out with its resolve; so do the others'.
    hooks.notify(&a);
    hooks.notify(&resolved(&a, T0 + 120_000));
    hooks.notify(&c);
    hooks.notify(&resolved(&c, T0 + 120_000));
    hooks.shutdown(FLUSH).await;
    let firing_resolved = |x: &Alert| [(x.id.clone(), "firing".to_string()), (x.id.clone(), "resolved".to_string())];
    let mut want = vec![(a.id.clone(), "firing".to_string()); 2];
    want.push((b.id.clone(), "firing".into()));
    want.extend(firing_resolved(&a));
    want.extend(firing_resolved(&c));
    assert_eq!(told(&rx), want);
    assert_eq!(deliveries(&reg, "webhook-0", "delivered"), 5.0);
}

/// A resolve queued behind a firing that is then given up goes with it.
#[tokio::test]
async fn a_resolve_queued_behind_a_firing_given_up_is_dropped() {
    let rx = Receiver::start().await;
    rx.script([Reply::status(503).delay(Duration::from_millis(300)), Reply::status(503)]);
    let (hooks, reg) = start(&[HookConfig { max_attempts: Some(2), ..hook("webhook", &rx.url("/h")) }]);
    let (a, b) = (cluster("T07", T0), cluster("T08", T0));
    hooks.notify(&a);
    rx.wait_for(1, WAIT).await;
    // Queued while the firing's first attempt is in flight.
    hooks.notify(&resolved(&a, T0 + 60_000));
    hooks.notify(&b);
    failed(&reg, "webhook-0", 1.0).await;
    hooks.shutdown(FLUSH).await;
    let want =
        vec![(a.id.clone(), "firing".to_string()), (a.id.clone(), "firing".into()), (b.id.clone(), "firing".into())];
    assert_eq!(told(&rx), want);
}

/// An Alertmanager that cannot be reached gets a firing it missed with the next
/// keep-alive, as Prometheus re-sends its own: an outage loses no alert.
#[tokio::test]
async fn an_unreachable_alertmanager_gets_the_firing_with_the_next_keep_alive() {
    let rx = Receiver::start().await;
    rx.script([Reply::status(503), Reply::status(503)]);
    let (hooks, reg) = start(&[HookConfig {
        max_attempts: Some(2),
        resend_interval_secs: Some(1),
        ..hook("alertmanager", &rx.url("/"))
    }]);
    let a = alert(AlertKind::LongAux, "T07", &["A0123"], T0);
    hooks.notify(&a);
    failed(&reg, "alertmanager-0", 1.0).await;
    let reqs = rx.wait_for(3, WAIT).await;
    assert_eq!(reqs[2].status, 200);
    let kept = &reqs[2].json()[0];
    assert_eq!(kept["labels"]["alert_id"], a.id);
    // Firing: `endsAt` four resend intervals ahead.
    assert!(parse_rfc3339(kept["endsAt"].as_str().unwrap()).unwrap() > now_ms() + 2_000, "not firing: {kept}");
    hooks.notify(&resolved(&a, T0 + 15 * 60_000));
    hooks.shutdown(FLUSH).await;
    let last = rx.requests().last().unwrap().json();
    assert_eq!(last[0]["labels"]["alert_id"], a.id);
    assert_eq!(last[0]["endsAt"], "2026-11-23T09:25:00.000Z");
}

#[tokio::test]
async fn times_out_slow_destinations() {
    let rx = Receiver::start().await;
    rx.default_reply(Reply::ok().delay(Duration::from_secs(5)));
    let (hooks, reg) =
        start(&[HookConfig { timeout_ms: Some(100), max_attempts: Some(2), ..hook("webhook", &rx.url("/h")) }]);
    let t = Instant::now();
    hooks.notify(&cluster("T07", T0));
    hooks.shutdown(FLUSH).await;
    assert!(t.elapsed() < Duration::from_secs(3), "took {:?}", t.elapsed());
    assert_eq!(rx.requests().len(), 2);
    assert_eq!(deliveries(&reg, "webhook-0", "failed"), 1.0);
}

#[tokio::test]
async fn refusals_are_not_retried_and_the_queue_moves_on() {
    let (rx1, rx2) = (Receiver::start().await, Receiver::start().await);
    rx1.script([Reply::status(400).body("invalid_payload")]);
    rx2.script([Reply::ok().body(r#"{"errcode":310000,"errmsg":"keywords not in content"}"#)]);
    let (hooks, reg) = start(&[
        HookConfig { name: Some("wh".into()), ..hook("webhook", &rx1.url("/wh")) },
        HookConfig { name: Some("ding".into()), ..hook("dingtalk", &rx2.url("/ding?access_token=t")) },
    ]);
    hooks.notify(&alert(AlertKind::AuxDispersion, "T07", &[], T0));
    rx1.wait_for(1, WAIT).await;
    rx2.wait_for(1, WAIT).await;
    quiet(&rx1, 1).await;
    quiet(&rx2, 1).await;
    assert_eq!(deliveries(&reg, "wh", "failed"), 1.0);
    assert_eq!(deliveries(&reg, "wh", "retried"), 0.0);
    assert_eq!(deliveries(&reg, "ding", "failed"), 1.0);
    assert_eq!(deliveries(&reg, "ding", "retried"), 0.0);
    // Later alerts still go out.
    hooks.notify(&cluster("T07", T0));
    hooks.shutdown(FLUSH).await;
    assert_eq!(deliveries(&reg, "wh", "delivered"), 1.0);
    assert_eq!(deliveries(&reg, "ding", "delivered"), 1.0);
}

#[tokio::test]
async fn robot_throttle_codes_are_retried() {
    let rx = Receiver::start().await;
    rx.script([Reply::ok().body(r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#)]);
    let (hooks, reg) =
        start(&[HookConfig { retry_max_ms: Some(50), ..hook("wecom", &rx.url("/cgi-bin/webhook/send?key=k")) }]);
    hooks.notify(&cluster("T07", T0));
    hooks.shutdown(FLUSH).await;
    assert_eq!(rx.requests().len(), 2);
    assert_eq!(deliveries(&reg, "wecom-0", "retried"), 1.0);
    assert_eq!(deliveries(&reg, "wecom-0", "delivered"), 1.0);
}

// ---------------------------------------------------------------- filters

#[tokio::test]
async fn filters_by_kind_team_severity_and_state() {
    let rx = Receiver::start().await;
    let (hooks, _reg) = start(&[
        HookConfig {
            kinds: Some(vec!["aux_cluster".into(), "long_aux".into(), "aux_dispersion".into()]),
            teams: Some(vec!["T07".into()]),
            min_severity: Some("warning".into()),
            ..hook("webhook", &rx.url("/a"))
        },
        HookConfig { min_severity: Some("critical".into()), ..hook("webhook", &rx.url("/b")) },
        HookConfig { send_resolved: Some(false), ..hook("webhook", &rx.url("/c")) },
    ]);
    let sent = [
        cluster("T07", T0),
        cluster("T08", T0),
        alert(AlertKind::LongAux, "T07", &["A9"], T0),
        alert(AlertKind::AuxDispersion, "T07", &[], T0),
        alert(AlertKind::UtilizationHigh, "T07", &[], T0),
    ];
    for a in &sent {
        hooks.notify(a);
    }
    hooks.notify(&resolved(&sent[0], T0 + 120_000));
    hooks.shutdown(FLUSH).await;

    let got = |path: &str| -> Vec<String> {
        rx.requests()
            .iter()
            .filter(|r| r.path == path)
            .map(|r| r.header("webhook-id").unwrap())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    let id = |a: &Alert, s: &str| format!("{}:{s}", a.id);
    let want = |v: Vec<String>| v.into_iter().collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>();
    assert_eq!(got("/a"), want(vec![id(&sent[0], "firing"), id(&sent[2], "firing"), id(&sent[0], "resolved")]));
    assert_eq!(got("/b"), want(vec![id(&sent[0], "firing"), id(&sent[1], "firing"), id(&sent[0], "resolved")]));
    assert_eq!(got("/c"), want(sent.iter().map(|a| id(a, "firing")).collect()));
}

// ---------------------------------------------------------------- rate limits and digests

#[tokio::test]
async fn thirty_alerts_to_slack_arrive_as_digests_within_the_rate() {
    let rx = Receiver::start().await;
    let (hooks, reg) = start(&[HookConfig { rate_per_minute: Some(20), ..hook("slack", &rx.url("/s")) }]);
    let teams: Vec<String> = (0..30).map(|i| format!("Team{i:02}")).collect();
    for (i, t) in teams.iter().enumerate() {
        hooks.notify(&cluster(t, T0 + i as Ms));
    }
    hooks.shutdown(FLUSH).await;

    let reqs = rx.requests();
    assert!(!reqs.is_empty() && reqs.len() <= 20, "{} requests", reqs.len());
    // Each alert appears in exactly one section across all messages.
    let sections: Vec<String> = reqs
        .iter()
        .flat_map(|r| r.json()["blocks"].as_array().unwrap().clone())
        .filter(|b| b["type"] == "section")
        .map(|b| b["text"]["text"].as_str().unwrap().to_owned())
        .collect();
    for t in &teams {
        let n = sections.iter().filter(|s| s.contains(t.as_str())).count();
        assert_eq!(n, 1, "{t} in {n} sections");
    }
    let digest = reqs.iter().find(|r| r.json()["blocks"].as_array().unwrap().len() > 3).expect("a digest");
    assert!(digest.json()["blocks"][0]["text"]["text"].as_str().unwrap().starts_with("floorwatch: "));
    assert_eq!(deliveries(&reg, "slack-0", "delivered"), 30.0);
}

#[tokio::test]
async fn spent_rate_budget_holds_alerts_and_shutdown_counts_them_dropped() {
    let rx = Receiver::start().await;
    // Two hooks on one destination share its budget of one message a minute.
    let (hooks, reg) = start(&[
        HookConfig { rate_per_minute: Some(1), ..hook("slack", &rx.url("/same")) },
        HookConfig {
            rate_per_minute: Some(5),
            kinds: Some(vec!["long_aux".into()]),
            ..hook("slack", &rx.url("/same"))
        },
    ]);
    hooks.notify(&cluster("T07", T0));
    rx.wait_for(1, WAIT).await;
    hooks.notify(&alert(AlertKind::LongAux, "T07", &["A1"], T0));
    hooks.notify(&cluster("T08", T0));
    quiet(&rx, 1).await;
    let t = Instant::now();
    hooks.shutdown(Duration::from_millis(200)).await;
    assert!(t.elapsed() < Duration::from_secs(2), "shutdown took {:?}", t.elapsed());
    assert_eq!(rx.requests().len(), 1);
    // slack-0 holds T08's cluster and the long aux; slack-1 the long aux.
    assert_eq!(deliveries(&reg, "slack-0", "dropped"), 2.0);
    assert_eq!(deliveries(&reg, "slack-1", "dropped"), 1.0);
}

#[tokio::test]
async fn full_queue_drops_the_oldest_and_counts_it() {
    let rx = Receiver::start().await;
    rx.hold();
    let (hooks, reg) = start(&[HookConfig { queue_capacity: Some(3), ..hook("webhook", &rx.url("/h")) }]);
    let alerts: Vec<Alert> = (1..=6).map(|i| cluster("T07", T0 + i)).collect();
    hooks.notify(&alerts[0]);
    rx.wait_for(1, WAIT).await; // #1 is in flight, held by the receiver
    for a in &alerts[1..] {
        hooks.notify(a);
    }
    assert_eq!(deliveries(&reg, "webhook-0", "dropped"), 2.0);
    assert_eq!(metric(&reg, "floorwatch_hook_queue_depth", &[("hook", "webhook-0")]), Some(3.0));
    rx.release();
    hooks.shutdown(FLUSH).await;
    let got: Vec<String> = rx.requests().iter().map(|r| r.json()["id"].as_str().unwrap().to_owned()).collect();
    let want: Vec<String> = [0, 3, 4, 5].iter().map(|&i| alerts[i].id.clone()).collect();
    assert_eq!(got, want, "#2 and #3 were the oldest waiting");
    assert_eq!(deliveries(&reg, "webhook-0", "delivered"), 4.0);
    assert_eq!(metric(&reg, "floorwatch_hook_queue_depth", &[("hook", "webhook-0")]), Some(0.0));
}

/// An Alertmanager hook whose queue filled while Alertmanager held a post posts the firings
/// it dropped with the next keep-alive, as Prometheus re-sends its own: Alertmanager hears of
/// them late, not never. One resolved before that keep-alive is not posted at all, firing
/// or resolved; the others resolve as usual.
#[tokio::test]
async fn an_alertmanager_hook_posts_the_firings_its_full_queue_dropped_with_the_next_keep_alive() {
    let rx = Receiver::start().await;
    rx.hold();
    let (hooks, reg) = start(&[HookConfig {
        queue_capacity: Some(3),
        resend_interval_secs: Some(1),
        ..hook("alertmanager", &rx.url("/"))
    }]);
    let alerts: Vec<Alert> = (1..=6).map(|i| cluster(&format!("T{i:02}"), T0 + i)).collect();
    hooks.notify(&alerts[0]);
    rx.wait_for(1, WAIT).await; // #0 is in flight, held by Alertmanager
    for a in &alerts[1..] {
        hooks.notify(a);
    }
    assert_eq!(deliveries(&reg, "alertmanager-0", "dropped"), 2.0);
    // #2 resolves while it waits for the keep-alive: never said.
    hooks.notify(&resolved(&alerts[2], T0 + 60_000));
    rx.release();
    let posted = |id: &str| {
        rx.requests()
            .iter()
            .flat_map(|r| r.json().as_array().cloned().unwrap_or_default())
            .filter(|a| a["labels"]["alert_id"] == id)
            .collect::<Vec<_>>()
    };
    let deadline = Instant::now() + WAIT;
    while posted(&alerts[1].id).is_empty() {
        assert!(Instant::now() < deadline, "the dropped firing was never posted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let kept = &posted(&alerts[1].id)[0];
    assert!(parse_rfc3339(kept["endsAt"].as_str().unwrap()).unwrap() > now_ms() + 2_000, "not firing: {kept}");
    assert_eq!(kept["startsAt"], "2026-11-23T09:11:00.002Z");
    hooks.notify(&resolved(&alerts[1], T0 + 180_000));
    hooks.shutdown(FLUSH).await;
    let last = posted(&alerts[1].id).pop().unwrap();
    assert_eq!(last["endsAt"], "2026-11-23T09:13:00.000Z", "resolved as usual");
    assert!(posted(&alerts[2].id).is_empty(), "resolved before the keep-alive: not posted");
    for a in [0, 3, 4, 5] {
        assert!(!posted(&alerts[a].id).is_empty(), "#{a} posted");
    }
}

// ---------------------------------------------------------------- lifecycle, metrics, config

#[tokio::test]
async fn shutdown_flushes_and_then_accepts_nothing() {
    let rx = Receiver::start().await;
    rx.default_reply(Reply::ok().delay(Duration::from_millis(20)));
    let (hooks, _reg) = start(&[hook("webhook", &rx.url("/h"))]);
    let other_handle = hooks.clone();
    for i in 0..5 {
        hooks.notify(&cluster("T07", T0 + i));
    }
    hooks.shutdown(FLUSH).await;
    assert_eq!(rx.requests().len(), 5);
    other_handle.notify(&cluster("T07", T0 + 99));
    quiet(&rx, 5).await;
}

#[tokio::test]
async fn metrics_exist_from_the_start() {
    let (hooks, reg) = start(&[HookConfig { name: Some("ops".into()), ..hook("slack", "http://127.0.0.1:9/x") }]);
    for outcome in ["delivered", "failed", "retried", "dropped"] {
        let v = metric(
            &reg,
            "floorwatch_hook_deliveries_total",
            &[("hook", "ops"), ("kind", "slack"), ("outcome", outcome)],
        );
        assert_eq!(v, Some(0.0), "{outcome}");
    }
    assert_eq!(metric(&reg, "floorwatch_hook_queue_depth", &[("hook", "ops")]), Some(0.0));
    hooks.shutdown(Duration::ZERO).await;
}

#[derive(serde::Deserialize)]
struct File {
    hooks: Vec<HookConfig>,
}

fn parse(toml_text: &str) -> Result<Vec<HookConfig>, String> {
    toml::from_str::<File>(toml_text).map(|f| f.hooks).map_err(|e| e.to_string())
}

#[test]
fn config_errors_name_the_key() {
    let dir = temp_dir("cfg");
    std::fs::create_dir_all(dir.join("secrets")).unwrap();
    std::fs::write(dir.join("secrets/wh.key"), format!("{WHSEC}\n")).unwrap();

    let check = |toml_text: &str, want: Result<(), &str>| {
        let result = parse(toml_text).and_then(|h| Hooks::validate(&h, &dir).map_err(|e| e.to_string()));
        match (result, want) {
            (Ok(()), Ok(())) => {}
            (Err(e), Err(w)) => assert!(e.contains(w), "{toml_text}: got `{e}`, want `{w}`"),
            (got, want) => panic!("{toml_text}: got {got:?}, want {want:?}"),
        }
    };
    let ok = r#"
        [[hooks]]
        kind = "slack"
        url = "https://hooks.slack.invalid/services/x"
    "#;
    check(ok, Ok(()));
    check(
        r#"
        [[hooks]]
        name = "ops-webhook"
        kind = "webhook"
        url = "https://example.invalid/hook"
        secret_file = "secrets/wh.key"
        kinds = ["aux_cluster", "long_aux"]
        teams = ["T07"]
        min_severity = "warning"
        send_resolved = true
        lang = "zh"
        timezone = "Asia/Shanghai"
        wallboard_url = "http://floorwatch.example:8080/"
        rate_per_minute = 0
        queue_capacity = 100
        max_attempts = 5
        timeout_ms = 2000
        retry_base_ms = 200
        retry_max_ms = 30000
        [[hooks]]
        kind = "alertmanager"
        url = "http://alertmanager.example:9093"
        resend_interval_secs = 30
        "#,
        Ok(()),
    );
    check(
        &format!("{ok}\n[[hooks]]\nkind = \"fax\"\nurl = \"https://x.invalid/\""),
        Err("hooks[1].kind: unknown kind `fax`"),
    );
    check("[[hooks]]\nkind = \"slack\"\nurl = \"mailto:ops@example.invalid\"", Err("hooks[0].url: scheme `mailto`"));
    check(
        "[[hooks]]\nkind = \"slack\"\nurl = \"https://x.invalid/\"\nsecret = \"s\"",
        Err("hooks[0].secret: slack hooks take no secret"),
    );
    check(
        "[[hooks]]\nkind = \"webhook\"\nurl = \"https://x.invalid/\"\nsecret_file = \"nope.key\"",
        Err("hooks[0].secret_file: "),
    );
    check("[[hooks]]\nkind = \"slack\"\nurl = \"https://x.invalid/\"\nlang = \"fr\"", Err("hooks[0].lang"));
    check(
        "[[hooks]]\nkind = \"slack\"\nurl = \"https://x.invalid/\"\nmin_severity = \"high\"",
        Err("hooks[0].min_severity"),
    );
    check("[[hooks]]\nkind = \"slack\"\nurl = \"https://x.invalid/\"\nkinds = [\"aux\"]", Err("hooks[0].kinds"));
    // Unknown keys are refused by the parser, which names them.
    check("[[hooks]]\nkind = \"slack\"\nurl = \"https://x.invalid/\"\nretries = 3", Err("retries"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn start_outside_a_runtime_is_an_error_not_a_panic() {
    let e = Hooks::start(&[hook("slack", "https://x.invalid/")], Path::new("."), &Registry::new()).err();
    assert!(e.unwrap().to_string().contains("tokio runtime"));
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct LogBuf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// Current-thread runtime: the hook tasks run on this thread, under this test's subscriber.
#[tokio::test(flavor = "current_thread")]
async fn secrets_never_reach_debug_output_or_logs() {
    let logs = LogBuf::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let rx = Receiver::start().await;
    rx.default_reply(Reply::status(500).body("upstream down"));
    let dir = temp_dir("secret");
    let mut f = std::fs::File::create(dir.join("feishu.key")).unwrap();
    writeln!(f, "feishuFILEsecret").unwrap();
    let closed_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let configs = [
        HookConfig { secret: Some(WHSEC.into()), max_attempts: Some(2), ..hook("webhook", &rx.url("/wh")) },
        HookConfig {
            secret: Some("SECdingINLINEsecret".into()),
            max_attempts: Some(2),
            ..hook("dingtalk", &rx.url("/robot/send?access_token=dingTOKEN"))
        },
        HookConfig { max_attempts: Some(2), ..hook("slack", &rx.url("/services/T0/B0/slackTOKEN")) },
        HookConfig {
            secret_file: Some("feishu.key".into()),
            max_attempts: Some(2),
            ..hook("feishu", &format!("http://127.0.0.1:{closed_port}/hook/feishuTOKEN"))
        },
        HookConfig { max_attempts: Some(2), ..hook("wecom", &rx.url("/send?key=wecomTOKEN")) },
    ];
    let registry = Registry::new();
    let hooks = Hooks::start(&configs, &dir, &registry).unwrap();
    hooks.notify(&cluster("T07", T0));
    let debug = format!("{hooks:?} {configs:?}");
    hooks.shutdown(FLUSH).await;
    drop(_guard);
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();

    assert!(debug.contains("dingtalk-1") && debug.contains("127.0.0.1"), "{debug}");
    assert!(logs.contains("alert hook failing"), "{logs}");
    assert!(logs.contains("alert(s) not delivered"), "{logs}");
    for secret in [
        &WHSEC[6..],
        "SECdingINLINEsecret",
        "feishuFILEsecret",
        "dingTOKEN",
        "slackTOKEN",
        "feishuTOKEN",
        "wecomTOKEN",
        "sign=",
    ] {
        assert!(!debug.contains(secret), "Debug output shows {secret}: {debug}");
        assert!(!logs.contains(secret), "logs show {secret}:\n{logs}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------- a real Alertmanager

const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";

/// Kills the Alertmanager when the test ends, however it ends.
struct Child(std::process::Child, PathBuf);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

async fn am_alerts(client: &reqwest::Client, base: &str) -> Vec<Value> {
    let v: Value = client.get(format!("{base}/api/v2/alerts")).send().await.unwrap().json().await.unwrap();
    v.as_array().unwrap().clone()
}

fn find<'a>(alerts: &'a [Value], id: &str) -> Option<&'a Value> {
    alerts.iter().find(|a| a["labels"]["alert_id"] == id)
}

/// Starts Debian's Alertmanager on `port` with its data in `dir` and waits until it is ready.
async fn start_alertmanager(dir: &Path, port: u16) -> std::process::Child {
    assert!(
        Path::new(ALERTMANAGER).exists(),
        "{ALERTMANAGER} is missing: this test needs the Debian package prometheus-alertmanager \
         (apt-get install prometheus-alertmanager)"
    );
    std::fs::write(dir.join("alertmanager.yml"), "route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n")
        .unwrap();
    let log = std::fs::File::create(dir.join("alertmanager.log")).unwrap();
    let mut child = std::process::Command::new(ALERTMANAGER)
        .arg(format!("--config.file={}", dir.join("alertmanager.yml").display()))
        .arg(format!("--storage.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start alertmanager");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.get(format!("http://127.0.0.1:{port}/-/ready")).send().await
            && r.status().is_success()
        {
            return child;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let log = std::fs::read_to_string(dir.join("alertmanager.log")).unwrap_or_default();
            panic!("alertmanager exited ({status}):\n{log}");
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("alertmanager not ready after 30 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_alertmanager_shows_the_alert_then_resolves_it() {
    let dir = temp_dir("am");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let _am = Child(start_alertmanager(&dir, port).await, dir.clone());
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();

    let (hooks, reg) = start(&[HookConfig { resend_interval_secs: Some(1), ..hook("alertmanager", &base) }]);
    let now = now_ms();
    let mut a = alert(AlertKind::LongAux, "T07", &["A0042"], now - 700_000);
    a.fired_at = now - 100_000;
    hooks.notify(&a);

    let deadline = Instant::now() + WAIT;
    let shown = loop {
        if let Some(x) = find(&am_alerts(&client, &base).await, &a.id) {
            break x.clone();
        }
        assert!(Instant::now() < deadline, "alert never showed up in Alertmanager");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(shown["labels"]["alertname"], "long_aux");
    assert_eq!(shown["labels"]["team"], "T07");
    assert_eq!(shown["labels"]["severity"], "warning");
    assert_eq!(shown["labels"]["agent"], "A0042");
    assert_eq!(shown["status"]["state"], "active");
    assert!(shown["annotations"]["summary"].as_str().unwrap().contains("Long aux"));
    assert_eq!(parse_rfc3339(shown["startsAt"].as_str().unwrap()), Some(a.fired_at));
    assert_eq!(shown["annotations"]["value"], "600");

    // Its figures corrected (the same fire): Alertmanager shows them from the next
    // keep-alive on, the alert active throughout.
    let a = Alert { value: 660.0, ..a };
    hooks.notify(&a);
    let deadline = Instant::now() + WAIT;
    loop {
        let now = am_alerts(&client, &base).await;
        let shown = find(&now, &a.id).expect("the alert stays active");
        if shown["annotations"]["value"] == "660" {
            break;
        }
        assert!(Instant::now() < deadline, "Alertmanager kept the figures first posted: {shown}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    hooks.notify(&resolved(&a, now_ms()));
    let deadline = Instant::now() + WAIT;
    while find(&am_alerts(&client, &base).await, &a.id).is_some() {
        assert!(Instant::now() < deadline, "alert still active after its resolve");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    hooks.shutdown(FLUSH).await;
    assert_eq!(deliveries(&reg, "alertmanager-0", "delivered"), 2.0);
    assert_eq!(deliveries(&reg, "alertmanager-0", "failed"), 0.0);
}

/// Alertmanager down while a flood of alerts fires (a restart at shift start): the hook's
/// queue fills and drops the oldest firings; when Alertmanager is back, every alert still
/// firing shows in it, those dropped included (posted with the keep-alives).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_alertmanager_back_from_an_outage_shows_every_alert_still_firing() {
    let dir = temp_dir("am-outage");
    // Alertmanager's port while it is down: connections are taken and never answered, so
    // the first post hangs while the others queue behind it, whatever the timing.
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hole.local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let (hooks, reg) = start(&[HookConfig {
        queue_capacity: Some(3),
        resend_interval_secs: Some(1),
        max_attempts: Some(2),
        timeout_ms: Some(5_000),
        ..hook("alertmanager", &base)
    }]);
    let now = now_ms();
    let alerts: Vec<Alert> = (0..9)
        .map(|i| {
            let mut a = alert(AlertKind::LongAux, &format!("T{i:02}"), &[&format!("A{i:04}")], now - 700_000 - i);
            a.fired_at = now - 100_000;
            a
        })
        .collect();
    hooks.notify(&alerts[0]);
    tokio::time::sleep(Duration::from_millis(300)).await; // #0 is in flight, unanswered
    for a in &alerts[1..] {
        hooks.notify(a);
    }
    assert_eq!(deliveries(&reg, "alertmanager-0", "dropped"), 5.0, "the queue of 3 dropped the 5 oldest");
    drop(hole);
    let _am = Child(start_alertmanager(&dir, port).await, dir.clone());
    let deadline = Instant::now() + WAIT;
    loop {
        let shown = am_alerts(&client, &base).await;
        let missing: Vec<&str> =
            alerts.iter().filter(|a| find(&shown, &a.id).is_none()).map(|a| a.id.as_str()).collect();
        if missing.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "not in Alertmanager after the outage: {missing:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // And they resolve as usual.
    for a in &alerts {
        hooks.notify(&resolved(a, now_ms()));
    }
    let deadline = Instant::now() + WAIT;
    loop {
        let shown = am_alerts(&client, &base).await;
        if !alerts.iter().any(|a| find(&shown, &a.id).is_some()) {
            break;
        }
        assert!(Instant::now() < deadline, "alerts still active after their resolves");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    hooks.shutdown(FLUSH).await;
}
