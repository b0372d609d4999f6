//! The WAL's fsync, off the writer thread, so that the writer applies the next group while
//! the previous one is being made durable.
//!
//! The writer connection runs with `synchronous = NORMAL`: its COMMIT writes the group's
//! frames to the WAL and returns without syncing (SQLite still syncs around checkpoints and
//! when the WAL starts over). The writer then hands the group's answers here; this thread
//! takes every group handed over so far, calls `fdatasync` once on the WAL file (its own
//! descriptor of the same file: a sync covers every write made before it, by any
//! descriptor), and only then answers them. So an answer still means "durable", as with
//! `synchronous = FULL`, while the fsync of one group overlaps the work of the next.
//!
//! A failed sync cannot be retried safely (Linux may drop the dirty pages it failed to write,
//! and a later sync would then succeed without them): from the first failure on, every
//! answer is an error and the store reports itself unhealthy.

use super::Shared;
use confab_ports::{Committed, StoreError};
use std::fs::File;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use tokio::sync::oneshot;

pub(crate) type Answer = oneshot::Sender<Result<Committed, StoreError>>;

/// The answers of one committed (not yet synced) group.
pub(crate) type Answers = Vec<(Answer, Result<Committed, StoreError>)>;

pub(crate) struct Syncer {
    tx: mpsc::Sender<Answers>,
    handle: JoinHandle<()>,
}

impl Syncer {
    /// Starts the thread for the WAL of the database at `db_path`; None when the WAL file
    /// cannot be opened (the writer then syncs in its COMMIT, `synchronous = FULL`).
    pub(crate) fn start(db_path: &Path, shared: Arc<Shared>) -> Option<Syncer> {
        let mut wal_path = db_path.as_os_str().to_owned();
        wal_path.push("-wal");
        let wal = match File::open(&wal_path) {
            Ok(file) => file,
            Err(e) => {
                tracing::warn!(error = %e, "sqlite: cannot open the WAL to sync it; syncing in each commit");
                return None;
            }
        };
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("confab-sqlite-sync".into())
            .spawn(move || run(&wal, &shared, &rx))
            .ok()?;
        Some(Syncer { tx, handle })
    }

    /// Queues a committed group's answers; they are sent once the WAL is synced.
    pub(crate) fn hand_over(&self, answers: Answers) {
        if let Err(mpsc::SendError(answers)) = self.tx.send(answers) {
            fail_all(answers, "store sync thread is not running");
        }
    }

    /// Syncs and answers everything handed over, then stops the thread.
    pub(crate) fn stop(self) {
        drop(self.tx);
        if self.handle.join().is_err() {
            tracing::error!("sqlite sync thread panicked");
        }
    }
}

fn run(wal: &File, shared: &Shared, rx: &mpsc::Receiver<Answers>) {
    let mut failed: Option<String> = None;
    while let Ok(first) = rx.recv() {
        let mut answers = first;
        while let Ok(more) = rx.try_recv() {
            answers.extend(more);
        }
        if failed.is_none() {
            if let Err(e) = wal.sync_data() {
                tracing::error!(error = %e, "sqlite: syncing the WAL failed; the store stops answering commits");
                shared.writer_alive.store(false, Ordering::SeqCst);
                failed = Some(format!("syncing the write-ahead log failed: {e}"));
            }
        }
        match &failed {
            None => answers.into_iter().for_each(|(answer, result)| {
                let _ = answer.send(result);
            }),
            Some(message) => fail_all(answers, message),
        }
    }
}

fn fail_all(answers: Answers, message: &str) {
    for (answer, _) in answers {
        let _ = answer.send(Err(StoreError::Backend(message.to_owned())));
    }
}
