//! `cluster`: the same workload on embedded confab (one node, the default backends) and on a
//! cluster of two `confab serve` nodes sharing PostgreSQL and NATS, in one run. Each chat is
//! made, and its customer connected and sending, on node A; its agent is connected (participant
//! connection and socket) on node B, so every message crosses NATS before the agent sees it.
//! Two phases per mode, as the `throughput` and `latency` scenarios run them: a closed loop,
//! then a fixed rate (1,000 messages/s) over 500 held chats.

use super::{latency, pick, throughput, Common, Servers, Target};
use crate::fleet::Nodes;
use crate::report::Report;
use crate::server::{Kind, Launcher};
use anyhow::Context;
use serde_json::{json, Value};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The token key both nodes share (32 bytes, base64): a cluster needs one.
const SECRET: &str = "Y29uZmFiLWJlbmNoLXNoYXJlZC1rZXktMzItYnl0ZSE=";
/// Schemas and subject prefixes are `confab_bench_<pid>`, so that a later run can drop the
/// schemas of runs that died before dropping their own.
const PREFIX: &str = "confab_bench_";
/// What the cluster nodes use besides themselves; their CPU is reported apart.
const SERVICES: &[&str] = &["postgres", "nats-server"];

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// PostgreSQL for the cluster nodes; the run makes a schema of its own there and drops it.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres: String,
    /// NATS for the cluster nodes; the run uses a subject prefix of its own.
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    pub nats: String,
    /// Chats of the throughput phase, one closed-loop sending client each.
    #[arg(long)]
    pub chats: Option<usize>,
    /// Messages per second of the latency phase.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Chats held during the latency phase (two sockets each).
    #[arg(long)]
    pub latency_chats: Option<usize>,
    /// Measured seconds of each phase (after its warm-up).
    #[arg(long)]
    pub secs: Option<f64>,
    #[arg(long)]
    pub warmup_secs: Option<f64>,
    /// Sending clients (connections) of the latency phase.
    #[arg(long)]
    pub clients: Option<usize>,
}

struct Plan {
    chats: usize,
    secs: Duration,
    warmup: Duration,
    latency: latency::Plan,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.common.servers == Servers::Both,
        "cluster measures embedded and cluster confab, without the baseline: --servers does not apply"
    );
    let small = args.common.small;
    let secs = Duration::from_secs_f64(args.secs.unwrap_or(pick(small, 1.5, 20.0)));
    let warmup = Duration::from_secs_f64(args.warmup_secs.unwrap_or(pick(small, 0.5, 3.0)));
    let plan = Plan {
        chats: args.chats.unwrap_or(pick(small, 8, 128)),
        secs,
        warmup,
        latency: latency::Plan {
            rate: args.rate.unwrap_or(pick(small, 200.0, 1_000.0)),
            chats: args.latency_chats.unwrap_or(pick(small, 10, 500)),
            secs,
            warmup,
            clients: args.clients.unwrap_or(pick(small, 4, 64)),
            heartbeat: Duration::from_secs_f64(pick(small, 0.5, 10.0)),
            sources: 1,
        },
    };
    reachable("PostgreSQL", &args.postgres, 5432)?;
    reachable("NATS", &args.nats, 4222)?;
    drop_dead_schemas(&args.postgres);
    let name = format!("{PREFIX}{}", std::process::id());
    let store = with_param(&args.postgres, "schema", &name);
    let bus = with_param(&args.nats, "prefix", &name);
    let l = &plan.latency;
    let config = json!({
        "throughput": {"chats": plan.chats, "sending_clients": plan.chats, "sockets": 2 * plan.chats,
                       "secs": secs.as_secs_f64(), "warmup_secs": warmup.as_secs_f64()},
        "latency": {"rate_per_sec": l.rate, "chats": l.chats, "sockets": 2 * l.chats,
                    "secs": secs.as_secs_f64(), "warmup_secs": warmup.as_secs_f64(),
                    "sending_clients": l.clients, "heartbeat_secs": l.heartbeat.as_secs_f64()},
        "embedded": "one confab node on the default backends (SQLite, in-process bus, local files)",
        "cluster": {
            "nodes": 2,
            "store": store,
            "bus": bus,
            "blobs": "each node's data folder (attachments are not exercised)",
            "node_a": "makes the chats; the customers' connections, sockets and SendMessage calls",
            "node_b": "the agents' participant connections and sockets: every message crosses NATS",
            "server_figures": "CPU, RSS and disk summed over both nodes; services_cpu_secs(_by_name): every postgres and nats-server process on the host, whoever it works for",
        },
        "baseline": "not part of this scenario: its targets compare cluster with embedded confab (the other scenarios measure the baseline)",
        "common": args.common.describe(),
    });
    eprintln!(
        "cluster: embedded, then two nodes on {store} and {bus}: throughput ({} chats), then {} msg/s over {} chats; {secs:?} measured each",
        plan.chats, l.rate, l.chats
    );
    let mut report = Report::new("cluster", small, config);
    let launcher = args.common.launcher()?;

    {
        let dir = args.common.scratch("embedded")?;
        let server = launcher.start(Kind::Confab, &dir.0).await?;
        let figures = phases(&Target::one(&server), &plan).await;
        server.stop();
        report.run("embedded", summarize("embedded", figures?));
    }
    {
        let mut schema = Schema { url: args.postgres.clone(), name: name.clone(), dropped: false };
        let mut cluster = launcher.clone();
        cluster.settings.extend(
            [("CONFAB_STORE", store.as_str()), ("CONFAB_BUS", bus.as_str()), ("CONFAB_SECRET", SECRET)]
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        let (dir_a, dir_b) = (args.common.scratch("node-a")?, args.common.scratch("node-b")?);
        // One after the other: the first applies the schema's migrations.
        let a = node(&cluster, "bench-a", &dir_a.0).await?;
        let b = node(&cluster, "bench-b", &dir_b.0).await?;
        let target = Target {
            nodes: Nodes { customer: a.addr, agent: b.addr },
            pids: vec![a.pid, b.pid],
            services: SERVICES,
        };
        let started_ms = [&a, &b].map(|n| crate::procfs::round(n.start_to_healthy.as_secs_f64() * 1e3, 1));
        let figures = phases(&target, &plan).await;
        b.stop();
        a.stop();
        let mut figures = summarize("cluster", figures?);
        figures["start_to_healthy_ms"] = json!(started_ms);
        figures["postgres_schema_dropped"] = json!(schema.drop_now());
        report.run("cluster", figures);
    }

    let ratio = report.ratio_runs(
        "throughput_messages_per_sec",
        ("cluster", &["throughput", "messages_per_sec"]),
        ("embedded", &["throughput", "messages_per_sec"]),
    );
    for (name, path) in [
        ("throughput_server_cpu_us_per_message", ["throughput", "server_cpu_us_per_message"].as_slice()),
        ("latency_p50", &["latency", "send_to_deliver", "p50_ms"]),
        ("latency_p99", &["latency", "send_to_deliver", "p99_ms"]),
        ("latency_server_cpu_us_per_message", &["latency", "server_cpu_us_per_message"]),
    ] {
        report.ratio_runs(name, ("cluster", path), ("embedded", path));
    }
    let p99 = report.get("cluster", &["latency", "send_to_deliver", "p99_ms"]);
    report.target("cluster throughput vs embedded", ">= 0.4", ratio, |r| r >= 0.4);
    report.target(&format!("cluster p99 at {} msg/s (ms)", l.rate), "<= 20", p99, |v| v <= 20.0);
    report.print();
    Ok(())
}

/// Throughput, then latency, on the same servers.
async fn phases(target: &Target, plan: &Plan) -> anyhow::Result<Value> {
    let throughput = throughput::phase(target, plan.chats, plan.secs, plan.warmup).await?;
    let latency = latency::phase(target, &plan.latency).await?;
    Ok(json!({"throughput": throughput, "latency": latency}))
}

/// The figures as they are, after a line on stderr with the ones the targets judge.
fn summarize(mode: &str, figures: Value) -> Value {
    eprintln!(
        "  {mode}: {} msg/s closed loop; at {} msg/s p50 {} ms, p99 {} ms",
        figures["throughput"]["messages_per_sec"],
        figures["latency"]["messages_per_sec"],
        figures["latency"]["send_to_deliver"]["p50_ms"],
        figures["latency"]["send_to_deliver"]["p99_ms"],
    );
    figures
}

async fn node(launcher: &Launcher, id: &str, dir: &Path) -> anyhow::Result<crate::server::Server> {
    let mut launcher = launcher.clone();
    launcher.settings.push(("CONFAB_NODE_ID".to_owned(), id.to_owned()));
    launcher.start(Kind::Confab, dir).await.with_context(|| format!("starting cluster node {id}"))
}

/// `url` with `key=value` added to its query.
fn with_param(url: &str, key: &str, value: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{key}={value}")
}

/// `scheme://[user@]host[:port][/…][?…]` → `host:port`.
fn endpoint(url: &str, default_port: u16) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:{default_port}")
    }
}

/// Fails with a clear message when `what` does not accept a TCP connection.
fn reachable(what: &str, url: &str, default_port: u16) -> anyhow::Result<()> {
    let at = endpoint(url, default_port);
    let addrs: Vec<SocketAddr> = at.to_socket_addrs().with_context(|| format!("{what} at {at}"))?.collect();
    let ok = addrs.iter().any(|a| TcpStream::connect_timeout(a, Duration::from_secs(2)).is_ok());
    anyhow::ensure!(ok, "{what} at {at} is not reachable: the cluster scenario needs PostgreSQL and NATS");
    Ok(())
}

/// The run's own PostgreSQL schema, dropped at the end (also when the run fails).
struct Schema {
    url: String,
    name: String,
    dropped: bool,
}

impl Schema {
    fn drop_now(&mut self) -> bool {
        if !self.dropped {
            self.dropped = psql(&self.url, &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name)).is_some();
            if !self.dropped {
                eprintln!("confab-bench: could not drop schema {} (psql): drop it by hand", self.name);
            }
        }
        self.dropped
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        self.drop_now();
    }
}

/// One statement through psql (as the cluster tests clean up); its output, None on failure.
fn psql(url: &str, sql: &str) -> Option<String> {
    let out = Command::new("psql")
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .env("PGCONNECT_TIMEOUT", "5")
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Drops the schemas of earlier runs whose process is gone.
fn drop_dead_schemas(url: &str) {
    let listed = psql(url, &format!("SELECT nspname FROM pg_namespace WHERE nspname LIKE '{PREFIX}%'"));
    for schema in listed.unwrap_or_default().lines().map(str::trim) {
        let pid = schema.strip_prefix(PREFIX).unwrap_or("");
        if !pid.is_empty()
            && pid.bytes().all(|b| b.is_ascii_digit())
            && !Path::new("/proc").join(pid).exists()
        {
            psql(url, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(endpoint("postgres://postgres@127.0.0.1:5432/postgres", 5432), "127.0.0.1:5432");
        assert_eq!(endpoint("postgres://u:pw@db/x?sslmode=disable", 5432), "db:5432");
        assert_eq!(endpoint("nats://127.0.0.1:4222", 4222), "127.0.0.1:4222");
        assert_eq!(with_param("nats://h:1", "prefix", "p"), "nats://h:1?prefix=p");
        assert_eq!(with_param("postgres://h/db?a=b", "schema", "s"), "postgres://h/db?a=b&schema=s");
    }
}
