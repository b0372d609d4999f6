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
use std::fs::File;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Syncs start at least this far apart. Each `fdatasync` costs the same CPU however little it
/// carries (about 0.2 ms here), and at a few thousand commits a second most carry one or two
/// groups; waiting out the rest of this gap gathers the commits that arrive meanwhile into
/// the same sync. Only answers wait: items are pushed once committed.
const MIN_GAP: Duration = Duration::from_millis(1);

/// What to do once a committed batch is synced (Ok) or cannot be (Err: why).
pub(crate) type Settle = Box<dyn FnOnce(Result<(), String>) + Send>;

/// The settlements of one committed (not yet synced) group.
pub(crate) type Answers = Vec<Settle>;

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
            settle_all(answers, &Err("store sync thread is not running".to_owned()));
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
    let mut state: Result<(), String> = Ok(());
    let mut last_start = Instant::now() - MIN_GAP;
    while let Ok(first) = rx.recv() {
        let mut answers = first;
        let since = last_start.elapsed();
        if since < MIN_GAP {
            std::thread::sleep(MIN_GAP - since);
        }
        while let Ok(more) = rx.try_recv() {
            answers.extend(more);
        }
        last_start = Instant::now();
        if state.is_ok() {
            if let Err(e) = wal.sync_data() {
                tracing::error!(error = %e, "sqlite: syncing the WAL failed; the store stops answering commits");
                shared.writer_alive.store(false, Ordering::SeqCst);
                state = Err(format!("syncing the write-ahead log failed: {e}"));
            }
        }
        settle_all(answers, &state);
    }
}

pub(crate) fn settle_all(answers: Answers, state: &Result<(), String>) {
    for settle in answers {
        settle(state.clone());
    }
}
