//! The schema, as an ordered list of migrations; `confab_migrations` records which were
//! applied. Never edit a migration that has shipped: append a new one.
//!
//! Text columns that are ordered or ranged over use `COLLATE "C"` (byte order), as SQLite
//! does, whatever the database's default collation: record prefixes are key ranges, and
//! listings must come out in the same order on every backend.

use super::fnv64;
use tokio_postgres::Client;

/// Migration `i` (0-based) brings the schema from version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the schema of SQLite's migrations 1 and 2, plus what many nodes need: the per-contact
    // sequence row (its row lock serializes the writers of one contact across nodes) and
    // leases on timers and outbox entries.
    r#"
    CREATE TABLE contacts (
        id                 text COLLATE "C" PRIMARY KEY,
        instance_id        text NOT NULL,
        initial_contact_id text NOT NULL,
        created_at         bigint NOT NULL,
        expires_at         bigint NOT NULL,
        ended_at           bigint,
        disconnect_reason  text,
        details            text NOT NULL
    );
    CREATE INDEX contacts_active ON contacts (id) WHERE ended_at IS NULL;

    -- One row per contact that was ever written to: the seq its next item gets. Batches lock
    -- the rows of their contacts (in id order) before anything else.
    CREATE TABLE contact_seqs (
        contact_id text COLLATE "C" PRIMARY KEY,
        next_seq   bigint NOT NULL
    );

    CREATE TABLE participants (
        id           text COLLATE "C" PRIMARY KEY,
        contact_id   text COLLATE "C" NOT NULL,
        role         text NOT NULL,
        display_name text NOT NULL,
        created_at   bigint NOT NULL,
        connected_at bigint,
        left_at      bigint,
        -- Insertion order, the tie-break SQLite's rowid gives.
        added        bigint GENERATED ALWAYS AS IDENTITY
    );
    CREATE INDEX participants_contact ON participants (contact_id, created_at, added);

    CREATE TABLE items (
        contact_id text COLLATE "C" NOT NULL,
        seq        bigint NOT NULL,
        id         text COLLATE "C" NOT NULL,
        at         bigint NOT NULL,
        json       text NOT NULL,
        PRIMARY KEY (contact_id, seq)
    );
    CREATE UNIQUE INDEX items_id ON items (contact_id, id);
    CREATE INDEX items_at ON items (contact_id, at, seq);

    CREATE TABLE receipts (
        contact_id   text COLLATE "C" NOT NULL,
        message_id   text COLLATE "C" NOT NULL,
        recipient_id text COLLATE "C" NOT NULL,
        delivered_at bigint,
        read_at      bigint,
        PRIMARY KEY (contact_id, message_id, recipient_id)
    );

    CREATE TABLE idempotency (
        key        text COLLATE "C" PRIMARY KEY,
        contact_id text NOT NULL,
        response   text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE timers (
        key          text COLLATE "C" PRIMARY KEY,
        contact_id   text NOT NULL,
        due          bigint NOT NULL,
        kind         text NOT NULL,
        -- Claimed by a node until then (0: never); reset when the timer is set again.
        leased_until bigint NOT NULL DEFAULT 0
    );
    CREATE INDEX timers_due ON timers (due, key);

    CREATE TABLE records (
        kind  text COLLATE "C" NOT NULL,
        key   text COLLATE "C" NOT NULL,
        value text NOT NULL,
        PRIMARY KEY (kind, key)
    );

    CREATE TABLE outbox (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        stream       text COLLATE "C" NOT NULL,
        payload      text NOT NULL,
        attempts     integer NOT NULL DEFAULT 0,
        not_before   bigint NOT NULL DEFAULT 0,
        leased_until bigint NOT NULL DEFAULT 0
    );
    CREATE INDEX outbox_stream ON outbox (stream, id);

    -- A batch's check as an error: a check that does not hold aborts the batch's savepoint
    -- and everything sent after it, so batches can be pipelined.
    CREATE FUNCTION confab_check(ok boolean) RETURNS boolean LANGUAGE plpgsql AS $$
    BEGIN
        IF ok IS NOT TRUE THEN
            RAISE EXCEPTION 'confab check failed' USING ERRCODE = 'CF001';
        END IF;
        RETURN true;
    END
    $$;
    "#,
    // 2: every check of a batch in one statement, each naming itself when it fails (the
    // index in the error's DETAIL), so a batch's checks cost one statement, not one each.
    r#"
    CREATE FUNCTION confab_check_at(i integer, ok boolean) RETURNS boolean LANGUAGE plpgsql AS $$
    BEGIN
        IF ok IS NOT TRUE THEN
            RAISE EXCEPTION 'confab check % failed', i USING ERRCODE = 'CF001', DETAIL = i::text;
        END IF;
        RETURN true;
    END
    $$;
    "#,
    // 3: idempotency records expire (`PostgresOptions::idempotency_retention`); a BRIN index
    // finds the old ones at almost no cost per insert (records are appended in time order).
    r#"
    CREATE INDEX idempotency_created ON idempotency USING brin (created_at);
    "#,
];

/// Applies the migrations this schema has not seen yet, each in its own transaction, under
/// a session advisory lock so that nodes starting together apply each one once. Creates the
/// schema first when one is named.
pub(crate) async fn migrate(client: &mut Client, schema: Option<&str>) -> Result<(), String> {
    let lock = lock_key(schema);
    client
        .execute("SELECT pg_advisory_lock($1)", &[&lock])
        .await
        .map_err(|e| format!("migration lock: {e}"))?;
    let result = migrate_locked(client, schema).await;
    // The lock also goes with the session; unlock anyway, the connection may be reused.
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&lock]).await;
    result?;
    unlocked.map(|_| ()).map_err(|e| format!("migration unlock: {e}"))
}

fn lock_key(schema: Option<&str>) -> i64 {
    fnv64(&["confab-migrations", schema.unwrap_or("")])
}

async fn migrate_locked(client: &mut Client, schema: Option<&str>) -> Result<(), String> {
    if let Some(schema) = schema {
        // The name was checked to be a plain identifier.
        client
            .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}; SET search_path TO {schema}"))
            .await
            .map_err(|e| format!("create schema {schema}: {e}"))?;
    }
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS confab_migrations (\
             version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .map_err(|e| format!("create confab_migrations: {e}"))?;
    let row = client
        .query_one("SELECT COALESCE(MAX(version), 0) FROM confab_migrations", &[])
        .await
        .map_err(|e| format!("read schema version: {e}"))?;
    let version: i32 = row.get(0);
    let version = usize::try_from(version).map_err(|_| format!("bad schema version {version}"))?;
    let target = MIGRATIONS.len();
    if version > target {
        return Err(format!("database schema version {version} is newer than this confab knows ({target})"));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let number = i32::try_from(index + 1).map_err(|_| "too many migrations".to_owned())?;
        let tx = client.transaction().await.map_err(|e| format!("begin migration {number}: {e}"))?;
        tx.batch_execute(sql).await.map_err(|e| format!("migration {number}: {e}"))?;
        tx.execute("INSERT INTO confab_migrations (version) VALUES ($1)", &[&number])
            .await
            .map_err(|e| format!("record migration {number}: {e}"))?;
        tx.commit().await.map_err(|e| format!("commit migration {number}: {e}"))?;
        tracing::info!(version = number, "applied store migration");
    }
    Ok(())
}
