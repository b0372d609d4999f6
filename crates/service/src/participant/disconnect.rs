//! DisconnectParticipant (SPEC §2.5).

use super::idempotency_key;
use crate::tokens::TokenKind;
use crate::Service;
use confab_wire::participant::{DisconnectParticipantInput, Empty};
use confab_wire::ParticipantError;

impl Service {
    pub async fn disconnect_participant(
        &self,
        connection_token: Option<&str>,
        input: DisconnectParticipantInput,
    ) -> Result<Empty, ParticipantError> {
        let claims = connection_token
            .and_then(|t| self.tokens.verify(TokenKind::Connection, t, self.clock.now()))
            .ok_or_else(ParticipantError::access_denied)?;
        // A retry of a disconnect that went through answers as the first call did, even
        // though the participant has left since.
        let key = idempotency_key(
            "DisconnectParticipant",
            &claims.participant_id,
            input.client_token.as_deref(),
            &[],
        );
        if let Some(key) = key.as_deref() {
            if self.store.idempotent(key).await.map_err(crate::lifecycle::internal_p)?.is_some() {
                return Ok(Empty {});
            }
        }
        let session = self.session_of(claims).await?;
        if !session.participant.is_active() || !session.contact.is_active() {
            return Err(ParticipantError::access_denied());
        }
        self.leave(&session, key.map(|k| (k, "{}".to_owned()))).await?;
        Ok(Empty {})
    }
}
