//! CompleteAttachmentUpload (SPEC §2.7): the uploaded bytes become an ATTACHMENT item,
//! APPROVED at once, or IN_PROGRESS until the scanner answers.

use super::idempotency_key;
use crate::attachments::{attachment_item, Stage, RECORD, TIMER_SWEEP};
use crate::lifecycle::internal_p;
use crate::tokens::TokenKind;
use crate::{items, Service};
use confab_ports::{Batch, Check, Committed, RecordWrite, StoreError};
use confab_wire::attachments::CompleteAttachmentUploadInput;
use confab_wire::participant::Empty;
use confab_wire::ParticipantError;

impl Service {
    /// With presigned URLs (S3) the bytes went straight to the blob store: they must be
    /// there, with the declared size (the signed Content-Type was checked by the store).
    async fn check_presigned_upload(
        &self,
        a: &crate::attachments::Attachment,
    ) -> Result<(), ParticipantError> {
        let stored =
            self.blobs.size(&a.blob_key()).await.map_err(|e| ParticipantError::Internal(e.to_string()))?;
        match stored {
            Some(size) if size == a.size.unsigned_abs() => Ok(()),
            Some(size) => Err(ParticipantError::validation(format!(
                "Attachment '{}' was uploaded with {size} bytes; {} were declared",
                a.id, a.size
            ))),
            None => {
                Err(ParticipantError::validation(format!("Attachment '{}' has not been uploaded yet", a.id)))
            }
        }
    }

    pub async fn complete_attachment_upload(
        &self,
        connection_token: Option<&str>,
        input: CompleteAttachmentUploadInput,
    ) -> Result<Empty, ParticipantError> {
        let session = self.authenticate(TokenKind::Connection, connection_token).await?;
        let (p, contact) = (&session.participant, &session.contact);
        let id = input.attachment_ids.first().cloned().unwrap_or_default();
        let key = idempotency_key("CompleteAttachmentUpload", &p.id, input.client_token.as_deref(), &[&id]);
        if let Some(k) = &key {
            if self.store.idempotent(k).await.map_err(internal_p)?.is_some() {
                return Ok(Empty {});
            }
        }
        let unknown =
            || ParticipantError::validation(format!("No attachment '{id}' was started by this participant"));
        let (a, text) = self.attachment(&contact.id, &id).await.map_err(internal_p)?.ok_or_else(unknown)?;
        if a.participant_id != p.id {
            return Err(unknown());
        }
        match a.stage {
            // Embedded blobs see the PUT themselves; presigned ones (S3) are checked here.
            Stage::AwaitingBytes => self.check_presigned_upload(&a).await?,
            Stage::InProgress => {
                return Err(ParticipantError::Conflict(format!(
                    "Attachment '{id}' is already being processed"
                )))
            }
            Stage::Approved | Stage::Rejected => {
                return Err(ParticipantError::Conflict(format!("Attachment '{id}' was already completed")))
            }
            Stage::Uploaded => {}
        }
        let scanning = self.config.attachments.scanner.is_some();
        let now = self.clock.now();
        let mut done = a.clone();
        done.stage = if scanning { Stage::InProgress } else { Stage::Approved };
        let item = attachment_item(&done, now);
        done.item_id = item.id.clone();
        let mut batch = Batch::new(contact.id.clone());
        batch.checks = vec![
            Check::ContactActive,
            Check::ParticipantActive(p.id.clone()),
            Check::RecordIs { kind: RECORD.into(), key: a.key(), value: Some(text) },
        ];
        batch.idempotency = key.map(|k| (k, "{}".to_owned()));
        batch.records.push(RecordWrite::set(RECORD, a.key(), done.json()));
        batch.items.push(items::to_new(&item, now));
        if scanning {
            batch.set_timers.push(self.scan_timer(&done));
        } else {
            batch.cancel_timers.push(format!("{TIMER_SWEEP}:{}", a.key()));
        }
        match self.store.commit(batch).await {
            Ok(Committed::Applied { seqs }) => {
                self.push_committed(contact, vec![item], &seqs).await;
                if scanning {
                    self.spawn_scan(done);
                }
                Ok(Empty {})
            }
            Ok(Committed::Replayed { .. }) => Ok(Empty {}),
            Err(StoreError::CheckFailed(Check::RecordIs { .. })) => {
                Err(ParticipantError::Conflict(format!("Attachment '{id}' is already being completed")))
            }
            Err(StoreError::CheckFailed(_)) => Err(ParticipantError::access_denied()),
            Err(e) => Err(internal_p(e)),
        }
    }
}
