//! The records the store keeps. Plain data: the rules that produce them live in the service.

use crate::Millis;
use serde::{Deserialize, Serialize};

/// Who a participant is in a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Customer,
    Agent,
    Supervisor,
    CustomBot,
    System,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "CUSTOMER",
            Role::Agent => "AGENT",
            Role::Supervisor => "SUPERVISOR",
            Role::CustomBot => "CUSTOM_BOT",
            Role::System => "SYSTEM",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "CUSTOMER" => Role::Customer,
            "AGENT" => Role::Agent,
            "SUPERVISOR" => Role::Supervisor,
            "CUSTOM_BOT" => Role::CustomBot,
            "SYSTEM" => Role::System,
            _ => return None,
        })
    }
}

/// A chat contact. `details` holds the StartChatContact inputs the service keeps verbatim
/// (attributes, segment attributes, customer id, …) so the store need not know them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub id: String,
    pub instance_id: String,
    pub initial_contact_id: String,
    pub created_at: Millis,
    /// When the chat duration runs out.
    pub expires_at: Millis,
    pub ended_at: Option<Millis>,
    pub disconnect_reason: Option<String>,
    pub details: serde_json::Value,
}

impl Contact {
    pub fn is_active(&self) -> bool {
        self.ended_at.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub id: String,
    pub contact_id: String,
    pub role: Role,
    pub display_name: String,
    pub created_at: Millis,
    /// First time the participant connected (websocket, credentials or ConnectParticipant).
    pub connected_at: Option<Millis>,
    pub left_at: Option<Millis>,
}

impl Participant {
    pub fn is_active(&self) -> bool {
        self.left_at.is_none()
    }
}

/// A transcript item about to be appended; the store gives it the next sequence number of
/// its contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    pub id: String,
    pub at: Millis,
    /// The item as GetTranscript returns it (a JSON object, PascalCase members).
    pub json: String,
}

/// A transcript item as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredItem {
    pub contact_id: String,
    /// Gap-free, per contact, from 1.
    pub seq: u64,
    pub id: String,
    pub at: Millis,
    pub json: String,
}

/// A read or delivered receipt of one participant for one message. Merging keeps the first
/// timestamp of each kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub contact_id: String,
    pub message_id: String,
    pub recipient_id: String,
    pub delivered_at: Option<Millis>,
    pub read_at: Option<Millis>,
}

/// A durable timer. `key` is unique: setting a timer with an existing key moves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timer {
    pub key: String,
    pub contact_id: String,
    pub due: Millis,
    pub kind: String,
}

/// Sets (or with `value: None` deletes) a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordWrite {
    pub kind: String,
    pub key: String,
    pub value: Option<String>,
}

impl RecordWrite {
    pub fn set(kind: &str, key: impl Into<String>, value: impl Into<String>) -> RecordWrite {
        RecordWrite { kind: kind.to_owned(), key: key.into(), value: Some(value.into()) }
    }

    pub fn delete(kind: &str, key: impl Into<String>) -> RecordWrite {
        RecordWrite { kind: kind.to_owned(), key: key.into(), value: None }
    }
}

/// A delivery to queue: `stream` orders deliveries (one at a time per stream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutbox {
    pub stream: String,
    pub payload: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub id: i64,
    pub stream: String,
    pub payload: String,
    pub attempts: u32,
}
