//! The sweeper: every attachment gets a durable timer when its upload URL is handed out.
//! When it fires, an upload that never completed is removed (bytes and record), and a scan
//! that never finished (confab stopped mid-scan) runs again.

use super::{Attachment, Stage, RECORD};
use crate::Service;
use confab_ports::{Batch, RecordWrite, StoreError, Timer};

impl Service {
    pub(crate) async fn sweep_attachment(&self, timer: &Timer) -> Result<(), StoreError> {
        let key = timer.key.split_once(':').map_or("", |(_, k)| k);
        let (contact_id, id) = key.split_once('/').unwrap_or_default();
        let Some((a, _)) = self.attachment(contact_id, id).await? else { return Ok(()) };
        match a.stage {
            Stage::AwaitingBytes | Stage::Uploaded => self.remove_orphan(&a).await,
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

    async fn remove_orphan(&self, a: &Attachment) -> Result<(), StoreError> {
        if let Err(e) = self.blobs.delete(&a.blob_key()).await {
            return Err(StoreError::Backend(e.to_string()));
        }
        let mut batch = Batch::new(a.contact_id.clone());
        batch.records.push(RecordWrite::delete(RECORD, a.key()));
        self.store.commit(batch).await?;
        tracing::info!(attachment = %a.id, "removed an upload that was never completed");
        Ok(())
    }
}
