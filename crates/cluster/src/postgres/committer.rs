//! Group commit: committer tasks take every batch queued (up to `max_group`), apply them in
//! one transaction and commit once: one WAL flush for the whole group. Only then is every
//! batch answered. The batches go without savepoints first; if one does not apply, the
//! group is rolled back and run again with a SAVEPOINT per batch (see [`super::apply`]).
//!
//! Many nodes write the same contacts, so a group first locks, in one fixed order, the
//! sequence rows of every contact it touches and advisory locks for every record it reads
//! or writes. Groups that overlap then wait for each other instead of deadlocking, batches
//! of one contact are serialized across nodes (their checks see every earlier commit), and
//! a contact's seqs are handed out under its row lock: gap-free and in commit order.
//!
//! A transient failure (lost connection, deadlock, serialization failure) fails the
//! transaction, which is then run again whole, with backoff. A connection lost during
//! COMMIT leaves the outcome unknown; the transaction's id, read at BEGIN, is asked about
//! on another connection so that a committed group is answered as committed and not run
//! twice.

use super::apply::{apply_all, Applied};
use super::retry::{backoff, is_connection_lost};
use super::{fnv64, in_order, Failure, Shared};
use confab_ports::{Batch, Committed, StoreError};
use deadpool_postgres::{Object, Pool};
use futures_util::future::BoxFuture;
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

pub(crate) type Answer = oneshot::Sender<Result<Committed, StoreError>>;

pub(crate) enum Job {
    Commit(Box<Batch>, Answer),
    /// Answer everything queued before this, then stop (one committer).
    Stop,
}

/// Locks the sequence rows of the group's contacts, creating those of new contacts, and
/// answers the transaction id: one statement. The rows are locked in the order they come
/// (the ids sorted), the same order on every node, so overlapping groups wait for each other
/// instead of deadlocking; `DO UPDATE … WHERE false` locks an existing row without writing
/// it. (Creating the rows in a transaction of their own first, then locking them FOR UPDATE,
/// cost two more statements per group.) Data-modifying WITH parts always run to completion.
const LOCK_CONTACTS: &str = "WITH locked AS (INSERT INTO contact_seqs AS s (contact_id, next_seq) \
     SELECT unnest($1::text[]), 1 \
     ON CONFLICT (contact_id) DO UPDATE SET next_seq = s.next_seq WHERE false RETURNING 1) \
     SELECT txid_current()";
/// The keys come sorted; unnest keeps their order.
const LOCK_RECORDS: &str = "SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k";
const TXID_STATUS: &str = "SELECT txid_status($1)";

/// How often (every 100 ms) the outcome of a commit whose connection was lost is asked.
const SETTLE_TRIES: usize = 50;

pub(crate) struct Committer {
    pub(crate) pool: Pool,
    pub(crate) jobs: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Job>>>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) max_group: usize,
    pub(crate) retries: u32,
}

type Results = Vec<Result<Committed, StoreError>>;

/// Counts the committer out when it ends, however it ends (panics included); it was counted
/// in when spawned.
struct Alive(Arc<Shared>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.committers_alive.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Committer {
    pub(crate) async fn run(self) {
        let _alive = Alive(self.shared.clone());
        loop {
            let (group, stop) = self.gather().await;
            if !group.is_empty() {
                self.run_group(group).await;
            }
            if stop {
                return;
            }
        }
    }

    /// Waits for one job, then takes what else is queued. While this committer commits,
    /// the next one gathers: groups form from what arrives during a commit.
    async fn gather(&self) -> (Vec<(Box<Batch>, Answer)>, bool) {
        let mut jobs = self.jobs.lock().await;
        let mut group = Vec::new();
        let mut stop = false;
        match jobs.recv().await {
            Some(job) => take(job, &mut group, &mut stop),
            None => return (group, true),
        }
        while !stop && group.len() < self.max_group.max(1) {
            match jobs.try_recv() {
                Ok(job) => take(job, &mut group, &mut stop),
                Err(_) => break,
            }
        }
        (group, stop)
    }

    async fn run_group(&self, group: Vec<(Box<Batch>, Answer)>) {
        let batches: Vec<&Batch> = group.iter().map(|(b, _)| b.as_ref()).collect();
        let mut attempt = 0;
        let mut savepoints = false;
        let outcome = loop {
            match self.try_group(&batches, savepoints).await {
                Ok(Some(results)) => break Ok(results),
                Ok(None) => {
                    self.shared.stats.redone.fetch_add(1, Ordering::Relaxed);
                    savepoints = true;
                }
                Err(f) if f.retry && attempt < self.retries => {
                    tracing::debug!(error = %f.message, attempt, "group commit failed; retrying");
                    self.shared.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                Err(f) => break Err(f.message),
            }
        };
        drop(batches);
        match outcome {
            Ok(results) => self.answer(group, results),
            Err(message) => {
                tracing::error!(%message, batches = group.len(), "postgres group commit failed");
                self.shared.stats.failed_groups.fetch_add(1, Ordering::Relaxed);
                for (_, answer) in group {
                    let _ = answer.send(Err(StoreError::Backend(message.clone())));
                }
            }
        }
    }

    fn answer(&self, group: Vec<(Box<Batch>, Answer)>, results: Results) {
        let stats = &self.shared.stats;
        let n = group.len() as u64;
        stats.groups.fetch_add(1, Ordering::Relaxed);
        stats.batches.fetch_add(n, Ordering::Relaxed);
        stats.largest_group.fetch_max(n, Ordering::Relaxed);
        for ((_, answer), result) in group.into_iter().zip(results) {
            let counter = match &result {
                Ok(Committed::Applied { .. }) => &stats.applied,
                Ok(Committed::Replayed { .. }) => &stats.replayed,
                Err(_) => &stats.rejected,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            let _ = answer.send(result);
        }
    }

    /// One attempt: BEGIN and lock, the batches (see [`apply_all`]), COMMIT (sent with the
    /// batch for a group of one). A group of one whose batch did not apply was rolled back
    /// already. None: a batch of a group sent without savepoints did not apply; the
    /// transaction was rolled back, to be run again with them.
    async fn try_group(&self, batches: &[&Batch], savepoints: bool) -> Result<Option<Results>, Failure> {
        let client = self.pool.get().await.map_err(|e| Failure::transient(format!("connection: {e}")))?;
        let locks = Locks::of(batches);
        let txid = match begin(&client, &locks).await {
            Ok(txid) => txid,
            Err(f) => return Err(abandon(client, f).await),
        };
        let (results, commit) = match apply_all(&client, batches, savepoints).await {
            Ok(Applied::Open(results)) => {
                let commit = client.batch_execute("COMMIT").await;
                (results, commit)
            }
            Ok(Applied::Committing(results, commit)) => (results, commit),
            Ok(Applied::Ended(results)) => return Ok(Some(results)),
            Ok(Applied::Redo) => return rollback(client).await.map(|()| None),
            Err(f) => return Err(abandon(client, f).await),
        };
        match commit {
            Ok(()) => Ok(Some(results)),
            Err(e) if is_connection_lost(&e) => {
                let _ = Object::take(client);
                self.settle(txid, results, &e).await.map(Some)
            }
            Err(e) => Err(abandon(client, Failure::from_sql("commit", &e)).await),
        }
    }

    /// The connection was lost during COMMIT: did the transaction commit?
    async fn settle(
        &self,
        txid: i64,
        results: Results,
        e: &tokio_postgres::Error,
    ) -> Result<Results, Failure> {
        for _ in 0..SETTLE_TRIES {
            match self.status(txid).await {
                Some(status) if status == "committed" => return Ok(results),
                Some(status) if status == "aborted" => {
                    return Err(Failure::transient(format!("connection lost before commit: {e}")))
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        Err(Failure::permanent(format!("connection lost during commit, outcome unknown: {e}")))
    }

    async fn status(&self, txid: i64) -> Option<String> {
        let client = self.pool.get().await.ok()?;
        let row = client.query_one(TXID_STATUS, &[&txid]).await.ok()?;
        row.try_get::<_, Option<String>>(0).ok().flatten()
    }
}

fn take(job: Job, group: &mut Vec<(Box<Batch>, Answer)>, stop: &mut bool) {
    match job {
        Job::Commit(batch, answer) => group.push((batch, answer)),
        Job::Stop => *stop = true,
    }
}

/// What a group locks before applying anything, each set in its sorted order.
struct Locks {
    contacts: Vec<String>,
    records: Vec<i64>,
}

impl Locks {
    fn of(batches: &[&Batch]) -> Locks {
        let mut contacts = BTreeSet::new();
        let mut records = BTreeSet::new();
        for b in batches {
            if !b.contact_id.is_empty() || !b.items.is_empty() {
                contacts.insert(b.contact_id.as_str());
            }
            if let Some(c) = &b.contact {
                contacts.insert(c.id.as_str());
            }
            contacts.extend(b.participants.iter().map(|p| p.contact_id.as_str()));
            for check in &b.checks {
                if let confab_ports::Check::RecordIs { kind, key, .. } = check {
                    records.insert(record_lock(kind, key));
                }
            }
            records.extend(b.records.iter().map(|r| record_lock(&r.kind, &r.key)));
        }
        Locks {
            contacts: contacts.into_iter().map(str::to_owned).collect(),
            records: records.into_iter().collect(),
        }
    }
}

/// The advisory lock of one record: the same key on every node.
fn record_lock(kind: &str, key: &str) -> i64 {
    fnv64(&["record", kind, key])
}

/// Sends, in one round trip: BEGIN and the locks. Answers the transaction id.
async fn begin(client: &Object, locks: &Locks) -> Result<i64, Failure> {
    let prepare =
        |sql| async move { client.prepare_cached(sql).await.map_err(|e| Failure::from_sql("prepare", &e)) };
    let lock_contacts = prepare(LOCK_CONTACTS).await?;
    let lock_records = prepare(LOCK_RECORDS).await?;
    type Call<'a> = BoxFuture<'a, Result<Option<i64>, tokio_postgres::Error>>;
    let mut calls: Vec<Call<'_>> = Vec::new();
    calls.push(Box::pin(async { client.batch_execute("BEGIN").await.map(|()| None) }));
    calls.push(Box::pin(async {
        client.query_one(&lock_contacts, &[&locks.contacts]).await.map(|row| row.get::<_, Option<i64>>(0))
    }));
    if !locks.records.is_empty() {
        calls.push(Box::pin(async { client.execute(&lock_records, &[&locks.records]).await.map(|_| None) }));
    }
    let mut id = None;
    for answer in in_order(calls).await {
        match answer {
            Ok(Some(txid)) => id = Some(txid),
            Ok(None) => {}
            Err(e) => return Err(Failure::from_sql("begin", &e)),
        }
    }
    id.ok_or_else(|| Failure::permanent("no transaction id".into()))
}

/// The group failed: roll back so the connection goes back to the pool clean.
async fn abandon(client: Object, failure: Failure) -> Failure {
    let _ = rollback(client).await;
    failure
}

/// Rolls the transaction back; a connection that cannot is dropped (not returned to the
/// pool), and the group may be tried again (transient).
async fn rollback(client: Object) -> Result<(), Failure> {
    let failed = if client.is_closed() {
        "connection closed".to_owned()
    } else {
        match client.batch_execute("ROLLBACK").await {
            Ok(()) => return Ok(()),
            Err(e) => e.to_string(),
        }
    };
    let _ = Object::take(client);
    Err(Failure::transient(format!("rollback: {failed}")))
}
