//! `receipts` answers from one range probe when a page has no receipts, and from per-message
//! lookups otherwise: the same answer either way.

use confab_embedded::sqlite::SqliteStore;
use confab_ports::{Batch, Receipt, Store};

fn receipt(contact: &str, message: &str) -> Receipt {
    Receipt {
        contact_id: contact.into(),
        message_id: message.into(),
        recipient_id: "r".into(),
        delivered_at: Some(1),
        read_at: None,
    }
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_found_only_for_their_messages() {
    let dir = std::env::temp_dir().join(format!("confab-embedded-probe-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = SqliteStore::open(&dir.join("confab.db")).expect("open");
    let mut batch = Batch::new("c");
    batch.receipts = vec![receipt("c", "m2"), receipt("other", "m3")];
    store.commit(batch).await.expect("commit");

    let found = |list: &[&str]| {
        let (store, list) = (&store, ids(list));
        async move {
            let got = store.receipts("c", &list).await.expect("receipts");
            got.into_iter().map(|r| r.message_id).collect::<Vec<_>>()
        }
    };
    assert_eq!(found(&["m1", "m2", "m4"]).await, ["m2"]);
    // Another contact's receipt in range is not this contact's.
    assert!(found(&["m3", "m4"]).await.is_empty());
    // A range that holds m2 while none of the ids is m2.
    assert!(found(&["a", "z"]).await.is_empty());
    assert!(found(&[]).await.is_empty());
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
