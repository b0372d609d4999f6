//! SendChatIntegrationEvent (SPEC §5.7) and TransferContact (SPEC §5.9).

use crate::streaming::ChatStreamingConfiguration;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SendChatIntegrationEventInput {
    pub source_id: String,
    pub destination_id: String,
    pub subtype: Option<String>,
    pub event: ChatEvent,
    pub new_session_details: Option<NewSessionDetails>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ChatEvent {
    /// `DISCONNECT`, `MESSAGE` or `EVENT`.
    #[serde(rename = "Type")]
    pub kind: String,
    pub content_type: Option<String>,
    pub content: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NewSessionDetails {
    pub supported_messaging_content_types: Option<Vec<String>>,
    pub participant_details: Option<NewSessionParticipant>,
    pub attributes: Option<Map<String, Value>>,
    pub streaming_configuration: Option<ChatStreamingConfiguration>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NewSessionParticipant {
    pub display_name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendChatIntegrationEventOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_contact_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_chat_created: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TransferContactInput {
    pub instance_id: String,
    pub contact_id: String,
    pub queue_id: Option<String>,
    pub user_id: Option<String>,
    pub contact_flow_id: String,
    pub client_token: Option<String>,
}
