//! `[[sources]]` entries (SPEC §7): read from the TOML tables `config` keeps, validated
//! once into [`SourceSettings`], every error naming its key (`sources[0].addr: ...`).
//!
//! `kind = "asterisk"` and `kind = "freeswitch"` exist so far; the other kinds of §7 are
//! refused by name.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;

use crate::config::{ConfigError, resolve_secret};
use crate::hooks::Secret;

/// One `[[sources]]` entry as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceFile {
    /// `asterisk` or `freeswitch` (the others of SPEC §7 are not built yet).
    kind: String,
    /// The `source` label of its counters and health; default the kind.
    name: Option<String>,
    /// `host:port` of the platform's manager interface (AMI: port 5038; ESL: 8021).
    addr: Option<String>,
    /// The AMI user (manager.conf section).
    username: Option<String>,
    /// Its secret; or `secret_env` (an environment variable) or `secret_file` (relative to
    /// the config file). At most one.
    secret: Option<String>,
    secret_env: Option<String>,
    secret_file: Option<String>,
    /// FreeSWITCH: the event socket's password (event_socket.conf.xml); or `password_env`
    /// or `password_file`. At most one.
    password: Option<String>,
    password_env: Option<String>,
    password_file: Option<String>,
    /// Wrap-up after each call when the member's own `Wrapuptime` is 0, in seconds: the
    /// `wrapuptime` of the platform's queues. Default 0 (Asterisk's default). FreeSWITCH:
    /// the wrap-up of agents not in the agent list read at connect (each listed agent has
    /// its own `wrap_up_time`).
    wrapup_secs: Option<u64>,
    /// Agent (member interface) → team; agents not listed are in their first queue.
    #[serde(default)]
    teams: BTreeMap<String, String>,
    /// FreeSWITCH: agent → display name (mod_callcenter knows agents by id only).
    #[serde(default)]
    names: BTreeMap<String, String>,
}

/// A validated source with its secret resolved. `Debug` never shows the secret.
#[derive(Clone, Debug)]
pub struct SourceSettings {
    pub name: String,
    pub kind: SourceKind,
}

#[derive(Clone, Debug)]
pub enum SourceKind {
    Asterisk(AsteriskSettings),
    Freeswitch(FreeswitchSettings),
}

impl SourceKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            SourceKind::Asterisk(_) => "asterisk",
            SourceKind::Freeswitch(_) => "freeswitch",
        }
    }
}

#[derive(Clone, Debug)]
pub struct AsteriskSettings {
    /// `host:port`, resolved at each connect.
    pub addr: String,
    pub username: String,
    pub secret: Secret,
    pub wrapup_secs: u64,
    pub teams: HashMap<String, String>,
}

#[derive(Clone, Debug)]
pub struct FreeswitchSettings {
    /// `host:port`, resolved at each connect.
    pub addr: String,
    pub password: Secret,
    /// Wrap-up for agents whose `wrap_up_time` floorwatch has not read (added after it
    /// connected), in seconds.
    pub wrapup_secs: u64,
    pub teams: HashMap<String, String>,
    pub names: HashMap<String, String>,
}

/// Longest wrap-up accepted (a day): longer is a typo.
const MAX_WRAPUP_SECS: u64 = 86_400;
/// Not built yet (SPEC §7).
const LATER: [&str; 3] = ["connect", "twilio", "genesys"];

fn invalid(i: usize, key: &str, message: impl Into<String>) -> ConfigError {
    let key = if key.is_empty() { format!("sources[{i}]") } else { format!("sources[{i}].{key}") };
    ConfigError::Invalid { key, message: message.into() }
}

/// Validates every `[[sources]]` entry; file paths are relative to `base_dir`. Reports
/// every error found.
pub fn validate(tables: &[toml::Table], base_dir: &Path) -> Result<Vec<SourceSettings>, Vec<ConfigError>> {
    let mut errs = Vec::new();
    let mut out: Vec<SourceSettings> = Vec::new();
    for (i, t) in tables.iter().enumerate() {
        let f: SourceFile = match toml::Value::Table(t.clone()).try_into() {
            Ok(f) => f,
            Err(e) => {
                errs.push(invalid(i, "", e.to_string().trim().replace('\n', " ")));
                continue;
            }
        };
        let name = f.name.clone().unwrap_or_else(|| f.kind.clone());
        let name_ok = !name.is_empty()
            && name.len() <= 64
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !name_ok {
            errs.push(invalid(i, "name", format!("{name:?} must be 1-64 of a-z, A-Z, 0-9, _ and -")));
        } else if out.iter().any(|s| s.name == name)
            || ["tcp", "ws", "http", "replay", "demo", "journal"].contains(&name.as_str())
        {
            errs.push(invalid(i, "name", format!("{name:?} is taken: give each source its own name")));
        }
        match f.kind.as_str() {
            "asterisk" => {
                if let Some(s) = asterisk(i, &f, base_dir, &mut errs) {
                    out.push(SourceSettings { name, kind: SourceKind::Asterisk(s) });
                }
            }
            "freeswitch" => {
                if let Some(s) = freeswitch(i, &f, base_dir, &mut errs) {
                    out.push(SourceSettings { name, kind: SourceKind::Freeswitch(s) });
                }
            }
            k if LATER.contains(&k) => {
                errs.push(invalid(i, "kind", format!("{k:?} is not supported yet (asterisk, freeswitch)")))
            }
            k => errs.push(invalid(i, "kind", format!("{k:?} is not a source kind (asterisk, freeswitch)"))),
        }
    }
    if errs.is_empty() { Ok(out) } else { Err(errs) }
}

fn asterisk(i: usize, f: &SourceFile, base_dir: &Path, errs: &mut Vec<ConfigError>) -> Option<AsteriskSettings> {
    let before = errs.len();
    let addr = addr(i, f, "AMI listens on 5038", errs);
    for (key, given) in [
        ("password", f.password.is_some() || f.password_env.is_some() || f.password_file.is_some()),
        ("names", !f.names.is_empty()),
    ] {
        if given {
            errs.push(invalid(i, key, "is a freeswitch key (asterisk takes username and secret)"));
        }
    }
    let username = f.username.clone().unwrap_or_default();
    if username.is_empty() || username.contains(['\r', '\n']) {
        errs.push(invalid(i, "username", "must name the AMI user (a manager.conf section)"));
    }
    let key = format!("sources[{i}].secret");
    let secret = match resolve_secret(&key, &f.secret, &f.secret_env, &f.secret_file, base_dir) {
        Ok(Some(s)) if !s.contains(['\r', '\n']) => Some(Secret::new(s)),
        Ok(Some(_)) => {
            errs.push(invalid(i, "secret", "must be one line"));
            None
        }
        Ok(None) => {
            errs.push(invalid(i, "secret", "is required (or secret_env / secret_file)"));
            None
        }
        Err(e) => {
            errs.push(e);
            None
        }
    };
    let wrapup_secs = wrapup_and_teams(i, f, errs);
    if errs.len() > before {
        return None;
    }
    Some(AsteriskSettings {
        addr,
        username,
        secret: secret?,
        wrapup_secs,
        teams: f.teams.iter().map(|(a, t)| (a.clone(), t.clone())).collect(),
    })
}

/// `addr`: host:port.
fn addr(i: usize, f: &SourceFile, hint: &str, errs: &mut Vec<ConfigError>) -> String {
    let addr = f.addr.clone().unwrap_or_default();
    let port_ok = addr.rsplit_once(':').is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
    if !port_ok {
        errs.push(invalid(i, "addr", format!("{addr:?} is not host:port ({hint})")));
    }
    addr
}

/// `wrapup_secs` (default 0) and the `teams` map, checked.
fn wrapup_and_teams(i: usize, f: &SourceFile, errs: &mut Vec<ConfigError>) -> u64 {
    let wrapup_secs = f.wrapup_secs.unwrap_or(0);
    if wrapup_secs > MAX_WRAPUP_SECS {
        errs.push(invalid(i, "wrapup_secs", format!("must be at most {MAX_WRAPUP_SECS}")));
    }
    for (agent, team) in &f.teams {
        let ok = |s: &str| !s.is_empty() && s.len() <= 64 && !s.chars().any(char::is_control);
        if !ok(agent) || !ok(team) {
            errs.push(invalid(i, &format!("teams.{agent}"), "agent and team must be 1-64 printable bytes"));
        }
    }
    wrapup_secs
}

fn freeswitch(i: usize, f: &SourceFile, base_dir: &Path, errs: &mut Vec<ConfigError>) -> Option<FreeswitchSettings> {
    let before = errs.len();
    let addr = addr(i, f, "the event socket listens on 8021", errs);
    for (key, given) in [
        ("username", f.username.is_some()),
        ("secret", f.secret.is_some() || f.secret_env.is_some() || f.secret_file.is_some()),
    ] {
        if given {
            errs.push(invalid(i, key, "is an asterisk key (freeswitch takes password)"));
        }
    }
    let key = format!("sources[{i}].password");
    let password = match resolve_secret(&key, &f.password, &f.password_env, &f.password_file, base_dir) {
        Ok(Some(s)) if !s.contains(['\r', '\n']) => Some(Secret::new(s)),
        Ok(Some(_)) => {
            errs.push(invalid(i, "password", "must be one line"));
            None
        }
        Ok(None) => {
            errs.push(invalid(i, "password", "is required (or password_env / password_file)"));
            None
        }
        Err(e) => {
            errs.push(e);
            None
        }
    };
    let wrapup_secs = wrapup_and_teams(i, f, errs);
    for (agent, name) in &f.names {
        if agent.is_empty()
            || agent.len() > 64
            || name.is_empty()
            || name.len() > 256
            || name.chars().any(char::is_control)
        {
            errs.push(invalid(i, &format!("names.{agent}"), "agent 1-64 bytes, name 1-256 printable bytes"));
        }
    }
    if errs.len() > before {
        return None;
    }
    Some(FreeswitchSettings {
        addr,
        password: password?,
        wrapup_secs,
        teams: f.teams.iter().map(|(a, t)| (a.clone(), t.clone())).collect(),
        names: f.names.iter().map(|(a, n)| (a.clone(), n.clone())).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(toml: &str) -> Vec<String> {
        let t: toml::Table = toml.parse().unwrap();
        let tables: Vec<toml::Table> =
            t["sources"].as_array().unwrap().iter().map(|v| v.as_table().unwrap().clone()).collect();
        match validate(&tables, Path::new(".")) {
            Ok(_) => Vec::new(),
            Err(e) => e.iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn errors_name_the_key() {
        let ok = "kind = \"asterisk\"\naddr = \"127.0.0.1:5038\"\nusername = \"fw\"\nsecret = \"s\"\n";
        assert!(errors(&format!("[[sources]]\n{ok}")).is_empty());
        for (extra, key) in [
            ("addr = \"nowhere\"\nusername = \"fw\"\nsecret = \"s\"", "sources[0].addr"),
            ("addr = \"h:1\"\nsecret = \"s\"", "sources[0].username"),
            ("addr = \"h:1\"\nusername = \"u\"", "sources[0].secret"),
            ("addr = \"h:1\"\nusername = \"u\"\nsecret_env = \"FW_NO_SUCH_VAR_X\"", "sources[0].secret_env"),
            ("addr = \"h:1\"\nusername = \"u\"\nsecret = \"s\"\nsecret_file = \"f\"", "sources[0].secret"),
            ("addr = \"h:1\"\nusername = \"u\"\nsecret = \"s\"\nwrapup_secs = 100000", "sources[0].wrapup_secs"),
            ("addr = \"h:1\"\nusername = \"u\"\nsecret = \"s\"\nname = \"a b\"", "sources[0].name"),
            ("addr = \"h:1\"\nusername = \"u\"\nsecret = \"s\"\nadr = 1", "sources[0]: "),
        ] {
            let e = errors(&format!("[[sources]]\nkind = \"asterisk\"\n{extra}\n"));
            assert!(e.iter().any(|e| e.starts_with(key)), "{extra:?} gave {e:?}");
        }
        let e = errors("[[sources]]\nkind = \"genesys\"\n");
        assert!(e[0].starts_with("sources[0].kind: ") && e[0].contains("not supported yet"), "{e:?}");
        let e = errors(&format!("[[sources]]\n{ok}[[sources]]\n{ok}"));
        assert!(e[0].starts_with("sources[1].name: ") && e[0].contains("taken"), "{e:?}");
    }

    #[test]
    fn freeswitch_errors_name_the_key() {
        let ok = "kind = \"freeswitch\"\naddr = \"127.0.0.1:8021\"\npassword = \"ClueCon\"\n";
        assert!(errors(&format!("[[sources]]\n{ok}")).is_empty());
        assert!(errors(&format!("[[sources]]\n{ok}names = {{ \"1000@default\" = \"Li Na\" }}\n")).is_empty());
        for (extra, key) in [
            ("addr = \"h\"\npassword = \"p\"", "sources[0].addr"),
            ("addr = \"h:8021\"", "sources[0].password"),
            ("addr = \"h:8021\"\npassword_env = \"FW_NO_SUCH_VAR_Y\"", "sources[0].password_env"),
            ("addr = \"h:8021\"\npassword = \"p\"\nsecret = \"s\"", "sources[0].secret"),
            ("addr = \"h:8021\"\npassword = \"p\"\nnames = { a = \"\" }", "sources[0].names.a"),
            ("addr = \"h:8021\"\npassword = \"p\"\nwrapup_secs = 100000", "sources[0].wrapup_secs"),
        ] {
            let e = errors(&format!("[[sources]]\nkind = \"freeswitch\"\n{extra}\n"));
            assert!(e.iter().any(|e| e.starts_with(key)), "{extra:?} gave {e:?}");
        }
        let e = errors(
            "[[sources]]\nkind = \"asterisk\"\naddr = \"h:1\"\nusername = \"u\"\nsecret = \"s\"\npassword = \"p\"\n",
        );
        assert!(e.iter().any(|e| e.starts_with("sources[0].password")), "{e:?}");
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let t: toml::Table =
            "kind = \"asterisk\"\naddr = \"h:5038\"\nusername = \"fw\"\nsecret = \"hunter2-secret\"".parse().unwrap();
        let s = validate(&[t], Path::new(".")).unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2") && shown.contains("Secret(***)"), "{shown}");
        assert_eq!(s[0].name, "asterisk");
        let t: toml::Table = "kind = \"freeswitch\"\naddr = \"h:8021\"\npassword = \"hunter3-pass\"".parse().unwrap();
        let s = validate(&[t], Path::new(".")).unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter3") && shown.contains("Secret(***)"), "{shown}");
        assert_eq!(s[0].name, "freeswitch");
    }
}
