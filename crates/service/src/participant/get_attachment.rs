//! GetAttachment (SPEC §2.8): a download URL for an approved attachment of this chat.

use crate::attachments::Stage;
use crate::lifecycle::internal_p;
use crate::tokens::TokenKind;
use crate::{RequestContext, Service};
use confab_ports::Role;
use confab_wire::attachments::{GetAttachmentInput, GetAttachmentOutput};
use confab_wire::time::iso_millis;
use confab_wire::ParticipantError;

impl Service {
    pub async fn get_attachment(
        &self,
        ctx: &RequestContext,
        connection_token: Option<&str>,
        input: GetAttachmentInput,
    ) -> Result<GetAttachmentOutput, ParticipantError> {
        let session = self.authenticate(TokenKind::Connection, connection_token).await?;
        let id = &input.attachment_id;
        let (a, _) = self
            .attachment(&session.contact.id, id)
            .await
            .map_err(internal_p)?
            .ok_or_else(|| ParticipantError::validation(format!("No attachment '{id}' in this chat")))?;
        // The model: a CUSTOM_BOT may not download what the customer sent.
        if session.participant.role == Role::CustomBot && a.role == Role::Customer.as_str() {
            return Err(ParticipantError::access_denied());
        }
        match a.stage {
            Stage::Approved => {}
            Stage::Rejected => {
                return Err(ParticipantError::validation(format!(
                    "Attachment '{id}' was rejected by the scanner"
                )))
            }
            _ => return Err(ParticipantError::validation(format!("Attachment '{id}' is not available yet"))),
        }
        let secs = input.url_expiry_in_seconds.unwrap_or(self.config.attachments.download_url_secs);
        let expires = self.clock.now() + secs * 1000;
        let disposition = match input.url_content_disposition.as_deref() {
            Some("INLINE") => "inline",
            _ => "attachment",
        };
        Ok(GetAttachmentOutput {
            url: self.download_url(ctx, &a, disposition, expires),
            url_expiry: iso_millis(expires),
            attachment_size_in_bytes: a.size,
        })
    }
}
