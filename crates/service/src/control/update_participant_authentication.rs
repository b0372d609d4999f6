//! UpdateParticipantAuthentication (`POST /contact/update-participant-authentication`):
//! the page at the RedirectUri passes on what the identity provider sent it: `state` (the
//! session id) with either `code` (signed in: `authentication.succeeded`) or `error`
//! (`authentication.failed`).
//!
//! UNCERTAIN: AWS then exchanges the code with Cognito and fills Customer Profiles; confab
//! does not call the provider, so any code counts as a successful sign-in.

use super::{find_contact, internal_c};
use crate::authentication::State;
use crate::Service;
use confab_wire::auth::{event, UpdateParticipantAuthenticationInput};
use confab_wire::participant::Empty;
use confab_wire::ConnectError;

impl Service {
    pub async fn update_participant_authentication(
        &self,
        input: UpdateParticipantAuthenticationInput,
    ) -> Result<Empty, ConnectError> {
        self.auth_enabled_c()?;
        let (to, event_type) = match (&input.code, &input.error) {
            (Some(_), None) => (State::Succeeded, event::SUCCEEDED),
            (None, Some(_)) => (State::Failed, event::FAILED),
            _ => {
                return Err(ConnectError::InvalidRequest(
                    "Give exactly one of Code and Error, as the identity provider sent them".into(),
                ))
            }
        };
        let unknown = || {
            ConnectError::InvalidParameter(format!(
                "State '{}' is not an authentication session of instance {}",
                input.state, input.instance_id
            ))
        };
        let found = self.auth_session(&input.state).await.map_err(internal_c)?;
        let found = found.filter(|f| f.session.instance_id == input.instance_id).ok_or_else(unknown)?;
        if !found.session.state.is_open() {
            return Err(ConnectError::Conflict(format!(
                "Authentication session '{}' is already {}",
                input.state,
                found.session.state.describe()
            )));
        }
        let contact =
            find_contact(self, &input.instance_id, &found.session.contact_id).await?.ok_or_else(unknown)?;
        if !self
            .close_auth_session(&contact, &input.state, found, to, event_type)
            .await
            .map_err(internal_c)?
        {
            return Err(ConnectError::Conflict(format!(
                "Authentication session '{}' changed meanwhile or its chat has ended",
                input.state
            )));
        }
        Ok(Empty {})
    }
}
