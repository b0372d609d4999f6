//! Limits and lifetimes. Defaults follow SPEC §7; every one can be set from the config file.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Region and account shown in ARNs.
    pub region: String,
    pub account_id: String,
    /// UTF-8 bytes of one message's content.
    pub max_message_bytes: usize,
    pub max_participants: usize,
    pub max_sockets_per_participant: usize,
    pub connection_token_secs: i64,
    pub websocket_url_secs: i64,
    /// Default chat duration (25 h).
    pub default_chat_minutes: i64,
    /// A chat whose customer never connects ends after this long; 0 disables.
    pub customer_connect_secs: i64,
    pub attachments: crate::attachments::AttachmentsConfig,
    /// Views and customer authentication (`[service.flow_blocks]`).
    pub flow_blocks: crate::flow_blocks::FlowBlocks,
    /// Message streaming sinks and delivery, and where integration chats start
    /// (`[service.streaming]`).
    pub streaming: crate::streaming::StreamingConfig,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            max_message_bytes: 16_384,
            max_participants: 6,
            max_sockets_per_participant: 5,
            connection_token_secs: 86_400,
            websocket_url_secs: 100,
            default_chat_minutes: 1_500,
            customer_connect_secs: 300,
            attachments: crate::attachments::AttachmentsConfig::default(),
            flow_blocks: crate::flow_blocks::FlowBlocks::default(),
            streaming: crate::streaming::StreamingConfig::default(),
        }
    }
}
