//! Inputs and outputs of the chat subset of the Amazon Connect API (`connect` 2017-08-08).

use crate::participant::{ConnectionCredentials, Websocket};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StartChatContactInput {
    pub instance_id: String,
    pub contact_flow_id: String,
    pub attributes: Option<Map<String, Value>>,
    pub participant_details: ParticipantDetails,
    pub participant_configuration: Option<Value>,
    pub initial_message: Option<ChatMessage>,
    pub client_token: Option<String>,
    pub chat_duration_in_minutes: Option<i64>,
    pub supported_messaging_content_types: Option<Vec<String>>,
    pub persistent_chat: Option<Value>,
    pub related_contact_id: Option<String>,
    pub segment_attributes: Option<Map<String, Value>>,
    pub customer_id: Option<String>,
    pub disconnect_on_customer_exit: Option<Vec<String>>,
    pub connection_types: Option<Vec<String>>,
    pub chat_streaming_configuration: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ParticipantDetails {
    pub display_name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ChatMessage {
    pub content_type: String,
    pub content: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartChatContactOutput {
    pub contact_id: String,
    pub participant_id: String,
    pub participant_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continued_from_contact_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_credentials: Option<ConnectionCredentials>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub websocket: Option<Websocket>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub streaming_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateParticipantInput {
    pub instance_id: String,
    pub contact_id: String,
    pub client_token: Option<String>,
    pub participant_details: ParticipantDetailsToAdd,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ParticipantDetailsToAdd {
    pub participant_role: Option<String>,
    pub display_name: Option<String>,
    pub participant_capabilities: Option<Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateParticipantOutput {
    pub participant_credentials: ParticipantTokenCredentials,
    pub participant_id: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParticipantTokenCredentials {
    pub participant_token: String,
    pub expiry: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StopContactInput {
    pub contact_id: String,
    pub instance_id: String,
    pub disconnect_reason: Option<Value>,
}

/// DescribeContact answers `{"Contact": {...}}`; the contact is built as JSON because most of
/// its many members are absent for chat.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeContactOutput {
    pub contact: Map<String, Value>,
}
