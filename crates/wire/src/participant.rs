//! Inputs and outputs of the participant API operations (`connectparticipant` 2018-09-07).
//! Header- and label-bound members (`ConnectionToken`, `ParticipantToken`, `ViewToken`) are
//! carried separately by the server, so they are not here.

use crate::item::Item;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateParticipantConnectionInput {
    #[serde(rename = "Type")]
    pub kind: Option<Vec<String>>,
    pub connect_participant: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateParticipantConnectionOutput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub websocket: Option<Websocket>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_credentials: Option<ConnectionCredentials>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Websocket {
    pub url: String,
    pub connection_expiry: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectionCredentials {
    pub connection_token: String,
    pub expiry: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SendMessageInput {
    pub content_type: String,
    pub content: String,
    pub client_token: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SendEventInput {
    pub content_type: String,
    pub content: Option<String>,
    pub client_token: Option<String>,
}

/// SendMessage and SendEvent answer the same way.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct SentItem {
    pub id: String,
    pub absolute_time: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GetTranscriptInput {
    pub contact_id: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
    pub scan_direction: Option<String>,
    pub sort_order: Option<String>,
    pub start_position: Option<StartPosition>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StartPosition {
    pub id: Option<String>,
    pub absolute_time: Option<String>,
    pub most_recent: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetTranscriptOutput {
    pub initial_contact_id: String,
    pub transcript: Vec<Item>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DisconnectParticipantInput {
    pub client_token: Option<String>,
}

/// Operations with an empty output answer `{}`.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Empty {}
