//! The schema, as an ordered list of migrations. `PRAGMA user_version` holds how many have
//! been applied. Never edit a migration that has shipped: append a new one.

use rusqlite::{Connection, TransactionBehavior};

/// Migration `i` (0-based) brings the database from version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
    CREATE TABLE contacts (
        id                 TEXT PRIMARY KEY NOT NULL,
        instance_id        TEXT NOT NULL,
        initial_contact_id TEXT NOT NULL,
        created_at         INTEGER NOT NULL,
        expires_at         INTEGER NOT NULL,
        ended_at           INTEGER,
        disconnect_reason  TEXT,
        details            TEXT NOT NULL
    );
    CREATE INDEX contacts_active ON contacts(id) WHERE ended_at IS NULL;

    CREATE TABLE participants (
        id           TEXT PRIMARY KEY NOT NULL,
        contact_id   TEXT NOT NULL,
        role         TEXT NOT NULL,
        display_name TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        connected_at INTEGER,
        left_at      INTEGER
    );
    CREATE INDEX participants_contact ON participants(contact_id, created_at);

    -- A rowid table (not WITHOUT ROWID): items carry a JSON body of hundreds of bytes, too
    -- large for the index b-tree a WITHOUT ROWID table is stored in. Every lookup by
    -- (contact_id, seq), (contact_id, id) or (contact_id, at) is one index descent.
    CREATE TABLE items (
        contact_id TEXT NOT NULL,
        seq        INTEGER NOT NULL,
        id         TEXT NOT NULL,
        at         INTEGER NOT NULL,
        json       TEXT NOT NULL
    );
    CREATE UNIQUE INDEX items_seq ON items(contact_id, seq);
    CREATE UNIQUE INDEX items_id ON items(contact_id, id);
    CREATE INDEX items_at ON items(contact_id, at, seq);

    CREATE TABLE receipts (
        contact_id   TEXT NOT NULL,
        message_id   TEXT NOT NULL,
        recipient_id TEXT NOT NULL,
        delivered_at INTEGER,
        read_at      INTEGER,
        PRIMARY KEY (contact_id, message_id, recipient_id)
    ) WITHOUT ROWID;

    CREATE TABLE idempotency (
        key        TEXT PRIMARY KEY NOT NULL,
        contact_id TEXT NOT NULL,
        response   TEXT NOT NULL
    );

    CREATE TABLE timers (
        key        TEXT PRIMARY KEY NOT NULL,
        contact_id TEXT NOT NULL,
        due        INTEGER NOT NULL,
        kind       TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX timers_due ON timers(due, key);
    "#,
    // 2: small records by kind (attachments, views, sessions, …) and the delivery outbox.
    r#"
    CREATE TABLE records (
        kind  TEXT NOT NULL,
        key   TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (kind, key)
    ) WITHOUT ROWID;

    CREATE TABLE outbox (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        stream     TEXT NOT NULL,
        payload    TEXT NOT NULL,
        attempts   INTEGER NOT NULL DEFAULT 0,
        not_before INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX outbox_stream ON outbox(stream, id);
    "#,
    // 3: fewer pages written per message. A commit writes every page it dirtied, and an index
    // keyed by contact dirties one page per contact in the group: items_at goes (times are
    // found by a binary search over seq, the writer keeping `at` non-decreasing per contact),
    // and item ids (time-ordered UUIDs) lead their index, whose new entries then all land on
    // its last pages (still unique per contact). Idempotency records become one b-tree instead of a table plus an index.
    r#"
    DROP INDEX items_at;
    DROP INDEX items_id;
    CREATE UNIQUE INDEX items_by_id ON items(id, contact_id);

    CREATE TABLE idempotency_keyed (
        key        TEXT PRIMARY KEY NOT NULL,
        contact_id TEXT NOT NULL,
        response   TEXT NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO idempotency_keyed (key, contact_id, response)
        SELECT key, contact_id, response FROM idempotency;
    DROP TABLE idempotency;
    ALTER TABLE idempotency_keyed RENAME TO idempotency;
    "#,
    // 4: idempotency records appended in commit order, found through an in-memory map of
    // their keys' hashes (see `keys`): a b-tree keyed by random client tokens wrote a random
    // page per message. The hashes (and when each record was written, for its expiry) have a
    // table of their own so that opening reads 20 bytes per record, not the record; the records
    // moved here get theirs at the next open.
    r#"
    CREATE TABLE idempotency_log (
        id         INTEGER PRIMARY KEY,
        key        TEXT NOT NULL,
        contact_id TEXT NOT NULL,
        response   TEXT NOT NULL
    );
    CREATE TABLE idempotency_hashes (
        id   INTEGER PRIMARY KEY,
        hash INTEGER NOT NULL,
        at   INTEGER NOT NULL
    );
    CREATE TABLE store_meta (
        name  TEXT PRIMARY KEY NOT NULL,
        value BLOB NOT NULL
    );
    INSERT INTO store_meta (name, value) VALUES ('key_hash_salt', randomblob(16));
    INSERT INTO idempotency_log (key, contact_id, response)
        SELECT key, contact_id, response FROM idempotency;
    DROP TABLE idempotency;
    "#,
];

/// Applies the migrations this database has not seen yet, each in its own transaction.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), String> {
    let target = MIGRATIONS.len();
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| format!("begin migration: {e}"))?;
        // Read inside the write transaction, so two processes opening at once cannot both
        // apply the same migration.
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| format!("read schema version: {e}"))?;
        let version = usize::try_from(version).map_err(|_| format!("bad schema version {version}"))?;
        if version > target {
            return Err(format!(
                "database schema version {version} is newer than this confab knows ({target})"
            ));
        }
        if version == target {
            return Ok(());
        }
        tx.execute_batch(MIGRATIONS[version]).map_err(|e| format!("migration {}: {e}", version + 1))?;
        tx.pragma_update(None, "user_version", version + 1)
            .map_err(|e| format!("set schema version: {e}"))?;
        tx.commit().map_err(|e| format!("commit migration {}: {e}", version + 1))?;
        tracing::info!(version = version + 1, "applied store migration");
    }
}
