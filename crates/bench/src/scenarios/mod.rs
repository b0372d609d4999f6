//! The named scenarios. Each runs the baseline first, then confab, on the same workload
//! (`cluster`: embedded confab, then two cluster nodes).

pub mod cluster;
pub mod connections;
pub mod latency;
pub mod startup;
pub mod throughput;
pub mod transcript;

use crate::fleet::Nodes;
use crate::procfs::Window;
use crate::server::{find_confab, Kind, Launcher, Scratch, Server};
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone)]
pub struct Common {
    /// Small sizes that finish in seconds (CI runs each scenario so); targets not judged.
    #[arg(long)]
    pub small: bool,
    /// Which servers to measure.
    #[arg(long, value_enum, default_value_t = Servers::Both)]
    pub servers: Servers,
    /// The confab binary (default: beside this one, or CONFAB_BIN).
    #[arg(long)]
    pub confab_bin: Option<PathBuf>,
    /// Where data folders go (default: the temp folder).
    #[arg(long)]
    pub data_root: Option<PathBuf>,
    /// A confab setting as NAME=VALUE, passed as a CONFAB_ variable
    /// (e.g. --set CONFAB_SERVER__SOCKET_QUEUE=2048). Repeatable.
    #[arg(long = "set")]
    pub settings: Vec<String>,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Servers {
    Both,
    Confab,
    Baseline,
}

impl Common {
    /// The servers to measure, baseline first.
    pub fn kinds(&self) -> Vec<Kind> {
        match self.servers {
            Servers::Both => vec![Kind::Baseline, Kind::Confab],
            Servers::Confab => vec![Kind::Confab],
            Servers::Baseline => vec![Kind::Baseline],
        }
    }

    pub fn launcher(&self) -> anyhow::Result<Launcher> {
        let settings = self
            .settings
            .iter()
            .map(|s| {
                let (k, v) =
                    s.split_once('=').ok_or_else(|| anyhow::anyhow!("--set wants NAME=VALUE, got {s}"))?;
                Ok((k.to_owned(), v.to_owned()))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Launcher { confab_bin: find_confab(self.confab_bin.clone())?, settings })
    }

    pub fn scratch(&self, name: &str) -> anyhow::Result<Scratch> {
        let root = self.data_root.clone().unwrap_or_else(std::env::temp_dir);
        Scratch::new(&root, name)
    }

    pub fn describe(&self) -> Value {
        json!({"servers": format!("{:?}", self.servers).to_lowercase(), "settings": self.settings})
    }
}

/// What a measured phase drives: the servers its chats use, and the processes whose CPU and
/// memory it reports (summed over the nodes of a cluster).
pub struct Target {
    pub nodes: Nodes,
    pub pids: Vec<u32>,
    /// Processes whose CPU is reported apart, by name (a cluster's PostgreSQL and NATS).
    pub services: &'static [&'static str],
}

impl Target {
    pub fn one(server: &Server) -> Target {
        Target { nodes: Nodes::one(server.addr), pids: vec![server.pid], services: &[] }
    }

    pub fn window(&self) -> Window {
        Window::of(self.pids.clone(), self.services)
    }
}

/// `small` or `full`.
pub fn pick<T>(small: bool, small_value: T, full_value: T) -> T {
    if small {
        small_value
    } else {
        full_value
    }
}
