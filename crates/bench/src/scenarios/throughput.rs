//! `throughput`: as many durable SendMessage calls per second as the server answers, each
//! delivered to both participants' sockets (closed loop, one client per chat).

use super::{pick, Common, Target};
use crate::drive;
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
    /// Chats, one sending client each.
    #[arg(long)]
    pub chats: Option<usize>,
    /// Measured seconds (after the warm-up).
    #[arg(long)]
    pub secs: Option<f64>,
    #[arg(long)]
    pub warmup_secs: Option<f64>,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let small = args.common.small;
    let chats = args.chats.unwrap_or(pick(small, 8, 128));
    let secs = Duration::from_secs_f64(args.secs.unwrap_or(pick(small, 1.5, 20.0)));
    let warmup = Duration::from_secs_f64(args.warmup_secs.unwrap_or(pick(small, 0.5, 3.0)));
    let config = json!({"chats": chats, "sending_clients": chats, "sockets": 2 * chats,
                        "secs": secs.as_secs_f64(), "warmup_secs": warmup.as_secs_f64(),
                        "common": args.common.describe()});
    eprintln!("throughput: {chats} chats, one client each, {secs:?} measured");
    let mut report = Report::new("throughput", small, config);
    let launcher = args.common.launcher()?;
    for kind in args.common.kinds() {
        let dir = args.common.scratch(kind.name())?;
        report.run(kind.name(), measure(&launcher, kind, &dir.0, chats, secs, warmup).await?);
    }
    let ratio = report.ratio("messages_per_sec", &["messages_per_sec"]);
    report.ratio("server_cpu_us_per_message", &["server_cpu_us_per_message"]);
    report.target("durable throughput vs baseline", ">= 0.6", ratio, |r| r >= 0.6);
    report.print();
    Ok(())
}

async fn measure(
    launcher: &Launcher,
    kind: Kind,
    dir: &std::path::Path,
    chats: usize,
    secs: Duration,
    warmup: Duration,
) -> anyhow::Result<Value> {
    let server = launcher.start(kind, dir).await?;
    let figures = phase(&Target::one(&server), chats, secs, warmup).await;
    server.stop();
    figures
}

/// The measured part, on servers already running.
pub async fn phase(target: &Target, chats: usize, secs: Duration, warmup: Duration) -> anyhow::Result<Value> {
    let addr = target.nodes.customer;
    let tally = Arc::new(Tally::default());
    let until = Instant::now() + warmup + secs + Duration::from_secs(600);
    let created = fleet::create(addr, chats, &tally).await;
    let fleet = fleet::connect(
        target.nodes,
        created,
        &tally,
        &Options { heartbeat: Duration::from_secs(10), sources: 1, until },
    )
    .await;
    let tokens: Arc<Vec<String>> = Arc::new(fleet.senders.clone());
    anyhow::ensure!(!tokens.is_empty(), "no chat could be set up: {}", tally.errors.json());
    let start = Instant::now();
    let end = start + warmup + secs;
    let driver = tokio::spawn(drive::closed_loop(addr, tokens.clone(), tokens.len(), end, tally.clone()));
    tokio::time::sleep_until(start + warmup).await;
    tally.start_recording();
    let (acked0, delivered0) = (tally.count(&tally.sent_ok), tally.count(&tally.delivered));
    let window = target.window();
    tokio::time::sleep_until(end).await;
    tally.stop_recording();
    let usage = window.end();
    let measured = usage["secs"].as_f64().unwrap_or(secs.as_secs_f64());
    let acked = tally.count(&tally.sent_ok) - acked0;
    let delivered = tally.count(&tally.delivered) - delivered0;
    let _ = driver.await;
    let all_delivered = drive::drained(&tally, Duration::from_secs(10)).await;
    let cpu = usage["server_cpu_secs"].as_f64().unwrap_or(0.0);
    let disk = usage["server_disk_write_mib"].as_f64().unwrap_or(0.0);
    let figures = json!({
        "messages_per_sec": round(acked as f64 / measured, 0),
        "deliveries_per_sec": round(delivered as f64 / measured, 0),
        "server_cpu_us_per_message": round(1e6 * cpu / acked.max(1) as f64, 1),
        "server_disk_bytes_per_message": round(disk * 1048576.0 / acked.max(1) as f64, 0),
        "acked_in_window": acked,
        "acked_total": tally.count(&tally.sent_ok),
        "delivered_total": tally.count(&tally.delivered),
        "every_message_reached_both_sockets": all_delivered,
        "sockets": fleet.sockets,
        "send_to_deliver": summary(&tally.latency.lock()),
        "send_to_answer": summary(&tally.ack.lock()),
        "errors": tally.errors.json(),
        "window": usage,
    });
    drop(fleet);
    Ok(figures)
}
