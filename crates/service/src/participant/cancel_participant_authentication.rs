//! CancelParticipantAuthentication (`POST /participant/cancel-authentication`, SPEC
//! §2.11): the customer gives up signing in; the chat gets `authentication.cancelled` and
//! the flow would take its opted-out branch. Cancelling a cancelled session again answers
//! `{}` with no second event; a session that already ended otherwise is a
//! ValidationException.

use crate::authentication::State;
use crate::lifecycle::internal_p;
use crate::tokens::TokenKind;
use crate::Service;
use confab_wire::auth::{event, CancelParticipantAuthenticationInput};
use confab_wire::participant::Empty;
use confab_wire::ParticipantError;

impl Service {
    pub async fn cancel_participant_authentication(
        &self,
        connection_token: Option<&str>,
        input: CancelParticipantAuthenticationInput,
    ) -> Result<Empty, ParticipantError> {
        let session = self.authenticate(TokenKind::Connection, connection_token).await?;
        self.auth_enabled_p()?;
        let found = self.own_auth_session(&session, &input.session_id).await?;
        match found.session.state {
            State::Cancelled => return Ok(Empty {}),
            state if !state.is_open() => {
                return Err(ParticipantError::validation(format!(
                    "Authentication session '{}' is already {}",
                    input.session_id,
                    state.describe()
                )))
            }
            _ => {}
        }
        let closed = self
            .close_auth_session(
                &session.contact,
                &input.session_id,
                found,
                State::Cancelled,
                event::CANCELLED,
            )
            .await
            .map_err(internal_p)?;
        if !closed {
            // The chat ended (403, as any call on an ended chat) or the session changed meanwhile.
            let now = self.own_auth_session(&session, &input.session_id).await?.session.state;
            if now.is_open() {
                return Err(ParticipantError::access_denied());
            }
            if now != State::Cancelled {
                return Err(ParticipantError::validation(format!(
                    "Authentication session '{}' is already {}",
                    input.session_id,
                    now.describe()
                )));
            }
        }
        Ok(Empty {})
    }
}
