//! What a web page may do with the daemon (ARCHITECTURE.md, "Threat model").
//!
//! Tokens protect a daemon whose operator set them; these checks protect the one whose
//! operator did not, against the browsers on the floor's network:
//! - **`Host`** must name this daemon (`server.allowed_hosts`, by default IP literals,
//!   `localhost` and the machine's host names), on every route: a page on a domain that
//!   re-resolves to our address (DNS rebinding) is same-origin with us in the browser, but
//!   its requests carry its own name. 421 otherwise.
//! - **`Origin`**, when present on a WebSocket upgrade or an ingest `POST`, must be the
//!   daemon's own (scheme `http`/`https`, same host and port as `Host`) or listed in
//!   `server.allowed_origins`: browsers apply no same-origin policy to WebSockets, and send
//!   "simple" POSTs cross-site without asking. 403 otherwise. A request without `Origin`
//!   comes from a program, not a page, and passes.
//! - **`POST /api/v1/events` takes `Content-Type: application/json` only** (415): a page
//!   can only send that cross-site after a CORS preflight, which is granted to listed
//!   origins alone.
//! - **Every response** says `nosniff`, `no-referrer`, a CSP that lets the wallboard load its
//!   own ES modules and `/ws` and nothing else, and may not be framed (except by listed
//!   origins), plus `Cross-Origin-Resource-Policy: same-origin`.
//! - **The NDJSON port** closes a connection that opens with an HTTP request line
//!   ([`is_http_request_line`], used by `ingest::tcp`): a page's POST to it.
//!
//! Every refusal is counted in `floorwatch_http_refused_total{reason="host"|"origin"|
//! "content_type"}`. The checks read headers only; nothing is logged (a `?token=` in the
//! URI never reaches a log line from here).

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use prometheus::{IntCounterVec, Opts, Registry};
use warp::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use warp::http::{Method, StatusCode};
use warp::{Filter, Rejection, Reply};

use crate::config::ServerSettings;

/// Why a request was refused: the `reason` label, the status and the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// `Host` is not a name the daemon serves under: 421.
    Host,
    /// `Origin` is neither ours nor listed (WebSocket upgrade, ingest POST, preflight): 403.
    Origin,
    /// An ingest POST that is not `application/json`: 415.
    ContentType,
}

impl warp::reject::Reject for Refused {}

impl Refused {
    const ALL: [Refused; 3] = [Refused::Host, Refused::Origin, Refused::ContentType];

    fn label(self) -> &'static str {
        match self {
            Refused::Host => "host",
            Refused::Origin => "origin",
            Refused::ContentType => "content_type",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Refused::Host => StatusCode::MISDIRECTED_REQUEST,
            Refused::Origin => StatusCode::FORBIDDEN,
            Refused::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Refused::Host => "Host is not a name this daemon serves under (server.allowed_hosts)",
            Refused::Origin => "origin not allowed (server.allowed_origins)",
            Refused::ContentType => "Content-Type must be application/json",
        }
    }
}

/// A web origin, normalized: lower-case scheme and host, port explicit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebOrigin {
    https: bool,
    /// Lower case, no trailing dot; an IPv6 literal keeps its brackets.
    host: String,
    port: u16,
}

impl WebOrigin {
    /// Parses `scheme://host[:port]` (an `Origin` header, or an entry of
    /// `server.allowed_origins`, where a trailing `/` is tolerated). `null` and anything
    /// with a path, user or query is an error.
    pub fn parse(s: &str) -> Result<WebOrigin, &'static str> {
        const WANT: &str = "must be scheme://host[:port] with scheme http or https, e.g. \"https://board.example\"";
        let lower = s.to_ascii_lowercase();
        let (https, rest) = if let Some(r) = lower.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = lower.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(WANT);
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = split_authority(rest).ok_or(WANT)?;
        Ok(WebOrigin { https, host, port: port.unwrap_or(if https { 443 } else { 80 }) })
    }

    /// Whether this is the daemon's own origin when it is reached as `host` (a `Host`
    /// header split by [`split_authority`]). Either scheme: behind a TLS-terminating proxy
    /// the daemon speaks plain HTTP to pages on `https://`.
    fn is_served_as(&self, host: &(String, Option<u16>)) -> bool {
        let implied = if self.https { 443 } else { 80 };
        self.host == host.0 && self.port == host.1.unwrap_or(implied)
    }

    fn serialize(&self) -> String {
        let (scheme, default) = if self.https { ("https", 443) } else { ("http", 80) };
        if self.port == default {
            format!("{scheme}://{}", self.host)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// Splits `host[:port]` (a `Host` header or an origin's authority) into a lower-case host
/// without a trailing dot and the port; `None` unless it is a DNS name, an IPv4 literal or
/// a bracketed IPv6 literal, with at most a numeric port.
pub fn split_authority(a: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if a.starts_with('[') {
        let end = a.find(']')?;
        let (h, rest) = a.split_at(end + 1);
        h[1..h.len() - 1].parse::<Ipv6Addr>().ok()?;
        (h, rest)
    } else {
        match a.find(':') {
            Some(i) => a.split_at(i),
            None => (a, ""),
        }
    };
    let port = match port {
        "" => None,
        p => Some(p.strip_prefix(':')?.parse::<u16>().ok()?),
    };
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    (host.starts_with('[') || is_dns_name(&host)).then_some((host, port))
}

/// Letters, digits, `-` and `_` in dot-separated labels of 1–63 bytes (IPv4 literals pass).
fn is_dns_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn is_ip_literal(host: &str) -> bool {
    host.parse::<Ipv4Addr>().is_ok()
        || host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).is_some_and(|h| h.parse::<Ipv6Addr>().is_ok())
}

/// Checks `server.allowed_hosts` and `server.allowed_origins`; the message for the key
/// (config validation, before any port is bound).
pub fn check_lists(hosts: &[String], origins: &[String]) -> Result<(), (String, String)> {
    for (i, h) in hosts.iter().enumerate() {
        if h != "*" && split_authority(h).is_none_or(|(_, port)| port.is_some()) {
            return Err((
                format!("server.allowed_hosts[{i}]"),
                format!("{h:?} must be a host name without scheme or port, e.g. \"floor.example.com\", or \"*\""),
            ));
        }
    }
    for (i, o) in origins.iter().enumerate() {
        WebOrigin::parse(o).map_err(|m| (format!("server.allowed_origins[{i}]"), format!("{o:?} {m}")))?;
    }
    Ok(())
}

pub use crate::net::is_http_request_line;

/// The machine's host names, read where Linux keeps them (no libc): the kernel's
/// (`/proc/sys/kernel/hostname`) and `/etc/hostname`, each also by its first label.
pub fn machine_host_names() -> Vec<String> {
    let mut names = Vec::new();
    for path in ["/proc/sys/kernel/hostname", "/etc/hostname"] {
        let Ok(text) = std::fs::read_to_string(path) else { continue };
        let Some(name) = text.lines().map(str::trim).find(|l| !l.is_empty() && !l.starts_with('#')) else { continue };
        if let Some((name, None)) = split_authority(name) {
            if let Some((short, _)) = name.split_once('.') {
                names.push(short.to_string());
            }
            names.push(name);
        }
    }
    names.sort();
    names.dedup();
    names
}

/// The checks, built once per daemon from `[server]` (validated) and registered in the
/// daemon's registry. Shared by the route filters.
pub struct Guard {
    /// `None`: `allowed_hosts` holds `"*"`, any `Host` is served.
    hosts: Option<HashSet<String>>,
    origins: Vec<WebOrigin>,
    /// `frame-ancestors` of the CSP: `'none'`, or the listed origins.
    frame_ancestors: String,
    refused: IntCounterVec,
}

/// What the response to an accepted request needs to know about it: the `Host` it came
/// by (for the CSP's WebSocket source) and whether its `Origin` is listed (for CORS).
struct Site {
    host: Option<String>,
    listed_origin: Option<HeaderValue>,
}

impl Guard {
    /// `names`: the machine's host names ([`machine_host_names`]; tests pass their own).
    pub fn new(server: &ServerSettings, names: Vec<String>, registry: &Registry) -> Arc<Guard> {
        let refused = IntCounterVec::new(
            Opts::new(
                "floorwatch_http_refused_total",
                "HTTP requests refused before any route ran: host (Host not in server.allowed_hosts, 421), \
                 origin (a browser page's Origin not ours nor in server.allowed_origins, 403), content_type \
                 (an ingest POST not application/json, 415)",
            ),
            &["reason"],
        )
        .expect("valid metric");
        for r in Refused::ALL {
            refused.with_label_values(&[r.label()]);
        }
        let _ = registry.register(Box::new(refused.clone()));
        let hosts = (!server.allowed_hosts.iter().any(|h| h == "*")).then(|| {
            let listed = server.allowed_hosts.iter().filter_map(|h| split_authority(h)).map(|(h, _)| h);
            names.into_iter().chain(listed).chain(["localhost".to_string()]).collect()
        });
        // Validated before start-up; an entry that does not parse cannot be here.
        let origins: Vec<WebOrigin> = server.allowed_origins.iter().filter_map(|o| WebOrigin::parse(o).ok()).collect();
        let frame_ancestors = if origins.is_empty() {
            "'none'".to_string()
        } else {
            origins.iter().map(WebOrigin::serialize).collect::<Vec<_>>().join(" ")
        };
        Arc::new(Guard { hosts, origins, frame_ancestors, refused })
    }

    fn refuse(&self, why: Refused) -> Rejection {
        self.refused.with_label_values(&[why.label()]).inc();
        warp::reject::custom(why)
    }

    fn host_allowed(&self, host: &str) -> bool {
        match &self.hosts {
            None => true,
            Some(names) => is_ip_literal(host) || names.contains(host),
        }
    }

    fn listed(&self, origin: &WebOrigin) -> bool {
        self.origins.contains(origin)
    }

    /// Whether a present `Origin` may act here: ours (as reached by `host`) or listed.
    fn origin_allowed(&self, origin: &str, host: Option<&str>) -> bool {
        let Ok(o) = WebOrigin::parse(origin) else { return false };
        self.listed(&o) || host.and_then(split_authority).is_some_and(|h| o.is_served_as(&h))
    }

    /// Wraps every route: checks `Host`, answers CORS preflights, and puts the headers of
    /// [`Guard`]'s doc on what the routes answer. Refusals are rejections for the caller's
    /// `recover`, whose answers get [`finish`]'s headers.
    pub fn protect<F, R>(
        self: &Arc<Self>,
        routes: F,
    ) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone + use<F, R>
    where
        F: Filter<Extract = (R,), Error = Rejection> + Clone + Send + Sync + 'static,
        R: Reply,
    {
        let g = self.clone();
        let site = authority().and(warp::header::optional::<String>("origin")).and_then(
            move |host: Option<String>, origin: Option<String>| {
                let g = g.clone();
                async move {
                    // No Host at all (HTTP/1.0) is no browser's request: it passes.
                    let name = host.as_deref().map(split_authority);
                    if let Some(name) = name
                        && !name.is_some_and(|(h, _)| g.host_allowed(&h))
                    {
                        return Err(g.refuse(Refused::Host));
                    }
                    let listed_origin = origin
                        .filter(|o| WebOrigin::parse(o).is_ok_and(|o| g.listed(&o)))
                        .and_then(|o| HeaderValue::from_str(&o).ok());
                    Ok::<_, Rejection>(Site { host, listed_origin })
                }
            },
        );
        let g = self.clone();
        // A CORS preflight (OPTIONS with Access-Control-Request-Method) is granted to listed
        // origins only; any other is refused and counted. Other OPTIONS go to the routes (405).
        let preflight = warp::method()
            .and(warp::header::optional::<String>("origin"))
            .and(warp::header::optional::<String>("access-control-request-method"))
            .and_then(move |method: Method, origin: Option<String>, asks: Option<String>| {
                let g = g.clone();
                async move {
                    if method != Method::OPTIONS || asks.is_none() {
                        // Not a preflight: not ours to answer (and not a 405 that would
                        // outrank the routes' 404).
                        return Err(warp::reject::not_found());
                    }
                    if origin.as_deref().and_then(|o| WebOrigin::parse(o).ok()).is_some_and(|o| g.listed(&o)) {
                        Ok(warp::reply::with_status(warp::reply(), StatusCode::NO_CONTENT).into_response())
                    } else {
                        Err(g.refuse(Refused::Origin))
                    }
                }
            });
        let routes = routes.map(|r: R| r.into_response());
        let g = self.clone();
        site.and(preflight.or(routes).unify()).map(move |site: Site, mut res: warp::reply::Response| {
            g.decorate(&site, res.headers_mut());
            res
        })
    }

    fn decorate(&self, site: &Site, h: &mut HeaderMap) {
        // The wallboard's own WebSocket is named explicitly: older WebKit (TVs) does not
        // let 'self' match ws: and wss:. Only a host that passed the check, and only the
        // characters of a name, an address and a port, go into the header.
        let ws = site
            .host
            .as_deref()
            .filter(|h| h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_:[]".contains(&b)))
            .map(|h| format!(" ws://{h} wss://{h}"))
            .unwrap_or_default();
        let csp = format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'{ws}; \
             base-uri 'none'; form-action 'none'; frame-ancestors {}",
            self.frame_ancestors
        );
        if let Ok(v) = HeaderValue::from_str(&csp) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        if let Some(o) = &site.listed_origin {
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o.clone());
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("authorization, content-type"));
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        }
    }

    /// For WebSocket upgrades (`/ws`, `/ingest`) and ingest POSTs: a present `Origin` must
    /// be ours or listed. Plain reads need no such check: the browser keeps their answers
    /// from other origins' pages (no CORS grant but to listed ones).
    pub fn origin(self: &Arc<Self>) -> impl Filter<Extract = (), Error = Rejection> + Clone + use<> {
        let g = self.clone();
        authority()
            .and(warp::header::optional::<String>("origin"))
            .and_then(move |host: Option<String>, origin: Option<String>| {
                let g = g.clone();
                async move {
                    match origin {
                        Some(o) if !g.origin_allowed(&o, host.as_deref()) => Err(g.refuse(Refused::Origin)),
                        _ => Ok(()),
                    }
                }
            })
            .untuple_one()
    }

    /// For `POST /api/v1/events`: a present `Origin` must be ours or listed, and the body
    /// `application/json` (parameters such as `charset` allowed). A missing `Content-Type`
    /// is refused too: a page's `fetch` with a `Blob` body sends none, without a preflight.
    pub fn json_post(self: &Arc<Self>) -> impl Filter<Extract = (), Error = Rejection> + Clone + use<> {
        let g = self.clone();
        self.origin()
            .and(warp::header::optional::<String>("content-type"))
            .and_then(move |ctype: Option<String>| {
                let g = g.clone();
                async move {
                    let json = ctype
                        .as_deref()
                        .and_then(|c| c.split(';').next())
                        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
                    if json { Ok(()) } else { Err(g.refuse(Refused::ContentType)) }
                }
            })
            .untuple_one()
    }
}

/// The request's authority: the target URI's (absolute form) or else the `Host` header,
/// raw; a malformed or conflicting one is `Some("")`, which no check accepts.
fn authority() -> impl Filter<Extract = (Option<String>,), Error = std::convert::Infallible> + Copy {
    warp::host::optional()
        .map(|a: Option<warp::host::Authority>| a.map(|a| a.as_str().to_string()))
        .or(warp::any().map(|| Some(String::new())))
        .unify()
}

/// Headers every answer carries, refusals and errors included (those a route's answer
/// already has are kept).
pub fn finish(reply: impl Reply) -> warp::reply::Response {
    let mut res = reply.into_response();
    let h = res.headers_mut();
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CONTENT_SECURITY_POLICY, "default-src 'none'; frame-ancestors 'none'"),
        (HeaderName::from_static("cross-origin-resource-policy"), "same-origin"),
    ] {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(hosts: &[&str], origins: &[&str]) -> Arc<Guard> {
        let server = ServerSettings {
            http: "127.0.0.1:0".parse().unwrap(),
            tcp: "127.0.0.1:0".parse().unwrap(),
            push_interval: std::time::Duration::from_secs(1),
            web_dir: None,
            shutdown_grace: std::time::Duration::from_secs(1),
            allowed_hosts: hosts.iter().map(|s| s.to_string()).collect(),
            allowed_origins: origins.iter().map(|s| s.to_string()).collect(),
        };
        Guard::new(&server, vec!["vm".into(), "vm.floor.example".into()], &Registry::new())
    }

    #[test]
    fn hosts() {
        let check = |g: &Guard, host: &str, want: bool| {
            let got = split_authority(host).is_some_and(|(h, _)| g.host_allowed(&h));
            assert_eq!(got, want, "{host}");
        };
        let g = guard(&[], &[]);
        for ok in [
            "127.0.0.1",
            "127.0.0.1:8080",
            "10.1.2.3:80",
            "[::1]:8080",
            "[::1]",
            "localhost",
            "LOCALHOST:1",
            "localhost.:8080",
            "vm",
            "vm:8080",
            "VM.floor.example",
        ] {
            check(&g, ok, true);
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "127.0.0.1.nip.io",
            "localhost.evil.example",
            "vm.evil",
            "",
            "[::1",
            "a b",
            "x:port",
            "x:99999",
        ] {
            check(&g, bad, false);
        }
        let g = guard(&["floor.example.com"], &[]);
        check(&g, "floor.example.com:8080", true);
        check(&g, "localhost", true);
        check(&g, "evil.example", false);
        let g = guard(&["*"], &[]);
        check(&g, "evil.example", true);
    }

    #[test]
    fn origins() {
        let g = guard(&[], &["https://board.example", "http://Intranet.example:8081/"]);
        let check = |origin: &str, host: Option<&str>, want: bool| {
            assert_eq!(g.origin_allowed(origin, host), want, "{origin} via {host:?}");
        };
        check("http://127.0.0.1:8080", Some("127.0.0.1:8080"), true);
        check("https://floor.example", Some("floor.example"), true);
        check("http://floor.example", Some("floor.example:80"), true);
        check("https://floor.example", Some("floor.example:443"), true);
        check("http://LOCALHOST:8080", Some("localhost:8080"), true);
        check("http://[::1]:8080", Some("[::1]:8080"), true);
        check("http://127.0.0.1:9999", Some("127.0.0.1:8080"), false);
        check("http://floor.example:8080", Some("floor.example"), false);
        check("http://evil.example", Some("127.0.0.1:8080"), false);
        check("http://evil.example", None, false);
        check("null", Some("127.0.0.1:8080"), false);
        check("https://board.example", None, true);
        check("https://board.example:443", Some("x"), true);
        check("http://board.example", None, false);
        check("https://board.example.evil.example", None, false);
        check("http://intranet.example:8081", None, true);
        check("http://127.0.0.1:8080/path", Some("127.0.0.1:8080"), false);
    }

    #[test]
    fn http_request_lines() {
        for (line, want) in [
            (&b"POST / HTTP/1.1\r"[..], true),
            (b"GET /ingest HTTP/1.1", true),
            (b"POST http://10.0.0.5:7070/x?y HTTP/1.0\r", true),
            (b"OPTIONS * HTTP/1.1", true),
            (b"AUTH s3cret", false),
            (b"{\"agent\":\"A1\",\"state\":\"idle\"}", false),
            (b"post / HTTP/1.1", false),
            (b"POST / HTTP/1.1 extra", false),
            (b"", false),
        ] {
            assert_eq!(is_http_request_line(line), want, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn config_lists() {
        assert!(check_lists(&["floor.example.com".into(), "*".into(), "10.0.0.1".into()], &[]).is_ok());
        for bad in ["http://floor.example.com", "floor.example.com:8080", "", "a/b"] {
            let (key, _) = check_lists(&[bad.into()], &[]).unwrap_err();
            assert_eq!(key, "server.allowed_hosts[0]", "{bad}");
        }
        assert!(check_lists(&[], &["https://board.example".into(), "http://[::1]:8080/".into()]).is_ok());
        for bad in ["*", "null", "board.example", "https://board.example/x", "ftp://board.example", "https://"] {
            let (key, _) = check_lists(&[], &["https://ok.example".into(), bad.into()]).unwrap_err();
            assert_eq!(key, "server.allowed_origins[1]", "{bad}");
        }
    }

    #[test]
    fn content_security_policy_frames() {
        let site = Site { host: Some("127.0.0.1:8080".into()), listed_origin: None };
        let mut h = HeaderMap::new();
        guard(&[], &[]).decorate(&site, &mut h);
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_string();
        assert!(csp.contains("connect-src 'self' ws://127.0.0.1:8080 wss://127.0.0.1:8080;"), "{csp}");
        assert!(csp.ends_with("frame-ancestors 'none'"), "{csp}");
        guard(&[], &["https://board.example:443"]).decorate(&site, &mut h);
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.ends_with("frame-ancestors https://board.example"), "{csp}");
    }
}
