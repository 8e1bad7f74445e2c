//! A Redis Cluster of the tests' own: three masters and a replica each, on free loopback
//! ports, made by `redis-cli --cluster create`.

use crate::{folder, free_port, have_tool, Folder};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One node: its client port, and its process while it runs.
struct Node {
    port: u16,
    child: Option<Child>,
}

/// Six `redis-server --cluster-enabled yes` (three masters, three replicas), stopped
/// when dropped.
pub struct RedisCluster {
    nodes: Vec<Node>,
    _dir: Folder,
}

/// How long a node may be silent before the cluster fails it over (milliseconds).
const NODE_TIMEOUT: &str = "1000";

impl RedisCluster {
    /// Starts one and waits until it serves every slot with every replica in sync, or
    /// returns `None` (after [`have_tool`]'s verdict) if Redis is not installed.
    pub fn start() -> Option<Self> {
        let have = |tool: &str| have_tool(tool, Command::new(tool).arg("--version"));
        if !have("redis-server") || !have("redis-cli") {
            return None;
        }
        let dir = folder("redis-cluster", &[]);
        let nodes = (0..6)
            .map(|_| {
                let (port, bus) = (free_port(), free_port());
                let conf = dir.join(format!("nodes-{port}.conf"));
                let child = Command::new("redis-server")
                    .args([
                        "--port",
                        &port.to_string(),
                        "--cluster-port",
                        &bus.to_string(),
                    ])
                    .args(["--bind", "127.0.0.1", "--cluster-enabled", "yes"])
                    .arg("--cluster-config-file")
                    .arg(&conf)
                    .args(["--cluster-node-timeout", NODE_TIMEOUT])
                    .args(["--save", "", "--appendonly", "no", "--loglevel", "warning"])
                    .arg("--dir")
                    .arg(&*dir)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("redis-server starts");
                Node {
                    port,
                    child: Some(child),
                }
            })
            .collect();
        let cluster = RedisCluster { nodes, _dir: dir };
        for node in &cluster.nodes {
            crate::wait_until("a cluster node to answer", || {
                cluster.cli(node.port, &["PING"]).as_deref() == Some("PONG")
            });
        }
        let addresses: Vec<String> = cluster
            .ports()
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli runs");
        assert!(
            created.status.success(),
            "redis-cli --cluster create: {}",
            String::from_utf8_lossy(&created.stdout)
        );
        cluster.wait_healthy();
        Some(cluster)
    }

    /// The client ports of the nodes, running or not.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// The bridge's URL: every node, as seeds.
    pub fn url(&self) -> String {
        let urls: Vec<String> = self
            .ports()
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}/"))
            .collect();
        urls.join(",")
    }

    /// Runs `redis-cli -p port args...`; its output, trimmed, if it ran.
    pub fn cli(&self, port: u16, args: &[&str]) -> Option<String> {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// A node still running.
    fn live_port(&self) -> u16 {
        self.nodes
            .iter()
            .find(|n| n.child.is_some())
            .expect("a node runs")
            .port
    }

    /// Waits until every running node says the cluster is ok, every slot is served, and
    /// every running replica is in sync with its master.
    pub fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let healthy = self.nodes.iter().filter(|n| n.child.is_some()).all(|n| {
                let info = self.cli(n.port, &["CLUSTER", "INFO"]).unwrap_or_default();
                let replication = self
                    .cli(n.port, &["INFO", "replication"])
                    .unwrap_or_default();
                info.contains("cluster_state:ok")
                    && info.contains("cluster_slots_ok:16384")
                    && (replication.contains("role:master")
                        || replication.contains("master_link_status:up"))
            });
            if healthy {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the cluster did not become healthy"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The port of the master serving `channel`'s slot, as the cluster says now.
    pub fn master_of(&self, channel: &str) -> u16 {
        let live = self.live_port();
        let slot: u16 = self
            .cli(live, &["CLUSTER", "KEYSLOT", channel])
            .and_then(|s| s.parse().ok())
            .expect("a slot");
        let nodes = self.cli(live, &["CLUSTER", "NODES"]).expect("the nodes");
        for line in nodes.lines() {
            let fields: Vec<&str> = line.split(' ').collect();
            if fields.len() < 9 || !fields[2].contains("master") || fields[2].contains("fail") {
                continue;
            }
            let serves = fields[8..].iter().any(|range| {
                let (start, end) = range.split_once('-').unwrap_or((range, range));
                match (start.parse::<u16>(), end.parse::<u16>()) {
                    (Ok(start), Ok(end)) => (start..=end).contains(&slot),
                    _ => false,
                }
            });
            if serves {
                let address = fields[1].split('@').next().expect("an address");
                return address
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .expect("a port");
            }
        }
        panic!("no master serves slot {slot}");
    }

    /// How many connections of the node at `port` are subscribed to the sharded `channel`.
    pub fn shard_subscribers(&self, port: u16, channel: &str) -> usize {
        self.cli(port, &["PUBSUB", "SHARDNUMSUB", channel])
            .and_then(|out| out.lines().nth(1).and_then(|n| n.trim().parse().ok()))
            .unwrap_or(0)
    }

    /// The node id of the node at `port`.
    pub fn id(&self, port: u16) -> String {
        self.cli(port, &["CLUSTER", "MYID"]).expect("an id")
    }

    /// Kills the node at `port` (SIGKILL) and waits until it is gone.
    pub fn kill(&mut self, port: u16) {
        let node = self.nodes.iter_mut().find(|n| n.port == port);
        if let Some(mut child) = node.and_then(|n| n.child.take()) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
