//! Types that keep credentials out of logs and `Debug` output.
//!
//! A hook has two kinds of credential: the `secret` used for signing, and the URL itself
//! (Slack, Teams, WeCom and Feishu URLs carry a token in the path or query, and a signed
//! DingTalk URL carries the signature). Both are wrapped here so that a `{:?}` of a config
//! or of `Hooks` can never print them, and `destination` gives the only form of a URL that
//! may be logged: scheme, host and port.

use std::fmt;

use serde::Deserialize;

/// A secret string from the configuration. `Debug` prints `Secret(***)`; there is no
/// `Display`, so it cannot end up in a log line by accident.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }

    /// The secret itself, for signing. Never log the result.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(s.to_owned())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret(s)
    }
}

/// A destination URL from the configuration. `Debug` prints only scheme, host and port
/// (see [`destination`]), because many robot URLs are themselves the credential.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct HookUrl(String);

impl HookUrl {
    pub fn new(s: impl Into<String>) -> HookUrl {
        HookUrl(s.into())
    }

    /// The full URL, for sending. Never log the result; log [`destination`] instead.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for HookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HookUrl({})", destination(&self.0))
    }
}

impl From<&str> for HookUrl {
    fn from(s: &str) -> HookUrl {
        HookUrl(s.to_owned())
    }
}

impl From<String> for HookUrl {
    fn from(s: String) -> HookUrl {
        HookUrl(s)
    }
}

/// The loggable part of a URL: `scheme://host[:port]`, without user info, path or query.
/// Anything that does not parse as a URL is shown as `<invalid url>`.
pub fn destination(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("");
            match u.port() {
                Some(p) => format!("{}://{host}:{p}", u.scheme()),
                None => format!("{}://{host}", u.scheme()),
            }
        }
        Err(_) => "<invalid url>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str, expected: &str) {
        assert_eq!(destination(url), expected, "{url}");
        assert_eq!(format!("{:?}", HookUrl::from(url)), format!("HookUrl({expected})"));
    }

    #[test]
    fn destinations_hide_paths_queries_and_user_info() {
        check("https://hooks.slack.com/services/T000/B000/XXXXXXXX", "https://hooks.slack.com");
        check("https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1&sign=x", "https://oapi.dingtalk.com");
        check("http://user:pw@127.0.0.1:9093/", "http://127.0.0.1:9093");
        check("not a url token123", "<invalid url>");
    }

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret::from("whsec_abc");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(s.expose(), "whsec_abc");
    }
}
