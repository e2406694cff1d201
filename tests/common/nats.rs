//! A 3-node nats-server cluster with JetStream on loopback, for the cluster tests
//! (SPEC §11, docs/cluster.md).
//!
//! Every node gets free loopback ports (client, cluster routes, HTTP monitoring), its own
//! store directory in a temporary directory, and a config file written here; the nodes are
//! named `n1`..`n3` (index 0..2). [`NatsCluster::start`] returns once every node answers
//! `/healthz?js-enabled-only=true` and a JetStream meta leader is elected. The servers are
//! killed when the value is dropped, also when a test panics (the drop runs on unwind), so
//! no test leaves a server behind.
//!
//! `nats-server` must be on PATH: `scripts/test` installs Debian's (2.9.10).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a node (or the whole cluster) may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

pub struct NatsCluster {
    /// Owns the store directories, config files and logs; removed after `Drop` has
    /// killed the servers.
    dir: tempfile::TempDir,
    nodes: Vec<Node>,
}

struct Node {
    name: String,
    client_port: u16,
    http_port: u16,
    conf: PathBuf,
    log: PathBuf,
    /// `None` while the node is killed.
    child: Option<Child>,
}

impl NatsCluster {
    /// Starts three nodes and waits until the cluster can serve JetStream.
    pub async fn start() -> NatsCluster {
        Self::start_n(3).await
    }

    /// Starts `n` clustered nodes (tests of the harness itself use 3). The free ports are
    /// found by binding port 0 and releasing it, so another process can take one before
    /// nats-server binds it: a node that exits at start makes a new attempt, on new ports.
    pub async fn start_n(n: usize) -> NatsCluster {
        let mut last = String::new();
        for _ in 0..3 {
            let mut cluster = Self::configure(n);
            let binary = nats_server_binary();
            for i in 0..n {
                cluster.spawn(i, &binary);
            }
            let deadline = Instant::now() + READY_TIMEOUT;
            let mut failed = None;
            for i in 0..n {
                if let Err(why) = cluster.try_wait_ready(i, deadline).await {
                    failed = Some(format!(
                        "nats node {} not ready: {why}\n--- its log ---\n{}",
                        cluster.nodes[i].name,
                        cluster.log_tail(i)
                    ));
                    break;
                }
            }
            match failed {
                None => return cluster,
                Some(why) => {
                    cluster.stop_all();
                    eprintln!("{why}\n(starting the cluster again on other ports)");
                    last = why;
                }
            }
        }
        panic!("{last}");
    }

    /// Picks the ports and writes the config files of `n` nodes.
    fn configure(n: usize) -> NatsCluster {
        let dir = tempfile::Builder::new().prefix("fw-nats-").tempdir().expect("tempdir for nats");
        // All ports are picked while every probe socket is still bound, so they differ.
        let probes: Vec<TcpListener> =
            (0..3 * n).map(|_| TcpListener::bind("127.0.0.1:0").expect("free loopback port")).collect();
        let ports: Vec<u16> = probes.iter().map(|l| l.local_addr().unwrap().port()).collect();
        drop(probes);
        let route_ports: Vec<u16> = (0..n).map(|i| ports[3 * i + 1]).collect();
        let routes = route_ports.iter().map(|p| format!("\"nats-route://127.0.0.1:{p}\"")).collect::<Vec<_>>();
        let mut nodes = Vec::with_capacity(n);
        for i in 0..n {
            let name = format!("n{}", i + 1);
            let (client_port, cluster_port, http_port) = (ports[3 * i], ports[3 * i + 1], ports[3 * i + 2]);
            let store = dir.path().join(&name);
            std::fs::create_dir_all(&store).unwrap();
            let conf = dir.path().join(format!("{name}.conf"));
            let log = dir.path().join(format!("{name}.log"));
            std::fs::write(
                &conf,
                format!(
                    "server_name: {name}\n\
                     listen: \"127.0.0.1:{client_port}\"\n\
                     http: \"127.0.0.1:{http_port}\"\n\
                     log_file: \"{log}\"\n\
                     jetstream {{\n  store_dir: \"{store}\"\n  max_memory_store: 64MB\n  max_file_store: 1GB\n}}\n\
                     cluster {{\n  name: fwtest\n  listen: \"127.0.0.1:{cluster_port}\"\n  routes: [{routes}]\n}}\n",
                    log = log.display(),
                    store = store.display(),
                    routes = routes.join(", "),
                ),
            )
            .unwrap();
            nodes.push(Node { name, client_port, http_port, conf, log, child: None });
        }
        NatsCluster { dir, nodes }
    }

    /// The client URLs of all nodes, `nats://127.0.0.1:PORT`, n1 first.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| format!("nats://127.0.0.1:{}", n.client_port)).collect()
    }

    /// The client URL of node `i`.
    pub fn url(&self, i: usize) -> String {
        format!("nats://127.0.0.1:{}", self.nodes[i].client_port)
    }

    /// The monitoring base URL of node `i`, `http://127.0.0.1:PORT`.
    pub fn monitor(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.nodes[i].http_port)
    }

    /// The index of the node with this server name (`"n2"` -> 1).
    pub fn index_of(&self, server_name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == server_name)
    }

    /// The process ids of the running nodes.
    pub fn pids(&self) -> Vec<u32> {
        self.nodes.iter().filter_map(|n| n.child.as_ref().map(|c| c.id())).collect()
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kills node `i` with SIGKILL (no shutdown, no flush) and reaps it.
    pub fn kill9(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill(); // SIGKILL on Unix
            let _ = child.wait();
        }
    }

    /// Starts node `i` again with the same ports and store directory and waits until it is
    /// ready (JetStream enabled and a meta leader known to it).
    pub async fn restart(&mut self, i: usize) {
        self.kill9(i);
        let binary = nats_server_binary();
        // The killed process's ports can linger for a moment; retry the start a few times.
        for attempt in 0.. {
            self.spawn(i, &binary);
            let deadline = Instant::now() + Duration::from_secs(5);
            if self.try_wait_ready(i, deadline).await.is_ok() {
                return;
            }
            if attempt == 5 {
                self.wait_ready(i, Instant::now() + READY_TIMEOUT).await;
                return;
            }
            self.kill9(i);
        }
    }

    /// Kills every node, deletes every node's JetStream store (the disks lost, a volume
    /// wiped) and starts them all again, empty, on the same ports.
    pub async fn wipe_and_restart_all(&mut self) {
        self.stop_all();
        for i in 0..self.nodes.len() {
            let store = self.dir.path().join(&self.nodes[i].name);
            std::fs::remove_dir_all(&store).unwrap();
            std::fs::create_dir_all(&store).unwrap();
        }
        let binary = nats_server_binary();
        for i in 0..self.nodes.len() {
            self.spawn(i, &binary);
        }
        let deadline = Instant::now() + READY_TIMEOUT;
        for i in 0..self.nodes.len() {
            self.wait_ready(i, deadline).await;
        }
    }

    /// Kills every node (also done on drop).
    pub fn stop_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill9(i);
        }
    }

    /// The last lines of node `i`'s log, for failure messages.
    pub fn log_tail(&self, i: usize) -> String {
        let text = std::fs::read_to_string(&self.nodes[i].log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn spawn(&mut self, i: usize, binary: &Path) {
        let node = &mut self.nodes[i];
        let child = Command::new(binary)
            .arg("-c")
            .arg(&node.conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        node.child = Some(child);
    }

    async fn wait_ready(&mut self, i: usize, deadline: Instant) {
        if let Err(why) = self.try_wait_ready(i, deadline).await {
            let tail = self.log_tail(i);
            self.stop_all();
            panic!("nats node {} not ready: {why}\n--- its log ---\n{tail}", self.nodes[i].name);
        }
    }

    /// Ready: `/healthz?js-enabled-only=true` answers 200 and `/jsz` names a meta leader.
    async fn try_wait_ready(&mut self, i: usize, deadline: Instant) -> Result<(), String> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
        let base = self.monitor(i);
        let mut why = String::from("no answer yet");
        while Instant::now() < deadline {
            if let Some(child) = self.nodes[i].child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.nodes[i].child = None;
                return Err(format!("exited with {status}"));
            }
            match http.get(format!("{base}/healthz?js-enabled-only=true")).send().await {
                Ok(r) if r.status().is_success() => match http.get(format!("{base}/jsz")).send().await {
                    Ok(r) => match r.json::<serde_json::Value>().await {
                        Ok(jsz) => {
                            let leader = jsz["meta_cluster"]["leader"].as_str().unwrap_or("");
                            if !leader.is_empty() {
                                return Ok(());
                            }
                            why = "no JetStream meta leader yet".into();
                        }
                        Err(e) => why = format!("/jsz: {e}"),
                    },
                    Err(e) => why = format!("/jsz: {e}"),
                },
                Ok(r) => why = format!("/healthz: {}", r.status()),
                Err(e) => why = format!("/healthz: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(why)
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// `nats-server` from PATH (or Debian's /usr/sbin, which a user's PATH may lack).
pub fn nats_server_binary() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("nats-server is not installed (not on PATH nor in /usr/sbin): scripts/test installs it (Debian package nats-server)")
        })
}
