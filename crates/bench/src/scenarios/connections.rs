//! `connections`: N chats with both participants subscribed, held with chatjs-like pings and
//! heartbeats; server memory per socket above the idle server.

use super::{pick, Common};
use crate::fleet::{self, Nodes, Options};
use crate::procfs::Window;
use crate::report::Report;
use crate::server::{Kind, Launcher};
use crate::tally::Tally;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// Chats (two sockets each). Full size: 9,000 (18,000 sockets).
    #[arg(long)]
    pub chats: Option<usize>,
    /// How long the sockets are held once all are open.
    #[arg(long)]
    pub hold_secs: Option<f64>,
    /// chatjs pings and heartbeats every 10 s.
    #[arg(long)]
    pub heartbeat_secs: Option<f64>,
    /// Source addresses 127.0.0.1 … 127.0.0.N for the sockets.
    #[arg(long)]
    pub sources: Option<usize>,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let small = args.common.small;
    let chats = args.chats.unwrap_or(pick(small, 10, 9_000));
    let hold = Duration::from_secs_f64(args.hold_secs.unwrap_or(pick(small, 1.5, 30.0)));
    let heartbeat = Duration::from_secs_f64(args.heartbeat_secs.unwrap_or(pick(small, 0.5, 10.0)));
    let sources = args.sources.unwrap_or(pick(small, 2, 4));
    let config = json!({"chats": chats, "sockets": 2 * chats, "hold_secs": hold.as_secs_f64(),
                        "heartbeat_secs": heartbeat.as_secs_f64(), "source_addresses": sources,
                        "common": args.common.describe()});
    eprintln!("connections: {chats} chats, {} sockets, held {hold:?}", 2 * chats);
    let mut report = Report::new("connections", small, config);
    let launcher = args.common.launcher()?;
    for kind in args.common.kinds() {
        let dir = args.common.scratch(kind.name())?;
        let figures = measure(&launcher, kind, &dir.0, chats, hold, heartbeat, sources).await?;
        report.run(kind.name(), figures);
    }
    report.ratio("bytes_per_socket", &["memory", "bytes_per_socket"]);
    report.ratio("setup_sockets_per_sec", &["setup", "sockets_per_sec"]);
    let sockets = report.get("confab", &["sockets_held"]);
    report.target("concurrent subscribed websockets", ">= 18000", sockets, |v| v >= 18_000.0);
    let per_socket = report.get("confab", &["memory", "bytes_per_socket"]);
    report.target("server memory per socket above idle (bytes)", "<= 10240", per_socket, |v| v <= 10_240.0);
    report.print();
    Ok(())
}

async fn measure(
    launcher: &Launcher,
    kind: Kind,
    dir: &std::path::Path,
    chats: usize,
    hold: Duration,
    heartbeat: Duration,
    sources: usize,
) -> anyhow::Result<Value> {
    let server = launcher.start(kind, dir).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = server.sample();
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let created = fleet::create(server.addr, chats, &tally).await;
    let create_secs = started.elapsed().as_secs_f64();
    let after_chats = server.sample();
    let until = tokio::time::Instant::now() + hold + Duration::from_secs(600);
    let options = Options { heartbeat, sources, until };
    let started = Instant::now();
    let fleet = fleet::connect(Nodes::one(server.addr), created, &tally, &options).await;
    let connect_secs = started.elapsed().as_secs_f64();
    let after_sockets = server.sample();
    let window = Window::start(Some(server.pid));
    let (hb0, ping0) = (tally.count(&tally.heartbeats), tally.count(&tally.pings_ok));
    tokio::time::sleep(hold).await;
    let held = server.sample();
    let usage = window.end();
    let sockets = fleet.sockets;
    let alive = sockets as u64 - tally.errors.total().min(sockets as u64);
    let per_socket = |from: u64| (held.rss_kib.saturating_sub(from) * 1024) as f64 / sockets.max(1) as f64;
    let figures = json!({
        "chats_connected": fleet.senders.len(),
        "sockets_opened": sockets,
        "sockets_held": alive,
        "setup": {
            "create_chats_secs": crate::procfs::round(create_secs, 2),
            "connect_secs": crate::procfs::round(connect_secs, 2),
            "sockets_per_sec": crate::procfs::round(sockets as f64 / connect_secs.max(1e-9), 0),
        },
        "memory": {
            "idle_rss_kib": idle.rss_kib,
            "after_chats_rss_kib": after_chats.rss_kib,
            "after_sockets_rss_kib": after_sockets.rss_kib,
            "held_rss_kib": held.rss_kib,
            "peak_rss_kib": held.peak_rss_kib,
            "bytes_per_socket": per_socket(idle.rss_kib).round(),
            "bytes_per_socket_excluding_chats": per_socket(after_chats.rss_kib).round(),
        },
        "held": {
            "heartbeat_replies": tally.count(&tally.heartbeats) - hb0,
            "ping_replies_200": tally.count(&tally.pings_ok) - ping0,
            "expected_each_about": crate::procfs::round(sockets as f64 * hold.as_secs_f64() / heartbeat.as_secs_f64(), 0),
        },
        "errors": tally.errors.json(),
        "window": usage,
    });
    drop(fleet);
    server.stop();
    Ok(figures)
}
