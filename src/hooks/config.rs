//! `[[hooks]]` configuration (docs/alerts.md#hooks) and its validation into a resolved [`HookSpec`].
//!
//! Every key is optional except `kind` and `url`; defaults that depend on the kind (the
//! rate limit) are applied here, so the rest of the module only sees resolved values.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;

use super::HookError;
use super::secret::{HookUrl, Secret, destination};
use crate::alert::{Alert, AlertKind, AlertState, Severity};

/// One `[[hooks]]` entry. `Debug` never shows the secret or the URL's path and query.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookConfig {
    /// Name in logs and in the `hook` label of the metrics; unique among hooks.
    /// Default `<kind>-<index>`, the index counting `[[hooks]]` entries from 0.
    pub name: Option<String>,
    /// Destination type: `webhook`, `slack`, `teams`, `dingtalk`, `wecom`, `feishu` or
    /// `alertmanager`.
    pub kind: String,
    /// Destination, `http://` or `https://`. For `alertmanager` the base URL of the
    /// Alertmanager (`/api/v2/alerts` is appended unless the path already ends with it).
    pub url: HookUrl,
    /// Signing secret: `webhook` (Standard Webhooks, `whsec_<base64>`), `dingtalk`
    /// (`SEC...`) and `feishu` only. At most one of `secret`, `secret_env`, `secret_file`.
    pub secret: Option<Secret>,
    /// Name of an environment variable holding the secret.
    pub secret_env: Option<String>,
    /// File holding the secret (surrounding whitespace ignored), relative to the config file.
    pub secret_file: Option<PathBuf>,
    /// Alert kinds to send (`aux_cluster`, `long_aux`, `aux_dispersion`,
    /// `utilization_high`). Absent = all kinds.
    pub kinds: Option<Vec<String>>,
    /// Teams to send. Absent = all teams.
    pub teams: Option<Vec<String>>,
    /// Lowest severity sent: `info`, `warning` or `critical`. Default `info` (everything).
    pub min_severity: Option<String>,
    /// Also send resolves. Default true.
    pub send_resolved: Option<bool>,
    /// Language of the rendered messages: `en` or `zh`. Default `en`.
    pub lang: Option<String>,
    /// IANA time zone for clock times in messages, e.g. `Asia/Shanghai`. Default: the
    /// floor's (`floor.timezone`, filled in by `server::check_parts`); UTC if none.
    pub timezone: Option<String>,
    /// Wallboard URL, linked from chat messages and sent as Alertmanager `generatorURL`.
    pub wallboard_url: Option<String>,
    /// Requests per minute to this destination (a sliding 60 s window); alerts that wait
    /// for the budget are grouped into one digest message. 0 = unlimited. Default 20 for
    /// chat robots (`slack`, `teams`, `dingtalk`, `wecom`, `feishu`), 0 otherwise.
    pub rate_per_minute: Option<u32>,
    /// Alerts waiting for delivery; when full, the oldest is dropped and counted.
    /// Default 1000.
    pub queue_capacity: Option<usize>,
    /// Attempts per message (first try included) before giving up. Default 8.
    pub max_attempts: Option<u32>,
    /// Timeout of one HTTP request, connect to end of response body. Default 10000.
    pub timeout_ms: Option<u64>,
    /// Back-off base: retry n waits a random time in [0, min(retry_max_ms,
    /// retry_base_ms * 2^(n-1))] ("full jitter"). Default 500.
    pub retry_base_ms: Option<u64>,
    /// Longest wait between attempts; also caps a server's `Retry-After`. Default 60000.
    pub retry_max_ms: Option<u64>,
    /// `alertmanager` only: re-post firing alerts this often (with `endsAt` 4 intervals
    /// ahead) so Alertmanager does not time them out while they last, as Prometheus does.
    /// 0 = post once without `endsAt`. Default 60.
    pub resend_interval_secs: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HookKind {
    Webhook,
    Slack,
    Teams,
    DingTalk,
    WeCom,
    Feishu,
    Alertmanager,
}

impl HookKind {
    pub const ALL: [HookKind; 7] = [
        HookKind::Webhook,
        HookKind::Slack,
        HookKind::Teams,
        HookKind::DingTalk,
        HookKind::WeCom,
        HookKind::Feishu,
        HookKind::Alertmanager,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HookKind::Webhook => "webhook",
            HookKind::Slack => "slack",
            HookKind::Teams => "teams",
            HookKind::DingTalk => "dingtalk",
            HookKind::WeCom => "wecom",
            HookKind::Feishu => "feishu",
            HookKind::Alertmanager => "alertmanager",
        }
    }

    pub fn parse(s: &str) -> Option<HookKind> {
        HookKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Chat robots: rate-limited by their platforms, so they get digests.
    pub fn is_robot(self) -> bool {
        !matches!(self, HookKind::Webhook | HookKind::Alertmanager)
    }

    fn takes_secret(self) -> bool {
        matches!(self, HookKind::Webhook | HookKind::DingTalk | HookKind::Feishu)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

/// The signing key, resolved from `secret*`. No `Debug` output of the bytes.
#[derive(Clone)]
pub enum SigningKey {
    /// Standard Webhooks: the base64-decoded bytes of `whsec_<base64>`.
    Bytes(Vec<u8>),
    /// DingTalk and Feishu sign with the secret string itself.
    Text(Secret),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(***)")
    }
}

/// Which alerts a hook wants.
#[derive(Clone, Debug)]
pub struct Filter {
    kinds: Option<Vec<AlertKind>>,
    teams: Option<HashSet<String>>,
    min_severity: Severity,
    send_resolved: bool,
}

impl Filter {
    /// Whether the hook wants `a`. A retraction passes whatever its state: it takes back a
    /// firing the hook may have sent, even one that then resolved (a hook without resolves
    /// hears nothing of the resolve, but must hear that the alert never happened; its queue
    /// sends the retraction only if the firing went out).
    pub fn matches(&self, a: &Alert) -> bool {
        (self.send_resolved || a.state == AlertState::Firing || a.retracted)
            && a.severity >= self.min_severity
            && self.kinds.as_ref().is_none_or(|k| k.contains(&a.kind))
            // A queue's alert has no team: a team lead's hook hears of callers waiting too.
            && (a.queue.is_some() || self.teams.as_ref().is_none_or(|t| t.contains(&a.team)))
    }

    /// Whether the hook sends resolves (`send_resolved`).
    pub fn sends_resolves(&self) -> bool {
        self.send_resolved
    }
}

/// A validated hook with every default applied and the secret resolved.
/// Deliberately not `Debug`: `url` holds the credential of most robots.
pub struct HookSpec {
    pub name: String,
    pub kind: HookKind,
    /// Where requests go (for Alertmanager, the full `/api/v2/alerts` URL).
    pub url: reqwest::Url,
    /// `scheme://host[:port]` of `url`: the only form that is logged.
    pub destination: String,
    pub key: Option<SigningKey>,
    pub filter: Filter,
    pub lang: Lang,
    pub tz: jiff::tz::TimeZone,
    pub wallboard_url: Option<String>,
    /// 0 = unlimited.
    pub rate_per_minute: u32,
    pub queue_capacity: usize,
    pub max_attempts: u32,
    pub timeout: Duration,
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// Alertmanager keep-alive period; `None` for other kinds or when 0.
    pub resend_interval: Option<Duration>,
}

const MAX_QUEUE_CAPACITY: usize = 1_000_000;
const MAX_ATTEMPTS: u32 = 100;
const MAX_TIMEOUT_MS: u64 = 600_000;
const MAX_NAME_BYTES: usize = 64;

/// Validates all hooks and resolves their secrets; file paths are relative to `base_dir`.
pub fn resolve_all(hooks: &[HookConfig], base_dir: &Path) -> Result<Vec<HookSpec>, HookError> {
    let mut names = HashSet::new();
    let mut specs = Vec::with_capacity(hooks.len());
    for (i, h) in hooks.iter().enumerate() {
        let spec = resolve(i, h, base_dir)?;
        if !names.insert(spec.name.clone()) {
            return Err(err(i, "name", format!("`{}` is used by another hook", spec.name)));
        }
        specs.push(spec);
    }
    Ok(specs)
}

fn err(i: usize, key: &str, msg: impl Into<String>) -> HookError {
    HookError::Config { key: format!("hooks[{i}].{key}"), msg: msg.into() }
}

fn resolve(i: usize, h: &HookConfig, base_dir: &Path) -> Result<HookSpec, HookError> {
    let kind = HookKind::parse(&h.kind).ok_or_else(|| {
        let all: Vec<_> = HookKind::ALL.iter().map(|k| k.as_str()).collect();
        err(i, "kind", format!("unknown kind `{}`; expected one of {}", h.kind, all.join(", ")))
    })?;

    let name = match &h.name {
        Some(n) if n.trim().is_empty() => return Err(err(i, "name", "must not be empty")),
        Some(n) if n.len() > MAX_NAME_BYTES => {
            return Err(err(i, "name", format!("longer than {MAX_NAME_BYTES} bytes")));
        }
        Some(n) => n.clone(),
        None => format!("{}-{i}", kind.as_str()),
    };

    let url = parse_http_url(h.url.expose()).map_err(|m| err(i, "url", m))?;
    let url = if kind == HookKind::Alertmanager { alertmanager_endpoint(url) } else { url };
    let destination = destination(url.as_str());

    let key = resolve_secret(i, h, kind, base_dir)?;

    let kinds = match &h.kinds {
        None => None,
        Some(list) if list.is_empty() => {
            return Err(err(i, "kinds", "empty list; leave the key out to send all kinds"));
        }
        Some(list) => Some(
            list.iter()
                .map(|k| {
                    AlertKind::parse(k).ok_or_else(|| {
                        let all: Vec<_> = AlertKind::ALL.iter().map(|k| k.as_str()).collect();
                        err(i, "kinds", format!("unknown alert kind `{k}`; expected {}", all.join(", ")))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let teams = match &h.teams {
        None => None,
        Some(list) if list.is_empty() => {
            return Err(err(i, "teams", "empty list; leave the key out to send all teams"));
        }
        Some(list) => Some(list.iter().cloned().collect()),
    };
    let min_severity = match &h.min_severity {
        None => Severity::Info,
        Some(s) => Severity::parse(s)
            .ok_or_else(|| err(i, "min_severity", format!("`{s}`; expected info, warning or critical")))?,
    };
    let filter = Filter { kinds, teams, min_severity, send_resolved: h.send_resolved.unwrap_or(true) };

    let lang = match h.lang.as_deref() {
        None | Some("en") => Lang::En,
        Some("zh") => Lang::Zh,
        Some(other) => return Err(err(i, "lang", format!("`{other}`; expected en or zh"))),
    };
    let tz = match &h.timezone {
        None => jiff::tz::TimeZone::UTC,
        Some(name) => {
            jiff::tz::TimeZone::get(name).map_err(|_| err(i, "timezone", format!("unknown IANA time zone `{name}`")))?
        }
    };
    let wallboard_url = match &h.wallboard_url {
        None => None,
        Some(u) => Some(parse_http_url(u).map_err(|m| err(i, "wallboard_url", m))?.to_string()),
    };

    let rate_per_minute = h.rate_per_minute.unwrap_or(if kind.is_robot() { 20 } else { 0 });
    let queue_capacity = h.queue_capacity.unwrap_or(1000);
    if queue_capacity == 0 || queue_capacity > MAX_QUEUE_CAPACITY {
        return Err(err(i, "queue_capacity", format!("must be 1..={MAX_QUEUE_CAPACITY}")));
    }
    let max_attempts = h.max_attempts.unwrap_or(8);
    if max_attempts == 0 || max_attempts > MAX_ATTEMPTS {
        return Err(err(i, "max_attempts", format!("must be 1..={MAX_ATTEMPTS}")));
    }
    let timeout_ms = h.timeout_ms.unwrap_or(10_000);
    if timeout_ms == 0 || timeout_ms > MAX_TIMEOUT_MS {
        return Err(err(i, "timeout_ms", format!("must be 1..={MAX_TIMEOUT_MS}")));
    }
    let retry_base_ms = h.retry_base_ms.unwrap_or(500);
    if retry_base_ms == 0 {
        return Err(err(i, "retry_base_ms", "must be at least 1"));
    }
    let retry_max_ms = h.retry_max_ms.unwrap_or(60_000.max(retry_base_ms));
    if retry_max_ms < retry_base_ms || retry_max_ms > 3_600_000 {
        return Err(err(i, "retry_max_ms", "must be between retry_base_ms and 3600000"));
    }
    let resend_interval = match (kind, h.resend_interval_secs) {
        (HookKind::Alertmanager, None) => Some(Duration::from_secs(60)),
        (HookKind::Alertmanager, Some(0)) => None,
        (HookKind::Alertmanager, Some(s)) if s > 86_400 => {
            return Err(err(i, "resend_interval_secs", "must be at most 86400"));
        }
        (HookKind::Alertmanager, Some(s)) => Some(Duration::from_secs(s)),
        (_, None) => None,
        (_, Some(_)) => {
            return Err(err(i, "resend_interval_secs", "applies to alertmanager hooks only"));
        }
    };

    Ok(HookSpec {
        name,
        kind,
        url,
        destination,
        key,
        filter,
        lang,
        tz,
        wallboard_url,
        rate_per_minute,
        queue_capacity,
        max_attempts,
        timeout: Duration::from_millis(timeout_ms),
        retry_base: Duration::from_millis(retry_base_ms),
        retry_max: Duration::from_millis(retry_max_ms),
        resend_interval,
    })
}

/// Error messages never echo the URL: it may be a credential.
fn parse_http_url(s: &str) -> Result<reqwest::Url, String> {
    if s.is_empty() {
        return Err("missing".to_owned());
    }
    let u = reqwest::Url::parse(s).map_err(|e| format!("not a valid URL ({e})"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(format!("scheme `{}` is not http or https", u.scheme()));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err("has no host".to_owned());
    }
    Ok(u)
}

fn alertmanager_endpoint(mut u: reqwest::Url) -> reqwest::Url {
    let path = u.path().trim_end_matches('/');
    let path = if path.ends_with("/api/v2/alerts") { path.to_owned() } else { format!("{path}/api/v2/alerts") };
    u.set_path(&path);
    u
}

fn resolve_secret(i: usize, h: &HookConfig, kind: HookKind, base_dir: &Path) -> Result<Option<SigningKey>, HookError> {
    let given = [h.secret.is_some(), h.secret_env.is_some(), h.secret_file.is_some()];
    let key_name = if h.secret.is_some() {
        "secret"
    } else if h.secret_env.is_some() {
        "secret_env"
    } else {
        "secret_file"
    };
    match given.iter().filter(|g| **g).count() {
        0 => return Ok(None),
        1 => {}
        _ => {
            return Err(err(i, "secret", "give only one of secret, secret_env, secret_file"));
        }
    }
    if !kind.takes_secret() {
        let why = match kind {
            HookKind::Alertmanager => "Alertmanager requests are not signed",
            _ => "the URL itself is the credential",
        };
        return Err(err(i, key_name, format!("{} hooks take no secret: {why}", kind.as_str())));
    }
    let text = if let Some(s) = &h.secret {
        s.expose().to_owned()
    } else if let Some(var) = &h.secret_env {
        std::env::var(var).map_err(|_| err(i, "secret_env", format!("environment variable `{var}` is not set")))?
    } else {
        let rel = h.secret_file.as_ref().expect("counted above");
        let path = base_dir.join(rel);
        std::fs::read_to_string(&path).map_err(|e| err(i, "secret_file", format!("{}: {e}", path.display())))?
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(err(i, key_name, "the secret is empty"));
    }
    if kind == HookKind::Webhook {
        // As the Standard Webhooks reference libraries do: strip the prefix, decode the rest.
        let b64 = text.strip_prefix("whsec_").unwrap_or(text);
        match base64::engine::general_purpose::STANDARD.decode(b64) {
            Ok(bytes) if !bytes.is_empty() => Ok(Some(SigningKey::Bytes(bytes))),
            _ => Err(err(i, key_name, "not a Standard Webhooks secret (expected whsec_ followed by base64)")),
        }
    } else {
        Ok(Some(SigningKey::Text(Secret::new(text))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(cfg: HookConfig, expected_err: Option<&str>) {
        let got = resolve_all(std::slice::from_ref(&cfg), Path::new("/nonexistent"));
        match (got, expected_err) {
            (Ok(_), None) => {}
            (Err(e), Some(want)) => {
                let e = e.to_string();
                assert!(e.starts_with(want), "{cfg:?}: got `{e}`, want prefix `{want}`");
                assert!(!e.contains("tok3n"), "error leaks the URL: {e}");
            }
            (Ok(_), Some(want)) => panic!("{cfg:?}: accepted, want error `{want}`"),
            (Err(e), None) => panic!("{cfg:?}: rejected: {e}"),
        }
    }

    fn hook(kind: &str, url: &str) -> HookConfig {
        HookConfig { kind: kind.into(), url: url.into(), ..Default::default() }
    }

    #[test]
    fn validation_names_the_key() {
        let ok_url = "https://example.invalid/tok3n";
        check(hook("slack", ok_url), None);
        check(hook("pager", ok_url), Some("hooks[0].kind: unknown kind `pager`"));
        check(hook("slack", ""), Some("hooks[0].url: missing"));
        check(hook("slack", "ftp://example.invalid/tok3n"), Some("hooks[0].url: scheme"));
        check(hook("slack", "tok3n"), Some("hooks[0].url: not a valid URL"));
        check(
            HookConfig { secret: Some("x".into()), ..hook("slack", ok_url) },
            Some("hooks[0].secret: slack hooks take no secret"),
        );
        check(
            HookConfig { secret: Some("whsec_!!".into()), ..hook("webhook", ok_url) },
            Some("hooks[0].secret: not a Standard Webhooks secret"),
        );
        check(
            HookConfig { secret: Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()), ..hook("webhook", ok_url) },
            None,
        );
        check(
            HookConfig { secret: Some("SEC1".into()), secret_env: Some("X".into()), ..hook("dingtalk", ok_url) },
            Some("hooks[0].secret: give only one"),
        );
        check(
            HookConfig { secret_env: Some("FLOORWATCH_TEST_SURELY_UNSET".into()), ..hook("dingtalk", ok_url) },
            Some("hooks[0].secret_env: environment variable"),
        );
        check(
            HookConfig { secret_file: Some("nope.txt".into()), ..hook("feishu", ok_url) },
            Some("hooks[0].secret_file: /nonexistent/nope.txt"),
        );
        check(
            HookConfig { kinds: Some(vec!["aux".into()]), ..hook("slack", ok_url) },
            Some("hooks[0].kinds: unknown alert kind `aux`"),
        );
        check(HookConfig { kinds: Some(vec![]), ..hook("slack", ok_url) }, Some("hooks[0].kinds"));
        check(HookConfig { teams: Some(vec![]), ..hook("slack", ok_url) }, Some("hooks[0].teams"));
        check(HookConfig { min_severity: Some("high".into()), ..hook("slack", ok_url) }, Some("hooks[0].min_severity"));
        check(HookConfig { lang: Some("fr".into()), ..hook("slack", ok_url) }, Some("hooks[0].lang"));
        check(HookConfig { timezone: Some("Mars/Olympus".into()), ..hook("slack", ok_url) }, Some("hooks[0].timezone"));
        check(HookConfig { queue_capacity: Some(0), ..hook("slack", ok_url) }, Some("hooks[0].queue_capacity"));
        check(HookConfig { max_attempts: Some(0), ..hook("slack", ok_url) }, Some("hooks[0].max_attempts"));
        check(HookConfig { timeout_ms: Some(0), ..hook("slack", ok_url) }, Some("hooks[0].timeout_ms"));
        check(
            HookConfig { retry_base_ms: Some(100), retry_max_ms: Some(10), ..hook("slack", ok_url) },
            Some("hooks[0].retry_max_ms"),
        );
        check(
            HookConfig { resend_interval_secs: Some(30), ..hook("slack", ok_url) },
            Some("hooks[0].resend_interval_secs"),
        );
        check(HookConfig { name: Some(" ".into()), ..hook("slack", ok_url) }, Some("hooks[0].name"));
    }

    #[test]
    fn duplicate_names_are_rejected_with_the_later_index() {
        let a = HookConfig { name: Some("ops".into()), ..hook("slack", "https://a.invalid/") };
        let e = resolve_all(&[a.clone(), a], Path::new(".")).err().unwrap();
        assert_eq!(e.to_string(), "hooks[1].name: `ops` is used by another hook");
    }

    #[test]
    fn defaults_depend_on_kind() {
        let specs = resolve_all(
            &[hook("slack", "https://a.invalid/x"), hook("alertmanager", "http://am.invalid:9093/")],
            Path::new("."),
        )
        .unwrap();
        assert_eq!(specs[0].name, "slack-0");
        assert_eq!(specs[0].rate_per_minute, 20);
        assert_eq!(specs[0].resend_interval, None);
        assert_eq!(specs[1].name, "alertmanager-1");
        assert_eq!(specs[1].rate_per_minute, 0);
        assert_eq!(specs[1].url.as_str(), "http://am.invalid:9093/api/v2/alerts");
        assert_eq!(specs[1].resend_interval, Some(Duration::from_secs(60)));
        assert_eq!(specs[1].max_attempts, 8);
        assert_eq!(specs[1].queue_capacity, 1000);
    }

    #[test]
    fn alertmanager_path_is_appended_once() {
        for (given, want) in [
            ("http://h:9093", "http://h:9093/api/v2/alerts"),
            ("http://h:9093/am/", "http://h:9093/am/api/v2/alerts"),
            ("http://h:9093/api/v2/alerts", "http://h:9093/api/v2/alerts"),
            ("http://h:9093/api/v2/alerts/", "http://h:9093/api/v2/alerts"),
        ] {
            let u = alertmanager_endpoint(reqwest::Url::parse(given).unwrap());
            assert_eq!(u.as_str(), want, "{given}");
        }
    }
}
