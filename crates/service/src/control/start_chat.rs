//! StartChatContact (SPEC §5.1): a contact, its customer, the customer's joined event and
//! initial message, the duration and connect timers; optionally the connection details.

use super::internal_c;
use super::persistent_chat::continued;
use crate::lifecycle::{timer_key, TIMER_CONNECT, TIMER_EXPIRY};
use crate::tokens::{Claims, TokenKind};
use crate::{items, RequestContext, Service};
use confab_ports::{Batch, Committed, Contact, Participant, Role, Timer};
use confab_wire::connect::{StartChatContactInput, StartChatContactOutput};
use confab_wire::item::{event, message};
use confab_wire::ConnectError;
use serde_json::{json, Map, Value};

const ATTRIBUTES_MAX_BYTES: usize = 32_768;

impl Service {
    pub async fn start_chat_contact(
        &self,
        ctx: &RequestContext,
        input: StartChatContactInput,
    ) -> Result<StartChatContactOutput, ConnectError> {
        let streaming = crate::streaming::start_endpoint(
            &self.config.streaming,
            input.chat_streaming_configuration.as_ref(),
        )?;
        check_content_types(
            input.supported_messaging_content_types.as_deref(),
            input.segment_attributes.as_ref(),
        )?;
        check_attributes(input.attributes.as_ref())?;
        self.check_initial_message(&input)?;
        let key = input
            .client_token
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| format!("StartChatContact:{}:{t}", input.instance_id));
        if let Some(recorded) = self.recorded(key.as_deref()).await? {
            return self.replay_start(ctx, recorded, &input).await;
        }
        let attributes = self.related_attributes(&input).await?;
        let rehydrated = self
            .rehydration_source(
                &input.instance_id,
                input.persistent_chat.as_ref(),
                input.related_contact_id.as_deref(),
            )
            .await?;
        let now = self.clock.now();
        let minutes = input.chat_duration_in_minutes.unwrap_or(self.config.default_chat_minutes);
        let contact_id = uuid::Uuid::new_v4().to_string();
        let contact = Contact {
            id: contact_id.clone(),
            instance_id: input.instance_id.clone(),
            initial_contact_id: contact_id.clone(),
            created_at: now,
            expires_at: now + minutes * 60_000,
            ended_at: None,
            disconnect_reason: None,
            details: details_of(&input, attributes, minutes),
        };
        let contact = match &rehydrated {
            Some(source) => continued(contact, source),
            None => contact,
        };
        let customer = Participant {
            id: uuid::Uuid::new_v4().to_string(),
            contact_id: contact_id.clone(),
            role: Role::Customer,
            display_name: input.participant_details.display_name.clone(),
            created_at: now,
            connected_at: None,
            left_at: None,
        };
        let participant_token = self.tokens.mint(TokenKind::Participant, &participant_claims(&customer));
        let mut out = StartChatContactOutput {
            contact_id: contact_id.clone(),
            participant_id: customer.id.clone(),
            participant_token,
            continued_from_contact_id: rehydrated.as_ref().map(|c| c.id.clone()),
            ..StartChatContactOutput::default()
        };
        let mut batch = Batch::new(contact_id.clone());
        // Streaming starts in this batch, so the joined event and initial message stream too.
        out.streaming_id =
            streaming.as_deref().map(|endpoint| crate::streaming::first_stream(&mut batch, endpoint));
        batch.idempotency = key.map(|k| (k, serde_json::to_string(&out).unwrap_or_default()));
        let mut new_items = vec![items::event(&customer, event::PARTICIPANT_JOINED, now)];
        if rehydrated.is_some() {
            new_items.push(super::persistent_chat::rehydrated_event(&contact_id, now));
        }
        if let Some(m) = &input.initial_message {
            new_items.push(items::message(&customer, &m.content_type, m.content.clone(), now));
        }
        batch.items = new_items.iter().map(|i| items::to_new(i, now)).collect();
        batch.set_timers.push(Timer {
            key: timer_key(TIMER_EXPIRY, &contact_id),
            contact_id: contact_id.clone(),
            due: contact.expires_at,
            kind: TIMER_EXPIRY.into(),
        });
        let connect_now = input.connection_types.as_ref().is_some_and(|t| !t.is_empty());
        let mut customer = customer;
        if connect_now {
            customer.connected_at = Some(now);
        } else if self.config.customer_connect_secs > 0 {
            let due = now + self.config.customer_connect_secs * 1000;
            batch.set_timers.push(Timer {
                key: timer_key(TIMER_CONNECT, &contact_id),
                contact_id: contact_id.clone(),
                due,
                kind: TIMER_CONNECT.into(),
            });
        }
        batch.participants.push(customer.clone());
        batch.contact = Some(contact.clone());
        match self.store.commit(batch).await.map_err(internal_c)? {
            Committed::Applied { seqs } => {
                self.wake_timers();
                self.push_committed(&contact, new_items, &seqs).await;
            }
            Committed::Replayed { response } => return self.replay_start(ctx, response, &input).await,
        }
        self.add_connection(ctx, &mut out, &customer, input.connection_types.as_deref());
        Ok(out)
    }

    /// The initial message follows the rules of SendMessage for the customer.
    fn check_initial_message(&self, input: &StartChatContactInput) -> Result<(), ConnectError> {
        let Some(m) = &input.initial_message else {
            return Ok(());
        };
        let enabled = input.supported_messaging_content_types.as_deref().unwrap_or_default();
        let allowed = [message::PLAIN, message::MARKDOWN, message::JSON, message::INTERACTIVE_RESPONSE];
        if !allowed.contains(&m.content_type.as_str())
            || (m.content_type != message::PLAIN && !enabled.contains(&m.content_type))
        {
            return Err(ConnectError::InvalidRequest(format!(
                "InitialMessage.ContentType '{}' is not enabled for this chat (see SupportedMessagingContentTypes)",
                m.content_type
            )));
        }
        if m.content.len() > self.config.max_message_bytes {
            return Err(ConnectError::InvalidParameter(format!(
                "InitialMessage.Content is {} bytes; the limit is {} bytes",
                m.content.len(),
                self.config.max_message_bytes
            )));
        }
        Ok(())
    }

    async fn recorded(&self, key: Option<&str>) -> Result<Option<String>, ConnectError> {
        match key {
            Some(k) => self.store.idempotent(k).await.map_err(internal_c),
            None => Ok(None),
        }
    }

    /// A ClientToken replay answers with the original contact; connection details again
    /// while the chat is active, none once it has ended (as the model documents).
    async fn replay_start(
        &self,
        ctx: &RequestContext,
        recorded: String,
        input: &StartChatContactInput,
    ) -> Result<StartChatContactOutput, ConnectError> {
        let mut out: StartChatContactOutput =
            serde_json::from_str(&recorded).map_err(|e| ConnectError::InternalService(e.to_string()))?;
        let customer = self.store.participant(&out.participant_id).await.map_err(internal_c)?;
        let contact = self.store.contact(&out.contact_id).await.map_err(internal_c)?;
        if let (Some(customer), Some(contact)) = (customer, contact) {
            if contact.is_active() && customer.is_active() {
                self.add_connection(ctx, &mut out, &customer, input.connection_types.as_deref());
            }
        }
        Ok(out)
    }

    fn add_connection(
        &self,
        ctx: &RequestContext,
        out: &mut StartChatContactOutput,
        customer: &Participant,
        types: Option<&[String]>,
    ) {
        let wants = |t: &str| types.is_some_and(|types| types.iter().any(|x| x == t));
        out.websocket = wants("WEBSOCKET").then(|| self.websocket_for(ctx, customer));
        out.connection_credentials = wants("CONNECTION_CREDENTIALS").then(|| self.credentials_for(customer));
    }

    /// RelatedContactId copies the related contact's attributes (the new ones win).
    async fn related_attributes(
        &self,
        input: &StartChatContactInput,
    ) -> Result<Map<String, Value>, ConnectError> {
        let mut attributes = Map::new();
        if let Some(related) = &input.related_contact_id {
            let contact = super::find_contact(self, &input.instance_id, related).await?.ok_or_else(|| {
                ConnectError::ResourceNotFound(format!(
                    "RelatedContactId '{related}' does not exist in this instance"
                ))
            })?;
            if let Some(old) = contact.details["Attributes"].as_object() {
                attributes.extend(old.clone());
            }
        }
        attributes.extend(input.attributes.clone().unwrap_or_default());
        Ok(attributes)
    }
}

pub(crate) fn participant_claims(p: &Participant) -> Claims {
    Claims {
        contact_id: p.contact_id.clone(),
        participant_id: p.id.clone(),
        issued: p.created_at,
        expires: 0,
        extra: String::new(),
    }
}

/// SupportedMessagingContentTypes must include text/plain and contain only known types; the
/// Guide subtype needs both interactive types (SPEC §5.1).
fn check_content_types(
    types: Option<&[String]>,
    segments: Option<&Map<String, Value>>,
) -> Result<(), ConnectError> {
    let types = types.unwrap_or_default();
    if let Some(bad) = types.iter().find(|t| !message::ALL.contains(&t.as_str())) {
        return Err(ConnectError::InvalidRequest(format!(
            "SupportedMessagingContentTypes contains '{bad}'; allowed: [{}]",
            message::ALL.join(", ")
        )));
    }
    if !types.is_empty() && !types.iter().any(|t| t == message::PLAIN) {
        return Err(ConnectError::InvalidRequest(
            "SupportedMessagingContentTypes must include text/plain".into(),
        ));
    }
    let guide = segments.and_then(|s| s.get("connect:Subtype")).and_then(|v| v["ValueString"].as_str())
        == Some("connect:Guide");
    let interactive =
        [message::INTERACTIVE, message::INTERACTIVE_RESPONSE].iter().all(|t| types.iter().any(|x| x == t));
    if guide && !interactive {
        return Err(ConnectError::InvalidRequest(
            "The connect:Guide subtype requires both interactive content types in SupportedMessagingContentTypes".into(),
        ));
    }
    Ok(())
}

/// Attributes: keys of letters, digits, '-' and '_'; at most 32,768 UTF-8 bytes in all.
fn check_attributes(attributes: Option<&Map<String, Value>>) -> Result<(), ConnectError> {
    let Some(attributes) = attributes else {
        return Ok(());
    };
    if let Some(key) =
        attributes.keys().find(|k| !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        return Err(ConnectError::InvalidParameter(format!(
            "Attribute key '{key}' may contain only letters, digits, '-' and '_'"
        )));
    }
    let bytes: usize = attributes.iter().map(|(k, v)| k.len() + v.as_str().map_or(0, str::len)).sum();
    if bytes > ATTRIBUTES_MAX_BYTES {
        return Err(ConnectError::InvalidParameter(format!(
            "Attributes total {bytes} bytes; the limit is {ATTRIBUTES_MAX_BYTES}"
        )));
    }
    Ok(())
}

/// What the contact keeps of the request, for DescribeContact and later rules.
fn details_of(input: &StartChatContactInput, attributes: Map<String, Value>, minutes: i64) -> Value {
    let mut details = json!({
        "ContactFlowId": input.contact_flow_id,
        "Attributes": attributes,
        "ChatDurationInMinutes": minutes,
    });
    let optional = [
        (
            "SupportedMessagingContentTypes",
            input.supported_messaging_content_types.as_ref().map(|v| json!(v)),
        ),
        ("SegmentAttributes", input.segment_attributes.as_ref().map(|v| json!(v))),
        ("CustomerId", input.customer_id.as_ref().map(|v| json!(v))),
        ("RelatedContactId", input.related_contact_id.as_ref().map(|v| json!(v))),
        ("DisconnectOnCustomerExit", input.disconnect_on_customer_exit.as_ref().map(|v| json!(v))),
        ("ParticipantConfiguration", input.participant_configuration.clone()),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            details[name] = value;
        }
    }
    details
}
