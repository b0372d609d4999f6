//! Message streaming (SPEC §5.5, §6): StartContactStreaming and StopContactStreaming.

use serde::{Deserialize, Serialize};

/// Where a contact's items are published: an SNS topic ARN, or (confab extension) an
/// `http(s)://` URL that receives SNS-style notifications directly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ChatStreamingConfiguration {
    pub streaming_endpoint_arn: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StartContactStreamingInput {
    pub instance_id: String,
    pub contact_id: String,
    pub chat_streaming_configuration: ChatStreamingConfiguration,
    pub client_token: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartContactStreamingOutput {
    pub streaming_id: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StopContactStreamingInput {
    pub instance_id: String,
    pub contact_id: String,
    pub streaming_id: String,
}
