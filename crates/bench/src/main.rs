//! `confab-bench`: a load generator for confab. Each scenario starts the servers it measures
//! (confab and the baseline, in the same run), drives them from this process, and prints one
//! JSON report on stdout and a human summary on stderr. See BENCHMARKS.md.

mod baseline;
mod chat;
mod drive;
mod fleet;
mod http;
mod load;
mod procfs;
mod report;
mod scenarios;
mod server;
mod tally;
mod ws;

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "confab-bench",
    about = "Load generator for confab, with a baseline measured in the same run"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Open N chats with two subscribed participants each and hold them with heartbeats.
    Connections(scenarios::connections::Args),
    /// As many durable messages per second as the server takes, delivered to both participants.
    Throughput(scenarios::throughput::Args),
    /// Send→deliver latency at a fixed rate with many sockets held.
    Latency(scenarios::latency::Args),
    /// GetTranscript pages on contacts of 100, 100,000 and 1,000,000 items.
    Transcript(scenarios::transcript::Args),
    /// Start to healthy, on an empty data folder and with 1,000,000 stored items.
    Startup(scenarios::startup::Args),
    /// Throughput and latency of two cluster nodes (PostgreSQL, NATS) beside embedded confab.
    Cluster(scenarios::cluster::Args),
    /// The baseline server itself (started by the scenarios).
    #[command(hide = true)]
    BaselineServer {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        /// Ends by itself after this long, should its parent be gone.
        #[arg(long, default_value_t = 4 * 3600)]
        lifetime_secs: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::BaselineServer { listen, lifetime_secs } => {
            baseline::main(&listen, Duration::from_secs(lifetime_secs))
        }
        command => run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("confab-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    raise_file_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        match command {
            Command::Connections(a) => scenarios::connections::run(a).await,
            Command::Throughput(a) => scenarios::throughput::run(a).await,
            Command::Latency(a) => scenarios::latency::run(a).await,
            Command::Transcript(a) => scenarios::transcript::run(a).await,
            Command::Startup(a) => scenarios::startup::run(a).await,
            Command::Cluster(a) => scenarios::cluster::run(a).await,
            Command::BaselineServer { .. } => Ok(()),
        }
    })
}

/// Sockets need file descriptors: the soft limit goes up to the hard one (the servers we
/// start inherit it).
fn raise_file_limit() {
    if let Ok((_, hard)) = rlimit::Resource::NOFILE.get() {
        if let Err(e) = rlimit::increase_nofile_limit(hard) {
            eprintln!("confab-bench: could not raise the file limit: {e}");
        }
    }
}
