//! The cluster [`Store`]: PostgreSQL, shared by every node.
//!
//! - Writes: committer tasks group-commit the batches of this node (see [`committer`]): one
//!   transaction and one WAL flush per group, the statements of many batches pipelined,
//!   each batch in a SAVEPOINT of its own only when the group must be run again because
//!   one of them did not apply (see [`apply`]). Batches of one contact are serialized across
//!   nodes by a row lock on the contact's sequence row, which also hands out its gap-free
//!   seqs.
//! - Reads: a connection pool; nothing is cached, so every node reads what any node
//!   committed before it answered.
//! - Timers and outbox entries are claimed with leases (`FOR UPDATE SKIP LOCKED` and a
//!   `leased_until` column): a node that dies holding some only delays them.
//! - Connect: applies pending migrations under an advisory lock, so nodes may start
//!   together.

mod apply;
mod committer;
mod retry;
mod rows;
mod schema;
mod url;

use async_trait::async_trait;
use committer::{Committer, Job};
use confab_ports::{
    Batch, Committed, Contact, ItemQuery, Locate, Millis, OutboxEntry, Participant, Receipt, RecordRange,
    SessionRead, Store, StoreError, StoredItem, Timer,
};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures_util::future::{maybe_done, MaybeDone};
use parking_lot::Mutex;
use rows::{count_to_sql, seq_to_sql};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::task::Poll;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

/// Tuning of a [`PostgresStore`]; `Default` suits a node of a small cluster.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// Most connections this node opens (reads, claims and committers together).
    pub pool_size: usize,
    /// Committer tasks: each commits one group at a time, so this many groups may be in
    /// flight at once (at least 1).
    pub committers: usize,
    /// Most batches committed in one transaction (1: no group commit).
    pub max_group: usize,
    /// How many times a group (or a read) that failed transiently is tried again.
    pub retries: u32,
    /// How long idempotency records are kept: as the embedded store (two days; AWS documents
    /// no window, SPEC §1.7 UNCERTAIN). Every node deletes expired records once a minute (or
    /// once per retention period, if shorter), at most `EXPIRE_BATCH` at a time.
    pub idempotency_retention: Duration,
}

impl Default for PostgresOptions {
    fn default() -> PostgresOptions {
        PostgresOptions {
            pool_size: 16,
            committers: 2,
            max_group: 256,
            retries: 8,
            idempotency_retention: Duration::from_secs(2 * 24 * 3600),
        }
    }
}

/// Expired idempotency records deleted per statement.
const EXPIRE_BATCH: i64 = 10_000;
/// How often each node deletes expired idempotency records.
const EXPIRE_EVERY: Duration = Duration::from_secs(60);
const EXPIRE_IDEMPOTENCY: &str = "DELETE FROM idempotency WHERE key IN (SELECT key FROM idempotency \
     WHERE created_at < now() - make_interval(secs => $1) LIMIT $2)";

/// Counters of this store's committers since connect (e.g. for `/metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PostgresStats {
    /// Batches answered after a committed group (applied, replayed or rejected).
    pub batches: u64,
    pub applied: u64,
    pub replayed: u64,
    /// Batches rolled back alone (a check failed, or their SQL failed).
    pub rejected: u64,
    /// Transactions committed.
    pub groups: u64,
    /// Groups that failed as a whole, after their retries.
    pub failed_groups: u64,
    /// Transactions run again after a transient failure.
    pub retries: u64,
    /// Groups sent without savepoints run again with them, because a batch did not apply.
    pub redone: u64,
    pub largest_group: u64,
}

#[derive(Default)]
struct Counters {
    batches: AtomicU64,
    applied: AtomicU64,
    replayed: AtomicU64,
    rejected: AtomicU64,
    groups: AtomicU64,
    failed_groups: AtomicU64,
    retries: AtomicU64,
    redone: AtomicU64,
    largest_group: AtomicU64,
}

/// What the store handle and its committers share.
#[derive(Default)]
struct Shared {
    stats: Counters,
    committers_alive: AtomicUsize,
}

/// A failure inside the store; `retry` when trying again may help.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) message: String,
    pub(crate) retry: bool,
}

impl Failure {
    fn from_sql(what: &str, e: &tokio_postgres::Error) -> Failure {
        Failure { message: format!("{what}: {}", describe(e)), retry: retry::is_transient(e) }
    }

    fn transient(message: String) -> Failure {
        Failure { message, retry: true }
    }

    fn permanent(message: String) -> Failure {
        Failure { message, retry: false }
    }
}

/// The server's message and detail when there is one (tokio-postgres's Display says only
/// "db error").
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({}): {detail}", db.message(), db.code().code()),
            None => format!("{} ({})", db.message(), db.code().code()),
        },
        None => e.to_string(),
    }
}

/// FNV-1a over the parts (a 0xff byte between them): lock keys every node computes alike.
fn fnv64(parts: &[&str]) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        let separator: &[u8] = if i > 0 { &[0xff] } else { &[] };
        for byte in separator.iter().chain(part.as_bytes()) {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// Polls the futures in order until all are done, and answers their outputs in that order.
/// tokio-postgres sends a request when its future is first polled, so this pipelines
/// requests in exactly this order (`join_all` may poll a long list in another order).
async fn in_order<F: Future + Unpin>(futures: Vec<F>) -> Vec<F::Output> {
    let mut slots: Vec<MaybeDone<F>> = futures.into_iter().map(maybe_done).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for slot in &mut slots {
            done &= Pin::new(slot).poll(cx).is_ready();
        }
        if done {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    slots.iter_mut().filter_map(|slot| Pin::new(slot).take_output()).collect()
}

/// A participant with its contact and a range of records, in one statement (every
/// participant call starts with it): the records come as two arrays, NULL when there are
/// none. Built once.
static SESSION_READ: LazyLock<String> = LazyLock::new(|| {
    let column = |table: &str, columns: &str| {
        columns.split(", ").map(|c| format!("{table}.{c}")).collect::<Vec<_>>().join(", ")
    };
    format!(
        "SELECT {}, {}, r.keys, r.vals FROM participants p JOIN contacts c ON c.id = p.contact_id \
         LEFT JOIN LATERAL (SELECT array_agg(x.key ORDER BY x.key) AS keys, \
         array_agg(x.value ORDER BY x.key) AS vals FROM (SELECT key, value FROM records \
         WHERE kind = $3 AND key >= $4 AND key < $5 ORDER BY key LIMIT $6) x) r ON true \
         WHERE p.id = $1 AND c.id = $2",
        column("p", rows::PARTICIPANT_COLUMNS),
        column("c", rows::CONTACT_COLUMNS)
    )
});

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.expirer.abort();
    }
}

/// Deletes idempotency records older than `retention` (at most `EXPIRE_BATCH`); how many.
async fn expire_idempotency(pool: &Pool, retention: Duration) -> Result<u64, String> {
    let client = pool.get().await.map_err(|e| format!("connection: {e}"))?;
    client
        .execute(EXPIRE_IDEMPOTENCY, &[&retention.as_secs_f64(), &EXPIRE_BATCH])
        .await
        .map_err(|e| format!("expire idempotency records: {e}"))
}

/// Once a minute (or once per retention period, if shorter), the expired idempotency
/// records; a failure waits for the next round.
async fn expire_idempotency_forever(pool: Pool, retention: Duration) {
    loop {
        tokio::time::sleep(retention.min(EXPIRE_EVERY)).await;
        match expire_idempotency(&pool, retention).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(records = n, "expired idempotency records"),
            Err(e) => tracing::warn!(error = %e, "postgres: idempotency expiry failed; retrying later"),
        }
    }
}

/// The end of the key range of the keys starting with `prefix`: a range on the primary key
/// (byte order) instead of LIKE, as keys may hold '%' and '_'.
fn range_end(prefix: &str) -> String {
    let mut upper = prefix.to_owned();
    upper.push(char::MAX);
    upper
}

fn backend(message: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(message.to_string())
}

type Param<'a> = &'a (dyn ToSql + Sync);

pub struct PostgresStore {
    pool: Pool,
    jobs: mpsc::UnboundedSender<Job>,
    closed: AtomicBool,
    committers: Mutex<Vec<JoinHandle<()>>>,
    shared: Arc<Shared>,
    schema: Option<String>,
    retries: u32,
    idempotency_retention: Duration,
    /// Deletes expired idempotency records (stopped by `close` or drop).
    expirer: JoinHandle<()>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("schema", &self.schema).finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db`, optionally `?schema=name`: the
    /// schema confab uses, created if missing), applies pending migrations and starts the
    /// committers.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        PostgresStore::connect_with(url, PostgresOptions::default()).await
    }

    pub async fn connect_with(url: &str, options: PostgresOptions) -> Result<PostgresStore, StoreError> {
        let parsed = url::parse(url).map_err(backend)?;
        migrate(&parsed.config, parsed.schema.as_deref()).await?;
        let manager = Manager::from_config(
            parsed.config,
            NoTls,
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(options.committers.max(1) + 1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| backend(format!("connection pool: {e}")))?;
        let shared = Arc::new(Shared::default());
        shared.committers_alive.store(options.committers.max(1), Ordering::SeqCst);
        let (jobs, rx) = mpsc::unbounded_channel();
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let committers = (0..options.committers.max(1))
            .map(|_| {
                let committer = Committer {
                    pool: pool.clone(),
                    jobs: rx.clone(),
                    shared: shared.clone(),
                    max_group: options.max_group.max(1),
                    retries: options.retries,
                };
                tokio::spawn(committer.run())
            })
            .collect();
        let expirer = tokio::spawn(expire_idempotency_forever(pool.clone(), options.idempotency_retention));
        Ok(PostgresStore {
            pool,
            jobs,
            closed: AtomicBool::new(false),
            committers: Mutex::new(committers),
            shared,
            schema: parsed.schema,
            retries: options.retries,
            idempotency_retention: options.idempotency_retention,
            expirer,
        })
    }

    /// Deletes idempotency records older than the retention (at most `EXPIRE_BATCH`); returns
    /// how many. Every node runs this once a minute; deleting concurrently is harmless.
    pub async fn expire_idempotency(&self) -> Result<u64, StoreError> {
        expire_idempotency(&self.pool, self.idempotency_retention).await.map_err(backend)
    }

    /// The schema named in the URL, if any.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    pub fn stats(&self) -> PostgresStats {
        let c = &self.shared.stats;
        PostgresStats {
            batches: c.batches.load(Ordering::Relaxed),
            applied: c.applied.load(Ordering::Relaxed),
            replayed: c.replayed.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
            groups: c.groups.load(Ordering::Relaxed),
            failed_groups: c.failed_groups.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            redone: c.redone.load(Ordering::Relaxed),
            largest_group: c.largest_group.load(Ordering::Relaxed),
        }
    }

    /// Answers every batch already queued, then stops the committers. Commits after this
    /// fail with `StoreError::Backend`; reads keep working. Dropping the store stops the
    /// committers too, once they have answered what was queued.
    pub async fn close(&self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.expirer.abort();
        let handles = std::mem::take(&mut *self.committers.lock());
        for _ in &handles {
            let _ = self.jobs.send(Job::Stop);
        }
        for handle in handles {
            let _ = handle.await;
        }
    }

    /// Runs one statement on a pooled connection, retrying transient failures.
    async fn query(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, StoreError> {
        let mut attempt = 0;
        loop {
            match self.try_query(sql, params).await {
                Ok(rows) => return Ok(rows),
                Err(f) if f.retry && attempt < self.retries => {
                    tokio::time::sleep(retry::backoff(attempt)).await;
                    attempt += 1;
                }
                Err(f) => return Err(StoreError::Backend(f.message)),
            }
        }
    }

    async fn try_query(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, Failure> {
        let client = self.pool.get().await.map_err(|e| Failure::transient(format!("connection: {e}")))?;
        let statement = client.prepare_cached(sql).await.map_err(|e| Failure::from_sql("prepare", &e))?;
        client.query(&statement, params).await.map_err(|e| Failure::from_sql("query", &e))
    }

    async fn query_map<T>(
        &self,
        sql: &str,
        params: &[Param<'_>],
        f: fn(&Row) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        rows::all(&self.query(sql, params).await?, f)
    }

    /// The first column of the first row, if any.
    async fn scalar<T>(&self, sql: &str, params: &[Param<'_>]) -> Result<Option<T>, StoreError>
    where
        T: for<'r> tokio_postgres::types::FromSql<'r>,
    {
        match self.query(sql, params).await?.first() {
            Some(row) => row.try_get::<_, Option<T>>(0).map_err(|e| backend(format!("reading a value: {e}"))),
            None => Ok(None),
        }
    }
}

/// Applies the migrations on a connection of its own (its session lock goes with it).
async fn migrate(config: &tokio_postgres::Config, schema: Option<&str>) -> Result<(), StoreError> {
    let (mut client, connection) =
        config.connect(NoTls).await.map_err(|e| backend(format!("connect to postgres: {}", describe(&e))))?;
    let task = tokio::spawn(connection);
    let result = schema::migrate(&mut client, schema).await.map_err(backend);
    drop(client);
    let _ = task.await;
    result
}

#[async_trait]
impl Store for PostgresStore {
    async fn commit(&self, batch: Batch) -> Result<Committed, StoreError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(backend("store is closed"));
        }
        let (answer, answered) = oneshot::channel();
        self.jobs
            .send(Job::Commit(Box::new(batch), answer))
            .map_err(|_| backend("store committers are not running"))?;
        answered.await.map_err(|_| backend("store committer stopped before answering"))?
    }

    async fn contact(&self, id: &str) -> Result<Option<Contact>, StoreError> {
        let sql = format!("SELECT {} FROM contacts WHERE id = $1", rows::CONTACT_COLUMNS);
        Ok(self.query_map(&sql, &[&id], rows::contact).await?.pop())
    }

    async fn participant(&self, id: &str) -> Result<Option<Participant>, StoreError> {
        let sql = format!("SELECT {} FROM participants WHERE id = $1", rows::PARTICIPANT_COLUMNS);
        Ok(self.query_map(&sql, &[&id], rows::participant).await?.pop())
    }

    async fn participant_in_with_records(
        &self,
        participant_id: &str,
        contact_id: &str,
        records: RecordRange<'_>,
    ) -> Result<Option<SessionRead>, StoreError> {
        let upper = range_end(records.prefix);
        let limit = count_to_sql(records.limit);
        let params: [Param<'_>; 6] =
            [&participant_id, &contact_id, &records.kind, &records.prefix, &upper, &limit];
        Ok(self.query_map(&SESSION_READ, &params, rows::session_read).await?.pop())
    }

    async fn participants(&self, contact_id: &str) -> Result<Vec<Participant>, StoreError> {
        let sql = format!(
            "SELECT {} FROM participants WHERE contact_id = $1 ORDER BY created_at, added",
            rows::PARTICIPANT_COLUMNS
        );
        self.query_map(&sql, &[&contact_id], rows::participant).await
    }

    async fn idempotent(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.scalar(apply::IDEMPOTENCY_READ, &[&key]).await
    }

    async fn locate(&self, contact_id: &str, at: Locate) -> Result<Option<u64>, StoreError> {
        // Each is one descent of an index on (contact_id, …); "at or after" takes the lowest
        // seq among the earliest items, as SQLite does.
        let seq: Option<i64> = match at {
            Locate::ItemId(id) => {
                self.scalar("SELECT seq FROM items WHERE contact_id = $1 AND id = $2", &[&contact_id, &id])
                    .await?
            }
            Locate::AtOrAfter(t) => {
                let sql = "SELECT seq FROM items WHERE contact_id = $1 AND at >= $2 ORDER BY at ASC, seq ASC LIMIT 1";
                self.scalar(sql, &[&contact_id, &t]).await?
            }
            Locate::AtOrBefore(t) => {
                let sql =
                    "SELECT seq FROM items WHERE contact_id = $1 AND at <= $2 ORDER BY at DESC, seq DESC LIMIT 1";
                self.scalar(sql, &[&contact_id, &t]).await?
            }
            Locate::Last => {
                self.scalar("SELECT MAX(seq) FROM items WHERE contact_id = $1", &[&contact_id]).await?
            }
        };
        seq.map(rows::seq_from_sql).transpose()
    }

    async fn items(&self, query: ItemQuery) -> Result<Vec<StoredItem>, StoreError> {
        if query.limit == 0 {
            return Ok(Vec::new());
        }
        let sql = if query.ascending {
            format!(
                "SELECT {} FROM items WHERE contact_id = $1 AND seq >= $2 ORDER BY seq ASC LIMIT $3",
                rows::ITEM_COLUMNS
            )
        } else {
            format!(
                "SELECT {} FROM items WHERE contact_id = $1 AND seq <= $2 ORDER BY seq DESC LIMIT $3",
                rows::ITEM_COLUMNS
            )
        };
        let (from, limit) = (seq_to_sql(query.from), count_to_sql(query.limit));
        self.query_map(&sql, &[&query.contact_id, &from, &limit], rows::item).await
    }

    async fn receipts(&self, contact_id: &str, message_ids: &[String]) -> Result<Vec<Receipt>, StoreError> {
        if message_ids.is_empty() {
            return Ok(Vec::new());
        }
        // In the order asked (each id once), then by recipient.
        let mut seen = std::collections::HashSet::new();
        let ids: Vec<&str> = message_ids.iter().map(String::as_str).filter(|id| seen.insert(*id)).collect();
        let sql = format!(
            "SELECT {} FROM unnest($2::text[]) WITH ORDINALITY AS m(id, n) \
             JOIN receipts r ON r.contact_id = $1 AND r.message_id = m.id ORDER BY m.n, r.recipient_id",
            rows::RECEIPT_COLUMNS.split(", ").map(|c| format!("r.{c}")).collect::<Vec<_>>().join(", ")
        );
        self.query_map(&sql, &[&contact_id, &ids], rows::receipt).await
    }

    async fn due_timers(&self, now: Millis, limit: usize) -> Result<Vec<Timer>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let sql =
            format!("SELECT {} FROM timers WHERE due <= $1 ORDER BY due, key LIMIT $2", rows::TIMER_COLUMNS);
        self.query_map(&sql, &[&now, &count_to_sql(limit)], rows::timer).await
    }

    async fn claim_timers(
        &self,
        now: Millis,
        limit: usize,
        lease_until: Millis,
    ) -> Result<Vec<Timer>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Locked rows are being claimed or changed by someone else right now: skip them.
        let sql = format!(
            "WITH picked AS (SELECT key FROM timers WHERE due <= $1 AND leased_until <= $1 \
             ORDER BY due, key LIMIT $2 FOR UPDATE SKIP LOCKED) \
             UPDATE timers t SET leased_until = $3 FROM picked WHERE t.key = picked.key RETURNING {}",
            rows::TIMER_COLUMNS.split(", ").map(|c| format!("t.{c}")).collect::<Vec<_>>().join(", ")
        );
        let mut timers =
            self.query_map(&sql, &[&now, &count_to_sql(limit), &lease_until], rows::timer).await?;
        timers.sort_by(|a, b| (a.due, &a.key).cmp(&(b.due, &b.key)));
        Ok(timers)
    }

    async fn claim_outbox(
        &self,
        now: Millis,
        limit: usize,
        lease_until: Millis,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Only the head of a stream may go out; a leased head holds its stream back. The
        // conditions read the locked row (`o`), so they are checked again after a wait.
        let sql = format!(
            "WITH heads AS (SELECT DISTINCT ON (stream) id FROM outbox ORDER BY stream, id), \
             picked AS (SELECT o.id FROM outbox o JOIN heads h ON h.id = o.id \
             WHERE o.not_before <= $1 AND o.leased_until <= $1 \
             ORDER BY o.id LIMIT $2 FOR UPDATE OF o SKIP LOCKED) \
             UPDATE outbox o SET leased_until = $3 FROM picked WHERE o.id = picked.id RETURNING {}",
            rows::OUTBOX_COLUMNS.split(", ").map(|c| format!("o.{c}")).collect::<Vec<_>>().join(", ")
        );
        let mut entries =
            self.query_map(&sql, &[&now, &count_to_sql(limit), &lease_until], rows::outbox).await?;
        entries.sort_by_key(|e| e.id);
        Ok(entries)
    }

    async fn next_timer(&self) -> Result<Option<Millis>, StoreError> {
        // A leased timer cannot be claimed before its lease ends: waking for it earlier
        // would only find nothing to claim.
        self.scalar("SELECT MIN(GREATEST(due, leased_until)) FROM timers", &[]).await
    }

    async fn record(&self, kind: &str, key: &str) -> Result<Option<String>, StoreError> {
        self.scalar(apply::READ_RECORD, &[&kind, &key]).await
    }

    async fn records(
        &self,
        kind: &str,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let upper = range_end(prefix);
        let rows = self
            .query(
                "SELECT key, value FROM records WHERE kind = $1 AND key >= $2 AND key < $3 ORDER BY key LIMIT $4",
                &[&kind, &prefix, &upper, &count_to_sql(limit)],
            )
            .await?;
        rows.iter().map(|r| Ok((r.try_get(0).map_err(backend)?, r.try_get(1).map_err(backend)?))).collect()
    }

    async fn outbox_due(&self, now: Millis, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        let sql = format!(
            "SELECT {} FROM outbox o JOIN (SELECT DISTINCT ON (stream) id FROM outbox ORDER BY stream, id) h \
             ON h.id = o.id WHERE o.not_before <= $1 ORDER BY o.id LIMIT $2",
            rows::OUTBOX_COLUMNS.split(", ").map(|c| format!("o.{c}")).collect::<Vec<_>>().join(", ")
        );
        self.query_map(&sql, &[&now, &count_to_sql(limit)], rows::outbox).await
    }

    async fn active_contacts(&self) -> Result<u64, StoreError> {
        let n: Option<i64> = self.scalar("SELECT COUNT(*) FROM contacts WHERE ended_at IS NULL", &[]).await?;
        Ok(u64::try_from(n.unwrap_or(0)).unwrap_or(0))
    }

    async fn health(&self) -> Result<(), StoreError> {
        if self.shared.committers_alive.load(Ordering::SeqCst) == 0 {
            return Err(backend("store committers are not running"));
        }
        match self.scalar::<i32>("SELECT 1", &[]).await? {
            Some(1) => Ok(()),
            _ => Err(backend("health query returned a wrong value")),
        }
    }
}
