//! Where each idempotency record is. Records are appended to `idempotency_log` (a rowid
//! table: a new record lands on the table's last page, shared by the whole group) and found
//! through this in-memory map from a hash of their key to their row ids, loaded at open.
//!
//! Why not a b-tree keyed by the key itself: client tokens are random, so every record
//! went to a random leaf of a tree larger than the page cache. That was one more page read
//! and one more page written (and checkpointed) per message: 37 µs of the server's CPU and
//! 11 KB of disk writes per SendMessage at saturation (BENCHMARKS.md, change 16). The map
//! costs about 24 bytes of memory per record instead.

use rusqlite::{Connection, OptionalExtension};
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;

/// Key hash → row ids. The hasher's keys are random per process, so clients cannot choose
/// tokens that collide; a collision only adds a candidate row (its key is compared).
pub(crate) struct KeyIndex {
    hasher: RandomState,
    rows: HashMap<u64, i64>,
    /// Further rows whose key has a hash already in `rows` (rare).
    more: HashMap<u64, Vec<i64>>,
}

impl KeyIndex {
    /// Every record of the database.
    pub(crate) fn load(conn: &Connection) -> rusqlite::Result<KeyIndex> {
        let mut index = KeyIndex { hasher: RandomState::new(), rows: HashMap::new(), more: HashMap::new() };
        let mut statement = conn.prepare("SELECT id, key FROM idempotency_log")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let key = row.get_ref(1)?.as_str()?;
            let hash = index.hash(key);
            index.insert(hash, row.get(0)?);
        }
        Ok(index)
    }

    pub(crate) fn hash(&self, key: &str) -> u64 {
        self.hasher.hash_one(key)
    }

    pub(crate) fn insert(&mut self, hash: u64, id: i64) {
        if let Some(first) = self.rows.get(&hash) {
            if *first != id {
                self.more.entry(hash).or_default().push(id);
            }
            return;
        }
        self.rows.insert(hash, id);
    }

    /// Forgets a row (its transaction rolled back).
    pub(crate) fn remove(&mut self, hash: u64, id: i64) {
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
    pub(crate) fn candidates(&self, hash: u64) -> Vec<i64> {
        let mut ids: Vec<i64> = self.rows.get(&hash).copied().into_iter().collect();
        if let Some(more) = self.more.get(&hash) {
            ids.extend(more);
        }
        ids
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

    #[test]
    fn colliding_hashes_keep_every_row() {
        let mut index = KeyIndex { hasher: RandomState::new(), rows: HashMap::new(), more: HashMap::new() };
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
