//! The writer thread: the only connection that writes. It takes every batch queued (up to
//! `max_group`), applies them in one transaction, commits once (one fsync for the whole
//! group), updates the caches, and only then answers every batch. A batch whose check fails
//! or whose key is known writes nothing, so batches go without savepoints; only when a batch
//! fails after it wrote (an SQL error) is the transaction rolled back and the group run again
//! with each batch inside its own SAVEPOINT, so that the failed one is rolled back alone.

use super::checkpoint::Checkpointer;
use super::keys::{self, KeyIndex};
use super::rows::{self, seq_to_sql};
use super::sync::{settle_all, Answers, Settle, Syncer};
use super::{ranges_of, Shared};
use confab_ports::{Batch, Check, Clock, Committed, Contact, Participant, StoreError, SystemClock};
use parking_lot::Mutex;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Who hears about a batch, and when.
pub(crate) enum Answer {
    /// Once the batch is durable.
    Durable(oneshot::Sender<Result<Committed, StoreError>>),
    /// Once it is committed (visible), and again once it is durable.
    Staged(oneshot::Sender<Result<Committed, StoreError>>, oneshot::Sender<Result<(), StoreError>>),
}

impl Answer {
    fn fail(self, message: &str) {
        let error = || StoreError::Backend(message.to_owned());
        match self {
            Answer::Durable(tx) => drop(tx.send(Err(error()))),
            Answer::Staged(tx, durable) => {
                let _ = tx.send(Err(error()));
                let _ = durable.send(Err(error()));
            }
        }
    }

    /// Sends what can be sent now; the rest waits for the sync.
    fn committed(self, result: Result<Committed, StoreError>) -> Settle {
        match self {
            Answer::Durable(tx) => Box::new(move |synced: Result<(), String>| {
                let _ = tx.send(synced.map_err(StoreError::Backend).and(result));
            }),
            Answer::Staged(tx, durable) => {
                let _ = tx.send(result);
                Box::new(move |synced: Result<(), String>| {
                    let _ = durable.send(synced.map_err(StoreError::Backend));
                })
            }
        }
    }
}

pub(crate) enum Job {
    Commit(Box<Batch>, Answer),
    /// Answer everything queued before this, then stop.
    Stop,
    /// Makes the writer thread panic (tests of the dead-writer path).
    #[cfg(test)]
    Panic,
}

/// How often expired idempotency records are looked for, and most deleted at once (a
/// deletion holds the writer for a few ms per 10,000).
const KEY_PRUNE_EVERY: Duration = Duration::from_secs(60);
const KEY_PRUNE_MAX: usize = 10_000;

/// Per-contact next-seq entries kept at most; past this the map is emptied (entries reload
/// with one index lookup).
const SEQ_CACHE_MAX: usize = 100_000;

pub(crate) struct Writer {
    pub(crate) conn: Connection,
    pub(crate) rx: mpsc::Receiver<Job>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) max_group: usize,
    /// See `SqliteOptions::wal_restart_frames`.
    pub(crate) wal_restart_frames: u32,
    /// contact id → where its transcript ends. Reflects the state of the open transaction;
    /// restored when a savepoint rolls back, emptied when a transaction fails.
    pub(crate) next_seq: HashMap<String, Tail>,
    /// Syncs the WAL and answers committed groups (None: each COMMIT syncs, and the writer
    /// answers).
    pub(crate) syncer: Option<Syncer>,
    /// What the open transaction's applied batches wrote, for the checks of later ones.
    pub(crate) written: Written,
    /// Idempotency records the open transaction wrote (key hash, row id): the key index
    /// forgets them if it rolls back.
    pub(crate) pending_keys: Vec<(i64, i64)>,
    /// See `SqliteOptions::idempotency_retention`.
    pub(crate) key_retention: Duration,
    pub(crate) last_key_prune: Instant,
}

/// Whether contacts and participants written by the open transaction are active (and, for
/// participants, their contact). Checks look here first, then in the caches of committed
/// values (only this thread puts values there, after each COMMIT, so a cached value is the
/// current one), and only then in the database.
#[derive(Default)]
pub(crate) struct Written {
    contacts: HashMap<String, bool>,
    participants: HashMap<String, (String, bool)>,
}

impl Written {
    fn record(&mut self, b: &Batch) {
        if let Some(c) = &b.contact {
            self.contacts.insert(c.id.clone(), c.is_active());
        }
        for p in &b.participants {
            self.participants.insert(p.id.clone(), (p.contact_id.clone(), p.is_active()));
        }
    }

    fn clear(&mut self) {
        self.contacts.clear();
        self.participants.clear();
    }
}

/// The end of a contact's transcript: the seq its next item gets, and the largest `at`
/// stored so far.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tail {
    next: u64,
    last_at: i64,
}

/// The transaction cannot go on: every batch of the group fails.
struct Fatal(String);

/// Marks the writer dead when its thread ends, however it ends (panics included).
struct AliveGuard(Arc<Shared>);

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.writer_alive.store(false, Ordering::SeqCst);
    }
}

impl Writer {
    pub(crate) fn run(mut self) {
        let _alive = AliveGuard(self.shared.clone());
        let checkpointer = self.start_checkpointer();
        self.syncer = self.start_syncer();
        self.serve_jobs();
        if let Some(s) = self.syncer.take() {
            s.stop();
        }
        if let Some(c) = checkpointer {
            c.stop();
        }
    }

    /// The WAL's fsync moves to its own thread (see [`super::sync`]); COMMITs stop syncing
    /// only once that thread runs.
    fn start_syncer(&self) -> Option<Syncer> {
        let syncer = Syncer::start(&self.shared.readers.path, self.shared.clone())?;
        if let Err(e) = self.conn.execute_batch("PRAGMA synchronous = NORMAL") {
            tracing::warn!(error = %e, "sqlite: keeping a sync in each commit");
            syncer.stop();
            return None;
        }
        Some(syncer)
    }

    /// Checkpoints move to their own thread; SQLite's automatic ones stay on if it cannot start.
    fn start_checkpointer(&self) -> Option<Checkpointer> {
        let readers = &self.shared.readers;
        let checkpointer = Checkpointer::start(&readers.path, self.shared.clone(), self.wal_restart_frames)?;
        if let Err(e) = self.conn.execute_batch("PRAGMA wal_autocheckpoint = 0") {
            tracing::warn!(error = %e, "sqlite: keeping automatic checkpoints");
            checkpointer.stop();
            return None;
        }
        Some(checkpointer)
    }

    fn serve_jobs(&mut self) {
        let max = self.max_group.max(1);
        loop {
            let mut group: Vec<(Box<Batch>, Answer)> = Vec::new();
            let mut stop = false;
            match self.rx.recv() {
                Ok(job) => self.take(job, &mut group, &mut stop),
                Err(_) => return,
            }
            while !stop && group.len() < max {
                match self.rx.try_recv() {
                    Ok(job) => self.take(job, &mut group, &mut stop),
                    Err(_) => break,
                }
            }
            if !group.is_empty() {
                self.run_group(group);
            }
            self.expire_keys_when_due();
            if stop {
                tracing::debug!("sqlite writer stopped");
                return;
            }
        }
    }

    fn take(&self, job: Job, group: &mut Vec<(Box<Batch>, Answer)>, stop: &mut bool) {
        match job {
            Job::Commit(batch, answer) => group.push((batch, answer)),
            Job::Stop => *stop = true,
            #[cfg(test)]
            Job::Panic => panic!("writer panic requested by a test"),
        }
    }

    fn run_group(&mut self, group: Vec<(Box<Batch>, Answer)>) {
        if self.next_seq.len() > SEQ_CACHE_MAX {
            self.next_seq.clear();
        }
        let results = match self.apply_group(&group) {
            Ok(results) => results,
            Err(Fatal(message)) => {
                tracing::error!(%message, batches = group.len(), "sqlite group commit failed");
                if !self.conn.is_autocommit() {
                    if let Err(e) = self.conn.execute_batch("ROLLBACK") {
                        tracing::error!(error = %e, "sqlite rollback failed");
                    }
                }
                self.next_seq.clear();
                self.forget_keys_from(0);
                self.shared.stats.failed_groups.fetch_add(1, Ordering::Relaxed);
                for (_, answer) in group {
                    answer.fail(&message);
                }
                return;
            }
        };

        // Committed: publish to the caches before anyone hears back, so a caller reads its
        // own writes.
        let mut contacts: Vec<(String, Contact)> = Vec::new();
        let mut participants: Vec<(String, Participant)> = Vec::new();
        let mut ranges: Vec<String> = Vec::new();
        let (mut applied, mut replayed, mut rejected) = (0u64, 0u64, 0u64);
        for ((batch, _), result) in group.iter().zip(&results) {
            match result {
                Ok(Committed::Applied { .. }) => {
                    applied += 1;
                    if let Some(c) = &batch.contact {
                        contacts.push((c.id.clone(), c.clone()));
                    }
                    participants.extend(batch.participants.iter().map(|p| (p.id.clone(), p.clone())));
                    ranges.extend(batch.records.iter().flat_map(|r| ranges_of(&r.kind, &r.key)));
                }
                Ok(Committed::Replayed { .. }) => replayed += 1,
                Err(_) => rejected += 1,
            }
        }
        if !contacts.is_empty() {
            self.shared.contacts.put_all(contacts);
        }
        if !participants.is_empty() {
            self.shared.participants.put_all(participants);
        }
        if !ranges.is_empty() {
            self.shared.record_ranges.invalidate(ranges.iter().map(String::as_str));
        }

        let stats = &self.shared.stats;
        let n = group.len() as u64;
        stats.groups.fetch_add(1, Ordering::Relaxed);
        stats.batches.fetch_add(n, Ordering::Relaxed);
        stats.applied.fetch_add(applied, Ordering::Relaxed);
        stats.replayed.fetch_add(replayed, Ordering::Relaxed);
        stats.rejected.fetch_add(rejected, Ordering::Relaxed);
        stats.largest_group.fetch_max(n, Ordering::Relaxed);

        let answers: Answers =
            group.into_iter().zip(results).map(|((_, answer), result)| answer.committed(result)).collect();
        match &self.syncer {
            Some(syncer) => syncer.hand_over(answers),
            None => settle_all(answers, &Ok(())),
        }
    }

    /// BEGIN, every batch, COMMIT. Ok: the transaction committed and these are the answers;
    /// Err: nothing of the group was committed.
    fn apply_group(
        &mut self,
        group: &[(Box<Batch>, Answer)],
    ) -> Result<Vec<Result<Committed, StoreError>>, Fatal> {
        self.run_sql("BEGIN IMMEDIATE").map_err(|e| Fatal(format!("begin: {e}")))?;
        self.written.clear();
        if let [(batch, _)] = group {
            return self.apply_alone(batch).map(|result| vec![result]);
        }
        let results = match self.apply_bare(group)? {
            Some(results) => results,
            None => self.redo_with_savepoints(group)?,
        };
        self.run_sql("COMMIT").map_err(|e| Fatal(format!("commit: {e}")))?;
        self.pending_keys.clear();
        Ok(results)
    }

    /// Every batch on the open transaction without savepoints (each costs two statements and
    /// a copy of every page the batch touches again). None: a batch failed after it wrote,
    /// and the group must run again with savepoints.
    fn apply_bare(
        &mut self,
        group: &[(Box<Batch>, Answer)],
    ) -> Result<Option<Vec<Result<Committed, StoreError>>>, Fatal> {
        let mut results = Vec::with_capacity(group.len());
        for (batch, _) in group {
            if let Err(e) = check_all(&self.conn, &self.written, &self.shared, batch) {
                // Checks only read: nothing of this batch to undo.
                self.fatal_if_aborted(&e)?;
                results.push(Err(e));
                continue;
            }
            match self.apply_checked(batch) {
                Ok(committed) => {
                    if matches!(committed, Committed::Applied { .. }) {
                        self.written.record(batch);
                    }
                    results.push(Ok(committed));
                }
                Err(e) => {
                    tracing::debug!(error = %e, "sqlite: a batch failed after writing; redoing its group");
                    return Ok(None);
                }
            }
        }
        Ok(Some(results))
    }

    /// Rolls back what the bare pass wrote and applies the group again, each batch in its
    /// own savepoint.
    fn redo_with_savepoints(
        &mut self,
        group: &[(Box<Batch>, Answer)],
    ) -> Result<Vec<Result<Committed, StoreError>>, Fatal> {
        self.shared.stats.redone.fetch_add(1, Ordering::Relaxed);
        if !self.conn.is_autocommit() {
            self.run_sql("ROLLBACK").map_err(|e| Fatal(format!("rollback: {e}")))?;
        }
        // Tails moved by the rolled-back writes reload from the database.
        self.next_seq.clear();
        self.forget_keys_from(0);
        self.written.clear();
        self.run_sql("BEGIN IMMEDIATE").map_err(|e| Fatal(format!("begin: {e}")))?;
        let mut results = Vec::with_capacity(group.len());
        for (batch, _) in group {
            results.push(self.apply_in_savepoint(batch)?);
        }
        Ok(results)
    }

    /// SQLite rolls the whole transaction back on some errors (I/O error, disk full, …).
    fn fatal_if_aborted(&self, e: &StoreError) -> Result<(), Fatal> {
        if self.conn.is_autocommit() {
            return Err(Fatal(format!("transaction aborted: {e}")));
        }
        Ok(())
    }

    /// A group of one needs no savepoint: a batch that fails rolls the transaction back.
    fn apply_alone(&mut self, batch: &Batch) -> Result<Result<Committed, StoreError>, Fatal> {
        match self.try_batch(batch) {
            Ok(committed) => {
                self.run_sql("COMMIT").map_err(|e| Fatal(format!("commit: {e}")))?;
                self.pending_keys.clear();
                Ok(Ok(committed))
            }
            Err(e) => {
                if !self.conn.is_autocommit() {
                    self.run_sql("ROLLBACK").map_err(|e| Fatal(format!("rollback: {e}")))?;
                }
                self.forget_keys_from(0);
                Ok(Err(e))
            }
        }
    }

    fn apply_in_savepoint(&mut self, batch: &Batch) -> Result<Result<Committed, StoreError>, Fatal> {
        self.run_sql("SAVEPOINT batch").map_err(|e| Fatal(format!("savepoint: {e}")))?;
        let keys_before = self.pending_keys.len();
        match self.try_batch(batch) {
            Ok(committed) => {
                self.run_sql("RELEASE batch").map_err(|e| Fatal(format!("release: {e}")))?;
                if matches!(committed, Committed::Applied { .. }) {
                    self.written.record(batch);
                }
                Ok(Ok(committed))
            }
            Err(e) => {
                self.fatal_if_aborted(&e)?;
                self.run_sql("ROLLBACK TO batch")
                    .and_then(|()| self.run_sql("RELEASE batch"))
                    .map_err(|e| Fatal(format!("rollback to savepoint: {e}")))?;
                self.forget_keys_from(keys_before);
                Ok(Err(e))
            }
        }
    }

    /// Checks and applies one batch on the open transaction; on Err the contact's tail is
    /// as before (the caller rolls the batch's writes back).
    fn try_batch(&mut self, batch: &Batch) -> Result<Committed, StoreError> {
        let before = self.next_seq.get(&batch.contact_id).copied();
        let outcome = check_all(&self.conn, &self.written, &self.shared, batch)
            .and_then(|()| self.apply_checked(batch));
        if outcome.is_err() {
            match before {
                Some(tail) => self.next_seq.insert(batch.contact_id.clone(), tail),
                None => self.next_seq.remove(&batch.contact_id),
            };
        }
        outcome
    }

    /// Applies a batch whose checks held, on the open transaction.
    fn apply_checked(&mut self, batch: &Batch) -> Result<Committed, StoreError> {
        let keys = KeyWrites { index: &self.shared.keys, pending: &mut self.pending_keys };
        apply(&self.conn, &mut self.next_seq, keys, batch)
    }

    /// Deletes idempotency records past their retention, a bounded number at a time, at most
    /// once a minute (or once per retention period, if shorter), between groups.
    fn expire_keys_when_due(&mut self) {
        let every = self.key_retention.min(KEY_PRUNE_EVERY);
        if self.last_key_prune.elapsed() < every {
            return;
        }
        self.last_key_prune = Instant::now();
        let retention = i64::try_from(self.key_retention.as_millis()).unwrap_or(i64::MAX);
        let cutoff = SystemClock.now().saturating_sub(retention);
        let expired = match keys::expired(&self.conn, cutoff, KEY_PRUNE_MAX) {
            Ok(expired) => expired,
            Err(e) => return tracing::warn!(error = %e, "sqlite: reading expired idempotency records failed"),
        };
        let Some(&(last, _)) = expired.last() else { return };
        if let Err(e) = keys::delete_through(&self.conn, last) {
            return tracing::warn!(error = %e, "sqlite: deleting expired idempotency records failed");
        }
        let mut index = self.shared.keys.lock();
        for (id, hash) in &expired {
            index.remove(*hash, *id);
        }
        self.shared.stats.expired_keys.fetch_add(expired.len() as u64, Ordering::Relaxed);
    }

    /// The key index forgets the records written since `start` (rolled back).
    fn forget_keys_from(&mut self, start: usize) {
        if self.pending_keys.len() <= start {
            return;
        }
        let mut index = self.shared.keys.lock();
        for (hash, id) in self.pending_keys.drain(start..) {
            index.remove(hash, id);
        }
    }

    /// One statement without parameters, prepared once (transaction control runs several
    /// times per group).
    fn run_sql(&self, statement: &str) -> rusqlite::Result<()> {
        self.conn.prepare_cached(statement)?.execute([]).map(|_| ())
    }
}

fn sql(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Applies one batch on the open transaction. On Err, the caller rolls the savepoint back.
/// The batch's checks, against what is known (see [`Written`]) or else the database.
fn check_all(conn: &Connection, written: &Written, shared: &Shared, b: &Batch) -> Result<(), StoreError> {
    for check in &b.checks {
        let known =
            match check {
                Check::ContactActive => written.contacts.get(&b.contact_id).copied().or_else(|| {
                    shared.contacts.peek_with(&b.contact_id, |c| c.is_some_and(Contact::is_active))
                }),
                Check::ParticipantActive(id) => {
                    let holds = |contact_id: &str, active: bool| active && contact_id == b.contact_id;
                    written.participants.get(id).map(|(c, active)| holds(c, *active)).or_else(|| {
                        shared
                            .participants
                            .peek_with(id, |p| p.is_some_and(|p| holds(&p.contact_id, p.is_active())))
                    })
                }
                _ => None,
            };
        let holds = match known {
            Some(holds) => holds,
            None => check_holds(conn, &b.contact_id, check).map_err(sql)?,
        };
        if !holds {
            return Err(StoreError::CheckFailed(check.clone()));
        }
    }
    Ok(())
}

/// Applies one batch (its checks passed) on the open transaction. On Err, the caller rolls
/// the savepoint back.
fn apply(
    conn: &Connection,
    next_seq: &mut HashMap<String, Tail>,
    keys: KeyWrites<'_>,
    b: &Batch,
) -> Result<Committed, StoreError> {
    if let Some((key, response)) = &b.idempotency {
        if let Some(response) = keys.record(conn, &b.contact_id, key, response)? {
            return Ok(Committed::Replayed { response });
        }
    }

    if let Some(c) = &b.contact {
        let details = serde_json::to_string(&c.details)
            .map_err(|e| StoreError::Backend(format!("contact details: {e}")))?;
        conn.prepare_cached(
            "INSERT INTO contacts (id, instance_id, initial_contact_id, created_at, expires_at, \
             ended_at, disconnect_reason, details) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (id) DO UPDATE SET instance_id = excluded.instance_id, \
             initial_contact_id = excluded.initial_contact_id, created_at = excluded.created_at, \
             expires_at = excluded.expires_at, ended_at = excluded.ended_at, \
             disconnect_reason = excluded.disconnect_reason, details = excluded.details",
        )
        .and_then(|mut s| {
            s.execute(params![
                c.id,
                c.instance_id,
                c.initial_contact_id,
                c.created_at,
                c.expires_at,
                c.ended_at,
                c.disconnect_reason,
                details
            ])
        })
        .map_err(sql)?;
    }

    if !b.participants.is_empty() {
        let mut s = conn
            .prepare_cached(
                "INSERT INTO participants (id, contact_id, role, display_name, created_at, \
                 connected_at, left_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
                 ON CONFLICT (id) DO UPDATE SET contact_id = excluded.contact_id, \
                 role = excluded.role, display_name = excluded.display_name, \
                 created_at = excluded.created_at, connected_at = excluded.connected_at, \
                 left_at = excluded.left_at",
            )
            .map_err(sql)?;
        for p in &b.participants {
            s.execute(params![
                p.id,
                p.contact_id,
                p.role.as_str(),
                p.display_name,
                p.created_at,
                p.connected_at,
                p.left_at
            ])
            .map_err(sql)?;
        }
    }

    let seqs = append_items(conn, next_seq, b)?;

    if !b.receipts.is_empty() {
        let mut s = conn
            .prepare_cached(
                "INSERT INTO receipts (contact_id, message_id, recipient_id, delivered_at, read_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (contact_id, message_id, recipient_id) DO UPDATE SET \
                 delivered_at = COALESCE(receipts.delivered_at, excluded.delivered_at), \
                 read_at = COALESCE(receipts.read_at, excluded.read_at)",
            )
            .map_err(sql)?;
        for r in &b.receipts {
            s.execute(params![r.contact_id, r.message_id, r.recipient_id, r.delivered_at, r.read_at])
                .map_err(sql)?;
        }
    }

    if !b.set_timers.is_empty() {
        let mut s = conn
            .prepare_cached(
                "INSERT INTO timers (key, contact_id, due, kind) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (key) DO UPDATE SET contact_id = excluded.contact_id, \
                 due = excluded.due, kind = excluded.kind",
            )
            .map_err(sql)?;
        for t in &b.set_timers {
            s.execute(params![t.key, t.contact_id, t.due, t.kind]).map_err(sql)?;
        }
    }

    // After the sets: a key both set and cancelled in one batch ends up cancelled.
    if !b.cancel_timers.is_empty() {
        let mut s = conn.prepare_cached("DELETE FROM timers WHERE key = ?1").map_err(sql)?;
        for key in &b.cancel_timers {
            s.execute([key]).map_err(sql)?;
        }
    }

    apply_records(conn, b)?;
    apply_outbox(conn, b)?;
    Ok(Committed::Applied { seqs })
}

/// The key index and the records the open transaction added to it.
struct KeyWrites<'a> {
    index: &'a Mutex<KeyIndex>,
    pending: &'a mut Vec<(i64, i64)>,
}

impl KeyWrites<'_> {
    /// The response recorded under `key`, or None once a record of this one is written.
    fn record(
        self,
        conn: &Connection,
        contact_id: &str,
        key: &str,
        response: &str,
    ) -> Result<Option<String>, StoreError> {
        let (hash, candidates) = {
            let index = self.index.lock();
            let hash = index.hash(key);
            (hash, index.candidates(hash))
        };
        // A new key (the usual case) has no candidate: no read at all.
        if let Some(recorded) = keys::find(conn, key, &candidates).map_err(sql)? {
            return Ok(Some(recorded));
        }
        let id = keys::write(conn, hash, key, contact_id, response).map_err(sql)?;
        self.index.lock().insert(hash, id);
        self.pending.push((hash, id));
        Ok(None)
    }
}

/// Inserts the batch's items after the contact's last. The stored `at` (used only to find a
/// time in the transcript) never goes back within a contact: an item whose time was taken
/// just before another's but committed after it is stored at the other's time, so that a
/// binary search over seq finds times (the item's own JSON keeps its AbsoluteTime).
fn append_items(
    conn: &Connection,
    next_seq: &mut HashMap<String, Tail>,
    b: &Batch,
) -> Result<Vec<u64>, StoreError> {
    if b.items.is_empty() {
        return Ok(Vec::new());
    }
    let mut tail = match next_seq.get(&b.contact_id) {
        Some(tail) => *tail,
        None => load_tail(conn, &b.contact_id)?,
    };
    let mut s = conn
        .prepare_cached("INSERT INTO items (contact_id, seq, id, at, json) VALUES (?1, ?2, ?3, ?4, ?5)")
        .map_err(sql)?;
    let mut seqs = Vec::with_capacity(b.items.len());
    for item in &b.items {
        tail.last_at = tail.last_at.max(item.at);
        s.execute(params![b.contact_id, seq_to_sql(tail.next), item.id, tail.last_at, item.json])
            .map_err(sql)?;
        seqs.push(tail.next);
        tail.next += 1;
    }
    next_seq.insert(b.contact_id.clone(), tail);
    Ok(seqs)
}

fn load_tail(conn: &Connection, contact_id: &str) -> Result<Tail, StoreError> {
    let last: Option<(i64, i64)> = conn
        .prepare_cached("SELECT seq, at FROM items WHERE contact_id = ?1 ORDER BY seq DESC LIMIT 1")
        .and_then(|mut s| s.query_row([contact_id], |r| Ok((r.get(0)?, r.get(1)?))).optional())
        .map_err(sql)?;
    Ok(match last {
        Some((seq, at)) => Tail { next: rows::seq_from_sql(0, seq).map_err(sql)? + 1, last_at: at },
        None => Tail { next: 1, last_at: i64::MIN },
    })
}

fn apply_records(conn: &Connection, b: &Batch) -> Result<(), StoreError> {
    for r in &b.records {
        match &r.value {
            Some(value) => conn
                .prepare_cached(
                    "INSERT INTO records (kind, key, value) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value",
                )
                .and_then(|mut s| s.execute(params![r.kind, r.key, value])),
            None => conn
                .prepare_cached("DELETE FROM records WHERE kind = ?1 AND key = ?2")
                .and_then(|mut s| s.execute(params![r.kind, r.key])),
        }
        .map_err(sql)?;
    }
    Ok(())
}

fn apply_outbox(conn: &Connection, b: &Batch) -> Result<(), StoreError> {
    for o in &b.outbox {
        conn.prepare_cached("INSERT INTO outbox (stream, payload) VALUES (?1, ?2)")
            .and_then(|mut s| s.execute(params![o.stream, o.payload]))
            .map_err(sql)?;
    }
    for (id, not_before) in &b.outbox_retry {
        conn.prepare_cached("UPDATE outbox SET attempts = attempts + 1, not_before = ?2 WHERE id = ?1")
            .and_then(|mut s| s.execute(params![id, not_before]))
            .map_err(sql)?;
    }
    for id in &b.outbox_done {
        conn.prepare_cached("DELETE FROM outbox WHERE id = ?1")
            .and_then(|mut s| s.execute([id]))
            .map_err(sql)?;
    }
    Ok(())
}

fn check_holds(conn: &Connection, contact_id: &str, check: &Check) -> rusqlite::Result<bool> {
    match check {
        Check::ContactActive => Ok(conn
            .prepare_cached("SELECT ended_at IS NULL FROM contacts WHERE id = ?1")?
            .query_row([contact_id], |r| r.get::<_, bool>(0))
            .optional()?
            .unwrap_or(false)),
        Check::ParticipantActive(participant_id) => Ok(conn
            .prepare_cached("SELECT left_at IS NULL FROM participants WHERE id = ?1 AND contact_id = ?2")?
            .query_row([participant_id.as_str(), contact_id], |r| r.get::<_, bool>(0))
            .optional()?
            .unwrap_or(false)),
        Check::RecordIs { kind, key, value } => {
            let current: Option<String> = conn
                .prepare_cached("SELECT value FROM records WHERE kind = ?1 AND key = ?2")?
                .query_row([kind, key], |r| r.get(0))
                .optional()?;
            Ok(current == *value)
        }
        Check::ParticipantsFewerThan(n) => {
            let count: i64 = conn
                .prepare_cached("SELECT COUNT(*) FROM participants WHERE contact_id = ?1")?
                .query_row([contact_id], |r| r.get(0))?;
            Ok(usize::try_from(count).unwrap_or(usize::MAX) < *n)
        }
    }
}
