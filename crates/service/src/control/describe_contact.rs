//! DescribeContact (SPEC §5.4): the chat-relevant members of Contact, ChatMetrics computed
//! from the transcript. Timestamps are epoch-second numbers.

use super::{find_contact, internal_c};
use crate::Service;
use confab_ports::{Contact, ItemQuery, Participant, Role};
use confab_wire::connect::DescribeContactOutput;
use confab_wire::item::{Item, TYPE_MESSAGE};
use confab_wire::time::{epoch_seconds, parse_iso};
use confab_wire::ConnectError;
use serde_json::{json, Map, Value};

const PAGE: usize = 1_000;

impl Service {
    pub async fn describe_contact(
        &self,
        instance_id: &str,
        contact_id: &str,
    ) -> Result<DescribeContactOutput, ConnectError> {
        let contact = find_contact(self, instance_id, contact_id).await?.ok_or_else(|| {
            ConnectError::ResourceNotFound(format!("Contact '{contact_id}' does not exist in this instance"))
        })?;
        let participants = self.store.participants(&contact.id).await.map_err(internal_c)?;
        let messages = self.messages_of(&contact.id).await?;
        let mut out = self.contact_members(&contact, &participants);
        out.insert("ChatMetrics".into(), chat_metrics(&contact, &participants, &messages));
        Ok(DescribeContactOutput { contact: out })
    }

    fn contact_members(&self, contact: &Contact, participants: &[Participant]) -> Map<String, Value> {
        let arn = format!(
            "arn:aws:connect:{}:{}:instance/{}/contact/{}",
            self.config.region, self.config.account_id, contact.instance_id, contact.id
        );
        let mut c = Map::new();
        c.insert("Arn".into(), json!(arn));
        c.insert("Id".into(), json!(contact.id));
        c.insert("InitialContactId".into(), json!(contact.initial_contact_id));
        c.insert("InitiationMethod".into(), json!("API"));
        c.insert("Channel".into(), json!("CHAT"));
        c.insert("InitiationTimestamp".into(), epoch_seconds(contact.created_at));
        if let Some(ended) = contact.ended_at {
            c.insert("DisconnectTimestamp".into(), epoch_seconds(ended));
        }
        c.insert("LastUpdateTimestamp".into(), epoch_seconds(contact.ended_at.unwrap_or(contact.created_at)));
        c.insert("ConnectedToSystemTimestamp".into(), epoch_seconds(contact.created_at));
        if let Some(agent) = participants.iter().find(|p| p.role == Role::Agent) {
            let mut info = Map::new();
            info.insert("Id".into(), json!(agent.id));
            info.insert(
                "ConnectedToAgentTimestamp".into(),
                epoch_seconds(agent.connected_at.unwrap_or(agent.created_at)),
            );
            c.insert("AgentInfo".into(), Value::Object(info));
        }
        for name in ["RelatedContactId", "CustomerId", "SegmentAttributes", "Attributes"] {
            if let Some(v) = contact.details.get(name).filter(|v| !v.is_null()) {
                c.insert(name.into(), v.clone());
            }
        }
        if let Some(why) = &contact.disconnect_reason {
            c.insert("DisconnectReason".into(), json!(why));
        }
        c
    }

    /// Every MESSAGE item of the contact, oldest first.
    async fn messages_of(&self, contact_id: &str) -> Result<Vec<Item>, ConnectError> {
        let mut messages = Vec::new();
        let mut from = 1;
        loop {
            let query = ItemQuery { contact_id: contact_id.to_owned(), from, ascending: true, limit: PAGE };
            let page = self.store.items(query).await.map_err(internal_c)?;
            let Some(last) = page.last().map(|i| i.seq) else {
                break;
            };
            messages.extend(
                page.iter()
                    .filter_map(|i| serde_json::from_str::<Item>(&i.json).ok())
                    .filter(|i| i.kind.as_deref() == Some(TYPE_MESSAGE)),
            );
            if page.len() < PAGE {
                break;
            }
            from = last + 1;
        }
        Ok(messages)
    }
}

/// One side's figures in ChatMetrics.
#[derive(Default)]
struct Side {
    sent: u64,
    chars: u64,
    responses: u64,
    total_response_ms: i64,
    max_response_ms: i64,
    last_at: Option<i64>,
}

impl Side {
    fn to_json(&self, p: &Participant, kind: &str, abandoned: Option<bool>) -> Value {
        let mut m = json!({
            "ParticipantId": p.id,
            "ParticipantType": kind,
            "MessagesSent": self.sent,
            "NumResponses": self.responses,
            "MessageLengthInChars": self.chars,
            "TotalResponseTimeInMillis": self.total_response_ms,
            "MaxResponseTimeInMillis": self.max_response_ms,
        });
        if let Some(at) = self.last_at {
            m["LastMessageTimestamp"] = epoch_seconds(at);
        }
        if let Some(abandoned) = abandoned {
            m["ConversationAbandon"] = json!(abandoned);
        }
        m
    }
}

fn chat_metrics(contact: &Contact, participants: &[Participant], messages: &[Item]) -> Value {
    let (mut customer, mut agent) = (Side::default(), Side::default());
    let (mut bot_messages, mut bot_chars, mut turns) = (0u64, 0u64, 0u64);
    let mut last_side: Option<bool> = None;
    let mut first_agent_reply: Option<i64> = None;
    for m in messages {
        let at = m.absolute_time.as_deref().and_then(parse_iso).unwrap_or(contact.created_at);
        let chars = m.content.as_deref().map_or(0, |c| c.chars().count() as u64);
        let is_customer = match m.participant_role.as_deref() {
            Some("CUSTOMER") => true,
            Some("AGENT") | Some("SUPERVISOR") => false,
            _ => {
                bot_messages += 1;
                bot_chars += chars;
                continue;
            }
        };
        let (me, other) = if is_customer { (&mut customer, &mut agent) } else { (&mut agent, &mut customer) };
        if last_side == Some(!is_customer) {
            turns += 1;
            me.responses += 1;
            let waited = other.last_at.map_or(0, |t| at - t);
            me.total_response_ms += waited;
            me.max_response_ms = me.max_response_ms.max(waited);
        }
        me.sent += 1;
        me.chars += chars;
        me.last_at = Some(at);
        if !is_customer && first_agent_reply.is_none() {
            first_agent_reply = Some(at);
        }
        last_side = Some(is_customer);
    }
    let agents: Vec<&Participant> =
        participants.iter().filter(|p| matches!(p.role, Role::Agent | Role::Supervisor)).collect();
    let mut contact_metrics = json!({
        "MultiParty": agents.len() > 1,
        "TotalMessages": messages.len(),
        "TotalBotMessages": bot_messages,
        "TotalBotMessageLengthInChars": bot_chars,
        "ConversationTurnCount": turns,
    });
    let last_message = customer.last_at.max(agent.last_at);
    if let (Some(ended), Some(last)) = (contact.ended_at, last_message) {
        contact_metrics["ConversationCloseTimeInMillis"] = json!(ended - last);
    }
    let mut metrics = json!({});
    if let (Some(first), Some(a)) = (first_agent_reply, agents.first()) {
        contact_metrics["AgentFirstResponseTimestamp"] = epoch_seconds(first);
        contact_metrics["AgentFirstResponseTimeInMillis"] =
            json!(first - a.connected_at.unwrap_or(a.created_at));
    }
    metrics["ChatContactMetrics"] = contact_metrics;
    if let Some(a) = agents.first() {
        metrics["AgentMetrics"] = agent.to_json(a, "AGENT", None);
    }
    if let Some(c) = participants.iter().find(|p| p.role == Role::Customer) {
        let abandoned = contact.ended_at.is_some() && agents.is_empty();
        metrics["CustomerMetrics"] = customer.to_json(c, "CUSTOMER", Some(abandoned));
    }
    metrics
}
