//! StartAttachmentUpload (SPEC §2.6): checks type, size and the per-chat quota, then hands
//! out an upload URL and the headers to send with it.

use super::idempotency_key;
use crate::attachments::{Attachment, Stage, RECORD, TIMER_SWEEP};
use crate::lifecycle::internal_p;
use crate::tokens::TokenKind;
use crate::{RequestContext, Service};
use confab_ports::{Batch, Check, Committed, RecordWrite, StoreError, Timer};
use confab_wire::attachments::{StartAttachmentUploadInput, StartAttachmentUploadOutput, UploadMetadata};
use confab_wire::time::iso_millis;
use confab_wire::ParticipantError;

impl Service {
    pub async fn start_attachment_upload(
        &self,
        ctx: &RequestContext,
        connection_token: Option<&str>,
        input: StartAttachmentUploadInput,
    ) -> Result<StartAttachmentUploadOutput, ParticipantError> {
        let session = self.authenticate(TokenKind::Connection, connection_token).await?;
        self.check_attachment(&input)?;
        let (p, contact) = (&session.participant, &session.contact);
        let existing =
            self.store.records(RECORD, &format!("{}/", contact.id), 10_000).await.map_err(internal_p)?;
        let quota = self.config.attachments.max_per_chat;
        if existing.len() >= quota {
            return Err(ParticipantError::ServiceQuotaExceeded(format!(
                "A chat can have at most {quota} attachments"
            )));
        }
        let size = input.attachment_size_in_bytes.to_string();
        let body = [input.attachment_name.as_str(), input.content_type.as_str(), size.as_str()];
        let key = idempotency_key("StartAttachmentUpload", &p.id, input.client_token.as_deref(), &body);
        let now = self.clock.now();
        let a = Attachment {
            id: uuid::Uuid::new_v4().to_string(),
            contact_id: contact.id.clone(),
            participant_id: p.id.clone(),
            display_name: p.display_name.clone(),
            role: p.role.as_str().to_owned(),
            name: input.attachment_name,
            content_type: input.content_type,
            size: input.attachment_size_in_bytes,
            stage: Stage::AwaitingBytes,
            created_at: now,
            item_id: None,
        };
        let expires = now + self.config.attachments.upload_url_secs * 1000;
        let (url, headers_to_include) = self.upload_url(ctx, &a, expires);
        let out = StartAttachmentUploadOutput {
            attachment_id: a.id.clone(),
            upload_metadata: UploadMetadata { url, url_expiry: iso_millis(expires), headers_to_include },
        };
        let mut batch = Batch::new(contact.id.clone());
        batch.checks = vec![Check::ContactActive, Check::ParticipantActive(p.id.clone())];
        batch.idempotency = key.map(|k| (k, serde_json::to_string(&out).unwrap_or_default()));
        batch.records.push(RecordWrite::set(RECORD, a.key(), a.json()));
        let sweep_at = expires + self.config.attachments.orphan_after_secs * 1000;
        batch.set_timers.push(Timer {
            key: format!("{TIMER_SWEEP}:{}", a.key()),
            contact_id: contact.id.clone(),
            due: sweep_at,
            kind: TIMER_SWEEP.into(),
        });
        match self.store.commit(batch).await {
            Ok(Committed::Applied { .. }) => {
                self.wake_timers();
                Ok(out)
            }
            Ok(Committed::Replayed { response }) => {
                serde_json::from_str(&response).map_err(|e| ParticipantError::Internal(e.to_string()))
            }
            Err(StoreError::CheckFailed(_)) => Err(ParticipantError::access_denied()),
            Err(e) => Err(internal_p(e)),
        }
    }

    /// Size and file type, before any URL is handed out (SPEC §7 limits, configurable).
    fn check_attachment(&self, input: &StartAttachmentUploadInput) -> Result<(), ParticipantError> {
        let limits = &self.config.attachments;
        if input.attachment_size_in_bytes > limits.max_bytes {
            return Err(ParticipantError::validation(format!(
                "The attachment is {} bytes; the limit is {} bytes",
                input.attachment_size_in_bytes, limits.max_bytes
            )));
        }
        let extension =
            input.attachment_name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
        if !limits.allowed_extensions.contains(&extension) {
            return Err(ParticipantError::validation(format!(
                "Attachments of type '.{extension}' are not allowed; allowed: {}",
                limits.allowed_extensions.iter().map(|e| format!(".{e}")).collect::<Vec<_>>().join(" ")
            )));
        }
        Ok(())
    }
}
