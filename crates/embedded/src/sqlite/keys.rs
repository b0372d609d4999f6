//! Where each idempotency record is. Records are appended to `idempotency_log` (a rowid
//! table: a new record lands on the table's last page, shared by the whole group) with
//! their key's hash in `idempotency_hashes`, and found through an in-memory map from that
//! hash to their row ids, loaded at open (20 bytes read per record). Records expire after
//! `SqliteOptions::idempotency_retention`.
//!
//! Why not a b-tree keyed by the key itself: client tokens are random, so every record
//! went to a random leaf of a tree larger than the page cache. That was one more page read
//! and one more page written (and checkpointed) per message: about 20 µs of the server's
//! CPU and 10 KB of disk writes per SendMessage at saturation (BENCHMARKS.md). The map costs
//! a few dozen bytes of memory per record instead.

use confab_ports::{Clock, SystemClock};
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The map's keys are already uniform (salted SHA-256): they are their own hash.
#[derive(Default)]
struct Uniform(u64);

impl Hasher for Uniform {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }

    fn write_i64(&mut self, n: i64) {
        self.0 = n as u64;
    }
}

type Map<V> = HashMap<i64, V, BuildHasherDefault<Uniform>>;

/// Key hash → row ids. The hash is keyed with a random salt of the database's own, so
/// clients cannot choose tokens that collide; a collision only adds a candidate row (whose
/// key is compared).
pub(crate) struct KeyIndex {
    salt: Vec<u8>,
    rows: Map<i64>,
    /// Further rows whose key has a hash already in `rows` (rare).
    more: Map<Vec<i64>>,
}

impl KeyIndex {
    /// Every record of the database; records without a hash (moved by migration 4) get one.
    pub(crate) fn load(conn: &Connection) -> rusqlite::Result<KeyIndex> {
        let salt: Vec<u8> =
            conn.query_row("SELECT value FROM store_meta WHERE name = 'key_hash_salt'", [], |r| r.get(0))?;
        let mut index = KeyIndex { salt, rows: Map::default(), more: Map::default() };
        index.hash_unhashed(conn)?;
        // Row ids are dense between the oldest record kept and the newest (expiry deletes the
        // oldest): their span is about the count, without counting.
        // One aggregate per query: SQLite answers each from an end of the b-tree.
        let span: i64 = conn.query_row(
            "SELECT COALESCE((SELECT MAX(id) FROM idempotency_hashes) \
             - (SELECT MIN(id) FROM idempotency_hashes) + 1, 0)",
            [],
            |r| r.get(0),
        )?;
        index.rows.reserve(usize::try_from(span).unwrap_or(0));
        let mut statement = conn.prepare("SELECT id, hash FROM idempotency_hashes")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            index.insert(row.get(1)?, row.get(0)?);
        }
        Ok(index)
    }

    fn hash_unhashed(&self, conn: &Connection) -> rusqlite::Result<()> {
        let unhashed: Vec<(i64, String)> = conn
            .prepare(
                "SELECT id, key FROM idempotency_log \
                 WHERE id > (SELECT COALESCE(MAX(id), 0) FROM idempotency_hashes)",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        if unhashed.is_empty() {
            return Ok(());
        }
        // Their time is unknown: they expire a retention period from now.
        let at = SystemClock.now();
        conn.execute_batch("BEGIN IMMEDIATE")?;
        for (id, key) in &unhashed {
            conn.execute(
                "INSERT INTO idempotency_hashes (id, hash, at) VALUES (?1, ?2, ?3)",
                params![id, self.hash(key), at],
            )?;
        }
        conn.execute_batch("COMMIT")
    }

    pub(crate) fn hash(&self, key: &str) -> i64 {
        let digest = Sha256::new().chain_update(&self.salt).chain_update(key.as_bytes()).finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        i64::from_le_bytes(first)
    }

    pub(crate) fn insert(&mut self, hash: i64, id: i64) {
        if let Some(first) = self.rows.get(&hash) {
            if *first != id {
                self.more.entry(hash).or_default().push(id);
            }
            return;
        }
        self.rows.insert(hash, id);
    }

    /// Forgets a row (its transaction rolled back).
    pub(crate) fn remove(&mut self, hash: i64, id: i64) {
        if let Some(more) = self.more.get_mut(&hash) {
            more.retain(|other| *other != id);
            if more.is_empty() {
                self.more.remove(&hash);
            }
        }
        if self.rows.get(&hash) == Some(&id) {
            self.rows.remove(&hash);
            if let Some(mut more) = self.more.remove(&hash) {
                self.rows.insert(hash, more.remove(0));
                if !more.is_empty() {
                    self.more.insert(hash, more);
                }
            }
        }
    }

    /// The rows whose key may be this one.
    pub(crate) fn candidates(&self, hash: i64) -> Vec<i64> {
        let mut ids: Vec<i64> = self.rows.get(&hash).copied().into_iter().collect();
        if let Some(more) = self.more.get(&hash) {
            ids.extend(more);
        }
        ids
    }
}

/// Writes a record and its hash (on the writer's open transaction); returns its row id. The
/// record's time is the wall clock's: expiry is a matter of storage, not of the service's
/// clock (which tests and `--test-clock` move).
pub(crate) fn write(
    conn: &Connection,
    hash: i64,
    key: &str,
    contact_id: &str,
    response: &str,
) -> rusqlite::Result<i64> {
    conn.prepare_cached("INSERT INTO idempotency_log (key, contact_id, response) VALUES (?1, ?2, ?3)")?
        .execute(params![key, contact_id, response])?;
    let id = conn.last_insert_rowid();
    conn.prepare_cached("INSERT INTO idempotency_hashes (id, hash, at) VALUES (?1, ?2, ?3)")?
        .execute(params![id, hash, SystemClock.now()])?;
    Ok(id)
}

/// The oldest records (at most `limit`), written before `cutoff`: (row id, hash). Records
/// are in commit order, so this reads the old ones and stops at the first that is not.
pub(crate) fn expired(conn: &Connection, cutoff: i64, limit: usize) -> rusqlite::Result<Vec<(i64, i64)>> {
    let mut statement = conn.prepare_cached("SELECT id, hash, at FROM idempotency_hashes ORDER BY id")?;
    let mut rows = statement.query([])?;
    let mut expired = Vec::new();
    while let Some(row) = rows.next()? {
        let at: i64 = row.get(2)?;
        if at >= cutoff || expired.len() >= limit {
            break;
        }
        expired.push((row.get(0)?, row.get(1)?));
    }
    Ok(expired)
}

/// Deletes the records up to `last` (their own transaction: the writer runs it between groups).
pub(crate) fn delete_through(conn: &Connection, last: i64) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let deleted = conn
        .prepare_cached("DELETE FROM idempotency_log WHERE id <= ?1")
        .and_then(|mut s| s.execute([last]))
        .and_then(|_| conn.prepare_cached("DELETE FROM idempotency_hashes WHERE id <= ?1"))
        .and_then(|mut s| s.execute([last]));
    match deleted {
        Ok(_) => conn.execute_batch("COMMIT"),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// The response recorded under `key` among these rows, if any.
pub(crate) fn find(conn: &Connection, key: &str, candidates: &[i64]) -> rusqlite::Result<Option<String>> {
    for id in candidates {
        let row: Option<(String, String)> = conn
            .prepare_cached("SELECT key, response FROM idempotency_log WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((stored, response)) = row {
            if stored == key {
                return Ok(Some(response));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// After years of expiry the oldest record kept has a large id: the index is sized by the
    /// span of the ids kept, not by the newest id.
    #[test]
    fn loading_sizes_the_index_by_the_records_kept() {
        let conn = Connection::open_in_memory().expect("db");
        conn.execute_batch(
            "CREATE TABLE store_meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
             INSERT INTO store_meta VALUES ('key_hash_salt', x'00112233');
             CREATE TABLE idempotency_log (id INTEGER PRIMARY KEY, key TEXT, contact_id TEXT, response TEXT);
             CREATE TABLE idempotency_hashes (id INTEGER PRIMARY KEY, hash INTEGER, at INTEGER);",
        )
        .expect("schema");
        let probe =
            KeyIndex { salt: vec![0x00, 0x11, 0x22, 0x33], rows: Map::default(), more: Map::default() };
        for (id, key) in [(4_000_000_000_i64, "a"), (4_000_000_001, "b")] {
            conn.execute(
                "INSERT INTO idempotency_log VALUES (?1, ?2, 'c', ?3)",
                params![id, key, format!("answer {key}")],
            )
            .expect("record");
            conn.execute("INSERT INTO idempotency_hashes VALUES (?1, ?2, 0)", params![id, probe.hash(key)])
                .expect("hash");
        }
        let index = KeyIndex::load(&conn).expect("load");
        assert!(index.rows.capacity() < 1_000, "sized by the span: {}", index.rows.capacity());
        let found = find(&conn, "b", &index.candidates(index.hash("b"))).expect("find");
        assert_eq!(found.as_deref(), Some("answer b"));
    }

    #[test]
    fn colliding_hashes_keep_every_row() {
        let mut index = KeyIndex { salt: vec![1], rows: Map::default(), more: Map::default() };
        index.insert(7, 1);
        index.insert(7, 2);
        index.insert(7, 3);
        index.insert(8, 4);
        assert_eq!(index.candidates(7), vec![1, 2, 3]);
        index.remove(7, 1);
        assert_eq!(index.candidates(7), vec![2, 3]);
        index.remove(7, 3);
        assert_eq!(index.candidates(7), vec![2]);
        index.remove(7, 2);
        assert!(index.candidates(7).is_empty());
        assert_eq!(index.candidates(8), vec![4]);
    }
}
