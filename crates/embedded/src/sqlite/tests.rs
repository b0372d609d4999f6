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
