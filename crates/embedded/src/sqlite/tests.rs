//! Unit tests that need the store's insides (a writer made to die).

use super::*;
use confab_ports::NewItem;

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "confab-embedded-unit-{tag}-{}-{nanos}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn item_batch(contact: &str, id: &str) -> Batch {
    let mut b = Batch::new(contact);
    b.items.push(NewItem { id: id.into(), at: 1, json: "{}".into() });
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_writer_fails_commits_instead_of_hanging() {
    let dir = TempDir::new("dead");
    let store = SqliteStore::open(&dir.0.join("confab.db")).expect("open");
    assert_eq!(
        store.commit(item_batch("c", "a")).await.expect("commit"),
        Committed::Applied { seqs: vec![1] }
    );

    store.kill_writer();
    assert!(!store.writer_alive());
    let r = tokio::time::timeout(Duration::from_secs(5), store.commit(item_batch("c", "b")))
        .await
        .expect("commit must not hang when the writer is dead");
    assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
    assert!(store.health().await.is_err());
    // Reads still work.
    assert_eq!(store.locate("c", Locate::Last).await.expect("locate"), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_refuses_later_commits() {
    let dir = TempDir::new("close");
    let store = Arc::new(SqliteStore::open(&dir.0.join("confab.db")).expect("open"));
    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.commit(item_batch("c", &format!("i{i}"))).await }));
    }
    for t in tasks {
        t.await.expect("join").expect("commit before close");
    }
    store.close().await;
    let r = store.commit(item_batch("c", "late")).await;
    assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
    assert_eq!(store.locate("c", Locate::Last).await.expect("locate"), Some(50));
}

/// A database made by the previous schema (version 2) opens, keeps its rows, and is found
/// by item id, time and idempotency key as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_2_databases_migrate() {
    let dir = TempDir::new("migrate");
    let path = dir.0.join("confab.db");
    std::fs::create_dir_all(&dir.0).expect("folder");
    {
        let conn = Connection::open(&path).expect("open");
        for m in &schema::MIGRATIONS[..2] {
            conn.execute_batch(m).expect("old migration");
        }
        conn.pragma_update(None, "user_version", 2).expect("version");
        conn.execute_batch(
            "INSERT INTO items (contact_id, seq, id, at, json) VALUES ('c', 1, 'x', 10, '{}'), ('c', 2, 'y', 20, '{}');
             INSERT INTO idempotency (key, contact_id, response) VALUES ('k', 'c', 'recorded');",
        )
        .expect("rows");
    }
    let store = SqliteStore::open(&path).expect("open migrates");
    assert_eq!(store.locate("c", Locate::ItemId("y".into())).await.expect("locate"), Some(2));
    assert_eq!(store.locate("c", Locate::AtOrAfter(15)).await.expect("locate"), Some(2));
    assert_eq!(store.idempotent("k").await.expect("idempotent").as_deref(), Some("recorded"));
    let mut again = item_batch("c", "z");
    again.idempotency = Some(("k".into(), "new".into()));
    assert_eq!(
        store.commit(again).await.expect("commit"),
        Committed::Replayed { response: "recorded".into() }
    );
    assert_eq!(
        store.commit(item_batch("c", "z")).await.expect("commit"),
        Committed::Applied { seqs: vec![3] }
    );
}
