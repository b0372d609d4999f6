//! CreateParticipantConnection (SPEC §2.1): websocket URL and/or connection token for a
//! participant token; marks the participant connected.

use crate::lifecycle::{internal_p, timer_key, TIMER_CONNECT};
use crate::tokens::{Claims, TokenKind};
use crate::{RequestContext, Service};
use confab_ports::{Batch, Check, Participant, Role, StoreError};
use confab_wire::participant::{
    ConnectionCredentials, CreateParticipantConnectionInput, CreateParticipantConnectionOutput, Websocket,
};
use confab_wire::time::iso_millis;
use confab_wire::ParticipantError;

impl Service {
    pub async fn create_participant_connection(
        &self,
        ctx: &RequestContext,
        participant_token: Option<&str>,
        input: CreateParticipantConnectionInput,
    ) -> Result<CreateParticipantConnectionOutput, ParticipantError> {
        let session = self.authenticate(TokenKind::Participant, participant_token).await?;
        let types = input.kind.unwrap_or_default();
        if types.iter().any(|t| t == "WEBRTC_CONNECTION") {
            return Err(ParticipantError::validation(
                "WEBRTC_CONNECTION is not available: this server has no media plane. Request WEBSOCKET and/or CONNECTION_CREDENTIALS.",
            ));
        }
        // ConnectParticipant is how a streaming customer (no websocket) and agents acknowledge
        // the connection. AWS says it works only for those; confab honours it for anyone
        // rather than fail a client (UNCERTAIN: what AWS answers otherwise).
        if !types.is_empty() || input.connect_participant == Some(true) {
            self.mark_connected(&session.participant).await?;
        }
        let p = &session.participant;
        Ok(CreateParticipantConnectionOutput {
            websocket: types.iter().any(|t| t == "WEBSOCKET").then(|| self.websocket_for(ctx, p)),
            connection_credentials: types
                .iter()
                .any(|t| t == "CONNECTION_CREDENTIALS")
                .then(|| self.credentials_for(p)),
        })
    }

    /// A websocket URL that must be opened within the URL lifetime (100 s).
    pub(crate) fn websocket_for(&self, ctx: &RequestContext, p: &Participant) -> Websocket {
        let now = self.clock.now();
        let expires = now + self.config.websocket_url_secs * 1000;
        let token = self.tokens.mint(TokenKind::Websocket, &claims_for(p, now, expires));
        Websocket {
            url: format!("{}/ws?AuthToken={token}", ctx.ws_base),
            connection_expiry: iso_millis(expires),
        }
    }

    /// A connection token valid for one day (older ones stay valid until their own expiry).
    pub(crate) fn credentials_for(&self, p: &Participant) -> ConnectionCredentials {
        let now = self.clock.now();
        let expires = now + self.config.connection_token_secs * 1000;
        let token = self.tokens.mint(TokenKind::Connection, &claims_for(p, now, expires));
        ConnectionCredentials { connection_token: token, expiry: iso_millis(expires) }
    }

    /// Records the first connection of a participant; a customer's stops the
    /// "connect within 5 minutes" timer.
    pub(crate) async fn mark_connected(&self, p: &Participant) -> Result<(), ParticipantError> {
        if p.connected_at.is_some() {
            return Ok(());
        }
        let mut connected = p.clone();
        connected.connected_at = Some(self.clock.now());
        let mut batch = Batch::new(p.contact_id.clone());
        batch.checks = vec![Check::ContactActive, Check::ParticipantActive(p.id.clone())];
        if p.role == Role::Customer {
            batch.cancel_timers.push(timer_key(TIMER_CONNECT, &p.contact_id));
        }
        batch.participants.push(connected);
        match self.store.commit(batch).await {
            Ok(_) => {
                // With the customer and an agent both connected, the chat timers start.
                if let Err(e) = self.start_chat_timers(&p.contact_id).await {
                    tracing::warn!(error = %e, "starting chat timers failed");
                }
                Ok(())
            }
            Err(StoreError::CheckFailed(_)) => Err(ParticipantError::access_denied()),
            Err(e) => Err(internal_p(e)),
        }
    }
}

pub(crate) fn claims_for(p: &Participant, issued: i64, expires: i64) -> Claims {
    Claims {
        contact_id: p.contact_id.clone(),
        participant_id: p.id.clone(),
        issued,
        expires,
        extra: String::new(),
    }
}
