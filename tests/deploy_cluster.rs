//! deploy/cluster/: the 3-node NATS + 2-replica example stays valid. The nats-server
//! configs pass `nats-server -t`, name distinct servers and route to each other, and take
//! floorwatch's largest batch; the two replica configs pass `floorwatch check-config` and
//! differ only in comments (replicas need no identity).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn deploy(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/cluster").join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(deploy(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The first quoted value (or bare word) after `key:` on a line of its own.
fn value(conf: &str, key: &str) -> String {
    let line = conf
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key} in\n{conf}"));
    line[key.len() + 1..].trim().trim_matches('"').to_string()
}

fn bytes(size: &str) -> u64 {
    let (n, unit) = size.split_at(size.find(|c: char| !c.is_ascii_digit()).unwrap_or(size.len()));
    let n: u64 = n.parse().unwrap();
    n * match unit.to_ascii_uppercase().as_str() {
        "" => 1,
        "KB" | "K" => 1 << 10,
        "MB" | "M" => 1 << 20,
        "GB" | "G" => 1 << 30,
        other => panic!("unit {other}"),
    }
}

#[test]
fn nats_configs_are_valid_and_route_to_each_other() {
    let binary = common::nats::nats_server_binary();
    let mut names = BTreeSet::new();
    let mut cluster_listens = BTreeSet::new();
    let mut routes = Vec::new();
    for i in 1..=3 {
        let file = format!("nats-{i}.conf");
        let out = Command::new(&binary).arg("-t").arg("-c").arg(deploy(&file)).output().unwrap();
        assert!(out.status.success(), "{file}: {}", String::from_utf8_lossy(&out.stderr));
        let conf = read(&file);
        names.insert(value(&conf, "server_name"));
        let cluster = &conf[conf.find("cluster {").expect("a cluster block")..];
        cluster_listens.insert(value(cluster, "listen"));
        let r: BTreeSet<String> = cluster
            .lines()
            .map(str::trim)
            .filter_map(|l| l.strip_prefix("\"nats-route://"))
            .map(|l| l.trim_end_matches('"').to_string())
            .collect();
        routes.push(r);
        assert!(conf.contains("jetstream {"), "{file}: JetStream on");
        assert!(
            bytes(&value(&conf, "max_payload")) >= largest_batch(),
            "{file}: max_payload below floorwatch's limits"
        );
    }
    assert_eq!(names.len(), 3, "distinct server names: {names:?}");
    for r in routes {
        assert_eq!(r, cluster_listens, "every node routes to every node's cluster port");
    }
}

/// The largest ingest body or frame the replica configs accept.
fn largest_batch() -> u64 {
    let conf: toml::Table = toml::from_str(&read("floorwatch-a.toml")).unwrap();
    let limits = &conf["limits"];
    limits["max_body_bytes"].as_integer().unwrap().max(limits["max_frame_bytes"].as_integer().unwrap()) as u64
}

fn without_comments(text: &str) -> String {
    text.lines().filter(|l| !l.trim_start().starts_with('#')).collect::<Vec<_>>().join("\n")
}

/// `floorwatch check-config` of `text`, with the example's secrets in the environment.
fn check_config(text: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("floorwatch.toml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_floorwatch"))
        .arg("check-config")
        .arg(&path)
        .env("FLOORWATCH_INGEST_TOKEN", "example-ingest-token")
        .env("FLOORWATCH_VIEWER_TOKEN", "example-viewer-token")
        .env("FLOORWATCH_HOOK_SECRET", "whsec_ZXhhbXBsZS1ob29rLXNlY3JldC0zMiBieXRlcyE=")
        .output()
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn replica_configs_pass_check_config_and_differ_only_in_comments() {
    let (a, b) = (read("floorwatch-a.toml"), read("floorwatch-b.toml"));
    assert_eq!(without_comments(&a), without_comments(&b), "the replicas' configs differ");
    let parsed: toml::Table = toml::from_str(&a).unwrap();
    let cluster = parsed["cluster"].as_table().expect("a [cluster] table");
    let keys: BTreeSet<&str> = cluster.keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["nats", "stream", "site", "sites", "replicas", "lease_secs"]));
    assert_eq!(cluster["nats"].as_array().unwrap().len(), 3, "every NATS node listed");

    // Everything but [cluster] is checked as `serve` checks it.
    let start = a.find("[cluster]").unwrap();
    let end = start + a[start..].find("\n[journal]").unwrap();
    let rest = format!("{}{}", &a[..start], &a[end..]);
    let (ok, out) = check_config(&rest);
    assert!(ok, "{out}");
    // The whole file, once this build knows [cluster] (until then it names only that table).
    let (ok, out) = check_config(&a);
    assert!(ok || out.contains("unknown field `cluster`"), "{out}");
}
