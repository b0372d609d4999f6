//! Checkpoints off the commit path. SQLite's automatic checkpoint runs inside the COMMIT that
//! crosses 1,000 WAL pages, on the writer thread, so every batch queued behind that group
//! waited for the copy into the database file and its fsync (a quarter of the writer's time
//! under load, by profile). Here a thread of its own, with its own connection, runs a
//! PASSIVE checkpoint (which never blocks the writer) every `EVERY` while groups are being
//! committed; it also copies each page once per interval instead of once per 1,000 frames.

use super::Shared;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

const EVERY: Duration = Duration::from_millis(200);

pub(crate) struct Checkpointer {
    stop: mpsc::Sender<()>,
    handle: JoinHandle<()>,
}

impl Checkpointer {
    /// Starts the thread; None when its connection cannot be opened (the writer then keeps
    /// SQLite's automatic checkpoints).
    pub(crate) fn start(path: &Path, busy_timeout: Duration, shared: Arc<Shared>) -> Option<Checkpointer> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).ok()?;
        conn.busy_timeout(busy_timeout).ok()?;
        let (stop, stopped) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("confab-sqlite-checkpoint".into())
            .spawn(move || run(&conn, &shared, &stopped))
            .ok()?;
        Some(Checkpointer { stop, handle })
    }

    /// Stops the thread after its current checkpoint.
    pub(crate) fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.handle.join();
    }
}

/// Until told to stop (or the writer is gone): a checkpoint each interval with commits.
fn run(conn: &Connection, shared: &Shared, stopped: &mpsc::Receiver<()>) {
    let mut seen = shared.stats.groups.load(Ordering::Relaxed);
    loop {
        match stopped.recv_timeout(EVERY) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        let groups = shared.stats.groups.load(Ordering::Relaxed);
        if groups == seen {
            continue;
        }
        seen = groups;
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "sqlite checkpoint failed; retrying at the next interval");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::SqliteStore;
    use confab_ports::{Batch, NewItem, Store};
    use std::time::{Duration, Instant};

    /// Pages reach the database file without 1,000 WAL frames and without a close.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn commits_reach_the_database_file_in_the_background() {
        let dir = std::env::temp_dir().join(format!("confab-embedded-checkpoint-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("confab.db");
        let store = SqliteStore::open(&path).expect("open");
        let before = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        for n in 0..20 {
            let mut batch = Batch::new("c");
            batch.items =
                (0..20).map(|i| NewItem { id: format!("{n}-{i}"), at: 1, json: "x".repeat(1000) }).collect();
            store.commit(batch).await.expect("commit");
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut grown = false;
        while !grown && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            grown = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) > before + 200_000;
        }
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
        assert!(grown, "the database file did not grow: nothing was checkpointed");
    }
}
