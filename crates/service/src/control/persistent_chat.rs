//! Persistent chat (SPEC §5.1, §5.6): a new chat continues an ended one. Its transcript
//! reaches back through the chain of contacts it continues (GetTranscript), and
//! `chat.rehydrated` announces it. Also CreatePersistentContactAssociation, which does the
//! same for a chat already running.

use super::{find_contact, internal_c};
use crate::{items, Service};
use confab_ports::{Batch, Check, Committed, Contact, StoreError};
use confab_wire::persistent::{
    CreatePersistentContactAssociationInput, CreatePersistentContactAssociationOutput, PersistentChat,
};
use confab_wire::ConnectError;
use serde_json::{json, Value};

pub(crate) const CHAT_REHYDRATED: &str = "application/vnd.amazonaws.connect.event.chat.rehydrated";

/// `chat.rehydrated`: kept in the transcript (UNCERTAIN in SPEC §3.3) so that a client
/// connecting after the start still learns that history is there.
pub(crate) fn rehydrated_event(contact_id: &str, at: i64) -> confab_wire::item::Item {
    items::system_event(contact_id, CHAT_REHYDRATED, at)
}

/// The contact as continuing `source`: `RelatedContactId` names the contact rehydrated from,
/// as the model says.
pub(crate) fn continued(mut contact: Contact, source: &Contact) -> Contact {
    contact.details["ContinuedFromContactId"] = json!(source.id);
    contact.details["RelatedContactId"] = json!(source.id);
    contact
}

impl Service {
    /// The contact a new chat continues from, if it asks to. Only ended chats can be
    /// rehydrated. ENTIRE_PAST_SESSION names the initial contact of the past session and
    /// continues from its most recent contact; FROM_SEGMENT continues from the contact named.
    /// Without transfers a session has one contact, so both land on the same one here.
    pub(crate) async fn rehydration_source(
        &self,
        instance_id: &str,
        persistent: Option<&Value>,
        related_contact_id: Option<&str>,
    ) -> Result<Option<Contact>, ConnectError> {
        let Some(persistent) = persistent else { return Ok(None) };
        if related_contact_id.is_some() {
            return Err(ConnectError::InvalidRequest(
                "PersistentChat and RelatedContactId cannot be used together".into(),
            ));
        }
        let p: PersistentChat = serde_json::from_value(persistent.clone()).unwrap_or_default();
        let (Some(kind), Some(source_id)) = (p.rehydration_type, p.source_contact_id) else {
            return Err(ConnectError::InvalidRequest(
                "PersistentChat needs both RehydrationType and SourceContactId".into(),
            ));
        };
        self.source_contact(instance_id, &kind, &source_id).await.map(Some)
    }

    async fn source_contact(
        &self,
        instance_id: &str,
        kind: &str,
        source_id: &str,
    ) -> Result<Contact, ConnectError> {
        let source = find_contact(self, instance_id, source_id).await?.ok_or_else(|| {
            ConnectError::ResourceNotFound(format!(
                "SourceContactId '{source_id}' does not exist in this instance"
            ))
        })?;
        if kind == "ENTIRE_PAST_SESSION" && source.initial_contact_id != source.id {
            return Err(ConnectError::InvalidRequest(format!(
                "With ENTIRE_PAST_SESSION, SourceContactId must be the initial contact of the past session ('{}')",
                source.initial_contact_id
            )));
        }
        if source.is_active() {
            return Err(ConnectError::InvalidRequest(format!(
                "Contact '{source_id}' has not ended; only ended chats can be rehydrated"
            )));
        }
        Ok(source)
    }

    pub async fn create_persistent_contact_association(
        &self,
        input: CreatePersistentContactAssociationInput,
    ) -> Result<CreatePersistentContactAssociationOutput, ConnectError> {
        let contact =
            find_contact(self, &input.instance_id, &input.initial_contact_id).await?.ok_or_else(|| {
                ConnectError::ResourceNotFound(format!(
                    "Contact '{}' does not exist in this instance",
                    input.initial_contact_id
                ))
            })?;
        let key = input
            .client_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| format!("CreatePersistentContactAssociation:{}:{t}", contact.id));
        if let Some(k) = &key {
            if let Some(recorded) = self.store.idempotent(k).await.map_err(internal_c)? {
                return serde_json::from_str(&recorded)
                    .map_err(|e| ConnectError::InternalService(e.to_string()));
            }
        }
        if !contact.is_active() {
            return Err(ConnectError::InvalidRequest(format!("Contact '{}' has ended", contact.id)));
        }
        let source = self
            .source_contact(&input.instance_id, &input.rehydration_type, &input.source_contact_id)
            .await?;
        let out = CreatePersistentContactAssociationOutput { continued_from_contact_id: source.id.clone() };
        match contact.details["ContinuedFromContactId"].as_str() {
            Some(id) if id == source.id => return Ok(out),
            Some(id) => {
                return Err(ConnectError::InvalidRequest(format!(
                    "Contact '{}' already continues contact '{id}'",
                    contact.id
                )))
            }
            None => {}
        }
        let now = self.clock.now();
        let event = rehydrated_event(&contact.id, now);
        let updated = continued(contact.clone(), &source);
        let mut batch = Batch::new(contact.id.clone());
        batch.checks.push(Check::ContactActive);
        batch.idempotency = key.map(|k| (k, serde_json::to_string(&out).unwrap_or_default()));
        batch.contact = Some(updated.clone());
        batch.items.push(items::to_new(&event, now));
        match self.store.commit(batch).await {
            Ok(Committed::Applied { seqs }) => {
                self.push_committed(&updated, vec![event], &seqs).await;
                Ok(out)
            }
            Ok(Committed::Replayed { response }) => {
                serde_json::from_str(&response).map_err(|e| ConnectError::InternalService(e.to_string()))
            }
            Err(StoreError::CheckFailed(_)) => {
                Err(ConnectError::InvalidRequest(format!("Contact '{}' has ended", contact.id)))
            }
            Err(e) => Err(internal_c(e)),
        }
    }
}
