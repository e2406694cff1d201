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
    /// `connect`: the key Firehose sends in `X-Amz-Firehose-Access-Key` (or a forwarding
    /// function in that header or as a bearer token); or `access_key_env` / `_file`.
    access_key: Option<String>,
    access_key_env: Option<String>,
    access_key_file: Option<String>,
    /// `connect`: the agent id, `username` (default) or `arn` (the id at the end of the
    /// agent's ARN).
    agent_id: Option<String>,
    /// `connect`: the team, `routing_profile` (default) or `hierarchy_level1` .. `_level5`.
    team_from: Option<String>,
    /// `twilio`: the account's auth token (signs `X-Twilio-Signature`); or `_env` / `_file`.
    auth_token: Option<String>,
    auth_token_env: Option<String>,
    auth_token_file: Option<String>,
    /// `twilio`: the Workspace's EventCallbackUrl exactly as configured at Twilio (Twilio
    /// signs the URL it calls, which a proxy in front of us rewrites).
    public_url: Option<String>,
    /// `twilio`: activities that make a worker `idle` (default `["Available"]`).
    available_activities: Option<Vec<String>>,
    /// `twilio`: the activity that makes a worker `offline` (default `Offline`).
    offline_activity: Option<String>,
    /// `twilio`: the key of WorkerAttributes naming the worker's team (default `team_name`).
    team_attribute: Option<String>,
    /// `connect`, `twilio`: the source is down when no delivery came for this long
    /// (default 600).
    stale_after_secs: Option<u64>,
    /// genesys: the Genesys Cloud region's domain (`mypurecloud.com`, `mypurecloud.ie`,
    /// `usw2.pure.cloud`...): the API is `https://api.<region>`, the login
    /// `https://login.<region>`. Or `api_base` and `login_base` in full.
    region: Option<String>,
    api_base: Option<String>,
    login_base: Option<String>,
    /// genesys: the OAuth client (client-credentials grant) and its secret (or
    /// `client_secret_env` / `client_secret_file`).
    client_id: Option<String>,
    client_secret: Option<String>,
    client_secret_env: Option<String>,
    client_secret_file: Option<String>,
    /// genesys: the queues (names or ids) whose members are watched.
    queues: Option<Vec<String>>,
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
    Connect(ConnectSettings),
    Twilio(TwilioSettings),
    Genesys(super::genesys::GenesysSettings),
    Freeswitch(FreeswitchSettings),
}

impl SourceKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            SourceKind::Asterisk(_) => "asterisk",
            SourceKind::Connect(_) => "connect",
            SourceKind::Twilio(_) => "twilio",
            SourceKind::Genesys(_) => "genesys",
            SourceKind::Freeswitch(_) => "freeswitch",
        }
    }
}

/// Which field of the agent's configuration names its team (`connect`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectTeam {
    RoutingProfile,
    /// `AgentHierarchyGroups.Level<n>.Name`, n in 1..=5.
    Hierarchy(u8),
}

/// A validated `connect` source (pushed to `POST /api/v1/sources/<name>`).
#[derive(Clone, Debug)]
pub struct ConnectSettings {
    pub access_key: Secret,
    /// The agent id is the ARN's id rather than the username.
    pub agent_id_arn: bool,
    pub team_from: ConnectTeam,
    pub stale_after_secs: u64,
}

/// A validated `twilio` source (pushed to `POST /api/v1/sources/<name>`).
#[derive(Clone, Debug)]
pub struct TwilioSettings {
    pub auth_token: Secret,
    pub public_url: String,
    pub available_activities: Vec<String>,
    pub offline_activity: String,
    pub team_attribute: String,
    pub stale_after_secs: u64,
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
/// Default `stale_after_secs` of the pushed sources: above Firehose's longest buffering
/// interval (900 s is its maximum, 300 s its default) would be 900; 600 covers the default
/// and Connect's 120 s heartbeats with room.
const STALE_AFTER_SECS: u64 = 600;

impl SourceFile {
    /// The keys a `genesys` entry reads (the others must be absent).
    fn genesys(&self) -> super::genesys::GenesysFile {
        let stray = [
            ("addr", self.addr.is_some()),
            ("username", self.username.is_some()),
            ("secret", self.secret.is_some() || self.secret_env.is_some() || self.secret_file.is_some()),
            ("wrapup_secs", self.wrapup_secs.is_some()),
        ]
        .iter()
        .filter(|(_, given)| *given)
        .map(|(k, _)| *k)
        .collect();
        super::genesys::GenesysFile {
            region: self.region.clone(),
            api_base: self.api_base.clone(),
            login_base: self.login_base.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            client_secret_env: self.client_secret_env.clone(),
            client_secret_file: self.client_secret_file.clone(),
            queues: self.queues.clone(),
            teams: self.teams.clone(),
            stray,
        }
    }
}

pub(super) fn invalid(i: usize, key: &str, message: impl Into<String>) -> ConfigError {
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
            || ["tcp", "ws", "http", "replay", "demo", "journal", "unknown"].contains(&name.as_str())
        {
            errs.push(invalid(i, "name", format!("{name:?} is taken: give each source its own name")));
        }
        match f.kind.as_str() {
            "asterisk" => {
                if let Some(s) = asterisk(i, &f, base_dir, &mut errs) {
                    out.push(SourceSettings { name, kind: SourceKind::Asterisk(s) });
                }
            }
            "genesys" => {
                if let Some(s) = super::genesys::settings(i, &f.genesys(), base_dir, &mut errs) {
                    out.push(SourceSettings { name, kind: SourceKind::Genesys(s) });
                }
            }
            "connect" => {
                if let Some(s) = connect(i, &f, base_dir, &mut errs) {
                    out.push(SourceSettings { name, kind: SourceKind::Connect(s) });
                }
            }
            "twilio" => {
                if let Some(s) = twilio(i, &f, base_dir, &mut errs) {
                    out.push(SourceSettings { name, kind: SourceKind::Twilio(s) });
                }
            }
            "freeswitch" => {
                if let Some(s) = freeswitch(i, &f, base_dir, &mut errs) {
                    out.push(SourceSettings { name, kind: SourceKind::Freeswitch(s) });
                }
            }
            k => errs.push(invalid(
                i,
                "kind",
                format!("{k:?} is not a source kind (asterisk, freeswitch, genesys, connect, twilio)"),
            )),
        }
    }
    if errs.is_empty() { Ok(out) } else { Err(errs) }
}

fn asterisk(i: usize, f: &SourceFile, base_dir: &Path, errs: &mut Vec<ConfigError>) -> Option<AsteriskSettings> {
    let before = errs.len();
    foreign_keys(i, f, "asterisk", errs);
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
        let ok = |s: &str| crate::event::printable_id(s, 64);
        if !ok(agent) || !ok(team) {
            errs.push(invalid(i, &format!("teams.{agent}"), "agent and team must be 1-64 printable bytes"));
        }
    }
    wrapup_secs
}

fn freeswitch(i: usize, f: &SourceFile, base_dir: &Path, errs: &mut Vec<ConfigError>) -> Option<FreeswitchSettings> {
    let before = errs.len();
    foreign_keys(i, f, "freeswitch", errs);
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

/// A required one-line secret `key` (or `key_env` / `key_file`).
fn required_secret(
    i: usize,
    key: &str,
    given: [&Option<String>; 3],
    base_dir: &Path,
    errs: &mut Vec<ConfigError>,
) -> Option<Secret> {
    let full = format!("sources[{i}].{key}");
    match resolve_secret(&full, given[0], given[1], given[2], base_dir) {
        Ok(Some(s)) if !s.contains(['\r', '\n']) && s.len() <= 4096 => Some(Secret::new(s)),
        Ok(Some(_)) => {
            errs.push(invalid(i, key, "must be one line of at most 4096 bytes"));
            None
        }
        Ok(None) => {
            errs.push(invalid(i, key, format!("is required (or {key}_env / {key}_file)")));
            None
        }
        Err(e) => {
            errs.push(e);
            None
        }
    }
}

fn stale_after(i: usize, f: &SourceFile, errs: &mut Vec<ConfigError>) -> u64 {
    let v = f.stale_after_secs.unwrap_or(STALE_AFTER_SECS);
    if v == 0 || v > MAX_WRAPUP_SECS {
        errs.push(invalid(i, "stale_after_secs", format!("must be 1 to {MAX_WRAPUP_SECS}")));
    }
    v
}

/// Keys that belong to other kinds than `kind`, set on an entry of it: a typo or a
/// copy-paste the operator should hear about.
fn foreign_keys(i: usize, f: &SourceFile, kind: &str, errs: &mut Vec<ConfigError>) {
    let asterisk = [
        ("addr", f.addr.is_some()),
        ("username", f.username.is_some()),
        ("secret", f.secret.is_some() || f.secret_env.is_some() || f.secret_file.is_some()),
        ("wrapup_secs", f.wrapup_secs.is_some()),
        ("teams", !f.teams.is_empty()),
    ];
    let connect = [
        ("access_key", f.access_key.is_some() || f.access_key_env.is_some() || f.access_key_file.is_some()),
        ("agent_id", f.agent_id.is_some()),
        ("team_from", f.team_from.is_some()),
    ];
    let twilio = [
        ("auth_token", f.auth_token.is_some() || f.auth_token_env.is_some() || f.auth_token_file.is_some()),
        ("public_url", f.public_url.is_some()),
        ("available_activities", f.available_activities.is_some()),
        ("offline_activity", f.offline_activity.is_some()),
        ("team_attribute", f.team_attribute.is_some()),
    ];
    let genesys = [
        ("region", f.region.is_some()),
        ("api_base", f.api_base.is_some()),
        ("login_base", f.login_base.is_some()),
        ("client_id", f.client_id.is_some()),
        ("client_secret", f.client_secret.is_some() || f.client_secret_env.is_some() || f.client_secret_file.is_some()),
        ("queues", f.queues.is_some()),
    ];
    let kinds =
        [("asterisk", &asterisk[..]), ("connect", &connect[..]), ("twilio", &twilio[..]), ("genesys", &genesys[..])];
    for (k, keys) in kinds {
        // FreeSWITCH shares addr, wrapup_secs and teams with Asterisk and refuses its
        // username and secret itself.
        if k == kind || (k == "asterisk" && kind == "freeswitch") {
            continue;
        }
        for (key, set) in keys {
            if *set {
                errs.push(invalid(i, key, format!("is a key of kind {k:?}, not of {kind:?}")));
            }
        }
    }
}

fn connect(i: usize, f: &SourceFile, base_dir: &Path, errs: &mut Vec<ConfigError>) -> Option<ConnectSettings> {
    let before = errs.len();
    foreign_keys(i, f, "connect", errs);
    let key = required_secret(i, "access_key", [&f.access_key, &f.access_key_env, &f.access_key_file], base_dir, errs);
    let agent_id_arn = match f.agent_id.as_deref() {
        None | Some("username") => false,
        Some("arn") => true,
        Some(other) => {
            errs.push(invalid(i, "agent_id", format!("{other:?} is not username or arn")));
            false
        }
    };
    let team_from = match f.team_from.as_deref() {
        None | Some("routing_profile") => ConnectTeam::RoutingProfile,
        Some(h) if h.strip_prefix("hierarchy_level").is_some_and(|n| matches!(n, "1" | "2" | "3" | "4" | "5")) => {
            ConnectTeam::Hierarchy(h.as_bytes()[h.len() - 1] - b'0')
        }
        Some(other) => {
            errs.push(invalid(i, "team_from", format!("{other:?} is not routing_profile or hierarchy_level1..5")));
            ConnectTeam::RoutingProfile
        }
    };
    let stale_after_secs = stale_after(i, f, errs);
    if errs.len() > before {
        return None;
    }
    Some(ConnectSettings { access_key: key?, agent_id_arn, team_from, stale_after_secs })
}

fn twilio(i: usize, f: &SourceFile, base_dir: &Path, errs: &mut Vec<ConfigError>) -> Option<TwilioSettings> {
    let before = errs.len();
    foreign_keys(i, f, "twilio", errs);
    let token =
        required_secret(i, "auth_token", [&f.auth_token, &f.auth_token_env, &f.auth_token_file], base_dir, errs);
    let public_url = f.public_url.clone().unwrap_or_default();
    if !(public_url.starts_with("https://") || public_url.starts_with("http://"))
        || public_url.contains(char::is_whitespace)
    {
        errs.push(invalid(
            i,
            "public_url",
            "must be the EventCallbackUrl exactly as configured at Twilio (https://...)",
        ));
    }
    let available_activities = f.available_activities.clone().unwrap_or_else(|| vec!["Available".into()]);
    let offline_activity = f.offline_activity.clone().unwrap_or_else(|| "Offline".into());
    if available_activities.contains(&offline_activity) {
        errs.push(invalid(i, "available_activities", format!("lists the offline activity {offline_activity:?}")));
    }
    let team_attribute = f.team_attribute.clone().unwrap_or_else(|| "team_name".into());
    let stale_after_secs = stale_after(i, f, errs);
    if errs.len() > before {
        return None;
    }
    Some(TwilioSettings {
        auth_token: token?,
        public_url,
        available_activities,
        offline_activity,
        team_attribute,
        stale_after_secs,
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
            ("addr = \"h:1\"\nusername = \"u\"\nsecret = \"s\"\nclient_id = \"c\"", "sources[0].client_id"),
        ] {
            let e = errors(&format!("[[sources]]\nkind = \"asterisk\"\n{extra}\n"));
            assert!(e.iter().any(|e| e.starts_with(key)), "{extra:?} gave {e:?}");
        }
        let e = errors("[[sources]]\nkind = \"avaya\"\n");
        assert!(e[0].starts_with("sources[0].kind: ") && e[0].contains("not a source kind"), "{e:?}");
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

    #[test]
    fn pushed_sources_need_their_secret_and_name_their_keys() {
        let ok_c = "kind = \"connect\"\naccess_key = \"k\"\n";
        let ok_t =
            "kind = \"twilio\"\nauth_token = \"t\"\npublic_url = \"https://fw.example.com/api/v1/sources/twilio\"\n";
        assert!(errors(&format!("[[sources]]\n{ok_c}[[sources]]\n{ok_t}")).is_empty());
        for (entry, key) in [
            ("kind = \"connect\"", "sources[0].access_key"),
            (&format!("{ok_c}agent_id = \"email\""), "sources[0].agent_id"),
            (&format!("{ok_c}team_from = \"hierarchy_level6\""), "sources[0].team_from"),
            (&format!("{ok_c}stale_after_secs = 0"), "sources[0].stale_after_secs"),
            (&format!("{ok_c}public_url = \"https://x\""), "sources[0].public_url"),
            ("kind = \"twilio\"\npublic_url = \"https://x/y\"", "sources[0].auth_token"),
            ("kind = \"twilio\"\nauth_token = \"t\"", "sources[0].public_url"),
            (&format!("{ok_t}available_activities = [\"Offline\"]"), "sources[0].available_activities"),
            (&format!("{ok_t}addr = \"h:1\""), "sources[0].addr"),
        ] {
            let e = errors(&format!("[[sources]]\n{entry}\n"));
            assert!(e.iter().any(|e| e.starts_with(key)), "{entry:?} gave {e:?}");
        }
        let t: toml::Table = format!("{ok_c}team_from = \"hierarchy_level2\"\nagent_id = \"arn\"").parse().unwrap();
        let s = validate(&[t], Path::new(".")).unwrap();
        let SourceKind::Connect(c) = &s[0].kind else { panic!("{s:?}") };
        assert_eq!((c.team_from, c.agent_id_arn, c.stale_after_secs), (ConnectTeam::Hierarchy(2), true, 600));
        assert!(!format!("{s:?}").contains("\"k\""));
    }
}
