//! The transcript item (SPEC §3): what GetTranscript returns and, with `InitialContactId`
//! and `ContactId`, what the websocket pushes. Member order follows real AWS frames.

use serde::{Deserialize, Serialize};

pub const TYPE_MESSAGE: &str = "MESSAGE";
pub const TYPE_EVENT: &str = "EVENT";
pub const TYPE_ATTACHMENT: &str = "ATTACHMENT";
/// Receipts on the websocket: not in the model's enum, but what AWS sends (SPEC §3.2).
pub const TYPE_MESSAGE_METADATA: &str = "MESSAGEMETADATA";

/// Event content types (`application/vnd.amazonaws.connect.event.*`).
pub mod event {
    pub const TYPING: &str = "application/vnd.amazonaws.connect.event.typing";
    pub const CONNECTION_ACKNOWLEDGED: &str =
        "application/vnd.amazonaws.connect.event.connection.acknowledged";
    pub const MESSAGE_DELIVERED: &str = "application/vnd.amazonaws.connect.event.message.delivered";
    pub const MESSAGE_READ: &str = "application/vnd.amazonaws.connect.event.message.read";
    pub const MESSAGE_METADATA: &str = "application/vnd.amazonaws.connect.event.message.metadata";
    pub const PARTICIPANT_JOINED: &str = "application/vnd.amazonaws.connect.event.participant.joined";
    pub const PARTICIPANT_LEFT: &str = "application/vnd.amazonaws.connect.event.participant.left";
    pub const PARTICIPANT_INVITED: &str = "application/vnd.amazonaws.connect.event.participant.invited";
    pub const CHAT_ENDED: &str = "application/vnd.amazonaws.connect.event.chat.ended";
}

/// Message content types (SPEC §3.3).
pub mod message {
    pub const PLAIN: &str = "text/plain";
    pub const MARKDOWN: &str = "text/markdown";
    pub const JSON: &str = "application/json";
    pub const INTERACTIVE: &str = "application/vnd.amazonaws.connect.message.interactive";
    pub const INTERACTIVE_RESPONSE: &str = "application/vnd.amazonaws.connect.message.interactive.response";
    /// Every type a contact may enable through SupportedMessagingContentTypes.
    pub const ALL: [&str; 5] = [PLAIN, MARKDOWN, JSON, INTERACTIVE, INTERACTIVE_RESPONSE];
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Item {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub absolute_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<AttachmentItem>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_metadata: Option<MessageMetadata>,
    #[serde(rename = "Type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participant_role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related_contact_id: Option<String>,
    /// Websocket and streaming copies only: not a member of the API's Item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_contact_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachmentItem {
    pub content_type: String,
    pub attachment_id: String,
    pub attachment_name: String,
    pub status: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MessageMetadata {
    pub message_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub receipts: Vec<Receipt>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Receipt {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_timestamp: Option<String>,
    pub recipient_participant_id: String,
}

/// The websocket envelope of an item: `content` is the item as a JSON *string*.
pub fn chat_frame(item_json: &str) -> String {
    let mut frame = String::with_capacity(item_json.len() * 5 / 4 + 64);
    frame.push_str(r#"{"topic":"aws/chat","contentType":"application/json","content":"#);
    // Serialising a &str cannot fail.
    frame.push_str(&serde_json::to_string(item_json).unwrap_or_default());
    frame.push('}');
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_double_encodes_the_item() {
        let item = Item { id: Some("1".into()), kind: Some("MESSAGE".into()), ..Item::default() };
        let json = serde_json::to_string(&item).unwrap_or_default();
        let frame: serde_json::Value = serde_json::from_str(&chat_frame(&json)).unwrap_or_default();
        assert_eq!(frame["topic"], "aws/chat");
        assert_eq!(frame["content"].as_str(), Some(json.as_str()));
    }

    #[test]
    fn absent_members_are_omitted_in_aws_order() {
        let item = Item {
            absolute_time: Some("t".into()),
            content: Some("hi".into()),
            content_type: Some("text/plain".into()),
            id: Some("i".into()),
            kind: Some("MESSAGE".into()),
            participant_id: Some("p".into()),
            display_name: Some("d".into()),
            participant_role: Some("CUSTOMER".into()),
            initial_contact_id: Some("c".into()),
            contact_id: Some("c".into()),
            ..Item::default()
        };
        assert_eq!(
            serde_json::to_string(&item).unwrap_or_default(),
            r#"{"AbsoluteTime":"t","Content":"hi","ContentType":"text/plain","Id":"i","Type":"MESSAGE","ParticipantId":"p","DisplayName":"d","ParticipantRole":"CUSTOMER","InitialContactId":"c","ContactId":"c"}"#
        );
    }
}
