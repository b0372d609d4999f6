//! Fills a stopped confab's data folder with transcript items through the embedded store
//! itself (the same rows SendMessage writes), far faster than a million API calls.

use anyhow::Context;
use confab_embedded::SqliteStore;
use confab_ports::{Batch, NewItem, Store};
use confab_wire::item::{Item, TYPE_MESSAGE};
use std::path::Path;

/// Items per commit.
const CHUNK: usize = 10_000;

/// A chat to fill: its contact and the customer who "sends" the items.
pub struct Target {
    pub contact_id: String,
    pub customer_id: String,
    pub items: usize,
}

/// Appends the items; the server must not be running on `data_dir`.
pub async fn fill(data_dir: &Path, targets: &[Target]) -> anyhow::Result<()> {
    let store = SqliteStore::open(&data_dir.join("confab.db")).map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis();
    let now = i64::try_from(now)?;
    for t in targets {
        let first_at = now - i64::try_from(t.items)?;
        let mut done = 0;
        while done < t.items {
            let n = CHUNK.min(t.items - done);
            let mut batch = Batch::new(t.contact_id.clone());
            batch.items =
                (done..done + n).map(|i| item(t, first_at + i64::try_from(i).unwrap_or(0), i)).collect();
            store.commit(batch).await.map_err(|e| anyhow::anyhow!("{e}")).context("filling the store")?;
            done += n;
        }
    }
    store.close().await;
    Ok(())
}

/// A customer's text message, stored as SendMessage stores it.
fn item(t: &Target, at: i64, i: usize) -> NewItem {
    let id = uuid::Uuid::now_v7().to_string();
    let item = Item {
        absolute_time: Some(confab_wire::time::iso_millis(at)),
        content: Some(format!("stored message {i}: the quick brown fox jumps over the lazy dog")),
        content_type: Some("text/plain".into()),
        id: Some(id.clone()),
        kind: Some(TYPE_MESSAGE.into()),
        participant_id: Some(t.customer_id.clone()),
        display_name: Some("Customer".into()),
        participant_role: Some("CUSTOMER".into()),
        contact_id: Some(t.contact_id.clone()),
        ..Item::default()
    };
    NewItem { id, at, json: serde_json::to_string(&item).unwrap_or_default() }
}
