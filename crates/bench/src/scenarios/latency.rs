//! `latency`: SendMessage at a fixed rate (open loop) across many held chats; send→deliver
//! latency on the other participant's socket.

use super::{pick, Common, Target};
use crate::drive::{self, Schedule};
use crate::fleet::{self, Options};
use crate::procfs::round;
use crate::report::Report;
use crate::server::{Kind, Launcher};
use crate::tally::{summary, Tally};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// Messages per second.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Chats held (two sockets each). 2,000 gives the 4,000 sockets of the first target,
    /// 9,000 the 18,000 of the second.
    #[arg(long)]
    pub chats: Option<usize>,
    #[arg(long)]
    pub secs: Option<f64>,
    #[arg(long)]
    pub warmup_secs: Option<f64>,
    /// Sending clients (connections) shared by the schedule.
    #[arg(long)]
    pub clients: Option<usize>,
    #[arg(long)]
    pub heartbeat_secs: Option<f64>,
    #[arg(long)]
    pub sources: Option<usize>,
}

pub struct Plan {
    pub rate: f64,
    pub chats: usize,
    pub secs: Duration,
    pub warmup: Duration,
    pub clients: usize,
    pub heartbeat: Duration,
    pub sources: usize,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let small = args.common.small;
    let plan = Plan {
        rate: args.rate.unwrap_or(pick(small, 200.0, 2_000.0)),
        chats: args.chats.unwrap_or(pick(small, 10, 2_000)),
        secs: Duration::from_secs_f64(args.secs.unwrap_or(pick(small, 1.5, 30.0))),
        warmup: Duration::from_secs_f64(args.warmup_secs.unwrap_or(pick(small, 0.5, 5.0))),
        clients: args.clients.unwrap_or(pick(small, 4, 64)),
        heartbeat: Duration::from_secs_f64(args.heartbeat_secs.unwrap_or(pick(small, 0.5, 10.0))),
        sources: args.sources.unwrap_or(pick(small, 1, 4)),
    };
    let sockets = 2 * plan.chats;
    let config = json!({"rate_per_sec": plan.rate, "chats": plan.chats, "sockets": sockets,
                        "secs": plan.secs.as_secs_f64(), "warmup_secs": plan.warmup.as_secs_f64(),
                        "sending_clients": plan.clients, "heartbeat_secs": plan.heartbeat.as_secs_f64(),
                        "source_addresses": plan.sources, "common": args.common.describe()});
    eprintln!(
        "latency: {} messages/s over {} chats ({sockets} sockets), {:?} measured",
        plan.rate, plan.chats, plan.secs
    );
    let mut report = Report::new("latency", small, config);
    let launcher = args.common.launcher()?;
    for kind in args.common.kinds() {
        let dir = args.common.scratch(kind.name())?;
        report.run(kind.name(), measure(&launcher, kind, &dir.0, &plan).await?);
    }
    let p99_ratio = report.ratio("p99", &["send_to_deliver", "p99_ms"]);
    report.ratio("p50", &["send_to_deliver", "p50_ms"]);
    report.ratio("server_cpu_secs", &["window", "server_cpu_secs"]);
    let p50 = report.get("confab", &["send_to_deliver", "p50_ms"]);
    let p99 = report.get("confab", &["send_to_deliver", "p99_ms"]);
    if sockets < 18_000 {
        report.target(&format!("p50 at {} msg/s, {sockets} sockets (ms)", plan.rate), "<= 1.0", p50, |v| {
            v <= 1.0
        });
        report.target("p99 vs baseline p99 (same run)", "<= 1.5", p99_ratio, |r| r <= 1.5);
    } else {
        report.target(&format!("p99 at {} msg/s, {sockets} sockets (ms)", plan.rate), "<= 10.0", p99, |v| {
            v <= 10.0
        });
    }
    report.print();
    Ok(())
}

async fn measure(
    launcher: &Launcher,
    kind: Kind,
    dir: &std::path::Path,
    plan: &Plan,
) -> anyhow::Result<Value> {
    let server = launcher.start(kind, dir).await?;
    let figures = phase(&Target::one(&server), plan).await;
    server.stop();
    figures
}

/// The measured part, on servers already running.
pub async fn phase(target: &Target, plan: &Plan) -> anyhow::Result<Value> {
    let addr = target.nodes.customer;
    let tally = Arc::new(Tally::default());
    let until = Instant::now() + plan.warmup + plan.secs + Duration::from_secs(1800);
    let created = fleet::create(addr, plan.chats, &tally).await;
    let options = Options { heartbeat: plan.heartbeat, sources: plan.sources, until };
    let fleet = fleet::connect(target.nodes, created, &tally, &options).await;
    let tokens: Arc<Vec<String>> = Arc::new(fleet.senders.clone());
    anyhow::ensure!(!tokens.is_empty(), "no chat could be set up: {}", tally.errors.json());
    let setup_errors = tally.errors.json();
    let start = Instant::now() + Duration::from_millis(50);
    let total = (plan.rate * (plan.warmup + plan.secs).as_secs_f64()).round() as u64;
    let schedule = Schedule { start, rate: plan.rate, total };
    let driver = tokio::spawn(drive::open_loop(addr, tokens, plan.clients, schedule, tally.clone()));
    tokio::time::sleep_until(start + plan.warmup).await;
    tally.start_recording();
    let acked0 = tally.count(&tally.sent_ok);
    let window = target.window();
    tokio::time::sleep_until(start + plan.warmup + plan.secs).await;
    tally.stop_recording();
    let usage = window.end();
    let acked = tally.count(&tally.sent_ok) - acked0;
    let lag = driver.await.unwrap_or_else(|_| crate::tally::histogram());
    let all_delivered = drive::drained(&tally, Duration::from_secs(10)).await;
    let measured = usage["secs"].as_f64().unwrap_or(1.0);
    let per_message =
        |key: &str, scale: f64| round(usage[key].as_f64().unwrap_or(0.0) * scale / acked.max(1) as f64, 1);
    let figures = json!({
        "messages_per_sec": round(acked as f64 / measured, 0),
        "server_cpu_us_per_message": per_message("server_cpu_secs", 1e6),
        "server_disk_bytes_per_message": per_message("server_disk_write_mib", 1048576.0).round(),
        "sockets": fleet.sockets,
        "send_to_deliver": summary(&tally.latency.lock()),
        "send_to_answer": summary(&tally.ack.lock()),
        "start_lag": summary(&lag),
        "every_message_reached_both_sockets": all_delivered,
        "setup_errors": setup_errors,
        "errors": tally.errors.json(),
        "window": usage,
    });
    drop(fleet);
    Ok(figures)
}
