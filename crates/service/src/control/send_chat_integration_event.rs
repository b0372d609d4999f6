//! SendChatIntegrationEvent (SPEC §5.7): an outside channel (SMS, WhatsApp, …) speaks for a
//! chat's customer. The active chat of (SourceId, DestinationId, Subtype) is found through a
//! record, or started (with NewSessionDetails); then the event is the customer's message,
//! event or disconnect, through the same rules as the participant API.
//!
//! AWS opens this API only to AWS End User Messaging; confab opens it to any caller of the
//! control plane (a trusted integrator). The chats it starts live in the instance and flow
//! `[service.streaming] integration_instance_id` / `integration_flow_id`; the integration
//! usually asks for streaming in NewSessionDetails, which is how replies reach it.

use super::internal_c;
use crate::{RequestContext, Service};
use confab_ports::{Batch, Check, Contact, Participant, RecordWrite, Role, StoreError};
use confab_wire::connect::{ParticipantDetails, StartChatContactInput};
use confab_wire::integration::{SendChatIntegrationEventInput, SendChatIntegrationEventOutput};
use confab_wire::participant::{DisconnectParticipantInput, SendEventInput, SendMessageInput};
use confab_wire::{ConnectError, ParticipantError};
use serde_json::json;

/// Records of this kind map `<subtype>\n<destination>\n<source>` to the initial contact id of
/// the chat they speak in.
const RECORD: &str = "chat-integration";

/// A chat found or started for an event.
struct Found {
    contact: Contact,
    customer: Participant,
    created: bool,
}

impl Service {
    pub async fn send_chat_integration_event(
        &self,
        ctx: &RequestContext,
        input: SendChatIntegrationEventInput,
    ) -> Result<SendChatIntegrationEventOutput, ConnectError> {
        let subtype = subtype(input.subtype.as_deref())?;
        check_event(&input)?;
        let key = format!("{subtype}\n{}\n{}", input.destination_id, input.source_id);
        let found = self.integration_chat(ctx, &input, subtype, &key).await?;
        // The outside channel is how this customer is connected (no websocket).
        self.mark_connected(&found.customer).await.map_err(to_connect)?;
        let token = self.credentials_for(&found.customer).connection_token;
        let event = &input.event;
        match event.kind.as_str() {
            "MESSAGE" => {
                let message = SendMessageInput {
                    content_type: event.content_type.clone().unwrap_or_default(),
                    content: event.content.clone().unwrap_or_default(),
                    client_token: None,
                };
                self.send_message(Some(&token), message).await.map_err(to_connect)?;
            }
            "EVENT" => {
                let sent = SendEventInput {
                    content_type: event.content_type.clone().unwrap_or_default(),
                    content: event.content.clone(),
                    client_token: None,
                };
                self.send_event(Some(&token), sent).await.map_err(to_connect)?;
            }
            _ => {
                self.disconnect_participant(Some(&token), DisconnectParticipantInput::default())
                    .await
                    .map_err(to_connect)?;
            }
        }
        Ok(SendChatIntegrationEventOutput {
            initial_contact_id: Some(found.contact.initial_contact_id),
            new_chat_created: Some(found.created),
        })
    }

    /// The active chat of this source, destination and subtype, or a new one. Two events
    /// racing to start one: the record's compare-and-set picks one chat, the other is ended.
    async fn integration_chat(
        &self,
        ctx: &RequestContext,
        input: &SendChatIntegrationEventInput,
        subtype: &str,
        key: &str,
    ) -> Result<Found, ConnectError> {
        for _ in 0..3 {
            let recorded = self.store.record(RECORD, key).await.map_err(internal_c)?;
            if let Some(found) = self.active_chat(recorded.as_deref()).await? {
                return Ok(found);
            }
            if input.event.kind == "DISCONNECT" {
                return Err(ConnectError::ResourceNotFound(format!(
                    "No active chat for SourceId '{}', DestinationId '{}' and Subtype '{subtype}'",
                    input.source_id, input.destination_id
                )));
            }
            let started =
                self.start_chat_contact(ctx, new_chat(&self.config.streaming, input, subtype)).await?;
            let mut batch = Batch::new(started.contact_id.clone());
            batch.checks =
                vec![Check::RecordIs { kind: RECORD.into(), key: key.to_owned(), value: recorded }];
            batch.records.push(RecordWrite::set(RECORD, key, started.contact_id.clone()));
            match self.store.commit(batch).await {
                Ok(_) => {
                    let found = self.active_chat(Some(&started.contact_id)).await?;
                    return found.map(|f| Found { created: true, ..f }).ok_or_else(|| {
                        ConnectError::InternalService("The new chat ended before its first event".into())
                    });
                }
                Err(StoreError::CheckFailed(_)) => {
                    if let Some(contact) =
                        self.store.contact(&started.contact_id).await.map_err(internal_c)?
                    {
                        self.end_chat(&contact, crate::lifecycle::reason::OTHER).await.map_err(internal_c)?;
                    }
                }
                Err(e) => return Err(internal_c(e)),
            }
        }
        Err(ConnectError::InternalService("The chat for this source kept changing; try again".into()))
    }

    async fn active_chat(&self, contact_id: Option<&str>) -> Result<Option<Found>, ConnectError> {
        let Some(id) = contact_id else {
            return Ok(None);
        };
        let Some(contact) = self.store.contact(id).await.map_err(internal_c)?.filter(|c| c.is_active())
        else {
            return Ok(None);
        };
        let participants = self.store.participants(id).await.map_err(internal_c)?;
        let customer = participants.into_iter().find(|p| p.role == Role::Customer && p.is_active());
        Ok(customer.map(|customer| Found { contact, customer, created: false }))
    }
}

/// The valid subtypes, whatever their case; absent means SMS (UNCERTAIN: the model leaves
/// Subtype optional and names only these two).
fn subtype(given: Option<&str>) -> Result<&'static str, ConnectError> {
    match given.map(str::to_ascii_lowercase).as_deref() {
        None | Some("connect:sms") => Ok("connect:SMS"),
        Some("connect:whatsapp") => Ok("connect:WhatsApp"),
        Some(_) => Err(ConnectError::InvalidRequest(format!(
            "Subtype '{}' is not supported; use connect:SMS or connect:WhatsApp",
            given.unwrap_or_default()
        ))),
    }
}

/// MESSAGE needs ContentType and Content; EVENT needs ContentType (SPEC §5.7).
fn check_event(input: &SendChatIntegrationEventInput) -> Result<(), ConnectError> {
    let event = &input.event;
    let missing = |what: &str| {
        Err(ConnectError::InvalidRequest(format!("Event.{what} is required for Event.Type {}", event.kind)))
    };
    match event.kind.as_str() {
        "MESSAGE" if event.content_type.is_none() => missing("ContentType"),
        "MESSAGE" if event.content.is_none() => missing("Content"),
        "EVENT" if event.content_type.is_none() => missing("ContentType"),
        _ => Ok(()),
    }
}

/// StartChatContact for a source without an active chat. The customer is named by
/// NewSessionDetails, else "Customer" (UNCERTAIN: AWS does not say).
fn new_chat(
    config: &crate::streaming::StreamingConfig,
    input: &SendChatIntegrationEventInput,
    subtype: &str,
) -> StartChatContactInput {
    let details = input.new_session_details.clone().unwrap_or_default();
    let display_name =
        details.participant_details.map(|p| p.display_name).unwrap_or_else(|| "Customer".to_owned());
    let segments = json!({"connect:Subtype": {"ValueString": subtype}});
    StartChatContactInput {
        instance_id: config.integration_instance_id.clone(),
        contact_flow_id: config.integration_flow_id.clone(),
        participant_details: ParticipantDetails { display_name },
        attributes: details.attributes,
        supported_messaging_content_types: details.supported_messaging_content_types,
        segment_attributes: segments.as_object().cloned(),
        chat_streaming_configuration: details.streaming_configuration.map(|s| json!(s)),
        ..StartChatContactInput::default()
    }
}

/// The participant API's answers in the control plane's terms.
fn to_connect(e: ParticipantError) -> ConnectError {
    match e {
        ParticipantError::AccessDenied(_) => {
            ConnectError::InvalidRequest("The chat has ended or the customer has left it".into())
        }
        ParticipantError::ResourceNotFound { message, .. } => ConnectError::ResourceNotFound(message),
        ParticipantError::Throttling(m) => ConnectError::Throttling(m),
        ParticipantError::Internal(m) => ConnectError::InternalService(m),
        ParticipantError::Validation(m)
        | ParticipantError::Conflict(m)
        | ParticipantError::ServiceQuotaExceeded(m) => ConnectError::InvalidRequest(m),
    }
}
