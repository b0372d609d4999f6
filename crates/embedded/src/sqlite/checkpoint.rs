//! Checkpoints off the commit path. SQLite's automatic checkpoint runs inside the COMMIT that
//! crosses 1,000 WAL pages, on the writer thread, so every batch queued behind that group
//! waited for the copy into the database file and its fsync (a quarter of the writer's time
//! under load, by profile). Here a thread of its own, with its own connection, runs a
//! PASSIVE checkpoint (which never blocks the writer) every `EVERY` while groups are being
//! committed; it also copies each page once per interval instead of once per 1,000 frames.
//!
//! A PASSIVE checkpoint never finishes while commits keep coming (frames arrive while it
//! copies), and SQLite starts the WAL over only after one did: under sustained load the WAL
//! grew by gigabytes a minute, and every page lookup searched more of its index. So when
//! the WAL holds more than `SqliteOptions::wal_restart_frames` after the passive pass, a
//! RESTART checkpoint copies what is left (little, right after the pass) holding the writer
//! off meanwhile, and the next commit writes the WAL from its start again.

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
    pub(crate) fn start(path: &Path, shared: Arc<Shared>, restart_frames: u32) -> Option<Checkpointer> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).ok()?;
        conn.busy_handler(Some(super::wait_briefly)).ok()?;
        let (stop, stopped) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("confab-sqlite-checkpoint".into())
            .spawn(move || run(&conn, &shared, &stopped, i64::from(restart_frames)))
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
fn run(conn: &Connection, shared: &Shared, stopped: &mpsc::Receiver<()>, restart_frames: i64) {
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
        if let Err(e) = checkpoint(conn, restart_frames) {
            tracing::warn!(error = %e, "sqlite checkpoint failed; retrying at the next interval");
        }
    }
}

/// A passive pass, then a restart when the WAL has grown long.
fn checkpoint(conn: &Connection, restart_frames: i64) -> rusqlite::Result<()> {
    let frames =
        |mode: &str| conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| r.get::<_, i64>(1));
    if frames("PASSIVE")? > restart_frames {
        frames("RESTART")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{SqliteOptions, SqliteStore};
    use confab_ports::{Batch, NewItem, Store};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// Writers that never pause leave a passive checkpoint always a few frames behind, so the
    /// WAL would never start over; the restart keeps it near its limit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_stays_short_under_writes_that_never_pause() {
        let dir = std::env::temp_dir().join(format!("confab-embedded-walcap-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("confab.db");
        let options = SqliteOptions { wal_restart_frames: 256, ..SqliteOptions::default() };
        let store = Arc::new(SqliteStore::open_with(&path, options).expect("open"));
        let wal = dir.join("confab.db-wal");
        let mut writers = Vec::new();
        for w in 0..4 {
            let store = store.clone();
            writers.push(tokio::spawn(async move {
                // 64 MiB of items in all, 16 MiB a writer, spread over a second or more (the
                // checkpointer runs every 200 ms): 64 times the limit of 1 MiB.
                for n in 0..512 {
                    let mut batch = Batch::new(format!("c{w}"));
                    batch.items = (0..8)
                        .map(|i| NewItem { id: format!("{w}-{n}-{i}"), at: 1, json: "x".repeat(4_000) })
                        .collect();
                    store.commit(batch).await.expect("commit");
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }));
        }
        let mut longest = 0;
        while writers.iter().any(|w| !w.is_finished()) {
            longest = longest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for w in writers {
            w.await.expect("writer");
        }
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
        // The limit is 1 MiB plus the 8 MiB kept of the file; frames keep coming while a
        // checkpoint runs, so allow some above that, far below the 48 MiB written.
        assert!(longest < 24 << 20, "the WAL grew to {longest} bytes");
        assert!(longest > 0, "no WAL was seen");
    }

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
