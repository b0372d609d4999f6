//! What the cluster tests share: finding the services they need, and skipping (or, under
//! CI=true, failing) when one is missing.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub const POSTGRES_ADDR: &str = "127.0.0.1:5432";
pub const NATS_ADDR: &str = "127.0.0.1:4222";

/// Under CI a missing service fails the test; elsewhere the test says SKIPPED and passes.
pub fn skip(why: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{why} (CI=true: this test must run)");
    }
    println!("SKIPPED: {why}");
}

/// Whether something listens at `addr`; if not, [`skip`]s.
pub fn listening(what: &str, addr: &str) -> bool {
    let up = addr
        .parse::<SocketAddr>()
        .ok()
        .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(1)).is_ok());
    if !up {
        skip(&format!("no {what} at {addr}"));
    }
    up
}

/// A name no other test (or run) uses: lowercase letters, digits and '_'.
pub fn unique(tag: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{tag}_{}_{nanos}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// A port free right now on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Waits until something accepts connections on `port` (at most `secs`).
pub fn wait_for_port(port: u16, secs: u64) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Finds an executable on PATH or in cargo's bin folder.
pub fn find_binary(name: &str) -> Option<std::path::PathBuf> {
    let mut dirs: Vec<std::path::PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        dirs.push(std::path::PathBuf::from(home).join("bin"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(std::path::PathBuf::from(home).join(".cargo").join("bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// A child process killed (and reaped) when dropped.
pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
