//! The embedded [`Store`]: one SQLite file in WAL mode with `synchronous=FULL`.
//!
//! - Writes: one writer thread owns the only write connection and group-commits every batch
//!   queued while the previous group was syncing: one transaction and one fsync per group
//!   (see [`writer`]). A commit is answered only once its group is durable; the fsync runs
//!   on its own thread while the writer applies the next group (see [`sync`]).
//! - Reads: a small pool of read-only connections used from `spawn_blocking`; `contact` and
//!   `participant` go through a write-through cache that the writer updates after each
//!   COMMIT (see [`cache`]).
//! - Open: applies pending migrations (`PRAGMA user_version`) and nothing else, so opening a
//!   large database is as fast as opening a small one.
//!
//! Only one process may use a database file at a time (the writer keeps per-contact
//! sequence numbers in memory).

mod cache;
mod checkpoint;
mod keys;
mod rows;
mod schema;
mod sync;
mod writer;

use async_trait::async_trait;
use cache::{Cache, Lookup};
use confab_ports::{
    Batch, Committed, Contact, Durable, ItemQuery, Locate, Millis, OutboxEntry, Participant, Receipt, Staged,
    Store, StoreError, StoredItem, Timer,
};
use parking_lot::Mutex;
use rows::{seq_from_sql, seq_to_sql};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::{oneshot, Semaphore};
use writer::{Answer, Job, Writer};

/// Tuning of a [`SqliteStore`]; `Default` suits a single node.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Read-only connections in the pool (at least 1).
    pub readers: usize,
    /// Most batches committed in one transaction.
    pub max_group: usize,
    /// Contacts (and, separately, participants) kept in the cache, per generation.
    pub cache_capacity: usize,
    /// WAL length (4 KiB frames) past which the checkpointer starts the WAL over, holding
    /// the writer off for one checkpoint's fsyncs (see `checkpoint`); the WAL file is kept at
    /// most this long (plus 8 MiB) after a restart.
    pub wal_restart_frames: u32,
    /// How long a reading connection waits for a lock before failing. (The writer and the
    /// checkpointer wait with [`wait_briefly`], about 5 s.)
    pub busy_timeout: Duration,
    /// How long idempotency records are kept (see [`keys`]). AWS does not document how long
    /// a ClientToken is remembered (SPEC §1.7, UNCERTAIN); a participant call can only be
    /// replayed while its connection token is valid (a day), and SPEC suggests a day for the
    /// control plane's: two days keep every replay a client can still make, and keep the
    /// in-memory index (about 50 bytes a record) and the start-up that loads it bounded.
    pub idempotency_retention: Duration,
}

impl Default for SqliteOptions {
    fn default() -> SqliteOptions {
        SqliteOptions {
            readers: 4,
            max_group: 512,
            cache_capacity: 50_000,
            // 128 MiB: at 2,000 messages a second, a restart every 3 s or so.
            wal_restart_frames: 32_768,
            busy_timeout: Duration::from_secs(5),
            idempotency_retention: Duration::from_secs(2 * 24 * 3600),
        }
    }
}

/// Counters of the writer since open (e.g. for `/metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Batches answered after a committed group (applied, replayed or rejected).
    pub batches: u64,
    /// Batches applied.
    pub applied: u64,
    /// Batches answered with the response recorded under their idempotency key.
    pub replayed: u64,
    /// Batches rolled back alone (a check failed, or their SQL failed).
    pub rejected: u64,
    /// Transactions committed (each one fsync).
    pub groups: u64,
    /// Transactions that failed as a whole (every batch in them answered with an error).
    pub failed_groups: u64,
    /// Most batches committed in one transaction.
    pub largest_group: u64,
    /// Idempotency records deleted once past their retention.
    pub expired_keys: u64,
    /// Groups run again with a savepoint per batch, because a batch failed after it wrote.
    pub redone: u64,
}

#[derive(Default)]
struct Counters {
    batches: AtomicU64,
    applied: AtomicU64,
    replayed: AtomicU64,
    rejected: AtomicU64,
    groups: AtomicU64,
    failed_groups: AtomicU64,
    largest_group: AtomicU64,
    expired_keys: AtomicU64,
    redone: AtomicU64,
}

/// What the store handle, the writer thread and the read tasks share.
struct Shared {
    contacts: Cache<Contact>,
    participants: Cache<Participant>,
    /// Complete answers of `records(kind, prefix)` for prefixes ending in '/', keyed by
    /// [`range_key`]; the writer invalidates every such prefix of each record it writes.
    /// Most appends read their contact's live-state records (see the service's hooks), and
    /// most contacts have none: this answers those reads without touching SQLite.
    record_ranges: Cache<Vec<(String, String)>>,
    /// Where each idempotency record is (see [`keys`]); the writer adds to it as it writes.
    keys: Mutex<keys::KeyIndex>,
    stats: Counters,
    writer_alive: AtomicBool,
    readers: ReadPool,
}

struct ReadPool {
    path: PathBuf,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl ReadPool {
    fn open_connection(&self) -> Result<Connection, StoreError> {
        open_reader(&self.path, self.busy_timeout)
    }
}

pub struct SqliteStore {
    path: PathBuf,
    jobs: mpsc::Sender<Job>,
    writer: Mutex<Option<JoinHandle<()>>>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish_non_exhaustive()
    }
}

fn backend(message: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(message.to_string())
}

fn sql(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// The busy handler of the writer and the checkpointer, which hold each other off for
/// short whiles (the checkpoint's restart of the WAL, see `checkpoint`). SQLite's own
/// handler sleeps 1, 2, 5, 10, … ms between tries, so a commit held off for 100 µs waited a
/// millisecond or more; this one tries again every 50 µs for the first 10 ms, then every
/// millisecond, and gives up after about 5 s.
pub(crate) fn wait_briefly(tries: i32) -> bool {
    match tries {
        0..200 => std::thread::sleep(Duration::from_micros(50)),
        200..5_200 => std::thread::sleep(Duration::from_millis(1)),
        _ => return false,
    }
    true
}

fn open_writer(path: &Path, wal_restart_frames: u32) -> Result<Connection, StoreError> {
    let flags =
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags)
        .map_err(|e| backend(format!("open {}: {e}", path.display())))?;
    conn.busy_handler(Some(wait_briefly)).map_err(sql)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(|e| backend(format!("enable WAL: {e}")))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(backend(format!("{} cannot use WAL (journal_mode is {mode})", path.display())));
    }
    // Durable once answered: fsync the WAL at every commit, and (macOS) really flush. The
    // writer's page cache holds the hot index pages (8 MB: SQLite scans the whole cache at
    // every COMMIT, so bigger costs more than it saves). Readers keep the default: a reader's
    // cache is emptied whenever another connection has written.
    // The WAL file is cut back after a restart only past what the next restart lets it grow
    // to: cutting it back was a stall of the writer of its own.
    let wal_limit = (u64::from(wal_restart_frames) + 2_048) * 4_096;
    conn.execute_batch(&format!(
        "PRAGMA synchronous = FULL; PRAGMA fullfsync = ON; PRAGMA checkpoint_fullfsync = ON; \
         PRAGMA foreign_keys = OFF; PRAGMA journal_size_limit = {wal_limit}; \
         PRAGMA cache_size = -8192;",
    ))
    .map_err(sql)?;
    conn.set_prepared_statement_cache_capacity(64);
    schema::migrate(&mut conn).map_err(backend)?;
    Ok(conn)
}

fn open_reader(path: &Path, busy_timeout: Duration) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| backend(format!("open {} for reading: {e}", path.display())))?;
    conn.busy_timeout(busy_timeout).map_err(sql)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating it and its folder if needed) the database at `path` and starts the
    /// writer thread.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, SqliteOptions::default())
    }

    pub fn open_with(path: &Path, options: SqliteOptions) -> Result<SqliteStore, StoreError> {
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| backend(format!("create {}: {e}", parent.display())))?;
            }
        }
        let conn = open_writer(path, options.wal_restart_frames)?;
        let keys = keys::KeyIndex::load(&conn).map_err(|e| backend(format!("load idempotency keys: {e}")))?;
        let readers = options.readers.max(1);
        let mut idle = Vec::with_capacity(readers);
        for _ in 0..readers {
            idle.push(open_reader(path, options.busy_timeout)?);
        }
        let shared = Arc::new(Shared {
            contacts: Cache::new(options.cache_capacity),
            participants: Cache::new(options.cache_capacity),
            record_ranges: Cache::new(options.cache_capacity),
            keys: Mutex::new(keys),
            stats: Counters::default(),
            writer_alive: AtomicBool::new(true),
            readers: ReadPool {
                path: path.to_owned(),
                busy_timeout: options.busy_timeout,
                idle: Mutex::new(idle),
                permits: Arc::new(Semaphore::new(readers)),
            },
        });
        let (jobs, rx) = mpsc::channel();
        let writer = Writer {
            conn,
            rx,
            shared: shared.clone(),
            max_group: options.max_group,
            wal_restart_frames: options.wal_restart_frames,
            next_seq: HashMap::new(),
            syncer: None,
            written: Default::default(),
            pending_keys: Vec::new(),
            key_retention: options.idempotency_retention,
            last_key_prune: std::time::Instant::now(),
        };
        let handle = std::thread::Builder::new()
            .name("confab-sqlite-writer".into())
            .spawn(move || writer.run())
            .map_err(|e| backend(format!("start writer thread: {e}")))?;
        Ok(SqliteStore { path: path.to_owned(), jobs, writer: Mutex::new(Some(handle)), shared })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn stats(&self) -> StoreStats {
        let c = &self.shared.stats;
        StoreStats {
            batches: c.batches.load(Ordering::Relaxed),
            applied: c.applied.load(Ordering::Relaxed),
            replayed: c.replayed.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
            groups: c.groups.load(Ordering::Relaxed),
            failed_groups: c.failed_groups.load(Ordering::Relaxed),
            largest_group: c.largest_group.load(Ordering::Relaxed),
            expired_keys: c.expired_keys.load(Ordering::Relaxed),
            redone: c.redone.load(Ordering::Relaxed),
        }
    }

    /// Whether the writer thread is running (false after `close` or if it died).
    pub fn writer_alive(&self) -> bool {
        self.shared.writer_alive.load(Ordering::SeqCst)
    }

    /// Answers every batch already queued, then stops the writer and waits for it. Commits
    /// after this fail with `StoreError::Backend`; reads keep working. Dropping the store
    /// does the same.
    pub async fn close(&self) {
        let _ = self.jobs.send(Job::Stop);
        let handle = self.writer.lock().take();
        if let Some(handle) = handle {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
    }

    /// Runs `f` on a pooled read-only connection on the blocking thread pool.
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let permit = self
            .shared
            .readers
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| backend("reader pool closed"))?;
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            // A connection lost to a panic is replaced here.
            let pooled = shared.readers.idle.lock().pop();
            let conn = match pooled {
                Some(conn) => conn,
                None => shared.readers.open_connection()?,
            };
            let out = f(&conn).map_err(sql);
            shared.readers.idle.lock().push(conn);
            out
        })
        .await
        .map_err(|e| backend(format!("read task failed: {e}")))?
    }

    /// A cached hot read: `load` runs on a read connection only on a miss.
    async fn cached<V, F>(
        &self,
        cache: fn(&Shared) -> &Cache<V>,
        key: &str,
        load: F,
    ) -> Result<Option<V>, StoreError>
    where
        V: Clone + Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<Option<V>> + Send + 'static,
    {
        self.cached_if(cache, key, || load, |_| true).await
    }

    /// Like `cached`, keeping a loaded value only when `keep` says it may serve later reads;
    /// the read is made (`load`) only on a miss.
    async fn cached_if<V, F>(
        &self,
        cache: fn(&Shared) -> &Cache<V>,
        key: &str,
        load: impl FnOnce() -> F,
        keep: impl FnOnce(&Option<V>) -> bool,
    ) -> Result<Option<V>, StoreError>
    where
        V: Clone + Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<Option<V>> + Send + 'static,
    {
        let ticket = match cache(&self.shared).get(key) {
            Lookup::Hit(value) => return Ok(value),
            Lookup::Miss(ticket) => ticket,
        };
        let loaded = self.read(load()).await;
        if let Some(ticket) = ticket {
            match &loaded {
                Ok(value) if keep(value) => cache(&self.shared).fill(key, ticket, value.clone()),
                _ => cache(&self.shared).abandon(key, ticket),
            }
        }
        loaded
    }

    fn queue(&self, batch: Batch, answer: Answer) -> Result<(), StoreError> {
        self.jobs
            .send(Job::Commit(Box::new(batch), answer))
            .map_err(|_| backend("store writer is not running"))
    }

    #[cfg(test)]
    fn kill_writer(&self) {
        let _ = self.jobs.send(Job::Panic);
        if let Some(handle) = self.writer.lock().take() {
            let _ = handle.join();
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        let _ = self.jobs.send(Job::Stop);
        if let Some(handle) = self.writer.get_mut().take() {
            if handle.join().is_err() {
                tracing::error!("sqlite writer thread panicked");
            }
        }
    }
}

/// Whether the contact has any receipt for a message id between the smallest and the largest
/// of `ids`. Most transcript pages have none: then one probe of the primary key replaces a
/// lookup per message (a hundred on a full page).
fn any_receipt_between(conn: &Connection, contact_id: &str, ids: &[String]) -> rusqlite::Result<bool> {
    let (Some(lo), Some(hi)) = (ids.iter().min(), ids.iter().max()) else {
        return Ok(false);
    };
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM receipts WHERE contact_id = ?1 AND message_id BETWEEN ?2 AND ?3)",
    )?
    .query_row([contact_id, lo.as_str(), hi.as_str()], |r| r.get(0))
}

/// The lowest seq whose stored time is at or after `t` (`inclusive`) or after `t` (not), by a
/// binary search over seq: the writer keeps stored times non-decreasing within a contact,
/// and seqs run 1..=last without gaps. When there is none, `None` (inclusive) or `last + 1`.
/// Each probe is one descent of the (contact_id, seq) index, so a million-item transcript
/// costs about twenty.
fn first_later(
    conn: &Connection,
    contact_id: &str,
    t: Millis,
    inclusive: bool,
) -> rusqlite::Result<Option<i64>> {
    let last: Option<i64> = conn
        .prepare_cached("SELECT MAX(seq) FROM items WHERE contact_id = ?1")?
        .query_row([contact_id], |r| r.get(0))?;
    let Some(last) = last else { return Ok(None) };
    let mut probe = conn.prepare_cached("SELECT at FROM items WHERE contact_id = ?1 AND seq = ?2")?;
    let (mut lo, mut hi) = (1, last + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let at: Millis = probe.query_row(rusqlite::params![contact_id, mid], |r| r.get(0))?;
        if at > t || (inclusive && at == t) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(if inclusive && lo > last { None } else { Some(lo) })
}

/// The read behind `records`: a range on the primary key instead of LIKE (keys may hold '%'
/// and '_').
fn records_query(
    kind: &str,
    prefix: &str,
    limit: usize,
) -> impl FnOnce(&Connection) -> rusqlite::Result<Vec<(String, String)>> + Send + 'static {
    let (kind, prefix) = (kind.to_owned(), prefix.to_owned());
    move |conn| {
        let mut upper = prefix.clone();
        upper.push(char::MAX);
        conn.prepare_cached(
            "SELECT key, value FROM records WHERE kind = ?1 AND key >= ?2 AND key < ?3 ORDER BY key LIMIT ?4",
        )?
        .query_map(rusqlite::params![kind, prefix, upper, limit_to_sql(limit)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect()
    }
}

/// The cache key of a `records(kind, prefix)` answer.
fn range_key(kind: &str, prefix: &str) -> String {
    format!("{kind}\n{prefix}")
}

/// The cached ranges a write of `(kind, key)` changes: every prefix of `key` ending in '/'.
fn ranges_of<'k>(kind: &str, key: &'k str) -> impl Iterator<Item = String> + 'k {
    let kind = kind.to_owned();
    key.match_indices('/').map(move |(i, _)| range_key(&kind, &key[..=i]))
}

fn limit_to_sql(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

#[async_trait]
impl Store for SqliteStore {
    async fn commit(&self, batch: Batch) -> Result<Committed, StoreError> {
        let (answer, answered) = oneshot::channel();
        self.queue(batch, Answer::Durable(answer))?;
        answered.await.map_err(|_| backend("store writer stopped before answering"))?
    }

    /// Answers once the group's COMMIT wrote the WAL (a crash of this process no longer
    /// loses it: the pages are the operating system's), durable after the WAL's fsync.
    async fn commit_staged(&self, batch: Batch) -> Result<Staged, StoreError> {
        let (answer, answered) = oneshot::channel();
        let (durable, synced) = oneshot::channel();
        self.queue(batch, Answer::Staged(answer, durable))?;
        let committed = answered.await.map_err(|_| backend("store writer stopped before answering"))??;
        Ok(Staged { committed, durable: Durable::later(synced) })
    }

    async fn contact(&self, id: &str) -> Result<Option<Contact>, StoreError> {
        let key = id.to_owned();
        self.cached(
            |s| &s.contacts,
            id,
            move |conn| {
                conn.prepare_cached(&format!("SELECT {} FROM contacts WHERE id = ?1", rows::CONTACT_COLUMNS))?
                    .query_row([key], rows::contact)
                    .optional()
            },
        )
        .await
    }

    async fn participant(&self, id: &str) -> Result<Option<Participant>, StoreError> {
        let key = id.to_owned();
        self.cached(
            |s| &s.participants,
            id,
            move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {} FROM participants WHERE id = ?1",
                    rows::PARTICIPANT_COLUMNS
                ))?
                .query_row([key], rows::participant)
                .optional()
            },
        )
        .await
    }

    async fn participants(&self, contact_id: &str) -> Result<Vec<Participant>, StoreError> {
        let contact_id = contact_id.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {} FROM participants WHERE contact_id = ?1 ORDER BY created_at, rowid",
                rows::PARTICIPANT_COLUMNS
            ))?
            .query_map([contact_id], rows::participant)?
            .collect()
        })
        .await
    }

    async fn idempotent(&self, key: &str) -> Result<Option<String>, StoreError> {
        let candidates = {
            let index = self.shared.keys.lock();
            index.candidates(index.hash(key))
        };
        if candidates.is_empty() {
            return Ok(None);
        }
        let key = key.to_owned();
        self.read(move |conn| keys::find(conn, &key, &candidates)).await
    }

    async fn locate(&self, contact_id: &str, at: Locate) -> Result<Option<u64>, StoreError> {
        let contact_id = contact_id.to_owned();
        let seq: Option<i64> = self
            .read(move |conn| match at {
                Locate::ItemId(id) => conn
                    .prepare_cached("SELECT seq FROM items WHERE id = ?2 AND contact_id = ?1")?
                    .query_row([contact_id, id], |r| r.get(0))
                    .optional(),
                Locate::AtOrAfter(t) => first_later(conn, &contact_id, t, true),
                Locate::AtOrBefore(t) => {
                    Ok(first_later(conn, &contact_id, t, false)?.map(|s| s - 1).filter(|s| *s >= 1))
                }
                Locate::Last => conn
                    .prepare_cached("SELECT MAX(seq) FROM items WHERE contact_id = ?1")?
                    .query_row([contact_id], |r| r.get(0)),
            })
            .await?;
        seq.map(|s| seq_from_sql(0, s)).transpose().map_err(sql)
    }

    async fn items(&self, query: ItemQuery) -> Result<Vec<StoredItem>, StoreError> {
        if query.limit == 0 {
            return Ok(Vec::new());
        }
        self.read(move |conn| {
            let sql = if query.ascending {
                format!(
                    "SELECT {} FROM items WHERE contact_id = ?1 AND seq >= ?2 ORDER BY seq ASC LIMIT ?3",
                    rows::ITEM_COLUMNS
                )
            } else {
                format!(
                    "SELECT {} FROM items WHERE contact_id = ?1 AND seq <= ?2 ORDER BY seq DESC LIMIT ?3",
                    rows::ITEM_COLUMNS
                )
            };
            conn.prepare_cached(&sql)?
                .query_map(
                    rusqlite::params![query.contact_id, seq_to_sql(query.from), limit_to_sql(query.limit)],
                    rows::item,
                )?
                .collect()
        })
        .await
    }

    async fn receipts(&self, contact_id: &str, message_ids: &[String]) -> Result<Vec<Receipt>, StoreError> {
        if message_ids.is_empty() {
            return Ok(Vec::new());
        }
        let contact_id = contact_id.to_owned();
        let message_ids = message_ids.to_vec();
        self.read(move |conn| {
            if !any_receipt_between(conn, &contact_id, &message_ids)? {
                return Ok(Vec::new());
            }
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {} FROM receipts WHERE contact_id = ?1 AND message_id = ?2 ORDER BY recipient_id",
                rows::RECEIPT_COLUMNS
            ))?;
            let mut out = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for id in &message_ids {
                if !seen.insert(id.as_str()) {
                    continue;
                }
                for receipt in stmt.query_map([contact_id.as_str(), id.as_str()], rows::receipt)? {
                    out.push(receipt?);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn due_timers(&self, now: Millis, limit: usize) -> Result<Vec<Timer>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {} FROM timers WHERE due <= ?1 ORDER BY due, key LIMIT ?2",
                rows::TIMER_COLUMNS
            ))?
            .query_map(rusqlite::params![now, limit_to_sql(limit)], rows::timer)?
            .collect()
        })
        .await
    }

    async fn next_timer(&self) -> Result<Option<Millis>, StoreError> {
        self.read(|conn| conn.prepare_cached("SELECT MIN(due) FROM timers")?.query_row([], |r| r.get(0)))
            .await
    }

    async fn record(&self, kind: &str, key: &str) -> Result<Option<String>, StoreError> {
        let (kind, key) = (kind.to_owned(), key.to_owned());
        self.read(move |conn| {
            conn.prepare_cached("SELECT value FROM records WHERE kind = ?1 AND key = ?2")?
                .query_row([kind, key], |r| r.get(0))
                .optional()
        })
        .await
    }

    async fn records(
        &self,
        kind: &str,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        if !prefix.ends_with('/') || limit == 0 {
            return self.read(records_query(kind, prefix, limit)).await;
        }
        // Only a complete answer (fewer rows than asked for) can serve later calls, whatever
        // their limit.
        let load = || {
            let query = records_query(kind, prefix, limit);
            move |conn: &Connection| query(conn).map(Some)
        };
        let complete = |rows: &Option<Vec<_>>| rows.as_ref().is_some_and(|rows| rows.len() < limit);
        let all = self.cached_if(|s| &s.record_ranges, &range_key(kind, prefix), load, complete).await?;
        Ok(all.unwrap_or_default().into_iter().take(limit).collect())
    }

    async fn outbox_due(&self, now: Millis, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        self.read(move |conn| {
            // The head of each stream (its lowest id), if that head is due.
            conn.prepare_cached(
                "SELECT o.id, o.stream, o.payload, o.attempts FROM outbox o \
                 JOIN (SELECT stream, MIN(id) AS id FROM outbox GROUP BY stream) h ON h.id = o.id \
                 WHERE o.not_before <= ?1 ORDER BY o.id LIMIT ?2",
            )?
            .query_map(rusqlite::params![now, limit_to_sql(limit)], |r| {
                Ok(OutboxEntry { id: r.get(0)?, stream: r.get(1)?, payload: r.get(2)?, attempts: r.get(3)? })
            })?
            .collect()
        })
        .await
    }

    async fn active_contacts(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .read(|conn| {
                conn.prepare_cached("SELECT COUNT(*) FROM contacts WHERE ended_at IS NULL")?
                    .query_row([], |r| r.get(0))
            })
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn health(&self) -> Result<(), StoreError> {
        if !self.writer_alive() {
            return Err(backend("store writer is not running"));
        }
        let one: i64 = self.read(|conn| conn.query_row("SELECT 1", [], |r| r.get(0))).await?;
        if one == 1 {
            Ok(())
        } else {
            Err(backend("health query returned a wrong value"))
        }
    }
}

#[cfg(test)]
mod tests;
