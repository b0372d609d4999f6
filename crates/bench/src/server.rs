//! The server under test, as a child process: `confab serve` or this tool's own baseline
//! server. Started on port 0; the first line on its stdout names the address.

use crate::procfs::{self, ProcSample};
use anyhow::{anyhow, bail, Context};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const START_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Confab,
    Baseline,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Confab => "confab",
            Kind::Baseline => "baseline",
        }
    }
}

/// How to start servers.
#[derive(Debug, Clone)]
pub struct Launcher {
    pub confab_bin: PathBuf,
    /// `CONFAB_*` settings for confab (name, value).
    pub settings: Vec<(String, String)>,
}

pub struct Server {
    pub addr: SocketAddr,
    pub pid: u32,
    /// From spawn to the first 200 from /healthz.
    pub start_to_healthy: Duration,
    child: Child,
}

impl Launcher {
    /// Starts a server and waits until /healthz answers 200. `data_dir` is confab's.
    pub async fn start(&self, kind: Kind, data_dir: &Path) -> anyhow::Result<Server> {
        let mut command = match kind {
            Kind::Confab => {
                let mut c = Command::new(&self.confab_bin);
                c.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"]).arg(data_dir);
                c.envs(self.settings.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                c
            }
            Kind::Baseline => {
                let mut c = Command::new(std::env::current_exe()?);
                c.args(["baseline-server", "--listen", "127.0.0.1:0"]);
                c
            }
        };
        command
            .env("CONFAB_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let started = Instant::now();
        let mut child = command.spawn().with_context(|| format!("starting {}", kind.name()))?;
        let pid = child.id();
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        });
        let line = match tokio::time::timeout(START_TIMEOUT, line).await {
            Ok(Ok(Ok(line))) => line,
            _ => {
                let _ = child.kill();
                bail!("{} printed no address", kind.name());
            }
        };
        let Some(addr) = parse_address(&line) else {
            let _ = child.kill();
            bail!("{}: unexpected first line {line:?}", kind.name());
        };
        let mut server = Server { addr, pid, start_to_healthy: Duration::ZERO, child };
        server.start_to_healthy = wait_healthy(addr, started).await?;
        Ok(server)
    }
}

/// `… listening on http://127.0.0.1:PORT` → the address.
fn parse_address(line: &str) -> Option<SocketAddr> {
    line.split("http://").nth(1)?.trim().trim_end_matches('/').parse().ok()
}

/// Polls /healthz on fresh connections until it answers 200; the time since `started`.
pub async fn wait_healthy(addr: SocketAddr, started: Instant) -> anyhow::Result<Duration> {
    while started.elapsed() < START_TIMEOUT {
        if let Ok(mut conn) = crate::http::Conn::connect(addr, None).await {
            if conn.call("GET", "/healthz", &[], b"").await.is_ok_and(|r| r.status == 200) {
                return Ok(started.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    bail!("{addr} not healthy within {START_TIMEOUT:?}")
}

impl Server {
    pub fn sample(&self) -> ProcSample {
        procfs::process(self.pid)
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The confab binary: the given path, else `CONFAB_BIN`, else beside this executable (or
/// one folder up, when this is a test binary in `deps/`).
pub fn find_confab(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(path) = given.or_else(|| std::env::var_os("CONFAB_BIN").map(PathBuf::from)) {
        return Ok(path);
    }
    let exe = std::env::current_exe()?;
    let name = format!("confab{}", std::env::consts::EXE_SUFFIX);
    for dir in exe.ancestors().skip(1).take(2) {
        let candidate = dir.join(&name);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!("no confab binary beside {}: build it (cargo build -p confab) or pass --confab-bin", exe.display())
}

/// A fresh scratch folder under `root`, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(root: &Path, name: &str) -> anyhow::Result<Scratch> {
        let dir = root.join(format!("confab-bench-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn address_line() {
        let a = super::parse_address("confab listening on http://127.0.0.1:4321\n");
        assert_eq!(a.map(|a| a.port()), Some(4321));
    }
}
