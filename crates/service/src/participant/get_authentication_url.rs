//! GetAuthenticationUrl (`POST /participant/authentication-url`, SPEC §2.10): the
//! identity provider's authorize URL for the customer's session, asked for within one
//! minute of `authentication.initiated`.

use crate::authentication::{Found, State, KIND_SESSION, NOT_CONFIGURED};
use crate::lifecycle::{internal_p, Session};
use crate::tokens::TokenKind;
use crate::Service;
use confab_ports::{Batch, Check, RecordWrite, StoreError};
use confab_wire::auth::{GetAuthenticationUrlInput, GetAuthenticationUrlOutput};
use confab_wire::ParticipantError;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Query values keep only the unreserved characters of RFC 3986.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

impl Service {
    pub async fn get_authentication_url(
        &self,
        connection_token: Option<&str>,
        input: GetAuthenticationUrlInput,
    ) -> Result<GetAuthenticationUrlOutput, ParticipantError> {
        let session = self.authenticate(TokenKind::Connection, connection_token).await?;
        let endpoint = self.auth_enabled_p()?;
        let found = self.own_auth_session(&session, &input.session_id).await?;
        let settings = &self.config.flow_blocks.authentication;
        // UNCERTAIN (SPEC §2.10): a late call, a closed session and an unknown one are all
        // 400 ValidationException, each with its own message.
        if !found.session.state.is_open() {
            return Err(ParticipantError::validation(format!(
                "Authentication session '{}' is {}",
                input.session_id,
                found.session.state.describe()
            )));
        }
        if self.clock.now() > found.session.initiated_at + settings.url_window_secs * 1000 {
            return Err(ParticipantError::validation(format!(
                "GetAuthenticationUrl must be called within {} seconds of authentication.initiated; session '{}' has expired",
                settings.url_window_secs, input.session_id
            )));
        }
        if !settings.redirect_uris.is_empty() && !settings.redirect_uris.contains(&input.redirect_uri) {
            return Err(ParticipantError::validation(format!(
                "RedirectUri '{}' is not one of the redirect URIs configured for the identity provider",
                input.redirect_uri
            )));
        }
        let url = authorize_url(endpoint, &settings.client_id, &settings.scopes, &input);
        if found.session.state == State::Initiated {
            self.mark_url_issued(&input.session_id, found).await?;
        }
        Ok(GetAuthenticationUrlOutput { authentication_url: url })
    }

    /// The session, when it exists and belongs to the caller (anything else reads as
    /// unknown, so one participant cannot probe another's sessions).
    pub(crate) async fn own_auth_session(
        &self,
        session: &Session,
        session_id: &str,
    ) -> Result<Found, ParticipantError> {
        let found = self.auth_session(session_id).await.map_err(internal_p)?;
        found.filter(|f| f.session.participant_id == session.participant.id).ok_or_else(|| {
            ParticipantError::validation(format!(
                "No authentication session '{session_id}' for this participant"
            ))
        })
    }

    pub(crate) fn auth_enabled_p(&self) -> Result<&str, ParticipantError> {
        self.config
            .flow_blocks
            .authentication
            .provider()
            .ok_or_else(|| ParticipantError::validation(NOT_CONFIGURED))
    }

    /// Notes that the customer is signing in, so the URL window's end expires nothing. A
    /// concurrent call that got there first is fine.
    async fn mark_url_issued(&self, session_id: &str, found: Found) -> Result<(), ParticipantError> {
        let mut next = found.session.clone();
        next.state = State::UrlIssued;
        let mut batch = Batch::new(found.session.contact_id.clone());
        batch.checks.push(Check::RecordIs {
            kind: KIND_SESSION.into(),
            key: session_id.to_owned(),
            value: Some(found.raw),
        });
        let text = serde_json::to_string(&next).unwrap_or_default();
        batch.records.push(RecordWrite::set(KIND_SESSION, session_id.to_owned(), text));
        match self.store.commit(batch).await {
            Ok(_) | Err(StoreError::CheckFailed(_)) => Ok(()),
            Err(e) => Err(internal_p(e)),
        }
    }
}

/// The OpenID Connect authorization request (response_type=code), with the session id as
/// `state` so the provider hands it back to the redirect URI.
fn authorize_url(
    endpoint: &str,
    client_id: &str,
    scopes: &[String],
    input: &GetAuthenticationUrlInput,
) -> String {
    let enc = |v: &str| utf8_percent_encode(v, QUERY_VALUE).to_string();
    let separator = if endpoint.contains('?') { '&' } else { '?' };
    format!(
        "{endpoint}{separator}response_type=code&client_id={}&redirect_uri={}&state={}&scope={}",
        enc(client_id),
        enc(&input.redirect_uri),
        enc(&input.session_id),
        enc(&scopes.join(" "))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_carries_every_parameter_encoded() {
        let input = GetAuthenticationUrlInput {
            session_id: "0f5e6e1c-1d3a-4b9d-8c7e-123456789abc".into(),
            redirect_uri: "https://shop.example/back?x=1".into(),
        };
        let url = authorize_url(
            "https://idp.example/authorize",
            "client 1",
            &["openid".into(), "email".into()],
            &input,
        );
        assert_eq!(
            url,
            "https://idp.example/authorize?response_type=code&client_id=client%201\
             &redirect_uri=https%3A%2F%2Fshop.example%2Fback%3Fx%3D1\
             &state=0f5e6e1c-1d3a-4b9d-8c7e-123456789abc&scope=openid%20email"
        );
        assert!(authorize_url("https://idp.example/a?tenant=t", "c", &[], &input)
            .starts_with("https://idp.example/a?tenant=t&response_type=code"));
    }
}
