//! Applying the batches of a group inside its open transaction: first bare; when one of them
//! does not apply, again from a new transaction with each in its own SAVEPOINT (a group of
//! one needs none: its transaction is its savepoint).
//!
//! The statements of many batches (a window of them) are sent at once, pipelined on the
//! connection, so a group costs a few round trips however many batches it holds. For that,
//! every way a batch can fail is an error that aborts its savepoint: a check that does not
//! hold raises `CF001` (through `confab_check_at`, which names the check), a known
//! idempotency key is a unique violation of the idempotency table, a bad write fails as
//! itself. The server then refuses everything after it (25P02) until the savepoint is rolled
//! back, so the first error of a batch tells what became of it, in the SQLite writer's
//! order: a failed check (in the batch's order) wins over a known idempotency key, which
//! wins over a failed write. The batches after a failed one are sent again once its
//! savepoint is rolled back.
//!
//! PostgreSQL's CPU per statement is what limits a cluster on a small machine, so a batch
//! sends few: all its checks as one statement, and its idempotency record with its items as
//! another, or all three as one when nothing is written between them (a SendMessage: one
//! statement besides the group's BEGIN, lock and COMMIT).
//!
//! Writes of many rows are one statement each over `unnest` arrays. The SQLite writer runs
//! one statement per row, so repeated keys within one batch are folded here first the way
//! those statements would have left them (last write wins; receipts merge).

use super::rows::{count_to_sql, seq_from_sql};
use super::{describe, in_order, Failure};
use confab_ports::{Batch, Check, Committed, StoreError};
use deadpool_postgres::ClientWrapper;
use futures_util::future::BoxFuture;
use futures_util::TryStreamExt;
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::LazyLock;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, Statement};

/// Batches sent at once: after a failed batch, the ones sent behind it are sent again.
const WINDOW: usize = 32;
/// Raised by `confab_check` (see the schema).
const CHECK_FAILED: &str = "CF001";
const UNIQUE_VIOLATION: &str = "23505";

/// The tests of each check, with its parameters as `$a`, `$b`, `$c` (numbered when the
/// checks of a batch are put together into one statement, see [`checks_sql`]).
const CHECK_CONTACT_ACTIVE: &str = "EXISTS (SELECT 1 FROM contacts WHERE id = $a AND ended_at IS NULL)";
const CHECK_PARTICIPANT_ACTIVE: &str =
    "EXISTS (SELECT 1 FROM participants WHERE id = $a AND contact_id = $b AND left_at IS NULL)";
const CHECK_PARTICIPANTS_FEWER: &str =
    "(SELECT COUNT(*) FROM participants WHERE contact_id = $a) < $b::bigint";
const CHECK_RECORD_IS: &str =
    "(SELECT value FROM records WHERE kind = $a AND key = $b) IS NOT DISTINCT FROM $c::text";
pub(crate) const READ_RECORD: &str = "SELECT value FROM records WHERE kind = $1 AND key = $2";
/// Fails as a unique violation when the key is known (after waiting for a concurrent
/// inserter to finish).
const IDEMPOTENCY_INSERT: &str = "INSERT INTO idempotency (key, contact_id, response) VALUES ($1, $2, $3)";
pub(crate) const IDEMPOTENCY_READ: &str = "SELECT response FROM idempotency WHERE key = $1";
const CONTACT_UPSERT: &str = "INSERT INTO contacts (id, instance_id, initial_contact_id, created_at, \
     expires_at, ended_at, disconnect_reason, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (id) DO UPDATE SET instance_id = excluded.instance_id, \
     initial_contact_id = excluded.initial_contact_id, created_at = excluded.created_at, \
     expires_at = excluded.expires_at, ended_at = excluded.ended_at, \
     disconnect_reason = excluded.disconnect_reason, details = excluded.details";
const PARTICIPANTS_UPSERT: &str = "INSERT INTO participants (id, contact_id, role, display_name, \
     created_at, connected_at, left_at) \
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[]) \
     ON CONFLICT (id) DO UPDATE SET contact_id = excluded.contact_id, role = excluded.role, \
     display_name = excluded.display_name, created_at = excluded.created_at, \
     connected_at = excluded.connected_at, left_at = excluded.left_at";
/// The idempotency key as the first part of [`items_append_sql`], from the batch's
/// parameters `$6` and `$7`; after checks, inserted from their row (`c`), so that a check
/// that does not hold fails before the key is looked at.
const KEY_INSERT: &str =
    "k AS (INSERT INTO idempotency (key, contact_id, response) VALUES ($6, $1, $7) RETURNING 1)";
const KEY_INSERT_AFTER_CHECKS: &str = "k AS (INSERT INTO idempotency (key, contact_id, response) \
     SELECT $6::text, $1::text, $7::text FROM c RETURNING 1)";
static ITEMS_APPEND: LazyLock<String> = LazyLock::new(|| items_append_sql(""));
static IDEMPOTENT_ITEMS_APPEND: LazyLock<String> =
    LazyLock::new(|| items_append_sql(&format!("{KEY_INSERT}, ")));

/// Takes `n` seqs from the contact's row (locked since the group began) and appends the
/// items with them; returns the seqs given. `before`: WITH parts that come first, the last
/// of them the idempotency key `k` ([`KEY_INSERT`]): then the seqs are taken only once the
/// key is inserted (`s` reads `k`), so a known key fails first, as it would alone.
fn items_append_sql(before: &str) -> String {
    let after_key = if before.is_empty() { "" } else { " AND EXISTS (SELECT 1 FROM k)" };
    format!(
        "WITH {before}s AS (UPDATE contact_seqs SET next_seq = next_seq + $2::bigint \
         WHERE contact_id = $1{after_key} RETURNING next_seq - $2::bigint AS first) \
         INSERT INTO items (contact_id, seq, id, at, json) \
         SELECT $1, s.first + t.n - 1, t.id, t.at, t.json \
         FROM s, unnest($3::text[], $4::bigint[], $5::text[]) WITH ORDINALITY AS t(id, at, json, n) \
         RETURNING seq"
    )
}
/// The idempotency table's key constraint: its violation means the key is known.
const IDEMPOTENCY_KEY: &str = "idempotency_pkey";
const RECEIPTS_MERGE: &str =
    "INSERT INTO receipts (contact_id, message_id, recipient_id, delivered_at, read_at) \
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) \
     ON CONFLICT (contact_id, message_id, recipient_id) DO UPDATE SET \
     delivered_at = COALESCE(receipts.delivered_at, excluded.delivered_at), \
     read_at = COALESCE(receipts.read_at, excluded.read_at)";
/// Setting a timer again also drops any lease on it: its new due time is what counts.
const TIMERS_SET: &str = "INSERT INTO timers (key, contact_id, due, kind) \
     SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) \
     ON CONFLICT (key) DO UPDATE SET contact_id = excluded.contact_id, due = excluded.due, \
     kind = excluded.kind, leased_until = 0";
const TIMERS_CANCEL: &str = "DELETE FROM timers WHERE key = ANY($1::text[])";
const RECORDS_SET: &str = "INSERT INTO records (kind, key, value) \
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) \
     ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value";
const RECORDS_DELETE: &str = "DELETE FROM records r USING unnest($1::text[], $2::text[]) AS d(kind, key) \
     WHERE r.kind = d.kind AND r.key = d.key";
/// Ids follow the batch's order (the order of a stream).
const OUTBOX_ADD: &str = "INSERT INTO outbox (stream, payload) \
     SELECT t.stream, t.payload FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(stream, payload, n) \
     ORDER BY t.n";
/// A retried delivery is no longer leased: it is due again at `not_before`.
const OUTBOX_RETRY: &str = "UPDATE outbox o SET attempts = o.attempts + 1, not_before = t.not_before, \
     leased_until = 0 FROM unnest($1::bigint[], $2::bigint[]) AS t(id, not_before) WHERE o.id = t.id";
const OUTBOX_DONE: &str = "DELETE FROM outbox WHERE id = ANY($1::bigint[])";

const SAVEPOINT: &str = "SAVEPOINT batch";
const RELEASE: &str = "RELEASE SAVEPOINT batch";
const ROLLBACK_SAVEPOINT: &str = "ROLLBACK TO SAVEPOINT batch; RELEASE SAVEPOINT batch";

type Param<'a> = &'a (dyn ToSql + Sync);
type Answer = Result<Vec<Row>, tokio_postgres::Error>;
type Results = Vec<Result<Committed, StoreError>>;
/// A batch's statements, prepared, with their parameters.
type Plan<'a> = Vec<(Op, Statement, Vec<Param<'a>>)>;

/// How to read a statement's answer.
#[derive(Clone, Copy)]
enum Op {
    /// All of `batch.checks`; a failed one names its index.
    Checks,
    Idempotency,
    Items,
    /// The idempotency record and the items, in one statement.
    IdempotentItems,
    Write,
}

/// What became of a batch whose savepoint must be rolled back.
enum Undone {
    Failed(StoreError),
    /// Its idempotency key is known: answer what was recorded.
    Replay,
}

/// What became of a group's transaction.
pub(crate) enum Applied {
    /// Every batch answered; the transaction is open, to be committed.
    Open(Results),
    /// A group of one whose batch did not apply: answered, the transaction rolled back.
    Ended(Results),
    /// A group of one whose batch applied: it was sent with its COMMIT (one round trip for
    /// both), whose answer this is.
    Committing(Results, Result<(), tokio_postgres::Error>),
    /// A batch of a group sent without savepoints did not apply, which aborted the
    /// transaction: roll it back and run the group again with savepoints.
    Redo,
}

/// Applies every batch and answers each. Err: the transaction cannot go on (the whole group
/// fails, maybe to be tried again).
///
/// Without `savepoints` a group's batches are sent bare, two statements fewer each: batches
/// that fail are rare (a check lost to a race, a client's retry), and when one does the
/// group is run again with a savepoint per batch.
pub(crate) async fn apply_all(
    client: &ClientWrapper,
    batches: &[&Batch],
    savepoints: bool,
) -> Result<Applied, Failure> {
    let columns: Vec<Columns<'_>> = batches.iter().map(|b| Columns::of(b)).collect();
    let mut plans = Vec::with_capacity(batches.len());
    for (b, c) in batches.iter().zip(&columns) {
        plans.push(plan(client, b, c).await?);
    }
    if let ([b], [plan]) = (batches, plans.as_slice()) {
        return apply_one(client, b, plan).await;
    }
    if !savepoints {
        return apply_bare(client, batches, &plans).await;
    }
    let mut results = Vec::with_capacity(batches.len());
    let mut next = 0;
    while next < batches.len() {
        let end = (next + WINDOW).min(batches.len());
        let mut failed = None;
        for (i, answers) in (next..end).zip(send(client, &plans[next..end], true).await) {
            match read(batches[i], &plans[i], answers, true)? {
                Ok(seqs) => results.push(Ok(Committed::Applied { seqs })),
                Err(undone) => {
                    failed = Some((i, undone));
                    break;
                }
            }
        }
        next = match failed {
            Some((i, undone)) => {
                results.push(undo(client, batches[i], undone, ROLLBACK_SAVEPOINT).await?);
                i + 1
            }
            None => end,
        };
    }
    Ok(Applied::Open(results))
}

/// Every batch at once without savepoints: all apply, or the group must be redone.
async fn apply_bare(
    client: &ClientWrapper,
    batches: &[&Batch],
    plans: &[Plan<'_>],
) -> Result<Applied, Failure> {
    let mut results = Vec::with_capacity(batches.len());
    for ((b, plan), answers) in batches.iter().zip(plans).zip(send(client, plans, false).await) {
        match read(b, plan, answers, false)? {
            Ok(seqs) => results.push(Ok(Committed::Applied { seqs })),
            Err(_) => return Ok(Applied::Redo),
        }
    }
    Ok(Applied::Open(results))
}

/// A group of one, without a savepoint, sent with the COMMIT: a batch that does not apply
/// aborts the transaction, and the COMMIT behind it then ends it as a ROLLBACK.
async fn apply_one(client: &ClientWrapper, b: &Batch, plan: &Plan<'_>) -> Result<Applied, Failure> {
    let mut calls = statements(client, plan);
    calls.push(Box::pin(simple(client, "COMMIT")));
    let mut answers = in_order(calls).await;
    let commit = answers.pop().unwrap_or_else(|| Ok(Vec::new())).map(drop);
    match read(b, plan, answers, false)? {
        Ok(seqs) => Ok(Applied::Committing(vec![Ok(Committed::Applied { seqs })], commit)),
        Err(undone) => {
            // The batch failed, so the COMMIT rolled back; only a lost connection is in doubt
            // (nothing was committed, but the group must be tried again on another one).
            if let Err(e) = commit {
                return Err(Failure::from_sql("end a failed batch", &e));
            }
            Ok(Applied::Ended(vec![outcome(client, b, undone).await?]))
        }
    }
}

/// Sends the batches' statements at once, each batch between SAVEPOINT and RELEASE when
/// `savepoints`; the answers, per batch, in the order sent.
async fn send<'a>(client: &'a ClientWrapper, plans: &[Plan<'a>], savepoints: bool) -> Vec<Vec<Answer>> {
    let mut calls: Vec<BoxFuture<'a, Answer>> = Vec::new();
    for plan in plans {
        if savepoints {
            calls.push(Box::pin(simple(client, SAVEPOINT)));
        }
        calls.extend(statements(client, plan));
        if savepoints {
            calls.push(Box::pin(simple(client, RELEASE)));
        }
    }
    let extra = if savepoints { 2 } else { 0 };
    let mut answers = in_order(calls).await.into_iter();
    plans.iter().map(|plan| answers.by_ref().take(plan.len() + extra).collect()).collect()
}

/// A call per statement of the plan, each sent when first polled.
fn statements<'a>(client: &'a ClientWrapper, plan: &Plan<'a>) -> Vec<BoxFuture<'a, Answer>> {
    plan.iter()
        .map(|(_, statement, params)| -> BoxFuture<'a, Answer> {
            Box::pin(run(client, statement.clone(), params.clone()))
        })
        .collect()
}

async fn simple(client: &ClientWrapper, sql: &'static str) -> Answer {
    client.batch_execute(sql).await.map(|()| Vec::new())
}

/// Runs a prepared statement and collects its rows. It is sent when first polled.
async fn run<'a>(client: &'a ClientWrapper, statement: Statement, params: Vec<Param<'a>>) -> Answer {
    client.query_raw(&statement, params).await?.try_collect().await
}

/// Reads the answers of one batch: Ok(seqs) when it applied, else what to undo.
fn read(
    b: &Batch,
    plan: &Plan<'_>,
    answers: Vec<Answer>,
    savepoints: bool,
) -> Result<Result<Vec<u64>, Undone>, Failure> {
    let mut answers = answers.into_iter();
    if savepoints {
        if let Some(Err(e)) = answers.next() {
            return Err(Failure::from_sql("savepoint", &e));
        }
    }
    let mut seqs = Vec::new();
    for ((op, _, _), answer) in plan.iter().zip(answers.by_ref()) {
        match answer {
            Ok(rows) => {
                if let Op::Items | Op::IdempotentItems = op {
                    seqs = given_seqs(&rows, b.items.len())?;
                }
            }
            Err(e) => return failed(b, *op, &e).map(Err),
        }
    }
    if let Some(Err(e)) = answers.next() {
        return Err(Failure::from_sql("release savepoint", &e));
    }
    Ok(Ok(seqs))
}

/// The first error of a batch: a transient one fails the group (to be tried again);
/// anything else fails this batch alone.
fn failed(b: &Batch, op: Op, e: &tokio_postgres::Error) -> Result<Undone, Failure> {
    if super::retry::is_transient(e) {
        return Err(Failure::from_sql("batch", e));
    }
    let db = e.as_db_error();
    let code = db.map(|d| d.code().code());
    let known_key =
        code == Some(UNIQUE_VIOLATION) && db.and_then(|d| d.constraint()) == Some(IDEMPOTENCY_KEY);
    Ok(match op {
        Op::Checks | Op::IdempotentItems if code == Some(CHECK_FAILED) => {
            // confab_check_at puts the failed check's index in the detail.
            let index: Option<usize> = db.and_then(|d| d.detail()).and_then(|d| d.parse().ok());
            match index.and_then(|i| b.checks.get(i)) {
                Some(check) => Undone::Failed(StoreError::CheckFailed(check.clone())),
                None => Undone::Failed(StoreError::Backend(describe(e))),
            }
        }
        Op::Idempotency | Op::IdempotentItems if known_key => Undone::Replay,
        _ => Undone::Failed(StoreError::Backend(describe(e))),
    })
}

/// Rolls a failed batch back (`rollback`: to its savepoint, or the whole transaction of a
/// group of one); a replay then reads the recorded response.
async fn undo(
    client: &ClientWrapper,
    b: &Batch,
    undone: Undone,
    rollback: &str,
) -> Result<Result<Committed, StoreError>, Failure> {
    client.batch_execute(rollback).await.map_err(|e| Failure::from_sql("roll back a batch", &e))?;
    outcome(client, b, undone).await
}

/// The answer of a batch that was rolled back: its failure, or the recorded response.
async fn outcome(
    client: &ClientWrapper,
    b: &Batch,
    undone: Undone,
) -> Result<Result<Committed, StoreError>, Failure> {
    let failure = match undone {
        Undone::Failed(failure) => failure,
        Undone::Replay => return replayed(client, b).await.map(Ok),
    };
    Ok(Err(failure))
}

fn given_seqs(rows: &[Row], expected: usize) -> Result<Vec<u64>, Failure> {
    let mut seqs = Vec::with_capacity(rows.len());
    for row in rows {
        let seq: i64 = row.try_get(0).map_err(|e| Failure::permanent(format!("item seq: {e}")))?;
        seqs.push(seq_from_sql(seq).map_err(|e| Failure::permanent(e.to_string()))?);
    }
    if seqs.len() != expected {
        return Err(Failure::permanent(format!(
            "appended {} items of {expected}: no sequence row",
            seqs.len()
        )));
    }
    seqs.sort_unstable();
    Ok(seqs)
}

/// The response recorded with the batch's idempotency key (committed by whoever inserted it:
/// this statement's snapshot is newer than that commit).
async fn replayed(client: &ClientWrapper, b: &Batch) -> Result<Committed, Failure> {
    let Some((key, _)) = &b.idempotency else {
        return Err(Failure::permanent("replay without a key".into()));
    };
    let read = client.prepare_cached(IDEMPOTENCY_READ).await.map_err(|e| Failure::from_sql("prepare", &e))?;
    let row =
        client.query_opt(&read, &[key]).await.map_err(|e| Failure::from_sql("read idempotency key", &e))?;
    let response: String = row
        .ok_or_else(|| Failure::transient("idempotency key vanished".into()))?
        .try_get(0)
        .map_err(|e| Failure::permanent(format!("idempotency response: {e}")))?;
    Ok(Committed::Replayed { response })
}

/// The statements of a batch, prepared (from the connection's cache), in SQLite's order.
async fn plan<'a>(client: &ClientWrapper, b: &'a Batch, c: &'a Columns<'a>) -> Result<Plan<'a>, Failure> {
    let mut plan: Vec<(Op, Cow<'static, str>, Vec<Param<'a>>)> = Vec::new();
    // With nothing written between them, the checks and the key go with the items (one
    // statement: a SendMessage's whole batch).
    let key_with_items = !c.i_id.is_empty() && b.contact.is_none() && c.p_id.is_empty();
    match &b.idempotency {
        Some((key, response)) if key_with_items => {
            let mut p: Vec<Param<'a>> =
                vec![&b.contact_id, &c.item_count, &c.i_id, &c.i_at, &c.i_json, key, response];
            let sql = if b.checks.is_empty() {
                Cow::Borrowed(IDEMPOTENT_ITEMS_APPEND.as_str())
            } else {
                let (checks, params) = checks_sql(b, c, p.len());
                p.extend(params);
                Cow::Owned(items_append_sql(&format!("c AS ({checks}), {KEY_INSERT_AFTER_CHECKS}, ")))
            };
            plan.push((Op::IdempotentItems, sql, p));
        }
        _ => {
            if !b.checks.is_empty() {
                let (sql, params) = checks_sql(b, c, 0);
                plan.push((Op::Checks, Cow::Owned(sql), params));
            }
            if let Some((key, response)) = &b.idempotency {
                let p: Vec<Param<'a>> = vec![key, &b.contact_id, response];
                plan.push((Op::Idempotency, Cow::Borrowed(IDEMPOTENCY_INSERT), p));
            }
        }
    }
    if let (Some(contact), Some(details)) = (&b.contact, &c.details) {
        let p: Vec<Param<'a>> = vec![
            &contact.id,
            &contact.instance_id,
            &contact.initial_contact_id,
            &contact.created_at,
            &contact.expires_at,
            &contact.ended_at,
            &contact.disconnect_reason,
            details,
        ];
        plan.push((Op::Write, Cow::Borrowed(CONTACT_UPSERT), p));
    }
    let items_done = key_with_items && b.idempotency.is_some();
    c.push_writes(b, items_done, &mut plan);
    let mut prepared = Vec::with_capacity(plan.len());
    for (op, sql, params) in plan {
        let statement = client.prepare_cached(&sql).await.map_err(|e| Failure::from_sql("prepare", &e))?;
        prepared.push((op, statement, params));
    }
    Ok(prepared)
}

/// All the checks of a batch as one statement, `SELECT confab_check_at(0, …), …`: evaluated
/// in order, the first that does not hold raises with its index. Its parameters are
/// numbered after the `before` of the statement it goes into.
fn checks_sql<'a>(b: &'a Batch, c: &'a Columns<'a>, before: usize) -> (String, Vec<Param<'a>>) {
    let mut sql = String::from("SELECT ");
    let mut params: Vec<Param<'a>> = Vec::new();
    for (i, check) in b.checks.iter().enumerate() {
        let (test, own): (&str, Vec<Param<'a>>) = match check {
            Check::ContactActive => (CHECK_CONTACT_ACTIVE, vec![&b.contact_id]),
            Check::ParticipantActive(p) => (CHECK_PARTICIPANT_ACTIVE, vec![p, &b.contact_id]),
            Check::ParticipantsFewerThan(_) => {
                (CHECK_PARTICIPANTS_FEWER, vec![&b.contact_id, &c.fewer_than[i]])
            }
            Check::RecordIs { kind, key, value } => (CHECK_RECORD_IS, vec![kind, key, value]),
        };
        let mut test = test.to_owned();
        for (name, n) in ["$a", "$b", "$c"].iter().zip(before + params.len() + 1..) {
            test = test.replace(name, &format!("${n}"));
        }
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("confab_check_at({i}, {test})"));
        params.extend(own);
    }
    (sql, params)
}

/// The batch's rows as columns for `unnest`, repeated keys folded.
struct Columns<'a> {
    /// Per check index: the bound of ParticipantsFewerThan (0 for other checks).
    fewer_than: Vec<i64>,
    details: Option<String>,
    p_id: Vec<&'a str>,
    p_contact: Vec<&'a str>,
    p_role: Vec<&'a str>,
    p_name: Vec<&'a str>,
    p_created: Vec<i64>,
    p_connected: Vec<Option<i64>>,
    p_left: Vec<Option<i64>>,
    item_count: i64,
    i_id: Vec<&'a str>,
    i_at: Vec<i64>,
    i_json: Vec<&'a str>,
    r_contact: Vec<&'a str>,
    r_message: Vec<&'a str>,
    r_recipient: Vec<&'a str>,
    r_delivered: Vec<Option<i64>>,
    r_read: Vec<Option<i64>>,
    t_key: Vec<&'a str>,
    t_contact: Vec<&'a str>,
    t_due: Vec<i64>,
    t_kind: Vec<&'a str>,
    cancel: Vec<&'a str>,
    set_kind: Vec<&'a str>,
    set_key: Vec<&'a str>,
    set_value: Vec<&'a str>,
    del_kind: Vec<&'a str>,
    del_key: Vec<&'a str>,
    o_stream: Vec<&'a str>,
    o_payload: Vec<&'a str>,
    retry_id: Vec<i64>,
    retry_at: Vec<i64>,
    done: Vec<i64>,
}

impl<'a> Columns<'a> {
    fn of(b: &'a Batch) -> Columns<'a> {
        let fewer_than = b
            .checks
            .iter()
            .map(|c| match c {
                Check::ParticipantsFewerThan(n) => count_to_sql(*n),
                _ => 0,
            })
            .collect();
        let participants = last_wins(&b.participants, |p| p.id.as_str());
        let timers = last_wins(&b.set_timers, |t| t.key.as_str());
        let records = last_wins(&b.records, |r| (r.kind.as_str(), r.key.as_str()));
        let receipts = merged_receipts(&b.receipts);
        let (sets, deletes): (Vec<_>, Vec<_>) = records.into_iter().partition(|r| r.value.is_some());
        Columns {
            fewer_than,
            details: b.contact.as_ref().map(|c| c.details.to_string()),
            p_id: participants.iter().map(|p| p.id.as_str()).collect(),
            p_contact: participants.iter().map(|p| p.contact_id.as_str()).collect(),
            p_role: participants.iter().map(|p| p.role.as_str()).collect(),
            p_name: participants.iter().map(|p| p.display_name.as_str()).collect(),
            p_created: participants.iter().map(|p| p.created_at).collect(),
            p_connected: participants.iter().map(|p| p.connected_at).collect(),
            p_left: participants.iter().map(|p| p.left_at).collect(),
            item_count: count_to_sql(b.items.len()),
            i_id: b.items.iter().map(|i| i.id.as_str()).collect(),
            i_at: b.items.iter().map(|i| i.at).collect(),
            i_json: b.items.iter().map(|i| i.json.as_str()).collect(),
            r_contact: receipts.iter().map(|r| r.contact_id).collect(),
            r_message: receipts.iter().map(|r| r.message_id).collect(),
            r_recipient: receipts.iter().map(|r| r.recipient_id).collect(),
            r_delivered: receipts.iter().map(|r| r.delivered_at).collect(),
            r_read: receipts.iter().map(|r| r.read_at).collect(),
            t_key: timers.iter().map(|t| t.key.as_str()).collect(),
            t_contact: timers.iter().map(|t| t.contact_id.as_str()).collect(),
            t_due: timers.iter().map(|t| t.due).collect(),
            t_kind: timers.iter().map(|t| t.kind.as_str()).collect(),
            cancel: b.cancel_timers.iter().map(String::as_str).collect(),
            set_kind: sets.iter().map(|r| r.kind.as_str()).collect(),
            set_key: sets.iter().map(|r| r.key.as_str()).collect(),
            set_value: sets.iter().map(|r| r.value.as_deref().unwrap_or_default()).collect(),
            del_kind: deletes.iter().map(|r| r.kind.as_str()).collect(),
            del_key: deletes.iter().map(|r| r.key.as_str()).collect(),
            o_stream: b.outbox.iter().map(|o| o.stream.as_str()).collect(),
            o_payload: b.outbox.iter().map(|o| o.payload.as_str()).collect(),
            retry_id: b.outbox_retry.iter().map(|(id, _)| *id).collect(),
            retry_at: b.outbox_retry.iter().map(|(_, at)| *at).collect(),
            done: b.outbox_done.clone(),
        }
    }

    /// The writes after the contact's, in the SQLite writer's order.
    /// `items_done`: the items went with the idempotency record.
    fn push_writes(
        &'a self,
        b: &'a Batch,
        items_done: bool,
        plan: &mut Vec<(Op, Cow<'static, str>, Vec<Param<'a>>)>,
    ) {
        if !self.p_id.is_empty() {
            let p: Vec<Param<'a>> = vec![
                &self.p_id,
                &self.p_contact,
                &self.p_role,
                &self.p_name,
                &self.p_created,
                &self.p_connected,
                &self.p_left,
            ];
            plan.push((Op::Write, Cow::Borrowed(PARTICIPANTS_UPSERT), p));
        }
        if !self.i_id.is_empty() && !items_done {
            let p: Vec<Param<'a>> =
                vec![&b.contact_id, &self.item_count, &self.i_id, &self.i_at, &self.i_json];
            plan.push((Op::Items, Cow::Borrowed(ITEMS_APPEND.as_str()), p));
        }
        if !self.r_contact.is_empty() {
            let p: Vec<Param<'a>> =
                vec![&self.r_contact, &self.r_message, &self.r_recipient, &self.r_delivered, &self.r_read];
            plan.push((Op::Write, Cow::Borrowed(RECEIPTS_MERGE), p));
        }
        if !self.t_key.is_empty() {
            let p: Vec<Param<'a>> = vec![&self.t_key, &self.t_contact, &self.t_due, &self.t_kind];
            plan.push((Op::Write, Cow::Borrowed(TIMERS_SET), p));
        }
        // After the sets: a key both set and cancelled in one batch ends up cancelled.
        if !self.cancel.is_empty() {
            plan.push((Op::Write, Cow::Borrowed(TIMERS_CANCEL), vec![&self.cancel]));
        }
        if !self.set_key.is_empty() {
            plan.push((
                Op::Write,
                Cow::Borrowed(RECORDS_SET),
                vec![&self.set_kind, &self.set_key, &self.set_value],
            ));
        }
        if !self.del_key.is_empty() {
            plan.push((Op::Write, Cow::Borrowed(RECORDS_DELETE), vec![&self.del_kind, &self.del_key]));
        }
        if !self.o_stream.is_empty() {
            plan.push((Op::Write, Cow::Borrowed(OUTBOX_ADD), vec![&self.o_stream, &self.o_payload]));
        }
        if !self.retry_id.is_empty() {
            plan.push((Op::Write, Cow::Borrowed(OUTBOX_RETRY), vec![&self.retry_id, &self.retry_at]));
        }
        if !self.done.is_empty() {
            plan.push((Op::Write, Cow::Borrowed(OUTBOX_DONE), vec![&self.done]));
        }
    }
}

/// One entry per key, at the place of its first occurrence, with the value of its last.
fn last_wins<'a, T, K: Eq + Hash>(all: &'a [T], key: impl Fn(&'a T) -> K) -> Vec<&'a T> {
    let mut at: HashMap<K, usize> = HashMap::new();
    let mut out: Vec<&T> = Vec::with_capacity(all.len());
    for t in all {
        match at.get(&key(t)) {
            Some(&i) => out[i] = t,
            None => {
                at.insert(key(t), out.len());
                out.push(t);
            }
        }
    }
    out
}

struct MergedReceipt<'a> {
    contact_id: &'a str,
    message_id: &'a str,
    recipient_id: &'a str,
    delivered_at: Option<i64>,
    read_at: Option<i64>,
}

/// Receipts for the same (contact, message, recipient) merged as consecutive upserts would:
/// the first timestamp of each kind wins.
fn merged_receipts(all: &[confab_ports::Receipt]) -> Vec<MergedReceipt<'_>> {
    let mut at: HashMap<(&str, &str, &str), usize> = HashMap::new();
    let mut out: Vec<MergedReceipt<'_>> = Vec::with_capacity(all.len());
    for r in all {
        let key = (r.contact_id.as_str(), r.message_id.as_str(), r.recipient_id.as_str());
        match at.get(&key) {
            Some(&i) => {
                let m = &mut out[i];
                m.delivered_at = m.delivered_at.or(r.delivered_at);
                m.read_at = m.read_at.or(r.read_at);
            }
            None => {
                at.insert(key, out.len());
                out.push(MergedReceipt {
                    contact_id: key.0,
                    message_id: key.1,
                    recipient_id: key.2,
                    delivered_at: r.delivered_at,
                    read_at: r.read_at,
                });
            }
        }
    }
    out
}
