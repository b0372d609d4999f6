//! The sweeper: every attachment gets a durable timer when its upload URL is handed out.
//! When it fires, an upload that never completed is removed (bytes and record), and a scan
//! that never finished (confab stopped mid-scan) runs again.

use super::{Attachment, Stage, RECORD};
use crate::Service;
use confab_ports::{Batch, Check, RecordWrite, StoreError, Timer};

impl Service {
    pub(crate) async fn sweep_attachment(&self, timer: &Timer) -> Result<(), StoreError> {
        let key = timer.key.split_once(':').map_or("", |(_, k)| k);
        let (contact_id, id) = key.split_once('/').unwrap_or_default();
        let Some((a, text)) = self.attachment(contact_id, id).await? else {
            // The record went first; the bytes may still be there (a failed delete retried).
            let key = format!("attachments/{contact_id}/{id}");
            return self.blobs.delete(&key).await.map_err(|e| StoreError::Backend(e.to_string()));
        };
        match a.stage {
            Stage::AwaitingBytes | Stage::Uploaded => self.remove_orphan(&a, text).await,
            Stage::InProgress => {
                // Re-arm first so a second failure is retried too.
                let mut batch = Batch::new(a.contact_id.clone());
                batch.set_timers.push(self.scan_timer(&a));
                self.store.commit(batch).await?;
                self.spawn_scan(a);
                Ok(())
            }
            Stage::Approved | Stage::Rejected => Ok(()),
        }
    }

    /// The record goes first, so nothing can complete the upload while its bytes are being
    /// removed; a failed delete of the bytes is retried by the timer (see above).
    async fn remove_orphan(&self, a: &Attachment, text: String) -> Result<(), StoreError> {
        let mut batch = Batch::new(a.contact_id.clone());
        batch.checks.push(Check::RecordIs { kind: RECORD.into(), key: a.key(), value: Some(text) });
        batch.records.push(RecordWrite::delete(RECORD, a.key()));
        match self.store.commit(batch).await {
            // Completed (or removed) meanwhile: nothing to sweep.
            Err(StoreError::CheckFailed(_)) => return Ok(()),
            other => other?,
        };
        self.blobs.delete(&a.blob_key()).await.map_err(|e| StoreError::Backend(e.to_string()))?;
        tracing::info!(attachment = %a.id, "removed an upload that was never completed");
        Ok(())
    }
}
