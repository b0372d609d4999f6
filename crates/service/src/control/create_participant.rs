//! CreateParticipant (SPEC §5.2): CUSTOM_BOT as in AWS, plus AGENT and SUPERVISOR, the
//! documented extension by which an agent joins a chat (there is no routing here).

use super::{find_contact, internal_c};
use crate::control::start_chat::participant_claims;
use crate::tokens::TokenKind;
use crate::{items, Service};
use confab_ports::{Batch, Check, Committed, Participant, Role, StoreError};
use confab_wire::connect::{CreateParticipantInput, CreateParticipantOutput, ParticipantTokenCredentials};
use confab_wire::item::event;
use confab_wire::time::iso_millis;
use confab_wire::ConnectError;

impl Service {
    pub async fn create_participant(
        &self,
        input: CreateParticipantInput,
    ) -> Result<CreateParticipantOutput, ConnectError> {
        let role = role_to_add(input.participant_details.participant_role.as_deref())?;
        let contact = find_contact(self, &input.instance_id, &input.contact_id).await?.ok_or_else(|| {
            ConnectError::ResourceNotFound(format!(
                "Contact '{}' does not exist in this instance",
                input.contact_id
            ))
        })?;
        let key = input
            .client_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| format!("CreateParticipant:{}:{t}", contact.id));
        if let Some(k) = &key {
            if let Some(recorded) = self.store.idempotent(k).await.map_err(internal_c)? {
                return serde_json::from_str(&recorded)
                    .map_err(|e| ConnectError::InternalService(e.to_string()));
            }
        }
        if !contact.is_active() {
            return Err(ConnectError::Conflict(format!(
                "Contact '{}' has ended; participants can no longer be added",
                contact.id
            )));
        }
        let now = self.clock.now();
        let display_name =
            input.participant_details.display_name.clone().unwrap_or_else(|| role.as_str().to_owned());
        let p = Participant {
            id: uuid::Uuid::new_v4().to_string(),
            contact_id: contact.id.clone(),
            role,
            display_name,
            created_at: now,
            connected_at: None,
            left_at: None,
        };
        let out = CreateParticipantOutput {
            participant_credentials: ParticipantTokenCredentials {
                participant_token: self.tokens.mint(TokenKind::Participant, &participant_claims(&p)),
                expiry: iso_millis(contact.expires_at),
            },
            participant_id: p.id.clone(),
        };
        // UNCERTAIN (SPEC §2.1): joined is announced when the participant is added, as when
        // an agent accepts a contact in AWS, not when its client first connects.
        let joined = items::event(&p, event::PARTICIPANT_JOINED, now);
        let mut batch = Batch::new(contact.id.clone());
        batch.checks = vec![Check::ContactActive, Check::ParticipantsFewerThan(self.config.max_participants)];
        batch.idempotency = key.map(|k| (k, serde_json::to_string(&out).unwrap_or_default()));
        batch.participants.push(p);
        batch.items.push(items::to_new(&joined, now));
        match self.store.commit(batch).await {
            Ok(Committed::Applied { seqs }) => {
                self.push_committed(&contact, vec![joined], &seqs).await;
                Ok(out)
            }
            Ok(Committed::Replayed { response }) => {
                serde_json::from_str(&response).map_err(|e| ConnectError::InternalService(e.to_string()))
            }
            Err(StoreError::CheckFailed(Check::ParticipantsFewerThan(n))) => {
                Err(ConnectError::ServiceQuotaExceeded(format!("A chat can have at most {n} participants")))
            }
            Err(StoreError::CheckFailed(_)) => {
                Err(ConnectError::Conflict(format!("Contact '{}' has ended", contact.id)))
            }
            Err(e) => Err(internal_c(e)),
        }
    }
}

fn role_to_add(role: Option<&str>) -> Result<Role, ConnectError> {
    match role {
        Some("CUSTOM_BOT") => Ok(Role::CustomBot),
        Some("AGENT") => Ok(Role::Agent),
        Some("SUPERVISOR") => Ok(Role::Supervisor),
        Some("CUSTOMER") => Err(ConnectError::InvalidRequest(
            "CUSTOMER participants can be added only to WebRTC calls; a chat's customer comes from StartChatContact".into(),
        )),
        Some(other) => Err(ConnectError::InvalidRequest(format!(
            "ParticipantRole '{other}' cannot be added to a chat; use CUSTOM_BOT, or AGENT or SUPERVISOR (confab extension)"
        ))),
        None => Err(ConnectError::InvalidRequest("ParticipantDetails.ParticipantRole is required".into())),
    }
}
