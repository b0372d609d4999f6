//! What `/proc` says about a process (CPU seconds, resident and peak memory) and about the
//! host (CPU use and steal), and the machine a report was made on.

use serde_json::{json, Value};
use std::time::Instant;

/// Linux reports process times in USER_HZ, which is 100 on every supported architecture.
const TICKS_PER_SEC: f64 = 100.0;

#[derive(Debug, Clone, Copy, Default)]
pub struct ProcSample {
    pub cpu_secs: f64,
    pub rss_kib: u64,
    pub peak_rss_kib: u64,
    /// Bytes the process caused to be written to storage (its share of fsynced pages).
    pub disk_write_bytes: u64,
}

/// CPU seconds and memory of a process; zeros when it is gone.
pub fn process(pid: u32) -> ProcSample {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) in parentheses.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15; `after` starts at field 3.
    let cpu_secs = (ticks(11) + ticks(12)) / TICKS_PER_SEC;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default();
    let disk_write_bytes = io
        .lines()
        .find_map(|l| l.strip_prefix("write_bytes:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    ProcSample { cpu_secs, rss_kib: kib("VmRSS:"), peak_rss_kib: kib("VmHWM:"), disk_write_bytes }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct HostSample {
    total: u64,
    idle: u64,
    steal: u64,
}

/// The host's CPU counters (first line of /proc/stat).
pub fn host() -> HostSample {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = stat.lines().next().unwrap_or("");
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    let at = |i: usize| v.get(i).copied().unwrap_or(0);
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    HostSample { total: (0..8).map(at).sum(), idle: at(3) + at(4), steal: at(7) }
}

/// The processes whose command name (`/proc/<pid>/comm`) is one of `names`.
fn pids_named(names: &[&str]) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| names.contains(&c.trim()))
        })
        .collect()
}

/// CPU seconds of every process named one of `names`, by pid.
fn cpu_of_named(names: &[&str]) -> Vec<(u32, f64)> {
    pids_named(names).into_iter().map(|pid| (pid, process(pid).cpu_secs)).collect()
}

/// A measured stretch of time: the server's CPU and memory over it (summed over the nodes of
/// a cluster), the load generator's own CPU, and the host's CPU use and steal; optionally the
/// CPU of services the servers use (a cluster's PostgreSQL and NATS), found by name.
pub struct Window {
    started: Instant,
    servers: Vec<(u32, ProcSample)>,
    me: ProcSample,
    host: HostSample,
    services: &'static [&'static str],
    services_cpu: Vec<(u32, f64)>,
}

impl Window {
    pub fn start(pid: Option<u32>) -> Window {
        Window::of(pid.into_iter().collect(), &[])
    }

    /// Servers `pids`, and the processes named `services` (whatever they do for whom: on a
    /// shared host that includes other clients of those services).
    pub fn of(pids: Vec<u32>, services: &'static [&'static str]) -> Window {
        Window {
            started: Instant::now(),
            servers: pids.into_iter().map(|pid| (pid, process(pid))).collect(),
            me: process(std::process::id()),
            host: host(),
            services,
            services_cpu: cpu_of_named(services),
        }
    }

    pub fn end(&self) -> Value {
        let secs = self.started.elapsed().as_secs_f64();
        let me = process(std::process::id());
        let h = host();
        let total = h.total.saturating_sub(self.host.total).max(1) as f64;
        let idle = h.idle.saturating_sub(self.host.idle) as f64;
        let steal = h.steal.saturating_sub(self.host.steal) as f64;
        let busy = (total - idle - steal) / total;
        let loadgen = me.cpu_secs - self.me.cpu_secs;
        let mut out = json!({
            "secs": round(secs, 3),
            "host_cpu_busy_pct": round(100.0 * busy, 1),
            "host_steal_pct": round(100.0 * steal / total, 1),
            "loadgen_cpu_secs": round(loadgen, 2),
        });
        let mut ours = loadgen;
        if !self.servers.is_empty() {
            let (mut cpu, mut rss, mut peak, mut disk) = (0.0, 0, 0, 0);
            for (pid, then) in &self.servers {
                let s = process(*pid);
                cpu += (s.cpu_secs - then.cpu_secs).max(0.0);
                rss += s.rss_kib;
                peak += s.peak_rss_kib;
                disk += s.disk_write_bytes.saturating_sub(then.disk_write_bytes);
            }
            ours += cpu;
            out["server_cpu_secs"] = json!(round(cpu, 2));
            out["server_cpu_pct"] = json!(round(100.0 * cpu / secs.max(1e-9), 1));
            out["server_rss_kib"] = json!(rss);
            out["server_peak_rss_kib"] = json!(peak);
            out["server_disk_write_mib"] = json!(round(disk as f64 / 1048576.0, 1));
        }
        if !self.services.is_empty() {
            // By name; processes that started during the window count from zero.
            let before =
                |pid: u32| self.services_cpu.iter().find(|(p, _)| *p == pid).map_or(0.0, |(_, c)| *c);
            let mut by_name = serde_json::Map::new();
            let mut cpu = 0.0;
            for name in self.services {
                let used: f64 =
                    cpu_of_named(&[name]).iter().map(|&(pid, c)| (c - before(pid)).max(0.0)).sum();
                by_name.insert((*name).to_owned(), json!(round(used, 2)));
                cpu += used;
            }
            ours += cpu;
            out["services_cpu_secs"] = json!(round(cpu, 2));
            out["services_cpu_pct"] = json!(round(100.0 * cpu / secs.max(1e-9), 1));
            out["services_cpu_secs_by_name"] = Value::Object(by_name);
        }
        // What the rest of the host used (other processes, the kernel's own work): a busy
        // neighbour makes tails longer, so figures are compared only when this is low.
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let others = (busy - ours / (secs.max(1e-9) * cpus)).max(0.0);
        out["other_cpu_pct"] = json!(round(100.0 * others, 1));
        out
    }
}

pub fn round(x: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (x * p).round() / p
}

/// The machine, for the record beside every figure.
pub fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']));
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    json!({
        "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "cpu_model": model.unwrap_or("unknown"),
        "memory_mib": mem_kib / 1024,
        "kernel": kernel.trim(),
        "loadavg_at_start": load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        "build": if cfg!(debug_assertions) { "debug" } else { "release" },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let s = process(std::process::id());
        assert!(s.rss_kib > 0 && s.peak_rss_kib >= s.rss_kib);
        assert!(host().total > 0);
    }
}
